"""RSS over time of a slow consumer without ``basic_qos`` on a deep queue: ours vs pika 1.4.4.

The scenario of issue 18 ("bounded memory while consuming"): a queue of ``--count`` messages of
``--size`` bytes, a ``BlockingConnection`` consumer with no qos whose callback sleeps
``--sleep`` seconds per message and ``--pause`` seconds once (at message ``--pause-at``), with
``heartbeat=--heartbeat``. Each side runs ``tests/helpers/slow_consumer.py`` in its own process
(ours with this repository on the path, pika 1.4.4 from ``/tmp/pika-ref``), against the same
private RabbitMQ node (``tests/helpers/private_broker.py``; a deep queue must not disturb the
shared broker), on a queue filled afresh for each run.

Prints one row per second: ``t``, ``rss_ours``, ``rss_pika`` (MiB), then each run's summary,
and writes everything to ``bench/results/slow_consumer_rss.json``::

    python bench/slow_consumer_rss.py                       # 20,000 x 10 KiB, 10 s pause
    python bench/slow_consumer_rss.py --count 2000 --pause 2  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pika  # noqa: E402
from tests.helpers.private_broker import PrivateBroker  # noqa: E402

CONSUMER = ROOT / 'tests' / 'helpers' / 'slow_consumer.py'
PIKA_REF_PYTHON = os.environ.get('PIKA_REF_PYTHON', '/tmp/pika-ref/bin/python')


def fill(url: str, queue: str, count: int, size: int) -> None:
    """Declare ``queue`` afresh and publish ``count`` messages of ``size`` bytes into it."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_delete(queue)
    channel.queue_declare(queue)
    channel.confirm_delivery()
    body = b'x' * size
    for number in range(count):
        # one confirm wait per 500 messages keeps the broker's memory and our run short
        channel.basic_publish('', queue, body, mandatory=False)
        if number % 500 == 499:
            channel.queue_declare(queue, passive=True)
    depth = 0
    while depth < count:
        depth = channel.queue_declare(queue, passive=True).method.message_count
    connection.close()


def run_consumer(python: list[str], env: dict[str, str], url: str, args: Any) -> dict[str, Any]:
    """Run the consumer script in ``python``; return its JSON report."""
    command = [*python, str(CONSUMER), '--url', url, '--queue', args.queue,
               '--count', str(args.count), '--sleep', str(args.sleep),
               '--pause-at', str(args.pause_at), '--pause', str(args.pause),
               '--interval', str(args.interval)]  # fmt: skip
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=args.timeout, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f'consumer failed ({done.returncode}): {done.stderr[-2000:]}')
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def per_second(samples: list[list[float]]) -> dict[int, float]:
    """The largest RSS (MiB) seen in each whole second of a run."""
    rows: dict[int, float] = {}
    for t, kib in samples:
        second = int(t)
        rows[second] = max(rows.get(second, 0.0), kib / 1024.0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=20_000)
    parser.add_argument('--size', type=int, default=10 * 1024)
    parser.add_argument('--sleep', type=float, default=0.001)
    parser.add_argument('--pause-at', type=int, default=2_000)
    parser.add_argument('--pause', type=float, default=10.0)
    parser.add_argument('--heartbeat', type=int, default=2)
    parser.add_argument('--interval', type=float, default=0.25)
    parser.add_argument('--timeout', type=float, default=600.0)
    parser.add_argument('--queue', default='bench.slow_consumer_rss')
    parser.add_argument('--ours-query', default='', help='extra URL query for ours only')
    parser.add_argument('--only', choices=('ours', 'pika'), help='run one side only')
    parser.add_argument('--ours-path', default=str(ROOT), help='checkout of ours to measure')
    args = parser.parse_args()

    with PrivateBroker() as broker:
        base = f'{broker.url}?heartbeat={args.heartbeat}'
        ours_env = {**os.environ, 'PYTHONPATH': args.ours_path}
        pika_env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        runs: dict[str, dict[str, Any]] = {}
        for name, python, env, url in (
            ('ours', [sys.executable], ours_env, base + args.ours_query),
            ('pika', [PIKA_REF_PYTHON, '-I'], pika_env, base),
        ):
            if args.only not in (None, name):
                continue
            fill(broker.url, args.queue, args.count, args.size)
            runs[name] = run_consumer(python, env, url, args)

    empty: dict[str, Any] = {'samples': []}
    ours = per_second(runs.get('ours', empty)['samples'])
    theirs = per_second(runs.get('pika', empty)['samples'])
    print(f'{"t (s)":>6} {"rss_ours (MiB)":>15} {"rss_pika (MiB)":>15}')
    for second in range(max([*ours, *theirs, 0]) + 1):
        cells = [ours.get(second), theirs.get(second)]
        shown = ['' if cell is None else f'{cell:.1f}' for cell in cells]
        print(f'{second:>6} {shown[0]:>15} {shown[1]:>15}')
    for name, run in runs.items():
        print(f'{name}: consumed {run["consumed"]}/{args.count} in {run["elapsed"]} s, '
              f'baseline {run["baseline_kib"] / 1024:.1f} MiB, peak {run["hwm_kib"] / 1024:.1f} '
              f'MiB, error {run["error"]}')  # fmt: skip
    out = ROOT / 'bench' / 'results' / 'slow_consumer_rss.json'
    out.write_text(json.dumps({'args': vars(args), 'runs': runs}, indent=1) + '\n')


if __name__ == '__main__':
    main()
