"""Nothing blocks forever: a silent network or a frozen/killed broker surfaces as an exception.

The silent-network cases put a :class:`TcpProxy` between us and the shared broker and pause it.
The frozen-broker cases SIGSTOP a private RabbitMQ node (never the shared one).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions
from pika.adapters.blocking_connection import BlockingConnection

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker
    from tests.helpers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.broker

HEARTBEAT = 2


def _via(proxy: TcpProxy, **overrides: Any) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(host=proxy.host, port=proxy.port, **overrides)


def test_per_call_timeout_raises_operation_timeout_and_channel_recovers(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy, heartbeat=0))
    try:
        channel = connection.channel()
        proxy.pause()
        start = time.monotonic()
        with pytest.raises(exceptions.OperationTimeout):
            channel.queue_declare('', exclusive=True, timeout=0.5)
        assert 0.5 <= time.monotonic() - start < 5
        assert isinstance(exceptions.OperationTimeout(), TimeoutError)
        proxy.resume()
        # The late reply is matched to the abandoned call; the next call gets its own.
        name = channel.queue_declare('pikatest.after-timeout', exclusive=True).method.queue
        assert name == 'pikatest.after-timeout'
    finally:
        proxy.resume()
        connection.close()


def test_connection_wide_rpc_timeout(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy, heartbeat=0), rpc_timeout=0.5)
    try:
        channel = connection.channel()
        proxy.pause()
        with pytest.raises(exceptions.OperationTimeout):
            channel.basic_get('pikatest.whatever')
    finally:
        proxy.resume()
        connection.close()


def test_silent_network_with_heartbeat_raises_heartbeat_timeout(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy, heartbeat=HEARTBEAT), rpc_timeout=60)
    channel = connection.channel()
    proxy.pause()
    start = time.monotonic()
    with pytest.raises(exceptions.AMQPHeartbeatTimeout):
        channel.queue_declare('', exclusive=True)
    assert time.monotonic() - start < 3 * HEARTBEAT + 1
    assert connection.is_closed and channel.is_closed
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.queue_declare('', exclusive=True)


def test_dropped_connection_raises_stream_lost(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy, heartbeat=0))
    channel = connection.channel()
    proxy.close_all()
    with pytest.raises(exceptions.StreamLostError):
        for _ in range(50):  # the first publishes may still go into the kernel buffer
            channel.queue_declare('', exclusive=True)
    assert connection.is_closed
    with pytest.raises(exceptions.ConnectionWrongStateError):
        connection.process_data_events()


def test_start_consuming_raises_when_the_stream_is_lost(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy, heartbeat=0))
    channel = connection.channel()
    queue = channel.queue_declare('', exclusive=True).method.queue
    channel.basic_consume(queue, lambda *args: None)
    connection.call_later(0.2, proxy.close_all)
    with pytest.raises(exceptions.StreamLostError):
        channel.start_consuming()


@pytest.mark.private_broker
def test_frozen_broker_with_heartbeat(private_broker: PrivateBroker) -> None:
    params = pika.URLParameters(private_broker.url)
    params.heartbeat = HEARTBEAT
    connection = BlockingConnection(params, rpc_timeout=60)
    channel = connection.channel()
    private_broker.freeze()
    try:
        start = time.monotonic()
        with pytest.raises((exceptions.AMQPHeartbeatTimeout, exceptions.StreamLostError)):
            channel.queue_declare('', exclusive=True)
        assert time.monotonic() - start < 3 * HEARTBEAT + 1
    finally:
        private_broker.thaw()
    assert connection.is_closed


@pytest.mark.private_broker
def test_frozen_broker_without_heartbeat_hits_the_rpc_bound(private_broker: PrivateBroker) -> None:
    params = pika.URLParameters(private_broker.url)
    params.heartbeat = 0
    connection = BlockingConnection(params, rpc_timeout=1.5)
    channel = connection.channel()
    queue = channel.queue_declare('', exclusive=True).method.queue
    private_broker.freeze()
    try:
        start = time.monotonic()
        with pytest.raises(exceptions.OperationTimeout):
            channel.queue_declare(queue, passive=True)
        assert 1.5 <= time.monotonic() - start < 6
        with pytest.raises(exceptions.OperationTimeout):
            channel.basic_get(queue, timeout=0.5)
    finally:
        private_broker.thaw()
    assert connection.is_open
    connection.close(timeout=10)
    assert connection.is_closed


@pytest.mark.private_broker
def test_killed_broker_raises_stream_lost(private_broker: PrivateBroker) -> None:
    connection = BlockingConnection(pika.URLParameters(private_broker.url))
    channel = connection.channel()
    private_broker.kill()
    with pytest.raises((exceptions.StreamLostError, exceptions.ConnectionClosedByBroker)):
        channel.queue_declare('', exclusive=True)
    assert connection.is_closed


@pytest.mark.private_broker
def test_blocked_and_unblocked_callbacks(private_broker: PrivateBroker) -> None:
    connection = BlockingConnection(pika.URLParameters(private_broker.url))
    events: list[str] = []
    connection.add_on_connection_blocked_callback(
        lambda conn, frame: events.append(frame.method.NAME)
    )
    connection.add_on_connection_unblocked_callback(
        lambda conn, frame: events.append(frame.method.NAME)
    )
    channel = connection.channel()
    queue = channel.queue_declare('', exclusive=True).method.queue
    private_broker.set_memory_alarm()
    try:
        channel.basic_publish('', queue, b'held back')  # RabbitMQ blocks on the first publish
        deadline = time.monotonic() + 20
        while 'Connection.Blocked' not in events and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.2)
        assert events == ['Connection.Blocked']
    finally:
        private_broker.clear_memory_alarm()
    deadline = time.monotonic() + 20
    while len(events) < 2 and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.2)
    assert events == ['Connection.Blocked', 'Connection.Unblocked']
    _method, _, body = channel.basic_get(queue, auto_ack=True)
    assert body == b'held back'
    connection.close()


@pytest.mark.private_broker
def test_blocked_callback_fires_inside_a_blocking_publish(private_broker: PrivateBroker) -> None:
    """Issue 15 item 5: the application sits in a confirm-mode ``basic_publish`` when the
    broker blocks the connection; the blocked callback runs during that call (not at some
    later ``process_data_events``), and the call fails with ``ConnectionBlockedTimeout`` at
    the bound."""
    bound = 2.0
    params = pika.URLParameters(private_broker.url)
    params.blocked_connection_timeout = bound
    connection = BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()
    queue = channel.queue_declare('', exclusive=True).method.queue
    inside = [False]
    seen: list[tuple[str, bool, float]] = []
    connection.add_on_connection_blocked_callback(
        lambda conn, frame: seen.append((frame.method.NAME, inside[0], time.monotonic()))
    )
    private_broker.set_memory_alarm()
    try:
        inside[0] = True
        started = time.monotonic()
        with pytest.raises(exceptions.ConnectionBlockedTimeout):
            channel.basic_publish('', queue, b'blocked in flight', timeout=30)
        took = time.monotonic() - started
        inside[0] = False
    finally:
        private_broker.clear_memory_alarm()
    assert [(name, during) for name, during, _at in seen] == [('Connection.Blocked', True)]
    blocked_after = seen[0][2] - started
    print(f'\nBLOCKED inside basic_publish: callback after {blocked_after:.3f}s, '
          f'ConnectionBlockedTimeout after {took:.3f}s (bound {bound}s)')  # fmt: skip
    assert bound <= took < bound + 2.0
    assert connection.is_closed


@pytest.mark.private_broker
def test_blocked_connection_timeout(private_broker: PrivateBroker) -> None:
    params = pika.URLParameters(private_broker.url)
    params.blocked_connection_timeout = 1.0
    connection = BlockingConnection(params)
    channel = connection.channel()
    private_broker.set_memory_alarm()
    try:
        channel.basic_publish('', 'pikatest.blocked', b'x')
        with pytest.raises(exceptions.ConnectionBlockedTimeout):
            connection.sleep(15)
    finally:
        private_broker.clear_memory_alarm()
    assert connection.is_closed
