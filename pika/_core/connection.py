"""ConnectionCore: the sans-I/O AMQP 0-9-1 connection (bytes in, events out).

The caller feeds received bytes with the current time (:meth:`ConnectionCore.receive_data`, or
reads them into :meth:`ConnectionCore.receive_buffer` while a large message arrives), reports
the end of the stream
(:meth:`ConnectionCore.connection_lost`) and calls :meth:`ConnectionCore.tick` at
:meth:`ConnectionCore.next_deadline`; each returns a list of
:mod:`pika._core.events`. Bytes to write accumulate in one ``bytearray`` drained by
:meth:`ConnectionCore.data_to_send`. Nothing here reads a clock or touches a socket.

The connection is composed of three parts, each in its own module: a
:class:`~pika._core.receiving.FrameReceiver` decodes received bytes and routes the frames, a
:class:`~pika._core.channel_zero.ChannelZero` handles channel 0 (handshake, close, blocked,
update-secret), and an :class:`~pika._core.output.Output` queues what goes out (the channels
write into it too). ``ConnectionCore`` holds the state they share and the public API.

Protocol violations by the peer close the connection at once: the core queues Connection.Close
with the reply code (501/503/504/505), moves to CLOSED and returns ``ConnectionClosed`` (or
``ConnectionOpenFailed`` during the handshake) whose error is a
:class:`pika.exceptions.ConnectionClosed` carrying that code. The adapter flushes
``data_to_send()`` and closes the socket. Only :class:`pika.exceptions.AMQPError` subclasses
can escape :meth:`receive_data`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, Union

from pika import exceptions, spec
from pika._core import events
from pika._core.buffer import ReceiveBuffer
from pika._core.channel import ChannelCore, ChannelNumberError
from pika._core.channel_zero import ChannelZero
from pika._core.heartbeat import HeartbeatTimer
from pika._core.negotiation import (
    CAPABILITIES,
    negotiate_heartbeat,
    negotiate_limit,
    short_text,
)
from pika._core.output import Output
from pika._core.receiving import FrameReceiver
from pika._core.recoverer import Recoverer
from pika._core.states import (
    HANDSHAKE_STATES,
    ConnectionInput,
    ConnectionState,
    next_connection_state,
)
from pika._limits import HANDSHAKE_FRAME_MAX, MAX_CHANNEL_NUMBER
from pika._wire.constants import FRAME_OVERHEAD, HEARTBEAT_FRAME
from pika._wire.encode import encode_method, frame_too_large

if TYPE_CHECKING:
    from pika._core.large_message import LargeMessage
    from pika._core.settings import CoreSettings
    from pika.recovery import Recovery

LOGGER = logging.getLogger(__name__)

__all__ = ['CAPABILITIES', 'ConnectionCore', 'negotiate_heartbeat', 'negotiate_limit']

BytesLike = Union[bytes, bytearray, memoryview]

_CS = ConnectionState
_CI = ConnectionInput
_PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'
_CLOSED: ConnectionState = _CS.CLOSED  # typed alias: mypy must not narrow on it
#: states in which no Connection.OpenOk has arrived yet (a failure is an open failure)
_NOT_OPENED = frozenset((_CS.INIT, *HANDSHAKE_STATES))


class ConnectionCore:
    """Sans-I/O AMQP connection; see the module docstring and docs/architecture.md.

    :param params: validated ``ConnectionParameters`` (what the core reads of them:
        :class:`~pika._core.settings.CoreSettings`)
    :param owner: passed as the first argument to a callable ``params.heartbeat``
    """

    def __init__(self, params: CoreSettings, owner: Any = None) -> None:
        self.params: CoreSettings = params
        self.owner = owner
        self.state: ConnectionState = _CS.INIT
        self.channels: dict[int, ChannelCore] = {}
        self.server_properties: dict[str, Any] = {}
        self.channel_max: int = params.channel_max
        self.frame_max: int = params.frame_max
        self.heartbeat: Optional[int] = None
        #: Largest message body accepted (``params.max_message_size``, see docs/limits.md).
        self.max_message_size: int = params.max_message_size
        #: Incremented whenever :meth:`next_deadline` may have moved earlier, or a timer was
        #: started or stopped. In between it only moves later (received bytes push the dead-peer
        #: deadline back), so a front-end whose timer is armed for the deadline it read at the
        #: current count need not ask again: a timer that fires early is harmless.
        self.deadline_changes: int = 0
        #: The events of the call in progress: each call that returns events starts a fresh
        #: list here, and the receiver, channel 0 and the channels append to it.
        self.events: list[events.Event] = []
        #: the time passed to the call in progress (the core reads no clock)
        self.now: float = 0.0
        #: the heartbeat arithmetic, from Connection.Tune (when a heartbeat was negotiated) until
        #: the connection is finished
        self.heartbeat_timer: Optional[HeartbeatTimer] = None
        #: The outbound frame queue, shared with the channels (they queue their frames into
        #: it). Transports drain it with :meth:`data_to_send` and ask :meth:`has_output`.
        self.output: Output = Output(HANDSHAKE_FRAME_MAX)
        self._channel_zero = ChannelZero(self, self.output)
        #: decodes received bytes and routes the frames (:meth:`receive_data` feeds it)
        self.receiver: FrameReceiver = FrameReceiver(self, self._channel_zero)
        self._close_code = 200
        self._close_text = 'Normal shutdown'
        #: the recovery policy (``params.recovery``), None when recovery is off
        self.recovery: Optional[Recovery] = getattr(params, 'recovery', None)
        #: runs recoveries (:class:`~pika._core.recoverer.Recoverer`); None when recovery is
        #: off, and then nothing about recovery runs
        self.recoverer: Optional[Recoverer] = (
            None if self.recovery is None else Recoverer(self, self.recovery)
        )

    # ----------------------------------------------------------------- properties

    @property
    def is_open(self) -> bool:
        """True between Connection.OpenOk and the start of a close."""
        return self.state is _CS.OPEN

    @property
    def is_opening(self) -> bool:
        """True during the handshake."""
        return self.state in HANDSHAKE_STATES

    @property
    def is_closing(self) -> bool:
        """True while a client close is in progress."""
        return self.state is _CS.CLOSING or self.state is _CS.CLOSE_SENT

    @property
    def is_closed(self) -> bool:
        """True once the connection is finished (or never started)."""
        return self.state is _CS.CLOSED

    @property
    def is_recovering(self) -> bool:
        """True from ``ConnectionInterrupted`` until ``ConnectionRecovered`` (or give_up)."""
        recoverer = self.recoverer
        return recoverer is not None and recoverer.active

    @property
    def pending_bytes(self) -> int:
        """Bytes queued and not yet drained by :meth:`data_to_send`."""
        return len(self.output)

    @property
    def frames_sent(self) -> int:
        """Frames queued since creation (the backpressure rule uses bytes per frame)."""
        return self.output.frames_sent

    @property
    def bytes_queued_total(self) -> int:
        """Bytes queued since creation (drained or not)."""
        return self.output.bytes_queued_total

    @property
    def large_message(self) -> Optional[LargeMessage]:
        """The large delivery being read in place, else None: a transport reads this before
        each read (cheaper than calling :meth:`receive_buffer`)."""
        return self.receiver.large_message

    @property
    def max_frame_payload(self) -> int:
        """The largest payload one outbound frame may carry: the negotiated ``frame_max`` less
        the frame overhead. A frame above it would make the broker close the connection, so a
        channel refuses it before anything is queued."""
        return self.output.max_payload

    # ----------------------------------------------------------------- driving

    def start(self) -> None:
        """Queue the protocol header; the handshake continues in :meth:`receive_data`."""
        self.state = next_connection_state(self.state, _CI.START)
        self.output.write(_PROTOCOL_HEADER, 1)

    def receive_data(self, data: BytesLike, now: float) -> list[events.Event]:
        """Feed bytes received from the broker; return the resulting events.

        :param data: received bytes (any length, frames may be split anywhere)
        :param now: current time (seconds, same clock as :meth:`tick`)
        """
        if self.state is _CLOSED or not data:
            return []
        self.now = now
        result: list[events.Event] = []
        self.events = result
        receiver = self.receiver
        if receiver.large_message is None:
            receiver.receive_data(data, now)
        else:
            receiver.receive_more(data, now)
        if self.recoverer is not None:
            self.recoverer.after_receive(result)
        return result

    def receive_buffer(self) -> Optional[memoryview]:
        """Where the next read should go while a large message body arrives, else None (read
        anywhere and call :meth:`receive_data`). After reading into it, call
        :meth:`received_into`; nothing else may write to it."""
        return self.receiver.receive_buffer()

    def received_into(self, nbytes: int, now: float) -> list[events.Event]:
        """``nbytes`` (> 0) were read into :meth:`receive_buffer`; return the resulting events.

        :raises ValueError: more bytes than :meth:`receive_buffer` offered
        """
        if self.state is _CLOSED:
            return []
        self.now = now
        result: list[events.Event] = []
        self.events = result
        self.receiver.received_into(nbytes, now)
        if self.recoverer is not None:
            self.recoverer.after_receive(result)
        return result

    def connection_lost(self, error: Optional[BaseException] = None) -> list[events.Event]:
        """The stream ended (EOF or socket error); return the closing events.

        :param error: the transport error, or None for a clean EOF
        """
        state = self.state
        if state is _CS.CLOSED or state is _CS.RECOVERING:
            return []
        result: list[events.Event] = []
        self.events = result
        reason = f': {error!r}' if error is not None else ' (EOF)'
        exc: exceptions.AMQPError
        if state is _CS.PROTOCOL_HEADER_SENT:
            exc = exceptions.IncompatibleProtocolError(
                f'stream closed before Connection.Start{reason}'
            )
        elif state is _CS.START_OK_SENT:
            exc = exceptions.ProbableAuthenticationError(
                f'stream closed after Connection.StartOk (credentials refused?){reason}'
            )
        elif state is _CS.OPEN_SENT:
            exc = exceptions.ProbableAccessDeniedError(
                'stream closed after Connection.Open '
                f'(virtual host {self.params.virtual_host!r} refused?){reason}'
            )
        elif state is _CS.CLOSE_SENT:
            exc = self.client_close_error()
        else:
            exc = exceptions.StreamLostError(f'Stream connection lost{reason}')
        self.terminate(exc)
        return result

    def tick(self, now: float) -> list[events.Event]:
        """Run timers: send a heartbeat when idle, detect a dead peer or an expired block.

        :param now: current time (same clock as :meth:`receive_data`)
        """
        if self.state is _CS.CLOSED:
            return []
        self.now = now
        result: list[events.Event] = []
        self.events = result
        self.deadline_changes += 1  # the heartbeat send check moves on
        timer = self.heartbeat_timer
        if timer is not None:
            if timer.is_timed_out(now):
                self.terminate(
                    exceptions.AMQPHeartbeatTimeout(
                        f'No data received from the broker for {now - timer.last_received:.1f} s '
                        f'(heartbeat {timer.interval} s; {timer.unproven} bytes of an unfinished '
                        'frame since)'
                    )
                )
                return result
            output = self.output
            if timer.send_due(now, output.bytes_queued_total):
                output.write(HEARTBEAT_FRAME, 1)
                timer.bytes_seen = output.bytes_queued_total
        recoverer = self.recoverer
        if recoverer is not None:
            recoverer.tick(now)
        timeout = self.params.blocked_connection_timeout
        blocked_since = self._channel_zero.blocked_since
        if blocked_since is not None and timeout and now >= blocked_since + timeout:
            self.terminate(
                exceptions.ConnectionBlockedTimeout(
                    f'Blocked by the broker for more than {timeout} s'
                )
            )
        return result

    def next_deadline(self) -> Optional[float]:
        """Absolute time at which :meth:`tick` must run next, or None when no timer is armed."""
        timer = self.heartbeat_timer  # None once CLOSED, like blocked_since
        deadline = timer.next_deadline() if timer is not None else None
        timeout = self.params.blocked_connection_timeout
        blocked_since = self._channel_zero.blocked_since
        if blocked_since is not None and timeout:
            blocked_deadline = blocked_since + timeout
            if deadline is None or blocked_deadline < deadline:
                deadline = blocked_deadline
        recoverer = self.recoverer
        if recoverer is not None:
            reopen = recoverer.next_deadline()
            if reopen is not None and (deadline is None or reopen < deadline):
                deadline = reopen
        return deadline

    def has_output(self) -> bool:
        """Whether anything is queued for :meth:`data_to_send` (cheaper than asking for it)."""
        output = self.output
        return bool(output.buffer or output.parts)

    def data_to_send(self) -> Union[bytes, bytearray]:
        """Return everything queued for the broker and start a fresh buffer."""
        return self.output.take()

    def data_to_send_parts(self) -> list[BytesLike]:
        """Like :meth:`data_to_send`, as a list of buffers to write in order (scatter/gather):
        large ``bytes`` bodies are the caller's objects, not copies (see :class:`Output`)."""
        output = self.output
        out = output.buffer
        if output.parts or not out:
            return output.take_parts()
        # Only the buffer (the usual case; the transport drains once per write, so one call
        # less matters): what Output.take_parts does for it, inlined.
        output.buffer = bytearray()
        return [out]

    # ----------------------------------------------------------------- user operations

    def close(
        self, reply_code: int = 200, reply_text: str = 'Normal shutdown'
    ) -> list[events.Event]:
        """Client close: cancel consumers, close channels, then send Connection.Close.

        During the handshake the attempt is aborted at once and the returned list holds
        ``ConnectionOpenFailed(ConnectionOpenAborted)``; otherwise it is empty and
        ``ConnectionClosed(ConnectionClosedByClient)`` follows Connection.CloseOk.

        :raises ConnectionWrongStateError: already closing or closed
        """
        if not isinstance(reply_code, int) or isinstance(reply_code, bool):
            raise TypeError('reply_code must be int')
        if not isinstance(reply_text, str):
            raise TypeError('reply_text must be str')
        state = self.state
        if state is _CS.CLOSED or self.is_closing:
            raise exceptions.ConnectionWrongStateError(
                'Connection is %s' % ('closed' if state is _CS.CLOSED else 'closing')
            )
        if self.is_recovering:  # nothing to close on the broker: stop recovering
            return self.give_up(exceptions.ConnectionClosedByClient(reply_code, reply_text))
        result: list[events.Event] = []
        self.events = result
        if state is not _CS.OPEN:
            self.terminate(exceptions.ConnectionOpenAborted('close() during the handshake'))
            return result
        encode_method(0, spec.Connection.Close(reply_code, reply_text, 0, 0))  # validate
        self._close_code = reply_code
        self._close_text = reply_text
        self.state = next_connection_state(state, _CI.CLOSE)
        for channel in list(self.channels.values()):
            if channel.is_opening or channel.is_open:
                channel.begin_close(reply_code, reply_text)
        self._maybe_send_close()
        return result

    def open_channel(self, channel_number: Optional[int] = None) -> ChannelCore:
        """Create a channel and send Channel.Open (``ChannelOpened`` follows OpenOk).

        :param channel_number: explicit number, or None for the lowest free one
        :raises ConnectionWrongStateError: the connection is not open
        :raises NoFreeChannels: every number up to channel_max is taken
        :raises ChannelNumberError: (ValueError, InvalidChannelNumber) bad or used number
        """
        if self.state is not _CS.OPEN:
            if self.state is _CS.RECOVERING or self.is_recovering:
                raise exceptions.ConnectionRecovering('the connection is being recovered')
            raise exceptions.ConnectionWrongStateError(f'Connection is {self.state.value.lower()}')
        limit = self.channel_max or MAX_CHANNEL_NUMBER
        if channel_number is None:
            channel_number = self._free_channel_number(limit)
        elif not isinstance(channel_number, int) or isinstance(channel_number, bool):
            raise TypeError(f'channel_number must be int, got {channel_number!r}')
        elif not 1 <= channel_number <= limit:
            raise ChannelNumberError(f'channel number {channel_number} not in 1..{limit}')
        elif channel_number in self.channels:
            raise ChannelNumberError(f'channel number {channel_number} is in use')
        channel = ChannelCore(self, self.output, channel_number)
        self.channels[channel_number] = channel
        self.output.send_method(channel_number, spec.Channel.Open())
        if self.recoverer is not None:
            self.recoverer.channel_created(channel)
        return channel

    # ----------------------------------------------------------------- recovery

    def begin_reconnect(self, params: CoreSettings) -> None:
        """Recovery: the adapter connected a new socket to ``params`` (a node of its list).

        The lost connection's unsent bytes, partial frames and negotiated limits are dropped,
        and the protocol header is queued as by :meth:`start`; the adapter then feeds bytes
        as usual. At Connection.OpenOk the replay runs by itself, ending in
        ``ConnectionRecovered`` (docs/recovery.md).

        :raises ConnectionWrongStateError: the connection is not RECOVERING (after
            ``ConnectionInterrupted``)
        """
        if self.state is not _CS.RECOVERING:
            raise exceptions.ConnectionWrongStateError(
                f'begin_reconnect() needs a RECOVERING connection, not {self.state.value}'
            )
        self.params = params
        self.channel_max = params.channel_max
        self.frame_max = params.frame_max
        self.max_message_size = params.max_message_size
        self.heartbeat = None
        self.server_properties = {}
        self.output.take_parts()  # what the lost socket did not take is lost with it
        self.output.set_frame_max(HANDSHAKE_FRAME_MAX)
        self.receiver.buffer = ReceiveBuffer()
        self.receiver.frame_max = HANDSHAKE_FRAME_MAX
        self.start()

    def give_up(self, error: exceptions.AMQPError) -> list[events.Event]:
        """Recovery: stop recovering and close for good with ``error`` (every channel gets
        ``ChannelClosed``, then ``ConnectionClosed``; publishes awaiting a confirm are the
        adapter's to fail with ``PublishOutcomeUnknown``)."""
        if self.state is _CS.CLOSED:
            return []
        result: list[events.Event] = []
        self.events = result
        recoverer = self.recoverer
        if recoverer is not None:
            recoverer.giving_up = True
            recoverer.active = False
            LOGGER.info('Recovery gave up: %r', error)
        self.terminate(error)
        return result

    def free_channel_number(self) -> int:
        """The lowest channel number not in use (the replay's own channel takes it)."""
        return self._free_channel_number(self.channel_max or MAX_CHANNEL_NUMBER)

    def update_secret(self, new_secret: str, reason: str) -> None:
        """Send Connection.UpdateSecret; the reply is an ``RpcReply`` on channel 0.

        :raises ConnectionWrongStateError: the connection is not open
        """
        if not isinstance(new_secret, str) or not isinstance(reason, str):
            raise TypeError('new_secret and reason must be str')
        if self.state is not _CS.OPEN:
            raise exceptions.ConnectionWrongStateError(f'Connection is {self.state.value.lower()}')
        data = encode_method(0, spec.Connection.UpdateSecret(new_secret=new_secret, reason=reason))
        if len(data) - FRAME_OVERHEAD > self.output.max_payload:
            raise frame_too_large('Connection.UpdateSecret', len(data), self.frame_max)
        self._channel_zero.send_update_secret(data, new_secret)

    # ----------------------------------------------------------------- used by the parts

    def apply_tune(self, channel_max: int, frame_max: int, heartbeat: int) -> None:
        """Apply the limits negotiated at Connection.Tune (0: none) to every part of the
        connection, and start the heartbeat timer if a heartbeat was agreed."""
        self.channel_max = channel_max
        self.frame_max = frame_max
        self.heartbeat = heartbeat
        self.receiver.frame_max = frame_max or None
        self.output.set_frame_max(frame_max)
        if heartbeat > 0:
            self.heartbeat_timer = HeartbeatTimer(
                heartbeat, self.now, self.output.bytes_queued_total
            )
            self.deadline_changes += 1

    def body_size_refused(self, channel_number: int, body_size: int) -> bool:
        """Whether a content header announcing ``body_size`` bytes on ``channel_number`` is
        refused (asked by the receiver and by channels for the headers they decode themselves):
        above ``max_message_size`` the connection is closed (506 RESOURCE_ERROR) before anything
        is allocated for the body (docs/limits.md says why the connection, not the channel)."""
        limit = self.max_message_size
        if body_size <= limit:
            return False
        self.close_for_protocol_error(
            spec.RESOURCE_ERROR,
            f'RESOURCE_ERROR - message body of {body_size} bytes on channel {channel_number} '
            f'exceeds max_message_size {limit}',
        )
        return True

    def client_close_error(self) -> exceptions.ConnectionClosedByClient:
        """The error a client close ends with (the reply code and text given to :meth:`close`)."""
        return exceptions.ConnectionClosedByClient(self._close_code, self._close_text)

    def close_for_protocol_error(self, reply_code: int, reply_text: str) -> None:
        """The peer broke the protocol (as a part of the connection found): queue
        Connection.Close with ``reply_code`` and ``reply_text``, then finish the connection and
        every channel at once."""
        LOGGER.debug('Protocol error: %s', reply_text)
        if self.state in (_CS.START_OK_SENT, _CS.OPEN_SENT, _CS.OPEN, _CS.CLOSING):
            self.output.send_method(
                0, spec.Connection.Close(reply_code, short_text(reply_text), 0, 0)
            )
        self.terminate(exceptions.ConnectionClosed(reply_code, reply_text))

    def terminate(self, error: exceptions.AMQPError, how: ConnectionInput = _CI.FAIL) -> None:
        """Move to CLOSED, close every channel with ``error`` and emit the final event
        (``ConnectionOpenFailed`` before Connection.OpenOk, else ``ConnectionClosed``)."""
        recoverer = self.recoverer
        if recoverer is not None and recoverer.takes_over(self.state, error):
            how = _CI.INTERRUPT
        opened = self.state not in _NOT_OPENED or (recoverer is not None and recoverer.opened_once)
        self.state = next_connection_state(self.state, how)
        self.heartbeat_timer = None
        self.receiver.reset()
        self._channel_zero.reset()
        self.deadline_changes += 1
        if how is _CI.INTERRUPT and recoverer is not None:
            self.events.append(recoverer.interrupt(error))
            return
        if recoverer is not None:
            recoverer.login.forget()  # finished for good: keep no refreshed secret
        channels = list(self.channels.values())
        self.channels.clear()
        for channel in channels:
            channel.connection_gone(error)
        final: events.Event
        if opened:
            final = events.ConnectionClosed(error)
        else:
            final = events.ConnectionOpenFailed(error)
        LOGGER.debug('Connection finished: %r', error)
        self.events.append(final)

    def channel_finished(self, channel: ChannelCore) -> None:
        """A channel emitted ChannelClosed: free its number; maybe finish a client close."""
        if self.channels.get(channel.channel_number) is channel:
            del self.channels[channel.channel_number]
        self._maybe_send_close()

    def _maybe_send_close(self) -> None:
        if self.state is _CS.CLOSING and not self.channels:
            self.state = next_connection_state(self.state, _CI.CHANNELS_CLOSED)
            self.output.send_method(
                0, spec.Connection.Close(self._close_code, self._close_text, 0, 0)
            )

    def _free_channel_number(self, limit: int) -> int:
        channels = self.channels
        if len(channels) >= limit:
            raise exceptions.NoFreeChannels(f'all {limit} channel numbers are in use')
        for number in range(1, limit + 1):
            if number not in channels:
                return number
        raise exceptions.NoFreeChannels(f'all {limit} channel numbers are in use')  # unreachable

    def __repr__(self) -> str:
        return f'<ConnectionCore state={self.state.value} channels={len(self.channels)}>'
