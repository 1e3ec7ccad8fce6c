"""The fake Fyers server's market-data REST calls (spec 3.4, 3.7) and its depth topics.

Checked three ways: raw HTTP (shapes, errors, agreement with the fake's own market), the
official SDK 3.2.0's ``FyersModel`` pointed at the fake (``Config.DATA_API``; its blocking calls
off the loop), and the data socket's ``dp|…`` records read with our codec.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fyers_sdk import sdk_model
from websockets.asyncio.client import ClientConnection, connect

from livetrade.clock import VirtualClock
from livetrade.depth import depth_from_values
from livetrade.fyers.codec import (
    PING_FRAME,
    DataCodec,
    DataFeed,
    SnapshotRecord,
    Tick,
    UpdateRecord,
    parse_server_frame,
)
from livetrade.fyers.symbols import DataType, map_symbols, split_access_token
from livetrade.model import IST
from livetrade.testing.fake_fyers import FakeFyersServer

SBIN, INFY, NIFTY, BAD = "NSE:SBIN-EQ", "NSE:INFY-EQ", "NSE:NIFTY50-INDEX", "NSE:NOSUCH-EQ"
T0 = datetime(2026, 12, 2, 11, 0, tzinfo=IST)  # a Wednesday, market open


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=3, tick_interval=None, clock=VirtualClock(T0)) as server:
        for symbol in (SBIN, INFY, NIFTY):
            server.instrument(symbol)  # the fake registers symbols on first use
        for _ in range(5):
            await server.step()
        yield server


@pytest.fixture
async def http(fake: FakeFyersServer) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": fake.access_token, "version": "3"}
    async with httpx.AsyncClient(
        base_url=fake.rest_url, headers=headers, trust_env=False
    ) as client:
        yield client


def error(resp: httpx.Response, code: int) -> None:
    body = resp.json()
    assert set(body) == {"s", "code", "message"}, body
    assert body["s"] == "error" and body["code"] == code and body["message"], body


# ---- quotes ----------------------------------------------------------------------------------


async def test_quotes_shape_and_prices_from_the_market(
    fake: FakeFyersServer, http: httpx.AsyncClient
) -> None:
    resp = await http.get("/quotes", params={"symbols": f"{SBIN},{NIFTY},{BAD}"})
    assert resp.status_code == 200
    body = resp.json()
    assert (body["s"], body["code"]) == ("ok", 200)
    rows = {row["n"]: row for row in body["d"]}
    assert rows[BAD]["s"] == "error"
    v = rows[SBIN]["v"]
    assert rows[SBIN]["s"] == "ok"
    documented = {
        "ch", "chp", "lp", "spread", "ask", "bid", "open_price", "high_price", "low_price",
        "prev_close_price", "atp", "volume", "short_name", "exchange", "description",
        "original_name", "symbol", "fyToken", "tt",
    }  # fmt: skip
    assert set(v) == documented
    inst = fake.instrument(SBIN)
    assert inst is not None
    w = inst.values
    assert Decimal(str(v["lp"])) * 100 == w[0]
    assert [round(v["bid"] * 100), round(v["ask"] * 100)] == [w[6], w[7]]
    assert v["volume"] == w[1] and v["fyToken"] == "10100000003045"
    assert v["low_price"] <= v["lp"] <= v["high_price"]
    # day change is against the previous close: the simulated past's last close
    prev = fake.history.previous_close(SBIN, T0.date())
    assert Decimal(str(v["prev_close_price"])) * 100 == prev
    assert v["ch"] == pytest.approx(v["lp"] - v["prev_close_price"])
    assert v["chp"] == pytest.approx(v["ch"] / v["prev_close_price"] * 100, abs=0.01)
    idx = rows[NIFTY]["v"]
    assert idx["bid"] == idx["ask"] == 0 and idx["lp"] > 0


async def test_quotes_errors(http: httpx.AsyncClient) -> None:
    error(await http.get("/quotes"), -50)
    error(await http.get("/quotes", params={"symbols": ",".join([SBIN] * 51)}), -50)
    assert (await http.get("/quotes", params={"symbols": ",".join([SBIN] * 50)})).is_success
    refused = await http.get("/quotes", params={"symbols": SBIN}, headers={"Authorization": "x"})
    assert refused.status_code == 401
    error(refused, -16)
    posted = await http.post("/quotes", json={"symbols": [SBIN]})  # the SDK's quotes_v2
    assert posted.json()["d"][0]["n"] == SBIN
    error(await http.post("/quotes", content=b"{"), -50)


# ---- depth -----------------------------------------------------------------------------------


async def test_depth_shape_levels_and_circuits(
    fake: FakeFyersServer, http: httpx.AsyncClient
) -> None:
    resp = await http.get("/depth", params={"symbol": SBIN, "ohlcv_flag": 1})
    assert resp.status_code == 200
    row = resp.json()["d"][SBIN]
    for key in ("totalbuyqty", "totalsellqty", "bids", "ask", "o", "h", "l", "c", "ch", "chp",
                "tick_Size", "ltq", "ltt", "ltp", "v", "atp", "lower_ckt", "upper_ckt",
                "expiry", "oi", "oiflag", "pdoi", "oipercent"):  # fmt: skip
        assert key in row, key
    bids, asks = row["bids"], row["ask"]
    assert len(bids) == len(asks) == 5
    assert all(set(level) == {"price", "volume", "ord"} for level in bids + asks)
    inst = fake.instrument(SBIN)
    assert inst is not None
    assert round(bids[0]["price"] * 100) == inst.values[6]  # best levels = the quote
    assert round(asks[0]["price"] * 100) == inst.values[7]
    assert [b["price"] for b in bids] == sorted((b["price"] for b in bids), reverse=True)
    assert [a["price"] for a in asks] == sorted(a["price"] for a in asks)
    assert bids[0]["volume"] == inst.values[4] and asks[0]["volume"] == inst.values[5]
    assert row["lower_ckt"] < row["c"] < row["upper_ckt"]
    assert row["upper_ckt"] == pytest.approx(row["c"] * 1.2, abs=0.05)
    quote = (await http.get("/quotes", params={"symbols": SBIN})).json()["d"][0]["v"]
    assert (row["c"], row["o"], row["ltp"]) == (
        quote["prev_close_price"],
        quote["open_price"],
        quote["lp"],
    )
    plain = (await http.get("/depth", params={"symbol": SBIN})).json()["d"][SBIN]
    assert "o" not in plain and "v" not in plain and plain["bids"] == bids
    error(await http.get("/depth", params={"symbol": BAD}), -300)
    error(await http.get("/depth", params={"symbol": NIFTY}), -300)
    error(await http.get("/depth"), -50)


# ---- market status ---------------------------------------------------------------------------


async def test_market_status_follows_the_fake_clock(fake: FakeFyersServer) -> None:
    headers = {"Authorization": fake.access_token}
    async with httpx.AsyncClient(trust_env=False, headers=headers) as http:
        body = (await http.get(fake.rest_url + "/marketStatus")).json()
        assert body["s"] == "ok"
        nse_cm = next(r for r in body["marketStatus"] if (r["exchange"], r["segment"]) == (10, 10))
        assert set(nse_cm) == {"exchange", "segment", "market_type", "status"}
        assert nse_cm["status"] == "OPEN"
        assert isinstance(fake.clock, VirtualClock)
        fake.clock.set(
            int(datetime(2026, 12, 5, 11, 0, tzinfo=IST).timestamp()) * 10**9
        )  # a Saturday
        body = (await http.get(fake.rest_url + "/marketStatus")).json()
        assert {r["status"] for r in body["marketStatus"]} == {"CLOSED"}


# ---- history ---------------------------------------------------------------------------------


async def test_history_is_the_simulated_past(
    fake: FakeFyersServer, http: httpx.AsyncClient
) -> None:
    params = {"symbol": SBIN, "resolution": "5", "date_format": "1",
              "range_from": "2026-11-30", "range_to": "2026-12-02", "cont_flag": "1"}  # fmt: skip
    resp = await http.get("/history", params=params)
    body = resp.json()
    assert resp.status_code == 200 and body["s"] == "ok"
    candles = body["candles"]
    assert all(len(c) == 6 for c in candles)
    starts = [c[0] for c in candles]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(c[3] <= min(c[1], c[4]) <= max(c[1], c[4]) <= c[2] for c in candles)
    # three weekdays: two whole days and today up to the fake's start (11:00)
    assert len(candles) == 75 + 75 + 21
    assert candles[-1][0] < T0.timestamp()
    # the same bars as SimHistory's, in rupees
    cols = fake.history.columns(SBIN, "5min", int(T0.timestamp() * 1e9) - 86_400 * 10**9)
    assert [c[4] for c in candles[-len(cols) :]] == [c / 100 for c in cols.c.tolist()]
    # the past ends where the live walk starts: the last close is the walk's start
    assert candles[-1][4] == 800.0
    daily = await http.get("/history", params={**params, "resolution": "D"})
    assert [round(c[4] * 100) for c in daily.json()["candles"]][1] == fake.history.previous_close(
        SBIN, T0.date()
    )
    epoch = await http.get(
        "/history",
        params={**params, "date_format": "0", "range_from": str(int(T0.timestamp()) - 3600),
                "range_to": str(int(T0.timestamp()))},
    )  # fmt: skip
    assert len(epoch.json()["candles"]) == 12


async def test_history_errors(http: httpx.AsyncClient) -> None:
    base = {"symbol": SBIN, "resolution": "5", "date_format": "1",
            "range_from": "2026-11-30", "range_to": "2026-12-02"}  # fmt: skip
    error(await http.get("/history", params={**base, "symbol": BAD}), -300)
    error(await http.get("/history", params={**base, "resolution": "7"}), -50)
    error(await http.get("/history", params={**base, "date_format": "2"}), -50)
    error(await http.get("/history", params={**base, "range_from": "30-11-2026"}), -50)
    error(await http.get("/history", params={**base, "range_from": "2026-12-03"}), -50)
    error(await http.get("/history", params={**base, "range_from": "2026-01-01"}), -50)
    year = await http.get("/history", params={**base, "resolution": "1D",
                                              "range_from": "2026-01-01"})  # fmt: skip
    assert year.json()["s"] == "ok"
    error(await http.get("/history", params={**base, "resolution": "5S",
                                             "range_from": "2026-10-01"}), -50)  # fmt: skip
    quiet = await http.get("/history", params={**base, "range_from": "2026-11-28",
                                               "range_to": "2026-11-29"})  # fmt: skip
    assert quiet.json() == {"s": "no_data", "code": 0, "message": "", "candles": []}


async def test_history_row_of_the_history_client(fake: FakeFyersServer, tmp_path: Any) -> None:
    """livetrade's own history client against the fake: the request plan and the cache."""
    from livetrade.history import FyersHistory

    client = FyersHistory(fake.config, cache_dir=tmp_path, now=lambda: fake.clock.now_ns() / 1e9)
    start = T0 - timedelta(days=20)
    cols = await client.columns(SBIN, "15min", start, T0)
    assert len(cols) > 0 and len(client.requests) == 1
    again = await client.columns(SBIN, "15min", start, T0)
    assert again.c.tolist() == cols.c.tolist()


# ---- depth on the data socket ----------------------------------------------------------------


async def recv(ws: ClientConnection) -> bytes:
    msg = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(msg, bytes)
    return msg


async def test_depth_records_on_the_data_socket(fake: FakeFyersServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        resp = await http.post(
            fake.rest_url + "/symbol-token",
            json={"symbols": [SBIN, INFY]},
            headers={"Authorization": split_access_token(fake.access_token)[1]},
        )
    valid = resp.json()["validSymbol"]
    topics = {**map_symbols(valid).topics, **map_symbols(valid, DataType.DEPTH).topics}
    assert "dp|nse_cm|3045" in topics
    ws = await connect(fake.ws_url, compression=None, proxy=None)
    codec = DataCodec()
    await ws.send(PING_FRAME)
    codec.authenticate(fake.hsm_key)
    codec.set_mode(False)
    codec.map_symbols(topics)
    codec.subscribe(list(topics))
    for frame in codec.data_to_send():
        await ws.send(frame)
    depth: dict[str, Tick] = {}
    quotes: dict[str, Tick] = {}

    async def read_until(pred: Any) -> None:
        while not pred():
            frame = await recv(ws)
            codec.receive_data(frame)
            for ev in codec.events_received():
                if isinstance(ev, Tick) and ev.symbol is not None:
                    (depth if ev.kind == "dp" else quotes)[ev.symbol] = ev

    await read_until(lambda: len(depth) == 2 and len(quotes) == 2)
    for _ in range(3):
        await fake.step()
    steps = fake.steps
    await read_until(lambda: all(t.message_number > 1 for t in depth.values()))
    for symbol in (SBIN, INFY):
        inst = fake.instrument(symbol)
        assert inst is not None and inst.depth is not None
        want = inst.depth.values
        await read_until(lambda s=symbol, w=want: depth[s].values == w)
        book = depth_from_values(symbol, depth[symbol].values, 0)
        assert len(book.bids) == len(book.asks) == 5
        assert book.bids[0][0] * 100 == inst.values[6] and book.asks[0][0] * 100 == inst.values[7]
    conn = fake.live_connections[0]
    assert {t for t in conn.subscribed if t.startswith("dp|")} == {
        "dp|nse_cm|3045",
        "dp|nse_cm|1594",
    }
    assert fake.steps == steps
    await ws.close()


async def test_depth_topic_snapshot_comes_first(fake: FakeFyersServer) -> None:
    """A dp topic subscribed alone: snapshot record, then full (never lite) updates."""
    async with httpx.AsyncClient(trust_env=False) as http:
        resp = await http.post(
            fake.rest_url + "/symbol-token",
            json={"symbols": [SBIN]},
            headers={"Authorization": split_access_token(fake.access_token)[1]},
        )
    topics = map_symbols(resp.json()["validSymbol"], DataType.DEPTH).topics
    ws = await connect(fake.ws_url, compression=None, proxy=None)
    codec = DataCodec(lite=True)
    codec.authenticate(fake.hsm_key)
    codec.set_mode(True)
    codec.subscribe(list(topics))
    for frame in codec.data_to_send():
        await ws.send(frame)
    kinds: list[type] = []
    while len(kinds) < 2:
        msg = parse_server_frame(await recv(ws))
        if isinstance(msg, DataFeed):
            kinds += [type(r) for r in msg.records]
            if len(kinds) == 1:
                await fake.step()
    assert kinds == [SnapshotRecord, UpdateRecord]
    await ws.close()


# ---- the official SDK ------------------------------------------------------------------------

fyers_model = pytest.importorskip("fyers_apiv3.fyersModel")


@pytest.fixture
def sdk(
    fake: FakeFyersServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The official SDK's ``FyersModel`` on the fake server (tests/fyers_sdk.py)."""
    with sdk_model(fake, tmp_path_factory.mktemp("sdk_logs"), monkeypatch) as model:
        yield model


async def test_sdk_reads_the_fake_data_endpoints(
    fake: FakeFyersServer, http: httpx.AsyncClient, sdk: Any
) -> None:
    quotes = await asyncio.to_thread(sdk.quotes, {"symbols": f"{SBIN},{INFY}"})
    ours = (await http.get("/quotes", params={"symbols": f"{SBIN},{INFY}"})).json()
    assert quotes == ours
    v2 = await asyncio.to_thread(sdk.quotes_v2, {"symbols": [SBIN]})
    assert v2["d"][0]["v"] == ours["d"][0]["v"]
    depth = await asyncio.to_thread(sdk.depth, {"symbol": SBIN, "ohlcv_flag": "1"})
    assert depth == (await http.get("/depth", params={"symbol": SBIN, "ohlcv_flag": 1})).json()
    status = await asyncio.to_thread(sdk.market_status)
    assert status["s"] == "ok" and status["marketStatus"]
    params = {"symbol": SBIN, "resolution": "15", "date_format": "1",
              "range_from": "2026-11-30", "range_to": "2026-12-01", "cont_flag": "1"}  # fmt: skip
    history = await asyncio.to_thread(sdk.history, params)
    assert history == (await http.get("/history", params=params)).json()
    assert len(history["candles"]) == 50
    bad = await asyncio.to_thread(sdk.history, {**params, "symbol": BAD})
    assert bad == {"s": "error", "code": -300, "message": "Please provide a valid symbol"}
    seconds = date(2026, 12, 2).isoformat()
    secs = await asyncio.to_thread(
        sdk.history, {**params, "resolution": "5S", "range_from": seconds, "range_to": seconds}
    )
    assert secs["s"] == "ok" and len(secs["candles"]) == 105 * 12  # 09:15 to the start, 11:00
