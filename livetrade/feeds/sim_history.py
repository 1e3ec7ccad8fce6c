"""The simulated market's past: deterministic OHLCV history before a session starts.

Why it is built this way:

* **Same seed, same past, any range.** A symbol's past is a chain of trading days walked
  *backwards* from its anchor (the price and instant the live walk starts from). Each day's
  open and the previous day's close come from one ``random.Random`` stream seeded by
  ``(seed, symbol)``, read in order (a few draws per day, so reaching a year back costs
  microseconds); each day's one-second path comes from a numpy generator seeded by
  ``(seed, symbol, date)``, so asking for one day never generates another.
* **It ends where the live walk starts.** The day holding the anchor ends, at the last second
  before the anchor, exactly at the anchor price; the live walk's first tick is one step from it.
  When the session opens at 09:15 (the default virtual clock) the previous trading day's close is
  the anchor price moved by a small overnight gap (a quarter of a day's volatility), as real
  markets gap.
* **Market hours only.** Seconds 09:15:00–15:29:59 IST on weekdays, one price per second like
  the live walk (tick 5 paise, volume 5–200 shares a second, none for indices). Exchange
  holidays are not modelled (every weekday trades).
* Each day is a Brownian bridge (in log price) from its open to its close with the live walk's
  per-second volatility, rounded to the tick; bars are then aggregated from the seconds exactly
  as the live candles are (:mod:`livetrade.bars`), so history and live bars have the same grid.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from livetrade.bars import DAY_NS, IST_OFFSET_NS, NS, OPEN_NS, TIMEFRAMES, BarColumns, concat
from livetrade.bars import parse_timeframe as _parse_timeframe
from livetrade.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["SECONDS_PER_DAY", "SimHistory"]

TICK = 5  # paise
SECONDS_PER_DAY = 22_500  # 09:15:00 .. 15:29:59
GAP_FRACTION = 0.25  # overnight gap sd as a fraction of the daily volatility
_EPOCH = date(1970, 1, 1)
_CACHE_DAYS = 2_048


def _day_of(ts_ns: int) -> date:
    return _EPOCH + timedelta(days=(ts_ns + IST_OFFSET_NS) // DAY_NS)


def _midnight_ns(d: date) -> int:
    return (d - _EPOCH).days * DAY_NS - IST_OFFSET_NS


def _round_tick(paise: float) -> int:
    return max(TICK, round(paise / TICK) * TICK)


def _prev_weekday(d: date) -> date:
    d -= timedelta(days=1)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


@dataclass(slots=True)
class _Anchor:
    price: int
    t0_ns: int
    is_index: bool
    first_day: date  # the latest trading day with seconds before t0
    first_len: int  # its seconds before t0
    ends: list[int]  # close of the k-th trading day back from first_day
    opens: list[int]  # open of the k-th trading day back
    rng: random.Random


class SimHistory:
    """The deterministic past of a :class:`~livetrade.feeds.simulated.SimulatedMarket`.

    ``anchor(symbol, price_paise, t0_ns)`` fixes where the symbol's live walk starts;
    ``columns(symbol, timeframe, start_ns, end_ns)`` gives the bars starting in
    ``[start_ns, min(end_ns, t0_ns))`` (the bar holding ``t0`` stops at ``t0``).
    """

    def __init__(self, seed: int, daily_volatility: float = 0.015) -> None:
        if not 0 < daily_volatility < 1:
            raise InvalidInput("daily_volatility", "must be between 0 and 1")
        self.seed = seed
        self.daily_volatility = daily_volatility
        self._anchors: dict[str, _Anchor] = {}
        self._days: dict[tuple[str, str, date], BarColumns] = {}

    def __repr__(self) -> str:
        return f"SimHistory(seed={self.seed}, symbols={len(self._anchors)})"

    def anchored(self, symbol: str) -> bool:
        return symbol in self._anchors

    def t0_ns(self, symbol: str) -> int:
        """Where ``symbol``'s past ends (its live walk's start)."""
        return self._anchor(symbol).t0_ns

    def previous_close(self, symbol: str, d: date) -> int:
        """Close (paise) of the last simulated trading day before ``d`` (at most the anchor's
        own day): what day ``d``'s change is measured against. A few draws, no day generated."""
        import numpy as np

        a = self._anchor(symbol)
        prev = min(_prev_weekday(d), a.first_day)
        return self._chain(a, int(np.busday_count(prev, a.first_day)))[1]

    def anchor(self, symbol: str, price_paise: int, t0_ns: int) -> None:
        """Fix ``symbol``'s past to end at ``price_paise`` just before ``t0_ns`` (once)."""
        if symbol in self._anchors:
            return
        if price_paise <= 0 or price_paise % TICK:
            raise InvalidInput("price", "must be positive and a multiple of the ₹0.05 tick")
        day = _day_of(t0_ns)
        open_ns = _midnight_ns(day) + OPEN_NS
        n = 0
        if day.weekday() < 5:
            n = max(0, min(SECONDS_PER_DAY, -(-(t0_ns - open_ns) // NS)))
        gap = n == 0
        if gap:  # nothing before t0 that day: the past ends on the previous trading day
            day = _prev_weekday(day)
            n = SECONDS_PER_DAY
        rng = random.Random(f"{self.seed}:{symbol}:past")
        end = price_paise
        if gap:
            end = _round_tick(
                end * math.exp(-rng.gauss(0.0, 1.0) * GAP_FRACTION * self.daily_volatility)
            )
        self._anchors[symbol] = _Anchor(
            price_paise, t0_ns, symbol.upper().endswith("-INDEX"), day, n, [end], [], rng
        )

    def _anchor(self, symbol: str) -> _Anchor:
        a = self._anchors.get(symbol)
        if a is None:
            raise InvalidInput("symbol", f"{symbol!r} has no simulated past (not anchored)")
        return a

    def _chain(self, a: _Anchor, k: int) -> tuple[int, int, int]:
        """(open, close, seconds) of the k-th trading day back from the anchor's day."""
        sigma = self.daily_volatility
        while len(a.opens) <= k:
            i = len(a.opens)
            n = a.first_len if i == 0 else SECONDS_PER_DAY
            end = a.ends[i]
            r = a.rng.gauss(0.0, 1.0) * sigma * math.sqrt(n / SECONDS_PER_DAY)
            opn = _round_tick(end * math.exp(-r))
            a.opens.append(opn)
            g = a.rng.gauss(0.0, 1.0) * GAP_FRACTION * sigma
            a.ends.append(_round_tick(opn * math.exp(-g)))
        return a.opens[k], a.ends[k], a.first_len if k == 0 else SECONDS_PER_DAY

    def _seed(self, symbol: str, d: date) -> int:
        h = hashlib.sha256(f"{self.seed}:{symbol}:{d.isoformat()}".encode()).digest()
        return int.from_bytes(h[:8], "little")

    def day_seconds(
        self, symbol: str, d: date
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(ts_ns, price paise, volume)`` of each second of trading day ``d`` before the
        anchor (empty arrays on weekends, after the anchor, or before 2000)."""
        import numpy as np

        a = self._anchor(symbol)
        empty = np.empty(0, np.int64)
        if d.weekday() >= 5 or d > a.first_day or d.year < 2000:
            return empty, empty, empty
        k = int(np.busday_count(d, a.first_day))
        opn, close, n = self._chain(a, k)
        rng = np.random.default_rng(self._seed(symbol, d))
        step = self.daily_volatility / math.sqrt(SECONDS_PER_DAY)
        if n > 1:
            w = np.concatenate([[0.0], np.cumsum(rng.standard_normal(n - 1) * step)])
            frac = np.arange(n) / (n - 1)
            lo, lc = math.log(opn), math.log(close)
            x = lo + w - frac * w[-1] + frac * (lc - lo)
            price = np.maximum(TICK, np.rint(np.exp(x) / TICK) * TICK).astype(np.int64)
            price[0], price[-1] = opn, close
        else:
            price = np.array([close], np.int64)
        vol = np.zeros(n, np.int64) if a.is_index else rng.integers(1, 41, n, dtype=np.int64) * 5
        ts = _midnight_ns(d) + OPEN_NS + np.arange(n, dtype=np.int64) * NS
        return ts, price, vol

    def day_bars(self, symbol: str, timeframe: str, d: date) -> BarColumns:
        """The bars of one trading day (cached)."""
        import numpy as np

        key = (symbol, timeframe, d)
        got = self._days.get(key)
        if got is not None:
            return got
        ts, price, vol = self.day_seconds(symbol, d)
        n = len(ts)
        if n == 0:
            cols = BarColumns.empty()
        else:
            tf_s = TIMEFRAMES[timeframe]
            if tf_s == 86_400:
                starts = np.array([0])
                t = np.array([_midnight_ns(d)], np.int64)
            else:
                starts = np.arange(0, n, tf_s)
                t = ts[starts]
            ends = np.r_[starts[1:] - 1, n - 1]
            cols = BarColumns(
                t,
                price[starts],
                np.maximum.reduceat(price, starts),
                np.minimum.reduceat(price, starts),
                price[ends],
                np.add.reduceat(vol, starts),
            )
        if len(self._days) >= _CACHE_DAYS:
            self._days.clear()
        self._days[key] = cols
        return cols

    def columns(
        self, symbol: str, timeframe: str, start_ns: int, end_ns: int | None = None
    ) -> BarColumns:
        """Bars of ``symbol`` starting in ``[start_ns, min(end_ns, t0))``."""
        tf = _parse_timeframe(timeframe)
        a = self._anchor(symbol)
        stop = a.t0_ns if end_ns is None else min(end_ns, a.t0_ns)
        if stop <= start_ns:
            return BarColumns.empty()
        first = max(_day_of(start_ns), date(2000, 1, 1))
        last = min(_day_of(stop - 1), a.first_day)
        parts = []
        d = first
        while d <= last:
            if d.weekday() < 5:
                parts.append(self.day_bars(symbol, tf, d))
            d += timedelta(days=1)
        return concat(parts).between(start_ns, stop)
