"""The one channel-method table of both front-ends: per AMQP method, its checks and its builder.

`Channel` (callbacks) and `BlockingChannel` differ only in how they send a method and wait for
its reply; what a call means is decided here, once. Each :class:`ChannelMethod` entry holds

- ``name``: the channel method (also the key of its signatures in :mod:`pika._api.args`);
- ``flags``: its bool arguments, checked under the one policy (:func:`args.require_bool`);
- ``build``: a pure function from the bound call to the ``pika.spec`` method to send, which
  checks the method's other values first (names are `str`, counts in range).

:meth:`ChannelMethod.prepare` binds a call of either generation (:func:`args.bind`), applies the
common checks (flags, completion callback, ``arguments`` table, ``nowait`` without a callback)
and builds the method: `TypeError`/`ValueError` at the call, before anything is sent.

The ``pika.spec`` methods are built with positional arguments, in the order of their fields
(named in a comment): calling a class with keywords costs a dict in CPython 3.11, which made
the constructor about twice as expensive on these paths (every declare, bind and qos).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

from pika import spec
from pika._api import args as args_

__all__ = ['METHODS', 'ChannelMethod', 'Prepared']

Bound = dict[str, Any]
Builder = Callable[[Bound], Any]


Prepared = tuple[Any, Optional[Callable[..., Any]], bool]
"""A checked call: ``(method, callback, nowait)``, the ``pika.spec`` method to send, the
completion callback (None: none) and whether the caller asked for no reply (pika 0.9's
``nowait``). A plain tuple: a NamedTuple costs a Python-level constructor on every RPC."""


class ChannelMethod:
    """One row of the table: a channel method's name, bool flags and spec builder."""

    __slots__ = ('build', 'flags', 'name')

    def __init__(self, name: str, flags: tuple[str, ...], build: Builder) -> None:
        self.name = name
        self.flags = flags
        self.build = build

    def __repr__(self) -> str:
        return f'<ChannelMethod {self.name} flags={self.flags}>'

    def prepare(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Prepared:
        """Bind a call in either generation's form, check it and build its method.

        :raises TypeError: for a call that does not bind or a value of the wrong type
        :raises ValueError: for a value out of range, or ``nowait`` with a callback
        """
        bound = args_.bind(self.name, args, kwargs)
        callback = self.check(bound)
        return self.build(bound), callback, bound.get('nowait', False)

    def check(self, bound: Bound) -> Optional[Callable[..., Any]]:
        """Check the flags, the completion callback, the ``arguments`` table and ``nowait``
        (with no callback) of a bound call; return the callback.

        The helpers that raise are only called for values that fail the quick test: every
        declare, bind and qos comes through here. The flags are tested one by one against
        True and False: cheaper than one test of all their types (``frozenset.issuperset``
        of a ``map`` builds a set; callgrind: ~3.6k -> ~2.1k instructions for four flags).
        """
        for name in self.flags:
            value = bound[name]
            if value is not True and value is not False:
                args_.require_bool(name, value)  # raises unless it is 0 or 1
        callback = bound.get('callback')
        if callback is not None and not callable(callback):
            args_.require_callable('callback', callback)  # raises
        arguments = bound.get('arguments')
        if arguments is not None and not isinstance(arguments, Mapping):
            args_.require_table('arguments', arguments)  # raises
        nowait = bound.get('nowait', False)
        if nowait is not False:
            args_.check_nowait_callback(self.name, nowait, callback)
        return callback


def _strs(bound: Bound, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Check that each of ``names`` is a str and each of ``optional`` a str or None.

    :raises TypeError: naming the first that is not
    """
    for name in names:
        if type(bound[name]) is not str:
            args_.require_str(name, bound[name])
    for name in optional:
        value = bound[name]
        if value is not None and type(value) is not str:
            args_.require_str(name, value)


# -- builders: bound call -> spec method ---------------------------------------------------------


def _exchange_declare(b: Bound) -> spec.Exchange.Declare:
    exchange_type = b['exchange_type']
    if type(exchange_type) is not str:
        exchange_type = getattr(exchange_type, 'value', exchange_type)  # an ExchangeType member
        args_.require_str('exchange_type', exchange_type)
    _strs(b, ('exchange',))
    return spec.Exchange.Declare(
        0,  # ticket, exchange, type, passive, durable, auto_delete, internal, nowait, arguments
        b['exchange'],
        exchange_type,
        b['passive'],
        b['durable'],
        b['auto_delete'],
        b['internal'],
        b['nowait'],
        b['arguments'],
    )


def _exchange_delete(b: Bound) -> spec.Exchange.Delete:
    _strs(b, (), ('exchange',))
    # ticket, exchange, if_unused, nowait
    return spec.Exchange.Delete(0, b['exchange'] or '', b['if_unused'], b['nowait'])


def _exchange_binding(method_class: Any) -> Builder:
    """The builder of Exchange.Bind or Exchange.Unbind (the same fields)."""

    def build(b: Bound) -> Any:
        _strs(b, ('destination', 'source', 'routing_key'))
        return method_class(
            0,  # ticket, destination, source, routing_key, nowait, arguments
            b['destination'],
            b['source'],
            b['routing_key'],
            b['nowait'],
            b['arguments'],
        )

    return build


def _queue_declare(b: Bound) -> spec.Queue.Declare:
    queue = b['queue']
    if type(queue) is not str:
        args_.require_str('queue', queue)
    return spec.Queue.Declare(
        0,  # ticket, queue, passive, durable, exclusive, auto_delete, nowait, arguments
        queue,
        b['passive'],
        b['durable'],
        b['exclusive'],
        b['auto_delete'],
        b['nowait'],
        b['arguments'],
    )


def _queue_bind(b: Bound) -> spec.Queue.Bind:
    """A None routing key binds with the queue name."""
    _strs(b, ('queue', 'exchange'), ('routing_key',))
    queue, routing_key = b['queue'], b['routing_key']
    return spec.Queue.Bind(
        0,  # ticket, queue, exchange, routing_key, nowait, arguments
        queue,
        b['exchange'],
        queue if routing_key is None else routing_key,
        b['nowait'],
        b['arguments'],
    )


def _queue_unbind(b: Bound) -> spec.Queue.Unbind:
    """A None routing key unbinds the queue name; a None exchange is the default one."""
    _strs(b, ('queue',), ('exchange', 'routing_key'))
    queue, routing_key = b['queue'], b['routing_key']
    return spec.Queue.Unbind(
        0,  # ticket, queue, exchange, routing_key, arguments
        queue,
        b['exchange'] or '',
        queue if routing_key is None else routing_key,
        b['arguments'],
    )


def _queue_purge(b: Bound) -> spec.Queue.Purge:
    _strs(b, ('queue',))
    return spec.Queue.Purge(0, b['queue'], b['nowait'])  # ticket, queue, nowait


def _queue_delete(b: Bound) -> spec.Queue.Delete:
    _strs(b, ('queue',))
    # ticket, queue, if_unused, if_empty, nowait
    return spec.Queue.Delete(0, b['queue'], b['if_unused'], b['if_empty'], b['nowait'])


def _basic_qos(b: Bound) -> spec.Basic.Qos:
    size, count = b['prefetch_size'], b['prefetch_count']
    if type(size) is not int or type(count) is not int or not (0 <= count <= 0xFFFF):
        args_.require_int('prefetch_size', size, maximum=0xFFFFFFFF)
        args_.require_int('prefetch_count', count, maximum=0xFFFF)
    elif not 0 <= size <= 0xFFFFFFFF:
        args_.require_int('prefetch_size', size, maximum=0xFFFFFFFF)
    # prefetch_size, prefetch_count, global_qos
    return spec.Basic.Qos(b['prefetch_size'], b['prefetch_count'], b['global_qos'])


def _basic_recover(b: Bound) -> spec.Basic.Recover:
    return spec.Basic.Recover(b['requeue'])


def _basic_consume(b: Bound) -> spec.Basic.Consume:
    """Basic.Consume; the front-end has filled in ``consumer_tag`` (its own, when None)."""
    args_.require_callable('on_message_callback', b['on_message_callback'])
    _strs(b, ('queue', 'consumer_tag'))
    return spec.Basic.Consume(
        0,  # ticket, queue, consumer_tag, no_local, no_ack, exclusive, nowait, arguments
        b['queue'],
        b['consumer_tag'],
        False,
        b['auto_ack'],
        b['exclusive'],
        False,
        b['arguments'],
    )


def _basic_cancel(b: Bound) -> spec.Basic.Cancel:
    _strs(b, ('consumer_tag',))
    return spec.Basic.Cancel(b['consumer_tag'], b.get('nowait', False))  # consumer_tag, nowait


def _basic_get(b: Bound) -> spec.Basic.Get:
    _strs(b, ('queue',))
    return spec.Basic.Get(0, b['queue'], b['auto_ack'])  # ticket, queue, no_ack


def _confirm_select(b: Bound) -> spec.Confirm.Select:
    return spec.Confirm.Select(b.get('nowait', False))


def _flow(b: Bound) -> spec.Channel.Flow:
    return spec.Channel.Flow(b['active'])


def _constant(method_class: Any) -> Builder:
    """The builder of a method without fields (Tx.*)."""
    return lambda b: method_class()


METHODS: dict[str, ChannelMethod] = {
    entry.name: entry
    for entry in (
        ChannelMethod(
            'exchange_declare',
            ('passive', 'durable', 'auto_delete', 'internal'),
            _exchange_declare,
        ),
        ChannelMethod('exchange_delete', ('if_unused',), _exchange_delete),
        ChannelMethod('exchange_bind', (), _exchange_binding(spec.Exchange.Bind)),
        ChannelMethod('exchange_unbind', (), _exchange_binding(spec.Exchange.Unbind)),
        ChannelMethod(
            'queue_declare', ('passive', 'durable', 'exclusive', 'auto_delete'), _queue_declare
        ),
        ChannelMethod('queue_bind', (), _queue_bind),
        ChannelMethod('queue_unbind', (), _queue_unbind),
        ChannelMethod('queue_purge', (), _queue_purge),
        ChannelMethod('queue_delete', ('if_unused', 'if_empty'), _queue_delete),
        ChannelMethod('basic_qos', ('global_qos',), _basic_qos),
        ChannelMethod('basic_recover', ('requeue',), _basic_recover),
        ChannelMethod('basic_consume', ('auto_ack', 'exclusive'), _basic_consume),
        ChannelMethod('basic_cancel', (), _basic_cancel),
        ChannelMethod('basic_get', ('auto_ack',), _basic_get),
        ChannelMethod('confirm_delivery', (), _confirm_select),
        ChannelMethod('flow', ('active',), _flow),
        ChannelMethod('tx_select', (), _constant(spec.Tx.Select)),
        ChannelMethod('tx_commit', (), _constant(spec.Tx.Commit)),
        ChannelMethod('tx_rollback', (), _constant(spec.Tx.Rollback)),
    )
}
"""Every channel method both front-ends send, by name."""
