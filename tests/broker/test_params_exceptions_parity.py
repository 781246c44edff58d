"""Against the broker: URLs and settings written as pika 1.x accepts them connect, and the
errors the broker causes print as pika 1.x's do (issue 14, items 2 and 3).

The literal tables of pika 1.4.4's outcomes are in tests/unit/test_parameters_parity.py and
tests/unit/test_exception_parity.py; this file shows the same forms working end to end.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions

if TYPE_CHECKING:
    from tests.conftest import BrokerAddress

pytestmark = pytest.mark.broker

_CONNECTED = re.compile(r'Connected to .* \(heartbeat (\d+)\)')


def _open_and_use(params: pika.connection.Parameters) -> None:
    """Open a BlockingConnection, declare and delete a queue through it, close it."""
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        name = f'params-parity.{uuid.uuid4().hex}'
        assert channel.queue_declare(name, exclusive=True).method.queue == name
        channel.queue_delete(name)
    finally:
        connection.close()
    assert connection.is_closed


@pytest.mark.parametrize(
    'template',
    [
        'amqp://guest:guest@{host}:{port}/%2F',
        'amqp://guest:guest@{host}:{port}/%2f/',
        'http://guest:guest@{host}:{port}/',
        '//guest:guest@{host}:{port}',
        'amqp://guest:guest@{host}:{port}/%2F?heartbeat=0&blocked_connection_timeout=0'
        '&retry_delay=-1&channel_max=10&frame_max=8192&connection_attempts=2'
        '&socket_timeout=5&stack_timeout=10&locale=en_US&tcp_options=None'
        '&client_properties=%7B%27connection_name%27%3A%27params-parity%27%7D',
    ],
)
def test_url_forms_pika_accepts_connect(template: str, broker_address: BrokerAddress) -> None:
    url = template.format(host=broker_address.host, port=broker_address.port)
    _open_and_use(pika.URLParameters(url))


@pytest.mark.parametrize(
    ('heartbeat', 'expected'),
    [
        (True, 'broker'),  # stored as True (pika 1.x); read as 0.9's "use the broker's"
        (False, 0),
        (0, 0),
        (7, 7),
        (70000, 65535),  # accepted as pika does; TuneOk carries at most 65535
        (lambda connection, server: 70000, 65535),
    ],
)
def test_heartbeat_forms_pika_accepts(
    heartbeat: Any, expected: Any, broker_address: BrokerAddress, caplog: pytest.LogCaptureFixture
) -> None:
    server: list[int] = []

    def observe(connection: object, value: int) -> int:
        server.append(value)
        return value

    params = pika.ConnectionParameters(broker_address.host, broker_address.port)
    params.heartbeat = heartbeat
    assert params.heartbeat is heartbeat
    caplog.set_level(logging.INFO, logger='pika.adapters.blocking_connection')
    _open_and_use(params)
    negotiated = [int(m.group(1)) for r in caplog.records if (m := _CONNECTED.search(r.message))]
    if expected == 'broker':
        probe = pika.ConnectionParameters(broker_address.host, broker_address.port)
        probe.heartbeat = observe
        _open_and_use(probe)
        expected = server[0]
    assert negotiated[0] == expected


def test_missing_queue_error_prints_as_pika(broker_params: Any) -> None:
    connection = pika.BlockingConnection(broker_params)
    try:
        channel = connection.channel()
        name = f'params-parity.missing.{uuid.uuid4().hex}'
        with pytest.raises(exceptions.ChannelClosedByBroker) as info:
            channel.queue_declare(name, passive=True)
        error = info.value
        text = f"NOT_FOUND - no queue '{name}' in vhost '/'"
        assert (error.reply_code, error.reply_text) == (404, text)
        assert error.args == (404, text)
        assert repr(error) == f'ChannelClosedByBroker: (404) {text!r}'
        assert str(error) == repr((404, text))
    finally:
        connection.close()


def test_connection_level_error_prints_as_pika(broker_params: Any) -> None:
    connection = pika.BlockingConnection(broker_params)
    channel = connection.channel()
    with pytest.raises(exceptions.ConnectionClosedByBroker) as info:
        channel.exchange_declare(f'params-parity.{uuid.uuid4().hex}', exchange_type='no-such-type')
    error = info.value
    assert error.reply_code == 503
    assert error.reply_text.startswith('COMMAND_INVALID')
    assert repr(error) == f'ConnectionClosedByBroker: (503) {error.reply_text!r}'
    assert str(error) == repr((503, error.reply_text))
    assert connection.is_closed


def test_unroutable_error_prints_as_pika(broker_params: Any) -> None:
    connection = pika.BlockingConnection(broker_params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(exceptions.UnroutableError) as info:
            channel.basic_publish(
                '', f'params-parity.nobody.{uuid.uuid4().hex}', b'x', mandatory=True
            )
        error = info.value
        assert len(error.messages) == 1
        assert error.args == ('1 unroutable message(s) returned',)
        assert str(error) == '1 unroutable message(s) returned'
        assert repr(error) == 'UnroutableError: 1 unroutable messages returned by broker'
    finally:
        connection.close()


def test_refused_login_prints_as_pika_without_the_password(broker_address: BrokerAddress) -> None:
    secret = f'Wrong-{uuid.uuid4().hex}'
    params = pika.ConnectionParameters(
        broker_address.host,
        broker_address.port,
        credentials=pika.PlainCredentials('guest', secret),
    )
    with pytest.raises(exceptions.ProbableAuthenticationError) as info:
        pika.BlockingConnection(params)
    error = info.value
    text = (
        'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. '
        'For details see the broker logfile.'
    )
    closed = f'ConnectionClosedByBroker: (403) {text!r}'  # what pika 1.4.4 gives here
    assert error.args == (closed,)
    assert str(error) == closed
    assert repr(error) == (
        'ProbableAuthenticationError: Client was disconnected at a connection stage indicating a '
        f'probable authentication error: {(closed,)!r}'
    )
    assert secret not in repr(error) and secret not in str(error)


def test_refused_vhost_prints_as_pika(broker_address: BrokerAddress) -> None:
    vhost = f'params-parity-{uuid.uuid4().hex}'
    params = pika.ConnectionParameters(broker_address.host, broker_address.port, vhost)
    with pytest.raises(exceptions.ProbableAccessDeniedError) as info:
        pika.BlockingConnection(params)
    closed = f"ConnectionClosedByBroker: (530) 'NOT_ALLOWED - vhost {vhost} not found'"
    assert info.value.args == (closed,)
    assert repr(info.value) == (
        'ProbableAccessDeniedError: Client was disconnected at a connection stage indicating a '
        f'probable denial of access to the specified virtual host: {(closed,)!r}'
    )


def test_closed_channel_error_prints_as_pika(broker_params: Any) -> None:
    """The wording pika 1.4.4 gives (run on the broker), which code may match on."""
    connection = pika.BlockingConnection(broker_params)
    channel = connection.channel()
    channel.close()
    for call in (lambda: channel.queue_declare('', exclusive=True), channel.close):
        with pytest.raises(exceptions.ChannelWrongStateError) as info:
            call()
        assert info.value.args == ('Channel is closed.',)
        assert repr(info.value) == "ChannelWrongStateError: ('Channel is closed.',)"
        assert str(info.value) == 'Channel is closed.'
    connection.close()
    with pytest.raises(exceptions.ConnectionWrongStateError) as closed_twice:
        connection.close()
    assert str(closed_twice.value) == (
        "BlockingConnection.close(200, 'Normal shutdown') called on closed connection."
    )
    with pytest.raises(exceptions.ConnectionWrongStateError) as no_channel:
        connection.channel()
    assert str(no_channel.value).startswith('Channel allocation requires an open connection: <')


def test_callback_channel_state_errors_read_as_pika(broker_params: Any) -> None:
    """``Channel`` refuses calls while opening, closing and closed in pika 1.4.4's words."""
    seen: list[tuple[str, str]] = []

    def attempt(label: str, channel: pika.channel.Channel) -> None:
        try:
            channel.queue_declare('', exclusive=True)
        except exceptions.ChannelWrongStateError as error:
            seen.append((label, str(error)))

    def on_channel_closed(channel: pika.channel.Channel, _reason: Exception) -> None:
        attempt('closed', channel)
        try:
            channel.close()
        except exceptions.ChannelWrongStateError as error:
            seen.append(('close-closed', str(error)))
        channel.connection.close()

    def on_channel_open(channel: pika.channel.Channel) -> None:
        channel.add_on_close_callback(on_channel_closed)
        channel.close()
        attempt('closing', channel)

    def on_open(connection: pika.SelectConnection) -> None:
        channel = connection.channel(on_open_callback=on_channel_open)
        attempt('opening', channel)

    connection = pika.SelectConnection(
        broker_params,
        on_open_callback=on_open,
        on_open_error_callback=lambda conn, _error: conn.ioloop.stop(),
        on_close_callback=lambda conn, _reason: conn.ioloop.stop(),
    )
    connection.ioloop.call_later(10, connection.ioloop.stop)  # bound: never hang the suite
    connection.ioloop.start()
    assert seen == [
        ('opening', 'Channel is opening, but is not usable yet.'),
        ('closing', 'Channel is closing.'),
        ('closed', 'Channel is closed.'),
        ('close-closed', 'Channel is closed.'),
    ]
