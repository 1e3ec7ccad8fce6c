"""History: Fyers /data/history (split, paced, retried, cached) and the merge with live bars."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import livetrade as lt
from livetrade.bars import NS, BarBook, bars_frame, to_ns
from livetrade.errors import AuthError, InvalidInput
from livetrade.fyers.broker import RateLimiter
from livetrade.fyers.credentials import FyersConfig
from livetrade.history import FyersHistory, UnknownSymbol, plan_requests
from livetrade.model import IST
from livetrade.prices import LivePriceStream

SYM = "NSE:SBIN-EQ"
TOKEN = "XY1234-100:eyJhbGciOiJIUzI1NiJ9.e30.sig"
CONFIG = FyersConfig(TOKEN, rest_url="http://127.0.0.1:9/data")
STEP = {"5S": 5, "15S": 15, "30S": 30, "1": 60, "5": 300, "15": 900, "60": 3600, "1D": 86_400}


def price(t: int) -> float:
    """A deterministic price for a candle start (epoch seconds), to two decimals."""
    return 800 + (t // 60 % 97) * 0.05


def candles(resolution: str, d0: date, d1: date) -> list[list[Any]]:
    """What the fake answers: every candle of every weekday in ``[d0, d1]``, 09:15-15:30."""
    out: list[list[Any]] = []
    step = STEP[resolution]
    d = d0
    while d <= d1:
        if d.weekday() < 5:
            midnight = int(datetime(d.year, d.month, d.day, tzinfo=IST).timestamp())
            if step == 86_400:
                starts = [midnight]
            else:
                opn = midnight + 9 * 3600 + 15 * 60
                starts = list(range(opn, opn + 22_500, step))
            for t in starts:
                p = price(t)
                out.append([t, p, round(p + 0.5, 2), round(p - 0.5, 2), round(p + 0.05, 2), 1000])
        d += timedelta(days=1)
    return out


class FakeHistory:
    """An ``httpx.MockTransport`` handler answering the documented /data/history shape."""

    def __init__(self, script: list[httpx.Response] | None = None) -> None:
        self.seen: list[dict[str, str]] = []
        self.script = script or []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/data/history"
        assert request.headers["Authorization"] == TOKEN
        q = dict(request.url.params)
        self.seen.append(q)
        if self.script:
            return self.script.pop(0)
        if q["symbol"] == "NSE:NOSUCH-EQ":
            return httpx.Response(
                400, json={"s": "error", "code": -300, "message": "Please provide a valid symbol"}
            )
        d0, d1 = date.fromisoformat(q["range_from"]), date.fromisoformat(q["range_to"])
        assert q["date_format"] == "1"
        return httpx.Response(200, json={"s": "ok", "candles": candles(q["resolution"], d0, d1)})

    def ranges(self) -> list[tuple[date, date]]:
        return [
            (date.fromisoformat(q["range_from"]), date.fromisoformat(q["range_to"]))
            for q in self.seen
        ]


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def client(
    fake: FakeHistory, tmp_path: Path, today: date = date(2025, 6, 2)
) -> tuple[FyersHistory, Clock]:
    clock = Clock()
    now = datetime(today.year, today.month, today.day, 12, 0, tzinfo=IST).timestamp()
    h = FyersHistory(
        CONFIG,
        transport=httpx.MockTransport(fake),
        limiter=RateLimiter(clock=clock, sleep=clock.sleep),
        cache_dir=tmp_path,
        now=lambda: now,
    )
    return h, clock


async def test_a_year_of_5min_is_four_requests_within_100_days(tmp_path: Path) -> None:
    fake = FakeHistory()
    h, _ = client(fake, tmp_path)
    cols = await h.columns(SYM, "5min", date(2024, 1, 1), date(2025, 1, 1))
    ranges = fake.ranges()
    assert ranges == [
        (date(2024, 1, 1), date(2024, 4, 9)),
        (date(2024, 4, 10), date(2024, 7, 18)),
        (date(2024, 7, 19), date(2024, 10, 26)),
        (date(2024, 10, 27), date(2024, 12, 31)),
    ]
    assert all((b - a).days + 1 <= 100 for a, b in ranges)
    assert {q["resolution"] for q in fake.seen} == {"5"}
    weekdays = int(np.busday_count(date(2024, 1, 1), date(2025, 1, 1)))
    assert len(cols) == weekdays * 75 and bool((np.diff(cols.t) > 0).all())
    first = datetime.fromtimestamp(int(cols.t[0]) / NS, IST)
    assert first == datetime(2024, 1, 1, 9, 15, tzinfo=IST)
    assert cols.o[0] == round(price(int(cols.t[0]) // NS) * 100)


async def test_daily_candles_go_366_days_a_request(tmp_path: Path) -> None:
    fake = FakeHistory()
    h, _ = client(fake, tmp_path)
    cols = await h.columns(SYM, "1D", date(2023, 1, 2), date(2025, 1, 1))
    assert fake.ranges() == [
        (date(2023, 1, 2), date(2024, 1, 2)),
        (date(2024, 1, 3), date(2024, 12, 31)),
    ]
    assert {q["resolution"] for q in fake.seen} == {"1D"}
    assert len(cols) == int(np.busday_count(date(2023, 1, 2), date(2025, 1, 1)))


async def test_a_covered_range_sends_nothing_and_only_the_missing_days_are_asked(
    tmp_path: Path,
) -> None:
    fake = FakeHistory()
    h, _ = client(fake, tmp_path)
    first = await h.columns(SYM, "15min", date(2025, 3, 3), date(2025, 3, 15))
    assert len(fake.seen) == 1
    again = await h.columns(SYM, "15min", date(2025, 3, 3), date(2025, 3, 15))
    inner = await h.columns(SYM, "15min", "2025-03-05 10:00", "2025-03-06 11:00")
    assert len(fake.seen) == 1  # from disk
    for a, b in zip(first.tuple(), again.tuple(), strict=True):
        assert a.tolist() == b.tolist()
    assert len(inner) == 22 + 7  # 10:00..15:15 on the 5th, 09:15..10:45 on the 6th
    # a fresh client on the same directory (another process, a restart) still hits the cache
    h2, _ = client(fake, tmp_path)
    await h2.columns(SYM, "15min", date(2025, 3, 4), date(2025, 3, 20))
    assert fake.ranges()[1:] == [(date(2025, 3, 17), date(2025, 3, 19))]  # 15, 16: weekend


async def test_today_is_never_taken_from_the_cache(tmp_path: Path) -> None:
    fake = FakeHistory()
    h, _ = client(fake, tmp_path, today=date(2025, 6, 4))
    await h.columns(SYM, "5min", date(2025, 6, 3), date(2025, 6, 5))
    await h.columns(SYM, "5min", date(2025, 6, 3), date(2025, 6, 5))
    assert fake.ranges() == [
        (date(2025, 6, 3), date(2025, 6, 4)),
        (date(2025, 6, 4), date(2025, 6, 4)),
    ]


async def test_429_pauses_the_limiter_then_succeeds(tmp_path: Path) -> None:
    busy = httpx.Response(
        429, headers={"Retry-After": "2"}, json={"s": "error", "code": -429, "message": "busy"}
    )
    fake = FakeHistory([busy])
    h, clock = client(fake, tmp_path)
    cols = await h.columns(SYM, "1h", date(2025, 5, 26), date(2025, 5, 27))
    assert len(fake.seen) == 2 and len(cols) == 7
    assert clock.slept and sum(clock.slept) >= 2.0  # waited out Retry-After, no real sleep
    assert h.limiter.granted == 2


async def test_requests_are_paced_by_the_rate_limiter(tmp_path: Path) -> None:
    fake = FakeHistory()
    clock = Clock()
    limiter = RateLimiter({"all": ((2, 1.0),)}, clock=clock, sleep=clock.sleep)
    h = FyersHistory(
        CONFIG,
        transport=httpx.MockTransport(fake),
        limiter=limiter,
        cache_dir=tmp_path,
        now=lambda: datetime(2025, 6, 2, tzinfo=IST).timestamp(),
    )
    await h.columns(SYM, "5min", date(2024, 1, 1), date(2025, 1, 1))  # 4 requests
    assert len(fake.seen) == 4 and sum(clock.slept) >= 1.0


async def test_bad_symbol_is_a_typed_error(tmp_path: Path) -> None:
    fake = FakeHistory()
    h, _ = client(fake, tmp_path)
    with pytest.raises(UnknownSymbol) as err:
        await h.columns("NSE:NOSUCH-EQ", "5min", date(2025, 5, 26), date(2025, 5, 27))
    assert isinstance(err.value, InvalidInput) and err.value.field == "symbol"
    assert "NSE:NOSUCH-EQ" in str(err.value) and "valid symbol" in str(err.value)
    with pytest.raises(InvalidInput) as err2:
        await h.columns("sbin", "5min", date(2025, 5, 26), date(2025, 5, 27))
    assert err2.value.field == "symbol"
    with pytest.raises(InvalidInput) as err3:
        await h.columns(SYM, "7min", date(2025, 5, 26), date(2025, 5, 27))
    assert err3.value.field == "timeframe"
    assert len(fake.seen) == 1  # only the unknown symbol reached Fyers


async def test_auth_refusal_and_old_seconds(tmp_path: Path) -> None:
    fake = FakeHistory(
        [httpx.Response(401, json={"s": "error", "code": -16, "message": "bad token"})]
    )
    h, _ = client(fake, tmp_path)
    with pytest.raises(AuthError):
        await h.columns(SYM, "5min", date(2025, 5, 26), date(2025, 5, 27))
    with pytest.raises(InvalidInput) as err:
        await h.columns(SYM, "5s", date(2025, 3, 3), date(2025, 3, 4))
    assert err.value.field == "start" and "30 trading days" in str(err.value)
    assert len(fake.seen) == 1
    secs = await h.columns(SYM, "5s", date(2025, 5, 30), date(2025, 5, 31))
    assert len(secs) == 4_500 and fake.seen[-1]["resolution"] == "5S"


def test_plan_trims_weekends_and_skips_covered_and_future_days() -> None:
    covered = {date(2025, 5, 7), date(2025, 5, 8)}
    plan = plan_requests("5min", date(2025, 5, 3), date(2025, 6, 30), covered, date(2025, 5, 20))
    assert plan == [(date(2025, 5, 5), date(2025, 5, 6)), (date(2025, 5, 9), date(2025, 5, 20))]
    assert plan_requests("5min", date(2025, 5, 3), date(2025, 5, 4), set(), date(2025, 6, 1)) == []
    assert plan_requests("1D", date(2010, 1, 1), date(2017, 7, 5), set(), date(2025, 1, 1)) == [
        (date(2017, 7, 3), date(2017, 7, 5))
    ]


async def test_fyers_history_without_a_session(tmp_path: Path) -> None:
    fake = FakeHistory()
    df = await lt.fyers_history(
        SYM, "1h", "2025-05-26", "2025-05-28", config=CONFIG,
        transport=httpx.MockTransport(fake), cache_dir=tmp_path,
    )  # fmt: skip
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert str(df.index.tz) == "Asia/Kolkata" and len(df) == 14
    assert df.index[0] == pd.Timestamp("2025-05-26 09:15", tz=IST)
    assert df.index[-1] == pd.Timestamp("2025-05-27 15:15", tz=IST)
    assert (tmp_path / "NSE%3ASBIN-EQ__1h.sqlite").exists()


async def test_history_and_live_bars_merge_without_duplicates_or_gaps(tmp_path: Path) -> None:
    """History to 10:00 today; live ticks from 09:47:30 with a disconnect 10:20-10:40: every
    5-minute bar from 09:15 is there once; live bars win where they exist, the bar live joined
    mid-way keeps history's open, the disconnect is filled from history."""
    fake = FakeHistory()
    h, _ = client(fake, tmp_path, today=date(2025, 6, 4))
    stream = LivePriceStream()
    book = BarBook(stream)
    book.series(SYM, "5min")
    t = to_ns(datetime(2025, 6, 4, 9, 47, 30, tzinfo=IST), "t")
    stop = to_ns(datetime(2025, 6, 4, 11, 0, tzinfo=IST), "t")
    away = (
        to_ns(datetime(2025, 6, 4, 10, 20, tzinfo=IST), "t"),
        to_ns(datetime(2025, 6, 4, 10, 40, tzinfo=IST), "t"),
    )
    cum = 50_000
    while t < stop:
        if not away[0] <= t < away[1]:
            cum += 10
            stream.push(SYM, 81_000, 81_000, 81_000 + (t // NS) % 7 * 5, cum, t)
        t += 15 * NS
    hist = await h.columns(SYM, "5min", date(2025, 6, 4), "2025-06-04 10:55")
    book.add_history(SYM, "5min", hist)
    df = bars_frame(book.columns(SYM, "5min"))
    expected = pd.date_range("2025-06-04 09:15", "2025-06-04 10:55", freq="5min", tz=IST)
    assert df.index.equals(pd.DatetimeIndex(expected, name="start"))
    live = bars_frame(book.live_columns(SYM, "5min"))
    later = live.index[1:]
    pd.testing.assert_frame_equal(df.loc[later], live.loc[later])
    joined = df.loc[pd.Timestamp("2025-06-04 09:45", tz=IST)]
    h945 = bars_frame(hist).loc[pd.Timestamp("2025-06-04 09:45", tz=IST)]
    assert joined["open"] == h945["open"] and joined["close"] == live["close"].iloc[0]
    assert joined["volume"] == h945["volume"] + live["volume"].iloc[0]
    gap = df.loc[pd.Timestamp("2025-06-04 10:25", tz=IST)]
    assert gap["volume"] == 1000  # from history: live saw nothing then


async def test_sim_session_history_is_the_simulated_past(tmp_path: Path) -> None:
    s = await lt.open_session(feed="sim", broker="paper", seed=3, realtime=False, journal=False)
    try:
        await s.run_for(ticks=120)
        past = await s.history(SYM, "1h", "2025-05-26")
        assert past.index[-1] == pd.Timestamp("2025-05-30 15:15", tz=IST) and len(past) == 35
        merged = s.bars_df(SYM, "1h", start="2025-05-26")
        pd.testing.assert_frame_equal(merged.iloc[:-1], past)
        assert merged.index[-1] == pd.Timestamp("2025-06-02 09:15", tz=IST)
        default = await s.history(SYM, "1D")  # a year back from the session start
        assert 255 <= len(default) <= 262
    finally:
        await s.close()


def _fyers_session_stub(stream: LivePriceStream, now: datetime) -> Any:
    """What MarketData reads of a Fyers session (no socket: ticks are pushed by hand)."""
    from types import SimpleNamespace

    from livetrade.clock import VirtualClock
    from livetrade.session import Event

    return SimpleNamespace(
        stream=stream,
        bar_event=Event("bar"),
        market=None,
        clock=VirtualClock(now),
        fyers_feed=SimpleNamespace(config=CONFIG),
        router=None,
        feed="fyers",
    )


async def test_fyers_session_history_then_bars_df_back_fills_from_disk(tmp_path: Path) -> None:
    from livetrade.history import MarketData

    stream = LivePriceStream()
    t = to_ns(datetime(2025, 6, 4, 9, 50, 10, tzinfo=IST), "t")
    for i in range(120):
        stream.push(SYM, 81_000, 81_010, 81_000 + i % 9 * 5, 70_000 + 10 * i, t + i * 5 * NS)
    fake = FakeHistory()
    md = MarketData(_fyers_session_stub(stream, datetime(2025, 6, 4, 10, 0, tzinfo=IST)))
    md.fyers, _ = client(fake, tmp_path, today=date(2025, 6, 4))
    past = await md.history(SYM, "5min", date(2025, 6, 2), "2025-06-04 09:50")
    assert len(past) == 2 * 75 + 7 and len(fake.seen) == 1
    df = md.bars_df(SYM, "5min", start="2025-06-02")
    assert df.index.is_unique and df.index[0] == pd.Timestamp("2025-06-02 09:15", tz=IST)
    assert df.index[-1] == pd.Timestamp("2025-06-04 10:00", tz=IST)
    steps = df.index.to_series().diff().dropna()
    today = steps[steps.index > pd.Timestamp("2025-06-04 09:15", tz=IST)]
    assert set(today) == {pd.Timedelta("5min")}  # history then live: no gap, no duplicate
    # another session on the same data directory: bars_df merges the cache, sends nothing
    md2 = MarketData(_fyers_session_stub(stream, datetime(2025, 6, 4, 10, 0, tzinfo=IST)))
    md2.fyers, _ = client(fake, tmp_path, today=date(2025, 6, 4))
    df2 = md2.bars_df(SYM, "5min", start="2025-06-02")
    assert len(fake.seen) == 1
    pd.testing.assert_frame_equal(df2, df)
