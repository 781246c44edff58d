"""SelectConnection under faults: failed logins, unknown vhosts, a silent network (missed
heartbeats through a paused TCP proxy), resource alarms on a private node, refused connects."""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

import pytest

import pika
from pika import exceptions
from pika.adapters import select_connection
from pika.adapters.select_connection import SelectConnection
from tests.helpers.private_broker import free_port
from tests.helpers.select_loop import run_until_stopped as run
from tests.helpers.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from tests.conftest import BrokerAddress
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.broker

POLLERS = select_connection.available_poller_types()


@pytest.fixture(params=POLLERS, autouse=True)
def poller(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test once per poller the platform offers."""
    monkeypatch.setattr(select_connection, 'POLLER_TYPE', request.param)
    return str(request.param)


class Outcome:
    """What the connection reported, recorded by its three callbacks."""

    def __init__(self) -> None:
        self.opened = False
        self.open_error: BaseException | None = None
        self.close_error: BaseException | None = None
        self.closed_at: float | None = None

    def connect(
        self, params: pika.ConnectionParameters, on_open: Callable[[Any], None] | None = None
    ) -> SelectConnection:
        def opened(conn: SelectConnection) -> None:
            self.opened = True
            if on_open is not None:
                on_open(conn)

        def open_failed(conn: SelectConnection, error: BaseException) -> None:
            self.open_error = error
            conn.ioloop.stop()

        def closed(conn: SelectConnection, error: BaseException) -> None:
            self.close_error = error
            self.closed_at = time.monotonic()
            conn.ioloop.stop()

        return SelectConnection(params, opened, open_failed, closed)


def test_bad_password_reports_probable_authentication_error(
    broker_address: BrokerAddress,
) -> None:
    params = pika.ConnectionParameters(
        host=broker_address.host,
        port=broker_address.port,
        credentials=pika.PlainCredentials('guest', 'not-the-password'),
    )
    outcome = Outcome()
    conn = outcome.connect(params)
    run(conn)
    assert not outcome.opened
    assert isinstance(outcome.open_error, exceptions.ProbableAuthenticationError)
    assert 'not-the-password' not in repr(outcome.open_error)
    assert conn.is_closed and outcome.close_error is None


def test_unknown_vhost_reports_probable_access_denied(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(
        host=broker_address.host,
        port=broker_address.port,
        virtual_host=f'no-such-vhost-{uuid.uuid4().hex}',
    )
    outcome = Outcome()
    conn = outcome.connect(params)
    run(conn)
    assert not outcome.opened
    assert isinstance(outcome.open_error, exceptions.ProbableAccessDeniedError)
    assert conn.is_closed


def test_refused_connect_retries_then_reports(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(
        host='127.0.0.1', port=free_port(), connection_attempts=3, retry_delay=0.1
    )
    outcome = Outcome()
    started = time.monotonic()
    conn = outcome.connect(params)
    run(conn)
    assert isinstance(outcome.open_error, exceptions.AMQPConnectionError)
    assert time.monotonic() - started >= 0.2  # two retry delays between three attempts
    assert conn.is_closed


def test_close_while_connecting_aborts(broker_params: pika.ConnectionParameters) -> None:
    outcome = Outcome()
    conn = outcome.connect(broker_params)
    conn.close()
    run(conn, timeout=5)
    assert isinstance(outcome.open_error, exceptions.ConnectionOpenAborted)
    assert not outcome.opened and conn.is_closed


def test_missed_heartbeats_close_the_connection(broker_address: BrokerAddress) -> None:
    heartbeat = 2
    with TcpProxy(broker_address.host, broker_address.port) as proxy:
        params = pika.ConnectionParameters(
            host=proxy.host, port=proxy.port, heartbeat=heartbeat, blocked_connection_timeout=None
        )
        outcome = Outcome()
        paused: list[float] = []

        def on_open(conn: SelectConnection) -> None:
            proxy.pause()
            paused.append(time.monotonic())

        conn = outcome.connect(params, on_open)
        run(conn, timeout=6 * heartbeat)
        proxy.resume()
    assert outcome.opened
    assert isinstance(outcome.close_error, exceptions.AMQPHeartbeatTimeout)
    assert outcome.closed_at is not None
    silent_for = outcome.closed_at - paused[0]
    assert heartbeat <= silent_for <= 2 * heartbeat + 1.5


def test_close_is_bounded_when_the_broker_stops_answering(broker_address: BrokerAddress) -> None:
    """close() against a silent peer ends within stack_timeout, reported as a client close."""
    bound = 2.0
    with TcpProxy(broker_address.host, broker_address.port) as proxy:
        params = pika.ConnectionParameters(
            host=proxy.host, port=proxy.port, heartbeat=0, stack_timeout=bound
        )
        outcome = Outcome()
        asked: list[float] = []

        def on_open(conn: SelectConnection) -> None:
            proxy.pause()
            asked.append(time.monotonic())
            conn.close()

        conn = outcome.connect(params, on_open)
        run(conn, timeout=4 * bound)
        proxy.resume()
    assert outcome.opened
    assert isinstance(outcome.close_error, exceptions.ConnectionClosedByClient)
    assert outcome.closed_at is not None
    assert bound - 0.1 <= outcome.closed_at - asked[0] <= bound + 1.0
    assert conn.is_closed


def test_broker_close_reports_connection_closed_by_broker(
    broker_params: pika.ConnectionParameters,
) -> None:
    name = f'pikatest-forced-{uuid.uuid4().hex}'
    params = pika.ConnectionParameters(
        host=broker_params.host,
        port=broker_params.port,
        client_properties={'connection_name': name},
    )
    outcome = Outcome()

    def on_open(conn: SelectConnection) -> None:
        def close_from_broker() -> None:
            import subprocess

            listing = subprocess.run(
                ['rabbitmqctl', '-q', 'list_connections', 'pid', 'client_properties'],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            pids = [line.split('\t')[0] for line in listing.splitlines() if name in line]
            for pid in pids:
                subprocess.run(
                    ['rabbitmqctl', 'close_connection', pid, 'test says bye'],
                    capture_output=True,
                    timeout=30,
                    check=True,
                )

        threading.Thread(target=close_from_broker, daemon=True).start()

    conn = outcome.connect(params, on_open)
    run(conn, timeout=40)
    assert isinstance(outcome.close_error, exceptions.ConnectionClosedByBroker)
    assert outcome.close_error.reply_code == 320
    assert 'test says bye' in outcome.close_error.reply_text


@pytest.mark.private_broker
def test_blocked_and_unblocked_callbacks(private_broker: PrivateBroker) -> None:
    params = pika.URLParameters(private_broker.url)
    outcome = Outcome()
    seen: list[tuple[str, Any]] = []

    def on_open(conn: SelectConnection) -> None:
        def on_blocked(connection: SelectConnection, method_frame: Any) -> None:
            seen.append(('blocked', method_frame))
            threading.Thread(target=clear_alarm, daemon=True).start()

        def on_unblocked(connection: SelectConnection, method_frame: Any) -> None:
            seen.append(('unblocked', method_frame))
            connection.close()

        def clear_alarm() -> None:
            private_broker.clear_memory_alarm()

        def set_alarm() -> None:
            private_broker.set_memory_alarm()
            conn.add_callback_threadsafe(publish)

        def publish() -> None:
            channel.basic_publish('', 'nowhere', b'this publish gets the connection blocked')

        conn.add_on_connection_blocked_callback(on_blocked)
        conn.add_on_connection_unblocked_callback(on_unblocked)
        channel = conn.channel(
            on_open_callback=lambda ch: threading.Thread(target=set_alarm, daemon=True).start()
        )

    conn = outcome.connect(params, on_open)
    try:
        run(conn, timeout=60)
    finally:
        private_broker.clear_memory_alarm()
    assert [kind for kind, _ in seen] == ['blocked', 'unblocked']
    blocked_frame = seen[0][1]
    assert isinstance(blocked_frame.method, pika.spec.Connection.Blocked)
    assert isinstance(seen[1][1].method, pika.spec.Connection.Unblocked)
    assert isinstance(outcome.close_error, exceptions.ConnectionClosedByClient)


@pytest.mark.private_broker
def test_blocked_connection_timeout_closes(private_broker: PrivateBroker) -> None:
    params = pika.URLParameters(private_broker.url)
    params.blocked_connection_timeout = 1.0
    outcome = Outcome()
    blocked_at: list[float] = []

    def on_open(conn: SelectConnection) -> None:
        def set_alarm() -> None:
            private_broker.set_memory_alarm()
            conn.add_callback_threadsafe(publish)

        def publish() -> None:
            channel.basic_publish('', 'nowhere', b'blocked forever')

        conn.add_on_connection_blocked_callback(lambda c, f: blocked_at.append(time.monotonic()))
        channel = conn.channel(
            on_open_callback=lambda ch: threading.Thread(target=set_alarm, daemon=True).start()
        )

    conn = outcome.connect(params, on_open)
    try:
        run(conn, timeout=60)
    finally:
        private_broker.clear_memory_alarm()
    assert blocked_at
    assert isinstance(outcome.close_error, exceptions.ConnectionBlockedTimeout)
    assert outcome.closed_at is not None and outcome.closed_at - blocked_at[0] >= 0.9
