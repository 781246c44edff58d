"""RPC round trips of `pika.aio`, a lean client, the loop floor and raw, interleaved call by call.

    PYTHONPATH=. .venv/bin/python bench/aio_rpc_paired.py [--loop asyncio|uvloop|both]
        [--runs 5] [--count 3000]

Why: ``bench/aio.py`` times each client in its own process, one after the other, and the p50
of a loopback round trip moves by 10-30% between two such processes on this 2-core machine
(the broker's state, the other core's load, how deeply the idle CPU sleeps). Its p50 ratios
therefore scatter more than the changes they are meant to judge. Here the four clients run
in one process, on one loop, against the same broker, and take turns call by call (in
``raw_ceiling.run_order``'s balanced order, as ``run.py`` and ``aio.py`` order their clients,
so no client carries what one neighbour leaves it): whatever the machine does, it does to all
four alike, and the ratios of their p50s are steady to a percent or two.

Clients, each a passive ``Queue.Declare`` of the same queue on its own connection:

* ``ours``: ``await ch.queue_declare(queue, passive=True)`` through `pika.aio`;
* ``lean``: the least a real client does on top of the floor, written out by hand: encode the
  request from its arguments, decode the reply's fields, and hand them to the oldest of a
  FIFO of futures. No argument checks, no channel state, no reply objects (:class:`Lean`);
* ``floor``: the raw client's pre-encoded request written through an asyncio transport, its
  reply awaited on a future that the protocol settles (``aio_scenarios.FloorProtocol``): what
  any client on this loop pays, with no encoding, decoding or bookkeeping of its own;
* ``raw``: the raw ceiling of ``bench/raw_ceiling.py``: ``sendall`` and a blocking read of
  the reply on a plain socket (it blocks the loop while it waits; nothing else runs then).

Each run is a fresh process; the table gives each client's median p50 over the runs and the
median of the per-run ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import struct
import subprocess
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from pika.aio import Channel

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))  # this checkout's pika, whatever is installed

import raw_ceiling  # noqa: E402  (stdlib-only helpers living next to this script)
from raw_ceiling import FRAME_END, FRAME_METHOD  # noqa: E402

URL = 'amqp://guest:guest@127.0.0.1:5672/%2F'
CLIENTS = ('ours', 'lean', 'floor', 'raw')
#: the ratios of p50s reported, (numerator, denominator)
RATIOS = (('ours', 'raw'), ('lean', 'raw'), ('floor', 'raw'), ('ours', 'floor'), ('ours', 'lean'))
WARM_UP = 200
DECLARE_OK = b'\x00\x32\x00\x0b'  # Queue.DeclareOk's class and method ids
_FRAME_HEAD = struct.Struct('>BHI')  # frame type, channel, payload size
_METHOD_ID = struct.Struct('>HH')  # class id, method id
_COUNTS = struct.Struct('>II')  # Queue.DeclareOk's message and consumer counts
_DECLARE_HEAD = struct.Struct('>HHH')  # Queue.Declare's class id, method id, ticket


class Lean(asyncio.Protocol):
    """The ``lean`` client's protocol: frames cut from what arrives, each Queue.DeclareOk
    decoded into ``(queue, message_count, consumer_count)`` for the oldest waiting future."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiters: deque[asyncio.Future[tuple[str, int, int]]] = deque()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while len(buf) >= 7:
            frame_type, _channel, size = _FRAME_HEAD.unpack_from(buf)
            end = size + 8
            if len(buf) < end:
                return
            if frame_type == FRAME_METHOD and _METHOD_ID.unpack_from(buf, 7) == (50, 11):
                length = buf[11]
                queue = bytes(buf[12 : 12 + length]).decode()
                messages, consumers = _COUNTS.unpack_from(buf, 12 + length)
                waiter = self.waiters.popleft()
                if not waiter.done():
                    waiter.set_result((queue, messages, consumers))
            del buf[:end]

    def queue_declare(
        self, queue: str, passive: bool = False, durable: bool = False
    ) -> asyncio.Future[tuple[str, int, int]]:
        """Send Queue.Declare on channel 1; the future of its reply's fields."""
        name = queue.encode()
        payload = b''.join((
            _DECLARE_HEAD.pack(50, 10, 0),
            bytes((len(name),)),
            name,
            bytes((passive | durable << 1,)),
            b'\x00\x00\x00\x00',  # no arguments
        ))  # fmt: skip
        waiter: asyncio.Future[tuple[str, int, int]] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        self.transport.write(_FRAME_HEAD.pack(FRAME_METHOD, 1, len(payload)) + payload + FRAME_END)
        return waiter


async def interleaved(queue: str, count: int) -> dict[str, list[float]]:
    """``count`` round trips of each client, taking turns; their latencies in seconds. The
    queue is deleted however that ends (auto_delete never fires: it has no consumer)."""
    import pika.aio

    async with await pika.aio.connect(URL) as conn, await conn.channel() as channel:
        await channel.queue_declare(queue, auto_delete=True)
        try:
            return await take_turns(channel, queue, count)
        finally:
            await channel.queue_delete(queue)


async def take_turns(channel: Channel, queue: str, count: int) -> dict[str, list[float]]:
    """:func:`interleaved`'s round trips, ours on ``channel`` and the others each on a raw
    connection of its own (closed on the way out; a socket whose set-up failed goes with this
    process, which then ends)."""
    from aio_scenarios import FloorProtocol

    loop = asyncio.get_running_loop()
    request = raw_ceiling.declare_frame(queue, passive=True)
    with contextlib.ExitStack() as opened:
        floor_conn = raw_ceiling.RawConnection()
        transport, protocol = await loop.create_connection(FloorProtocol, sock=floor_conn.sock)
        opened.callback(transport.close)
        protocol.wanted = DECLARE_OK
        lean_conn = raw_ceiling.RawConnection()
        lean_transport, lean = await loop.create_connection(Lean, sock=lean_conn.sock)
        opened.callback(lean_transport.close)
        raw = raw_ceiling.RawConnection()
        opened.callback(raw.sock.close)

        async def ours() -> None:
            await channel.queue_declare(queue, passive=True)

        async def lean_declare() -> None:
            await lean.queue_declare(queue, passive=True)

        async def floor() -> None:
            protocol.waiter = waiter = loop.create_future()
            transport.write(request)
            await waiter

        async def raw_socket() -> None:
            raw.sock.sendall(request)
            raw.expect(50, 11)

        calls: dict[str, Callable[[], Awaitable[None]]] = {
            'ours': ours,
            'lean': lean_declare,
            'floor': floor,
            'raw': raw_socket,
        }
        latencies: dict[str, list[float]] = {name: [] for name in calls}
        clock = time.perf_counter
        for index in range(WARM_UP + count):
            for name in raw_ceiling.run_order(list(calls), index):
                call = calls[name]
                started = clock()
                await call()
                if index >= WARM_UP:
                    latencies[name].append(clock() - started)
    return latencies


def run_child(loop_name: str, count: int) -> dict[str, Any]:
    """One run in this process: each client's p50 and p90 in microseconds."""
    queue = f'bench-paired-{uuid.uuid4().hex[:8]}'
    if loop_name == 'uvloop':
        import uvloop

        runner: Callable[..., Any] = uvloop.run
    else:
        runner = asyncio.run
    latencies = runner(interleaved(queue, count))
    result: dict[str, Any] = {}
    for name, values in latencies.items():
        values.sort()
        result[name] = {
            'p50_us': statistics.median(values) * 1e6,
            'p90_us': values[int(len(values) * 0.9)] * 1e6,
        }
    return result


def run_parent(loops: list[str], runs: int, count: int) -> list[dict[str, Any]]:
    """``runs`` fresh processes per loop, alternating the loops; one row per loop."""
    per_loop: dict[str, list[dict[str, Any]]] = {name: [] for name in loops}
    for _ in range(runs):
        for loop_name in loops:
            output = subprocess.run(
                [sys.executable, __file__, '--child', loop_name, '--count', str(count)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            per_loop[loop_name].append(json.loads(output.strip().splitlines()[-1]))
    rows = []
    for loop_name, results in per_loop.items():
        row: dict[str, Any] = {'loop': loop_name, 'runs': len(results)}
        for name in CLIENTS:
            row[f'{name}_p50_us'] = statistics.median(r[name]['p50_us'] for r in results)
        for top, bottom in RATIOS:
            ratios = [r[top]['p50_us'] / r[bottom]['p50_us'] for r in results]
            row[f'{top}/{bottom}'] = statistics.median(ratios)
            row[f'{top}/{bottom} range'] = (min(ratios), max(ratios))
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a markdown table (ratios: median of the runs, [lowest, highest])."""
    keys = [f'{top}/{bottom}' for top, bottom in RATIOS]
    print(
        '| loop | '
        + ' | '.join(f'{name} p50 us' for name in CLIENTS)
        + ' | '
        + ' | '.join(keys)
        + ' |'
    )
    print('|---|' + '---:|' * (len(CLIENTS) + len(keys)))
    for row in rows:
        p50s = ' | '.join(f'{row[name + "_p50_us"]:.0f}' for name in CLIENTS)
        ratios = ' | '.join(
            f'{row[key]:.3f} [{row[key + " range"][0]:.3f}, {row[key + " range"][1]:.3f}]'
            for key in keys
        )
        print(f'| {row["loop"]} | {p50s} | {ratios} |')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--loop', choices=('asyncio', 'uvloop', 'both'), default='both')
    parser.add_argument('--runs', type=int, default=5, help='processes per loop (default 5)')
    parser.add_argument('--count', type=int, default=3000, help='round trips per client')
    parser.add_argument('--child', choices=('asyncio', 'uvloop'), help=argparse.SUPPRESS)
    parser.add_argument('--json', type=Path, help='also write the rows here')
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.count)))
        return 0
    loops = ['asyncio', 'uvloop'] if args.loop == 'both' else [args.loop]
    rows = run_parent(loops, args.runs, args.count)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
