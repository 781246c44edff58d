"""The blocking adapter's reconnect schedule (no socket, no clock: times are passed in)."""

from __future__ import annotations

from typing import Any

import pika
from pika import exceptions
from pika.adapters._blocking.recovery import BlockingReconnect


def hosts() -> list[pika.ConnectionParameters]:
    return [pika.ConnectionParameters(host=f'node{n}', port=5672) for n in range(3)]


def test_attempts_walk_every_host_with_the_lost_one_last_and_hooks_in_order() -> None:
    calls: list[tuple[Any, ...]] = []
    policy = pika.Recovery(
        initial_delay=0.5,
        jitter=0,
        max_attempts=4,
        on_connection_lost=lambda conn, error: calls.append(('lost', conn, error)),
        on_recovering=lambda conn, number, params: calls.append(
            ('recovering', number, params.host)
        ),
        on_recovered=lambda conn, params: calls.append(('recovered', params.host)),
        on_queue_renamed=lambda conn, old, new: calls.append(('renamed', old, new)),
    )
    nodes = hosts()
    reconnect = BlockingReconnect('conn', policy, nodes, nodes[0])
    error = exceptions.StreamLostError('reset')
    reconnect.interrupted(error, now=100.0)
    assert reconnect.active and reconnect.losses == 1
    planned = []
    for _ in range(3):
        assert reconnect.next_attempt(now=100.0) is None
        planned.append((reconnect.starting(now=reconnect.due).host, reconnect.due))
        reconnect.connect_failed(OSError('refused'))
    # The first round waits 0.5 s once, tries the others first and the lost node last.
    assert planned == [('node1', 100.5), ('node2', 100.0), ('node0', 100.0)]
    assert reconnect.next_attempt(now=101.0) is None  # the 4th attempt: a new round
    params = reconnect.starting(now=reconnect.due)
    reconnect.recovered(params, [('amq.gen-a', 'amq.gen-b')])
    assert not reconnect.active and reconnect.current is params
    reconnect.run_hooks()
    assert calls[0] == ('lost', 'conn', error)
    assert [c[1] for c in calls if c[0] == 'recovering'] == [1, 2, 3, 4]
    assert calls[-2:] == [('renamed', 'amq.gen-a', 'amq.gen-b'), ('recovered', params.host)]


def test_a_limit_gives_up_with_the_last_error_as_cause_and_a_raising_hook_is_logged() -> None:
    given_up: list[BaseException] = []

    def broken(conn: Any, error: BaseException) -> None:
        raise RuntimeError('hook bug')

    policy = pika.Recovery(
        max_attempts=1,
        on_connection_lost=broken,
        on_given_up=lambda conn, cause: given_up.append(cause),
    )
    nodes = hosts()[:1]
    reconnect = BlockingReconnect(None, policy, nodes, nodes[0])
    reconnect.interrupted(exceptions.StreamLostError('gone'), now=0.0)
    assert reconnect.next_attempt(now=0.0) is None
    reconnect.starting(now=1.0)
    refused = ConnectionRefusedError('refused')
    reconnect.connect_failed(refused)
    reason = reconnect.next_attempt(now=2.0)
    assert reason is not None
    error = reconnect.give_up_error(reason)
    assert isinstance(error, exceptions.AMQPConnectionError) and error.__cause__ is refused
    reconnect.run_hooks()  # the raising hook is logged, the next still runs
    assert given_up == [error]
    assert not reconnect.active


def test_a_failed_handshake_during_recovery_moves_to_the_next_attempt() -> None:
    nodes = hosts()
    reconnect = BlockingReconnect(None, pika.Recovery(jitter=0), nodes, nodes[1])
    reconnect.interrupted(exceptions.StreamLostError('gone'), now=0.0)
    reconnect.next_attempt(now=0.0)
    reconnect.starting(now=1.0)
    assert reconnect.step_deadline is not None
    reconnect.interrupted(exceptions.ProbableAuthenticationError('refused'), now=2.0)
    assert reconnect.losses == 1 and reconnect.attempt is None and reconnect.step_deadline is None


def test_erased_credentials_give_up_instead_of_failing_every_attempt() -> None:
    credentials = pika.PlainCredentials('guest', 'guest')
    nodes = [pika.ConnectionParameters(host='node0', credentials=credentials)]
    reconnect = BlockingReconnect(None, pika.Recovery(), nodes, nodes[0])
    credentials.erase_on_connect = True  # set after the parameters saw the credentials
    reconnect.interrupted(exceptions.StreamLostError('gone'), now=0.0)
    reason = reconnect.next_attempt(now=0.0)
    assert reason is not None and 'erase_on_connect' in reason
