"""The server half of a `pika.aio` RPC pair: answer requests from a queue.

A request's body is an integer n; the reply is n squared, published to the request's
``reply_to`` queue with its ``correlation_id``. The request is acknowledged only after the
reply was published (on a confirm-mode channel, so the reply is safely with the broker).

    python examples/aio_rpc_server.py --url amqp://guest:guest@localhost/ --count 5
"""

from __future__ import annotations

import argparse
import asyncio

import pika
import pika.aio


async def serve(url: str, queue: str, count: int) -> int:
    """Answer ``count`` requests (0: forever); return how many were answered."""
    answered = 0
    async with await pika.aio.connect(url) as conn, await conn.channel() as ch:
        await ch.queue_declare(queue, auto_delete=True)
        await ch.confirm_delivery()
        print('ready', flush=True)
        async with ch.consume(queue, prefetch=20) as requests:
            async for request in requests:
                async with request.process(requeue_on_error=False):
                    number = int(request.body)
                    reply = pika.BasicProperties(correlation_id=request.properties.correlation_id)
                    await ch.basic_publish(
                        '', request.properties.reply_to, b'%d' % (number * number), reply
                    )
                answered += 1
                if answered == count:
                    break
    return answered


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='amqp://guest:guest@localhost:5672/%2F')
    parser.add_argument('--queue', default='aio_rpc')
    parser.add_argument('--count', type=int, default=0)
    args = parser.parse_args()
    print('answered', asyncio.run(serve(args.url, args.queue, args.count)))
