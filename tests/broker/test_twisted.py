"""`TwistedProtocolConnection`'s Deferred API against the real broker.

The global reactor cannot be restarted, so tests drive it with `reactor.iterate()` until the
Deferred under test has fired (`wait`), instead of `reactor.run()`.
"""

from __future__ import annotations

import inspect
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from twisted.internet import defer, protocol, reactor
from twisted.python.failure import Failure

import pika
from pika import exceptions, spec
from pika.adapters.twisted_connection import (
    ClosableDeferredQueue,
    ReceivedMessage,
    TwistedChannel,
    TwistedProtocolConnection,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker

_reactor: Any = reactor

#: the broker drops a test queue once unused, even if no consumer ever came (no residue)
EXPIRES = {'x-expires': 30000}


def wait(d: defer.Deferred[Any], timeout: float = 10.0) -> Any:
    """Iterate the reactor until `d` fires; return its result or raise its failure."""
    outcome: list[Any] = []
    d.addBoth(outcome.append)
    deadline = time.monotonic() + timeout
    while not outcome:
        if time.monotonic() > deadline:
            raise AssertionError(f'Deferred did not fire within {timeout} s')
        _reactor.iterate(0.01)
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


def connect(params: pika.ConnectionParameters) -> TwistedProtocolConnection:
    creator: Any = protocol.ClientCreator  # untyped in Twisted
    connected = creator(_reactor, TwistedProtocolConnection, params).connectTCP(
        params.host, params.port
    )
    return wait(connected)  # type: ignore[no-any-return]


@pytest.fixture
def params(broker_address: BrokerAddress) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)


@pytest.fixture
def conn(params: pika.ConnectionParameters) -> Iterator[TwistedProtocolConnection]:
    proto = connect(params)
    assert proto.ready is not None
    assert wait(proto.ready) is proto
    try:
        yield proto
    finally:
        if not proto.is_closed:
            wait(proto.close())


@pytest.fixture
def queue_name() -> str:
    return f'pikatest.twisted.{uuid.uuid4().hex}'


def test_declare_consume_publish_ack_cancel_close(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    assert conn.is_open
    channel = wait(conn.channel())
    assert isinstance(channel, TwistedChannel)
    declare_ok = wait(channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES))
    assert isinstance(declare_ok.method, spec.Queue.DeclareOk)
    queue_object, tag = wait(channel.basic_consume(queue=queue_name))
    assert isinstance(queue_object, ClosableDeferredQueue)
    assert tag in channel.consumer_tags
    assert wait(channel.basic_publish('', queue_name, b'hello')) is None
    ch, method, properties, body = wait(queue_object.get())
    assert ch is channel
    assert isinstance(method, spec.Basic.Deliver)
    assert isinstance(properties, spec.BasicProperties)
    assert body == b'hello'
    channel.basic_ack(method.delivery_tag)
    cancel_ok = wait(channel.basic_cancel(tag))
    assert isinstance(cancel_ok.method, spec.Basic.CancelOk)
    with pytest.raises(exceptions.ConsumerCancelled):
        wait(queue_object.get())
    reason = wait(conn.close())
    assert isinstance(reason, exceptions.ConnectionClosedByClient)
    assert conn.is_closed


def test_inline_callbacks_style(conn: TwistedProtocolConnection, queue_name: str) -> None:
    @defer.inlineCallbacks
    def run(connection: TwistedProtocolConnection) -> Any:
        channel = yield connection.channel()
        yield channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES)
        yield channel.basic_qos(prefetch_count=1)
        queue_object, _tag = yield channel.basic_consume(queue=queue_name)
        for i in range(3):
            yield channel.basic_publish('', queue_name, b'm%d' % i)
        bodies = []
        for _ in range(3):
            ch, method, _props, body = yield queue_object.get()
            bodies.append(body)
            ch.basic_ack(delivery_tag=method.delivery_tag)
        return bodies

    assert wait(run(conn)) == [b'm0', b'm1', b'm2']


def test_confirms_and_unroutable(conn: TwistedProtocolConnection, queue_name: str) -> None:
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES))
    select_ok = wait(channel.confirm_delivery())
    assert isinstance(select_ok.method, spec.Confirm.SelectOk)
    confirmed = [channel.basic_publish('', queue_name, b'%d' % i) for i in range(5)]
    acks = wait(defer.gatherResults(confirmed))  # pika 1.x: each fires with the Basic.Ack
    assert all(isinstance(ack, spec.Basic.Ack) for ack in acks)
    with pytest.raises(exceptions.UnroutableError) as info:
        wait(channel.basic_publish('', f'nobody.{uuid.uuid4().hex}', b'lost', mandatory=True))
    assert len(info.value.messages) == 1
    returned = info.value.messages[0]
    assert isinstance(returned, ReceivedMessage)
    assert returned.channel is channel
    assert isinstance(returned.method, spec.Basic.Return)
    assert returned.body == b'lost'
    get_ok = wait(channel.basic_get(queue=queue_name, auto_ack=True))
    assert get_ok[3] == b'0'


def test_broker_cancel_closes_queue_object(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, arguments=EXPIRES))
    queue_object, _tag = wait(channel.basic_consume(queue=queue_name))
    pending = queue_object.get()
    wait(channel.queue_delete(queue=queue_name))
    with pytest.raises(exceptions.ConsumerCancelled):
        wait(pending)


def test_channel_error_fails_deferreds(conn: TwistedProtocolConnection) -> None:
    channel = wait(conn.channel())
    declare = channel.queue_declare(queue=f'missing.{uuid.uuid4().hex}', passive=True)
    queued_behind = channel.basic_get(queue='anything')  # waits behind the declare, then fails
    with pytest.raises(exceptions.ChannelClosedByBroker) as info:
        wait(declare)
    assert info.value.reply_code == 404
    with pytest.raises(exceptions.ChannelClosedByBroker):
        wait(queued_behind)
    with pytest.raises(exceptions.ChannelClosedByBroker):
        wait(channel.queue_declare(queue='anything'))  # the channel is closed now
    assert conn.is_open
    other = wait(conn.channel())
    assert other.is_open


def test_basic_get_empty_is_none(conn: TwistedProtocolConnection, queue_name: str) -> None:
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES))
    assert wait(channel.basic_get(queue=queue_name)) is None
    assert wait(channel.basic_get(queue_name)) is None  # positional too (1.x form)
    assert wait(channel.basic_get(queue_name, auto_ack=True)) is None


def test_ready_errbacks_on_bad_credentials(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(
        host=broker_address.host,
        port=broker_address.port,
        credentials=pika.PlainCredentials('guest', 'wrong-password'),
    )
    proto = connect(params)
    assert proto.ready is not None
    with pytest.raises(exceptions.AMQPConnectionError):
        wait(proto.ready)
    assert proto.ready is None
    assert proto.closed is None  # as pika 1.x: `closed` only exists while the connection is open
    assert proto.is_closed


def test_add_callback_threadsafe_runs_in_reactor_thread(conn: TwistedProtocolConnection) -> None:
    ran_in: list[threading.Thread] = []
    done: defer.Deferred[None] = defer.Deferred()

    def callback() -> None:
        ran_in.append(threading.current_thread())
        done.callback(None)

    thread = threading.Thread(target=conn._impl.add_callback_threadsafe, args=(callback,))
    thread.start()
    wait(done)
    thread.join()
    assert ran_in == [threading.current_thread()]


def test_deferred_layer_names_are_importable_from_the_adapter_module() -> None:
    from pika.adapters import _twisted_channel, twisted_connection

    for name in ('ClosableDeferredQueue', 'TwistedChannel'):
        assert getattr(twisted_connection, name) is getattr(_twisted_channel, name)
    assert issubclass(TwistedProtocolConnection, _twisted_channel.DeferredConnectionAPI)
    assert issubclass(TwistedProtocolConnection, protocol.Protocol)


def test_backpressure_callback_while_the_transport_buffer_is_full(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    pressured: list[Any] = []
    with pytest.raises(TypeError):
        conn.add_backpressure_callback('not callable')  # type: ignore[arg-type]
    conn.add_backpressure_callback(pressured.append)
    conn.set_backpressure_multiplier(10)
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, exclusive=True))
    wait(channel.confirm_delivery())
    body = b'x' * (1 << 20)
    # One reactor turn: Twisted only buffers writes, so ~4 MiB wait unsent in the transport.
    confirms = [channel.basic_publish('', queue_name, body) for _ in range(4)]
    assert pressured and all(p is conn for p in pressured)
    acks = wait(defer.gatherResults(confirms))  # every message still arrived
    assert all(isinstance(ack, spec.Basic.Ack) for ack in acks)
    # The buffer has drained (the broker confirmed everything): small traffic no longer
    # reports backpressure.
    count = len(pressured)
    wait(defer.gatherResults([channel.basic_publish('', queue_name, b's') for _ in range(20)]))
    assert len(pressured) == count


def test_backpressure_silent_for_small_output(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    pressured: list[Any] = []
    conn.add_backpressure_callback(pressured.append)
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, exclusive=True))
    wait(channel.confirm_delivery())
    confirms = [channel.basic_publish('', queue_name, b'%d' % i) for i in range(200)]
    assert len(wait(defer.gatherResults(confirms))) == 200
    assert pressured == []


# -- pika 1.x parity: what each Deferred fires with (checked against pika 1.4.4) -------------


def test_positional_arguments_reach_the_channel_unchanged(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    channel = wait(conn.channel())
    exchange = f'{queue_name}.x'
    # exchange, exchange_type, passive, durable, auto_delete
    declare_ok = wait(channel.exchange_declare(exchange, 'fanout', False, False, False))
    assert isinstance(declare_ok.method, spec.Exchange.DeclareOk)
    # queue, passive, durable, exclusive, auto_delete, arguments
    declare_ok = wait(channel.queue_declare(queue_name, False, False, True, False, EXPIRES))
    assert declare_ok.method.queue == queue_name
    assert isinstance(
        wait(channel.queue_bind(queue_name, exchange, 'rk')).method, spec.Queue.BindOk
    )
    unbind_ok = wait(channel.queue_unbind(queue_name, exchange, 'rk'))
    assert isinstance(unbind_ok.method, spec.Queue.UnbindOk)
    assert isinstance(wait(channel.basic_qos(0, 5)).method, spec.Basic.QosOk)
    wait(channel.basic_publish('', queue_name, b'positional'))
    message = wait(channel.basic_get(queue_name, True))  # queue, auto_ack
    assert isinstance(message, ReceivedMessage)
    assert message.body == b'positional'
    _queue_object, tag = wait(channel.basic_consume(queue_name, False, False, 'my-tag'))
    assert tag == 'my-tag'
    assert channel.consumer_tags == ['my-tag']
    cancel_ok = wait(channel.basic_cancel('my-tag'))
    assert cancel_ok.method.consumer_tag == 'my-tag'
    purge_ok = wait(channel.queue_purge(queue_name))
    assert isinstance(purge_ok.method, spec.Queue.PurgeOk)
    assert isinstance(wait(channel.exchange_delete(exchange)).method, spec.Exchange.DeleteOk)


def test_results_of_flow_tx_get_and_consume(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES))
    assert wait(channel.flow(True)) is True  # the broker's `active` flag, as pika's
    assert wait(channel.flow()) is True  # `active` defaults to True
    assert isinstance(wait(channel.basic_recover(requeue=True)).method, spec.Basic.RecoverOk)
    assert isinstance(wait(channel.tx_select()).method, spec.Tx.SelectOk)
    assert wait(channel.basic_publish('', queue_name, b'tx')) is None
    assert isinstance(wait(channel.tx_commit()).method, spec.Tx.CommitOk)
    assert isinstance(wait(channel.tx_rollback()).method, spec.Tx.RollbackOk)
    message = wait(channel.basic_get(queue=queue_name, auto_ack=True))
    assert isinstance(message, ReceivedMessage)
    channel_, method, properties, body = message  # still a 4-tuple
    assert channel_ is channel and body == b'tx'
    assert isinstance(method, spec.Basic.GetOk)
    assert isinstance(properties, spec.BasicProperties)
    queue_object, _tag = wait(channel.basic_consume(queue=queue_name, auto_ack=True))
    wait(channel.basic_publish('', queue_name, b'consumed'))
    wait(channel.tx_commit())  # the channel is still transactional
    delivered = wait(queue_object.get())
    assert isinstance(delivered, ReceivedMessage)
    assert delivered.body == b'consumed' and delivered.channel is channel


def test_basic_get_while_one_is_pending_raises(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    channel = wait(conn.channel())
    wait(channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES))
    first = channel.basic_get(queue=queue_name)
    with pytest.raises(exceptions.DuplicateGetOkCallback):
        channel.basic_get(queue=queue_name)
    assert wait(first) is None
    assert wait(channel.basic_get(queue_name)) is None  # answered: a new get is fine


def test_return_callback_gets_a_received_message(
    conn: TwistedProtocolConnection, queue_name: str
) -> None:
    channel = wait(conn.channel())
    returned: list[Any] = []
    with pytest.raises(TypeError):
        channel.add_on_return_callback('not callable')
    channel.add_on_return_callback(returned.append)
    wait(channel.basic_publish('amq.direct', queue_name, b'nowhere', mandatory=True))
    wait(channel.queue_declare(queue=queue_name, auto_delete=True, arguments=EXPIRES))  # a turn
    assert len(returned) == 1
    assert isinstance(returned[0], ReceivedMessage)
    assert returned[0].channel is channel and returned[0].body == b'nowhere'
    assert returned[0].method.reply_code == 312


def test_channel_close_returns_none_and_on_closed_fires(conn: TwistedProtocolConnection) -> None:
    channel = wait(conn.channel())
    assert repr(channel).startswith(
        f'<TwistedChannel channel=<Channel number={channel.channel_number}'
    )
    assert channel.close() is None
    assert 'CLOSING' in repr(channel)
    reason = wait(channel.on_closed)
    assert isinstance(reason, exceptions.ChannelClosedByClient)
    assert 'CLOSED' in repr(channel)
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.close()
    with pytest.raises(exceptions.ChannelClosedByClient):
        wait(channel.basic_publish('', 'q', b'x'))  # a closed channel: a failed Deferred


def test_on_closed_fires_with_the_broker_reason(conn: TwistedProtocolConnection) -> None:
    channel = wait(conn.channel())
    failed = channel.queue_declare(queue=f'missing.{uuid.uuid4().hex}', passive=True)
    reason = wait(channel.on_closed)
    assert isinstance(reason, exceptions.ChannelClosedByBroker) and reason.reply_code == 404
    with pytest.raises(exceptions.ChannelClosedByBroker):
        wait(failed)


def test_publish_argument_errors_raise_at_the_call(conn: TwistedProtocolConnection) -> None:
    channel = wait(conn.channel())
    with pytest.raises(TypeError):
        channel.basic_publish('', 'q', 123)
    with pytest.raises(TypeError):  # other methods report them through the Deferred, as pika's
        wait(channel.queue_declare(123))


def test_connection_closed_deferred_lifecycle(params: pika.ConnectionParameters) -> None:
    proto = TwistedProtocolConnection(params)
    assert repr(proto).startswith('<pika.adapters.twisted_connection.TwistedProtocolConnection')
    assert proto.closed is None  # pika 1.x: no `closed` before the connection is open
    creator: Any = protocol.ClientCreator
    wait(creator(_reactor, lambda: proto).connectTCP(params.host, params.port))
    assert proto.ready is not None
    wait(proto.ready)
    assert proto.ready is None
    closed = proto.closed
    assert isinstance(closed, defer.Deferred) and not closed.called
    assert proto.close() is closed
    reason = wait(closed)
    assert isinstance(reason, exceptions.ConnectionClosedByClient)
    assert proto.closed is None
    assert proto.close() is None  # already closed: nothing to wait for
    with pytest.raises(exceptions.ConnectionWrongStateError):
        proto.channel()


def test_close_while_opening_fails_ready(params: pika.ConnectionParameters) -> None:
    proto = TwistedProtocolConnection(params)
    creator: Any = protocol.ClientCreator
    wait(creator(_reactor, lambda: proto).connectTCP(params.host, params.port))
    assert proto.close() is None
    assert proto.ready is not None  # as pika's: still there to wait on
    with pytest.raises(exceptions.AMQPConnectionError):
        wait(proto.ready)
    assert proto.is_closed and proto.closed is None


def test_closable_deferred_queue_put_get_close_and_repr() -> None:
    queue_object = ClosableDeferredQueue()
    assert repr(queue_object).startswith(
        '<pika.adapters.twisted_connection.ClosableDeferredQueue object at 0x'
    )
    assert queue_object.put('a') is None
    waiting = ClosableDeferredQueue()
    pending_get = waiting.get()
    waiting.close(ValueError('first'))
    with pytest.raises(ValueError, match='first'):
        wait(pending_get)
    queue_object.close(exceptions.ConsumerCancelled('tag'))
    assert isinstance(queue_object.closed, exceptions.ConsumerCancelled)
    assert wait(queue_object.get()) == 'a'  # what was queued before the close is still read
    with pytest.raises(exceptions.ConsumerCancelled):
        wait(queue_object.get())
    refused = queue_object.put('b')
    assert isinstance(refused, defer.Deferred)
    with pytest.raises(exceptions.ConsumerCancelled):
        wait(refused)
    queue_object.close(KeyError('second'))  # closing again replaces the reason, as pika's
    with pytest.raises(KeyError):
        wait(queue_object.get())
    anonymous = ClosableDeferredQueue()
    anonymous.close(None)
    assert anonymous.closed is None
    with pytest.raises(exceptions.AMQPError):
        wait(anonymous.get())


def test_twisted_channel_signatures_are_pika_1x() -> None:
    def params(name: str) -> list[tuple[str, Any]]:
        signature = inspect.signature(getattr(TwistedChannel, name))
        return [(p.name, p.default) for p in signature.parameters.values()][1:]

    empty = inspect.Parameter.empty
    assert params('basic_consume') == [
        ('queue', empty),
        ('auto_ack', False),
        ('exclusive', False),
        ('consumer_tag', None),
        ('arguments', None),
    ]
    assert params('basic_get') == [('queue', empty), ('auto_ack', False)]
    assert params('flow') == [('active', True)]
    assert params('basic_cancel') == [('consumer_tag', '')]
    assert params('close') == [('reply_code', 0), ('reply_text', 'Normal shutdown')]


def test_public_names_live_in_twisted_connection() -> None:
    for cls in (ClosableDeferredQueue, TwistedChannel, ReceivedMessage):
        assert cls.__module__ == 'pika.adapters.twisted_connection'
    assert ReceivedMessage._fields == ('channel', 'method', 'properties', 'body')


# -- a consumer that drains its queue object more slowly than the broker sends ---------------


def _fill_private(private_broker: Any, queue: str, count: int, body: bytes) -> None:
    blocking = pika.BlockingConnection(pika.URLParameters(private_broker.url))
    channel = blocking.channel()
    channel.queue_declare(queue)
    for _ in range(count):
        channel.basic_publish('', queue, body)
    while channel.queue_declare(queue, passive=True).method.message_count < count:
        pass
    blocking.close()


@pytest.mark.private_broker
@pytest.mark.parametrize('bounded', [True, False])
def test_slow_queue_reader_pauses_reading(private_broker: Any, bounded: bool) -> None:
    """A queue object drained one message per reactor turn: with the backlog marks (32/16
    messages) it never holds more than the high mark plus one read; with them off (0) it
    takes in most of the queue, as before the backlog existed (and as pika 1.4.4 does)."""
    from pika.adapters._io.backlog import delivery_cost

    count, body = 1000, b'x' * 10240
    cost = delivery_cost(body)
    queue = f'pikatest.twisted.backlog.{uuid.uuid4().hex}'
    _fill_private(private_broker, queue, count, body)
    high = 32 * cost if bounded else 0
    params = pika.ConnectionParameters(
        host=private_broker.host,
        port=private_broker.port,
        delivery_backlog_high=high,
        delivery_backlog_low=16 * cost,
    )
    proto = connect(params)
    wait(proto.ready)
    try:
        channel = wait(proto.channel())
        queue_object, _tag = wait(channel.basic_consume(queue=queue))
        most = got = 0
        while got < count:
            most = max(most, len(queue_object.pending))
            _ch, method, _props, _body = wait(queue_object.get())
            channel.basic_ack(method.delivery_tag)
            got += 1
            _reactor.iterate(0.001)  # the application's other work: the reactor reads meanwhile
        if bounded:
            assert most <= 32 + 16, most  # high mark + one 64 KiB read (6 messages) + slack
        else:
            assert most > 200, most
        wait(channel.queue_delete(queue))
    finally:
        if not proto.is_closed:
            wait(proto.close())
