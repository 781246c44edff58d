"""The seed corpus: valid frames and frame sequences each target starts from.

``python tools/fuzz.py --make-seeds`` writes these to ``tests/fuzz/corpus/<target>/``. Each
input is the target's control bytes (see :mod:`tests.fuzz.targets`) followed by valid wire
bytes from :mod:`tests.fuzz.templates`.
"""

from __future__ import annotations

from pika import frame, spec
from tests.fuzz import templates

__all__ = ['seed_inputs']


def _method(channel: int, method: object) -> bytes:
    return frame.Method(channel, method).marshal()  # type: ignore[type-var]


def _frame_seeds() -> list[tuple[str, bytes]]:
    pool = templates.frame_templates()
    picks = list(range(0, len(pool), max(1, len(pool) // 30)))[:30]
    seeds = [(f'frame{index}', bytes([index % 24]) + pool[index]) for index in picks]
    seeds += [(f'set{index}', bytes([3]) + piece) for index, piece in enumerate(pool[-13:-6])]
    seeds.append(('stream', bytes([3]) + b''.join(pool[-13:])))
    return seeds


def _table_seeds() -> list[tuple[str, bytes]]:
    return [
        (f'table{index}', bytes([index % 3]) + table)
        for index, table in enumerate(templates.table_templates())
    ]


def _core_seeds() -> list[tuple[str, bytes]]:
    deliver = _method(1, spec.Basic.Deliver('ctag1', 1, False, 'amq.direct', 'rk'))
    header = frame.Header(1, 5, spec.BasicProperties()).marshal()
    body = frame.Body(1, b'hello').marshal()
    big = frame.Header(1, 300 * 1024, spec.BasicProperties()).marshal()
    big_body = frame.Body(1, b'\x00' * 4000).marshal()
    handshake = b''.join(
        _method(0, method)
        for method in (
            spec.Connection.Start(0, 9, {'product': 'RabbitMQ'}, 'PLAIN', 'en_US'),
            spec.Connection.Tune(2047, 131072, 60),
            spec.Connection.OpenOk(),
        )
    )
    sequences = {
        'deliveries': deliver + header + body + deliver + header + body,
        'large': deliver + big + big_body * 2,
        'heartbeats': frame.Heartbeat().marshal() * 3,
        'close': _method(0, spec.Connection.Close(320, 'CONNECTION_FORCED', 0, 0)),
        'channel-close': _method(2, spec.Channel.Close(404, 'NOT_FOUND', 50, 10)),
        'blocked': _method(0, spec.Connection.Blocked('low on memory'))
        + _method(0, spec.Connection.Unblocked()),
        'confirms': _method(1, spec.Basic.Ack(1, False)) + _method(1, spec.Basic.Nack(1, True)),
        'declare-ok': _method(2, spec.Queue.DeclareOk('q', 0, 0)),
        'cancel': _method(1, spec.Basic.Cancel('ctag1')),
        'flow': _method(1, spec.Channel.Flow(False)),
        'return': templates.frame_templates()[-8],
    }
    # Control bytes: tune/heartbeat/max_message_size, a piece-size seed, setup bits (1: consume,
    # 2: close channel 2, 4: confirms, 8: channel 3 pending, 16: Queue.Declare outstanding).
    controls = [b'\x00\x00\x01\x01', b'\x41\x07\x02\x17', b'\x92\x03\x09\x0d', b'\xc3\x11\x05\x05']
    seeds = []
    for index, (label, wire) in enumerate(sequences.items()):
        for control in controls[index % 2 :: 2]:
            seeds.append((label, control + wire))
    # Setup bit 64: large-message thresholds scaled down, so these complete in place.
    mid = frame.Header(1, 3000, spec.BasicProperties()).marshal()
    small_frames = b''.join(frame.Body(1, b'm' * 500).marshal() for _ in range(6))
    seeds.append(('small-large', b'\x00\x21\x03\x41' + deliver + mid + small_frames + deliver))
    mid_big = frame.Header(1, 6000, spec.BasicProperties()).marshal()
    seeds.append(
        (
            'small-large-grow',
            b'\x00\x05\x09\x41' + deliver + mid_big + frame.Body(1, b'g' * 6000).marshal(),
        )
    )
    seeds.append(('handshake', b'\x00\x00\x00\x20' + handshake + deliver))
    seeds.append(('handshake-tiny-tune', b'\x01\x05\x00\x20' + handshake))
    return seeds


def seed_inputs(target: str) -> list[tuple[str, bytes]]:
    """(label, input) pairs for ``target``."""
    return {'frame': _frame_seeds, 'table': _table_seeds, 'core': _core_seeds}[target]()
