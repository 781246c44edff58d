"""A `pika.aio` connection without a socket: a backend whose transport records what the client
writes, and a scripted broker that answers through `Connection.data_received`.

For unit tests of `pika.aio`'s connection and channel logic (late replies, requeues, timers)
and for the offline benchmark of its hot paths (`bench/aio_offline.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika import spec
from pika.aio.backend import AsyncioBackend
from pika.aio.connection import Connection
from tests.helpers import server_frames as sf

if TYPE_CHECKING:
    from pika._parameters import Parameters
    from pika.aio.backend import Sink, Transport


class RecordingTransport:
    """A `Transport` keeping what was written; ``close``/``abort`` report the loss to the sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.written = bytearray()
        self.closed = False

    def write(self, data: Union[bytes, bytearray, memoryview], /) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0

    def take(self) -> bytes:
        """What was written since the last call."""
        out = bytes(self.written)
        self.written.clear()
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sink.connection_lost(None)

    def abort(self) -> None:
        self.close()


class FakeBackend(AsyncioBackend):
    """`AsyncioBackend` whose ``open_transport`` connects to nothing: the test is the broker."""

    def __init__(self) -> None:
        super().__init__()
        self.transport: Optional[RecordingTransport] = None

    async def open_transport(
        self, params: Parameters, sink: Sink, timeout: Optional[float]
    ) -> Transport:
        self.transport = RecordingTransport(sink)
        self.call_soon(lambda: sink.data_received(sf.start() + sf.tune(heartbeat=0) + sf.open_ok()))
        return self.transport


async def open_connection(**params: Any) -> tuple[Connection, FakeBackend]:
    """An open connection on a `FakeBackend` (its handshake output already taken)."""
    import pika

    params.setdefault('heartbeat', 0)
    backend = FakeBackend()
    conn = await Connection.open(pika.ConnectionParameters(**params), backend, 5.0)
    assert backend.transport is not None
    backend.transport.take()
    return conn, backend


def sent_methods(transport: RecordingTransport) -> list[Any]:
    """The methods the client wrote since the last call."""
    return sf.methods(transport.take())


def consume_ok(channel: int, tag: str) -> bytes:
    return sf.method(channel, spec.Basic.ConsumeOk(tag))


async def open_channel(conn: Connection, number: int = 1) -> Any:
    """Open channel ``number`` on a `FakeBackend` connection (the broker's OpenOk fed in)."""
    import asyncio

    task = asyncio.ensure_future(conn.channel(number))
    await asyncio.sleep(0)
    conn.data_received(sf.channel_open_ok(number))
    return await task
