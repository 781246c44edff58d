"""Channel 0 of :class:`pika._core.connection.ConnectionCore`: the connection-level methods.

A base class of ``ConnectionCore``, split out to keep the core module readable: it handles what
arrives on channel 0 (Connection.Start / Tune / OpenOk during the handshake, Connection.Close /
CloseOk, Blocked / Unblocked, UpdateSecretOk, the broker's protocol header refusing our version)
and frames for channels we do not know. The state lives on ``ConnectionCore``; the annotations
below only tell type checkers which of its attributes and methods these handlers use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import exceptions, spec
from pika._core import events
from pika._core.heartbeat import HeartbeatTimer
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

if TYPE_CHECKING:
    from collections import deque

    from pika._core.output import Output
    from pika._parameters import Parameters

LOGGER = logging.getLogger(__name__)

__all__ = ['ChannelZeroHandlers']

_CS = ConnectionState
_CI = ConnectionInput


class ChannelZeroHandlers:
    """Handlers for channel-0 frames; mixed into ``ConnectionCore`` (which defines the state)."""

    if TYPE_CHECKING:
        params: Parameters
        owner: Any
        state: ConnectionState
        server_properties: dict[str, Any]
        channel_max: int
        frame_max: int
        heartbeat: Optional[int]
        deadline_changes: int
        _rx_frame_max: Optional[int]
        output: Output
        _events: list[events.Event]
        _heartbeat_timer: Optional[HeartbeatTimer]
        _blocked_since: Optional[float]
        _now: float
        _opened: bool
        _close_code: int
        _close_text: str
        _secret_queue: deque[bytes]
        _handlers: dict[str, Callable[[Any], None]]

        def _protocol_error(self, reply_code: int, reply_text: str) -> None: ...
        def _terminate(
            self, error: exceptions.AMQPError, how: ConnectionInput = _CI.FAIL
        ) -> None: ...

    def _on_channel_zero(self, frame: Any) -> None:
        frame_type = frame.frame_type
        if frame_type == 1:
            method = frame.method
            allowed = CONNECTION_INBOUND[self.state]
            name = method.NAME
            if name in allowed:
                self._handlers[name](method)
            elif self.state is not _CS.CLOSE_SENT:
                self._protocol_error(
                    COMMAND_INVALID,
                    f'COMMAND_INVALID - unexpected {name} on channel 0 in state {self.state.value}',
                )
        elif frame_type == 8:
            return  # liveness was recorded in receive_data
        elif frame_type == -1:
            if self.state is _CS.PROTOCOL_HEADER_SENT:
                self._terminate(
                    exceptions.IncompatibleProtocolError(
                        f'broker wants AMQP {frame.major}-{frame.minor}-{frame.revision}'
                    )
                )
            else:
                self._protocol_error(FRAME_ERROR, 'FRAME_ERROR - protocol header mid-stream')
        elif self.state is not _CS.CLOSE_SENT:
            self._protocol_error(UNEXPECTED_FRAME, 'UNEXPECTED_FRAME - content frame on channel 0')

    def _on_unknown_channel(self, number: int) -> None:
        """A frame arrived for channel ``number``, which is not open (504 CHANNEL_ERROR)."""
        if self.state is _CS.CLOSE_SENT:
            return
        if number > self.channel_max:
            what = f'channel {number} above the negotiated channel_max {self.channel_max}'
        else:
            what = f'unknown channel {number}'
        self._protocol_error(CHANNEL_ERROR, f'CHANNEL_ERROR - frame for {what}')

    def _on_connection_start(self, method: Any) -> None:
        if (method.version_major, method.version_minor) != (0, 9):
            self._terminate(
                exceptions.IncompatibleProtocolError(
                    f'broker speaks AMQP {method.version_major}-{method.version_minor}'
                )
            )
            return
        self.server_properties = method.server_properties or {}
        credentials = self.params.credentials
        mechanism, response = credentials.response_for(method)
        if mechanism is None:
            needed = getattr(credentials, 'TYPE', type(credentials).__name__)
            LOGGER.warning('Broker offers SASL %r, credentials need %s', method.mechanisms, needed)
            self._terminate(exceptions.AuthenticationError(needed))
            return
        self.state = next_connection_state(self.state, _CI.RECV_START)
        self.output.send_method(
            0,
            spec.Connection.StartOk(
                client_properties(self.params), mechanism, response, self.params.locale
            ),
        )
        credentials.erase_credentials()

    def _on_connection_tune(self, method: Any) -> None:
        try:
            heartbeat = negotiate_heartbeat(self.params.heartbeat, method.heartbeat, self.owner)
        except Exception as exc:  # a user callable: report, never let it escape
            self._terminate(exceptions.AMQPConnectionError(f'heartbeat negotiation: {exc}'))
            return
        if 0 < method.frame_max < spec.FRAME_MIN_SIZE:  # every frame would be refused
            self._protocol_error(
                spec.NOT_ALLOWED,
                f'NOT_ALLOWED - frame_max {method.frame_max} is below the AMQP minimum '
                f'{spec.FRAME_MIN_SIZE}',
            )
            return
        self.state = next_connection_state(self.state, _CI.RECV_TUNE)
        self.channel_max = negotiate_limit(self.params.channel_max, method.channel_max)
        self.frame_max = negotiate_limit(self.params.frame_max, method.frame_max)
        self.heartbeat = heartbeat
        self._rx_frame_max = self.frame_max or None
        self.output.set_frame_max(self.frame_max)
        self.output.send_method(
            0, spec.Connection.TuneOk(self.channel_max, self.frame_max, heartbeat)
        )
        self.output.send_method(0, spec.Connection.Open(virtual_host=self.params.virtual_host))
        if heartbeat > 0:
            self._heartbeat_timer = HeartbeatTimer(
                heartbeat, self._now, self.output.bytes_queued_total
            )
            self.deadline_changes += 1

    def _on_connection_open_ok(self, method: Any) -> None:
        self.state = next_connection_state(self.state, _CI.RECV_OPEN_OK)
        self._opened = True
        self._events.append(events.ConnectionOpened(self.server_properties))

    def _on_connection_close(self, method: Any) -> None:
        state = self.state
        code, text = method.reply_code, method.reply_text
        self.output.send_method(0, spec.Connection.CloseOk())
        exc: exceptions.AMQPError = exceptions.ConnectionClosedByBroker(code, text)
        # As pika 1.x, a refused login or vhost carries the broker's close, printed, as its text.
        if state is _CS.START_OK_SENT and code == 403:
            exc = exceptions.ProbableAuthenticationError(repr(exc))
        elif state is _CS.OPEN_SENT and code in (403, 530):
            exc = exceptions.ProbableAccessDeniedError(repr(exc))
        self._terminate(exc, _CI.RECV_CLOSE)

    def _on_connection_close_ok(self, method: Any) -> None:
        self._terminate(
            exceptions.ConnectionClosedByClient(self._close_code, self._close_text),
            _CI.RECV_CLOSE_OK,
        )

    def _on_connection_blocked(self, method: Any) -> None:
        if self._blocked_since is None:
            self._blocked_since = self._now
            self.deadline_changes += 1
        self._events.append(events.ConnectionBlocked(method))

    def _on_connection_unblocked(self, method: Any) -> None:
        self._blocked_since = None
        self.deadline_changes += 1
        self._events.append(events.ConnectionUnblocked(method))

    def _on_connection_update_secret_ok(self, method: Any) -> None:
        if not self._secret_queue:
            self._protocol_error(
                COMMAND_INVALID, 'COMMAND_INVALID - Connection.UpdateSecretOk without a request'
            )
            return
        self._secret_queue.popleft()
        self._events.append(events.RpcReply(0, method))
        if self._secret_queue:
            self.output.write(self._secret_queue[0], 1)
