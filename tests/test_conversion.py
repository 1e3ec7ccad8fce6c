"""Position conversion in paper: lots keep their prices and times, charges re-billed exactly
(INTRADAY ↔ CNC), nothing for F&O (INTRADAY ↔ MARGIN), typed refusals, journal and restore,
and the P&L/cash identities to the paisa after random baskets and conversions (hypothesis)."""

from __future__ import annotations

from contextlib import suppress
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fno_trading import CALL, FUT, _engine

from livetrade import LivePriceStream, LiveTradingEngine, OrderStatus, Product, Side
from livetrade.clock import VirtualClock
from livetrade.engine import BasketRejected, Conversion, EngineEvent
from livetrade.errors import OrderRejected
from livetrade.journal import Journal, replay, restore
from livetrade.money import Charges
from livetrade.request import OrderRequest

SEC = 1_000_000_000
DAY = 86_400 * SEC
SBIN, TCS = "NSE:SBIN-EQ", "NSE:TCS-EQ"
START = 1_748_836_800 * SEC  # 2 Jun 2025 09:30 IST


def cash_engine(wallet: str = "1000000") -> LiveTradingEngine:
    clock = VirtualClock(START)
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal(wallet), stream, clock=clock)
    for sym, p in ((SBIN, 80_000), (TCS, 350_000)):
        stream.push(sym, p - 5, p + 5, p, 0, clock.now_ns())
    return eng


def snapshot(eng: LiveTradingEngine) -> tuple[object, ...]:
    return (
        eng.cash_paise,
        eng.charges_paise,
        [
            (k, list(map(list, v.lots)), v.qty, v.cost, v.realized)
            for k, v in eng._positions.items()
        ],
        len(eng.orders),
        len(eng.fills),
    )


def conversions(eng: LiveTradingEngine) -> list[Conversion]:
    seen: list[Conversion] = []

    def on(e: EngineEvent) -> None:
        if e.kind == "position_converted" and e.conversion is not None:
            seen.append(e.conversion)

    eng.add_listener(on)
    return seen


def test_intraday_to_cnc_moves_the_lots_and_bills_delivery_buys() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 100)  # INTRADAY at the ask, 800.05
    held = eng._positions[(SBIN, Product.INTRADAY)]
    lot_ts = held.lots[0][2]
    before = eng.pnl_paise()
    conv = eng.convert(SBIN, 60, "INTRADAY", "CNC")
    v = 60 * 80_005  # 48,00,300 paise
    # delivery brokerage min(₹20, 0.3%) − intraday min(₹20, 0.03%) on the lot; GST 18% on it;
    # delivery STT 0.1% (₹48.003 → ₹48); stamp 0.015% − 0.003%
    assert conv.billed == Charges(brokerage=2000 - 1440, stt=4800, stamp=720 - 144, gst=101)
    assert conv.refunded == Charges() and conv.quantity == 60 and v == 4_800_300
    cnc = eng._positions[(SBIN, Product.CNC)]
    assert list(map(list, cnc.lots)) == [[60, 80_005, lot_ts]]
    assert list(map(list, held.lots)) == [[40, 80_005, lot_ts]]
    after = eng.pnl_paise()
    assert after["cash"] == before["cash"] - conv.billed.total
    assert after["gross_realized"] == before["gross_realized"] == 0
    assert after["unrealized"] == before["unrealized"]
    assert after["equity"] == eng.initial_paise + after["total"]
    assert {p.product: p.quantity for p in eng.positions()} == {
        Product.INTRADAY: 40,
        Product.CNC: 60,
    }


def test_converting_back_the_same_day_gives_every_paisa_back() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 100)
    charges = eng.charges_paise
    there = eng.convert(SBIN, 100, Product.INTRADAY, Product.CNC)
    back = eng.convert(SBIN, 100, Product.CNC, Product.INTRADAY)
    assert back.refunded == there.billed and back.billed == Charges()
    assert eng.charges_paise == charges
    assert eng._positions[(SBIN, Product.CNC)].qty == 0


def test_cnc_to_intraday_refunds_what_a_same_day_sell_would() -> None:
    a, b = cash_engine(), cash_engine()
    for eng in (a, b):
        eng.submit(SBIN, "BUY", 30, product="CNC")
    conv = a.convert(SBIN, 30, "CNC", "INTRADAY")
    b.submit(SBIN, "SELL", 30, product="CNC")  # matched today: the buy re-billed as intraday
    assert conv.refunded == b.refunds[0].charges and conv.refunded.total > 0
    a.submit(SBIN, "SELL", 30, product="INTRADAY")
    assert a.pnl_paise()["gross_realized"] == b.pnl_paise()["gross_realized"]


def test_a_converted_lot_joins_the_fifo_by_time() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 10, product="CNC")  # t0 @ 800.05
    eng.clock.advance(SEC)  # type: ignore[attr-defined]
    eng.price_stream.push(SBIN, 80_995, 81_005, 81_000, 0, eng.clock.now_ns())
    eng.submit(SBIN, "BUY", 10)  # t1 INTRADAY @ 810.05
    eng.clock.advance(SEC)  # type: ignore[attr-defined]
    eng.price_stream.push(SBIN, 81_995, 82_005, 82_000, 0, eng.clock.now_ns())
    eng.submit(SBIN, "BUY", 10, product="CNC")  # t2 @ 820.05
    eng.convert(SBIN, 10, "INTRADAY", "CNC")
    cnc = eng._positions[(SBIN, Product.CNC)]
    assert [lot[1] for lot in cnc.lots] == [80_005, 81_005, 82_005]
    eng.submit(SBIN, "SELL", 20, product="CNC")  # closes t0 and t1, in that order
    assert cnc.realized == (81_995 - 80_005) * 10 + (81_995 - 81_005) * 10


def refuse(eng: LiveTradingEngine, code: str, field: str, *args: object) -> None:
    before = snapshot(eng)
    with pytest.raises(OrderRejected) as err:
        eng.convert(*args)  # type: ignore[arg-type]
    assert (err.value.code, err.value.field) == (code, field), err.value
    assert err.value.reason.endswith(".")
    assert snapshot(eng) == before


def test_refusals_are_typed_and_change_nothing() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 10)
    eng.submit(TCS, "SELL", 5)  # an intraday short
    refuse(eng, "NO_POSITION", "symbol", SBIN, 5, "CNC", "INTRADAY")
    refuse(eng, "NO_POSITION", "symbol", "NSE:INFY-EQ", 5, "INTRADAY", "CNC")
    refuse(eng, "QUANTITY_ABOVE_OPEN", "quantity", SBIN, 11, "INTRADAY", "CNC")
    refuse(eng, "SAME_PRODUCT", "to_product", SBIN, 5, "INTRADAY", "intraday")
    refuse(eng, "CNC_SHORT", "to_product", TCS, 5, "INTRADAY", "CNC")
    refuse(eng, "INVALID_CONVERSION", "to_product", SBIN, 5, "INTRADAY", "MARGIN")
    refuse(eng, "INVALID_PRODUCT", "to_product", SBIN, 5, "INTRADAY", "DELIVERY")
    refuse(eng, "INVALID_PRODUCT", "from_product", SBIN, 5, "BTST", "CNC")
    refuse(eng, "INVALID_QUANTITY", "quantity", SBIN, 0, "INTRADAY", "CNC")
    refuse(eng, "INVALID_QUANTITY", "quantity", SBIN, 2.5, "INTRADAY", "CNC")
    refuse(eng, "INVALID_SYMBOL", "symbol", "SBIN", 5, "INTRADAY", "CNC")


def test_only_todays_cnc_buys_convert_and_not_into_an_opposite_position() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 10, product="CNC")
    eng.clock.advance(DAY)  # type: ignore[attr-defined]
    eng.price_stream.push(SBIN, 79_995, 80_005, 80_000, 0, eng.clock.now_ns())
    eng.submit(SBIN, "BUY", 4, product="CNC")
    refuse(eng, "NOT_TODAY", "quantity", SBIN, 5, "CNC", "INTRADAY")
    eng.submit(SBIN, "SELL", 3, product="INTRADAY")  # a short beside the holding
    refuse(eng, "OPPOSITE_POSITION", "to_product", SBIN, 4, "CNC", "INTRADAY")
    eng.submit(SBIN, "BUY", 3, product="INTRADAY")
    assert eng.convert(SBIN, 4, "CNC", "INTRADAY").quantity == 4


def test_working_cnc_sells_keep_their_shares() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 10, product="CNC")
    eng.submit(SBIN, "SELL", 8, "LIMIT", product="CNC", limit_price="900")
    refuse(eng, "QUANTITY_ABOVE_OPEN", "quantity", SBIN, 3, "CNC", "INTRADAY")
    assert eng.convert(SBIN, 2, "CNC", "INTRADAY").quantity == 2


def test_fno_converts_intraday_margin_both_sides_without_re_billing() -> None:
    eng = _engine()
    eng.submit(FUT, Side.SELL, 130)  # a short future, INTRADAY
    eng.submit(CALL, Side.BUY, 65)
    charges = eng.charges_paise
    short = eng.convert(FUT, 65, "INTRADAY", "MARGIN")
    assert short.quantity == -65 and short.billed == short.refunded == Charges()
    assert eng.convert(CALL, 65, "INTRADAY", "MARGIN").quantity == 65
    assert eng.charges_paise == charges
    refuse(eng, "INVALID_CONVERSION", "to_product", FUT, 65, "INTRADAY", "CNC")
    refuse(eng, "INVALID_QUANTITY", "quantity", FUT, 10, "INTRADAY", "MARGIN")  # not a lot
    assert {(p.symbol, p.product): p.quantity for p in eng.positions()} == {
        (FUT, Product.INTRADAY): -65,
        (FUT, Product.MARGIN): -65,
        (CALL, Product.MARGIN): 65,
    }


def test_a_bracket_never_outgrows_the_position_left() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 10, stop_loss="780")
    (leg,) = eng.open_orders()
    eng.convert(SBIN, 10, "INTRADAY", "CNC")
    assert leg.status is OrderStatus.CANCELLED  # it protected the INTRADAY position, now gone


def test_live_engines_convert_through_the_router_only() -> None:
    eng = cash_engine()
    eng.submit(SBIN, "BUY", 10)

    class Router:
        armed = True

        def refusal(self) -> None:
            return None

    eng.router = Router()  # type: ignore[assignment]
    refuse(eng, "LIVE_CONVERSION", "live", SBIN, 5, "INTRADAY", "CNC")


def test_conversions_are_journaled_restored_and_replayed(tmp_path: Path) -> None:
    eng = cash_engine()
    journal = Journal(tmp_path / "j.db")
    journal.attach(eng)
    eng.submit(SBIN, "BUY", 100)
    eng.submit(TCS, "BUY", 5, product="CNC")
    eng.convert(SBIN, 70, "INTRADAY", "CNC")
    eng.convert(TCS, 5, "CNC", "INTRADAY")
    eng.submit(SBIN, "SELL", 50, product="CNC")  # re-bills 50 of the converted lots
    journal.close()
    back = cash_engine()
    with Journal(tmp_path / "j.db") as again:
        records = list(again.records())
    restore(back, records)
    assert back.pnl_paise() == eng.pnl_paise()
    assert snapshot(back)[2] == snapshot(eng)[2]
    # a later conversion of the restored engine bills as the original would
    assert back.convert(SBIN, 20, "CNC", "INTRADAY") == eng.convert(SBIN, 20, "CNC", "INTRADAY")
    report = replay(records, cash_engine())
    assert report.ok, report.mismatches


# ---------------------------------------------------------------- properties (hypothesis)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.sampled_from([SBIN, TCS]), st.integers(-300, 300)),
        st.tuples(
            st.just("order"),
            st.sampled_from([SBIN, TCS]),
            st.sampled_from([Side.BUY, Side.BUY, Side.SELL]),
            st.integers(1, 40),
            st.sampled_from([Product.INTRADAY, Product.CNC]),
        ),
        st.tuples(
            st.just("basket"),
            st.lists(
                st.tuples(
                    st.sampled_from([SBIN, TCS]),
                    st.sampled_from([Side.BUY, Side.SELL]),
                    st.integers(1, 60),
                    st.sampled_from([Product.INTRADAY, Product.CNC]),
                ),
                min_size=1,
                max_size=4,
            ),
            st.booleans(),
        ),
        st.tuples(
            st.just("convert"),
            st.sampled_from([SBIN, TCS]),
            st.integers(1, 120),  # percent of the open position (above 100: refused)
            st.sampled_from([Product.INTRADAY, Product.CNC]),
            st.integers(0, 30),  # bought into the source product just before
        ),
        st.tuples(st.just("wait"), st.sampled_from([SEC, 3600 * SEC, DAY])),
    ),
    min_size=3,
    max_size=40,
)


def check(eng: LiveTradingEngine, convs: list[Conversion]) -> None:
    p = eng.pnl_paise()
    assert p["equity"] == p["cash"] + p["market_value"]
    assert p["equity"] == eng.initial_paise + p["total"]
    signed = sum(f.price_paise * f.quantity * int(f.side) for f in eng.fills)
    charges = (
        sum(f.charges.total for f in eng.fills)
        - sum(r.charges.total for r in eng.refunds)
        + sum(c.billed.total - c.refunded.total for c in convs)
    )
    assert p["charges"] == charges
    assert p["cash"] == eng.initial_paise - signed - charges
    for lots in eng._positions.values():
        assert lots.qty == sum(lot[0] for lot in lots.lots)
        assert lots.cost == sum(lot[0] * lot[1] for lot in lots.lots)
        assert all((lot[0] > 0) == (lots.qty > 0) for lot in lots.lots)
        assert [lot[2] for lot in lots.lots] == sorted(lot[2] for lot in lots.lots)
        if lots.product is Product.CNC:
            assert lots.qty >= 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_identities_hold_to_the_paisa_after_baskets_and_conversions(
    acts: list[tuple[object, ...]],
) -> None:
    eng = cash_engine("300000")
    convs = conversions(eng)
    px = {SBIN: 80_000, TCS: 350_000}
    for a in acts:
        if a[0] == "tick":
            sym, move = str(a[1]), int(a[2])  # type: ignore[call-overload]
            px[sym] = max(1_000, px[sym] + move * 5)
            eng.price_stream.push(sym, px[sym] - 5, px[sym] + 5, px[sym], 0, eng.clock.now_ns())
        elif a[0] == "order":
            _, sym, side, qty, product = a
            with suppress(OrderRejected):
                eng.submit(sym, side, qty, product=product)  # type: ignore[arg-type]
        elif a[0] == "basket":
            legs, unwind = a[1], bool(a[2])
            reqs = [OrderRequest.parse(s, sd, q, product=pr) for s, sd, q, pr in legs]  # type: ignore[misc]
            try:
                res = eng.place_basket(reqs, unwind=unwind)
            except BasketRejected as rej:
                assert any(leg.rejection for leg in rej.legs)
            else:
                if res.failed is not None and unwind:
                    net: dict[tuple[str, Product], int] = {}
                    for o in eng.basket_orders(res.basket_id):
                        key = (o.symbol, o.product)
                        net[key] = net.get(key, 0) + o.filled_quantity * int(o.side)
                    assert all(v == 0 for v in net.values()), net
                    assert res.live_legs == ()
        elif a[0] == "convert":
            _, sym, pct, src, buy = a
            if buy:
                with suppress(OrderRejected):
                    eng.submit(sym, Side.BUY, buy, product=src)  # type: ignore[arg-type]
            other = Product.CNC if src is Product.INTRADAY else Product.INTRADAY
            held = eng._positions.get((sym, src))  # type: ignore[arg-type]
            if not (held and held.qty):  # mostly convert what is there
                src, other, held = other, src, eng._positions.get((sym, other))  # type: ignore[arg-type]
            dst = other
            qty = max(1, abs(held.qty) * int(pct) // 100) if held else 1  # type: ignore[call-overload]
            before = eng.pnl_paise()
            try:
                conv = eng.convert(sym, qty, src, dst)  # type: ignore[arg-type]
            except OrderRejected:
                pass
            else:
                after = eng.pnl_paise()
                assert after["gross_realized"] == before["gross_realized"]
                assert after["unrealized"] == before["unrealized"]
                net_bill = conv.billed.total - conv.refunded.total
                assert after["cash"] == before["cash"] - net_bill
        else:
            eng.clock.advance(int(a[1]))  # type: ignore[attr-defined, call-overload]
            for sym, p in px.items():
                eng.price_stream.push(sym, p - 5, p + 5, p, 0, eng.clock.now_ns())
        check(eng, convs)


def test_delivery_needs_the_cash_that_intraday_leverage_did_not() -> None:
    eng = cash_engine("50000")
    eng.submit(SBIN, "BUY", 100)  # ₹80,005 on ₹50,000: intraday margin allows it
    assert eng.cash_paise < 0
    refuse(eng, "INSUFFICIENT_FUNDS", "quantity", SBIN, 10, "INTRADAY", "CNC")
    eng.submit(SBIN, "SELL", 50)
    assert eng.convert(SBIN, 40, "INTRADAY", "CNC").quantity == 40
