"""The simulated market's deterministic past and its merge with the live candles."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

import livetrade as lt
from livetrade.bars import NS, to_ns
from livetrade.errors import InvalidInput
from livetrade.feeds.sim_history import SECONDS_PER_DAY, SimHistory
from livetrade.model import IST

SYM = "NSE:SBIN-EQ"


async def _session(seed: int = 1, **kw: object) -> lt.Session:
    return await lt.open_session(
        feed="sim", broker="paper", seed=seed, realtime=False, journal=False, **kw
    )


async def test_same_seed_same_past_and_another_seed_another() -> None:
    frames = []
    for seed in (7, 7, 8):
        s = await _session(seed, name=f"past{seed}{len(frames)}")
        try:
            frames.append(s.bars_df(SYM, "15min", start="2025-05-01"))
        finally:
            await s.close()
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert not frames[0].equals(frames[2])
    assert len(frames[0]) == 22 * 25  # 22 weekdays in May 2025 (holidays not modelled)


def test_any_range_gives_the_same_bars() -> None:
    h = SimHistory(seed=3)
    t0 = to_ns(datetime(2025, 6, 2, 9, 15, tzinfo=IST), "t0")
    h.anchor(SYM, 80_000, t0)
    wide = h.columns(SYM, "5min", to_ns(date(2025, 3, 1), "s"), t0)
    narrow = SimHistory(seed=3)
    narrow.anchor(SYM, 80_000, t0)
    a, b = to_ns(date(2025, 4, 10), "s"), to_ns(datetime(2025, 4, 11, 12, 0, tzinfo=IST), "e")
    part = narrow.columns(SYM, "5min", a, b)
    assert len(part) == 75 + 33
    for x, y in zip(part.tuple(), wide.between(a, b).tuple(), strict=True):
        assert x.tolist() == y.tolist()


def test_market_hours_only_and_on_the_tick() -> None:
    h = SimHistory(seed=5)
    t0 = to_ns(datetime(2025, 6, 4, 13, 0, tzinfo=IST), "t0")
    h.anchor(SYM, 80_000, t0)
    cols = h.columns(SYM, "1min", to_ns(date(2025, 5, 20), "s"))
    idx = pd.to_datetime(cols.t, unit="ns", utc=True).tz_convert("Asia/Kolkata")
    assert set(idx.day_of_week) <= {0, 1, 2, 3, 4}
    minutes = idx.hour * 60 + idx.minute
    assert minutes.min() == 9 * 60 + 15 and minutes.max() == 15 * 60 + 29
    assert (cols.l > 0).all() and (cols.h >= cols.l).all()
    assert (cols.o % 5 == 0).all() and (cols.c % 5 == 0).all() and (cols.v > 0).all()
    assert pd.Timestamp("2025-05-24", tz=IST) not in idx.normalize()  # a Saturday


def test_past_ends_at_the_anchor_price_just_before_the_anchor() -> None:
    h = SimHistory(seed=9)
    t0 = to_ns(datetime(2025, 6, 4, 11, 0, 0, 500_000, tzinfo=IST), "t0")
    h.anchor(SYM, 123_450, t0)
    ts, price, _ = h.day_seconds(SYM, date(2025, 6, 4))
    assert int(ts[-1]) < t0 <= int(ts[-1]) + NS and int(price[-1]) == 123_450
    assert len(ts) == (11 * 3600 - (9 * 3600 + 15 * 60)) + 1  # through 11:00:00
    full_ts, _, _ = h.day_seconds(SYM, date(2025, 6, 3))
    assert len(full_ts) == SECONDS_PER_DAY
    assert len(h.day_seconds(SYM, date(2025, 6, 5))[0]) == 0  # after the anchor: no past
    with pytest.raises(InvalidInput) as err:
        h.columns("NSE:TCS-EQ", "1min", 0)
    assert err.value.field == "symbol"


def test_index_has_no_volume_and_daily_bars_agree_with_intraday() -> None:
    h = SimHistory(seed=2)
    t0 = to_ns(datetime(2025, 6, 2, 9, 15, tzinfo=IST), "t0")
    h.anchor("NSE:NIFTY50-INDEX", 2_400_000, t0)
    start = to_ns(date(2025, 5, 26), "s")
    day = h.columns("NSE:NIFTY50-INDEX", "1D", start)
    intra = h.columns("NSE:NIFTY50-INDEX", "30min", start)
    assert len(day) == 5 and (day.v == 0).all() and (intra.v == 0).all()
    df = pd.DataFrame({"t": intra.t, "h": intra.h, "l": intra.l, "o": intra.o, "c": intra.c})
    df["d"] = pd.to_datetime(df["t"], unit="ns", utc=True).dt.tz_convert("Asia/Kolkata").dt.date
    g = df.groupby("d")
    assert g["h"].max().tolist() == day.h.tolist() and g["l"].min().tolist() == day.l.tolist()
    assert g["o"].first().tolist() == day.o.tolist() and g["c"].last().tolist() == day.c.tolist()
    # the last close before the 09:15 open is the first live price moved by an overnight gap
    assert abs(int(day.c[-1]) - 2_400_000) < 2_400_000 * 0.02


async def test_bars_df_back_fills_the_past_without_duplicates_or_gaps() -> None:
    s = await _session(4)
    try:
        await s.run_for(ticks=900)  # 09:15:01 .. 09:30:00
        live = s.bars_df(SYM, "5min")
        both = s.bars_df(SYM, "5min", start="2025-05-29")
        assert both.index.is_unique and both.index.is_monotonic_increasing
        pd.testing.assert_frame_equal(both.loc[live.index], live)  # live bars untouched
        past = both.loc[both.index < live.index[0]]
        assert len(past) == 2 * 75 and past.index[-1] == pd.Timestamp("2025-05-30 15:25", tz=IST)
        first_live = s.stream.tick_columns(SYM)[1][0]
        assert abs(past["close"].iloc[-1] * 100 - first_live) < first_live * 0.02
        again = s.bars_df(SYM, "5min", start="2025-05-29")  # loaded once, same answer
        pd.testing.assert_frame_equal(again, both)
        deeper = s.bars_df(SYM, "5min", start="2025-05-28", end="2025-05-29")
        assert len(deeper) == 75
    finally:
        await s.close()


async def test_a_mid_bar_start_combines_the_past_and_the_live_ticks() -> None:
    s = await _session(6, start=datetime(2025, 6, 4, 11, 0, 30, tzinfo=IST))
    try:
        await s.run_for(ticks=60)  # 11:00:31 .. 11:01:30
        ts, last, vol = s.stream.tick_columns(SYM)
        assert s.market_data.sim is not None
        sec_ts, sec_p, sec_v = s.market_data.sim.day_seconds(SYM, date(2025, 6, 4))
        bars = s.bars_df(SYM, "1min", start="2025-06-04 10:58")
        assert list(bars.index.strftime("%H:%M")) == ["10:58", "10:59", "11:00", "11:01"]
        b = bars.loc[pd.Timestamp("2025-06-04 11:00", tz=IST)]
        hist = sec_ts >= to_ns(datetime(2025, 6, 4, 11, 0, tzinfo=IST), "t")
        live_in = [
            i for i, t in enumerate(ts) if t < to_ns(datetime(2025, 6, 4, 11, 1, tzinfo=IST), "t")
        ]
        assert b["open"] * 100 == int(sec_p[hist][0])
        assert b["close"] * 100 == last[live_in[-1]]
        assert b["high"] * 100 == max(int(sec_p[hist].max()), max(last[i] for i in live_in))
        live_vol = sum(max(0, vol[i] - vol[i - 1]) for i in live_in[1:])
        assert b["volume"] == int(sec_v[hist].sum()) + live_vol
        assert int(sec_p[-1]) == 80_000  # the past ends at the walk's start price
        day = s.bars_df(SYM, "1D", start="2025-06-04")
        assert len(day) == 1 and day["open"].iloc[0] * 100 == int(sec_p[0])
    finally:
        await s.close()


async def test_simulated_volume_is_a_running_total_per_ist_day() -> None:
    s = await _session(5, start=datetime(2025, 6, 2, 23, 59, 0, tzinfo=IST), symbols=[SYM])
    try:
        await s.run_for(ticks=120)  # across midnight
        ts, _, vol = s.stream.tick_columns(SYM)
        midnight = to_ns(datetime(2025, 6, 3, tzinfo=IST), "t")
        i = next(k for k, t in enumerate(ts) if t >= midnight)
        assert vol[i] < vol[i - 1] and vol[i] <= 200  # restarted at the day change
        day = s.bars_df(SYM, "1D")
        assert day["volume"].iloc[1] == vol[-1]  # the new day's bar: that day's total
    finally:
        await s.close()
