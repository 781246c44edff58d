"""A recovery's reconnect logs in with the last secret the broker accepted (no socket).

An OAuth 2 application refreshes its token with ``update_secret``; the parameters keep the
token it started with. The core remembers the secret of each UpdateSecretOk and the
reconnect's Connection.StartOk carries it; the scripted broker bytes stand in for RabbitMQ.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pika import exceptions, spec
from pika._core.refreshed_login import RefreshedLogin
from pika.credentials import ExternalCredentials, PlainCredentials
from pika.recovery import Recovery
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core, sent

if TYPE_CHECKING:
    import pytest

    from pika._core import ConnectionCore

ORIGINAL = 'token-issued-at-start'
REFRESHED = 'token-refreshed-later'


def token_core(username: str = 'app') -> ConnectionCore:
    core = open_core(recovery=Recovery(), credentials=PlainCredentials(username, ORIGINAL))
    open_channel(core, 1)
    return core


def refresh(core: ConnectionCore, secret: str, answered: bool = True) -> None:
    """``update_secret(secret)``; the scripted broker accepts it when ``answered``."""
    core.update_secret(secret, 'token refresh')
    assert [m.NAME for m in sent(core)] == ['Connection.UpdateSecret']
    if answered:
        replies = core.receive_data(sf.method(0, spec.Connection.UpdateSecretOk()), 0.5)
        assert names(replies) == ['RpcReply']


def reconnect_login(core: ConnectionCore, params: object = None) -> bytes:
    """Lose the connection, reconnect (to ``params``, default the same node) and return the
    SASL response of the reconnect's Connection.StartOk."""
    if not core.is_recovering:
        assert names(core.connection_lost(exceptions.StreamLostError('reset'))) == [
            'ConnectionInterrupted'
        ]
    core.begin_reconnect(params or core.params)  # type: ignore[arg-type]
    core.data_to_send()
    assert core.receive_data(sf.start(), 1.0) == []
    (start_ok,) = sent(core)
    assert start_ok.NAME == 'Connection.StartOk' and start_ok.mechanism == 'PLAIN'
    response = start_ok.response  # the decoder gives a longstr as str when it is UTF-8
    return response.encode() if isinstance(response, str) else bytes(response)


def test_the_reconnect_logs_in_with_the_secret_the_broker_accepted() -> None:
    core = token_core()
    refresh(core, REFRESHED)
    assert reconnect_login(core) == b'\0app\0' + REFRESHED.encode()
    # The application's credentials object keeps what it was given.
    assert core.params.credentials.password == ORIGINAL  # type: ignore[attr-defined]


def test_the_latest_accepted_secret_wins_and_survives_several_reconnects() -> None:
    core = token_core()
    refresh(core, 'first-refresh')
    refresh(core, REFRESHED)
    assert reconnect_login(core) == b'\0app\0' + REFRESHED.encode()
    core.connection_lost(exceptions.StreamLostError('refused during the handshake'))
    assert reconnect_login(core) == b'\0app\0' + REFRESHED.encode()


def test_a_secret_without_its_update_secret_ok_is_not_used() -> None:
    core = token_core()
    refresh(core, REFRESHED, answered=False)  # lost with the connection before its reply
    assert reconnect_login(core) == b'\0app\0' + ORIGINAL.encode()


def test_a_node_with_another_user_keeps_its_own_password() -> None:
    core = token_core()
    refresh(core, REFRESHED)
    other = type(core.params)(credentials=PlainCredentials('other', 'its-own'), heartbeat=0)
    assert reconnect_login(core, other) == b'\0other\0its-own'


def test_the_secret_is_forgotten_when_the_connection_is_finished() -> None:
    core = token_core()
    refresh(core, REFRESHED)
    recoverer = core.recoverer
    assert recoverer is not None and recoverer.login.is_set
    core.connection_lost(exceptions.StreamLostError('reset'))
    assert recoverer.login.is_set  # recovering: still needed
    final = core.give_up(exceptions.AMQPConnectionError('gave up'))
    assert names(final) == ['ChannelClosed', 'ConnectionClosed']
    assert not recoverer.login.is_set


def test_without_recovery_nothing_is_remembered() -> None:
    core = open_core(credentials=PlainCredentials('app', ORIGINAL))
    assert core.recoverer is None
    refresh(core, REFRESHED)  # answered as usual, nowhere kept


def test_erase_on_connect_and_external_credentials_keep_no_secret() -> None:
    login = RefreshedLogin()
    erased = PlainCredentials('app', ORIGINAL, erase_on_connect=True)
    login.accepted(erased, REFRESHED)
    assert not login.is_set
    login.accepted(ExternalCredentials(), REFRESHED)
    assert not login.is_set
    login.accepted(PlainCredentials('app', ORIGINAL), REFRESHED)
    assert login.is_set
    # Credentials erased since (erase_on_connect set late) are handed back unchanged: the
    # adapters give up on them with a clear error rather than log in with a kept secret.
    late = PlainCredentials('app', ORIGINAL)
    late.erase_on_connect = True
    assert login.for_login(late) is late
    external = ExternalCredentials()
    assert login.for_login(external) is external


def test_the_secret_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = REFRESHED
    core = token_core()
    refresh(core, secret)
    recoverer = core.recoverer
    assert recoverer is not None
    shown = [repr(core), repr(recoverer.login), str(recoverer.login), repr(vars(core))]
    reconnect_login(core)
    shown.append(caplog.text)
    assert recoverer.login.is_set
    assert not [text for text in shown if secret in text]
