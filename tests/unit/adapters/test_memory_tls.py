"""`MemoryTLS` paired in memory with a stdlib server ``SSLObject`` (no socket).

The certificates are the throw-away CA and server certificate of `tests.helpers.tls_certs`
(made once per module with the ``openssl`` command). The test moves the ciphertext between the
two sessions itself: handshake, data both ways (large enough for many records), a refused
server name and an untrusted CA (the documented `TLSHandshakeError`, with the alert for the
peer), a TLS error after the handshake (``StreamLostError``) and ``close_notify`` both ways.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import pytest

from pika import exceptions
from pika.adapters._io.memory_tls import MemoryTLS
from pika.adapters._io.transport import TLSHandshakeError
from tests.helpers.tls_certs import SERVER_NAME, TlsFiles, make_tls_files, openssl_available
from tests.helpers.tls_peer import MemoryTLSServer

if TYPE_CHECKING:
    from pathlib import Path

WHERE = 'broker.example:5671'


@pytest.fixture(scope='module')
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    assert openssl_available(), 'the openssl command is needed to make test certificates'
    return make_tls_files(tmp_path_factory.mktemp('memtls'))


def client(cafile: Path, name: str = SERVER_NAME) -> MemoryTLS:
    return MemoryTLS(ssl.create_default_context(cafile=str(cafile)), name, WHERE)


def handshake(session: MemoryTLS, server: MemoryTLSServer) -> bytes:
    """Shuttle records until the client is done; the plaintext the client got meanwhile."""
    session.start()
    plaintext = b''
    for _ in range(10):
        reply = server.feed(session.data_to_send())
        plaintext += session.receive(reply)
        if session.handshake_done and server.done:
            break
    return plaintext


def test_handshake_then_data_both_ways(files: TlsFiles) -> None:
    session, server = client(files.ca_cert), MemoryTLSServer(files)
    assert handshake(session, server) == b''
    assert session.handshake_done and server.done
    big = bytes(range(256)) * 1024  # 256 KiB: many TLS records
    session.send(big)
    server.feed(session.data_to_send())
    assert server.read_all() == big
    server.tls.write(b'AMQP from the broker')
    assert session.receive(server.outgoing.read()) == b'AMQP from the broker'


def test_plaintext_split_across_receives(files: TlsFiles) -> None:
    session, server = client(files.ca_cert), MemoryTLSServer(files)
    handshake(session, server)
    server.tls.write(b'x' * 50_000)
    records = server.outgoing.read()
    got = b''.join(session.receive(records[i : i + 777]) for i in range(0, len(records), 777))
    assert got == b'x' * 50_000


def test_wrong_server_name_fails_the_handshake_with_an_alert(files: TlsFiles) -> None:
    session, server = client(files.ca_cert, name='not-the-broker'), MemoryTLSServer(files)
    with pytest.raises(TLSHandshakeError, match=r'TLS handshake with broker\.example:5671 failed'):
        handshake(session, server)
    assert isinstance(TLSHandshakeError('x'), exceptions.AMQPConnectionError)
    alert = session.data_to_send()
    assert alert  # the peer learns why
    server.feed(alert)
    assert server.error is not None


def test_untrusted_certificate_fails_the_handshake(files: TlsFiles) -> None:
    session = MemoryTLS(ssl.create_default_context(), SERVER_NAME, WHERE)  # system CAs only
    with pytest.raises(TLSHandshakeError, match='certificate verify failed'):
        handshake(session, MemoryTLSServer(files))


def test_garbage_during_handshake_is_a_handshake_error(files: TlsFiles) -> None:
    session = client(files.ca_cert)
    session.start()
    with pytest.raises(TLSHandshakeError):
        session.receive(b'AMQP\x00\x00\x09\x01' * 4)  # a plain AMQP peer answers


def test_tls_error_after_handshake_is_stream_lost(files: TlsFiles) -> None:
    session, server = client(files.ca_cert), MemoryTLSServer(files)
    handshake(session, server)
    with pytest.raises(exceptions.StreamLostError, match='while receiving'):
        session.receive(b'\x17\x03\x03\x00\x20' + b'\x00' * 32)  # an undecryptable record


def test_close_notify_both_ways(files: TlsFiles) -> None:
    session, server = client(files.ca_cert), MemoryTLSServer(files)
    handshake(session, server)
    session.close()
    session.close()  # idempotent
    server.feed(session.data_to_send())
    assert server.tls.read(10) == b''  # the stdlib's answer to a close_notify
    session.send(b'after close')  # dropped, not an error
    assert session.data_to_send() == b''

    session, server = client(files.ca_cert), MemoryTLSServer(files)
    handshake(session, server)
    server.tls.write(b'last words')
    with pytest.raises(ssl.SSLWantReadError):
        server.tls.unwrap()
    assert session.receive(server.outgoing.read()) == b'last words'
    assert session.peer_closed


def test_send_before_handshake_is_refused(files: TlsFiles) -> None:
    session = client(files.ca_cert)
    session.start()
    assert session.data_to_send()  # the ClientHello
    with pytest.raises(RuntimeError):
        session.send(b'too early')
    session.close()  # before the handshake: nothing to send, no error
    assert session.data_to_send() == b''
