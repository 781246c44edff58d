"""The send side's shortcuts give exactly what the general code paths give.

Covered: the small-publish fast path of ``ChannelCore.publish`` (against
``Output.send_publish`` and ``pika.frame.encode_publish``), the inlined send of a lone
RPC in ``ChannelCore.rpc`` (against the queue + ``_pump`` path), the Basic.Ack that
``Channel.basic_ack`` queues itself (against ``ChannelCore.ack``), the generated encoders'
constant empty table and bit octets (against ``pika.data``), and the front-end's one-call
argument checks (same exceptions as the single-value helpers).
"""

from __future__ import annotations

from typing import Any

import pytest

from pika import data, exceptions, frame, spec
from pika._api import args as args_
from pika._wire import encode
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import open_channel, open_core
from tests.helpers.fake_transport import open_fake_channel

# -- publish ------------------------------------------------------------------------------------


def _general_publish(
    size_kwargs: dict[str, Any], body: Any, properties: Any, mandatory: bool
) -> tuple[bytes, int, int]:
    """The bytes and counters of Output.send_publish (the general path)."""
    core = open_core(**size_kwargs)
    ch = open_channel(core)
    frames, total = core.frames_sent, core.bytes_queued_total
    head = encode.encode_publish_method(1, 'ex', 'rk', mandatory)
    core.output.send_publish(ch.channel_number, head, properties, body)
    sent = b''.join(bytes(part) for part in core.data_to_send_parts())
    return sent, core.frames_sent - frames, core.bytes_queued_total - total


@pytest.mark.parametrize('size', [0, 1, 100, 4088, 4089, 16 * 1024, 16 * 1024 + 1, 40000])
@pytest.mark.parametrize('with_properties', [False, True])
@pytest.mark.parametrize('mandatory', [False, True])
def test_publish_fast_path_matches_general_path(
    size: int, with_properties: bool, mandatory: bool
) -> None:
    tune = {'tune_kwargs': {'frame_max': 4096}}
    body = bytes(range(256)) * (size // 256) + b'x' * (size % 256)
    properties = spec.BasicProperties(content_type='text/plain') if with_properties else None
    core = open_core(**tune)
    ch = open_channel(core)
    frames, total = core.frames_sent, core.bytes_queued_total
    ch.publish('ex', 'rk', body, properties, mandatory)
    fast = b''.join(bytes(part) for part in core.data_to_send_parts())
    expected = _general_publish(tune, body, properties, mandatory)
    assert (fast, core.frames_sent - frames, core.bytes_queued_total - total) == expected
    reference = frame.encode_publish(1, 'ex', 'rk', mandatory, properties, body, 4096)
    assert fast == b''.join(bytes(part) for part in reference)


@pytest.mark.parametrize('body', ['text é', bytearray(b'abc'), memoryview(b'abcd')])
def test_publish_of_other_body_types_matches_bytes(body: Any) -> None:
    core = open_core()
    ch = open_channel(core)
    ch.publish('', 'q', body)
    raw = body.encode() if isinstance(body, str) else bytes(body)
    assert bytes(core.data_to_send()) == b''.join(
        bytes(part) for part in frame.encode_publish(1, '', 'q', False, None, raw, None)
    )


def test_publish_bad_body_raises_before_queueing() -> None:
    core = open_core()
    ch = open_channel(core)
    with pytest.raises(TypeError):
        ch.publish('', 'q', 12)  # type: ignore[arg-type]
    assert core.data_to_send() == b''


# -- rpc ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'method',
    [
        spec.Queue.Declare(queue='q', passive=True),
        spec.Queue.Declare(queue='q', durable=True, arguments={'x-max-length': 5}),
        spec.Exchange.Declare(exchange='e', type='topic', internal=True),
        spec.Basic.Qos(prefetch_count=10),
        spec.Queue.Bind(queue='q', exchange='e', routing_key='k', arguments={}),
    ],
)
def test_lone_rpc_is_sent_like_a_queued_one(method: Any) -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(method)  # nothing outstanding: the inlined send
    first = bytes(core.data_to_send())
    assert first == encode.encode_method(1, method)
    assert ch.outstanding_rpc is method
    ch.rpc(method)  # queued behind the first
    assert core.data_to_send() == b''
    reply = method.valid_responses[0]
    ok = reply(**({'queue': 'q', 'message_count': 0, 'consumer_count': 0} if reply is
                  spec.Queue.DeclareOk else {}))  # fmt: skip
    events = core.receive_data(sf.method(1, ok), 0.0)
    assert [type(e).__name__ for e in events] == ['RpcReply']
    assert bytes(core.data_to_send()) == first  # sent by _pump, the same bytes
    assert ch.outstanding_rpc is method


def test_nowait_rpc_is_not_outstanding_and_tracks_consumers() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='t1', nowait=True))
    assert ch.outstanding_rpc is None and ch.consumer_tags == {'t1'}
    ch.rpc(spec.Queue.Declare(queue='q', nowait=True))
    assert ch.outstanding_rpc is None
    ch.rpc(spec.Basic.Cancel(consumer_tag='t1', nowait=True))
    assert ch.consumer_tags == set()
    assert len(sf.methods(bytes(core.data_to_send()))) == 3


def test_rpc_errors_are_unchanged() -> None:
    core = open_core()
    ch = open_channel(core)
    with pytest.raises(TypeError):
        ch.rpc(object())
    with pytest.raises(ValueError):
        ch.rpc(spec.Channel.Close(200, 'x', 0, 0))
    with pytest.raises(ValueError):
        ch.rpc(spec.Connection.Close(200, 'x', 0, 0))
    with pytest.raises(exceptions.UnsupportedAMQPFieldException):
        ch.rpc(spec.Queue.Declare(queue='q', arguments={'x': object()}))
    assert ch.outstanding_rpc is None and core.data_to_send() == b''
    ch.close()
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.rpc(spec.Queue.Declare(queue='q'))


# -- generated encoders -------------------------------------------------------------------------


@pytest.mark.parametrize('arguments', [None, {}, {'x-expires': 1000, 'k': 'v'}])
@pytest.mark.parametrize('flags', [(False,) * 5, (True,) * 5, (1, 0, 1, 0, 1)])
def test_generated_encoder_matches_field_by_field(arguments: Any, flags: Any) -> None:
    method = spec.Queue.Declare(0, 'q', *flags, arguments=arguments)
    pieces: list[bytes] = [b'\x00\x00']
    data.encode_short_string(pieces, 'q')
    bits = sum(1 << i for i, flag in enumerate(flags) if flag)
    pieces.append(bytes((bits,)))
    data.encode_table(pieces, arguments)
    assert b''.join(method.encode()) == b''.join(pieces)


def test_generated_encoders_of_methods_without_arguments() -> None:
    assert spec.Tx.Select().encode() == []
    assert spec.Connection.CloseOk().encode() == []


def test_generated_encoder_long_strings_and_property_tables() -> None:
    start_ok = spec.Connection.StartOk(client_properties={'a': 1}, response='\x00u\x00p')
    pieces: list[bytes] = []
    data.encode_table(pieces, {'a': 1})
    data.encode_short_string(pieces, 'PLAIN')
    data.encode_long_string(pieces, '\x00u\x00p')
    data.encode_short_string(pieces, 'en_US')
    assert b''.join(start_ok.encode()) == b''.join(pieces)
    props = spec.BasicProperties(headers={})
    assert b''.join(props.encode()) == b'\x20\x00\x00\x00\x00\x00'


# -- front-end ----------------------------------------------------------------------------------


@pytest.mark.parametrize('tag', [0, 1, 2**32 + 7, 2**64 - 1])
@pytest.mark.parametrize('multiple', [False, True, 0, 1])
def test_front_end_ack_matches_core_ack(tag: int, multiple: Any) -> None:
    conn, channel = open_fake_channel()
    frames, total = conn._core.frames_sent, conn._core.bytes_queued_total
    channel.basic_ack(tag, multiple)
    fast = bytes(conn._take_output())
    counters = (conn._core.frames_sent - frames, conn._core.bytes_queued_total - total)
    channel._core.ack(tag, bool(multiple))
    assert fast == bytes(conn._take_output())
    assert counters == (1, len(fast))


def test_front_end_ack_too_large_tag_raises_and_queues_nothing() -> None:
    conn, channel = open_fake_channel()
    with pytest.raises(Exception):  # noqa: B017  (whatever the generic encoder raises)
        channel.basic_ack(2**64)
    assert conn._take_output() == b''


def test_rpc_replies_reach_frame_and_event_callbacks_in_order() -> None:
    conn, channel = open_fake_channel()
    seen: list[Any] = []
    channel.queue_declare('q1', callback=lambda f: seen.append(('declare', f)))
    channel.basic_get(lambda *a: seen.append(('get', a[1])), 'q1')  # 0.9: told when empty
    channel.queue_declare('q2')  # no callback
    channel.flow(True, callback=lambda active: seen.append(('flow', active)))
    conn._on_data_received(sf.method(1, spec.Queue.DeclareOk('q1', 0, 0)))
    conn._on_data_received(sf.method(1, spec.Basic.GetEmpty()))
    conn._on_data_received(sf.method(1, spec.Queue.DeclareOk('q2', 0, 0)))
    conn._on_data_received(sf.method(1, spec.Channel.FlowOk(True)))
    assert [kind for kind, _ in seen] == ['declare', 'get', 'flow']
    declare_frame = seen[0][1]
    assert isinstance(declare_frame, frame.Method) and declare_frame.channel_number == 1
    assert declare_frame.method.queue == 'q1'
    assert not seen[1][1] and seen[2][1] is True
    assert not channel._replies


def test_empty_get_in_the_1x_form_calls_nothing_and_keeps_replies_in_order() -> None:
    """pika 1.x never calls a basic_get callback for Basic.GetEmpty; the next reply still
    reaches its own callback."""
    conn, channel = open_fake_channel()
    seen: list[Any] = []
    channel.basic_get('q1', lambda *a: seen.append(('get', a)))
    channel.basic_get(queue='q1', callback=lambda *a: seen.append(('get', a)), auto_ack=True)
    channel.flow(True, callback=lambda active: seen.append(('flow', active)))
    conn._on_data_received(sf.method(1, spec.Basic.GetEmpty()))
    conn._on_data_received(sf.method(1, spec.Basic.GetEmpty()))
    conn._on_data_received(sf.method(1, spec.Channel.FlowOk(True)))
    assert seen == [('flow', True)]
    assert not channel._replies


@pytest.mark.parametrize(
    ('call', 'error'),
    [
        (lambda ch: ch.queue_declare('q', passive='yes'), TypeError),
        (lambda ch: ch.queue_declare('q', auto_delete=None), TypeError),
        (lambda ch: ch.queue_declare(5), TypeError),
        (lambda ch: ch.queue_declare('q', callback=5), TypeError),
        (lambda ch: ch.queue_declare('q', arguments=[1]), TypeError),
        (lambda ch: ch.queue_declare('q', nowait=True, callback=print), ValueError),
        (lambda ch: ch.queue_declare('q', nowait='no'), TypeError),
        (lambda ch: ch.exchange_declare('e', internal=2), TypeError),
        (lambda ch: ch.queue_delete('q', if_empty='x'), TypeError),
        (lambda ch: ch.basic_publish(None, 'q', b''), TypeError),
        (lambda ch: ch.basic_publish('', b'q', b''), TypeError),
        (lambda ch: ch.basic_publish('', 'q', None), TypeError),
        (lambda ch: ch.basic_publish('', 'q', b'', mandatory='y'), TypeError),
        (lambda ch: ch.basic_publish('', 'q', b'', properties={}), TypeError),
        (lambda ch: ch.basic_publish('', 'q', b'', immediate=True), ValueError),
    ],
)
def test_front_end_checks_raise_at_the_call(call: Any, error: type) -> None:
    conn, channel = open_fake_channel()
    with pytest.raises(error):
        call(channel)
    assert conn._take_output() == b'' and not channel._replies


def test_front_end_accepts_zero_and_one_as_flags() -> None:
    conn, channel = open_fake_channel()
    channel.queue_declare('q', passive=1, durable=0)
    channel.basic_publish('', 'q', 'text', mandatory=1)
    sent = sf.methods(bytes(conn._take_output()))
    assert sent[0].passive is True and sent[0].durable is False
    assert sent[1].mandatory is True


def test_require_bools_reports_the_first_bad_name() -> None:
    args_.require_bools({'a': True, 'b': 0, 'c': 1}, ('a', 'b', 'c'))
    with pytest.raises(TypeError, match=r'^b must be a bool'):
        args_.require_bools({'a': True, 'b': 'x', 'c': 'y'}, ('a', 'b', 'c'))


_ARGS = {'x-k': 'v'}


@pytest.mark.parametrize(
    ('call', 'expected'),
    [
        (
            lambda ch: ch.exchange_declare('e', 'topic', True, False, True, False, _ARGS),
            spec.Exchange.Declare(
                exchange='e', type='topic', passive=True, durable=False,
                auto_delete=True, internal=False, arguments=_ARGS,
            ),
        ),
        (
            lambda ch: ch.exchange_declare('e', 'fanout', True, True, False, False),
            spec.Exchange.Declare(
                exchange='e', type='fanout', passive=True, durable=True,
                auto_delete=False, internal=False,
            ),
        ),
        (
            lambda ch: ch.exchange_declare(exchange='e', nowait=True),
            spec.Exchange.Declare(exchange='e', nowait=True),
        ),
        (
            lambda ch: ch.exchange_delete('e', True),
            spec.Exchange.Delete(exchange='e', if_unused=True),
        ),
        (
            lambda ch: ch.exchange_bind('d', 's', 'rk', _ARGS),
            spec.Exchange.Bind(destination='d', source='s', routing_key='rk', arguments=_ARGS),
        ),
        (
            lambda ch: ch.exchange_unbind('d', 's', 'rk', nowait=True),
            spec.Exchange.Unbind(destination='d', source='s', routing_key='rk', nowait=True),
        ),
        (
            lambda ch: ch.queue_declare('q', True, False, True, False, _ARGS),
            spec.Queue.Declare(
                queue='q', passive=True, durable=False, exclusive=True, auto_delete=False,
                arguments=_ARGS,
            ),
        ),
        (
            lambda ch: ch.queue_declare('q', True, True, False, False),
            spec.Queue.Declare(
                queue='q', passive=True, durable=True, exclusive=False, auto_delete=False
            ),
        ),
        (
            lambda ch: ch.queue_declare(print, 'q', False, True, False, True, True),
            None,  # 0.9 form with nowait=True and a callback: ValueError, nothing sent
        ),
        (
            lambda ch: ch.queue_bind('q', 'e', 'rk', _ARGS),
            spec.Queue.Bind(queue='q', exchange='e', routing_key='rk', arguments=_ARGS),
        ),
        (
            lambda ch: ch.queue_bind('q', 'e', nowait=True),
            spec.Queue.Bind(queue='q', exchange='e', routing_key='q', nowait=True),
        ),
        (
            lambda ch: ch.queue_unbind('q', 'e', 'rk', _ARGS),
            spec.Queue.Unbind(queue='q', exchange='e', routing_key='rk', arguments=_ARGS),
        ),
        (lambda ch: ch.queue_purge('q'), spec.Queue.Purge(queue='q')),
        (
            lambda ch: ch.queue_delete('q', True, False),
            spec.Queue.Delete(queue='q', if_unused=True, if_empty=False),
        ),
        (
            lambda ch: ch.basic_qos(5, 7, True),
            spec.Basic.Qos(prefetch_size=5, prefetch_count=7, global_qos=True),
        ),
        (
            lambda ch: ch.basic_consume('q', print, True, False, 'tag', _ARGS),
            spec.Basic.Consume(
                queue='q', consumer_tag='tag', no_ack=True, exclusive=False, arguments=_ARGS
            ),
        ),
        (lambda ch: ch.basic_cancel('tag'), spec.Basic.Cancel(consumer_tag='tag')),
        (
            lambda ch: ch.basic_cancel('tag', nowait=True),
            spec.Basic.Cancel(consumer_tag='tag', nowait=True),
        ),
        (lambda ch: ch.basic_get('q', print, True), spec.Basic.Get(queue='q', no_ack=True)),
        (
            lambda ch: ch.basic_nack(3, True, False),
            spec.Basic.Nack(delivery_tag=3, multiple=True, requeue=False),
        ),
        (lambda ch: ch.basic_reject(4, False), spec.Basic.Reject(delivery_tag=4, requeue=False)),
        (lambda ch: ch.basic_recover(True), spec.Basic.Recover(requeue=True)),
        (lambda ch: ch.confirm_delivery(print), spec.Confirm.Select()),
        (lambda ch: ch.flow(False), spec.Channel.Flow(active=False)),
    ],
)  # fmt: skip
def test_front_end_methods_send_what_keywords_would_build(call: Any, expected: Any) -> None:
    conn, channel = open_fake_channel()
    if expected is None:
        with pytest.raises(ValueError):
            call(channel)
        assert conn._take_output() == b''
        return
    call(channel)
    sent = sf.methods(bytes(conn._take_output()))
    assert len(sent) == 1
    assert bytes(encode.encode_method(1, sent[0])) == encode.encode_method(1, expected)


@pytest.mark.parametrize('flag', ['passive', 'durable', 'exclusive', 'auto_delete'])
def test_flag_check_names_whichever_queue_declare_flag_is_bad(flag: str) -> None:
    """ChannelMethod.check tests all flags in one step; the error still names the bad one."""
    conn, channel = open_fake_channel()
    with pytest.raises(TypeError, match=rf'^{flag} must be a bool'):
        channel.queue_declare('q', **{flag: 'yes'})
    assert conn._take_output() == b''


def test_flag_check_of_single_flag_methods() -> None:
    """A method with one flag gets a tuple from the cached getter as well."""
    conn, channel = open_fake_channel()
    channel.queue_delete('q', if_unused=True)
    channel.basic_qos(prefetch_count=5, global_qos=1)
    with pytest.raises(TypeError, match=r'^global_qos must be a bool'):
        channel.basic_qos(prefetch_count=5, global_qos='no')
    sent = sf.methods(bytes(conn._take_output()))
    assert sent[0].if_unused is True
    assert len(sent) == 1  # basic_qos waits behind the outstanding Queue.Delete
