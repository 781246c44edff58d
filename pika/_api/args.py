"""The call binder of both channel API generations (pika 0.9 and 1.x) and the argument policy.

The rule (docs/api-generations.md): if the first positional argument is callable the call is in
the 0.9 form, otherwise in the 1.x form. Both forms bind to one dict of canonical (1.x) names,
keyword aliases of the older generation included, so `Channel` and `BlockingChannel` share the
same checks (:mod:`pika._api.methods` applies them per method). Everything here is pure and
raises `TypeError`/`ValueError` at the call.

The argument policy, the same in both front-ends: names (queue, exchange, routing key, consumer
tag) are `str`; flags are `bool`, or the ints 0 and 1 (:func:`require_bool`); counts are `int`
within their wire range; `arguments` is a mapping or None; callbacks are callable. Anything else
raises `TypeError` (a value of the right type out of range: `ValueError`) naming the argument,
before anything is sent. Nothing is coerced: pika 1.x sends a flag's truth value, so
`durable='no'` would declare a durable queue.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Callable, Literal, Optional, TypeVar

from pika import spec
from pika.exchange_type import ExchangeType

_F = TypeVar('_F', bound=Callable[..., Any])

REQUIRED: Any = object()
"""Marks a parameter without a default."""

#: Why a channel refuses a call, by the state it is in: pika 1.x's words (plain facts that
#: code written for pika may match on), shared by ``Channel`` and ``BlockingChannel``.
NOT_USABLE: dict[str, str] = {
    'OPENING': 'Channel is opening, but is not usable yet.',
    'CLOSING': 'Channel is closing.',
    'CLOSED': 'Channel is closed.',
}

# Older keyword -> canonical keyword. Giving both of a pair is a TypeError.
ALIASES: dict[str, str] = {
    'no_ack': 'auto_ack',
    'consumer_callback': 'on_message_callback',
    'type': 'exchange_type',
    'all_channels': 'global_qos',
}

Signature = tuple[tuple[str, Any], ...]

ReceivedStr = Optional[str]
"""How ``basic_publish`` annotates ``exchange``/``routing_key``: a message property such as
``properties.reply_to`` is ``Optional[str]`` (an absent property is None), so the RPC idiom
``basic_publish('', props.reply_to, ...)`` type-checks; None is still a TypeError at the call.
(Received method fields, ``method.routing_key`` included, are typed ``str``.)"""

DeliveryTag = int
"""How ``basic_ack``/``nack``/``reject`` annotate ``delivery_tag``: received methods type theirs
as ``int``, so ``ch.basic_ack(method.delivery_tag)`` type-checks; anything but a non-negative
int (None included) is rejected at the call with TypeError/ValueError."""

# pika 1.x positional orders (canonical names) with defaults.
MODERN: dict[str, Signature] = {
    'exchange_declare': (
        ('exchange', REQUIRED),
        ('exchange_type', ExchangeType.direct),  # pika 1.x's default (0.9's is the str)
        ('passive', False),
        ('durable', False),
        ('auto_delete', False),
        ('internal', False),
        ('arguments', None),
        ('callback', None),
    ),
    'exchange_delete': (('exchange', None), ('if_unused', False), ('callback', None)),
    'exchange_bind': (
        ('destination', REQUIRED),
        ('source', REQUIRED),
        ('routing_key', ''),
        ('arguments', None),
        ('callback', None),
    ),
    'exchange_unbind': (
        ('destination', None),
        ('source', None),
        ('routing_key', ''),
        ('arguments', None),
        ('callback', None),
    ),
    'queue_declare': (
        ('queue', REQUIRED),
        ('passive', False),
        ('durable', False),
        ('exclusive', False),
        ('auto_delete', False),
        ('arguments', None),
        ('callback', None),
    ),
    'queue_bind': (
        ('queue', REQUIRED),
        ('exchange', REQUIRED),
        ('routing_key', None),
        ('arguments', None),
        ('callback', None),
    ),
    'queue_unbind': (
        ('queue', REQUIRED),
        ('exchange', None),
        ('routing_key', None),
        ('arguments', None),
        ('callback', None),
    ),
    'queue_purge': (('queue', REQUIRED), ('callback', None)),
    'queue_delete': (
        ('queue', REQUIRED),
        ('if_unused', False),
        ('if_empty', False),
        ('callback', None),
    ),
    'basic_qos': (
        ('prefetch_size', 0),
        ('prefetch_count', 0),
        ('global_qos', False),
        ('callback', None),
    ),
    'basic_consume': (
        ('queue', REQUIRED),
        ('on_message_callback', REQUIRED),
        ('auto_ack', False),
        ('exclusive', False),
        ('consumer_tag', None),
        ('arguments', None),
        ('callback', None),
    ),
    'basic_cancel': (('consumer_tag', ''), ('callback', None)),
    'basic_get': (('queue', REQUIRED), ('callback', REQUIRED), ('auto_ack', False)),
    'basic_recover': (('requeue', False), ('callback', None)),
    'confirm_delivery': (('ack_nack_callback', REQUIRED), ('callback', None)),
    'flow': (('active', REQUIRED), ('callback', None)),
    'tx_select': (('callback', None),),
    'tx_commit': (('callback', None),),
    'tx_rollback': (('callback', None),),
}

# pika 0.9 positional orders, written with canonical names (the callable comes first).
LEGACY: dict[str, Signature] = {
    'exchange_declare': (
        ('callback', None),
        ('exchange', REQUIRED),
        ('exchange_type', 'direct'),
        ('passive', False),
        ('durable', False),
        ('auto_delete', False),
        ('internal', False),
        ('nowait', False),
        ('arguments', None),
    ),
    'exchange_delete': (
        ('callback', None),
        ('exchange', None),
        ('if_unused', False),
        ('nowait', False),
    ),
    'exchange_bind': (
        ('callback', None),
        ('destination', REQUIRED),
        ('source', REQUIRED),
        ('routing_key', ''),
        ('nowait', False),
        ('arguments', None),
    ),
    'exchange_unbind': (
        ('callback', None),
        ('destination', None),
        ('source', None),
        ('routing_key', ''),
        ('nowait', False),
        ('arguments', None),
    ),
    'queue_declare': (
        ('callback', None),
        ('queue', ''),
        ('passive', False),
        ('durable', False),
        ('exclusive', False),
        ('auto_delete', False),
        ('nowait', False),
        ('arguments', None),
    ),
    'queue_bind': (
        ('callback', None),
        ('queue', REQUIRED),
        ('exchange', REQUIRED),
        ('routing_key', None),
        ('nowait', False),
        ('arguments', None),
    ),
    'queue_unbind': (
        ('callback', None),
        ('queue', ''),
        ('exchange', None),
        ('routing_key', None),
        ('arguments', None),
    ),
    'queue_purge': (('callback', None), ('queue', ''), ('nowait', False)),
    'queue_delete': (
        ('callback', None),
        ('queue', ''),
        ('if_unused', False),
        ('if_empty', False),
        ('nowait', False),
    ),
    'basic_qos': (
        ('callback', None),
        ('prefetch_size', 0),
        ('prefetch_count', 0),
        ('global_qos', False),
    ),
    'basic_consume': (
        ('on_message_callback', REQUIRED),
        ('queue', ''),
        ('auto_ack', False),
        ('exclusive', False),
        ('consumer_tag', None),
        ('arguments', None),
    ),
    'basic_cancel': (('callback', None), ('consumer_tag', ''), ('nowait', False)),
    'basic_get': (('callback', REQUIRED), ('queue', ''), ('auto_ack', False)),
    'basic_recover': (('callback', None), ('requeue', False)),
    'confirm_delivery': (('ack_nack_callback', REQUIRED), ('nowait', False)),
    'flow': (('callback', None), ('active', REQUIRED)),
    'tx_select': (('callback', None),),
    'tx_commit': (('callback', None),),
    'tx_rollback': (('callback', None),),
}

# Keywords either generation may give that are not in that generation's positional list.
_EXTRA_KEYWORDS: dict[str, tuple[str, ...]] = {
    'exchange_declare': ('nowait',),
    'exchange_delete': ('nowait',),
    'exchange_bind': ('nowait',),
    'exchange_unbind': ('nowait',),
    'queue_declare': ('nowait',),
    'queue_bind': ('nowait',),
    'queue_unbind': (),
    'queue_purge': ('nowait',),
    'queue_delete': ('nowait',),
    'basic_consume': ('callback',),
    'basic_cancel': ('nowait',),
    'confirm_delivery': ('nowait', 'callback'),
}


def is_legacy_call(args: tuple[Any, ...]) -> bool:
    """True when the call is in the pika 0.9 form: its first positional argument is callable."""
    return bool(args) and callable(args[0])


def is_modern_get(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
    """True when a ``basic_get`` call is clearly in the pika 1.x form.

    pika 1.x answers an empty queue with ``(None, None, None)`` (blocking) and never calls a
    ``basic_get`` callback then; pika 0.9 gives a Basic.GetEmpty frame (docs/api-generations.md
    has the rule). In order:

    1. the 0.9 keyword ``no_ack``, or a callable first positional (0.9's callback-first
       order): 0.9 form;
    2. the queue given positionally (a non-callable first positional), or the 1.x keyword
       ``auto_ack``: 1.x form;
    3. anything else (keywords only, as the seed's ``basic_get(callback=cb, queue='test')``,
       or no arguments) cannot be told apart and is read as 0.9, whose falsy ``GetEmpty``
       also satisfies 1.x code that tests ``if method:``.
    """
    if 'no_ack' in kwargs:
        return False
    if args:
        return not callable(args[0])
    return 'auto_ack' in kwargs


_BLOCKING_GET = ('queue', 'auto_ack')


def bind_blocking_get(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(queue, auto_ack)`` of a ``BlockingChannel.basic_get`` call.

    Both generations take ``(queue, auto_ack)`` positionally; ``no_ack`` is 0.9's keyword for
    ``auto_ack``. A missing queue is ``''`` (read leniently, as every keyword-only call).

    :raises TypeError: for too many positionals, an unknown or duplicated argument.
    """
    if len(args) > 2:
        raise TypeError(f'basic_get() takes at most 2 positional arguments ({len(args)} given)')
    bound = dict(zip(_BLOCKING_GET, args))
    for name, value in canonical_kwargs('basic_get', kwargs).items():
        if name not in _BLOCKING_GET:
            raise TypeError(f'basic_get() got an unexpected keyword argument {name!r}')
        if name in bound:
            raise TypeError(f'basic_get() got multiple values for argument {name!r}')
        bound[name] = value
    return bound.get('queue', ''), bound.get('auto_ack', False)


def canonical_kwargs(method: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Rename older keywords (`no_ack`, `consumer_callback`, `type`, `all_channels`).

    :raises TypeError: when both names of an alias pair are given.
    """
    result: dict[str, Any] = {}
    for name, value in kwargs.items():
        canonical = ALIASES.get(name, name)
        if canonical in result:
            raise TypeError(f'{method}() got both {name!r} and its alias {canonical!r}')
        result[canonical] = value
    return result


def _merged_defaults(method: str) -> dict[str, Any]:
    """Defaults over both generations: required only when required in both (so keyword-only
    calls, which cannot be told apart, are read leniently), else the 1.x default, else 0.9's."""
    merged = dict(LEGACY[method])
    for name, default in MODERN[method]:
        if default is not REQUIRED or merged.get(name, REQUIRED) is REQUIRED:
            merged[name] = default
    return merged


_MERGED: dict[str, tuple[tuple[str, Any], ...]] = {}
_ALLOWED: dict[str, frozenset[str]] = {}


def _defaults_and_allowed(method: str) -> tuple[tuple[tuple[str, Any], ...], frozenset[str]]:
    """`_merged_defaults(method)` as pairs, and every keyword the method accepts (computed once
    per method: they only depend on the tables above, and `bind` runs on every channel call)."""
    merged = _MERGED.get(method)
    if merged is None:
        defaults = _merged_defaults(method)
        merged = _MERGED[method] = tuple(defaults.items())
        _ALLOWED[method] = frozenset(defaults) | frozenset(_EXTRA_KEYWORDS.get(method, ()))
    return merged, _ALLOWED[method]


# Call shape -> (positional names, canonical keyword names or None when the keywords are already
# canonical, defaults to fill in); see bind().
_PLANS: dict[
    tuple[Any, ...], tuple[tuple[str, ...], Optional[tuple[str, ...]], dict[str, Any]]
] = {}
_MAX_PLANS = 1024


def bind(method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Bind a call of channel method `method` to a dict of canonical parameter names.

    The result holds every parameter of the method (defaults filled in), plus `nowait`
    (default False) for methods that had it in pika 0.9.

    Apart from the generation (decided by the first argument's callability), binding only
    depends on the call's shape: the method, the number of positionals and the keyword names.
    So the first successful call of each shape records a plan and later calls of that shape
    just apply it (the RPC path runs this on every channel call).

    :raises TypeError: for too many positionals, an unknown or duplicated keyword, or a
        missing required argument.
    """
    if method == 'confirm_delivery':
        return _bind_slow(method, args, kwargs)
    key = (method, callable(args[0]) if args else False, len(args), *kwargs)
    plan = _PLANS.get(key)
    if plan is None:
        bound = _bind_slow(method, args, kwargs)  # raises for a bad shape: nothing recorded
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        signature = (LEGACY if key[1] else MODERN)[method]
        names = tuple(name for name, _ in signature[: len(args)])
        canonical = tuple(ALIASES.get(name, name) for name in kwargs)
        given = set(names) | set(canonical)
        renamed = canonical if canonical != tuple(kwargs) else None
        _PLANS[key] = (names, renamed, {k: v for k, v in bound.items() if k not in given})
        return bound
    names, renamed, defaults = plan
    if renamed is None:
        bound = {**defaults, **kwargs}
    else:
        bound = dict(defaults)
        bound.update(zip(renamed, kwargs.values()))
    if names:
        bound.update(zip(names, args))
    return bound


def _bind_slow(method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`bind` without the plan cache (the reference behaviour)."""
    legacy = is_legacy_call(args)
    if method == 'confirm_delivery':
        # The acks callback comes first in both generations; 0.9's second positional was nowait.
        legacy = len(args) > 1 and isinstance(args[1], (bool, int))
    signature = (LEGACY if legacy else MODERN)[method]
    names = [name for name, _ in signature]
    if len(args) > len(names):
        raise TypeError(
            f'{method}() takes at most {len(names)} positional arguments ({len(args)} given)'
        )
    given = canonical_kwargs(method, kwargs)
    merged, allowed = _defaults_and_allowed(method)
    unknown = sorted(set(given) - allowed) if not allowed.issuperset(given) else None
    if unknown:
        raise TypeError(f'{method}() got unexpected keyword argument(s): {", ".join(unknown)}')
    bound: dict[str, Any] = dict(zip(names, args))
    for name, value in given.items():
        if name in bound:
            raise TypeError(f'{method}() got multiple values for argument {name!r}')
        bound[name] = value
    if method == 'confirm_delivery' and 'ack_nack_callback' not in bound and 'callback' in bound:
        # pika 0.9's `confirm_delivery(callback=f)`: f receives the acks and nacks.
        bound['ack_nack_callback'] = bound.pop('callback')
    for name, default in merged:
        if name not in bound:
            if default is REQUIRED:
                raise TypeError(f'{method}() missing required argument {name!r}')
            bound[name] = default
    for name in _EXTRA_KEYWORDS.get(method, ()):
        bound.setdefault(name, False if name == 'nowait' else None)
    return bound


class GetEmpty(spec.Basic.GetEmpty):
    """The Basic.GetEmpty answer that ``basic_get`` hands back (blocking) or to its callback.

    It is *falsy*: the pika 0.9 documentation says an empty ``basic_get`` gives "a
    Basic.GetEmpty frame as the method frame", while pika 1.x code tests ``if method:``.
    Being a real ``spec.Basic.GetEmpty`` that evaluates to False satisfies both.
    """

    def __bool__(self) -> Literal[False]:  # Literal: `if method:` narrows GetEmpty away
        return False


def as_get_empty(method: Any) -> Any:
    """Return a falsy :class:`GetEmpty` for a received Basic.GetEmpty, else ``method``."""
    if isinstance(method, spec.Basic.GetEmpty) and not isinstance(method, GetEmpty):
        return GetEmpty(cluster_id=method.cluster_id)
    return method


# -- introspection ------------------------------------------------------------------------------

_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY


def modern_signature(
    method: str, *, callback: bool = True, keyword_only: tuple[tuple[str, Any], ...] = ()
) -> inspect.Signature:
    """The pika 1.x signature of channel method `method`, with `self` first.

    The dual-form methods take `*args, **kwargs`; advertising the 1.x form keeps
    `inspect.signature()`, `help()` and IDEs showing what 1.x users expect. `callback=False`
    drops the completion callback (BlockingChannel has none); `keyword_only` appends
    keyword-only extras such as `timeout`.
    """
    params = [inspect.Parameter('self', _POSITIONAL)]
    for name, default in MODERN[method]:
        if name == 'callback' and not callback:
            continue
        if default is REQUIRED:
            default = inspect.Parameter.empty
        params.append(inspect.Parameter(name, _POSITIONAL, default=default))
    for name, default in keyword_only:
        params.append(inspect.Parameter(name, _KEYWORD_ONLY, default=default))
    return inspect.Signature(params)


def advertise(
    method: str, *, callback: bool = True, keyword_only: tuple[tuple[str, Any], ...] = ()
) -> Callable[[_F], _F]:
    """Decorator: give a `*args, **kwargs` channel method its pika 1.x `__signature__`."""

    def decorate(func: _F) -> _F:
        func.__signature__ = modern_signature(  # type: ignore[attr-defined]
            method, callback=callback, keyword_only=keyword_only
        )
        return func

    return decorate


# -- value checks shared by the front-ends ------------------------------------------------------


def require_str(name: str, value: Any, *, allow_none: bool = False) -> None:
    """:raises TypeError: unless `value` is a str (or None when allowed)."""
    if value is None and allow_none:
        return
    if not isinstance(value, str):
        raise TypeError(f'{name} must be a str, not {type(value).__name__}')


def str_value(name: str, value: ReceivedStr) -> str:
    """Return `value` when it is a str.

    :raises TypeError: otherwise (None included).
    """
    require_str(name, value)
    return value  # type: ignore[return-value]  # require_str raised for anything but a str


def require_callable(name: str, value: Any, *, allow_none: bool = False) -> None:
    """:raises TypeError: unless `value` is callable (or None when allowed)."""
    if value is None and allow_none:
        return
    if not callable(value):
        raise TypeError(f'{name} must be callable, not {type(value).__name__}')


def require_bool(name: str, value: Any) -> None:
    """The policy for flags: a `bool`, or the int 0 or 1 (``durable=1`` is common in the wild).

    :raises TypeError: for anything else (None, str, float...), naming the flag; pika 1.x would
        send the value's truth value, so ``durable='no'`` would declare a durable queue.
    """
    if not isinstance(value, int) or value not in (0, 1):
        raise TypeError(f'{name} must be a bool, not {value!r}')


def require_bools(bound: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """:func:`require_bool` for each of ``names`` in ``bound``: one call for all of a method's
    flags, and no further call for the usual True/False.

    :raises TypeError: for the first value that is not a bool (or 0/1)
    """
    for name in names:
        value = bound[name]
        if value is not True and value is not False:
            require_bool(name, value)


def require_int(name: str, value: Any, *, minimum: int = 0, maximum: Optional[int] = None) -> None:
    """:raises TypeError: unless `value` is an int; ValueError: outside [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f'{name} must be an int, not {type(value).__name__}')
    if value < minimum or (maximum is not None and value > maximum):
        bound = f'{minimum}..{maximum}' if maximum is not None else f'>= {minimum}'
        raise ValueError(f'{name} must be {bound}, not {value}')


def delivery_tag_value(value: Any) -> int:
    """Return `value` as a delivery tag.

    :raises TypeError: unless it is an int (None included); ValueError: if negative.
    """
    if type(value) is int and value >= 0:
        return value
    require_int('delivery_tag', value)  # raises for anything but an int >= 0
    return int(value)  # an int subclass


def require_table(name: str, value: Any) -> None:
    """:raises TypeError: unless `value` is None or a mapping (an AMQP field table)."""
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(f'{name} must be a dict or None, not {type(value).__name__}')


def encode_body(body: Any) -> bytes:
    """Message bodies are bytes; str is encoded as UTF-8.

    :raises TypeError: for anything else (None included).
    """
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode('utf-8')
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f'body must be bytes or str, not {type(body).__name__}')


def check_nowait_callback(method: str, nowait: Any, callback: Optional[Callable[..., Any]]) -> None:
    """A nowait method gets no reply, so a completion callback could never run.

    :raises ValueError: when both are given.
    """
    require_bool('nowait', nowait)
    if nowait and callback is not None:
        raise ValueError(f'{method}(): a callback cannot be used with nowait=True')
