"""The price of automatic recovery end to end: instructions per message, recovery off vs on.

Issue 15 allows recovery on to cost 5% more than recovery off on publish and consume. Timed
runs on the shared 2-core machine swing by more than that, so this counts instructions: each
client process of ``bench/run.py`` (``scenarios_ours.py``, the very same scenario code, against
the broker on 127.0.0.1:5672) runs under ``valgrind --tool=callgrind``, once with N and once
with 2N messages, and the difference divided by N is the cost of one message, start-up and
connection set-up excluded. The broker's work is not counted (another process).

Usage: ``.venv/bin/python bench/recovery_cost.py [--count N] [--scenarios publish consume]
[--adapters blocking select]``; prints one line per (scenario, adapter) with off, on and on/off.

``--timed R`` measures time instead: R pairs of the same client processes without valgrind,
the order within a pair alternating (off first, then on first), and prints the median CPU
seconds per message of each side (the client's timed section, as ``bench/run.py`` reports) and
the median of the pairs' on/off ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import raw_ceiling  # noqa: E402  (stdlib-only helper living next to this script)

BODY_SIZE = 100


def instructions(adapter: str, scenario: str, count: int, recovery: bool) -> int:
    """Instructions callgrind counted in one client process running ``count`` messages."""
    proc = run_client(adapter, scenario, count, recovery, callgrind=True)
    match = re.search(r'Collected : (\d+)', proc.stderr)
    if match is None:
        raise RuntimeError(f'no instruction count from valgrind:\n{proc.stderr[-2000:]}')
    return int(match.group(1))


def cpu_per_message(adapter: str, scenario: str, count: int, recovery: bool) -> float:
    """CPU seconds per message of the client's timed section, in one process."""
    proc = run_client(adapter, scenario, count, recovery, callgrind=False)
    return float(json.loads(proc.stdout.strip().splitlines()[-1])['cpu']) / count


def run_client(
    adapter: str, scenario: str, count: int, recovery: bool, *, callgrind: bool
) -> subprocess.CompletedProcess[str]:
    """One ``scenarios_ours.py`` process on a fresh queue (prefilled to consume)."""
    queue = f'bench-cost-{scenario}-{uuid.uuid4().hex[:12]}'
    job = {
        'library': 'ours',
        'adapter': adapter,
        'scenario': scenario,
        'queue': queue,
        'count': count,
        'body_size': BODY_SIZE,
        'recovery': recovery,
    }
    if scenario == 'consume':
        raw_ceiling.prefill(queue, count, BODY_SIZE)
    else:
        raw_ceiling.declare(queue)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, 'cg.out')
            cmd = (
                ['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}'] if callgrind else []
            )
            cmd += [sys.executable, str(BENCH_DIR / 'scenarios_ours.py'), json.dumps(job)]
            env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
            proc = subprocess.run(
                cmd, capture_output=True, text=True, cwd=str(BENCH_DIR), env=env, timeout=900
            )
    finally:
        raw_ceiling.delete(queue)
    if '"ok": true' not in proc.stdout:
        raise RuntimeError(f'{adapter} {scenario} failed: {proc.stdout[-500:]}')
    return proc


def timed(adapter: str, scenario: str, count: int, pairs: int) -> tuple[float, float, float]:
    """Median CPU per message off, on, and the median of the pairs' on/off ratios."""
    offs: list[float] = []
    ons: list[float] = []
    for pair in range(pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        got = {rec: cpu_per_message(adapter, scenario, count, rec) for rec in order}
        offs.append(got[False])
        ons.append(got[True])
    ratios = [on / off for on, off in zip(ons, offs)]
    return statistics.median(offs), statistics.median(ons), statistics.median(ratios)


def per_message(adapter: str, scenario: str, count: int, recovery: bool) -> float:
    """(instructions(2N) - instructions(N)) / N."""
    small = instructions(adapter, scenario, count, recovery)
    large = instructions(adapter, scenario, 2 * count, recovery)
    return (large - small) / count


def main(argv: list[str] | None = None) -> int:
    """Print off, on and on/off per (scenario, adapter)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--count', type=int, default=20_000, help='N (default 20000)')
    parser.add_argument('--scenarios', nargs='+', default=['publish', 'consume'])
    parser.add_argument('--adapters', nargs='+', default=['blocking', 'select'])
    parser.add_argument('--timed', type=int, metavar='R', help='R timed pairs, no valgrind')
    args = parser.parse_args(argv)
    if args.timed:
        print(f'CPU us per message (N={args.count}, {args.timed} pairs, medians)')
        for scenario in args.scenarios:
            for adapter in args.adapters:
                off, on, ratio = timed(adapter, scenario, args.count, args.timed)
                print(
                    f'{scenario:17} {adapter:9} off {off * 1e6:6.2f}  on {on * 1e6:6.2f}'
                    f'  on/off (median of pairs) {ratio:.3f}'
                )
        return 0
    print(f'instructions per message (N={args.count}, 2N minus N), client process only')
    for scenario in args.scenarios:
        for adapter in args.adapters:
            off = per_message(adapter, scenario, args.count, recovery=False)
            on = per_message(adapter, scenario, args.count, recovery=True)
            print(
                f'{scenario:8} {adapter:9} off {off:>9,.0f}  on {on:>9,.0f}  on/off {on / off:.3f}'
            )
    return 0


if __name__ == '__main__':
    sys.exit(main())
