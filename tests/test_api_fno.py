"""The F&O endpoints of the REST API on a simulated session with derivatives: funds, sliced
orders, baskets, conversion, the option chain and the Greeks in positions; each one's success,
its refusals (the usual failure shape, naming the field, nothing changed) and its token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from test_api import snapshot

import livetrade as lt
from livetrade.api import PREFIX, create_app
from livetrade.model import IST

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday
CALL = "NSE:NIFTY26DEC24000CE"
PUT = "NSE:NIFTY26DEC24000PE"
FUT = "NSE:NIFTY26DECFUT"
SBIN = "NSE:SBIN-EQ"
TOKEN = "fno-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def exact(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


@pytest.fixture
async def session() -> AsyncIterator[lt.Session]:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=2, realtime=False, journal=False, start=DEC_2026,
        derivatives=True, name="api-fno", wallet_balance=Decimal("5000000"),
    )  # fmt: skip
    await s.run_for(ticks=3)
    yield s
    await s.close()


@pytest.fixture
async def client(session: lt.Session) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(session, token=TOKEN))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=AUTH
    ) as c:
        yield c


def refused(r: httpx.Response, status: int, code: str, field: str | None) -> dict[str, Any]:
    body: dict[str, Any] = r.json()
    assert r.status_code == status, r.text
    assert body["success"] is False and body["code"] == code and body["field"] == field, body
    assert isinstance(body["message"], str) and body["message"]
    return body


async def test_every_fno_endpoint_needs_the_token(session: lt.Session) -> None:
    transport = httpx.ASGITransport(app=create_app(session, token=TOKEN))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bare:
        before = snapshot(session.engine)
        for method, path, body in (
            ("GET", "funds", None),
            ("GET", "option-chain", None),
            ("GET", "orders/LT0000001-S/slices", None),
            ("DELETE", "orders/LT0000001-S/slices", None),
            ("POST", "basket", {"legs": [{"symbol": CALL, "side": "BUY", "lots": 1}]}),
            ("POST", "convert", {"symbol": CALL, "lots": 1, "from_product": "INTRADAY",
                                 "to_product": "MARGIN"}),
            ("POST", "buy", {"symbol": CALL, "quantity": 3900, "slice": True}),
        ):  # fmt: skip
            r = await bare.request(method, f"{PREFIX}/{path}", json=body)
            refused(r, 401, "UNAUTHORIZED", None)
        assert snapshot(session.engine) == before
    schema = create_app(session, token=TOKEN).openapi()
    for path, method in (
        ("/funds", "get"),
        ("/option-chain", "get"),
        ("/basket", "post"),
        ("/convert", "post"),
        ("/orders/{parent_id}/slices", "get"),
        ("/orders/{parent_id}/slices", "delete"),
    ):
        op = schema["paths"][PREFIX + path][method]
        assert "200" in op["responses"] and "401" in op["responses"], path
        assert op["summary"]
    assert "slice" in schema["components"]["schemas"]["OrderRequest"]["properties"]


async def test_funds_follow_the_positions(client: httpx.AsyncClient, session: lt.Session) -> None:
    keys = {
        "start", "available_cash", "margin_blocked", "fno_margin", "intraday_margin",
        "position_value", "premium_paid", "premium_received", "realised", "unrealised", "charges",
    }  # fmt: skip
    first = exact(await client.get(f"{PREFIX}/funds"))
    assert first.keys() == keys and first["start"] == first["available_cash"] == 5_000_000
    r = await client.post(f"{PREFIX}/sell", json={"symbol": PUT, "quantity": 65,
                                                  "product": "MARGIN"})  # fmt: skip
    assert r.status_code == 200, r.text
    after = exact(await client.get(f"{PREFIX}/funds"))
    f = session.funds()
    assert after == {k: getattr(f, k) for k in keys}
    assert after["fno_margin"] > 0 and after["margin_blocked"] == after["fno_margin"]
    left = after["available_cash"] + after["margin_blocked"] + after["position_value"]
    assert left == after["start"] + after["realised"] + after["unrealised"] - after["charges"]


async def test_a_sliced_buy_returns_the_parent_and_its_slices(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    r = await client.post(f"{PREFIX}/buy", json={"symbol": CALL, "quantity": 3900,
                                                 "slice": True})  # fmt: skip
    assert r.status_code == 200, r.text
    body = exact(r)
    parent = body["order"]
    assert parent["order_id"].endswith("-S") and parent["quantity"] == 3900
    assert parent["status"] == "FILLED" and parent["filled_quantity"] == 3900
    assert "Sliced into 3 orders" in body["message"]
    fills = [f for f in session.engine.fills if f.symbol == CALL]
    assert parent["commission"] == sum(Decimal(f.charges.total) for f in fills) / 100
    assert parent["charges"]["total"] == parent["commission"]
    got = exact(await client.get(f"{PREFIX}/orders/{parent['order_id']}/slices"))
    assert got["parent"]["order_id"] == parent["order_id"]
    assert [s["quantity"] for s in got["slices"]] == [1755, 1755, 390]
    assert all(s["parent_id"] == parent["order_id"] for s in got["slices"])
    # without slice: refused at the freeze, nothing changes
    before = snapshot(session.engine)
    r = await client.post(f"{PREFIX}/buy", json={"symbol": CALL, "quantity": 3900})
    assert "1800" in refused(r, 400, "FREEZE_QUANTITY", "quantity")["message"]
    r = await client.post(f"{PREFIX}/buy", json={"symbol": CALL, "quantity": 65, "slice": "yes"})
    refused(r, 422, "INVALID_REQUEST", "slice")
    assert snapshot(session.engine) == before


async def test_deleting_slices_cancels_the_working_ones(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    top = session.stream.top(CALL)
    assert top is not None
    low = Decimal(max(top[0] // 2, 5)) / 100
    r = await client.post(
        f"{PREFIX}/buy",
        json={"symbol": CALL, "quantity": 3640, "slice": True, "order_type": "LIMIT",
              "limit_price": str(low)},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    pid = r.json()["order"]["order_id"]
    assert r.json()["order"]["status"] == "OPEN"
    r = await client.delete(f"{PREFIX}/orders/{pid}/slices")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parent"]["status"] == "CANCELLED" and len(body["slices"]) == 3
    assert {s["status"] for s in body["slices"]} == {"CANCELLED"}
    again = await client.delete(f"{PREFIX}/orders/{pid}/slices")  # nothing left working
    assert again.status_code == 200 and again.json()["slices"] == []
    before = snapshot(session.engine)
    for method in ("GET", "DELETE"):
        r = await client.request(method, f"{PREFIX}/orders/LT9999999-S/slices")
        refused(r, 404, "UNKNOWN_ORDER", "parent_id")
    assert snapshot(session.engine) == before


async def test_a_basket_places_the_hedge_first_with_lots(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    r = await client.post(
        f"{PREFIX}/basket",
        json={"legs": [
            {"symbol": PUT, "side": "sell", "lots": 1, "product": "MARGIN"},
            {"symbol": CALL, "side": "BUY", "quantity": 130, "kind": "market"},
        ]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["failed"] is None and body["unwound"] is False
    assert body["sequence"] == [1, 0] and body["live_legs"] == [0, 1]
    assert body["basket_id"].startswith("BK-")
    legs = body["legs"]
    assert [leg["state"] for leg in legs] == ["filled", "filled"]
    assert [leg["order"]["quantity"] for leg in legs] == [65, 130]
    assert all(leg["code"] is None and leg["unwind_order_id"] is None for leg in legs)
    assert legs[0]["order"]["charges"]["total"] > 0
    ids = {o.order_id for o in session.basket_orders(body["basket_id"])}
    assert ids == {leg["order_id"] for leg in legs}
    assert all(o.source == "api" for o in session.engine.orders if o.order_id in ids)


async def test_a_refused_basket_places_nothing_and_names_the_leg(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    before = snapshot(session.engine)
    call = {"symbol": CALL, "side": "BUY", "lots": 1}
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({"legs": [call, {"symbol": PUT, "side": "SELL", "quantity": 100}]}, 400,
         "INVALID_QUANTITY", "legs[1].quantity"),
        ({"legs": [call, {"symbol": PUT, "side": "SELL", "lots": 1, "quantity": 65}]}, 400,
         "INVALID_QUANTITY", "legs[1].lots"),
        ({"legs": [call, {"symbol": PUT, "side": "SELL"}]}, 400, "INVALID_QUANTITY",
         "legs[1].quantity"),
        ({"legs": [call, {"symbol": PUT, "side": "SELL", "lots": 0}]}, 400, "INVALID_QUANTITY",
         "legs[1].lots"),
        ({"legs": [call, {"symbol": FUT, "side": "BUY", "lots": 27, "product": "MARGIN"}]}, 400,
         "MAX_NOTIONAL", "legs[1].quantity"),
        ({"legs": [call, {"symbol": CALL, "side": "BUY", "lots": 1, "product": "CNC"}]}, 400,
         "INVALID_PRODUCT", "legs[1].product"),
        ({"legs": []}, 422, "INVALID_REQUEST", "legs"),
        ({"legs": [call] * 11}, 422, "INVALID_REQUEST", "legs"),
        ({"legs": [call | {"side": "HOLD"}]}, 422, "INVALID_REQUEST", "legs.0.side"),
        ({"legs": [call | {"stop_los": 1}]}, 422, "INVALID_REQUEST", "legs.0.stop_los"),
        ({"legs": [call], "unwind": "no"}, 422, "INVALID_REQUEST", "unwind"),
    ]  # fmt: skip
    for body, status, code, field in cases:
        r = await client.post(f"{PREFIX}/basket", json=body)
        refused(r, status, code, field)
    assert snapshot(session.engine) == before


async def test_convert_an_option_and_a_share(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    for body in ({"symbol": CALL, "quantity": 130}, {"symbol": SBIN, "quantity": 10}):
        assert (await client.post(f"{PREFIX}/buy", json=body)).status_code == 200
    r = await client.post(f"{PREFIX}/convert", json={
        "symbol": CALL, "lots": 1, "from_product": "intraday", "to_product": "MARGIN"})  # fmt: skip
    assert r.status_code == 200, r.text
    conv = r.json()["conversion"]
    assert (conv["quantity"], conv["from_product"], conv["to_product"]) == (
        65, "INTRADAY", "MARGIN")  # fmt: skip
    assert conv["billed"].keys() == conv["refunded"].keys() >= {"total", "stt", "stamp"}
    share = {"symbol": SBIN, "quantity": 4, "from_product": "INTRADAY", "to_product": "CNC"}
    r = await client.post(f"{PREFIX}/convert", json=share)
    assert r.status_code == 200, r.text
    assert r.json()["conversion"]["billed"]["total"] > 0  # delivery STT and stamp
    held = {(p.symbol, p.product.value): p.quantity for p in session.engine.positions()}
    assert held == {(CALL, "INTRADAY"): 65, (CALL, "MARGIN"): 65, (SBIN, "INTRADAY"): 6,
                    (SBIN, "CNC"): 4}  # fmt: skip
    before = snapshot(session.engine)
    for body, status, code, field in (
        ({"symbol": CALL, "quantity": 65, "from_product": "INTRADAY", "to_product": "CNC"}, 400,
         "INVALID_CONVERSION", "to_product"),
        ({"symbol": CALL, "quantity": 130, "from_product": "INTRADAY", "to_product": "MARGIN"},
         400, "QUANTITY_ABOVE_OPEN", "quantity"),
        ({"symbol": PUT, "lots": 1, "from_product": "INTRADAY", "to_product": "MARGIN"}, 400,
         "NO_POSITION", "symbol"),
        ({"symbol": CALL, "quantity": 65, "lots": 1, "from_product": "INTRADAY",
          "to_product": "MARGIN"}, 400, "INVALID_QUANTITY", "lots"),
        ({"symbol": CALL, "from_product": "INTRADAY", "to_product": "MARGIN"}, 400,
         "INVALID_QUANTITY", "quantity"),
        ({"symbol": CALL, "lots": 1, "from_product": "INTRADAY", "to_product": "DELIVERY"}, 422,
         "INVALID_REQUEST", "to_product"),
        ({"symbol": CALL, "lots": 1, "to_product": "MARGIN"}, 422, "INVALID_REQUEST",
         "from_product"),
    ):  # fmt: skip
        refused(await client.post(f"{PREFIX}/convert", json=body), status, code, field)
    assert snapshot(session.engine) == before


async def test_the_option_chain_as_json(client: httpx.AsyncClient, session: lt.Session) -> None:
    r = await client.get(f"{PREFIX}/option-chain", params={"strikes": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    frame = session.option_chain(strikes=5)
    assert body["underlying"] == "NSE:NIFTY50-INDEX" and len(body["rows"]) == 5
    assert datetime.fromisoformat(body["expiry"]) == frame.attrs["expiry"]
    assert [row["strike"] for row in body["rows"]] == list(frame.index)
    assert sum(row["atm"] for row in body["rows"]) == 1
    row, ref = body["rows"][2], frame.iloc[2]
    for key in ("call_symbol", "put_symbol", "call_bid", "put_ask", "call_oi", "put_oi_change"):
        assert row[key] == ref[key], key
    assert row["call_iv"] == pytest.approx(ref["call_iv"]) and 0 < row["call_iv"] < 1
    assert row["call_delta"] == pytest.approx(ref["call_delta"])
    assert isinstance(row["call_oi"], int) and row["call_oi"] > 0
    monthly = (await client.get(f"{PREFIX}/option-chain", params={"expiry": "2026-12-29"})).json()
    assert monthly["rows"][0]["call_symbol"].startswith("NSE:NIFTY26DEC")
    nxt = (await client.get(f"{PREFIX}/option-chain", params={"expiry": "next"})).json()
    assert nxt["expiry"] == monthly["expiry"]
    for params, status, code, field in (
        ({"expiry": "2026-12-10"}, 400, "INVALID_INPUT", "expiry"),
        ({"expiry": "soon"}, 400, "INVALID_INPUT", "expiry"),
        ({"underlying": "NSE:BANKNIFTY-INDEX"}, 400, "INVALID_INPUT", "underlying"),
        ({"strikes": 0}, 422, "INVALID_REQUEST", "strikes"),
    ):
        refused(await client.get(f"{PREFIX}/option-chain", params=params), status, code, field)


async def test_positions_carry_their_greeks(client: httpx.AsyncClient, session: lt.Session) -> None:
    for path, body in (
        ("buy", {"symbol": CALL, "quantity": 130, "product": "MARGIN"}),
        ("sell", {"symbol": FUT, "quantity": 65, "product": "MARGIN"}),
        ("buy", {"symbol": SBIN, "quantity": 3}),
    ):
        assert (await client.post(f"{PREFIX}/{path}", json=body)).status_code == 200
    rows = {p["symbol"]: p for p in (await client.get(f"{PREFIX}/positions")).json()["positions"]}
    assert {"symbol", "quantity", "avg_buy_price", "total_cost"} <= rows[CALL].keys()
    df = session.positions_df().set_index("symbol")
    for symbol in (CALL, FUT, SBIN):
        for col in ("delta", "gamma", "theta", "vega", "days_to_expiry"):
            want = df.loc[symbol, col]
            got = rows[symbol][col]
            assert (got is None and want != want) or got == pytest.approx(want), (symbol, col)
        assert rows[symbol]["underlying"] == df.loc[symbol, "underlying"]
    assert rows[FUT]["delta"] == -65 and rows[SBIN]["delta"] == 3
    assert rows[SBIN]["expiry"] is None and rows[CALL]["expiry"].startswith("2026-12-29T15:40")
    assert 0 < rows[CALL]["delta"] < 130 and rows[CALL]["theta"] < 0


async def test_a_wrong_method_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.put(f"{PREFIX}/orders/LT0000001-S/slices")
    refused(r, 405, "METHOD_NOT_ALLOWED", None)
    assert r.headers["allow"] == "DELETE, GET"
    assert (await client.put(f"{PREFIX}/funds")).headers["allow"] == "GET"


async def test_a_bare_engine_serves_funds_and_conversions() -> None:
    engine = lt.LiveTradingEngine(Decimal("100000"))
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        quote = {"symbol": SBIN, "bid_price": 799.95, "ask_price": 800.05, "last_price": 800}
        assert (await c.post(f"{PREFIX}/update-price", json=quote)).status_code == 200
        assert (await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 10})).is_success
        funds = exact(await c.get(f"{PREFIX}/funds"))
        assert funds["intraday_margin"] > 0 and funds["fno_margin"] == 0
        to_cnc = {"from_product": "INTRADAY", "to_product": "CNC"}
        r = await c.post(f"{PREFIX}/convert", json={"symbol": SBIN, "lots": 4} | to_cnc)
        assert r.status_code == 200 and r.json()["conversion"]["quantity"] == 4, r.text
        before = snapshot(engine)
        r = await c.post(f"{PREFIX}/convert", json={"symbol": SBIN} | to_cnc)
        refused(r, 400, "INVALID_QUANTITY", "quantity")
        refused(await c.get(f"{PREFIX}/option-chain"), 400, "INVALID_INPUT", "underlying")
        assert snapshot(engine) == before
