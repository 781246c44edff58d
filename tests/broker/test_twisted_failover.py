"""Twisted's Deferred API with ``recovery=`` failing over on the private 3-node cluster
(issue 15).

The Deferred twin of ``test_select_failover.py``: two ``TwistedProtocolConnection`` objects,
each given all three nodes' parameters and connected by the test to node 1
(``ClientCreator.connectTCP``), a confirm-mode publisher on one (``TwistedChannel.basic_publish``
Deferreds, at most :data:`WINDOW` unconfirmed) and a consumer on the other
(``basic_consume``'s queue object, ``get()`` after ``get()``, each message acked), on a quorum
queue led by node 2. Node 1 is killed (kill -9) while both run. The global reactor cannot be
restarted, so the test drives it with ``reactor.iterate()``, as ``test_twisted.py`` does; the
kill runs on a thread (``Hurt``).

Printed (``-s``) and in the terminal summary, per connection: time to detect, to recover and
in total (failover); then confirmed messages lost (must be 0), duplicates, nacks, publishes
refused while recovering (``ConnectionRecovering``: not sent), the longest single
``basic_publish``/``basic_ack`` call and the longest stall of the reactor (a 10 ms timer's worst
lateness from the kill on).

Asserted: every message whose Deferred fired with the broker's ``Basic.Ack`` is consumed;
every publish's Deferred fired (acked or nacked, none left unsettled); the consumer's queue
object keeps yielding after the recovery and is never closed; the same channel objects
throughout, delivery tags increasing; both connections come back on a surviving node within
the bound the Select and Blocking kills assert (1 s plus the first back-off delay).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

import pytest
from twisted.internet import protocol, reactor
from twisted.python.failure import Failure

from pika import exceptions, spec
from pika.adapters.twisted_connection import TwistedProtocolConnection
from tests.helpers.failover import (
    FAILOVER_BOUND,
    SCENARIO_LIMIT,
    Hurt,
    Longest,
    TimerStall,
    cluster_parameters,
    drain,
    report,
)
from tests.helpers.recovery_watch import RecoveryWatch, message_figures

if TYPE_CHECKING:
    from twisted.internet import defer

    from pika.adapters.twisted_connection import TwistedChannel
    from tests.helpers.private_broker import PrivateCluster

pytestmark = pytest.mark.private_cluster

_monotonic = time.monotonic
_reactor: Any = reactor

#: the confirm-mode publisher keeps at most this many publishes unconfirmed
WINDOW = 50
#: ... and at most this many confirmed but not yet consumed: the queue stays short
AHEAD = 300
#: messages confirmed before the kill, and after both connections recovered
BEFORE = AFTER = 200
#: reactor-stall probe period, seconds
PROBE = 0.01


def iterate_until(predicate: Callable[[], bool], timeout: float = SCENARIO_LIMIT) -> None:
    """Run the reactor until ``predicate()`` holds; fail after ``timeout`` seconds."""
    end = _monotonic() + timeout
    while not predicate():
        assert _monotonic() < end, f'not reached in {timeout} s: {predicate}'
        _reactor.iterate(0.005)


def wait(d: defer.Deferred[Any], timeout: float = 30.0) -> Any:
    """Run the reactor until ``d`` fired; its result, or raise its failure."""
    outcome: list[Any] = []
    d.addBoth(outcome.append)
    iterate_until(lambda: bool(outcome), timeout)
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


class Publisher:
    """Numbered bodies on a confirm-mode ``TwistedChannel``, from a reactor timer: at most
    :data:`WINDOW` unconfirmed and :data:`AHEAD` ahead of ``consumed()``. A publish the
    recovering connection refuses (``ConnectionRecovering``, raised before anything is sent)
    is counted as refused, not as sent."""

    def __init__(
        self,
        channel: TwistedChannel,
        queue: str,
        consumed: Callable[[], int],
        timing: Longest,
    ) -> None:
        self.channel = channel
        self.queue = queue
        self.consumed = consumed
        self.timing = timing
        self.sent: dict[int, bytes] = {}
        self.settled: dict[int, str] = {}  # number -> 'ack', 'nack' or the failure's type
        self.refused = 0
        self.running = True
        _reactor.callLater(0, self._tick)

    def confirmed(self) -> list[bytes]:
        return [self.sent[n] for n, kind in self.settled.items() if kind == 'ack']

    def nacks(self) -> int:
        return sum(1 for kind in self.settled.values() if kind == 'nack')

    def failures(self) -> list[str]:
        return [kind for kind in self.settled.values() if kind not in ('ack', 'nack')]

    def all_settled(self) -> bool:
        return len(self.settled) >= len(self.sent)

    def _settle(self, number: int, outcome: Any) -> None:
        """A publish's Deferred fired: with the broker's ``Basic.Ack`` method, or failed."""
        if isinstance(outcome, Failure):
            kind = 'nack' if outcome.check(exceptions.NackError) else repr(outcome.value)
        else:
            kind = 'ack' if isinstance(outcome, spec.Basic.Ack) else repr(outcome)
        self.settled[number] = kind

    def _tick(self) -> None:
        if not self.running:
            return
        sent = len(self.sent)
        waiting = len(self.confirmed()) - self.consumed()
        room = min(WINDOW - (sent - len(self.settled)), AHEAD - waiting)
        for _ in range(max(room, 0)):
            number = len(self.sent) + 1
            body = b't-%d' % number
            try:
                d = self.timing.call(self.channel.basic_publish, '', self.queue, body)
            except exceptions.ConnectionRecovering:
                self.refused += 1
                break
            self.sent[number] = body
            d.addBoth(lambda outcome, n=number: self._settle(n, outcome))
        _reactor.callLater(0.002, self._tick)


class Consumer:
    """``basic_consume``'s queue object read one ``get()`` after another, each message acked
    (an ack the recovering connection refuses is left: the broker redelivers the message)."""

    def __init__(self, channel: TwistedChannel, queue_object: Any, timing: Longest) -> None:
        self.channel = channel
        self.queue_object = queue_object
        self.timing = timing
        self.bodies: list[bytes] = []
        self.tags: list[int] = []
        self.channels: set[int] = set()
        self.after_recovery = 0
        self.counting_after = False
        self.closed: list[Any] = []
        self._next()

    def _next(self) -> None:
        self.queue_object.get().addCallbacks(self._on_message, self.closed.append)

    def _on_message(self, message: Any) -> None:
        channel, method, _properties, body = message
        self.bodies.append(body)
        self.tags.append(method.delivery_tag)
        self.channels.add(id(channel))
        if self.counting_after:
            self.after_recovery += 1
        try:
            self.timing.call(channel.basic_ack, method.delivery_tag)
        except (exceptions.ConnectionRecovering, exceptions.ChannelWrongStateError):
            pass
        self._next()


def connect(cluster: PrivateCluster, watch: RecoveryWatch) -> TwistedProtocolConnection:
    """A protocol given every node's parameters, connected by Twisted to node 1."""
    first = cluster.nodes[0]
    creator: Any = protocol.ClientCreator  # untyped in Twisted
    params = cluster_parameters(cluster, watch)
    connected = creator(_reactor, TwistedProtocolConnection, params).connectTCP(
        first.host, first.port
    )
    proto: TwistedProtocolConnection = wait(connected)
    assert wait(proto.ready) is proto
    return proto


def test_kill_the_node_of_a_publisher_and_a_consumer(
    private_cluster: PrivateCluster, quorum_queue: str
) -> None:
    first = private_cluster.nodes[0]
    pub_seen, con_seen = RecoveryWatch(), RecoveryWatch()
    stall = TimerStall(_reactor.callLater, PROBE)
    protocols: list[TwistedProtocolConnection] = []
    publisher: Publisher | None = None
    try:
        pub_conn = connect(private_cluster, pub_seen)
        protocols.append(pub_conn)
        con_conn = connect(private_cluster, con_seen)
        protocols.append(con_conn)
        pub_ch = wait(pub_conn.channel())
        wait(pub_ch.confirm_delivery())
        con_ch = wait(con_conn.channel())
        wait(con_ch.basic_qos(prefetch_count=20))
        queue_object, _tag = wait(con_ch.basic_consume(quorum_queue))
        timing = Longest()
        consumer = Consumer(con_ch, queue_object, timing)
        publisher = Publisher(pub_ch, quorum_queue, lambda: len(set(consumer.bodies)), timing)
        iterate_until(lambda: len(publisher.confirmed()) >= BEFORE and len(consumer.bodies) >= 100)

        stall.start()
        killer = Hurt(lambda: private_cluster.kill(first))
        recovered = (pub_seen.recovered_event.is_set, con_seen.recovered_event.is_set)
        iterate_until(lambda: killer.done() and all(check() for check in recovered))
        killer.join(30)
        consumer.counting_after = True
        at_recovery = len(publisher.confirmed())
        iterate_until(lambda: len(publisher.confirmed()) >= at_recovery + AFTER)
        publisher.running = False
        iterate_until(publisher.all_settled, 30)
        confirmed = publisher.confirmed()
        iterate_until(lambda: set(confirmed) <= set(consumer.bodies), 30)
        stall.stop()
        assert pub_conn.is_open and con_conn.is_open and pub_ch.is_open and con_ch.is_open
        reached = (pub_seen.reached.port, con_seen.reached.port)
        closed_early = list(consumer.closed)  # before the test closes the connections
        same_objects = (
            pub_seen.recovered == [pub_seen.connection],
            con_seen.recovered == [con_seen.connection],
            consumer.channels == {id(con_ch)},
        )
    finally:
        stall.stop()
        if publisher is not None:
            publisher.running = False
        for proto in protocols:
            if proto.is_open:
                wait(proto.close())
    received = consumer.bodies + drain(private_cluster.nodes[1], quorum_queue)
    counts = message_figures(confirmed, received)
    pub_figures = pub_seen.figures(killer.began)
    con_figures = con_seen.figures(killer.began)
    report(
        'twisted: kill -9 the publisher and consumer node',
        {
            **{f'publisher_{key}': value for key, value in pub_figures.items()},
            **{f'consumer_{key}': value for key, value in con_figures.items()},
            'confirmed': len(confirmed),
            'confirmed_after_recovery': len(confirmed) - at_recovery,
            'nacked': publisher.nacks(),
            'failed': len(publisher.failures()),
            'refused_while_recovering': publisher.refused,
            'received': len(received),
            'received_after_recovery': consumer.after_recovery,
            **counts,
            'longest_call_s': round(timing.seconds, 3),
            'longest_reactor_stall_s': round(stall.worst, 3),
            'reached': reached,
        },
    )
    assert counts['lost'] == 0, counts
    assert not publisher.failures(), publisher.failures()
    assert consumer.after_recovery > 0 and not closed_early, closed_early
    assert same_objects == (True, True, True)
    assert first.port not in reached
    assert consumer.tags == sorted(consumer.tags)
    assert len(set(consumer.tags)) == len(consumer.tags)
    assert pub_figures['failover_s'] <= FAILOVER_BOUND, pub_figures
    assert con_figures['failover_s'] <= FAILOVER_BOUND, con_figures
