"""A frozen broker (SIGSTOP) under a recovering connection, on a private node (issue 15).

The node's VM is stopped while a confirm-mode publisher runs with a 2 s heartbeat: its
sockets stay open and nothing comes back, so only the heartbeat can tell. The connection
must declare it dead within twice the heartbeat, keep trying, and recover once the node is
thawed, with no confirmed message lost. Each test records (tests/helpers/recovery_figures.py)
time to detect (freeze to ``on_connection_lost``), time to recover (``on_connection_lost``
to ``on_recovered``; the node stays frozen for ``FROZEN_AFTER_DETECT`` of it), confirmed
messages lost, duplicates and the longest single call.

Only the private node is frozen (never the shared broker), and it is thawed in ``finally``.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import pika
from pika import exceptions
from tests.helpers.loop_drivers import driver_factories
from tests.helpers.recovery_figures import record_figures
from tests.helpers.recovery_watch import RecoveryWatch, message_figures

if TYPE_CHECKING:
    from tests.helpers.private_broker import PrivateBroker

pytestmark = pytest.mark.private_broker

HEARTBEAT = 2
#: how long the node stays frozen once the client has seen the loss
FROZEN_AFTER_DETECT = 1.0
#: slack over 2 x heartbeat for the loop's timer and a loaded 2-core machine
DETECT_SLACK = 0.75

_monotonic = time.monotonic


def _watch() -> tuple[RecoveryWatch, threading.Event]:
    """The recovery hooks, and an event set at the loss (a thread waits for it)."""
    watch = RecoveryWatch()
    lost = threading.Event()
    watch.at_loss = lost.set
    return watch, lost


def _params(broker: PrivateBroker, watch: RecoveryWatch) -> pika.ConnectionParameters:
    # A reconnect attempt to the frozen node connects (the kernel accepts) and then hears
    # nothing: stack_timeout bounds it, so the attempts keep coming until the node thaws.
    return broker.connection_parameters(
        recovery=watch.policy(initial_delay=0.2, max_duration=60),
        heartbeat=HEARTBEAT,
        socket_timeout=2,
        stack_timeout=3,
    )


def _stored(broker: PrivateBroker, queue: str) -> list[bytes]:
    """Every body in ``queue`` (drained), then the queue is deleted."""
    with pika.BlockingConnection(broker.connection_parameters()) as reader:
        channel = reader.channel()
        bodies: list[bytes] = []
        while True:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            bodies.append(body)
        channel.queue_delete(queue)
    return bodies


def _check(
    scenario: str,
    watch: RecoveryWatch,
    frozen_at: float,
    thawed_at: float,
    confirmed: set[bytes],
    stored: list[bytes],
    **extra: Any,
) -> None:
    counts = message_figures(confirmed, stored)
    detect = watch.lost_at - frozen_at
    line = record_figures(
        scenario,
        {
            'heartbeat_s': HEARTBEAT,
            **watch.figures(frozen_at),
            'thaw_to_recovered_s': round(watch.recovered_at - thawed_at, 3),
            'confirmed': len(confirmed),
            **counts,
            **extra,
        },
    )
    assert isinstance(watch.lost_error, exceptions.AMQPHeartbeatTimeout), watch.lost_error
    assert detect <= 2 * HEARTBEAT + DETECT_SLACK, line
    assert counts['lost'] == 0, line


def test_blocking_frozen_broker_is_detected_then_recovered(private_broker: PrivateBroker) -> None:
    watch, lost = _watch()
    queue = f'frozen-blocking-{uuid.uuid4().hex[:8]}'
    connection = pika.BlockingConnection(_params(private_broker, watch))
    thawed: list[float] = []

    def thaw_after_detection() -> None:
        lost.wait(4 * HEARTBEAT + 5)
        time.sleep(FROZEN_AFTER_DETECT)
        private_broker.thaw()
        thawed.append(_monotonic())

    thawer = threading.Thread(target=thaw_after_detection, daemon=True)
    confirmed: set[bytes] = set()
    longest = 0.0
    frozen_at = 0.0
    try:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        channel.confirm_delivery()
        after = 0  # confirmed after the recovery
        n = 0
        end = _monotonic() + 60
        while after < 100 and _monotonic() < end:
            n += 1
            if n == 100:
                frozen_at = _monotonic()
                private_broker.freeze()
                thawer.start()
            body = b'm-%d' % n
            started = _monotonic()
            try:
                channel.basic_publish('', queue, body, timeout=30)
            except exceptions.ConnectionRecovering:
                continue  # refused before it was sent: the next one goes once it is back
            finally:
                longest = max(longest, _monotonic() - started)
            confirmed.add(body)
            if watch.recovered_event.is_set():
                after += 1
        assert watch.recovered_event.is_set() and after == 100
        assert connection.is_open and channel.is_open
    finally:
        private_broker.thaw()
        thawer.join(15)
        connection.close()
    _check(
        'blocking frozen broker (SIGSTOP)',
        watch,
        frozen_at,
        thawed[0],
        confirmed,
        _stored(private_broker, queue),
        longest_call_s=longest,
    )


def test_select_frozen_broker_is_detected_then_recovered(private_broker: PrivateBroker) -> None:
    driver = driver_factories()['select-select']()
    watch, lost = _watch()
    queue = f'frozen-select-{uuid.uuid4().hex[:8]}'
    sent: dict[int, bytes] = {}
    acked: set[int] = set()
    settled: set[int] = set()
    longest = [0.0]
    try:
        opened: list[Any] = []
        closed: list[Any] = []
        conn = driver.make_connection(
            _params(private_broker, watch),
            opened.append,
            lambda _c, error: closed.append(error),
            lambda _c, error: closed.append(error),
        )
        driver.run_until(lambda: bool(opened), timeout=20)
        box: list[Any] = []
        conn.channel(on_open_callback=box.append)
        driver.run_until(lambda: bool(box), timeout=15)
        channel = box[0]
        declared: list[Any] = []
        channel.queue_declare(queue, durable=True, callback=declared.append)
        driver.run_until(lambda: bool(declared), timeout=15)

        def on_confirm(method_frame: Any) -> None:
            method = method_frame.method
            tag = method.delivery_tag
            numbers = (
                [n for n in sent if n <= tag and n not in settled] if method.multiple else [tag]
            )
            settled.update(numbers)
            if isinstance(method, pika.spec.Basic.Ack):
                acked.update(numbers)

        channel.confirm_delivery(on_confirm, callback=declared.append)
        driver.run_until(lambda: len(declared) == 2, timeout=15)
        state = {'publishing': True}

        def tick() -> None:
            if not state['publishing']:
                return
            for _ in range(20):
                body = b'm%d' % (len(sent) + 1)
                started = _monotonic()
                try:
                    channel.basic_publish('', queue, body)
                except (exceptions.ConnectionRecovering, exceptions.ChannelWrongStateError):
                    break
                finally:
                    longest[0] = max(longest[0], _monotonic() - started)
                sent[len(sent) + 1] = body
            conn.call_later(0.01, tick)

        conn.call_later(0, tick)
        driver.run_until(lambda: len(sent) >= 400, timeout=20)
        frozen_at = _monotonic()
        private_broker.freeze()
        driver.run_until(lost.is_set, timeout=4 * HEARTBEAT + 5)
        thaw_at = _monotonic() + FROZEN_AFTER_DETECT
        driver.run_until(lambda: _monotonic() >= thaw_at, timeout=5)
        private_broker.thaw()
        thawed_at = _monotonic()
        driver.run_until(lambda: bool(watch.recovered) or bool(closed), timeout=60)
        assert watch.recovered == [conn], closed
        target = len(sent) + 400
        driver.run_until(lambda: len(sent) >= target, timeout=20)
        state['publishing'] = False
        driver.run_until(lambda: len(settled) >= len(sent), timeout=30)
        assert acked == set(sent), 'every publish acked under its own number'
        assert channel.is_open and conn.is_open and not closed
        conn.close()
        driver.run_until(lambda: bool(closed), timeout=15)
    finally:
        private_broker.thaw()
        driver.stop()
    _check(
        'select frozen broker (SIGSTOP)',
        watch,
        frozen_at,
        thawed_at,
        {sent[n] for n in acked},
        _stored(private_broker, queue),
        longest_call_s=longest[0],
    )
