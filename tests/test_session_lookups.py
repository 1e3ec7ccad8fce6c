"""session.instruments / find_option / find_future: the module functions with the session's
registry, clock and (for ATM) the underlying's streamed price, so they work on a simulated
chain without downloading Fyers' master."""

from __future__ import annotations

import pytest

import livetrade as lt
from livetrade.errors import InvalidInput
from livetrade.instruments import InstrumentKind


async def test_lookups_use_the_sessions_chain_clock_and_spot() -> None:
    s = await lt.open_session(derivatives=True, realtime=False, journal=False, name="lk", seed=4)
    try:
        await s.run_for(ticks=5)
        spot = s.stream.last_paise("NSE:NIFTY50-INDEX")
        assert spot is not None
        atm = s.find_option("NIFTY")
        strikes = sorted(
            i.strike_paise
            for i in s.engine.instruments
            if i.option_type == "CE" and i.expiry == atm.expiry and i.strike_paise is not None
        )
        assert atm.strike_paise == min(strikes, key=lambda k: (abs(k - spot), k))
        assert s.find_option("NIFTY", kind="PE", strike=atm.strike_paise / 100).option_type == "PE"
        fut = s.find_future("NIFTY")
        assert fut.kind is InstrumentKind.FUTURE and fut.expiry is not None
        assert fut.expiry >= atm.expiry
        frame = s.instruments("NIFTY", kind="future")
        assert set(frame["kind"]) == {"FUTURE"} and fut.symbol in set(frame["symbol"])
        with pytest.raises(InvalidInput) as err:
            s.find_option("NIFTY", strike=1)
        assert err.value.field == "strike"
    finally:
        await s.close()
