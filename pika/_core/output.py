"""The connection's outbound side: frames queued for the broker, and what was queued so far.

:class:`Output` is the one writer of a connection: the connection core and each channel core
hold it and queue their frames through it (:meth:`Output.write`, :meth:`Output.send_method`,
:meth:`Output.send_publish`; the hottest channel paths append to :attr:`Output.buffer` and bump
the counters themselves, which is the same thing without the call). It also holds the limit
every outbound frame must respect (:attr:`Output.max_payload`, from the negotiated
``frame_max``) and the counters the backpressure rule and the heartbeat use.

Small frames are appended to :attr:`Output.buffer`. A large ``bytes`` body is not copied: the
buffer so far (ending with the body frame's 7-byte header) moves to :attr:`Output.parts`,
followed by the body itself (or memoryview slices of it, one per body frame), and a fresh buffer
starts with the frame-end octet. :meth:`Output.take_parts` hands the whole sequence to a
transport that can write a vector (``socket.sendmsg``); :meth:`Output.take` joins it for the
others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika._wire.constants import (
    CONTENT_HEADER_FIXED_SIZE,
    FRAME_END_BYTE,
    FRAME_OVERHEAD,
    NO_FRAME_LIMIT,
)
from pika._wire.encode import (
    append_content,
    append_header,
    body_frame_head,
    encode_method,
    encode_properties,
    frame_too_large,
)

if TYPE_CHECKING:
    from pika import spec

__all__ = ['Output']

BytesLike = Union[bytes, bytearray, memoryview]

# Bodies of at least this many bytes are queued by reference (see queue_body_refs): copying them
# would cost more than one more buffer in the transport's write vector.
_BODY_REF_MIN = 32 * 1024


class Output:
    """Bytes queued for the broker, in order: ``parts`` first, then ``buffer``.

    :param frame_max: the frame size limit until the broker's Connection.Tune (see
        :meth:`set_frame_max`)
    """

    __slots__ = (
        'buffer',
        'bytes_queued_total',
        'frame_max',
        'frames_sent',
        'max_payload',
        'parts',
        'parts_size',
    )

    def __init__(self, frame_max: int) -> None:
        self.buffer: bytearray = bytearray()
        self.parts: list[BytesLike] = []
        self.parts_size: int = 0
        #: frames and bytes queued since creation (the backpressure rule uses their ratio)
        self.frames_sent: int = 0
        self.bytes_queued_total: int = 0
        self.frame_max: int = frame_max
        #: The largest payload one outbound frame may carry: ``frame_max`` less the frame
        #: overhead. A frame above it would make the broker close the connection.
        self.max_payload: int = frame_max - FRAME_OVERHEAD

    def set_frame_max(self, frame_max: int) -> None:
        """Apply the negotiated ``frame_max`` (0: unlimited) to every later frame."""
        self.frame_max = frame_max
        self.max_payload = (frame_max or NO_FRAME_LIMIT) - FRAME_OVERHEAD

    # ----------------------------------------------------------------- queueing

    def write(self, data: bytes, frames: int) -> None:
        """Queue ``data``, which holds ``frames`` whole frames."""
        self.buffer += data
        self.frames_sent += frames
        self.bytes_queued_total += len(data)

    def send_method(self, channel_number: int, method: Any) -> None:
        """Queue one method frame (raises before queueing anything if it cannot encode)."""
        data = encode_method(channel_number, method)
        self.buffer += data
        self.frames_sent += 1
        self.bytes_queued_total += len(data)

    def send_publish(
        self,
        channel_number: int,
        method_frame: bytes,
        properties: Optional[spec.BasicProperties],
        body: BytesLike,
    ) -> None:
        """Queue an encoded Basic.Publish frame, the content header and the body frames.

        :raises FrameTooLargeError: the properties do not fit one frame (nothing is queued)
        """
        encoded_properties = encode_properties(properties)  # may raise: nothing written yet
        header_size = len(encoded_properties) + CONTENT_HEADER_FIXED_SIZE
        max_payload = self.max_payload
        if header_size > max_payload:  # one header frame holds them all
            raise frame_too_large('content header', header_size + FRAME_OVERHEAD, self.frame_max)
        out = self.buffer
        out += method_frame
        if len(body) >= _BODY_REF_MIN and type(body) is bytes:
            written = append_header(out, channel_number, encoded_properties, len(body))
            frames, body_written = self.queue_body_refs(channel_number, body, max_payload)
            frames += 1
            written += body_written
        else:
            frames, written = append_content(
                out, channel_number, encoded_properties, body, max_payload
            )
        self.frames_sent += frames + 1
        self.bytes_queued_total += written + len(method_frame)

    def queue_body_refs(self, channel: int, body: bytes, max_payload: int) -> tuple[int, int]:
        """Queue the body frames of an immutable body by reference; the content header must
        already be in :attr:`buffer`. Returns ``(frames, bytes)`` queued (the counters are the
        caller's to update)."""
        size = len(body)
        parts = self.parts
        out = self.buffer
        view = memoryview(body) if size > max_payload else None
        frames = 0
        for pos in range(0, size, max_payload):
            chunk: BytesLike = body if view is None else view[pos : pos + max_payload]
            out += body_frame_head(channel, len(chunk))
            parts.append(out)
            parts.append(chunk)
            self.parts_size += len(out) + len(chunk)
            out = bytearray(FRAME_END_BYTE)
            frames += 1
        self.buffer = out
        return frames, size + frames * FRAME_OVERHEAD

    # ----------------------------------------------------------------- draining

    def __len__(self) -> int:
        """Bytes queued and not yet taken."""
        return len(self.buffer) + self.parts_size

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
