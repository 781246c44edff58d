"""A large inbound message read in place: its body frames land in one buffer allocated for them.

Why: a 1 MiB message read the ordinary way is copied three times and a half: from the socket
into the transport's read buffer, from there into the receive buffer, out of the frames into
the body, plus moving the leftover of each read to the front. Once the content header of a
large message has been decoded, its size is known, so the core allocates one ``bytearray`` for
the body frames and lets the transport read straight into it (:meth:`LargeMessage.room`, the
sans-I/O counterpart of asyncio's ``BufferedProtocol.get_buffer``). The body is then copied once
more, out of the frames. Transports that cannot read into a given buffer still benefit: their
chunks are copied into the same buffer, with no leftover moved around. The size announced in
the header is only a claim: the buffer starts at :data:`FIRST_BUFFER_MAX` at most and doubles
as the frames fill it, so memory follows the bytes received, never the claim alone.

Once a message is complete, its body and whatever followed it have been copied out, so the
core keeps the buffer and reuses it for the next large message (:meth:`LargeMessage.release`):
a stream of 1 MiB messages then allocates and zeroes no buffer per message. Buffers above
:data:`SPARE_MAX` are not kept.

The buffer holds a little more than the frames (:data:`LOOKAHEAD`), so the read that completes
the message usually also brings the next message's method and header frames, and a stream of
large messages stays on this path. When the bytes are not what was expected (a frame of another
type or channel between the body frames, a bad size or frame end), the core gives everything
back to the ordinary frame-by-frame decoder (:meth:`LargeMessage.everything`), which reports
errors exactly as usual.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pika._wire.bodies import join_spans, scan_body_frames
from pika._wire.constants import FRAME_OVERHEAD

__all__ = [
    'FIRST_BUFFER_MAX',
    'IN_PLACE_MIN',
    'LOOKAHEAD',
    'SPARE_MAX',
    'LargeMessage',
    'body_frames_size',
]

BytesLike = Union[bytes, bytearray, memoryview]

#: Bodies at least this large, still arriving when their header is decoded, are read in place.
IN_PLACE_MIN = 256 * 1024
#: Bytes of room beyond the body frames, for the start of whatever follows the message.
LOOKAHEAD = 4096
#: The largest buffer kept for the next large message (one per connection).
SPARE_MAX = 8 * 1024 * 1024
#: The most allocated for a message before its body frames arrive. A larger body's buffer
#: starts at this size and doubles as it fills, up to the size of all its frames: a content
#: header announcing 64 MiB costs the memory its sender actually sends, not 64 MiB at once
#: (amortised, the body is copied once more, which the read-in-place saving still outweighs).
FIRST_BUFFER_MAX = 1024 * 1024


def body_frames_size(body_size: int, frame_max: Optional[int]) -> int:
    """The fewest bytes that ``body_size`` bytes of body frames can take (every frame full)."""
    if not frame_max:
        return body_size + FRAME_OVERHEAD
    per_frame = frame_max - FRAME_OVERHEAD
    frames = -(-body_size // per_frame)
    return body_size + frames * FRAME_OVERHEAD


class LargeMessage:
    """A content method and header already decoded, whose body frames are still arriving.

    ``view[:filled]`` holds the body frames received so far (and perhaps what follows them).
    Every complete frame header is checked as soon as it arrives (``scanned``), so a frame that
    is not a body frame of the channel (say, Connection.Close) is handed back at once, as the
    ordinary decoder would handle it. The buffer is never resized, only replaced, so the
    transport may hold a view of it.
    """

    __slots__ = (
        'body_size',
        'channel',
        'filled',
        'frame_max',
        'method',
        'planned',
        'prefix',
        'properties',
        'received',
        'scanned',
        'spans',
        'view',
    )

    def __init__(
        self,
        channel: Any,
        method: Any,
        properties: Any,
        body_size: int,
        prefix: bytes,
        first: BytesLike,
        frame_max: Optional[int],
        spare: Optional[bytearray] = None,
    ) -> None:
        """
        :param channel: the ``ChannelCore`` the message is for
        :param prefix: the method and header frames as received (for :meth:`everything`)
        :param first: the body frame bytes received with them
        :param spare: a previous message's buffer (:meth:`release`), used if large enough
        """
        self.channel: Any = channel
        self.method: Any = method
        self.properties: Any = properties
        self.body_size: int = body_size
        self.prefix: bytes = prefix
        self.frame_max: Optional[int] = frame_max
        #: the room all the body frames take when each is full, and the start of what follows
        self.planned: int = max(body_frames_size(body_size, frame_max), len(first)) + LOOKAHEAD
        size = min(self.planned, max(FIRST_BUFFER_MAX, len(first) + LOOKAHEAD))
        if spare is not None and len(spare) >= size:
            # no allocation, no zeroing; all of it, up to what the frames take
            self.view: memoryview = memoryview(spare)[: min(len(spare), self.planned)]
        else:
            self.view = memoryview(bytearray(size))
        self.filled: int = len(first)
        self.view[: self.filled] = first
        self.scanned: int = 0  # offset of the first body frame not yet checked
        self.received: int = 0  # body bytes in the checked frames
        self.spans: list[tuple[int, int]] = []  # (start, end) of each checked frame's payload

    def room(self) -> memoryview:
        """Where the next received bytes go (never empty)."""
        return self.view[self.filled :]

    def append(self, data: BytesLike) -> Optional[memoryview]:
        """Copy as much of ``data`` as fits; return the rest (None when all of it fitted)."""
        filled = self.filled
        room = len(self.view) - filled
        size = len(data)
        if size <= room:
            self.view[filled : filled + size] = data
            self.filled = filled + size
            return None
        with memoryview(data) as whole:
            self.view[filled:] = whole[:room]
            rest = whole[room:]
        self.filled = filled + room
        return rest

    def outcome(self) -> Union[tuple[bytes, bytes], int, None]:
        """``(body, what followed it)`` once the body is complete; 0 while bytes are missing
        (the buffer then has room for them); None as soon as the bytes are not plain body
        frames of the channel (hand :meth:`everything` to the frame-by-frame decoder)."""
        view = self.view
        filled = self.filled
        found = scan_body_frames(
            view[:filled],
            self.scanned,
            self.channel.channel_number,
            self.body_size,
            self.frame_max,
            self.spans,
            self.received,
        )
        if found is None:
            return None
        self.scanned, self.received = found
        if self.received < self.body_size:
            if filled == len(view):  # frames smaller than frame_max: more bytes to come
                self._grow()
            return 0
        return join_spans(view, self.spans), bytes(view[self.scanned : filled])

    def release(self) -> Optional[bytearray]:
        """Give up the buffer for the next large message, once :meth:`outcome` or
        :meth:`everything` has copied out all it holds; None if it is above :data:`SPARE_MAX`.
        A transport must not write into a view it was given before (it never does: it reads
        into the buffer only between :meth:`room` and the call that reports the read)."""
        buffer = self.view.obj
        self.view = memoryview(b'')
        if isinstance(buffer, bytearray) and len(buffer) <= SPARE_MAX:
            return buffer
        return None

    def everything(self) -> bytes:
        """All the bytes received for this message and after it, from the method frame on."""
        return self.prefix + bytes(self.view[: self.filled])

    def _grow(self) -> None:
        """Make room once the buffer is full: double it up to :attr:`planned`, or beyond that
        (the frames turned out smaller than ``frame_max``) add an eighth of the body. Either
        way the new size is proportional to what was received. The buffer is extended in place
        when no view of it is held elsewhere (``realloc``: usually no copy), else replaced by a
        copy."""
        filled = self.filled
        if filled < self.planned:
            size = min(self.planned, 2 * filled)
        else:
            size = filled + max(self.body_size // 8, 65536) + LOOKAHEAD
        buffer = self.view.obj
        if isinstance(buffer, bytearray) and len(self.view) == len(buffer):
            self.view.release()
            try:
                buffer += bytes(size - len(buffer))
            except BufferError:  # a transport still holds a view of it: copy instead
                pass
            else:
                self.view = memoryview(buffer)
                return
            self.view = memoryview(buffer)
        bigger = memoryview(bytearray(size))
        bigger[:filled] = self.view[:filled]
        self.view = bigger
