"""The ``pika`` command line (also ``python -m pika``): standard library and pika only.

Each sub-command lives in its own module and registers itself with :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from pika.cli import check, messages, perf, topology

__all__ = ['build_parser', 'main']

_DESCRIPTION = 'Tools around a RabbitMQ (AMQP 0-9-1) broker, built on the pika library.'
_EPILOG = """examples:
  pika check                                   # the local broker as guest/guest
  pika check amqp://app:secret@rabbit:5672/prod
  pika declare queue orders --durable
  pika publish -q orders --body hello
  pika consume orders --count 1
  pika purge orders
  pika perf -x 2 -y 2 -z 10                    # load test: rates and latencies
  pika delete queue orders
  pika check --help                            # help of one sub-command

Every sub-command but check takes --url (default: $PIKA_URL, else the local broker).
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog='pika',
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')
    commands.required = True
    check.add_parser(commands)
    messages.add_parsers(commands)
    topology.add_parsers(commands)
    perf.add_parser(commands)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return int(args.run(args))
