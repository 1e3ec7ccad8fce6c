"""The reshaped core: a request parsed once, one small named function per pre-trade rule run
from one list, and one table of order state transitions."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from conftest import SYM, quote
from hypothesis import given
from hypothesis import strategies as st

from livetrade import (
    LiveTradingEngine,
    OrderKind,
    OrderRejected,
    OrderStatus,
    PriceQuote,
    Product,
    Side,
    risk,
)
from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import ORDER_TRANSITIONS, IllegalTransition, Order, transition
from livetrade.request import OrderRequest
from livetrade.risk import PRE_TRADE_CHECKS, PreTrade, first_rejection, reference_price

NAMES = {
    "check_kill_switch",
    "check_amo",
    "check_pre_open_matching",
    "check_market_open",
    "check_pre_open_order_type",
    "check_pre_open_market_freeze",
    "check_session_order_type",
    "check_quote_present",
    "check_feed_alive",
    "check_quote_fresh",
    "check_tick",
    "check_price_band",
    "check_bracket_sides",
    "check_quantity",
    "check_notional",
    "check_bracket_on_exit",
    "check_reducing_only",
    "check_rate",
    "check_funds",
    "check_holdings",
    "check_margin",
}


def test_every_rule_is_one_named_function_in_one_list() -> None:
    assert {c.__name__ for c in PRE_TRADE_CHECKS} == NAMES
    assert len(PRE_TRADE_CHECKS) == len(NAMES)
    assert all(getattr(risk, n) in PRE_TRADE_CHECKS for n in NAMES)


def test_a_desk_rule_is_one_function_and_one_line(engine: LiveTradingEngine) -> None:
    def no_orders_above_50(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
        if req.quantity > 50:
            return OrderRejected("DESK_LIMIT", "The desk allows 50 shares an order.", "quantity")
        return None

    engine.pre_trade_checks += (no_orders_above_50,)
    with pytest.raises(OrderRejected) as info:
        engine.submit(SYM, Side.BUY, 51)
    assert (info.value.code, info.value.field) == ("DESK_LIMIT", "quantity")
    assert engine.orders == [] and engine.cash_paise == 1_000_000_00
    assert engine.submit(SYM, Side.BUY, 50).status is OrderStatus.FILLED
    assert LiveTradingEngine.pre_trade_checks == PRE_TRADE_CHECKS  # other engines unchanged


def test_checks_read_a_context_and_change_nothing(engine: LiveTradingEngine) -> None:
    req = OrderRequest.parse(SYM, "BUY", 10, "LIMIT", limit_price="801.00")
    top = engine.price_stream.top(SYM)
    assert top is not None
    ctx = engine._pre_trade(req, engine.clock.now_ns())
    assert ctx.ref_paise == reference_price(req, *top[:3]) == 80_005  # marketable: the ask
    assert first_rejection(req, ctx) is None
    assert engine.orders == [] and engine.order_rate.rejection(1, ctx.now_ns) is None


@pytest.mark.parametrize(
    ("kw", "code", "field"),
    [
        ({"symbol": "SBIN"}, "INVALID_SYMBOL", "symbol"),
        ({"symbol": "NSE:NIFTY50-INDEX"}, "NOT_TRADABLE", "symbol"),
        ({"side": "HOLD"}, "INVALID_SIDE", "side"),
        ({"kind": "ICEBERG"}, "INVALID_ORDER_TYPE", "kind"),
        ({"product": "MTF"}, "INVALID_PRODUCT", "product"),
        ({"quantity": 2.5}, "INVALID_QUANTITY", "quantity"),
        ({"kind": "LIMIT"}, "MISSING_PRICE", "limit_price"),
        ({"kind": "SL", "limit_price": "800"}, "MISSING_PRICE", "trigger_price"),
        ({"limit_price": "800"}, "UNEXPECTED_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": "800.03"}, "INVALID_PRICE", "limit_price"),
        (
            {"kind": "SL", "limit_price": "799", "trigger_price": "800"},
            "INVALID_PRICE",
            "limit_price",
        ),
        ({"stop_loss": "-1"}, "INVALID_PRICE", "stop_loss_price"),
        ({"tag": 7}, "INVALID_TAG", "tag"),
    ],
)
def test_the_request_refuses_with_the_field(kw: dict[str, object], code: str, field: str) -> None:
    args: dict[str, object] = {"symbol": SYM, "side": "BUY", "quantity": 10, **kw}
    with pytest.raises(OrderRejected) as info:
        OrderRequest.parse(**args)  # type: ignore[arg-type]
    assert (info.value.code, info.value.field) == (code, field)


@given(
    rupees=st.decimals(min_value=Decimal("0.05"), max_value=Decimal("99999"), places=2),
    qty=st.integers(1, 10**6),
    form=st.sampled_from([str, Decimal]),
)
def test_prices_on_the_tick_parse_exactly(rupees: Decimal, qty: int, form: type) -> None:
    rupees = (rupees / Decimal("0.05")).to_integral_value() * Decimal("0.05")
    if rupees <= 0:
        return
    req = OrderRequest.parse(
        SYM, Side.SELL, qty, OrderKind.LIMIT, limit_price=form(rupees), product="cnc"
    )
    assert req.limit_paise == int(rupees * 100) and req.quantity == qty
    assert req.product is Product.CNC and req.trigger_paise is None


def order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    return Order("LT1", SYM, Side.BUY, OrderKind.MARKET, Product.INTRADAY, 1, status=status)


def test_the_transition_table() -> None:
    assert ORDER_TRANSITIONS[OrderStatus.FILLED] == frozenset()
    assert ORDER_TRANSITIONS[OrderStatus.REJECTED] == frozenset()
    o = order()
    transition(o, OrderStatus.OPEN)
    transition(o, OrderStatus.OPEN)  # staying put is not a move
    transition(o, OrderStatus.FILLED)
    with pytest.raises(IllegalTransition, match="LT1 cannot go from FILLED to CANCELLED"):
        transition(o, OrderStatus.CANCELLED)
    assert o.status is OrderStatus.FILLED


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=8))
def test_transitions_follow_the_table_and_never_leave_a_terminal_state(
    path: list[OrderStatus],
) -> None:
    o = order()
    for to in path:
        before = o.status
        allowed = to is before or to in ORDER_TRANSITIONS[before]
        if allowed:
            transition(o, to)
            assert o.status is to
        else:
            with pytest.raises(IllegalTransition):
                transition(o, to)
            assert o.status is before
        if before in (OrderStatus.FILLED, OrderStatus.REJECTED):
            assert o.status is before


# ---------------------------------------------------------------- instruments
def nifty_future() -> Instrument:
    return Instrument(
        "NSE:NIFTY26DECFUT",
        InstrumentKind.FUTURE,
        lot_size=65,
        tick_paise=10,
        freeze_qty=1_755,
        underlying="NSE:NIFTY50-INDEX",
        segment="FO",
    )


def test_a_cash_equity_needs_no_registration() -> None:
    reg = InstrumentRegistry()
    inst = reg.get(SYM)
    assert (inst.kind, inst.lot_size, inst.tick_paise, inst.tick) == (
        InstrumentKind.EQUITY,
        1,
        5,
        "₹0.05",
    )
    assert not reg.get("NSE:NIFTY50-INDEX").tradable and SYM in reg and len(reg) == 2


def test_orders_go_through_their_instrument(engine: LiveTradingEngine) -> None:
    fut = engine.instruments.register(nifty_future())
    engine.price_stream.update_price_nowait(
        fut.symbol,
        lt_quote(fut.symbol, "25000.00", "25000.20", "25000.10"),
    )
    with pytest.raises(OrderRejected) as info:
        engine.submit(fut.symbol, Side.BUY, 1)
    assert (info.value.code, info.value.field) == ("INVALID_QUANTITY", "quantity")
    assert "lot size 65: the smallest order is 65" in info.value.reason
    with pytest.raises(OrderRejected) as info:
        engine.submit(fut.symbol, Side.BUY, 100)
    assert "lot size 65: 65 or 130" in info.value.reason
    with pytest.raises(OrderRejected) as info:  # ₹0.05 is not on the future's ₹0.10 tick
        engine.submit(fut.symbol, Side.BUY, 65, OrderKind.LIMIT, limit_price="24990.05")
    assert info.value.code == "INVALID_PRICE" and "₹0.10 tick" in info.value.reason
    assert engine.orders == []
    o = engine.submit(fut.symbol, Side.BUY, 65, OrderKind.LIMIT, limit_price="24990.10")
    with pytest.raises(OrderRejected, match="lot size 65"):
        engine.modify(o.order_id, quantity=100)
    with pytest.raises(OrderRejected, match=r"₹0\.10 tick"):
        engine.modify(o.order_id, limit_price="24990.15")
    assert engine.modify(o.order_id, quantity=130).quantity == 130


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"lot_size": 0}, "lot_size"),
        ({"tick_paise": 2.5}, "tick_paise"),
        ({"freeze_qty": 10}, "freeze_qty"),
        ({"kind": InstrumentKind.OPTION}, "option_type"),
        ({"option_type": "CE"}, "option_type"),
    ],
)
def test_a_bad_instrument_names_the_field(kw: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"symbol": "NSE:NIFTY26DECFUT", "lot_size": 65, **kw}
    with pytest.raises(InvalidInput) as info:
        Instrument(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def lt_quote(symbol: str, bid: str, ask: str, last: str) -> PriceQuote:
    return dataclasses.replace(quote(bid, ask, last), symbol=symbol)


def test_place_is_the_one_way_in_and_submit_parses_into_it(engine: LiveTradingEngine) -> None:
    seen: list[OrderRequest] = []
    real_place = engine.place

    def spy(req: OrderRequest, *, origin: str = "") -> Order:
        seen.append(req)
        return real_place(req, origin=origin)

    engine.place = spy  # type: ignore[method-assign]
    engine.submit(SYM, "BUY", 3, origin="cell [1]")
    engine.close_position(SYM)  # closing a position is an order through the same door
    assert [(r.symbol, r.side, r.quantity, r.instrument is not None) for r in seen] == [
        (SYM, Side.BUY, 3, True),
        (SYM, Side.SELL, 3, True),
    ]
    assert engine.orders[0].origin == "cell [1]"


def test_a_request_built_from_exact_paise_is_placed_as_is(engine: LiveTradingEngine) -> None:
    req = OrderRequest(SYM, Side.BUY, 2, OrderKind.LIMIT, Product.INTRADAY, limit_paise=79_985)
    o = engine.place(req)
    assert (o.limit_paise, o.status) == (79_985, OrderStatus.OPEN)
    with pytest.raises(OrderRejected) as info:  # the checks still run
        engine.place(OrderRequest("NSE:TCS-EQ", Side.BUY, 1, OrderKind.MARKET, Product.CNC))
    assert info.value.code == "NO_QUOTE"
