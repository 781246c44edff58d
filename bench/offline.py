"""Hot-path loops without a broker: the Python cost of one operation, free of network noise.

Loopback runs on a shared 2-core machine swing by tens of percent from run to run; these loops
feed a callback `Connection` canned broker frames through a fake transport (no socket, no
loop), so they show what a change to our own code is worth. Two measures:

* time (default): median of 5 timed runs, microseconds per operation;
* ``--instructions``: CPU instructions per operation counted by ``valgrind --tool=callgrind``
  (the process runs twice, with N and 2N operations, and the difference is divided by N, so
  start-up is not counted). Repeatable whatever else the machine is doing.

Scenarios: ``rpc`` (``queue_declare(passive=True)`` and its DeclareOk), ``consume`` (a read of
200 deliveries of 100 bytes, each acked from the callback), ``confirms`` (50 publishes, then one
``Basic.Ack(multiple)``), ``publish`` (one 100-byte ``basic_publish`` and taking the output),
``deliveries`` and ``deliveries_props`` (the codec alone: ``decode_deliveries`` on a read of 200
Deliver sets of 100 bytes, without properties or with content_type + delivery_mode; per set),
``loop`` (one ``IOLoop`` turn of a SelectConnection's loop woken by one byte on a socket pair),
``select_rpc`` (a whole SelectConnection round trip over a socket pair whose other end, a reader on
the same loop, answers each request with a canned DeclareOk: loop, pump, codec and front-end),
``blocking_rpc`` and ``raw_rpc`` (the BlockingChannel's and the raw client's RPC loops against the
same scripted TCP peer), ``blocking_publish`` (100-byte BlockingChannel publishes, no confirms)
and ``blocking_consume`` (100-byte deliveries at prefetch 1000, each acked from the callback),
all four against a scripted TCP peer in a thread of the same process, which ``--instructions``
leaves out of the count (:data:`CLIENT_ONLY`): the counts are the clients' own work.

``BENCH_PIKA=DIR`` measures the pika of another checkout (e.g. a detached worktree of an older
revision) with these scenarios, for before/after counts.

``--recovery`` runs the loops that use a fake-transport connection (``rpc``, ``consume``,
``confirms``, ``publish``) with ``recovery=pika.Recovery()``: the price of automatic recovery
on the hot paths (issue 15 allows 5% on publish and consume).

Usage: ``.venv/bin/python bench/offline.py [--instructions] [--recovery] [scenario ...]``
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
#: ``BENCH_PIKA=DIR``: measure the pika (and its tests/helpers) of another checkout, e.g. a
#: ``git worktree add --detach`` of an older revision, with this file's scenarios.
PIKA_ROOT = Path(os.environ.get('BENCH_PIKA', ROOT)).resolve()
sys.path.insert(0, str(ROOT / 'bench'))
sys.path.insert(0, str(ROOT))
if PIKA_ROOT != ROOT:
    sys.path.insert(0, str(PIKA_ROOT))

import raw_ceiling  # noqa: E402

import pika  # noqa: E402
from pika import spec  # noqa: E402
from pika.adapters.select_connection import IOLoop, SelectConnection  # noqa: E402
from tests.helpers import server_frames as sf  # noqa: E402
from tests.helpers.fake_transport import open_fake_channel  # noqa: E402

BODY = b'x' * 100
#: the parameters of the fake-transport loops: None (recovery off) or, with ``--recovery``,
#: heartbeats off and ``recovery=pika.Recovery()``
PARAMETERS: list[Any] = [None]
CONSUME_BATCH = 200
CONFIRM_BATCH = 50


def rpc(n: int) -> float:
    """Seconds for ``n`` Queue.Declare(passive) round trips."""
    conn, channel = open_fake_channel(PARAMETERS[0])
    reply = sf.method(1, spec.Queue.DeclareOk('q', 5, 0))
    replies: list[Any] = []
    on_reply = replies.append
    started = time.perf_counter()
    for _ in range(n):
        channel.queue_declare(queue='q', passive=True, callback=on_reply)
        conn._take_output()
        conn._on_data_received(reply)
    elapsed = time.perf_counter() - started
    assert len(replies) == n
    return elapsed


def consume(n: int) -> float:
    """Seconds for ``n`` deliveries (read 200 at a time), each acked by the callback."""
    conn, channel = open_fake_channel(PARAMETERS[0])

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume('q', on_message, consumer_tag='ctag1')
    conn._on_data_received(sf.method(1, spec.Basic.ConsumeOk('ctag1')))
    conn._take_output()
    read = b''.join(sf.deliver(1, BODY, tag) for tag in range(1, CONSUME_BATCH + 1))
    started = time.perf_counter()
    for _ in range(max(1, n // CONSUME_BATCH)):
        conn._on_data_received(read)
        conn._take_output()
    return time.perf_counter() - started


def _deliveries(n: int, properties: Any) -> float:
    """``decode_deliveries`` over one read of CONSUME_BATCH Deliver sets, ``n`` sets in all."""
    from pika._core.events import MessageDelivered
    from pika._wire.deliveries import decode_deliveries

    read = b''.join(
        sf.method(1, spec.Basic.Deliver('ctag1.abc', tag, False, 'ex', 'rk'))
        + sf.content(1, BODY, properties)
        for tag in range(1, CONSUME_BATCH + 1)
    )
    out: list[Any] = []
    if decode_deliveries(read, 0, 131072, 1, out, MessageDelivered) != len(read):
        raise RuntimeError('decode_deliveries did not take the whole read')
    start = time.perf_counter()
    for _ in range(n // CONSUME_BATCH):
        out = []
        decode_deliveries(read, 0, 131072, 1, out, MessageDelivered)
    return time.perf_counter() - start


def deliveries(n: int) -> float:
    return _deliveries(n, None)


def deliveries_props(n: int) -> float:
    return _deliveries(n, spec.BasicProperties(content_type='text/plain', delivery_mode=2))


def confirms(n: int) -> float:
    """Seconds for ``n`` publishes in confirm mode, confirmed 50 at a time."""
    conn, channel = open_fake_channel(PARAMETERS[0])
    confirmed: list[Any] = []
    channel.confirm_delivery(ack_nack_callback=confirmed.append, callback=lambda _frame: None)
    conn._on_data_received(sf.method(1, spec.Confirm.SelectOk()))
    conn._take_output()
    tag = 0
    started = time.perf_counter()
    for _ in range(max(1, n // CONFIRM_BATCH)):
        for _ in range(CONFIRM_BATCH):
            channel.basic_publish('', 'q', BODY)
        tag += CONFIRM_BATCH
        conn._take_output()
        conn._on_data_received(sf.method(1, spec.Basic.Ack(tag, multiple=True)))
    return time.perf_counter() - started


def publish(n: int) -> float:
    """Seconds for ``n`` 100-byte publishes, the output taken after each."""
    conn, channel = open_fake_channel(PARAMETERS[0])
    started = time.perf_counter()
    for _ in range(n):
        channel.basic_publish('', 'q', BODY)
        conn._take_output()
    return time.perf_counter() - started


def loop(n: int) -> float:
    """Seconds for ``n`` IOLoop turns, each woken by one byte written to a socket pair."""
    ioloop = IOLoop()
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    received = [0]

    def on_readable() -> None:
        received[0] += len(ours.recv(4096))

    ioloop.set_reader(ours.fileno(), on_readable)
    try:
        started = time.perf_counter()
        for _ in range(n):
            peer.send(b'.')
            ioloop.poll()
        elapsed = time.perf_counter() - started
    finally:
        ioloop.remove_reader(ours.fileno())
        ioloop.close()
        ours.close()
        peer.close()
    assert received[0] == n
    return elapsed


def select_rpc(n: int) -> float:
    """Seconds for ``n`` SelectConnection Queue.Declare(passive) round trips over a socket pair.

    The "broker" is a reader on the same loop, so one round trip is two loop turns and the
    system calls of both ends are counted.
    """
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    conn = SelectConnection(
        pika.ConnectionParameters(heartbeat=0), internal_connection_workflow=False
    )
    ioloop = conn.ioloop
    handshake = [sf.start(), sf.tune() + sf.open_ok(), sf.channel_open_ok(1)]
    reply = sf.method(1, spec.Queue.DeclareOk('q', 5, 0))
    state: dict[str, Any] = {'seen': 0}

    def on_peer_readable() -> None:
        if peer.recv(65536):
            peer.send(handshake.pop(0) if handshake else reply)

    def on_reply(_frame: Any) -> None:
        state['seen'] += 1
        if state['seen'] == n:
            state['elapsed'] = time.perf_counter() - state['started']
            ioloop.stop()
        else:
            state['channel'].queue_declare(queue='q', passive=True, callback=on_reply)

    def on_channel(channel: Any) -> None:
        state['channel'] = channel
        state['started'] = time.perf_counter()
        channel.queue_declare(queue='q', passive=True, callback=on_reply)

    conn.add_on_open_callback(lambda c: c.channel(on_open_callback=on_channel))
    ioloop.set_reader(peer.fileno(), on_peer_readable)
    conn.attach_socket(ours, conn.params)
    try:
        ioloop.start()
    finally:
        ioloop.remove_reader(peer.fileno())
        peer.close()
        ours.close()
    assert state['seen'] == n
    return float(state['elapsed'])


class _RpcPeer:
    """A scripted broker on a loopback TCP port, in a thread: the handshake, then one
    Queue.DeclareOk for each Queue.Declare, CloseOk for the closes. Both RPC clients below
    talk to it, so its cost is the same in both and their difference is the client's own."""

    _ANSWERS = {
        (10, 11): sf.tune(heartbeat=0),  # StartOk
        (10, 40): sf.open_ok(),  # Connection.Open
        (20, 10): sf.channel_open_ok(1),
        (50, 10): sf.method(1, spec.Queue.DeclareOk('q', 5, 0)),
        (20, 40): sf.channel_close_ok(1),
        (10, 50): sf.connection_close_ok(),
    }

    def __init__(self) -> None:
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            pending = b''
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
                if pending.startswith(b'AMQP'):
                    conn.sendall(sf.start())
                    pending = pending[8:]
                replies = []
                while len(pending) >= 8:
                    size = struct.unpack_from('>I', pending, 3)[0]
                    if len(pending) < size + 8:
                        break
                    if pending[0] == 1:
                        key = struct.unpack_from('>HH', pending, 7)
                        replies.append(self._ANSWERS.get(key, b''))
                    pending = pending[size + 8 :]
                if replies:
                    conn.sendall(b''.join(replies))


def blocking_rpc(n: int) -> float:
    """Seconds for ``n`` BlockingChannel Queue.Declare(passive) round trips against
    :class:`_RpcPeer` (compare with ``raw_rpc``: the same peer, the raw client's loop)."""
    peer = _RpcPeer()
    conn = pika.BlockingConnection(pika.ConnectionParameters(port=peer.port, heartbeat=0))
    channel = conn.channel()
    started = time.perf_counter()
    for _ in range(n):
        channel.queue_declare(queue='q', passive=True)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def raw_rpc(n: int) -> float:
    """Seconds for ``n`` round trips of ``bench/raw_ceiling.py``'s RPC loop (``sendall`` of a
    pre-encoded Queue.Declare, blocking reads until the DeclareOk) against :class:`_RpcPeer`."""
    peer = _RpcPeer()
    raw = raw_ceiling.RawConnection(port=peer.port)
    request = raw_ceiling.declare_frame('q', passive=True)
    sock = raw.sock
    started = time.perf_counter()
    for _ in range(n):
        sock.sendall(request)
        raw.expect(50, 11)
    elapsed = time.perf_counter() - started
    sock.close()
    return elapsed


#: The heartbeat :class:`_StreamPeer` offers: as against a broker, the BlockingConnection then
#: runs its keeper thread, which also flushes coalesced publishes (never due within a run).
HEARTBEAT = 600


class _StreamPeer(_RpcPeer):
    """A scripted broker for the BlockingConnection's publish and consume loops: the
    handshake, ``QosOk``/``ConsumeOk``, publishes read and dropped, and, once a consumer is
    on, a window of :data:`CONSUME_WINDOW` 100-byte deliveries kept full as acks come back
    (as a broker with that prefetch would). Frames are parsed at an offset, never by slicing,
    so its own cost stays linear in the bytes."""

    _ANSWERS = {
        **_RpcPeer._ANSWERS,
        (10, 11): sf.tune(heartbeat=HEARTBEAT),  # StartOk: a heartbeat, so a keeper thread
        (60, 10): sf.method(1, spec.Basic.QosOk()),
        (60, 20): sf.method(1, spec.Basic.ConsumeOk('ctag1')),
        (60, 30): sf.method(1, spec.Basic.CancelOk('ctag1')),
    }

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sent = self.acked = 0
        with conn:
            pending = bytearray()
            while True:
                data = conn.recv(262144)
                if not data:
                    return
                pending += data
                if pending.startswith(b'AMQP'):
                    conn.sendall(sf.start())
                    del pending[:8]
                used, replies = self._scan(pending)
                del pending[:used]
                if replies:
                    conn.sendall(b''.join(replies))

    def _scan(self, pending: bytearray) -> tuple[int, list[bytes]]:
        replies: list[bytes] = []
        offset, total = 0, len(pending)
        while total - offset >= 8:
            size = struct.unpack_from('>I', pending, offset + 3)[0]
            if total - offset < size + 8:
                break
            if pending[offset] == 1:
                key = struct.unpack_from('>HH', pending, offset + 7)
                if key == (60, 80):
                    self.acked += 1
                else:
                    replies.append(self._ANSWERS.get(key, b''))
                if key == (60, 20):
                    self.sent = 0
                    replies.append(self._deliveries(CONSUME_WINDOW))
                elif key == (60, 30):
                    self.sent = 0  # cancelled: no more deliveries
            offset += size + 8
        if self.sent and self.sent - self.acked <= CONSUME_WINDOW - CONSUME_BATCH:
            replies.append(self._deliveries(CONSUME_WINDOW - (self.sent - self.acked)))
        return offset, replies

    _TEMPLATE = sf.deliver(1, BODY, 1)
    #: where the delivery tag sits: frame head, method id, consumer tag 'ctag1' (1 + 5 octets)
    _TAG_AT = 7 + 4 + 1 + len('ctag1')

    def _deliveries(self, count: int) -> bytes:
        """``count`` deliveries with the next tags, from one encoded template."""
        step = len(self._TEMPLATE)
        out = bytearray(self._TEMPLATE * count)
        pack_tag = struct.Struct('>Q').pack_into
        for index in range(count):
            self.sent += 1
            pack_tag(out, index * step + self._TAG_AT, self.sent)
        return bytes(out)


#: Deliveries the scripted peer keeps unacknowledged (the consume benchmark's prefetch).
CONSUME_WINDOW = 1000


def blocking_publish(n: int) -> float:
    """Seconds for ``n`` 100-byte BlockingChannel publishes (no confirms) to
    :class:`_StreamPeer`, which reads and drops them; the connection's close waits until
    every publish is written."""
    peer = _StreamPeer()
    conn = pika.BlockingConnection(pika.ConnectionParameters(port=peer.port))
    channel = conn.channel()
    started = time.perf_counter()
    for _ in range(n):
        channel.basic_publish('', 'q', BODY)
    conn.close()
    return time.perf_counter() - started


def blocking_consume(n: int) -> float:
    """Seconds for ``n`` 100-byte deliveries consumed by a BlockingChannel at prefetch
    :data:`CONSUME_WINDOW`, each acked (``basic_ack``, ``multiple=False``) in the callback,
    from :class:`_StreamPeer`."""
    peer = _StreamPeer()
    conn = pika.BlockingConnection(pika.ConnectionParameters(port=peer.port))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=CONSUME_WINDOW)
    seen = [0]

    def on_message(ch: Any, method: Any, _properties: Any, _body: bytes) -> None:
        ch.basic_ack(method.delivery_tag)
        seen[0] += 1
        if seen[0] == n:
            ch.stop_consuming()

    channel.basic_consume('q', on_message, consumer_tag='ctag1')
    started = time.perf_counter()
    channel.start_consuming()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


SCENARIOS: dict[str, tuple[Callable[[int], float], int]] = {
    'rpc': (rpc, 20_000),
    'consume': (consume, 100_000),
    'deliveries': (deliveries, 200_000),
    'deliveries_props': (deliveries_props, 200_000),
    'confirms': (confirms, 100_000),
    'publish': (publish, 100_000),
    'loop': (loop, 50_000),
    'select_rpc': (select_rpc, 20_000),
    'blocking_rpc': (blocking_rpc, 20_000),
    'raw_rpc': (raw_rpc, 20_000),
    'blocking_publish': (blocking_publish, 100_000),
    'blocking_consume': (blocking_consume, 100_000),
}


def time_per_op(name: str, runs: int = 5) -> float:
    """Median microseconds per operation over ``runs`` timed runs (after one warm-up)."""
    func, n = SCENARIOS[name]
    func(n // 5)
    samples = sorted(func(n) / n * 1e6 for _ in range(runs))
    return samples[len(samples) // 2]


#: Scenarios counted without their scripted peer: its thread (the process's second, started
#: before the client's) is left out, so the count is the client's own work.
CLIENT_ONLY = frozenset({'blocking_publish', 'blocking_consume', 'blocking_rpc', 'raw_rpc'})


def _callgrind_total(name: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'cg.out')
        cmd = ['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}']
        if name in CLIENT_ONLY:
            cmd.append('--separate-threads=yes')
        cmd += [sys.executable, __file__, '--run-once', name, str(n)]
        if PARAMETERS[0] is not None:
            cmd.append('--recovery')
        # One hash seed for every run: dict and set layouts (and so the count) then repeat.
        env = {**os.environ, 'PYTHONHASHSEED': '0'}
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        if name in CLIENT_ONLY:
            return _threads_total(Path(tmp), skip='cg.out-02')
    match = re.search(r'Collected : (\d+)', proc.stderr)
    if match is None:
        raise RuntimeError(f'no instruction count from valgrind:\n{proc.stderr[-2000:]}')
    return int(match.group(1))


def _threads_total(directory: Path, skip: str) -> int:
    """The instructions of every thread's callgrind file in ``directory`` but ``skip``."""
    total = 0
    for path in sorted(directory.glob('cg.out-*')):
        if path.name == skip:
            continue
        match = re.search(r'^totals: (\d+)', path.read_text(), re.MULTILINE)
        if match is None:
            raise RuntimeError(f'no totals line in {path.name}')
        total += int(match.group(1))
    return total


def instructions_per_op(name: str) -> float:
    """Instructions per operation: (count(2N) - count(N)) / N under callgrind."""
    n = max(SCENARIOS[name][1] // 20, CONSUME_BATCH * 5)
    return (_callgrind_total(name, 2 * n) - _callgrind_total(name, n)) / n


def main(argv: list[str] | None = None) -> int:
    """Print the cost per operation of each scenario asked for (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('scenarios', nargs='*', default=list(SCENARIOS))
    parser.add_argument('--instructions', action='store_true', help='count with callgrind')
    parser.add_argument(
        '--recovery', action='store_true', help='fake-transport loops with recovery on'
    )
    parser.add_argument('--run-once', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.recovery:
        PARAMETERS[0] = pika.ConnectionParameters(heartbeat=0, recovery=pika.Recovery())
    if args.run_once:  # inside valgrind: NAME N
        name, n = args.scenarios
        # What start-up allocated is frozen out of the collector: otherwise a full collection
        # that falls in one of the two runs and not in the other swamps the difference.
        gc.collect()
        gc.freeze()
        SCENARIOS[name][0](int(n))
        return 0
    for name in args.scenarios:
        if name not in SCENARIOS:
            parser.error(f'unknown scenario {name!r}; choose from {", ".join(SCENARIOS)}')
        if args.instructions:
            print(f'{name:9} {instructions_per_op(name):>12,.0f} instructions/op')
        else:
            print(f'{name:9} {time_per_op(name):8.2f} us/op')
    return 0


if __name__ == '__main__':
    sys.exit(main())
