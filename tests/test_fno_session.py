"""F&O on a paper session (#15 items 2 and 6): lots=, products, freeze, a NIFTY call round
trip with F&O charges, a short future with a bracket, lots in the DataFrames, and
open_session(derivatives=True)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest
from test_engine import state

import livetrade as lt
from livetrade import OrderRejected, Product, Side
from livetrade.fno.charges import IndianFnoCharges
from livetrade.model import IST, OrderStatus
from livetrade.money import from_paise

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday
CALL = "NSE:NIFTY26DEC24000CE"
PUT = "NSE:NIFTY26DEC24000PE"
FUT = "NSE:NIFTY26DECFUT"


async def _session(seed: int = 1, **kw: object) -> lt.Session:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=seed, realtime=False, journal=False, start=DEC_2026,
        derivatives=True, name=f"fno{seed}", wallet_balance=Decimal("5000000"),
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    await s.run_for(ticks=2)
    return s


async def test_lots_or_quantity_exactly_one() -> None:
    s = await _session()
    try:
        order = await s.buy(CALL, lots=2)
        assert order.quantity == 130 and order.status is OrderStatus.FILLED
        assert (await s.sell(CALL, 130)).quantity == 130
        before = state(s.engine)
        with pytest.raises(OrderRejected) as both:
            await s.buy(CALL, 65, lots=1)
        assert both.value.code == "INVALID_QUANTITY" and both.value.field == "lots"
        assert "not both" in both.value.reason
        with pytest.raises(OrderRejected) as neither:
            await s.buy(CALL)
        assert neither.value.field == "quantity" and "one of them" in neither.value.reason
        for bad in (0, -1, 1.5, True):
            with pytest.raises(OrderRejected) as err:
                await s.buy(CALL, lots=bad)  # type: ignore[arg-type]
            assert err.value.field == "lots"
        with pytest.raises(OrderRejected) as odd:
            await s.buy(CALL, 100)
        assert odd.value.field == "quantity" and "lot size 65" in odd.value.reason
        assert state(s.engine) == before
        assert (await s.buy("NSE:SBIN-EQ", lots=3)).quantity == 3  # a share's lot is 1
    finally:
        await s.close()


async def test_margin_and_cnc_products_by_instrument_kind() -> None:
    s = await _session()
    try:
        before = state(s.engine)
        for symbol, product, kind in (
            (CALL, "CNC", "an option"),
            (FUT, Product.CNC, "a future"),
            ("NSE:SBIN-EQ", "MARGIN", "a cash equity"),
        ):
            with pytest.raises(OrderRejected) as err:
                await s.buy(symbol, lots=1, product=product)
            assert err.value.code == "INVALID_PRODUCT" and err.value.field == "product"
            assert kind in err.value.reason and symbol in err.value.reason
        assert state(s.engine) == before
        fut = await s.buy(FUT, lots=1, product="MARGIN")
        assert fut.product is Product.MARGIN and fut.status is OrderStatus.FILLED
        assert (await s.buy(PUT, lots=1)).product is Product.INTRADAY  # the default fits both
        assert (await s.buy("NSE:SBIN-EQ", 1, product="CNC")).product is Product.CNC
        with pytest.raises(OrderRejected) as err:
            await s.buy(CALL, lots=1, product="DELIVERY")
        assert "INTRADAY, CNC or MARGIN" in err.value.reason
    finally:
        await s.close()


async def test_freeze_quantity_refused_with_slices() -> None:
    s = await _session()
    try:
        before = state(s.engine)
        with pytest.raises(OrderRejected) as err:
            await s.buy(CALL, lots=28)  # 1,820 units > NIFTY's 1,800 freeze
        assert err.value.code == "FREEZE_QUANTITY" and err.value.field == "quantity"
        assert "1800" in err.value.reason and "2 orders of at most 1755 (27 lots)" in (
            err.value.reason
        )
        assert state(s.engine) == before
        assert (await s.buy(CALL, lots=27)).quantity == 1755  # the largest legal order
    finally:
        await s.close()


async def test_nifty_call_round_trip_pnl_and_fno_charges() -> None:
    s = await _session(4)
    try:
        start_cash = s.engine.cash_paise
        top = s.stream.top(CALL)
        assert top is not None
        buy = await s.buy(CALL, lots=1, product="MARGIN")
        assert buy.fill_paise == top[1]  # a market buy at the ask
        await s.run_for(ticks=300)
        top = s.stream.top(CALL)
        assert top is not None
        sell = await s.sell(CALL, lots=1, product="MARGIN")
        assert sell.fill_paise == top[0]
        f_buy, f_sell = s.engine.fills[-2:]
        gross = (f_sell.price_paise - f_buy.price_paise) * 65
        # the same fills billed by a fresh F&O model: options brokerage ₹20 flat, STT on the
        # sell premium, stamp on the buy (fno.md §3), the day's fees as on a contract note
        model = IndianFnoCharges()
        day = date(2026, 12, 7)
        expected = [
            model.charge(CALL, True, False, 65, f_buy.price_paise, day),
            model.charge(CALL, False, False, 65, f_sell.price_paise, day),
        ]
        assert [f_buy.charges, f_sell.charges] == expected
        assert f_buy.charges.brokerage == f_sell.charges.brokerage == 2000
        assert f_buy.charges.stt == 0 and f_sell.charges.stamp == 0 and f_buy.charges.stamp > 0
        charges = f_buy.charges.total + f_sell.charges.total
        assert s.engine.cash_paise - start_cash == gross - charges
        p = s.engine.pnl_paise()
        assert p["gross_realized"] == gross and p["charges"] == charges
        row = s.positions_df(include_closed=True).iloc[0]
        assert row["realized_pnl"] == pytest.approx(gross / 100) and row["lots"] == 0
    finally:
        await s.close()


async def test_short_future_with_a_bracket() -> None:
    s = await _session(5)
    try:
        top = s.stream.top(FUT)
        assert top is not None
        bid = top[0]
        order = await s.sell(
            FUT, lots=2, product="MARGIN",
            stop_loss=from_paise(bid + 2_000), take_profit=from_paise(bid - 2_000),
        )  # fmt: skip
        assert order.status is OrderStatus.FILLED
        legs = [o for o in s.engine.open_orders(FUT) if o.oco_id is not None]
        assert sorted(o.role.value for o in legs) == ["STOP_LOSS", "TAKE_PROFIT"]
        assert all(o.side is Side.BUY and o.quantity == 130 for o in legs)
        positions = s.positions_df()
        assert list(positions.columns[-1:]) == ["lots"]
        assert positions.set_index("symbol").loc[FUT, "lots"] == -2
        orders = s.orders_df()
        assert orders.columns[-1] == "lots" and list(orders["lots"]) == [2, 2, 2]
        for _ in range(40):  # the index walks until one leg fires (a ₹20 move each way)
            await s.run_for(ticks=100)
            if not s.engine.open_orders(FUT):
                break
        statuses = sorted(o.status.value for o in legs)
        assert statuses == ["CANCELLED", "FILLED"]
        assert all(p.quantity == 0 for p in s.engine.positions(include_closed=True))
    finally:
        await s.close()


async def test_lots_columns_on_shares_and_empty_frames() -> None:
    s = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False, journal=False)
    try:
        assert "lots" in s.orders_df().columns and "lots" in s.positions_df().columns
        await s.run_for(ticks=1)
        await s.buy("NSE:SBIN-EQ", 7)
        assert list(s.positions_df()["lots"]) == [7]
        assert list(s.orders_df()["lots"]) == [7]
        assert isinstance(s.orders_df(), pd.DataFrame)
    finally:
        await s.close()


async def test_derivatives_need_the_simulated_market() -> None:
    rows = pd.DataFrame(
        {
            "timestamp": ["2026-12-07 09:15:00"],
            "symbol": ["NSE:SBIN-EQ"],
            "bid": [800.0],
            "ask": [800.05],
            "last": [800.0],
            "volume": [10],
        }
    )
    with pytest.raises(lt.InvalidInput) as err:
        await lt.open_session(
            feed="replay", replay=rows, seed=1, realtime=False, journal=False, derivatives=True
        )
    assert err.value.field == "derivatives"


async def test_journal_restores_fno_positions(tmp_path: object) -> None:
    kw = {
        "feed": "sim", "broker": "paper", "seed": 9, "realtime": False, "start": DEC_2026,
        "derivatives": True, "name": "fno-journal", "journal_dir": tmp_path,
    }  # fmt: skip
    s = await lt.open_session(**kw)  # type: ignore[arg-type]
    await s.run_for(ticks=2)
    await s.buy(CALL, lots=2, product="MARGIN")
    await s.sell(FUT, lots=1, product="MARGIN")
    held = [(p.symbol, p.product, p.quantity) for p in s.engine.positions()]
    cash = s.engine.cash_paise
    await s.close()
    again = await lt.open_session(**kw)  # type: ignore[arg-type]
    try:
        assert again.restored and again.engine.cash_paise == cash
        assert [(p.symbol, p.product, p.quantity) for p in again.engine.positions()] == held
        assert again.market is not None and CALL not in again.market.symbols  # not a walk
        assert list(again.positions_df().set_index("symbol")["lots"]) == [2, -1]
    finally:
        await again.close()
