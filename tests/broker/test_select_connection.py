"""SelectConnection and the callback Channel against the real RabbitMQ, for every poller.

Each scenario opens a connection and a channel, chains callbacks, and calls `done()` (which
closes the connection; the IOLoop then stops on its own). Assertions made inside callbacks
propagate out of `ioloop.start()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pytest

import pika
from pika import exceptions, frame, spec
from pika.adapters import select_connection
from pika.adapters._io import transport as _transport
from pika.adapters.select_connection import SelectConnection
from tests.helpers.select_loop import run_until_stopped
from tests.helpers.server_frames import methods
from tests.helpers.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from pika.channel import Channel

pytestmark = pytest.mark.broker

POLLERS = select_connection.available_poller_types()

Scenario = Callable[[SelectConnection, 'Channel', Callable[[], None]], None]


@pytest.fixture(params=POLLERS, autouse=True)
def poller(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test once per poller the platform offers."""
    monkeypatch.setattr(select_connection, 'POLLER_TYPE', request.param)
    return str(request.param)


def drive(connection: SelectConnection, timeout: float = 15.0) -> None:
    """Run the loop until the connection stops it; always leave it closed and the loop freed."""

    def expired() -> None:
        raise AssertionError(f'scenario did not finish within {timeout} s')

    run_until_stopped(connection, timeout, expired)


def run_scenario(params: pika.ConnectionParameters, scenario: Scenario) -> SelectConnection:
    """Open a connection and a channel, then run `scenario(connection, channel, done)`."""
    failures: list[BaseException] = []

    def on_open(connection: SelectConnection) -> None:
        connection.channel(on_open_callback=lambda ch: scenario(connection, ch, connection.close))

    def on_open_error(connection: SelectConnection, error: BaseException) -> None:
        failures.append(error)
        connection.ioloop.stop()

    connection = SelectConnection(
        params, on_open_callback=on_open, on_open_error_callback=on_open_error
    )
    drive(connection)
    assert not failures, failures
    assert connection.is_closed
    return connection


def test_connection_and_channel_basics(broker_params: pika.ConnectionParameters) -> None:
    seen: dict[str, Any] = {}

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        seen['first'] = ch.channel_number
        assert conn.is_open and not conn.is_closing and not conn.is_closed
        assert conn.publisher_confirms and conn.basic_nack
        assert conn.consumer_cancel_notify and conn.exchange_exchange_bindings
        seen['product'] = conn.server_properties['product']

        def legacy_open(second: Channel) -> None:
            seen['second'] = second
            assert second.is_open
            second.add_on_close_callback(lambda c, exc: seen.setdefault('closed', exc))
            second.close()

        conn.channel(legacy_open)  # the seed's form: callable first
        with pytest.raises(TypeError):
            conn.channel('one')  # type: ignore[arg-type]
        conn.call_later(0.2, done)

    conn = run_scenario(broker_params, scenario)
    assert seen['first'] == 1
    assert seen['product'] in ('RabbitMQ', b'RabbitMQ')
    assert seen['second'].channel_number == 2
    assert isinstance(seen['closed'], exceptions.ChannelClosedByClient)
    with pytest.raises(exceptions.ConnectionWrongStateError):
        conn.channel()
    with pytest.raises(exceptions.ConnectionWrongStateError):
        conn.close()


def test_queue_methods_modern_form(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    q = unique_name
    log: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def declared(f: frame.Method) -> None:
            assert isinstance(f, frame.Method) and f.channel_number == ch.channel_number
            log.append(f.method)
            ch.queue_bind(q, 'amq.direct', routing_key=q, callback=bound)

        def bound(f: frame.Method) -> None:
            log.append(f.method)
            ch.basic_publish('amq.direct', q, b'one')
            ch.basic_publish('amq.direct', q, 'two')  # str body: utf-8 encoded
            ch.basic_get(q, got_one)

        def got_one(channel: Channel, method: Any, props: Any, body: bytes) -> None:
            assert channel is ch
            log.append((method, body))
            ch.basic_ack(method.delivery_tag)
            ch.queue_purge(q, callback=purged)

        def purged(f: frame.Method) -> None:
            log.append(f.method)
            ch.queue_unbind(q, 'amq.direct', q, callback=unbound)

        def unbound(f: frame.Method) -> None:
            log.append(f.method)
            ch.basic_publish('amq.direct', q, b'lost: no binding')
            # pika 1.x: an empty queue never reaches the callback; the next RPC's reply does
            ch.basic_get(q, got_empty, auto_ack=True)
            ch.queue_delete(q, callback=deleted)

        def got_empty(channel: Channel, method: Any, props: Any, body: Any) -> None:
            log.append(('callback called', method, props, body))

        def deleted(f: frame.Method) -> None:
            log.append(f.method)
            done()

        ch.queue_declare(q, auto_delete=True, callback=declared)

    run_scenario(broker_params, scenario)
    declare_ok, bind_ok, (get_ok, body), purge_ok, unbind_ok, delete_ok = log
    assert isinstance(declare_ok, spec.Queue.DeclareOk) and declare_ok.queue == q
    assert isinstance(bind_ok, spec.Queue.BindOk)
    assert isinstance(get_ok, spec.Basic.GetOk) and body == b'one'
    assert get_ok.message_count == 1
    assert isinstance(purge_ok, spec.Queue.PurgeOk) and purge_ok.message_count == 1
    assert isinstance(unbind_ok, spec.Queue.UnbindOk)
    assert isinstance(delete_ok, spec.Queue.DeleteOk)


def test_queue_methods_legacy_form(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    q = unique_name
    log: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def declared(f: frame.Method) -> None:
            log.append(f.method)
            ch.queue_bind(bound, q, 'amq.direct', q)

        def bound(f: frame.Method) -> None:
            ch.basic_publish('amq.direct', q, b'legacy')
            ch.basic_consume(on_message, queue=q, no_ack=True)

        def on_message(channel: Channel, method: Any, props: Any, body: bytes) -> None:
            log.append(body)
            ch.queue_delete(deleted, q)

        def deleted(f: frame.Method) -> None:
            log.append(f.method)
            done()

        ch.queue_declare(declared, q, False, False, False, True)

    run_scenario(broker_params, scenario)
    assert isinstance(log[0], spec.Queue.DeclareOk)
    assert log[1] == b'legacy'
    assert isinstance(log[2], spec.Queue.DeleteOk)


def test_consume_ack_nack_reject(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    q = unique_name
    deliveries: list[tuple[bytes, bool]] = []
    result: dict[str, Any] = {}

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def declared(_f: frame.Method) -> None:
            for body in (b'ack-me', b'nack-me', b'reject-me'):
                ch.basic_publish('', q, body)
            result['tag'] = ch.basic_consume(q, on_message)

        def on_message(channel: Channel, method: Any, props: Any, body: bytes) -> None:
            deliveries.append((body, method.redelivered))
            if body == b'ack-me' or (body == b'nack-me' and method.redelivered):
                ch.basic_ack(method.delivery_tag)
            elif body == b'nack-me':
                ch.basic_nack(method.delivery_tag, requeue=True)
            else:
                ch.basic_reject(method.delivery_tag, requeue=False)
            if len(deliveries) == 4:
                ch.basic_cancel(result['tag'], callback=cancelled)

        def cancelled(f: frame.Method) -> None:
            result['cancel_ok'] = f.method
            result['tags_after'] = ch.consumer_tags
            ch.queue_declare(q, passive=True, callback=checked)

        def checked(f: frame.Method) -> None:
            result['left'] = f.method.message_count
            done()

        ch.queue_declare(q, exclusive=True, callback=declared)

    run_scenario(broker_params, scenario)
    assert sorted(deliveries) == sorted(
        [(b'ack-me', False), (b'nack-me', False), (b'reject-me', False), (b'nack-me', True)]
    )
    assert result['tag'].startswith('ctag1.')
    assert isinstance(result['cancel_ok'], spec.Basic.CancelOk)
    assert result['cancel_ok'].consumer_tag == result['tag']
    assert result['tags_after'] == []
    assert result['left'] == 0


def test_exchange_bind_unbind(broker_params: pika.ConnectionParameters, unique_name: str) -> None:
    src, dst, q = unique_name + '.src', unique_name + '.dst', unique_name
    log: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        steps = iter(
            [
                lambda: ch.exchange_declare(dst, 'fanout', auto_delete=True, callback=step),
                lambda: ch.exchange_declare(exchange=src, type='fanout', callback=step),
                lambda: ch.queue_declare(q, exclusive=True, callback=step),
                lambda: ch.queue_bind(q, dst, callback=step),
                lambda: ch.exchange_bind(dst, src, routing_key='', callback=step),
                lambda: publish_then_get(b'through the binding'),
                lambda: ch.exchange_unbind(step, dst, src),  # 0.9 form
                lambda: publish_then_get(b'dropped'),
                lambda: ch.exchange_delete(src, callback=step),
                lambda: ch.exchange_delete(exchange=dst, callback=step),
                done,
            ]
        )

        def step(f: Any = None, *rest: Any) -> None:
            log.append(f.method if isinstance(f, frame.Method) else rest[0] if rest else f)
            next(steps)()

        def publish_then_get(body: bytes) -> None:
            ch.basic_publish(src, '', body)
            # the seed's keyword form: told about an empty queue too (a falsy GetEmpty)
            ch.basic_get(callback=lambda c, m, p, b: step(None, m if b is None else b), queue=q,
                         no_ack=True)  # fmt: skip

        next(steps)()

    run_scenario(broker_params, scenario)
    assert isinstance(log[0], spec.Exchange.DeclareOk)
    assert isinstance(log[4], spec.Exchange.BindOk)
    assert log[5] == b'through the binding'
    assert isinstance(log[6], spec.Exchange.UnbindOk)
    assert isinstance(log[7], spec.Basic.GetEmpty)
    assert isinstance(log[8], spec.Exchange.DeleteOk) and isinstance(log[9], spec.Exchange.DeleteOk)


def test_qos_and_recover(broker_params: pika.ConnectionParameters, unique_name: str) -> None:
    q = unique_name
    deliveries: list[tuple[bytes, bool]] = []
    qos_ok: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def declared(_f: frame.Method) -> None:
            ch.basic_publish('', q, b'm1')
            ch.basic_publish('', q, b'm2')
            ch.basic_qos(prefetch_count=1, callback=lambda f: qos_ok.append(f.method))
            ch.basic_consume(q, on_message)

        def on_message(channel: Channel, method: Any, props: Any, body: bytes) -> None:
            deliveries.append((body, method.redelivered))
            if len(deliveries) == 1:
                ch.basic_recover(requeue=True)  # m1 unacked: goes back and comes again
            else:
                ch.basic_ack(method.delivery_tag)
                if body == b'm2':
                    done()

        ch.queue_declare(q, exclusive=True, callback=declared)

    run_scenario(broker_params, scenario)
    assert isinstance(qos_ok[0], spec.Basic.QosOk)
    # prefetch 1: m2 only arrives once the redelivered m1 is acknowledged
    assert deliveries == [(b'm1', False), (b'm1', True), (b'm2', False)]


def test_transactions(broker_params: pika.ConnectionParameters, unique_name: str) -> None:
    q = unique_name
    counts: list[int] = []
    replies: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def count_then(then: Callable[[], None]) -> Callable[[frame.Method], None]:
            def on_reply(f: frame.Method) -> None:
                replies.append(f.method)
                ch.queue_declare(q, passive=True, callback=lambda d: counted(d, then))

            return on_reply

        def counted(f: frame.Method, then: Callable[[], None]) -> None:
            counts.append(f.method.message_count)
            then()

        def selected(f: frame.Method) -> None:
            replies.append(f.method)
            ch.basic_publish('', q, b'rolled back')
            ch.tx_rollback(count_then(commit_one))

        def commit_one() -> None:
            ch.basic_publish('', q, b'committed')
            ch.tx_commit(count_then(done))

        ch.queue_declare(q, exclusive=True, callback=lambda _f: ch.tx_select(selected))

    run_scenario(broker_params, scenario)
    assert [type(m).__name__ for m in replies] == ['SelectOk', 'RollbackOk', 'CommitOk']
    assert counts == [0, 1]


def test_publisher_confirms_counted(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    q = unique_name
    total = 50
    confirmed: set[int] = set()
    kinds: set[type] = set()
    select_ok: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def on_confirm(f: frame.Method) -> None:
            assert isinstance(f, frame.Method)
            kinds.add(type(f.method))
            tag = f.method.delivery_tag
            if f.method.multiple:
                confirmed.update(t for t in range(1, tag + 1))
            else:
                confirmed.add(tag)
            if len(confirmed) == total:
                done()

        def selected(f: frame.Method) -> None:
            select_ok.append(f.method)
            for n in range(total):
                ch.basic_publish('', q, b'%d' % n)

        ch.queue_declare(
            q,
            exclusive=True,
            callback=lambda _f: ch.confirm_delivery(on_confirm, callback=selected),
        )

    run_scenario(broker_params, scenario)
    assert isinstance(select_ok[0], spec.Confirm.SelectOk)
    assert confirmed == set(range(1, total + 1))
    assert kinds == {spec.Basic.Ack}


def test_mandatory_unroutable_message_is_returned(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    returned: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def on_return(channel: Channel, method: Any, props: Any, body: bytes) -> None:
            returned.append((channel, method, props, body))
            done()

        ch.add_on_return_callback(on_return)
        props = pika.BasicProperties(content_type='text/plain', headers={'k': 'v'})
        ch.basic_publish('amq.direct', unique_name, b'nobody home', props, mandatory=True)

    run_scenario(broker_params, scenario)
    ((channel, method, props, body),) = returned
    assert channel.channel_number == 1
    assert isinstance(method, spec.Basic.Return)
    assert method.reply_code == 312 and method.routing_key == unique_name
    assert props.content_type == 'text/plain'
    assert body == b'nobody home'


def test_broker_cancels_consumer_when_queue_deleted(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    q = unique_name
    seen: dict[str, Any] = {}

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def on_cancel(f: frame.Method) -> None:
            seen['cancel'] = f
            seen['tags'] = ch.consumer_tags
            done()

        def consuming(_f: frame.Method) -> None:
            other = conn.channel(on_open_callback=lambda c: c.queue_delete(q))
            seen['other'] = other

        def declared(_f: frame.Method) -> None:
            seen['tag'] = ch.basic_consume(q, lambda *a: None, callback=consuming)

        ch.add_on_cancel_callback(on_cancel)
        ch.queue_declare(q, callback=declared)

    run_scenario(broker_params, scenario)
    cancel = seen['cancel']
    assert isinstance(cancel, frame.Method) and isinstance(cancel.method, spec.Basic.Cancel)
    assert cancel.method.consumer_tag == seen['tag']
    assert seen['tags'] == []


def test_channel_error_closes_only_that_channel(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    seen: dict[str, Any] = {'never': 0}

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def never(_f: frame.Method) -> None:
            seen['never'] += 1

        def on_closed(channel: Channel, error: BaseException) -> None:
            seen['error'] = error
            seen['closed'] = channel.is_closed
            seen['conn_open'] = conn.is_open
            with pytest.raises(exceptions.ChannelWrongStateError):
                channel.basic_publish('', 'x', b'')
            conn.channel(on_open_callback=survivor)

        def survivor(other: Channel) -> None:
            other.queue_declare(unique_name, exclusive=True, callback=lambda f: done())

        ch.add_on_close_callback(on_closed)
        ch.queue_declare(unique_name + '.missing', passive=True, callback=never)
        ch.queue_declare(unique_name + '.queued-behind', callback=never)  # dropped on close

    run_scenario(broker_params, scenario)
    error = seen['error']
    assert isinstance(error, exceptions.ChannelClosedByBroker)
    assert error.reply_code == 404
    assert seen['closed'] and seen['conn_open']
    assert seen['never'] == 0


def test_exception_in_callback_propagates_and_nothing_is_lost(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    q = unique_name
    bodies: list[bytes] = []

    def on_message(channel: Channel, method: Any, props: Any, body: bytes) -> None:
        bodies.append(body)
        if len(bodies) == 1:
            raise RuntimeError('user bug')
        if len(bodies) == 5:
            channel.connection.close()

    def on_channel(ch: Channel) -> None:
        def declared(_f: frame.Method) -> None:
            for n in range(5):
                ch.basic_publish('', q, b'%d' % n)
            ch.basic_consume(q, on_message, auto_ack=True)

        ch.queue_declare(q, exclusive=True, callback=declared)

    conn = SelectConnection(broker_params, on_open_callback=lambda c: c.channel(on_channel))
    guard = conn.ioloop.call_later(15, conn.ioloop.stop)
    with pytest.raises(RuntimeError, match='user bug'):
        conn.ioloop.start()
    assert conn.is_open
    conn.ioloop.remove_timeout(guard)
    drive(conn)
    assert bodies == [b'0', b'1', b'2', b'3', b'4']
    assert conn.is_closed


def test_close_cancels_consumers_before_closing(
    broker_params: pika.ConnectionParameters, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = bytearray()
    real_send = _transport.send_some

    def spy(sock: Any, data: Any) -> int:
        count = real_send(sock, data)
        sent.extend(bytes(data[:count]))
        return count

    monkeypatch.setattr(_transport, 'send_some', spy)
    seen: dict[str, Any] = {'after_close': 0}

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def on_message(*_a: Any) -> None:
            if conn.is_closing:
                seen['after_close'] += 1

        def consuming(_f: frame.Method) -> None:
            ch.add_on_close_callback(lambda c, e: seen.setdefault('channel_error', e))
            done()

        ch.queue_declare(
            unique_name,
            auto_delete=True,
            callback=lambda _f: ch.basic_consume(unique_name, on_message, callback=consuming),
        )

    conn = run_scenario(broker_params, scenario)
    names = [m.NAME for m in methods(bytes(sent)[8:])]
    assert names.index('Basic.Cancel') < names.index('Channel.Close')
    assert names.index('Channel.Close') < names.index('Connection.Close')
    assert isinstance(seen['channel_error'], exceptions.ChannelClosedByClient)
    assert seen['after_close'] == 0
    assert conn.is_closed


def test_argument_errors_raise_at_the_call(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    checked: list[str] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        cases: list[tuple[type, Callable[[], Any]]] = [
            (TypeError, lambda: ch.queue_declare(5)),
            (TypeError, lambda: ch.basic_publish('', None, b'x')),  # type: ignore[arg-type]
            (TypeError, lambda: ch.basic_publish('', 'q', None)),  # type: ignore[arg-type]
            (TypeError, lambda: ch.basic_publish('', 'q', b'', properties={'a': 1})),  # type: ignore[arg-type]
            (ValueError, lambda: ch.basic_qos(prefetch_count=-1)),
            (TypeError, lambda: ch.basic_consume('q', 'not callable')),
            (TypeError, lambda: ch.basic_consume('q', lambda *a: None, no_ack=True, auto_ack=True)),
            (TypeError, lambda: ch.basic_get('q')),
            (TypeError, lambda: ch.exchange_declare(exchange=None)),
            (ValueError, lambda: ch.queue_declare(unique_name, nowait=True, callback=print)),
            (TypeError, lambda: ch.add_on_close_callback(None)),  # type: ignore[arg-type]
            (ValueError, lambda: conn.set_backpressure_multiplier(0)),
            (TypeError, lambda: conn.set_backpressure_multiplier(1.5)),  # type: ignore[arg-type]
        ]
        for error, call in cases:
            with pytest.raises(error):
                call()
            checked.append(error.__name__)
        tag = ch.basic_consume(unique_name, lambda *a: None, consumer_tag='dup')
        with pytest.raises(exceptions.DuplicateConsumerTag):
            ch.basic_consume(unique_name, lambda *a: None, consumer_tag=tag)
        checked.append('dup')
        ch.close()
        with pytest.raises(exceptions.ChannelWrongStateError):
            ch.queue_declare(unique_name)
        conn.call_later(0.1, done)

    def declare_first(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        ch.queue_declare(unique_name, exclusive=True, callback=lambda _f: scenario(conn, ch, done))

    run_scenario(broker_params, declare_first)
    assert len(checked) == 14


def test_callbacks_in_one_channel_fire_in_call_order(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    order: list[str] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        ch.queue_declare(unique_name, exclusive=True, callback=lambda f: order.append('declare'))
        ch.basic_qos(prefetch_count=5, callback=lambda f: order.append('qos'))
        ch.queue_purge(unique_name, callback=lambda f: order.append('purge'))
        ch.queue_delete(unique_name, callback=lambda f: (order.append('delete'), done()))

    run_scenario(broker_params, scenario)
    assert order == ['declare', 'qos', 'purge', 'delete']


def test_update_secret(broker_params: pika.ConnectionParameters) -> None:
    replies: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def updated(f: frame.Method) -> None:
            replies.append(f)
            done()

        conn.update_secret('guest', 'rotation', callback=updated)

    run_scenario(broker_params, scenario)
    assert isinstance(replies[0].method, spec.Connection.UpdateSecretOk)
    assert replies[0].channel_number == 0


def test_backpressure_callback_on_large_unsent_output(
    broker_params: pika.ConnectionParameters, unique_name: str
) -> None:
    """Output that cannot drain (the proxy stops reading) fires the callback; nothing is lost."""
    pressured: list[Any] = []
    with TcpProxy(broker_params.host, broker_params.port) as proxy:
        params = pika.ConnectionParameters(host=proxy.host, port=proxy.port, heartbeat=0)

        def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
            conn.add_backpressure_callback(pressured.append)
            conn.set_backpressure_multiplier(10)

            def declared(_f: frame.Method) -> None:
                # With the proxy paused the kernel buffers fill and most of 24 MiB stays
                # unsent: far more than 10 average frames wait.
                proxy.pause()
                ch.basic_publish('', unique_name, b'x' * (24 << 20))
                ch.basic_get(unique_name, got, auto_ack=True)
                conn.ioloop.call_later(0.5, proxy.resume)

            def got(_ch: Channel, method: Any, props: Any, body: bytes) -> None:
                pressured.append(len(body))
                done()

            ch.queue_declare(unique_name, exclusive=True, callback=declared)

        conn = run_scenario(params, scenario)
    assert pressured[0] is conn
    assert pressured[-1] == 24 << 20  # the message still arrived whole


def test_flow_both_forms(broker_params: pika.ConnectionParameters) -> None:
    answers: list[Any] = []

    def scenario(conn: SelectConnection, ch: Channel, done: Callable[[], None]) -> None:
        def modern(active: bool) -> None:
            answers.append(active)
            ch.flow(legacy, True)  # 0.9: callback first

        def legacy(active: bool) -> None:
            answers.append(active)
            done()

        ch.flow(True, callback=modern)

    run_scenario(broker_params, scenario)
    assert answers == [True, True]
