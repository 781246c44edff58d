"""ChannelCore: the protocol state of one AMQP channel, without I/O.

A channel is created by :meth:`ConnectionCore.open_channel`, which sends Channel.Open. After
that the front-end drives it with :meth:`ChannelCore.rpc` (synchronous methods: one outstanding
at a time, the rest queued in order), :meth:`ChannelCore.send` (asynchronous methods),
:meth:`ChannelCore.publish` and :meth:`ChannelCore.close`. Inbound frames arrive from the
connection's receiver (:meth:`ChannelCore.on_frame`, or already decoded:
:meth:`ChannelCore.on_method`, :meth:`ChannelCore.on_content_set`) and become events on the
connection's event list.

A channel writes its frames into the connection's :class:`~pika._core.output.Output`, which it
is given, and uses only the connection's public members: ``state``/``is_closed``, ``events``,
:meth:`~pika._core.connection.ConnectionCore.channel_finished`,
:meth:`~pika._core.connection.ConnectionCore.close_for_protocol_error` and
:meth:`~pika._core.connection.ConnectionCore.body_size_refused`.

State transitions go through :mod:`pika._core.states` only.
"""

from __future__ import annotations

import copy as copy_module
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions, spec
from pika._core import events
from pika._core.content import ContentAssembler
from pika._core.states import (
    CHANNEL_INBOUND,
    COMMAND_INVALID,
    FRAME_ERROR,
    UNEXPECTED_FRAME,
    ChannelInput,
    ChannelState,
    ConnectionState,
    next_channel_state,
)
from pika._wire.constants import (
    ACK_FRAME,
    ACK_PAYLOAD_SIZE,
    BASIC_ACK_ID,
    BASIC_CLASS_ID,
    CONNECTION_CLASS_ID,
    EMPTY_CONTENT_HEADER_SIZE,
    EMPTY_HEADER_AND_BODY_HEAD,
    FRAME_BODY,
    FRAME_END,
    FRAME_END_BYTE,
    FRAME_END_SIZE,
    FRAME_HEADER,
    FRAME_METHOD,
    FRAME_OVERHEAD,
    LONGLONG_MAX,
    METHOD_FRAME_HEAD,
    METHOD_ID_SIZE,
)
from pika._wire.encode import encode_method, encode_publish_method, frame_too_large

if TYPE_CHECKING:
    from pika._core.connection import ConnectionCore
    from pika._core.output import Output
    from pika._core.recovery import ChannelRecord, PendingPublish, RecoveryRecord

LOGGER = logging.getLogger(__name__)

__all__ = ['ChannelCore', 'ChannelNumberError']

BytesLike = Union[bytes, bytearray, memoryview]

_OPEN = ChannelState.OPEN
_CANCELLING = ChannelState.CANCELLING
_CLOSING = ChannelState.CLOSING
_CLOSED = ChannelState.CLOSED
_PUBLISH_CACHE_LIMIT = 512


class ChannelNumberError(exceptions.InvalidChannelNumber, ValueError):
    """A requested channel number is out of range or already in use."""


def _expects_reply(method: Any) -> bool:
    """True when the broker will answer ``method`` (synchronous and not ``nowait``); inlined in
    :meth:`ChannelCore.rpc`."""
    return bool(method.synchronous) and not getattr(method, 'nowait', False)


class ChannelCore:
    """Sans-I/O state of one channel.

    :param connection: the owning :class:`~pika._core.connection.ConnectionCore`
    :param output: the connection's outbound queue, where this channel writes its frames
    :param channel_number: this channel's number (1..channel_max)
    """

    def __init__(self, connection: ConnectionCore, output: Output, channel_number: int) -> None:
        self._conn = connection
        self._output = output
        self.channel_number = channel_number
        self.state: ChannelState = ChannelState.OPENING
        #: consumer tags the broker confirmed (ConsumeOk) and has not cancelled yet
        self.consumer_tags: set[str] = set()
        self._cancelling: set[str] = set()
        self._outstanding: Any = None
        self._outstanding_internal = False
        self._queue: deque[tuple[Any, bytes, bool]] = deque()
        #: collects an inbound message's frames; ``assembler.active`` while one is incomplete
        #: (the receiver's shortcuts then leave this channel's frames to :meth:`on_frame`)
        self.assembler: ContentAssembler = ContentAssembler()
        self._content_is_reply = False
        self._confirm = False
        #: the number of the last confirm-mode publish: the broker's delivery tag, or with
        #: recovery on the application's sequence number, which goes on across losses (the
        #: record maps broker tags to it: ChannelRecord.sequence_of)
        self._delivery_tag = 0
        self._close_code = 200
        self._close_text = 'Normal shutdown'
        self._broker_error: Optional[exceptions.ChannelClosed] = None
        self._publish_cache: dict[tuple[str, str, bool], bytes] = {}
        #: Recovery on (``params.recovery``): this channel's tags, publishes and modes kept
        #: for a reconnect (:class:`~pika._core.recovery.ChannelRecord`), and the
        #: connection's record, fed with every completed method. Both None when recovery is
        #: off, and then no line below consults them but one ``is not None`` per call.
        self.record: Optional[ChannelRecord] = None
        self.topology: Optional[RecoveryRecord] = None
        #: Recovery on: ``record`` once an application's delivery tag may differ from the
        #: broker's (after a loss, or in a transaction), for acks to be mapped; None before
        #: (and with recovery off), so that until then an ack pays nothing for recovery.
        self.tag_map: Optional[ChannelRecord] = None
        #: Recovery: the front-end answers the application's RPCs in flight at a loss by
        #: sending them again after the replay (the callback adapters, whose reply handlers
        #: stay queued) rather than failing them at once (BlockingConnection, whose waiting
        #: calls raise ``ConnectionRecovering``). Set by the front-end.
        self.resend_on_recovery = False
        #: The application's methods in flight or queued at the loss(es) since the last
        #: replay, in order; sent again by :meth:`resend_interrupted` (``resend_on_recovery``)
        self.interrupted: list[Any] = []
        #: A Tx.Commit of the application was in flight at the last loss: the broker may or
        #: may not have committed, so it is never sent again (the recoverer closes the channel)
        self.commit_interrupted: bool = False
        #: Recovery: a recovered confirm-mode channel is on probation until its first
        #: Basic.Ack; a Nack first makes the recoverer open it afresh (RabbitMQ 3.10.8 can
        #: keep a recovered channel nacking every publish to a quorum queue)
        self.on_probation: bool = False
        #: such fresh reopens since the last Basic.Ack (the recoverer bounds them)
        self.nack_reopens: int = 0
        # our Channel.Close of a reopen is in flight: everything but its CloseOk is dropped
        self._discarding = False
        self._saved_handlers: dict[str, Callable[[Any], None]] = {}
        self._was_opened = False
        self._method_handlers: dict[str, Callable[[Any], None]] = {
            'Channel.OpenOk': self._on_channel_open_ok,
            'Channel.Close': self._on_channel_close,
            'Channel.CloseOk': self._on_channel_close_ok,
            'Channel.Flow': self._on_channel_flow,
            'Basic.Deliver': self.assembler.start,
            'Basic.Return': self.assembler.start,
            'Basic.Ack': self._on_basic_ack,
            'Basic.Nack': self._on_basic_ack,
            'Basic.Cancel': self._on_basic_cancel,
        }

    # ----------------------------------------------------------------- properties

    @property
    def is_open(self) -> bool:
        """True once Channel.OpenOk arrived and no close has started."""
        return self.state is _OPEN

    @property
    def is_opening(self) -> bool:
        """True while waiting for Channel.OpenOk."""
        return self.state is ChannelState.OPENING

    @property
    def is_closing(self) -> bool:
        """True while a client close is in progress (cancelling consumers or awaiting CloseOk)."""
        return self.state is _CANCELLING or self.state is _CLOSING

    @property
    def is_closed(self) -> bool:
        """True once the channel is finished."""
        return self.state is _CLOSED

    @property
    def confirm_mode(self) -> bool:
        """True once Confirm.Select was sent (or queued) on this channel."""
        return self._confirm

    @property
    def outstanding_rpc(self) -> Any:
        """The synchronous method awaiting its reply, or None."""
        return self._outstanding

    # ----------------------------------------------------------------- public API

    def rpc(self, method: Any) -> None:
        """Send a synchronous method, or queue it until the previous RPC's reply arrives.

        ``nowait=True`` methods (and asynchronous ones) expect no reply: they go out as soon
        as nothing is queued before them. The reply becomes an ``RpcReply`` event (for
        Channel.OpenOk: ``ChannelOpened``).

        :param method: a ``pika.spec`` method instance
        :raises ChannelWrongStateError: the channel is not open
        :raises ConnectionWrongStateError: the connection is closed
        :raises FrameTooLargeError: the encoded method does not fit the negotiated frame_max
        """
        if self.state is not _OPEN or self._conn.state is _CONNECTION_CLOSED:
            self._require_state(_OPEN)
        try:
            index = method.INDEX
            synchronous = method.synchronous
        except AttributeError:
            raise TypeError(f'rpc() needs a pika.spec method, got {method!r}') from None
        if index >> 16 == CONNECTION_CLASS_ID or index in _LIFECYCLE:
            raise ValueError(f'{method.NAME} is managed by the core (use open_channel/close)')
        # encode_method, inlined (every RPC comes here); encoding errors raise here.
        payload = b''.join(method.encode())
        size = len(payload) + METHOD_ID_SIZE
        output = self._output
        if size > output.max_payload:  # the broker would close the connection
            raise frame_too_large(method.NAME, size + FRAME_OVERHEAD, output.frame_max)
        head = METHOD_FRAME_HEAD.pack(FRAME_METHOD, self.channel_number, size, index)
        data = head + payload + FRAME_END_BYTE
        if index in _RPC_SIDE_EFFECTS:  # one set lookup for the usual declare, bind, qos...
            self._before_rpc(method, index)
        if self._outstanding is not None or self._queue:
            self._queue.append((method, data, False))
            self._pump()
            return
        # Nothing waits before it (the usual case): what _pump does for one method, inlined
        # because every RPC comes here. Output.write, inlined too.
        output.buffer += data
        output.frames_sent += 1
        output.bytes_queued_total += len(data)
        nowait = getattr(method, 'nowait', False)
        if synchronous and not nowait:
            self._outstanding = method
            self._outstanding_internal = False
        elif nowait:
            self._on_nowait_sent(method)

    def _before_rpc(self, method: Any, index: int) -> None:
        """What sending ``method`` (one of :data:`_RPC_SIDE_EFFECTS`) changes before its reply:
        confirm mode, a consumer being cancelled, and with recovery on a transaction's state."""
        if index == _CONFIRM_SELECT_INDEX:
            self._confirm = True
        elif index == _CANCEL_INDEX:
            self._cancelling.add(method.consumer_tag)
        elif index == _TX_COMMIT_INDEX and self.record is not None:
            self._refuse_lost_transaction(self.record)
        elif index == _TX_SELECT_INDEX and self.record is not None:
            self.publish = self._publish_in_transaction  # type: ignore[method-assign]
            self.tag_map = self.record  # acks mark the transaction as having work

    def _refuse_lost_transaction(self, record: ChannelRecord) -> None:
        """Recovery: a Tx.Commit after a loss that rolled back the transaction's earlier
        work must not report success for what is left of it."""
        if record.take_transaction_lost():
            raise exceptions.TransactionInterrupted(
                f'Channel {self.channel_number}: the transaction was rolled back by the broker '
                'when the connection was lost; roll back and do it again'
            )

    def send(self, method: Any) -> None:
        """Send an asynchronous method at once (Basic.Ack/Nack/Reject, Basic.Recover-async...).

        Allowed while open and while consumers are being cancelled (so late deliveries can
        still be acknowledged).

        :raises ChannelWrongStateError: the channel is not open
        """
        if self.record is not None and getattr(method, 'INDEX', None) in _TAGGED:
            mapped = self.record.broker_tag_for(method.delivery_tag)
            if mapped is None:
                LOGGER.debug('Dropped %s of delivery tag %s: from before a recovery',
                             method.NAME, method.delivery_tag)  # fmt: skip
                return
            method = _with_tag(method, mapped)
            self._require_state(_OPEN, _CANCELLING, _RECOVERING)
        else:
            self._require_state(_OPEN, _CANCELLING)
        if not hasattr(method, 'INDEX'):
            raise TypeError(f'send() needs a pika.spec method, got {method!r}')
        self._output.write(encode_method(self.channel_number, method), 1)

    def ack(self, delivery_tag: int, multiple: bool = False) -> None:
        """Queue Basic.Ack: the same frame as ``send(Basic.Ack(...))``, packed in one struct call.

        Consumers ack every message, so this skips building and generically encoding a method
        object. ``delivery_tag`` must already be a checked int; ``multiple`` a bool.

        :raises ChannelWrongStateError: the channel is neither open nor cancelling
        """
        record = self.tag_map
        # Recovery on: before the first loss and outside a transaction, the application's
        # tag is the broker's and tag_map is None; only then is the record asked (a call per
        # ack costs about 5% of a consumed message, bench/NOTES.md "Cost of recovery").
        if record is not None:
            mapped = record.broker_tag_for(delivery_tag)
            if mapped is None:
                LOGGER.debug('Dropped Basic.Ack of delivery tag %s: from before a recovery',
                             delivery_tag)  # fmt: skip
                return
            delivery_tag = mapped
        state = self.state
        if state is not _OPEN and state is not _CANCELLING:
            # While recovering, only acks of deliveries on the new connection get here.
            self._require_state(_OPEN, _CANCELLING, _RECOVERING)
        if not 0 <= delivery_tag <= LONGLONG_MAX:
            self.send(spec.Basic.Ack(delivery_tag=delivery_tag, multiple=multiple))  # raises
            return
        output = self._output  # Output.write, inlined
        output.buffer += ACK_FRAME.pack(
            FRAME_METHOD, self.channel_number, ACK_PAYLOAD_SIZE, BASIC_ACK_ID, delivery_tag,
            multiple, FRAME_END,
        )  # fmt: skip
        output.frames_sent += 1
        output.bytes_queued_total += ACK_FRAME.size

    def ack_each(self, delivery_tags: list[int]) -> None:
        """Queue one Basic.Ack (``multiple=False``) per tag, in order, in one buffer append.

        For a front-end that collects the acks of a batch of callbacks and writes them once
        (``BlockingConnection``, docs/blocking.md). Each tag must already be a checked int in
        ``0..LONGLONG_MAX``.

        :raises ChannelWrongStateError: the channel is neither open nor cancelling
        """
        record = self.tag_map
        if record is not None:  # as in ack()
            delivery_tags = self._broker_tags(delivery_tags, record)
            if not delivery_tags:
                return
        state = self.state
        if state is not _OPEN and state is not _CANCELLING:
            self._require_state(_OPEN, _CANCELLING, _RECOVERING)
        pack = ACK_FRAME.pack
        number = self.channel_number
        data = b''.join([
            pack(FRAME_METHOD, number, ACK_PAYLOAD_SIZE, BASIC_ACK_ID, tag, False, FRAME_END)
            for tag in delivery_tags
        ])  # fmt: skip
        self._output.write(data, len(delivery_tags))  # once per batch: no need to inline

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: BytesLike,
        properties: Optional[spec.BasicProperties] = None,
        mandatory: bool = False,
    ) -> Optional[int]:
        """Queue Basic.Publish + content header + body frames (body split by frame_max).

        :returns: the delivery tag (1, 2, ...) in confirm mode, else None
        :raises ChannelWrongStateError: the channel is not open
        :raises FrameTooLargeError: the properties do not fit one frame (frame_max)
        """
        if self.state is not _OPEN:
            self._require_state(_OPEN)
        key = (exchange, routing_key, mandatory)
        head = self._publish_cache.get(key)
        if head is None:
            if not isinstance(exchange, str) or not isinstance(routing_key, str):
                raise TypeError('exchange and routing_key must be str')
            head = encode_publish_method(
                self.channel_number, exchange, routing_key, bool(mandatory)
            )
            if len(self._publish_cache) >= _PUBLISH_CACHE_LIMIT:
                self._publish_cache.clear()
            self._publish_cache[key] = head
        if type(body) is not bytes:
            if isinstance(body, str):
                body = body.encode('utf-8')
            elif not isinstance(body, (bytes, bytearray, memoryview)):
                raise TypeError(f'body must be bytes, got {type(body).__name__}')
            elif self.record is not None and self._confirm:
                body = bytes(body)  # kept for a republish: the caller may reuse its buffer
        output = self._output
        size = len(body)
        if properties is None and 0 < size <= _SMALL_BODY and size <= output.max_payload:
            # The usual small message, which Output.send_publish would copy into the buffer as
            # three frames: the same bytes, with the content header and the body frame head in
            # one pack (and one call less per publish).
            channel = self.channel_number
            out = output.buffer
            out += head
            out += EMPTY_HEADER_AND_BODY_HEAD.pack(
                FRAME_HEADER, channel, EMPTY_CONTENT_HEADER_SIZE, BASIC_CLASS_ID, 0, size, 0,
                FRAME_END, FRAME_BODY, channel, size,
            )  # fmt: skip
            out += body
            out += FRAME_END_BYTE
            output.frames_sent += 3
            output.bytes_queued_total += len(head) + size + _EMPTY_HEADER_AND_BODY_OVERHEAD
        else:
            output.send_publish(self.channel_number, head, properties, body)
        if self._confirm:
            tag = self._delivery_tag + 1
            self._delivery_tag = tag
            record = self.record
            if record is None:
                return tag
            # Recovery on: kept until confirmed, to publish again after a loss, at the
            # index of its broker tag (ChannelRecord.sent; this append is the whole cost
            # of recovery on a confirm-mode publish, bench/NOTES.md).
            record.sent.append((key, body, properties))
            return tag
        return None

    def _publish_in_transaction(
        self,
        exchange: str,
        routing_key: str,
        body: BytesLike,
        properties: Optional[spec.BasicProperties] = None,
        mandatory: bool = False,
    ) -> Optional[int]:
        """:meth:`publish` of a channel in tx mode with recovery on (set over it at
        Tx.Select, so other channels pay nothing): the transaction now has work a loss
        would roll back."""
        tag = ChannelCore.publish(self, exchange, routing_key, body, properties, mandatory)
        if self.record is not None:
            self.record.tx_dirty = True
        return tag

    def close(self, reply_code: int = 200, reply_text: str = 'Normal shutdown') -> None:
        """Start a client close: cancel this channel's consumers, then send Channel.Close.

        The ``ChannelClosed`` event (``ChannelClosedByClient``) follows Channel.CloseOk.

        :raises ChannelWrongStateError: already closing or closed
        """
        if not isinstance(reply_code, int) or isinstance(reply_code, bool):
            raise TypeError('reply_code must be int')
        if not isinstance(reply_text, str):
            raise TypeError('reply_text must be str')
        self._require_state(ChannelState.OPENING, _OPEN)
        encode_method(0, spec.Channel.Close(reply_code, reply_text, 0, 0))  # validate
        self.begin_close(reply_code, reply_text)

    # ----------------------------------------------------------------- internals

    def _require_state(self, *allowed: ChannelState) -> None:
        """Raise the right wrong-state error unless the channel is in one of ``allowed``."""
        if self._conn.is_closed:
            raise exceptions.ConnectionWrongStateError('Connection is closed')
        if self.state is _RECOVERING and _RECOVERING not in allowed:
            raise exceptions.ConnectionRecovering(
                f'Channel {self.channel_number}: the connection is being recovered'
            )
        if self.state not in allowed:
            raise exceptions.ChannelWrongStateError(
                f'Channel {self.channel_number} is {self.state.value.lower()}'
            )

    def begin_close(self, reply_code: int, reply_text: str) -> None:
        """Start a client close without the checks of :meth:`close` (the connection's close
        calls it for every open or opening channel)."""
        self._close_code = reply_code
        self._close_text = reply_text
        self.state = next_channel_state(self.state, ChannelInput.CLOSE)
        if self.state is _CLOSING:  # was still opening: nothing to cancel
            self._send_close()
            return
        self._queue = deque(item for item in self._queue if item[2])  # drop unsent user RPCs
        self._continue_close()

    def _continue_close(self) -> None:
        """While CANCELLING: cancel remaining consumers, then send Channel.Close."""
        for tag in sorted(self.consumer_tags - self._cancelling):
            self._cancelling.add(tag)
            cancel = spec.Basic.Cancel(consumer_tag=tag)
            self._queue.append((cancel, encode_method(self.channel_number, cancel), True))
        self._pump()
        if not self.consumer_tags and self._outstanding is None and not self._queue:
            self.state = next_channel_state(self.state, ChannelInput.CONSUMERS_CANCELLED)
            self._send_close()

    def _send_close(self) -> None:
        self._queue.clear()
        self._output.send_method(
            self.channel_number, spec.Channel.Close(self._close_code, self._close_text, 0, 0)
        )

    def _pump(self) -> None:
        """Send queued methods until one that expects a reply is outstanding."""
        queue = self._queue
        while self._outstanding is None and queue:
            method, data, internal = queue.popleft()
            self._output.write(data, 1)
            if _expects_reply(method):
                self._outstanding = method
                self._outstanding_internal = internal
            elif getattr(method, 'nowait', False):
                self._on_nowait_sent(method)

    def _on_nowait_sent(self, method: Any) -> None:
        """Track consumers for nowait Consume/Cancel (no ConsumeOk/CancelOk will come)."""
        if self.topology is not None:
            self.topology.method_completed(self.channel_number, method, None)
        if method.INDEX == spec.Basic.Consume.INDEX and method.consumer_tag:
            self.consumer_tags.add(method.consumer_tag)
        elif method.INDEX == spec.Basic.Cancel.INDEX:
            self.consumer_tags.discard(method.consumer_tag)
            self._cancelling.discard(method.consumer_tag)

    def _emit(self, event: events.Event) -> None:
        self._conn.events.append(event)

    def _finish(self, error: Exception) -> None:
        """The channel is closed: emit ChannelClosed and let the connection forget it."""
        if self.topology is not None:  # closed for good: not a recovery case
            self.topology.channel_closed(self.channel_number)
        self._queue.clear()
        self._outstanding = None
        self._emit(events.ChannelClosed(self.channel_number, error))
        self._conn.channel_finished(self)

    def connection_gone(self, error: Exception) -> None:
        """The connection ended under us (called by the connection): close without any
        frame and emit ``ChannelClosed`` with ``error``."""
        if self.state is not _CLOSED:
            self.state = next_channel_state(self.state, ChannelInput.FAIL)
            self._queue.clear()
            self._outstanding = None
            self._emit(events.ChannelClosed(self.channel_number, error))

    # ----------------------------------------------------------------- inbound

    def on_frame(self, frame: Any) -> None:
        """Handle one inbound frame for this channel (called by the connection's receiver)."""
        frame_type = frame.frame_type
        if self.assembler.active:
            self._on_content_frame(frame, frame_type)
        elif frame_type == FRAME_METHOD:
            self.on_method(frame.method)
        elif self.state is _CLOSING:
            return  # content of a message we are discarding
        elif frame_type == FRAME_HEADER or frame_type == FRAME_BODY:
            self._conn.close_for_protocol_error(
                UNEXPECTED_FRAME,
                'UNEXPECTED_FRAME - content frame without a content method on channel '
                f'{self.channel_number}',
            )
        else:
            self._conn.close_for_protocol_error(
                FRAME_ERROR,
                f'FRAME_ERROR - frame type {frame_type!r} on channel {self.channel_number}',
            )

    def _on_content_frame(self, frame: Any, frame_type: int) -> None:
        assembler = self.assembler
        try:
            if frame_type == FRAME_BODY:
                body = assembler.on_body(frame.fragment)
            elif frame_type == FRAME_HEADER:
                if self._conn.body_size_refused(self.channel_number, frame.body_size):
                    return  # the connection is closed
                body = assembler.on_header(frame.body_size, frame.properties)
            else:
                raise exceptions.UnexpectedFrameError(
                    f'frame type {frame_type!r} while expecting content'
                )
        except exceptions.AMQPError as exc:
            assembler.active = False
            self._conn.close_for_protocol_error(
                UNEXPECTED_FRAME, f'UNEXPECTED_FRAME - channel {self.channel_number}: {exc}'
            )
            return
        if body is None or self.state is _CLOSING or self._discarding:
            return
        self._content_complete(body)

    def deliveries_decoded(self, delivered: list[Any], first: int) -> None:
        """The receiver's fast path appended a run of this channel's deliveries to
        ``delivered``, from ``first`` on. With recovery on, their tags become the
        application's (once per run: ``ChannelRecord.delivered_run``); else nothing to do."""
        if self.record is not None:
            self.record.delivered_run(delivered, first)

    def on_content_set(self, method: Any, properties: Any, body: bytes) -> bool:
        """Handle a content method with its header and whole body, decoded in one go.

        Called by the connection's whole-body and read-in-place paths for large bodies; the
        effect is that of the three frames through :meth:`on_frame`. Returns False, doing
        nothing, while another message is being assembled: the caller then feeds the frames one
        by one, so the protocol error is reported exactly as usual.
        """
        assembler = self.assembler
        if assembler.active:
            return False
        state = self.state
        if type(method) is _Deliver and (state is _OPEN or state is _CANCELLING):
            # What the general path below ends in for a delivery, minus its bookkeeping.
            if self.record is not None:
                method.delivery_tag = self.record.deliver(method.delivery_tag)
            self._conn.events.append(
                events.MessageDelivered(self.channel_number, method, properties, body)
            )
            return True
        self.on_method(method)
        if assembler.active:  # else the method was refused and the connection is failing
            complete = assembler.on_header(len(body), properties)
            if complete is None:
                complete = assembler.on_body(body)
            if complete is not None and self.state is not _CLOSING and not self._discarding:
                self._content_complete(complete)
        return True

    def _content_complete(self, body: bytes) -> None:
        """A whole message arrived: hand it to the RPC waiting for it or emit it."""
        assembler = self.assembler
        method = assembler.method
        if self._content_is_reply:
            self._content_is_reply = False
            self._on_reply(method, assembler.properties, body)
        elif method.INDEX == _DELIVER_INDEX:
            if self.record is not None:  # recovery on: the application's tag
                method.delivery_tag = self.record.deliver(method.delivery_tag)
            self._emit(
                events.MessageDelivered(self.channel_number, method, assembler.properties, body)
            )
        else:
            self._emit(
                events.MessageReturned(self.channel_number, method, assembler.properties, body)
            )

    def on_method(self, method: Any) -> None:
        """Handle one inbound method frame's method (the receiver decodes most of them itself
        and calls this instead of :meth:`on_frame`)."""
        name = method.NAME
        state = self.state
        if name in CHANNEL_INBOUND[state]:
            self._method_handlers[name](method)
            return
        if self._discarding:  # a late reply, our CloseOk: not on the hot path
            self._discard(method)
            return
        if state is _CLOSING:
            if spec.has_content(method.INDEX):
                self.assembler.start(method)  # swallow its header/body too
            return
        outstanding = self._outstanding
        if outstanding is not None and type(method) in outstanding.valid_responses:
            if name == 'Basic.GetOk':
                self._content_is_reply = True
                self.assembler.start(method)
            else:
                self._on_reply(method, None, None)
            return
        awaiting = outstanding.NAME if outstanding is not None else 'nothing'
        self._conn.close_for_protocol_error(
            COMMAND_INVALID,
            f'COMMAND_INVALID - unexpected {name} on channel {self.channel_number} '
            f'(state {self.state.value}, awaiting {awaiting})',
        )

    def _on_reply(self, method: Any, properties: Any, body: Optional[bytes]) -> None:
        internal = self._outstanding_internal
        request = self._outstanding
        self._outstanding = None
        self._outstanding_internal = False
        index = method.INDEX
        if index == _CONSUME_OK_INDEX:
            self.consumer_tags.add(method.consumer_tag)
        elif index == _CANCEL_OK_INDEX:
            self.consumer_tags.discard(method.consumer_tag)
            self._cancelling.discard(method.consumer_tag)
        if self.topology is not None and not internal:
            self._recorded_reply(request, method)
        if not internal:
            # events.RpcReply(...) without the class call (its __init__ is a C-to-Python
            # call: ~0.6k instructions of every RPC reply); test_received_frames.py checks
            # it equals the constructed event
            reply = _new(_RpcReply)
            reply.channel_number = self.channel_number
            reply.method = method
            reply.properties = properties
            reply.body = body
            self._conn.events.append(reply)
        elif self.state is _RECOVERING:  # a replay step's reply
            self._replay_reply(method)
            return
        if self.state is _CANCELLING:
            self._continue_close()
        elif self._queue:
            self._pump()

    def _on_channel_open_ok(self, method: Any) -> None:
        self.state = next_channel_state(self.state, ChannelInput.RECV_OPEN_OK)
        if self.state is _RECOVERING:  # reopened by the replay
            self._replay_reply(method)
            return
        self._was_opened = True
        self._emit(events.ChannelOpened(self.channel_number))

    def _on_channel_close(self, method: Any) -> None:
        self._output.send_method(self.channel_number, spec.Channel.CloseOk())
        error = exceptions.ChannelClosedByBroker(method.reply_code, method.reply_text)
        self.state = next_channel_state(self.state, ChannelInput.RECV_CLOSE)
        if self.state is _RECOVERING:  # the broker refused a replay step
            self._forget_session()
            recoverer = self._conn.recoverer
            if recoverer is not None:
                recoverer.step_failed(self, error)
        elif self.state is _CLOSING:
            self._broker_error = error  # crossing closes: finished when our CloseOk arrives
        else:
            self._finish(error)

    def _on_channel_close_ok(self, method: Any) -> None:
        self.state = next_channel_state(self.state, ChannelInput.RECV_CLOSE_OK)
        error = self._broker_error or exceptions.ChannelClosedByClient(
            self._close_code, self._close_text
        )
        self._finish(error)

    def _on_channel_flow(self, method: Any) -> None:
        self._output.send_method(self.channel_number, spec.Channel.FlowOk(active=method.active))
        self._emit(events.FlowChanged(self.channel_number, bool(method.active)))

    def _on_basic_ack(self, method: Any) -> None:
        """Basic.Ack/Nack from the broker: a publisher confirm. One for a channel not in confirm
        mode, or for a tag above the last we published, confirms nothing we sent: a broken peer,
        whose other confirms cannot be trusted either, so the connection is closed."""
        tag = method.delivery_tag
        record = self.record
        # the last broker tag published (record.next_broker_tag - 1, inlined)
        last = self._delivery_tag if record is None else record.first_tag + len(record.sent) - 1
        if not self._confirm:
            self._conn.close_for_protocol_error(
                COMMAND_INVALID,
                f'COMMAND_INVALID - {method.NAME} on channel {self.channel_number}, '
                'which is not in confirm mode',
            )
        elif tag > last:
            self._conn.close_for_protocol_error(
                spec.PRECONDITION_FAILED,
                f'PRECONDITION_FAILED - {method.NAME} for delivery tag {tag} on channel '
                f'{self.channel_number}, never published (last: {last})',
            )
        elif record is not None:
            if self.on_probation and self._nacked_on_probation(method):
                return
            self._confirmed_with_record(method, record)
        else:
            self._emit(events.DeliveryConfirmed(self.channel_number, method))

    def _nacked_on_probation(self, method: Any) -> bool:
        """The first confirm of a recovered channel: an Ack ends the probation; a Nack asks
        the recoverer to open the channel afresh. True: the confirm is not reported (its
        messages are published again on the fresh channel)."""
        if method.INDEX != _NACK_INDEX:
            self.on_probation = False
            self.nack_reopens = 0
            return False
        recoverer = self._conn.recoverer
        return recoverer is not None and recoverer.reopen_after_nack(self)

    def _confirmed_with_record(self, method: Any, record: ChannelRecord) -> None:
        """Recovery on: a confirm settles application sequence numbers, which differ from
        the broker's tags once unconfirmed messages were published again after a loss (the
        same ``multiple``: sequence numbers rise with broker tags on a connection)."""
        sequence = record.confirmed_sequence(method.delivery_tag, method.multiple)
        if sequence is None:
            return  # nothing the application still waits for (abandoned, say)
        if sequence != method.delivery_tag:
            method = type(method)(delivery_tag=sequence, multiple=method.multiple)
        self._emit(events.DeliveryConfirmed(self.channel_number, method))

    def _on_basic_cancel(self, method: Any) -> None:
        tag = method.consumer_tag
        self.consumer_tags.discard(tag)
        if self.topology is not None:
            self.topology.consumer_cancelled(self.channel_number, tag)
        if not method.nowait:
            self._output.send_method(self.channel_number, spec.Basic.CancelOk(consumer_tag=tag))
        self._emit(events.ConsumerCancelled(self.channel_number, method))
        if self.state is _CANCELLING:
            self._continue_close()

    # ----------------------------------------------------------------- recovery

    def _recorded_reply(self, request: Any, reply: Any) -> None:
        """Recovery on: report a completed method to the record (a GetOk's tag too)."""
        if request is not None and self.topology is not None:
            self.topology.method_completed(self.channel_number, request, reply)
        if reply.INDEX == _GET_OK_INDEX and self.record is not None:
            reply.delivery_tag = self.record.deliver(reply.delivery_tag)

    @staticmethod
    def _broker_tags(app_tags: list[int], record: ChannelRecord) -> list[int]:
        """The broker's tags for acks of ``app_tags``; those from before a loss dropped."""
        tags = []
        for app_tag in app_tags:
            tag = record.broker_tag_for(app_tag)
            if tag is None:
                LOGGER.debug(
                    'Dropped Basic.Ack of delivery tag %s: from before a recovery', app_tag
                )
            else:
                tags.append(tag)
        return tags

    def _replay_reply(self, reply: Any) -> None:
        recoverer = self._conn.recoverer
        if recoverer is not None:
            recoverer.step_completed(self, reply)

    def _forget_session(self) -> None:
        """Drop what belonged to the broker-side channel that is gone (recovery)."""
        self._queue.clear()
        self._outstanding = None
        self._outstanding_internal = False
        self.consumer_tags.clear()
        self._cancelling.clear()
        self.assembler.active = False
        self._content_is_reply = False
        self._confirm = False
        if self.record is None:  # else the application's numbers go on (ChannelRecord)
            self._delivery_tag = 0
        self.tag_map = self.record  # delivery tags restart at 1: the offset maps them
        self._set_discarding(False)

    def _set_discarding(self, discarding: bool) -> None:
        """Enter or leave the wait for our reopen's CloseOk: meanwhile every method the
        broker may send unprompted goes to :meth:`_discard` (the usual handlers swapped
        out, so the inbound path pays nothing for it the rest of the time)."""
        if discarding == self._discarding:
            return
        self._discarding = discarding
        if discarding:
            self._saved_handlers = self._method_handlers
            self._method_handlers = dict.fromkeys(self._saved_handlers, self._discard)
        else:
            self._method_handlers = self._saved_handlers

    def suspend(self) -> None:
        """The connection was interrupted (recovery on): keep this channel for the replay.

        Nothing outstanding or queued survives (the adapter fails the waiting calls with
        ``ConnectionRecovering``); broker tags restart on the new connection.
        """
        self.state = next_channel_state(self.state, ChannelInput.SUSPEND)
        in_flight = self._application_rpcs()
        self.commit_interrupted = any(method.INDEX == _TX_COMMIT_INDEX for method in in_flight)
        if self.resend_on_recovery:
            self.interrupted.extend(in_flight)
        else:  # the front-end fails its waiting calls (a reopen may have kept some)
            self.interrupted.clear()
        self._forget_session()

    def _application_rpcs(self) -> list[Any]:
        """The application's methods awaiting a reply or queued behind one (not the
        replay's own), in the order they were asked for."""
        methods = []
        if self._outstanding is not None and not self._outstanding_internal:
            methods.append(self._outstanding)
        methods.extend(method for method, _data, internal in self._queue if not internal)
        return methods

    def resend_interrupted(self) -> None:
        """The replay is over (the channel is open again): send the application's methods
        that were in flight at the loss, in order. Their replies reach the application as
        usual (``RpcReply``), and the record learns them then."""
        methods, self.interrupted = self.interrupted, []
        for method in methods:
            self.rpc(method)

    def reopen(self) -> None:
        """Replay: send Channel.Open under this channel's number (it stays RECOVERING)."""
        self._output.send_method(self.channel_number, spec.Channel.Open())

    def replay_rpc(self, method: Any) -> None:
        """Replay: send ``method`` as an internal RPC; its reply goes to the recoverer, not
        to the application (no ``RpcReply``), and the record is not told again."""
        if method.INDEX == _CONFIRM_SELECT_INDEX:
            self._confirm = True
        self._output.send_method(self.channel_number, method)
        self._outstanding = method
        self._outstanding_internal = True

    def resume(self) -> bool:
        """The replay is over: the channel is usable again. True when it had never been
        opened before the loss (the caller then emits ``ChannelOpened``)."""
        self.state = next_channel_state(self.state, ChannelInput.RESUME)
        first = not self._was_opened
        self._was_opened = True
        self.on_probation = self._confirm and not first
        return first

    def begin_reopen(self) -> None:
        """Recovery, on a live connection: close this channel on the broker to open it
        afresh under the same number (the application keeps its objects; calls meanwhile
        raise ``ConnectionRecovering`` or wait). Until the broker's CloseOk everything that
        arrives on it is dropped (AMQP: after Channel.Close only Close/CloseOk count). The
        application's calls in flight are sent again once it is back."""
        self.interrupted.extend(self._application_rpcs())
        self.state = next_channel_state(self.state, ChannelInput.SUSPEND)
        self._forget_session()
        self._set_discarding(True)
        self._output.send_method(
            self.channel_number, spec.Channel.Close(200, 'Reopening: every publish nacked', 0, 0)
        )

    def _discard(self, method: Any) -> None:
        """While our reopen's Channel.Close is in flight: wait for its CloseOk (or the
        broker's own Close, which crossed it), drop the rest (swallowing message bodies)."""
        index = method.INDEX
        if index == _CLOSE_INDEX:
            self._output.send_method(self.channel_number, spec.Channel.CloseOk())
        elif index != _CLOSE_OK_INDEX:
            if spec.has_content(index):
                self.assembler.start(method)
            return
        self._set_discarding(False)
        recoverer = self._conn.recoverer
        if recoverer is not None:
            recoverer.closed_for_reopen(self)

    def publish_again(self, entry: PendingPublish) -> int:
        """Publish an unconfirmed message lost with the connection; returns its new broker
        tag (the record is told by the caller, under the sequence the application saw: it
        takes no new number)."""
        record = self.record
        if record is None or not self._confirm:  # pragma: no cover - replayed before
            raise exceptions.ChannelWrongStateError('republish outside confirm mode')
        tag = record.next_broker_tag
        number = self._delivery_tag
        self.record = None  # publish() would record it as a new one
        try:
            self.publish(
                entry.exchange, entry.routing_key, entry.body, entry.properties, entry.mandatory
            )
        finally:
            self.record = record
            self._delivery_tag = number
        return tag

    def __repr__(self) -> str:
        return f'<ChannelCore number={self.channel_number} state={self.state.value}>'


_CONNECTION_CLOSED = ConnectionState.CLOSED
_RECOVERING = ChannelState.RECOVERING
_GET_OK_INDEX = spec.Basic.GetOk.INDEX
#: methods whose ``delivery_tag`` names a delivery (recovery maps it to the broker's)
_TAGGED = frozenset({spec.Basic.Ack.INDEX, spec.Basic.Nack.INDEX, spec.Basic.Reject.INDEX})


def _with_tag(method: Any, delivery_tag: int) -> Any:
    """A copy of an Ack/Nack/Reject with another delivery tag (the caller's stays as is)."""
    copy = copy_module.copy(method)
    copy.delivery_tag = delivery_tag
    return copy


_CONFIRM_SELECT_INDEX = spec.Confirm.Select.INDEX
_TX_COMMIT_INDEX = spec.Tx.Commit.INDEX
_TX_SELECT_INDEX = spec.Tx.Select.INDEX
_NACK_INDEX = spec.Basic.Nack.INDEX
_CLOSE_INDEX = spec.Channel.Close.INDEX
_CLOSE_OK_INDEX = spec.Channel.CloseOk.INDEX
_CANCEL_INDEX = spec.Basic.Cancel.INDEX
#: The synchronous methods whose sending changes the channel's state (see _before_rpc).
_RPC_SIDE_EFFECTS = frozenset(
    {_CONFIRM_SELECT_INDEX, _CANCEL_INDEX, _TX_COMMIT_INDEX, _TX_SELECT_INDEX}
)
_RpcReply = events.RpcReply
_new = object.__new__
#: Bodies up to this size are copied (Output queues larger ones by reference).
_SMALL_BODY = 16 * 1024
#: The bytes of a small publish besides the method frame and the body: content header frame,
#: body frame head and the body's frame end.
_EMPTY_HEADER_AND_BODY_OVERHEAD = EMPTY_HEADER_AND_BODY_HEAD.size + FRAME_END_SIZE
_DELIVER_INDEX = spec.Basic.Deliver.INDEX
_Deliver = spec.Basic.Deliver
_LIFECYCLE = frozenset(
    {spec.Channel.Open.INDEX, spec.Channel.Close.INDEX, spec.Channel.CloseOk.INDEX}
)
_CONSUME_OK_INDEX = spec.Basic.ConsumeOk.INDEX
_CANCEL_OK_INDEX = spec.Basic.CancelOk.INDEX
