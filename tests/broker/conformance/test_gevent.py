"""What only the gevent adapter has: `ioloop.start()`/`stop()` that block a greenlet while the
hub serves the connection, and other greenlets running while pika works."""

from __future__ import annotations

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
