"""Run a `SelectConnection`'s IOLoop in a test with a time bound, and always end closed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from pika.adapters.select_connection import SelectConnection


def run_until_stopped(
    conn: SelectConnection,
    timeout: float = 20.0,
    on_expiry: Optional[Callable[[], None]] = None,
) -> None:
    """Run until a callback stops the loop (or ``timeout``); then make sure it is closed.

    A connection still open afterwards is closed and given up to 5 s to finish, so a failed
    test never leaves a socket or a loop behind; the loop is closed last.

    :param on_expiry: called when ``timeout`` passes (default: stop the loop); a test that
        must fail on a timeout raises from it
    """
    loop = conn.ioloop
    guard = loop.call_later(timeout, on_expiry or loop.stop)
    try:
        loop.start()
    finally:
        loop.remove_timeout(guard)
        if not conn.is_closed:
            if not conn.is_closing:
                conn.close()
            backstop = loop.call_later(5, loop.stop)
            loop.start()
            loop.remove_timeout(backstop)
        loop.close()
