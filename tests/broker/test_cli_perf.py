"""``pika perf`` run as a user runs it (``python -m pika perf`` in a subprocess) against the
shared broker: short counted runs whose JSON summary must add up, and its failure exits."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from pika import exceptions
from pika.cli import common
from tests.helpers.cli import ROOT, run_pika

if TYPE_CHECKING:
    from pathlib import Path

    from pika.adapters.blocking_connection import BlockingConnection

SECRET = 'N0t-the-Passw0rd-4711'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def perf_json(*args: str, url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``pika perf ARGS --json``; its summary (the last line) and interval rows."""
    result = run_pika('perf', *args, '--json', url=url, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'ResourceWarning' not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    summary = records[-1]
    assert summary['kind'] == 'summary'
    rows = records[:-1]
    assert rows and all(row['kind'] == 'interval' for row in rows)
    return summary, rows


def check_counted_run(summary: dict[str, Any], expected: int) -> None:
    """What every -C run must show: all sent and received, rates, ordered percentiles."""
    assert summary['sent'] == summary['received'] == expected, summary
    assert summary['sent_rate'] > 0
    assert summary['received_rate'] > 0
    assert summary['errors'] == []
    assert summary['cpu_seconds'] > 0
    assert summary['cpu_us_per_message'] > 0
    lat = summary['latency_ms']
    assert 0 <= lat['min'] <= lat['p50'] <= lat['p95'] <= lat['p99'] <= lat['max'], lat
    assert summary['url'] == 'amqp://guest:***@127.0.0.1:5672/%2F' or '***' in summary['url']


def test_one_producer_one_consumer_counted(amqp_url: str) -> None:
    summary, rows = perf_json('-x', '1', '-y', '1', '-C', '3000', url=amqp_url)
    check_counted_run(summary, 3000)
    assert (summary['producers'], summary['consumers'], summary['adapter']) == (1, 1, 'blocking')
    assert sum(row['received_rate'] > 0 for row in rows) >= 1


def test_two_by_two_in_processes_with_confirms(amqp_url: str) -> None:
    args = ['-x', '2', '-y', '2', '-C', '1500', '-c', '50', '-q', '100', '-s', '100']
    summary, _ = perf_json(*args, '--adapter', 'select', '--processes', url=amqp_url)
    check_counted_run(summary, 3000)
    assert summary['confirmed'] == 3000
    assert summary['processes'] is True


def test_asyncio_adapter_multi_ack_and_chart(amqp_url: str, tmp_path: Path) -> None:
    # a failure, not a skip: matplotlib is in the dev extra, so CI without it is misconfigured
    assert importlib.util.find_spec('matplotlib'), 'matplotlib (dev extra) is needed for --plot'
    chart = tmp_path / 'perf.png'
    args = ['-x', '2', '-y', '1', '-C', '800', '-A', '20', '-q', '200', '--adapter', 'asyncio']
    summary, _ = perf_json(*args, '--plot', str(chart), url=amqp_url)
    check_counted_run(summary, 1600)
    data = chart.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000  # two panels with lines, not an empty canvas


def test_aio_adapter_with_a_confirm_window(amqp_url: str) -> None:
    args = ['-x', '2', '-y', '2', '-C', '600', '-c', '50', '-A', '10', '-q', '100']
    summary, _ = perf_json(*args, '--adapter', 'aio', url=amqp_url)
    check_counted_run(summary, 1200)
    assert (summary['adapter'], summary['confirmed']) == ('aio', 1200)


def test_stream_queue(amqp_url: str) -> None:
    summary, _ = perf_json('-C', '500', '--queue-type', 'stream', '-c', '100', url=amqp_url)
    check_counted_run(summary, 500)
    assert (summary['queue_type'], summary['prefetch']) == ('stream', 1000)


def test_timed_rate_limited_run_prints_plain_lines(amqp_url: str, conn: BlockingConnection) -> None:
    result = run_pika('perf', '-z', '1.5', '-r', '200', '-u', 'pika-perf-cli-test', url=amqp_url)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith('time ')  # not a terminal: no progress bar
        assert '\r' not in result.stdout
        assert lines[-5].startswith('summary: 1 producers, 1 consumers, adapter blocking')
        sent = int(lines[-4].split()[1])
        # the rate limit holds (unlimited, it would be thousands); the slack covers the producer's
        # head start before the clock and its last sleep before it sees the stop flag
        assert 50 <= sent <= 200 * (1.5 + 1), lines
        assert lines[-1].startswith('  latency ms  min ')
    finally:
        conn.channel().queue_delete('pika-perf-cli-test')  # -u names it: perf leaves it


def test_through_an_exchange_and_the_queue_is_deleted(
    amqp_url: str, conn: BlockingConnection
) -> None:
    summary, _ = perf_json('-C', '50', '-e', 'amq.topic', '-k', 'perf.cli', url=amqp_url)
    check_counted_run(summary, 50)  # routed by amq.topic through the binding perf made
    assert (summary['exchange'], summary['routing_key']) == ('amq.topic', 'perf.cli')
    channel = conn.channel()
    with pytest.raises(exceptions.ChannelClosedByBroker, match='NOT_FOUND'):
        channel.queue_declare(summary['queue'], passive=True)


def test_cannot_connect_exits_3_without_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    result = run_pika('perf', '-C', '10', url=f'amqp://guest:{SECRET}@127.0.0.1:{port}/%2F')
    assert result.returncode == common.EXIT_CONNECT, result.stderr
    assert 'cannot connect to amqp://guest:***@127.0.0.1:' in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_queue_of_another_type_exits_1(amqp_url: str, queue: str) -> None:
    result = run_pika('perf', '-C', '10', '-u', queue, '--queue-type', 'quorum', url=amqp_url)
    assert result.returncode == common.EXIT_FAILED
    assert '406 PRECONDITION_FAILED' in result.stderr


def test_sigterm_ends_the_run_with_a_summary(amqp_url: str, conn: BlockingConnection) -> None:
    """A kill (as Ctrl-C) stops the workers, deletes the queue and prints the summary."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIKA_URL=amqp_url)
    command = [sys.executable, '-m', 'pika', 'perf', '-r', '300', '--processes', '--json']
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as process:
        try:
            assert process.stdout is not None
            first = json.loads(process.stdout.readline())  # the first interval: running
            assert first['kind'] == 'interval'
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == common.EXIT_INTERRUPTED, err
    summary = json.loads(out.splitlines()[-1])
    assert summary['interrupted'] is True
    assert summary['sent'] > 0
    assert summary['received'] > 0
    with pytest.raises(exceptions.ChannelClosedByBroker, match='NOT_FOUND'):
        conn.channel().queue_declare(summary['queue'], passive=True)


def test_counted_run_with_lost_messages_exits_1(
    amqp_url: str, queue: str, conn: BlockingConnection
) -> None:
    """Messages the broker drops (here: a queue that keeps 10) end the run once nothing more
    arrives, with exit 1 and what was missing."""
    conn.channel().queue_delete(queue)
    conn.channel().queue_declare(queue, arguments={'x-max-length': 10})
    perf = ['perf', '-p', '-u', queue]  # predeclared: used as it is
    result = run_pika(*perf, '-C', '2000', '-y', '0', url=amqp_url)
    assert result.returncode == 0, result.stderr  # no consumers: done when all were sent
    result = run_pika(*perf, '-C', '5', '-x', '0', '--json', url=amqp_url)
    assert result.returncode == 0, result.stderr  # the 10 it kept: more than 5
    lost = run_pika(*perf, '-C', '20', '-x', '0', '--json', url=amqp_url)
    assert lost.returncode == common.EXIT_FAILED, lost.stdout + lost.stderr
    summary = json.loads(lost.stdout.splitlines()[-1])
    assert summary['received'] < 20
    assert 'nothing more arrived' in summary['incomplete']
    assert 'pika perf: error: received' in lost.stderr
