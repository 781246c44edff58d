"""The callback ``Connection`` with no socket: the test is its transport.

Unit tests of the callback ``Channel`` open one with :func:`open_channel` and read what the
client would have sent with :meth:`LoopbackConnection.sent`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pika
from pika.connection import Connection
from tests.helpers import server_frames as sf

if TYPE_CHECKING:
    from pika.channel import Channel


class LoopbackConnection(Connection):
    """A `Connection` whose transport is this test: output is collected, timers are a list."""

    def __init__(self) -> None:
        super().__init__(pika.ConnectionParameters())
        self.timers: list[object] = []
        self.transport_closed = False

    def _output_ready(self) -> None:
        pass

    def _close_transport(self) -> None:
        self.transport_closed = True

    def call_later(self, delay: float, callback: Any) -> object:
        self.timers.append(callback)
        return callback

    def remove_timeout(self, timeout_id: object) -> None:
        if timeout_id in self.timers:
            self.timers.remove(timeout_id)

    def sent(self) -> list[Any]:
        """The methods the client queued since the last call."""
        data = bytes(self._take_output())
        if data.startswith(b'AMQP'):
            data = data[8:]
        return sf.methods(data)


def open_channel() -> tuple[LoopbackConnection, Channel]:
    conn = LoopbackConnection()
    conn._start_protocol(conn.params)
    conn._on_data_received(sf.start() + sf.tune(heartbeat=0) + sf.open_ok())
    assert conn.is_open
    channel = conn.channel()
    conn._on_data_received(sf.channel_open_ok(channel.channel_number))
    assert channel.is_open
    conn.sent()
    return conn, channel
