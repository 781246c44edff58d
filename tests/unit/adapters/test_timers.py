"""TimerQueue: ordering, cancellation, exceptions and compaction, driven by a fake clock."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pika.adapters._io import timers as _timers
from pika.adapters._io.timers import TimerQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> TimerQueue:
    return TimerQueue(clock)


def test_empty_queue(queue: TimerQueue) -> None:
    assert queue.next_timeout(100.0) is None
    assert queue.run_due(1e9) == 0
    assert len(queue) == 0


def test_next_timeout_counts_down_and_clamps_at_zero(queue: TimerQueue) -> None:
    queue.call_later(5, lambda: None)
    assert queue.next_timeout(100.0) == pytest.approx(5.0)
    assert queue.next_timeout(103.0) == pytest.approx(2.0)
    assert queue.next_timeout(200.0) == 0.0


def test_runs_due_in_deadline_order_and_keeps_the_rest(queue: TimerQueue) -> None:
    order: list[str] = []
    queue.call_later(3, lambda: order.append('c'))
    queue.call_later(1, lambda: order.append('a'))
    queue.call_later(2, lambda: order.append('b'))
    queue.call_later(10, lambda: order.append('late'))
    assert queue.run_due(103.0) == 3
    assert order == ['a', 'b', 'c']
    assert len(queue) == 1
    assert queue.next_timeout(103.0) == pytest.approx(7.0)


def test_equal_deadlines_run_in_scheduling_order(queue: TimerQueue) -> None:
    order: list[int] = []
    for i in range(20):
        queue.call_later(1, functools.partial(order.append, i))
    queue.run_due(101.0)
    assert order == list(range(20))


def test_not_due_is_not_run(queue: TimerQueue) -> None:
    fired: list[int] = []
    queue.call_later(1, lambda: fired.append(1))
    assert queue.run_due(100.5) == 0
    assert fired == []


def test_cancel(queue: TimerQueue) -> None:
    fired: list[str] = []
    keep = queue.call_later(1, lambda: fired.append('keep'))
    drop = queue.call_later(0.5, lambda: fired.append('drop'))
    queue.cancel(drop)
    assert len(queue) == 1
    assert queue.next_timeout(100.0) == pytest.approx(1.0)  # cancelled top is skipped
    queue.run_due(200.0)
    assert fired == ['keep']
    queue.cancel(keep)  # already fired: no effect, no error
    queue.cancel(drop)  # twice: no effect
    assert len(queue) == 0


def test_cancel_from_inside_a_callback_of_the_same_batch(queue: TimerQueue) -> None:
    fired: list[str] = []
    second = None

    def first() -> None:
        fired.append('first')
        queue.cancel(second)  # type: ignore[arg-type]

    queue.call_later(1, first)
    second = queue.call_later(2, lambda: fired.append('second'))
    assert queue.run_due(105.0) == 1
    assert fired == ['first']


def test_timers_added_by_callbacks_wait_for_the_next_run(
    queue: TimerQueue, clock: FakeClock
) -> None:
    fired: list[int] = []

    def reschedule() -> None:
        fired.append(len(fired))
        queue.call_later(0, reschedule)

    queue.call_later(0, reschedule)
    assert queue.run_due(clock.now) == 1
    assert queue.run_due(clock.now) == 1
    assert fired == [0, 1]
    assert len(queue) == 1


def test_exception_propagates_and_rest_of_batch_survives(queue: TimerQueue) -> None:
    fired: list[str] = []

    def boom() -> None:
        raise RuntimeError('boom')

    queue.call_later(1, lambda: fired.append('a'))
    queue.call_later(2, boom)
    queue.call_later(3, lambda: fired.append('c'))
    queue.call_later(9, lambda: fired.append('later'))
    with pytest.raises(RuntimeError, match='boom'):
        queue.run_due(104.0)
    assert fired == ['a']
    assert len(queue) == 2  # 'c' put back, 'later' untouched
    assert queue.next_timeout(104.0) == 0.0
    assert queue.run_due(104.0) == 1
    assert fired == ['a', 'c']
    assert queue.next_timeout(104.0) == pytest.approx(5.0)


def test_deadline_uses_the_clock_at_scheduling_time(queue: TimerQueue, clock: FakeClock) -> None:
    clock.now = 500.0
    handle = queue.call_later(2.5, lambda: None)
    assert handle.deadline == pytest.approx(502.5)
    assert queue.next_timeout(501.0) == pytest.approx(1.5)


def test_clear(queue: TimerQueue) -> None:
    fired: list[int] = []
    handle = queue.call_later(1, lambda: fired.append(1))
    queue.clear()
    assert len(queue) == 0
    assert queue.run_due(1e9) == 0
    queue.cancel(handle)  # harmless after clear
    assert fired == []


@pytest.mark.parametrize('delay', [-1, -0.001, float('nan')])
def test_bad_delay_value(queue: TimerQueue, delay: float) -> None:
    with pytest.raises(ValueError):
        queue.call_later(delay, lambda: None)


@pytest.mark.parametrize('delay', ['1', None, True])
def test_bad_delay_type(queue: TimerQueue, delay: object) -> None:
    with pytest.raises(TypeError):
        queue.call_later(delay, lambda: None)  # type: ignore[arg-type]


def test_bad_callback_and_handle(queue: TimerQueue) -> None:
    with pytest.raises(TypeError):
        queue.call_later(1, 'not callable')  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        queue.cancel(object())  # type: ignore[arg-type]


def test_add_cancel_churn_does_not_grow_the_heap(queue: TimerQueue) -> None:
    """A loop that keeps re-arming a timer must not leak cancelled entries."""
    keeper = queue.call_later(1000, lambda: None)
    handle = queue.call_later(10, lambda: None)
    for _ in range(100_000):
        queue.cancel(handle)
        handle = queue.call_later(10, lambda: None)
    assert len(queue) == 2
    # Internal bound: cancelled entries never exceed live ones by more than the threshold.
    assert len(queue._heap) <= 2 * _timers._COMPACT_MIN_CANCELLED + 2
    queue.cancel(keeper)
    assert len(queue) == 1


def test_cancel_releases_callback(queue: TimerQueue) -> None:
    handle = queue.call_later(1, lambda: None)
    queue.cancel(handle)
    assert handle.callback is None
    assert handle.state == 'cancelled'


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=50), st.booleans()), min_size=0, max_size=60
    ),
    st.floats(min_value=0, max_value=60),
)
def test_model(entries: list[tuple[float, bool]], horizon: float) -> None:
    """Against a sorted-list model: exactly the due, uncancelled timers run, in order."""
    clock = FakeClock()
    clock.now = 0.0  # exact float arithmetic: deadline == delay
    queue = TimerQueue(clock)
    fired: list[int] = []
    handles = []
    for index, (delay, _) in enumerate(entries):
        handles.append(queue.call_later(delay, functools.partial(fired.append, index)))
    for handle, (_, cancel) in zip(handles, entries):
        if cancel:
            queue.cancel(handle)
    queue.run_due(clock.now + horizon)
    expected = sorted(
        (i for i, (delay, cancel) in enumerate(entries) if not cancel and delay <= horizon),
        key=lambda i: (entries[i][0], i),
    )
    assert fired == expected
    live = [i for i, (delay, cancel) in enumerate(entries) if not cancel and delay > horizon]
    assert len(queue) == len(live)
    nxt = queue.next_timeout(clock.now + horizon)
    if live:
        assert nxt == pytest.approx(min(entries[i][0] for i in live) - horizon)
    else:
        assert nxt is None
