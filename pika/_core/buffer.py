"""Receive buffer: a ``bytearray`` plus a read offset.

Frames are decoded in place with ``decode_frame(buf, offset, frame_max)``, so no bytes are copied
per frame; the consumed prefix is deleted once per ``receive_data`` call (``compact``), which
keeps the cost linear in the amount of data received instead of quadratic in frames per chunk.
"""

from __future__ import annotations

from typing import Union

__all__ = ['ReceiveBuffer']


class ReceiveBuffer:
    """Accumulates received bytes; ``data``/``offset`` are read directly by the decoder loop."""

    __slots__ = ('data', 'offset')

    def __init__(self) -> None:
        self.data = bytearray()
        self.offset = 0

    def feed(self, chunk: Union[bytes, bytearray, memoryview]) -> None:
        """Append received bytes."""
        self.data += chunk

    def compact(self) -> None:
        """Drop the consumed prefix (call once after a decoding pass)."""
        if self.offset:
            if self.offset >= len(self.data):
                self.data = bytearray()
            else:
                del self.data[: self.offset]
            self.offset = 0

    def clear(self) -> None:
        """Forget everything (after a fatal framing error or once closed)."""
        self.data = bytearray()
        self.offset = 0

    def __len__(self) -> int:
        """Number of unconsumed bytes."""
        return len(self.data) - self.offset
