"""The fake Fyers server's trading REST API, over real loopback HTTP.

One :class:`FakeFyersServer` serves the data socket and ``/api/v3`` (its ``orders``, a
:class:`~livetrade.testing.fake_rest.FakeFyersRest` priced by the server's simulated market);
our :class:`FyersRestClient` talks to it through ``fake.config``. Prices move only by
``fake.step()`` / ``fake.push_quote()`` (``tick_interval=None``), the client's limiter and
settle delay run on a fake clock: nothing waits on the wall clock. An autouse guard refuses
non-loopback connections and every base URL is asserted loopback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

from livetrade.errors import AuthError, InvalidInput
from livetrade.fyers import fake as fake_module
from livetrade.fyers.auth import DEFAULT_API_URL
from livetrade.fyers.broker import (
    FyersOrderRejected,
    FyersRestClient,
    FyersStatus,
    RateLimited,
    RateLimiter,
)
from livetrade.fyers.credentials import FyersConfig
from livetrade.fyers.rest import is_loopback
from livetrade.fyers.symbols import mint_fake_token, split_access_token
from livetrade.model import OrderKind, OrderStatus, Product, Side
from livetrade.money import from_paise
from livetrade.testing.fake_fyers import FakeFyersServer, serve_forever

SBIN = "NSE:SBIN-EQ"


class FakeClock:
    """Time that moves only when the client sleeps on it (limiter pauses, settle delay)."""

    def __init__(self) -> None:
        self.now = time.monotonic()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=1, tick_interval=None) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client_for(fake: FakeFyersServer, clock: FakeClock, **kw: Any) -> FyersRestClient:
    cfg = fake.config
    assert is_loopback(cfg.api_url)
    kw.setdefault("limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    return FyersRestClient(cfg.access_token, base_url=cfg.api_url, sleep=clock.sleep, **kw)


@pytest.fixture
async def client(fake: FakeFyersServer, clock: FakeClock) -> AsyncIterator[FyersRestClient]:
    c = client_for(fake, clock)
    yield c
    await c.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A bare client for what FyersRestClient hides (status lines, headers)."""
    async with httpx.AsyncClient(trust_env=False, timeout=5) as c:
        yield c


def ltp(fake: FakeFyersServer, symbol: str = SBIN) -> Decimal:
    inst = fake.instrument(symbol)
    assert inst is not None
    return from_paise(inst.values[0])


def auth(fake: FakeFyersServer) -> dict[str, str]:
    return {"Authorization": fake.access_token}


# ---- configuration ---------------------------------------------------------------------------


async def test_config_points_at_the_trading_api(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    cfg = fake.config
    assert cfg.api_url == fake.api_url == f"http://127.0.0.1:{fake.rest_port}/api/v3"
    assert is_loopback(cfg.api_url) and is_loopback(cfg.rest_url)
    assert f"api_url={cfg.api_url!r}" in repr(cfg)
    assert split_access_token(cfg.access_token)[1] not in repr(cfg)
    profile = await client.profile()
    assert profile.fy_id == "XF00001"
    assert fake.orders.requests_to("/profile")[0].headers["authorization"] == fake.access_token


def test_fyers_config_api_url_field() -> None:
    token = mint_fake_token("k" * 56, 2_000_000_000, app_id="ABCDEFGHIJ-100")
    cfg = FyersConfig(token, "ws://127.0.0.1:1/x", "http://127.0.0.1:2/data", None, 5.0)
    assert cfg.rest_timeout == 5.0 and cfg.api_url == DEFAULT_API_URL  # positional unchanged
    assert FyersConfig.load(token, env={}).api_url == DEFAULT_API_URL
    env = {"FYERS_API_URL": "http://127.0.0.1:3/api/v3"}
    assert FyersConfig.load(token, env=env).api_url == "http://127.0.0.1:3/api/v3"
    argument = FyersConfig.load(token, env=env, api_url="http://127.0.0.1:4/api/v3")
    assert argument.api_url == "http://127.0.0.1:4/api/v3"
    for bad in ("ws://127.0.0.1/api/v3", "127.0.0.1/api/v3"):
        with pytest.raises(InvalidInput, match="api_url"):
            FyersConfig(token, api_url=bad)


# ---- orders ----------------------------------------------------------------------------------


async def test_market_order_fills_at_the_simulated_price(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    price = ltp(fake)
    ack = await client.place_order(SBIN, Side.BUY, 10, OrderKind.MARKET, Product.INTRADAY)
    order = await client.order(ack.order_id)
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.filled_quantity == 10 and order.traded_price == price
    [trade] = await client.tradebook()
    assert (trade.order_id, trade.quantity, trade.price) == (ack.order_id, 10, price)
    funds = await client.funds()
    margin = price * 10 * Decimal("0.2")  # the fake's INTRADAY margin rate
    assert funds.utilized == margin
    assert funds.available_balance == Decimal(1_000_000) - margin
    await fake.step()  # the market moves: the position is marked at the new price
    [position] = (await client.positions()).positions
    assert position.net_quantity == 10 and position.avg_price == price
    assert position.ltp == ltp(fake)
    assert position.unrealized_pnl == (ltp(fake) - price) * 10


async def test_limit_order_rests_until_a_pushed_quote_reaches_it(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    buy = await client.place_order(SBIN, "BUY", 5, "LIMIT", limit_price="795.00")
    sell = await client.place_order(SBIN, "SELL", 2, "LIMIT", limit_price="801.00")
    await fake.push_quote(SBIN, 79_550)  # not yet
    order = await client.order(buy.order_id)
    assert order is not None and order.status is OrderStatus.OPEN and order.filled_quantity == 0
    await fake.push_quote(SBIN, 79_450)  # crosses the buy: fills at the market price
    order = await client.order(buy.order_id)
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.traded_price == Decimal("794.50")
    await fake.push_quote(SBIN, 80_150)  # up through the sell's limit
    trades = await client.tradebook()
    assert [(t.order_id, t.side, t.price) for t in trades] == [
        (buy.order_id, Side.BUY, Decimal("794.50")),
        (sell.order_id, Side.SELL, Decimal("801.50")),
    ]


async def test_stop_orders_trigger_on_price_moves(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    assert ltp(fake) == Decimal("800.00")
    slm = await client.place_order(SBIN, "SELL", 3, "SL-M", trigger_price="790.00")
    sl = await client.place_order(SBIN, "BUY", 4, "SL", limit_price="812.00", trigger_price="810")
    await fake.push_quote(SBIN, 81_300)  # the SL triggers, but above its limit: rests
    [a, b] = [await client.order(i) for i in (slm.order_id, sl.order_id)]
    assert a is not None and a.status is OrderStatus.OPEN and a.kind is OrderKind.SL_M
    assert b is not None and b.status is OrderStatus.OPEN and b.kind is OrderKind.SL
    await fake.push_quote(SBIN, 81_100)  # within the SL's limit now
    b = await client.order(sl.order_id)
    assert b is not None and b.status is OrderStatus.FILLED and b.traded_price == Decimal("811")
    await fake.push_quote(SBIN, 78_950)  # through the SL-M trigger
    a = await client.order(slm.order_id)
    assert a is not None and a.status is OrderStatus.FILLED
    assert a.traded_price == Decimal("789.50")


async def test_market_steps_fill_resting_orders(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    limit = ltp(fake) - Decimal("0.05")
    ack = await client.place_order(SBIN, "BUY", 1, "LIMIT", limit_price=limit)
    held = fake.orders.orders[ack.order_id]
    for _ in range(20_000):
        await fake.step()
        if ltp(fake) <= limit:
            break
        assert held.status == FyersStatus.PENDING  # no fill while the price stays above
    assert ltp(fake) <= limit, "the random walk never came down one tick"
    order = await client.order(ack.order_id)
    assert order is not None and order.status is OrderStatus.FILLED
    assert order.traded_price == ltp(fake)


async def test_modify_and_cancel(fake: FakeFyersServer, client: FyersRestClient) -> None:
    ack = await client.place_order(SBIN, "BUY", 10, "LIMIT", limit_price="780.00")
    await client.modify_order(ack.order_id, kind="LIMIT", quantity=5, limit_price="790.00")
    order = await client.order(ack.order_id)
    assert order is not None and (order.quantity, order.limit_price) == (5, Decimal("790.00"))
    assert fake.orders.requests_to("/orders", "GET")[-1].query == {"id": ack.order_id}
    cancelled = await client.cancel_order(ack.order_id)
    assert cancelled.order_id == ack.order_id
    [delete] = fake.orders.requests_to("/orders/sync", "DELETE")
    assert delete.body == {"id": ack.order_id}  # DELETE carries a JSON body
    await fake.push_quote(SBIN, 78_000)  # far through the old limit: nothing fills
    order = await client.order(ack.order_id)
    assert order is not None and order.fyers_status is FyersStatus.CANCELLED
    assert await client.tradebook() == []
    with pytest.raises(FyersOrderRejected) as info:
        await client.cancel_order(ack.order_id)
    assert info.value.fyers_code == -99 and info.value.http_status == 400


async def test_partial_fills_with_max_fill_qty(clock: FakeClock) -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, max_fill_qty=3) as fake:
        assert fake.orders.max_fill_qty == 3
        async with client_for(fake, clock) as client:
            ack = await client.place_order(SBIN, "BUY", 10)
            order = await client.order(ack.order_id)
            assert order is not None and order.is_partially_filled
            assert (order.filled_quantity, order.status) == (3, OrderStatus.OPEN)
            for paise in (80_100, 80_200, 80_300):
                await fake.push_quote(SBIN, paise)
            order = await client.order(ack.order_id)
            assert order is not None and order.status is OrderStatus.FILLED
            trades = await client.tradebook()
            assert [t.quantity for t in trades] == [3, 3, 3, 1]
            assert [t.price for t in trades] == [Decimal(p) for p in ("800", "801", "802", "803")]
            assert order.traded_price == Decimal("801.20")  # 8012 / 10
            [position] = (await client.positions()).positions
            assert position.net_quantity == 10


async def test_opening_funds_bound_the_orders(clock: FakeClock) -> None:
    async with (
        FakeFyersServer(seed=1, tick_interval=None, funds=50_000) as fake,
        client_for(fake, clock) as client,
    ):
        assert (await client.funds()).available_balance == Decimal(50_000)
        with pytest.raises(FyersOrderRejected) as info:
            await client.place_order(SBIN, "BUY", 100, product="CNC")  # ₹80,000
        assert info.value.fyers_code == -99 and "Margin Shortfall" in str(info.value)
        [row] = await client.orderbook()
        assert row.status is OrderStatus.REJECTED  # in the book, as Fyers does
        await client.place_order(SBIN, "BUY", 50, product="CNC")  # ₹40,000 fits


async def test_unknown_symbols_follow_the_data_side(clock: FakeClock) -> None:
    async with (
        FakeFyersServer(seed=1, tick_interval=None) as default,
        client_for(default, clock) as client,
    ):  # strict by default: an unknown symbol is -300, as at Fyers
        with pytest.raises(FyersOrderRejected) as info:
            await client.place_order("NSE:ANYTHING-EQ", "BUY", 1)
        assert info.value.fyers_code == -300
        assert default.topic_of("NSE:ANYTHING-EQ") is None
    async with (
        FakeFyersServer(seed=1, tick_interval=None, loose_symbols=True) as loose,
        client_for(loose, clock) as client,
    ):
        ack = await client.place_order("NSE:ANYTHING-EQ", "BUY", 1)
        order = await client.order(ack.order_id)
        assert order is not None and order.traded_price == Decimal("1000.00")
        assert loose.topic_of("NSE:ANYTHING-EQ") is not None  # now on the data side too
    async with (
        FakeFyersServer(seed=1, tick_interval=None, symbols=[SBIN]) as strict,
        client_for(strict, clock) as client,
    ):
        with pytest.raises(FyersOrderRejected) as info:
            await client.place_order("NSE:INFY-EQ", "BUY", 1)
        assert info.value.fyers_code == -300


# ---- tokens ----------------------------------------------------------------------------------


async def test_expired_token_is_refused_by_the_trading_api(
    fake: FakeFyersServer, client: FyersRestClient, http: httpx.AsyncClient
) -> None:
    assert (await client.funds()).available_balance == Decimal(1_000_000)
    await fake.expire_token()
    with pytest.raises(AuthError, match="code -8"):
        await client.funds()
    with pytest.raises(AuthError):
        await client.place_order(SBIN, "BUY", 1)
    resp = await http.get(fake.api_url + "/funds", headers=auth(fake))
    assert resp.status_code == 401 and resp.json()["code"] == -8
    data = await http.post(
        fake.rest_url + "/symbol-token",
        json={"symbols": [SBIN]},
        headers={"Authorization": split_access_token(fake.access_token)[1]},
    )
    assert data.status_code == 401 and data.json()["code"] == -8
    fake.reject_token = False  # the token works again everywhere
    assert (await client.funds()).available_balance == Decimal(1_000_000)
    fake.reject_token = True
    with pytest.raises(AuthError, match="HTTP 401, code -8"):
        await client.positions()
    fake.reject_token = False
    stranger = mint_fake_token("x" * 56, 2_000_000_000, app_id=fake.app_id)
    resp = await http.get(fake.api_url + "/funds", headers={"Authorization": stranger})
    assert resp.status_code == 401 and resp.json()["code"] in (-8, -16)  # never accepted
    assert fake.orders.orders == {}  # nothing was placed while refused


# ---- faults and the HTTP layer ---------------------------------------------------------------


async def test_429_retry_after_passes_through(
    fake: FakeFyersServer, client: FyersRestClient, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    fake.orders.rate_limit_next(retry_after=2.5, path="/funds")
    resp = await http.get(fake.api_url + "/funds", headers=auth(fake))
    assert resp.status_code == 429 and resp.reason_phrase == "Too Many Requests"
    assert resp.json()["code"] == -429
    assert resp.headers["Retry-After"] == "2.5"
    assert resp.headers["X-Retry-After-Ms"] == "2500"
    fake.orders.rate_limit_next(2, retry_after=1.5, path="/funds")
    assert (await client.funds()).available_balance == Decimal(1_000_000)
    assert clock.sleeps == [1.5, 1.5]  # the client paused as the header said
    async with client_for(fake, clock, max_rate_retries=0) as impatient:
        fake.orders.rate_limit_next(retry_after=4)
        with pytest.raises(RateLimited) as info:
            await impatient.positions()
        assert info.value.retry_after == 4 and info.value.status == 429
        fake.orders.rate_limit_next(retry_after=4, method="POST")
        with pytest.raises(FyersOrderRejected) as rejected:
            await impatient.place_order(SBIN, "BUY", 1)
        assert rejected.value.code == "RATE_LIMITED"
    assert fake.orders.orders == {}  # rate-limited orders are not carried out


async def test_lost_answer_is_recovered_from_the_order_book(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    fake.orders.drop_next(method="POST", path="/orders/sync")  # placed, answer lost
    ack = await client.place_order(SBIN, "BUY", 2, tag="lostanswer1")
    assert ack.recovered and ack.tag == "lostanswer1"
    assert list(fake.orders.orders) == [ack.order_id]  # placed once, never resent


async def test_http_details(fake: FakeFyersServer, http: httpx.AsyncClient) -> None:
    order = {
        "symbol": SBIN,
        "qty": 1,
        "type": 2,
        "side": 1,
        "productType": "INTRADAY",
        "limitPrice": 0,
        "stopPrice": 0,
        "validity": "DAY",
        "disclosedQty": 0,
        "offlineOrder": False,
    }
    chunks = [fake.orders.encode(order)[:10], fake.orders.encode(order)[10:]]

    async def chunked() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    resp = await http.post(fake.api_url + "/orders/sync", content=chunked(), headers=auth(fake))
    assert resp.status_code == 200 and resp.json()["code"] == 1101  # chunked body read
    tagged = await http.get(
        fake.api_url + "/orders", params={"order_tag": "nosuch"}, headers=auth(fake)
    )
    assert tagged.json()["orderBook"] == []  # the query string reached the fake
    missing = await http.get(fake.api_url + "/nowhere", headers=auth(fake))
    assert missing.status_code == 404 and missing.reason_phrase == "Not Found"
    data = await http.post(
        fake.rest_url + "/symbol-token",
        json={"symbols": [SBIN]},
        headers={"Authorization": split_access_token(fake.access_token)[1]},
    )
    assert data.json()["validSymbol"] == {SBIN: "10100000003045"}  # the data side as before
    closing = await http.get(
        fake.api_url + "/profile", headers={**auth(fake), "Connection": "close"}
    )
    assert closing.status_code == 200 and closing.headers["connection"] == "close"
    assert fake.orders.requests_to("/orders", "GET")[0].query == {"order_tag": "nosuch"}


async def test_delayed_answer_is_cut_short_by_stop(http: httpx.AsyncClient) -> None:
    fake = FakeFyersServer(seed=1, tick_interval=None)
    async with fake:
        fake.orders.delay_next(3600, path="/funds")
        pending = asyncio.create_task(http.get(fake.api_url + "/funds", headers=auth(fake)))
        while not fake.orders.requests_to("/funds"):
            await asyncio.sleep(0)  # until the request reached the fake (no wall-clock wait)
    # stop() ended the delay and closed the connection without an answer
    with pytest.raises(httpx.RemoteProtocolError):
        await pending


# ---- command line ----------------------------------------------------------------------------


async def test_fake_fyers_command_prints_the_trading_api(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    lines: list[str] = []
    ready = asyncio.Event()

    def record(*args: object, **kw: object) -> None:
        lines.append(" ".join(map(str, args)))
        if lines[-1].startswith("connect:"):
            ready.set()

    monkeypatch.setattr(fake_module, "print", record, raising=False)
    task = asyncio.create_task(serve_forever(tick_interval=3600))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        token = lines[3].strip()
        assert lines[0].startswith("fake Fyers data socket: ws://127.0.0.1:")
        api_url = lines[4].split(": ", 1)[1].strip()
        assert api_url.startswith("http://127.0.0.1:") and api_url.endswith("/api/v3")
        order_ws = lines[5].split(": ", 1)[1].strip()
        assert order_ws.startswith("ws://127.0.0.1:") and order_ws.endswith("/trade/v3")
        assert f"api_url={api_url!r}" in lines[6] and f"order_ws_url={order_ws!r}" in lines[6]
        assert is_loopback(api_url)
        limiter = RateLimiter(clock=clock, sleep=clock.sleep)
        async with FyersRestClient(token, base_url=api_url, limiter=limiter) as client:
            ack = await client.place_order(SBIN, "BUY", 1)
            assert (await client.order(ack.order_id)) is not None
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
