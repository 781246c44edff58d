"""The incremental frame decoder: received bytes to :mod:`pika._wire.frames` values.

:func:`decode_frame` reads one frame from a buffer that may still be growing: it returns
``(bytes_consumed, frame)``, or ``(0, None)`` while the frame is incomplete, and never copies the
buffer (it reads through ``struct.unpack_from`` at an offset). Anything malformed raises a subclass
of :class:`pika.exceptions.AMQPError`; nothing else escapes, which the fuzz tests enforce.
:func:`decode_frames` decodes every complete frame of a buffer in one call. (The connection's
consuming hot path does not build frame objects: see :mod:`pika._wire.deliveries`.)
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Optional, Union

from pika import exceptions, spec
from pika._wire import deliveries
from pika._wire.constants import (
    BASIC_CLASS_ID,
    CONTENT_HEAD,
    CONTENT_HEADER_FIXED_SIZE,
    FRAME_BODY,
    FRAME_END,
    FRAME_HEAD,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_HEARTBEAT,
    FRAME_METHOD,
    FRAME_OVERHEAD,
    METHOD_ID,
    METHOD_ID_SIZE,
    NO_FRAME_LIMIT,
    PROPERTY_FLAGS_SIZE,
    PROTOCOL_HEADER_FIRST,
    PROTOCOL_HEADER_SIZE,
    PROTOCOL_MAGIC,
)
from pika._wire.frames import Body, Frame, Header, Heartbeat, Method, ProtocolHeader

if TYPE_CHECKING:
    from pika.amqp_object import Method as AMQPMethod

__all__ = ['decode_frame', 'decode_frames']

BytesLike = Union[bytes, bytearray, memoryview]

# Errors a spec decoder raises on garbled input (one home: deliveries); decode_frame wraps them.
_DECODE_ERRORS = deliveries.DECODE_ERRORS


def decode_frame(
    data_in: BytesLike, offset: int = 0, frame_max: Optional[int] = None
) -> tuple[int, Optional[Frame]]:
    """Decode the frame that starts at ``data_in[offset]``.

    The buffer is only read, never copied or modified: callers keep appending received bytes to
    a ``bytearray`` and advance ``offset`` by the returned count.

    :param data_in: received bytes (``bytes``, ``bytearray`` or a ``memoryview`` of bytes)
    :param offset: where the frame starts in ``data_in``
    :param frame_max: negotiated maximum frame size including the 8 bytes of framing; ``None``
        or 0 means no limit. A larger declared size is refused as soon as the 7-byte frame
        header is in, before waiting for (or allocating) its payload.
    :returns: ``(bytes_consumed, frame)``, or ``(0, None)`` when more bytes are needed
    :raises pika.exceptions.FrameTooLargeError: declared size above ``frame_max``
    :raises pika.exceptions.InvalidFrameError: bad frame-end octet, unknown type, bad payload
    :raises pika.exceptions.AMQPError: any other malformed input (never anything else)
    """
    available = len(data_in) - offset
    if available < FRAME_HEADER_SIZE:
        if available > 0:
            _check_partial_head(data_in, offset, available)
        return 0, None
    try:
        frame_type, channel, size = FRAME_HEAD.unpack_from(data_in, offset)
    except (struct.error, TypeError, ValueError) as exc:  # negative offset, odd buffer...
        raise exceptions.InvalidFrameError(f'unreadable frame header: {exc}') from exc
    if frame_type == PROTOCOL_HEADER_FIRST:
        return _decode_protocol_header(data_in, offset, available)
    if frame_max and size > frame_max - FRAME_OVERHEAD:
        raise exceptions.FrameTooLargeError(
            f'frame of {size + FRAME_OVERHEAD} bytes exceeds frame_max {frame_max}'
        )
    if available <= size + FRAME_HEADER_SIZE:
        if frame_type not in _KNOWN_TYPES:
            raise exceptions.InvalidFrameError(f'unknown frame type {frame_type}')
        return 0, None
    start = offset + FRAME_HEADER_SIZE
    end = start + size
    if data_in[end] != FRAME_END:
        raise exceptions.InvalidFrameError(
            f'invalid frame end octet {data_in[end]:#04x} (type {frame_type}, size {size})'
        )
    # The payload is copied out (small for method/header frames; the body must outlive the
    # receive buffer anyway), so decoders never see the next frame's bytes.
    if type(data_in) is bytes:
        payload = data_in[start:end]
    else:
        payload = memoryview(data_in)[start:end].tobytes()
    if frame_type == FRAME_BODY:
        return size + FRAME_OVERHEAD, Body(channel, payload)
    if frame_type == FRAME_METHOD:
        return size + FRAME_OVERHEAD, Method(channel, _decode_method(payload))
    if frame_type == FRAME_HEADER:
        return size + FRAME_OVERHEAD, _decode_header(payload, channel)
    if frame_type == FRAME_HEARTBEAT:
        if channel != 0 or size != 0:
            raise exceptions.InvalidFrameError(
                f'heartbeat frame on channel {channel} with {size} payload bytes'
            )
        return FRAME_OVERHEAD, Heartbeat()
    raise exceptions.InvalidFrameError(f'unknown frame type {frame_type}')


def _check_partial_head(data_in: BytesLike, offset: int, available: int) -> None:
    """Fail early on a partial header whose first octet (or AMQP magic) is already wrong."""
    first = data_in[offset]
    if first == PROTOCOL_HEADER_FIRST:
        head = bytes(data_in[offset : offset + min(available, len(PROTOCOL_MAGIC))])
        if not PROTOCOL_MAGIC.startswith(head):
            raise exceptions.InvalidFrameError(f'garbled protocol header {head!r}')
    elif first not in _KNOWN_TYPES:
        raise exceptions.InvalidFrameError(f'unknown frame type {first}')


def _decode_protocol_header(
    data_in: BytesLike, offset: int, available: int
) -> tuple[int, Optional[Frame]]:
    """Decode ``b'AMQP'`` + 4 octets (a broker refusing our protocol version)."""
    magic_end = offset + len(PROTOCOL_MAGIC)
    magic = bytes(data_in[offset:magic_end])
    if magic != PROTOCOL_MAGIC:
        raise exceptions.InvalidFrameError(f'garbled protocol header {magic!r}')
    if available < PROTOCOL_HEADER_SIZE:
        return 0, None
    _, major, minor, revision = bytes(data_in[magic_end : offset + PROTOCOL_HEADER_SIZE])
    return PROTOCOL_HEADER_SIZE, ProtocolHeader(major, minor, revision)


def decode_frames(
    data_in: BytesLike, offset: int = 0, frame_max: Optional[int] = None
) -> tuple[int, list[Frame]]:
    """Decode every complete frame from ``data_in[offset:]`` in one call.

    Same contract as :func:`decode_frame`, batched: the returned count covers all returned
    frames, and a partial frame at the end stays in the buffer. If a malformed frame follows
    good ones, the good ones are returned and the next call raises, so no frame that arrived
    before a protocol error is lost. The loop keeps everything in local variables, which makes
    it the fastest way for a connection to consume a receive buffer.

    :param data_in: received bytes (``bytes``, ``bytearray`` or a ``memoryview`` of bytes)
    :param offset: where the first frame starts
    :param frame_max: negotiated maximum frame size (None or 0: no limit)
    :returns: ``(bytes_consumed, frames)``; ``(0, [])`` when no complete frame is there
    :raises pika.exceptions.AMQPError: the first frame at ``offset`` is malformed
    """
    frames: list[Frame] = []
    append = frames.append
    limit = frame_max - FRAME_OVERHEAD if frame_max else NO_FRAME_LIMIT
    view: Any = data_in if type(data_in) is bytes else None
    total = len(data_in)
    position = offset
    while total - position >= FRAME_OVERHEAD:
        frame_type, channel, size = FRAME_HEAD.unpack_from(data_in, position)
        start = position + FRAME_HEADER_SIZE
        end = start + size
        if end >= total or size > limit or data_in[end] != FRAME_END:
            break  # partial, oversized or broken: decode_frame below sorts it out
        if view is None:
            view = memoryview(data_in)
        payload: bytes = view[start:end] if type(view) is bytes else view[start:end].tobytes()
        # Common cases inline; anything unusual (or any error) falls through to decode_frame.
        try:
            if frame_type == FRAME_BODY:
                append(Body(channel, payload))
            elif frame_type == FRAME_METHOD:
                decode_method = deliveries.METHOD_DECODERS.get(METHOD_ID.unpack_from(payload)[0])
                if decode_method is None:
                    break
                append(Method(channel, decode_method(payload)))
            elif frame_type == FRAME_HEADER:
                class_id, _weight, body_size = CONTENT_HEAD.unpack_from(payload)
                flags = payload[_FLAGS_AT] << 8 | payload[_FLAGS_AT + 1]
                decode_props = deliveries.PROPERTY_DECODERS.get(flags)
                if class_id != BASIC_CLASS_ID or decode_props is None:
                    break
                props = decode_props(payload, _PROPERTIES_AT, len(payload))
                append(Header(channel, body_size, props))
            else:
                break
        except _BATCH_ERRORS:
            break
        position = end + 1
    while position < total:  # the careful path: until it needs more data or hits an error
        try:
            consumed, value = decode_frame(data_in, position, frame_max)
        except exceptions.AMQPError:
            if not frames:
                raise
            break  # return the good frames first; the next call raises
        if value is None:
            break
        append(value)
        position += consumed
    return position - offset, frames


def _decode_method(payload: bytes) -> AMQPMethod:
    """Decode a method frame payload: method id, then the method's own arguments."""
    if len(payload) < METHOD_ID_SIZE:
        raise exceptions.InvalidFrameError('method frame shorter than a method id')
    (method_id,) = METHOD_ID.unpack_from(payload)
    fast = deliveries.METHOD_DECODERS.get(method_id)
    if fast is not None:
        try:
            return fast(payload)
        except exceptions.AMQPError:
            raise
        except _DECODE_ERRORS as exc:
            raise exceptions.InvalidFrameError(f'malformed method {method_id:#x}: {exc}') from exc
    method_class = spec.methods.get(method_id)
    if method_class is None:
        raise exceptions.MethodNotImplemented(
            f'unknown method {method_id >> 16}.{method_id & 0xFFFF} (id {method_id:#x})'
        )
    try:  # decode() sets every argument: no __init__, which may require some (UpdateSecret)
        method: AMQPMethod = method_class.__new__(method_class)
        method.decode(payload, METHOD_ID_SIZE)
    except exceptions.AMQPError:
        raise
    except _DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(f'malformed {method_class.NAME} frame: {exc}') from exc
    return method


def _decode_header(payload: bytes, channel: int) -> Header:
    """Decode a content header payload: class id, weight, body size, then the properties."""
    if len(payload) < _PROPERTIES_AT:
        raise exceptions.InvalidFrameError('content header frame too short')
    class_id, _weight, body_size = CONTENT_HEAD.unpack_from(payload)
    if class_id != BASIC_CLASS_ID:
        raise exceptions.InvalidFrameError(f'content header for class {class_id}, not Basic')
    try:
        props = deliveries.decode_basic_properties(payload, CONTENT_HEADER_FIXED_SIZE)
    except exceptions.AMQPError:
        raise
    except _DECODE_ERRORS as exc:
        raise exceptions.InvalidFrameError(f'malformed content header: {exc}') from exc
    return Header(channel, body_size, props)


#: Where a content header payload holds its property flags, and where the properties start.
_FLAGS_AT = CONTENT_HEADER_FIXED_SIZE
_PROPERTIES_AT = CONTENT_HEADER_FIXED_SIZE + PROPERTY_FLAGS_SIZE

_KNOWN_TYPES = frozenset((FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT))

_BATCH_ERRORS = deliveries.SET_ERRORS
