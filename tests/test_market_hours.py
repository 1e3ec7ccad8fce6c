"""Market hours (#17 item 1): the calendar library against the sourced holiday tables of
exchange-rules.md §2, the session windows of §1, the pre-trade checks, and the simulated market
on the virtual clock following the calendar."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import livetrade as lt
from livetrade import LiveTradingEngine, OrderRejected, OrderStatus
from livetrade.clock import VirtualClock
from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.market_hours import OVERRIDES, MarketHours
from livetrade.model import IST, PriceQuote, datetime_to_ns
from livetrade.prices import LivePriceStream
from livetrade.request import OrderRequest

SYM = "NSE:SBIN-EQ"

# exchange-rules.md §2: NSE equity and F&O, CIRC CMTR71775 / FAOP71777 (+ CMTR72260 for 15 Jan)
NSE_2026 = [(1, 15), (1, 26), (3, 3), (3, 26), (3, 31), (4, 3), (4, 14), (5, 1), (5, 28),
            (6, 26), (9, 14), (10, 2), (10, 20), (11, 10), (11, 24), (12, 25)]  # fmt: skip
# exchange-rules.md §2: iaseth/nse-bse-holidays README.md
NSE_2025 = [(2, 26), (3, 14), (3, 31), (4, 10), (4, 14), (4, 18), (5, 1), (8, 15), (8, 27),
            (10, 2), (10, 21), (10, 22), (11, 5), (12, 25)]  # fmt: skip
SOURCED = {dt.date(2026, m, d) for m, d in NSE_2026} | {dt.date(2025, m, d) for m, d in NSE_2025}
MUHURAT_2025 = dt.date(2025, 10, 21)  # a holiday with a 13:45-14:45 session (NDTV Profit)


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=IST)


def weekdays() -> list[dt.date]:
    day, out = dt.date(2025, 1, 1), []
    while day.year < 2027:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@pytest.fixture(scope="module")
def hours() -> MarketHours:
    return MarketHours()


def test_nse_calendar_matches_the_sourced_holidays_2025_2026(hours: MarketHours) -> None:
    closed = {d for d in weekdays() if not hours.windows("NSE", d)}
    assert closed == SOURCED - {MUHURAT_2025}
    for day in SOURCED - {MUHURAT_2025}:
        assert hours.status("NSE", at(day.year, day.month, day.day)).state == "holiday"
    # the library models Muhurat 2025 at the sourced time (NDTV Profit, 22 Sep 2025)
    muhurat = hours.status("NSE", at(2025, 10, 21, 14, 0))
    assert muhurat.state == "open" and muhurat.special and "13:45-14:45" in muhurat.special
    assert hours.status("NSE", at(2025, 10, 21, 10, 0)).state == "closed"


@pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")  # exchange-calendars
def test_the_libraries_compared() -> None:
    """Why pandas-market-calendars: exchange-calendars has no NSE calendar, only XBOM."""
    xcals = pytest.importorskip("exchange_calendars")
    assert "XNSE" not in xcals.get_calendar_names() and "XBOM" in xcals.get_calendar_names()
    xbom = xcals.get_calendar("XBOM", start="2025-01-01", end="2026-12-31")
    sessions = {t.date() for t in xbom.sessions}
    assert {d for d in weekdays() if d not in sessions} == SOURCED  # Muhurat 2025 closed too


def test_each_override_is_still_needed() -> None:
    """A row the library has learned is one to delete."""
    bare = MarketHours(overrides=())
    for row in OVERRIDES:
        with_row = MarketHours(overrides=(row,))
        assert bool(bare.windows(row.exchange, row.day)) != bool(
            with_row.windows(row.exchange, row.day)
        ) or (row.holiday and not bare.windows(row.exchange, row.day))
        assert row.source.startswith("exchange-rules.md")
    budget = MarketHours().status("NSE", at(2026, 2, 1, 11, 0))
    assert budget.state == "open" and budget.special and "Budget" in budget.special


def test_sessions_through_a_day(hours: MarketHours) -> None:
    def state(h: int, m: int) -> str:
        return hours.status("NSE", at(2026, 3, 4, h, m)).state

    assert [state(8, 59), state(9, 0), state(9, 6), state(9, 7), state(9, 15)] == [
        "closed", "pre-open", "pre-open", "pre-open", "open"
    ]  # fmt: skip
    assert not hours.status("NSE", at(2026, 3, 4, 9, 7)).accepting  # matching: no entry
    assert [state(15, 29), state(15, 30), state(15, 35), state(15, 45), state(16, 0)] == [
        "open", "closed", "closed", "closing", "closed"
    ]  # fmt: skip
    late = hours.status("NSE", at(2026, 8, 3, 15, 45))  # post-close 15:50-16:00 from 3 Aug 2026
    assert late.state == "closed" and hours.status("NSE", at(2026, 8, 3, 15, 50)).state == (
        "closing"
    )
    after = hours.status("NSE", at(2026, 3, 4, 15, 35))
    assert after.next_open == at(2026, 3, 5, 9, 15)
    assert hours.status("NSE", at(2026, 3, 4, 12, 0)).next_open == at(2026, 3, 5, 9, 15)
    # Friday 3 Apr 2026 is a holiday: the next open is Monday 6 Apr
    assert hours.status("NSE", at(2026, 4, 2, 16, 30)).next_open == at(2026, 4, 6, 9, 15)


def test_pre_open_order_types(hours: MarketHours) -> None:
    kinds = hours.status("NSE", at(2026, 9, 4, 9, 6)).order_kinds  # till 4 Sep: limit + market
    assert {k.value for k in kinds} == {"LIMIT", "MARKET"}
    revised = hours.status("NSE", at(2026, 9, 7, 9, 6)).order_kinds  # CMTR74969
    assert {k.value for k in revised} == {"LIMIT"}
    assert hours.status("NSE", at(2026, 9, 7, 9, 7)).accepting  # sure until 09:08


def test_fo_windows(hours: MarketHours) -> None:
    assert hours.status("NSE", at(2026, 8, 3, 15, 35), segment="FO").state == "open"
    assert hours.status("NSE", at(2026, 7, 31, 15, 35), segment="FO").state == "closed"
    assert hours.status("NSE", at(2026, 3, 4, 9, 5), segment="FO", future=True).accepting
    assert not hours.status("NSE", at(2026, 3, 4, 9, 5), segment="FO").accepting  # options
    assert not hours.status("NSE", at(2025, 12, 5, 9, 5), segment="FO", future=True).accepting


def test_status_inputs(hours: MarketHours) -> None:
    with pytest.raises(InvalidInput) as info:
        hours.status("MCX", at(2026, 3, 4))
    assert info.value.field == "exchange"
    with pytest.raises(InvalidInput) as info:
        hours.status("NSE", dt.datetime(2026, 3, 4, 10, 0))
    assert info.value.field == "at"
    assert hours.status("BSE", at(2026, 3, 3)).state == "holiday"  # Holi on BSE too
    assert hours.status("NSE", at(2027, 3, 3)).approximate  # past the library's list
    assert lt.market_status("NSE", at(2026, 3, 4, 11)).state == "open"
    assert hours.status("NSE", datetime_to_ns(at(2026, 3, 4, 11))).state == "open"


# ------------------------------------------------------------------ the pre-trade checks


def engine_at(when: dt.datetime, calendar: MarketHours | None = None) -> LiveTradingEngine:
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=VirtualClock(when))
    eng.calendar = calendar if calendar is not None else MarketHours()
    stream.update_price_nowait(
        SYM, PriceQuote(SYM, Decimal("799.95"), Decimal("800.05"), Decimal("800"), 10, when)
    )
    return eng


def rejection(eng: LiveTradingEngine, kind: str = "LIMIT", **kw: object) -> OrderRejected:
    price = "799.00" if kind in ("LIMIT", "SL") else None
    trigger = "801.00" if kind.startswith("SL") else None
    if kind == "SL":
        price = "801.50"
    with pytest.raises(OrderRejected) as info:
        req = OrderRequest.parse(
            SYM, "BUY", 1, kind, limit_price=price, trigger_price=trigger, **kw
        )  # type: ignore[arg-type]
        eng.place(req)
    return info.value


def test_an_order_on_a_holiday_names_the_next_open() -> None:
    rej = rejection(engine_at(at(2026, 3, 3, 11, 0)))
    assert rej.code == "MARKET_CLOSED"
    assert "holiday" in rej.reason and "Wed 04 Mar 2026 09:15 IST" in rej.reason


def test_an_order_at_0905_and_at_1535() -> None:
    eng = engine_at(at(2026, 3, 4, 9, 5))
    order = eng.submit(SYM, "BUY", 1, "LIMIT", limit_price="799.00")
    assert order.is_open  # a pre-open limit order is taken
    assert rejection(eng, "SL").code == "SESSION_ORDER_TYPE"
    late = rejection(engine_at(at(2026, 3, 4, 15, 35)))
    assert late.code == "MARKET_CLOSED" and "Thu 05 Mar 2026 09:15 IST" in late.reason
    post = rejection(engine_at(at(2026, 3, 4, 15, 45)))
    assert post.code == "MARKET_CLOSED" and "post-close" in post.reason
    filled = engine_at(at(2026, 3, 4, 11)).submit(SYM, "BUY", 1)  # the market is open
    assert filled.status is OrderStatus.FILLED


def test_market_orders_after_0905_from_7_sep_2026() -> None:
    rej = rejection(engine_at(at(2026, 9, 7, 9, 6)), "MARKET")
    assert rej.code == "SESSION_ORDER_TYPE" and "LIMIT orders only" in rej.reason


def test_after_market_orders_are_off_by_default() -> None:
    rej = rejection(engine_at(at(2026, 3, 4, 16, 30)), amo=True)
    assert rej.code == "AMO_NOT_ALLOWED" and rej.field == "amo"
    allowed = MarketHours(allow_amo=True)
    held = engine_at(at(2026, 3, 4, 16, 30), allowed).place(
        OrderRequest.parse(SYM, "BUY", 1, "LIMIT", limit_price="799.00", amo=True)
    )  # allowed: held until the open (tests/test_exchange_rules.py), no longer refused
    assert held.status is OrderStatus.PENDING and held.release_ns is not None
    assert rejection(engine_at(at(2026, 3, 4, 11), allowed), amo=True).code == "AMO_NOT_ALLOWED"
    with pytest.raises(OrderRejected) as info:
        OrderRequest.parse(SYM, "BUY", 1, amo="yes")
    assert info.value.field == "amo"


def test_a_future_in_pre_open_and_an_option_not() -> None:
    fut = "NSE:NIFTY26MARFUT"
    reg = InstrumentRegistry(
        [Instrument(fut, InstrumentKind.FUTURE, lot_size=65, tick_paise=10, segment="FO")]
    )
    eng = engine_at(at(2026, 3, 4, 9, 5))
    eng.instruments = reg
    req = OrderRequest.parse(fut, "BUY", 65, "LIMIT", limit_price="23000", instruments=reg)
    with pytest.raises(OrderRejected) as info:
        eng.place(req)
    assert info.value.code == "NO_QUOTE"  # past the calendar: the future's pre-open is open


def test_no_calendar_no_hours() -> None:
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=VirtualClock(at(2026, 3, 3)))
    when = at(2026, 3, 3)
    stream.update_price_nowait(
        SYM, PriceQuote(SYM, Decimal("799.95"), Decimal("800.05"), Decimal("800"), 10, when)
    )
    order = eng.submit(SYM, "BUY", 1)  # a holiday, but nobody asked for hours
    assert order.status is OrderStatus.FILLED


# ------------------------------------------------------------------ the simulated market


async def test_simulated_market_follows_the_calendar() -> None:
    session = await lt.open_session(
        feed="sim", seed=1, realtime=False, journal=False, start=at(2026, 3, 3, 11, 0),
        respect_calendar=True, symbols=[SYM],
    )  # fmt: skip
    try:
        assert session.now == at(2026, 3, 4, 9, 15)  # Holi: the market waits for Wednesday
        assert session.market_status().state == "open"
        await session.run_for(seconds=6 * 3600 + 15 * 60)  # the whole day and one more tick
        assert session.now == at(2026, 3, 5, 9, 15)  # closed time passed in one step
        assert session.market_status().state == "open"
        times = [t.time() for t in session.quotes_df(SYM)["timestamp"]]
        assert times and all(dt.time(9, 15) <= t < dt.time(15, 30) for t in times)
        order = await session.buy(SYM, 1)
        assert order.status is OrderStatus.FILLED
    finally:
        await session.close()


async def test_start_after_the_close_and_the_default() -> None:
    s = await lt.open_session(
        feed="sim", seed=1, realtime=False, journal=False, start=at(2026, 4, 2, 16, 0),
        respect_calendar=MarketHours(), symbols=[SYM], name="cal2",
    )  # fmt: skip
    try:
        assert s.now == at(2026, 4, 6, 9, 15)  # Good Friday 3 Apr, then the weekend
    finally:
        await s.close()
    s = await lt.open_session(
        feed="sim", seed=1, realtime=False, journal=False, start=at(2026, 4, 3, 16, 0),
        symbols=[SYM], name="cal3",
    )  # fmt: skip
    try:
        assert s.calendar is None and s.engine.calendar is None
        assert s.now == at(2026, 4, 3, 16, 0)  # off by default: the simulated hours are fiction
        assert s.market_status().state == "holiday"  # still reported
        await s.run_for(ticks=3)
        assert s.now == at(2026, 4, 3, 16, 0) + dt.timedelta(seconds=3)
    finally:
        await s.close()


async def test_the_readme_example_runs() -> None:
    import ast
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Market hours and Fyers' rate limits\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    code = compile(match.group(1), "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, object] = {}
    result = eval(code, namespace)  # the README's own example
    if result is not None:
        await result
    assert namespace["session"].now == at(2026, 3, 4, 9, 15)  # type: ignore[attr-defined]
