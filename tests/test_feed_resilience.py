"""Issue #18, feed part: the Fyers data feed never gives up, says so when it is down, refuses to
trade on a dead feed, and refuses frames no valid server could send.

Deterministic: reconnect delays are injected (``backoff``), simulated time comes from a
``VirtualClock`` advanced by that backoff (or set by the test), the server is the local fake on
loopback, stopped and restarted on the same ports to be "down"; waits poll a condition with a
generous timeout and never sleep a fixed time.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

import livetrade as lt
from livetrade.clock import VirtualClock
from livetrade.errors import AuthError, FeedDisconnected, OrderRejected
from livetrade.fyers.stream import (
    MAX_FRAME_SIZE,
    REPORT_AFTER,
    ExponentialBackoff,
    FeedState,
    FyersWebSocketManager,
)
from livetrade.fyers.symbols import mint_fake_token
from livetrade.risk import RiskLimits
from livetrade.session import Session
from livetrade.testing.fake_fyers import FakeFyersServer

SBIN, NIFTY = "NSE:SBIN-EQ", "NSE:NIFTY50-INDEX"
_names = itertools.count()


async def until(pred: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``pred`` until true; fail after ``timeout`` seconds (never a fixed sleep)."""
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.002)


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=1, tick_interval=None) as server:
        yield server


async def restart(down: FakeFyersServer) -> FakeFyersServer:
    """The same server back on the same ports (same seed: same key, same topics). The client
    keeps its fytokens across reconnects, so the instruments it knows are registered here as
    its earlier symbol-token lookups registered them there."""
    back = FakeFyersServer(
        seed=down.seed, tick_interval=None, port=down.ws_port, rest_port=down.rest_port
    )
    for symbol in (SBIN, NIFTY):
        back.instrument(symbol)
    return await back.start()


def manager(fake: FakeFyersServer, **kw: object) -> FyersWebSocketManager:
    opts: dict[str, object] = {"backoff": lambda n: 0.0, "stall_hours": None, **kw}
    return FyersWebSocketManager(
        fake.access_token,
        ws_url=fake.ws_url,
        rest_url=fake.rest_url,
        **opts,  # type: ignore[arg-type]
    )


async def fyers_session(fake: FakeFyersServer, **kw: object) -> Session:
    session = await lt.open_session(
        feed="fyers",
        fyers=fake.config,
        journal=False,
        name=f"resilience-{next(_names)}",
        **kw,  # type: ignore[arg-type]
    )
    assert session.fyers_feed is not None
    session.fyers_feed.manager.backoff = lambda n: 0.0  # reconnect at once: no wall-clock waits
    return session


# ---- the feed never gives up -----------------------------------------------------------------


async def test_server_down_past_five_attempts_then_back_goes_live_by_itself(
    fake: FakeFyersServer,
) -> None:
    ws = manager(fake)  # the default retries: unlimited
    assert ws.retries is None
    await ws.connect()
    await ws.subscribe([SBIN])
    await until(lambda: fake.subscriptions() == [{SBIN}])
    await fake.stop()  # connections closed, new ones refused
    await until(lambda: ws.state.attempt >= 8)  # the old budget was 5
    assert ws.state.status == "reconnecting" and "cannot connect" in (ws.state.reason or "")
    back = await restart(fake)
    try:
        await until(lambda: ws.connected)
        await until(lambda: back.subscriptions() == [{SBIN}])  # resubscribed by itself
        await back.step()
        await until(lambda: ws.stats.ticks >= 2)
        assert ws.stats.reconnects == 1
    finally:
        await ws.disconnect()
        await back.stop()


async def test_first_connect_raises_but_keeps_retrying(fake: FakeFyersServer) -> None:
    ws = manager(fake)
    await fake.stop()
    with pytest.raises(FeedDisconnected, match=r"cannot connect .*keeps retrying"):
        await ws.connect()
    assert ws.state.status == "reconnecting" and ws.state.attempt >= REPORT_AFTER
    back = await restart(fake)
    try:
        await ws.reconnect(timeout=10)
        assert ws.connected
    finally:
        await ws.disconnect()
        await back.stop()


async def test_explicit_retries_still_fail() -> None:
    token = mint_fake_token("k" * 56, 4_102_444_800)
    ws = FyersWebSocketManager(
        token, ws_url="ws://127.0.0.1:9/x", retries=2, backoff=lambda n: 0.0, open_timeout=1.0
    )
    with pytest.raises(FeedDisconnected, match="after 2 reconnect attempts"):
        await ws.connect()
    assert ws.state.status == "failed" and isinstance(ws.failure, FeedDisconnected)
    await ws.disconnect()


async def test_outage_reported_after_first_failures_then_once_a_minute(
    fake: FakeFyersServer,
) -> None:
    clock = VirtualClock(time.time_ns())
    delays = ExponentialBackoff(base=1, factor=2, cap=30, jitter=0)

    def backoff(n: int) -> float:  # simulated time passes; the test never waits for it
        clock.advance(int(delays(n) * 1e9))
        return 0.0

    ws = manager(fake, backoff=backoff, clock=clock)
    reports: list[tuple[int, int, str]] = []  # (simulated ns, attempt, message)
    ws.on_error.append(lambda exc: reports.append((clock.now_ns(), ws.state.attempt, str(exc))))
    lost: list[int] = []  # simulated time the outage began
    ws.on_state.append(lambda st: lost.append(clock.now_ns()) if st.attempt == 1 else None)
    await ws.connect()
    await fake.stop()
    await until(lambda: ws.state.attempt >= 60)  # about 28 minutes of simulated outage
    await ws.disconnect()
    t0 = lost[0]
    first_at, first_attempt, first_text = reports[0]
    assert first_attempt == REPORT_AFTER  # not on the first lost connection
    assert first_at - t0 == 3_000_000_000  # after the 1 s and 2 s delays
    assert "down for 3 s" in first_text and "still reconnecting" in first_text
    assert "cannot connect" in first_text
    times = [t for t, _, _ in reports]
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(times)]
    assert gaps and all(60 <= g <= 90 for g in gaps)  # rate-limited, yet never silent
    span = (times[-1] - t0) / 1e9
    assert len(reports) <= 1 + span // 60
    assert len(reports) >= 20


async def test_reconnect_skips_the_backoff_delay(fake: FakeFyersServer) -> None:
    ws = manager(fake, backoff=lambda n: 3600.0)
    await ws.connect()
    await fake.stop()
    await until(lambda: ws.state.status == "reconnecting")
    back = await restart(fake)
    try:
        await ws.reconnect(timeout=10)  # an hour's delay would time this out
        assert ws.connected
    finally:
        await ws.disconnect()
        await back.stop()


async def test_reconnect_times_out_naming_the_state(fake: FakeFyersServer) -> None:
    ws = manager(fake, backoff=lambda n: 3600.0)
    await ws.connect()
    await fake.stop()
    await until(lambda: ws.state.status == "reconnecting")
    with pytest.raises(FeedDisconnected, match=r"not live after 0\.05 s \(state reconnecting"):
        await ws.reconnect(timeout=0.05)
    assert ws.state.status == "reconnecting"  # still trying in the background
    await ws.disconnect()


async def test_refused_token_is_still_terminal(fake: FakeFyersServer) -> None:
    ws = manager(fake)
    await ws.connect()
    states: list[FeedState] = []
    ws.on_state.append(states.append)
    await fake.expire_token()
    await until(lambda: ws.state.status == "failed")
    assert isinstance(ws.failure, AuthError)
    assert "refused the access token" in (ws.state.reason or "")
    n = len(fake.connections)
    with pytest.raises(AuthError, match="refused"):
        await ws.reconnect(timeout=10)  # refused again, once: no retry storm
    assert len(fake.connections) == n + 1
    fake.reject_token = False
    await ws.reconnect(timeout=10)
    assert ws.connected
    await ws.disconnect()


# ---- oversize frames ------------------------------------------------------------------------


async def test_a_frame_larger_than_the_protocol_allows_is_refused_unread(
    fake: FakeFyersServer,
) -> None:
    assert MAX_FRAME_SIZE == 65_537
    ws = manager(fake)
    await ws.connect()
    await ws.subscribe([SBIN])
    await until(lambda: ws.stats.ticks >= 1)
    largest = b"\xff\xff\x06" + b"\xff" * (MAX_FRAME_SIZE - 3)  # a datafeed frame, malformed
    await fake.send_frames([largest])  # the largest size allowed: read, decoded, refused
    await until(lambda: ws.stats.protocol_errors == 1)
    assert ws.stats.connects == 1 and ws.connected
    states: list[FeedState] = []
    ws.on_state.append(states.append)
    await fake.send_frames([largest + b"\xff"])  # one byte too many: never read
    await until(lambda: ws.stats.reconnects == 1 and ws.connected)
    assert ws.stats.protocol_errors == 1  # never decoded (it would have been malformed)
    assert states[0].status == "reconnecting"  # we closed it (1009, message too big)
    assert "over 65,537 bytes" in (states[0].reason or "")
    await until(lambda: fake.subscriptions() == [{SBIN}])
    await ws.disconnect()


# ---- the session ----------------------------------------------------------------------------


async def test_watch_on_a_failed_feed_raises_and_reconnect_brings_it_back(
    fake: FakeFyersServer,
) -> None:
    session = await fyers_session(fake)
    try:
        await session.watch([SBIN])
        await until(lambda: session.stream.tick_count(SBIN) >= 1)
        await fake.expire_token()
        await until(lambda: session.feed_state().status == "failed")  # type: ignore[union-attr]
        with pytest.raises(FeedDisconnected) as err:
            await session.watch([NIFTY])
        text = str(err.value)
        assert "fyers feed has failed" in text and "refused the access token" in text
        assert "await session.reconnect()" in text
        assert session.symbols == [SBIN]  # nothing was subscribed
        fake.reject_token = False  # logged in again
        state = await session.reconnect(timeout=10)
        assert state.status == "live"
        await until(lambda: fake.subscriptions() == [{SBIN}])
        await session.watch([NIFTY])
        await until(lambda: session.stream.tick_count(NIFTY) >= 1)
    finally:
        await session.close()


async def test_reconnect_rereads_the_token_after_a_refusal(
    fake: FakeFyersServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FYERS_ACCESS_TOKEN", fake.access_token)
    monkeypatch.setenv("FYERS_WS_URL", fake.ws_url)
    monkeypatch.setenv("FYERS_REST_URL", fake.rest_url)
    session = await lt.open_session(feed="fyers", journal=False, name=f"reread-{next(_names)}")
    try:
        assert session.fyers_feed is not None
        session.fyers_feed.manager.backoff = lambda n: 0.0
        await fake.expire_token()
        await until(lambda: session.feed_state().status == "failed")  # type: ignore[union-attr]
        fake.reject_token = False
        expired = mint_fake_token(fake.hsm_key, int(time.time()) - 60, app_id=fake.app_id)
        monkeypatch.setenv("FYERS_ACCESS_TOKEN", expired)  # what the token file now holds
        with pytest.raises(AuthError, match="expired"):
            await session.reconnect(timeout=10)  # it was read again, not the old one reused
        monkeypatch.setenv("FYERS_ACCESS_TOKEN", fake.access_token)  # a fresh login
        assert (await session.reconnect(timeout=10)).status == "live"
    finally:
        await session.close()


async def test_watch_while_reconnecting_subscribes_and_warns(
    fake: FakeFyersServer, caplog: pytest.LogCaptureFixture
) -> None:
    session = await fyers_session(fake)
    try:
        assert session.fyers_feed is not None
        session.fyers_feed.manager.backoff = lambda n: 3600.0  # stays down until told
        await session.watch([SBIN])
        await until(lambda: fake.subscriptions() == [{SBIN}])
        await fake.drop_connections()  # the data socket is lost; the REST API still answers
        await until(lambda: session.feed_state().status == "reconnecting")  # type: ignore[union-attr]
        with caplog.at_level(logging.WARNING, logger="livetrade.session"):
            await session.watch([NIFTY])
        assert session.symbols == [SBIN, NIFTY]
        assert any(
            "reconnecting" in r.getMessage() and NIFTY in r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING
        )
        assert (await session.reconnect(timeout=10)).status == "live"
        await until(lambda: fake.subscriptions() == [{SBIN, NIFTY}])  # sent on reconnect
    finally:
        await session.close()


async def test_orders_refused_once_the_feed_has_been_down_too_long(
    fake: FakeFyersServer,
) -> None:
    session = await fyers_session(fake, limits=RiskLimits(max_feed_down_s=5.0))
    back: FakeFyersServer | None = None
    try:
        await session.watch([SBIN])
        await until(lambda: session.stream.tick_count(SBIN) >= 1)
        clock = VirtualClock(time.time_ns())  # the engine's clock: the test moves it
        session.engine.clock = clock
        assert (await session.buy(SBIN, 1)).filled_quantity == 1
        await fake.stop()
        await until(lambda: session.engine.feed_down_since_ns is not None)
        clock.advance(4_000_000_000)
        assert (await session.buy(SBIN, 1)).filled_quantity == 1  # 4 s down: still trading
        clock.advance(2_000_000_000)
        with pytest.raises(OrderRejected) as err:
            await session.buy(SBIN, 1)
        assert err.value.code == "STALE_QUOTE"
        assert "down for 6 s" in err.value.reason and "reconnecting" in err.value.reason
        assert "limit 5 s" in err.value.reason
        back = await restart(fake)
        await until(lambda: session.feed_state().status == "live")  # type: ignore[union-attr]
        assert session.engine.feed_down_since_ns is None
        assert (await session.buy(SBIN, 1)).filled_quantity == 1  # live again: accepted
        assert [p.quantity for p in session.engine.positions()] == [3]
    finally:
        await session.close()
        if back is not None:
            await back.stop()


async def test_a_simulated_market_never_goes_down() -> None:
    session = await lt.open_session(
        feed="sim", seed=1, realtime=False, journal=False, name=f"sim-{next(_names)}"
    )
    try:
        await session.run_for(ticks=1)
        assert session.engine.feed_down_since_ns is None
        await session.run_for(seconds=600)  # ten quiet minutes of market time
        order = await session.buy(SBIN, 1)
        assert order.filled_quantity == 1 and order.executed_price is not None
        assert isinstance(order.executed_price, Decimal)
    finally:
        await session.close()
