"""Cancelling a consumer of a deep queue without qos (issue 18, item 2).

Without ``basic_qos`` the broker pushes as much as the socket takes, so a slow callback leaves
thousands of deliveries queued in the client. Stopping must set them aside in linear time and
requeue them without holding the pump lock for long (the keeper thread sends heartbeats under
it). pika 1.4.4 returns from the scenario below in about 2.1 s; we took 23-53 s before the fix.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

pytestmark = pytest.mark.broker


def _ready_count(connection: BlockingConnection, queue: str) -> int:
    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue, passive=True).method.message_count)
    finally:
        channel.close()


def _wait_for_ready(connection: BlockingConnection, queue: str, count: int) -> int:
    deadline = time.monotonic() + 30
    ready = _ready_count(connection, queue)
    while ready != count and time.monotonic() < deadline:
        time.sleep(0.1)
        ready = _ready_count(connection, queue)
    return ready


def _fill(connection: BlockingConnection, queue: str, count: int, body: bytes) -> None:
    channel = connection.channel()
    channel.queue_declare(queue)
    for _ in range(count):
        channel.basic_publish('', queue, body)
    assert _wait_for_ready(connection, queue, count) == count
    channel.close()


def _delete_and_close(connection: BlockingConnection, queue: str) -> None:
    """Even after a failure: a deep queue must not stay on the shared broker."""
    if connection.is_open:
        connection.channel().queue_delete(queue)
        connection.close()


class _LockProbe:
    """Measures the longest wait for the pump lock while it runs (≈ the longest hold)."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self._stop = threading.Event()
        self.longest = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                waited = time.monotonic() - started
            self.longest = max(self.longest, waited)
            time.sleep(0.001)

    def __enter__(self) -> _LockProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join(10)


def test_slow_callback_then_stop_consuming_on_a_deep_queue(
    broker_params: Any, unique_name: str
) -> None:
    """20,000 x 1 KiB, no qos; the callback sleeps 2 s then stops: back in well under 10 s."""
    connection = BlockingConnection(broker_params)
    try:
        _fill(connection, unique_name, 20_000, b'x' * 1024)
        channel = connection.channel()
        calls: list[bytes] = []

        probe = _LockProbe(connection._pump.lock)

        def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
            calls.append(body)
            time.sleep(2)
            with probe:
                ch.stop_consuming()  # thousands of deliveries were read meanwhile: requeued

        channel.basic_consume(unique_name, on_message)
        started = time.monotonic()
        channel.start_consuming()
        elapsed = time.monotonic() - started
        assert elapsed < 10, elapsed  # 2.0 s measured (pika 1.4.4: 2.1 s); 23 s before the fix
        assert probe.longest < 0.25, probe.longest
        assert len(calls) == 1  # the others were requeued, not dispatched
        channel.close()  # the broker requeues the one unacked message
        assert _wait_for_ready(connection, unique_name, 20_000) == 20_000
    finally:
        _delete_and_close(connection, unique_name)


def test_cancel_with_100000_pending_deliveries(broker_params: Any, unique_name: str) -> None:
    """100,000 undispatched deliveries of an auto_ack consumer are set aside and returned
    within a second, and no thread waits long for the pump lock meanwhile.

    (auto_ack, so that the broker is not asked to requeue 100,000 messages one by one: RabbitMQ
    3.10 takes minutes for that. The requeue path is the scenario above.)
    """
    total = 100_000
    connection = BlockingConnection(broker_params)
    try:
        _fill(connection, unique_name, total, b'x')
        channel = connection.channel()
        pending = channel._slot.pending
        outcome: dict[str, Any] = {}

        def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
            if outcome:
                return
            deadline = time.monotonic() + 60
            while len(pending) < total - 1 and time.monotonic() < deadline:
                ch.queue_declare(unique_name, passive=True)  # each wait reads the socket
            outcome['pending'] = len(pending)
            with _LockProbe(connection._pump.lock) as probe:
                started = time.monotonic()
                outcome['returned'] = ch.basic_cancel(method.consumer_tag)
                outcome['elapsed'] = time.monotonic() - started
            outcome['longest_lock_wait'] = probe.longest

        channel.basic_consume(unique_name, on_message, auto_ack=True)
        channel.start_consuming()
        assert outcome['pending'] == total - 1
        returned = outcome['returned']
        assert len(returned) == total - 1
        assert [len(item) for item in (returned[0], returned[-1])] == [3, 3]  # method, props, body
        assert returned[-1][0].delivery_tag == total
        assert outcome['elapsed'] < 1.0, outcome['elapsed']  # 0.1-0.3 s measured
        assert outcome['longest_lock_wait'] < 0.25, outcome['longest_lock_wait']
        assert _ready_count(connection, unique_name) == 0
    finally:
        _delete_and_close(connection, unique_name)
