"""pika 1.x's general-purpose callback registry (`pika.callback.CallbackManager`), for code that
uses it directly.

Our connections and channels keep their callbacks themselves; this module only serves programs
that build on the registry: callbacks filed under a prefix (e.g. a channel number) and a key
(e.g. an AMQP method class, stored by its name), called by `process()`, once (`one_shot`) or
every time, optionally only for one caller or for arguments with given attribute values.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Optional, TypeVar

__all__ = ['CallbackManager', 'check_for_prefix_and_key', 'name_or_value', 'sanitize_prefix']

LOGGER = logging.getLogger(__name__)

_F = TypeVar('_F', bound=Callable[..., Any])


def name_or_value(value: Any) -> str:
    """The registry's name for `value`: an AMQP class or method (class, instance, or a frame
    carrying one) by its `NAME`, such as 'Basic.Ack'; anything else as `str(value)`."""
    method = getattr(value, 'method', None)
    if method is not None and hasattr(method, 'NAME'):
        value = method
    name = getattr(value, 'NAME', None)
    if isinstance(name, str):
        return name
    return value if isinstance(value, str) else str(value)


def sanitize_prefix(function: _F) -> _F:
    """Decorator for a `CallbackManager` method taking `prefix` first: pass it as a str."""

    @functools.wraps(function)
    def wrapper(self: Any, prefix: Any, *args: Any, **kwargs: Any) -> Any:
        return function(self, name_or_value(prefix), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_for_prefix_and_key(function: _F) -> _F:
    """Decorator for a `CallbackManager` method taking `prefix, key` first: pass both as the
    registry's names (`name_or_value`)."""

    @functools.wraps(function)
    def wrapper(self: Any, prefix: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
        return function(self, name_or_value(prefix), name_or_value(key), *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _arguments_match(value: Any, expected: dict[str, Any]) -> bool:
    """True when `value` (a dict, or an object such as a frame or its method) has every
    key/attribute value of `expected`."""
    if isinstance(value, dict):
        return all(value.get(name) == wanted for name, wanted in expected.items())
    target = getattr(value, 'method', value)
    return all(getattr(target, name, None) == wanted for name, wanted in expected.items())


class CallbackManager:
    """Callbacks filed by `(prefix, key)`; see the module docstring.

    Each registration is a dict with the keys below (pika 1.x's names).
    """

    CALLBACK = 'callback'
    ONE_SHOT = 'one_shot'
    ONLY_CALLER = 'only'
    ARGUMENTS = 'arguments'
    CALLS = 'calls'
    DUPLICATE_WARNING = 'Callback already registered for "%s:%s": not added again'

    def __init__(self) -> None:
        self._stack: dict[str, dict[str, list[dict[str, Any]]]] = {}

    @check_for_prefix_and_key
    def add(
        self,
        prefix: Any,
        key: Any,
        callback: Callable[..., Any],
        one_shot: bool = True,
        only_caller: Optional[Any] = None,
        arguments: Optional[dict[str, Any]] = None,
    ) -> tuple[str, str]:
        """File `callback` under `(prefix, key)`; return the names it was filed under.

        Adding the same registration again (same callback, caller and arguments) keeps one
        entry; for a one-shot one it adds a call.

        :param one_shot: forget the callback after it was called (once per `add`)
        :param only_caller: call it only when `process()` is given this caller
        :param arguments: call it only when `process()`'s first argument has these values
            (dict keys, or attributes of the object or of the method a frame carries)
        """
        entries = self._stack.setdefault(prefix, {}).setdefault(key, [])
        for entry in entries:
            if (
                entry[self.CALLBACK] == callback
                and entry[self.ONLY_CALLER] == only_caller
                and entry[self.ARGUMENTS] == arguments
            ):
                LOGGER.warning(self.DUPLICATE_WARNING, prefix, key)
                if entry[self.ONE_SHOT]:
                    entry[self.CALLS] += 1
                return prefix, key
        entries.append(
            {
                self.CALLBACK: callback,
                self.ONE_SHOT: one_shot,
                self.ONLY_CALLER: only_caller,
                self.ARGUMENTS: arguments,
                self.CALLS: 1,
            }
        )
        return prefix, key

    def clear(self) -> None:
        """Forget every callback."""
        self._stack.clear()

    @sanitize_prefix
    def cleanup(self, prefix: Any) -> bool:
        """Forget every callback under `prefix`; False if there was none."""
        return self._stack.pop(prefix, None) is not None

    @check_for_prefix_and_key
    def pending(self, prefix: Any, key: Any) -> Optional[int]:
        """How many callbacks are filed under `(prefix, key)`; None when there is none."""
        entries = self._stack.get(prefix, {}).get(key)
        return len(entries) if entries else None

    @check_for_prefix_and_key
    def process(self, prefix: Any, key: Any, caller: Any, *args: Any, **keywords: Any) -> bool:
        """Call the callbacks under `(prefix, key)` that accept `caller` and `args` with
        `*args, **keywords`; return False when nothing is filed there.

        The one-shot callbacks about to run are forgotten before any runs. An exception from a
        callback is logged and propagates (the callbacks after it are not called).
        """
        entries = self._stack.get(prefix, {}).get(key)
        if not entries:
            return False
        due = [entry for entry in entries if self._accepts(entry, caller, args)]
        for entry in due:
            if entry[self.ONE_SHOT]:
                entry[self.CALLS] -= 1
                if entry[self.CALLS] <= 0:
                    self._discard(prefix, key, entry)
        for entry in due:
            try:
                entry[self.CALLBACK](*args, **keywords)
            except Exception:
                LOGGER.exception(
                    'Callback %r for "%s:%s" raised', entry[self.CALLBACK], prefix, key
                )
                raise
        return True

    def _accepts(self, entry: dict[str, Any], caller: Any, args: tuple[Any, ...]) -> bool:
        """True when registration `entry` is for this caller and these arguments."""
        if entry[self.ONLY_CALLER] is not None and entry[self.ONLY_CALLER] != caller:
            return False
        expected = entry[self.ARGUMENTS]
        return not expected or bool(args and _arguments_match(args[0], expected))

    @check_for_prefix_and_key
    def remove(
        self,
        prefix: Any,
        key: Any,
        callback_value: Optional[Callable[..., Any]] = None,
        arguments: Optional[dict[str, Any]] = None,
    ) -> bool:
        """Forget the registration of `callback_value` with exactly these `arguments` under
        `(prefix, key)`; False when nothing is filed there."""
        entries = self._stack.get(prefix, {}).get(key)
        if not entries:
            return False
        for entry in list(entries):
            if entry[self.CALLBACK] == callback_value and entry[self.ARGUMENTS] == arguments:
                self._discard(prefix, key, entry)
        return True

    @check_for_prefix_and_key
    def remove_all(self, prefix: Any, key: Any) -> None:
        """Forget every callback under `(prefix, key)`."""
        keys = self._stack.get(prefix)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._stack[prefix]

    def _discard(self, prefix: str, key: str, entry: dict[str, Any]) -> None:
        """Remove one registration, and its key and prefix once they are empty."""
        entries = self._stack[prefix][key]
        entries.remove(entry)
        if not entries:
            self.remove_all(prefix, key)
