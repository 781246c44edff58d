"""BlockingChannel.basic_ack queues the core's packed Basic.Ack (``ChannelCore.ack``).

The blocking front-end used to build a ``spec.Basic.Ack`` and encode it generically for every
message; it now has the core pack the frame in one struct call, as ``Channel.basic_ack`` does.
These tests hold the shortcut to the protocol: every ack reaches the peer, in order, with its
tag and ``multiple`` bit, acks from callbacks and from outside them alike, and bad arguments
raise before anything is queued. A scripted fake broker (no RabbitMQ) reads what the client
sends.
"""

from __future__ import annotations

from typing import Any

import pytest

import pika
from pika import spec
from pika.adapters.blocking_connection import BlockingConnection
from tests.helpers import server_frames as sf
from tests.helpers.hostile_broker import Expect, HostileBroker, Send, handshake

BODY = b'x' * 100
#: process_data_events turns allowed before the deliveries must all have been dispatched (a
#: bound so a broken client fails the test instead of hanging it; no timing is asserted).
MAX_TURNS = 200


def _script(acks: list[tuple[int, bool]], expected: int) -> list[Any]:
    def record(method: Any) -> bool:
        acks.append((method.delivery_tag, method.multiple))
        return True

    deliveries = b''.join(sf.deliver(1, BODY, tag) for tag in (1, 2, 3))
    return [
        *handshake(channels=(1,), consume=1),
        Send(deliveries),
        *[Expect(spec.Basic.Ack, check=record) for _ in range(expected)],
        Expect(spec.Basic.Cancel),
        Send(sf.method(1, spec.Basic.CancelOk('ctag1'))),
        Expect(spec.Channel.Close),
        Send(sf.channel_close_ok(1)),
        Expect(spec.Connection.Close),
        Send(sf.connection_close_ok()),
    ]


def _connect(broker: HostileBroker) -> BlockingConnection:
    params = pika.ConnectionParameters(broker.host, broker.port, heartbeat=0)
    return BlockingConnection(params, rpc_timeout=10)


def test_acks_from_callbacks_and_outside_reach_the_broker_in_order() -> None:
    acks: list[tuple[int, bool]] = []
    with HostileBroker(_script(acks, expected=4)) as broker:
        conn = _connect(broker)
        channel = conn.channel()
        seen: list[int] = []

        def on_message(ch: Any, method: Any, _properties: Any, body: bytes) -> None:
            assert body == BODY
            seen.append(method.delivery_tag)
            ch.basic_ack(method.delivery_tag)  # batched: sent after this read's dispatch

        channel.basic_consume('q', on_message, consumer_tag='ctag1')
        for _ in range(MAX_TURNS):
            if len(seen) == 3:
                break
            conn.process_data_events(time_limit=0.05)
        assert seen == [1, 2, 3]
        channel.basic_ack(3, multiple=True)  # outside a callback: written at once
        conn.close()
        broker.close()
        assert broker.failures == []
    assert acks == [(1, False), (2, False), (3, False), (3, True)]


def test_bad_ack_arguments_raise_and_queue_nothing() -> None:
    acks: list[tuple[int, bool]] = []
    with HostileBroker(_script(acks, expected=1)) as broker:
        conn = _connect(broker)
        channel = conn.channel()
        channel.basic_consume('q', lambda *args: None, consumer_tag='ctag1')
        with pytest.raises(TypeError):
            channel.basic_ack(1, multiple='yes')  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            channel.basic_ack('1')  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            channel.basic_ack(-1)
        with pytest.raises(Exception):  # noqa: B017  (whatever the generic encoder raises)
            channel.basic_ack(2**64)
        channel.basic_ack(2)  # the first ack the broker sees
        conn.close()
        broker.close()
        assert broker.failures == []
    assert acks == [(2, False)]
