"""The `IOServices` contract, checked on every fd-based adapter with a local socket pair.

These need no broker; they pin down what `BaseConnection` relies on: a reader/writer per
descriptor that can be replaced and removed independently (Tornado merges them into one
handler), idempotent removals, timers that can be cancelled, and thread-safe callbacks.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers.loop_drivers import Driver


@pytest.fixture
def driver(fd_driver: Driver) -> Driver:
    """Only the adapters with an `IOServices` (Twisted feeds the Connection itself)."""
    return fd_driver


@pytest.fixture
def services(driver: Driver) -> Any:
    nbio = driver.io_services()
    assert nbio is not None
    return nbio


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    try:
        yield left, right
    finally:
        left.close()
        right.close()


def test_reader_fires_is_replaced_and_removed(
    driver: Driver, services: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    fd = left.fileno()
    seen: list[str] = []
    services.set_reader(fd, lambda: seen.append('first'))
    services.set_reader(fd, lambda: seen.append(left.recv(100).decode()))  # replaces
    right.send(b'data')
    driver.run_until(lambda: bool(seen))
    assert seen == ['data']
    services.remove_reader(fd)
    services.remove_reader(fd)  # idempotent
    right.send(b'more')
    driver.run_for(0.1)
    assert seen == ['data']


def test_reader_and_writer_on_one_fd_are_independent(
    driver: Driver, services: Any, pair: tuple[socket.socket, socket.socket]
) -> None:
    left, right = pair
    fd = left.fileno()
    reads: list[bytes] = []
    writes: list[int] = []

    def on_writable() -> None:
        writes.append(1)
        services.remove_writer(fd)  # as BaseConnection does once its output is flushed

    services.set_reader(fd, lambda: reads.append(left.recv(100)))
    services.set_writer(fd, on_writable)
    driver.run_until(lambda: bool(writes))
    right.send(b'x')
    driver.run_until(lambda: bool(reads))
    assert reads == [b'x']
    assert writes == [1]  # removed after the first call: not called again
    services.remove_reader(fd)
    services.remove_writer(fd)  # idempotent


def test_timers_and_threadsafe_callbacks(driver: Driver, services: Any) -> None:
    fired: list[str] = []
    services.call_later(0.02, lambda: fired.append('timer'))
    cancelled = services.call_later(0.02, lambda: fired.append('cancelled'))
    services.remove_timeout(cancelled)
    threading.Thread(
        target=services.add_callback_threadsafe, args=(lambda: fired.append('thread'),)
    ).start()
    driver.run_until(lambda: len(fired) == 2)
    driver.run_for(0.05)
    assert sorted(fired) == ['thread', 'timer']
    start = services.time()
    assert isinstance(start, float)
    assert services.time() >= start
