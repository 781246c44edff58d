"""Hand-tuned decoders for the hottest inbound payloads: Basic.Deliver and BasicProperties.

Used by :mod:`pika._wire.decode` and the core's receive path. These produce exactly what the
generated ``pika.spec``
decoders produce (differential fuzz tests in ``tests/unit/codec/test_fuzz.py`` hold them to it),
with fewer bytecodes: no ``__init__`` run, adjacent fixed-size fields read by one struct call,
and for properties straight-line code compiled once per flags word that visits only the
properties present. Errors surface as ``struct.error``/``IndexError``/``UnicodeDecodeError`` or
``InvalidFrameError``; :mod:`pika._wire.decode` wraps the former into ``InvalidFrameError``.

:func:`decode_deliveries` goes one step further for the connection's consuming hot path: it
decodes every whole Basic.Deliver frame set (method, content header, one body frame) of a read
straight from the receive buffer, without building frame objects or copying payloads, and stops
at the first bytes that are anything else, so that the general decoder handles them and reports
any error exactly as it would have. It is the one decoder of whole Deliver sets.

Why attributes are stored one by one in ``__init__`` order on an object made by ``__new__``:
on CPython 3.11+ such objects keep their attribute values inline (shared-key layout), which is
about twice as fast as building a dict and assigning ``__dict__``, and keeps ``vars()`` order
identical to an object built by its constructor.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import data, exceptions, spec
from pika._wire.constants import (
    BASIC_CLASS_ID,
    BASIC_DELIVER_ID,
    CONTENT_HEADER_FIXED_SIZE,
    DELIVER_FIXED,
    DELIVER_FRAME_HEAD,
    DELIVER_ID_LAST_OCTET,
    DELIVER_ID_LAST_OCTET_OFFSET,
    EMPTY_CONTENT_HEADER_SIZE,
    END_AND_BODY_HEAD,
    END_AND_EMPTY_HEADER_AND_BODY_HEAD,
    END_AND_HEADER_HEAD,
    FRAME_BODY,
    FRAME_END,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_METHOD,
    FRAME_OVERHEAD,
    METHOD_ID_SIZE,
    NO_FRAME_LIMIT,
    PROPERTY_FLAG_RESERVED,
    PROPERTY_FLAGS_SIZE,
    U32,
    U64,
)

if TYPE_CHECKING:
    from pika.amqp_object import Method as AMQPMethod
    from pika.amqp_object import Properties as AMQPProperties

__all__ = [
    'METHOD_DECODERS',
    'PROPERTY_DECODERS',
    'decode_basic_properties',
    'decode_deliver',
    'decode_deliveries',
]

BytesLike = Union[bytes, bytearray, memoryview]
#: What decode_deliveries reads (a memoryview it declines).
Buffer = Union[bytes, bytearray]

_Props = spec.BasicProperties
_PROPERTY_LAYOUT = (  # flag bit, attribute, wire type -- in BasicProperties field order
    (_Props.FLAG_CONTENT_TYPE, 'content_type', 'shortstr'),
    (_Props.FLAG_CONTENT_ENCODING, 'content_encoding', 'shortstr'),
    (_Props.FLAG_HEADERS, 'headers', 'table'),
    (_Props.FLAG_DELIVERY_MODE, 'delivery_mode', 'octet'),
    (_Props.FLAG_PRIORITY, 'priority', 'octet'),
    (_Props.FLAG_CORRELATION_ID, 'correlation_id', 'shortstr'),
    (_Props.FLAG_REPLY_TO, 'reply_to', 'shortstr'),
    (_Props.FLAG_EXPIRATION, 'expiration', 'shortstr'),
    (_Props.FLAG_MESSAGE_ID, 'message_id', 'shortstr'),
    (_Props.FLAG_TIMESTAMP, 'timestamp', 'u64'),
    (_Props.FLAG_TYPE, 'type', 'shortstr'),
    (_Props.FLAG_USER_ID, 'user_id', 'shortstr'),
    (_Props.FLAG_APP_ID, 'app_id', 'shortstr'),
    (_Props.FLAG_CLUSTER_ID, 'cluster_id', 'shortstr'),
)
_READ_FIELD = {  # statements reading one property at offset ``o`` of buffer ``p``
    'shortstr': '    e = o + 1 + p[o]\n    props.{0} = p[o + 1:e].decode()\n    o = e\n',
    'octet': '    props.{0} = p[o]\n    o += 1\n',
    'u64': '    props.{0}, = unpack_u64(p, o)\n    o += u64_size\n',
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
        'unpack_u64': U64.unpack_from,
        'u64_size': U64.size,
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
    (length,) = U32.unpack_from(buf, offset)
    offset += U32.size
    end = offset + length
    if end > len(buf) or (limit is not None and end > limit):
        raise exceptions.InvalidFrameError(
            f'field table of {length} bytes at offset {offset - U32.size} overruns its frame'
        )
    table: dict[str, Any] = {}
    while offset < end:
        start = offset + 1
        offset = start + buf[offset]
        key = buf[start:offset].decode()
        kind = buf[offset]
        if kind == _LONG_STRING:  # long string, str when valid UTF-8 (else bytes)
            (size,) = U32.unpack_from(buf, offset + 1)
            start = offset + 1 + U32.size
            offset = start + size
            if offset > end:
                raise exceptions.InvalidFrameError(
                    f'long string of {size} bytes at offset {start - U32.size} overruns its table'
                )
            raw = buf[start:offset]
            try:
                table[key] = raw.decode()
            except UnicodeDecodeError:
                table[key] = bytes(raw)
        elif kind == _INT32:  # signed 32-bit integer
            (table[key],) = _I32_STRUCT.unpack_from(buf, offset + 1)
            offset += 1 + _I32_STRUCT.size
        elif kind == _BOOLEAN:  # boolean
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
    if (
        decoder is None
        and not flags & PROPERTY_FLAG_RESERVED
        and len(PROPERTY_DECODERS) < _MAX_PROPERTY_DECODERS
    ):
        decoder = PROPERTY_DECODERS[flags] = _compile_properties_decoder(flags)
    return decoder


def decode_deliver(payload: bytes) -> AMQPMethod:
    """Basic.Deliver: consumer tag, delivery tag, redelivered, exchange, routing key."""
    deliver_class = spec.Basic.Deliver
    method: Any = deliver_class.__new__(deliver_class)
    start = METHOD_ID_SIZE + 1  # after the consumer tag's length octet
    end = start + payload[METHOD_ID_SIZE]
    method.consumer_tag = payload[start:end].decode()
    method.delivery_tag, bits, length = DELIVER_FIXED.unpack_from(payload, end)
    method.redelivered = bits & 1 == 1
    offset = end + DELIVER_FIXED.size
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
    return decoder(payload, offset + PROPERTY_FLAGS_SIZE, len(payload))  # type: ignore[no-any-return]


# --------------------------------------------------------------------- whole Deliver frame set

_DELIVER_HEAD = DELIVER_FRAME_HEAD
_HEADER_HEAD = END_AND_HEADER_HEAD
_BODY_HEAD = END_AND_BODY_HEAD
#: Bodies up to this size are copied out by slicing, larger ones through a memoryview.
_SMALL_BODY = 4096
#: Where the consumer tag starts in a Basic.Deliver method frame.
_CONSUMER_TAG_AT = DELIVER_FRAME_HEAD.size
#: Shortest complete set: a Deliver method frame with empty strings (the three length octets
#: besides the frame head's) plus a content header frame without properties (46 bytes).
_MIN_SET_SIZE = (
    DELIVER_FRAME_HEAD.size + DELIVER_FIXED.size + 1 + FRAME_OVERHEAD + EMPTY_CONTENT_HEADER_SIZE
)
#: From a method frame's end octet: the offset of the properties in the header frame after it.
_PROPERTIES_AFTER_METHOD_END = (
    1 + FRAME_HEADER_SIZE + CONTENT_HEADER_FIXED_SIZE + PROPERTY_FLAGS_SIZE
)
#: Errors a spec decoder raises on truncated or garbled input (decode_frame wraps them).
DECODE_ERRORS = (
    struct.error,
    IndexError,
    ValueError,
    KeyError,
    TypeError,
    OverflowError,
    RecursionError,
)
#: Anything a decoder can raise on garbage; decode_deliveries then stops.
SET_ERRORS = (*DECODE_ERRORS, exceptions.AMQPError)


# Frame-end octet of the method frame, an empty-properties content header frame (its flags word
# is 0) and the body frame head after it: one struct call instead of two.
_EMPTY_HEADER_AND_BODY_HEAD = END_AND_EMPTY_HEADER_AND_BODY_HEAD
_EMPTY_SET_HEADS = _EMPTY_HEADER_AND_BODY_HEAD.size
#: A whole content header frame without properties.
_EMPTY_HEADER_FRAME_SIZE = FRAME_OVERHEAD + EMPTY_CONTENT_HEADER_SIZE
#: Where the exchange's length octet is, from the delivery tag of a Basic.Deliver.
_EXCHANGE_LENGTH_AT = DELIVER_FIXED.size - 1


# The codec's one audited hot loop, above the complexity limit of 15 (ruff C901: 22): every
# delivery a consumer receives goes through it. What is off the per-set path is split out
# (_method_head: a new consumer tag; _copy_body: bodies in a bytearray), and the numbers the
# loop reads on every set are locals. Splitting out the content header and properties checks
# too (complexity 14) adds a call per set with properties, measured by
# ``bench/offline.py --instructions deliveries deliveries_props`` (callgrind, instructions per
# set of a 200-set read, CPython 3.11): 12,147 / 21,370 split out against 12,138 / 19,782 as
# written here; before this rework 12,795 / 20,273 (and 12,382 / 19,841 before issue 16).
def decode_deliveries(  # noqa: C901 (bench/offline.py --instructions deliveries, see above)
    buf: Union[bytes, bytearray],
    offset: int,
    frame_max: Optional[int],
    channel: int,
    out: list[Any],
    record: type,
    max_body: Optional[int] = None,
) -> int:
    """Decode every complete Basic.Deliver set for ``channel`` from ``offset`` on, in one loop.

    The connection's consuming hot path (``FrameReceiver.receive_data`` calls it on its receive
    buffer): a read holds hundreds of deliveries, and one call for all of them saves a call, a
    result tuple and the caller's loop per message, and builds no frame objects. Each set
    becomes one ``record`` object, made without running its ``__init__``, with
    ``channel_number``, ``method``, ``properties`` and ``body`` set in that order, appended to
    ``out``.

    Consecutive deliveries of a consumer usually differ only by their delivery tag, so the
    method frame is compared with the previous one in two slices (what precedes the tag, what
    follows it); equal bytes mean equal, already checked, values, and their strings are reused
    instead of decoded again. (Only the previous set is remembered: nothing grows.)

    The loop stops, without raising, at the first bytes that are not exactly such a set,
    complete and well formed: a Basic.Deliver method frame for ``channel``, a Basic content
    header frame on the same channel, then (for a non-empty body) one body frame holding the
    whole body, every frame within ``frame_max`` (another channel, another frame, a partial,
    multi-frame or unusual set...). The caller then decodes frame by frame with
    :func:`pika._wire.decode.decode_frame`, which waits for data, handles the rest, or raises the
    right :class:`~pika.exceptions.AMQPError`; so this function never changes what a connection
    sees, only how fast. What it decodes is exactly what the frame decoder reads from the same
    bytes (``tests/helpers/deliveries.py``).

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
        copy_body = None  # a slice of bytes is a copy already
    elif type(buf) is bytearray:
        copy_body = _copy_body
    else:
        return offset
    limit = frame_max - FRAME_OVERHEAD if frame_max else NO_FRAME_LIMIT
    body_limit = limit if max_body is None or max_body > limit else max_body
    total = len(buf)
    append = out.append
    new = _new
    deliver_class = _Deliver
    properties_class = spec.BasicProperties
    unpack_fixed = DELIVER_FIXED.unpack_from
    decoders = PROPERTY_DECODERS
    # The numbers the loop uses on every set, as locals (cheaper to read than module globals).
    min_set_size = _MIN_SET_SIZE
    exchange_at = _EXCHANGE_LENGTH_AT
    heads_size = _EMPTY_SET_HEADS
    empty_header_frame = _EMPTY_HEADER_FRAME_SIZE
    frame_overhead = FRAME_OVERHEAD
    frame_end = FRAME_END
    header_type = FRAME_HEADER
    body_type = FRAME_BODY
    basic_class = BASIC_CLASS_ID
    empty_header = EMPTY_CONTENT_HEADER_SIZE
    properties_at = _PROPERTIES_AFTER_METHOD_END
    # What the previous set's bytes decoded to, for the next set to reuse when its bytes are
    # the same: its method frame up to the delivery tag (``head``) and from the exchange to
    # the frame end (``tail``); its content header frame and body frame head (``region``, only
    # when it has no properties: those need a new object per message anyway). None: not yet.
    head: Optional[BytesLike] = None
    tail: Optional[BytesLike] = None
    region: Optional[BytesLike] = None
    head_size = method_size = header_end = body_size = 0
    no_properties = False
    consumer_tag = exchange = routing_key = ''
    try:
        while total - offset >= min_set_size:
            # Method frame: Basic.Deliver(consumer tag, delivery tag, redelivered, exchange,
            # routing key); attributes stored in constructor order (see the module docstring).
            start = offset + head_size
            if buf[offset:start] != head:
                found = _method_head(buf, offset, channel, limit)
                if found is None:
                    break
                consumer_tag, head, method_size = found
                head_size = len(head)
                start = offset + head_size
            method_end = offset + method_size  # index of the method frame's frame-end octet
            method = new(deliver_class)
            method.consumer_tag = consumer_tag
            method.delivery_tag, bits, length = unpack_fixed(buf, start)
            method.redelivered = bits & 1 == 1
            start += exchange_at  # the exchange's length octet
            if buf[start:method_end] != tail:  # inline: routing keys often vary
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
            if region is None or buf[method_end : method_end + heads_size] != region:
                # Inline, not a function: a call here costs a set with properties 5% more
                # instructions (see the comment above the function).
                region = None
                if total - method_end >= heads_size:
                    (frame_end_1, kind, number, size, class_id, body_size, flags,
                     body_head_end, body_kind, body_number, body_frame_size
                     ) = _EMPTY_HEADER_AND_BODY_HEAD.unpack_from(buf, method_end)  # fmt: skip
                else:  # the body frame head (if any) is not there: read the header head only
                    frame_end_1, kind, number, size, class_id, body_size, flags = (
                        _HEADER_HEAD.unpack_from(buf, method_end)
                    )
                    body_kind = 0
                if (
                    frame_end_1 != frame_end
                    or kind != header_type
                    or number != channel
                    or class_id != basic_class
                    or size > limit
                    or size < empty_header
                ):
                    break
                # Index of the header frame's frame-end octet: after the method's end, a frame.
                header_end = method_end + frame_overhead + size
                no_properties = flags == 0 and size == empty_header
                if not no_properties:
                    decode_properties = decoders.get(flags) or properties_decoder(flags)
                    if decode_properties is None:
                        break
                    properties = decode_properties(buf, method_end + properties_at, header_end)
                    body_kind = 0  # the body frame head is further on than what was read
                if body_size:
                    if body_kind == 0:
                        body_head_end, body_kind, body_number, body_frame_size = (
                            _BODY_HEAD.unpack_from(buf, header_end)
                        )
                    if (
                        body_head_end != frame_end
                        or body_kind != body_type
                        or body_number != channel
                        or body_frame_size != body_size
                        or body_size > body_limit
                    ):
                        break
                    if no_properties:
                        region = buf[method_end : method_end + heads_size]
                elif buf[header_end] != frame_end:
                    break
            else:
                header_end = method_end + empty_header_frame
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
            # Body frame: exactly one, holding the whole body (its head is checked above).
            if body_size:
                start = header_end + frame_overhead
                end = start + body_size
                if buf[end] != frame_end:
                    break
                body = buf[start:end] if copy_body is None else copy_body(buf, start, end)
            else:
                body, end = b'', header_end
            event: Any = new(record)
            event.channel_number = channel
            event.method = method
            event.properties = properties
            event.body = body
            append(event)
            offset = end + 1
    except SET_ERRORS:
        pass
    return offset


def _method_head(
    buf: Buffer, offset: int, channel: int, limit: int
) -> Optional[tuple[str, BytesLike, int]]:
    """Check the start of a Basic.Deliver method frame for ``channel``, up to its consumer tag.

    :returns: ``(consumer tag, the frame's bytes up to the delivery tag, the frame's size up to
        its frame-end octet)``, or None when it is not such a frame (or above ``limit``)
    """
    if buf[offset + DELIVER_ID_LAST_OCTET_OFFSET] != DELIVER_ID_LAST_OCTET:
        return None  # the cheap "certainly not a Deliver" test first
    kind, number, size, method_id, length = _DELIVER_HEAD.unpack_from(buf, offset)
    if kind != FRAME_METHOD or number != channel or method_id != BASIC_DELIVER_ID or size > limit:
        return None
    start = offset + _CONSUMER_TAG_AT
    end = start + length
    return buf[start:end].decode(), buf[offset:end], size + FRAME_HEADER_SIZE


def _copy_body(buf: Buffer, start: int, end: int) -> bytes:
    """The body at ``buf[start:end]`` as ``bytes``, copied once (the buffer will be reused)."""
    if end - start <= _SMALL_BODY:  # slice + bytes() beats a memoryview for small bodies
        return bytes(buf[start:end])
    return memoryview(buf)[start:end].tobytes()


_new = object.__new__
_Deliver = spec.Basic.Deliver
_I32_STRUCT = struct.Struct('>i')
#: The field-value type octets decode_table handles inline (the letters of the table grammar).
_LONG_STRING, _INT32, _BOOLEAN = b'SIt'
METHOD_DECODERS: dict[int, Callable[[bytes], AMQPMethod]] = {BASIC_DELIVER_ID: decode_deliver}
#: flags word 0 (no property set), the most common; outside the bounded cache, always there
_EMPTY_PROPERTIES_DECODER = _compile_properties_decoder(0)
