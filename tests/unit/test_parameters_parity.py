"""Parameters and URLs parse and validate as pika 1.4.4's do: a table of pika's outcomes.

Every row was produced by running the same input through pika 1.4.4 (a throw-away script, in a
separate interpreter) and recording what pika did: the value it stored, normalised by
``_norm``, or the name of the exception it raised. The tables assert that outcome literally,
so no reference pika is needed here. The ``*_DIFFERENCES`` tables hold our deliberate
departures (docs/api-generations.md, "Deliberate differences from pika 1.4.4") with pika's
outcome in a comment: NaN/infinite timeouts, out-of-range ports, a non-``str``
``server_hostname``, and the pika 0.9 ``heartbeat_interval`` alias.
"""

from __future__ import annotations

import math
import ssl
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import connection as c
from tests.helpers import tls_certs

if TYPE_CHECKING:
    from pathlib import Path

ctx = ssl.create_default_context()
S = c.SSLOptions
PC = pika.PlainCredentials
EC = pika.credentials.ExternalCredentials
nan = math.nan
inf = math.inf


def cb(connection: object, server_value: int) -> int:
    return 5


def bad_cb() -> int:
    return 1


_EXCEPTIONS: dict[str, type[BaseException]] = {
    'TypeError': TypeError,
    'ValueError': ValueError,
    'OverflowError': OverflowError,
    'IndexError': IndexError,
    'AttributeError': AttributeError,
    'SyntaxError': SyntaxError,
    'FileNotFoundError': FileNotFoundError,
    'SSLError': ssl.SSLError,
}

_ATTRIBUTES = (
    'host port virtual_host credentials channel_max frame_max heartbeat ssl_options'
    ' connection_attempts retry_delay socket_timeout stack_timeout locale'
    ' blocked_connection_timeout client_properties tcp_options'
).split()


def _norm(value: Any) -> Any:
    """A comparable description of a stored setting (type name and repr for plain values)."""
    if isinstance(value, S):
        verify = value.context.verify_mode.name
        return ['SSLOptions', verify, value.context.check_hostname, value.server_hostname]
    if isinstance(value, PC):
        return ['Plain', value.username, value.password, value.erase_on_connect]
    if isinstance(value, EC):
        return ['External']
    if value is cb:
        return 'cb'
    if callable(value):
        return ['callable', getattr(value, '__name__', '?')]
    if isinstance(value, float) and math.isnan(value):
        return ['float', 'nan']
    return [type(value).__name__, repr(value)]


_DEFAULTS = {name: _norm(getattr(c.URLParameters('amqp://'), name)) for name in _ATTRIBUTES}


def _changed(params: c.Parameters) -> dict[str, Any]:
    """The settings of ``params`` that differ from the defaults, normalised."""
    current = {name: _norm(getattr(params, name)) for name in _ATTRIBUTES}
    return {name: value for name, value in current.items() if value != _DEFAULTS[name]}


def _expect(expected: Any, produce: Any) -> None:
    """Assert ``produce()`` raises the exception named by ``expected``, or returns it."""
    if isinstance(expected, str) and expected in _EXCEPTIONS:
        with pytest.raises(_EXCEPTIONS[expected]):
            produce()
    else:
        assert produce() == expected


# -- setters: (name, value, outcome), by keyword and by assignment ---------------------------

SETTERS: list[tuple[str, Any, Any]] = [
    ('host', 'h', ['str', "'h'"]),
    ('host', '', ['str', "''"]),
    ('host', None, 'TypeError'),
    ('host', 1, 'TypeError'),
    ('host', b'h', 'TypeError'),
    ('host', 1.5, 'TypeError'),
    ('host', ['x'], 'TypeError'),
    ('host', '::1', ['str', "'::1'"]),
    ('port', 0, ['int', '0']),
    ('port', 1, ['int', '1']),
    ('port', 5672, ['int', '5672']),
    ('port', 65535, ['int', '65535']),
    ('port', '5672', ['int', '5672']),
    ('port', '', 'TypeError'),
    ('port', 'abc', 'TypeError'),
    ('port', 5672.0, ['int', '5672']),
    ('port', 5672.5, ['int', '5672']),
    ('port', True, ['int', '1']),
    ('port', False, ['int', '0']),
    ('port', None, 'TypeError'),
    ('port', '0', ['int', '0']),
    ('port', ' 5672 ', ['int', '5672']),
    ('port', '5672.0', 'TypeError'),
    ('port', inf, 'OverflowError'),
    ('port', nan, 'TypeError'),
    ('port', [5672], 'TypeError'),
    ('virtual_host', '/', ['str', "'/'"]),
    ('virtual_host', '', ['str', "''"]),
    ('virtual_host', 'v', ['str', "'v'"]),
    ('virtual_host', None, 'TypeError'),
    ('virtual_host', 1, 'TypeError'),
    ('virtual_host', b'/', 'TypeError'),
    ('virtual_host', 'a/b', ['str', "'a/b'"]),
    ('credentials', PC('u', 'p'), ['Plain', 'u', 'p', False]),
    ('credentials', EC(), ['External']),
    ('credentials', None, 'TypeError'),
    ('credentials', ('u', 'p'), 'TypeError'),
    ('credentials', 'guest', 'TypeError'),
    ('credentials', PC('u', 'p', True), ['Plain', 'u', 'p', True]),
    ('channel_max', 0, 'ValueError'),
    ('channel_max', 1, ['int', '1']),
    ('channel_max', 2, ['int', '2']),
    ('channel_max', 65535, ['int', '65535']),
    ('channel_max', 65536, 'ValueError'),
    ('channel_max', -1, 'ValueError'),
    ('channel_max', '1', 'TypeError'),
    ('channel_max', '10', 'TypeError'),
    ('channel_max', 1.0, 'TypeError'),
    ('channel_max', 1.5, 'TypeError'),
    ('channel_max', None, 'TypeError'),
    ('channel_max', True, ['bool', 'True']),
    ('channel_max', False, 'ValueError'),
    ('channel_max', 2**40, 'ValueError'),
    ('frame_max', 0, 'ValueError'),
    ('frame_max', 4095, 'ValueError'),
    ('frame_max', 4096, ['int', '4096']),
    ('frame_max', 131072, ['int', '131072']),
    ('frame_max', 2**31 - 1, 'ValueError'),
    ('frame_max', 2**31, 'ValueError'),
    ('frame_max', 2**32, 'ValueError'),
    ('frame_max', '4096', 'TypeError'),
    ('frame_max', 4096.0, 'TypeError'),
    ('frame_max', 4096.5, 'TypeError'),
    ('frame_max', None, 'TypeError'),
    ('frame_max', True, 'ValueError'),
    ('frame_max', -1, 'ValueError'),
    ('frame_max', 'abc', 'TypeError'),
    ('heartbeat', None, ['NoneType', 'None']),
    ('heartbeat', 0, ['int', '0']),
    ('heartbeat', 1, ['int', '1']),
    ('heartbeat', -1, 'ValueError'),
    ('heartbeat', 60, ['int', '60']),
    ('heartbeat', 65535, ['int', '65535']),
    ('heartbeat', 65536, ['int', '65536']),
    ('heartbeat', 2**40, ['int', '1099511627776']),
    ('heartbeat', 1.5, 'TypeError'),
    ('heartbeat', 0.0, 'TypeError'),
    ('heartbeat', 60.0, 'TypeError'),
    ('heartbeat', '60', 'TypeError'),
    ('heartbeat', 'abc', 'TypeError'),
    ('heartbeat', b'1', 'TypeError'),
    ('heartbeat', True, ['bool', 'True']),
    ('heartbeat', False, ['bool', 'False']),
    ('heartbeat', cb, 'cb'),
    ('heartbeat', bad_cb, ['callable', 'bad_cb']),
    ('heartbeat', lambda c, v: 1, ['callable', '<lambda>']),
    ('heartbeat', [], 'TypeError'),
    ('heartbeat', nan, 'TypeError'),
    ('ssl_options', None, ['NoneType', 'None']),
    ('ssl_options', S(ctx), ['SSLOptions', 'CERT_REQUIRED', True, None]),
    ('ssl_options', S(ctx, 'n'), ['SSLOptions', 'CERT_REQUIRED', True, 'n']),
    ('ssl_options', {}, 'TypeError'),
    ('ssl_options', ctx, 'TypeError'),
    ('ssl_options', 'ssl', 'TypeError'),
    ('ssl_options', True, 'TypeError'),
    ('ssl_options', False, 'TypeError'),
    ('ssl_options', {'ca_certs': 'x'}, 'TypeError'),
    ('ssl_options', 0, 'TypeError'),
    ('connection_attempts', 0, 'ValueError'),
    ('connection_attempts', 1, ['int', '1']),
    ('connection_attempts', 3, ['int', '3']),
    ('connection_attempts', -1, 'ValueError'),
    ('connection_attempts', 1.0, 'TypeError'),
    ('connection_attempts', 1.5, 'TypeError'),
    ('connection_attempts', '3', 'TypeError'),
    ('connection_attempts', None, 'TypeError'),
    ('connection_attempts', True, ['bool', 'True']),
    ('connection_attempts', False, 'ValueError'),
    ('connection_attempts', inf, 'TypeError'),
    ('connection_attempts', 2**40, ['int', '1099511627776']),
    ('connection_attempts', nan, 'TypeError'),
    ('retry_delay', 0, ['int', '0']),
    ('retry_delay', 0.0, ['float', '0.0']),
    ('retry_delay', 0.5, ['float', '0.5']),
    ('retry_delay', 3, ['int', '3']),
    ('retry_delay', -0.1, ['float', '-0.1']),
    ('retry_delay', -1, ['int', '-1']),
    ('retry_delay', None, 'TypeError'),
    ('retry_delay', '1', 'TypeError'),
    ('retry_delay', True, ['bool', 'True']),
    ('retry_delay', False, ['bool', 'False']),
    ('retry_delay', '0.5', 'TypeError'),
    ('retry_delay', 2**40, ['int', '1099511627776']),
    ('socket_timeout', None, ['NoneType', 'None']),
    ('socket_timeout', 0, 'ValueError'),
    ('socket_timeout', 0.0, 'ValueError'),
    ('socket_timeout', 0.01, ['float', '0.01']),
    ('socket_timeout', 10, ['float', '10.0']),
    ('socket_timeout', -1, 'ValueError'),
    ('socket_timeout', '1', 'TypeError'),
    ('socket_timeout', True, ['float', '1.0']),
    ('socket_timeout', False, 'ValueError'),
    ('socket_timeout', 1e-19, ['float', '1e-19']),
    ('socket_timeout', 'abc', 'TypeError'),
    ('stack_timeout', None, ['NoneType', 'None']),
    ('stack_timeout', 0, 'ValueError'),
    ('stack_timeout', 0.0, 'ValueError'),
    ('stack_timeout', 0.01, ['float', '0.01']),
    ('stack_timeout', 10, ['float', '10.0']),
    ('stack_timeout', -1, 'ValueError'),
    ('stack_timeout', '1', 'TypeError'),
    ('stack_timeout', True, ['float', '1.0']),
    ('stack_timeout', False, 'ValueError'),
    ('stack_timeout', 1e-19, ['float', '1e-19']),
    ('locale', 'en_US', ['str', "'en_US'"]),
    ('locale', '', ['str', "''"]),
    ('locale', None, 'TypeError'),
    ('locale', 1, 'TypeError'),
    ('locale', b'x', 'TypeError'),
    ('blocked_connection_timeout', None, ['NoneType', 'None']),
    ('blocked_connection_timeout', 0, ['int', '0']),
    ('blocked_connection_timeout', 0.0, ['float', '0.0']),
    ('blocked_connection_timeout', 0.5, ['float', '0.5']),
    ('blocked_connection_timeout', 60, ['int', '60']),
    ('blocked_connection_timeout', -1, 'ValueError'),
    ('blocked_connection_timeout', '1', 'TypeError'),
    ('blocked_connection_timeout', True, ['bool', 'True']),
    ('blocked_connection_timeout', False, ['bool', 'False']),
    ('client_properties', None, ['NoneType', 'None']),
    ('client_properties', {}, ['dict', '{}']),
    ('client_properties', {'connection_name': 'x'}, ['dict', "{'connection_name': 'x'}"]),
    ('client_properties', [], 'TypeError'),
    ('client_properties', 'x', 'TypeError'),
    ('client_properties', 1, 'TypeError'),
    ('client_properties', {1: 2}, ['dict', '{1: 2}']),
    ('tcp_options', None, ['NoneType', 'None']),
    ('tcp_options', {}, ['dict', '{}']),
    ('tcp_options', {'TCP_KEEPIDLE': 60}, ['dict', "{'TCP_KEEPIDLE': 60}"]),
    ('tcp_options', [], 'TypeError'),
    ('tcp_options', 'x', 'TypeError'),
    ('tcp_options', 1, 'TypeError'),
    ('tcp_options', {'BOGUS': 1}, ['dict', "{'BOGUS': 1}"]),
]

#: Our deliberate differences: a NaN or infinite delay/timeout and a port outside 0..65535
#: raise ValueError (they would reach time.sleep, socket.settimeout or a timer deadline and
#: fail there, or, for a port, inside the socket calls).
SETTERS_DIFFERENCES: list[tuple[str, Any, Any]] = [
    ('port', 65536, 'ValueError'),  # pika 1.4.4: ['int', '65536']
    ('port', -1, 'ValueError'),  # pika 1.4.4: ['int', '-1']
    ('port', 2**40, 'ValueError'),  # pika 1.4.4: ['int', '1099511627776']
    ('retry_delay', nan, 'ValueError'),  # pika 1.4.4: ['float', 'nan']
    ('retry_delay', inf, 'ValueError'),  # pika 1.4.4: ['float', 'inf']
    ('socket_timeout', nan, 'ValueError'),  # pika 1.4.4: ['float', 'nan']
    ('socket_timeout', inf, 'ValueError'),  # pika 1.4.4: ['float', 'inf']
    ('stack_timeout', nan, 'ValueError'),  # pika 1.4.4: ['float', 'nan']
    ('stack_timeout', inf, 'ValueError'),  # pika 1.4.4: ['float', 'inf']
    ('blocked_connection_timeout', nan, 'ValueError'),  # pika 1.4.4: ['float', 'nan']
    ('blocked_connection_timeout', inf, 'ValueError'),  # pika 1.4.4: ['float', 'inf']
]


def _by_keyword(name: str, value: Any) -> Any:
    return _norm(getattr(c.ConnectionParameters(**{name: value}), name))


def _by_assignment(name: str, value: Any) -> Any:
    params = c.ConnectionParameters()
    setattr(params, name, value)
    return _norm(getattr(params, name))


@pytest.mark.parametrize(('name', 'value', 'expected'), SETTERS + SETTERS_DIFFERENCES)
def test_setter_outcome(name: str, value: Any, expected: Any) -> None:
    _expect(expected, lambda: _by_keyword(name, value))
    _expect(expected, lambda: _by_assignment(name, value))


def test_every_setter_is_covered() -> None:
    assert {row[0] for row in SETTERS} == set(_ATTRIBUTES)


#: pika 1.4.4's DEFAULT_* class attributes of Parameters, with their values.
DEFAULTS: dict[str, Any] = {
    'DEFAULT_BLOCKED_CONNECTION_TIMEOUT': None,
    'DEFAULT_CHANNEL_MAX': 65535,
    'DEFAULT_CLIENT_PROPERTIES': None,
    'DEFAULT_CONNECTION_ATTEMPTS': 1,
    'DEFAULT_CREDENTIALS': ['Plain', 'guest', 'guest', False],
    'DEFAULT_FRAME_MAX': 131072,
    'DEFAULT_HEARTBEAT_TIMEOUT': None,
    'DEFAULT_HOST': 'localhost',
    'DEFAULT_LOCALE': 'en_US',
    'DEFAULT_PASSWORD': 'guest',
    'DEFAULT_PORT': 5672,
    'DEFAULT_RETRY_DELAY': 2.0,
    'DEFAULT_SOCKET_TIMEOUT': 10.0,
    'DEFAULT_SSL': False,
    'DEFAULT_SSL_OPTIONS': None,
    'DEFAULT_SSL_PORT': 5671,
    'DEFAULT_STACK_TIMEOUT': 15.0,
    'DEFAULT_TCP_OPTIONS': None,
    'DEFAULT_USERNAME': 'guest',
    'DEFAULT_VIRTUAL_HOST': '/',
}


#: Ours only (docs/limits.md, docs/recovery.md): pika 1.4.4 has no max_message_size, no recovery.
DEFAULTS_DIFFERENCES: dict[str, Any] = {
    'DEFAULT_MAX_MESSAGE_SIZE': 134217728,
    'DEFAULT_RECOVERY': None,
}


@pytest.mark.parametrize('cls', [c.Parameters, c.ConnectionParameters, c.URLParameters])
def test_default_class_attributes(cls: type[c.Parameters]) -> None:
    expected = {**DEFAULTS, **DEFAULTS_DIFFERENCES}
    assert sorted(name for name in dir(cls) if name.startswith('DEFAULT')) == sorted(expected)
    for name, value in expected.items():
        got = getattr(cls, name)
        assert (_norm(got) if isinstance(got, PC) else got) == value, name
        assert type(got) is type(value) or isinstance(got, PC), name


def test_property_names() -> None:
    properties = {n for n in dir(c.Parameters) if isinstance(getattr(c.Parameters, n), property)}
    ours = {'max_message_size', 'delivery_backlog_high', 'delivery_backlog_low', 'recovery'}
    # ours only: docs/limits.md, docs/blocking.md, docs/recovery.md
    assert properties == set(_ATTRIBUTES) | ours


# -- expressions: constructors, equality, hashing, repr, class attributes -----------------

EXPRESSIONS: list[tuple[str, Any]] = [
    ('c.ConnectionParameters(ssl_options=S(ctx)).port', ['int', '5671']),
    ('c.ConnectionParameters(ssl_options=S(ctx), port=1).port', ['int', '1']),
    ('c.ConnectionParameters(ssl_options=None).port', ['int', '5672']),
    ('c.ConnectionParameters(bogus=1)', 'TypeError'),
    ('c.ConnectionParameters(ssl=True)', 'TypeError'),
    ('c.ConnectionParameters(backpressure_detection=True)', 'TypeError'),
    ("c.ConnectionParameters('h', 1, 'v', PC('u','p'), 10, 8192, 30).frame_max", ['int', '8192']),
    ('c.ConnectionParameters() == c.ConnectionParameters()', ['bool', 'True']),
    ('c.ConnectionParameters() != c.ConnectionParameters()', ['bool', 'False']),
    ("c.ConnectionParameters(host='a') == c.ConnectionParameters(host='b')", ['bool', 'False']),
    ("c.ConnectionParameters(host='a') != c.ConnectionParameters(host='b')", ['bool', 'True']),
    ("c.ConnectionParameters(host='A') == c.ConnectionParameters(host='a')", ['bool', 'False']),
    ('c.ConnectionParameters(port=1) == c.ConnectionParameters(port=2)', ['bool', 'False']),
    ("c.ConnectionParameters(virtual_host='x') == c.ConnectionParameters()", ['bool', 'True']),
    (
        "c.ConnectionParameters(credentials=PC('a','b')) == c.ConnectionParameters()",
        ['bool', 'True'],
    ),
    ('c.ConnectionParameters(heartbeat=0) == c.ConnectionParameters()', ['bool', 'True']),
    (
        'c.ConnectionParameters(ssl_options=S(ctx), port=5672) == c.ConnectionParameters()',
        ['bool', 'True'],
    ),
    ('c.ConnectionParameters(ssl_options=S(ctx)) == c.ConnectionParameters()', ['bool', 'False']),
    ("c.ConnectionParameters() == 'localhost'", ['bool', 'False']),
    ("c.ConnectionParameters() != 'localhost'", ['bool', 'True']),
    ('c.ConnectionParameters() == None', ['bool', 'False']),
    ('c.ConnectionParameters().__eq__(1)', ['NotImplementedType', 'NotImplemented']),
    ('c.ConnectionParameters().__ne__(1)', ['NotImplementedType', 'NotImplemented']),
    (
        "c.URLParameters('amqp://u:p@localhost/v?heartbeat=3') == c.ConnectionParameters()",
        ['bool', 'True'],
    ),
    ('c.Parameters() == c.ConnectionParameters()', ['bool', 'True']),
    ('hash(c.ConnectionParameters())', 'TypeError'),
    ("hash(c.URLParameters('amqp://'))", 'TypeError'),
    ('hash(c.Parameters())', 'TypeError'),
    ('c.Parameters.__hash__ is None', ['bool', 'True']),
    ('S(ctx) == S(ctx)', ['bool', 'False']),
    ('S(ctx) != S(ctx)', ['bool', 'True']),
    ('(lambda s: s == s)(S(ctx))', ['bool', 'True']),
    ('hash(S(ctx)) is not None', ['bool', 'True']),
    ('S({})', 'TypeError'),
    ('S(None)', 'TypeError'),
    (
        'repr(c.ConnectionParameters())',
        ['str', "'<ConnectionParameters host=localhost port=5672 virtual_host=/ ssl=False>'"],
    ),
    (
        "str(c.ConnectionParameters(host='x', ssl_options=S(ctx)))",
        ['str', "'<ConnectionParameters host=x port=5671 virtual_host=/ ssl=True>'"],
    ),
    (
        "repr(c.URLParameters('amqps://u:p@h/v'))",
        ['str', "'<URLParameters host=h port=5671 virtual_host=v ssl=True>'"],
    ),
    (
        'repr(c.Parameters())',
        ['str', "'<Parameters host=localhost port=5672 virtual_host=/ ssl=False>'"],
    ),
    ("c.URLParameters(b'amqp://h')", 'ValueError'),
    ('c.URLParameters(None)', 'TypeError'),
    ('c.URLParameters(1)', 'TypeError'),
    ('c.Parameters().port', ['int', '5672']),
    ('c.Parameters().ssl_options', ['NoneType', 'None']),
    ('c.Parameters().credentials', ['Plain', 'guest', 'guest', False]),
    ('c.Parameters.DEFAULT_CREDENTIALS', ['Plain', 'guest', 'guest', False]),
    ('c.Parameters.DEFAULT_SSL', ['bool', 'False']),
    ('c.ConnectionParameters.DEFAULT_HOST', ['str', "'localhost'"]),
    ('c.URLParameters.DEFAULT_PORT', ['int', '5672']),
    ('c.ConnectionParameters(host=None)', 'TypeError'),
]

#: heartbeat_interval is pika 0.9's keyword (kept for 0.9 code); server_hostname must be a str.
EXPRESSIONS_DIFFERENCES: list[tuple[str, Any]] = [
    (
        'c.ConnectionParameters(heartbeat_interval=5).heartbeat',
        ['int', '5'],
    ),  # pika 1.4.4: 'TypeError'
    ('S(ctx, 1)', 'TypeError'),  # pika 1.4.4: ['SSLOptions', 'CERT_REQUIRED', True, 1]
    ("S(ctx, b'x')", 'TypeError'),  # pika 1.4.4: ['SSLOptions', 'CERT_REQUIRED', True, "b'x'"]
]


@pytest.mark.parametrize(('expression', 'expected'), EXPRESSIONS + EXPRESSIONS_DIFFERENCES)
def test_expression_outcome(expression: str, expected: Any) -> None:
    namespace = {'c': c, 'S': S, 'PC': PC, 'EC': EC, 'ctx': ctx, 'cb': cb}
    _expect(expected, lambda: _norm(eval(expression, namespace)))


# -- URLs: (url, settings that differ from the defaults, or the exception) ------------------

URLS: list[tuple[str, Any]] = [
    ('amqp://', {}),
    ('amqp://h', {'host': ['str', "'h'"]}),
    ('amqp://h/', {'host': ['str', "'h'"]}),
    ('amqp://h//', {'host': ['str', "'h'"], 'virtual_host': ['str', "''"]}),
    ('amqp://h/%2f', {'host': ['str', "'h'"]}),
    ('amqp://h/%2F', {'host': ['str', "'h'"]}),
    ('amqp://h/vh', {'host': ['str', "'h'"], 'virtual_host': ['str', "'vh'"]}),
    ('amqp://h/vh/', {'host': ['str', "'h'"], 'virtual_host': ['str', "'vh'"]}),
    ('amqp://h/a%2Fb', {'host': ['str', "'h'"], 'virtual_host': ['str', "'a/b'"]}),
    ('amqp://h/a/b', {'host': ['str', "'h'"], 'virtual_host': ['str', "'a'"]}),
    ('amqp://h/my%20vhost', {'host': ['str', "'h'"], 'virtual_host': ['str', "'my vhost'"]}),
    ('amqp://h/%2Fleading', {'host': ['str', "'h'"], 'virtual_host': ['str', "'/leading'"]}),
    ('amqp://h/caf%C3%A9', {'host': ['str', "'h'"], 'virtual_host': ['str', "'café'"]}),
    (
        'amqp://h/vh?heartbeat=5',
        {'host': ['str', "'h'"], 'virtual_host': ['str', "'vh'"], 'heartbeat': ['int', '5']},
    ),
    ('amqp://h/%2f/', {'host': ['str', "'h'"]}),
    ('amqp://h/%2F%2F', {'host': ['str', "'h'"], 'virtual_host': ['str', "'//'"]}),
    ('amqp://h/+', {'host': ['str', "'h'"], 'virtual_host': ['str', "'+'"]}),
    ('amqp://h/a+b', {'host': ['str', "'h'"], 'virtual_host': ['str', "'a+b'"]}),
    ('amqp://h/vh#frag', {'host': ['str', "'h'"], 'virtual_host': ['str', "'vh'"]}),
    ('h', {}),
    ('h:5673', 'ValueError'),
    ('localhost', 'IndexError'),
    ('', {}),
    ('/', {}),
    ('//h', {'host': ['str', "'h'"]}),
    ('//h:1/v', {'host': ['str', "'h'"], 'port': ['int', '1'], 'virtual_host': ['str', "'v'"]}),
    ('rabbit.example/vh', {'virtual_host': ['str', "'vh'"]}),
    ('h/vh', {'virtual_host': ['str', "'vh'"]}),
    ('http://h', {'host': ['str', "'h'"]}),
    ('http://h/', {'host': ['str', "'h'"]}),
    (
        'https://h',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'https://h:1/',
        {
            'host': ['str', "'h'"],
            'port': ['int', '1'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('HTTP://h', {'host': ['str', "'h'"]}),
    ('AMQP://h', {'host': ['str', "'h'"]}),
    (
        'AMQPS://h',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqps://h',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqps://h:5672',
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    ('ftp://h', 'ValueError'),
    ('amqpx://h', 'ValueError'),
    ('amqp+ssl://h', 'ValueError'),
    ('mailto:x', 'ValueError'),
    ('file:///x', 'ValueError'),
    ('amqp://h:abc/', 'ValueError'),
    ('amqp://h:0/', {'host': ['str', "'h'"], 'port': ['int', '0']}),
    ('amqp://h:99999/', 'ValueError'),
    ('amqp://h:65535', {'host': ['str', "'h'"], 'port': ['int', '65535']}),
    ('amqp://u:pw@h:-5/', 'ValueError'),
    ('amqp://h:/', {'host': ['str', "'h'"]}),
    ('amqp://u:p@h', {'host': ['str', "'h'"], 'credentials': ['Plain', 'u', 'p', False]}),
    (
        'amqp://us%3Aer:p%40ss%2Fw%3Frd@h',
        {'host': ['str', "'h'"], 'credentials': ['Plain', 'us:er', 'p@ss/w?rd', False]},
    ),
    ('amqp://%C3%BC:%C3%A9@h', {'host': ['str', "'h'"], 'credentials': ['Plain', 'ü', 'é', False]}),
    ('amqp://:p@h', {'host': ['str', "'h'"], 'credentials': ['Plain', '', 'p', False]}),
    ('amqp://u:@h', {'host': ['str', "'h'"], 'credentials': ['Plain', 'u', '', False]}),
    ('amqp://u@h', 'TypeError'),
    ('amqp://@h', 'TypeError'),
    ('amqp://u:p@', {'credentials': ['Plain', 'u', 'p', False]}),
    ('amqp://u+v:p+q@h', {'host': ['str', "'h'"], 'credentials': ['Plain', 'u+v', 'p+q', False]}),
    ('amqp://[::1]:5673/', {'host': ['str', "'::1'"], 'port': ['int', '5673']}),
    ('amqp://[::1]', {'host': ['str', "'::1'"]}),
    ('amqp://10.1.2.3:1', {'host': ['str', "'10.1.2.3'"], 'port': ['int', '1']}),
    (
        'amqps://[fe80::1]',
        {
            'host': ['str', "'fe80::1'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp://H.Example', {'host': ['str', "'h.example'"]}),
    ('amqp://h%41', {'host': ['str', "'h%41'"]}),
    ('amqp://h/?heartbeat=30', {'host': ['str', "'h'"], 'heartbeat': ['int', '30']}),
    ('amqp://h/?heartbeat=0', {'host': ['str', "'h'"], 'heartbeat': ['int', '0']}),
    ('amqp://h/?heartbeat=-1', 'ValueError'),
    ('amqp://h/?heartbeat=1.5', 'ValueError'),
    ('amqp://h/?heartbeat=abc', 'ValueError'),
    ('amqp://h/?heartbeat=', {'host': ['str', "'h'"]}),
    ('amqp://h/?heartbeat', {'host': ['str', "'h'"]}),
    ('amqp://h/?heartbeat=10&heartbeat=20', 'ValueError'),
    ('amqp://h/?channel_max=100', {'host': ['str', "'h'"], 'channel_max': ['int', '100']}),
    ('amqp://h/?channel_max=0', 'ValueError'),
    ('amqp://h/?channel_max=70000', 'ValueError'),
    ('amqp://h/?channel_max=1.0', 'ValueError'),
    ('amqp://h/?channel_max=x', 'ValueError'),
    ('amqp://h/?frame_max=8192', {'host': ['str', "'h'"], 'frame_max': ['int', '8192']}),
    ('amqp://h/?frame_max=100', 'ValueError'),
    ('amqp://h/?frame_max=4096.0', 'ValueError'),
    ('amqp://h/?frame_max=3000000000', 'ValueError'),
    (
        'amqp://h/?connection_attempts=3',
        {'host': ['str', "'h'"], 'connection_attempts': ['int', '3']},
    ),
    ('amqp://h/?connection_attempts=0', 'ValueError'),
    ('amqp://h/?connection_attempts=', {'host': ['str', "'h'"]}),
    ('amqp://h/?connection_attempts=2.0', 'ValueError'),
    ('amqp://h/?retry_delay=1.5', {'host': ['str', "'h'"], 'retry_delay': ['float', '1.5']}),
    ('amqp://h/?retry_delay=0', {'host': ['str', "'h'"], 'retry_delay': ['float', '0.0']}),
    ('amqp://h/?retry_delay=-1', {'host': ['str', "'h'"], 'retry_delay': ['float', '-1.0']}),
    ('amqp://h/?retry_delay=soon', 'ValueError'),
    ('amqp://h/?socket_timeout=2', {'host': ['str', "'h'"], 'socket_timeout': ['float', '2.0']}),
    ('amqp://h/?socket_timeout=0', 'ValueError'),
    ('amqp://h/?socket_timeout=-1', 'ValueError'),
    (
        'amqp://h/?socket_timeout=1e-19',
        {'host': ['str', "'h'"], 'socket_timeout': ['float', '1e-19']},
    ),
    ('amqp://h/?socket_timeout=none', 'ValueError'),
    ('amqp://h/?socket_timeout=None', 'ValueError'),
    ('amqp://h/?stack_timeout=3.5', {'host': ['str', "'h'"], 'stack_timeout': ['float', '3.5']}),
    ('amqp://h/?stack_timeout=0', 'ValueError'),
    ('amqp://h/?stack_timeout=-1', 'ValueError'),
    (
        'amqp://h/?blocked_connection_timeout=4',
        {'host': ['str', "'h'"], 'blocked_connection_timeout': ['float', '4.0']},
    ),
    (
        'amqp://h/?blocked_connection_timeout=0',
        {'host': ['str', "'h'"], 'blocked_connection_timeout': ['float', '0.0']},
    ),
    ('amqp://h/?blocked_connection_timeout=nope', 'ValueError'),
    ('amqp://h/?blocked_connection_timeout=none', 'ValueError'),
    ('amqp://h/?locale=de_DE', {'host': ['str', "'h'"], 'locale': ['str', "'de_DE'"]}),
    ('amqp://h/?locale=', {'host': ['str', "'h'"]}),
    ('amqp://h/?locale=a%20b', {'host': ['str', "'h'"], 'locale': ['str', "'a b'"]}),
    (
        'amqp://h/?tcp_options=%7B%27TCP_KEEPIDLE%27%3A60%7D',
        {'host': ['str', "'h'"], 'tcp_options': ['dict', "{'TCP_KEEPIDLE': 60}"]},
    ),
    (
        'amqp://h/?tcp_options={"TCP_KEEPCNT":+5}',
        {'host': ['str', "'h'"], 'tcp_options': ['dict', "{'TCP_KEEPCNT': 5}"]},
    ),
    ('amqp://h/?tcp_options=%5B1%5D', 'TypeError'),
    ('amqp://h/?tcp_options=notadict', 'ValueError'),
    ('amqp://h/?tcp_options=', {'host': ['str', "'h'"]}),
    ('amqp://h/?tcp_options=None', {'host': ['str', "'h'"]}),
    ('amqp://h/?tcp_options={}', {'host': ['str', "'h'"], 'tcp_options': ['dict', '{}']}),
    (
        'amqp://h/?client_properties=%7B%27connection_name%27%3A%27x%27%7D',
        {'host': ['str', "'h'"], 'client_properties': ['dict', "{'connection_name': 'x'}"]},
    ),
    ('amqp://h/?client_properties=1', 'TypeError'),
    (
        'amqp://h/?client_properties={"a":1}',
        {'host': ['str', "'h'"], 'client_properties': ['dict', "{'a': 1}"]},
    ),
    (
        'amqps://h/?ssl_options=%7B%27server_hostname%27%3A%27b.example%27%2C%27verify_mode%27%3A%27CERT_NONE%27%7D',
        'TypeError',
    ),
    ('amqps://h/?ssl_options={"cert_reqs":+"CERT_REQUIRED"}', 'TypeError'),
    ('amqps://h/?ssl_options={}', 'TypeError'),
    ('amqp://h/?ssl_options={}', 'TypeError'),
    ('amqps://h/?ssl_options=none', 'ValueError'),
    ('amqps://h/?ssl_options=None', 'ValueError'),
    ('amqps://h/?ssl_options=null', 'ValueError'),
    (
        'amqps://h/?ssl_options=',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp://h/?ssl_options=none', 'ValueError'),
    ('amqp://h/?ssl_options=None', {'host': ['str', "'h'"]}),
    ('amqps://h/?ssl_options=%7B%27bogus%27%3A1%7D', 'TypeError'),
    ('amqps://h/?ssl_options=%7B%27ca_certs%27%3A%27%2Fno%2Fsuch.pem%27%7D', 'FileNotFoundError'),
    ('amqps://h/?ssl_options=%7B%27verify_mode%27%3A%27SOMETIMES%27%7D', 'TypeError'),
    ('amqps://h/?ssl_options=garbage', 'ValueError'),
    ('amqps://h/?ssl_options={"server_hostname":"x"}', 'TypeError'),
    ('amqp://h/?ssl_options={"server_hostname":"x"}', 'TypeError'),
    ('amqps://h/?ssl_options={"verify_mode":"CERT_NONE"}', 'TypeError'),
    ('amqps://h/?ssl_options={"check_hostname":false}', 'ValueError'),
    ('amqps://h/?ssl_options={"ca_certs":null}', 'ValueError'),
    ('amqp://h/?backpressure_detection=t', 'ValueError'),
    ('amqp://h/?backpressure_detection=f', 'ValueError'),
    ('amqp://h/?foo=1', 'ValueError'),
    ('amqp://h/?ssl=1', 'ValueError'),
    ('amqp://h/?&', {'host': ['str', "'h'"]}),
    ('amqp://h/?heartbeat=1&', {'host': ['str', "'h'"], 'heartbeat': ['int', '1']}),
    ('amqp://h/?=1', 'ValueError'),
    ('amqp://h/?Heartbeat=1', 'ValueError'),
    ('amqp://h/?heartbeat=%31', {'host': ['str', "'h'"], 'heartbeat': ['int', '1']}),
    ('amqp://h/?heartbeat=+1', {'host': ['str', "'h'"], 'heartbeat': ['int', '1']}),
    ('amqp://h/?heartbeat=%201', {'host': ['str', "'h'"], 'heartbeat': ['int', '1']}),
    ('amqp://h/?heartbeat=0x10', 'ValueError'),
    ('amqp://h/?heartbeat=1_0', {'host': ['str', "'h'"], 'heartbeat': ['int', '10']}),
    (
        'amqp://h/?ssl_options=%7B%27ca_path%27%3A%20%27/tmp%27%7D',
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps://h/?ssl_options=%7B%27ca_path%27%3A%20%27/tmp%27%7D',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp://h/?ssl_options=%7B%27capath%27%3A%20%27/tmp%27%7D',
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps://h/?ssl_options=%7B%27capath%27%3A%20%27/tmp%27%7D',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp://h/?ssl_options=%7B%27ca_certs%27%3A%20None%7D', 'TypeError'),
    ('amqps://h/?ssl_options=%7B%27ca_certs%27%3A%20None%7D', 'TypeError'),
    ('amqp://h/?ssl_options=%7B%27ca_certs%27%3A%20%27/nope.pem%27%7D', 'FileNotFoundError'),
    ('amqps://h/?ssl_options=%7B%27ca_certs%27%3A%20%27/nope.pem%27%7D', 'FileNotFoundError'),
    ('amqp://h/?ssl_options=%7B%27ca_certs%27%3A%205%7D', 'TypeError'),
    ('amqps://h/?ssl_options=%7B%27ca_certs%27%3A%205%7D', 'TypeError'),
    (
        'amqp://h/?ssl_options=%7B%27ca_path%27%3A%20%27/nonexistent%27%7D',
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps://h/?ssl_options=%7B%27ca_path%27%3A%20%27/nonexistent%27%7D',
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp://h/?ssl_options=%7B%27cadata%27%3A%20%27garbage%27%7D', 'SSLError'),
    ('amqps://h/?ssl_options=%7B%27cadata%27%3A%20%27garbage%27%7D', 'SSLError'),
    ('amqp://h/?ssl_options=%7B%27cadata%27%3A%205%7D', 'TypeError'),
    ('amqps://h/?ssl_options=%7B%27cadata%27%3A%205%7D', 'TypeError'),
    ('amqp://h/?ssl_options=[1]', 'AttributeError'),
    ('amqps://h/?ssl_options=[1]', 'AttributeError'),
    ('https://h/?ssl_options=[1]', 'AttributeError'),
    ('amqp://h/?ssl_options=1', 'TypeError'),
    ('amqps://h/?ssl_options=1', 'TypeError'),
    ('https://h/?ssl_options=1', 'TypeError'),
    ('amqp://h/?ssl_options="x"', 'AttributeError'),
    ('amqps://h/?ssl_options="x"', 'AttributeError'),
    ('https://h/?ssl_options="x"', 'AttributeError'),
    ('amqp://h/?ssl_options=False', 'TypeError'),
    ('amqps://h/?ssl_options=False', 'TypeError'),
    ('https://h/?ssl_options=False', 'TypeError'),
    ('amqp://h/?ssl_options=0', 'TypeError'),
    ('amqps://h/?ssl_options=0', 'TypeError'),
    ('https://h/?ssl_options=0', 'TypeError'),
    ('amqp://h/?ssl_options={', 'SyntaxError'),
    ('amqps://h/?ssl_options={', 'SyntaxError'),
    ('https://h/?ssl_options={', 'SyntaxError'),
    ('amqp://h/?ssl_options={1:', 'SyntaxError'),
    ('amqps://h/?ssl_options={1:', 'SyntaxError'),
    ('https://h/?ssl_options={1:', 'SyntaxError'),
    ('amqp://h/?ssl_options={"a": true}', 'ValueError'),
    ('amqps://h/?ssl_options={"a": true}', 'ValueError'),
    ('https://h/?ssl_options={"a": true}', 'ValueError'),
    ('amqp://h/?ssl_options=None', {'host': ['str', "'h'"]}),
    ('amqps://h/?ssl_options=None', 'ValueError'),
    ('https://h/?ssl_options=None', 'ValueError'),
    ('amqp://h/?ssl_options=%7B%7D%20', 'TypeError'),
    ('amqps://h/?ssl_options=%7B%7D%20', 'TypeError'),
    ('https://h/?ssl_options=%7B%7D%20', 'TypeError'),
    ('amqp://h/?ssl_options=()', 'AttributeError'),
    ('amqps://h/?ssl_options=()', 'AttributeError'),
    ('https://h/?ssl_options=()', 'AttributeError'),
    ('amqp://u:p@h:1/v?tcp_options={', 'SyntaxError'),
    ('amqp://u:p@h:1/v?tcp_options=(1,)', 'TypeError'),
    (
        'amqp://u:p@h:1/v?client_properties=None',
        {
            'host': ['str', "'h'"],
            'port': ['int', '1'],
            'virtual_host': ['str', "'v'"],
            'credentials': ['Plain', 'u', 'p', False],
        },
    ),
    ('amqp://u:p@h:1/v?client_properties={', 'SyntaxError'),
    (
        'amqp://u:p@h:1/v?client_properties=%7B1%3A2%7D',
        {
            'host': ['str', "'h'"],
            'port': ['int', '1'],
            'virtual_host': ['str', "'v'"],
            'credentials': ['Plain', 'u', 'p', False],
            'client_properties': ['dict', '{1: 2}'],
        },
    ),
    ('amqp://u:p@h:1/v?locale=x&locale=y', 'ValueError'),
    (
        'amqp://u:p@h:1/v?heartbeat=1&channel_max=5&frame_max=5000&connection_attempts=2&retry_delay=3&socket_timeout=4&stack_timeout=5&blocked_connection_timeout=6&locale=fr',
        {
            'host': ['str', "'h'"],
            'port': ['int', '1'],
            'virtual_host': ['str', "'v'"],
            'credentials': ['Plain', 'u', 'p', False],
            'channel_max': ['int', '5'],
            'frame_max': ['int', '5000'],
            'heartbeat': ['int', '1'],
            'connection_attempts': ['int', '2'],
            'retry_delay': ['float', '3.0'],
            'socket_timeout': ['float', '4.0'],
            'stack_timeout': ['float', '5.0'],
            'locale': ['str', "'fr'"],
            'blocked_connection_timeout': ['float', '6.0'],
        },
    ),
]

#: pika 0.9's heartbeat_interval option is kept; NaN/infinite delays are refused.
URLS_DIFFERENCES: list[tuple[str, Any]] = [
    (
        'amqp://h/?heartbeat_interval=12',
        {'host': ['str', "'h'"], 'heartbeat': ['int', '12']},
    ),  # pika 1.4.4: 'ValueError'
    (
        'amqp://h/?retry_delay=nan',
        'ValueError',
    ),  # pika 1.4.4: {'host': ['str', "'h'"], 'retry_delay': ['float', 'nan']}
    (
        'amqp://h/?retry_delay=inf',
        'ValueError',
    ),  # pika 1.4.4: {'host': ['str', "'h'"], 'retry_delay': ['float', 'inf']}
    ('amqp://h/?max_message_size=2048', {'host': ['str', "'h'"]}),  # pika 1.4.4: 'ValueError'
    ('amqp://h/?max_message_size=0', 'ValueError'),  # pika 1.4.4: 'ValueError' (unknown)
    (
        'amqp://h/?delivery_backlog_high=0&delivery_backlog_low=0',
        {'host': ['str', "'h'"]},
    ),  # pika 1.4.4: 'ValueError' (unknown)
    ('amqp://h/?delivery_backlog_high=-1', 'ValueError'),  # pika 1.4.4: 'ValueError'
    ('amqp://h/?recovery=true', {'host': ['str', "'h'"]}),  # pika 1.4.4: 'ValueError' (unknown)
    ('amqp://h/?recovery_max_delay=5', 'ValueError'),  # pika 1.4.4: 'ValueError' (unknown)
]


@pytest.mark.parametrize(('url', 'expected'), URLS + URLS_DIFFERENCES)
def test_url_outcome(url: str, expected: Any) -> None:
    _expect(expected, lambda: _changed(c.URLParameters(url)))


# -- ssl_options in URLs: (scheme, options dict, outcome) -----------------------------------
# '@DIR@' is a directory holding a throw-away CA (ca.pem) and client certificate, '@CADATA@'
# the CA's PEM text; the rows were recorded with the same files.

SSL_OPTIONS: list[tuple[str, dict[str, Any], Any]] = [
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'cafile': '@DIR@/ca.pem'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'cafile': '@DIR@/ca.pem'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_path': '@DIR@'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_path': '@DIR@'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'capath': '@DIR@'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'capath': '@DIR@'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'cadata': '@CADATA@'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'cadata': '@CADATA@'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_data': '@CADATA@'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_data': '@CADATA@'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'bogus': 1},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'bogus': 1},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'server_hostname': 'x'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, 'x']},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'server_hostname': 'x'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, 'x'],
        },
    ),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'verify_mode': 'CERT_NONE'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'verify_mode': 'CERT_NONE'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'cert_reqs': 0},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'cert_reqs': 0},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'check_hostname': False},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'check_hostname': False},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'certfile': '@DIR@/client.pem', 'keyfile': '@DIR@/client.key'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'certfile': '@DIR@/client.pem', 'keyfile': '@DIR@/client.key'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp', {'ca_certs': '@DIR@/ca.pem', 'certfile': '@DIR@/client.pem'}, 'SSLError'),
    ('amqps', {'ca_certs': '@DIR@/ca.pem', 'certfile': '@DIR@/client.pem'}, 'SSLError'),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'keyfile': '@DIR@/client.key'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'keyfile': '@DIR@/client.key'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp', {'ca_certs': '@DIR@/ca.pem', 'certfile': '/nope'}, 'FileNotFoundError'),
    ('amqps', {'ca_certs': '@DIR@/ca.pem', 'certfile': '/nope'}, 'FileNotFoundError'),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'ciphers': 'ECDHE+AESGCM'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'ciphers': 'ECDHE+AESGCM'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp', {'ca_certs': '@DIR@/ca.pem', 'ciphers': 'bogus!!'}, 'SSLError'),
    ('amqps', {'ca_certs': '@DIR@/ca.pem', 'ciphers': 'bogus!!'}, 'SSLError'),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'password': 'x'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'password': 'x'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp', {'ca_certs': None}, 'TypeError'),
    ('amqps', {'ca_certs': None}, 'TypeError'),
    ('amqp', {'ca_certs': '/nope.pem'}, 'FileNotFoundError'),
    ('amqps', {'ca_certs': '/nope.pem'}, 'FileNotFoundError'),
    ('amqp', {'ca_certs': 5}, 'TypeError'),
    ('amqps', {'ca_certs': 5}, 'TypeError'),
    (
        'amqp',
        {'ca_certs': '@DIR@/ca.pem', 'ca_path': '/nonexistent'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_certs': '@DIR@/ca.pem', 'ca_path': '/nonexistent'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    (
        'amqp',
        {'ca_path': '/nonexistent'},
        {'host': ['str', "'h'"], 'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None]},
    ),
    (
        'amqps',
        {'ca_path': '/nonexistent'},
        {
            'host': ['str', "'h'"],
            'port': ['int', '5671'],
            'ssl_options': ['SSLOptions', 'CERT_REQUIRED', True, None],
        },
    ),
    ('amqp', {'cadata': 'garbage'}, 'SSLError'),
    ('amqps', {'cadata': 'garbage'}, 'SSLError'),
    ('amqp', {'cadata': 5}, 'TypeError'),
    ('amqps', {'cadata': 5}, 'TypeError'),
]

#: server_hostname must be a str or None; pika 1.4.4 stores any object (here the int 1).
SSL_OPTIONS_DIFFERENCES: list[tuple[str, dict[str, Any], Any]] = [
    ('amqp', {'ca_certs': '@DIR@/ca.pem', 'server_hostname': 1}, 'TypeError'),
    ('amqps', {'ca_certs': '@DIR@/ca.pem', 'server_hostname': 1}, 'TypeError'),
]


@pytest.fixture(scope='module')
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not tls_certs.openssl_available():
        pytest.skip('the openssl command is needed to make a CA')
    directory = tmp_path_factory.mktemp('url-tls')
    tls_certs.make_tls_files(directory)
    return directory


def _fill(value: Any, directory: Path) -> Any:
    if value == '@CADATA@':
        return (directory / 'ca.pem').read_text()
    if isinstance(value, str):
        return value.replace('@DIR@', str(directory))
    return value


@pytest.mark.parametrize(('scheme', 'options', 'expected'), SSL_OPTIONS + SSL_OPTIONS_DIFFERENCES)
def test_url_ssl_options_outcome(
    scheme: str, options: dict[str, Any], expected: Any, tls_dir: Path
) -> None:
    filled = {key: _fill(value, tls_dir) for key, value in options.items()}
    url = f'{scheme}://h/?ssl_options=' + urllib.parse.quote(repr(filled))
    _expect(expected, lambda: _changed(c.URLParameters(url)))
