"""Trading F&O on the engine (#15 item 2): the MARGIN and CNC products by instrument kind, the
freeze quantity, lots in the DataFrames, and P&L identities on random F&O order streams
(the session-level tests, lots= and the simulated chain, are in test_fno_session.py)."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import state
from test_properties import check_identities, fifo_realized

from livetrade import LivePriceStream, LiveTradingEngine, OrderRejected, Product, Side
from livetrade.clock import VirtualClock
from livetrade.frames import orders_frame, positions_frame
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST
from livetrade.money import IndianEquityCharges, from_paise

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday
CALL = "NSE:NIFTY26DEC24000CE"
PUT = "NSE:NIFTY26DEC24000PE"
FUT = "NSE:NIFTY26DECFUT"

# ---------------------------------------------------------------- property: random F&O streams
SEC = 1_000_000_000
EXPIRY = datetime(2026, 12, 29, 15, 40, tzinfo=IST)
_FNO = [
    Instrument(
        FUT, InstrumentKind.FUTURE, 65, 10, 1800, EXPIRY, underlying="NSE:NIFTY50-INDEX",
        segment="FO",
    ),
    Instrument(
        CALL, InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 2_400_000, "CE", "NSE:NIFTY50-INDEX",
        "FO",
    ),
    Instrument(
        PUT, InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 2_400_000, "PE", "NSE:NIFTY50-INDEX",
        "FO",
    ),
]  # fmt: skip
START = {FUT: 2_410_000, CALL: 15_000, PUT: 12_000}

fno_actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.sampled_from(list(START)), st.integers(-40, 40)),
        st.tuples(
            st.just("order"),
            st.sampled_from(list(START)),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.sampled_from([65, 130, 195, 100, 1820]),  # 100 and 1,820 are refused
            st.sampled_from(["MARKET", "LIMIT", "SL-M"]),
            st.sampled_from([Product.INTRADAY, Product.MARGIN, Product.MARGIN, Product.CNC]),
            st.integers(-20, 20),
            st.one_of(st.none(), st.integers(1, 30)),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("wait"), st.integers(1, 30)),
    ),
    min_size=5,
    max_size=50,
)


def _engine() -> LiveTradingEngine:
    clock = VirtualClock(int(DEC_2026.timestamp()) * SEC)
    stream = LivePriceStream()
    reg = InstrumentRegistry(_FNO)
    eng = LiveTradingEngine(
        Decimal("20000000"), stream, clock=clock, instruments=reg,
        charges=IndianEquityCharges(instruments=reg),
    )  # fmt: skip
    for sym, p in {**START, "NSE:SBIN-EQ": 80_000}.items():
        stream.push(sym, p, p + 10, p, 0, clock.now_ns())
    return eng


def test_margin_and_cnc_products_by_instrument_kind() -> None:
    eng = _engine()
    before = state(eng)
    for symbol, product, kind in (
        (CALL, "CNC", "an option"),
        (FUT, Product.CNC, "a future"),
        ("NSE:SBIN-EQ", "MARGIN", "a cash equity"),
    ):
        with pytest.raises(OrderRejected) as err:
            eng.submit(symbol, Side.BUY, 65, product=product)
        assert err.value.code == "INVALID_PRODUCT" and err.value.field == "product"
        assert kind in err.value.reason and symbol in err.value.reason
    with pytest.raises(OrderRejected) as err:
        eng.submit(CALL, Side.BUY, 65, product="DELIVERY")
    assert "INTRADAY, CNC or MARGIN" in err.value.reason
    assert state(eng)[:4] == before[:4]  # refusals are journaled, nothing else changes
    assert eng.submit(FUT, Side.BUY, 65, product="MARGIN").product is Product.MARGIN
    assert eng.submit(PUT, Side.SELL, 65).product is Product.INTRADAY  # the default fits both
    assert eng.submit("NSE:SBIN-EQ", Side.BUY, 1, product="CNC").product is Product.CNC


def test_freeze_quantity_refused_with_slices() -> None:
    eng = _engine()
    before = state(eng)
    with pytest.raises(OrderRejected) as err:
        eng.submit(CALL, Side.BUY, 1820)  # 28 lots: above NIFTY's 1,800 freeze
    assert err.value.code == "FREEZE_QUANTITY" and err.value.field == "quantity"
    assert "freeze quantity of 1800" in err.value.reason
    assert "2 orders of at most 1755 (27 lots)" in err.value.reason
    assert state(eng)[:4] == before[:4]
    assert eng.submit(CALL, Side.BUY, 1755).quantity == 1755  # the largest legal order


def test_lots_columns_appended() -> None:
    eng = _engine()
    eng.submit(FUT, Side.SELL, 130, product="MARGIN")
    eng.submit("NSE:SBIN-EQ", Side.BUY, 7)
    orders = orders_frame(eng.orders, eng.instruments)
    assert orders.columns[-1] == "lots" and list(orders["lots"]) == [2, 7]
    positions = positions_frame(eng.positions(), eng.instruments).set_index("symbol")
    assert positions.columns[-1] == "lots"
    assert positions.loc[FUT, "lots"] == -2 and positions.loc["NSE:SBIN-EQ", "lots"] == 7
    assert list(orders_frame(eng.orders)["lots"]) == [130, 7]  # no registry: lot 1
    assert list(orders_frame([], eng.instruments)["lots"]) == []


def run_fno(acts: list[tuple[object, ...]]) -> LiveTradingEngine:
    clock = VirtualClock(int(DEC_2026.timestamp()) * SEC)
    stream = LivePriceStream()
    reg = InstrumentRegistry(_FNO)
    eng = LiveTradingEngine(
        Decimal("20000000"), stream, clock=clock, instruments=reg,
        charges=IndianEquityCharges(instruments=reg),
    )  # fmt: skip
    px = dict(START)
    tick = {sym: reg.get(sym).tick_paise for sym in px}
    spread = {FUT: 5, CALL: 2, PUT: 2}
    for sym, p in px.items():
        stream.push(sym, p, p + spread[sym] * tick[sym], p, 0, clock.now_ns())
    for step, a in enumerate(acts):
        if a[0] == "tick":
            _, sym, move = a
            assert isinstance(sym, str) and isinstance(move, int)
            px[sym] = max(tick[sym] * 4, px[sym] + move * tick[sym])
            p = px[sym]
            stream.push(sym, p, p + spread[sym] * tick[sym], p, 0, clock.now_ns())
        elif a[0] == "wait":
            assert isinstance(a[1], int)
            clock.advance(a[1] * SEC)
        elif a[0] == "cancel":
            opens = eng.open_orders()
            assert isinstance(a[1], int)
            if opens:
                eng.cancel(opens[a[1] % len(opens)].order_id)
        else:
            _, sym, side, qty, kind, product, off, sl = a
            assert isinstance(sym, str) and isinstance(off, int)
            price = from_paise(max(tick[sym], px[sym] + off * tick[sym]))
            kw: dict[str, object] = {"product": product}
            if kind == "LIMIT":
                kw["limit_price"] = price
            if kind == "SL-M":
                kw["trigger_price"] = price
            if isinstance(sl, int):
                away = -1 if side is Side.BUY else 1
                stop = px[sym] + away * (sl + 2) * tick[sym]
                if stop > 0:
                    kw["stop_loss"] = from_paise(stop)
            before = state(eng)
            try:
                eng.submit(sym, side, qty, kind, **kw)  # type: ignore[arg-type]
            except OrderRejected as rej:
                assert rej.code and rej.reason
                assert state(eng) == before, rej
        check_identities(eng, full=step % 10 == 0)
    check_identities(eng, full=True)
    for f in eng.fills:  # every fill in whole lots, billed as F&O (₹20 or less brokerage)
        assert f.quantity % 65 == 0 and f.product is not Product.CNC
        assert f.charges.brokerage <= 2000 and f.charges.dp == 0
    return eng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fno_actions)
def test_pnl_identities_hold_on_random_fno_streams(acts: list[tuple[object, ...]]) -> None:
    eng = run_fno(acts)
    assert eng.pnl_paise()["gross_realized"] == fifo_realized(eng.fills)


def test_random_fno_streams_really_trade() -> None:
    rnd = random.Random(3)
    fills = 0
    for _ in range(5):
        acts: list[tuple[object, ...]] = []
        for _ in range(60):
            sym = rnd.choice(list(START))
            if rnd.random() < 0.5:
                acts.append(("tick", sym, rnd.randint(-40, 40)))
            else:
                acts.append(
                    ("order", sym, rnd.choice([Side.BUY, Side.SELL]), rnd.choice([65, 130]),
                     "MARKET", Product.MARGIN, 0, rnd.choice([None, 5]))
                )  # fmt: skip
        fills += len(run_fno(acts).fills)
    assert fills > 50
