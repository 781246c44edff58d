"""Instructions per `pika.aio` RPC round trip, counted by callgrind: the A/B figure of the RPC row.

    PYTHONPATH=. .venv/bin/python bench/aio_rpc_instructions.py [--n 500]
        [--clients ours ours-uvloop ours-trio raw-asyncio raw-uvloop]

Why: the RPC p50 of ``bench/aio.py`` swings with the load of this shared 2-core machine far more
than with a change to the client. This counts what one round trip costs the client process
instead: each client runs a loop of passive ``Queue.Declare`` round trips against the broker on
127.0.0.1:5672 under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``), once with N and once
with 2N round trips, each after 50 warm-up ones and with the start-up garbage frozen out of the
collector; (count(2N) - count(N)) / N leaves start-up, connection and close out. Repeated runs
agree within about 1%.

Clients: ``ours`` (`pika.aio` on asyncio), ``ours-uvloop``, ``ours-trio``, and the floors of
``bench/aio.py``: ``raw-asyncio`` and ``raw-uvloop`` (the raw client's request through an asyncio
transport, its reply awaited on a future: what any client on that loop pays).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import raw_ceiling  # noqa: E402  (stdlib-only helpers living next to this script)

URL = 'amqp://guest:guest@127.0.0.1:5672/%2F'
CLIENTS = ('ours', 'ours-uvloop', 'ours-trio', 'raw-asyncio', 'raw-uvloop')
WARM_UP = 50


def _start_counting(index: int) -> None:
    """After the warm-up: collect and freeze what start-up left, so both runs start alike."""
    if index == WARM_UP:
        gc.collect()
        gc.freeze()


async def ours_loop(queue: str, count: int) -> None:
    """``count`` passive declares through `pika.aio` (on whatever library runs it)."""
    import pika.aio

    async with await pika.aio.connect(URL) as conn, await conn.channel() as ch:
        for index in range(WARM_UP + count):
            _start_counting(index)
            await ch.queue_declare(queue, passive=True)


async def floor_loop(queue: str, count: int) -> None:
    """``count`` round trips of the asyncio floor (``aio_scenarios.raw_asyncio``'s loop)."""
    from aio_scenarios import FloorProtocol

    loop = asyncio.get_running_loop()
    conn = raw_ceiling.RawConnection()
    transport, proto = await loop.create_connection(FloorProtocol, sock=conn.sock)
    request = raw_ceiling.declare_frame(queue, passive=True)
    proto.wanted = b'\x00\x32\x00\x0b'  # Queue.DeclareOk
    create_future, write = loop.create_future, transport.write
    try:
        for index in range(WARM_UP + count):
            _start_counting(index)
            proto.waiter = waiter = create_future()
            write(request)
            await waiter
    finally:
        transport.close()


def run_child(client: str, queue: str, count: int) -> None:
    """The measured process: run ``client``'s loop."""
    loop_fn: Callable[[str, int], Any] = floor_loop if client.startswith('raw') else ours_loop
    if client == 'ours-trio':
        import trio

        trio.run(ours_loop, queue, count)
    elif client.endswith('uvloop'):
        import uvloop

        uvloop.run(loop_fn(queue, count))
    else:
        asyncio.run(loop_fn(queue, count))


def count_instructions(client: str, queue: str, count: int) -> int:
    """Instructions callgrind counted in one child process running ``count`` round trips."""
    env = dict(os.environ, PYTHONHASHSEED='0', PYTHONPATH=str(BENCH_DIR.parent))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'callgrind.out'
        cmd = ['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}', sys.executable,
               __file__, '--child', client, queue, str(count)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=str(BENCH_DIR))
        match = re.search(r'^(?:summary|totals): (\d+)', out.read_text(), re.MULTILINE)
        if match is None:
            raise RuntimeError(f'no totals in the callgrind output of {client}')
        return int(match.group(1))


def per_round_trip(client: str, n: int) -> float:
    """(count(2N) - count(N)) / N for ``client``, on a queue of its own."""
    queue = f'bench.aio.cg.{uuid.uuid4().hex[:10]}'
    raw_ceiling.declare(queue)
    try:
        return (count_instructions(client, queue, 2 * n) - count_instructions(client, queue, n)) / n
    finally:
        raw_ceiling.delete(queue)


def main() -> None:
    if sys.argv[1:2] == ['--child']:
        run_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=500, help='round trips of the shorter run')
    parser.add_argument('--clients', nargs='+', choices=CLIENTS, default=list(CLIENTS))
    args = parser.parse_args()
    for client in args.clients:
        print(f'{client:12s} {per_round_trip(client, args.n):10,.0f} instructions per round trip')


if __name__ == '__main__':
    main()
