"""BlockingConnection beyond the usual clients: heartbeats independent of user code, thread safety.

Shared broker only; the destructive scenarios (frozen broker) live in test_blocking_failures.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

pytestmark = pytest.mark.broker

HEARTBEAT = 2


def _params(broker_params: Any, **overrides: Any) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(host=broker_params.host, port=broker_params.port, **overrides)


def test_slow_consumer_callback_keeps_connection_and_unacked_messages(
    broker_params: Any, unique_name: str
) -> None:
    connection = BlockingConnection(_params(broker_params, heartbeat=HEARTBEAT))
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name)
        channel.basic_qos(prefetch_count=3)
        for number in range(3):
            channel.basic_publish('', unique_name, str(number))
        seen: list[tuple[bytes, bool]] = []

        def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
            if not seen:
                time.sleep(3 * HEARTBEAT)  # far longer than the broker tolerates silence
            seen.append((body, method.redelivered))
            ch.basic_ack(method.delivery_tag)
            if len(seen) == 3:
                ch.stop_consuming()

        channel.basic_consume(unique_name, on_message)
        channel.start_consuming()
        assert seen == [(b'0', False), (b'1', False), (b'2', False)]
        assert connection.is_open and channel.is_open
        declared = channel.queue_declare(unique_name, passive=True).method
        assert declared.message_count == 0 and declared.consumer_count == 0
        channel.queue_delete(unique_name)
    finally:
        if connection.is_open:
            connection.close()


def test_idle_thread_does_not_lose_the_connection(broker_params: Any, unique_name: str) -> None:
    connection = BlockingConnection(_params(broker_params, heartbeat=HEARTBEAT))
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name, auto_delete=False)
        channel.basic_publish('', unique_name, b'held')
        method, _, body = channel.basic_get(unique_name)  # unacked while we sleep
        assert body == b'held'
        time.sleep(3 * HEARTBEAT)  # no call into the connection at all
        assert connection.is_open
        channel.basic_ack(method.delivery_tag)
        declared = channel.queue_declare(unique_name, passive=True).method
        assert declared.message_count == 0
        channel.queue_delete(unique_name)
    finally:
        if connection.is_open:
            connection.close()


def test_eight_publisher_threads_and_one_consumer(broker_params: Any, unique_name: str) -> None:
    publishers, per_thread = 8, 10_000
    total = publishers * per_thread
    connection = BlockingConnection(broker_params)
    errors: list[BaseException] = []
    received: list[bytes] = []
    try:
        setup = connection.channel()
        setup.queue_declare(unique_name)
        consumer_channel = connection.channel()
        consumer_channel.basic_qos(prefetch_count=500)
        consuming = threading.Event()

        def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
            received.append(body)
            if len(received) % 50 == 0 or len(received) == total:
                ch.basic_ack(method.delivery_tag, multiple=True)
            if len(received) == total:
                ch.stop_consuming()

        def consume() -> None:
            try:
                consumer_channel.basic_consume(unique_name, on_message)
                consuming.set()
                consumer_channel.start_consuming()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                consuming.set()

        def publish(index: int) -> None:
            try:
                channel = connection.channel()
                for number in range(per_thread):
                    channel.basic_publish('', unique_name, b'%d:%d' % (index, number))
                channel.close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        consumer = threading.Thread(target=consume, name='consumer')
        consumer.start()
        assert consuming.wait(30)
        threads = [threading.Thread(target=publish, args=(i,)) for i in range(publishers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        consumer.join(300)
        assert not consumer.is_alive()
        assert errors == []
        assert len(received) == total
        assert len(set(received)) == total
        expected = {b'%d:%d' % (i, n) for i in range(publishers) for n in range(per_thread)}
        assert set(received) == expected
        for index in range(publishers):  # per-publisher order is preserved
            mine = [body for body in received if body.startswith(b'%d:' % index)]
            assert mine == [b'%d:%d' % (index, n) for n in range(per_thread)]
        assert setup.queue_declare(unique_name, passive=True).method.message_count == 0
        setup.queue_delete(unique_name)
    finally:
        if connection.is_open:
            connection.close()


def test_concurrent_rpcs_on_one_channel_get_their_own_replies(broker_params: Any) -> None:
    connection = BlockingConnection(broker_params)
    try:
        channel = connection.channel()
        results: dict[int, list[str]] = {}
        errors: list[BaseException] = []

        def declare(index: int) -> None:
            try:
                names = []
                for number in range(50):
                    name = f'pikatest.rpc.{index}.{number}.{id(results)}'
                    reply = channel.queue_declare(name, exclusive=True)
                    names.append(reply.method.queue)
                results[index] = names
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=declare, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        for index in range(6):
            assert results[index] == [f'pikatest.rpc.{index}.{n}.{id(results)}' for n in range(50)]
    finally:
        connection.close()


def test_two_threads_consume_their_own_channels(broker_params: Any, unique_name: str) -> None:
    connection = BlockingConnection(broker_params)
    try:
        queues = [unique_name + '.a', unique_name + '.b']
        channels = [connection.channel(), connection.channel()]
        seen: dict[int, list[str]] = {0: [], 1: []}
        for queue in queues:
            channels[0].queue_declare(queue, auto_delete=True)

        def make_callback(index: int) -> Any:
            def on_message(ch: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
                seen[index].append(threading.current_thread().name)
                ch.basic_ack(method.delivery_tag)
                if len(seen[index]) == 100:
                    ch.stop_consuming()

            return on_message

        for index in (0, 1):
            channels[index].basic_consume(queues[index], make_callback(index))
        threads = [
            threading.Thread(target=channels[i].start_consuming, name=f'consumer-{i}')
            for i in (0, 1)
        ]
        for thread in threads:
            thread.start()
        publisher = connection.channel()
        for number in range(100):
            for queue in queues:
                publisher.basic_publish('', queue, str(number))
        for thread in threads:
            thread.join(60)
        assert seen[0] == ['consumer-0'] * 100
        assert seen[1] == ['consumer-1'] * 100
    finally:
        connection.close()


def test_stop_consuming_and_threadsafe_callbacks_from_another_thread(
    broker_params: Any, unique_name: str
) -> None:
    connection = BlockingConnection(broker_params)
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name, auto_delete=True)
        channel.basic_consume(unique_name, lambda *args: None)
        ran_in: list[str] = []

        def controller() -> None:
            time.sleep(0.2)
            connection.add_callback_threadsafe(
                lambda: ran_in.append(threading.current_thread().name)
            )
            time.sleep(0.2)
            channel.stop_consuming()  # an RPC from this thread; wakes the consumer

        thread = threading.Thread(target=controller, name='controller')
        thread.start()
        started = time.monotonic()
        channel.start_consuming()  # returns once the other thread cancelled the consumer
        thread.join(10)
        assert time.monotonic() - started < 10
        assert ran_in == [threading.current_thread().name]
        assert channel.consumer_tags == []
    finally:
        connection.close()


def test_closing_the_channel_from_a_callback_ends_start_consuming(
    broker_params: Any, unique_name: str
) -> None:
    connection = BlockingConnection(broker_params)
    try:
        channel = connection.channel()
        channel.queue_declare(unique_name, auto_delete=True)
        channel.basic_publish('', unique_name, b'last one')
        bodies: list[bytes] = []

        def on_message(ch: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
            bodies.append(body)
            ch.close()

        channel.basic_consume(unique_name, on_message)
        channel.start_consuming()
        assert bodies == [b'last one'] and channel.is_closed
        assert connection.is_open
    finally:
        connection.close()


def _keeper_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == 'pika-blocking-keeper'}


def test_keeper_thread_ends_with_the_connection(broker_params: Any) -> None:
    before = _keeper_threads()
    connection = BlockingConnection(_params(broker_params, heartbeat=HEARTBEAT))
    (keeper,) = _keeper_threads() - before
    assert keeper.daemon
    connection.close()
    keeper.join(10)
    assert not keeper.is_alive()
    before = _keeper_threads()
    connection = BlockingConnection(_params(broker_params, heartbeat=0))
    assert _keeper_threads() - before == set()  # no heartbeat, no keeper
    connection.close()


def test_abandoned_connection_is_collected_and_its_keeper_stops(broker_params: Any) -> None:
    import gc

    before = _keeper_threads()
    connection = BlockingConnection(_params(broker_params, heartbeat=HEARTBEAT))
    connection.channel()
    (keeper,) = _keeper_threads() - before
    del connection
    # The keeper holds a strong reference while it runs a cycle (it may be waiting for the
    # lock channel() held): a collection in that moment finds the connection still alive,
    # and its cycle becomes garbage only after the keeper lets go. Collect again, as an
    # application's own allocations would, until the keeper stops or the bound passes.
    deadline = time.monotonic() + 3 * HEARTBEAT
    while keeper.is_alive() and time.monotonic() < deadline:
        gc.collect()
        keeper.join(0.2)
    assert not keeper.is_alive()
