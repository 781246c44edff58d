"""Exchange types built into RabbitMQ; a ``str`` enum so it passes wherever a name string does."""

from __future__ import annotations

import enum

__all__ = ['ExchangeType']


class ExchangeType(str, enum.Enum):
    """The exchange types every RabbitMQ broker provides."""

    direct = 'direct'
    fanout = 'fanout'
    headers = 'headers'
    topic = 'topic'

    def __str__(self) -> str:
        """Render as the bare type name (``'topic'``), as the broker and logs expect."""
        return str(self.value)
