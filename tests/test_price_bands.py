"""Price bands and market protection (#17 item 2): prices outside the day's circuit limits are
refused with ``PRICE_BAND`` naming the band and the field; market orders never fill beyond the
protected price (SEBI's market protection as Fyers applies it, exchange-rules.md §3-§4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from conftest import SYM, tick

import livetrade as lt
from livetrade import LiveTradingEngine, OrderRejected, OrderStatus, RiskLimits, Side
from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.money import to_paise
from livetrade.risk import mpp_paise, protected_price
from livetrade.session import Session

BAND = (720_00, 880_00)  # ₹720 – ₹880 around the fixture's ₹800


@pytest.fixture
def banded(engine: LiveTradingEngine) -> LiveTradingEngine:
    engine.band_source = lambda symbol: BAND if symbol == SYM else None
    return engine


# ---- PRICE_BAND -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "prices", "field"),
    [
        ("LIMIT", {"limit_price": "880.05"}, "limit_price"),
        ("LIMIT", {"limit_price": "719.95"}, "limit_price"),
        ("SL-M", {"trigger_price": "900"}, "trigger_price"),
        ("SL", {"trigger_price": "810", "limit_price": "881"}, "limit_price"),
        ("LIMIT", {"limit_price": "790", "stop_loss": "700"}, "stop_loss_price"),
        ("LIMIT", {"limit_price": "790", "take_profit": "900"}, "take_profit_price"),
    ],
)
def test_prices_outside_the_circuit_limits_are_refused(
    banded: LiveTradingEngine, kind: str, prices: dict[str, str], field: str
) -> None:
    with pytest.raises(OrderRejected) as info:
        banded.submit(SYM, Side.BUY, 10, kind, **prices)  # type: ignore[arg-type]
    rej = info.value
    assert (rej.code, rej.field) == ("PRICE_BAND", field)
    assert "₹720.00 – ₹880.00" in rej.reason and field in rej.reason
    assert banded.orders == [] and banded.cash_paise == 1_000_000_00


def test_prices_on_the_limits_and_market_orders_pass(banded: LiveTradingEngine) -> None:
    up = banded.submit(SYM, Side.SELL, 1, "LIMIT", limit_price="880.00")
    down = banded.submit(SYM, Side.BUY, 1, "LIMIT", limit_price="720.00")
    assert up.status is down.status is OrderStatus.OPEN
    assert banded.submit(SYM, Side.BUY, 1).status is OrderStatus.FILLED


def test_no_band_no_check(engine: LiveTradingEngine) -> None:
    assert engine.band_source is None  # a bare engine knows no circuit limits
    order = engine.submit(SYM, Side.BUY, 1, "LIMIT", limit_price="100")
    assert order.status is OrderStatus.OPEN
    engine.band_source = lambda symbol: None  # a source that does not know the symbol
    assert engine.submit(SYM, Side.BUY, 1, "LIMIT", limit_price="100").is_open


@pytest.fixture
async def sim() -> AsyncIterator[Session]:
    s = await lt.open_session(feed="sim", seed=3, realtime=False, journal=False)
    await s.run_for(ticks=5)
    yield s
    await s.close()


async def test_a_simulated_session_refuses_prices_outside_its_day_band(sim: Session) -> None:
    stats = sim.day_stats(SYM)
    assert stats.upper_circuit is not None and stats.lower_circuit is not None
    above = stats.upper_circuit + Decimal("0.05")
    with pytest.raises(OrderRejected) as info:
        await sim.sell(SYM, 1, order_type="LIMIT", limit_price=above)
    assert (info.value.code, info.value.field) == ("PRICE_BAND", "limit_price")
    assert f"₹{stats.lower_circuit} – ₹{stats.upper_circuit}" in info.value.reason
    order = await sim.sell(SYM, 1, order_type="LIMIT", limit_price=stats.upper_circuit)
    assert order.status is OrderStatus.OPEN


# ---- the protection range and the protected price -------------------------------------------


def _fut(underlying: str) -> Instrument:
    return Instrument("NSE:X26DECFUT", InstrumentKind.FUTURE, underlying=underlying)


def _opt() -> Instrument:
    return Instrument(
        "NSE:X26DEC100CE",
        InstrumentKind.OPTION,
        strike_paise=100_00,
        option_type="CE",
        underlying="NSE:X-EQ",
    )


@pytest.mark.parametrize(
    ("inst", "ltp", "reach"),
    [
        (_fut("NSE:NIFTY50-INDEX"), 10_000_00, 50_00),  # FUTIDX up to ₹10,000: ₹50
        (_fut("NSE:NIFTY50-INDEX"), 12_000_00, 60_00),  # above: 0.5% (Fyers' own example)
        (_fut("NSE:SBIN-EQ"), 50_00, 75),  # FUTSTK up to ₹50: ₹0.75
        (_fut("NSE:SBIN-EQ"), 800_00, 12_00),  # above: 1.5%
        (_opt(), 10_00, 1_50),  # options up to ₹10: ₹1.5
        (_opt(), 20_00, 3_00),  # up to ₹20: 15%
        (_opt(), 100_00, 10_00),  # above: 10%
        (Instrument(SYM), 800_00, 24_00),  # cash equity: the configured 3%
    ],
)
def test_the_protection_range_follows_fyers_table(inst: Instrument, ltp: int, reach: int) -> None:
    assert mpp_paise(ltp, inst, Decimal("3")) == reach


def test_the_protected_price_is_capped_at_the_circuit_and_on_the_tick() -> None:
    eq = Instrument(SYM, tick_paise=5)
    assert protected_price(Side.BUY, 800_00, eq, "3") == 824_00
    assert protected_price(Side.SELL, 800_00, eq, "3") == 776_00
    assert protected_price(Side.BUY, 800_00, eq, "3", (720_00, 810_00)) == 810_00
    assert protected_price(Side.SELL, 800_00, eq, "3", (790_00, 880_00)) == 790_00
    assert protected_price(Side.BUY, 333_33, eq, "1") % 5 == 0  # rounded to the tick
    # a stale band the LTP has already left never puts the cap on the wrong side of the LTP
    assert protected_price(Side.BUY, 900_00, eq, "3", (720_00, 880_00)) == 927_00


def test_the_protection_percentage_is_validated() -> None:
    assert RiskLimits().market_protection_pct == Decimal("3")
    assert RiskLimits(market_protection_pct=None).market_protection_pct is None
    for bad in (Decimal(0), Decimal(-1), Decimal(25), True, 1.5):
        with pytest.raises(InvalidInput) as info:
            RiskLimits(market_protection_pct=bad)  # type: ignore[arg-type]
        assert info.value.field == "market_protection_pct"


# ---- paper fills never go beyond the protected price ---------------------------------------


def test_a_market_order_beyond_the_protected_price_is_cancelled(
    engine: LiveTradingEngine,
) -> None:
    tick(engine.price_stream, "799.95", "830.00", "800.00")  # a thin book: ask 3.75% away
    order = engine.submit(SYM, Side.BUY, 10)
    assert order.status is OrderStatus.CANCELLED and order.filled_quantity == 0
    assert "market protection" in order.message and "₹824.00" in order.message
    assert engine.positions() == [] and engine.cash_paise == 1_000_000_00
    tick(engine.price_stream, "799.95", "820.00", "800.00")  # within 3%: fills at the touch
    assert engine.submit(SYM, Side.BUY, 10).fill_paise == 820_00


def test_the_cap_honours_the_circuit_limit(banded: LiveTradingEngine) -> None:
    tick(banded.price_stream, "869.95", "881.00", "870.00")  # ask above the upper circuit
    order = banded.submit(SYM, Side.BUY, 1)
    assert order.status is OrderStatus.CANCELLED and "₹880.00" in order.message


def test_a_stop_market_beyond_protection_stays_armed_and_fills_later(
    engine: LiveTradingEngine,
) -> None:
    engine.submit(SYM, Side.BUY, 10)
    stop = engine.submit(SYM, Side.SELL, 10, "SL-M", trigger_price="790")
    tick(engine.price_stream, "750.00", "780.05", "780.00")  # triggers; bid 3.8% under LTP
    assert stop.triggered and stop.is_open and stop.filled_quantity == 0
    tick(engine.price_stream, "775.00", "775.10", "775.05")  # still through the trigger
    assert stop.status is OrderStatus.FILLED and stop.fill_paise == 775_00


def test_protection_off_fills_at_any_price(stream: lt.LivePriceStream) -> None:
    from conftest import T0

    from livetrade.clock import VirtualClock

    eng = LiveTradingEngine(
        Decimal("1000000"),
        stream,
        clock=VirtualClock(T0),
        limits=RiskLimits(market_protection_pct=None),
    )
    tick(stream, "799.95", "900.00", "800.00")
    assert eng.submit(SYM, Side.BUY, 1).fill_paise == to_paise("900")


def test_a_modify_outside_the_band_is_refused(banded: LiveTradingEngine) -> None:
    order = banded.submit(SYM, Side.BUY, 1, "LIMIT", limit_price="790")
    with pytest.raises(OrderRejected) as info:
        banded.modify(order.order_id, limit_price="700")
    assert (info.value.code, info.value.field) == ("PRICE_BAND", "limit_price")
    assert order.limit_paise == 790_00
    stop = banded.submit(SYM, Side.SELL, 1, "SL-M", trigger_price="780")
    with pytest.raises(OrderRejected) as info:
        banded.modify(stop.order_id, trigger_price="719")
    assert info.value.field == "trigger_price"
    assert banded.modify(order.order_id, limit_price="721").limit_paise == 721_00
