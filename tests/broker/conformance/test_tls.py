"""TLS against a real TLS listener: a private node with a certificate from a throw-away CA.

Every adapter built on `IOServices` (select with each poller, asyncore, asyncio, tornado,
gevent) and the BlockingConnection open a verified TLS connection (the CA given, the host name
checked), move a small and a 1 MiB message through the broker and back, and close. A server
name the certificate does not carry, an untrusted certificate and a TLS client on the plain
port fail the connection with an error from our tree, within the socket timeout. SASL
EXTERNAL logs in as the client certificate's common name, and without a certificate it is
refused as an authentication error.
Twisted's first connect is the caller's (the adapter reads `ssl_options` only to reconnect,
tests/broker/test_callback_recovery.py): its tests connect with `reactor.connectSSL` and
Twisted's own client options.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
import pika.aio
from pika import exceptions
from tests.helpers.loop_drivers import twisted_tls_driver
from tests.helpers.session import Session, declare_queue
from tests.helpers.tls_certs import (
    CLIENT_USER,
    SERVER_NAME,
    TlsFiles,
)

if TYPE_CHECKING:
    from pika.channel import Channel
    from tests.helpers.loop_drivers import Driver
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.broker

LARGE = bytes(range(256)) * 4096  # 1 MiB: several body frames and many TLS records


def tls_params(
    broker: PrivateBroker,
    context: ssl.SSLContext,
    server_hostname: str | None = SERVER_NAME,
    port: int | None = None,
    credentials: Any = None,
) -> pika.ConnectionParameters:
    params = pika.ConnectionParameters(
        host=broker.host,
        port=broker.tls_port if port is None else port,
        ssl_options=pika.SSLOptions(context, server_hostname),
        socket_timeout=5.0,
        stack_timeout=15.0,
        connection_attempts=1,
    )
    if credentials is not None:
        params.credentials = credentials
    return params


def trusting(files: TlsFiles) -> ssl.SSLContext:
    """A client context that trusts only the test CA and checks host names."""
    return ssl.create_default_context(cafile=str(files.ca_cert))


def with_client_certificate(files: TlsFiles) -> ssl.SSLContext:
    """:func:`trusting`, also presenting the client certificate (common name ``guest``)."""
    context = trusting(files)
    context.load_cert_chain(str(files.client_cert), str(files.client_key))
    return context


def publish_and_consume(session: Session) -> None:
    """Publish a small and a 1 MiB message on the open session and consume both back."""
    driver = session.driver
    channel: Channel = session.channel()
    queue = declare_queue(session, channel)
    received: list[bytes] = []

    def on_message(ch: Channel, method: Any, _properties: Any, body: bytes) -> None:
        received.append(body)
        ch.basic_ack(method.delivery_tag)

    consume_ok: list[Any] = []
    channel.basic_consume(queue, on_message, callback=consume_ok.append)
    driver.run_until(lambda: bool(consume_ok))
    channel.basic_publish('', queue, b'small')
    channel.basic_publish('', queue, LARGE)
    driver.run_until(lambda: len(received) == 2, timeout=20.0)
    assert received[0] == b'small'
    assert received[1] == LARGE


def test_tls_publish_and_consume_on_every_adapter(
    fd_driver: Driver, tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    session = Session(fd_driver, tls_params(tls_broker, trusting(tls_files))).wait_open()
    try:
        publish_and_consume(session)
    finally:
        session.close()
    assert session.open_error is None


def plain_params(broker: PrivateBroker) -> pika.ConnectionParameters:
    """Where Twisted connects: the TLS port, without ``ssl_options`` (only reconnects read
    them)."""
    return pika.ConnectionParameters(host=broker.host, port=broker.tls_port, socket_timeout=5.0)


def test_twisted_publish_and_consume_over_tls(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    driver = twisted_tls_driver(tls_files)
    try:
        session = Session(driver, plain_params(tls_broker)).wait_open()
        try:
            publish_and_consume(session)
        finally:
            session.close()
    finally:
        driver.stop()
    assert session.open_error is None


def test_twisted_tls_failure_reaches_the_open_error_callback(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    driver = twisted_tls_driver(tls_files, server_name='not-the-broker')
    try:
        session = Session(driver, plain_params(tls_broker))
        driver.run_until(lambda: session.finished or session.opened, timeout=20.0)
    finally:
        driver.stop()
    assert not session.opened
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    # Twisted reports the refused name as the reason the transport was lost.
    assert 'DNSMismatch' in str(session.open_error)


def test_blocking_connection_over_tls(tls_broker: PrivateBroker, tls_files: TlsFiles) -> None:
    connection = pika.BlockingConnection(tls_params(tls_broker, trusting(tls_files)))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        queue = channel.queue_declare('', exclusive=True).method.queue
        bodies = [b'one', LARGE, b'three']
        for body in bodies:
            channel.basic_publish('', queue, body)  # confirmed: returns once the broker has it
        got = []
        for _ in bodies:
            method, _properties, got_body = channel.basic_get(queue, auto_ack=True)
            assert method and got_body is not None
            got.append(got_body)
        assert got == bodies
        assert channel.queue_declare(queue, passive=True).method.message_count == 0
    finally:
        connection.close()
    assert connection.is_closed


def test_aio_connection_over_tls(tls_broker: PrivateBroker, tls_files: TlsFiles) -> None:
    async def main() -> None:
        params = tls_params(tls_broker, trusting(tls_files))
        async with await pika.aio.connect(params) as conn, await conn.channel() as channel:
            await channel.confirm_delivery()
            queue = (await channel.queue_declare('', exclusive=True)).method.queue
            bodies = [b'one', LARGE, b'three']
            await asyncio.gather(*(channel.basic_publish('', queue, body) for body in bodies))
            got = []
            async with channel.consume(queue, prefetch=10) as messages:
                async for message in messages:
                    got.append(message.body)
                    await message.ack()
                    if len(got) == len(bodies):
                        break
            assert got == bodies
        assert conn.is_closed

    asyncio.run(asyncio.wait_for(main(), 60))


def test_amqps_url_with_the_ca(tls_broker: PrivateBroker, tls_files: TlsFiles) -> None:
    options = {'ca_certs': str(tls_files.ca_cert), 'server_hostname': SERVER_NAME}
    query = urllib.parse.urlencode({'ssl_options': repr(options), 'socket_timeout': '5'})
    url = f'amqps://guest:guest@{tls_broker.host}:{tls_broker.tls_port}/%2F?{query}'
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        name = f'pikatest.tls.{uuid.uuid4().hex}'
        channel = connection.channel()
        assert channel.queue_declare(name, exclusive=True).method.queue == name
    finally:
        connection.close()


@pytest.mark.parametrize(
    ('case', 'reason'),
    [
        ('wrong server name', 'Hostname mismatch'),
        ('untrusted certificate', 'certificate verify failed'),
        ('TLS client on the plain port', 'TLS handshake'),
    ],
)
def test_a_tls_failure_fails_the_connection_cleanly(
    case: str, reason: str, tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    if case == 'wrong server name':
        params = tls_params(tls_broker, trusting(tls_files), server_hostname='not-the-broker')
    elif case == 'untrusted certificate':
        params = tls_params(tls_broker, ssl.create_default_context())
    else:
        params = tls_params(tls_broker, trusting(tls_files), port=tls_broker.port)
    with pytest.raises(exceptions.AMQPConnectionError, match=reason):
        pika.BlockingConnection(params)


@pytest.mark.parametrize(
    ('case', 'reason'),
    [
        ('wrong server name', 'Hostname mismatch'),
        ('TLS client on the plain port', 'TLS handshake'),
    ],
)
def test_a_tls_failure_fails_an_aio_connection_cleanly(
    case: str, reason: str, tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    if case == 'wrong server name':
        params = tls_params(tls_broker, trusting(tls_files), server_hostname='not-the-broker')
    else:
        params = tls_params(tls_broker, trusting(tls_files), port=tls_broker.port)

    async def main() -> None:
        with pytest.raises(exceptions.AMQPConnectionError, match=reason):
            await pika.aio.connect(params)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_tls_failure_reaches_the_open_error_callback(
    fd_driver: Driver, tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    params = tls_params(tls_broker, trusting(tls_files), server_hostname='not-the-broker')
    session = Session(fd_driver, params)
    fd_driver.run_until(lambda: session.finished or session.opened, timeout=20.0)
    assert not session.opened
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    assert 'Hostname mismatch' in str(session.open_error)


def test_external_login_takes_the_user_from_the_client_certificate(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    params = tls_params(
        tls_broker,
        with_client_certificate(tls_files),
        credentials=pika.credentials.ExternalCredentials(),
    )
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        # The broker names the user it logged in: the certificate's common name.
        queue = channel.queue_declare('', exclusive=True).method.queue
        users = tls_broker.rabbitmqctl('list_connections', 'user', 'auth_mechanism', 'ssl')
        assert f'{CLIENT_USER}\tEXTERNAL\ttrue' in users
        assert channel.queue_declare(queue, passive=True).method.message_count == 0
    finally:
        connection.close()


def test_external_login_on_every_adapter(
    fd_driver: Driver, tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    params = tls_params(
        tls_broker,
        with_client_certificate(tls_files),
        credentials=pika.credentials.ExternalCredentials(),
    )
    session = Session(fd_driver, params).wait_open()
    try:
        channel = session.channel()
        declare_queue(session, channel)
    finally:
        session.close()


def test_external_login_without_a_client_certificate_is_refused(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    params = tls_params(
        tls_broker, trusting(tls_files), credentials=pika.credentials.ExternalCredentials()
    )
    with pytest.raises(exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params)


def _stream_start_over_tls(broker: PrivateBroker, context: ssl.SSLContext, name: str) -> Any:
    """`SelectorIOServicesAdapter`'s own connect + TLS stream to the TLS port: send the protocol
    header, read Connection.Start. Returns the stream's `on_done` result (or an error)."""
    import socket

    from pika.adapters.select_connection import IOLoop
    from pika.adapters.utils.selector_ioloop_adapter import SelectorIOServicesAdapter
    from tests.helpers.nbio_probe import ConnectionStartProbe

    loop = IOLoop()
    nbio = SelectorIOServicesAdapter(loop)
    outcome: dict[str, Any] = {}
    probe = ConnectionStartProbe(loop.stop)

    sock = socket.socket()
    sock.setblocking(False)

    def on_connected(error: BaseException | None) -> None:
        assert error is None, error
        nbio.create_streaming_connection(lambda: probe, sock, on_stream, context, name)

    def on_stream(result: Any) -> None:
        outcome['stream'] = result
        if isinstance(result, BaseException):
            loop.stop()

    nbio.connect_socket(sock, (broker.host, broker.tls_port), on_connected)
    guard = loop.call_later(15, loop.stop)
    try:
        loop.start()
    finally:
        loop.remove_timeout(guard)
        sock.close()
        loop.close()
    if probe.start is not None:  # the broker's first frame came back
        outcome['start'] = probe.start
    if probe.lost:
        outcome['lost'] = probe.lost[0]
    return outcome


def test_selector_adapter_streams_over_tls(tls_broker: PrivateBroker, tls_files: TlsFiles) -> None:
    outcome = _stream_start_over_tls(tls_broker, trusting(tls_files), SERVER_NAME)
    transport, _protocol = outcome['stream']
    assert outcome['start'] is True and outcome['lost'] is None
    assert transport.get_write_buffer_size() == 0


def test_selector_adapter_tls_stream_checks_the_name(
    tls_broker: PrivateBroker, tls_files: TlsFiles
) -> None:
    outcome = _stream_start_over_tls(tls_broker, trusting(tls_files), 'not-the-broker.invalid')
    assert isinstance(outcome['stream'], exceptions.AMQPConnectionError)
    assert 'start' not in outcome
