"""``pika declare``, ``pika delete`` and ``pika purge``: exchanges, queues and bindings from
the command line, one small AMQP operation each, for scripts and debugging.

Each operation opens one ``BlockingConnection``, runs one or two RPCs, prints one line saying
what happened and exits 0; a refusal by the broker (404, 406...) exits 1 with its reply text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from pika.cli import common

if TYPE_CHECKING:
    import argparse

    from pika.adapters.blocking_connection import BlockingChannel

__all__ = ['QUEUE_TYPES', 'add_parsers', 'queue_arguments']

QUEUE_TYPES = ('classic', 'quorum', 'stream')

_DECLARE_EPILOG = """examples:
  pika declare queue orders --durable
  pika declare queue orders.q --type quorum
  pika declare queue '' --auto-delete             # a server-named queue; prints its name
  pika declare queue jobs --durable --argument x-max-length=1000
  pika declare exchange events --type topic --durable
  pika declare binding events orders -k 'order.*'  # exchange 'events' -> queue 'orders'
  pika declare binding events audit --to-exchange  # exchange -> exchange
"""

_DELETE_EPILOG = """examples:
  pika delete queue orders
  pika delete queue orders --if-empty --if-unused
  pika delete exchange events
  pika delete binding events orders -k 'order.*'
"""

_PURGE_EPILOG = """examples:
  pika purge orders
  pika purge orders --url amqp://app:secret@rabbit:5672/prod
"""


def queue_arguments(queue_type: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The ``arguments`` of a queue declare: ``x-queue-type`` (unless classic) plus ``extra``."""
    arguments = dict(extra)
    if queue_type != 'classic':
        arguments.setdefault('x-queue-type', queue_type)
    return arguments


def with_channel(args: argparse.Namespace, job: Callable[[BlockingChannel], str]) -> int:
    """Open a connection and a channel, run ``job`` and print the line it returns."""
    connection = common.connect(common.resolve_url(args.url), args.timeout)
    try:
        print(job(connection.channel()))
    finally:
        common.close_quietly(connection)
    return common.EXIT_OK


# -- declare ------------------------------------------------------------------------------


def declare_queue(args: argparse.Namespace) -> int:
    """``pika declare queue``."""
    arguments = queue_arguments(args.type, common.parse_pairs(args.argument, '--argument'))
    durable = args.durable or args.type != 'classic'  # quorum queues and streams are durable

    def job(channel: BlockingChannel) -> str:
        ok = channel.queue_declare(
            args.name,
            passive=args.passive,
            durable=durable,
            auto_delete=args.auto_delete,
            arguments=arguments or None,
        ).method
        return (
            f'queue {ok.queue} declared ({ok.message_count} messages, '
            f'{ok.consumer_count} consumers)'
        )

    return with_channel(args, job)


def declare_exchange(args: argparse.Namespace) -> int:
    """``pika declare exchange``."""
    arguments = common.parse_pairs(args.argument, '--argument')

    def job(channel: BlockingChannel) -> str:
        channel.exchange_declare(
            args.name,
            exchange_type=args.type,
            passive=args.passive,
            durable=args.durable,
            auto_delete=args.auto_delete,
            internal=args.internal,
            arguments=arguments or None,
        )
        return f'exchange {args.name} declared (type {args.type})'

    return with_channel(args, job)


def declare_binding(args: argparse.Namespace) -> int:
    """``pika declare binding SOURCE DESTINATION``."""
    return _change_binding(args, bind=True)


def _change_binding(args: argparse.Namespace, *, bind: bool) -> int:
    """Bind (``bind``) or unbind ``args.destination`` (a queue, or an exchange with
    ``--to-exchange``) to ``args.source``: the one job behind ``declare`` and ``delete binding``."""
    arguments = common.parse_pairs(args.argument, '--argument') or None

    def job(channel: BlockingChannel) -> str:
        change: Callable[..., object]
        if args.to_exchange:
            change = channel.exchange_bind if bind else channel.exchange_unbind
        else:
            change = channel.queue_bind if bind else channel.queue_unbind
        change(args.destination, args.source, args.routing_key, arguments)
        return f'{"bound" if bind else "unbound"} {_binding_text(args)}'

    return with_channel(args, job)


def _binding_text(args: argparse.Namespace) -> str:
    kind = 'exchange' if args.to_exchange else 'queue'
    return f'exchange {args.source} -> {kind} {args.destination} (key {args.routing_key!r})'


# -- delete and purge ---------------------------------------------------------------------


def delete_queue(args: argparse.Namespace) -> int:
    """``pika delete queue``."""

    def job(channel: BlockingChannel) -> str:
        ok = channel.queue_delete(args.name, if_unused=args.if_unused, if_empty=args.if_empty)
        return f'queue {args.name} deleted ({ok.method.message_count} messages)'

    return with_channel(args, job)


def delete_exchange(args: argparse.Namespace) -> int:
    """``pika delete exchange``."""

    def job(channel: BlockingChannel) -> str:
        channel.exchange_delete(args.name, if_unused=args.if_unused)
        return f'exchange {args.name} deleted'

    return with_channel(args, job)


def delete_binding(args: argparse.Namespace) -> int:
    """``pika delete binding SOURCE DESTINATION``."""
    return _change_binding(args, bind=False)


def purge(args: argparse.Namespace) -> int:
    """``pika purge QUEUE``."""

    def job(channel: BlockingChannel) -> str:
        ok = channel.queue_purge(args.queue)
        return f'queue {args.queue} purged ({ok.method.message_count} messages)'

    return with_channel(args, job)


# -- command line -------------------------------------------------------------------------


def _kind_parser(kinds: Any, name: str, help_text: str, run: Callable[..., int], verb: str) -> Any:
    epilog = {'declare': _DECLARE_EPILOG, 'delete': _DELETE_EPILOG}[verb]
    parser = kinds.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + '.',
        epilog=epilog + common.EXIT_CODES_HELP,
        formatter_class=common.help_formatter(),
    )
    common.add_common_arguments(parser)
    parser.set_defaults(run=common.guarded(f'{verb} {name}', run))
    return parser


def _binding_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('source', help='the exchange messages come from')
    parser.add_argument('destination', help='the queue (or, with --to-exchange, the exchange)')
    parser.add_argument('-k', '--routing-key', default='', help='binding key (default: empty)')
    parser.add_argument('--to-exchange', action='store_true', help='the destination is an exchange')
    _argument_option(parser)


def _argument_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--argument',
        action='append',
        metavar='KEY=VALUE',
        help='an entry of the arguments table (repeatable; ints and true/false are typed)',
    )


def _add_declare(commands: Any) -> None:
    parser = commands.add_parser(
        'declare',
        help='declare a queue, an exchange or a binding',
        description='Declare a queue, an exchange or a binding.',
        epilog=_DECLARE_EPILOG + common.EXIT_CODES_HELP,
        formatter_class=common.help_formatter(),
    )
    kinds = parser.add_subparsers(dest='kind', metavar='KIND')
    kinds.required = True
    queue = _kind_parser(kinds, 'queue', 'declare a queue', declare_queue, 'declare')
    queue.add_argument('name', help="queue name ('' for a server-named queue)")
    queue.add_argument('--type', choices=QUEUE_TYPES, default='classic', help='queue type')
    queue.add_argument('--durable', action='store_true', help='survive a broker restart')
    queue.add_argument('--auto-delete', action='store_true', help='delete when unused')
    queue.add_argument('--passive', action='store_true', help='only check it exists')
    _argument_option(queue)
    exchange = _kind_parser(kinds, 'exchange', 'declare an exchange', declare_exchange, 'declare')
    exchange.add_argument('name', help='exchange name')
    exchange.add_argument('--type', default='direct', help='direct, fanout, topic, headers...')
    exchange.add_argument('--durable', action='store_true', help='survive a broker restart')
    exchange.add_argument('--auto-delete', action='store_true', help='delete when unbound')
    exchange.add_argument('--internal', action='store_true', help='no direct publishing')
    exchange.add_argument('--passive', action='store_true', help='only check it exists')
    _argument_option(exchange)
    binding = _kind_parser(kinds, 'binding', 'bind a queue or exchange', declare_binding, 'declare')
    _binding_arguments(binding)


def _add_delete(commands: Any) -> None:
    parser = commands.add_parser(
        'delete',
        help='delete a queue, an exchange or a binding',
        description='Delete a queue, an exchange or a binding.',
        epilog=_DELETE_EPILOG + common.EXIT_CODES_HELP,
        formatter_class=common.help_formatter(),
    )
    kinds = parser.add_subparsers(dest='kind', metavar='KIND')
    kinds.required = True
    queue = _kind_parser(kinds, 'queue', 'delete a queue', delete_queue, 'delete')
    queue.add_argument('name', help='queue name')
    queue.add_argument('--if-unused', action='store_true', help='only if it has no consumers')
    queue.add_argument('--if-empty', action='store_true', help='only if it has no messages')
    exchange = _kind_parser(kinds, 'exchange', 'delete an exchange', delete_exchange, 'delete')
    exchange.add_argument('name', help='exchange name')
    exchange.add_argument('--if-unused', action='store_true', help='only if it has no bindings')
    binding = _kind_parser(kinds, 'binding', 'remove a binding', delete_binding, 'delete')
    _binding_arguments(binding)


def _add_purge(commands: Any) -> None:
    parser = commands.add_parser(
        'purge',
        help='remove every ready message of a queue',
        description='Remove every message of a queue that is not awaiting an ack.',
        epilog=_PURGE_EPILOG + common.EXIT_CODES_HELP,
        formatter_class=common.help_formatter(),
    )
    parser.add_argument('queue', help='queue name')
    common.add_common_arguments(parser)
    parser.set_defaults(run=common.guarded('purge', purge))


def add_parsers(commands: Any) -> None:
    """Register ``declare``, ``delete`` and ``purge`` with the sub-commands of ``pika``."""
    _add_declare(commands)
    _add_delete(commands)
    _add_purge(commands)
