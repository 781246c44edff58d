"""An asynchronous SelectConnection consumer in the pika 1.x style (type-checked only)."""

# ruff: noqa: TC001  (user programs import pika classes at runtime, as users do)

from __future__ import annotations

import logging
from typing import Optional

import pika
import pika.frame
from pika import spec
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel

LOGGER = logging.getLogger(__name__)


class Consumer:
    """Open a connection and a channel, declare a queue, consume, confirm publishes."""

    def __init__(self, url: str, queue: str) -> None:
        self._url = url
        self._queue = queue
        self._connection: Optional[SelectConnection] = None
        self._channel: Optional[Channel] = None
        self._acked = 0

    def run(self) -> None:
        self._connection = pika.SelectConnection(
            pika.URLParameters(self._url),
            on_open_callback=self.on_connection_open,
            on_open_error_callback=self.on_connection_open_error,
            on_close_callback=self.on_connection_closed,
        )
        self._connection.ioloop.start()

    def on_connection_open(self, connection: SelectConnection) -> None:
        connection.channel(on_open_callback=self.on_channel_open)

    def on_connection_open_error(self, connection: SelectConnection, error: Exception) -> None:
        LOGGER.error('open failed: %r', error)
        connection.ioloop.call_later(5, connection.ioloop.stop)

    def on_connection_closed(
        self, connection: pika.connection.Connection, reason: Exception
    ) -> None:
        if isinstance(reason, pika.exceptions.ConnectionClosedByBroker):
            LOGGER.warning('broker closed: %s %s', reason.reply_code, reason.reply_text)
        self._channel = None

    def on_channel_open(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self.on_channel_closed)
        channel.add_on_cancel_callback(self.on_cancelled)
        channel.confirm_delivery(ack_nack_callback=self.on_delivery_confirmation)
        channel.queue_declare(queue=self._queue, durable=True, callback=self.on_queue_declareok)

    def on_channel_closed(self, channel: Channel, reason: Exception) -> None:
        LOGGER.warning('channel %d closed: %r', channel.channel_number, reason)
        if self._connection is not None and not self._connection.is_closing:
            self._connection.close()

    def on_cancelled(self, method_frame: pika.frame.Method) -> None:
        LOGGER.info('cancelled by the broker: %r', method_frame.method)

    def on_delivery_confirmation(self, method_frame: pika.frame.Method) -> None:
        if isinstance(method_frame.method, spec.Basic.Ack):
            self._acked += 1

    def on_queue_declareok(self, frame: pika.frame.Method) -> None:
        LOGGER.info('queue %s has %s messages', frame.method.queue, frame.method.message_count)
        assert self._channel is not None
        self._channel.basic_qos(prefetch_count=5, callback=self.on_qos_ok)

    def on_qos_ok(self, _frame: pika.frame.Method) -> None:
        assert self._channel is not None
        self._channel.basic_consume(self._queue, self.on_message)

    def on_message(
        self,
        channel: Channel,
        basic_deliver: spec.Basic.Deliver,
        properties: spec.BasicProperties,
        body: bytes,
    ) -> None:
        LOGGER.info('message %s from %s: %r', basic_deliver.delivery_tag, properties.app_id, body)
        channel.basic_ack(basic_deliver.delivery_tag)
        channel.basic_publish('', 'audit', body, properties)


if __name__ == '__main__':
    Consumer('amqp://guest:guest@localhost:5672/%2F', 'typing-fixture').run()
