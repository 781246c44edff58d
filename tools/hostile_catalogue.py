"""Run the hostile-broker catalogue on every adapter and print it as a markdown table.

    PYTHONPATH=. python tools/hostile_catalogue.py [--adapters blocking,select,asyncio]

For each behaviour of ``tests/helpers/hostile_catalogue.py``: what the application sees, the
time from connecting to that outcome on each adapter, the stated time bound, and the
tracemalloc peak (the largest over the adapters; the client and the fake broker's thread
together) against the case's memory bound. Frames cut at every offset are summarised in one
row per frame. The output is the "Hostile broker catalogue" section of docs/limits.md. No
RabbitMQ is needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.hostile_catalogue import (
    ADAPTERS,
    CASES,
    Case,
    Result,
    run_case,
    truncation_case,
    truncation_cases,
)


def outcome_text(outcome: Any) -> str:
    """The exception class, and its reply code when it has one."""
    if outcome is None:
        return 'none (no outcome within the bound)'
    code = getattr(outcome, 'reply_code', None)
    name = type(outcome).__name__
    return f'`{name}` {code}' if code is not None else f'`{name}`'


def kib(peak: int | None) -> str:
    """A tracemalloc peak in KiB."""
    return '-' if peak is None else f'{peak / 1024:,.0f} KiB'


def row(behaviour: str, results: dict[str, list[Result]], case: Case, adapters: list[str]) -> str:
    """One table row; several results per adapter (truncations) show their range."""
    outcomes = sorted({outcome_text(r.outcome) for rs in results.values() for r in rs})
    times = []
    for adapter in adapters:
        elapsed = [r.elapsed for r in results[adapter]]
        if len(elapsed) == 1:
            times.append(f'{elapsed[0]:.2f}')
        else:
            times.append(f'{min(elapsed):.2f}-{max(elapsed):.2f}')
    peaks = [r.peak for rs in results.values() for r in rs if r.peak is not None]
    note = ' (xfail: ' + case.xfail + ')' if case.xfail else ''
    return (
        f'| {behaviour}{note} | {" / ".join(outcomes)} | {" / ".join(times)} | '
        f'{case.bound:g} | {kib(max(peaks) if peaks else None)} / {kib(case.memory)} |'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--adapters', default=','.join(ADAPTERS))
    args = parser.parse_args()
    adapters = args.adapters.split(',')
    print(
        f'| behaviour | outcome (class, reply code) | seconds to outcome ({" / ".join(adapters)}) '
        '| bound (s) | tracemalloc peak / bound |'
    )
    print('|---|---|---|---|---|')
    for case in CASES:
        results = {a: [run_case(case, a)] for a in adapters}
        print(row(case.behaviour, results, case, adapters), flush=True)
    for what in ('deliver', 'tune'):
        cases = [truncation_case(w, k) for w, k in truncation_cases() if w == what]
        results = {a: [run_case(c, a) for c in cases] for a in adapters}
        print(row(f'{cases[0].behaviour} ({len(cases)} offsets)', results, cases[0], adapters))


if __name__ == '__main__':
    main()
