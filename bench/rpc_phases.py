"""Where the time of one RPC round trip goes: our BlockingConnection against the raw socket.

Why: the RPC row of ``run.py`` is latency-bound. Its ratio to the raw ceiling only says how
much slower a round trip is, not where the difference sits: in the broker (the same bytes go
out), in the way the client waits for the reply, or in the client's own Python. This script
splits each round trip into phases with ``time.perf_counter`` marks taken at the socket and
poller calls, and reports the median of each phase over ``--count`` round trips per process.

Variants, each a fresh process (``--runs`` of each, interleaved):

* ``raw-recv``: the raw client's loop in ``run.py`` (``raw_ceiling.py``): ``sendall``, then
  ``RawConnection.expect`` reads (blocking ``recv``) until the Queue.DeclareOk;
* ``raw-epoll``: the same, but waiting as our pump does: a non-blocking socket, ``epoll``, then
  the read (what being able to time out, be woken by another thread and send heartbeats costs);
* ``ours``: ``BlockingChannel.queue_declare(queue, passive=True)``, the ``run.py`` RPC.

Phases of ``ours`` (the marks wrap the pump's socket, its poller and the core's entry points,
adding about 1 us in all): ``user->core.rpc`` is the front-end (argument binding, the method
object, the channel checks), ``core.rpc->send`` encoding and the pump's send, ``send->poll``
the send system call and the way to the poll, ``poll->woke`` the wait for the broker,
``woke->recvd`` the way back and the read, ``recvd->decoded`` the core's decoding and channel
bookkeeping, ``decoded->user`` routing to the waiter and the return to the caller.

Each variant also reports its process's user and system CPU per round trip (``getrusage`` around
the timed loop): the system part (the socket calls, the loopback TCP work) is about the same for
every client, so the user part is where a client's own cost shows.

Usage: ``.venv/bin/python bench/rpc_phases.py [--runs 3] [--count 10000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import select
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

import raw_ceiling  # noqa: E402

_now = time.perf_counter
Marks = list[tuple[str, float]]


def _phases(marks: Marks, min_share: float = 0.5) -> dict[str, float]:
    """Median microseconds between consecutive marks, per pair of mark names that occurs in
    at least ``min_share`` of the round trips."""
    gaps: dict[str, list[float]] = {}
    for (name_a, at_a), (name_b, at_b) in zip(marks, marks[1:]):
        gaps.setdefault(f'{name_a}->{name_b}', []).append(at_b - at_a)
    rounds = max(1, sum(1 for name, _ in marks if name == 'send'))
    return {
        key: statistics.median(values) * 1e6
        for key, values in gaps.items()
        if len(values) >= min_share * rounds
    }


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _cpu_since(before: tuple[float, float]) -> tuple[float, float]:
    """User and system CPU seconds of this process since ``before``."""
    user, system = _cpu()
    return user - before[0], system - before[1]


def _raw(queue: str, count: int, use_epoll: bool) -> tuple[float, tuple[float, float], Marks]:
    conn = raw_ceiling.RawConnection()
    request = raw_ceiling.declare_frame(queue, passive=True)
    sock = conn.sock
    marks: Marks = []
    epoll = None
    if use_epoll:
        sock.setblocking(False)
        epoll = select.epoll()
        epoll.register(sock.fileno(), select.EPOLLIN)
    add = marks.append
    cpu_before = _cpu()
    started = _now()
    for _ in range(count):
        add(('send', _now()))
        sock.sendall(request)
        if epoll is not None:
            epoll.poll(10.0)
        conn.expect(50, 11)  # Queue.DeclareOk, read and found as run.py's raw client does
        add(('reply', _now()))
    elapsed = _now() - started
    cpu = _cpu_since(cpu_before)
    sock.setblocking(True)
    conn.close()
    return elapsed, cpu, marks


def _ours(queue: str, count: int) -> tuple[float, tuple[float, float], Marks]:
    import pika

    conn = pika.BlockingConnection(pika.ConnectionParameters('127.0.0.1'))
    channel = conn.channel()
    pump = conn._pump
    core = pump.core
    marks: Marks = []
    add = marks.append
    sock = pump.sock

    class MarkedSocket:
        """The pump's socket, with marks around send and recv_into."""

        def send(self, data: Any) -> int:
            add(('send', _now()))
            return sock.send(data)  # type: ignore[union-attr]

        def recv_into(self, view: Any) -> int:
            received = sock.recv_into(view)  # type: ignore[union-attr]
            add(('recvd', _now()))
            return received

        def __getattr__(self, name: str) -> Any:
            return getattr(sock, name)

    def marked(name: str, func: Callable[..., Any], after: bool = False) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if not after:
                add((name, _now()))
            result = func(*args)
            if after:
                add((name, _now()))
            return result

        return call

    poll = pump._poller.poll

    def marked_poll(timeout: Any) -> Any:
        add(('poll', _now()))
        ready = poll(timeout)
        add(('woke', _now()))
        return ready

    pump.sock = MarkedSocket()  # type: ignore[assignment]
    pump._poller.poll = marked_poll  # type: ignore[method-assign]
    core.receive_data = marked('decoded', core.receive_data, after=True)  # type: ignore[method-assign]
    channel_core = core.channels[channel.channel_number]
    channel_core.rpc = marked('core.rpc', channel_core.rpc)  # type: ignore[method-assign]
    channel.queue_declare(queue=queue, passive=True)
    marks.clear()
    cpu_before = _cpu()
    started = _now()
    for _ in range(count):
        add(('user', _now()))
        channel.queue_declare(queue=queue, passive=True)
    elapsed = _now() - started
    cpu = _cpu_since(cpu_before)
    pump.sock = sock
    conn.close()
    return elapsed, cpu, marks


def run_variant(variant: str, queue: str, count: int) -> dict[str, Any]:
    """One process's measurement: round-trip microseconds and the phase medians."""
    if variant == 'ours':
        elapsed, (user, system), marks = _ours(queue, count)
    else:
        elapsed, (user, system), marks = _raw(queue, count, use_epoll=variant == 'raw-epoll')
    return {
        'variant': variant,
        'round_trip_us': elapsed / count * 1e6,
        'user_us': user / count * 1e6,
        'system_us': system / count * 1e6,
        'phases': _phases(marks),
    }


VARIANTS = ('raw-recv', 'raw-epoll', 'ours')


def main(argv: list[str] | None = None) -> int:
    """Run every variant ``--runs`` times in fresh processes and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--count', type=int, default=10000)
    parser.add_argument('--child', help=argparse.SUPPRESS)  # VARIANT,QUEUE: one measurement
    args = parser.parse_args(argv)
    if args.child:
        variant, queue = args.child.split(',', 1)
        print(json.dumps(run_variant(variant, queue, args.count)))
        return 0
    queue = f'bench-rpc-phases-{uuid.uuid4().hex[:12]}'
    raw_ceiling.declare(queue)
    results: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    try:
        for _ in range(args.runs):
            for variant in VARIANTS:
                cmd = [sys.executable, __file__, '--count', str(args.count)]
                out = subprocess.run(
                    [*cmd, '--child', f'{variant},{queue}'],
                    capture_output=True, text=True, check=True, timeout=300,
                )  # fmt: skip
                results[variant].append(json.loads(out.stdout))
    finally:
        raw_ceiling.delete(queue)
    for variant, runs in results.items():
        trip, user, system = (
            statistics.median(run[key] for run in runs)
            for key in ('round_trip_us', 'user_us', 'system_us')
        )
        print(
            f'{variant:9} round trip {trip:6.1f} us, CPU user {user:5.1f} + system {system:5.1f}'
            f' us (medians of {len(runs)} processes)'
        )
        for phase in runs[0]['phases']:
            values = [run['phases'][phase] for run in runs if phase in run['phases']]
            print(f'    {phase:22} {statistics.median(values):6.1f} us')
    return 0


if __name__ == '__main__':
    sys.exit(main())
