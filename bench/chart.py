"""Draw the benchmark results as a PNG: ``python chart.py results.json out.png``.

Why a separate script: matplotlib is a benchmark-only tool, never a dependency of the package,
so ``run.py`` runs this under the reference virtualenv's interpreter, where it is installed.
Two panels: throughput as a fraction of the raw-socket ceiling (absolute msgs/s printed on the
bars), and client CPU microseconds per message (log scale), grouped by scenario.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt

COLORS = {
    'ours-blocking': '#1f77b4',
    'ours-select': '#17becf',
    'pika-blocking': '#d62728',
    'pika-select': '#ff9896',
    'raw': '#7f7f7f',
}


def _series(summary: list[dict[str, Any]], key: str) -> tuple[list[str], list[str], dict[Any, Any]]:
    """Scenarios and clients present, and {(scenario, client): value} for ``key``."""
    scenarios: list[str] = []
    clients: list[str] = []
    values: dict[Any, Any] = {}
    for entry in summary:
        if entry.get(key) is None:
            continue
        if entry['scenario'] not in scenarios:
            scenarios.append(entry['scenario'])
        if entry['client'] not in clients:
            clients.append(entry['client'])
        values[(entry['scenario'], entry['client'])] = entry.get(key)
    return scenarios, clients, values


def _bars(ax: Any, summary: list[dict[str, Any]], key: str, label_key: str | None) -> None:
    """Grouped bars of ``key`` per scenario, one colour per client."""
    scenarios, clients, values = _series(summary, key)
    _s, _c, labels = _series(summary, label_key or key)
    width = 0.8 / max(len(clients), 1)
    for i, client in enumerate(clients):
        xs, ys, texts = [], [], []
        for j, scenario in enumerate(scenarios):
            value = values.get((scenario, client))
            if value is None:
                continue
            xs.append(j + (i - (len(clients) - 1) / 2) * width)
            ys.append(value)
            label = labels.get((scenario, client))
            texts.append(f'{label:.0f}' if label_key and label is not None else '')
        ax.bar(xs, ys, width, label=client, color=COLORS.get(client))
        for x, y, text in zip(xs, ys, texts):
            ax.text(x, y, text, ha='center', va='bottom', fontsize=6, rotation=90)
    ax.set_xticks(range(len(scenarios)))
    ax.set_xticklabels(scenarios, rotation=15, fontsize=8)


def draw(data: dict[str, Any], out: str) -> None:
    """Render both panels into ``out``."""
    summary = data['summary']
    for entry in summary:  # the ceiling is 100% of itself
        if entry['client'] == 'raw' and entry.get('msgs_per_s'):
            entry['vs_ceiling'] = 1.0
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 9))
    _bars(top, summary, 'vs_ceiling', 'msgs_per_s')
    top.axhline(0.9, color='black', linewidth=0.6, linestyle='--')
    top.set_ylabel('throughput / raw ceiling (msgs/s on bars)')
    top.legend(fontsize=8, ncol=5, loc='upper center', bbox_to_anchor=(0.5, 1.16))
    _bars(bottom, summary, 'cpu_us_per_msg', None)
    bottom.set_yscale('log')
    bottom.set_ylabel('client CPU us per message (log)')
    meta = data['meta']
    fig.suptitle(
        f'pika benchmark {meta["date"]}: {"quick" if meta["quick"] else "full"}, '
        f'median of {meta["runs"]} run(s)',
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == '__main__':
    with open(sys.argv[1]) as fobj:
        draw(json.load(fobj), sys.argv[2])
