"""The figures a recovery scenario records (issue 15, "Must show"), in one format.

Every recovery and failover test against real broker processes reports time to detect, time
to recover, confirmed messages lost, duplicates and the longest single call (plus what else it
counted) through :func:`record_figures`. The line is printed (seen with ``pytest -s`` or on a
failure) and kept in :data:`RECORDED`, which ``tests/conftest.py`` prints in the terminal
summary, so a plain CI run shows every scenario's figures.

Names used by convention: ``detect_s`` (fault to ``on_connection_lost``), ``recover_s``
(``on_connection_lost`` to ``on_recovered``), ``lost`` (confirmed messages missing; must be
0), ``duplicates`` (messages received or stored twice), ``longest_call_s`` (the longest single
blocking call, or the longest gap between two callbacks on a callback adapter).
"""

from __future__ import annotations

from typing import Any

__all__ = ['RECORDED', 'format_figures', 'record_figures']

#: Every line recorded in this test session, in order.
RECORDED: list[str] = []


def format_figures(scenario: str, figures: dict[str, Any]) -> str:
    """One line: ``RECOVERY <scenario>: key=value ...`` (floats with three decimals)."""
    parts = [
        f'{key}={value:.3f}' if isinstance(value, float) else f'{key}={value}'
        for key, value in figures.items()
    ]
    return f'RECOVERY {scenario}: ' + ' '.join(parts)


def record_figures(scenario: str, figures: dict[str, Any]) -> str:
    """Print and keep the figures of ``scenario``; returns the line (for assertion messages)."""
    line = format_figures(scenario, figures)
    RECORDED.append(line)
    print('\n' + line)
    return line
