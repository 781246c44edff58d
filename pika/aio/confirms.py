"""Publisher confirms of one `pika.aio` channel: the publishes awaiting their Basic.Ack/Nack,
in delivery-tag order, and the window bounding how many are in flight.

Each confirm-mode publish appends one tuple (no object of its own beyond its waiter) and
awaits the waiter; a Basic.Ack/Nack settles the oldest entries (``multiple``) or one entry,
usually the first, so settling is a ``popleft`` per message. A Basic.Return of a mandatory
message comes before its confirm and is matched, as the blocking adapter does, to the oldest
unconfirmed mandatory publish with the same exchange and routing key; its confirm then raises
``UnroutableError``. An entry whose task was cancelled or timed out stays until its confirm
arrives (it is still in flight and counts against the window); the confirm is then discarded.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Optional

from pika import exceptions, spec
from pika.adapters._blocking.channel import ReturnedMessage

if TYPE_CHECKING:
    from pika._core import events as ev
    from pika.aio.backend import Waiter

__all__ = ['DEFAULT_CONFIRM_WINDOW', 'Confirms', 'Entry']

#: Publishes a confirm-mode channel keeps in flight before the next one awaits a free slot.
DEFAULT_CONFIRM_WINDOW = 1024

_NACK_INDEX = spec.Basic.Nack.INDEX

Entry = tuple[int, 'Waiter', Optional[float], str, str, Any, Optional[spec.BasicProperties], bool]
"""``(tag, waiter, deadline, exchange, routing_key, body, properties, mandatory)``."""


class Confirms:
    """The unconfirmed publishes of a channel in confirm mode.

    :param window: the most publishes in flight (> 0)
    """

    __slots__ = ('_entries', '_returned', 'lost_upto', 'slot_waiters', 'window')

    def __init__(self, window: int = DEFAULT_CONFIRM_WINDOW) -> None:
        self.window: int = window
        self._entries: deque[Entry] = deque()
        self._returned: dict[int, ev.MessageReturned] = {}
        #: publishes waiting for a free slot in the window, oldest first
        self.slot_waiters: deque[Waiter] = deque()
        #: the highest tag in flight at the last connection loss (recovery on): waits up to
        #: it that time out raise ``PublishOutcomeUnknown`` (published again, maybe twice)
        self.lost_upto: int = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def full(self) -> bool:
        """True when the window has no free slot."""
        return len(self._entries) >= self.window

    def add(self, entry: Entry) -> None:
        """A publish went out in confirm mode (its tag is above every other entry's)."""
        self._entries.append(entry)

    def confirmed(self, method: Any) -> None:
        """Settle what a Basic.Ack/Basic.Nack covers, then let waiting publishes in."""
        tag = method.delivery_tag
        nack = method.INDEX == _NACK_INDEX
        entries = self._entries
        if method.multiple:
            while entries and entries[0][0] <= tag:
                self._settle(entries.popleft(), nack, method)
        elif entries and entries[0][0] == tag:
            self._settle(entries.popleft(), nack, method)
        else:  # a single confirm out of order (several queues, quorum queues): rare
            for index, entry in enumerate(entries):
                if entry[0] == tag:
                    del entries[index]
                    self._settle(entry, nack, method)
                    break
        if self.slot_waiters:
            self._wake_slots()

    def _settle(self, entry: Entry, nack: bool, method: Any) -> None:
        waiter = entry[1]
        returned = self._returned.pop(entry[0], None) if self._returned else None
        if waiter.done():
            return  # abandoned (cancelled, timed out): nobody to tell
        if nack:
            waiter.set_exception(
                exceptions.NackError([ReturnedMessage(method, entry[6], entry[5])])
            )
        elif returned is not None:
            message = ReturnedMessage(returned.method, returned.properties, returned.body)
            waiter.set_exception(exceptions.UnroutableError([message]))
        else:
            waiter.set_result(None)

    def returned(self, event: ev.MessageReturned) -> bool:
        """Match a Basic.Return to an unconfirmed mandatory publish; False if none matches."""
        method = event.method
        for entry in self._entries:
            if (
                entry[7]
                and entry[0] not in self._returned
                and entry[3] == method.exchange
                and entry[4] == method.routing_key
            ):
                self._returned[entry[0]] = event
                return True
        return False

    def _wake_slots(self) -> None:
        free = self.window - len(self._entries)
        waiters = self.slot_waiters
        while free > 0 and waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def interrupted(self) -> None:
        """Recovery: the connection was lost with the current entries in flight."""
        if self._entries:
            self.lost_upto = self._entries[-1][0]

    def expire(self, now: float) -> list[int]:
        """Fail the waits whose deadline passed with ``OperationTimeout`` (the entries stay:
        their messages are still in flight), or, for one in flight at a connection loss,
        ``PublishOutcomeUnknown``: that entry is dropped, and its tag returned so that the
        recovery does not publish it again."""
        abandoned: list[int] = []
        for entry in self._entries:
            deadline = entry[2]
            if deadline is not None and deadline <= now and not entry[1].done():
                if entry[0] <= self.lost_upto:
                    abandoned.append(entry[0])
                    entry[1].set_exception(
                        exceptions.PublishOutcomeUnknown(
                            'basic_publish: the connection was lost before the publisher '
                            'confirm, and no confirm of the republished copy came in time'
                        )
                    )
                else:
                    entry[1].set_exception(
                        exceptions.OperationTimeout(
                            f'basic_publish: no publisher confirm for delivery tag {entry[0]} '
                            'in time'
                        )
                    )
        if abandoned:
            dropped = set(abandoned)
            self._entries = deque(entry for entry in self._entries if entry[0] not in dropped)
            if self.slot_waiters:
                self._wake_slots()
        return abandoned

    def fail_all(self, error: BaseException) -> bool:
        """The channel closed: every wait fails with ``error``. True when a waiter was there
        to receive it (so the channel's next call need not raise it again)."""
        told = False
        for entry in self._entries:
            if not entry[1].done():
                entry[1].set_exception(error)
                told = True
        self._entries.clear()
        self._returned.clear()
        for waiter in self.slot_waiters:
            if not waiter.done():
                waiter.set_exception(error)
                told = True
        self.slot_waiters.clear()
        return told
