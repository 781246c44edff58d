"""`SelectConnection` and its own event loop, `IOLoop`, over select/poll/epoll/kqueue.

The poller is chosen automatically (epoll, kqueue, poll, then select: the first the platform
has). Set the module global `POLLER_TYPE` (or pika 1.x's `SELECT_TYPE`) to 'select', 'poll',
'epoll' or 'kqueue' before constructing an `IOLoop` (or a `SelectConnection` without
`custom_ioloop`) to force one.

The pollers themselves are in `pika.adapters._io.pollers` (epoll, poll and select called through
the `select` module directly); the loop keeps its own fd -> watch dict in step with them.
"""

from __future__ import annotations

import collections
import errno
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika.adapters._io.pollers import (  # READ/WRITE/ERROR and the helpers keep their 1.x home here
    ERROR,
    READ,
    WRITE,
    choose_poller_type,
    make_poller,
)
from pika.adapters._io.pollers import (  # public here, as in pika 1.x (IOLoop builds its own)
    EPollPoller as EPollPoller,
)
from pika.adapters._io.pollers import KQueuePoller as KQueuePoller
from pika.adapters._io.pollers import PollEvents as PollEvents
from pika.adapters._io.pollers import PollPoller as PollPoller
from pika.adapters._io.pollers import SelectPoller as SelectPoller
from pika.adapters._io.pollers import (
    available_poller_types as available_poller_types,  # public here, as in pika 1.x
)
from pika.adapters._io.timers import TimerHandle, TimerQueue
from pika.adapters.base_connection import BaseConnection
from pika.adapters.utils.selector_ioloop_adapter import AbstractSelectorIOLoop
from pika.adapters.utils.selector_ioloop_adapter import (  # public here, as in pika 1.x
    SelectorIOServicesAdapter as SelectorIOServicesAdapter,
)

if TYPE_CHECKING:
    from pika._parameters import Parameters

LOGGER = logging.getLogger(__name__)

POLLER_TYPE: Optional[str] = None
"""Force a poller ('select', 'poll', 'epoll', 'kqueue'); None picks the best available."""

SELECT_TYPE: Optional[str] = None
"""pika 1.x's name for `POLLER_TYPE`, read when `POLLER_TYPE` is None."""


class _Watch:
    """What is wanted from one file descriptor: IOServices reader/writer and/or a 1.x handler."""

    __slots__ = ('handler', 'handler_events', 'reader', 'registered', 'writer')

    def __init__(self) -> None:
        self.reader: Optional[Callable[[], None]] = None
        self.writer: Optional[Callable[[], None]] = None
        self.handler: Optional[Callable[[int, int], None]] = None
        self.handler_events = 0
        self.registered = 0  # the READ|WRITE bits the poller currently has for this fd

    def poller_events(self) -> int:
        events = 0
        if self.reader is not None or self.handler_events & (READ | ERROR):
            events |= READ
        if self.writer is not None or self.handler_events & WRITE:
            events |= WRITE
        return events


class IOLoop(AbstractSelectorIOLoop):
    """A single-threaded event loop: timers, fd readiness and thread-safe callbacks.

    It implements `pika.adapters._io.services.IOServices` plus pika's public loop API
    (`AbstractSelectorIOLoop`, so `SelectorIOServicesAdapter` can wrap it too). Exceptions
    raised by callbacks propagate out of `start()`; the loop stays usable and `start()` may be
    called again (the seed's KeyboardInterrupt pattern relies on that).
    """

    READ = READ
    WRITE = WRITE
    ERROR = ERROR

    def __init__(self) -> None:
        self.poller_type: str = choose_poller_type(
            POLLER_TYPE if POLLER_TYPE is not None else SELECT_TYPE
        )
        self._poller = make_poller(self.poller_type)
        self._poll_fds: Callable[[Optional[float]], list[tuple[int, int]]] = self._poller.poll
        self._poller_active = True  # False between deactivate_poller() and activate_poller()
        self._watches: dict[int, _Watch] = {}
        # fd -> reader for the fds watched for reading only (the sockets of connections not
        # waiting to write): a readiness event on them needs no mask check, see _wait_for_events.
        self._plain_readers: dict[int, Callable[[], None]] = {}
        # The clock as a C function unless a subclass redefines time(): read once or twice a turn.
        self._clock: Callable[[], float] = (
            time.monotonic if type(self).time is IOLoop.time else self.time
        )
        self._timers = TimerQueue(self._clock)
        self._timer_heap = self._timers.entries  # truthy while any timer (maybe cancelled) is left
        self._threadsafe: collections.deque[Callable[[], Any]] = collections.deque()
        self._lock = threading.Lock()
        self._running = False
        self._stopping = False
        self._closed = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.set_reader(self._wake_r.fileno(), self._drain_wakeup)
        LOGGER.debug('IOLoop created with poller %s', self.poller_type)

    # -- clock and timers -------------------------------------------------------------------

    def time(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], Any]) -> TimerHandle:
        """Call `callback()` once after `delay` seconds; return a handle for `remove_timeout`.

        :raises TypeError: if `callback` is not callable or `delay` not a number.
        :raises ValueError: if `delay` is negative.
        """
        return self._timers.call_later(delay, callback)

    def add_timeout(self, deadline: float, callback: Callable[[], Any]) -> TimerHandle:
        """The seed's name for `call_later`: `deadline` is a delay in seconds from now."""
        return self.call_later(deadline, callback)

    def remove_timeout(self, timeout_handle: object) -> None:
        """Cancel a timer; fired or already-cancelled handles are ignored.

        :raises TypeError: if `timeout_handle` did not come from `call_later`.
        """
        self._timers.cancel(timeout_handle)  # type: ignore[arg-type]

    def process_timeouts(self) -> None:
        """Run every timer that was due when this call started, in deadline order."""
        self._timers.run_due(self._clock())

    # -- thread-safe callbacks --------------------------------------------------------------

    def add_callback_threadsafe(self, callback: Callable[[], Any]) -> None:
        """Run `callback()` on the loop thread during the next iteration; safe from any thread.

        :raises TypeError: if `callback` is not callable.
        """
        if not callable(callback):
            raise TypeError(f'callback must be callable, not {type(callback).__name__}')
        with self._lock:
            self._threadsafe.append(callback)
        self._wake()

    add_callback = add_callback_threadsafe

    def _wake(self) -> None:
        try:
            self._wake_w.send(b'\0')
        except BlockingIOError:
            pass  # the buffer is full of wake-ups already: the loop will wake
        except OSError as exc:
            if exc.errno not in (errno.EBADF, errno.EPIPE) and not self._closed:
                raise

    def _drain_wakeup(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _run_threadsafe_callbacks(self) -> None:
        if not self._threadsafe:  # unlocked peek: a callback added meanwhile also wakes us
            return
        with self._lock:
            batch = list(self._threadsafe)
            self._threadsafe.clear()
        for index, callback in enumerate(batch):
            try:
                callback()
            except BaseException:
                with self._lock:
                    self._threadsafe.extendleft(reversed(batch[index + 1 :]))
                raise

    # -- file descriptors: IOServices style -------------------------------------------------

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call `on_readable()` whenever `fd` is readable."""
        self._watch(fd).reader = on_readable
        self._sync(fd)

    def remove_reader(self, fd: int) -> None:
        """Stop watching `fd` for readability."""
        watch = self._watches.get(fd)
        if watch is not None:
            watch.reader = None
            self._sync(fd)

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Call `on_writable()` whenever `fd` is writable."""
        self._watch(fd).writer = on_writable
        self._sync(fd)

    def remove_writer(self, fd: int) -> None:
        """Stop watching `fd` for writability."""
        watch = self._watches.get(fd)
        if watch is not None:
            watch.writer = None
            self._sync(fd)

    # -- file descriptors: pika 1.x style ---------------------------------------------------

    def add_handler(self, fd: int, handler: Callable[[int, int], None], events: int) -> None:
        """Call `handler(fd, events)` when `fd` is ready for any of `events` (READ|WRITE|ERROR).

        :raises ValueError: if a handler is already registered for `fd`.
        """
        if not callable(handler):
            raise TypeError(f'handler must be callable, not {type(handler).__name__}')
        watch = self._watch(fd)
        if watch.handler is not None:
            raise ValueError(f'fd {fd} already has a handler')
        watch.handler = handler
        watch.handler_events = events
        self._sync(fd)

    def update_handler(self, fd: int, events: int) -> None:
        """Change the events watched for the handler of `fd`.

        :raises ValueError: if `fd` has no handler.
        """
        watch = self._watches.get(fd)
        if watch is None or watch.handler is None:
            raise ValueError(f'fd {fd} has no handler')
        watch.handler_events = events
        self._sync(fd)

    def remove_handler(self, fd: int) -> None:
        """Forget the handler of `fd`; a no-op when there is none."""
        watch = self._watches.get(fd)
        if watch is not None:
            watch.handler = None
            watch.handler_events = 0
            self._sync(fd)

    def _watch(self, fd: int) -> _Watch:
        if self._closed:
            raise RuntimeError('IOLoop is closed')
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f'fd must be an int, not {type(fd).__name__}')
        if fd < 0:  # refused here: select() would only fail at the next wait
            raise ValueError(f'Invalid file descriptor: {fd}')
        return self._watches.setdefault(fd, _Watch())

    def _sync(self, fd: int) -> None:
        """Make the poller registration of `fd` (and `_plain_readers`) match its watch."""
        watch = self._watches.get(fd)
        if watch is None:
            return
        wanted = watch.poller_events()
        current = watch.registered
        self._plain_readers.pop(fd, None)
        if not wanted:
            del self._watches[fd]
            if current:
                self._poller.unregister(fd)
            return
        if wanted != current and self._poller_active:  # else: registered on activate_poller
            if current:
                self._poller.modify(fd, wanted)
            else:
                self._poller.register(fd, wanted)
            watch.registered = wanted
        if watch.reader is not None and wanted == READ and watch.handler is None:
            self._plain_readers[fd] = watch.reader

    def _dispatch_fd(self, fd: int, mask: int) -> None:
        """Run what the watch of `fd` asks for, given the poller's `mask` (the general path)."""
        watch = self._watches.get(fd)
        if watch is None:
            return
        readable = mask & ~WRITE  # POLLIN, or an error/hang-up the reader's recv will report
        writable = mask & ~READ
        if watch.handler is not None:
            events = 0
            if readable and watch.handler_events & (READ | ERROR):
                events |= READ
            if writable and watch.handler_events & WRITE:
                events |= WRITE
            if events:
                watch.handler(fd, events)
        if writable and watch.writer is not None:
            watch.writer()
        # The writer may have removed the watch or the reader (e.g. after closing the socket).
        if readable and watch.reader is not None and fd in self._watches:
            watch.reader()

    # -- running ----------------------------------------------------------------------------

    def activate_poller(self) -> None:
        """Give the loop an OS poller again after `deactivate_poller()` (every watched fd is
        registered with it); a no-op while it has one. `start()` and `poll()` call it.

        :raises RuntimeError: if the loop is closed.
        """
        if self._closed:
            raise RuntimeError('IOLoop is closed')
        if self._poller_active:
            return
        self._poller = make_poller(self.poller_type)
        self._poll_fds = self._poller.poll
        self._poller_active = True
        for fd in list(self._watches):
            self._sync(fd)

    def deactivate_poller(self) -> None:
        """Release the OS poller (an epoll/kqueue descriptor), keeping what is watched, timers
        and callbacks: e.g. before `fork()`, so the child can `activate_poller()` its own.
        Idempotent.

        :raises RuntimeError: if the loop is running.
        """
        if not self._poller_active or self._closed:
            return
        if self._running:
            raise RuntimeError('cannot deactivate the poller of a running IOLoop')
        self._poller_active = False
        self._poller.close()
        for watch in self._watches.values():
            watch.registered = 0

    def poll(self) -> None:
        """Wait for fd readiness (at most until the next timer) and dispatch it once."""
        if not self._poller_active:
            self.activate_poller()
        if self._stopping or self._threadsafe:
            timeout: Optional[float] = 0.0
        elif self._timer_heap:  # no clock read when there is no timer at all
            timeout = self._timers.next_timeout(self._clock())
        else:
            timeout = None
        self._wait_for_events(timeout)

    def _wait_for_events(self, timeout: Optional[float]) -> None:
        """Protected hook: wait up to `timeout` seconds (None: no timer pending, wait for I/O)
        for readiness of the watched descriptors and run their callbacks once.

        `poll()` has already computed `timeout` from the timers, `stop()` and the thread-safe
        queue; timers and thread-safe callbacks run after this returns. A subclass replaces
        only the waiting mechanism here (`AsyncoreIOLoop` runs one `asyncore.loop` pass).
        """
        plain_readers = self._plain_readers
        for fd, mask in self._poll_fds(timeout):
            # Inlined fast path (one dict lookup, no mask arithmetic): an fd watched for reading
            # only runs its reader on any event, error and hang-up included.
            reader = plain_readers.get(fd)
            if reader is not None:
                reader()
            else:
                self._dispatch_fd(fd, mask)

    def _run_once(self) -> None:
        """One turn: `poll()` (inlined: one Python call fewer per turn), then the timers that
        are due, then the thread-safe callbacks."""
        heap = self._timer_heap
        if self._stopping or self._threadsafe:
            timeout: Optional[float] = 0.0
        elif heap:
            timeout = self._timers.next_timeout(self._clock())
        else:
            timeout = None
        self._wait_for_events(timeout)
        if heap:  # no clock read on turns without any timer
            now = self._clock()
            if heap[0][0] <= now:  # the earliest entry is due (run_due skips it if cancelled)
                self._timers.run_due(now)
        if self._threadsafe:  # unlocked peek: a callback added meanwhile also wakes us
            self._run_threadsafe_callbacks()

    def start(self) -> None:
        """Run the loop until `stop()` is called; exceptions from callbacks propagate.

        A `stop()` made while the loop was not running makes the next `start()` return after
        one iteration.

        :raises RuntimeError: if the loop is already running or closed.
        """
        if self._running:
            raise RuntimeError('IOLoop is not reentrant and is already running')
        if self._closed:
            raise RuntimeError('IOLoop is closed')
        if not self._poller_active:
            self.activate_poller()
        self._running = True
        LOGGER.debug('IOLoop starting')
        try:
            while True:
                self._run_once()
                if self._stopping:
                    break
        finally:
            self._stopping = False
            self._running = False
            LOGGER.debug('IOLoop stopped')

    def stop(self) -> None:
        """Ask the loop to return from `start()` after its current iteration."""
        self._stopping = True
        if not self._closed:
            self._wake()

    @property
    def is_running(self) -> bool:
        """True while `start()` is executing."""
        return self._running

    def close(self) -> None:
        """Release the poller and the wake-up socket pair; the loop cannot be used afterwards."""
        if self._closed:
            return
        if self._running:
            raise RuntimeError('cannot close a running IOLoop')
        self._closed = True
        if self._poller_active:
            self._poller.close()
        self._watches.clear()
        self._plain_readers.clear()
        self._timers.clear()
        self._wake_r.close()
        self._wake_w.close()


class SelectConnection(BaseConnection):
    """The recommended asynchronous connection: the callback API driven by an `IOLoop`.

    Accepts the pika 1.x keywords and the seed's positional form
    `SelectConnection(parameters, on_open_callback)`. `connection.ioloop` is the loop to run.
    """

    ioloop: IOLoop  # narrows Connection.ioloop for type checkers (`connection.ioloop.start()`)

    def __init__(
        self,
        parameters: Optional[Parameters] = None,
        on_open_callback: Optional[Callable[..., Any]] = None,
        on_open_error_callback: Optional[Callable[..., Any]] = None,
        on_close_callback: Optional[Callable[..., Any]] = None,
        custom_ioloop: Optional[IOLoop] = None,
        internal_connection_workflow: bool = True,
    ) -> None:
        ioloop = custom_ioloop if custom_ioloop is not None else IOLoop()
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            ioloop,
            internal_connection_workflow,
        )
        # The core is given `now` on every read: take it straight from the loop's clock
        # (time.monotonic itself unless the loop redefines time()), not through two Python
        # frames (BaseConnection._now -> IOLoop.time). A duck-typed loop keeps `_now`.
        clock = getattr(ioloop, '_clock', None)
        if clock is not None:
            self._now = clock  # type: ignore[method-assign]

    @classmethod
    def _workflow_services(cls, custom_ioloop: Optional[Any]) -> tuple[Any, IOLoop]:
        """`create_connection`'s loop: ``custom_ioloop`` or a new `IOLoop` (its own services)."""
        loop = custom_ioloop if custom_ioloop is not None else IOLoop()
        return loop, loop

    def _on_fully_closed(self) -> None:
        """Stop the loop once a connection the user asked to close has finished closing."""
        super()._on_fully_closed()
        if self._close_requested:
            self.ioloop.stop()
