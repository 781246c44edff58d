"""examples/aio_starlette_publisher.py served for real, the way its docstring tells users to run
it: ``PIKA_URL=... python examples/aio_starlette_publisher.py`` (uvicorn in a subprocess), then
HTTP over a socket. test_aio_examples.py drives the same app in process (httpx.ASGITransport);
this file catches what only a real run shows: the ``__main__`` block, uvicorn starting the
lifespan, the environment variables, and a clean shutdown on SIGTERM."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import pika
from tests.helpers.private_broker import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx  # the dev extra's (Python 3.10+), as starlette and uvicorn are

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'examples' / 'aio_starlette_publisher.py'
#: uvicorn's line once it listens (printed after the lifespan opened the connection)
LISTENING = re.compile(r'Uvicorn running on http://127\.0\.0\.1:(\d+)')
#: bounds: the server's start (a connection and a confirm-mode channel), and its shutdown
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class Served:
    """The example running as a subprocess, its output collected by a reader thread (so a full
    pipe never blocks the server, and a wait for a line is bounded)."""

    def __init__(self, amqp_url: str) -> None:
        # bound, then released: if another process took it before uvicorn binds (unlikely,
        # the kernel picks at random), the server exits and the test fails saying so
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={'PIKA_URL': amqp_url, 'PORT': str(self.port), 'PYTHONPATH': str(ROOT),
                 'PATH': '/usr/bin:/bin', 'PYTHONUNBUFFERED': '1'},
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _drain(self, wait: float) -> None:
        with contextlib.suppress(queue.Empty):
            self.output.append(self.lines.get(timeout=wait))
            while True:
                self.output.append(self.lines.get_nowait())

    def text(self) -> str:
        """Everything the server printed so far."""
        self._drain(0.0)
        return ''.join(self.output)

    def base_url(self) -> str:
        """The server's URL, once uvicorn says it listens on ``PORT``; a clear failure (with the
        server's output) if it exits first or says nothing within ``START_TIMEOUT``."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            exited = self.process.poll() is not None
            if exited:
                self.reader.join(STOP_TIMEOUT)  # its last lines, for the failure's message
            self._drain(0.0 if exited else 0.2)
            found = LISTENING.search(''.join(self.output))
            if found:
                assert int(found.group(1)) == self.port, f'PORT={self.port} ignored:\n{self.text()}'
                return f'http://127.0.0.1:{self.port}'
            if exited:
                pytest.fail(f'the example exited ({self.process.returncode}):\n{self.text()}')
        pytest.fail(f'the example did not listen within {START_TIMEOUT} s:\n{self.text()}')

    def stop(self) -> int:
        """SIGTERM (uvicorn's graceful shutdown, the lifespan closes the connection), a kill if
        that takes longer than ``STOP_TIMEOUT``; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self.reader.join(STOP_TIMEOUT)  # it ends at the pipe's end: then all lines are in
        if not self.reader.is_alive() and self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def served(amqp_url: str) -> Iterator[Served]:
    """The example served on a free port; always stopped after the test."""
    server = Served(amqp_url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jobs_queue(amqp_url: str, unique_name: str) -> Iterator[str]:
    """A queue on the default exchange (the example's default), deleted after the test."""
    with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
        conn.channel().queue_declare(unique_name)
    yield unique_name
    with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
        conn.channel().queue_delete(unique_name)


def wait_healthy(client: httpx.Client, timeout: float = 10.0) -> None:
    """Poll ``GET /health`` until it answers 200 (bounded: a clear failure after ``timeout``)."""
    import httpx

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = client.get('/health')
        except httpx.TransportError as error:
            last = error
        else:
            if last.status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f'/health did not answer 200 within {timeout} s: {last!r}')


def test_served_publish_reaches_queue(served: Served, jobs_queue: str, amqp_url: str) -> None:
    """A POST over HTTP gets 202 and its body is in the queue; an unroutable key gets the JSON
    500; SIGTERM shuts the app down cleanly (the lifespan closed the connection)."""
    import httpx

    with httpx.Client(base_url=served.base_url(), timeout=10.0) as client:
        wait_healthy(client)
        sent = client.post(
            f'/publish/{jobs_queue}', content=b'hello over http',
            headers={'content-type': 'text/plain'},
        )  # fmt: skip
        unroutable = client.post(f'/publish/{jobs_queue}.none', content=b'x')
    assert (sent.status_code, sent.json()) == (202, {'published': jobs_queue})
    assert unroutable.status_code == 500
    assert unroutable.json()['type'] == 'UnroutableError'

    with pika.BlockingConnection(pika.URLParameters(amqp_url)) as conn:
        ch = conn.channel()
        got = [ch.basic_get(jobs_queue, auto_ack=True) for _ in range(2)]
    method, props, body = got[0]
    assert method is not None and props is not None, 'the 202 message is not in the queue'
    assert body == b'hello over http'
    assert (props.content_type, props.delivery_mode) == ('text/plain', 2)
    assert got[1] == (None, None, None)  # nothing else reached the queue

    code = served.stop()
    output = served.text()
    assert code in (0, -signal.SIGTERM), output  # uvicorn re-raises the SIGTERM it handled
    assert 'Application shutdown complete.' in output, output
    assert 'Traceback' not in output, output
