"""A pika 1.x blocking publisher with publisher confirms (type-checked only, never run)."""

# ruff: noqa: TC001  (user programs import pika classes at runtime, as users do)

from __future__ import annotations

import json
import logging

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

LOGGER = logging.getLogger(__name__)


def connect(url: str) -> pika.BlockingConnection:
    """Connect from an AMQP URL, with a per-call RPC bound on top of the URL's settings."""
    params = pika.URLParameters(url)
    params.heartbeat = 30
    return pika.BlockingConnection(params, rpc_timeout=10.0)


def setup(channel: BlockingChannel, exchange: str) -> str:
    channel.exchange_declare(exchange=exchange, exchange_type='topic', durable=True)
    channel.exchange_declare(exchange=exchange + '.alt', exchange_type=pika.ExchangeType.fanout)
    declared = channel.queue_declare(queue='', exclusive=True)
    queue = declared.method.queue  # a str: reply fields are typed as the broker sends them
    channel.queue_bind(queue=queue, exchange=exchange, routing_key='orders.*')
    channel.confirm_delivery()
    return queue


def publish(channel: BlockingChannel, exchange: str, order: dict[str, object]) -> bool:
    """Publish one order persistently; False if the broker could not route or refused it."""
    properties = pika.BasicProperties(
        content_type='application/json',
        headers={'source': 'typing-fixture', 'attempt': 1},
        delivery_mode=pika.DeliveryMode.Persistent,
        correlation_id=str(order.get('id', '')),
    )
    try:
        channel.basic_publish(
            exchange=exchange,
            routing_key='orders.new',
            body=json.dumps(order).encode(),
            properties=properties,
            mandatory=True,
        )
    except pika.exceptions.UnroutableError as error:
        LOGGER.warning('returned: %d message(s)', len(error.messages))
        return False
    except pika.exceptions.NackError as error:
        LOGGER.warning('nacked: %r', error.messages)
        return False
    return True


def main() -> None:
    try:
        connection = connect('amqp://guest:guest@localhost:5672/%2F?heartbeat=30')
    except pika.exceptions.ProbableAuthenticationError:
        LOGGER.error('bad credentials')
        return
    except pika.exceptions.AMQPConnectionError as error:
        LOGGER.error('cannot connect: %r', error)
        return
    with connection:
        channel = connection.channel()
        setup(channel, 'orders')
        delivered = publish(channel, 'orders', {'id': 7, 'sku': 'x-1'})
        channel.basic_publish('', 'plain-queue', 'text body is encoded as UTF-8')
        print('delivered' if delivered else 'not delivered')
        connection.process_data_events(time_limit=0)
        connection.sleep(0.1)


if __name__ == '__main__':
    main()
