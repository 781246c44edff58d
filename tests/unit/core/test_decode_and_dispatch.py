"""H4's shortcuts give what the general paths give: spec decoders read strings with
``bytes.decode`` (and still accept memoryviews), state enums hash by identity, and output
queued during a read or an event batch is announced to the transport only when needed."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from pika import exceptions, spec
from pika._core import states
from tests.helpers import server_frames as sf
from tests.helpers.fake_transport import FakeTransportConnection, open_fake_channel
from tests.helpers.methods import ALL_METHODS, sample

# ---------------------------------------------------------------------------- spec decoders


def _all_buffer_kinds(payload: bytes) -> list[Any]:
    return [payload, bytearray(payload), memoryview(payload), memoryview(bytearray(payload))]


@pytest.mark.parametrize('method_class', ALL_METHODS, ids=lambda c: c.NAME)
def test_method_decode_is_the_same_from_any_buffer(method_class: type) -> None:
    """bytes, bytearray and memoryview payloads (at an offset) decode to the same fields."""
    payload = b'\x00' * 3 + b''.join(sample(method_class).encode())
    expected = vars(sample(method_class).decode(payload, 3))
    for buffer in _all_buffer_kinds(payload):
        got = sample(method_class).decode(buffer, 3)
        assert vars(got) == expected
        assert all(type(v) is not memoryview for v in vars(got).values())


def test_method_decode_reads_utf8_strings() -> None:
    method = spec.Queue.DeclareOk('q\u00e9\u4e2d', 5, 7)
    payload = b''.join(method.encode())
    for buffer in _all_buffer_kinds(payload):
        assert vars(spec.Queue.DeclareOk().decode(buffer)) == vars(method)


@pytest.mark.parametrize('make', [bytes, memoryview], ids=['bytes', 'memoryview'])
def test_method_decode_invalid_utf8_is_an_invalid_frame(make: Callable[[bytes], Any]) -> None:
    payload = b'\x02\xff\xfe' + b'\x00' * 8
    with pytest.raises(exceptions.InvalidFrameError, match='DeclareOk'):
        spec.Queue.DeclareOk().decode(make(payload))


@pytest.mark.parametrize('make', [bytes, memoryview], ids=['bytes', 'memoryview'])
def test_method_decode_truncated_string_is_an_invalid_frame(
    make: Callable[[bytes], Any],
) -> None:
    with pytest.raises(exceptions.InvalidFrameError):
        spec.Queue.DeclareOk().decode(make(b'\x09abc'))


def test_properties_decode_is_the_same_from_any_buffer() -> None:
    properties = spec.BasicProperties(
        content_type='text/plain',
        content_encoding='utf-8',
        headers={'k': 'v'},
        delivery_mode=2,
        correlation_id='c\u00e9',
        reply_to='r',
        expiration='60000',
        message_id='m',
        timestamp=5,
        type='t',
        user_id='u',
        app_id='a',
        cluster_id='x',
    )
    payload = b'\x01' + b''.join(properties.encode())
    expected = spec.BasicProperties()
    end = expected.decode(payload, 1)
    assert end == len(payload)
    assert vars(expected) == vars(properties)
    for buffer in _all_buffer_kinds(payload):
        got = spec.BasicProperties()
        assert got.decode(buffer, 1) == end
        assert vars(got) == vars(expected)


# ---------------------------------------------------------------------------- state enums


@pytest.mark.parametrize(
    'enum_class',
    [states.ConnectionState, states.ConnectionInput, states.ChannelState, states.ChannelInput],
)
def test_state_enums_hash_by_identity(enum_class: type) -> None:
    """object's C hash, not Enum.__hash__ (a Python call on every table lookup)."""
    assert enum_class.__hash__ is object.__hash__
    members = list(enum_class)  # type: ignore[var-annotated]
    assert len({*members}) == len(members)
    for member in members:
        assert {member: 1}[enum_class(member.value)] == 1


def test_state_tables_cover_every_state() -> None:
    assert set(states.CHANNEL_INBOUND) == set(states.ChannelState)
    assert set(states.CONNECTION_INBOUND) == set(states.ConnectionState)
    assert (
        states.next_channel_state(states.ChannelState.OPENING, states.ChannelInput.RECV_OPEN_OK)
        is states.ChannelState.OPEN
    )


# ---------------------------------------------------------------------------- output announcing


def _open() -> tuple[FakeTransportConnection, Any]:
    conn, channel = open_fake_channel()
    conn.output_ready_calls = 0
    return conn, channel


def _chained_declares(in_read: bool) -> tuple[int, bytes, list[str]]:
    """Three passive declares, each sent from the previous one's reply callback."""
    conn, channel = _open()
    replies: list[str] = []

    def on_reply(frame: Any) -> None:
        replies.append(frame.method.queue)
        if len(replies) < 3:
            channel.queue_declare(queue='q', passive=True, callback=on_reply)

    channel.queue_declare(queue='q', passive=True, callback=on_reply)
    first = bytes(conn._take_output())
    conn.output_ready_calls = 0
    reply = sf.method(1, spec.Queue.DeclareOk('q', 0, 0))
    for _ in range(2):
        conn._in_read = in_read
        conn._on_data_received(reply)
        conn._in_read = False
    return conn.output_ready_calls, first + bytes(conn._take_output()), replies


def test_rpc_from_a_callback_announces_output_once_per_batch() -> None:
    """An RPC sent from a reply callback is announced by the batch's end, not by itself."""
    calls, sent, replies = _chained_declares(in_read=False)
    assert calls == 2  # one per received batch
    assert replies == ['q', 'q']
    expected = b''.join(sf.method(1, spec.Queue.Declare(queue='q', passive=True)) for _ in range(3))
    assert sent == expected


def test_output_queued_inside_a_read_is_left_to_the_read_end() -> None:
    """The transport flushes when its read returns: no `_output_ready` call meanwhile."""
    calls, sent, replies = _chained_declares(in_read=True)
    assert calls == 0
    assert replies == ['q', 'q']
    assert sent == _chained_declares(in_read=False)[1]


def test_rpc_outside_dispatch_still_announces_output() -> None:
    conn, channel = _open()
    channel.queue_declare(queue='q', passive=True, callback=lambda _frame: None)
    assert conn.output_ready_calls == 1


# ---------------------------------------------------------------------------- draining output


def test_data_to_send_parts_drains_like_output_take_parts() -> None:
    """The inlined common case (only the buffer) and the general one give the same parts."""
    from pika._core.output import Output
    from tests.helpers.core_setup import open_channel, open_core

    core = open_core()
    core.data_to_send()
    assert core.data_to_send_parts() == []
    channel = open_channel(core, 1)
    core.data_to_send()
    channel.rpc(spec.Queue.Declare(queue='q', passive=True))
    expected = bytes(core.output.buffer)
    parts = core.data_to_send_parts()
    assert [bytes(part) for part in parts] == [expected]
    assert core.output.buffer == bytearray() and core.output.buffer is not parts[0]
    body = b'x' * 40000  # queued by reference: the general path
    channel.publish('', 'q', body, spec.BasicProperties(), False)
    reference = Output(core.frame_max)
    reference.buffer, reference.parts = bytearray(core.output.buffer), list(core.output.parts)
    reference.parts_size = core.output.parts_size
    assert core.data_to_send_parts() == reference.take_parts()
    assert core.data_to_send_parts() == [] and core.pending_bytes == 0
