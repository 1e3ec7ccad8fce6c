"""Fyers' margin calculator (``POST /multiorder/margin``, fno.md §4; #15 item 4): our client's
``order_margin`` (paise, typed errors, retries and 429s through the governor), the fake's
figures from ``livetrade.fno.margin`` with the hedge benefit only when the buy leg comes first,
its error codes, and the official SDK 3.2.0 (which has no margin method: its own POST
transport, ``service.post_call``) against the fake server beside our client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fyers_sdk import sdk_model
from hypothesis import given
from hypothesis import strategies as st
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)
from test_fyers_basket import FakeClock, limited

from livetrade.clock import VirtualClock
from livetrade.errors import FyersApiError, InvalidInput, RateLimited
from livetrade.fno.margin import MarginParams, contract_margin
from livetrade.fyers.broker import BasketLeg, FyersRestClient, FyersUnavailable, OrderMargin
from livetrade.fyers.margin_call import MARGIN_PATH, margin_body, parse_margin
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.model import IST
from livetrade.testing.fake_fyers import FakeFyersServer
from livetrade.testing.fake_rest import FakeFyersRest, mock_transport
from livetrade.testing.fake_rest_types import LOT_MESSAGE, ContractSpec

SBIN, INDEX = "NSE:SBIN-EQ", "NSE:NIFTY50-INDEX"
FUT, CE24000, CE24200 = "NSE:NIFTY26DECFUT", "NSE:NIFTY26DEC24000CE", "NSE:NIFTY26DEC24200CE"
PE23800 = "NSE:NIFTY26DEC23800PE"
EXPIRY = datetime(2026, 12, 29, 15, 30, tzinfo=IST)
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
LOT = 65
MOCK_URL = "http://127.0.0.1:9/api/v3"


def _option(symbol: str, strike: int, kind: str) -> Instrument:
    return Instrument(
        symbol, InstrumentKind.OPTION, LOT, 5, 1800, EXPIRY, strike * 100,
        "CE" if kind == "CE" else "PE", INDEX, "FO",
    )  # fmt: skip


CONTRACTS = {
    FUT: Instrument(FUT, InstrumentKind.FUTURE, LOT, 10, 1800, EXPIRY, None, None, INDEX, "FO"),
    CE24000: _option(CE24000, 24000, "CE"),
    CE24200: _option(CE24200, 24200, "CE"),
    PE23800: _option(PE23800, 23800, "PE"),
}
PRICES = {SBIN: "800", INDEX: "24000", FUT: "24100", CE24000: "300", CE24200: "200", PE23800: "150"}


@pytest.fixture
def rest() -> FakeFyersRest:
    fake = FakeFyersRest(prices=PRICES, funds="500000", clock=NOW.timestamp)
    fake.instrument_of = CONTRACTS.get
    return fake


@pytest.fixture
async def client(rest: FakeFyersRest) -> AsyncIterator[FyersRestClient]:
    clock = FakeClock()
    c = FyersRestClient(
        rest.authorization, base_url=MOCK_URL, transport=mock_transport(rest),
        now=NOW.timestamp, **limited(clock),
    )  # fmt: skip
    yield c
    await c.aclose()


def leg(symbol: str, side: str, lots: int = 1, **kw: Any) -> dict[str, Any]:
    qty = lots * (1 if symbol == SBIN else LOT)
    return {"symbol": symbol, "side": side, "quantity": qty, "product": "MARGIN", **kw}


def span(symbol: str, qty: int, price: str) -> int:
    """What livetrade.fno.margin says (the fake's figure for an unhedged leg), paise."""
    inst = CONTRACTS[symbol]
    return contract_margin(
        inst, qty, int(Decimal(price) * 100), 24000_00, MarginParams(), NOW.date()
    )


# ================================================================ the client on the fake


async def test_figures_in_paise_from_our_approximation(
    rest: FakeFyersRest, client: FyersRestClient
) -> None:
    equity = await client.order_margin([leg(SBIN, "BUY", 10, product="INTRADAY")])
    assert equity == OrderMargin(available=500000_00, total=1600_00, new_order=1600_00)
    assert equity.sufficient and equity.shortfall == 0  # 20% intraday of ₹8,000
    short_fut = await client.order_margin([leg(FUT, "SELL")])
    assert short_fut.new_order == span(FUT, -LOT, "24100") == 192679_50  # 12.3% of notional
    long_ce = await client.order_margin([BasketLeg(CE24000, "BUY", LOT, product="MARGIN")])
    assert long_ce.new_order == LOT * 300_00  # the premium
    limit = await client.order_margin([leg(CE24000, "BUY", kind="LIMIT", limit_price="250")])
    assert limit.new_order == LOT * 250_00  # a limit order at its limit
    short_ce = await client.order_margin([leg(CE24000, "SELL", 3)])
    assert short_ce.new_order == span(CE24000, -3 * LOT, "300") == 3 * 172380_00
    assert not short_ce.sufficient and short_ce.shortfall == short_ce.new_order - 500000_00
    (sent,) = rest.requests_to(MARGIN_PATH, "POST")[-1:]
    assert sent.body == {"data": [{
        "symbol": CE24000, "qty": 3 * LOT, "side": -1, "type": 2, "productType": "MARGIN",
        "limitPrice": 0, "stopLoss": 0, "stopPrice": 0, "takeProfit": 0,
    }]}  # fmt: skip
    assert sent.headers["authorization"] == rest.authorization and sent.headers["version"] == "3"


async def test_the_hedge_counts_only_when_the_buy_leg_comes_first(client: FyersRestClient) -> None:
    short, hedge = leg(CE24000, "SELL"), leg(CE24200, "BUY")
    naked = span(CE24000, -LOT, "300")
    first = await client.order_margin([hedge, short])
    assert first.new_order == LOT * 200_00 + min(naked, LOT * 200_00)  # premium + the width
    second = await client.order_margin([short, hedge])
    assert second.new_order == naked + LOT * 200_00  # no benefit
    assert first.new_order < second.new_order
    other_type = await client.order_margin([leg(PE23800, "BUY"), short])  # a put hedges no call
    assert other_type.new_order == LOT * 150_00 + naked
    half = await client.order_margin([hedge, leg(CE24000, "SELL", 2)])  # one lot covered
    assert half.new_order == LOT * 200_00 + LOT * 200_00 + naked


async def test_closing_a_position_needs_no_margin(
    rest: FakeFyersRest, client: FyersRestClient
) -> None:
    await client.place_order(FUT, "BUY", LOT, product="MARGIN")
    closing = await client.order_margin([leg(FUT, "SELL")])
    assert closing.new_order == 0
    beyond = await client.order_margin([leg(FUT, "SELL", 2)])
    assert beyond.new_order == span(FUT, -LOT, "24100")  # only the new short lot
    used = Decimal("24100") * LOT * rest.intraday_margin  # the fake's own utilized figure
    assert closing.available == int((Decimal("500000") - used) * 100)
    assert beyond.total == int(used * 100) + beyond.new_order


async def test_bad_legs_are_refused_naming_the_field_before_sending(
    rest: FakeFyersRest, client: FyersRestClient
) -> None:
    cases: list[tuple[Any, str]] = [
        ([], "legs"),
        ([leg(SBIN, "BUY")] * 11, "legs"),
        (leg(SBIN, "BUY"), "legs"),
        ([leg(SBIN, "BUY"), leg(SBIN, "BUY", 0)], "legs[1].quantity"),
        ([leg(SBIN, "HOLD")], "legs[0].side"),
        ([leg(SBIN, "BUY", kind="LIMIT")], "legs[0].limit_price"),
        ([leg("SBIN", "BUY")], "legs[0].symbol"),
        ([{"symbol": SBIN, "side": "BUY", "qty": 1}], "legs[0]"),
    ]
    for legs, field in cases:
        with pytest.raises(InvalidInput) as err:
            await client.order_margin(legs)
        assert err.value.field == field, legs
    assert rest.requests_to(MARGIN_PATH) == []


async def test_fyers_refusals_are_api_errors_with_the_code(client: FyersRestClient) -> None:
    with pytest.raises(FyersApiError) as unknown:
        await client.order_margin([leg("NSE:NOSUCH-EQ", "BUY")])
    assert (unknown.value.code, unknown.value.status) == (-300, 400)
    with pytest.raises(FyersApiError) as odd:
        await client.order_margin([{**leg(FUT, "BUY"), "quantity": LOT + 1}])
    assert odd.value.code == -50 and LOT_MESSAGE in str(odd.value)


async def test_lost_answers_are_asked_again_and_429s_wait(
    rest: FakeFyersRest, client: FyersRestClient
) -> None:
    rest.drop_next(path=MARGIN_PATH)
    assert (await client.order_margin([leg(SBIN, "BUY")])).new_order == 160_00
    assert len(rest.requests_to(MARGIN_PATH)) == 2  # read_retries=1: asked once more
    rest.rate_limit_next(path=MARGIN_PATH, retry_after=2.0)
    assert (await client.order_margin([leg(SBIN, "BUY")])).new_order == 160_00
    assert len(rest.requests_to(MARGIN_PATH)) == 4
    rest.error_next(500, count=2, path=MARGIN_PATH)
    with pytest.raises(FyersUnavailable):
        await client.order_margin([leg(SBIN, "BUY")])
    rest.rate_limit_next(count=5, path=MARGIN_PATH)
    with pytest.raises(RateLimited):
        await client.order_margin([leg(SBIN, "BUY")])


async def test_the_call_is_rate_limited_by_the_governor(rest: FakeFyersRest) -> None:
    clock = FakeClock()
    kw = limited(clock)
    async with FyersRestClient(
        rest.authorization, base_url=MOCK_URL, transport=mock_transport(rest), now=NOW.timestamp,
        **kw,
    ) as c:  # fmt: skip
        start = clock.now
        for _ in range(25):
            await c.order_margin([leg(SBIN, "BUY")])
    assert clock.now - start >= 2.0  # 10 a second: 25 calls wait at least two seconds


# ================================================================ the fake's own answers


def ask(rest: FakeFyersRest, body: Any) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": rest.authorization, "Content-Type": "application/json"}
    return rest.handle("POST", "/api/v3/multiorder/margin", headers, raw)


def wire(symbol: str, qty: int, **kw: Any) -> dict[str, Any]:
    return {
        "symbol": symbol, "qty": qty, "side": 1, "type": 2, "productType": "MARGIN",
        "limitPrice": 0, "stopLoss": 0, "stopPrice": 0, "takeProfit": 0, **kw,
    }  # fmt: skip


def test_the_fake_answers_bad_input_with_documented_codes(rest: FakeFyersRest) -> None:
    cases: list[tuple[Any, int, str]] = [
        ([wire(SBIN, 1)], -50, "data"),
        ({"data": []}, -50, "1 to 10"),
        ({"data": [wire(SBIN, 1)] * 11}, -50, "1 to 10"),
        ({"data": ["x"]}, -50, "object"),
        ({"data": [{k: v for k, v in wire(SBIN, 1).items() if k != "side"}]}, -50, "side"),
        ({"data": [wire("NSE:NOSUCH-EQ", 1)]}, -300, "symbol"),
        ({"data": [wire(SBIN, 1), wire(SBIN, 0)]}, -50, "qty"),
        ({"data": [wire(FUT, 10)]}, -50, LOT_MESSAGE),
        ({"data": [wire(SBIN, 1, side=2)]}, -50, "side"),
        ({"data": [wire(SBIN, 1, type=5)]}, -50, "type"),
        ({"data": [wire(SBIN, 1, productType="CO")]}, -50, "productType"),
        ({"data": [wire(SBIN, 1, type=1)]}, -50, "Limit price"),
        ({"data": [wire(SBIN, 1, limitPrice=-1)]}, -50, "price"),
        ({"data": [wire(SBIN, 1, type=3)]}, -50, "Stop price"),
    ]
    for body, code, words in cases:
        status, answer = ask(rest, body)
        assert (status, answer["s"], answer["code"]) == (400, "error", code), body
        assert words in answer["message"], answer
    rest.instrument_of = None  # a listed derivative the fake cannot describe
    rest.contracts = {FUT: ContractSpec(FUT, LOT, 10, 1800, 11, "1")}
    status, answer = ask(rest, {"data": [wire(FUT, LOT)]})
    assert (status, answer["code"]) == (400, -300)


def test_the_fake_answers_like_the_docs(rest: FakeFyersRest) -> None:
    status, answer = ask(rest, {"data": [wire(SBIN, 10, productType="CNC")]})
    assert status == 200 and set(answer) == {"s", "code", "message", "data"}
    assert (answer["s"], answer["code"]) == ("ok", 200)
    assert answer["data"] == {"margin_avail": 500000.0, "margin_total": 8000.0,
                              "margin_new_order": 8000.0}  # fmt: skip
    sell = ask(rest, {"data": [wire(SBIN, 10, side=-1, productType="CNC")]})[1]
    assert sell["data"]["margin_new_order"] == 0  # delivery sells are covered by holdings


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2))
def test_rupees_become_exact_paise(rupees: Decimal) -> None:
    data = {"margin_avail": rupees, "margin_total": rupees, "margin_new_order": rupees}
    m = parse_margin({"data": data})
    assert m.available == m.total == m.new_order == int(rupees * 100)
    assert m.sufficient


def test_an_answer_without_figures_is_an_api_error() -> None:
    odd: list[dict[str, Any]] = [
        {},
        {"data": []},
        {"data": {"margin_avail": 1}},
        {"data": {"margin_avail": "x", "margin_total": 1, "margin_new_order": 1}},
        {"data": {"margin_avail": True, "margin_total": 1, "margin_new_order": 1}},
    ]
    for bad in odd:
        with pytest.raises(FyersApiError):
            parse_margin(bad)
    body = margin_body([BasketLeg(FUT, "SELL", LOT, "SL", "MARGIN", "24000", "24010")])
    assert body["data"][0]["limitPrice"] == 24000.0 and body["data"][0]["stopPrice"] == 24010.0
    assert body["data"][0]["type"] == 4


# ================================================================ the official SDK, same server

FAKE_NOW = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
WEEKLY_CE, WEEKLY_CE_UP = "NSE:NIFTY26D0824000CE", "NSE:NIFTY26D0824100CE"


@pytest.fixture
async def server() -> AsyncIterator[FakeFyersServer]:
    fake = FakeFyersServer(seed=5, tick_interval=None, clock=VirtualClock(FAKE_NOW), funds="300000")
    async with fake:
        for _ in range(3):
            await fake.step()
        yield fake


@pytest.fixture
def sdk(
    server: FakeFyersServer,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    with sdk_model(server, tmp_path_factory.mktemp("sdk_logs"), monkeypatch) as model:
        yield model


async def test_the_sdk_and_our_client_agree_on_the_fake_server(
    server: FakeFyersServer, sdk: Any
) -> None:
    assert not hasattr(sdk, "multi_order_margin")  # 3.2.0 has no method: its POST transport
    spread = [wire(WEEKLY_CE_UP, LOT), wire(WEEKLY_CE, LOT, side=-1)]
    theirs = await asyncio.to_thread(
        sdk.service.post_call, MARGIN_PATH, sdk.header, {"data": spread}
    )
    assert (theirs["s"], theirs["code"]) == ("ok", 200)
    async with FyersRestClient(server.config.access_token, base_url=server.config.api_url) as ours:
        mine = await ours.order_margin([leg(WEEKLY_CE_UP, "BUY"), leg(WEEKLY_CE, "SELL")])
        naked = await ours.order_margin([leg(WEEKLY_CE, "SELL")])
    data = theirs["data"]
    assert mine == OrderMargin(
        int(Decimal(str(data["margin_avail"])) * 100),
        int(Decimal(str(data["margin_total"])) * 100),
        int(Decimal(str(data["margin_new_order"])) * 100),
    )
    assert mine.available == 300000_00
    ce_up = server.instrument(WEEKLY_CE_UP)
    assert ce_up is not None
    premium = LOT * ce_up.values[0]
    assert mine.new_order <= premium + LOT * 100_00 < naked.new_order  # the hedge benefit
    bad = await asyncio.to_thread(
        sdk.service.post_call, MARGIN_PATH, sdk.header, {"data": [wire(WEEKLY_CE, 1)]}
    )
    assert (bad["s"], bad["code"], bad["message"]) == ("error", -50, LOT_MESSAGE + " (leg 1)")
