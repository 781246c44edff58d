"""Calls in flight when a recovering connection is lost get a clear outcome (issue 15).

A :class:`TcpProxy` sits between the client and the shared broker: it is paused, the calls
go out (and wait in the proxy, so the broker never sees them), then every proxied connection
is dropped. The broker is neither stopped nor reconfigured: only our connection is cut.

* Callback adapters (SelectConnection): the calls are sent again after the replay; their
  callbacks get the new replies and a consumer whose ConsumeOk had not come is started, so
  ``consumer_tags`` and what receives agree.
* BlockingConnection: the waiting call raises ``ConnectionRecovering`` at the loss, and the
  consumer it was starting is neither listed nor restored.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions
from tests.helpers.loop_drivers import driver_factories

if TYPE_CHECKING:
    from tests.helpers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.broker


def _policy(recovered: list[Any]) -> pika.Recovery:
    return pika.Recovery(
        initial_delay=0.1,
        max_delay=0.5,
        jitter=0.0,
        max_duration=30,
        on_recovered=lambda conn, params: recovered.append(conn),
    )


def _blocking_connection(proxy: TcpProxy, recovered: list[Any]) -> pika.BlockingConnection:
    """A BlockingConnection through ``proxy`` that recovers, appending to ``recovered``."""
    params = pika.ConnectionParameters(
        proxy.host, proxy.port, heartbeat=0, recovery=_policy(recovered)
    )
    return pika.BlockingConnection(params)


def _wait_recovered(connection: pika.BlockingConnection, recovered: list[Any]) -> None:
    """Run ``connection`` until its recovery reported (30 s at most)."""
    end = time.monotonic() + 30
    while not recovered and time.monotonic() < end:
        connection.process_data_events(0.05)
    assert recovered == [connection]


def _publish(broker_params: Any, queue: str, body: bytes) -> None:
    with pika.BlockingConnection(broker_params) as publisher:
        publisher.channel().basic_publish('', queue, body)


def test_select_consume_and_declare_in_flight_are_sent_again(
    proxy: TcpProxy, broker_params: Any, unique_name: str
) -> None:
    driver = driver_factories()['select-select']()
    recovered: list[Any] = []
    try:
        params = pika.ConnectionParameters(
            proxy.host, proxy.port, heartbeat=0, recovery=_policy(recovered)
        )
        opened: list[Any] = []
        closed: list[Any] = []
        conn = driver.make_connection(
            params, opened.append, lambda _c, e: closed.append(e), lambda _c, e: closed.append(e)
        )
        driver.run_until(lambda: bool(opened), timeout=15)
        box: list[Any] = []
        conn.channel(on_open_callback=box.append)
        driver.run_until(lambda: bool(box), timeout=15)
        channel = box[0]
        queue = unique_name
        declared: list[Any] = []
        channel.queue_declare(queue, auto_delete=True, callback=declared.append)
        driver.run_until(lambda: bool(declared), timeout=15)

        proxy.pause()
        consume_ok: list[Any] = []
        bodies: list[bytes] = []

        def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            bodies.append(body)
            ch.basic_ack(method.delivery_tag)

        tag = channel.basic_consume(queue, on_message, callback=consume_ok.append)
        second = f'{queue}.second'
        channel.queue_declare(second, auto_delete=True, callback=declared.append)
        pause_end = time.monotonic() + 0.2
        driver.run_until(lambda: time.monotonic() > pause_end)  # written into the proxy
        proxy.close_all()
        proxy.resume()
        lost_at = time.monotonic()
        driver.run_until(lambda: bool(recovered) or bool(closed), timeout=30)
        assert recovered == [conn] and not closed
        driver.run_until(lambda: bool(consume_ok) and len(declared) == 2, timeout=15)
        waited = time.monotonic() - lost_at
        assert [f.method.consumer_tag for f in consume_ok] == [tag]
        assert declared[1].method.queue == second
        assert channel.consumer_tags == [tag]
        _publish(broker_params, queue, b'after the loss')
        driver.run_until(lambda: bool(bodies), timeout=15)
        assert bodies == [b'after the loss']
        print(f'\nIN-FLIGHT select: consume and declare answered {waited:.3f}s after the loss')
        conn.close()
        driver.run_until(lambda: bool(closed), timeout=15)
    finally:
        proxy.resume()
        driver.stop()


def test_blocking_consume_in_flight_raises_and_is_not_restored(
    proxy: TcpProxy, broker_params: Any, unique_name: str
) -> None:
    recovered: list[Any] = []
    connection = _blocking_connection(proxy, recovered)
    try:
        channel = connection.channel()
        queue = unique_name
        channel.queue_declare(queue)
        got: list[bytes] = []
        cutter = proxy.drop_held_calls()
        started = time.monotonic()
        with pytest.raises(exceptions.ConnectionRecovering):
            channel.basic_consume(queue, lambda *args: got.append(args[3]), timeout=20)
        took = time.monotonic() - started
        cutter.join(5)
        assert channel.consumer_tags == []
        _wait_recovered(connection, recovered)
        _publish(broker_params, queue, b'not for the dead consumer')
        connection.process_data_events(0.5)
        assert got == [] and channel.consumer_tags == []
        left = channel.queue_declare(queue, passive=True).method.message_count
        assert left == 1  # nobody consumes it: the consumer was not restored behind our back
        print(f'\nIN-FLIGHT blocking: basic_consume raised ConnectionRecovering after {took:.3f}s')
        channel.queue_delete(queue)
    finally:
        proxy.resume()
        connection.close()


def test_blocking_commit_in_flight_closes_the_channel_with_the_reason(
    proxy: TcpProxy, unique_name: str
) -> None:
    """A Tx.Commit whose CommitOk was lost: nobody knows whether the broker committed, so it
    is not sent again; the call raises ChannelClosed saying so, the connection recovers."""
    recovered: list[Any] = []
    connection = _blocking_connection(proxy, recovered)
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name, auto_delete=True)
        channel.tx_select()
        channel.basic_publish('', unique_name, b'maybe committed')
        proxy.drop_held_calls()
        with pytest.raises(exceptions.ChannelClosed, match='outcome is unknown'):
            channel.tx_commit()
        assert channel.is_closed
        _wait_recovered(connection, recovered)
        assert connection.is_open
    finally:
        proxy.resume()
        connection.close()


def test_blocking_commit_after_a_loss_that_rolled_back_raises_once(
    proxy: TcpProxy, broker_params: Any, unique_name: str
) -> None:
    """The broker rolled back the transaction's publish with the lost connection: tx_commit
    raises TransactionInterrupted (it would commit nothing and say yes); after a rollback
    the transaction done again commits."""
    recovered: list[Any] = []
    connection = _blocking_connection(proxy, recovered)
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name)
        channel.tx_select()
        channel.basic_publish('', unique_name, b'rolled back by the broker')
        proxy.close_all()
        _wait_recovered(connection, recovered)
        with pytest.raises(exceptions.TransactionInterrupted):
            channel.tx_commit()
        channel.tx_rollback()
        channel.basic_publish('', unique_name, b'done again')
        channel.tx_commit()
        with pika.BlockingConnection(broker_params) as reader:
            check = reader.channel()
            _method, _props, body = check.basic_get(unique_name, auto_ack=True)
            assert body == b'done again'
            assert check.queue_delete(unique_name).method.message_count == 0
    finally:
        connection.close()
