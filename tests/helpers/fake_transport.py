"""A callback `Connection` without a transport, for unit tests and the offline benchmark.

It drives the real front-end and core: bytes from the "broker" go in through
`_on_data_received`, and output is taken with `_take_output`. Timers are not run, and
`_output_ready` only counts its calls (some tests check how often output is announced).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import pika
from pika.connection import Connection
from tests.helpers import server_frames as sf

if TYPE_CHECKING:
    from pika.channel import Channel

__all__ = ['FakeTransportConnection', 'open_fake_channel']


class FakeTransportConnection(Connection):
    """A `Connection` whose transport hooks do nothing but count `_output_ready` calls."""

    def __init__(self, parameters: Optional[pika.ConnectionParameters] = None) -> None:
        super().__init__(parameters or pika.ConnectionParameters(heartbeat=0))
        self.output_ready_calls = 0

    def _output_ready(self) -> None:
        self.output_ready_calls += 1

    def _close_transport(self) -> None:
        pass

    def call_later(self, delay: float, callback: Any) -> object:
        return object()

    def remove_timeout(self, timeout_id: object) -> None:
        pass


def open_fake_channel(
    parameters: Optional[pika.ConnectionParameters] = None,
) -> tuple[FakeTransportConnection, Channel]:
    """An open connection (default parameters: heartbeats off) and its open channel 1, with no
    output pending."""
    conn = FakeTransportConnection(parameters)
    conn._start_protocol(conn.params)
    conn._take_output()
    conn._on_data_received(sf.start() + sf.tune() + sf.open_ok())
    channel = conn.channel()
    conn._on_data_received(sf.channel_open_ok(channel.channel_number))
    conn._take_output()
    return conn, channel
