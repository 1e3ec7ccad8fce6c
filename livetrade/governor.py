"""One Fyers rate governor per app id: every REST call of this process counts against it.

Fyers counts requests per app+user, whichever client sends them, so the trading client
(:class:`~livetrade.fyers.broker.FyersRestClient`), the data calls (symbol tokens, quotes,
depth in :mod:`livetrade.fyers.rest`) and candle history (:mod:`livetrade.history`) all take
their slots from the one :func:`governor_for` their app id names.

The limits (exchange-rules.md §4, FYDOC; the same in fyers-protocol.md §3.1):

* **10 requests/s, 200/min, 1,00,000/day** across REST, per app+user;
* **orders at most 10/s** (place, modify and cancel together);
* a breach answers HTTP 429 / code -429 with ``Retry-After``; **exceeding the per-minute limit
  more than 3 times in a day blocks the user for the rest of the day**.

SEBI's retail-algo framework (in force 1 Apr 2026; exchange-rules.md §4, Business Standard 5 May
2025 and rmoney 8 May 2025 on NSE's standards): **10 orders/s per exchange/segment** is the
threshold; below it orders carry the broker's generic algo ID, above it the algo must be
registered with the exchange and the broker rejects the excess. The orders window here
(10 in any rolling second) keeps a strategy at or under that threshold.

What the governor adds to :class:`~livetrade.fyers.broker.RateLimiter`'s windows:

* a per-IST-day request count: a warning at ``warn_fraction`` of the daily limit, and
  :class:`DailyLimitReached` instead of a request that would pass it;
* a count of days' 429s (each IST minute with a 429 counts once, as a likely per-minute
  breach): a warning on each, and after ``caution_after`` (2: exchange-rules.md §4, "stop
  before a third minute-breach") the per-minute budget is halved for the rest of the day.

Warnings are logged (``livetrade.governor``) and kept in :attr:`RateGovernor.warnings`, the
counter a session or dashboard shows (:meth:`RateGovernor.stats`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from livetrade.errors import InvalidInput
from livetrade.fyers.broker import DEFAULT_LIMITS, RateLimited, RateLimiter
from livetrade.model import IST

__all__ = [
    "DAILY_LIMIT",
    "MINUTE_BREACHES_BLOCK_AFTER",
    "SEBI_THRESHOLD_OPS",
    "DailyLimitReached",
    "GovernorStats",
    "RateGovernor",
    "governor_for",
]

log = logging.getLogger("livetrade.governor")

DAILY_LIMIT: Final = 100_000
"""Fyers: 1,00,000 requests a day per app+user (exchange-rules.md §4, FYDOC)."""
MINUTE_BREACHES_BLOCK_AFTER: Final = 3
"""Fyers: more than 3 per-minute breaches in a day block the user for the day (FYDOC)."""
SEBI_THRESHOLD_OPS: Final = 10
"""SEBI/NSE: above 10 orders/s per exchange/segment an algo must be registered (§4)."""


class DailyLimitReached(RateLimited):
    """The app's requests for the IST day reached Fyers' daily limit: nothing more is sent."""


@dataclass(frozen=True, slots=True)
class GovernorStats:
    """What the governor has counted today (IST): requests, order requests, 429 minutes."""

    app_id: str
    day: date
    requests: int
    orders: int
    breaches: int
    daily_limit: int
    cautious: bool
    warnings: tuple[str, ...]


class RateGovernor(RateLimiter):
    """:class:`RateLimiter` plus the day's budget and breach count (see the module doc).

    ``wall`` (epoch seconds) says which IST day it is; ``clock``/``sleep`` pace the windows, as
    in :class:`RateLimiter`.
    """

    def __init__(
        self,
        app_id: str = "",
        limits: Mapping[str, Iterable[tuple[int, float]]] = DEFAULT_LIMITS,
        *,
        daily_limit: int = DAILY_LIMIT,
        warn_fraction: float = 0.8,
        caution_after: int = MINUTE_BREACHES_BLOCK_AFTER - 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(daily_limit, bool) or not isinstance(daily_limit, int) or daily_limit < 1:
            raise InvalidInput("daily_limit", "must be a positive whole number of requests")
        if not 0 < warn_fraction <= 1:
            raise InvalidInput("warn_fraction", "must be in (0, 1]")
        if not 0 < caution_after < MINUTE_BREACHES_BLOCK_AFTER + 1:
            raise InvalidInput("caution_after", "must be 1, 2 or 3 (Fyers blocks after 3)")
        super().__init__(limits, clock=clock, sleep=sleep)
        self.app_id = app_id
        self.daily_limit = daily_limit
        self.warn_fraction = warn_fraction
        self.caution_after = caution_after
        self.wall = wall
        self.warnings: list[str] = []
        self._day = self._today()
        self._requests = 0
        self._orders = 0
        self._breach_minutes: set[int] = set()
        self._warned_daily = False
        self._caution: tuple[int, float, deque[float]] | None = None  # the halved minute

    def __repr__(self) -> str:
        return (
            f"RateGovernor(app={self.app_id!r}, today={self._requests}/{self.daily_limit}, "
            f"breaches={len(self._breach_minutes)})"
        )

    def _today(self) -> date:
        return datetime.fromtimestamp(self.wall(), IST).date()

    def _roll(self) -> None:
        """A new IST day: the budget, the breaches and the caution start again."""
        today = self._today()
        if today != self._day:
            self._day, self._requests, self._orders = today, 0, 0
            self._breach_minutes.clear()
            self._warned_daily = False
            if self._caution is not None:
                self._windows["all"].remove(self._caution)
                self._caution = None

    def _warn(self, message: str) -> None:
        log.warning("Fyers app %s: %s", self.app_id or "?", message)
        self.warnings.append(message)

    async def acquire(self, *groups: str) -> float:
        """A slot in every window of ``groups``, within today's budget (raises
        :class:`DailyLimitReached` rather than send a request past it)."""
        self._roll()
        if self._requests >= self.daily_limit:
            raise DailyLimitReached(
                f"Fyers app {self.app_id or '?'} has sent {self._requests} requests today "
                f"(IST {self._day}), Fyers' daily limit of {self.daily_limit}: nothing more is "
                "sent until midnight IST",
                0.0,
            )
        waited = await super().acquire(*groups)
        self._requests += 1
        if "orders" in groups:
            self._orders += 1
        if not self._warned_daily and self._requests >= self.warn_fraction * self.daily_limit:
            self._warned_daily = True
            self._warn(
                f"{self._requests} of the {self.daily_limit} requests Fyers allows a day are "
                f"used (IST {self._day}); at the limit requests are refused until midnight"
            )
        return waited

    def pause(self, seconds: float) -> None:
        """A 429 (every caller holds back ``seconds``): counted once per IST minute as a
        per-minute breach, warned, and the minute budget halved before a third."""
        super().pause(seconds)
        self._roll()
        minute = int(self.wall() // 60)
        if minute in self._breach_minutes:
            return
        self._breach_minutes.add(minute)
        n = len(self._breach_minutes)
        self._warn(
            f"Fyers answered 429 (rate limit) in {n} minute(s) today; more than "
            f"{MINUTE_BREACHES_BLOCK_AFTER} per-minute breaches block the user for the day"
        )
        minute_windows = [w for w in self._windows.get("all", ()) if w[1] >= 60]
        if n >= self.caution_after and self._caution is None and minute_windows:
            count, seconds_, stamps = minute_windows[0]
            self._caution = (max(1, count // 2), seconds_, deque(stamps))
            self._windows["all"].append(self._caution)
            self._warn(
                f"after {n} rate-limit minute(s) the per-minute budget is halved for the rest "
                "of the IST day"
            )

    def stats(self) -> GovernorStats:
        self._roll()
        return GovernorStats(
            self.app_id,
            self._day,
            self._requests,
            self._orders,
            len(self._breach_minutes),
            self.daily_limit,
            self._caution is not None,
            tuple(self.warnings),
        )


_GOVERNORS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, RateGovernor]] = (
    weakref.WeakKeyDictionary()
)


def governor_for(app_id: str | None) -> RateGovernor:
    """The governor of ``app_id`` in the running event loop, created on first use (``None``:
    an unnamed app). A notebook kernel or a process runs one loop, so this is one governor per
    app in the process; asyncio's lock belongs to one loop, hence the key (and each test's
    loop starts with a fresh budget). Outside a running loop: a governor of its own."""
    key = app_id or ""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        log.debug("no running event loop: Fyers app %s gets an unshared governor", key or "?")
        return RateGovernor(key)
    per_loop = _GOVERNORS.setdefault(loop, {})
    gov = per_loop.get(key)
    if gov is None:
        gov = per_loop[key] = RateGovernor(key)
    return gov
