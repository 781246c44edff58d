"""The receive path of :class:`pika._core.connection.ConnectionCore`: bytes in, events out.

A base class of ``ConnectionCore``, split out to keep the core module readable. It decodes what
the transport hands over (:meth:`FrameReceiver.receive_data`, or bytes read in place into
:meth:`FrameReceiver.receive_buffer`) and routes each frame to its channel, channel 0 or the
unknown-channel handler. Three shortcuts decode the common cases without building frame
objects: whole method frames in place, runs of complete Basic.Deliver sets
(:func:`pika._wire.deliveries.decode_deliveries`), and large bodies taken whole from the buffer or
read in place (:mod:`pika._core.large_message`); each is tested against the general path. The
state lives on ``ConnectionCore``; the annotations below only tell type checkers which of its
attributes and methods this code uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

from pika import spec
from pika._core import content, events
from pika._core.large_message import IN_PLACE_MIN, LargeMessage
from pika._core.states import FRAME_ERROR, ChannelState, ConnectionState
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
    from pika._core.buffer import ReceiveBuffer
    from pika._core.channel import ChannelCore
    from pika._core.heartbeat import HeartbeatTimer

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
    """Decoding and routing of received bytes; mixed into ``ConnectionCore`` (which holds the
    state)."""

    if TYPE_CHECKING:
        state: ConnectionState
        channels: dict[int, ChannelCore]
        max_message_size: int
        _buffer: ReceiveBuffer
        large_message: Optional[LargeMessage]
        _spare_buffer: Optional[bytearray]
        _events: list[events.Event]
        _heartbeat_timer: Optional[HeartbeatTimer]
        _rx_frame_max: Optional[int]
        _now: float

        def _on_channel_zero(self, frame: Any) -> None: ...
        def _on_unknown_channel(self, number: int) -> None: ...
        def _protocol_error(self, reply_code: int, reply_text: str) -> None: ...

    def receive_data(self, data: BytesLike, now: float) -> list[events.Event]:
        """Feed bytes received from the broker; return the resulting events.

        :param data: received bytes (any length, frames may be split anywhere)
        :param now: current time (seconds, same clock as :meth:`tick`)
        """
        # Branch complexity 18, above the rule's 15 on purpose: what remains is the per-read
        # and per-frame common case (read checks, the method-frame and delivery shortcuts, the
        # leftover buffer), each of which would cost a function call per read or per frame if
        # moved out; the cold branches go through _large_progress, _receive_frame and
        # HeartbeatTimer.received. Numbers in the commit that brought it from 21 to 18.
        if self.state is _CLOSED or not data:
            return []
        if self.large_message is not None:
            return self._large_progress(self.large_message.append(data), now, len(data))
        self._now = now
        timer = self._heartbeat_timer  # liveness is recorded in the finally clause below
        result: list[events.Event] = []
        self._events = result
        buffer = self._buffer
        if buffer.data:
            buf = buffer.feed(data)
        else:  # nothing left over: decode the read itself (what feed() would do, inlined; the
            # buffer keeps it only if a frame is cut at its end, see the finally clause)
            buf = data if type(data) is bytes else bytes(data)
        start = offset = buffer.offset
        total = len(buf)
        channels = self.channels
        frame_max = self._rx_frame_max
        limit = frame_max - FRAME_OVERHEAD if frame_max else NO_FRAME_LIMIT
        try:
            while offset < total:
                if self.state is _CLOSED:  # the last frame closed the connection
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
                        and not channel._assembler.active
                    ):
                        if method_id == _DELIVER_ID and (
                            (state := channel.state) is _CH_OPEN or state is _CH_CANCELLING
                        ):
                            # All the Deliver sets that follow, in one call: no bookkeeping
                            # but the event (what ChannelCore._on_content_set does).
                            after = decode_deliveries(
                                buf,
                                offset,
                                frame_max,
                                number,
                                result,
                                _MessageDelivered,
                                self.max_message_size,
                            )
                            if after != offset:
                                offset = after
                                continue
                        elif (method_class := _FAST_METHODS.get(method_id)) is not None:
                            # Every generated decode() stores all the fields in constructor
                            # order, so __init__ is not run (see test_receive_shortcuts.py).
                            method: Any = _new(method_class)
                            payload = buf[offset + _ARGUMENTS_AT : end]
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
                                continue
                after = self._receive_frame(buf, offset)
                if after == offset:  # incomplete: wait for more bytes
                    break
                offset = after
        finally:
            if timer is not None:
                if offset != start:  # a whole frame: the peer is alive
                    timer.last_received = now
                    timer.unproven = 0
                else:  # only part of one: its bytes count (the rule of HeartbeatTimer.received)
                    timer.received(now, len(data), False)
            if offset < total or buffer.data:  # else nothing to keep and nothing to drop
                buffer.data = buf
                buffer.offset = offset
                buffer.compact()
        return result

    def receive_buffer(self) -> Optional[memoryview]:
        """Where the next read should go while a large message body arrives, else None (read
        anywhere and call :meth:`receive_data`). After reading into it, call
        :meth:`received_into`; nothing else may write to it."""
        large = self.large_message
        return None if large is None else large.room()

    def received_into(self, nbytes: int, now: float) -> list[events.Event]:
        """``nbytes`` (> 0) were read into :meth:`receive_buffer`; return the resulting events."""
        large = self.large_message
        if large is None or self.state is _CLOSED or nbytes <= 0:
            return []
        if nbytes > len(large.view) - large.filled:
            raise ValueError(f'received_into({nbytes}): more than receive_buffer() offered')
        large.filled += nbytes
        return self._large_progress(None, now, nbytes)

    def _large_progress(
        self, rest: Optional[memoryview], now: float, nbytes: int
    ) -> list[events.Event]:
        """Bytes were added to the large message: deliver it once whole, then decode what
        followed (and ``rest``, received beyond its buffer) the ordinary way."""
        self._now = now
        timer = self._heartbeat_timer
        if timer is not None:  # bytes of the body count; its last frame is whole below
            timer.received(now, nbytes, False)
        large: Any = self.large_message
        while True:
            outcome = large.outcome()
            if outcome != 0 or rest is None:
                break
            rest = large.append(rest)  # the frames were smaller than frame_max: it has grown
        if outcome == 0:
            return []
        self.large_message = None
        if timer is not None:
            timer.received(now, 0, True)
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
        self._spare_buffer = large.release()  # all it held was copied out: reuse it
        if rest is not None:
            after += rest
        if after and self.state is not _CLOSED:
            result.extend(self.receive_data(after, now))
        return result

    def _receive_frame(self, buf: Union[bytes, bytearray], offset: int) -> int:
        """The general path of :meth:`receive_data`: decode and handle the frame at ``offset``.

        Whole Basic.Deliver sets are not tried here: :meth:`receive_data` has offered every
        delivery to an open channel to :func:`decode_deliveries` already. Deliveries to a
        channel in any other state are rare and go frame by frame, with the same effect.

        :returns: the offset after what was handled; ``offset`` itself when more bytes are
            needed; ``len(buf)`` after a framing error (the connection is then closed)
        """
        channels = self.channels
        frame_max = self._rx_frame_max
        try:
            consumed, frame = decode_frame(buf, offset, frame_max)
        except Exception as exc:  # the decoder raises AMQPError; be defensive anyway
            self._protocol_error(FRAME_ERROR, f'FRAME_ERROR - {exc}')
            return len(buf)
        if frame is None:  # incomplete: wait, unless its head already says it is refused
            return len(buf) if self._refused_at_head(buf, offset) else offset
        number = frame.channel_number
        if not number:
            self._on_channel_zero(frame)
            return offset + consumed
        channel = channels.get(number)
        if channel is None:
            self._on_unknown_channel(number)
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

    def _refused_at_head(self, buf: Union[bytes, bytearray], offset: int) -> bool:
        """Whether the incomplete frame at ``offset`` is for a channel that is not open (or
        beyond channel_max): refused once its 7-byte head is in, instead of waiting for up to
        frame_max bytes of a frame that will be refused anyway (the connection is then closed).
        """
        if len(buf) - offset < FRAME_HEADER_SIZE or self.state is _CS_CLOSE_SENT:
            return False
        kind, number = _FRAME_KIND_CHANNEL(buf, offset)
        if kind == PROTOCOL_HEADER_FIRST or not number or number in self.channels:
            return False
        self._on_unknown_channel(number)
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
        if self.body_size_refused(number, body_size):
            return len(buf)
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
                self.large_message = LargeMessage(
                    channel,
                    method,
                    properties,
                    body_size,
                    bytes(view[start:body_start]),
                    view[body_start:],
                    frame_max,
                    self._spare_buffer,
                )
            self._spare_buffer = None  # the message owns it now
            return len(buf)
        if not isinstance(found, tuple):
            return found  # 0 (wait) or None
        channel._on_content_set(method, properties, found[1])
        return found[0]

    def body_size_refused(self, channel_number: int, body_size: int) -> bool:
        """Whether a content header announcing ``body_size`` bytes on ``channel_number`` is
        refused (also asked by channels for the headers they decode themselves): above
        ``max_message_size`` the connection is closed (506 RESOURCE_ERROR) before anything is
        allocated for the body (docs/limits.md says why the connection, not the channel)."""
        limit = self.max_message_size
        if body_size <= limit:
            return False
        self._protocol_error(
            spec.RESOURCE_ERROR,
            f'RESOURCE_ERROR - message body of {body_size} bytes on channel {channel_number} '
            f'exceeds max_message_size {limit}',
        )
        return True
