"""BlockingChannel: the blocking front-end of one AMQP channel.

Every method here validates its arguments in the caller's thread, hands a method to the
sans-I/O :class:`~pika._core.channel.ChannelCore` under the connection's pump lock, and (for
synchronous methods) waits for the reply through :meth:`Pump.wait`, bounded by the call's
``timeout=`` or the connection's ``rpc_timeout``. Replies are routed by whichever thread reads
the socket; deliveries, returns and consumer cancellations are queued on the channel's
:class:`~pika.adapters._blocking.slots.ChannelSlot` and dispatched later, outside the lock, by
``start_consuming()`` / ``consume()`` (:class:`~pika.adapters._blocking.consume.ConsumeGenerator`)
/ ``BlockingConnection.process_data_events()``.

See ``docs/blocking.md`` for which calls may come from which thread.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, ClassVar, NamedTuple, Optional, Union, overload

from pika import exceptions, frame, spec
from pika._api import args as args_mod
from pika._api.args import GetEmpty as GetEmpty  # re-exported by blocking_connection
from pika._api.methods import METHODS
from pika._core import events as ev
from pika._core.channel import ChannelCore
from pika._core.states import ChannelState
from pika._wire.constants import LONGLONG_MAX
from pika.adapters._blocking.consume import ChannelLink, ConsumeGenerator, Message, NoMessage
from pika.adapters._blocking.slots import PendingConfirm, Waiter
from pika.adapters._io.backlog import DELIVERY_OVERHEAD, delivery_cost
from pika.adapters._otel_compat import ConsumerInfosCompat

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pika.adapters._blocking.pump import Pump
    from pika.adapters._blocking.slots import ChannelSlot
    from pika.adapters.blocking_connection import BlockingConnection

LOGGER = logging.getLogger(__name__)

_monotonic = time.monotonic
_get_ident = threading.get_ident
_Delivered = ev.MessageDelivered
_CHANNEL_OPEN = ChannelState.OPEN
_RECOVERING = ChannelState.RECOVERING
_CLOSED_BY_US = (exceptions.ChannelClosedByClient, exceptions.ConnectionClosedByClient)

#: Nacks queued per hold of the pump lock when a cancel requeues pending messages (about
#: 1.3 ms of encoding each): small enough that heartbeats and other threads are not held up.
REQUEUE_CHUNK = 1000

#: Cancelled consumers whose ack mode is remembered (see ``BlockingChannel._remember_cancelled``).
CANCELLED_REMEMBERED = 256


_GetResult = tuple[Optional[spec.Basic.GetOk], Optional[spec.BasicProperties], Optional[bytes]]
"""What ``basic_get`` returns in the pika 1.x form: ``(None, None, None)`` when empty."""

_TIMEOUT = (('timeout', None),)
"""The keyword-only argument every synchronous method adds to its pika 1.x signature."""

_LegacyGetResult = tuple[
    Union[spec.Basic.GetOk, GetEmpty], Optional[spec.BasicProperties], Optional[bytes]
]
"""What ``basic_get`` returns in the 0.9 form (and keyword-only calls): a falsy ``GetEmpty``."""


class ConnectionLink(NamedTuple):
    """What a :class:`BlockingChannel` uses of its :class:`BlockingConnection`, handed over by
    ``connection.channel()`` (the connection's own bound methods), so that neither reaches into
    the other's private members."""

    pump: Pump
    """The connection's pump: lock, socket, core, waits."""
    deadline: Callable[[Optional[float]], Optional[float]]
    """Absolute deadline of a call's ``timeout=`` (None: the connection's ``rpc_timeout``)."""
    loss_reported: Callable[[], None]
    """Record that the connection's loss has been raised to the application once."""
    note_backpressure: Callable[[], None]
    """Output is backing up (pump lock held): queue the backpressure callbacks if needed."""
    run_once: Callable[[Optional[float], Callable[[], bool]], Any]
    """One turn of the connection's dispatch loop, until the deadline or the condition."""
    forget_channel: Callable[[int], None]
    """Drop a closed channel from the connection's table."""


class ReturnedMessage:
    """A message the broker returned or refused, as ``UnroutableError``/``NackError`` carry it.

    Three attributes, as in pika 1.x (not a tuple there, so not one here): ``method`` (the
    ``Basic.Return``, or the ``Basic.Nack``), ``properties`` and ``body``.
    """

    __slots__ = ('body', 'method', 'properties')

    def __init__(self, method: Any, properties: Any, body: bytes) -> None:
        self.method: Any = method
        self.properties: Any = properties
        self.body: bytes = body

    def __repr__(self) -> str:
        return (
            f'ReturnedMessage(method={self.method!r}, properties={self.properties!r}, '
            f'body={self.body!r})'
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ReturnedMessage)
        return (self.method, self.properties, self.body) == (
            other.method,
            other.properties,
            other.body,
        )

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # mutable value object


class _Consumer:
    """A ``basic_consume`` registration: its callback and whether the broker auto-acks.

    The field keeps pika 1.x's name: OpenTelemetry's instrumentation replaces it (see
    :mod:`pika.adapters._otel_compat`)."""

    __slots__ = ('auto_ack', 'on_message_callback')

    def __init__(self, on_message_callback: Callable[..., Any], auto_ack: bool) -> None:
        self.on_message_callback = on_message_callback
        self.auto_ack = auto_ack


def _method_frame(channel_number: int, reply: ev.RpcReply) -> frame.Method:
    return frame.Method(channel_number, reply.method)


class BlockingChannel(ConsumerInfosCompat):
    """A channel of a :class:`BlockingConnection`; create it with ``connection.channel()``.

    Synchronous methods block until the broker replies and return its reply as a
    ``pika.frame.Method`` (``.method`` is e.g. ``Queue.DeclareOk``). Each takes an optional
    keyword ``timeout`` (seconds) overriding the connection's ``rpc_timeout``; expiry raises
    :class:`pika.exceptions.OperationTimeout`. If the broker closes the channel, the call in
    progress raises :class:`~pika.exceptions.ChannelClosedByBroker`; later calls raise
    :class:`~pika.exceptions.ChannelWrongStateError`.

    What each call means (binding of both API generations, argument checks, the spec method it
    sends) is decided by the channel-method table the callback ``Channel`` shares,
    :mod:`pika._api.methods`. A pika 0.9 call with ``nowait=True`` returns None, which the
    return hints deliberately leave out.
    """

    def __init__(
        self, connection: BlockingConnection, slot: ChannelSlot, link: ConnectionLink
    ) -> None:
        self._connection = connection
        self._link = link
        self._pump = link.pump
        self._deadline = link.deadline  # every RPC and confirm asks: one call, no wrapper
        self._slot = slot
        slot.dispatch = self._dispatch_events  # called by the connection's dispatch loop
        self._acker: Optional[int] = None  # thread running a batch of this channel's callbacks
        self._consumers: dict[Any, _Consumer] = {}
        self._cancelled_auto_ack: dict[Any, bool] = {}
        # the consume() generator's consumer, composed: it calls back only through this link
        self._consume_gen = ConsumeGenerator(
            ChannelLink(
                new_tag=self._new_tag,
                check_usable=self._check_usable,
                raise_closed=self._raise_closed,
                rpc=self._rpc,
                purge=self._purge,
                basic_cancel=self.basic_cancel,
                is_open=lambda: self.is_open,
                run_once=link.run_once,
            ),
            slot,
            self._pump,
        )
        self._return_callbacks: list[Callable[..., Any]] = []
        self._cancel_callbacks: list[Callable[..., Any]] = []

    def __repr__(self) -> str:
        state = 'open' if self.is_open else 'closed'
        return f'<BlockingChannel number={self.channel_number} {state}>'

    def __int__(self) -> int:
        return self.channel_number

    def __enter__(self) -> BlockingChannel:
        return self

    def __exit__(self, exc_type: Any, value: Any, traceback: Any) -> None:
        if self.is_open:
            self.close()

    # -- state -------------------------------------------------------------------------

    @property
    def channel_number(self) -> int:
        """This channel's number (read-only)."""
        return self._slot.number

    @property
    def connection(self) -> BlockingConnection:
        """The owning :class:`BlockingConnection`."""
        return self._connection

    @property
    def is_open(self) -> bool:
        """True while the channel can be used."""
        slot = self._slot
        core = slot.core
        return slot.opened and slot.error is None and (core.is_open or core.state is _RECOVERING)

    @property
    def is_closed(self) -> bool:
        """True once the channel is closed (by us, the broker, or with the connection)."""
        return self._slot.error is not None

    @property
    def consumer_tags(self) -> list[str]:
        """Tags of this channel's active consumers (``basic_consume`` and ``consume``)."""
        tags = list(self._consumers)
        gen = self._consume_gen.current
        if gen is not None:
            tags.append(gen.tag)
        return tags

    def _check_usable(self) -> None:
        """Raise why the channel cannot be used (lock held); the close reason is raised once."""
        slot = self._slot
        if slot.error is None:
            if not slot.opened or not slot.core.is_open:
                raise exceptions.ChannelWrongStateError(args_mod.NOT_USABLE['CLOSING'])
            return
        self._raise_closed()

    def _await_recovery(self, deadline: Optional[float]) -> None:
        """The connection is being recovered: wait until it is back, at most until
        ``deadline``, then raise ``ConnectionRecovering`` (lock held)."""
        slot = self._slot
        core = slot.core

        def back() -> bool:
            return core.state is not _RECOVERING or slot.error is not None

        if not self._pump.wait(back, deadline) and slot.error is None:
            raise exceptions.ConnectionRecovering(
                f'channel {slot.number}: the connection is still being recovered'
            )

    def _raise_closed(self) -> None:
        slot = self._slot
        if not slot.error_reported and not isinstance(slot.error, _CLOSED_BY_US):
            self._raise_error(slot.error)  # type: ignore[arg-type]
        raise exceptions.ChannelWrongStateError(args_mod.NOT_USABLE['CLOSED'])

    def _raise_error(self, error: BaseException) -> None:
        self._slot.error_reported = True
        if error is self._pump.error:
            self._link.loss_reported()
        raise error

    # -- the two primitives: rpc and async send ----------------------------------------

    def _rpc(self, method: Any, timeout: Optional[float] = None) -> Optional[ev.RpcReply]:
        """Send a synchronous method and wait for its reply (None for nowait methods)."""
        deadline = self._deadline(timeout)
        pump = self._pump
        slot = self._slot
        with pump.lock:
            core = slot.core
            if slot.error is not None or not slot.opened or core.state is not _CHANNEL_OPEN:
                if core.state is _RECOVERING:
                    self._await_recovery(deadline)
                self._check_usable()  # core.state: ChannelCore.is_open without the call
            if slot.acks:
                slot.write_acks()  # a callback's acks go first (e.g. before Tx.Commit)
            core.rpc(method)  # raises (bad state or arguments) before queueing anything
            if getattr(method, 'nowait', False):
                pump.send_now()
                return None
            waiter = Waiter()
            slot.rpc_waiters.append(waiter)  # before the send: a failing send fails it
            pump.send_now()
            done = pump.wait(waiter.is_done, deadline)
        if not done:
            if self._slot.error is not None:
                self._raise_closed()
            raise exceptions.OperationTimeout(
                f'{method.NAME} on channel {self.channel_number} timed out'
            )
        if waiter.error is not None:
            self._raise_error(waiter.error)
        return waiter.value  # type: ignore[no-any-return]

    def _rpc_frame(self, method: Any, timeout: Optional[float]) -> Optional[frame.Method]:
        reply = self._rpc(method, timeout)
        return None if reply is None else frame.Method(self.channel_number, reply.method)

    def _send(self, write: Callable[..., None], *args: Any) -> None:
        """Queue an asynchronous method (ack/nack/reject) with ``write(core, *args)``.

        ``write`` is ``ChannelCore.send`` (a spec method) or ``ChannelCore.ack``. Sent at once,
        or, from a callback, with the other acks of the read after the dispatch.
        """
        pump = self._pump
        with pump.lock:
            slot = self._slot
            if slot.error is not None:
                self._raise_closed()
            if slot.acks:
                slot.write_acks()
            write(slot.core, *args)
            if not self._connection.in_callback():
                pump.send_now()

    def _table_rpc(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Send the method that row `name` of the shared table builds from the call, wait for
        the reply and return it as a frame, once a pika 0.9 ``callback`` has seen it."""
        timeout = kwargs.pop('timeout', None)
        # METHODS[name].prepare() without its call and tuple (and the nowait _rpc finds
        # itself): every declare, bind and qos comes here (bench/offline.py --instructions
        # blocking_rpc).
        entry = METHODS[name]
        bound = args_mod.bind(name, args, kwargs)
        callback = entry.check(bound)
        reply = self._rpc(entry.build(bound), timeout)
        result = None if reply is None else frame.Method(self._slot.number, reply.method)
        if callback is not None:
            callback(result)
        return result

    # -- exchanges, queues, QoS, recover, transactions, flow -------------------------------

    @args_mod.advertise('exchange_declare', callback=False, keyword_only=_TIMEOUT)
    def exchange_declare(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.DeclareOk]:
        """``exchange_declare(exchange, exchange_type='direct', passive=False, durable=False,
        auto_delete=False, internal=False, arguments=None)``; returns Exchange.DeclareOk."""
        return self._table_rpc('exchange_declare', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('exchange_delete', callback=False, keyword_only=_TIMEOUT)
    def exchange_delete(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.DeleteOk]:
        """``exchange_delete(exchange=None, if_unused=False)``; returns Exchange.DeleteOk."""
        return self._table_rpc('exchange_delete', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('exchange_bind', callback=False, keyword_only=_TIMEOUT)
    def exchange_bind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.BindOk]:
        """``exchange_bind(destination, source, routing_key='', arguments=None)``."""
        return self._table_rpc('exchange_bind', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('exchange_unbind', callback=False, keyword_only=_TIMEOUT)
    def exchange_unbind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.UnbindOk]:
        """``exchange_unbind(destination=None, source=None, routing_key='', arguments=None)``."""
        return self._table_rpc('exchange_unbind', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('queue_declare', callback=False, keyword_only=_TIMEOUT)
    def queue_declare(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.DeclareOk]:
        """``queue_declare(queue, passive=False, durable=False, exclusive=False,
        auto_delete=False, arguments=None)``; returns a frame whose ``.method`` is
        Queue.DeclareOk (``queue``, ``message_count``, ``consumer_count``)."""
        return self._table_rpc('queue_declare', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('queue_bind', callback=False, keyword_only=_TIMEOUT)
    def queue_bind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.BindOk]:
        """``queue_bind(queue, exchange, routing_key=None, arguments=None)``; a None routing
        key binds with the queue name."""
        return self._table_rpc('queue_bind', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('queue_unbind', callback=False, keyword_only=_TIMEOUT)
    def queue_unbind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.UnbindOk]:
        """``queue_unbind(queue, exchange=None, routing_key=None, arguments=None)``."""
        return self._table_rpc('queue_unbind', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('queue_purge', callback=False, keyword_only=_TIMEOUT)
    def queue_purge(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.PurgeOk]:
        """``queue_purge(queue)``; returns Queue.PurgeOk (``message_count``)."""
        return self._table_rpc('queue_purge', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('queue_delete', callback=False, keyword_only=_TIMEOUT)
    def queue_delete(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.DeleteOk]:
        """``queue_delete(queue, if_unused=False, if_empty=False)``; returns Queue.DeleteOk."""
        return self._table_rpc('queue_delete', args, kwargs)  # type: ignore[no-any-return]

    @args_mod.advertise('basic_qos', callback=False, keyword_only=_TIMEOUT)
    def basic_qos(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Basic.QosOk]:
        """``basic_qos(prefetch_size=0, prefetch_count=0, global_qos=False)``; 0.9 spelled
        ``global_qos`` as ``all_channels``."""
        return self._table_rpc('basic_qos', args, kwargs)  # type: ignore[no-any-return]

    def basic_recover(
        self, requeue: bool = False, *, timeout: Optional[float] = None
    ) -> frame.Method[spec.Basic.RecoverOk]:
        """Ask the broker to redeliver this channel's unacknowledged messages."""
        kwargs = {'requeue': requeue, 'timeout': timeout}
        return self._table_rpc('basic_recover', (), kwargs)  # type: ignore[no-any-return]

    def tx_select(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.SelectOk]:
        """Start using transactions on this channel; returns Tx.SelectOk."""
        return self._table_rpc('tx_select', (), {'timeout': timeout})  # type: ignore[no-any-return]

    def tx_commit(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.CommitOk]:
        """Commit the current transaction; returns Tx.CommitOk."""
        return self._table_rpc('tx_commit', (), {'timeout': timeout})  # type: ignore[no-any-return]

    def tx_rollback(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.RollbackOk]:
        """Abandon the current transaction; returns Tx.RollbackOk."""
        reply = self._table_rpc('tx_rollback', (), {'timeout': timeout})
        return reply  # type: ignore[no-any-return]

    def flow(self, active: bool, *, timeout: Optional[float] = None) -> bool:
        """Ask the broker to pause (False) or resume (True) deliveries; returns its answer."""
        reply = self._table_rpc('flow', (active,), {'timeout': timeout})
        return bool(reply.method.active)

    # -- publishing --------------------------------------------------------------------

    def basic_publish(
        self,
        exchange: args_mod.ReceivedStr,
        routing_key: args_mod.ReceivedStr,
        body: Any,
        properties: Optional[spec.BasicProperties] = None,
        mandatory: bool = False,
        immediate: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> None:
        """Publish a message; in confirm mode, wait for the broker's confirmation.

        :param exchange: exchange name ('' is the default exchange)
        :param routing_key: routing key
        :param body: bytes (str is encoded as UTF-8)
        :param properties: ``pika.BasicProperties`` or None
        :param mandatory: ask the broker to return the message if no queue takes it
        :param immediate: pika 0.9's flag; only False is accepted (RabbitMQ does not implement
            it and closes the connection)
        :param timeout: bound on waiting for output to drain / for the confirm
        :raises UnroutableError: (confirm mode) the mandatory message was returned
        :raises NackError: (confirm mode) the broker refused the message
        :raises OperationTimeout: the bound expired (the message may still be delivered)
        """
        if type(exchange) is not str or type(routing_key) is not str:
            exchange = args_mod.str_value('exchange', exchange)
            routing_key = args_mod.str_value('routing_key', routing_key)
        if type(body) is not bytes:
            body = args_mod.encode_body(body)
        if properties is not None and not isinstance(properties, spec.BasicProperties):
            raise TypeError('properties must be a pika.BasicProperties or None')
        if mandatory is not False and mandatory is not True:
            args_mod.require_bool('mandatory', mandatory)
        if immediate:
            raise ValueError('immediate=True is not supported by RabbitMQ')
        pump = self._pump
        slot = self._slot
        with pump.lock:
            if slot.error is not None or not slot.opened:
                self._check_usable()
            if slot.acks:
                slot.write_acks()
            try:
                tag = slot.core.publish(exchange, routing_key, body, properties, mandatory)
            except exceptions.ConnectionRecovering:  # costs nothing unless raised
                self._await_recovery(self._deadline(timeout))
                self._check_usable()
                tag = slot.core.publish(exchange, routing_key, body, properties, mandatory)
            if tag is None:
                pump.send_publish()  # may coalesce a burst; see Pump.send_publish
                if slot.error is not None:  # the send found the stream dead: say so
                    self._raise_closed()
                if not pump.unsent.size:  # pump.output_pending, without the property call
                    return
                self._link.note_backpressure()
                if pump.flush(self._deadline(timeout)):
                    return
                if slot.error is not None:
                    self._raise_closed()
                raise exceptions.OperationTimeout('basic_publish: output did not drain in time')
            pending = PendingConfirm(exchange, routing_key, bool(mandatory), properties, body)
            slot.unconfirmed[tag] = pending
            reconnect = pump.reconnect
            losses = 0 if reconnect is None else reconnect.losses
            pump.send_now()
            done = pump.wait(pending.is_done, self._deadline(timeout))
            if not done and reconnect is not None and reconnect.losses != losses:
                self._abandon(tag)
        self._check_confirm(pending, done, reconnect is not None and reconnect.losses != losses)

    def _abandon(self, sequence: int) -> None:
        """Stop waiting for publish ``sequence`` (lock held): not republished any more."""
        slot = self._slot
        slot.unconfirmed.pop(sequence, None)
        record = slot.core.record
        if record is not None:
            record.abandon(sequence)

    def _check_confirm(self, pending: PendingConfirm, done: bool, lost: bool = False) -> None:
        if not done:
            if self._slot.error is not None:
                self._raise_closed()
            if lost:
                raise exceptions.PublishOutcomeUnknown(
                    'basic_publish: the connection was lost before the publisher confirm, '
                    'and no confirm of the republished copy came in time'
                )
            raise exceptions.OperationTimeout('basic_publish: no publisher confirm in time')
        if pending.error is not None:
            self._raise_error(pending.error)
        returned = pending.returned
        if returned is not None:
            message = ReturnedMessage(returned.method, returned.properties, returned.body)
            raise exceptions.UnroutableError([message])
        if isinstance(pending.outcome, spec.Basic.Nack):
            raise exceptions.NackError(
                [ReturnedMessage(pending.outcome, pending.properties, pending.body)]
            )

    def publish(self, *args: Any, **kwargs: Any) -> None:
        """Alias of :meth:`basic_publish` (pika 0.10 name)."""
        self.basic_publish(*args, **kwargs)

    def confirm_delivery(self, *, timeout: Optional[float] = None) -> None:
        """Turn on publisher confirms: ``basic_publish`` then waits for Basic.Ack/Nack."""
        self._rpc(METHODS['confirm_delivery'].build({}), timeout)

    # -- acknowledgements ----------------------------------------------------------------

    def basic_ack(self, delivery_tag: args_mod.DeliveryTag = 0, multiple: bool = False) -> None:
        """Acknowledge one message (or all up to ``delivery_tag`` with ``multiple``).

        The core packs the Basic.Ack frame in one struct call (``ChannelCore.ack``) instead of
        building and generically encoding a method object: consumers ack every message, and
        that was half of a blocking consumer's CPU per message (bench/NOTES.md).

        From the thread running a batch of this channel's callbacks, a single ack (checked
        here, in the caller) is appended to the slot's ``acks`` without the lock; the batch
        end, or the channel's next write, queues them in order (``ChannelSlot.write_acks``).
        Acks from callbacks were already sent only then; this saves the lock and the
        ``in_callback()`` check per message (bench/NOTES.md).
        """
        if (
            type(delivery_tag) is int
            and 0 <= delivery_tag <= LONGLONG_MAX
            and multiple is False
            and self._acker == _get_ident()
        ):
            slot = self._slot
            if slot.error is None and slot.core.state is _CHANNEL_OPEN:
                slot.acks.append(delivery_tag)
                return
        tag = args_mod.delivery_tag_value(delivery_tag)
        if multiple is not False and multiple is not True:
            args_mod.require_bool('multiple', multiple)
        self._send(ChannelCore.ack, tag, multiple)

    def basic_nack(
        self, delivery_tag: args_mod.DeliveryTag = 0, multiple: bool = False, requeue: bool = True
    ) -> None:
        """Reject one or several messages, requeueing them unless ``requeue`` is False."""
        tag = args_mod.delivery_tag_value(delivery_tag)
        args_mod.require_bool('multiple', multiple)
        args_mod.require_bool('requeue', requeue)
        self._send(
            ChannelCore.send, spec.Basic.Nack(tag, multiple, requeue)
        )  # delivery_tag, multiple, requeue

    def basic_reject(self, delivery_tag: args_mod.DeliveryTag = 0, requeue: bool = True) -> None:
        """Reject one message, requeueing it unless ``requeue`` is False."""
        tag = args_mod.delivery_tag_value(delivery_tag)
        args_mod.require_bool('requeue', requeue)
        self._send(ChannelCore.send, spec.Basic.Reject(tag, requeue))  # delivery_tag, requeue

    # -- consuming with callbacks ----------------------------------------------------------

    @args_mod.advertise('basic_consume', callback=False, keyword_only=(('timeout', None),))
    def basic_consume(self, *args: Any, **kwargs: Any) -> str:
        """Start a consumer; returns its consumer tag.

        Both generations: ``basic_consume(queue, on_message_callback, auto_ack=False,
        exclusive=False, consumer_tag=None, arguments=None)`` (1.x) or
        ``basic_consume(consumer_callback, queue='', no_ack=False, exclusive=False,
        consumer_tag=None, arguments=None)`` (0.9, callable first). The callback is called as
        ``callback(channel, method, properties, body)`` by ``start_consuming()`` or
        ``connection.process_data_events()``.
        """
        timeout = kwargs.pop('timeout', None)
        entry = METHODS['basic_consume']
        bound = args_mod.bind('basic_consume', args, kwargs)
        callback = entry.check(bound)
        bound['consumer_tag'] = self._new_tag(bound['consumer_tag'])
        method = entry.build(bound)
        tag: str = method.consumer_tag
        self._consumers[tag] = _Consumer(bound['on_message_callback'], bool(method.no_ack))
        try:
            reply = self._rpc(method, timeout)
        except BaseException:
            self._consumers.pop(tag, None)
            raise
        if callback is not None and reply is not None:
            callback(_method_frame(self.channel_number, reply))
        return tag

    def _new_tag(self, requested: Optional[str]) -> str:
        if requested is not None and requested != '':
            args_mod.require_str('consumer_tag', requested)
            gen = self._consume_gen.current
            if requested in self._consumers or (gen is not None and gen.tag == requested):
                raise exceptions.DuplicateConsumerTag(requested)
            return requested
        return f'ctag{self.channel_number}.{uuid.uuid4().hex}'

    def basic_cancel(
        self, consumer_tag: str = '', *, timeout: Optional[float] = None
    ) -> list[tuple[spec.Basic.Deliver, spec.BasicProperties, bytes]]:
        """Cancel a consumer; returns the messages it will not be given, as pika 1.x does.

        Messages that arrived for it but were not dispatched yet are Nacked (requeued) for an
        ``auto_ack=False`` consumer, and the result is ``[]``. For an ``auto_ack=True`` one
        the broker already counts them as acknowledged, so they are returned as
        ``(method, properties, body)`` triples, in arrival order, for the caller to handle
        (not passed to the callback: cancelling from inside a callback must not re-enter it).
        """
        if callable(consumer_tag):  # 0.9 form: basic_cancel(callback, consumer_tag)
            raise TypeError('basic_cancel() takes a consumer tag; callbacks are not used here')
        cancel = METHODS['basic_cancel'].build({'consumer_tag': consumer_tag})  # checks the tag
        consumer = self._consumers.get(consumer_tag)
        gen = self._consume_gen.current
        if consumer is None and (gen is None or gen.tag != consumer_tag):
            return []
        auto_ack = consumer.auto_ack if consumer is not None else gen.auto_ack  # type: ignore[union-attr]
        if self.is_open:
            self._rpc(cancel, timeout)
        self._remember_cancelled(consumer_tag, auto_ack)  # first: a dispatcher reads it
        self._consumers.pop(consumer_tag, None)
        if gen is not None and gen.tag == consumer_tag:
            self._consume_gen.current = None
        leftovers = self._purge(consumer_tag)
        if auto_ack:
            return [(e.method, e.properties, e.body) for e in leftovers]
        self._requeue(leftovers)
        return []

    def _remember_cancelled(self, tag: str, auto_ack: bool) -> None:
        """Record a cancelled consumer's ack mode for deliveries a dispatcher still holds.

        Needed only briefly (the cancel sets its deliveries aside right after), so only the
        last :data:`CANCELLED_REMEMBERED` are kept: a program that starts and cancels
        consumers in a loop must not grow this forever.
        """
        remembered = self._cancelled_auto_ack
        remembered.pop(tag, None)
        remembered[tag] = auto_ack
        if len(remembered) > CANCELLED_REMEMBERED:
            del remembered[next(iter(remembered))]  # the oldest

    def _purge(self, tag: str) -> list[ev.MessageDelivered]:
        """Remove the undispatched deliveries of consumer ``tag``; wake the dispatchers."""
        pump = self._pump
        slot = self._slot
        with pump.lock:
            mine = slot.take_deliveries(tag)
            if slot.gen_tag == tag:
                mine.extend(slot.gen_queue)
                slot.gen_queue.clear()
                slot.gen_tag = None
            if slot.error is None:
                pump.router.forget_backlog(slot, sum([delivery_cost(e.body) for e in mine]))
            pump.kick()
        return mine

    def _requeue(self, deliveries: list[Any]) -> None:
        """Nack (requeue) deliveries of a cancelled ``auto_ack=False`` consumer.

        At most :data:`REQUEUE_CHUNK` Nacks per hold of the pump lock, each full chunk written
        at once, so a cancel with 100,000 pending messages never keeps the keeper (heartbeats)
        or another thread waiting for more than a few milliseconds. A short tail is batched
        like any ack while callbacks run.
        """
        pump = self._pump
        slot = self._slot
        for start in range(0, len(deliveries), REQUEUE_CHUNK):
            chunk = deliveries[start : start + REQUEUE_CHUNK]
            with pump.lock:
                if not self.is_open:
                    return  # the broker requeues unacked messages of a closed channel itself
                slot.write_acks()
                send = slot.core.send
                for delivery in chunk:
                    tag = delivery.method.delivery_tag
                    send(spec.Basic.Nack(delivery_tag=tag, multiple=False, requeue=True))
                if len(chunk) == REQUEUE_CHUNK or not self._connection.in_callback():
                    pump.send_now()

    # -- the consume() generator (pika.adapters._blocking.consume) ---------------------------

    @overload
    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = ...,
        exclusive: bool = ...,
        arguments: Optional[dict[str, Any]] = ...,
        inactivity_timeout: None = ...,
        consumer_tag: Optional[str] = ...,
    ) -> Iterator[Message]: ...

    @overload
    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = ...,
        exclusive: bool = ...,
        arguments: Optional[dict[str, Any]] = ...,
        *,
        inactivity_timeout: float,
        consumer_tag: Optional[str] = ...,
    ) -> Iterator[Union[Message, NoMessage]]: ...

    @overload
    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool,
        exclusive: bool,
        arguments: Optional[dict[str, Any]],
        inactivity_timeout: float,
        consumer_tag: Optional[str] = ...,
    ) -> Iterator[Union[Message, NoMessage]]: ...

    def consume(
        self,
        queue: args_mod.ReceivedStr,
        auto_ack: bool = False,
        exclusive: bool = False,
        arguments: Optional[dict[str, Any]] = None,
        inactivity_timeout: Optional[float] = None,
        consumer_tag: Optional[str] = None,
    ) -> Iterator[Union[Message, NoMessage]]:
        """Yield ``(method, properties, body)`` for each message of ``queue``.

        Lazy, as in pika 1.x: nothing is checked or sent until the generator is first
        advanced; then ``Basic.Consume`` goes out, so its failure (e.g. the broker's 404 for
        a missing queue, :class:`~pika.exceptions.ChannelClosedByBroker`) is raised by that
        ``next()``. One such consumer exists per channel (its tag is ``consumer_tag``, or a
        generated one); a generator advanced while it runs with the same ``queue``,
        ``auto_ack`` and ``exclusive`` resumes it (as in pika, ``arguments`` and
        ``consumer_tag`` then do not matter), others raise ``ValueError``. With
        ``inactivity_timeout`` (seconds) the generator yields ``(None, None, None)`` whenever
        nothing arrived for that long. It ends when the consumer is cancelled (``cancel()``
        or by the broker) or the channel closes.
        """
        return self._consume_gen.consume(
            queue, auto_ack, exclusive, arguments, inactivity_timeout, consumer_tag
        )

    def cancel(self) -> int:
        """Cancel the ``consume()`` consumer and drop the messages it has not yielded yet.

        With ``auto_ack=False`` those messages are Nacked with requeue (the broker redelivers
        them); with ``auto_ack=True`` they are discarded. Returns 0, as pika has since 0.10
        (the generator's first release): code written for pika may test the result, and
        ``get_waiting_message_count()`` tells how many are pending before the call.
        """
        return self._consume_gen.cancel()

    def get_waiting_message_count(self) -> int:
        """Messages received for the ``consume()`` generator and not yielded yet."""
        return len(self._slot.gen_queue)

    def start_consuming(self) -> None:
        """Dispatch deliveries to ``basic_consume`` callbacks until every consumer is cancelled.

        Timers, thread-safe callbacks and events of channels that no other thread is consuming
        are dispatched here too. The channel's callbacks run in this thread.

        :raises ReentrancyError: called from inside a callback of this connection
        """
        connection = self._connection
        if connection.in_callback():
            raise exceptions.ReentrancyError('start_consuming() may not be called from a callback')
        me = _get_ident()
        pump = self._pump
        slot = self._slot
        with pump.lock:
            self._check_usable()
            if slot.owner is not None and slot.owner != me:
                raise exceptions.ReentrancyError('another thread is consuming this channel')
            slot.owner = me
        try:
            while self._consumers:
                self._link.run_once(None, self._no_consumers)
                if slot.error is not None:
                    if isinstance(slot.error, _CLOSED_BY_US):
                        return  # closed by this program (maybe from a callback): just stop
                    self._raise_closed()
        finally:
            slot.owner = None

    def _no_consumers(self) -> bool:
        return not self._consumers or self._slot.error is not None

    def stop_consuming(self, consumer_tag: Optional[str] = None) -> None:
        """Cancel one consumer (or all of them), making ``start_consuming()`` return."""
        if consumer_tag is not None:
            self.basic_cancel(consumer_tag)
            return
        for tag in list(self._consumers):
            self.basic_cancel(tag)
        if self._consume_gen.current is not None:
            self.cancel()

    def add_on_return_callback(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(channel, method, properties, body)`` for each returned message."""
        args_mod.require_callable('callback', callback)
        self._return_callbacks.append(callback)

    def add_on_cancel_callback(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(method_frame)`` when the broker cancels one of our consumers."""
        args_mod.require_callable('callback', callback)
        self._cancel_callbacks.append(callback)

    def _dispatch_events(self, me: int) -> int:
        """Run callbacks for queued events of this channel (no lock held); returns how many."""
        slot = self._slot
        pending = slot.pending
        pump = self._pump
        chunk = pump.backlog.chunk
        taken = 0  # backlog cost of the deliveries taken and not reported yet
        count = 0
        outer = self._acker
        self._acker = me  # basic_ack from this thread batches (see basic_ack)
        try:
            while pending:
                owner = slot.owner
                if owner is not None and owner != me:
                    break
                try:
                    event: Any = pending.popleft()
                except IndexError:
                    break
                count += 1
                if type(event) is _Delivered:
                    method = event.method
                    body = event.body
                    taken += len(body) + DELIVERY_OVERHEAD
                    if taken >= chunk:
                        pump.router.release(slot, taken)
                        taken = 0
                    consumer = self._consumers.get(method.consumer_tag)
                    if consumer is not None:
                        consumer.on_message_callback(self, method, event.properties, body)
                    elif not self._cancelled_auto_ack.get(method.consumer_tag, False):
                        self._requeue([event])
                elif type(event) is ev.MessageReturned:
                    for callback in list(self._return_callbacks):
                        callback(self, event.method, event.properties, event.body)
                elif type(event) is ev.ConsumerCancelled:
                    self._on_broker_cancel(event)
        finally:
            if self._acker == me:  # another thread may have taken over: then leave it be
                self._acker = me if outer == me else None
            if taken:
                pump.router.release(slot, taken)
        return count

    def _on_broker_cancel(self, event: ev.ConsumerCancelled) -> None:
        tag = event.method.consumer_tag
        consumer = self._consumers.pop(tag, None)
        if consumer is not None:
            self._remember_cancelled(tag, consumer.auto_ack)
        for callback in list(self._cancel_callbacks):
            callback(frame.Method(self.channel_number, event.method))

    # -- basic_get -----------------------------------------------------------------------

    @overload
    def basic_get(
        self,
        queue: args_mod.ReceivedStr,
        /,
        auto_ack: bool = ...,
        *,
        timeout: Optional[float] = ...,
    ) -> _GetResult: ...

    @overload
    def basic_get(
        self, *, queue: args_mod.ReceivedStr = ..., auto_ack: bool, timeout: Optional[float] = ...
    ) -> _GetResult: ...

    @overload
    def basic_get(
        self,
        *,
        queue: args_mod.ReceivedStr = ...,
        no_ack: bool = ...,
        timeout: Optional[float] = ...,
    ) -> _LegacyGetResult: ...

    @overload
    def basic_get(
        self, queue: args_mod.ReceivedStr, /, *, no_ack: bool, timeout: Optional[float] = ...
    ) -> _LegacyGetResult: ...

    @args_mod.advertise('basic_get', callback=False, keyword_only=(('timeout', None),))
    def basic_get(
        self, *args: Any, timeout: Optional[float] = None, **kwargs: Any
    ) -> Union[_GetResult, _LegacyGetResult]:
        """Fetch one message: ``(Basic.GetOk, properties, body)``.

        An empty queue gives what the call's generation expects (``args_mod.is_modern_get``):
        ``(None, None, None)`` for the pika 1.x form (queue positional, or ``auto_ack=``), and
        ``(GetEmpty, None, None)`` for the 0.9 form (``no_ack=``) and keyword-only calls, where
        ``GetEmpty`` is a *falsy* ``spec.Basic.GetEmpty``: ``isinstance(method,
        spec.Basic.GetEmpty)`` (0.9) and ``if method:`` (1.x) both work.
        """
        queue, auto_ack = args_mod.bind_blocking_get(args, kwargs)
        entry = METHODS['basic_get']
        bound = {'queue': queue, 'auto_ack': auto_ack}
        entry.check(bound)
        reply = self._rpc(entry.build(bound), timeout)
        assert reply is not None
        method = reply.method
        if isinstance(method, spec.Basic.GetEmpty):
            if args_mod.is_modern_get(args, kwargs):
                return None, None, None
            return GetEmpty(cluster_id=method.cluster_id), None, None
        return method, reply.properties, reply.body

    # -- closing ---------------------------------------------------------------------------

    def close(
        self,
        reply_code: int = 0,
        reply_text: str = 'Normal shutdown',
        *,
        timeout: Optional[float] = None,
    ) -> None:
        """Close the channel (its consumers are cancelled first) and wait for Channel.CloseOk.

        :raises ChannelWrongStateError: the channel is already closed
        """
        args_mod.require_int('reply_code', reply_code)
        args_mod.require_str('reply_text', reply_text)
        pump = self._pump
        slot = self._slot
        with pump.lock:
            if slot.error is not None:
                raise exceptions.ChannelWrongStateError(args_mod.NOT_USABLE['CLOSED'])
            if not slot.core.is_closing:
                slot.write_acks()  # a callback's acks go before Channel.Close
                slot.core.close(reply_code, reply_text)
                pump.send_now()
            done = pump.wait(lambda: slot.error is not None, self._deadline(timeout))
            if slot.error is None:  # timed out (a closed channel's queues are already empty)
                pump.router.drop_deliveries(slot)
        self._consumers.clear()
        self._consume_gen.current = None
        self._link.forget_channel(self.channel_number)
        if not done:
            raise exceptions.OperationTimeout(f'Channel {self.channel_number} close timed out')
        slot.error_reported = True
        if not isinstance(slot.error, (exceptions.ChannelClosedByClient,
                                       exceptions.ChannelClosedByBroker)):  # fmt: skip
            raise slot.error  # type: ignore[misc]
