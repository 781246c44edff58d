"""The one benchmark command: our client vs pika 1.4.4 vs a raw-socket ceiling.

Usage (from the repository root)::

    .venv/bin/python bench/run.py [--quick] [--runs N] [--rss] [--scenarios S ...]
                                  [--clients C ...] [--baseline REV] [--write-docs] [--no-chart]

Why it is shaped like this: every measurement runs in its own subprocess so that the two
libraries never share an interpreter (ours with ``.venv/bin/python bench/scenarios_ours.py``,
pika 1.4.4 with ``bench/.venv-pika/bin/python bench/scenarios_pika.py``, the ceiling with
``bench/raw_ceiling.py``). Clients are interleaved within each run, in an order that changes
from run to run so that no client always follows the same one (``raw_ceiling.run_order``, a
balanced cross-over design; the JSON's ``meta.client_order`` lists it): broker warm-up, machine
noise and whatever one measurement leaves to the next spread evenly. Each figure is the median
over the runs. This process only declares, prefills and deletes the queues, with the raw socket
client, so no client pays for setup in its measurement.

``--baseline REV`` also measures our client as it was at git revision REV, as the clients
``base-blocking`` and ``base-select``, interleaved with the others in the same runs: a
before/after from one run instead of two runs minutes apart on a machine whose load changes. REV
is checked out with ``git worktree add --detach`` into a temporary directory (removed at the
end); the very same scenario code (this tree's ``scenarios_ours.py``) runs with ``PYTHONPATH``
pointing at that checkout, so only the library differs.

``--clients ours-blocking-rec ours-select-rec`` measure our client with automatic recovery
on (``recovery=pika.Recovery()``); each such row has a *vs off* column, its CPU per message over
the same adapter's without recovery (median of the per-run ratios).

Outputs: ``bench/results/bench-{quick,full}.json`` and ``.png``; with ``--write-docs`` the
tables in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / 'results'
DOCS_FILE = ROOT / 'docs' / 'performance.md'
sys.path.insert(0, str(BENCH_DIR))

import raw_ceiling  # noqa: E402  (stdlib-only helper living next to this script)

MIB = 1024 * 1024
CLIENTS = ('ours-blocking', 'ours-select', 'pika-blocking', 'pika-select', 'raw')
#: our client at the ``--baseline`` revision; only measured when that option is given
BASE_CLIENTS = ('base-blocking', 'base-select')
#: our client with ``ConnectionParameters(recovery=pika.Recovery())`` (issue 15: within 5% of
#: recovery off on publish and consume); measured only when ``--clients`` names them
RECOVERY_CLIENTS = ('ours-blocking-rec', 'ours-select-rec')
#: the suffix that turns recovery on for an ``ours-*`` client
RECOVERY_SUFFIX = '-rec'
# name: (full count, quick count, body size, prefilled by the harness)
SCENARIOS: dict[str, tuple[int, int, int, bool]] = {
    'publish': (100_000, 5_000, 100, False),
    'consume': (100_000, 5_000, 100, True),
    'confirm_pipelined': (50_000, 5_000, 100, False),
    'confirm_each': (5_000, 500, 100, False),
    'rpc': (10_000, 1_000, 100, False),
    'large_publish': (1_000, 20, MIB, False),
    'large_consume': (1_000, 20, MIB, True),
    'rss': (1_000_000, 0, 100, True),
}
RSS_CHECKPOINT = 100_000
DEFAULT_SCENARIOS = [name for name in SCENARIOS if name != 'rss']
# (scenario, what, threshold): targets of issue 6, reported as ratios, never asserted.
CPU_TARGETS = ('publish', 'consume')
CEILING_TARGETS = {
    'publish': 0.90,
    'consume': 0.90,
    'confirm_pipelined': 0.90,
    'large_publish': 0.90,
    'large_consume': 0.90,
    'confirm_each': 0.85,
    'rpc': 0.85,
}
RSS_LIMIT_MB = 10.0


# --------------------------------------------------------------------------- interpreters


def reference_python() -> Path | None:
    """The pika 1.4.4 interpreter; creates ``bench/.venv-pika`` on first use (None: impossible)."""
    try:
        from _pika_ref import ensure_reference_python
    except ImportError:
        return None
    try:
        return ensure_reference_python()
    except (RuntimeError, OSError) as exc:
        print(f'reference pika unavailable: {exc}', file=sys.stderr)
        return None


def client_command(client: str, ref_python: Path | None) -> list[str] | None:
    """argv prefix measuring ``client`` (None when that interpreter is not available)."""
    ours = str(ROOT / '.venv' / 'bin' / 'python')
    if not os.path.exists(ours):
        ours = sys.executable
    if client == 'raw':
        return [ours, str(BENCH_DIR / 'raw_ceiling.py')]
    if client.startswith(('ours-', 'base-')):
        return [ours, str(BENCH_DIR / 'scenarios_ours.py')]
    if ref_python is None:
        return None
    return [str(ref_python), str(BENCH_DIR / 'scenarios_pika.py')]


# --------------------------------------------------------------------------- one measurement


def job_timeout(count: int, body_size: int) -> float:
    """Generous wall-clock limit for one subprocess (a hung client must not hang the run)."""
    per_message = 0.05 if body_size >= MIB else 0.002
    return 60.0 + count * per_message


def measure(
    client: str,
    scenario: str,
    count: int,
    cmd: list[str] | None,
    base_root: Path | None = None,
) -> dict[str, Any]:
    """Set up a fresh queue, run one client subprocess on it, delete the queue.

    ``base_root`` is the checkout of the ``--baseline`` revision, used by ``base-*`` clients.
    """
    _full, _quick, body_size, prefilled = SCENARIOS[scenario]
    row: dict[str, Any] = {'client': client, 'scenario': scenario, 'count': count}
    if cmd is None:
        row.update(ok=False, error='not available: reference venv missing')
        return row
    library, _dash, adapter = client.partition('-')
    recovery = adapter.endswith(RECOVERY_SUFFIX)
    queue = f'bench-{scenario}-{client}-{uuid.uuid4().hex[:12]}'
    job = {
        'library': library,
        'adapter': adapter.removesuffix(RECOVERY_SUFFIX),
        'recovery': recovery,
        'scenario': scenario,
        'queue': queue,
        'count': count,
        'body_size': body_size,
        'checkpoint': RSS_CHECKPOINT if scenario == 'rss' else 0,
    }
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME')}
    if library == 'base':
        if base_root is None:
            row.update(ok=False, error='not available: no --baseline checkout')
            return row
        job['pika_root'] = str(base_root)
        env['PYTHONPATH'] = str(base_root)
    try:
        if prefilled:
            raw_ceiling.prefill(queue, count, body_size)
        else:
            raw_ceiling.declare(queue)
        proc = subprocess.run(
            [*cmd, json.dumps(job)],
            capture_output=True,
            text=True,
            cwd=str(BENCH_DIR),
            env=env,
            timeout=job_timeout(count, body_size),
        )
        row.update(parse_output(proc.stdout, proc.stderr, proc.returncode))
    except subprocess.TimeoutExpired:
        row.update(ok=False, error='timed out')
    except (OSError, ConnectionError) as exc:
        row.update(ok=False, error=f'setup failed: {exc}')
    finally:
        try:
            raw_ceiling.delete(queue)
        except (OSError, ConnectionError) as exc:
            print(f'could not delete {queue}: {exc}', file=sys.stderr)
    return row


def parse_output(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """Turn a subprocess's output into a result dict (its last JSON line, or the failure)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and 'ok' in parsed:
            parsed.pop('pika_file', None)
            return parsed
    tail = (stderr.strip().splitlines() or ['no output'])[-1]
    return {'ok': False, 'error': f'exit {returncode}: {tail[:200]}'}


# --------------------------------------------------------------------------- summary


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row.get('ok') and row.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(rows: list[dict[str, Any]], scenarios: list[str], clients: list[str]) -> list[Any]:
    """Median msgs/s and CPU us/msg per (scenario, client), with ratios to pika and ceiling."""
    for row in rows:
        if row.get('ok'):
            row['msgs_per_s'] = row['count'] / row['elapsed'] if row['elapsed'] > 0 else None
            row['cpu_us_per_msg'] = row['cpu'] / row['count'] * 1e6
            if 'page_faults' in row:
                row['faults_per_msg'] = row['page_faults'] / row['count']
            if 'rss_checkpoint' in row and 'rss_end' in row:
                row['rss_growth_mb'] = (row['rss_end'] - row['rss_checkpoint']) / MIB
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for scenario in scenarios:
        for client in clients:
            mine = [r for r in rows if r['scenario'] == scenario and r['client'] == client]
            if not mine:
                continue
            ok = [r for r in mine if r.get('ok')]
            entry: dict[str, Any] = {
                'scenario': scenario,
                'client': client,
                'runs_ok': len(ok),
                'runs': len(mine),
                'msgs_per_s': _median(ok, 'msgs_per_s'),
                'cpu_us_per_msg': _median(ok, 'cpu_us_per_msg'),
                'rss_growth_mb': _median(ok, 'rss_growth_mb'),
                'faults_per_msg': _median(ok, 'faults_per_msg'),
                'spread': _spread(ok),
                'na': bool(mine[-1].get('na')),
                'error': None if ok else mine[-1].get('error', 'failed'),
            }
            table[(scenario, client)] = entry
    per_run = {(r['scenario'], r['client'], r.get('run', 0)): r for r in rows if r.get('ok')}
    for (scenario, client), entry in table.items():
        peer = client.replace('ours-', 'pika-')
        if client.startswith('ours-'):
            pairs = _pairs(per_run, scenario, client, peer)
            entry['rate_vs_pika'] = _median_ratio(pairs, 'msgs_per_s')
            entry['cpu_vs_pika'] = _median_ratio(pairs, 'cpu_us_per_msg')
            base = client.replace('ours-', 'base-')
            if (scenario, base) in table:
                pairs = _pairs(per_run, scenario, client, base)
                entry['rate_vs_base'] = _median_ratio(pairs, 'msgs_per_s')
            off = client.removesuffix(RECOVERY_SUFFIX)
            if off != client and (scenario, off) in table:
                pairs = _pairs(per_run, scenario, client, off)
                entry['cpu_vs_off'] = _median_ratio(pairs, 'cpu_us_per_msg')
                entry['rate_vs_off'] = _median_ratio(pairs, 'msgs_per_s')
        if client != 'raw':
            pairs = _pairs(per_run, scenario, client, 'raw')
            entry['vs_ceiling'] = _median_ratio(pairs, 'msgs_per_s')
    return list(table.values())


def _pairs(per_run: dict[Any, Any], scenario: str, mine: str, other: str) -> list[Any]:
    """(my row, other row) for every run in which both measured ``scenario``.

    Ratios are taken within a run, where the two measurements were seconds apart, and then the
    median over runs is reported: steadier than a ratio of medians on a machine whose load
    changes from minute to minute.
    """
    out = []
    for (s, client, run), row in per_run.items():
        if s == scenario and client == mine and (scenario, other, run) in per_run:
            out.append((row, per_run[(scenario, other, run)]))
    return out


def _median_ratio(pairs: list[Any], key: str) -> float | None:
    ratios = [a[key] / b[key] for a, b in pairs if a.get(key) is not None and b.get(key)]
    return statistics.median(ratios) if ratios else None


def _spread(rows: list[dict[str, Any]]) -> float | None:
    """(max - min) / median of the runs' msgs/s: how noisy this figure is."""
    rates = [float(row['msgs_per_s']) for row in rows if row.get('msgs_per_s')]
    if len(rates) < 2:
        return None
    return (max(rates) - min(rates)) / statistics.median(rates)


def evaluate_targets(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 6's targets for our two adapters: value, threshold, met (None when unmeasured)."""
    by_key = {(e['scenario'], e['client']): e for e in summary}
    out: list[dict[str, Any]] = []
    for client in ('ours-blocking', 'ours-select'):
        for scenario in CPU_TARGETS:
            entry = by_key.get((scenario, client), {})
            what = f'{scenario} CPU/msg vs pika'
            out.append(_target(client, what, entry, 'cpu_vs_pika', 0.25, False))
        for scenario, limit in CEILING_TARGETS.items():
            entry = by_key.get((scenario, client), {})
            what = f'{scenario} msgs/s vs ceiling'
            out.append(_target(client, what, entry, 'vs_ceiling', limit, True))
        entry = by_key.get(('rss', client), {})
        what = 'RSS growth 100k->1M (MB)'
        out.append(_target(client, what, entry, 'rss_growth_mb', RSS_LIMIT_MB, False))
    return out


def _target(
    client: str, what: str, entry: dict[str, Any], key: str, limit: float, higher: bool
) -> dict[str, Any]:
    """One target line; ``met`` is None when not measured, 'n/a' when the API can't do it."""
    value = entry.get(key)
    met: bool | str | None = None
    if value is not None:
        met = value >= limit if higher else value <= limit
    elif entry.get('na'):
        met = 'n/a'
    return {
        'client': client,
        'target': what,
        'value': value,
        'limit': limit,
        'met': met,
        'direction': '>=' if higher else '<=',
    }


# --------------------------------------------------------------------------- reporting


def _fmt(value: float | None, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def _percent(value: float | None) -> str:
    return '-' if value is None else f'{value * 100:.0f}%'


def results_table(summary: list[dict[str, Any]]) -> str:
    """The main Markdown table: one line per (scenario, client).

    With ``--baseline`` rows there is one more column, *vs base*: ours over the baseline
    revision's same adapter (median of the per-run ratios). With recovery-on rows (``-rec``)
    one more, *CPU vs off*: their CPU per message over the same adapter's without recovery.
    """
    with_base = any(e['client'].startswith('base-') for e in summary)
    with_rec = any(e['client'].endswith(RECOVERY_SUFFIX) for e in summary)
    lines = [
        '| scenario | client | msgs/s | CPU us/msg | msgs/s vs pika | CPU vs pika '
        '| of ceiling | RSS growth MB | page faults/msg | runs ok | spread |'
        + (' vs base |' if with_base else '')
        + (' CPU vs off |' if with_rec else ''),
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
        + ('---:|' if with_base else '')
        + ('---:|' if with_rec else ''),
    ]
    for e in summary:
        if e['runs_ok'] == 0:
            note = e['error'] or 'failed'
            cells = [e['scenario'], e['client'], note, '', '', '', '', '', '', f'0/{e["runs"]}', '']
        else:
            cells = [
                e['scenario'],
                e['client'],
                _fmt(e['msgs_per_s'], ',.0f'),
                _fmt(e['cpu_us_per_msg'], '.2f'),
                _fmt(e.get('rate_vs_pika'), '.2f'),
                _fmt(e.get('cpu_vs_pika'), '.2f'),
                _percent(e.get('vs_ceiling')),
                _fmt(e.get('rss_growth_mb'), '.1f'),
                _fmt(e.get('faults_per_msg'), '.2f'),
                f'{e["runs_ok"]}/{e["runs"]}',
                _percent(e.get('spread')),
            ]
        if with_base:
            cells.append(_fmt(e.get('rate_vs_base'), '.2f'))
        if with_rec:
            cells.append(_fmt(e.get('cpu_vs_off'), '.3f'))
        lines.append(_row(cells))
    return '\n'.join(lines)


def _row(cells: list[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


def targets_table(targets: list[dict[str, Any]]) -> str:
    """Markdown table of the issue's targets for our adapters."""
    lines = ['| client | target | value | limit | met |', '|---|---|---:|---:|---|']
    for t in targets:
        met = {None: 'not measured', 'n/a': 'n/a', True: 'yes', False: 'NO'}[t['met']]
        limit = f'{t["direction"]} {t["limit"]}'
        lines.append(_row([t['client'], t['target'], _fmt(t['value'], '.2f'), limit, met]))
    return '\n'.join(lines)


def print_report(summary: list[dict[str, Any]], targets: list[dict[str, Any]]) -> None:
    """Human-readable output on stdout."""
    print(results_table(summary))
    print()
    print(targets_table(targets))


def write_json(data: dict[str, Any], name: str) -> Path:
    """Save the whole result set under ``bench/results/``."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / (f'{name}.json')
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')
    return path


def draw_chart(json_path: Path, ref_python: Path | None, install: bool) -> Path | None:
    """Render the PNG with chart.py under an interpreter that has matplotlib (the ref venv).

    matplotlib is installed into the reference venv on demand when ``install`` is true (never
    into ours); ``--quick`` does not install it, to stay fast on a fresh machine.
    """
    png = json_path.with_suffix('.png')
    python = str(ref_python) if ref_python else sys.executable
    probe = subprocess.run([python, '-c', 'import matplotlib'], capture_output=True)
    if probe.returncode != 0 and not install:
        print('chart skipped: matplotlib is not installed in the reference venv', file=sys.stderr)
        return None
    if probe.returncode != 0 and ref_python is not None:
        pip = [python, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']
        subprocess.run([*pip, 'matplotlib'], capture_output=True)
    proc = subprocess.run(
        [python, str(BENCH_DIR / 'chart.py'), str(json_path), str(png)],
        capture_output=True,
        text=True,
        cwd=str(BENCH_DIR),
    )
    if proc.returncode != 0:
        print(f'chart failed: {proc.stderr.strip()[-300:]}', file=sys.stderr)
        return None
    return png


DOCS_BEGIN = '<!-- bench:begin (generated by bench/run.py --write-docs; do not edit) -->'
DOCS_END = '<!-- bench:end -->'


def docs_section(data: dict[str, Any]) -> str:
    """The generated part of docs/performance.md: run facts, results, targets, chart."""
    meta = data['meta']
    counts = ', '.join(f'{k} {v:,}' for k, v in meta['counts'].items())
    load = ', '.join(f'{x:.2f}' for x in meta['load_average'])
    chart = 'bench-quick.png' if meta['quick'] else 'bench-full.png'
    return '\n'.join(
        [
            DOCS_BEGIN,
            '',
            f'Run of {meta["date"]} ({"quick" if meta["quick"] else "full"}, median of '
            f'{meta["runs"]} run(s), {meta["duration_s"]:.0f} s): Python {meta["python"]} on '
            f'{meta["machine"]}; {meta["broker"]}; load average at the end {load}.'
            + (f' Baseline (base-*): {meta["baseline"]}.' if meta.get('baseline') else ''),
            '',
            f'Messages per measurement: {counts}.',
            '',
            results_table(data['summary']),
            '',
            '### Targets (issue 6) for our adapters',
            '',
            targets_table(data['targets']),
            '',
            f'![benchmark chart](../bench/results/{chart})',
            '',
            DOCS_END,
        ]
    )


def write_docs(data: dict[str, Any], path: Path) -> None:
    """Replace the generated section of ``path`` (append one if the markers are missing)."""
    text = path.read_text() if path.exists() else '# Performance\n'
    section = docs_section(data)
    if DOCS_BEGIN in text and DOCS_END in text:
        head, _sep, rest = text.partition(DOCS_BEGIN)
        _old, _sep, tail = rest.partition(DOCS_END)
        text = head + section + tail
    else:
        text = text.rstrip('\n') + '\n\n' + section + '\n'
    path.write_text(text)


# --------------------------------------------------------------------------- main


def _names(values: list[str], allowed: list[str] | tuple[str, ...], what: str) -> list[str]:
    names = [n for v in values for n in v.split(',') if n]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise SystemExit(f'unknown {what}: {unknown} (choose from {", ".join(allowed)})')
    return [n for n in allowed if n in names]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='few messages, 1 run, no RSS (CI)')
    parser.add_argument('--runs', type=int, default=None, help='runs per measurement (3)')
    parser.add_argument('--rss', action='store_true', help='also run the 1M-message RSS scenario')
    parser.add_argument('--scenarios', nargs='+', default=None, help=', '.join(SCENARIOS))
    parser.add_argument(
        '--clients', nargs='+', default=None, help=', '.join((*CLIENTS, *RECOVERY_CLIENTS))
    )
    parser.add_argument('--write-docs', action='store_true', help='regenerate docs/performance.md')
    parser.add_argument('--no-chart', action='store_true', help='skip the PNG')
    parser.add_argument(
        '--from-json', metavar='PATH', help='no measuring: re-report a saved results file'
    )
    parser.add_argument(
        '--baseline',
        metavar='REV',
        help='also measure our client at git revision REV (clients base-blocking, base-select)',
    )
    args = parser.parse_args(argv)
    if args.scenarios:
        args.scenarios = _names(args.scenarios, list(SCENARIOS), 'scenarios')
    elif args.quick:
        args.scenarios = list(DEFAULT_SCENARIOS)
    else:
        args.scenarios = [*DEFAULT_SCENARIOS, 'rss']
    if args.rss and 'rss' not in args.scenarios:
        args.scenarios.append('rss')
    if args.quick and 'rss' in args.scenarios and not args.rss:
        args.scenarios.remove('rss')
    args.clients = with_baseline(args.clients, args.baseline, parser)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.runs < 1:
        parser.error('--runs must be at least 1')
    return args


def with_baseline(
    names: list[str] | None, baseline: str | None, parser: argparse.ArgumentParser
) -> list[str]:
    """The clients to measure: ``--clients`` (default all) plus the baseline's adapters.

    With ``--baseline`` every ``ours-X`` measured gets its ``base-X`` beside it unless
    ``--clients`` names base clients itself; without it, naming a base client is an error.
    """
    allowed = (*CLIENTS, *RECOVERY_CLIENTS, *BASE_CLIENTS)
    clients = _names(names, allowed, 'clients') if names else list(CLIENTS)
    if baseline is None:
        if any(c in BASE_CLIENTS for c in clients):
            parser.error('base-* clients need --baseline REV')
        return clients
    if not any(c in BASE_CLIENTS for c in clients):
        extra = {c.replace('ours-', 'base-') for c in clients if c.startswith('ours-')}
        clients = [c for c in allowed if c in clients or c in extra]
    return clients


@contextlib.contextmanager
def baseline_checkout(rev: str | None, root: Path = ROOT) -> Iterator[Path | None]:
    """Check ``rev`` out into a temporary detached worktree; remove it afterwards.

    Yields None when no baseline was asked for.

    :raises SystemExit: when git cannot check the revision out
    """
    if rev is None:
        yield None
        return
    parent = Path(tempfile.mkdtemp(prefix='pika-bench-base-'))
    path = parent / 'tree'
    add = ['git', '-C', str(root), 'worktree', 'add', '--detach', str(path), rev]
    proc = subprocess.run(add, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise SystemExit(f'--baseline {rev}: {proc.stderr.strip()}')
    try:
        yield path
    finally:
        remove = ['git', '-C', str(root), 'worktree', 'remove', '--force', str(path)]
        subprocess.run(remove, capture_output=True)
        shutil.rmtree(parent, ignore_errors=True)


def revision_of(path: Path | None) -> str | None:
    """The commit checked out at ``path`` (None for no path)."""
    if path is None:
        return None
    proc = subprocess.run(
        ['git', '-C', str(path), 'rev-parse', 'HEAD'], capture_output=True, text=True
    )
    return proc.stdout.strip() or None


def scenario_count(scenario: str, quick: bool) -> int:
    """Messages per measurement (the RSS scenario always consumes the full million)."""
    full, small, _size, _prefilled = SCENARIOS[scenario]
    return small if quick and small else full


def measure_all(
    args: argparse.Namespace, ref_python: Path | None, base_root: Path | None = None
) -> list[dict[str, Any]]:
    """Every (run, scenario, client) measurement, clients interleaved within each run."""
    rows: list[dict[str, Any]] = []
    for run_index in range(args.runs):
        for scenario in args.scenarios:
            if scenario == 'rss' and run_index > 0:
                continue  # one pass of the long RSS scenario per client is enough
            count = scenario_count(scenario, args.quick)
            for client in raw_ceiling.run_order(args.clients, run_index):
                if client == 'raw' and scenario == 'rss':
                    continue  # the ceiling has no client memory worth measuring
                cmd = client_command(client, ref_python)
                row = measure(client, scenario, count, cmd, base_root)
                row['run'] = run_index
                rows.append(row)
                status = f'ok {row["elapsed"]:.2f}s' if row.get('ok') else row.get('error')
                print(f'[run {run_index + 1}] {scenario:17} {client:17} {status}')
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or re-report a saved one); return the process exit status."""
    args = parse_args(argv)
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        meta, rows = saved['meta'], saved['rows']
        scenarios = [s for s in SCENARIOS if s in meta['counts']]
        saved_clients = {row['client'] for row in rows}
        wanted = {*args.clients, *BASE_CLIENTS}  # base rows are shown whenever they were saved
        every = (*CLIENTS, *RECOVERY_CLIENTS, *BASE_CLIENTS)
        clients = [c for c in every if c in saved_clients and c in wanted]
        ref_python = None
    else:
        wants_pika = any(c.startswith('pika-') for c in args.clients)
        ref_python = reference_python() if wants_pika else None
        started = time.time()
        with baseline_checkout(args.baseline) as base_root:
            rows = measure_all(args, ref_python, base_root)
            baseline = revision_of(base_root)
        meta = run_facts(args, time.time() - started)
        meta['baseline'] = baseline
        scenarios, clients = args.scenarios, args.clients
    summary = summarize(rows, scenarios, clients)
    targets = evaluate_targets(summary)
    data = {'meta': meta, 'rows': rows, 'summary': summary, 'targets': targets}
    json_path = write_json(data, 'bench-quick' if meta['quick'] else 'bench-full')
    print()
    print_report(summary, targets)
    print(f'\nresults: {json_path}')
    if not args.no_chart:
        png = draw_chart(json_path, ref_python or reference_python(), install=not args.quick)
        if png:
            print(f'chart: {png}')
    if args.write_docs:
        write_docs(data, DOCS_FILE)
        print(f'docs: {DOCS_FILE}')
    return 0


def run_facts(args: argparse.Namespace, duration: float) -> dict[str, Any]:
    """When, where and how the measurements were made (saved with the results)."""
    return {
        'date': time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        'duration_s': round(duration, 1),
        'quick': args.quick,
        'runs': args.runs,
        'python': platform.python_version(),
        'machine': f'{platform.platform()}, {os.cpu_count()} CPUs',
        'load_average': os.getloadavg(),
        'counts': {s: scenario_count(s, args.quick) for s in args.scenarios},
        'client_order': [raw_ceiling.run_order(args.clients, r) for r in range(args.runs)],
        'broker': 'local RabbitMQ on 127.0.0.1:5672',
    }


if __name__ == '__main__':
    sys.exit(main())
