"""What only the gevent adapter has: `ioloop.start()`/`stop()` that block a greenlet while the
hub serves the connection, and other greenlets running while pika works."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import gevent
import pytest

import pika
from pika.adapters.gevent_connection import GeventConnection, GeventServices

if TYPE_CHECKING:
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker


def test_start_blocks_until_stop_while_other_greenlets_run(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    ticks: list[int] = []
    closed: list[BaseException] = []

    def ticker() -> None:
        for i in range(5):
            ticks.append(i)
            gevent.sleep(0.01)

    def on_open(connection: Any) -> None:
        connection.channel(on_open_callback=lambda _ch: connection.close())

    def on_close(connection: Any, error: BaseException) -> None:
        closed.append(error)
        connection.ioloop.stop()

    connection = GeventConnection(params, on_open_callback=on_open, on_close_callback=on_close)
    assert isinstance(connection.ioloop, GeventServices)
    greenlet = gevent.spawn(ticker)
    watchdog = gevent.spawn_later(15, connection.ioloop.stop)
    connection.ioloop.start()
    watchdog.kill()
    greenlet.join(timeout=5)
    assert isinstance(closed[0], pika.exceptions.ConnectionClosedByClient)
    assert ticks == [0, 1, 2, 3, 4]


def test_custom_ioloop_accepts_a_hub_and_rejects_other_objects() -> None:
    connection = GeventConnection(
        custom_ioloop=gevent.get_hub(), internal_connection_workflow=False
    )
    assert connection.ioloop.loop is gevent.get_hub().loop
    with pytest.raises(TypeError):
        GeventConnection(custom_ioloop=object())


def _live_loop_watchers() -> int:
    """How many watcher objects of the hub loop's implementation are alive (after a full gc).

    A started watcher is kept alive by the loop, so a watcher a connection forgot to close stays
    in this count for good; closed ones are collected once unreferenced.
    """
    gc.collect()
    module = type(gevent.get_hub().loop).__module__
    return sum(1 for obj in gc.get_objects() if type(obj).__module__ == module)


def test_fifty_connections_leave_no_loop_watchers_behind(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    outcomes: list[BaseException] = []

    def finished(connection: Any, error: BaseException) -> None:
        outcomes.append(error)
        connection.ioloop.stop()

    def open_and_close() -> GeventServices:
        connection = GeventConnection(
            params,
            on_open_callback=lambda c: c.add_callback_threadsafe(c.close),
            on_open_error_callback=finished,
            on_close_callback=finished,
        )
        watchdog = gevent.spawn_later(10, connection.ioloop.stop)
        connection.ioloop.start()
        watchdog.kill()
        return connection.ioloop  # type: ignore[no-any-return]

    open_and_close()  # first use creates the hub's own watchers
    before = _live_loop_watchers()
    services = [open_and_close() for _ in range(50)]
    assert len(outcomes) == 51
    assert all(isinstance(e, pika.exceptions.ConnectionClosedByClient) for e in outcomes)
    assert _live_loop_watchers() <= before
    assert all(not s._watchers for s in services)  # no io watcher left in the adapter's map
