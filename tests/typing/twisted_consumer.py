"""pika 1.x's Twisted style: a protocol, Deferreds and inlineCallbacks (type-checked only)."""

# ruff: noqa: TC001, TC002, TC003  (user programs import at runtime, as users do)

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IReactorTCP

import pika
from pika import spec
from pika.adapters import twisted_connection
from pika.adapters.twisted_connection import ClosableDeferredQueue, TwistedChannel


@defer.inlineCallbacks
def run(connection: twisted_connection.TwistedProtocolConnection) -> Generator[Any, Any, None]:
    channel: TwistedChannel = yield connection.channel()
    yield channel.exchange_declare(exchange='topic_link', exchange_type='topic')
    yield channel.queue_declare(queue='hello', auto_delete=False, exclusive=False)
    yield channel.queue_bind(exchange='topic_link', queue='hello', routing_key='hello.world')
    yield channel.basic_qos(prefetch_count=1)
    queue_object: ClosableDeferredQueue
    consumer_tag: str
    queue_object, consumer_tag = yield channel.basic_consume(queue='hello', auto_ack=False)
    while True:
        ch, method, properties, body = yield queue_object.get()
        assert isinstance(method, spec.Basic.Deliver)
        if body:
            print(consumer_tag, properties, body)
            yield ch.basic_ack(delivery_tag=method.delivery_tag)


def main(reactor: IReactorTCP) -> defer.Deferred[Any]:
    """Connect with an endpoint; run this under ``twisted.internet.task.react``."""
    parameters = pika.ConnectionParameters(credentials=pika.PlainCredentials('guest', 'guest'))
    endpoint = TCP4ClientEndpoint(reactor, 'localhost', 5672)
    proto = twisted_connection.TwistedProtocolConnection(parameters)
    d: defer.Deferred[Any] = connectProtocol(endpoint, proto)
    d.addCallback(lambda connected: connected.ready)
    d.addCallback(run)
    return d
