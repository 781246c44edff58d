"""A publisher and a consumer that ride out the loss of a RabbitMQ cluster node (issue 15).

Both are ``BlockingConnection``s given the same three nodes and automatic recovery
(``ConnectionParameters(recovery=pika.Recovery(...))``), each in its own thread. The publisher
puts ``--count`` numbered messages on a durable quorum queue in confirm mode: ``basic_publish``
returns once the broker confirmed the message, also across a failover (a message in flight at
the loss is published again after the recovery, so the queue may hold it twice). The consumer
acks every message. When the publisher is done and the consumer has seen every confirmed
message, both close, and the last line printed is a JSON summary::

    summary: {"confirmed": 5000, "received": 5002, "lost": 0, "duplicates": 2, ...}

Ctrl-C (SIGINT) stops publishing early; the consumer still waits for everything confirmed
so far. Exit status 0 when no confirmed message was lost. Stop or kill a node (``rabbitmqctl stop``,
``kill -9``, ``rabbitmqctl close_all_connections``) while it runs and watch the ``recovered``
lines. The same connection and channel objects are used throughout; the application code
below never reconnects by itself.

Nodes are given as arguments, each ``PORT``, ``HOST:PORT`` or an ``amqp://`` URL (guest/guest
and the default vhost when not in a URL). Without arguments: ``127.0.0.1`` ports 5672, 5673
and 5674, a local cluster as RabbitMQ's clustering guide sets one up (docs/recovery.md)::

    python examples/cluster_failover.py 5672 5673 5674 --count 20000 --rate 500
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

import pika
from pika import exceptions

LOGGER = logging.getLogger('cluster_failover')

DEFAULT_NODES = ['127.0.0.1:5672', '127.0.0.1:5673', '127.0.0.1:5674']


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('nodes', nargs='*', default=DEFAULT_NODES, help='PORT, HOST:PORT or URL')
    parser.add_argument('--queue', default='cluster-failover-example', help='quorum queue name')
    parser.add_argument('--count', type=int, default=5000, help='messages (default 5000)')
    parser.add_argument('--rate', type=float, default=0, help='messages/s (default: no limit)')
    parser.add_argument('--timeout', type=float, default=300, help='give up after (seconds)')
    parser.add_argument('--keep', action='store_true', help='do not delete the queue at the end')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    args = parser.parse_args(argv)
    if args.count < 1 or args.rate < 0 or args.timeout <= 0:
        parser.error('--count must be >= 1, --rate >= 0 and --timeout > 0')
    return args


def node_parameters(
    node: str, recovery: pika.Recovery
) -> pika.ConnectionParameters | pika.URLParameters:
    """The parameters of one node argument, with ``recovery`` set."""
    if '://' in node:
        params = pika.URLParameters(node)
        params.recovery = recovery
        return params
    host, _, port = node.rpartition(':')
    return pika.ConnectionParameters(host or '127.0.0.1', int(port), recovery=recovery)


class Tally:
    """What both threads saw; list appends and set adds are atomic in CPython."""

    def __init__(self) -> None:
        self.confirmed: set[bytes] = set()
        self.received: list[bytes] = []
        self.recoveries: dict[str, int] = {'publisher': 0, 'consumer': 0}
        self.publisher_done = threading.Event()
        #: set by Ctrl-C: publish no more
        self.stop = threading.Event()
        self.errors: list[str] = []


def recovery_policy(role: str, tally: Tally, timeout: float) -> pika.Recovery:
    """Recovery for one connection: quick first retry, and a word on every step."""

    def lost(_conn: Any, error: BaseException) -> None:
        print(f'{role}: connection lost ({type(error).__name__}), recovering', flush=True)

    def recovered(_conn: Any, params: Any) -> None:
        tally.recoveries[role] += 1
        print(f'{role}: recovered on {params.host}:{params.port}', flush=True)

    def given_up(_conn: Any, cause: BaseException) -> None:
        print(f'{role}: recovery gave up: {cause}', flush=True)

    return pika.Recovery(
        initial_delay=0.2,
        max_delay=2.0,
        max_duration=timeout,
        on_connection_lost=lost,
        on_recovered=recovered,
        on_given_up=given_up,
    )


def declare(channel: Any, queue: str) -> None:
    """The durable quorum queue both sides use (declaring it twice is harmless)."""
    channel.queue_declare(queue, durable=True, arguments={'x-queue-type': 'quorum'})


def publish(nodes: list[Any], args: argparse.Namespace, tally: Tally) -> None:
    """Publish ``--count`` messages, each confirmed before the next; retry what failed."""
    deadline = time.monotonic() + args.timeout
    with pika.BlockingConnection(nodes) as connection:
        channel = connection.channel()
        declare(channel, args.queue)
        channel.confirm_delivery()
        number = 0
        while number < args.count and time.monotonic() < deadline and not tally.stop.is_set():
            body = b'message %d' % number
            try:
                channel.basic_publish('', args.queue, body, pika.BasicProperties(delivery_mode=2))
            except (exceptions.ConnectionRecovering, exceptions.PublishOutcomeUnknown):
                continue  # not sent, or outcome unknown: publish it (again)
            except exceptions.NackError:
                time.sleep(0.1)  # the broker refused it (e.g. no queue leader yet): again
                continue
            tally.confirmed.add(body)
            number += 1
            if args.rate:
                time.sleep(1 / args.rate)
    tally.publisher_done.set()
    print(f'publisher: {len(tally.confirmed)} messages confirmed', flush=True)


def consume(nodes: list[Any], args: argparse.Namespace, tally: Tally) -> None:
    """Ack every message until the publisher is done and all it confirmed has arrived."""
    deadline = time.monotonic() + args.timeout

    def on_message(channel: Any, method: Any, _properties: Any, body: bytes) -> None:
        tally.received.append(body)
        channel.basic_ack(method.delivery_tag)

    with pika.BlockingConnection(nodes) as connection:
        channel = connection.channel()
        declare(channel, args.queue)
        channel.basic_qos(prefetch_count=100)
        channel.basic_consume(args.queue, on_message)
        while time.monotonic() < deadline:
            done = tally.publisher_done.is_set()
            if done and tally.confirmed <= set(tally.received):
                break
            try:
                connection.process_data_events(time_limit=0.2)
            except exceptions.ConnectionRecovering:
                continue  # back soon; the consumer is restored with the connection
        if not args.keep:
            channel.queue_delete(args.queue)


def run_thread(role: str, target: Any, tally: Tally, *params: Any) -> threading.Thread:
    """``target(*params)`` on a thread; an exception is recorded, not lost."""

    def run() -> None:
        try:
            target(*params)
        except Exception as exc:
            LOGGER.exception('%s failed', role)
            tally.errors.append(f'{role}: {exc!r}')
            tally.publisher_done.set()

    thread = threading.Thread(target=run, name=role, daemon=True)
    thread.start()
    return thread


def main(argv: list[str]) -> int:
    """Run publisher and consumer; print the summary; 0 when no confirmed message was lost."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format='%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s',
    )
    tally = Tally()
    signal.signal(signal.SIGINT, lambda _signum, _frame: tally.stop.set())
    threads = []
    for role, target in (('consumer', consume), ('publisher', publish)):
        policy = recovery_policy(role, tally, args.timeout)
        nodes = [node_parameters(node, policy) for node in args.nodes]
        threads.append(run_thread(role, target, tally, nodes, args, tally))
        if role == 'consumer':
            time.sleep(0.5)  # let the consumer declare the queue first
    print(f'running: {args.count} messages over {len(args.nodes)} nodes', flush=True)
    for thread in threads:
        thread.join(args.timeout + 30)
    received = tally.received
    summary = {
        'confirmed': len(tally.confirmed),
        'received': len(received),
        'lost': len(tally.confirmed - set(received)),
        'duplicates': len(received) - len(set(received)),
        'recoveries': tally.recoveries,
        'errors': tally.errors,
    }
    print('summary: ' + json.dumps(summary), flush=True)
    stopped = tally.stop.is_set()
    complete = (stopped or len(tally.confirmed) == args.count) and not tally.errors
    return 0 if summary['lost'] == 0 and complete else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
