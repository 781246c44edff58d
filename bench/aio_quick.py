"""Quick `pika.aio` numbers: msgs/s and client CPU per message of publish, consume (ack each),
pipelined confirms and RPC round trips, on asyncio or uvloop, against the broker of AMQP_URL.

    PYTHONPATH=. python bench/aio_quick.py [--loop uvloop] [--messages 100000]

One run per scenario, no reference client: for a quick look and A/B checks of `pika.aio`'s hot
paths; side-by-side comparisons with aio-pika and aiormq belong in a run.py-style benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any, Callable

import pika.aio

URL = os.environ.get('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672/%2F')


class Meter:
    """Wall and CPU time of one scenario."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def report(self, name: str, count: int) -> None:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        print(f'{name:10s} {count / wall:10,.0f} msgs/s   {cpu / count * 1e6:6.2f} us CPU/msg')


async def publish(ch: pika.aio.Channel, queue: str, count: int, body: bytes) -> None:
    meter = Meter()
    for _ in range(count):
        await ch.basic_publish('', queue, body)
    await ch.queue_declare(queue, passive=True)  # the broker has taken them all
    meter.report('publish', count)


async def consume(ch: pika.aio.Channel, queue: str, count: int) -> None:
    meter = Meter()
    received = 0
    async with ch.consume(queue, prefetch=1000) as messages:
        async for message in messages:
            await message.ack()
            received += 1
            if received == count:
                break
    meter.report('consume', count)


async def confirms(ch: pika.aio.Channel, queue: str, count: int, body: bytes) -> None:
    await ch.confirm_delivery()
    meter = Meter()
    batch = 1000
    for _start in range(0, count, batch):
        await asyncio.gather(*[ch.basic_publish('', queue, body) for _ in range(batch)])
    meter.report('confirms', count)
    await ch.queue_purge(queue)


async def rpc(ch: pika.aio.Channel, queue: str, count: int) -> None:
    meter = Meter()
    for _ in range(count):
        await ch.queue_declare(queue, passive=True)
    meter.report('rpc', count)


async def main(count: int, size: int) -> None:
    body = b'x' * size
    async with await pika.aio.connect(URL) as conn:
        ch = await conn.channel()
        queue = (await ch.queue_declare('', exclusive=True)).method.queue
        await publish(ch, queue, count, body)
        await consume(ch, queue, count)
        await rpc(ch, queue, min(count, 5000))
        await confirms(ch, queue, count, body)


def _runner(kind: str) -> Callable[[Any], Any]:
    if kind == 'uvloop':
        import uvloop

        return uvloop.run  # type: ignore[no-any-return]
    return asyncio.run


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--loop', choices=('asyncio', 'uvloop'), default='asyncio')
    parser.add_argument('--messages', type=int, default=100_000)
    parser.add_argument('--size', type=int, default=16)
    options = parser.parse_args()
    _runner(options.loop)(main(options.messages, options.size))
