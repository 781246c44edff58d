"""Receive buffer: the unconsumed received bytes plus a read offset.

Frames are decoded in place with ``decode_frame(buf, offset, frame_max)``, so no bytes are copied
per frame; the consumed prefix is dropped once per ``receive_data`` call (``compact``), which
keeps the cost linear in the amount of data received instead of quadratic in frames per chunk.

Usually the bytes are decoded from an immutable ``bytes`` object: a read is taken as it is when
nothing is left over from the previous one, and joined with a small leftover (a frame cut by
the end of the previous read) otherwise. Slicing ``bytes`` makes one object where slicing a
``bytearray`` and converting makes two, and the consuming path slices every string and body.
A large leftover (a big message still arriving) is kept in a ``bytearray`` that later reads are
appended to, so such a message costs one copy of its bytes, not one per read.
"""

from __future__ import annotations

from typing import Union

__all__ = ['ReceiveBuffer']

BytesLike = Union[bytes, bytearray, memoryview]

#: Leftovers up to this size are joined with the next read into one ``bytes``; larger ones grow
#: in place in a ``bytearray``.
JOIN_LIMIT = 64 * 1024


class ReceiveBuffer:
    """Accumulates received bytes; ``data``/``offset`` are read directly by the decoder loop."""

    __slots__ = ('data', 'offset')

    def __init__(self) -> None:
        self.data: Union[bytes, bytearray] = b''
        self.offset: int = 0

    def feed(self, chunk: BytesLike) -> Union[bytes, bytearray]:
        """Append received bytes; return :attr:`data`, the buffer to decode from.

        The caller must not keep ``chunk``'s memory: it may be a view of a buffer the transport
        reuses, so it is always copied unless it is an immutable ``bytes`` taken as it is.
        """
        data = self.data
        if not data:
            data = chunk if type(chunk) is bytes else bytes(chunk)
        elif len(data) < JOIN_LIMIT:
            data = b''.join((data, chunk))
        else:
            if type(data) is bytes:
                data = bytearray(data)
            data += chunk
        self.data = data
        return data

    def keep(self, buf: Union[bytes, bytearray], offset: int) -> None:
        """After a decoding pass over ``buf`` (what :meth:`feed` returned, or a read decoded as
        it is while nothing was left over) up to ``offset``: keep the rest for the next read."""
        if offset < len(buf) or self.data:  # else nothing to keep and nothing to drop
            self.data = buf
            self.offset = offset
            self.compact()

    def compact(self) -> None:
        """Drop the consumed prefix (call once after a decoding pass)."""
        offset = self.offset
        if offset:
            data = self.data
            if offset >= len(data):
                self.data = b''
            elif type(data) is bytearray:
                del data[:offset]
            elif len(data) - offset < JOIN_LIMIT:
                self.data = data[offset:]
            else:  # a large message is arriving: later reads are appended in place
                self.data = bytearray(memoryview(data)[offset:])
            self.offset = 0

    def clear(self) -> None:
        """Forget everything (after a fatal framing error or once closed)."""
        self.data = b''
        self.offset = 0

    def __len__(self) -> int:
        """Number of unconsumed bytes."""
        return len(self.data) - self.offset
