"""Heartbeats on a fake clock: sending when idle, detecting a silent broker within 2*H."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pika import exceptions
from pika._core.heartbeat import HeartbeatTimer
from pika._limits import LIVENESS_BYTES
from tests.helpers import server_frames as sf
from tests.helpers.core_setup import names, open_channel, open_core

HEARTBEAT = b'\x08\x00\x00\x00\x00\x00\x00\xce'


def hb_core(interval: int = 10, now: float = 0.0):  # type: ignore[no-untyped-def]
    return open_core(now=now, heartbeat=None, tune_kwargs={'heartbeat': interval})


def test_no_timer_when_heartbeat_disabled() -> None:
    core = open_core(heartbeat=0, tune_kwargs={'heartbeat': 60})
    assert core.heartbeat == 0
    assert core.next_deadline() is None
    assert core.tick(1e6) == []


def test_heartbeat_sent_when_idle() -> None:
    core = hb_core(10)
    assert core.next_deadline() == 5.0
    assert core.tick(4.9) == [] and core.data_to_send() == b''
    # first check at H/2: the handshake bytes (TuneOk/Open) were queued before the timer
    # started, so nothing new since -> idle -> heartbeat
    core.receive_data(sf.heartbeat(), 5.0)
    assert core.tick(5.0) == []
    assert bytes(core.data_to_send()) == HEARTBEAT
    assert core.next_deadline() == 10.0


def test_no_heartbeat_when_traffic_was_queued() -> None:
    core = hb_core(10)
    ch = open_channel(core)  # queues Channel.Open after the timer started
    core.data_to_send()
    core.receive_data(sf.heartbeat(), 5.0)
    core.tick(5.0)
    assert core.data_to_send() == b''  # traffic seen since the last check
    ch.publish('', 'q', b'x')
    core.data_to_send()
    core.receive_data(sf.heartbeat(), 10.0)
    core.tick(10.0)
    assert core.data_to_send() == b''
    core.receive_data(sf.heartbeat(), 15.0)
    core.tick(15.0)
    assert bytes(core.data_to_send()) == HEARTBEAT


def test_missed_heartbeats_close_at_2h() -> None:
    core = hb_core(10)
    open_channel(core)
    core.receive_data(sf.heartbeat(), 3.0)
    for now in (5.0, 10.0, 15.0, 20.0):
        assert names(core.tick(now)) == []
    assert core.next_deadline() == 23.0
    evs = core.tick(23.0)
    assert names(evs) == ['ChannelClosed', 'ConnectionClosed']
    assert isinstance(evs[-1].error, exceptions.AMQPHeartbeatTimeout)
    assert core.is_closed and core.next_deadline() is None
    core.data_to_send()
    assert core.tick(30.0) == [] and core.data_to_send() == b''


def test_a_whole_frame_counts_as_liveness_a_few_bytes_of_one_do_not() -> None:
    core = hb_core(10)
    open_channel(core)
    message = sf.deliver(1, b'x')
    core.receive_data(message[:5], 19.0)  # part of a frame: proves nothing yet
    assert core.tick(19.0) == []
    assert core.next_deadline() == pytest.approx(20.0)  # the receive deadline, 0 + 2*H
    core.receive_data(message[5:], 19.5)  # the rest: whole frames, alive at 19.5
    assert core.tick(20.0) == []  # dead at 20 without the rest


def test_a_slowloris_frame_times_out_at_2h() -> None:
    """A peer sending one byte per second of a frame that never ends is dead after 2*H, though
    bytes keep coming (before, any byte counted and it kept the connection for ever)."""
    core = hb_core(10)
    open_channel(core)
    head = b'\x01\x00\x01\x00\x01\x00\x00'  # a method frame of 65536 bytes on channel 1
    now = 1.0
    evs: list[Any] = []
    for byte in head + b'x' * 100:
        evs = core.receive_data(bytes([byte]), now) + core.tick(now)
        if evs:
            break
        now += 1.0
    assert names(evs) == ['ChannelClosed', 'ConnectionClosed']
    assert isinstance(evs[-1].error, exceptions.AMQPHeartbeatTimeout)
    assert now == 20.0  # 2*H after the last whole frame (the handshake, at 0)


def test_bytes_of_a_large_frame_count_once_they_reach_liveness_bytes() -> None:
    """A slow link carrying a large frame stays alive: every LIVENESS_BYTES received count."""
    core = hb_core(10)
    open_channel(core)
    message = sf.deliver(1, b'x' * 100_000)
    cut = 60 + LIVENESS_BYTES
    core.receive_data(message[:cut], 15.0)  # no body frame complete, but 4 KiB arrived
    assert core.tick(25.0) == []  # alive at 15 (else dead at 20, 2*H after the handshake)
    evs = core.receive_data(message[cut:], 30.0)
    assert names(evs) == ['MessageDelivered']


def test_timer_received_rule() -> None:
    timer = HeartbeatTimer(10, 0.0)
    timer.received(1.0, LIVENESS_BYTES - 1, False)
    assert timer.last_received == 0.0 and timer.unproven == LIVENESS_BYTES - 1
    timer.received(2.0, 1, False)
    assert timer.last_received == 2.0 and timer.unproven == 0
    timer.received(3.0, 5, False)
    timer.received(4.0, 1, True)
    assert timer.last_received == 4.0 and timer.unproven == 0


@given(
    interval=st.integers(min_value=1, max_value=600),
    gaps=st.lists(st.floats(min_value=0.0, max_value=1000.0), min_size=1, max_size=30),
)
def test_timer_never_lets_silence_exceed_interval(interval: int, gaps: list[float]) -> None:
    """Ticking whenever next_deadline says: we never stay silent for H or more."""
    timer = HeartbeatTimer(interval, 0.0, 0)
    total = 0
    last_sent = 0.0
    now = 0.0
    for gap in gaps:
        # the peer keeps talking so we never time out; sometimes we queue data ourselves
        deadline = timer.next_deadline()
        now = deadline
        timer.received(now, 8, True)
        if timer.send_due(now, total):
            total += 8
            timer.bytes_seen = total
            last_sent = now
        if gap > 500:
            total += 1
            last_sent = now
        assert now - last_sent < interval


def test_timer_detection_deadline_is_exactly_2h() -> None:
    timer = HeartbeatTimer(30, 100.0)
    assert timer.receive_deadline() == 160.0
    assert not timer.is_timed_out(159.999)
    assert timer.is_timed_out(160.0)
    with pytest.raises(ValueError):
        HeartbeatTimer(0, 0.0)
