"""The Twisted reconnect stream over TLS (`twisted_connection._RecoveryStream` with
``ssl_options``), on a Twisted ``StringTransport`` and a fake clock, against a server TLS
session in memory (no socket, no reactor).

Checks that the connection gets the stream only once the handshake is done, that bytes go
through TLS both ways, and that every way a handshake can fail (certificate, the peer hanging
up, the timeout) fails the attempt exactly once with the documented error and closes the TCP
stream, while a TLS error after the handshake is the connection's ``StreamLostError``. Around
it, on a fake reactor: closing the connection while it recovers stops the attempt, and a first
connection over Twisted's TLS whose parameters lack ``ssl_options`` warns that a reconnect would
be plain TCP.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any, Callable

import pytest
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import directlyProvides  # type: ignore[import-untyped]

import pika
from pika import exceptions
from pika.adapters._io.transport import SocketConnectTimeout, TLSHandshakeError
from pika.adapters.twisted_connection import TwistedProtocolConnection, _RecoveryFactory
from tests.helpers import server_frames as sf
from tests.helpers.tls_certs import SERVER_NAME, TlsFiles, make_tls_files, openssl_available
from tests.helpers.tls_peer import MemoryTLSServer

if TYPE_CHECKING:
    from twisted.internet.protocol import Protocol


@pytest.fixture(scope='module')
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    assert openssl_available(), 'the openssl command is needed to make test certificates'
    return make_tls_files(tmp_path_factory.mktemp('twtls'))


class FakeConnection:
    """What `_RecoveryStream` asks of `_TwistedConnection`, recorded."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.is_closed = False
        self.transport: Any = None
        self.received = bytearray()
        self.lost: list[BaseException] = []

    def call_later(self, delay: float, callback: Callable[[], Any]) -> object:
        return self.clock.callLater(delay, callback)

    def remove_timeout(self, timer: Any) -> None:
        if timer.active():
            timer.cancel()

    def attach_reconnected(self, transport: Any, params: Any) -> None:
        self.transport = transport

    def transport_received(self, data: bytes) -> None:
        self.received += data

    def recovery_stream_lost(self, transport: Any, error: BaseException) -> None:
        if transport is self.transport:
            self.lost.append(error)


class Attempt:
    """One reconnect attempt: the stream, its TCP transport, what `on_failed` got."""

    def __init__(self, files: TlsFiles, server_name: str = SERVER_NAME) -> None:
        context = ssl.create_default_context(cafile=str(files.ca_cert))
        self.params = pika.ConnectionParameters(
            host='127.0.0.1',
            port=5671,
            socket_timeout=5.0,
            ssl_options=pika.SSLOptions(context, server_name),
        )
        self.connection = FakeConnection()
        self.failures: list[BaseException] = []
        factory = _RecoveryFactory(self.connection, self.params, self.failures.append)  # type: ignore[arg-type]
        self.stream: Protocol = factory.buildProtocol(None)
        self.tcp = StringTransport()
        self.server = MemoryTLSServer(files)

    def connect(self) -> None:
        self.stream.makeConnection(self.tcp)

    def shuttle(self, rounds: int = 6) -> None:
        """Move the records between the stream and the server until both are quiet."""
        for _ in range(rounds):
            sent = self.tcp.value()
            self.tcp.clear()
            reply = self.server.feed(sent)
            if reply:
                self.stream.dataReceived(reply)
            elif not sent:
                return


def test_the_connection_gets_the_stream_after_the_handshake(files: TlsFiles) -> None:
    attempt = Attempt(files)
    attempt.connect()
    assert attempt.tcp.value()  # the ClientHello
    assert attempt.connection.transport is None  # not before the handshake
    attempt.shuttle()
    stream = attempt.connection.transport
    assert stream is not None and attempt.server.done and not attempt.failures

    stream.write(b'AMQP\x00\x00\x09\x01')
    attempt.server.feed(attempt.tcp.value())
    attempt.tcp.clear()
    assert attempt.server.read_all() == b'AMQP\x00\x00\x09\x01'
    attempt.stream.dataReceived(attempt.server.send(b'connection.start'))
    assert bytes(attempt.connection.received) == b'connection.start'

    stream.loseConnection()  # close_notify first, then the TCP close
    assert attempt.tcp.disconnecting
    attempt.server.feed(attempt.tcp.value())
    assert attempt.server.tls.read(10) == b''  # the client's close_notify
    attempt.stream.connectionLost(Failure(ConnectionDone()))
    assert isinstance(attempt.connection.lost[0], exceptions.StreamLostError)
    assert not attempt.failures
    assert not attempt.connection.clock.getDelayedCalls()  # the handshake timer is gone


def test_a_refused_certificate_fails_the_attempt_once(files: TlsFiles) -> None:
    attempt = Attempt(files, server_name='not-the-broker')
    attempt.connect()
    attempt.shuttle()
    assert attempt.connection.transport is None
    assert len(attempt.failures) == 1
    error = attempt.failures[0]
    assert isinstance(error, TLSHandshakeError)
    assert isinstance(error, exceptions.AMQPConnectionError)
    assert 'certificate verify failed' in str(error) and '127.0.0.1:5671' in str(error)
    assert attempt.tcp.disconnecting
    assert attempt.server.error is not None  # the alert told the broker why
    attempt.stream.connectionLost(Failure(ConnectionDone()))
    assert len(attempt.failures) == 1 and not attempt.connection.lost


def test_the_peer_hanging_up_during_the_handshake_fails_the_attempt(files: TlsFiles) -> None:
    attempt = Attempt(files)
    attempt.connect()
    attempt.stream.connectionLost(Failure(ConnectionDone()))
    assert len(attempt.failures) == 1
    assert isinstance(attempt.failures[0], TLSHandshakeError)
    assert 'the peer closed' in str(attempt.failures[0])
    assert not attempt.connection.clock.getDelayedCalls()


def test_a_handshake_that_never_ends_times_out(files: TlsFiles) -> None:
    attempt = Attempt(files)
    attempt.connect()
    attempt.connection.clock.advance(4.9)
    assert not attempt.failures
    attempt.connection.clock.advance(0.2)
    assert len(attempt.failures) == 1
    assert isinstance(attempt.failures[0], SocketConnectTimeout)
    assert 'timed out after 5.0 s' in str(attempt.failures[0])
    assert attempt.tcp.disconnecting
    attempt.stream.connectionLost(Failure(ConnectionDone()))
    assert len(attempt.failures) == 1


def test_a_connection_closed_meanwhile_does_not_take_the_stream(files: TlsFiles) -> None:
    attempt = Attempt(files)
    attempt.connect()
    attempt.connection.is_closed = True  # the application closed it during the handshake
    attempt.shuttle()
    assert attempt.connection.transport is None and attempt.tcp.disconnecting


def test_a_tls_error_after_the_handshake_is_the_connections_loss(files: TlsFiles) -> None:
    attempt = Attempt(files)
    attempt.connect()
    attempt.shuttle()
    attempt.stream.dataReceived(b'\x17\x03\x03\x00\x20' + b'\x00' * 32)  # undecryptable
    assert attempt.tcp.disconnecting and not attempt.connection.received
    attempt.stream.connectionLost(Failure(ConnectionDone()))
    assert not attempt.failures
    assert len(attempt.connection.lost) == 1
    assert 'while receiving' in str(attempt.connection.lost[0])


def test_the_peers_close_notify_ends_the_stream(files: TlsFiles) -> None:
    attempt = Attempt(files)
    attempt.connect()
    attempt.shuttle()
    records = attempt.server.send(b'last frame')
    with pytest.raises(ssl.SSLWantReadError):
        attempt.server.tls.unwrap()
    attempt.stream.dataReceived(records + attempt.server.outgoing.read())
    assert bytes(attempt.connection.received) == b'last frame'
    assert attempt.tcp.disconnecting


# -- the connection around the stream (a fake reactor, as in test_twisted_recovery_hosts) ------


class Connector:
    """What ``reactor.connectTCP`` returns; records `disconnect`."""

    def __init__(self) -> None:
        self.disconnected = False

    def disconnect(self) -> None:
        self.disconnected = True


class Reactor:
    """Records TCP connects; the test runs the timers."""

    def __init__(self) -> None:
        self.timers: list[Any] = []
        self.connectors: list[Connector] = []

    def callLater(self, delay: float, callback: Any) -> Any:
        call = Clock().callLater(delay, callback)
        self.timers.append((call, callback))
        return call

    def connectTCP(self, host: str, port: int, factory: Any, timeout: float) -> Connector:
        self.connectors.append(Connector())
        return self.connectors[-1]

    def run_timers(self) -> None:
        timers, self.timers = self.timers, []
        for call, callback in timers:
            if call.active():
                callback()


class FirstTransport(StringTransport):
    """The application's first stream; `tls` makes it look like Twisted's TLS transport."""

    def __init__(self, tls: bool) -> None:
        super().__init__()
        if tls:
            directlyProvides(self, ISSLTransport)


def _opened(params: pika.ConnectionParameters, tls: bool = False) -> tuple[Any, Reactor]:
    reactor = Reactor()
    proto = TwistedProtocolConnection(params, custom_reactor=reactor)
    proto.makeConnection(FirstTransport(tls))
    proto.dataReceived(sf.start() + sf.tune(heartbeat=0) + sf.open_ok())
    assert proto.is_open
    return proto, reactor


def _recovering(files: TlsFiles) -> pika.ConnectionParameters:
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    return pika.ConnectionParameters(
        heartbeat=0,
        ssl_options=pika.SSLOptions(context, SERVER_NAME),
        recovery=pika.Recovery(initial_delay=0.0, jitter=0.0, max_attempts=3),
    )


def test_closing_while_recovering_stops_the_attempt(files: TlsFiles) -> None:
    proto, reactor = _opened(_recovering(files))
    proto.connectionLost(Failure(ConnectionLost('node killed')))
    reactor.run_timers()
    assert len(reactor.connectors) == 1 and not reactor.connectors[0].disconnected
    proto.close()
    assert reactor.connectors[0].disconnected  # no TLS handshake left to run to its timeout
    assert proto.is_closed


def test_a_tls_first_connection_without_ssl_options_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recovery = pika.Recovery(initial_delay=0.0, jitter=0.0, max_attempts=3)
    with caplog.at_level(logging.WARNING, logger='pika.adapters.twisted_connection'):
        _opened(pika.ConnectionParameters(heartbeat=0, recovery=recovery), tls=True)
        _opened(pika.ConnectionParameters(heartbeat=0, recovery=recovery), tls=False)
        _opened(pika.ConnectionParameters(heartbeat=0), tls=True)  # no recovery: no reconnect
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        'Connected over TLS but the parameters have no ssl_options: a recovery reconnects to '
        'localhost:5672 over plain TCP'
    ]
