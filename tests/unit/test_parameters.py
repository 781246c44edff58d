"""ConnectionParameters / URLParameters / SSLOptions: defaults, validation, URL parsing, repr."""

from __future__ import annotations

import math
import ssl
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pika import _parameters, credentials
from pika._parameters import ConnectionParameters, Parameters, SSLOptions, URLParameters
from pika.recovery import Recovery

CTX = ssl.create_default_context()


def _heartbeat_cb(connection: object, server_value: int) -> int:
    return min(server_value, 30)


# -- defaults -----------------------------------------------------------------------------


def test_default_constants() -> None:
    p = Parameters
    assert (p.DEFAULT_HOST, p.DEFAULT_PORT, p.DEFAULT_SSL_PORT) == ('localhost', 5672, 5671)
    assert (p.DEFAULT_VIRTUAL_HOST, p.DEFAULT_USERNAME, p.DEFAULT_PASSWORD) == (
        '/',
        'guest',
        'guest',
    )
    assert (p.DEFAULT_CHANNEL_MAX, p.DEFAULT_FRAME_MAX) == (65535, 131072)
    assert p.DEFAULT_HEARTBEAT_TIMEOUT is None
    assert (p.DEFAULT_CONNECTION_ATTEMPTS, p.DEFAULT_RETRY_DELAY) == (1, 2.0)
    assert (p.DEFAULT_SOCKET_TIMEOUT, p.DEFAULT_STACK_TIMEOUT) == (10.0, 15.0)
    assert p.DEFAULT_LOCALE == 'en_US'
    assert p.DEFAULT_BLOCKED_CONNECTION_TIMEOUT is None
    assert p.DEFAULT_CLIENT_PROPERTIES is None
    assert p.DEFAULT_TCP_OPTIONS is None
    assert p.DEFAULT_SSL_OPTIONS is None


def test_connection_parameters_defaults() -> None:
    params = ConnectionParameters()
    assert params.host == 'localhost'
    assert params.port == 5672
    assert params.virtual_host == '/'
    assert params.credentials == credentials.PlainCredentials('guest', 'guest')
    assert params.channel_max == 65535
    assert params.frame_max == 131072
    assert params.heartbeat is None
    assert params.ssl_options is None
    assert params.connection_attempts == 1
    assert params.retry_delay == 2.0
    assert params.socket_timeout == 10.0
    assert params.stack_timeout == 15.0
    assert params.locale == 'en_US'
    assert params.blocked_connection_timeout is None
    assert params.client_properties is None
    assert params.tcp_options is None


def test_default_credentials_are_not_shared() -> None:
    a, b = ConnectionParameters(), ConnectionParameters()
    assert a.credentials is not b.credentials


# -- every keyword: good values, wrong types, wrong values ----------------------------------

# name -> (good values, values raising TypeError, values raising ValueError)
CASES: dict[str, tuple[list[Any], list[Any], list[Any]]] = {
    'host': (['rabbit.example', '::1', '10.0.0.1'], [None, 1, b'host'], []),
    'port': ([0, 1, 5672, 65535], ['', 'abc', None, [1]], [-1, 65536]),
    'virtual_host': (['/', 'vh', 'a/b'], [None, 1, b'/'], []),
    'credentials': (
        [credentials.PlainCredentials('u', 'p'), credentials.ExternalCredentials()],
        [None, ('u', 'p'), 'guest'],
        [],
    ),
    'channel_max': ([1, 2047, 65535, True], ['1', 1.0, None], [0, -5, 65536, False]),
    'frame_max': ([4096, 131072], ['4096', 4096.0, None], [4095, 0, 131073, 2**31 - 1, True]),
    'heartbeat': ([None, 0, 1, 600, 65536, True, False, _heartbeat_cb], ['60', 1.5, b'1'], [-1]),
    'ssl_options': ([None, SSLOptions(CTX), SSLOptions(CTX, 'name')], [{}, CTX, 'ssl'], []),
    'connection_attempts': ([1, 3, 100, True], [1.0, '3', None], [0, -1, False]),
    'retry_delay': ([0, 0.5, 3, -1, True], [None, '1'], [math.nan, math.inf]),
    'socket_timeout': ([None, 0.01, 10.0], ['1'], [0, -1, False, math.nan, math.inf]),
    'stack_timeout': ([None, 0.01, 30.0], ['1', [1]], [0, -2, math.inf]),
    'locale': (['en_US', 'fr_FR', ''], [None, 1], []),
    'blocked_connection_timeout': ([None, 0, 0.5, 60, False], ['1'], [-1, math.nan]),
    'client_properties': ([None, {}, {'connection_name': 'x'}], [[], 'x', 1], []),
    'tcp_options': ([None, {'TCP_KEEPIDLE': 60}], [[], 'x'], []),
    'max_message_size': ([1, 4096, 2**63], ['1', 1.0, None], [0, -1, False]),
    'delivery_backlog_high': ([0, 1, 2**40], ['1', 1.0, None], [-1]),
    'delivery_backlog_low': ([0, 1, 2**40], ['1', 1.0, None], [-1]),
    # ValueError only beside erasable credentials: tests/unit/test_recovery_parameters.py
    'recovery': ([None, Recovery(), Recovery(max_attempts=2)], [True, 'true', {}], []),
}


def _flat(kind: int) -> list[tuple[str, Any]]:
    return [(name, value) for name, values in CASES.items() for value in values[kind]]


def _same(a: Any, b: Any) -> bool:
    return a is b or a == b


@pytest.mark.parametrize('name, value', _flat(0))
def test_good_value_by_keyword_and_by_assignment(name: str, value: Any) -> None:
    params = ConnectionParameters(**{name: value})
    assert _same(getattr(params, name), value)
    other = ConnectionParameters()
    setattr(other, name, value)
    assert _same(getattr(other, name), value)


@pytest.mark.parametrize('name, value', _flat(1))
def test_wrong_type_raises_type_error(name: str, value: Any) -> None:
    with pytest.raises(TypeError, match=name):
        ConnectionParameters(**{name: value})
    params = ConnectionParameters()
    before = getattr(params, name)
    with pytest.raises(TypeError):
        setattr(params, name, value)
    assert _same(getattr(params, name), before)


@pytest.mark.parametrize('name, value', _flat(2))
def test_wrong_value_raises_value_error(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        ConnectionParameters(**{name: value})
    params = ConnectionParameters()
    before = getattr(params, name)
    with pytest.raises(ValueError):
        setattr(params, name, value)
    assert _same(getattr(params, name), before)


def test_every_keyword_is_covered() -> None:
    assert set(CASES) == set(_parameters._KEYWORDS) | {'port'}


def test_numbers_are_stored_as_pika_stores_them() -> None:
    params = ConnectionParameters(retry_delay=3, socket_timeout=5, blocked_connection_timeout=7)
    assert type(params.retry_delay) is int  # pika keeps retry_delay as given
    assert type(params.socket_timeout) is float  # and converts the timeouts
    assert type(params.blocked_connection_timeout) is int
    assert ConnectionParameters(port='5673').port == 5673  # int() conversion, as pika
    assert ConnectionParameters(port=5672.9).port == 5672


def test_positional_arguments_follow_pika_order() -> None:
    creds = credentials.PlainCredentials('u', 'p')
    params = ConnectionParameters('rabbit', 1234, 'vh', creds, 10, 8192, 30)
    assert (params.host, params.port, params.virtual_host) == ('rabbit', 1234, 'vh')
    assert params.credentials is creds
    assert (params.channel_max, params.frame_max, params.heartbeat) == (10, 8192, 30)


def test_unknown_keyword_raises_type_error() -> None:
    with pytest.raises(TypeError, match='bogus'):
        ConnectionParameters(bogus=1)
    with pytest.raises(TypeError, match='ssl'):
        ConnectionParameters(ssl=True)


def test_heartbeat_interval_alias() -> None:
    assert ConnectionParameters(heartbeat_interval=17).heartbeat == 17
    assert ConnectionParameters(heartbeat_interval=0).heartbeat == 0
    with pytest.raises(ValueError):
        ConnectionParameters(heartbeat_interval=-3)
    with pytest.raises(TypeError):
        ConnectionParameters(heartbeat=1, heartbeat_interval=2)


def test_heartbeat_pika09_boolean_form_is_stored_as_given() -> None:
    assert ConnectionParameters(heartbeat=False).heartbeat is False
    assert ConnectionParameters(heartbeat=True).heartbeat is True
    params = ConnectionParameters(heartbeat=30)
    params.heartbeat = False
    assert params.heartbeat is False


def test_ssl_options_switch_default_port() -> None:
    assert ConnectionParameters(ssl_options=SSLOptions(CTX)).port == 5671
    assert ConnectionParameters(ssl_options=SSLOptions(CTX), port=5999).port == 5999
    assert ConnectionParameters(ssl_options=None).port == 5672


def test_ssl_options_validation() -> None:
    opts = SSLOptions(CTX, server_hostname='broker.example')
    assert opts.context is CTX
    assert opts.server_hostname == 'broker.example'
    assert SSLOptions(CTX) != SSLOptions(CTX)  # identity, as in pika
    assert opts == opts and hash(opts) == hash(opts)
    assert 'broker.example' in repr(opts)
    with pytest.raises(TypeError):
        SSLOptions({'ca_certs': '/x'})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SSLOptions(CTX, server_hostname=1)  # type: ignore[arg-type]


def test_equality_compares_host_and_port_as_pika() -> None:
    creds = credentials.PlainCredentials('u', 'p')
    assert ConnectionParameters() == ConnectionParameters()
    assert ConnectionParameters(host='a', credentials=creds) == ConnectionParameters(host='a')
    assert ConnectionParameters(host='a') != ConnectionParameters(host='b')
    assert ConnectionParameters(port=1) != ConnectionParameters(port=2)
    assert ConnectionParameters(heartbeat=0) == ConnectionParameters(heartbeat=None)
    assert ConnectionParameters(virtual_host='x') == ConnectionParameters()
    assert ConnectionParameters() != 'localhost'
    assert URLParameters('amqp://u:p@localhost:5672/vh') == ConnectionParameters()
    with pytest.raises(TypeError):
        hash(ConnectionParameters())


def test_repr_never_shows_password() -> None:
    params = ConnectionParameters(
        host='rabbit', credentials=credentials.PlainCredentials('bob', 'Hunter2Secret')
    )
    text = repr(params) + str(params)
    assert 'rabbit' in text and '5672' in text
    assert 'Hunter2Secret' not in text
    assert repr(params) == '<ConnectionParameters host=rabbit port=5672 virtual_host=/ ssl=False>'


# -- URLParameters ---------------------------------------------------------------------------


def test_url_minimal() -> None:
    params = URLParameters('amqp://')
    assert params == ConnectionParameters()
    assert params.ssl_options is None


def test_url_full() -> None:
    params = URLParameters('amqp://alice:s3cret@rabbit.example:5673/prod')
    assert params.host == 'rabbit.example'
    assert params.port == 5673
    assert params.virtual_host == 'prod'
    assert params.credentials == credentials.PlainCredentials('alice', 's3cret')


def test_amqps_defaults() -> None:
    params = URLParameters('amqps://rabbit.example')
    assert params.port == 5671
    assert params.ssl_options is not None
    assert isinstance(params.ssl_options.context, ssl.SSLContext)
    assert params.ssl_options.context.verify_mode == ssl.CERT_REQUIRED
    assert params.ssl_options.context.check_hostname is True
    assert URLParameters('AMQPS://h:6000').port == 6000


@pytest.mark.parametrize(
    'url, vhost',
    [
        ('amqp://h', '/'),
        ('amqp://h/', '/'),
        ('amqp://h/%2f', '/'),
        ('amqp://h/%2F', '/'),
        ('amqp://h/vh', 'vh'),
        ('amqp://h/my%20vhost', 'my vhost'),
        ('amqp://h/a%2Fb', 'a/b'),
        ('amqp://h/%2Fleading', '/leading'),
        ('amqp://h/caf%C3%A9', 'café'),
        ('amqp://h/vh?heartbeat=5', 'vh'),
    ],
)
def test_url_vhost(url: str, vhost: str) -> None:
    assert URLParameters(url).virtual_host == vhost


@pytest.mark.parametrize(
    'url, username, password',
    [
        ('amqp://u:p@h', 'u', 'p'),
        ('amqp://us%3Aer:p%40ss%2Fw%3Frd@h', 'us:er', 'p@ss/w?rd'),
        ('amqp://%C3%BC:%C3%A9@h', 'ü', 'é'),
        ('amqp://:p@h', '', 'p'),
        ('amqp://u:@h', 'u', ''),
        ('amqp://u+v:p+q@h', 'u+v', 'p+q'),
    ],
)
def test_url_credentials(url: str, username: str, password: str) -> None:
    creds = URLParameters(url).credentials
    assert isinstance(creds, credentials.PlainCredentials)
    assert (creds.username, creds.password) == (username, password)


@pytest.mark.parametrize(
    'url, host, port',
    [
        ('amqp://[::1]:5673/', '::1', 5673),
        ('amqp://[::1]', '::1', 5672),
        ('amqp://10.1.2.3:1', '10.1.2.3', 1),
        ('amqps://[fe80::1]', 'fe80::1', 5671),
    ],
)
def test_url_hosts(url: str, host: str, port: int) -> None:
    params = URLParameters(url)
    assert (params.host, params.port) == (host, port)


@pytest.mark.parametrize(
    'query, attribute, expected',
    [
        ('heartbeat=30', 'heartbeat', 30),
        ('heartbeat=0', 'heartbeat', 0),
        ('heartbeat_interval=12', 'heartbeat', 12),
        ('heartbeat=', 'heartbeat', None),
        ('retry_delay=-1', 'retry_delay', -1.0),
        ('blocked_connection_timeout=0', 'blocked_connection_timeout', 0.0),
        ('tcp_options=None', 'tcp_options', None),
        ('locale=', 'locale', 'en_US'),
        ('channel_max=100', 'channel_max', 100),
        ('frame_max=8192', 'frame_max', 8192),
        ('connection_attempts=3', 'connection_attempts', 3),
        ('retry_delay=1.5', 'retry_delay', 1.5),
        ('retry_delay=0', 'retry_delay', 0.0),
        ('socket_timeout=2', 'socket_timeout', 2.0),
        ('stack_timeout=3.5', 'stack_timeout', 3.5),
        ('blocked_connection_timeout=4', 'blocked_connection_timeout', 4.0),
        ('locale=de_DE', 'locale', 'de_DE'),
        ('tcp_options=%7B%27TCP_KEEPIDLE%27%3A60%7D', 'tcp_options', {'TCP_KEEPIDLE': 60}),
        ('tcp_options={"TCP_KEEPCNT":+5}', 'tcp_options', {'TCP_KEEPCNT': 5}),
        ('tcp_options={}', 'tcp_options', {}),
        (
            'client_properties=%7B%27connection_name%27%3A%27x%27%7D',
            'client_properties',
            {'connection_name': 'x'},
        ),
    ],
)
def test_url_query_options(query: str, attribute: str, expected: Any) -> None:
    params = URLParameters('amqp://h/%2F?' + query)
    assert getattr(params, attribute) == expected


def test_url_several_options() -> None:
    params = URLParameters('amqp://h/?heartbeat=10&channel_max=7&locale=fr_FR')
    assert (params.heartbeat, params.channel_max, params.locale) == (10, 7, 'fr_FR')
    with pytest.raises(ValueError, match='heartbeat'):
        URLParameters('amqp://h/?heartbeat=10&heartbeat=20')


def test_url_ssl_options(tmp_path: Any) -> None:
    options = {'ca_path': str(tmp_path), 'server_hostname': 'broker.example', 'verify_mode': 0}
    query = urllib.parse.quote(repr(options))
    params = URLParameters('amqps://10.0.0.1/?ssl_options=' + query)
    assert params.port == 5671
    assert params.ssl_options is not None
    assert params.ssl_options.server_hostname == 'broker.example'
    # verify_mode is ignored, as pika ignores it: verification stays on
    assert params.ssl_options.context.verify_mode == ssl.CERT_REQUIRED
    assert params.ssl_options.context.check_hostname is True


def test_url_ssl_options_none() -> None:
    assert URLParameters('amqp://h/?ssl_options=None').ssl_options is None
    with pytest.raises(ValueError, match='amqps'):
        URLParameters('amqps://h/?ssl_options=None')


@pytest.mark.parametrize(
    'query, option',
    [
        ('heartbeat=abc', 'heartbeat'),
        ('heartbeat=-1', 'heartbeat'),
        ('heartbeat=1.5', 'heartbeat'),
        ('heartbeat_interval=x', 'heartbeat_interval'),
        ('channel_max=0', 'channel_max'),
        ('channel_max=70000', 'channel_max'),
        ('frame_max=100', 'frame_max'),
        ('connection_attempts=0', 'connection_attempts'),
        ('retry_delay=soon', 'retry_delay'),
        ('retry_delay=nan', 'retry_delay'),
        ('socket_timeout=0', 'socket_timeout'),
        ('stack_timeout=-1', 'stack_timeout'),
        ('blocked_connection_timeout=nope', 'blocked_connection_timeout'),
        ('tcp_options=notadict', 'tcp_options'),
        ('ssl_options=garbage', 'ssl_options'),
        ('backpressure_detection=t', 'backpressure_detection'),
        ('foo=1', 'foo'),
    ],
)
def test_url_bad_option(query: str, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        URLParameters('amqp://u:SuperSecretPw@h/?' + query)
    try:
        URLParameters('amqp://u:SuperSecretPw@h/?' + query)
    except ValueError as exc:
        assert 'SuperSecretPw' not in str(exc)


@pytest.mark.parametrize(
    'query, option, error',
    [
        ('tcp_options=%5B1%5D', 'tcp_options', TypeError),
        ('client_properties=1', 'client_properties', TypeError),
        ('ssl_options=%7B%27bogus%27%3A1%7D', 'ssl_options', TypeError),
        ('ssl_options=%7B%7D', 'ssl_options', TypeError),
        ('ssl_options=%7B%27ca_certs%27%3A%27%2Fno%2Fsuch%2Ffile.pem%27%7D', None, OSError),
        ('ssl_options=%5B1%5D', 'ssl_options', TypeError),
    ],
)
def test_url_bad_option_type(query: str, option: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=option) as info:
        URLParameters('amqp://u:SuperSecretPw@h/?' + query)
    assert 'SuperSecretPw' not in str(info.value)


@pytest.mark.parametrize(
    'url',
    [
        'ftp://h/',
        'amqpx://h',
        'h:5672',
        'localhost',
        'amqp://h:abc/',
        'amqp://h:99999/',
        'amqp://u:SuperSecretPw@h:-5/',
    ],
)
def test_url_invalid(url: str) -> None:
    with pytest.raises(ValueError) as info:
        URLParameters(url)
    assert 'SuperSecretPw' not in str(info.value)


def test_url_user_without_password() -> None:
    with pytest.raises(TypeError):
        URLParameters('amqp://u@h')


def test_url_wrong_type() -> None:
    with pytest.raises(TypeError):
        URLParameters(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # pika's type for bytes
        URLParameters(b'amqp://h')  # type: ignore[arg-type]


@pytest.mark.parametrize(
    'url',
    [
        'amqp://bob:Hunter2Secret@rabbit/vh',
        'amqps://bob:Hunter2Secret@rabbit:5671/%2F?heartbeat=5',
        'amqp://Hunter2Secret:Hunter2Secret@rabbit',
    ],
)
def test_url_repr_never_shows_password(url: str) -> None:
    params = URLParameters(url)
    assert params.credentials.password == 'Hunter2Secret'  # type: ignore[union-attr]
    text = repr(params) + str(params)
    assert 'Hunter2Secret' not in text
    assert 'rabbit' in text


def test_url_repr_format() -> None:
    assert repr(URLParameters('amqps://u:p@rabbit/vh')) == (
        '<URLParameters host=rabbit port=5671 virtual_host=vh ssl=True>'
    )


_text = st.text(st.characters(blacklist_categories=['Cs']), max_size=20)


@given(_text, _text, _text.filter(lambda s: s not in ('', '/')))
def test_url_percent_decoding_round_trips(username: str, password: str, vhost: str) -> None:
    def q(s: str) -> str:
        return urllib.parse.quote(s, safe='')

    params = URLParameters(f'amqp://{q(username)}:{q(password)}@host/{q(vhost)}')
    assert params.virtual_host == vhost
    assert params.credentials == credentials.PlainCredentials(username, password)
