"""Basket orders (``POST /multi-order/sync``) and sliced orders (``isSliceOrder``) in our
client (issue #20): typed per-leg results, client-side checks that name the leg, lost answers
settled by tag, and a differential run against the official SDK 3.2.0 on the same fake.

Fault tests use the fake trading API in process (``httpx.MockTransport``, a fake clock for the
limiter and the settle delay: no waiting); the SDK runs against the fake server over loopback
(``Config.API`` = the fake), its blocking calls off the loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from fyers_sdk import sdk_model
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

from livetrade.errors import AuthError
from livetrade.fyers.broker import (
    BASKET_PATH,
    BasketLeg,
    FyersOrderRejected,
    FyersRestClient,
    RateLimiter,
)
from livetrade.fyers.rest import is_loopback
from livetrade.model import Side
from livetrade.testing.fake_fyers import FakeFyersServer
from livetrade.testing.fake_rest import FakeFyersRest, mock_transport

SBIN, INFY = "NSE:SBIN-EQ", "NSE:INFY-EQ"
MOCK_URL = "http://127.0.0.1:9/api/v3"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def limited(clock: FakeClock) -> dict[str, Any]:
    return {"limiter": RateLimiter(clock=clock, sleep=clock.sleep), "sleep": clock.sleep}


# ================================================================ in process (faults)


@pytest.fixture
def rest() -> FakeFyersRest:
    return FakeFyersRest(
        prices={SBIN: Decimal("800.00"), INFY: Decimal("1500.00")},
        funds=Decimal("10000000"),
        freeze_qty={SBIN: 100},
    )


@pytest.fixture
async def mock_client(rest: FakeFyersRest) -> AsyncIterator[FyersRestClient]:
    clock = FakeClock()
    client = FyersRestClient(
        rest.authorization, base_url=MOCK_URL, transport=mock_transport(rest), **limited(clock)
    )
    yield client
    await client.aclose()


def basket(n: int = 3) -> list[BasketLeg]:
    return [
        BasketLeg(SBIN, "BUY", 2 + i, "LIMIT", limit_price=Decimal("790.00"), tag=f"bk{i}")
        for i in range(n)
    ]


async def test_basket_places_each_leg_and_types_each_result(
    rest: FakeFyersRest, mock_client: FyersRestClient
) -> None:
    legs: list[BasketLeg | dict[str, Any]] = [
        *basket(2),
        {"symbol": "NSE:NOSUCH-EQ", "side": Side.SELL, "quantity": 1, "tag": "bk9"},
    ]
    ack = await mock_client.place_basket(legs)
    assert not ack.ok and ack.fyers_code == 200 and ack.attempts == 1
    first, second, bad = ack.legs
    assert first.ok and second.ok and not bad.ok
    assert [leg.tag for leg in ack.legs] == ["bk0", "bk1", "bk9"]
    assert [rest.orders[i].qty for i in ack.order_ids if i] == [2, 3]
    assert first.message.endswith(first.order_id or "?") and first.http_status == 200
    assert ack.rejected == (bad,) and bad.rejection is not None
    assert (bad.rejection.code, bad.rejection.field) == ("INVALID_SYMBOL", "symbol")
    assert (bad.fyers_code, bad.http_status) == (-300, 400)
    assert ack.order_ids == (first.order_id, second.order_id, None)
    (sent,) = rest.requests_to(BASKET_PATH, "POST")
    assert [b["orderTag"] for b in sent.body] == ["bk0", "bk1", "bk9"]


async def test_basket_checks_every_leg_before_sending(
    rest: FakeFyersRest, mock_client: FyersRestClient
) -> None:
    cases: list[tuple[Any, str, str]] = [
        (basket(11), "INVALID_BASKET", "orders"),
        ([], "INVALID_BASKET", "orders"),
        ({"symbol": SBIN}, "INVALID_BASKET", "orders"),
        ([*basket(1), BasketLeg(SBIN, "BUY", 0)], "INVALID_QUANTITY", "orders[1].quantity"),
        ([BasketLeg(SBIN, "BUY", 1, "LIMIT")], "MISSING_PRICE", "orders[0].limit_price"),
        ([{"symbol": SBIN, "side": "BUY", "qty": 1}], "INVALID_BASKET", "orders[0]"),
        ([BasketLeg(SBIN, "BUY", 1, tag="t1"), BasketLeg(INFY, "BUY", 1, tag="t1")],
         "INVALID_TAG", "orders.tag"),
    ]  # fmt: skip
    for legs, code, fld in cases:
        with pytest.raises(FyersOrderRejected) as info:
            await mock_client.place_basket(legs)
        assert (info.value.code, info.value.field) == (code, fld), legs
    assert "Basket order 2: Quantity" in str(
        await _reason(mock_client, [*basket(1), BasketLeg(SBIN, "BUY", 0)])
    )
    assert rest.requests_to(BASKET_PATH) == []  # nothing was sent


async def _reason(client: FyersRestClient, legs: list[BasketLeg]) -> str:
    try:
        await client.place_basket(legs)
    except FyersOrderRejected as exc:
        return exc.reason
    raise AssertionError("not refused")


async def test_basket_refused_whole_and_dead_token(
    rest: FakeFyersRest, mock_client: FyersRestClient
) -> None:
    rest.error_next(400, {"s": "error", "code": -50, "message": "Invalid parameters"})
    with pytest.raises(FyersOrderRejected) as info:
        await mock_client.place_basket(basket(2))
    assert info.value.code == "INVALID_PARAMETERS" and "the basket" in info.value.reason
    rest.rate_limit_next(5, retry_after=1)
    with pytest.raises(FyersOrderRejected, match="basket was not placed") as limited_:
        await mock_client.place_basket(basket(2))
    assert limited_.value.code == "RATE_LIMITED"
    rest.expire_tokens()
    with pytest.raises(AuthError):
        await mock_client.place_basket(basket(1))
    assert rest.orders == {}


async def test_a_lost_basket_answer_is_settled_by_tag_never_resent_blind(
    rest: FakeFyersRest, mock_client: FyersRestClient
) -> None:
    rest.drop_next(method="POST", path=BASKET_PATH)  # placed, answer lost
    ack = await mock_client.place_basket(basket(3))
    assert ack.ok and all(leg.recovered for leg in ack.legs) and ack.attempts == 1
    assert len(rest.orders) == 3 and len(rest.requests_to(BASKET_PATH, "POST")) == 1

    rest.drop_next(method="POST", path=BASKET_PATH, processed=False)  # lost before Fyers
    legs = [BasketLeg(INFY, "SELL", 1, tag=f"lost{i}") for i in range(2)]
    again = await mock_client.place_basket(legs)
    assert again.ok and again.attempts == 2 and not any(leg.recovered for leg in again.legs)
    assert len(rest.orders) == 5  # resent once, placed once

    rest.drop_next(method="POST", path=BASKET_PATH)  # answer lost ...
    rest.error_next(503, count=4, method="GET", path="/orders")  # ... and the book unreadable
    unsure = await mock_client.place_basket([BasketLeg(SBIN, "BUY", 1, tag="unsure1")])
    (leg,) = unsure.legs
    assert leg.uncertain and leg.order_id is None and leg.rejection is None
    assert len(rest.requests_to(BASKET_PATH, "POST")) == 4  # never resent


async def test_slice_splits_above_the_freeze_quantity(
    rest: FakeFyersRest, mock_client: FyersRestClient
) -> None:
    with pytest.raises(FyersOrderRejected) as whole:
        await mock_client.place_order(SBIN, "BUY", 250, tag="whole")
    assert whole.value.code == "INVALID_QUANTITY" and "freeze" in whole.value.reason
    ack = await mock_client.place_order(SBIN, "BUY", 250, tag="sliced", slice=True)
    assert (ack.fyers_code, ack.message) == (1101, "Order Slice placed successfully")
    assert len(ack.slices) == 3 and ack.order_id == ack.slices[0].order_id
    assert [rest.orders[i].qty for i in ack.order_ids] == [100, 100, 50]
    assert {rest.orders[i].tag for i in ack.order_ids} == {"sliced"}
    small = await mock_client.place_order(SBIN, "BUY", 40, tag="small", slice=True)
    assert small.slices == () and small.order_ids == (small.order_id,)
    assert rest.requests_to("/orders/sync", "POST")[-1].body["isSliceOrder"] is True
    with pytest.raises(FyersOrderRejected) as too_many:
        await mock_client.place_order(SBIN, "BUY", 1001, tag="huge", slice=True)
    assert too_many.value.fyers_code == -50 and "10 slices" in too_many.value.reason
    plain = await mock_client.place_order(INFY, "BUY", 1, tag="plain")
    assert "isSliceOrder" not in rest.requests_to("/orders/sync", "POST")[-1].body
    assert plain.slices == ()


async def test_a_lost_slice_answer_recovers_every_slice_by_tag(
    rest: FakeFyersRest, mock_client: FyersRestClient
) -> None:
    rest.drop_next(method="POST", path="/orders/sync")
    ack = await mock_client.place_order(SBIN, "SELL", 230, tag="lostslice", slice=True)
    assert ack.recovered and len(ack.slices) == 3 and len(rest.orders) == 3
    assert sorted(rest.orders[i].qty for i in ack.order_ids) == [30, 100, 100]
    rest.drop_next(method="POST", path="/orders/sync", processed=False)
    again = await mock_client.place_order(SBIN, "SELL", 120, tag="resent", slice=True)
    assert not again.recovered and again.attempts == 2 and len(again.slices) == 2


# ================================================================ the official SDK, same fake

fyers_model = pytest.importorskip("fyers_apiv3.fyersModel")


@pytest.fixture
async def server() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=2, tick_interval=None, freeze_qty={SBIN: 100}) as fake:
        assert is_loopback(fake.config.api_url)
        yield fake


@pytest.fixture
async def client(server: FakeFyersServer) -> AsyncIterator[FyersRestClient]:
    c = FyersRestClient(
        server.config.access_token, base_url=server.config.api_url, **limited(FakeClock())
    )
    yield c
    await c.aclose()


@pytest.fixture
def sdk(
    server: FakeFyersServer,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """The official SDK's ``FyersModel`` on the fake server (tests/fyers_sdk.py)."""
    with sdk_model(server, tmp_path_factory.mktemp("sdk_logs"), monkeypatch) as model:
        yield model


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def shape(row: dict[str, Any]) -> dict[str, Any]:
    """An order-book row without what differs between two placements of the same order."""
    skip = {"id", "id_fyers", "exchOrdId", "orderDateTime", "orderTag", "orderNumStatus", "slNo"}
    return {k: v for k, v in row.items() if k not in skip}


ID_RE = re.compile(r"\d{10,}")


async def test_basket_differential_with_the_sdk(
    server: FakeFyersServer, client: FyersRestClient, sdk: Any
) -> None:
    legs = [
        BasketLeg(SBIN, "BUY", 2, "LIMIT", limit_price=Decimal("790.05"), tag="ours1"),
        BasketLeg(INFY, "SELL", 3, "SL", limit_price=Decimal("1300"), trigger_price=1301,
                  product="CNC", tag="ours2"),
        BasketLeg("NSE:NOSUCH-EQ", "BUY", 1, tag="ours3"),
    ]  # fmt: skip
    ours = await client.place_basket(legs)
    sent = server.orders.requests_to(BASKET_PATH, "POST")[-1]
    plain = json.loads(sent.raw_body)  # our wire JSON, numbers as the SDK's users write them
    theirs_body = [{**b, "orderTag": b["orderTag"].replace("ours", "sdk")} for b in plain]
    theirs = await call(sdk.place_basket_orders, theirs_body)
    sdk_sent = server.orders.requests_to(BASKET_PATH, "POST")[-1]
    # the same request: method, path, the headers Fyers reads, and the JSON body
    for name in ("authorization", "content-type", "version"):
        assert sent.headers.get(name) == sdk_sent.headers.get(name), name
    assert [{**b, "orderTag": ""} for b in sent.body] == [
        {**b, "orderTag": ""} for b in sdk_sent.body
    ]
    # the same answers, leg by leg, as our typed results read them
    assert (theirs["s"], theirs["code"]) == ("ok", ours.fyers_code)
    for leg, raw in zip(ours.legs, theirs["data"], strict=True):
        body = raw["body"]
        assert leg.http_status == raw["statusCode"] and leg.fyers_code == body["code"]
        assert ID_RE.sub("N", leg.message) == ID_RE.sub("N", body["message"])
        assert leg.ok == (body["s"] == "ok")
    # and the same orders in the book
    book = (await call(sdk.orderbook))["orderBook"]
    by_tag = {row["orderTag"].split(":", 1)[1]: row for row in book}
    for n in (1, 2):
        assert shape(by_tag[f"ours{n}"]) == shape(by_tag[f"sdk{n}"])


async def test_slice_differential_with_the_sdk(
    server: FakeFyersServer, client: FyersRestClient, sdk: Any
) -> None:
    ours = await client.place_order(SBIN, "BUY", 230, tag="oursl", slice=True)
    sent = server.orders.requests_to("/orders/sync", "POST")[-1]
    theirs = await call(sdk.place_order, {**json.loads(sent.raw_body), "orderTag": "sdksl"})
    assert (theirs["s"], theirs["code"], theirs["message"]) == ("ok", ours.fyers_code, ours.message)
    assert [d["statusCode"] for d in theirs["data"]] == [s.http_status for s in ours.slices]
    sdk_ids = [d["body"]["id"] for d in theirs["data"]]
    assert [server.orders.orders[i].qty for i in sdk_ids] == [
        server.orders.orders[i].qty for i in ours.order_ids
    ]
