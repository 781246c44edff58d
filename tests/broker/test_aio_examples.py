"""The `pika.aio` examples run against the real broker, as a user would run them."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions
from tests.helpers.aio import run

if TYPE_CHECKING:
    from types import ModuleType

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


def _load_example(script: str) -> ModuleType:
    """Import an example as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(Path(script).stem, EXAMPLES / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_starlette_publisher(amqp_url: str, unique_name: str) -> None:
    """200 concurrent HTTP publishes: each 202 comes after the confirm, every message is in the
    bound queue; an unroutable key and a too long one get their errors; shutdown closes."""
    import httpx  # the dev extra's, as starlette is: the example's test needs no server

    example = _load_example('aio_starlette_publisher.py')
    app = example.create_app(amqp_url, 'amq.direct')
    count = 200
    with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
        ch = conn.channel()
        ch.queue_declare(unique_name)
        ch.queue_bind(unique_name, 'amq.direct', unique_name)

    async def main() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url='http://app') as client:
            async with app.router.lifespan_context(app):
                seen: dict[str, Any] = {'health': await client.get('/health')}
                seen['sent'] = await asyncio.gather(*(
                    client.post(f'/publish/{unique_name}', content=b'message %d' % i,
                                headers={'content-type': 'text/plain'})
                    for i in range(count)
                ))  # fmt: skip
                seen['unroutable'] = await client.post(f'/publish/{unique_name}.none', content=b'x')
                seen['too_long'] = await client.post('/publish/' + 'k' * 256, content=b'x')
            seen['health_after'] = await client.get('/health')
        return seen

    try:
        seen = run('asyncio', main)
        assert seen['health'].json() == {'status': 'ok'}
        assert [r.status_code for r in seen['sent']] == [202] * count
        assert seen['unroutable'].status_code == 500
        assert seen['unroutable'].json()['type'] == 'UnroutableError'
        assert seen['too_long'].status_code == 400
        assert seen['health_after'].status_code == 503
        conn_closed = app.state.publisher.connection
        assert conn_closed.is_closed
        assert isinstance(conn_closed.close_reason, exceptions.ConnectionClosedByClient)
        with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
            ch = conn.channel()
            got = [ch.basic_get(unique_name, auto_ack=True) for _ in range(count + 1)]
        assert got[-1] == (None, None, None)  # nothing else reached the queue
        bodies = sorted(body or b'' for _, _, body in got[:-1])
        assert bodies == sorted(b'message %d' % i for i in range(count))
        kinds = {(p.content_type, p.delivery_mode) for _, p, _ in got[:-1] if p is not None}
        assert kinds == {('text/plain', 2)}
    finally:
        with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
            conn.channel().queue_delete(unique_name)


def test_starlette_publisher_channel_lost(amqp_url: str, unique_name: str) -> None:
    """A publish to a missing exchange: the broker closes the channel, the request gets 503 (not
    a hang, not a 202) and /health turns 503."""
    import httpx

    example = _load_example('aio_starlette_publisher.py')
    app = example.create_app(amqp_url, unique_name, confirm_timeout=5.0)

    async def main() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url='http://app') as client:
            async with app.router.lifespan_context(app):
                first = await client.post('/publish/key', content=b'x')
                return [first, await client.post('/publish/key', content=b'y'),
                        await client.get('/health')]  # fmt: skip

    first, second, health = run('asyncio', main)
    assert (first.status_code, first.json()['type']) == (503, 'ChannelClosedByBroker')
    assert second.status_code == 503  # the channel stays closed: no reconnection here
    assert health.status_code == 503


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
