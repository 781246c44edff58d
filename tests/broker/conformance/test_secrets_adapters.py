"""No secret leaks on any adapter: a password or token never reaches a log record, the repr/str
of an exception or object, a traceback, a warning or stderr, and ``erase_on_connect`` leaves no
copy reachable from the connection.

Every adapter (the conformance drivers: select with each poller, the selector adapter, asyncore,
asyncio, uvloop, tornado, gevent, Twisted; and the BlockingConnection) runs, with every logger
at DEBUG, through: a successful login from an ``amqp://`` URL with the percent-encoded password,
a channel, a publish, an ``update_secret`` with a new token, a connection loss (a TCP proxy
drops the socket), a failed login with a wrong password, URL parse errors of URLs carrying the
password, and a TLS failure (a server name the certificate does not carry) from an ``amqps://``
URL with the password.

The user with the distinctive password lives on a private node with a TLS listener (the TLS
failure needs one anyway), so the shared broker is never reconfigured; it is deleted at the
end. The BlockingConnection, which recovers automatically (issue 15), also runs through a
connection loss with recovery (``rabbitmqctl close_connection``), and a recovery that gives up
(the user's password changed on the broker), with the hooks' arguments scanned too; so do the
callback adapters that recover (those of ``tests/broker/test_callback_recovery.py``), and
Twisted over TLS through a recovery and a reconnect whose certificate check fails.
``pika.aio`` (issue 17) runs through the same steps on asyncio and trio: login, update_secret,
loss, failed login, TLS failure, recovery and a recovery that gives up, and ``erase_on_connect``.
"""

from __future__ import annotations

import gc
import logging
import re
import ssl
import time
import traceback
import types
import urllib.parse
import uuid
import warnings
from typing import TYPE_CHECKING, Any

import pytest

import pika
import pika.aio
from pika import exceptions
from tests.helpers.aio import in_thread, run, sleep
from tests.helpers.loop_drivers import (
    TwistedDriver,
    driver_factories,
    recovering_adapters,
    twisted_tls_driver,
)
from tests.helpers.private_broker import PrivateBroker, close_my_connection
from tests.helpers.session import Session, declare_queue
from tests.helpers.tcp_proxy import TcpProxy
from tests.helpers.tls_certs import SERVER_NAME

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tests.helpers.loop_drivers import Driver
    from tests.helpers.tls_certs import TlsFiles

pytestmark = pytest.mark.broker

USER = f'pikasecret-{uuid.uuid4().hex[:8]}'


def _random() -> str:
    return uuid.uuid4().hex[:16]


# Characters that must be percent-encoded in a URL between random parts no other text has.
PASSWORD = f'S3{_random()}/@:%?#-{_random()}'
WRONG_PASSWORD = f'Wr{_random()}/@:-{_random()}'
TOKEN = f'T0ken-{_random()}'
SECRETS = (PASSWORD, WRONG_PASSWORD, TOKEN)
WRONG_NAME = 'not-the-broker'


def needles() -> list[str]:
    """What must never show: each secret, its percent-encoded form, and each of its random
    parts (a partial leak, e.g. the piece of a password a URL parser took for the port, still
    gives the password away)."""
    found = []
    for secret in SECRETS:
        found += [secret, urllib.parse.quote(secret, safe='')]
        found += [part for part in re.findall('[0-9A-Za-z]+', secret) if len(part) >= 8]
    return found


def quoted(secret: str) -> str:
    return urllib.parse.quote(secret, safe='')


# -- capture and scan --------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def exception_texts(error: BaseException) -> list[str]:
    """repr, str, args and formatted traceback of ``error`` and of every exception chained to it
    (``__context__`` too when suppressed: the object is still there for a debugger or a crash
    reporter to show)."""
    texts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [repr(current), str(current), repr(current.args)]
        texts.append(
            ''.join(traceback.format_exception(type(current), current, current.__traceback__))
        )
        pending += [current.__cause__, current.__context__]
    return texts


class Leaks:
    """Collect everything a secret could leak through while a scenario runs, then scan it.

    While active: every logger (also non-propagating ones) emits DEBUG records into one handler,
    and every warning is recorded. Tests add the exceptions they got and the objects they made.
    """

    def __init__(self) -> None:
        self.handler = _Records()
        self.errors: list[BaseException] = []
        self.objects: list[Any] = []
        self.warnings: list[warnings.WarningMessage] = []
        self._saved: list[tuple[logging.Logger, int, bool]] = []
        self._catcher = warnings.catch_warnings(record=True)

    def __enter__(self) -> Leaks:
        root = logging.getLogger()
        loggers = [root] + [
            logger
            for logger in root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger)
        ]
        for logger in loggers:
            self._saved.append((logger, logger.level, logger.disabled))
            logger.disabled = False
            logger.setLevel(logging.DEBUG)
            if logger is root or not logger.propagate:
                logger.addHandler(self.handler)
        self.warnings = self._catcher.__enter__()  # type: ignore[assignment]
        warnings.simplefilter('always')
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._catcher.__exit__(None, None, None)
        for logger, level, disabled in self._saved:
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(self.handler)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every captured thing."""
        for record in self.handler.records:
            where = f'log record {record.name}:{record.levelname}'
            yield where, str(record.msg)
            yield where, record.getMessage()
            yield where, repr(record.args)
            if record.stack_info:
                yield where, record.stack_info
            if record.exc_info and record.exc_info[1] is not None:
                for text in exception_texts(record.exc_info[1]):
                    yield where, text
        for message in self.warnings:
            yield (
                'warning',
                warnings.formatwarning(
                    message.message, message.category, message.filename, message.lineno
                ),
            )
        for error in self.errors:
            for text in exception_texts(error):
                yield f'exception {type(error).__name__}', text
        for obj in self.objects:
            yield f'object {type(obj).__name__}', repr(obj)
            yield f'object {type(obj).__name__}', str(obj)

    def assert_clean(self, *extra: tuple[str, str]) -> None:
        assert self.handler.records, 'nothing was logged: the capture is not working'
        leaks = [
            f'{where}: {text[:300]}'
            for where, text in [*self.texts(), *extra]
            for needle in needles()
            if needle in text
        ]
        assert not leaks, '\n'.join(leaks)


@pytest.fixture
def leaks(capfd: pytest.CaptureFixture[str]) -> Iterator[Leaks]:
    """A :class:`Leaks` capture; after the test body, also stdout/stderr (printed tracebacks,
    e.g. gevent's hub) must be clean."""
    with Leaks() as capture:
        yield capture
    out, err = capfd.readouterr()
    for needle in needles():
        assert needle not in out + err, f'secret printed: {(out + err)[:2000]}'


def reachable_secrets(root: Any, needle: str = PASSWORD, limit: int = 2_000_000) -> list[str]:
    """Every str/bytes reachable from ``root`` that holds ``needle``, with the path to it.

    Follows ``gc.get_referents`` from ``root``, but not into modules, classes or code, nor into a
    function's globals (only its closure and defaults), nor past a frame's locals: those lead to
    module globals such as this test's own ``PASSWORD``, which the connection does not hold.
    """
    needle_b = needle.encode()
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, type(root).__name__)]
    while stack:
        obj, path = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type, types.CodeType)):
            continue
        seen.add(id(obj))
        assert len(seen) < limit, 'object graph walk did not end'
        if isinstance(obj, str):
            if needle in obj:
                found.append(path)
            continue
        if isinstance(obj, (bytes, bytearray, memoryview)):
            if needle_b in bytes(obj):
                found.append(f'{path} ({type(obj).__name__} of {len(obj)})')
            continue
        if isinstance(obj, types.FunctionType):
            cells = [cell.cell_contents for cell in obj.__closure__ or () if _filled(cell)]
            children: Iterable[Any] = [*cells, obj.__defaults__, obj.__kwdefaults__]
        elif isinstance(obj, types.FrameType):
            children = list(obj.f_locals.values())
        else:
            children = gc.get_referents(obj)
        stack.extend((child, f'{path} > {type(child).__name__}') for child in children)
    return found


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


# -- broker and URLs -------------------------------------------------------------------------


@pytest.fixture(scope='module')
def node(tls_broker: PrivateBroker) -> Iterator[PrivateBroker]:
    """The private TLS node (tests/broker/conftest.py) with a user whose password is
    :data:`PASSWORD`."""
    tls_broker.rabbitmqctl('add_user', USER, PASSWORD)
    tls_broker.rabbitmqctl('set_permissions', '-p', '/', USER, '.*', '.*', '.*')
    try:
        yield tls_broker
    finally:
        tls_broker.rabbitmqctl('delete_user', USER)


def login_url(host: str, port: int, password: str = PASSWORD) -> str:
    return f'amqp://{USER}:{quoted(password)}@{host}:{port}/%2F?heartbeat=0&socket_timeout=5'


def tls_url(node: PrivateBroker, files: TlsFiles) -> str:
    """An amqps URL with the password whose certificate check must fail (wrong server name)."""
    options = {'ca_certs': str(files.ca_cert), 'server_hostname': WRONG_NAME}
    query = urllib.parse.urlencode({'ssl_options': repr(options), 'socket_timeout': '5'})
    return f'amqps://{USER}:{quoted(PASSWORD)}@{node.host}:{node.tls_port}/%2F?{query}'


def bad_urls(host: str, port: int) -> list[str]:
    """URLs carrying the password (encoded, and raw as a careless user writes it) that do not
    parse."""
    encoded = quoted(PASSWORD)
    key_password = quoted(repr({'password': PASSWORD}))  # a key password, but no CA: refused
    unclosed = quoted(f"{{'ca_certs': '/ca.pem', 'password': '{PASSWORD}'")  # a SyntaxError
    return [
        f'amqp://{USER}:{encoded}@{host}:notaport/%2F',
        f'amqp://{USER}:{encoded}@{host}:{port}/%2F?heartbeat=nope',
        f'amqp://{USER}:{encoded}@{host}:{port}/%2F?no_such_option=1',
        f'amqp://{USER}:{encoded}@{host}:{port}/%2F?ssl_options=%7B',
        f'amqps://{USER}:{encoded}@{host}:{port}/%2F?ssl_options=None',
        f'ftp://{USER}:{encoded}@{host}:{port}/%2F',
        f'amqp://{USER}:{PASSWORD}@{host}:{port}/%2F',
        f'amqp://{USER}:{PASSWORD[:18]}@{host}:{port}x/%2F',
        f'amqp://{USER}:{encoded}@{host}:{port}/%2F?ssl_options={key_password}',
        f'amqp://{USER}:{encoded}@{host}:{port}/%2F?ssl_options={unclosed}',
    ]


def parse_errors(leaks: Leaks, host: str, port: int) -> None:
    """Every bad URL raises a ValueError/TypeError; keep them for the scan."""
    for url in bad_urls(host, port):
        with pytest.raises((ValueError, TypeError)) as info:
            pika.URLParameters(url)
        leaks.errors.append(info.value)


# -- every callback adapter --------------------------------------------------------------------


def login_update_and_lose(driver: Driver, node: PrivateBroker, leaks: Leaks) -> None:
    """Log in through a proxy, open a channel, publish, rotate the secret, drop the socket."""
    with TcpProxy(node.host, node.port) as proxy:
        params = pika.URLParameters(login_url(proxy.host, proxy.port))
        assert params.credentials.password == PASSWORD  # percent-decoded
        session = Session(driver, params).wait_open()
        channel = session.channel()
        channel_closed: list[BaseException] = []
        channel.add_on_close_callback(lambda _channel, reason: channel_closed.append(reason))
        queue = declare_queue(session, channel)
        channel.basic_publish('', queue, b'payload')
        updated: list[Any] = []
        session.connection.update_secret(TOKEN, 'token rotated', callback=updated.append)
        driver.run_until(lambda: bool(updated))
        leaks.objects += [session.connection, channel, params, params.credentials, updated[0]]
        proxy.close_all()
        driver.run_until(lambda: session.close_error is not None)
    assert isinstance(session.close_error, exceptions.StreamLostError)
    assert channel_closed, 'the channel was not told it closed'
    leaks.errors += [session.close_error, *channel_closed]
    leaks.objects += [session.connection, channel]


def failed_login(driver: Driver, node: PrivateBroker, leaks: Leaks) -> None:
    params = pika.URLParameters(login_url(node.host, node.port, WRONG_PASSWORD))
    session = Session(driver, params)
    driver.run_until(lambda: session.finished, timeout=20.0)
    assert isinstance(session.open_error, exceptions.ProbableAuthenticationError)
    leaks.errors.append(session.open_error)
    leaks.objects += [session.connection, params]


def tls_failure(driver: Driver, node: PrivateBroker, files: TlsFiles, leaks: Leaks) -> None:
    """The certificate does not name the server: the connection fails before AMQP starts.
    Twisted's first connect does not read ``ssl_options`` (its TLS is the caller's): it
    connects with its own client options naming the wrong server, and the URL only gives host,
    port and password."""
    params = pika.URLParameters(tls_url(node, files))
    tls_driver: Driver = driver
    if isinstance(driver, TwistedDriver):
        tls_driver = twisted_tls_driver(files, server_name=WRONG_NAME)
        params.ssl_options = None
    try:
        session = Session(tls_driver, params)
        tls_driver.run_until(lambda: session.finished or session.opened, timeout=20.0)
    finally:
        if tls_driver is not driver:
            tls_driver.stop()
    assert not session.opened
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    # Twisted names the refused server name DNSMismatch.
    assert any(word in str(session.open_error) for word in ('Hostname mismatch', 'DNSMismatch'))
    leaks.errors.append(session.open_error)
    leaks.objects += [session.connection, params]


def test_no_secret_leaks_on_every_adapter(
    driver: Driver, node: PrivateBroker, tls_files: TlsFiles, leaks: Leaks
) -> None:
    login_update_and_lose(driver, node, leaks)
    failed_login(driver, node, leaks)
    parse_errors(leaks, node.host, node.port)
    tls_failure(driver, node, tls_files, leaks)
    leaks.assert_clean()


def test_erase_on_connect_leaves_no_copy_on_every_adapter(
    driver: Driver, node: PrivateBroker
) -> None:
    credentials = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    params = pika.ConnectionParameters(node.host, node.port, credentials=credentials, heartbeat=0)
    session = Session(driver, params).wait_open()
    try:
        channel = session.channel()
        declare_queue(session, channel)
        assert credentials.username is None and credentials.password is None
        assert reachable_secrets(session.connection) == []
        assert reachable_secrets(params) == []
        # A rotated token is not kept once the broker took it.
        updated: list[Any] = []
        session.connection.update_secret(TOKEN, 'token rotated', callback=updated.append)
        driver.run_until(lambda: bool(updated))
        assert reachable_secrets(session.connection, TOKEN) == []
    finally:
        session.close()


def test_erase_on_connect_after_a_failed_attempt_on_every_adapter(
    driver: Driver, node: PrivateBroker, tls_files: TlsFiles
) -> None:
    """A refused login and a TLS failure erase the credentials too, and the failed
    connection keeps no copy."""
    wrong = pika.PlainCredentials(USER, PASSWORD + 'x', erase_on_connect=True)
    refused = pika.ConnectionParameters(node.host, node.port, credentials=wrong, heartbeat=0)
    session = Session(driver, refused)
    driver.run_until(lambda: session.finished, timeout=20.0)
    assert isinstance(session.open_error, exceptions.ProbableAuthenticationError)
    assert wrong.password is None
    assert reachable_secrets(session.connection) == []

    if isinstance(driver, TwistedDriver):
        return  # Twisted's TLS is the caller's: no pika TLS failure to erase after
    tls = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    context = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    params = pika.ConnectionParameters(
        node.host,
        node.tls_port,
        credentials=tls,
        ssl_options=pika.SSLOptions(context, WRONG_NAME),
        socket_timeout=5,
    )
    session = Session(driver, params)
    driver.run_until(lambda: session.finished, timeout=20.0)
    assert isinstance(session.open_error, exceptions.AMQPConnectionError)
    assert tls.password is None
    assert reachable_secrets(session.connection) == []


# -- BlockingConnection ------------------------------------------------------------------------


def test_no_secret_leaks_blocking(node: PrivateBroker, tls_files: TlsFiles, leaks: Leaks) -> None:
    with TcpProxy(node.host, node.port) as proxy:
        params = pika.URLParameters(login_url(proxy.host, proxy.port))
        connection = pika.BlockingConnection(params)
        channel = connection.channel()
        channel.confirm_delivery()
        queue = channel.queue_declare('', exclusive=True).method.queue
        channel.basic_publish('', queue, b'payload')
        connection.update_secret(TOKEN, 'token rotated')
        leaks.objects += [connection, channel, params, params.credentials]
        proxy.close_all()
        with pytest.raises(exceptions.AMQPConnectionError) as lost:
            for _ in range(100):
                connection.process_data_events(0.1)
        leaks.errors.append(lost.value)
        leaks.objects += [connection, channel]

    with pytest.raises(exceptions.ProbableAuthenticationError) as refused:
        pika.BlockingConnection(pika.URLParameters(login_url(node.host, node.port, WRONG_PASSWORD)))
    leaks.errors.append(refused.value)

    parse_errors(leaks, node.host, node.port)

    with pytest.raises(exceptions.AMQPConnectionError) as tls:
        pika.BlockingConnection(pika.URLParameters(tls_url(node, tls_files)))
    assert 'Hostname mismatch' in str(tls.value)
    leaks.errors.append(tls.value)
    leaks.assert_clean()


class RecoveryHooks:
    """Every argument the recovery hooks get, kept for the scan."""

    def __init__(self) -> None:
        self.lost: list[BaseException] = []
        self.attempted: list[Any] = []
        self.recovered: list[Any] = []
        self.given_up: list[BaseException] = []

    def policy(self, base: pika.Recovery) -> pika.Recovery:
        return base.replace(
            on_connection_lost=lambda _conn, error: self.lost.append(error),
            on_recovering=lambda _conn, _number, params: self.attempted.append(params),
            on_recovered=lambda _conn, params: self.recovered.append(params),
            on_given_up=lambda _conn, cause: self.given_up.append(cause),
        )

    def url_parameters(self, node: PrivateBroker) -> pika.URLParameters:
        """Parameters from a URL carrying the password and a quick recovery (3 attempts),
        with these hooks in its policy."""
        recovery = '&recovery=true&recovery_initial_delay=0.1&recovery_max_delay=0.5'
        params = pika.URLParameters(
            login_url(node.host, node.port) + recovery + '&recovery_max_attempts=3'
        )
        assert params.recovery is not None and params.credentials.password == PASSWORD
        params.recovery = self.policy(params.recovery)
        return params

    def scanned(self) -> list[Any]:
        return [*self.lost, *self.given_up]


def pump_until(connection: pika.BlockingConnection, done: Any, limit: float = 30.0) -> None:
    """Drive ``connection`` until ``done()``, at most ``limit`` seconds."""
    end = time.monotonic() + limit
    while not done() and time.monotonic() < end:
        connection.process_data_events(0.05)
    assert done(), f'not done within {limit} s'


def recover_then_give_up(node: PrivateBroker, leaks: Leaks) -> RecoveryHooks:
    """A connection with recovery on (from a URL carrying the password) loses its connection
    and recovers; then the user's password changes on the broker, the connection is lost again
    and recovery gives up after its attempts are used."""
    hooks = RecoveryHooks()
    params = hooks.url_parameters(node)
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()
    queue = channel.queue_declare(f'secrets-recovery-{_random()}', auto_delete=True).method.queue
    channel.basic_publish('', queue, b'before')
    leaks.objects += [connection, channel, params, params.credentials, params.recovery]

    close_my_connection(node, connection)
    pump_until(connection, lambda: bool(hooks.recovered))
    assert len(hooks.lost) == 1 and hooks.attempted, 'no loss or no attempt seen'
    channel.basic_publish('', queue, b'after')  # confirmed on the recovered connection
    bodies = []
    for _ in range(2):
        method, _, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None, f'message missing after recovery: {bodies}'
        bodies.append(body)
    assert bodies == [b'before', b'after']
    channel.queue_delete(queue)
    leaks.objects += [connection, channel, *hooks.attempted, *hooks.recovered]

    node.rabbitmqctl('change_password', USER, f'Ch{_random()}')
    try:
        close_my_connection(node, connection)
        with pytest.raises(exceptions.AMQPConnectionError) as given_up:
            pump_until(connection, lambda: False, limit=60.0)
    finally:
        node.rabbitmqctl('change_password', USER, PASSWORD)
    assert len(hooks.given_up) == 1 and len(hooks.recovered) == 1
    cause = hooks.given_up[0]
    assert 'gave up after 3 connection attempts' in str(cause)
    assert isinstance(cause.__cause__, exceptions.ProbableAuthenticationError)
    assert str(given_up.value) == str(cause)
    assert not connection.is_open
    leaks.errors += [given_up.value, *hooks.scanned()]
    leaks.objects += [connection, channel, params, *hooks.attempted]
    return hooks


def test_no_secret_leaks_blocking_recovery(node: PrivateBroker, leaks: Leaks) -> None:
    hooks = recover_then_give_up(node, leaks)
    messages = [record.getMessage() for record in leaks.handler.records]
    # The capture saw the recovery: the loss, the recovery, the failed attempts, the give-up.
    assert any('recovered' in text for text in messages), messages
    assert any('failed' in text for text in messages), messages
    assert len(hooks.attempted) >= 4  # one to recover, three before giving up
    leaks.assert_clean()


def recover_then_give_up_callback(driver: Driver, node: PrivateBroker, leaks: Leaks) -> None:
    """:func:`recover_then_give_up` on a callback adapter: the connection, from a URL carrying
    the password, is closed by the broker and recovers (a message published afterwards reaches
    the recovered consumer); then the user's password changes and recovery gives up."""
    hooks = RecoveryHooks()
    params = hooks.url_parameters(node)
    session = Session(driver, params).wait_open()
    channel = session.channel()
    queue = f'secrets-recovery-{_random()}'
    session.rpc(channel.queue_declare, queue, exclusive=True)
    bodies: list[bytes] = []
    # Wait for ConsumeOk: the recovery replays only consumers the broker confirmed.
    session.rpc(
        channel.basic_consume, queue, lambda _ch, _m, _p, body: bodies.append(body), auto_ack=True
    )
    leaks.objects += [session.connection, channel, params, params.credentials, params.recovery]

    node.rabbitmqctl('close_all_connections', 'recovery test')
    driver.run_until(lambda: bool(hooks.recovered) or session.finished, timeout=30.0)
    assert hooks.recovered and not session.finished, (session.close_error, hooks.given_up)
    assert len(hooks.lost) == 1 and hooks.attempted, 'no loss or no attempt seen'
    channel.basic_publish('', queue, b'after')  # the queue and consumer were recovered
    driver.run_until(lambda: bool(bodies), timeout=15.0)
    assert bodies == [b'after']
    leaks.objects += [session.connection, channel, *hooks.attempted, *hooks.recovered]

    node.rabbitmqctl('change_password', USER, f'Ch{_random()}')
    try:
        node.rabbitmqctl('close_all_connections', 'recovery test')
        driver.run_until(lambda: bool(hooks.given_up) or bool(session.close_error), 60.0)
    finally:
        node.rabbitmqctl('change_password', USER, PASSWORD)
    driver.run_until(lambda: session.close_error is not None, timeout=15.0)
    assert len(hooks.given_up) == 1 and len(hooks.recovered) == 1
    cause = hooks.given_up[0]
    assert 'gave up after 3 connection attempts' in str(cause)
    assert isinstance(cause.__cause__, exceptions.ProbableAuthenticationError)
    assert len(hooks.attempted) >= 4  # one to recover, three before giving up
    assert not session.connection.is_open
    leaks.errors += [session.close_error, *hooks.scanned()]
    leaks.objects += [session.connection, channel, params, *hooks.attempted]


@pytest.mark.parametrize('adapter', recovering_adapters())
def test_no_secret_leaks_callback_recovery(adapter: str, node: PrivateBroker, leaks: Leaks) -> None:
    driver = driver_factories()[adapter]()
    try:
        recover_then_give_up_callback(driver, node, leaks)
    finally:
        driver.stop()
    messages = [record.getMessage() for record in leaks.handler.records]
    assert any('recovered' in text for text in messages), messages
    assert any('failed' in text for text in messages), messages
    leaks.assert_clean()


def test_no_secret_leaks_twisted_tls_recovery(
    node: PrivateBroker, tls_files: TlsFiles, leaks: Leaks
) -> None:
    """Twisted over TLS from an ``amqps://`` URL with the password: the reconnect runs TLS
    itself (``ssl_options``) and recovers; then the reconnect's certificate check fails (the
    parameters now name the wrong server) and recovery gives up. Nothing shows the secret."""
    hooks = RecoveryHooks()
    options = {'ca_certs': str(tls_files.ca_cert), 'server_hostname': SERVER_NAME}
    query = urllib.parse.urlencode(
        {
            'ssl_options': repr(options),
            'socket_timeout': '5',
            'recovery': 'true',
            'recovery_initial_delay': '0.1',
            'recovery_max_delay': '0.5',
            'recovery_max_attempts': '3',
        }
    )
    url = f'amqps://{USER}:{quoted(PASSWORD)}@{node.host}:{node.tls_port}/%2F?{query}'
    params = pika.URLParameters(url)
    assert params.recovery is not None and params.ssl_options is not None
    params.recovery = hooks.policy(params.recovery)
    driver = twisted_tls_driver(tls_files)
    try:
        session = Session(driver, params).wait_open()
        channel = session.channel()
        leaks.objects += [session.connection, channel, params, params.credentials, params.recovery]

        node.rabbitmqctl('close_all_connections', 'recovery test')
        driver.run_until(lambda: bool(hooks.recovered) or session.finished, timeout=30.0)
        assert hooks.recovered and not session.finished, (session.close_error, hooks.given_up)

        context = ssl.create_default_context(cafile=str(tls_files.ca_cert))
        params.ssl_options = pika.SSLOptions(context, WRONG_NAME)
        node.rabbitmqctl('close_all_connections', 'recovery test')
        driver.run_until(lambda: session.close_error is not None, timeout=60.0)
    finally:
        driver.stop()
    assert len(hooks.given_up) == 1 and len(hooks.recovered) == 1
    cause = hooks.given_up[0]
    assert 'gave up after 3 connection attempts' in str(cause)
    assert 'certificate verify failed' in str(cause.__cause__), repr(cause.__cause__)
    assert session.close_error is cause
    leaks.errors += [cause, *hooks.scanned()]
    leaks.objects += [session.connection, channel, *hooks.attempted, *hooks.recovered]
    messages = [record.getMessage() for record in leaks.handler.records]
    assert any('TLS handshake' in text for text in messages), messages
    leaks.assert_clean()


# -- pika.aio ------------------------------------------------------------------------------------


async def aio_login_update_and_lose(node: PrivateBroker, leaks: Leaks) -> None:
    """Log in through a proxy from a URL, publish with confirms, rotate the secret, drop the
    socket: the connection ends with a StreamLostError."""
    with TcpProxy(node.host, node.port) as proxy:
        params = pika.URLParameters(login_url(proxy.host, proxy.port))
        conn = await pika.aio.connect(params)
        ch = await conn.channel()
        await ch.confirm_delivery()
        queue = (await ch.queue_declare('', exclusive=True)).method.queue
        await ch.basic_publish('', queue, b'payload')
        await conn.update_secret(TOKEN, 'token rotated')
        leaks.objects += [conn, ch, params, params.credentials]
        proxy.close_all()
        lost = await conn.wait_closed(timeout=15.0)
    assert isinstance(lost, exceptions.StreamLostError), repr(lost)
    leaks.errors.append(lost)
    leaks.objects += [conn, ch]


async def aio_refused(node: PrivateBroker, files: TlsFiles, leaks: Leaks) -> None:
    """A wrong password, then a certificate that does not name the server."""
    try:
        await pika.aio.connect(login_url(node.host, node.port, WRONG_PASSWORD))
    except exceptions.ProbableAuthenticationError as refused:
        leaks.errors.append(refused)
    else:
        raise AssertionError('a wrong password was accepted')
    try:
        await pika.aio.connect(tls_url(node, files))
    except exceptions.AMQPConnectionError as tls:
        assert 'Hostname mismatch' in str(tls), repr(tls)
        leaks.errors.append(tls)
    else:
        raise AssertionError('a certificate naming another server was accepted')


async def aio_recover_then_give_up(node: PrivateBroker, leaks: Leaks) -> RecoveryHooks:
    """:func:`recover_then_give_up` on ``pika.aio``: the broker closes the connection, which
    recovers (its consumer gets a message published afterwards); then the user's password
    changes, the connection is closed again and recovery gives up."""
    hooks = RecoveryHooks()
    params = hooks.url_parameters(node)
    conn = await pika.aio.connect(params)
    ch = await conn.channel()
    queue = (await ch.queue_declare(f'secrets-recovery-{_random()}', exclusive=True)).method.queue
    leaks.objects += [conn, ch, params, params.credentials, params.recovery]
    async with ch.consume(queue, auto_ack=True) as messages:
        await in_thread(lambda: node.rabbitmqctl('close_all_connections', 'recovery test'))
        end = time.monotonic() + 30.0
        while not hooks.recovered and time.monotonic() < end:
            await sleep(0.05)
        assert hooks.recovered, ('not recovered', hooks.given_up)
        await ch.basic_publish('', queue, b'after')
        async for msg in messages:
            assert msg.body == b'after'
            break
    leaks.objects += [conn, ch, *hooks.attempted, *hooks.recovered]

    await in_thread(lambda: node.rabbitmqctl('change_password', USER, f'Ch{_random()}'))
    try:
        await in_thread(lambda: node.rabbitmqctl('close_all_connections', 'recovery test'))
        cause = await conn.wait_closed(timeout=60.0)
    finally:
        await in_thread(lambda: node.rabbitmqctl('change_password', USER, PASSWORD))
    assert len(hooks.given_up) == 1 and len(hooks.recovered) == 1
    assert 'gave up after 3 connection attempts' in str(hooks.given_up[0])
    assert isinstance(hooks.given_up[0].__cause__, exceptions.ProbableAuthenticationError)
    assert not conn.is_open
    leaks.errors += [cause, *hooks.scanned()]
    leaks.objects += [conn, ch, params, *hooks.attempted]
    return hooks


@pytest.mark.parametrize('kind', ['asyncio', 'trio'])
def test_no_secret_leaks_aio(
    kind: str, node: PrivateBroker, tls_files: TlsFiles, leaks: Leaks
) -> None:
    async def main() -> RecoveryHooks:
        await aio_login_update_and_lose(node, leaks)
        await aio_refused(node, tls_files, leaks)
        return await aio_recover_then_give_up(node, leaks)

    hooks = run(kind, main, timeout=150.0)
    parse_errors(leaks, node.host, node.port)
    messages = [record.getMessage() for record in leaks.handler.records]
    assert any('recovered' in text for text in messages), messages
    assert len(hooks.attempted) >= 4  # one to recover, three before giving up
    leaks.assert_clean()


@pytest.mark.parametrize('kind', ['asyncio', 'trio'])
def test_erase_on_connect_leaves_no_copy_aio(kind: str, node: PrivateBroker) -> None:
    """A pika.aio connection with ``erase_on_connect`` keeps no copy of the password, nor of a
    rotated token once the broker took it."""
    credentials = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    params = pika.ConnectionParameters(node.host, node.port, credentials=credentials, heartbeat=0)

    async def main() -> None:
        async with await pika.aio.connect(params) as conn:
            ch = await conn.channel()
            await ch.queue_declare('', exclusive=True)
            assert credentials.username is None and credentials.password is None
            assert reachable_secrets(conn) == []
            assert reachable_secrets(params) == []
            await conn.update_secret(TOKEN, 'token rotated')
            assert reachable_secrets(conn, TOKEN) == []

    run(kind, main)


def test_erase_on_connect_leaves_no_copy_blocking(node: PrivateBroker) -> None:
    credentials = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    params = pika.ConnectionParameters(node.host, node.port, credentials=credentials, heartbeat=0)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.queue_declare('', exclusive=True)
        assert credentials.username is None and credentials.password is None
        assert reachable_secrets(connection) == []
        assert reachable_secrets(params) == []
    finally:
        connection.close()


def test_erase_on_connect_after_a_tls_failure_blocking(
    node: PrivateBroker, tls_files: TlsFiles
) -> None:
    """The failed BlockingConnection is gone; neither the parameters nor the exception (with
    the frames of its traceback) keep the password."""
    credentials = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    context = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    params = pika.ConnectionParameters(
        node.host,
        node.tls_port,
        credentials=credentials,
        ssl_options=pika.SSLOptions(context, WRONG_NAME),
        socket_timeout=5,
    )
    with pytest.raises(exceptions.AMQPConnectionError) as info:
        pika.BlockingConnection(params)
    assert credentials.username is None and credentials.password is None
    assert reachable_secrets(params) == []
    assert reachable_secrets(info.value) == []


def test_walk_finds_a_password_the_connection_holds(node: PrivateBroker) -> None:
    """The graph walk is not blind: without ``erase_on_connect`` it finds the password."""
    credentials = pika.PlainCredentials(USER, PASSWORD)
    params = pika.ConnectionParameters(node.host, node.port, credentials=credentials, heartbeat=0)
    connection = pika.BlockingConnection(params)
    try:
        assert reachable_secrets(connection)
    finally:
        connection.close()


def test_scan_sees_a_leak() -> None:
    """The scanner is not blind either: a secret in a record, warning or exception is found."""
    with Leaks() as capture:
        logging.getLogger('pika.test').debug('password is %s', PASSWORD)
        warnings.warn(f'token {quoted(TOKEN)}', stacklevel=1)
        capture.errors.append(ValueError(WRONG_PASSWORD[:18]))
    with pytest.raises(AssertionError) as info:
        capture.assert_clean()
    assert info.value.args[0].count('\n') >= 3
