"""Prove the test helpers work against real brokers: probes, TCP proxy and the private node.

The AMQP used here is a hand-rolled minimum (raw frames) so these tests depend on nothing in
``pika``: they check the test infrastructure itself.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from typing import TYPE_CHECKING

import pytest

from tests.helpers import amqp_answers, read_connection_start
from tests.helpers.private_broker import PrivateBroker, pid_alive, reap_stale_nodes
from tests.helpers.tcp_proxy import TcpProxy

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.broker

FRAME_END = b'\xce'


# -- a minimal raw AMQP 0-9-1 client ------------------------------------------------------------


def _shortstr(value: str) -> bytes:
    raw = value.encode()
    return bytes([len(raw)]) + raw


def _longstr(raw: bytes) -> bytes:
    return struct.pack('>I', len(raw)) + raw


def _frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack('>BHI', kind, channel, len(payload)) + payload + FRAME_END


def _method(channel: int, class_id: int, method_id: int, args: bytes = b'') -> bytes:
    return _frame(1, channel, struct.pack('>HH', class_id, method_id) + args)


class RawAmqp:
    """Just enough AMQP to log in, open a channel, publish, and see Connection.Blocked."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buffer = b''

    def read_frame(self, timeout: float = 10.0) -> tuple[int, int, bytes]:
        """Return (frame type, channel, payload) of the next frame."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 7:
                kind, channel, size = struct.unpack('>BHI', self.buffer[:7])
                if len(self.buffer) >= 8 + size:
                    payload = self.buffer[7 : 7 + size]
                    assert self.buffer[7 + size : 8 + size] == FRAME_END
                    self.buffer = self.buffer[8 + size :]
                    return kind, channel, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('broker closed the connection')
            self.buffer += chunk

    def read_method(self, timeout: float = 10.0) -> tuple[int, int]:
        """Return (class id, method id) of the next method frame, skipping heartbeats."""
        while True:
            kind, _, payload = self.read_frame(timeout)
            if kind == 1:
                return struct.unpack('>HH', payload[:4])

    def handshake(self) -> None:
        """Log in as guest/guest with the connection.blocked capability, open channel 1."""
        read_connection_start(self.sock)
        caps = _shortstr('connection.blocked') + b't\x01'
        props = _shortstr('capabilities') + b'F' + _longstr(caps)
        start_ok = (
            _longstr(props) + _shortstr('PLAIN') + _longstr(b'\x00guest\x00guest') + _shortstr('')
        )
        self.sock.sendall(_method(0, 10, 11, start_ok))
        kind, _, payload = self.read_frame()
        assert (kind, payload[:4]) == (1, b'\x00\x0a\x00\x1e'), 'expected Connection.Tune'
        channel_max, frame_max, _ = struct.unpack('>HIH', payload[4:12])
        self.sock.sendall(_method(0, 10, 31, struct.pack('>HIH', channel_max, frame_max, 0)))
        self.sock.sendall(_method(0, 10, 40, _shortstr('/') + _shortstr('') + b'\x00'))
        assert self.read_method() == (10, 41), 'expected Connection.OpenOk'
        self.sock.sendall(_method(1, 20, 10, _shortstr('')))
        assert self.read_method() == (20, 11), 'expected Channel.OpenOk'

    def publish(self, routing_key: str, body: bytes) -> None:
        """Basic.Publish to the default exchange (content header + one body frame)."""
        args = b'\x00\x00' + _shortstr('') + _shortstr(routing_key) + b'\x00'
        header = struct.pack('>HHQH', 60, 0, len(body), 0)
        self.sock.sendall(_method(1, 60, 40, args) + _frame(2, 1, header) + _frame(3, 1, body))

    def close(self) -> None:
        self.sock.close()


# -- shared broker --------------------------------------------------------------------------


def test_shared_broker_answers_connection_start(broker_address: tuple[str, int]) -> None:
    with socket.create_connection(broker_address[:2], timeout=5) as sock:
        payload = read_connection_start(sock)
    assert payload[4:6] == b'\x00\x09'  # version-major 0, version-minor 9


def test_raw_client_logs_in_to_shared_broker(broker_address: tuple[str, int]) -> None:
    client = RawAmqp(*broker_address[:2])
    try:
        client.handshake()
        client.sock.sendall(
            _method(0, 10, 50, struct.pack('>H', 200) + _shortstr('bye') + b'\0' * 4)
        )
        assert client.read_method() == (10, 51)  # Connection.CloseOk
    finally:
        client.close()


def test_unique_name_is_unique(unique_name: str) -> None:
    assert unique_name.startswith('pikatest.test_unique_name_is_unique.')
    assert len(unique_name) < 256


# -- TCP proxy ------------------------------------------------------------------------------


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """A threaded echo server on a free loopback port."""
    server = socket.create_server(('127.0.0.1', 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[:2]
    stop.set()
    server.shutdown(socket.SHUT_RDWR)
    server.close()


def _recv_exactly(sock: socket.socket, size: int, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_proxy_forwards_both_ways(echo_server: tuple[str, int]) -> None:
    with TcpProxy(*echo_server) as proxy, socket.create_connection(('127.0.0.1', proxy.port)) as c:
        c.sendall(b'hello')
        assert _recv_exactly(c, 5) == b'hello'
        assert proxy.connection_count == 1


def test_proxy_pause_holds_data_and_resume_releases_it(echo_server: tuple[str, int]) -> None:
    with TcpProxy(*echo_server) as proxy, socket.create_connection(('127.0.0.1', proxy.port)) as c:
        c.sendall(b'ping')
        assert _recv_exactly(c, 4) == b'ping'
        proxy.pause()
        c.sendall(b'held')
        c.settimeout(0.5)
        with pytest.raises(socket.timeout):
            c.recv(10)
        proxy.resume()
        assert _recv_exactly(c, 4) == b'held'


def test_proxy_close_all_drops_connections(echo_server: tuple[str, int]) -> None:
    with TcpProxy(*echo_server) as proxy:
        client = socket.create_connection(('127.0.0.1', proxy.port))
        client.sendall(b'x')
        assert _recv_exactly(client, 1) == b'x'
        proxy.close_all()
        client.settimeout(5)
        try:
            assert client.recv(10) == b''
        except ConnectionResetError:
            pass
        client.close()
        assert proxy.connection_count == 0
        # The proxy keeps accepting new connections.
        with socket.create_connection(('127.0.0.1', proxy.port)) as again:
            again.sendall(b'y')
            assert _recv_exactly(again, 1) == b'y'


def test_proxy_carries_amqp_to_broker(broker_address: tuple[str, int]) -> None:
    with TcpProxy(*broker_address[:2]) as proxy:
        assert amqp_answers('127.0.0.1', proxy.port)
        proxy.pause()
        assert not amqp_answers('127.0.0.1', proxy.port, timeout=0.5)
        proxy.resume()
        assert amqp_answers('127.0.0.1', proxy.port)


# -- private broker -------------------------------------------------------------------------


def _main_broker_status_ok() -> bool:
    done = subprocess.run(['rabbitmqctl', 'status'], capture_output=True, timeout=60, check=False)
    return done.returncode == 0


@pytest.mark.private_broker
def test_private_broker_is_separate(private_broker: PrivateBroker) -> None:
    assert private_broker.port != 5672
    assert amqp_answers(private_broker.host, private_broker.port)
    assert private_broker.node_name in private_broker.rabbitmqctl('status')
    plugins = private_broker.eval('rabbit_plugins:active().')
    assert 'rabbitmq_management' not in plugins


@pytest.mark.private_broker
def test_private_broker_memory_alarm_blocks_publishers(private_broker: PrivateBroker) -> None:
    client = RawAmqp(private_broker.host, private_broker.port)
    try:
        client.handshake()
        private_broker.set_memory_alarm()
        assert 'memory' in private_broker.alarms()
        client.publish('pikatest.nowhere', b'x')  # a publishing connection gets blocked
        assert client.read_method() == (10, 60)  # Connection.Blocked
        private_broker.clear_memory_alarm()
        assert 'memory' not in private_broker.alarms()
        assert client.read_method() == (10, 61)  # Connection.Unblocked
    finally:
        client.close()


@pytest.mark.private_broker
def test_private_broker_freeze_and_thaw(private_broker: PrivateBroker) -> None:
    private_broker.freeze()
    try:
        assert private_broker.frozen
        assert not amqp_answers(private_broker.host, private_broker.port, timeout=1.0)
    finally:
        private_broker.thaw()
    assert amqp_answers(private_broker.host, private_broker.port)


@pytest.mark.private_broker
def test_private_broker_kill_and_start_again(private_broker: PrivateBroker) -> None:
    client = RawAmqp(private_broker.host, private_broker.port)
    client.handshake()
    pid = private_broker.beam_pid()
    assert pid is not None
    private_broker.kill()
    try:
        with pytest.raises(ConnectionError):
            client.read_frame(timeout=10)
    finally:
        client.close()
    assert not pid_alive(pid)
    assert not amqp_answers(private_broker.host, private_broker.port, timeout=1.0)
    private_broker.start()
    assert amqp_answers(private_broker.host, private_broker.port)
    assert private_broker.beam_pid() not in (None, pid)


@pytest.mark.private_broker
def test_private_broker_context_manager_cleans_up() -> None:
    with PrivateBroker() as broker:
        pid = broker.beam_pid()
        base_dir = broker.base_dir
        assert pid is not None and amqp_answers(broker.host, broker.port)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid)
    assert not base_dir.exists()
    assert not amqp_answers(broker.host, broker.port, timeout=1.0)
    assert _main_broker_status_ok(), 'the shared broker must be untouched'


@pytest.mark.private_broker
def test_reap_stale_nodes_kills_orphans_only(tmp_path: Path) -> None:
    orphan = PrivateBroker(base_dir=str(tmp_path / 'pikatest-broker-orphan'))
    try:
        orphan.start()
        pid = orphan.beam_pid()
        assert pid is not None
        assert reap_stale_nodes(str(tmp_path)) == []  # owner (this process) is alive
        dead = subprocess.Popen(['true'])
        dead.wait()
        (orphan.base_dir / 'owner').write_text(str(dead.pid), encoding='ascii')
        assert reap_stale_nodes(str(tmp_path)) == [str(orphan.base_dir)]
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(pid)
        assert not orphan.base_dir.exists()
    finally:
        orphan.close()


def test_url_and_params_fixtures_point_at_the_shared_broker(
    amqp_url: str, broker_params: object, broker_address: tuple[str, int]
) -> None:
    host, port = broker_address[:2]
    assert amqp_url == f'amqp://guest:guest@{host}:{port}/%2F'
    assert (broker_params.host, broker_params.port) == (host, port)  # type: ignore[attr-defined]


def test_proxy_close_all_with_reset(echo_server: tuple[str, int]) -> None:
    with TcpProxy(*echo_server) as proxy, socket.create_connection(('127.0.0.1', proxy.port)) as c:
        c.sendall(b'z')
        assert _recv_exactly(c, 1) == b'z'
        proxy.close_all(reset=True)
        c.settimeout(5)
        with pytest.raises(ConnectionResetError):
            c.recv(10)
