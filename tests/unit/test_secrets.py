"""Credential safety: a password never reaches a log record, a repr/str, or an exception message,
and ``erase_on_connect=True`` really drops the username and password after the attempt.

The lifecycle tests run a whole connection (connect, open a channel, publish, close; and a login
that fails) with the root logger at DEBUG capturing every record, then scan the captured records,
the repr/str of every object involved and every exception seen for a distinctive password.
The successful logins use a user created (with that password) on a private RabbitMQ node, so the
shared broker is never reconfigured; the failing logins go to the shared broker.
"""

from __future__ import annotations

import gc
import logging
import sys
import traceback
import types
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import credentials as pika_credentials
from pika import exceptions, frame, spec
from pika.adapters.blocking_connection import BlockingConnection
from pika.adapters.select_connection import SelectConnection
from tests.helpers.fake_peer import FakePeer

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tests.conftest import BrokerAddress
    from tests.helpers.private_broker import PrivateBroker

PASSWORD = 'Zx7-s3cr3tPW-q91'
USER = 'pikasecretuser'
_UNSCANNED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type,
              types.CodeType, types.FrameType)  # fmt: skip


# -- scanning helpers ----------------------------------------------------------------------


class _Capture(logging.Handler):
    """Keep every record emitted anywhere (the root logger at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[_Capture]:
    """Capture all log records at DEBUG for the duration of the test."""
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _record_texts(record: logging.LogRecord) -> list[str]:
    """Everything a handler could render from ``record``: message, args, traceback."""
    texts = [str(record.msg), record.getMessage(), repr(record.args)]
    if record.exc_info and record.exc_info[1] is not None:
        texts.append(''.join(traceback.format_exception(*record.exc_info)))
    return texts


def assert_no_secret_in_logs(capture: _Capture, secret: str = PASSWORD) -> None:
    """The secret appears in no captured record (formatted message, raw args, traceback)."""
    assert capture.records, 'nothing was logged: the capture is not working'
    for record in capture.records:
        for text in _record_texts(record):
            assert secret not in text, f'{secret!r} leaked in log record {record.name}: {text}'


def assert_no_secret_in_reprs(objects: Iterable[Any], secret: str = PASSWORD) -> None:
    """Neither ``repr`` nor ``str`` of any object mentions the secret."""
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert secret not in text, f'{secret!r} leaked in {type(obj).__name__}: {text}'


def assert_no_secret_in_exception(error: BaseException, secret: str = PASSWORD) -> None:
    """Message, repr, args and the formatted traceback of ``error`` (and its causes) are clean."""
    text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
    assert secret not in text
    assert secret not in repr(error.args)
    assert_no_secret_in_reprs([error], secret)


def reachable_secret_holders(root: Any, secret: str = PASSWORD) -> list[str]:
    """Walk the object graph from ``root`` (not into modules, functions or classes) and return
    a description of every str/bytes reachable from it that contains ``secret``."""
    needle_b = secret.encode()
    found: list[str] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _UNSCANNED):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if secret in obj:
                found.append(f'str {obj!r}')
            continue
        if isinstance(obj, (bytes, bytearray)):
            if needle_b in obj:
                found.append(f'{type(obj).__name__} of length {len(obj)}')
            continue
        stack.extend(gc.get_referents(obj))
    return found


def _secret_user(broker: PrivateBroker) -> None:
    """Create (idempotently) a user with the distinctive password on the private node."""
    users = broker.rabbitmqctl('list_users', '-q')
    if USER not in users:
        broker.rabbitmqctl('add_user', USER, PASSWORD)
    broker.rabbitmqctl('set_permissions', '-p', '/', USER, '.*', '.*', '.*')


def _start_ok_objects() -> list[Any]:
    """The frames and methods that carry a password on the wire."""
    response = b'\0' + USER.encode() + b'\0' + PASSWORD.encode()
    start_ok = spec.Connection.StartOk({'product': 'x'}, 'PLAIN', response, 'en_US')
    secure_ok = spec.Connection.SecureOk(response)
    update = spec.Connection.UpdateSecret(PASSWORD, 'rotate')
    return [start_ok, secure_ok, update, frame.Method(0, start_ok), frame.Method(0, update)]


# -- objects on their own --------------------------------------------------------------------


def test_reprs_of_credentials_params_and_secret_frames_hide_the_password() -> None:
    url = pika.URLParameters(f'amqp://{USER}:{PASSWORD}@127.0.0.1:5672/%2F?heartbeat=5')
    creds = pika.PlainCredentials(USER, PASSWORD)
    params = pika.ConnectionParameters(credentials=creds)
    objects = [url, url.credentials, creds, params, *_start_ok_objects()]
    assert_no_secret_in_reprs(objects)
    # ...and the values are still there for the handshake to use.
    assert url.credentials.password == PASSWORD
    assert creds.response_for(spec.Connection.Start(mechanisms='PLAIN'))[1].endswith(
        PASSWORD.encode()
    )


def test_decoded_start_ok_repr_masks_the_response() -> None:
    """A StartOk decoded from the wire (e.g. a debugging dump) still hides the response."""
    response = b'\0' + USER.encode() + b'\0' + PASSWORD.encode()
    raw = frame.Method(0, spec.Connection.StartOk({}, 'PLAIN', response, 'en_US')).marshal()
    decoded = frame.decode_frame(raw)[1]
    assert decoded is not None
    assert_no_secret_in_reprs([decoded, decoded.method])


@pytest.mark.parametrize(
    'url',
    [
        f'amqp://{USER}:{PASSWORD}@127.0.0.1:notaport/%2F',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?heartbeat=nope',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?unknown_option=1',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?ssl_options=notadict',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?channel_max=0',
        f'ftp://{USER}:{PASSWORD}@127.0.0.1/%2F',
        f'amqps://{USER}:{PASSWORD}@127.0.0.1/%2F?ssl_options=None',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?ssl_options=%7B%7D',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?ssl_options=%7B',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?tcp_options=%5B%5D',
        f'amqp://{USER}:{PASSWORD}@127.0.0.1/%2F?heartbeat=1&heartbeat=2',
        f'{USER}:{PASSWORD}@127.0.0.1/%2F',
    ],
)
def test_bad_url_errors_do_not_quote_the_password(url: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        pika.URLParameters(url)
    assert_no_secret_in_exception(info.value)


def test_erase_credentials_drops_username_and_password() -> None:
    creds = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    creds.erase_credentials()
    assert creds.username is None and creds.password is None
    kept = pika.PlainCredentials(USER, PASSWORD)  # erase_on_connect=False: nothing happens
    kept.erase_credentials()
    assert kept.password == PASSWORD


# -- BlockingConnection lifecycle ------------------------------------------------------------


@pytest.mark.broker
@pytest.mark.private_broker
def test_blocking_lifecycle_never_shows_the_password(
    private_broker: PrivateBroker, broker_address: BrokerAddress, captured: _Capture
) -> None:
    _secret_user(private_broker)
    creds = pika.PlainCredentials(USER, PASSWORD)
    params = pika.ConnectionParameters(
        private_broker.host, private_broker.port, credentials=creds, heartbeat=0
    )
    seen: list[Any] = [params, creds]
    connection = BlockingConnection(params)
    channel = connection.channel()
    seen += [connection, channel, connection._pump.core]
    channel.confirm_delivery()
    queue = channel.queue_declare('', exclusive=True).method.queue
    channel.basic_publish('', queue, b'hello')
    connection.close()
    seen += [connection, channel]

    bad_url = f'amqp://guest:{PASSWORD}@{broker_address.host}:{broker_address.port}/%2F?heartbeat=0'
    with pytest.raises(exceptions.ProbableAuthenticationError) as info:
        BlockingConnection(pika.URLParameters(bad_url))
    assert_no_secret_in_exception(info.value)
    assert_no_secret_in_logs(captured)
    assert_no_secret_in_reprs(seen)
    assert_no_secret_in_reprs(_start_ok_objects())


# -- SelectConnection lifecycle --------------------------------------------------------------


def _run_select(params: pika.connection.Parameters, publish_queue: bool) -> dict[str, Any]:
    """Run one SelectConnection to completion; return the objects and errors it produced."""
    seen: dict[str, Any] = {'objects': [], 'errors': []}

    def on_open(conn: SelectConnection) -> None:
        seen['objects'].append(conn)
        conn.channel(on_open_callback=on_channel)

    def on_channel(channel: Any) -> None:
        seen['objects'].append(channel)
        if publish_queue:
            channel.basic_publish('', 'pikatest.nowhere.' + uuid.uuid4().hex, b'x')
        channel.connection.close()

    def on_open_error(conn: SelectConnection, error: BaseException) -> None:
        seen['errors'].append(error)
        conn.ioloop.stop()

    def on_close(conn: SelectConnection, error: BaseException) -> None:
        seen['errors'].append(error)
        conn.ioloop.stop()

    conn = SelectConnection(params, on_open, on_open_error, on_close)
    guard = conn.ioloop.call_later(20, conn.ioloop.stop)
    try:
        conn.ioloop.start()
    finally:
        conn.ioloop.remove_timeout(guard)
        conn.ioloop.close()
    seen['objects'] += [conn, conn._core, conn.params]
    seen['connection'] = conn
    return seen


@pytest.mark.broker
@pytest.mark.private_broker
def test_select_lifecycle_never_shows_the_password(
    private_broker: PrivateBroker, broker_address: BrokerAddress, captured: _Capture
) -> None:
    _secret_user(private_broker)
    good = pika.URLParameters(
        f'amqp://{USER}:{PASSWORD}@{private_broker.host}:{private_broker.port}/%2F?heartbeat=0'
    )
    ok = _run_select(good, publish_queue=True)
    assert ok['connection'].is_closed
    assert isinstance(ok['errors'][0], exceptions.ConnectionClosedByClient)

    bad = pika.URLParameters(
        f'amqp://guest:{PASSWORD}@{broker_address.host}:{broker_address.port}/%2F'
    )
    failed = _run_select(bad, publish_queue=False)
    assert isinstance(failed['errors'][0], exceptions.ProbableAuthenticationError)

    for error in ok['errors'] + failed['errors']:
        assert_no_secret_in_exception(error)
    assert_no_secret_in_reprs(ok['objects'] + failed['objects'])
    assert_no_secret_in_logs(captured)


# -- erase_on_connect ----------------------------------------------------------------------


def _assert_erased(creds: pika_credentials.PlainCredentials, *roots: Any) -> None:
    assert creds.username is None
    assert creds.password is None
    for root in roots:
        assert reachable_secret_holders(root) == [], f'secret still reachable from {root!r}'


@pytest.mark.broker
@pytest.mark.private_broker
def test_erase_on_connect_blocking_success_and_failures(
    private_broker: PrivateBroker, broker_address: BrokerAddress
) -> None:
    _secret_user(private_broker)
    creds = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    params = pika.ConnectionParameters(
        private_broker.host, private_broker.port, credentials=creds, heartbeat=0
    )
    connection = BlockingConnection(params)
    try:
        _assert_erased(creds, params, connection)
    finally:
        connection.close()

    # Authentication failure (the broker saw the StartOk).
    bad = pika.PlainCredentials('guest', PASSWORD, erase_on_connect=True)
    bad_params = pika.ConnectionParameters(
        broker_address.host, broker_address.port, credentials=bad, heartbeat=0
    )
    with pytest.raises(exceptions.ProbableAuthenticationError):
        BlockingConnection(bad_params)
    _assert_erased(bad, bad_params)

    # No broker at all: the attempt failed before any handshake; still erased afterwards.
    from tests.helpers.private_broker import free_port

    refused = pika.PlainCredentials(USER, PASSWORD, erase_on_connect=True)
    refused_params = pika.ConnectionParameters(
        '127.0.0.1', free_port(), credentials=refused, connection_attempts=2, retry_delay=0
    )
    with pytest.raises(exceptions.AMQPConnectionError):
        BlockingConnection(refused_params)
    _assert_erased(refused, refused_params)


@pytest.mark.broker
@pytest.mark.private_broker
def test_erase_on_connect_select_success_and_failures(
    private_broker: PrivateBroker, broker_address: BrokerAddress
) -> None:
    from tests.helpers.private_broker import free_port

    _secret_user(private_broker)
    cases = [
        (private_broker.host, private_broker.port, USER, exceptions.ConnectionClosedByClient),
        (broker_address.host, broker_address.port, 'guest', exceptions.ProbableAuthenticationError),
        ('127.0.0.1', free_port(), USER, exceptions.AMQPConnectionError),
    ]
    for host, port, user, expected in cases:
        creds = pika.PlainCredentials(user, PASSWORD, erase_on_connect=True)
        params = pika.ConnectionParameters(host, port, credentials=creds, heartbeat=0)
        outcome = _run_select(params, publish_queue=False)
        assert isinstance(outcome['errors'][0], expected), outcome['errors']
        _assert_erased(creds, params, outcome['connection'])


def test_update_secret_and_fake_peer_session_never_show_the_secret(captured: _Capture) -> None:
    """update_secret (e.g. a rotated OAuth token) and a StartOk with the password, over a
    real socket to a fake broker, with DEBUG logging on: nothing shows the secret."""
    peer = FakePeer(trigger=None)
    try:
        creds = pika.PlainCredentials(USER, PASSWORD)
        connection = BlockingConnection(peer.params(credentials=creds))
        connection.update_secret(PASSWORD + '-new', 'token rotated')
        channel = connection.channel()
        objects = [connection, channel, connection._pump.core, creds]
        connection.close()
    finally:
        peer.close()
    sent = [f.method for f in peer.received if hasattr(f, 'method')]
    assert any(isinstance(m, spec.Connection.UpdateSecret) for m in sent)
    start_ok = next(m for m in sent if isinstance(m, spec.Connection.StartOk))
    assert PASSWORD in str(start_ok.response)  # it did travel, on the wire only
    assert_no_secret_in_reprs(objects + sent + peer.received)
    assert_no_secret_in_logs(captured)


def test_scanner_finds_a_reachable_secret() -> None:
    """The graph walk used above really finds a password held somewhere inside an object."""
    holder = {'nested': [pika.PlainCredentials(USER, PASSWORD)]}
    assert reachable_secret_holders(holder)
    assert reachable_secret_holders({'raw': bytearray(b'\0u\0' + PASSWORD.encode())})
    assert sys.getrefcount(holder) > 0
