"""The Fyers REST client against the in-memory fake, and against the official SDK.

* Differential: the SDK's ``FyersModel`` (``Config.API`` pointed at a loopback
  :class:`ThreadedFakeServer`) and our :class:`FyersRestClient` (real httpx on the same server)
  send the same method, path, query, protocol headers and JSON body (types and key order
  included) for place/modify/cancel, orderbook, tradebook, positions, funds, holdings and
  profile, and read the same answers to the same values.
* Behaviour (``httpx.MockTransport``, no sockets): every order type and product, rejections,
  partial fills, lost answers without double submits, the rate limiter on a fake clock, 429s,
  expired tokens, secrets kept out of reprs, messages and logs.

No test can reach a real host: an autouse guard refuses non-loopback socket connections and
every base URL is asserted loopback. Nothing sleeps for correctness (the limiter and the
client's settle delay run on a fake clock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

from livetrade.errors import AuthError, OrderRejected
from livetrade.fyers.auth import Token, TokenExpired
from livetrade.fyers.broker import (
    FyersApiError,
    FyersOrderRejected,
    FyersRestClient,
    FyersStatus,
    FyersUnavailable,
    RateLimited,
    RateLimiter,
    SubmitUncertain,
    classify_rejection,
    client_tag,
    map_order_status,
    new_tag,
    parse_order,
    validate_tag,
)
from livetrade.fyers.rest import is_loopback
from livetrade.fyers.rest import retry_after as _retry_after
from livetrade.model import IST, Order, OrderKind, OrderStatus, Product, Side
from livetrade.testing.fake_rest import (
    FakeFyersRest,
    RecordedRequest,
    ThreadedFakeServer,
    mock_transport,
)

fyers_model = pytest.importorskip("fyers_apiv3.fyersModel")
requests = pytest.importorskip("requests")

SBIN, INFY = "NSE:SBIN-EQ", "NSE:INFY-EQ"
PRICES = {SBIN: Decimal("800.00"), INFY: Decimal("1500.00"), "NSE:TCS-EQ": Decimal("3900.05")}
MOCK_URL = "http://127.0.0.1:9/api/v3"  # never connected: MockTransport answers
TRANSPORT_HEADERS = {"host", "user-agent", "accept", "accept-encoding", "connection",
                     "content-length"}  # fmt: skip


# ==================================================================== guards, clocks, fixtures


class FakeClock:
    """Time that moves only when something sleeps on it (the limiter, the settle delay)."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def fake(clock: FakeClock) -> FakeFyersRest:
    return FakeFyersRest(prices=PRICES, clock=clock, holdings={INFY: (20, Decimal("1400.00"))})


def make_client(
    fake: FakeFyersRest, clock: FakeClock, base_url: str = MOCK_URL, **kw: Any
) -> FyersRestClient:
    assert is_loopback(base_url)
    transport = None if base_url != MOCK_URL else mock_transport(fake)
    kw.setdefault("limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    return FyersRestClient(
        fake.authorization, base_url=base_url, transport=transport, now=clock, **kw
    )


@pytest.fixture
async def client(fake: FakeFyersRest, clock: FakeClock) -> AsyncIterator[FyersRestClient]:
    c = make_client(fake, clock)
    yield c
    await c.aclose()


@pytest.fixture
def server(fake: FakeFyersRest) -> Iterator[ThreadedFakeServer]:
    with ThreadedFakeServer(fake) as srv:
        assert is_loopback(srv.base_url)
        yield srv


@pytest.fixture
async def http_client(
    fake: FakeFyersRest, clock: FakeClock, server: ThreadedFakeServer
) -> AsyncIterator[FyersRestClient]:
    """Our client over real loopback HTTP to the same server the SDK uses."""
    c = make_client(fake, clock, server.base_url)
    yield c
    await c.aclose()


@pytest.fixture(scope="module")
def sdk_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One SDK model per module (its loggers are process-wide and attach file handlers only
    once); logs go to a temp dir, and the loggers are restored afterwards."""
    names = ("FyersAPI", "FyersAPIRequest")
    before = {
        n: (list(logging.getLogger(n).handlers), set(vars(logging.getLogger(n)))) for n in names
    }
    log_dir = tmp_path_factory.mktemp("fyers_sdk_logs")
    model = fyers_model.FyersModel(client_id="X", token="Y", log_path=str(log_dir))
    yield model
    for name in names:
        logger = logging.getLogger(name)
        handlers, attrs = before[name]
        for handler in logger.handlers[:]:
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        for attr in set(vars(logger)) - attrs:
            delattr(logger, attr)
    model.service.session.close()


@pytest.fixture
def sdk(
    sdk_model: Any, fake: FakeFyersRest, server: ThreadedFakeServer, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setattr(fyers_model.Config, "API", server.base_url)
    assert is_loopback(fyers_model.Config.API)
    monkeypatch.setattr(sdk_model, "header", fake.authorization)
    return sdk_model


def protocol_headers(req: RecordedRequest) -> dict[str, str]:
    return {k: v for k, v in req.headers.items() if k not in TRANSPORT_HEADERS}


def typed(value: Any) -> Any:
    """A JSON value with its types spelled out, so 0 ≠ 0.0 and key order counts."""
    if isinstance(value, dict):
        return [("dict", [(k, typed(v)) for k, v in value.items()])]
    if isinstance(value, list):
        return [("list", [typed(v) for v in value])]
    return (type(value).__name__, value)


def assert_same_request(sdk_req: RecordedRequest, our_req: RecordedRequest) -> None:
    assert our_req.method == sdk_req.method
    assert our_req.path == sdk_req.path
    assert our_req.query == sdk_req.query
    assert protocol_headers(our_req) == protocol_headers(sdk_req)
    assert typed(our_req.body) == typed(sdk_req.body)


def last_two(fake: FakeFyersRest, before: int) -> tuple[RecordedRequest, RecordedRequest]:
    new = fake.requests[before:]
    assert len(new) == 2, [(r.method, r.path) for r in new]
    return new[0], new[1]


def dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def expected_order(raw: dict[str, Any]) -> dict[str, Any]:
    """What our parser must make of one SDK-returned ``orderBook`` row (written out here
    independently of the parser)."""

    def price(v: Any) -> Decimal | None:
        return None if v == 0 else dec(v)

    tag = raw["orderTag"].split(":", 1)[1]
    return {
        "order_id": raw["id"],
        "symbol": raw["symbol"],
        "side": Side(raw["side"]),
        "kind": {1: OrderKind.LIMIT, 2: OrderKind.MARKET, 3: OrderKind.SL_M, 4: OrderKind.SL}[
            raw["type"]
        ],
        "product": raw["productType"],
        "quantity": raw["qty"],
        "filled_quantity": raw["filledQty"],
        "remaining_quantity": raw["remainingQuantity"],
        "limit_price": price(raw["limitPrice"]),
        "trigger_price": price(raw["stopPrice"]),
        "traded_price": price(raw["tradedPrice"]),
        "status": {
            1: OrderStatus.CANCELLED,
            2: OrderStatus.FILLED,
            4: OrderStatus.PENDING,
            5: OrderStatus.REJECTED,
            6: OrderStatus.OPEN,
            7: OrderStatus.CANCELLED,
        }[raw["status"]],
        "raw_status": raw["status"],
        "tag": None if tag == "Untagged" else tag,
        "message": raw["message"],
        "exchange_order_id": raw["exchOrdId"] or None,
        "validity": raw["orderValidity"],
        "placed_at": datetime.strptime(raw["orderDateTime"], "%d-%b-%Y %H:%M:%S").replace(
            tzinfo=IST
        ),
    }


def fields_of(obj: Any, names: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in names}


SDK_PRICES = {  # (limitPrice, stopPrice) as an SDK user writes them for a BUY of SBIN at 800
    OrderKind.MARKET: (0, 0),
    OrderKind.LIMIT: (795.5, 0),
    OrderKind.SL: (812.05, 811.0),
    OrderKind.SL_M: (0, 811.0),
}
TYPE = {OrderKind.LIMIT: 1, OrderKind.MARKET: 2, OrderKind.SL_M: 3, OrderKind.SL: 4}


def sdk_order(
    kind: OrderKind, product: str, *, side: int = 1, qty: int = 10, symbol: str = SBIN,
    tag: str = "diff1",
) -> dict[str, Any]:  # fmt: skip
    limit, stop = SDK_PRICES[kind]
    return {
        "symbol": symbol,
        "qty": qty,
        "type": TYPE[kind],
        "side": side,
        "productType": product,
        "limitPrice": limit,
        "stopPrice": stop,
        "validity": "DAY",
        "disclosedQty": 0,
        "offlineOrder": False,
        "orderTag": tag,
    }


def our_prices(kind: OrderKind) -> dict[str, Decimal | None]:
    limit, stop = SDK_PRICES[kind]
    return {
        "limit_price": Decimal(str(limit)) if limit else None,
        "trigger_price": Decimal(str(stop)) if stop else None,
    }


# ==================================================================== differential vs the SDK


@pytest.mark.parametrize("product", ["INTRADAY", "CNC"])
@pytest.mark.parametrize("kind", list(OrderKind))
async def test_place_matches_sdk(
    sdk: Any, http_client: FyersRestClient, fake: FakeFyersRest, kind: OrderKind, product: str
) -> None:
    n = len(fake.requests)
    sdk_answer = sdk.place_order(sdk_order(kind, product))
    ack = await http_client.place_order(SBIN, Side.BUY, 10, kind, Product(product),
                                        tag="diff1", **our_prices(kind))  # fmt: skip
    sdk_req, our_req = last_two(fake, n)
    assert_same_request(sdk_req, our_req)
    assert list(our_req.body) == list(sdk_req.body)
    assert protocol_headers(our_req) == {
        "authorization": fake.authorization,
        "content-type": "application/json",
        "version": "3",
    }
    # the same answer shape, read the same way
    assert sdk_answer["s"] == "ok" and sdk_answer["code"] == ack.fyers_code == 1101
    assert ack.message == sdk_answer["message"].replace(sdk_answer["id"], ack.order_id)
    assert ack.tag == "diff1" and not ack.recovered and ack.attempts == 1
    ours = {o.order_id: o for o in await http_client.orderbook()}
    assert set(ours) == {sdk_answer["id"], ack.order_id}
    a, b = ours[sdk_answer["id"]], ours[ack.order_id]
    skip = {"order_id", "exchange_order_id", "raw", "placed_at"}
    assert fields_of(a, set(a.__dataclass_fields__) - skip) == fields_of(
        b, set(b.__dataclass_fields__) - skip
    )
    want = OrderStatus.FILLED if kind is OrderKind.MARKET else OrderStatus.OPEN
    assert a.status is want and a.kind is kind and a.product == product


async def test_place_sell_cnc_matches_sdk(
    sdk: Any, http_client: FyersRestClient, fake: FakeFyersRest
) -> None:
    n = len(fake.requests)
    sdk_answer = sdk.place_order(sdk_order(OrderKind.MARKET, "CNC", side=-1, qty=5, symbol=INFY))
    ack = await http_client.place_order(INFY, "SELL", 5, "MARKET", "CNC", tag="diff1")
    assert_same_request(*last_two(fake, n))
    assert sdk_answer["s"] == "ok" and ack.order_id


@pytest.mark.parametrize(
    ("kind", "qty", "symbol", "limit", "code", "our_code", "field"),
    [
        (OrderKind.MARKET, 10_000, SBIN, None, -99, "INSUFFICIENT_FUNDS", "quantity"),
        (OrderKind.MARKET, 10, "NSE:NOSUCH-EQ", None, -300, "INVALID_SYMBOL", "symbol"),
        (OrderKind.LIMIT, 10, SBIN, 795.53, -50, "INVALID_PRICE", "limit_price"),
    ],
)
async def test_rejections_match_sdk(
    sdk: Any,
    http_client: FyersRestClient,
    fake: FakeFyersRest,
    kind: OrderKind,
    qty: int,
    symbol: str,
    limit: float | None,
    code: int,
    our_code: str,
    field: str,
) -> None:
    fake.opening_cash = Decimal("100000")
    data = sdk_order(kind, "INTRADAY", qty=qty, symbol=symbol)
    if limit is not None:
        data["limitPrice"] = limit
    n = len(fake.requests)
    sdk_answer = sdk.place_order(data)
    with pytest.raises(FyersOrderRejected) as info:
        price = None if limit is None else str(limit)
        await http_client.place_order(symbol, Side.BUY, qty, kind, tag="diff1", limit_price=price)
    assert_same_request(*last_two(fake, n))
    exc = info.value
    assert sdk_answer["s"] == "error"
    assert (exc.fyers_code, exc.fyers_message, exc.http_status) == (
        sdk_answer["code"],
        sdk_answer["message"],
        400,
    )
    assert (exc.code, exc.field, exc.fyers_code) == (our_code, field, code)
    assert isinstance(exc, OrderRejected) and sdk_answer["message"] in exc.reason


async def test_modify_and_cancel_match_sdk(
    sdk: Any, http_client: FyersRestClient, fake: FakeFyersRest
) -> None:
    first = sdk.place_order(sdk_order(OrderKind.LIMIT, "INTRADAY"))["id"]
    second = (
        await http_client.place_order(SBIN, "BUY", 10, "LIMIT", limit_price="795.50")
    ).order_id
    n = len(fake.requests)
    sdk_mod = sdk.modify_order({"id": first, "type": 1, "limitPrice": 796.05, "qty": 12})
    our_mod = await http_client.modify_order(second, kind="LIMIT", limit_price="796.05",
                                             quantity=12)  # fmt: skip
    sdk_req, our_req = last_two(fake, n)
    assert typed(our_req.body) == typed({**sdk_req.body, "id": second})
    assert_same_request(sdk_req, RecordedRequest(
        our_req.method, our_req.path, our_req.query, our_req.headers,
        {**our_req.body, "id": first}, b"",
    ))  # fmt: skip
    assert sdk_mod["s"] == "ok" and our_mod.order_id == second
    assert our_mod.fyers_code == sdk_mod["code"] and our_mod.message == sdk_mod["message"]
    book = {o.order_id: o for o in await http_client.orderbook()}
    assert book[first].limit_price == book[second].limit_price == Decimal("796.05")
    assert book[first].quantity == book[second].quantity == 12
    # SL-M: trigger only
    stop1 = sdk.place_order(sdk_order(OrderKind.SL_M, "INTRADAY"))["id"]
    stop2 = (await http_client.place_order(SBIN, "BUY", 10, "SL-M", trigger_price=811)).order_id
    n = len(fake.requests)
    sdk.modify_order({"id": stop1, "type": 3, "stopPrice": 815.0})
    await http_client.modify_order(stop2, kind=OrderKind.SL_M, trigger_price=Decimal("815"))
    sdk_req, our_req = last_two(fake, n)
    assert typed(our_req.body) == typed({**sdk_req.body, "id": stop2})
    # cancel
    n = len(fake.requests)
    sdk_cancel = sdk.cancel_order({"id": first})
    our_cancel = await http_client.cancel_order(second)
    sdk_req, our_req = last_two(fake, n)
    assert (our_req.method, our_req.path, protocol_headers(our_req)) == (
        sdk_req.method,
        sdk_req.path,
        protocol_headers(sdk_req),
    )
    assert sdk_req.body == {"id": first} and our_req.body == {"id": second}
    assert sdk_cancel["code"] == our_cancel.fyers_code == 1103
    assert our_cancel.message == sdk_cancel["message"]
    book = {o.order_id: o for o in await http_client.orderbook()}
    assert book[first].status is book[second].status is OrderStatus.CANCELLED
    # refusals read the same: cancelling twice, unknown ids
    for bad, code, ours_code in ((first, -99, "NOT_OPEN"), ("999", -51, "UNKNOWN_ORDER")):
        answer = sdk.cancel_order({"id": bad})
        with pytest.raises(FyersOrderRejected) as info:
            await http_client.cancel_order(bad)
        assert answer["code"] == info.value.fyers_code == code
        assert info.value.fyers_message == answer["message"]
        assert (info.value.code, info.value.field) == (ours_code, "order_id")


async def _populate(client: FyersRestClient, fake: FakeFyersRest) -> None:
    """A day with fills, resting, rejected, cancelled and partly filled orders."""
    await client.place_order(SBIN, "BUY", 10, tag="t1")
    await client.place_order(SBIN, "SELL", 4, "LIMIT", limit_price="799.00", tag="t2")
    await client.place_order(INFY, "SELL", 5, "MARKET", "CNC", tag="t3")
    resting = await client.place_order(SBIN, "BUY", 7, "LIMIT", limit_price="700.00")
    fake.fill(resting.order_id, 3, "700.00")
    gone = await client.place_order("NSE:TCS-EQ", "BUY", 1, "SL", limit_price="3950.00",
                                    trigger_price="3949.95")  # fmt: skip
    await client.cancel_order(gone.order_id)
    with pytest.raises(FyersOrderRejected):
        await client.place_order(SBIN, "BUY", 100_000, tag="t5")
    fake.set_price(SBIN, "805.25")


async def test_orderbook_matches_sdk(
    sdk: Any, http_client: FyersRestClient, fake: FakeFyersRest
) -> None:
    await _populate(http_client, fake)
    n = len(fake.requests)
    sdk_book = sdk.orderbook()
    ours = await http_client.orderbook()
    assert_same_request(*last_two(fake, n))
    assert sdk_book["s"] == "ok" and len(sdk_book["orderBook"]) == len(ours) == 6
    for raw, order in zip(sdk_book["orderBook"], ours, strict=True):
        want = expected_order(raw)
        assert fields_of(order, want) == want
    statuses = [o.status for o in ours]
    assert statuses == [OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.FILLED,
                        OrderStatus.OPEN, OrderStatus.CANCELLED, OrderStatus.REJECTED]  # fmt: skip
    assert ours[3].is_partially_filled and ours[3].remaining_quantity == 4
    assert "Margin Shortfall" in ours[5].message
    # one order: ?id= as the SDK sends it
    n = len(fake.requests)
    one = sdk.orderbook({"id": ours[3].order_id})
    mine = await http_client.orderbook(ours[3].order_id)
    sdk_req, our_req = last_two(fake, n)
    assert_same_request(sdk_req, our_req)
    assert our_req.query == {"id": ours[3].order_id}
    assert [expected_order(r) for r in one["orderBook"]] == [
        fields_of(o, expected_order(one["orderBook"][0])) for o in mine
    ]


async def test_tradebook_positions_funds_holdings_profile_match_sdk(
    sdk: Any, http_client: FyersRestClient, fake: FakeFyersRest
) -> None:
    await _populate(http_client, fake)
    # tradebook
    n = len(fake.requests)
    sdk_trades = sdk.tradebook()["tradeBook"]
    trades = await http_client.tradebook()
    assert_same_request(*last_two(fake, n))
    assert len(trades) == len(sdk_trades) == 4
    for raw, t in zip(sdk_trades, trades, strict=True):
        assert (t.trade_id, t.order_id, t.symbol, t.side, t.quantity, t.product) == (
            raw["tradeNumber"], raw["orderNumber"], raw["symbol"], Side(raw["side"]),
            raw["tradedQty"], raw["productType"],
        )  # fmt: skip
        assert (t.price, t.value) == (dec(raw["tradePrice"]), dec(raw["tradeValue"]))
        assert t.traded_at is not None
        assert t.traded_at.strftime("%d-%b-%Y %H:%M:%S") == raw["orderDateTime"]
        assert t.tag == (raw["orderTag"].split(":", 1)[1] if raw["orderTag"] != "2:Untagged"
                         else None)  # fmt: skip
        assert t.exchange_order_id == raw["exchangeOrderNo"]
    # positions
    n = len(fake.requests)
    sdk_pos = sdk.positions()
    pos = await http_client.positions()
    assert_same_request(*last_two(fake, n))
    keys = {"net_quantity": "netQty", "side": "side", "buy_quantity": "buyQty",
            "sell_quantity": "sellQty", "symbol": "symbol", "product": "productType",
            "position_id": "id"}  # fmt: skip
    money = {"avg_price": "netAvg", "buy_avg": "buyAvg", "buy_value": "buyVal",
             "sell_avg": "sellAvg", "sell_value": "sellVal", "realized_pnl": "realized_profit",
             "unrealized_pnl": "unrealized_profit", "pnl": "pl", "ltp": "ltp"}  # fmt: skip
    assert len(pos.positions) == len(sdk_pos["netPositions"]) == 2
    for raw, p in zip(sdk_pos["netPositions"], pos.positions, strict=True):
        assert {k: getattr(p, k) for k in keys} == {k: raw[v] for k, v in keys.items()}
        assert {k: getattr(p, k) for k in money} == {k: dec(raw[v]) for k, v in money.items()}
    overall = sdk_pos["overall"]
    assert (pos.count_total, pos.count_open) == (overall["count_total"], overall["count_open"])
    assert (pos.pnl_total, pos.pnl_realized, pos.pnl_unrealized) == (
        dec(overall["pl_total"]), dec(overall["pl_realized"]), dec(overall["pl_unrealized"]),
    )  # fmt: skip
    sbin = next(p for p in pos.positions if p.symbol == SBIN)
    assert sbin.net_quantity == 10 - 4 + 3 and sbin.unrealized_pnl != 0
    # funds
    n = len(fake.requests)
    sdk_funds = sdk.funds()["fund_limit"]
    funds = await http_client.funds()
    assert_same_request(*last_two(fake, n))
    assert [(f.id, f.title, f.equity, f.commodity) for f in funds.limits] == [
        (r["id"], r["title"], dec(r["equityAmount"]), dec(r["commodityAmount"])) for r in sdk_funds
    ]
    assert funds.available_balance == dec(sdk_funds[9]["equityAmount"])
    assert funds.total_balance is not None and funds.utilized is not None
    assert funds.available_balance == funds.total_balance - funds.utilized
    # holdings
    n = len(fake.requests)
    sdk_hold = sdk.holdings()
    hold = await http_client.holdings()
    assert_same_request(*last_two(fake, n))
    (raw,) = sdk_hold["holdings"]
    (h,) = hold.holdings
    assert (h.symbol, h.quantity, h.remaining_quantity, h.cost_price, h.holding_type) == (
        raw["symbol"], raw["quantity"], raw["remainingQuantity"], dec(raw["costPrice"]), "HLD",
    )  # fmt: skip
    assert h.remaining_quantity == 15 and hold.total_pnl == dec(sdk_hold["overall"]["total_pl"])
    # profile
    n = len(fake.requests)
    sdk_profile = sdk.get_profile()
    profile = await http_client.profile()
    assert_same_request(*last_two(fake, n))
    assert (profile.fy_id, profile.name) == (
        sdk_profile["data"]["fy_id"],
        sdk_profile["data"]["name"],
    )
    assert "email" not in repr(profile) and "@" not in repr(profile)


async def test_expired_token_reads_the_same(
    sdk: Any, http_client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.expire_tokens()
    n = len(fake.requests)
    answer = sdk.funds()
    with pytest.raises(AuthError) as info:
        await http_client.funds()
    assert_same_request(*last_two(fake, n))
    assert answer["code"] == -8
    assert "code -8" in str(info.value) and answer["message"] in str(info.value)
    assert fake.access_token not in str(info.value)


# ==================================================================== orders, books, fills


async def test_every_order_type_and_product_lifecycle(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    placed: dict[str, OrderKind] = {}
    for product in Product:
        for side in Side:
            sym = INFY if product is Product.CNC and side is Side.SELL else SBIN
            base = PRICES[sym]
            away = base - 5 if side is Side.BUY else base + 5  # a limit that rests
            stop = base + 5 if side is Side.BUY else base - 5  # a trigger not yet hit
            cases = {
                OrderKind.MARKET: {},
                OrderKind.LIMIT: {"limit_price": away},
                OrderKind.SL: {"trigger_price": stop, "limit_price": stop + side * 1},
                OrderKind.SL_M: {"trigger_price": stop},
            }
            for kind, prices in cases.items():
                ack = await client.place_order(sym, side, 2, kind, product, **prices)
                placed[ack.order_id] = kind
                body = fake.requests[-1].body
                assert (body["type"], body["side"], body["productType"]) == (
                    {OrderKind.LIMIT: 1, OrderKind.MARKET: 2, OrderKind.SL_M: 3,
                     OrderKind.SL: 4}[kind], int(side), product.value,
                )  # fmt: skip
                assert body["validity"] == "DAY" and validate_tag(body["orderTag"])
                assert body["limitPrice"] == (prices.get("limit_price") or 0)
                assert body["stopPrice"] == (prices.get("trigger_price") or 0)
    book = {o.order_id: o for o in await client.orderbook()}
    n = len(Product) * len(Side) * 4  # every product, side and order kind
    assert len(book) == n and len({o.tag for o in book.values()}) == n
    for oid, kind in placed.items():
        want = OrderStatus.FILLED if kind is OrderKind.MARKET else OrderStatus.OPEN
        assert book[oid].status is want, (kind, book[oid])
        assert book[oid].kind is kind
    # the market moves through every trigger and limit: everything fills
    for sym in (SBIN, INFY):
        fake.set_price(sym, PRICES[sym] + 10)
        fake.set_price(sym, PRICES[sym] - 10)
        fake.set_price(sym, PRICES[sym])
    book = {o.order_id: o for o in await client.orderbook()}
    assert all(o.status is OrderStatus.FILLED for o in book.values())
    sl_fill = [o for o in book.values() if o.kind is OrderKind.SL and o.side is Side.BUY]
    assert all(o.traded_price is not None and o.traded_price <= o.limit_price  # type: ignore[operator]
               for o in sl_fill)  # fmt: skip


async def test_partial_fills_iocs_and_expiry(client: FyersRestClient, fake: FakeFyersRest) -> None:
    fake.max_fill_qty = 4
    ack = await client.place_order(SBIN, "BUY", 10)
    order = await client.order(ack.order_id)
    assert order is not None
    assert (order.status, order.filled_quantity, order.remaining_quantity) == (
        OrderStatus.OPEN, 4, 6,
    )  # fmt: skip
    assert order.is_partially_filled and order.fyers_status is FyersStatus.PENDING
    fake.set_price(SBIN, "800.50")  # the next match fills 4 more at the new price
    order = await client.order(ack.order_id)
    assert order is not None and order.filled_quantity == 8
    assert order.traded_price == Decimal("800.25")  # (4 × 800 + 4 × 800.50) / 8
    await client.cancel_order(ack.order_id)
    order = await client.order(ack.order_id)
    assert order is not None
    assert (order.status, order.filled_quantity, order.remaining_quantity) == (
        OrderStatus.CANCELLED, 8, 0,
    )  # fmt: skip
    trades = await client.tradebook()
    assert [(t.quantity, t.price) for t in trades] == [(4, Decimal("800")), (4, Decimal("800.5"))]
    assert sum(t.value for t in trades) == Decimal("6402.00")
    (pos,) = (await client.positions()).positions
    assert pos.net_quantity == 8 and pos.buy_avg == Decimal("800.25")
    # IOC: what does not fill at once is cancelled
    ioc = await client.place_order(SBIN, "BUY", 10, "LIMIT", limit_price="799.00", validity="IOC")
    order = await client.order(ioc.order_id)
    assert order is not None and order.status is OrderStatus.CANCELLED and order.validity == "IOC"
    # end of day: resting orders expire (terminal, no fill)
    rest = await client.place_order(SBIN, "SELL", 3, "LIMIT", limit_price="900.00")
    fake.end_of_day()
    order = await client.order(rest.order_id)
    assert order is not None
    assert (order.status, order.fyers_status) == (OrderStatus.CANCELLED, FyersStatus.EXPIRED)
    assert order.status.is_terminal


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"quantity": 0}, "INVALID_QUANTITY", "quantity"),
        ({"quantity": -3}, "INVALID_QUANTITY", "quantity"),
        ({"quantity": 1.5}, "INVALID_QUANTITY", "quantity"),
        ({"quantity": True}, "INVALID_QUANTITY", "quantity"),
        ({"kind": "LIMIT"}, "MISSING_PRICE", "limit_price"),
        ({"kind": "SL", "limit_price": 800}, "MISSING_PRICE", "trigger_price"),
        ({"kind": "SL-M", "limit_price": 800, "trigger_price": 801}, "UNEXPECTED_PRICE",
         "limit_price"),
        ({"limit_price": 800}, "UNEXPECTED_PRICE", "limit_price"),
        ({"trigger_price": 800}, "UNEXPECTED_PRICE", "trigger_price"),
        ({"kind": "LIMIT", "limit_price": "800.001"}, "INVALID_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": -5}, "INVALID_PRICE", "limit_price"),
        ({"kind": "LIMIT", "limit_price": "abc"}, "INVALID_PRICE", "limit_price"),
        ({"tag": "bad tag!"}, "INVALID_TAG", "tag"),
        ({"tag": "x" * 31}, "INVALID_TAG", "tag"),
        ({"tag": "Untagged"}, "INVALID_TAG", "tag"),
        ({"tag": "XF00001"}, "INVALID_TAG", "tag"),  # the client id
        ({"side": "HOLD"}, "INVALID_SIDE", "side"),
        ({"kind": "STOP"}, "INVALID_ORDER_TYPE", "kind"),
        ({"product": "MTF"}, "INVALID_PRODUCT", "product"),
        ({"symbol": "SBIN"}, "INVALID_SYMBOL", "symbol"),
        ({"validity": "GTC"}, "INVALID_VALIDITY", "validity"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_before_sending(
    client: FyersRestClient, fake: FakeFyersRest, kwargs: dict[str, Any], code: str, field: str
) -> None:
    args: dict[str, Any] = {"symbol": SBIN, "side": "BUY", "quantity": 5, **kwargs}
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(**args)
    assert (info.value.code, info.value.field) == (code, field)
    assert info.value.fyers_code is None and info.value.reason.endswith(".")
    assert fake.requests == []


async def test_accepts_strings_decimals_and_float_noise(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    await client.place_order(SBIN, "buy", 1, "sl-m", "cnc", trigger_price=800.0999999999999)
    assert fake.requests[-1].body["stopPrice"] == Decimal("800.1")
    assert fake.requests[-1].body["productType"] == "CNC"


@pytest.mark.parametrize(
    ("message", "fyers_code", "code", "field"),
    [
        ("RED:Margin Shortfall:INR 1,234.00 Available:INR 0.00 for C-XY00001 "
         "[FYERS_RISK_CUM_RMS]", -99, "INSUFFICIENT_FUNDS", "quantity"),
        ("RED:Insufficient holdings to sell 5 NSE:SBIN-EQ", -99, "INSUFFICIENT_HOLDINGS",
         "quantity"),
        ("Price should be in multiples of tick size 0.05", -50, "INVALID_PRICE", "limit_price"),
        ("Trigger price should be less than limit price", -50, "INVALID_PRICE", "trigger_price"),
        ("Order price is outside the circuit limits", -99, "PRICE_OUT_OF_RANGE", "limit_price"),
        ("Please provide a valid symbol", -300, "INVALID_SYMBOL", "symbol"),
        ("Invalid qty: must be a multiple of the lot size", -50, "INVALID_QUANTITY", "quantity"),
        ("Invalid order id", -51, "UNKNOWN_ORDER", "order_id"),
        ("Order is not in pending state; it cannot be cancelled", -99, "NOT_OPEN", "order_id"),
        ("Order already cancelled", -99, "NOT_OPEN", "order_id"),
        ("Market is closed", -99, "MARKET_CLOSED", None),
        ("Orders are accepted only from a whitelisted static IP", -99, "IP_NOT_WHITELISTED",
         None),
        ("request limit reached", -429, "RATE_LIMITED", None),
        ("Invalid orderTag", -50, "INVALID_TAG", "tag"),
        ("Trading in this scrip is restricted", -99, "NOT_ALLOWED", None),
        ("Intraday not allowed for this scrip (T2T)", -99, "NOT_ALLOWED", None),
        ("Invalid productType", -50, "INVALID_PRODUCT", "product"),
        ("Symbol does not exist", -99, "INVALID_SYMBOL", "symbol"),
        ("Invalid parameters", -50, "INVALID_PARAMETERS", None),
        ("Something unexpected", -99, "BROKER_REJECTED", None),
        ("", None, "BROKER_REJECTED", None),
    ],
)  # fmt: skip
async def test_rejection_messages_map_to_codes(
    client: FyersRestClient,
    fake: FakeFyersRest,
    message: str,
    fyers_code: int | None,
    code: str,
    field: str | None,
) -> None:
    assert classify_rejection(fyers_code, message) == (code, field)
    if fyers_code is None or fyers_code == -429:  # a -429 envelope is retried, not refused
        return
    fake.reject_next(message, code=fyers_code)
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(SBIN, "BUY", 1)
    exc = info.value
    assert (exc.code, exc.field, exc.fyers_code, exc.fyers_message) == (
        code, field, fyers_code, message,
    )  # fmt: skip
    (order,) = await client.orderbook()  # Fyers keeps rejected orders in the book
    assert order.status is OrderStatus.REJECTED and order.message == message


async def test_rejections_from_the_fake_risk_checks(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(SBIN, "SELL", 21, "MARKET", "CNC")  # holds no SBIN
    assert info.value.code == "INSUFFICIENT_HOLDINGS"
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(INFY, "SELL", 21, "MARKET", "CNC")  # holds 20
    assert info.value.code == "INSUFFICIENT_HOLDINGS"
    await client.place_order(INFY, "SELL", 20, "MARKET", "CNC")
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(SBIN, "BUY", 1300, "MARKET", "CNC")  # ₹10.4 lakh > ₹10 lakh
    assert info.value.code == "INSUFFICIENT_FUNDS" and "Margin Shortfall" in info.value.reason
    await client.place_order(SBIN, "BUY", 1300, "MARKET", "INTRADAY")  # 20% margin fits
    await client.place_order(SBIN, "SELL", 1300, "MARKET", "INTRADAY")  # closing needs none
    with pytest.raises(FyersOrderRejected) as info:
        await client.modify_order("nope", kind="LIMIT", limit_price=1)
    assert info.value.code == "UNKNOWN_ORDER"


@pytest.mark.parametrize(
    ("raw", "status", "fyers"),
    [
        (1, OrderStatus.CANCELLED, FyersStatus.CANCELLED),
        (2, OrderStatus.FILLED, FyersStatus.FILLED),
        (3, OrderStatus.PENDING, FyersStatus.OTHER),
        (4, OrderStatus.PENDING, FyersStatus.TRANSIT),
        (5, OrderStatus.REJECTED, FyersStatus.REJECTED),
        (6, OrderStatus.OPEN, FyersStatus.PENDING),
        (7, OrderStatus.CANCELLED, FyersStatus.EXPIRED),
        (90, OrderStatus.PENDING, FyersStatus.OTHER),
        (None, OrderStatus.PENDING, FyersStatus.OTHER),
        ("2", OrderStatus.PENDING, FyersStatus.OTHER),
        (True, OrderStatus.PENDING, FyersStatus.OTHER),
    ],
)
def test_every_fyers_status_maps(raw: Any, status: OrderStatus, fyers: FyersStatus) -> None:
    assert map_order_status(raw) is status
    assert FyersStatus.of(raw) is fyers
    order = parse_order({"id": "1", "status": raw, "side": -1, "type": 4, "qty": 5})
    assert (order.status, order.fyers_status, order.side, order.kind) == (
        status, fyers, Side.SELL, OrderKind.SL,
    )  # fmt: skip


def test_parse_order_tolerates_odd_rows() -> None:
    order = parse_order({"id": 7, "qty": "5", "limitPrice": "801.10", "orderTag": "2:Untagged",
                         "orderDateTime": "31-Feb-2026 10:00:00", "type": 9})  # fmt: skip
    assert (order.order_id, order.quantity, order.limit_price, order.tag, order.placed_at) == (
        "7", 5, Decimal("801.10"), None, None,
    )  # fmt: skip
    assert order.kind is None and order.product_enum is None and order.remaining_quantity == 5


# ==================================================================== lost answers, no doubles


async def test_lost_answer_after_placing_is_found_not_resent(
    client: FyersRestClient, fake: FakeFyersRest, clock: FakeClock
) -> None:
    fake.drop_next(method="POST", path="/orders/sync", processed=True)
    ack = await client.place_order(SBIN, "BUY", 10, tag="once1")
    assert ack.recovered and ack.attempts == 1 and ack.tag == "once1"
    assert len(fake.orders) == 1 and ack.order_id in fake.orders
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in fake.requests] == [
        ("POST", "sync"), ("GET", "orders"),
    ]  # fmt: skip
    assert clock.sleeps == [0.5]  # the settle delay, on the fake clock


async def test_lost_request_is_resent_once_after_lookup(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.drop_next(method="POST", path="/orders/sync", processed=False)
    ack = await client.place_order(SBIN, "BUY", 10, tag="twice1")
    assert not ack.recovered and ack.attempts == 2
    assert len(fake.orders) == 1
    posts = fake.requests_to("/orders/sync", "POST")
    assert len(posts) == 2 and posts[0].body == posts[1].body  # the same tag both times
    assert [r.method for r in fake.requests] == ["POST", "GET", "POST"]


async def test_repeated_loss_raises_uncertain_never_a_third_send(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.drop_next(2, method="POST", path="/orders/sync", processed=False)
    with pytest.raises(SubmitUncertain) as info:
        await client.place_order(SBIN, "BUY", 10, tag="gone1")
    assert info.value.tag == "gone1" and "find_by_tag" in str(info.value)
    assert len(fake.requests_to("/orders/sync", "POST")) == 2 and fake.orders == {}


async def test_unreadable_book_after_loss_never_resends(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.drop_next(method="POST", path="/orders/sync", processed=True)
    fake.drop_next(4, method="GET", path="/orders")  # every lookup (and its retry) lost
    with pytest.raises(SubmitUncertain, match="could not be read"):
        await client.place_order(SBIN, "BUY", 10, tag="dark1")
    assert len(fake.requests_to("/orders/sync", "POST")) == 1 and len(fake.orders) == 1
    found = await client.find_by_tag("dark1")  # later reconciliation finds it
    assert found is not None and found.status is OrderStatus.FILLED


async def test_loss_found_rejected_or_mismatched(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.reject_next("RED:Margin Shortfall:INR 5.00 Available:INR 0.00")
    fake.drop_next(method="POST", path="/orders/sync", processed=True)
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(SBIN, "BUY", 10, tag="rej1")
    assert info.value.code == "INSUFFICIENT_FUNDS"
    await client.place_order(INFY, "BUY", 1, tag="dup1")  # someone else used the tag
    fake.drop_next(method="POST", path="/orders/sync", processed=False)
    with pytest.raises(SubmitUncertain, match="tags must be unique"):
        await client.place_order(SBIN, "BUY", 10, tag="dup1")


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_count_as_lost(
    client: FyersRestClient, fake: FakeFyersRest, status: int
) -> None:
    fake.error_next(status, method="POST", path="/orders/sync")
    ack = await client.place_order(SBIN, "BUY", 1, tag="e5xx")
    assert ack.attempts == 2 and len(fake.orders) == 1
    fake.error_next(status, count=2, method="GET", path="/funds")
    with pytest.raises(FyersUnavailable, match="failed 2 times"):
        await client.funds()


async def test_ok_without_id_looks_the_tag_up(client: FyersRestClient, fake: FakeFyersRest) -> None:
    await client.place_order(SBIN, "BUY", 1, tag="t201")
    fake.error_next(200, {"s": "ok", "code": 201, "message": "sent, no ack yet"},
                    method="POST", path="/orders/sync")  # fmt: skip
    with pytest.raises(SubmitUncertain, match="without an id"):
        await client.place_order(SBIN, "BUY", 1, tag="t202")


async def test_lost_answers_over_real_http(
    fake: FakeFyersRest, clock: FakeClock, server: ThreadedFakeServer
) -> None:
    async with make_client(fake, clock, server.base_url, timeout=0.3) as client:
        fake.drop_next(method="POST", path="/orders/sync")  # connection closed, no answer
        ack = await client.place_order(SBIN, "BUY", 1, tag="net1")
        assert ack.recovered and len(fake.orders) == 1
        fake.delay_next(5.0, method="POST", path="/orders/sync")  # answers after we gave up
        started = time.monotonic()
        ack = await client.place_order(SBIN, "BUY", 1, tag="net2")
        assert ack.recovered and len(fake.orders) == 2
        assert time.monotonic() - started < 3.0  # the client's timeout, not the server's delay


async def test_modify_and_cancel_after_lost_answers(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    ack = await client.place_order(SBIN, "BUY", 5, "LIMIT", limit_price="790.00")
    fake.drop_next(method="PATCH", processed=True)
    mod = await client.modify_order(ack.order_id, kind="LIMIT", limit_price="791.00")
    assert mod.attempts == 2 and fake.orders[ack.order_id].limit == Decimal("791.00")
    fake.drop_next(method="DELETE", processed=True)
    cancel = await client.cancel_order(ack.order_id)
    assert cancel.recovered and len(fake.requests_to("/orders/sync", "DELETE")) == 1
    # lost before reaching Fyers: the book shows it open, so the cancel is sent again
    second = await client.place_order(SBIN, "BUY", 5, "LIMIT", limit_price="790.00")
    fake.drop_next(method="DELETE", processed=False)
    cancel = await client.cancel_order(second.order_id)
    assert cancel.attempts == 2 and not cancel.recovered
    assert fake.orders[second.order_id].status == 1
    # lost, and meanwhile it filled: NOT_OPEN
    third = await client.place_order(SBIN, "BUY", 5, "LIMIT", limit_price="790.00")
    fake.fill(third.order_id)
    fake.drop_next(method="DELETE", processed=True)
    with pytest.raises(FyersOrderRejected) as info:
        await client.cancel_order(third.order_id)
    assert info.value.code == "NOT_OPEN"


# ==================================================================== rate limits and 429s


async def test_limiter_spaces_a_burst(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    start = clock.now
    grants: list[float] = []

    async def one() -> None:
        await limiter.acquire("all")
        grants.append(clock.now - start)

    await asyncio.gather(*(one() for _ in range(25)))
    assert grants[:10] == [0.0] * 10
    assert grants[10:20] == pytest.approx([1.0] * 10)
    assert grants[20:] == pytest.approx([2.0] * 5)
    assert limiter.granted == 25 and limiter.delay() == pytest.approx(0.0)


async def test_limiter_per_minute_and_orders(clock: FakeClock) -> None:
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(200):
        await limiter.acquire()
    assert clock.now - start == pytest.approx(19.0)  # 10/s
    await limiter.acquire()
    assert clock.now - start == pytest.approx(60.0)  # the 201st waits for the minute
    mixed = RateLimiter({"all": ((100, 1.0),), "orders": ((10, 1.0),)},
                        clock=clock, sleep=clock.sleep)  # fmt: skip
    t0 = clock.now
    for _ in range(10):
        await mixed.acquire("all", "orders")
    for _ in range(50):
        await mixed.acquire("all")  # reads are not held back by the order window
    assert clock.now == t0
    await mixed.acquire("all", "orders")
    assert clock.now - t0 == pytest.approx(1.0)
    with pytest.raises(Exception, match="unknown rate-limit group"):
        await mixed.acquire("nope")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1.5, allow_nan=False), min_size=1, max_size=260))
def test_limiter_grants_are_earliest_allowed(gaps: list[float]) -> None:
    clock = FakeClock(0.0)
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    grants: list[float] = []

    async def run() -> None:
        for gap in gaps:
            clock.now += gap
            arrival = clock.now
            await limiter.acquire()
            grants.append(clock.now)
            earliest = max(
                arrival,
                grants[-11] + 1.0 if len(grants) > 10 else arrival,
                grants[-201] + 60.0 if len(grants) > 200 else arrival,
            )
            assert clock.now == pytest.approx(earliest, abs=1e-6)

    asyncio.run(run())
    for i in range(len(grants) - 10):
        assert grants[i + 10] - grants[i] >= 1.0 - 1e-6
    for i in range(len(grants) - 200):
        assert grants[i + 200] - grants[i] >= 60.0 - 1e-6


async def test_our_limiter_keeps_the_fake_happy(clock: FakeClock) -> None:
    fake = FakeFyersRest(prices=PRICES, clock=clock, enforce_limits=True)
    async with make_client(fake, clock) as client:
        results = await asyncio.gather(*(client.funds() for _ in range(230)))
        assert len(results) == 230 and fake.limit_violations == 0
        for _ in range(15):
            await client.place_order(SBIN, "BUY", 1)
    assert fake.limit_violations == 0
    assert sum(clock.sleeps) >= 60.0  # 230 reads cannot fit in one minute


async def test_429_from_a_limiting_server_pauses_and_retries(clock: FakeClock) -> None:
    fake = FakeFyersRest(prices=PRICES, clock=clock, enforce_limits=True)
    loose = RateLimiter({"all": ((1000, 1.0),), "orders": ((1000, 1.0),)},
                        clock=clock, sleep=clock.sleep)  # fmt: skip
    start = clock.now
    async with make_client(fake, clock, limiter=loose) as client:
        for _ in range(15):
            await client.profile()
        assert fake.limit_violations == 1 and len(fake.requests) == 16
        assert [r.ts - start for r in fake.requests] == [0.0] * 11 + [1.0] * 5
        loose.pause(2.5)  # a pause holds back every caller, whatever it calls
        await client.positions()
    assert clock.now - start == pytest.approx(3.5)


async def test_429_with_retry_after_headers(client: FyersRestClient, fake: FakeFyersRest,
                                           clock: FakeClock) -> None:  # fmt: skip
    fake.rate_limit_next(2, retry_after=1.5, path="/funds")
    start = clock.now
    await client.funds()
    assert clock.now - start == pytest.approx(3.0) and len(fake.requests) == 3
    fake.rate_limit_next(4, retry_after=0.25)
    with pytest.raises(RateLimited) as info:
        await client.positions()
    assert info.value.retry_after == 0.25 and info.value.status == 429
    fake.rate_limit_next(1, retry_after=120)  # longer than we wait: give up at once
    with pytest.raises(FyersOrderRejected) as info2:
        await client.place_order(SBIN, "BUY", 1)
    assert info2.value.code == "RATE_LIMITED" and fake.orders == {}
    assert _retry_after(httpx.Headers({"Retry-After": "2", "X-Retry-After-Ms": "1250"})) == 1.25
    assert _retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 1.0
    assert _retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0


# ==================================================================== tokens and secrets


async def test_expired_token_is_refused_before_sending(
    fake: FakeFyersRest, clock: FakeClock
) -> None:
    dead = fake.new_token(ttl=-5)
    client = FyersRestClient(f"{fake.app_id}:{dead}", base_url=MOCK_URL,
                             transport=mock_transport(fake), now=clock)  # fmt: skip
    with pytest.raises(TokenExpired, match=r"expired at .*log in again") as info:
        await client.funds()
    assert isinstance(info.value, AuthError) and dead not in str(info.value)
    assert fake.requests == []
    client.set_token(fake.authorization)  # a renewed token, same client
    assert (await client.funds()).available_balance == Decimal("1000000")
    await client.aclose()


async def test_server_side_expiry_and_bad_tokens(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.expire_tokens()
    with pytest.raises(AuthError, match="code -8") as info:
        await client.place_order(SBIN, "BUY", 1)
    assert not isinstance(info.value, TokenExpired) and fake.orders == {}
    with pytest.raises(AuthError, match="bare access token"):
        FyersRestClient(fake.access_token)
    with pytest.raises(AuthError, match="not 'OTHER-1'"):
        FyersRestClient(Token.from_jwt(fake.app_id, fake.access_token), app_id="OTHER-1")


async def test_secrets_stay_out_of_reprs_messages_and_logs(
    fake: FakeFyersRest, clock: FakeClock, server: ThreadedFakeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)  # ours, httpx and httpcore, all of it
    jwt = fake.access_token
    texts: list[str] = []
    async with make_client(fake, clock, server.base_url, timeout=0.3) as client:
        texts += [repr(client), str(client), repr(client.token)]
        ack = await client.place_order(SBIN, "BUY", 1)
        texts.append(repr(await client.orderbook()) + repr(ack))
        texts.append(repr(await client.positions()) + repr(await client.funds()))
        fake.drop_next(method="POST", path="/orders/sync")
        await client.place_order(SBIN, "BUY", 1)
        fake.reject_next(f"echo {jwt}")  # even a server that echoes the token
        with pytest.raises(FyersOrderRejected) as rej:
            await client.place_order(SBIN, "BUY", 1)
        texts += [str(rej.value), repr(rej.value)]
        fake.rate_limit_next(4)
        with pytest.raises(RateLimited) as lim:
            await client.funds()
        texts.append(str(lim.value))
        fake.expire_tokens()
        with pytest.raises(AuthError) as auth:
            await client.funds()
        texts.append(str(auth.value))
    assert "placing Fyers order" in caplog.text and "HTTP Request" in caplog.text
    everything = caplog.text + "\n".join(texts)
    assert jwt not in everything and jwt.split(".")[1] not in everything
    assert "<hidden>" in str(rej.value)


# ==================================================================== tags, engine orders, fake


@given(st.text(max_size=60), st.text(max_size=20))
def test_client_tags_are_always_valid_and_stable(order_id: str, namespace: str) -> None:
    tag = client_tag(order_id, namespace)
    assert validate_tag(tag) == tag == client_tag(order_id, namespace)


def test_tags() -> None:
    assert client_tag("LT0000001", "desk1") == "desk1LT0000001"
    assert client_tag("LT0000001", "desk2") != client_tag("LT0000001", "desk1")
    long = client_tag("LT0000001", "a-very-long-session-name-indeed")
    assert long.startswith("h") and len(long) == 25
    assert new_tag() != new_tag() and validate_tag(new_tag())


async def test_place_engine_order_tags_it_for_recovery(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    order = Order("LT0000042", SBIN, Side.BUY, OrderKind.SL, Product.CNC, 3,
                  limit_paise=81_205, trigger_paise=81_100)  # fmt: skip
    ack = await client.place(order, namespace="desk1")
    assert ack.tag == "desk1LT0000042"
    body = fake.requests[-1].body
    assert (body["type"], body["limitPrice"], body["stopPrice"], body["productType"]) == (
        4, Decimal("812.05"), Decimal("811.0"), "CNC",
    )  # fmt: skip
    found = await client.find_by_tag("desk1LT0000042")
    assert found is not None and found.order_id == ack.order_id
    assert await client.find_by_tag("nobody") is None


async def test_read_errors_and_client_lifecycle(fake: FakeFyersRest, clock: FakeClock) -> None:
    fake.error_next(400, {"s": "error", "code": -50, "message": "Invalid parameters"},
                    path="/tradebook")  # fmt: skip
    own = httpx.AsyncClient(transport=mock_transport(fake))
    client = make_client(fake, clock, client=own)
    with pytest.raises(FyersApiError, match="code -50") as info:
        await client.tradebook()
    assert info.value.code == -50 and info.value.status == 400
    fake.error_next(404, path="/funds")
    with pytest.raises(FyersApiError, match="code 404") as info:
        await client.funds()
    assert not isinstance(info.value, FyersUnavailable)
    fake.error_next(502, count=2, path="/funds")
    with pytest.raises(FyersUnavailable, match="HTTP 502"):
        await client.funds()
    await client.aclose()
    assert not own.is_closed  # a client we were given is the caller's to close
    await own.aclose()


def test_fake_handler_is_transport_agnostic(fake: FakeFyersRest) -> None:
    auth = {"Authorization": fake.authorization}
    assert fake.handle("GET", "/elsewhere", auth, None)[0] == 404
    assert fake.handle("GET", "/api/v3/nope", auth, None)[0] == 404
    assert fake.handle("PUT", "/api/v3/orders/sync", auth, b"{}")[0] == 405
    status, body = fake.handle("GET", "/api/v3/funds", {}, None)
    assert (status, body["code"]) == (401, -16)
    body_text = '{"symbol":"NSE:SBIN-EQ","qty":1,"type":2,"side":1,"productType":"INTRADAY",' \
        '"limitPrice":0,"stopPrice":0,"validity":"DAY","disclosedQty":0,"offlineOrder":false,' \
        '"orderTag":"abc"}'  # fmt: skip
    status, body = fake.handle("POST", "/api/v3/orders/sync", auth, body_text)
    assert status == 200 and body["code"] == 1101
    for query in ("order_tag=abc", "order_tag=1:abc", f"id={body['id']}"):
        status, book = fake.handle("GET", f"/api/v3/orders?{query}", auth, None)
        assert [o["id"] for o in book["orderBook"]] == [body["id"]]
    status, book = fake.handle("GET", "/api/v3/orders?order_tag=zzz", auth, None)
    assert book["orderBook"] == []
    status, body = fake.handle("POST", "/api/v3/orders/sync", auth, b"not json")
    assert (status, body["code"]) == (400, -50)
    rec = fake.requests[-1]
    assert rec.body == "not json" and rec.headers == {"authorization": fake.authorization}


def test_sdk_wrote_no_logs_in_the_cwd() -> None:
    assert not list(Path.cwd().glob("fyers*.log")), "the SDK wrote logs into the CWD"


async def test_403_static_ip_is_a_refusal_not_a_login_problem(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    ip = {"s": "error", "code": -99, "message": "Orders are accepted only from a whitelisted IP"}
    fake.error_next(403, ip, method="POST", path="/orders/sync")
    with pytest.raises(FyersOrderRejected) as info:
        await client.place_order(SBIN, "BUY", 1)
    assert (info.value.code, info.value.http_status) == ("IP_NOT_WHITELISTED", 403)
    fake.error_next(403, {"s": "error", "code": -99, "message": "Forbidden"}, path="/funds")
    with pytest.raises(AuthError, match="HTTP 403"):
        await client.funds()
    assert fake.orders == {}


async def test_token_dying_during_the_lookup_is_uncertain(
    client: FyersRestClient, fake: FakeFyersRest
) -> None:
    fake.drop_next(method="POST", path="/orders/sync", processed=True)
    fake.error_next(401, {"s": "error", "code": -8, "message": "expired"}, path="/orders")
    with pytest.raises(SubmitUncertain, match="could not be read") as info:
        await client.place_order(SBIN, "BUY", 2, tag="late1")
    assert info.value.tag == "late1" and len(fake.orders) == 1
    assert len(fake.requests_to("/orders/sync", "POST")) == 1


async def test_fake_prices_from_a_callable(clock: FakeClock) -> None:
    fake = FakeFyersRest(prices=lambda s: "100.05" if s == SBIN else None, clock=clock)
    async with make_client(fake, clock) as client:
        ack = await client.place_order(SBIN, "BUY", 3)
        (trade,) = await client.tradebook()
        assert trade.order_id == ack.order_id and trade.price == Decimal("100.05")
        with pytest.raises(FyersOrderRejected) as info:
            await client.place_order(INFY, "BUY", 3)
        assert info.value.code == "INVALID_SYMBOL"
    with pytest.raises(Exception, match="callable"):
        fake.set_price(SBIN, 1)
