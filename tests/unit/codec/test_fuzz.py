"""Fuzzing the frame decoder: only AMQPError may escape, and a decode loop always ends.

The invariant (h11's fuzz rule, applied to AMQP): for ANY input, ``decode_frame`` returns a frame,
returns ``(0, None)``, or raises a subclass of ``pika.exceptions.AMQPError``.
"""

from __future__ import annotations

import struct
import tracemalloc
from typing import Any, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pika import exceptions, frame, spec
from pika._wire import deliveries
from pika.amqp_object import AMQPObject
from tests.helpers.deliveries import channel_at, check_run, decode_run, frames_of
from tests.helpers.strategies import (
    any_frame,
    channels,
    deliver_streams,
    header_frames,
    method_frames,
    mutate,
    properties_values,
    short_str,
    u64,
)

Buffer = Union[bytes, bytearray, memoryview]

FUZZ = settings(max_examples=400)


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
    data = b''.join(f.marshal() for f in frames)
    return mutate(draw, data, rounds=st.integers(1, 6), sizes=True)


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
def _carries_deliver(value: frame.Frame) -> bool:
    return isinstance(value, frame.Method) and isinstance(value.method, spec.Basic.Deliver)


def _spec_or_error(decode: object) -> object:
    """Result of ``decode()`` as comparable data: the attributes, or the error class family."""
    try:
        return vars(decode())  # type: ignore[operator]
    except exceptions.AMQPError:
        return 'AMQPError'


@FUZZ
@given(method_frames().filter(_carries_deliver))
def test_fast_deliver_decoder_matches_spec(method_frame: frame.Frame) -> None:
    payload = method_frame.marshal()[7:-1]
    _, decoded = frame.decode_frame(method_frame.marshal())
    assert isinstance(decoded, frame.Method)
    assert vars(decoded.method) == vars(spec.Basic.Deliver().decode(payload, 4))
    assert list(vars(decoded.method)) == list(vars(spec.Basic.Deliver()))  # same field order


@FUZZ
@given(
    st.binary(max_size=60).map(lambda b: struct.pack('>I', 0x003C003C) + b)
    | method_frames().filter(_carries_deliver).map(lambda f: f.marshal()[7:-1]),
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


# ---------------------------------------------------------------------------- Deliver set path


def _deliveries(data: Buffer, offset: int, frame_max: int | None) -> list[Any]:
    """The Deliver sets decode_deliveries takes at ``offset`` for the channel found there,
    checked against the frame decoder (tests/helpers/deliveries.py)."""
    return check_run(data, offset, frame_max, channel_at(data, offset))


@FUZZ
@given(deliver_streams(), st.sampled_from([None, 0, 150, 131072]), st.data())
def test_deliveries_agree_with_decode_frame(
    data: bytes, frame_max: int | None, choose: st.DataObject
) -> None:
    offset = choose.draw(st.integers(0, len(data)))
    for buffer in (data, bytearray(data)):
        _deliveries(buffer, offset, frame_max)
        _deliveries(buffer, 0, frame_max)
    assert _deliveries(memoryview(data), 0, frame_max) == []


@FUZZ
@given(
    st.integers(1, 65535),
    method_frames().filter(_carries_deliver),
    properties_values,
    st.binary(max_size=300),
    st.binary(max_size=20),
)
def test_well_formed_deliver_sets_take_the_fast_path(
    channel: int,
    method_frame: frame.Frame,
    properties: spec.BasicProperties,
    body: bytes,
    prefix: bytes,
) -> None:
    """Every complete single-body-frame Deliver set is decoded in one go, at any offset.

    (Unless its property flags word has no compiled decoder: the cache of those is bounded, and
    other fuzz tests may have filled it with random flag words. Then it is declined, below.)
    """
    assert isinstance(method_frame, frame.Method)
    flags = int.from_bytes(properties.encode()[0], 'big')
    if deliveries.properties_decoder(flags) is None:
        data = frame.Method(channel, method_frame.method).marshal()
        data += frame.Header(channel, 0, properties).marshal()
        assert _deliveries(data, 0, None) == []
        return
    frames: list[frame.Frame] = [
        frame.Method(channel, method_frame.method),
        frame.Header(channel, len(body), properties),
    ]
    if body:
        frames.append(frame.Body(channel, body))
    data = prefix + b''.join(f.marshal() for f in frames) + b'\x08'
    for buffer in (data, bytearray(data)):
        records = _deliveries(buffer, len(prefix), 131072)
        assert [frames_of(record) for record in records] == [frames]
        # One byte short of complete: declined (the caller waits for more data).
        assert _deliveries(buffer[: len(data) - 2], len(prefix), None) == []


def test_deliveries_decline_odd_property_flags_and_small_frame_max() -> None:
    deliver = spec.Basic.Deliver('ctag', 1, False, 'ex', 'rk')
    data = b''.join(
        [
            frame.Method(1, deliver).marshal(),
            frame.Header(1, 3, spec.BasicProperties(content_type='text/plain')).marshal(),
            frame.Body(1, b'abc').marshal(),
        ]
    )
    assert len(_deliveries(data, 0, len(data))) == 1
    assert _deliveries(data, 0, 32) == []  # the header frame exceeds frame_max
    assert _deliveries(data, 0, 31) == []  # and now the method frame too
    with pytest.raises(exceptions.FrameTooLargeError):
        frame.decode_frame(data, 32, 32)
    continued = bytearray(data)
    method_size = len(frame.Method(1, deliver).marshal())
    continued[method_size + 19] |= 1  # continuation bit in the property flags
    assert _deliveries(bytes(continued), 0, None) == []


# ---------------------------------------------------------------------------- core fast path


def _event_data(events: list[object]) -> list[tuple[str, dict[str, object]]]:
    """Events as comparable data (AMQP objects by their attributes, errors by type and text)."""
    out: list[tuple[str, dict[str, object]]] = []
    for event in events:
        fields: dict[str, object] = {}
        for name in type(event).__slots__:  # type: ignore[attr-defined]
            value = getattr(event, name)
            if isinstance(value, AMQPObject):
                value = (type(value).__name__, vars(value))
            elif isinstance(value, BaseException):
                value = (type(value).__name__, str(value))
            fields[name] = value
        out.append((type(event).__name__, fields))
    return out


def _run_core(
    chunks: list[bytes], closing: bool, fast: bool
) -> tuple[list[tuple[str, dict[str, object]]], bytes]:
    """Feed ``chunks`` to an open core with channels 1 and 2 (2 closing if asked), with every
    receive shortcut of the core on (``fast``) or all of them off: method frames decoded in
    place (``_FAST_METHODS``) and runs of deliveries (``decode_deliveries``)."""
    from tests.helpers.core_setup import open_channel, open_core

    with pytest.MonkeyPatch.context() as patch:
        if not fast:
            patch.setattr('pika._core.receiving._FAST_METHODS', {})
            patch.setattr(
                'pika._core.receiving.decode_deliveries', lambda _buf, offset, *_args: offset
            )
        core = open_core()
        open_channel(core, 1)
        second = open_channel(core, 2)
        if closing:
            second.close()
        events: list[object] = []
        for chunk in chunks:
            events += core.receive_data(chunk, 0.0)
        return _event_data(events), bytes(core.data_to_send())


@FUZZ
@given(deliver_streams(), st.booleans(), st.data())
def test_core_fast_path_changes_nothing(data: bytes, closing: bool, choose: st.DataObject) -> None:
    """Events and replies are identical with and without the core's receive shortcuts,
    however the stream is chunked."""
    cuts = sorted(choose.draw(st.lists(st.integers(0, len(data)), max_size=3)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    assert _run_core(chunks, closing, fast=True) == _run_core(chunks, closing, fast=False)


def test_core_deliver_set_while_assembling_is_still_a_protocol_error() -> None:
    """A complete set arriving while a message is half assembled: 505, as frame by frame."""
    deliver = spec.Basic.Deliver('ctag', 1, False, 'ex', 'rk')
    lone = frame.Method(1, deliver).marshal()
    full = lone + frame.Header(1, 2, spec.BasicProperties()).marshal()
    full += frame.Body(1, b'ab').marshal()
    for chunks in ([lone + full], [lone, full]):
        events, sent = _run_core(chunks, closing=False, fast=True)
        assert (events, sent) == _run_core(chunks, closing=False, fast=False)
        assert [name for name, _ in events] == [
            'ChannelClosed',
            'ChannelClosed',
            'ConnectionClosed',
        ]
        assert b'UNEXPECTED_FRAME' in sent
    events, _ = _run_core([full, full], closing=False, fast=True)
    assert [name for name, _ in events] == ['MessageDelivered', 'MessageDelivered']


field_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=10)
    | st.binary(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(short_str, inner, max_size=3),
    max_leaves=8,
)


def _table_or_error(decode: object, raw: bytes | bytearray) -> object:
    try:
        return decode(raw, 0)  # type: ignore[operator]
    except exceptions.AMQPError:
        return 'AMQPError'
    except (struct.error, IndexError, ValueError):  # pika.frame wraps these
        return 'AMQPError'


@FUZZ
@given(st.dictionaries(short_str, field_values, max_size=5), st.data())
def test_fast_table_decoder_matches_data_decode_table(
    table: dict[str, object], choose: st.DataObject
) -> None:
    from pika import data

    pieces: list[bytes] = []
    data.encode_table(pieces, table)
    raw = bytearray(b''.join(pieces))
    for _ in range(choose.draw(st.integers(0, 2))):  # garbage too: flips and cuts
        if raw:
            pos = choose.draw(st.integers(0, len(raw) - 1))
            raw[pos] ^= choose.draw(st.integers(1, 255))
    raw = raw[: choose.draw(st.integers(0, len(raw)))] if choose.draw(st.booleans()) else raw
    for buffer in (bytes(raw), raw):
        got = _table_or_error(deliveries.decode_table, buffer)
        # repr, not ==: a flipped byte can make a float NaN, and NaN != NaN
        assert repr(got) == repr(_table_or_error(data.decode_table, buffer))
        if isinstance(got, tuple):
            assert [type(v) for v in got[0].values()] == [
                type(v) for v in data.decode_table(buffer, 0)[0].values()
            ]


def test_deliveries_large_body_from_bytearray_leaves_buffer_resizable() -> None:
    deliver = spec.Basic.Deliver('ctag', 7, True, 'ex', 'rk')
    body = bytes(range(256)) * 40  # above the small-body copy threshold
    buffer = bytearray(
        frame.Method(2, deliver).marshal()
        + frame.Header(2, len(body), spec.BasicProperties(priority=3)).marshal()
        + frame.Body(2, body).marshal()
    )
    consumed, (record,) = decode_run(buffer, 0, 131072, 2)
    assert (consumed, record.channel_number, record.method) == (len(buffer), 2, deliver)
    assert record.properties.priority == 3
    assert type(record.body) is bytes and record.body == body
    del buffer[:consumed]  # no memoryview export left behind
    assert buffer == bytearray()


def test_full_property_decoder_cache_falls_back_without_changing_results() -> None:
    """Past the compiled-decoder cap a new flags word is declined by the set decoder and
    still decoded correctly, frame by frame and by the core."""
    saved = dict(deliveries.PROPERTY_DECODERS)
    try:
        deliveries.PROPERTY_DECODERS.clear()
        for flags in range(0x0004, 0x0004 * (deliveries._MAX_PROPERTY_DECODERS + 1), 0x0004):
            assert deliveries.properties_decoder(flags) is not None
        props = spec.BasicProperties(content_type='a', cluster_id='c', app_id='b', type='t')
        flags = int.from_bytes(props.encode()[0], 'big')
        assert flags not in deliveries.PROPERTY_DECODERS
        assert deliveries.properties_decoder(flags) is None
        deliver = spec.Basic.Deliver('ctag', 1, False, 'ex', 'rk')
        data = frame.Method(1, deliver).marshal() + frame.Header(1, 1, props).marshal()
        data += frame.Body(1, b'x').marshal()
        assert _deliveries(data, 0, None) == []
        assert _batched(data, None)[1] == frame.Header(1, 1, props)
        events, _sent = _run_core([data], closing=False, fast=True)
        assert events == _run_core([data], closing=False, fast=False)[0]
        assert [name for name, _ in events] == ['MessageDelivered']
    finally:
        deliveries.PROPERTY_DECODERS.clear()
        deliveries.PROPERTY_DECODERS.update(saved)
