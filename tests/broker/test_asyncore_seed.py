"""The seed's AsyncoreConnection usage: SelectConnection's signatures, `connection.ioloop.start()`,
KeyboardInterrupt → `close()` → `start()` again, which returns once the connection has closed.

The connection's dispatchers live in the global `asyncore.socket_map`, so the same loop also
serves the application's own dispatchers (here an echo server and its client).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
import warnings
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions
from pika.adapters.asyncore_connection import AsyncoreConnection, AsyncoreIOLoop

with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    import asyncore

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pika.channel import Channel
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self) -> None:
        data = self.recv(4096)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self) -> None:
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(('127.0.0.1', 0))
        self.listen(5)
        assert self.socket is not None
        self.port = self.socket.getsockname()[1]
        self.handlers: list[EchoHandler] = []

    def handle_accepted(self, sock: socket.socket, addr: Any) -> None:
        self.handlers.append(EchoHandler(sock))


class EchoClient(asyncore.dispatcher):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(('127.0.0.1', port))
        self.outgoing = b'ping'
        self.received = b''

    def handle_connect(self) -> None:
        pass

    def writable(self) -> bool:
        return bool(self.outgoing)

    def handle_write(self) -> None:
        sent = self.send(self.outgoing)
        self.outgoing = self.outgoing[sent:]

    def handle_read(self) -> None:
        self.received += self.recv(4096)


@pytest.fixture
def clean_socket_map() -> Iterator[None]:
    assert not asyncore.socket_map, 'another test left dispatchers behind'
    try:
        yield
    finally:
        asyncore.close_all()


@pytest.mark.usefixtures('clean_socket_map')
def test_seed_asyncore_usage_shares_the_loop(broker_address: BrokerAddress) -> None:
    queue = f'pikatest.asyncore.{uuid.uuid4().hex}'
    server = EchoServer()
    client = EchoClient(server.port)
    delivered: list[bytes] = []
    closed: list[BaseException] = []
    channel_holder: list[Channel] = []

    def on_connected(connection: AsyncoreConnection) -> None:
        connection.channel(on_channel_open)

    def on_channel_open(new_channel: Channel) -> None:
        channel_holder.append(new_channel)
        new_channel.queue_declare(
            queue=queue, durable=False, exclusive=False, auto_delete=True, callback=on_declared
        )

    def on_declared(_frame: Any) -> None:
        channel = channel_holder[0]
        channel.basic_consume(handle_delivery, queue=queue)
        channel.basic_publish('', queue, b'Hello World!')

    def handle_delivery(channel: Channel, method: Any, _header: Any, body: bytes) -> None:
        delivered.append(body)
        channel.basic_ack(method.delivery_tag)
        # The echo traffic ran on this same loop; now play the user's Ctrl-C.
        assert client.received == b'ping'
        raise KeyboardInterrupt

    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)
    connection = AsyncoreConnection(params, on_connected)
    connection.add_on_close_callback(lambda _conn, error: closed.append(error))
    assert isinstance(connection.ioloop, AsyncoreIOLoop)
    assert connection.ioloop.socket_map is asyncore.socket_map
    watchdog = connection.ioloop.call_later(20, connection.ioloop.stop)
    try:
        connection.ioloop.start()
    except KeyboardInterrupt:
        connection.close()
        connection.ioloop.start()  # stops on its own once closed
    connection.ioloop.remove_timeout(watchdog)
    assert delivered == [b'Hello World!']
    assert connection.is_closed
    assert isinstance(closed[0], exceptions.ConnectionClosedByClient)
    # Only the application's dispatchers (and the loop's wake-up) remain in the map.
    connection.ioloop.close()
    assert set(asyncore.socket_map.values()) >= {server, client}
    assert all(not type(d).__name__.startswith('_Fd') for d in asyncore.socket_map.values())


@pytest.mark.usefixtures('clean_socket_map')
def test_callback_errors_propagate_out_of_start(broker_address: BrokerAddress) -> None:
    params = pika.ConnectionParameters(host=broker_address.host, port=broker_address.port)

    def on_open(_connection: AsyncoreConnection) -> None:
        raise ValueError('from the callback')

    connection = AsyncoreConnection(params, on_open)
    with pytest.raises(ValueError, match='from the callback'):
        connection.ioloop.start()
    connection.close()
    connection.ioloop.start()
    assert connection.is_closed
    connection.ioloop.close()


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-W', 'error::DeprecationWarning', '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_does_not_warn() -> None:
    result = _run_python('import pika.adapters.asyncore_connection')
    assert result.returncode == 0, result.stderr


def test_clear_import_error_without_asyncore() -> None:
    code = (
        'import sys; sys.modules["asyncore"] = None\n'
        'try:\n'
        '    from pika.adapters import AsyncoreConnection\n'
        'except ImportError as exc:\n'
        '    print("IMPORT ERROR:", exc)\n'
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    assert 'IMPORT ERROR' in result.stdout
    assert 'pyasyncore' in result.stdout


def test_asyncore_loop_replaces_only_the_waiting_hook() -> None:
    """`IOLoop.poll()` computes the wait; `AsyncoreIOLoop` only supplies how to wait."""
    from pika.adapters.select_connection import IOLoop, SelectConnection

    assert AsyncoreIOLoop.poll is IOLoop.poll
    assert AsyncoreIOLoop._wait_for_events is not IOLoop._wait_for_events
    assert issubclass(AsyncoreConnection, SelectConnection)
    waits: list[Any] = []

    class RecordingLoop(AsyncoreIOLoop):
        def _wait_for_events(self, timeout: Any) -> None:
            waits.append(timeout)
            super()._wait_for_events(timeout)

    loop = RecordingLoop(socket_map={})
    fired: list[str] = []

    def on_timer() -> None:
        fired.append('timer')
        loop.stop()

    loop.call_later(0.05, on_timer)
    loop.add_callback_threadsafe(lambda: fired.append('threadsafe'))
    try:
        loop.start()
    finally:
        loop.close()
    assert fired == ['threadsafe', 'timer']
    assert waits[0] == 0.0  # a queued thread-safe callback: no waiting at all
    assert all(w is not None and 0.0 <= w <= 0.05 for w in waits)
    assert loop.socket_map == {}  # close() removed the wake-up dispatcher from the map
