"""Hand-tuned decoders for the hottest inbound payloads: Basic.Deliver and BasicProperties.

Private helper of :mod:`pika.frame`. These produce exactly what the generated ``pika.spec``
decoders produce (differential fuzz tests in ``tests/unit/codec/test_fuzz.py`` hold them to it),
with fewer bytecodes: no ``__init__`` run, adjacent fixed-size fields read by one struct call,
and for properties straight-line code compiled once per flags word that visits only the
properties present. Errors surface as ``struct.error``/``IndexError``/``UnicodeDecodeError`` or
``InvalidFrameError``; :mod:`pika.frame` wraps the former into ``InvalidFrameError``.

:func:`decode_deliver_set` goes one step further for the connection's hot path: it decodes a
whole Basic.Deliver frame set (method, content header, one body frame) straight from the receive
buffer, without building frame objects or copying payloads, and declines (returns ``None``)
whenever the bytes are anything else, so that the general decoder handles them and reports any
error exactly as it would have.

Why attributes are stored one by one in ``__init__`` order on an object made by ``__new__``:
on CPython 3.11+ such objects keep their attribute values inline (shared-key layout), which is
about twice as fast as building a dict and assigning ``__dict__``, and keeps ``vars()`` order
identical to an object built by its constructor.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import data, exceptions, spec

if TYPE_CHECKING:
    from pika.amqp_object import Method as AMQPMethod
    from pika.amqp_object import Properties as AMQPProperties

__all__ = [
    'METHOD_DECODERS',
    'PROPERTY_DECODERS',
    'decode_basic_properties',
    'decode_deliver',
    'decode_deliver_set',
]

BytesLike = Union[bytes, bytearray, memoryview]
#: ``(bytes_consumed, channel, Basic.Deliver, BasicProperties, body)``
DeliverSet = tuple[int, int, Any, Any, bytes]

_DELIVER_FIXED = struct.Struct('>QBB')  # delivery tag, redelivered bit, exchange length
_PROPERTY_LAYOUT = (  # flag bit, attribute, wire type -- in BasicProperties field order
    (0x8000, 'content_type', 'shortstr'),
    (0x4000, 'content_encoding', 'shortstr'),
    (0x2000, 'headers', 'table'),
    (0x1000, 'delivery_mode', 'octet'),
    (0x0800, 'priority', 'octet'),
    (0x0400, 'correlation_id', 'shortstr'),
    (0x0200, 'reply_to', 'shortstr'),
    (0x0100, 'expiration', 'shortstr'),
    (0x0080, 'message_id', 'shortstr'),
    (0x0040, 'timestamp', 'u64'),
    (0x0020, 'type', 'shortstr'),
    (0x0010, 'user_id', 'shortstr'),
    (0x0008, 'app_id', 'shortstr'),
    (0x0004, 'cluster_id', 'shortstr'),
)
_READ_FIELD = {  # statements reading one property at offset ``o`` of buffer ``p``
    'shortstr': '    e = o + 1 + p[o]\n    props.{0} = p[o + 1:e].decode()\n    o = e\n',
    'octet': '    props.{0} = p[o]\n    o += 1\n',
    'u64': '    props.{0}, = unpack_u64(p, o)\n    o += 8\n',
    'table': '    props.{0}, o = decode_table(p, o, end)\n',
}
_UNSET_FIELD = '    props.{0} = None\n'
#: ``decoder(buffer, offset_of_first_value, end_of_header_payload) -> BasicProperties``
PropertiesDecoder = Callable[[BytesLike, int, int], Any]
PROPERTY_DECODERS: dict[int, PropertiesDecoder] = {}
_MAX_PROPERTY_DECODERS = 256


def _compile_properties_decoder(flags: int) -> PropertiesDecoder:
    """Build straight-line code decoding exactly the properties present in ``flags``.

    Like ``collections.namedtuple``, the source is assembled from the fixed layout above (never
    from input bytes: ``flags`` only selects which lines appear) and compiled once per flags
    value. Every attribute is stored, in field order, so ``vars()`` matches the constructor's.
    """
    lines = ['def decode(p, o, end):\n', '    props = new(cls)\n']
    lines.extend(
        (_READ_FIELD[kind] if flags & bit else _UNSET_FIELD).format(name)
        for bit, name, kind in _PROPERTY_LAYOUT
    )
    lines.append("    if o > end:\n        raise truncated('content header truncated')\n")
    lines.append('    return props\n')
    namespace: dict[str, Any] = {
        'unpack_u64': _U64_STRUCT.unpack_from,
        'decode_table': decode_table,
        'new': object.__new__,
        'cls': spec.BasicProperties,
        'truncated': exceptions.InvalidFrameError,
    }
    exec(''.join(lines), namespace)
    decoder: PropertiesDecoder = namespace['decode']
    return decoder


def decode_table(
    buf: Union[bytes, bytearray], offset: int, limit: Optional[int] = None
) -> tuple[dict[str, Any], int]:
    """Decode a field table at ``offset``: same result as :func:`pika.data.decode_table`.

    ``limit`` is where the frame holding the table ends (default: the end of ``buf``, which
    may hold more frames): the table, and every string in it, must end there, which is checked
    before anything is sliced.

    Message headers are mostly long strings, 32-bit integers and booleans; those are decoded
    inline here, every other value type through :func:`pika.data.decode_nested_value` (at
    depth 1, this table's). Errors raise
    ``InvalidFrameError`` or (for :mod:`pika.frame` to wrap) ``struct.error``/``IndexError``/
    ``UnicodeDecodeError``.
    """
    (length,) = _U32_STRUCT.unpack_from(buf, offset)
    offset += 4
    end = offset + length
    if end > len(buf) or (limit is not None and end > limit):
        raise exceptions.InvalidFrameError(
            f'field table of {length} bytes at offset {offset - 4} overruns its frame'
        )
    table: dict[str, Any] = {}
    while offset < end:
        start = offset + 1
        offset = start + buf[offset]
        key = buf[start:offset].decode()
        kind = buf[offset]
        if kind == 0x53:  # 'S': long string, str when valid UTF-8 (else bytes)
            (size,) = _U32_STRUCT.unpack_from(buf, offset + 1)
            start = offset + 5
            offset = start + size
            if offset > end:
                raise exceptions.InvalidFrameError(
                    f'long string of {size} bytes at offset {start - 4} overruns its table'
                )
            raw = buf[start:offset]
            try:
                table[key] = raw.decode()
            except UnicodeDecodeError:
                table[key] = bytes(raw)
        elif kind == 0x49:  # 'I': signed 32-bit integer
            (table[key],) = _I32_STRUCT.unpack_from(buf, offset + 1)
            offset += 5
        elif kind == 0x74:  # 't': boolean
            table[key] = bool(buf[offset + 1])
            offset += 2
        else:
            table[key], offset = data.decode_nested_value(buf, offset, end, 1)
    if offset != end:
        raise exceptions.InvalidFrameError('field table overruns its declared length')
    return table, offset


def properties_decoder(flags: int) -> Optional[PropertiesDecoder]:
    """Return the compiled decoder for ``flags`` (compiling it on first use).

    ``None`` for flag words with the continuation or reserved bits set, and once the cache is
    full (a peer cycling through flag words must not make us compile without bound): those go
    to the generated ``BasicProperties.decode``.
    """
    decoder = PROPERTY_DECODERS.get(flags)
    if decoder is None and not flags & 0x0003 and len(PROPERTY_DECODERS) < _MAX_PROPERTY_DECODERS:
        decoder = PROPERTY_DECODERS[flags] = _compile_properties_decoder(flags)
    return decoder


def decode_deliver(payload: bytes) -> AMQPMethod:
    """Basic.Deliver: consumer tag, delivery tag, redelivered, exchange, routing key."""
    deliver_class = spec.Basic.Deliver
    method: Any = deliver_class.__new__(deliver_class)
    end = 5 + payload[4]
    method.consumer_tag = payload[5:end].decode()
    method.delivery_tag, bits, length = _DELIVER_FIXED.unpack_from(payload, end)
    method.redelivered = bits & 1 == 1
    offset = end + 10
    end = offset + length
    method.exchange = payload[offset:end].decode()
    offset = end + 1
    end = offset + payload[end]
    method.routing_key = payload[offset:end].decode()
    if end > len(payload):
        raise exceptions.InvalidFrameError('Basic.Deliver payload truncated')
    return method  # type: ignore[no-any-return]


def decode_basic_properties(payload: bytes, offset: int) -> AMQPProperties:
    """Decode BasicProperties at ``offset``; odd flag words go to the generated decoder."""
    decoder = properties_decoder(payload[offset] << 8 | payload[offset + 1])
    if decoder is None:
        props = spec.BasicProperties()
        props.decode(payload, offset)
        return props
    return decoder(payload, offset + 2, len(payload))  # type: ignore[no-any-return]


# --------------------------------------------------------------------- whole Deliver frame set

# Method frame head + Basic.Deliver id + consumer tag length.
_DELIVER_HEAD = struct.Struct('>BHIIB')
# Frame-end octet of the method frame + the content header frame head: class id, weight
# (ignored, as by decode_frame), body size, property flags.
_HEADER_HEAD = struct.Struct('>BBHIH2xQH')
# Frame-end octet of the header frame + the body frame head.
_BODY_HEAD = struct.Struct('>BBHI')
_DELIVER_ID = 0x003C003C
_BASIC = 60
_END = 0xCE
_SMALL_BODY = 4096
# Shortest complete set: Deliver method frame with empty strings (24) + empty header frame (22).
_MIN_SET_SIZE = 46
# Anything a decoder can raise on garbage; decode_deliver_set then declines.
_SET_ERRORS = (
    struct.error,
    IndexError,
    ValueError,
    KeyError,
    TypeError,
    OverflowError,
    RecursionError,
    exceptions.AMQPError,
)


def decode_deliver_set(
    buf: BytesLike, offset: int = 0, frame_max: Optional[int] = None
) -> Optional[DeliverSet]:
    """Decode a complete Basic.Deliver + content header + single body frame set at ``offset``.

    This is the connection's hot path for consuming: one call per message, reading the
    receive buffer in place (only the body is copied out, as it must outlive the buffer), and no
    frame objects. It returns ``None`` -- never raises -- unless the bytes at ``offset`` are
    exactly such a set, complete and well formed: a Basic.Deliver method frame, then a Basic
    content header frame on the same channel, then (for a non-empty body) one body frame holding
    the whole body, every frame within ``frame_max``. On ``None`` the caller decodes frame by
    frame with :func:`pika.frame.decode_frame`, which then waits for data, handles other frames,
    multi-frame bodies, or raises the right :class:`~pika.exceptions.AMQPError`; so using this
    function never changes what a connection sees, only how fast.

    :param buf: received bytes (``bytes`` or ``bytearray``; a ``memoryview`` is declined)
    :param offset: where the method frame starts
    :param frame_max: negotiated maximum frame size (None or 0: no limit)
    :returns: ``(bytes_consumed, channel, method, properties, body)`` or ``None``
    """
    try:
        if offset < 0 or len(buf) - offset < _MIN_SET_SIZE or buf[offset + 10] != 0x3C:
            return None  # the cheap "certainly not a Deliver set" test comes first
        kind, channel, size, method_id, length = _DELIVER_HEAD.unpack_from(buf, offset)
        if kind != 1 or method_id != _DELIVER_ID or type(buf) is memoryview:
            return None
        limit = frame_max - 8 if frame_max else 0xFFFFFFFF
        method_end = offset + 7 + size  # index of the method frame's frame-end octet
        start = offset + 12
        end = start + length
        # Stored straight into the new object, in constructor order (see the module docstring).
        method = _new(_Deliver)
        method.consumer_tag = buf[start:end].decode()
        method.delivery_tag, bits, length = _DELIVER_FIXED.unpack_from(buf, end)
        method.redelivered = bits & 1 == 1
        start = end + 10
        end = start + length
        method.exchange = buf[start:end].decode()
        start = end + 1
        end = start + buf[end]
        method.routing_key = buf[start:end].decode()
        if end > method_end or size > limit:
            return None
        # From the method frame's end octet: the whole content header frame head.
        frame_end, kind, number, size, class_id, body_size, flags = _HEADER_HEAD.unpack_from(
            buf, method_end
        )
        if frame_end != _END or kind != 2 or number != channel or class_id != _BASIC:
            return None
        if size > limit or size < 14:
            return None
        decode_properties = PROPERTY_DECODERS.get(flags) or properties_decoder(flags)
        if decode_properties is None:
            return None
        header_end = method_end + 8 + size  # index of the header frame's frame-end octet
        properties = decode_properties(buf, method_end + 22, header_end)
        if body_size:
            # From the header frame's end octet: the body frame head.
            frame_end, kind, number, size = _BODY_HEAD.unpack_from(buf, header_end)
            if frame_end != _END or kind != 3 or number != channel or size != body_size:
                return None
            start = header_end + 8
            end = start + size
            if size > limit or buf[end] != _END:
                return None
            if type(buf) is bytes:
                body = buf[start:end]
            elif size <= _SMALL_BODY:  # slice + bytes() beats a memoryview for small bodies
                body = bytes(buf[start:end])
            else:
                body = memoryview(buf)[start:end].tobytes()
        elif buf[header_end] == _END:
            body, end = b'', header_end
        else:
            return None
    except _SET_ERRORS:
        return None
    return end + 1 - offset, channel, method, properties, body


# Frame-end octet of the method frame, an empty-properties content header frame (its flags word
# is 0) and the body frame head after it: one struct call where decode_deliver_set makes two.
_EMPTY_HEADER_AND_BODY_HEAD = struct.Struct('>BBHIH2xQHBBHI')
_EMPTY_HEADER_SIZE = 14  # class id, weight, body size, flags word
_EMPTY_SET_HEADS = _EMPTY_HEADER_AND_BODY_HEAD.size


def decode_deliveries(
    buf: Union[bytes, bytearray],
    offset: int,
    frame_max: Optional[int],
    channel: int,
    out: list[Any],
    record: type,
    max_body: Optional[int] = None,
) -> int:
    """Decode every complete Basic.Deliver set for ``channel`` from ``offset`` on, in one loop.

    The batched form of :func:`decode_deliver_set` for the connection's consuming hot path: a
    read holds hundreds of deliveries, and one call for all of them saves a call, a result
    tuple and the caller's loop per message. Each set becomes one ``record`` object, made
    without running its ``__init__``, with ``channel_number``, ``method``, ``properties`` and
    ``body`` set in that order, appended to ``out``.

    Consecutive deliveries of a consumer usually differ only by their delivery tag, so the
    method frame is compared with the previous one in two slices (what precedes the tag, what
    follows it); equal bytes mean equal, already checked, values, and their strings are reused
    instead of decoded again. (Only the previous set is remembered: nothing grows.)

    The loop stops, without raising, at the first bytes that :func:`decode_deliver_set` would
    decline (another channel, another frame, a partial or unusual set...); what it decodes is
    exactly what that function returns, set after set.

    :param buf: the receive buffer (``bytes`` or ``bytearray``)
    :param offset: where the first method frame starts (>= 0)
    :param frame_max: negotiated maximum frame size (None or 0: no limit)
    :param channel: only sets on this channel are decoded
    :param out: the list the records are appended to
    :param record: the class of the records (``MessageDelivered``)
    :param max_body: largest body taken (``max_message_size``; None: frame_max only); a larger
        one stops the loop, for the caller's general path to refuse
    :returns: the offset after the last decoded set (``offset`` itself when there was none)
    """
    if type(buf) is bytes:
        copy_body = None
    elif type(buf) is bytearray:
        copy_body = bytes
    else:
        return offset
    limit = frame_max - 8 if frame_max else 0xFFFFFFFF
    body_limit = limit if max_body is None or max_body > limit else max_body
    total = len(buf)
    append = out.append
    new = _new
    deliver_class = _Deliver
    properties_class = spec.BasicProperties
    unpack_fixed = _DELIVER_FIXED.unpack_from
    decoders = PROPERTY_DECODERS
    # The previous set's method frame: bytes up to the delivery tag (``head``, ``head_size``
    # long) and from the exchange to the frame end (``tail``), and what they decoded to.
    head: Optional[BytesLike] = None  # None: no previous set
    tail: Optional[BytesLike] = None
    region: Optional[BytesLike] = None  # the previous header + body frame head, if reusable
    head_size = method_size = header_end = body_size = 0
    no_properties = False
    consumer_tag = exchange = routing_key = ''
    try:
        while total - offset >= _MIN_SET_SIZE:
            # Method frame: Basic.Deliver(consumer tag, delivery tag, redelivered, exchange,
            # routing key); attributes stored in constructor order (see the module docstring).
            start = offset + head_size
            if buf[offset:start] != head:
                if buf[offset + 10] != 0x3C:
                    break  # the cheap "certainly not a Deliver" test first
                kind, number, size, method_id, length = _DELIVER_HEAD.unpack_from(buf, offset)
                if kind != 1 or number != channel or method_id != _DELIVER_ID or size > limit:
                    break
                start = offset + 12 + length
                consumer_tag = buf[offset + 12 : start].decode()
                head = buf[offset:start]
                head_size = start - offset
                method_size = size + 7
            method_end = offset + method_size  # index of the method frame's frame-end octet
            method = new(deliver_class)
            method.consumer_tag = consumer_tag
            method.delivery_tag, bits, length = unpack_fixed(buf, start)
            method.redelivered = bits & 1 == 1
            start += 9  # the exchange's length octet
            if buf[start:method_end] != tail:
                end = start + 1 + length
                exchange = buf[start + 1 : end].decode()
                routing_key = buf[end + 1 : end + 1 + buf[end]].decode()
                if end + 1 + buf[end] > method_end:
                    break
                tail = buf[start:method_end]
            method.exchange = exchange
            method.routing_key = routing_key
            # Content header frame and body frame head: when they are the bytes of the previous
            # set's (no property set, same body size), they passed the same checks.
            if region is None or buf[method_end : method_end + _EMPTY_SET_HEADS] != region:
                region = None
                if total - method_end >= _EMPTY_SET_HEADS:
                    (frame_end, kind, number, size, class_id, body_size, flags,
                     body_head_end, body_kind, body_number, body_frame_size
                     ) = _EMPTY_HEADER_AND_BODY_HEAD.unpack_from(buf, method_end)  # fmt: skip
                else:  # the body frame head (if any) is not there: read the header head only
                    frame_end, kind, number, size, class_id, body_size, flags = (
                        _HEADER_HEAD.unpack_from(buf, method_end)
                    )
                    body_kind = 0
                if frame_end != _END or kind != 2 or number != channel or class_id != _BASIC:
                    break
                if size > limit or size < _EMPTY_HEADER_SIZE:
                    break
                header_end = method_end + 8 + size  # index of the header frame's end octet
                no_properties = flags == 0 and size == _EMPTY_HEADER_SIZE
                if not no_properties:
                    decode_properties = decoders.get(flags) or properties_decoder(flags)
                    if decode_properties is None:
                        break
                    properties = decode_properties(buf, method_end + 22, header_end)
                    body_kind = 0  # the body frame head is further on than what was read
                if body_size:
                    if body_kind == 0:
                        body_head_end, body_kind, body_number, body_frame_size = (
                            _BODY_HEAD.unpack_from(buf, header_end)
                        )
                    if (
                        body_head_end != _END
                        or body_kind != 3
                        or body_number != channel
                        or body_frame_size != body_size
                        or body_size > body_limit
                    ):
                        break
                    if no_properties:
                        region = buf[method_end : method_end + _EMPTY_SET_HEADS]
                elif buf[header_end] != _END:
                    break
            else:
                header_end = method_end + _EMPTY_HEADER_SIZE + 8
            if no_properties:
                # The compiled decoder for flags 0, inlined (its call costs as much as these).
                properties = new(properties_class)
                properties.content_type = None
                properties.content_encoding = None
                properties.headers = None
                properties.delivery_mode = None
                properties.priority = None
                properties.correlation_id = None
                properties.reply_to = None
                properties.expiration = None
                properties.message_id = None
                properties.timestamp = None
                properties.type = None
                properties.user_id = None
                properties.app_id = None
                properties.cluster_id = None
            # Body frame: exactly one, holding the whole body.
            if body_size:
                start = header_end + 8
                end = start + body_size
                if buf[end] != _END:
                    break
                if copy_body is None:
                    body = buf[start:end]
                elif body_size <= _SMALL_BODY:  # slice + bytes() beats a memoryview
                    body = copy_body(buf[start:end])
                else:
                    body = memoryview(buf)[start:end].tobytes()
            else:
                body, end = b'', header_end
            event: Any = new(record)
            event.channel_number = channel
            event.method = method
            event.properties = properties
            event.body = body
            append(event)
            offset = end + 1
    except _SET_ERRORS:
        pass
    return offset


_new = object.__new__
_Deliver = spec.Basic.Deliver
_U64_STRUCT = struct.Struct('>Q')
_U32_STRUCT = struct.Struct('>I')
_I32_STRUCT = struct.Struct('>i')
METHOD_DECODERS: dict[int, Callable[[bytes], AMQPMethod]] = {_DELIVER_ID: decode_deliver}
#: flags word 0 (no property set), the most common; outside the bounded cache, always there
_EMPTY_PROPERTIES_DECODER = _compile_properties_decoder(0)
