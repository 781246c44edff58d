"""The I/O pump behind :class:`pika.adapters.blocking_connection.BlockingConnection`.

One :class:`Pump` owns the socket and the sans-I/O :class:`~pika._core.connection.ConnectionCore`;
every access to either happens under ``Pump.lock``, and user callbacks never run under it.
A thread that must wait calls :meth:`Pump.wait`: the *leader* (one at a time) selects with the
lock released, reads (:class:`~pika.adapters._io.reader.SocketReader`, which feeds the core)
and routes the events (``Pump.router``, :mod:`pika.adapters._blocking.routing`) into
per-channel records (:mod:`pika.adapters._blocking.slots`); *followers* sleep on ``Pump.cond``
and the first whose condition is unmet takes over. Writers send from their own thread
(:meth:`Pump.send_now`); what the kernel does not take waits in a
:class:`~pika.adapters._io.send_queue.SendQueue` for the leader.
With a heartbeat, a *keeper* thread (:mod:`pika.adapters._blocking.keeper`) runs cycles while
nobody leads and flushes coalesced publishes (:meth:`Pump.send_publish`). A wake-up socket pair
lets any thread interrupt a leader in ``select``. The whole model, with its reasons:
docs/blocking.md.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from pika import exceptions
from pika._core import events as ev
from pika.adapters._blocking.keeper import LIVE_PUMPS, keeper_main, send_abandoned
from pika.adapters._blocking.routing import EventRouter
from pika.adapters._io import transport as _transport
from pika.adapters._io.backlog import PAUSED_READ_INTERVAL, PAUSED_READ_SIZE, Backlog
from pika.adapters._io.pollers import READ, WRITE, choose_poller_type, make_poller
from pika.adapters._io.reader import SocketReader
from pika.adapters._io.send_queue import SendQueue

if TYPE_CHECKING:
    from pika._core.connection import ConnectionCore
    from pika._parameters import Parameters
    from pika.adapters._blocking.recovery import BlockingReconnect
    from pika.adapters._blocking.slots import ChannelSlot, Waiter

__all__ = ['COALESCE_LIMIT', 'Pump']

LOGGER = logging.getLogger(__name__)

#: Plain publishes may stay queued in the core (keeper running) while fewer bytes than this are
#: pending; reaching it sends them at once.
COALESCE_LIMIT = 65536

_monotonic = time.monotonic
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
#: Any reported bit but WRITE (READ, or an error / hang-up bit) makes an fd readable, as in
#: ``selectors``: the recv that follows reports the error or EOF.
_NOT_WRITE = ~WRITE


class Pump:
    """Socket + core + lock; see the module docstring for the threading model.

    :param core: a started ``ConnectionCore`` (protocol header queued)
    :param sock: a connected socket (plain or TLS); it is switched to non-blocking mode
    """

    def __init__(self, core: ConnectionCore, sock: socket.socket) -> None:
        self.core = core
        self.sock: Optional[socket.socket] = sock
        sock.setblocking(False)
        self.lock: threading.Lock = threading.Lock()
        self.cond: threading.Condition = threading.Condition(self.lock)
        self.slots: dict[int, ChannelSlot] = {}
        self.conn_pending: deque[ev.Event] = deque()
        self.conn_rpc_waiters: deque[Waiter] = deque()  # channel-0 RPCs (update_secret)
        self.opened = False
        self.error: Optional[BaseException] = None  # set once the connection is finished
        #: Connection.Blocked/Unblocked routed and not yet dispatched (set by the router)
        self.alarm_pending: bool = False
        #: dispatches them to the application's callbacks (set by BlockingConnection); a
        #: waiting call runs it with the lock released, so the blocked callback fires even
        #: while the application sits in a blocking call such as a confirm-mode publish
        self.on_alarm: Optional[Callable[[], Any]] = None
        #: what the kernel has not taken yet (``unsent.size``: its bytes, read without a call
        #: by ``basic_publish`` after every publish)
        self.unsent: SendQueue = SendQueue()
        self._leader = False
        #: Threads sleeping on ``cond`` (followers): with none, notify_all (three Python calls
        #: in threading) is skipped. Changed and read only with the lock held.
        self.followers: int = 0
        self._selecting = False
        self._close_deferred = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_sent = False
        # The IOLoop's pollers (epoll, poll, kqueue or select): one poll call per wait, without
        # the key objects and list ``selectors`` builds on every select.
        self._poller = make_poller(choose_poller_type(None))
        self._wake_fd = self._wake_r.fileno()
        self._poller.register(self._wake_fd, READ)
        self._attach(sock)
        #: recovery on: the reconnect schedule (set by BlockingConnection), else None
        self.reconnect: Optional[BlockingReconnect] = None
        self._drop_deferred = False
        # core.next_deadline() as read at core.deadline_changes == _deadline_seen; until the
        # count moves the real deadline can only be later, so a wait may use this one.
        self._tick_at: Optional[float] = None
        self._deadline_seen = -1
        self._keeper: Optional[threading.Thread] = None
        self._keeper_stop = threading.Event()
        self._keeper_wake = threading.Event()
        self._held = False  # the core holds publish frames we chose not to send yet
        # The core's frame queue (ConnectionCore.output, one object for the core's life). Its
        # counters and buffers are read here directly where every publish, RPC and read passes:
        # core.has_output() and core.bytes_queued_total as calls cost 5% of a blocking publish
        # (bench/offline.py --instructions blocking_publish).
        self._output = core.output
        self._sent_mark = 0  # output.bytes_queued_total at the last drain
        params = cast('Parameters', core.params)  # the core's type names only what it reads
        #: deliveries waiting for the application; above its high mark only the threads
        #: waiting for something else than a delivery (``_urgent``) read (docs/blocking.md)
        self.backlog: Backlog = Backlog(params.delivery_backlog_high, params.delivery_backlog_low)
        self._urgent = 0
        self._paused_read_at = 0.0  # while paused: when to read PAUSED_READ_SIZE anyway
        #: puts each core event into ``slots``, ``conn_pending``, ... (lock held)
        self.router: EventRouter = EventRouter(self)

    def _attach(self, sock: socket.socket) -> None:
        """Use ``sock`` (connected, any blocking mode) from now on (lock held)."""
        sock.setblocking(False)
        self.sock = sock
        self._fd = sock.fileno()
        self._poller.register(self._fd, READ)
        self._interest = READ  # what the socket is registered for (0: not registered)
        self._tls = isinstance(sock, ssl.SSLSocket)
        self._reader = SocketReader(sock, self.core)  # BaseConnection's read loop too
        self._just_readable = [(self._fd, READ)]  # what epoll reports when only a read is due

    # -- state ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once the connection is closed or failed (no further I/O happens)."""
        return self.error is not None

    @property
    def output_pending(self) -> int:
        """Bytes accepted from the core but not yet taken by the kernel."""
        return self.unsent.size

    # -- writing -------------------------------------------------------------------------

    def write_batched_acks(self) -> None:
        """Queue in the core the acks that callbacks batched on every channel (lock held):
        the end of a batch of callbacks, and a connection close."""
        for slot in self.slots.values():
            if slot.acks:
                slot.write_acks()

    def send_now(self) -> None:
        """Drain the core's output and write as much as the kernel takes (lock held).

        Called by the thread that queued frames, right after queueing them, so a publish costs
        one ``send`` on the fast path. A remainder stays in ``unsent`` for the leader.
        """
        output = self._output
        self._held = False
        self._sent_mark = output.bytes_queued_total
        if not (output.buffer or output.parts):  # core.has_output(): every read ends here,
            return  # usually with nothing queued
        parts = self.core.data_to_send_parts()  # large bodies by reference: no join
        if len(parts) > 1 or self.unsent.size:  # several buffers, or a backlog: keep the order
            self._send_parts(parts)
            return
        data = parts[0]  # the usual case (every RPC and confirmed publish): one send
        sock = self.sock
        if sock is None:
            return
        try:
            sent = sock.send(data)
        except _WOULD_BLOCK:
            sent = 0
        except OSError as error:
            self._lost(error)
            return
        if sent < len(data):
            self.unsent.extend((data,), sent)
            self.kick()  # the leader waits for writability

    def _send_parts(self, parts: list[Any]) -> None:
        """Queue ``parts`` behind what waits in ``unsent`` and send what the kernel takes."""
        if self.sock is None:
            return
        out = self.unsent
        out.extend(parts)
        self._write_out()
        if out.size and self.sock is not None:
            self.kick()  # the leader waits for writability

    def send_publish(self) -> None:
        """Like :meth:`send_now` for a plain publish, but may coalesce (lock held).

        The frames stay queued in the core when the keeper can flush them, nothing is waiting
        in ``unsent`` and fewer than :data:`COALESCE_LIMIT` bytes are pending. The first held
        publish of a burst nudges the keeper (one ``Event.set`` per burst, not per message).
        """
        if (
            self._keeper is None
            or self.unsent.size
            or self.error is not None
            or self._output.bytes_queued_total - self._sent_mark >= COALESCE_LIMIT
        ):
            self.send_now()
            return
        if not self._held:
            self._held = True
            self._keeper_wake.set()

    def flush_held(self, timeout: float = -1) -> bool:
        """Send publishes left queued by :meth:`send_publish` (takes the lock).

        :param timeout: how long to wait for the lock (-1: as long as it takes); when it
            is not had in time, nothing is sent
        :returns: True if output is still waiting for the kernel afterwards
        """
        if not self.lock.acquire(True, timeout):
            return False
        try:
            if self._held and self.error is None:
                self.send_now()
            return self.unsent.size > 0 and self.error is None
        finally:
            self.lock.release()

    def _write_out(self) -> None:
        """Send as much of ``unsent`` as the kernel accepts (lock held)."""
        sock = self.sock
        if sock is None or not self.unsent.size:
            return
        try:
            self.unsent.send(sock)
        except exceptions.StreamLostError as error:
            self._lost(error)

    def flush(self, deadline: Optional[float]) -> bool:
        """Wait until everything queued is on the wire or the connection ended (lock held).

        :returns: False if ``deadline`` passed first
        """
        self.send_now()
        if not self.unsent.size:
            return True
        return self.wait(self._output_drained, deadline)

    def _output_drained(self) -> bool:
        return not self.unsent.size

    # -- waiting -------------------------------------------------------------------------

    def wait(
        self, done: Callable[[], bool], deadline: Optional[float], deliveries: bool = False
    ) -> bool:
        """Pump I/O until ``done()`` holds, the connection ends, or ``deadline`` passes.

        Must be called with the lock held; returns with it held. At least one read cycle runs
        even if ``deadline`` has already passed, so ``deadline=now`` means "poll once".

        :param deliveries: the caller waits for deliveries to dispatch (or timers), so reading
            may pause while the backlog is above its high mark. Any other wait (an RPC reply,
            a confirm, a close) reads regardless: its frame may be queued behind deliveries.
        :returns: ``done()`` at exit (False on timeout or connection end)
        """
        if self._held:
            self.send_now()
        if done():
            return True
        if deliveries:
            return self._wait(done, deadline)
        self._urgent += 1
        if self.backlog.paused:
            self.kick()  # a paused leader must start reading for us
        try:
            return self._wait(done, deadline)
        finally:
            self._urgent -= 1

    def _wait(self, done: Callable[[], bool], deadline: Optional[float]) -> bool:
        """The loop of :meth:`wait`: lead a cycle or follow, until done or timed out."""
        while True:  # done() is checked once per cycle or wake-up, right after it
            if self.alarm_pending and self.on_alarm is not None:
                self._dispatch_alarm(self.on_alarm)
                if done():
                    return True
            if self.error is not None:
                return done()
            now = _monotonic()
            if self._leader:
                if deadline is not None and now >= deadline:
                    return False
                self.followers += 1
                try:
                    self.cond.wait(None if deadline is None else deadline - now)
                finally:
                    self.followers -= 1
                if done():
                    return True
                continue
            self._leader = True
            try:
                self._cycle(deadline, now)
            finally:
                self._leader = False
                if self.followers:
                    self.cond.notify_all()
            if done():
                return True
            if deadline is not None and _monotonic() >= deadline:
                return False

    def _dispatch_alarm(self, on_alarm: Callable[[], Any]) -> None:
        """Run the blocked/unblocked callbacks with the lock released (lock held on entry
        and on return, even when a callback raises: the waiting call then raises it)."""
        self.alarm_pending = False
        self.lock.release()
        try:
            on_alarm()
        finally:
            self.lock.acquire()

    def wake_followers(self) -> None:
        """Make sleeping waiters re-check their conditions, after events were routed (lock
        held). The router tests :attr:`followers` first: no call when none sleeps."""
        if self.followers:
            self.cond.notify_all()

    def kick(self) -> None:
        """Make waiters re-check their conditions (lock held): notify followers, wake the leader."""
        if self.followers:
            self.cond.notify_all()
        if self._selecting and not self._wake_sent:
            self._wake_sent = True
            try:
                self._wake_w.send(b'\0')
            except OSError:  # pragma: no cover - full or closed wake pipe: leader is awake anyway
                pass

    def _cycle(  # noqa: C901 (bench/offline.py --instructions blocking_rpc, see below)
        self, deadline: Optional[float], now: float
    ) -> None:
        """One leader cycle: select (lock released), read, route, write, tick (lock held).

        Every RPC, confirm and delivery read comes through here, so the common path (arm the
        poll, poll, read, route, write, tick check) is one function: as six helper calls it
        cost 2.5% more instructions per round trip (bench/offline.py --instructions
        blocking_rpc). Recovery, a paused backlog and a deferred socket end are helpers.
        """
        sock = self.sock
        reconnect = self.reconnect
        if reconnect is not None and reconnect.active:
            go, deadline = self._recovery_gate(reconnect, sock is None, deadline, now)
            if not go:
                return
        if sock is None:
            return
        reading = self._urgent > 0 or not self.backlog.paused
        # Wake at the deadline, the core's next timer or the next paused read, whichever is
        # first (None: none of them).
        tick_at = self._tick_at
        if self.core.deadline_changes != self._deadline_seen:
            tick_at = self._next_tick()
        if tick_at is not None and (deadline is None or tick_at < deadline):
            deadline = tick_at
        if not reading and (deadline is None or self._paused_read_at < deadline):
            deadline = self._paused_read_at
        timeout = None if deadline is None else (deadline - now if deadline > now else 0.0)
        interest = (READ if reading else 0) | (WRITE if self.unsent.size else 0)
        if interest != self._interest:  # start or stop waiting to read or to write
            self._set_interest(interest)
        if reading and self._tls and sock.pending():  # type: ignore[attr-defined]
            timeout = 0.0
        self._selecting = True
        self.lock.release()
        try:
            ready = self._poller.poll(timeout)
        finally:
            self.lock.acquire()
            self._selecting = False
        # the usual wake-up: the socket alone, readable
        readable = True if ready == self._just_readable else self._scan(ready)
        if (self._close_deferred or self._drop_deferred) and self._end_deferred():
            return
        now = _monotonic()  # one clock read serves the read and the tick check
        if not reading:
            self._paused_read(readable, now)
        elif (readable or (self._tls and sock.pending())) and self.sock is not None:  # type: ignore[attr-defined]
            # _read(now), inlined: one call less per RPC reply or read of deliveries
            try:
                found = self._reader.read(now, 0)
            except exceptions.StreamLostError as error:
                self._lost(error)
            else:
                try:
                    self.router.route(found)  # even none: a reply may be queued (TuneOk)
                finally:
                    output = self._output
                    if output.buffer or output.parts:  # core.has_output()
                        self.send_now()
        if self.unsent.size:
            self._write_out()
        tick_at = self._tick_at
        if (tick_at is not None and now >= tick_at) or (
            self.core.deadline_changes != self._deadline_seen
        ):
            self._tick(now)  # due, or the cached deadline is stale (_tick re-reads it)
        if reconnect is not None and reconnect.hooks:
            self._run_hooks()

    def _recovery_gate(
        self, reconnect: BlockingReconnect, no_socket: bool, deadline: Optional[float], now: float
    ) -> tuple[bool, Optional[float]]:
        """Recovery's part of a cycle: run pending hooks, take a reconnect step while there
        is no socket, and give up on a handshake or replay that outlived its step deadline.

        :returns: (whether the cycle goes on, the cycle's deadline capped by the step's)
        """
        if reconnect.hooks:
            self._run_hooks()
        if no_socket:
            self._recover_step(deadline)
            return False, deadline
        step_deadline = reconnect.step_deadline
        if step_deadline is None:
            return True, deadline
        if now >= step_deadline:
            self._lost(exceptions.StreamLostError('recovery: handshake or replay timed out'))
            return False, deadline
        if deadline is None or step_deadline < deadline:
            deadline = step_deadline
        return True, deadline

    def _end_deferred(self) -> bool:
        """Close or drop the socket if another thread asked to while we polled."""
        if self._close_deferred:
            self._close_socket()
            return True
        if self._drop_deferred:
            self._drop_socket()
            return True
        return False

    def _paused_read(self, readable: bool, now: float) -> None:
        """Paused: read a little now and then (see PAUSED_READ_SIZE), or when an error or
        hang-up bit is reported (READ is off), so recv can report it."""
        if readable or now >= self._paused_read_at:
            self._paused_read_at = now + PAUSED_READ_INTERVAL
            self._read(now, PAUSED_READ_SIZE)

    def _set_interest(self, interest: int) -> None:
        """Register the socket for ``interest`` (READ/WRITE bits; 0 unregisters it)."""
        poller, fd = self._poller, self._fd
        if not self._interest:
            poller.register(fd, interest)
        elif not interest:
            poller.unregister(fd)
        else:
            poller.modify(fd, interest)
        self._interest = interest

    def _scan(self, ready: list[tuple[int, int]]) -> bool:
        """Whether the socket is readable (or failed) in ``ready``; drains the wake-up socket."""
        readable = False
        wake_fd = self._wake_fd
        for fd, mask in ready:
            if fd == wake_fd:
                self._drain_wake()
            elif mask & _NOT_WRITE:
                readable = True
        return readable

    def _drain_wake(self) -> None:
        self._wake_sent = False
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _read(self, now: float, limit: int = 0) -> None:
        """Read once (:class:`~pika.adapters._io.reader.SocketReader`), route the events and
        send what they queued (lock held).

        :param limit: read at most this many bytes (0: a full read)
        """
        if self.sock is None:
            return
        try:
            found = self._reader.read(now, limit)
        except exceptions.StreamLostError as error:
            self._lost(error)
            return
        try:
            self.router.route(found)  # even none: a reply may be queued (Connection.TuneOk)
        finally:
            output = self._output
            if output.buffer or output.parts:  # core.has_output(): else nothing to send
                self.send_now()

    def _next_tick(self) -> Optional[float]:
        """When the core's tick is due, or earlier (see ``_tick_at``); None if no timer."""
        core = self.core
        if core.deadline_changes != self._deadline_seen:
            self._deadline_seen = core.deadline_changes
            self._tick_at = core.next_deadline()
        return self._tick_at

    def _tick(self, now: float) -> None:
        """Run the core's timers if due. The cached deadline may be early: re-read it then."""
        tick_at = self._next_tick()
        if tick_at is not None and self.sock is not None:
            if now >= tick_at:
                self._deadline_seen = self.core.deadline_changes
                tick_at = self._tick_at = self.core.next_deadline()
                if tick_at is not None and now >= tick_at:
                    self.router.route(self.core.tick(now))
                    self.send_now()

    def _lost(self, error: Optional[BaseException]) -> None:
        """The socket failed or hit EOF: let the core turn it into events."""
        LOGGER.debug('Socket lost: %r', error)
        if self.error is not None:
            return
        self.router.route(self.core.connection_lost(error))
        reconnect = self.reconnect
        if reconnect is not None and reconnect.active:
            return  # recovering: the leader reconnects
        if self.error is None:  # the core should have said so; make sure we stop
            self.finish(exceptions.StreamLostError(f'Stream connection lost: {error!r}'))

    # -- recovery (params.recovery set; docs/recovery.md) ----------------------------------

    def interrupted(self, error: BaseException) -> None:
        """The core said ConnectionInterrupted: drop the socket, fail the RPCs in flight with
        ``ConnectionRecovering`` (confirm-mode publishes keep waiting: the core republishes
        them), and let the leader reconnect (lock held)."""
        reconnect = self.reconnect
        if reconnect is None:  # pragma: no cover - the core recovers only with a policy
            self.finish(error)
            return
        self._drop_socket()
        recovering = exceptions.ConnectionRecovering(f'connection lost ({error!r}); recovering')
        for slot in self.slots.values():
            while slot.rpc_waiters:
                slot.rpc_waiters.popleft().fail(recovering)
        while self.conn_rpc_waiters:
            self.conn_rpc_waiters.popleft().fail(recovering)
        reconnect.interrupted(error, _monotonic())
        self.kick()

    def recovered(self, params: Any, renamed: list[tuple[str, str]]) -> None:
        """The core said ConnectionRecovered (lock held)."""
        if self.reconnect is not None:
            self.reconnect.recovered(params, renamed)
        self.kick()

    def _drop_socket(self) -> None:
        """Close the lost socket only (the poller and wake-up pair stay), sending what is
        queued first, best effort: the CloseOk of a broker's Connection.Close."""
        if self._selecting:
            self._drop_deferred = True
            self.kick()
            return
        self._drop_deferred = False
        sock, self.sock = self.sock, None
        if sock is None:
            return
        try:
            self._poller.unregister(self._fd)
        except (KeyError, ValueError, OSError):
            pass
        self._interest = 0
        data = self.unsent.take() + bytes(self.core.data_to_send())
        try:
            if data:
                sock.send(data)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:  # pragma: no cover
            pass

    def _run_hooks(self) -> None:
        """Call the queued recovery hooks with the lock released (never under it)."""
        reconnect = self.reconnect
        if reconnect is None or not reconnect.hooks:
            return
        self.lock.release()
        try:
            reconnect.run_hooks()
        finally:
            self.lock.acquire()

    def _recover_step(self, deadline: Optional[float]) -> None:
        """Leader, no socket: wait for the next attempt (at most until ``deadline``), or
        connect it and hand the core the new stream (lock held; released while waiting and
        connecting)."""
        reconnect = self.reconnect
        assert reconnect is not None
        now = _monotonic()
        if reconnect.attempt is None:
            reason = reconnect.next_attempt(now)
            if reason is not None:
                self._give_up(reconnect.give_up_error(reason))
                self._run_hooks()
                return
        if now < reconnect.due:
            until = reconnect.due if deadline is None else min(reconnect.due, deadline)
            if until > now:
                self.cond.wait(until - now)
            return
        params = reconnect.starting(now)
        self._run_hooks()
        if not reconnect.active or self.error is not None:
            return  # a hook closed the connection
        self.lock.release()
        try:
            sock = _transport.connect_blocking(params, params.socket_timeout)
        except Exception as exc:  # every failure of one attempt: the next one
            sock = None
            failure: BaseException = exc
        finally:
            self.lock.acquire()
        if sock is None:
            reconnect.connect_failed(failure)
            return
        if self.error is not None or not reconnect.active:
            sock.close()
            return
        self._attach(sock)
        self.core.begin_reconnect(params)
        self.send_now()

    def _give_up(self, error: exceptions.AMQPConnectionError) -> None:
        """Recovery gave up: publishes awaiting a confirm fail with an unknown outcome, then
        everything closes with ``error`` (lock held)."""
        for slot in self.slots.values():
            for pending in slot.unconfirmed.values():
                pending.error = exceptions.PublishOutcomeUnknown(
                    f'no publisher confirm before recovery gave up: {error}'
                )
            slot.unconfirmed.clear()
        self.router.route(self.core.give_up(error))
        if self.error is None:  # pragma: no cover - ConnectionClosed finishes the pump
            self.finish(error)

    # -- the keeper thread -------------------------------------------------------------------

    def start_keeper(self) -> None:
        """Start the heartbeat keeper thread (only useful when a heartbeat was negotiated).

        The thread holds only a weak reference between cycles, so an abandoned connection can
        still be garbage collected (which closes its socket).
        """
        if self._keeper is not None:
            return
        LIVE_PUMPS.add(self)
        if self.sock is not None:
            # Not a __del__: the socket sits in the same garbage cycle and could be finalized
            # (closed) first; the finalizer's references keep it open until we are done.
            finalizer = weakref.finalize(
                self, send_abandoned, self.sock, self.unsent, self.core.output
            )
            # flush_at_exit handles live pumps, under their lock. (mypy 1.19's typeshed, the
            # newest that checks Python 3.9, rejects this attribute; mypy 2's accepts it.)
            finalizer.atexit = False  # type: ignore[misc,unused-ignore]
        self._keeper = threading.Thread(
            target=keeper_main,
            args=(weakref.ref(self), self._keeper_stop, self._keeper_wake),
            name='pika-blocking-keeper',
            daemon=True,
        )
        self._keeper.start()

    def keeper_cycle(self) -> Optional[float]:
        """One keeper pass: service the socket if nobody is reading; return when to run next."""
        with self.lock:
            if self.error is not None:
                return None
            if not self._leader:
                self._leader = True
                try:
                    now = _monotonic()
                    self._cycle(now, now)
                except Exception:  # pragma: no cover - must never kill the keeper silently
                    LOGGER.exception('Heartbeat keeper cycle failed')
                finally:
                    self._leader = False
                    if self.followers:
                        self.cond.notify_all()
            tick_at = self._next_tick()
            if self.backlog.paused and (tick_at is None or self._paused_read_at < tick_at):
                tick_at = self._paused_read_at
        delay = 1.0 if tick_at is None else tick_at - _monotonic()
        return min(max(delay, 0.01), 5.0)

    def finish(self, error: BaseException) -> None:
        """The connection is over: fail every channel, stop the keeper, close the socket."""
        if self.error is not None:
            return
        self.error = error
        for slot in list(self.slots.values()):
            self.router.drop_deliveries(slot)
            slot.finish(error)
        self.slots.clear()
        while self.conn_rpc_waiters:
            self.conn_rpc_waiters.popleft().fail(error)
        self._keeper_stop.set()
        self._keeper_wake.set()
        self._close_socket()
        if self.followers:
            self.cond.notify_all()

    def _close_socket(self) -> None:
        """Close the socket now, or ask the leader to once it leaves ``select``."""
        if self._selecting:
            self._close_deferred = True
            self.kick()
            return
        self._close_deferred = False
        sock, self.sock = self.sock, None
        closables: list[Any] = [self._poller, self._wake_r, self._wake_w]
        if sock is not None:  # None: lost while recovering, only the rest is left to close
            closables.append(sock)
            try:
                self._poller.unregister(self._fd)
            except (KeyError, ValueError, OSError):
                pass
            self.unsent.extend(self.core.data_to_send_parts())
            data = self.unsent.take()
            if data:
                try:
                    sock.send(data)  # best effort: e.g. our Connection.CloseOk
                except OSError:
                    pass
        for closable in closables:
            try:
                closable.close()
            except OSError:  # pragma: no cover
                pass

    def shutdown(self) -> None:
        """Stop the keeper; the socket, poller and wake-up pair close with the connection."""
        self._keeper_stop.set()
        self._keeper_wake.set()

    def force_close(self, error: BaseException) -> None:
        """Give up on the connection without the closing handshake (lock held)."""
        self.finish(error)
        self.conn_pending.append(ev.ConnectionClosed(error))  # type: ignore[arg-type]
