"""Connection adapters: one per event loop, all sharing the sans-I/O core.

`SelectConnection`, `BaseConnection` and `BlockingConnection` need only the standard library and
are imported here. The others are imported on first access (module `__getattr__`), so that
`import pika.adapters` works without Tornado, Twisted or gevent installed; accessing one whose
dependency (or module) is missing raises ImportError naming it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pika.adapters.base_connection import BaseConnection
from pika.adapters.blocking_connection import BlockingConnection
from pika.adapters.select_connection import IOLoop, SelectConnection

_LAZY = {
    'AsyncoreConnection': 'pika.adapters.asyncore_connection',
    'AsyncioConnection': 'pika.adapters.asyncio_connection',
    'GeventConnection': 'pika.adapters.gevent_connection',
    'TornadoConnection': 'pika.adapters.tornado_connection',
    'TwistedProtocolConnection': 'pika.adapters.twisted_connection',
}

#: submodules pika 1.x imports with the package (stdlib only): reachable as attributes of
#: `pika.adapters` after a bare `import pika`, imported on first access here
_LAZY_MODULES = ('asyncio_connection',)

__all__ = [
    'AsyncioConnection',
    'AsyncoreConnection',
    'BaseConnection',
    'BlockingConnection',
    'GeventConnection',
    'IOLoop',
    'SelectConnection',
    'TornadoConnection',
    'TwistedProtocolConnection',
]


if TYPE_CHECKING:  # type checkers see the lazy names with their real types
    from pika.adapters.asyncio_connection import AsyncioConnection as AsyncioConnection
    from pika.adapters.asyncore_connection import AsyncoreConnection as AsyncoreConnection
    from pika.adapters.gevent_connection import GeventConnection as GeventConnection
    from pika.adapters.tornado_connection import TornadoConnection as TornadoConnection
    from pika.adapters.twisted_connection import (
        TwistedProtocolConnection as TwistedProtocolConnection,
    )


def __dir__() -> list[str]:
    """The module's names, the lazily imported adapters included."""
    return sorted({*globals(), *_LAZY, *_LAZY_MODULES})


def __getattr__(name: str) -> Any:
    """Import an optional adapter (or a `_LAZY_MODULES` submodule) on first access."""
    if name in _LAZY_MODULES:
        return importlib.import_module(f'{__name__}.{name}')  # binds it here as a side effect
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f'{name} is unavailable: {exc}') from exc
    value = getattr(module, name)
    globals()[name] = value
    return value
