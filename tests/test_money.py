"""Exact money and the Indian charges model, checked against hand-computed contract notes."""

from __future__ import annotations

from dataclasses import astuple
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
    """Every fill's charges and every refund are non-negative, and the STT paid net of refunds
    is, per scrip and day, the rounded day figure of an independent reference: CNC sells
    matched FIFO against the day's CNC buys are intraday, the rest delivery."""
    m = IndianEquityCharges()
    stt_paid: dict[tuple[str, date], int] = {}
    turnover: dict[tuple[str, date, str], int] = {}  # scope → turnover
    open_buys: dict[tuple[str, date], list[list[int]]] = {}
    for sym, is_buy, delivery, qty, price, day in fills:
        c = m.charge(sym, is_buy, delivery, qty, price, day)
        refund = m.take_refund()
        for part in (*astuple(c), *astuple(refund)):
            assert part >= 0
        assert c.brokerage <= 2000 and refund.total <= 10**12
        day_key = (sym, day)
        stt_paid[day_key] = stt_paid.get(day_key, 0) + c.stt - refund.stt
        value = qty * price
        if not delivery:
            scope = "intraday_buy" if is_buy else "intraday_sell"
        elif is_buy:
            open_buys.setdefault(day_key, []).append([qty, price])
            scope = "delivery_buy"
        else:  # match today's CNC buys first (FIFO)
            left, matched_value = qty, 0
            for lot in open_buys.get(day_key, []):
                take = min(lot[0], left)
                lot[0] -= take
                left -= take
                matched_value += take * lot[1]
            matched = qty - left
            key = (sym, day, "delivery_buy")
            turnover[key] = turnover.get(key, 0) - matched_value
            key = (sym, day, "intraday_sell")
            turnover[key] = turnover.get(key, 0) + matched * price
            value, scope = left * price, "delivery_sell"
        turnover[(sym, day, scope)] = turnover.get((sym, day, scope), 0) + value
    for (sym, day), paid in stt_paid.items():
        expected = sum(
            round_to_rupee(Decimal(turnover.get((sym, day, scope), 0)) * rate("stt", scope, day))
            for scope in ("delivery_buy", "delivery_sell", "intraday_buy", "intraday_sell")
        )
        assert paid == expected


def test_a_cnc_buy_sold_the_same_day_is_billed_as_intraday() -> None:
    """Buy 100 @ ₹800 CNC, sell 100 @ ₹810 CNC the same day (2025 rates), by hand: the buy is
    billed as delivery when it fills (₹118.58: brokerage 20, STT 80, exchange 2.38, IPFT 0.08,
    SEBI 0.08, stamp 12, GST 4.04); the sell is intraday (₹46.62: brokerage 20, STT 20,
    exchange 2.41, IPFT 0.08, SEBI 0.08, GST 4.05, no DP charge) and gives back what the buy
    overpaid (₹89.60: STT 80, stamp 12 - 2.40). Net ₹75.60, the intraday round trip."""
    m = IndianEquityCharges()
    buy = m.charge("NSE:SBIN-EQ", True, True, 100, 80_000, D2025)
    assert buy == Charges(2000, 8000, 238, 8, 8, 1200, 404, 0) and m.take_refund().total == 0
    sell = m.charge("NSE:SBIN-EQ", False, True, 100, 81_000, D2025)
    assert sell == Charges(2000, 2000, 241, 8, 8, 0, 405, 0)
    refund = m.take_refund()
    assert refund == Charges(brokerage=0, stt=8000, stamp=960, gst=0)
    assert m.take_refund().total == 0  # given once
    intraday = IndianEquityCharges()
    trip = intraday.charge("NSE:SBIN-EQ", True, False, 100, 80_000, D2025).total
    trip += intraday.charge("NSE:SBIN-EQ", False, False, 100, 81_000, D2025).total
    assert buy.total + sell.total - refund.total == trip == 7560


def test_a_partly_matched_cnc_sell_is_split_and_small_buys_get_brokerage_back() -> None:
    """Yesterday's holding is delivery; only today's buys are matched (FIFO, at their prices).
    A ₹4,000 CNC buy paid 0.3% brokerage (₹12); as intraday it pays 0.03% (₹1.20)."""
    m = IndianEquityCharges()
    m.charge("NSE:SBIN-EQ", True, True, 5, 80_000, D2025)  # ₹4,000: brokerage ₹12
    sell = m.charge("NSE:SBIN-EQ", False, True, 8, 80_000, D2025)  # 5 matched, 3 from demat
    refund = m.take_refund()
    assert refund.brokerage == 1200 - 120 and refund.gst == 194  # 18% of ₹10.80
    assert sell.dp == 1250  # the delivery part still pays the DP charge
    assert sell.brokerage == 120 + 720  # 0.03% of ₹4,000 + 0.3% of ₹2,400
    # STT: intraday 0.025% of ₹4,000 = ₹1; delivery 0.1% of ₹2,400 = ₹2.40 → ₹2
    assert sell.stt == 100 + 200
