"""`AsyncoreConnection`: the callback API as asyncore dispatchers, for legacy applications.

Each watched descriptor is an `asyncore.dispatcher` in the loop's socket map (by default the
global `asyncore.socket_map`), so the connection shares one loop with the application's other
dispatchers. `AsyncoreIOLoop.start()` runs `asyncore.loop` one pass at a time, bounded by the next
timer, and services timers and thread-safe callbacks between passes. The stdlib module is used
on Python <= 3.11 (its DeprecationWarning silenced) and the `pyasyncore` backport on 3.12+.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika.adapters.select_connection import IOLoop, SelectConnection

with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    try:
        import asyncore
    except ImportError as _exc:  # Python >= 3.12 without the backport
        raise ImportError(
            'AsyncoreConnection needs the asyncore module: on Python 3.12+ install the '
            '"pyasyncore" backport (pip install "pika[asyncore]")'
        ) from _exc

if TYPE_CHECKING:
    from pika._parameters import Parameters

__all__ = ['AsyncoreConnection', 'AsyncoreIOLoop']

LOGGER = logging.getLogger(__name__)

_MAX_WAIT = 5.0  # upper bound of one asyncore pass with no timer due


class _FdDispatcher(asyncore.dispatcher):
    """A dispatcher for a descriptor the connection owns: it only reports readiness."""

    def __init__(self, fd: int, socket_map: dict[int, Any]) -> None:
        super().__init__(map=socket_map)
        self._fileno = fd
        self.reader: Optional[Callable[[], None]] = None
        self.writer: Optional[Callable[[], None]] = None
        self.add_channel(socket_map)

    def readable(self) -> bool:
        return self.reader is not None

    def writable(self) -> bool:
        return self.writer is not None

    def handle_read_event(self) -> None:
        if self.reader is not None:
            self.reader()

    def handle_write_event(self) -> None:
        if self.writer is not None:
            self.writer()

    def handle_expt_event(self) -> None:
        self.handle_read_event()  # the reader's recv reports the error

    def handle_close(self) -> None:
        self.handle_read_event()  # hang-up: the reader's recv sees EOF; never close the fd here

    def handle_error(self) -> None:
        # asyncore calls this inside its `except:`; re-raise so errors of callbacks propagate
        # out of `start()` (as with SelectConnection) instead of being printed and swallowed.
        raise


class AsyncoreIOLoop(IOLoop):
    """`IOServices` plus the seed's `start()`/`stop()`, over asyncore dispatchers.

    Timers, `add_timeout`, `stop()` and thread-safe callbacks (whose wake-up socket is one more
    dispatcher) come from `IOLoop`; only its waiting hook, `_wait_for_events`, is replaced by
    `asyncore.loop` passes over `socket_map`. The 1.x `add_handler` API of `IOLoop` is not
    supported here: add your own dispatchers to `socket_map` instead.

    :param socket_map: the asyncore map to share (default: `asyncore.socket_map`)
    """

    def __init__(self, socket_map: Optional[dict[int, Any]] = None) -> None:
        self.socket_map: dict[int, Any] = asyncore.socket_map if socket_map is None else socket_map
        self._dispatchers: dict[int, _FdDispatcher] = {}
        super().__init__()

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call `on_readable()` whenever `fd` is readable."""
        self._dispatcher(fd).reader = on_readable

    def remove_reader(self, fd: int) -> None:
        """Stop watching `fd` for readability."""
        self._release(fd, 'reader')

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Call `on_writable()` whenever `fd` is writable."""
        self._dispatcher(fd).writer = on_writable

    def remove_writer(self, fd: int) -> None:
        """Stop watching `fd` for writability."""
        self._release(fd, 'writer')

    def _dispatcher(self, fd: int) -> _FdDispatcher:
        dispatcher = self._dispatchers.get(fd)
        if dispatcher is None:
            dispatcher = self._dispatchers[fd] = _FdDispatcher(fd, self.socket_map)
        return dispatcher

    def _release(self, fd: int, slot: str) -> None:
        dispatcher = self._dispatchers.get(fd)
        if dispatcher is None:
            return
        setattr(dispatcher, slot, None)
        if dispatcher.reader is None and dispatcher.writer is None:
            del self._dispatchers[fd]
            dispatcher.del_channel(self.socket_map)

    def add_handler(self, fd: int, handler: Callable[[int, int], None], events: int) -> None:
        """Not available: register an `asyncore.dispatcher` on `socket_map` instead."""
        raise NotImplementedError('AsyncoreIOLoop serves asyncore dispatchers, not handlers')

    def _wait_for_events(self, timeout: Optional[float]) -> None:
        """`IOLoop`'s waiting hook: one asyncore pass over the map, bounded by `timeout`."""
        wait = _MAX_WAIT if timeout is None else min(timeout, _MAX_WAIT)
        asyncore.loop(timeout=wait, use_poll=True, map=self.socket_map, count=1)

    def close(self) -> None:
        """Forget this loop's dispatchers and release its wake-up sockets."""
        for fd in list(self._dispatchers):
            self._release(fd, 'reader')
            self._release(fd, 'writer')
        super().close()


class AsyncoreConnection(SelectConnection):
    """`SelectConnection` on an `AsyncoreIOLoop` (same signature): the callback-style
    connection as asyncore dispatchers. Run it with `connection.ioloop.start()`, which returns
    once a connection closed with `close()` has finished closing.

    :param custom_ioloop: an `AsyncoreIOLoop` to share (default: a new one on the global map)
    :raises TypeError: if `custom_ioloop` is not an `AsyncoreIOLoop`
    """

    def __init__(
        self,
        parameters: Optional[Parameters] = None,
        on_open_callback: Optional[Callable[..., Any]] = None,
        on_open_error_callback: Optional[Callable[..., Any]] = None,
        on_close_callback: Optional[Callable[..., Any]] = None,
        custom_ioloop: Optional[AsyncoreIOLoop] = None,
        internal_connection_workflow: bool = True,
    ) -> None:
        if custom_ioloop is not None and not isinstance(custom_ioloop, AsyncoreIOLoop):
            raise TypeError(f'custom_ioloop must be an AsyncoreIOLoop, not {custom_ioloop!r}')
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            custom_ioloop if custom_ioloop is not None else AsyncoreIOLoop(),
            internal_connection_workflow,
        )

    @classmethod
    def _workflow_services(cls, custom_ioloop: Optional[Any]) -> tuple[Any, AsyncoreIOLoop]:
        """`create_connection`'s loop: ``custom_ioloop`` or a new `AsyncoreIOLoop`."""
        if custom_ioloop is not None and not isinstance(custom_ioloop, AsyncoreIOLoop):
            raise TypeError(f'custom_ioloop must be an AsyncoreIOLoop, not {custom_ioloop!r}')
        loop = custom_ioloop if custom_ioloop is not None else AsyncoreIOLoop()
        return loop, loop
