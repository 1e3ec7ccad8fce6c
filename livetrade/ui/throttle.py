"""Coalescing redraws: which panels are dirty, and when each may next be drawn.

Ticks and engine events only *mark* panels (a set insert); the dashboard's one task asks
``wait(now)`` how long to sleep and ``take(now)`` which panels to redraw. There is no clock in
here, so tests drive it with plain numbers. None of ipywidgets, anywidget or plotly throttle by
time, so we do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


class Throttle:
    """Per-panel minimum redraw intervals (seconds) with dirty flags.

    A panel marked many times between two redraws is drawn once; a panel is never drawn twice
    within its interval, so ``1/interval`` bounds its widget messages per second.
    """

    def __init__(self, intervals: Mapping[str, float]) -> None:
        for name, interval in intervals.items():
            if not interval > 0:
                raise ValueError(f"interval of {name!r} must be positive")
        self._order = list(intervals)
        self._interval = dict(intervals)
        self._next: dict[str, float] = dict.fromkeys(intervals, -math.inf)
        self._dirty: set[str] = set()
        self.draws: dict[str, int] = dict.fromkeys(intervals, 0)

    @property
    def names(self) -> list[str]:
        return list(self._order)

    @property
    def dirty(self) -> frozenset[str]:
        return frozenset(self._dirty)

    def interval(self, name: str) -> float:
        return self._interval[name]

    def mark(self, *names: str) -> None:
        """Note that these panels show stale data (unknown names are an error)."""
        for name in names:
            if name not in self._interval:
                raise KeyError(name)
        self._dirty.update(names)

    def mark_all(self) -> None:
        self._dirty.update(self._order)

    def wait(self, now: float) -> float | None:
        """Seconds until the earliest dirty panel may be drawn (0: now), ``None`` if none is."""
        if not self._dirty:
            return None
        return max(0.0, min(self._next[n] for n in self._dirty) - now)

    def take(self, now: float, *, force: bool = False) -> list[str]:
        """The dirty panels that are due at ``now`` (all dirty ones if ``force``), in
        declaration order; they become clean and may next be drawn one interval later."""
        due = [n for n in self._order if n in self._dirty and (force or self._next[n] <= now)]
        for n in due:
            self._dirty.discard(n)
            self._next[n] = now + self._interval[n]
            self.draws[n] += 1
        return due
