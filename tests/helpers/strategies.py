"""Hypothesis strategies for AMQP frames, shared by the codec and core fuzz tests.

Valid frames of the kinds a connection sees most (Basic.Deliver/Publish/Ack, Channel.Close,
Queue.Declare, content headers, bodies, heartbeats), whole Basic.Deliver sets (sometimes bent:
another channel, a wrong size, a split body, no content), and :func:`mutate`, which damages a
valid stream the way a broken peer or a flipped bit would.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from pika import frame, spec
from pika._wire.constants import FRAME_HEADER_SIZE

if TYPE_CHECKING:
    from pika.amqp_object import Method as AMQPMethod

short_str = st.text(max_size=20).filter(lambda s: len(s.encode()) <= 255)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
channels = st.integers(min_value=0, max_value=65535)


@st.composite
def method_frames(draw: st.DrawFn) -> frame.Frame:
    kind = draw(st.sampled_from(['deliver', 'publish', 'ack', 'close', 'declare']))
    method: AMQPMethod
    if kind == 'deliver':
        method = spec.Basic.Deliver(
            consumer_tag=draw(short_str),
            delivery_tag=draw(u64),
            redelivered=draw(st.booleans()),
            exchange=draw(short_str),
            routing_key=draw(short_str),
        )
    elif kind == 'publish':
        method = spec.Basic.Publish(
            exchange=draw(short_str), routing_key=draw(short_str), mandatory=draw(st.booleans())
        )
    elif kind == 'ack':
        method = spec.Basic.Ack(delivery_tag=draw(u64), multiple=draw(st.booleans()))
    elif kind == 'close':
        method = spec.Channel.Close(
            reply_code=draw(st.integers(0, 65535)),
            reply_text=draw(short_str),
            class_id=draw(st.integers(0, 65535)),
            method_id=draw(st.integers(0, 65535)),
        )
    else:
        method = spec.Queue.Declare(
            queue=draw(short_str),
            durable=draw(st.booleans()),
            arguments=draw(
                st.dictionaries(short_str, st.integers(-(2**31), 2**31 - 1), max_size=3)
            ),
        )
    return frame.Method(draw(channels), method)


@st.composite
def header_frames(draw: st.DrawFn) -> frame.Frame:
    props = spec.BasicProperties(
        content_type=draw(st.none() | short_str),
        delivery_mode=draw(st.none() | st.sampled_from([1, 2])),
        priority=draw(st.none() | st.integers(0, 9)),
        correlation_id=draw(st.none() | short_str),
        headers=draw(st.none() | st.dictionaries(short_str, short_str, max_size=3)),
    )
    return frame.Header(draw(channels), draw(u64), props)


body_frames = st.builds(frame.Body, channels, st.binary(max_size=300))
heartbeats = st.just(frame.Heartbeat())
any_frame = st.one_of(method_frames(), header_frames(), body_frames, heartbeats)


def mutate(
    draw: st.DrawFn, data: bytes, rounds: st.SearchStrategy[int], sizes: bool = False
) -> bytes:
    """``data`` with a drawn number of random edits: a flipped octet, inserted or deleted
    bytes, a truncation and, with ``sizes``, a random frame size in the first frame head."""
    out = bytearray(data)
    ops = ['flip', 'insert', 'delete', 'truncate'] + (['size'] if sizes else [])
    for _ in range(draw(rounds)):
        op = draw(st.sampled_from(ops))
        pos = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == 'flip' and out:
            out[pos] ^= draw(st.integers(1, 255))
        elif op == 'insert':
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == 'delete' and out:
            del out[pos : pos + draw(st.integers(1, 8))]
        elif op == 'truncate':
            del out[pos:]
        elif op == 'size' and len(out) >= FRAME_HEADER_SIZE:
            out[3:FRAME_HEADER_SIZE] = struct.pack('>I', draw(st.integers(0, 2**32 - 1)))
    return bytes(out)


properties_values = st.builds(
    spec.BasicProperties,
    content_type=st.none() | short_str,
    content_encoding=st.none() | short_str,
    headers=st.none() | st.dictionaries(short_str, short_str | st.integers(0, 9), max_size=3),
    delivery_mode=st.none() | st.sampled_from([1, 2]),
    priority=st.none() | st.integers(0, 9),
    timestamp=st.none() | u64,
    app_id=st.none() | short_str,
)


@st.composite
def deliver_sets(draw: st.DrawFn) -> bytes:
    """A Basic.Deliver set, sometimes bent (other channel, wrong size, split body, no content)."""
    channel = draw(st.sampled_from([1, 1, 1, 2, 3]))  # 2 may be closing, 3 is not open
    deliver = spec.Basic.Deliver(
        consumer_tag=draw(short_str),
        delivery_tag=draw(u64),
        redelivered=draw(st.booleans()),
        exchange=draw(short_str),
        routing_key=draw(short_str),
    )
    body = draw(st.binary(max_size=200))
    bend = draw(st.sampled_from(['none'] * 6 + ['channel', 'size', 'split', 'method only']))
    header_channel = channel + 1 if bend == 'channel' else channel
    size = len(body) + 1 if bend == 'size' else len(body)
    frames: list[frame.Frame] = [
        frame.Method(channel, deliver),
        frame.Header(header_channel, size, draw(properties_values)),
    ]
    if bend == 'method only':  # the next set then arrives while this one is being assembled
        del frames[1:]
    elif bend == 'split' and len(body) > 1:
        frames += [frame.Body(channel, body[:1]), frame.Body(channel, body[1:])]
    elif body:
        frames.append(frame.Body(channel, body))
    return b''.join(f.marshal() for f in frames)


@st.composite
def deliver_streams(draw: st.DrawFn) -> bytes:
    """Deliver sets mixed with other frames, then possibly mutated like ``mutated_streams``."""
    parts = draw(st.lists(deliver_sets() | any_frame.map(lambda f: f.marshal()), max_size=4))
    return mutate(draw, b''.join(parts), rounds=st.integers(0, 3))
