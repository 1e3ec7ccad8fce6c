"""The fake Fyers server against the documented API v3, call for call (issue #20).

Each documented behaviour the fake used to miss is checked twice on one
:class:`~livetrade.testing.fake_fyers.FakeFyersServer`: through our client (``FyersRestClient``, the
order-socket parser, or raw httpx where our client has no call) and through the official SDK
3.2.0 pointed at the same fake (``fyersModel`` with ``Config.API`` = the fake; the SDK's
``FyersOrderSocket`` is fed the frames the fake's order socket sent, through its private
message handler, so no SDK thread runs). Where the docs and the SDK disagree the fake follows
the docs, and the test says so.

Prices move only by ``fake.push_quote()`` (``tick_interval=None``); the client's limiter runs
on a fake clock; socket frames are awaited with a timeout, never slept for. An autouse guard
refuses non-loopback connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fyers_sdk import sdk_model
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)
from websockets.asyncio.client import ClientConnection, connect

import livetrade as lt
from livetrade.errors import AuthError
from livetrade.fyers.broker import (
    FyersApiError,
    FyersOrderRejected,
    FyersRestClient,
    FyersUnavailable,
    RateLimiter,
)
from livetrade.fyers.order_socket import (
    OrderEvent,
    PositionEvent,
    TradeEvent,
    parse_message,
    subscribe_frame,
)
from livetrade.fyers.rest import is_loopback
from livetrade.model import OrderStatus
from livetrade.money import from_paise
from livetrade.session import Session
from livetrade.testing.fake_fyers import FakeFyersServer
from livetrade.testing.fake_rest import ORDER_SOURCE

fyers_model = pytest.importorskip("fyers_apiv3.fyersModel")
order_ws = pytest.importorskip("fyers_apiv3.FyersWebsocket.order_ws")  # needs pkg_resources

SBIN, INFY = "NSE:SBIN-EQ", "NSE:INFY-EQ"
WAIT = 10.0  # seconds: a bound on waiting for frames, never a sleep
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TRADE_TIME_RE = re.compile(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}")  # DD-MM-YYYY hh:mm:ss
ORDER_TIME_RE = re.compile(r"\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2}")  # DD-Mon-YYYY


class FakeClock:
    """Time that moves only when the client sleeps on it (limiter pauses, settle delay)."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def fake_kw() -> dict[str, Any]:
    """Extra FakeFyersServer arguments (a test overrides it with ``parametrize``)."""
    return {}


@pytest.fixture
async def fake(fake_kw: dict[str, Any]) -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=1, tick_interval=None, **fake_kw) as server:
        cfg = server.config
        assert all(is_loopback(u) for u in (cfg.api_url, cfg.rest_url, cfg.order_ws_url))
        yield server


@pytest.fixture
async def client(fake: FakeFyersServer) -> AsyncIterator[FyersRestClient]:
    clock = FakeClock()
    c = FyersRestClient(
        fake.config.access_token,
        base_url=fake.config.api_url,
        limiter=RateLimiter(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
    )
    yield c
    await c.aclose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as c:
        yield c


@pytest.fixture
def sdk(
    fake: FakeFyersServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The official SDK's ``FyersModel`` on the fake server (tests/fyers_sdk.py)."""
    with sdk_model(fake, tmp_path_factory.mktemp("sdk_logs"), monkeypatch) as model:
        yield model


class SdkOrderSocket:
    """The SDK's ``FyersOrderSocket``, never connected: frames go to its private handler."""

    def __init__(self, log_dir: Path) -> None:
        self.got: list[tuple[str, Any]] = []
        order_ws.FyersOrderSocket._instance = None  # a process-wide singleton
        self.sock = order_ws.FyersOrderSocket(
            access_token="ABCDEFGHIJ-100:not-used",
            log_path=str(log_dir),
            on_trades=lambda m: self.got.append(("trades", m)),
            on_positions=lambda m: self.got.append(("positions", m)),
            on_orders=lambda m: self.got.append(("orders", m)),
            on_general=lambda m: self.got.append(("general", m)),
            on_error=lambda m: self.got.append(("error", m)),
        )

    def parse(self, frames: list[str]) -> list[tuple[str, Any]]:
        self.got.clear()
        for frame in frames:
            self.sock._FyersOrderSocket__on_message(frame)
        return list(self.got)


@pytest.fixture
def sdk_socket(tmp_path: Path) -> Iterator[SdkOrderSocket]:
    logger = logging.getLogger("FyersDataSocket")  # the name the SDK's order socket logs to
    handlers = list(logger.handlers)
    instance = order_ws.FyersOrderSocket._instance
    yield SdkOrderSocket(tmp_path)
    for handler in logger.handlers[:]:
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    order_ws.FyersOrderSocket._instance = instance


class Frames:
    """A raw order-socket connection to the fake: every text frame it received, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str] = []

    async def until(self, check: Callable[[list[str]], bool], what: str) -> list[str]:
        while not check(self.frames):
            try:
                msg = await asyncio.wait_for(self.ws.recv(), WAIT)
            except TimeoutError:
                raise AssertionError(f"no {what} on the order socket") from None
            self.frames.append(msg if isinstance(msg, str) else msg.decode())
        return self.frames

    async def updates(self, kind: str, count: int = 1) -> list[str]:
        def enough(frames: list[str]) -> bool:
            return sum(f'"{kind}":' in f for f in frames) >= count

        frames = await self.until(enough, f"{count} {kind} update(s)")
        return [f for f in frames if f.startswith(f'{{"{kind}":')]


@pytest.fixture
async def frames(fake: FakeFyersServer) -> AsyncIterator[Frames]:
    async with connect(
        fake.order_ws_url, additional_headers={"authorization": fake.config.access_token}
    ) as ws:
        await ws.send(subscribe_frame(["orders", "trades", "positions"]))
        ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert ack == {"code": 1605, "message": "Successfully subscribed", "s": "ok"}
        yield Frames(ws)


def sdk_order(symbol: str = SBIN, **kw: Any) -> dict[str, Any]:
    body = {
        "symbol": symbol, "qty": 10, "type": 2, "side": 1, "productType": "INTRADAY",
        "limitPrice": 0, "stopPrice": 0, "validity": "DAY", "disclosedQty": 0,
        "offlineOrder": False, "orderTag": "parity1",
    }  # fmt: skip
    return {**body, **kw}


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """An SDK call (blocking ``requests``) off the loop the fake runs in."""
    return await asyncio.to_thread(fn, *args)


# ==================================================================== 1. id_fyers


async def test_1_id_fyers_in_the_book_and_updates_through_our_client(
    fake: FakeFyersServer, client: FyersRestClient, frames: Frames
) -> None:
    ack = await client.place_order(SBIN, "BUY", 5, tag="idf1")
    (row,) = await client.orderbook()
    id_fyers = fake.orders.orders[ack.order_id].id_fyers
    assert UUID_RE.fullmatch(id_fyers) and row.raw["id_fyers"] == id_fyers
    order_events = [parse_message(f) for f in await frames.updates("orders")]
    trade_events = [parse_message(f) for f in await frames.updates("trades")]
    assert all(isinstance(e, OrderEvent) for e in order_events)
    assert [e.order.raw["id_fyers"] for e in order_events] == [id_fyers]  # type: ignore[union-attr]
    (trade,) = trade_events
    assert isinstance(trade, TradeEvent) and trade.trade.raw["id_fyers"] == id_fyers


async def test_1_id_fyers_through_the_sdk(
    fake: FakeFyersServer, sdk: Any, frames: Frames, sdk_socket: SdkOrderSocket
) -> None:
    placed = await call(sdk.place_order, sdk_order())
    (row,) = (await call(sdk.orderbook))["orderBook"]
    assert row["id"] == placed["id"] and UUID_RE.fullmatch(row["id_fyers"])
    await frames.updates("trades")
    got = dict(sdk_socket.parse(await frames.updates("orders") + await frames.updates("trades")))
    # the SDK keeps id_fyers (its map.json has no entry for it; it adds the key by hand)
    assert got["orders"]["orders"]["id_fyers"] == row["id_fyers"]
    assert got["trades"]["trades"]["id_fyers"] == row["id_fyers"]


# ==================================================================== 2. disclosedQty


async def test_2_both_disclosed_quantity_keys_through_our_client(
    client: FyersRestClient,
) -> None:
    await client.place_order(SBIN, "BUY", 5)
    (row,) = await client.orderbook()
    assert row.raw["discloseQty"] == row.raw["disclosedQty"] == 0
    assert row.raw["dqQtyRem"] == 0  # in the docs' sample row too


async def test_2_both_disclosed_quantity_keys_through_the_sdk(sdk: Any) -> None:
    placed = await call(sdk.place_order, sdk_order(qty=50, type=1, limitPrice=790, disclosedQty=10))
    assert placed["s"] == "ok", placed
    (row,) = (await call(sdk.orderbook))["orderBook"]
    assert row["discloseQty"] == row["disclosedQty"] == 10


# ==================================================================== 3. source


async def test_3_api_orders_come_from_source_its_through_our_client(
    client: FyersRestClient,
) -> None:
    await client.place_order(SBIN, "BUY", 1)
    (row,) = await client.orderbook()
    assert ORDER_SOURCE == "ITS" and row.raw["source"] == "ITS"


async def test_3_api_orders_come_from_source_its_through_the_sdk(
    sdk: Any, frames: Frames, sdk_socket: SdkOrderSocket
) -> None:
    await call(sdk.place_order, sdk_order())
    (row,) = (await call(sdk.orderbook))["orderBook"]
    assert row["source"] == "ITS"  # documented: M, W, R, A, ITS (= API)
    ((_, update),) = sdk_socket.parse((await frames.updates("orders"))[:1])
    assert update["orders"]["source"] == "ITS"


# ==================================================================== 4. stop-price rules


async def test_4_stop_prices_follow_the_documented_rules_through_our_client(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    await fake.push_quote(SBIN, 77_100)  # LTP 771
    refused = [
        ("BUY", "SL", "778", "780"),  # buy: stop must be below the limit
        ("BUY", "SL_M", None, "760"),  # buy: stop must not be below the LTP
        ("SELL", "SL_M", None, "780"),  # sell: stop must not be above the LTP
        ("SELL", "SL", "766", "765"),  # sell: stop must be above the limit
    ]
    for side, kind, limit, stop in refused:
        with pytest.raises(FyersOrderRejected) as info:
            await client.place_order(
                SBIN, side, 1, kind, limit_price=limit, trigger_price=stop, product="CNC"
            )
        assert info.value.fyers_code == -50, (side, kind)
        assert "Stop price" in (info.value.fyers_message or "")
    assert fake.orders.orders == {}  # nothing booked, nothing filled
    buy = await client.place_order(SBIN, "BUY", 1, "SL_M", trigger_price="775")
    sell = await client.place_order(SBIN, "SELL", 1, "SL", limit_price="764", trigger_price="765")
    at_ltp = await client.place_order(SBIN, "BUY", 1, "SL", limit_price="772", trigger_price="771")
    for ack in (buy, sell):
        order = await client.order(ack.order_id)
        assert order is not None and order.status is OrderStatus.OPEN
        assert order.exchange_order_id  # a pending order has its exchange id
    assert (await client.order(at_ltp.order_id)).status is OrderStatus.FILLED  # type: ignore[union-attr]
    with pytest.raises(FyersOrderRejected) as info:  # modify: the same rules
        await client.modify_order(buy.order_id, kind="SL_M", trigger_price="760")
    assert info.value.fyers_code == -50
    await fake.push_quote(SBIN, 77_600)  # through the buy stop
    assert (await client.order(buy.order_id)).status is OrderStatus.FILLED  # type: ignore[union-attr]


async def test_4_stop_prices_follow_the_documented_rules_through_the_sdk(
    fake: FakeFyersServer, sdk: Any
) -> None:
    await fake.push_quote(SBIN, 77_100)
    sl_buy = await call(sdk.place_order, sdk_order(type=4, limitPrice=778, stopPrice=780))
    slm_buy = await call(sdk.place_order, sdk_order(type=3, stopPrice=760))
    assert (sl_buy["s"], sl_buy["code"], slm_buy["s"], slm_buy["code"]) == (
        "error", -50, "error", -50,
    )  # fmt: skip
    assert (await call(sdk.orderbook))["orderBook"] == []
    ok = await call(sdk.place_order, sdk_order(type=3, stopPrice=775))
    (row,) = (await call(sdk.orderbook))["orderBook"]
    assert row["id"] == ok["id"] and row["status"] == 6 and row["exchOrdId"]
    modified = await call(sdk.modify_order, {"id": ok["id"], "type": 3, "stopPrice": 760})
    assert (modified["s"], modified["code"]) == ("error", -50)


# ==================================================================== 5. unknown symbols


async def test_5_unknown_symbols_are_minus_300_through_our_client(
    fake: FakeFyersServer, client: FyersRestClient, http: httpx.AsyncClient
) -> None:
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order("NSE:NOSUCH-EQ", "BUY", 1)
    assert info.value.fyers_code == -300 and fake.orders.orders == {}
    jwt = fake.config.access_token.split(":", 1)[1]
    resp = await http.post(
        fake.rest_url + "/symbol-token",
        json={"symbols": [SBIN, "NSE:NOSUCH-EQ"]},
        headers={"Authorization": jwt},
    )
    body = resp.json()
    assert list(body["validSymbol"]) == [SBIN] and body["invalidSymbol"] == ["NSE:NOSUCH-EQ"]
    assert "loose" not in repr(fake)


async def test_5_unknown_symbols_are_minus_300_through_the_sdk(sdk: Any) -> None:
    refused = await call(sdk.place_order, sdk_order("NSE:NOSUCH-EQ"))
    assert (refused["s"], refused["code"]) == ("error", -300)


async def test_5_loose_mode_is_opt_in_and_says_so(tmp_path: Path) -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, loose_symbols=True) as loose:
        assert "loose" in repr(loose) and "LOOSE" in loose.symbols_note()
        clock = FakeClock()
        async with FyersRestClient(
            loose.config.access_token,
            base_url=loose.config.api_url,
            limiter=RateLimiter(clock=clock, sleep=clock.sleep),
        ) as c:
            ack = await c.place_order("NSE:NOSUCH-EQ", "BUY", 1)
            assert (await c.order(ack.order_id)).traded_price == Decimal(1000)  # type: ignore[union-attr]


# ==================================================================== 6. position updates


async def test_6_position_updates_arrive_on_our_order_socket(
    fake: FakeFyersServer, client: FyersRestClient, frames: Frames
) -> None:
    await client.place_order(SBIN, "BUY", 10)
    (update,) = [parse_message(f) for f in await frames.updates("positions")]
    assert isinstance(update, PositionEvent)
    pos = update.position
    (row,) = (await client.positions()).positions
    assert pos["id"] == row.position_id == f"{SBIN}-INTRADAY"
    assert (pos["netQty"], pos["buyQty"], pos["side"]) == (10, 10, 1)
    for key in ("buyAvg", "buyVal", "netAvg", "sellQty", "productType", "crossCurrency"):
        assert pos[key] == row.raw[key], key
    await fake.push_quote(SBIN, 81_000)
    await client.place_order(SBIN, "SELL", 10)
    last = parse_message((await frames.updates("positions", 2))[-1])
    assert isinstance(last, PositionEvent)
    assert (last.position["netQty"], last.position["side"]) == (0, 0)
    assert last.position["realized_profit"] == 100  # 10 × (810 - 800)


async def test_6_position_updates_reach_the_sdks_on_positions(
    fake: FakeFyersServer, sdk: Any, frames: Frames, sdk_socket: SdkOrderSocket
) -> None:
    await call(sdk.place_order, sdk_order(qty=4))
    got = sdk_socket.parse(await frames.updates("positions"))
    assert [kind for kind, _ in got] == ["positions"]
    message = got[0][1]
    (row,) = (await call(sdk.positions))["netPositions"]
    assert message["s"] == "ok"
    assert message["positions"] == {k: row[k] for k in message["positions"]}
    assert {"netQty", "buyVal", "netAvg", "crossCurrency", "realized_profit"} <= set(
        message["positions"]
    )


# ==================================================================== 7. trade time format


async def test_7_trade_updates_use_the_documented_time_format_through_our_client(
    client: FyersRestClient, frames: Frames
) -> None:
    await client.place_order(SBIN, "BUY", 1)
    (trade,) = [parse_message(f) for f in await frames.updates("trades")]
    (order,) = [parse_message(f) for f in await frames.updates("orders")]
    assert isinstance(trade, TradeEvent) and isinstance(order, OrderEvent)
    assert TRADE_TIME_RE.fullmatch(trade.trade.raw["orderDateTime"])
    assert ORDER_TIME_RE.fullmatch(order.order.raw["orderDateTime"])
    assert trade.trade.traded_at is not None and order.order.placed_at is not None
    assert trade.trade.traded_at.strftime("%d-%m-%Y %H:%M:%S") == trade.trade.raw["orderDateTime"]
    assert abs((trade.trade.traded_at - order.order.placed_at).total_seconds()) < 2


async def test_7_trade_updates_use_the_documented_time_format_through_the_sdk(
    sdk: Any, frames: Frames, sdk_socket: SdkOrderSocket
) -> None:
    await call(sdk.place_order, sdk_order())
    await frames.updates("trades")
    got = dict(sdk_socket.parse(await frames.updates("orders") + await frames.updates("trades")))
    assert TRADE_TIME_RE.fullmatch(got["trades"]["trades"]["orderDateTime"])
    assert ORDER_TIME_RE.fullmatch(got["orders"]["orders"]["orderDateTime"])


# ==================================================================== 8. netAvg


async def _buy_10_sell_4(fake: FakeFyersServer, place: Callable[[str, int], Any]) -> None:
    await place("BUY", 10)  # at 800
    await fake.push_quote(SBIN, 81_000)
    await place("SELL", 4)  # at 810


async def test_8_net_avg_is_net_value_over_net_quantity_through_our_client(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    await _buy_10_sell_4(fake, lambda side, q: client.place_order(SBIN, side, q))
    (p,) = (await client.positions()).positions
    assert (p.buy_value, p.sell_value, p.net_quantity) == (Decimal(8000), Decimal(3240), 6)
    assert p.avg_price == Decimal("793.33")  # netAvg = (8000 - 3240) / 6, as in the docs
    assert Decimal(str(p.raw["avgPrice"])) == p.buy_avg == 800  # the open side's average
    assert (p.realized_pnl, p.unrealized_pnl) == (Decimal(40), Decimal(60))  # 4×10; 6×(810-800)


async def test_8_net_avg_is_net_value_over_net_quantity_through_the_sdk(
    fake: FakeFyersServer, sdk: Any
) -> None:
    async def place(side: str, qty: int) -> None:
        reply = await call(sdk.place_order, sdk_order(side=1 if side == "BUY" else -1, qty=qty))
        assert reply["s"] == "ok", reply

    await _buy_10_sell_4(fake, place)
    (row,) = (await call(sdk.positions))["netPositions"]
    assert row["netAvg"] == round((row["buyVal"] - row["sellVal"]) / row["netQty"], 2) == 793.33
    assert row["avgPrice"] == row["buyAvg"] == 800


# ==================================================================== 9. crossCurrency


async def test_9_cross_currency_is_y_or_n_through_our_client(
    client: FyersRestClient, frames: Frames
) -> None:
    await client.place_order(SBIN, "BUY", 1)
    (p,) = (await client.positions()).positions
    assert p.raw["crossCurrency"] == "N"
    (update,) = [parse_message(f) for f in await frames.updates("positions")]
    assert isinstance(update, PositionEvent) and update.position["crossCurrency"] == "N"


async def test_9_cross_currency_is_y_or_n_through_the_sdk(sdk: Any) -> None:
    await call(sdk.place_order, sdk_order())
    (row,) = (await call(sdk.positions))["netPositions"]
    assert row["crossCurrency"] in ("Y", "N") and row["crossCurrency"] == "N"


# ==================================================================== 10. profile dates


DATE_RE = re.compile(r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}")


async def test_10_profile_has_pin_and_password_change_dates_through_our_client(
    client: FyersRestClient,
) -> None:
    profile = await client.profile()
    assert DATE_RE.fullmatch(profile.raw["pin_change_date"])
    assert DATE_RE.fullmatch(profile.raw["pwd_change_date"])


async def test_10_profile_has_pin_and_password_change_dates_through_the_sdk(sdk: Any) -> None:
    data = (await call(sdk.get_profile))["data"]
    assert DATE_RE.fullmatch(data["pin_change_date"]) and DATE_RE.fullmatch(data["pwd_change_date"])


# ====================================================== 11. exit, convert, basket, logout


async def _positions(sdk: Any) -> dict[str, int]:
    return {r["id"]: r["netQty"] for r in (await call(sdk.positions))["netPositions"]}


async def test_11_exit_positions_through_the_sdk(fake: FakeFyersServer, sdk: Any) -> None:
    nothing = await call(sdk.exit_positions)
    assert (nothing["s"], nothing["code"]) == ("error", -352)  # no position to exit
    await call(sdk.place_order, sdk_order(qty=10))
    await call(sdk.place_order, sdk_order(INFY, qty=5, productType="CNC"))
    one = await call(sdk.exit_positions, {"id": f"{SBIN}-INTRADAY"})
    assert one == {"s": "ok", "code": 200, "message": "The position is closed."}
    assert await _positions(sdk) == {f"{SBIN}-INTRADAY": 0, f"{INFY}-CNC": 5}
    unknown = await call(sdk.exit_positions, {"id": "NSE:NOSUCH-EQ-INTRADAY"})
    assert (unknown["s"], unknown["code"]) == ("error", -53)
    flat = await call(sdk.exit_positions, {"id": [f"{SBIN}-INTRADAY"]})
    assert flat["code"] == -352  # known, but nothing open
    bad = await call(sdk.exit_positions, {"segment": [10], "side": [1]})
    assert (bad["s"], bad["code"]) == ("error", -50)  # all three filters are mandatory
    short = await call(sdk.exit_positions, {"segment": [10], "side": [-1], "productType": ["ALL"]})
    assert short["code"] == -352  # only longs are open
    by_filter = await call(
        sdk.exit_positions, {"segment": [10], "side": [1], "productType": ["CNC"]}
    )
    assert by_filter["s"] == "ok" and (await _positions(sdk))[f"{INFY}-CNC"] == 0
    # exit all, cancelling the working orders first
    await call(sdk.place_order, sdk_order(qty=3))
    resting = await call(sdk.place_order, sdk_order(type=1, limitPrice=700, qty=3))
    before = len(fake.orders.requests)
    assert (await call(sdk.exit_positions, {"pending_orders_cancel": 1}))["code"] == 200
    assert fake.orders.orders[resting["id"]].status == 1  # cancelled
    assert set((await _positions(sdk)).values()) == {0}
    await call(sdk.place_order, sdk_order(qty=2))
    assert (await call(sdk.exit_positions))["code"] == 200  # the SDK sends {"exit_all": 1}
    assert fake.orders.requests[-1].body == {"exit_all": 1}
    assert fake.orders.requests[before].method == "DELETE"


async def test_11_exit_positions_through_raw_http(
    fake: FakeFyersServer, client: FyersRestClient, http: httpx.AsyncClient
) -> None:
    await client.place_order(SBIN, "BUY", 4)
    fake.orders.max_fill_qty = 1  # a thin market: the exit order fills one share at a time
    headers = {"Authorization": fake.config.access_token}
    resp = await http.request(
        "DELETE", fake.api_url + "/positions", json={"exit_all": 1}, headers=headers
    )
    assert resp.status_code == 200 and resp.json()["code"] == 201  # counter order not filled
    (p,) = (await client.positions()).positions
    assert p.net_quantity == 3
    await fake.push_quote(SBIN, 80_100)
    await fake.push_quote(SBIN, 80_200)
    await fake.push_quote(SBIN, 80_300)
    (p,) = (await client.positions()).positions
    assert p.net_quantity == 0


async def test_11_convert_position_through_the_sdk(
    fake: FakeFyersServer, sdk: Any, frames: Frames, sdk_socket: SdkOrderSocket
) -> None:
    await call(sdk.place_order, sdk_order(qty=10))
    convert = {
        "symbol": f"{SBIN}-INTRADAY", "positionSide": 1, "convertQty": 4,
        "convertFrom": "INTRADAY", "convertTo": "CNC", "overnight": 0,
    }  # fmt: skip
    done = await call(sdk.convert_position, convert)
    assert done == {
        "s": "ok", "code": 200, "message": "Position Converted Successfully!!",
        "positionDetails": 1101,
    }  # fmt: skip
    rows = {r["id"]: r for r in (await call(sdk.positions))["netPositions"]}
    assert (rows[f"{SBIN}-INTRADAY"]["netQty"], rows[f"{SBIN}-CNC"]["netQty"]) == (6, 4)
    assert rows[f"{SBIN}-CNC"]["buyAvg"] == rows[f"{SBIN}-INTRADAY"]["buyAvg"] == 800
    # the converted shares are delivery shares now: a CNC sell of 4 passes the holdings check
    sold = await call(sdk.place_order, sdk_order(side=-1, qty=4, productType="CNC"))
    assert sold["s"] == "ok", sold
    back = await call(
        sdk.convert_position, {**convert, "symbol": f"{SBIN}-CNC", "convertFrom": "CNC",
                               "convertTo": "INTRADAY"}
    )  # fmt: skip
    assert (back["s"], back["code"]) == ("error", -50) and "CNC" in back["message"]
    too_many = await call(sdk.convert_position, {**convert, "convertQty": 7})
    assert (too_many["s"], too_many["code"]) == ("error", -99)
    unknown = await call(sdk.convert_position, {**convert, "symbol": f"{INFY}-INTRADAY"})
    assert (unknown["s"], unknown["code"]) == ("error", -53)
    missing = await call(
        sdk.convert_position, {k: v for k, v in convert.items() if k != "overnight"}
    )
    assert (missing["s"], missing["code"]) == ("error", -50)  # mandatory in the docs
    # the order socket told both products' positions about the conversion
    positions = sdk_socket.parse(await frames.updates("positions", 3))
    ids = [m["positions"]["id"] for kind, m in positions if kind == "positions"]
    assert ids[:3] == [f"{SBIN}-INTRADAY", f"{SBIN}-INTRADAY", f"{SBIN}-CNC"]


async def test_11_basket_orders_through_the_sdk(fake: FakeFyersServer, sdk: Any) -> None:
    basket = [
        sdk_order(type=1, limitPrice=790, qty=2, orderTag="b1"),
        sdk_order(type=1, limitPrice=789, qty=3, orderTag="b2"),
        sdk_order("NSE:NOSUCH-EQ", orderTag="b3"),
    ]
    placed = await call(sdk.place_basket_orders, basket)
    assert (placed["s"], placed["code"]) == ("ok", 200)
    assert [d["statusCode"] for d in placed["data"]] == [200, 200, 400]
    first, second, third = (d["body"] for d in placed["data"])
    assert first["s"] == second["s"] == "ok" and third["code"] == -300
    assert placed["data"][0]["statusDescription"] == "HTTP OK"
    assert first["message"].endswith(first["id"]) and first["id"] in fake.orders.orders
    modified = await call(
        sdk.modify_basket_orders, [{"id": first["id"], "type": 1, "limitPrice": 791, "qty": 4}]
    )
    (item,) = modified["data"]
    assert item["body"]["message"] == "Successfully modified order"
    assert fake.orders.orders[first["id"]].qty == 4
    cancelled = await call(
        sdk.cancel_basket_orders, [{"id": first["id"]}, {"id": second["id"]}, {"id": "nope"}]
    )
    assert [d["body"]["code"] for d in cancelled["data"]] == [1103, 1103, -51]
    too_many = await call(sdk.place_basket_orders, [sdk_order()] * 11)
    assert (too_many["s"], too_many["code"]) == ("error", -50)
    assert len(fake.orders.orders) == 2  # the refused basket placed nothing


async def test_11_logout_ends_the_token_through_the_sdk_and_our_client(
    fake: FakeFyersServer, sdk: Any, client: FyersRestClient
) -> None:
    assert (await client.profile()).fy_id == "XF00001"
    out = await call(sdk.logout)
    assert out == {"s": "ok", "code": 200, "message": "you are successfully logged out"}
    after = await call(sdk.get_profile)
    assert (after["s"], after["code"]) == ("error", -16)
    with pytest.raises(AuthError):
        await client.profile()  # the same token: revoked for this app
    with pytest.raises(Exception, match="403"):
        async with connect(
            fake.order_ws_url, additional_headers={"authorization": fake.config.access_token}
        ):
            pass


async def test_11_exit_and_convert_through_our_client(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    with pytest.raises(FyersApiError) as nothing:
        await client.exit_positions()
    assert nothing.value.code == -352
    await client.place_order(SBIN, "BUY", 10)
    await client.place_order(INFY, "SELL", 3)
    message = await client.convert_position(SBIN, "BUY", 4, "INTRADAY", "CNC")
    assert message == "Position Converted Successfully!!"
    held = {p.position_id: p.net_quantity for p in (await client.positions()).positions}
    assert held == {f"{SBIN}-INTRADAY": 6, f"{INFY}-INTRADAY": -3, f"{SBIN}-CNC": 4}
    with pytest.raises(FyersOrderRejected) as refused:
        await client.convert_position(SBIN, "BUY", 4, "CNC", "INTRADAY")
    assert refused.value.fyers_code == -50 and "CNC" in str(refused.value)
    with pytest.raises(FyersOrderRejected) as short:
        await client.convert_position(INFY, "BUY", 1, "INTRADAY", "CNC")  # it is a short
    assert short.value.fyers_code == -99
    ack = await client.exit_positions([f"{INFY}-INTRADAY"])
    assert (ack.fyers_code, ack.message, ack.pending) == (200, "The position is closed.", False)
    with pytest.raises(FyersApiError) as unknown:
        await client.exit_positions(["NSE:NOSUCH-EQ-CNC"])
    assert unknown.value.code == -53
    resting = await client.place_order(SBIN, "BUY", 1, "LIMIT", limit_price="700")
    await client.exit_positions(cancel_pending=True)
    assert fake.orders.requests[-1].body == {"exit_all": 1, "pending_orders_cancel": 1}
    assert (await client.order(resting.order_id)).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert (await client.positions()).open() == ()


async def test_11_a_lost_exit_answer_is_never_resent(
    fake: FakeFyersServer, client: FyersRestClient
) -> None:
    await client.place_order(SBIN, "BUY", 2)
    fake.orders.drop_next(method="DELETE", path="/positions")  # carried out, answer lost
    with pytest.raises(FyersUnavailable, match="read the positions"):
        await client.exit_positions()
    assert len(fake.orders.requests_to("/positions", "DELETE")) == 1
    assert (await client.positions()).open() == ()


# ====================================================== the live session uses exit_positions


async def open_live(fake: FakeFyersServer) -> Session:
    session = await lt.open_session(
        feed="fyers",
        broker="fyers",
        live=True,
        fyers=fake.config,
        name="parity-live",
        journal=False,
        poll_interval=None,
        square_off=None,
    )
    await session.watch([SBIN, INFY])
    await fake.push_quote(SBIN, 80_000)
    await fake.push_quote(INFY, 150_000)
    await session.arm_live(confirm="LIVE")
    return session


def posts(fake: FakeFyersServer) -> int:
    return len(fake.orders.requests_to("/orders/sync", "POST"))


async def test_kill_flatten_is_one_exit_positions_call(fake: FakeFyersServer) -> None:
    s = await open_live(fake)
    try:
        await s.buy(SBIN, 5)
        await s.sell(INFY, 2)
        sent = posts(fake)
        closing = await s.kill(flatten=True)
        assert len(closing) == 2 and all(o.status is OrderStatus.FILLED for o in closing)
        assert posts(fake) == sent  # no order of ours: Fyers placed the counter orders
        (exit_call,) = fake.orders.requests_to("/positions", "DELETE")
        assert exit_call.body == {"id": [f"{INFY}-INTRADAY", f"{SBIN}-INTRADAY"]}
        for order in closing:
            theirs = fake.orders.orders[order.broker_order_id or ""]
            assert (theirs.symbol, theirs.qty, theirs.tag) == (order.symbol, order.quantity, None)
        assert s.engine.positions() == [] and len(s.engine.fills) == 4
        assert (await s.reconcile()).ok
    finally:
        await s.close()


async def test_kill_flatten_falls_back_to_our_own_orders(fake: FakeFyersServer) -> None:
    s = await open_live(fake)
    try:
        await s.buy(SBIN, 5)
        await s.buy(INFY, 1)
        async with FyersRestClient(fake.config.access_token, base_url=fake.api_url) as other:
            await other.place_order(INFY, "BUY", 2)  # Fyers holds 3 INFY, we hold 1
        fake.orders.error_next(
            400, {"s": "error", "code": -99, "message": "exit refused"}, method="DELETE"
        )
        sent = posts(fake)
        closing = await s.kill(flatten=True)
        assert all(o.status is OrderStatus.FILLED for o in closing)
        (exit_call,) = fake.orders.requests_to("/positions", "DELETE")
        assert exit_call.body == {"id": f"{SBIN}-INTRADAY"}  # INFY differs: not Fyers' to close
        assert posts(fake) == sent + 2  # refused: both exits went out as our tagged orders
        assert s.engine.positions() == []
        held = {p.symbol: p.net_quantity for p in (await s.router.client.positions()).open()}  # type: ignore[union-attr]
        assert held == {INFY: 2}  # the outside shares stay, as with per-order exits
    finally:
        await s.close()


# ====================================================== slicing and holdings (issue #20, item 11)


@pytest.mark.parametrize("fake_kw", [{"freeze_qty": {SBIN: 100}}])
async def test_11_slice_orders_through_the_sdk_and_raw_http(
    fake: FakeFyersServer, sdk: Any, http: httpx.AsyncClient
) -> None:
    headers = {"Authorization": fake.config.access_token}
    whole = await http.post(fake.api_url + "/orders/sync", json=sdk_order(qty=250), headers=headers)
    assert whole.status_code == 400 and whole.json()["code"] == -50  # above the freeze
    body = await call(sdk.place_order, sdk_order(qty=250, isSliceOrder=True))
    assert (body["s"], body["code"], body["message"]) == (
        "ok", 1101, "Order Slice placed successfully",
    )  # fmt: skip
    assert [d["statusCode"] for d in body["data"]] == [200, 200, 200]
    ids = [d["body"]["id"] for d in body["data"]]
    assert [fake.orders.orders[i].qty for i in ids] == [100, 100, 50]
    assert {fake.orders.orders[i].tag for i in ids} == {"parity1"}
    too_many = await http.post(
        fake.api_url + "/orders/sync", json=sdk_order(qty=1001, isSliceOrder=True), headers=headers
    )
    assert too_many.json()["code"] == -50  # at most 10 slices
    other = await call(sdk.place_order, sdk_order(INFY, qty=500))
    assert other["code"] == 1101  # no freeze quantity for INFY here


@pytest.mark.parametrize("fake_kw", [{"holdings": {INFY: (20, Decimal("1400.00"))}}])
async def test_11_holdings_can_be_seeded_through_our_client_and_the_sdk(
    client: FyersRestClient, sdk: Any
) -> None:
    (h,) = (await client.holdings()).holdings
    assert (h.symbol, h.quantity, h.holding_type) == (INFY, 20, "HLD")
    await client.place_order(INFY, "SELL", 5, product="CNC")  # against the holding
    with pytest.raises(FyersOrderRejected, match="Insufficient holdings"):
        await client.place_order(INFY, "SELL", 16, product="CNC")
    (row,) = (await call(sdk.holdings))["holdings"]
    assert (row["quantity"], row["remainingQuantity"], row["holdingType"]) == (20, 15, "HLD")


# ==================================================================== circuit limits (#17)


async def test_prices_outside_the_circuit_are_refused_like_the_exchange_does(
    fake: FakeFyersServer, client: FyersRestClient, sdk: Any
) -> None:
    """exchange-rules.md §3: orders outside the day's band are rejected. The fake's band is
    the one its quotes carry (±20% of the previous close), through our client and the SDK."""
    inst = fake.instrument(SBIN)
    assert inst is not None
    lower, upper = from_paise(inst.values[17]), from_paise(inst.values[18])
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(SBIN, "BUY", 1, "LIMIT", limit_price=lower - 1)
    assert info.value.fyers_code == -50 and "circuit limits" in (info.value.fyers_message or "")
    refused = await call(sdk.place_order, sdk_order(type=1, limitPrice=float(upper + 1)))
    assert (refused["s"], refused["code"]) == ("error", -50)
    assert fake.orders.orders == {}  # nothing booked
    ok = await client.place_order(SBIN, "BUY", 1, "LIMIT", limit_price=lower)  # the band's edge
    modified = await call(sdk.modify_order, {"id": ok.order_id, "type": 1, "limitPrice": 1.0})
    assert (modified["s"], modified["code"]) == ("error", -50)
    assert fake.orders.orders[ok.order_id].limit == lower  # the refused change changed nothing
