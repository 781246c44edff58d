"""Fixtures shared by the broker tests: the blocking adapter's connection and queue, a
:class:`TcpProxy` in front of the shared broker (to pause or cut our own connections), the
private TLS node with its certificates (module scope: started only when a test asks for it),
and the failover scenarios' quorum queue on the private cluster.

A test file may still define its own ``conn`` or ``queue`` (pytest prefers the nearer one), as
the Twisted tests do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pika.adapters.blocking_connection import BlockingConnection
from tests.helpers.failover import delete_queue
from tests.helpers.private_broker import PrivateBroker, rabbitmq_available
from tests.helpers.tcp_proxy import TcpProxy
from tests.helpers.tls_certs import TlsFiles, make_tls_files, openssl_available

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers.private_broker import PrivateCluster


@pytest.fixture
def conn(broker_params: Any) -> Iterator[BlockingConnection]:
    """A ``BlockingConnection`` to the shared broker, closed after the test if still open."""
    connection = BlockingConnection(broker_params)
    yield connection
    if connection.is_open:
        connection.close()


@pytest.fixture
def queue(conn: BlockingConnection, unique_name: str) -> Iterator[str]:
    """A queue named ``unique_name``, declared on ``conn`` and deleted after the test (unless
    the test closed the connection)."""
    channel = conn.channel()
    channel.queue_declare(unique_name)
    yield unique_name
    if conn.is_open:
        cleanup = conn.channel()
        cleanup.queue_delete(unique_name)
        cleanup.close()


@pytest.fixture
def quorum_queue(private_cluster: PrivateCluster, unique_name: str) -> Iterator[str]:
    """A quorum queue led by node 2 (index 1), which the failover scenarios never hurt (so the
    client's failover and the queue's leader election are tested apart); deleted after."""
    leader = private_cluster.nodes[1]
    private_cluster.declare_quorum_queue(unique_name, node=leader)
    assert private_cluster.queue_leader(unique_name) is leader
    yield unique_name
    delete_queue(leader, unique_name)


@pytest.fixture
def proxy(broker_params: Any) -> Iterator[TcpProxy]:
    """A :class:`TcpProxy` to the shared broker, closed (its connections cut) after the test:
    connect through ``proxy.host``/``proxy.port``, then ``pause()``, ``resume()`` or
    ``close_all()`` to hurt only the test's own connections."""
    with TcpProxy(broker_params.host, broker_params.port) as tcp_proxy:
        yield tcp_proxy


@pytest.fixture(scope='module')
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    # A missing tool is a failure, not a skip: CI must never pass without this suite.
    assert openssl_available(), 'the openssl command is needed to make test certificates'
    return make_tls_files(tmp_path_factory.mktemp('tls'))


@pytest.fixture(scope='module')
def tls_broker(tls_files: TlsFiles) -> Iterator[PrivateBroker]:
    """A private node with a TLS listener (its own, so the shared node stays untouched)."""
    assert rabbitmq_available(), 'rabbitmq-server is needed for the TLS suite'
    with PrivateBroker(tls=tls_files) as broker:
        broker.start()
        yield broker
