"""Fyers' REST rate limits as an async sliding-window limiter (spec 3.1).

Shared by every REST client of one Fyers app in this process (:mod:`livetrade.governor`), so
orders, data and history calls together stay under 10 requests/s and 200/min.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final

from livetrade.errors import InvalidInput

__all__ = ["DEFAULT_LIMITS", "RateLimiter", "Sleep"]

DEFAULT_LIMITS: Final[Mapping[str, tuple[tuple[int, float], ...]]] = {
    "all": ((10, 1.0), (200, 60.0)),
    "orders": ((10, 1.0),),
}
"""Fyers' documented limits (spec 3.1): 10/s and 200/min across REST; orders ≤ 10/s."""

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """Sliding-window limits, granted in arrival order (FIFO), with a shared pause.

    ``limits`` maps a group name to ``(count, seconds)`` windows; :meth:`acquire` takes a slot
    in every window of the groups named, atomically, waiting as long as needed: no window of
    ``seconds`` ever holds more than ``count`` grants. :meth:`pause` (a 429's ``Retry-After``)
    holds every caller back. ``clock`` and ``sleep`` are injectable so tests need no waiting.
    """

    def __init__(
        self,
        limits: Mapping[str, Iterable[tuple[int, float]]] = DEFAULT_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._windows: dict[str, list[tuple[int, float, deque[float]]]] = {}
        for group, windows in limits.items():
            parsed = []
            for count, seconds in windows:
                if count < 1 or not seconds > 0:
                    raise InvalidInput("limits", f"{group}: need count ≥ 1 and seconds > 0")
                parsed.append((int(count), float(seconds), deque[float]()))
            self._windows[group] = parsed
        self.clock = clock
        self.sleep = sleep
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()
        self.granted = 0
        self.waited = 0.0

    def __repr__(self) -> str:
        limits = {g: [(c, s) for c, s, _ in ws] for g, ws in self._windows.items()}
        return f"RateLimiter({limits}, granted={self.granted})"

    def delay(self, *groups: str) -> float:
        """Seconds until :meth:`acquire` for ``groups`` would be granted (0 if now)."""
        now = self.clock()
        wait = self._paused_until - now
        for group in groups or ("all",):
            for count, seconds, stamps in self._windows.get(group, ()):
                while stamps and stamps[0] <= now - seconds:
                    stamps.popleft()
                if len(stamps) >= count:
                    wait = max(wait, stamps[-count] + seconds - now)
        return max(wait, 0.0)

    async def acquire(self, *groups: str) -> float:
        """Wait for a slot in every window of ``groups`` (default ``"all"``); returns the
        seconds waited."""
        names = groups or ("all",)
        unknown = [g for g in names if g not in self._windows]
        if unknown:
            raise InvalidInput("groups", f"unknown rate-limit group(s) {unknown}")
        waited = 0.0
        async with self._lock:
            while (wait := self.delay(*names)) > 0:
                waited += wait
                await self.sleep(wait)
            now = self.clock()
            for group in names:
                for _, _, stamps in self._windows[group]:
                    stamps.append(now)
        self.granted += 1
        self.waited += waited
        return waited

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now (a 429's ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self.clock() + max(seconds, 0.0))
