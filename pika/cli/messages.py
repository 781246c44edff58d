"""``pika publish`` and ``pika consume``: send and read messages from the command line.

``publish`` waits for the broker's confirm of every message by default, so an exit code of 0
means the broker has taken them. ``consume`` prints each body (or a JSON line per message) or
saves each message to a directory, and acks it after that, so a message is only removed once
it was written out.
"""

from __future__ import annotations

import base64
import inspect
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from pika import exceptions, spec
from pika.cli import common

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from pika.adapters.blocking_connection import BlockingChannel

__all__ = ['add_parsers', 'build_properties', 'message_record', 'read_bodies']

#: the names of the AMQP basic properties, as ``BasicProperties`` takes them
PROPERTY_NAMES = tuple(inspect.signature(spec.BasicProperties).parameters)
_INT_PROPERTIES = ('delivery_mode', 'priority', 'timestamp')

_PUBLISH_EPILOG = """examples:
  pika publish -q orders --body 'hello'             # to a queue, through the default exchange
  pika publish -e events -k order.created --body '{"id": 1}' --content-type application/json
  pika publish -q orders --file message.bin --persistent --header source=cli
  printf 'a\\nb\\nc\\n' | pika publish -q orders --lines   # one message per line
  pika publish -q orders --body ping --count 1000 --no-confirm
  pika publish -q orders --body x --property correlation_id=42 --property expiration=60000
"""

_CONSUME_EPILOG = """examples:
  pika consume orders --count 10                   # print 10 bodies, ack each
  pika consume orders --idle-timeout 2             # everything until the queue is idle 2 s
  pika consume orders --count 1 --requeue          # peek: print one, put it back
  pika consume orders --format json --auto-ack     # one JSON object per message
  pika consume orders --save ./dump --count 100    # NNNNNN.body + NNNNNN.json per message
  pika consume events.stream --argument x-stream-offset=first --count 5
"""


# -- publish ------------------------------------------------------------------------------


def build_properties(args: argparse.Namespace) -> Optional[spec.BasicProperties]:
    """The ``BasicProperties`` the options ask for (None when they ask for none)."""
    fields: dict[str, Any] = {}
    for pair in args.property or ():
        name, equals, value = pair.partition('=')
        if not equals or name not in PROPERTY_NAMES or name == 'headers':
            raise common.CliError(
                f'--property takes NAME=VALUE with NAME one of '
                f'{", ".join(n for n in PROPERTY_NAMES if n != "headers")}; got {pair!r}',
                common.EXIT_USAGE,
            )
        fields[name] = int(value) if name in _INT_PROPERTIES else value
    if args.content_type:
        fields['content_type'] = args.content_type
    if args.persistent:
        fields['delivery_mode'] = 2
    headers = common.parse_pairs(args.header, '--header')
    if headers:
        fields['headers'] = headers
    return spec.BasicProperties(**fields) if fields else None


def read_bodies(args: argparse.Namespace) -> list[bytes]:
    """The bodies to publish: ``--body``, else ``--file`` (``-``: stdin), else stdin; with
    ``--lines`` one body per line."""
    if args.body is not None:
        data = args.body.encode('utf-8')
    elif args.file not in (None, '-'):
        data = Path(args.file).read_bytes()
    elif sys.stdin.isatty() and args.file is None:
        raise common.CliError(
            'give --body TEXT or --file PATH, or pipe the body in', common.EXIT_USAGE
        )
    else:
        data = sys.stdin.buffer.read()
    if args.lines:
        return [line for line in data.splitlines() if line]
    return [data]


def publish(args: argparse.Namespace) -> int:
    """``pika publish``."""
    exchange, routing_key = args.exchange, args.routing_key
    if args.queue is not None:
        exchange, routing_key = '', args.queue
    properties = build_properties(args)
    bodies = read_bodies(args)
    connection = common.connect(common.resolve_url(args.url), args.timeout)
    try:
        channel = connection.channel()
        if args.confirm:
            channel.confirm_delivery()
        sent = _publish_all(channel, args, exchange, routing_key, bodies, properties)
    finally:
        common.close_quietly(connection)
    how = 'confirmed' if args.confirm else 'not confirmed'
    print(f'published {sent} messages to exchange {exchange!r} with key {routing_key!r} ({how})')
    return common.EXIT_OK


def _publish_all(
    channel: BlockingChannel,
    args: argparse.Namespace,
    exchange: str,
    routing_key: str,
    bodies: list[bytes],
    properties: Optional[spec.BasicProperties],
) -> int:
    sent = 0
    try:
        for _ in range(args.count):
            for body in bodies:
                channel.basic_publish(exchange, routing_key, body, properties, args.mandatory)
                sent += 1
    except exceptions.UnroutableError as exc:
        raise common.CliError(
            f'message {sent + 1} was returned unroutable: no queue is bound to exchange '
            f'{exchange!r} with key {routing_key!r}',
            common.EXIT_REFUSED,
        ) from exc
    except exceptions.NackError as exc:
        raise common.CliError(
            f'message {sent + 1} was nacked by the broker', common.EXIT_REFUSED
        ) from exc
    return sent


# -- consume ------------------------------------------------------------------------------


def message_record(method: Any, properties: Any, body: bytes) -> dict[str, Any]:
    """A message as a JSON-ready dict: envelope, the properties that are set, and the body
    as text when it is UTF-8 (``body``), else base64 (``body_base64``)."""
    record: dict[str, Any] = {
        'exchange': method.exchange,
        'routing_key': method.routing_key,
        'redelivered': method.redelivered,
        'delivery_tag': method.delivery_tag,
        'properties': {k: v for k, v in vars(properties).items() if v is not None},
    }
    try:
        record['body'] = body.decode('utf-8')
    except UnicodeDecodeError:
        record['body_base64'] = base64.b64encode(body).decode('ascii')
    return record


def _deliveries(channel: BlockingChannel, args: argparse.Namespace) -> Iterator[Any]:
    """Up to ``--count`` messages; ends early when the queue was idle ``--idle-timeout`` s."""
    arguments = common.parse_pairs(args.argument, '--argument') or None
    seen = 0
    for method, properties, body in channel.consume(
        args.queue, auto_ack=args.auto_ack, arguments=arguments, inactivity_timeout=args.idle
    ):
        if method is None:
            if args.idle is not None:
                return
            continue
        yield method, properties, body
        seen += 1
        if args.count is not None and seen >= args.count:
            return


def _write(args: argparse.Namespace, number: int, record: dict[str, Any], body: bytes) -> None:
    if args.save is not None:
        stem = Path(args.save) / f'{number:06d}'
        stem.with_suffix('.body').write_bytes(body)
        meta = {k: v for k, v in record.items() if k not in ('body', 'body_base64')}
        stem.with_suffix('.json').write_text(json.dumps(meta, default=str, indent=1) + '\n')
        print(stem.with_suffix('.body'))
    elif args.format == 'json':
        print(json.dumps(record, default=str))
    else:
        print(body.decode('utf-8', 'backslashreplace'))
    sys.stdout.flush()


def _prefetch(args: argparse.Namespace) -> int:
    """With ``--requeue`` nothing is acked, so the prefetch must cover ``--count`` (0:
    unlimited when there is no count)."""
    if args.requeue:
        return args.count or 0
    return int(args.prefetch)


def consume(args: argparse.Namespace) -> int:
    """``pika consume QUEUE``."""
    if args.save is not None:
        Path(args.save).mkdir(parents=True, exist_ok=True)
    connection = common.connect(common.resolve_url(args.url), args.timeout)
    count = 0
    try:
        channel = connection.channel()
        if not args.auto_ack:
            channel.basic_qos(prefetch_count=_prefetch(args))
        for method, properties, body in _deliveries(channel, args):
            count += 1
            _write(args, count, message_record(method, properties, body), body)
            if not (args.auto_ack or args.requeue):
                channel.basic_ack(method.delivery_tag)
        channel.cancel()  # with --requeue, closing the channel puts back what we printed
    finally:
        common.close_quietly(connection)
    print(f'consumed {count} messages from {args.queue!r}', file=sys.stderr)
    return common.EXIT_OK


# -- command line -------------------------------------------------------------------------


def _add_publish(commands: Any) -> None:
    parser = commands.add_parser(
        'publish',
        help='publish messages (waits for the broker to confirm them)',
        description='Publish one message, or several, and wait for the broker to confirm them.',
        epilog=_PUBLISH_EPILOG + common.EXIT_CODES_HELP,
        formatter_class=common.help_formatter(),
    )
    target = parser.add_argument_group('where to')
    target.add_argument('-q', '--queue', help='publish to this queue (default exchange)')
    target.add_argument('-e', '--exchange', default='', help="exchange (default: '')")
    target.add_argument('-k', '--routing-key', default='', help='routing key (default: empty)')
    what = parser.add_argument_group('what')
    what.add_argument('-b', '--body', help='the body as text (UTF-8)')
    what.add_argument('-f', '--file', help="read the body from a file ('-': stdin)")
    what.add_argument('--lines', action='store_true', help='one message per non-empty line')
    what.add_argument('-n', '--count', type=int, default=1, help='publish it N times')
    what.add_argument('--content-type', help='e.g. application/json')
    what.add_argument('--persistent', action='store_true', help='delivery mode 2')
    what.add_argument('--header', action='append', metavar='KEY=VALUE', help='(repeatable)')
    what.add_argument(
        '--property', action='append', metavar='NAME=VALUE', help='any basic property'
    )
    how = parser.add_argument_group('how')
    how.add_argument(
        '--no-confirm',
        dest='confirm',
        action='store_false',
        help='do not wait for publisher confirms',
    )
    how.add_argument(
        '--mandatory', action='store_true', help='fail (exit 4) if no queue gets the message'
    )
    common.add_common_arguments(parser)
    parser.set_defaults(run=common.guarded('publish', publish))


def _add_consume(commands: Any) -> None:
    parser = commands.add_parser(
        'consume',
        help='print or save messages of a queue',
        description='Consume messages of a queue: print them (or save them) and ack each one.',
        epilog=_CONSUME_EPILOG + common.EXIT_CODES_HELP,
        formatter_class=common.help_formatter(),
    )
    parser.add_argument('queue', help='queue name')
    parser.add_argument('-n', '--count', type=int, help='stop after N messages')
    parser.add_argument(
        '--idle-timeout',
        dest='idle',
        type=float,
        help='stop when no message came for this many seconds',
    )
    acking = parser.add_mutually_exclusive_group()
    acking.add_argument('-a', '--auto-ack', action='store_true', help='no acks (at most once)')
    acking.add_argument(
        '--requeue',
        action='store_true',
        help='ack nothing: every message stays in the queue (peek)',
    )
    parser.add_argument('--prefetch', type=int, default=100, help='prefetch (default: 100)')
    parser.add_argument(
        '--format', choices=('body', 'json'), default='body', help='what to print per message'
    )
    parser.add_argument('--save', metavar='DIR', help='save NNNNNN.body and NNNNNN.json files')
    parser.add_argument(
        '--argument', action='append', metavar='KEY=VALUE', help='consumer argument (repeatable)'
    )
    common.add_common_arguments(parser)
    parser.set_defaults(run=common.guarded('consume', consume))


def add_parsers(commands: Any) -> None:
    """Register ``publish`` and ``consume`` with the sub-commands of ``pika``."""
    _add_publish(commands)
    _add_consume(commands)
