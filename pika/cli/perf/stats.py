"""The arithmetic of ``pika perf``, free of I/O so it is unit tested on its own.

Workers count into a :class:`Meter` and send what they counted to the coordinator every
:data:`FLUSH_INTERVAL` seconds as one small tuple (cheap to pickle between processes). The
coordinator adds those into a :class:`Tally`, which closes one row per reporting interval
(rates, latency percentiles of that interval) and keeps a bounded :class:`LatencyDigest` for
the percentiles of the whole run. :class:`Pacer` spaces publishes for ``--rate`` and
:class:`ConfirmWindow` counts the publishes still awaiting their confirm.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Any, Callable, Optional

__all__ = [
    'FLUSH_INTERVAL',
    'TIMESTAMP',
    'ConfirmWindow',
    'LatencyDigest',
    'Meter',
    'Pacer',
    'Tally',
    'body_template',
    'percentile',
]

#: seconds between two reports of a worker to the coordinator
FLUSH_INTERVAL = 0.1
#: the send time (``time.time_ns()``) at the start of every body: wall clock, so a consumer in
#: another process (or on another host with a synchronised clock) can compare it with its own
TIMESTAMP = struct.Struct('>Q')
#: the percentiles every report shows
PERCENTILES = (50, 95, 99)


def body_template(size: int) -> bytes:
    """The body after its timestamp: ``size`` bytes in all (at least the timestamp's 8)."""
    return b'\x00' * max(0, size - TIMESTAMP.size)


class Meter:
    """What one worker counted since its last report; ``flush`` sends it to ``sink``.

    Producers add to ``sent``, ``confirmed`` and ``nacked``; consumers append each message's
    latency (ns) to ``latencies``, whose length is the count received. The report is the tuple
    ``('stats', worker, sent, confirmed, nacked, latencies)``.
    """

    __slots__ = ('confirmed', 'latencies', 'nacked', 'sent', 'sink', 'worker')

    def __init__(self, sink: Any, worker: int) -> None:
        self.sink: Any = sink
        self.worker: int = worker
        self.sent: int = 0
        self.confirmed: int = 0
        self.nacked: int = 0
        self.latencies: list[int] = []

    def flush(self) -> None:
        """Report what was counted (nothing when nothing was) and start counting afresh."""
        if self.sent or self.confirmed or self.nacked or self.latencies:
            report = ('stats', self.worker, self.sent, self.confirmed, self.nacked, self.latencies)
            self.sink.put(report)
            self.sent = self.confirmed = self.nacked = 0
            self.latencies = []

    def tell(self, kind: str, detail: str = '') -> None:
        """Report an event of this worker: ``ready``, ``done`` or ``error`` (with ``detail``)."""
        self.sink.put((kind, self.worker, detail))


class Pacer:
    """Publishing at ``rate`` messages per second at most (None: as fast as possible)."""

    def __init__(self, rate: Optional[float], start: float) -> None:
        self.rate = rate
        self.start = start

    def allowed(self, sent: int, now: float, most: int) -> int:
        """How many more may go out at ``now`` when ``sent`` went out so far (``most`` caps)."""
        if self.rate is None:
            return most
        due = int((now - self.start) * self.rate) + 1  # the first one goes at once
        return max(0, min(most, due - sent))

    def delay(self, sent: int, now: float) -> float:
        """Seconds until the next one is due (0 without a rate)."""
        if self.rate is None:
            return 0.0
        return max(0.0, self.start + sent / self.rate - now)


class ConfirmWindow:
    """Publishes awaiting their confirm, from the delivery tags of Basic.Ack/Nack.

    Tags are 1, 2, 3... in publish order. Everything up to ``floor`` is settled; single
    confirms above it wait in ``above`` until the gap below them closes.
    """

    def __init__(self) -> None:
        self.published = 0
        self.floor: int = 0
        self.above: set[int] = set()

    @property
    def outstanding(self) -> int:
        """Published, not yet acked or nacked."""
        return self.published - self.floor - len(self.above)

    def settle(self, tag: int, multiple: bool) -> int:
        """Record a confirm of ``tag`` (and all below with ``multiple``); returns how many
        publishes it settled."""
        if tag <= self.floor:
            return 0
        if multiple:
            below = [t for t in self.above if t <= tag]
            self.above.difference_update(below)
            settled = tag - self.floor - len(below)
            self.floor = tag
        else:
            self.above.add(tag)
            settled = 1
        while self.floor + 1 in self.above:
            self.floor += 1
            self.above.discard(self.floor)
        return settled


def percentile(ordered: list[Any], pct: float) -> Any:
    """The nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class LatencyDigest:
    """The latencies of a whole run in bounded memory.

    Each interval's sorted latencies are kept whole up to :attr:`keep` values, else every
    k-th one with weight k: a sample of a sorted list taken at even steps keeps its shape, so
    the percentiles of the run stay within one step of the exact ones.
    """

    def __init__(self, keep: int = 2000) -> None:
        self.keep = keep
        self.samples: list[tuple[int, list[int]]] = []
        self.count: int = 0
        self.low: Optional[int] = None
        self.high: Optional[int] = None

    def add_sorted(self, ordered: list[int]) -> None:
        """Add one interval's latencies, in ascending order."""
        if not ordered:
            return
        self.count += len(ordered)
        self.low = ordered[0] if self.low is None else min(self.low, ordered[0])
        self.high = ordered[-1] if self.high is None else max(self.high, ordered[-1])
        step = max(1, len(ordered) // self.keep)
        self.samples.append((step, ordered[step - 1 :: step] if step > 1 else ordered))

    def percentiles(self) -> dict[str, Optional[float]]:
        """min, p50, p95, p99 and max in milliseconds (None each when nothing was added)."""
        names = ['min', *(f'p{p}' for p in PERCENTILES), 'max']
        if not self.count:
            return dict.fromkeys(names)
        weighted = sorted((value, step) for step, values in self.samples for value in values)
        total = sum(step for _, step in weighted)
        result = {'min': _ms(self.low), 'max': _ms(self.high)}
        for pct in PERCENTILES:
            result[f'p{pct}'] = _ms(_weighted_rank(weighted, total, pct))
        return result


def _weighted_rank(weighted: list[tuple[int, int]], total: int, pct: float) -> int:
    target = max(1, math.ceil(pct / 100 * total))
    seen = 0
    for value, step in weighted:
        seen += step
        if seen >= target:
            return value
    return weighted[-1][0]


def _ms(ns: Optional[int]) -> Optional[float]:
    return None if ns is None else round(ns / 1e6, 3)


class Tally:
    """The coordinator's sums: totals of the run, the open interval and the closed rows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock: Callable[[], float] = clock
        self.sent: int = 0
        self.confirmed: int = 0
        self.nacked: int = 0
        self.received: int = 0
        self.digest: LatencyDigest = LatencyDigest()
        self.rows: list[dict[str, Any]] = []
        self._interval = [0, 0, 0]  # sent, confirmed, received
        self._latencies: list[int] = []
        self.started: float = clock()
        self._interval_start = self.started

    def restart(self) -> None:
        """Start the clock of the run now (when the producers start)."""
        self.started = self._interval_start = self.clock()

    def add(self, sent: int, confirmed: int, nacked: int, latencies: list[int]) -> None:
        """Add one worker report."""
        self.sent += sent
        self.confirmed += confirmed
        self.nacked += nacked
        self.received += len(latencies)
        interval = self._interval
        interval[0] += sent
        interval[1] += confirmed + nacked
        interval[2] += len(latencies)
        self._latencies.extend(latencies)

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return self.clock() - self.started

    def close_interval(self) -> dict[str, Any]:
        """End the open interval: its row (rates in msg/s, latencies in ms), also kept."""
        now = self.clock()
        seconds = max(now - self._interval_start, 1e-9)
        sent, settled, received = self._interval
        ordered = sorted(self._latencies)
        self.digest.add_sorted(ordered)
        row: dict[str, Any] = {
            'kind': 'interval',
            'time': round(now - self.started, 3),
            'sent_rate': round(sent / seconds, 1),
            'confirmed_rate': round(settled / seconds, 1),
            'received_rate': round(received / seconds, 1),
        }
        for pct in PERCENTILES:
            row[f'p{pct}'] = _ms(percentile(ordered, pct)) if ordered else None
        self.rows.append(row)
        self._interval = [0, 0, 0]
        self._latencies = []
        self._interval_start = now
        return row

    def has_open_interval(self) -> bool:
        """Did anything arrive since the last row?"""
        return any(self._interval)

    def settle(self) -> None:
        """Count the latencies that arrived after the last row into the run's percentiles."""
        self.digest.add_sorted(sorted(self._latencies))
        self._latencies = []

    def totals(self, seconds: float) -> dict[str, Any]:
        """The counts of the run, their rates over ``seconds`` and the latency percentiles."""
        seconds = max(seconds, 1e-9)
        return {
            'duration': round(seconds, 3),
            'sent': self.sent,
            'confirmed': self.confirmed,
            'nacked': self.nacked,
            'received': self.received,
            'sent_rate': round(self.sent / seconds, 1),
            'received_rate': round(self.received / seconds, 1),
            'latency_ms': self.digest.percentiles(),
        }
