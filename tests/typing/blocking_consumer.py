"""pika 1.x blocking consumers: callback, consume() generator, basic_get (type-checked only)."""

# ruff: noqa: TC001  (user programs import pika classes at runtime, as users do)

from __future__ import annotations

import functools

import pika
from pika import spec
from pika.adapters.blocking_connection import BlockingChannel


def on_message(
    ch: BlockingChannel,
    method: spec.Basic.Deliver,
    properties: spec.BasicProperties,
    body: bytes,
    *,
    prefix: str = '',
) -> None:
    """A fully typed 1.x message callback; it acks what it handled."""
    headers = properties.headers or {}
    print(prefix, method.routing_key, headers.get('source'), body.decode())
    if method.delivery_tag is not None:
        ch.basic_ack(delivery_tag=method.delivery_tag)
    if properties.reply_to:
        ch.basic_publish(
            '',
            properties.reply_to,
            body,
            pika.BasicProperties(correlation_id=properties.correlation_id),
        )


def consume_with_callback(channel: BlockingChannel, queue: str) -> None:
    channel.basic_qos(prefetch_count=10)
    tag = channel.basic_consume(queue, on_message)
    other: str = channel.basic_consume(
        queue=queue, on_message_callback=functools.partial(on_message, prefix='>'), auto_ack=False
    )
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        channel.stop_consuming(tag)
        channel.basic_cancel(other)


def consume_with_generator(channel: BlockingChannel, queue: str) -> int:
    count = 0
    for method, _properties, body in channel.consume(queue, inactivity_timeout=1.0):
        if method is None:
            break
        count += len(body or b'')
        channel.basic_ack(method.delivery_tag)
    for deliver, props, payload in channel.consume(queue):
        print(deliver.delivery_tag, props.content_type, payload.decode())
        channel.basic_nack(deliver.delivery_tag, requeue=False)
        break
    requeued: int = channel.cancel()
    return count + requeued


def drain(channel: BlockingChannel, queue: str) -> list[bytes]:
    bodies: list[bytes] = []
    while True:
        method, properties, body = channel.basic_get(queue=queue, auto_ack=False)
        if not method:
            break
        assert body is not None and properties is not None
        bodies.append(body)
        channel.basic_reject(method.delivery_tag, requeue=True)
    return bodies


def get_one(channel: BlockingChannel, queue: str) -> bytes | None:
    """pika 1.x's empty-queue test: the method is None (1.x form: queue positional)."""
    method, _properties, body = channel.basic_get(queue, auto_ack=True)
    if method is None:
        return None
    print(method.delivery_tag, method.message_count)
    return body


def main() -> None:
    connection = pika.BlockingConnection(pika.ConnectionParameters('localhost'))
    channel = connection.channel()
    declared = channel.queue_declare('work', durable=True)
    print('waiting:', declared.method.message_count, declared.method.consumer_count)
    server_named = channel.queue_declare('', exclusive=True).method.queue  # typed str | None
    channel.basic_get(server_named, auto_ack=True)
    channel.consume(server_named, auto_ack=True)
    consume_with_generator(channel, 'work')
    drain(channel, 'work')
    get_one(channel, 'work')
    consume_with_callback(channel, 'work')
    channel.queue_purge('work')
    channel.queue_delete(queue='work', if_unused=False)
    connection.close()
