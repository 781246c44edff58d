"""Frame codec: golden bytes, and every decode run whole, byte at a time and with trailing data."""

from __future__ import annotations

import struct
from typing import Callable, Union

import pytest

from pika import exceptions, frame, spec

Buffer = Union[bytes, bytearray, memoryview]

# ---------------------------------------------------------------------------- golden bytes
# Worked out by hand from the AMQP 0-9-1 grammar (type, channel, size, payload, 0xCE).

PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'
HEARTBEAT = bytes.fromhex('08 0000 00000000 ce')

# Basic.Publish(exchange='ex', routing_key='rk', mandatory=True) on channel 1:
# method id 003c0028, ticket 0000, shortstr 'ex', shortstr 'rk', bits 01 (mandatory).
PUBLISH_METHOD = bytes.fromhex('01 0001 0000000d 003c0028 0000 02 6578 02 726b 01 ce')
# Content header: class 60, weight 0, body size 5, flags 9000 (content-type, delivery-mode),
# shortstr 'text/plain', octet 2.
PUBLISH_HEADER = bytes.fromhex(
    '02 0001 0000001a 003c 0000 0000000000000005 9000 0a 746578742f706c61696e 02 ce'
)
PUBLISH_BODY = bytes.fromhex('03 0001 00000005 68656c6c6f ce')

# Basic.Deliver(consumer_tag='ctag', delivery_tag=7, redelivered=False, exchange='ex',
# routing_key='rk') on channel 1, then an empty-properties header and a 5-byte body.
DELIVER_METHOD = bytes.fromhex(
    '01 0001 00000018 003c003c 04 63746167 0000000000000007 00 02 6578 02 726b ce'
)
DELIVER_HEADER = bytes.fromhex('02 0001 0000000e 003c 0000 0000000000000005 0000 ce')
DELIVER_BODY = PUBLISH_BODY


def publish_properties() -> spec.BasicProperties:
    return spec.BasicProperties(content_type='text/plain', delivery_mode=2)


# ---------------------------------------------------------------------------- decode helpers


def decode_all(data: Buffer, frame_max: int | None = None) -> tuple[list[frame.Frame], int]:
    """Decode frames until the decoder asks for more bytes; return them and the bytes used."""
    frames: list[frame.Frame] = []
    offset = 0
    while True:
        consumed, value = frame.decode_frame(data, offset, frame_max)
        if consumed == 0:
            assert value is None
            return frames, offset
        assert value is not None
        frames.append(value)
        offset += consumed


def decode_byte_at_a_time(data: bytes) -> tuple[list[frame.Frame], int]:
    """Feed a growing bytearray one byte at a time, as a socket might."""
    buf = bytearray()
    frames: list[frame.Frame] = []
    offset = 0
    for byte in data:
        buf.append(byte)
        got, used = decode_all(memoryview(buf)[offset:])
        frames.extend(got)
        offset += used
    return frames, offset


def check_decodes(data: bytes, expected: list[frame.Frame]) -> None:
    """h11-style: the same frames whole, byte by byte, with trailing garbage-free bytes."""
    whole, used = decode_all(data)
    assert whole == expected
    assert used == len(data)

    one_by_one, used = decode_byte_at_a_time(data)
    assert one_by_one == expected
    assert used == len(data)

    trailing = data + HEARTBEAT[:5]  # a partial next frame stays in the buffer
    with_tail, used = decode_all(bytearray(trailing))
    assert with_tail == expected
    assert used == len(data)

    assert decode_all(memoryview(data))[0] == expected

    for feed in (bytes, bytearray, memoryview):  # the batched decoder agrees
        assert frame.decode_frames(feed(trailing)) == (len(data), expected)


# ---------------------------------------------------------------------------- encode


def test_protocol_header_golden() -> None:
    assert frame.ProtocolHeader().marshal() == PROTOCOL_HEADER
    assert frame.ProtocolHeader(0, 10, 0).marshal() == b'AMQP\x00\x00\x0a\x00'


def test_heartbeat_golden() -> None:
    beat = frame.Heartbeat()
    assert beat.marshal() == HEARTBEAT
    assert (beat.frame_type, beat.channel_number) == (frame.FRAME_HEARTBEAT, 0)


def test_publish_frame_set_golden() -> None:
    method = spec.Basic.Publish(exchange='ex', routing_key='rk', mandatory=True)
    assert frame.Method(1, method).marshal() == PUBLISH_METHOD
    assert frame.Header(1, 5, publish_properties()).marshal() == PUBLISH_HEADER
    assert frame.Body(1, b'hello').marshal() == PUBLISH_BODY


def test_encode_publish_golden() -> None:
    pieces = frame.encode_publish(1, 'ex', 'rk', True, publish_properties(), b'hello', 131072)
    assert b''.join(pieces) == PUBLISH_METHOD + PUBLISH_HEADER + PUBLISH_BODY


def test_encode_publish_without_properties_matches_frames() -> None:
    pieces = frame.encode_publish(3, '', 'queue', False, None, 'héllo', 131072)
    body = 'héllo'.encode()
    expected = (
        frame.Method(3, spec.Basic.Publish(exchange='', routing_key='queue')).marshal()
        + frame.Header(3, len(body), spec.BasicProperties()).marshal()
        + frame.Body(3, body).marshal()
    )
    assert b''.join(pieces) == expected


def test_encode_publish_empty_body_has_no_body_frame() -> None:
    pieces = frame.encode_publish(1, 'ex', 'rk', True, publish_properties(), b'', None)
    frames, _used = decode_all(b''.join(pieces))
    assert [type(f) for f in frames] == [frame.Method, frame.Header]
    assert frames[1].body_size == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize('size', [4088, 4089, 10000, 40000, 100000])
def test_encode_publish_splits_body_by_frame_max(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b'x' * (size % 256)
    pieces = frame.encode_publish(2, 'ex', 'rk', False, None, body, 4096)
    frames, _used = decode_all(b''.join(pieces), frame_max=4096)
    bodies = [f for f in frames if isinstance(f, frame.Body)]
    assert b''.join(bytes(f.fragment) for f in bodies) == body
    assert all(len(f.fragment) <= 4096 - 8 for f in bodies)
    assert len(bodies) == -(-size // 4088)


def test_encode_publish_references_large_bodies() -> None:
    body = bytearray(b'z' * 100000)
    pieces = frame.encode_publish(1, 'ex', 'rk', False, None, body, None)
    views = [p for p in pieces if isinstance(p, memoryview)]
    assert views and views[0].obj is body


def test_encode_publish_cache_distinguishes_flags() -> None:
    plain = frame.encode_publish(1, 'e', 'k', False, None, b'a', None)
    mand = frame.encode_publish(1, 'e', 'k', True, None, b'a', None)
    assert plain != mand
    assert frame.encode_publish(1, 'e', 'k', False, None, b'a', None) == plain


def test_encode_publish_rejects_bad_arguments() -> None:
    with pytest.raises(exceptions.ShortStringTooLong):
        frame.encode_publish(1, 'x' * 256, 'rk', False, None, b'', None)
    with pytest.raises(TypeError):
        frame.encode_publish(1, 'ex', 'rk', False, None, 42, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        frame.encode_publish(1, b'ex', 'rk', False, None, b'', None)  # type: ignore[arg-type]


def test_encode_frame() -> None:
    assert frame.encode_frame(frame.FRAME_BODY, 1, b'hello') == PUBLISH_BODY
    assert frame.encode_frame(frame.FRAME_HEARTBEAT, 0, b'') == HEARTBEAT


def test_split_body() -> None:
    assert frame.split_body(b'', 4096) == []
    small = b'abc'
    assert frame.split_body(small, 4096) == [small]
    body = b'0123456789' * 1000
    parts = frame.split_body(body, 4096)
    assert [len(p) for p in parts] == [4088, 4088, 1824]
    assert b''.join(bytes(p) for p in parts) == body
    assert all(isinstance(p, memoryview) and p.obj is body for p in parts)
    with pytest.raises(ValueError):
        frame.split_body(body, 8)


# ---------------------------------------------------------------------------- decode


def test_decode_protocol_header() -> None:
    check_decodes(PROTOCOL_HEADER, [frame.ProtocolHeader(0, 9, 1)])
    (header,), _ = decode_all(b'AMQP\x00\x00\x08\x00')
    assert isinstance(header, frame.ProtocolHeader)
    assert (header.major, header.minor, header.revision) == (0, 8, 0)


def test_decode_heartbeat() -> None:
    check_decodes(HEARTBEAT, [frame.Heartbeat()])


def test_decode_publish_frame_set() -> None:
    method = spec.Basic.Publish(exchange='ex', routing_key='rk', mandatory=True)
    check_decodes(
        PUBLISH_METHOD + PUBLISH_HEADER + PUBLISH_BODY,
        [
            frame.Method(1, method),
            frame.Header(1, 5, publish_properties()),
            frame.Body(1, b'hello'),
        ],
    )


def test_decode_deliver_frame_set() -> None:
    data = DELIVER_METHOD + DELIVER_HEADER + DELIVER_BODY
    frames, used = decode_all(data)
    assert used == len(data)
    method_frame, header_frame, body_frame = frames
    assert isinstance(method_frame, frame.Method)
    deliver = method_frame.method
    assert isinstance(deliver, spec.Basic.Deliver)
    assert method_frame.channel_number == 1
    assert (deliver.consumer_tag, deliver.delivery_tag, deliver.redelivered) == ('ctag', 7, False)
    assert (deliver.exchange, deliver.routing_key) == ('ex', 'rk')
    assert isinstance(header_frame, frame.Header)
    assert header_frame.body_size == 5
    assert header_frame.properties == spec.BasicProperties()
    assert isinstance(body_frame, frame.Body)
    assert body_frame.fragment == b'hello' and type(body_frame.fragment) is bytes
    check_decodes(data, frames)


def test_decoded_body_is_a_copy() -> None:
    buf = bytearray(PUBLISH_BODY)
    _, body = frame.decode_frame(buf)
    buf[7:12] = b'XXXXX'
    assert isinstance(body, frame.Body) and body.fragment == b'hello'


def test_decode_at_offset_reads_only_that_frame() -> None:
    data = HEARTBEAT + PUBLISH_BODY
    consumed, value = frame.decode_frame(data, len(HEARTBEAT))
    assert consumed == len(PUBLISH_BODY)
    assert value == frame.Body(1, b'hello')


def test_round_trip_every_frame_class() -> None:
    frames: list[frame.Frame] = [
        frame.Method(5, spec.Queue.Declare(queue='q', durable=True, arguments={'x-a': 1})),
        frame.Header(5, 3, spec.BasicProperties(headers={'k': 'v'}, priority=4)),
        frame.Body(5, b'abc'),
        frame.Heartbeat(),
    ]
    check_decodes(b''.join(f.marshal() for f in frames), frames)


def test_repr_is_readable() -> None:
    text = repr(frame.Body(1, b'hi'))
    assert text == "<Body(['channel_number=1', \"fragment=b'hi'\", 'frame_type=3'])>"


# ---------------------------------------------------------------------------- errors

BAD_INPUTS: list[tuple[str, bytes, type[exceptions.AMQPError]]] = [
    ('bad frame end', PUBLISH_BODY[:-1] + b'\x00', exceptions.InvalidFrameError),
    ('unknown type', b'\x05' + PUBLISH_BODY[1:], exceptions.InvalidFrameError),
    ('unknown type, partial', b'\x07\x00', exceptions.InvalidFrameError),
    ('garbled magic', b'AMQX\x00\x00\x09\x01', exceptions.InvalidFrameError),
    ('garbled magic, partial', b'AB', exceptions.InvalidFrameError),
    ('heartbeat on channel 1', bytes.fromhex('08 0001 00000000 ce'), exceptions.InvalidFrameError),
    ('heartbeat payload', bytes.fromhex('08 0000 00000001 00 ce'), exceptions.InvalidFrameError),
    ('short method', bytes.fromhex('01 0001 00000002 003c ce'), exceptions.InvalidFrameError),
    ('unknown method', bytes.fromhex('01 0001 00000004 00630063 ce'), exceptions.AMQPError),
    ('truncated args', DELIVER_METHOD[:7] + b'\x00' * 24 + b'\xce', exceptions.AMQPError),
    ('short header', bytes.fromhex('02 0001 00000004 003c 0000 ce'), exceptions.InvalidFrameError),
    (
        'header class',
        bytes.fromhex('02 0001 0000000e 0032 0000 0000000000000000 0000 ce'),
        exceptions.InvalidFrameError,
    ),
]


@pytest.mark.parametrize(
    ('data', 'error'), [(d, e) for _, d, e in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS]
)
@pytest.mark.parametrize('feed', [bytes, bytearray, memoryview])
def test_malformed_frames_raise_amqp_errors(
    data: bytes, error: type, feed: Callable[[bytes], Buffer]
) -> None:
    with pytest.raises(error):
        decode_all(feed(data))


def test_frame_max_is_enforced_from_the_header() -> None:
    too_big = struct.pack('>BHI', frame.FRAME_BODY, 1, 4089)  # 4089 + 8 > 4096
    with pytest.raises(exceptions.FrameTooLargeError):
        frame.decode_frame(too_big, 0, 4096)
    just_fits = frame.encode_frame(frame.FRAME_BODY, 1, b'x' * 4088)
    assert frame.decode_frame(just_fits, 0, 4096)[0] == 4096
    assert frame.decode_frame(too_big, 0, None) == (0, None)  # no limit: wait for the payload
    assert frame.decode_frame(too_big, 0, 0) == (0, None)  # 0 means unlimited, as in Tune


def test_partial_frames_need_more_data() -> None:
    data = PUBLISH_METHOD
    for cut in range(len(data)):
        assert frame.decode_frame(data[:cut]) == (0, None)


# ---------------------------------------------------------------------------- decode_frames

DELIVERY = DELIVER_METHOD + DELIVER_HEADER + DELIVER_BODY


def test_decode_frames_from_an_offset() -> None:
    data = b'xx' + DELIVERY + HEARTBEAT + DELIVER_BODY[:3]
    consumed, frames = frame.decode_frames(data, 2)
    assert consumed == len(DELIVERY) + len(HEARTBEAT)
    assert [type(f) for f in frames] == [frame.Method, frame.Header, frame.Body, frame.Heartbeat]
    assert frame.decode_frames(data, 2 + consumed) == (0, [])


def test_decode_frames_returns_good_frames_before_an_error() -> None:
    broken = PUBLISH_BODY[:-1] + b'\x00'
    data = DELIVERY + broken
    consumed, frames = frame.decode_frames(data)
    assert consumed == len(DELIVERY) and len(frames) == 3
    with pytest.raises(exceptions.InvalidFrameError):
        frame.decode_frames(data, consumed)


def test_decode_frames_enforces_frame_max() -> None:
    big = frame.encode_frame(frame.FRAME_BODY, 1, b'x' * 5000)
    consumed, _frames = frame.decode_frames(DELIVERY + big, 0, 4096)
    assert consumed == len(DELIVERY)
    with pytest.raises(exceptions.FrameTooLargeError):
        frame.decode_frames(big, 0, 4096)


def test_decode_frames_unusual_frames_take_the_careful_path() -> None:
    odd_props = spec.BasicProperties(headers={'a': 1}, timestamp=5, app_id='x', priority=3)
    frames = [
        frame.Method(2, spec.Basic.Ack(delivery_tag=9, multiple=True)),
        frame.Header(2, 0, odd_props),
        frame.Heartbeat(),
        frame.Method(2, spec.Basic.Deliver('c', 1, True, 'e', 'r')),
    ]
    data = PROTOCOL_HEADER + b''.join(f.marshal() for f in frames)
    assert frame.decode_frames(data) == (len(data), [frame.ProtocolHeader(), *frames])
