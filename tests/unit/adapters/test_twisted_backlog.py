"""Twisted: a consumer's queue object bounded by the delivery backlog (no broker).

`TwistedChannel.basic_consume` hands messages to a queue object the application drains at its
own pace; when it is slower than the broker, the queue used to grow without bound. The queue
now reports what it holds, and the connection pauses its transport's reading above the high
mark and resumes at the low mark (and for one read at each heartbeat check).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pika
from pika.adapters._io.backlog import PAUSED_READ_INTERVAL, delivery_cost
from pika.adapters._twisted_channel import _ConsumerQueue
from pika.adapters.twisted_connection import _TwistedConnection

BODY = b'x' * 1000
COST = delivery_cost(BODY)


class _Transport:
    """Records the reading switches the flow control makes."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append('pause')

    def resumeProducing(self) -> None:
        self.calls.append('resume')


class _Reactor:
    """Records `callLater` calls instead of running them."""

    def __init__(self) -> None:
        self.timers: list[tuple[float, Any]] = []

    def callLater(self, delay: float, callback: Any) -> Any:
        self.timers.append((delay, callback))
        return SimpleNamespace(active=lambda: False)


def _connection() -> tuple[_TwistedConnection, _Transport]:
    params = pika.ConnectionParameters(
        delivery_backlog_high=4 * COST, delivery_backlog_low=2 * COST
    )
    connection = _TwistedConnection(params, reactor=_Reactor())
    transport = _Transport()
    connection.transport = transport
    return connection, transport


def _message() -> Any:
    return SimpleNamespace(body=BODY)


def test_queue_pauses_reading_at_the_high_mark_and_resumes_at_the_low_mark() -> None:
    connection, transport = _connection()
    queue = _ConsumerQueue(connection.delivery_flow)
    for _ in range(3):
        queue.put(_message())
    assert transport.calls == []
    queue.put(_message())
    assert transport.calls == ['pause']
    queue.put(_message())  # arrived with the same read: counted, no second pause
    assert transport.calls == ['pause'] and connection.delivery_flow.backlog.size == 5 * COST
    queue.get()
    queue.get()
    assert transport.calls == ['pause']
    queue.get()  # 2 left: the low mark
    assert transport.calls == ['pause', 'resume']


def test_a_message_handed_to_a_waiting_get_never_counts() -> None:
    connection, _transport = _connection()
    queue = _ConsumerQueue(connection.delivery_flow)
    got: list[Any] = []
    queue.get().addCallback(got.append)
    queue.put(_message())
    assert len(got) == 1 and connection.delivery_flow.backlog.size == 0


def test_closing_a_queue_drops_its_backlog_but_keeps_its_messages() -> None:
    connection, transport = _connection()
    queue = _ConsumerQueue(connection.delivery_flow)
    for _ in range(5):
        queue.put(_message())
    queue.close(RuntimeError('cancelled'))
    assert connection.delivery_flow.backlog.size == 0
    assert transport.calls == ['pause', 'resume']
    got: list[Any] = []
    queue.get().addCallback(got.append)  # still readable, as before
    assert got and connection.delivery_flow.backlog.size == 0


def test_one_read_is_let_through_every_interval_while_paused() -> None:
    connection, transport = _connection()
    queue = _ConsumerQueue(connection.delivery_flow)
    for _ in range(4):
        queue.put(_message())
    delay, callback = connection.ioloop.timers.pop()
    assert delay == PAUSED_READ_INTERVAL and transport.calls == ['pause']
    callback()  # the interval passed: one read goes through ...
    assert transport.calls == ['pause', 'resume']
    queue.put(_message())  # ... it brought another delivery: paused again, timer re-armed
    assert transport.calls == ['pause', 'resume', 'pause']
    assert len(connection.ioloop.timers) == 1


def test_queue_without_flow_counts_nothing() -> None:
    queue = _ConsumerQueue(None)
    queue.put(_message())
    got: list[Any] = []
    queue.get().addCallback(got.append)
    assert got
