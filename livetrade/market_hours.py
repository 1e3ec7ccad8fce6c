"""When NSE and BSE take orders: holidays, the pre-open, the normal market, the post-close.

Sources: ``shared/exchange-rules.md`` §1 (sessions) and §2 (holidays); each window below names
the circular that doc cites.

**Why pandas-market-calendars.** Both maintained libraries were compared on every weekday of
2025-2026 against the sourced holiday tables (tests/test_market_hours.py keeps the comparison):

* ``pandas-market-calendars`` 5.5 has an **NSE** calendar (``"NSE"``/``"XNSE"``) and a BSE one
  (``"XBOM"``). Its NSE calendar matches all 30 sourced holidays with no extra closure, and it
  models Muhurat trading as a session (21 Oct 2025 13:45-14:45 IST, the sourced timing).
* ``exchange-calendars`` 4.13 has **no NSE calendar**, only ``XBOM`` (BSE), whose 2025-2026
  closures also match the NSE table but which treats Muhurat days as closed.

So pandas-market-calendars covers both exchanges, NSE (where Fyers routes most orders) best. It
depends on exchange-calendars anyway. Neither has the Sunday Union Budget session of 1 Feb 2026,
and both list holidays only through 2026: :data:`OVERRIDES` fixes the days the library gets
wrong (each row sourced), and a day past the library's last listed year is flagged
``approximate`` (weekends only).

Order entry is allowed only where the exchange is sure to take it: a pre-open whose entry
closes at random within its last minute(s) is open here until that random close can begin.
BSE's pre-open and post-close are not in exchange-rules.md; NSE's windows are assumed for it.
Commodity and currency segments have no calendar here (their hours are not in the doc).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final, Literal

from livetrade.errors import InvalidInput
from livetrade.model import IST, OrderKind, datetime_to_ns, ns_to_datetime

__all__ = [
    "OVERRIDES",
    "MarketHours",
    "MarketStatus",
    "Override",
    "SessionState",
    "Window",
    "default_hours",
    "market_status",
]

SessionState = Literal["pre-open", "open", "closing", "closed", "holiday"]

EXCHANGES: Final = {"NSE": "NSE", "BSE": "XBOM"}  # ours -> pandas-market-calendars' name
SEGMENTS: Final = ("CM", "FO")

_RULES = "exchange-rules.md"
# exchange-rules.md §1, dates from which the windows change
PRE_OPEN_REVISED: Final = dt.date(2026, 9, 7)  # CIRC CMTR74969, 1 Jul 2026
POST_CLOSE_LATER: Final = dt.date(2026, 8, 3)  # CIRC CMTR74466, 29 May 2026
FO_PRE_OPEN_FROM: Final = dt.date(2025, 12, 8)  # CIRC FAOP71092, 3 Nov 2025
FO_CLOSE_LATER: Final = dt.date(2026, 8, 3)  # CIRC FAOP74467, 29 May 2026

REGULAR_OPEN: Final = dt.time(9, 15)
REGULAR_CLOSE: Final = dt.time(15, 30)
_LIMIT_MARKET: Final = frozenset({OrderKind.LIMIT, OrderKind.MARKET})
_LIMIT_ONLY: Final = frozenset({OrderKind.LIMIT})
_NONE: Final[frozenset[OrderKind]] = frozenset()


@dataclass(frozen=True, slots=True)
class Window:
    """One stretch of a trading day: what state the market is in and which order types it
    takes (IST wall times, ``start`` inclusive, ``end`` exclusive)."""

    state: SessionState
    name: str
    start: dt.time
    end: dt.time
    kinds: frozenset[OrderKind]
    source: str


@dataclass(frozen=True, slots=True)
class Override:
    """A day the library gets wrong: closed (``holiday`` names why) or a special session
    (``open``-``close``, normal market) on a day the library calls closed."""

    day: dt.date
    exchange: str
    name: str
    source: str
    holiday: bool = False
    open: dt.time | None = None
    close: dt.time | None = None


OVERRIDES: Final[tuple[Override, ...]] = (
    Override(
        dt.date(2026, 2, 1),
        "NSE",
        "Union Budget special session (Sunday, normal timings)",
        f"{_RULES} §2: CIRC CMTR72349, 16 Jan 2026",
        open=REGULAR_OPEN,
        close=REGULAR_CLOSE,
    ),
    Override(
        dt.date(2026, 11, 8),
        "NSE",
        "Diwali: Muhurat trading (Sunday), timings to be notified",
        f"{_RULES} §2: CIRC CMTR71775, 12 Dec 2025",
        holiday=True,
    ),
)
"""Days pandas-market-calendars 5.5 gets wrong for 2025-2026 (tests check each is still needed).
The 8 Nov 2026 Muhurat session stays closed until NSE notifies its timings."""

_NAMED: Final = {  # holiday names the sources give (others are "trading holiday")
    dt.date(2026, 1, 15): "Maharashtra municipal elections (CIRC CMTR72260)",
}


@dataclass(frozen=True, slots=True)
class _Day:
    day: dt.date
    exchange: str
    open: dt.time | None  # the normal market; None: closed all day
    close: dt.time | None
    holiday: str | None  # a weekday the exchange is shut
    special: str | None  # a session on a day that is otherwise closed (Muhurat, Budget)
    approximate: bool  # past the library's last listed year: weekends only


@dataclass(frozen=True, slots=True)
class MarketStatus:
    """Where the market is at ``at``: the state, the window, what it accepts, the next open.

    ``next_open`` is the next normal-market open that has not begun yet (tomorrow's while open).
    ``order_kinds`` are the order types the exchange takes now (empty: none).
    """

    exchange: str
    segment: str
    at: dt.datetime
    state: SessionState
    session: str
    holiday: str | None
    next_open: dt.datetime
    closes_at: dt.datetime | None
    order_kinds: frozenset[OrderKind] = field(default_factory=frozenset)
    special: str | None = None
    approximate: bool = False
    source: str = ""

    @property
    def accepting(self) -> bool:
        return bool(self.order_kinds)

    def closed_sentence(self) -> str:
        """Why no order is taken now and when it will be (for ``MARKET_CLOSED``)."""
        if self.holiday:
            h = self.holiday
            why = h if "holiday" in h.lower() else f"a holiday ({h})"
        elif self.at.weekday() >= 5 and self.special is None:
            why = "the weekend"
        elif self.state == "closing":
            why = (
                f"the {self.session} trades at the closing price, which is not simulated "
                "(MarketHours(post_close_orders=True) takes limit orders in it)"
            )
        else:
            why = self.session
        note = " (the calendar past 2026 knows weekends only)" if self.approximate else ""
        return (
            f"{self.exchange} {self.segment} is closed at {fmt_ist(self.at)}: {why}. The market "
            f"next opens {fmt_ist(self.next_open)}{note}."
        )


def fmt_ist(when: dt.datetime) -> str:
    """``Tue 03 Mar 2026 09:15 IST``."""
    return when.astimezone(IST).strftime("%a %d %b %Y %H:%M IST")


class MarketHours:
    """NSE/BSE calendar with session windows, cached per day.

    ``allow_amo``: after-market orders (Fyers ``offlineOrder``) may be asked for; off by
    default because since 1 Apr 2026 Fyers is read as refusing AMOs through the API
    (exchange-rules.md §1, unconfirmed). ``post_close_orders``: take orders in NSE's post-close
    session (trades at the closing price, which the paper engine does not simulate; off).
    """

    def __init__(
        self,
        *,
        allow_amo: bool = False,
        post_close_orders: bool = False,
        overrides: tuple[Override, ...] = OVERRIDES,
    ) -> None:
        self.allow_amo = allow_amo
        self.post_close_orders = post_close_orders
        self._overrides = {(o.exchange, o.day): o for o in overrides}
        self._years: dict[tuple[str, int], dict[dt.date, tuple[dt.time, dt.time]]] = {}
        self._covered: dict[str, int] = {}
        self._days: dict[tuple[str, dt.date], _Day] = {}
        self._trading: tuple[int, int] = (0, 0)  # the NSE CM normal session last looked up

    # ------------------------------------------------------------------ the library
    def _library(self, exchange: str, year: int) -> dict[dt.date, tuple[dt.time, dt.time]]:
        key = (exchange, year)
        sessions = self._years.get(key)
        if sessions is None:
            import pandas_market_calendars as pmc  # ~0.2 s: only when a calendar is used

            cal = pmc.get_calendar(EXCHANGES[exchange])
            if exchange not in self._covered:
                self._covered[exchange] = max(cal.holidays().holidays).astype(object).year
            sched = cal.schedule(start_date=f"{year}-01-01", end_date=f"{year}-12-31")
            sessions = {}
            for day, row in sched.iterrows():
                opens = row["market_open"].tz_convert(IST)
                closes = row["market_close"].tz_convert(IST)
                sessions[day.date()] = (opens.time(), closes.time())
            self._years[key] = sessions
        return sessions

    def _day(self, exchange: str, day: dt.date) -> _Day:
        key = (exchange, day)
        cached = self._days.get(key)
        if cached is not None:
            return cached
        sessions = self._library(exchange, day.year)
        approximate = day.year > self._covered[exchange]
        weekend = day.weekday() >= 5
        over = self._overrides.get(key)
        if over is not None and over.holiday:
            out = _Day(day, exchange, None, None, over.name, None, False)
        elif over is not None:
            out = _Day(day, exchange, over.open, over.close, None, over.name, False)
        elif day in sessions:
            opens, closes = sessions[day]
            special = None
            if (opens, closes) != (REGULAR_OPEN, REGULAR_CLOSE):
                special = f"special session {opens:%H:%M}-{closes:%H:%M} (Muhurat trading)"
            out = _Day(day, exchange, opens, closes, None, special, approximate)
        elif weekend:
            out = _Day(day, exchange, None, None, None, None, approximate)
        else:
            name = _NAMED.get(day, f"{exchange} trading holiday")
            out = _Day(day, exchange, None, None, name, None, approximate)
        self._days[key] = out
        return out

    # ------------------------------------------------------------------ windows
    def windows(
        self, exchange: str, day: dt.date, segment: str = "CM", *, future: bool = False
    ) -> tuple[Window, ...]:
        """The day's windows in time order (empty when closed). ``future``: an F&O future
        (options have no pre-open)."""
        exchange, segment = _check(exchange, segment)
        d = self._day(exchange, day)
        if d.open is None or d.close is None:
            return ()
        if d.special is not None and d.open != REGULAR_OPEN:  # Muhurat: its own short hours
            pre = _minus(d.open, 15)
            return (
                Window(
                    "pre-open",
                    "pre-open order entry",
                    pre,
                    _minus(d.open, 8),
                    _LIMIT_MARKET if segment == "CM" else _NONE,
                    "Deccan Herald 21 Oct 2025 (pre-open 13:30-13:45); entry as a regular day's",
                ),
                Window("pre-open", "pre-open matching", _minus(d.open, 8), d.open, _NONE, ""),
                Window("open", d.special, d.open, d.close, _ALL, "pandas-market-calendars"),
            )
        out: list[Window] = []
        if segment == "CM":
            out += _cm_pre_open(day)
        elif future and day >= FO_PRE_OPEN_FROM:
            out.append(
                Window(
                    "pre-open",
                    "pre-open order entry (futures)",
                    dt.time(9, 0),
                    dt.time(9, 7),
                    _LIMIT_MARKET,
                    f"{_RULES} §1: CIRC FAOP71092 (random close between the 7th and 8th minute)",
                )
            )
            out.append(_matching(dt.time(9, 7)))
        close, src = d.close, f"{_RULES} §1: CMTR72349"
        if segment == "FO" and close == REGULAR_CLOSE and day >= FO_CLOSE_LATER:
            close, src = dt.time(15, 40), f"{_RULES} §1: CIRC FAOP74467 (15:40 from 3 Aug 2026)"
        out.append(Window("open", "normal market", d.open, close, _ALL, src))
        if segment == "CM":
            start = dt.time(15, 50) if day >= POST_CLOSE_LATER else dt.time(15, 40)
            out.append(
                Window(
                    "closing",
                    "post-close session",
                    start,
                    dt.time(16, 0),
                    _LIMIT_ONLY if self.post_close_orders else _NONE,
                    f"{_RULES} §1: CMTR72349; 15:50 from 3 Aug 2026 (CMTR74466)",
                )
            )
        return tuple(out)

    # ------------------------------------------------------------------ status
    def status(
        self,
        exchange: str = "NSE",
        at: dt.datetime | int | None = None,
        *,
        segment: str = "CM",
        future: bool = False,
    ) -> MarketStatus:
        """The market at ``at`` (an aware datetime, epoch ns, or None for now)."""
        exchange, segment = _check(exchange, segment)
        when = _as_ist(at)
        d = self._day(exchange, when.date())
        clock = when.time()
        window: Window | None = None
        for w in self.windows(exchange, when.date(), segment, future=future):
            if w.start <= clock < w.end:
                window = w
                break
        nxt = self._next_open(exchange, when, segment)
        if window is not None:
            return MarketStatus(
                exchange,
                segment,
                when,
                window.state,
                window.name,
                None,
                nxt,
                dt.datetime.combine(when.date(), window.end, IST),
                window.kinds,
                d.special,
                d.approximate,
                window.source,
            )
        if d.holiday is not None:
            state: SessionState = "holiday"
            session = d.holiday
        elif d.special is not None and d.open != REGULAR_OPEN:
            state, session = "closed", f"closed except the {d.special}"
        elif d.open is not None and d.open <= clock:
            state, session = "closed", "after the close"
        elif d.open is not None:
            state, session = "closed", "before the pre-open"
        else:
            state, session = "closed", "the weekend"
        return MarketStatus(
            exchange,
            segment,
            when,
            state,
            session,
            d.holiday,
            nxt,
            None,
            _NONE,
            d.special,
            d.approximate,
            f"{_RULES} §2 / pandas-market-calendars",
        )

    def next_taking(
        self,
        exchange: str,
        at: dt.datetime | int,
        kind: OrderKind,
        *,
        segment: str = "CM",
        future: bool = False,
    ) -> dt.datetime | None:
        """The first window start after ``at`` that takes ``kind`` orders (the sentence of a
        refusal: "SL orders are next taken Wed 04 Mar 2026 09:15 IST"); None within 60 days."""
        exchange, segment = _check(exchange, segment)
        when = _as_ist(at)
        day = when.date()
        for _ in range(60):
            for w in self.windows(exchange, day, segment, future=future):
                start = dt.datetime.combine(day, w.start, IST)
                if kind in w.kinds and start > when:
                    return start
            day += dt.timedelta(days=1)
        return None

    def _next_open(self, exchange: str, when: dt.datetime, segment: str) -> dt.datetime:
        day = when.date()
        for _ in range(60):
            d = self._day(exchange, day)
            if d.open is not None:
                opens = dt.datetime.combine(day, d.open, IST)
                if opens > when:
                    return opens
            day += dt.timedelta(days=1)
        raise InvalidInput("at", f"no {exchange} session within 60 days of {when:%Y-%m-%d}")

    def next_trading_ns(self, ns: int, exchange: str = "NSE") -> int:
        """``ns`` itself during the normal market (cash segment), else the next open: the
        simulated market's clock jumps over closed time with this."""
        lo, hi = self._trading
        if lo <= ns < hi:
            return ns
        when = ns_to_datetime(ns).astimezone(IST)
        d = self._day(exchange, when.date())
        if d.open is not None and d.close is not None:
            lo = datetime_to_ns(dt.datetime.combine(when.date(), d.open, IST))
            hi = datetime_to_ns(dt.datetime.combine(when.date(), d.close, IST))
            if lo <= ns < hi:
                self._trading = (lo, hi)
                return ns
        nxt = self._next_open(exchange, when, "CM")
        d = self._day(exchange, nxt.date())
        assert d.close is not None
        close = dt.datetime.combine(nxt.date(), d.close, IST)
        self._trading = (datetime_to_ns(nxt), datetime_to_ns(close))
        return self._trading[0]


_ALL: Final = frozenset(OrderKind)


def _cm_pre_open(day: dt.date) -> list[Window]:
    """NSE cash pre-open (exchange-rules.md §1): 09:00-09:08 entry closing at random in its last
    minute, so sure until 09:07; from 7 Sep 2026 09:00-09:05 limit + market, 09:05-09:10 limit
    only closing at random in its last 2 minutes, so sure until 09:08."""
    if day >= PRE_OPEN_REVISED:
        src = f"{_RULES} §1: CIRC CMTR74969 (from 7 Sep 2026)"
        return [
            Window("pre-open", "pre-open order entry", dt.time(9, 0), dt.time(9, 5),
                   _LIMIT_MARKET, src),
            Window("pre-open", "pre-open order entry (limit orders only)", dt.time(9, 5),
                   dt.time(9, 8), _LIMIT_ONLY, src),
            _matching(dt.time(9, 8)),
        ]  # fmt: skip
    src = f"{_RULES} §1: CMTR72349 (limit and market orders; random close in the last minute)"
    return [
        Window("pre-open", "pre-open order entry", dt.time(9, 0), dt.time(9, 7), _LIMIT_MARKET,
               src),
        _matching(dt.time(9, 7)),
    ]  # fmt: skip


def _matching(start: dt.time) -> Window:
    return Window(
        "pre-open",
        "pre-open matching (no order entry until 09:15)",
        start,
        REGULAR_OPEN,
        _NONE,
        f"{_RULES} §1",
    )


def _minus(t: dt.time, minutes: int) -> dt.time:
    moved = dt.datetime.combine(dt.date(2000, 1, 1), t) - dt.timedelta(minutes=minutes)
    return moved.time()


def _check(exchange: str, segment: str) -> tuple[str, str]:
    ex = str(exchange).upper()
    if ex not in EXCHANGES:
        raise InvalidInput("exchange", f"{exchange!r} has no calendar here: NSE or BSE")
    seg = str(segment).upper()
    if seg not in SEGMENTS:
        raise InvalidInput("segment", f"{segment!r} is not CM (cash) or FO (derivatives)")
    return ex, seg


def _as_ist(at: dt.datetime | int | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(IST)
    if isinstance(at, int) and not isinstance(at, bool):
        return ns_to_datetime(at).astimezone(IST)
    if isinstance(at, dt.datetime):
        if at.tzinfo is None:
            raise InvalidInput("at", "needs a timezone (e.g. tzinfo=livetrade.model.IST)")
        return at.astimezone(IST)
    raise InvalidInput("at", f"expected a datetime or epoch ns, got {type(at).__name__}")


_DEFAULT: MarketHours | None = None


def default_hours() -> MarketHours:
    """The process-wide calendar with default settings (its caches are shared)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = MarketHours()
    return _DEFAULT


def market_status(
    exchange: str = "NSE", at: dt.datetime | int | None = None, *, segment: str = "CM"
) -> MarketStatus:
    """``lt.market_status()``: NSE (or BSE) now, or at ``at``, by the sourced calendar."""
    return default_hours().status(exchange, at, segment=segment)
