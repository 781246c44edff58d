"""The client half of a `pika.aio` RPC pair: many calls in flight on one connection.

Replies come to an exclusive, server-named queue, consumed with ``auto_ack`` by one task that
hands each reply to the future of the call with the same ``correlation_id``. ``call()`` is
bounded: it raises ``asyncio.TimeoutError`` when no reply comes in time.

    python examples/aio_rpc_client.py --url amqp://guest:guest@localhost/ 1 2 3
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

import pika
import pika.aio


class RpcClient:
    """Calls the squaring server of ``aio_rpc_server.py``."""

    def __init__(self, channel: pika.aio.Channel, server_queue: str) -> None:
        self.channel = channel
        self.server_queue = server_queue
        self.reply_queue = ''
        self.waiting: dict[str, asyncio.Future[int]] = {}
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        declared = await self.channel.queue_declare('', exclusive=True)
        self.reply_queue = declared.method.queue
        consumer = self.channel.consume(self.reply_queue, auto_ack=True)
        await consumer.start()
        self._listener = asyncio.ensure_future(self._listen(consumer))

    async def _listen(self, replies: pika.aio.Consumer) -> None:
        async for reply in replies:
            future = self.waiting.pop(reply.properties.correlation_id or '', None)
            if future is not None and not future.done():
                future.set_result(int(reply.body))

    async def call(self, number: int, timeout: float = 10.0) -> int:
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[correlation_id] = future
        props = pika.BasicProperties(reply_to=self.reply_queue, correlation_id=correlation_id)
        try:
            await self.channel.basic_publish('', self.server_queue, b'%d' % number, props)
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(correlation_id, None)

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()


async def main(url: str, queue: str, numbers: list[int]) -> list[int]:
    async with await pika.aio.connect(url) as conn, await conn.channel() as ch:
        client = RpcClient(ch, queue)
        await client.start()
        try:
            return list(await asyncio.gather(*(client.call(n) for n in numbers)))
        finally:
            client.stop()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', default='amqp://guest:guest@localhost:5672/%2F')
    parser.add_argument('--queue', default='aio_rpc')
    parser.add_argument('numbers', type=int, nargs='+')
    args = parser.parse_args()
    for number, result in zip(args.numbers, asyncio.run(main(args.url, args.queue, args.numbers))):
        print(f'{number}^2 = {result}')
