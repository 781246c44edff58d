"""Per-channel state of a :class:`~pika.adapters.blocking_connection.BlockingConnection`.

The pump's reader (:mod:`pika.adapters._blocking.pump`) routes core events into these objects and
the blocked callers read them: a :class:`Waiter` per outstanding RPC, a :class:`PendingConfirm`
per publish in confirm mode, and one :class:`ChannelSlot` per open channel. They are plain
records; every field is read and written with ``Pump.lock`` held. Kept apart from the pump so the
I/O module holds only socket, waiting and routing logic.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import exceptions
from pika._core import events as ev

if TYPE_CHECKING:
    from pika._core.channel import ChannelCore

__all__ = ['ChannelSlot', 'PendingConfirm', 'Waiter']

_Delivered = ev.MessageDelivered


class Waiter:
    """A one-shot slot a blocked caller waits on; filled under the pump lock by the reader."""

    __slots__ = ('done', 'error', 'value')

    def __init__(self) -> None:
        self.done: bool = False
        self.value: Any = None
        self.error: Optional[BaseException] = None

    def set(self, value: Any) -> None:
        """Deliver the reply."""
        self.value = value
        self.done = True

    def fail(self, error: BaseException) -> None:
        """Deliver a failure (channel or connection closed)."""
        if not self.done:
            self.error = error
            self.done = True

    def is_done(self) -> bool:
        """Predicate for :meth:`Pump.wait`."""
        return self.done


class PendingConfirm:
    """A publish in confirm mode waiting for its Basic.Ack / Basic.Nack (and maybe a Return)."""

    __slots__ = ('body', 'error', 'exchange', 'mandatory', 'outcome', 'properties', 'returned',
                 'routing_key')  # fmt: skip

    def __init__(
        self, exchange: str, routing_key: str, mandatory: bool, properties: Any, body: bytes
    ) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.mandatory = mandatory
        self.properties = properties
        self.body = body
        self.outcome: Any = None  # the Basic.Ack / Basic.Nack method once it arrived
        self.returned: Optional[ev.MessageReturned] = None
        self.error: Optional[BaseException] = None

    def is_done(self) -> bool:
        """Predicate for :meth:`Pump.wait`."""
        return self.outcome is not None or self.error is not None


def _nothing_to_dispatch(_thread: int) -> int:
    """``ChannelSlot.dispatch`` until a channel sets its own."""
    return 0


class ChannelSlot:
    """What the reader routes to one channel; every field is guarded by the pump lock.

    ``pending`` holds events for the channel's callbacks (deliveries, returns, consumer
    cancellations) in arrival order; ``gen_queue`` holds deliveries for the ``consume()``
    generator's consumer tag. ``owner`` is the ident of the thread running ``start_consuming()``
    or ``consume()`` on this channel, if any: only that thread dispatches the channel's events.
    ``backlog`` is this channel's share of the pump's :class:`~pika.adapters._io.backlog.Backlog`:
    the cost of the deliveries queued here and not yet reported taken. ``dispatch`` is set by
    the channel: ``dispatch(thread_ident)`` runs the callbacks of ``pending`` (no lock held)
    and returns how many events it took; the connection's dispatch loop calls it.

    ``acks`` is the one field written without the lock: the delivery tags that callbacks
    acknowledged (``multiple=False``) during the batch the dispatching thread runs, appended by
    that thread only. :meth:`write_acks` hands them to the core (lock held) before any other
    write of the channel and when the batch ends; a deque, so that appending and taking from
    two threads loses nothing and keeps the order.
    """

    __slots__ = ('acks', 'backlog', 'core', 'dispatch', 'error', 'error_reported',
                 'gen_cancelled', 'gen_queue', 'gen_tag', 'number', 'open_waiter', 'opened',
                 'owner', 'pending', 'rpc_waiters', 'unconfirmed')  # fmt: skip

    def __init__(self, core: ChannelCore) -> None:
        self.core: ChannelCore = core
        self.number: int = core.channel_number
        self.opened: bool = False
        self.open_waiter: Waiter = Waiter()
        self.rpc_waiters: deque[Waiter] = deque()
        self.pending: deque[ev.Event] = deque()
        self.gen_tag: Optional[str] = None
        self.gen_queue: deque[ev.MessageDelivered] = deque()
        self.gen_cancelled: bool = False
        self.unconfirmed: dict[int, PendingConfirm] = {}
        self.owner: Optional[int] = None
        self.error: Optional[BaseException] = None
        self.error_reported: bool = False
        self.backlog: int = 0
        self.dispatch: Callable[[int], int] = _nothing_to_dispatch
        self.acks: deque[int] = deque()

    def write_acks(self) -> None:
        """Queue the batched acks in the core, in order (lock held).

        On a closed or closing channel they are dropped: the broker requeues what a closed
        channel left unacknowledged, and once Channel.Close is sent it ignores further acks.
        """
        acks = self.acks
        tags = [acks.popleft() for _ in range(len(acks))]  # only the lock holder takes
        if tags and self.error is None:
            try:
                self.core.ack_each(tags)
            except exceptions.ChannelWrongStateError:
                pass  # closing: see above

    def take_deliveries(self, consumer_tag: str) -> list[ev.MessageDelivered]:
        """Remove and return the undispatched deliveries of ``consumer_tag`` from ``pending``.

        Used when a consumer is cancelled. One pass, each event popped once and looked at by
        its type and tag only (events are never compared with each other: that made a
        cancel with 20,000 pending deliveries quadratic). Whatever else is pending goes back
        to the front in its order. A dispatcher may ``popleft`` concurrently (it reads without
        the lock): every event still ends up in exactly one place. Lock held by the caller.
        """
        pending = self.pending
        taken: list[ev.MessageDelivered] = []
        kept: list[ev.Event] = []
        delivered = _Delivered
        for _ in range(len(pending)):
            try:
                event: Any = pending.popleft()
            except IndexError:  # a dispatcher took the rest meanwhile
                break
            if type(event) is delivered and event.method.consumer_tag == consumer_tag:
                taken.append(event)
            else:
                kept.append(event)
        if kept:
            pending.extendleft(reversed(kept))
        return taken

    @property
    def closed(self) -> bool:
        """True once the channel is finished (closed by either side or with the connection)."""
        return self.error is not None

    def finish(self, error: BaseException) -> None:
        """Record why the channel ended and fail everything still waiting on it."""
        if self.error is not None:
            return
        self.error = error
        self.open_waiter.fail(error)
        while self.rpc_waiters:
            self.rpc_waiters.popleft().fail(error)
        for pending in self.unconfirmed.values():
            pending.error = error
        self.unconfirmed.clear()
        self.gen_cancelled = True
        self.pending.clear()  # the broker requeues what it delivered to a closed channel
        self.gen_queue.clear()
        self.acks.clear()
