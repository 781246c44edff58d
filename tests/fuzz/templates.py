"""Valid wire pieces the fuzz mutators start from and splice in.

Every frame here is built with ``pika.frame``'s own ``marshal()``: a method frame for every
AMQP method (the ones a broker sends on channels 0, 1 and 2 with realistic values, the rest
with their defaults), content headers with every property set, body frames, heartbeats, the
protocol header, and whole Basic.Deliver/Return/GetOk frame sets. The field values are the
boundary values a peer can announce (empty and 255-byte strings, nested tables, 0 and
2**64-1 tags), so a mutation starts from bytes the decoders accept and bends one thing.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from typing import Any

from pika import frame, spec

__all__ = ['FIELD_VALUES', 'frame_templates', 'table_templates']

#: Field-table values of every type the encoder writes, at their boundaries.
FIELD_VALUES: tuple[Any, ...] = (
    True,
    False,
    0,
    -1,
    2**31 - 1,
    -(2**31),
    2**63 - 1,
    -(2**63),
    1.5,
    float('inf'),
    decimal.Decimal('3.14'),
    decimal.Decimal('-0.000001'),
    '',
    'x' * 300,
    'é',
    b'\x00\xff',
    datetime.datetime(2026, 1, 1, 12, 0, 0),
    None,
    {},
    [],
    [1, 'a', [2, {'k': None}]],
    {'nested': {'deeper': {'deepest': [True]}}},
)

_HEADERS = {
    'x-death': [
        {'count': 1, 'reason': 'expired', 'queue': 'q', 'time': FIELD_VALUES[16], 'x': None}
    ],
    'int': 7,
    'long': 2**40,
    'float': 0.25,
    'dec': decimal.Decimal('1.5'),
    'bytes': b'\x01\x02',
    'flag': True,
}

_FULL_PROPERTIES = spec.BasicProperties(
    content_type='application/json',
    content_encoding='utf-8',
    headers=_HEADERS,
    delivery_mode=2,
    priority=9,
    correlation_id='c' * 255,
    reply_to='amq.rabbitmq.reply-to',
    expiration='60000',
    message_id='',
    timestamp=2**64 - 1,
    type='t',
    user_id='guest',
    app_id='app',
    cluster_id='cluster',
)

_SERVER_PROPERTIES = {
    'product': 'RabbitMQ',
    'version': '3.13.0',
    'capabilities': {
        'authentication_failure_close': True,
        'publisher_confirms': True,
        'consumer_cancel_notify': True,
        'basic.nack': True,
        'connection.blocked': True,
    },
}


def _method(channel: int, method: Any) -> bytes:
    return frame.Method(channel, method).marshal()


def _server_methods() -> list[bytes]:
    """The methods a broker sends, with realistic values, on the channels the core opens."""
    out = [
        _method(0, spec.Connection.Start(0, 9, _SERVER_PROPERTIES, 'PLAIN AMQPLAIN', 'en_US')),
        _method(0, spec.Connection.Tune(2047, 131072, 60)),
        _method(0, spec.Connection.Tune(0, 4096, 0)),
        _method(0, spec.Connection.OpenOk()),
        _method(0, spec.Connection.Close(320, 'CONNECTION_FORCED - shutdown', 0, 0)),
        _method(0, spec.Connection.CloseOk()),
        _method(0, spec.Connection.Blocked('low on memory')),
        _method(0, spec.Connection.Unblocked()),
        _method(0, spec.Connection.UpdateSecretOk()),
    ]
    for channel in (1, 2, 3):
        out += [
            _method(channel, spec.Channel.OpenOk()),
            _method(channel, spec.Channel.Close(404, 'NOT_FOUND - no queue', 50, 10)),
            _method(channel, spec.Channel.CloseOk()),
            _method(channel, spec.Channel.Flow(False)),
            _method(channel, spec.Basic.ConsumeOk('ctag1')),
            _method(channel, spec.Basic.CancelOk('ctag1')),
            _method(channel, spec.Basic.Cancel('ctag1')),
            _method(channel, spec.Basic.QosOk()),
            _method(channel, spec.Basic.Ack(1, False)),
            _method(channel, spec.Basic.Nack(2**64 - 1, True)),
            _method(channel, spec.Queue.DeclareOk('q', 2**32 - 1, 0)),
            _method(channel, spec.Confirm.SelectOk()),
            _method(channel, spec.Basic.GetEmpty()),
        ]
    return out


def _every_method() -> list[bytes]:
    """Every AMQP method with its default arguments (client-to-server ones included: a hostile
    peer may send anything), on channel 1."""
    out = []
    for method_class in spec.methods.values():
        try:
            out.append(_method(1, method_class()))
        except Exception:  # a method whose defaults do not encode: its realistic form is above
            continue
    return out


def _content(channel: int, body: bytes, properties: Any, frame_max: int = 131072) -> bytes:
    pieces = [frame.Header(channel, len(body), properties).marshal()]
    pieces += [
        frame.Body(channel, bytes(piece)).marshal() for piece in frame.split_body(body, frame_max)
    ]
    return b''.join(pieces)


def _content_sets() -> list[bytes]:
    """Whole content frame sets: Deliver (the fast paths' input), Return and GetOk."""
    deliver = spec.Basic.Deliver('ctag1', 1, False, 'amq.direct', 'rk')
    empty = spec.BasicProperties()
    return [
        _method(1, deliver) + _content(1, b'hello', empty),
        _method(1, deliver) + _content(1, b'', empty),
        _method(1, spec.Basic.Deliver('ctag1', 2, True, '', 'x' * 255))
        + _content(1, b'\x00' * 300, _FULL_PROPERTIES),
        _method(1, deliver) + _content(1, b'split across frames' * 20, empty, frame_max=64),
        _method(2, spec.Basic.Deliver('ctag2', 2**64 - 1, False, 'e', 'rk'))
        + _content(2, b'b', spec.BasicProperties(delivery_mode=1)),
        _method(1, spec.Basic.Return(312, 'NO_ROUTE', 'amq.direct', 'nowhere'))
        + _content(1, b'returned', empty),
        _method(1, spec.Basic.GetOk(1, False, '', 'q', 0)) + _content(1, b'got', empty),
    ]


@functools.cache
def frame_templates() -> tuple[bytes, ...]:
    """Single valid frames and frame sets, for the frame and core mutators to splice in."""
    pieces = _server_methods() + _every_method() + _content_sets()
    pieces += [
        frame.Header(1, 5, spec.BasicProperties()).marshal(),
        frame.Header(1, 2**64 - 1, _FULL_PROPERTIES).marshal(),
        frame.Body(1, b'hello').marshal(),
        frame.Body(1, b'').marshal(),
        frame.Heartbeat().marshal(),
        frame.ProtocolHeader().marshal(),
    ]
    return tuple(pieces)


@functools.cache
def table_templates() -> tuple[bytes, ...]:
    """Encoded field tables: every value type, nesting, and the headers of real messages."""
    from pika import data

    tables: list[Any] = [{}, _HEADERS, _SERVER_PROPERTIES]
    tables += [{f'k{index}': value} for index, value in enumerate(FIELD_VALUES)]
    deep: Any = {'leaf': 1}
    for _ in range(62):  # 63 levels: one below the limit
        deep = {'d': deep}
    tables.append(deep)
    out = []
    for table in tables:
        pieces: list[bytes] = []
        data.encode_table(pieces, table)
        out.append(b''.join(pieces))
    return tuple(out)
