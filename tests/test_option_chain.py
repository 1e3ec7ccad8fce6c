"""The option chain from the simulated NIFTY derivatives: one row per strike around the money,
IV and Greeks from the quotes (fno.md §5), and the Greeks of open positions."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

import livetrade as lt
from livetrade.chain import option_chain, position_greeks
from livetrade.errors import InvalidInput
from livetrade.feeds.sim_derivatives import UNDERLYING, SimDerivatives
from livetrade.model import IST

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday


async def _session(seed: int = 1) -> lt.Session:
    from livetrade.market_hours import default_hours

    s = await lt.open_session(
        feed="sim", broker="paper", seed=seed, realtime=False, journal=False, start=DEC_2026,
        name=f"chain{seed}",
    )  # fmt: skip
    assert s.market is not None
    s.derivatives = SimDerivatives(  # type: ignore[attr-defined]
        s.market, s.engine.instruments, s.clock.now_ns(), hours=default_hours()
    )
    await s.run_for(ticks=120)
    return s


def _chain(s: lt.Session, **kw: object) -> object:
    return option_chain(s.engine.instruments, s.stream.quote, UNDERLYING, s.now, **kw)  # type: ignore[arg-type]


async def test_one_row_per_strike_with_the_smile_read_back() -> None:
    s = await _session()
    try:
        chain = _chain(s, strikes=10)
        assert len(chain) == 10 and chain["atm"].sum() == 1  # type: ignore[attr-defined]
        atm = chain[chain["atm"]].index[0]  # type: ignore[index]
        attrs = chain.attrs  # type: ignore[attr-defined]
        assert abs(atm - attrs["forward"]) <= 50  # strikes are ₹50 apart
        assert attrs["forward"] > attrs["spot"]  # cost of carry: F = S e^{rT}
        # the simulated smile is read back within the spread's noise, wings above the money
        ivs = chain["call_iv"].to_numpy()  # type: ignore[index]
        assert np.all(np.isfinite(ivs)) and 0.05 < float(chain.loc[atm, "call_iv"]) < 0.4  # type: ignore[attr-defined]
        assert np.all(chain["call_delta"].diff().dropna() < 0)  # type: ignore[index]
        assert np.all((chain["put_delta"] < 0) & (chain["put_delta"] > -1))  # type: ignore[index]
        assert np.allclose(
            chain["call_delta"] - chain["put_delta"],  # type: ignore[index]
            math.exp(-attrs["r"] * attrs["t"]),
            atol=0.02,
        )  # Black-76: call delta - put delta = e^{-rT} at one vol (the two IVs differ a little)
    finally:
        await s.close()


async def test_same_seed_same_chain_and_clear_refusals() -> None:
    a, b = await _session(3), await _session(3)
    try:
        ca, cb = _chain(a), _chain(b)
        assert ca.equals(cb)  # type: ignore[attr-defined]
        nxt = _chain(a, expiry="next")
        assert nxt.attrs["expiry"] > ca.attrs["expiry"]  # type: ignore[attr-defined]
        for kw, field in [
            ({"strikes": 0}, "strikes"),
            ({"expiry": "later"}, "expiry"),
            ({"expiry": datetime(2027, 3, 1).date()}, "expiry"),
        ]:
            with pytest.raises(InvalidInput) as info:
                _chain(a, **kw)
            assert info.value.field == field
        with pytest.raises(InvalidInput) as info:
            option_chain(a.engine.instruments, a.stream.quote, "NSE:SBIN-EQ", a.now)
        assert info.value.field == "underlying"
    finally:
        await a.close()
        await b.close()


async def test_a_straddle_is_delta_neutral_and_short_vega_when_sold() -> None:
    s = await _session(5)
    try:
        chain = _chain(s)
        atm = chain[chain["atm"]].iloc[0]  # type: ignore[index]
        lot = s.engine.instruments.get(atm["call_symbol"]).lot_size
        positions = [(atm["call_symbol"], -lot), (atm["put_symbol"], -lot)]
        (g,) = position_greeks(
            positions,
            s.engine.instruments,
            lambda u, e: option_chain(s.engine.instruments, s.stream.quote, u, s.now, expiry=e),
        )
        assert g.underlying == UNDERLYING
        assert abs(g.delta) < 0.2 * lot  # near the money: the two deltas almost cancel
        assert g.gamma < 0 and g.vega < 0 and g.theta > 0  # short options earn time, fear moves
        expected_vega = -lot * (atm["call_vega"] + atm["put_vega"])
        assert g.vega == pytest.approx(expected_vega)
        hedged = position_greeks(
            [*positions, ("NSE:NIFTY50-INDEX", 10)], s.engine.instruments, lambda u, e: chain
        )
        assert hedged[0].delta == pytest.approx(g.delta + 10)
    finally:
        await s.close()


async def test_the_session_serves_the_chain_and_the_positions_greeks() -> None:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=2, realtime=False, journal=False, start=DEC_2026,
        name="chain-session", derivatives=True,
    )  # fmt: skip
    try:
        await s.run_for(ticks=60)
        assert s.greeks_df().empty  # no positions, nothing to net
        chain = s.option_chain(strikes=6)
        assert len(chain) == 6 and chain.attrs["underlying"] == UNDERLYING
        atm = chain[chain["atm"]].iloc[0]
        await s.sell(atm["call_symbol"], lots=1, product="MARGIN")
        await s.sell(atm["put_symbol"], lots=1, product="MARGIN")
        g = s.greeks_df()
        assert list(g.index) == [UNDERLYING, "TOTAL"]
        assert g.loc[UNDERLYING, "vega"] < 0 and g.loc[UNDERLYING, "theta"] > 0
        assert g.loc["TOTAL", "vega"] == pytest.approx(g.loc[UNDERLYING, "vega"])
    finally:
        await s.close()
