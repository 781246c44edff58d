"""Exchange types built into RabbitMQ; a ``str`` enum so it passes wherever a name string does.

``str()`` is the Enum's (``'ExchangeType.topic'``), as in pika 1.x, whose ``repr`` of
``spec.Exchange.Declare()`` shows ``type=ExchangeType.direct``; the wire gets ``.value``.
"""

from __future__ import annotations

import enum

__all__ = ['ExchangeType']


class ExchangeType(str, enum.Enum):
    """The exchange types every RabbitMQ broker provides."""

    direct = 'direct'
    fanout = 'fanout'
    headers = 'headers'
    topic = 'topic'
