"""Programs written against the pika 0.9 API (the seed documentation), run unchanged.

The 0.9 forms: the callback first (``basic_consume(callback, queue=...)``,
``queue_bind(callback, queue, exchange, routing_key)``), the ``no_ack`` and ``type`` keywords,
``SelectConnection(parameters, on_connected)`` in continuation-passing style with
``callback=`` keywords, ``add_timeout``, ``basic_get`` answering ``Basic.GetEmpty``. Queue and
exchange names are unique per test and removed afterwards.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika.adapters import BlockingConnection, SelectConnection

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.broker


def _name(prefix: str) -> str:
    return f'compat09.{prefix}.{uuid.uuid4().hex}'


@pytest.fixture
def parameters(broker_address: Any) -> pika.ConnectionParameters:
    """Built the seed's way: PlainCredentials into ConnectionParameters."""
    credentials = pika.PlainCredentials(broker_address.username, broker_address.password)
    return pika.ConnectionParameters(
        credentials=credentials,
        host=broker_address.host,
        port=broker_address.port,
        virtual_host='/',
    )


@pytest.fixture
def connection(parameters: pika.ConnectionParameters) -> Iterator[BlockingConnection]:
    conn = BlockingConnection(parameters)
    yield conn
    if conn.is_open:
        conn.close()


@pytest.fixture
def names(connection: BlockingConnection) -> Iterator[dict[str, list[str]]]:
    created: dict[str, list[str]] = {'queues': [], 'exchanges': []}
    yield created
    if connection.is_open:
        ch = connection.channel()
        for queue in created['queues']:
            ch.queue_delete(queue=queue)
        for exchange in created['exchanges']:
            ch.exchange_delete(exchange=exchange)
        ch.close()


def test_blocking_publish_and_consume_with_no_ack(
    connection: BlockingConnection, names: dict[str, list[str]]
) -> None:
    queue = _name('jobs')
    names['queues'].append(queue)
    channel = connection.channel()
    channel.queue_declare(queue=queue, durable=True, exclusive=False, auto_delete=False)
    for n in range(3):
        channel.basic_publish(
            exchange='',
            routing_key=queue,
            body=f'text {n}',
            properties=pika.BasicProperties(content_type='text/plain', delivery_mode=2),
        )
    received: list[tuple[bytes, str]] = []

    def on_message(ch: Any, method: Any, header: Any, body: bytes) -> None:
        received.append((body, header.content_type))
        if len(received) == 3:
            ch.stop_consuming()

    tag = channel.basic_consume(on_message, queue=queue, no_ack=True)
    assert isinstance(tag, str)
    connection.add_timeout(20, channel.stop_consuming)
    channel.start_consuming()
    assert received == [(f'text {n}'.encode(), 'text/plain') for n in range(3)]
    ok = channel.queue_declare(queue=queue, passive=True)
    assert (ok.method.message_count, ok.method.consumer_count) == (0, 0)


def test_blocking_consume_with_acks_and_qos(
    connection: BlockingConnection, names: dict[str, list[str]]
) -> None:
    queue = _name('acked')
    names['queues'].append(queue)
    channel = connection.channel()
    channel.queue_declare(queue=queue)
    channel.basic_qos(prefetch_count=1)
    for n in range(2):
        channel.basic_publish(exchange='', routing_key=queue, body=str(n))
    tags: list[int] = []

    def on_message(ch: Any, method: Any, header: Any, body: bytes) -> None:
        tags.append(method.delivery_tag)
        ch.basic_ack(delivery_tag=method.delivery_tag)
        if len(tags) == 2:
            ch.stop_consuming()

    channel.basic_consume(consumer_callback=on_message, queue=queue)
    channel.start_consuming()
    assert tags == [1, 2]


def test_blocking_basic_get_no_ack_and_get_empty(
    connection: BlockingConnection, names: dict[str, list[str]]
) -> None:
    queue = _name('get')
    names['queues'].append(queue)
    channel = connection.channel()
    channel.queue_declare(queue=queue)
    channel.basic_publish(exchange='', routing_key=queue, body='only')
    method, header, body = channel.basic_get(queue=queue, no_ack=True)
    assert isinstance(method, pika.spec.Basic.GetOk)
    assert (body, method.message_count, method.redelivered) == (b'only', 0, False)
    assert isinstance(header, pika.BasicProperties)
    method, header, body = channel.basic_get(queue=queue, no_ack=True)
    assert isinstance(method, pika.spec.Basic.GetEmpty)  # "a Basic.GetEmpty frame"
    assert (header, body) == (None, None)


def test_blocking_fanout_with_type_keyword_and_keyword_binds(
    connection: BlockingConnection, names: dict[str, list[str]]
) -> None:
    exchange = _name('fan')
    names['exchanges'].append(exchange)
    channel = connection.channel()
    channel.exchange_declare(exchange=exchange, type='fanout')
    queues = []
    for _ in range(2):
        queue = channel.queue_declare(exclusive=True).method.queue  # server-named, 0.9 default
        channel.queue_bind(exchange=exchange, queue=queue, routing_key='ignored')
        queues.append(queue)
    channel.basic_publish(exchange=exchange, routing_key='', body='broadcast')
    for queue in queues:
        method, _header, body = channel.basic_get(queue=queue, no_ack=True)
        assert body == b'broadcast' and method.exchange == exchange
    channel.queue_unbind(queue=queues[0], exchange=exchange, routing_key='ignored')
    channel.basic_publish(exchange=exchange, routing_key='', body='second')
    assert not channel.basic_get(queue=queues[0], no_ack=True)[0]
    assert channel.basic_get(queue=queues[1], no_ack=True)[2] == b'second'


def test_blocking_seed_connection_extras(connection: BlockingConnection) -> None:
    fired: list[str] = []
    handle = connection.add_timeout(0.05, lambda: fired.append('timeout'))
    removed = connection.add_timeout(0.05, lambda: fired.append('removed'))
    connection.remove_timeout(removed)
    connection.add_on_open_callback(lambda conn: fired.append('open'))
    connection.set_backpressure_multiplier(20)
    connection.add_backpressure_callback(lambda *args: fired.append('backpressure'))
    connection.sleep(0.2)
    connection.process_timeouts()
    assert handle is not None
    assert fired == ['open', 'timeout']
    assert connection.is_open


# -- SelectConnection in continuation-passing style ----------------------------------------------


class CPSClient:
    """The seed's CPS steps, extended: exchange, queue, bind, qos, confirms, consume, get, cancel,
    delete, close. Every call uses a 0.9 form (callback first, or the `callback=` keyword)."""

    def __init__(self, parameters: pika.ConnectionParameters) -> None:
        self.exchange = _name('cps-ex')
        self.steps: list[str] = []
        self.bodies: list[bytes] = []
        self.confirms: list[int] = []
        self.channel: Any = None
        self.queue = ''
        self.consumer_tag = ''
        self.connection = SelectConnection(parameters, self.on_connected)

    def on_connected(self, connection: Any) -> None:
        self.steps.append('connected')
        connection.channel(self.on_channel_open)

    def on_channel_open(self, new_channel: Any) -> None:
        self.steps.append('channel')
        self.channel = new_channel
        new_channel.exchange_declare(
            callback=self.on_exchange_declared, exchange=self.exchange, type='topic'
        )

    def on_exchange_declared(self, frame: Any) -> None:
        assert isinstance(frame.method, pika.spec.Exchange.DeclareOk)
        self.steps.append('exchange')
        self.channel.queue_declare(self.on_queue_declared, exclusive=True)

    def on_queue_declared(self, frame: Any) -> None:
        self.queue = frame.method.queue
        self.steps.append('queue')
        self.channel.queue_bind(self.on_bound, self.queue, self.exchange, 'news.*')

    def on_bound(self, frame: Any) -> None:
        assert isinstance(frame.method, pika.spec.Queue.BindOk)
        self.steps.append('bound')
        self.channel.basic_qos(self.on_qos, prefetch_count=2)

    def on_qos(self, frame: Any) -> None:
        self.steps.append('qos')
        self.channel.confirm_delivery(self.on_confirm)
        self.consumer_tag = self.channel.basic_consume(self.handle_delivery, queue=self.queue)
        for key in ('news.sport', 'weather.today', 'news.world'):
            self.channel.basic_publish(self.exchange, key, key,
                                       pika.BasicProperties(delivery_mode=1))  # fmt: skip

    def on_confirm(self, frame: Any) -> None:
        self.confirms.append(frame.method.delivery_tag)

    def handle_delivery(self, channel: Any, method: Any, header: Any, body: bytes) -> None:
        self.bodies.append(body)
        channel.basic_ack(delivery_tag=method.delivery_tag)
        if len(self.bodies) == 2:
            channel.basic_cancel(self.on_cancelled, self.consumer_tag)

    def on_cancelled(self, frame: Any) -> None:
        assert isinstance(frame.method, pika.spec.Basic.CancelOk)
        self.steps.append('cancelled')
        self.channel.basic_get(self.on_get, queue=self.queue, no_ack=True)

    def on_get(self, channel: Any, method: Any, header: Any, body: Any) -> None:
        assert isinstance(method, pika.spec.Basic.GetEmpty)
        self.steps.append('empty')
        channel.queue_delete(callback=self.on_queue_deleted, queue=self.queue)

    def on_queue_deleted(self, frame: Any) -> None:
        self.steps.append('queue-deleted')
        self.channel.exchange_delete(self.on_exchange_deleted, self.exchange)

    def on_exchange_deleted(self, frame: Any) -> None:
        self.steps.append('exchange-deleted')
        self.connection.close()


def test_select_connection_cps_program(parameters: pika.ConnectionParameters) -> None:
    client = CPSClient(parameters)
    ioloop = client.connection.ioloop
    guard = ioloop.add_timeout(30, ioloop.stop)
    ioloop.start()  # stops on its own once the connection has closed
    ioloop.remove_timeout(guard)
    assert client.steps == [
        'connected',
        'channel',
        'exchange',
        'queue',
        'bound',
        'qos',
        'cancelled',
        'empty',
        'queue-deleted',
        'exchange-deleted',
    ]
    assert client.bodies == [b'news.sport', b'news.world']
    assert max(client.confirms) == 3
    assert client.connection.is_closed and not client.connection.is_open
