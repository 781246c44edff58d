"""`pika.aio` under cancellation, at each await point, against the real broker.

The rule (docs/aio.md): a cancelled or timed-out wait leaves the channel usable, and a late
reply is consumed in order and discarded, never handed to the next caller. Each test cancels a
task after its request went out (one loop step: the connection writes at the end of the step),
then checks both the next call's result and what the broker did with the abandoned request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import pika.aio
from pika import exceptions
from tests.helpers.aio import LOOP_KINDS, run, wait_queue_state

pytestmark = pytest.mark.broker


@pytest.fixture(params=LOOP_KINDS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _sent_then_cancelled(awaitable: Any) -> None:
    """Start ``awaitable`` as a task, let its request go out, cancel it before the reply."""
    task = asyncio.ensure_future(awaitable)
    await asyncio.sleep(0)  # the task sent its request and awaits the reply
    await asyncio.sleep(0)  # the connection's end-of-step write ran
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_cancelled_rpc_reply_is_discarded_in_order(
    loop_kind: str, amqp_url: str, unique_name: str
) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            await _sent_then_cancelled(ch.queue_declare(unique_name + '.a', auto_delete=True))
            ok = await ch.queue_declare(unique_name + '.b', auto_delete=True)
            assert ok.method.queue == unique_name + '.b'  # not the abandoned one's reply
            first = await ch.queue_declare(unique_name + '.a', passive=True)
            assert first.method.queue == unique_name + '.a'  # it was declared all the same
            for name in ('.a', '.b'):
                await ch.queue_delete(unique_name + name)

    run(loop_kind, main)


def test_wait_for_timeout_on_an_rpc(amqp_url: str, unique_name: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ch.queue_declare(unique_name, auto_delete=True), 1e-6)
            results = await asyncio.gather(
                ch.queue_declare(unique_name + '.x', auto_delete=True),
                ch.queue_declare(unique_name + '.y', auto_delete=True),
            )
            assert [r.method.queue for r in results] == [unique_name + '.x', unique_name + '.y']
            for name in ('', '.x', '.y'):
                await ch.queue_delete(unique_name + name)

    run('asyncio', main)


def test_cancelled_basic_get_requeues_its_message(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.basic_publish('', queue, b'not lost')
            await ch.queue_declare(queue, passive=True)
            await _sent_then_cancelled(ch.basic_get(queue))
            for _ in range(100):
                msg = await ch.basic_get(queue)
                if msg is not None:
                    break
                await asyncio.sleep(0.05)
            assert msg is not None and msg.body == b'not lost' and msg.redelivered
            await msg.ack()

    run('asyncio', main)


def test_cancelled_consume_start_leaves_no_consumer(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.basic_publish('', queue, b'stays in the queue')

            async def enter() -> None:
                async with ch.consume(queue) as messages:
                    await messages.__anext__()

            await _sent_then_cancelled(enter())
            # no consumer left, and its delivery, if any, was requeued
            await wait_queue_state(ch, queue, messages=1, consumers=0)
            msg = await ch.basic_get(queue)
            assert msg is not None and msg.body == b'stays in the queue'
            await msg.ack()

    run('asyncio', main)


def test_cancelled_confirm_wait_leaves_the_channel_usable(loop_kind: str, amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.confirm_delivery()
            ch.confirm_window = 2
            await _sent_then_cancelled(ch.basic_publish('', queue, b'1'))
            await _sent_then_cancelled(ch.basic_publish('', queue, b'2'))
            # both still count in the window until their confirms come, then slots free up
            await asyncio.wait_for(ch.basic_publish('', queue, b'3'), 10)
            await ch.basic_publish('', queue, b'4')
            assert (await ch.queue_declare(queue, passive=True)).method.message_count == 4

    run(loop_kind, main)


def test_cancelled_wait_for_the_next_message(loop_kind: str, amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            async with ch.consume(queue, prefetch=10) as messages:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(messages.__anext__(), 0.2)
                await ch.basic_publish('', queue, b'after the time-out')
                msg = await asyncio.wait_for(messages.__anext__(), 10)
                assert msg.body == b'after the time-out'
                await msg.ack()

    run(loop_kind, main)


def test_cancelled_channel_open_closes_the_late_channel(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            await _sent_then_cancelled(conn.channel())
            for _ in range(100):
                if not conn.core.channels:
                    break
                await asyncio.sleep(0.02)
            assert not conn.core.channels  # opened late, closed by us
            ch = await conn.channel()
            await ch.queue_declare('', exclusive=True)

    run('asyncio', main)


def test_cancelled_consumer_exit_still_cancels(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            consumer = ch.consume(queue, prefetch=5)
            await consumer.start()
            await wait_queue_state(ch, queue, consumers=1)
            await _sent_then_cancelled(consumer.cancel())  # Basic.Cancel already went out
            await wait_queue_state(ch, queue, consumers=0)
            await ch.basic_publish('', queue, b'x')
            assert (await ch.basic_get(queue)) is not None

    run('asyncio', main)


def test_connection_loss_fails_every_wait(amqp_url: str) -> None:
    async def main() -> None:
        conn = await pika.aio.connect(amqp_url)
        ch = await conn.channel()
        queue = (await ch.queue_declare('', exclusive=True)).method.queue
        async with ch.consume(queue) as messages:
            waiting = asyncio.ensure_future(messages.__anext__())
            await asyncio.sleep(0.05)
            conn.data_received(b'\x01\x00\x00garbage frame that breaks the protocol\xce')
            with pytest.raises(exceptions.AMQPConnectionError):
                await asyncio.wait_for(waiting, 10)
        reason = await conn.wait_closed()
        assert isinstance(reason, exceptions.AMQPConnectionError)
        with pytest.raises(exceptions.ConnectionClosed):  # the cause, once
            await ch.queue_declare('', exclusive=True)
        with pytest.raises(exceptions.ChannelWrongStateError):
            await ch.queue_declare('', exclusive=True)

    run('asyncio', main)
