"""Output the socket has not taken yet, shared by the SelectConnection family and the blocking pump.

The core hands out its output as a list of buffers (large message bodies by reference, see
``pika._core.output``). They wait here as they are, with an offset into the first: a partial
send costs an integer update, never a copy, however large the backlog, and up to
:data:`IOV_BATCH` buffers go to the kernel in one gathered write (``sendmsg``). Joining them, or
keeping one ``bytearray`` and deleting what was sent from its front, would copy every large body
once more, or many times over while the socket drains slowly.
"""

from __future__ import annotations

import collections
import ssl
from typing import TYPE_CHECKING, Union

from pika.adapters._io import transport as _transport

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterable

__all__ = ['IOV_BATCH', 'SendQueue']

BytesLike = Union[bytes, bytearray, memoryview]

IOV_BATCH = 64  # buffers per sendmsg (well under IOV_MAX)


class SendQueue:
    """Buffers waiting for the socket, in order; ``offset`` bytes of the first are already sent."""

    __slots__ = ('offset', 'parts', 'size')

    def __init__(self) -> None:
        self.parts: collections.deque[BytesLike] = collections.deque()
        self.offset: int = 0
        self.size: int = 0  # bytes still to send

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    def extend(self, parts: Iterable[BytesLike], sent: int = 0) -> None:
        """Queue ``parts`` behind what waits; ``sent`` bytes of the first one already went out
        (only when nothing was waiting: a send offered it directly)."""
        queue = self.parts
        for part in parts:
            size = len(part)
            if size:
                queue.append(part)
                self.size += size
        if sent:
            self.offset += sent
            self.size -= sent

    def send(self, sock: socket.socket) -> bool:
        """Write queued buffers until the socket takes less than offered; True when all went.

        TLS sockets cannot gather, so they get one buffer per write.

        :raises pika.exceptions.StreamLostError: the socket failed
        """
        queue = self.parts
        limit = 1 if isinstance(sock, ssl.SSLSocket) else IOV_BATCH
        while queue:
            offset = self.offset
            head = queue[0]
            first = len(head) - offset
            batch = [memoryview(head)[offset:] if offset else head]
            offered = first
            for index in range(1, min(len(queue), limit)):
                part = queue[index]
                batch.append(part)
                offered += len(part)
            sent = _transport.send_vector(sock, batch)
            self.size -= sent
            if sent < first:
                self.offset = offset + sent
            else:
                rest = sent - first
                queue.popleft()
                while queue and rest >= len(queue[0]):
                    rest -= len(queue.popleft())
                self.offset = rest
            if sent < offered:
                return False
        return True

    def take(self) -> bytes:
        """Everything still to send, joined; the queue is left empty (for a last write)."""
        data = b''.join(self.parts)[self.offset :]
        self.clear()
        return data

    def clear(self) -> None:
        """Forget everything queued."""
        self.parts.clear()
        self.offset = 0
        self.size = 0
