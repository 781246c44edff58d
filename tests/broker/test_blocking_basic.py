"""BlockingConnection / BlockingChannel against the shared RabbitMQ: the everyday API."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import pika
from pika import exceptions, frame, spec
from pika.adapters._blocking.channel import CANCELLED_REMEMBERED
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection, GetEmpty

pytestmark = pytest.mark.broker


def _ready_count(conn: BlockingConnection, queue: str) -> int:
    channel = conn.channel()
    try:
        return int(channel.queue_declare(queue, passive=True).method.message_count)
    finally:
        channel.close()


def test_default_parameters_and_context_managers() -> None:
    with BlockingConnection() as connection:
        assert connection.is_open and not connection.is_closed
        with connection.channel() as channel:
            assert isinstance(channel, BlockingChannel)
            assert channel.is_open and channel.channel_number >= 1
        assert channel.is_closed
    assert connection.is_closed and not connection.is_open
    with pytest.raises(exceptions.ConnectionWrongStateError):
        connection.close()


def test_list_of_parameters_skips_a_dead_endpoint(broker_params: Any) -> None:
    dead = pika.ConnectionParameters(host='127.0.0.1', port=1, connection_attempts=1)
    with BlockingConnection([dead, broker_params]) as connection:
        assert connection.is_open


def test_unreachable_broker_raises_amqp_connection_error() -> None:
    params = pika.ConnectionParameters(host='127.0.0.1', port=1, retry_delay=0.1)
    with pytest.raises(exceptions.AMQPConnectionError):
        BlockingConnection(params)


def test_bad_credentials_raise_probable_authentication_error(broker_params: Any) -> None:
    params = pika.ConnectionParameters(
        host=broker_params.host,
        port=broker_params.port,
        credentials=pika.PlainCredentials('guest', 'not-the-password'),
    )
    with pytest.raises(exceptions.ProbableAuthenticationError):
        BlockingConnection(params)


def test_queue_declare_returns_method_frame(conn: BlockingConnection, unique_name: str) -> None:
    channel = conn.channel()
    result = channel.queue_declare(queue=unique_name, durable=False, exclusive=True)
    assert isinstance(result, frame.Method)
    assert isinstance(result.method, spec.Queue.DeclareOk)
    assert result.method.queue == unique_name
    assert result.method.message_count == 0
    server_named = channel.queue_declare('', exclusive=True).method.queue
    assert server_named.startswith('amq.gen-')


def test_basic_get_empty_and_non_empty(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    # pika 1.x form (queue positional, or auto_ack=): (None, None, None), as pika 1.4.4
    assert channel.basic_get(queue) == (None, None, None)
    assert channel.basic_get(queue, True) == (None, None, None)
    assert channel.basic_get(queue=queue, auto_ack=False) == (None, None, None)
    # pika 0.9 form (no_ack=) and keyword-only calls: a falsy Basic.GetEmpty frame
    for kwargs in ({'queue': queue, 'no_ack': True}, {'queue': queue}):
        method, properties, body = channel.basic_get(**kwargs)
        assert isinstance(method, spec.Basic.GetEmpty) and isinstance(method, GetEmpty)
        assert not method
        assert properties is None and body is None
    method, _, _ = channel.basic_get(queue, no_ack=True)
    assert isinstance(method, GetEmpty)
    with pytest.raises(TypeError):
        channel.basic_get(queue, no_ack=True, auto_ack=True)

    props = pika.BasicProperties(content_type='text/plain', headers={'k': 'v'})
    channel.basic_publish('', queue, 'héllo', props)
    method, properties, body = channel.basic_get(queue=queue, auto_ack=False)
    assert isinstance(method, spec.Basic.GetOk) and method
    assert body == 'héllo'.encode()
    assert properties.content_type == 'text/plain' and properties.headers == {'k': 'v'}
    channel.basic_ack(method.delivery_tag)
    channel.basic_publish('', queue, b'x')
    method, _, body = channel.basic_get(queue, no_ack=True)  # the 0.9 keyword
    assert body == b'x'
    assert _ready_count(conn, queue) == 0


def test_large_body_round_trips(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    body = bytes(range(256)) * 4096  # 1 MiB: many body frames
    channel.basic_publish('', queue, body)
    _method, _, received = channel.basic_get(queue, auto_ack=True)
    assert received == body


def test_basic_consume_modern_form(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    for number in range(5):
        channel.basic_publish('', queue, str(number))
    received: list[bytes] = []

    def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        assert ch is channel
        assert isinstance(method, spec.Basic.Deliver)
        received.append(body)
        ch.basic_ack(method.delivery_tag)
        if len(received) == 5:
            ch.stop_consuming()

    tag = channel.basic_consume(queue, on_message)
    assert tag in channel.consumer_tags
    channel.start_consuming()
    assert received == [b'0', b'1', b'2', b'3', b'4']
    assert channel.consumer_tags == []
    assert _ready_count(conn, queue) == 0


def test_basic_consume_legacy_form_and_keywords(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    channel.basic_publish('', queue, b'a')
    received: list[bytes] = []

    def on_message(ch: BlockingChannel, method: Any, header: Any, body: bytes) -> None:
        received.append(body)
        ch.stop_consuming()

    channel.basic_consume(on_message, queue=queue, no_ack=True, consumer_tag='my-tag')
    assert channel.consumer_tags == ['my-tag']
    with pytest.raises(exceptions.DuplicateConsumerTag):
        channel.basic_consume(queue, on_message, consumer_tag='my-tag')
    with pytest.raises(TypeError):
        channel.basic_consume(queue, on_message, no_ack=True, auto_ack=True)
    channel.start_consuming()
    assert received == [b'a']
    assert _ready_count(conn, queue) == 0


def test_stop_consuming_requeues_undispatched_messages(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    for number in range(20):
        channel.basic_publish('', queue, str(number))
    seen: list[bytes] = []

    def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        seen.append(body)
        ch.basic_ack(method.delivery_tag)
        if len(seen) == 3:
            ch.stop_consuming()

    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    assert seen == [b'0', b'1', b'2']
    assert _ready_count(conn, queue) == 17


def _cancel_from_first_callback(
    conn: BlockingConnection, queue: str, count: int, auto_ack: bool
) -> tuple[list[bytes], Any]:
    """Publish ``count`` messages, consume them; the first callback waits until the broker
    has delivered them all, then cancels. Returns (bodies dispatched, basic_cancel's result)."""
    channel = conn.channel()
    for number in range(count):
        channel.basic_publish('', queue, str(number))
    seen: list[bytes] = []
    result: list[Any] = []

    def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        seen.append(body)
        if not auto_ack:
            ch.basic_ack(method.delivery_tag)
        deadline = time.monotonic() + 10
        while ch.queue_declare(queue, passive=True).method.message_count and (
            time.monotonic() < deadline
        ):
            pass  # each round trip also reads the deliveries that arrived meanwhile
        result.append(ch.basic_cancel(method.consumer_tag))

    channel.basic_consume(queue, on_message, auto_ack=auto_ack)
    channel.start_consuming()
    return seen, result[0]


def test_basic_cancel_returns_pending_auto_ack_messages_as_triples(
    conn: BlockingConnection, queue: str
) -> None:
    """As pika 1.4.4 (checked against the broker): an auto_ack consumer's undispatched
    messages come back as (method, properties, body), not through the callback."""
    seen, returned = _cancel_from_first_callback(conn, queue, 10, auto_ack=True)
    assert seen == [b'0']
    assert isinstance(returned, list) and len(returned) == 9
    for number, item in enumerate(returned, start=1):
        assert type(item) is tuple and len(item) == 3
        method, properties, body = item
        assert isinstance(method, spec.Basic.Deliver) and method.routing_key == queue
        assert isinstance(properties, pika.BasicProperties)
        assert body == str(number).encode()
    assert _ready_count(conn, queue) == 0


def test_basic_cancel_requeues_pending_messages_without_auto_ack(
    conn: BlockingConnection, queue: str
) -> None:
    seen, returned = _cancel_from_first_callback(conn, queue, 10, auto_ack=False)
    assert seen == [b'0']
    assert returned == []  # pika 1.4.4 returns [] too, and requeues them
    deadline = time.monotonic() + 10
    while _ready_count(conn, queue) != 9 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ready_count(conn, queue) == 9


def test_basic_cancel_of_an_unknown_tag_returns_an_empty_list(conn: BlockingConnection) -> None:
    assert conn.channel().basic_cancel('no-such-consumer') == []


def test_consume_generator_with_inactivity_timeout(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    for number in range(3):
        channel.basic_publish('', queue, str(number))
    bodies = []
    for method, properties, body in channel.consume(queue, inactivity_timeout=0.5):
        if method is None:
            assert properties is None and body is None
            break
        bodies.append(body)
        channel.basic_ack(method.delivery_tag)
    assert bodies == [b'0', b'1', b'2']
    assert channel.cancel() == 0
    assert channel.consumer_tags == []


def test_consume_generator_cancel_requeues_pending(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    channel.basic_qos(prefetch_count=4)
    for number in range(6):
        channel.basic_publish('', queue, str(number))
    generator = channel.consume(queue, inactivity_timeout=5)
    method, _, body = next(generator)
    assert body == b'0'
    channel.basic_ack(method.delivery_tag)
    deadline = time.monotonic() + 5
    while channel.get_waiting_message_count() < 3 and time.monotonic() < deadline:
        conn.process_data_events(0.05)
    assert channel.get_waiting_message_count() == 3
    other = channel.consume(queue, auto_ack=True)  # a different consumer on the same channel
    with pytest.raises(ValueError):
        next(other)
    assert channel.cancel() == 0  # pika 1.4.4's answer; the 3 pending ones are requeued
    assert _ready_count(conn, queue) == 5
    assert list(generator) == []


def test_confirm_delivery_unroutable_and_nack(conn: BlockingConnection, unique_name: str) -> None:
    channel = conn.channel()
    channel.confirm_delivery()
    channel.basic_publish('', 'pikatest.no-such-queue.' + unique_name, b'dropped')  # not mandatory
    with pytest.raises(exceptions.UnroutableError) as info:
        channel.basic_publish('', 'pikatest.no-such-queue.' + unique_name, b'r', mandatory=True)
    (returned,) = info.value.messages
    assert isinstance(returned.method, spec.Basic.Return) and returned.body == b'r'
    assert returned.method.reply_code == 312

    args = {'x-max-length': 1, 'x-overflow': 'reject-publish'}
    channel.queue_declare(unique_name, arguments=args, auto_delete=True)
    channel.basic_publish('', unique_name, b'first', mandatory=True)
    with pytest.raises(exceptions.NackError) as nacked:
        channel.basic_publish('', unique_name, b'second')
    assert nacked.value.messages[0].body == b'second'
    assert channel.is_open
    channel.queue_delete(unique_name)


def test_returned_message_callback_without_confirms(
    conn: BlockingConnection, unique_name: str
) -> None:
    channel = conn.channel()
    returns: list[tuple[Any, ...]] = []
    channel.add_on_return_callback(lambda *args: returns.append(args))
    channel.basic_publish('', 'pikatest.nowhere.' + unique_name, b'back', mandatory=True)
    deadline = time.monotonic() + 5
    while not returns and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.1)
    ((ch, method, _properties, body),) = returns
    assert ch is channel and body == b'back' and method.reply_code == 312


def test_broker_channel_error_then_wrong_state_and_connection_survives(
    conn: BlockingConnection, unique_name: str
) -> None:
    channel = conn.channel()
    with pytest.raises(exceptions.ChannelClosedByBroker) as info:
        channel.queue_declare(unique_name, passive=True)
    assert info.value.reply_code == 404
    assert channel.is_closed
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.basic_publish('', 'x', b'y')
    assert conn.is_open
    other = conn.channel()
    assert other.queue_declare('', exclusive=True).method.queue


def test_async_channel_error_is_raised_by_the_next_call(conn: BlockingConnection) -> None:
    channel = conn.channel()
    channel.basic_publish('pikatest-no-such-exchange', 'rk', b'x')
    with pytest.raises(exceptions.ChannelClosedByBroker) as info:
        channel.queue_declare('', exclusive=True)
        channel.queue_declare('', exclusive=True)  # in case the close had not arrived yet
    assert info.value.reply_code == 404
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.queue_declare('', exclusive=True)


def test_exchange_and_binding_methods(conn: BlockingConnection, unique_name: str) -> None:
    channel = conn.channel()
    source, dest = unique_name + '.src', unique_name + '.dst'
    assert isinstance(
        channel.exchange_declare(source, 'fanout').method,
        spec.Exchange.DeclareOk,
    )
    channel.exchange_declare(exchange=dest, type='direct')  # 0.9 keyword
    assert isinstance(channel.exchange_bind(dest, source, 'k').method, spec.Exchange.BindOk)
    queue = channel.queue_declare('', exclusive=True).method.queue
    assert isinstance(channel.queue_bind(queue, dest, 'k').method, spec.Queue.BindOk)
    channel.basic_publish(source, 'k', b'through two exchanges')
    deadline = time.monotonic() + 5
    body = None
    while body is None and time.monotonic() < deadline:
        _, _, body = channel.basic_get(queue, auto_ack=True)
    assert body == b'through two exchanges'
    assert isinstance(channel.queue_unbind(queue, dest, 'k').method, spec.Queue.UnbindOk)
    assert isinstance(channel.exchange_unbind(dest, source, 'k').method, spec.Exchange.UnbindOk)
    channel.basic_publish(source, 'ignored', b'nowhere')
    assert channel.queue_purge(queue).method.message_count == 0
    assert isinstance(channel.queue_delete(queue).method, spec.Queue.DeleteOk)
    assert isinstance(channel.exchange_delete(dest).method, spec.Exchange.DeleteOk)
    channel.exchange_delete(source)


def test_qos_recover_tx_and_flow(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    assert isinstance(channel.basic_qos(prefetch_count=10).method, spec.Basic.QosOk)
    channel.basic_qos(0, 5, all_channels=False)  # 0.9 keyword
    assert isinstance(channel.tx_select().method, spec.Tx.SelectOk)
    channel.basic_publish('', queue, b'rolled back')
    assert isinstance(channel.tx_rollback().method, spec.Tx.RollbackOk)
    channel.basic_publish('', queue, b'committed')
    assert isinstance(channel.tx_commit().method, spec.Tx.CommitOk)
    assert _ready_count(conn, queue) == 1
    other = conn.channel()
    method, _, body = other.basic_get(queue)
    assert body == b'committed' and not method.redelivered
    other.basic_recover(requeue=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        method, _, body = other.basic_get(queue)
        if method:
            break
    assert body == b'committed' and method.redelivered
    other.basic_reject(method.delivery_tag, requeue=False)
    assert _ready_count(conn, queue) == 0


def test_broker_cancel_ends_start_consuming(conn: BlockingConnection, unique_name: str) -> None:
    channel = conn.channel()
    channel.queue_declare(unique_name)
    cancelled: list[Any] = []
    channel.add_on_cancel_callback(cancelled.append)
    channel.basic_consume(unique_name, lambda *args: None)
    deleter = conn.channel()
    conn.call_later(0.2, lambda: deleter.queue_delete(unique_name))
    channel.start_consuming()  # returns once the broker cancelled the only consumer
    assert len(cancelled) == 1 and isinstance(cancelled[0].method, spec.Basic.Cancel)
    assert channel.consumer_tags == []


def test_process_data_events_time_limit_and_timers(conn: BlockingConnection) -> None:
    fired: list[str] = []
    start = time.monotonic()
    conn.process_data_events(time_limit=0)  # nothing to do: returns at once
    conn.call_later(0.2, lambda: fired.append('a'))
    handle = conn.add_timeout(0.1, lambda: fired.append('cancelled'))
    conn.remove_timeout(handle)
    conn.process_data_events(time_limit=0.05)
    assert fired == []
    conn.process_data_events(time_limit=2)  # returns once the timer was dispatched
    assert fired == ['a']
    assert 0.2 <= time.monotonic() - start < 2
    conn.call_later(0, lambda: fired.append('b'))
    conn.sleep(0.1)
    assert fired == ['a', 'b']


def test_add_callback_threadsafe_wakes_a_blocked_dispatcher(conn: BlockingConnection) -> None:
    ran = threading.Event()
    caller_threads: list[str] = []

    def callback() -> None:
        caller_threads.append(threading.current_thread().name)
        ran.set()

    worker = threading.Thread(
        target=lambda: (time.sleep(0.2), conn.add_callback_threadsafe(callback)), name='other'
    )
    worker.start()
    conn.process_data_events(time_limit=None)  # blocks until something is dispatched
    worker.join()
    assert ran.is_set()
    assert caller_threads == [threading.current_thread().name]


def test_connection_blocked_callbacks_register(conn: BlockingConnection) -> None:
    conn.add_on_connection_blocked_callback(lambda *a: None)
    conn.add_on_connection_unblocked_callback(lambda *a: None)
    with pytest.raises(TypeError):
        conn.add_on_connection_blocked_callback('not callable')  # type: ignore[arg-type]
    opened: list[Any] = []
    conn.add_on_open_callback(opened.append)
    assert opened == [conn]


def test_argument_errors_raise_at_the_call(conn: BlockingConnection) -> None:
    channel = conn.channel()
    with pytest.raises(TypeError):
        channel.basic_publish('', 'rk', 12345)
    with pytest.raises(TypeError):
        channel.queue_declare(123)
    with pytest.raises(TypeError):
        channel.queue_declare('q', arguments=[('x-max-length', 1)])
    with pytest.raises(TypeError):
        channel.basic_consume('queue', 'not callable')
    with pytest.raises(ValueError):
        conn.process_data_events(time_limit=-1)
    assert channel.is_open


def test_on_close_callback_and_use_after_close(broker_params: Any) -> None:
    connection = BlockingConnection(broker_params)
    channel = connection.channel()
    reasons: list[Any] = []
    connection.add_on_close_callback(lambda c, reason: reasons.append(reason))
    connection.close()
    assert len(reasons) == 1 and isinstance(reasons[0], exceptions.ConnectionClosedByClient)
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.basic_publish('', 'rk', b'x')
    with pytest.raises(exceptions.ConnectionWrongStateError):
        connection.channel()


def test_update_secret_and_flow(conn: BlockingConnection) -> None:
    conn.update_secret('guest', 'same password, new secret')  # waits for UpdateSecretOk
    channel = conn.channel()
    assert channel.flow(True) is True
    assert conn.is_open and channel.is_open


def test_consumers_started_and_cancelled_in_a_loop_leave_bounded_state(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    for _ in range(400):
        channel.basic_cancel(channel.basic_consume(queue, lambda *args: None, auto_ack=True))
    assert channel.consumer_tags == []
    assert len(channel._cancelled_auto_ack) <= CANCELLED_REMEMBERED  # not one per consumer ever
