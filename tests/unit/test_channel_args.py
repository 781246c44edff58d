"""Binding of both channel API generations (pika 0.9 and 1.x) to canonical argument names."""

from __future__ import annotations

import pytest

from pika import _channel_args as ca


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
