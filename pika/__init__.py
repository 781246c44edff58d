"""pika: a pure-Python RabbitMQ (AMQP 0-9-1) client library built on a sans-I/O core.

The names below are pika's public API. As in pika 1.x, `import pika` also loads the submodules
programs reach through the package (`pika.adapters`, `pika.channel`, `pika.connection`,
`pika.exceptions`, `pika.frame`...), so `pika.exceptions.AMQPError` or
`pika.adapters.blocking_connection.BlockingChannel` work after a bare `import pika`. Adapter
classes that need optional third-party packages (Tornado, Twisted, gevent) are imported lazily,
on first access, so `import pika` works without them.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = '1.5.0.dev0'

from pika import exceptions, frame, spec
from pika._parameters import ConnectionParameters, SSLOptions, URLParameters
from pika.credentials import ExternalCredentials, PlainCredentials
from pika.delivery_mode import DeliveryMode
from pika.exchange_type import ExchangeType
from pika.spec import BasicProperties

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Names resolved on first access: name -> module. The adapters (they may need optional
# packages) and Recovery (only programs that ask for recovery load its modules).
_LAZY_ADAPTERS = {
    'Recovery': 'pika.recovery',
    'AsyncoreConnection': 'pika.adapters.asyncore_connection',
    'TornadoConnection': 'pika.adapters.tornado_connection',
    'TwistedProtocolConnection': 'pika.adapters.twisted_connection',
    'AsyncioConnection': 'pika.adapters.asyncio_connection',
    'GeventConnection': 'pika.adapters.gevent_connection',
}

__all__ = [
    'AMQPConnectionWorkflow',
    'AsyncoreConnection',
    'BaseConnection',
    'BasicProperties',
    'BlockingConnection',
    'ConnectionParameters',
    'DeliveryMode',
    'ExchangeType',
    'ExternalCredentials',
    'PlainCredentials',
    'Recovery',
    'SSLOptions',
    'SelectConnection',
    'TornadoConnection',
    'URLParameters',
    '__version__',
    'adapters',
    'callback',
    'channel',
    'connection',
    'diagnostic_utils',
    'exceptions',
    'frame',
    'spec',
    'tcp_socket_opts',
    'validators',
]


# Loaded last: these import the names above through `pika`.
from pika import (  # noqa: E402
    adapters,
    callback,
    channel,
    connection,
    diagnostic_utils,
    tcp_socket_opts,
    validators,
)
from pika.adapters import BaseConnection, BlockingConnection, SelectConnection  # noqa: E402
from pika.adapters.utils.connection_workflow import AMQPConnectionWorkflow  # noqa: E402

if TYPE_CHECKING:  # type checkers see the lazy names with their real types
    from pika.adapters.asyncio_connection import AsyncioConnection as AsyncioConnection
    from pika.adapters.asyncore_connection import AsyncoreConnection as AsyncoreConnection
    from pika.adapters.gevent_connection import GeventConnection as GeventConnection
    from pika.adapters.tornado_connection import TornadoConnection as TornadoConnection
    from pika.adapters.twisted_connection import (
        TwistedProtocolConnection as TwistedProtocolConnection,
    )
    from pika.recovery import Recovery as Recovery


def __dir__() -> list[str]:
    """The module's names, the lazily imported adapter classes included."""
    return sorted({*globals(), *_LAZY_ADAPTERS})


def __getattr__(name: str) -> Any:
    """Import adapter classes and ``Recovery`` on first use (a clear ImportError if an
    adapter's package is unavailable)."""
    module_name = _LAZY_ADAPTERS.get(name)
    if module_name is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module = importlib.import_module(module_name)
    value = getattr(module, name)
    globals()[name] = value
    return value
