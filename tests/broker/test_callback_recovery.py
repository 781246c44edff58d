"""Automatic recovery on the callback adapters, against a private RabbitMQ node (issue 15).

Every scenario hurts only the private node (``private_broker``): its connections are closed
with ``rabbitmqctl close_all_connections`` or the node is restarted. Each test prints its
figures (time to detect, time to recover, confirmed messages lost, duplicates, the longest gap
between two consumer callbacks) and asserts what must hold: the same connection and channel
objects keep working, the consumer keeps receiving, no confirmed message is lost. The steps
every scenario shares (open with a watched recovery policy, hurt the node on a thread, wait
for the recovery, report, close) are ``tests/helpers/recovery_scenario.py``'s.
"""

from __future__ import annotations

import ssl
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

import pytest

import pika
from pika import exceptions
from pika.adapters._io.transport import TLSHandshakeError
from tests.helpers.failover import drain
from tests.helpers.loop_drivers import driver_factories, recovering_adapters, twisted_tls_driver
from tests.helpers.recovery_figures import record_figures
from tests.helpers.recovery_scenario import recovery_scenario
from tests.helpers.tls_certs import SERVER_NAME

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker
    from tests.helpers.recovery_watch import RecoveryWatch
    from tests.helpers.tls_certs import TlsFiles

pytestmark = pytest.mark.private_broker

_FACTORIES = driver_factories()
PADDING = b'.' * 1024
#: the recovery settings of every scenario
POLICY: dict[str, Any] = {'initial_delay': 0.2, 'max_duration': 60}
TOPOLOGY_ADAPTERS = recovering_adapters()


class Consumer:
    """Message callback that records which channel object got what, and when."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.channels: set[int] = set()
        self.times: list[float] = []
        self.tags: list[int] = []

    def __call__(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self.bodies.append(body)
        self.channels.add(id(channel))
        self.times.append(time.monotonic())
        self.tags.append(method.delivery_tag)
        if channel.is_open:  # not while the test closes the connection
            channel.basic_ack(method.delivery_tag)

    def longest_gap(self) -> float:
        return max((b - a for a, b in zip(self.times, self.times[1:])), default=0.0)


class Ticker:
    """Publishes a numbered message every ``interval`` seconds on the connection's own loop;
    a publish the recovering connection refuses is skipped (not counted as sent)."""

    def __init__(self, conn: Any, channel: Any, exchange: str, key: str, interval: float) -> None:
        self.conn = conn
        self.channel = channel
        self.exchange = exchange
        self.key = key
        self.interval = interval
        self.sent = 0
        self.refused = 0
        self.running = True
        conn.call_later(interval, self._tick)

    def _tick(self) -> None:
        if not self.running:
            return
        try:
            self.channel.basic_publish(self.exchange, self.key, b'%d' % self.sent)
            self.sent += 1
        except (exceptions.ConnectionRecovering, exceptions.ChannelWrongStateError):
            self.refused += 1
        self.conn.call_later(self.interval, self._tick)


class Burst:
    """Publishes ``size`` numbered 1 KiB messages every ``interval`` seconds on the
    connection's own loop, from :meth:`start` until ``running`` is cleared; ``sent`` maps each
    publish's sequence number to its body. A burst ends at the first publish the recovering
    connection refuses (not counted as sent)."""

    def __init__(self, conn: Any, channel: Any, queue: str, size: int, interval: float) -> None:
        self.conn = conn
        self.channel = channel
        self.queue = queue
        self.size = size
        self.interval = interval
        self.sent: dict[int, bytes] = {}  # sequence number -> body
        self.running = True

    def start(self) -> None:
        self.conn.call_later(0, self._burst)

    def _burst(self) -> None:
        if not self.running:
            return
        sent = self.sent
        for _ in range(self.size):
            body = b'm%d ' % (len(sent) + 1) + PADDING
            try:
                self.channel.basic_publish('', self.queue, body)
            except (exceptions.ConnectionRecovering, exceptions.ChannelWrongStateError):
                break
            sent[len(sent) + 1] = body
        self.conn.call_later(self.interval, self._burst)


@pytest.mark.parametrize('adapter', TOPOLOGY_ADAPTERS)
def test_close_connection_keeps_consumer_on_server_named_queue(
    private_broker: PrivateBroker, adapter: str
) -> None:
    """An exclusive server-named queue, its binding and a consumer come back after
    ``rabbitmqctl close_connection``; the consumer keeps receiving on the same channel."""
    with recovery_scenario(_FACTORIES[adapter](), private_broker, **POLICY) as scenario:
        conn, watch = scenario.conn, scenario.watch
        channel = scenario.channel()
        exchange = f'rx-{uuid.uuid4().hex[:8]}'
        scenario.rpc(channel.exchange_declare, exchange=exchange, exchange_type='direct')
        old_name = scenario.rpc(channel.queue_declare, queue='', exclusive=True).method.queue
        scenario.rpc(channel.queue_bind, queue=old_name, exchange=exchange, routing_key='k')
        consumer = Consumer()
        tag = channel.basic_consume(old_name, consumer)
        publisher = Ticker(conn, scenario.channel(), exchange, 'k', 0.01)
        scenario.run_until(lambda: len(consumer.bodies) >= 20, timeout=15)

        scenario.recover_from(scenario.close_all_connections)
        before = len(consumer.bodies)
        scenario.run_until(lambda: len(consumer.bodies) >= before + 20, timeout=15)
        publisher.running = False

        assert watch.connection is conn and not scenario.closed
        assert isinstance(watch.lost_error, exceptions.ConnectionClosedByBroker)
        assert len(watch.renamed) == 1 and watch.renamed[0][0] == old_name
        assert watch.renamed[0][1] != old_name
        assert consumer.channels == {id(channel)}  # the same channel object, every time
        assert channel.is_open and conn.is_open and channel.consumer_tags == [tag]
        assert consumer.tags == sorted(consumer.tags)  # tags keep increasing
        line = scenario.report(
            f'{adapter} close_connection+server-named queue',
            received=len(consumer.bodies),
            refused_publishes=publisher.refused,
            longest_gap=consumer.longest_gap(),
        )
        assert watch.recovered_at - watch.lost_at < 10, line


@pytest.mark.parametrize('adapter', TOPOLOGY_ADAPTERS)
def test_broker_restart_recovers_named_queue_and_consumer(
    private_broker: PrivateBroker, adapter: str
) -> None:
    """A broker restart: the consumer of a (non-durable, redeclared) queue comes back on the
    same channel object, with increasing tags."""
    with recovery_scenario(_FACTORIES[adapter](), private_broker, **POLICY) as scenario:
        channel = scenario.channel()
        queue = f'rx-restart-{uuid.uuid4().hex[:8]}'
        scenario.rpc(channel.queue_declare, queue=queue)
        consumer = Consumer()
        channel.basic_consume(queue, consumer)
        publisher = Ticker(scenario.conn, scenario.channel(), '', queue, 0.01)
        scenario.run_until(lambda: len(consumer.bodies) >= 10, timeout=15)

        scenario.recover_from(private_broker.restart, timeout=120)
        before = len(consumer.bodies)
        scenario.run_until(lambda: len(consumer.bodies) >= before + 10, timeout=15)
        publisher.running = False
        assert consumer.channels == {id(channel)} and not scenario.closed
        assert consumer.tags == sorted(consumer.tags)  # tags keep increasing
        assert channel.is_open and scenario.conn.is_open
        scenario.report(
            f'{adapter} broker restart',
            received=len(consumer.bodies),
            refused_publishes=publisher.refused,
            longest_gap=consumer.longest_gap(),
        )


def test_select_confirm_publisher_loses_no_confirmed_message(
    private_broker: PrivateBroker,
) -> None:
    """Publishes in flight at ``close_connection`` are republished and confirmed once each
    under the sequence numbers the application saw; none that was confirmed is missing."""
    with recovery_scenario(_FACTORIES['select-select'](), private_broker, **POLICY) as scenario:
        channel = scenario.channel()
        queue = f'rx-confirm-{uuid.uuid4().hex[:8]}'
        scenario.rpc(channel.queue_declare, queue=queue, durable=True)
        # 200 bodies a burst: the broker lags, confirms are in flight
        publisher = Burst(scenario.conn, channel, queue, size=200, interval=0.005)
        sent = publisher.sent
        settled: dict[int, str] = {}  # sequence number -> 'ack' or 'nack'
        twice: list[int] = []

        def on_confirm(method_frame: Any) -> None:
            method = method_frame.method
            kind = 'ack' if isinstance(method, pika.spec.Basic.Ack) else 'nack'
            tag = method.delivery_tag
            if method.multiple:
                numbers = [n for n in sent if n <= tag and n not in settled]
            else:
                numbers = [tag]
            for number in numbers:
                if number in settled:
                    twice.append(number)
                settled[number] = kind

        scenario.rpc(channel.confirm_delivery, on_confirm)
        publisher.start()
        unconfirmed_at_loss: list[int] = []
        scenario.watch.at_loss = lambda: unconfirmed_at_loss.append(len(sent) - len(settled))
        scenario.run_until(lambda: len(sent) >= 2000, timeout=20)
        scenario.recover_from(scenario.close_all_connections)
        scenario.run_until(lambda: len(sent) >= 4000, timeout=20)
        publisher.running = False
        scenario.run_until(lambda: len(settled) >= len(sent), timeout=20)

        confirmed = {number for number, kind in settled.items() if kind == 'ack'}
        assert confirmed == set(sent) and not twice, 'each publish confirmed once, own number'
        # What the queue holds: every confirmed body, some maybe twice (at-least-once).
        bodies = drain(private_broker, queue)
        lost = len(set(sent.values()) - set(bodies))
        duplicates = len(bodies) - len(set(bodies))
        scenario.report(
            'select confirm publisher close_connection',
            published=len(sent),
            confirmed=len(confirmed),
            unconfirmed_at_loss=unconfirmed_at_loss[0],
            lost=lost,
            duplicates=duplicates,
        )
        assert lost == 0


# -- Twisted over TLS: the reconnect runs TLS itself (pika.adapters._io.memory_tls) ----------


def _twisted_tls_params(
    broker: PrivateBroker, files: TlsFiles, server_name: str, **policy: Any
) -> Callable[[RecoveryWatch], pika.ConnectionParameters]:
    """What builds the TLS node's parameters with ``ssl_options`` (what the reconnect uses;
    the first connect is the driver's ``connectSSL``) and a recovery reporting to a watch."""
    context = ssl.create_default_context(cafile=str(files.ca_cert))

    def build(watch: RecoveryWatch) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(
            host=broker.host,
            port=broker.tls_port,
            ssl_options=pika.SSLOptions(context, server_name),
            socket_timeout=5.0,
            stack_timeout=15.0,
            recovery=watch.policy(**{**POLICY, **policy}),
        )

    return build


def _ssl_of_connections(broker: PrivateBroker) -> list[str]:
    """``ssl`` of each client connection of ``broker`` (``true``/``false``)."""
    return broker.rabbitmqctl('list_connections', 'ssl', '--quiet', '--no-table-headers').split()


class ConfirmCounter:
    """Sequence numbers the broker acked (``multiple`` expanded) and the nacks."""

    def __init__(self) -> None:
        self.acked: set[int] = set()
        self.nacked: list[int] = []
        self.highest = 0

    def __call__(self, frame: Any) -> None:
        method = frame.method
        tag = method.delivery_tag
        numbers = range(self.highest + 1, tag + 1) if method.multiple else [tag]
        if isinstance(method, pika.spec.Basic.Ack):
            self.acked.update(numbers)
        else:
            self.nacked.extend(numbers)
        self.highest = max(self.highest, tag)


def test_twisted_over_tls_recovers_consumer_and_confirmed_publisher(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    """Twisted connected over TLS, a consumer and a confirm-mode publisher on one queue: after
    ``close_all_connections`` the reconnect runs TLS (verified against the CA and the name),
    the same channel objects carry on, and every confirmed message reaches the consumer."""
    params = _twisted_tls_params(tls_broker, tls_files, SERVER_NAME)
    with recovery_scenario(twisted_tls_driver(tls_files), tls_broker, params=params) as scenario:
        consuming = scenario.channel()
        queue = f'rx-tls-{uuid.uuid4().hex[:8]}'
        scenario.rpc(consuming.queue_declare, queue=queue, durable=True)
        consumer = Consumer()
        tag = consuming.basic_consume(queue, consumer)
        publishing = scenario.channel()
        confirms = ConfirmCounter()
        scenario.rpc(publishing.confirm_delivery, confirms)
        publisher = Burst(scenario.conn, publishing, queue, size=50, interval=0.01)
        sent = publisher.sent
        publisher.start()
        scenario.run_until(lambda: len(consumer.bodies) >= 500, timeout=20)
        assert _ssl_of_connections(tls_broker) == ['true']

        scenario.recover_from(scenario.close_all_connections)
        before = len(consumer.bodies)
        scenario.run_until(lambda: len(consumer.bodies) >= before + 500, timeout=20)
        publisher.running = False
        scenario.run_until(lambda: len(confirms.acked) + len(confirms.nacked) >= len(sent), 20)
        acked_bodies = {sent[number] for number in confirms.acked}
        scenario.run_until(lambda: acked_bodies <= set(consumer.bodies), timeout=20)

        assert _ssl_of_connections(tls_broker) == ['true']  # the reconnect is TLS too
        assert not confirms.nacked and confirms.acked == set(sent)
        assert consumer.channels == {id(consuming)} and not scenario.closed
        assert consuming.is_open and publishing.is_open and consuming.consumer_tags == [tag]
        lost = len(acked_bodies - set(consumer.bodies))
        scenario.report(
            'twisted TLS close_connection, consumer + confirm publisher',
            published=len(sent),
            confirmed=len(confirms.acked),
            received=len(consumer.bodies),
            lost=lost,
            duplicates=len(consumer.bodies) - len(set(consumer.bodies)),
            longest_gap=consumer.longest_gap(),
        )
        assert lost == 0
        scenario.rpc(consuming.queue_delete, queue=queue)


def test_twisted_tls_verify_failure_on_reconnect_gives_up(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    """A reconnect whose certificate check fails (a name the certificate does not carry):
    each attempt fails with `TLSHandshakeError`, and the policy gives up with the documented
    error on the close callback, instead of hanging."""
    driver = twisted_tls_driver(tls_files)  # the first connect checks the right name
    params = _twisted_tls_params(
        tls_broker, tls_files, 'not-the-broker', max_attempts=3, max_delay=0.2
    )
    with recovery_scenario(driver, tls_broker, params=params) as scenario:
        conn, closed, watch = scenario.conn, scenario.closed, scenario.watch
        channel = scenario.channel()

        fault = scenario.hurt(scenario.close_all_connections)
        scenario.run_until(lambda: bool(closed), timeout=60)
        closed_at = time.monotonic()
        scenario.run_until(fault.done, timeout=30)
        assert fault.error is None, fault.error
        assert not watch.recovered and len(watch.attempts) == 3
        assert len(watch.given_up) == 1 and closed[0] is watch.given_up[0]
        error = closed[0]
        assert isinstance(error, exceptions.AMQPConnectionError)
        assert 'Connection recovery gave up' in str(error)
        assert isinstance(error.__cause__, TLSHandshakeError), repr(error.__cause__)
        assert 'certificate verify failed' in str(error.__cause__)
        assert conn.is_closed and channel.is_closed
        record_figures(
            'twisted TLS verify failure on reconnect',
            {
                'detect_s': watch.lost_at - fault.began,
                'given_up_s': closed_at - watch.lost_at,  # at most: the loop polls every 10 ms
                'attempts': len(watch.attempts),
            },
        )
