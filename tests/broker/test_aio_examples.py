"""The `pika.aio` examples run against the real broker, as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pika

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / 'examples'


def _run(script: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_confirm_publisher_then_worker(amqp_url: str, unique_name: str) -> None:
    try:
        out = _run('aio_confirm_publisher.py', '--url', amqp_url, '--queue', unique_name,
                   '--count', '3000', '--in-flight', '1000')  # fmt: skip
        assert 'confirmed 3000 failed 0' in out
        with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
            conn.channel().basic_publish('', unique_name, b'fail')
        out = _run('aio_worker.py', '--url', amqp_url, '--queue', unique_name,
                   '--count', '3001', '--prefetch', '50')  # fmt: skip
        assert 'processed 3001' in out
        assert 'retry a transient failure' in out and 'done FAIL' in out
        assert 'done MESSAGE 2999' in out
    finally:
        with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
            left = conn.channel().queue_delete(unique_name).method.message_count
    assert left == 0


def test_rpc_client_and_server(amqp_url: str, unique_name: str) -> None:
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLES / 'aio_rpc_server.py'), '--url', amqp_url,
         '--queue', unique_name, '--count', '5'],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin'},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == 'ready'
        out = _run('aio_rpc_client.py', '--url', amqp_url, '--queue', unique_name,
                   '1', '2', '3', '4', '12')  # fmt: skip
        assert out.splitlines() == ['1^2 = 1', '2^2 = 4', '3^2 = 9', '4^2 = 16', '12^2 = 144']
        rest, errors = server.communicate(timeout=60)
        assert server.returncode == 0, errors
        assert 'answered 5' in rest
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
