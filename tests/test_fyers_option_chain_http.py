"""The Fyers REST clients' HTTP seam (aiohttp by default, httpx on request) and the option-chain
read of :class:`FyersRestClient` (``GET /data/options-chain-v3``, fno.md §5)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import aiohttp
import httpx
import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

from livetrade.errors import FyersApiError, InvalidInput
from livetrade.fyers.broker import FyersRestClient, RateLimiter
from livetrade.fyers.http import AiohttpSeam, HttpFailure, HttpxSeam, make_seam
from livetrade.fyers.option_chain import OptionRow
from livetrade.fyers.records import FyersOrderRejected
from livetrade.testing.fake_rest import FakeFyersRest, ThreadedFakeServer

SBIN = "NSE:SBIN-EQ"
NIFTY = "NSE:NIFTY50-INDEX"

# The shape of an options-chain-v3 answer (fno.md §5): the underlying's row first (strike -1,
# fp = its future), then one row per strike and side; numbers as Fyers sends them.
CHAIN_ANSWER: dict[str, Any] = {
    "code": 200,
    "message": "",
    "s": "ok",
    "data": {
        "callOi": 151_245_600,
        "putOi": 170_024_325,
        "expiryData": [
            {"date": "10-12-2026", "expiry": "1796896800", "expiry_flag": "W"},
            {"date": "31-12-2026", "expiry": "1798711200", "expiry_flag": "M"},
        ],
        "indiavixData": {"ltp": 11.04, "symbol": "NSE:INDIAVIX-INDEX", "strike_price": -1},
        "optionsChain": [
            {"symbol": NIFTY, "fyToken": "101000000026000", "option_type": "",
             "strike_price": -1, "ltp": 26010.35, "fp": 26075.4, "fpch": 12.1, "fpchp": 0.05,
             "ltpch": 10.2, "ltpchp": 0.04, "bid": 0, "ask": 0},
            {"symbol": "NSE:NIFTY26D1026000CE", "fyToken": "1011261210111111",
             "option_type": "CE", "strike_price": 26000, "ltp": 112.05, "ltpch": -3.4,
             "ltpchp": -2.94, "bid": 111.9, "ask": 112.1, "volume": 10_543_200,
             "oi": 4_063_450, "oich": -155_700, "oichp": -3.69, "prev_oi": 4_219_150},
            {"symbol": "NSE:NIFTY26D1026000PE", "fyToken": "1011261210111112",
             "option_type": "PE", "strike_price": 26000, "ltp": 98.5, "ltpch": 1.25,
             "ltpchp": 1.29, "bid": 98.45, "ask": 98.55, "volume": 9_120_075,
             "oi": 3_500_025, "oich": 210_000, "oichp": 6.38, "prev_oi": 3_290_025},
            {"symbol": "NSE:NIFTY26D1025950PE", "fyToken": "1011261210111110",
             "option_type": "PE", "strike_price": 25950, "ltp": 80.1, "bid": 80.05,
             "ask": 80.15, "volume": 1_000, "oi": 75, "oich": 0, "prev_oi": 75},
        ],
    },
}  # fmt: skip


@pytest.fixture
def fake() -> FakeFyersRest:
    return FakeFyersRest(prices={SBIN: Decimal("800.00")})


def lifted() -> RateLimiter:
    return RateLimiter({"all": [(1000, 1.0)], "orders": [(1000, 1.0)]})


def chain_client(fake: FakeFyersRest, reply: dict[str, Any], seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=reply)

    return FyersRestClient(
        fake.authorization,
        base_url="http://127.0.0.1:9/api/v3",
        transport=httpx.MockTransport(handler),
        limiter=lifted(),
    )


# ==================================================================== option chain


async def test_option_chain_reads_rows_in_paise(fake: FakeFyersRest) -> None:
    seen: list[httpx.Request] = []
    async with chain_client(fake, CHAIN_ANSWER, seen) as client:
        chain = await client.option_chain(NIFTY, 2, timestamp=1796896800)
    (req,) = seen
    assert req.method == "GET" and req.url.path == "/data/options-chain-v3"
    assert dict(req.url.params) == {
        "symbol": NIFTY, "strikecount": "2", "timestamp": "1796896800"
    }  # fmt: skip
    assert req.headers["authorization"] == fake.authorization and req.headers["version"] == "3"
    assert (chain.underlying, chain.spot, chain.future) == (NIFTY, 2_601_035, 2_607_540)
    assert (chain.call_oi, chain.put_oi, chain.vix) == (151_245_600, 170_024_325, 1104)
    assert [(e.date, e.timestamp, e.flag) for e in chain.expiries] == [
        (date(2026, 12, 10), 1796896800, "W"),
        (date(2026, 12, 31), 1798711200, "M"),
    ]
    assert len(chain.rows) == 3  # the underlying's row is not a strike
    ce = chain.rows[0]
    assert ce == OptionRow(
        strike=2_600_000, option_type="CE", symbol="NSE:NIFTY26D1026000CE", ltp=11_205,
        bid=11_190, ask=11_210, volume=10_543_200, oi=4_063_450, oich=-155_700,
        prev_oi=4_219_150, fytoken="1011261210111111",
    )  # fmt: skip
    frame = chain.to_frame()
    assert list(frame["strike"]) == [2_595_000, 2_600_000, 2_600_000]
    assert list(frame["option_type"]) == ["PE", "CE", "PE"]
    assert frame["ltp"].dtype.kind == "i" and list(frame["oich"]) == [0, -155_700, 210_000]
    assert chain.records()[1]["bid"] == 9_845


async def test_option_chain_nearest_expiry_and_data_url(fake: FakeFyersRest) -> None:
    seen: list[httpx.Request] = []
    async with chain_client(fake, CHAIN_ANSWER, seen) as client:
        await client.option_chain(NIFTY, 50)
    assert dict(seen[0].url.params)["timestamp"] == ""
    other = FyersRestClient(fake.authorization, base_url="http://127.0.0.1:9/api/v3",
                            data_url="http://127.0.0.1:8/x/data/")  # fmt: skip
    assert other.data_url == "http://127.0.0.1:8/x/data"
    with pytest.raises(InvalidInput, match="data_url"):
        FyersRestClient(fake.authorization, data_url="ftp://x/data")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("NIFTY", 5), "symbol"),
        ((NIFTY, 0), "strikecount"),
        ((NIFTY, 51), "strikecount"),
        ((NIFTY, True), "strikecount"),
        ((NIFTY, 5, "next week"), "timestamp"),
        ((NIFTY, 5, 1.5), "timestamp"),
    ],
)
async def test_option_chain_bad_input_sends_nothing(
    fake: FakeFyersRest, args: tuple[Any, ...], field: str
) -> None:
    seen: list[httpx.Request] = []
    async with chain_client(fake, CHAIN_ANSWER, seen) as client:
        with pytest.raises(InvalidInput) as info:
            await client.option_chain(*args)
    assert info.value.field == field and seen == []


async def test_option_chain_errors(fake: FakeFyersRest) -> None:
    seen: list[httpx.Request] = []
    refused = {"s": "error", "code": -300, "message": "Please provide a valid symbol"}
    async with chain_client(fake, refused, seen) as client:
        with pytest.raises(FyersApiError, match="valid symbol") as info:
            await client.option_chain("NSE:NOPE-INDEX", 5)
    assert info.value.code == -300
    async with chain_client(fake, {"s": "ok", "data": {}}, seen) as client:
        with pytest.raises(FyersApiError, match="optionsChain"):
            await client.option_chain(NIFTY, 5)


# ==================================================================== the HTTP seam


@pytest.fixture
def server(fake: FakeFyersRest) -> Iterator[ThreadedFakeServer]:
    with ThreadedFakeServer(fake) as srv:
        yield srv


def test_the_default_is_aiohttp_and_httpx_on_request() -> None:
    local, remote = make_seam("http://127.0.0.1:1", 1.0), make_seam("https://api-t1.fyers.in", 1.0)
    assert isinstance(local, AiohttpSeam) and isinstance(remote, AiohttpSeam)
    assert not local.trust_env and remote.trust_env  # never a proxy for a loopback fake
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    assert isinstance(make_seam("http://127.0.0.1:1", 1.0, transport=transport), HttpxSeam)


async def test_aiohttp_path_over_real_http(fake: FakeFyersRest, server: ThreadedFakeServer) -> None:
    async with FyersRestClient(fake.authorization, base_url=server.base_url) as client:
        assert isinstance(client._seam, AiohttpSeam)
        ack = await client.place_order(SBIN, "BUY", 2, tag="seam1")
        row = await client.order(ack.order_id)
        assert row is not None and row.tag == "seam1" and row.quantity == 2
    (_, read) = fake.requests[-2:]
    assert read.query == {"id": ack.order_id}


async def test_a_session_handed_in_is_used_and_left_open(
    fake: FakeFyersRest, server: ThreadedFakeServer
) -> None:
    async with aiohttp.ClientSession() as session:
        client = FyersRestClient(fake.authorization, base_url=server.base_url, client=session)
        funds = await client.funds()
        await client.aclose()
        assert funds is not None and not session.closed
        assert session._retry_connection is False  # never a silent resend of a DELETE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_refused_connection_is_not_sent_and_never_placed(fake: FakeFyersRest) -> None:
    url = f"http://127.0.0.1:{_free_port()}/api/v3"
    async with FyersRestClient(fake.authorization, base_url=url, submit_attempts=2) as client:
        with pytest.raises(FyersOrderRejected) as info:
            await client.place_order(SBIN, "BUY", 1)
    assert info.value.code == "BROKER_UNREACHABLE"
    seam = AiohttpSeam(timeout=1.0, trust_env=False)
    with pytest.raises(HttpFailure) as failure:
        await seam.request("GET", url + "/funds", headers={})
    await seam.aclose()
    assert failure.value.not_sent and not failure.value.timed_out


async def test_a_timeout_may_have_been_sent(
    fake: FakeFyersRest, server: ThreadedFakeServer
) -> None:
    fake.delay_next(5.0, path="/funds")
    seam = AiohttpSeam(timeout=0.2, trust_env=False)
    with pytest.raises(HttpFailure) as failure:
        await seam.request("GET", server.base_url + "/funds", headers={})
    await seam.aclose()
    assert failure.value.timed_out and not failure.value.not_sent


async def test_query_round_trips(fake: FakeFyersRest, server: ThreadedFakeServer) -> None:
    seam = AiohttpSeam(timeout=2.0, trust_env=False)
    reply = await seam.request(
        "GET", server.base_url + "/orders", headers={}, params={"id": "NSE:A,B c"}
    )
    await seam.aclose()
    assert reply.status in (200, 401)  # no token sent: the fake may refuse, still answers
    assert json.loads(reply.content)["s"] in ("ok", "error")
    assert fake.requests[-1].query == {"id": "NSE:A,B c"}


async def test_httpx_failures_map_alike() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    for handler, not_sent, timed_out in ((refuse, True, False), (slow, False, True)):
        seam = HttpxSeam(timeout=1.0, transport=httpx.MockTransport(handler))
        with pytest.raises(HttpFailure) as failure:
            await seam.request("GET", "http://127.0.0.1:9/x", headers={})
        await seam.aclose()
        assert (failure.value.not_sent, failure.value.timed_out) == (not_sent, timed_out)
