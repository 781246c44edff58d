"""``pika perf --plot out.png``: the rates and latency percentiles of each interval as a
PNG chart. Needs matplotlib (the ``perf-plot`` extra); nothing else in pika imports it."""

from __future__ import annotations

from typing import Any

from pika.cli import common

__all__ = ['require_matplotlib', 'write_chart']

MISSING = (
    '--plot needs matplotlib, which is not installed: pip install "pika[perf-plot]" '
    '(or pip install matplotlib)'
)


def require_matplotlib() -> None:
    """Fail before the run (exit 2) when matplotlib is missing, not after it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise common.CliError(MISSING, common.EXIT_USAGE) from None


def write_chart(path: str, rows: list[dict[str, Any]], title: str) -> None:
    """Two panels against time: send/receive rates, then latency p50/p95/p99."""
    import matplotlib

    matplotlib.use('Agg')  # files only: no display needed
    from matplotlib import pyplot

    times = [row['time'] for row in rows]
    figure, (rates, latency) = pyplot.subplots(2, 1, sharex=True, figsize=(9, 6))
    rates.plot(times, [row['sent_rate'] for row in rows], label='sent')
    rates.plot(times, [row['received_rate'] for row in rows], label='received')
    rates.set_ylabel('msg/s')
    rates.legend(loc='lower right')
    rates.set_title(title)
    for pct in ('p50', 'p95', 'p99'):
        latency.plot(times, [row[pct] for row in rows], label=pct)
    latency.set_ylabel('latency (ms)')
    latency.set_xlabel('time (s)')
    latency.legend(loc='upper right')
    for axis in (rates, latency):
        axis.grid(True, alpha=0.3)
        axis.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, format='png', dpi=100)
    pyplot.close(figure)
