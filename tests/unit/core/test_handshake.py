"""Handshake: protocol header, Start/StartOk, Tune/TuneOk, Open/OpenOk and its failures."""

from __future__ import annotations

import platform

import pytest

from pika import exceptions, spec
from pika._core import ConnectionCore, ConnectionState, events
from pika._core.connection import negotiate_heartbeat, negotiate_limit
from pika._parameters import ConnectionParameters
from pika.credentials import ExternalCredentials, PlainCredentials
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import make_core, names, open_core, sent


def test_start_queues_protocol_header() -> None:
    core = ConnectionCore(ConnectionParameters())
    assert core.state is ConnectionState.INIT
    core.start()
    assert core.state is ConnectionState.PROTOCOL_HEADER_SENT
    assert core.pending_bytes == 8
    assert bytes(core.data_to_send()) == b'AMQP\x00\x00\x09\x01'
    assert core.pending_bytes == 0


def test_golden_handshake_bytes_and_events() -> None:
    core = make_core(virtual_host='vh', heartbeat=None, locale='en_GB')
    assert core.receive_data(sf.start(), 0.0) == []
    (start_ok,) = sent(core)
    assert isinstance(start_ok, spec.Connection.StartOk)
    assert start_ok.mechanism == 'PLAIN'
    assert _raw(start_ok.response) == b'\x00guest\x00guest'
    assert start_ok.locale == 'en_GB'
    assert core.state is ConnectionState.START_OK_SENT

    assert core.receive_data(sf.tune(channel_max=2047, frame_max=131072, heartbeat=60), 0.0) == []
    tune_ok, open_ = sent(core)
    assert (tune_ok.channel_max, tune_ok.frame_max, tune_ok.heartbeat) == (2047, 131072, 60)
    assert isinstance(open_, spec.Connection.Open)
    assert open_.virtual_host == 'vh'
    assert core.state is ConnectionState.OPEN_SENT

    evs = core.receive_data(sf.open_ok(), 0.0)
    assert names(evs) == ['ConnectionOpened']
    assert evs[0].server_properties['product'] == 'RabbitMQ'
    assert core.is_open and core.server_properties['version'] == '3.10.8'
    assert (core.channel_max, core.frame_max, core.heartbeat) == (2047, 131072, 60)


def test_handshake_bytes_one_at_a_time() -> None:
    core = make_core(heartbeat=0)
    data = sf.start() + sf.tune() + sf.open_ok()
    collected = []
    for i in range(len(data)):
        collected.extend(core.receive_data(data[i : i + 1], 0.0))
    assert names(collected) == ['ConnectionOpened']


def test_client_properties() -> None:
    core = make_core(client_properties={'connection_name': 'c1', 'product': 'mine'})
    core.receive_data(sf.start(), 0.0)
    (start_ok,) = sent(core)
    props = start_ok.client_properties
    assert props['product'] == 'mine'
    assert props['connection_name'] == 'c1'
    assert props['platform'] == f'Python {platform.python_version()}'
    assert 'version' in props and 'information' in props
    assert props['capabilities'] == {
        'authentication_failure_close': True,
        'basic.nack': True,
        'connection.blocked': True,
        'consumer_cancel_notify': True,
        'exchange_exchange_bindings': True,
        'per_consumer_qos': True,
        'publisher_confirms': True,
    }


def test_credentials_erased_after_start_ok() -> None:
    creds = PlainCredentials('u', 'secret', erase_on_connect=True)
    core = make_core(credentials=creds)
    core.receive_data(sf.start(), 0.0)
    (start_ok,) = sent(core)
    assert _raw(start_ok.response) == b'\x00u\x00secret'
    assert creds.password is None and creds.username is None


def test_external_credentials() -> None:
    core = make_core(credentials=ExternalCredentials())
    core.receive_data(sf.start(mechanisms='PLAIN EXTERNAL'), 0.0)
    (start_ok,) = sent(core)
    assert start_ok.mechanism == 'EXTERNAL'


def test_mechanism_not_offered_fails_with_authentication_error() -> None:
    core = make_core(credentials=ExternalCredentials())
    evs = core.receive_data(sf.start(mechanisms='PLAIN AMQPLAIN'), 0.0)
    assert names(evs) == ['ConnectionOpenFailed']
    assert type(evs[0].error) is exceptions.AuthenticationError
    assert core.is_closed


@pytest.mark.parametrize(
    ('client', 'server', 'expected'),
    [(0, 0, 0), (0, 2047, 2047), (100, 0, 100), (100, 2047, 100), (4000, 2047, 2047)],
)
def test_negotiate_limit(client: int, server: int, expected: int) -> None:
    assert negotiate_limit(client, server) == expected


@pytest.mark.parametrize(
    ('setting', 'server', 'expected'),
    [
        (None, 60, 60),
        (None, 0, 0),
        (0, 60, 0),
        (30, 60, 30),
        (120, 60, 120),
        (30, 0, 30),
        (lambda conn, server: server * 2, 60, 120),
        (lambda conn, server: 0, 60, 0),
        (True, 60, 60),
        (False, 60, 0),
        (65536, 60, 65535),
        (2**40, 60, 65535),
        (lambda conn, server: 70000, 60, 65535),
    ],
)
def test_negotiate_heartbeat(setting: object, server: int, expected: int) -> None:
    assert negotiate_heartbeat(setting, server) == expected  # type: ignore[arg-type]


def test_heartbeat_callable_receives_owner_and_server_value() -> None:
    seen = []

    def choose(conn: object, server: int) -> int:
        seen.append((conn, server))
        return 5

    core = ConnectionCore(ConnectionParameters(heartbeat=choose), owner='the-connection')
    core.start()
    core.receive_data(sf.start() + sf.tune(heartbeat=60) + sf.open_ok(), 0.0)
    assert seen == [('the-connection', 60)]
    assert core.heartbeat == 5


def test_bad_heartbeat_callable_fails_open_without_raising() -> None:
    core = make_core(heartbeat=lambda conn, server: 'x')
    evs = core.receive_data(sf.start() + sf.tune(), 0.0)
    assert names(evs) == ['ConnectionOpenFailed']
    assert isinstance(evs[0].error, exceptions.AMQPConnectionError)


def test_tune_applies_client_limits() -> None:
    core = open_core(channel_max=10, frame_max=8192, tune_kwargs={'frame_max': 131072})
    assert core.channel_max == 10
    assert core.frame_max == 8192


def test_auth_failure_close_during_start_ok() -> None:
    core = make_core()
    core.receive_data(sf.start(), 0.0)
    core.data_to_send()
    evs = core.receive_data(sf.connection_close(403, 'ACCESS_REFUSED - Login was refused'), 0.0)
    assert names(evs) == ['ConnectionOpenFailed']
    assert isinstance(evs[0].error, exceptions.ProbableAuthenticationError)
    assert 'ACCESS_REFUSED' in str(evs[0].error)
    assert isinstance(sent(core)[0], spec.Connection.CloseOk)
    assert core.is_closed


def test_vhost_refused_during_open() -> None:
    core = make_core(virtual_host='nope')
    core.receive_data(sf.start() + sf.tune(), 0.0)
    core.data_to_send()
    evs = core.receive_data(sf.connection_close(530, "NOT_ALLOWED - vhost 'nope' not found"), 0.0)
    assert names(evs) == ['ConnectionOpenFailed']
    assert isinstance(evs[0].error, exceptions.ProbableAccessDeniedError)


def test_broker_protocol_header_means_incompatible() -> None:
    core = make_core()
    evs = core.receive_data(b'AMQP\x00\x00\x08\x00', 0.0)
    assert names(evs) == ['ConnectionOpenFailed']
    assert isinstance(evs[0].error, exceptions.IncompatibleProtocolError)
    assert core.data_to_send() == b''


def test_wrong_version_in_start_is_incompatible() -> None:
    core = make_core()
    evs = core.receive_data(sf.start(version=(0, 8)), 0.0)
    assert isinstance(evs[0].error, exceptions.IncompatibleProtocolError)


@pytest.mark.parametrize(
    ('data', 'error'),
    [
        (b'', exceptions.IncompatibleProtocolError),
        (sf.start(), exceptions.ProbableAuthenticationError),
        (sf.start() + sf.tune(), exceptions.ProbableAccessDeniedError),
    ],
)
def test_stream_lost_during_handshake(data: bytes, error: type[Exception]) -> None:
    core = make_core()
    core.receive_data(data, 0.0)
    evs = core.connection_lost(ConnectionResetError('reset'))
    assert names(evs) == ['ConnectionOpenFailed']
    assert type(evs[0].error) is error
    assert core.is_closed
    assert core.connection_lost(None) == []


def test_close_during_handshake_aborts() -> None:
    core = make_core()
    core.receive_data(sf.start(), 0.0)
    evs = core.close()
    assert names(evs) == ['ConnectionOpenFailed']
    assert isinstance(evs[0].error, exceptions.ConnectionOpenAborted)
    assert core.is_closed
    with pytest.raises(exceptions.ConnectionWrongStateError):
        core.close()


def test_open_channel_before_open_raises() -> None:
    core = make_core()
    with pytest.raises(exceptions.ConnectionWrongStateError):
        core.open_channel()


def test_events_have_readable_repr() -> None:
    ev = events.ConnectionOpened({'product': 'x'})
    assert repr(ev) == "ConnectionOpened(server_properties={'product': 'x'})"
    assert ev == events.ConnectionOpened({'product': 'x'})


def _raw(value: object) -> bytes:
    """A decoded long string may come back as str or bytes."""
    return value.encode('utf-8') if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]


@pytest.mark.parametrize('wrap', [bytes, bytearray, memoryview])
def test_receive_data_accepts_any_bytes_like(wrap: type) -> None:
    core = make_core(heartbeat=0)
    evs = core.receive_data(wrap(sf.start() + sf.tune() + sf.open_ok()), 0.0)
    assert names(evs) == ['ConnectionOpened']
    assert core.receive_data(b'', 0.0) == []
