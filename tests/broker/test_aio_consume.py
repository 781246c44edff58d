"""`pika.aio` consuming against the real broker: `async with ch.consume(...)`, `async for`,
`msg.process()`, requeue of prefetched messages on exit, and how iteration ends."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import pytest

import pika
import pika.aio
from pika import exceptions
from tests.helpers.aio import ALL_KINDS, gather, run, sleep, wait_queue_state

if TYPE_CHECKING:
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker


@pytest.fixture(params=ALL_KINDS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_consume_with_process_acks_and_requeues_on_error(loop_kind: str, amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            for i in range(20):
                await ch.basic_publish('', queue, b'%d' % i)
            done: list[bytes] = []
            failed_once = False
            async with ch.consume(queue, prefetch=5) as messages:
                async for msg in messages:
                    try:
                        async with msg.process(requeue_on_error=True):
                            if msg.body == b'2' and not failed_once:
                                failed_once = True
                                raise RuntimeError('first attempt fails')
                            done.append(msg.body)
                    except RuntimeError:
                        continue
                    if msg.body == b'2':
                        assert msg.redelivered
                    if len(done) == 20:
                        break
            assert sorted(done, key=int) == [b'%d' % i for i in range(20)]
            await wait_queue_state(ch, queue, 0, 0)

    run(loop_kind, main)


def test_exit_requeues_prefetched_messages(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            for i in range(100):
                await ch.basic_publish('', queue, b'%d' % i)
            async with ch.consume(queue, prefetch=50) as messages:
                first = await messages.__anext__()
                for _ in range(100):  # let the prefetch window fill
                    if messages.buffered == 49:
                        break
                    await asyncio.sleep(0.02)
                assert messages.buffered == 49
                await first.ack()
            assert messages.buffered == 0
            await wait_queue_state(ch, queue, 99, 0)  # none lost, none left unacked
            again = await ch.basic_get(queue)
            assert again is not None and again.body == b'1' and again.redelivered

    run('asyncio', main)


def test_handed_out_messages_stay_the_applications_after_exit(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.basic_publish('', queue, b'kept')
            async with ch.consume(queue) as messages:
                msg = await messages.__anext__()
            await msg.ack()  # still valid on the open channel
            await wait_queue_state(ch, queue, 0, 0)
            with pytest.raises(StopAsyncIteration):
                await messages.__anext__()

    run('asyncio', main)


def test_auto_ack_consumer(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            for i in range(3):
                await ch.basic_publish('', queue, b'%d' % i)
            bodies = []
            async with ch.consume(queue, auto_ack=True) as messages:
                async for msg in messages:
                    with pytest.raises(exceptions.AMQPChannelError):
                        await msg.ack()
                    bodies.append(msg.body)
                    if len(bodies) == 3:
                        break
            assert bodies == [b'0', b'1', b'2']
            await wait_queue_state(ch, queue, 0, 0)

    run('asyncio', main)


def test_broker_cancel_ends_iteration_with_consumer_cancelled(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.basic_publish('', queue, b'before delete')
            other = await conn.channel()
            got = []
            with pytest.raises(exceptions.ConsumerCancelled):
                async with ch.consume(queue) as messages:
                    async for msg in messages:
                        got.append(msg.body)
                        await msg.ack()
                        await other.queue_delete(queue)
            assert got == [b'before delete']
            assert ch.is_open

    run('asyncio', main)


def test_channel_closed_by_broker_ends_iteration_with_its_error(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            ch = await conn.channel()
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.basic_publish('', queue, b'x')
            with pytest.raises(exceptions.ChannelClosedByBroker) as info:
                async with ch.consume(queue) as messages:
                    async for _msg in messages:
                        await ch.basic_ack(9999)  # unknown tag: the broker closes the channel
            assert info.value.reply_code == 406
            assert ch.is_closed

    run('asyncio', main)


def test_closing_the_channel_ends_iteration_quietly(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            ch = await conn.channel()
            queue = (await ch.queue_declare('', exclusive=True)).method.queue

            async def iterate() -> int:
                seen = 0
                async with ch.consume(queue) as messages:
                    async for _msg in messages:
                        seen += 1
                return seen

            task = asyncio.ensure_future(iterate())
            await asyncio.sleep(0.2)
            await ch.close()
            assert await asyncio.wait_for(task, 10) == 0

    run('asyncio', main)


def test_two_consumers_on_one_channel(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            first = (await ch.queue_declare('', exclusive=True)).method.queue
            second = (await ch.queue_declare('', exclusive=True)).method.queue
            async with ch.consume(first) as a, ch.consume(second) as b:
                await ch.basic_publish('', second, b'to b')
                await ch.basic_publish('', first, b'to a')
                msg_a = await asyncio.wait_for(a.__anext__(), 10)
                msg_b = await asyncio.wait_for(b.__anext__(), 10)
                assert (msg_a.body, msg_b.body) == (b'to a', b'to b')
                await msg_a.ack()
                await msg_b.ack()
            with pytest.raises(exceptions.DuplicateConsumerTag):
                async with (
                    ch.consume(first, consumer_tag='t'),
                    ch.consume(second, consumer_tag='t'),
                ):
                    pass

    run('asyncio', main)


@pytest.mark.skipif(sys.version_info < (3, 11), reason='asyncio.timeout is new in Python 3.11')
def test_asyncio_timeout_around_async_for(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.basic_publish('', queue, b'only one')
            got = []
            async with ch.consume(queue, prefetch=5) as messages:
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.5):
                        async for msg in messages:
                            got.append(msg.body)
                            await msg.ack()
                await ch.basic_publish('', queue, b'still consuming')
                msg = await asyncio.wait_for(messages.__anext__(), 10)
                assert msg.body == b'still consuming'
                await msg.ack()
            assert got == [b'only one']

    run('asyncio', main)


def test_slow_consumer_without_prefetch_keeps_memory_bounded(
    loop_kind: str, broker_address: BrokerAddress
) -> None:
    """auto_ack and no prefetch: the broker sends as fast as TCP allows, so the connection
    stops reading (the transport's pause_reading, on every backend) once its consumers buffer
    more than delivery_backlog_high bytes, and replies still come while it is paused."""
    body = b'z' * 10_000
    count = 1000  # 10 MB

    async def main() -> None:
        params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
        params.delivery_backlog_high = 1 << 20
        params.delivery_backlog_low = 1 << 19
        async with await pika.aio.connect(params) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.confirm_delivery()
            await gather(*(ch.basic_publish('', queue, body) for _ in range(count)))
            got = 0
            async with ch.consume(queue, auto_ack=True) as messages:
                async for _msg in messages:
                    got += 1
                    if got == 1:
                        await sleep(1.5)  # slow: the broker keeps sending
                        assert conn.reading_paused
                        held = messages.buffered * (len(body) + 1024)
                        assert held <= (1 << 20) + 4 * 256 * 1024, messages.buffered
                        ok = await ch.queue_declare(queue, passive=True)  # replies still come
                        assert ok.method.queue == queue
                    if got == count:
                        break
            assert got == count

    run(loop_kind, main)


def test_basic_consume_with_sync_and_async_callbacks(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            seen: list[bytes] = []
            done = asyncio.Event()

            async def on_message(msg: pika.aio.Message) -> None:
                async with msg.process():
                    if msg.body == b'boom' and not msg.redelivered:
                        raise RuntimeError('logged, requeued, and the next message follows')
                    seen.append(msg.body)
                    if len(seen) == 3:
                        done.set()

            tag = await ch.basic_consume(queue, on_message)
            for body in (b'a', b'boom', b'c'):
                await ch.basic_publish('', queue, body)
            await asyncio.wait_for(done.wait(), 10)
            assert sorted(seen) == [b'a', b'boom', b'c']
            ok = await ch.basic_cancel(tag)
            assert ok.method.consumer_tag == tag
            assert (await ch.queue_declare(queue, passive=True)).method.consumer_count == 0
            plain: list[int] = []
            other = await ch.basic_consume(queue, lambda m: plain.append(m.delivery_tag), True)
            await ch.basic_publish('', queue, b'auto acked')
            for _ in range(100):
                if plain:
                    break
                await asyncio.sleep(0.02)
            assert len(plain) == 1
            await ch.basic_cancel(other)
            with pytest.raises(TypeError):
                await ch.basic_consume(queue, 'not callable')  # type: ignore[arg-type]

    run('asyncio', main)
