"""`pika.aio` with ``recovery=`` against a private RabbitMQ node (issues 15 and 17).

The private node's connections are closed by the broker (``rabbitmqctl
close_all_connections``, never on the shared broker) while publishes are in flight (held by a
memory alarm), as tasks publish with confirms and another consumes with ``process()`` on the
same connection. The consumer's ``async for``
must keep yielding, the publisher's awaits must return (in-flight publishes are sent again)
and no confirmed message may be lost. One test body, run on asyncio, uvloop and trio.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

import pika
import pika.aio
from pika import exceptions
from tests.helpers.aio import ALL_KINDS, gather, in_thread, run, sleep

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.private_broker

EXCHANGE = 'aio-recovery-ex'
CLOSE_AFTER = 200
AFTER = 200
WORKERS = 5


@pytest.fixture(params=ALL_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Observed:
    """The recovery hooks' calls, with times."""

    def __init__(self) -> None:
        self.lost_at = 0.0
        self.recovered_at = 0.0
        self.recoveries = 0
        #: how many messages were confirmed when the recovery completed (set by the test)
        self.confirmed_then = 0

    def policy(self) -> pika.Recovery:
        return pika.Recovery(
            initial_delay=0.1,
            max_delay=1.0,
            max_duration=60,
            on_connection_lost=self._lost,
            on_recovered=self._recovered,
        )

    def _lost(self, connection: Any, error: BaseException) -> None:
        self.lost_at = time.monotonic()

    def _recovered(self, connection: Any, params: Any) -> None:
        self.recovered_at = time.monotonic()
        self.recoveries += 1
        self.also_on_recovered(connection, params)

    def also_on_recovered(self, connection: Any, params: Any) -> None:
        """What the test adds to ``on_recovered``."""


def test_forced_close_with_recovery_loses_no_confirmed_message(
    kind: str, private_broker: PrivateBroker, unique_name: str
) -> None:
    observed = Observed()
    params = private_broker.connection_parameters(recovery=observed.policy(), heartbeat=10)
    queue = unique_name
    confirmed: list[bytes] = []
    unknown: list[bytes] = []
    received: set[bytes] = set()
    consumers_seen: set[int] = set()

    spans: list[tuple[float, float]] = []

    async def publisher(ch: pika.aio.Channel, worker: int) -> None:
        """Publish back to back, each awaiting its confirm, until AFTER messages were
        confirmed after the recovery."""
        n = 0
        while observed.recoveries == 0 or len(confirmed) < observed.confirmed_then + AFTER:
            body = b'w%d-%d' % (worker, n)
            n += 1
            started = time.monotonic()
            try:
                await ch.basic_publish(EXCHANGE, 'k.1', body)
            except exceptions.PublishOutcomeUnknown:
                unknown.append(body)
                continue
            spans.append((started, time.monotonic()))
            confirmed.append(body)

    async def close_connections() -> None:
        """Once CLOSE_AFTER messages are confirmed, stop the broker from taking publishes (a
        memory alarm), so that publishes are in flight, unconfirmed, when the broker closes
        the connection; then let it take them again."""
        while len(confirmed) < CLOSE_AFTER:
            await sleep(0.01)
        await in_thread(private_broker.set_memory_alarm)
        try:
            await sleep(0.3)
            await in_thread(lambda: private_broker.rabbitmqctl('close_all_connections', 'aio test'))
        finally:
            await in_thread(private_broker.clear_memory_alarm)

    async def consumer(ch: pika.aio.Channel, done: list[bool]) -> None:
        async with ch.consume(queue, prefetch=50) as messages:
            consumers_seen.add(id(messages))
            async for msg in messages:
                async with msg.process():
                    received.add(msg.body)
                if done and set(confirmed) <= received:
                    return

    async def main() -> None:
        async with await pika.aio.connect(params) as conn:
            ch = await conn.channel()
            await ch.exchange_declare(EXCHANGE, 'topic', auto_delete=True)
            await ch.queue_declare(queue)
            await ch.queue_bind(queue, EXCHANGE, 'k.#')
            pub = await conn.channel()
            await pub.confirm_delivery()
            done: list[bool] = []

            async def publish_then_stop() -> None:
                await gather(close_connections(), *(publisher(pub, n) for n in range(WORKERS)))
                done.append(True)
                await pub.basic_publish(EXCHANGE, 'k.1', b'last')  # wakes the consumer

            def on_recovered(connection: Any, params: Any) -> None:
                observed.confirmed_then = len(confirmed)

            observed.also_on_recovered = on_recovered
            await gather(publish_then_stop(), consumer(ch, done))
            assert conn.is_open and ch.is_open and pub.is_open
            await ch.queue_delete(queue)

    run(kind, main, timeout=90)
    assert observed.recoveries == 1
    lost = set(confirmed) - received
    assert not lost, f'{len(lost)} confirmed messages lost'
    assert not unknown and len(confirmed) >= CLOSE_AFTER + AFTER
    assert len(consumers_seen) == 1  # the same `async for` throughout
    assert observed.recovered_at - observed.lost_at < 30
    # publishes in flight at the loss were sent again and returned once confirmed
    assert any(start < observed.lost_at and end > observed.recovered_at for start, end in spans)
