"""The options of ``pika perf``: PerfTest's short names, long names, and their checks.

:class:`PerfOptions` is a plain picklable record: the coordinator hands it to every worker,
thread or process.
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Optional

from pika.cli import common
from pika.cli.perf.stats import TIMESTAMP
from pika.cli.topology import QUEUE_TYPES

__all__ = ['ADAPTERS', 'PerfOptions', 'add_arguments', 'options_from']

#: the adapters ``--adapter`` offers (``aio`` when the package has ``pika.aio``)
ADAPTERS = ('blocking', 'select', 'asyncio')
#: the prefetch of stream consumers when ``-q`` is not given (streams need one)
STREAM_PREFETCH = 1000

EPILOG = f"""examples:
  pika perf                                # 1 producer, 1 consumer, until Ctrl-C
  pika perf -x 1 -y 1 -z 10                # 10 seconds
  pika perf -x 2 -y 2 -C 10000 --json      # 10000 messages per producer, JSON lines
  pika perf -x 1 -y 1 -z 10 -c 100 -q 500  # confirms (100 in flight), prefetch 500
  pika perf -r 1000 -s 1024 -z 30          # 1000 msg/s per producer, 1 KiB bodies
  pika perf --adapter select -x 4 -y 4 --processes -z 20
  pika perf --queue-type quorum -u perf.q -z 10 --plot perf.png
  pika perf -e amq.topic -k orders.new -z 10  # through an exchange, bound to the queue

The summary's JSON (last line with --json) has: kind "summary", url (password masked),
adapter, producers, consumers, processes, queue, queue_type, exchange, routing_key,
body_size, confirm, prefetch, auto_ack, rate, duration, sent, confirmed, nacked, received,
sent_rate, received_rate (msg/s), latency_ms {{min, p50, p95, p99, max}}, cpu_seconds,
cpu_us_per_message, interrupted, errors. Each earlier line is an interval: kind
"interval", time, sent_rate, confirmed_rate, received_rate, p50, p95, p99. See docs/cli.md.
{common.EXIT_CODES_HELP}"""


@dataclass
class PerfOptions:
    """One run of ``pika perf``, as the options asked for it (its repr leaves out the URL,
    which may hold a password)."""

    url: str = field(repr=False)
    producers: int = 1
    consumers: int = 1
    size: int = 12
    rate: Optional[float] = None
    confirm: Optional[int] = None
    prefetch: Optional[int] = None
    auto_ack: bool = False
    multi_ack: int = 1
    duration: Optional[float] = None
    count: Optional[int] = None
    queue: Optional[str] = None
    queue_type: str = 'classic'
    predeclared: bool = False
    exchange: str = ''
    exchange_type: str = 'direct'
    routing_key: Optional[str] = None
    adapter: str = 'blocking'
    processes: bool = False
    persistent: bool = False
    json: bool = False
    plot: Optional[str] = None
    interval: float = 1.0
    timeout: float = 10.0

    def target(self, queue: str) -> tuple[str, str]:
        """Where producers publish: the exchange and the routing key (default: the queue's
        name, which the default exchange routes to the queue)."""
        return self.exchange, queue if self.routing_key is None else self.routing_key

    @property
    def expected(self) -> Optional[int]:
        """How many messages the consumers wait for in a ``-C`` run (None: no count)."""
        if self.count is None:
            return None
        return self.count * self.producers if self.producers else self.count


def adapters() -> tuple[str, ...]:
    """The adapter names this installation offers."""
    has_aio = importlib.util.find_spec('pika.aio') is not None
    return (*ADAPTERS, 'aio') if has_aio else ADAPTERS


def _positive(kind: type) -> Any:
    def convert(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
        return value

    convert.__name__ = kind.__name__
    return convert


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {text}')
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of ``pika perf`` (the PerfTest short names where PerfTest has one)."""
    load = parser.add_argument_group('load')
    load.add_argument('-x', '--producers', type=_count, default=1, help='producers (default 1)')
    load.add_argument('-y', '--consumers', type=_count, default=1, help='consumers (default 1)')
    load.add_argument(
        '-s',
        '--size',
        type=int,
        default=12,
        help=f'body bytes (default 12, at least {TIMESTAMP.size})',
    )
    load.add_argument(
        '-r', '--rate', type=_positive(float), help='msg/s per producer (default: max)'
    )
    load.add_argument(
        '-C',
        '--pmessages',
        dest='count',
        type=_positive(int),
        help='messages per producer, then stop',
    )
    load.add_argument(
        '-z', '--time', dest='duration', type=_positive(float), help='run for this many seconds'
    )
    load.add_argument('-f', '--persistent', action='store_true', help='delivery mode 2')
    flow = parser.add_argument_group('flow control')
    flow.add_argument(
        '-c',
        '--confirm',
        type=_positive(int),
        metavar='WINDOW',
        help='publisher confirms, at most WINDOW unconfirmed per producer',
    )
    flow.add_argument(
        '-q',
        '--qos',
        dest='prefetch',
        type=_positive(int),
        help='consumer prefetch (default: none; streams: 1000)',
    )
    flow.add_argument(
        '-a', '--autoack', dest='auto_ack', action='store_true', help='consume without acks'
    )
    flow.add_argument(
        '-A',
        '--multi-ack-every',
        dest='multi_ack',
        type=_positive(int),
        default=1,
        metavar='N',
        help='ack every N messages at once (default 1)',
    )
    where = parser.add_argument_group('where')
    where.add_argument(
        '-u', '--queue', help='queue name (default: a fresh queue, deleted afterwards)'
    )
    where.add_argument(
        '-p',
        '--predeclared',
        action='store_true',
        help='the queue (and binding) exist: use them as they are, declare nothing',
    )
    where.add_argument(
        '-e', '--exchange', default='', help="exchange to publish to (default: '', the default)"
    )
    where.add_argument(
        '-t', '--type', dest='exchange_type', default='direct', help='its type (default direct)'
    )
    where.add_argument(
        '-k', '--routing-key', help='routing and binding key (default: the queue name)'
    )
    where.add_argument(
        '--queue-type', choices=QUEUE_TYPES, default='classic', help='(default classic)'
    )
    where.add_argument(
        '--adapter',
        choices=adapters(),
        default='blocking',
        help='client adapter (default blocking)',
    )
    where.add_argument(
        '--processes',
        action='store_true',
        help='each producer and consumer in a process of its own (more than one core)',
    )
    out = parser.add_argument_group('output')
    out.add_argument('--json', action='store_true', help='JSON lines; the last one is the summary')
    out.add_argument(
        '--plot',
        metavar='PNG',
        help='write a rate/latency chart (needs matplotlib: pika[perf-plot])',
    )
    out.add_argument(
        '-i',
        '--interval',
        type=_positive(float),
        default=1.0,
        help='seconds per report line (default 1)',
    )
    common.add_common_arguments(parser)


def options_from(args: argparse.Namespace) -> PerfOptions:
    """Check the combination of options and build the record; :class:`common.CliError`
    (exit 2) names the first one that cannot work."""
    if args.size < TIMESTAMP.size:
        raise common.CliError(
            f'-s/--size must be at least {TIMESTAMP.size} (the timestamp)', common.EXIT_USAGE
        )
    if args.producers == 0 and args.consumers == 0:
        raise common.CliError('nothing to do: -x 0 and -y 0', common.EXIT_USAGE)
    if args.queue_type == 'stream' and args.auto_ack:
        raise common.CliError('stream consumers must ack: drop -a/--autoack', common.EXIT_USAGE)
    prefetch = args.prefetch
    if args.predeclared and not args.queue:
        raise common.CliError('-p/--predeclared needs -u/--queue NAME', common.EXIT_USAGE)
    if prefetch is None and args.queue_type == 'stream':
        prefetch = STREAM_PREFETCH
    values = {name: getattr(args, name) for name in _COPIED}
    return PerfOptions(url=common.resolve_url(args.url), prefetch=prefetch, **values)


_COPIED = (
    'producers',
    'consumers',
    'size',
    'rate',
    'confirm',
    'auto_ack',
    'multi_ack',
    'duration',
    'count',
    'queue',
    'queue_type',
    'predeclared',
    'exchange',
    'exchange_type',
    'routing_key',
    'adapter',
    'processes',
    'persistent',
    'json',
    'plot',
    'interval',
    'timeout',
)
