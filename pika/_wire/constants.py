"""The numbers of the AMQP 0-9-1 wire format, each with one name: import them from here.

This is the bottom of the package: it imports nothing from pika, so every module (the codec,
the core, ``pika.data`` and the generated ``pika.spec`` included) can use it. The few values
the AMQP specification document also lists (frame types, frame end, frame header size, class and
method ids) are generated into :mod:`pika.spec` as well, under pika 1.x's public names;
``tests/unit/codec/test_wire_constants.py`` holds both to the same values. Hand-written code
takes them from here, with the layout numbers the spec leaves implicit: frame overhead, header
layouts as ``struct.Struct`` objects, offsets.

Every frame but the protocol header is::

    type:octet  channel:short  size:long  payload:size octets  frame-end:octet (0xCE)

A method frame's payload starts with its 4-octet method id (class id << 16 | method id); a
content header's with class id (short), weight (short), body size (longlong), then the property
flags word and the property values.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = [
    'ACK_FRAME',
    'ACK_PAYLOAD_SIZE',
    'BASIC_ACK_ID',
    'BASIC_CLASS_ID',
    'BASIC_DELIVER_ID',
    'BASIC_PUBLISH_ID',
    'CONNECTION_CLASS_ID',
    'CONTENT_HEAD',
    'CONTENT_HEADER_FIXED_SIZE',
    'CONTENT_HEADER_FRAME_HEAD',
    'DELIVER_FIXED',
    'DELIVER_FRAME_HEAD',
    'DELIVER_ID_LAST_OCTET',
    'DELIVER_ID_LAST_OCTET_OFFSET',
    'EMPTY_CONTENT_HEADER_SIZE',
    'EMPTY_HEADER_AND_BODY_HEAD',
    'EMPTY_HEADER_FRAME',
    'END_AND_BODY_HEAD',
    'END_AND_EMPTY_HEADER_AND_BODY_HEAD',
    'END_AND_HEADER_HEAD',
    'FRAME_BODY',
    'FRAME_END',
    'FRAME_END_BYTE',
    'FRAME_END_SIZE',
    'FRAME_HEAD',
    'FRAME_HEADER',
    'FRAME_HEADER_SIZE',
    'FRAME_HEARTBEAT',
    'FRAME_KIND_CHANNEL',
    'FRAME_METHOD',
    'FRAME_OVERHEAD',
    'FRAME_PROTOCOL_HEADER',
    'HEARTBEAT_FRAME',
    'LONGLONG_MAX',
    'LONG_MAX',
    'METHOD_FRAME_HEAD',
    'METHOD_ID',
    'METHOD_ID_SIZE',
    'NO_FRAME_LIMIT',
    'NO_PROPERTIES',
    'PROPERTY_FLAGS_SIZE',
    'PROPERTY_FLAG_RESERVED',
    'PROTOCOL_HEADER_FIRST',
    'PROTOCOL_HEADER_SIZE',
    'PROTOCOL_MAGIC',
    'PUBLISH_METHOD_HEAD',
    'SHORT_MAX',
    'SHORT_STRING_MAX',
    'U32',
    'U64',
]

# ------------------------------------------------------------------------------ frames

#: Frame types.
FRAME_METHOD: Final[int] = 1
FRAME_HEADER: Final[int] = 2  # content header
FRAME_BODY: Final[int] = 3
FRAME_HEARTBEAT: Final[int] = 8
#: The ``frame_type`` of pika 1.x's ``ProtocolHeader`` object: no octet on the wire (the
#: protocol header is no frame), a value no frame type takes.
FRAME_PROTOCOL_HEADER: Final[int] = -1
#: The octet closing every frame (206).
FRAME_END: Final[int] = 0xCE
FRAME_END_BYTE: Final[bytes] = bytes((FRAME_END,))
#: type (1) + channel (2) + size (4): the bytes before a frame's payload.
FRAME_HEADER_SIZE: Final[int] = 7
FRAME_END_SIZE: Final[int] = 1
#: Bytes of a frame that are not payload: its header and its frame-end octet (8).
FRAME_OVERHEAD: Final[int] = FRAME_HEADER_SIZE + FRAME_END_SIZE
#: The largest values of the unsigned integer fields: short (16 bits), long (32), longlong (64).
SHORT_MAX: Final[int] = 0xFFFF
LONG_MAX: Final[int] = 0xFFFFFFFF
LONGLONG_MAX: Final[int] = 0xFFFFFFFFFFFFFFFF
#: The longest short string (its length is one octet).
SHORT_STRING_MAX: Final[int] = 0xFF
#: The payload limit when no frame_max applies: the largest size a frame header can state.
NO_FRAME_LIMIT: Final[int] = LONG_MAX

#: type, channel, payload size
FRAME_HEAD: Final = struct.Struct('>BHI')
#: type, channel: enough of a frame head to route it
FRAME_KIND_CHANNEL: Final = struct.Struct('>BH')
#: The whole heartbeat frame: channel 0, empty payload.
HEARTBEAT_FRAME: Final[bytes] = FRAME_HEAD.pack(FRAME_HEARTBEAT, 0, 0) + FRAME_END_BYTE

# ------------------------------------------------------------------------------ protocol header

#: What a client sends first (then 0, major, minor, revision); a broker refusing our version
#: answers with its own.
PROTOCOL_MAGIC: Final[bytes] = b'AMQP'
#: Its first octet, which is no frame type: tells a protocol header from a frame.
PROTOCOL_HEADER_FIRST: Final[int] = PROTOCOL_MAGIC[0]
PROTOCOL_HEADER_SIZE: Final[int] = len(PROTOCOL_MAGIC) + 4

# ------------------------------------------------------------------------------ method frames

#: class id << 16 | method id, at the start of a method frame's payload
METHOD_ID: Final = struct.Struct('>I')
METHOD_ID_SIZE: Final[int] = METHOD_ID.size
#: frame head + method id (11 bytes; the method's arguments follow)
METHOD_FRAME_HEAD: Final = struct.Struct('>BHII')

#: Class Connection: its methods belong to channel 0.
CONNECTION_CLASS_ID: Final[int] = 10
#: Class Basic, and the ids (class id << 16 | method id) of the methods the fast paths compare.
BASIC_CLASS_ID: Final[int] = 60
BASIC_DELIVER_ID: Final[int] = BASIC_CLASS_ID << 16 | 60
BASIC_PUBLISH_ID: Final[int] = BASIC_CLASS_ID << 16 | 40
BASIC_ACK_ID: Final[int] = BASIC_CLASS_ID << 16 | 80

#: Basic.Ack as one whole method frame: frame head, method id, delivery tag, multiple bit,
#: frame end.
ACK_FRAME: Final = struct.Struct('>BHIIQ?B')
#: Its payload size: method id, delivery tag, the bit octet (13).
ACK_PAYLOAD_SIZE: Final[int] = ACK_FRAME.size - FRAME_OVERHEAD
#: The start of a Basic.Publish method frame: frame head, method id, ticket, exchange length
#: (the exchange, routing key, flag bits and frame end follow).
PUBLISH_METHOD_HEAD: Final = struct.Struct('>BHIIHB')
#: Basic.Deliver frame head: frame head, method id, consumer tag length
DELIVER_FRAME_HEAD: Final = struct.Struct('>BHIIB')
#: Basic.Deliver after the consumer tag: delivery tag, redelivered bit, exchange length
DELIVER_FIXED: Final = struct.Struct('>QBB')
#: Where the last octet of the method id sits in a method frame, and its value for
#: Basic.Deliver: the cheapest "certainly not a Deliver" test.
DELIVER_ID_LAST_OCTET_OFFSET: Final[int] = METHOD_FRAME_HEAD.size - 1
DELIVER_ID_LAST_OCTET: Final[int] = BASIC_DELIVER_ID & 0xFF

# ------------------------------------------------------------------------------ content frames

#: class id, weight (always 0), body size: a content header payload before its property flags
CONTENT_HEAD: Final = struct.Struct('>HHQ')
CONTENT_HEADER_FIXED_SIZE: Final[int] = CONTENT_HEAD.size  # 12
#: The property flags word (bit 15 = first property; bit 0 = a continuation word follows).
PROPERTY_FLAGS_SIZE: Final[int] = 2
#: Property flag bits no BasicProperties field uses (continuation and bit 1).
PROPERTY_FLAG_RESERVED: Final[int] = 0x0003
#: The flags word of a message without properties.
NO_PROPERTIES: Final[bytes] = bytes(PROPERTY_FLAGS_SIZE)
#: Payload size of a content header without properties (14).
EMPTY_CONTENT_HEADER_SIZE: Final[int] = CONTENT_HEADER_FIXED_SIZE + PROPERTY_FLAGS_SIZE
#: frame head + class id, weight, body size (the property flags and values follow)
CONTENT_HEADER_FRAME_HEAD: Final = struct.Struct('>BHIHHQ')
#: A whole content header frame without properties: ... + flags word 0 + frame end.
EMPTY_HEADER_FRAME: Final = struct.Struct('>BHIHHQHB')
#: A content header frame without properties, then a body frame's head (its payload and frame
#: end follow): type, channel, size, class, weight, body size, flags, end; type, channel, size.
EMPTY_HEADER_AND_BODY_HEAD: Final = struct.Struct('>BHIHHQHBBHI')
#: The frame-end octet of one frame, then a body frame head.
END_AND_BODY_HEAD: Final = struct.Struct('>BBHI')
#: The frame-end octet of a method frame, then a content header frame head up to the property
#: flags (weight skipped): end, type, channel, size, class id, body size, flags.
END_AND_HEADER_HEAD: Final = struct.Struct('>BBHIH2xQH')
#: The same, for a header without properties, then the body frame head after it.
END_AND_EMPTY_HEADER_AND_BODY_HEAD: Final = struct.Struct('>BBHIH2xQHBBHI')

# ------------------------------------------------------------------------------ field values

U32: Final = struct.Struct('>I')
U64: Final = struct.Struct('>Q')
