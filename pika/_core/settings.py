"""What the core reads from a connection's parameters, as typing protocols.

The core imports nothing from the front-ends, so it does not name their parameter classes
(``pika.connection.ConnectionParameters``, ``URLParameters``); :class:`CoreSettings` lists the
attributes it reads, which those classes have, and :class:`SaslCredentials` the two methods it
calls on ``credentials``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Union

__all__ = ['CoreSettings', 'HeartbeatSetting', 'SaslCredentials']

#: an interval in seconds (0: off), None (take the broker's), or ``callable(owner, broker's)``
HeartbeatSetting = Union[int, None, Callable[[Any, int], int]]


class SaslCredentials(Protocol):
    """The login the handshake sends (``pika.credentials.PlainCredentials`` and
    ``ExternalCredentials``)."""

    def response_for(self, start: Any) -> tuple[Optional[str], Optional[bytes]]:
        """The SASL mechanism and response for the broker's Connection.Start, or
        ``(None, None)`` when it offers no mechanism these credentials support."""
        ...

    def erase_credentials(self) -> None:
        """Called once the response was sent (forgets the secret if asked to)."""
        ...


class CoreSettings(Protocol):
    """The connection parameters :class:`~pika._core.connection.ConnectionCore` reads."""

    @property
    def credentials(self) -> SaslCredentials: ...
    @property
    def virtual_host(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def client_properties(self) -> Optional[dict[str, Any]]: ...
    @property
    def channel_max(self) -> int: ...
    @property
    def frame_max(self) -> int: ...
    @property
    def heartbeat(self) -> HeartbeatSetting: ...
    @property
    def max_message_size(self) -> int: ...
    @property
    def blocked_connection_timeout(self) -> Optional[float]: ...
