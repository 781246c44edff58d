"""ConnectionParameters(recovery=...) and the URL's recovery options."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pika
from pika import credentials
from pika._parameters import ConnectionParameters, Parameters, URLParameters
from pika.recovery import Recovery

ERASED = credentials.PlainCredentials('user', 'pw', erase_on_connect=True)


# -- ConnectionParameters ------------------------------------------------------------------


def test_recovery_is_off_by_default() -> None:
    assert Parameters.DEFAULT_RECOVERY is None
    assert ConnectionParameters().recovery is None
    assert URLParameters('amqp://h/').recovery is None


def test_recovery_keyword_turns_it_on() -> None:
    policy = Recovery(max_attempts=5)
    params = ConnectionParameters('h', recovery=policy)
    assert params.recovery is policy


def test_recovery_is_keyword_only() -> None:
    positional = [None] * 16  # every pika 1.x positional parameter
    with pytest.raises(TypeError):
        ConnectionParameters(*positional, Recovery())  # type: ignore[misc]


def test_recovery_none_and_assignment() -> None:
    params = ConnectionParameters(recovery=None)
    assert params.recovery is None
    params.recovery = Recovery()
    assert params.recovery == Recovery()
    params.recovery = None
    assert params.recovery is None


@pytest.mark.parametrize('value', [True, 'true', {'max_delay': 3}, Recovery])
def test_recovery_must_be_a_policy(value: object) -> None:
    with pytest.raises(TypeError, match=r'recovery must be a pika\.Recovery or None'):
        ConnectionParameters(recovery=value)  # type: ignore[arg-type]


def test_erase_on_connect_with_recovery_is_refused_either_way_round() -> None:
    with pytest.raises(ValueError, match='erase_on_connect=True') as info:
        ConnectionParameters(credentials=ERASED, recovery=Recovery())
    assert 'reconnect' in str(info.value)
    assert 'pw' not in str(info.value)
    params = ConnectionParameters(recovery=Recovery())
    with pytest.raises(ValueError, match='erase_on_connect'):
        params.credentials = ERASED
    assert params.credentials == credentials.PlainCredentials('guest', 'guest')  # unchanged
    params = ConnectionParameters(credentials=ERASED)
    with pytest.raises(ValueError, match='erase_on_connect'):
        params.recovery = Recovery()
    assert params.recovery is None  # unchanged


def test_erase_on_connect_without_recovery_is_fine() -> None:
    assert ConnectionParameters(credentials=ERASED).credentials is ERASED


def test_external_credentials_with_recovery_are_fine() -> None:
    params = ConnectionParameters(
        credentials=credentials.ExternalCredentials(), recovery=Recovery()
    )
    assert params.recovery is not None


def test_repr_unchanged_by_recovery() -> None:
    plain = repr(ConnectionParameters('h'))
    assert repr(ConnectionParameters('h', recovery=Recovery())) == plain


def test_import_pika_does_not_load_recovery() -> None:
    code = (
        'import sys, pika; pika.ConnectionParameters(); pika.URLParameters("amqp://h/?heartbeat=5");'
        'print("pika.recovery" in sys.modules, "pika._core.recovery" in sys.modules)'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['False', 'False']
    assert pika.Recovery is Recovery  # loaded on first access


# -- URL --------------------------------------------------------------------------------------


@pytest.mark.parametrize('word', ['true', 'True', '1', 'yes', 'on'])
def test_url_recovery_true(word: str) -> None:
    params = URLParameters(f'amqp://u:p@h/?recovery={word}')
    assert params.recovery == Recovery()


@pytest.mark.parametrize('word', ['false', 'FALSE', '0', 'no', 'off'])
def test_url_recovery_false(word: str) -> None:
    assert URLParameters(f'amqp://u:p@h/?recovery={word}').recovery is None


def test_url_recovery_settings() -> None:
    url = (
        'amqps://u:p@h/?recovery_max_delay=5&recovery=true&recovery_initial_delay=0.1'
        '&recovery_multiplier=3&recovery_jitter=0&recovery_max_attempts=9'
        '&recovery_max_duration=120&recovery_host_order=shuffle&heartbeat=10'
    )
    params = URLParameters(url)
    assert params.recovery == Recovery(
        initial_delay=0.1,
        max_delay=5,
        multiplier=3,
        jitter=0,
        max_attempts=9,
        max_duration=120,
        host_order='shuffle',
    )
    assert params.heartbeat == 10


def test_url_recovery_blank_value_ignored() -> None:
    assert URLParameters('amqp://h/?recovery=').recovery is None


def test_url_recovery_callbacks_added_with_replace() -> None:
    params = URLParameters('amqp://h/?recovery=1&recovery_max_attempts=3')
    assert params.recovery is not None
    params.recovery = params.recovery.replace(on_recovered=print)
    assert (params.recovery.max_attempts, params.recovery.on_recovered) == (3, print)


@pytest.mark.parametrize(
    ('query', 'message'),
    [
        ('recovery=maybe', "Invalid value for URL parameter 'recovery': expected true or false"),
        ('recovery_max_delay=3', "URL parameter 'recovery_max_delay' needs recovery=true"),
        ('recovery=false&recovery_jitter=0', "URL parameter 'recovery_jitter' needs recovery=true"),
        ('recovery=1&recovery_bogus=1', "Unknown URL parameter: 'recovery_bogus'"),
        ('recovery_bogus=1', "Unknown URL parameter: 'recovery_bogus'"),
        (
            'recovery=1&recovery_max_delay=soon',
            "Invalid value for URL parameter 'recovery_max_delay'",
        ),
        ('recovery=1&recovery_max_attempts=2.5', "parameter 'recovery_max_attempts'"),
        ('recovery=1&recovery_host_order=random', "parameter 'recovery_host_order'"),
        ('recovery=1&recovery_max_delay=-1', 'Recovery max_delay must be >= 0'),
        ('recovery=1&recovery_jitter=2', 'Recovery jitter must be between 0 and 1'),
        ('recovery=1&recovery=0', "URL parameter 'recovery' given 2 times"),
    ],
)
def test_url_recovery_errors(query: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        URLParameters(f'amqp://u:p@h/?{query}')
    assert message in str(info.value)


def test_url_recovery_error_never_quotes_a_password_tail() -> None:
    # An unencoded '?' in the password starts the query inside it.
    for url in (
        'amqp://u:pa?recovery=1&recovery_host_order=hunter2@h/',
        'amqp://u:pa?recovery=1&recovery_max_delay=hunter2@h/',
        'amqp://u:pa?recovery=hunter2@h/',
    ):
        with pytest.raises(ValueError) as info:
            URLParameters(url)
        assert 'hunter2' not in str(info.value)
        assert info.value.__context__ is None
