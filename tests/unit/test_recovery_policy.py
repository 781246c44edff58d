"""pika.Recovery: defaults, validation, repr, and the pure back-off and host schedule."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pika
from pika import recovery
from pika._core.recovery import RecordedQueue, RecoveryRecord
from pika.recovery import Attempt, Recovery, backoff_delay, host_order


def _zero() -> float:
    return 0.0


def _almost_one() -> float:
    return 0.999999


# -- the public name ------------------------------------------------------------------------


def test_pika_exports_recovery() -> None:
    assert pika.Recovery is Recovery
    assert 'Recovery' in pika.__all__
    assert 'Recovery' in dir(pika)


# -- defaults ---------------------------------------------------------------------------------


def test_defaults_are_documented_values() -> None:
    policy = Recovery()
    assert policy.initial_delay == 0.5
    assert policy.max_delay == 30.0
    assert policy.multiplier == 2.0
    assert policy.jitter == 0.5
    assert policy.max_attempts is None
    assert policy.max_duration is None
    assert policy.host_order == 'in_order'
    assert policy.recover_topology is True
    assert policy.recover_consumers is True
    assert policy.exclude is None
    for name in recovery.CALLBACK_NAMES:
        assert getattr(policy, name) is None


def test_default_schedule_without_jitter_doubles_up_to_the_cap() -> None:
    policy = Recovery()
    delays = [policy.delay(n, _zero) for n in range(1, 10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_default_never_gives_up() -> None:
    policy = Recovery()
    assert policy.gives_up(Attempt(10**6, 10**5, 0, 30.0), elapsed=10.0**7) is None


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('kwargs', 'error', 'words'),
    [
        ({'initial_delay': -1}, ValueError, 'initial_delay must be >= 0'),
        ({'initial_delay': float('nan')}, ValueError, 'finite'),
        ({'initial_delay': '1'}, TypeError, 'initial_delay must be a number'),
        ({'initial_delay': True}, TypeError, 'initial_delay must be a number'),
        ({'max_delay': float('inf')}, ValueError, 'finite'),
        (
            {'initial_delay': 5, 'max_delay': 1},
            ValueError,
            'max_delay (1) must be >= initial_delay',
        ),
        ({'multiplier': 0.5}, ValueError, 'multiplier must be >= 1'),
        ({'jitter': -0.1}, ValueError, 'jitter must be >= 0'),
        ({'jitter': 1.5}, ValueError, 'jitter must be between 0 and 1'),
        ({'max_attempts': 0}, ValueError, 'max_attempts must be > 0'),
        ({'max_attempts': 2.5}, TypeError, 'max_attempts must be an int or None'),
        ({'max_attempts': True}, TypeError, 'max_attempts must be an int or None'),
        ({'max_duration': 0}, ValueError, 'max_duration must be > 0'),
        ({'max_duration': 'x'}, TypeError, 'max_duration must be a number'),
        ({'host_order': 'random'}, ValueError, "host_order must be one of ('in_order', 'shuffle')"),
        ({'recover_topology': 1}, TypeError, 'recover_topology must be True or False'),
        ({'recover_consumers': None}, TypeError, 'recover_consumers must be True or False'),
        ({'exclude': 'queues'}, TypeError, 'exclude must be callable or None'),
        ({'on_recovered': 42}, TypeError, 'on_recovered must be callable or None'),
        ({'on_given_up': object()}, TypeError, 'on_given_up must be callable or None'),
    ],
)
def test_bad_settings_raise_clear_errors(
    kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as info:
        Recovery(**kwargs)
    assert words in str(info.value)


def test_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        Recovery(1.0)  # type: ignore[misc]


def test_unknown_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match='backoff'):
        Recovery(backoff=3)  # type: ignore[call-arg]


def test_limits_and_zero_delays_accepted() -> None:
    policy = Recovery(initial_delay=0, max_delay=0, max_attempts=3, max_duration=2.5, jitter=1)
    assert (policy.max_attempts, policy.max_duration) == (3, 2.5)
    assert policy.delay(1, _almost_one) == 0.0


def test_settings_are_read_only() -> None:
    policy = Recovery()
    with pytest.raises(AttributeError):
        policy.max_delay = 1.0  # type: ignore[misc]


# -- replace, equality, repr --------------------------------------------------------------


def test_replace_derives_a_validated_copy() -> None:
    policy = Recovery(max_delay=10)
    changed = policy.replace(jitter=0.0, host_order='shuffle')
    assert (changed.max_delay, changed.jitter, changed.host_order) == (10.0, 0.0, 'shuffle')
    assert policy.jitter == 0.5
    with pytest.raises(ValueError, match='jitter'):
        policy.replace(jitter=3)


def test_equality_compares_every_setting() -> None:
    assert Recovery() == Recovery()
    assert hash(Recovery()) == hash(Recovery())
    assert Recovery() != Recovery(max_attempts=5)
    assert Recovery() != Recovery(on_recovered=print)
    assert Recovery().__eq__(object()) is NotImplemented


def test_repr_names_hooks_but_never_shows_what_they_hold() -> None:
    secret = 's3cr3t-password'

    def on_recovered(connection: Any, parameters: Any) -> None:
        raise AssertionError(secret)

    class Filter:
        def __call__(self, entity: Any) -> bool:
            return False

        def __repr__(self) -> str:
            return secret

    text = repr(Recovery(on_recovered=on_recovered, exclude=Filter(), max_attempts=4))
    assert secret not in text
    assert "hooks=['on_recovered', 'exclude']" in text
    assert 'max_attempts=4' in text
    assert text.startswith('<Recovery delay=0.5..30s x2 jitter=0.5')


def test_new_record_follows_the_policy() -> None:
    def exclude(entity: Any) -> bool:
        return isinstance(entity, RecordedQueue)

    record = Recovery(recover_topology=False, recover_consumers=False, exclude=exclude).new_record()
    assert isinstance(record, RecoveryRecord)
    assert (record.recover_topology, record.recover_consumers) == (False, False)
    assert record.exclude is exclude


# -- backoff_delay ------------------------------------------------------------------------------


def test_backoff_jitter_only_shortens() -> None:
    kwargs: dict[str, Any] = {'initial_delay': 1.0, 'max_delay': 8.0, 'multiplier': 2.0}
    assert backoff_delay(3, jitter=0.5, rand=_zero, **kwargs) == 4.0
    assert backoff_delay(3, jitter=0.5, rand=lambda: 0.5, **kwargs) == 3.0
    assert backoff_delay(3, jitter=0.25, rand=_almost_one, **kwargs) == pytest.approx(3.0, 1e-5)
    assert backoff_delay(9, jitter=0.0, rand=_almost_one, **kwargs) == 8.0


def test_backoff_with_multiplier_one_is_constant() -> None:
    delays = {
        backoff_delay(n, initial_delay=2, max_delay=9, multiplier=1, jitter=0, rand=_zero)
        for n in range(1, 50)
    }
    assert delays == {2.0}


def test_backoff_huge_round_numbers_do_not_overflow() -> None:
    delay = backoff_delay(
        10**9, initial_delay=0.001, max_delay=60, multiplier=10, jitter=0, rand=_zero
    )
    assert delay == 60.0


def test_backoff_refuses_round_zero() -> None:
    with pytest.raises(ValueError, match='round_number must be >= 1'):
        Recovery().delay(0, _zero)


@given(
    round_number=st.integers(1, 10_000),
    initial=st.floats(0, 100),
    extra=st.floats(0, 1000),
    multiplier=st.floats(1, 50),
    jitter=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_backoff_stays_within_bounds_and_grows(
    round_number: int, initial: float, extra: float, multiplier: float, jitter: float, seed: int
) -> None:
    policy = Recovery(
        initial_delay=initial, max_delay=initial + extra, multiplier=multiplier, jitter=jitter
    )
    delay = policy.delay(round_number, random.Random(seed).random)
    assert 0.0 <= delay <= policy.max_delay
    undisturbed = [policy.delay(n, _zero) for n in (round_number, round_number + 1)]
    assert undisturbed[0] <= undisturbed[1] <= policy.max_delay
    assert delay >= undisturbed[0] * (1 - jitter) - 1e-9


def test_same_seed_same_schedule() -> None:
    policy = Recovery(host_order='shuffle')
    first = list(itertools.islice(policy.attempts(4, None, random.Random(7)), 20))
    second = list(itertools.islice(policy.attempts(4, None, random.Random(7)), 20))
    assert first == second


# -- hosts and attempts ---------------------------------------------------------------------


def test_host_order_in_order_puts_the_lost_host_last_in_round_one_only() -> None:
    rng = random.Random(0)
    assert host_order(3, 1, 0, 'in_order', rng) == [1, 2, 0]
    assert host_order(3, 1, 1, 'in_order', rng) == [0, 2, 1]
    assert host_order(3, 2, 0, 'in_order', rng) == [0, 1, 2]
    assert host_order(3, 1, None, 'in_order', rng) == [0, 1, 2]
    assert host_order(1, 1, 0, 'in_order', rng) == [0]


def test_host_order_shuffle_is_a_permutation_with_the_lost_host_last() -> None:
    rng = random.Random(3)
    orders = [host_order(5, 1, 2, 'shuffle', rng) for _ in range(50)]
    assert all(sorted(order) == [0, 1, 2, 3, 4] and order[-1] == 2 for order in orders)
    assert len({tuple(order) for order in orders}) > 1
    later = [tuple(host_order(5, 2, 2, 'shuffle', rng)) for _ in range(50)]
    assert any(order[-1] != 2 for order in later)


def test_attempts_walk_rounds_waiting_only_before_each_round() -> None:
    policy = Recovery(jitter=0)
    attempts = list(itertools.islice(policy.attempts(3, 0, random.Random(1)), 7))
    assert attempts == [
        Attempt(1, 1, 1, 0.5),
        Attempt(2, 1, 2, 0.0),
        Attempt(3, 1, 0, 0.0),
        Attempt(4, 2, 0, 1.0),
        Attempt(5, 2, 1, 0.0),
        Attempt(6, 2, 2, 0.0),
        Attempt(7, 3, 0, 2.0),
    ]


def test_attempts_single_host() -> None:
    policy = Recovery(jitter=0, initial_delay=1, max_delay=3)
    attempts = list(itertools.islice(policy.attempts(1, 0, random.Random(1)), 4))
    assert [(a.number, a.round, a.host_index, a.delay) for a in attempts] == [
        (1, 1, 0, 1.0),
        (2, 2, 0, 2.0),
        (3, 3, 0, 3.0),
        (4, 4, 0, 3.0),
    ]


def test_attempts_need_a_host() -> None:
    with pytest.raises(ValueError, match='host_count must be >= 1'):
        next(Recovery().attempts(0, None, random.Random(1)))


def test_gives_up_after_max_attempts() -> None:
    policy = Recovery(max_attempts=3)
    assert policy.gives_up(Attempt(3, 1, 2, 0.0), elapsed=100.0) is None
    reason = policy.gives_up(Attempt(4, 2, 0, 1.0), elapsed=1.0)
    assert reason == 'gave up after 3 connection attempts'


def test_gives_up_before_waiting_past_max_duration() -> None:
    policy = Recovery(max_duration=10)
    assert policy.gives_up(Attempt(5, 2, 0, 4.0), elapsed=6.0) is None
    reason = policy.gives_up(Attempt(5, 2, 0, 4.0), elapsed=6.5)
    assert reason == 'gave up: no connection within 10 s'


@pytest.mark.parametrize('initial', [0.0, 5e-324, 1e-300])
def test_backoff_with_zero_or_tiny_initial_delay(initial: float) -> None:
    for round_number in (1, 2, 182, 5000):
        delay = backoff_delay(
            round_number, initial_delay=initial, max_delay=1e3, multiplier=50, jitter=0, rand=_zero
        )
        assert 0.0 <= delay <= 1e3
    assert backoff_delay(1, initial_delay=0, max_delay=0, multiplier=2, jitter=0, rand=_zero) == 0
