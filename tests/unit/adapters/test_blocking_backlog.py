"""Bounded memory while consuming: the backlog accounting of the blocking pump (no broker).

:class:`Backlog` is pure arithmetic; the pump tests use a socket pair as the broker's end, so
they can check what is (and is not) read from the kernel while the backlog is paused.
"""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace
from typing import Any

import pytest

from pika import ConnectionParameters, spec
from pika._core import events as ev
from pika._core.connection import ConnectionCore
from pika.adapters._blocking import pump as pump_module
from pika.adapters._blocking.pump import Pump
from pika.adapters._blocking.slots import ChannelSlot
from pika.adapters._io.backlog import DELIVERY_OVERHEAD, Backlog, delivery_cost

# -- Backlog ----------------------------------------------------------------------------------


def test_pauses_at_the_high_mark_and_resumes_at_the_low_mark() -> None:
    backlog = Backlog(high=1000, low=400)
    backlog.add(999)
    assert not backlog.paused
    backlog.add(1)
    assert backlog.paused
    assert backlog.remove(500) is False  # 500 left: above the low mark, still paused
    assert backlog.paused
    assert backlog.remove(100) is True  # 400: resume, and say so once
    assert not backlog.paused
    assert backlog.remove(100) is False
    assert backlog.size == 300


def test_hysteresis_does_not_pause_again_below_the_high_mark() -> None:
    backlog = Backlog(high=1000, low=400)
    backlog.add(1000)
    backlog.remove(600)
    backlog.add(599)  # 999: between the marks after a resume, reading goes on
    assert not backlog.paused


def test_zero_high_mark_never_pauses() -> None:
    backlog = Backlog(high=0, low=0)
    backlog.add(1 << 40)
    assert not backlog.paused
    assert backlog.remove(1 << 40) is False


def test_low_above_high_acts_as_high_and_size_never_goes_negative() -> None:
    backlog = Backlog(high=100, low=500)
    assert backlog.low == 100
    backlog.add(100)
    assert backlog.paused
    assert backlog.remove(1000) is True
    assert backlog.size == 0


def test_chunk_is_a_quarter_of_the_gap_and_at_least_one() -> None:
    assert Backlog(high=64 << 20, low=32 << 20).chunk == 8 << 20
    assert Backlog(high=10, low=10).chunk == 1


def test_negative_marks_are_refused() -> None:
    with pytest.raises(ValueError):
        Backlog(high=-1, low=0)


def test_delivery_cost_counts_the_objects_too() -> None:
    assert delivery_cost(b'') == DELIVERY_OVERHEAD
    assert delivery_cost(b'x' * 1000) == 1000 + DELIVERY_OVERHEAD


def test_parameters_defaults_and_url_options() -> None:
    from pika import URLParameters

    params = ConnectionParameters()
    assert (params.delivery_backlog_high, params.delivery_backlog_low) == (64 << 20, 32 << 20)
    url = URLParameters('amqp://h/?delivery_backlog_high=2048&delivery_backlog_low=1024')
    assert (url.delivery_backlog_high, url.delivery_backlog_low) == (2048, 1024)


# -- the pump's accounting ------------------------------------------------------------------------


@pytest.fixture
def pump_pair() -> Any:
    """A pump whose backlog pauses at 10 deliveries of 100 bytes, resumes at 4, with one slot."""
    left, right = socket.socketpair()
    params = ConnectionParameters(
        delivery_backlog_high=10 * delivery_cost(b'x' * 100),
        delivery_backlog_low=4 * delivery_cost(b'x' * 100),
    )
    core = ConnectionCore(params)
    core.start()
    pump = Pump(core, left)
    slot = ChannelSlot(SimpleNamespace(channel_number=1))  # type: ignore[arg-type]
    pump.slots[1] = slot
    with pump.lock:
        pump.send_now()
    right.recv(100)  # the protocol header
    yield pump, slot, right
    with pump.lock:
        pump.force_close(RuntimeError('test over'))
    right.close()


def _deliveries(count: int, tag: str = 'ctag') -> list[ev.Event]:
    method = spec.Basic.Deliver(consumer_tag=tag, delivery_tag=1, exchange='', routing_key='q')
    props = spec.BasicProperties()
    return [ev.MessageDelivered(1, method, props, b'x' * 100) for _ in range(count)]


def test_routing_counts_deliveries_and_pauses(pump_pair: Any) -> None:
    pump, slot, _peer = pump_pair
    cost = delivery_cost(b'x' * 100)
    with pump.lock:
        pump.router.route(_deliveries(9))
        assert (pump.backlog.size, slot.backlog) == (9 * cost, 9 * cost)
        assert not pump.backlog.paused
        pump.router.route(_deliveries(1))
        assert pump.backlog.paused


def test_release_resumes_at_the_low_mark_and_wakes_the_reader(pump_pair: Any) -> None:
    pump, slot, _peer = pump_pair
    cost = delivery_cost(b'x' * 100)
    kicks: list[int] = []
    pump.kick = lambda: kicks.append(1)
    with pump.lock:
        pump.router.route(_deliveries(10))
    pump.router.release(slot, 5 * cost)
    assert pump.backlog.paused and not kicks
    pump.router.release(slot, cost)
    assert not pump.backlog.paused and kicks == [1]
    assert slot.backlog == pump.backlog.size == 4 * cost


def test_closed_channel_drops_its_backlog_and_late_reports_are_ignored(pump_pair: Any) -> None:
    pump, slot, _peer = pump_pair
    with pump.lock:
        pump.router.route(_deliveries(10))
        popped = slot.pending.popleft()  # a dispatcher took one and has not reported it yet
        pump.router.route([ev.ChannelClosed(1, RuntimeError('closed'))])
    assert (pump.backlog.size, pump.backlog.paused) == (0, False)
    assert not slot.pending
    pump.router.release(slot, delivery_cost(popped.body))  # the late report: nothing to subtract
    assert pump.backlog.size == 0


def test_generator_deliveries_count_too(pump_pair: Any) -> None:
    pump, slot, _peer = pump_pair
    slot.gen_tag = 'gen'
    with pump.lock:
        pump.router.route(_deliveries(10, tag='gen'))
    assert len(slot.gen_queue) == 10 and pump.backlog.paused


def _partial_frame(nbytes: int) -> bytes:
    """The first ``nbytes`` of a 100,000-byte method frame: the core keeps waiting for more."""
    return (b'\x01\x00\x00' + (100_000).to_bytes(4, 'big') + bytes(nbytes))[:nbytes]


def _unread(sock: socket.socket) -> int:
    """Bytes still waiting in the kernel for ``sock`` (peeked, not consumed)."""
    sock.setblocking(False)
    try:
        return len(sock.recv(1 << 20, socket.MSG_PEEK))
    except BlockingIOError:
        return 0


def test_paused_dispatch_wait_leaves_the_socket_unread(pump_pair: Any) -> None:
    pump, _slot, peer = pump_pair
    with pump.lock:
        pump.router.route(_deliveries(10))
    peer.sendall(_partial_frame(800))
    pump._paused_read_at = time.monotonic() + 60  # no small read due during this test
    with pump.lock:
        done = pump.wait(lambda: False, time.monotonic() + 0.1, deliveries=True)
    assert not done and not pump.finished
    assert _unread(pump.sock) == 800


def test_other_waits_read_while_paused(pump_pair: Any) -> None:
    pump, _slot, peer = pump_pair
    with pump.lock:
        pump.router.route(_deliveries(10))
    peer.sendall(_partial_frame(800))
    pump._paused_read_at = time.monotonic() + 60
    with pump.lock:  # an RPC-like wait: its reply may be behind the deliveries
        pump.wait(lambda: False, time.monotonic() + 0.1)
    assert _unread(pump.sock) == 0 and not pump.finished


def test_paused_pump_reads_a_little_now_and_then(pump_pair: Any, monkeypatch: Any) -> None:
    """Liveness for the heartbeat check, and progress for the broker's writes."""
    pump, _slot, peer = pump_pair
    monkeypatch.setattr(pump_module, 'PAUSED_READ_SIZE', 1000)
    monkeypatch.setattr(pump_module, 'PAUSED_READ_INTERVAL', 0.05)
    with pump.lock:
        pump.router.route(_deliveries(10))
    peer.sendall(_partial_frame(8000))
    start = time.monotonic()
    with pump.lock:
        pump.wait(lambda: False, start + 0.12, deliveries=True)
    elapsed = time.monotonic() - start
    taken = 8000 - _unread(pump.sock)
    assert not pump.finished
    assert taken % 1000 == 0  # whole small reads only ...
    assert 2000 <= taken <= 1000 * (int(elapsed / 0.05) + 1)  # ... one per interval
