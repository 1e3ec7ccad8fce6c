"""FyersWebSocketManager, credentials and the REST client, against the local fake server.

Deterministic and bounded: waits poll a condition with a timeout, reconnect delays are injected
(``backoff=lambda n: 0``), the watchdog runs with a tiny ``stall_timeout``, and everything stays
on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from conftest import until

from livetrade.errors import AuthError, FeedDisconnected, InvalidInput, LiveTradeError
from livetrade.fyers.codec import Tick, TopicInfo
from livetrade.fyers.credentials import (
    DEFAULT_REST_URL,
    DEFAULT_WS_URL,
    FyersConfig,
    load_access_token,
)
from livetrade.fyers.rest import FyersApiError, SymbolTokenClient
from livetrade.fyers.stream import (
    ExponentialBackoff,
    FeedState,
    FyersWebSocketManager,
    TickConverter,
    nse_market_open,
)
from livetrade.fyers.symbols import mint_fake_token
from livetrade.model import IST, PriceQuote
from livetrade.testing.fake_fyers import GARBAGE_FRAMES, FakeFyersServer

SBIN, NIFTY, INFY = "NSE:SBIN-EQ", "NSE:NIFTY50-INDEX", "NSE:INFY-EQ"
FAST = {"backoff": lambda n: 0.0, "stall_hours": None, "auth_timeout": 2.0}


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=1, tick_interval=0.005) as server:
        yield server


def manager(fake: FakeFyersServer, **kw: object) -> FyersWebSocketManager:
    opts: dict[str, object] = {**FAST, **kw}
    cfg = fake.config
    return FyersWebSocketManager(
        cfg.access_token,
        ws_url=cfg.ws_url,
        rest_url=cfg.rest_url,
        **opts,  # type: ignore[arg-type]
    )


# ---- credentials ---------------------------------------------------------------------------

TOKEN = mint_fake_token("k" * 56, 4_102_444_800, app_id="ABCDEFGHIJ-100")


def test_config_defaults_and_repr_hide_the_token() -> None:
    cfg = FyersConfig(TOKEN)
    assert cfg.ws_url == DEFAULT_WS_URL == "wss://socket.fyers.in/hsm/v1-5/prod"
    assert cfg.rest_url == DEFAULT_REST_URL == "https://api-t1.fyers.in/data"
    assert cfg.app_id == "ABCDEFGHIJ-100"
    jwt = TOKEN.split(":", 1)[1]
    for text in (repr(cfg), str(cfg), f"{cfg}", repr([cfg])):
        assert jwt not in text and "k" * 56 not in text and "<hidden>" in text
    assert cfg.expires == datetime(2100, 1, 1, 5, 30, tzinfo=IST)
    with pytest.raises(InvalidInput):
        FyersConfig(TOKEN, ws_url="https://x")
    with pytest.raises(AuthError):
        FyersConfig("  ")


def test_token_from_argument_env_and_file(tmp_path: Path) -> None:
    assert load_access_token(f" {TOKEN}\n", env={}) == TOKEN
    assert load_access_token(env={"FYERS_ACCESS_TOKEN": TOKEN}) == TOKEN
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    assert load_access_token(env={"FYERS_TOKEN_FILE": str(path)}) == TOKEN
    assert load_access_token(token_file=path, env={}) == TOKEN
    cfg = FyersConfig.load(
        env={"FYERS_TOKEN_FILE": str(path), "FYERS_WS_URL": "ws://127.0.0.1:1/x"}
    )
    assert cfg.access_token == TOKEN and cfg.ws_url == "ws://127.0.0.1:1/x"
    assert cfg.rest_url == DEFAULT_REST_URL
    # the argument wins over the environment, the environment over the file
    other = mint_fake_token("z" * 56, 4_102_444_800)
    env = {"FYERS_ACCESS_TOKEN": other, "FYERS_TOKEN_FILE": str(path)}
    assert load_access_token(TOKEN, env=env) == TOKEN
    assert load_access_token(env=env) == other


def test_token_file_must_be_private_and_errors_never_show_the_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o644)
    with pytest.raises(AuthError, match="chmod 600") as err:
        load_access_token(token_file=path, env={})
    assert TOKEN not in str(err.value)
    path.chmod(0o600)
    path.write_text("   \n")
    with pytest.raises(AuthError, match="empty"):
        load_access_token(token_file=path, env={})
    with pytest.raises(AuthError, match="does not exist"):
        load_access_token(token_file=tmp_path / "missing", env={})
    with pytest.raises(AuthError, match="no Fyers access token"):
        load_access_token(env={"HOME": str(tmp_path)} if os.name != "nt" else {})
    bad = "ABCDEFGHIJ-100:not.a.jwt-secret-part"
    cfg = FyersConfig(bad)
    with pytest.raises(AuthError) as err2:
        _ = cfg.claims
    assert "secret-part" not in str(err2.value)


# ---- small parts ---------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered() -> None:
    exact = ExponentialBackoff(base=0.5, factor=2, cap=4, jitter=0)
    assert [exact(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]
    jittered = ExponentialBackoff(base=1, factor=2, cap=30, jitter=0.5, rng=random.Random(1))
    delays = [jittered(3) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays) and len(set(delays)) > 100
    with pytest.raises(InvalidInput):
        ExponentialBackoff(factor=0.5)


def test_market_hours() -> None:
    def ns(y: int, mo: int, d: int, h: int, mi: int) -> int:
        return int(datetime(y, mo, d, h, mi, tzinfo=IST).timestamp()) * 1_000_000_000

    assert nse_market_open(ns(2025, 6, 2, 9, 15))
    assert nse_market_open(ns(2025, 6, 2, 15, 29))
    assert not nse_market_open(ns(2025, 6, 2, 15, 30))
    assert not nse_market_open(ns(2025, 6, 2, 9, 14))
    assert not nse_market_open(ns(2025, 6, 7, 11, 0))  # Saturday


def _tick(kind: str, values: tuple[int | None, ...], precision: int = 2, mult: int = 1) -> Tick:
    info = TopicInfo(1, f"{kind}|nse_cm|1", kind, mult, precision, "NSE", "1", "X")
    return Tick(info, values, 1, 83, "NSE:X-EQ")


def test_tick_converter() -> None:
    conv = TickConverter()
    sf: list[int | None] = [None] * 21
    sf[0], sf[1], sf[6], sf[7] = 80050, 1234, 80045, 80055
    assert conv(_tick("sf", tuple(sf))) == (80045, 80055, 80050, 1234)
    sf[6] = None  # no bid yet: the LTP stands in
    sf[7] = 0
    assert conv(_tick("sf", tuple(sf))) == (80050, 80050, 80050, 1234)
    assert conv(_tick("if", (2400000, 2390000, 1, 2, 3, 4))) == (2400000, 2400000, 2400000, 0)
    assert conv(_tick("sf", (None,) * 21)) is None  # no LTP
    assert conv(_tick("dp", (1,) * 30)) is None  # depth is not a quote
    # precision 4 (currency derivatives): exact, rounded half-up to the paisa
    cds: list[int | None] = [None] * 21
    cds[0], cds[6], cds[7] = 834_125, 834_050, 834_149
    assert conv(_tick("sf", tuple(cds), precision=4)) == (8341, 8341, 8341, 0)
    lite = TickConverter(lite=True)
    assert lite(_tick("sf", tuple(sf))) == (80050, 80050, 80050, 0)


async def test_rest_client_errors(fake: FakeFyersServer) -> None:
    client = SymbolTokenClient(fake.access_token, fake.rest_url, timeout=2)
    got = await client.lookup([SBIN, SBIN, "NSE:INFY-EQ"])  # symbols the fake knows
    assert got.valid[SBIN] == "10100000003045" and got.invalid == []
    assert fake.rest_calls == [[SBIN, "NSE:INFY-EQ"]]
    await client.aclose()
    wrong = SymbolTokenClient(mint_fake_token("x" * 56, 4_102_444_800), fake.rest_url)
    with pytest.raises(AuthError, match="HTTP 401, code -16"):
        await wrong.lookup([SBIN])
    await wrong.aclose()
    missing = SymbolTokenClient(fake.access_token, fake.rest_url + "/nope")
    with pytest.raises(FyersApiError, match="HTTP 404"):
        await missing.lookup([SBIN])
    await missing.aclose()
    fake.delay = 0.2
    slow = SymbolTokenClient(fake.access_token, fake.rest_url, timeout=0.05)
    with pytest.raises(FyersApiError, match="timed out"):
        await slow.lookup([SBIN])
    await slow.aclose()


async def test_rest_client_splits_500() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        symbols = json.loads(request.content)["symbols"]
        calls.append(len(symbols))
        assert request.headers["Authorization"] == TOKEN.split(":", 1)[1]  # bare JWT (1.8)
        return httpx.Response(200, json={"s": "ok", "validSymbol": {}, "invalidSymbol": symbols})

    client = SymbolTokenClient(TOKEN, "https://x/data", transport=httpx.MockTransport(handler))
    got = await client.lookup([f"NSE:S{i}-EQ" for i in range(1201)])
    assert calls == [500, 500, 201] and len(got.invalid) == 1201
    await client.aclose()


# ---- the manager ---------------------------------------------------------------------------


async def test_original_api_callbacks(fake: FakeFyersServer) -> None:
    ws = FyersWebSocketManager(
        fake.config.access_token, ws_url=fake.config.ws_url, rest_url=fake.config.rest_url
    )
    assert ws.state == FeedState("closed", 0, "not started")
    await ws.connect()
    assert ws.connected and ws.state.status == "live"
    own: list[PriceQuote] = []
    every: list[PriceQuote] = []
    later: list[PriceQuote] = []

    async def async_cb(q: PriceQuote) -> None:
        later.append(q)

    ws.register_callback(every.append)
    await ws.subscribe_to_symbol(SBIN, own.append)
    await ws.subscribe_to_symbol(NIFTY, async_cb)
    await until(lambda: len(own) > 3 and len(later) > 3)
    q = own[-1]
    assert q.symbol == SBIN and isinstance(q.last_price, Decimal)
    assert q.bid_price <= q.ask_price and q.volume > 0
    assert q.timestamp.tzinfo is not None
    assert {x.symbol for x in every} == {SBIN, NIFTY}
    assert later[-1].bid_price == later[-1].ask_price == later[-1].last_price  # an index
    await ws.unsubscribe_from_symbol(SBIN)
    assert ws.symbols == [NIFTY]
    await until(lambda: fake.subscriptions() == [{NIFTY}])
    n = len(own)
    seen = len(later)
    await until(lambda: len(later) > seen + 3)
    assert len(own) == n  # nothing more for the unsubscribed symbol
    stream_task = asyncio.create_task(ws.start_price_stream())
    await asyncio.sleep(0)
    assert not stream_task.done()
    await ws.disconnect()
    await asyncio.wait_for(stream_task, 5)  # returns (no error) after disconnect
    final = ws.state
    assert final.status == "closed"


async def test_subscribe_before_connect_and_no_lingering_tasks(fake: FakeFyersServer) -> None:
    before = set(asyncio.all_tasks())
    ws = manager(fake, ping_interval=0.01, stall_timeout=5.0)
    await ws.subscribe([SBIN, INFY])  # symbol-token now, subscribe frame at connect
    assert fake.live_connections == []
    await ws.connect()
    await until(lambda: fake.subscriptions() == [{SBIN, INFY}])
    await until(lambda: fake.live_connections[0].pings >= 2)  # the keep-alive timer
    assert ws.stats.subscribe_frames == 1
    await ws.disconnect()
    await until(lambda: set(asyncio.all_tasks()) - before <= {asyncio.current_task()})


async def test_more_than_5000_symbols_fails_before_anything_is_sent(
    fake: FakeFyersServer,
) -> None:
    ws = manager(fake)
    await ws.connect()
    await ws.subscribe([SBIN])
    await until(lambda: fake.subscriptions() == [{SBIN}])
    many = [f"NSE:S{i}-EQ" for i in range(5000)]
    with pytest.raises(InvalidInput, match="5001 symbols requested"):
        await ws.subscribe(many)
    assert fake.rest_calls == [[SBIN]]  # no lookup for the oversized request
    assert fake.live_connections[0].log == [("sub", ("sf|nse_cm|3045",))]
    assert ws.symbols == [SBIN]
    await ws.disconnect()


async def test_unknown_symbol_subscribes_nothing(fake: FakeFyersServer) -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, invalid_symbols=["NSE:NOPE-EQ"]) as f:
        ws = manager(f)
        await ws.connect()
        with pytest.raises(InvalidInput, match=r"NSE:NOPE-EQ \(unknown to Fyers\)"):
            await ws.subscribe([SBIN, "NSE:NOPE-EQ"])
        with pytest.raises(InvalidInput, match="exchange prefix"):
            await ws.subscribe(["SBIN"])
        assert ws.symbols == []
        assert f.live_connections[0].log == []
        await ws.disconnect()


async def test_expired_token_fails_before_connecting(fake: FakeFyersServer) -> None:
    expired = mint_fake_token(fake.hsm_key, int(time.time()) - 60, app_id="ABCDEFGHIJ-100")
    ws = FyersWebSocketManager(expired, ws_url=fake.ws_url, rest_url=fake.rest_url)
    states: list[FeedState] = []
    ws.on_state.append(states.append)
    with pytest.raises(AuthError, match="expired") as err:
        await ws.connect()
    assert expired.split(":", 1)[1] not in str(err.value)
    assert fake.connections == [] and fake.rest_calls == []
    assert [s.status for s in states] == ["failed"]


async def test_malformed_token_is_an_auth_error(fake: FakeFyersServer) -> None:
    ws = FyersWebSocketManager("ABCDEFGHIJ-100:abc.def", ws_url=fake.ws_url)
    with pytest.raises(AuthError, match="not valid") as err:
        await ws.connect()
    assert "abc.def" not in str(err.value)
    assert fake.connections == []


async def test_refused_token_no_retry_storm(fake: FakeFyersServer) -> None:
    fake.reject_token = True
    ws = manager(fake, retries=5)
    errors: list[BaseException] = []
    ws.on_error.append(errors.append)
    with pytest.raises(AuthError, match="refused the access token"):
        await ws.connect()
    assert len(fake.connections) == 1  # one attempt, no reconnect loop
    assert ws.state.status == "failed" and "refused" in (ws.state.reason or "")
    assert len(errors) == 1 and isinstance(errors[0], AuthError)
    with pytest.raises(AuthError):
        await ws.start_price_stream()  # a second try meets the same refusal, once
    assert len(fake.connections) == 2
    await ws.disconnect()


async def test_silent_server_exhausts_retries(fake: FakeFyersServer) -> None:
    fake.stall(new_connections=True)  # upgrades fine, never answers auth
    ws = manager(fake, retries=2, auth_timeout=0.05)
    states: list[FeedState] = []
    ws.on_state.append(states.append)
    with pytest.raises(FeedDisconnected, match=r"after 2 reconnect attempts.*no auth reply"):
        await ws.connect()
    assert len(fake.connections) == 3  # first try + 2 retries
    assert [(s.status, s.attempt) for s in states] == [
        ("connecting", 0),
        ("reconnecting", 1),
        ("reconnecting", 2),
        ("failed", 2),
    ]
    await ws.disconnect()


async def test_unreachable_server_exhausts_retries() -> None:
    delays: list[int] = []

    def backoff(n: int) -> float:
        delays.append(n)
        return 0.0

    token = mint_fake_token("k" * 56, 4_102_444_800)
    ws = FyersWebSocketManager(
        token, ws_url="ws://127.0.0.1:9/x", rest_url="http://127.0.0.1:9/data", retries=3,
        backoff=backoff, open_timeout=1.0,
    )  # fmt: skip
    with pytest.raises(FeedDisconnected, match="cannot connect"):
        await ws.connect()
    assert delays == [1, 2, 3]
    await ws.disconnect()


async def test_garbage_is_counted_and_the_stream_continues(fake: FakeFyersServer) -> None:
    ws = manager(fake)
    errors: list[BaseException] = []
    ws.on_error.append(errors.append)
    quotes: list[PriceQuote] = []
    await ws.connect()
    await ws.subscribe_to_symbol(SBIN, quotes.append)
    await until(lambda: len(quotes) > 2)
    await fake.send_garbage()
    await until(lambda: ws.stats.protocol_errors == len(GARBAGE_FRAMES))
    n = len(quotes)
    await until(lambda: len(quotes) > n + 3)
    assert ws.stats.connects == 1 and ws.state.status == "live"
    assert len(errors) == len(GARBAGE_FRAMES)
    await ws.disconnect()


async def test_a_flood_of_garbage_reconnects(fake: FakeFyersServer) -> None:
    ws = manager(fake, max_bad_frames=5)
    await ws.connect()
    await ws.subscribe([SBIN])
    await fake.send_garbage(GARBAGE_FRAMES[:1] * 6)
    await until(lambda: ws.stats.reconnects == 1 and ws.connected)
    assert len(fake.connections) == 2
    await until(lambda: fake.subscriptions() == [{SBIN}])
    await ws.disconnect()


async def test_custom_message_is_reported(fake: FakeFyersServer) -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, topic_limit=1) as f:
        ws = manager(f)
        errors: list[BaseException] = []
        ws.on_error.append(errors.append)
        await ws.connect()
        await ws.subscribe([SBIN, INFY])
        await until(lambda: errors)
        assert isinstance(errors[0], LiveTradeError)
        assert "51001" in str(errors[0]) and "symbol limit" in str(errors[0])
        assert ws.stats.custom_messages == 1
        await ws.disconnect()


async def test_watchdog_only_in_market_hours(fake: FakeFyersServer) -> None:
    """Outside ``stall_hours`` silence is normal: no reconnect (the check runs every
    stall_timeout/4; we wait for several checks to have run)."""
    ws = manager(fake, stall_timeout=0.02, stall_hours=lambda ns: False)
    await ws.connect()
    await ws.subscribe([SBIN])
    await until(lambda: ws.stats.ticks > 0)
    fake.stall()
    t0 = asyncio.get_running_loop().time()
    await until(lambda: asyncio.get_running_loop().time() - t0 > 0.2)
    assert ws.stats.stalls == 0 and ws.state.status == "live"
    await ws.disconnect()


async def test_acks_follow_the_announced_count() -> None:
    async with FakeFyersServer(seed=1, tick_interval=0.002, ack_count=3) as fake:
        ws = manager(fake)
        await ws.connect()
        await ws.subscribe([SBIN])
        await until(lambda: len(fake.live_connections[0].acks) >= 3)
        acks = fake.live_connections[0].acks
        assert acks == sorted(acks) and all(b - a == 3 for a, b in itertools.pairwise(acks))
        await ws.disconnect()


async def test_logs_never_carry_credentials(
    fake: FakeFyersServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = fake.config.access_token
    jwt = token.split(":", 1)[1]
    key = fake.hsm_key
    ws = manager(fake, ping_interval=0.01)
    await ws.connect()
    await ws.subscribe([SBIN])
    await until(lambda: ws.stats.ticks > 5)
    await fake.drop_connections()
    await until(lambda: ws.stats.reconnects == 1 and ws.connected)
    await fake.expire_token()
    await until(lambda: ws.state.status == "failed")
    await ws.disconnect()
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert caplog.records  # something was logged, at DEBUG
    hexed = key.encode().hex()
    spaced = " ".join(f"{b:02x}" for b in key.encode()[:8])
    for secret in (token, jwt, key, hexed, spaced):
        assert secret not in text
    for obj in (ws, fake.config, ws._rest):
        assert jwt not in repr(obj) and key not in repr(obj)


async def test_disconnect_then_connect_again_keeps_subscriptions(fake: FakeFyersServer) -> None:
    async with manager(fake) as ws:
        await ws.subscribe([SBIN])
        await until(lambda: fake.subscriptions() == [{SBIN}])
    assert ws.state.status == "closed" and fake.live_connections == []
    ws.on_state.append(lambda state: 1 / 0)  # a failing observer never breaks the stream
    await ws.connect()
    await until(lambda: fake.subscriptions() == [{SBIN}])
    assert fake.rest_calls == [[SBIN]]  # the fytoken was kept
    await ws.disconnect()
