"""Candles: the incremental builder against pandas resample, volume rules, the session views."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import livetrade as lt
from livetrade.bars import (
    NS,
    TIMEFRAMES,
    Bar,
    BarBook,
    VolumeMark,
    bar_start,
    bars_frame,
    parse_timeframe,
    to_ns,
)
from livetrade.errors import InvalidInput
from livetrade.model import IST
from livetrade.prices import LivePriceStream

SYM = "NSE:SBIN-EQ"
RULES = {
    "5s": "5s", "15s": "15s", "30s": "30s", "1min": "1min", "3min": "3min", "5min": "5min",
    "15min": "15min", "30min": "30min", "1h": "1h", "1D": "1D",
}  # fmt: skip
BASE = to_ns(datetime(2025, 6, 2, 9, 14, 30, tzinfo=IST), "t")


def reference(ticks: list[tuple[int, int, int]], timeframe: str) -> pd.DataFrame:
    """What pandas says: per-tick volume from the cumulative day volume (per IST day, the rise
    of its running maximum; the stream's very first tick only sets the mark), then
    ``resample().ohlc()`` + volume sum on the 09:15 grid (IST midnight for 1D)."""
    ts = pd.to_datetime([t for _, _, t in ticks], unit="ns", utc=True).tz_convert("Asia/Kolkata")
    frame = pd.DataFrame(
        {"last": [p for p, _, _ in ticks], "cum": [v for _, v, _ in ticks]}, index=ts
    )
    day = frame.index.date
    hwm = frame["cum"].groupby(day).cummax()
    dv = hwm.groupby(day).diff()
    dv = dv.fillna(hwm).astype("int64")  # a day's first tick: all of its total
    dv.iloc[0] = 0  # the first tick ever only sets the mark
    frame["dv"] = dv
    rule = RULES[timeframe]
    if timeframe == "1D":
        r = frame.resample(rule)
    else:
        r = frame.resample(rule, origin=pd.Timestamp("1970-01-01 09:15", tz="Asia/Kolkata"))
    ohlc = r["last"].ohlc()
    ohlc["volume"] = r["dv"].sum()
    ohlc = ohlc.dropna(subset=["open"])
    ohlc[["open", "high", "low", "close"]] = ohlc[["open", "high", "low", "close"]] / 100
    ohlc["volume"] = ohlc["volume"].astype("int64")
    ohlc.index.name = "start"
    return ohlc


@st.composite
def tick_streams(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """Ticks ``(last paise, cumulative volume, ts_ns)`` in time order, with a reconnect gap
    (cumulative volume resumes higher) and a move to the next trading day (it restarts).
    (A total that falls -- a stale tick -- is covered by its own test below.)"""
    n = draw(st.integers(2, 160))
    gap_at = draw(st.integers(1, n - 1))
    day_at = draw(st.integers(1, n - 1))
    t = BASE + draw(st.integers(0, 3_600)) * NS
    price = draw(st.integers(1, 4_000)) * 5
    cum = draw(st.integers(0, 10_000))
    out = []
    for i in range(n):
        if i == day_at:
            t += draw(st.integers(17, 20)) * 3_600 * NS  # overnight
            cum = draw(st.integers(0, 500))
        if i == gap_at:
            t += draw(st.integers(60, 7_200)) * NS + draw(st.integers(0, NS - 1))
            cum += draw(st.integers(0, 50_000))
        t += draw(st.one_of(st.integers(0, 3 * NS), st.integers(0, 400 * NS)))
        price = max(5, price + draw(st.integers(-6, 6)) * 5)
        cum += draw(st.one_of(st.just(0), st.integers(0, 300)))  # a running total
        out.append((price, cum, t))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tick_streams())
def test_bars_equal_pandas_resample_for_every_timeframe(
    ticks: list[tuple[int, int, int]],
) -> None:
    stream = LivePriceStream()
    book = BarBook(stream)
    for tf in TIMEFRAMES:
        book.series(SYM, tf)
    for last, vol, ts in ticks:
        stream.push(SYM, last - 5, last + 5, last, vol, ts)
    for tf in TIMEFRAMES:
        got = bars_frame(book.columns(SYM, tf))
        pd.testing.assert_frame_equal(got, reference(ticks, tf), check_freq=False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tick_streams(),
    st.sets(st.sampled_from(list(TIMEFRAMES)), min_size=1, max_size=3),
    st.sampled_from(list(TIMEFRAMES)),
    st.integers(0, 159),
    st.integers(0, 159),
)
def test_any_timeframes_in_use_one_added_mid_stream_and_reads_in_between(
    ticks: list[tuple[int, int, int]], first: set[str], later: str, split: int, peek: int
) -> None:
    """The base step depends on the timeframes in use; adding one mid-stream changes it and
    back-fills the new one from the kept ticks; reading the live bar changes nothing."""
    stream = LivePriceStream()
    book = BarBook(stream)
    for tf in sorted(first):
        book.series(SYM, tf)
    for i, (last, vol, ts) in enumerate(ticks):
        if i == split:
            book.series(SYM, later)
        if i == peek:
            book.columns(SYM, sorted(first)[0])
        stream.push(SYM, last, last, last, vol, ts)
    for tf in first | {later}:
        got = bars_frame(book.columns(SYM, tf))
        pd.testing.assert_frame_equal(got, reference(ticks, tf), check_freq=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 300), st.integers(1, 4)),
        min_size=1,
        max_size=300,
    )
)
def test_bars_stay_exact_while_a_small_ring_wraps(steps: list[tuple[int, int, int]]) -> None:
    """A 32-tick ring wraps many times; bars only need a base bar (5s here) of ticks kept."""
    stream = LivePriceStream(history=32)
    book = BarBook(stream)
    for tf in ("5s", "1min", "1h"):
        book.series(SYM, tf)
    ticks, t, cum = [], BASE, 0
    for p, dv, gap in steps:
        t += gap * NS
        cum += dv
        ticks.append((p * 5, cum, t))
        stream.push(SYM, p * 5, p * 5, p * 5, cum, t)
    for tf in ("5s", "1min", "1h"):
        got = bars_frame(book.columns(SYM, tf))
        pd.testing.assert_frame_equal(got, reference(ticks, tf), check_freq=False)


def test_alignment_is_on_the_0915_grid_and_ist_dates() -> None:
    t = to_ns(datetime(2025, 6, 2, 10, 20, 7, tzinfo=IST), "t")
    starts = {tf: datetime.fromtimestamp(bar_start(t, tf) / NS, IST) for tf in TIMEFRAMES}
    assert starts["1h"] == datetime(2025, 6, 2, 10, 15, tzinfo=IST)
    assert starts["30min"] == datetime(2025, 6, 2, 10, 15, tzinfo=IST)
    assert starts["15min"] == datetime(2025, 6, 2, 10, 15, tzinfo=IST)
    assert starts["3min"] == datetime(2025, 6, 2, 10, 18, tzinfo=IST)
    assert starts["5s"] == datetime(2025, 6, 2, 10, 20, 5, tzinfo=IST)
    assert starts["1D"] == datetime(2025, 6, 2, tzinfo=IST)
    late = to_ns(datetime(2025, 6, 2, 23, 59, 59, tzinfo=IST), "t")
    assert datetime.fromtimestamp(bar_start(late, "1D") / NS, IST) == datetime(
        2025, 6, 2, tzinfo=IST
    )


def test_volume_rules_first_tick_reconnect_stale_and_new_day() -> None:
    m = VolumeMark()
    day1 = BASE + 60 * NS
    assert m.run(5_000, 5_000, day1) == 0  # joined mid-day: only sets the mark
    assert m.run(5_100, 5_100, day1 + NS) == 100
    assert m.run(5_050, 5_050, day1 + 2 * NS) == 0  # a stale lower total never counts negative
    assert m.run(5_120, 5_120, day1 + 3 * NS) == 20  # ... nor lowers the mark
    assert m.run(9_000, 9_000, day1 + 600 * NS) == 3_880  # after a reconnect: the gap's volume
    day2 = day1 + 86_400 * NS
    assert m.run(40, 40, day2) == 40  # a new IST day restarts the total


def test_a_stale_lower_total_never_counts_negative_and_is_not_lost() -> None:
    stream = LivePriceStream()
    book = BarBook(stream)
    book.series(SYM, "1min")
    t0 = to_ns(datetime(2025, 6, 2, 9, 15, tzinfo=IST), "t")
    vols = [1_000, 1_200, 900, 1_250, 1_100, 1_300, 1_400]  # 900 and 1,100: stale totals
    for i, v in enumerate(vols):
        stream.push(SYM, 100, 100, 100, v, t0 + i * 20 * NS)  # 3 ticks a minute
    cols = book.live_columns(SYM, "1min")
    assert all(x >= 0 for x in cols.v.tolist()) and sum(cols.v.tolist()) == 1_400 - 1_000
    # the first tick sets the mark (1,000); the first minute ends on a stale 900: zero, the
    # mark stays; the second ends at 1,300 and gets the whole rise; the third 100
    assert cols.v.tolist() == [0, 300, 100]


def test_timeframe_names_and_errors() -> None:
    assert parse_timeframe("60min") == "1h" and parse_timeframe("D") == "1D"
    with pytest.raises(InvalidInput) as err:
        parse_timeframe("7min")
    assert err.value.field == "timeframe"
    with pytest.raises(InvalidInput) as err2:
        to_ns(object(), "start")
    assert err2.value.field == "start"
    assert to_ns("2025-06-02 09:15", "start") == to_ns(
        datetime(2025, 6, 2, 9, 15, tzinfo=IST), "start"
    )


def test_closed_bar_callback_and_live_bar() -> None:
    closed: list[Bar] = []
    stream = LivePriceStream()
    book = BarBook(stream, closed.append)
    s = book.series(SYM, "1min")
    t0 = to_ns(datetime(2025, 6, 2, 9, 15, tzinfo=IST), "t")
    for i, p in enumerate([80_000, 80_010, 79_990, 80_005]):
        stream.push(SYM, p, p, p, 100 * (i + 1), t0 + i * 20 * NS)
    assert [b.start_ns for b in closed] == [t0]
    b = closed[0]
    assert (b.open, b.high, b.low, b.close, b.volume) == (
        Decimal("800.00"),
        Decimal("800.10"),
        Decimal("799.90"),
        Decimal("799.90"),
        200,
    )
    assert b.start == datetime(2025, 6, 2, 9, 15, tzinfo=IST)
    live = book.live(SYM, "1min")
    assert live is not None and live.close_paise == 80_005 and live.volume == 100
    assert live.start_ns == t0 + 60 * NS and len(s) == 1  # one closed; the live one is read


def test_out_of_order_tick_counts_in_the_live_bar() -> None:
    stream = LivePriceStream()
    book = BarBook(stream)
    book.series(SYM, "1min")
    t0 = to_ns(datetime(2025, 6, 2, 9, 15, tzinfo=IST), "t")
    stream.push(SYM, 100, 100, 100, 0, t0)
    stream.push(SYM, 110, 110, 110, 10, t0 + 70 * NS)
    stream.push(SYM, 90, 90, 90, 20, t0 + 5 * NS)  # late: the closed bar stays as it was
    cols = book.live_columns(SYM, "1min")
    assert cols.l.tolist() == [100, 90] and cols.v.tolist() == [0, 20]


def test_the_tick_path_pays_nothing_for_symbols_nobody_charts() -> None:
    stream = LivePriceStream()
    book = BarBook(stream)
    t0 = to_ns(datetime(2025, 6, 2, 9, 15, tzinfo=IST), "t")
    stream.push(SYM, 100, 100, 100, 0, t0)
    stream.push("NSE:TCS-EQ", 100, 100, 100, 0, t0)
    book.series(SYM, "5min")
    assert stream._slots["NSE:TCS-EQ"].bars is None
    stream.push(SYM, 100, 100, 100, 0, t0 + NS)
    assert stream._slots[SYM].bar_next == t0 + 60 * NS  # base step: a minute for 5min bars
    assert stream._slots["NSE:TCS-EQ"].bar_gate > 1 << 61  # one compare a tick, never true
    book.close()
    assert stream._slots[SYM].bars is None


async def test_session_bars_df_and_bar_event() -> None:
    s = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False, journal=False)
    try:
        await s.run_for(ticks=1)
        assert s.stream._slots[SYM].bars is None  # nothing is built until asked for
        assert len(s.bars_df(SYM, "1min")) == 1  # the live bar, back-filled from the tick
        assert s.stream._slots[SYM].bars is not None
        events: list[Bar] = []
        s.bar_event += events.append
        await s.run_for(ticks=600)
        df = s.bars_df(SYM, "1min")
        assert str(df.index.tz) == "Asia/Kolkata" and df.index.name == "start"
        assert list(df.columns) == ["open", "high", "low", "close", "volume"]
        assert df["open"].dtype == np.float64 and df["volume"].dtype == np.int64
        assert len(df) == 11 and df.index[0] == pd.Timestamp("2025-06-02 09:15", tz=IST)
        assert [e.start for e in events] == list(df.index[:-1].to_pydatetime())
        assert all(e.timeframe == "1min" and e.symbol == SYM for e in events)
        # the same ticks through pandas
        ticks = s.stream.tick_columns(SYM)
        rows = list(zip(ticks[1], ticks[2], ticks[0], strict=True))
        for tf in ("5s", "1min", "5min", "1h", "1D"):
            pd.testing.assert_frame_equal(s.bars_df(SYM, tf), reference(rows, tf), check_freq=False)
        last = s.stream.quote(SYM)
        assert last is not None and df["close"].iloc[-1] == float(last.last_price)
        window = s.bars_df(SYM, "1min", start="2025-06-02 09:17", end="2025-06-02 09:20")
        assert [t.minute for t in window.index] == [17, 18, 19]
        with pytest.raises(InvalidInput):
            s.bars_df(SYM, "2min")
    finally:
        await s.close()
