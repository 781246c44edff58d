"""Content (message) handling: assembling inbound messages and encoding outbound frames.

Inbound, a message is a content method (Basic.Deliver, Basic.Return, Basic.GetOk) followed by a
content header frame (body size + properties) and zero or more body frames. The
:class:`ContentAssembler` collects the fragments in a list and joins them once, so a body of
``n`` frames costs ``O(size)`` rather than ``O(n * size)``; small fragments are appended to one
``bytearray`` in that list instead, so a body costs about its size in memory whatever its
frame sizes (a ``bytes`` object per one-byte fragment would cost some 40 times the body).

Outbound, the functions here write frames straight into the connection's ``bytearray`` with
cached ``struct.Struct`` objects: no frame objects are built on the publish path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika import exceptions
from pika._wire.constants import (
    BASIC_CLASS_ID,
    CONTENT_HEADER_FIXED_SIZE,
    CONTENT_HEADER_FRAME_HEAD,
    FRAME_BODY,
    FRAME_END,
    FRAME_END_BYTE,
    FRAME_HEAD,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_OVERHEAD,
    NO_FRAME_LIMIT,
    NO_PROPERTIES,
)
from pika._wire.encode import encode_method, publish_method_frame

if TYPE_CHECKING:
    from pika import spec

__all__ = [
    'ContentAssembler',
    'append_content',
    'append_header',
    'body_frame_head',
    'encode_method',
    'encode_publish_method',
    'frame_too_large',
]

BytesLike = Union[bytes, bytearray, memoryview]

_HEADER_HEAD = CONTENT_HEADER_FRAME_HEAD
_BODY_HEAD = FRAME_HEAD


def frame_too_large(what: str, frame_size: int, frame_max: int) -> exceptions.FrameTooLargeError:
    """The error for a frame we were asked to send that the broker would refuse (a method
    with large arguments, a content header with large headers): raised at the call."""
    return exceptions.FrameTooLargeError(
        f'{what} frame of {frame_size} bytes exceeds the negotiated frame_max {frame_max}'
    )


def encode_publish_method(channel: int, exchange: str, routing_key: str, mandatory: bool) -> bytes:
    """Return the complete Basic.Publish method frame (ticket 0, immediate off).

    The encoder (and its cache) is :mod:`pika._wire.encode`'s, shared with
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
    out += _HEADER_HEAD.pack(
        FRAME_HEADER, channel, CONTENT_HEADER_FIXED_SIZE + len(properties), BASIC_CLASS_ID, 0,
        body_size,
    )  # fmt: skip
    out += properties
    out += FRAME_END_BYTE
    return FRAME_OVERHEAD + CONTENT_HEADER_FIXED_SIZE + len(properties)


def body_frame_head(channel: int, size: int) -> bytes:
    """The 7 bytes that start a body frame of ``size`` payload bytes (the payload and the
    frame-end octet follow)."""
    return _BODY_HEAD.pack(FRAME_BODY, channel, size)


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
        out += _BODY_HEAD.pack(FRAME_BODY, channel, size)
        out += body
        out += FRAME_END_BYTE
        return 2, written + size + FRAME_OVERHEAD
    view = memoryview(body)
    frames = 1
    for pos in range(0, size, max_payload):
        chunk = view[pos : pos + max_payload]
        out += _BODY_HEAD.pack(FRAME_BODY, channel, len(chunk))
        out += chunk
        out += FRAME_END_BYTE
        frames += 1
    return frames, written + size + (frames - 1) * FRAME_OVERHEAD


#: Bodies at least this large are taken whole from the receive buffer (:func:`collect_body`).
LARGE_BODY_MIN = 64 * 1024
#: ... and at most this large: the body frames are rescanned on every read until the last one
#: is in, which stays negligible up to here; bigger bodies are assembled frame by frame.
LARGE_BODY_MAX = 64 * 1024 * 1024
#: Body fragments shorter than this are appended to a ``bytearray`` by the assembler rather
#: than kept as objects of their own (about 40 bytes each: at most 4% over the body here).
_COALESCE_BELOW = 1024


#: Bytes :func:`peek_body_size` needs to see.
HEADER_PEEK_SIZE = _HEADER_HEAD.size


def peek_body_size(buf: BytesLike, offset: int, channel: int) -> int:
    """Body size announced by the content header frame of ``channel`` at ``offset``, or -1 when
    no complete header frame start is there (the full decode and its checks come later)."""
    if len(buf) - offset < _HEADER_HEAD.size:
        return -1
    kind, number, _size, _class, _weight, body_size = _HEADER_HEAD.unpack_from(buf, offset)
    if kind != FRAME_HEADER or number != channel:
        return -1
    return int(body_size)


def scan_body_frames(
    buf: BytesLike,
    position: int,
    channel: int,
    body_size: int,
    frame_max: Optional[int],
    spans: list[tuple[int, int]],
    received: int = 0,
) -> Optional[tuple[int, int]]:
    """Check the body frames of ``channel`` from ``position`` on, up to the first incomplete
    one or until ``body_size`` bytes of body are in; append each frame's payload span to
    ``spans``. Resumable: pass back the returned position and count with the same ``spans``.

    :returns: ``(position after the last complete frame, body bytes received)``; None as soon
        as anything but a plain body frame of ``channel`` shows up (another frame, a size or
        frame-end problem), for the caller to decode frame by frame
    """
    limit = frame_max - FRAME_OVERHEAD if frame_max else NO_FRAME_LIMIT
    total = len(buf)
    while received < body_size and total - position >= FRAME_HEADER_SIZE:
        kind, number, size = _BODY_HEAD.unpack_from(buf, position)
        if kind != FRAME_BODY or number != channel or not 0 < size <= limit:
            return None
        if received + size > body_size:
            return None
        start = position + FRAME_HEADER_SIZE
        end = start + size  # the frame-end octet
        if end >= total:
            break
        if buf[end] != FRAME_END:
            return None
        spans.append((start, end))
        received += size
        position = end + 1
    return position, received


def join_spans(buf: BytesLike, spans: list[tuple[int, int]]) -> bytes:
    """The body: the payload spans of ``buf`` joined (its one copy)."""
    with memoryview(buf) as view:
        return b''.join([view[start:end] for start, end in spans])


def collect_body(
    buf: BytesLike, offset: int, channel: int, body_size: int, frame_max: Optional[int]
) -> Union[tuple[int, bytes], int, None]:
    """Take a whole message body, spread over body frames, straight from the receive buffer.

    Joining the fragments' memoryviews costs one copy of the body, where decoding frame by
    frame copies each fragment out and then joins them (two copies, plus a bytes object per
    frame). Only plain body frames of ``channel`` qualify.

    :returns: ``(offset after the last body frame, body)`` when the whole body is there; ``0``
        while everything so far is well formed but bytes are missing (wait for more); ``None``
        when anything else shows up (another frame, a size or frame-end problem): the caller
        then decodes frame by frame, which reports errors exactly as usual.
    """
    spans: list[tuple[int, int]] = []
    found = scan_body_frames(buf, offset, channel, body_size, frame_max, spans)
    if found is None:
        return None
    position, received = found
    if received < body_size:
        return 0
    return position, join_spans(buf, spans)


class ContentAssembler:
    """Collects method + header + body frames of one inbound message.

    ``active`` is true between the content method and the last body fragment. Protocol
    violations raise :class:`pika.exceptions.UnexpectedFrameError` (header/body out of order) or
    :class:`pika.exceptions.BodyTooLongError` (more body bytes than announced); the channel turns
    both into a 505 UNEXPECTED_FRAME connection close.
    """

    __slots__ = ('_chunks', '_received', 'active', 'body_size', 'method', 'properties')

    def __init__(self) -> None:
        self.active: bool = False
        self.method: Any = None
        self.properties: Any = None
        self.body_size: int = -1  # -1: header not received yet
        self._received = 0
        self._chunks: list[Union[bytes, bytearray]] = []

    def start(self, method: Any) -> None:
        """Begin a message with its content method."""
        self.active = True
        self.method = method
        self.properties = None
        self.body_size = -1
        self._received = 0
        self._chunks = []

    def on_header(self, body_size: int, properties: Any) -> Optional[bytes]:
        """Accept the content header; return the body (``b''``) if the message is complete."""
        if self.body_size != -1:
            raise exceptions.UnexpectedFrameError('second content header for one message')
        self.body_size = body_size
        self.properties = properties
        if body_size == 0:
            self.active = False
            return b''
        return None

    def on_body(self, fragment: bytes) -> Optional[bytes]:
        """Accept one body fragment; return the whole body once it is complete."""
        if self.body_size == -1:
            raise exceptions.UnexpectedFrameError('content body frame before the content header')
        received = self._received + len(fragment)
        if received > self.body_size:
            raise exceptions.BodyTooLongError(received, self.body_size)
        if received == self.body_size:
            self.active = False
            if not self._chunks:
                return fragment
            self._chunks.append(fragment)
            body = b''.join(self._chunks)
            self._chunks = []
            return body
        self._received = received
        chunks = self._chunks
        if len(fragment) >= _COALESCE_BELOW:
            chunks.append(fragment)
        elif chunks and type(chunks[-1]) is bytearray:
            chunks[-1] += fragment
        else:
            chunks.append(bytearray(fragment))
        return None
