"""The simulated option chain is free of static arbitrage across strikes (#15 item 6): call
prices never rise with the strike and are convex in it, puts never fall and are convex, for
any spot, any time to expiry from minutes to months and 100 strikes each side of the money.
The smile's old quadratic wings broke this on weekly expiries (far calls rising with the
strike, vols above 200%)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import livetrade as lt
from livetrade.errors import InvalidInput
from livetrade.feeds.sim_derivatives import STRIKE_STEP_PAISE, SimDerivatives, Smile, smile_prices
from livetrade.market_hours import default_hours
from livetrade.model import IST

RATE = 0.06
MINUTE = 1.0 / 525_600


def _violations(strikes: np.ndarray, call: np.ndarray, put: np.ndarray) -> list[str]:
    """The arbitrages across equally spaced strikes, in paise beyond float noise."""
    tol = 1e-7 * max(1.0, float(np.max(np.abs(call))))
    out = []
    if np.any(np.diff(call) > tol):
        out.append(f"a call rises with the strike near {strikes[np.argmax(np.diff(call))]}")
    if np.any(np.diff(put) < -tol):
        out.append(f"a put falls with the strike near {strikes[np.argmin(np.diff(put))]}")
    for name, p in (("call", call), ("put", put)):
        fly = p[:-2] - 2 * p[1:-1] + p[2:]
        if np.any(fly < -tol):
            out.append(f"{name} butterfly {fly.min():.4g} at {strikes[np.argmin(fly) + 1]}")
    return out


@given(
    spot=st.integers(5_000, 80_000).map(lambda r: float(r * 100)),
    minutes=st.floats(1.0, 95 * 1440.0),
    step=st.sampled_from([STRIKE_STEP_PAISE, 2 * STRIKE_STEP_PAISE, 10_000, 50_000]),
    width=st.integers(10, 100),
)
@settings(max_examples=300, deadline=None)
def test_smile_prices_are_free_of_strike_arbitrage(
    spot: float, minutes: float, step: int, width: int
) -> None:
    t_years = minutes * MINUTE
    forward = spot * np.exp(RATE * t_years)
    atm = round(spot / step) * step
    strikes = (atm + step * np.arange(-width, width + 1)).astype(np.float64)
    strikes = strikes[strikes > 0]
    n = strikes.size
    f, t = np.full(n, forward), np.full(n, t_years)
    call = smile_prices(Smile(), f, strikes, t, RATE, np.ones(n, np.bool_))
    put = smile_prices(Smile(), f, strikes, t, RATE, np.zeros(n, np.bool_))
    assert _violations(strikes, call, put) == []
    assert np.all(call >= -1e-9) and np.all(put >= -1e-9)
    vols = Smile().vol(strikes, f, t)
    assert vols.max() < 0.5  # bounded wings: never the 200%+ of the unbounded quadratic


def test_near_the_money_vols_keep_the_quadratic() -> None:
    s = Smile()
    t = np.full(3, 5 / 365)
    f = np.full(3, 2_400_000.0)
    k = f * np.exp(np.array([-0.2, 0.0, 0.35]) * np.sqrt(t))
    assert s.vol(k, f, t) == pytest.approx([0.13 + 0.04 + 0.02, 0.13, 0.13 - 0.07 + 0.06125])
    with pytest.raises(InvalidInput):
        Smile(wing_width=0)


@pytest.mark.parametrize("hours_before", [200.0, 30.0, 6.0, 0.5])
async def test_every_listed_expiry_is_free_of_strike_arbitrage(hours_before: float) -> None:
    """The chain as the simulated market lists it (100 strikes each side, weekly, monthly,
    next weeklies), hours before the weekly expiry of Tue 8 Dec 2026 15:30."""
    expiry = datetime(2026, 12, 8, 15, 30, tzinfo=IST)
    start = expiry - timedelta(hours=hours_before)
    s = await lt.open_session(
        feed="sim", broker="paper", seed=11, realtime=False, journal=False, start=start,
        name=f"smile-arb-{hours_before}",
    )  # fmt: skip
    try:
        assert s.market is not None
        d = SimDerivatives(
            s.market, s.engine.instruments, s.clock.now_ns(), strikes=100, weeklies=3,
            hours=default_hours(),
        )  # fmt: skip
        _, price = d.theoretical(s.clock.now_ns())
        reg = s.engine.instruments
        chains: dict[object, dict[str, dict[int, float]]] = {}
        for i, sym in enumerate(d.symbols):
            inst = reg.get(sym)
            if inst.strike_paise is None or inst.option_type is None:
                continue
            side = chains.setdefault(inst.expiry, {"CE": {}, "PE": {}})[inst.option_type]
            side[inst.strike_paise] = float(price[i])
        assert len(chains) >= 3
        for expiry_at, sides in chains.items():
            strikes = np.array(sorted(sides["CE"]), np.float64)
            assert strikes.size == 201
            call = np.array([sides["CE"][int(k)] for k in strikes])
            put = np.array([sides["PE"][int(k)] for k in strikes])
            assert _violations(strikes, call, put) == [], expiry_at
    finally:
        await s.close()
