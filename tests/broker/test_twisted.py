"""`TwistedProtocolConnection`'s Deferred API against the real broker.

The global reactor cannot be restarted, so tests drive it with `reactor.iterate()` until the
Deferred under test has fired (`wait`), instead of `reactor.run()`.
"""

from __future__ import annotations

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
    assert wait(defer.gatherResults(confirmed)) == [None] * 5
    with pytest.raises(exceptions.UnroutableError) as info:
        wait(channel.basic_publish('', f'nobody.{uuid.uuid4().hex}', b'lost', mandatory=True))
    assert len(info.value.messages) == 1
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
    reason = wait(proto.closed)
    assert isinstance(reason, exceptions.AMQPConnectionError)
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
    assert wait(defer.gatherResults(confirms)) == [None] * 4  # every message still arrived
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
    assert wait(defer.gatherResults(confirms)) == [None] * 200
    assert pressured == []
