"""The order in which bench/run.py and bench/aio.py measure their clients, run by run.

Why it matters: with one cyclic order rotated per run, each client always followed the same
other client, and a paired row (recovery on vs off) read 5-8% off for that alone
(bench/NOTES.md). ``raw_ceiling.run_order`` is the one order both harnesses use; these tests
pin its properties and that both harnesses measure in it. No broker: ``measure`` is faked.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.scripts import ROOT, load_script

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

BENCH_DIR = ROOT / 'bench'


def _load(name: str) -> ModuleType:
    """Import ``bench/<name>.py``; the harness puts bench/ on ``sys.path``, undone here."""
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH_DIR))
    try:
        return load_script(BENCH_DIR / f'{name}.py', f'_bench_order_{name}')
    finally:
        sys.path[:] = saved


raw_ceiling = _load('raw_ceiling')
run_order = raw_ceiling.run_order


def _predecessors(orders: list[list[str]], client: str) -> list[str | None]:
    """Who ran just before ``client`` in each run (None: it ran first)."""
    return [order[order.index(client) - 1] if order.index(client) else None for order in orders]


@pytest.mark.parametrize('n', range(1, 10))
def test_every_client_runs_once_in_every_run(n: int) -> None:
    clients = [f'c{i}' for i in range(n)]
    for run_index in range(3 * n + 2):
        order = run_order(clients, run_index)
        assert sorted(order) == sorted(clients)
        assert len(order) == n


def test_no_clients_no_order() -> None:
    assert run_order([], 0) == []
    assert run_order([], 5) == []


@pytest.mark.parametrize('n', range(2, 10))
def test_over_2n_runs_each_client_follows_each_other_twice(n: int) -> None:
    clients = [f'c{i}' for i in range(n)]
    orders = [run_order(clients, r) for r in range(2 * n)]
    follows = Counter((a, b) for order in orders for a, b in zip(order, order[1:]))
    every_pair = {(a, b) for a in clients for b in clients if a != b}
    assert set(follows) == every_pair
    assert set(follows.values()) == {2}
    places = Counter((client, order.index(client)) for order in orders for client in clients)
    assert len(places) == n * n
    assert set(places.values()) == {2}


@pytest.mark.parametrize('n', range(2, 10))
@pytest.mark.parametrize('runs', [2, 3, 5])
def test_no_client_always_follows_the_same_one(n: int, runs: int) -> None:
    clients = [f'c{i}' for i in range(n)]
    orders = [run_order(clients, r) for r in range(runs)]
    for client in clients:
        assert len(set(_predecessors(orders, client))) > 1, (client, orders)


def test_each_pair_of_runs_measures_every_two_clients_both_ways() -> None:
    clients = ['ours-blocking', 'ours-blocking-rec', 'ours-select', 'ours-select-rec']
    for first in (0, 2, 4):
        a, b = run_order(clients, first), run_order(clients, first + 1)
        for x in clients:
            for y in clients:
                if x != y:
                    assert (a.index(x) < a.index(y)) != (b.index(x) < b.index(y))


def test_the_rows_of_the_notes_no_longer_keep_one_neighbour() -> None:
    # the case of bench/NOTES.md: ours-blocking-rec followed ours-select in every run
    clients = ['ours-blocking', 'ours-select', 'ours-blocking-rec', 'ours-select-rec']
    orders = [run_order(clients, r) for r in range(5)]
    assert len(set(_predecessors(orders, 'ours-blocking-rec'))) >= 3


def test_run_py_measures_in_that_order(monkeypatch: pytest.MonkeyPatch) -> None:
    run = _load('run')
    measured: list[tuple[str, str]] = []

    def fake_measure(client: str, scenario: str, *_args: Any) -> dict[str, Any]:
        measured.append((scenario, client))
        return {'ok': True, 'elapsed': 1.0, 'client': client, 'scenario': scenario}

    monkeypatch.setattr(run, 'measure', fake_measure)
    args = run.parse_args(['--quick', '--runs', '4', '--scenarios', 'publish', 'consume'])
    rows = run.measure_all(args, None, None)
    expected = [
        (scenario, client)
        for r in range(4)
        for scenario in ('publish', 'consume')
        for client in run_order(list(run.CLIENTS), r)
    ]
    assert measured == expected
    assert [row['run'] for row in rows] == [r for r in range(4) for _ in range(10)]
    facts = run.run_facts(args, 1.0)
    assert facts['client_order'] == [run_order(list(run.CLIENTS), r) for r in range(4)]


def test_aio_py_measures_in_that_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    aio = _load('aio')

    def fake_measure(client: str, scenario: str, count: int) -> dict[str, Any]:
        return {'ok': True, 'client': client, 'scenario': scenario, 'count': count,
                'msgs_per_s': 1.0, 'cpu_us': 1.0, 'p50_us': 1.0}  # fmt: skip

    monkeypatch.setattr(aio, 'measure', fake_measure)
    out = tmp_path / 'rows.json'
    clients = ['ours', 'ours-trio', 'raw', 'raw-asyncio']
    argv = ['--runs', '4', '--scenarios', 'publish', 'rpc', '--clients', *clients]
    assert aio.main([*argv, '--json', str(out)]) == 0
    rows = json.loads(out.read_text())
    measured = [(row['run'], row['scenario'], row['client']) for row in rows]
    expected = [
        (r, scenario, client)
        for r in range(4)
        for scenario in ('publish', 'rpc')
        for client in run_order(clients, r)
        if scenario in aio.ONLY.get(client, aio.SCENARIOS)
    ]
    assert measured == expected
