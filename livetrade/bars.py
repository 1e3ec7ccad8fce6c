"""Candles built incrementally from ticks: O(1) per tick per timeframe in use, sans-I/O.

Why it looks like this:

* The tick path must stay cheap, and the price stream already writes every tick into its
  typed-array ring. So candles are *folded from the ring*: per tick the stream only keeps a
  running high/low and compares the tick's time with the end of the current base bar (a step
  that divides every timeframe in use, at most a minute); on the first tick past it, the base
  bar (open and close and their volumes read from the ring) is folded into each timeframe in
  use. That is O(1) per tick, a fold per timeframe per base bar, and one comparison a tick for
  symbols nobody charts. (Calling a Python function per tick per timeframe cost +88% on the
  tick path; this costs about +20%, see ``benchmarks/bars_bench.py``.) Prices are integer
  paise, times epoch nanoseconds; closed bars live in typed-array columns (no Python object
  per bar), the live bar in a handful of slots.
* Bars are aligned in IST (Asia/Kolkata, a fixed +05:30 with no DST, so the arithmetic is pure
  integers): intraday bars on a grid through the 09:15 session open (as Fyers/NSE charts draw
  them: 30min bars start 09:15, 09:45 ..., 1h bars 09:15, 10:15 ..., 15:15); ``1D`` bars by IST
  date, labelled at IST midnight as Fyers' daily candles are. Every timeframe divides a day, so
  the grid is the same on every day.
* Feeds send Fyers' *cumulative* day volume. A bar's volume is how far the running total
  rose over the bar (the difference between bar ends): a fall (a stale tick) never counts
  negative and never lowers the high-water mark -- if a base bar ends on one, the bar where the
  total rises again gets the difference; a new IST day starts the total again from zero; after
  a reconnect the total resumes higher and the difference (what traded while we were away)
  lands in the first bar after it. The very first tick only sets the mark: a feed joined
  mid-day would otherwise put the whole day so far into one bar (history supplies the earlier
  bars).
* A bar closes when the first tick of a later bar arrives (a tick-driven chart); the closed-bar
  callback gets a :class:`Bar`. A tick older than the live bar (out of order) is counted in the
  live bar: closed bars never change.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from math import gcd
from typing import TYPE_CHECKING, Any, Final, Protocol

from livetrade.errors import InvalidInput
from livetrade.model import IST, ns_to_datetime
from livetrade.money import from_paise

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "TIMEFRAMES",
    "Bar",
    "BarBook",
    "BarColumns",
    "BarSeries",
    "SymbolBars",
    "VolumeMark",
    "bar_start",
    "bars_frame",
    "origin_ns",
    "parse_timeframe",
    "to_ns",
]

NS: Final = 1_000_000_000
IST_OFFSET_NS: Final = 19_800 * NS  # +05:30, no daylight saving
DAY_NS: Final = 86_400 * NS
OPEN_NS: Final = (9 * 3600 + 15 * 60) * NS  # 09:15 IST after IST midnight

TIMEFRAMES: Final[dict[str, int]] = {
    "5s": 5,
    "15s": 15,
    "30s": 30,
    "1min": 60,
    "3min": 180,
    "5min": 300,
    "15min": 900,
    "30min": 1800,
    "1h": 3600,
    "1D": 86_400,
}
"""Supported timeframes → seconds."""

_ALIASES: Final = {
    "5S": "5s", "15S": "15s", "30S": "30s", "1m": "1min", "3m": "3min", "5m": "5min",
    "15m": "15min", "30m": "30min", "60min": "1h", "60m": "1h", "1H": "1h", "D": "1D",
    "1d": "1D", "day": "1D",
}  # fmt: skip


def parse_timeframe(timeframe: object) -> str:
    """The canonical name of ``timeframe`` (``"5min"``...), else InvalidInput naming it."""
    if isinstance(timeframe, str):
        name = _ALIASES.get(timeframe, timeframe)
        if name in TIMEFRAMES:
            return name
    raise InvalidInput("timeframe", f"{timeframe!r} is not one of {', '.join(TIMEFRAMES)}")


def origin_ns(timeframe: str) -> int:
    """An instant on the timeframe's grid: 1970-01-01 09:15 IST, or IST midnight for 1D."""
    return -IST_OFFSET_NS if TIMEFRAMES[timeframe] == 86_400 else OPEN_NS - IST_OFFSET_NS


def bar_start(ts_ns: int, timeframe: str) -> int:
    """Start (epoch ns) of the ``timeframe`` bar holding ``ts_ns``."""
    origin = origin_ns(timeframe)
    return ts_ns - (ts_ns - origin) % (TIMEFRAMES[timeframe] * NS)


def to_ns(value: object, field: str) -> int:
    """A bound given as epoch ns, ``datetime``/``pd.Timestamp``, ``date`` or ISO string; naive
    times are read as IST (the market's clock), a ``date`` as its IST midnight."""
    if isinstance(value, bool):
        raise InvalidInput(field, f"expected a time, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=IST)
    if isinstance(value, str):
        import pandas as pd

        try:
            value = pd.Timestamp(value).to_pydatetime()
        except ValueError as exc:
            raise InvalidInput(field, f"{value!r} is not a date or time") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=IST)
        delta = value - datetime(1970, 1, 1, tzinfo=IST)
        return (
            delta.days * DAY_NS + delta.seconds * NS + delta.microseconds * 1000 - IST_OFFSET_NS
        ) + (getattr(value, "nanosecond", 0) or 0)
    raise InvalidInput(field, f"expected a datetime, date, ISO string or epoch ns, got {value!r}")


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed bar (the ``bar_event`` payload): prices in paise, ``start_ns`` epoch ns.
    ``open``/``high``/``low``/``close`` give the same prices as ``Decimal`` rupees."""

    symbol: str
    timeframe: str
    start_ns: int
    open_paise: int
    high_paise: int
    low_paise: int
    close_paise: int
    volume: int

    @property
    def start(self) -> datetime:
        return ns_to_datetime(self.start_ns)

    @property
    def open(self) -> Decimal:
        return from_paise(self.open_paise)

    @property
    def high(self) -> Decimal:
        return from_paise(self.high_paise)

    @property
    def low(self) -> Decimal:
        return from_paise(self.low_paise)

    @property
    def close(self) -> Decimal:
        return from_paise(self.close_paise)


BarCallback = Callable[[Bar], None]


class VolumeMark:
    """Cumulative day volume → volume of a run of ticks (rules in the module docstring)."""

    __slots__ = ("cum", "day_end")

    def __init__(self) -> None:
        self.cum = -1  # the high-water mark; -1: no tick seen yet
        self.day_end = -(1 << 62)

    def copy(self) -> VolumeMark:
        m = VolumeMark()
        m.cum, m.day_end = self.cum, self.day_end
        return m

    def new_day(self, ts_ns: int) -> None:
        """``ts_ns`` is past the current IST day: the running total restarts."""
        self.cum = 0 if self.cum >= 0 else -1
        self.day_end = ts_ns - (ts_ns + IST_OFFSET_NS) % DAY_NS + DAY_NS

    def run(self, first: int, final: int, start_ns: int) -> int:
        """Volume of a run of ticks inside one base bar starting at ``start_ns`` (``first``
        and ``final``: its first and last tick's cumulative volume): how far ``final`` lifts
        the mark. (Per tick the rises telescope to the same sum as long as the total never
        falls; a stale lower total ending a run counts zero and the run where the total rises
        again gets the difference.)"""
        if start_ns >= self.day_end:
            self.new_day(start_ns)
        cum = self.cum if self.cum >= 0 else first
        if final > cum:
            self.cum = final
            return final - cum
        self.cum = cum
        return 0


Chunk = tuple[int, int, int, int, int, int]
"""``(start_ns, open, high, low, close, volume)``: one base bar's ticks, folded."""


class BarSeries:
    """One symbol's bars of one timeframe: closed bars in columns, the live bar in slots
    (the ticks folded so far; the ticks of the current base bar are added on read)."""

    __slots__ = (
        "c",
        "col_c",
        "col_h",
        "col_l",
        "col_o",
        "col_t",
        "col_v",
        "end",
        "h",
        "l",
        "o",
        "on_close",
        "origin",
        "start",
        "symbol",
        "tf_ns",
        "timeframe",
        "v",
    )

    def __init__(self, symbol: str, timeframe: str, on_close: BarCallback | None = None) -> None:
        self.symbol = symbol
        self.timeframe = parse_timeframe(timeframe)
        self.tf_ns = TIMEFRAMES[self.timeframe] * NS
        self.origin = origin_ns(self.timeframe)
        self.on_close = on_close
        self.col_t = array("q")
        self.col_o = array("q")
        self.col_h = array("q")
        self.col_l = array("q")
        self.col_c = array("q")
        self.col_v = array("q")
        self.start = -1  # live bar start; -1: no live bar
        self.end = -(1 << 62)  # first time past the live bar
        self.o = self.h = self.l = self.c = self.v = 0

    def __len__(self) -> int:
        return len(self.col_t) + (self.start != -1)

    def _close(self) -> None:
        self.col_t.append(self.start)
        self.col_o.append(self.o)
        self.col_h.append(self.h)
        self.col_l.append(self.l)
        self.col_c.append(self.c)
        self.col_v.append(self.v)
        cb = self.on_close
        if cb is not None:
            cb(Bar(self.symbol, self.timeframe, self.start, self.o, self.h, self.l, self.c, self.v))

    def fold(self, ts_ns: int, o: int, h: int, low: int, c: int, v: int) -> None:
        """Add a tick or a base bar's worth of ticks starting at ``ts_ns``; one past the live
        bar closes it first. An earlier one (out of order) counts in the live bar."""
        if ts_ns < self.end:
            if h > self.h:
                self.h = h
            if low < self.l:
                self.l = low
            self.c = c
            self.v += v
            return
        if self.start != -1:
            self._close()
        start = ts_ns - (ts_ns - self.origin) % self.tf_ns
        self.start = start
        self.end = start + self.tf_ns
        self.o, self.h, self.l, self.c, self.v = o, h, low, c, v

    def close_before(self, ts_ns: int) -> None:
        """A tick at ``ts_ns`` has arrived: the live bar closes if it ended before it."""
        if self.start != -1 and ts_ns >= self.end:
            self._close()
            self.start = -1
            self.end = -(1 << 62)

    def live_rows(self, pending: Chunk | None) -> list[Chunk]:
        """The live bar with ``pending`` (the current base bar's ticks) added, as rows."""
        rows: list[Chunk] = []
        if self.start != -1:
            rows.append((self.start, self.o, self.h, self.l, self.c, self.v))
        if pending is None:
            return rows
        ps, o, h, low, c, v = pending
        if rows and ps < self.end:
            s0, o0, h0, l0, _, v0 = rows[0]
            rows[0] = (s0, o0, max(h0, h), min(l0, low), c, v0 + v)
        else:
            rows.append((ps - (ps - self.origin) % self.tf_ns, o, h, low, c, v))
        return rows

    def columns(self, pending: Chunk | None = None) -> BarColumns:
        """Every bar, closed ones then the live one, as numpy columns (a copy)."""
        import numpy as np

        cols = [
            np.frombuffer(c, dtype=np.int64).copy() if len(c) else np.empty(0, np.int64)
            for c in (self.col_t, self.col_o, self.col_h, self.col_l, self.col_c, self.col_v)
        ]
        live = self.live_rows(pending)
        if live:
            extra = np.asarray(live, dtype=np.int64).reshape(-1, 6)
            cols = [np.concatenate([c, extra[:, k]]) for k, c in enumerate(cols)]
        return BarColumns(*cols)


@dataclass(frozen=True, slots=True)
class BarColumns:
    """Bars as int64 numpy columns: start (epoch ns), open/high/low/close (paise), volume."""

    t: npt.NDArray[np.int64]
    o: npt.NDArray[np.int64]
    h: npt.NDArray[np.int64]
    l: npt.NDArray[np.int64]  # noqa: E741
    c: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.t)

    @staticmethod
    def empty() -> BarColumns:
        import numpy as np

        e = np.empty(0, np.int64)
        return BarColumns(e, e, e, e, e, e)

    def between(self, start_ns: int | None, end_ns: int | None) -> BarColumns:
        """Bars whose start lies in ``[start_ns, end_ns)`` (columns sorted by start)."""
        import numpy as np

        lo = 0 if start_ns is None else int(np.searchsorted(self.t, start_ns, "left"))
        hi = len(self.t) if end_ns is None else int(np.searchsorted(self.t, end_ns, "left"))
        if lo == 0 and hi == len(self.t):
            return self
        return BarColumns(*(x[lo:hi] for x in self.tuple()))

    def tuple(self) -> tuple[npt.NDArray[np.int64], ...]:
        return (self.t, self.o, self.h, self.l, self.c, self.v)


class TickSource(Protocol):
    """What candles need of a ``LivePriceStream``: its kept ticks and a per-symbol hook."""

    def set_bar_hook(
        self, symbol: str, hook: Callable[[int, int, int, int], int] | None
    ) -> None: ...

    def tick_ring(self, symbol: str) -> tuple[array[int], array[int], int]: ...

    def bar_extremes(self, symbol: str) -> tuple[int, int]: ...

    def tick_count(self, symbol: str) -> int: ...

    def tick_range(
        self, symbol: str, start: int, stop: int
    ) -> tuple[array[int], array[int], array[int]]: ...

    def run_summary(
        self, symbol: str, start: int, stop: int
    ) -> tuple[int, int, int, int] | None: ...


class SymbolBars:
    """All timeframes in use for one symbol, folded from the stream's kept ticks.

    The tick path never calls in here tick by tick: the stream keeps the running high and low
    of the symbol's ticks and, on the first tick past the end of the current *base bar* (a
    step dividing every timeframe in use, at most a minute), calls :meth:`on_cross`. That
    folds the base bar (open and close read from the ring, high and low from the stream, the
    peak cumulative volume in one C-level pass) into every series once. Reads add the base bar
    in progress. The ring must hold a base bar of ticks (it keeps 100,000 by default).
    """

    __slots__ = (
        "done",
        "end",
        "g",
        "mark",
        "on_close",
        "origin",
        "ring_cap",
        "ring_last",
        "ring_vol",
        "series",
        "source",
        "symbol",
        "timeframes",
    )

    def __init__(
        self, symbol: str, source: TickSource, on_close: BarCallback | None = None
    ) -> None:
        self.symbol = symbol
        self.source = source
        self.on_close = on_close
        self.mark = VolumeMark()
        self.series: list[BarSeries] = []
        self.timeframes: dict[str, BarSeries] = {}
        self.done = 0  # ticks (by count) already folded into the series
        self.g = 60 * NS  # base step
        self.origin = OPEN_NS - IST_OFFSET_NS  # the 09:15 grid; IST midnight lies on it too
        self.end = -(1 << 62)  # end of the base bar in progress
        self.ring_last, self.ring_vol, self.ring_cap = source.tick_ring(symbol)

    def _fold(self, stop: int, high: int, low: int) -> None:
        """Fold ticks ``done .. stop-1`` (one base bar, high/low given) into every series."""
        run = self.source.run_summary(self.symbol, self.done, stop)
        if run is not None:
            o, c, first, final = run
            cs = self.end - self.g
            v = self.mark.run(first, final, cs)
            for s in self.series:
                s.fold(cs, o, high, low, c, v)
        self.done = stop

    def on_cross(self, ts_ns: int, high: int, low: int, n: int) -> int:
        """The stream's hook: tick number ``n - 1``, at ``ts_ns``, passed the base bar's end.
        Folds the base bar's ticks (all before it: open/close and volumes read from the ring),
        closes the bars that ended, returns the next end."""
        stop = n - 1
        start = max(self.done, n - self.ring_cap)
        self.done = stop
        if stop > start:
            cap = self.ring_cap
            p0, p1 = start % cap, (stop - 1) % cap
            o, c = self.ring_last[p0], self.ring_last[p1]
            first, final = self.ring_vol[p0], self.ring_vol[p1]
            cs = self.end - self.g
            v = self.mark.run(first, final, cs)
            for s in self.series:  # s.fold() and s.close_before(), inlined: once a base bar
                if cs < s.end:
                    if high > s.h:
                        s.h = high
                    if low < s.l:
                        s.l = low
                    s.c = c
                    s.v += v
                else:
                    s.fold(cs, o, high, low, c, v)
                if ts_ns >= s.end:
                    s.close_before(ts_ns)
        else:
            for s in self.series:
                s.close_before(ts_ns)
        self.end = ts_ns - (ts_ns - self.origin) % self.g + self.g
        return self.end

    def add(self, timeframe: str) -> BarSeries:
        """The series of ``timeframe`` (created on first use and back-filled from every tick
        the stream keeps). The caller re-arms the stream hook, whose next tick starts a new
        base bar."""
        tf = parse_timeframe(timeframe)
        s = self.timeframes.get(tf)
        if s is not None:
            return s
        n = self.source.tick_count(self.symbol)
        if self.series:
            self._fold(n, *self.source.bar_extremes(self.symbol))
        s = BarSeries(self.symbol, tf, None)
        self.g = gcd(60, TIMEFRAMES[tf], *(TIMEFRAMES[x] for x in self.timeframes)) * NS
        self._replay(s, self.mark if not self.series else VolumeMark(), n)
        s.on_close = self.on_close
        self.timeframes[tf] = s
        self.series.append(s)
        self.done = n
        self.end = -(1 << 62)
        return s

    def _replay(self, s: BarSeries, mark: VolumeMark, n: int) -> None:
        """Back-fill ``s`` from the kept ticks, base bar by base bar as the stream would."""
        ts, last, vol = self.source.tick_range(self.symbol, 0, n)
        g, origin = self.g, self.origin
        end = -(1 << 62)
        o = h = low = c = first = final = 0
        for i in range(len(ts)):
            t, p = ts[i], last[i]
            if t >= end:
                if i:
                    s.fold(end - g, o, h, low, c, mark.run(first, final, end - g))
                    s.close_before(t)
                end = t - (t - origin) % g + g
                o = h = low = p
                first = vol[i]
            elif p > h:
                h = p
            elif p < low:
                low = p
            c, final = p, vol[i]
        if len(ts):
            s.fold(end - g, o, h, low, c, mark.run(first, final, end - g))

    def pending(self) -> Chunk | None:
        """The ticks of the base bar in progress, folded (volume from a copy of the mark)."""
        run = self.source.run_summary(self.symbol, self.done, self.source.tick_count(self.symbol))
        if run is None:
            return None
        o, c, first, peak = run
        high, low = self.source.bar_extremes(self.symbol)
        cs = self.end - self.g
        return (cs, o, high, low, c, self.mark.copy().run(first, peak, cs))

    def columns(self, timeframe: str) -> BarColumns:
        return self.add(timeframe).columns(self.pending())

    def live(self, timeframe: str) -> Bar | None:
        """The bar in progress of ``timeframe`` (``None`` before any tick)."""
        rows = self.add(timeframe).live_rows(self.pending())
        if not rows:
            return None
        return Bar(self.symbol, parse_timeframe(timeframe), *rows[-1])


def bars_frame(cols: BarColumns) -> pd.DataFrame:
    """OHLCV DataFrame indexed by the IST-aware bar start: prices float rupees (each converted
    once from exact paise, as in :mod:`livetrade.frames`), volume int64."""
    import pandas as pd

    index = pd.DatetimeIndex(
        pd.to_datetime(cols.t, unit="ns", utc=True).tz_convert("Asia/Kolkata"), name="start"
    )
    return pd.DataFrame(
        {
            "open": cols.o / 100,
            "high": cols.h / 100,
            "low": cols.l / 100,
            "close": cols.c / 100,
            "volume": cols.v.astype("int64"),
        },
        index=index,
    )


def merge(history: BarColumns, live: BarColumns) -> BarColumns:
    """History and live bars as one sorted series without duplicates or gaps.

    Live bars win where both have a bar, except the first live bar, which usually started
    mid-bar: if history has that bar too it is combined (history's open, the wider high/low,
    live close, volumes added) -- exact when the history stops where the live ticks begin, as
    the simulated past does. History bars after that fill the bars live never saw (a
    disconnect)."""
    import numpy as np

    if not len(history):
        return live
    if not len(live):
        return history
    first = live.t[0]
    keep = ~np.isin(history.t, live.t)
    t = np.concatenate([history.t[keep], live.t])
    order = np.argsort(t, kind="stable")
    merged = [
        np.concatenate([h[keep], lv])[order]
        for h, lv in zip(history.tuple(), live.tuple(), strict=True)
    ]
    i = int(np.searchsorted(history.t, first))
    if i < len(history.t) and history.t[i] == first:
        j = int(np.searchsorted(merged[0], first))
        merged[1][j] = history.o[i]
        merged[2][j] = max(history.h[i], merged[2][j])
        merged[3][j] = min(history.l[i], merged[3][j])
        merged[5][j] = history.v[i] + merged[5][j]
    return BarColumns(*merged)


def from_rows(rows: Sequence[Sequence[int]] | npt.NDArray[np.int64]) -> BarColumns:
    """Columns from ``(t, o, h, l, c, v)`` rows (sorted here, later duplicates win)."""
    import numpy as np

    a = np.asarray(rows, dtype=np.int64).reshape(-1, 6)
    if not len(a):
        return BarColumns.empty()
    a = a[np.argsort(a[:, 0], kind="stable")]
    a = a[np.r_[a[1:, 0] != a[:-1, 0], True]]  # the last row of each start
    return BarColumns(*(np.ascontiguousarray(a[:, k]) for k in range(6)))


def concat(parts: Iterable[BarColumns]) -> BarColumns:
    """Several column sets as one, sorted, later parts winning on equal starts."""
    import numpy as np

    items = [p for p in parts if len(p)]
    if not items:
        return BarColumns.empty()
    if len(items) == 1:
        return items[0]
    return from_rows(np.stack([np.concatenate([p.tuple()[k] for p in items]) for k in range(6)], 1))


class BarBook:
    """A session's candles: per symbol, the timeframes someone asked for (back-filled from the
    stream's kept ticks on first request, then folded as ticks arrive), plus history bars to
    merge under them. Nothing is maintained for a symbol or timeframe nobody asked for.
    """

    def __init__(self, stream: TickSource, on_close: BarCallback | None = None) -> None:
        self.stream = stream
        self.on_close = on_close
        self._symbols: dict[str, SymbolBars] = {}
        self._history: dict[tuple[str, str], BarColumns] = {}

    def symbol(self, symbol: str) -> SymbolBars:
        sb = self._symbols.get(symbol)
        if sb is None:
            sb = self._symbols[symbol] = SymbolBars(symbol, self.stream, self.on_close)
        return sb

    def series(self, symbol: str, timeframe: str) -> BarSeries:
        """``symbol``'s series of ``timeframe``, created on first use."""
        sb = self.symbol(symbol)
        tf = parse_timeframe(timeframe)
        s = sb.timeframes.get(tf)
        if s is None:
            s = sb.add(tf)
            self.stream.set_bar_hook(symbol, sb.on_cross)
        return s

    def live(self, symbol: str, timeframe: str) -> Bar | None:
        self.series(symbol, timeframe)
        return self.symbol(symbol).live(timeframe)

    def add_history(self, symbol: str, timeframe: str, cols: BarColumns) -> None:
        """Keep ``cols`` (past bars) to merge under the live ones; newer loads win."""
        key = (symbol, parse_timeframe(timeframe))
        old = self._history.get(key)
        self._history[key] = cols if old is None else concat([old, cols])

    def history(self, symbol: str, timeframe: str) -> BarColumns:
        return self._history.get((symbol, parse_timeframe(timeframe)), BarColumns.empty())

    def live_columns(self, symbol: str, timeframe: str) -> BarColumns:
        """Only the bars built from ticks (the last one live)."""
        self.series(symbol, timeframe)
        return self.symbol(symbol).columns(timeframe)

    def columns(
        self, symbol: str, timeframe: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> BarColumns:
        """History and live bars of ``symbol`` merged, starts in ``[start_ns, end_ns)``."""
        live = self.live_columns(symbol, timeframe)
        return merge(self.history(symbol, timeframe), live).between(start_ns, end_ns)

    def close(self) -> None:
        """Stop building (unhooks every symbol)."""
        for symbol in self._symbols:
            self.stream.set_bar_hook(symbol, None)
        self._symbols.clear()


def describe(cols: BarColumns) -> dict[str, Any]:
    """A small summary (bars, first/last start) for reprs and logs."""
    if not len(cols):
        return {"bars": 0}
    return {
        "bars": len(cols),
        "first": ns_to_datetime(int(cols.t[0])),
        "last": ns_to_datetime(int(cols.t[-1])),
    }
