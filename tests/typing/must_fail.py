"""Calls our hints must reject: each `type: ignore` is needed, or mypy reports it as unused.

Under ``--warn-unused-ignores`` an ignore that suppresses nothing is an error, so if a hint
below stops catching the mistake (say, ``port`` becomes ``Any``), the typing test fails.
"""

# ruff: noqa: TC001  (user programs import pika classes at runtime, as users do)

from __future__ import annotations

import pika
import pika.aio
from pika import spec
from pika.adapters.blocking_connection import BlockingChannel
from pika.channel import Channel


def wrong_publish(channel: BlockingChannel, async_channel: Channel) -> None:
    channel.basic_publish(exchange=1, routing_key='k', body=b'')  # type: ignore[arg-type]
    channel.basic_publish('', 'k', b'', properties={'a': 1})  # type: ignore[arg-type]
    async_channel.basic_publish(exchange='', routing_key=2, body=b'')  # type: ignore[arg-type]
    channel.basic_ack(delivery_tag='1')  # type: ignore[arg-type]


def wrong_parameters() -> None:
    pika.ConnectionParameters(port='x')  # type: ignore[arg-type]
    pika.ConnectionParameters(heartbeat='often')  # type: ignore[arg-type]
    pika.URLParameters(5672)  # type: ignore[arg-type]
    pika.PlainCredentials('user', 42)  # type: ignore[arg-type]
    pika.BasicProperties(headers='x')  # type: ignore[arg-type]
    pika.BlockingConnection('amqp://localhost')  # type: ignore[arg-type]


def wrong_results(channel: BlockingChannel) -> None:
    ok = channel.queue_declare('q')
    name: int = ok.method.queue  # type: ignore[assignment]
    for method, _props, _body in channel.consume('q'):
        print(method.no_such_field)  # type: ignore[attr-defined]
    get_ok, _, _ = channel.basic_get('q')
    if get_ok:
        get_ok.message_count.upper()  # type: ignore[attr-defined]
    print(name)


def unchecked_none(channel: BlockingChannel) -> None:
    """Optional results used without a check: the hints must make the user look."""
    for _method, _props, body in channel.consume('q', inactivity_timeout=1.0):
        body.decode()  # type: ignore[union-attr]
    method, _props, body = channel.basic_get('q')
    channel.basic_ack(method.delivery_tag)  # type: ignore[union-attr]
    body.decode()  # type: ignore[union-attr]


def wrong_loops(select: pika.SelectConnection, blocking: pika.BlockingConnection) -> None:
    select.ioloop.run_forever()  # type: ignore[attr-defined]
    blocking.channel().no_such_method()  # type: ignore[attr-defined]
    pika.AsyncioConnection(custom_ioloop=select.ioloop)  # type: ignore[arg-type]


def wrong_connection_callbacks(select: pika.SelectConnection) -> None:
    def wants_blocking(connection: pika.BlockingConnection) -> None:
        print(connection)

    def wants_str(connection: pika.SelectConnection, error: str) -> None:
        print(connection, error)

    select.add_on_open_callback(wants_blocking)  # type: ignore[arg-type]
    select.add_on_close_callback(wants_str)  # type: ignore[arg-type]


def wrong_callbacks(channel: Channel) -> None:
    def takes_str(value: str) -> None:
        print(value)

    channel.add_on_flow_callback(takes_str)  # type: ignore[arg-type]
    channel.add_on_close_callback(takes_str)  # type: ignore[arg-type]
    spec.Basic.Ack(delivery_tag='1')  # type: ignore[arg-type]


async def wrong_aio_calls(ch: pika.aio.Channel) -> None:
    await ch.queue_declare(5)  # type: ignore[arg-type]
    await ch.basic_qos(prefetch_count='10')  # type: ignore[arg-type]
    ok = await ch.queue_declare('q')
    ok.method.queue + 1  # type: ignore[operator]
    msg = await ch.basic_get('q')
    print(msg.body)  # type: ignore[union-attr]
    async with ch.consume('q') as messages:
        async for message in messages:
            message.body + 'text'  # type: ignore[operator]
    ch.basic_publish('', 'q', b'never awaited')  # type: ignore[unused-coroutine]
