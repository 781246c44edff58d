"""Connection and channel state machines: every state transition lives in this file.

House rules (h11 style):

* Rule 1: ``ConnectionCore`` and ``ChannelCore`` never assign a state directly; they call
  :func:`next_connection_state` / :func:`next_channel_state` with an input, and those look the
  pair up in the tables below. A pair that is not in a table is a bug in the core and raises
  :class:`TransitionError` (it never reaches the user as something else).
* Rule 2: what the *peer* may send in each state is also declared here
  (:data:`CONNECTION_INBOUND`, :data:`CHANNEL_INBOUND`). A method the table does not allow is a
  protocol violation: the core closes the connection with 503 COMMAND_INVALID; content frames
  where no content is expected give 505 UNEXPECTED_FRAME; frames for an unknown channel give
  504 CHANNEL_ERROR; undecodable frames give 501 FRAME_ERROR (``reply codes`` below).
* Rule 3: failures (protocol violation, stream lost, heartbeat timeout, abort) are the ``FAIL``
  input, legal from every live state, and lead straight to ``CLOSED``.

Connection::

    INIT --start()--> PROTOCOL_HEADER_SENT --Start/StartOk--> START_OK_SENT
      --Tune/TuneOk+Open--> OPEN_SENT --OpenOk--> OPEN --close()--> CLOSING
      --all channels closed/Connection.Close--> CLOSE_SENT --CloseOk--> CLOSED
    any live state --broker Connection.Close--> CLOSED (we answer CloseOk)
    handshake states --close()--> CLOSED (aborted)

  With recovery on (pika/_core/recoverer.py), a loss of an opened connection is an interruption:
    OPEN or handshake states --INTERRUPT--> RECOVERING --start() on a new socket-->
      PROTOCOL_HEADER_SENT ... OPEN (the replay runs while channels are RECOVERING)
    RECOVERING --FAIL (give_up)--> CLOSED

Channel::

    OPENING --OpenOk--> OPEN --close()--> CANCELLING --consumers gone/Channel.Close--> CLOSING
      --CloseOk--> CLOSED
    OPENING --close()--> CLOSING
    OPENING/OPEN/CANCELLING --broker Channel.Close--> CLOSED (we answer CloseOk)
    CLOSING --broker Channel.Close--> CLOSING (we answer CloseOk; finished at our CloseOk)

  With recovery on, the connection's interruption suspends the channel until the replay ends:
    OPENING/OPEN --SUSPEND--> RECOVERING (application calls raise ConnectionRecovering)
    RECOVERING --OpenOk / broker Channel.Close (a refused replay step)--> RECOVERING
    RECOVERING --RESUME--> OPEN    RECOVERING --close()--> CLOSING (the replay's own channel)
"""

from __future__ import annotations

import enum
from typing import Callable, ClassVar

from pika import exceptions

__all__ = [
    'CHANNEL_ERROR',
    'CHANNEL_INBOUND',
    'COMMAND_INVALID',
    'CONNECTION_INBOUND',
    'FRAME_ERROR',
    'UNEXPECTED_FRAME',
    'ChannelInput',
    'ChannelState',
    'ConnectionInput',
    'ConnectionState',
    'TransitionError',
    'next_channel_state',
    'next_connection_state',
]

# AMQP reply codes the core uses when it closes the connection because of the peer.
FRAME_ERROR = 501
COMMAND_INVALID = 503
CHANNEL_ERROR = 504
UNEXPECTED_FRAME = 505


class TransitionError(exceptions.AMQPError):
    """An input arrived in a state where the table defines no transition (a core bug)."""


class ConnectionState(enum.Enum):
    """Lifecycle of the AMQP connection (channel 0)."""

    # Members are singletons compared by identity, so hash them by identity too: object's C
    # hash instead of Enum.__hash__ (a Python call), for the lookups keyed by state (or by a
    # (state, input) pair) that run on every inbound method.
    __hash__: ClassVar[Callable[[object], int]] = object.__hash__

    INIT = 'INIT'
    PROTOCOL_HEADER_SENT = 'PROTOCOL_HEADER_SENT'
    START_OK_SENT = 'START_OK_SENT'
    OPEN_SENT = 'OPEN_SENT'
    OPEN = 'OPEN'
    CLOSING = 'CLOSING'
    CLOSE_SENT = 'CLOSE_SENT'
    CLOSED = 'CLOSED'
    #: the connection was lost and is being recovered (no socket, or not reopened yet)
    RECOVERING = 'RECOVERING'


class ConnectionInput(enum.Enum):
    """Things that move the connection state machine."""

    __hash__: ClassVar[Callable[[object], int]] = object.__hash__  # see ConnectionState

    START = 'start()'
    RECV_START = 'Connection.Start'
    RECV_TUNE = 'Connection.Tune'
    RECV_OPEN_OK = 'Connection.OpenOk'
    CLOSE = 'close()'
    CHANNELS_CLOSED = 'channels closed'
    RECV_CLOSE = 'Connection.Close'
    RECV_CLOSE_OK = 'Connection.CloseOk'
    FAIL = 'failure'
    INTERRUPT = 'interrupted (recovery on)'


_CS = ConnectionState
_CI = ConnectionInput

HANDSHAKE_STATES = frozenset({_CS.PROTOCOL_HEADER_SENT, _CS.START_OK_SENT, _CS.OPEN_SENT})
_LIVE = (*HANDSHAKE_STATES, _CS.OPEN, _CS.CLOSING, _CS.CLOSE_SENT)

CONNECTION_TRANSITIONS: dict[tuple[ConnectionState, ConnectionInput], ConnectionState] = {
    (_CS.INIT, _CI.START): _CS.PROTOCOL_HEADER_SENT,
    (_CS.PROTOCOL_HEADER_SENT, _CI.RECV_START): _CS.START_OK_SENT,
    (_CS.START_OK_SENT, _CI.RECV_TUNE): _CS.OPEN_SENT,
    (_CS.OPEN_SENT, _CI.RECV_OPEN_OK): _CS.OPEN,
    (_CS.OPEN, _CI.CLOSE): _CS.CLOSING,
    (_CS.CLOSING, _CI.CHANNELS_CLOSED): _CS.CLOSE_SENT,
    (_CS.CLOSE_SENT, _CI.RECV_CLOSE_OK): _CS.CLOSED,
    (_CS.INIT, _CI.CLOSE): _CS.CLOSED,
    (_CS.INIT, _CI.FAIL): _CS.CLOSED,
    **{(state, _CI.CLOSE): _CS.CLOSED for state in HANDSHAKE_STATES},
    **{(state, _CI.RECV_CLOSE): _CS.CLOSED for state in _LIVE},
    **{(state, _CI.FAIL): _CS.CLOSED for state in _LIVE},
    **{(state, _CI.INTERRUPT): _CS.RECOVERING for state in (*HANDSHAKE_STATES, _CS.OPEN)},
    (_CS.RECOVERING, _CI.START): _CS.PROTOCOL_HEADER_SENT,
    (_CS.RECOVERING, _CI.FAIL): _CS.CLOSED,
}

_AFTER_OPEN = {
    'Connection.Close': _CI.RECV_CLOSE,
    'Connection.Blocked': None,
    'Connection.Unblocked': None,
    'Connection.UpdateSecretOk': None,
}

#: state -> {method NAME the broker may send on channel 0: input it feeds (None: no change)}.
#: CLOSE_SENT additionally ignores every other frame (AMQP: discard until Close/CloseOk).
CONNECTION_INBOUND: dict[ConnectionState, dict[str, ConnectionInput | None]] = {
    _CS.INIT: {},
    _CS.PROTOCOL_HEADER_SENT: {
        'Connection.Start': _CI.RECV_START,
        'Connection.Close': _CI.RECV_CLOSE,
    },
    _CS.START_OK_SENT: {'Connection.Tune': _CI.RECV_TUNE, 'Connection.Close': _CI.RECV_CLOSE},
    _CS.OPEN_SENT: {'Connection.OpenOk': _CI.RECV_OPEN_OK, 'Connection.Close': _CI.RECV_CLOSE},
    _CS.OPEN: _AFTER_OPEN,
    _CS.CLOSING: _AFTER_OPEN,
    _CS.CLOSE_SENT: {'Connection.Close': _CI.RECV_CLOSE, 'Connection.CloseOk': _CI.RECV_CLOSE_OK},
    _CS.CLOSED: {},
    _CS.RECOVERING: {},
}


def next_connection_state(state: ConnectionState, event: ConnectionInput) -> ConnectionState:
    """Return the state after ``event`` in ``state``.

    :raises TransitionError: the pair is not in :data:`CONNECTION_TRANSITIONS`
    """
    try:
        return CONNECTION_TRANSITIONS[state, event]
    except KeyError:
        raise TransitionError(
            f'connection: no transition for {event.value} in state {state.value}'
        ) from None


class ChannelState(enum.Enum):
    """Lifecycle of one channel."""

    __hash__: ClassVar[Callable[[object], int]] = object.__hash__  # see ConnectionState

    OPENING = 'OPENING'
    OPEN = 'OPEN'
    CANCELLING = 'CANCELLING'
    CLOSING = 'CLOSING'
    CLOSED = 'CLOSED'
    #: the connection is being recovered; the channel is reopened by the replay
    RECOVERING = 'RECOVERING'


class ChannelInput(enum.Enum):
    """Things that move a channel state machine."""

    __hash__: ClassVar[Callable[[object], int]] = object.__hash__  # see ConnectionState

    RECV_OPEN_OK = 'Channel.OpenOk'
    CLOSE = 'close()'
    CONSUMERS_CANCELLED = 'consumers cancelled'
    RECV_CLOSE = 'Channel.Close'
    RECV_CLOSE_OK = 'Channel.CloseOk'
    FAIL = 'connection gone'
    SUSPEND = 'connection interrupted'
    RESUME = 'connection recovered'


_HS = ChannelState
_HI = ChannelInput

CHANNEL_TRANSITIONS: dict[tuple[ChannelState, ChannelInput], ChannelState] = {
    (_HS.OPENING, _HI.RECV_OPEN_OK): _HS.OPEN,
    (_HS.OPENING, _HI.CLOSE): _HS.CLOSING,
    (_HS.OPEN, _HI.CLOSE): _HS.CANCELLING,
    (_HS.CANCELLING, _HI.CONSUMERS_CANCELLED): _HS.CLOSING,
    (_HS.CLOSING, _HI.RECV_CLOSE_OK): _HS.CLOSED,
    (_HS.OPENING, _HI.RECV_CLOSE): _HS.CLOSED,
    (_HS.OPEN, _HI.RECV_CLOSE): _HS.CLOSED,
    (_HS.CANCELLING, _HI.RECV_CLOSE): _HS.CLOSED,
    (_HS.CLOSING, _HI.RECV_CLOSE): _HS.CLOSING,
    **{(state, _HI.FAIL): _HS.CLOSED for state in _HS if state is not _HS.CLOSED},
    (_HS.OPENING, _HI.SUSPEND): _HS.RECOVERING,
    (_HS.OPEN, _HI.SUSPEND): _HS.RECOVERING,
    (_HS.RECOVERING, _HI.SUSPEND): _HS.RECOVERING,
    (_HS.RECOVERING, _HI.RECV_OPEN_OK): _HS.RECOVERING,
    (_HS.RECOVERING, _HI.RECV_CLOSE): _HS.RECOVERING,
    (_HS.RECOVERING, _HI.RESUME): _HS.OPEN,
    (_HS.RECOVERING, _HI.CLOSE): _HS.CLOSING,
}

# Methods the broker may send on its own initiative on an open channel (not RPC replies).
_CHANNEL_ASYNC = frozenset(
    {
        'Basic.Deliver',
        'Basic.Return',
        'Basic.Ack',
        'Basic.Nack',
        'Basic.Cancel',
        'Channel.Flow',
        'Channel.Close',
    }
)

#: state -> method NAMEs the broker may send unprompted. Anything else must be the reply to the
#: outstanding RPC (checked against its ``valid_responses``) or it is 503 COMMAND_INVALID.
#: In CLOSING every other frame is silently dropped (AMQP: discard until Close/CloseOk).
CHANNEL_INBOUND: dict[ChannelState, frozenset[str]] = {
    _HS.OPENING: frozenset({'Channel.OpenOk', 'Channel.Close'}),
    _HS.OPEN: _CHANNEL_ASYNC,
    _HS.CANCELLING: _CHANNEL_ASYNC,
    _HS.CLOSING: frozenset({'Channel.Close', 'Channel.CloseOk'}),
    _HS.CLOSED: frozenset(),
    _HS.RECOVERING: _CHANNEL_ASYNC | {'Channel.OpenOk'},
}


def next_channel_state(state: ChannelState, event: ChannelInput) -> ChannelState:
    """Return the channel state after ``event`` in ``state``.

    :raises TransitionError: the pair is not in :data:`CHANNEL_TRANSITIONS`
    """
    try:
        return CHANNEL_TRANSITIONS[state, event]
    except KeyError:
        raise TransitionError(
            f'channel: no transition for {event.value} in state {state.value}'
        ) from None
