"""A monotonic timer heap shared by the select ``IOLoop`` and ``BlockingConnection``.

The queue never reads a clock on its own in the hot paths that take ``now``: the
loop passes the time it already has, so tests can drive it with a fake clock. Only
:meth:`TimerQueue.call_later` needs the current time, and it gets it from the clock
given at construction (``time.monotonic`` by default).

Cancellation is O(1): a cancelled timer is only marked. Marked entries are dropped
when they reach the top of the heap, and when they make up more than half of the
heap it is rebuilt, so a program that keeps adding and cancelling timers (a
heartbeat reset on every frame, say) uses memory proportional to its *live*
timers. There are no threads here and the queue is not thread-safe.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import numbers
import time
from typing import Callable, Optional

LOGGER = logging.getLogger(__name__)

__all__ = ['TimerHandle', 'TimerQueue']

# Rebuild the heap once at least this many cancelled entries make up over half of it.
_COMPACT_MIN_CANCELLED = 64


class TimerHandle:
    """Opaque handle returned by :meth:`TimerQueue.call_later`; pass it to ``cancel``."""

    __slots__ = ('callback', 'deadline', 'sequence', 'state')

    PENDING = 'pending'
    CANCELLED = 'cancelled'
    FIRED = 'fired'

    def __init__(self, deadline: float, sequence: int, callback: Callable[[], object]) -> None:
        self.deadline: float = deadline
        self.sequence: int = sequence  # tie-breaker: equal deadlines run in scheduling order
        self.callback: Optional[Callable[[], object]] = callback
        self.state: str = self.PENDING

    def __repr__(self) -> str:
        return f'<TimerHandle deadline={self.deadline:.3f} {self.state}>'


_CANCELLED = TimerHandle.CANCELLED


class TimerQueue:
    """Timers ordered by deadline, then by insertion order for equal deadlines.

    :param clock: monotonic clock used by :meth:`call_later` to turn a delay into a
        deadline; use the same clock for the ``now`` passed to the other methods
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, TimerHandle]] = []
        #: The heap itself, read-only for callers and the same list for the queue's lifetime:
        #: empty when no timer (pending or cancelled) is left, and ``entries[0][0]`` is the
        #: earliest deadline. A loop checks it without a call or a clock read on every turn.
        self.entries = self._heap
        self._sequence = itertools.count()
        self._cancelled_in_heap = 0

    def __len__(self) -> int:
        """Number of timers still pending (cancelled ones excluded)."""
        return len(self._heap) - self._cancelled_in_heap

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Schedule ``callback()`` to run ``delay`` seconds from now.

        :param delay: seconds, a number ``>= 0``
        :param callback: called with no arguments by :meth:`run_due`
        :returns: a handle for :meth:`cancel`
        :raises TypeError: ``delay`` is not a number or ``callback`` is not callable
        :raises ValueError: ``delay`` is negative or NaN
        """
        kind = type(delay)
        if kind is not float and kind is not int:  # the usual types skip the ABC check
            if not isinstance(delay, numbers.Real) or kind is bool:
                raise TypeError(f'delay must be a number, not {kind.__name__}')
        if not delay >= 0:  # also NaN
            raise ValueError(f'delay must be >= 0, got {delay!r}')
        if not callable(callback):
            raise TypeError('callback must be callable')
        handle = TimerHandle(self._clock() + float(delay), next(self._sequence), callback)
        heapq.heappush(self._heap, (handle.deadline, handle.sequence, handle))
        return handle

    def cancel(self, handle: TimerHandle) -> None:
        """Cancel a pending timer; cancelling a fired or cancelled one does nothing.

        :param handle: a handle returned by :meth:`call_later` of this queue
        """
        if not isinstance(handle, TimerHandle):
            raise TypeError(f'expected a TimerHandle, not {type(handle).__name__}')
        if handle.state != TimerHandle.PENDING:
            return
        handle.state = TimerHandle.CANCELLED
        handle.callback = None  # release whatever the callback closes over
        self._cancelled_in_heap += 1
        self._maybe_compact()

    def next_timeout(self, now: float) -> Optional[float]:
        """Seconds until the earliest pending timer (0 if due), or ``None`` if none."""
        heap = self._heap
        if heap and heap[0][2].state == _CANCELLED:
            self._drop_cancelled_top()
        if not heap:
            return None
        delay = heap[0][0] - now
        return delay if delay > 0.0 else 0.0

    def run_due(self, now: float) -> int:
        """Run, in deadline order, every timer whose deadline is ``<= now``.

        Timers scheduled by these callbacks run on a later call even if already due,
        so a callback that reschedules itself with delay 0 cannot starve the loop.
        A timer cancelled by an earlier callback of the same batch is skipped. If a
        callback raises, the not-yet-run timers of the batch go back on the heap and
        the exception propagates.

        :returns: how many callbacks ran
        """
        batch = self._pop_due(now)
        ran = 0
        for index, handle in enumerate(batch):
            if handle.state != TimerHandle.PENDING:
                continue
            callback = handle.callback
            handle.state = TimerHandle.FIRED
            handle.callback = None
            try:
                if callback is not None:  # always true for a pending handle
                    callback()
            except BaseException:
                self._requeue(batch[index + 1 :])
                raise
            ran += 1
        return ran

    def clear(self) -> None:
        """Cancel every pending timer (used when a loop is closed)."""
        for _, _, handle in self._heap:
            if handle.state == TimerHandle.PENDING:
                handle.state = TimerHandle.CANCELLED
                handle.callback = None
        self._heap.clear()
        self._cancelled_in_heap = 0

    # -- internals -----------------------------------------------------------------

    def _pop_due(self, now: float) -> list[TimerHandle]:
        """Remove and return the pending timers with ``deadline <= now``, in order."""
        due: list[TimerHandle] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            if handle.state == TimerHandle.CANCELLED:
                self._cancelled_in_heap -= 1
            else:
                due.append(handle)
        return due

    def _requeue(self, handles: list[TimerHandle]) -> None:
        """Put back timers popped for a batch that was interrupted by an exception."""
        for handle in handles:
            if handle.state == TimerHandle.PENDING:
                heapq.heappush(self._heap, (handle.deadline, handle.sequence, handle))

    def _drop_cancelled_top(self) -> None:
        heap = self._heap
        while heap and heap[0][2].state == TimerHandle.CANCELLED:
            heapq.heappop(heap)
            self._cancelled_in_heap -= 1

    def _maybe_compact(self) -> None:
        """Rebuild the heap without cancelled entries once they dominate it."""
        cancelled = self._cancelled_in_heap
        if cancelled >= _COMPACT_MIN_CANCELLED and cancelled * 2 > len(self._heap):
            # In place: `entries` must stay the same list.
            self._heap[:] = [entry for entry in self._heap if entry[2].state == TimerHandle.PENDING]
            heapq.heapify(self._heap)
            self._cancelled_in_heap = 0
            LOGGER.debug('Compacted timer heap: dropped %d cancelled timers', cancelled)
