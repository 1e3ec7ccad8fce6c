"""fills="depth" (#17 item 5): arriving orders walk the five depth levels (partial fills when the
book is thin), resting limits fill only when the book trades through them, and partial fills
flow through brackets, P&L, the journal and restore."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from conftest import SYM, T0, tick
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import SEC, SYMS, actions, check_identities, state

import livetrade as lt
from livetrade import LivePriceStream, LiveTradingEngine, OrderRejected, OrderStatus, Side
from livetrade.brokers.paper import Book, PaperBroker, book_from_depth, book_from_record
from livetrade.clock import VirtualClock
from livetrade.depth import depth_from_values, simulated_levels
from livetrade.errors import InvalidInput
from livetrade.money import from_paise

ASKS = [(800_05, 100), (800_10, 50), (800_20, 200), (800_25, 10), (800_35, 40)]  # 400 in all
BIDS = [(799_95, 80), (799_90, 20), (799_80, 100), (799_70, 30), (799_60, 70)]  # 300 in all


def book(
    asks: list[tuple[int, int]] = ASKS, bids: list[tuple[int, int]] = BIDS
) -> Callable[[str], Book | None]:
    return lambda symbol: (bids, asks)


@pytest.fixture
def deep(engine: LiveTradingEngine) -> LiveTradingEngine:
    engine.broker = PaperBroker(fills="depth")
    engine.depth_source = book()
    return engine


def fills_of(eng: LiveTradingEngine, order_id: str) -> list[tuple[int, int]]:
    return [(f.price_paise, f.quantity) for f in eng.fills if f.order_id == order_id]


def test_a_market_order_walks_the_levels_and_the_rest_is_cancelled(
    deep: LiveTradingEngine,
) -> None:
    order = deep.submit(SYM, Side.BUY, 500)
    assert fills_of(deep, order.order_id) == ASKS  # level by level, at the levels' prices
    assert order.filled_quantity == 400 and order.status is OrderStatus.CANCELLED
    assert "held 400 of 500" in order.message and "rest (100)" in order.message
    assert order.fill_paise == sum(p * q for p, q in ASKS) // 400
    (pos,) = deep.positions()
    assert pos.quantity == 400
    check_identities(deep)
    sell = deep.submit(SYM, Side.SELL, 90)
    assert fills_of(deep, sell.order_id) == [(799_95, 80), (799_90, 10)]
    assert sell.status is OrderStatus.FILLED


def test_never_better_than_the_touch(deep: LiveTradingEngine) -> None:
    deep.depth_source = book(asks=[(799_00, 10), (800_10, 10)])  # a stale level under the ask
    order = deep.submit(SYM, Side.BUY, 20)
    assert fills_of(deep, order.order_id) == [(800_05, 10), (800_10, 10)]


def test_slippage_in_ticks_and_market_protection(deep: LiveTradingEngine) -> None:
    deep.broker = PaperBroker(fills="depth", slippage_ticks=2)
    order = deep.submit(SYM, Side.BUY, 120)
    assert fills_of(deep, order.order_id) == [(800_15, 100), (800_20, 20)]
    deep.depth_source = book(asks=[(800_05, 10), (825_00, 100)])  # 3.1% above the LTP
    deep.broker = PaperBroker(fills="depth")
    capped = deep.submit(SYM, Side.BUY, 50)
    assert fills_of(deep, capped.order_id) == [(800_05, 10)]
    assert capped.status is OrderStatus.CANCELLED and "₹824.00" in capped.message


def test_a_marketable_limit_takes_what_it_can_and_rests(deep: LiveTradingEngine) -> None:
    order = deep.submit(SYM, Side.BUY, 200, "LIMIT", limit_price="800.10")
    assert fills_of(deep, order.order_id) == [(800_05, 100), (800_10, 50)]
    assert order.is_open and order.filled_quantity == 150
    tick(deep.price_stream, "800.00", "800.10", "800.10")  # at the price, not through it
    assert order.filled_quantity == 150
    deep.depth_source = book(asks=[(800_05, 30), (800_10, 500)])
    tick(deep.price_stream, "799.95", "800.05", "800.05")  # through: 30 offered below 800.10
    assert fills_of(deep, order.order_id)[-1] == (800_10, 30)  # at its own price
    assert order.filled_quantity == 180 and order.is_open
    deep.depth_source = book(asks=[(799_90, 100)])
    tick(deep.price_stream, "799.85", "799.90", "799.90")
    assert order.status is OrderStatus.FILLED and fills_of(deep, order.order_id)[-1] == (
        800_10,
        20,
    )
    check_identities(deep)


def test_resting_orders_share_one_ticks_liquidity(deep: LiveTradingEngine) -> None:
    a = deep.submit(SYM, Side.BUY, 20, "LIMIT", limit_price="799.00")
    b = deep.submit(SYM, Side.BUY, 20, "LIMIT", limit_price="799.00")
    deep.depth_source = book(asks=[(798_90, 30), (799_00, 100)])
    tick(deep.price_stream, "798.85", "798.90", "798.90")  # 30 offered through 799.00
    assert (a.filled_quantity, b.filled_quantity) == (20, 10)  # price-time: the first first
    check_identities(deep)


def test_without_depth_it_fills_at_the_touch(deep: LiveTradingEngine) -> None:
    deep.depth_source = lambda symbol: None  # a feed with no depth for the symbol
    order = deep.submit(SYM, Side.BUY, 700)
    assert fills_of(deep, order.order_id) == [(800_05, 700)]


def test_partial_fills_grow_one_bracket_and_a_partial_exit_shrinks_its_partner(
    deep: LiveTradingEngine,
) -> None:
    entry = deep.submit(SYM, Side.BUY, 160, stop_loss="790", take_profit="805")
    assert entry.filled_quantity == 160 and len(fills_of(deep, entry.order_id)) == 3
    legs = [o for o in deep.open_orders() if o.parent_id == entry.order_id]
    assert len(legs) == 2 and {leg.quantity for leg in legs} == {160}  # one bracket, grown
    sl = next(leg for leg in legs if leg.role.value == "STOP_LOSS")
    tp = next(leg for leg in legs if leg.role.value == "TAKE_PROFIT")
    deep.depth_source = book(bids=[(805_10, 60)])
    tick(deep.price_stream, "805.10", "805.20", "805.15")  # through the take-profit: 60 there
    assert tp.filled_quantity == 60 and tp.is_open and fills_of(deep, tp.order_id) == [(805_00, 60)]
    assert sl.is_open and sl.quantity - sl.filled_quantity == 100  # shrunk, not cancelled
    (pos,) = deep.positions()
    assert pos.quantity == 100
    check_identities(deep)


def test_the_fill_model_is_validated() -> None:
    with pytest.raises(InvalidInput) as info:
        PaperBroker(fills="queue")  # type: ignore[arg-type]
    assert info.value.field == "fills"
    with pytest.raises(InvalidInput) as info:
        PaperBroker(slippage_ticks=-1)
    assert info.value.field == "slippage_ticks"


# ---- the property: a market order larger than the book -----------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 80)), min_size=1, max_size=5),
    st.integers(1, 600),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(0, 2),
)
def test_market_orders_walk_the_book_level_by_level(
    shape: list[tuple[int, int]], qty: int, side: Side, slip: int
) -> None:
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("10000000"), stream, clock=VirtualClock(T0))
    eng.broker = PaperBroker(fills="depth", slippage_ticks=slip)
    stream.update_price_nowait(
        SYM, lt.PriceQuote(SYM, Decimal("799.95"), Decimal("800.05"), Decimal("800.00"), 1, T0)
    )
    touch = 800_05 if side is Side.BUY else 799_95
    step = 5 if side is Side.BUY else -5
    levels, price = [], touch
    for gap, q in shape:
        price += gap * step
        levels.append((price, q))
    eng.depth_source = book(asks=levels) if side is Side.BUY else book(bids=levels)
    order = eng.submit(SYM, side, qty)
    got = fills_of(eng, order.order_id)
    expected, left = [], qty
    for p, q in levels:
        take = min(left, q)
        if take:
            expected.append((p + slip * step, take))
            left -= take
    assert got == expected  # level by level at the levels' prices (plus the slippage ticks)
    assert all((p >= touch) if side is Side.BUY else (p <= touch) for p, _ in got)
    assert order.filled_quantity == qty - left
    assert order.status is (OrderStatus.FILLED if left == 0 else OrderStatus.CANCELLED)
    check_identities(eng)


def _thin_book(stream: LivePriceStream) -> Callable[[str], Book | None]:
    def source(symbol: str) -> Book | None:
        top = stream.top(symbol)
        if top is None:
            return None
        bid, ask, _, ts = top
        values = list(simulated_levels(7, symbol, bid, ask, ts))
        for i in range(10, 20):
            values[i] //= 20  # 0-15 a level: orders of up to 60 often outgrow the book
        if symbol == SYMS[0]:  # one symbol through the Depth (rupees) conversion
            return book_from_depth(depth_from_values(symbol, values, ts))
        return book_from_record(values)

    return source


def run_deep(acts: list[tuple[object, ...]], latency_ms: int = 0) -> LiveTradingEngine:
    clock = VirtualClock(1_748_836_800 * SEC)
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("200000"), stream, clock=clock)
    eng.broker = PaperBroker(fills="depth", latency_ms=latency_ms)
    eng.depth_source = _thin_book(stream)
    px = {"NSE:SBIN-EQ": 80_000, "NSE:TCS-EQ": 350_000}
    for s in SYMS:
        stream.push(s, px[s] - 5, px[s] + 5, px[s], 0, clock.now_ns())
    for step, a in enumerate(acts):
        if a[0] == "tick":
            _, sym, move, spread = a
            assert isinstance(sym, str) and isinstance(move, int) and isinstance(spread, int)
            px[sym] = max(500, px[sym] + move * 5)
            stream.push(sym, px[sym] - 5 * spread, px[sym] + 5 * spread, px[sym], 0, clock.now_ns())
        elif a[0] == "wait":
            assert isinstance(a[1], int)
            clock.advance(a[1] * SEC)
        elif a[0] == "cancel":
            opens = eng.open_orders()
            assert isinstance(a[1], int)
            if opens:
                eng.cancel(opens[a[1] % len(opens)].order_id)
        else:
            _, sym, side, qty, kind, product, off, sl, tp = a
            assert isinstance(sym, str) and isinstance(off, int)
            price = from_paise(px[sym] + off * 5)
            kw: dict[str, object] = {"product": product}
            if kind in ("LIMIT", "SL"):
                kw["limit_price"] = price
            if kind in ("SL", "SL-M"):
                kw["trigger_price"] = price
            away = -1 if side is Side.BUY else 1
            if isinstance(sl, int):
                kw["stop_loss"] = from_paise(px[sym] + away * (sl * 5 + 10))
            if isinstance(tp, int):
                kw["take_profit"] = from_paise(px[sym] - away * (tp * 5 + 10))
            before = state(eng)
            try:
                eng.submit(sym, side, qty, kind, **kw)  # type: ignore[arg-type]
            except OrderRejected as rej:
                assert state(eng) == before, rej
        check_identities(eng, full=step % 10 == 0)
    check_identities(eng, full=True)
    return eng


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions, st.sampled_from([0, 0, 1500]))
def test_pnl_identities_hold_with_partial_fills(
    acts: list[tuple[object, ...]], latency_ms: int
) -> None:
    eng = run_deep(acts, latency_ms)
    for order in eng.orders:
        assert order.filled_quantity <= order.quantity
        assert order.filled_quantity == sum(
            f.quantity for f in eng.fills if f.order_id == order.order_id
        )


# ---- a session: fills="depth", the journal and restore -----------------------------------


async def test_a_depth_session_restores_its_partial_fills(tmp_path: object) -> None:
    s = await lt.open_session(feed="sim", seed=11, realtime=False, fills="depth", name="deep")
    await s.run_for(ticks=5)
    depth = s.depth(SYM)
    assert depth is not None
    offered = sum(q for _, q, _ in depth.asks)
    order = await s.buy(SYM, offered + 50)
    assert order.status is OrderStatus.CANCELLED and order.filled_quantity == offered
    assert [(f.price_paise, f.quantity) for f in s.fills if f.order_id == order.order_id] == [
        (int(p * 100), q) for p, q, _ in depth.asks
    ]
    best_bid = depth.bids[0][0]
    rest = await s.sell(SYM, 10, order_type="LIMIT", limit_price=best_bid + Decimal("5"))
    assert rest.is_open
    cash, positions = s.engine.cash_paise, s.engine.positions()
    fills = [(f.fill_id, f.price_paise, f.quantity) for f in s.fills]
    await s.close()
    again = await lt.open_session(feed="sim", seed=11, realtime=False, fills="depth", name="deep")
    try:
        assert again.restored and again.engine.cash_paise == cash
        assert [(p.symbol, p.quantity) for p in again.engine.positions()] == [
            (p.symbol, p.quantity) for p in positions
        ]
        assert [(f.fill_id, f.price_paise, f.quantity) for f in again.fills] == fills
        (back,) = [o for o in again.orders if o.order_id == order.order_id]
        assert back.status is OrderStatus.CANCELLED and back.filled_quantity == offered
        assert any(o.order_id == rest.order_id and o.is_open for o in again.engine.open_orders())
        frame = again.orders_df()
        assert len(frame) == len(again.orders)
    finally:
        await again.close()


async def test_the_readme_example_runs() -> None:
    from test_docs import python_block, run_cells

    ns = await run_cells(python_block("Price bands, market protection and depth fills"), lt=lt)
    order, book = ns["order"], ns["book"]
    asks = book[book["side"] == "ask"]
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_quantity == int(asks["quantity"].sum()) < 2000


# ---- latency: orders meet the book on a later tick ---------------------------------------


def test_orders_reach_the_book_after_the_latency(engine: LiveTradingEngine) -> None:
    engine.broker = PaperBroker(latency_ms=250)
    clock, stream = engine.clock, engine.price_stream
    assert isinstance(clock, VirtualClock)

    def push(ms: int, bid: int, ask: int) -> None:
        clock.advance(ms * 1_000_000)
        stream.push(SYM, bid, ask, (bid + ask) // 2, 0, clock.now_ns())

    market = engine.submit(SYM, Side.BUY, 10)
    limit = engine.submit(SYM, Side.BUY, 5, "LIMIT", limit_price="800.00")
    gone = engine.submit(SYM, Side.BUY, 5, "LIMIT", limit_price="801.00")
    assert market.is_open and market.filled_quantity == 0  # on its way
    engine.cancel(gone.order_id)
    push(100, 800_00, 800_10)  # 100 ms: not there yet
    assert market.filled_quantity == 0 and limit.filled_quantity == 0
    push(200, 800_05, 800_20)  # 300 ms: arrived; the market order meets this tick's ask
    assert market.status is OrderStatus.FILLED and market.fill_paise == 800_20
    assert limit.is_open and limit.filled_quantity == 0  # ask 800.20 > its 800.00: it rests
    push(50, 799_90, 800_00)
    assert limit.status is OrderStatus.FILLED and limit.fill_paise == 800_00
    assert gone.status is OrderStatus.CANCELLED and gone.filled_quantity == 0
    check_identities(engine)


def test_latency_is_validated() -> None:
    with pytest.raises(InvalidInput) as info:
        PaperBroker(latency_ms=-5)
    assert info.value.field == "latency_ms"
