"""Large inbound bodies: taken whole from the receive buffer, same events as frame by frame."""

from __future__ import annotations

from typing import Any

import pytest

from pika import spec
from pika._core import content
from tests.helpers import server_frames as sf
from tests.unit.core.helpers import names, open_channel, open_core

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
    assert len(core._buffer) == 0


def test_collect_body_waits_then_takes_the_whole_body() -> None:
    frames = sf.content(1, BODY, frame_max=FRAME_MAX)
    header_size = 7 + 1 + 14  # header frame of empty properties
    bodies = frames[header_size:]
    assert content.collect_body(bodies[:-1], 0, 1, len(BODY), FRAME_MAX) == 0
    end, body = content.collect_body(bodies + b'tail', 0, 1, len(BODY), FRAME_MAX)  # type: ignore[misc]
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
    assert content.collect_body(mutate(bodies), 0, 1, len(BODY), FRAME_MAX) is None


def test_bad_frame_end_inside_large_body_is_still_a_frame_error() -> None:
    core = _consuming_core()
    data = bytearray(sf.deliver(1, BODY, 1, frame_max=FRAME_MAX))
    data[-1] = 0x00  # the last body frame's frame-end octet
    events = core.receive_data(bytes(data), 0.0)
    assert names(events)[-1] == 'ConnectionClosed'
    assert events[-1].error.reply_code == 501


def test_other_channel_frame_between_body_frames_falls_back() -> None:
    core = _consuming_core()
    open_channel(core, 2)
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
    original = content.collect_body

    def spy(*args: Any) -> Any:
        called.append(args[3])
        return original(*args)

    monkeypatch.setattr(content, 'collect_body', spy)
    core = _consuming_core()
    data = sf.deliver(1, BODY, 1, frame_max=FRAME_MAX) + sf.deliver(
        1, BODY[:65536], 2, frame_max=FRAME_MAX
    )
    events = _feed(core, data, 5000)
    assert [e.body for e in events] == [BODY, BODY[:65536]]
    assert set(called) == {65536}  # only the body within [LARGE_BODY_MIN, LARGE_BODY_MAX]
