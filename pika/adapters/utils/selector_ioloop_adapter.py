"""Run a connection on any select-style event loop: `AbstractSelectorIOLoop` and the adapter
that turns such a loop into I/O services, `SelectorIOServicesAdapter` (pika 1.x's names).

A loop with pika's `IOLoop` methods (timers, `add_callback`, `add_handler`/`update_handler`/
`remove_handler` with READ/WRITE/ERROR bits, `start`/`stop`/`close`) subclasses or registers
with `AbstractSelectorIOLoop`; `pika.adapters.select_connection.IOLoop` is one. Wrapped in a
`SelectorIOServicesAdapter`, it can drive a `BaseConnection` subclass::

    # fragment: `MyLoop` is your event loop
    class MyLoopConnection(BaseConnection):
        def __init__(self, parameters=None, on_open_callback=None,
                     on_open_error_callback=None, on_close_callback=None,
                     custom_ioloop=None, internal_connection_workflow=True):
            nbio = SelectorIOServicesAdapter(custom_ioloop or MyLoop())
            super().__init__(parameters, on_open_callback, on_open_error_callback,
                             on_close_callback, nbio, internal_connection_workflow)

`connection.ioloop` is then the native loop. The adapter implements pika's
`AbstractIOServices` and `AbstractFileDescriptorServices`, and also the narrow `IOServices`
protocol our `BaseConnection` pump uses (`remove_timeout`, `time`). `SelectConnection` itself
drives its `IOLoop` directly, without this extra layer.
"""

from __future__ import annotations

import abc
import logging
import socket
import threading
import time
from typing import Any, Callable, Optional

from pika.adapters.utils import nbio_interface
from pika.adapters.utils.io_services_utils import (
    SocketConnectionMixin,
    StreamingConnectionMixin,
    check_callback_arg,
    check_fd_arg,
)

__all__ = ['AbstractSelectorIOLoop', 'SelectorIOServicesAdapter']

LOGGER = logging.getLogger(__name__)


class AbstractSelectorIOLoop(metaclass=abc.ABCMeta):  # noqa: B024 (ABCMeta for register())
    """The interface of a select-style loop that `SelectorIOServicesAdapter` can wrap.

    Subclass it, or `AbstractSelectorIOLoop.register(YourLoop)` for a loop that already has
    these members. As in pika 1.x nothing is enforced at construction: a method a subclass
    lacks raises `NotImplementedError` when called.
    """

    @property
    def READ(self) -> int:
        """The event bit meaning "readable" in `add_handler`/`update_handler`."""
        raise NotImplementedError

    @property
    def WRITE(self) -> int:
        """The event bit meaning "writable"."""
        raise NotImplementedError

    @property
    def ERROR(self) -> int:
        """The event bit meaning "error condition"."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the loop's resources."""
        raise NotImplementedError

    def start(self) -> None:
        """Run the loop until `stop()` is called."""
        raise NotImplementedError

    def stop(self) -> None:
        """Make `start()` return once the current iteration ends."""
        raise NotImplementedError

    def call_later(self, delay: float, callback: Callable[..., Any]) -> object:
        """Call `callback()` once after `delay` seconds; return a handle for `remove_timeout`."""
        raise NotImplementedError

    def remove_timeout(self, timeout_handle: Any) -> None:
        """Cancel a timer made by `call_later`."""
        raise NotImplementedError

    def add_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback()` on the loop's thread soon; the one method safe from any thread."""
        raise NotImplementedError

    def add_handler(self, fd: int, handler: Callable[[int, int], None], events: int) -> None:
        """Call `handler(fd, events)` when `fd` is ready for any of `events`."""
        raise NotImplementedError

    def update_handler(self, fd: int, events: int) -> None:
        """Change the events watched for the handler of `fd`."""
        raise NotImplementedError

    def remove_handler(self, fd: int) -> None:
        """Stop watching `fd`."""
        raise NotImplementedError


class _TimerReference(nbio_interface.AbstractTimerReference):
    """A timer of the native loop; `cancel()` removes it once."""

    __slots__ = ('_handle', '_loop')

    def __init__(self, handle: object, loop: AbstractSelectorIOLoop) -> None:
        self._handle: Optional[object] = handle
        self._loop = loop

    def cancel(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._loop.remove_timeout(handle)


class _Resolution(nbio_interface.AbstractIOReference):
    """One `getaddrinfo` running on a worker thread, its result posted back to the loop."""

    def __init__(self, loop: AbstractSelectorIOLoop, on_done: Callable[..., None]) -> None:
        self._loop = loop
        self._on_done = on_done
        self._active = True

    def start(self, args: tuple[Any, ...]) -> _Resolution:
        worker = threading.Thread(target=self._resolve, args=args, daemon=True)
        worker.name = f'pika-getaddrinfo-{args[0]}'
        worker.start()
        return self

    def _resolve(self, *args: Any) -> None:
        """Worker thread: resolve, then hand the outcome to the loop's thread."""
        result: Any
        try:
            result = socket.getaddrinfo(*args)
        except Exception as exc:  # delivered to on_done, as pika 1.x does
            result = exc
        self._loop.add_callback(lambda: self._deliver(result))

    def _deliver(self, result: Any) -> None:
        if self._active:
            self._active = False
            self._on_done(result)

    def cancel(self) -> bool:
        was_active, self._active = self._active, False
        return was_active


class SelectorIOServicesAdapter(
    SocketConnectionMixin,
    StreamingConnectionMixin,
    nbio_interface.AbstractIOServices,
    nbio_interface.AbstractFileDescriptorServices,
):
    """I/O services over a select-style loop (`AbstractSelectorIOLoop`).

    :param native_loop: the loop to drive (see the module docstring)
    """

    def __init__(self, native_loop: AbstractSelectorIOLoop) -> None:
        self._loop = native_loop
        # fd -> [reader, writer]: the one handler registered per fd dispatches to them.
        self._callbacks: dict[int, list[Optional[Callable[[], None]]]] = {}

    # -- the loop itself -------------------------------------------------------------------

    def get_native_ioloop(self) -> AbstractSelectorIOLoop:
        """The wrapped loop."""
        return self._loop

    def close(self) -> None:
        """Close the wrapped loop."""
        self._loop.close()

    def run(self) -> None:
        """Run the wrapped loop until `stop()`."""
        self._loop.start()

    def stop(self) -> None:
        """Stop the wrapped loop."""
        self._loop.stop()

    def add_callback_threadsafe(self, callback: Callable[..., None]) -> None:
        """Run `callback()` on the loop's thread soon; safe from any thread.

        :raises TypeError: if `callback` is not callable
        """
        check_callback_arg(callback, 'callback')
        self._loop.add_callback(callback)

    # -- timers ----------------------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[..., None]) -> _TimerReference:
        """Run `callback()` once after `delay` seconds; `.cancel()` the result to cancel it.

        :raises TypeError: if `callback` is not callable
        :raises ValueError: if `delay` is negative
        """
        check_callback_arg(callback, 'callback')
        if delay < 0:
            raise ValueError(f'delay must be >= 0, not {delay!r}')
        return _TimerReference(self._loop.call_later(delay, callback), self._loop)

    def remove_timeout(self, handle: object) -> None:
        """Cancel a timer made by `call_later` (the `IOServices` form of `handle.cancel()`)."""
        if not isinstance(handle, _TimerReference):
            raise TypeError(f'not a timer of this adapter: {handle!r}')
        handle.cancel()

    def time(self) -> float:
        """Monotonic seconds: the clock the connection's deadlines are computed with."""
        return time.monotonic()

    # -- name resolution (worker thread) ---------------------------------------------------

    def getaddrinfo(
        self,
        host: str,
        port: int,
        on_done: Callable[..., None],
        family: int = 0,
        socktype: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> nbio_interface.AbstractIOReference:
        """Resolve on a worker thread; `on_done` gets the `socket.getaddrinfo` list or the
        exception, on the loop's thread.

        :raises TypeError: if `on_done` is not callable
        """
        check_callback_arg(on_done, 'on_done')
        resolution = _Resolution(self._loop, on_done)
        return resolution.start((host, port, family, socktype, proto, flags))

    # -- readiness callbacks ---------------------------------------------------------------

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call `on_readable()` whenever `fd` is readable."""
        check_fd_arg(fd)
        check_callback_arg(on_readable, 'on_readable')
        self._set(fd, 0, on_readable)

    def remove_reader(self, fd: int) -> bool:
        """Stop watching `fd` for readability; True if a reader was set."""
        check_fd_arg(fd)
        return self._remove(fd, 0)

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Call `on_writable()` whenever `fd` is writable."""
        check_fd_arg(fd)
        check_callback_arg(on_writable, 'on_writable')
        self._set(fd, 1, on_writable)

    def remove_writer(self, fd: int) -> bool:
        """Stop watching `fd` for writability; True if a writer was set."""
        check_fd_arg(fd)
        return self._remove(fd, 1)

    def _events(self, slots: list[Optional[Callable[[], None]]]) -> int:
        loop = self._loop
        return (loop.READ if slots[0] is not None else 0) | (
            loop.WRITE if slots[1] is not None else 0
        )

    def _set(self, fd: int, index: int, callback: Callable[[], None]) -> None:
        slots = self._callbacks.get(fd)
        if slots is None:
            slots = self._callbacks[fd] = [None, None]
            slots[index] = callback
            self._loop.add_handler(fd, self._on_fd_events, self._events(slots))
            return
        changed = slots[index] is None
        slots[index] = callback
        if changed:
            self._loop.update_handler(fd, self._events(slots))

    def _remove(self, fd: int, index: int) -> bool:
        slots = self._callbacks.get(fd)
        if slots is None or slots[index] is None:
            return False
        slots[index] = None
        if slots[0] is None and slots[1] is None:
            del self._callbacks[fd]
            self._loop.remove_handler(fd)
        else:
            self._loop.update_handler(fd, self._events(slots))
        return True

    def _on_fd_events(self, fd: int, events: int) -> None:
        """The handler registered with the loop: an error wakes both callbacks (the reader's
        recv or the writer's connect check then reports it)."""
        slots = self._callbacks.get(fd)
        if slots is None:
            return
        loop = self._loop
        error = events & loop.ERROR
        writer = slots[1]
        if writer is not None and (events & loop.WRITE or error):
            writer()
        slots = self._callbacks.get(fd)  # again: the writer may have removed or replaced it
        reader = None if slots is None else slots[0]
        if reader is not None and (events & loop.READ or error):
            reader()
