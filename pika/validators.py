"""pika 1.x's argument checks, for code that imports them (`pika.validators`).

Thin wrappers over the checks the channel API uses (`pika._api.args`); each raises at once
with a message naming the argument.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from pika._api import args as _args

__all__ = ['require_callback', 'require_string', 'rpc_completion_callback', 'zero_or_greater']


def require_string(value: Any, value_name: str) -> None:
    """:raises TypeError: unless `value` is a str."""
    _args.require_str(value_name, value)


def require_callback(callback: Callable[..., Any], callback_name: str = 'callback') -> None:
    """:raises TypeError: unless `callback` is callable."""
    _args.require_callable(callback_name, callback)


def rpc_completion_callback(callback: Optional[Callable[..., Any]]) -> bool:
    """Check an RPC's optional completion callback; return True when it is None (as pika 1.x:
    the caller then has nothing to call back).

    :raises TypeError: if it is neither None nor callable.
    """
    _args.require_callable('completion callback', callback, allow_none=True)
    return callback is None


def zero_or_greater(name: str, value: Any) -> None:
    """:raises ValueError: if `int(value)` is negative (and `int()`'s own errors)."""
    if int(value) < 0:
        raise ValueError(f'{name} must be >= 0, not {value!r}')
