"""The exception tree: pika 1.x names and hierarchy, reply codes, readable messages."""

from __future__ import annotations

import pickle

import pytest

from pika import exceptions as exc

PIKA_NAMES = [
    'AMQPConnectionError',
    'ConnectionOpenAborted',
    'StreamLostError',
    'IncompatibleProtocolError',
    'AuthenticationError',
    'ProbableAuthenticationError',
    'ProbableAccessDeniedError',
    'NoFreeChannels',
    'ConnectionWrongStateError',
    'ConnectionClosed',
    'ConnectionClosedByBroker',
    'ConnectionClosedByClient',
    'ConnectionBlockedTimeout',
    'AMQPHeartbeatTimeout',
    'AMQPChannelError',
    'ChannelWrongStateError',
    'ChannelClosed',
    'ChannelClosedByBroker',
    'ChannelClosedByClient',
    'DuplicateConsumerTag',
    'ConsumerCancelled',
    'UnroutableError',
    'NackError',
    'InvalidChannelNumber',
    'ProtocolSyntaxError',
    'UnexpectedFrameError',
    'ProtocolVersionMismatch',
    'BodyTooLongError',
    'InvalidFrameError',
    'InvalidFieldTypeException',
    'UnsupportedAMQPFieldException',
    'MethodNotImplemented',
    'ChannelError',
    'ReentrancyError',
    'ShortStringTooLong',
    'DuplicateGetOkCallback',
    'InvalidMinimumFrameSize',
    'InvalidMaximumFrameSize',
    'OperationTimeout',
    'FrameTooLargeError',
]


@pytest.mark.parametrize('name', PIKA_NAMES)
def test_every_error_is_an_amqp_error(name: str) -> None:
    klass = getattr(exc, name)
    assert issubclass(klass, exc.AMQPError)
    assert name in exc.__all__


@pytest.mark.parametrize(
    ('child', 'parent'),
    [
        (exc.ConnectionClosedByBroker, exc.ConnectionClosed),
        (exc.ConnectionClosedByClient, exc.ConnectionClosed),
        (exc.ConnectionClosed, exc.AMQPConnectionError),
        (exc.ProbableAuthenticationError, exc.AMQPConnectionError),
        (exc.ProbableAccessDeniedError, exc.AMQPConnectionError),
        (exc.StreamLostError, exc.AMQPConnectionError),
        (exc.AMQPHeartbeatTimeout, exc.AMQPConnectionError),
        (exc.ChannelClosedByBroker, exc.ChannelClosed),
        (exc.ChannelClosedByClient, exc.ChannelClosed),
        (exc.ChannelClosed, exc.AMQPChannelError),
        (exc.UnroutableError, exc.AMQPChannelError),
        (exc.NackError, exc.AMQPChannelError),
        (exc.InvalidFrameError, exc.ProtocolSyntaxError),
        (exc.FrameTooLargeError, exc.InvalidFrameError),
        (exc.DuplicateGetOkCallback, exc.ChannelError),
        (exc.OperationTimeout, TimeoutError),
        (exc.ShortStringTooLong, ValueError),
    ],
)
def test_hierarchy_matches_pika(child: type, parent: type) -> None:
    assert issubclass(child, parent)


def test_channel_and_connection_branches_are_disjoint() -> None:
    assert not issubclass(exc.ChannelClosed, exc.AMQPConnectionError)
    assert not issubclass(exc.ConnectionClosed, exc.AMQPChannelError)


@pytest.mark.parametrize('klass', [exc.ConnectionClosedByBroker, exc.ChannelClosedByClient])
def test_closed_errors_carry_reply_code_and_text(klass: type[exc.ChannelClosed]) -> None:
    error = klass('404', "NOT_FOUND - no queue 'x'")
    assert error.reply_code == 404
    assert error.reply_text == "NOT_FOUND - no queue 'x'"
    assert error.args == (404, "NOT_FOUND - no queue 'x'")
    assert repr(error) == f'{klass.__name__}: (404) "NOT_FOUND - no queue \'x\'"'
    assert str(error) == '(404, "NOT_FOUND - no queue \'x\'")'  # pika 1.x: str of the args


def test_closed_errors_survive_pickle() -> None:
    error = exc.ConnectionClosedByBroker(320, 'CONNECTION_FORCED - shutdown')
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is exc.ConnectionClosedByBroker
    assert (clone.reply_code, clone.reply_text) == (320, 'CONNECTION_FORCED - shutdown')


def test_returned_message_errors_keep_messages() -> None:
    messages = ['m1', 'm2']
    error = exc.UnroutableError(messages)
    assert error.messages is messages
    assert repr(error).startswith('UnroutableError: 2 ')
    assert exc.NackError(['x']).messages == ['x']
    clone = pickle.loads(pickle.dumps(error))
    assert clone.messages == messages and str(clone) == str(error)


def test_plain_error_message_is_readable() -> None:
    assert str(exc.StreamLostError('Transport indicated EOF')) == 'Transport indicated EOF'
    assert repr(exc.StreamLostError('Transport indicated EOF')) == (
        "StreamLostError: ('Transport indicated EOF',)"
    )


@pytest.mark.parametrize(
    ('code', 'hard'),
    [
        (311, False),
        (312, False),
        (313, False),
        (320, True),
        (402, True),
        (403, False),
        (404, False),
        (405, False),
        (406, False),
        (501, True),
        (502, True),
        (503, True),
        (504, True),
        (505, True),
        (506, True),
        (530, True),
        (540, True),
        (541, True),
    ],
)
def test_reply_code_table(code: int, hard: bool) -> None:
    is_connection_level, klass = exc.REPLY_CODE_TO_EXCEPTION[code]
    assert is_connection_level is hard
    assert exc.is_hard_error(code) is hard
    expected = exc.ConnectionClosedByBroker if hard else exc.ChannelClosedByBroker
    assert klass is expected
    assert code in exc.REPLY_CODE_NAMES


def test_unknown_reply_code_counts_as_hard() -> None:
    assert exc.is_hard_error(999) is True


def test_close_error_builders() -> None:
    conn = exc.connection_closed_error(320, 'CONNECTION_FORCED')
    chan = exc.channel_closed_error(406, 'PRECONDITION_FAILED')
    assert type(conn) is exc.ConnectionClosedByBroker and conn.reply_code == 320
    assert type(chan) is exc.ChannelClosedByBroker and chan.reply_text == 'PRECONDITION_FAILED'


def test_table_agrees_with_vendored_spec() -> None:
    """The hard/soft split must follow the error classes of the vendored AMQP spec."""
    import json
    from pathlib import Path

    spec_path = Path(__file__).resolve().parents[3] / 'codegen' / 'amqp-rabbitmq-0.9.1.json'
    constants = json.loads(spec_path.read_text())['constants']
    classified = {c['value']: c['class'] for c in constants if 'class' in c}
    assert set(classified) == set(exc.REPLY_CODE_TO_EXCEPTION)
    for code, klass in classified.items():
        assert exc.is_hard_error(code) is (klass == 'hard-error'), code
