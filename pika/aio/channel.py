"""`pika.aio.Channel`: one AMQP channel with coroutine methods, on a core `ChannelCore`.

Every synchronous method (declare, bind, qos, ...) is built by the shared method table
(:mod:`pika._api.methods`, one argument policy with the other front-ends), handed to the core
(which sends it or queues it behind the outstanding one) and awaited on a waiter kept in a
FIFO: AMQP answers a channel's synchronous methods in order, so each ``RpcReply`` settles the
oldest entry. An entry whose task was cancelled or timed out stays in the FIFO, so its late
reply is consumed in order and discarded, never handed to the next caller; a late reply that
changed something is undone (a ConsumeOk is answered with Basic.Cancel, a GetOk's message is
requeued, a late Channel.OpenOk closes the channel).

Publishing without confirms queues the frames and returns; the connection writes them once per
loop step. In confirm mode each publish also awaits its confirm (:mod:`pika.aio.confirms`).
Deliveries go straight to their consumer's buffer (:mod:`pika.aio.consume`).
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from pika import exceptions, frame, spec
from pika._api import args as args_mod
from pika._api.methods import METHODS
from pika._core import events as ev
from pika._core.states import ChannelState
from pika._wire.constants import FRAME_METHOD, LONGLONG_MAX
from pika.aio.confirms import DEFAULT_CONFIRM_WINDOW, Confirms
from pika.aio.consume import Consumer
from pika.aio.message import Message
from pika.aio.waits import Pending, bounded

if TYPE_CHECKING:
    from types import TracebackType

    from pika._core.channel import ChannelCore
    from pika.aio.backend import TaskHandle, Waiter
    from pika.aio.connection import Connection

__all__ = ['Channel', 'MessageCallback', 'ReturnCallback']

LOGGER = logging.getLogger(__name__)

_OPEN = ChannelState.OPEN
_CLOSED_BY_US = (exceptions.ChannelClosedByClient, exceptions.ConnectionClosedByClient)
_GET_OK = spec.Basic.GetOk.INDEX
_CONSUME_OK = spec.Basic.ConsumeOk.INDEX
_CANCEL_OK = spec.Basic.CancelOk.INDEX
_MethodFrame = frame.Method
_new = object.__new__
#: RPC waits bounded by at least this many seconds (the default ``rpc_timeout`` is 60) are
#: expired by the connection's sweep (every 0.25 s: at most that late, 5% of this) instead of a
#: loop timer each: an asyncio timer created and cancelled per round trip cost ~18% of its
#: instructions (callgrind of a queue_declare(passive) loop: 158k -> 129k per round trip).
SWEPT_RPC_TIMEOUT = 5.0

ReturnCallback = Callable[['Channel', spec.Basic.Return, spec.BasicProperties, bytes], Any]
"""``callback(channel, method, properties, body)`` for a returned message no confirm-mode
publish is waiting for."""

Arguments = Optional[Mapping[str, Any]]

MessageCallback = Callable[[Message], Optional[Awaitable[Any]]]
"""``on_message_callback(message)`` of :meth:`Channel.basic_consume`: a plain function, or
one returning an awaitable (an ``async def``), awaited before the next message."""


class Channel:
    """An open channel; get one with ``await connection.channel()``.

    ``async with ch:`` closes it on exit. Every coroutine that waits for the broker takes a
    keyword ``timeout`` (seconds; default the connection's ``rpc_timeout``) and raises
    ``OperationTimeout`` when it expires.
    """

    def __init__(self, connection: Connection, core: ChannelCore) -> None:
        #: the connection this channel belongs to
        self.connection = connection
        self._core = core
        # recovery on: calls in flight at a loss are sent again, so their replies still come,
        # in order, to the waits of the FIFO below
        core.resend_on_recovery = True
        self._backend = connection.backend
        self._rpcs: deque[Pending] = deque()
        self._opening: Optional[Pending] = None
        self._closing: list[Waiter] = []
        self._error: Optional[BaseException] = None
        self._error_reported = False
        self._consumers: dict[str, Consumer] = {}
        #: the tasks running basic_consume callbacks, by consumer tag (a reference keeps each)
        self._dispatchers: dict[str, TaskHandle] = {}
        self._confirms: Optional[Confirms] = None
        self._confirm_window = DEFAULT_CONFIRM_WINDOW
        self._on_return: list[ReturnCallback] = []
        #: False while the broker paused our publishing (Channel.Flow)
        self.flow_active: bool = True
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.MessageDelivered: self.on_delivery,
            ev.RpcReply: self.on_reply,
            ev.DeliveryConfirmed: self._on_confirmed,
            ev.MessageReturned: self._on_returned,
            ev.ConsumerCancelled: self._on_consumer_cancelled,
            ev.FlowChanged: self._on_flow,
            ev.ChannelOpened: self._on_opened,
        }

    def __repr__(self) -> str:
        return f'<pika.aio.Channel {self.channel_number} {self._core.state.value.lower()}>'

    async def __aenter__(self) -> Channel:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if self._error is None:
            await self.close()

    # -- state ---------------------------------------------------------------------------

    @property
    def channel_number(self) -> int:
        """This channel's number."""
        return self._core.channel_number

    @property
    def is_open(self) -> bool:
        """True while the channel is usable."""
        return self._error is None and self._core.state is _OPEN

    @property
    def is_closed(self) -> bool:
        """True once closed (by us, by the broker, or with the connection)."""
        return self._error is not None

    @property
    def close_reason(self) -> Optional[BaseException]:
        """Why the channel closed (``ChannelClosedByBroker`` carries the reply code), or None."""
        return self._error

    @property
    def awaiting_reply(self) -> bool:
        """True while an RPC, the open or the close of this channel awaits the broker's reply
        (even an abandoned one): the connection then keeps reading."""
        return bool(self._rpcs) or self._opening is not None or bool(self._closing)

    @property
    def confirm_window(self) -> int:
        """Confirm mode: the most publishes awaiting a confirm before the next one waits."""
        return self._confirm_window

    @confirm_window.setter
    def confirm_window(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'confirm_window must be an int >= 1, got {value!r}')
        self._confirm_window = value
        if self._confirms is not None:
            self._confirms.window = value

    def add_on_return_callback(self, callback: ReturnCallback) -> None:
        """Call ``callback(channel, method, properties, body)`` for each returned message that
        no confirm-mode publish awaits (confirm mode raises ``UnroutableError`` instead)."""
        self._on_return.append(callback)

    # -- the RPC primitive ---------------------------------------------------------------

    def check_usable(self) -> None:
        """Raise unless the channel is open: the broker's close reason once (if it closed the
        channel and no waiter reported it), then ``ChannelWrongStateError``."""
        error = self._error
        if error is not None:
            if not self._error_reported and not isinstance(error, _CLOSED_BY_US):
                self._error_reported = True
                raise error
            raise exceptions.ChannelWrongStateError(args_mod.NOT_USABLE['CLOSED'])
        if self._core.state is not _OPEN:
            self.connection.check_usable()
            raise exceptions.ChannelWrongStateError(
                f'Channel {self.channel_number} is {self._core.state.value.lower()}'
            )

    def begin_rpc(
        self, method: Any, timeout: Optional[float], framed: bool = False
    ) -> Optional[Awaitable[Any]]:
        """Send ``method`` (or queue it behind the outstanding one) now, and return what to
        await for its reply (the ``RpcReply``, or with ``framed`` the ``frame.Method`` of
        the reply; bounded by ``timeout`` or ``rpc_timeout``); None for a method that gets no
        reply."""
        connection = self.connection
        limit = connection.rpc_timeout if timeout is None else connection.wait_limit(timeout)
        if self._error is not None or self._core.state is not _OPEN:
            self.check_usable()  # raises
        self._core.rpc(method)  # raises (state, arguments) before anything is queued
        if connection.reading_paused:
            connection.resume_reading()  # the reply must not wait for the consumers
        if not method.synchronous or getattr(method, 'nowait', False):
            connection.schedule_flush()
            return None
        # The caller waits for the reply: write now rather than one loop step later (a whole
        # loop iteration less per round trip; nothing to coalesce with while it waits). The
        # wait is set up after the write, while the request travels: off the round trip's
        # critical path. Nothing can answer before this returns (replies come from the loop).
        try:
            connection.flush()
        finally:  # even if the write raised: the core expects a reply, the FIFO a wait
            backend = self._backend
            waiter = backend.create_waiter()
            pending = Pending(waiter, method, framed)
            self._rpcs.append(pending)
        if limit is None:
            return waiter
        deadline = backend.now() + limit
        if limit >= SWEPT_RPC_TIMEOUT:
            pending.deadline = deadline  # expire() fails it
            return waiter
        what = f'{method.NAME} on channel {self.channel_number}'
        return bounded(backend, waiter, deadline, what)

    async def send_rpc(self, method: Any, timeout: Optional[float] = None) -> Any:
        """:meth:`begin_rpc` and await the reply (an ``RpcReply`` event, None for nowait);
        while the connection recovers, wait for it first."""
        if self.connection.recovering:  # tested here for speed: see wait_recovered
            await self.connection.wait_recovered(timeout)
        reply = self.begin_rpc(method, timeout)
        if reply is None:
            return None
        pending = self._rpcs[-1]  # the wait begin_rpc just queued
        try:
            return await reply
        except BaseException:
            if pending.delivered is not None:  # cancelled after its reply had come
                # nobody will use the reply: undo it as a late one (a consumer nobody
                # iterates is cancelled, a got message requeued)
                self._late_reply(pending.undo, pending.delivered)
            raise

    def _table_rpc(self, name: str, bound: dict[str, Any], timeout: Optional[float]) -> Any:
        """Check and build method ``name`` from the shared table, send it, and return what to
        await for the reply's ``frame.Method``.

        ``bound`` holds every argument by name (this channel's signatures did the binding,
        there is no callback generation to tell apart, so ``args.bind`` is not needed); the
        table's checks and builder are the one argument policy. Not a coroutine: the caller
        awaits the waiter itself, so the reply resumes one coroutine, not three (bench/NOTES.md,
        "pika.aio RPC round trips in instructions"). Nothing is undone for a caller cancelled
        after its reply came, as :meth:`send_rpc` does for consume and get: no table method's
        reply needs it.
        """
        entry = METHODS[name]
        bound['nowait'] = False  # pika 0.9's flag, which some builders read: never set here
        entry.check(bound)
        method = entry.build(bound)
        if self.connection.recovering:
            return self._table_rpc_recovering(method, timeout)
        return self.begin_rpc(method, timeout, True)

    async def _table_rpc_recovering(self, method: Any, timeout: Optional[float]) -> Any:
        """:meth:`_table_rpc` once the connection is recovered."""
        await self.connection.wait_recovered(timeout)
        reply = self.begin_rpc(method, timeout, True)
        assert reply is not None  # a table method with nowait False always has a reply
        return await reply

    # -- synchronous methods (same argument names as BlockingChannel) ---------------------

    async def exchange_declare(
        self,
        exchange: str,
        exchange_type: Union[str, Any] = 'direct',
        passive: bool = False,
        durable: bool = False,
        auto_delete: bool = False,
        internal: bool = False,
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Exchange.DeclareOk]:
        """Declare an exchange (``passive``: only check that it exists)."""
        kwargs = {
            'exchange': exchange, 'exchange_type': exchange_type, 'passive': passive,
            'durable': durable, 'auto_delete': auto_delete, 'internal': internal,
            'arguments': arguments,
        }  # fmt: skip
        return await self._table_rpc('exchange_declare', kwargs, timeout)  # type: ignore[no-any-return]

    async def exchange_delete(
        self,
        exchange: Optional[str] = None,
        if_unused: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Exchange.DeleteOk]:
        """Delete an exchange (``if_unused``: only if no queue is bound to it)."""
        kwargs = {'exchange': exchange, 'if_unused': if_unused}
        return await self._table_rpc('exchange_delete', kwargs, timeout)  # type: ignore[no-any-return]

    async def exchange_bind(
        self,
        destination: str,
        source: str,
        routing_key: str = '',
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Exchange.BindOk]:
        """Bind exchange ``destination`` to exchange ``source``."""
        kwargs = {
            'destination': destination, 'source': source, 'routing_key': routing_key,
            'arguments': arguments,
        }  # fmt: skip
        return await self._table_rpc('exchange_bind', kwargs, timeout)  # type: ignore[no-any-return]

    async def exchange_unbind(
        self,
        destination: Optional[str] = None,
        source: Optional[str] = None,
        routing_key: str = '',
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Exchange.UnbindOk]:
        """Remove an exchange-to-exchange binding."""
        kwargs = {
            'destination': destination, 'source': source, 'routing_key': routing_key,
            'arguments': arguments,
        }  # fmt: skip
        return await self._table_rpc('exchange_unbind', kwargs, timeout)  # type: ignore[no-any-return]

    async def queue_declare(
        self,
        queue: str,
        passive: bool = False,
        durable: bool = False,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Queue.DeclareOk]:
        """Declare a queue (``''``: a server-named one, read back from ``.method.queue``)."""
        kwargs = {
            'queue': queue, 'passive': passive, 'durable': durable, 'exclusive': exclusive,
            'auto_delete': auto_delete, 'arguments': arguments,
        }  # fmt: skip
        return await self._table_rpc('queue_declare', kwargs, timeout)  # type: ignore[no-any-return]

    async def queue_bind(
        self,
        queue: str,
        exchange: str,
        routing_key: Optional[str] = None,
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Queue.BindOk]:
        """Bind ``queue`` to ``exchange`` (routing key None: the queue's name)."""
        kwargs = {
            'queue': queue, 'exchange': exchange, 'routing_key': routing_key,
            'arguments': arguments,
        }  # fmt: skip
        return await self._table_rpc('queue_bind', kwargs, timeout)  # type: ignore[no-any-return]

    async def queue_unbind(
        self,
        queue: str,
        exchange: Optional[str] = None,
        routing_key: Optional[str] = None,
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Queue.UnbindOk]:
        """Remove a queue binding."""
        kwargs = {
            'queue': queue, 'exchange': exchange, 'routing_key': routing_key,
            'arguments': arguments,
        }  # fmt: skip
        return await self._table_rpc('queue_unbind', kwargs, timeout)  # type: ignore[no-any-return]

    async def queue_purge(
        self, queue: str, *, timeout: Optional[float] = None
    ) -> frame.Method[spec.Queue.PurgeOk]:
        """Drop every ready message of ``queue`` (``.method.message_count``: how many)."""
        return await self._table_rpc('queue_purge', {'queue': queue}, timeout)  # type: ignore[no-any-return]

    async def queue_delete(
        self,
        queue: str,
        if_unused: bool = False,
        if_empty: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Queue.DeleteOk]:
        """Delete ``queue`` (``if_unused``/``if_empty``: only then)."""
        kwargs = {'queue': queue, 'if_unused': if_unused, 'if_empty': if_empty}
        return await self._table_rpc('queue_delete', kwargs, timeout)  # type: ignore[no-any-return]

    async def basic_qos(
        self,
        prefetch_size: int = 0,
        prefetch_count: int = 0,
        global_qos: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> frame.Method[spec.Basic.QosOk]:
        """Bound the unacknowledged deliveries of this channel's consumers."""
        kwargs = {
            'prefetch_size': prefetch_size, 'prefetch_count': prefetch_count,
            'global_qos': global_qos,
        }  # fmt: skip
        return await self._table_rpc('basic_qos', kwargs, timeout)  # type: ignore[no-any-return]

    async def basic_recover(
        self, requeue: bool = False, *, timeout: Optional[float] = None
    ) -> frame.Method[spec.Basic.RecoverOk]:
        """Redeliver every unacknowledged message of the channel (``requeue``: to any
        consumer)."""
        return await self._table_rpc('basic_recover', {'requeue': requeue}, timeout)  # type: ignore[no-any-return]

    async def basic_cancel(
        self, consumer_tag: str, *, timeout: Optional[float] = None
    ) -> frame.Method[spec.Basic.CancelOk]:
        """Cancel a consumer by tag (a :class:`Consumer` from :meth:`consume` does this on
        exit, and requeues what it buffered)."""
        consumer = self._consumers.get(consumer_tag)
        if consumer is not None and consumer.wanted:
            await consumer.cancel()
            return frame.Method(self.channel_number, spec.Basic.CancelOk(consumer_tag))
        return await self._table_rpc('basic_cancel', {'consumer_tag': consumer_tag}, timeout)  # type: ignore[no-any-return]

    async def confirm_delivery(self, *, timeout: Optional[float] = None) -> None:
        """Turn on publisher confirms: ``basic_publish`` then awaits each message's confirm."""
        method = METHODS['confirm_delivery'].build({})
        reply = self.begin_rpc(method, timeout)
        if self._confirms is None:  # in confirm mode from now on, even if the wait is cancelled
            self._confirms = Confirms(self._confirm_window)
        if reply is not None:
            await reply

    async def tx_select(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.SelectOk]:
        """Start transactions on this channel."""
        return await self._table_rpc('tx_select', {}, timeout)  # type: ignore[no-any-return]

    async def tx_commit(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.CommitOk]:
        """Commit the current transaction."""
        return await self._table_rpc('tx_commit', {}, timeout)  # type: ignore[no-any-return]

    async def tx_rollback(
        self, *, timeout: Optional[float] = None
    ) -> frame.Method[spec.Tx.RollbackOk]:
        """Roll the current transaction back."""
        return await self._table_rpc('tx_rollback', {}, timeout)  # type: ignore[no-any-return]

    async def flow(self, active: bool, *, timeout: Optional[float] = None) -> bool:
        """Ask the broker to pause (False) or resume (True) deliveries; returns its answer."""
        reply = await self._table_rpc('flow', {'active': active}, timeout)
        return bool(reply.method.active)

    # -- publishing ------------------------------------------------------------------------

    async def basic_publish(
        self,
        exchange: args_mod.ReceivedStr,
        routing_key: args_mod.ReceivedStr,
        body: Union[bytes, str],
        properties: Optional[spec.BasicProperties] = None,
        mandatory: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> None:
        """Publish a message.

        Without confirms it returns once the frames are queued (written at the end of the loop
        step), and awaits only while the connection's output is above its high-water mark. In
        confirm mode it awaits the broker's confirm; at most ``confirm_window`` publishes of
        the channel are in flight, later ones wait for a slot.

        :raises NackError: (confirm mode) the broker refused the message
        :raises UnroutableError: (confirm mode) the mandatory message was returned
        :raises OperationTimeout: no confirm, or no room in the output, within ``timeout``
            (default ``rpc_timeout``); the message may still be delivered
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
        if self.connection.recovering:  # tested here: the await alone is +8.7% per publish
            await self.connection.wait_recovered(timeout)
        confirms = self._confirms
        if confirms is not None:
            await self._publish_confirmed(
                confirms, exchange, routing_key, body, properties, mandatory, timeout
            )
            return
        if self._error is not None:
            self.check_usable()
        connection = self.connection
        self._core.publish(exchange, routing_key, body, properties, mandatory)
        connection.wrote()
        if connection.write_paused:
            await connection.drained(connection.deadline(timeout))

    async def _publish_confirmed(
        self,
        confirms: Confirms,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Optional[spec.BasicProperties],
        mandatory: bool,
        timeout: Optional[float],
    ) -> None:
        connection = self.connection
        deadline = connection.deadline(timeout)
        while confirms.full:
            self.check_usable()
            slot = self._backend.create_waiter()
            confirms.slot_waiters.append(slot)
            await bounded(self._backend, slot, deadline, 'basic_publish: window slot')
        if self._error is not None:
            self.check_usable()
        tag = self._core.publish(exchange, routing_key, body, properties, mandatory)
        assert tag is not None
        waiter = self._backend.create_waiter()
        confirms.add((tag, waiter, deadline, exchange, routing_key, body, properties, mandatory))
        connection.wrote()
        await waiter

    # -- acknowledgements ----------------------------------------------------------------

    async def basic_ack(self, delivery_tag: int = 0, multiple: bool = False) -> None:
        """Acknowledge a delivery (``multiple``: and every earlier one)."""
        if type(delivery_tag) is not int or not 0 <= delivery_tag <= LONGLONG_MAX:
            delivery_tag = args_mod.delivery_tag_value(delivery_tag)
        if multiple is not False and multiple is not True:
            args_mod.require_bool('multiple', multiple)
        self.ack_delivery(delivery_tag, multiple)

    def ack_delivery(self, delivery_tag: int, multiple: bool) -> None:
        """Queue Basic.Ack for a checked tag (``Message.ack``'s path: no coroutine of its own)."""
        if self._error is not None:
            self.check_usable()
        self._core.ack(delivery_tag, multiple)
        self.connection.wrote()

    async def basic_nack(
        self, delivery_tag: int = 0, multiple: bool = False, requeue: bool = True
    ) -> None:
        """Refuse a delivery (``multiple``: and every earlier one), requeued unless
        ``requeue`` is False."""
        tag = args_mod.delivery_tag_value(delivery_tag)
        args_mod.require_bool('multiple', multiple)
        args_mod.require_bool('requeue', requeue)
        if self._error is not None:
            self.check_usable()
        self._core.send(spec.Basic.Nack(tag, multiple, requeue))
        self.connection.wrote()

    async def basic_reject(self, delivery_tag: int = 0, requeue: bool = True) -> None:
        """Refuse one delivery, requeued unless ``requeue`` is False."""
        tag = args_mod.delivery_tag_value(delivery_tag)
        args_mod.require_bool('requeue', requeue)
        if self._error is not None:
            self.check_usable()
        self._core.send(spec.Basic.Reject(tag, requeue))
        self.connection.wrote()

    def requeue(self, delivery_tag: int) -> None:
        """Nack one delivery with ``requeue=True`` now (consumers giving back what they buffer)."""
        if self._core.state is _OPEN or self._core.state is ChannelState.CANCELLING:
            self._core.send(spec.Basic.Nack(delivery_tag, False, True))
            self.connection.schedule_flush()

    # -- consuming -----------------------------------------------------------------------

    def consume(
        self,
        queue: str,
        prefetch: Optional[int] = None,
        auto_ack: bool = False,
        exclusive: bool = False,
        consumer_tag: Optional[str] = None,
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> Consumer:
        """A consumer of ``queue``: ``async with ch.consume(q, prefetch=100) as messages:``
        then ``async for msg in messages:``.

        :param prefetch: ``basic_qos(prefetch_count=prefetch)`` before consuming (None: leave
            the channel's qos as it is)
        :param auto_ack: the broker settles each message on delivery (``msg.ack()`` refused)
        :param timeout: bound on the Basic.Consume / Basic.Cancel round trips
        """
        return Consumer(
            self, queue, prefetch, auto_ack, exclusive, consumer_tag,
            None if arguments is None else dict(arguments), timeout,
        )  # fmt: skip

    async def basic_consume(
        self,
        queue: str,
        on_message_callback: MessageCallback,
        auto_ack: bool = False,
        exclusive: bool = False,
        consumer_tag: Optional[str] = None,
        arguments: Arguments = None,
        *,
        timeout: Optional[float] = None,
    ) -> str:
        """Consume ``queue`` with a callback, as ``BlockingChannel.basic_consume`` does: each
        message is handed to ``on_message_callback(message)`` in order, in a background task;
        a coroutine it returns is awaited before the next message. Returns the consumer tag;
        :meth:`basic_cancel` stops it (buffered messages go back to the queue).

        An exception from the callback is logged and the next message follows (the failed
        one stays unsettled unless the callback settled it: ``message.process()`` helps).
        """
        if not callable(on_message_callback):
            raise TypeError('on_message_callback must be callable')
        consumer = self.consume(
            queue, None, auto_ack, exclusive, consumer_tag, arguments, timeout=timeout
        )
        await consumer.start()
        tag = consumer.consumer_tag
        self._dispatchers[tag] = self._backend.spawn(
            self._run_callback(consumer, on_message_callback)
        )
        return tag

    async def _run_callback(self, consumer: Consumer, callback: MessageCallback) -> None:
        """Hand each message of ``consumer`` to ``callback`` until the consumer ends."""
        try:
            async for message in consumer:
                try:
                    result = callback(message)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    LOGGER.exception(
                        'Consumer %r: on_message_callback failed', consumer.consumer_tag
                    )
        except exceptions.AMQPError as error:
            LOGGER.info('Consumer %r ended: %r', consumer.consumer_tag, error)
        finally:
            self._dispatchers.pop(consumer.consumer_tag, None)

    async def basic_get(
        self, queue: str, auto_ack: bool = False, *, timeout: Optional[float] = None
    ) -> Optional[Message]:
        """Take one message from ``queue``; None when it is empty."""
        entry = METHODS['basic_get']  # bound here: its 1.x form needs a callback, ours none
        bound = {'queue': queue, 'auto_ack': auto_ack, 'callback': None}
        entry.check(bound)
        method = entry.build(bound)
        reply = await self.send_rpc(method, timeout)
        if reply.method.INDEX != _GET_OK:
            return None
        return Message(self, reply.method, reply.properties, reply.body, bool(auto_ack))

    def new_consumer_tag(self) -> str:
        """A consumer tag unique to this client (``ctag<channel>.<random hex>``)."""
        return f'ctag{self.channel_number}.{uuid.uuid4().hex}'

    def add_consumer(self, consumer: Consumer) -> None:
        """Route deliveries for ``consumer.consumer_tag`` to ``consumer`` (before Consume).

        :raises DuplicateConsumerTag: the tag is in use on this channel
        """
        if consumer.consumer_tag in self._consumers:
            raise exceptions.DuplicateConsumerTag(consumer.consumer_tag)
        self._consumers[consumer.consumer_tag] = consumer

    # -- closing ---------------------------------------------------------------------------

    async def close(
        self,
        reply_code: int = 200,
        reply_text: str = 'Normal shutdown',
        *,
        timeout: Optional[float] = None,
    ) -> None:
        """Close the channel (its consumers are cancelled first) and wait for Channel.CloseOk.
        Closing a closed channel does nothing."""
        if self._error is not None:
            return
        deadline = self.connection.deadline(timeout)
        if self._core.state is _OPEN or self._core.is_opening:
            self._core.close(reply_code, reply_text)
            self.connection.schedule_flush()
        waiter = self._backend.create_waiter()
        self._closing.append(waiter)
        self.connection.resume_reading()  # Channel.CloseOk must not wait for the consumers
        await bounded(self._backend, waiter, deadline, 'Channel.Close')

    # -- what the connection calls ---------------------------------------------------------

    async def wait_opened(self, deadline: Optional[float]) -> None:
        """Await Channel.OpenOk (a late one, after a cancelled wait, closes the channel)."""
        waiter = self._backend.create_waiter()
        self._opening = Pending(waiter)
        await bounded(self._backend, waiter, deadline, f'Channel.Open {self.channel_number}')

    def on_event(self, event: Any) -> None:
        """Handle one core event of this channel."""
        self._handlers[type(event)](event)

    def on_delivery(self, event: ev.MessageDelivered) -> None:
        """A Basic.Deliver: to its consumer's buffer; requeued if nobody wants it any more."""
        method = event.method
        consumer = self._consumers.get(method.consumer_tag)
        if consumer is not None and consumer.wanted:
            consumer.push(Message(self, method, event.properties, event.body, consumer.auto_ack))
        elif consumer is not None and not consumer.auto_ack:
            self.requeue(method.delivery_tag)
        else:
            LOGGER.debug('Dropped delivery %s for consumer %r', method.delivery_tag,
                         method.consumer_tag)  # fmt: skip

    def on_closed(self, error: BaseException) -> None:
        """The channel is finished: fail every wait with ``error``, end the consumers."""
        if self._error is not None:
            return
        self._error = error
        while self._rpcs:
            pending = self._rpcs.popleft()
            if pending.live:
                self._error_reported = True
                pending.fail(error)
        opening, self._opening = self._opening, None
        if opening is not None and opening.live:
            self._error_reported = True
            opening.fail(error)
        if self._confirms is not None and self._confirms.fail_all(error):
            self._error_reported = True
        consumers = list(self._consumers.values())
        self._consumers.clear()
        for consumer in consumers:
            consumer.finished(error)
        closing, self._closing = self._closing, []
        for waiter in closing:
            if not waiter.done():
                waiter.set_result(None)
        self.connection.forget_channel(self.channel_number)

    def expire(self, now: float) -> None:
        """Fail RPC and confirm waits past their deadline (the connection's timer task calls
        this). A confirm whose message was in flight at a connection loss raises
        ``PublishOutcomeUnknown`` and is not published again by a later recovery."""
        for pending in self._rpcs:
            deadline = pending.deadline
            if deadline is not None and deadline <= now and pending.live:
                pending.fail(
                    exceptions.OperationTimeout(
                        f'{pending.undo.NAME} on channel {self.channel_number} timed out'
                    )
                )
        if self._confirms is not None and len(self._confirms):
            record = self._core.record
            for tag in self._confirms.expire(now):
                if record is not None:
                    record.abandon(tag)

    def interrupted(self) -> None:
        """Recovery: the connection was lost. Messages received but not handed out are void
        (the broker requeues them; their acks could not reach it), and the confirm-mode
        publishes in flight are marked: the core sends them again after the recovery."""
        for consumer in list(self._consumers.values()):
            consumer.requeue_buffered()
        if self._confirms is not None:
            self._confirms.interrupted()

    def fail_unconfirmed(self, error: BaseException) -> None:
        """Recovery gave up: every confirm-mode publish still waiting raises ``error``."""
        if self._confirms is not None:
            self._confirms.fail_all(error)

    # -- event handlers ----------------------------------------------------------------------

    def _on_opened(self, event: ev.ChannelOpened) -> None:
        opening, self._opening = self._opening, None
        if opening is None or not opening.settle(None):
            LOGGER.debug('Channel %s opened for nobody: closing it', self.channel_number)
            self._core.close()
            self.connection.schedule_flush()

    def on_reply(self, event: ev.RpcReply) -> None:
        """The reply to the oldest RPC (the connection routes it here directly): to its
        waiter, or undone as a late one when nobody waits any more."""
        pending = self._rpcs.popleft()
        method = event.method
        if method.INDEX == _CANCEL_OK:
            self._consumers.pop(method.consumer_tag, None)
        waiter = pending.waiter  # Pending.settle, inlined: every RPC reply comes here
        if waiter is None or waiter.done():
            self._late_reply(pending.undo, event)
            return
        pending.delivered = event
        if pending.framed:
            # frame.Method(...) without the class call (~0.5k instructions of every table
            # RPC; test_aio_channel.py checks the frame)
            reply = _new(_MethodFrame)
            reply.frame_type = FRAME_METHOD
            reply.channel_number = event.channel_number
            reply.method = method
            waiter.set_result(reply)
        else:
            waiter.set_result(event)

    def _late_reply(self, request: Any, event: ev.RpcReply) -> None:
        """Undo what the reply to an abandoned request did (consume, get)."""
        method = event.method
        index = method.INDEX
        if index == _CONSUME_OK:
            # the start that sent it was abandoned, even if its task has not run its own
            # clean-up yet (the reply came between the cancellation and the task's resumption)
            consumer = self._consumers.get(method.consumer_tag)
            if consumer is not None:
                consumer.wanted = False
                consumer.requeue_buffered()
            if self._core.state is _OPEN:
                self._core.rpc(spec.Basic.Cancel(method.consumer_tag))
                self._rpcs.append(Pending(None))  # nobody waits for this CancelOk
        elif index == _GET_OK and request is not None and not request.no_ack:
            self.requeue(method.delivery_tag)
        LOGGER.debug('Discarded %s on channel %s: its caller gave up', method.NAME,
                     self.channel_number)  # fmt: skip
        self.connection.schedule_flush()

    def _on_confirmed(self, event: ev.DeliveryConfirmed) -> None:
        if self._confirms is not None:
            self._confirms.confirmed(event.method)

    def _on_returned(self, event: ev.MessageReturned) -> None:
        if self._confirms is not None and self._confirms.returned(event):
            return
        if not self._on_return:
            LOGGER.warning('Message returned on channel %s (%s %s): no return callback',
                           self.channel_number, event.method.reply_code,
                           event.method.reply_text)  # fmt: skip
        for callback in list(self._on_return):
            try:
                callback(self, event.method, event.properties, event.body)
            except Exception:
                LOGGER.exception('Return callback %r failed', callback)

    def _on_consumer_cancelled(self, event: ev.ConsumerCancelled) -> None:
        consumer = self._consumers.pop(event.method.consumer_tag, None)
        if consumer is not None:
            consumer.finished(exceptions.ConsumerCancelled(event.method))

    def _on_flow(self, event: ev.FlowChanged) -> None:
        self.flow_active = event.active
