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
from pika.adapters._blocking.pump import Pump


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
            if pump._selecting and pump.followers == 1:
                break
        time.sleep(0.01)
    with pump.lock:
        assert pump.followers == 1
        flag['set'] = True
        pump.kick()
    for thread in threads:
        thread.join(5.0)
    assert results == [True, True]
    assert pump.followers == 0


# -- the RPC shortcuts: route's inline reply, the cycle's tick check, wait's done() checks ------


def _slot_with_waiters(pump: Pump, number: int, count: int) -> Any:
    from pika.adapters._blocking.slots import ChannelSlot, Waiter

    class _FakeChannelCore:
        channel_number = number

    slot = ChannelSlot(_FakeChannelCore())  # type: ignore[arg-type]
    waiters = [Waiter() for _ in range(count)]
    slot.rpc_waiters.extend(waiters)
    pump.slots[number] = slot
    return waiters


def test_route_gives_a_channel_reply_to_its_oldest_waiter(pump_pair: Any) -> None:
    from pika import spec
    from pika._core import events as ev

    pump, _peer = pump_pair
    first, second = _slot_with_waiters(pump, 1, 2)
    reply = ev.RpcReply(1, spec.Queue.DeclareOk('q', 0, 0))
    with pump.lock:
        pump.router.route([reply])
    assert (first.done, first.value, first.error) == (True, reply, None)
    assert not second.done
    assert list(pump.slots[1].rpc_waiters) == [second]


def test_route_drops_a_reply_nobody_waits_for(pump_pair: Any, caplog: Any) -> None:
    from pika import spec
    from pika._core import events as ev

    pump, _peer = pump_pair
    _slot_with_waiters(pump, 1, 0)
    caplog.set_level('DEBUG', logger='pika.adapters._blocking.routing')
    with pump.lock:
        pump.router.route([ev.RpcReply(1, spec.Queue.DeclareOk('q', 0, 0))])  # a slot, no waiter
        pump.router.route([ev.RpcReply(7, spec.Queue.DeclareOk('q', 0, 0))])  # no such channel
    assert caplog.text.count('RPC reply with no waiter') == 2


def test_route_still_sends_channel_zero_replies_to_the_connection(pump_pair: Any) -> None:
    from pika import spec
    from pika._core import events as ev
    from pika.adapters._blocking.slots import Waiter

    pump, _peer = pump_pair
    waiter = Waiter()
    pump.conn_rpc_waiters.append(waiter)
    reply = ev.RpcReply(0, spec.Connection.UpdateSecretOk())
    with pump.lock:
        pump.router.route([reply])
    assert waiter.done and waiter.value is reply


def test_cycle_runs_the_tick_only_when_due_or_stale(pump_pair: Any, monkeypatch: Any) -> None:
    pump, _peer = pump_pair
    calls: list[float] = []
    changes_during_poll = {'on': False}

    def poll(_timeout: Any) -> list[Any]:
        if changes_during_poll['on']:
            pump.core.deadline_changes += 1  # as if the read had re-armed a timer
        return []

    monkeypatch.setattr(pump, '_tick', lambda now: calls.append(now))
    monkeypatch.setattr(pump._poller, 'poll', poll)
    with pump.lock:
        pump._deadline_seen = pump.core.deadline_changes
        pump._tick_at = time.monotonic() + 60.0  # cached, current, not due
        pump._cycle(time.monotonic(), time.monotonic())
        assert calls == []
        pump._tick_at = time.monotonic() - 1.0  # due
        pump._cycle(time.monotonic(), time.monotonic())
        assert len(calls) == 1
        pump._tick_at = time.monotonic() + 60.0
        changes_during_poll['on'] = True  # stale by the end of the cycle: _tick re-reads it
        pump._cycle(time.monotonic(), time.monotonic())
        assert len(calls) == 2


def test_cycle_polls_no_longer_than_the_next_tick(pump_pair: Any, monkeypatch: Any) -> None:
    pump, _peer = pump_pair
    timeouts: list[Any] = []
    poll = pump._poller.poll
    monkeypatch.setattr(pump._poller, 'poll', lambda timeout: timeouts.append(timeout) or poll(0))
    with pump.lock:
        now = time.monotonic()
        pump._deadline_seen = pump.core.deadline_changes
        pump._tick_at = now + 0.25
        pump._cycle(None, now)  # no deadline: the tick bounds the poll
        pump._cycle(now + 0.1, now)  # the earlier deadline wins
        pump._tick_at = None
        pump._cycle(None, now)  # neither: no limit
        pump._cycle(now - 1.0, now)  # a passed deadline polls without waiting
    assert timeouts == [pytest.approx(0.25), pytest.approx(0.1), None, 0.0]


def test_wait_checks_done_once_per_cycle(pump_pair: Any, monkeypatch: Any) -> None:
    pump, _peer = pump_pair
    monkeypatch.setattr(pump._poller, 'poll', lambda _timeout: [])  # every cycle is short
    checks: list[int] = []

    def done() -> bool:
        checks.append(1)
        return len(checks) >= 3

    with pump.lock:
        assert pump.wait(done, time.monotonic() + 5.0)
    assert len(checks) == 3  # before the first cycle, then after each of two cycles
    checks.clear()
    with pump.lock:
        assert not pump.wait(lambda: bool(checks.append(1)), time.monotonic())
    assert len(checks) == 2  # a passed deadline still runs one cycle, checked after it


def test_send_now_keeps_a_backlog_ahead_of_new_output(pump_pair: Any) -> None:
    """With bytes waiting in unsent, new core output goes behind them, not straight out."""
    pump, peer = pump_pair
    with pump.lock:
        pump.send_now()  # the protocol header
        pump.unsent.extend([b'first-'])
        pump.core.output.buffer += b'second'
        pump.send_now()
        assert pump.output_pending == 0
        assert not pump.core.output.buffer
    expected = b'AMQP\x00\x00\x09\x01first-second'
    received = b''
    peer.settimeout(5)
    while len(received) < len(expected):
        received += peer.recv(100)
    assert received == expected
