"""The hostile-broker catalogue, played against every adapter over real sockets.

Each case of :data:`tests.helpers.hostile_catalogue.CASES` runs a scripted fake broker
(:mod:`tests.helpers.hostile_broker`, a thread on a real listening socket) against
``BlockingConnection``, ``SelectConnection`` and ``AsyncioConnection``, and checks that:

- the application sees exactly the stated ``pika.exceptions`` class (and reply code);
- it sees it within the case's time bound;
- the tracemalloc peak stays under the case's memory bound (4 MiB unless it states another:
  2 MiB where the broker announces sizes we must not allocate for, 16 MiB for a flood);
- every thread the client started has ended and every file descriptor it opened is closed.

The fake broker does not need RabbitMQ; the file lives under tests/broker (marked ``broker``)
because it uses real sockets, which the unit tests do not. ``tools/hostile_catalogue.py``
prints the same runs as the table in docs/limits.md.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from pika import exceptions
from tests.helpers.hostile_catalogue import (
    ADAPTERS,
    CASES,
    Case,
    truncation_case,
    truncation_cases,
)
from tests.helpers.hostile_catalogue import run_case as play

#: How long threads and file descriptors may take to go once the outcome is reported.
SETTLE = 2.0


def _fds() -> int:
    return len(os.listdir('/proc/self/fd'))


def _settled(threads: set[threading.Thread], fds: int) -> tuple[list[str], int]:
    """Wait (up to SETTLE) for the thread set and fd count to be back to the baseline; return
    the extra threads' names and the extra fd count."""
    deadline = time.monotonic() + SETTLE
    while True:
        extra = [t.name for t in threading.enumerate() if t not in threads and t.is_alive()]
        more = _fds() - fds
        if (not extra and more <= 0) or time.monotonic() > deadline:
            return extra, more
        time.sleep(0.02)


def check(case: Case, adapter: str) -> None:
    """Play ``case`` on ``adapter`` and assert everything the module docstring lists."""
    threads = set(threading.enumerate())
    fds = _fds()
    result = play(case, adapter)
    extra_threads, extra_fds = _settled(threads, fds)
    expected = case.expected(adapter)
    assert not result.broker_failures, f'the script itself failed: {result.broker_failures}'
    assert type(result.outcome) is expected, (
        f'{case.id} on {adapter}: expected {expected.__name__}, got {result.outcome!r}'
    )
    assert isinstance(result.outcome, exceptions.AMQPError)
    if case.reply_code is not None:
        assert getattr(result.outcome, 'reply_code', None) == case.reply_code, result.outcome
    assert result.elapsed <= case.bound, f'{result.elapsed:.2f} s > {case.bound} s'
    assert result.peak is not None and result.peak <= case.memory, (
        f'tracemalloc peak {result.peak} > {case.memory}'
    )
    if case.deliveries is not None:
        assert len(result.deliveries) == case.deliveries
    assert not extra_threads, f'threads left running: {extra_threads}'
    assert extra_fds <= 0, f'{extra_fds} file descriptor(s) left open'


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    if case.xfail is None:
        return []
    return [pytest.mark.xfail(strict=True, reason=case.xfail)]


@pytest.mark.parametrize('adapter', ADAPTERS)
@pytest.mark.parametrize(
    'case', [pytest.param(case, id=case.id, marks=_marks(case)) for case in CASES]
)
def test_hostile_behaviour_ends_cleanly(case: Case, adapter: str) -> None:
    check(case, adapter)


@pytest.mark.parametrize('adapter', ADAPTERS)
@pytest.mark.parametrize(
    ('what', 'offset'), truncation_cases(), ids=[f'{w}-{k}' for w, k in truncation_cases()]
)
def test_frame_cut_at_every_offset_then_eof(what: str, offset: int, adapter: str) -> None:
    check(truncation_case(what, offset), adapter)


def test_catalogue_covers_the_issue() -> None:
    """At least 30 behaviours, with unique ids and a bound on each."""
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids) >= 30
    assert all(case.bound > 0 for case in CASES)
