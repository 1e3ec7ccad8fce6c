"""Properties over random order and quote streams: the P&L identities hold to the paisa."""

from __future__ import annotations

import random
from collections import deque
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import state

import livetrade as lt
from livetrade import LivePriceStream, LiveTradingEngine, OrderRejected, Product, Side
from livetrade.clock import VirtualClock
from livetrade.model import Fill
from livetrade.money import from_paise

SYMS = ["NSE:SBIN-EQ", "NSE:TCS-EQ"]
SEC = 1_000_000_000

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("tick"), st.sampled_from(SYMS), st.integers(-120, 120), st.integers(1, 4)
        ),
        st.tuples(
            st.just("order"),
            st.sampled_from(SYMS),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(-2, 60),
            st.sampled_from(["MARKET", "LIMIT", "SL", "SL-M"]),
            st.sampled_from([Product.INTRADAY, Product.INTRADAY, Product.CNC]),
            st.integers(-30, 30),  # price offset in ticks (limit/trigger)
            st.one_of(st.none(), st.integers(-3, 30)),  # stop-loss distance (< 0: wrong side)
            st.one_of(st.none(), st.integers(-3, 30)),  # take-profit distance
        ),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("wait"), st.integers(1, 30)),
    ),
    min_size=5,
    max_size=60,
)


def fifo_realized(fills: list[Fill]) -> int:
    """An independent FIFO reference: Σ over closed lots of (exit − entry) × qty, in paise."""
    books: dict[tuple[str, Product], deque[list[int]]] = {}
    realized = 0
    for f in fills:
        lots = books.setdefault((f.symbol, f.product), deque())
        qty = f.quantity
        sign = 1 if f.side is Side.BUY else -1
        while qty and lots and (lots[0][0] > 0) != (sign > 0):
            lot = lots[0]
            take = min(abs(lot[0]), qty)
            realized += (f.price_paise - lot[1]) * take * (1 if lot[0] > 0 else -1)
            lot[0] -= take if lot[0] > 0 else -take
            qty -= take
            if lot[0] == 0:
                lots.popleft()
        if qty:
            lots.append([sign * qty, f.price_paise])
    return realized


def run(acts: list[tuple[object, ...]]) -> LiveTradingEngine:
    clock = VirtualClock(1_748_836_800 * SEC)
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("200000"), stream, clock=clock)
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
            away = -1 if side is Side.BUY else 1  # a buy's stop sits below, a sell's above
            if isinstance(sl, int):
                kw["stop_loss"] = from_paise(px[sym] + away * (sl * 5 + 10))
            if isinstance(tp, int):
                kw["take_profit"] = from_paise(px[sym] - away * (tp * 5 + 10))
            before = state(eng)
            try:
                eng.submit(sym, side, qty, kind, **kw)  # type: ignore[arg-type]
            except OrderRejected as rej:
                assert rej.code and rej.reason
                assert state(eng) == before, rej
        check_identities(eng, full=step % 20 == 0)
    check_identities(eng, full=True)
    return eng


def check_identities(eng: LiveTradingEngine, full: bool = True) -> None:
    p = eng.pnl_paise()
    assert p["equity"] == p["cash"] + p["market_value"]
    assert p["equity"] == eng.initial_paise + p["total"]
    if not full:
        return
    assert p["gross_realized"] == fifo_realized(eng.fills)
    signed = sum(f.price_paise * f.quantity * (1 if f.side is Side.BUY else -1) for f in eng.fills)
    refunds = eng.refunds  # same-day CNC buys re-billed as intraday by the sell
    charges = sum(f.charges.total for f in eng.fills) - sum(r.charges.total for r in refunds)
    assert p["charges"] == charges
    for r in refunds:
        assert min(r.charges.brokerage, r.charges.stt, r.charges.stamp, r.charges.gst) >= 0
    assert p["cash"] == eng.initial_paise - signed - charges
    for f in eng.fills:
        assert min(f.charges.brokerage, f.charges.stt, f.charges.gst, f.charges.stamp) >= 0
    for pos in eng.positions():
        if pos.product is Product.CNC:
            assert pos.quantity > 0  # delivery never goes short
    # bracket legs never protect more than the position holds
    for sym in SYMS:
        for prod in Product:
            lots = eng._positions.get((sym, prod))
            held = abs(lots.qty) if lots else 0
            legs = [
                o
                for o in eng.open_orders(sym)
                if o.product is prod and o.oco_id is not None and o.role.value == "STOP_LOSS"
            ]
            assert sum(o.quantity - o.filled_quantity for o in legs) <= held


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_pnl_identities_hold_on_random_streams(acts: list[tuple[object, ...]]) -> None:
    run(acts)


@settings(max_examples=25, deadline=None)
@given(actions)
def test_same_inputs_same_fills(acts: list[tuple[object, ...]]) -> None:
    a, b = run(acts), run(acts)
    assert [(f.order_id, f.price_paise, f.quantity, f.charges) for f in a.fills] == [
        (f.order_id, f.price_paise, f.quantity, f.charges) for f in b.fills
    ]


async def _trade_session(seed: int) -> list[tuple[object, ...]]:
    s = await lt.open_session(seed=seed, realtime=False, name=f"replay-{seed}", journal=False)
    await s.run_for(ticks=200)
    q = s.stream.quote("NSE:SBIN-EQ")
    assert q is not None
    await s.buy("NSE:SBIN-EQ", 20, stop_loss=q.last_price - 1, take_profit=q.last_price + 1)
    await s.sell("NSE:TCS-EQ", 5, stop_loss=s.stream.quote("NSE:TCS-EQ").last_price + 3)  # type: ignore[union-attr]
    await s.run_for(ticks=2_000)
    fills = [(f.order_id, f.ts_ns, f.price_paise, f.quantity, f.charges) for f in s.fills]
    await s.close()
    return fills


async def test_a_replay_of_the_same_seed_gives_identical_fills() -> None:
    first = await _trade_session(7)
    assert len(first) >= 3  # entries and at least one exit fired
    assert first == await _trade_session(7)
    assert first != await _trade_session(8)


def long_stream(rnd: random.Random, n: int) -> list[tuple[object, ...]]:
    """A long, busy session: mostly ticks and sensible orders, some nonsense mixed in."""
    out: list[tuple[object, ...]] = []
    for _ in range(n):
        r = rnd.random()
        sym = rnd.choice(SYMS)
        if r < 0.55:
            out.append(("tick", sym, rnd.randint(-60, 60), rnd.randint(1, 4)))
        elif r < 0.93:
            out.append(
                (
                    "order",
                    sym,
                    rnd.choice([Side.BUY, Side.SELL]),
                    rnd.choice([rnd.randint(1, 40), rnd.randint(1, 40), 0, -1]),
                    rnd.choice(["MARKET", "MARKET", "LIMIT", "SL", "SL-M"]),
                    rnd.choice([Product.INTRADAY, Product.INTRADAY, Product.CNC]),
                    rnd.randint(-20, 20),
                    rnd.choice([None, rnd.randint(-2, 40)]),
                    rnd.choice([None, rnd.randint(-2, 40)]),
                )
            )
        elif r < 0.97:
            out.append(("cancel", rnd.randint(0, 50)))
        else:
            out.append(("wait", rnd.randint(1, 20)))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(150, 400))
def test_pnl_identities_hold_on_long_busy_sessions(seed: int, n: int) -> None:
    run(long_stream(random.Random(seed), n))


def test_long_sessions_really_trade() -> None:
    """Guard against a generator that only produces rejections."""
    engines = [run(long_stream(random.Random(seed), 300)) for seed in range(5)]
    assert sum(len(e.fills) for e in engines) > 100
    assert sum(1 for e in engines for f in e.fills if f.role.value != "ENTRY") > 20
