"""What ``pika perf`` prints: a progress bar on a terminal, a plain line per interval
otherwise, JSON lines with ``--json``; then the summary (with ``--json``: one JSON object,
the last line of the output)."""

from __future__ import annotations

import json
import sys
from typing import IO, TYPE_CHECKING, Any, Optional

from pika.cli.check import mask_url

if TYPE_CHECKING:
    from pika.cli.perf.options import PerfOptions
    from pika.cli.perf.runner import Outcome
    from pika.cli.perf.stats import Tally

__all__ = ['Reporter', 'summary_record']

BAR_WIDTH = 24


def _ms(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def _rate(value: float) -> str:
    return f'{value:,.0f}'


def interval_line(row: dict[str, Any]) -> str:
    """One interval as a plain line."""
    return (
        f'time {row["time"]:7.1f} s  sent {_rate(row["sent_rate"]):>9} msg/s  '
        f'received {_rate(row["received_rate"]):>9} msg/s  latency ms p50 {_ms(row["p50"])} '
        f'p95 {_ms(row["p95"])} p99 {_ms(row["p99"])}'
    )


def progress(opts: PerfOptions, tally: Tally) -> Optional[float]:
    """How far the run is, 0..1 (None when it runs until Ctrl-C)."""
    fractions = []
    if opts.duration is not None:
        fractions.append(tally.elapsed() / opts.duration)
    if opts.expected:
        done = tally.received if opts.consumers else tally.sent
        fractions.append(done / opts.expected)
    return min(1.0, max(fractions)) if fractions else None


def bar(fraction: Optional[float]) -> str:
    """``[#####.....]  45%`` (a spinner-free ``[running]`` without an end)."""
    if fraction is None:
        return '[running]'
    filled = int(fraction * BAR_WIDTH)
    return f'[{"#" * filled}{"." * (BAR_WIDTH - filled)}] {fraction * 100:3.0f}%'


def summary_record(opts: PerfOptions, outcome: Outcome) -> dict[str, Any]:
    """The summary as one JSON-ready dict (schema in docs/cli.md)."""
    record: dict[str, Any] = {
        'kind': 'summary',
        'url': mask_url(opts.url),
        'adapter': opts.adapter,
        'producers': opts.producers,
        'consumers': opts.consumers,
        'processes': opts.processes,
        'queue': outcome.queue,
        'queue_type': opts.queue_type,
        'exchange': opts.exchange,
        'routing_key': opts.target(outcome.queue)[1],
        'body_size': opts.size,
        'confirm': opts.confirm,
        'prefetch': opts.prefetch,
        'auto_ack': opts.auto_ack,
        'rate': opts.rate,
    }
    record.update(outcome.tally.totals(outcome.seconds))
    operations = outcome.tally.sent + outcome.tally.received
    record['cpu_seconds'] = round(outcome.cpu_seconds, 3)
    record['cpu_us_per_message'] = (
        round(outcome.cpu_seconds / operations * 1e6, 2) if operations else None
    )
    record['interrupted'] = outcome.interrupted
    record['errors'] = outcome.errors
    if outcome.incomplete:
        record['incomplete'] = outcome.incomplete
    return record


def summary_lines(record: dict[str, Any]) -> list[str]:
    """The summary for people."""
    lat = record['latency_ms']
    confirm = f', confirms window {record["confirm"]}' if record['confirm'] else ''
    lines = [
        f'summary: {record["producers"]} producers, {record["consumers"]} consumers, '
        f'adapter {record["adapter"]}{" (processes)" if record["processes"] else ""}, '
        f'{record["queue_type"]} queue, {record["body_size"]} B bodies{confirm}, '
        f'{record["duration"]:.2f} s',
        f'  sent      {record["sent"]:>10} msg  {_rate(record["sent_rate"]):>10} msg/s',
    ]
    if record['confirm']:
        lines.append(f'  confirmed {record["confirmed"]:>10} msg  (nacked {record["nacked"]})')
    lines.append(
        f'  received  {record["received"]:>10} msg  {_rate(record["received_rate"]):>10} msg/s'
    )
    if record['cpu_us_per_message'] is not None:
        lines.append(
            f'  client CPU {record["cpu_seconds"]:.2f} s, '
            f'{record["cpu_us_per_message"]:.1f} us per message sent or received'
        )
    lines.append(
        f'  latency ms  min {_ms(lat["min"])}  p50 {_ms(lat["p50"])}  p95 {_ms(lat["p95"])}  '
        f'p99 {_ms(lat["p99"])}  max {_ms(lat["max"])}'
    )
    return lines


class Reporter:
    """Prints the rows as they close and the summary at the end."""

    def __init__(self, opts: PerfOptions, out: IO[str] = sys.stdout) -> None:
        self.opts = opts
        self.out = out
        self.tty: bool = not opts.json and out.isatty()
        self.bar_shown: bool = False

    def row(self, row: dict[str, Any], tally: Tally) -> None:
        """An interval closed."""
        if self.opts.json:
            self._print(json.dumps(row))
        elif self.tty:
            text = f'\r{bar(progress(self.opts, tally))} {interval_line(row)}'
            self.out.write(text + '\x1b[K')
            self.out.flush()
            self.bar_shown = True
        else:
            self._print(interval_line(row))

    def summary(self, record: dict[str, Any]) -> None:
        """The run ended."""
        if self.bar_shown:
            self.out.write('\n')
        if self.opts.json:
            self._print(json.dumps(record))
            return
        for line in summary_lines(record):
            self._print(line)

    def _print(self, text: str) -> None:
        self.out.write(text + '\n')
        self.out.flush()
