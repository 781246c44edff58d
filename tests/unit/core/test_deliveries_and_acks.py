"""The consume hot path's shortcuts give exactly what the general code paths give."""

from __future__ import annotations

from typing import Any

import pytest

from pika import exceptions, spec
from pika._wire import encode
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core
from tests.helpers.fake_transport import FakeTransportConnection, open_fake_channel


@pytest.mark.parametrize('tag', [0, 1, 255, 2**32 + 7, 2**64 - 1])
@pytest.mark.parametrize('multiple', [False, True, 0, 1])
def test_core_ack_frame_is_the_generic_encoding(tag: int, multiple: Any) -> None:
    core = open_core()
    ch = open_channel(core)
    ch.ack(tag, multiple)
    fast = bytes(core.data_to_send())
    ch.send(spec.Basic.Ack(delivery_tag=tag, multiple=bool(multiple)))
    assert fast == bytes(core.data_to_send())
    assert fast == encode.encode_method(
        1, spec.Basic.Ack(delivery_tag=tag, multiple=bool(multiple))
    )


def test_core_ack_refused_when_closed_or_tag_too_large() -> None:
    core = open_core()
    ch = open_channel(core)
    with pytest.raises(Exception):  # noqa: B017  (whatever the generic encoder raises)
        ch.ack(2**64, False)
    assert core.data_to_send() == b''
    ch.close()
    core.receive_data(sf.channel_close_ok(1), 0.0)
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.ack(1, False)


def test_core_ack_each_is_one_ack_per_tag_in_order() -> None:
    core = open_core()
    ch = open_channel(core)
    tags = [3, 1, 2**64 - 1, 0]
    sent_before = core.frames_sent
    ch.ack_each(tags)
    batched = bytes(core.data_to_send())
    assert core.frames_sent - sent_before == len(tags)
    for tag in tags:
        ch.ack(tag, False)
    assert batched == bytes(core.data_to_send())
    ch.ack_each([])
    assert core.data_to_send() == b''
    ch.close()
    core.receive_data(sf.channel_close_ok(1), 0.0)
    with pytest.raises(exceptions.ChannelWrongStateError):
        ch.ack_each([1])


def test_core_delivery_fast_path_event_matches() -> None:
    core = open_core()
    ch = open_channel(core)
    ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('ctag1')), 0.0)
    props = spec.BasicProperties(message_id='m1')
    events = core.receive_data(sf.deliver(1, b'body', 9, properties=props), 0.0)
    assert names(events) == ['MessageDelivered']
    event: Any = events[0]
    assert (event.channel_number, event.method.delivery_tag, event.body) == (1, 9, b'body')
    assert event.properties.message_id == 'm1' and not ch.assembler.active


def _consuming_channel(on_message: Any) -> tuple[FakeTransportConnection, Any]:
    conn, channel = open_fake_channel()
    channel.basic_consume('q', on_message, consumer_tag='ctag1')
    conn._on_data_received(sf.method(1, spec.Basic.ConsumeOk('ctag1')))
    conn._take_output()
    return conn, channel


def test_acks_from_callbacks_are_written_once_per_batch() -> None:
    seen: list[int] = []

    def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
        seen.append(method.delivery_tag)
        ch.basic_ack(method.delivery_tag)

    conn, _channel = _consuming_channel(on_message)
    conn.output_ready_calls = 0
    conn._on_data_received(b''.join(sf.deliver(1, b'x', tag) for tag in (1, 2, 3)))
    assert seen == [1, 2, 3]
    sent = sf.methods(bytes(conn._take_output()))
    assert [(type(m).__name__, m.delivery_tag) for m in sent] == [
        ('Ack', 1),
        ('Ack', 2),
        ('Ack', 3),
    ]
    assert 1 <= conn.output_ready_calls <= 2  # not one per ack


def test_basic_ack_checks_still_raise_at_the_call() -> None:
    conn, channel = _consuming_channel(lambda *a: None)
    with pytest.raises(TypeError):
        channel.basic_ack('1')
    with pytest.raises(TypeError):
        channel.basic_ack(None)
    with pytest.raises(TypeError):
        channel.basic_ack(1, multiple='yes')
    with pytest.raises(ValueError):
        channel.basic_ack(-1)
    channel.basic_ack(5, multiple=1)
    assert [m.multiple for m in sf.methods(bytes(conn._take_output()))] == [True]
    channel.close()
    with pytest.raises(exceptions.ChannelWrongStateError):
        channel.basic_ack(1)  # closing (cancelling the consumer): refused like any send
