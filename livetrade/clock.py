"""Injectable clocks: wall time for live sessions, a virtual clock for simulations and tests."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol

from livetrade.model import datetime_to_ns, ns_to_datetime


class Clock(Protocol):
    """Anything with ``now_ns()``: epoch nanoseconds."""

    def now_ns(self) -> int: ...


class WallClock:
    """The machine's clock (``time.time_ns``)."""

    def now_ns(self) -> int:
        return time.time_ns()

    def __repr__(self) -> str:
        return "WallClock()"


class VirtualClock:
    """A clock that only moves when told to, so a simulated session is exactly repeatable."""

    def __init__(self, start: datetime | int) -> None:
        self._now = start if isinstance(start, int) else datetime_to_ns(start)

    def now_ns(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError("a virtual clock never goes backwards")
        self._now += ns

    def set(self, ns: int) -> None:
        if ns < self._now:
            raise ValueError("a virtual clock never goes backwards")
        self._now = ns

    def __repr__(self) -> str:
        return f"VirtualClock({ns_to_datetime(self._now).isoformat()})"
