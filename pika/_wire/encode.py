"""Frame encoders: generic frames, body splitting, the Basic.Publish fast path, and the
writers the connection core appends content frames with.

The public names are re-exported by :mod:`pika.frame` (their pika path); the core's publish
shortcut shares :func:`publish_method_frame` and its cache.

:func:`encode_publish` builds the whole Basic.Publish frame set (method, content header, bodies)
in as few allocations as possible, since it is the hottest outbound path; the method frame is
cached per (channel, exchange, routing key, flags).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika import exceptions
from pika._wire.constants import (
    BASIC_CLASS_ID,
    BASIC_PUBLISH_ID,
    CONTENT_HEADER_FIXED_SIZE,
    CONTENT_HEADER_FRAME_HEAD,
    EMPTY_CONTENT_HEADER_SIZE,
    EMPTY_HEADER_AND_BODY_HEAD,
    EMPTY_HEADER_FRAME,
    END_AND_BODY_HEAD,
    FRAME_BODY,
    FRAME_END,
    FRAME_END_BYTE,
    FRAME_HEAD,
    FRAME_HEADER,
    FRAME_METHOD,
    FRAME_OVERHEAD,
    METHOD_FRAME_HEAD,
    METHOD_ID_SIZE,
    NO_PROPERTIES,
    PUBLISH_METHOD_HEAD,
    SHORT_STRING_MAX,
)

if TYPE_CHECKING:
    from pika import spec
    from pika.amqp_object import Properties as AMQPProperties

__all__ = [
    'append_content',
    'append_header',
    'body_frame_head',
    'encode_frame',
    'encode_method',
    'encode_properties',
    'encode_publish',
    'encode_publish_method',
    'frame_too_large',
    'publish_method_frame',
    'split_body',
]

BytesLike = Union[bytes, bytearray, memoryview]


def encode_frame(frame_type: int, channel: int, payload: BytesLike) -> bytes:
    """Return one complete frame: header, ``payload`` and the frame-end octet.

    :param frame_type: FRAME_METHOD, FRAME_HEADER, FRAME_BODY or FRAME_HEARTBEAT
    :param channel: channel number (0..65535)
    :param payload: the frame payload
    """
    return b''.join((FRAME_HEAD.pack(frame_type, channel, len(payload)), payload, FRAME_END_BYTE))


def encode_method(channel: int, method: Any) -> bytes:
    """Return one complete method frame for ``method`` (raises at once if it cannot encode).

    The one method-frame encoder: ``pika.frame.Method.marshal()`` and the core's sends use it
    (the core's RPC path inlines it, see ``ChannelCore.rpc``).
    """
    args = b''.join(method.encode())
    head = METHOD_FRAME_HEAD.pack(FRAME_METHOD, channel, len(args) + METHOD_ID_SIZE, method.INDEX)
    return head + args + FRAME_END_BYTE


def split_body(body: BytesLike, frame_max: int) -> list[BytesLike]:
    """Cut ``body`` into fragments that each fit a body frame of at most ``frame_max`` bytes.

    Fragments are zero-copy ``memoryview`` slices when the body needs splitting; a body that fits
    one frame is returned as is. An empty body gives no fragment at all (AMQP sends no body frame).

    :param body: the message body
    :param frame_max: negotiated maximum frame size, framing included
    :raises ValueError: when ``frame_max`` leaves no room for payload
    """
    chunk = frame_max - FRAME_OVERHEAD
    if chunk <= 0:
        raise ValueError(f'frame_max {frame_max} leaves no room for a body fragment')
    size = len(body)
    if size == 0:
        return []
    if size <= chunk:
        return [body]
    view = memoryview(body)
    return [view[pos : pos + chunk] for pos in range(0, size, chunk)]


# Basic.Publish fast path: the method frame depends only on (channel, exchange, routing key,
# flags), so it is built once and reused; the content header prefix is one struct.pack call.
_PUBLISH_CACHE: dict[tuple[int, str, str, bool, bool], bytes] = {}
_PUBLISH_CACHE_MAX = 1024
#: Bodies up to this size are copied into one contiguous frame set; larger ones are referenced.
_COPY_LIMIT = 32 * 1024


def _short_string(value: str, what: str) -> bytes:
    """UTF-8 encode ``value`` for a shortstr field, enforcing the 255-byte limit."""
    if not isinstance(value, str):
        raise TypeError(f'{what} must be a str, not {type(value).__name__}')
    raw = value.encode('utf-8')
    if len(raw) > SHORT_STRING_MAX:
        raise exceptions.ShortStringTooLong(
            f'{what} is {len(raw)} bytes long, max {SHORT_STRING_MAX}'
        )
    return raw


def publish_method_frame(
    channel: int, exchange: str, routing_key: str, mandatory: bool, immediate: bool
) -> bytes:
    """Return (and cache) the complete Basic.Publish method frame."""
    key = (channel, exchange, routing_key, mandatory, immediate)
    cached = _PUBLISH_CACHE.get(key)
    if cached is not None:
        return cached
    ex = _short_string(exchange, 'exchange')
    rk = _short_string(routing_key, 'routing_key')
    # method id, ticket, exchange length, exchange, routing key length, routing key, flag bits
    size = PUBLISH_METHOD_HEAD.size - FRAME_HEAD.size + len(ex) + 1 + len(rk) + 1
    flags = (1 if mandatory else 0) | (2 if immediate else 0)
    frame = b''.join(
        (
            PUBLISH_METHOD_HEAD.pack(FRAME_METHOD, channel, size, BASIC_PUBLISH_ID, 0, len(ex)),
            ex,
            bytes((len(rk),)),
            rk,
            bytes((flags, FRAME_END)),
        )
    )
    if len(_PUBLISH_CACHE) >= _PUBLISH_CACHE_MAX:
        _PUBLISH_CACHE.clear()
    _PUBLISH_CACHE[key] = frame
    return frame


def encode_publish(
    channel: int,
    exchange: str,
    routing_key: str,
    mandatory: bool,
    properties: AMQPProperties | None,
    body: BytesLike | str,
    frame_max: int | None,
    immediate: bool = False,
) -> list[BytesLike]:
    """Return the wire pieces of a Basic.Publish: method, content header and body frames.

    The pieces concatenated are exactly ``Method(...).marshal() + Header(...).marshal() +
    Body(...).marshal()`` for every fragment. Small bodies come back as one ``bytes``; a body
    above 32 KiB is referenced through ``memoryview`` slices instead of copied, so the caller must
    not mutate it until the pieces are written.

    :param channel: channel number
    :param exchange: exchange name (shortstr)
    :param routing_key: routing key (shortstr)
    :param mandatory: ask the broker to return the message if no queue takes it
    :param properties: ``spec.BasicProperties`` or None for no properties
    :param body: message body; a ``str`` is sent UTF-8 encoded
    :param frame_max: negotiated maximum frame size (None or 0: no limit)
    :param immediate: the deprecated AMQP immediate flag (RabbitMQ refuses it)
    :raises TypeError: wrong argument types
    :raises pika.exceptions.ShortStringTooLong: exchange or routing key over 255 bytes
    """
    body_type = type(body)
    if body_type is str:
        body = body.encode('utf-8')  # type: ignore[union-attr]
    elif body_type is not bytes and not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f'body must be bytes-like or str, not {body_type.__name__}')
    size = len(body)
    key = (channel, exchange, routing_key, mandatory, immediate)
    method = _PUBLISH_CACHE.get(key)
    if method is None:
        method = publish_method_frame(channel, exchange, routing_key, mandatory, immediate)
    small = 0 < size <= _COPY_LIMIT and (not frame_max or size <= frame_max - FRAME_OVERHEAD)
    if properties is None:
        if small:  # the common case: one pack for the header frame and the body frame head
            head = EMPTY_HEADER_AND_BODY_HEAD.pack(
                FRAME_HEADER, channel, EMPTY_CONTENT_HEADER_SIZE, BASIC_CLASS_ID, 0, size, 0,
                FRAME_END, FRAME_BODY, channel, size,
            )  # fmt: skip
            return [b''.join((method, head, body, FRAME_END_BYTE))]  # type: ignore[arg-type]
        header = EMPTY_HEADER_FRAME.pack(
            FRAME_HEADER, channel, EMPTY_CONTENT_HEADER_SIZE, BASIC_CLASS_ID, 0, size, 0, FRAME_END
        )
        parts: list[BytesLike] = [method, header]
    else:
        pieces = properties.encode()
        props = pieces[0] + pieces[1] if len(pieces) == 2 else b''.join(pieces)
        head = CONTENT_HEADER_FRAME_HEAD.pack(
            FRAME_HEADER, channel, CONTENT_HEADER_FIXED_SIZE + len(props), BASIC_CLASS_ID, 0, size
        )
        if small:
            tail = END_AND_BODY_HEAD.pack(FRAME_END, FRAME_BODY, channel, size)
            return [b''.join((method, head, props, tail, body, FRAME_END_BYTE))]  # type: ignore[arg-type]
        parts = [method, head, props, FRAME_END_BYTE]
    if size == 0:
        return [b''.join(parts)]
    chunk = size if not frame_max else frame_max - FRAME_OVERHEAD
    if chunk <= 0:
        raise ValueError(f'frame_max {frame_max} leaves no room for a body fragment')
    return _publish_large_body(parts, channel, body, size, chunk)  # type: ignore[arg-type]


def _publish_large_body(
    parts: list[BytesLike], channel: int, body: BytesLike, size: int, chunk: int
) -> list[BytesLike]:
    """Frame a body that is split or too big to copy: headers joined, fragments referenced."""
    view = memoryview(body)
    out: list[BytesLike] = []
    for pos in range(0, size, chunk):
        length = min(chunk, size - pos)
        parts.append(FRAME_HEAD.pack(FRAME_BODY, channel, length))
        out.append(b''.join(parts))
        out.append(view[pos : pos + length])
        parts = [FRAME_END_BYTE]
    out.append(FRAME_END_BYTE)
    return out


# ------------------------------------------------------------------------------ the core's writers
# The connection core writes content frames straight into its ``bytearray`` with the cached
# ``struct.Struct`` objects of :mod:`pika._wire.constants`: no frame objects on the publish path.


def frame_too_large(what: str, frame_size: int, frame_max: int) -> exceptions.FrameTooLargeError:
    """The error for a frame we were asked to send that the broker would refuse (a method
    with large arguments, a content header with large headers): raised at the call."""
    return exceptions.FrameTooLargeError(
        f'{what} frame of {frame_size} bytes exceeds the negotiated frame_max {frame_max}'
    )


def encode_publish_method(channel: int, exchange: str, routing_key: str, mandatory: bool) -> bytes:
    """Return the complete Basic.Publish method frame (ticket 0, immediate off).

    The encoder (and its cache) is :func:`publish_method_frame`, shared with
    :func:`pika.frame.encode_publish`; callers may cache the result per
    (exchange, routing_key, mandatory): it does not depend on the message.
    """
    return publish_method_frame(channel, exchange, routing_key, mandatory, False)


def encode_properties(properties: Optional[spec.BasicProperties]) -> bytes:
    """Return the property flags and values of a content header (``None``: no properties)."""
    if properties is None:
        return NO_PROPERTIES
    encode = getattr(properties, 'encode', None)
    if encode is None:
        raise TypeError(f'properties must be BasicProperties, got {type(properties).__name__}')
    return b''.join(encode())


def append_header(out: bytearray, channel: int, properties: bytes, body_size: int) -> int:
    """Append one content header frame (class Basic) to ``out``; return the bytes written."""
    out += CONTENT_HEADER_FRAME_HEAD.pack(
        FRAME_HEADER, channel, CONTENT_HEADER_FIXED_SIZE + len(properties), BASIC_CLASS_ID, 0,
        body_size,
    )  # fmt: skip
    out += properties
    out += FRAME_END_BYTE
    return FRAME_OVERHEAD + CONTENT_HEADER_FIXED_SIZE + len(properties)


def body_frame_head(channel: int, size: int) -> bytes:
    """The head of a body frame of ``size`` payload bytes (:data:`FRAME_HEADER_SIZE` bytes;
    the payload and the frame-end octet follow)."""
    return FRAME_HEAD.pack(FRAME_BODY, channel, size)


def append_content(
    out: bytearray,
    channel: int,
    properties: bytes,
    body: BytesLike,
    max_payload: int,
) -> tuple[int, int]:
    """Append the content header and body frames of one message to ``out``.

    :param out: the connection's outbound buffer
    :param channel: channel number
    :param properties: encoded property flags and values (:func:`encode_properties`)
    :param body: the message body
    :param max_payload: largest body fragment per frame (frame_max - 8)
    :returns: ``(frames_written, bytes_written)``
    """
    size = len(body)
    written = append_header(out, channel, properties, size)
    if size == 0:
        return 1, written
    if size <= max_payload:
        out += FRAME_HEAD.pack(FRAME_BODY, channel, size)
        out += body
        out += FRAME_END_BYTE
        return 2, written + size + FRAME_OVERHEAD
    view = memoryview(body)
    frames = 1
    for pos in range(0, size, max_payload):
        chunk = view[pos : pos + max_payload]
        out += FRAME_HEAD.pack(FRAME_BODY, channel, len(chunk))
        out += chunk
        out += FRAME_END_BYTE
        frames += 1
    return frames, written + size + (frames - 1) * FRAME_OVERHEAD
