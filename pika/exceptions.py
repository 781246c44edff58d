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

from typing import TYPE_CHECKING, Any, Callable, ClassVar

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
    'ConnectionRecovering',
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
    'PublishOutcomeUnknown',
    'ReentrancyError',
    'ShortStringTooLong',
    'StreamLostError',
    'TransactionInterrupted',
    'UnexpectedFrameError',
    'UnroutableError',
    'UnsupportedAMQPFieldException',
    'channel_closed_error',
    'connection_closed_error',
    'is_hard_error',
]


class AMQPError(Exception):
    """Root of every error pika raises for protocol, connection or channel problems.

    ``str()`` is Python's (the argument, or the tuple of arguments) and ``repr()`` is
    ``ClassName: <detail>``, both as pika 1.x prints them. A subclass supplies its detail in
    :meth:`_detail`; a detail that cannot be formatted from the arguments given (pika's own
    ``repr`` raises then) falls back to the arguments tuple, so ``repr`` never raises.
    """

    def __repr__(self) -> str:
        try:
            detail = self._detail()
        except (IndexError, TypeError, ValueError):
            detail = repr(self.args)
        return f'{type(self).__name__}: {detail}'

    def _detail(self) -> str:
        return f'An unspecified AMQP error has occurred; {self.args!r}'


def _whole(number: Any) -> int:
    """``number`` as a whole number, as ``%i`` reads it (``TypeError`` for a non-number)."""
    if not isinstance(number, (int, float)):
        raise TypeError(f'expected a number, got {type(number).__name__}')
    return int(number)


def _first(exc: BaseException) -> Any:
    """The first constructor argument (``IndexError`` without one, caught by ``__repr__``)."""
    return exc.args[0]


# --------------------------------------------------------------------------- connection level


class AMQPConnectionError(AMQPError):
    """The connection could not be opened or has failed."""

    def _detail(self) -> str:
        if len(self.args) == 2:
            return f'({self.args[0]}) {self.args[1]}'
        return repr(self.args)


class ConnectionOpenAborted(AMQPConnectionError):
    """The client aborted opening the connection (``close()`` during the handshake)."""


class StreamLostError(AMQPConnectionError):
    """The TCP/TLS stream ended or failed unexpectedly."""


class IncompatibleProtocolError(AMQPConnectionError):
    """The peer does not speak AMQP 0-9-1 (it answered with another protocol header)."""

    def _detail(self) -> str:
        return f'The protocol returned by the server is not supported: {self.args!r}'


class AuthenticationError(AMQPConnectionError):
    """The broker offered no SASL mechanism our credentials can use.

    :param mechanism: the mechanism the credentials need (e.g. ``'PLAIN'``)
    """

    def _detail(self) -> str:
        return (
            f'Server and client could not negotiate use of the {_first(self)} '
            'authentication mechanism'
        )


class ProbableAuthenticationError(AMQPConnectionError):
    """The broker dropped the connection right after our credentials: bad user or password."""

    def _detail(self) -> str:
        return (
            'Client was disconnected at a connection stage indicating a probable '
            f'authentication error: {self.args!r}'
        )


class ProbableAccessDeniedError(AMQPConnectionError):
    """The broker dropped the connection at Connection.Open: no access to the virtual host."""

    def _detail(self) -> str:
        return (
            'Client was disconnected at a connection stage indicating a probable denial of '
            f'access to the specified virtual host: {self.args!r}'
        )


class NoFreeChannels(AMQPConnectionError):
    """Every channel number up to the negotiated channel_max is in use."""

    def _detail(self) -> str:
        return 'The connection has run out of free channels'


class ConnectionWrongStateError(AMQPConnectionError):
    """The requested operation is not allowed in the connection's current state."""

    def _detail(self) -> str:
        if self.args:
            return super()._detail()
        return 'The connection is in wrong state for the requested operation.'


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

    def _detail(self) -> str:
        return f'({self.reply_code}) {self.reply_text!r}'


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


class ConnectionRecovering(AMQPConnectionError):
    """The connection was lost and is being recovered (``ConnectionParameters(recovery=...)``):
    the call could not reach the broker within its timeout. The connection and its channels
    stay usable; try again once it is back (``on_recovered``), or close it."""


class PublishOutcomeUnknown(AMQPConnectionError):
    """A publish in confirm mode was sent, then the connection was lost before the broker
    confirmed it, and no confirm of it (or of its republished copy) came in time: the broker
    may or may not have the message. Recovery republishes such messages (at-least-once);
    this error says that its caller stopped waiting, or that recovery gave up."""


# --------------------------------------------------------------------------- channel level


class AMQPChannelError(AMQPError):
    """A channel failed or was used wrongly."""

    def _detail(self) -> str:
        return repr(self.args)


class ChannelWrongStateError(AMQPChannelError):
    """The requested operation is not allowed in the channel's current state."""


class ChannelClosed(_ReplyCarrier, AMQPChannelError):
    """The channel was closed; carries the AMQP reply code and text."""


class ChannelClosedByBroker(ChannelClosed):
    """The broker sent Channel.Close."""


class ChannelClosedByClient(ChannelClosed):
    """The channel was closed at our own request."""


class TransactionInterrupted(AMQPChannelError):
    """``tx_commit`` on a channel whose transaction had work in it when the connection was
    lost (``ConnectionParameters(recovery=...)``): the broker rolled that work back, so
    committing now would commit only what came after the recovery and report success. Roll
    back (``tx_rollback``) and do the transaction again. Raised once per lost transaction."""


class DuplicateConsumerTag(AMQPChannelError):
    """``basic_consume`` was given a consumer tag already in use on this channel.

    :param consumer_tag: the tag
    """

    def _detail(self) -> str:
        return f'The consumer tag specified already exists for this channel: {_first(self)}'


class ConsumerCancelled(AMQPChannelError):
    """The broker cancelled the consumer (Basic.Cancel), e.g. because its queue was deleted."""

    def _detail(self) -> str:
        return 'Server cancelled consumer'


class _ReturnedMessagesError(AMQPChannelError):
    """Base for errors that carry the messages the broker returned or refused.

    ``args`` holds the one-line summary (as in pika 1.x), ``messages`` the messages.
    """

    def __init__(self, messages: Sequence[Any]) -> None:
        super().__init__(self._summary.format(len(messages)))
        self.messages = messages

    _summary = '{} messages'

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from the messages: the summary in args is derived from them
        return (type(self), (self.messages,), self.__dict__)

    def _detail(self) -> str:
        # pika 1.x words the repr of both classes alike.
        return f'{len(self.messages)} unroutable messages returned by broker'


class UnroutableError(_ReturnedMessagesError):
    """Mandatory messages the broker returned (Basic.Return) because no queue took them.

    :param messages: the returned messages, in the order the broker sent them
    """

    _summary = '{} unroutable message(s) returned'


class NackError(_ReturnedMessagesError):
    """Messages the broker refused (Basic.Nack) in publisher-confirm mode.

    :param messages: the refused messages
    """

    _summary = '{} message(s) NACKed'


# --------------------------------------------------------------------------- protocol level


class InvalidChannelNumber(AMQPError):
    """A channel number outside 1..channel_max was requested."""

    def _detail(self) -> str:
        return f'An invalid channel number has been specified: {_first(self)}'


class ProtocolSyntaxError(AMQPError):
    """The bytes on the wire do not follow the AMQP 0-9-1 grammar."""

    def _detail(self) -> str:
        return 'An unspecified protocol syntax error occurred'


class UnexpectedFrameError(ProtocolSyntaxError):
    """A well-formed frame arrived where the protocol does not allow it."""

    def _detail(self) -> str:
        return f'Received a frame out of sequence: {_first(self)!r}'


class ProtocolVersionMismatch(ProtocolSyntaxError):
    """The peer announced a protocol version other than 0-9-1."""

    def _detail(self) -> str:
        return f'Protocol versions did not match: {self.args[0]!r} vs {self.args[1]!r}'


class BodyTooLongError(ProtocolSyntaxError):
    """Content body frames carried more bytes than the content header announced.

    :param received: body bytes received
    :param expected: body size the content header announced
    """

    def _detail(self) -> str:
        received, expected = _whole(self.args[0]), _whole(self.args[1])
        return (
            'Received too many bytes for a message delivery: '
            f'Received {received}, expected {expected}'
        )


class InvalidFrameError(ProtocolSyntaxError):
    """A frame is malformed: bad frame-end octet, unknown type, truncated payload..."""

    def _detail(self) -> str:
        return f'Invalid frame received: {_first(self)!r}'


class FrameTooLargeError(InvalidFrameError):
    """A frame declares a payload bigger than the negotiated frame_max."""


class InvalidFieldTypeException(ProtocolSyntaxError):
    """A field table holds a value type marker we do not know."""

    def _detail(self) -> str:
        return f'Unsupported field kind {_first(self)}'


class UnsupportedAMQPFieldException(ProtocolSyntaxError):
    """A Python value cannot be encoded as an AMQP field value.

    pika 1.x builds it as ``(pieces, value)`` and its repr names ``type(value)``; ours is
    built from a message (the repr then shows the arguments).
    """

    def _detail(self) -> str:
        return f'Unsupported field kind {type(self.args[1])}'


class MethodNotImplemented(AMQPError):
    """The peer sent a method (class id, method id) that is not part of the specification."""


class ChannelError(AMQPError):
    """Generic misuse of a channel (kept for pika compatibility)."""

    def _detail(self) -> str:
        return 'An unspecified error occurred with the Channel'


class ReentrancyError(AMQPError):
    """A blocking call was made from inside a callback that does not allow it."""

    __repr__: ClassVar[Callable[[BaseException], str]] = (
        Exception.__repr__
    )  # pika 1.x's ReentrancyError prints as ReentrancyError('...')


class ShortStringTooLong(AMQPError, ValueError):
    """A short string (exchange, queue, routing key...) exceeds 255 bytes once UTF-8 encoded."""

    def _detail(self) -> str:
        return f'AMQP Short String can contain up to 255 bytes: {_first(self)}'


class DuplicateGetOkCallback(ChannelError):
    """``basic_get`` was called while another ``basic_get`` is still waiting for its reply."""

    def _detail(self) -> str:
        return (
            'basic_get can only be called again after the callback for the previous basic_get '
            'is executed'
        )


class _MessageDetail:
    """Mixin of our own classes (not in pika 1.x): the repr shows the message itself."""

    args: tuple[Any, ...]

    def _detail(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else repr(self.args)


class InvalidMinimumFrameSize(_MessageDetail, ProtocolSyntaxError):
    """frame_max below the AMQP minimum of 4096 bytes."""


class InvalidMaximumFrameSize(_MessageDetail, ProtocolSyntaxError):
    """frame_max above what AMQP allows (2**31 - 1 bytes)."""


class OperationTimeout(_MessageDetail, AMQPError, TimeoutError):
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
