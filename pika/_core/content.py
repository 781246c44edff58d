"""Assembling inbound messages from their frames (the state a channel keeps between them).

A message is a content method (Basic.Deliver, Basic.Return, Basic.GetOk) followed by a content
header frame (body size + properties) and zero or more body frames. The
:class:`ContentAssembler` collects the fragments in a list and joins them once, so a body of
``n`` frames costs ``O(size)`` rather than ``O(n * size)``; small fragments are appended to one
``bytearray`` in that list instead, so a body costs about its size in memory whatever its
frame sizes (a ``bytes`` object per one-byte fragment would cost some 40 times the body).

The frame formats themselves live in :mod:`pika._wire`: outbound content frames in
:mod:`pika._wire.encode`, body frames taken straight from the receive buffer in
:mod:`pika._wire.bodies`. The size thresholds below are the core's policy for the latter.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pika import exceptions

__all__ = ['LARGE_BODY_MAX', 'LARGE_BODY_MIN', 'ContentAssembler']


#: Bodies at least this large are taken whole from the receive buffer
#: (:func:`pika._wire.bodies.collect_body`).
LARGE_BODY_MIN = 64 * 1024
#: ... and at most this large: the body frames are rescanned on every read until the last one
#: is in, which stays negligible up to here; bigger bodies are assembled frame by frame.
LARGE_BODY_MAX = 64 * 1024 * 1024
#: Body fragments shorter than this are appended to a ``bytearray`` by the assembler rather
#: than kept as objects of their own (about 40 bytes each: at most 4% over the body here).
_COALESCE_BELOW = 1024


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
