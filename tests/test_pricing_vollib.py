"""Black-76 prices, Greeks and implied volatility against ``vollib`` (Let's Be Rational, the
maintained reference; a test-only dependency) on the same inputs, to 1e-6; and 10,000 random
(price, strike, time) inputs through the vectorised solver without an exception."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vollib.black import black as v_black  # the dev extra installs vollib
from vollib.black.greeks import analytical as v_greeks
from vollib.black.implied_volatility import implied_volatility as v_iv

from livetrade.pricing import black76, greeks, implied_vol


def _grid(n: int = 400, seed: int = 16) -> tuple[np.ndarray, ...]:
    """NIFTY-like inputs: forward 24,000 ± 15%, strikes ± 20% of it, a day to a year,
    rates 0-12%, volatility 5-80%, calls and puts."""
    rng = np.random.default_rng(seed)
    f = 24_000 * rng.uniform(0.85, 1.15, n)
    k = np.round(f * rng.uniform(0.8, 1.2, n) / 50) * 50
    t = rng.uniform(1 / 365, 1.0, n)
    r = rng.uniform(0.0, 0.12, n)
    sigma = rng.uniform(0.05, 0.8, n)
    calls = rng.integers(0, 2, n).astype(bool)
    return f, k, t, r, sigma, calls


def test_price_and_greeks_match_vollib_to_1e_6() -> None:
    f, k, t, r, sigma, _calls = _grid()
    for flag in ("c", "p"):
        ours = greeks(flag, f, k, t, r, sigma)
        price = black76(flag, f, k, t, r, sigma)
        for i in range(len(f)):
            args = (flag, f[i], k[i], t[i], r[i], sigma[i])
            ref = {
                "price": v_black(*args),
                "delta": v_greeks.delta(*args),
                "gamma": v_greeks.gamma(*args),
                "theta": v_greeks.theta(*args),
                "vega": v_greeks.vega(*args),
            }
            got = {
                "price": price[i],
                "delta": ours.delta[i],
                "gamma": ours.gamma[i],
                "theta": ours.theta[i],
                "vega": ours.vega[i],
            }
            for name, want in ref.items():
                assert got[name] == pytest.approx(want, rel=1e-6, abs=1e-6), (name, args)


def test_implied_vol_matches_vollib_to_1e_6() -> None:
    f, k, t, r, sigma, calls = _grid(seed=7)
    flags = np.where(calls, "c", "p")
    price = np.where(calls, black76("c", f, k, t, r, sigma), black76("p", f, k, t, r, sigma))
    # skip prices with almost no time value: both solvers are ill-conditioned there
    intrinsic = np.exp(-r * t) * np.where(calls, np.maximum(f - k, 0), np.maximum(k - f, 0))
    usable = price - intrinsic > 1e-3
    ours = implied_vol(price, f, k, t, r, flags)
    checked = 0
    for i in np.flatnonzero(usable):
        ref = v_iv(price[i], f[i], k[i], r[i], t[i], str(flags[i]))
        assert ours[i] == pytest.approx(ref, abs=1e-6), (price[i], f[i], k[i], t[i], r[i])
        assert ours[i] == pytest.approx(sigma[i], abs=1e-6)
        checked += 1
    assert checked > 300


def test_ten_thousand_random_inputs_never_raise() -> None:
    """Prices from below zero to above the bound, strikes from 0 to 2× the forward, times
    from before expiry to two years, NaN and inf sprinkled in: every answer is a volatility
    in (0, 10] or NaN with a reason."""
    rng = np.random.default_rng(10_000)
    n = 10_000
    f = np.full(n, 24_000.0)
    k = rng.uniform(0.0, 48_000.0, n)
    t = rng.uniform(-0.1, 2.0, n)
    price = rng.uniform(-100.0, 30_000.0, n)
    price[rng.integers(0, n, 200)] = math.nan
    t[rng.integers(0, n, 100)] = math.inf
    k[rng.integers(0, n, 100)] = 0.0
    flags = np.where(rng.integers(0, 2, n) == 1, "c", "p")
    iv, why = implied_vol(price, f, k, t, 0.065, flags, reasons=True)
    assert iv.shape == (n,) and why.shape == (n,)
    solved = np.isfinite(iv)
    assert np.all((iv[solved] > 0) & (iv[solved] <= 10)) and np.all(why[solved] == "")
    assert np.all(why[~solved] != "")
    assert solved.sum() > 100  # some of them are real option prices
    g = greeks(flags[0], f, np.maximum(k, 1.0), np.abs(t), 0.065, np.where(solved, iv, 0.2))
    assert g.delta.shape == (n,)
