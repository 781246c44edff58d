"""Fuzzing the frame decoder: only AMQPError may escape, and a decode loop always ends.

The invariant (h11's fuzz rule, applied to AMQP): for ANY input, ``decode_frame`` returns a frame,
returns ``(0, None)``, or raises a subclass of ``pika.exceptions.AMQPError``.
"""

from __future__ import annotations

import struct
import tracemalloc
from typing import Union

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pika import exceptions, frame, spec

Buffer = Union[bytes, bytearray, memoryview]

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_loop(data: Buffer, frame_max: int | None = None) -> list[frame.Frame]:
    """Decode until more data is needed or an AMQPError; check the step/consumption invariants."""
    frames: list[frame.Frame] = []
    offset = 0
    max_steps = len(data) // frame.FRAME_OVERHEAD + 1  # every frame is at least 8 bytes
    for _ in range(max_steps + 1):
        try:
            consumed, value = frame.decode_frame(data, offset, frame_max)
        except exceptions.AMQPError:
            return frames
        if consumed == 0:
            assert value is None
            return frames
        assert isinstance(value, frame.Frame)
        assert frame.FRAME_OVERHEAD <= consumed <= len(data) - offset
        frames.append(value)
        offset += consumed
    raise AssertionError('decode loop did not terminate')


# ---------------------------------------------------------------------------- valid frames

short_str = st.text(max_size=20).filter(lambda s: len(s.encode()) <= 255)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
channels = st.integers(min_value=0, max_value=65535)


@st.composite
def method_frames(draw: st.DrawFn) -> frame.Frame:
    kind = draw(st.sampled_from(['deliver', 'publish', 'ack', 'close', 'declare']))
    if kind == 'deliver':
        method = spec.Basic.Deliver(
            consumer_tag=draw(short_str),
            delivery_tag=draw(u64),
            redelivered=draw(st.booleans()),
            exchange=draw(short_str),
            routing_key=draw(short_str),
        )
    elif kind == 'publish':
        method = spec.Basic.Publish(
            exchange=draw(short_str), routing_key=draw(short_str), mandatory=draw(st.booleans())
        )
    elif kind == 'ack':
        method = spec.Basic.Ack(delivery_tag=draw(u64), multiple=draw(st.booleans()))
    elif kind == 'close':
        method = spec.Channel.Close(
            reply_code=draw(st.integers(0, 65535)),
            reply_text=draw(short_str),
            class_id=draw(st.integers(0, 65535)),
            method_id=draw(st.integers(0, 65535)),
        )
    else:
        method = spec.Queue.Declare(
            queue=draw(short_str),
            durable=draw(st.booleans()),
            arguments=draw(
                st.dictionaries(short_str, st.integers(-(2**31), 2**31 - 1), max_size=3)
            ),
        )
    return frame.Method(draw(channels), method)


@st.composite
def header_frames(draw: st.DrawFn) -> frame.Frame:
    props = spec.BasicProperties(
        content_type=draw(st.none() | short_str),
        delivery_mode=draw(st.none() | st.sampled_from([1, 2])),
        priority=draw(st.none() | st.integers(0, 9)),
        correlation_id=draw(st.none() | short_str),
        headers=draw(st.none() | st.dictionaries(short_str, short_str, max_size=3)),
    )
    return frame.Header(draw(channels), draw(u64), props)


body_frames = st.builds(frame.Body, channels, st.binary(max_size=300))
heartbeats = st.just(frame.Heartbeat())
any_frame = st.one_of(method_frames(), header_frames(), body_frames, heartbeats)


@FUZZ
@given(st.lists(any_frame, max_size=8))
def test_round_trip_whole_and_byte_at_a_time(frames: list[frame.Frame]) -> None:
    data = b''.join(f.marshal() for f in frames)
    assert decode_loop(data) == frames
    buf = bytearray()
    got: list[frame.Frame] = []
    offset = 0
    for byte in data:
        buf.append(byte)
        while True:
            consumed, value = frame.decode_frame(buf, offset)
            if not consumed:
                break
            assert value is not None
            got.append(value)
            offset += consumed
    assert got == frames
    assert offset == len(data)


# ---------------------------------------------------------------------------- garbage


@FUZZ
@given(st.binary(max_size=512), st.sampled_from([None, 0, 4096, 131072]))
def test_random_bytes_only_raise_amqp_errors(data: bytes, frame_max: int | None) -> None:
    decode_loop(data, frame_max)
    decode_loop(bytearray(data), frame_max)
    decode_loop(memoryview(data), frame_max)


@FUZZ
@given(
    st.integers(1, 8).flatmap(lambda t: st.tuples(st.just(t), channels, st.binary(max_size=200)))
)
def test_well_framed_random_payloads(parts: tuple[int, int, bytes]) -> None:
    """Correct framing with a random payload exercises the method/header decoders deeply."""
    frame_type, channel, payload = parts
    decode_loop(frame.encode_frame(frame_type, channel, payload))


@st.composite
def method_ids_with_garbage(draw: st.DrawFn) -> bytes:
    method_id = draw(st.sampled_from(sorted(spec.methods)))
    payload = struct.pack('>I', method_id) + draw(st.binary(max_size=120))
    return frame.encode_frame(frame.FRAME_METHOD, draw(channels), payload)


@FUZZ
@given(method_ids_with_garbage())
def test_every_method_decoder_survives_garbage(data: bytes) -> None:
    decode_loop(data)


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    frames = draw(st.lists(any_frame, min_size=1, max_size=5))
    data = bytearray(b''.join(f.marshal() for f in frames))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(['flip', 'insert', 'delete', 'truncate', 'size']))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 'flip' and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == 'insert':
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == 'delete' and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == 'truncate':
            del data[pos:]
        elif op == 'size' and len(data) >= 7:
            data[3:7] = struct.pack('>I', draw(st.integers(0, 2**32 - 1)))
    return bytes(data)


@FUZZ
@given(mutated_streams(), st.sampled_from([None, 4096, 131072]))
def test_mutated_valid_streams_only_raise_amqp_errors(data: bytes, frame_max: int | None) -> None:
    decode_loop(data, frame_max)


# ---------------------------------------------------------------------------- huge frames


def test_two_gib_frame_is_refused_without_allocating() -> None:
    head = struct.pack('>BHI', frame.FRAME_BODY, 1, 2**31)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for extra in (b'', b'\x00' * 16):
            try:
                frame.decode_frame(head + extra, 0, 131072)
            except exceptions.FrameTooLargeError as error:
                assert '131072' in str(error)
            else:
                raise AssertionError('a 2 GiB frame was not refused')
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_two_gib_frame_without_limit_waits_without_allocating() -> None:
    """With no frame_max the decoder just asks for more bytes; it never preallocates."""
    head = bytearray(struct.pack('>BHI', frame.FRAME_METHOD, 1, 2**31) + b'\x00' * 64)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert frame.decode_frame(head, 0, None) == (0, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


# ---------------------------------------------------------------------------- fast paths


def _spec_or_error(decode: object) -> object:
    """Result of ``decode()`` as comparable data: the attributes, or the error class family."""
    try:
        return vars(decode())  # type: ignore[operator]
    except exceptions.AMQPError:
        return 'AMQPError'


@FUZZ
@given(method_frames().filter(lambda f: isinstance(f.method, spec.Basic.Deliver)))
def test_fast_deliver_decoder_matches_spec(method_frame: frame.Frame) -> None:
    payload = method_frame.marshal()[7:-1]
    _, decoded = frame.decode_frame(method_frame.marshal())
    assert isinstance(decoded, frame.Method)
    assert vars(decoded.method) == vars(spec.Basic.Deliver().decode(payload, 4))
    assert list(vars(decoded.method)) == list(vars(spec.Basic.Deliver()))  # same field order


@FUZZ
@given(
    st.binary(max_size=60).map(lambda b: struct.pack('>I', 0x003C003C) + b)
    | method_frames()
    .filter(lambda f: isinstance(f.method, spec.Basic.Deliver))
    .map(lambda f: f.marshal()[7:-1]),
    st.data(),
)
def test_fast_deliver_decoder_agrees_on_garbage(payload: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(4, len(payload)))
    mutated = payload[:cut]

    def fast() -> object:
        _consumed, value = frame.decode_frame(frame.encode_frame(frame.FRAME_METHOD, 1, mutated))
        assert isinstance(value, frame.Method)
        return value.method

    assert _spec_or_error(fast) == _spec_or_error(lambda: spec.Basic.Deliver().decode(mutated, 4))


def _shortstr(raw: bytes) -> bytes:
    return bytes((len(raw),)) + raw


@st.composite
def raw_deliver_payloads(draw: st.DrawFn) -> bytes:
    """Deliver payloads built field by field, with any bits octet and any (even bad) UTF-8."""
    text = st.binary(max_size=12) | short_str.map(str.encode)
    return b''.join(
        (
            struct.pack('>I', 0x003C003C),
            _shortstr(draw(text)),
            struct.pack('>QB', draw(u64), draw(st.integers(0, 255))),
            _shortstr(draw(text)),
            _shortstr(draw(text)),
        )
    )


@FUZZ
@given(raw_deliver_payloads())
def test_fast_deliver_decoder_agrees_on_any_field_values(payload: bytes) -> None:
    def fast() -> object:
        _consumed, value = frame.decode_frame(frame.encode_frame(frame.FRAME_METHOD, 1, payload))
        assert isinstance(value, frame.Method)
        return value.method

    assert _spec_or_error(fast) == _spec_or_error(lambda: spec.Basic.Deliver().decode(payload, 4))


_KINDS = ['s', 's', 't', 'o', 'o', 's', 's', 's', 's', 'q', 's', 's', 's', 's']


@st.composite
def raw_property_payloads(draw: st.DrawFn) -> bytes:
    """Content header payloads with any flags word and arbitrary values for each kind."""
    flags = draw(st.integers(0, 0xFFFF))
    pieces = [struct.pack('>HHQH', 60, 0, draw(u64), flags)]
    for index, kind in enumerate(_KINDS):
        if not flags & (0x8000 >> index):
            continue
        if kind == 's':
            pieces.append(_shortstr(draw(st.binary(max_size=10) | short_str.map(str.encode))))
        elif kind == 'o':
            pieces.append(bytes((draw(st.integers(0, 255)),)))
        elif kind == 'q':
            pieces.append(struct.pack('>Q', draw(u64)))
        else:
            pieces.append(b'\x00\x00\x00\x04\x01kt\x01')  # {'k': True}
    if flags & 1:
        pieces.append(struct.pack('>H', draw(st.integers(0, 0xFFFE))))
    return b''.join(pieces)


@FUZZ
@given(raw_property_payloads())
def test_fast_properties_decoder_agrees_on_any_field_values(payload: bytes) -> None:
    def fast() -> object:
        _consumed, value = frame.decode_frame(frame.encode_frame(frame.FRAME_HEADER, 1, payload))
        assert isinstance(value, frame.Header)
        return value.properties

    def reference() -> object:
        props = spec.BasicProperties()
        props.decode(payload, 12)
        return props

    assert _spec_or_error(fast) == _spec_or_error(reference)


@FUZZ
@given(header_frames(), st.data())
def test_fast_properties_decoder_matches_spec(header: frame.Frame, data: st.DataObject) -> None:
    payload = header.marshal()[7:-1]
    cut = data.draw(st.integers(14, len(payload)))
    flip = data.draw(st.none() | st.tuples(st.integers(12, len(payload) - 1), st.integers(1, 255)))
    mutated = bytearray(payload[:cut])
    if flip is not None and flip[0] < len(mutated):
        mutated[flip[0]] ^= flip[1]
    raw = bytes(mutated)

    def fast() -> object:
        _consumed, value = frame.decode_frame(frame.encode_frame(frame.FRAME_HEADER, 1, raw))
        assert isinstance(value, frame.Header)
        return value.properties

    def reference() -> object:
        props = spec.BasicProperties()
        props.decode(raw, 12)
        return props

    expected = _spec_or_error(reference)
    assert _spec_or_error(fast) == expected
    if isinstance(expected, dict):
        assert list(expected) == list(vars(spec.BasicProperties()))


def _batched(data: bytes, frame_max: int | None) -> list[frame.Frame]:
    """Decode with decode_frames until it needs data or raises; mirror of decode_loop."""
    frames: list[frame.Frame] = []
    offset = 0
    while True:
        try:
            consumed, got = frame.decode_frames(data, offset, frame_max)
        except exceptions.AMQPError:
            return frames
        if not consumed:
            assert got == []
            return frames
        assert got
        frames.extend(got)
        offset += consumed


@FUZZ
@given(mutated_streams() | st.binary(max_size=300), st.sampled_from([None, 4096]))
def test_decode_frames_agrees_with_decode_frame(data: bytes, frame_max: int | None) -> None:
    assert _batched(data, frame_max) == decode_loop(data, frame_max)
