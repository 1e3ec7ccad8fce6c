"""F&O on the engine (#15 items 2, 4, 5): SPAN + exposure margin and ``funds()``, orders sliced
at the freeze quantity, expiry settlement, and the journal restoring all of it."""

from __future__ import annotations

import random
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine import state

from livetrade import LivePriceStream, LiveTradingEngine, OrderRejected, Product, Side
from livetrade.clock import VirtualClock
from livetrade.engine import EngineEvent
from livetrade.fno.margin import MarginParams, contract_margin
from livetrade.fno.slicing import MAX_SLICES, slice_quantity
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.journal import Journal, restore
from livetrade.model import IST, OrderStatus
from livetrade.money import IndianEquityCharges, from_paise

SEC = 1_000_000_000
DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday
EXPIRY = datetime(2026, 12, 29, 15, 40, tzinfo=IST)
EXPIRY_NS = int(EXPIRY.timestamp()) * SEC
INDEX = "NSE:NIFTY50-INDEX"
FUT = "NSE:NIFTY26DECFUT"
CALL = "NSE:NIFTY26DEC24000CE"
PUT = "NSE:NIFTY26DEC24000PE"
SBIN = "NSE:SBIN-EQ"
_FNO = [
    Instrument(FUT, InstrumentKind.FUTURE, 65, 10, 1800, EXPIRY, underlying=INDEX, segment="FO"),
    Instrument(CALL, InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 2_400_000, "CE", INDEX, "FO"),
    Instrument(PUT, InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 2_400_000, "PE", INDEX, "FO"),
]
START = {INDEX: 2_400_000, FUT: 2_410_000, CALL: 15_000, PUT: 12_000, SBIN: 80_000}
SPREAD = {INDEX: 0, FUT: 50, CALL: 10, PUT: 10, SBIN: 10}


def make(wallet: str = "20000000") -> tuple[LiveTradingEngine, LivePriceStream, VirtualClock]:
    clock = VirtualClock(int(DEC_2026.timestamp()) * SEC)
    stream = LivePriceStream()
    reg = InstrumentRegistry(_FNO)
    eng = LiveTradingEngine(
        Decimal(wallet), stream, clock=clock, instruments=reg,
        charges=IndianEquityCharges(instruments=reg),
    )  # fmt: skip
    for sym, p in START.items():
        stream.push(sym, p, p + SPREAD[sym], p, 0, clock.now_ns())
    return eng, stream, clock


def identity(eng: LiveTradingEngine) -> None:
    """cash + margin blocked + Σ position value = start + realised + unrealised − charges."""
    f = eng.funds_paise()
    left = f["available_cash"] + f["margin_blocked"] + f["position_value"]
    assert left == f["start"] + f["realised"] + f["unrealised"] - f["charges"]
    assert f["margin_blocked"] == f["fno_margin"] + f["intraday_margin"] >= 0
    p = eng.pnl_paise()
    assert (f["realised"], f["unrealised"], f["charges"]) == (
        p["gross_realized"],
        p["unrealized"],
        p["charges"],
    )


# ---------------------------------------------------------------- margin
def test_futures_block_span_plus_exposure_and_release_it_on_close() -> None:
    eng, stream, clock = make()
    eng.submit(FUT, Side.SELL, 130, product="MARGIN")
    f = eng.funds()
    # 130 × ₹24,100 (last) × (9.3% price scan + 3% exposure) = ₹3,85,359
    assert f.fno_margin == f.margin_blocked == Decimal("385359.00")
    assert f.position_value == 130 * (Decimal(24100) - Decimal("24100.00"))  # MTM: zero now
    identity(eng)
    stream.push(FUT, 2_420_000, 2_420_050, 2_420_000, 0, clock.now_ns())  # margin follows price
    assert eng.funds().fno_margin == Decimal("386958.00")  # 130 × 24,200 × 12.3%
    identity(eng)
    eng.submit(FUT, Side.BUY, 130, product="MARGIN")
    f = eng.funds()
    assert f.margin_blocked == 0 and f.position_value == 0
    assert f.available_cash == f.start + f.realised - f.charges
    identity(eng)


def test_long_option_pays_premium_short_option_blocks_margin() -> None:
    eng, _, _ = make()
    eng.submit(CALL, Side.BUY, 65)
    f = eng.funds()
    assert f.premium_paid == 65 * Decimal("150.10") and f.margin_blocked == 0
    assert f.position_value == 65 * Decimal(150)
    eng.submit(PUT, Side.SELL, 65)
    f = eng.funds()
    assert f.premium_received == 65 * Decimal(120)
    # ATM put, index 24,000: down 9.3% → intrinsic 2,232 − 120 = 2,112 a unit, + 3% of 24,000
    put = _FNO[2]
    want = contract_margin(put, -65, 12_000, 2_400_000, MarginParams())
    assert want == 65 * (223_200 - 12_000 + 72_000)
    assert f.fno_margin == from_paise(want)
    identity(eng)


def test_expiry_day_adds_elm_on_short_index_options() -> None:
    put = _FNO[2]
    normal = contract_margin(put, -65, 12_000, 2_400_000, MarginParams(), DEC_2026.date())
    on_day = contract_margin(put, -65, 12_000, 2_400_000, MarginParams(), EXPIRY.date())
    assert on_day - normal == 65 * 48_000  # 2% of ₹24,000 a unit
    far_otm = Instrument(
        "NSE:NIFTY26DEC30000CE", InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 3_000_000, "CE",
        INDEX, "FO",
    )  # fmt: skip
    assert contract_margin(far_otm, -65, 500, 2_400_000, MarginParams()) == 65 * 72_000
    assert contract_margin(far_otm, 65, 500, 2_400_000, MarginParams()) == 0


def test_orders_beyond_available_margin_are_refused_with_the_figures() -> None:
    eng, _, _ = make("300000")
    before = state(eng)
    with pytest.raises(OrderRejected) as err:
        eng.submit(FUT, Side.BUY, 130, product="MARGIN")
    assert err.value.code == "INSUFFICIENT_MARGIN" and err.value.field == "quantity"
    assert "needs ₹385" in err.value.reason and "only ₹300000.00 is available" in err.value.reason
    assert state(eng) == before
    eng.submit(FUT, Side.BUY, 65, product="MARGIN")  # ₹1,92,680 of margin fits
    with pytest.raises(OrderRejected) as err:
        eng.submit(PUT, Side.SELL, 65)
    assert err.value.code == "INSUFFICIENT_MARGIN"
    assert eng.submit(FUT, Side.SELL, 65, product="MARGIN").status is OrderStatus.FILLED
    assert eng.funds().margin_blocked == 0  # the exit needed nothing and released it all


def test_margin_params_are_configurable_and_validated() -> None:
    eng, _, _ = make()
    eng.margin_params = MarginParams(index_price_scan=Decimal("0.10"), index_exposure=0)
    eng.submit(FUT, Side.BUY, 65, product="MARGIN")
    assert eng.funds().fno_margin == 65 * Decimal(24100) / 10
    with pytest.raises(Exception, match="index_exposure"):
        MarginParams(index_exposure=Decimal("1.5"))


# ---------------------------------------------------------------- slicing
def _held(eng: LiveTradingEngine) -> list[tuple[object, ...]]:
    return [
        (p.symbol, p.product, p.quantity, p.avg_buy_price, p.realized_pnl, p.charges)
        for p in eng.positions(include_closed=True)
    ]


@given(
    lot=st.integers(1, 200),
    freeze_lots=st.integers(1, 40),
    extra=st.integers(0, 199),
    lots=st.integers(1, 500),
)
def test_slices_never_exceed_freeze_and_sum_to_the_total(
    lot: int, freeze_lots: int, extra: int, lots: int
) -> None:
    freeze = freeze_lots * lot + extra % lot  # freezes need not be whole lots
    inst = Instrument(
        "NSE:NIFTY26DECFUT", InstrumentKind.FUTURE, lot, 10, freeze, EXPIRY, underlying=INDEX,
        segment="FO",
    )  # fmt: skip
    qty = lots * lot
    try:
        slices = slice_quantity(qty, inst)
    except OrderRejected as rej:
        assert rej.code == "SLICE_LIMIT" and -(-lots // freeze_lots) > MAX_SLICES
        return
    assert sum(slices) == qty and len(slices) <= MAX_SLICES
    assert all(0 < s <= freeze and s % lot == 0 for s in slices)
    assert len(slices) == -(-lots // freeze_lots)  # as few as the freeze allows


def test_slice_true_places_a_parent_and_its_slices_and_restores(tmp_path: Path) -> None:
    eng, stream, clock = make()
    with Journal(tmp_path / "j.sqlite") as j:
        j.attach(eng)
        with pytest.raises(OrderRejected) as err:  # without slice: refused as before
            eng.submit(CALL, Side.BUY, 3640)
        assert err.value.code == "FREEZE_QUANTITY"
        parent = eng.submit(CALL, Side.BUY, 3640, "LIMIT", limit_price="149", slice=True)
        kids = eng.children(parent.order_id)
        assert [k.quantity for k in kids] == [1755, 1755, 130]
        assert all(k.parent_id == parent.order_id and k.status is OrderStatus.OPEN for k in kids)
        assert parent.status is OrderStatus.OPEN and parent.filled_quantity == 0
        assert parent not in eng.orders  # the parent is never an order in a book
        stream.push(CALL, 14_800, 14_900, 14_900, 0, clock.now_ns())  # all three fill
        done = eng.sliced(parent.order_id)
        assert done is not None and done.status is OrderStatus.FILLED
        assert done.filled_quantity == 3640 and done.fill_paise == 14_900
        cash, positions = eng.cash_paise, _held(eng)
        with pytest.raises(OrderRejected) as err:
            eng.submit(CALL, Side.BUY, 65 * 28 * 11, slice=True)  # 11 slices: more than 10
        assert err.value.code == "SLICE_LIMIT"
        records = list(j.records())
    fresh, _, _ = make()
    restore(fresh, records)
    assert fresh.cash_paise == cash and _held(fresh) == positions
    back = fresh.sliced(parent.order_id)
    assert back is not None and (back.status, back.filled_quantity) == (OrderStatus.FILLED, 3640)
    assert [k.order_id for k in fresh.children(parent.order_id)] == [k.order_id for k in kids]


def test_a_refused_slice_does_not_undo_the_others() -> None:
    eng, _, _ = make("535000")  # enough premium for two full slices, not the third
    parent = eng.submit(CALL, Side.BUY, 3640, slice=True)
    kids = eng.children(parent.order_id)
    assert [k.quantity for k in kids] == [1755, 1755]
    assert parent.status is OrderStatus.CANCELLED and parent.filled_quantity == 3510
    identity(eng)
    nothing, _, _ = make("100000")  # not even the first: refused, nothing placed
    before = state(nothing)
    with pytest.raises(OrderRejected) as err:
        nothing.submit(CALL, Side.BUY, 3640, slice=True)
    assert err.value.code == "INSUFFICIENT_MARGIN" and state(nothing) == before
    assert nothing.sliced_orders() == []


# ---------------------------------------------------------------- expiry
def _expire(stream: LivePriceStream, clock: VirtualClock, index_paise: int) -> None:
    clock.set(EXPIRY_NS)
    stream.push(INDEX, index_paise, index_paise, index_paise, 0, EXPIRY_NS)


def test_expiry_settles_options_at_intrinsic_and_futures_at_the_index(tmp_path: Path) -> None:
    eng, stream, clock = make()
    events: list[EngineEvent] = []
    eng.add_listener(events.append)
    with Journal(tmp_path / "j.sqlite") as j:
        j.attach(eng)
        eng.submit(CALL, Side.BUY, 130, product="MARGIN")  # ITM at 24,250: ₹250 a unit
        eng.submit(PUT, Side.SELL, 65, product="MARGIN")  # OTM: expires worthless
        eng.submit(FUT, Side.SELL, 65, product="MARGIN", stop_loss="24500")  # leg rests
        eng.submit(CALL, Side.SELL, 65, "LIMIT", limit_price="900", product="MARGIN")
        assert len(eng.open_orders()) == 2 and eng.funds().fno_margin > 0
        stream.push(INDEX, 2_424_000, 2_424_000, 2_424_000, 0, EXPIRY_NS - SEC)  # not yet
        assert len(eng.open_orders()) == 2
        _expire(stream, clock, 2_425_000)
        records = list(j.records())
    assert eng.open_orders() == [] and eng.positions() == []
    settled = {f.symbol: f for f in eng.fills if eng.order(f.order_id).source == "expiry"}
    assert settled[CALL].price_paise == 25_000 and settled[CALL].side is Side.SELL
    assert settled[CALL].charges.stt == 4_900  # 0.15% × 130 × ₹250 = ₹48.75 → ₹49 (to the rupee)
    assert settled[CALL].charges.total == settled[CALL].charges.stt
    assert settled[PUT].price_paise == 0 and settled[PUT].charges.total == 0
    assert settled[FUT].price_paise == 2_425_000 and settled[FUT].side is Side.BUY
    f = eng.funds()
    assert f.margin_blocked == 0 and f.position_value == 0 and f.unrealised == 0
    identity(eng)
    expired = [e.message for e in events if e.kind == "contract_expired"]
    assert sorted(expired) == sorted([CALL, PUT, FUT]) and set(eng.expired()) == set(expired)
    with pytest.raises(OrderRejected) as err:
        eng.submit(CALL, Side.BUY, 65)
    assert err.value.code == "CONTRACT_EXPIRED" and err.value.field == "symbol"
    fresh, fstream, _ = make()
    fstream.push(INDEX, 2_425_000, 2_425_000, 2_425_000, 0, EXPIRY_NS)
    restore(fresh, records)
    assert fresh.cash_paise == eng.cash_paise and fresh.charges_paise == eng.charges_paise
    assert fresh.positions(include_closed=True) == eng.positions(include_closed=True)
    assert fresh.funds() == eng.funds() and fresh.settle_expired(EXPIRY_NS + SEC) == []
    assert [(o.order_id, o.status) for o in fresh.orders] == [
        (o.order_id, o.status) for o in eng.orders
    ]


def test_restore_before_expiry_then_settles_on_the_next_tick(tmp_path: Path) -> None:
    eng, _, _ = make()
    with Journal(tmp_path / "j.sqlite") as j:
        j.attach(eng)
        eng.submit(FUT, Side.BUY, 65, product="MARGIN")
        records = list(j.records())
    fresh, fstream, fclock = make()
    restore(fresh, records)
    assert fresh.funds().fno_margin > 0
    _expire(fstream, fclock, 2_390_000)
    assert fresh.positions() == []
    assert fresh.pnl_paise()["gross_realized"] == 65 * (2_390_000 - 2_410_050)
    identity(fresh)


# ---------------------------------------------------------------- property
fno_actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.sampled_from(list(START)), st.integers(-40, 40)),
        st.tuples(
            st.just("order"),
            st.sampled_from([FUT, CALL, PUT, SBIN]),
            st.sampled_from([Side.BUY, Side.SELL]),
            st.sampled_from([65, 130, 1820, 3640]),
            st.sampled_from(["MARKET", "LIMIT"]),
            st.sampled_from([Product.INTRADAY, Product.MARGIN]),
            st.integers(-20, 20),
            st.booleans(),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("expire"), st.integers(-300, 300)),
    ),
    min_size=5,
    max_size=40,
)


def run_stream(
    acts: list[tuple[object, ...]], wallet: str, journal: Journal | None = None
) -> LiveTradingEngine:
    eng, stream, clock = make(wallet)
    if journal is not None:
        journal.attach(eng)
    px = dict(START)
    for a in acts:
        if a[0] == "tick":
            _, sym, move = a
            assert isinstance(sym, str) and isinstance(move, int)
            px[sym] = max(100, px[sym] + move * 10)
            p = px[sym]
            stream.push(sym, p, p + SPREAD[sym], p, 0, clock.now_ns())
        elif a[0] == "cancel":
            opens = eng.open_orders()
            assert isinstance(a[1], int)
            if opens:
                eng.cancel(opens[a[1] % len(opens)].order_id)
        elif a[0] == "expire":
            if clock.now_ns() < EXPIRY_NS:
                assert isinstance(a[1], int)
                _expire(stream, clock, 2_400_000 + a[1] * 100)
                assert eng.funds_paise()["fno_margin"] == 0
                assert all(p.symbol == SBIN for p in eng.positions())
        else:
            _, sym, side, qty, kind, product, off, sliced = a
            assert isinstance(sym, str) and isinstance(off, int) and isinstance(qty, int)
            if sym == SBIN:
                product, qty = Product.INTRADAY, qty // 65
            kw: dict[str, object] = {"product": product, "slice": sliced}
            if kind == "LIMIT":
                kw["limit_price"] = from_paise(max(5, px[sym] + off * 10))
            before = state(eng)
            try:
                eng.submit(sym, side, qty, kind, **kw)  # type: ignore[arg-type]
            except OrderRejected as rej:
                assert rej.reason.endswith(".")
                if not sliced or rej.code != "INSUFFICIENT_MARGIN":
                    assert state(eng)[:4] == before[:4], rej
        identity(eng)
        for k in eng.orders:  # settlement is no exchange order: no freeze applies to it
            inst = eng.instruments.get(k.symbol)
            if k.source == "expiry":
                continue
            assert inst.freeze_qty is None or k.quantity <= inst.freeze_qty
    for parent in eng.sliced_orders():
        assert sum(k.quantity for k in eng.children(parent.order_id)) <= parent.quantity
    return eng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fno_actions, st.sampled_from(["300000", "2000000", "20000000"]))
def test_funds_identity_holds_on_random_fno_streams(
    acts: list[tuple[object, ...]], wallet: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp, Journal(Path(tmp) / "j.sqlite") as j:
        eng = run_stream(acts, wallet, j)
        records = list(j.records())
    fresh, fstream, fclock = make(wallet)  # the journal restores it all, to the paisa
    for sym in START:
        top = eng.price_stream.top(sym)
        assert top is not None
        fstream.push(sym, *top[:3], 0, top[3])
    fclock.set(max(fclock.now_ns(), restore(fresh, records)))
    assert fresh.funds_paise() == eng.funds_paise()
    assert _held(fresh) == _held(eng)
    assert [(o.order_id, o.status, o.filled_quantity) for o in fresh.sliced_orders()] == [
        (o.order_id, o.status, o.filled_quantity) for o in eng.sliced_orders()
    ]


def test_random_fno_streams_really_slice_settle_and_refuse() -> None:
    rnd = random.Random(7)
    fills = parents = settled = refused = 0
    for wallet in ("300000", "20000000", "20000000", "20000000"):
        acts: list[tuple[object, ...]] = []
        for i in range(60):
            sym = rnd.choice([FUT, CALL, PUT])
            if i == 50:
                acts.append(("expire", rnd.randint(-300, 300)))
            elif rnd.random() < 0.4:
                acts.append(("tick", sym, rnd.randint(-40, 40)))
            else:
                acts.append(
                    ("order", sym, rnd.choice([Side.BUY, Side.SELL]),
                     rnd.choice([65, 130, 3640]), "MARKET", Product.MARGIN, 0, True)
                )  # fmt: skip
        eng = run_stream(acts, wallet)
        fills += len(eng.fills)
        parents += len(eng.sliced_orders())
        settled += sum(1 for o in eng.orders if o.source == "expiry")
        refused += wallet == "300000" and any(
            len(eng.children(p.order_id)) < 3 for p in eng.sliced_orders()
        )
    assert fills > 60 and parents > 5 and settled >= 3 and refused == 1  # partly sliced


# ---------------------------------------------------------------- a simulated session
async def test_a_session_settles_the_weekly_at_expiry_and_reopens_the_same(
    tmp_path: Path,
) -> None:
    import livetrade as lt

    start = datetime(2026, 12, 8, 15, 39, 40, tzinfo=IST)  # weekly expiry: 15:40 IST

    async def session() -> lt.Session:
        return await lt.open_session(
            feed="sim", broker="paper", seed=1, realtime=False, journal_dir=tmp_path,
            start=start, derivatives=True, name="expiry", wallet_balance=Decimal("5000000"),
        )  # fmt: skip

    s = await session()
    events: list[EngineEvent] = []
    s.engine.add_listener(events.append)
    try:
        await s.run_for(ticks=2)
        assert s.derivatives is not None
        weekly = [x for x in s.derivatives.symbols if x.startswith("NSE:NIFTY26D08")]
        call, put = weekly[10], weekly[-11]  # in and out of the money
        await s.buy(call, lots=1, product="MARGIN")
        await s.sell(put, lots=2, product="MARGIN")
        assert s.engine.funds().fno_margin > 0
        await s.run_for(ticks=30)
        expired = {e.message for e in events if e.kind == "contract_expired"}
        assert expired == {call, put} and s.engine.positions() == []
        assert s.engine.funds().margin_blocked == 0
        settled = [f for f in s.engine.fills if f.trade_id and f.trade_id.startswith("expiry-")]
        at = int(datetime(2026, 12, 8, 15, 40, tzinfo=IST).timestamp()) * SEC
        assert len(settled) == 2 and all(at <= f.ts_ns < at + 2 * SEC for f in settled)
        assert {f.symbol for f in settled} == {call, put}
        cash, charges, held = s.engine.cash_paise, s.engine.charges_paise, _held(s.engine)
    finally:
        await s.close()
    again = await session()
    try:
        assert again.restored
        assert (again.engine.cash_paise, again.engine.charges_paise) == (cash, charges)
        assert _held(again.engine) == held
    finally:
        await again.close()


def test_settlement_takes_the_close_when_the_next_tick_is_the_next_morning() -> None:
    """The index stops at 15:30 and the weekly expires at 15:40: the first tick after the expiry
    is the next open's, yet the settlement price is the last one up to the expiry."""
    eng, stream, clock = make()
    eng.submit(CALL, Side.BUY, 65, product="MARGIN")
    stream.push(INDEX, 2_425_000, 2_425_000, 2_425_000, 0, EXPIRY_NS - 600 * SEC)  # the close
    assert eng.positions() != []
    morning = EXPIRY_NS + 17 * 3600 * SEC + 35 * 60 * SEC
    clock.set(morning)
    stream.push(INDEX, 2_500_000, 2_500_000, 2_500_000, 0, morning)  # gapped up overnight
    settled = [f for f in eng.fills if eng.order(f.order_id).source == "expiry"]
    assert [(f.symbol, f.price_paise, f.ts_ns) for f in settled] == [(CALL, 25_000, morning)]
    assert eng.positions() == []
    identity(eng)
