"""Flow control of received deliveries: how many bytes wait for the application.

Without ``basic_qos`` the broker sends a queue as fast as TCP allows. A ``BlockingConnection``
whose application is slower than that would keep everything it reads. :class:`Backlog` counts
the bytes of deliveries read from the socket and not yet handed to the application; above
``high`` it says *pause* (the pump stops reading, the kernel's receive window fills and TCP
makes the broker wait), and once the application has taken enough to bring it down to ``low``
it says *resume*. The two marks give hysteresis, so a backlog near one mark does not switch
reading on and off for every message. Pure arithmetic: the caller holds its lock.
"""

from __future__ import annotations

__all__ = ['DELIVERY_OVERHEAD', 'PAUSED_READ_INTERVAL', 'PAUSED_READ_SIZE', 'Backlog',
           'delivery_cost']  # fmt: skip

#: Bytes counted per delivery on top of its body: the event, its Basic.Deliver method and
#: properties objects. Measured with tracemalloc on queued deliveries of 100-byte bodies: about
#: 450 bytes without properties, 740 with four properties and a one-entry header table; rounded
#: up, so a queue of tiny messages is bounded too.
DELIVERY_OVERHEAD = 1024


#: While reading is paused, read at most :data:`PAUSED_READ_SIZE` bytes every
#: :data:`PAUSED_READ_INTERVAL` seconds anyway. Any byte shows the core that the broker is alive
#: (a pause must not look like a missed heartbeat), and the broker must see its writes progress:
#: RabbitMQ closes a connection whose socket stays unwritable for its send timeout (ranch's
#: default: 30 s; measured: a 30 s pause without these reads ended in a reset). The backlog
#: therefore grows by at most 64 KiB a second (3.75 MiB a minute) while the application stalls.
PAUSED_READ_SIZE = 65536
PAUSED_READ_INTERVAL = 1.0


def delivery_cost(body: bytes) -> int:
    """What one delivery with ``body`` counts for in a :class:`Backlog`."""
    return len(body) + DELIVERY_OVERHEAD


class Backlog:
    """Bytes of deliveries waiting for the application, and whether reading is paused.

    :param high: pause reading at this many bytes or more (0: never pause)
    :param low: resume once the backlog is down to this (clamped to ``high``)
    """

    __slots__ = ('chunk', 'high', 'low', 'paused', 'size')

    def __init__(self, high: int, low: int) -> None:
        if high < 0 or low < 0:
            raise ValueError(f'backlog marks must be >= 0, got high={high} low={low}')
        self.high: int = high
        self.low: int = min(low, high)
        self.size: int = 0
        self.paused: bool = False
        #: how much a dispatcher may take before it reports (one lock per ``chunk`` bytes, not
        #: per message): a quarter of the gap, so reading resumes close to the low mark
        self.chunk: int = max(1, (high - self.low) // 4) if high else 1 << 20

    def add(self, nbytes: int) -> None:
        """``nbytes`` of deliveries were queued for the application."""
        self.size += nbytes
        if self.high and self.size >= self.high:
            self.paused = True

    def remove(self, nbytes: int) -> bool:
        """``nbytes`` left the backlog (taken by the application, or dropped).

        :returns: True when this resumes reading (the caller wakes the reader)
        """
        size = self.size - nbytes
        self.size = size if size > 0 else 0
        if self.paused and self.size <= self.low:
            self.paused = False
            return True
        return False
