"""Both channel API generations (pika 0.9 and 1.x): binding to canonical argument names, and
the callback Channel over a socket-less Connection (what each form sends, TypeErrors at the
call, dispatch after a raising callback)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pika import exceptions, spec
from pika._api import args as ca
from tests.helpers import server_frames as sf
from tests.helpers.loopback import LoopbackConnection, open_channel

if TYPE_CHECKING:
    from pika.channel import Channel


def cb(*_args: object) -> None:
    """A stand-in user callback."""


def other_cb(*_args: object) -> None:
    """A second, distinguishable callback."""


def test_queue_declare_modern_positional() -> None:
    bound = ca.bind('queue_declare', ('q', False, True), {'callback': cb})
    assert bound['queue'] == 'q'
    assert bound['durable'] is True
    assert bound['passive'] is False
    assert bound['callback'] is cb
    assert bound['nowait'] is False


def test_queue_declare_legacy_positional() -> None:
    bound = ca.bind('queue_declare', (cb, 'q', False, True), {})
    assert bound['callback'] is cb
    assert bound['queue'] == 'q'
    assert bound['durable'] is True


def test_seed_queue_declare_keywords() -> None:
    bound = ca.bind(
        'queue_declare',
        (),
        dict(queue='test', durable=True, exclusive=False, auto_delete=False, callback=cb),
    )
    assert bound['queue'] == 'test'
    assert bound['durable'] is True
    assert bound['callback'] is cb


def test_keyword_only_queue_declare_defaults_to_server_named_queue() -> None:
    assert ca.bind('queue_declare', (), {'callback': cb})['queue'] == ''


def test_seed_basic_consume_legacy() -> None:
    bound = ca.bind('basic_consume', (cb,), {'queue': 'test'})
    assert bound['on_message_callback'] is cb
    assert bound['queue'] == 'test'
    assert bound['auto_ack'] is False


def test_basic_consume_modern() -> None:
    bound = ca.bind('basic_consume', ('q', cb, True), {'callback': other_cb})
    assert bound == {
        'queue': 'q',
        'on_message_callback': cb,
        'auto_ack': True,
        'exclusive': False,
        'consumer_tag': None,
        'arguments': None,
        'callback': other_cb,
    }


@pytest.mark.parametrize(
    ('old', 'new', 'method', 'extra'),
    [
        ('no_ack', 'auto_ack', 'basic_consume', {'queue': 'q', 'on_message_callback': cb}),
        ('consumer_callback', 'on_message_callback', 'basic_consume', {'queue': 'q'}),
        ('type', 'exchange_type', 'exchange_declare', {'exchange': 'x'}),
        ('all_channels', 'global_qos', 'basic_qos', {}),
    ],
)
def test_aliases(old: str, new: str, method: str, extra: dict[str, object]) -> None:
    value = cb if new == 'on_message_callback' else True
    if new == 'exchange_type':
        value = 'fanout'
    bound = ca.bind(method, (), {old: value, **extra})
    assert bound[new] == value
    assert old not in bound


def test_alias_pair_conflict_raises() -> None:
    with pytest.raises(TypeError, match='alias'):
        ca.bind('basic_consume', ('q', cb), {'no_ack': True, 'auto_ack': True})


def test_positional_and_keyword_conflict_raises() -> None:
    with pytest.raises(TypeError, match='multiple values'):
        ca.bind('queue_declare', ('q',), {'queue': 'r'})


def test_unknown_keyword_raises() -> None:
    with pytest.raises(TypeError, match='unexpected'):
        ca.bind('queue_purge', ('q',), {'bogus': 1})


def test_too_many_positionals_raises() -> None:
    with pytest.raises(TypeError, match='positional'):
        ca.bind('queue_purge', ('q', cb, 3), {})


def test_missing_required_raises() -> None:
    with pytest.raises(TypeError, match='on_message_callback'):
        ca.bind('basic_consume', ('q',), {})
    with pytest.raises(TypeError, match='active'):
        ca.bind('flow', (), {})


def test_basic_get_both_forms() -> None:
    assert ca.bind('basic_get', ('q', cb, True), {})['auto_ack'] is True
    legacy = ca.bind('basic_get', (cb, 'q', True), {})
    assert (legacy['queue'], legacy['callback'], legacy['auto_ack']) == ('q', cb, True)


def test_flow_both_forms() -> None:
    assert ca.bind('flow', (True, cb), {}) == {'active': True, 'callback': cb}
    assert ca.bind('flow', (cb, False), {}) == {'active': False, 'callback': cb}


def test_basic_cancel_and_recover_both_forms() -> None:
    assert ca.bind('basic_cancel', ('tag', cb), {})['consumer_tag'] == 'tag'
    legacy = ca.bind('basic_cancel', (cb, 'tag', True), {})
    assert (legacy['consumer_tag'], legacy['nowait']) == ('tag', True)
    assert ca.bind('basic_recover', (True,), {})['requeue'] is True
    assert ca.bind('basic_recover', (cb, True), {})['requeue'] is True


def test_confirm_delivery_forms() -> None:
    modern = ca.bind('confirm_delivery', (cb, other_cb), {})
    assert (modern['ack_nack_callback'], modern['callback']) == (cb, other_cb)
    legacy = ca.bind('confirm_delivery', (cb, True), {})
    assert (legacy['ack_nack_callback'], legacy['nowait']) == (cb, True)
    keyword_legacy = ca.bind('confirm_delivery', (), {'callback': cb})
    assert keyword_legacy['ack_nack_callback'] is cb
    assert keyword_legacy['callback'] is None


def test_exchange_declare_legacy_order_has_nowait_before_arguments() -> None:
    bound = ca.bind('exchange_declare', (cb, 'x', 'topic', False, True, False, False, True), {})
    assert (bound['exchange'], bound['exchange_type'], bound['durable']) == ('x', 'topic', True)
    assert bound['nowait'] is True
    assert bound['arguments'] is None


def test_queue_bind_both_forms() -> None:
    modern = ca.bind('queue_bind', ('q', 'x', 'rk'), {})
    legacy = ca.bind('queue_bind', (cb, 'q', 'x', 'rk'), {})
    assert (modern['queue'], modern['exchange'], modern['routing_key']) == ('q', 'x', 'rk')
    assert (legacy['queue'], legacy['exchange'], legacy['routing_key']) == ('q', 'x', 'rk')
    assert legacy['callback'] is cb


def test_value_checks() -> None:
    with pytest.raises(TypeError):
        ca.require_str('queue', 5)
    ca.require_str('queue', None, allow_none=True)
    with pytest.raises(TypeError):
        ca.require_callable('callback', 'nope')
    with pytest.raises(ValueError):
        ca.require_int('prefetch_count', -1, maximum=65535)
    with pytest.raises(ValueError):
        ca.require_int('prefetch_count', 70000, maximum=65535)
    with pytest.raises(TypeError):
        ca.require_int('prefetch_count', True)
    with pytest.raises(TypeError):
        ca.require_table('arguments', [1])
    with pytest.raises(TypeError):
        ca.require_bool('durable', 'yes')


def test_encode_body() -> None:
    assert ca.encode_body('héllo') == 'héllo'.encode()
    assert ca.encode_body(b'\x00') == b'\x00'
    assert ca.encode_body(bytearray(b'ab')) == b'ab'
    with pytest.raises(TypeError):
        ca.encode_body(None)
    with pytest.raises(TypeError):
        ca.encode_body(12)


def test_nowait_with_callback_is_rejected() -> None:
    with pytest.raises(ValueError):
        ca.check_nowait_callback('queue_declare', True, cb)
    ca.check_nowait_callback('queue_declare', True, None)


# -- the callback Channel over a socket-less Connection -----------------------------------------


def test_both_forms_send_the_same_queue_declare() -> None:
    conn, ch = open_channel()
    ch.queue_declare('q', durable=True, callback=cb)
    (modern,) = conn.sent()
    conn._on_data_received(sf.method(1, spec.Queue.DeclareOk('q', 0, 0)))
    ch.queue_declare(cb, 'q', False, True)
    (legacy,) = conn.sent()
    assert isinstance(modern, spec.Queue.Declare)
    assert (modern.queue, modern.durable) == (legacy.queue, legacy.durable) == ('q', True)


def test_both_forms_send_the_same_basic_consume() -> None:
    conn, ch = open_channel()
    tag = ch.basic_consume(cb, queue='q', no_ack=True)
    tag2 = ch.basic_consume('q', cb, auto_ack=True)
    conn._on_data_received(sf.method(1, spec.Basic.ConsumeOk(tag)))
    first, second = conn.sent()
    assert first.no_ack and second.no_ack
    assert first.consumer_tag == tag and second.consumer_tag == tag2
    assert tag.startswith('ctag1.') and tag != tag2
    assert set(ch.consumer_tags) == {tag, tag2}
    with pytest.raises(exceptions.DuplicateConsumerTag):
        ch.basic_consume('q', cb, consumer_tag=tag)


def test_channel_type_errors_raise_at_the_call_and_send_nothing() -> None:
    conn, ch = open_channel()
    bad_calls = [
        lambda: ch.queue_declare(123),
        lambda: ch.queue_bind('q', None),
        lambda: ch.basic_publish('', None, b'x'),
        lambda: ch.basic_publish('', 'q', None),
        lambda: ch.basic_publish('', 'q', 3.5),
        lambda: ch.basic_consume('q', 'not callable'),
        lambda: ch.basic_get('q', None),
        lambda: ch.basic_ack('1'),
        lambda: ch.exchange_declare('x', exchange_type=5),
        lambda: ch.queue_declare('q', durable='yes'),
        lambda: ch.basic_qos(prefetch_count=1.5),
    ]
    for call in bad_calls:
        with pytest.raises(TypeError):
            call()
    for call in (lambda: ch.basic_qos(prefetch_count=-1), lambda: ch.basic_qos(0, 70000)):
        with pytest.raises(ValueError):
            call()
    assert conn.sent() == []


def test_str_body_is_utf8_encoded() -> None:
    conn, ch = open_channel()
    ch.basic_publish('', 'q', 'héllo')
    data = bytes(conn._take_output())
    assert 'héllo'.encode() in data


def test_raising_callback_keeps_the_remaining_events() -> None:
    conn, ch = open_channel()
    seen: list[str] = []

    def first(_f: Any) -> None:
        seen.append('first')
        raise RuntimeError('user bug')

    ch.queue_declare('a', callback=first)
    ch.queue_declare('b', callback=lambda f: seen.append(f.method.queue))
    conn.sent()
    replies = sf.method(1, spec.Queue.DeclareOk('a', 0, 0))
    with pytest.raises(RuntimeError):
        conn._on_data_received(replies)
    conn.sent()
    conn._on_data_received(sf.method(1, spec.Queue.DeclareOk('b', 0, 0)))
    assert seen == ['first', 'b']
    assert conn.is_open and ch.is_open


def test_events_after_a_raising_callback_are_dispatched_on_the_next_turn() -> None:
    conn, ch = open_channel()
    bodies: list[bytes] = []

    def on_message(channel: Any, method: Any, props: Any, body: bytes) -> None:
        bodies.append(body)
        if len(bodies) == 1:
            raise RuntimeError('user bug')

    tag = ch.basic_consume('q', on_message)
    conn._on_data_received(sf.method(1, spec.Basic.ConsumeOk(tag)))
    burst = b''.join(
        sf.deliver(1, b'%d' % n, consumer_tag=tag, delivery_tag=n + 1) for n in range(3)
    )
    with pytest.raises(RuntimeError):
        conn._on_data_received(burst)
    assert bodies == [b'0']
    assert conn.timers, 'the rest must be scheduled for the next loop turn'
    conn.timers.pop(0)()
    assert bodies == [b'0', b'1', b'2']


def test_pending_rpc_callbacks_dropped_when_the_channel_closes() -> None:
    conn, ch = open_channel()
    called: list[Any] = []
    closed: list[Any] = []
    ch.add_on_close_callback(lambda c, e: closed.append(e))
    ch.queue_declare('a', passive=True, callback=called.append)
    ch.queue_declare('b', callback=called.append)
    conn._on_data_received(sf.channel_close(1, 404, 'NOT_FOUND - no queue a'))
    assert called == []
    assert isinstance(closed[0], exceptions.ChannelClosedByBroker)
    assert closed[0].reply_code == 404
    assert ch.is_closed and conn.is_open


def test_connection_channel_forms_and_state_errors() -> None:
    conn = LoopbackConnection()
    with pytest.raises(exceptions.ConnectionWrongStateError):
        conn.channel()
    conn._start_protocol(conn.params)
    conn._on_data_received(sf.start() + sf.tune(heartbeat=0) + sf.open_ok())
    opened: list[Channel] = []
    ch = conn.channel(opened.append)  # 0.9: callable first
    ch7 = conn.channel(7, opened.append)
    conn._on_data_received(sf.channel_open_ok(ch.channel_number) + sf.channel_open_ok(7))
    assert opened == [ch, ch7] and ch7.channel_number == 7
    with pytest.raises(TypeError):
        conn.channel('1')  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        conn.channel(0)


def _cb(*args: Any) -> None:
    return None


@pytest.mark.parametrize(
    ('args', 'kwargs', 'modern'),
    [
        # the pika 1.x forms: queue positional, or auto_ack given
        (('q',), {}, True),
        (('q', True), {}, True),
        (('q',), {'auto_ack': True}, True),
        ((), {'queue': 'q', 'auto_ack': False}, True),
        (('q', _cb), {}, True),  # callback Channel: (queue, callback, auto_ack=False)
        (('q', _cb), {'auto_ack': True}, True),
        ((), {'queue': 'q', 'callback': _cb, 'auto_ack': True}, True),
        # the 0.9 forms: no_ack, or the callback first
        ((), {'queue': 'test', 'no_ack': True}, False),
        ((_cb,), {'queue': 'test', 'no_ack': True}, False),
        ((_cb, 'test'), {}, False),
        ((_cb,), {'queue': 'q', 'auto_ack': True}, False),  # callback first wins
        (('q',), {'no_ack': True}, False),  # no_ack wins: 1.x has no such keyword
        # keywords only, neither ack flag: cannot be told apart, read as 0.9
        ((), {'callback': _cb, 'queue': 'test'}, False),
        ((), {'queue': 'test'}, False),
        ((), {}, False),
    ],
)
def test_basic_get_generation(args: tuple[Any, ...], kwargs: dict[str, Any], modern: bool) -> None:
    assert ca.is_modern_get(args, kwargs) is modern


def test_bind_blocking_get() -> None:
    assert ca.bind_blocking_get(('q', True), {}) == ('q', True)
    assert ca.bind_blocking_get((), {'queue': 'q', 'no_ack': True}) == ('q', True)
    assert ca.bind_blocking_get(('q',), {'auto_ack': True}) == ('q', True)
    assert ca.bind_blocking_get((), {}) == ('', False)
    for args, kwargs in [
        (('q', True, 1), {}),
        (('q',), {'queue': 'q'}),
        (('q', True), {'no_ack': True}),
        ((), {'no_ack': True, 'auto_ack': True}),
        ((), {'callback': _cb}),
    ]:
        with pytest.raises(TypeError):
            ca.bind_blocking_get(args, kwargs)
