"""`pika.aio`'s hot paths without a broker or socket: CPU per message of publish, consume
(ack each), pipelined confirms and RPC round trips (one task per call), the broker's bytes fed
straight into the connection.

    PYTHONPATH=. python bench/aio_offline.py [--messages 200000] [--runs 5]

What is measured is our code and asyncio's (tasks, futures), not the kernel's or the broker's:
steadier than bench/aio_quick.py for A/B decisions on a busy machine (median of the runs).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from pika import spec
from tests.helpers import server_frames as sf
from tests.helpers.aio_fake import consume_ok, open_channel, open_connection

BATCH = 100


async def publish(count: int) -> float:
    conn, backend = await open_connection()
    ch = await open_channel(conn)
    assert backend.transport is not None
    started = time.process_time()
    for _ in range(count):
        await ch.basic_publish('', 'q', b'x' * 16)
        if len(backend.transport.written) > 1 << 20:
            backend.transport.written.clear()
    return (time.process_time() - started) / count


async def consume(count: int) -> float:
    conn, backend = await open_connection()
    ch = await open_channel(conn)
    assert backend.transport is not None
    consumer = ch.consume('q', consumer_tag='ctag1')
    start = asyncio.ensure_future(consumer.start())
    await asyncio.sleep(0)
    conn.data_received(consume_ok(1, 'ctag1'))
    await start
    chunks = [
        b''.join(sf.deliver(1, b'x' * 16, tag) for tag in range(base + 1, base + BATCH + 1))
        for base in range(0, count, BATCH)
    ]
    started = time.process_time()
    received = 0
    for chunk in chunks:
        conn.data_received(chunk)
        async for message in consumer:
            await message.ack()
            received += 1
            if consumer.buffered == 0:
                break
        backend.transport.written.clear()
    assert received == count
    return (time.process_time() - started) / count


async def confirms(count: int) -> float:
    conn, backend = await open_connection()
    ch = await open_channel(conn)
    assert backend.transport is not None
    done = asyncio.ensure_future(ch.confirm_delivery())
    await asyncio.sleep(0)
    conn.data_received(sf.method(1, spec.Confirm.SelectOk()))
    await done
    started = time.process_time()
    for base in range(0, count, BATCH):
        tasks = [asyncio.ensure_future(ch.basic_publish('', 'q', b'x')) for _ in range(BATCH)]
        await asyncio.sleep(0)
        conn.data_received(sf.method(1, spec.Basic.Ack(base + BATCH, True)))
        await asyncio.gather(*tasks)
        backend.transport.written.clear()
    return (time.process_time() - started) / count


async def rpc(count: int) -> float:
    conn, backend = await open_connection()
    ch = await open_channel(conn)
    assert backend.transport is not None
    reply = sf.method(1, spec.Queue.DeclareOk('q', 0, 0))
    count = min(count, 50_000)
    started = time.process_time()
    for _ in range(count):
        call = asyncio.ensure_future(ch.queue_declare('q', passive=True))
        await asyncio.sleep(0)
        conn.data_received(reply)
        await call
        backend.transport.written.clear()
    return (time.process_time() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--messages', type=int, default=200_000)
    parser.add_argument('--runs', type=int, default=5)
    options = parser.parse_args()
    scenarios = (('publish', publish), ('consume', consume), ('confirms', confirms), ('rpc', rpc))
    for name, scenario in scenarios:
        runs = [asyncio.run(scenario(options.messages)) for _ in range(options.runs)]
        print(
            f'{name:9s} {statistics.median(runs) * 1e6:6.2f} us CPU/msg (median of {options.runs})'
        )


if __name__ == '__main__':
    main()
