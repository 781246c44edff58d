"""Raw-socket ceiling for the benchmark, plus the stdlib-only helpers the harness shares.

Why: a client can only be as fast as the broker lets it be. This module speaks just enough
AMQP 0-9-1 by hand (a minimal handshake, frames pre-encoded once and written straight to the
socket, a consume loop that scans frames minimally and answers with pre-encoded acks) to show
what the local broker can take. Every client's throughput is reported as a fraction of it.

It imports nothing but the standard library, so it runs under either interpreter, and
``run.py`` and ``aio.py`` also use :class:`RawConnection` to declare, prefill and delete the
benchmark queues outside every measured process, and :func:`run_order` to order their clients.

Run as a script it measures one scenario: ``python raw_ceiling.py '<json job>'`` prints one JSON
line (the same protocol as ``scenarios_ours.py``).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import struct
import sys
import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from collections.abc import Sequence

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_END = b'\xce'
FRAME_MAX = 131072
PREFETCH = 1000
LARGE_PREFETCH = 100
WINDOW = 1000
#: Bytes asked of the kernel per read, into one buffer allocated per connection. A fresh
#: ``recv(1 MiB)`` per read cost the client an allocation the size of the request (mmap, mremap
#: and munmap in glibc), about 35 us of CPU per RPC round trip on the bench machine.
RECV_SIZE = 1 << 20

_HEAD = struct.Struct('>BHI')
_DELIVER = struct.pack('>HH', 60, 60)
_BASIC_ACK = struct.pack('>HH', 60, 80)
_BASIC_NACK = struct.pack('>HH', 60, 120)
# A Basic.Ack on channel 1: frame head + class/method, then the 8-byte tag, then bits + frame end.
_ACK_PREFIX = _HEAD.pack(FRAME_METHOD, 1, 13) + _BASIC_ACK
_ACK_SUFFIX = b'\x00' + FRAME_END


# --------------------------------------------------------------------------- measurement helpers


def cpu_seconds() -> float:
    """User + system CPU time of this process (the client CPU the harness reports)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def page_faults() -> int:
    """Minor + major page faults of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def current_rss() -> int:
    """Resident set size of this process now, in bytes (not the peak)."""
    with open('/proc/self/statm', 'rb') as fobj:
        pages = int(fobj.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE')


class Meter:
    """Wall-clock and CPU stopwatch around the timed section of one scenario."""

    def __init__(self) -> None:
        self.wall0 = self.cpu0 = 0.0
        self.wall = self.cpu = 0.0
        self.faults0 = 0
        self.extra: dict[str, Any] = {}

    def start(self) -> None:
        """Start both clocks."""
        self.faults0 = page_faults()
        self.wall0 = time.perf_counter()
        self.cpu0 = cpu_seconds()

    def stop(self) -> None:
        """Stop both clocks (idempotent: only the first call counts).

        Also records the page faults of the timed section: a client that maps fresh memory for
        every large message pays for it in system CPU, and the count shows it."""
        if self.wall == 0.0:
            self.wall = time.perf_counter() - self.wall0
            self.cpu = cpu_seconds() - self.cpu0
            self.extra['page_faults'] = page_faults() - self.faults0

    def result(self, count: int) -> dict[str, Any]:
        """The JSON-able outcome of a finished measurement."""
        out: dict[str, Any] = {'ok': True, 'count': count, 'elapsed': self.wall, 'cpu': self.cpu}
        out.update(self.extra)
        return out


def run_job_main(runner: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Script entry point shared by the measuring subprocesses: JSON job in argv, JSON line out."""
    job = json.loads(sys.argv[1])
    try:
        result = runner(job)
    except Exception as exc:  # reported, not raised: the harness prints a 'failed' row
        result = {'ok': False, 'error': f'{type(exc).__name__}: {exc}'}
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()


# --------------------------------------------------------------------------- encoding


def shortstr(value: str) -> bytes:
    """AMQP short string (length byte + UTF-8)."""
    raw = value.encode('utf-8')
    return struct.pack('>B', len(raw)) + raw


def longstr(raw: bytes) -> bytes:
    """AMQP long string (32-bit length + bytes)."""
    return struct.pack('>I', len(raw)) + raw


def frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    """One complete frame."""
    return _HEAD.pack(frame_type, channel, len(payload)) + payload + FRAME_END


def method(channel: int, class_id: int, method_id: int, args: bytes = b'') -> bytes:
    """A method frame."""
    return frame(FRAME_METHOD, channel, struct.pack('>HH', class_id, method_id) + args)


def publish_frames(routing_key: str, body: bytes, frame_max: int = FRAME_MAX) -> bytes:
    """Basic.Publish to the default exchange + content header (no properties) + body frames."""
    out = [method(1, 60, 40, b'\x00\x00' + shortstr('') + shortstr(routing_key) + b'\x00')]
    out.append(frame(FRAME_HEADER, 1, struct.pack('>HHQH', 60, 0, len(body), 0)))
    step = frame_max - 8
    for offset in range(0, len(body), step):
        out.append(frame(FRAME_BODY, 1, body[offset : offset + step]))
    return b''.join(out)


def declare_frame(queue: str, passive: bool = False) -> bytes:
    """Queue.Declare (non-durable, not exclusive, no auto-delete)."""
    bits = 1 if passive else 0
    return method(1, 50, 10, b'\x00\x00' + shortstr(queue) + bytes([bits]) + b'\x00\x00\x00\x00')


# --------------------------------------------------------------------------- connection


class RawConnection:
    """A blocking socket that has done the AMQP handshake and opened channel 1."""

    def __init__(self, host: str = '127.0.0.1', port: int = 5672) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self._view = memoryview(bytearray(RECV_SIZE))
        self.frame_max = FRAME_MAX
        self._handshake()

    # -- frame reading

    def _fill(self) -> None:
        """Append what one read returns to ``buf``."""
        received = self.sock.recv_into(self._view)
        if not received:
            raise ConnectionError('broker closed the socket')
        self.buf += self._view[:received]

    def read_frame(self) -> tuple[int, int, bytes]:
        """Block until one whole frame is buffered; return (type, channel, payload)."""
        while True:
            if len(self.buf) >= 7:
                ftype, channel, size = _HEAD.unpack_from(self.buf, 0)
                end = 7 + size + 1
                if len(self.buf) >= end:
                    payload = bytes(self.buf[7 : 7 + size])
                    del self.buf[:end]
                    return ftype, channel, payload
            self._fill()

    def expect(self, class_id: int, method_id: int) -> bytes:
        """Read frames until the given method arrives; fail on Connection/Channel.Close."""
        wanted = struct.pack('>HH', class_id, method_id)
        while True:
            ftype, _channel, payload = self.read_frame()
            if ftype != FRAME_METHOD:
                continue
            if payload[:4] == wanted:
                return payload[4:]
            if payload[:4] in (b'\x00\x0a\x00\x32', b'\x00\x14\x00\x28'):
                code = struct.unpack_from('>H', payload, 4)[0]
                text = payload[7 : 7 + payload[6]].decode('utf-8', 'replace')
                raise ConnectionError(f'closed by broker: {code} {text}')

    def _handshake(self) -> None:
        self.sock.sendall(b'AMQP\x00\x00\x09\x01')
        self.expect(10, 10)  # Connection.Start
        start_ok = (
            b'\x00\x00\x00\x00'  # empty client-properties table
            + shortstr('PLAIN')
            + longstr(b'\x00guest\x00guest')
            + shortstr('en_US')
        )
        self.sock.sendall(method(0, 10, 11, start_ok))
        tune = self.expect(10, 30)
        channel_max, frame_max, _heartbeat = struct.unpack_from('>HIH', tune, 0)
        self.frame_max = min(frame_max or FRAME_MAX, FRAME_MAX)
        tune_ok = struct.pack('>HIH', channel_max, self.frame_max, 0)
        self.sock.sendall(
            method(0, 10, 31, tune_ok) + method(0, 10, 40, shortstr('/') + b'\x00\x00')
        )
        self.expect(10, 41)  # Connection.OpenOk
        self.sock.sendall(method(1, 20, 10, b'\x00'))
        self.expect(20, 11)  # Channel.OpenOk

    # -- small synchronous helpers

    def queue_declare(self, queue: str, passive: bool = False) -> int:
        """Declare (or passively check) a queue; return its message count."""
        self.sock.sendall(declare_frame(queue, passive))
        reply = self.expect(50, 11)
        name_len = reply[0]
        return int(struct.unpack_from('>I', reply, 1 + name_len)[0])

    def queue_delete(self, queue: str) -> None:
        """Delete a queue (whatever it holds)."""
        self.sock.sendall(method(1, 50, 40, b'\x00\x00' + shortstr(queue) + b'\x00'))
        self.expect(50, 41)

    def confirm_select(self) -> None:
        """Put channel 1 in publisher-confirm mode."""
        self.sock.sendall(method(1, 85, 10, b'\x00'))
        self.expect(85, 11)

    def qos(self, prefetch: int) -> None:
        """Basic.Qos (per-consumer prefetch count) on channel 1."""
        self.sock.sendall(method(1, 60, 10, struct.pack('>IHB', 0, prefetch, 0)))
        self.expect(60, 11)

    def consume(self, queue: str) -> None:
        """Basic.Consume with manual acks on channel 1."""
        args = b'\x00\x00' + shortstr(queue) + shortstr('') + b'\x00' + b'\x00\x00\x00\x00'
        self.sock.sendall(method(1, 60, 20, args))
        self.expect(60, 21)

    def publish_many(self, queue: str, count: int, body: bytes) -> None:
        """Write ``count`` pre-encoded publishes as fast as the socket takes them."""
        one = publish_frames(queue, body, self.frame_max)
        per_batch = max(1, 65536 // len(one))
        batch = one * per_batch
        full, rest = divmod(count, per_batch)
        for _ in range(full):
            self.sock.sendall(batch)
        if rest:
            self.sock.sendall(one * rest)

    def wait_for_count(self, queue: str, count: int) -> None:
        """Poll Queue.Declare(passive) until the broker holds ``count`` messages."""
        while self.queue_declare(queue, passive=True) < count:
            time.sleep(0.001)

    def close(self) -> None:
        """Connection.Close, wait for Close-Ok, close the socket."""
        try:
            self.sock.sendall(method(0, 10, 50, b'\x00\xc8' + shortstr('bye') + b'\x00' * 4))
            self.expect(10, 51)
        finally:
            self.sock.close()


def prefill(queue: str, count: int, body_size: int) -> None:
    """Declare ``queue`` and make the broker hold ``count`` messages of ``body_size`` bytes."""
    conn = RawConnection()
    try:
        conn.queue_declare(queue)
        conn.publish_many(queue, count, b'x' * body_size)
        conn.wait_for_count(queue, count)
    finally:
        conn.close()


def declare(queue: str) -> None:
    """Declare an empty benchmark queue."""
    conn = RawConnection()
    try:
        conn.queue_declare(queue)
    finally:
        conn.close()


def delete(queue: str) -> None:
    """Delete a benchmark queue."""
    conn = RawConnection()
    try:
        conn.queue_delete(queue)
    finally:
        conn.close()


def run_order(clients: Sequence[str], run_index: int) -> list[str]:
    """The order in which run ``run_index`` (from 0) measures ``clients``: a balanced design.

    Why not a rotation of one cycle: then every client follows the same other client in every
    run (b after a, run after run), and what a measurement leaves behind (the broker's state
    after a queue was drained and deleted, a warm or cold core, the other core's load) tilts
    the next one the same way each time, so a paired row (on vs off, ours vs base) measures
    its place in the round as much as the code: bench/NOTES.md, "Quiet timed runs of the
    evening's passes", where it was 5-8%.

    Instead the runs walk a Williams design, the standard cross-over order against carry-over
    effects: the sequence 0, 1, n-1, 2, n-2, ... of client indices, shifted by one place every
    second run, and reversed in every odd run. So runs 0 and 1 (2 and 3, ...) measure each pair
    of clients in both orders, no client has the same predecessor in every run once there are
    two, and over 2n runs each client follows every other one, and holds every position, exactly
    twice. It depends only on the clients and the run index: a run is reproduced by its options.
    """
    n = len(clients)
    if n == 0:
        return []
    shift = run_index // 2
    base = [(i + 1) // 2 if i % 2 else (n - i // 2) % n for i in range(n)]
    order = [clients[(shift + i) % n] for i in base]
    return order[::-1] if run_index % 2 else order


# --------------------------------------------------------------------------- scenarios


def _consume_loop(conn: RawConnection, count: int, on_progress: Callable[[int], None]) -> None:
    """Scan frames for Basic.Deliver, ack each delivery with a pre-encoded ack per read."""
    sock, buf, pos, seen = conn.sock, conn.buf, 0, 0
    while seen < count:
        if len(buf) - pos < 7 or len(buf) - pos < 8 + _HEAD.unpack_from(buf, pos)[2]:
            del buf[:pos]
            pos = 0
            conn._fill()
        acks = []
        end_buf = len(buf)
        while end_buf - pos >= 7:
            ftype, _channel, size = _HEAD.unpack_from(buf, pos)
            end = pos + 8 + size
            if end > end_buf:
                break
            if ftype == FRAME_METHOD and buf[pos + 7 : pos + 11] == _DELIVER:
                tag_at = pos + 12 + buf[pos + 11]
                acks.append(_ACK_PREFIX + bytes(buf[tag_at : tag_at + 8]) + _ACK_SUFFIX)
            pos = end
        if acks:
            sock.sendall(b''.join(acks))
            seen += len(acks)
            on_progress(seen)
    del buf[:pos]


def _confirm_loop(conn: RawConnection, queue: str, count: int, body: bytes, window: int) -> int:
    """Publish ``count`` messages with at most ``window`` unconfirmed; return the nack count."""
    one = publish_frames(queue, body, conn.frame_max)
    sock, buf = conn.sock, conn.buf
    published = confirmed = nacks = 0
    while confirmed < count:
        room = min(window - (published - confirmed), count - published)
        if room > 0:
            sock.sendall(one * room)
            published += room
        conn._fill()
        pos = 0
        while len(buf) - pos >= 7:
            ftype, _channel, size = _HEAD.unpack_from(buf, pos)
            end = pos + 8 + size
            if end > len(buf):
                break
            ident = buf[pos + 7 : pos + 11]
            if ftype == FRAME_METHOD and ident in (_BASIC_ACK, _BASIC_NACK):
                tag = struct.unpack_from('>Q', buf, pos + 11)[0]
                confirmed = max(confirmed, tag)
                nacks += ident == _BASIC_NACK
            pos = end
        del buf[:pos]
    return nacks


def run_raw(job: dict[str, Any]) -> dict[str, Any]:
    """Measure one scenario with the raw socket; see ``scenarios_ours.run_job`` for the job."""
    scenario, queue, count = job['scenario'], job['queue'], job['count']
    body = b'x' * job['body_size']
    meter = Meter()
    conn = RawConnection()
    try:
        if scenario in ('publish', 'large_publish'):
            meter.start()
            conn.publish_many(queue, count, body)
            conn.wait_for_count(queue, count)
            meter.stop()
        elif scenario in ('consume', 'large_consume', 'rss'):
            prefetch = LARGE_PREFETCH if scenario == 'large_consume' else PREFETCH
            conn.qos(prefetch)
            meter.start()
            conn.consume(queue)
            _consume_loop(conn, count, lambda _seen: None)
            meter.stop()
        elif scenario in ('confirm_pipelined', 'confirm_each'):
            conn.confirm_select()
            window = WINDOW if scenario == 'confirm_pipelined' else 1
            meter.start()
            nacks = _confirm_loop(conn, queue, count, body, window)
            meter.stop()
            meter.extra['nacks'] = nacks
        elif scenario == 'rpc':
            request = declare_frame(queue, passive=True)
            meter.start()
            for _ in range(count):
                conn.sock.sendall(request)
                conn.expect(50, 11)
            meter.stop()
        else:
            raise ValueError(f'unknown scenario {scenario!r}')
    finally:
        conn.close()
    return meter.result(count)


if __name__ == '__main__':
    run_job_main(run_raw)
