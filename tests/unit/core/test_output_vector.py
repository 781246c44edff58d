"""Zero-copy output: large bodies are queued by reference and drained as a vector of buffers."""

from __future__ import annotations

from typing import Any

from pika import spec
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import open_channel, open_core


def _published(body: bytes, frame_max: int = 131072) -> tuple[list[object], bytes]:
    core = open_core(frame_max=frame_max)
    ch = open_channel(core)
    ch.publish('', 'q', b'small')
    ch.publish('ex', 'rk', body, spec.BasicProperties(delivery_mode=2))
    ch.publish('', 'q', b'after')
    pending = core.pending_bytes
    parts = core.data_to_send_parts()
    joined = b''.join(bytes(part) for part in parts)
    assert len(joined) == pending
    assert core.pending_bytes == 0 and core.data_to_send_parts() == []
    return list(parts), joined


def test_large_body_is_referenced_not_copied() -> None:
    body = b'y' * 100_000
    parts, joined = _published(body)
    assert any(part is body for part in parts)  # the caller's object, not a copy
    frames = sf.parse_frames(joined)
    kinds = [type(f).__name__ for f in frames]
    assert kinds == [
        'Method',
        'Header',
        'Body',
        'Method',
        'Header',
        'Body',
        'Method',
        'Header',
        'Body',
    ]
    assert frames[4].body_size == len(body) and frames[5].fragment == body
    assert frames[8].fragment == b'after'


def test_large_body_split_by_frame_max_as_views() -> None:
    body = bytes(range(256)) * 1000  # 256,000 bytes
    parts, joined = _published(body, frame_max=65536)
    views = [part for part in parts if isinstance(part, memoryview)]
    assert len(views) == 4 and all(view.obj is body for view in views)
    frames = sf.parse_frames(joined)
    fragments = [f.fragment for f in frames if type(f).__name__ == 'Body'][1:-1]
    assert b''.join(fragments) == body
    assert all(len(fragment) <= 65536 - 8 for fragment in fragments)


def test_data_to_send_still_returns_one_buffer() -> None:
    core = open_core()
    ch = open_channel(core)
    body = b'z' * 200_000
    ch.publish('', 'q', body)
    data = core.data_to_send()
    assert isinstance(data, (bytes, bytearray))
    frames = sf.parse_frames(bytes(data))
    assert b''.join(f.fragment for f in frames[2:]) == body
    assert core.pending_bytes == 0


def test_frame_and_byte_counters_match_the_copying_path() -> None:
    counts = []
    for size in (1000, 300_000):
        core = open_core()
        ch = open_channel(core)
        frames_before, bytes_before = core.frames_sent, core.bytes_queued_total
        ch.publish('', 'q', b'a' * size)
        total = len(bytes(core.data_to_send()))
        assert core.bytes_queued_total - bytes_before == total
        counts.append(core.frames_sent - frames_before)
    assert counts == [3, 2 + 3]  # method + header + one body frame per 131064 bytes


class _TrickleSocket:
    """Takes at most `limit` bytes per call, through send or a gathered sendmsg."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = bytearray()
        self.calls = 0

    def send(self, data: object) -> int:
        return self.sendmsg([data])

    def sendmsg(self, buffers: list[object]) -> int:
        self.calls += 1
        joined = b''.join(bytes(b) for b in buffers)  # type: ignore[call-overload]
        taken = joined[: self.limit]
        self.received += taken
        return len(taken)


def test_send_queue_sends_parts_in_order_across_partial_sends() -> None:
    from pika.adapters._io.send_queue import SendQueue

    parts: list[Any] = [
        b'abc',
        bytearray(b'defgh'),
        memoryview(b'0123456789')[2:9],
        b'',
        b'XYZ' * 5,
    ]
    expected = b''.join(bytes(p) for p in parts)
    for limit in (1, 2, 4, 7, 100):
        sock = _TrickleSocket(limit)
        queue = SendQueue()
        queue.extend(parts)
        assert len(queue) == len(expected) and len(queue.parts) == 4  # the empty part is dropped
        while queue:
            done = queue.send(sock)  # type: ignore[arg-type]
            assert done == (not queue)
        assert bytes(sock.received) == expected, limit
        assert queue.size == 0 and queue.offset == 0 and not queue.parts


def test_send_queue_takes_a_first_part_already_partly_sent() -> None:
    from pika.adapters._io.send_queue import SendQueue

    queue = SendQueue()
    queue.extend([b'abcdef', b'gh'], sent=4)
    assert len(queue) == 4 and queue.offset == 4
    assert queue.take() == b'efgh'
    assert not queue and queue.offset == 0 and not queue.parts


def test_has_output_says_whether_data_to_send_has_anything() -> None:
    """has_output() is True exactly when a drain would return bytes: buffer or referenced parts."""
    core = open_core()
    core.data_to_send()
    assert not core.has_output()
    ch = open_channel(core)  # drains what it sent
    assert not core.has_output()
    ch.rpc(spec.Queue.Declare(queue='q', passive=True))
    assert core.has_output()
    core.data_to_send()
    assert not core.has_output()
    ch.publish('', 'q', b'y' * 100_000)  # the body goes by reference: parts, then a buffer
    assert core.has_output() and core.output.parts
    assert core.data_to_send_parts() and not core.has_output()
    ch.ack(1)
    assert core.has_output()
    assert core.data_to_send() and not core.has_output()
