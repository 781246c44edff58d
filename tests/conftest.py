"""Shared pytest configuration: broker checks and fixtures.

Tests marked ``broker`` (and every test under ``tests/broker`` or ``tests/acceptance``, marked
automatically) need the RabbitMQ on ``AMQP_HOST:AMQP_PORT`` (default 127.0.0.1:5672). When it
does not answer they FAIL with a clear message; they are never skipped, so a missing broker can't
pass CI silently. ``./scripts/ensure_broker.sh`` starts one.

Tests marked ``private_broker`` get their own throw-away RabbitMQ node through the
``private_broker`` fixture, and tests marked ``private_cluster`` a private 3-node cluster through
the ``private_cluster`` fixture (both in ``tests/helpers/private_broker.py``).
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
from hypothesis import HealthCheck, settings

# Make ``import tests.helpers`` and ``import pika`` work however pytest was launched.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.helpers import amqp_answers  # noqa: E402
from tests.helpers.private_broker import (  # noqa: E402
    PrivateBroker,
    PrivateCluster,
    reap_stale_nodes,
)
from tests.helpers.recovery_figures import RECORDED as _RECOVERY_FIGURES  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

# Hypothesis tests are not timing assertions: no per-example deadline and no too_slow health
# check, both of which fail correct tests on a loaded machine. The one home of these settings:
# loaded here, before any test module is imported, so every @settings a test builds inherits them
# (a test's own @settings gives only its example count).
settings.register_profile('pika', deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile('pika')

_BROKER_DIRS = ('broker', 'acceptance')

# Lines about the private cluster (formation time, memory) for the terminal summary.
_CLUSTER_REPORT: list[str] = []


class BrokerAddress(NamedTuple):
    """Where the shared test broker listens, and how to log in."""

    host: str
    port: int
    username: str = 'guest'
    password: str = 'guest'
    vhost: str = '/'


def _address() -> BrokerAddress:
    return BrokerAddress(
        os.environ.get('AMQP_HOST', '127.0.0.1'), int(os.environ.get('AMQP_PORT', '5672'))
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f'stopped by signal {signum}')


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (``timeout`` in scripts/test.sh, a cancelled CI job) stops the session as Ctrl-C
    does, so fixture finalizers and ``atexit`` still remove private nodes and the private
    cluster; with the default action their VMs would outlive the run."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/broker and tests/acceptance as needing the broker, and every
    test using the ``private_cluster`` fixture as ``private_cluster`` (scripts/test.sh runs those
    in a gate of their own)."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        uses_cluster = 'private_cluster' in getattr(item, 'fixturenames', ())
        if uses_cluster and not item.get_closest_marker('private_cluster'):
            item.add_marker(pytest.mark.private_cluster)
        try:
            rel = Path(str(item.path)).resolve().relative_to(tests_dir)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] in _BROKER_DIRS and not item.get_closest_marker('broker'):
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope='session')
def broker_address() -> BrokerAddress:
    """Address of the shared broker; fails the test when it does not answer AMQP."""
    address = _address()
    if not amqp_answers(address.host, address.port, timeout=5.0):
        pytest.fail(
            f'No AMQP broker answers on {address.host}:{address.port}. Broker tests never skip: '
            'start one with ./scripts/ensure_broker.sh (or set AMQP_HOST/AMQP_PORT).',
            pytrace=False,
        )
    return address


@pytest.fixture(autouse=True)
def _require_broker(request: pytest.FixtureRequest) -> None:
    """For tests marked ``broker``: check (once per session) that the broker answers."""
    if request.node.get_closest_marker('broker') is not None:
        request.getfixturevalue('broker_address')


@pytest.fixture
def amqp_url(broker_address: BrokerAddress) -> str:
    """AMQP URL of the shared broker (guest/guest, default vhost)."""
    a = broker_address
    return f'amqp://{a.username}:{a.password}@{a.host}:{a.port}/%2F'


@pytest.fixture
def broker_params(broker_address: BrokerAddress) -> Any:
    """``pika.ConnectionParameters`` for the shared broker."""
    import pika

    return pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A queue/exchange name no other test (or test run) uses: ``pikatest.<test>.<uuid>``."""
    test = request.node.name.replace('[', '.').replace(']', '')[:80]
    return f'pikatest.{test}.{uuid.uuid4().hex}'


@pytest.fixture(scope='session')
def _private_broker_session() -> Iterator[PrivateBroker]:
    reap_stale_nodes()
    broker = PrivateBroker()
    try:
        broker.start()
        yield broker
    finally:
        broker.close()


@pytest.fixture
def private_broker(_private_broker_session: PrivateBroker) -> PrivateBroker:
    """A private RabbitMQ node (started once per session, ~5 s), running, thawed, no alarm.

    Tests may kill, freeze, alarm or restart it; the next test gets it back in a clean state.
    """
    _private_broker_session.ensure_running()
    return _private_broker_session


@pytest.fixture(scope='session')
def private_cluster() -> Iterator[PrivateCluster]:
    """A private 3-node RabbitMQ cluster on loopback, formed when a test first asks for it
    (about 30 s on a quiet 2-core machine) and removed at the end of the session.

    Session-scoped, so module-scoped fixtures can use it too. Before every test that uses it,
    ``_heal_private_cluster`` brings killed, stopped or frozen nodes back: tests may hurt nodes
    freely. Formation time and memory per node are printed in the terminal summary.
    """
    reap_stale_nodes()
    cluster = PrivateCluster()
    try:
        cluster.start()
        _CLUSTER_REPORT.append(f'after forming: {cluster.describe()}')
        yield cluster
        _CLUSTER_REPORT.append(f'at session end: {cluster.describe()}')
    finally:
        cluster.remove()


@pytest.fixture(autouse=True)
def _heal_private_cluster(request: pytest.FixtureRequest) -> None:
    """For tests using ``private_cluster``: every node running, thawed and in the cluster."""
    if 'private_cluster' in request.fixturenames:
        request.getfixturevalue('private_cluster').ensure_running()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report the private cluster's formation time and memory when a test used it, and the
    figures recovery scenarios recorded (tests/helpers/recovery_figures.py)."""
    if _RECOVERY_FIGURES:
        terminalreporter.write_sep('-', 'recovery figures')
        for line in _RECOVERY_FIGURES:
            terminalreporter.write_line(line)
    if _CLUSTER_REPORT:
        terminalreporter.write_sep('-', 'private cluster')
        for line in _CLUSTER_REPORT:
            terminalreporter.write_line(line)
