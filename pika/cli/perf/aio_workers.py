"""``pika perf --adapter aio``: producers and consumers on ``pika.aio`` (async/await), every
worker of a group a task on one asyncio loop, each with a connection of its own.

A producer without confirms awaits each ``basic_publish`` (which returns once the frames are
queued) and yields to the loop once per batch; with ``-c WINDOW`` it keeps up to WINDOW
confirm-awaiting publishes in flight as tasks (the channel's ``confirm_window`` is set to the
same number). A consumer iterates ``ch.consume()``. A reporter task flushes every meter every
:data:`FLUSH_INTERVAL` and cancels the workers once the stop flag is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from pika import exceptions
from pika.cli import common
from pika.cli.perf.blocking_workers import BATCH, properties
from pika.cli.perf.stats import FLUSH_INTERVAL, TIMESTAMP, Meter, Pacer, body_template

if TYPE_CHECKING:
    from pika.cli.perf.options import PerfOptions

__all__ = ['run_aio_group']


async def _connect(opts: PerfOptions) -> Any:
    import pika.aio

    return await pika.aio.connect(
        common.parameters(opts.url, opts.timeout), rpc_timeout=opts.timeout
    )


async def producer(opts: PerfOptions, queue: str, meter: Meter) -> None:
    """Publish until cancelled or ``-C`` messages went out (and were confirmed)."""
    async with await _connect(opts) as connection, await connection.channel() as channel:
        if opts.confirm:
            channel.confirm_window = opts.confirm
            await channel.confirm_delivery()
        meter.tell('ready')
        if opts.confirm:
            await _publish_confirmed(opts, channel, queue, meter)
        else:
            await _publish_plain(opts, channel, queue, meter)


def _limit(opts: PerfOptions) -> float:
    return opts.count if opts.count is not None else float('inf')


async def _publish_plain(opts: PerfOptions, channel: Any, queue: str, meter: Meter) -> None:
    publish, pack, now_ns = channel.basic_publish, TIMESTAMP.pack, time.time_ns
    pad, props, limit = body_template(opts.size), properties(opts), _limit(opts)
    pacer = Pacer(opts.rate, time.monotonic())
    exchange, key = opts.target(queue)
    sent = 0
    while sent < limit:
        now = time.monotonic()
        batch = pacer.allowed(sent, now, int(min(BATCH, limit - sent)))
        for _ in range(batch):
            await publish(exchange, key, pack(now_ns()) + pad, props)
        sent += batch
        meter.sent += batch
        await asyncio.sleep(pacer.delay(sent, time.monotonic()) if not batch else 0)


async def _publish_confirmed(opts: PerfOptions, channel: Any, queue: str, meter: Meter) -> None:
    publish, pack, now_ns = channel.basic_publish, TIMESTAMP.pack, time.time_ns
    pad, props, limit = body_template(opts.size), properties(opts), _limit(opts)
    pacer = Pacer(opts.rate, time.monotonic())
    slots = asyncio.Semaphore(opts.confirm or 1)
    exchange, key = opts.target(queue)
    in_flight: set[asyncio.Task[None]] = set()

    async def one(body: bytes) -> None:
        try:
            await publish(exchange, key, body, props)
            meter.confirmed += 1
        except exceptions.NackError:
            meter.nacked += 1
        finally:
            slots.release()

    sent = 0
    while sent < limit:
        delay = pacer.delay(sent, time.monotonic())
        if delay:
            await asyncio.sleep(delay)
        await slots.acquire()
        task = asyncio.ensure_future(one(pack(now_ns()) + pad))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        sent += 1
        meter.sent += 1
    if in_flight:
        await asyncio.gather(*in_flight)


async def consumer(opts: PerfOptions, queue: str, meter: Meter) -> None:
    """Consume until cancelled, recording each message's latency."""
    unpack, now_ns = TIMESTAMP.unpack_from, time.time_ns
    every, unacked = opts.multi_ack, 0
    async with await _connect(opts) as connection, await connection.channel() as channel:
        consume = channel.consume(queue, prefetch=opts.prefetch, auto_ack=opts.auto_ack)
        async with consume as messages:
            meter.tell('ready')
            async for message in messages:
                meter.latencies.append(now_ns() - unpack(message.body)[0])
                if opts.auto_ack:
                    continue
                unacked += 1
                if unacked >= every:
                    unacked = 0
                    await message.ack(multiple=every > 1)


async def _reporter(meters: list[Meter], tasks: list[asyncio.Task[None]], stop: Any) -> None:
    while not all(task.done() for task in tasks):
        await asyncio.sleep(FLUSH_INTERVAL)
        for meter in meters:
            meter.flush()
        if stop.is_set():
            for task in tasks:
                task.cancel()


async def _run(opts: PerfOptions, queue: str, roles: list[tuple[str, Meter]], stop: Any) -> None:
    kinds = {'producer': producer, 'consumer': consumer}
    tasks = [asyncio.ensure_future(kinds[role](opts, queue, meter)) for role, meter in roles]
    meters = [meter for _, meter in roles]
    reporter = asyncio.ensure_future(_reporter(meters, tasks, stop))
    for task, meter in zip(tasks, meters):
        with contextlib.suppress(asyncio.CancelledError):
            try:
                await task
            except Exception as exc:
                meter.tell('error', common.describe(exc))
            finally:
                meter.flush()
                meter.tell('done')
    reporter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reporter


def run_aio_group(opts: PerfOptions, queue: str, roles: list[tuple[str, Meter]], stop: Any) -> None:
    """Run the workers of one group on a fresh asyncio loop until all are done."""
    asyncio.run(_run(opts, queue, roles, stop))
