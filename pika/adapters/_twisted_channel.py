"""The Deferred layer of the Twisted adapter: pika 1.x's `TwistedChannel` API.

`twisted_connection` moves bytes and timers between a Twisted transport and the callback
`Connection`; this module turns that callback API into Deferreds. `DeferredConnectionAPI` is the
connection half (`ready`, `closed`, `channel()`, `close()`), `TwistedChannel` wraps a callback
`Channel` so that each RPC returns a Deferred of its reply, and `ClosableDeferredQueue` carries a
consumer's deliveries. Nothing here touches a socket or the reactor.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, TypeVar, Union

from twisted.internet import defer

from pika import exceptions, spec
from pika._api import args as args_
from pika._api.args import require_callable
from pika.adapters._io.backlog import delivery_cost

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pika import frame
    from pika.channel import Channel
    from pika.connection import Connection

__all__ = ['ClosableDeferredQueue', 'DeferredConnectionAPI', 'ReceivedMessage', 'TwistedChannel']

LOGGER = logging.getLogger(__name__)

_F = TypeVar('_F', bound=Callable[..., Any])


#: where these classes are documented and imported from (their repr and pickling say so)
_PUBLIC_MODULE = 'pika.adapters.twisted_connection'


class ReceivedMessage(NamedTuple):
    """A message as the Twisted API hands it over: from `basic_get`, a consumer's queue object,
    a return callback and `UnroutableError.messages`. A tuple, so it unpacks as
    `channel, method, properties, body`."""

    channel: Any
    method: Any
    properties: Any
    body: bytes


ReceivedMessage.__module__ = _PUBLIC_MODULE


def _insert_after_first(
    args: tuple[Any, ...], kwargs: dict[str, Any], name: str, value: Any
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call `(args, kwargs)` with `value` as the second argument: positional right after
    the first positional one (the queue), else as keyword `name`.

    Twisted's `basic_get(queue, auto_ack)` / `basic_consume(queue, auto_ack, ...)` are the
    callback channel's methods without the callback that comes second there, so positional
    arguments stay positional.
    """
    if args:
        return (args[0], value, *args[1:]), kwargs
    return args, {**kwargs, name: value}


def _advertise(
    method: str, *, omit: str = '', defaults: Optional[dict[str, Any]] = None
) -> Callable[[_F], _F]:
    """Decorator: the callback channel's 1.x signature of `method` without its completion
    callback (and without parameter `omit`, with `defaults` changed): pika's Twisted one."""

    def decorate(func: _F) -> _F:
        signature = args_.modern_signature(method, callback=False)
        changed = defaults or {}
        params = [
            param.replace(default=changed[param.name]) if param.name in changed else param
            for param in signature.parameters.values()
            if param.name != omit
        ]
        func.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return func

    return decorate


class ClosableDeferredQueue(defer.DeferredQueue):  # type: ignore[type-arg]
    """A `DeferredQueue` that can be closed: waiting and later `get()`s fail with the reason,
    and `put()` returns a failed Deferred.

    Unlike pika 1.4.4, items queued before the close can still be read (docs/api-generations.md).
    """

    __module__ = _PUBLIC_MODULE

    def __init__(self, size: Optional[int] = None, backlog: Optional[int] = None) -> None:
        super().__init__(size, backlog)
        self.closed: Optional[BaseException] = None
        self._close_reason: Optional[BaseException] = None  # not None once closed

    def put(self, obj: Any) -> Optional[defer.Deferred[Any]]:  # type: ignore[override]
        """Add an item; on a closed queue, return a Deferred failed with the close reason.

        :raises QueueOverflow: if the queue is open and full (Twisted's `size`).
        """
        if self._close_reason is not None:
            return defer.fail(self._close_reason)
        super().put(obj)
        return None

    def get(self) -> defer.Deferred[Any]:
        """A Deferred of the next item; fails with the close reason once closed and empty."""
        if self._close_reason is not None and not self.pending:
            return defer.fail(self._close_reason)
        return super().get()

    def close(self, reason: Optional[BaseException]) -> None:
        """Close the queue: every waiting `get()` errbacks with `reason` (None: a generic
        `AMQPError`). Closing again replaces the reason."""
        self.closed = reason
        if reason is None:
            reason = exceptions.AMQPError('ClosableDeferredQueue closed without a reason')
        self._close_reason = reason
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            d.errback(reason)


class _ConsumerQueue(ClosableDeferredQueue):
    """The queue object of one `basic_consume`: a `ClosableDeferredQueue` that reports what it
    holds to the connection's delivery backlog (`flow.delivery_queued(nbytes)` /
    `flow.delivery_taken(nbytes)`), so the connection stops reading while an application that
    takes messages more slowly than they arrive has too many waiting
    (`ConnectionParameters.delivery_backlog_high`/`_low`; docs/architecture.md).

    A message handed straight to a waiting `get()` never counts. A closed queue stops counting
    at once (what it still holds stays readable, but must not keep the connection paused).
    """

    def __init__(self, flow: Any) -> None:
        super().__init__()
        self._flow = flow
        self._held = 0  # backlog bytes of the messages in `pending`, as reported to `flow`

    def put(self, obj: Any) -> Optional[defer.Deferred[Any]]:  # type: ignore[override]
        """Queue a `ReceivedMessage` (or hand it to a waiting `get()`)."""
        if self._flow is not None and not self.waiting and self._close_reason is None:
            cost = delivery_cost(obj.body)
            self._held += cost
            self._flow.delivery_queued(cost)
        return super().put(obj)

    def get(self) -> defer.Deferred[Any]:
        """The next message; reading resumes once enough was taken."""
        if self.pending and self._held:
            cost = min(self._held, delivery_cost(self.pending[0].body))
            self._held -= cost
            self._flow.delivery_taken(cost)
        return super().get()

    def close(self, reason: Optional[BaseException]) -> None:
        """Close the queue (see `ClosableDeferredQueue.close`) and drop its backlog."""
        held, self._held = self._held, 0
        if held:
            self._flow.delivery_taken(held)
        super().close(reason)


class TwistedChannel:
    """pika 1.x's Twisted channel: each AMQP method returns a Deferred.

    Arguments reach the callback `Channel` as given (positional stays positional), and each
    Deferred fires with what pika 1.x's does: the reply frame for the exchange, queue, qos,
    recover, cancel, confirm and tx methods, the broker's `active` flag for `flow`,
    `(queue_object, consumer_tag)` for `basic_consume` (`queue_object.get()` fires with each
    `ReceivedMessage`), a `ReceivedMessage` or None (empty queue) for `basic_get`, and for
    `basic_publish` None, or in confirm mode the broker's `Basic.Ack` method (errback
    `NackError`/`UnroutableError`). Once the channel has closed every method fails with the
    close reason, and `on_closed` fires with it.
    """

    __module__ = _PUBLIC_MODULE

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._calls: set[defer.Deferred[Any]] = set()
        self._queues: dict[str, ClosableDeferredQueue] = {}
        self._confirms: Optional[dict[int, defer.Deferred[Any]]] = None
        self._next_tag = 1
        self._returned: list[ReceivedMessage] = []
        self._return_callbacks: list[Callable[[ReceivedMessage], Any]] = []
        self._get_pending = False
        self._close_error: Optional[BaseException] = None
        self.on_closed: defer.Deferred[Any] = defer.Deferred()
        channel.add_on_close_callback(self._on_closed)
        channel.add_on_cancel_callback(self._on_broker_cancel)
        channel.add_on_return_callback(self._on_return)

    def __repr__(self) -> str:
        return f'<TwistedChannel channel={self._channel!r}>'

    # -- state, as the callback channel's ---------------------------------------------------

    @property
    def channel_number(self) -> int:
        """The channel's number."""
        return self._channel.channel_number

    @property
    def connection(self) -> Connection:
        """The callback `Connection` the channel belongs to."""
        return self._channel.connection

    @property
    def is_open(self) -> bool:
        """True while the channel is open."""
        return self._channel.is_open

    @property
    def is_closing(self) -> bool:
        """True while the channel is closing."""
        return self._channel.is_closing

    @property
    def is_closed(self) -> bool:
        """True once the channel has closed."""
        return self._channel.is_closed

    @property
    def consumer_tags(self) -> list[str]:
        """Tags of this channel's active consumers."""
        return self._channel.consumer_tags

    @property
    def flow_active(self) -> bool:
        """False while the broker has paused this channel's publishing (Channel.Flow)."""
        return self._channel.flow_active

    def open(self) -> None:
        """The callback channel's `open()` (channels open on creation: a no-op while opening).

        :raises ChannelWrongStateError: if the channel is open, closing or closed.
        """
        self._channel.open()

    def callback_deferred(self, deferred: defer.Deferred[Any], replies: Sequence[Any]) -> None:
        """Fire `deferred` with the first reply frame of a class in `replies` that arrives on
        this channel (see `Channel.add_callback`)."""
        self._channel.add_callback(deferred.callback, replies, one_shot=True)

    # -- plumbing ----------------------------------------------------------------------------

    def _call(self, start: Callable[[Callable[..., None]], Any]) -> defer.Deferred[Any]:
        """Start an operation with a completion callback; return its Deferred."""
        if self._close_error is not None:
            return defer.fail(self._close_error)
        d: defer.Deferred[Any] = defer.Deferred()
        self._calls.add(d)

        def done(result: Any = None) -> None:
            self._calls.discard(d)
            if not d.called:
                d.callback(result)

        try:
            start(done)
        except Exception as exc:  # argument/state errors: fail the Deferred, as pika's
            self._calls.discard(d)
            return defer.fail(exc)
        return d

    def _rpc(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> defer.Deferred[Any]:
        """Call channel method `name` as given plus `callback=`: a Deferred of what that
        callback receives."""
        method = getattr(self._channel, name)
        return self._call(lambda done: method(*args, callback=done, **kwargs))

    # -- exchanges, queues, qos, recover, flow, transactions ---------------------------------

    @args_.advertise('exchange_declare', callback=False)
    def exchange_declare(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Exchange.Declare; fires with the DeclareOk frame."""
        return self._rpc('exchange_declare', args, kwargs)

    @args_.advertise('exchange_delete', callback=False)
    def exchange_delete(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Exchange.Delete; fires with the DeleteOk frame."""
        return self._rpc('exchange_delete', args, kwargs)

    @args_.advertise('exchange_bind', callback=False)
    def exchange_bind(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Exchange.Bind; fires with the BindOk frame."""
        return self._rpc('exchange_bind', args, kwargs)

    @args_.advertise('exchange_unbind', callback=False)
    def exchange_unbind(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Exchange.Unbind; fires with the UnbindOk frame."""
        return self._rpc('exchange_unbind', args, kwargs)

    @args_.advertise('queue_declare', callback=False)
    def queue_declare(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Queue.Declare; fires with the DeclareOk frame."""
        return self._rpc('queue_declare', args, kwargs)

    @args_.advertise('queue_bind', callback=False)
    def queue_bind(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Queue.Bind; fires with the BindOk frame."""
        return self._rpc('queue_bind', args, kwargs)

    @args_.advertise('queue_unbind', callback=False)
    def queue_unbind(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Queue.Unbind; fires with the UnbindOk frame."""
        return self._rpc('queue_unbind', args, kwargs)

    @args_.advertise('queue_purge', callback=False)
    def queue_purge(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Queue.Purge; fires with the PurgeOk frame."""
        return self._rpc('queue_purge', args, kwargs)

    @args_.advertise('queue_delete', callback=False)
    def queue_delete(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Queue.Delete; fires with the DeleteOk frame."""
        return self._rpc('queue_delete', args, kwargs)

    @args_.advertise('basic_qos', callback=False)
    def basic_qos(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Basic.Qos; fires with the QosOk frame."""
        return self._rpc('basic_qos', args, kwargs)

    @args_.advertise('basic_recover', callback=False)
    def basic_recover(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Basic.Recover; fires with the RecoverOk frame."""
        return self._rpc('basic_recover', args, kwargs)

    @_advertise('flow', defaults={'active': True})
    def flow(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Channel.Flow (`active` defaults to True, as pika's); fires with the broker's
        `active` flag."""
        if not args and 'active' not in kwargs:
            kwargs['active'] = True
        return self._rpc('flow', args, kwargs)

    def tx_select(self) -> defer.Deferred[Any]:
        """Tx.Select; fires with the SelectOk frame."""
        return self._rpc('tx_select', (), {})

    def tx_commit(self) -> defer.Deferred[Any]:
        """Tx.Commit; fires with the CommitOk frame."""
        return self._rpc('tx_commit', (), {})

    def tx_rollback(self) -> defer.Deferred[Any]:
        """Tx.Rollback; fires with the RollbackOk frame."""
        return self._rpc('tx_rollback', (), {})

    # -- acknowledgements (no reply) ---------------------------------------------------------

    def basic_ack(self, delivery_tag: int = 0, multiple: bool = False) -> None:
        """Acknowledge one message (or all up to `delivery_tag` with `multiple`)."""
        self._channel.basic_ack(delivery_tag, multiple)

    def basic_nack(
        self, delivery_tag: int = 0, multiple: bool = False, requeue: bool = True
    ) -> None:
        """Reject one or more messages (RabbitMQ extension)."""
        self._channel.basic_nack(delivery_tag, multiple, requeue)

    def basic_reject(self, delivery_tag: int, requeue: bool = True) -> None:
        """Reject one message."""
        self._channel.basic_reject(delivery_tag, requeue)

    # -- consumers and gets ------------------------------------------------------------------

    @_advertise('basic_consume', omit='on_message_callback')
    def basic_consume(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Start a consumer: `(queue, auto_ack=False, exclusive=False, consumer_tag=None,
        arguments=None)`. Fires with `(queue_object, consumer_tag)`; `queue_object.get()`
        fires with each `ReceivedMessage`."""
        queue_object = _ConsumerQueue(getattr(self._channel.connection, 'delivery_flow', None))

        def deliver(_channel: Any, method: Any, properties: Any, body: bytes) -> None:
            queue_object.put(ReceivedMessage(self, method, properties, body))

        call_args, call_kwargs = _insert_after_first(args, kwargs, 'on_message_callback', deliver)

        def start(done: Callable[..., None]) -> None:
            tag: list[str] = []
            tag.append(
                self._channel.basic_consume(
                    *call_args, callback=lambda _frame: done((queue_object, tag[0])), **call_kwargs
                )
            )
            self._queues[tag[0]] = queue_object

        return self._call(start)

    @args_.advertise('basic_cancel', callback=False)
    def basic_cancel(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Cancel a consumer; fires with the CancelOk frame, and the consumer's queue object
        is closed with `ConsumerCancelled`."""

        def start(done: Callable[..., None]) -> None:
            def cancelled(method_frame: frame.Method) -> None:
                tag = getattr(method_frame.method, 'consumer_tag', None) or ''
                self._close_queue(tag, exceptions.ConsumerCancelled(tag))
                done(method_frame)

            self._channel.basic_cancel(*args, callback=cancelled, **kwargs)

        return self._call(start)

    @args_.advertise('basic_get', callback=False)
    def basic_get(self, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Basic.Get: `(queue, auto_ack=False)`; fires with a `ReceivedMessage`, or None when
        the queue is empty.

        :raises DuplicateGetOkCallback: while the previous `basic_get` awaits its answer.
        """
        if self._get_pending:
            raise exceptions.DuplicateGetOkCallback(
                'basic_get can only be called again after the previous one was answered'
            )

        def start(done: Callable[..., None]) -> None:
            def got(_channel: Any, method: Any, properties: Any, body: Any) -> None:
                self._get_pending = False
                empty = isinstance(method, spec.Basic.GetEmpty)
                done(None if empty else ReceivedMessage(self, method, properties, body))

            call_args, call_kwargs = _insert_after_first(args, kwargs, 'callback', got)
            bound = args_.bind('basic_get', call_args, call_kwargs)  # the channel's own errors
            # Called in the 0.9 (callback-first) form: only that form reports an empty queue
            # to the callback; the 1.x form stays silent then, as in pika 1.x (rule 7 of
            # docs/api-generations.md), and this Deferred would never fire.
            self._channel.basic_get(got, bound['queue'], bound['auto_ack'])
            self._get_pending = True

        return self._call(start)

    # -- publishing and confirms -------------------------------------------------------------

    def confirm_delivery(self) -> defer.Deferred[Any]:
        """Turn on publisher confirms (fires with the SelectOk frame); from then on
        `basic_publish` fires once the broker has confirmed the message."""

        def start(done: Callable[..., None]) -> None:
            self._channel.confirm_delivery(self._on_confirm, callback=done)
            self._confirms = {}

        return self._call(start)

    def basic_publish(
        self,
        exchange: str,
        routing_key: str,
        body: Union[bytes, str],
        properties: Optional[spec.BasicProperties] = None,
        mandatory: bool = False,
    ) -> defer.Deferred[Any]:
        """Publish. Fires with None, or in confirm mode with the broker's `Basic.Ack` method
        (errback `NackError` on a nack, `UnroutableError` for a returned mandatory message).

        :raises TypeError, ValueError, ChannelWrongStateError: as the callback channel's
            `basic_publish` (a closed channel gives a failed Deferred instead).
        """
        if self._close_error is not None:
            return defer.fail(self._close_error)
        self._channel.basic_publish(exchange, routing_key, body, properties, mandatory)
        if self._confirms is None:
            return defer.succeed(None)
        d: defer.Deferred[Any] = defer.Deferred()
        self._confirms[self._next_tag] = d
        self._next_tag += 1
        return d

    def add_on_return_callback(self, callback: Callable[[ReceivedMessage], Any]) -> None:
        """Call `callback(received_message)` for each message the broker returns."""
        require_callable('callback', callback)
        self._return_callbacks.append(callback)

    def _on_confirm(self, method_frame: frame.Method) -> None:
        assert self._confirms is not None
        method: Any = method_frame.method
        tag = method.delivery_tag
        tags = [t for t in self._confirms if t <= tag] if method.multiple else [tag]
        returned, self._returned = self._returned, []
        for t in sorted(tags):
            d = self._confirms.pop(t, None)
            if d is None:
                continue
            if isinstance(method, spec.Basic.Nack):
                d.errback(exceptions.NackError([t]))
            elif returned:
                d.errback(exceptions.UnroutableError(returned))
                returned = []
            else:
                d.callback(method)

    def _on_return(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        message = ReceivedMessage(self, method, properties, body)
        if self._confirms is not None:
            self._returned.append(message)
        for callback in list(self._return_callbacks):
            callback(message)

    # -- closing -----------------------------------------------------------------------------

    def _close_queue(self, tag: str, reason: BaseException) -> None:
        queue_object = self._queues.pop(tag, None)
        if queue_object is not None:
            queue_object.close(reason)

    def _on_broker_cancel(self, method_frame: frame.Method) -> None:
        tag = getattr(method_frame.method, 'consumer_tag', None) or ''
        self._close_queue(tag, exceptions.ConsumerCancelled(tag))

    def _on_closed(self, _channel: Any, error: BaseException) -> None:
        self._close_error = error
        self._get_pending = False
        for tag in list(self._queues):
            self._close_queue(tag, error)
        pending = list(self._calls) + list((self._confirms or {}).values())
        self._calls.clear()
        if self._confirms:
            self._confirms.clear()
        for d in pending:
            if not d.called:
                d.errback(error)
        self.on_closed.callback(error)

    def close(self, reply_code: int = 0, reply_text: str = 'Normal shutdown') -> None:
        """Close the channel; `on_closed` fires with the close reason once it has closed.

        :raises ChannelWrongStateError: if it is already closing or closed.
        """
        self._channel.close(reply_code, reply_text)


class DeferredConnectionAPI:
    """The Deferred face of a callback `Connection` (pika 1.x's `TwistedProtocolConnection` API).

    `ready` fires with `connectionReady()`'s result (the protocol) once the connection is open,
    or errbacks if it cannot open; it is None afterwards. `closed` is None until the connection
    is open, then a Deferred that fires with the close reason (an exception); it is None again
    once that has fired (as in pika 1.x).

    :param impl: the callback connection whose events drive the Deferreds
    """

    def __init__(self, impl: Connection) -> None:
        self._impl = impl
        self.ready: Optional[defer.Deferred[Any]] = defer.Deferred()
        self.ready.addCallback(lambda _: self.connectionReady())
        self.closed: Optional[defer.Deferred[Any]] = None
        impl.add_on_open_callback(self._on_connection_ready)
        impl.add_on_open_error_callback(self._on_connection_failed)
        impl.add_on_close_callback(self._on_connection_closed)

    def connectionReady(self) -> Any:
        """Hook called once the connection is open; returns what `ready` passes on (self)."""
        return self

    def channel(self, channel_number: Optional[int] = None) -> defer.Deferred[TwistedChannel]:
        """Open a channel; the Deferred fires with a `TwistedChannel`.

        :raises ConnectionWrongStateError: if the connection is not open.
        """
        d: defer.Deferred[TwistedChannel] = defer.Deferred()

        def on_open(channel: Channel) -> None:
            twisted_channel = TwistedChannel(channel)
            d.callback(twisted_channel)

        impl = self._impl.channel(channel_number, on_open_callback=on_open)

        def on_close(_channel: Channel, error: BaseException) -> None:
            if not d.called:
                d.errback(error)

        impl.add_on_close_callback(on_close)
        return d

    def close(
        self, reply_code: int = 200, reply_text: str = 'Normal shutdown'
    ) -> Optional[defer.Deferred[Any]]:
        """Close the connection and return `closed`: a Deferred of the close reason, or None
        when the connection was not open (closing one still opening aborts it: `ready`
        errbacks) or has already closed."""
        if not self._impl.is_closed and not self._impl.is_closing:
            self._impl.close(reply_code, reply_text)
        return self.closed

    @property
    def is_open(self) -> bool:
        """True while the connection is open."""
        return self._impl.is_open

    @property
    def is_closed(self) -> bool:
        """True once the connection has finished."""
        return self._impl.is_closed

    def add_on_connection_blocked_callback(self, callback: Callable[..., Any]) -> None:
        """`callback(connection, method_frame)` on Connection.Blocked."""
        require_callable('callback', callback)
        self._impl.add_on_connection_blocked_callback(lambda _c, f: callback(self, f))

    def add_on_connection_unblocked_callback(self, callback: Callable[..., Any]) -> None:
        """`callback(connection, method_frame)` on Connection.Unblocked."""
        require_callable('callback', callback)
        self._impl.add_on_connection_unblocked_callback(lambda _c, f: callback(self, f))

    def add_backpressure_callback(self, callback: Callable[..., Any]) -> None:
        """`callback(connection)` while the transport holds more unsent output than the
        backpressure multiplier times the average frame size (see `set_backpressure_multiplier`).
        """
        require_callable('callback', callback)
        self._impl.add_backpressure_callback(lambda _c: callback(self))

    def set_backpressure_multiplier(self, value: int = 10) -> None:
        """Set the multiplier of the backpressure rule (default 10).

        :raises TypeError: if `value` is not an int; ValueError: if it is not > 0.
        """
        self._impl.set_backpressure_multiplier(value)

    # -- callbacks from the callback core ---------------------------------------------------

    def _on_connection_ready(self, _connection: Connection) -> None:
        self.closed = defer.Deferred()
        d, self.ready = self.ready, None
        if d is not None:
            d.callback(None)

    def _on_connection_failed(self, _connection: Connection, error: BaseException) -> None:
        # On the next reactor turn: `close()` while opening fails the open before it returns,
        # and its caller must still find `ready` to wait on (as with pika 1.x).
        self._impl.call_later(0, lambda: self._fail_ready(error))

    def _fail_ready(self, error: BaseException) -> None:
        d, self.ready = self.ready, None
        if d is not None:
            d.errback(error)

    def _on_connection_closed(self, _connection: Connection, error: BaseException) -> None:
        d, self.closed = self.closed, None
        if d is not None:
            d.callback(error)
