"""`GeventConnection`: the callback API on the gevent hub's event loop.

Readiness comes from the hub loop's io watchers, timers from its timer watchers, and
`add_callback_threadsafe` from the loop's own `run_callback_threadsafe` (one wake-up watcher per
loop, owned by gevent, so a connection leaves no watcher behind). Callbacks run in the hub
greenlet, so they must not block: hand work that waits to a greenlet (`gevent.spawn`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

import gevent
import gevent.event
import gevent.hub

from pika.adapters.base_connection import BaseConnection

if TYPE_CHECKING:
    from pika._parameters import Parameters

__all__ = ['GeventConnection', 'GeventServices']

LOGGER = logging.getLogger(__name__)

_READ = 1  # libev/libuv event bits used by gevent io watchers
_WRITE = 2


class GeventServices:
    """`IOServices` over a gevent loop (`hub.loop`), plus `start()`/`stop()` for a greenlet to
    wait on.

    :param loop: the gevent loop (default: the current thread's hub loop)
    """

    def __init__(self, loop: Any = None) -> None:
        self.loop = loop if loop is not None else gevent.get_hub().loop
        self._watchers: dict[tuple[int, int], Any] = {}
        self._stopped = gevent.event.Event()

    def time(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        """Schedule `callback()` after `delay` seconds."""
        timer = self.loop.timer(max(0.0, delay))
        timer.start(self._fire, timer, callback)
        return timer

    @staticmethod
    def _fire(timer: Any, callback: Callable[[], None]) -> None:
        timer.close()
        callback()

    def remove_timeout(self, handle: object) -> None:
        """Cancel a timer from `call_later` (idempotent)."""
        handle.close()  # type: ignore[attr-defined]

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback()` in the hub soon; safe from any thread (wakes the loop)."""
        self.loop.run_callback_threadsafe(callback)

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Watch `fd` for readability."""
        self._watch(fd, _READ, on_readable)

    def remove_reader(self, fd: int) -> None:
        """Stop watching `fd` for readability."""
        self._unwatch(fd, _READ)

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Watch `fd` for writability."""
        self._watch(fd, _WRITE, on_writable)

    def remove_writer(self, fd: int) -> None:
        """Stop watching `fd` for writability."""
        self._unwatch(fd, _WRITE)

    def _watch(self, fd: int, events: int, callback: Callable[[], None]) -> None:
        self._unwatch(fd, events)
        watcher = self.loop.io(fd, events)
        watcher.start(callback)
        self._watchers[(fd, events)] = watcher

    def _unwatch(self, fd: int, events: int) -> None:
        watcher = self._watchers.pop((fd, events), None)
        if watcher is not None:
            watcher.close()

    def start(self) -> None:
        """Block the calling greenlet until `stop()` (the hub keeps serving meanwhile)."""
        self._stopped.clear()
        self._stopped.wait()

    def stop(self) -> None:
        """Make `start()` return; call it from the hub (a callback) or any greenlet."""
        self._stopped.set()


class GeventConnection(BaseConnection):
    """The callback-style connection driven by the gevent hub.

    Create it in the thread (and hub) that will serve it; run the hub by blocking a greenlet
    (e.g. `connection.ioloop.start()`, `gevent.sleep`, joining greenlets).

    :param parameters: connection parameters, or a list of them to try in turn
    :param on_open_callback: `callback(connection)` once open
    :param on_open_error_callback: `callback(connection, exception)` if it could not open
    :param on_close_callback: `callback(connection, exception)` once closed
    :param custom_ioloop: a gevent `Hub` or its `loop` (default: the current thread's hub)
    :param internal_connection_workflow: False to adopt a socket yourself (`_adopt_socket`)
    """

    def __init__(
        self,
        parameters: Optional[Parameters] = None,
        on_open_callback: Optional[Callable[..., Any]] = None,
        on_open_error_callback: Optional[Callable[..., Any]] = None,
        on_close_callback: Optional[Callable[..., Any]] = None,
        custom_ioloop: Any = None,
        internal_connection_workflow: bool = True,
    ) -> None:
        if isinstance(custom_ioloop, gevent.hub.Hub):
            custom_ioloop = custom_ioloop.loop
        elif custom_ioloop is not None and not hasattr(custom_ioloop, 'io'):
            raise TypeError(f'custom_ioloop must be a gevent Hub or loop, not {custom_ioloop!r}')
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            GeventServices(custom_ioloop),
            internal_connection_workflow,
        )
