"""`TornadoConnection`: the callback API on a Tornado 6 `IOLoop`.

Tornado allows one handler per file descriptor, with an event mask, so the `IOServices` reader
and writer of a descriptor share one handler whose mask follows which of them is set.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from tornado import ioloop as tornado_ioloop

from pika.adapters.base_connection import BaseConnection

if TYPE_CHECKING:
    from pika._parameters import Parameters

__all__ = ['TornadoConnection', 'TornadoServices']

LOGGER = logging.getLogger(__name__)


class TornadoServices:
    """`IOServices` over a Tornado `IOLoop`.

    :param loop: the Tornado IOLoop (also reachable as `.loop`)
    """

    def __init__(self, loop: tornado_ioloop.IOLoop) -> None:
        self.loop = loop
        self._handlers: dict[int, list[Optional[Callable[[], None]]]] = {}  # fd -> [reader, writer]

    def time(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        """Schedule `callback()` after `delay` seconds."""
        return self.loop.call_later(delay, callback)

    def remove_timeout(self, handle: object) -> None:
        """Cancel a handle from `call_later` (idempotent)."""
        self.loop.remove_timeout(handle)

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback()` on the loop thread (Tornado's `add_callback` is thread-safe)."""
        self.loop.add_callback(callback)

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Watch `fd` for readability."""
        self._set(fd, 0, on_readable)

    def remove_reader(self, fd: int) -> None:
        """Stop watching `fd` for readability."""
        self._set(fd, 0, None)

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Watch `fd` for writability."""
        self._set(fd, 1, on_writable)

    def remove_writer(self, fd: int) -> None:
        """Stop watching `fd` for writability."""
        self._set(fd, 1, None)

    def _set(self, fd: int, slot: int, callback: Optional[Callable[[], None]]) -> None:
        """Update one slot of `fd` and make Tornado's registration match both slots."""
        current = self._handlers.get(fd)
        if current is None:
            if callback is None:
                return
            current = self._handlers[fd] = [None, None]
            current[slot] = callback
            self.loop.add_handler(fd, self._on_events, self._mask(current))
            return
        current[slot] = callback
        if current == [None, None]:
            del self._handlers[fd]
            self.loop.remove_handler(fd)
        else:
            self.loop.update_handler(fd, self._mask(current))

    @staticmethod
    def _mask(slots: list[Optional[Callable[[], None]]]) -> int:
        mask = 0
        if slots[0] is not None:
            mask |= tornado_ioloop.IOLoop.READ
        if slots[1] is not None:
            mask |= tornado_ioloop.IOLoop.WRITE
        return mask

    def _on_events(self, fd: Any, events: int) -> None:
        """Tornado's handler: writer first (it may close the socket), then reader."""
        fd = fd if isinstance(fd, int) else fd.fileno()
        slots = self._handlers.get(fd)
        if slots is not None and events & tornado_ioloop.IOLoop.WRITE and slots[1] is not None:
            slots[1]()
        slots = self._handlers.get(fd)
        if slots is not None and events & tornado_ioloop.IOLoop.READ and slots[0] is not None:
            slots[0]()


class TornadoConnection(BaseConnection):
    """The callback-style connection driven by a Tornado `IOLoop`.

    `connection.ioloop` is that Tornado IOLoop. The seed's keyword `on_connected_callback` is
    accepted as an alias of `on_open_callback`.

    :param parameters: connection parameters, or a list of them to try in turn
    :param on_open_callback: `callback(connection)` once open
    :param on_open_error_callback: `callback(connection, exception)` if it could not open
    :param on_close_callback: `callback(connection, exception)` once closed
    :param custom_ioloop: the Tornado IOLoop to use (default: `IOLoop.current()`)
    :param internal_connection_workflow: False to attach a socket yourself (`attach_socket`)
    :raises TypeError: if both `on_open_callback` and `on_connected_callback` are given
    """

    ioloop: tornado_ioloop.IOLoop  # narrows Connection.ioloop for type checkers

    def __init__(
        self,
        parameters: Optional[Parameters] = None,
        on_open_callback: Optional[Callable[..., Any]] = None,
        on_open_error_callback: Optional[Callable[..., Any]] = None,
        on_close_callback: Optional[Callable[..., Any]] = None,
        custom_ioloop: Optional[tornado_ioloop.IOLoop] = None,
        internal_connection_workflow: bool = True,
        *,
        on_connected_callback: Optional[Callable[..., Any]] = None,
    ) -> None:
        if on_connected_callback is not None:
            if on_open_callback is not None:
                raise TypeError('give on_open_callback or on_connected_callback, not both')
            on_open_callback = on_connected_callback
        if custom_ioloop is not None and not isinstance(custom_ioloop, tornado_ioloop.IOLoop):
            raise TypeError(f'custom_ioloop must be a Tornado IOLoop, not {custom_ioloop!r}')
        loop = custom_ioloop if custom_ioloop is not None else tornado_ioloop.IOLoop.current()
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            TornadoServices(loop),
            internal_connection_workflow,
        )
        self.ioloop = loop

    @classmethod
    def _workflow_services(
        cls, custom_ioloop: Optional[Any]
    ) -> tuple[tornado_ioloop.IOLoop, TornadoServices]:
        """`create_connection`'s loop: ``custom_ioloop`` or `IOLoop.current()`."""
        if custom_ioloop is not None and not isinstance(custom_ioloop, tornado_ioloop.IOLoop):
            raise TypeError(f'custom_ioloop must be a Tornado IOLoop, not {custom_ioloop!r}')
        loop = custom_ioloop if custom_ioloop is not None else tornado_ioloop.IOLoop.current()
        return loop, TornadoServices(loop)
