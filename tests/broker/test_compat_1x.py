"""Small programs written the way pika 1.x users write them, run unchanged against the broker.

Each test is a realistic program (publisher/consumer, RPC, routing, dead-lettering, polling, an
asynchronous SelectConnection client) using only the pika 1.x public API, keyword names and
callback shapes. Queue and exchange names are unique per test and removed afterwards.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
import pika.exceptions
from pika.exchange_type import ExchangeType

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pika.adapters.blocking_connection import BlockingChannel

pytestmark = pytest.mark.broker


def _name(prefix: str) -> str:
    return f'compat1x.{prefix}.{uuid.uuid4().hex}'


@pytest.fixture
def connection(broker_params: Any) -> Iterator[pika.BlockingConnection]:
    conn = pika.BlockingConnection(broker_params)
    yield conn
    if conn.is_open:
        conn.close()


@pytest.fixture
def channel(connection: pika.BlockingConnection) -> BlockingChannel:
    return connection.channel()


@pytest.fixture
def cleanup(connection: pika.BlockingConnection) -> Iterator[dict[str, list[str]]]:
    """Register queue/exchange names here; they are deleted after the test."""
    names: dict[str, list[str]] = {'queues': [], 'exchanges': []}
    yield names
    if not connection.is_open:
        return
    ch = connection.channel()
    for queue in names['queues']:
        ch.queue_delete(queue)
    for exchange in names['exchanges']:
        ch.exchange_delete(exchange)
    ch.close()


def test_publisher_and_consume_generator(
    connection: pika.BlockingConnection, channel: BlockingChannel, cleanup: dict[str, list[str]]
) -> None:
    queue = _name('work')
    cleanup['queues'].append(queue)
    assert connection.is_open and not connection.is_closed
    assert channel.is_open and channel.channel_number >= 1
    declare_ok = channel.queue_declare(queue=queue, durable=True)
    assert declare_ok.method.queue == queue
    assert declare_ok.method.message_count == 0
    for n in range(3):
        channel.basic_publish(
            exchange='',
            routing_key=queue,
            body=f'task {n}'.encode(),
            properties=pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent, headers={'n': n, 'kind': 'task'}
            ),
        )
    channel.basic_qos(prefetch_count=1)

    received = []
    for method, properties, body in channel.consume(queue, inactivity_timeout=5):
        assert method is not None, 'timed out waiting for a message'
        assert isinstance(method, pika.spec.Basic.Deliver)
        assert isinstance(body, bytes)
        assert method.routing_key == queue and method.exchange == ''
        assert method.redelivered is False
        assert properties.delivery_mode == 2
        received.append((body, properties.headers))
        channel.basic_ack(delivery_tag=method.delivery_tag)
        if len(received) == 3:
            break
    assert channel.cancel() == 0
    assert received == [(f'task {n}'.encode(), {'n': n, 'kind': 'task'}) for n in range(3)]


def test_basic_consume_with_start_consuming_and_nack_redelivery(
    channel: BlockingChannel, cleanup: dict[str, list[str]]
) -> None:
    queue = channel.queue_declare(queue='', exclusive=True).method.queue
    assert queue.startswith('amq.gen-')
    channel.basic_publish('', queue, b'once')
    seen: list[tuple[bytes, bool]] = []

    def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        seen.append((body, method.redelivered))
        if not method.redelivered:
            ch.basic_nack(delivery_tag=method.delivery_tag, requeue=True)
        else:
            ch.basic_ack(method.delivery_tag)
            ch.stop_consuming()

    tag = channel.basic_consume(queue=queue, on_message_callback=on_message)
    assert tag in channel.consumer_tags
    channel.start_consuming()
    assert seen == [(b'once', False), (b'once', True)]
    assert channel.consumer_tags == []


def _rpc_server(params: Any, queue: str, ready: threading.Event, stop: threading.Event) -> None:
    """An RPC server in its own thread and connection: replies with the squared number."""
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.queue_declare(queue=queue, auto_delete=True)

    def on_request(ch: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
        answer = str(int(body) ** 2).encode()
        ch.basic_publish(
            exchange='',
            routing_key=props.reply_to,
            properties=pika.BasicProperties(correlation_id=props.correlation_id),
            body=answer,
        )
        ch.basic_ack(delivery_tag=method.delivery_tag)

    ch.basic_consume(queue=queue, on_message_callback=on_request)
    ready.set()
    while not stop.is_set():
        conn.process_data_events(time_limit=0.1)
    conn.close()


@pytest.fixture
def rpc_server(broker_params: Any) -> Iterator[str]:
    queue = _name('rpc')
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=_rpc_server, args=(broker_params, queue, ready, stop))
    thread.start()
    assert ready.wait(30)
    yield queue
    stop.set()
    thread.join(30)


def test_rpc_with_reply_queue_and_correlation_id(
    connection: pika.BlockingConnection, channel: BlockingChannel, rpc_server: str
) -> None:
    callback_queue = channel.queue_declare(queue='', exclusive=True).method.queue
    responses: dict[str, bytes] = {}

    def on_response(ch: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
        responses[props.correlation_id] = body

    channel.basic_consume(queue=callback_queue, on_message_callback=on_response, auto_ack=True)
    ids = {}
    for n in (3, 7):
        corr_id = str(uuid.uuid4())
        ids[corr_id] = n
        channel.basic_publish(
            exchange='',
            routing_key=rpc_server,
            properties=pika.BasicProperties(reply_to=callback_queue, correlation_id=corr_id),
            body=str(n),
        )
    deadline = 100
    while len(responses) < 2 and deadline:
        connection.process_data_events(time_limit=0.2)
        deadline -= 1
    assert {ids[c]: int(body) for c, body in responses.items()} == {3: 9, 7: 49}


def test_rpc_with_direct_reply_to(
    connection: pika.BlockingConnection, channel: BlockingChannel, rpc_server: str
) -> None:
    replies: list[tuple[str, bytes]] = []

    def on_reply(ch: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
        replies.append((props.correlation_id, body))
        ch.stop_consuming()

    channel.basic_consume(
        queue='amq.rabbitmq.reply-to', on_message_callback=on_reply, auto_ack=True
    )
    channel.basic_publish(
        exchange='',
        routing_key=rpc_server,
        body=b'12',
        properties=pika.BasicProperties(reply_to='amq.rabbitmq.reply-to', correlation_id='c-12'),
    )
    timer = connection.call_later(20, channel.stop_consuming)
    channel.start_consuming()
    connection.remove_timeout(timer)
    assert replies == [('c-12', b'144')]


def test_topic_exchange_routing(channel: BlockingChannel, cleanup: dict[str, list[str]]) -> None:
    exchange = _name('logs')
    cleanup['exchanges'].append(exchange)
    channel.exchange_declare(exchange=exchange, exchange_type=ExchangeType.topic)
    bindings = {'kern': ['kern.*'], 'critical': ['*.critical'], 'all': ['#']}
    queues = {}
    for label, keys in bindings.items():
        queue = channel.queue_declare('', exclusive=True).method.queue
        queues[label] = queue
        for key in keys:
            channel.queue_bind(exchange=exchange, queue=queue, routing_key=key)
    for key in ('kern.critical', 'kern.info', 'app.critical', 'app.debug'):
        channel.basic_publish(exchange=exchange, routing_key=key, body=key)

    def drain(queue: str) -> list[str]:
        keys: list[str] = []
        while True:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if not method:
                return keys
            assert method.routing_key == body.decode()
            keys.append(method.routing_key)

    assert drain(queues['kern']) == ['kern.critical', 'kern.info']
    assert drain(queues['critical']) == ['kern.critical', 'app.critical']
    assert drain(queues['all']) == ['kern.critical', 'kern.info', 'app.critical', 'app.debug']


def test_headers_exchange_x_match(channel: BlockingChannel, cleanup: dict[str, list[str]]) -> None:
    exchange = _name('hdr')
    cleanup['exchanges'].append(exchange)
    channel.exchange_declare(exchange, 'headers', durable=False, auto_delete=False)
    q_all = channel.queue_declare('', exclusive=True).method.queue
    q_any = channel.queue_declare('', exclusive=True).method.queue
    channel.queue_bind(
        q_all, exchange, arguments={'x-match': 'all', 'fmt': 'pdf', 'type': 'report'}
    )
    channel.queue_bind(
        q_any, exchange, arguments={'x-match': 'any', 'fmt': 'pdf', 'type': 'report'}
    )
    messages = {
        b'both': {'fmt': 'pdf', 'type': 'report'},
        b'fmt-only': {'fmt': 'pdf', 'type': 'log'},
        b'none': {'fmt': 'zip'},
    }
    for body, headers in messages.items():
        channel.basic_publish(exchange, '', body, pika.BasicProperties(headers=headers))

    def bodies(queue: str) -> list[bytes]:
        out: list[bytes] = []
        while True:
            method, props, body = channel.basic_get(queue=queue, auto_ack=True)
            if method is None or not method:
                return out
            assert props.headers == messages[body]
            out.append(body)

    assert bodies(q_all) == [b'both']
    assert bodies(q_any) == [b'both', b'fmt-only']


def test_dead_letter_exchange(channel: BlockingChannel, cleanup: dict[str, list[str]]) -> None:
    dlx = _name('dlx')
    work = _name('dlwork')
    dead = _name('dead')
    cleanup['exchanges'].append(dlx)
    cleanup['queues'].extend([work, dead])
    channel.exchange_declare(exchange=dlx, exchange_type='fanout')
    channel.queue_declare(queue=dead)
    channel.queue_bind(queue=dead, exchange=dlx)
    channel.queue_declare(queue=work, arguments={'x-dead-letter-exchange': dlx})
    channel.basic_publish('', work, b'rejected')
    channel.basic_publish(
        '', work, b'expired', properties=pika.BasicProperties(expiration='1')
    )  # expires at once once it reaches the head of the queue
    method, _props, body = channel.basic_get(work)
    assert body == b'rejected' and method.message_count >= 0
    channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)

    got = []
    for method, props, body in channel.consume(dead, auto_ack=True, inactivity_timeout=5):
        assert method is not None, 'dead letters did not arrive'
        death = props.headers['x-death'][0]
        got.append((body, death['reason'], death['queue']))
        if len(got) == 2:
            break
    channel.cancel()
    assert sorted(got) == [(b'expired', 'expired', work), (b'rejected', 'rejected', work)]


def test_basic_get_polling_loop(channel: BlockingChannel, cleanup: dict[str, list[str]]) -> None:
    queue = _name('poll')
    cleanup['queues'].append(queue)
    channel.queue_declare(queue)
    for n in range(4):
        channel.basic_publish('', queue, str(n))
    bodies: list[bytes] = []
    while True:
        method_frame, header_frame, body = channel.basic_get(queue)
        if not method_frame:
            assert header_frame is None and body is None
            break
        assert isinstance(method_frame, pika.spec.Basic.GetOk)
        assert method_frame.message_count == 3 - len(bodies)
        bodies.append(body)
        channel.basic_ack(method_frame.delivery_tag)
    assert bodies == [b'0', b'1', b'2', b'3']
    with pytest.raises(TypeError):
        channel.basic_publish('', None, b'no routing key')
    with pytest.raises(TypeError):
        channel.basic_ack(None)
    assert channel.is_open
    assert channel.queue_purge(queue).method.message_count == 0
    assert channel.queue_delete(queue).method.message_count == 0


def test_confirm_mode_raises_unroutable_and_get_returns_mandatory(
    channel: BlockingChannel,
) -> None:
    channel.confirm_delivery()
    queue = channel.queue_declare('', exclusive=True).method.queue
    channel.basic_publish('', queue, b'routed', mandatory=True)
    with pytest.raises(pika.exceptions.UnroutableError) as info:
        channel.basic_publish('', _name('nowhere'), b'lost', mandatory=True)
    returned = info.value.messages[0]
    assert returned.body == b'lost' and returned.method.reply_code == 312
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
        channel.queue_declare(_name('missing'), passive=True)
    assert closed.value.reply_code == 404
    assert not channel.is_open and channel.is_closed


def test_channel_error_leaves_connection_usable(
    connection: pika.BlockingConnection, cleanup: dict[str, list[str]]
) -> None:
    queue = _name('pre')
    cleanup['queues'].append(queue)
    channel = connection.channel()
    channel.queue_declare(queue, durable=False)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        channel.queue_declare(queue, durable=True)
    assert info.value.reply_code == 406
    assert info.value.reply_text.startswith('PRECONDITION_FAILED')
    assert isinstance(info.value, pika.exceptions.ChannelClosed)
    with pytest.raises(pika.exceptions.ChannelWrongStateError):
        channel.basic_publish('', queue, b'x')
    assert connection.is_open
    assert connection.channel().queue_declare(queue, passive=True).method.queue == queue


# -- asynchronous SelectConnection client in the 1.x callback style ------------------------------


class AsyncClient:
    """Declare a queue, publish N confirmed messages, consume them back, close cleanly."""

    def __init__(self, params: Any, queue: str, count: int) -> None:
        self.queue = queue
        self.count = count
        self.events: list[str] = []
        self.acks: list[int] = []
        self.bodies: list[bytes] = []
        self.returned: list[tuple[Any, str, bytes]] = []
        self.close_reason: Any = None
        self.channel: Any = None
        self.connection = pika.SelectConnection(
            parameters=params,
            on_open_callback=self.on_connection_open,
            on_open_error_callback=self.on_open_error,
            on_close_callback=self.on_connection_closed,
        )

    def on_connection_open(self, connection: Any) -> None:
        self.events.append('connection-open')
        connection.channel(on_open_callback=self.on_channel_open)

    def on_open_error(self, connection: Any, error: Exception) -> None:
        self.events.append(f'open-error {error!r}')
        connection.ioloop.stop()

    def on_connection_closed(self, connection: Any, reason: Exception) -> None:
        self.close_reason = reason
        connection.ioloop.stop()

    def on_channel_open(self, channel: Any) -> None:
        self.events.append('channel-open')
        self.channel = channel
        channel.add_on_close_callback(self.on_channel_closed)
        channel.add_on_return_callback(self.on_return)
        channel.queue_declare(queue=self.queue, auto_delete=True, callback=self.on_declared)

    def on_channel_closed(self, channel: Any, reason: Exception) -> None:
        self.events.append(f'channel-closed {type(reason).__name__}')
        self.connection.close()

    def on_declared(self, method_frame: Any) -> None:
        assert isinstance(method_frame.method, pika.spec.Queue.DeclareOk)
        self.events.append('declared')
        self.channel.confirm_delivery(ack_nack_callback=self.on_confirm, callback=self.on_select)

    def on_select(self, method_frame: Any) -> None:
        self.events.append('confirm-selected')
        self.channel.basic_qos(prefetch_count=10, callback=self.on_qos)

    def on_qos(self, _frame: Any) -> None:
        self.channel.basic_consume(self.queue, self.on_message, callback=self.on_consume_ok)

    def on_consume_ok(self, method_frame: Any) -> None:
        self.events.append('consuming')
        for n in range(self.count):
            self.channel.basic_publish(
                exchange='', routing_key=self.queue, body=f'msg-{n}',
                properties=pika.BasicProperties(content_type='text/plain', delivery_mode=2),
            )  # fmt: skip
        self.channel.basic_publish('', _name('unroutable'), b'back', mandatory=True)

    def on_return(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        assert isinstance(method, pika.spec.Basic.Return)
        self.returned.append((method.reply_code, method.reply_text, body))

    def on_confirm(self, method_frame: Any) -> None:
        assert isinstance(method_frame.method, pika.spec.Basic.Ack)
        self.acks.append(method_frame.method.delivery_tag)
        self._maybe_finish()

    def on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        assert properties.content_type == 'text/plain'
        self.bodies.append(body)
        channel.basic_ack(delivery_tag=method.delivery_tag)
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if len(self.bodies) == self.count and self.acks and max(self.acks) == self.count + 1:
            if self.channel.is_open:
                self.channel.close()


def test_select_connection_async_client(broker_params: Any) -> None:
    client = AsyncClient(broker_params, _name('async'), count=5)
    timer = client.connection.ioloop.call_later(30, client.connection.ioloop.stop)
    client.connection.ioloop.start()
    client.connection.ioloop.remove_timeout(timer)
    assert client.events == [
        'connection-open',
        'channel-open',
        'declared',
        'confirm-selected',
        'consuming',
        'channel-closed ChannelClosedByClient',
    ]
    assert client.bodies == [f'msg-{n}'.encode() for n in range(5)]
    assert max(client.acks) == 6
    assert client.returned == [(312, 'NO_ROUTE', b'back')]
    assert isinstance(client.close_reason, pika.exceptions.ConnectionClosedByClient)
    assert client.connection.is_closed
