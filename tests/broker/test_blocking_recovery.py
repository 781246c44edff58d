"""BlockingConnection with ``recovery=`` against a private RabbitMQ node (issue 15).

Each scenario hurts the private node (never the shared one), records and prints time to
detect, time to recover, confirmed messages lost (must be 0), duplicates and the longest
single call.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions
from tests.helpers.private_broker import close_my_connection
from tests.helpers.recovery_figures import record_figures
from tests.helpers.recovery_watch import RecoveryWatch, message_figures

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.private_broker

_monotonic = time.monotonic


def report(name: str, figures: dict[str, Any]) -> None:
    record_figures('blocking ' + name, figures)


def run_until(connection: pika.BlockingConnection, done: Any, limit: float) -> None:
    end = _monotonic() + limit
    while not done() and _monotonic() < end:
        connection.process_data_events(0.05)
    assert done(), 'timed out'


def _consumer_scenario(broker: PrivateBroker, hurt: str) -> None:
    watch = RecoveryWatch()
    params = broker.connection_parameters(recovery=watch.policy(), heartbeat=10)
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.exchange_declare('recovery-ex', 'topic', auto_delete=True)
    queue = channel.queue_declare('', exclusive=True).method.queue
    channel.queue_bind(queue, 'recovery-ex', 'k.#')
    received: list[bytes] = []
    channels_seen: set[int] = set()
    tags: list[int] = []

    def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        channels_seen.add(id(ch))
        tags.append(method.delivery_tag)
        received.append(body)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, on_message)

    def publish(bodies: list[bytes]) -> None:
        with pika.BlockingConnection(broker.connection_parameters()) as publisher:
            pub = publisher.channel()
            for body in bodies:
                pub.basic_publish('recovery-ex', 'k.1', body)

    publish([b'before-%d' % n for n in range(10)])
    run_until(connection, lambda: len(received) >= 10, 10)
    hurt_at = _monotonic()
    if hurt == 'close_connection':
        close_my_connection(broker, connection)
    else:
        broker.restart()
    longest = 0.0
    end = _monotonic() + 120
    while not watch.recovered_event.is_set() and _monotonic() < end:
        started = _monotonic()
        connection.process_data_events(0.2)
        longest = max(longest, _monotonic() - started)
    assert watch.recovered_event.is_set(), 'not recovered'
    publish([b'after-%d' % n for n in range(10)])
    run_until(connection, lambda: len(received) >= 20, 20)
    assert channels_seen == {id(channel)}  # the same channel object throughout
    assert channel.is_open and connection.is_open
    assert len(watch.renamed) == 1 and watch.renamed[0][0] == queue
    assert tags == sorted(tags) and len(set(tags)) == len(tags)  # tags keep increasing
    counted = message_figures([b'after-%d' % n for n in range(10)], received)
    report(hurt, {**watch.figures(hurt_at), **counted, 'longest_call_s': round(longest, 3)})
    assert counted['lost'] == 0
    connection.close()


def test_consumer_keeps_receiving_across_close_connection(private_broker: PrivateBroker) -> None:
    _consumer_scenario(private_broker, 'close_connection')


def test_consumer_keeps_receiving_across_a_broker_restart(private_broker: PrivateBroker) -> None:
    _consumer_scenario(private_broker, 'restart')


def test_confirmed_publisher_loses_nothing_across_close_connection(
    private_broker: PrivateBroker,
) -> None:
    watch = RecoveryWatch()
    params = private_broker.connection_parameters(recovery=watch.policy(), heartbeat=10)
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare('recovery-confirm', durable=True)
    channel.queue_purge('recovery-confirm')
    channel.confirm_delivery()
    confirmed: list[bytes] = []
    longest = 0.0
    hurt_at = 0.0
    closer = None
    after = 0  # confirmed after the recovery
    n = 0
    end = _monotonic() + 90
    while after < 200 and _monotonic() < end:
        body = b'm-%d' % n
        n += 1
        if n == 200:
            hurt_at = _monotonic()
            closer = threading.Thread(
                target=close_my_connection, args=(private_broker, connection), daemon=True
            )
            closer.start()
        started = _monotonic()
        try:
            channel.basic_publish('', 'recovery-confirm', body, timeout=30)
        except exceptions.ConnectionRecovering:
            continue  # not sent (raised before the publish): the next one goes once it is back
        finally:
            longest = max(longest, _monotonic() - started)
        confirmed.append(body)
        if watch.recovered_event.is_set():
            after += 1
    assert closer is not None
    closer.join(30)
    assert watch.recovered_event.is_set()
    connection.close()
    with pika.BlockingConnection(private_broker.connection_parameters()) as reader:
        ch = reader.channel()
        received: list[bytes] = []
        while True:
            method, _, body = ch.basic_get('recovery-confirm', auto_ack=True)
            if method is None:
                break
            received.append(body)
        ch.queue_delete('recovery-confirm')
    counted = message_figures(confirmed, received)
    report(
        'confirm publisher, close_connection',
        {
            **watch.figures(hurt_at),
            'confirmed': len(confirmed),
            **counted,
            'longest_call_s': round(longest, 3),
        },
    )
    assert after == 200
    assert counted['lost'] == 0


@pytest.mark.parametrize('style', ['start_consuming', 'consume'])
def test_consuming_loops_keep_going_across_close_connection(
    private_broker: PrivateBroker, style: str
) -> None:
    watch = RecoveryWatch()
    params = private_broker.connection_parameters(recovery=watch.policy(), heartbeat=10)
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.exchange_declare('recovery-loop', 'fanout', auto_delete=True)
    queue = channel.queue_declare('', exclusive=True).method.queue
    channel.queue_bind(queue, 'recovery-loop')
    received: list[bytes] = []

    def publish(prefix: bytes) -> None:
        with pika.BlockingConnection(private_broker.connection_parameters()) as publisher:
            pub = publisher.channel()
            for n in range(5):
                pub.basic_publish('recovery-loop', '', prefix + b'%d' % n)

    def hurt() -> None:
        close_my_connection(private_broker, connection)
        assert watch.recovered_event.wait(60)
        publish(b'after-')

    hurter = threading.Thread(target=hurt, daemon=True)
    publish(b'before-')

    def on_message(body: bytes) -> bool:
        """Note a delivery; True when the loop should stop."""
        received.append(body)
        if len(received) == 5:
            hurter.start()
        return len(received) >= 10

    if style == 'start_consuming':

        def callback(ch: Any, method: Any, properties: Any, body: bytes) -> None:
            assert ch is channel
            ch.basic_ack(method.delivery_tag)
            if on_message(body):
                ch.stop_consuming()

        channel.basic_consume(queue, callback)
        channel.start_consuming()
    else:
        end = _monotonic() + 90
        for method, _, body in channel.consume(queue, inactivity_timeout=1):
            assert _monotonic() < end, 'no delivery in time'
            if method is None:
                continue
            channel.basic_ack(method.delivery_tag)
            if on_message(body):
                break
        channel.cancel()
    hurter.join(30)
    assert received == [b'before-%d' % n for n in range(5)] + [b'after-%d' % n for n in range(5)]
    connection.close()
