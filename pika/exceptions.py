"""Every error pika raises for protocol or connection trouble.

All of them live in one tree rooted at :class:`AMQPError`, so ``except AMQPError`` catches any
failure that comes from the peer, the wire or the state of a connection/channel. The names and
constructor shapes follow pika 1.x so existing ``except`` clauses keep working.

Broker-initiated closes carry an AMQP reply code; :data:`REPLY_CODE_TO_EXCEPTION` records, for
each code the specification defines, whether it closes the whole connection (a "hard" error) or
only the channel (a "soft" error), and which exception class represents it.
:func:`connection_closed_error` and :func:`channel_closed_error` build those exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    'REPLY_CODE_NAMES',
    'REPLY_CODE_TO_EXCEPTION',
    'AMQPChannelError',
    'AMQPConnectionError',
    'AMQPError',
    'AMQPHeartbeatTimeout',
    'AuthenticationError',
    'BodyTooLongError',
    'ChannelClosed',
    'ChannelClosedByBroker',
    'ChannelClosedByClient',
    'ChannelError',
    'ChannelWrongStateError',
    'ConnectionBlockedTimeout',
    'ConnectionClosed',
    'ConnectionClosedByBroker',
    'ConnectionClosedByClient',
    'ConnectionOpenAborted',
    'ConnectionWrongStateError',
    'ConsumerCancelled',
    'DuplicateConsumerTag',
    'DuplicateGetOkCallback',
    'FrameTooLargeError',
    'IncompatibleProtocolError',
    'InvalidChannelNumber',
    'InvalidFieldTypeException',
    'InvalidFrameError',
    'InvalidMaximumFrameSize',
    'InvalidMinimumFrameSize',
    'MethodNotImplemented',
    'NackError',
    'NoFreeChannels',
    'OperationTimeout',
    'ProbableAccessDeniedError',
    'ProbableAuthenticationError',
    'ProtocolSyntaxError',
    'ProtocolVersionMismatch',
    'ReentrancyError',
    'ShortStringTooLong',
    'StreamLostError',
    'UnexpectedFrameError',
    'UnroutableError',
    'UnsupportedAMQPFieldException',
    'channel_closed_error',
    'connection_closed_error',
    'is_hard_error',
]


class AMQPError(Exception):
    """Root of every error pika raises for protocol, connection or channel problems."""

    def __repr__(self) -> str:
        return _describe(self)

    def __str__(self) -> str:
        return _describe(self)


def _describe(exc: BaseException) -> str:
    """Render ``ClassName: details`` without leaking the exception's repr of ``args``."""
    name = type(exc).__name__
    if not exc.args:
        return name
    if len(exc.args) == 1:
        return f'{name}: {exc.args[0]}'
    return f'{name}: {", ".join(str(arg) for arg in exc.args)}'


# --------------------------------------------------------------------------- connection level


class AMQPConnectionError(AMQPError):
    """The connection could not be opened or has failed."""


class ConnectionOpenAborted(AMQPConnectionError):
    """The client aborted opening the connection (``close()`` during the handshake)."""


class StreamLostError(AMQPConnectionError):
    """The TCP/TLS stream ended or failed unexpectedly."""


class IncompatibleProtocolError(AMQPConnectionError):
    """The peer does not speak AMQP 0-9-1 (it answered with another protocol header)."""


class AuthenticationError(AMQPConnectionError):
    """The broker offered no SASL mechanism our credentials can use."""


class ProbableAuthenticationError(AMQPConnectionError):
    """The broker dropped the connection right after our credentials: bad user or password."""


class ProbableAccessDeniedError(AMQPConnectionError):
    """The broker dropped the connection at Connection.Open: no access to the virtual host."""


class NoFreeChannels(AMQPConnectionError):
    """Every channel number up to the negotiated channel_max is in use."""


class ConnectionWrongStateError(AMQPConnectionError):
    """The requested operation is not allowed in the connection's current state."""


class _ReplyCarrier(Exception):
    """Mixin of the "closed" errors: the AMQP reply code and text, kept in ``args``.

    :param reply_code: AMQP reply code (e.g. 320, 404) or a client-side code
    :param reply_text: human readable reason
    """

    def __init__(self, reply_code: int, reply_text: str) -> None:
        super().__init__(int(reply_code), str(reply_text))

    @property
    def reply_code(self) -> int:
        """The AMQP reply code (200 is a normal shutdown)."""
        return int(self.args[0])

    @property
    def reply_text(self) -> str:
        """The reason given by whoever closed the connection or channel."""
        return str(self.args[1])

    def __repr__(self) -> str:
        return f'{type(self).__name__}: ({self.reply_code}) "{self.reply_text}"'

    def __str__(self) -> str:
        return self.__repr__()


class ConnectionClosed(_ReplyCarrier, AMQPConnectionError):
    """The connection was closed; carries the AMQP reply code and text."""


class ConnectionClosedByBroker(ConnectionClosed):
    """The broker sent Connection.Close."""


class ConnectionClosedByClient(ConnectionClosed):
    """The connection was closed at our own request."""


class ConnectionBlockedTimeout(AMQPConnectionError):
    """The broker kept the connection blocked longer than ``blocked_connection_timeout``."""


class AMQPHeartbeatTimeout(AMQPConnectionError):
    """Nothing arrived from the broker within the negotiated heartbeat allowance."""


# --------------------------------------------------------------------------- channel level


class AMQPChannelError(AMQPError):
    """A channel failed or was used wrongly."""


class ChannelWrongStateError(AMQPChannelError):
    """The requested operation is not allowed in the channel's current state."""


class ChannelClosed(_ReplyCarrier, AMQPChannelError):
    """The channel was closed; carries the AMQP reply code and text."""


class ChannelClosedByBroker(ChannelClosed):
    """The broker sent Channel.Close."""


class ChannelClosedByClient(ChannelClosed):
    """The channel was closed at our own request."""


class DuplicateConsumerTag(AMQPChannelError):
    """``basic_consume`` was given a consumer tag already in use on this channel."""


class ConsumerCancelled(AMQPChannelError):
    """The broker cancelled the consumer (Basic.Cancel), e.g. because its queue was deleted."""


class _ReturnedMessagesError(AMQPChannelError):
    """Base for errors that carry the messages the broker returned or refused."""

    def __init__(self, messages: Sequence[Any]) -> None:
        super().__init__(messages)
        self.messages = messages

    def __repr__(self) -> str:
        return f'{type(self).__name__}: {len(self.messages)} {self._what}'

    def __str__(self) -> str:
        return self.__repr__()

    _what = 'messages'


class UnroutableError(_ReturnedMessagesError):
    """Mandatory messages the broker returned (Basic.Return) because no queue took them.

    :param messages: the returned messages, in the order the broker sent them
    """

    _what = 'unroutable message(s) returned by the broker'


class NackError(_ReturnedMessagesError):
    """Messages the broker refused (Basic.Nack) in publisher-confirm mode.

    :param messages: the refused messages
    """

    _what = 'message(s) negatively acknowledged by the broker'


# --------------------------------------------------------------------------- protocol level


class InvalidChannelNumber(AMQPError):
    """A channel number outside 1..channel_max was requested."""


class ProtocolSyntaxError(AMQPError):
    """The bytes on the wire do not follow the AMQP 0-9-1 grammar."""


class UnexpectedFrameError(ProtocolSyntaxError):
    """A well-formed frame arrived where the protocol does not allow it."""


class ProtocolVersionMismatch(ProtocolSyntaxError):
    """The peer announced a protocol version other than 0-9-1."""


class BodyTooLongError(ProtocolSyntaxError):
    """Content body frames carried more bytes than the content header announced."""


class InvalidFrameError(ProtocolSyntaxError):
    """A frame is malformed: bad frame-end octet, unknown type, truncated payload..."""


class FrameTooLargeError(InvalidFrameError):
    """A frame declares a payload bigger than the negotiated frame_max."""


class InvalidFieldTypeException(ProtocolSyntaxError):
    """A field table holds a value type marker we do not know."""


class UnsupportedAMQPFieldException(ProtocolSyntaxError):
    """A Python value cannot be encoded as an AMQP field value."""


class MethodNotImplemented(AMQPError):
    """The peer sent a method (class id, method id) that is not part of the specification."""


class ChannelError(AMQPError):
    """Generic misuse of a channel (kept for pika compatibility)."""


class ReentrancyError(AMQPError):
    """A blocking call was made from inside a callback that does not allow it."""


class ShortStringTooLong(AMQPError, ValueError):
    """A short string (exchange, queue, routing key...) exceeds 255 bytes once UTF-8 encoded."""


class DuplicateGetOkCallback(ChannelError):
    """``basic_get`` was called while another ``basic_get`` is still waiting for its reply."""


class InvalidMinimumFrameSize(ProtocolSyntaxError):
    """frame_max below the AMQP minimum of 4096 bytes."""


class InvalidMaximumFrameSize(ProtocolSyntaxError):
    """frame_max above what AMQP allows (2**31 - 1 bytes)."""


class OperationTimeout(AMQPError, TimeoutError):
    """A bounded wait (e.g. a blocking call with a timeout) expired before the reply arrived."""


# --------------------------------------------------------------------------- reply codes

#: AMQP 0-9-1 reply code -> constant name from the specification.
REPLY_CODE_NAMES: dict[int, str] = {
    311: 'CONTENT_TOO_LARGE',
    312: 'NO_ROUTE',
    313: 'NO_CONSUMERS',
    320: 'CONNECTION_FORCED',
    402: 'INVALID_PATH',
    403: 'ACCESS_REFUSED',
    404: 'NOT_FOUND',
    405: 'RESOURCE_LOCKED',
    406: 'PRECONDITION_FAILED',
    501: 'FRAME_ERROR',
    502: 'SYNTAX_ERROR',
    503: 'COMMAND_INVALID',
    504: 'CHANNEL_ERROR',
    505: 'UNEXPECTED_FRAME',
    506: 'RESOURCE_ERROR',
    530: 'NOT_ALLOWED',
    540: 'NOT_IMPLEMENTED',
    541: 'INTERNAL_ERROR',
}

# Classes per the specification: "hard-error" codes close the connection, "soft-error" ones
# only the channel they happened on.
_HARD_ERRORS = frozenset({320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541})

#: reply code -> (is_connection_level, exception class raised for a broker close with that code)
REPLY_CODE_TO_EXCEPTION: dict[int, tuple[bool, type[AMQPError]]] = {
    code: (
        (True, ConnectionClosedByBroker) if code in _HARD_ERRORS else (False, ChannelClosedByBroker)
    )
    for code in REPLY_CODE_NAMES
}


def is_hard_error(reply_code: int) -> bool:
    """Return True when the specification says ``reply_code`` closes the whole connection.

    Unknown codes count as hard: if we cannot classify an error, the safe answer is to give up
    the connection rather than keep using a channel in an unknown state.
    """
    entry = REPLY_CODE_TO_EXCEPTION.get(reply_code)
    return True if entry is None else entry[0]


def connection_closed_error(reply_code: int, reply_text: str) -> ConnectionClosedByBroker:
    """Build the exception for a broker Connection.Close.

    :param reply_code: the reply code from Connection.Close
    :param reply_text: the reply text from Connection.Close
    """
    return ConnectionClosedByBroker(reply_code, reply_text)


def channel_closed_error(reply_code: int, reply_text: str) -> ChannelClosedByBroker:
    """Build the exception for a broker Channel.Close.

    :param reply_code: the reply code from Channel.Close
    :param reply_text: the reply text from Channel.Close
    """
    return ChannelClosedByBroker(reply_code, reply_text)
