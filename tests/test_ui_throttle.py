"""The redraw throttle and the dashboard's one task, driven by a fake clock (no real sleeps)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

import livetrade as lt
from livetrade.session import Session
from livetrade.ui.dashboard import PANELS, Dashboard
from livetrade.ui.throttle import Throttle

_names = itertools.count()


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=3, realtime=False, name=f"ui-thr-{next(_names)}"
    )
    await s.run_for(ticks=30)
    yield s
    await s.close()


def test_throttle_coalesces_marks_and_respects_intervals() -> None:
    t = Throttle({"a": 0.1, "b": 0.4})
    assert t.wait(0.0) is None and t.take(0.0) == []
    for _ in range(1_000):
        t.mark("a", "b")
    assert t.wait(0.0) == 0.0
    assert t.take(0.0) == ["a", "b"]  # a thousand marks, one draw each
    assert t.wait(0.05) is None
    t.mark("a", "b")
    assert t.wait(0.05) == pytest.approx(0.05)
    assert t.take(0.05) == []
    assert t.take(0.1) == ["a"]  # b's interval is longer
    assert t.dirty == {"b"}
    assert t.wait(0.1) == pytest.approx(0.3)
    assert t.take(0.4) == ["b"]
    t.mark("a")
    assert t.take(0.15, force=True) == ["a"]
    assert t.draws == {"a": 3, "b": 2}
    with pytest.raises(KeyError):
        t.mark("nope")
    with pytest.raises(ValueError):
        Throttle({"a": 0.0})


def test_throttle_bounds_draws_per_second() -> None:
    """Marks at 10 kHz for 10 s give at most 10 draws a second per 0.1-s panel."""
    t = Throttle({"fast": 0.1, "chart": 0.4})
    draws = {"fast": 0, "chart": 0}
    for i in range(100_000):
        now = i / 10_000
        t.mark("fast", "chart")
        for name in t.take(now):
            draws[name] += 1
    assert draws["fast"] <= 10 * 10 + 1
    assert draws["chart"] <= 10 * 2.5 + 1
    assert draws["fast"] >= 99


class FakeTime:
    """A clock that only moves when the dashboard task sleeps; each sleep also lets the
    market run, so ticks arrive 'during' the sleep as they would in real time."""

    def __init__(self, session: Session, steps_per_second: int) -> None:
        self.now = 0.0
        self.session = session
        self.rate = steps_per_second
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        steps = max(1, round(seconds * self.rate))
        self.now += seconds
        if not self.session.closed:
            for _ in range(steps):
                self.session.step()
        await asyncio.sleep(0)


async def test_dashboard_task_redraws_at_most_max_hz(session: Session) -> None:
    fake = FakeTime(session, steps_per_second=600)  # 3,600 ticks a second of fake time
    dash = Dashboard(session, max_hz=10, clock=fake.clock, sleep=fake.sleep)
    try:
        base = dict(dash.throttle.draws)
        while fake.now < 5.0:
            await asyncio.sleep(0)
        draws = {k: dash.throttle.draws[k] - base[k] for k in PANELS}
        seconds = fake.now
        assert draws["status"] >= 40  # the status line follows the feed
        assert draws["quotes"] >= 40 and draws["price_chart"] >= 10
        for name in ("status", "quotes", "ticket", "positions", "blotter"):
            assert draws[name] <= 10 * seconds + 1, (name, draws)
        for name in ("price_chart", "pnl_chart"):
            assert draws[name] <= 2.5 * seconds + 1, (name, draws)
        assert dash.monitor.count >= 5 * 600 * 6 - 100  # every tick was counted
    finally:
        await dash.aclose()
    assert dash.task is not None and dash.task.done()


async def test_task_stops_when_the_session_closes(session: Session) -> None:
    fake = FakeTime(session, steps_per_second=10)
    dash = Dashboard(session, max_hz=10, clock=fake.clock, sleep=fake.sleep)
    while fake.now < 1.0:
        await asyncio.sleep(0)
    await session.close()
    assert dash.task is not None
    await asyncio.wait_for(dash.task, timeout=5)
    assert dash.view("status").feed_state == "stopped"
    count = dash.monitor.count
    session.stream.push("NSE:SBIN-EQ", 80000, 80005, 80000, 1, 0)
    assert dash.monitor.count == count  # detached from the stream
    dash.close()


async def test_task_stops_when_the_dashboard_closes(session: Session) -> None:
    fake = FakeTime(session, steps_per_second=10)
    dash = Dashboard(session, max_hz=10, clock=fake.clock, sleep=fake.sleep)
    while fake.now < 0.5:
        await asyncio.sleep(0)
    dash.close()
    assert dash.task is not None
    await asyncio.wait_for(asyncio.gather(dash.task, return_exceptions=True), timeout=5)
    assert dash.task.done() and not dash.running
    count = dash.monitor.count
    await session.run_for(ticks=5)
    assert dash.monitor.count == count


async def test_idle_dashboard_only_polls(session: Session) -> None:
    """With no ticks, the task sleeps in poll-sized steps and draws nothing (virtual clock)."""
    fake = FakeTime(session, steps_per_second=0)
    fake.rate = 0

    async def idle_sleep(seconds: float) -> None:
        fake.sleeps += 1
        fake.now += seconds
        await asyncio.sleep(0)

    dash = Dashboard(session, max_hz=10, clock=fake.clock, sleep=idle_sleep)
    try:
        while fake.now < 3.0:
            await asyncio.sleep(0)
        # only the first draw (the charts are built when their tab is first opened)
        assert sum(dash.throttle.draws.values()) == len(PANELS)
        assert fake.sleeps <= 3.0 * 10 + 2
    finally:
        await dash.aclose()
