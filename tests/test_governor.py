"""The Fyers rate governor (#17 item 4): one per app id, shared by every REST client of the app,
pacing 10/s, 200/min and orders 10/s, counting the IST day's requests and 429 minutes. Every
test runs on an injected clock: nothing sleeps for real."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import httpx
import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

from livetrade.errors import InvalidInput
from livetrade.fyers.broker import FyersRestClient
from livetrade.fyers.rest import SymbolTokenClient
from livetrade.governor import (
    DAILY_LIMIT,
    MINUTE_BREACHES_BLOCK_AFTER,
    SEBI_THRESHOLD_OPS,
    DailyLimitReached,
    RateGovernor,
    governor_for,
)
from livetrade.history import shared_limiter
from livetrade.testing.fake_rest import FakeFyersRest, mock_transport

URL = "http://127.0.0.1:9/api/v3"  # never connected: MockTransport answers
DAY0 = 1_780_000_000.0  # epoch seconds (an IST afternoon in May 2026)


class FakeClock:
    """Time that moves only when the governor sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def governor(clock: FakeClock, wall: FakeClock | None = None, **kw: object) -> RateGovernor:
    w = wall if wall is not None else FakeClock(DAY0)
    return RateGovernor("APP-100", clock=clock, sleep=clock.sleep, wall=w, **kw)  # type: ignore[arg-type]


def test_the_documented_figures() -> None:
    """exchange-rules.md §4: 10/s, 200/min, 1,00,000/day; orders 10/s; >3 minute-breaches
    block the day; SEBI's threshold is 10 orders/s."""
    gov = RateGovernor()
    limits = {g: [(c, s) for c, s, _ in ws] for g, ws in gov._windows.items()}
    assert limits == {"all": [(10, 1.0), (200, 60.0)], "orders": [(10, 1.0)]}
    assert DAILY_LIMIT == 100_000 and gov.daily_limit == DAILY_LIMIT
    assert MINUTE_BREACHES_BLOCK_AFTER == 3 and gov.caution_after == 2
    assert SEBI_THRESHOLD_OPS == 10 == limits["orders"][0][0]
    with pytest.raises(InvalidInput) as info:
        RateGovernor(daily_limit=0)
    assert info.value.field == "daily_limit"


async def test_calls_in_a_second_are_paced() -> None:
    clock = FakeClock()
    gov = governor(clock)
    granted = []
    for _ in range(25):
        await gov.acquire("all", "orders")
        granted.append(clock.now)
    for i in range(len(granted) - 10):  # never 11 in any one-second window
        assert granted[i + 10] - granted[i] >= 1.0
    assert granted[-1] - granted[0] == pytest.approx(2.0)
    assert gov.stats().requests == 25 and gov.stats().orders == 25


async def test_per_minute_window() -> None:
    clock = FakeClock()
    gov = governor(clock)
    for _ in range(201):
        await gov.acquire()
    assert clock.now - 1000.0 >= 60.0  # the 201st waited for the minute


async def test_the_daily_count_warns_then_refuses(caplog: pytest.LogCaptureFixture) -> None:
    clock, wall = FakeClock(), FakeClock(DAY0)
    gov = governor(clock, wall, daily_limit=10, warn_fraction=0.8)
    with caplog.at_level(logging.WARNING, logger="livetrade.governor"):
        for _ in range(7):
            await gov.acquire()
        assert gov.warnings == []
        await gov.acquire()  # the 8th: 80 %
        assert len(gov.warnings) == 1 and "8 of the 10" in gov.warnings[0]
        assert "8 of the 10" in caplog.text
        await gov.acquire()
        await gov.acquire()
        with pytest.raises(DailyLimitReached) as info:
            await gov.acquire()
    assert "daily limit of 10" in str(info.value) and gov.stats().requests == 10
    wall.now += 86_400  # the next IST day starts a fresh budget
    await gov.acquire()
    assert gov.stats().requests == 1


async def test_the_default_daily_warning_is_at_80_percent() -> None:
    clock = FakeClock()
    gov = governor(clock)
    gov._requests = 79_999  # as if the day had gone that far
    await gov.acquire()
    assert gov.warnings and "80000 of the 100000" in gov.warnings[0]


async def test_429_minutes_warn_and_the_second_halves_the_minute_budget() -> None:
    clock, wall = FakeClock(), FakeClock(DAY0)
    gov = governor(clock, wall)
    gov.pause(1.0)
    gov.pause(1.0)  # the same minute: one breach
    assert gov.stats().breaches == 1 and not gov.stats().cautious
    wall.now += 60
    gov.pause(1.0)
    stats = gov.stats()
    assert stats.breaches == 2 and stats.cautious
    assert any("halved" in w for w in stats.warnings)
    assert any(f"more than {MINUTE_BREACHES_BLOCK_AFTER}" in w for w in stats.warnings)
    start = clock.now
    for _ in range(101):
        await gov.acquire()
    assert clock.now - start >= 60.0  # 100/min now
    wall.now += 86_400
    assert not gov.stats().cautious and gov.stats().breaches == 0


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"s": "ok", "code": 200, "data": {"valid": {}}})


async def test_two_clients_of_one_app_share_the_budget() -> None:
    fake = FakeFyersRest(prices={"NSE:SBIN-EQ": Decimal("800.00")})
    gov = governor_for(fake.app_id)
    clock = FakeClock()
    gov.clock, gov.sleep = clock, clock.sleep
    a = FyersRestClient(fake.authorization, base_url=URL, transport=mock_transport(fake))
    b = FyersRestClient(fake.authorization, base_url=URL, transport=mock_transport(fake))
    tokens = SymbolTokenClient(
        fake.authorization, "http://127.0.0.1:9/data", transport=httpx.MockTransport(_ok)
    )
    assert a.limiter is b.limiter is gov is shared_limiter(fake.app_id) is tokens.limiter
    other = FyersRestClient("OTHERAPPID-100:" + fake.access_token, base_url=URL)
    assert other.limiter is not gov
    try:
        for _ in range(6):
            await a.funds()
            await b.funds()
        await tokens.lookup(["NSE:SBIN-EQ"])
        assert gov.stats().requests == 13
        assert clock.now - 1000.0 >= 1.0  # 13 calls of one app: paced past the first second
    finally:
        for client in (a, b, other):
            await client.aclose()
        await tokens.aclose()


def test_outside_a_loop_a_governor_of_its_own() -> None:
    assert governor_for("X-100") is not governor_for("X-100")


async def test_a_live_session_surfaces_its_apps_budget() -> None:
    import livetrade as lt

    fake = FakeFyersRest(prices={"NSE:SBIN-EQ": Decimal("800.00")})
    client = FyersRestClient(fake.authorization, base_url=URL, transport=mock_transport(fake))
    session = await lt.open_session(
        feed="sim", broker="fyers", live=True, seed=1, realtime=False, journal=False,
        fyers_client=client, poll_interval=None, name="gov-live",
    )  # fmt: skip
    try:
        stats = session.rate_stats()
        assert stats is not None and stats.app_id == fake.app_id
        assert stats.requests >= 1  # opening reconciled with Fyers through the governor
        assert stats.breaches == 0 and stats.warnings == ()
    finally:
        await session.close()
    paper = await lt.open_session(feed="sim", realtime=False, journal=False, name="gov-paper")
    assert paper.rate_stats() is None
    await paper.close()
