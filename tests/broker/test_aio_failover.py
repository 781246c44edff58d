"""`pika.aio` with ``recovery=`` failing over on the private 3-node cluster (issue 15).

The awaitable twin of ``test_select_failover.py``: two `pika.aio` connections on one asyncio
loop, each given all three nodes (node 1 first, so both start on node 1), a confirm-mode
publisher on one (tasks awaiting ``basic_publish``) and an ``async with ch.consume(...)``
consumer on the other, on a quorum queue led by node 2. Node 1 is killed (kill -9) while both
run: the publisher's and the consumer's node at once.

Printed (``-s``) and in the terminal summary, per connection: time to detect, to recover and
in total (failover); then confirmed messages lost (must be 0), duplicates, nacks, publishes
whose outcome stayed unknown, the longest single ``await basic_publish`` (a publish in flight
at the loss waits through the recovery) and the longest stall of the loop (a 10 ms sleep's
worst lateness from the kill on).

Asserted: every message whose ``await basic_publish`` returned is consumed; the one
``async for`` keeps yielding across the loss; the same connection, channel and consumer
objects throughout, delivery tags increasing; both connections come back on a surviving node
within the bound the Select and Blocking kills assert (1 s plus the first back-off delay).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

import pika.aio
from pika import exceptions
from tests.helpers.aio import gather, run, sleep
from tests.helpers.failover import (
    FAILOVER_BOUND,
    SCENARIO_LIMIT,
    Hurt,
    cluster_parameters,
    drain,
    report,
)
from tests.helpers.recovery_watch import RecoveryWatch, message_figures

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateCluster

pytestmark = pytest.mark.private_cluster

_monotonic = time.monotonic

#: publisher tasks, each awaiting one confirm-mode publish at a time
WORKERS = 10
#: the publishers keep at most this many messages confirmed but not yet consumed: the queue
#: stays short, so draining it at the end takes no time even on a loaded machine
AHEAD = 300
#: messages confirmed before the kill, and after both connections recovered
BEFORE = AFTER = 200
#: loop-stall probe period, seconds
PROBE = 0.01


class Scenario:
    """What the publisher and consumer tasks record, and when to stop them."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self.pub_seen, self.con_seen = RecoveryWatch(), RecoveryWatch()
        self.confirmed: list[bytes] = []
        self.nacked: list[bytes] = []
        self.unknown: list[bytes] = []
        self.received: list[bytes] = []
        self.received_set: set[bytes] = set()
        self.tags: list[int] = []
        self.channels: set[int] = set()
        self.consumers: set[int] = set()
        #: received after both connections recovered: the ``async for`` went on
        self.received_after = 0
        #: len(confirmed) when both connections had recovered
        self.confirmed_then = -1
        self.longest_publish = 0.0
        self.loop_stall = 0.0
        self.publishing = True
        #: set at the kill: the loop-stall probe measures from then until publishing stops
        self.probing = False
        self.numbers = iter(range(1 << 30))

    def recovered(self) -> bool:
        return self.pub_seen.recovered_event.is_set() and self.con_seen.recovered_event.is_set()

    def done_publishing(self) -> bool:
        return 0 <= self.confirmed_then <= len(self.confirmed) - AFTER

    async def publisher(self, channel: pika.aio.Channel) -> None:
        """Publish numbered bodies, one awaited confirm at a time, until told to stop."""
        while self.publishing:
            if len(self.confirmed) - len(self.received_set) >= AHEAD:
                await sleep(0.005)
                continue
            body = b'a-%d' % next(self.numbers)
            started = _monotonic()
            try:
                await channel.basic_publish('', self.queue, body)
            except exceptions.NackError:
                self.nacked.append(body)
                continue
            except exceptions.PublishOutcomeUnknown:
                self.unknown.append(body)
                continue
            finally:
                self.longest_publish = max(self.longest_publish, _monotonic() - started)
            self.confirmed.append(body)

    async def consumer(self, channel: pika.aio.Channel, stop: list[bool]) -> None:
        """One ``async for`` over the whole scenario, acking each message."""
        async with channel.consume(self.queue, prefetch=20) as messages:
            self.consumers.add(id(messages))
            async for msg in messages:
                self.received.append(msg.body)
                self.received_set.add(msg.body)
                self.tags.append(msg.delivery_tag)
                self.channels.add(id(msg.channel))
                if self.confirmed_then >= 0:
                    self.received_after += 1
                await msg.ack()
                if stop and self.received_set.issuperset(self.confirmed):
                    return

    async def probe(self) -> None:
        """From the kill until publishing stops, the worst lateness of a :data:`PROBE` sleep:
        how long the loop was kept from running (detection, reconnect, handshake and replay
        included)."""
        await wait_for(lambda: self.probing or not self.publishing)
        while self.probing and self.publishing:
            due = _monotonic() + PROBE
            await sleep(PROBE)
            self.loop_stall = max(self.loop_stall, _monotonic() - due)


async def wait_for(predicate: Any, timeout: float = SCENARIO_LIMIT) -> None:
    """Poll ``predicate()`` on the loop until it holds; fail after ``timeout`` seconds."""
    end = _monotonic() + timeout
    while not predicate():
        assert _monotonic() < end, f'not reached in {timeout} s: {predicate}'
        await sleep(0.01)


def test_kill_the_node_of_a_publisher_and_a_consumer(
    private_cluster: PrivateCluster, quorum_queue: str
) -> None:
    first = private_cluster.nodes[0]
    scene = Scenario(quorum_queue)
    seen: dict[str, Any] = {}

    async def main() -> None:
        pub_conn = await pika.aio.connect(cluster_parameters(private_cluster, scene.pub_seen))
        con_conn = await pika.aio.connect(cluster_parameters(private_cluster, scene.con_seen))
        try:
            await scenario(pub_conn, con_conn)
        finally:
            scene.publishing = False
            for conn in (pub_conn, con_conn):
                if conn.is_open:
                    await conn.close()

    async def scenario(pub_conn: pika.aio.Connection, con_conn: pika.aio.Connection) -> None:
        assert (pub_conn.params.port, con_conn.params.port) == (first.port, first.port)
        pub_ch = await pub_conn.channel()
        await pub_ch.confirm_delivery()
        con_ch = await con_conn.channel()
        stop: list[bool] = []

        async def drive() -> None:
            """Kill node 1 once both sides run; stop publishing AFTER confirms after the
            recovery."""
            await wait_for(lambda: len(scene.confirmed) >= BEFORE and len(scene.received) >= 100)
            scene.probing = True
            killer = seen['killer'] = Hurt(lambda: private_cluster.kill(first))
            await wait_for(lambda: killer.done() and scene.recovered())
            killer.join(30)
            scene.confirmed_then = len(scene.confirmed)
            await wait_for(scene.done_publishing)
            scene.publishing = False

        async def publish() -> None:
            await gather(*(scene.publisher(pub_ch) for _ in range(WORKERS)))
            await wait_for(lambda: scene.received_set.issuperset(scene.confirmed), 30)
            stop.append(True)
            # the consumer got every confirmed message: this one ends its `async for`
            await pub_ch.basic_publish('', quorum_queue, b'last')
            scene.confirmed.append(b'last')

        await gather(drive(), publish(), scene.consumer(con_ch, stop), scene.probe())
        seen['objects'] = (
            scene.pub_seen.recovered == [pub_conn] and scene.con_seen.recovered == [con_conn],
            pub_conn.is_open and con_conn.is_open and pub_ch.is_open and con_ch.is_open,
            scene.channels == {id(con_ch)},
        )
        seen['ports'] = (pub_conn.params.port, con_conn.params.port)

    run('asyncio', main, timeout=SCENARIO_LIMIT + 60)
    killer = seen['killer']
    received = scene.received + drain(private_cluster.nodes[1], quorum_queue)
    counts = message_figures(scene.confirmed, received)
    pub_figures = scene.pub_seen.figures(killer.began)
    con_figures = scene.con_seen.figures(killer.began)
    report(
        'aio: kill -9 the publisher and consumer node',
        {
            **{f'publisher_{key}': value for key, value in pub_figures.items()},
            **{f'consumer_{key}': value for key, value in con_figures.items()},
            'confirmed': len(scene.confirmed),
            'confirmed_after_recovery': len(scene.confirmed) - scene.confirmed_then,
            'nacked': len(scene.nacked),
            'unknown': len(scene.unknown),
            'received': len(received),
            'received_after_recovery': scene.received_after,
            **counts,
            'longest_call_s': round(scene.longest_publish, 3),
            'longest_loop_stall_s': round(scene.loop_stall, 3),
            'reached': seen['ports'],
        },
    )
    assert counts['lost'] == 0, counts
    assert scene.received_after > 0  # the `async for` kept yielding after the recovery
    assert len(scene.consumers) == 1
    assert seen['objects'] == (True, True, True)  # same objects, still open after the loss
    assert first.port not in seen['ports']
    assert scene.tags == sorted(scene.tags) and len(set(scene.tags)) == len(scene.tags)
    assert not scene.unknown
    assert pub_figures['failover_s'] <= FAILOVER_BOUND, pub_figures
    assert con_figures['failover_s'] <= FAILOVER_BOUND, con_figures
