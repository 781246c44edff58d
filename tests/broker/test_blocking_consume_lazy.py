"""``BlockingChannel.consume()`` is lazy, as in pika 1.x: Basic.Consume goes out at the first
``next()``, so a missing queue's 404 comes out of ``next()``.

Each behaviour below was compared with pika 1.4.4 running the same steps against the broker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pika import exceptions

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

pytestmark = pytest.mark.broker


def _consumers(conn: BlockingConnection, queue: str) -> int:
    """How many consumers the broker has on ``queue``."""
    channel = conn.channel()
    try:
        return int(channel.queue_declare(queue, passive=True).method.consumer_count)
    finally:
        channel.close()


def test_missing_queue_raises_from_next_and_the_redeclare_pattern_works(
    conn: BlockingConnection, unique_name: str
) -> None:
    channel = conn.channel()
    generator = channel.consume(unique_name)  # nothing sent yet: no error here
    assert channel.is_open and channel.consumer_tags == []
    with pytest.raises(exceptions.ChannelClosedByBroker) as info:
        next(generator)
    assert info.value.reply_code == 404
    assert channel.is_closed and channel.consumer_tags == []
    with pytest.raises(StopIteration):
        next(generator)  # the generator ended with its error, as a Python generator does

    # The usual recovery: declare the vanished queue on a new channel and consume again.
    channel = conn.channel()
    channel.queue_declare(unique_name, auto_delete=True)
    channel.basic_publish('', unique_name, b'back')
    method, _properties, body = next(channel.consume(unique_name, inactivity_timeout=5))
    assert body == b'back'
    channel.basic_ack(method.delivery_tag)
    channel.cancel()


def test_a_generator_never_advanced_starts_no_consumer(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    generator = channel.consume(queue, inactivity_timeout=0.1)
    conn.process_data_events(0.1)
    assert _consumers(conn, queue) == 0
    assert channel.consumer_tags == [] and channel.get_waiting_message_count() == 0
    assert channel.cancel() == 0  # nothing to cancel yet
    assert next(generator) == (None, None, None)  # starts it now
    assert _consumers(conn, queue) == 1 and len(channel.consumer_tags) == 1
    assert channel.cancel() == 0
    assert _consumers(conn, queue) == 0
    with pytest.raises(StopIteration):
        next(generator)


def test_two_generators_with_the_same_arguments_share_one_consumer(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    channel.basic_publish('', queue, b'm1')
    channel.basic_publish('', queue, b'm2')
    first = channel.consume(queue, inactivity_timeout=5)
    second = channel.consume(queue, inactivity_timeout=5)
    assert first is not second
    assert next(first)[2] == b'm1'
    assert next(second)[2] == b'm2'  # resumes the running consumer
    assert _consumers(conn, queue) == 1 and len(channel.consumer_tags) == 1
    assert channel.cancel() == 0
    assert list(first) == [] and list(second) == []


def test_the_first_generator_advanced_decides_the_arguments(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    channel.basic_publish('', queue, b'm1')
    manual = channel.consume(queue, inactivity_timeout=5)
    automatic = channel.consume(queue, auto_ack=True, inactivity_timeout=5)  # no error yet
    assert next(automatic)[2] == b'm1'
    with pytest.raises(ValueError):
        next(manual)
    with pytest.raises(StopIteration):
        next(manual)
    assert channel.is_open and _consumers(conn, queue) == 1
    channel.cancel()


def test_a_cancelled_generator_stays_ended_after_a_new_consume(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    old = channel.consume(queue, inactivity_timeout=0.1)
    assert next(old) == (None, None, None)
    channel.cancel()
    new = channel.consume(queue, inactivity_timeout=0.1)
    assert next(new) == (None, None, None)
    with pytest.raises(StopIteration):
        next(old)
    channel.cancel()


def test_argument_errors_and_a_closed_channel_raise_from_next(
    conn: BlockingConnection, queue: str
) -> None:
    channel = conn.channel()
    bad_queue = channel.consume(123)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        next(bad_queue)
    bad_timeout = channel.consume(queue, inactivity_timeout=-1)
    with pytest.raises(ValueError, match='inactivity_timeout must be >= 0'):
        next(bad_timeout)
    for value in ('5', float('nan')):
        with pytest.raises((TypeError, ValueError), match='inactivity_timeout must be'):
            next(channel.consume(queue, inactivity_timeout=value))  # type: ignore[call-overload]
    assert channel.is_open and channel.consumer_tags == []
    assert _consumers(conn, queue) == 0

    closed: BlockingChannel = conn.channel()
    closed.close()
    generator = closed.consume(queue)
    with pytest.raises(exceptions.ChannelWrongStateError):
        next(generator)


def test_consumer_tag_and_which_arguments_must_match(conn: BlockingConnection, queue: str) -> None:
    channel = conn.channel()
    generator = channel.consume(queue, inactivity_timeout=0.1, consumer_tag='my-tag')
    assert next(generator) == (None, None, None)
    assert channel.consumer_tags == ['my-tag']
    # As in pika 1.x, only (queue, auto_ack, exclusive) must match to resume the consumer.
    other_tag = channel.consume(queue, inactivity_timeout=0.1, consumer_tag='other')
    assert next(other_tag) == (None, None, None)
    other_arguments = channel.consume(queue, arguments={'x-priority': 3}, inactivity_timeout=0.1)
    assert next(other_arguments) == (None, None, None)
    assert channel.consumer_tags == ['my-tag'] and _consumers(conn, queue) == 1
    with pytest.raises(exceptions.DuplicateConsumerTag):
        channel.basic_consume(queue, lambda *message: None, consumer_tag='my-tag')
    channel.cancel()

    channel.basic_consume(queue, lambda *message: None, consumer_tag='taken')
    with pytest.raises(exceptions.DuplicateConsumerTag):
        next(channel.consume(queue, consumer_tag='taken'))
    with pytest.raises(TypeError):
        next(channel.consume(queue, consumer_tag=5))  # type: ignore[call-overload]
    assert channel.consumer_tags == ['taken'] and channel.is_open
