"""The figures of a failover scenario on the private cluster (issue 15, "Must show").

Every cluster scenario, on every adapter, records the same things: time to detect the loss,
time to recover, confirmed messages lost (must be 0), duplicates (counted, at-least-once
allows them) and the longest single call. This module is where they are measured and printed,
so that the blocking and the callback scenarios report comparable figures:

* ``tests/helpers/recovery_watch.py`` holds one connection's recovery hooks with their
  times (``RecoveryWatch().policy(**POLICY)``) and counts lost and duplicated messages
  (``message_figures``);
* :class:`Hurt` runs the fault (``kill -9``, ``rabbitmqctl stop``) on a thread, so the
  client's loop keeps running and detection is measured, not hidden behind the fault command;
* :class:`TimerStall` measures the longest stall of the adapter's loop or reactor;
* :class:`Longest` keeps the longest duration of the calls it timed;
* :func:`report` records one line per scenario with ``tests/helpers/recovery_figures.py``
  (printed, and in the terminal summary);
* :func:`cluster_parameters` is what every scenario's connection is given (every node, node 1
  first, the scenarios' recovery policy), :func:`connect_first` the BlockingConnection made
  with it, checked to start on node 1, the node the scenarios hurt.

The bound the issue sets, "failover after a kill: at most 1 s plus the first back-off delay",
is :data:`FAILOVER_BOUND` with the :data:`INITIAL_DELAY` every scenario's policy uses.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import pika
from tests.helpers.recovery_figures import record_figures

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker, PrivateCluster
    from tests.helpers.recovery_watch import RecoveryWatch

_monotonic = time.monotonic

#: the first back-off delay of every failover scenario's policy
INITIAL_DELAY = 0.1
#: issue 15: "Failover after a kill: at most 1 s plus the first back-off delay"
FAILOVER_BOUND = 1.0 + INITIAL_DELAY
#: every wait of a scenario ends by then (CI must never hang)
SCENARIO_LIMIT = 90.0
#: the recovery settings of every scenario: ``RecoveryWatch().policy(**POLICY)``
POLICY: dict[str, Any] = {'initial_delay': INITIAL_DELAY, 'max_duration': SCENARIO_LIMIT}
#: the heartbeat of every scenario's connection, seconds (a kill -9 is seen at once anyway)
HEARTBEAT = 10


class Hurt:
    """Run ``action`` (kill or stop a node) on a thread; ``began``/``ended``: when it started
    and returned, ``error``: what it raised."""

    def __init__(self, action: Callable[[], Any]) -> None:
        self.began = _monotonic()
        self.ended = 0.0
        self.error: BaseException | None = None
        self._action = action
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._action()
        except BaseException as exc:  # the test asserts it is None
            self.error = exc
        self.ended = _monotonic()

    def done(self) -> bool:
        """True once the action returned (or raised)."""
        return not self._thread.is_alive()

    def join(self, timeout: float = 60.0) -> None:
        """Wait (bounded) for the action; raise what it raised."""
        self._thread.join(timeout)
        assert self.done(), f'the fault action still runs after {timeout} s'
        if self.error is not None:
            raise self.error


class TimerStall:
    """From :meth:`start` (just before the fault), a timer every ``period`` seconds scheduled
    with ``call_later`` (the loop's or the reactor's); ``worst``: its largest lateness, the
    longest the loop was kept from running callbacks (detection, connect, handshake and
    replay included)."""

    def __init__(self, call_later: Callable[[float, Callable[[], None]], Any], period: float):
        self.call_later = call_later
        self.period = period
        self.worst = 0.0
        self.running = False
        self._due = 0.0

    def start(self) -> None:
        self.running = True
        self._due = _monotonic() + self.period
        self.call_later(self.period, self._tick)

    def stop(self) -> None:
        """The scenario's loop work is over (the test goes on with blocking checks)."""
        self.running = False

    def _tick(self) -> None:
        if not self.running:
            return
        now = _monotonic()
        self.worst = max(self.worst, now - self._due)
        self._due = now + self.period
        self.call_later(self.period, self._tick)


class Longest:
    """The longest duration of the calls timed with :meth:`call`."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)``, timed; its result (or exception) is passed on."""
        started = _monotonic()
        try:
            return func(*args, **kwargs)
        finally:
            self.seconds = max(self.seconds, _monotonic() - started)


def report(name: str, figures: dict[str, Any]) -> str:
    """Record the figures of one scenario (``record_figures``: printed, and listed in the
    terminal summary); returns the line."""
    return record_figures('failover ' + name, figures)


def cluster_parameters(
    cluster: PrivateCluster, watch: RecoveryWatch
) -> list[pika.ConnectionParameters]:
    """Every node's parameters, node 1 first, with :data:`POLICY`'s recovery reporting to
    ``watch`` and a :data:`HEARTBEAT`: a connection given them starts on node 1."""
    return cluster.connection_parameters(recovery=watch.policy(**POLICY), heartbeat=HEARTBEAT)


def connect_first(cluster: PrivateCluster, watch: RecoveryWatch) -> pika.BlockingConnection:
    """A BlockingConnection given :func:`cluster_parameters`, checked to be on node 1."""
    connection = pika.BlockingConnection(cluster_parameters(cluster, watch))
    assert connection.params.port == cluster.nodes[0].port, connection.params.port
    return connection


def node_at(cluster: PrivateCluster, port: int) -> PrivateBroker:
    """The cluster node listening on AMQP ``port``."""
    return next(node for node in cluster.nodes if node.port == port)


def drain(node: PrivateBroker, queue: str) -> list[bytes]:
    """Every message left in ``queue``, read through ``node`` and removed."""
    received: list[bytes] = []
    with pika.BlockingConnection(node.connection_parameters()) as reader:
        channel = reader.channel()
        end = _monotonic() + SCENARIO_LIMIT
        while _monotonic() < end:
            method, _, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            received.append(body)
    return received


def publish_confirmed(node: PrivateBroker, queue: str, bodies: list[bytes]) -> None:
    """Publish ``bodies`` to ``queue`` through ``node``, each confirmed before the next."""
    with pika.BlockingConnection(node.connection_parameters()) as publisher:
        channel = publisher.channel()
        channel.confirm_delivery()
        for body in bodies:
            channel.basic_publish('', queue, body)


def delete_queue(node: PrivateBroker, queue: str) -> None:
    """Delete ``queue`` through ``node`` (the end of a scenario)."""
    with pika.BlockingConnection(node.connection_parameters()) as connection:
        connection.channel().queue_delete(queue)
