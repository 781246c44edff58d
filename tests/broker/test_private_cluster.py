"""The private 3-node RabbitMQ cluster that recovery tests fail over on.

It must really be one cluster (every node sees every other running, a quorum queue declared on
one node is usable from the others), its nodes must be hurt one at a time (kill -9, graceful
stop, SIGSTOP, connections closed by the operator) and come back into the cluster, and it must
tell where a quorum queue's leader is. The ``private_cluster`` fixture heals the cluster before
each test, so every test may hurt it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

import pika
from pika import exceptions
from tests.helpers import amqp_answers
from tests.helpers.private_broker import (
    PrivateBroker,
    PrivateBrokerError,
    PrivateCluster,
    pid_alive,
    processes_of_node,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.private_cluster

CONNECTION_FORCED = 320


@pytest.fixture
def quorum_queue(private_cluster: PrivateCluster, unique_name: str) -> Iterator[str]:
    """A name for a quorum queue the test declares; the queue is deleted after the test
    (through AMQP: a ``rabbitmqctl`` call costs seconds)."""
    yield unique_name
    private_cluster.ensure_running()
    connection = _connect(private_cluster.nodes[0])
    try:
        connection.channel().queue_delete(unique_name)
    finally:
        connection.close()


def _connect(node: PrivateBroker) -> pika.BlockingConnection:
    return pika.BlockingConnection(node.connection_parameters(heartbeat=0))


def _publish_confirmed(node: PrivateBroker, queue: str, bodies: list[bytes]) -> None:
    """Publish ``bodies`` to ``queue`` through ``node``; each call returns once confirmed."""
    connection = _connect(node)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for body in bodies:
            channel.basic_publish('', queue, body, mandatory=True)
    finally:
        connection.close()


def _consume(node: PrivateBroker, queue: str, count: int) -> list[bytes]:
    """Consume and ack ``count`` messages from ``queue`` through ``node`` (5 s idle bound)."""
    connection = _connect(node)
    received: list[bytes] = []
    try:
        channel = connection.channel()
        for method, _props, body in channel.consume(queue, inactivity_timeout=5):
            if method is None:
                break
            received.append(body)
            channel.basic_ack(method.delivery_tag)
            if len(received) == count:
                break
        channel.cancel()
    finally:
        connection.close()
    return received


def _message_count(node: PrivateBroker, queue: str) -> int:
    connection = _connect(node)
    try:
        frame = connection.channel().queue_declare(queue, passive=True)
        return int(frame.method.message_count)
    finally:
        connection.close()


def _cookie_file(node: PrivateBroker) -> Path:
    return node.base_dir / 'home' / '.erlang.cookie'


def test_cluster_forms_with_every_node_running(private_cluster: PrivateCluster) -> None:
    names = set(private_cluster.names())
    assert len(names) == 3
    ports = {node.port for node in private_cluster.nodes} | {
        node.dist_port for node in private_cluster.nodes
    }
    assert len(ports) == 6
    assert 5672 not in ports
    # One cookie, written before the nodes started, in private homes only.
    cookies = {_cookie_file(node).read_text(encoding='ascii') for node in private_cluster.nodes}
    assert len(cookies) == 1
    for node in private_cluster.nodes:
        assert _cookie_file(node).stat().st_mode & 0o777 == 0o400
        assert node.rss_bytes() > 0
    # Asked of the last node to join: it sees the first and the second running.
    assert private_cluster.running_nodes(via=private_cluster.nodes[2]) == names
    assert private_cluster.formation_seconds is not None
    print(private_cluster.describe())


def test_quorum_queue_declared_on_node1_is_usable_from_node3(
    private_cluster: PrivateCluster, quorum_queue: str
) -> None:
    first, _, third = private_cluster.nodes
    private_cluster.declare_quorum_queue(quorum_queue, node=first)
    assert _message_count(third, quorum_queue) == 0
    # The leader is placed on the declaring client's node.
    assert private_cluster.queue_leader(quorum_queue) is first


def test_publish_through_node2_and_consume_from_node3(
    private_cluster: PrivateCluster, quorum_queue: str
) -> None:
    first, second, third = private_cluster.nodes
    private_cluster.declare_quorum_queue(quorum_queue, node=first)
    bodies = [f'message {i}'.encode() for i in range(50)]
    _publish_confirmed(second, quorum_queue, bodies)
    assert _consume(third, quorum_queue, len(bodies)) == bodies
    assert _message_count(first, quorum_queue) == 0


def test_kill_moves_the_leader_and_start_brings_the_node_back(
    private_cluster: PrivateCluster, quorum_queue: str
) -> None:
    first, second, third = private_cluster.nodes
    private_cluster.declare_quorum_queue(quorum_queue, node=second)
    assert private_cluster.queue_leader(quorum_queue) is second
    pid = second.beam_pid()
    assert pid is not None

    private_cluster.kill(second)
    assert not pid_alive(pid)
    assert not amqp_answers(second.host, second.port, timeout=1.0)
    assert private_cluster.running_nodes() == {first.node_name, third.node_name}
    leader = private_cluster.wait_queue_leader(quorum_queue, avoid=second)
    assert leader in (first, third)
    # Two of three members: the queue still confirms.
    _publish_confirmed(third, quorum_queue, [b'while node 2 was down'])

    began = time.monotonic()
    private_cluster.start_node(second)
    print(f'killed node back in the cluster after {time.monotonic() - began:.1f} s')
    assert private_cluster.running_nodes(via=second) == set(private_cluster.names())
    assert _consume(second, quorum_queue, 1) == [b'while node 2 was down']


def test_graceful_stop_and_start(private_cluster: PrivateCluster, quorum_queue: str) -> None:
    first, second, third = private_cluster.nodes
    private_cluster.declare_quorum_queue(quorum_queue, node=first)
    _publish_confirmed(first, quorum_queue, [b'before the stop'])

    private_cluster.stop(third)
    assert not third.is_running()
    assert private_cluster.running_nodes() == {first.node_name, second.node_name}

    private_cluster.start_node(third)
    assert private_cluster.running_nodes() == set(private_cluster.names())
    assert _consume(third, quorum_queue, 1) == [b'before the stop']


def test_sigstop_freezes_one_node_and_sigcont_thaws_it(private_cluster: PrivateCluster) -> None:
    first, second, third = private_cluster.nodes
    private_cluster.sigstop(third)
    try:
        assert not amqp_answers(third.host, third.port, timeout=1.0)
        assert amqp_answers(first.host, first.port)
        assert amqp_answers(second.host, second.port)
    finally:
        private_cluster.sigcont(third)
    assert amqp_answers(third.host, third.port, timeout=5.0)


def test_close_connections_closes_only_that_nodes_connections(
    private_cluster: PrivateCluster,
) -> None:
    first, second, _ = private_cluster.nodes
    on_first, on_second = _connect(first), _connect(second)
    try:
        private_cluster.close_connections(first, reason='cluster test')
        with pytest.raises(exceptions.ConnectionClosedByBroker) as closed:
            deadline = time.monotonic() + 15.0
            while time.monotonic() < deadline:
                on_first.process_data_events(time_limit=0.2)
        assert closed.value.reply_code == CONNECTION_FORCED
        assert 'cluster test' in closed.value.reply_text
        # The other node's connection is untouched and still does round trips.
        on_second.channel().queue_declare('', exclusive=True)
    finally:
        on_second.close()
        if on_first.is_open:
            on_first.close()


def test_failed_formation_says_why_and_leaves_nothing_behind() -> None:
    cluster = PrivateCluster(start_timeout=0.5)
    names = cluster.names()
    dirs = [node.base_dir for node in cluster.nodes]
    with pytest.raises(PrivateBrokerError, match='did not answer AMQP'):
        cluster.start()
    assert all(not path.exists() for path in dirs)
    for name in names:
        assert processes_of_node(name) == []
    with pytest.raises(PrivateBrokerError, match='removed'):
        cluster.start()


def test_node_of_another_cluster_is_refused(private_cluster: PrivateCluster) -> None:
    stranger = PrivateBroker()
    try:
        with pytest.raises(ValueError, match='not a node of this cluster'):
            private_cluster.kill(stranger)
    finally:
        stranger.close()
