"""The pika 0.9 documentation's BlockingConnection examples, run as written.

The two programs below are the seed's "Publishing Example" and "Consuming Example" verbatim,
except that ``print`` is a function (Python 3). One test runs them exactly as written, on the
seed's queue ``"test"``, and restores that queue's message count afterwards; the other
substitutes a unique queue name so it can also check what is left in the queue.
"""

from __future__ import annotations

from typing import Any

import pytest

from pika.adapters.blocking_connection import BlockingConnection

pytestmark = pytest.mark.broker

PUBLISHING_EXAMPLE = """
from pika.adapters import BlockingConnection
from pika import BasicProperties
# Open a connection to RabbitMQ on localhost using all default parameters
connection = BlockingConnection()
# Open the channel
channel = connection.channel()
# Declare the queue
channel.queue_declare(queue="test", durable=True, exclusive=False, auto_delete=False)
# Send a message
channel.basic_publish(exchange='',
                      routing_key="test",
                      body="Hello World!",
                      properties=BasicProperties(content_type="text/plain",
                                                 delivery_mode=1))
"""

CONSUMING_EXAMPLE = """
from pika.adapters import BlockingConnection
# Open a connection to RabbitMQ on localhost using all default parameters
connection = BlockingConnection()
# Open the channel
channel = connection.channel()
# Declare the queue
channel.queue_declare(queue="test", durable=True,
                      exclusive=False, auto_delete=False)
# Start our counter at 0
messages = 0
# Method that will receive our messages and stop consuming after 10
def _on_message(channel, method, header, body):
    print("Message:")
    print("\\t%r" % method)
    print("\\t%r" % header)
    print("\\t%r" % body)
    # Acknowledge message receipt
    channel.basic_ack(method.delivery_tag)
    # We've received 10 messages, stop consuming
    global messages
    messages += 1
    if messages > 10:
        channel.stop_consuming()
# Setup up our consumer callback
channel.basic_consume(_on_message, queue="test")
# This is blocking until channel.stop_consuming is called and will allow us to receive messages
channel.start_consuming()
"""


def _run(source: str, queue: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {'__name__': '__seed_example__'}
    exec(compile(source.replace('"test"', repr(queue)), '<seed example>', 'exec'), namespace)
    return namespace


def _ready_count(queue: str) -> int:
    with BlockingConnection() as connection:
        channel = connection.channel()
        return int(channel.queue_declare(queue, passive=True).method.message_count)


def test_publishing_then_consuming_example(unique_name: str, capsys: Any) -> None:
    published = 15
    try:
        for _ in range(published):
            namespace = _run(PUBLISHING_EXAMPLE, unique_name)
            namespace['connection'].close()
        assert _ready_count(unique_name) == published

        namespace = _run(CONSUMING_EXAMPLE, unique_name)
        assert namespace['messages'] == 11  # "stop consuming after 10": the 11th stops it
        assert namespace['channel'].consumer_tags == []
        namespace['connection'].close()
        output = capsys.readouterr().out
        assert output.count('Message:') == 11
        assert output.count("b'Hello World!'") == 11
        assert 'content_type=text/plain' in output
        # Messages delivered but not dispatched when consuming stopped went back to the queue.
        assert _ready_count(unique_name) == published - 11
    finally:
        with BlockingConnection() as connection:
            connection.channel().queue_delete(unique_name)


def _drain(queue: str, count: int) -> None:
    with BlockingConnection() as connection:
        channel = connection.channel()
        for _ in range(count):
            method, _props, _body = channel.basic_get(queue, auto_ack=True)
            assert method, f'queue {queue!r} ran dry while restoring it'


def _exec_verbatim(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {'__name__': '__seed_example__'}
    exec(compile(source, '<seed example>', 'exec'), namespace)
    return namespace


def test_examples_verbatim_on_the_seeds_queue_named_test(capsys: Any) -> None:
    """The same two programs with no substitution at all: queue "test", default parameters.

    The seed's queue is shared with the continuation-passing-style test, so this test leaves it
    holding as many messages as it found.
    """
    _exec_verbatim(PUBLISHING_EXAMPLE)['connection'].close()  # also declares "test"
    found = _ready_count('test') - 1
    try:
        for _ in range(14):
            _exec_verbatim(PUBLISHING_EXAMPLE)['connection'].close()
        namespace = _exec_verbatim(CONSUMING_EXAMPLE)
        assert namespace['messages'] == 11
        namespace['connection'].close()
        assert capsys.readouterr().out.count('Message:') == 11
        assert _ready_count('test') == found + 15 - 11
    finally:
        _drain('test', _ready_count('test') - found)
    assert _ready_count('test') == found
