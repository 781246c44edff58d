"""BlockingConnection publish coalescing: held publishes always reach the wire.

With a heartbeat (keeper thread running) a plain ``basic_publish`` may leave its frames queued
for up to ``FLUSH_DELAY``; these tests prove that nothing is ever stranded: the keeper flushes a
lone publish while the publisher sleeps, every other call flushes first, and so do ``close``,
the pump's finalizer and the ``atexit`` hook. With heartbeat=0 every publish is sent at once.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable

import pytest

import pika
from pika.adapters._blocking import keeper
from pika.adapters._blocking import pump as pump_module
from pika.adapters.blocking_connection import BlockingConnection

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.broker


class _NoNudge:
    """Stands in for the keeper's wake event so the keeper never flushes (isolates a path)."""

    def set(self) -> None:
        pass


@pytest.fixture
def observer(broker_params: Any) -> Iterator[BlockingConnection]:
    connection = BlockingConnection(broker_params)
    yield connection
    if connection.is_open:
        connection.close()


@pytest.fixture
def queue(observer: BlockingConnection, unique_name: str) -> Iterator[str]:
    channel = observer.channel()
    channel.queue_declare(unique_name)
    yield unique_name
    if observer.is_open:
        cleanup = observer.channel()
        cleanup.queue_delete(unique_name)
        cleanup.close()


def _params(broker_params: Any, heartbeat: int) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        host=broker_params.host, port=broker_params.port, heartbeat=heartbeat
    )


def _count(observer: BlockingConnection, queue: str) -> int:
    channel = observer.channel()
    try:
        return int(channel.queue_declare(queue, passive=True).method.message_count or 0)
    finally:
        channel.close()


def _seen_within(observer: BlockingConnection, queue: str, expected: int, bound: float) -> bool:
    """Poll (from the observer connection only) until ``expected`` messages are ready."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if _count(observer, queue) >= expected:
            return True
        time.sleep(0.01)
    return _count(observer, queue) >= expected


def _publish_held(broker_params: Any, queue: str) -> BlockingConnection:
    """A heartbeat connection whose keeper is never nudged, holding one publish."""
    connection = BlockingConnection(_params(broker_params, 30))
    channel = connection.channel()
    connection._pump._keeper_wake = _NoNudge()  # type: ignore[assignment]
    channel.basic_publish('', queue, b'held')
    assert connection._pump._held
    return connection


def test_lone_publish_reaches_the_broker_while_the_publisher_sleeps(
    broker_params: Any, observer: BlockingConnection, queue: str
) -> None:
    publisher = BlockingConnection(_params(broker_params, 30))
    try:
        channel = publisher.channel()
        channel.basic_publish('', queue, b'lone')
        assert publisher._pump._held  # coalescing really was in play
        # No further call into the publisher: only the keeper can put it on the wire.
        assert _seen_within(observer, queue, 1, 1.0)
        assert not publisher._pump._held
        method, _props, body = observer.channel().basic_get(queue, auto_ack=True)
        assert method is not None and body == b'lone'
    finally:
        publisher.close()


def test_burst_is_fully_delivered_without_further_calls(
    broker_params: Any, observer: BlockingConnection, queue: str
) -> None:
    publisher = BlockingConnection(_params(broker_params, 30))
    try:
        channel = publisher.channel()
        for number in range(5000):
            channel.basic_publish('', queue, b'm%d' % number)
        assert _seen_within(observer, queue, 5000, 5.0)
        assert _count(observer, queue) == 5000
    finally:
        publisher.close()


def test_heartbeat_off_sends_every_publish_at_once(
    broker_params: Any, observer: BlockingConnection, queue: str
) -> None:
    publisher = BlockingConnection(_params(broker_params, 0))
    try:
        pump = publisher._pump
        assert pump._keeper is None
        channel = publisher.channel()
        channel.basic_publish('', queue, b'now')
        assert not pump._held
        assert pump.core.bytes_queued_total == pump._sent_mark  # nothing left in the core
        assert _seen_within(observer, queue, 1, 1.0)
    finally:
        publisher.close()


@pytest.mark.parametrize(
    'flush',
    [
        pytest.param(lambda conn: conn.process_data_events(0), id='process_data_events'),
        pytest.param(lambda conn: conn.sleep(0), id='sleep'),
        pytest.param(lambda conn: conn.channel().close(), id='rpc'),
        pytest.param(lambda conn: conn.close(), id='close'),
    ],
)
def test_any_other_call_flushes_held_publishes(
    broker_params: Any,
    observer: BlockingConnection,
    queue: str,
    flush: Callable[[BlockingConnection], None],
) -> None:
    publisher = _publish_held(broker_params, queue)
    try:
        time.sleep(0.2)
        assert _count(observer, queue) == 0  # held back: the keeper was not nudged
        flush(publisher)
        assert _seen_within(observer, queue, 1, 1.0)
    finally:
        if publisher.is_open:
            publisher.close()


def test_confirmed_publish_flushes_earlier_held_ones(
    broker_params: Any, observer: BlockingConnection, queue: str
) -> None:
    publisher = _publish_held(broker_params, queue)
    try:
        confirming = publisher.channel()
        confirming.confirm_delivery()
        confirming.basic_publish('', queue, b'confirmed')
        assert _seen_within(observer, queue, 2, 1.0)
    finally:
        publisher.close()


def test_abandoned_connection_sends_what_it_held(
    broker_params: Any, observer: BlockingConnection, queue: str
) -> None:
    publisher = _publish_held(broker_params, queue)
    pump_ref = weakref.ref(publisher._pump)
    del publisher
    deadline = time.monotonic() + 10.0  # the keeper may hold the pump for one cycle
    while pump_ref() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    assert pump_ref() is None
    assert _seen_within(observer, queue, 1, 1.0)


def test_interpreter_exit_flushes_held_publishes(
    broker_params: Any, observer: BlockingConnection, queue: str
) -> None:
    script = textwrap.dedent(
        f"""
        import pika
        from pika.adapters.blocking_connection import BlockingConnection

        class NoNudge:
            def set(self):
                pass

        params = pika.ConnectionParameters(
            host={broker_params.host!r}, port={broker_params.port!r}, heartbeat=30
        )
        conn = BlockingConnection(params)
        channel = conn.channel()
        conn._pump._keeper_wake = NoNudge()
        channel.basic_publish('', {queue!r}, b'at-exit')
        assert conn._pump._held
        KEEP = conn  # still referenced at exit: only the atexit hook can flush it
        """
    )
    result = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert _seen_within(observer, queue, 1, 1.0)


def test_limits_are_sane() -> None:
    assert pump_module.COALESCE_LIMIT >= 16384
    assert 0 < keeper.FLUSH_DELAY <= 0.001
