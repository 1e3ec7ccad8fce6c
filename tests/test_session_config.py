"""SessionConfig (what open_session accepts) and the session's one feed object (#13 item 7)."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import time
from pathlib import Path

import pandas as pd
import pytest

import livetrade as lt
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.market_hours import MarketHours
from livetrade.session import (
    ReplaySource,
    SessionConfig,
    SimSource,
    open_session,
)

SBIN = "NSE:SBIN-EQ"


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": ["2025-06-02 09:15:00", "2025-06-02 09:15:01"],
            "symbol": [SBIN, SBIN],
            "bid": [800.0, 800.5],
            "ask": [800.05, 800.55],
            "last": [800.0, 800.5],
            "volume": [10, 20],
        }
    )


def test_open_session_keywords_are_the_config_fields_with_the_same_defaults() -> None:
    params = list(inspect.signature(open_session).parameters.values())
    assert [p.name for p in params] == [f.name for f in dataclasses.fields(SessionConfig)] + [
        "config"
    ]
    for p, f in zip(params, dataclasses.fields(SessionConfig), strict=False):
        assert p.default == f.default, p.name
    assert lt.SessionConfig is SessionConfig


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"feed": "fyers", "realtime": False}, "realtime"),
        ({"feed": "hub"}, "hub"),
        ({"broker": "zerodha"}, "broker"),
        ({"broker": "fyers"}, "live"),
        ({"live": True}, "broker"),
        ({"shadow": True}, "shadow"),
        ({"order_updates": "carrier pigeon"}, "order_updates"),
        ({"tick_interval": 0}, "tick_interval"),
        ({"speed": -1.0}, "tick_interval"),
        ({"charges": "free"}, "charges"),
        ({"square_off": "3pm"}, "square_off"),
        ({"feed": "replay"}, "replay"),
        ({"feed": "replay", "replay": "x.csv", "derivatives": True}, "derivatives"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        SessionConfig(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_an_unknown_feed_is_a_livetrade_error_and_replace_checks_again() -> None:
    with pytest.raises(LiveTradeError, match="feed='carrier'"):
        SessionConfig(feed="carrier")
    base = SessionConfig(seed=1)
    with pytest.raises(InvalidInput) as err:
        dataclasses.replace(base, charges="free")
    assert err.value.field == "charges"
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.seed = 2  # type: ignore[misc]


def test_derived_settings() -> None:
    sim = SessionConfig()
    assert sim.square_off_time is None and sim.calendar is None
    assert sim.wallet == 1_000_000 and sim.product is lt.Product.INTRADAY
    assert SessionConfig(feed="fyers").square_off_time == time(15, 15)
    assert SessionConfig(square_off="09:30").square_off_time == time(9, 30)
    assert SessionConfig(feed="fyers", square_off=None).square_off_time is None
    assert isinstance(SessionConfig(respect_calendar=True).calendar, MarketHours)
    assert isinstance(SessionConfig(charges="flat").charges_model(), lt.FlatCommission)
    assert SessionConfig(default_product="CNC").product is lt.Product.CNC


async def test_a_config_opens_the_same_session_as_its_keywords() -> None:
    kw = {"seed": 7, "realtime": False, "journal": False}
    a = await lt.open_session(name="kw", **kw)  # type: ignore[arg-type]
    cfg = SessionConfig(name="cf", seed=7, realtime=False, journal=False)
    b = await lt.open_session(config=cfg)
    try:
        assert b.config is cfg and a.config == dataclasses.replace(cfg, name="kw")
        await a.run_for(ticks=50)
        await b.run_for(ticks=50)
        assert [a.stream.last_paise(s) for s in a.symbols] == [
            b.stream.last_paise(s) for s in b.symbols
        ]
    finally:
        await a.close()
        await b.close()


async def test_keywords_not_at_their_default_replace_the_configs() -> None:
    base = SessionConfig(seed=3, realtime=False, journal=False, charges="flat")
    s = await lt.open_session(config=base, name="other", charges="none")
    try:
        assert (s.name, s.config.seed, s.config.charges) == ("other", 3, "none")
        assert isinstance(s.engine.charges_model, lt.NoCharges)
    finally:
        await s.close()


async def test_a_refused_setting_leaves_the_open_session_and_opens_no_journal(
    tmp_path: Path,
) -> None:
    s = await lt.open_session(name="keep", seed=1, realtime=False, journal_dir=tmp_path)
    try:
        with pytest.raises(InvalidInput):
            await lt.open_session(name="keep", charges="free", journal_dir=tmp_path)
        assert not s.closed and lt.get_session("keep") is s
        with pytest.raises(InvalidInput):
            await lt.open_session(name="fresh", square_off="3pm", journal_dir=tmp_path)
        assert not (tmp_path / "fresh.sqlite").exists()
    finally:
        await s.close()


async def test_the_session_holds_one_feed_object_and_its_name() -> None:
    sim = await lt.open_session(name="f-sim", seed=1, realtime=False, journal=False)
    rep = await lt.open_session(
        name="f-rep", feed="replay", replay=_rows(), realtime=False, journal=False
    )
    try:
        assert isinstance(sim.source, SimSource) and sim.feed == "sim"
        assert sim.market is sim.source.market and sim.replay is None and sim.live_feed is None
        assert isinstance(rep.source, ReplaySource) and rep.feed == "replay"
        assert rep.replay is rep.source.replay and rep.market is None
        assert sim.feed_state() is None and rep.feed_state() is None
        assert not sim.source.live and not rep.source.live
        await sim.watch("NSE:NEWCO-EQ")
        assert "NSE:NEWCO-EQ" in sim.symbols
        with pytest.raises(LiveTradeError, match="only a simulated market can add symbols"):
            await rep.watch("NSE:NEWCO-EQ")
        with pytest.raises(LiveTradeError, match="subscribes and unsubscribes"):
            await sim.unwatch(SBIN)
        with pytest.raises(LiveTradeError, match="the replay feed is the market itself"):
            await rep.reconnect()
        assert await rep.run_for(ticks=5) == 2  # two rows, then the replay has run out
        assert rep.step() is False
    finally:
        await sim.close()
        await rep.close()
