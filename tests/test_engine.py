"""Engine: every order type, every rejection code, brackets (OCO), gap-through fills."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from conftest import SYM, tick

from livetrade import (
    KillSwitch,
    LivePriceStream,
    LiveTradingEngine,
    OrderKind,
    OrderRejected,
    OrderStatus,
    OrderType,
    PaperBroker,
    Product,
    RiskLimits,
    Role,
    Side,
)
from livetrade.clock import VirtualClock
from livetrade.engine import EngineEvent
from livetrade.money import NoCharges


def state(engine: LiveTradingEngine) -> tuple[object, ...]:
    """Everything a rejection must leave untouched."""
    return (
        engine.cash_paise,
        engine.charges_paise,
        [(o.order_id, o.status, o.quantity, o.filled_quantity) for o in engine.orders],
        [(p.symbol, p.product, p.quantity) for p in engine.positions(include_closed=True)],
        copy.deepcopy(engine.get_risk_orders()),
        len(engine.fills),
        engine._seq,
    )


def reject(engine: LiveTradingEngine, code: str, field: str | None, **kw: object) -> OrderRejected:
    before = state(engine)
    args = {"symbol": SYM, "side": Side.BUY, "quantity": 10, **kw}
    with pytest.raises(OrderRejected) as info:
        engine.submit(**args)  # type: ignore[arg-type]
    assert info.value.code == code, info.value
    assert info.value.field == field
    assert info.value.reason.endswith(".")
    assert state(engine) == before
    return info.value


# ---------------------------------------------------------------- rejections, one per code
@pytest.mark.parametrize("qty", [0, -5, 2.5, "10", True, None])
def test_invalid_quantity(engine: LiveTradingEngine, qty: object) -> None:
    reject(engine, "INVALID_QUANTITY", "quantity", quantity=qty)


@pytest.mark.parametrize("sym", ["SBIN", "", "NSE:", 42])
def test_invalid_symbol(engine: LiveTradingEngine, sym: object) -> None:
    reject(engine, "INVALID_SYMBOL", "symbol", symbol=sym)


def test_index_is_not_tradable(engine: LiveTradingEngine) -> None:
    reject(engine, "NOT_TRADABLE", "symbol", symbol="NSE:NIFTY50-INDEX")


def test_invalid_side_kind_product(engine: LiveTradingEngine) -> None:
    reject(engine, "INVALID_SIDE", "side", side="HOLD")
    reject(engine, "INVALID_ORDER_TYPE", "kind", kind="ICEBERG")
    reject(engine, "INVALID_PRODUCT", "product", product="MTF")


def test_no_quote_and_stale_quote(engine: LiveTradingEngine, clock: VirtualClock) -> None:
    reject(engine, "NO_QUOTE", "symbol", symbol="NSE:TCS-EQ")
    clock.advance(61 * 1_000_000_000)
    err = reject(engine, "STALE_QUOTE", "symbol")
    assert "61 s old" in err.reason


@pytest.mark.parametrize(
    ("kw", "code", "field"),
    [
        ({"kind": "LIMIT"}, "MISSING_PRICE", "limit_price"),
        ({"kind": "SL", "limit_price": 801}, "MISSING_PRICE", "trigger_price"),
        ({"kind": "SL-M"}, "MISSING_PRICE", "trigger_price"),
        ({"kind": "MARKET", "limit_price": 800}, "UNEXPECTED_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": 800, "trigger_price": 801}, "UNEXPECTED_PRICE",
         "trigger_price"),
        ({"kind": "LIMIT", "limit_price": "800.03"}, "INVALID_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": "800.001"}, "INVALID_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": -1}, "INVALID_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": "abc"}, "INVALID_PRICE", "limit_price"),
        ({"kind": "SL", "limit_price": 800, "trigger_price": 801}, "INVALID_PRICE", "limit_price"),
    ],
)  # fmt: skip
def test_price_arguments(
    engine: LiveTradingEngine, kw: dict[str, object], code: str, field: str
) -> None:
    reject(engine, code, field, **kw)


def test_sell_stop_limit_needs_limit_at_or_below_trigger(engine: LiveTradingEngine) -> None:
    reject(
        engine, "INVALID_PRICE", "limit_price", side=Side.SELL, kind="SL", limit_price=791,
        trigger_price=790,
    )  # fmt: skip


def test_bracket_on_the_wrong_side(engine: LiveTradingEngine) -> None:
    reject(engine, "INVALID_STOP_LOSS", "stop_loss_price", stop_loss=801)
    reject(engine, "INVALID_TAKE_PROFIT", "take_profit_price", take_profit=800)
    reject(engine, "INVALID_STOP_LOSS", "stop_loss_price", side=Side.SELL, stop_loss=799)
    reject(engine, "INVALID_TAKE_PROFIT", "take_profit_price", side=Side.SELL, take_profit=801)
    reject(engine, "INVALID_PRICE", "stop_loss_price", stop_loss="790.02")


def test_bracket_on_an_exit_is_refused(engine: LiveTradingEngine) -> None:
    engine.submit(SYM, Side.BUY, 10)
    reject(engine, "BRACKET_ON_EXIT", "stop_loss_price", side=Side.SELL, stop_loss=810)


def test_size_limits(stream: LivePriceStream, clock: VirtualClock) -> None:
    limits = RiskLimits(max_order_quantity=50, max_order_notional=Decimal("20000"))
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=clock, limits=limits)
    tick(stream, "799.95", "800.05", "800.00")
    reject(eng, "MAX_QUANTITY", "quantity", quantity=51)
    err = reject(eng, "MAX_NOTIONAL", "quantity", quantity=26)  # 26 × 800.05 > 20,000
    assert "₹20801.30" in err.reason
    eng.submit(SYM, Side.BUY, 24)


def test_rate_limit_uses_the_engine_clock(stream: LivePriceStream, clock: VirtualClock) -> None:
    eng = LiveTradingEngine(
        Decimal("1000000"), stream, clock=clock, limits=RiskLimits(max_orders_per_minute=3)
    )
    tick(stream, "799.95", "800.05", "800.00")
    for _ in range(3):
        eng.submit(SYM, Side.BUY, 1)
    reject(eng, "RATE_LIMIT", None, quantity=1)
    clock.advance(60 * 1_000_000_000)
    tick(stream, "799.95", "800.05", "800.00")
    stream.push(SYM, 79995, 80005, 80000, 1000, clock.now_ns())
    eng.submit(SYM, Side.BUY, 1)


def test_cnc_funds_and_holdings(stream: LivePriceStream, clock: VirtualClock) -> None:
    eng = LiveTradingEngine(Decimal("10000"), stream, clock=clock)
    tick(stream, "799.95", "800.05", "800.00")
    reject(eng, "INSUFFICIENT_FUNDS", "quantity", quantity=13, product="CNC")  # 13 × 800 > 10k
    eng.submit(SYM, Side.BUY, 12, product=Product.CNC)
    reject(eng, "INSUFFICIENT_HOLDINGS", "quantity", side=Side.SELL, quantity=13, product="CNC")
    # an open CNC sell reserves holdings
    eng.submit(SYM, Side.SELL, 10, "LIMIT", product="CNC", limit_price=900)
    reject(eng, "INSUFFICIENT_HOLDINGS", "quantity", side=Side.SELL, quantity=3, product="CNC")
    eng.submit(SYM, Side.SELL, 2, product="CNC")


def test_open_cnc_buys_reserve_cash(stream: LivePriceStream, clock: VirtualClock) -> None:
    eng = LiveTradingEngine(Decimal("10000"), stream, clock=clock)
    tick(stream, "799.95", "800.05", "800.00")
    eng.submit(SYM, Side.BUY, 10, "LIMIT", product="CNC", limit_price=700)  # reserves ₹7,000
    reject(eng, "INSUFFICIENT_FUNDS", "quantity", quantity=4, product="CNC")


def test_intraday_margin(stream: LivePriceStream, clock: VirtualClock) -> None:
    eng = LiveTradingEngine(Decimal("10000"), stream, clock=clock)
    tick(stream, "799.95", "800.05", "800.00")
    # 20% margin: ₹10,000 equity covers about ₹50,000 of exposure
    reject(eng, "INSUFFICIENT_MARGIN", "quantity", quantity=63)
    eng.submit(SYM, Side.BUY, 60)
    reject(eng, "INSUFFICIENT_MARGIN", "quantity", quantity=10)
    eng.submit(SYM, Side.SELL, 60)  # exits always pass the margin check


def test_kill_switch(engine: LiveTradingEngine) -> None:
    engine.submit(SYM, Side.BUY, 10)
    engine.set_kill_switch("REDUCING")
    reject(engine, "KILL_SWITCH_REDUCING", None, quantity=1)
    reject(engine, "KILL_SWITCH_REDUCING", None, side=Side.SELL, quantity=11)
    engine.submit(SYM, Side.SELL, 4)
    engine.set_kill_switch(KillSwitch.HALTED)
    reject(engine, "KILL_SWITCH", None, side=Side.SELL, quantity=1)
    engine.set_kill_switch("ACTIVE")
    engine.submit(SYM, Side.BUY, 1)
    with pytest.raises(ValueError, match="state"):
        engine.set_kill_switch("PANIC")


def test_halt_still_lets_protective_legs_fire(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    engine.submit(SYM, Side.BUY, 10, stop_loss=790)
    engine.set_kill_switch("HALTED")
    tick(stream, "789.90", "790.00", "789.95")
    assert not engine.get_active_positions()


# ---------------------------------------------------------------- order types
def test_market_orders_fill_at_the_touch(engine: LiveTradingEngine) -> None:
    buy = engine.submit(SYM, Side.BUY, 10)
    sell = engine.submit(SYM, Side.SELL, 4)
    assert buy.status is OrderStatus.FILLED and buy.executed_price == Decimal("800.05")
    assert sell.executed_price == Decimal("799.95")
    assert engine.get_active_positions()[SYM].quantity == 6


def test_limit_buy_rests_then_fills_at_the_ask_when_crossed(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    order = engine.submit(SYM, "BUY", 10, "LIMIT", limit_price="799.00")
    assert order.status is OrderStatus.OPEN and engine.resting_triggers(SYM) == 1
    tick(stream, "799.00", "799.10", "799.05")  # ask still above the limit
    assert order.status is OrderStatus.OPEN
    tick(stream, "798.40", "798.50", "798.45")  # gapped through: fills at the better ask
    assert order.status is OrderStatus.FILLED and order.executed_price == Decimal("798.50")
    assert engine.get_order_history()[-1].order_type is OrderType.LIMIT_BUY


def test_marketable_limit_fills_immediately_at_the_touch(engine: LiveTradingEngine) -> None:
    order = engine.submit(SYM, Side.SELL, 5, OrderKind.LIMIT, limit_price=790)
    assert order.status is OrderStatus.FILLED and order.executed_price == Decimal("799.95")


def test_stop_market_sell_gap_fills_at_the_bid_not_the_stop(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    engine.submit(SYM, Side.BUY, 10)
    stop = engine.submit(SYM, Side.SELL, 10, "SL-M", trigger_price=795)
    tick(stream, "795.10", "795.20", "795.05")
    assert stop.status is OrderStatus.OPEN
    tick(stream, "780.00", "780.10", "780.05")  # gap from 795.05 to 780.05
    assert stop.status is OrderStatus.FILLED and stop.executed_price == Decimal("780.00")
    assert stop.triggered


def test_stop_market_buy_triggers_on_ltp(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    stop = engine.submit(SYM, Side.BUY, 3, "SL-M", trigger_price=805)
    tick(stream, "804.95", "805.05", "804.95")  # ask above, but LTP has not traded at 805
    assert stop.status is OrderStatus.OPEN
    tick(stream, "805.50", "805.70", "805.60")
    assert stop.executed_price == Decimal("805.70")


def test_stop_limit_becomes_a_limit_after_trigger(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    engine.submit(SYM, Side.BUY, 10)
    order = engine.submit(SYM, Side.SELL, 10, "SL", trigger_price=795, limit_price=794)
    tick(stream, "790.00", "790.10", "790.05")  # triggers, but bid below the 794 limit
    assert order.triggered and order.status is OrderStatus.OPEN
    tick(stream, "794.50", "794.60", "794.55")
    assert order.status is OrderStatus.FILLED and order.executed_price == Decimal("794.50")
    assert engine.get_order_history()[-1].order_type is OrderType.LIMIT_SELL


def test_cancel(engine: LiveTradingEngine) -> None:
    order = engine.submit(SYM, Side.BUY, 10, "LIMIT", limit_price=700)
    engine.cancel(order.order_id)
    assert order.status is OrderStatus.CANCELLED
    tick(engine.price_stream, "690.00", "690.10", "690.05")
    assert order.status is OrderStatus.CANCELLED and not engine.fills
    with pytest.raises(OrderRejected) as info:
        engine.cancel(order.order_id)
    assert info.value.code == "NOT_OPEN"
    with pytest.raises(OrderRejected) as info:
        engine.cancel("nope")
    assert info.value.code == "UNKNOWN_ORDER"


def test_slippage_is_against_the_trader(stream: LivePriceStream, clock: VirtualClock) -> None:
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=clock, broker=PaperBroker(10))
    tick(stream, "799.95", "800.05", "800.00")
    buy = eng.submit(SYM, Side.BUY, 1)
    sell = eng.submit(SYM, Side.SELL, 1)
    assert buy.executed_price == Decimal("800.90")  # 800.05 × 1.001 = 800.85005 → up to tick
    assert sell.executed_price == Decimal("799.15")  # 799.95 × 0.999 = 799.15005 → down


def test_limit_not_marketable_after_slippage_keeps_resting(
    stream: LivePriceStream, clock: VirtualClock
) -> None:
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=clock, broker=PaperBroker(50))
    tick(stream, "799.95", "800.05", "800.00")
    order = eng.submit(SYM, Side.BUY, 1, "LIMIT", limit_price="800.05")
    assert order.status is OrderStatus.OPEN  # 800.05 + 0.5% slips above the limit
    tick(stream, "795.00", "795.10", "795.05")
    assert order.status is OrderStatus.FILLED and order.executed_price == Decimal("799.10")


# ---------------------------------------------------------------- brackets
def test_bracket_take_profit_cancels_stop(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    entry = engine.submit(SYM, Side.BUY, 10, stop_loss=790, take_profit=820)
    legs = [o for o in engine.orders if o.parent_id == entry.order_id]
    assert {leg.role for leg in legs} == {Role.STOP_LOSS, Role.TAKE_PROFIT}
    assert all(leg.oco_id == legs[0].oco_id for leg in legs)
    tick(stream, "820.00", "820.10", "820.05")
    tp = next(leg for leg in legs if leg.role is Role.TAKE_PROFIT)
    sl = next(leg for leg in legs if leg.role is Role.STOP_LOSS)
    assert tp.status is OrderStatus.FILLED and tp.executed_price == Decimal("820.00")
    assert sl.status is OrderStatus.CANCELLED
    assert engine.resting_triggers(SYM) == 0 or not engine.open_orders()


def test_short_bracket_mirrors(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    engine.submit(SYM, Side.SELL, 10, stop_loss=810, take_profit=780)
    assert engine.get_active_positions()[SYM].quantity == -10
    tick(stream, "810.00", "810.10", "810.05")  # short stop: buy at the ask
    assert not engine.get_active_positions()
    last = engine.get_order_history()[-1]
    assert last.order_type is OrderType.MARKET_BUY and last.executed_price == Decimal("810.10")


def test_partial_exit_shrinks_the_bracket(engine: LiveTradingEngine) -> None:
    engine.submit(SYM, Side.BUY, 10, stop_loss=790, take_profit=820)
    engine.submit(SYM, Side.SELL, 4)
    risk = engine.get_risk_orders()
    assert risk["stop_losses"][SYM][0].quantity == 6
    assert risk["take_profits"][SYM][0].quantity == 6
    engine.close_position(SYM)
    risk = engine.get_risk_orders()
    assert not any(risk["stop_losses"].values()) and not any(risk["take_profits"].values())


def test_two_brackets_each_protect_their_own_lot(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    engine.submit(SYM, Side.BUY, 10, stop_loss=790)
    engine.submit(SYM, Side.BUY, 5, stop_loss=795, take_profit=805)
    tick(stream, "794.90", "795.00", "794.95")  # only the tighter stop fires
    assert engine.get_active_positions()[SYM].quantity == 10
    risk = engine.get_risk_orders()
    assert [s.trigger_price for s in risk["stop_losses"][SYM]] == [Decimal("790.00")]
    assert not risk["take_profits"].get(SYM)


def test_one_tick_fires_many_stops_in_level_order(engine: LiveTradingEngine) -> None:
    stream = engine.price_stream
    for i in range(20):
        engine.submit(SYM, Side.BUY, 1, stop_loss=Decimal(780 + i))
    tick(stream, "770.00", "770.10", "770.05")
    assert not engine.get_active_positions()
    fills = engine.fills[20:]
    assert len(fills) == 20 and {f.price for f in fills} == {Decimal("770.00")}


def test_check_risk_orders_by_hand(engine: LiveTradingEngine) -> None:
    import asyncio

    engine.submit(SYM, Side.BUY, 10, stop_loss=790)
    asyncio.run(engine.check_risk_orders(SYM, Decimal("791")))
    assert engine.get_active_positions()
    asyncio.run(engine.check_risk_orders(SYM, Decimal("789.50")))
    assert not engine.get_active_positions()
    assert engine.get_order_history()[-1].executed_price == Decimal("799.95")  # the cached bid


# ---------------------------------------------------------------- positions and P&L
def test_fifo_realized_pnl_and_flip_to_short(stream: LivePriceStream, clock: VirtualClock) -> None:
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=clock, charges=NoCharges())
    tick(stream, "100.00", "100.00", "100.00")
    eng.submit(SYM, Side.BUY, 10)
    tick(stream, "110.00", "110.00", "110.00")
    eng.submit(SYM, Side.BUY, 10)
    tick(stream, "120.00", "120.00", "120.00")
    eng.submit(SYM, Side.SELL, 15)  # closes 10 @100 and 5 @110 → 200 + 50
    pos = eng.get_active_positions()[SYM]
    assert pos.quantity == 5 and pos.avg_buy_price == Decimal("110.0000")
    assert eng.portfolio_pnl()["gross_realized_pnl"] == Decimal("250.00")
    eng.submit(SYM, Side.SELL, 8)  # closes 5 @110 (+50), opens a 3-share short at 120
    pos = eng.get_active_positions()[SYM]
    assert pos.quantity == -3 and pos.avg_buy_price == Decimal("120.0000")
    tick(stream, "119.00", "119.00", "119.00")
    pnl = eng.portfolio_pnl()
    assert pnl["gross_realized_pnl"] == Decimal("300.00")
    assert pnl["total_unrealized_pnl"] == Decimal("3.00")
    assert pnl["portfolio_value"] == pnl["cash"] + pnl["market_value"]


def test_events_are_past_tense_and_ordered(engine: LiveTradingEngine) -> None:
    seen: list[EngineEvent] = []
    engine.add_listener(seen.append)
    engine.submit(SYM, Side.BUY, 10, stop_loss=790)
    with pytest.raises(OrderRejected):
        engine.submit(SYM, Side.BUY, 0)
    kinds = [e.kind for e in seen]
    assert kinds[:3] == ["order_accepted", "fill", "order_filled"]
    assert "position_opened" in kinds and kinds[-1] == "order_rejected"
    assert seen[-1].code == "INVALID_QUANTITY"


def test_a_failing_listener_does_not_corrupt_state(engine: LiveTradingEngine) -> None:
    def boom(_: EngineEvent) -> None:
        raise RuntimeError("user bug")

    engine.add_listener(boom)
    order = engine.submit(SYM, Side.BUY, 1)
    assert order.status is OrderStatus.FILLED and engine.get_active_positions()


def test_repr_is_informative(engine: LiveTradingEngine) -> None:
    assert "paper" in repr(engine) and "ACTIVE" in repr(engine)


# ---------------------------------------------------------------- guardrails
def test_daily_loss_limit_halts(stream: LivePriceStream, clock: VirtualClock) -> None:
    from livetrade.money import NoCharges as Free

    eng = LiveTradingEngine(
        Decimal("1000000"),
        stream,
        clock=clock,
        charges=Free(),
        limits=RiskLimits(daily_loss_limit=Decimal("500")),
    )
    seen: list[EngineEvent] = []
    eng.add_listener(seen.append)
    tick(stream, "800.00", "800.00", "800.00")
    assert not eng.check_daily_loss()  # sets the day's baseline
    eng.submit(SYM, Side.BUY, 100, stop_loss=700)
    tick(stream, "796.00", "796.00", "796.00")  # -400: within the limit
    assert not eng.check_daily_loss() and eng.kill_switch is KillSwitch.ACTIVE
    tick(stream, "794.90", "794.90", "794.90")  # -510
    assert eng.check_daily_loss() and eng.kill_switch is KillSwitch.HALTED
    assert seen[-1].kind == "kill_switch" and seen[-1].code == "DAILY_LOSS_LIMIT"
    reject(eng, "KILL_SWITCH", None, quantity=1)
    assert eng.get_risk_orders()["stop_losses"][SYM]  # protection stays


def test_kill_cancels_entries_and_optionally_flattens(engine: LiveTradingEngine) -> None:
    engine.submit(SYM, Side.BUY, 10, stop_loss=790)
    resting = engine.submit(SYM, Side.BUY, 5, "LIMIT", limit_price=700)
    assert engine.kill() == []
    assert resting.status is OrderStatus.CANCELLED and engine.kill_switch is KillSwitch.HALTED
    assert engine.get_risk_orders()["stop_losses"][SYM]  # the stop still protects the 10
    closing = engine.kill(flatten=True)
    assert [(o.side, o.quantity, o.status) for o in closing] == [
        (Side.SELL, 10, OrderStatus.FILLED)
    ]
    assert not engine.get_active_positions() and not engine.open_orders()


def test_square_off_closes_intraday_only(engine: LiveTradingEngine) -> None:
    engine.submit(SYM, Side.SELL, 10)  # an intraday short
    engine.submit(SYM, Side.BUY, 3, product="CNC")
    engine.submit(SYM, Side.BUY, 2, "LIMIT", limit_price=700)
    closed = engine.square_off()
    assert [(o.side, o.quantity) for o in closed] == [(Side.BUY, 10)]
    assert [(p.product, p.quantity) for p in engine.positions()] == [(Product.CNC, 3)]
    assert not [o for o in engine.open_orders() if o.product is Product.INTRADAY]
