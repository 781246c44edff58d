"""``pika perf`` workers on the callback adapters (``SelectConnection`` on its ``IOLoop``,
``AsyncioConnection`` on an asyncio loop): every worker of a group shares one loop in one
thread, each with a connection of its own.

A producer publishes in batches from loop callbacks, so reads, confirms and timers run
between two batches; with ``-c`` at most WINDOW publishes await their confirm, without it a
round trip every :data:`SYNC_BYTES` bounds its output; with ``-r`` the next batch waits for
its time. A timer every :data:`FLUSH_INTERVAL` reports to the
coordinator and looks at the stop flag.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import exceptions, spec
from pika.cli import common
from pika.cli.perf.blocking_workers import BATCH, properties
from pika.cli.perf.stats import (
    FLUSH_INTERVAL,
    TIMESTAMP,
    ConfirmWindow,
    Meter,
    Pacer,
    body_template,
)

if TYPE_CHECKING:
    from pika.adapters.base_connection import BaseConnection
    from pika.cli.perf.options import PerfOptions
    from pika.spec import BasicProperties

__all__ = ['CallbackGroup']

#: bytes a producer without confirms publishes (bodies plus a rough frame overhead each)
#: before it waits for a round trip on its channel: the reply comes once the broker has read
#: everything before it, so at most this much (plus the socket's buffers) waits in our
#: output. Without it a producer faster than the broker buffers without bound.
SYNC_BYTES = 1 << 20
FRAME_OVERHEAD = 100


class Loop:
    """The event loop of one group, and the connection class that runs on it."""

    def __init__(self, adapter: str) -> None:
        if adapter == 'asyncio':
            from pika.adapters.asyncio_connection import AsyncioConnection

            self.native: Any = asyncio.new_event_loop()
            self.connection_class: Any = AsyncioConnection
            self.start: Callable[[], Any] = self.native.run_forever
        else:
            from pika.adapters.select_connection import IOLoop, SelectConnection

            self.native = IOLoop()
            self.connection_class = SelectConnection
            self.start = self.native.start
        self.stop: Callable[[], Any] = self.native.stop

    def close(self) -> None:
        """Release the loop's resources (its poller or selector)."""
        self.native.close()


class CallbackWorker:
    """What producers and consumers share: the connection, the report timer, the stop."""

    def __init__(self, group: CallbackGroup, meter: Meter) -> None:
        self.group = group
        self.opts: PerfOptions = group.opts
        self.meter = meter
        self.channel: Any = None
        self.stopping: bool = False
        self.connection: BaseConnection = group.loop.connection_class(
            common.parameters(self.opts.url, self.opts.timeout),
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
            custom_ioloop=group.loop.native,
        )

    def _on_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        self.connection.call_later(FLUSH_INTERVAL, self._report)
        self.begin()

    def begin(self) -> None:
        """The channel is open: start working."""
        raise NotImplementedError

    def _report(self) -> None:
        self.meter.flush()
        if self.group.stop.is_set():
            self.finish()
        elif not self.stopping:
            self.connection.call_later(FLUSH_INTERVAL, self._report)

    def finish(self) -> None:
        """Stop working and close the connection (idempotent)."""
        if not self.stopping:
            self.stopping = True
            if self.connection.is_open:
                self.connection.close()

    def _on_channel_closed(self, _channel: Any, reason: Exception) -> None:
        if not self.stopping:
            self.meter.tell('error', f'channel closed: {common.describe(reason)}')
            self.finish()

    def _on_open_error(self, _connection: Any, error: Exception) -> None:
        self.meter.tell('error', f'cannot connect: {common.describe(error)}')
        self._done()

    def _on_closed(self, _connection: Any, reason: Exception) -> None:
        if not self.stopping:
            self.meter.tell('error', f'connection lost: {common.describe(reason)}')
        self._done()

    def _done(self) -> None:
        self.stopping = True
        self.meter.flush()
        self.meter.tell('done')
        self.group.worker_done()


class CallbackProducer(CallbackWorker):
    """Publishes in batches, within the window, at the rate."""

    def begin(self) -> None:
        """Turn on confirms if asked, then publish."""
        self.window: ConfirmWindow = ConfirmWindow()
        self.scheduled: bool = False
        self.pressure: bool = False
        self.unsynced: int = 0
        self.connection.add_backpressure_callback(self._on_backpressure)
        self.publish: Callable[..., None] = self.channel.basic_publish
        self.target: tuple[str, str] = self.opts.target(self.group.queue)
        self.pad: bytes = body_template(self.opts.size)
        self.props: Optional[BasicProperties] = properties(self.opts)
        self.limit: float = self.opts.count if self.opts.count is not None else float('inf')
        if self.opts.confirm:
            self.channel.confirm_delivery(self._on_confirm, callback=lambda _frame: self._go())
        else:
            self._go()

    def _go(self) -> None:
        self.pacer: Pacer = Pacer(self.opts.rate, time.monotonic())
        self.meter.tell('ready')
        self._schedule(0)

    def _schedule(self, delay: float) -> None:
        if not self.scheduled and not self.stopping:
            self.scheduled = True
            self.connection.call_later(delay, self._publish_batch)

    def _room(self) -> int:
        room = int(min(BATCH, self.limit - self.window.published))
        if self.opts.confirm:
            room = min(room, self.opts.confirm - self.window.outstanding)
        return self.pacer.allowed(self.window.published, time.monotonic(), room)

    def _publish_batch(self) -> None:
        self.scheduled = False
        if self.stopping:
            return
        batch = self._room()
        publish, pad, props = self.publish, self.pad, self.props
        exchange, key = self.target
        pack, now_ns = TIMESTAMP.pack, time.time_ns
        for _ in range(batch):
            publish(exchange, key, pack(now_ns()) + pad, props)
        self.window.published += batch
        self.meter.sent += batch
        self.unsynced += batch * (self.opts.size + FRAME_OVERHEAD)
        self._next()

    def _next(self) -> None:
        """Schedule the next batch, or finish once the count went out (and was confirmed)."""
        window = self.window
        if window.published >= self.limit:
            if not self.opts.confirm or window.outstanding == 0:
                self.meter.flush()
                self.finish()
            return
        if self.opts.confirm and window.outstanding >= self.opts.confirm:
            return  # _on_confirm schedules the next batch
        if not self.opts.confirm and (self.pressure or self.unsynced >= SYNC_BYTES):
            self._sync()
            return
        self._schedule(self.pacer.delay(window.published, time.monotonic()))

    def _sync(self) -> None:
        """Publish no more until a round trip shows the broker read what went before."""
        self.pressure = False
        self.unsynced = 0
        self.scheduled = True  # no batch until the reply
        self.channel.queue_declare(self.group.queue, passive=True, callback=self._on_synced)

    def _on_synced(self, _frame: Any) -> None:
        self.scheduled = False
        if not self.stopping:
            self._next()

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        settled = self.window.settle(method.delivery_tag, method.multiple)
        if isinstance(method, spec.Basic.Ack):
            self.meter.confirmed += settled
        else:
            self.meter.nacked += settled
        if not self.stopping:
            self._next()

    def _on_backpressure(self, _connection: Any) -> None:
        self.pressure = True


class CallbackConsumer(CallbackWorker):
    """Consumes, recording each message's latency."""

    def begin(self) -> None:
        """Set the prefetch if asked, then consume."""
        if self.opts.prefetch:
            self.channel.basic_qos(
                prefetch_count=self.opts.prefetch, callback=lambda _frame: self._consume()
            )
        else:
            self._consume()

    def _consume(self) -> None:
        self.channel.basic_consume(
            self.group.queue,
            self._on_message_callback(),
            auto_ack=self.opts.auto_ack,
            callback=lambda _frame: self.meter.tell('ready'),
        )

    def _on_message_callback(self) -> Callable[..., None]:
        meter = self.meter
        unpack, now_ns = TIMESTAMP.unpack_from, time.time_ns
        auto_ack, every = self.opts.auto_ack, self.opts.multi_ack
        unacked = [0]

        def on_message(channel: Any, method: Any, _props: Any, body: bytes) -> None:
            meter.latencies.append(now_ns() - unpack(body)[0])
            if auto_ack:
                return
            unacked[0] += 1
            if unacked[0] >= every:
                unacked[0] = 0
                try:
                    channel.basic_ack(method.delivery_tag, multiple=every > 1)
                except exceptions.ChannelWrongStateError:
                    pass  # delivered while the run's end closes the channel: requeued anyway

        return on_message


class CallbackGroup:
    """Workers sharing one loop; :meth:`run` returns when every one of them is done."""

    def __init__(
        self, opts: PerfOptions, queue: str, roles: list[tuple[str, Meter]], stop: Any
    ) -> None:
        self.opts = opts
        self.queue = queue
        self.stop = stop
        self.loop: Loop = Loop(opts.adapter)
        self.running: int = 0
        self.roles = roles
        self.workers: list[CallbackWorker] = []

    def run(self) -> None:
        """Open every worker's connection and run the loop until all are done."""
        kinds: dict[str, type[CallbackWorker]] = {
            'producer': CallbackProducer,
            'consumer': CallbackConsumer,
        }
        try:
            self.running = len(self.roles)
            self.workers = [kinds[role](self, meter) for role, meter in self.roles]
            self.loop.start()
        finally:
            self.loop.close()

    def worker_done(self) -> None:
        """A worker's connection closed; the last one stops the loop."""
        self.running -= 1
        if self.running <= 0:
            self.loop.stop()
