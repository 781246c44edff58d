"""`pika.aio` publishing against the real broker: plain publishes, confirm mode with many in
flight and a bounded window, nacks, returns, flow control and blocked-connection events."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import pika
import pika.aio
from pika import exceptions, spec
from tests.helpers.aio import LOOP_KINDS, run

pytestmark = pytest.mark.broker


@pytest.fixture(params=LOOP_KINDS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_publish_and_get_round_trip_with_properties(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            props = pika.BasicProperties(
                content_type='text/plain', delivery_mode=2, headers={'a': 1}, correlation_id='c'
            )
            await ch.basic_publish('', queue, 'héllo', props)
            await ch.basic_publish('', queue, b'x' * 300_000)  # several body frames
            first = await ch.basic_get(queue)
            assert first is not None
            assert first.body == 'héllo'.encode() and first.properties.headers == {'a': 1}
            assert first.properties.correlation_id == 'c' and first.message_count == 1
            assert first.routing_key == queue and first.exchange == '' and not first.redelivered
            await first.ack()
            second = await ch.basic_get(queue, auto_ack=True)
            assert second is not None and second.body == b'x' * 300_000
            assert await ch.basic_get(queue) is None

    run('asyncio', main)


def test_confirms_with_1000_in_flight(loop_kind: str, amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.confirm_delivery()
            results = await asyncio.gather(
                *(ch.basic_publish('', queue, b'%d' % i) for i in range(1000))
            )
            assert results == [None] * 1000
            declared = await ch.queue_declare(queue, passive=True)
            assert declared.method.message_count == 1000
            first = await ch.basic_get(queue, auto_ack=True)
            assert first is not None and first.body == b'0'  # in publish order

    run(loop_kind, main)


def test_confirm_window_bounds_messages_in_flight(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.confirm_delivery()
            ch.confirm_window = 10
            frames_before = conn.core.frames_sent
            tasks = [asyncio.ensure_future(ch.basic_publish('', queue, b'm')) for _ in range(50)]
            await asyncio.sleep(0)  # every task ran up to its first await
            assert conn.core.frames_sent - frames_before == 10 * 3  # method, header, body each
            await asyncio.gather(*tasks)
            assert (await ch.queue_declare(queue, passive=True)).method.message_count == 50
            with pytest.raises(ValueError):
                ch.confirm_window = 0

    run('asyncio', main)


def test_nack_raises_nack_error(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            arguments = {'x-max-length': 1, 'x-overflow': 'reject-publish'}
            queue = (await ch.queue_declare('', exclusive=True, arguments=arguments)).method.queue
            await ch.confirm_delivery()
            await ch.basic_publish('', queue, b'fits')
            with pytest.raises(exceptions.NackError) as info:
                await ch.basic_publish('', queue, b'refused')
            assert info.value.messages[0].body == b'refused'
            assert isinstance(info.value.messages[0].method, spec.Basic.Nack)
            await ch.basic_publish('', 'pikatest-no-such-queue', b'unroutable but acked')

    run('asyncio', main)


def test_mandatory_unroutable_raises_or_reaches_the_return_callback(amqp_url: str) -> None:
    returned: list[bytes] = []

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            plain = await conn.channel()
            plain.add_on_return_callback(lambda ch, method, props, body: returned.append(body))
            await plain.basic_publish('', 'pikatest-no-such-queue', b'back', mandatory=True)
            await plain.queue_declare('', exclusive=True)  # the Return came before this reply
            confirming = await conn.channel()
            await confirming.confirm_delivery()
            queue = (await confirming.queue_declare('', exclusive=True)).method.queue
            outcomes = await asyncio.gather(
                confirming.basic_publish('', queue, b'ok', mandatory=True),
                confirming.basic_publish('', 'pikatest-no-such-queue', b'lost', mandatory=True),
                confirming.basic_publish('', queue, b'ok too', mandatory=True),
                return_exceptions=True,
            )
            assert outcomes[0] is None and outcomes[2] is None
            assert isinstance(outcomes[1], exceptions.UnroutableError)
            assert outcomes[1].messages[0].body == b'lost'

    run('asyncio', main)
    assert returned == [b'back']


def test_confirm_wait_reports_the_channel_close_once(amqp_url: str) -> None:
    """A confirm-mode publish the broker answers by closing the channel (no such exchange)
    raises ChannelClosedByBroker; the next call raises ChannelWrongStateError, as after a
    failed RPC, not the same close again."""

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            ch = await conn.channel()
            await ch.confirm_delivery()
            with pytest.raises(exceptions.ChannelClosedByBroker) as closed:
                await ch.basic_publish(f'no-such-exchange-{uuid.uuid4().hex}', 'k', b'x')
            assert closed.value.reply_code == 404
            with pytest.raises(exceptions.ChannelWrongStateError):
                await ch.basic_publish('', 'k', b'x')

    run('asyncio', main)


def test_publish_on_a_closed_channel_raises(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            ch = await conn.channel()
            await ch.close()
            with pytest.raises(exceptions.ChannelWrongStateError):
                await ch.basic_publish('', 'q', b'x')
            confirming = await conn.channel()
            await confirming.confirm_delivery()
            pending = asyncio.ensure_future(confirming.basic_publish('', 'q', b'x'))
            await asyncio.sleep(0)
            await conn.close()
            with pytest.raises(exceptions.ChannelClosedByClient):
                await pending  # a closing channel drops confirms: the close fails the wait

    run('asyncio', main)


def test_close_right_after_plain_publishes_loses_nothing(amqp_url: str, unique_name: str) -> None:
    """Publishes without confirms return before they are written; closing the connection
    writes them first, so every one reaches the queue."""

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn:
            ch = await conn.channel()
            await ch.queue_declare(unique_name)
            for i in range(5000):
                await ch.basic_publish('', unique_name, b'%d' % i)
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            for _ in range(100):
                declared = await ch.queue_declare(unique_name, passive=True)
                if declared.method.message_count == 5000:
                    break
                await asyncio.sleep(0.05)
            assert declared.method.message_count == 5000
            await ch.queue_delete(unique_name)

    run('asyncio', main)
