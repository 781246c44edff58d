"""One measurement of an async client, in its own process: ``python aio_scenarios.py '<job>'``.

Runs under our interpreter (clients ``ours``, ``ours-uvloop``, ``ours-trio``: `pika.aio` on
asyncio, uvloop or trio; ``raw-asyncio``, ``raw-uvloop``: the asyncio floor, ``rpc`` only),
under ``bench/.venv-aio-ref`` (``aio-pika``, ``aiormq``), or either (``raw``: the raw-socket
ceiling of ``raw_ceiling.py``). It imports only the client it
measures, so aio-pika never shares a process with our code. Prints one JSON line (the protocol
of ``raw_ceiling.run_job_main``): ``count``, ``elapsed`` and ``cpu`` (process CPU seconds) of
the timed section, plus ``p50_us`` for ``rpc``.

Every client runs the same shape of work: ``publish`` (no confirms; timed until the broker
counts every message), ``consume`` (a prefilled queue, prefetch 1000, ack each), ``confirm``
(pipelined confirms: 1000 publishers each awaiting its own confirm, so 1000 in flight) and
``rpc`` (Queue.Declare passive round trips, one at a time).
"""

from __future__ import annotations

import asyncio
import statistics
import struct
import time
from typing import Any, Callable

from raw_ceiling import (
    FRAME_METHOD,
    Meter,
    RawConnection,
    declare_frame,
    method,
    run_job_main,
    run_raw,
    shortstr,
)

URL = 'amqp://guest:guest@127.0.0.1:5672/%2F'
PREFETCH = 1000
IN_FLIGHT = 1000


async def _spread(count: int, workers: int, one: Callable[[], Any], trio_run: bool) -> None:
    """Run ``one()`` ``count`` times from ``workers`` concurrent tasks (each awaits its own)."""
    share, extra = divmod(count, workers)

    async def worker(times: int) -> None:
        for _ in range(times):
            await one()

    sizes = [share + (index < extra) for index in range(workers)]
    if trio_run:
        import trio

        async with trio.open_nursery() as nursery:
            for size in sizes:
                nursery.start_soon(worker, size)
    else:
        await asyncio.gather(*(worker(size) for size in sizes))


async def _until_count(depth: Callable[[], Any], count: int, trio_run: bool) -> None:
    """Poll the queue depth (one passive declare each) until the broker holds ``count``."""
    while await depth() < count:
        if trio_run:
            import trio

            await trio.sleep(0.005)
        else:
            await asyncio.sleep(0.005)


def _rpc_result(meter: Meter, latencies: list[float]) -> dict[str, Any]:
    out = meter.result(len(latencies))
    out['p50_us'] = statistics.median(latencies) * 1e6
    return out


async def ours(job: dict[str, Any], trio_run: bool = False) -> dict[str, Any]:
    """`pika.aio` (the running library picks the backend)."""
    import pika.aio

    scenario, queue, count = job['scenario'], job['queue'], job['count']
    body = b'x' * job['body_size']
    meter = Meter()
    async with await pika.aio.connect(URL) as conn, await conn.channel() as ch:

        async def depth() -> int:
            return int((await ch.queue_declare(queue, passive=True)).method.message_count)

        if scenario == 'publish':
            meter.start()
            for _ in range(count):
                await ch.basic_publish('', queue, body)
            await _until_count(depth, count, trio_run)
            meter.stop()
        elif scenario == 'consume':
            seen = 0
            meter.start()
            async with ch.consume(queue, prefetch=PREFETCH) as messages:
                async for msg in messages:
                    await msg.ack()
                    seen += 1
                    if seen == count:
                        meter.stop()
                        break
        elif scenario == 'confirm':
            await ch.confirm_delivery()
            ch.confirm_window = IN_FLIGHT
            meter.start()
            await _spread(count, IN_FLIGHT, lambda: ch.basic_publish('', queue, body), trio_run)
            meter.stop()
        elif scenario == 'rpc':
            latencies = []
            clock = time.perf_counter
            meter.start()
            for _ in range(count):
                start = clock()
                await ch.queue_declare(queue, passive=True)
                latencies.append(clock() - start)
            meter.stop()
            return _rpc_result(meter, latencies)
    return meter.result(count)


async def aio_pika_client(job: dict[str, Any]) -> dict[str, Any]:
    """aio-pika, through its documented high-level API."""
    import aio_pika

    scenario, queue, count = job['scenario'], job['queue'], job['count']
    body = b'x' * job['body_size']
    meter = Meter()
    conn = await aio_pika.connect(URL)
    try:
        ch = await conn.channel(publisher_confirms=scenario == 'confirm')
        exchange = ch.default_exchange

        async def depth() -> int:
            declared = await ch.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count)

        async def publish() -> None:
            await exchange.publish(aio_pika.Message(body), routing_key=queue)

        if scenario == 'publish':
            meter.start()
            for _ in range(count):
                await publish()
            await _until_count(depth, count, False)
            meter.stop()
        elif scenario == 'consume':
            await ch.set_qos(prefetch_count=PREFETCH)
            source = await ch.declare_queue(queue, passive=True)
            seen = 0
            meter.start()
            async with source.iterator() as messages:
                async for msg in messages:
                    await msg.ack()
                    seen += 1
                    if seen == count:
                        meter.stop()
                        break
        elif scenario == 'confirm':
            meter.start()
            await _spread(count, IN_FLIGHT, publish, False)
            meter.stop()
        elif scenario == 'rpc':
            latencies = []
            clock = time.perf_counter
            meter.start()
            for _ in range(count):
                start = clock()
                await ch.declare_queue(queue, passive=True)
                latencies.append(clock() - start)
            meter.stop()
            return _rpc_result(meter, latencies)
    finally:
        await conn.close()
    return meter.result(count)


async def aiormq_client(job: dict[str, Any]) -> dict[str, Any]:
    """aiormq, the low-level client aio-pika is built on."""
    import aiormq

    scenario, queue, count = job['scenario'], job['queue'], job['count']
    body = b'x' * job['body_size']
    meter = Meter()
    conn = await aiormq.connect(URL)
    try:
        ch = await conn.channel(publisher_confirms=scenario == 'confirm')

        async def depth() -> int:
            return int((await ch.queue_declare(queue, passive=True)).message_count)

        async def publish() -> None:
            await ch.basic_publish(body, routing_key=queue)

        if scenario == 'publish':
            meter.start()
            for _ in range(count):
                await publish()
            await _until_count(depth, count, False)
            meter.stop()
        elif scenario == 'consume':
            await ch.basic_qos(prefetch_count=PREFETCH)
            done = asyncio.get_running_loop().create_future()
            seen = 0

            async def on_message(message: Any) -> None:
                nonlocal seen
                await message.channel.basic_ack(message.delivery.delivery_tag)
                seen += 1
                if seen == count and not done.done():
                    meter.stop()
                    done.set_result(None)

            meter.start()
            await ch.basic_consume(queue, on_message)
            await done
        elif scenario == 'confirm':
            meter.start()
            await _spread(count, IN_FLIGHT, publish, False)
            meter.stop()
        elif scenario == 'rpc':
            latencies = []
            clock = time.perf_counter
            meter.start()
            for _ in range(count):
                start = clock()
                await ch.queue_declare(queue, passive=True)
                latencies.append(clock() - start)
            meter.stop()
            return _rpc_result(meter, latencies)
    finally:
        await conn.close()
    return meter.result(count)


def raw(job: dict[str, Any]) -> dict[str, Any]:
    """The raw-socket ceiling; ``rpc`` also times each round trip for its p50."""
    if job['scenario'] != 'rpc':
        scenario = 'confirm_pipelined' if job['scenario'] == 'confirm' else job['scenario']
        return run_raw({**job, 'scenario': scenario})
    conn = RawConnection()
    request = declare_frame(job['queue'], passive=True)
    latencies = []
    clock = time.perf_counter
    meter = Meter()
    try:
        meter.start()
        for _ in range(job['count']):
            start = clock()
            conn.sock.sendall(request)
            conn.expect(50, 11)
            latencies.append(clock() - start)
        meter.stop()
    finally:
        conn.close()
    return _rpc_result(meter, latencies)


_HEAD = struct.Struct('>BHI')  # frame type, channel, payload size
_CLOSES = (b'\x00\x0a\x00\x32', b'\x00\x14\x00\x28')  # Connection.Close, Channel.Close


class FloorProtocol(asyncio.Protocol):
    """The least an asyncio client can do per round trip: buffer what arrives, cut it into
    frames, and set the waiting future's result when the awaited method comes."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.wanted = b''
        self.waiter: Any = None

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while len(buf) >= 7:
            end = _HEAD.unpack_from(buf)[2] + 8
            if len(buf) < end:
                return
            ident = bytes(buf[7:11]) if buf[0] == FRAME_METHOD else b''
            del buf[:end]
            waiter = self.waiter
            if ident == self.wanted and waiter is not None and not waiter.done():
                waiter.set_result(None)
            elif ident in _CLOSES:
                self.connection_lost(ConnectionError('closed by the broker'))

    def connection_lost(self, exc: Any) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError('connection lost'))


async def raw_asyncio(job: dict[str, Any]) -> dict[str, Any]:
    """The asyncio floor of ``rpc``: the raw client's request written through an asyncio
    transport, its reply awaited on a future that ``data_received`` settles. What any client
    on this loop pays per round trip (two loop turns: the read, then the task's wake-up); the
    handshake is the raw client's, on the blocking socket handed over afterwards."""
    if job['scenario'] != 'rpc':
        raise ValueError('raw-asyncio measures rpc only')
    loop = asyncio.get_running_loop()
    conn = RawConnection()
    transport, proto = await loop.create_connection(FloorProtocol, sock=conn.sock)

    async def call(request: bytes, class_id: int, method_id: int) -> None:
        proto.wanted = struct.pack('>HH', class_id, method_id)
        proto.waiter = waiter = loop.create_future()
        transport.write(request)
        await waiter

    request = declare_frame(job['queue'], passive=True)
    latencies = []
    clock = time.perf_counter
    meter = Meter()
    create_future, write = loop.create_future, transport.write
    proto.wanted = struct.pack('>HH', 50, 11)  # Queue.DeclareOk
    try:
        meter.start()
        for _ in range(job['count']):
            start = clock()
            proto.waiter = waiter = create_future()
            write(request)
            await waiter
            latencies.append(clock() - start)
        meter.stop()
        await call(method(0, 10, 50, b'\x00\xc8' + shortstr('bye') + b'\x00' * 4), 10, 51)
    finally:
        transport.close()
    return _rpc_result(meter, latencies)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Measure ``job['scenario']`` with ``job['client']``."""
    client = job['client']
    if client == 'raw':
        return raw(job)
    if client == 'ours-trio':
        import trio

        return trio.run(ours, job, True)  # type: ignore[no-any-return]
    if client in ('ours-uvloop', 'raw-uvloop'):
        import uvloop

        loop = uvloop.new_event_loop()
        try:
            return loop.run_until_complete(
                ours(job) if client == 'ours-uvloop' else raw_asyncio(job)
            )
        finally:
            loop.close()
    runners = {'ours': ours, 'raw-asyncio': raw_asyncio, 'aio-pika': aio_pika_client,
               'aiormq': aiormq_client}  # fmt: skip
    return asyncio.run(runners[client](job))


if __name__ == '__main__':
    run_job_main(run_job)
