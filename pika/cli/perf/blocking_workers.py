"""``pika perf`` workers on ``BlockingConnection``: one producer or one consumer per thread
(or process), each with a connection of its own.

The loops do the per-message work only: a publish, or a timestamp subtraction and an ack. The
rest (the clock, the rate, the report to the coordinator, the stop flag) runs once per batch
or once per :data:`FLUSH_INTERVAL`. In confirm mode ``basic_publish`` waits for each confirm,
as the 1.x blocking API does, so the in-flight window of ``-c`` is 1 here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pika import exceptions
from pika.cli import common
from pika.cli.perf.stats import FLUSH_INTERVAL, TIMESTAMP, Meter, Pacer, body_template
from pika.spec import BasicProperties

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingChannel
    from pika.cli.perf.options import PerfOptions

__all__ = ['BATCH', 'run_consumer', 'run_producer']

#: publishes between two looks at the clock and the stop flag
BATCH = 100


def properties(opts: PerfOptions) -> Any:
    """The properties of every message (None: none, the cheapest)."""
    return BasicProperties(delivery_mode=2) if opts.persistent else None


def run_producer(opts: PerfOptions, queue: str, meter: Meter, stop: Any) -> None:
    """Publish until ``stop`` is set, ``-C`` messages went out, or the connection fails."""
    connection = common.connect(opts.url, opts.timeout)
    try:
        channel = connection.channel()
        if opts.confirm:
            channel.confirm_delivery()
        meter.tell('ready')
        _publish_loop(opts, channel, queue, meter, stop)
    finally:
        meter.flush()
        common.close_quietly(connection)


def _publish_loop(
    opts: PerfOptions, channel: BlockingChannel, queue: str, meter: Meter, stop: Any
) -> None:
    publish = _publisher(opts, channel, queue, meter)
    limit = opts.count if opts.count is not None else float('inf')
    pacer = Pacer(opts.rate, time.monotonic())
    sent = 0
    next_flush = time.monotonic() + FLUSH_INTERVAL
    while sent < limit and not stop.is_set():
        now = time.monotonic()
        batch = pacer.allowed(sent, now, int(min(BATCH, limit - sent)))
        if batch:
            publish(batch)
            sent += batch
        else:
            time.sleep(min(pacer.delay(sent, now), FLUSH_INTERVAL))
        if now >= next_flush:
            meter.flush()
            next_flush = now + FLUSH_INTERVAL


def _publisher(opts: PerfOptions, channel: BlockingChannel, queue: str, meter: Meter) -> Any:
    """A function that publishes ``n`` messages and counts them."""
    basic_publish = channel.basic_publish
    exchange, key = opts.target(queue)
    pack = TIMESTAMP.pack
    now_ns = time.time_ns
    pad = body_template(opts.size)
    props = properties(opts)

    def fast(n: int) -> None:
        for _ in range(n):
            basic_publish(exchange, key, pack(now_ns()) + pad, props)
        meter.sent += n

    def confirmed(n: int) -> None:
        for _ in range(n):
            meter.sent += 1
            try:
                basic_publish(exchange, key, pack(now_ns()) + pad, props)
                meter.confirmed += 1
            except exceptions.NackError:
                meter.nacked += 1

    return confirmed if opts.confirm else fast


def run_consumer(opts: PerfOptions, queue: str, meter: Meter, stop: Any) -> None:
    """Consume until ``stop`` is set, recording each message's latency."""
    connection = common.connect(opts.url, opts.timeout)
    try:
        channel = connection.channel()
        if opts.prefetch:
            channel.basic_qos(prefetch_count=opts.prefetch)
        channel.basic_consume(queue, _on_message(opts, meter), auto_ack=opts.auto_ack)
        meter.tell('ready')
        while not stop.is_set():
            connection.process_data_events(time_limit=FLUSH_INTERVAL)
            meter.flush()
    finally:
        meter.flush()
        common.close_quietly(connection)


def _on_message(opts: PerfOptions, meter: Meter) -> Any:
    """The message callback: latency from the body's timestamp, then the ack."""
    unpack = TIMESTAMP.unpack_from
    now_ns = time.time_ns
    every = opts.multi_ack
    unacked = [0]

    def auto(_channel: Any, _method: Any, _props: Any, body: bytes) -> None:
        meter.latencies.append(now_ns() - unpack(body)[0])

    def ack_each(channel: Any, method: Any, _props: Any, body: bytes) -> None:
        meter.latencies.append(now_ns() - unpack(body)[0])
        channel.basic_ack(method.delivery_tag)

    def ack_many(channel: Any, method: Any, _props: Any, body: bytes) -> None:
        meter.latencies.append(now_ns() - unpack(body)[0])
        unacked[0] += 1
        if unacked[0] >= every:
            channel.basic_ack(method.delivery_tag, multiple=True)
            unacked[0] = 0

    if opts.auto_ack:
        return auto
    return ack_each if every == 1 else ack_many
