"""Acks a callback issues are batched until its batch of callbacks ends, yet keep their place:
every later write of the channel (a transaction commit, a nack, a close) and a connection close
send them first, so none is lost or reordered."""

from __future__ import annotations

from typing import Any

import pytest

from pika import spec
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

pytestmark = pytest.mark.broker


def _ready_and_unacked(broker_params: Any, queue: str) -> int:
    """Messages still in ``queue`` (ready; a closed consumer's unacked ones are requeued)."""
    conn = BlockingConnection(broker_params)
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def _publish(channel: BlockingChannel, queue: str, count: int) -> None:
    for number in range(count):
        channel.basic_publish('', queue, str(number))


def test_acks_in_a_callback_go_before_the_tx_commit_it_issues(
    conn: BlockingConnection, queue: str, broker_params: Any
) -> None:
    channel = conn.channel()
    _publish(channel, queue, 3)
    channel.tx_select()
    seen: list[int] = []

    def on_message(ch: BlockingChannel, method: Any, _props: Any, _body: bytes) -> None:
        seen.append(method.delivery_tag)
        ch.basic_ack(method.delivery_tag)
        if len(seen) == 3:
            assert isinstance(ch.tx_commit().method, spec.Tx.CommitOk)
            ch.stop_consuming()

    channel.basic_qos(prefetch_count=10)
    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    channel.close()  # an uncommitted ack would be rolled back here and the message requeued
    assert seen == [1, 2, 3]
    assert _ready_and_unacked(broker_params, queue) == 0


def test_acks_then_nack_in_a_callback_keep_their_order(
    conn: BlockingConnection, queue: str, broker_params: Any
) -> None:
    channel = conn.channel()
    _publish(channel, queue, 4)
    seen: list[int] = []

    def on_message(ch: BlockingChannel, method: Any, _props: Any, _body: bytes) -> None:
        tag = method.delivery_tag
        seen.append(tag)
        if tag == 2:
            ch.basic_nack(tag, requeue=False)  # after the batched ack of 1, before that of 3
        elif tag == 4:
            ch.basic_ack(tag, multiple=True)  # acks 3 and 4: must follow the single ack of 3
            ch.stop_consuming()
        else:
            ch.basic_ack(tag)

    channel.basic_qos(prefetch_count=10)
    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    assert channel.is_open  # a duplicate or out-of-order ack would close it (406)
    channel.close()
    assert seen == [1, 2, 3, 4]
    assert _ready_and_unacked(broker_params, queue) == 0


def test_acks_in_a_callback_are_sent_before_the_channel_closes(
    conn: BlockingConnection, queue: str, broker_params: Any
) -> None:
    channel = conn.channel()
    _publish(channel, queue, 5)
    seen: list[int] = []

    def on_message(ch: BlockingChannel, method: Any, _props: Any, _body: bytes) -> None:
        seen.append(method.delivery_tag)
        ch.basic_ack(method.delivery_tag)
        if len(seen) == 5:
            ch.close()

    channel.basic_qos(prefetch_count=10)
    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    assert seen == [1, 2, 3, 4, 5]
    assert _ready_and_unacked(broker_params, queue) == 0


def test_acks_in_a_callback_are_sent_before_the_connection_closes(
    broker_params: Any, unique_name: str
) -> None:
    conn = BlockingConnection(broker_params)
    channel = conn.channel()
    channel.queue_declare(unique_name)
    _publish(channel, unique_name, 5)
    seen: list[int] = []

    def on_message(ch: BlockingChannel, method: Any, _props: Any, _body: bytes) -> None:
        seen.append(method.delivery_tag)
        ch.basic_ack(method.delivery_tag)
        if len(seen) == 5:
            conn.close()

    channel.basic_qos(prefetch_count=10)
    channel.basic_consume(unique_name, on_message)
    channel.start_consuming()
    assert seen == [1, 2, 3, 4, 5]
    try:
        assert _ready_and_unacked(broker_params, unique_name) == 0
    finally:
        cleanup = BlockingConnection(broker_params)
        cleanup.channel().queue_delete(unique_name)
        cleanup.close()
