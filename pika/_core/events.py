"""Events returned by the sans-I/O core.

``ConnectionCore.receive_data``/``tick``/``connection_lost`` return lists of these. They are plain
classes with ``__slots__`` (cheap to build on the delivery path) and carry only what a front-end
needs to call the user's callbacks. Front-ends dispatch on ``type(event)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Optional

if TYPE_CHECKING:
    from pika import spec

__all__ = [
    'ChannelClosed',
    'ChannelOpened',
    'ConnectionBlocked',
    'ConnectionClosed',
    'ConnectionInterrupted',
    'ConnectionOpenFailed',
    'ConnectionOpened',
    'ConnectionRecovered',
    'ConnectionUnblocked',
    'ConsumerCancelled',
    'DeliveryConfirmed',
    'Event',
    'FlowChanged',
    'MessageDelivered',
    'MessageReturned',
    'RpcReply',
]


class Event:
    """Base class of every core event; ``repr`` lists the fields for debugging."""

    __slots__ = ()

    def __repr__(self) -> str:
        fields = ', '.join(
            f'{name}={getattr(self, name)!r}' for name in self._fields() if name != 'body'
        )
        return f'{type(self).__name__}({fields})'

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields())

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def _fields(self) -> list[str]:
        names: list[str] = []
        for klass in type(self).__mro__:
            names.extend(getattr(klass, '__slots__', ()))
        return names


class ConnectionOpened(Event):
    """Connection.OpenOk arrived: the connection is usable."""

    __slots__ = ('server_properties',)

    def __init__(self, server_properties: dict[str, Any]) -> None:
        self.server_properties = server_properties


class ConnectionOpenFailed(Event):
    """The handshake failed; ``error`` says why (authentication, vhost, protocol, stream)."""

    __slots__ = ('error',)

    def __init__(self, error: Exception) -> None:
        self.error = error


class ConnectionClosed(Event):
    """The connection is finished; the adapter flushes pending bytes and closes the socket."""

    __slots__ = ('error',)

    def __init__(self, error: Exception) -> None:
        self.error = error


class ConnectionInterrupted(Event):
    """Recovery on: the connection was lost and the core is RECOVERING (channels kept).

    The adapter flushes what is queued (best effort), closes the socket, fails its pending
    RPCs with ``ConnectionRecovering``, then connects a new socket and calls
    ``ConnectionCore.begin_reconnect`` (docs/recovery.md). Returned again when a reconnect's
    handshake or replay fails: the adapter tries its next attempt.
    """

    __slots__ = ('error',)

    def __init__(self, error: Exception) -> None:
        self.error: Exception = error


class ConnectionRecovered(Event):
    """Recovery on: the new connection is open, channels and topology are replayed, and the
    unconfirmed confirm-mode publishes were sent again. ``params``: the node reached;
    ``renamed``: ``(old, new)`` names of server-named queues that came back renamed."""

    __slots__ = ('params', 'renamed')

    def __init__(self, params: Any, renamed: list[tuple[str, str]]) -> None:
        self.params = params
        self.renamed = renamed


class ConnectionBlocked(Event):
    """RabbitMQ raised a resource alarm (Connection.Blocked)."""

    __slots__ = ('method',)

    def __init__(self, method: spec.Connection.Blocked) -> None:
        self.method = method


class ConnectionUnblocked(Event):
    """RabbitMQ cleared its resource alarm (Connection.Unblocked)."""

    __slots__ = ('method',)

    def __init__(self, method: spec.Connection.Unblocked) -> None:
        self.method = method


class ChannelOpened(Event):
    """Channel.OpenOk arrived for ``channel_number``."""

    __slots__ = ('channel_number',)

    def __init__(self, channel_number: int) -> None:
        self.channel_number = channel_number


class ChannelClosed(Event):
    """The channel is finished; the front-end fails its pending RPCs with ``error``."""

    __slots__ = ('channel_number', 'error')

    def __init__(self, channel_number: int, error: Exception) -> None:
        self.channel_number = channel_number
        self.error = error


class RpcReply(Event):
    """Reply to the oldest outstanding RPC of the channel (``properties``/``body``: GetOk only)."""

    __slots__ = ('body', 'channel_number', 'method', 'properties')

    def __init__(
        self,
        channel_number: int,
        method: Any,
        properties: Optional[spec.BasicProperties] = None,
        body: Optional[bytes] = None,
    ) -> None:
        self.channel_number = channel_number
        self.method = method
        self.properties = properties
        self.body = body


class MessageDelivered(Event):
    """A complete Basic.Deliver message for a consumer."""

    __slots__ = ('body', 'channel_number', 'method', 'properties')

    def __init__(
        self,
        channel_number: int,
        method: spec.Basic.Deliver,
        properties: spec.BasicProperties,
        body: bytes,
    ) -> None:
        self.channel_number: int = channel_number
        self.method: spec.Basic.Deliver = method
        self.properties: spec.BasicProperties = properties
        self.body: bytes = body


class MessageReturned(Event):
    """A complete Basic.Return message (mandatory publish that could not be routed)."""

    __slots__ = ('body', 'channel_number', 'method', 'properties')

    def __init__(
        self,
        channel_number: int,
        method: spec.Basic.Return,
        properties: spec.BasicProperties,
        body: bytes,
    ) -> None:
        self.channel_number: int = channel_number
        self.method: spec.Basic.Return = method
        self.properties: spec.BasicProperties = properties
        self.body: bytes = body


class DeliveryConfirmed(Event):
    """Publisher confirm: Basic.Ack or Basic.Nack from the broker (``multiple`` not expanded)."""

    __slots__ = ('channel_number', 'method')

    def __init__(self, channel_number: int, method: Any) -> None:
        self.channel_number = channel_number
        self.method = method


class ConsumerCancelled(Event):
    """The broker cancelled a consumer (Basic.Cancel); the core already answered CancelOk."""

    __slots__ = ('channel_number', 'method')

    def __init__(self, channel_number: int, method: spec.Basic.Cancel) -> None:
        self.channel_number = channel_number
        self.method = method


class FlowChanged(Event):
    """The broker sent Channel.Flow; the core already answered FlowOk."""

    __slots__ = ('active', 'channel_number')

    def __init__(self, channel_number: int, active: bool) -> None:
        self.channel_number = channel_number
        self.active = active
