"""The same scenarios against the real broker on every adapter (tests/helpers/loop_drivers.py).

Each test gets a `driver` (parametrized: select-<poller>, tornado, asyncore, asyncio,
asyncio-uvloop, gevent, twisted) and uses only the callback Connection/Channel API. Steps are
driven with `driver.run_until(...)`; what the callbacks received is recorded and asserted.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Optional

import pytest

import pika
from pika import exceptions, spec
from tests.helpers.private_broker import free_port
from tests.helpers.session import Session, declare_queue
from tests.helpers.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pika.channel import Channel
    from tests.conftest import BrokerAddress
    from tests.helpers.loop_drivers import Driver
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.broker


@pytest.fixture
def params(broker_address: BrokerAddress) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)


@pytest.fixture
def session(driver: Driver, params: pika.ConnectionParameters) -> Iterator[Session]:
    """An open connection on the driver's loop; closed at the end of the test."""
    opened = Session(driver, params).wait_open()
    try:
        yield opened
    finally:
        opened.close()


# -- scenarios ---------------------------------------------------------------------------------


def test_connect_and_open_channel(session: Session) -> None:
    assert session.connection.is_open
    assert session.connection.server_properties['product'] == b'RabbitMQ' or (
        session.connection.server_properties['product'] == 'RabbitMQ'
    )
    channel = session.channel()
    assert channel.channel_number >= 1


def test_declare_publish_consume_ack(session: Session) -> None:
    channel = session.channel()
    queue = declare_queue(session, channel, auto_delete=False)
    received: list[tuple[bytes, Optional[str]]] = []

    def on_message(ch: Channel, method: Any, properties: Any, body: bytes) -> None:
        received.append((body, properties.content_type))
        ch.basic_ack(method.delivery_tag)

    consume_ok: list[Any] = []
    tag = channel.basic_consume(queue, on_message, callback=consume_ok.append)
    session.driver.run_until(lambda: bool(consume_ok))
    assert consume_ok[0].method.consumer_tag == tag
    properties = pika.BasicProperties(content_type='text/plain')
    bodies = [f'message {i}'.encode() for i in range(5)]
    for body in bodies:
        channel.basic_publish('', queue, body, properties)
    session.driver.run_until(lambda: len(received) == len(bodies))
    assert received == [(body, 'text/plain') for body in bodies]
    session.rpc(channel.basic_cancel, tag)
    # every message was acked, so none was requeued by the cancel
    reply = session.rpc(channel.queue_delete, queue)
    assert isinstance(reply.method, spec.Queue.DeleteOk)
    assert reply.method.message_count == 0


def test_publisher_confirms(session: Session) -> None:
    channel = session.channel()
    queue = declare_queue(session, channel)
    confirmed: list[Any] = []
    session.rpc(
        channel.confirm_delivery, lambda method_frame: confirmed.append(method_frame.method)
    )
    for i in range(10):
        channel.basic_publish('', queue, b'x%d' % i)

    def acked_up_to() -> int:
        highest = 0
        for method in confirmed:
            assert isinstance(method, spec.Basic.Ack)
            highest = max(highest, method.delivery_tag)
        return highest

    session.driver.run_until(lambda: acked_up_to() == 10)


def test_mandatory_unroutable_message_is_returned(session: Session) -> None:
    channel = session.channel()
    returned: list[tuple[Any, bytes]] = []
    channel.add_on_return_callback(
        lambda _ch, method, _props, body: returned.append((method, body))
    )
    routing_key = f'nobody.{uuid.uuid4().hex}'
    channel.basic_publish('', routing_key, b'lost', mandatory=True)
    session.driver.run_until(lambda: bool(returned))
    method, body = returned[0]
    assert isinstance(method, spec.Basic.Return)
    assert (method.reply_code, method.routing_key, body) == (312, routing_key, b'lost')


def test_broker_cancels_consumer_when_queue_deleted(session: Session) -> None:
    channel = session.channel()
    queue = declare_queue(session, channel)
    cancelled: list[Any] = []
    channel.add_on_cancel_callback(lambda method_frame: cancelled.append(method_frame.method))
    tag = channel.basic_consume(queue, lambda *_: None)
    other = session.channel()
    session.rpc(other.queue_delete, queue)
    session.driver.run_until(lambda: bool(cancelled))
    assert isinstance(cancelled[0], spec.Basic.Cancel)
    assert cancelled[0].consumer_tag == tag
    assert tag not in channel.consumer_tags


def test_close_connection_from_inside_a_callback(session: Session) -> None:
    channel = session.channel()
    queue = declare_queue(session, channel)

    def on_message(ch: Channel, method: Any, _props: Any, _body: bytes) -> None:
        ch.basic_ack(method.delivery_tag)
        session.connection.close()

    channel.basic_consume(queue, on_message)
    channel.basic_publish('', queue, b'stop')
    session.driver.run_until(lambda: session.close_error is not None)
    assert isinstance(session.close_error, exceptions.ConnectionClosedByClient)
    assert session.close_error.reply_code == 200
    assert session.connection.is_closed
    assert not channel.is_open


def test_stream_lost_when_socket_dropped(driver: Driver, broker_address: BrokerAddress) -> None:
    with TcpProxy(broker_address.host, broker_address.port) as proxy:
        params = pika.ConnectionParameters(host=proxy.host, port=proxy.port)
        session = Session(driver, params).wait_open()
        channel = session.channel()
        proxy.close_all()
        driver.run_until(lambda: session.close_error is not None)
    assert isinstance(session.close_error, exceptions.StreamLostError)
    assert session.open_error is None
    assert session.connection.is_closed
    assert channel.is_closed


def test_connection_refused(driver: Driver) -> None:
    params = pika.ConnectionParameters(host='127.0.0.1', port=free_port(), connection_attempts=1)
    session = Session(driver, params)
    driver.run_until(lambda: session.finished)
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    assert session.close_error is None
    assert not session.opened


@pytest.fixture
def blackhole() -> Iterator[socket.socket]:
    """A listening socket that never accepts: TCP connects, AMQP never answers."""
    server = socket.create_server(('127.0.0.1', 0), backlog=8)
    try:
        yield server
    finally:
        server.close()


def test_connection_times_out_on_silent_peer(driver: Driver, blackhole: socket.socket) -> None:
    params = pika.ConnectionParameters(
        host='127.0.0.1',
        port=blackhole.getsockname()[1],
        connection_attempts=1,
        socket_timeout=1.0,
        stack_timeout=1.5,
    )
    started = time.monotonic()
    session = Session(driver, params)
    driver.run_until(lambda: session.finished, timeout=10)
    elapsed = time.monotonic() - started
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    assert 1.0 <= elapsed < 6.0, elapsed  # bounded by stack_timeout, not hanging
    assert not session.opened


def test_close_while_connecting_aborts(driver: Driver, params: pika.ConnectionParameters) -> None:
    session = Session(driver, params)
    session.connection.close()
    driver.run_until(lambda: session.finished)
    assert isinstance(session.open_error, exceptions.ConnectionOpenAborted)
    assert not session.opened
    driver.run_for(0.2)  # a late TCP connect must not revive it
    assert not session.opened
    assert session.connection.is_closed


def test_close_during_handshake_aborts(driver: Driver, blackhole: socket.socket) -> None:
    params = pika.ConnectionParameters(
        host='127.0.0.1', port=blackhole.getsockname()[1], stack_timeout=30
    )
    session = Session(driver, params)
    driver.run_until(lambda: session.connection._core is not None)  # TCP up, header sent
    started = time.monotonic()
    session.connection.close()
    driver.run_until(lambda: session.finished, timeout=10)
    assert time.monotonic() - started < 5  # not waiting for stack_timeout
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    assert not session.opened


def test_blocked_and_unblocked(driver: Driver, shared_private_broker: PrivateBroker) -> None:
    broker = shared_private_broker
    params = pika.ConnectionParameters(host=broker.host, port=broker.port)
    session = Session(driver, params).wait_open()
    blocked: list[Any] = []
    unblocked: list[Any] = []
    session.connection.add_on_connection_blocked_callback(
        lambda _conn, method_frame: blocked.append(method_frame.method)
    )
    session.connection.add_on_connection_unblocked_callback(
        lambda _conn, method_frame: unblocked.append(method_frame.method)
    )
    channel = session.channel()
    try:
        broker.set_memory_alarm()
        channel.basic_publish('', 'pikatest.blocked', b'triggers the block')
        driver.run_until(lambda: bool(blocked), timeout=20)
        assert isinstance(blocked[0], spec.Connection.Blocked)
    finally:
        broker.clear_memory_alarm()
    driver.run_until(lambda: bool(unblocked), timeout=20)
    assert isinstance(unblocked[0], spec.Connection.Unblocked)
    session.close()
    assert isinstance(session.close_error, exceptions.ConnectionClosedByClient)


def test_add_callback_threadsafe_from_another_thread(session: Session) -> None:
    ran_in: list[threading.Thread] = []
    thread = threading.Thread(
        target=session.connection.add_callback_threadsafe,
        args=(lambda: ran_in.append(threading.current_thread()),),
    )
    thread.start()
    thread.join()
    session.driver.run_until(lambda: bool(ran_in))
    assert ran_in == [threading.current_thread()]


def test_timers_fire_and_cancel(session: Session) -> None:
    fired: list[str] = []
    session.connection.call_later(0.05, lambda: fired.append('call_later'))
    session.connection.add_timeout(0.05, lambda: fired.append('add_timeout'))
    cancelled = session.connection.call_later(0.05, lambda: fired.append('cancelled'))
    session.connection.remove_timeout(cancelled)
    session.driver.run_until(lambda: len(fired) == 2)
    session.driver.run_for(0.1)
    assert sorted(fired) == ['add_timeout', 'call_later']


def test_heartbeats_keep_an_idle_connection_open(driver: Driver, params: Any) -> None:
    params.heartbeat = 1
    session = Session(driver, params).wait_open()
    assert session.connection._core.heartbeat == 1
    driver.run_for(3.2)  # the broker closes a connection that misses 2 heartbeat intervals
    assert session.connection.is_open
    assert session.close_error is None
    session.close()
    assert isinstance(session.close_error, exceptions.ConnectionClosedByClient)
