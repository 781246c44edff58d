"""The receive side's shortcuts (batched deliveries, the method-frame fast path, the receive
buffer, the tick re-arming rule) give exactly what the general code paths give."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pika
from pika import spec
from pika._core import content, receiving
from pika._core.buffer import JOIN_LIMIT, ReceiveBuffer
from pika.connection import Connection
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core
from tests.helpers.deliveries import check_run, decode_run
from tests.helpers.methods import sample
from tests.helpers.strategies import deliver_streams, properties_values, short_str

FUZZ = settings(max_examples=300)


# ---------------------------------------------------------------------------- method decoding


@pytest.mark.parametrize(
    'method_class', sorted(receiving._FAST_METHODS.values(), key=lambda c: c.INDEX)
)
def test_decode_without_init_builds_what_the_constructor_builds(method_class: type) -> None:
    """The fast path skips __init__: decode() alone must store every field, in order."""
    payload = b''.join(sample(method_class).encode())
    expected = sample(method_class)  # the constructor's attributes, then decode's values
    expected.decode(payload)
    got = object.__new__(method_class)
    got.decode(payload)
    assert list(vars(got).items()) == list(vars(expected).items())


def test_content_methods_are_not_on_the_fast_path() -> None:
    for method_class in (spec.Basic.Deliver, spec.Basic.Return, spec.Basic.GetOk):
        assert method_class.INDEX not in receiving._FAST_METHODS


# ---------------------------------------------------------------------------- batched deliveries


def _check_same(buf: Any, channel: int, frame_max: Any) -> int:
    """decode_deliveries takes what the frame decoder reads (tests/helpers/deliveries.py)."""
    return len(check_run(buf, 0, frame_max, channel))


@st.composite
def delivery_runs(draw: st.DrawFn) -> bytes:
    """Deliveries on channel 1 that mostly repeat their strings, properties and body size."""
    tags = draw(st.lists(short_str, min_size=1, max_size=2))
    keys = draw(st.lists(short_str, min_size=1, max_size=2))
    props = draw(st.lists(properties_values | st.just(spec.BasicProperties()), max_size=2))
    sizes = draw(st.lists(st.integers(0, 40), min_size=1, max_size=2))
    parts = []
    for tag in range(1, draw(st.integers(1, 6)) + 1):
        deliver = spec.Basic.Deliver(
            draw(st.sampled_from(tags)),
            tag,
            draw(st.booleans()),
            draw(st.sampled_from(keys)),
            draw(st.sampled_from(keys)),
        )
        properties = draw(st.sampled_from(props)) if props else None
        parts.append(sf.method(1, deliver))
        parts.append(sf.content(1, b'b' * draw(st.sampled_from(sizes)), properties))
    return b''.join(parts)


@FUZZ
@given(delivery_runs(), st.sampled_from([None, 0, 200, 131072]), st.data())
def test_batched_deliveries_are_the_frame_by_frame_results(
    data: bytes, frame_max: Any, choose: st.DataObject
) -> None:
    cut = choose.draw(st.integers(0, len(data)))
    for buf in (data, bytearray(data), data[:cut], bytearray(data[:cut])):
        _check_same(buf, 1, frame_max)
    if frame_max is None:  # all decoded (count frames, not bytes: a header may hold 00 3c 00 3c)
        delivers = [m for m in sf.methods(data) if isinstance(m, spec.Basic.Deliver)]
        assert _check_same(data, 1, None) == len(delivers)


@FUZZ
@given(deliver_streams(), st.sampled_from([None, 150, 131072]))
def test_batched_deliveries_agree_on_bent_and_mutated_streams(data: bytes, frame_max: Any) -> None:
    for channel in (1, 2):
        _check_same(data, channel, frame_max)
        _check_same(bytearray(data), channel, frame_max)
    assert decode_run(memoryview(data), 0, frame_max, 1) == (0, [])


def test_empty_properties_are_fresh_objects_with_constructor_attributes() -> None:
    data = sf.deliver(1, b'a', 1) + sf.deliver(1, b'b', 2)
    offset, found = decode_run(data, 0, None, 1)
    assert offset == len(data) and len(found) == 2
    first, second = found[0].properties, found[1].properties
    assert first is not second
    assert list(vars(first).items()) == list(vars(spec.BasicProperties()).items())
    assert [d.method.delivery_tag for d in found] == [1, 2]
    assert [d.body for d in found] == [b'a', b'b']


# ---------------------------------------------------------------------------- the core


def _event_data(got: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for event in got:
        fields: dict[str, Any] = {}
        for name in type(event).__slots__:
            value = getattr(event, name)
            if isinstance(value, pika.amqp_object.AMQPObject):
                value = (type(value).__name__, list(vars(value).items()))
            elif isinstance(value, BaseException):
                value = (type(value).__name__, str(value))
            fields[name] = value
        out.append((type(event).__name__, fields))
    return out


def _run(chunks: list[bytes], fast: bool, into: bool = False) -> tuple[list[Any], bytes]:
    """Feed ``chunks`` to an open core (channel 1 with a passive declare outstanding, 2 in
    confirm mode, 3 closing), with or without every receive shortcut.

    With them, every delivery body takes the whole-body path (``bodies.collect_body``) and,
    when still incomplete after its header, is read in place (``LargeMessage``); with ``into``
    the chunks then go into ``receive_buffer()`` (``received_into()``) while it is offered,
    as a transport that reads in place would do.
    """
    with pytest.MonkeyPatch.context() as patch:
        if fast:
            patch.setattr(content, 'LARGE_BODY_MIN', 1)
            patch.setattr(receiving, 'IN_PLACE_MIN', 1)
        else:
            patch.setattr(receiving, '_FAST_METHODS', {})
            patch.setattr(receiving, 'decode_deliveries', lambda _b, offset, *_a: offset)
            patch.setattr(content, 'LARGE_BODY_MIN', 1 << 62)
            patch.setattr(receiving, 'IN_PLACE_MIN', 1 << 62)
        core = open_core()
        first = open_channel(core, 1)
        second = open_channel(core, 2)
        third = open_channel(core, 3)
        first.rpc(spec.Queue.Declare(queue='q', passive=True))
        second.rpc(spec.Confirm.Select())
        core.receive_data(sf.method(2, spec.Confirm.SelectOk()), 0.0)
        third.close()
        core.data_to_send()
        got: list[Any] = []
        for chunk in chunks:
            while chunk:
                target = core.receive_buffer() if into else None
                if target is None:
                    got += core.receive_data(chunk, 0.0)
                    break
                assert len(target) > 0
                n = min(len(target), len(chunk))
                target[:n] = chunk[:n]
                del target
                chunk = chunk[n:]
                got += core.received_into(n, 0.0)
        return _event_data(got), bytes(core.data_to_send())


replies = st.sampled_from(
    [
        sf.method(1, spec.Queue.DeclareOk('q', 5, 0)),
        sf.method(1, spec.Queue.DeclareOk('q', 5, 0))[:-1] + b'\x00',  # bad frame end
        sf.method(1, spec.Queue.DeclareOk('q', 5, 0))[:12],  # truncated
        sf.method(2, spec.Basic.Ack(7, multiple=True)),
        sf.method(2, spec.Basic.Nack(8)),
        sf.method(1, spec.Basic.QosOk()),  # not what is awaited: 503
        sf.method(3, spec.Channel.CloseOk()),
        sf.method(4, spec.Basic.Ack(1)),  # unknown channel
        sf.method(1, spec.Channel.Close(404, 'NOT_FOUND', 50, 10)),
        b'\x01\x00\x01\x00\x00\x00\x00\xce',  # a method frame too short for a method id
        b'\x01\x00\x01\x00\x00\x00\x05\x00\x32\x00\x0b\x00\xce',  # truncated DeclareOk payload
        sf.heartbeat(),
        sf.method(1, spec.Basic.Deliver('ctag1', 9, False, 'ex', 'rk')),  # content to follow
        sf.deliver(1, b'body', 10),
        # bodies a cut often falls into, in one frame and in frames smaller than frame_max
        sf.deliver(1, bytes(range(256)) * 8, 11),
        sf.deliver(1, bytes(range(256)) * 2, 12, frame_max=64),
    ]
)


@FUZZ
@given(st.lists(replies | deliver_streams(), max_size=4), st.data())
def test_core_receive_shortcuts_change_nothing(parts: list[bytes], choose: st.DataObject) -> None:
    data = b''.join(parts)
    cuts = sorted(choose.draw(st.lists(st.integers(0, len(data)), max_size=3)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    into = choose.draw(st.booleans())
    assert _run(chunks, fast=True, into=into) == _run(chunks, fast=False)


def test_rpc_reply_event_is_the_constructed_event() -> None:
    """ChannelCore builds RpcReply without its class call: the same fields as RpcReply(...)."""
    from pika._core import events

    core = open_core()
    channel = open_channel(core, 1)
    channel.rpc(spec.Queue.Declare(queue='q', passive=True))
    [got] = core.receive_data(sf.method(1, spec.Queue.DeclareOk('q', 2, 1)), 0.0)
    assert type(got) is events.RpcReply
    assert got == events.RpcReply(1, got.method, None, None)
    assert vars(got.method) == vars(spec.Queue.DeclareOk('q', 2, 1))


def test_rpc_reply_then_deliveries_in_one_read() -> None:
    core = open_core()
    channel = open_channel(core, 1)
    channel.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
    data = sf.method(1, spec.Basic.ConsumeOk('ctag1'))
    data += b''.join(sf.deliver(1, b'x' * tag, tag) for tag in range(1, 4))
    got = core.receive_data(memoryview(bytearray(data)), 0.0)
    assert names(got) == ['RpcReply'] + ['MessageDelivered'] * 3
    assert [event.body for event in got[1:]] == [b'x', b'xx', b'xxx']
    assert len(core.receiver.buffer) == 0


# ---------------------------------------------------------------------------- receive buffer


def test_receive_buffer_takes_bytes_as_they_are_and_copies_views() -> None:
    buffer = ReceiveBuffer()
    chunk = b'abc'
    assert buffer.feed(chunk) is chunk
    buffer.offset = 3
    buffer.compact()
    source = bytearray(b'xyz')
    got = buffer.feed(memoryview(source))
    source[0] = 0
    assert got == b'xyz' and type(got) is bytes


def test_receive_buffer_keeps_a_large_leftover_growing_in_place() -> None:
    buffer = ReceiveBuffer()
    buffer.feed(b'a' * (JOIN_LIMIT + 10))
    buffer.offset = 5
    buffer.compact()
    assert type(buffer.data) is bytearray and len(buffer) == JOIN_LIMIT + 5
    grown = buffer.data
    assert buffer.feed(b'b') is grown  # appended, not copied
    buffer.offset = len(grown) - 1
    buffer.compact()
    assert bytes(buffer.data) == b'b'
    assert buffer.feed(b'c') == b'bc'  # small again: joined into bytes
    assert type(buffer.data) is bytes


def test_large_message_in_small_reads() -> None:
    core = open_core()
    channel = open_channel(core, 1)
    channel.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('ctag1')), 0.0)
    body = bytes(range(256)) * 1024  # 256 KiB, several body frames
    data = sf.deliver(1, body, 1) + sf.deliver(1, b'small', 2)
    got: list[Any] = []
    for start in range(0, len(data), 7000):
        got += core.receive_data(memoryview(data)[start : start + 7000], 0.0)
    assert names(got) == ['MessageDelivered', 'MessageDelivered']
    assert got[0].body == body and got[1].body == b'small'
    assert len(core.receiver.buffer) == 0


# ---------------------------------------------------------------------------- tick re-arming


class _TimerConnection(Connection):
    """A callback Connection recording its timers."""

    def __init__(self, **params: Any) -> None:
        super().__init__(pika.ConnectionParameters(**params))
        self.armed: list[float] = []
        self.clock = 0.0

    def _output_ready(self) -> None:
        pass

    def _close_transport(self) -> None:
        pass

    def _now(self) -> float:
        return self.clock

    def call_later(self, delay: float, callback: Any) -> object:
        self.armed.append(delay)
        return object()

    def remove_timeout(self, timeout_id: object) -> None:
        pass


def test_tick_timer_is_armed_when_the_deadline_may_move_earlier_only() -> None:
    conn = _TimerConnection(heartbeat=10, blocked_connection_timeout=1)
    conn._start_protocol(conn.params)
    conn._on_data_received(sf.start() + sf.tune(heartbeat=10) + sf.open_ok())
    assert conn.armed == [5.0]  # the first heartbeat send check
    core = conn._core
    assert core is not None
    seen = core.deadline_changes
    for step in range(1, 4):  # bytes received: the deadline only moves later
        conn.clock = float(step)
        conn._on_data_received(sf.heartbeat())
    assert conn.armed == [5.0] and core.deadline_changes == seen
    conn._on_data_received(sf.method(0, spec.Connection.Blocked('low on memory')))
    assert conn.armed == [5.0, 1.0]  # blocked at 3, timeout 1 s: earlier than 5
    conn.clock = 3.5
    conn._on_tick()  # early or not, a tick re-arms from the current deadline
    assert conn.armed == [5.0, 1.0, 0.5]
    conn._on_data_received(sf.method(0, spec.Connection.Unblocked()))
    assert conn.armed == [5.0, 1.0, 0.5, 1.5]  # back to the heartbeat send check at 5
