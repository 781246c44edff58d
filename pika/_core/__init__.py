"""The sans-I/O AMQP 0-9-1 core: bytes in, events out (see docs/architecture.md).

Nothing in this package performs I/O, reads a clock or starts a thread; front-ends and adapters
feed it bytes and the current time and act on the returned events.
"""

from __future__ import annotations

from pika._core import events
from pika._core.channel import ChannelCore, ChannelNumberError
from pika._core.connection import ConnectionCore
from pika._core.states import ChannelState, ConnectionState

__all__ = [
    'ChannelCore',
    'ChannelNumberError',
    'ChannelState',
    'ConnectionCore',
    'ConnectionState',
    'events',
]
