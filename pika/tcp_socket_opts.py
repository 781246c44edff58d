"""pika 1.x's `tcp_options` helpers (`pika.tcp_socket_opts`), for code that configures its own
sockets the way pika does.

The connection adapters apply `ConnectionParameters.tcp_options` themselves
(`pika.adapters._io.transport.apply_socket_options`); these functions use the same option table.
"""

from __future__ import annotations

import logging
import socket
from typing import Optional

from pika.adapters._io import transport as _transport

__all__ = ['set_sock_opts', 'socket_requires_keepalive']

LOGGER = logging.getLogger(__name__)

#: the `tcp_options` keys that only take effect with SO_KEEPALIVE on
KEEPALIVE_OPTIONS = ('TCP_KEEPIDLE', 'TCP_KEEPINTVL', 'TCP_KEEPCNT')


def socket_requires_keepalive(tcp_options: dict[str, int]) -> bool:
    """True when `tcp_options` holds a keep-alive option (so SO_KEEPALIVE must be on)."""
    return any(key in tcp_options for key in KEEPALIVE_OPTIONS)


def set_sock_opts(tcp_options: Optional[dict[str, int]], sock: socket.socket) -> None:
    """Apply `tcp_options` (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`,
    `TCP_USER_TIMEOUT`) to `sock`, turning SO_KEEPALIVE on when a keep-alive option is given.
    Keys this platform lacks (or that are unknown) are skipped with a debug log.

    :raises TypeError: for a value `setsockopt` does not accept.
    """
    if not tcp_options:
        return
    if socket_requires_keepalive(tcp_options):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for key, value in tcp_options.items():
        option = _transport.tcp_option_constant(key)
        if option is None:
            LOGGER.debug('tcp_options key %r is not supported here; skipped', key)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, option, value)
