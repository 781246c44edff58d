"""Body frames read straight from the receive buffer: a large message's body in one copy.

Decoding frame by frame copies each body fragment out of the buffer and then joins them: two
copies and a ``bytes`` object per frame. The functions here check a run of plain body frames of
one channel in place (:func:`scan_body_frames`, resumable across reads) and join the payload
spans once (:func:`join_spans`). Anything but well-formed body frames of that channel makes them
step aside (return None), and the caller decodes frame by frame, which reports errors as usual.
When the core uses them is its own policy (``pika._core.receiving``, ``pika._core.large_message``).
"""

from __future__ import annotations

from typing import Optional, Union

from pika._wire.constants import (
    CONTENT_HEADER_FRAME_HEAD,
    FRAME_BODY,
    FRAME_END,
    FRAME_HEAD,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_OVERHEAD,
    NO_FRAME_LIMIT,
)

__all__ = ['HEADER_PEEK_SIZE', 'collect_body', 'join_spans', 'peek_body_size', 'scan_body_frames']

BytesLike = Union[bytes, bytearray, memoryview]

#: Bytes :func:`peek_body_size` needs to see.
HEADER_PEEK_SIZE = CONTENT_HEADER_FRAME_HEAD.size


def peek_body_size(buf: BytesLike, offset: int, channel: int) -> int:
    """Body size announced by the content header frame of ``channel`` at ``offset``, or -1 when
    no complete header frame start is there (the full decode and its checks come later)."""
    if len(buf) - offset < CONTENT_HEADER_FRAME_HEAD.size:
        return -1
    kind, number, _size, _class, _weight, body_size = CONTENT_HEADER_FRAME_HEAD.unpack_from(
        buf, offset
    )
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
        kind, number, size = FRAME_HEAD.unpack_from(buf, position)
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
