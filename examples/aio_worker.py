"""A `pika.aio` worker: take tasks from a durable queue, a bounded number at a time.

Each message is processed inside ``msg.process()``: acknowledged when the block succeeds,
nacked and requeued when it raises (here: a body of ``fail`` fails once). Leaving the
``async with ch.consume(...)`` block gives every prefetched, unprocessed message back to the
queue. Run it, then publish to the queue (``aio_confirm_publisher.py --queue aio_tasks``):

    python examples/aio_worker.py --url amqp://guest:guest@localhost/ --count 10
"""

from __future__ import annotations

import argparse
import asyncio

import pika.aio


async def work(body: bytes) -> str:
    """The task itself: pretend to work, return what to report."""
    await asyncio.sleep(0)
    return body.decode('utf-8', 'replace').upper()


async def main(url: str, queue: str, count: int, prefetch: int) -> int:
    """Process ``count`` tasks (0: until interrupted); return how many were processed."""
    failed_once: set[bytes] = set()
    done = 0
    async with await pika.aio.connect(url) as conn, await conn.channel() as ch:
        await ch.queue_declare(queue, durable=True)
        async with ch.consume(queue, prefetch=prefetch) as messages:
            async for msg in messages:
                try:
                    async with msg.process(requeue_on_error=True):
                        if msg.body == b'fail' and msg.body not in failed_once:
                            failed_once.add(msg.body)
                            raise RuntimeError('a transient failure: requeued')
                        print('done', await work(msg.body), flush=True)
                except RuntimeError as error:
                    print('retry', error, flush=True)
                    continue
                done += 1
                if done == count:
                    break
    return done


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='amqp://guest:guest@localhost:5672/%2F')
    parser.add_argument('--queue', default='aio_tasks')
    parser.add_argument('--count', type=int, default=0, help='stop after this many (0: never)')
    parser.add_argument('--prefetch', type=int, default=10)
    args = parser.parse_args()
    processed = asyncio.run(main(args.url, args.queue, args.count, args.prefetch))
    print('processed', processed)
