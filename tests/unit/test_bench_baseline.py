"""bench/run.py --baseline: option parsing, the checkout, and the summary's before/after ratio.

The benchmark itself needs a broker and is never run here; these tests pin the plumbing that
turns ``--baseline REV`` into ``base-*`` clients measured against a checkout of REV.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parents[2] / 'bench'


def _load_run() -> ModuleType:
    """Import bench/run.py as a module (bench/ is scripts, not a package)."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        spec = importlib.util.spec_from_file_location('bench_run', BENCH_DIR / 'run.py')
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH_DIR))
    return module


run = _load_run()


def test_baseline_adds_a_base_client_beside_each_of_ours() -> None:
    args = run.parse_args(['--baseline', 'HEAD~3', '--clients', 'ours-select', 'raw'])
    assert args.baseline == 'HEAD~3'
    assert args.clients == ['ours-select', 'raw', 'base-select']


def test_baseline_with_default_clients_adds_both_adapters() -> None:
    args = run.parse_args(['--baseline', 'main'])
    assert args.clients == [*run.CLIENTS, 'base-blocking', 'base-select']


def test_explicit_base_clients_are_kept_as_named() -> None:
    args = run.parse_args(['--baseline', 'main', '--clients', 'ours-blocking,base-select'])
    assert args.clients == ['ours-blocking', 'base-select']


def test_base_client_without_baseline_is_an_error() -> None:
    with pytest.raises(SystemExit):
        run.parse_args(['--clients', 'base-blocking'])


def test_no_baseline_means_no_base_clients() -> None:
    args = run.parse_args([])
    assert args.baseline is None
    assert args.clients == list(run.CLIENTS)


def test_base_client_without_checkout_is_a_failed_row_not_a_measurement() -> None:
    row = run.measure('base-select', 'consume', 10, ['false'], base_root=None)
    assert row['ok'] is False
    assert 'baseline' in row['error']


def test_baseline_checkout_is_the_revision_and_is_removed(tmp_path: Path) -> None:
    repo = tmp_path / 'repo'

    def git(*argv: str) -> str:
        proc = subprocess.run(['git', '-C', str(repo), *argv], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    repo.mkdir()
    git('init', '-q')
    (repo / 'marker.txt').write_text('first\n')
    git('add', 'marker.txt')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first')
    first = git('rev-parse', 'HEAD')
    (repo / 'marker.txt').write_text('second\n')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'second')

    with run.baseline_checkout(first, root=repo) as path:
        assert path is not None
        assert (path / 'marker.txt').read_text() == 'first\n'
        assert run.revision_of(path) == first
        checked_out = path
    assert not checked_out.exists()
    assert str(checked_out) not in git('worktree', 'list')


def test_no_baseline_checks_nothing_out() -> None:
    with run.baseline_checkout(None) as path:
        assert path is None


def test_unknown_revision_stops_the_run(tmp_path: Path) -> None:
    subprocess.run(['git', 'init', '-q', str(tmp_path)], check=True)
    with pytest.raises(SystemExit), run.baseline_checkout('no-such-rev', root=tmp_path):
        pass


def _row(client: str, run_index: int, elapsed: float) -> dict[str, Any]:
    return {
        'client': client,
        'scenario': 'consume',
        'run': run_index,
        'ok': True,
        'count': 1000,
        'elapsed': elapsed,
        'cpu': 0.01,
    }


def test_summary_reports_ours_over_base_from_the_same_runs() -> None:
    rows = [
        _row('ours-select', 0, 1.0),
        _row('base-select', 0, 2.0),
        _row('raw', 0, 1.0),
        _row('ours-select', 1, 1.0),
        _row('base-select', 1, 4.0),
        _row('raw', 1, 0.5),
    ]
    summary = run.summarize(rows, ['consume'], ['ours-select', 'base-select', 'raw'])
    by_client = {e['client']: e for e in summary}
    assert by_client['ours-select']['rate_vs_base'] == pytest.approx(3.0)  # median of 2x, 4x
    assert by_client['base-select']['vs_ceiling'] == pytest.approx(0.3125)  # median of 1/2, 1/8
    assert 'rate_vs_base' not in by_client['base-select']
    table = run.results_table(summary)
    assert '| vs base |' in table.splitlines()[0]
    assert table.splitlines()[2].endswith('| 3.00 |')


def test_table_has_no_base_column_without_base_rows() -> None:
    summary = run.summarize([_row('ours-select', 0, 1.0)], ['consume'], ['ours-select'])
    assert 'vs base' not in run.results_table(summary)
