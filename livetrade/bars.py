"""Candles built incrementally from ticks: O(1) per tick per timeframe in use, sans-I/O.

Why it looks like this:

* Prices are integer paise and times epoch nanoseconds, like the tick history in
  :mod:`livetrade.prices`; closed bars live in typed-array columns (no Python object per bar)
  and the live bar in a handful of scalar slots, so a tick that stays inside its bar is a few
  comparisons and assignments.
* Bars are aligned in IST (Asia/Kolkata, a fixed +05:30 with no DST, so the arithmetic is pure
  integers): intraday bars on a grid through the 09:15 session open (as Fyers/NSE charts draw
  them: 30min bars start 09:15, 09:45 ..., 1h bars 09:15, 10:15 ..., 15:15); ``1D`` bars by IST
  date, labelled at IST midnight as Fyers' daily candles are. Every timeframe divides a day, so
  the grid is the same on every day.
* Feeds send Fyers' *cumulative* day volume. A bar's volume is the rise of that running total
  over the bar: a fall (a stale tick) counts as zero and never lowers the high-water mark; a new
  IST day starts the total again from zero; after a reconnect the total resumes higher and the
  difference (what traded while we were away) lands in the first bar after it. The very first
  tick only sets the mark: a feed joined mid-day would otherwise put the whole day so far into
  one bar (history supplies the earlier bars).
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
    """Cumulative day volume → per-tick volume (see the module docstring for the rules)."""

    __slots__ = ("cum", "day_end")

    def __init__(self) -> None:
        self.cum = -1  # -1: no tick seen yet
        self.day_end = -(1 << 62)

    def new_day(self, ts_ns: int) -> None:
        """Called when ``ts_ns`` is past the current IST day: the running total restarts."""
        self.cum = 0 if self.cum >= 0 else -1
        self.day_end = ts_ns - (ts_ns + IST_OFFSET_NS) % DAY_NS + DAY_NS

    def delta(self, volume: int, ts_ns: int) -> int:
        if ts_ns >= self.day_end:
            self.new_day(ts_ns)
        cum = self.cum
        if cum < 0:
            self.cum = volume
            return 0
        if volume > cum:
            self.cum = volume
            return volume - cum
        return 0


class BarSeries:
    """One symbol's bars of one timeframe: closed bars in columns, the live bar in slots."""

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
        self.start = -1  # live bar start; -1: no bar yet
        self.end = -(1 << 62)  # first ts past the live bar: the first tick always rolls
        self.o = self.h = self.l = self.c = self.v = 0

    def __len__(self) -> int:
        return len(self.col_t) + (self.start != -1)

    def update(self, last: int, dv: int, ts_ns: int) -> None:
        """One tick (the inline copy in :meth:`SymbolBars.on_tick` is the hot path)."""
        if ts_ns < self.end:
            if last > self.h:
                self.h = last
            elif last < self.l:
                self.l = last
            self.c = last
            self.v += dv
        else:
            self.roll(last, dv, ts_ns)

    def roll(self, last: int, dv: int, ts_ns: int) -> None:
        """Close the live bar (if any) and open the one holding ``ts_ns``."""
        if self.start != -1:
            self.col_t.append(self.start)
            self.col_o.append(self.o)
            self.col_h.append(self.h)
            self.col_l.append(self.l)
            self.col_c.append(self.c)
            self.col_v.append(self.v)
            cb = self.on_close
            if cb is not None:
                cb(
                    Bar(
                        self.symbol, self.timeframe, self.start,
                        self.o, self.h, self.l, self.c, self.v,
                    )
                )  # fmt: skip
        start = ts_ns - (ts_ns - self.origin) % self.tf_ns
        self.start = start
        self.end = start + self.tf_ns
        self.o = self.h = self.l = self.c = last
        self.v = dv

    def live(self) -> Bar | None:
        """The bar in progress (``None`` before the first tick)."""
        if self.start == -1:
            return None
        return Bar(self.symbol, self.timeframe, self.start, self.o, self.h, self.l, self.c, self.v)

    def columns(self) -> BarColumns:
        """Every bar, closed ones then the live one, as numpy columns (a copy)."""
        import numpy as np

        cols = [
            np.frombuffer(c, dtype=np.int64).copy() if len(c) else np.empty(0, np.int64)
            for c in (self.col_t, self.col_o, self.col_h, self.col_l, self.col_c, self.col_v)
        ]
        if self.start != -1:
            live = (self.start, self.o, self.h, self.l, self.c, self.v)
            cols = [np.append(c, np.int64(x)) for c, x in zip(cols, live, strict=True)]
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


class SymbolBars:
    """All timeframes in use for one symbol, fed by the price stream's per-symbol bar hook.

    ``on_tick(last, volume, ts_ns)`` turns the cumulative volume into a per-tick volume once,
    then updates each series inline (no call per series unless a bar rolls).
    """

    __slots__ = ("mark", "on_close", "series", "symbol", "timeframes")

    def __init__(self, symbol: str, on_close: BarCallback | None = None) -> None:
        self.symbol = symbol
        self.on_close = on_close
        self.mark = VolumeMark()
        self.series: list[BarSeries] = []
        self.timeframes: dict[str, BarSeries] = {}

    def add(self, timeframe: str, ticks: Iterable[tuple[int, int, int]] = ()) -> BarSeries:
        """The series of ``timeframe`` (created on first use, back-filled from ``ticks``:
        ``(last, cumulative volume, ts_ns)`` oldest first, e.g. the stream's kept history).
        The first series also primes the volume mark from those ticks."""
        tf = parse_timeframe(timeframe)
        s = self.timeframes.get(tf)
        if s is not None:
            return s
        s = BarSeries(self.symbol, tf, None)
        mark = self.mark if not self.series else VolumeMark()
        for last, vol, ts in ticks:
            s.update(last, mark.delta(vol, ts), ts)
        s.on_close = self.on_close
        self.timeframes[tf] = s
        self.series.append(s)
        return s

    def on_tick(self, last: int, volume: int, ts_ns: int) -> None:
        """The hot path: one tick into every series in use."""
        mark = self.mark
        if ts_ns >= mark.day_end:
            mark.new_day(ts_ns)
        cum = mark.cum
        if volume > cum:
            dv = 0 if cum < 0 else volume - cum  # the first tick only sets the mark
            mark.cum = volume
        else:
            dv = 0
        for s in self.series:
            if ts_ns < s.end:
                if last > s.h:
                    s.h = last
                elif last < s.l:
                    s.l = last
                s.c = last
                s.v += dv
            else:
                s.roll(last, dv, ts_ns)


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


class TickSource(Protocol):
    """What :class:`BarBook` needs of a ``LivePriceStream``."""

    def set_bar_hook(self, symbol: str, hook: Callable[[int, int, int], None] | None) -> None: ...

    def tick_columns(self, symbol: str) -> tuple[list[int], list[int], list[int]]: ...


class BarBook:
    """A session's candles: per symbol, the timeframes someone asked for (built from the
    stream's kept ticks on first request, then tick by tick), plus history bars to merge.

    Nothing is maintained for a symbol or timeframe nobody asked for.
    """

    def __init__(self, stream: TickSource, on_close: BarCallback | None = None) -> None:
        self.stream = stream
        self.on_close = on_close
        self._symbols: dict[str, SymbolBars] = {}
        self._history: dict[tuple[str, str], BarColumns] = {}

    def series(self, symbol: str, timeframe: str) -> BarSeries:
        """``symbol``'s live series of ``timeframe``, created (and back-filled from the kept
        ticks) on first use."""
        tf = parse_timeframe(timeframe)
        sb = self._symbols.get(symbol)
        if sb is not None and tf in sb.timeframes:
            return sb.timeframes[tf]
        ts, last, vol = self.stream.tick_columns(symbol)
        ticks = zip(last, vol, ts, strict=True)
        if sb is None:
            sb = SymbolBars(symbol, self.on_close)
            s = sb.add(tf, ticks)
            self._symbols[symbol] = sb
            self.stream.set_bar_hook(symbol, sb.on_tick)
            return s
        return sb.add(tf, ticks)

    def add_history(self, symbol: str, timeframe: str, cols: BarColumns) -> None:
        """Keep ``cols`` (past bars) to merge under the live ones; newer loads win."""
        key = (symbol, parse_timeframe(timeframe))
        old = self._history.get(key)
        self._history[key] = cols if old is None else concat([old, cols])

    def history(self, symbol: str, timeframe: str) -> BarColumns:
        return self._history.get((symbol, parse_timeframe(timeframe)), BarColumns.empty())

    def columns(
        self, symbol: str, timeframe: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> BarColumns:
        """History and live bars of ``symbol`` merged, starts in ``[start_ns, end_ns)``."""
        live = self.series(symbol, timeframe).columns()
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
