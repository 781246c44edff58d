"""The connection's outbound queue: one ``bytearray`` of frames, plus referenced large bodies.

Small frames are appended to :attr:`Output.buffer`. A large ``bytes`` body is not copied: the
buffer so far (ending with the body frame's 7-byte header) moves to :attr:`Output.parts`,
followed by the body itself (or memoryview slices of it, one per body frame), and a fresh buffer
starts with the frame-end octet. :meth:`Output.take_parts` hands the whole sequence to a
transport that can write a vector (``socket.sendmsg``); :meth:`Output.take` joins it for the
others.
"""

from __future__ import annotations

from typing import Union

from pika._core import content
from pika._wire.constants import FRAME_END_BYTE, FRAME_OVERHEAD

__all__ = ['Output']

BytesLike = Union[bytes, bytearray, memoryview]


class Output:
    """Bytes queued for the broker, in order: ``parts`` first, then ``buffer``."""

    __slots__ = ('buffer', 'parts', 'parts_size')

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.parts: list[BytesLike] = []
        self.parts_size = 0

    def take(self) -> Union[bytes, bytearray]:
        """Everything queued, as one buffer (joined only when bodies were referenced)."""
        if self.parts:
            return b''.join(self.take_parts())
        out = self.buffer
        if out:
            self.buffer = bytearray()
        return out

    def take_parts(self) -> list[BytesLike]:
        """Everything queued, as a list of buffers to write in order."""
        parts = self.parts
        out = self.buffer
        if parts:
            self.parts = []
            self.parts_size = 0
            if out:
                parts.append(out)
                self.buffer = bytearray()
            return parts
        if out:
            self.buffer = bytearray()
            return [out]
        return []

    def queue_body_refs(self, channel: int, body: bytes, max_payload: int) -> tuple[int, int]:
        """Queue the body frames of an immutable body by reference; the content header must
        already be in :attr:`buffer`. Returns ``(frames, bytes)`` queued."""
        size = len(body)
        parts = self.parts
        out = self.buffer
        view = memoryview(body) if size > max_payload else None
        frames = 0
        for pos in range(0, size, max_payload):
            chunk: BytesLike = body if view is None else view[pos : pos + max_payload]
            out += content.body_frame_head(channel, len(chunk))
            parts.append(out)
            parts.append(chunk)
            self.parts_size += len(out) + len(chunk)
            out = bytearray(FRAME_END_BYTE)
            frames += 1
        self.buffer = out
        return frames, size + frames * FRAME_OVERHEAD
