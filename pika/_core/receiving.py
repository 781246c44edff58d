"""The receive path of a connection: bytes in, frames routed to their handlers.

:class:`FrameReceiver` is the part of :class:`pika._core.connection.ConnectionCore` that decodes
what the transport hands over (:meth:`FrameReceiver.receive_data`, or bytes read in place into
:meth:`FrameReceiver.receive_buffer`) and routes each frame to its channel, to the connection's
channel-0 handler or to its unknown-channel handler. It owns what decoding needs between reads:
the leftover bytes of a cut frame, the large message being read in place and the inbound frame
limit. Three shortcuts decode the common cases without building frame objects: whole method
frames in place, runs of complete Basic.Deliver sets
(:func:`pika._wire.deliveries.decode_deliveries`), and large bodies taken whole from the buffer or
read in place (:mod:`pika._core.large_message`); each is tested against the general path.

The connection starts each call (it checks its state, notes ``now`` and starts the list of
events, :attr:`ConnectionCore.events`, that the channels append to); the receiver appends the
deliveries it decodes itself to the same list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika import spec
from pika._core import content, events
from pika._core.buffer import ReceiveBuffer
from pika._core.large_message import IN_PLACE_MIN, LargeMessage
from pika._core.states import FRAME_ERROR, ChannelState, ConnectionState
from pika._limits import HANDSHAKE_FRAME_MAX
from pika._wire import bodies
from pika._wire.constants import (
    FRAME_END,
    FRAME_HEADER_SIZE,
    FRAME_KIND_CHANNEL,
    FRAME_METHOD,
    FRAME_OVERHEAD,
    METHOD_FRAME_HEAD,
    METHOD_ID_SIZE,
    NO_FRAME_LIMIT,
    PROTOCOL_HEADER_FIRST,
)
from pika._wire.decode import decode_frame
from pika._wire.deliveries import decode_deliveries

if TYPE_CHECKING:
    from pika._core.channel import ChannelCore
    from pika._core.channel_zero import ChannelZero
    from pika._core.connection import ConnectionCore

__all__ = ['FrameReceiver']

BytesLike = Union[bytes, bytearray, memoryview]

_CLOSED: ConnectionState = ConnectionState.CLOSED  # typed alias: mypy must not narrow on it
_CH_OPEN = ChannelState.OPEN
_CH_CANCELLING = ChannelState.CANCELLING
_CONTENT_METHODS = frozenset(
    (spec.Basic.Deliver.INDEX, spec.Basic.Return.INDEX, spec.Basic.GetOk.INDEX)
)
_DELIVER_ID = spec.Basic.Deliver.INDEX
_Deliver = spec.Basic.Deliver
_METHOD_HEAD = METHOD_FRAME_HEAD.unpack_from
#: Where a method frame's arguments start.
_ARGUMENTS_AT = METHOD_FRAME_HEAD.size
#: The methods receive_data's fast path decodes itself: every method without content (those
#: need the content frames that follow, and Basic.Deliver has its own batch decoder).
_FAST_METHODS: dict[int, type] = {
    index: method_class
    for index, method_class in spec.methods.items()
    if index not in _CONTENT_METHODS
}
_MessageDelivered = events.MessageDelivered
_FRAME_KIND_CHANNEL = FRAME_KIND_CHANNEL.unpack_from
_CS_CLOSE_SENT = ConnectionState.CLOSE_SENT
_new = object.__new__


class FrameReceiver:
    """Decoding and routing of received bytes for one connection.

    :param connection: the connection whose channels, state, limits and event list it uses
        (``state``, ``channels``, ``max_message_size``, ``heartbeat_timer``, ``events``,
        :meth:`~ConnectionCore.close_for_protocol_error`,
        :meth:`~ConnectionCore.body_size_refused`)
    :param channel_zero: where channel-0 frames and frames for unknown channels go
    """

    def __init__(self, connection: ConnectionCore, channel_zero: ChannelZero) -> None:
        self._conn = connection
        self._channel_zero = channel_zero
        #: received bytes not decoded yet (a frame cut at the end of a read)
        self.buffer: ReceiveBuffer = ReceiveBuffer()
        #: The large delivery being read in place (see receive_buffer), else None: a transport
        #: reads ``ConnectionCore.large_message`` before each read, which costs less than
        #: calling receive_buffer.
        self.large_message: Optional[LargeMessage] = None
        #: a finished large message's buffer, reused by the next one
        self.spare_buffer: Optional[bytearray] = None
        #: the largest inbound frame accepted (None: no limit): the handshake cap until Tune
        self.frame_max: Optional[int] = HANDSHAKE_FRAME_MAX

    def reset(self) -> None:
        """The connection is finished: drop the large message and its buffers."""
        self.large_message = None
        self.spare_buffer = None

    def receive_data(self, data: BytesLike, now: float) -> None:
        """Decode bytes received from the broker and route their frames; the events go to the
        connection's event list (:meth:`ConnectionCore.receive_data` is the entry point).

        :param data: received bytes, not empty (frames may be split anywhere); the connection
            is not closed and no large message is being read in place (then the bytes go to
            :meth:`receive_more`)
        :param now: current time (seconds, same clock as ``ConnectionCore.tick``)
        """
        # The per-frame common case (the method-frame and delivery shortcuts) stays in this
        # one function: each piece moved out would cost a call per frame. The cold branches go
        # through _large_progress and _receive_frame.
        conn = self._conn
        timer = conn.heartbeat_timer
        result = conn.events
        buffer = self.buffer
        if buffer.data:
            buf = buffer.feed(data)
        else:  # nothing left over: decode the read itself (what feed() would do, without
            # storing it: the buffer keeps it only if a frame is cut at its end, see keep())
            buf = data if type(data) is bytes else bytes(data)
        start = offset = buffer.offset
        total = len(buf)
        channels = conn.channels
        frame_max = self.frame_max
        limit = frame_max - FRAME_OVERHEAD if frame_max else NO_FRAME_LIMIT
        try:
            while offset < total:
                if conn.state is _CLOSED:  # the last frame closed the connection
                    offset = total  # drop whatever follows
                    break
                # Fast path, inlined because every RPC reply, confirm and delivery takes it: a
                # whole method frame for a channel that is not assembling a message is decoded
                # here, without a frame object, and handed to the channel's method handler --
                # what the general path does, step by step. Anything else, and anything the
                # fast path has a doubt about (incomplete, oversized, malformed), goes through
                # _receive_frame, which reports errors as usual.
                if buf[offset] == FRAME_METHOD and total - offset > _ARGUMENTS_AT:
                    _, number, size, method_id = _METHOD_HEAD(buf, offset)
                    end = offset + FRAME_HEADER_SIZE + size  # index of the frame-end octet
                    channel = channels.get(number)  # never channel 0: that is not in the dict
                    if (
                        channel is not None
                        and METHOD_ID_SIZE <= size <= limit
                        and end < total
                        and buf[end] == FRAME_END
                        and not channel.assembler.active
                    ):
                        if method_id == _DELIVER_ID and (
                            (state := channel.state) is _CH_OPEN or state is _CH_CANCELLING
                        ):
                            # All the Deliver sets that follow, in one call: no bookkeeping
                            # but the event (what ChannelCore.on_content_set does), and with
                            # recovery on, the tags of the run made the application's.
                            first = len(result)
                            after = decode_deliveries(
                                buf,
                                offset,
                                frame_max,
                                number,
                                result,
                                _MessageDelivered,
                                conn.max_message_size,
                            )
                            if after != offset:
                                channel.deliveries_decoded(result, first)
                                offset = after
                                continue
                        elif (method_class := _FAST_METHODS.get(method_id)) is not None:
                            # Every generated decode() stores all the fields in constructor
                            # order, so __init__ is not run (see test_received_frames.py).
                            method: Any = _new(method_class)
                            payload = buf[offset + _ARGUMENTS_AT : end]
                            if not isinstance(payload, bytes):  # decoders get bytes
                                payload = bytes(payload)
                            try:
                                method.decode(payload)
                            except Exception:  # malformed: _receive_frame reports it
                                pass
                            else:
                                # What ChannelCore.on_frame does for a method frame.
                                offset = end + 1
                                channel.on_method(method)
                                continue
                after = self._receive_frame(buf, offset)
                if after == offset:  # incomplete: wait for more bytes
                    break
                offset = after
        finally:
            if timer is not None:  # a whole frame proves the peer alive, part of one may
                timer.received(now, len(data), offset != start)
            if offset < total or buffer.data:  # else nothing to keep: one call less a read
                buffer.keep(buf, offset)

    def receive_more(self, data: BytesLike, now: float) -> None:
        """Bytes received while :attr:`large_message` is read in place: they go to its
        buffer (and what follows the message is decoded as usual)."""
        large = self.large_message
        assert large is not None
        self._large_progress(large.append(data), now, len(data))

    def receive_buffer(self) -> Optional[memoryview]:
        """Where the next read should go while a large message body arrives, else None (read
        anywhere and call :meth:`receive_data`). After reading into it, call
        :meth:`received_into`; nothing else may write to it."""
        large = self.large_message
        return None if large is None else large.room()

    def received_into(self, nbytes: int, now: float) -> None:
        """``nbytes`` were read into :meth:`receive_buffer` (the connection is not closed); the
        events go to the connection's event list."""
        large = self.large_message
        if large is None or nbytes <= 0:
            return
        if nbytes > len(large.view) - large.filled:
            raise ValueError(f'received_into({nbytes}): more than receive_buffer() offered')
        large.filled += nbytes
        self._large_progress(None, now, nbytes)

    def _large_progress(self, rest: Optional[memoryview], now: float, nbytes: int) -> None:
        """Bytes were added to the large message: deliver it once whole, then decode what
        followed (and ``rest``, received beyond its buffer) the ordinary way."""
        conn = self._conn
        timer = conn.heartbeat_timer
        if timer is not None:  # bytes of the body count; its last frame is whole below
            timer.received(now, nbytes, False)
        large: Any = self.large_message
        while True:
            outcome = large.outcome()
            if outcome != 0 or rest is None:
                break
            rest = large.append(rest)  # the frames were smaller than frame_max: it has grown
        if outcome == 0:
            return
        self.large_message = None
        if timer is not None:
            timer.received(now, 0, True)
        channel: ChannelCore = large.channel
        if (
            outcome is not None
            and conn.channels.get(channel.channel_number) is channel
            and not channel.assembler.active
        ):
            body, after = outcome
            channel.on_content_set(large.method, large.properties, body)
        else:  # not plain body frames, or the channel changed: decode it all frame by frame
            after = large.everything()
        self.spare_buffer = large.release()  # all it held was copied out: reuse it
        if rest is not None:
            after += rest
        if after and conn.state is not _CLOSED:
            self.receive_data(after, now)

    def _receive_frame(self, buf: Union[bytes, bytearray], offset: int) -> int:
        """The general path of :meth:`receive_data`: decode and handle the frame at ``offset``.

        Whole Basic.Deliver sets are not tried here: :meth:`receive_data` has offered every
        delivery to an open channel to :func:`decode_deliveries` already. Deliveries to a
        channel in any other state are rare and go frame by frame, with the same effect.

        :returns: the offset after what was handled; ``offset`` itself when more bytes are
            needed; ``len(buf)`` after a framing error (the connection is then closed)
        """
        try:
            consumed, frame = decode_frame(buf, offset, self.frame_max)
        except Exception as exc:  # the decoder raises AMQPError; be defensive anyway
            self._conn.close_for_protocol_error(FRAME_ERROR, f'FRAME_ERROR - {exc}')
            return len(buf)
        if frame is None:  # incomplete: wait, unless its head already says it is refused
            return len(buf) if self._refused_at_head(buf, offset) else offset
        number = frame.channel_number
        if not number:
            self._channel_zero.on_frame(frame)
            return offset + consumed
        channel = self._conn.channels.get(number)
        if channel is None:
            self._channel_zero.on_unknown_channel(number)
            return offset + consumed
        method = getattr(frame, 'method', None)
        if method is not None and method.INDEX in _CONTENT_METHODS:
            taken = self._whole_content(buf, channel, method, offset, offset + consumed)
            if taken == 0:  # a large body is still arriving: wait for it
                return offset
            if taken is not None:
                return taken
        channel.on_frame(frame)
        return offset + consumed

    def _refused_at_head(self, buf: Union[bytes, bytearray], offset: int) -> bool:
        """Whether the incomplete frame at ``offset`` is for a channel that is not open (or
        beyond channel_max): refused once its 7-byte head is in, instead of waiting for up to
        frame_max bytes of a frame that will be refused anyway (the connection is then closed).
        """
        conn = self._conn
        if len(buf) - offset < FRAME_HEADER_SIZE or conn.state is _CS_CLOSE_SENT:
            return False
        kind, number = _FRAME_KIND_CHANNEL(buf, offset)
        if kind == PROTOCOL_HEADER_FIRST or not number or number in conn.channels:
            return False
        self._channel_zero.on_unknown_channel(number)
        return True

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
        :func:`pika._wire.bodies.collect_body`), or read the rest of it in place
        (:class:`LargeMessage`).

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
            and not channel.assembler.active
        )
        if len(buf) - offset < bodies.HEADER_PEEK_SIZE:
            return 0 if in_place else None  # 0: decode the method again with its header
        body_size = bodies.peek_body_size(buf, offset, number)
        if self._conn.body_size_refused(number, body_size):
            return len(buf)
        if (
            not content.LARGE_BODY_MIN <= body_size <= content.LARGE_BODY_MAX
            or channel.assembler.active
        ):
            return None
        frame_max = self.frame_max
        try:
            consumed, header = decode_frame(buf, offset, frame_max)
        except Exception:  # malformed: the frame-by-frame path reports it
            return None
        if header is None:
            return 0 if in_place else None
        properties = getattr(header, 'properties', None)
        body_start = offset + consumed
        found = bodies.collect_body(buf, body_start, number, body_size, frame_max)
        if found == 0 and in_place and body_size >= IN_PLACE_MIN:
            with memoryview(buf) as view:
                self.large_message = LargeMessage(
                    channel,
                    method,
                    properties,
                    body_size,
                    bytes(view[start:body_start]),
                    view[body_start:],
                    frame_max,
                    self.spare_buffer,
                )
            self.spare_buffer = None  # the message owns it now
            return len(buf)
        if not isinstance(found, tuple):
            return found  # 0 (wait) or None
        channel.on_content_set(method, properties, found[1])
        return found[0]
