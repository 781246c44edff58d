"""Where the blocking pump puts each core event: :class:`EventRouter`, held by
:class:`pika.adapters._blocking.pump.Pump` as ``pump.router``.

The pump's reader calls :meth:`EventRouter.route` with the lock held, for the events one read or
tick produced: RPC replies go to the waiting call's :class:`~pika.adapters._blocking.slots.Waiter`,
confirms and returns to the publish waiting for them, deliveries and cancellations to the
channel's queue for its dispatcher, and connection events to the connection's queue. Blocked
threads are then woken (:meth:`Pump.wake_followers`). The router also keeps the delivery backlog
balanced: what it queues is counted in, what dispatchers take (:meth:`EventRouter.release`) or
a closing channel drops is counted out.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from pika._core import events as ev
from pika.adapters._io.backlog import DELIVERY_OVERHEAD

if TYPE_CHECKING:
    from pika.adapters._blocking.pump import Pump
    from pika.adapters._blocking.slots import ChannelSlot

__all__ = ['EventRouter']

LOGGER = logging.getLogger(__name__)


class EventRouter:
    """Routing of core events into the pump's records (lock held).

    :param pump: the pump whose records (``slots``, ``conn_pending``, ``conn_rpc_waiters``,
        ``backlog``) receive the events; those containers are never replaced, so the router
        keeps them at hand
    """

    __slots__ = ('_backlog', '_conn_pending', '_conn_rpc_waiters', '_pump', '_slots')

    def __init__(self, pump: Pump) -> None:
        self._pump = pump
        self._slots = pump.slots
        self._conn_pending = pump.conn_pending
        self._conn_rpc_waiters = pump.conn_rpc_waiters
        self._backlog = pump.backlog

    def route(self, events: list[ev.Event]) -> None:
        """Put each core event where its waiter or dispatcher will find it, then notify."""
        if not events:
            return
        slots = self._slots
        added = 0  # backlog bytes of this batch
        for event in events:
            kind = type(event)
            if kind is ev.MessageDelivered:
                slot = slots.get(event.channel_number)  # type: ignore[attr-defined]
                if slot is not None:
                    cost = len(event.body) + DELIVERY_OVERHEAD  # type: ignore[attr-defined]
                    slot.backlog += cost
                    added += cost
                    if event.method.consumer_tag == slot.gen_tag:  # type: ignore[attr-defined]
                        slot.gen_queue.append(event)  # type: ignore[arg-type]
                    else:
                        slot.pending.append(event)
            elif kind is ev.RpcReply:  # every RPC: here rather than through _ROUTES
                number = event.channel_number  # type: ignore[attr-defined]
                if number:
                    slot = slots.get(number)
                    waiters = None if slot is None else slot.rpc_waiters
                else:  # Connection.UpdateSecretOk
                    waiters = self._conn_rpc_waiters
                if waiters:
                    waiters.popleft().set(event)
                else:
                    LOGGER.debug('RPC reply with no waiter: %r', event)
            else:
                handler = _ROUTES.get(kind)
                if handler is None:
                    LOGGER.debug('Ignoring core event %r', event)
                else:
                    handler(self, event)
        if added:
            self._backlog.add(added)
        if self._pump.followers:  # wake_followers() has nothing to do without: one call less
            self._pump.wake_followers()

    def release(self, slot: ChannelSlot, nbytes: int, wait: bool = True) -> None:
        """The application took deliveries costing ``nbytes`` from ``slot`` (takes the lock).

        Dispatchers pop deliveries without the lock and report them here in chunks
        (``backlog.chunk``). Reading resumes, and the leader is woken, once the backlog is down
        to the low mark. A closed channel's backlog was already dropped: nothing to do.

        :param wait: False from a generator's finalizer, which may run (garbage collection)
            in a thread that holds the lock: wait briefly, then give up rather than deadlock
            (the report is lost: at most one ``chunk`` stays counted)
        """
        lock = self._pump.lock
        if not lock.acquire(True, -1 if wait else 0.05):
            return
        try:
            if slot.error is None:
                self.forget_backlog(slot, nbytes)
        finally:
            lock.release()

    def drop_deliveries(self, slot: ChannelSlot) -> None:
        """Forget everything queued in ``slot`` (channel closed; lock held)."""
        slot.pending.clear()
        slot.gen_queue.clear()
        self.forget_backlog(slot, slot.backlog)

    def forget_backlog(self, slot: ChannelSlot, nbytes: int) -> None:
        """``nbytes`` of ``slot``'s deliveries left its queues (lock held): taken by the
        application (`release`) or removed by us (cancel, close); reading resumes at the low
        mark."""
        if nbytes:
            slot.backlog -= nbytes
            if self._backlog.remove(nbytes):
                self._pump.kick()

    def _on_returned(self, event: ev.MessageReturned) -> None:
        slot = self._slots.get(event.channel_number)
        if slot is None:
            return
        method = event.method
        for pending in slot.unconfirmed.values():
            if (
                pending.mandatory
                and pending.returned is None
                and pending.exchange == method.exchange
                and pending.routing_key == method.routing_key
            ):
                pending.returned = event
                return
        slot.pending.append(event)

    def _on_confirmed(self, event: ev.DeliveryConfirmed) -> None:
        slot = self._slots.get(event.channel_number)
        if slot is None:
            return
        method = event.method
        tag = method.delivery_tag
        unconfirmed = slot.unconfirmed
        if method.multiple:
            for number in [n for n in unconfirmed if tag == 0 or n <= tag]:
                unconfirmed.pop(number).outcome = method
        else:
            pending = unconfirmed.pop(tag, None)
            if pending is not None:
                pending.outcome = method

    def _on_consumer_cancelled(self, event: ev.ConsumerCancelled) -> None:
        slot = self._slots.get(event.channel_number)
        if slot is None:
            return
        if event.method.consumer_tag == slot.gen_tag:
            slot.gen_cancelled = True
        slot.pending.append(event)

    def _on_channel_opened(self, event: ev.ChannelOpened) -> None:
        slot = self._slots.get(event.channel_number)
        if slot is not None:
            slot.opened = True
            slot.open_waiter.set(True)

    def _on_channel_closed(self, event: ev.ChannelClosed) -> None:
        slot = self._slots.pop(event.channel_number, None)
        if slot is not None:
            self.drop_deliveries(slot)
            slot.finish(event.error)

    def _on_connection_opened(self, event: ev.ConnectionOpened) -> None:
        self._pump.opened = True

    def _on_connection_failed(self, event: ev.ConnectionOpenFailed) -> None:
        self._pump.finish(event.error)

    def _on_connection_closed(self, event: ev.ConnectionClosed) -> None:
        self._pump.finish(event.error)
        self._conn_pending.append(event)

    def _on_interrupted(self, event: ev.ConnectionInterrupted) -> None:
        self._pump.interrupted(event.error)

    def _on_recovered(self, event: ev.ConnectionRecovered) -> None:
        self._pump.recovered(event.params, event.renamed)

    def _on_connection_event(self, event: ev.Event) -> None:
        """Connection.Blocked/Unblocked: queued for the application, and a call waiting in
        the pump dispatches it (``Pump.on_alarm``)."""
        self._conn_pending.append(event)
        self._pump.alarm_pending = True

    def _on_flow(self, event: ev.FlowChanged) -> None:
        LOGGER.info('Channel %d flow active=%s', event.channel_number, event.active)


_ROUTES: dict[type, Callable[[EventRouter, Any], None]] = {
    ev.MessageReturned: EventRouter._on_returned,
    ev.DeliveryConfirmed: EventRouter._on_confirmed,
    ev.ConsumerCancelled: EventRouter._on_consumer_cancelled,
    ev.ChannelOpened: EventRouter._on_channel_opened,
    ev.ChannelClosed: EventRouter._on_channel_closed,
    ev.ConnectionOpened: EventRouter._on_connection_opened,
    ev.ConnectionOpenFailed: EventRouter._on_connection_failed,
    ev.ConnectionClosed: EventRouter._on_connection_closed,
    ev.ConnectionInterrupted: EventRouter._on_interrupted,
    ev.ConnectionRecovered: EventRouter._on_recovered,
    ev.ConnectionBlocked: EventRouter._on_connection_event,
    ev.ConnectionUnblocked: EventRouter._on_connection_event,
    ev.FlowChanged: EventRouter._on_flow,
}
