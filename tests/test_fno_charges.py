"""F&O charges (fno.md §3): the worked examples to the paisa, the rate changes, and properties."""

from __future__ import annotations

from dataclasses import astuple
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livetrade.fno.charges import IndianFnoCharges, derivative_terms
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST
from livetrade.money import RATES, Charges, IndianEquityCharges, rate

NEW = date(2026, 4, 2)  # rates from 1 Apr 2026
OLD = date(2025, 6, 2)  # Oct 2024 - Feb 2026 rates
OPT = "NSE:NIFTY26APR24000CE"
FUT = "NSE:NIFTY26APRFUT"


def _round_trip(model: IndianEquityCharges | IndianFnoCharges, day: date) -> tuple[Charges, ...]:
    """fno.md's example: 1 lot NIFTY (65) buy @ ₹100, sell @ ₹120, one order each."""
    buy = model.charge(OPT, True, False, 65, 100_00, day)
    sell = model.charge(OPT, False, False, 65, 120_00, day)
    return buy, sell


def test_worked_example_from_1_apr_2026_to_the_paisa() -> None:
    buy, sell = _round_trip(IndianEquityCharges(), NEW)  # routed by the ticker form
    day = buy + sell
    assert day.brokerage == 40_00  # ₹20 + ₹20
    assert day.stt == 12_00  # 0.15% × 7,800 = 11.70, to the rupee
    assert day.exchange == 5_08  # 0.03552% × 14,300 = 5.0794
    assert day.ipft == 0  # ₹1/crore × 14,300
    assert day.sebi == 1  # ₹10/crore × 14,300 = 0.0143
    assert day.stamp == 20  # 0.003% × 6,500 = 0.195
    assert day.gst == 8_11  # 18% × (40 + 5.08)
    assert day.dp == 0 and day.total == 65_40
    assert (buy.stt, buy.stamp, sell.stamp) == (0, 20, 0)  # STT sells, stamp buys
    gross = (120_00 - 100_00) * 65
    assert gross - day.total == 1234_60  # net ₹1,234.60


def test_worked_example_at_oct_2024_to_feb_2026_rates() -> None:
    buy, sell = _round_trip(IndianFnoCharges(), OLD)
    day = buy + sell
    assert (day.stt, day.exchange, day.ipft) == (8_00, 5_01, 7)
    assert day.total == 61_40


def test_turnover_fees_are_the_days_contract_note_figure() -> None:
    """Per order the exchange charge would round to 2.31 + 2.77 and SEBI to 0.01 + 0.01; the
    day's note has 5.08 and 0.01, and the fills add up to it."""
    buy, sell = _round_trip(IndianFnoCharges(), NEW)
    assert (buy.exchange, sell.exchange) == (2_31, 2_77)
    assert (buy.sebi, sell.sebi) == (1, 0)
    assert buy.gst + sell.gst == 8_11


def test_futures() -> None:
    m = IndianFnoCharges()
    # 1 lot NIFTY future at ₹24,000: ₹15,60,000 of contract value
    buy = m.charge(FUT, True, False, 65, 24_000_00, NEW)
    assert buy.brokerage == 20_00  # lower of ₹20 and 0.03% (₹468)
    assert buy.stt == 0
    assert buy.exchange == 28_55  # 0.0018299% × 15,60,000 = 28.546
    assert buy.ipft == 0  # ₹0.01/crore: 0.00156
    assert buy.sebi == 1_56  # ₹10/crore
    assert buy.stamp == 31_20  # 0.002%
    assert buy.gst == 8_74  # 18% × (20 + 28.55) = 8.739
    sell = m.charge(FUT, False, False, 65, 24_000_00, NEW)
    assert sell.stt == 780_00  # 0.05% × 15,60,000
    small = m.estimate(FUT, True, False, 1, 100_00, NEW)
    assert small.brokerage == 3  # 0.03% of ₹100 = ₹0.03, under the cap
    old = IndianFnoCharges().charge(FUT, False, False, 65, 24_000_00, OLD)
    assert old.stt == 312_00 and old.exchange == 26_99  # 0.02%; 0.00173% = 26.988
    assert old.ipft == 1_56  # ₹10/crore before 1 Mar 2026


def test_bse_exchange_charges_by_contract() -> None:
    m = IndianFnoCharges()
    sensex = m.estimate("BSE:SENSEX26APR80000CE", True, False, 20, 100_00, NEW)
    assert sensex.exchange == 65  # ₹3,250/crore × ₹2,000 = 0.65
    assert sensex.ipft == 0
    weekly = m.estimate("BSE:SENSEX2640980000PE", True, False, 20, 100_00, NEW)
    assert weekly.exchange == 65
    s50 = m.estimate("BSE:SENSEX5026APR25000CE", True, False, 100, 100_00, NEW)
    assert s50.exchange == 50  # ₹500/crore × ₹10,000 = 0.50
    fut = m.estimate("BSE:SENSEX26APRFUT", True, False, 20, 80_000_00, NEW)
    assert fut.exchange == 0  # futures nil


def test_registry_decides_and_equity_is_unchanged() -> None:
    reg = InstrumentRegistry()
    odd = Instrument(
        "NSE:ODDNAME",
        InstrumentKind.OPTION,
        lot_size=50,
        expiry=datetime(2026, 4, 28, 15, 30, tzinfo=IST),
        strike_paise=100_00,
        option_type="PE",
        underlying="NSE:ODD-EQ",
        segment="FO",
    )
    reg.register(odd)
    assert derivative_terms("NSE:ODDNAME") is None  # no ticker form
    assert derivative_terms("NSE:ODDNAME", reg) is not None
    m = IndianEquityCharges(instruments=reg)
    assert m.charge("NSE:ODDNAME", True, False, 50, 10_00, NEW).brokerage == 20_00  # flat
    for sym in ("NSE:SBIN-EQ", "NSE:NIFTY50-INDEX", "BSE:SBIN-A", "NSE:M&M-EQ"):
        assert derivative_terms(sym, reg) is None
    # equity keeps its own rules (the cash worked example, 2025 rates)
    eq = m.charge("NSE:INFY-EQ", True, False, 200, 1_500_00, OLD)
    assert eq.total == 43_77
    assert m.take_refund() == Charges()


def test_nse_cash_split_from_1_mar_2026() -> None:
    assert rate("exchange", "NSE", date(2026, 2, 28)) == Decimal("0.0000297")
    assert rate("exchange", "NSE", date(2026, 3, 1)) == Decimal("0.000030699")
    assert rate("ipft", "NSE", date(2026, 3, 1)) == Decimal("0.000000001")
    # ₹3,00,000 intraday buy: 306.99/crore = 9.2097 → 9.21, IPFT 0.0003 → 0
    c = IndianEquityCharges().charge("NSE:INFY-EQ", True, False, 200, 1_500_00, date(2026, 3, 2))
    assert (c.exchange, c.ipft) == (9_21, 0)
    assert c.exchange + c.ipft == 9_21  # ₹307/crore total unchanged (9.21 either way)


def test_every_fno_rate_has_a_source() -> None:
    fno = [r for r in RATES if r.scope.startswith(("fno_", "NSE_", "BSE_"))]
    assert len(fno) >= 18
    for row in fno:
        assert row.source and row.effective >= date(2000, 1, 1)


def test_exercise_stt() -> None:
    m = IndianEquityCharges().fno
    # 65 NIFTY 24000 CE settling at 24,100: intrinsic ₹100 × 65 = ₹6,500
    assert m.charge_exercise(OPT, 65, 100_00, NEW).stt == 10_00  # 0.15% = 9.75 → 10
    assert m.charge_exercise(OPT, 65, 100_00, OLD).stt == 8_00  # 0.125% = 8.125 → 8
    assert m.charge_exercise(OPT, 65, -5_00, NEW) == Charges()  # out of the money
    with pytest.raises(ValueError):
        m.charge_exercise(FUT, 65, 100_00, NEW)


def test_record_restores_the_day_figure() -> None:
    live = IndianFnoCharges()
    buy = live.charge(OPT, True, False, 65, 100_00, NEW)
    restored = IndianFnoCharges()
    restored.record(OPT, True, False, 65, 100_00, NEW, buy)
    assert restored.charge(OPT, False, False, 65, 120_00, NEW) == live.charge(
        OPT, False, False, 65, 120_00, NEW
    )


SYMBOLS = st.sampled_from([OPT, FUT, "BSE:SENSEX26APR80000PE", "NSE:RELIANCE26APRFUT"])
DAYS = st.sampled_from([OLD, date(2026, 3, 10), NEW])


@settings(max_examples=150, deadline=None)
@given(
    sym=SYMBOLS,
    is_buy=st.booleans(),
    q=st.integers(1, 5_000),
    extra=st.integers(0, 5_000),
    price=st.integers(5, 5_000_000),
    day=DAYS,
)
def test_property_non_negative_monotone_and_summed(
    sym: str, is_buy: bool, q: int, extra: int, price: int, day: date
) -> None:
    m = IndianFnoCharges()
    a = m.estimate(sym, is_buy, False, q, price, day)
    b = m.estimate(sym, is_buy, False, q + extra, price, day)
    assert all(v >= 0 for v in astuple(a))
    assert a.total == sum(astuple(a))
    assert all(x <= y for x, y in zip(astuple(a), astuple(b), strict=True))
    assert sum(a.as_rupees()[k] for k in a.as_rupees() if k != "total") == a.total_rupees


@settings(max_examples=100, deadline=None)
@given(
    fills=st.lists(
        st.tuples(st.booleans(), st.integers(1, 500), st.integers(5, 500_000)),
        min_size=1,
        max_size=12,
    ),
    day=DAYS,
)
def test_property_a_days_fills_add_up_to_the_day_figure(
    fills: list[tuple[bool, int, int]], day: date
) -> None:
    m = IndianFnoCharges()
    total = Charges()
    for is_buy, q, p in fills:
        c = m.charge(OPT, is_buy, False, q, p, day)
        assert all(v >= 0 for v in astuple(c))
        total = total + c
    turnover = sum(q * p for _, q, p in fills)
    exch = Decimal(turnover) * rate("exchange", "NSE_OPT", day)
    assert total.exchange == int(exch.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    sells = sum(q * p for b, q, p in fills if not b)
    stt = Decimal(sells) * rate("stt", "fno_opt_sell", day) / 100
    assert total.stt == int(stt.quantize(Decimal(1), rounding="ROUND_HALF_UP")) * 100
    assert total.brokerage == 20_00 * len(fills)
