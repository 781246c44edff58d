"""Builders for the frames a broker sends, plus a parser for what the client sends.

Tests of the sans-I/O core feed these bytes to ``ConnectionCore.receive_data`` and inspect
``data_to_send()`` with :func:`parse_frames`. Frames are built with ``pika.frame``'s own
``marshal()`` (not with the core's encoder), so the core is checked against an independent
encoder.
"""

from __future__ import annotations

from typing import Any, Optional

from pika import frame, spec

FRAME_MAX = 131072
PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'


def method(channel: int, amqp_method: Any) -> bytes:
    """One method frame."""
    return frame.Method(channel, amqp_method).marshal()


def start(
    mechanisms: str = 'PLAIN AMQPLAIN',
    server_properties: Optional[dict[str, Any]] = None,
    version: tuple[int, int] = (0, 9),
) -> bytes:
    """Connection.Start as RabbitMQ sends it."""
    props = server_properties or {
        'product': 'RabbitMQ',
        'version': '3.10.8',
        'capabilities': {'authentication_failure_close': True, 'publisher_confirms': True},
    }
    return method(
        0,
        spec.Connection.Start(
            version_major=version[0],
            version_minor=version[1],
            server_properties=props,
            mechanisms=mechanisms,
            locales='en_US',
        ),
    )


def tune(channel_max: int = 2047, frame_max: int = FRAME_MAX, heartbeat: int = 60) -> bytes:
    """Connection.Tune."""
    return method(0, spec.Connection.Tune(channel_max, frame_max, heartbeat))


def open_ok() -> bytes:
    """Connection.OpenOk."""
    return method(0, spec.Connection.OpenOk())


def connection_close(code: int = 320, text: str = 'CONNECTION_FORCED - shutdown') -> bytes:
    """Broker Connection.Close."""
    return method(0, spec.Connection.Close(code, text, 0, 0))


def connection_close_ok() -> bytes:
    """Connection.CloseOk."""
    return method(0, spec.Connection.CloseOk())


def blocked(reason: str = 'low on memory') -> bytes:
    """Connection.Blocked."""
    return method(0, spec.Connection.Blocked(reason))


def unblocked() -> bytes:
    """Connection.Unblocked."""
    return method(0, spec.Connection.Unblocked())


def heartbeat() -> bytes:
    """A heartbeat frame."""
    return frame.Heartbeat().marshal()


def channel_open_ok(channel: int) -> bytes:
    """Channel.OpenOk."""
    return method(channel, spec.Channel.OpenOk())


def channel_close(channel: int, code: int = 404, text: str = 'NOT_FOUND - no queue') -> bytes:
    """Broker Channel.Close."""
    return method(channel, spec.Channel.Close(code, text, 50, 10))


def channel_close_ok(channel: int) -> bytes:
    """Channel.CloseOk."""
    return method(channel, spec.Channel.CloseOk())


def content(
    channel: int,
    body: bytes,
    properties: Optional[spec.BasicProperties] = None,
    frame_max: int = FRAME_MAX,
    body_size: Optional[int] = None,
) -> bytes:
    """Content header + body frames (``body_size`` overrides the announced size)."""
    props = properties if properties is not None else spec.BasicProperties()
    size = len(body) if body_size is None else body_size
    out = [frame.Header(channel, size, props).marshal()]
    out.extend(
        frame.Body(channel, bytes(piece)).marshal() for piece in frame.split_body(body, frame_max)
    )
    return b''.join(out)


def deliver(
    channel: int,
    body: bytes,
    delivery_tag: int = 1,
    consumer_tag: str = 'ctag1',
    properties: Optional[spec.BasicProperties] = None,
    frame_max: int = FRAME_MAX,
) -> bytes:
    """Basic.Deliver + content."""
    return method(
        channel, spec.Basic.Deliver(consumer_tag, delivery_tag, False, 'amq.direct', 'rk')
    ) + content(channel, body, properties, frame_max)


def returned(channel: int, body: bytes, properties: Optional[spec.BasicProperties] = None) -> bytes:
    """Basic.Return + content."""
    return method(channel, spec.Basic.Return(312, 'NO_ROUTE', 'amq.direct', 'nowhere')) + content(
        channel, body, properties
    )


def get_ok(channel: int, body: bytes, delivery_tag: int = 1) -> bytes:
    """Basic.GetOk + content."""
    return method(channel, spec.Basic.GetOk(delivery_tag, False, '', 'q', 0)) + content(
        channel, body
    )


def parse_frames(data: bytes) -> list[Any]:
    """Decode everything a client sent (the protocol header becomes a ProtocolHeader frame)."""
    frames = []
    offset = 0
    data = bytes(data)
    while offset < len(data):
        consumed, decoded = frame.decode_frame(data, offset)
        if decoded is None:
            raise AssertionError(f'incomplete frame at offset {offset}: {data[offset:]!r}')
        frames.append(decoded)
        offset += consumed
    return frames


def methods(data: bytes) -> list[Any]:
    """The AMQP methods among the frames a client sent, in order."""
    return [f.method for f in parse_frames(data) if isinstance(f, frame.Method)]
