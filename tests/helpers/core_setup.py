"""Shared set-up for the core tests: build cores and drive them through the handshake."""

from __future__ import annotations

from typing import Any

from pika._core import ChannelCore, ConnectionCore
from pika._parameters import ConnectionParameters
from tests.helpers import server_frames as sf


def make_core(**params: Any) -> ConnectionCore:
    """A started core (protocol header already drained)."""
    core = ConnectionCore(ConnectionParameters(**params))
    core.start()
    assert bytes(core.data_to_send()) == sf.PROTOCOL_HEADER
    return core


def open_core(
    now: float = 0.0, tune_kwargs: dict[str, Any] | None = None, **params: Any
) -> ConnectionCore:
    """A core that completed the handshake; its output is drained."""
    params.setdefault('heartbeat', 0)
    core = make_core(**params)
    events = core.receive_data(sf.start() + sf.tune(**(tune_kwargs or {})) + sf.open_ok(), now)
    assert [type(e).__name__ for e in events] == ['ConnectionOpened'], events
    core.data_to_send()
    return core


def open_channel(core: ConnectionCore, number: int | None = None) -> ChannelCore:
    """Open a channel on an open core; output drained."""
    channel = core.open_channel(number)
    events = core.receive_data(sf.channel_open_ok(channel.channel_number), 0.0)
    assert [type(e).__name__ for e in events] == ['ChannelOpened']
    core.data_to_send()
    return channel


def reconnect(core: ConnectionCore) -> None:
    """A new socket for a core with recovery on: the handshake up to (not including) OpenOk."""
    core.begin_reconnect(core.params)
    assert bytes(core.data_to_send()) == sf.PROTOCOL_HEADER
    assert core.receive_data(sf.start() + sf.tune(heartbeat=0), 1.0) == []
    assert [m.NAME for m in sent(core)] == [
        'Connection.StartOk',
        'Connection.TuneOk',
        'Connection.Open',
    ]


def names(events: list[Any]) -> list[str]:
    """Event class names, for compact assertions."""
    return [type(e).__name__ for e in events]


def sent(core: ConnectionCore) -> list[Any]:
    """Drain the core and return the methods it sent."""
    return sf.methods(bytes(core.data_to_send()))
