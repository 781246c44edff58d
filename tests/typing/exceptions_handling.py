"""Catching pika's exceptions and reading their attributes (type-checked only, never run)."""

from __future__ import annotations

import logging
import time

import pika
import pika.exceptions
from pika.exceptions import (
    AMQPChannelError,
    AMQPConnectionError,
    ChannelClosedByBroker,
    ConnectionClosedByBroker,
    OperationTimeout,
)

LOGGER = logging.getLogger(__name__)


def reconnecting_consumer(params: pika.ConnectionParameters, queue: str) -> None:
    """The reconnect loop from pika 1.x's documentation, with typed error handling."""
    while True:
        try:
            connection = pika.BlockingConnection(params)
            channel = connection.channel()
            channel.basic_consume(queue, lambda ch, method, props, body: None)
            channel.start_consuming()
        except ConnectionClosedByBroker as error:
            code: int = error.reply_code
            text: str = error.reply_text
            LOGGER.warning('broker closed the connection: %d %s', code, text)
            if code == 320:
                continue
            break
        except ChannelClosedByBroker as error:
            LOGGER.error('channel closed: %d %s', error.reply_code, error.reply_text)
            break
        except AMQPChannelError as error:
            LOGGER.error('channel error: %r', error)
            break
        except AMQPConnectionError as error:
            LOGGER.info('connection lost (%r); retrying', error)
            time.sleep(1)
            continue


def passive_declare(channel: pika.adapters.blocking_connection.BlockingChannel, queue: str) -> int:
    """Return the queue's depth, or -1 if it does not exist (404 closes the channel)."""
    try:
        ok = channel.queue_declare(queue, passive=True, timeout=5.0)
    except pika.exceptions.ChannelClosedByBroker as error:
        if error.reply_code == 404:
            return -1
        raise
    except OperationTimeout:
        return -1
    return ok.method.message_count


def classify(error: Exception) -> str:
    if isinstance(error, pika.exceptions.ProbableAccessDeniedError):
        return 'vhost access denied'
    if isinstance(error, pika.exceptions.StreamLostError):
        return 'network'
    if isinstance(error, (pika.exceptions.ConnectionClosed, pika.exceptions.ChannelClosed)):
        return f'closed {error.reply_code}'
    if isinstance(error, pika.exceptions.UnroutableError):
        return f'{len(error.messages)} returned'
    if isinstance(error, pika.exceptions.AMQPError):
        return 'amqp'
    return 'other'
