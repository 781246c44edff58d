"""`pika.aio` when the broker misbehaves (a private node): frozen, killed, blocking forever.

Never a hang: each fault ends the connection with an error from pika's tree, every pending
wait (RPC, confirm, next message) fails with it, and `wait_closed()` reports it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

import pika
import pika.aio
from pika import exceptions
from tests.helpers.aio import run

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker

pytestmark = [pytest.mark.broker, pytest.mark.private_broker]


def test_frozen_broker_is_detected_by_heartbeats(private_broker: PrivateBroker) -> None:
    async def main() -> None:
        params = pika.URLParameters(private_broker.url)
        params.heartbeat = 1
        conn = await pika.aio.connect(params)
        ch = await conn.channel()
        queue = (await ch.queue_declare('', exclusive=True)).method.queue
        await ch.confirm_delivery()
        consumer = ch.consume(queue)
        await consumer.start()
        await asyncio.to_thread(private_broker.freeze)
        try:
            pending = asyncio.ensure_future(ch.basic_publish('', queue, b'never confirmed'))
            next_message = asyncio.ensure_future(consumer.__anext__())
            started = asyncio.get_running_loop().time()
            cause = await asyncio.wait_for(conn.wait_closed(), 15)
            elapsed = asyncio.get_running_loop().time() - started
        finally:
            await asyncio.to_thread(private_broker.thaw)
        assert isinstance(cause, exceptions.AMQPHeartbeatTimeout)
        assert elapsed < 6  # 2 heartbeats of silence, checked every half heartbeat
        for waiting in (pending, next_message):
            with pytest.raises(exceptions.AMQPHeartbeatTimeout):
                await waiting

    run('asyncio', main, timeout=60)


def test_killed_broker_fails_every_wait_with_stream_lost(private_broker: PrivateBroker) -> None:
    async def main() -> None:
        conn = await pika.aio.connect(private_broker.url)
        ch = await conn.channel()
        queue = (await ch.queue_declare('', exclusive=True)).method.queue
        await ch.confirm_delivery()
        other = await conn.channel()
        rpc = asyncio.ensure_future(other.queue_declare(queue, passive=True))
        await rpc
        await asyncio.to_thread(private_broker.freeze)  # no confirm comes back
        publishes = [asyncio.ensure_future(ch.basic_publish('', queue, b'x')) for _ in range(50)]
        await asyncio.sleep(0.1)  # all in flight
        await asyncio.to_thread(private_broker.kill)
        cause = await asyncio.wait_for(conn.wait_closed(), 30)
        assert isinstance(cause, exceptions.StreamLostError)
        results = await asyncio.gather(*publishes, return_exceptions=True)
        assert all(isinstance(r, exceptions.StreamLostError) for r in results), results
        # The waiting publishes reported the cause, so the next call does not raise it again.
        with pytest.raises(exceptions.ChannelWrongStateError):
            await ch.queue_declare('', exclusive=True)

    run('asyncio', main, timeout=60)


def test_blocked_connection_timeout_closes_the_connection(private_broker: PrivateBroker) -> None:
    async def main() -> None:
        params = pika.URLParameters(private_broker.url)
        params.blocked_connection_timeout = 1.0
        conn = await pika.aio.connect(params)
        ch = await conn.channel()
        await asyncio.to_thread(private_broker.set_memory_alarm)
        try:
            await ch.basic_publish('', 'nowhere', b'gets the connection blocked')
            cause = await asyncio.wait_for(conn.wait_closed(), 20)
        finally:
            await asyncio.to_thread(private_broker.clear_memory_alarm)
        assert isinstance(cause, exceptions.ConnectionBlockedTimeout)

    run('asyncio', main, timeout=60)
