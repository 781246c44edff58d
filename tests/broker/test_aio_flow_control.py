"""`pika.aio` flow control against a private node's memory alarm, on every backend: the
transport pauses the connection above its high-water mark, so publishes without confirms stop
being queued and memory stays bounded while the broker blocks us; unblocked, everything
arrives, and the blocked/unblocked callbacks ran once each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import pika
import pika.aio
from pika import exceptions
from pika.aio.backend import WRITE_HIGH_WATER
from pika.aio.connection import FLUSH_BYTES
from tests.helpers.aio import ALL_KINDS, gather, in_thread, run, sleep

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.private_broker


@pytest.mark.parametrize('kind', ALL_KINDS)
def test_flow_control_keeps_memory_bounded(kind: str, private_broker: PrivateBroker) -> None:
    events: list[str] = []
    body = b'b' * 10_000
    count = 2_000  # 20 MB: far above what the socket buffers and the high-water mark hold
    peak = [0]
    finished: list[bool] = []

    async def publisher(ch: pika.aio.Channel, queue: str) -> None:
        for _ in range(count):
            await ch.basic_publish('', queue, body)
            peak[0] = max(peak[0], ch.connection.buffered_bytes)
        finished.append(True)

    async def main() -> None:
        params = pika.URLParameters(private_broker.url)
        async with await pika.aio.connect(params) as conn:
            conn.add_on_blocked_callback(lambda c, method: events.append('blocked'))
            conn.add_on_unblocked_callback(lambda c, method: events.append('unblocked'))
            ch = await conn.channel()
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await in_thread(private_broker.set_memory_alarm)
            await ch.basic_publish('', queue, b'first')  # the broker blocks at a publish
            for _ in range(100):
                if conn.is_blocked:
                    break
                await sleep(0.05)
            assert conn.is_blocked

            async def check_then_unblock() -> None:
                await sleep(1.0)
                assert not finished  # held back by flow control
                assert conn.write_paused
                limit = WRITE_HIGH_WATER + FLUSH_BYTES + 2 * (len(body) + 100)
                assert 0 < peak[0] <= limit  # bounded, whatever the producer does
                with pytest.raises(exceptions.OperationTimeout):
                    await conn.wait_unblocked(timeout=0.1)
                await in_thread(private_broker.clear_memory_alarm)
                await conn.wait_unblocked(timeout=30)

            await gather(publisher(ch, queue), check_then_unblock())
            assert finished
            for _ in range(100):  # plain publishes reach the queue process asynchronously
                declared = await ch.queue_declare(queue, passive=True)
                if declared.method.message_count == count + 1:
                    break
                await sleep(0.1)
            assert declared.method.message_count == count + 1

    try:
        run(kind, main, timeout=120)
    finally:
        private_broker.clear_memory_alarm()
    assert events == ['blocked', 'unblocked']
