"""Socket transport helpers against the real broker (plus loopback sockets for failure cases)."""

from __future__ import annotations

import select
import socket
import ssl
import struct
import threading
import time
from typing import TYPE_CHECKING

import pytest

from pika import credentials, exceptions, spec
from pika._parameters import ConnectionParameters, SSLOptions
from pika.adapters._io import transport as _transport
from pika.adapters.blocking_connection import BlockingConnection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker

PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'


def _send_all(sock: socket.socket, data: bytes, timeout: float = 5.0) -> None:
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        sent = _transport.send_some(sock, view)
        view = view[sent:]
        if view:
            assert time.monotonic() < deadline, 'send did not finish'
            select.select([], [sock], [], 0.1)


def _recv_exact(sock: socket.socket, size: int, timeout: float = 5.0) -> bytes:
    buf = b''
    deadline = time.monotonic() + timeout
    while len(buf) < size:
        assert time.monotonic() < deadline, f'only {len(buf)} of {size} bytes arrived'
        select.select([sock], [], [], 0.1)
        chunk = _transport.recv_some(sock, size - len(buf))
        if chunk is not None:
            buf += chunk
    return buf


def _read_connection_start(sock: socket.socket) -> spec.Connection.Start:
    """Send the protocol header and decode the broker's Connection.Start frame."""
    _send_all(sock, PROTOCOL_HEADER)
    header = _recv_exact(sock, 7)
    frame_type, channel, size = struct.unpack('>BHI', header)
    assert (frame_type, channel) == (1, 0)  # a method frame on channel 0
    assert 0 < size < 65536
    rest = _recv_exact(sock, size + 1)
    assert rest[-1:] == b'\xce'  # frame end octet
    payload = rest[:-1]
    assert struct.unpack_from('>I', payload)[0] == spec.Connection.Start.INDEX
    return spec.Connection.Start().decode(payload, 4)


@pytest.fixture
def params(broker_address: BrokerAddress) -> ConnectionParameters:
    return ConnectionParameters(host=broker_address.host, port=broker_address.port)


@pytest.fixture
def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback server that accepts connections and never says anything."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_loop() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        server.close()


# -- blocking connect -----------------------------------------------------------------------


def test_connect_blocking_reads_connection_start(params: ConnectionParameters) -> None:
    sock = _transport.connect_blocking(params, timeout=5)
    try:
        assert sock.gettimeout() == 0.0  # handed back non-blocking
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert _transport.recv_some(sock, 100) is None  # nothing to read yet
        start = _read_connection_start(sock)
        assert (start.version_major, start.version_minor) == (0, 9)
        mechanism, response = credentials.PlainCredentials('guest', 'guest').response_for(start)
        assert (mechanism, response) == ('PLAIN', b'\0guest\0guest')
    finally:
        sock.close()


@pytest.mark.skipif(not hasattr(socket, 'TCP_KEEPIDLE'), reason='platform lacks TCP_KEEPIDLE')
def test_tcp_options_are_applied(params: ConnectionParameters) -> None:
    params.tcp_options = {'TCP_KEEPIDLE': 37, 'TCP_KEEPINTVL': 11, 'TCP_KEEPCNT': 4, 'X': 1}
    sock = _transport.connect_blocking(params, timeout=5)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 37
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 11
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
    finally:
        sock.close()


def test_refused_port_raises_connection_error(free_port: int) -> None:
    params = ConnectionParameters(host='127.0.0.1', port=free_port)
    with pytest.raises(_transport.SocketConnectError) as info:
        _transport.connect_blocking(params, timeout=5)
    assert isinstance(info.value, exceptions.AMQPConnectionError)
    assert not isinstance(info.value, _transport.SocketConnectTimeout)  # refused, not waited out
    assert f'127.0.0.1:{free_port}' in str(info.value)
    assert 'refused' in str(info.value)


def test_unresolvable_host() -> None:
    params = ConnectionParameters(host='no-such-host.invalid')
    with pytest.raises(_transport.AddressResolutionError) as info:
        _transport.connect_blocking(params, timeout=5)
    assert isinstance(info.value, exceptions.AMQPConnectionError)
    assert 'no-such-host.invalid' in str(info.value)


def test_tls_handshake_timeout(silent_server: int) -> None:
    params = ConnectionParameters(
        host='127.0.0.1', port=silent_server, ssl_options=SSLOptions(ssl.create_default_context())
    )
    with pytest.raises(_transport.SocketConnectTimeout, match='TLS handshake'):
        _transport.connect_blocking(params, timeout=0.3)


def test_tls_against_plain_amqp_port_fails_cleanly(params: ConnectionParameters) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    params.ssl_options = SSLOptions(context)
    with pytest.raises(_transport.SocketConnectError) as info:
        _transport.connect_blocking(params, timeout=5)
    assert isinstance(info.value, exceptions.AMQPConnectionError)
    assert 'TLS handshake' in str(info.value)


# -- non-blocking connect -------------------------------------------------------------------


def _wait_writable(sock: socket.socket) -> None:
    _, writable, _ = select.select([], [sock], [], 5)
    assert writable, 'connect did not complete'


def test_nonblocking_connect(params: ConnectionParameters) -> None:
    infos = _transport.resolve(params)
    assert infos and all(info[1] == socket.SOCK_STREAM for info in infos)
    sock = _transport.start_nonblocking_connect(infos[0], {'TCP_KEEPCNT': 3})
    try:
        assert sock.gettimeout() == 0.0
        _wait_writable(sock)
        _transport.finish_nonblocking_connect(sock)
        start = _read_connection_start(sock)
        assert b'PLAIN' in (
            start.mechanisms if isinstance(start.mechanisms, bytes) else start.mechanisms.encode()
        )
    finally:
        sock.close()


def test_nonblocking_connect_refused(free_port: int) -> None:
    info = _transport.resolve(ConnectionParameters(host='127.0.0.1', port=free_port))[0]

    def connect() -> None:
        # Loopback may refuse at once (start raises) or report it via SO_ERROR (finish raises).
        sock = _transport.start_nonblocking_connect(info)
        try:
            _wait_writable(sock)
            _transport.finish_nonblocking_connect(sock)
        finally:
            sock.close()

    with pytest.raises(_transport.SocketConnectError, match='refused') as excinfo:
        connect()
    assert isinstance(excinfo.value, exceptions.AMQPConnectionError)


# -- stream loss ----------------------------------------------------------------------------


def test_peer_close_maps_to_stream_lost(params: ConnectionParameters) -> None:
    sock = _transport.connect_blocking(params, timeout=5)
    try:
        _send_all(sock, b'NOT-AMQP')  # the broker answers with its header and hangs up
        assert _recv_exact(sock, 8) == PROTOCOL_HEADER
        deadline = time.monotonic() + 5
        with pytest.raises(exceptions.StreamLostError):
            while time.monotonic() < deadline:
                select.select([sock], [], [], 0.1)
                _transport.recv_some(sock, 4096)
        with pytest.raises(exceptions.StreamLostError):
            while time.monotonic() < deadline:
                _transport.send_some(sock, b'x' * 65536)
                time.sleep(0.01)
    finally:
        sock.close()


def test_send_some_empty_is_zero(params: ConnectionParameters) -> None:
    sock = _transport.connect_blocking(params, timeout=5)
    try:
        assert _transport.send_some(sock, b'') == 0
    finally:
        sock.close()


# -- retry plan (pure) ----------------------------------------------------------------------


def _plan(params: object) -> list[tuple[str, float]]:
    return [(p.host, delay) for p, delay in _transport.connect_with_retries(params)]  # type: ignore[arg-type]


def test_retry_plan_single_params() -> None:
    params = ConnectionParameters(host='a', connection_attempts=3, retry_delay=2.5)
    assert _plan(params) == [('a', 0.0), ('a', 2.5), ('a', 2.5)]
    assert _plan([params]) == _plan(params)
    assert _plan(ConnectionParameters(host='b')) == [('b', 0.0)]


def test_retry_plan_list_cycles_with_last_entry_settings() -> None:
    first = ConnectionParameters(host='a', connection_attempts=9, retry_delay=100)
    last = ConnectionParameters(host='b', connection_attempts=3, retry_delay=2)
    assert _plan([first, last]) == [
        ('a', 0.0),
        ('b', 0.0),
        ('a', 2.0),
        ('b', 0.0),
        ('a', 2.0),
        ('b', 0.0),
    ]
    plan = _plan([first, last])
    assert len(plan) == 2 * last.connection_attempts
    assert sum(delay for _, delay in plan) == (last.connection_attempts - 1) * last.retry_delay


def test_retry_plan_negative_delay_waits_nothing() -> None:
    # pika 1.x accepts a negative retry_delay; sleeping or arming a timer with it would raise
    params = ConnectionParameters(host='a', connection_attempts=2, retry_delay=-5)
    assert params.retry_delay == -5
    assert _plan(params) == [('a', 0.0), ('a', 0.0)]


def test_blocking_connection_with_negative_retry_delay_fails_cleanly(free_port: int) -> None:
    params = ConnectionParameters(
        host='127.0.0.1', port=free_port, connection_attempts=2, retry_delay=-1
    )
    with pytest.raises(exceptions.AMQPConnectionError):
        BlockingConnection(params)


def test_retry_plan_is_lazy_and_validates() -> None:
    plan = _transport.connect_with_retries(ConnectionParameters(connection_attempts=1000000))
    assert next(plan)[1] == 0.0  # lazily generated: a huge attempt count costs nothing upfront
    with pytest.raises(ValueError):
        list(_transport.connect_with_retries([]))
    with pytest.raises(TypeError):
        list(_transport.connect_with_retries(['amqp://h']))  # type: ignore[list-item]


# -- send_some / recv_some on a local socket pair ---------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_recv_some_would_block_then_data(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    assert _transport.recv_some(a, 10) is None
    b.sendall(b'hello')
    assert _recv_exact(a, 5) == b'hello'


def test_send_some_reports_zero_when_buffer_is_full(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    a, _ = pair
    chunk = b'x' * 65536
    total = 0
    for _ in range(10_000):
        sent = _transport.send_some(a, chunk)
        if sent == 0:
            break
        total += sent
    assert sent == 0  # buffer full is "try later", not an error
    assert total > 0


def test_eof_is_stream_lost(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    b.sendall(b'last')
    b.close()
    assert _recv_exact(a, 4) == b'last'
    with pytest.raises(exceptions.StreamLostError, match='EOF'):
        _recv_exact(a, 1)


# -- non-blocking TLS ---------------------------------------------------------------------------


def _tls_params(port: int) -> ConnectionParameters:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return ConnectionParameters(host='127.0.0.1', port=port, ssl_options=SSLOptions(context))


def test_tls_handshake_step_waits_for_a_silent_peer(silent_server: int) -> None:
    params = _tls_params(silent_server)
    sock = _transport.connect_blocking(ConnectionParameters(host='127.0.0.1', port=silent_server))
    tls = _transport.wrap_tls(sock, params)
    try:
        assert _transport.tls_handshake_step(tls) == 'read'  # ClientHello sent, no answer
        assert _transport.tls_handshake_step(tls) == 'read'
    finally:
        tls.close()


def test_tls_handshake_step_fails_against_plain_amqp(broker_address: BrokerAddress) -> None:
    params = _tls_params(broker_address.port)
    params.host = broker_address.host
    sock = _transport.connect_blocking(
        ConnectionParameters(host=broker_address.host, port=broker_address.port)
    )
    tls = _transport.wrap_tls(sock, params)
    try:
        with pytest.raises(_transport.TLSHandshakeError) as info:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                wanted = _transport.tls_handshake_step(tls)
                assert wanted in ('read', 'write')
                readers = [tls] if wanted == 'read' else []
                select.select(readers, [tls] if wanted == 'write' else [], [], 0.1)
        assert isinstance(info.value, exceptions.AMQPConnectionError)
    finally:
        tls.close()


def test_wrap_tls_requires_ssl_options(params: ConnectionParameters) -> None:
    with socket.socket() as sock, pytest.raises(ValueError):
        _transport.wrap_tls(sock, params)
