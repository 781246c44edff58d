#!/usr/bin/env python3
"""Coverage-guided fuzz campaigns over the frame decoder, the field-table codec and the core.

The targets, their invariants and their structure-aware mutators are in ``tests/fuzz/``; the
seed corpus is ``tests/fuzz/corpus/<target>/`` (rebuilt by ``--make-seeds``). A campaign runs
each target under atheris (libFuzzer's coverage feedback over the instrumented ``pika``
package) in worker processes whose address space is capped, so an allocation sized by a
claimed length fails instead of swapping. The working corpus grows in ``.fuzz/<target>/corpus``
(not committed); crashing inputs land in ``.fuzz/<target>/crashes``. At the end it replays the
final corpus under coverage.py and prints the line coverage of each fuzzed module.

    nice -n 19 python tools/fuzz.py --target all --seconds 600          # a long campaign
    python tools/fuzz.py --target frame --runs 200000 --jobs 2
    python tools/fuzz.py --target core --seconds 5 --no-coverage        # what CI runs, roughly
    python tools/fuzz.py --replay .fuzz/core/crashes/crash-*            # re-run findings
    python tools/fuzz.py --plain ...    # without atheris: random structural mutations only

Without atheris installed, ``--plain`` is implied (and said so): the same mutators and
invariants, but no coverage feedback.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED_DIR = ROOT / 'tests' / 'fuzz' / 'corpus'
WORK_DIR = ROOT / '.fuzz'
TARGET_NAMES = ('frame', 'table', 'core')
#: The address space a fuzz worker may grow by: far above what any input of --max-len bytes
#: legitimately needs (max_message_size is at most its 128 MiB default in the core target),
#: far below what a claimed 32- or 64-bit length would ask for.
MEMORY_CAP = 1024 * 1024 * 1024
MAX_LEN = 8192
_DONE = re.compile(r'^Done (\d+) runs in (\d+) second')
_PROGRESS = re.compile(r'^#(\d+)\s')


# ------------------------------------------------------------------------------------ helpers


def have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def cap_memory(extra: int = MEMORY_CAP) -> None:
    """Cap this process's address space at what it uses now plus ``extra`` bytes."""
    with open('/proc/self/statm') as statm:
        pages = int(statm.read().split()[0])
    now = pages * os.sysconf('SC_PAGE_SIZE')
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = now + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def corpus_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob('*') if p.is_file()) if directory.is_dir() else []


def load_target(name: str) -> Any:
    from tests.fuzz.targets import TARGETS

    return TARGETS[name]


# ------------------------------------------------------------------------------------ seeds


def make_seeds() -> dict[str, int]:
    """(Re)write the committed seed corpus: valid frames and sequences, a few dozen a target."""
    from tests.fuzz.seeds import seed_inputs

    counts = {}
    for name in TARGET_NAMES:
        directory = SEED_DIR / name
        directory.mkdir(parents=True, exist_ok=True)
        for old in corpus_files(directory):
            old.unlink()
        inputs = seed_inputs(name)
        for label, data in inputs:
            digest = hashlib.sha1(data).hexdigest()[:10]
            (directory / f'{label}-{digest}').write_bytes(data)
        counts[name] = len(inputs)
    return counts


# ------------------------------------------------------------------------------------ workers


def atheris_worker(name: str, corpus: Path, crashes: Path, libfuzzer_args: list[str]) -> None:
    """Run one target under atheris until libFuzzer stops (runs, time or a crash)."""
    import atheris

    with atheris.instrument_imports(include=['pika']):
        target = load_target(name)

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        return target.mutate(data, max_size, seed, atheris.Mutate)

    cap_memory()
    argv = [sys.argv[0], *libfuzzer_args, f'-artifact_prefix={crashes}/', str(corpus)]
    atheris.Setup(argv, target.run, custom_mutator=mutate)
    atheris.Fuzz()


def plain_run(name: str, inputs: list[bytes], runs: int, seconds: float, seed: int) -> dict:
    """Fuzz without coverage feedback: mutate random corpus entries, keep nothing new.

    Returns the inputs run and the findings (traceback's last line -> a crashing input).
    """
    from tests.fuzz.mutators import plain_byte_mutate

    target = load_target(name)
    rng = random.Random(seed)
    pool = list(inputs) or [b'\x00' * target.control_size]
    findings: dict[str, bytes] = {}
    deadline = time.monotonic() + seconds if seconds else None
    done = 0
    while (not runs or done < runs) and (deadline is None or time.monotonic() < deadline):
        data = rng.choice(pool)
        for _ in range(rng.randint(1, 3)):
            data = target.mutate(
                data, MAX_LEN, rng.randrange(2**32), lambda b, m: plain_byte_mutate(b, m, rng)
            )
        done += 1
        try:
            target.run(data)
        except BaseException as exc:  # every escape is a finding
            if isinstance(exc, KeyboardInterrupt):
                raise
            key = traceback.format_exception_only(type(exc), exc)[-1].strip()[:200]
            findings.setdefault(key, data)
            continue
        if rng.random() < 0.02 and len(pool) < 5000:
            pool.append(data)
    return {'runs': done, 'findings': findings}


def _save_findings(name: str, findings: dict[str, bytes], work_dir: Path) -> list[Path]:
    crashes = work_dir / name / 'crashes'
    crashes.mkdir(parents=True, exist_ok=True)
    saved = []
    for data in findings.values():
        path = crashes / f'crash-{hashlib.sha1(data).hexdigest()}'
        path.write_bytes(data)
        saved.append(path)
    return saved


def run_atheris_jobs(name: str, args: argparse.Namespace) -> dict:
    """Run ``args.jobs`` atheris workers for one target; restart a worker after a crash until
    the budget is spent. Returns inputs run, seconds, and the crash files."""
    work = args.work / name
    corpus = work / 'corpus'
    crashes = work / 'crashes'
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    for seed in corpus_files(SEED_DIR / name):  # seeds join the working corpus
        dest = corpus / seed.name
        if not dest.exists():
            dest.write_bytes(seed.read_bytes())
    started = time.monotonic()
    total_runs = 0
    logs: list[str] = []
    before = set(corpus_files(crashes))
    runs_left = args.runs
    while True:
        elapsed = time.monotonic() - started
        if args.seconds and elapsed >= args.seconds - 1:
            break
        if args.runs and runs_left <= 0:
            break
        procs = []
        for job in range(args.jobs):
            budget = []
            if args.seconds:
                budget.append(f'-max_total_time={max(1, int(args.seconds - elapsed))}')
            if args.runs:
                budget.append(f'-runs={max(1, runs_left // args.jobs)}')
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                '--worker',
                name,
                str(args.work),
                '--',
                *budget,
                f'-max_len={args.max_len}',
                f'-timeout={args.timeout}',
                '-rss_limit_mb=2048',
                f'-seed={random.randrange(1, 2**31)}',
                '-print_final_stats=1',
            ]
            log = work / f'job{job}.log'
            procs.append(
                (
                    subprocess.Popen(
                        cmd, stdout=subprocess.DEVNULL, stderr=log.open('w'), cwd=ROOT
                    ),
                    log,
                )
            )
        crashed = False
        for proc, log in procs:
            proc.wait()
            text = log.read_text(errors='replace')
            logs.append(text)
            runs = _runs_in(text)
            total_runs += runs
            runs_left -= runs
            if proc.returncode != 0:
                crashed = True
        if not crashed:
            break
    new = [p for p in corpus_files(crashes) if p not in before]
    return {
        'runs': total_runs,
        'seconds': round(time.monotonic() - started, 1),
        'crashes': [str(p) for p in new],
        'corpus': len(corpus_files(corpus)),
        'log_tail': logs[-1][-3000:] if logs and new else '',
    }


def _runs_in(log: str) -> int:
    """Inputs a libFuzzer run executed: its "Done N runs" line, else its last status line."""
    last = 0
    for line in log.splitlines():
        match = _DONE.match(line) or _PROGRESS.match(line)
        if match:
            last = int(match.group(1))
        elif line.startswith('stat::number_of_executed_units:'):
            last = int(line.split(':')[-1])
    return last


# ------------------------------------------------------------------------------------ coverage


def replay(name: str, files: list[Path]) -> list[tuple[Path, str]]:
    """Run a target on each file; return the files whose run broke an invariant."""
    target = load_target(name)
    failures = []
    for path in files:
        try:
            target.run(path.read_bytes())
        except Exception as exc:
            failures.append((path, traceback.format_exception_only(type(exc), exc)[-1].strip()))
    return failures


def measure_coverage(names: list[str], work_dir: Path) -> dict[str, Any]:
    """Replay each target's final corpus (seeds + what the campaign kept) in a fresh process
    under coverage.py; return the line coverage of the fuzzed modules."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), '--coverage-child', str(work_dir), *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        return {'error': out.stderr[-2000:]}
    return json.loads(out.stdout.splitlines()[-1])


def coverage_child(work_dir: Path, names: list[str]) -> None:
    import coverage

    modules = sorted({m for n in names for m in _target_modules(n)})
    cov = coverage.Coverage(include=[str(ROOT / m) for m in modules], data_file=None)
    cov.start()
    for name in names:
        files = corpus_files(work_dir / name / 'corpus') + corpus_files(SEED_DIR / name)
        with contextlib.redirect_stderr(open(os.devnull, 'w')):
            replay(name, files)
    cov.stop()
    result: dict[str, Any] = {}
    total_statements = total_missing = 0
    for module in modules:
        _, statements, _, missing, _ = cov.analysis2(str(ROOT / module))
        covered = len(statements) - len(missing)
        total_statements += len(statements)
        total_missing += len(missing)
        result[module] = {
            'lines': len(statements),
            'covered': covered,
            'percent': round(100.0 * covered / max(len(statements), 1), 1),
        }
    result['TOTAL'] = {
        'lines': total_statements,
        'covered': total_statements - total_missing,
        'percent': round(100.0 * (total_statements - total_missing) / max(total_statements, 1), 1),
    }
    print(json.dumps(result))


def _target_modules(name: str) -> tuple[str, ...]:
    # The module list without importing pika before coverage starts.
    if name == 'frame':
        return (
            'pika/frame.py',
            'pika/_wire/frames.py',
            'pika/_wire/decode.py',
            'pika/_wire/deliveries.py',
        )
    if name == 'table':
        return ('pika/data.py', 'pika/_wire/deliveries.py')
    core = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'pika' / '_core').glob('*.py'))
    return (
        'pika/frame.py',
        'pika/_wire/frames.py',
        'pika/_wire/decode.py',
        'pika/_wire/deliveries.py',
        'pika/data.py',
        *core,
    )


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--target', default='all', choices=[*TARGET_NAMES, 'all'])
    parser.add_argument('--runs', type=int, default=0, help='inputs per target (0: no bound)')
    parser.add_argument('--seconds', type=float, default=0, help='time per target (0: no bound)')
    parser.add_argument('--jobs', type=int, default=1, help='parallel workers per target')
    parser.add_argument('--max-len', type=int, default=MAX_LEN, help='largest input, bytes')
    parser.add_argument('--timeout', type=int, default=10, help='seconds one input may take')
    parser.add_argument('--plain', action='store_true', help='no atheris: random mutations')
    parser.add_argument('--no-coverage', action='store_true', help='skip the coverage replay')
    parser.add_argument('--make-seeds', action='store_true', help='rewrite the seed corpus')
    parser.add_argument('--replay', nargs='+', type=Path, help='run these inputs and report')
    parser.add_argument('--json', type=Path, help='also write the report here')
    parser.add_argument('--work', type=Path, default=WORK_DIR, help='corpus and crashes')
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    if argv[:1] == ['--worker']:
        name, work = argv[1], Path(argv[2])
        rest = argv[4:] if argv[3:4] == ['--'] else argv[3:]
        atheris_worker(name, work / name / 'corpus', work / name / 'crashes', rest)
        return 0
    if argv[:1] == ['--coverage-child']:
        coverage_child(Path(argv[1]), argv[2:])
        return 0
    args = parse_args(argv)
    if args.make_seeds:
        print(json.dumps({'seeds': make_seeds()}))
        return 0
    names = list(TARGET_NAMES) if args.target == 'all' else [args.target]
    if args.replay:
        failed = 0
        for path in args.replay:
            for name in names if args.target != 'all' else [_guess_target(path)]:
                for _, error in replay(name, [path]):
                    print(f'{path} ({name}): {error}')
                    failed += 1
        print(f'{len(args.replay) - failed} passed, {failed} failed')
        return 1 if failed else 0
    if not args.runs and not args.seconds:
        args.seconds = 60
    plain = args.plain or not have_atheris()
    report: dict[str, Any] = {'engine': 'plain (no coverage feedback)' if plain else 'atheris'}
    if plain and not args.plain:
        print('atheris is not installed: running the plain random driver', file=sys.stderr)
    failed = False
    for name in names:
        if plain:
            seeds = [p.read_bytes() for p in corpus_files(SEED_DIR / name)]
            cap_memory()
            result = plain_run(name, seeds, args.runs, args.seconds, random.randrange(2**32))
            result['crashes'] = [
                str(p) for p in _save_findings(name, result.pop('findings'), args.work)
            ]
        else:
            result = run_atheris_jobs(name, args)
        report[name] = result
        failed |= bool(result['crashes'])
        print(f'{name}: {result["runs"]} inputs, crashes: {len(result["crashes"])}', flush=True)
    report['total_runs'] = sum(report[n]['runs'] for n in names)
    if not args.no_coverage:
        report['coverage'] = measure_coverage(names, args.work)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 1 if failed else 0


def _guess_target(path: Path) -> str:
    for part in reversed(path.resolve().parts):
        if part in TARGET_NAMES:
            return part
    raise SystemExit(f'{path}: say which --target it is for')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
