"""Simulated NIFTY futures and options (#15 item 6): listing, pricing, quotes and depth."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

import livetrade as lt
from livetrade.feeds.sim_derivatives import (
    FREEZE_FALLBACK,
    STRIKE_STEP_PAISE,
    UNDERLYING,
    SimDerivatives,
    Smile,
    expiry_datetime,
    lot_size_for,
    monthly_expiry,
    option_symbol,
    weekly_expiries,
)
from livetrade.fno import find_future, find_option, parse_ticker
from livetrade.instruments import InstrumentKind
from livetrade.model import IST
from livetrade.pricing import years_to_expiry

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday


async def _session(seed: int = 1, start: datetime | None = DEC_2026) -> lt.Session:
    """A simulated session with the derivatives attached as ``open_session(derivatives=True)``
    attaches them (built here directly so the listing's own tests need no session option)."""
    from livetrade.market_hours import default_hours

    s = await lt.open_session(
        feed="sim", broker="paper", seed=seed, realtime=False, journal=False, start=start,
        name=f"deriv{seed}",
    )  # fmt: skip
    assert s.market is not None
    s.derivatives = SimDerivatives(
        s.market, s.engine.instruments, s.clock.now_ns(), hours=default_hours()
    )
    return s


def test_expiry_rules_follow_fno_md() -> None:
    # NSE: Tuesday from 1 Sep 2025, Thursday before; monthly = the month's last one
    assert weekly_expiries(date(2026, 12, 7), 2) == [date(2026, 12, 8), date(2026, 12, 15)]
    assert weekly_expiries(date(2025, 6, 2), 1) == [date(2025, 6, 5)]
    assert monthly_expiry(2026, 12) == date(2026, 12, 29)
    assert monthly_expiry(2025, 6) == date(2025, 6, 26)
    # expiry time 15:30, 15:40 from 3 Aug 2026 (FAOP74467)
    assert expiry_datetime(date(2026, 7, 28)).hour == 15
    assert expiry_datetime(date(2026, 7, 28)).minute == 30
    assert expiry_datetime(date(2026, 12, 29)).minute == 40
    # lots: 75 from 20 Nov 2024, 65 for expiries from 6 Jan 2026 (fno.md §2)
    assert lot_size_for(date(2025, 12, 30)) == 75
    assert lot_size_for(date(2026, 1, 6)) == 65


def test_holiday_moves_the_expiry_back() -> None:
    from livetrade.market_hours import default_hours

    # fno.md §2: NSE moved the March 2026 monthly expiry from 31 to 30 March
    assert monthly_expiry(2026, 3, default_hours()) == date(2026, 3, 30)


def test_tickers_are_fyers_formats() -> None:
    assert option_symbol(date(2026, 12, 29), 2_400_000, "CE", monthly=True) == (
        "NSE:NIFTY26DEC24000CE"
    )
    assert option_symbol(date(2026, 1, 28), 2_400_000, "CE", monthly=False) == (
        "NSE:NIFTY2612824000CE"
    )
    assert option_symbol(date(2026, 10, 6), 2_405_000, "PE", monthly=False) == (
        "NSE:NIFTY26O0624050PE"
    )


async def test_listing_registered_with_real_specs() -> None:
    s = await _session()
    try:
        d = s.derivatives
        assert d is not None and len(d) == 2 + 2 * 21 * 2  # 2 futures, weekly + monthly chains
        assert d.symbols[:2] == ["NSE:NIFTY26DECFUT", "NSE:NIFTY27JANFUT"]
        reg = s.engine.instruments
        for sym in d.symbols:
            inst = reg.get(sym)
            parts = parse_ticker(sym, "NIFTY")
            assert inst.expiry is not None and inst.underlying == UNDERLYING
            assert (parts.year, parts.month) == (inst.expiry.year, inst.expiry.month)
            assert inst.lot_size == 65 and inst.freeze_qty == FREEZE_FALLBACK
            assert inst.segment == "FO"
            if inst.kind is InstrumentKind.OPTION:
                assert parts.strike_paise == inst.strike_paise
                assert inst.strike_paise is not None
                assert inst.strike_paise % STRIKE_STEP_PAISE == 0
                assert parts.option_type == inst.option_type and inst.tick_paise == 5
                assert parts.weekly == (inst.expiry.date() == date(2026, 12, 8))
            else:
                assert inst.tick_paise == 10  # index between 15,000 and 30,000 (fno.md §2)
        weekly = find_option("NIFTY", "next", "ATM", "CE", spot=24000, registry=reg, now=s.now)
        assert weekly.symbol == "NSE:NIFTY26D0824000CE"
        monthly = find_option("NIFTY", "monthly", 24500, "PE", registry=reg, now=s.now)
        assert monthly.symbol == "NSE:NIFTY26DEC24500PE"
        assert find_future("NIFTY", registry=reg, now=s.now).symbol == "NSE:NIFTY26DECFUT"
        # the default start (June 2025): Thursday expiries, lot 75
        old = await _session(seed=2, start=None)
        try:
            assert old.derivatives is not None
            inst = old.engine.instruments.get(old.derivatives.symbols[2])
            assert inst.lot_size == 75 and inst.expiry is not None
            assert inst.expiry.date() == date(2025, 6, 5)
        finally:
            await old.close()
    finally:
        await s.close()


async def test_off_by_default() -> None:
    s = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False, journal=False)
    try:
        assert s.derivatives is None
        await s.run_for(ticks=3)
        assert not any("FUT" in sym for sym in s.stream.symbols)
    finally:
        await s.close()


async def _tops(seed: int) -> dict[str, tuple[int, int, int, int]]:
    s = await _session(seed)
    try:
        await s.run_for(ticks=50)
        assert s.derivatives is not None
        tops = {}
        for sym in s.derivatives.symbols:
            top = s.stream.top(sym)
            assert top is not None
            tops[sym] = top
        return tops
    finally:
        await s.close()


async def test_chain_is_deterministic_by_seed() -> None:
    a, b, c = await _tops(7), await _tops(7), await _tops(8)
    assert a == b
    assert a != c


async def test_quotes_parity_and_carry() -> None:
    s = await _session(3)
    try:
        await s.run_for(ticks=200)
        d = s.derivatives
        assert d is not None
        spot_top = s.stream.top(UNDERLYING)
        assert spot_top is not None
        spot, ts = spot_top[2], spot_top[3]
        reg = s.engine.instruments
        checked = 0
        for sym in d.symbols:
            inst = reg.get(sym)
            top = s.stream.top(sym)
            assert top is not None and inst.expiry is not None
            bid, ask, last, _ = top
            assert 0 < bid < ask and bid % inst.tick_paise == 0 and last in (bid, ask)
            t = (int(inst.expiry.timestamp()) * 10**9 - ts) / (525_600 * 60 * 10**9)
            forward = spot * math.exp(d.rate * t)
            if inst.kind is InstrumentKind.FUTURE:  # cost of carry, within half the spread
                assert abs((bid + ask) / 2 - forward) <= (ask - bid) / 2 + inst.tick_paise
                assert forward > spot
                continue
            if inst.option_type != "CE":
                continue
            assert inst.strike_paise is not None
            put = sym[:-2] + "PE"
            ptop = s.stream.top(put)
            assert ptop is not None
            call_mid, put_mid = (bid + ask) / 2, (ptop[0] + ptop[1]) / 2
            parity = math.exp(-d.rate * t) * (forward - inst.strike_paise)
            assert abs(call_mid - put_mid - parity) <= (ask - bid), sym
            checked += 1
        assert checked == 42
    finally:
        await s.close()


async def test_smile_and_implied_vol_round_trip() -> None:
    s = await _session(4)
    try:
        d = s.derivatives
        assert d is not None
        await s.run_for(ticks=1)
        forward, price = d.theoretical(s.clock.now_ns())
        reg = s.engine.instruments
        vols = {}
        for i, sym in enumerate(d.symbols):
            inst = reg.get(sym)
            if inst.option_type != "PE" or inst.expiry is None or inst.expiry.day != 29:
                continue
            assert inst.strike_paise is not None
            t = years_to_expiry(s.now, inst.expiry)
            iv = lt.implied_vol(price[i], forward[i], inst.strike_paise, t, d.rate, "p")
            vols[inst.strike_paise] = iv
        strikes = sorted(vols)
        assert vols[strikes[0]] > vols[strikes[-1]]  # negative skew: low puts dearer
        smile = Smile()
        assert min(vols.values()) >= smile.floor
    finally:
        await s.close()


async def test_depth_on_the_contract_tick_and_lots() -> None:
    s = await _session(5)
    try:
        await s.run_for(ticks=5)
        for sym, tick in (("NSE:NIFTY26DECFUT", 10), ("NSE:NIFTY26DEC24000CE", 5)):
            depth = s.depth(sym)
            top = s.stream.top(sym)
            assert depth is not None and top is not None
            assert depth.bids[0][0] * 100 == top[0] and depth.asks[0][0] * 100 == top[1]
            for price, qty, _ in depth.bids + depth.asks:
                assert int(price * 100) % tick == 0 and qty % 65 == 0
    finally:
        await s.close()


async def test_every_n_steps_and_bad_parameters() -> None:
    s = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False, journal=False)
    try:
        assert s.market is not None
        with pytest.raises(lt.InvalidInput) as err:
            SimDerivatives(s.market, s.engine.instruments, s.clock.now_ns(), every=0)
        assert err.value.field == "every"
        d = SimDerivatives(s.market, s.engine.instruments, s.clock.now_ns(), every=3, strikes=2)
        assert len(d) == 2 + 2 * 5 * 2  # June 2025: weekly options of 5 Jun, monthly of 26 Jun
        await s.run_for(ticks=2)
        assert s.stream.top(d.symbols[0]) is None
        await s.run_for(ticks=1)
        assert s.stream.top(d.symbols[0]) is not None
    finally:
        await s.close()
