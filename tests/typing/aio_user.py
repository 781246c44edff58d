"""A `pika.aio` service as users write it (type-checked with --strict only, never run)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Optional

import pika
import pika.aio
from pika import exceptions


async def connect(url: str) -> pika.aio.Connection:
    params = pika.URLParameters(url)
    params.heartbeat = 30
    return await pika.aio.connect([params, 'amqp://guest:guest@backup/'], rpc_timeout=10.0)


async def setup(ch: pika.aio.Channel, exchange: str) -> str:
    await ch.exchange_declare(exchange, exchange_type='topic', durable=True)
    await ch.exchange_declare(exchange + '.alt', pika.ExchangeType.fanout)
    declared = await ch.queue_declare('', exclusive=True, arguments={'x-max-length': 100})
    queue: str = declared.method.queue
    count: int = declared.method.message_count
    print(count)
    await ch.queue_bind(queue, exchange, routing_key='orders.*', timeout=5.0)
    await ch.basic_qos(prefetch_count=50)
    await ch.confirm_delivery()
    ch.confirm_window = 1000
    return queue


async def publish(ch: pika.aio.Channel, exchange: str, order: dict[str, Any]) -> bool:
    props = pika.BasicProperties(content_type='application/json', delivery_mode=2)
    try:
        await ch.basic_publish(exchange, 'orders.new', json.dumps(order), props, mandatory=True)
    except exceptions.UnroutableError as error:
        print(error.messages[0].body)
        return False
    except exceptions.NackError:
        return False
    return True


async def consume(ch: pika.aio.Channel, queue: str) -> list[bytes]:
    bodies: list[bytes] = []
    async with ch.consume(queue, prefetch=10) as messages:
        async for msg in messages:
            async with msg.process(requeue_on_error=False):
                tag: int = msg.delivery_tag
                reply_to: Optional[str] = msg.properties.reply_to
                print(tag, reply_to, msg.redelivered, msg.routing_key, msg.exchange)
                bodies.append(msg.body)
            if len(bodies) == 10:
                break
    got = await ch.basic_get(queue)
    if got is not None:
        await got.nack(requeue=True)
    return bodies


async def callbacks(ch: pika.aio.Channel, queue: str) -> None:
    async def on_message(msg: pika.aio.Message) -> None:
        async with msg.process():
            print(msg.body)

    def on_message_sync(msg: pika.aio.Message) -> None:
        print(msg.delivery_tag)

    tag: str = await ch.basic_consume(queue, on_message)
    await ch.basic_consume(queue, on_message_sync, auto_ack=True, consumer_tag='sync')
    await ch.basic_cancel(tag)


async def rpc_reply(ch: pika.aio.Channel, msg: pika.aio.Message) -> None:
    props = pika.BasicProperties(correlation_id=msg.properties.correlation_id)
    await ch.basic_publish('', msg.properties.reply_to, msg.body, props)
    await msg.ack()


async def main() -> None:
    conn = await connect('amqp://localhost/')
    conn.add_on_close_callback(lambda c, error: print(error))
    conn.add_on_blocked_callback(lambda c, method: print('blocked', method))
    async with conn:
        async with await conn.channel() as ch:
            queue = await setup(ch, 'orders')
            results = await asyncio.gather(*(publish(ch, 'orders', {'id': i}) for i in range(10)))
            print(sum(results), await consume(ch, queue))
            try:
                await asyncio.wait_for(ch.queue_purge(queue), 1.0)
            except (asyncio.TimeoutError, exceptions.OperationTimeout):
                pass
        await conn.wait_unblocked(timeout=1.0)
        print(conn.is_blocked, conn.is_open, conn.close_reason)
    cause: BaseException = await conn.wait_closed(timeout=30.0)
    print(cause)


asyncio.run(main())
