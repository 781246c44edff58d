"""Channel 0 of a connection: the connection-level methods the broker sends.

:class:`ChannelZero` is the part of :class:`pika._core.connection.ConnectionCore` that handles
what arrives on channel 0 (Connection.Start / Tune / OpenOk during the handshake,
Connection.Close / CloseOk, Blocked / Unblocked, UpdateSecretOk, the broker's protocol header
refusing our version) and frames for channels the connection does not know. It answers on the
connection's :class:`~pika._core.output.Output` and moves the connection's state through
``ConnectionCore``'s public members; it owns what only channel 0 tracks: since when the broker
blocks us, and the Connection.UpdateSecret requests awaiting their UpdateSecretOk.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import exceptions, spec
from pika._core import events
from pika._core.negotiation import client_properties, negotiate_heartbeat, negotiate_limit
from pika._core.states import (
    CHANNEL_ERROR,
    COMMAND_INVALID,
    CONNECTION_INBOUND,
    FRAME_ERROR,
    UNEXPECTED_FRAME,
    ConnectionInput,
    ConnectionState,
    next_connection_state,
)
from pika._wire.constants import FRAME_HEARTBEAT, FRAME_METHOD, FRAME_PROTOCOL_HEADER

if TYPE_CHECKING:
    from pika._core.connection import ConnectionCore
    from pika._core.output import Output

LOGGER = logging.getLogger(__name__)

__all__ = ['ChannelZero']

_CS = ConnectionState
_CI = ConnectionInput


class ChannelZero:
    """Handlers for channel-0 frames and frames for unknown channels.

    :param connection: the connection whose state these methods move (``params``, ``owner``,
        ``state``, ``server_properties``, ``channel_max``, ``now``, ``events``, ``recoverer``,
        :meth:`~ConnectionCore.apply_tune`, :meth:`~ConnectionCore.terminate`,
        :meth:`~ConnectionCore.close_for_protocol_error`,
        :meth:`~ConnectionCore.client_close_error`)
    :param output: where the replies go
    """

    def __init__(self, connection: ConnectionCore, output: Output) -> None:
        self._conn = connection
        self._output = output
        #: when the broker's Connection.Blocked arrived (None: not blocked)
        self.blocked_since: Optional[float] = None
        #: Connection.UpdateSecret requests (encoded frame, its secret): the first is sent and
        #: awaits its reply; the secret goes to the recovery's login once accepted
        self._secret_queue: deque[tuple[bytes, str]] = deque()
        self._handlers: dict[str, Callable[[Any], None]] = {
            'Connection.Start': self._on_connection_start,
            'Connection.Tune': self._on_connection_tune,
            'Connection.OpenOk': self._on_connection_open_ok,
            'Connection.Close': self._on_connection_close,
            'Connection.CloseOk': self._on_connection_close_ok,
            'Connection.Blocked': self._on_connection_blocked,
            'Connection.Unblocked': self._on_connection_unblocked,
            'Connection.UpdateSecretOk': self._on_connection_update_secret_ok,
        }

    def reset(self) -> None:
        """The connection is finished: forget the block and the pending secret updates."""
        self.blocked_since = None
        self._secret_queue.clear()

    def send_update_secret(self, frame: bytes, secret: str) -> None:
        """Queue an encoded Connection.UpdateSecret carrying ``secret``: sent once the ones
        before it are answered (the reply names no request, so one at a time)."""
        self._secret_queue.append((frame, secret))
        if len(self._secret_queue) == 1:
            self._output.write(frame, 1)

    # ----------------------------------------------------------------- inbound

    def on_frame(self, frame: Any) -> None:
        """Handle one frame received on channel 0."""
        conn = self._conn
        frame_type = frame.frame_type
        if frame_type == FRAME_METHOD:
            method = frame.method
            name = method.NAME
            if name in CONNECTION_INBOUND[conn.state]:
                self._handlers[name](method)
            elif conn.state is not _CS.CLOSE_SENT:
                conn.close_for_protocol_error(
                    COMMAND_INVALID,
                    f'COMMAND_INVALID - unexpected {name} on channel 0 in state {conn.state.value}',
                )
        elif frame_type == FRAME_HEARTBEAT:
            return  # liveness was recorded in receive_data
        elif frame_type == FRAME_PROTOCOL_HEADER:
            if conn.state is _CS.PROTOCOL_HEADER_SENT:
                conn.terminate(
                    exceptions.IncompatibleProtocolError(
                        f'broker wants AMQP {frame.major}-{frame.minor}-{frame.revision}'
                    )
                )
            else:
                conn.close_for_protocol_error(
                    FRAME_ERROR, 'FRAME_ERROR - protocol header mid-stream'
                )
        elif conn.state is not _CS.CLOSE_SENT:
            conn.close_for_protocol_error(
                UNEXPECTED_FRAME, 'UNEXPECTED_FRAME - content frame on channel 0'
            )

    def on_unknown_channel(self, number: int) -> None:
        """A frame arrived for channel ``number``, which is not open (504 CHANNEL_ERROR)."""
        conn = self._conn
        if conn.state is _CS.CLOSE_SENT:
            return
        if number > conn.channel_max:
            what = f'channel {number} above the negotiated channel_max {conn.channel_max}'
        else:
            what = f'unknown channel {number}'
        conn.close_for_protocol_error(CHANNEL_ERROR, f'CHANNEL_ERROR - frame for {what}')

    def _on_connection_start(self, method: Any) -> None:
        conn = self._conn
        if (method.version_major, method.version_minor) != (0, 9):
            conn.terminate(
                exceptions.IncompatibleProtocolError(
                    f'broker speaks AMQP {method.version_major}-{method.version_minor}'
                )
            )
            return
        conn.server_properties = method.server_properties or {}
        params = conn.params
        credentials = params.credentials
        recoverer = conn.recoverer  # with recovery on, a refreshed secret replaces the password
        login = credentials if recoverer is None else recoverer.login.for_login(credentials)
        mechanism, response = login.response_for(method)
        if mechanism is None:
            needed = getattr(credentials, 'TYPE', type(credentials).__name__)
            LOGGER.warning('Broker offers SASL %r, credentials need %s', method.mechanisms, needed)
            conn.terminate(exceptions.AuthenticationError(needed))
            return
        conn.state = next_connection_state(conn.state, _CI.RECV_START)
        self._output.send_method(
            0,
            spec.Connection.StartOk(client_properties(params), mechanism, response, params.locale),
        )
        credentials.erase_credentials()

    def _on_connection_tune(self, method: Any) -> None:
        conn = self._conn
        params = conn.params
        try:
            heartbeat = negotiate_heartbeat(params.heartbeat, method.heartbeat, conn.owner)
        except Exception as exc:  # a user callable: report, never let it escape
            conn.terminate(exceptions.AMQPConnectionError(f'heartbeat negotiation: {exc}'))
            return
        if 0 < method.frame_max < spec.FRAME_MIN_SIZE:  # every frame would be refused
            conn.close_for_protocol_error(
                spec.NOT_ALLOWED,
                f'NOT_ALLOWED - frame_max {method.frame_max} is below the AMQP minimum '
                f'{spec.FRAME_MIN_SIZE}',
            )
            return
        conn.state = next_connection_state(conn.state, _CI.RECV_TUNE)
        channel_max = negotiate_limit(params.channel_max, method.channel_max)
        frame_max = negotiate_limit(params.frame_max, method.frame_max)
        output = self._output
        output.send_method(0, spec.Connection.TuneOk(channel_max, frame_max, heartbeat))
        output.send_method(0, spec.Connection.Open(virtual_host=params.virtual_host))
        conn.apply_tune(channel_max, frame_max, heartbeat)  # the heartbeat counts from here

    def _on_connection_open_ok(self, method: Any) -> None:
        conn = self._conn
        conn.state = next_connection_state(conn.state, _CI.RECV_OPEN_OK)
        conn.events.append(events.ConnectionOpened(conn.server_properties))

    def _on_connection_close(self, method: Any) -> None:
        conn = self._conn
        state = conn.state
        code, text = method.reply_code, method.reply_text
        self._output.send_method(0, spec.Connection.CloseOk())
        exc: exceptions.AMQPError = exceptions.ConnectionClosedByBroker(code, text)
        # As pika 1.x, a refused login or vhost carries the broker's close, printed, as its text.
        if state is _CS.START_OK_SENT and code == spec.ACCESS_REFUSED:
            exc = exceptions.ProbableAuthenticationError(repr(exc))
        elif state is _CS.OPEN_SENT and code in (spec.ACCESS_REFUSED, spec.NOT_ALLOWED):
            exc = exceptions.ProbableAccessDeniedError(repr(exc))
        conn.terminate(exc, _CI.RECV_CLOSE)

    def _on_connection_close_ok(self, method: Any) -> None:
        conn = self._conn
        conn.terminate(conn.client_close_error(), _CI.RECV_CLOSE_OK)

    def _on_connection_blocked(self, method: Any) -> None:
        conn = self._conn
        if self.blocked_since is None:
            self.blocked_since = conn.now
            conn.deadline_changes += 1
        conn.events.append(events.ConnectionBlocked(method))

    def _on_connection_unblocked(self, method: Any) -> None:
        conn = self._conn
        self.blocked_since = None
        conn.deadline_changes += 1
        conn.events.append(events.ConnectionUnblocked(method))

    def _on_connection_update_secret_ok(self, method: Any) -> None:
        queue = self._secret_queue
        if not queue:
            self._conn.close_for_protocol_error(
                COMMAND_INVALID, 'COMMAND_INVALID - Connection.UpdateSecretOk without a request'
            )
            return
        _frame, secret = queue.popleft()
        conn = self._conn
        if conn.recoverer is not None:
            conn.recoverer.login.accepted(conn.params.credentials, secret)
        conn.events.append(events.RpcReply(0, method))
        if queue:
            self._output.write(queue[0][0], 1)
