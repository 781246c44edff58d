"""Exchange and queue methods of the callback-style :class:`pika.channel.Channel`.

A base class of ``Channel``, split out so :mod:`pika.channel` stays one readable module: every
method here only checks its arguments (TypeError/ValueError at the call), builds the AMQP method
and hands it to ``Channel._simple_rpc``, whose completion callback gets the reply frame. The
argument binding of both API generations is in :mod:`pika._channel_args`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pika import _channel_args as args_
from pika import spec

__all__ = ['ExchangeQueueMethods']


class ExchangeQueueMethods:
    """Exchange.* and Queue.* RPCs; mixed into :class:`pika.channel.Channel`."""

    if TYPE_CHECKING:

        def _simple_rpc(self, name: str, bound: dict[str, Any], method: Any) -> None:
            """Provided by ``Channel``: send ``method``, reply to ``bound['callback']``."""

    @staticmethod
    def _check_common(name: str, bound: dict[str, Any]) -> None:
        args_.require_callable('callback', bound.get('callback'), allow_none=True)
        if 'arguments' in bound:
            args_.require_table('arguments', bound['arguments'])
        if 'nowait' in bound:
            args_.check_nowait_callback(name, bound['nowait'], bound.get('callback'))

    # -- exchanges ---------------------------------------------------------------------------

    @args_.advertise('exchange_declare')
    def exchange_declare(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Declare; `callback(method_frame)` gets the DeclareOk.

        1.x: `(exchange, exchange_type='direct', passive=False, durable=False,
        auto_delete=False, internal=False, arguments=None, callback=None)`;
        0.9: `(callback=None, exchange=None, exchange_type='direct', passive=False,
        durable=False, auto_delete=False, internal=False, nowait=False, arguments=None)`.
        """
        b = args_.bind('exchange_declare', args, kwargs)
        args_.require_str('exchange', b['exchange'])
        b['exchange_type'] = getattr(b['exchange_type'], 'value', b['exchange_type'])  # an enum
        args_.require_str('exchange_type', b['exchange_type'])
        for name in ('passive', 'durable', 'auto_delete', 'internal'):
            args_.require_bool(name, b[name])
        self._check_common('exchange_declare', b)
        method = spec.Exchange.Declare(
            exchange=b['exchange'],
            exchange_type=b['exchange_type'],
            passive=b['passive'],
            durable=b['durable'],
            auto_delete=b['auto_delete'],
            internal=b['internal'],
            nowait=b['nowait'],
            arguments=b['arguments'],
        )
        self._simple_rpc('exchange_declare', b, method)

    @args_.advertise('exchange_delete')
    def exchange_delete(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Delete. 1.x: `(exchange=None, if_unused=False, callback=None)`;
        0.9: `(callback=None, exchange=None, if_unused=False, nowait=False)`."""
        b = args_.bind('exchange_delete', args, kwargs)
        args_.require_str('exchange', b['exchange'], allow_none=True)
        args_.require_bool('if_unused', b['if_unused'])
        self._check_common('exchange_delete', b)
        method = spec.Exchange.Delete(
            exchange=b['exchange'] or '', if_unused=b['if_unused'], nowait=b['nowait']
        )
        self._simple_rpc('exchange_delete', b, method)

    @args_.advertise('exchange_bind')
    def exchange_bind(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Bind. 1.x: `(destination, source, routing_key='', arguments=None,
        callback=None)`; 0.9: `(callback=None, destination=None, source=None,
        routing_key='', nowait=False, arguments=None)`."""
        self._exchange_binding('exchange_bind', spec.Exchange.Bind, args, kwargs)

    @args_.advertise('exchange_unbind')
    def exchange_unbind(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Unbind; same two forms as `exchange_bind`."""
        self._exchange_binding('exchange_unbind', spec.Exchange.Unbind, args, kwargs)

    def _exchange_binding(
        self, name: str, method_class: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        b = args_.bind(name, args, kwargs)
        args_.require_str('destination', b['destination'])
        args_.require_str('source', b['source'])
        args_.require_str('routing_key', b['routing_key'])
        self._check_common(name, b)
        method = method_class(
            destination=b['destination'],
            source=b['source'],
            routing_key=b['routing_key'],
            nowait=b['nowait'],
            arguments=b['arguments'],
        )
        self._simple_rpc(name, b, method)

    # -- queues ------------------------------------------------------------------------------

    @args_.advertise('queue_declare')
    def queue_declare(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Declare; `callback(method_frame)` gets the DeclareOk (`.method.queue`...).

        1.x: `(queue, passive=False, durable=False, exclusive=False, auto_delete=False,
        arguments=None, callback=None)`; 0.9: `(callback, queue='', passive=False,
        durable=False, exclusive=False, auto_delete=False, nowait=False, arguments=None)`.
        """
        b = args_.bind('queue_declare', args, kwargs)
        args_.require_str('queue', b['queue'])
        for name in ('passive', 'durable', 'exclusive', 'auto_delete'):
            args_.require_bool(name, b[name])
        self._check_common('queue_declare', b)
        method = spec.Queue.Declare(
            queue=b['queue'],
            passive=b['passive'],
            durable=b['durable'],
            exclusive=b['exclusive'],
            auto_delete=b['auto_delete'],
            nowait=b['nowait'],
            arguments=b['arguments'],
        )
        self._simple_rpc('queue_declare', b, method)

    @args_.advertise('queue_bind')
    def queue_bind(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Bind. 1.x: `(queue, exchange, routing_key=None, arguments=None,
        callback=None)`; 0.9: `(callback, queue, exchange, routing_key=None, nowait=False,
        arguments=None)`. A None routing key means the queue name."""
        b = args_.bind('queue_bind', args, kwargs)
        args_.require_str('queue', b['queue'])
        args_.require_str('exchange', b['exchange'])
        args_.require_str('routing_key', b['routing_key'], allow_none=True)
        self._check_common('queue_bind', b)
        routing_key = b['routing_key'] if b['routing_key'] is not None else b['queue']
        method = spec.Queue.Bind(
            queue=b['queue'],
            exchange=b['exchange'],
            routing_key=routing_key,
            nowait=b['nowait'],
            arguments=b['arguments'],
        )
        self._simple_rpc('queue_bind', b, method)

    @args_.advertise('queue_unbind')
    def queue_unbind(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Unbind. 1.x: `(queue, exchange=None, routing_key=None, arguments=None,
        callback=None)`; 0.9: `(callback=None, queue='', exchange=None, routing_key=None,
        arguments=None)`. A None routing key means the queue name."""
        b = args_.bind('queue_unbind', args, kwargs)
        args_.require_str('queue', b['queue'])
        args_.require_str('exchange', b['exchange'], allow_none=True)
        args_.require_str('routing_key', b['routing_key'], allow_none=True)
        self._check_common('queue_unbind', b)
        routing_key = b['routing_key'] if b['routing_key'] is not None else b['queue']
        method = spec.Queue.Unbind(
            queue=b['queue'],
            exchange=b['exchange'] or '',
            routing_key=routing_key,
            arguments=b['arguments'],
        )
        self._simple_rpc('queue_unbind', b, method)

    @args_.advertise('queue_purge')
    def queue_purge(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Purge. 1.x: `(queue, callback=None)`; 0.9: `(callback=None, queue='',
        nowait=False)`. The PurgeOk frame's `.method.message_count` is the number purged."""
        b = args_.bind('queue_purge', args, kwargs)
        args_.require_str('queue', b['queue'])
        self._check_common('queue_purge', b)
        self._simple_rpc('queue_purge', b, spec.Queue.Purge(queue=b['queue'], nowait=b['nowait']))

    @args_.advertise('queue_delete')
    def queue_delete(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Delete. 1.x: `(queue, if_unused=False, if_empty=False, callback=None)`;
        0.9: `(callback=None, queue='', if_unused=False, if_empty=False, nowait=False)`."""
        b = args_.bind('queue_delete', args, kwargs)
        args_.require_str('queue', b['queue'])
        args_.require_bool('if_unused', b['if_unused'])
        args_.require_bool('if_empty', b['if_empty'])
        self._check_common('queue_delete', b)
        method = spec.Queue.Delete(
            queue=b['queue'], if_unused=b['if_unused'], if_empty=b['if_empty'], nowait=b['nowait']
        )
        self._simple_rpc('queue_delete', b, method)
