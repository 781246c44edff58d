"""A stream protocol for tests of ``pika.adapters.utils``' streams against a real broker."""

from __future__ import annotations

from typing import Callable, Optional

from pika import frame, spec
from pika.adapters.utils import nbio_interface

__all__ = ['ConnectionStartProbe']


class ConnectionStartProbe(nbio_interface.AbstractStreamProtocol):
    """Sends the AMQP protocol header once the stream is made, notes whether the broker's first
    frame is Connection.Start (``start``), then aborts the stream. Each ``connection_lost``
    error is appended to ``lost`` and ``on_lost()`` runs (a test stops its loop there).

    The check is recorded rather than asserted: an assertion inside a loop callback would not
    reach the test.
    """

    def __init__(self, on_lost: Callable[[], None]) -> None:
        self.on_lost = on_lost
        self.transport: Optional[nbio_interface.AbstractStreamTransport] = None
        self.received = b''
        self.start: Optional[bool] = None
        self.lost: list[Optional[BaseException]] = []

    def connection_made(self, transport: nbio_interface.AbstractStreamTransport) -> None:
        self.transport = transport
        transport.write(frame.ProtocolHeader().marshal())

    def data_received(self, data: bytes) -> None:
        self.received += data
        consumed, decoded = frame.decode_frame(self.received)
        if consumed and self.start is None:
            self.start = isinstance(decoded, frame.Method) and isinstance(
                decoded.method, spec.Connection.Start
            )
            assert self.transport is not None
            self.transport.abort()

    def eof_received(self) -> Optional[bool]:
        return None

    def connection_lost(self, error: Optional[BaseException]) -> None:
        self.lost.append(error)
        self.on_lost()
