"""The gevent adapter's `connection.ioloop` against pika 1.4.4's: the same public methods, usable
as `custom_ioloop`, and `stop()` before `start()` as on the other adapters (the values below
were read from pika 1.4.4's gevent adapter)."""

from __future__ import annotations

import inspect
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import gevent
import pytest

import pika
from pika.adapters.gevent_connection import GeventConnection, GeventServices
from pika.adapters.select_connection import IOLoop

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker

#: pika 1.4.4's gevent ioloop: public method -> parameter names (after self)
PIKA_IOLOOP_METHODS = {
    'add_callback': ['callback'],
    'add_handler': ['fd', 'handler', 'events'],
    'call_later': ['delay', 'callback'],
    'close': [],
    'remove_handler': ['fd'],
    'remove_timeout': ['timeout_handle'],
    'start': [],
    'stop': [],
    'update_handler': ['fd', 'events'],
}


@pytest.fixture
def ioloop() -> Iterator[GeventServices]:
    services = GeventServices()
    try:
        yield services
    finally:
        services.close()


def run_until_stopped(ioloop: GeventServices, limit: float = 5.0) -> float:
    """`ioloop.start()` with a watchdog; return how long it blocked."""
    watchdog = ioloop.call_later(limit, ioloop.stop)
    began = time.monotonic()
    ioloop.start()
    ioloop.remove_timeout(watchdog)
    return time.monotonic() - began


def test_ioloop_has_pika_1x_public_methods() -> None:
    for name, params in PIKA_IOLOOP_METHODS.items():
        method = getattr(GeventServices, name)
        names = list(inspect.signature(method).parameters)[1:]
        assert names == params, name
    assert (GeventServices.READ, GeventServices.WRITE, GeventServices.ERROR) == (1, 2, 0)


def test_custom_ioloop_accepts_the_connection_ioloop(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    opened: list[Any] = []
    closed: list[BaseException] = []

    def on_open(connection: Any) -> None:
        opened.append(connection)
        connection.close()

    def on_close(connection: Any, error: BaseException) -> None:
        closed.append(error)
        if len(closed) == 2:
            connection.ioloop.stop()

    first = GeventConnection(params, on_open_callback=on_open, on_close_callback=on_close)
    second = GeventConnection(
        params, on_open_callback=on_open, on_close_callback=on_close, custom_ioloop=first.ioloop
    )
    assert second.ioloop is first.ioloop  # one ioloop, as pika's
    run_until_stopped(first.ioloop, 15)
    assert opened == [first, second] or opened == [second, first]
    assert all(isinstance(e, pika.exceptions.ConnectionClosedByClient) for e in closed)


def test_stop_before_start_returns_at_once_as_on_select(ioloop: GeventServices) -> None:
    select_loop = IOLoop()
    try:
        select_loop.stop()
        began = time.monotonic()
        select_loop.start()
        assert time.monotonic() - began < 1  # the reference behaviour on every adapter
    finally:
        select_loop.close()
    ioloop.stop()
    assert run_until_stopped(ioloop) < 1
    ioloop.stop()
    ioloop.stop()  # two early stops still end one start() only
    assert run_until_stopped(ioloop) < 1
    ioloop.call_later(0.2, ioloop.stop)
    assert 0.15 < run_until_stopped(ioloop) < 4


def test_stop_from_another_greenlet(ioloop: GeventServices) -> None:
    stopper = gevent.spawn_later(0.1, ioloop.stop)
    assert run_until_stopped(ioloop) < 4
    stopper.join()


def test_timers_and_callbacks(ioloop: GeventServices) -> None:
    fired: list[str] = []
    cancelled = ioloop.call_later(0.05, lambda: fired.append('cancelled'))
    ioloop.remove_timeout(cancelled)
    ioloop.remove_timeout(cancelled)  # idempotent
    ioloop.call_later(-1, lambda: fired.append('negative delay runs at once'))
    ioloop.call_later(0.1, ioloop.stop)
    run_until_stopped(ioloop)
    assert fired == ['negative delay runs at once']
    with pytest.raises(TypeError):
        ioloop.call_later(0, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ioloop.add_callback(None)  # type: ignore[arg-type]

    def from_thread() -> None:
        ioloop.add_callback(lambda: (fired.append('thread'), ioloop.stop()))

    thread = threading.Thread(target=from_thread)
    thread.start()
    run_until_stopped(ioloop)
    thread.join()
    assert fired[-1] == 'thread'


def test_add_update_remove_handler(ioloop: GeventServices) -> None:
    left, right = socket.socketpair()
    try:
        seen: list[tuple[int, int]] = []

        def handler(fd: int, events: int) -> None:
            seen.append((fd, events))
            ioloop.stop()

        ioloop.add_handler(left.fileno(), handler, ioloop.READ)
        right.send(b'x')
        run_until_stopped(ioloop)
        assert seen == [(left.fileno(), ioloop.READ)]
        left.recv(1)
        ioloop.update_handler(left.fileno(), ioloop.WRITE)
        run_until_stopped(ioloop)
        assert seen[-1] == (left.fileno(), ioloop.WRITE)
        right.send(b'y')
        ioloop.update_handler(left.fileno(), ioloop.READ | ioloop.WRITE | ioloop.ERROR)
        run_until_stopped(ioloop)
        assert seen[-1] == (left.fileno(), ioloop.READ | ioloop.WRITE)
        ioloop.remove_handler(left.fileno())
        ioloop.remove_handler(left.fileno())  # a no-op now
        with pytest.raises(ValueError):
            ioloop.update_handler(left.fileno(), ioloop.READ)
        count = len(seen)
        ioloop.call_later(0.1, ioloop.stop)
        run_until_stopped(ioloop)
        assert len(seen) == count  # no handler any more
    finally:
        left.close()
        right.close()


def test_close_releases_the_ioloop_but_not_the_hub() -> None:
    ioloop = GeventServices()
    left, right = socket.socketpair()
    try:
        ioloop.add_handler(left.fileno(), lambda _fd, _ev: None, ioloop.READ)
        ioloop.call_later(30, lambda: None)
        ioloop.close()
        ioloop.close()  # idempotent
        for call in (ioloop.start, lambda: ioloop.call_later(0, lambda: None)):
            with pytest.raises(RuntimeError):
                call()
        gevent.sleep(0.01)  # the thread's hub still serves other greenlets
    finally:
        left.close()
        right.close()
