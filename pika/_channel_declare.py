"""Exchange and queue methods of the callback-style :class:`pika.channel.Channel`.

A base class of ``Channel``, split out so :mod:`pika.channel` stays one readable module: every
method here only checks its arguments (TypeError/ValueError at the call), builds the AMQP method
and hands it to ``Channel._simple_rpc``, whose completion callback gets the reply frame. The
argument binding of both API generations is in :mod:`pika._channel_args`.

The ``pika.spec`` methods are built with positional arguments, in the order of their fields
(named in a comment): calling a class with keywords costs a dict in CPython 3.11, which made
the constructor about twice as expensive on these hot paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Callable, Optional

from pika import _channel_args as args_
from pika import spec

__all__ = ['ExchangeQueueMethods']

_BOOL_ONLY = frozenset((bool,))
#: Per tuple of flag names, a getter of their values as one tuple (the first name is asked
#: twice, so even a single flag comes back as a tuple).
_FLAG_GETTERS: dict[tuple[str, ...], Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {}


class ExchangeQueueMethods:
    """Exchange.* and Queue.* RPCs; mixed into :class:`pika.channel.Channel`."""

    if TYPE_CHECKING:

        def _simple_rpc(
            self, method: Any, callback: Optional[Callable[..., Any]], nowait: bool = False
        ) -> None:
            """Provided by ``Channel``: send ``method``; ``callback(method_frame)`` gets the
            reply."""

    @staticmethod
    def _check_common(
        name: str, bound: dict[str, Any], flags: tuple[str, ...] = ()
    ) -> Optional[Callable[..., Any]]:
        """Check the bool ``flags``, then the completion callback, the ``arguments`` table and
        ``nowait`` (with no callback) of a bound call; return the callback.

        One call per RPC: the helpers that raise are only called for values that fail the
        quick test, since every declare, bind and qos comes through here.
        """
        if flags:  # every flag a bool is the usual case, tested in C for all of them at once
            getter = _FLAG_GETTERS.get(flags)
            if getter is None:
                getter = _FLAG_GETTERS[flags] = itemgetter(*flags, flags[0])  # always a tuple
            if not _BOOL_ONLY.issuperset(map(type, getter(bound))):
                args_.require_bools(bound, flags)  # raises unless each is a bool, 0 or 1
        callback = bound.get('callback')
        if callback is not None and not callable(callback):
            args_.require_callable('callback', callback)  # raises
        arguments = bound.get('arguments')
        if arguments is not None and not isinstance(arguments, Mapping):
            args_.require_table('arguments', arguments)  # raises
        nowait = bound.get('nowait', False)
        if nowait is not False:
            args_.check_nowait_callback(name, nowait, callback)
        return callback

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
        flags = ('passive', 'durable', 'auto_delete', 'internal')
        callback = self._check_common('exchange_declare', b, flags)
        method = spec.Exchange.Declare(
            0,  # ticket, exchange, type, passive, durable, auto_delete, internal, ...
            b['exchange'],
            b['exchange_type'],
            b['passive'],
            b['durable'],
            b['auto_delete'],
            b['internal'],
            b['nowait'],
            b['arguments'],
        )
        self._simple_rpc(method, callback, b['nowait'])

    @args_.advertise('exchange_delete')
    def exchange_delete(self, *args: Any, **kwargs: Any) -> None:
        """Exchange.Delete. 1.x: `(exchange=None, if_unused=False, callback=None)`;
        0.9: `(callback=None, exchange=None, if_unused=False, nowait=False)`."""
        b = args_.bind('exchange_delete', args, kwargs)
        args_.require_str('exchange', b['exchange'], allow_none=True)
        callback = self._check_common('exchange_delete', b, ('if_unused',))
        # ticket, exchange, if_unused, nowait
        method = spec.Exchange.Delete(0, b['exchange'] or '', b['if_unused'], b['nowait'])
        self._simple_rpc(method, callback, b['nowait'])

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
        callback = self._check_common(name, b)
        method = method_class(
            0,  # ticket, destination, source, routing_key, nowait, arguments
            b['destination'],
            b['source'],
            b['routing_key'],
            b['nowait'],
            b['arguments'],
        )
        self._simple_rpc(method, callback, b['nowait'])

    # -- queues ------------------------------------------------------------------------------

    @args_.advertise('queue_declare')
    def queue_declare(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Declare; `callback(method_frame)` gets the DeclareOk (`.method.queue`...).

        1.x: `(queue, passive=False, durable=False, exclusive=False, auto_delete=False,
        arguments=None, callback=None)`; 0.9: `(callback, queue='', passive=False,
        durable=False, exclusive=False, auto_delete=False, nowait=False, arguments=None)`.
        """
        b = args_.bind('queue_declare', args, kwargs)
        queue = b['queue']
        if type(queue) is not str:
            args_.require_str('queue', queue)
        flags = ('passive', 'durable', 'exclusive', 'auto_delete')
        callback = self._check_common('queue_declare', b, flags)
        method = spec.Queue.Declare(
            0,  # ticket, queue, passive, durable, exclusive, auto_delete, nowait, arguments
            queue,
            b['passive'],
            b['durable'],
            b['exclusive'],
            b['auto_delete'],
            b['nowait'],
            b['arguments'],
        )
        self._simple_rpc(method, callback, b['nowait'])

    @args_.advertise('queue_bind')
    def queue_bind(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Bind. 1.x: `(queue, exchange, routing_key=None, arguments=None,
        callback=None)`; 0.9: `(callback, queue, exchange, routing_key=None, nowait=False,
        arguments=None)`. A None routing key means the queue name."""
        b = args_.bind('queue_bind', args, kwargs)
        args_.require_str('queue', b['queue'])
        args_.require_str('exchange', b['exchange'])
        args_.require_str('routing_key', b['routing_key'], allow_none=True)
        callback = self._check_common('queue_bind', b)
        routing_key = b['routing_key'] if b['routing_key'] is not None else b['queue']
        method = spec.Queue.Bind(
            0,  # ticket, queue, exchange, routing_key, nowait, arguments
            b['queue'],
            b['exchange'],
            routing_key,
            b['nowait'],
            b['arguments'],
        )
        self._simple_rpc(method, callback, b['nowait'])

    @args_.advertise('queue_unbind')
    def queue_unbind(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Unbind. 1.x: `(queue, exchange=None, routing_key=None, arguments=None,
        callback=None)`; 0.9: `(callback=None, queue='', exchange=None, routing_key=None,
        arguments=None)`. A None routing key means the queue name."""
        b = args_.bind('queue_unbind', args, kwargs)
        args_.require_str('queue', b['queue'])
        args_.require_str('exchange', b['exchange'], allow_none=True)
        args_.require_str('routing_key', b['routing_key'], allow_none=True)
        callback = self._check_common('queue_unbind', b)
        routing_key = b['routing_key'] if b['routing_key'] is not None else b['queue']
        method = spec.Queue.Unbind(
            0,  # ticket, queue, exchange, routing_key, arguments
            b['queue'],
            b['exchange'] or '',
            routing_key,
            b['arguments'],
        )
        self._simple_rpc(method, callback)

    @args_.advertise('queue_purge')
    def queue_purge(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Purge. 1.x: `(queue, callback=None)`; 0.9: `(callback=None, queue='',
        nowait=False)`. The PurgeOk frame's `.method.message_count` is the number purged."""
        b = args_.bind('queue_purge', args, kwargs)
        args_.require_str('queue', b['queue'])
        callback = self._check_common('queue_purge', b)
        method = spec.Queue.Purge(0, b['queue'], b['nowait'])  # ticket, queue, nowait
        self._simple_rpc(method, callback, b['nowait'])

    @args_.advertise('queue_delete')
    def queue_delete(self, *args: Any, **kwargs: Any) -> None:
        """Queue.Delete. 1.x: `(queue, if_unused=False, if_empty=False, callback=None)`;
        0.9: `(callback=None, queue='', if_unused=False, if_empty=False, nowait=False)`."""
        b = args_.bind('queue_delete', args, kwargs)
        args_.require_str('queue', b['queue'])
        callback = self._check_common('queue_delete', b, ('if_unused', 'if_empty'))
        # ticket, queue, if_unused, if_empty, nowait
        method = spec.Queue.Delete(0, b['queue'], b['if_unused'], b['if_empty'], b['nowait'])
        self._simple_rpc(method, callback, b['nowait'])
