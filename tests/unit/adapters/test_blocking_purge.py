"""Cancelling a consumer takes its undispatched deliveries out of the channel's queue in one
linear pass (``ChannelSlot.take_deliveries``), without ever comparing events to each other.

Issue 18: a cancel with 20,000 pending deliveries filtered them with ``e not in mine``, a
quadratic scan through ``Event.__eq__`` under the pump lock (53 s, heartbeats starved).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pika import spec
from pika._core import events as ev
from pika.adapters._blocking.slots import ChannelSlot
from tests.helpers.core_setup import open_channel, open_core

CHANNEL = 1


def _slot() -> ChannelSlot:
    return ChannelSlot(open_channel(open_core(), CHANNEL))


def _delivery(tag: str, number: int) -> ev.MessageDelivered:
    method = spec.Basic.Deliver(consumer_tag=tag, delivery_tag=number, routing_key='q')
    return ev.MessageDelivered(CHANNEL, method, spec.BasicProperties(), b'')


def _returned(number: int) -> ev.MessageReturned:
    method = spec.Basic.Return(reply_code=312, reply_text='NO_ROUTE', exchange='', routing_key='r')
    return ev.MessageReturned(CHANNEL, method, spec.BasicProperties(), str(number).encode())


def test_100000_pending_deliveries_are_taken_in_one_linear_pass(monkeypatch: Any) -> None:
    slot = _slot()
    events: list[ev.Event] = []
    for number in range(1, 100_001):
        events.append(_delivery('gone', number))
        if number % 1000 == 0:  # other consumers' deliveries and returns stay, in order
            events.append(_delivery('other', number))
            events.append(_returned(number))
    slot.pending.extend(events)
    comparisons: list[int] = []
    monkeypatch.setattr(
        ev.Event, '__eq__', lambda self, other: comparisons.append(1) or NotImplemented
    )

    started = time.perf_counter()
    taken = slot.take_deliveries('gone')
    elapsed = time.perf_counter() - started

    assert comparisons == []  # no event is ever compared with another
    assert elapsed < 1.0, elapsed  # about 30 ms; the quadratic filter needed minutes here
    assert [e.method.delivery_tag for e in taken] == list(range(1, 100_001))
    kept = list(slot.pending)
    assert len(kept) == 200
    assert kept == [e for e in events if not (type(e) is ev.MessageDelivered
                                             and e.method.consumer_tag == 'gone')]  # fmt: skip


def test_taking_deliveries_of_an_unknown_tag_leaves_the_queue_as_it_was() -> None:
    slot = _slot()
    events = [_delivery('a', 1), _returned(2), _delivery('b', 3)]
    slot.pending.extend(events)
    assert slot.take_deliveries('c') == []
    assert list(slot.pending) == events
    assert _slot().take_deliveries('a') == []


def test_a_concurrent_dispatcher_and_the_purge_each_get_every_event_once() -> None:
    """The dispatcher pops without the lock; the purge must neither lose nor duplicate."""
    slot = _slot()
    events: list[ev.Event] = []
    for number in range(1, 50_001):
        events.append(_delivery('gone' if number % 3 else 'kept', number))
    slot.pending.extend(events)
    dispatched: list[Any] = []
    stop = threading.Event()

    def dispatcher() -> None:
        pending = slot.pending
        while not stop.is_set():
            try:
                dispatched.append(pending.popleft())
            except IndexError:
                time.sleep(0)

    thread = threading.Thread(target=dispatcher)
    thread.start()
    try:
        taken = slot.take_deliveries('gone')
    finally:
        stop.set()
        thread.join(10)
    remaining = list(slot.pending)
    seen = [id(e) for e in taken + dispatched + remaining]
    assert sorted(seen) == sorted(id(e) for e in events)  # each event in exactly one place
    assert all(e.method.consumer_tag == 'gone' for e in taken)
    assert all(e.method.consumer_tag == 'kept' for e in remaining)
