"""pika 0.9-style calls: callback first, `no_ack`, `type=` (type-checked only)."""

# ruff: noqa: TC001  (user programs import pika classes at runtime, as users do)

from __future__ import annotations

import pika
import pika.frame
from pika import spec
from pika.adapters.blocking_connection import BlockingChannel
from pika.channel import Channel


def handle_delivery(
    channel: Channel, method: spec.Basic.Deliver, header: spec.BasicProperties, body: bytes
) -> None:
    print(method.delivery_tag, header.content_type, body)


def on_queue_declared(frame: pika.frame.Method) -> None:
    print('declared', frame.method.queue)


def on_channel_open(channel: Channel) -> None:
    channel.exchange_declare(exchange='e', type='fanout')
    channel.queue_declare(
        on_queue_declared, queue='test', durable=True, exclusive=False, auto_delete=False
    )
    channel.queue_bind(on_queue_declared, 'test', 'e', 'key')
    channel.basic_qos(prefetch_count=1, all_channels=False)
    channel.basic_consume(handle_delivery, queue='test', no_ack=True)
    channel.basic_get(lambda ch, m, h, b: print(m), queue='test', no_ack=False)


def on_connected(connection: pika.SelectConnection) -> None:
    connection.channel(on_channel_open)


def blocking_09(channel: BlockingChannel) -> None:
    channel.exchange_declare(exchange='e', type='direct', durable=True)
    channel.basic_consume(handle_blocking, queue='test', no_ack=True)
    method, header, body = channel.basic_get(queue='test', no_ack=True)
    if isinstance(method, spec.Basic.GetEmpty):
        return
    print(method.delivery_tag, header, body)
    channel.basic_publish(
        exchange='e',
        routing_key='key',
        body='hi',
        properties=pika.BasicProperties(content_type='text/plain', delivery_mode=2),
    )


def handle_blocking(
    channel: BlockingChannel, method: spec.Basic.Deliver, header: spec.BasicProperties, body: bytes
) -> None:
    print(body)


def main() -> None:
    parameters = pika.ConnectionParameters('localhost', heartbeat_interval=10)
    connection = pika.SelectConnection(parameters, on_connected)
    try:
        connection.ioloop.start()
    except KeyboardInterrupt:
        connection.close()
        connection.ioloop.start()
