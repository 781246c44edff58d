"""ConnectionCore: the sans-I/O AMQP 0-9-1 connection (bytes in, events out).

The caller feeds received bytes with the current time (:meth:`ConnectionCore.receive_data`),
reports the end of the stream (:meth:`ConnectionCore.connection_lost`) and calls
:meth:`ConnectionCore.tick` at :meth:`ConnectionCore.next_deadline`; each returns a list of
:mod:`pika._core.events`. Bytes to write accumulate in one ``bytearray`` drained by
:meth:`ConnectionCore.data_to_send`. Nothing here reads a clock or touches a socket.

Protocol violations by the peer close the connection at once: the core queues Connection.Close
with the reply code (501/503/504/505), moves to CLOSED and returns ``ConnectionClosed`` (or
``ConnectionOpenFailed`` during the handshake) whose error is a
:class:`pika.exceptions.ConnectionClosed` carrying that code. The adapter flushes
``data_to_send()`` and closes the socket. Only :class:`pika.exceptions.AMQPError` subclasses
can escape :meth:`receive_data`.
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions, spec
from pika._core import content, events
from pika._core.buffer import ReceiveBuffer
from pika._core.channel import ChannelCore, ChannelNumberError
from pika._core.channel_zero import ChannelZeroHandlers
from pika._core.large_message import IN_PLACE_MIN, LargeMessage
from pika._core.negotiation import (
    CAPABILITIES,
    negotiate_heartbeat,
    negotiate_limit,
    short_text,
)
from pika._core.output import Output
from pika._core.states import (
    FRAME_ERROR,
    HANDSHAKE_STATES,
    ChannelState,
    ConnectionInput,
    ConnectionState,
    next_connection_state,
)
from pika._frame_fast import decode_deliveries
from pika.frame import decode_deliver_set, decode_frame

if TYPE_CHECKING:
    from pika._core.heartbeat import HeartbeatTimer
    from pika._parameters import Parameters

LOGGER = logging.getLogger(__name__)

__all__ = ['CAPABILITIES', 'ConnectionCore', 'negotiate_heartbeat', 'negotiate_limit']

BytesLike = Union[bytes, bytearray, memoryview]

_CS = ConnectionState
_CI = ConnectionInput
_CLOSED: ConnectionState = ConnectionState.CLOSED  # typed alias: mypy must not narrow on it
_CH_OPEN = ChannelState.OPEN
_CH_CANCELLING = ChannelState.CANCELLING
_PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'
_HANDSHAKE_FRAME_MAX = 131072  # generous limit before Tune (AMQP guarantees at least 4096)
_MAX_CHANNELS = 65535
# Bodies of at least this many bytes are queued by reference (see _queue_body_refs): copying them
# would cost more than one more buffer in the transport's write vector.
_BODY_REF_MIN = 32 * 1024
_CONTENT_METHODS = frozenset(
    (spec.Basic.Deliver.INDEX, spec.Basic.Return.INDEX, spec.Basic.GetOk.INDEX)
)
_DELIVER_ID = spec.Basic.Deliver.INDEX
_Deliver = spec.Basic.Deliver
_METHOD_HEAD = struct.Struct('>BHII').unpack_from  # frame type, channel, size, method id
#: The methods receive_data's fast path decodes itself: every method without content (those
#: need the content frames that follow, and Basic.Deliver has its own batch decoder).
_FAST_METHODS: dict[int, type] = {
    index: method_class
    for index, method_class in spec.methods.items()
    if index not in _CONTENT_METHODS
}
_MessageDelivered = events.MessageDelivered
_new = object.__new__


class ConnectionCore(ChannelZeroHandlers):
    """Sans-I/O AMQP connection; see the module docstring and docs/architecture.md.

    The handlers of channel-0 methods (handshake, close, blocked, update-secret) are inherited
    from :class:`pika._core.channel_zero.ChannelZeroHandlers`.

    :param params: validated ``ConnectionParameters``
    :param owner: passed as the first argument to a callable ``params.heartbeat``
    """

    def __init__(self, params: Parameters, owner: Any = None) -> None:
        self.params = params
        self.owner = owner
        self.state = _CS.INIT
        self.channels: dict[int, ChannelCore] = {}
        self.server_properties: dict[str, Any] = {}
        self.channel_max: int = params.channel_max
        self.frame_max: int = params.frame_max
        self.heartbeat: Optional[int] = None
        #: frames and bytes queued since creation (the backpressure rule uses their ratio)
        self.frames_sent = 0
        self.bytes_queued_total = 0
        #: Incremented whenever :meth:`next_deadline` may have moved earlier, or a timer was
        #: started or stopped. In between it only moves later (received bytes push the dead-peer
        #: deadline back), so a front-end whose timer is armed for the deadline it read at the
        #: current count need not ask again: a timer that fires early is harmless.
        self.deadline_changes = 0
        self._output = Output()
        self._buffer = ReceiveBuffer()
        self._large: Optional[LargeMessage] = None  # a large body being read in place
        self._rx_frame_max: Optional[int] = _HANDSHAKE_FRAME_MAX
        self._max_payload = _HANDSHAKE_FRAME_MAX - 8
        self._events: list[events.Event] = []
        self._heartbeat_timer: Optional[HeartbeatTimer] = None
        self._blocked_since: Optional[float] = None
        self._now = 0.0
        self._opened = False
        self._close_code = 200
        self._close_text = 'Normal shutdown'
        self._secret_queue: deque[bytes] = deque()
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
    def pending_bytes(self) -> int:
        """Bytes queued and not yet drained by :meth:`data_to_send`."""
        output = self._output
        return len(output.buffer) + output.parts_size

    # ----------------------------------------------------------------- driving

    def start(self) -> None:
        """Queue the protocol header; the handshake continues in :meth:`receive_data`."""
        self.state = next_connection_state(self.state, _CI.START)
        self._write(_PROTOCOL_HEADER, 1)

    def receive_data(self, data: BytesLike, now: float) -> list[events.Event]:
        """Feed bytes received from the broker; return the resulting events.

        :param data: received bytes (any length, frames may be split anywhere)
        :param now: current time (seconds, same clock as :meth:`tick`)
        """
        if self.state is _CS.CLOSED or not data:
            return []
        if self._large is not None:
            return self._large_progress(self._large.append(data), now)
        self._now = now
        timer = self._heartbeat_timer
        if timer is not None:
            timer.last_received = now  # HeartbeatTimer.received(now), inlined: once per read
        result: list[events.Event] = []
        self._events = result
        buffer = self._buffer
        if buffer.data or type(data) is not bytes:
            buf = buffer.feed(data)
        else:  # nothing left over: decode the read itself (what feed() would do, inlined)
            buf = data
        offset = buffer.offset
        total = len(buf)
        channels = self.channels
        frame_max = self._rx_frame_max
        limit = frame_max - 8 if frame_max else 0xFFFFFFFF
        fast_methods = _FAST_METHODS
        try:
            while offset < total:
                # Fast path, inlined because every RPC reply, confirm and delivery takes it: a
                # whole method frame for a channel that is not assembling a message is decoded
                # here, without a frame object, and handed to the channel's method handler --
                # what the general path does, step by step. Anything else, and anything the
                # fast path has a doubt about (incomplete, oversized, malformed), goes through
                # _receive_frame, which reports errors as usual.
                if buf[offset] == 1 and total - offset > 11:
                    _, number, size, method_id = _METHOD_HEAD(buf, offset)
                    end = offset + 7 + size  # index of the frame-end octet
                    channel = channels.get(number)  # never channel 0: that is not in the dict
                    if (
                        channel is not None
                        and 4 <= size <= limit
                        and end < total
                        and buf[end] == 0xCE
                        and not channel._assembler.active
                    ):
                        if method_id == _DELIVER_ID:
                            state = channel.state
                            if state is _CH_OPEN or state is _CH_CANCELLING:
                                # All the Deliver sets that follow, in one call: no bookkeeping
                                # but the event (what ChannelCore._on_content_set does).
                                after = decode_deliveries(
                                    buf, offset, frame_max, number, result, _MessageDelivered
                                )
                                if after != offset:
                                    offset = after
                                    continue
                        else:
                            method_class = fast_methods.get(method_id)
                            if method_class is not None:
                                # Every generated decode() stores all the fields in constructor
                                # order, so __init__ is not run (see test_receive_shortcuts.py).
                                method: Any = _new(method_class)
                                payload = buf[offset + 11 : end]
                                if not isinstance(payload, bytes):  # decoders get bytes
                                    payload = bytes(payload)
                                try:
                                    method.decode(payload)
                                except Exception:  # malformed: _receive_frame reports it
                                    pass
                                else:
                                    # What ChannelCore._on_frame does for a method frame.
                                    offset = end + 1
                                    channel._on_method(method)
                                    if self.state is _CLOSED:
                                        offset = total  # drop whatever follows
                                        break
                                    continue
                after = self._receive_frame(buf, offset)
                if after == offset:  # incomplete: wait for more bytes
                    break
                offset = after
                if self.state is _CLOSED:
                    offset = total  # drop whatever follows
                    break
        finally:
            if offset < total or buffer.data:  # else nothing to keep and nothing to drop
                buffer.data = buf
                buffer.offset = offset
                buffer.compact()
        return result

    def receive_buffer(self) -> Optional[memoryview]:
        """Where the next read should go while a large message body arrives, else None (read
        anywhere and call :meth:`receive_data`). After reading into it, call
        :meth:`received_into`; nothing else may write to it."""
        large = self._large
        return None if large is None else large.room()

    def received_into(self, nbytes: int, now: float) -> list[events.Event]:
        """``nbytes`` (> 0) were read into :meth:`receive_buffer`; return the resulting events."""
        large = self._large
        if large is None or self.state is _CS.CLOSED or nbytes <= 0:
            return []
        if nbytes > len(large.view) - large.filled:
            raise ValueError(f'received_into({nbytes}): more than receive_buffer() offered')
        large.filled += nbytes
        return self._large_progress(None, now)

    def _large_progress(self, rest: Optional[memoryview], now: float) -> list[events.Event]:
        """Bytes were added to the large message: deliver it once whole, then decode what
        followed (and ``rest``, received beyond its buffer) the ordinary way."""
        self._now = now
        timer = self._heartbeat_timer
        if timer is not None:
            timer.last_received = now
        large: Any = self._large
        while True:
            outcome = large.outcome()
            if outcome != 0 or rest is None:
                break
            rest = large.append(rest)  # the frames were smaller than frame_max: it has grown
        if outcome == 0:
            return []
        self._large = None
        result: list[events.Event] = []
        self._events = result
        channel: ChannelCore = large.channel
        if (
            outcome is not None
            and self.channels.get(channel.channel_number) is channel
            and not channel._assembler.active
        ):
            body, after = outcome
            channel._on_content_set(large.method, large.properties, body)
        else:  # not plain body frames, or the channel changed: decode it all frame by frame
            after = large.everything()
        if rest is not None:
            after += rest
        if after and self.state is not _CS.CLOSED:
            result.extend(self.receive_data(after, now))
        return result

    def _receive_frame(self, buf: Union[bytes, bytearray], offset: int) -> int:
        """The general path of :meth:`receive_data`: decode and handle the frame (or the whole
        Basic.Deliver set) at ``offset``.

        :returns: the offset after what was handled; ``offset`` itself when more bytes are
            needed; ``len(buf)`` after a framing error (the connection is then closed)
        """
        channels = self.channels
        frame_max = self._rx_frame_max
        # A whole Basic.Deliver set (method, header, body) in one call and no frame objects.
        delivery = decode_deliver_set(buf, offset, frame_max)
        if delivery is not None:
            consumed, number, method, properties, body = delivery
            channel = channels.get(number) if number else None
            if channel is not None and channel._on_content_set(method, properties, body):
                return offset + consumed
        try:
            consumed, frame = decode_frame(buf, offset, frame_max)
        except Exception as exc:  # the decoder raises AMQPError; be defensive anyway
            self._protocol_error(FRAME_ERROR, f'FRAME_ERROR - {exc}')
            return len(buf)
        if frame is None:
            return offset
        number = frame.channel_number
        if not number:
            self._on_channel_zero(frame)
            return offset + consumed
        channel = channels.get(number)
        if channel is None:
            self._on_unknown_channel(frame)
            return offset + consumed
        method = getattr(frame, 'method', None)
        if method is not None and method.INDEX in _CONTENT_METHODS:
            taken = self._whole_content(buf, channel, method, offset, offset + consumed)
            if taken == 0:  # a large body is still arriving: wait for it
                return offset
            if taken is not None:
                return taken
        channel._on_frame(frame)
        return offset + consumed

    def _whole_content(
        self,
        buf: Union[bytes, bytearray],
        channel: ChannelCore,
        method: Any,
        start: int,
        offset: int,
    ) -> Optional[int]:
        """The content method at ``start`` was decoded and its frames follow at ``offset``: if
        the body is large, hand the whole message to the channel at once (see
        :func:`content.collect_body`), or read the rest of it in place (:class:`LargeMessage`).

        :returns: the offset after what was taken; 0 to wait for more bytes; None to go on
            frame by frame (small body, anything unusual)
        """
        number = channel.channel_number
        # A delivery the channel takes may wait for its header (and be read in place); anything
        # else goes on frame by frame, which reports a refused method without waiting.
        state = channel.state
        in_place = (
            type(method) is _Deliver
            and (state is _CH_OPEN or state is _CH_CANCELLING)
            and not channel._assembler.active
        )
        if len(buf) - offset < content.HEADER_PEEK_SIZE:
            return 0 if in_place else None  # 0: decode the method again with its header
        body_size = content.peek_body_size(buf, offset, number)
        if (
            not content.LARGE_BODY_MIN <= body_size <= content.LARGE_BODY_MAX
            or channel._assembler.active
        ):
            return None
        frame_max = self._rx_frame_max
        try:
            consumed, header = decode_frame(buf, offset, frame_max)
        except Exception:  # malformed: the frame-by-frame path reports it
            return None
        if header is None:
            return 0 if in_place else None
        properties = getattr(header, 'properties', None)
        body_start = offset + consumed
        found = content.collect_body(buf, body_start, number, body_size, frame_max)
        if found == 0 and in_place and body_size >= IN_PLACE_MIN:
            with memoryview(buf) as view:
                self._large = LargeMessage(
                    channel,
                    method,
                    properties,
                    body_size,
                    bytes(view[start:body_start]),
                    view[body_start:],
                    frame_max,
                )
            return len(buf)
        if not isinstance(found, tuple):
            return found  # 0 (wait) or None
        channel._on_content_set(method, properties, found[1])
        return found[0]

    def connection_lost(self, error: Optional[BaseException] = None) -> list[events.Event]:
        """The stream ended (EOF or socket error); return the closing events.

        :param error: the transport error, or None for a clean EOF
        """
        state = self.state
        if state is _CS.CLOSED:
            return []
        result: list[events.Event] = []
        self._events = result
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
            exc = exceptions.ConnectionClosedByClient(self._close_code, self._close_text)
        else:
            exc = exceptions.StreamLostError(f'Stream connection lost{reason}')
        self._terminate(exc)
        return result

    def tick(self, now: float) -> list[events.Event]:
        """Run timers: send a heartbeat when idle, detect a dead peer or an expired block.

        :param now: current time (same clock as :meth:`receive_data`)
        """
        if self.state is _CS.CLOSED:
            return []
        self._now = now
        result: list[events.Event] = []
        self._events = result
        self.deadline_changes += 1  # the heartbeat send check moves on
        timer = self._heartbeat_timer
        if timer is not None:
            if timer.is_timed_out(now):
                self._terminate(
                    exceptions.AMQPHeartbeatTimeout(
                        f'No data received from the broker for {now - timer.last_received:.1f} s '
                        f'(heartbeat {timer.interval} s)'
                    )
                )
                return result
            if timer.send_due(now, self.bytes_queued_total):
                self._write(content.HEARTBEAT_FRAME, 1)
                timer.bytes_seen = self.bytes_queued_total
        timeout = self.params.blocked_connection_timeout
        if self._blocked_since is not None and timeout and now >= self._blocked_since + timeout:
            self._terminate(
                exceptions.ConnectionBlockedTimeout(
                    f'Blocked by the broker for more than {timeout} s'
                )
            )
        return result

    def next_deadline(self) -> Optional[float]:
        """Absolute time at which :meth:`tick` must run next, or None when no timer is armed."""
        timer = self._heartbeat_timer  # None once CLOSED, like _blocked_since
        deadline = timer.next_deadline() if timer is not None else None
        timeout = self.params.blocked_connection_timeout
        if self._blocked_since is not None and timeout:
            blocked_deadline = self._blocked_since + timeout
            if deadline is None or blocked_deadline < deadline:
                deadline = blocked_deadline
        return deadline

    def data_to_send(self) -> Union[bytes, bytearray]:
        """Return everything queued for the broker and start a fresh buffer."""
        return self._output.take()

    def data_to_send_parts(self) -> list[BytesLike]:
        """Like :meth:`data_to_send`, as a list of buffers to write in order (scatter/gather):
        large ``bytes`` bodies are the caller's objects, not copies (see :class:`Output`)."""
        output = self._output
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
        result: list[events.Event] = []
        self._events = result
        if state is not _CS.OPEN:
            self._terminate(exceptions.ConnectionOpenAborted('close() during the handshake'))
            return result
        content.encode_method(0, spec.Connection.Close(reply_code, reply_text, 0, 0))  # validate
        self._close_code = reply_code
        self._close_text = reply_text
        self.state = next_connection_state(state, _CI.CLOSE)
        for channel in list(self.channels.values()):
            if channel.is_opening or channel.is_open:
                channel._begin_close(reply_code, reply_text)
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
            raise exceptions.ConnectionWrongStateError(f'Connection is {self.state.value.lower()}')
        limit = self.channel_max or _MAX_CHANNELS
        if channel_number is None:
            channel_number = self._free_channel_number(limit)
        elif not isinstance(channel_number, int) or isinstance(channel_number, bool):
            raise TypeError(f'channel_number must be int, got {channel_number!r}')
        elif not 1 <= channel_number <= limit:
            raise ChannelNumberError(f'channel number {channel_number} not in 1..{limit}')
        elif channel_number in self.channels:
            raise ChannelNumberError(f'channel number {channel_number} is in use')
        channel = ChannelCore(self, channel_number)
        self.channels[channel_number] = channel
        self._send_method(channel_number, spec.Channel.Open())
        return channel

    def update_secret(self, new_secret: str, reason: str) -> None:
        """Send Connection.UpdateSecret; the reply is an ``RpcReply`` on channel 0.

        :raises ConnectionWrongStateError: the connection is not open
        """
        if not isinstance(new_secret, str) or not isinstance(reason, str):
            raise TypeError('new_secret and reason must be str')
        if self.state is not _CS.OPEN:
            raise exceptions.ConnectionWrongStateError(f'Connection is {self.state.value.lower()}')
        data = content.encode_method(
            0, spec.Connection.UpdateSecret(new_secret=new_secret, reason=reason)
        )
        self._secret_queue.append(data)
        if len(self._secret_queue) == 1:
            self._write(data, 1)

    # ----------------------------------------------------------------- output (used by channels)

    def _write(self, data: bytes, frames: int) -> None:
        self._output.buffer += data
        self.frames_sent += frames
        self.bytes_queued_total += len(data)

    def _send_method(self, channel_number: int, method: Any) -> None:
        data = content.encode_method(channel_number, method)
        self._output.buffer += data
        self.frames_sent += 1
        self.bytes_queued_total += len(data)

    def _send_publish(
        self,
        channel_number: int,
        method_frame: bytes,
        properties: Optional[spec.BasicProperties],
        body: BytesLike,
    ) -> None:
        encoded_properties = content.encode_properties(properties)  # may raise: nothing written yet
        output = self._output
        out = output.buffer
        out += method_frame
        if len(body) >= _BODY_REF_MIN and type(body) is bytes:
            written = content.append_header(out, channel_number, encoded_properties, len(body))
            frames, body_written = output.queue_body_refs(channel_number, body, self._max_payload)
            frames += 1
            written += body_written
        else:
            frames, written = content.append_content(
                out, channel_number, encoded_properties, body, self._max_payload
            )
        self.frames_sent += frames + 1
        self.bytes_queued_total += written + len(method_frame)

    # ----------------------------------------------------------------- closing

    def _protocol_error(self, reply_code: int, reply_text: str) -> None:
        """The peer broke the protocol: queue Connection.Close and finish at once."""
        LOGGER.debug('Protocol error: %s', reply_text)
        if self.state in (_CS.START_OK_SENT, _CS.OPEN_SENT, _CS.OPEN, _CS.CLOSING):
            self._send_method(0, spec.Connection.Close(reply_code, short_text(reply_text), 0, 0))
        self._terminate(exceptions.ConnectionClosed(reply_code, reply_text))

    def _terminate(self, error: exceptions.AMQPError, how: ConnectionInput = _CI.FAIL) -> None:
        """Move to CLOSED, close every channel with ``error`` and emit the final event."""
        self.state = next_connection_state(self.state, how)
        self._heartbeat_timer = None
        self._blocked_since = None
        self._large = None
        self.deadline_changes += 1
        self._secret_queue.clear()
        channels = list(self.channels.values())
        self.channels.clear()
        for channel in channels:
            channel._connection_gone(error)
        final: events.Event
        if self._opened:
            final = events.ConnectionClosed(error)
        else:
            final = events.ConnectionOpenFailed(error)
        LOGGER.debug('Connection finished: %r', error)
        self._events.append(final)

    def _channel_finished(self, channel: ChannelCore) -> None:
        """A channel emitted ChannelClosed: free its number; maybe finish a client close."""
        if self.channels.get(channel.channel_number) is channel:
            del self.channels[channel.channel_number]
        self._maybe_send_close()

    def _maybe_send_close(self) -> None:
        if self.state is _CS.CLOSING and not self.channels:
            self.state = next_connection_state(self.state, _CI.CHANNELS_CLOSED)
            self._send_method(0, spec.Connection.Close(self._close_code, self._close_text, 0, 0))

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
