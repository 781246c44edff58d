"""`AsyncioConnection`: the callback API on an asyncio event loop (uvloop works too).

The loop's own primitives are the whole `IOServices`: `add_reader`/`add_writer` for the socket,
`call_later` for timers and `call_soon_threadsafe` for cross-thread wake-ups. Everything else
(connect, TLS, the pump, heartbeats) is `BaseConnection`'s.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika.adapters.base_connection import BaseConnection

if TYPE_CHECKING:
    from pika._parameters import Parameters

__all__ = ['AsyncioConnection', 'AsyncioServices']

LOGGER = logging.getLogger(__name__)


def _default_loop() -> asyncio.AbstractEventLoop:
    """The running loop, else the thread's current loop (`asyncio.get_event_loop()`), else a new
    one set as current (newer Pythons no longer create one implicitly)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            return loop


def _checked_loop(custom_ioloop: Any) -> asyncio.AbstractEventLoop:
    """``custom_ioloop`` if it is an asyncio loop, else the default loop when it is None.

    :raises TypeError: for anything else
    """
    if custom_ioloop is None:
        return _default_loop()
    if not isinstance(custom_ioloop, asyncio.AbstractEventLoop):
        raise TypeError(f'custom_ioloop must be an asyncio event loop, not {custom_ioloop!r}')
    return custom_ioloop


class AsyncioServices:
    """`IOServices` over an `asyncio.AbstractEventLoop`.

    :param loop: the loop to use; it is also reachable as `.loop`
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def time(self) -> float:
        """The loop's monotonic clock."""
        return self.loop.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        """Schedule `callback()` after `delay` seconds."""
        return self.loop.call_later(delay, callback)

    def remove_timeout(self, handle: object) -> None:
        """Cancel a handle from `call_later` (idempotent; uvloop's handles are not
        `asyncio.Handle` subclasses, so any object with `cancel()` is accepted)."""
        cancel = getattr(handle, 'cancel', None)
        if not callable(cancel):
            raise TypeError(f'not a timer handle: {handle!r}')
        cancel()

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback()` on the loop thread; safe from any thread."""
        self.loop.call_soon_threadsafe(callback)

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Watch `fd` for readability."""
        self.loop.add_reader(fd, on_readable)

    def remove_reader(self, fd: int) -> None:
        """Stop watching `fd` for readability."""
        self.loop.remove_reader(fd)

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Watch `fd` for writability."""
        self.loop.add_writer(fd, on_writable)

    def remove_writer(self, fd: int) -> None:
        """Stop watching `fd` for writability."""
        self.loop.remove_writer(fd)


class AsyncioConnection(BaseConnection):
    """The callback-style connection driven by an asyncio event loop.

    Construct it from within the loop (or before running it); callbacks run on the loop, and
    `connection.ioloop` is that asyncio loop (run it with `run_forever()`).

    :param parameters: connection parameters, or a list of them to try in turn
    :param on_open_callback: `callback(connection)` once open
    :param on_open_error_callback: `callback(connection, exception)` if it could not open
    :param on_close_callback: `callback(connection, exception)` once closed
    :param custom_ioloop: the asyncio loop to use (default: the running/current loop)
    :param internal_connection_workflow: False to attach a socket yourself (`attach_socket`)
    """

    ioloop: asyncio.AbstractEventLoop  # narrows Connection.ioloop for type checkers

    def __init__(
        self,
        parameters: Optional[Parameters] = None,
        on_open_callback: Optional[Callable[..., Any]] = None,
        on_open_error_callback: Optional[Callable[..., Any]] = None,
        on_close_callback: Optional[Callable[..., Any]] = None,
        custom_ioloop: Optional[asyncio.AbstractEventLoop] = None,
        internal_connection_workflow: bool = True,
    ) -> None:
        loop = _checked_loop(custom_ioloop)
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            AsyncioServices(loop),
            internal_connection_workflow,
        )
        self.ioloop = loop  # pika 1.x: `connection.ioloop` is the native loop

    @classmethod
    def _workflow_services(
        cls, custom_ioloop: Optional[Any]
    ) -> tuple[asyncio.AbstractEventLoop, AsyncioServices]:
        """`create_connection`'s loop: ``custom_ioloop`` or the running/current loop."""
        loop = _checked_loop(custom_ioloop)
        return loop, AsyncioServices(loop)
