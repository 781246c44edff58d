"""The reference check of the Basic.Deliver batch decoder against the frame-by-frame decoder.

:func:`pika._wire.deliveries.decode_deliveries` is the one decoder of whole Deliver sets (the
consuming hot path); whatever it takes must be exactly what :func:`pika.frame.decode_frame`
reads from the same bytes, and it must stop right after the last set it takes.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Optional

from pika import frame, spec
from pika._core import events
from pika._wire import deliveries


def decode_run(
    buf: Any, offset: int, frame_max: Optional[int], channel: int
) -> tuple[int, list[Any]]:
    """``decode_deliveries`` from ``offset``: ``(offset after the run, its records)``."""
    out: list[Any] = []
    after = deliveries.decode_deliveries(
        buf, offset, frame_max, channel, out, events.MessageDelivered
    )
    return after, out


def frames_of(record: Any) -> list[frame.Frame]:
    """The frames a decoded delivery stands for: method, content header, body (if any)."""
    channel, body = record.channel_number, record.body
    frames: list[frame.Frame] = [
        frame.Method(channel, record.method),
        frame.Header(channel, len(body), record.properties),
    ]
    if body:
        frames.append(frame.Body(channel, body))
    return frames


def check_run(
    buf: Any,
    offset: int,
    frame_max: Optional[int],
    channel: int,
    same: Callable[[Any, Any], bool] = operator.eq,
) -> list[Any]:
    """Run ``decode_deliveries`` and check it against ``decode_frame``; return its records.

    It must not raise; every set it takes must be what the frame decoder reads there (``same``
    compares two frames), with attributes in constructor order and the body as ``bytes``; and
    the offset it returns must be right after the last of them.
    """
    after, records = decode_run(buf, offset, frame_max, channel)
    position = offset
    for record in records:
        assert record.channel_number == channel
        for want in frames_of(record):
            used, got = frame.decode_frame(buf, position, frame_max)
            assert got is not None and same(got, want), (got, want)
            position += used
        assert type(record.body) is bytes
        assert list(vars(record.method)) == list(vars(spec.Basic.Deliver()))
        assert list(vars(record.properties)) == list(vars(spec.BasicProperties()))
    assert after == position
    return records


def channel_at(buf: Any, offset: int) -> int:
    """The channel number in the frame head at ``offset`` (1 when the head is cut short)."""
    if offset < 0 or len(buf) - offset < 3:
        return 1
    return int.from_bytes(bytes(buf[offset + 1 : offset + 3]), 'big')
