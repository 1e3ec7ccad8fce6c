"""Exact money and the Indian charges model, checked against hand-computed contract notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livetrade.errors import InvalidInput
from livetrade.money import (
    RATES,
    Charges,
    FlatCommission,
    IndianEquityCharges,
    from_paise,
    rate,
    round_to_rupee,
    to_paise,
)

D2025 = date(2025, 6, 2)


def test_worked_example_from_the_charges_sheet() -> None:
    # NSE intraday buy 200 @ ₹1,500.00 (2025 rates): the sheet's own numbers.
    c = IndianEquityCharges().charge("NSE:INFY-EQ", True, False, 200, 150_000, D2025)
    assert c == Charges(brokerage=2000, stt=0, exchange=891, ipft=30, sebi=30, stamp=900, gst=526)
    assert c.total_rupees == Decimal("43.77")


def test_intraday_round_trip_by_hand() -> None:
    # Sell 200 @ ₹1,510.00 the same day: turnover 3,02,000.
    m = IndianEquityCharges()
    m.charge("NSE:INFY-EQ", True, False, 200, 150_000, D2025)
    c = m.charge("NSE:INFY-EQ", False, False, 200, 151_000, D2025)
    assert c.brokerage == 2000  # min(₹20, 0.03% = ₹90.60)
    assert c.stt == 7600  # 0.025% × 3,02,000 = ₹75.50 → ₹76 (rupee, half up)
    assert c.exchange == 897  # 0.00297% = ₹8.9694 → ₹8.97
    assert c.ipft == 30 and c.sebi == 30  # ₹10/crore = ₹0.302 → ₹0.30
    assert c.stamp == 0  # stamp duty is on the buyer only
    assert c.gst == 527  # 18% × (20 + 8.97 + 0.30) = ₹5.2686 → ₹5.27
    assert c.total == 2000 + 7600 + 897 + 30 + 30 + 527


def test_delivery_buy_and_sell_with_dp_charge() -> None:
    m = IndianEquityCharges()
    buy = m.charge("NSE:SBIN-EQ", True, True, 100, 80_000, D2025)  # ₹80,000
    assert buy.brokerage == 2000  # min(₹20, 0.3% = ₹240)
    assert buy.stt == 8000  # 0.1% = ₹80
    assert buy.stamp == 1200  # 0.015% = ₹12
    assert buy.dp == 0
    sell = m.charge("NSE:SBIN-EQ", False, True, 100, 81_000, date(2025, 6, 3))
    assert sell.stt == 8100 and sell.stamp == 0
    assert sell.dp == 1250  # ₹12.50 per scrip per day, with GST on it
    expected_gst = round((2000 + sell.exchange + sell.ipft + 1250) * Decimal("0.18"))
    assert sell.gst == expected_gst
    again = m.charge("NSE:SBIN-EQ", False, True, 1, 81_000, date(2025, 6, 3))
    assert again.dp == 0  # once per scrip per day


def test_rates_are_date_effective() -> None:
    assert rate("exchange", "NSE", date(2024, 9, 30)) == Decimal("0.0000325")
    assert rate("exchange", "NSE", date(2024, 10, 1)) == Decimal("0.0000297")
    assert rate("brokerage", "delivery", date(2024, 9, 30)) == 0
    assert rate("brokerage", "delivery", date(2024, 10, 1)) == Decimal("0.003")
    assert rate("ipft", "NSE", date(2023, 3, 31)) == 0
    old = IndianEquityCharges().charge("NSE:SBIN-EQ", True, True, 100, 80_000, date(2024, 9, 2))
    assert old.brokerage == 0 and old.exchange == 260  # 0.00325% of ₹80,000
    for row in RATES:
        assert row.source, f"rate {row.component}/{row.scope} has no source"


def test_bse_has_no_ipft_and_its_own_transaction_charge() -> None:
    c = IndianEquityCharges().charge("BSE:SBIN-A", True, False, 100, 80_000, D2025)
    assert c.ipft == 0
    assert c.exchange == 300  # 0.00375% of ₹80,000


def test_stt_is_rounded_per_scrip_and_day_not_per_fill() -> None:
    # 10 fills of ₹1,000 intraday sells: per-fill STT would be ₹0.25 → ₹0 each; the day's STT
    # is 0.025% of ₹10,000 = ₹2.50 → ₹3, and the fills together pay exactly that.
    m = IndianEquityCharges()
    paid = sum(m.charge("NSE:SBIN-EQ", False, False, 1, 100_000, D2025).stt for _ in range(10))
    assert paid == 300


def test_estimate_never_changes_state() -> None:
    m = IndianEquityCharges()
    e1 = m.estimate("NSE:SBIN-EQ", False, True, 10, 80_000, D2025)
    e2 = m.estimate("NSE:SBIN-EQ", False, True, 10, 80_000, D2025)
    assert e1 == e2 == m.charge("NSE:SBIN-EQ", False, True, 10, 80_000, D2025)


def test_flat_commission_is_the_original_model() -> None:
    c = FlatCommission().charge("NSE:SBIN-EQ", True, False, 10, 80_005, D2025)
    assert c == Charges(brokerage=400)  # 0.05% of ₹8,000.50 = ₹4.00025 → ₹4.00


@pytest.mark.parametrize(
    ("value", "paise"),
    [
        (Decimal("800.05"), 80005),
        ("0.05", 5),
        (800.05, 80005),
        (12, 1200),
        (Decimal("1E+2"), 10000),
    ],
)
def test_to_paise(value: object, paise: int) -> None:
    assert to_paise(value) == paise


@pytest.mark.parametrize("value", [Decimal("800.051"), "abc", float("nan"), None, True, [1]])
def test_to_paise_rejects(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        to_paise(value, "limit_price")
    assert info.value.field == "limit_price"


def test_round_to_rupee_is_half_up() -> None:
    assert round_to_rupee(Decimal(250)) == 300
    assert round_to_rupee(Decimal("249.99")) == 200
    assert round_to_rupee(Decimal(0)) == 0


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_paise_round_trip(p: int) -> None:
    assert to_paise(from_paise(p)) == p


@given(
    fills=st.lists(
        st.tuples(
            st.sampled_from(["NSE:SBIN-EQ", "NSE:TCS-EQ", "BSE:SBIN-A"]),
            st.booleans(),
            st.booleans(),
            st.integers(1, 5_000),
            st.integers(1, 400_000).map(lambda t: t * 5),
            st.sampled_from([date(2023, 1, 2), date(2024, 10, 1), D2025]),
        ),
        max_size=40,
    )
)
def test_charges_never_negative_and_stt_matches_the_day_figure(
    fills: list[tuple[str, bool, bool, int, int, date]],
) -> None:
    m = IndianEquityCharges()
    stt_paid: dict[tuple[str, date, bool, bool], int] = {}
    turnover: dict[tuple[str, date, bool, bool], int] = {}
    for sym, is_buy, delivery, qty, price, day in fills:
        c = m.charge(sym, is_buy, delivery, qty, price, day)
        for part in (c.brokerage, c.stt, c.exchange, c.ipft, c.sebi, c.stamp, c.gst, c.dp):
            assert part >= 0
        assert c.brokerage <= 2000
        key = (sym, day, is_buy, delivery)
        stt_paid[key] = stt_paid.get(key, 0) + c.stt
        turnover[key] = turnover.get(key, 0) + qty * price
    for key, paid in stt_paid.items():
        _, day, is_buy, delivery = key
        scope = ("delivery" if delivery else "intraday") + ("_buy" if is_buy else "_sell")
        assert paid == round_to_rupee(Decimal(turnover[key]) * rate("stt", scope, day))
