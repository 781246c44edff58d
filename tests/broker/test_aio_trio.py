"""`pika.aio` on trio (and, for the backend-neutral tests, asyncio and uvloop) against the real
broker: backend detection, connect failures, 1,000 confirms in flight, a cancellation at each
await point, and ``trio.fail_after`` time-outs.

The scenarios that need no library-specific call (connect and close, every RPC, consume with
``process()``, the slow consumer's bounded memory) are parametrized by loop kind, trio
included, in test_aio_basic and test_aio_consume; this file holds what is about trio itself
and the cancellation tests that run on all three.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import trio

import pika
import pika.aio
from pika import exceptions
from pika.aio.backend import AsyncioBackend, running_backend
from pika.aio.trio_backend import TrioBackend
from tests.helpers.aio import (
    ALL_KINDS,
    cancel_while_awaiting,
    gather,
    queue_state,
    run,
    wait_queue_state,
)

pytestmark = pytest.mark.broker


@pytest.fixture(params=ALL_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_running_library_chooses_the_backend() -> None:
    async def on_asyncio() -> Any:
        return running_backend()

    async def on_trio() -> Any:
        return running_backend()

    assert isinstance(asyncio.run(on_asyncio()), AsyncioBackend)
    assert isinstance(trio.run(on_trio), TrioBackend)
    with pytest.raises(RuntimeError, match='asyncio event loop or trio'):
        running_backend()
    with pytest.raises(RuntimeError, match=r'inside trio\.run'):
        TrioBackend()


def test_connect_failures_on_trio() -> None:
    async def main() -> None:
        refused = pika.ConnectionParameters(host='127.0.0.1', port=1, connection_attempts=2,
                                            retry_delay=0.01)  # fmt: skip
        with pytest.raises(exceptions.AMQPConnectionError, match='refused'):
            await pika.aio.connect(refused)
        unresolvable = pika.ConnectionParameters(host='no-such-host.invalid',
                                                 connection_attempts=1)  # fmt: skip
        with pytest.raises(exceptions.AMQPConnectionError, match='resolve'):
            await pika.aio.connect(unresolvable)

    run('trio', main)


def test_confirms_with_1000_in_flight_on_trio(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.confirm_delivery()
            ch.confirm_window = 1000
            results = await gather(*(ch.basic_publish('', queue, b'%d' % n) for n in range(1000)))
            assert results == [None] * 1000
            assert await queue_state(ch, queue) == (1000, 0)

    run('trio', main)


def test_trio_fail_after_bounds_a_wait_and_the_channel_stays_usable(amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            async with ch.consume(queue) as messages:
                with pytest.raises(trio.TooSlowError):
                    with trio.fail_after(0.2):
                        await messages.__anext__()
                await ch.basic_publish('', queue, b'after the time-out')
                with trio.fail_after(10):
                    msg = await messages.__anext__()
                assert msg.body == b'after the time-out'
                await msg.ack()
            with trio.move_on_after(0) as scope:
                await ch.queue_declare('', exclusive=True)
            assert scope.cancelled_caught
            assert (await ch.queue_declare(queue, passive=True)).method.queue == queue

    run('trio', main)


def test_cancelled_connect_and_channel_leave_things_usable(kind: str, amqp_url: str) -> None:
    async def main() -> None:
        assert await cancel_while_awaiting(lambda: pika.aio.connect(amqp_url))
        async with await pika.aio.connect(amqp_url) as conn:
            assert await cancel_while_awaiting(conn.channel)
            ch = await conn.channel()
            assert ch.channel_number == 2  # the abandoned one closes once opened
            await ch.queue_declare('', exclusive=True)
            assert conn.is_open

    run(kind, main)


def test_cancelled_rpc_reply_is_discarded_in_order(kind: str, amqp_url: str) -> None:
    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            named = (await ch.queue_declare('', exclusive=True)).method.queue
            assert await cancel_while_awaiting(lambda: ch.queue_declare('', exclusive=True))
            again = await ch.queue_declare(named, passive=True)
            assert again.method.queue == named  # not the late reply of the cancelled call
            assert ch.is_open

    run(kind, main)


def test_cancelled_confirm_wait_and_basic_get(kind: str, amqp_url: str) -> None:
    """A publish whose confirm wait is cancelled is still sent (and confirmed for nobody); a
    cancelled basic_get's late message goes back to the queue, never lost."""

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            await ch.confirm_delivery()
            assert await cancel_while_awaiting(lambda: ch.basic_publish('', queue, b'first'))
            await ch.basic_publish('', queue, b'second')
            assert await queue_state(ch, queue) == (2, 0)
            assert await cancel_while_awaiting(lambda: ch.basic_get(queue))
            await wait_queue_state(ch, queue, 2, 0)
            bodies = []
            for _ in range(2):
                msg = await ch.basic_get(queue)
                assert msg is not None
                bodies.append(msg.body)
                await msg.ack()
            assert sorted(bodies) == [b'first', b'second']

    run(kind, main)


def test_cancelled_next_message_and_consume_start(kind: str, amqp_url: str) -> None:
    """Cancelling ``async for``'s wait loses no message; a cancelled consume start leaves no
    consumer on the broker."""

    async def main() -> None:
        async with await pika.aio.connect(amqp_url) as conn, await conn.channel() as ch:
            queue = (await ch.queue_declare('', exclusive=True)).method.queue
            async with ch.consume(queue) as messages:
                assert await cancel_while_awaiting(messages.__anext__)
                await ch.basic_publish('', queue, b'kept')
                msg = await messages.__anext__()
                assert msg.body == b'kept'
                await msg.ack()
            await wait_queue_state(ch, queue, 0, 0)

            async def start() -> None:
                await ch.consume(queue).start()

            assert await cancel_while_awaiting(start)
            await wait_queue_state(ch, queue, 0, 0)
            assert ch.is_open

    run(kind, main)
