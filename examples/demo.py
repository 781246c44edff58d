"""Publish and consume a few thousand messages through a local RabbitMQ, then print the rates.

Uses the pika 1.x ``BlockingConnection`` API: declare an auto-delete queue with a unique name,
publish ``--count`` messages to it through the default exchange, consume them back with
``channel.consume()`` acknowledging each one, and check that every body came back in order.

Run it with ``./scripts/demo.sh`` (which also prepares the virtualenv and the broker), or
directly: ``.venv/bin/python examples/demo.py --count 5000``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from typing import TYPE_CHECKING

import pika

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingChannel

LOGGER = logging.getLogger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options of the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1', help='broker host (default 127.0.0.1)')
    parser.add_argument('--port', type=int, default=5672, help='broker port (default 5672)')
    parser.add_argument('--count', type=int, default=5000, help='messages (default 5000)')
    parser.add_argument('--size', type=int, default=256, help='body bytes (default 256)')
    parser.add_argument('-v', '--verbose', action='store_true', help='debug logging')
    args = parser.parse_args(argv)
    if args.count < 1 or args.size < 16:
        parser.error('--count must be >= 1 and --size >= 16')
    return args


def make_body(index: int, size: int) -> bytes:
    """A body of ``size`` bytes that starts with its sequence number."""
    head = b'%010d:' % index
    return head + b'x' * (size - len(head))


def publish(channel: BlockingChannel, queue: str, count: int, size: int) -> float:
    """Publish ``count`` messages to ``queue``; return the seconds it took."""
    start = time.perf_counter()
    for index in range(count):
        channel.basic_publish(exchange='', routing_key=queue, body=make_body(index, size))
    return time.perf_counter() - start


def consume(channel: BlockingChannel, queue: str, count: int) -> tuple[int, float]:
    """Consume up to ``count`` messages from ``queue`` with acks; return (received, seconds).

    Raises ``RuntimeError`` if a message arrives out of order.
    """
    received = 0
    start = time.perf_counter()
    for method, _properties, body in channel.consume(queue, inactivity_timeout=5):
        if method is None:  # 5 s without a message: give up
            break
        expected = b'%010d:' % received
        if not body.startswith(expected):
            raise RuntimeError(f'message {received} out of order: {body[:11]!r}')
        channel.basic_ack(method.delivery_tag)
        received += 1
        if received == count:
            break
    elapsed = time.perf_counter() - start
    channel.cancel()
    return received, elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the process exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    queue = f'pika-demo-{uuid.uuid4().hex}'
    connection = pika.BlockingConnection(pika.ConnectionParameters(args.host, args.port))
    try:
        channel = connection.channel()
        channel.queue_declare(queue=queue, auto_delete=True)
        pub_secs = publish(channel, queue, args.count, args.size)
        received, con_secs = consume(channel, queue, args.count)
    finally:
        connection.close()
    pub_secs, con_secs = max(pub_secs, 1e-9), max(con_secs, 1e-9)
    mib = args.count * args.size / 2**20
    print(
        f'published {args.count} x {args.size} B in {pub_secs:.3f}s: '
        f'{args.count / pub_secs:,.0f} msg/s ({mib / pub_secs:.1f} MiB/s)'
    )
    print(f'consumed+acked {received} in {con_secs:.3f}s: {received / con_secs:,.0f} msg/s')
    if received != args.count:
        print(f'ERROR: only {received} of {args.count} messages came back', file=sys.stderr)
        return 1
    print('OK: every message came back, in order')
    return 0


if __name__ == '__main__':
    sys.exit(main())
