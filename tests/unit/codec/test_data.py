"""Field-table and string codec tests (pika.data): golden bytes, errors, round trips."""

from __future__ import annotations

import datetime
import decimal
import math
import struct
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pika import data, exceptions
from pika._limits import MAX_TABLE_DEPTH
from pika._wire import deliveries as _fast

UTC = datetime.timezone.utc

# --------------------------------------------------------------------------- golden table
# One entry per field type. Each entry is: key as shortstr (length octet + UTF-8 bytes), then the
# type marker octet, then the value. Numbers are big-endian (network order).
ENTRIES: dict[str, bytes] = {
    # 't' boolean: one octet, 1 = True.
    'bool': b'\x04bool' + b't' + b'\x01',
    # 'b' signed 8 bit: -2 is 0xFE in two's complement.
    'i8': b'\x02i8' + b'b' + b'\xfe',
    # 'B' unsigned 8 bit: 200 = 0xC8.
    'u8': b'\x02u8' + b'B' + b'\xc8',
    # 's' signed 16 bit (RabbitMQ's marker): -300 = 0x10000 - 0x012C = 0xFED4.
    'i16': b'\x03i16' + b's' + b'\xfe\xd4',
    # 'u' unsigned 16 bit: 60000 = 0xEA60.
    'u16': b'\x03u16' + b'u' + b'\xea\x60',
    # 'I' signed 32 bit: -70000; 70000 = 0x00011170, 2**32 - 0x11170 = 0xFFFEEE90.
    'i32': b'\x03i32' + b'I' + b'\xff\xfe\xee\x90',
    # 'i' unsigned 32 bit (RabbitMQ): 4_000_000_000 = 0xEE6B2800.
    'u32': b'\x03u32' + b'i' + b'\xee\x6b\x28\x00',
    # 'l' signed 64 bit: -5_000_000_000; 5e9 = 0x1_2A05_F200, 2**64 - that = 0xFFFFFFFE_D5FA0E00.
    'i64': b'\x03i64' + b'l' + b'\xff\xff\xff\xfe\xd5\xfa\x0e\x00',
    # 'L' unsigned 64 bit (decoded only): 2**64 - 1 is eight 0xFF octets.
    'u64': b'\x03u64' + b'L' + b'\xff' * 8,
    # 'f' IEEE-754 single: 1.5 = sign 0, exponent 127 (0x7F), mantissa .1000... -> 0x3FC00000.
    'f32': b'\x03f32' + b'f' + b'\x3f\xc0\x00\x00',
    # 'd' IEEE-754 double: -0.25 = sign 1, exponent 1021 (0x3FD) -> 0xBFD0000000000000.
    'f64': b'\x03f64' + b'd' + b'\xbf\xd0' + b'\x00' * 6,
    # 'D' decimal: octet "places" = 2, then signed 32-bit 314 = 0x0000013A -> 3.14.
    'dec': b'\x03dec' + b'D' + b'\x02' + b'\x00\x00\x01\x3a',
    # 'S' long string: 'héllo' is 6 UTF-8 bytes (é = C3 A9), 32-bit length prefix.
    'str': b'\x03str' + b'S' + b'\x00\x00\x00\x06' + b'h\xc3\xa9llo',
    # 'x' byte array: 32-bit length 2, raw bytes 00 FF.
    'bin': b'\x03bin' + b'x' + b'\x00\x00\x00\x02' + b'\x00\xff',
    # 'T' timestamp: 2021-01-01T00:00:00Z = 1609459200 s = 0x5FEE6600, as 64 bit.
    'ts': b'\x02ts' + b'T' + b'\x00\x00\x00\x00\x5f\xee\x66\x00',
    # 'F' nested table: body = 01 'k' 'S' 00000001 'v' = 8 bytes.
    'tbl': b'\x03tbl' + b'F' + b'\x00\x00\x00\x08' + b'\x01kS\x00\x00\x00\x01v',
    # 'A' array: 'I' 1 (5 bytes) + 't' 1 (2 bytes) + 'V' (1 byte) = 8 bytes.
    'arr': b'\x03arr' + b'A' + b'\x00\x00\x00\x08' + b'I\x00\x00\x00\x01' + b't\x01' + b'V',
    # 'V' void: marker only.
    'void': b'\x04void' + b'V',
}
# Entry sizes worked out by hand: 7+5+5+7+7+9+9+13+13+9+13+10+15+11+12+17+17+6 = 185 = 0xB9.
GOLDEN_TABLE = b'\x00\x00\x00\xb9' + b''.join(ENTRIES.values())

EXPECTED: dict[str, Any] = {
    'bool': True,
    'i8': -2,
    'u8': 200,
    'i16': -300,
    'u16': 60000,
    'i32': -70000,
    'u32': 4_000_000_000,
    'i64': -5_000_000_000,
    'u64': 2**64 - 1,
    'f32': 1.5,
    'f64': -0.25,
    'dec': decimal.Decimal('3.14'),
    'str': 'héllo',
    'bin': b'\x00\xff',
    'ts': datetime.datetime(2021, 1, 1),
    'tbl': {'k': 'v'},
    'arr': [1, True, None],
    'void': None,
}

# The subset of types our encoder chooses for Python values (bool/int/float/...).
ENCODABLE = ['bool', 'i32', 'i64', 'f64', 'dec', 'str', 'bin', 'ts', 'tbl', 'arr', 'void']


def encoded(table: Any) -> bytes:
    pieces: list[bytes] = []
    size = data.encode_table(pieces, table)
    raw = b''.join(pieces)
    assert size == len(raw)
    return raw


def test_golden_table_has_the_hand_counted_length() -> None:
    assert len(GOLDEN_TABLE) == 4 + 185


def test_decode_golden_table_every_field_type() -> None:
    table, offset = data.decode_table(GOLDEN_TABLE, 0)
    assert offset == len(GOLDEN_TABLE)
    assert table == EXPECTED
    assert isinstance(table['bin'], bytes)
    assert isinstance(table['dec'], decimal.Decimal)
    assert table['ts'].tzinfo is None


def test_encode_golden_table_for_python_values() -> None:
    body = b''.join(ENTRIES[key] for key in ENCODABLE)
    expected = struct.pack('>I', len(body)) + body
    assert encoded({key: EXPECTED[key] for key in ENCODABLE}) == expected


def test_decode_with_offset_and_trailing_bytes() -> None:
    buffer = b'junk' + GOLDEN_TABLE + b'trailing'
    table, offset = data.decode_table(memoryview(buffer), 4)
    assert table == EXPECTED
    assert offset == 4 + len(GOLDEN_TABLE)


@pytest.mark.parametrize('cut', range(1, len(GOLDEN_TABLE)))
def test_every_truncation_raises_invalid_frame(cut: int) -> None:
    # Keep the declared length but drop the tail: the decoder must notice, never IndexError.
    with pytest.raises(exceptions.AMQPError):
        data.decode_table(GOLDEN_TABLE[:cut], 0)


def test_none_is_the_empty_table() -> None:
    assert encoded(None) == b'\x00\x00\x00\x00'
    assert data.decode_table(b'\x00\x00\x00\x00', 0) == ({}, 4)


def test_int_width_selection() -> None:
    assert encoded({'a': 2**31 - 1})[-5:] == b'I\x7f\xff\xff\xff'
    assert encoded({'a': 2**31})[-9:] == b'l\x00\x00\x00\x00\x80\x00\x00\x00'
    assert encoded({'a': -(2**63)})[-9:] == b'l\x80' + b'\x00' * 7


def test_aware_datetime_is_converted_to_utc() -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2021, 1, 1, 2, 0, tzinfo=plus_two)
    assert encoded({'ts': moment}) == b'\x00\x00\x00\x0c' + ENTRIES['ts']


def test_long_string_field_that_is_not_utf8_decodes_to_bytes() -> None:
    raw = b'\x00\x00\x00\x08\x01kS\x00\x00\x00\x01\xff'
    assert data.decode_table(raw, 0) == ({'k': b'\xff'}, len(raw))


# --------------------------------------------------------------------------- encode errors


@pytest.mark.parametrize(
    ('table', 'path'),
    [
        ({'bad': object()}, 'bad'),
        ({'outer': {'inner': {1, 2}}}, 'outer.inner'),
        ({'lst': [1, 2, object()]}, 'lst[2]'),
        ({'big': 2**63}, 'big'),
        ({'nan': decimal.Decimal('NaN')}, 'nan'),
        ({'huge': decimal.Decimal('1E+20')}, 'huge'),
        ({'old': datetime.datetime(1969, 12, 31)}, 'old'),
        ({3: 'non-string key'}, '3'),
        ({'k' * 256: 1}, 'kkkk'),
    ],
)
def test_unencodable_value_names_the_key(table: dict[Any, Any], path: str) -> None:
    with pytest.raises(exceptions.UnsupportedAMQPFieldException) as info:
        encoded(table)
    assert path in str(info.value)
    assert isinstance(info.value, exceptions.AMQPError)


def test_encode_value_with_key_names_it() -> None:
    with pytest.raises(exceptions.UnsupportedAMQPFieldException, match='mykey'):
        data.encode_value([], object(), 'mykey')


def test_decimal_with_trailing_zeros_is_normalized_when_too_wide() -> None:
    # 1.000000000000 has 12 places; 10**12 does not fit 32 bits but the normalized 1 does.
    assert encoded({'d': decimal.Decimal('1.000000000000')})[-6:] == b'D\x00\x00\x00\x00\x01'


# --------------------------------------------------------------------------- decode errors


def test_unknown_field_type_raises_invalid_field_type() -> None:
    raw = b'\x00\x00\x00\x03\x01kZ'
    with pytest.raises(exceptions.InvalidFieldTypeException):
        data.decode_table(raw, 0)


def test_table_length_overrun_by_inner_value_raises() -> None:
    # Declared length 3 covers key 'k' and the 'I' marker only; the int spills past the table.
    raw = b'\x00\x00\x00\x03\x01kI\x00\x00\x00\x01'
    with pytest.raises(exceptions.InvalidFrameError):
        data.decode_table(raw, 0)


def nested_table(levels: int, kind: bytes = b'F') -> bytes:
    """A table ``levels`` containers deep: tables holding a table under key ``k`` (``kind``
    b'F'), or the outer table holding arrays that each hold the next (b'A')."""
    inner = b'\x00\x00\x00\x00'  # the innermost container, empty
    for level in range(levels - 1, 0, -1):  # wrap it in level ``level``
        key = b'\x01k' if kind == b'F' or level == 1 else b''
        entry = key + kind + inner
        inner = struct.pack('>I', len(entry)) + entry
    return inner


def nested_value(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {'k': value}
    return value


@pytest.mark.parametrize('depth', [5000, 100_000])
def test_deeply_nested_tables_raise_protocol_error_not_recursion_error(depth: int) -> None:
    raw = nested_table(depth)
    with pytest.raises(exceptions.InvalidFrameError, match='nested deeper than 64 levels'):
        data.decode_table(raw, 0)


def test_nesting_is_limited_to_max_table_depth_both_ways() -> None:
    assert MAX_TABLE_DEPTH == 64
    deepest = nested_value(MAX_TABLE_DEPTH)
    assert encoded(deepest) == nested_table(MAX_TABLE_DEPTH)
    assert data.decode_table(nested_table(MAX_TABLE_DEPTH), 0)[0] == deepest
    with pytest.raises(exceptions.InvalidFrameError, match='nested deeper than 64 levels'):
        data.decode_table(nested_table(MAX_TABLE_DEPTH + 1), 0)
    with pytest.raises(exceptions.UnsupportedAMQPFieldException, match='nested deeper than 64'):
        encoded({'k': deepest})
    # encode_value/decode_value count from the value: a table value is level 1.
    pieces: list[bytes] = []
    data.encode_value(pieces, deepest)
    assert data.decode_value(b''.join(pieces), 0)[0] == deepest
    with pytest.raises(exceptions.UnsupportedAMQPFieldException):
        data.encode_value([], {'k': deepest})
    with pytest.raises(exceptions.InvalidFrameError):
        data.decode_value(b'F' + nested_table(MAX_TABLE_DEPTH + 1), 0)


def test_arrays_count_as_levels() -> None:
    value: Any = []
    for _ in range(MAX_TABLE_DEPTH - 2):
        value = [value]
    assert data.decode_table(encoded({'k': value}), 0)[0] == {'k': value}
    with pytest.raises(exceptions.UnsupportedAMQPFieldException):
        encoded({'k': [value]})
    raw = nested_table(MAX_TABLE_DEPTH + 1, b'A')
    with pytest.raises(exceptions.InvalidFrameError, match='nested deeper'):
        data.decode_table(raw, 0)


def test_a_cyclic_value_is_refused_when_encoded() -> None:
    table: dict[str, Any] = {}
    table['self'] = table
    with pytest.raises(exceptions.UnsupportedAMQPFieldException, match=r'self\.self.*cycle'):
        encoded(table)
    array: list[Any] = []
    array.append(array)
    with pytest.raises(exceptions.UnsupportedAMQPFieldException, match='cycle'):
        encoded({'a': array})


def test_message_headers_are_held_to_the_same_depth() -> None:
    """The hot-path header decoder (pika._wire.deliveries) counts its own level too."""
    assert _fast.decode_table(nested_table(MAX_TABLE_DEPTH), 0)[0] == nested_value(MAX_TABLE_DEPTH)
    with pytest.raises(exceptions.InvalidFrameError, match='nested deeper'):
        _fast.decode_table(nested_table(MAX_TABLE_DEPTH + 1), 0)


def test_timestamp_out_of_range_raises() -> None:
    raw = b'\x00\x00\x00\x0b\x01kT' + b'\xff' * 8
    with pytest.raises(exceptions.InvalidFrameError):
        data.decode_table(raw, 0)


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_random_bytes_only_raise_amqp_errors(raw: bytes) -> None:
    for decoder in (data.decode_table, data.decode_value, data.decode_short_string):
        try:
            decoder(raw, 0)
        except exceptions.AMQPError:
            pass


# --------------------------------------------------------------------------- strings


def test_short_string_golden_and_limits() -> None:
    pieces: list[bytes] = []
    assert data.encode_short_string(pieces, 'héllo') == 7
    assert b''.join(pieces) == b'\x06h\xc3\xa9llo'
    assert data.decode_short_string(b'\x06h\xc3\xa9llo!', 0) == ('héllo', 7)
    assert data.encode_short_string([], b'x' * 255) == 256
    with pytest.raises(exceptions.ShortStringTooLong):
        data.encode_short_string([], 'x' * 256)
    with pytest.raises(exceptions.ShortStringTooLong):
        data.encode_short_string([], 'é' * 128)  # 128 chars but 256 bytes
    with pytest.raises(TypeError):
        data.encode_short_string([], 5)  # type: ignore[arg-type]


@pytest.mark.parametrize('raw', [b'', b'\x05abc', b'\x02\xff\xfe'])
def test_bad_short_strings_raise_invalid_frame(raw: bytes) -> None:
    with pytest.raises(exceptions.InvalidFrameError):
        data.decode_short_string(raw, 0)


def test_long_string_round_trip_and_fallback_to_bytes() -> None:
    pieces: list[bytes] = []
    assert data.encode_long_string(pieces, b'\x00guest\x00guest') == 16
    raw = b''.join(pieces)
    assert raw == b'\x00\x00\x00\x0c\x00guest\x00guest'
    assert data.decode_long_string(raw, 0) == ('\x00guest\x00guest', 16)
    assert data.decode_long_string(b'\x00\x00\x00\x01\xff', 0) == (b'\xff', 5)
    with pytest.raises(exceptions.InvalidFrameError):
        data.decode_long_string(b'\x00\x00\x00\x09abc', 0)


# --------------------------------------------------------------------------- round trips

keys = st.text(max_size=12)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.builds(
        lambda raw, places: decimal.Decimal(raw).scaleb(-places),
        st.integers(min_value=-(2**31), max_value=2**31 - 1),
        st.integers(min_value=0, max_value=20),
    ),
    st.text(max_size=30),
    st.binary(max_size=30),
    st.datetimes(
        min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(9999, 12, 31)
    ).map(lambda moment: moment.replace(microsecond=0)),
    st.none(),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)
tables = st.dictionaries(keys, values, max_size=8)


def same(left: Any, right: Any) -> bool:
    """Structural equality that also tells bool from int and -0.0 from 0.0."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    if isinstance(left, float):
        return math.copysign(1, left) == math.copysign(1, right) and left == right
    return bool(left == right)


@settings(max_examples=300)
@given(tables)
def test_table_round_trip(table: dict[str, Any]) -> None:
    raw = encoded(table)
    decoded, offset = data.decode_table(raw + b'\xce', 0)
    assert offset == len(raw)
    assert same(decoded, table)


@given(values)
def test_value_round_trip(value: Any) -> None:
    pieces: list[bytes] = []
    size = data.encode_value(pieces, value)
    raw = b''.join(pieces)
    assert size == len(raw)
    decoded, offset = data.decode_value(raw, 0)
    assert offset == len(raw)
    assert same(decoded, value)


def test_tuple_encodes_as_array() -> None:
    assert data.decode_table(encoded({'t': (1, 'a')}), 0)[0] == {'t': [1, 'a']}


def test_aware_round_trip_yields_naive_utc() -> None:
    moment = datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert data.decode_table(encoded({'m': moment}), 0)[0] == {'m': moment.replace(tzinfo=None)}


# --------------------------------------------------------------------------- lengths vs the end


def traced_peak(action: Any) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(exceptions.InvalidFrameError, match='overruns'):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


HUGE = struct.pack('>I', 2**32 - 1)
TAIL = b'\x00' * (4 * 1024 * 1024)  # what follows in the buffer (more frames, say)


def test_a_long_string_claiming_4_gib_is_refused_before_slicing() -> None:
    assert traced_peak(lambda: data.decode_long_string(HUGE + b'x' * 96, 0)) < 64 * 1024
    # Inside a 20-byte table followed by 4 MiB of other bytes: the table's end is the limit.
    for kind in (b'S', b'x'):
        entry = b'\x01k' + kind + HUGE + b'x' * 13
        raw = struct.pack('>I', len(entry)) + entry + TAIL
        assert traced_peak(lambda raw=raw: data.decode_table(raw, 0)) < 64 * 1024


def test_a_nested_table_or_array_must_end_within_its_parent() -> None:
    for kind in (b'F', b'A'):
        inner = struct.pack('>I', 100) + b'\x00' * 4  # claims 100 bytes, its parent has 8
        entry = b'\x01k' + kind + inner
        raw = struct.pack('>I', len(entry)) + entry + b'\x00' * 200
        traced_peak(lambda raw=raw: data.decode_table(raw, 0))


def test_message_headers_are_bounded_by_their_frame() -> None:
    """The hot-path header decoder gets the whole receive buffer and the frame's end."""
    entry = b'\x01kS' + HUGE + b'x' * 13
    table = struct.pack('>I', len(entry)) + entry
    raw = table + TAIL
    assert traced_peak(lambda: _fast.decode_table(raw, 0, len(table))) < 64 * 1024
    with pytest.raises(exceptions.InvalidFrameError, match='overruns its frame'):
        _fast.decode_table(table + b'more', 0, len(table) - 1)
    assert _fast.decode_table(encoded({'a': 'b'}) + b'more', 0, len(encoded({'a': 'b'}))) == (
        {'a': 'b'},
        len(encoded({'a': 'b'})),
    )
