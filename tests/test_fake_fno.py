"""The fake Fyers server's futures and options (#15 item 6, #16 item 6): listing with Fyers'
tickers, the symbol master it serves, quotes, depth and the data socket, orders in lots, and
the option-chain endpoint. Each checked through the official SDK and, where our client has the
call, through our client."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import until
from fyers_sdk import sdk_model

from livetrade.clock import VirtualClock
from livetrade.feeds.sim_derivatives import SimDerivatives
from livetrade.fno import parse_ticker
from livetrade.fno.master import BASE_URL, cached_master, parse_csv, parse_json
from livetrade.fyers.broker import FyersRestClient
from livetrade.fyers.records import FyersOrderRejected
from livetrade.fyers.rest import FyersQuotesClient
from livetrade.fyers.stream import FyersWebSocketManager
from livetrade.fyers.symbols import map_symbols, split_access_token
from livetrade.instruments import InstrumentKind
from livetrade.model import IST
from livetrade.testing.fake_fyers import FakeFyersServer
from livetrade.testing.fake_rest_types import LOT_MESSAGE

NIFTY = "NSE:NIFTY50-INDEX"
FUT, NEXT_FUT = "NSE:NIFTY26DECFUT", "NSE:NIFTY27JANFUT"
WEEKLY_CE, WEEKLY_PE = "NSE:NIFTY26D0824000CE", "NSE:NIFTY26D0824000PE"  # Tue 8 Dec 2026
MONTHLY_CE = "NSE:NIFTY26DEC24000CE"  # Tue 29 Dec 2026, the month's last expiry
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=IST)  # a Monday, market open
LOT, FREEZE = 65, 1800  # fno.md §2: NIFTY's lot from Jan 2026, freeze from 3 Aug 2026
TICKERS = re.compile(
    r"NSE:NIFTY(\d\d[A-Z]{3}FUT|\d\d[A-Z]{3}\d+(CE|PE)|\d\d[1-9OND]\d\d\d+(CE|PE))"
)
OI = hasattr(SimDerivatives, "open_interest")  # the simulated chain models open interest


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    server = FakeFyersServer(seed=5, tick_interval=None, clock=VirtualClock(T0), funds="100000000")
    async with server:
        for _ in range(3):
            await server.step()
        yield server


@pytest.fixture
def sdk(
    fake: FakeFyersServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    with sdk_model(fake, tmp_path_factory.mktemp("sdk_logs"), monkeypatch) as model:
        yield model


def values(fake: FakeFyersServer, symbol: str) -> list[int]:
    inst = fake.instrument(symbol)
    assert inst is not None
    return inst.values


# ---- listing and the symbol master -------------------------------------------------------------


async def test_lists_futures_and_weekly_and_monthly_options_with_fyers_tickers(
    fake: FakeFyersServer,
) -> None:
    fno = fake.fno
    assert fno is not None and len(fno) == 2 + 2 * 21 * 2  # 2 futures, 21 strikes x CE/PE x 2
    symbols = fno.symbols
    assert symbols[:2] == [FUT, NEXT_FUT]
    assert {WEEKLY_CE, WEEKLY_PE, MONTHLY_CE} <= set(symbols)
    for symbol in symbols:
        assert TICKERS.fullmatch(symbol), symbol
        c = fno.contracts[symbol]
        parts = parse_ticker(symbol, "NIFTY")  # the client's reading of the ticker agrees
        assert (parts.year, parts.month) == (c.expiry_date.year, c.expiry_date.month)
        assert parts.weekly == (not c.monthly)
        assert parts.strike_paise == c.strike and parts.option_type == c.option_type
        assert c.expiry_date.weekday() == 1  # NSE expiries are Tuesdays (fno.md §2)
        spec = c.spec
        assert spec.lot == LOT and spec.freeze == FREEZE and spec.segment == 11
        assert spec.tick == (5 if c.option_type else 10)  # options 0.05, NIFTY futures 0.10
        # fytoken: exchange 10, segment 11, expiry YYMMDD, exchange token (fno.md §1)
        assert spec.fytoken == f"1011{c.expiry_date:%y%m%d}{c.token}"
        inst = fake.instrument(symbol)
        assert inst is not None and inst.topic == f"sf|nse_fo|{c.token}"
        assert inst.values[0] % spec.tick == 0 and inst.lot == LOT
    assert fno.contracts[WEEKLY_CE].expiry_date == date(2026, 12, 8)
    assert fno.contracts[MONTHLY_CE].expiry_date == date(2026, 12, 29)
    # 15:40 IST from 3 Aug 2026 (fno.md §2)
    assert datetime.fromtimestamp(fno.contracts[FUT].expiry_epoch, IST).time().hour == 15
    assert "86 NIFTY futures and options" in fake.symbols_note()


async def test_symbol_token_answers_the_contracts(fake: FakeFyersServer) -> None:
    bad = "NSE:NIFTY26DEC99950CE"  # well formed, not listed
    async with httpx.AsyncClient(trust_env=False) as http:
        resp = await http.post(
            fake.rest_url + "/symbol-token",
            json={"symbols": [FUT, WEEKLY_CE, MONTHLY_CE, bad]},
            headers={"Authorization": split_access_token(fake.access_token)[1]},
        )
    body = resp.json()
    assert body["invalidSymbol"] == [bad]
    assert fake.fno is not None
    assert body["validSymbol"] == {
        s: fake.fno.contracts[s].spec.fytoken for s in body["validSymbol"]
    }
    topics = map_symbols(body["validSymbol"]).topics
    assert sorted(topics.values()) == sorted([FUT, WEEKLY_CE, MONTHLY_CE])
    assert all(t.startswith("sf|nse_fo|") for t in topics)


async def test_the_master_it_serves_lists_what_it_quotes(
    fake: FakeFyersServer, tmp_path: Path
) -> None:
    assert fake.fno is not None
    async with httpx.AsyncClient(trust_env=False) as http:  # public files: no token
        js = await http.get(fake.sym_details_url + "NSE_FO_sym_master.json")
        text = await http.get(fake.sym_details_url + "NSE_FO.csv")
        missing = await http.get(fake.sym_details_url + "BSE_FO.csv")
    assert js.headers["content-type"] == "application/json"
    assert text.headers["content-type"] == "text/csv" and missing.status_code == 404
    for master in (parse_json(js.content), parse_csv(text.text)):
        assert master.bad_rows == []
        by_symbol = {i.symbol: i for i in master.instruments}
        assert list(by_symbol) == fake.fno.symbols
        for symbol, inst in by_symbol.items():
            c = fake.fno.contracts[symbol]
            assert (inst.lot_size, inst.tick_paise, inst.freeze_qty) == (LOT, c.spec.tick, FREEZE)
            assert inst.expiry is not None and int(inst.expiry.timestamp()) == c.expiry_epoch
            assert (inst.strike_paise, inst.option_type) == (c.strike, c.option_type)
            assert inst.underlying == NIFTY and inst.segment == "FO"
            kind = InstrumentKind.OPTION if c.option_type else InstrumentKind.FUTURE
            assert inst.kind is kind
    row = js.json()[FUT]
    v = values(fake, FUT)
    assert row["previousClose"] == v[20] / 100 and row["qtyFreeze"] == str(FREEZE)
    assert (row["lowerPrice"], row["upperPrice"]) == (v[17] / 100, v[18] / 100)

    def fetch(url: str) -> bytes:  # the client's daily master cache, pointed at the fake
        assert url.startswith(BASE_URL)
        resp = httpx.get(url.replace(BASE_URL, fake.sym_details_url), trust_env=False)
        resp.raise_for_status()
        return resp.content

    cached = await asyncio.to_thread(
        cached_master, data_dir=tmp_path, fetch=fetch, clock=VirtualClock(T0)
    )
    assert [i.symbol for i in cached.instruments] == fake.fno.symbols


async def test_derivatives_follow_the_index_option() -> None:
    async with FakeFyersServer(seed=1, tick_interval=None, symbols=["NSE:SBIN-EQ"]) as plain:
        assert plain.fno is None and plain.instrument(FUT) is None
    async with FakeFyersServer(
        seed=1, tick_interval=None, symbols=["NSE:SBIN-EQ"], fno=True, clock=VirtualClock(T0)
    ) as with_fno:
        assert with_fno.fno is not None and with_fno.instrument(FUT) is not None
        assert with_fno.instrument(NIFTY) is not None  # its underlying comes along
    async with FakeFyersServer(seed=1, tick_interval=None, fno=False) as off:
        assert off.fno is None and off.instrument(FUT) is None


async def test_prices_follow_the_simulated_index(fake: FakeFyersServer) -> None:
    assert fake.fno is not None
    index = values(fake, NIFTY)[0]
    forwards, prices = fake.fno.sim.theoretical(fake.now_ns())
    i = fake.fno.sim.symbols.index(FUT)
    fut = values(fake, FUT)
    assert fut[6] <= round(forwards[i]) <= fut[7] and fut[6] < fut[7]  # the forward, bid/ask
    assert fut[0] > index  # carry: the December future above the index
    for symbol in (WEEKLY_CE, WEEKLY_PE, MONTHLY_CE):
        v = values(fake, symbol)
        theo = prices[fake.fno.sim.symbols.index(symbol)]
        assert v[6] - 5 <= theo <= v[7] + 5 and v[0] in (v[6], v[7])
        assert v[1] % LOT == 0  # the day's volume in whole lots
    if OI:
        assert values(fake, MONTHLY_CE)[12] > 0


# ---- quotes, depth and the data socket -------------------------------------------------------


async def test_quotes_and_depth_through_the_sdk(fake: FakeFyersServer, sdk: Any) -> None:
    quotes = await asyncio.to_thread(sdk.quotes, {"symbols": f"{FUT},{WEEKLY_CE}"})
    assert quotes["s"] == "ok"
    rows = {r["n"]: r["v"] for r in quotes["d"]}
    for symbol in (FUT, WEEKLY_CE):
        v = values(fake, symbol)
        assert (rows[symbol]["lp"], rows[symbol]["bid"], rows[symbol]["ask"]) == (
            v[0] / 100, v[6] / 100, v[7] / 100,
        )  # fmt: skip
        assert rows[symbol]["fyToken"].startswith("101126")
    for symbol, tick in ((FUT, 0.1), (WEEKLY_CE, 0.05)):
        depth = await asyncio.to_thread(sdk.depth, {"symbol": symbol, "ohlcv_flag": "1"})
        d = depth["d"][symbol]
        assert d["tick_Size"] == tick
        assert fake.fno is not None
        assert d["expiry"] == str(fake.fno.contracts[symbol].expiry_epoch)
        assert d["oi"] == values(fake, symbol)[12] and d["oiflag"] is True
        levels = d["bids"] + d["ask"]
        assert d["bids"][0]["price"] == values(fake, symbol)[6] / 100
        for level in levels:
            assert round(level["price"] * 100) % round(tick * 100) == 0, level
            assert level["volume"] % LOT == 0, level


async def test_quotes_through_our_client(fake: FakeFyersServer) -> None:
    client = FyersQuotesClient(fake.config.access_token, fake.rest_url)
    try:
        answer = await client.quotes([FUT, MONTHLY_CE, "NSE:NIFTY26DEC99950CE"])
    finally:
        await client.aclose()
    assert answer.invalid == ["NSE:NIFTY26DEC99950CE"]
    for symbol in (FUT, MONTHLY_CE):
        q, v = answer.quotes[symbol], values(fake, symbol)
        assert (q.ltp, q.bid, q.ask, q.prev_close, q.volume) == (v[0], v[6], v[7], v[20], v[1])


async def test_data_socket_through_our_client(fake: FakeFyersServer) -> None:
    cfg = fake.config
    ws = FyersWebSocketManager(
        cfg.access_token, ws_url=cfg.ws_url, rest_url=cfg.rest_url, backoff=lambda n: 0.0
    )
    await ws.connect()
    try:
        await ws.subscribe([FUT, WEEKLY_CE], depth=True)
        assert set(ws.depth_symbols()) == {FUT, WEEKLY_CE}

        for _ in range(3):
            await fake.step()
        await until(
            lambda: all(
                ws.latest(s) is not None and ws.latest(s, depth=True) is not None
                and ws.latest(s).values[0] == values(fake, s)[0]  # type: ignore[union-attr]
                for s in (FUT, WEEKLY_CE)
            ),
            what="the contracts' quotes and depth",
        )  # fmt: skip
        for symbol, tick in ((FUT, 10), (WEEKLY_CE, 5)):
            quote = ws.latest(symbol)
            book = ws.latest(symbol, depth=True)
            assert quote is not None and book is not None
            assert quote.info.exchange_token == str(fake.fno.contracts[symbol].token)  # type: ignore[union-attr]
            assert quote.values[12] == values(fake, symbol)[12]  # open interest
            prices = [p for p in book.values[:10] if p]
            sizes = [q for q in book.values[10:20] if q]
            assert prices and all(p % tick == 0 for p in prices)  # type: ignore[operator]
            assert sizes and all(q % LOT == 0 for q in sizes)  # type: ignore[operator]
    finally:
        await ws.disconnect()


def test_data_socket_frames_through_the_sdk_decoder(tmp_path: Path) -> None:
    """The SDK's data-socket decoder (its private handler, never connected: the SDK's socket
    is a process-wide singleton with threads) reads the fake's derivative frames."""
    data_ws = pytest.importorskip("fyers_apiv3.FyersWebsocket.data_ws")
    from livetrade.fyers.symbols import mint_fake_token

    async def frames() -> tuple[FakeFyersServer, dict[str, str], list[bytes], list[bytes]]:
        fake = FakeFyersServer(seed=5, tick_interval=None)
        topics, snaps, updates = fake.record_frames([FUT, WEEKLY_CE], 2)
        return fake, topics, snaps, updates

    fake, topics, snaps, updates = asyncio.run(frames())
    got: list[dict[str, Any]] = []
    token = mint_fake_token("k" * 56, 4_102_444_800, app_id="ABCDEFGHIJ-100")
    cls = data_ws.FyersDataSocket
    instance = cls._instance
    try:
        sock = cls(
            access_token=token, log_path=str(tmp_path), reconnect=False, on_message=got.append
        )
        sock.symbol_token = dict(topics)
        sock.resp, sock.scrips_sym, sock.index_sym, sock.dp_sym = {}, {}, {}, {}
        sock.lite = False
        for frame in snaps + updates:
            sock._FyersDataSocket__response_msg(frame)
    finally:
        cls._instance = instance
    last = {m["symbol"]: m for m in got}
    assert set(last) == {FUT, WEEKLY_CE}
    for symbol in (FUT, WEEKLY_CE):
        v = values(fake, symbol)
        m = last[symbol]
        assert (m["ltp"], m["bid_price"], m["ask_price"]) == (v[0] / 100, v[6] / 100, v[7] / 100)
        assert m["vol_traded_today"] == v[1] and m["type"] == "sf"


# ---- orders in lots ------------------------------------------------------------------------


async def test_orders_in_lots_through_our_client(fake: FakeFyersServer) -> None:
    async with FyersRestClient(fake.config.access_token, base_url=fake.config.api_url) as rest:
        ack = await rest.place_order(MONTHLY_CE, "BUY", 2 * LOT, product="MARGIN", tag="lots1")
        (order,) = [o for o in await rest.orderbook() if o.order_id == ack.order_id]
        assert order.filled_quantity == 2 * LOT
        with pytest.raises(FyersOrderRejected) as odd:
            await rest.place_order(MONTHLY_CE, "BUY", LOT - 5, product="MARGIN")
        assert odd.value.fyers_code == -50 and odd.value.fyers_message == LOT_MESSAGE
        with pytest.raises(FyersOrderRejected, match=r"multiples of tick size 0\.1$"):
            await rest.place_order(FUT, "BUY", LOT, "LIMIT", "MARGIN", limit_price="24000.05")
        with pytest.raises(FyersOrderRejected, match="freeze"):
            await rest.place_order(FUT, "BUY", 30 * LOT, product="MARGIN")  # 1,950 > 1,800
        sliced = await rest.place_order(FUT, "BUY", 30 * LOT, product="MARGIN", slice=True)
        assert len(sliced.slices) == 2 and all(s.order_id for s in sliced.slices)
        book = {o.order_id: o for o in await rest.orderbook()}
        sizes = [book[s.order_id].quantity for s in sliced.slices if s.order_id]
        assert sizes == [27 * LOT, 3 * LOT]  # whole lots, none above the freeze quantity
        low = "1.00"  # a resting buy, far below the option's price
        rest_ack = await rest.place_order(
            MONTHLY_CE, "BUY", LOT, "LIMIT", "MARGIN", limit_price=low
        )
        with pytest.raises(FyersOrderRejected) as odd_modify:
            await rest.modify_order(rest_ack.order_id, kind="LIMIT", quantity=LOT + 1)
        assert odd_modify.value.fyers_message == LOT_MESSAGE
        await rest.modify_order(rest_ack.order_id, kind="LIMIT", quantity=3 * LOT)
        assert fake.orders.orders[rest_ack.order_id].qty == 3 * LOT
        await rest.cancel_order(rest_ack.order_id)
        positions = await rest.positions()
    rows = {p.symbol: p for p in positions.positions}
    assert rows[MONTHLY_CE].net_quantity == 2 * LOT and rows[FUT].net_quantity == 30 * LOT
    assert fake.fno is not None
    for symbol, row in rows.items():  # derivatives' rows: segment 11, the contract's fytoken
        assert row.raw["segment"] == 11
        assert row.raw["fyToken"] == fake.fno.contracts[symbol].spec.fytoken


async def test_orders_in_lots_through_the_sdk(fake: FakeFyersServer, sdk: Any) -> None:
    order = {
        "symbol": WEEKLY_PE, "qty": LOT, "type": 2, "side": 1, "productType": "MARGIN",
        "limitPrice": 0, "stopPrice": 0, "validity": "DAY", "disclosedQty": 0,
        "offlineOrder": False, "orderTag": "sdklots",
    }  # fmt: skip
    ok = await asyncio.to_thread(sdk.place_order, order)
    assert ok["s"] == "ok" and ok["code"] == 1101
    odd = await asyncio.to_thread(sdk.place_order, {**order, "qty": 100})
    assert (odd["s"], odd["code"], odd["message"]) == ("error", -50, LOT_MESSAGE)
    big = {**order, "qty": 60 * LOT, "isSliceOrder": True}  # 3,900 units: 3 slices of 1,755 max
    sliced = await asyncio.to_thread(sdk.place_order, big)
    assert sliced["s"] == "ok" and len(sliced["data"]) == 3
    ids = [item["body"]["id"] for item in sliced["data"]]
    qtys = [fake.orders.orders[i].qty for i in ids]
    assert qtys == [27 * LOT, 27 * LOT, 6 * LOT] and sum(qtys) == 60 * LOT
    book = await asyncio.to_thread(sdk.orderbook)
    mine = [o for o in book["orderBook"] if o["id"] == ok["id"]]
    assert mine[0]["segment"] == 11 and mine[0]["productType"] == "MARGIN"
    assert mine[0]["instrument"] == 14  # OPTIDX


# ---- the option chain ------------------------------------------------------------------------


def check_chain(fake: FakeFyersServer, body: dict[str, Any], count: int, expiry: int) -> None:
    assert fake.fno is not None
    assert (body["s"], body["code"], body["message"]) == ("ok", 200, "")
    data = body["data"]
    assert set(data) == {"callOi", "expiryData", "indiavixData", "optionsChain", "putOi"}
    assert data["expiryData"] == [
        {"date": "08-12-2026", "expiry": str(fake.fno.contracts[WEEKLY_CE].expiry_epoch),
         "expiry_flag": "W"},
        {"date": "29-12-2026", "expiry": str(fake.fno.contracts[MONTHLY_CE].expiry_epoch),
         "expiry_flag": "M"},
    ]  # fmt: skip
    head, *rows = data["optionsChain"]
    index = values(fake, NIFTY)
    assert head["symbol"] == NIFTY and head["strike_price"] == -1 and head["ltp"] == index[0] / 100
    assert head["fp"] == values(fake, FUT)[0] / 100  # the near future
    assert len(rows) == 2 * (2 * count + 1)
    strikes = [r["strike_price"] for r in rows]
    assert strikes == sorted(strikes)
    assert [r["option_type"] for r in rows[:2]] == ["PE", "CE"]  # the docs' sample order
    middle = sorted(set(strikes))[count]
    assert abs(middle * 100 - index[0]) <= 2_500  # ATM: the strike nearest the index
    for r in rows:
        c = fake.fno.contracts[r["symbol"]]
        assert c.expiry_epoch == expiry and r["fyToken"] == c.spec.fytoken
        v = values(fake, r["symbol"])
        assert (r["ltp"], r["bid"], r["ask"], r["volume"]) == (
            v[0] / 100, v[6] / 100, v[7] / 100, v[1],
        )  # fmt: skip
        assert r["oi"] == v[12] and r["prev_oi"] == v[12] - r["oich"]
    every = fake.fno.options(expiry)
    assert data["callOi"] == sum(values(fake, c.symbol)[12] for c in every if c.option_type == "CE")
    assert data["putOi"] == sum(values(fake, c.symbol)[12] for c in every if c.option_type == "PE")


async def test_option_chain_through_the_sdk(fake: FakeFyersServer, sdk: Any) -> None:
    assert fake.fno is not None
    weekly = fake.fno.contracts[WEEKLY_CE].expiry_epoch
    monthly = fake.fno.contracts[MONTHLY_CE].expiry_epoch
    body = await asyncio.to_thread(
        sdk.optionchain, {"symbol": NIFTY, "strikecount": 3, "timestamp": "", "greeks": 1}
    )
    check_chain(fake, body, 3, weekly)
    rows = body["data"]["optionsChain"][1:]
    t = (weekly - fake.now_ns() / 1e9) / (525_600 * 60)
    discount = math.exp(-fake.fno.sim.rate * t)
    by_strike: dict[float, dict[str, Any]] = {}
    for r in rows:
        g = r["greeks"]
        assert 0 < g["delta"] <= 1 if r["option_type"] == "CE" else -1 <= g["delta"] < 0
        assert g["gamma"] > 0 and g["theta"] < 0 and g["vega"] > 0
        assert 5 < g["iv"] < 40  # percent, around the smile's 13% at the money
        by_strike.setdefault(r["strike_price"], {})[r["option_type"]] = g
    for pair in by_strike.values():  # call delta - put delta = e^{-rT} (Black-76 parity)
        assert pair["CE"]["delta"] - pair["PE"]["delta"] == pytest.approx(discount, abs=0.03)
    chosen = await asyncio.to_thread(
        sdk.optionchain, {"symbol": NIFTY, "strikecount": 2, "timestamp": str(monthly)}
    )
    check_chain(fake, chosen, 2, monthly)
    assert "greeks" not in chosen["data"]["optionsChain"][1]
    assert MONTHLY_CE in {r["symbol"] for r in chosen["data"]["optionsChain"]}


async def test_option_chain_over_plain_http(fake: FakeFyersServer) -> None:
    headers = {"Authorization": fake.config.access_token}
    async with httpx.AsyncClient(base_url=fake.rest_url, trust_env=False) as http:
        url = "/options-chain-v3"
        ok = await http.get(url, params={"symbol": NIFTY, "strikecount": 1}, headers=headers)
        assert ok.status_code == 200
        assert fake.fno is not None
        check_chain(fake, ok.json(), 1, fake.fno.contracts[WEEKLY_CE].expiry_epoch)
        whole = await http.get(url, params={"symbol": NIFTY}, headers=headers)
        assert len(whole.json()["data"]["optionsChain"]) == 1 + 2 * 21  # every listed strike
        for params, code in (
            ({"symbol": NIFTY, "strikecount": 51}, -50),
            ({"symbol": NIFTY, "strikecount": "x"}, -50),
            ({"symbol": NIFTY, "timestamp": "123"}, -50),
            ({"symbol": "NSE:SBIN-EQ"}, -300),
            ({}, -50),
        ):
            bad = await http.get(url, params=params, headers=headers)
            assert bad.status_code == 400 and bad.json()["code"] == code, params
        refused = await http.get(url, params={"symbol": NIFTY})
        assert refused.status_code == 401
    assert ("/options-chain-v3", "symbol=NSE%3ANIFTY50-INDEX&strikecount=1") in fake.data.calls
