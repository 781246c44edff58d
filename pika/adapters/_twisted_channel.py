"""The Deferred layer of the Twisted adapter: pika 1.x's `TwistedChannel` API.

`twisted_connection` moves bytes and timers between a Twisted transport and the callback
`Connection`; this module turns that callback API into Deferreds. `DeferredConnectionAPI` is the
connection half (`ready`, `closed`, `channel()`, `close()`), `TwistedChannel` wraps a callback
`Channel` so that each RPC returns a Deferred of its reply, and `ClosableDeferredQueue` carries a
consumer's deliveries. Nothing here touches a socket or the reactor.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from twisted.internet import defer

from pika import exceptions, spec
from pika._channel_args import require_callable

if TYPE_CHECKING:
    from pika import frame
    from pika.channel import Channel
    from pika.connection import Connection

__all__ = ['ClosableDeferredQueue', 'DeferredConnectionAPI', 'TwistedChannel']

LOGGER = logging.getLogger(__name__)


class ClosableDeferredQueue(defer.DeferredQueue):  # type: ignore[type-arg]
    """A `DeferredQueue` that can be closed: pending and later `get()`s fail with the reason."""

    def __init__(self, size: Optional[int] = None, backlog: Optional[int] = None) -> None:
        super().__init__(size, backlog)
        self.closed: Optional[BaseException] = None

    def put(self, obj: Any) -> None:
        """Add an item; dropped (with a debug log) once the queue is closed."""
        if self.closed is None:
            super().put(obj)
        else:
            LOGGER.debug('Dropping item for closed queue: %r', self.closed)

    def get(self) -> defer.Deferred[Any]:
        """A Deferred of the next item; fails with the close reason once closed and empty."""
        if self.closed is not None and not self.pending:
            return defer.fail(self.closed)
        return super().get()

    def close(self, reason: BaseException) -> None:
        """Close the queue: every waiting `get()` errbacks with `reason`."""
        if self.closed is not None:
            return
        self.closed = reason
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            d.errback(reason)


class TwistedChannel:
    """pika 1.x's Twisted channel: RPC methods return Deferreds firing with the reply frame.

    `basic_consume` fires with `(queue, consumer_tag)` where `queue.get()` fires with
    `(channel, method, properties, body)`; `basic_publish` fires once the broker confirmed the
    message in confirm mode (errback `NackError`/`UnroutableError`), at once otherwise. Other
    attributes are those of the callback `Channel` (`channel_number`, `basic_ack`, ...).
    """

    _RPC_METHODS = frozenset(
        (
            'exchange_declare', 'exchange_delete', 'exchange_bind', 'exchange_unbind',
            'queue_declare', 'queue_bind', 'queue_unbind', 'queue_purge', 'queue_delete',
            'basic_qos', 'basic_recover', 'tx_select', 'tx_commit', 'tx_rollback', 'flow',
        )
    )  # fmt: skip

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._calls: set[defer.Deferred[Any]] = set()
        self._queues: dict[str, ClosableDeferredQueue] = {}
        self._confirms: Optional[dict[int, defer.Deferred[Any]]] = None
        self._next_tag = 1
        self._returned: list[tuple[Any, Any, bytes]] = []
        self._close_error: Optional[BaseException] = None
        channel.add_on_close_callback(self._on_closed)
        channel.add_on_cancel_callback(self._on_broker_cancel)
        channel.add_on_return_callback(self._on_return)

    def __getattr__(self, name: str) -> Any:
        if name in self._RPC_METHODS:
            return lambda *args, **kwargs: self._rpc(name, args, kwargs)
        return getattr(self._channel, name)

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
        except Exception as exc:  # argument/state errors: fail the Deferred, not the caller
            self._calls.discard(d)
            return defer.fail(exc)
        return d

    def _rpc(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> defer.Deferred[Any]:
        return self._call(lambda done: getattr(self._channel, name)(*args, callback=done, **kwargs))

    def basic_consume(
        self,
        queue: str,
        auto_ack: bool = False,
        exclusive: bool = False,
        consumer_tag: Optional[str] = None,
        arguments: Optional[dict[str, Any]] = None,
    ) -> defer.Deferred[tuple[ClosableDeferredQueue, str]]:
        """Start a consumer; fires with `(queue_object, consumer_tag)`."""
        queue_object = ClosableDeferredQueue()

        def start(done: Callable[..., None]) -> None:
            tag: list[str] = []
            tag.append(
                self._channel.basic_consume(
                    queue,
                    lambda _ch, method, props, body: queue_object.put((self, method, props, body)),
                    auto_ack=auto_ack,
                    exclusive=exclusive,
                    consumer_tag=consumer_tag,
                    arguments=arguments,
                    callback=lambda _frame: done((queue_object, tag[0])),
                )
            )
            self._queues[tag[0]] = queue_object

        return self._call(start)

    def basic_cancel(self, consumer_tag: str = '') -> defer.Deferred[Any]:
        """Cancel a consumer; its queue object is closed with `ConsumerCancelled`."""

        def start(done: Callable[..., None]) -> None:
            def cancelled(method_frame: frame.Method) -> None:
                self._close_queue(consumer_tag, exceptions.ConsumerCancelled(consumer_tag))
                done(method_frame)

            self._channel.basic_cancel(consumer_tag, callback=cancelled)

        return self._call(start)

    def basic_get(self, queue: str, auto_ack: bool = False) -> defer.Deferred[Any]:
        """Basic.Get: fires with `(channel, method, properties, body)`, or None if empty."""

        def start(done: Callable[..., None]) -> None:
            def got(_ch: Any, method: Any, props: Any, body: Any) -> None:
                empty = isinstance(method, spec.Basic.GetEmpty)
                done(None if empty else (self, method, props, body))

            self._channel.basic_get(queue, got, auto_ack=auto_ack)

        return self._call(start)

    def confirm_delivery(self) -> defer.Deferred[Any]:
        """Turn on publisher confirms; `basic_publish` then waits for each confirm."""

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
        """Publish; in confirm mode the Deferred fires on the broker's ack."""
        try:
            self._channel.basic_publish(exchange, routing_key, body, properties, mandatory)
        except Exception as exc:
            return defer.fail(exc)
        if self._confirms is None:
            return defer.succeed(None)
        d: defer.Deferred[Any] = defer.Deferred()
        self._confirms[self._next_tag] = d
        self._next_tag += 1
        return d

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
                d.callback(None)

    def _on_return(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self._confirms is not None:
            self._returned.append((method, properties, body))

    def _close_queue(self, tag: str, reason: BaseException) -> None:
        queue_object = self._queues.pop(tag, None)
        if queue_object is not None:
            queue_object.close(reason)

    def _on_broker_cancel(self, method_frame: frame.Method) -> None:
        tag = getattr(method_frame.method, 'consumer_tag', '')
        self._close_queue(tag, exceptions.ConsumerCancelled(tag))

    def _on_closed(self, _channel: Any, error: BaseException) -> None:
        self._close_error = error
        for tag in list(self._queues):
            self._close_queue(tag, error)
        pending = list(self._calls) + list((self._confirms or {}).values())
        self._calls.clear()
        if self._confirms:
            self._confirms.clear()
        for d in pending:
            if not d.called:
                d.errback(error)

    def close(
        self, reply_code: int = 0, reply_text: str = 'Normal shutdown'
    ) -> defer.Deferred[Any]:
        """Close the channel; fires with the close reason once closed."""
        d: defer.Deferred[Any] = defer.Deferred()
        self._channel.add_on_close_callback(lambda _ch, error: d.callback(error))
        self._channel.close(reply_code, reply_text)
        return d


class DeferredConnectionAPI:
    """The Deferred face of a callback `Connection` (pika 1.x's `TwistedProtocolConnection` API).

    `ready` fires with `connectionReady()`'s result (the protocol) once the connection is open,
    or errbacks if it cannot open; `closed` fires with the close reason (an exception).

    :param impl: the callback connection whose events drive the Deferreds
    """

    def __init__(self, impl: Connection) -> None:
        self._impl = impl
        self.ready: Optional[defer.Deferred[Any]] = defer.Deferred()
        self.ready.addCallback(lambda _: self.connectionReady())
        self.closed: defer.Deferred[Any] = defer.Deferred()
        impl.add_on_open_callback(self._on_connection_ready)
        impl.add_on_open_error_callback(self._on_connection_failed)
        impl.add_on_close_callback(self._on_connection_closed)

    def connectionReady(self) -> Any:
        """Hook called once the connection is open; returns what `ready` passes on (self)."""
        return self

    def channel(self, channel_number: Optional[int] = None) -> defer.Deferred[TwistedChannel]:
        """Open a channel; the Deferred fires with a `TwistedChannel`."""
        d: defer.Deferred[TwistedChannel] = defer.Deferred()

        def on_open(channel: Channel) -> None:
            twisted_channel = TwistedChannel(channel)
            d.callback(twisted_channel)

        try:
            impl = self._impl.channel(channel_number, on_open_callback=on_open)
        except exceptions.AMQPError as exc:
            return defer.fail(exc)

        def on_close(_channel: Channel, error: BaseException) -> None:
            if not d.called:
                d.errback(error)

        impl.add_on_close_callback(on_close)
        return d

    def close(
        self, reply_code: int = 200, reply_text: str = 'Normal shutdown'
    ) -> defer.Deferred[Any]:
        """Close the connection; returns `closed`. Closing a closed connection is a no-op."""
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
        d, self.ready = self.ready, None
        if d is not None:
            d.callback(None)

    def _on_connection_failed(self, _connection: Connection, error: BaseException) -> None:
        d, self.ready = self.ready, None
        if d is not None:
            d.errback(error)
        self.closed.callback(error)

    def _on_connection_closed(self, _connection: Connection, error: BaseException) -> None:
        self.closed.callback(error)
