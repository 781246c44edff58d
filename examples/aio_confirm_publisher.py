"""A `pika.aio` publisher that keeps 1,000 publisher confirms in flight.

Each message is published by its own small task; a set of pending tasks is topped up to
``--in-flight`` and drained as confirms come back, so the broker always has work and the
memory used stays bounded (the channel's ``confirm_window`` bounds it too). Every message is
confirmed before the program ends; a refused one (``NackError``) or an unroutable mandatory
one (``UnroutableError``) is counted as failed.

    python examples/aio_confirm_publisher.py --url amqp://guest:guest@localhost/ --count 100000
"""

from __future__ import annotations

import argparse
import asyncio
import time

import pika
import pika.aio
from pika import exceptions


async def publish_all(url: str, queue: str, count: int, in_flight: int) -> tuple[int, int]:
    """Publish ``count`` messages to ``queue``; return (confirmed, failed)."""
    confirmed = failed = 0
    async with await pika.aio.connect(url) as conn, await conn.channel() as ch:
        await ch.queue_declare(queue, durable=True)
        await ch.confirm_delivery()
        ch.confirm_window = in_flight
        props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
        pending: set[asyncio.Future[None]] = set()
        sent = 0
        while sent < count or pending:
            while sent < count and len(pending) < in_flight:
                body = b'message %d' % sent
                pending.add(asyncio.ensure_future(ch.basic_publish('', queue, body, props, True)))
                sent += 1
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is None:
                    confirmed += 1
                elif isinstance(error, (exceptions.NackError, exceptions.UnroutableError)):
                    failed += 1
                else:
                    raise error
    return confirmed, failed


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='amqp://guest:guest@localhost:5672/%2F')
    parser.add_argument('--queue', default='aio_tasks')
    parser.add_argument('--count', type=int, default=10_000)
    parser.add_argument('--in-flight', type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    ok, refused = asyncio.run(publish_all(args.url, args.queue, args.count, args.in_flight))
    elapsed = time.perf_counter() - started
    print(f'confirmed {ok} failed {refused} in {elapsed:.2f} s ({ok / elapsed:,.0f} msgs/s)')
