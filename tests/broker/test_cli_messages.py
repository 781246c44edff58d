"""``pika publish``/``consume``/``declare``/``delete``/``purge`` run as a user runs them
(``python -m pika`` in a subprocess), their effects checked through a ``BlockingConnection``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pika import exceptions
from pika.cli import common
from tests.helpers.cli import run_pika

if TYPE_CHECKING:
    from pathlib import Path

    from pika.adapters.blocking_connection import BlockingConnection

SECRET = 'N0t-the-Passw0rd-4711'


def ok(*args: str, url: str, stdin: str | None = None) -> str:
    """Run ``pika ARGS`` and return its stdout; fail the test on a non-zero exit."""
    result = run_pika(*args, url=url, stdin=stdin)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'ResourceWarning' not in result.stderr
    return result.stdout


def depth(conn: BlockingConnection, queue: str) -> int:
    return conn.channel().queue_declare(queue, passive=True).method.message_count


def test_publish_then_consume_round_trip(
    conn: BlockingConnection, queue: str, amqp_url: str
) -> None:
    out = ok('publish', '-q', queue, '--body', 'hello', '-n', '2', '--header', 'n=7', url=amqp_url)
    assert out.strip() == f"published 2 messages to exchange '' with key {queue!r} (confirmed)"
    ok('publish', '-q', queue, '--lines', '--persistent', url=amqp_url, stdin='a\n\nb\n')
    assert depth(conn, queue) == 4
    peek = ok('consume', queue, '--count', '1', '--requeue', url=amqp_url)
    assert peek == 'hello\n'
    assert depth(conn, queue) == 4  # --requeue acks nothing
    lines = ok('consume', queue, '--format', 'json', '--idle-timeout', '0.5', url=amqp_url)
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r['body'] for r in records] == ['hello', 'hello', 'a', 'b']
    assert records[1]['properties'] == {'headers': {'n': 7}}
    assert records[2]['properties'] == {'delivery_mode': 2}
    assert depth(conn, queue) == 0  # each one acked


def test_consume_saves_bodies_and_metadata(
    conn: BlockingConnection, queue: str, amqp_url: str, tmp_path: Path
) -> None:
    channel = conn.channel()
    channel.basic_publish('', queue, b'\x00\xffbinary')
    channel.basic_publish('', queue, b'second')
    ok('consume', queue, '--save', str(tmp_path / 'dump'), '-n', '2', '-a', url=amqp_url)
    assert (tmp_path / 'dump' / '000001.body').read_bytes() == b'\x00\xffbinary'
    meta = json.loads((tmp_path / 'dump' / '000002.json').read_text())
    assert meta['routing_key'] == queue
    assert 'body' not in meta
    assert depth(conn, queue) == 0


def test_declare_bind_purge_and_delete(
    conn: BlockingConnection, unique_name: str, amqp_url: str
) -> None:
    exchange, queue = f'{unique_name}.x', f'{unique_name}.q'
    ok('declare', 'exchange', exchange, '--type', 'topic', url=amqp_url)
    out = ok('declare', 'queue', queue, '--argument', 'x-max-length=5', url=amqp_url)
    assert out.strip() == f'queue {queue} declared (0 messages, 0 consumers)'
    ok('declare', 'binding', exchange, queue, '-k', 'a.*', url=amqp_url)
    ok('publish', '-e', exchange, '-k', 'a.b', '--body', 'x', '-n', '7', url=amqp_url)
    assert depth(conn, queue) == 5  # bound, and the x-max-length argument was typed as an int
    assert ok('purge', queue, url=amqp_url).strip() == f'queue {queue} purged (5 messages)'
    ok('delete', 'binding', exchange, queue, '-k', 'a.*', url=amqp_url)
    refused = run_pika(
        'publish', '-e', exchange, '-k', 'a.b', '--body', 'x', '--mandatory', url=amqp_url
    )
    assert refused.returncode == common.EXIT_REFUSED, refused.stderr
    assert 'unroutable' in refused.stderr
    ok('delete', 'queue', queue, url=amqp_url)
    ok('delete', 'exchange', exchange, url=amqp_url)
    channel = conn.channel()
    with pytest.raises(exceptions.ChannelClosedByBroker):
        channel.queue_declare(queue, passive=True)
    channel = conn.channel()
    with pytest.raises(exceptions.ChannelClosedByBroker):
        channel.exchange_declare(exchange, passive=True)


def test_declare_and_delete_an_exchange_to_exchange_binding(
    conn: BlockingConnection, queue: str, unique_name: str, amqp_url: str
) -> None:
    """``--to-exchange`` binds (and unbinds) an exchange to an exchange: a message published
    to the source reaches a queue bound to the destination only while the binding exists."""
    source, destination = f'{unique_name}.src', f'{unique_name}.dst'
    channel = conn.channel()
    channel.exchange_declare(source, 'topic')
    channel.exchange_declare(destination, 'fanout')
    channel.queue_bind(queue, destination)
    try:
        out = ok(
            'declare', 'binding', source, destination, '--to-exchange', '-k', 'a.*', url=amqp_url
        )
        assert out.strip() == f"bound exchange {source} -> exchange {destination} (key 'a.*')"
        ok('publish', '-e', source, '-k', 'a.b', '--body', 'through', url=amqp_url)
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None and body == b'through'
        off_key = run_pika(
            'publish', '-e', source, '-k', 'b.a', '--body', 'x', '--mandatory', url=amqp_url
        )
        assert off_key.returncode == common.EXIT_REFUSED, off_key.stderr  # the key is kept
        # without --to-exchange the destination is a queue, and no such queue exists
        as_queue = run_pika('declare', 'binding', source, destination, url=amqp_url)
        assert as_queue.returncode == common.EXIT_FAILED, as_queue.stderr
        assert '404 NOT_FOUND' in as_queue.stderr

        out = ok(
            'delete', 'binding', source, destination, '--to-exchange', '-k', 'a.*', url=amqp_url
        )
        assert out.strip() == f"unbound exchange {source} -> exchange {destination} (key 'a.*')"
        refused = run_pika(
            'publish', '-e', source, '-k', 'a.b', '--body', 'x', '--mandatory', url=amqp_url
        )
        assert refused.returncode == common.EXIT_REFUSED, refused.stderr
        assert 'unroutable' in refused.stderr
        assert depth(conn, queue) == 0
    finally:
        cleanup = conn.channel()
        cleanup.exchange_delete(source)
        cleanup.exchange_delete(destination)


def test_declare_a_quorum_queue(conn: BlockingConnection, unique_name: str, amqp_url: str) -> None:
    ok('declare', 'queue', unique_name, '--type', 'quorum', url=amqp_url)
    try:
        channel = conn.channel()
        ok_frame = channel.queue_declare(
            unique_name, durable=True, arguments={'x-queue-type': 'quorum'}
        )
        assert ok_frame.method.queue == unique_name  # same arguments: the broker agrees
    finally:
        conn.channel().queue_delete(unique_name)


def test_broker_refusal_exits_1_with_its_reply(unique_name: str, amqp_url: str) -> None:
    result = run_pika('purge', unique_name, url=amqp_url)
    assert result.returncode == common.EXIT_FAILED
    assert result.stderr.startswith('pika purge: error: 404 NOT_FOUND')


def test_connection_failure_exits_3_without_the_password(broker_address: object) -> None:
    url = f'amqp://guest:{SECRET}@127.0.0.1:5672/%2F'
    result = run_pika('delete', 'queue', 'whatever', url=url)
    assert result.returncode == common.EXIT_CONNECT, result.stderr
    assert 'cannot connect to amqp://guest:***@127.0.0.1:5672/%2F' in result.stderr
    assert SECRET not in result.stdout + result.stderr
