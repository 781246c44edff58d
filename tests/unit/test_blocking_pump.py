"""The blocking pump's shortcuts: direct poller, cached tick deadline, empty-output send_now,
notify only with followers. Each is checked against what the general path does."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from pika import ConnectionParameters
from pika._core.connection import ConnectionCore
from pika.adapters._blocking_io import Pump


@pytest.fixture
def pump_pair() -> Any:
    left, right = socket.socketpair()
    core = ConnectionCore(ConnectionParameters())
    core.start()
    pump = Pump(core, left)
    yield pump, right
    with pump.lock:
        pump.force_close(RuntimeError('test over'))
    right.close()


def test_send_now_sends_queued_bytes_then_nothing(pump_pair: Any) -> None:
    pump, peer = pump_pair
    with pump.lock:
        pump.send_now()
        pump.send_now()  # nothing queued: the empty-output shortcut sends nothing
    assert peer.recv(100) == b'AMQP\x00\x00\x09\x01'
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(100)
    assert pump.output_pending == 0


def test_tick_rereads_an_early_cached_deadline(pump_pair: Any, monkeypatch: Any) -> None:
    pump, _peer = pump_pair
    ticks: list[float] = []
    monkeypatch.setattr(pump.core, 'tick', lambda now: ticks.append(now) or [])
    with pump.lock:
        # A cached deadline in the past at the current count: the real one (None before the
        # tune, no heartbeat) is read again and no tick runs.
        pump._deadline_seen = pump.core.deadline_changes
        pump._tick_at = time.monotonic() - 1.0
        pump._tick(time.monotonic())
    assert ticks == []
    assert pump._tick_at is pump.core.next_deadline()


def test_tick_runs_when_the_real_deadline_passed(pump_pair: Any, monkeypatch: Any) -> None:
    pump, _peer = pump_pair
    ticks: list[float] = []
    monkeypatch.setattr(pump.core, 'tick', lambda now: ticks.append(now) or [])
    monkeypatch.setattr(pump.core, 'next_deadline', lambda: 5.0)
    with pump.lock:
        pump._tick(4.0)
        assert ticks == []
        pump._tick(6.0)
    assert ticks == [6.0]


def test_cycle_sees_peer_hang_up(pump_pair: Any) -> None:
    pump, peer = pump_pair
    peer.shutdown(socket.SHUT_RDWR)
    with pump.lock:
        done = pump.wait(lambda: False, time.monotonic() + 5.0)
    assert not done
    assert pump.finished


def test_kick_wakes_a_polling_leader_and_follower(pump_pair: Any) -> None:
    pump, _peer = pump_pair
    flag = {'set': False}
    results: list[bool] = []

    def waiter() -> None:
        with pump.lock:
            results.append(pump.wait(lambda: flag['set'], time.monotonic() + 10.0))

    threads = [threading.Thread(target=waiter) for _ in range(2)]
    for thread in threads:
        thread.start()
    for _ in range(500):  # one leads (in poll), the other follows (on cond)
        with pump.lock:
            if pump._selecting and pump._followers == 1:
                break
        time.sleep(0.01)
    with pump.lock:
        assert pump._followers == 1
        flag['set'] = True
        pump.kick()
    for thread in threads:
        thread.join(5.0)
    assert results == [True, True]
    assert pump._followers == 0
