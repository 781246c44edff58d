"""The arithmetic of ``pika perf`` (pika/cli/perf/stats.py) and its report formatting,
without a broker."""

from __future__ import annotations

import io
import json
import queue
import random
from typing import Any

import pytest

from pika.cli import main
from pika.cli.perf import options, report, runner
from pika.cli.perf.stats import (
    ConfirmWindow,
    LatencyDigest,
    Meter,
    Pacer,
    Tally,
    body_template,
    percentile,
)


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7], 95) == 7


def test_digest_is_exact_for_small_intervals() -> None:
    digest = LatencyDigest(keep=1000)
    digest.add_sorted([1_000_000 * n for n in range(1, 101)])  # 1..100 ms
    result = digest.percentiles()
    assert result == {'min': 1.0, 'max': 100.0, 'p50': 50.0, 'p95': 95.0, 'p99': 99.0}


def test_digest_stays_close_when_it_samples() -> None:
    rng = random.Random(7)
    digest = LatencyDigest(keep=200)
    everything: list[int] = []
    for _ in range(20):
        interval = sorted(rng.randrange(1, 10**8) for _ in range(rng.randrange(500, 5000)))
        everything.extend(interval)
        digest.add_sorted(interval)
    everything.sort()
    result = digest.percentiles()
    for pct in (50, 95, 99):
        exact = percentile(everything, pct) / 1e6
        assert abs(result[f'p{pct}'] - exact) < 1.5, (pct, result, exact)  # within 1.5% of 100 ms
    assert result['min'] == round(everything[0] / 1e6, 3)
    assert result['max'] == round(everything[-1] / 1e6, 3)
    assert digest.count == len(everything)
    assert sum(len(values) for _, values in digest.samples) < 20 * 250


def test_empty_digest_has_no_percentiles() -> None:
    assert LatencyDigest().percentiles() == dict.fromkeys(['min', 'p50', 'p95', 'p99', 'max'])


def test_confirm_window_single_and_multiple_acks() -> None:
    window = ConfirmWindow()
    window.published = 10
    assert window.settle(3, multiple=False) == 1
    assert window.settle(5, multiple=False) == 1
    assert window.outstanding == 8
    assert window.settle(4, multiple=True) == 3  # 1, 2 and 4; 3 was already settled
    assert (window.floor, window.above) == (5, set())  # 5 joined the floor
    assert window.settle(2, multiple=True) == 0  # stale
    assert window.settle(10, multiple=True) == 5
    assert window.outstanding == 0


def test_pacer_spreads_the_rate() -> None:
    pacer = Pacer(100.0, start=10.0)
    assert pacer.allowed(0, 10.0, most=50) == 1
    assert pacer.allowed(1, 10.0, most=50) == 0
    assert pacer.delay(1, 10.0) == pytest.approx(0.01)
    assert pacer.allowed(1, 10.5, most=50) == 50
    assert pacer.allowed(1, 10.5, most=10) == 10
    unlimited = Pacer(None, start=0.0)
    assert unlimited.allowed(10**6, 0.0, most=100) == 100
    assert unlimited.delay(10**6, 0.0) == 0.0


def test_meter_reports_only_what_it_counted() -> None:
    sink: queue.SimpleQueue[Any] = queue.SimpleQueue()
    meter = Meter(sink, worker=3)
    meter.flush()
    assert sink.empty()
    meter.sent += 5
    meter.latencies.append(1000)
    meter.flush()
    assert sink.get_nowait() == ('stats', 3, 5, 0, 0, [1000])
    assert (meter.sent, meter.latencies) == (0, [])


def test_tally_rows_and_totals() -> None:
    now = [0.0]
    tally = Tally(clock=lambda: now[0])
    tally.add(100, 0, 0, [2_000_000] * 50)
    tally.add(0, 0, 0, [4_000_000] * 50)
    now[0] = 2.0
    row = tally.close_interval()
    assert row == {
        'kind': 'interval',
        'time': 2.0,
        'sent_rate': 50.0,
        'confirmed_rate': 0.0,
        'received_rate': 50.0,
        'p50': 2.0,
        'p95': 4.0,
        'p99': 4.0,
    }
    assert not tally.has_open_interval()
    totals = tally.totals(2.0)
    assert (totals['sent'], totals['received'], totals['received_rate']) == (100, 100, 50.0)
    assert totals['latency_ms']['p50'] == 2.0


def test_body_template_keeps_the_size() -> None:
    assert len(body_template(12)) == 4
    assert body_template(8) == b''


def test_summary_record_masks_the_password() -> None:
    opts = options.PerfOptions(url='amqp://app:s3cret@host/%2F', count=10)
    tally = Tally()
    tally.add(100, 0, 0, [1_000_000] * 100)
    outcome = runner.Outcome(tally, queue='q', seconds=1.0, cpu_seconds=0.002)
    record = report.summary_record(opts, outcome)
    assert record['url'] == 'amqp://app:***@host/%2F'
    assert (record['cpu_seconds'], record['cpu_us_per_message']) == (0.002, 10.0)
    out = io.StringIO()
    report.Reporter(opts, out).summary(record)
    assert 's3cret' not in out.getvalue()
    assert out.getvalue().startswith('summary: 1 producers, 1 consumers, adapter blocking')
    assert '  client CPU 0.00 s, 10.0 us per message sent or received\n' in out.getvalue()
    json_opts = options.PerfOptions(url='amqp://localhost', json=True)
    out = io.StringIO()
    report.Reporter(json_opts, out).summary(record)
    assert json.loads(out.getvalue().splitlines()[-1])['kind'] == 'summary'


def test_options_repr_leaves_out_the_url() -> None:
    opts = options.PerfOptions(url='amqp://app:s3cret@host/%2F')
    assert 's3cret' not in repr(opts)
    assert 'producers=1' in repr(opts)


def test_progress_bar() -> None:
    assert report.bar(None) == '[running]'
    assert report.bar(0.5).startswith('[' + '#' * 12 + '.' * 12 + ']')


@pytest.mark.parametrize(
    ('argv', 'message'),
    [
        (['-s', '4'], 'at least 8'),
        (['-x', '0', '-y', '0'], 'nothing to do'),
        (['--queue-type', 'stream', '-a'], 'must ack'),
    ],
)
def test_impossible_options_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(['perf', *argv]) == 2
    assert message in capsys.readouterr().err


def test_stream_runs_get_a_prefetch(capsys: pytest.CaptureFixture[str]) -> None:
    from pika.cli import build_parser

    args = build_parser().parse_args(['perf', '--queue-type', 'stream', '-C', '5'])
    opts = options.options_from(args)
    assert opts.prefetch == options.STREAM_PREFETCH
    assert opts.expected == 5


def test_perf_help_lists_the_perftest_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(['perf', '--help'])
    out = capsys.readouterr().out
    for flag in '-x -y -s -r -c -q -a -z -C -u -p -e -t -k'.split():
        assert f'  {flag} ' in out or f'  {flag}, ' in out, flag
    assert 'examples:\n  pika perf' in out
    assert '--json' in out
    assert '--processes' in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_bar_rewritten_in_place() -> None:
    opts = options.PerfOptions(url='amqp://localhost', duration=10.0)
    out = _Terminal()
    reporter = report.Reporter(opts, out)
    now = [0.0]
    tally = Tally(clock=lambda: now[0])
    now[0] = 5.0
    reporter.row(tally.close_interval(), tally)
    assert out.getvalue().startswith('\r[' + '#' * 12 + '.' * 12 + ']  50% time     5.0 s')
    assert out.getvalue().endswith('\x1b[K')  # clears what a longer previous line left
    outcome = runner.Outcome(tally, queue='q', seconds=5.0)
    reporter.summary(report.summary_record(opts, outcome))
    assert '\x1b[K\nsummary: ' in out.getvalue()  # the bar's line is ended first


class _Ended:
    """A stand-in for a worker process or thread, as far as the coordinator looks at it."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode


def test_a_worker_process_that_died_silently_ends_the_run() -> None:
    coordinator = runner.Coordinator(options.PerfOptions(url='amqp://localhost'), 'q', print)
    coordinator.members = [(_Ended(None), {0}), (_Ended(-9), {1}), (_Ended(0), {2})]
    coordinator.check_lost()
    assert coordinator.done == {1}  # running (None) and clean exits (0) report by themselves
    assert coordinator.outcome.errors == [
        'worker 1: its process exited with code -9 without reporting its end'
    ]
    coordinator.check_lost()
    assert len(coordinator.outcome.errors) == 1  # once per worker
