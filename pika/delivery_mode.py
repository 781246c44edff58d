"""The two AMQP delivery modes as an enum, accepted wherever pika takes ``delivery_mode``."""

from __future__ import annotations

import enum

__all__ = ['DeliveryMode']


class DeliveryMode(enum.Enum):
    """Whether the broker keeps a message on disk (persistent) or only in memory (transient)."""

    Transient = 1
    Persistent = 2
