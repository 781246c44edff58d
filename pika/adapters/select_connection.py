"""`SelectConnection` and its own event loop, `IOLoop`, built on the stdlib `selectors` pollers.

The poller is chosen automatically (epoll, kqueue, poll, then select: the first the platform
has). Set the module global `POLLER_TYPE` to 'select', 'poll', 'epoll' or 'kqueue' before
constructing an `IOLoop` (or a `SelectConnection` without `custom_ioloop`) to force one.
"""

from __future__ import annotations

import collections
import errno
import logging
import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika.adapters._timers import TimerHandle, TimerQueue
from pika.adapters.base_connection import BaseConnection

if TYPE_CHECKING:
    from pika._parameters import Parameters

LOGGER = logging.getLogger(__name__)

POLLER_TYPE: Optional[str] = None
"""Force a poller ('select', 'poll', 'epoll', 'kqueue'); None picks the best available."""

# Event bits of the pika 1.x `add_handler` API.
READ = 0x0001
WRITE = 0x0004
ERROR = 0x0008

_SELECTOR_NAMES = {
    'epoll': 'EpollSelector',
    'kqueue': 'KqueueSelector',
    'poll': 'PollSelector',
    'select': 'SelectSelector',
}
_PREFERENCE = ('epoll', 'kqueue', 'poll', 'select')


def available_poller_types() -> list[str]:
    """Names of the pollers this platform supports, best first."""
    return [name for name in _PREFERENCE if hasattr(selectors, _SELECTOR_NAMES[name])]


def choose_poller_type(requested: Optional[str]) -> str:
    """Resolve a `POLLER_TYPE` value to an available poller name.

    :raises ValueError: for an unknown name or a poller this platform lacks.
    """
    available = available_poller_types()
    if requested is None:
        return available[0]
    if not isinstance(requested, str) or requested.lower() not in _SELECTOR_NAMES:
        raise ValueError(
            f'POLLER_TYPE must be one of {sorted(_SELECTOR_NAMES)} or None, not {requested!r}'
        )
    name = requested.lower()
    if name not in available:
        raise ValueError(f'poller {name!r} is not available here; available: {available}')
    return name


def _make_selector(poller_type: str) -> selectors.BaseSelector:
    selector_class = getattr(selectors, _SELECTOR_NAMES[poller_type])
    return selector_class()  # type: ignore[no-any-return]


class _Watch:
    """What is wanted from one file descriptor: IOServices reader/writer and/or a 1.x handler."""

    __slots__ = ('handler', 'handler_events', 'reader', 'writer')

    def __init__(self) -> None:
        self.reader: Optional[Callable[[], None]] = None
        self.writer: Optional[Callable[[], None]] = None
        self.handler: Optional[Callable[[int, int], None]] = None
        self.handler_events = 0

    def selector_events(self) -> int:
        events = 0
        if self.reader is not None or self.handler_events & (READ | ERROR):
            events |= selectors.EVENT_READ
        if self.writer is not None or self.handler_events & WRITE:
            events |= selectors.EVENT_WRITE
        return events


class IOLoop:
    """A single-threaded event loop: timers, fd readiness and thread-safe callbacks.

    It implements `pika.adapters._io_services.IOServices` plus pika's public loop API. Exceptions
    raised by callbacks propagate out of `start()`; the loop stays usable and `start()` may be
    called again (the seed's KeyboardInterrupt pattern relies on that).
    """

    READ = READ
    WRITE = WRITE
    ERROR = ERROR

    def __init__(self) -> None:
        self.poller_type = choose_poller_type(POLLER_TYPE)
        self._selector = _make_selector(self.poller_type)
        self._watches: dict[int, _Watch] = {}
        self._timers = TimerQueue(self.time)
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

    def remove_timeout(self, handle: object) -> None:
        """Cancel a timer; fired or already-cancelled handles are ignored.

        :raises TypeError: if `handle` did not come from `call_later`.
        """
        self._timers.cancel(handle)  # type: ignore[arg-type]

    def process_timeouts(self) -> None:
        """Run every timer that was due when this call started, in deadline order."""
        self._timers.run_due(self.time())

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
        return self._watches.setdefault(fd, _Watch())

    def _sync(self, fd: int) -> None:
        """Make the selector registration of `fd` match what its watch asks for."""
        watch = self._watches.get(fd)
        wanted = watch.selector_events() if watch is not None else 0
        try:
            current = self._selector.get_key(fd).events
        except KeyError:
            current = 0
        if wanted == current:
            if not wanted:
                self._watches.pop(fd, None)
            return
        if not wanted:
            self._selector.unregister(fd)
            self._watches.pop(fd, None)
        elif not current:
            self._selector.register(fd, wanted)
        else:
            self._selector.modify(fd, wanted)

    def _dispatch_fd(self, fd: int, mask: int) -> None:
        watch = self._watches.get(fd)
        if watch is None:
            return
        if watch.handler is not None:
            events = 0
            if mask & selectors.EVENT_READ and watch.handler_events & (READ | ERROR):
                events |= READ
            if mask & selectors.EVENT_WRITE and watch.handler_events & WRITE:
                events |= WRITE
            if events:
                watch.handler(fd, events)
        if mask & selectors.EVENT_WRITE and watch.writer is not None:
            watch.writer()
        # The writer may have removed the watch or the reader (e.g. after closing the socket).
        if mask & selectors.EVENT_READ and watch.reader is not None and fd in self._watches:
            watch.reader()

    # -- running ----------------------------------------------------------------------------

    def poll(self) -> None:
        """Wait for fd readiness (at most until the next timer) and dispatch it once."""
        if self._stopping or self._threadsafe:
            timeout: Optional[float] = 0.0
        else:
            timeout = self._timers.next_timeout(self.time())
        self._wait_for_events(timeout)

    def _wait_for_events(self, timeout: Optional[float]) -> None:
        """Protected hook: wait up to `timeout` seconds (None: no timer pending, wait for I/O)
        for readiness of the watched descriptors and run their callbacks once.

        `poll()` has already computed `timeout` from the timers, `stop()` and the thread-safe
        queue; timers and thread-safe callbacks run after this returns. A subclass replaces
        only the waiting mechanism here (`AsyncoreIOLoop` runs one `asyncore.loop` pass).
        """
        for key, mask in self._selector.select(timeout):
            self._dispatch_fd(key.fd, mask)

    def _run_once(self) -> None:
        self.poll()
        if self._timers:  # no clock read on turns without any timer
            self.process_timeouts()
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
        self._selector.close()
        self._watches.clear()
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

    def _on_fully_closed(self) -> None:
        """Stop the loop once a connection the user asked to close has finished closing."""
        super()._on_fully_closed()
        if self._close_requested:
            self.ioloop.stop()
