"""The trio backend of `pika.aio` (``pip install pika[trio]``).

`pika.aio` is written once against the small interface of :mod:`pika.aio.backend`; this module
implements it on trio, so ``await pika.aio.connect(...)`` works inside ``trio.run`` (chosen
automatically, see :func:`pika.aio.backend.running_backend`). Only how bytes are read and
written, how a task sleeps and how a waiting task is woken differ from asyncio:

- :class:`TrioWaiter` parks the awaiting task with ``trio.lowlevel.wait_task_rescheduled``; a
  cancellation (``trio.fail_after``, a cancelled nursery) abandons it, which the connection sees
  as ``done()`` and then discards the late reply, exactly as for a cancelled asyncio future;
- :class:`TrioTransport` moves bytes on a non-blocking socket with pika's own socket helpers
  (gathered sends of the core's output, the same TLS handling as the other adapters), waiting
  for readiness with ``trio.lowlevel.wait_readable``/``wait_writable``;
- trio has no "call soon" or timer callbacks: one small system task per backend (:class:`_Loop`)
  runs them, and lives only while the connection has work for it.

Background tasks are trio *system* tasks: a connection needs no nursery from its user, and they
are cancelled when ``trio.run``'s main task returns.
"""

from __future__ import annotations

import heapq
import logging
import math
import socket
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import outcome
import trio

from pika import exceptions
from pika.adapters._io import transport as _transport
from pika.adapters._io.send_queue import SendQueue
from pika.aio.backend import WRITE_HIGH_WATER, WRITE_LOW_WATER

if TYPE_CHECKING:
    import ssl
    from collections.abc import Coroutine, Generator

    from pika._parameters import Parameters
    from pika.aio.backend import BytesLike, Sink

    AnySocket = Union[socket.socket, ssl.SSLSocket]

__all__ = ['READ_SIZE', 'TrioBackend', 'TrioTransport', 'TrioWaiter', 'trio_running']

LOGGER = logging.getLogger(__name__)

#: Bytes asked of one ``recv`` (asyncio's selector transport reads as much).
READ_SIZE = 256 * 1024
#: How long :meth:`TrioTransport.close` may spend sending what is buffered before it drops it.
CLOSE_FLUSH_TIMEOUT = 10.0
#: Cancelled timers are purged from the heap once they are more than this many and half of it.
_PURGE_MIN = 64


def trio_running() -> bool:
    """True when called from inside ``trio.run`` (any task of it)."""
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return False
    return True


class TrioWaiter:
    """The trio :class:`~pika.aio.backend.Waiter`: a one-shot result one task awaits.

    A result set before anyone awaits is returned at once (as an asyncio future's is, so a
    reply that already arrived is never lost to a cancellation racing it). A task cancelled
    while parked abandons the waiter: ``done()`` turns True and nothing may be set any more.
    """

    __slots__ = ('_done', '_result', '_task')

    def __init__(self) -> None:
        self._done = False
        self._result: Optional[outcome.Outcome[Any]] = None
        self._task: Optional[trio.lowlevel.Task] = None

    def done(self) -> bool:
        """True once settled or abandoned."""
        return self._done

    def set_result(self, result: Any, /) -> None:
        """Wake the awaiting task with ``result``.

        :raises RuntimeError: already settled or abandoned
        """
        self._settle(outcome.Value(result))

    def set_exception(self, exception: Union[type[BaseException], BaseException], /) -> None:
        """Wake the awaiting task with ``exception`` raised.

        :raises RuntimeError: already settled or abandoned
        """
        if isinstance(exception, type):
            exception = exception()
        self._settle(outcome.Error(exception))

    def _settle(self, result: outcome.Outcome[Any]) -> None:
        if self._done:
            raise RuntimeError('waiter already settled or abandoned')
        self._done = True
        task = self._task
        if task is None:
            self._result = result
        else:
            self._task = None
            trio.lowlevel.reschedule(task, result)

    def _abort(self, _raise_cancel: Any) -> trio.lowlevel.Abort:
        self._task = None
        self._done = True
        return trio.lowlevel.Abort.SUCCEEDED

    async def _wait(self) -> Any:
        result = self._result
        if result is not None:
            self._result = None
            return result.unwrap()
        if self._done:
            raise RuntimeError('waiter already awaited')
        self._task = trio.lowlevel.current_task()
        return await trio.lowlevel.wait_task_rescheduled(self._abort)

    def __await__(self) -> Generator[Any, None, Any]:
        """Suspend until settled; return the result or raise the exception."""
        return self._wait().__await__()


class _Timer:
    """A callback due at ``when`` on the backend's clock; the handle :meth:`cancel` stops."""

    __slots__ = ('callback', 'cancelled', 'loop', 'when')

    def __init__(self, loop: _Loop, when: float, callback: Callable[[], None]) -> None:
        self.loop: _Loop = loop
        self.when: float = when
        self.callback: Callable[[], None] = callback
        self.cancelled: bool = False

    def __lt__(self, other: _Timer) -> bool:
        return self.when < other.when

    def cancel(self) -> None:
        """Do not run the callback (idempotent)."""
        if not self.cancelled:
            self.cancelled = True
            self.loop.timer_cancelled()


class _TaskHandle:
    """A background task of :meth:`TrioBackend.spawn`; :meth:`cancel` cancels its scope."""

    __slots__ = ('scope',)

    def __init__(self) -> None:
        self.scope: trio.CancelScope = trio.CancelScope()

    def cancel(self) -> None:
        """Stop the task (idempotent)."""
        self.scope.cancel()


class _Loop:
    """The callbacks trio has no primitive for: "call soon" and timers, run by one system task.

    The task starts on the first callback and ends once no callback, timer or background task
    of the backend is left, so a closed connection leaves nothing behind.
    """

    def __init__(self) -> None:
        self._soon: list[Callable[[], None]] = []
        self._timers: list[_Timer] = []
        self._cancelled = 0
        self._wake = trio.Event()
        self._running = False
        #: background tasks of the backend still running (the runner outlives them)
        self.tasks = 0

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` once the current task yields."""
        self._soon.append(callback)
        self.poke()

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        """Run ``callback()`` at ``when`` (trio's clock) unless the returned timer is cancelled."""
        timer = _Timer(self, when, callback)
        timers = self._timers
        heapq.heappush(timers, timer)
        if timers[0] is timer:
            self.poke()
        return timer

    def timer_cancelled(self) -> None:
        """A timer was cancelled: drop the dead ones once they are most of the heap."""
        self._cancelled += 1
        timers = self._timers
        if self._cancelled > _PURGE_MIN and self._cancelled * 2 > len(timers):
            self._timers = [timer for timer in timers if not timer.cancelled]
            heapq.heapify(self._timers)
            self._cancelled = 0

    def poke(self) -> None:
        """Make the runner look at its callbacks now (starting it if it is not running)."""
        if not self._running:
            self._running = True
            self._wake = trio.Event()
            trio.lowlevel.spawn_system_task(self._run, name='pika.aio trio callbacks')
        else:
            self._wake.set()

    def _idle(self) -> bool:
        if self._soon or self.tasks:
            return False
        if self._cancelled:
            self._timers = [timer for timer in self._timers if not timer.cancelled]
            heapq.heapify(self._timers)
            self._cancelled = 0
        return not self._timers

    async def _run(self) -> None:
        try:
            while not self._idle():
                self._wake = trio.Event()
                self._run_soon()
                deadline = self._run_due(trio.current_time())
                if self._soon:
                    await trio.lowlevel.checkpoint()
                    continue
                with trio.CancelScope(deadline=deadline):
                    await self._wake.wait()
        finally:
            self._running = False

    def _run_soon(self) -> None:
        batch, self._soon = self._soon, []
        for callback in batch:
            _call(callback)

    def _run_due(self, now: float) -> float:
        """Run the timers due by ``now``; return when the next one is due (inf: none)."""
        timers = self._timers
        while timers:
            timer = timers[0]
            if timer.cancelled:
                heapq.heappop(timers)
                self._cancelled -= 1
                continue
            if timer.when > now:
                return timer.when
            heapq.heappop(timers)
            timer.cancelled = True  # a cancel() after it ran is a no-op
            _call(timer.callback)
        return math.inf


def _call(callback: Callable[[], None]) -> None:
    """Run a loop callback; one that fails is logged, never allowed to stop the others."""
    try:
        callback()
    except Exception:
        LOGGER.exception('pika.aio callback %r failed', callback)


class TrioTransport:
    """A connected non-blocking socket written by the connection and read by a system task.

    :meth:`write` sends at once what the socket takes and queues the rest for the writer task
    (pausing the sink above :data:`~pika.aio.backend.WRITE_HIGH_WATER`); the reader task hands
    every read to :meth:`Sink.data_received`. A failure, EOF, :meth:`close` or :meth:`abort`
    ends with exactly one :meth:`Sink.connection_lost`, from a loop callback.
    """

    def __init__(self, sock: AnySocket, sink: Sink, backend: TrioBackend) -> None:
        self._sock = sock
        self._sink = sink
        self._backend = backend
        self._queue = SendQueue()
        self._paused = False
        self._closing = False
        self._lost = False
        self._more = trio.Event()
        self._read_paused = False
        self._read_resumed = trio.Event()
        self._reader = backend.spawn(self._read_loop())
        self._writer = backend.spawn(self._write_loop())

    def write(self, data: BytesLike, /) -> None:
        """Send ``data``: what the socket does not take now is queued for the writer task."""
        if self._lost or self._closing or not data:
            return
        queue = self._queue
        if not queue:
            try:
                sent = _transport.send_some(self._sock, data)
            except exceptions.StreamLostError as error:
                self._lose(error)
                return
            if sent == len(data):
                return
            queue.extend((data,), sent)
            self._more.set()
        else:
            queue.extend((data,))
        if not self._paused and queue.size > WRITE_HIGH_WATER:
            self._paused = True
            self._sink.pause_writing()

    def pause_reading(self) -> None:
        """Stop reading until :meth:`resume_reading` (the consumers hold too much)."""
        if not self._read_paused:
            self._read_paused = True
            self._read_resumed = trio.Event()

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading`."""
        if self._read_paused:
            self._read_paused = False
            self._read_resumed.set()

    def get_write_buffer_size(self) -> int:
        """Bytes written but not yet sent."""
        return self._queue.size

    def close(self) -> None:
        """Send what is queued (at most :data:`CLOSE_FLUSH_TIMEOUT` seconds), then close.

        Nothing more reaches the sink, as with asyncio's transports: a stream dropped by a
        recovery must not hand late bytes to a connection already opening the next one. The
        reader goes on draining the socket meanwhile (its bytes are dropped): unread bytes at
        the close would make the kernel reset the connection, cutting off the flush.
        """
        if self._lost or self._closing:
            return
        if not self._queue:
            self._lose(None)
            return
        self._closing = True
        self._more.set()
        self._backend.call_later(CLOSE_FLUSH_TIMEOUT, self.abort)

    def abort(self) -> None:
        """Close at once, dropping what is queued."""
        self._lose(None)

    def _lose(self, error: Optional[BaseException]) -> None:
        """Stop both tasks, close the socket, and tell the sink (once, from a loop callback)."""
        if self._lost:
            return
        self._lost = True
        self._queue.clear()
        self._reader.cancel()
        self._writer.cancel()
        sock = self._sock
        trio.lowlevel.notify_closing(sock)
        sock.close()
        sink = self._sink
        self._backend.call_soon(lambda: sink.connection_lost(error))

    async def _read_loop(self) -> None:
        sock = self._sock
        sink = self._sink
        try:
            while True:
                if self._read_paused:
                    await self._read_resumed.wait()
                    continue
                data = _transport.recv_some(sock, READ_SIZE)
                if data is None:
                    await trio.lowlevel.wait_readable(sock)
                    continue
                if not self._closing:  # else dropped: see close()
                    sink.data_received(data)
                await trio.lowlevel.checkpoint()  # let the tasks it woke run first
        except exceptions.StreamLostError as error:  # EOF included
            self._lose(error)
        except trio.ClosedResourceError:
            pass  # closed by _lose
        except Exception as error:  # a bug in the sink: the stream is unusable now
            LOGGER.exception('pika.aio: handling received data failed')
            self._lose(error)

    async def _write_loop(self) -> None:
        sock = self._sock
        queue = self._queue
        try:
            while True:
                await self._more.wait()
                self._more = trio.Event()
                while not queue.send(sock):
                    self._check_resume()
                    await trio.lowlevel.wait_writable(sock)
                self._check_resume()
                if self._closing:
                    self._lose(None)
                    return
        except exceptions.StreamLostError as error:
            self._lose(error)
        except trio.ClosedResourceError:
            pass  # closed by _lose

    def _check_resume(self) -> None:
        if self._paused and self._queue.size <= WRITE_LOW_WATER:
            self._paused = False
            self._sink.resume_writing()


class TrioBackend:
    """:class:`~pika.aio.backend.Backend` on the running ``trio.run`` (one per connection)."""

    def __init__(self) -> None:
        if not trio_running():
            raise RuntimeError('TrioBackend must be created inside trio.run')
        self._loop = _Loop()

    def now(self) -> float:
        """trio's clock (monotonic seconds)."""
        return trio.current_time()

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        await trio.sleep(seconds)

    def create_waiter(self) -> TrioWaiter:
        """A new unsettled :class:`TrioWaiter`."""
        return TrioWaiter()

    def call_soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` once the calling task yields (coalesces writes)."""
        self._loop.call_soon(callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        """Run ``callback()`` after ``delay`` seconds unless the returned handle is cancelled."""
        return self._loop.call_at(trio.current_time() + delay, callback)

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> _TaskHandle:
        """Run ``coroutine`` as a system task until it returns or the handle cancels it."""
        handle = _TaskHandle()
        loop = self._loop
        loop.tasks += 1

        async def task() -> None:
            try:
                with handle.scope:
                    await coroutine
            except Exception:
                LOGGER.exception('pika.aio background task failed')
            finally:
                loop.tasks -= 1

        trio.lowlevel.spawn_system_task(
            task, name=f'pika.aio {getattr(coroutine, "__qualname__", coroutine)}'
        )
        return handle

    async def open_transport(
        self, params: Parameters, sink: Sink, timeout: Optional[float]
    ) -> TrioTransport:
        """Connect TCP (then TLS with ``params.ssl_options``) within ``timeout`` seconds.

        :raises AMQPConnectionError: a subclass saying what failed (resolve, connect, TLS,
            time-out)
        """
        where = f'{params.host}:{params.port}'
        with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
            sock = await _connect(params)
            try:
                if params.ssl_options is not None:
                    sock = await _tls_handshake(sock, params)
            except BaseException:
                sock.close()
                raise
            return TrioTransport(sock, sink, self)
        assert scope.cancelled_caught
        raise _transport.SocketConnectTimeout(f'TCP connection to {where} timed out')


async def _connect(params: Parameters) -> socket.socket:
    """A non-blocking TCP connection to the first address of ``params`` that accepts."""
    where = f'{params.host}:{params.port}'
    try:
        infos = await trio.socket.getaddrinfo(
            params.host, params.port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as error:
        raise _transport.AddressResolutionError(f'cannot resolve {where}: {error}') from error
    last: Optional[BaseException] = None
    for info in infos:
        try:
            sock = _transport.start_nonblocking_connect(info, params.tcp_options)
        except _transport.SocketConnectError as error:
            last = error
            continue
        try:
            await trio.lowlevel.wait_writable(sock)
            _transport.finish_nonblocking_connect(sock)
        except _transport.SocketConnectError as error:
            sock.close()
            last = error
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise _transport.SocketConnectError(f'TCP connection to {where}: {last}') from last


async def _tls_handshake(sock: socket.socket, params: Parameters) -> ssl.SSLSocket:
    """Wrap ``sock`` in TLS and finish the handshake, waiting for readiness in between."""
    tls = _transport.wrap_tls(sock, params)
    try:
        while True:
            want = _transport.tls_handshake_step(tls)
            if want is None:
                return tls
            if want == 'read':
                await trio.lowlevel.wait_readable(tls)
            else:
                await trio.lowlevel.wait_writable(tls)
    except BaseException:
        tls.close()
        raise
