"""The candlestick price chart: its view-model on the virtual-clock market and its figure
(traces, volume, the live last bar, a timeframe switch) without a browser."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

import livetrade as lt
from livetrade.bars import NS, TIMEFRAMES
from livetrade.session import Session
from livetrade.ui.candles import (
    CandleSource,
    lookback_start,
    price_chart_view,
    time_ticks,
    volume_text,
)
from livetrade.ui.dashboard import Dashboard

SYM = "NSE:SBIN-EQ"
_names = itertools.count()


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=4, realtime=False, name=f"ui-candles-{next(_names)}"
    )
    await s.run_for(ticks=60)
    yield s
    await s.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _source(s: Session, timeframe: str = "5min", symbol: str = SYM) -> CandleSource:
    src = CandleSource(timeframe)
    src.reset(s, symbol)
    return src


async def test_the_chart_opens_with_the_past_and_the_live_bar_last(session: Session) -> None:
    s = session
    src = _source(s)
    v = price_chart_view(s, src)
    opened = s.clock.now_ns()
    # the past before the session is there (three trading days of 5min bars)
    assert v.t[0] < opened - 86_400 * NS and len(v) > 2 * 75
    frame = s.bars_df(SYM, "5min", start=src.start_ns)
    assert len(frame) == len(v)
    assert list(v.c) == [round(x * 100) for x in frame["close"]]
    assert list(v.v) == frame["volume"].tolist()
    live = s.market_data.book.live(SYM, "5min")
    newest = v.live()
    assert live is not None and newest is not None and newest[0] == live.start_ns
    assert len(v.closed()[0]) == len(v) - 1
    assert v.last == s.stream.top(SYM)[2]  # type: ignore[index]
    assert v.title == f"{SYM} — LTP ₹{v.last / 100:,.2f} · 5min candles"  # type: ignore[operator]
    lo, hi = v.price_range()  # type: ignore[misc]
    assert lo <= min(v.l[-90:]) and hi >= max(v.h[-90:])


async def test_fills_sit_on_their_bars_and_bracket_levels_span_the_chart(
    session: Session,
) -> None:
    s = session
    order = await s.buy(SYM, 3, stop_loss="780", take_profit="830")
    await s.run_for(seconds=400)  # past the next 5min boundary
    await s.sell(SYM, 1)
    v = price_chart_view(s, _source(s))
    (buy,) = v.buys
    assert buy[1:] == (order.fill_paise, 3)
    assert v.t[buy[0]] <= s.engine.fills[0].ts_ns < v.t[buy[0]] + 300 * NS
    (sell,) = v.sells
    assert sell[0] == len(v) - 1 and sell[0] > buy[0] and sell[2] == 1
    assert v.stop_losses == (78000,) and v.take_profits == (83000,)
    xs, ys = v.level_lines(v.stop_losses)
    assert xs == [-0.5, len(v) - 0.5, None] and ys == [78000, 78000, None]
    assert price_chart_view(s, _source(s, symbol="NSE:INFY-EQ")).buys == ()
    empty = price_chart_view(s, _source(s, symbol="NSE:NOPE-EQ"))
    assert len(empty) == 0 and empty.title == "NSE:NOPE-EQ — waiting for ticks"


async def test_figure_traces_volume_and_the_live_bar_alone_updating(session: Session) -> None:
    s = session
    clock = Clock()
    dash = Dashboard(s, clock=clock, start=False)
    chart = dash.price_chart
    assert chart is not None
    fig = chart.fig
    v = dash.view("price_chart")
    n = len(v)
    assert len(fig.data[0].x) == n - 1 and list(fig.data[0].close) == [c / 100 for c in v.c[:-1]]
    assert list(fig.data[2].y) == [float(x) for x in v.v[:-1]]  # volume under its candles
    assert fig.data[2].yaxis == fig.data[3].yaxis == "y2"
    assert list(fig.data[1].x) == [n - 1] and list(fig.data[3].y) == [float(v.v[-1])]
    assert fig.layout.xaxis.rangeslider.visible is False
    assert all(t.startswith("₹") for t in fig.layout.yaxis.ticktext)  # the one money format
    closed_before = fig.data[0].close
    # ticks inside the live bar: only the live traces change
    bar_end = v.t[-1] + 300 * NS
    seconds = (bar_end - s.clock.now_ns()) // NS - 5
    await s.run_for(seconds=seconds)
    clock.now += 1
    assert "price_chart" in dash.flush()
    v2 = dash.view("price_chart")
    assert len(v2) == n and v2.t[-1] == v.t[-1]
    assert fig.data[0].close is closed_before  # closed candles not sent again
    assert list(fig.data[1].close) == [v2.c[-1] / 100] and v2.v[-1] > v.v[-1]
    assert list(fig.data[3].y) == [float(v2.v[-1])]
    # the bar closes: it joins the closed trace, a new live bar starts
    await s.run_for(seconds=30)
    clock.now += 1
    dash.flush()
    v3 = dash.view("price_chart")
    assert len(v3) == n + 1 and len(fig.data[0].x) == n
    assert fig.data[0].close[-1] == v3.c[-2] / 100 and list(fig.data[1].x) == [n]
    assert fig.layout.xaxis.range[1] > n - 0.5  # the view follows the newest bar
    dash.close()


async def test_timeframe_buttons_switch_the_bars(session: Session) -> None:
    s = session
    clock = Clock()
    dash = Dashboard(s, clock=clock, start=False)
    chart = dash.price_chart
    assert chart is not None
    assert chart.timeframe.value == "5min" and tuple(chart.timeframe.options) == (
        "1min", "5min", "15min", "1h", "1D",
    )  # fmt: skip
    five = dash.view("price_chart")
    chart.timeframe.value = "1h"
    assert dash.prices.timeframe == "1h"
    clock.now += 1
    assert "price_chart" in dash.flush()
    hour = dash.view("price_chart")
    assert hour.timeframe == "1h" and hour.t != five.t
    assert all(t % (3600 * NS) == (15 * 60 - 19_800) * NS % (3600 * NS) for t in hour.t)
    assert len(chart.fig.data[0].x) == len(hour) - 1
    assert "1h candles" in chart.fig.layout.title.text
    chart.timeframe.value = "1D"
    clock.now += 1
    dash.flush()
    daily = dash.view("price_chart")
    assert len(daily) > 60 and all(b - a >= 86_400 * NS for a, b in itertools.pairwise(daily.t))
    assert chart.fig.layout.xaxis.ticktext[-1].endswith("2025")  # months on a daily chart
    # another symbol keeps the chosen timeframe
    dash.ticket.symbol.value = "NSE:TCS-EQ"
    assert dash.view("price_chart").timeframe == "1D"
    dash.close()


def test_time_ticks_label_days_and_round_times() -> None:
    day0 = 1_748_835_900 * NS - (1_748_835_900 * NS + 19_800 * NS) % (86_400 * NS)  # IST 00:00
    open_ = day0 + (9 * 3600 + 15 * 60) * NS
    starts = tuple(open_ + d * 86_400 * NS + i * 300 * NS for d in range(2) for i in range(75))
    vals, text = time_ticks(starts, "5min")
    assert vals[0] == 0 and text[0] == "02 Jun" and text[1] == "10:15"
    assert text.count("03 Jun") == 1 and starts[vals[text.index("03 Jun")]] == open_ + 86_400 * NS
    assert all(b - a >= 6 for a, b in itertools.pairwise(vals))
    assert time_ticks((), "1h") == ([], [])
    assert TIMEFRAMES["1D"] == 86_400
    assert volume_text(950) == "950" and volume_text(250_000) == "2.5 L"
    assert volume_text(31_000_000) == "3.1 Cr"


def test_lookback_counts_weekdays() -> None:
    monday_noon = 1_748_845_800 * NS  # 2025-06-02 12:00 IST, a Monday
    start = lookback_start(monday_noon, "5min")  # three trading days: Thu, Fri, Mon
    assert (monday_noon - start) // (86_400 * NS) == 4
    assert lookback_start(monday_noon, "1min") == start + 86_400 * NS  # Fri 00:00


async def test_a_fyers_session_loads_the_charts_past_in_the_background(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = session
    calls: list[tuple[str, str, object]] = []

    async def history(symbol: str, timeframe: str = "5min", start: object = None) -> None:
        calls.append((symbol, timeframe, start))

    monkeypatch.setattr(s, "fyers_feed", object())  # only "is there a Fyers feed" is asked
    monkeypatch.setattr(s, "history", history)
    dash = Dashboard(s, clock=Clock(), start=False)
    dash.throttle.take(0.0, force=True)
    await asyncio.sleep(0)
    assert calls == [(SYM, "5min", dash.prices.start_ns)]
    assert "price_chart" in dash.throttle.take(1e9, force=True)  # redrawn with the past
    assert dash.price_chart is not None
    dash.price_chart.timeframe.value = "1h"
    await asyncio.sleep(0)
    assert calls[-1] == (SYM, "1h", dash.prices.start_ns)
    dash.close()
