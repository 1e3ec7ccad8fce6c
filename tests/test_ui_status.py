"""Status bar and quote board view-models: badge, feed state, kill switch, board rows."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace

import pandas as pd
import pytest

import livetrade as lt
from livetrade.model import KillSwitch
from livetrade.session import Session
from livetrade.ui.quotes import QuoteBoardModel
from livetrade.ui.status import (
    FeedActivity,
    FeedMonitor,
    set_kill_switch,
    stall_after,
    status_html,
    status_view,
)

_names = itertools.count()


def _name() -> str:
    return f"ui-st-{next(_names)}"


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(journal=False, feed="sim", seed=2, realtime=False, name=_name())
    await s.run_for(ticks=120)
    yield s
    await s.close()


async def test_paper_session_on_a_virtual_clock(session: Session) -> None:
    v = status_view(session, FeedActivity(), 0.0)
    assert (v.mode, v.live, v.feed, v.feed_state) == ("PAPER", False, "sim", "virtual clock")
    assert v.market_time == "09:17:00" and v.kill_switch == "ACTIVE"
    assert v.equity_paise == session.engine.pnl_paise()["equity"] and v.pnl_paise == 0
    assert v.can_halt and not v.can_resume
    assert v.text == (
        "PAPER · sim feed: virtual clock · 09:17:00 IST · MTM ₹0.00 (0.00%) · "
        "cash ₹10,00,000.00 · margin used ₹0.00 · available ₹10,00,000.00 · Trading: ON"
    )
    assert '<span class="lt-badge lt-paper">PAPER</span>' in status_html(v)


async def test_live_badge_is_unmistakable(session: Session) -> None:
    router = SimpleNamespace(armed=False)
    session.router = session.engine.router = router  # type: ignore[assignment]
    try:
        v = status_view(session, FeedActivity(), 0.0)
        assert v.mode == "LIVE (not armed)" and v.live and v.text.startswith("LIVE")
        assert "● LIVE — not armed" in status_html(v) and "lt-paper" not in status_html(v)
        router.armed = True
        v = status_view(session, FeedActivity(), 0.0)
        assert v.mode == "LIVE" and v.text.startswith("LIVE")
        assert "● LIVE — real orders" in status_html(v) and "lt-paper" not in status_html(v)
    finally:
        session.router = session.engine.router = None


async def test_kill_switch_buttons(session: Session) -> None:
    r = set_kill_switch(session, KillSwitch.HALTED)
    assert r.ok and r.text.startswith("Trading halted")
    v = status_view(session, FeedActivity(), 0.0)
    assert v.kill_switch == "HALTED" and not v.can_halt and v.can_resume
    assert 'data-state="HALTED"' in status_html(v)
    assert set_kill_switch(session, KillSwitch.ACTIVE).text == "Trading resumed."
    assert session.engine.kill_switch is KillSwitch.ACTIVE


async def test_real_time_feed_states_come_from_the_observed_ticks() -> None:
    s = await lt.open_session(
        journal=False, feed="sim", seed=2, realtime=True, tick_interval=600, name=_name()
    )
    try:
        assert stall_after(s) == 3000
        assert status_view(s, FeedActivity(), 10.0).feed_state == "waiting"
        running = status_view(s, FeedActivity(5, 9.5, 2.0), 10.0)
        assert (running.feed_state, running.tick_age_s, running.tick_rate) == ("running", 0.5, 2.0)
        assert "2 ticks/s · last tick 0.5 s ago" in running.feed_text
        stalled = status_view(s, FeedActivity(5, 9.5, 0.0), 9.5 + 3001)
        assert stalled.feed_state == "stalled"
    finally:
        await s.close()
    v = status_view(s, FeedActivity(5, 9.5, 2.0), 10.0)
    assert v.feed_state == "stopped" and v.tick_age_s is None and not v.can_halt


async def test_replay_feed_finishes() -> None:
    rows = pd.DataFrame(
        {
            "timestamp": ["2025-06-02 09:15:00", "2025-06-02 09:15:01"],
            "symbol": ["NSE:SBIN-EQ"] * 2,
            "bid": [800.0, 800.05],
            "ask": [800.1, 800.15],
            "last": [800.05, 800.1],
            "volume": [10, 20],
        }
    )
    s = await lt.open_session(
        journal=False, feed="replay", replay=rows, realtime=False, name=_name()
    )
    try:
        assert status_view(s, FeedActivity(), 0.0).feed == "replay"
        await s.run_for(ticks=5)
        assert status_view(s, FeedActivity(), 0.0).feed_state == "finished"
        board = QuoteBoardModel(s)
        assert board.add("NSE:INFY-EQ").text == "NSE:INFY-EQ is not in this replay."
    finally:
        await s.close()


def test_feed_monitor_age_and_rate_without_a_clock_per_tick() -> None:
    m = FeedMonitor(window=2.0)
    a = m.observe(0.0)
    assert a == FeedActivity(0, None, None)
    m.count += 10
    a = m.observe(1.0)
    assert (a.ticks, a.last_tick_at, a.rate) == (10, 1.0, 10.0)
    a = m.observe(2.0)  # no new tick: the age grows from the last time one was seen
    assert a.last_tick_at == 1.0 and a.rate == pytest.approx(10 / 2.0)
    m.count += 30
    a = m.observe(4.0)
    assert a.last_tick_at == 4.0 and a.rate == pytest.approx(30 / 2.0)


async def test_quote_board_rows(session: Session) -> None:
    board = QuoteBoardModel(session)
    v = board.view()
    assert v.symbols == tuple(session.symbols)
    row = v.rows[0]
    top = session.stream.top(row.symbol)
    assert top is not None
    bid, ask, last, _ = top
    prev = session.day_stats(row.symbol).prev_close  # the day's change is vs the last close
    assert prev is not None and (row.bid, row.ask, row.last) == (bid, ask, last)
    expected = ((Decimal(last) - prev * 100) * 100 / (prev * 100)).quantize(Decimal("0.01"))
    assert row.change == (f"{expected:+.2f}%" if expected else "0.00%")
    assert row.change_paise == last - int(prev * 100)
    quote = session.stream.quote(row.symbol)
    assert quote is not None and row.volume == quote.volume
    assert row.time == "09:17:00"
    html = v.html()
    assert html.count("<tr>") == len(session.symbols) + 1 and 'class="lt-ltp lt-c-ltp"' in html


async def test_quote_board_add_and_remove(session: Session) -> None:
    board = QuoteBoardModel(session, ["NSE:SBIN-EQ"])
    assert board.add("nse:infy-eq").text == "Watching NSE:INFY-EQ."
    assert board.add("NSE:INFY-EQ").text == "NSE:INFY-EQ is already on the board."
    r = board.add("NSE:ITC-EQ")
    assert r.ok and "NSE:ITC-EQ" in session.symbols
    assert "starts at ₹1,000.00, a made-up price (type 'NSE:ITC-EQ @ 450'" in r.text
    assert board.view().rows[-1].last is None  # no tick yet
    await session.run_for(ticks=1)
    assert board.view().rows[-1].last is not None
    assert not board.add("SBIN").ok and not board.add("  ").ok
    assert board.remove("NSE:SBIN-EQ").ok and board.watched == ["NSE:INFY-EQ", "NSE:ITC-EQ"]
    r = board.remove("NSE:SBIN-EQ")
    assert not r.ok and r.text == "NSE:SBIN-EQ is not on the board."


async def test_status_bar_shows_the_fyers_connection_state() -> None:
    from livetrade.testing.fake_fyers import FakeFyersServer

    async with FakeFyersServer(seed=1) as fake:
        s = await lt.open_session(feed="fyers", fyers=fake.config, name=_name(), journal=False)
        try:
            live = status_view(s, FeedActivity(), 0.0)
            assert live.feed == "fyers" and live.feed_state == "waiting"
            assert s.fyers_feed is not None
            s.fyers_feed.manager._set_state("reconnecting", 2, "connection lost")
            assert status_view(s, FeedActivity(), 0.0).feed_state == "reconnecting 2"  # no budget
            s.fyers_feed.manager._set_state("failed", 5, "token expired")
            assert status_view(s, FeedActivity(), 0.0).feed_state == "failed (token expired)"
        finally:
            await s.close()
