"""``pika perf``: a load generator and meter for RabbitMQ in the spirit of PerfTest, built
on pika itself (so it also measures pika).

Modules: ``options`` (the command line), ``stats`` (counting and percentiles, no I/O),
``blocking_workers``, ``callback_workers`` and ``aio_workers`` (producers and consumers
per adapter),
``runner`` (the coordinator: threads or processes), ``report`` (what is printed) and
``plot`` (the optional chart).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any

from pika.cli import common
from pika.cli.perf import options as options_mod
from pika.cli.perf import report, runner

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

__all__ = ['add_parser', 'perf']


def perf(args: argparse.Namespace) -> int:
    """``pika perf``: run, report, summarise; exit 1 when a worker failed or messages were
    missing at the end of a ``-C`` run."""
    opts = options_mod.options_from(args)
    if opts.plot:
        from pika.cli.perf.plot import require_matplotlib

        require_matplotlib()
    if opts.adapter == 'blocking' and opts.confirm and opts.confirm > 1:
        print(
            'pika perf: note: the blocking adapter waits for each confirm (window 1); '
            'use --adapter select, asyncio or aio for a window',
            file=sys.stderr,
        )
    reporter = report.Reporter(opts)
    with _sigterm_as_interrupt():
        outcome = runner.run_perf(opts, reporter.row)
    record = report.summary_record(opts, outcome)
    reporter.summary(record)
    if opts.plot:
        _plot(opts, outcome)
    for error in outcome.errors:
        print(f'pika perf: error: {error}', file=sys.stderr)
    if outcome.incomplete:
        print(f'pika perf: error: {outcome.incomplete}', file=sys.stderr)
    return _exit_code(outcome)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``) ends the run as Ctrl-C does: workers stopped, the
    generated queue deleted, the summary printed."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f'signal {signum}')

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _plot(opts: Any, outcome: runner.Outcome) -> None:
    from pika.cli.perf.plot import write_chart

    title = f'pika perf: {opts.producers}x{opts.consumers} {opts.adapter}'
    title += ' (processes)' if opts.processes else ''
    title += f', {opts.queue_type} queue, {opts.size} B'
    title += f', confirms {opts.confirm}' if opts.confirm else ''
    title += f', prefetch {opts.prefetch}' if opts.prefetch else ''
    title += f', {opts.rate:g} msg/s' if opts.rate else ''
    write_chart(opts.plot, outcome.tally.rows, title)
    print(f'pika perf: chart written to {opts.plot}', file=sys.stderr)


def _exit_code(outcome: runner.Outcome) -> int:
    if outcome.interrupted:
        return common.EXIT_INTERRUPTED
    if outcome.errors or outcome.incomplete:
        return common.EXIT_FAILED
    return common.EXIT_OK


def add_parser(commands: Any) -> None:
    """Register ``perf`` with the sub-commands of ``pika``."""
    parser = commands.add_parser(
        'perf',
        help='load test: producers and consumers, rates and latency percentiles',
        description='Run producers and consumers against a broker and report send/receive '
        'rates and latency percentiles (from a timestamp in each message) every second, then '
        'a summary. Options follow RabbitMQ PerfTest.',
        epilog=options_mod.EPILOG,
        formatter_class=common.help_formatter(),
    )
    options_mod.add_arguments(parser)
    parser.set_defaults(run=common.guarded('perf', perf))
