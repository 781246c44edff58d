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

from pika._api.args import require_callable
from pika.adapters.base_connection import BaseConnection

if TYPE_CHECKING:
    from pika._parameters import Parameters

__all__ = ['GeventConnection', 'GeventServices']

LOGGER = logging.getLogger(__name__)

_READ = 1  # libev/libuv event bits used by gevent io watchers
_WRITE = 2


class GeventServices:
    """The gevent adapter's `connection.ioloop`: `IOServices` over a gevent loop (`hub.loop`),
    pika 1.x's gevent ioloop API (`add_handler`, `add_callback`, `call_later`, ...), and
    `start()`/`stop()` for a greenlet to wait on.

    Pass it as `custom_ioloop` to share it between connections.

    :param loop: the gevent loop (default: the current thread's hub loop)
    """

    READ = _READ
    WRITE = _WRITE
    ERROR = 0  # gevent reports errors as readiness; kept for pika 1.x's `events` masks

    def __init__(self, loop: Any = None) -> None:
        self.loop = loop if loop is not None else gevent.get_hub().loop
        self._watchers: dict[tuple[int, int], Any] = {}
        self._handlers: dict[int, tuple[Any, Callable[[int, int], None]]] = {}
        self._timers: set[Any] = set()
        self._stopped = gevent.event.Event()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError('the gevent ioloop has been closed')

    def time(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    # -- timers and callbacks ----------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        """Schedule `callback()` after `delay` seconds (a negative delay means now); return a
        handle for `remove_timeout`.

        :raises TypeError: if `callback` is not callable.
        """
        require_callable('callback', callback)
        self._check_open()
        # libev measures a timer from the loop's cached time, which is only refreshed when the
        # loop runs: after a hub has sat idle for minutes, an unrefreshed timer fires at once.
        self.loop.update_now()
        timer = self.loop.timer(max(0.0, delay))
        self._timers.add(timer)
        timer.start(self._fire, timer, callback)
        return timer

    def _fire(self, timer: Any, callback: Callable[[], None]) -> None:
        self._timers.discard(timer)
        timer.close()
        callback()

    def remove_timeout(self, timeout_handle: object) -> None:
        """Cancel a timer from `call_later` (idempotent)."""
        self._timers.discard(timeout_handle)
        timeout_handle.close()  # type: ignore[attr-defined]

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback()` in the hub soon; safe from any thread (wakes the loop).

        :raises TypeError: if `callback` is not callable.
        """
        require_callable('callback', callback)
        self._check_open()
        self.loop.run_callback_threadsafe(callback)

    def add_callback(self, callback: Callable[[], None]) -> None:
        """pika 1.x's name for `add_callback_threadsafe`."""
        self.add_callback_threadsafe(callback)

    # -- file descriptors: IOServices style --------------------------------------------------

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
        self._check_open()
        self._unwatch(fd, events)
        watcher = self.loop.io(fd, events)
        watcher.start(callback)
        self._watchers[(fd, events)] = watcher

    def _unwatch(self, fd: int, events: int) -> None:
        watcher = self._watchers.pop((fd, events), None)
        if watcher is not None:
            watcher.close()

    # -- file descriptors: pika 1.x style ----------------------------------------------------

    def add_handler(self, fd: int, handler: Callable[[int, int], None], events: int) -> None:
        """Call `handler(fd, ready)` whenever `fd` is ready for any of `events`
        (`READ | WRITE`); `ready` holds the bits that are ready. Replaces a previous handler.

        :raises TypeError: if `handler` is not callable.
        """
        require_callable('handler', handler)
        self._check_open()
        self.remove_handler(fd)
        watcher = self.loop.io(fd, events & (_READ | _WRITE))
        watcher.start(self._on_handler_events, fd, handler, pass_events=True)
        self._handlers[fd] = (watcher, handler)

    @staticmethod
    def _on_handler_events(ready: int, fd: int, handler: Callable[[int, int], None]) -> None:
        handler(fd, ready & (_READ | _WRITE))

    def update_handler(self, fd: int, events: int) -> None:
        """Change the events the handler of `fd` waits for.

        :raises ValueError: if `fd` has no handler.
        """
        entry = self._handlers.get(fd)
        if entry is None:
            raise ValueError(f'fd {fd} has no handler')
        self.add_handler(fd, entry[1], events)

    def remove_handler(self, fd: int) -> None:
        """Forget the handler of `fd`; a no-op when there is none."""
        entry = self._handlers.pop(fd, None)
        if entry is not None:
            entry[0].close()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Block the calling greenlet until `stop()` (the hub keeps serving meanwhile).

        A `stop()` made while no greenlet was in `start()` makes the next `start()` return at
        once, as on the other adapters' loops.

        :raises RuntimeError: if the ioloop has been closed.
        """
        self._check_open()
        self._stopped.wait()
        self._stopped.clear()

    def stop(self) -> None:
        """Make `start()` return; call it from the hub (a callback) or any greenlet."""
        self._stopped.set()

    def close(self) -> None:
        """Close every watcher and timer this ioloop made; it cannot be used afterwards.

        The gevent hub and its loop are left running: they belong to the thread (pika 1.4.4
        destroys the loop here, see docs/api-generations.md).
        """
        if self._closed:
            return
        self._closed = True
        watchers = [*self._watchers.values(), *(w for w, _ in self._handlers.values())]
        self._watchers.clear()
        self._handlers.clear()
        timers, self._timers = self._timers, set()
        for watcher in [*watchers, *timers]:
            watcher.close()


class GeventConnection(BaseConnection):
    """The callback-style connection driven by the gevent hub.

    Create it in the thread (and hub) that will serve it; run the hub by blocking a greenlet
    (e.g. `connection.ioloop.start()`, `gevent.sleep`, joining greenlets).

    :param parameters: connection parameters, or a list of them to try in turn
    :param on_open_callback: `callback(connection)` once open
    :param on_open_error_callback: `callback(connection, exception)` if it could not open
    :param on_close_callback: `callback(connection, exception)` once closed
    :param custom_ioloop: another connection's `ioloop` (a `GeventServices`, shared), a gevent
        `Hub` or its `loop` (default: the current thread's hub)
    :param internal_connection_workflow: False to attach a socket yourself (`attach_socket`)
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
        super().__init__(
            parameters,
            on_open_callback,
            on_open_error_callback,
            on_close_callback,
            _services_for(custom_ioloop),
            internal_connection_workflow,
        )

    @classmethod
    def _workflow_services(cls, custom_ioloop: Optional[Any]) -> tuple[Any, GeventServices]:
        """`create_connection`'s loop: one `GeventServices` (over ``custom_ioloop`` or this
        thread's hub) shared by the workflow and every connection it makes."""
        services = _services_for(custom_ioloop)
        return services, services


def _services_for(custom_ioloop: Any) -> GeventServices:
    """The `GeventServices` a connection runs on: `custom_ioloop` itself when it is one
    (another connection's `ioloop`), else one over the given hub or loop (default: the current
    thread's hub).

    :raises TypeError: for anything else.
    """
    if isinstance(custom_ioloop, GeventServices):
        return custom_ioloop
    if isinstance(custom_ioloop, gevent.hub.Hub):
        return GeventServices(custom_ioloop.loop)
    if custom_ioloop is not None and not hasattr(custom_ioloop, 'io'):
        raise TypeError(
            f'custom_ioloop must be a gevent Hub, loop or GeventServices, not {custom_ioloop!r}'
        )
    return GeventServices(custom_ioloop)
