"""Black-76 prices, Greeks and implied volatility (fno.md §5's convention)."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import livetrade as lt
from livetrade.errors import InvalidInput
from livetrade.model import IST
from livetrade.pricing import (
    black76,
    forward_from_parity,
    greeks,
    implied_vol,
    years_to_expiry,
)

F, K, T, R = 24_000.0, 24_000.0, 7 / 365, 0.065


def test_a_known_value() -> None:
    # ATM: C = e^{-rT} F (2 N(sigma sqrt(T)/2) - 1); with sigma sqrt(T) = 0.14 sqrt(7/365)
    vol = 0.14 * math.sqrt(T)
    expected = math.exp(-R * T) * F * math.erf(vol / 2 / math.sqrt(2))
    assert black76("c", F, K, T, R, 0.14) == pytest.approx(expected, rel=1e-12)


@given(
    moneyness=st.floats(-0.4, 0.4),
    t=st.floats(1 / 365 / 24, 2.0),
    r=st.floats(0.0, 0.12),
    sigma=st.floats(0.02, 2.0),
)
def test_put_call_parity(moneyness: float, t: float, r: float, sigma: float) -> None:
    k = F * math.exp(moneyness)
    c, p = black76("c", F, k, t, r, sigma), black76("p", F, k, t, r, sigma)
    assert c - p == pytest.approx(math.exp(-r * t) * (F - k), abs=1e-7 * F)


@settings(max_examples=300)
@given(
    moneyness=st.floats(-0.3, 0.3),
    t=st.floats(1 / 365, 1.5),
    r=st.floats(0.0, 0.1),
    sigma=st.floats(0.03, 1.5),
    call=st.booleans(),
)
def test_implied_vol_gives_back_sigma(
    moneyness: float, t: float, r: float, sigma: float, call: bool
) -> None:
    k = F * math.exp(moneyness)
    flag = "c" if call else "p"
    price = black76(flag, F, k, t, r, sigma)
    g = greeks(flag, F, k, t, r, sigma)
    if g.vega * 100 < 1e-6 * F:  # no time value left to read a volatility from
        return
    iv, why = implied_vol(price, F, k, t, r, flag, reasons=True)
    assert why == "" and iv == pytest.approx(sigma, rel=1e-6, abs=1e-7)


def test_greeks_match_finite_differences() -> None:
    for flag in ("c", "p"):
        g = greeks(flag, F, 24_500.0, T, R, 0.15)
        h = 1.0
        up, down = (
            black76(flag, F + h, 24_500, T, R, 0.15),
            black76(flag, F - h, 24_500, T, R, 0.15),
        )
        assert g.delta == pytest.approx((up - down) / (2 * h), rel=1e-5)
        assert g.gamma == pytest.approx((up - 2 * g.price + down) / h**2, rel=1e-3)
        v_up, v_dn = black76(flag, F, 24_500, T, R, 0.1501), black76(flag, F, 24_500, T, R, 0.1499)
        assert g.vega == pytest.approx((v_up - v_dn) / 0.0002 / 100, rel=1e-5)
        day = 1 / 365
        later = black76(flag, F, 24_500, T - day, R, 0.15)
        assert g.theta == pytest.approx(later - g.price, rel=2e-2)


def test_a_whole_chain_at_once() -> None:
    strikes = np.arange(22_000.0, 26_001.0, 100.0)
    smile = 0.12 + 2e-8 * (strikes - F) ** 2
    flags = np.where(strikes >= F, "c", "p")
    prices = black76(flags, F, strikes, T, R, smile)
    ivs = implied_vol(prices, F, strikes, T, R, flags)
    assert isinstance(ivs, np.ndarray) and ivs.shape == strikes.shape
    assert np.allclose(ivs, smile, rtol=1e-6)
    g = greeks(flags, F, strikes, T, R, ivs)
    assert np.all(np.diff(g.delta[strikes >= F]) < 0)  # call delta falls with the strike


@given(
    price=st.floats(allow_nan=True, allow_infinity=True),
    forward=st.floats(allow_nan=True, allow_infinity=True),
    strike=st.floats(allow_nan=True, allow_infinity=True),
    t=st.floats(allow_nan=True, allow_infinity=True),
    r=st.floats(-1, 1),
    call=st.booleans(),
)
def test_implied_vol_always_answers(
    price: float, forward: float, strike: float, t: float, r: float, call: bool
) -> None:
    iv, why = implied_vol(price, forward, strike, t, r, "c" if call else "p", reasons=True)
    assert isinstance(iv, float) and isinstance(why, str)
    assert (math.isnan(iv) and why) or (0 < iv <= 10 and why == "")


@pytest.mark.parametrize(
    ("price", "t", "why"),
    [
        (100.0, 0.0, "past expiry"),
        (400.0, T, "below intrinsic value"),  # the 23,500 call is worth at least ~499 today
        (F, T, "above the no-arbitrage bound"),
        (-1.0, T, "no price"),
        (float("nan"), T, "no price"),
    ],
)
def test_nan_with_a_reason(price: float, t: float, why: str) -> None:
    iv, reason = implied_vol(price, F, 23_500.0, t, R, "c", reasons=True)
    assert math.isnan(iv) and reason == why


def test_flags_are_checked() -> None:
    assert black76("CE", F, K, T, R, 0.2) == black76("call", F, K, T, R, 0.2)
    with pytest.raises(InvalidInput) as info:
        black76("x", F, K, T, R, 0.2)
    assert info.value.field == "flag"


def test_forward_from_parity_and_time_to_expiry() -> None:
    strikes = np.array([23_900.0, 24_000.0, 24_100.0])
    fwd = 24_037.5
    calls = black76("c", fwd, strikes, T, R, 0.13)
    puts = black76("p", fwd, strikes, T, R, 0.13)
    assert forward_from_parity(strikes, calls, puts, T, R) == pytest.approx(fwd, rel=1e-12)
    now = datetime(2026, 12, 1, 15, 30, tzinfo=IST)
    assert years_to_expiry(now, datetime(2026, 12, 8)) == pytest.approx(7 * 1440 / 525_600)
    assert years_to_expiry(datetime(2026, 12, 9), datetime(2026, 12, 8)) == 0.0


def test_exported_from_the_package() -> None:
    assert lt.implied_vol is implied_vol and lt.greeks is greeks and lt.black76 is black76
