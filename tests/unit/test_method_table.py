"""The one channel-method table (`pika._api.methods`) and the one argument policy it applies
for both front-ends: which types a flag accepts, what a wrong one raises."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from pika import spec
from pika._api import args as ca
from pika._api.methods import METHODS
from pika.adapters.blocking_connection import BlockingChannel
from pika.channel import Channel
from tests.helpers.loopback import open_channel

#: a call of each table method that binds (1.x form), by name
GOOD_CALLS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    'exchange_declare': (('x',), {}),
    'exchange_delete': (('x',), {}),
    'exchange_bind': (('d', 's'), {}),
    'exchange_unbind': (('d', 's'), {}),
    'queue_declare': (('q',), {}),
    'queue_bind': (('q', 'x'), {}),
    'queue_unbind': (('q',), {}),
    'queue_purge': (('q',), {}),
    'queue_delete': (('q',), {}),
    'basic_qos': ((), {'prefetch_count': 10}),
    'basic_recover': ((), {}),
    'basic_consume': (('q', print), {'consumer_tag': 'tag'}),
    'basic_cancel': (('tag',), {}),
    'basic_get': (('q', print), {}),
    'confirm_delivery': ((print,), {}),
    'flow': ((True,), {}),
    'tx_select': ((), {}),
    'tx_commit': ((), {}),
    'tx_rollback': ((), {}),
}

FLAGGED = [(name, flag) for name, entry in METHODS.items() for flag in entry.flags]


def test_every_row_is_a_method_of_both_front_ends_with_a_1x_signature() -> None:
    assert set(GOOD_CALLS) == set(METHODS)
    for name in METHODS:
        assert name in ca.MODERN, name
        assert callable(getattr(Channel, name)), name
        assert callable(getattr(BlockingChannel, name)), name


@pytest.mark.parametrize('name', sorted(GOOD_CALLS))
def test_each_row_builds_its_spec_method(name: str) -> None:
    args, kwargs = GOOD_CALLS[name]
    method, _callback, nowait = METHODS[name].prepare(args, kwargs)
    assert isinstance(method, spec.amqp_object.Method)
    assert method.synchronous
    assert nowait is False


@pytest.mark.parametrize(('name', 'flag'), FLAGGED)
@pytest.mark.parametrize('bad', ['yes', 'no', None, 2, 1.0, []])
def test_a_flag_that_is_not_a_bool_raises_type_error_naming_it(
    name: str, flag: str, bad: Any
) -> None:
    args, kwargs = GOOD_CALLS[name]
    with pytest.raises(TypeError, match=rf'^{flag} must be a bool, not '):
        METHODS[name].prepare(args if flag != 'active' else (), {**kwargs, flag: bad})


@pytest.mark.parametrize(('name', 'flag'), FLAGGED)
@pytest.mark.parametrize('good', [True, False, 0, 1])
def test_a_flag_accepts_bool_and_the_ints_0_and_1(name: str, flag: str, good: Any) -> None:
    args, kwargs = GOOD_CALLS[name]
    method, _, _ = METHODS[name].prepare(args if flag != 'active' else (), {**kwargs, flag: good})
    field = {'auto_ack': 'no_ack'}.get(flag, flag)
    assert bool(getattr(method, field)) is bool(good)


@pytest.mark.parametrize(('name', 'flag'), FLAGGED)
def test_channel_raises_what_the_table_raises_and_sends_nothing(name: str, flag: str) -> None:
    """The callback front-end applies the table (BlockingChannel's side: test_bad_input)."""
    conn, channel = open_channel()
    args, kwargs = GOOD_CALLS[name]
    call_args = args if flag != 'active' else ()
    with pytest.raises(TypeError) as from_table:
        METHODS[name].prepare(call_args, {**kwargs, flag: 'no'})
    with pytest.raises(TypeError) as from_channel:
        getattr(channel, name)(*call_args, **{**kwargs, flag: 'no'})
    assert str(from_channel.value) == str(from_table.value)
    assert conn.sent() == []


def test_the_single_methods_apply_the_policy_in_both_front_ends() -> None:
    """Flags outside the table (acks, publish) are checked by the same `require_bool`."""
    conn, channel = open_channel()
    for call in (
        lambda: channel.basic_ack(1, multiple='yes'),
        lambda: channel.basic_nack(1, requeue='no'),
        lambda: channel.basic_reject(1, requeue=None),
        lambda: channel.basic_publish('', 'q', b'', mandatory='y'),
    ):
        with pytest.raises(TypeError, match=r' must be a bool, not '):
            call()
    assert conn.sent() == []
    for method in ('basic_ack', 'basic_nack', 'basic_reject', 'basic_publish'):
        channel_params = inspect.signature(getattr(Channel, method)).parameters
        blocking_params = inspect.signature(getattr(BlockingChannel, method)).parameters
        assert list(channel_params) == list(blocking_params)[: len(channel_params)]


def test_nowait_with_a_callback_is_a_value_error_in_the_table() -> None:
    with pytest.raises(ValueError, match='nowait'):
        METHODS['queue_declare'].prepare((print, 'q'), {'nowait': True})
    method, callback, nowait = METHODS['queue_declare'].prepare((), {'queue': 'q', 'nowait': True})
    assert nowait is True and method.nowait is True and callback is None
