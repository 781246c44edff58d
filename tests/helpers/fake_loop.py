"""Timers on a fake clock, for unit tests of code that schedules with ``call_later``."""

from __future__ import annotations

from typing import Any, Callable


class FakeLoop:
    """Timers on a clock that only moves when the test runs the next timer."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[list[Any]] = []  # [when, callback, cancelled]

    def call_later(self, delay: float, callback: Callable[[], Any]) -> object:
        entry = [self.now + delay, callback, False]
        self.timers.append(entry)
        return entry

    def remove_timeout(self, handle: object) -> None:
        handle[2] = True  # type: ignore[index]

    def run_next(self) -> float:
        live = sorted((t for t in self.timers if not t[2]), key=lambda t: t[0])
        assert live, 'no timer armed'
        entry = live[0]
        self.timers.remove(entry)
        self.now = max(self.now, entry[0])
        entry[1]()
        return float(entry[0])

    @property
    def armed(self) -> int:
        return sum(1 for t in self.timers if not t[2])
