"""The narrow set of event-loop services that a file-descriptor based adapter provides.

`BaseConnection` needs nothing else from an event loop: timers, a thread-safe wake-up, and
readiness notifications for one socket. Each loop adapter (select, tornado, asyncio, gevent,
asyncore) implements this protocol in about a hundred lines and inherits the whole pump.
"""

from __future__ import annotations

from typing import Callable, Protocol


class IOServices(Protocol):
    """What `BaseConnection` asks of an event loop. Callbacks run on the loop's thread."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        """Run `callback()` once, `delay` seconds from now; return a handle for `remove_timeout`."""
        ...

    def remove_timeout(self, handle: object) -> None:
        """Cancel a timer made by `call_later`; cancelling a fired or cancelled timer is a no-op."""
        ...

    def add_callback_threadsafe(self, callback: Callable[[], None]) -> None:
        """Run `callback()` on the loop's thread soon; the only method safe from other threads."""
        ...

    def set_reader(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call `on_readable()` whenever `fd` is readable (replaces any previous reader)."""
        ...

    def remove_reader(self, fd: int) -> None:
        """Stop watching `fd` for readability; a no-op when not watched."""
        ...

    def set_writer(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Call `on_writable()` whenever `fd` is writable (replaces any previous writer)."""
        ...

    def remove_writer(self, fd: int) -> None:
        """Stop watching `fd` for writability; a no-op when not watched."""
        ...

    def time(self) -> float:
        """Monotonic seconds, the clock used for every `now` passed to the core."""
        ...
