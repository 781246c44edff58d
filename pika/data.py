"""AMQP 0-9-1 field values: short/long strings, field tables and arrays.

Encoders append ``bytes`` pieces to a caller-supplied list and return how many bytes they added,
so a method's payload is built without intermediate concatenation. Decoders take a buffer
(``bytes`` or ``memoryview``) and an offset and return ``(value, new_offset)``.

Field types follow RabbitMQ's dialect of the 0-9-1 table grammar (the "errata" table):
``t`` boolean, ``b``/``B`` signed/unsigned 8 bit, ``s``/``u`` signed/unsigned 16 bit, ``I``/``i``
signed/unsigned 32 bit, ``l`` signed 64 bit (``L`` unsigned 64 bit is decoded too), ``f`` float,
``d`` double, ``D`` decimal, ``S`` long string, ``x`` byte array, ``T`` timestamp, ``F`` table,
``A`` array, ``V`` void.

Malformed input raises :class:`pika.exceptions.InvalidFrameError` (or
:class:`~pika.exceptions.InvalidFieldTypeException` for an unknown type marker); values that
cannot be encoded raise :class:`~pika.exceptions.UnsupportedAMQPFieldException` naming the key.
Tables and arrays may enclose one another at most :data:`pika._limits.MAX_TABLE_DEPTH` levels
deep (the outermost counts 1), both ways: deeper input is an ``InvalidFrameError``, a deeper
(or cyclic) value an ``UnsupportedAMQPFieldException``, never a ``RecursionError``. Every
length read from the input (strings, byte arrays, tables, arrays) is checked against the end of
what encloses it (the buffer, or the enclosing table or array) before anything is sliced.
"""

from __future__ import annotations

import calendar
import decimal
import struct
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Union

from pika import exceptions
from pika._limits import MAX_TABLE_DEPTH
from pika._wire.constants import LONG_MAX, LONGLONG_MAX, SHORT_STRING_MAX

__all__ = [
    'decode_long_string',
    'decode_short_string',
    'decode_table',
    'decode_value',
    'encode_long_string',
    'encode_short_string',
    'encode_table',
    'encode_value',
]

Buffer = Union[bytes, bytearray, memoryview]
#: ``decoder(buffer, offset, limit, depth) -> (value, offset_after)``: ``limit`` is where the
#: enclosing table, array or frame ends (nothing at or past it is read as part of the value);
#: ``depth`` counts the tables and arrays enclosing the value.
_Decoder = Callable[[Buffer, int, int, int], 'tuple[Any, int]']

#: Errors a truncated or corrupt buffer provokes inside the decoders; turned into InvalidFrameError.
DECODE_ERRORS = (struct.error, IndexError, ValueError, OverflowError)

_OCTET = struct.Struct('>B')
_LONG = struct.Struct('>I')
_INT8 = struct.Struct('>b')
_INT16 = struct.Struct('>h')
_UINT16 = struct.Struct('>H')
_INT32 = struct.Struct('>i')
_INT64 = struct.Struct('>q')
_UINT64 = struct.Struct('>Q')
_FLOAT = struct.Struct('>f')
_DOUBLE = struct.Struct('>d')
_DECIMAL = struct.Struct('>Bi')

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = LONGLONG_MAX
_LONG_MAX = LONG_MAX
_OCTET_MAX = SHORT_STRING_MAX  # also the most decimal places
#: Octets of a field value's type tag, and of the 32-bit length that starts a long string, a
#: table and an array.
_TAG_SIZE = 1
_LENGTH_SIZE = _LONG.size


# --------------------------------------------------------------------------- strings


def _as_bytes(value: object, what: str) -> bytes:
    """Return ``value`` as bytes (str is UTF-8 encoded); TypeError for anything else."""
    if isinstance(value, str):
        return value.encode('utf-8')
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f'{what} must be str or bytes, not {type(value).__name__}')


def encode_short_string(pieces: list[bytes], value: Union[str, bytes]) -> int:
    """Append a shortstr (one length octet, at most 255 bytes) and return the bytes written.

    :param pieces: list the encoded pieces are appended to
    :param value: str (encoded as UTF-8) or bytes
    :raises pika.exceptions.ShortStringTooLong: the encoded value exceeds 255 bytes
    :raises TypeError: value is neither str nor bytes
    """
    raw = _as_bytes(value, 'short string')
    length = len(raw)
    if length > SHORT_STRING_MAX:
        raise exceptions.ShortStringTooLong(f'got {length} bytes')
    pieces.append(_OCTET.pack(length))
    pieces.append(raw)
    return _OCTET.size + length


def decode_short_string(encoded: Buffer, offset: int) -> tuple[str, int]:
    """Decode a shortstr at ``offset``; return ``(text, offset_after)``.

    :raises pika.exceptions.InvalidFrameError: truncated buffer or invalid UTF-8
    """
    try:
        start = offset + _OCTET.size
        end = start + encoded[offset]
        if end > len(encoded):
            raise exceptions.InvalidFrameError(f'truncated short string at offset {offset}')
        return str(encoded[start:end], 'utf-8'), end
    except exceptions.AMQPError:
        raise
    except DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(
            f'malformed short string at offset {offset}: {exc}'
        ) from exc


def encode_long_string(pieces: list[bytes], value: Union[str, bytes]) -> int:
    """Append a longstr (32-bit length prefix) and return the bytes written.

    :param pieces: list the encoded pieces are appended to
    :param value: str (encoded as UTF-8) or bytes
    :raises TypeError: value is neither str nor bytes
    :raises ValueError: the value does not fit a 32-bit length
    """
    raw = _as_bytes(value, 'long string')
    length = len(raw)
    if length > _LONG_MAX:
        raise ValueError(f'long string is {length} bytes long, the limit is {_LONG_MAX}')
    pieces.append(_LONG.pack(length))
    pieces.append(raw)
    return _LENGTH_SIZE + length


def _text_or_bytes(raw: Buffer) -> Union[str, bytes]:
    """Return ``raw`` as str when it is valid UTF-8, else as bytes (pika 1.x behaviour)."""
    try:
        return str(raw, 'utf-8')
    except UnicodeDecodeError:
        return bytes(raw)


def _decode_raw_long(encoded: Buffer, offset: int, limit: int) -> tuple[Buffer, int]:
    """Return the raw bytes of the longstr at ``offset`` and the offset after it; its length
    is checked against ``limit`` (where the enclosing frame or table ends) before anything is
    sliced, so a length of 4 GiB in a 100-byte frame costs nothing."""
    (length,) = _LONG.unpack_from(encoded, offset)
    start = offset + _LENGTH_SIZE
    end = start + length
    if end > limit:
        raise exceptions.InvalidFrameError(
            f'long string of {length} bytes at offset {offset} overruns its frame or table'
        )
    return encoded[start:end], end


def decode_long_string(encoded: Buffer, offset: int) -> tuple[Union[str, bytes], int]:
    """Decode a longstr; return ``(str if valid UTF-8 else bytes, offset_after)``.

    :raises pika.exceptions.InvalidFrameError: truncated buffer
    """
    try:
        raw, end = _decode_raw_long(encoded, offset, len(encoded))
    except exceptions.AMQPError:
        raise
    except DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(
            f'malformed long string at offset {offset}: {exc}'
        ) from exc
    return _text_or_bytes(raw), end


# --------------------------------------------------------------------------- encoding values


def _unsupported(path: str, reason: str) -> exceptions.UnsupportedAMQPFieldException:
    """Build the error for a value that has no AMQP field encoding."""
    where = path if path else '<value>'
    return exceptions.UnsupportedAMQPFieldException(f'{where}: {reason}')


def _join(path: str, key: str) -> str:
    """Extend a dotted key path used in error messages."""
    return f'{path}.{key}' if path else key


def _too_deep(path: str) -> exceptions.UnsupportedAMQPFieldException:
    return _unsupported(
        path, f'field tables and arrays nested deeper than {MAX_TABLE_DEPTH} levels (a cycle?)'
    )


def _encode_table_at(
    pieces: list[bytes], table: Optional[Mapping[Any, Any]], path: str, depth: int
) -> int:
    """Encode a field table; ``path`` names the enclosing keys for error messages, ``depth``
    counts the tables and arrays enclosing it, itself included."""
    if depth > MAX_TABLE_DEPTH:
        raise _too_deep(path)
    if table is None:
        table = {}
    if not isinstance(table, Mapping):
        raise _unsupported(path, f'a field table must be a mapping, not {type(table).__name__}')
    index = len(pieces)
    pieces.append(b'')  # placeholder for the 32-bit byte length, patched below
    size = 0
    for key, value in table.items():
        if not isinstance(key, (str, bytes)):
            raise _unsupported(
                _join(path, repr(key)), f'table keys must be str, not {type(key).__name__}'
            )
        name = key if isinstance(key, str) else key.decode('utf-8', 'replace')
        try:
            size += encode_short_string(pieces, key)
        except exceptions.ShortStringTooLong as exc:
            raise _unsupported(_join(path, name[:40]), f'table key too long: {exc}') from exc
        size += _encode_value_at(pieces, value, _join(path, name), depth)
    if size > _LONG_MAX:
        raise _unsupported(path, 'field table larger than 4 GiB')
    pieces[index] = _LONG.pack(size)
    return _LENGTH_SIZE + size


def _encode_array_at(pieces: list[bytes], values: Sequence[Any], path: str, depth: int) -> int:
    """Encode a field array (32-bit byte length, then tagged values)."""
    if depth > MAX_TABLE_DEPTH:
        raise _too_deep(path)
    index = len(pieces)
    pieces.append(b'')
    size = 0
    for position, value in enumerate(values):
        size += _encode_value_at(pieces, value, f'{path}[{position}]', depth)
    if size > _LONG_MAX:
        raise _unsupported(path, 'field array larger than 4 GiB')
    pieces[index] = _LONG.pack(size)
    return _LENGTH_SIZE + size


def _encode_decimal(pieces: list[bytes], value: decimal.Decimal, path: str) -> int:
    """Encode ``D``: an octet of decimal places and a signed 32-bit unscaled value."""
    if not value.is_finite():
        raise _unsupported(path, f'decimal {value} is not finite')
    for candidate in (value, value.normalize()):
        exponent = int(candidate.as_tuple().exponent)  # an int for every finite decimal
        places = -exponent if exponent < 0 else 0
        raw = int(candidate.scaleb(places))
        if places <= _OCTET_MAX and _INT32_MIN <= raw <= _INT32_MAX:
            pieces.append(b'D')
            pieces.append(_DECIMAL.pack(places, raw))
            return _TAG_SIZE + _DECIMAL.size
    raise _unsupported(path, f'decimal {value} does not fit 32 bits with at most 255 places')


def _encode_timestamp(pieces: list[bytes], value: datetime, path: str) -> int:
    """Encode ``T``: whole seconds since the epoch; naive datetimes are taken as UTC."""
    seconds = calendar.timegm(value.utctimetuple())
    if not 0 <= seconds <= _UINT64_MAX:
        raise _unsupported(path, f'timestamp {value} is before 1970')
    pieces.append(b'T')
    pieces.append(_UINT64.pack(seconds))
    return _TAG_SIZE + _UINT64.size


def _encode_bytes_tagged(pieces: list[bytes], tag: bytes, raw: bytes, path: str) -> int:
    """Encode a tagged 32-bit-length-prefixed byte run (``S`` or ``x``)."""
    if len(raw) > _LONG_MAX:
        raise _unsupported(path, 'value longer than 4 GiB')
    pieces.append(tag)
    pieces.append(_LONG.pack(len(raw)))
    pieces.append(raw)
    return _TAG_SIZE + _LENGTH_SIZE + len(raw)


def _encode_value_at(pieces: list[bytes], value: Any, path: str, depth: int) -> int:
    """Append one tagged field value; return the bytes written. ``depth``: the tables and
    arrays enclosing it."""
    if isinstance(value, str):
        return _encode_bytes_tagged(pieces, b'S', value.encode('utf-8'), path)
    if isinstance(value, bool):  # before int: bool is an int subclass
        pieces.append(b't')
        pieces.append(b'\x01' if value else b'\x00')
        return _TAG_SIZE + _OCTET.size
    if isinstance(value, int):
        if _INT32_MIN <= value <= _INT32_MAX:
            pieces.append(b'I')
            pieces.append(_INT32.pack(value))
            return _TAG_SIZE + _INT32.size
        if _INT64_MIN <= value <= _INT64_MAX:
            pieces.append(b'l')
            pieces.append(_INT64.pack(value))
            return _TAG_SIZE + _INT64.size
        raise _unsupported(path, f'integer {value} does not fit a signed 64-bit field')
    if isinstance(value, float):
        pieces.append(b'd')
        pieces.append(_DOUBLE.pack(value))
        return _TAG_SIZE + _DOUBLE.size
    if isinstance(value, decimal.Decimal):
        return _encode_decimal(pieces, value, path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _encode_bytes_tagged(pieces, b'x', bytes(value), path)
    if isinstance(value, datetime):
        return _encode_timestamp(pieces, value, path)
    if isinstance(value, Mapping):
        pieces.append(b'F')
        return _TAG_SIZE + _encode_table_at(pieces, value, path, depth + 1)
    if isinstance(value, (list, tuple)):
        pieces.append(b'A')
        return _TAG_SIZE + _encode_array_at(pieces, value, path, depth + 1)
    if value is None:
        pieces.append(b'V')
        return _TAG_SIZE
    raise _unsupported(path, f'no AMQP field type for {type(value).__name__}')


def encode_table(pieces: list[bytes], table: Optional[Mapping[str, Any]]) -> int:
    """Append a field table (32-bit byte length, then name/value pairs); return bytes written.

    :param pieces: list the encoded pieces are appended to
    :param table: mapping of str keys to encodable values; None is the empty table
    :raises pika.exceptions.UnsupportedAMQPFieldException: a value (named by its key path)
        has no AMQP encoding
    """
    return _encode_table_at(pieces, table, '', 1)


def encode_value(pieces: list[bytes], value: Any, key: Optional[str] = None) -> int:
    """Append one field value with its type marker; return bytes written.

    :param pieces: list the encoded pieces are appended to
    :param value: bool, int, float, Decimal, str, bytes, datetime, dict, list/tuple or None
    :param key: optional name used in error messages
    :raises pika.exceptions.UnsupportedAMQPFieldException: the value has no AMQP encoding
    """
    return _encode_value_at(pieces, value, key or '', 0)


# --------------------------------------------------------------------------- decoding values


def _fixed(packer: struct.Struct) -> _Decoder:
    """Build a decoder for a fixed-size numeric field."""
    size = packer.size
    unpack_from = packer.unpack_from

    def decode(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
        return unpack_from(encoded, offset)[0], offset + size

    return decode


def _decode_bool(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    return bool(encoded[offset]), offset + _OCTET.size


def _decode_decimal(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    places, raw = _DECIMAL.unpack_from(encoded, offset)
    return decimal.Decimal(raw).scaleb(-places), offset + _DECIMAL.size


def _decode_timestamp(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    (seconds,) = _UINT64.unpack_from(encoded, offset)
    try:
        moment = datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise exceptions.InvalidFrameError(f'timestamp {seconds} out of range') from exc
    return moment.replace(tzinfo=None), offset + _UINT64.size


def _decode_long_text(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    raw, end = _decode_raw_long(encoded, offset, limit)
    return _text_or_bytes(raw), end


def _decode_byte_array(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    raw, end = _decode_raw_long(encoded, offset, limit)
    return bytes(raw), end


def _decode_void(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    return None, offset


def _bounded_end(encoded: Buffer, offset: int, limit: int, what: str) -> int:
    """Read a 32-bit byte length at ``offset`` and return where that many bytes end, which
    must not be past ``limit`` (the end of the enclosing frame or table)."""
    length: int = _LONG.unpack_from(encoded, offset)[0]
    end = offset + _LENGTH_SIZE + length
    if end > limit:
        raise exceptions.InvalidFrameError(
            f'{what} of {length} bytes at offset {offset} overruns its frame or table'
        )
    return end


def _nested_too_deep(offset: int) -> exceptions.InvalidFrameError:
    return exceptions.InvalidFrameError(
        f'field tables and arrays nested deeper than {MAX_TABLE_DEPTH} levels at offset {offset}'
    )


def _decode_array(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    """Decode a field array inside ``depth`` tables and arrays, ending before ``limit``."""
    depth += 1
    if depth > MAX_TABLE_DEPTH:
        raise _nested_too_deep(offset)
    end = _bounded_end(encoded, offset, limit, 'field array')
    offset += 4
    values = []
    while offset < end:
        value, offset = _decode_value_at(encoded, offset, end, depth)
        values.append(value)
    if offset != end:
        raise exceptions.InvalidFrameError('field array overruns its declared length')
    return values, offset


def _decode_table_at(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    """Decode a field table inside ``depth`` tables and arrays, ending before ``limit``."""
    depth += 1
    if depth > MAX_TABLE_DEPTH:
        raise _nested_too_deep(offset)
    end = _bounded_end(encoded, offset, limit, 'field table')
    offset += 4
    table: dict[str, Any] = {}
    while offset < end:
        key, offset = decode_short_string(encoded, offset)
        table[key], offset = _decode_value_at(encoded, offset, end, depth)
    if offset != end:
        raise exceptions.InvalidFrameError('field table overruns its declared length')
    return table, offset


_DECODERS: dict[int, _Decoder] = {
    ord('t'): _decode_bool,
    ord('b'): _fixed(_INT8),
    ord('B'): _fixed(_OCTET),
    ord('s'): _fixed(_INT16),
    ord('u'): _fixed(_UINT16),
    ord('I'): _fixed(_INT32),
    ord('i'): _fixed(_LONG),
    ord('l'): _fixed(_INT64),
    ord('L'): _fixed(_UINT64),
    ord('f'): _fixed(_FLOAT),
    ord('d'): _fixed(_DOUBLE),
    ord('D'): _decode_decimal,
    ord('S'): _decode_long_text,
    ord('x'): _decode_byte_array,
    ord('T'): _decode_timestamp,
    ord('F'): _decode_table_at,
    ord('A'): _decode_array,
    ord('V'): _decode_void,
}


def _decode_value_at(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    """Decode one tagged value without the outer error translation (arguments as for
    :data:`_Decoder`)."""
    kind = encoded[offset]
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise exceptions.InvalidFieldTypeException(f'{chr(kind)!r} at offset {offset}')
    return decoder(encoded, offset + _TAG_SIZE, limit, depth)


def decode_value(encoded: Buffer, offset: int) -> tuple[Any, int]:
    """Decode one tagged field value at ``offset``; return ``(value, offset_after)``.

    :raises pika.exceptions.InvalidFieldTypeException: unknown type marker
    :raises pika.exceptions.InvalidFrameError: truncated or corrupt data, or nested too deep
    """
    return decode_nested_value(encoded, offset, len(encoded), 0)


def decode_nested_value(encoded: Buffer, offset: int, limit: int, depth: int) -> tuple[Any, int]:
    """:func:`decode_value` for a value inside ``depth`` tables and arrays whose innermost
    ends at ``limit`` (<= ``len(encoded)``): for decoders of the enclosing table, such as
    :func:`pika._wire.deliveries.decode_table`, so the nesting and length limits hold across
    them."""
    try:
        return _decode_value_at(encoded, offset, limit, depth)
    except exceptions.AMQPError:
        raise
    except DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(
            f'malformed field value at offset {offset}: {exc}'
        ) from exc


def decode_table(encoded: Buffer, offset: int) -> tuple[dict[str, Any], int]:
    """Decode a field table at ``offset``; return ``(dict, offset_after)``.

    Long strings become str when valid UTF-8 (else bytes), ``x`` byte arrays become bytes,
    timestamps become naive UTC datetimes and decimals :class:`decimal.Decimal`.

    :raises pika.exceptions.InvalidFieldTypeException: unknown type marker
    :raises pika.exceptions.InvalidFrameError: truncated or corrupt data, or nested too deep
    """
    try:
        table, end = _decode_table_at(encoded, offset, len(encoded), 0)
    except exceptions.AMQPError:
        raise
    except DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(
            f'malformed field table at offset {offset}: {exc}'
        ) from exc
    result: dict[str, Any] = table
    return result, end
