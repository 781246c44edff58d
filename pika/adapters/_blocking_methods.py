"""Channel methods that are plain RPCs: exchanges, queues, QoS, recover, transactions, flow.

Split out of :mod:`pika.adapters._blocking_channel` to keep modules small. The mixin relies on
``BlockingChannel._rpc`` / ``_rpc_frame`` for the bounded request/reply and on
:func:`pika._channel_args.bind` to accept both the pika 0.9 and the pika 1.x call forms.
Each method takes an optional keyword ``timeout`` (seconds) overriding the connection default.

Return types: each RPC returns ``frame.Method[<reply class>]`` (``queue_declare`` ->
``frame.Method[spec.Queue.DeclareOk]``), so ``result.method.queue`` is typed. The reply
fields are typed as the generated classes declare them (``Optional``, since their
constructors default to None); a received reply always has them set. A pika 0.9 call with
``nowait=True`` returns None, which the hints deliberately leave out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from pika import _channel_args as args_mod
from pika import frame, spec

if TYPE_CHECKING:
    from pika._core import events as ev


_TIMEOUT = (('timeout', None),)


class ChannelMethodsMixin:
    """Synchronous AMQP methods of :class:`BlockingChannel` that need no local state."""

    @property
    def channel_number(self) -> int:  # BlockingChannel's
        raise NotImplementedError

    def _rpc(self, method: Any, timeout: Optional[float] = None) -> Optional[ev.RpcReply]:
        raise NotImplementedError

    def _rpc_frame(self, method: Any, timeout: Optional[float]) -> Optional[frame.Method]:
        raise NotImplementedError

    def basic_recover(
        self, requeue: bool = False, *, timeout: Optional[float] = None
    ) -> frame.Method[spec.Basic.RecoverOk]:
        """Ask the broker to redeliver this channel's unacknowledged messages."""
        args_mod.require_bool('requeue', requeue)
        return cast('frame.Method', self._rpc_frame(spec.Basic.Recover(requeue=requeue), timeout))

    @args_mod.advertise('basic_qos', callback=False, keyword_only=_TIMEOUT)
    def basic_qos(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Basic.QosOk]:
        """``basic_qos(prefetch_size=0, prefetch_count=0, global_qos=False)``; 0.9 spelled
        ``global_qos`` as ``all_channels``."""
        timeout = kwargs.pop('timeout', None)
        bound = args_mod.bind('basic_qos', args, kwargs)
        args_mod.require_int('prefetch_size', bound['prefetch_size'])
        args_mod.require_int('prefetch_count', bound['prefetch_count'], maximum=65535)
        method = spec.Basic.Qos(
            prefetch_size=bound['prefetch_size'],
            prefetch_count=bound['prefetch_count'],
            global_qos=bool(bound['global_qos']),
        )
        return self._finish_bound(bound, self._rpc(method, timeout))

    def _finish_bound(self, bound: dict[str, Any], reply: Optional[ev.RpcReply]) -> frame.Method:
        """The reply as the frame the caller gets, once a pika 0.9 ``callback`` has seen it."""
        result = None if reply is None else frame.Method(self.channel_number, reply.method)
        callback = bound.get('callback')
        if callback is not None:
            callback(result)
        return result  # type: ignore[return-value]  # None only for 0.9 nowait=True (see above)

    # -- exchanges, queues, transactions, flow -------------------------------------------

    def _bound_rpc(self, name: str, args: Any, kwargs: dict[str, Any], build: Any) -> frame.Method:
        timeout = kwargs.pop('timeout', None)
        bound = args_mod.bind(name, args, kwargs)
        return self._finish_bound(bound, self._rpc(build(bound), timeout))

    @args_mod.advertise('exchange_declare', callback=False, keyword_only=_TIMEOUT)
    def exchange_declare(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.DeclareOk]:
        """``exchange_declare(exchange, exchange_type='direct', passive=False, durable=False,
        auto_delete=False, internal=False, arguments=None)``; returns Exchange.DeclareOk."""

        def build(b: dict[str, Any]) -> Any:
            args_mod.require_str('exchange', b['exchange'])
            exchange_type = b['exchange_type']
            exchange_type = getattr(exchange_type, 'value', exchange_type)
            args_mod.require_str('exchange_type', exchange_type)
            args_mod.require_table('arguments', b['arguments'])
            return spec.Exchange.Declare(
                exchange=b['exchange'], type=exchange_type, passive=bool(b['passive']),
                durable=bool(b['durable']), auto_delete=bool(b['auto_delete']),
                internal=bool(b['internal']), nowait=bool(b['nowait']),
                arguments=b['arguments'] or {},
            )  # fmt: skip

        return self._bound_rpc('exchange_declare', args, kwargs, build)

    @args_mod.advertise('exchange_delete', callback=False, keyword_only=_TIMEOUT)
    def exchange_delete(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.DeleteOk]:
        """``exchange_delete(exchange=None, if_unused=False)``; returns Exchange.DeleteOk."""

        def build(b: dict[str, Any]) -> Any:
            args_mod.require_str('exchange', b['exchange'], allow_none=True)
            return spec.Exchange.Delete(
                exchange=b['exchange'] or '',
                if_unused=bool(b['if_unused']),
                nowait=bool(b['nowait']),
            )

        return self._bound_rpc('exchange_delete', args, kwargs, build)

    @args_mod.advertise('exchange_bind', callback=False, keyword_only=_TIMEOUT)
    def exchange_bind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.BindOk]:
        """``exchange_bind(destination, source, routing_key='', arguments=None)``."""
        return self._bound_rpc(
            'exchange_bind', args, kwargs, self._exchange_binding(spec.Exchange.Bind)
        )

    @args_mod.advertise('exchange_unbind', callback=False, keyword_only=_TIMEOUT)
    def exchange_unbind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Exchange.UnbindOk]:
        """``exchange_unbind(destination=None, source=None, routing_key='', arguments=None)``."""
        return self._bound_rpc(
            'exchange_unbind', args, kwargs, self._exchange_binding(spec.Exchange.Unbind)
        )

    @staticmethod
    def _exchange_binding(method_class: Any) -> Callable[[dict[str, Any]], Any]:
        def build(b: dict[str, Any]) -> Any:
            args_mod.require_str('destination', b['destination'])
            args_mod.require_str('source', b['source'])
            args_mod.require_str('routing_key', b['routing_key'])
            args_mod.require_table('arguments', b['arguments'])
            return method_class(destination=b['destination'], source=b['source'],
                                routing_key=b['routing_key'], nowait=bool(b['nowait']),
                                arguments=b['arguments'] or {})  # fmt: skip

        return build

    @args_mod.advertise('queue_declare', callback=False, keyword_only=_TIMEOUT)
    def queue_declare(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.DeclareOk]:
        """``queue_declare(queue, passive=False, durable=False, exclusive=False,
        auto_delete=False, arguments=None)``; returns a frame whose ``.method`` is
        Queue.DeclareOk (``queue``, ``message_count``, ``consumer_count``)."""

        def build(b: dict[str, Any]) -> Any:
            queue, arguments = b['queue'], b['arguments']
            if type(queue) is not str or not (arguments is None or type(arguments) is dict):
                args_mod.require_str('queue', queue)  # one test for the usual types, above
                args_mod.require_table('arguments', arguments)
            return spec.Queue.Declare(
                queue=queue, passive=bool(b['passive']), durable=bool(b['durable']),
                exclusive=bool(b['exclusive']), auto_delete=bool(b['auto_delete']),
                nowait=bool(b['nowait']), arguments=arguments or {},
            )  # fmt: skip

        return self._bound_rpc('queue_declare', args, kwargs, build)

    @args_mod.advertise('queue_bind', callback=False, keyword_only=_TIMEOUT)
    def queue_bind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.BindOk]:
        """``queue_bind(queue, exchange, routing_key=None, arguments=None)``; a None routing
        key binds with the queue name."""
        return self._bound_rpc('queue_bind', args, kwargs, self._queue_binding(spec.Queue.Bind))

    @args_mod.advertise('queue_unbind', callback=False, keyword_only=_TIMEOUT)
    def queue_unbind(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.UnbindOk]:
        """``queue_unbind(queue, exchange=None, routing_key=None, arguments=None)``."""
        return self._bound_rpc('queue_unbind', args, kwargs, self._queue_binding(spec.Queue.Unbind))

    @staticmethod
    def _queue_binding(method_class: Any) -> Callable[[dict[str, Any]], Any]:
        def build(b: dict[str, Any]) -> Any:
            args_mod.require_str('queue', b['queue'])
            args_mod.require_str('exchange', b['exchange'])
            routing_key = b['queue'] if b['routing_key'] is None else b['routing_key']
            args_mod.require_str('routing_key', routing_key)
            args_mod.require_table('arguments', b['arguments'])
            fields = {'queue': b['queue'], 'exchange': b['exchange'], 'routing_key': routing_key,
                      'arguments': b['arguments'] or {}}  # fmt: skip
            if method_class is spec.Queue.Bind:
                fields['nowait'] = bool(b.get('nowait', False))
            return method_class(**fields)

        return build

    @args_mod.advertise('queue_purge', callback=False, keyword_only=_TIMEOUT)
    def queue_purge(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.PurgeOk]:
        """``queue_purge(queue)``; returns Queue.PurgeOk (``message_count``)."""

        def build(b: dict[str, Any]) -> Any:
            args_mod.require_str('queue', b['queue'])
            return spec.Queue.Purge(queue=b['queue'], nowait=bool(b['nowait']))

        return self._bound_rpc('queue_purge', args, kwargs, build)

    @args_mod.advertise('queue_delete', callback=False, keyword_only=_TIMEOUT)
    def queue_delete(self, *args: Any, **kwargs: Any) -> frame.Method[spec.Queue.DeleteOk]:
        """``queue_delete(queue, if_unused=False, if_empty=False)``; returns Queue.DeleteOk."""

        def build(b: dict[str, Any]) -> Any:
            args_mod.require_str('queue', b['queue'])
            return spec.Queue.Delete(
                queue=b['queue'],
                if_unused=bool(b['if_unused']),
                if_empty=bool(b['if_empty']),
                nowait=bool(b['nowait']),
            )

        return self._bound_rpc('queue_delete', args, kwargs, build)

    def tx_select(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.SelectOk]:
        """Start using transactions on this channel; returns Tx.SelectOk."""
        return cast('frame.Method', self._rpc_frame(spec.Tx.Select(), timeout))

    def tx_commit(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.CommitOk]:
        """Commit the current transaction; returns Tx.CommitOk."""
        return cast('frame.Method', self._rpc_frame(spec.Tx.Commit(), timeout))

    def tx_rollback(self, *, timeout: Optional[float] = None) -> frame.Method[spec.Tx.RollbackOk]:
        """Abandon the current transaction; returns Tx.RollbackOk."""
        return cast('frame.Method', self._rpc_frame(spec.Tx.Rollback(), timeout))

    def flow(self, active: bool, *, timeout: Optional[float] = None) -> bool:
        """Ask the broker to pause (False) or resume (True) deliveries; returns its answer."""
        args_mod.require_bool('active', active)
        reply = self._rpc(spec.Channel.Flow(active=bool(active)), timeout)
        assert reply is not None
        return bool(reply.method.active)
