"""Codec benchmark: our frame encoder/decoder against pika 1.4.4, measured in the same run.

Each row is ops/s (median of repeated timed runs) of one operation on each side:

* ``encode_publish``: a Basic.Publish with a 100-byte body and two properties turned into its
  method, content header and body frames. Ours uses :func:`pika.frame.encode_publish` (our fastest
  public path); pika 1.4.4 does what its ``Connection._send_message`` does (``Method``,
  ``Header`` and ``Body`` frames ``marshal()``-ed, Basic.Publish built per call).
* ``encode_publish_compat``: the same frames via our pika-1.x frame classes (``marshal()``).
* ``decode_deliver``: a received Basic.Deliver method + content header + body frame set (100-byte
  body, content_type + delivery_mode) decoded into what the connection needs to deliver the
  message. Ours is :func:`pika._wire.deliveries.decode_deliveries` called on a ``bytearray`` at
  offset 0, exactly the call ``ConnectionCore.receive_data`` makes on its receive buffer (there
  for every set of a read at once): it appends one ``MessageDelivered`` with the
  ``Basic.Deliver``, the fully decoded ``BasicProperties`` and the body as ``bytes`` (no frame
  objects). pika 1.4.4 calls ``decode_frame`` and slices its buffer after each frame, as its
  connection does, giving three frame objects holding the same method, properties and body.
* ``decode_deliver_headers``: the same, with a two-entry ``headers`` table in the properties.

For information we also time our pika-style frame objects from the same bytes:
``decode_frames`` (every complete frame in one call) and ``decode_deliver_loop`` (``decode_frame``
advancing an offset), both compared with pika's ``decode_deliver``.

pika 1.4.4 lives in ``bench/.venv-pika`` (created on demand by ``_pika_ref``) and runs as a
co-process, so it is never imported here. Runs of the two libraries are interleaved (ours, then
pika's, repeated) so both see the same machine load; both use the same timing harness source, and
the bytes each side encodes are compared, so the two libraries provably do the same work; our
decoders' results are checked against the objects the frames were built from.

Usage: ``python bench/codec.py [--quick] [--runs N] [--seconds S] [--no-reference]``.
Writes ``bench/results/codec.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / 'results' / 'codec.json'
TARGET_RATIO = 3.0

# Timing harness shared verbatim by both processes.
HARNESS = """
import time as _time


def calibrate(fn, seconds):
    # Smallest power-of-two batch of calls taking at least a tenth of `seconds`.
    batch = 1
    while True:
        start = _time.perf_counter()
        for _ in range(batch):
            fn()
        if _time.perf_counter() - start >= seconds / 10 or batch >= 1 << 24:
            return batch
        batch *= 2


def timed_run(fn, batch, seconds):
    # Call `fn` in batches for about `seconds`; return calls per second.
    done = 0
    start = _time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        done += batch
        elapsed = _time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed
"""

# The workload, shared by both sides.
WORKLOAD: dict[str, Any] = {
    'channel': 1,
    'exchange': 'bench.exchange',
    'routing_key': 'bench.routing.key',
    'content_type': 'application/json',
    'delivery_mode': 2,
    'body_size': 100,
    'consumer_tag': 'ctag1.7d4c1a4e2f0b4f2c9a5e',
    'delivery_tag': 42,
    'frame_max': 131072,
    # Second decode workload: the same Deliver whose properties also carry a headers table.
    'headers': {'x-trace-id': '4bf92f3577b34da6a3ce929d0e0e4736', 'x-origin': 'bench'},
}

# pika 1.4.4 side: a co-process reading one operation name per line and answering with the
# ops/s of one timed run.
REFERENCE_SCRIPT = (
    HARNESS
    + """
import json, sys
from pika import frame, spec, __version__

params = json.loads(sys.stdin.readline())
w = params['workload']
body = bytes(range(256))[: w['body_size']]
props = spec.BasicProperties(content_type=w['content_type'], delivery_mode=w['delivery_mode'])
body_max = w['frame_max'] - 8
ch = w['channel']


def encode_publish():
    # What pika 1.4.4's Connection._send_message does for a basic_publish.
    method = spec.Basic.Publish(
        exchange=w['exchange'], routing_key=w['routing_key'], mandatory=False
    )
    out = [frame.Method(ch, method).marshal(), frame.Header(ch, len(body), props).marshal()]
    for start in range(0, len(body), body_max):
        out.append(frame.Body(ch, body[start:start + body_max]).marshal())
    return out


deliver = spec.Basic.Deliver(
    consumer_tag=w['consumer_tag'], delivery_tag=w['delivery_tag'], redelivered=False,
    exchange=w['exchange'], routing_key=w['routing_key'],
)
headers_props = spec.BasicProperties(
    content_type=w['content_type'], delivery_mode=w['delivery_mode'], headers=w['headers']
)


def frame_set(properties):
    return b''.join([
        frame.Method(ch, deliver).marshal(),
        frame.Header(ch, len(body), properties).marshal(),
        frame.Body(ch, body).marshal(),
    ])


deliver_bytes = frame_set(props)
deliver_headers_bytes = frame_set(headers_props)


def decode_loop(data):
    # pika's connection decodes from the start of its buffer and slices off what it consumed.
    buf = data
    frames = []
    while buf:
        consumed, value = frame.decode_frame(buf)
        if not consumed:
            break
        buf = buf[consumed:]
        frames.append(value)
    return frames


def decode_deliver():
    return decode_loop(deliver_bytes)


def decode_deliver_headers():
    return decode_loop(deliver_headers_bytes)


assert len(decode_deliver()) == len(decode_deliver_headers()) == 3
ops = {
    'encode_publish': encode_publish,
    'decode_deliver': decode_deliver,
    'decode_deliver_headers': decode_deliver_headers,
}
batches = {}
print(json.dumps({
    'version': __version__,
    'publish_hex': b''.join(encode_publish()).hex(),
    'deliver_hex': deliver_bytes.hex(),
    'deliver_headers_hex': deliver_headers_bytes.hex(),
}))
for line in sys.stdin:
    name = line.strip()
    if name not in batches:
        batches[name] = calibrate(ops[name], params['seconds'])
    print(json.dumps(timed_run(ops[name], batches[name], params['seconds'])))
"""
)

Op = Callable[[], object]

# Our operation -> the pika 1.4.4 operation it is compared with.
COMPARED = {
    'encode_publish': 'encode_publish',
    'encode_publish_compat': 'encode_publish',
    'decode_deliver': 'decode_deliver',
    'decode_deliver_headers': 'decode_deliver_headers',
    'decode_frames': 'decode_deliver',
    'decode_deliver_loop': 'decode_deliver',
}


def _our_operations() -> tuple[dict[str, Op], dict[str, str]]:
    """Build our operations and the bytes they produce (hex, for the cross-check)."""
    sys.path.insert(0, str(REPO_ROOT))
    from pika import frame, spec

    w = WORKLOAD
    body = bytes(range(256))[: w['body_size']]
    props = spec.BasicProperties(content_type=w['content_type'], delivery_mode=w['delivery_mode'])
    channel, exchange, rkey = w['channel'], w['exchange'], w['routing_key']
    frame_max = w['frame_max']
    encode_publish = frame.encode_publish
    decode_frame = frame.decode_frame
    decode_frames = frame.decode_frames

    def encode_fast() -> list[Any]:
        return encode_publish(channel, exchange, rkey, False, props, body, frame_max)

    def encode_compat() -> list[bytes]:
        method = spec.Basic.Publish(exchange=exchange, routing_key=rkey, mandatory=False)
        out = [
            frame.Method(channel, method).marshal(),
            frame.Header(channel, len(body), props).marshal(),
        ]
        out.extend(
            frame.Body(channel, part).marshal() for part in frame.split_body(body, frame_max)
        )
        return out

    deliver = spec.Basic.Deliver(
        consumer_tag=w['consumer_tag'],
        delivery_tag=w['delivery_tag'],
        redelivered=False,
        exchange=exchange,
        routing_key=rkey,
    )
    headers_props = spec.BasicProperties(
        content_type=w['content_type'], delivery_mode=w['delivery_mode'], headers=w['headers']
    )

    def frame_set(properties: spec.BasicProperties) -> bytes:
        return b''.join(
            [
                frame.Method(channel, deliver).marshal(),
                frame.Header(channel, len(body), properties).marshal(),
                frame.Body(channel, body).marshal(),
            ]
        )

    deliver_bytes = frame_set(props)
    end = len(deliver_bytes)
    # ConnectionCore.receive_data calls decode_deliveries on its receive buffer at the current
    # offset: measure exactly that call on a bytearray (here holding one set).
    receive_buffer = bytearray(deliver_bytes)
    receive_buffer_headers = bytearray(frame_set(headers_props))
    from pika._core.events import MessageDelivered
    from pika._wire.deliveries import decode_deliveries

    def decode_deliver() -> Any:
        # What the connection's hot path gets: one MessageDelivered (Deliver, props, body).
        out: list[Any] = []
        decode_deliveries(receive_buffer, 0, frame_max, channel, out, MessageDelivered)
        return out

    def decode_deliver_headers() -> Any:
        out: list[Any] = []
        decode_deliveries(receive_buffer_headers, 0, frame_max, channel, out, MessageDelivered)
        return out

    def decode_frames_op() -> list[Any]:
        # Every complete frame of the buffer as pika-style frame objects, in one call.
        return decode_frames(deliver_bytes, 0, frame_max)[1]

    def decode_deliver_loop() -> list[Any]:
        # Frame by frame, advancing an offset over one receive buffer (no slicing of it).
        frames = []
        offset = 0
        while offset < end:
            consumed, value = decode_frame(deliver_bytes, offset, frame_max)
            if not consumed:
                break
            offset += consumed
            frames.append(value)
        return frames

    if not len(decode_frames_op()) == len(decode_deliver_loop()) == 3:
        raise RuntimeError('our decoders did not return the 3 Deliver frames')
    checks = ((decode_deliver(), props), (decode_deliver_headers(), headers_props))
    for decoded, properties in checks:
        found = [(e.channel_number, e.method, e.properties, e.body) for e in decoded]
        if found != [(channel, deliver, properties, body)]:
            raise RuntimeError('decode_deliveries did not return the Deliver set')
    fast_bytes = b''.join(bytes(p) for p in encode_fast())
    if fast_bytes != b''.join(encode_compat()):
        raise RuntimeError('encode_publish and the frame classes disagree')
    ops: dict[str, Op] = {
        'encode_publish': encode_fast,
        'encode_publish_compat': encode_compat,
        'decode_deliver': decode_deliver,
        'decode_deliver_headers': decode_deliver_headers,
        'decode_frames': decode_frames_op,
        'decode_deliver_loop': decode_deliver_loop,
    }
    produced = {
        'publish_hex': fast_bytes.hex(),
        'deliver_hex': deliver_bytes.hex(),
        'deliver_headers_hex': bytes(receive_buffer_headers).hex(),
    }
    return ops, produced


class _Reference:
    """The pika 1.4.4 co-process: one timed run per request."""

    def __init__(self, seconds: float) -> None:
        sys.path.insert(0, str(BENCH_DIR))
        from _pika_ref import start_reference

        self._proc = start_reference(REFERENCE_SCRIPT)
        self._request(json.dumps({'seconds': seconds, 'workload': WORKLOAD}))
        self.info: dict[str, Any] = json.loads(self._read())

    def _request(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + '\n')

    def _read(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f'reference co-process exited ({self._proc.wait()})')
        return line

    def run(self, name: str) -> float:
        """Ops/s of one timed run of the reference operation ``name``."""
        self._request(name)
        return float(self._read())

    def close(self) -> None:
        """Stop the co-process (it exits when its stdin closes)."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def _measure(runs: int, seconds: float, with_reference: bool) -> tuple[dict[str, Any], Any]:
    """Interleave timed runs of ours and pika 1.4.4; return per-operation stats and ref info."""
    namespace: dict[str, Any] = {}
    exec(HARNESS, namespace)
    calibrate, timed_run = namespace['calibrate'], namespace['timed_run']
    ops, produced = _our_operations()
    ref = _Reference(seconds) if with_reference else None
    try:
        if ref is not None:
            for key in ('publish_hex', 'deliver_hex', 'deliver_headers_hex'):
                if produced[key] != ref.info[key]:
                    raise RuntimeError(f'{key}: our bytes differ from pika 1.4.4')
        ours: dict[str, list[float]] = {name: [] for name in ops}
        theirs: dict[str, list[float]] = {name: [] for name in ops}
        batches = {name: calibrate(fn, seconds) for name, fn in ops.items()}
        for _ in range(runs):
            # Each of our runs is immediately followed by pika's run of the same operation,
            # so each pair sees (nearly) the same machine load.
            for name, fn in ops.items():
                ours[name].append(timed_run(fn, batches[name], seconds))
                if ref is not None:
                    theirs[name].append(ref.run(COMPARED[name]))
    finally:
        if ref is not None:
            ref.close()
    stats = {}
    for name in ops:
        pairs = [a / b for a, b in zip(ours[name], theirs[name])]
        stats[name] = {
            'ours': statistics.median(ours[name]),
            'pika': statistics.median(theirs[name]) if theirs[name] else None,
            'ratio': statistics.median(pairs) if pairs else None,
        }
    return stats, ref.info if ref is not None else None


def _table(stats: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Format the side-by-side table and the per-operation summary.

    The ratio is the median of the per-pair ratios (our run / pika's run right after it),
    which is steadier on a busy machine than the ratio of the two medians.
    """
    lines = [f'{"operation":<24}{"ours ops/s":>14}{"pika 1.4.4":>14}{"ratio":>9}']
    summary: dict[str, Any] = {}
    for name, row in stats.items():
        mine, theirs, ratio = row['ours'], row['pika'], row['ratio']
        summary[name] = {
            'ours_ops_s': round(mine),
            'pika_ops_s': round(theirs) if theirs else None,
            'ratio': round(ratio, 2) if ratio else None,
            'meets_target': ratio >= TARGET_RATIO if ratio else None,
        }
        ref_txt = f'{theirs:>14,.0f}' if theirs else f'{"-":>14}'
        ratio_txt = f'{ratio:>8.2f}x' if ratio else f'{"-":>9}'
        lines.append(f'{name:<24}{mine:>14,.0f}{ref_txt}{ratio_txt}')
    return '\n'.join(lines), summary


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write ``bench/results/codec.json``."""
    parser = argparse.ArgumentParser(description=(__doc__ or '').split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='3 short runs (CI smoke)')
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--seconds', type=float, default=0.3)
    parser.add_argument('--no-reference', action='store_true', help='skip pika 1.4.4')
    args = parser.parse_args(argv)
    runs, seconds = (3, 0.05) if args.quick else (args.runs, args.seconds)

    stats, ref_info = _measure(runs, seconds, not args.no_reference)
    table, summary = _table(stats)
    python = platform.python_version()
    print(f'codec benchmark: {runs} interleaved runs x {seconds}s, median ops/s, Python {python}')
    print(table)
    if ref_info is not None:
        print(f'(outputs byte-identical with pika {ref_info["version"]})')
    report = {
        'benchmark': 'codec',
        'python': python,
        'runs': runs,
        'seconds_per_run': seconds,
        'reference': {'pika': ref_info['version']} if ref_info else None,
        'target_ratio': TARGET_RATIO,
        'workload': WORKLOAD,
        'results': summary,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
