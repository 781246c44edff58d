"""`pika.aio` side by side with aio-pika and aiormq, in the same run.

Usage (from the repository root)::

    .venv/bin/python bench/aio.py [--quick] [--runs N] [--scale F] [--clients C ...]
                                  [--scenarios S ...]

Like ``bench/run.py``: every measurement is its own subprocess (``bench/aio_scenarios.py``);
ours runs under this interpreter with the repository on ``PYTHONPATH``, aio-pika 10.2.1 and
aiormq 7.2.4 under ``bench/.venv-aio-ref`` (created on first use, gitignored), so the clients
never share a process. Clients are interleaved within each run, in an order that changes from
run to run so that no client always follows the same one (``raw_ceiling.run_order``, shared
with ``run.py``), and each figure is the median over the runs. This process declares, prefills
and deletes the queues with the raw-socket client, so no client pays for set-up.

Scenarios (100-byte bodies): ``publish`` (no confirms), ``consume`` (ack each, prefetch 1000),
``confirm`` (pipelined confirms, 1000 in flight), ``rpc`` (Queue.Declare round trips; p50
against the raw-socket ceiling). Reported: msgs/s, client CPU us/msg (process CPU time), and
the issue's targets as ratios (never asserted).

Two references for ``rpc``: ``raw`` is the ceiling of the issue's target (a blocking socket
that sends the request and blocks in ``recv``); ``raw-asyncio`` (and ``raw-uvloop`` when uvloop
is installed) is the floor of any asyncio client: the same request written through an asyncio
transport and awaited on a future its protocol settles, so the same two loop turns per round
trip as every asyncio client (the read callback, then the task's wake-up). They measure ``rpc``
only; ours is compared against both.

``--quick`` is the CI smoke: our client on asyncio and trio (and the asyncio floor), small
counts, one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
import venv
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import raw_ceiling  # noqa: E402  (stdlib-only helper living next to this script)

REF_VENV = BENCH_DIR / '.venv-aio-ref'
REF_REQUIREMENTS = ['aio-pika==10.2.1', 'aiormq==7.2.4']
STAMP = 'installed-requirements.txt'
HAVE_UVLOOP = importlib.util.find_spec('uvloop') is not None
FLOOR_CLIENTS = ('raw-asyncio', 'raw-uvloop') if HAVE_UVLOOP else ('raw-asyncio',)
CLIENTS = ('ours', 'ours-uvloop', 'ours-trio', 'aio-pika', 'aiormq', 'raw', *FLOOR_CLIENTS)
REF_CLIENTS = ('aio-pika', 'aiormq')
#: clients that measure only these scenarios (the others are skipped for them)
ONLY = {client: ('rpc',) for client in FLOOR_CLIENTS}
QUICK_CLIENTS = ('ours', 'ours-trio', 'raw-asyncio')
BODY_SIZE = 100
# name: (full count, quick count)
SCENARIOS = {
    'publish': (20_000, 1_000),
    'consume': (20_000, 1_000),
    'confirm': (20_000, 1_000),
    'rpc': (2_000, 100),
}
# the targets: ours vs aio-pika (msgs/s at least, CPU/msg at most), RPC p50 vs raw
SPEED_TARGETS = {'publish': 5.0, 'consume': 5.0, 'confirm': 3.0}
CPU_TARGET = 0.10
RPC_TARGET = 1.15


def ref_python() -> Path:
    """The aio-pika/aiormq interpreter; creates ``bench/.venv-aio-ref`` on first use."""
    python = REF_VENV / 'bin' / 'python'
    stamp = REF_VENV / STAMP
    if python.exists() and stamp.exists() and stamp.read_text().split() == REF_REQUIREMENTS:
        return python
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(str(REF_VENV))
    cmd = [str(python), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']
    proc = subprocess.run([*cmd, *REF_REQUIREMENTS], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'could not install {REF_REQUIREMENTS}:\n{proc.stderr}')
    stamp.write_text('\n'.join(REF_REQUIREMENTS) + '\n')
    return python


def command(client: str) -> tuple[list[str], dict[str, str]]:
    """The interpreter command line and environment measuring ``client``."""
    script = str(BENCH_DIR / 'aio_scenarios.py')
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}
    if client in REF_CLIENTS:
        # -E -s: no PYTHONPATH, no user site; the bench directory (the script's) stays importable
        return [str(ref_python()), '-E', '-s', script], env
    env['PYTHONPATH'] = str(ROOT)
    return [sys.executable, script], env


def measure(client: str, scenario: str, count: int) -> dict[str, Any]:
    """Prepare a fresh queue, run one measurement subprocess, delete the queue."""
    queue = f'bench.aio.{uuid.uuid4().hex[:10]}'
    if scenario == 'consume':
        raw_ceiling.prefill(queue, count, BODY_SIZE)
    else:
        raw_ceiling.declare(queue)
    job = {'client': client, 'scenario': scenario, 'queue': queue, 'count': count,
           'body_size': BODY_SIZE}  # fmt: skip
    cmd, env = command(client)
    try:
        proc = subprocess.run([*cmd, json.dumps(job)], capture_output=True, text=True,
                              timeout=60 + count * 0.01, cwd=str(BENCH_DIR), env=env)  # fmt: skip
        lines = proc.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {'ok': False, 'error': proc.stderr[-500:]}
    except subprocess.TimeoutExpired:
        result = {'ok': False, 'error': 'timed out'}
    finally:
        raw_ceiling.delete(queue)
    result.update(client=client, scenario=scenario)
    if result.get('ok'):
        result['msgs_per_s'] = result['count'] / result['elapsed']
        result['cpu_us'] = result['cpu'] / result['count'] * 1e6
    return result


def median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row.get('ok') and key in row]
    return statistics.median(values) if values else None


def summarize(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Median msgs/s, CPU us/msg and RPC p50 per (scenario, client)."""
    summary: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row['scenario'], row['client'])
        summary.setdefault(key, {'rows': []})['rows'].append(row)
    for entry in summary.values():
        runs = entry.pop('rows')
        entry['runs'] = sum(1 for row in runs if row.get('ok'))
        entry['errors'] = [row['error'] for row in runs if not row.get('ok')]
        for key in ('msgs_per_s', 'cpu_us', 'p50_us'):
            entry[key] = median(runs, key)
    return summary


def _fmt(value: float | None, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def table(summary: dict[tuple[str, str], dict[str, Any]], scenarios: list[str],
          clients: list[str]) -> str:  # fmt: skip
    """The results as a Markdown table: one row per scenario and client."""
    lines = ['| scenario | client | msgs/s | CPU us/msg | RPC p50 us | runs |',
             '|---|---|---:|---:|---:|---:|']  # fmt: skip
    for scenario in scenarios:
        for client in clients:
            entry = summary.get((scenario, client))
            if entry is None:
                continue
            cells = [scenario, client, _fmt(entry['msgs_per_s'], ',.0f'),
                     _fmt(entry['cpu_us'], '.1f'), _fmt(entry['p50_us'], '.0f'),
                     str(entry['runs'])]  # fmt: skip
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def targets(summary: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """The issue's targets for our asyncio client, as lines saying met or missed."""
    out = []

    def get(scenario: str, client: str, key: str) -> float | None:
        return summary.get((scenario, client), {}).get(key)

    for scenario, want in SPEED_TARGETS.items():
        speed = _ratio(get(scenario, 'ours', 'msgs_per_s'), get(scenario, 'aio-pika', 'msgs_per_s'))
        cpu = _ratio(get(scenario, 'ours', 'cpu_us'), get(scenario, 'aio-pika', 'cpu_us'))
        if speed is not None:
            verdict = 'met' if speed >= want else 'MISSED'
            out.append(f'{scenario}: {speed:.1f}x aio-pika msgs/s (target >= {want:g}x): {verdict}')
        if cpu is not None:
            verdict = 'met' if cpu <= CPU_TARGET else 'MISSED'
            out.append(f'{scenario}: CPU/msg {cpu:.3f} of aio-pika (target <= 0.1): {verdict}')
    rpc = _ratio(get('rpc', 'ours', 'p50_us'), get('rpc', 'raw', 'p50_us'))
    if rpc is not None:
        verdict = 'met' if rpc <= RPC_TARGET else 'MISSED'
        out.append(f'rpc: p50 {rpc:.2f}x the raw ceiling (target <= 1.15x): {verdict}')
    for ours, floor in (('ours', 'raw-asyncio'), ('ours-uvloop', 'raw-uvloop')):
        ratio = _ratio(get('rpc', ours, 'p50_us'), get('rpc', floor, 'p50_us'))
        if ratio is not None:
            out.append(f'rpc: {ours} p50 {ratio:.2f}x the {floor} floor (no target; the same '
                       'two loop turns per round trip)')  # fmt: skip
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='CI smoke: ours only, small counts')
    parser.add_argument('--runs', type=int, default=None, help='interleaved runs (default 5)')
    parser.add_argument('--scale', type=float, default=1.0, help='multiply the message counts')
    floors = ', '.join(FLOOR_CLIENTS)
    parser.add_argument(
        '--clients', nargs='+', choices=CLIENTS, default=None,
        help=f'default: all ({floors}: rpc only)',
    )  # fmt: skip
    parser.add_argument('--scenarios', nargs='+', choices=list(SCENARIOS), default=None)
    parser.add_argument('--json', type=Path, default=None, help='also write the rows here')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clients = list(args.clients or (QUICK_CLIENTS if args.quick else CLIENTS))
    scenarios = list(args.scenarios or SCENARIOS)
    runs = args.runs or (1 if args.quick else 5)
    if any(client in REF_CLIENTS for client in clients):
        ref_python()
    started = time.time()
    load = os.getloadavg()[0]
    rows = []
    for run in range(runs):
        for scenario in scenarios:
            count = max(1, int(SCENARIOS[scenario][1 if args.quick else 0] * args.scale))
            for client in raw_ceiling.run_order(clients, run):
                if scenario not in ONLY.get(client, SCENARIOS):
                    continue
                row = measure(client, scenario, count)
                row['run'] = run
                rows.append(row)
                if not row.get('ok'):
                    print(f'run {run} {scenario} {client}: FAILED {row.get("error")}')
    summary = summarize(rows)
    print(f'\n{runs} run(s), {time.time() - started:.0f} s, load average at start {load:.1f}, '
          f'{os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n')  # fmt: skip
    print(table(summary, scenarios, clients))
    for line in targets(summary):
        print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))
    failed = [row for row in rows if not row.get('ok')]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
