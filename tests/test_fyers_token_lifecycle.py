"""The Fyers token's day (issue #20, token lifecycle): the session knows when its access
token expires, warns ``token_warning`` before (on its own clock), halts live orders with a
sentence once it is dead, and ``relogin()`` / ``reload_token()`` bring REST, the order socket
and the data socket back on a new token without losing orders or positions.

Two rigs: the fake trading API in process (``httpx.MockTransport``) on the session's virtual
clock, where expiry is reached by running the market; and the fake server over loopback
sockets (wall clock), where the sockets really reconnect. No test sleeps.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from conftest import until
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

import livetrade as lt
from livetrade.errors import AuthError, OrderRejected
from livetrade.fyers.broker import FyersRestClient, RateLimiter
from livetrade.fyers.credentials import TokenExpired, TokenExpiring, TokenWatch
from livetrade.fyers.symbols import mint_fake_token
from livetrade.model import IST, OrderStatus, datetime_to_ns
from livetrade.money import from_paise
from livetrade.session import DEFAULT_START, Session
from livetrade.testing.fake_fyers import FakeFyersServer
from livetrade.testing.fake_rest import FakeFyersRest, mock_transport

SBIN = "NSE:SBIN-EQ"
MOCK_URL = "http://127.0.0.1:9/api/v3"  # never connected: the MockTransport answers
WAIT = 15.0


# ================================================================ the sans-I/O watch


def test_token_watch_warns_once_then_expires_once() -> None:
    exp = DEFAULT_START + timedelta(hours=1)
    watch = TokenWatch(exp, "ABCDEFGHIJ-100")
    t0 = exp.timestamp() - 3600
    assert watch.due_in(t0) == 1800 and watch.check(t0) is None
    warn = watch.check(t0 + 1800)
    assert isinstance(warn, TokenExpiring) and warn.expires_at == exp
    assert "expires at 2025-06-02 10:15 IST, in 30 min" in str(warn)
    assert "session.relogin" in str(warn) and "reload_token" in str(warn)
    assert watch.check(t0 + 1801) is None and watch.due_in(t0 + 1801) == 1799
    dead = watch.check(exp.timestamp())
    assert isinstance(dead, TokenExpired) and isinstance(dead, AuthError)
    assert "expired at 2025-06-02 10:15 IST" in str(dead) and "halted" in str(dead)
    assert watch.check(exp.timestamp() + 5) is None and watch.due_in(0) == float("inf")
    late = TokenWatch(exp)  # opened after the expiry: no warning first, just the expiry
    assert isinstance(late.check(exp.timestamp() + 1, timedelta(minutes=5)), TokenExpired)


# ================================================================ virtual clock, fake REST


class Rig:
    """A live session on the simulated market's virtual clock and the fake trading API on
    the same clock, so the token's ``exp`` is reached by running the market."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.session: Session | None = None
        self.fake = FakeFyersRest(prices=self.price, clock=self.now, funds=Decimal("500000"))
        self.limiter_now = 0.0

    @property
    def s(self) -> Session:
        assert self.session is not None
        return self.session

    def now(self) -> float:
        session = lt.get_session(self.name)
        ns = session.clock.now_ns() if session is not None else datetime_to_ns(DEFAULT_START)
        return ns / 1e9

    def price(self, symbol: str) -> Decimal | None:
        session = lt.get_session(self.name)
        last = session.stream.last_paise(symbol) if session is not None else None
        return None if last is None else from_paise(last)

    async def _sleep(self, seconds: float) -> None:
        self.limiter_now += max(seconds, 0.0)
        await asyncio.sleep(0)

    async def open(self, ttl: int) -> Session:
        jwt = self.fake.new_token(ttl=ttl)
        client = FyersRestClient(
            f"{self.fake.app_id}:{jwt}",
            base_url=MOCK_URL,
            transport=mock_transport(self.fake),
            now=self.now,
            limiter=RateLimiter(clock=lambda: self.limiter_now, sleep=self._sleep),
            sleep=self._sleep,
        )
        self.session = await lt.open_session(
            feed="sim",
            broker="fyers",
            live=True,
            seed=1,
            realtime=False,
            name=self.name,
            fyers_client=client,
            poll_interval=None,
            journal=False,
        )
        await self.session.run_for(ticks=2)
        await self.session.arm_live(confirm="LIVE")
        return self.session


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    r = Rig(f"token-{request.node.name}"[:60])
    yield r
    if r.session is not None:
        await r.session.close()


async def test_warning_before_expiry_halt_at_expiry_relogin_resumes(rig: Rig) -> None:
    s = await rig.open(ttl=45 * 60)
    errors: list[BaseException] = []
    feed: list[object] = []
    s.error_event += errors.append
    s.feed_event += feed.append
    assert s.token_expires_at == DEFAULT_START + timedelta(minutes=45)
    await s.run_for(seconds=14 * 60)  # 31 min left: quiet
    assert not any(isinstance(e, TokenExpiring) for e in errors)
    await s.run_for(seconds=2 * 60)
    (warning,) = [e for e in errors if isinstance(e, TokenExpiring)]
    assert warning in feed and "in 30 min" in str(warning) and s.token_notice is warning
    bought = await s.buy(SBIN, 2)
    assert bought.status is OrderStatus.FILLED

    await s.run_for(seconds=30 * 60)  # past the expiry, on the session's clock
    assert s.engine.kill_switch is lt.KillSwitch.HALTED
    assert [e for e in errors if isinstance(e, TokenExpiring)] == [warning]  # warned once
    assert any(isinstance(e, TokenExpired) for e in errors)
    with pytest.raises(OrderRejected) as refused:
        await s.buy(SBIN, 1)
    assert refused.value.code == "TOKEN_EXPIRED" and refused.value.field == "token"
    assert "session.relogin(access_token=...)" in refused.value.reason
    # the dashboard's ticket and the REST API reach the engine another way: same answer
    with pytest.raises(OrderRejected) as direct:
        s.engine.submit(SBIN, "BUY", 1)
    assert direct.value.code == "TOKEN_EXPIRED"
    from livetrade.api import create_app

    transport = httpx.ASGITransport(app=create_app(s))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        r = await client.post("/api/live-trading/buy", json={"symbol": SBIN, "quantity": 1})
    assert r.status_code >= 400 and r.json()["code"] == "TOKEN_EXPIRED", r.text

    fresh = rig.fake.new_token()  # a bare JWT: the client keeps its app id
    expires = await s.relogin(access_token=fresh)
    assert expires == s.token_expires_at and expires > s.now + timedelta(hours=23)
    assert s.engine.kill_switch is lt.KillSwitch.ACTIVE
    assert s.mode == "LIVE" and feed[-1] == "LIVE" and s.token_notice is None
    again = await s.buy(SBIN, 1)
    assert again.status is OrderStatus.FILLED
    assert s.engine.positions()[0].quantity == 3 and len(s.engine.orders) == 2
    assert (await s.reconcile()).ok
    assert fresh not in repr(s.router) and fresh not in " ".join(map(str, errors))


async def test_relogin_never_lifts_a_halt_the_token_did_not_cause(rig: Rig) -> None:
    s = await rig.open(ttl=10 * 60)
    s.kill_switch("HALTED")  # the user's
    await s.run_for(seconds=11 * 60)
    with pytest.raises(OrderRejected) as refused:
        await s.buy(SBIN, 1)
    assert refused.value.code == "KILL_SWITCH"  # the user's halt speaks, not the token's
    await s.relogin(access_token=rig.fake.new_token(ttl=10 * 60))
    assert s.engine.kill_switch is lt.KillSwitch.HALTED

    s.kill_switch("ACTIVE")
    await s.run_for(seconds=11 * 60)  # the second token dies: the token halts trading
    assert s.router is not None and s.router.token_halt is lt.KillSwitch.ACTIVE
    await s.kill()  # then the user halts too: the halt is now theirs
    await s.relogin(access_token=rig.fake.new_token())
    assert s.engine.kill_switch is lt.KillSwitch.HALTED


async def test_a_refused_or_dead_new_token_changes_nothing(rig: Rig) -> None:
    s = await rig.open(ttl=5 * 60)
    await s.run_for(seconds=6 * 60)
    assert s.engine.kill_switch is lt.KillSwitch.HALTED
    assert s.router is not None
    before = s.router.client.token
    stranger = mint_fake_token("x" * 56, int(rig.now()) + 3600, app_id=rig.fake.app_id)
    with pytest.raises(AuthError, match="refused the access token"):
        await s.relogin(access_token=stranger)
    dead = rig.fake.new_token(ttl=-5)
    with pytest.raises(AuthError, match="already expired"):
        await s.relogin(access_token=dead)
    with pytest.raises(AuthError, match="is for app"):
        await s.relogin(access_token=mint_fake_token("k", int(rig.now()) + 60, app_id="ZYX"))
    assert s.router.client.token is before
    assert s.engine.kill_switch is lt.KillSwitch.HALTED


async def test_reload_token_reads_the_token_file_not_a_stale_env(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await rig.open(ttl=5 * 60)
    await s.run_for(seconds=6 * 60)
    stale = mint_fake_token("y" * 56, 1, app_id=rig.fake.app_id)
    monkeypatch.setenv("FYERS_ACCESS_TOKEN", stale)  # an old shell's token: ignored
    path = tmp_path / "fyers_token"
    path.write_text(f"{rig.fake.app_id}:{rig.fake.new_token()}\n", encoding="utf-8")
    os.chmod(path, 0o600)
    monkeypatch.setenv("FYERS_TOKEN_FILE", str(path))
    await s.reload_token()
    assert s.engine.kill_switch is lt.KillSwitch.ACTIVE
    assert (await s.buy(SBIN, 1)).status is OrderStatus.FILLED


# ================================================================ loopback sockets, wall clock


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    server = FakeFyersServer(seed=5, tick_interval=None, token_ttl=20 * 60)
    await server.start()
    yield server
    await server.stop()


async def open_live(fake: FakeFyersServer, name: str) -> tuple[Session, list[BaseException]]:
    errors: list[BaseException] = []
    session = await lt.open_session(
        feed="fyers",
        broker="fyers",
        live=True,
        fyers=fake.config,
        name=name,
        journal=False,
        poll_interval=None,  # the order socket alone must bring every update
        square_off=None,
    )
    session.error_event += errors.append
    assert session.fyers_feed is not None
    session.fyers_feed.manager.backoff = lambda n: 0.0
    await session.watch([SBIN])
    await fake.push_quote(SBIN, 80_000)
    await until(lambda: session.stream.last_paise(SBIN) == 80_000, what="the first quote")
    assert session.order_socket is not None
    await session.order_socket.wait_connected(WAIT)
    await session.arm_live(confirm="LIVE")
    return session, errors


def order_socket_header(fake: FakeFyersServer) -> str:
    (conn,) = fake.live_order_connections
    assert conn.ws.request is not None
    return conn.ws.request.headers["authorization"]


async def test_relogin_ahead_of_expiry_moves_both_sockets_to_the_new_token(
    fake: FakeFyersServer,
) -> None:
    s, _ = await open_live(fake, "token-ahead")
    try:
        # 20 minutes left at open: the wall-clock watcher warns without waiting for a tick
        await until(lambda: isinstance(s.token_notice, TokenExpiring), what="the warning")
        assert "in 20 min" in str(s.token_notice)
        assert s.token_expires_at is not None
        assert s.token_expires_at.tzinfo is IST
        order = await s.buy(SBIN, 3)
        await until(lambda: order.status is OrderStatus.FILLED, what="the fill")
        data_before, order_before = len(fake.connections), s.order_socket.connects  # type: ignore[union-attr]
        new = fake.renew_token(ttl=86_400)  # the old token dies at Fyers with this login
        await s.relogin(access_token=new)
        assert s.feed_state().status == "live"  # type: ignore[union-attr]
        assert len(fake.connections) == data_before + 1
        assert fake.connections[-1].authenticated is True  # only the new hsm_key passes
        await until(lambda: len(fake.live_order_connections) == 1, what="the order socket")
        assert s.order_socket is not None and s.order_socket.connects == order_before + 1
        assert order_socket_header(fake) == new
        await until(lambda: fake.subscriptions()[-1:] == [{SBIN}], what="the resubscription")
        second = await s.buy(SBIN, 2)
        await until(lambda: second.status is OrderStatus.FILLED, what="the fill on the socket")
        assert s.engine.positions()[0].quantity == 5 and s.engine.kill_switch.value == "ACTIVE"
        await fake.push_quote(SBIN, 80_100)
        await until(lambda: s.stream.last_paise(SBIN) == 80_100, what="a quote on the new token")
    finally:
        await s.close()


async def test_a_dead_token_halts_and_relogin_brings_everything_back(
    fake: FakeFyersServer,
) -> None:
    s, errors = await open_live(fake, "token-dead")
    try:
        first = await s.buy(SBIN, 3)
        await until(lambda: first.status is OrderStatus.FILLED, what="the fill")
        working = await s.buy(SBIN, 1, order_type="LIMIT", limit_price=Decimal("700.00"))
        await fake.expire_token()  # refused everywhere; the data connections drop
        await fake.drop_order_sockets()
        await until(lambda: s.engine.kill_switch is lt.KillSwitch.HALTED, what="the halt")
        await until(lambda: s.feed_state().status == "failed", what="the feed")  # type: ignore[union-attr]
        assert s.order_socket is not None and s.order_socket.state == "failed"
        assert any(isinstance(e, AuthError) for e in errors)
        with pytest.raises(OrderRejected) as refused:
            await s.buy(SBIN, 1)
        assert refused.value.code == "TOKEN_EXPIRED"

        await s.relogin(access_token=fake.renew_token(ttl=86_400))
        assert s.engine.kill_switch is lt.KillSwitch.ACTIVE
        assert s.feed_state().status == "live"  # type: ignore[union-attr]
        await s.order_socket.wait_connected(WAIT)
        assert s.order_socket.state == "connected"
        assert working.is_open and working.broker_order_id is not None  # nothing lost
        await until(lambda: fake.subscriptions()[-1:] == [{SBIN}], what="the resubscription")
        await fake.push_quote(SBIN, 69_990)  # the resting order fills: the socket says so
        await until(lambda: working.status is OrderStatus.FILLED, what="the fill over the socket")
        assert s.engine.positions()[0].quantity == 4
        assert (await s.reconcile()).ok
    finally:
        await s.close()
