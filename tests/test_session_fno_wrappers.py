"""The session's F&O wrappers through the public API on a simulated session: sliced orders,
baskets with lots, position conversion, funds, positions with Greeks, weekly expiry on the
virtual clock and a journal reopened after its contract expired."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_engine import state

import livetrade as lt
from livetrade import OrderRejected, Product
from livetrade.engine.baskets import BasketRejected
from livetrade.instruments import InstrumentKind
from livetrade.model import IST, OrderStatus

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday; the weekly expires Tue 8th
CALL = "NSE:NIFTY26DEC24000CE"
PUT = "NSE:NIFTY26DEC24000PE"
FUT = "NSE:NIFTY26DECFUT"
SBIN = "NSE:SBIN-EQ"
WEEKLY = "NSE:NIFTY26D08"
NEXT_WEEKLY = "NSE:NIFTY26D15"


def _qty(s: lt.Session, symbol: str, product: Product) -> int:
    return sum(
        p.quantity for p in s.engine.positions() if (p.symbol, p.product) == (symbol, product)
    )


async def _session(seed: int = 3, start: datetime = DEC_2026, **kw: object) -> lt.Session:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=seed, realtime=False, start=start,
        derivatives=True, name=f"wrap{seed}", wallet_balance=Decimal("5000000"),
        **({"journal": "journal_dir" in kw} | kw),  # type: ignore[arg-type]
    )  # fmt: skip
    await s.run_for(ticks=2)
    return s


async def test_slice_true_returns_a_parent_whose_children_fit_the_freeze() -> None:
    s = await _session()
    try:
        parent = await s.buy(CALL, lots=60, slice=True)  # 3,900 units > NIFTY's 1,800 freeze
        assert parent.quantity == 3900 and parent.order_id.endswith("-S")
        kids = s.children(parent.order_id)
        assert len(kids) == 3 and sum(k.quantity for k in kids) == 3900
        assert all(k.quantity <= 1800 and k.quantity % 65 == 0 for k in kids)
        assert all(k.parent_id == parent.order_id for k in kids)
        assert parent.status is OrderStatus.FILLED and parent.filled_quantity == 3900
        assert [p.order_id for p in s.sliced_orders()] == [parent.order_id]
        assert _qty(s, CALL, Product.INTRADAY) == 3900
        # resting slices: cancel_sliced cancels what is still working, and only that
        bid = s.stream.top(CALL)
        assert bid is not None
        low = Decimal(max(bid[0] // 2, 5)) / 100
        out = await s.sell(CALL, lots=60, slice=True)
        assert out.status is OrderStatus.FILLED and _qty(s, CALL, Product.INTRADAY) == 0
        resting = await s.buy(CALL, lots=56, order_type="LIMIT", limit_price=low, slice=True)
        assert resting.status is OrderStatus.OPEN
        cancelled = await s.cancel_sliced(resting.order_id)
        assert len(cancelled) == 3 and all(o.status is OrderStatus.CANCELLED for o in cancelled)
        assert s.engine.sliced(resting.order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
        before = state(s.engine)
        with pytest.raises(OrderRejected) as err:
            await s.buy(CALL, lots=60)  # without slice: refused, nothing changes
        assert err.value.code == "FREEZE_QUANTITY"
        with pytest.raises(OrderRejected) as unknown:
            await s.cancel_sliced("nope")
        assert unknown.value.code == "UNKNOWN_ORDER" and unknown.value.field == "order_id"
        assert state(s.engine) == before
    finally:
        await s.close()


async def test_a_basket_with_lots_places_buys_first_and_a_refusal_places_nothing() -> None:
    s = await _session()
    try:
        result = await s.place_basket(
            [
                {"symbol": PUT, "side": "SELL", "lots": 1, "product": "MARGIN"},
                {"symbol": CALL, "side": "BUY", "lots": 2, "product": "MARGIN"},
            ]
        )
        assert result.ok and result.sequence == (1, 0)  # the hedge (the buy) first
        assert [leg.order.quantity for leg in result.legs if leg.order] == [65, 130]
        assert result.live_legs == (0, 1)
        assert {o.order_id for o in s.basket_orders(result.basket_id)} == {
            o.order_id for o in result.orders
        }
        assert all(o.basket_id == result.basket_id for o in result.orders)
        before = state(s.engine)
        with pytest.raises(OrderRejected) as err:
            await s.place_basket(
                [
                    {"symbol": CALL, "side": "BUY", "lots": 1},
                    {"symbol": PUT, "side": "SELL", "quantity": 100},  # not a multiple of 65
                ]
            )
        assert err.value.field == "legs[1].quantity" and "lot size 65" in err.value.reason
        with pytest.raises(OrderRejected) as both:
            await s.place_basket([{"symbol": CALL, "side": "BUY", "lots": 1, "quantity": 65}])
        assert both.value.field == "legs[0].lots"
        with pytest.raises(BasketRejected) as huge:  # every leg is checked before any goes
            await s.place_basket(
                [
                    {"symbol": CALL, "side": "BUY", "lots": 1},
                    {"symbol": FUT, "side": "BUY", "lots": 27, "product": "MARGIN"},
                ]
            )
        assert huge.value.field is not None and huge.value.field.startswith("legs[1].")
        assert [leg.state for leg in huge.value.legs] == ["not placed", "refused"]
        assert state(s.engine) == before
    finally:
        await s.close()


async def test_convert_an_option_to_margin_and_a_share_to_delivery() -> None:
    s = await _session()
    try:
        await s.buy(CALL, lots=2)
        conv = await s.convert(CALL, lots=1, from_product="INTRADAY", to_product="MARGIN")
        assert (conv.quantity, conv.from_product, conv.to_product) == (
            65,
            Product.INTRADAY,
            Product.MARGIN,
        )
        assert _qty(s, CALL, Product.MARGIN) == 65
        assert _qty(s, CALL, Product.INTRADAY) == 65
        await s.buy(SBIN, 10)
        shares = await s.convert(SBIN, 4, "INTRADAY", "CNC")
        assert shares.quantity == 4 and shares.billed.total > 0  # delivery STT and stamp
        assert _qty(s, SBIN, Product.CNC) == 4
        before = state(s.engine)
        for args, field, code in (
            ((CALL, 65, "INTRADAY", "CNC"), "to_product", "INVALID_CONVERSION"),
            ((SBIN, 1, "INTRADAY", "MARGIN"), "to_product", "INVALID_CONVERSION"),
            ((CALL, 100, "INTRADAY", "MARGIN"), "quantity", "INVALID_QUANTITY"),
            ((CALL, 130, "INTRADAY", "MARGIN"), "quantity", "QUANTITY_ABOVE_OPEN"),
            ((PUT, 65, "INTRADAY", "MARGIN"), "symbol", "NO_POSITION"),
            ((CALL, 65, "INTRADAY", "INTRADAY"), "to_product", "SAME_PRODUCT"),
            ((CALL, 65, "INTRADAY", "DELIVERY"), "to_product", "INVALID_PRODUCT"),
        ):
            with pytest.raises(OrderRejected) as err:
                await s.convert(*args)  # type: ignore[arg-type]
            assert (err.value.field, err.value.code) == (field, code), args
        with pytest.raises(OrderRejected) as lots:
            await s.convert(CALL, 65, "INTRADAY", "MARGIN", lots=1)
        assert lots.value.field == "lots"
        assert state(s.engine) == before
    finally:
        await s.close()


async def test_funds_block_margin_for_short_options_and_futures_only() -> None:
    s = await _session()
    try:
        f0 = s.funds()
        assert f0.margin_blocked == 0 and f0.available_cash == f0.start == Decimal("5000000")
        buy = await s.buy(CALL, lots=1, product="MARGIN")
        f1 = s.funds()
        assert f1.fno_margin == 0  # a long option pays its premium, blocks nothing
        assert f1.premium_paid == Decimal(buy.fill_paise or 0) * 65 / 100
        sell = await s.sell(PUT, lots=1, product="MARGIN")
        f2 = s.funds()
        assert f2.fno_margin > 0 and f2.premium_received == Decimal(sell.fill_paise or 0) * 65 / 100
        await s.buy(FUT, lots=1, product="MARGIN")
        f3 = s.funds()
        assert f3.fno_margin > f2.fno_margin
        for f in (f0, f1, f2, f3):  # the funds page adds up, to the paisa
            assert f.margin_blocked == f.fno_margin + f.intraday_margin
            left = f.available_cash + f.margin_blocked + f.position_value
            assert left == f.start + f.realised + f.unrealised - f.charges
        await s.sell(FUT, lots=1, product="MARGIN")
        await s.buy(PUT, lots=1, product="MARGIN")
        assert s.funds().fno_margin == 0  # closing releases it
    finally:
        await s.close()


async def test_positions_greeks_add_up_to_greeks_df_per_underlying() -> None:
    s = await _session()
    try:
        await s.buy(CALL, lots=2, product="MARGIN")
        await s.sell(PUT, lots=1, product="MARGIN")
        await s.sell(FUT, lots=1, product="MARGIN")
        await s.buy(SBIN, 5)
        df = s.positions_df()
        cols = ["underlying", "expiry", "days_to_expiry", "delta", "gamma", "theta", "vega"]
        assert set(cols) <= set(df.columns)
        fno = df[df["underlying"] == "NSE:NIFTY50-INDEX"]
        assert len(fno) == 3 and (fno["days_to_expiry"] > 0).all()
        assert df.loc[df["symbol"] == SBIN, "delta"].item() == 5
        summed = df.groupby("underlying")[["delta", "gamma", "theta", "vega"]].sum()
        g = s.greeks_df()
        for under in summed.index:
            for col in ("delta", "gamma", "theta", "vega"):
                assert summed.loc[under, col] == pytest.approx(g.loc[under, col], abs=1e-6)
        assert summed.loc["NSE:NIFTY50-INDEX", "delta"] != 0
    finally:
        await s.close()


def _weekly(s: lt.Session, prefix: str) -> list[str]:
    assert s.derivatives is not None
    return [x for x in s.derivatives.symbols if x.startswith(prefix)]


async def test_the_virtual_clock_through_the_weekly_expiry_settles_and_lists_the_next() -> None:
    s = await _session(start=datetime(2026, 12, 8, 15, 39, 30, tzinfo=IST))
    try:
        weekly = _weekly(s, WEEKLY)
        call, put = weekly[10], weekly[-11]
        assert _weekly(s, NEXT_WEEKLY) == []
        await s.buy(call, lots=1, product="MARGIN")
        await s.sell(put, lots=1, product="MARGIN")
        assert s.option_chain().attrs["expiry"].date() == date(2026, 12, 8)
        await s.run_for(ticks=40)
        assert s.engine.positions() == [] and s.funds().margin_blocked == 0
        assert {o.symbol for o in s.engine.orders if o.source == "expiry"} == {call, put}
        assert len(_weekly(s, NEXT_WEEKLY)) == len(weekly)
        chain = s.option_chain()
        assert chain.attrs["expiry"].date() == date(2026, 12, 15)
        assert chain["call_symbol"].str.startswith(NEXT_WEEKLY).all()
        assert chain["call_oi"].notna().all()
        assert s.positions_df(include_closed=True)["quantity"].eq(0).all()
        with pytest.raises(OrderRejected) as err:
            await s.buy(call, lots=1)
        assert err.value.code == "CONTRACT_EXPIRED"
    finally:
        await s.close()


async def test_a_journal_reopened_after_the_expiry_settles_the_option(tmp_path: Path) -> None:
    s = await _session(start=datetime(2026, 12, 8, 14, 0, tzinfo=IST), journal_dir=tmp_path)
    try:
        call = _weekly(s, WEEKLY)[12]
        bought = await s.buy(call, lots=1, product="MARGIN")
        assert bought.status is OrderStatus.FILLED
    finally:
        await s.close()
    again = await _session(start=datetime(2026, 12, 9, 9, 30, tzinfo=IST), journal_dir=tmp_path)
    try:
        assert again.restored
        inst = again.engine.instruments.get(call)
        assert inst.kind is InstrumentKind.OPTION and inst.lot_size == 65
        assert call not in _weekly(again, WEEKLY)  # not listed again: it no longer trades
        await again.run_for(ticks=3)
        settled = [o for o in again.engine.orders if o.source == "expiry"]
        assert [o.symbol for o in settled] == [call] and settled[0].quantity == 65
        assert again.engine.positions() == []
        assert again.market is not None and call not in again.market.symbols  # not a share
    finally:
        await again.close()
