"""Hand-tuned decoders for the hottest inbound payloads: Basic.Deliver and BasicProperties.

Private helper of :mod:`pika.frame`. These produce exactly what the generated ``pika.spec``
decoders produce (differential fuzz tests in ``tests/unit/codec/test_fuzz.py`` hold them to it),
with fewer bytecodes: no ``__init__`` run, adjacent fixed-size fields read by one struct call,
and for properties straight-line code compiled once per flags word that visits only the
properties present. Errors surface as ``struct.error``/``IndexError``/``UnicodeDecodeError`` or
``InvalidFrameError``; :mod:`pika.frame` wraps the former into ``InvalidFrameError``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable

from pika import data, exceptions, spec

if TYPE_CHECKING:
    from pika.amqp_object import Method as AMQPMethod
    from pika.amqp_object import Properties as AMQPProperties

__all__ = ['METHOD_DECODERS', 'PROPERTY_DECODERS', 'decode_basic_properties', 'decode_deliver']

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
_ALL_UNSET = {name: None for _, name, _ in _PROPERTY_LAYOUT}
_READ_FIELD = {  # statements reading one property at offset ``o`` of payload ``p`` into ``f``
    'shortstr': "    e = o + 1 + p[o]\n    f['{0}'] = p[o + 1:e].decode()\n    o = e\n",
    'octet': "    f['{0}'] = p[o]\n    o += 1\n",
    'u64': "    f['{0}'], = unpack_u64(p, o)\n    o += 8\n",
    'table': "    f['{0}'], o = decode_table(p, o)\n",
}
PropertiesDecoder = Callable[[bytes, int], Any]
PROPERTY_DECODERS: dict[int, PropertiesDecoder] = {}
_MAXPROPERTY_DECODERS = 256


def _compile_properties_decoder(flags: int) -> PropertiesDecoder:
    """Build straight-line code decoding exactly the properties present in ``flags``.

    Like ``collections.namedtuple``, the source is assembled from the fixed layout above (never
    from input bytes: ``flags`` only selects which lines appear) and compiled once per flags
    value. Straight-line code is about twice as fast as looping over the layout.
    """
    lines = ['def decode(p, o):\n', '    f = dict(unset)\n']
    lines.extend(
        _READ_FIELD[kind].format(name) for bit, name, kind in _PROPERTY_LAYOUT if flags & bit
    )
    lines.append("    if o > len(p):\n        raise truncated('content header truncated')\n")
    lines.append('    props = new(cls)\n    props.__dict__ = f\n    return props\n')
    namespace: dict[str, Any] = {
        'unset': _ALL_UNSET,
        'unpack_u64': _U64_STRUCT.unpack_from,
        'decode_table': data.decode_table,
        'new': object.__new__,
        'cls': spec.BasicProperties,
        'truncated': exceptions.InvalidFrameError,
    }
    exec(''.join(lines), namespace)
    decoder: PropertiesDecoder = namespace['decode']
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
    flags = payload[offset] << 8 | payload[offset + 1]
    decoder = PROPERTY_DECODERS.get(flags)
    if decoder is None:
        # Continuation/reserved bits, or a peer cycling through flag words: the generic decoder.
        if flags & 0x0003 or len(PROPERTY_DECODERS) >= _MAXPROPERTY_DECODERS:
            props = spec.BasicProperties()
            props.decode(payload, offset)
            return props
        decoder = PROPERTY_DECODERS[flags] = _compile_properties_decoder(flags)
    return decoder(payload, offset + 2)  # type: ignore[no-any-return]


_U64_STRUCT = struct.Struct('>Q')
METHOD_DECODERS: dict[int, Callable[[bytes], AMQPMethod]] = {0x003C003C: decode_deliver}
