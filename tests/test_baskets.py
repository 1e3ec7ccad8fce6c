"""Multi-leg orders in paper: hedges first, all-or-none checks, unwinding a leg that fails
after others went out, one basket id per basket, journaled and restored."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import SYM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import state
from test_fno_trading import CALL, FUT, PUT, _engine
from test_properties import check_identities

from livetrade import LivePriceStream, LiveTradingEngine, OrderStatus, Product, Side
from livetrade.clock import VirtualClock
from livetrade.engine import BasketRejected
from livetrade.engine.baskets import parse_legs
from livetrade.errors import OrderRejected
from livetrade.journal import Journal, restore
from livetrade.request import OrderRequest


def req(symbol: str, side: str, qty: int, **kw: object) -> OrderRequest:
    return OrderRequest.parse(symbol, side, qty, **kw)  # type: ignore[arg-type]


def test_a_spread_goes_out_hedge_first_with_one_basket_id() -> None:
    eng = _engine()
    res = eng.place_basket([req(PUT, "SELL", 65), req(CALL, "BUY", 65), req(FUT, "SELL", 65)])
    assert res.ok and res.failed is None and not res.unwound
    assert res.sequence == (1, 0, 2)  # the buy first, then the sells in the caller's order
    orders = res.orders
    assert [o.symbol for o in orders] == [PUT, CALL, FUT]  # results in the caller's order
    assert {o.basket_id for o in orders} == {res.basket_id}
    assert res.basket_id == f"BK-{orders[1].order_id}"  # named after its first placed leg
    assert orders[1].order_id < orders[0].order_id < orders[2].order_id
    assert all(o.status is OrderStatus.FILLED for o in orders)
    assert [leg.state for leg in res.legs] == ["filled"] * 3
    assert res.live_legs == (0, 1, 2)
    assert sorted(o.order_id for o in eng.basket_orders(res.basket_id)) == sorted(
        o.order_id for o in orders
    )


def test_one_refused_leg_places_nothing_and_names_the_leg() -> None:
    eng = _engine()
    before = state(eng)
    with pytest.raises(BasketRejected) as err:
        eng.place_basket([req(CALL, "BUY", 65), req("NSE:TCS-EQ", "SELL", 1)])  # no quote
    assert err.value.field == "legs[1].symbol" and err.value.code == "NO_QUOTE"
    assert err.value.reason.startswith("Leg 2: ")
    assert [leg.state for leg in err.value.legs] == ["not placed", "refused"]
    assert state(eng)[:6] == before[:6] and eng._seq == before[6]


def test_bad_basket_shapes_are_refused_naming_legs() -> None:
    eng = _engine()
    for bad, field in (([], "legs"), ([req(CALL, "BUY", 65)] * 11, "legs"), (["x"], "legs[0]")):
        with pytest.raises(OrderRejected) as err:
            eng.place_basket(bad)  # type: ignore[arg-type]
        assert err.value.code == "INVALID_BASKET" and err.value.field == field
    assert eng.orders == []


def cash_engine() -> LiveTradingEngine:
    clock = VirtualClock(1_748_836_800 * 1_000_000_000)  # 2 Jun 2025 09:30 IST
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("100000"), stream, clock=clock)
    for sym, p in ((SYM, 80_000), ("NSE:TCS-EQ", 350_000)):
        stream.push(sym, p - 5, p + 5, p, 0, clock.now_ns())
    return eng


def test_a_leg_refused_after_others_went_out_is_unwound() -> None:
    """Each CNC buy fits the cash alone, both do not: the second is refused when placed."""
    eng = cash_engine()
    start = eng.cash_paise
    res = eng.place_basket([req(SYM, "BUY", 80, product="CNC"), req(SYM, "BUY", 80, product="CNC")])
    assert res.failed == 1 and res.unwound and not res.ok
    first, second = res.legs
    assert second.rejection is not None and second.rejection.code == "INSUFFICIENT_FUNDS"
    assert second.rejection.field == "legs[1].quantity" and second.order is None
    assert first.order is not None and first.order.status is OrderStatus.FILLED
    assert first.unwind is not None and first.unwind.status is OrderStatus.FILLED
    assert first.unwind.parent_id == first.order.order_id
    assert first.unwind.basket_id == res.basket_id and first.unwind.side is Side.SELL
    assert first.state == "unwound" and res.live_legs == ()
    assert all(p.quantity == 0 for p in eng.positions(include_closed=True))
    assert eng.cash_paise < start  # the round trip's spread and charges, nothing else
    assert eng.unwind_basket(res.basket_id) == {}  # nothing left to unwind


def test_without_unwind_the_live_legs_are_reported() -> None:
    eng = cash_engine()
    res = eng.place_basket(
        [req(SYM, "BUY", 80, product="CNC"), req(SYM, "BUY", 80, product="CNC")], unwind=False
    )
    assert res.failed == 1 and not res.unwound and res.live_legs == (0,)
    assert eng.positions()[0].quantity == 80
    undone = eng.unwind_basket(res.basket_id)  # the trader unwinds later
    assert list(undone) == [res.legs[0].order.order_id]  # type: ignore[union-attr]
    assert eng.positions() == []


def test_resting_legs_are_cancelled_on_unwind() -> None:
    """A resting CNC limit buy reserves cash, so the market leg after it no longer fits."""
    eng = cash_engine()
    start = eng.cash_paise
    res = eng.place_basket(
        [
            req(SYM, "BUY", 10, kind="LIMIT", limit_price="790", product="CNC"),
            req(SYM, "BUY", 120, product="CNC"),
        ]
    )
    assert res.failed == 1 and res.unwound
    rested = res.legs[0].order
    assert rested is not None and rested.status is OrderStatus.CANCELLED
    assert "unwound: leg 2 was refused" in rested.message
    assert res.legs[0].unwind is None and res.legs[0].state == "cancelled"
    assert eng.open_orders() == [] and eng.positions() == [] and eng.cash_paise == start


def test_baskets_survive_restore(tmp_path: Path) -> None:
    eng = _engine()
    journal = Journal(tmp_path / "j.db")
    journal.attach(eng)
    res = eng.place_basket([req(CALL, "BUY", 65), req(PUT, "SELL", 65)])
    journal.close()
    back = _engine()
    with Journal(tmp_path / "j.db") as again:
        restore(back, again.records())
    ids = {o.order_id: o.basket_id for o in back.orders}
    assert ids == {o.order_id: res.basket_id for o in res.orders}
    assert back.pnl_paise() == eng.pnl_paise()
    assert [(p.symbol, p.product, p.quantity) for p in back.positions()] == [
        (p.symbol, p.product, p.quantity) for p in eng.positions()
    ]
    assert Product.INTRADAY in {o.product for o in back.basket_orders(res.basket_id)}


# ---------------------------------------------------------------- property (hypothesis)
baskets = st.lists(
    st.tuples(
        st.lists(
            st.tuples(
                st.sampled_from([SYM, "NSE:TCS-EQ"]),
                st.sampled_from(["BUY", "BUY", "SELL"]),
                st.integers(1, 40),
                st.sampled_from(["INTRADAY", "CNC", "CNC"]),
                st.sampled_from([None, "LIMIT"]),
            ),
            min_size=1,
            max_size=5,
        ),
        st.booleans(),
        st.integers(-200, 200),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(baskets)
def test_no_silent_half_fill_and_exact_money(acts: list[tuple[object, ...]]) -> None:
    """Tight cash makes later legs fail after earlier ones filled: an unwound basket leaves
    nothing of itself behind, a kept one reports exactly its live legs, and the P&L and cash
    identities hold to the paisa throughout."""
    eng = cash_engine()
    px = {SYM: 80_000, "NSE:TCS-EQ": 350_000}
    for legs, unwind, move in acts:
        for sym in px:
            px[sym] = max(1_000, px[sym] + int(move) * 5)  # type: ignore[call-overload]
            eng.price_stream.push(sym, px[sym] - 5, px[sym] + 5, px[sym], 0, eng.clock.now_ns())
        reqs = [
            req(
                s,
                sd,
                q if s == SYM else q // 4 + 1,  # each leg fits the cash, several may not
                product=pr if sd == "BUY" else "INTRADAY",
                kind=k or "MARKET",
                limit_price=px[s] // 100 if k else None,
            )
            for s, sd, q, pr, k in legs  # type: ignore[attr-defined]
        ]
        try:
            res = eng.place_basket(reqs, unwind=bool(unwind))
        except BasketRejected as rej:
            assert any(leg.rejection is not None for leg in rej.legs)
            assert all(leg.order is None for leg in rej.legs)
        else:
            assert len({o.basket_id for o in res.orders}) == 1
            if res.failed is not None:
                assert res.legs[res.failed].rejection is not None
                assert all(
                    res.legs[i].order is None
                    for i in res.sequence[res.sequence.index(res.failed) + 1 :]
                )
            if res.failed is not None and unwind:
                net: dict[tuple[str, Product], int] = {}
                for o in eng.basket_orders(res.basket_id):
                    assert not o.is_open
                    key = (o.symbol, o.product)
                    net[key] = net.get(key, 0) + o.filled_quantity * int(o.side)
                assert all(v == 0 for v in net.values()), net
                assert res.live_legs == ()
            else:
                assert set(res.live_legs) == {
                    leg.index
                    for leg in res.legs
                    if leg.order is not None and (leg.order.is_open or leg.order.filled_quantity)
                }
        check_identities(eng)


def test_legs_from_user_input_name_the_leg() -> None:
    eng = _engine()
    legs = parse_legs(
        [
            {"symbol": CALL, "side": "BUY", "quantity": 65},
            {"symbol": PUT, "side": "SELL", "quantity": 65, "product": "MARGIN"},
        ],
        instruments=eng.instruments,
    )
    assert [(r.symbol, r.side, r.product) for r in legs] == [
        (CALL, Side.BUY, Product.INTRADAY),
        (PUT, Side.SELL, Product.MARGIN),
    ]
    for bad, field in (
        ([{"symbol": CALL, "side": "BUY", "quantity": 10}], "legs[0].quantity"),  # not a lot
        ([legs[0], {"symbol": PUT, "side": "HOLD", "quantity": 65}], "legs[1].side"),
        ([{"symbol": PUT, "side": "BUY", "quantity": 65, "price": 1}], "legs[0]"),
        ([42], "legs[0]"),
        ({"symbol": PUT}, "legs"),
    ):
        with pytest.raises(OrderRejected) as err:
            parse_legs(bad, instruments=eng.instruments)  # type: ignore[arg-type]
        assert err.value.field == field, err.value


class StubRouter:
    """A live router that records what the engine hands it."""

    armed = True

    def __init__(self) -> None:
        self.baskets: list[list[str]] = []
        self.cancels: list[str] = []

    def refusal(self) -> None:
        return None

    def place(self, order: object) -> None:
        raise AssertionError("basket legs go out together")

    def place_basket(self, orders: list[object]) -> None:
        self.baskets.append([o.order_id for o in orders])  # type: ignore[attr-defined]

    def cancel(self, order: object, why: str) -> None:
        self.cancels.append(order.order_id)  # type: ignore[attr-defined]


def test_live_legs_are_journaled_then_sent_together_or_not_at_all() -> None:
    eng = cash_engine()
    stub = StubRouter()
    eng.router = stub  # type: ignore[assignment]
    ok = eng.place_basket([req(SYM, "SELL", 5), req(SYM, "BUY", 10, product="CNC")])
    assert stub.baskets == [[ok.orders[1].order_id, ok.orders[0].order_id]]  # buy first
    assert all(o.status is OrderStatus.PENDING and o.live for o in ok.orders)
    # the second CNC buy no longer fits once the first reserves the cash: nothing is sent,
    # the first (journaled, never sent) is cancelled through the router
    leg = req(SYM, "BUY", 80, kind="LIMIT", limit_price="800.05", product="CNC")
    bad = eng.place_basket([leg, leg])
    assert bad.failed == 1 and stub.baskets == [stub.baskets[0]]
    assert stub.cancels == [bad.orders[0].order_id]
