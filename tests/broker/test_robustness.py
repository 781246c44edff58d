"""Robustness: every blocking wait is bounded, a dropped socket is reported at once, a confirmed
message survives a broker crash, and a raising consumer callback loses no delivery.

Silent networks are simulated with a paused :class:`TcpProxy` in front of the shared broker;
crashes and freezes use a private RabbitMQ node (the shared broker is never touched).
Heartbeats are off (``heartbeat=0``) wherever the point is that the *bounds* apply on their own.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

import pytest

import pika
from pika import exceptions, spec
from pika.adapters.blocking_connection import BlockingConnection
from pika.adapters.select_connection import SelectConnection

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker
    from tests.helpers.tcp_proxy import TcpProxy

pytestmark = pytest.mark.broker

BOUND = 1.0  # rpc_timeout used by the bounded-wait tests
SLACK = 4.0  # what "promptly" allows beyond a bound on a loaded machine


def _via(proxy: TcpProxy, **overrides: Any) -> pika.ConnectionParameters:
    overrides.setdefault('heartbeat', 0)
    return pika.ConnectionParameters(host=proxy.host, port=proxy.port, **overrides)


# -- rule 3: every blocking call can time out ------------------------------------------------


def _consume_then_next(conn: BlockingConnection, ch: Any, queue: str) -> Any:
    return next(ch.consume(queue, inactivity_timeout=BOUND))


#: name -> (setup before the network goes silent, the call that must end within the bound)
BOUNDED_CALLS: dict[str, Callable[[BlockingConnection, Any, str], Any]] = {
    'channel': lambda conn, ch, q: conn.channel(),
    'queue_declare': lambda conn, ch, q: ch.queue_declare(q, passive=True),
    'exchange_declare': lambda conn, ch, q: ch.exchange_declare('amq.direct', passive=True),
    'queue_bind': lambda conn, ch, q: ch.queue_bind(q, 'amq.direct', routing_key=q),
    'queue_purge': lambda conn, ch, q: ch.queue_purge(q),
    'basic_qos': lambda conn, ch, q: ch.basic_qos(prefetch_count=5),
    'basic_get': lambda conn, ch, q: ch.basic_get(q),
    'basic_consume': lambda conn, ch, q: ch.basic_consume(q, lambda *a: None),
    'confirm_delivery': lambda conn, ch, q: ch.confirm_delivery(),
    'tx_select': lambda conn, ch, q: ch.tx_select(),
    'basic_recover': lambda conn, ch, q: ch.basic_recover(requeue=True),
    'channel_close': lambda conn, ch, q: ch.close(),
    'consume_generator_start': lambda conn, ch, q: next(ch.consume(q)),
    'queue_delete': lambda conn, ch, q: ch.queue_delete(q),
    'queue_unbind': lambda conn, ch, q: ch.queue_unbind(q, 'amq.direct', routing_key=q),
    'exchange_bind': lambda conn, ch, q: ch.exchange_bind('amq.fanout', 'amq.direct'),
    'flow': lambda conn, ch, q: ch.flow(True),
}


@pytest.mark.parametrize('name', sorted(BOUNDED_CALLS))
def test_blocking_call_on_silent_network_raises_operation_timeout(
    name: str, proxy: TcpProxy
) -> None:
    connection = BlockingConnection(_via(proxy), rpc_timeout=BOUND)
    try:
        channel = connection.channel()
        queue = channel.queue_declare('', exclusive=True).method.queue
        proxy.pause()
        start = time.monotonic()
        with pytest.raises(exceptions.OperationTimeout):
            BOUNDED_CALLS[name](connection, channel, queue)
        assert BOUND * 0.9 <= time.monotonic() - start < BOUND + SLACK
    finally:
        proxy.close_all()


def test_confirmed_publish_on_silent_network_raises_operation_timeout(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy), rpc_timeout=BOUND)
    try:
        channel = connection.channel()
        queue = channel.queue_declare('', exclusive=True).method.queue
        channel.confirm_delivery()
        channel.basic_publish('', queue, b'before')  # confirmed normally
        proxy.pause()
        start = time.monotonic()
        with pytest.raises(exceptions.OperationTimeout):
            channel.basic_publish('', queue, b'during')
        assert time.monotonic() - start < BOUND + SLACK
    finally:
        proxy.close_all()


def test_waits_that_end_quietly_are_bounded_too(proxy: TcpProxy) -> None:
    """consume(inactivity_timeout) yields None, process_data_events/sleep return, close() gives
    up after its bound and leaves the connection closed."""
    connection = BlockingConnection(_via(proxy), rpc_timeout=BOUND)
    channel = connection.channel()
    queue = channel.queue_declare('', exclusive=True).method.queue
    generator = channel.consume(queue, inactivity_timeout=0.5)
    assert next(generator) == (None, None, None)  # the consumer starts at the first next()
    proxy.pause()
    try:
        start = time.monotonic()
        assert next(generator) == (None, None, None)
        connection.process_data_events(time_limit=0.5)
        connection.sleep(0.3)
        assert time.monotonic() - start < 1.3 + SLACK
        start = time.monotonic()
        connection.close()  # the CloseOk never comes: gives up at the bound
        assert time.monotonic() - start < BOUND + SLACK
        assert connection.is_closed
    finally:
        proxy.close_all()


@pytest.mark.private_broker
def test_frozen_private_broker_bounds_connect_rpc_publish_and_close(
    private_broker: PrivateBroker,
) -> None:
    params = pika.URLParameters(private_broker.url)
    params.heartbeat = 0
    connection = BlockingConnection(params, rpc_timeout=BOUND)
    channel = connection.channel()
    channel.confirm_delivery()
    queue = channel.queue_declare('', exclusive=True).method.queue
    private_broker.freeze()
    try:
        # A new connection: the kernel accepts the TCP connect, the handshake never completes.
        start = time.monotonic()
        frozen_params = pika.URLParameters(private_broker.url)
        frozen_params.heartbeat = 0
        frozen_params.stack_timeout = BOUND
        with pytest.raises(exceptions.AMQPConnectionError):
            BlockingConnection(frozen_params)
        assert time.monotonic() - start < BOUND + SLACK

        for call in (
            lambda: channel.queue_declare(queue, passive=True),
            lambda: channel.basic_publish('', queue, b'x'),
            lambda: channel.basic_get(queue),
            lambda: connection.channel(),
        ):
            start = time.monotonic()
            with pytest.raises(exceptions.OperationTimeout):
                call()
            assert time.monotonic() - start < BOUND + SLACK
        start = time.monotonic()
        connection.close()
        assert time.monotonic() - start < BOUND + SLACK
        assert connection.is_closed
    finally:
        private_broker.thaw()


def test_close_on_a_dead_connection_returns_promptly(proxy: TcpProxy) -> None:
    """Dead but not yet noticed: close() finds out and returns; already known dead: close()
    raises ConnectionWrongStateError at once (as pika does)."""
    connection = BlockingConnection(_via(proxy), rpc_timeout=30)
    connection.channel()
    proxy.close_all()
    time.sleep(0.2)
    start = time.monotonic()
    connection.close()
    assert time.monotonic() - start < SLACK
    assert connection.is_closed
    start = time.monotonic()
    with pytest.raises(exceptions.ConnectionWrongStateError):
        connection.close()
    assert time.monotonic() - start < SLACK


# -- a socket closed mid-call -----------------------------------------------------------------


def test_blocking_socket_closed_mid_call_raises_stream_lost(proxy: TcpProxy) -> None:
    connection = BlockingConnection(_via(proxy), rpc_timeout=30)
    channel = connection.channel()
    proxy.pause()  # the RPC below is stuck in flight...
    threading.Timer(0.3, proxy.close_all).start()  # ...until the stream is dropped
    start = time.monotonic()
    with pytest.raises(exceptions.StreamLostError):
        channel.queue_declare('', exclusive=True)
    assert time.monotonic() - start < SLACK
    assert connection.is_closed
    with pytest.raises(exceptions.AMQPError):
        channel.basic_publish('', 'x', b'y')


def test_select_socket_closed_mid_call_reports_stream_lost(proxy: TcpProxy) -> None:
    outcome: dict[str, Any] = {}

    def on_channel(channel: Any) -> None:
        proxy.pause()
        channel.queue_declare('', exclusive=True, callback=lambda f: outcome.update(ok=f))
        threading.Timer(0.3, proxy.close_all).start()
        outcome['asked'] = time.monotonic()

    def on_close(conn: SelectConnection, error: BaseException) -> None:
        outcome['error'] = error
        outcome['after'] = time.monotonic() - outcome.get('asked', 0)
        conn.ioloop.stop()

    conn = SelectConnection(
        _via(proxy),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_open_error_callback=on_close,
        on_close_callback=on_close,
    )
    guard = conn.ioloop.call_later(20, conn.ioloop.stop)
    conn.ioloop.start()
    conn.ioloop.remove_timeout(guard)
    conn.ioloop.close()
    assert isinstance(outcome.get('error'), exceptions.StreamLostError), outcome
    assert 'ok' not in outcome
    assert outcome['after'] < SLACK


# -- rule 4: never lose a confirmed message ---------------------------------------------------

N_MESSAGES = 5000
KILL_AFTER = 800  # confirms seen before the node is killed


def _surviving_ids(broker: PrivateBroker, queue: str, killer: threading.Thread) -> set[int]:
    """Restart the killed node, reconnect, and drain ``queue``: the message ids it holds.

    The client sees its socket die as soon as the VM is gone, possibly before ``killer`` has
    reaped the node's launcher; until then the node still counts as running and ``start()``
    would not restart it. So wait for the kill to finish first.
    """
    killer.join(timeout=60)
    assert not killer.is_alive(), 'killing the private node took over 60 s'
    broker.start()
    connection = BlockingConnection(pika.URLParameters(broker.url), rpc_timeout=30)
    try:
        channel = connection.channel()
        count = channel.queue_declare(queue, durable=True, passive=True).method.message_count
        ids: set[int] = set()
        for method, _props, body in channel.consume(queue, inactivity_timeout=2):
            if method is None:
                break
            ids.add(int(body))
            channel.basic_ack(method.delivery_tag)
        assert len(ids) == count
        channel.queue_delete(queue)
    finally:
        connection.close()
    return ids


def _declare_durable(broker: PrivateBroker, queue: str) -> None:
    connection = BlockingConnection(pika.URLParameters(broker.url))
    try:
        connection.channel().queue_declare(queue, durable=True)
    finally:
        connection.close()


PERSISTENT = spec.BasicProperties(delivery_mode=2)


@pytest.mark.private_broker
def test_blocking_confirmed_messages_survive_kill_9(private_broker: PrivateBroker) -> None:
    queue = f'pikatest.confirm.{uuid.uuid4().hex}'
    _declare_durable(private_broker, queue)
    params = pika.URLParameters(private_broker.url)
    params.heartbeat = 0
    connection = BlockingConnection(params, rpc_timeout=30)
    channel = connection.channel()
    channel.confirm_delivery()
    confirmed: list[int] = []
    failure: BaseException | None = None
    killer = threading.Thread(target=private_broker.kill, daemon=True)
    for number in range(N_MESSAGES):
        if len(confirmed) == KILL_AFTER:
            killer.start()
        try:
            channel.basic_publish('', queue, str(number).encode(), PERSISTENT)
        except exceptions.AMQPError as error:
            failure = error
            break
        confirmed.append(number)  # basic_publish returned: the broker acked it
    assert isinstance(failure, (exceptions.StreamLostError, exceptions.ConnectionClosed)), failure
    assert KILL_AFTER <= len(confirmed) < N_MESSAGES
    survivors = _surviving_ids(private_broker, queue, killer)
    missing = set(confirmed) - survivors
    assert not missing, f'{len(missing)} confirmed messages lost, e.g. {sorted(missing)[:5]}'


@pytest.mark.private_broker
def test_select_confirmed_messages_survive_kill_9(private_broker: PrivateBroker) -> None:
    queue = f'pikatest.confirm.{uuid.uuid4().hex}'
    _declare_durable(private_broker, queue)
    params = pika.URLParameters(private_broker.url)
    params.heartbeat = 0
    state: dict[str, Any] = {
        'tag_to_id': {},
        'confirmed': set(),
        'nacked': set(),
        'multiple_acks': 0,
        'killed': False,
        'error': None,
        'published': 0,
    }
    killer = threading.Thread(target=private_broker.kill, daemon=True)

    def on_confirm(method_frame: Any) -> None:
        method = method_frame.method
        outcome = state['confirmed'] if isinstance(method, spec.Basic.Ack) else state['nacked']
        tags = state['tag_to_id']
        if method.multiple:
            state['multiple_acks'] += 1
            done = [t for t in tags if t <= method.delivery_tag]
        else:
            done = [method.delivery_tag] if method.delivery_tag in tags else []
        for tag in done:
            outcome.add(tags.pop(tag))
        if len(state['confirmed']) >= KILL_AFTER and not state['killed']:
            state['killed'] = True
            killer.start()

    def publish_some(channel: Any) -> None:
        """Publish in batches so confirms interleave with publishing (as a real app would)."""
        if channel.is_closed:
            return
        for _ in range(250):
            number = state['published']
            if number >= N_MESSAGES:
                return
            channel.basic_publish('', queue, str(number).encode(), PERSISTENT)
            state['published'] += 1
            state['tag_to_id'][state['published']] = number  # delivery tags start at 1
        channel.connection.ioloop.call_later(0.01, lambda: publish_some(channel))

    def on_channel(channel: Any) -> None:
        channel.confirm_delivery(
            ack_nack_callback=on_confirm, callback=lambda f: publish_some(channel)
        )

    def on_close(conn: SelectConnection, error: BaseException) -> None:
        state['error'] = error
        conn.ioloop.stop()

    conn = SelectConnection(
        params,
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_open_error_callback=on_close,
        on_close_callback=on_close,
    )
    guard = conn.ioloop.call_later(120, conn.ioloop.stop)
    conn.ioloop.start()
    conn.ioloop.remove_timeout(guard)
    conn.ioloop.close()

    # The publisher was told: the connection closed with an error, the tail stays unconfirmed.
    assert isinstance(state['error'], (exceptions.StreamLostError, exceptions.ConnectionClosed))
    assert state['killed']
    assert state['multiple_acks'] > 0, 'the broker never sent multiple=True: test too weak'
    assert not state['nacked']
    assert len(state['confirmed']) >= KILL_AFTER
    survivors = _surviving_ids(private_broker, queue, killer)
    missing = state['confirmed'] - survivors
    assert not missing, f'{len(missing)} confirmed messages lost, e.g. {sorted(missing)[:5]}'


# -- rule 5: a raising consumer callback loses no delivery (blocking) -------------------------


def test_blocking_start_consuming_propagates_and_keeps_deliveries(
    broker_params: Any, unique_name: str
) -> None:
    connection = BlockingConnection(broker_params)
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name, exclusive=True)
        for number in range(20):
            channel.basic_publish('', unique_name, str(number).encode())
        channel.basic_qos(prefetch_count=20)
        seen: list[tuple[int, bool]] = []
        raised = []

        def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            number = int(body)
            seen.append((number, method.redelivered))
            ch.basic_ack(method.delivery_tag)
            if number == 3 and not raised:
                raised.append(number)
                raise RuntimeError('user bug in callback')
            if len(seen) == 20:
                ch.stop_consuming()

        channel.basic_consume(unique_name, on_message)
        with pytest.raises(RuntimeError, match='user bug'):
            channel.start_consuming()
        assert [n for n, _ in seen] == [0, 1, 2, 3]
        assert connection.is_open and channel.is_open
        # Deliveries read with the batch that held message 3 were received but not dispatched
        # when the callback raised: they must still be there (not dropped, not requeued).
        assert len(channel._slot.pending) > 0, 'nothing was buffered: the test proves nothing'
        channel.start_consuming()
        assert [n for n, _ in seen] == list(range(20))
        assert not any(redelivered for _, redelivered in seen), 'deliveries were requeued'
        assert channel.queue_declare(unique_name, passive=True).method.message_count == 0
    finally:
        if connection.is_open:
            connection.close()


def test_blocking_publish_without_confirms_reports_a_dead_stream(proxy: TcpProxy) -> None:
    """Without confirms the kernel may accept one publish after the peer hung up (nobody can
    know yet), but the send that fails must raise, not drop the message silently."""
    connection = BlockingConnection(_via(proxy))
    channel = connection.channel()
    proxy.close_all()
    time.sleep(0.2)
    outcomes: list[str] = []
    for _ in range(5):
        try:
            channel.basic_publish('', 'pikatest.nowhere', b'x' * 1000)
            outcomes.append('returned')
        except exceptions.StreamLostError:
            outcomes.append('lost')
            break
    assert outcomes[-1] == 'lost', outcomes
    assert len(outcomes) <= 2, outcomes
    with pytest.raises(exceptions.AMQPError):
        channel.basic_publish('', 'pikatest.nowhere', b'x')
    assert connection.is_closed
