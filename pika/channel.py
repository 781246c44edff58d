"""The callback-style public `Channel`.

A `Channel` checks arguments at the call (TypeError/ValueError, never later in the loop), hands
frames to its `ChannelCore`, and turns the core's events into user callbacks. Synchronous AMQP
methods are answered in order on a channel and the core keeps one outstanding, so a deque of
reply handlers, appended at each call, is all the bookkeeping needed.

Both API generations are accepted; see docs/api-generations.md. What each call means (binding,
argument checks, the spec method it sends) is decided by the channel-method table that
`BlockingChannel` shares, :mod:`pika._api.methods`; the methods here only send and route replies.
"""

from __future__ import annotations

import collections
import logging
import uuid
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Union

from pika import amqp_object, exceptions, frame, spec
from pika._api import args as args_
from pika._api.methods import METHODS
from pika._core import events
from pika._core.states import ChannelState
from pika.exchange_type import ExchangeType as ExchangeType  # importable here, as in pika 1.x

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pika._core import ChannelCore
    from pika.connection import Connection

LOGGER = logging.getLogger(__name__)

ReplyHandler = Callable[[events.RpcReply], None]
Reply = tuple[Optional[Callable[..., Any]], bool]
"""What to do with an RPC reply: ``(callback, as_frame)``. ``callback(frame.Method(...))`` when
``as_frame`` (a user's completion callback), else ``callback(event)``; None: nothing."""

MAX_CHANNELS = 65535
_OPEN = ChannelState.OPEN
_RECOVERING = ChannelState.RECOVERING


class ChannelRoute(NamedTuple):
    """How a connection hands one channel its events: the channel's consumer table and its
    own bound handlers, given by the channel itself (see :class:`ConnectionLink`), so the
    connection never reaches into the channel. Deliveries, RPC replies and confirms have their
    own entries: the connection routes them without a dispatch-table lookup."""

    channel: Channel
    consumers: dict[str, Callable[..., Any]]
    """Consumer tag -> message callback: the consume path calls it directly."""
    deliver: Callable[[events.MessageDelivered], None]
    """A delivery for a tag not in ``consumers`` (logs the drop)."""
    rpc_reply: Callable[[events.RpcReply], None]
    confirm: Callable[[events.DeliveryConfirmed], None]
    handle: Callable[[events.Event], None]
    """Any other event of the channel."""


class ConnectionLink:
    """What a :class:`Connection` shares with its channels (one per connection, made by it).

    The connection sets ``dispatching`` around a batch of events; a channel call made then
    leaves output to the one ``after_call()`` the connection makes after the batch (one write
    per loop turn, not one check per ack). Each channel adds its :class:`ChannelRoute` to
    ``routes``, the connection's channel table.
    """

    __slots__ = ('after_call', 'dispatching', 'routes')

    def __init__(self, after_call: Callable[[], None]) -> None:
        self.after_call: Callable[[], None] = after_call
        """Schedule the output (and timers) a channel call may have queued."""
        self.dispatching: bool = False
        self.routes: dict[int, ChannelRoute] = {}
        """Channel number -> route; the connection removes a channel once it has closed."""


class Channel:
    """An AMQP channel with callbacks; create it with `connection.channel()`."""

    # pika 1.x's channel states (its `Channel` keeps one of them; here `is_opening`, `is_open`,
    # `is_closing` and `is_closed` tell them apart).
    CLOSED = 0
    OPENING = 1
    OPEN = 2
    CLOSING = 3

    def __init__(
        self,
        connection: Connection,
        core: ChannelCore,
        link: ConnectionLink,
        on_open_callback: Optional[Callable[[Channel], Any]] = None,
    ) -> None:
        self.connection = connection
        self.channel_number: int = core.channel_number
        self._core = core
        core.resend_on_recovery = True  # replies to calls in flight at a loss still come
        self._link = link
        self._on_open_callback = on_open_callback
        self._replies: collections.deque[Reply] = collections.deque()
        self._consumers: dict[str, Callable[..., Any]] = {}
        self._ack_nack_callback: Optional[Callable[[frame.Method], Any]] = None
        self._on_close_callbacks: list[Callable[..., Any]] = []
        self._on_return_callbacks: list[Callable[..., Any]] = []
        self._on_cancel_callbacks: list[Callable[..., Any]] = []
        self._on_flow_callbacks: list[Callable[..., Any]] = []
        self._closed_error: Optional[BaseException] = None
        # add_callback's listeners: reply method class -> [(callback, attribute values to
        # match, one_shot)]; empty (a falsy check per reply) unless someone registered.
        self._listeners: dict[type, list[tuple[_Listener, dict[str, Any]]]] = {}
        self.flow_active: bool = True
        """False while the broker has paused this channel's publishing (Channel.Flow)."""
        self._handlers: dict[type, Callable[[Any], None]] = {
            events.ChannelOpened: self._on_open_ok,
            events.ChannelClosed: self._on_closed,
            events.RpcReply: self._on_rpc_reply,
            events.MessageDelivered: self._on_deliver,
            events.MessageReturned: self._on_return,
            events.DeliveryConfirmed: self._on_confirm,
            events.ConsumerCancelled: self._on_broker_cancel,
            events.FlowChanged: self._on_flow,
            events.ConnectionInterrupted: self._on_connection_interrupted,
        }
        link.routes[self.channel_number] = ChannelRoute(
            self,
            self._consumers,
            self._on_deliver,
            self._on_rpc_reply,
            self._on_confirm,
            self._handle_event,
        )

    def __int__(self) -> int:
        return self.channel_number

    def __repr__(self) -> str:
        name = type(self).__name__
        return (
            f'<{name} number={self.channel_number} {self._state_name()} conn={self.connection!r}>'
        )

    def _state_name(self) -> str:
        if self.is_closed:
            return 'CLOSED'
        if self.is_closing:
            return 'CLOSING'
        return 'OPEN' if self.is_open else 'OPENING'

    # -- state -------------------------------------------------------------------------------

    @property
    def is_opening(self) -> bool:
        """True from the channel's creation until Channel.OpenOk."""
        return self._closed_error is None and self._core.state is ChannelState.OPENING

    @property
    def is_open(self) -> bool:
        """True between Channel.OpenOk and the start of closing."""
        return self._closed_error is None and bool(self._core.is_open)

    @property
    def is_closing(self) -> bool:
        """True while Channel.Close is in flight."""
        return self._closed_error is None and bool(self._core.is_closing)

    @property
    def is_closed(self) -> bool:
        """True once the channel has finished."""
        return self._closed_error is not None or bool(self._core.is_closed)

    @property
    def consumer_tags(self) -> list[str]:
        """Tags of this channel's active consumers."""
        return list(self._consumers)

    # -- callback registration ---------------------------------------------------------------

    def add_on_close_callback(self, callback: Callable[[Channel, Exception], object]) -> None:
        """Call `callback(channel, exception)` when the channel has closed."""
        args_.require_callable('callback', callback)
        self._on_close_callbacks.append(callback)

    def add_on_return_callback(self, callback: Callable[..., Any]) -> None:
        """Call `callback(channel, method, properties, body)` for each Basic.Return."""
        args_.require_callable('callback', callback)
        self._on_return_callbacks.append(callback)

    def add_on_cancel_callback(self, callback: Callable[[frame.Method], Any]) -> None:
        """Call `callback(method_frame)` when the broker cancels a consumer (Basic.Cancel)."""
        args_.require_callable('callback', callback)
        self._on_cancel_callbacks.append(callback)

    def add_on_flow_callback(self, callback: Callable[[bool], Any]) -> None:
        """Call `callback(active)` when the broker sends Channel.Flow."""
        args_.require_callable('callback', callback)
        self._on_flow_callbacks.append(callback)

    def add_callback(
        self,
        callback: Callable[[frame.Method], Any],
        replies: Sequence[Any],
        one_shot: bool = True,
    ) -> None:
        """Call `callback(method_frame)` when a reply of one of the classes in `replies`
        arrives on this channel (an RPC reply such as `spec.Queue.DeclareOk` or
        `spec.Basic.GetEmpty`, or the broker's `spec.Basic.Cancel`).

        An entry of `replies` may also be `(method_class, {attribute: value})`: only replies
        whose attributes have those values match. With `one_shot` the callback is forgotten
        after its first call (for every entry of `replies`).

        :raises TypeError: if `callback` is not callable or an entry is not a method class.
        """
        args_.require_callable('callback', callback)
        entries = []
        for reply in replies:
            method_class, expected = reply if isinstance(reply, tuple) else (reply, None)
            if not (
                isinstance(method_class, type) and issubclass(method_class, amqp_object.Method)
            ):
                raise TypeError(f'replies must hold AMQP method classes, not {reply!r}')
            entries.append((method_class, dict(expected or {})))
        listener = _Listener(callback, one_shot)
        for method_class, expected in entries:
            self._listeners.setdefault(method_class, []).append((listener, expected))

    def _notify_listeners(self, method: Any) -> None:
        """Call the `add_callback` listeners for the received `method`."""
        entries = self._listeners.get(type(method))
        if not entries:
            return
        method_frame = frame.Method(self.channel_number, method)
        for listener, expected in list(entries):
            if listener.spent or not _matches(method, expected):
                continue
            if listener.one_shot:
                listener.spent = True
                self._forget_spent_listeners()
            listener.callback(method_frame)

    def _forget_spent_listeners(self) -> None:
        for method_class, entries in list(self._listeners.items()):
            kept = [entry for entry in entries if not entry[0].spent]
            if kept:
                self._listeners[method_class] = kept
            else:
                del self._listeners[method_class]

    # -- sending -----------------------------------------------------------------------------

    def _raise_if_not_open(self) -> None:
        if not self.is_open:
            if self._core.state is _RECOVERING and self._closed_error is None:
                raise exceptions.ConnectionRecovering(
                    f'Channel {self.channel_number}: the connection is being recovered'
                )
            raise exceptions.ChannelWrongStateError(args_.NOT_USABLE[self._state_name()])

    def _rpc(self, method: Any, on_reply: Optional[ReplyHandler], nowait: bool = False) -> None:
        """Send a synchronous method; `on_reply(event)` handles its reply (FIFO per channel)."""
        self._raise_if_not_open()
        self._core.rpc(method)
        if not nowait:
            self._replies.append((on_reply, False))
        self._after_call()

    def _simple_rpc(
        self, method: Any, callback: Optional[Callable[..., Any]], nowait: bool = False
    ) -> None:
        """Send a synchronous method; `callback(method_frame)` gets its reply (None: nothing).

        :meth:`_rpc` with the reply wrapped in a frame; every declare, bind and qos comes
        here, so the open check is inlined.
        """
        core = self._core
        if core.state is not _OPEN or self._closed_error is not None:  # not self.is_open
            self._raise_if_not_open()
        core.rpc(method)
        if not nowait:
            self._replies.append((callback, True))
        link = self._link  # _after_call, inlined: RPC callbacks chain RPCs here
        if not link.dispatching:
            link.after_call()

    def _send(self, method: Any) -> None:
        """Send an asynchronous method (no reply)."""
        self._raise_if_not_open()
        self._core.send(method)
        self._after_call()

    def _after_call(self) -> None:
        """Let the connection schedule output, unless it is dispatching events: it does that
        once after the whole batch (one write per loop turn, not one check per ack)."""
        link = self._link
        if not link.dispatching:
            link.after_call()

    def _table_rpc(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Send the method that row `name` of the shared table builds from the call; the
        completion callback gets the reply frame."""
        method, callback, nowait = METHODS[name].prepare(args, kwargs)
        self._simple_rpc(method, callback, nowait)

    # -- exchanges ---------------------------------------------------------------------------

    @args_.advertise('exchange_declare')
    def exchange_declare(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Declare; `callback(method_frame)` gets the DeclareOk.

        1.x: `(exchange, exchange_type='direct', passive=False, durable=False,
        auto_delete=False, internal=False, arguments=None, callback=None)`;
        0.9: `(callback=None, exchange=None, exchange_type='direct', passive=False,
        durable=False, auto_delete=False, internal=False, nowait=False, arguments=None)`.
        """
        self._table_rpc('exchange_declare', args, kwargs)

    @args_.advertise('exchange_delete')
    def exchange_delete(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Delete. 1.x: `(exchange=None, if_unused=False, callback=None)`;
        0.9: `(callback=None, exchange=None, if_unused=False, nowait=False)`."""
        self._table_rpc('exchange_delete', args, kwargs)

    @args_.advertise('exchange_bind')
    def exchange_bind(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Bind. 1.x: `(destination, source, routing_key='', arguments=None,
        callback=None)`; 0.9: `(callback=None, destination=None, source=None,
        routing_key='', nowait=False, arguments=None)`."""
        self._table_rpc('exchange_bind', args, kwargs)

    @args_.advertise('exchange_unbind')
    def exchange_unbind(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Unbind; same two forms as `exchange_bind`."""
        self._table_rpc('exchange_unbind', args, kwargs)

    # -- queues ------------------------------------------------------------------------------

    @args_.advertise('queue_declare')
    def queue_declare(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Declare; `callback(method_frame)` gets the DeclareOk (`.method.queue`...).

        1.x: `(queue, passive=False, durable=False, exclusive=False, auto_delete=False,
        arguments=None, callback=None)`; 0.9: `(callback, queue='', passive=False,
        durable=False, exclusive=False, auto_delete=False, nowait=False, arguments=None)`.
        """
        self._table_rpc('queue_declare', args, kwargs)

    @args_.advertise('queue_bind')
    def queue_bind(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Bind. 1.x: `(queue, exchange, routing_key=None, arguments=None,
        callback=None)`; 0.9: `(callback, queue, exchange, routing_key=None, nowait=False,
        arguments=None)`. A None routing key means the queue name."""
        self._table_rpc('queue_bind', args, kwargs)

    @args_.advertise('queue_unbind')
    def queue_unbind(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Unbind. 1.x: `(queue, exchange=None, routing_key=None, arguments=None,
        callback=None)`; 0.9: `(callback=None, queue='', exchange=None, routing_key=None,
        arguments=None)`. A None routing key means the queue name."""
        self._table_rpc('queue_unbind', args, kwargs)

    @args_.advertise('queue_purge')
    def queue_purge(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Purge. 1.x: `(queue, callback=None)`; 0.9: `(callback=None, queue='',
        nowait=False)`. The PurgeOk frame's `.method.message_count` is the number purged."""
        self._table_rpc('queue_purge', args, kwargs)

    @args_.advertise('queue_delete')
    def queue_delete(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Delete. 1.x: `(queue, if_unused=False, if_empty=False, callback=None)`;
        0.9: `(callback=None, queue='', if_unused=False, if_empty=False, nowait=False)`."""
        self._table_rpc('queue_delete', args, kwargs)

    # -- basic -------------------------------------------------------------------------------

    @args_.advertise('basic_qos')
    def basic_qos(self, *args: Any, **kwargs: Any) -> None:
        """Basic.Qos. 1.x: `(prefetch_size=0, prefetch_count=0, global_qos=False,
        callback=None)`; 0.9: `(callback=None, prefetch_size=0, prefetch_count=0,
        all_channels=False)`."""
        self._table_rpc('basic_qos', args, kwargs)

    @args_.advertise('basic_consume')
    def basic_consume(self, *args: Any, **kwargs: Any) -> str:
        """Start a consumer; return its tag. Messages go to
        `on_message_callback(channel, method, properties, body)`; `callback(method_frame)`
        gets the ConsumeOk.

        1.x: `(queue, on_message_callback, auto_ack=False, exclusive=False, consumer_tag=None,
        arguments=None, callback=None)`; 0.9: `(consumer_callback, queue='', no_ack=False,
        exclusive=False, consumer_tag=None, arguments=None)`.

        :raises DuplicateConsumerTag: if the tag is already in use on this channel.
        """
        entry = METHODS['basic_consume']
        b = args_.bind('basic_consume', args, kwargs)
        callback = entry.check(b)
        if b['consumer_tag'] in (None, ''):
            b['consumer_tag'] = f'ctag{self.channel_number}.{uuid.uuid4().hex}'
        method = entry.build(b)
        self._raise_if_not_open()
        tag: str = method.consumer_tag
        if tag in self._consumers or tag in self._core.consumer_tags:
            raise exceptions.DuplicateConsumerTag(tag)
        self._consumers[tag] = b['on_message_callback']
        self._simple_rpc(method, callback)
        return tag

    @args_.advertise('basic_cancel')
    def basic_cancel(self, *args: Any, **kwargs: Any) -> None:
        """Cancel a consumer; `callback(method_frame)` gets the CancelOk.

        1.x: `(consumer_tag='', callback=None)`; 0.9: `(callback=None, consumer_tag='',
        nowait=False)`. Deliveries keep reaching the consumer until the CancelOk.
        """
        method, user_callback, nowait = METHODS['basic_cancel'].prepare(args, kwargs)
        tag: str = method.consumer_tag

        def on_cancel_ok(event: events.RpcReply) -> None:
            self._consumers.pop(tag, None)
            if user_callback is not None:
                user_callback(frame.Method(self.channel_number, event.method))

        if nowait:
            self._consumers.pop(tag, None)
        self._rpc(method, on_cancel_ok, nowait)

    def basic_publish(
        self,
        exchange: args_.ReceivedStr,
        routing_key: args_.ReceivedStr,
        body: Union[bytes, str],
        properties: Optional[spec.BasicProperties] = None,
        mandatory: bool = False,
        immediate: bool = False,
    ) -> None:
        """Publish a message (same form in both generations; str bodies are UTF-8 encoded).

        :raises TypeError: for a non-str exchange/routing key or a non-bytes/str body.
        :raises ChannelWrongStateError: if the channel is not open.
        """
        # The checks call their helpers only for values that fail the quick test (type is),
        # since every message comes through here.
        if type(exchange) is not str:
            exchange = args_.str_value('exchange', exchange)
        if type(routing_key) is not str:
            routing_key = args_.str_value('routing_key', routing_key)
        payload = body if type(body) is bytes else args_.encode_body(body)
        if properties is not None and not isinstance(properties, spec.BasicProperties):
            raise TypeError(
                f'properties must be BasicProperties or None, not {type(properties).__name__}'
            )
        if mandatory is not False and mandatory is not True:
            args_.require_bool('mandatory', mandatory)
        if immediate:
            raise ValueError('immediate=True is not supported by RabbitMQ')
        core = self._core
        if core.state is not _OPEN or self._closed_error is not None:  # is_open, inlined
            self._raise_if_not_open()
        core.publish(exchange, routing_key, payload, properties, mandatory)
        link = self._link  # _after_call, inlined
        if not link.dispatching:
            link.after_call()

    @args_.advertise('basic_get')
    def basic_get(self, *args: Any, **kwargs: Any) -> None:
        """Basic.Get; `callback(channel, method, properties, body)` gets the message.

        1.x: `(queue, callback, auto_ack=False)`; 0.9: `(callback, queue='', no_ack=False)`.
        On an empty queue a call in the 1.x form (queue positional, or `auto_ack=`) does not
        call the callback, as pika 1.x; other calls (0.9 form, keywords only) get
        `(channel, GetEmpty, None, None)`, where `GetEmpty` is a falsy `spec.Basic.GetEmpty`
        (see `pika._api.args.is_modern_get`).
        """
        entry = METHODS['basic_get']
        b = args_.bind('basic_get', args, kwargs)
        args_.require_callable('callback', b['callback'])
        entry.check(b)
        method = entry.build(b)
        user_callback = b['callback']
        report_empty = not args_.is_modern_get(args, kwargs)

        def on_get_reply(event: events.RpcReply) -> None:
            reply = event.method
            if isinstance(reply, spec.Basic.GetEmpty):
                if not report_empty:
                    LOGGER.debug('Basic.GetEmpty on channel %d', self.channel_number)
                    return
                reply = args_.as_get_empty(reply)
            user_callback(self, reply, event.properties, event.body)

        self._rpc(method, on_get_reply)

    def basic_ack(self, delivery_tag: args_.DeliveryTag = 0, multiple: bool = False) -> None:
        """Acknowledge one message (or all up to `delivery_tag` with `multiple`)."""
        tag = delivery_tag
        if type(tag) is not int or tag < 0:
            tag = args_.delivery_tag_value(delivery_tag)
        if multiple is not False and multiple is not True:
            args_.require_bool('multiple', multiple)
        core = self._core
        if core.state is not _OPEN or self._closed_error is not None:  # is_open, inlined
            self._raise_if_not_open()
        core.ack(tag, multiple)  # the core owns the wire; it refuses a tag over 64 bits
        link = self._link
        if not link.dispatching:
            link.after_call()

    def basic_nack(
        self, delivery_tag: args_.DeliveryTag = 0, multiple: bool = False, requeue: bool = True
    ) -> None:
        """Reject one or more messages (RabbitMQ extension)."""
        tag = args_.delivery_tag_value(delivery_tag)
        args_.require_bool('multiple', multiple)
        args_.require_bool('requeue', requeue)
        self._send(spec.Basic.Nack(tag, multiple, requeue))  # delivery_tag, multiple, requeue

    def basic_reject(self, delivery_tag: args_.DeliveryTag = 0, requeue: bool = True) -> None:
        """Reject one message."""
        tag = args_.delivery_tag_value(delivery_tag)
        args_.require_bool('requeue', requeue)
        self._send(spec.Basic.Reject(tag, requeue))  # delivery_tag, requeue

    @args_.advertise('basic_recover')
    def basic_recover(self, *args: Any, **kwargs: Any) -> None:
        """Basic.Recover: redeliver unacknowledged messages. 1.x: `(requeue=False,
        callback=None)`; 0.9: `(callback=None, requeue=False)`."""
        self._table_rpc('basic_recover', args, kwargs)

    def open(self) -> None:
        """Open the channel. `connection.channel()` has already started opening it, so this
        is a no-op while it is opening.

        :raises ChannelWrongStateError: if the channel is open, closing or closed (pika 1.4.4
            would send a second Channel.Open, which the broker answers by closing the
            connection).
        """
        if not self.is_opening:
            raise exceptions.ChannelWrongStateError(f'Channel is not opening: {self!r}')

    # -- confirms, transactions, flow --------------------------------------------------------

    @args_.advertise('confirm_delivery')
    def confirm_delivery(self, *args: Any, **kwargs: Any) -> None:
        """Put the channel in publisher-confirm mode.

        `ack_nack_callback(method_frame)` gets each Basic.Ack/Basic.Nack (`.method`);
        `callback(method_frame)` gets the SelectOk. 1.x: `(ack_nack_callback, callback=None)`;
        0.9: `(callback, nowait=False)` where that callback receives the acks and nacks.
        """
        entry = METHODS['confirm_delivery']
        b = args_.bind('confirm_delivery', args, kwargs)
        args_.require_callable('ack_nack_callback', b['ack_nack_callback'])
        callback = entry.check(b)
        self._raise_if_not_open()
        self._ack_nack_callback = b['ack_nack_callback']
        self._simple_rpc(entry.build(b), callback, b['nowait'])

    def tx_select(self, callback: Optional[Callable[[frame.Method], Any]] = None) -> None:
        """Tx.Select; `callback(method_frame)` gets the SelectOk."""
        self._table_rpc('tx_select', (), {'callback': callback})

    def tx_commit(self, callback: Optional[Callable[[frame.Method], Any]] = None) -> None:
        """Tx.Commit; `callback(method_frame)` gets the CommitOk."""
        self._table_rpc('tx_commit', (), {'callback': callback})

    def tx_rollback(self, callback: Optional[Callable[[frame.Method], Any]] = None) -> None:
        """Tx.Rollback; `callback(method_frame)` gets the RollbackOk."""
        self._table_rpc('tx_rollback', (), {'callback': callback})

    @args_.advertise('flow')
    def flow(self, *args: Any, **kwargs: Any) -> None:
        """Channel.Flow; `callback(active)` gets the broker's answer. 1.x: `(active,
        callback=None)`; 0.9: `(callback, active)`."""
        method, user_callback, _ = METHODS['flow'].prepare(args, kwargs)

        def on_flow_ok(event: events.RpcReply) -> None:
            self.flow_active = bool(event.method.active)
            if user_callback is not None:
                user_callback(event.method.active)

        self._rpc(method, on_flow_ok)

    def close(self, reply_code: int = 0, reply_text: str = 'Normal shutdown') -> None:
        """Close the channel (its consumers are cancelled first); the on-close callbacks get
        `ChannelClosedByClient`. Pending RPC callbacks are dropped.

        :raises ChannelWrongStateError: if it is already closing or closed.
        """
        args_.require_int('reply_code', reply_code, maximum=65535)
        args_.require_str('reply_text', reply_text)
        if self.is_closing or self.is_closed:
            raise exceptions.ChannelWrongStateError(args_.NOT_USABLE[self._state_name()])
        LOGGER.debug('Closing channel %d (%s): %r', self.channel_number, reply_code, reply_text)
        self._core.close(reply_code, reply_text)
        self._link.after_call()

    # -- events ------------------------------------------------------------------------------

    def _handle_event(self, event: events.Event) -> None:
        """Dispatch one core event of this channel (called by the connection)."""
        self._handlers[type(event)](event)

    def _on_open_ok(self, event: events.ChannelOpened) -> None:
        LOGGER.debug('Channel %d opened', self.channel_number)
        if self._on_open_callback is not None:
            self._on_open_callback(self)

    def _on_closed(self, event: events.ChannelClosed) -> None:
        if self._closed_error is not None:
            return
        LOGGER.debug('Channel %d closed: %r', self.channel_number, event.error)
        self._closed_error = event.error
        self._replies.clear()
        self._consumers.clear()
        for callback in list(self._on_close_callbacks):
            callback(self, event.error)

    def _on_connection_interrupted(self, event: events.ConnectionInterrupted) -> None:
        """Recovery: the calls still awaiting a reply are sent again once the connection is
        back (their callbacks stay queued, in order), and the consumers whose ConsumeOk had
        not come yet are started then; the record restores the rest. A Tx.Commit in flight
        is not sent again: the core closes this channel instead (``ChannelClosed``)."""
        if self._replies:
            LOGGER.info(
                'Channel %d: %d call(s) in flight at the loss (%r) will be sent again after '
                'recovery',
                self.channel_number,
                len(self._replies),
                event.error,
            )

    def _on_rpc_reply(self, event: events.RpcReply) -> None:
        replies = self._replies
        if not replies:
            LOGGER.warning('Unexpected reply on channel %d: %r', self.channel_number, event)
            return
        callback, as_frame = replies.popleft()
        if self._listeners:  # registered before this reply's call (as a rule): called first
            self._notify_listeners(event.method)
        if callback is None:
            return
        if as_frame:
            callback(frame.Method(self.channel_number, event.method))
        else:
            callback(event)

    def _on_deliver(self, event: events.MessageDelivered) -> None:
        callback = self._consumers.get(event.method.consumer_tag or '')
        if callback is None:
            LOGGER.warning('Delivery for unknown consumer %r dropped', event.method.consumer_tag)
            return
        callback(self, event.method, event.properties, event.body)

    def _on_return(self, event: events.MessageReturned) -> None:
        if not self._on_return_callbacks:
            LOGGER.warning('Basic.Return with no return callback: %r', event.method)
        for callback in list(self._on_return_callbacks):
            callback(self, event.method, event.properties, event.body)

    def _on_confirm(self, event: events.DeliveryConfirmed) -> None:
        if self._ack_nack_callback is not None:
            self._ack_nack_callback(frame.Method(self.channel_number, event.method))

    def _on_broker_cancel(self, event: events.ConsumerCancelled) -> None:
        self._consumers.pop(event.method.consumer_tag or '', None)
        method_frame = frame.Method(self.channel_number, event.method)
        for callback in list(self._on_cancel_callbacks):
            callback(method_frame)
        if self._listeners:
            self._notify_listeners(event.method)

    def _on_flow(self, event: events.FlowChanged) -> None:
        self.flow_active = bool(event.active)
        for callback in list(self._on_flow_callbacks):
            callback(event.active)


class _Listener:
    """One `Channel.add_callback` registration (shared by every reply class it listens to)."""

    __slots__ = ('callback', 'one_shot', 'spent')

    def __init__(self, callback: Callable[[frame.Method], Any], one_shot: bool) -> None:
        self.callback = callback
        self.one_shot = one_shot
        self.spent = False  # a one-shot listener that has been called


def _matches(method: Any, expected: dict[str, Any]) -> bool:
    """True when `method` has every attribute value in `expected`."""
    return all(getattr(method, name, None) == value for name, value in expected.items())
