"""The callback adapters' reconnect loop (pika._reconnect.Reconnector), on a fake clock.

No socket: ``connect`` records which host an attempt asked for, and the test reports the
outcome as the transport and the core would (a failed connect, a handshake failure as a
second ``interrupted``, or ``recovered``).
"""

from __future__ import annotations

import logging
import random
from typing import Any, Callable

import pytest

import pika
from pika import exceptions
from pika._reconnect import Reconnector
from tests.helpers.fake_loop import FakeLoop


class Harness:
    def __init__(self, policy: pika.Recovery, hosts: int = 3) -> None:
        self.loop = FakeLoop()
        self.hosts = [pika.ConnectionParameters(f'node{i}', 5672 + i) for i in range(hosts)]
        self.connects: list[tuple[str, Callable[[BaseException], None]]] = []
        self.given_up: list[BaseException] = []
        self.calls: list[tuple[Any, ...]] = []
        self.connection = object()
        self.rec = Reconnector(
            self.connection,
            policy,
            self.hosts,
            clock=lambda: self.loop.now,
            call_later=self.loop.call_later,
            remove_timeout=self.loop.remove_timeout,
            connect=lambda params, on_failed: self.connects.append((params.host, on_failed)),
            give_up=self.given_up.append,
            rng=random.Random(7),
        )

    def hooks(self, **extra: Any) -> dict[str, Any]:
        def record(name: str) -> Callable[..., None]:
            return lambda *args: self.calls.append((name, *args))

        names = ('on_connection_lost', 'on_recovering', 'on_queue_renamed', 'on_recovered')
        return {**{name: record(name) for name in names}, **extra}


def policy(**settings: Any) -> pika.Recovery:
    return pika.Recovery(initial_delay=0.5, jitter=0.0, **settings)


def test_walks_hosts_lost_node_last_then_recovers() -> None:
    h = Harness(policy())
    h.rec.policy = h.rec.policy.replace(**h.hooks())
    lost_error = exceptions.StreamLostError('gone')
    h.rec.interrupted(lost_error, h.hosts[0])
    assert h.rec.active and h.calls == [('on_connection_lost', h.connection, lost_error)]
    assert h.loop.run_next() == pytest.approx(100.5)  # the first back-off delay
    assert [host for host, _ in h.connects] == ['node1']  # the lost node goes last
    h.connects[-1][1](exceptions.AMQPConnectionError('refused'))
    h.loop.run_next()  # the next host of the round: no delay
    assert h.loop.now == pytest.approx(100.5)
    assert [host for host, _ in h.connects] == ['node1', 'node2']
    h.rec.recovered(h.hosts[2], [('amq.gen-a', 'amq.gen-b')])
    assert not h.rec.active and h.rec.recoveries == 1
    assert h.rec.last_duration == pytest.approx(0.5)
    names = [call[0] for call in h.calls]
    assert names == [
        'on_connection_lost',
        'on_recovering',
        'on_recovering',
        'on_queue_renamed',
        'on_recovered',
    ]
    assert h.calls[1][1:] == (h.connection, 1, h.hosts[1])
    assert h.calls[2][1:] == (h.connection, 2, h.hosts[2])
    assert h.calls[3][1:] == (h.connection, 'amq.gen-a', 'amq.gen-b')
    assert h.calls[4][1:] == (h.connection, h.hosts[2])
    assert h.loop.armed == 0


def test_second_interruption_during_an_attempt_is_that_attempt_failing() -> None:
    h = Harness(policy(), hosts=1)
    h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[0])
    h.loop.run_next()
    assert h.rec.connecting
    h.rec.interrupted(exceptions.ProbableAuthenticationError('handshake'), None)
    assert h.rec.active and not h.rec.connecting
    assert h.loop.run_next() == pytest.approx(101.5)  # round 2: 1 s after round 1 started
    assert len(h.connects) == 2


def test_gives_up_after_max_attempts_with_the_last_error_as_cause() -> None:
    given_up: list[tuple[Any, BaseException]] = []
    h = Harness(policy(max_attempts=2, on_given_up=lambda c, e: given_up.append((c, e))))
    h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[1])
    for _ in range(2):
        h.loop.run_next()
        h.connects[-1][1](exceptions.AMQPConnectionError('refused'))
    assert not h.rec.active
    assert len(h.given_up) == 1 and given_up == [(h.connection, h.given_up[0])]
    cause = h.given_up[0]
    assert isinstance(cause, exceptions.AMQPConnectionError)
    assert 'gave up after 2 connection attempts' in str(cause)
    assert isinstance(cause.__cause__, exceptions.AMQPConnectionError)
    assert h.loop.armed == 0


def test_gives_up_on_max_duration_before_waiting() -> None:
    h = Harness(policy(max_duration=1.0), hosts=1)
    h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[0])
    h.loop.run_next()  # round 1 at +0.5
    h.connects[-1][1](exceptions.AMQPConnectionError('refused'))  # round 2 would start at +1.5
    assert len(h.given_up) == 1 and 'no connection within 1 s' in str(h.given_up[0])


def test_raising_hook_is_logged_and_recovery_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def boom(*_args: Any) -> None:
        raise RuntimeError('hook bug')

    h = Harness(policy(on_connection_lost=boom, on_recovering=boom))
    with caplog.at_level(logging.INFO, logger='pika.recovery'):
        h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[0])
        h.loop.run_next()
    assert h.rec.connecting and len(h.connects) == 1
    assert sum('raised; recovery goes on' in r.message for r in caplog.records) == 2


def test_stop_cancels_the_pending_attempt() -> None:
    h = Harness(policy())
    h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[0])
    assert h.loop.armed == 1
    h.rec.stop()
    assert not h.rec.active and h.loop.armed == 0
    h.rec.attempt_failed(exceptions.AMQPConnectionError('late'))  # ignored once stopped
    assert h.loop.armed == 0 and h.given_up == []


def test_erased_credentials_give_up_instead_of_failing_every_login() -> None:
    h = Harness(policy(), hosts=1)
    h.hosts[0].credentials.erase_on_connect = True  # set after the parameters checked it
    h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[0])
    h.loop.run_next()
    assert h.connects == [] and len(h.given_up) == 1
    assert 'erase_on_connect' in str(h.given_up[0])


def test_log_lines_name_hosts_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    secret = 's3cr3t-pw'
    h = Harness(policy())
    for params in h.hosts:
        params.credentials = pika.PlainCredentials('user', secret)
    with caplog.at_level(logging.DEBUG, logger='pika.recovery'):
        h.rec.interrupted(exceptions.StreamLostError('gone'), h.hosts[0])
        h.loop.run_next()
        h.rec.recovered(h.hosts[1], [])
    text = '\n'.join(r.getMessage() for r in caplog.records)
    assert 'node1:5673' in text and 'recovered' in text
    assert secret not in text and 'user' not in text
