"""Large inbound bodies: taken whole from the receive buffer, same events as frame by frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pytest

from pika import frame, spec
from pika._core import content, large_message, receiving
from pika._core.large_message import LOOKAHEAD, LargeMessage, body_frames_size
from pika._wire import bodies as wire_bodies
from pika.amqp_object import AMQPObject
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core

FRAME_MAX = 16384
BODY = bytes(range(256)) * 400  # 102,400 bytes: 7 body frames at frame_max 16384


def _consuming_core(frame_max: int = FRAME_MAX) -> Any:
    core = open_core(frame_max=frame_max, tune_kwargs={'frame_max': frame_max})
    ch = open_channel(core)
    ch.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('ctag1')), 0.0)
    core.data_to_send()
    return core


def _feed(core: Any, data: bytes, step: int) -> list[Any]:
    events: list[Any] = []
    for pos in range(0, len(data), step):
        events += core.receive_data(data[pos : pos + step], 0.0)
    return events


@pytest.mark.parametrize('step', [1_000_000, 65536, 16391, 7, 4096 * 3 + 5])
def test_multi_frame_delivery_any_split(step: int) -> None:
    core = _consuming_core()
    props = spec.BasicProperties(content_type='x/y', headers={'a': 1})
    data = (
        sf.deliver(1, BODY, 1, properties=props, frame_max=FRAME_MAX)
        + sf.deliver(1, b'small', 2, frame_max=FRAME_MAX)
        + sf.deliver(1, BODY[::-1], 3, frame_max=FRAME_MAX)
    )
    events = _feed(core, data, step)
    assert names(events) == ['MessageDelivered'] * 3
    assert [e.method.delivery_tag for e in events] == [1, 2, 3]
    assert events[0].body == BODY and type(events[0].body) is bytes
    assert events[0].properties.content_type == 'x/y' and events[0].properties.headers == {'a': 1}
    assert events[1].body == b'small' and events[2].body == BODY[::-1]
    assert len(core.receiver.buffer) == 0


def test_collect_body_waits_then_takes_the_whole_body() -> None:
    frames = sf.content(1, BODY, frame_max=FRAME_MAX)
    header_size = 7 + 1 + 14  # header frame of empty properties
    bodies = frames[header_size:]
    assert wire_bodies.collect_body(bodies[:-1], 0, 1, len(BODY), FRAME_MAX) == 0
    end, body = wire_bodies.collect_body(bodies + b'tail', 0, 1, len(BODY), FRAME_MAX)  # type: ignore[misc]
    assert body == BODY and end == len(bodies)


@pytest.mark.parametrize(
    'mutate',
    [
        lambda b: b[:3] + b'\x00\x00\x00\x00' + b[7:],  # zero-size body frame
        lambda b: b'\x02' + b[1:],  # wrong frame type
        lambda b: b[:1] + b'\x00\x02' + b[3:],  # another channel
    ],
)
def test_collect_body_declines_anything_unusual(mutate: Any) -> None:
    bodies = sf.content(1, BODY, frame_max=FRAME_MAX)[22:]
    assert wire_bodies.collect_body(mutate(bodies), 0, 1, len(BODY), FRAME_MAX) is None


def test_bad_frame_end_inside_large_body_is_still_a_frame_error() -> None:
    core = _consuming_core()
    data = bytearray(sf.deliver(1, BODY, 1, frame_max=FRAME_MAX))
    data[-1] = 0x00  # the last body frame's frame-end octet
    events = core.receive_data(bytes(data), 0.0)
    assert names(events)[-1] == 'ConnectionClosed'
    assert events[-1].error.reply_code == 501


def test_other_channel_frame_between_body_frames_falls_back() -> None:
    core = _consuming_core()
    _confirming_channel_2(core, published=5)
    message = sf.deliver(1, BODY, 1, frame_max=FRAME_MAX)
    cut = len(message) - (FRAME_MAX // 2)
    cut = message.rfind(b'\x03\x00\x01', 0, cut)  # start of a body frame
    data = message[:cut] + sf.method(2, spec.Basic.Ack(5)) + message[cut:]
    events = core.receive_data(data, 0.0)
    assert names(events) == ['DeliveryConfirmed', 'MessageDelivered']  # in wire order
    assert events[1].body == BODY


def test_large_return_and_get_ok() -> None:
    core = _consuming_core(sf.FRAME_MAX)
    ch = core.channels[1]
    ch.rpc(spec.Basic.Get(queue='q'))
    events = core.receive_data(sf.returned(1, BODY * 3) + sf.get_ok(1, BODY * 2), 0.0)
    assert names(events) == ['MessageReturned', 'RpcReply']
    assert events[0].body == BODY * 3 and events[1].body == BODY * 2


def test_bodies_above_the_cap_are_assembled_frame_by_frame(monkeypatch: Any) -> None:
    monkeypatch.setattr(content, 'LARGE_BODY_MAX', 70_000)
    called: list[int] = []
    original = wire_bodies.collect_body

    def spy(*args: Any) -> Any:
        called.append(args[3])
        return original(*args)

    monkeypatch.setattr(wire_bodies, 'collect_body', spy)
    core = _consuming_core()
    data = sf.deliver(1, BODY, 1, frame_max=FRAME_MAX) + sf.deliver(
        1, BODY[:65536], 2, frame_max=FRAME_MAX
    )
    events = _feed(core, data, 5000)
    assert [e.body for e in events] == [BODY, BODY[:65536]]
    assert set(called) == {65536}  # only the body within [LARGE_BODY_MIN, LARGE_BODY_MAX]


# ---------------------------------------------------------------------------- read in place
#
# A Basic.Deliver whose body is at least IN_PLACE_MIN and still incomplete once its header is
# decoded makes the core allocate a LargeMessage; later bytes land in it, given to receive_data
# or read into receive_buffer() and reported with received_into(). The tests feed each stream
# to a core with IN_PLACE_MIN patched huge too (the ordinary path) and expect the same events
# and the same output bytes.

LARGE = bytes(range(256)) * 1200  # 307,200 bytes: above the real IN_PLACE_MIN (256 KiB)
NEVER = 1 << 62  # IN_PLACE_MIN of the ordinary path
Action = Callable[[Any], Optional[list[Any]]]


def _summary(got: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """Events as comparable data (errors by type and text, AMQP objects by their fields)."""
    out = []
    for event in got:
        fields: dict[str, Any] = {}
        for name in event._fields():
            value = getattr(event, name)
            if isinstance(value, BaseException):
                value = (type(value).__name__, str(value))
            elif isinstance(value, AMQPObject):
                value = (type(value).__name__, list(vars(value).items()))
            fields[name] = value
        out.append((type(event).__name__, fields))
    return out


@dataclass
class _Run:
    """What driving one core over a stream gave."""

    core: Any
    events: list[Any] = field(default_factory=list)
    large: list[LargeMessage] = field(default_factory=list)  # each one the core allocated
    into: int = 0  # bytes written into receive_buffer()
    output: bytes = b''  # what the core sent meanwhile
    large_at_action: bool = False  # a body was being read in place when the action ran

    def note_large(self) -> None:
        large = self.core.large_message
        if large is not None and (not self.large or self.large[-1] is not large):
            self.large.append(large)

    @property
    def seen(self) -> tuple[list[Any], bytes]:
        """Events and output bytes, to compare with another run."""
        return _summary(self.events), self.output


def _drive(
    stream: bytes,
    k: int,
    *,
    into: bool = False,
    first: Optional[int] = None,
    ordinary: bool = False,
    in_place_min: Optional[int] = None,
    frame_max: int = sf.FRAME_MAX,
    setup: Optional[Action] = None,
    action: Optional[tuple[int, Action]] = None,
) -> _Run:
    """Feed ``stream`` to a consuming core, at most ``k`` bytes a read.

    :param into: read like a transport that reads in place: into ``receive_buffer()`` whenever
        it is not None, then ``received_into()``; else ``receive_data()``
    :param first: the size of the first read (default ``k``)
    :param ordinary: with IN_PLACE_MIN patched huge (no LargeMessage ever)
    :param in_place_min: else IN_PLACE_MIN patched to this
    :param setup: called with the core before the stream
    :param action: ``(position, call)``: ``call(core)`` once the reads reach ``position``
    """
    with pytest.MonkeyPatch.context() as patch:
        if ordinary:
            patch.setattr(receiving, 'IN_PLACE_MIN', NEVER)
        elif in_place_min is not None:
            patch.setattr(receiving, 'IN_PLACE_MIN', in_place_min)
        run = _Run(_consuming_core(frame_max))
        core = run.core
        if setup is not None:
            setup(core)
            core.data_to_send()
        if first is not None:
            run.events += core.receive_data(stream[:first], 0.0)
            run.note_large()
        pos = first or 0
        while pos < len(stream) or action is not None:
            if action is not None and pos >= action[0]:
                run.large_at_action = core.large_message is not None
                run.events += action[1](core) or []
                action = None
                continue
            target = core.receive_buffer() if into else None
            if target is None:
                run.events += core.receive_data(stream[pos : pos + k], 0.0)
                pos += k
            else:
                assert len(target) > 0  # never an empty view
                n = min(k, len(target), len(stream) - pos)
                target[:n] = stream[pos : pos + n]
                del target  # a transport keeps no view past the read
                pos += n
                run.into += n
                run.events += core.received_into(n, 0.0)
            run.note_large()
        run.output = bytes(core.data_to_send())
        return run


def _rpc_outstanding(core: Any) -> None:
    core.channels[1].rpc(spec.Basic.Qos(prefetch_count=10))


def _large_then_small_then_reply(frame_max: int) -> bytes:
    props = spec.BasicProperties(content_type='x/y', headers={'a': 1}, priority=3)
    return (
        sf.deliver(1, LARGE, 1, properties=props, frame_max=frame_max)
        + sf.deliver(1, b'small', 2, frame_max=frame_max)
        + sf.method(1, spec.Basic.QosOk())
    )


def _check_large_then_small_then_reply(run: _Run) -> None:
    assert names(run.events) == ['MessageDelivered', 'MessageDelivered', 'RpcReply']
    first, second, reply = run.events
    assert first.body == LARGE and type(first.body) is bytes
    assert first.method.delivery_tag == 1 and first.properties.headers == {'a': 1}
    assert second.body == b'small' and type(second.body) is bytes
    assert isinstance(reply.method, spec.Basic.QosOk)
    assert run.core.receive_buffer() is None and len(run.core.receiver.buffer) == 0


@pytest.mark.parametrize('frame_max', [131072, 16384])
@pytest.mark.parametrize('step', [1 << 20, 65536, 16391, 4096 * 3 + 5, 1000])
def test_large_delivery_fed_to_receive_data_gives_the_ordinary_events(
    frame_max: int, step: int
) -> None:
    stream = _large_then_small_then_reply(frame_max)
    got = _drive(stream, step, first=min(step, 4096), frame_max=frame_max, setup=_rpc_outstanding)
    want = _drive(stream, step, frame_max=frame_max, setup=_rpc_outstanding, ordinary=True)
    _check_large_then_small_then_reply(got)
    assert len(got.large) == 1 and not want.large  # read in place, and only there
    assert got.seen == want.seen


@pytest.mark.parametrize('frame_max', [131072, 16384])
@pytest.mark.parametrize('k', [1, 7, 4096, 65536, 1 << 20])
def test_large_delivery_read_into_the_receive_buffer_gives_the_ordinary_events(
    frame_max: int, k: int
) -> None:
    body = LARGE
    in_place_min = None
    if k == 1:  # one byte a read: a smaller body (still above content.LARGE_BODY_MIN), for time
        body = LARGE[: content.LARGE_BODY_MIN + 1000]
        in_place_min = content.LARGE_BODY_MIN
    stream = (
        sf.deliver(1, body, 1, frame_max=frame_max)
        + sf.deliver(1, b'small', 2, frame_max=frame_max)
        + sf.method(1, spec.Basic.QosOk())
    )
    got = _drive(
        stream,
        k,
        into=True,
        first=min(k, 4096),  # a read that ends inside the body
        in_place_min=in_place_min,
        frame_max=frame_max,
        setup=_rpc_outstanding,
    )
    want = _drive(stream, len(stream), frame_max=frame_max, setup=_rpc_outstanding, ordinary=True)
    assert names(got.events) == ['MessageDelivered', 'MessageDelivered', 'RpcReply']
    assert got.events[0].body == body and type(got.events[0].body) is bytes
    assert got.events[1].body == b'small'
    assert len(got.large) == 1
    assert got.into >= len(body) - 4096  # the rest of the body was read straight into place
    assert got.seen == want.seen


def _deliver_in_small_frames(body: bytes, per_frame: int, tag: int = 1) -> bytes:
    """A delivery whose body frames carry ``per_frame`` bytes each, whatever frame_max says."""
    out = [
        sf.method(1, spec.Basic.Deliver('ctag1', tag, False, 'amq.direct', 'rk')),
        frame.Header(1, len(body), spec.BasicProperties()).marshal(),
    ]
    out += [
        frame.Body(1, body[i : i + per_frame]).marshal() for i in range(0, len(body), per_frame)
    ]
    return b''.join(out)


@pytest.mark.parametrize('into', [False, True])
@pytest.mark.parametrize('k', [4096, 65536])
def test_body_frames_smaller_than_frame_max_grow_the_buffer(
    monkeypatch: Any, into: bool, k: int
) -> None:
    grown: list[int] = []
    grow = LargeMessage._grow

    def spy(self: LargeMessage) -> None:
        grown.append(len(self.view))
        grow(self)

    monkeypatch.setattr(LargeMessage, '_grow', spy)
    # 1,536 frames of 200 bytes: 12 KiB of frame overhead more than full frames would take,
    # beyond the LOOKAHEAD room
    stream = _deliver_in_small_frames(LARGE, 200) + sf.deliver(1, b'next', 2)
    got = _drive(stream, k, into=into, first=4096)
    want = _drive(stream, len(stream), ordinary=True)
    assert grown and grown[0] == body_frames_size(len(LARGE), sf.FRAME_MAX) + LOOKAHEAD
    assert names(got.events) == ['MessageDelivered', 'MessageDelivered']
    assert got.events[0].body == LARGE and got.events[1].body == b'next'
    assert len(got.large) == 1 and got.seen == want.seen


def _confirming_channel_2(core: Any, published: int = 1) -> None:
    """Channel 2 in confirm mode with ``published`` messages awaiting their confirms."""
    channel = open_channel(core, 2)
    channel.rpc(spec.Confirm.Select())
    core.receive_data(sf.method(2, spec.Confirm.SelectOk()), 0.0)
    for _ in range(published):
        channel.publish('', 'q', b'confirm me', None)
    core.data_to_send()


def _body_frame_starts(message: bytes, frame_max: int) -> list[int]:
    """Offsets of the body frames of an ``sf.deliver`` message (all but the last are full)."""
    header_end = message.index(b'\x02\x00\x01')  # the content header frame
    header_end += 7 + int.from_bytes(message[header_end + 3 : header_end + 7], 'big') + 1
    return list(range(header_end, len(message), frame_max))


def _both_ways(stream: bytes, **kwargs: Any) -> list[_Run]:
    """The stream read in place both ways (first read inside the body, then 16 KiB reads)."""
    runs = [_drive(stream, 16384, into=into, first=4096, **kwargs) for into in (False, True)]
    for run in runs:
        assert run.large  # the in-place path was taken
    return runs


@pytest.mark.parametrize(
    ('between', 'setup', 'expected'),
    [
        (sf.heartbeat(), None, ['MessageDelivered']),
        (sf.blocked(), None, ['ConnectionBlocked', 'MessageDelivered']),
        (sf.method(2, spec.Basic.Ack(1)), _confirming_channel_2, None),
        (sf.method(2, spec.Basic.Ack(1)), None, ['ChannelClosed', 'ConnectionClosed']),  # 504
        (sf.method(1, spec.Basic.Ack(1)), None, ['ChannelClosed', 'ConnectionClosed']),  # 505
    ],
    ids=['heartbeat', 'blocked', 'ack-on-channel-2', 'unknown-channel', 'method-mid-content'],
)
def test_other_frames_between_body_frames_are_decoded_as_usual(
    between: bytes, setup: Optional[Action], expected: Optional[list[str]]
) -> None:
    message = sf.deliver(1, LARGE, 1, frame_max=16384)
    cut = _body_frame_starts(message, 16384)[-3]
    stream = message[:cut] + between + message[cut:] + sf.deliver(1, b'after', 2)
    want = _drive(stream, len(stream), frame_max=16384, setup=setup, ordinary=True)
    if expected is None:
        expected = ['DeliveryConfirmed', 'MessageDelivered', 'MessageDelivered']
    elif expected[0] != 'ChannelClosed':
        expected = [*expected, 'MessageDelivered']
    assert names(want.events) == expected
    for got in _both_ways(stream, frame_max=16384, setup=setup):
        assert got.seen == want.seen
        assert got.core.receive_buffer() is None
    if names(want.events)[-1] == 'MessageDelivered':
        assert want.events[-2].body == LARGE and want.events[-1].body == b'after'


@pytest.mark.parametrize(
    ('mutate', 'reply_code'),
    [
        (lambda data, at, end: data.__setitem__(end, 0x00), 501),  # bad frame end
        (lambda data, at, end: data.__setitem__(at + 3, 0x01), 501),  # size above frame_max
        (lambda data, at, end: data.__setitem__(at, 0x02), 501),  # a (bad) header frame instead
        (lambda data, at, end: data.__setitem__(slice(at + 1, at + 3), b'\x00\x05'), 504),
    ],
    ids=['frame-end', 'size', 'frame-type', 'channel'],
)
@pytest.mark.parametrize('which', [3, -1], ids=['middle-frame', 'last-frame'])
def test_a_broken_body_frame_closes_the_connection_as_usual(
    mutate: Any, reply_code: int, which: int
) -> None:
    data = bytearray(sf.deliver(1, LARGE, 1, frame_max=16384) + sf.deliver(1, b'after', 2))
    message_size = len(sf.deliver(1, LARGE, 1, frame_max=16384))
    at = _body_frame_starts(bytes(data[:message_size]), 16384)[which]
    size = int.from_bytes(data[at + 3 : at + 7], 'big')
    mutate(data, at, at + 7 + size)
    stream = bytes(data)
    want = _drive(stream, len(stream), frame_max=16384, ordinary=True)
    assert names(want.events) == ['ChannelClosed', 'ConnectionClosed']
    assert want.events[-1].error.reply_code == reply_code
    for got in _both_ways(stream, frame_max=16384):
        assert got.seen == want.seen
        assert got.core.is_closed and got.core.receive_buffer() is None


def _open_channel_2(core: Any) -> None:
    open_channel(core, 2)


def _close_channel(number: int) -> Action:
    def close(core: Any) -> None:
        core.channels[number].close()

    return close


def _close_connection(core: Any) -> None:
    core.close()


@pytest.mark.parametrize(
    ('channel', 'setup', 'action', 'replies', 'expected'),
    [
        (  # a consuming channel cancels first: the delivery still arrives
            1,
            None,
            _close_channel(1),
            sf.method(1, spec.Basic.CancelOk('ctag1')) + sf.channel_close_ok(1),
            ['MessageDelivered', 'ChannelClosed'],
        ),
        (  # a closing channel drops it
            2,
            _open_channel_2,
            _close_channel(2),
            sf.channel_close_ok(2),
            ['ChannelClosed'],
        ),
        (
            1,
            None,
            _close_connection,
            sf.method(1, spec.Basic.CancelOk('ctag1'))
            + sf.channel_close_ok(1)
            + sf.connection_close_ok(),
            ['MessageDelivered', 'ChannelClosed', 'ConnectionClosed'],
        ),
    ],
    ids=['consuming-channel', 'idle-channel', 'connection'],
)
@pytest.mark.parametrize('into', [False, True])
def test_client_close_while_a_large_body_arrives(
    channel: int,
    setup: Optional[Action],
    action: Action,
    replies: bytes,
    expected: list[str],
    into: bool,
) -> None:
    stream = sf.deliver(channel, LARGE, 1) + replies
    kwargs: Any = {'setup': setup, 'action': (100_000, action), 'first': 4096}
    got = _drive(stream, 16384, into=into, **kwargs)
    want = _drive(stream, 16384, ordinary=True, **kwargs)
    assert got.large_at_action and len(got.large) == 1 and not want.large
    assert got.seen == want.seen
    assert names(want.events) == expected
    if expected[0] == 'MessageDelivered':
        assert got.events[0].body == LARGE
    if expected[-1] == 'ConnectionClosed':  # closed by the client, as asked
        assert got.core.is_closed and got.events[-1].error.reply_code == 200


@pytest.mark.parametrize('into', [False, True])
def test_connection_lost_while_a_large_body_arrives(into: bool) -> None:
    stream = sf.deliver(1, LARGE, 1)
    lost: list[Any] = []

    def lose(core: Any) -> list[Any]:
        lost.append(core.receive_buffer())  # a view a transport might still hold
        return list(core.connection_lost(ConnectionResetError('reset')))

    kwargs: Any = {'action': (100_000, lose), 'first': 4096}
    got = _drive(stream[:150_000], 16384, into=into, **kwargs)
    want = _drive(stream[:150_000], 16384, ordinary=True, **kwargs)
    assert got.large_at_action and lost[0] is not None
    assert names(got.events) == ['ChannelClosed', 'ConnectionClosed']
    assert got.seen == want.seen
    core = got.core
    assert core.receive_buffer() is None
    lost[0][:10] = b'x' * 10  # a late read into the old view harms nothing
    assert core.received_into(10, 0.0) == []
    assert core.receive_data(stream[150_000:], 0.0) == []
    assert core.connection_lost(None) == []


@pytest.mark.parametrize('into', [False, True])
@pytest.mark.parametrize('k', [16391, 65536, 1 << 20])
def test_two_large_deliveries_back_to_back_are_both_read_in_place(into: bool, k: int) -> None:
    stream = sf.deliver(1, LARGE, 1) + sf.deliver(1, LARGE[::-1], 2) + sf.deliver(1, b'x', 3)
    got = _drive(stream, k, into=into, first=4096)
    want = _drive(stream, len(stream), ordinary=True)
    assert [e.body for e in got.events] == [LARGE, LARGE[::-1], b'x']
    # a receive_data of everything that is left completes the second body at once; a read
    # into the buffer stops at its room
    assert len(got.large) == (1 if k > len(stream) and not into else 2)
    assert got.seen == want.seen


def test_the_read_that_completes_a_large_body_brings_the_next_delivery_start() -> None:
    first = sf.deliver(1, LARGE, 1)
    second = sf.deliver(1, LARGE[::-1], 2)
    stream = first + second
    core = _consuming_core(sf.FRAME_MAX)
    assert core.receive_data(stream[:4096], 0.0) == []
    target = core.receive_buffer()
    assert target is not None
    # The room is the rest of the first message's frames plus LOOKAHEAD bytes.
    assert len(target) == len(first) - 4096 + LOOKAHEAD
    target[:] = stream[4096 : 4096 + len(target)]
    del target
    got = core.received_into(len(first) - 4096 + LOOKAHEAD, 0.0)
    assert names(got) == ['MessageDelivered'] and got[0].body == LARGE
    # The LOOKAHEAD bytes held the second delivery's method, header and first body bytes:
    # it is read in place at once.
    second_large = core.large_message
    assert second_large is not None and second_large.filled == LOOKAHEAD - len(
        second[: second.index(b'\x03\x00\x01')]
    )
    position = len(first) + LOOKAHEAD
    got = []
    while (target := core.receive_buffer()) is not None:
        n = min(len(target), len(stream) - position)
        target[:n] = stream[position : position + n]
        del target
        position += n
        got += core.received_into(n, 0.0)
    assert position == len(stream)
    assert names(got) == ['MessageDelivered'] and got[0].body == LARGE[::-1]
    assert got[0].method.delivery_tag == 2


def test_receive_data_beyond_the_buffer_is_decoded_after_the_large_body() -> None:
    stream = sf.deliver(1, LARGE, 1) + sf.deliver(1, b'a', 2) + sf.deliver(1, LARGE, 3)
    stream += sf.deliver(1, b'b', 4)
    core = _consuming_core(sf.FRAME_MAX)
    assert core.receive_data(stream[:4096], 0.0) == []
    assert core.large_message is not None
    got = core.receive_data(stream[4096:], 0.0)  # far more than the buffer's room
    assert [e.body for e in got] == [LARGE, b'a', LARGE, b'b']
    assert core.large_message is None and len(core.receiver.buffer) == 0


# ---------------------------------------------------------------------------- LargeMessage


class _Channel:
    channel_number = 1


def _body_frames(body: bytes, frame_max: int, channel: int = 1) -> bytes:
    return sf.content(channel, body, frame_max=frame_max)[22:]  # after an empty-props header


def _message(body: bytes, first: bytes, frame_max: Optional[int] = 1000) -> LargeMessage:
    return LargeMessage(_Channel(), 'method', 'props', len(body), b'PREFIX', first, frame_max)


def test_large_message_append_returns_what_does_not_fit() -> None:
    body = bytes(range(200)) * 10
    frames = _body_frames(body, 1000)
    message = _message(body, frames[:10])
    assert len(message.view) == body_frames_size(2000, 1000) + LOOKAHEAD == len(frames) + LOOKAHEAD
    assert message.append(frames[10:100]) is None and message.filled == 100
    room = len(message.room())
    assert room == len(frames) - 100 + LOOKAHEAD
    extra = frames[100:] + b'N' * (LOOKAHEAD + 50)
    rest = message.append(extra)
    assert rest is not None and bytes(rest) == b'N' * 50
    assert message.filled == len(message.view) and len(message.room()) == 0
    assert message.everything() == b'PREFIX' + frames + b'N' * LOOKAHEAD


def test_large_message_outcome_waits_then_gives_the_body_and_what_followed() -> None:
    body = bytes(range(256)) * 9
    frames = _body_frames(body, 1000)
    message = _message(body, frames[:1])
    assert message.outcome() == 0
    message.append(frames[1:-1])
    assert message.outcome() == 0  # one octet (the frame end) missing
    message.append(frames[-1:] + b'next')
    outcome = message.outcome()
    assert outcome == (body, b'next')
    assert isinstance(outcome, tuple) and type(outcome[0]) is bytes and type(outcome[1]) is bytes


@pytest.mark.parametrize(
    'surprise',
    [
        sf.heartbeat(),  # channel 0
        sf.method(1, spec.Basic.Ack(1)),  # not a body frame
        sf.content(2, b'x' * 100)[22:],  # another channel's body frame
    ],
)
def test_large_message_outcome_is_none_for_anything_but_body_frames(surprise: bytes) -> None:
    body = bytes(2000)
    frames = _body_frames(body, 1000)
    message = _message(body, frames[:992] + surprise)
    message.append(frames[992:])
    assert message.outcome() is None
    assert message.everything() == b'PREFIX' + frames[:992] + surprise + frames[992:]


def test_large_message_grows_when_body_frames_are_smaller_than_frame_max() -> None:
    body = bytes(range(100)) * 60  # 6,000 bytes in 600 frames: 10,800 bytes, past LOOKAHEAD
    frames = b''.join(frame.Body(1, body[i : i + 10]).marshal() for i in range(0, 6000, 10))
    message = LargeMessage(_Channel(), 'm', 'p', len(body), b'', b'', 65536)
    size = len(message.view)
    assert size == 6008 + LOOKAHEAD
    rest = message.append(frames + bytes(LOOKAHEAD))  # some of the frames do not fit
    assert rest is not None and message.filled == size
    held = bytes(message.view)
    assert message.outcome() == 0  # well formed so far, incomplete: grows
    assert len(message.view) > size and bytes(message.view[:size]) == held
    assert len(message.room()) > 0
    assert message.append(rest) is None
    assert message.outcome() == (body, bytes(LOOKAHEAD))


@pytest.mark.parametrize(
    ('body_size', 'frame_max', 'expected'),
    [
        (0, 0, 8),
        (10, 0, 18),
        (10, None, 18),
        (992, 1000, 1000),  # exactly one full frame
        (992 * 3, 1000, 3000),  # exact multiple: no partial frame
        (992 * 3 + 1, 1000, 3009),
        (1, 1000, 9),
        (300 * 1024, 131072, 300 * 1024 + 3 * 8),
    ],
)
def test_body_frames_size_counts_the_fewest_frames(
    body_size: int, frame_max: Optional[int], expected: int
) -> None:
    assert body_frames_size(body_size, frame_max) == expected
    if frame_max and body_size:  # what the encoder produces takes exactly that much
        assert len(_body_frames(bytes(body_size), frame_max)) == expected


# ---------------------------------------------------------------------------- odds and ends


def test_bytes_read_in_place_count_as_traffic_for_the_heartbeat_check() -> None:
    core = open_core(heartbeat=10, tune_kwargs={'heartbeat': 10})
    channel = open_channel(core, 1)
    channel.rpc(spec.Basic.Consume(queue='q', consumer_tag='ctag1'))
    core.receive_data(sf.method(1, spec.Basic.ConsumeOk('ctag1')), 0.0)
    stream = sf.deliver(1, LARGE, 1)
    assert core.receive_data(stream[:4096], 1.0) == []
    position, now = 4096, 1.0
    while position < len(stream) - 10:  # all but the last bytes, one read every 5 s
        target = core.receive_buffer()
        assert target is not None
        now += 5.0
        n = min(len(target), 16384, len(stream) - 10 - position)
        target[:n] = stream[position : position + n]
        del target
        position += n
        assert core.received_into(n, now) == []
    assert now > 40.0  # far past two heartbeat intervals after the last receive_data
    assert names(core.tick(now + 19.0)) == []  # not a dead peer: the reads were traffic
    assert names(core.tick(now + 21.0))[-1] == 'ConnectionClosed'


def test_connection_close_among_body_frames_is_handled_before_the_body_completes() -> None:
    message = sf.deliver(1, LARGE, 1)
    cut = _body_frame_starts(message, sf.FRAME_MAX)[-1]
    stream = message[:cut] + sf.connection_close(320, 'CONNECTION_FORCED - shutdown')
    # ... and the broker waits for Connection.CloseOk: the rest of the body never comes
    want = _drive(stream, len(stream), first=4096, ordinary=True)
    assert names(want.events) == ['ChannelClosed', 'ConnectionClosed']
    got = _drive(stream, len(stream), first=4096)
    assert got.seen == want.seen


def test_received_into_more_than_was_offered_is_refused() -> None:
    core = _consuming_core(sf.FRAME_MAX)
    message = sf.deliver(1, LARGE, 1)
    assert core.receive_data(message[:4096], 0.0) == []
    room = core.receive_buffer()
    assert room is not None
    with pytest.raises(ValueError, match='more than receive_buffer'):
        core.received_into(len(room) + 1, 0.0)
    # nothing was counted: the message still completes normally
    rest = message[4096:]
    room[: len(rest)] = rest
    got = core.received_into(len(rest), 0.0)
    assert names(got) == ['MessageDelivered'] and got[0].body == LARGE


# -- the buffer is kept for the next large message ---------------------------------------------


def _read_in_place(core: Any, stream: bytes, position: int) -> tuple[int, list[Any], list[Any]]:
    """Read ``stream[position:]`` into the core's buffers while it offers them; return the new
    position, the events and the buffer (underlying object) of each large message met."""
    events: list[Any] = []
    buffers: list[Any] = []
    seen: list[Any] = []
    while (target := core.receive_buffer()) is not None:
        if not seen or seen[-1] is not core.large_message:
            seen.append(core.large_message)
            buffers.append(target.obj)
        n = min(len(target), len(stream) - position)
        target[:n] = stream[position : position + n]
        del target
        position += n
        events += core.received_into(n, 0.0)
    return position, events, buffers


def test_the_next_large_message_reuses_the_buffer_and_earlier_bodies_stay_intact() -> None:
    bodies = [LARGE, LARGE[::-1], LARGE[1:] + b'z']
    stream = b''.join(sf.deliver(1, body, tag) for tag, body in enumerate(bodies, 1))
    core = _consuming_core(sf.FRAME_MAX)
    position, events, buffers = 4096, core.receive_data(stream[:4096], 0.0), []
    while position < len(stream):
        position, got, offered = _read_in_place(core, stream, position)
        events += got
        buffers += offered
        if position < len(stream):
            events += core.receive_data(stream[position : position + 4096], 0.0)
            position += 4096
    assert [e.body for e in events] == bodies  # each body unharmed by the later reuse
    assert len(buffers) == 3 and all(b is buffers[0] for b in buffers)  # one buffer for all
    assert core.receiver.spare_buffer is buffers[0]


def test_a_spare_buffer_larger_than_needed_offers_only_the_message_room() -> None:
    core = _consuming_core(sf.FRAME_MAX)
    core.receiver.spare_buffer = bytearray(4 * len(LARGE))
    first = sf.deliver(1, LARGE, 1)
    assert core.receive_data(first[:4096], 0.0) == []
    target = core.receive_buffer()
    assert target is not None and target.obj is core.large_message.view.obj
    assert len(target) == len(first) - 4096 + LOOKAHEAD  # as with a fresh buffer
    assert core.receiver.spare_buffer is None  # the message owns it now


def test_a_spare_buffer_too_small_is_replaced() -> None:
    core = _consuming_core(sf.FRAME_MAX)
    small = core.receiver.spare_buffer = bytearray(1000)
    assert core.receive_data(sf.deliver(1, LARGE, 1)[:4096], 0.0) == []
    assert core.large_message.view.obj is not small


def test_buffers_above_spare_max_are_not_kept(monkeypatch: Any) -> None:
    monkeypatch.setattr(large_message, 'SPARE_MAX', 1000)
    stream = sf.deliver(1, LARGE, 1)
    core = _consuming_core(sf.FRAME_MAX)
    core.receive_data(stream[:4096], 0.0)
    _position, events, _buffers = _read_in_place(core, stream, 4096)
    assert [e.body for e in events] == [LARGE]
    assert core.receiver.spare_buffer is None


def test_the_spare_buffer_is_dropped_when_the_connection_ends() -> None:
    stream = sf.deliver(1, LARGE, 1)
    core = _consuming_core(sf.FRAME_MAX)
    core.receive_data(stream[:4096], 0.0)
    _read_in_place(core, stream, 4096)
    assert core.receiver.spare_buffer is not None
    core.connection_lost(None)
    assert core.receiver.spare_buffer is None


# Found by the fuzz campaign (tools/fuzz.py, core target): a Basic.Deliver and a content header
# announcing 64 MiB (under the default max_message_size) made the core allocate and zero a
# 64 MiB buffer for the body at once, from 60-odd bytes of input.
@pytest.mark.parametrize('into', [False, True])
def test_a_claimed_large_body_allocates_only_as_its_bytes_arrive(into: bool) -> None:
    import tracemalloc

    body = bytes(range(256)) * (12 * 1024)  # 3 MiB: the buffer doubles twice on the way
    stream = sf.deliver(1, body, 1, frame_max=sf.FRAME_MAX)
    head = stream[:200]
    core = _consuming_core(sf.FRAME_MAX)
    claim = sf.method(1, spec.Basic.Deliver('ctag1', 9, False, 'amq.direct', 'rk'))
    claim += frame.Header(1, 64 << 20, spec.BasicProperties()).marshal()
    tracemalloc.start()
    try:
        # the head of a first body frame (of 131064 bytes) and 100 of its bytes
        first_body = frame.Body(1, b'b' * (sf.FRAME_MAX - 8)).marshal()[:107]
        assert core.receive_data(claim + first_body, 0.0) == []
        assert core.large_message is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < large_message.FIRST_BUFFER_MAX + (256 << 10), peak
    assert len(core.large_message.view) <= large_message.FIRST_BUFFER_MAX

    # A real message of 3 MiB read the same way grows its buffer and arrives whole.
    core = _consuming_core(sf.FRAME_MAX)
    got = _drive(stream, 65536, into=into)
    want = _drive(stream, len(stream), ordinary=True)
    assert [e.body for e in got.events] == [body] and got.seen == want.seen
    assert core.receive_data(head, 0.0) == []
    assert len(core.large_message.view) <= large_message.FIRST_BUFFER_MAX
