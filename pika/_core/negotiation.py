"""Connection.Tune / Connection.StartOk arithmetic: limits, heartbeat, client properties.

Pure functions used by :class:`pika._core.channel_zero.ChannelZero` during the handshake: no
state, so each rule is tested on its own.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

from pika._wire.constants import SHORT_STRING_MAX

if TYPE_CHECKING:
    from pika._core.settings import CoreSettings, HeartbeatSetting

__all__ = [
    'CAPABILITIES',
    'MAX_HEARTBEAT',
    'client_properties',
    'negotiate_heartbeat',
    'negotiate_limit',
    'short_text',
]

CAPABILITIES = {
    'authentication_failure_close': True,
    'basic.nack': True,
    'connection.blocked': True,
    'consumer_cancel_notify': True,
    'exchange_exchange_bindings': True,
    'per_consumer_qos': True,
    'publisher_confirms': True,
}


def negotiate_limit(client: int, server: int) -> int:
    """channel_max/frame_max rule: the smaller non-zero value; 0 means "no limit"."""
    if client == 0 or server == 0:
        return max(client, server)
    return min(client, server)


#: Largest heartbeat interval Connection.TuneOk can carry (a 16-bit field).
MAX_HEARTBEAT = 0xFFFF


def negotiate_heartbeat(setting: HeartbeatSetting, server: int, owner: Any = None) -> int:
    """Heartbeat rule (pika 1.x): a client value wins when set (0 = off); None takes the server's.

    ``True``/``False`` are pika 0.9's switch: the server's interval, or off. A callable is
    asked ``setting(owner, server)`` and must return an int >= 0. The result is capped at
    :data:`MAX_HEARTBEAT`, the most Connection.TuneOk can carry (pika 1.x accepts larger
    settings).

    :raises TypeError/ValueError: the callable returned something unusable
    """
    if setting is None or setting is True:
        return server
    if callable(setting):
        value = setting(owner, server)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f'heartbeat callable must return int, got {value!r}')
        if value < 0:
            raise ValueError(f'heartbeat callable returned a negative value {value!r}')
        return min(value, MAX_HEARTBEAT)
    return min(int(setting), MAX_HEARTBEAT)


def short_text(text: str) -> str:
    """Cut ``text`` so it fits an AMQP short string (255 bytes of UTF-8)."""
    raw = text.encode('utf-8')
    if len(raw) <= SHORT_STRING_MAX:
        return text
    return raw[:SHORT_STRING_MAX].decode('utf-8', 'ignore')


PRODUCT = 'Pika Python Client Library'
"""The ``product`` client property, pika 1.x's value (as the broker's management UI shows it)."""


def client_properties(params: CoreSettings) -> dict[str, Any]:
    """Client properties for Connection.StartOk: ours, updated with ``params.client_properties``."""
    import pika  # lazy: pika/__init__ imports the adapters, which import us

    props: dict[str, Any] = {
        'product': PRODUCT,
        'platform': f'Python {platform.python_version()}',
        'version': getattr(pika, '__version__', '0'),
        'information': 'See https://pika.readthedocs.io',
        'capabilities': dict(CAPABILITIES),
    }
    props.update(params.client_properties or {})
    return props
