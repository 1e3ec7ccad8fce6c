"""REST API: every endpoint through the ASGI transport (and once over real loopback HTTP), the
original's JSON shapes, each rejection as a 4xx with the engine's code, token enforcement, and a
hypothesis fuzz that no body ever yields a 5xx or changes state when refused."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import livetrade as lt
from livetrade.api import (
    PREFIX,
    HealthResponse,
    OrderResponse,
    UpdatePriceResponse,
    create_app,
    is_loopback,
    rejection_status,
    serve_api,
)
from livetrade.errors import AuthError, FeedDisconnected, InvalidInput
from livetrade.journal import JournalError

SBIN = "NSE:SBIN-EQ"
ORDER_KEYS = {"order_id", "symbol", "quantity", "executed_price", "timestamp", "commission"}
PORTFOLIO_KEYS = {
    "wallet_balance",
    "total_realized_pnl",
    "total_unrealized_pnl",
    "total_pnl",
    "total_pnl_percent",
    "portfolio_value",
    "active_positions_count",
    "order_count",
    "positions",
}

Snapshot = tuple[Any, ...]


def snapshot(engine: lt.LiveTradingEngine) -> Snapshot:
    """Everything a refused request must leave untouched."""
    return (
        engine.portfolio_pnl(),
        [(o.order_id, o.status, o.quantity, o.filled_quantity) for o in engine.orders],
        len(engine.fills),
        engine.kill_switch,
        engine.get_risk_orders(),
    )


def exact(response: httpx.Response) -> Any:
    """The body with JSON numbers read as Decimal, to compare money exactly."""
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


def client_for(app: Any, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def session() -> AsyncIterator[lt.Session]:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=7, realtime=False, name="api", journal=False
    )
    await s.run_for(ticks=5)
    yield s
    await s.close()


@pytest.fixture
async def client(session: lt.Session) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(session)) as c:
        yield c


def quote(session: lt.Session, symbol: str = SBIN) -> lt.PriceQuote:
    q = session.stream.quote(symbol)
    assert q is not None
    return q


# ====================================================================== health, docs
async def test_health_reports_session_mode_clock_and_symbols(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    r = await client.get(f"{PREFIX}/health")
    assert r.status_code == 200
    body = r.json()
    assert {"status", "engine_ready", "price_stream_connected", "timestamp"} <= body.keys()
    assert body["status"] == "ok" and body["engine_ready"] and body["price_stream_connected"]
    assert body["session"] == "api"
    assert body["mode"] == "PAPER" and body["broker"] == "paper" and body["feed"] == "sim"
    assert body["clock"] == "virtual"
    assert body["symbol_count"] == len(session.symbols) == 6
    assert body["timestamp"] == session.now.isoformat()
    HealthResponse.model_validate(body)


async def test_health_is_503_once_the_session_is_closed(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    await session.close()
    r = await client.get(f"{PREFIX}/health")
    assert r.status_code == 503
    assert r.json()["status"] == "closed" and r.json()["engine_ready"] is False
    r = await client.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})
    assert r.status_code == 503
    assert r.json() == {
        "success": False,
        "message": "session 'api' is closed; open a new one",
        "code": "SESSION_CLOSED",
        "field": None,
    }
    assert (await client.get(f"{PREFIX}/portfolio")).status_code == 200  # reading still works


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    for name in ("buy", "sell", "cancel", "portfolio", "positions", "orders", "open-orders"):
        assert f"{PREFIX}/{name}" in paths
    for name in ("risk-orders", "update-price", "health"):
        assert f"{PREFIX}/{name}" in paths
    buy = spec["paths"][f"{PREFIX}/buy"]["post"]
    assert {"200", "400", "422"} <= set(buy["responses"])
    schemas = spec["components"]["schemas"]
    price = schemas["OrderOut"]["properties"]["executed_price"]
    assert {"type": "number"} in price["anyOf"]  # money is documented as a JSON number
    assert (await client.get("/docs")).status_code == 200


# ====================================================================== buy / sell
async def test_buy_keeps_the_original_shape(client: httpx.AsyncClient, session: lt.Session) -> None:
    q = quote(session)
    sl, tp = q.bid_price - 5, q.ask_price + 5
    r = await client.post(
        f"{PREFIX}/buy",
        json={
            "symbol": SBIN,
            "quantity": 10,
            "stop_loss_price": float(sl),
            "take_profit_price": float(tp),
        },
    )
    assert r.status_code == 200, r.text
    body = exact(r)
    assert body["success"] is True
    assert body["message"].startswith(f"Bought 10 {SBIN} at ₹{q.ask_price}")
    order = body["order"]
    assert order.keys() >= ORDER_KEYS
    assert order["symbol"] == SBIN and order["quantity"] == 10
    assert order["executed_price"] == q.ask_price  # buys at the ask, exactly
    assert order["timestamp"] == session.now.isoformat()
    assert order["timestamp"].endswith("+05:30")
    fill = session.engine.fills[-1]
    assert order["commission"] == fill.charges.total_rupees > 0
    assert order["charges"]["total"] == order["commission"]
    assert order["charges"]["stamp"] == Decimal(fill.charges.stamp) / 100
    assert order["type"] == "MARKET_BUY" and order["order_type"] == "MARKET"
    assert order["status"] == "FILLED" and order["product"] == "INTRADAY"
    assert order["stop_loss_price"] == sl and order["take_profit_price"] == tp
    OrderResponse.model_validate(r.json())


async def test_sell_has_the_same_shape_and_sells_at_the_bid(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    await client.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 10})
    q = quote(session)
    r = await client.post(f"{PREFIX}/sell", json={"symbol": SBIN, "quantity": 4})
    assert r.status_code == 200
    body = exact(r)
    assert body["success"] is True and body["order"].keys() >= ORDER_KEYS
    assert body["order"]["type"] == "MARKET_SELL"
    assert body["order"]["executed_price"] == q.bid_price
    assert session.engine.get_active_positions()[SBIN].quantity == 6


async def test_money_is_exact_json_numbers(client: httpx.AsyncClient, session: lt.Session) -> None:
    await client.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 7})
    await session.run_for(ticks=30)
    r = await client.get(f"{PREFIX}/portfolio")
    body = exact(r)
    engine_view = session.engine.portfolio_pnl()
    for key in ("wallet_balance", "total_pnl", "portfolio_value", "total_charges", "cash"):
        assert isinstance(r.json()[key], int | float)
        assert body[key] == engine_view[key], key
    assert '"total_pnl_percent":-0.0' not in r.text


async def test_limit_order_rests_and_fills_on_a_later_quote(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    q = quote(session)
    limit = q.ask_price - 2
    r = await client.post(
        f"{PREFIX}/buy",
        json={"symbol": SBIN, "quantity": 5, "order_type": "limit", "limit_price": str(limit)},
    )
    assert r.status_code == 200
    order = exact(r)["order"]
    assert order["status"] == "OPEN" and order["executed_price"] is None
    assert order["type"] == "LIMIT_BUY" and order["limit_price"] == limit
    assert "is open" in r.json()["message"]
    opens = (await client.get(f"{PREFIX}/open-orders")).json()["orders"]
    assert [o["order_id"] for o in opens] == [order["order_id"]]
    r = await client.post(
        f"{PREFIX}/update-price",
        json={
            "symbol": SBIN,
            "bid_price": float(limit - 1),
            "ask_price": float(limit - Decimal("0.95")),
            "last_price": float(limit - 1),
            "volume": 10,
        },
    )
    assert r.json()["filled_orders"] == [order["order_id"]]
    hist = exact(await client.get(f"{PREFIX}/orders", params={"symbol": SBIN}))["orders"]
    assert hist[-1]["type"] == "LIMIT_BUY"
    assert hist[-1]["executed_price"] == limit - Decimal("0.95")


async def test_stop_orders_and_product(client: httpx.AsyncClient, session: lt.Session) -> None:
    q = quote(session)
    r = await client.post(
        f"{PREFIX}/buy",
        json={
            "symbol": SBIN,
            "quantity": 2,
            "order_type": "SL-M",
            "trigger_price": float(q.ask_price + 3),
            "product": "cnc",
        },
    )
    assert r.status_code == 200, r.text
    o = r.json()["order"]
    assert (o["order_type"], o["type"], o["product"], o["status"]) == (
        "SL-M",
        "SLM_BUY",
        "CNC",
        "OPEN",
    )
    r = await client.post(
        f"{PREFIX}/sell",
        json={
            "symbol": SBIN,
            "quantity": 2,
            "order_type": "SL",
            "trigger_price": float(q.bid_price - 3),
            "limit_price": float(q.bid_price - 4),
            "tag": "api-test",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["order"]["type"] == "SL_SELL" and r.json()["order"]["tag"] == "api-test"


async def test_cancel(client: httpx.AsyncClient, session: lt.Session) -> None:
    q = quote(session)
    r = await client.post(
        f"{PREFIX}/buy",
        json={
            "symbol": SBIN,
            "quantity": 3,
            "order_type": "LIMIT",
            "limit_price": float(q.bid_price - 10),
        },
    )
    oid = r.json()["order"]["order_id"]
    r = await client.post(f"{PREFIX}/cancel", json={"order_id": oid})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["message"] == f"Cancelled order {oid}."
    assert body["order"]["status"] == "CANCELLED" and body["order"].keys() >= ORDER_KEYS
    before = snapshot(session.engine)
    r = await client.post(f"{PREFIX}/cancel", json={"order_id": oid})
    assert r.status_code == 409
    assert r.json()["code"] == "NOT_OPEN" and r.json()["field"] == "order_id"
    r = await client.post(f"{PREFIX}/cancel", json={"order_id": "LT9999999"})
    assert r.status_code == 404 and r.json()["code"] == "UNKNOWN_ORDER"
    assert snapshot(session.engine) == before


async def test_api_orders_are_journaled_with_their_origin(tmp_path: Path) -> None:
    s = await lt.open_session(seed=2, realtime=False, name="api-journal", journal_dir=tmp_path)
    try:
        await s.run_for(ticks=2)
        async with client_for(create_app(s)) as c:
            r = await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 3})
            assert r.status_code == 200
            oid = r.json()["order"]["order_id"]
        df = s.journal_df()
        [accepted] = df[(df["order_id"] == oid) & (df["kind"] == "order_accepted")].itertuples()
        assert accepted.source == "api"
        assert accepted.origin == f"REST POST {PREFIX}/buy from 127.0.0.1:123"
    finally:
        await s.close()


# ====================================================================== reading state
async def test_portfolio_positions_orders_and_risk_orders(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    q = quote(session)
    await client.post(
        f"{PREFIX}/buy",
        json={"symbol": SBIN, "quantity": 10, "stop_loss_price": float(q.bid_price - 5)},
    )
    await client.post(f"{PREFIX}/sell", json={"symbol": "NSE:INFY-EQ", "quantity": 3})
    portfolio = exact(await client.get(f"{PREFIX}/portfolio"))
    assert portfolio.keys() >= PORTFOLIO_KEYS
    assert portfolio["active_positions_count"] == 2 and portfolio["order_count"] == 2
    pos = portfolio["positions"][SBIN]
    assert {"quantity", "avg_buy_price", "current_price", "unrealized_pnl"} <= pos.keys()
    assert "unrealized_pnl_percent" in pos
    assert pos["avg_buy_price"] == q.ask_price
    assert portfolio["positions"]["NSE:INFY-EQ"]["quantity"] == -3

    positions = exact(await client.get(f"{PREFIX}/positions"))["positions"]
    by_symbol = {p["symbol"]: p for p in positions}
    assert {"symbol", "quantity", "avg_buy_price", "total_cost"} <= by_symbol[SBIN].keys()
    assert by_symbol[SBIN]["total_cost"] == q.ask_price * 10

    orders = (await client.get(f"{PREFIX}/orders")).json()["orders"]
    assert [o["type"] for o in orders] == ["MARKET_BUY", "MARKET_SELL"]
    assert {"order_id", "symbol", "type", "quantity", "executed_price"} <= orders[0].keys()
    only = (await client.get(f"{PREFIX}/orders", params={"symbol": SBIN})).json()["orders"]
    assert [o["symbol"] for o in only] == [SBIN]

    risk = exact(await client.get(f"{PREFIX}/risk-orders"))
    assert set(risk) == {"stop_losses", "take_profits"}
    assert risk["take_profits"] == {}
    [leg] = risk["stop_losses"][SBIN]
    assert leg["trigger_price"] == q.bid_price - 5 and leg["quantity"] == 10
    assert leg["side"] == "SELL"


# ====================================================================== rejections
def _order_rejections() -> list[tuple[str, Callable[[lt.PriceQuote], dict[str, Any]], int, str]]:
    return [
        ("INVALID_QUANTITY", lambda q: {"symbol": SBIN, "quantity": 0}, 400, "quantity"),
        ("INVALID_SYMBOL", lambda q: {"symbol": "SBIN", "quantity": 1}, 400, "symbol"),
        ("NOT_TRADABLE", lambda q: {"symbol": "NSE:NIFTY50-INDEX", "quantity": 1}, 400, "symbol"),
        ("NO_QUOTE", lambda q: {"symbol": "NSE:NOPE-EQ", "quantity": 1}, 400, "symbol"),
        (
            "INVALID_PRICE",
            lambda q: {"symbol": SBIN, "quantity": 1, "stop_loss_price": 790.03},
            400,
            "stop_loss_price",
        ),
        (
            "INVALID_STOP_LOSS",
            lambda q: {"symbol": SBIN, "quantity": 1, "stop_loss_price": float(q.ask_price + 1)},
            400,
            "stop_loss_price",
        ),
        (
            "INVALID_TAKE_PROFIT",
            lambda q: {"symbol": SBIN, "quantity": 1, "take_profit_price": float(q.bid_price)},
            400,
            "take_profit_price",
        ),
        (
            "MISSING_PRICE",
            lambda q: {"symbol": SBIN, "quantity": 1, "order_type": "LIMIT"},
            400,
            "limit_price",
        ),
        (
            "UNEXPECTED_PRICE",
            lambda q: {"symbol": SBIN, "quantity": 1, "limit_price": 800},
            400,
            "limit_price",
        ),
        ("MAX_QUANTITY", lambda q: {"symbol": SBIN, "quantity": 200_000}, 400, "quantity"),
        ("MAX_NOTIONAL", lambda q: {"symbol": "NSE:TCS-EQ", "quantity": 20_000}, 400, "quantity"),
        ("INSUFFICIENT_MARGIN", lambda q: {"symbol": SBIN, "quantity": 8_000}, 400, "quantity"),
        (
            "INSUFFICIENT_FUNDS",
            lambda q: {"symbol": SBIN, "quantity": 2_000, "product": "CNC"},
            400,
            "quantity",
        ),
    ]


@pytest.mark.parametrize(
    ("code", "make", "status", "field"),
    _order_rejections(),
    ids=[r[0] for r in _order_rejections()],
)
async def test_order_rejections_are_4xx_with_the_engine_code(
    client: httpx.AsyncClient,
    session: lt.Session,
    code: str,
    make: Callable[[lt.PriceQuote], dict[str, Any]],
    status: int,
    field: str,
) -> None:
    before = snapshot(session.engine)
    r = await client.post(f"{PREFIX}/buy", json=make(quote(session)))
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == code and body["field"] == field
    assert body["message"].endswith(".") and len(body["message"]) > 15
    assert snapshot(session.engine) == before


async def test_more_rejections(client: httpx.AsyncClient, session: lt.Session) -> None:
    r = await client.post(f"{PREFIX}/sell", json={"symbol": SBIN, "quantity": 5, "product": "CNC"})
    assert (r.status_code, r.json()["code"]) == (400, "INSUFFICIENT_HOLDINGS")

    await client.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 10})
    q = quote(session)
    r = await client.post(
        f"{PREFIX}/sell",
        json={"symbol": SBIN, "quantity": 5, "stop_loss_price": float(q.ask_price + 5)},
    )
    assert (r.status_code, r.json()["code"]) == (400, "BRACKET_ON_EXIT")

    session.kill_switch("REDUCING")
    r = await client.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})
    assert (r.status_code, r.json()["code"]) == (403, "KILL_SWITCH_REDUCING")
    r = await client.post(f"{PREFIX}/sell", json={"symbol": SBIN, "quantity": 1})
    assert r.status_code == 200  # reducing the position is allowed
    session.kill_switch("HALTED")
    before = snapshot(session.engine)
    r = await client.post(f"{PREFIX}/sell", json={"symbol": SBIN, "quantity": 1})
    assert (r.status_code, r.json()["code"]) == (403, "KILL_SWITCH")
    assert snapshot(session.engine) == before


async def test_stale_quote(client: httpx.AsyncClient, session: lt.Session) -> None:
    price = {"symbol": "NSE:MANUAL-EQ", "bid_price": 99.95, "ask_price": 100, "last_price": 100}
    assert (await client.post(f"{PREFIX}/update-price", json=price)).status_code == 200
    assert (
        await client.post(f"{PREFIX}/buy", json={"symbol": "NSE:MANUAL-EQ", "quantity": 1})
    ).status_code == 200
    await session.run_for(ticks=120)  # the simulated symbols tick; the manual one goes stale
    r = await client.post(f"{PREFIX}/buy", json={"symbol": "NSE:MANUAL-EQ", "quantity": 1})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (400, "STALE_QUOTE", "symbol")


async def test_rate_limit_is_429() -> None:
    s = await lt.open_session(
        seed=1,
        realtime=False,
        name="api-rate",
        limits=lt.RiskLimits(max_orders_per_minute=1),
        journal=False,
    )
    try:
        await s.run_for(ticks=1)
        async with client_for(create_app(s)) as c:
            assert (await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})).is_success
            r = await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})
            assert (r.status_code, r.json()["code"]) == (429, "RATE_LIMIT")
    finally:
        await s.close()


def test_rejection_status_table() -> None:
    assert rejection_status("INVALID_QUANTITY") == 400
    assert rejection_status("SOMETHING_NEW") == 400
    assert rejection_status("UNKNOWN_ORDER") == 404
    assert rejection_status("NOT_OPEN") == 409


BAD_BODIES: list[tuple[str, bytes, int, str, str | None]] = [
    ("malformed json", b'{"symbol": "NSE:SBIN-EQ", ', 400, "MALFORMED_JSON", None),
    ("array", b"[1, 2]", 422, "INVALID_REQUEST", None),
    ("string", b'"buy"', 422, "INVALID_REQUEST", None),
    ("empty object", b"{}", 422, "INVALID_REQUEST", "symbol"),
    ("missing quantity", b'{"symbol": "NSE:SBIN-EQ"}', 422, "INVALID_REQUEST", "quantity"),
    (
        "text quantity",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": "ten"}',
        422,
        "INVALID_REQUEST",
        "quantity",
    ),
    (
        "fractional quantity",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1.5}',
        422,
        "INVALID_REQUEST",
        "quantity",
    ),
    (
        "boolean quantity",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": true}',
        422,
        "INVALID_REQUEST",
        "quantity",
    ),
    ("null symbol", b'{"symbol": null, "quantity": 1}', 422, "INVALID_REQUEST", "symbol"),
    (
        "misspelt key",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1, "stop_los_price": 1}',
        422,
        "INVALID_REQUEST",
        "stop_los_price",
    ),
    (
        "NaN price",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1, "stop_loss_price": "NaN"}',
        422,
        "INVALID_REQUEST",
        "stop_loss_price",
    ),
    (
        "huge exponent",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1, "stop_loss_price": "1e999999999"}',
        422,
        "INVALID_REQUEST",
        "stop_loss_price",
    ),
    (
        "infinite number",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1, "take_profit_price": 1e999}',
        422,
        "INVALID_REQUEST",
        "take_profit_price",
    ),
    (
        "bad order type",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1, "order_type": "FOK"}',
        422,
        "INVALID_REQUEST",
        "order_type",
    ),
    (
        "bad product",
        b'{"symbol": "NSE:SBIN-EQ", "quantity": 1, "product": "MTF"}',
        422,
        "INVALID_REQUEST",
        "product",
    ),
    (
        "long symbol",
        b'{"symbol": "' + b"X" * 5000 + b'", "quantity": 1}',
        422,
        "INVALID_REQUEST",
        "symbol",
    ),
    ("invalid utf-8", b'{"symbol": "\xff\xfe", "quantity": 1}', 400, "MALFORMED_JSON", None),
    ("empty body", b"", 422, "INVALID_REQUEST", None),
]


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [b[1:] for b in BAD_BODIES],
    ids=[b[0] for b in BAD_BODIES],
)
async def test_bad_bodies_are_4xx_in_the_original_shape(
    client: httpx.AsyncClient,
    session: lt.Session,
    raw: bytes,
    status: int,
    code: str,
    field: str | None,
) -> None:
    before = snapshot(session.engine)
    r = await client.post(
        f"{PREFIX}/buy", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == code and body["field"] == field
    assert isinstance(body["message"], str) and body["message"]
    assert "X" * 100 not in r.text  # the input is never echoed back
    assert snapshot(session.engine) == before


async def test_other_bad_requests(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{PREFIX}/buy", content=b"symbol=NSE:SBIN-EQ&quantity=1")
    assert r.status_code in (400, 422) and r.json()["success"] is False
    r = await client.get(f"{PREFIX}/buy")
    assert (r.status_code, r.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    r = await client.get(f"{PREFIX}/nowhere")
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    r = await client.get(f"{PREFIX}/orders", params={"symbol": "X" * 100})
    assert (r.status_code, r.json()["field"]) == (422, "symbol")
    r = await client.post(f"{PREFIX}/cancel", json={"order_id": ""})
    assert (r.status_code, r.json()["code"]) == (422, "INVALID_REQUEST")


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, session: lt.Session) -> None:
    big = b'{"symbol": "' + b"x" * 70_000 + b'", "quantity": 1}'
    json_type = {"content-type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    before = snapshot(session.engine)
    for content in (big, chunks()):  # announced by Content-Length, then streamed (chunked)
        r = await client.post(f"{PREFIX}/buy", content=content, headers=json_type)
        assert r.status_code == 413
        assert r.json()["code"] == "BODY_TOO_LARGE" and r.json()["success"] is False
    assert snapshot(session.engine) == before


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (JournalError("journal /x.sqlite: disk full"), "JOURNAL_ERROR", "disk full"),
        (FeedDisconnected("the feed is down"), "FEED_DISCONNECTED", "the feed is down"),
        (AuthError("token abc123 expired"), "AUTH_ERROR", "credentials"),
    ],
)
async def test_service_errors_are_503_with_their_sentence(
    session: lt.Session, error: Exception, code: str, text: str
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    session.engine.submit = failing  # type: ignore[method-assign]
    async with client_for(create_app(session)) as c:
        r = await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})
    assert (r.status_code, r.json()["code"], r.json()["success"]) == (503, code, False)
    assert text in r.json()["message"] and "abc123" not in r.text


async def test_a_bug_is_500_in_the_same_shape_without_details(session: lt.Session) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("secret internals")

    session.engine.portfolio_pnl = broken  # type: ignore[method-assign]
    async with client_for(create_app(session), raise_app_exceptions=False) as c:
        r = await c.get(f"{PREFIX}/portfolio")
    assert r.status_code == 500
    assert r.json()["code"] == "INTERNAL_ERROR" and r.json()["success"] is False
    assert "secret" not in r.text


# ====================================================================== update-price
async def test_update_price_fires_the_stop_loss(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    q = quote(session)
    sl, tp = q.bid_price - 5, q.ask_price + 5
    r = await client.post(
        f"{PREFIX}/buy",
        json={
            "symbol": SBIN,
            "quantity": 10,
            "stop_loss_price": float(sl),
            "take_profit_price": float(tp),
        },
    )
    assert r.status_code == 200
    risk = (await client.get(f"{PREFIX}/risk-orders")).json()
    sl_id = risk["stop_losses"][SBIN][0]["order_id"]
    gap = sl - 1  # a gap through the stop fills at the gapped bid, not at the stop
    r = await client.post(
        f"{PREFIX}/update-price",
        json={
            "symbol": SBIN,
            "bid_price": float(gap),
            "ask_price": float(gap + Decimal("0.10")),
            "last_price": float(gap),
            "volume": 1234,
        },
    )
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Price updated", "filled_orders": [sl_id]}
    UpdatePriceResponse.model_validate(r.json())
    assert (await client.get(f"{PREFIX}/risk-orders")).json() == {
        "stop_losses": {},
        "take_profits": {},
    }
    assert (await client.get(f"{PREFIX}/positions")).json() == {"positions": []}
    last = exact(await client.get(f"{PREFIX}/orders"))["orders"][-1]
    assert (last["order_id"], last["role"], last["type"]) == (sl_id, "STOP_LOSS", "MARKET_SELL")
    assert last["executed_price"] == gap
    q2 = quote(session)
    assert (q2.last_price, q2.volume) == (gap, 1234)


async def test_update_price_fires_the_take_profit(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    q = quote(session)
    tp = q.ask_price + 5
    await client.post(
        f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 4, "take_profit_price": float(tp)}
    )
    r = await client.post(
        f"{PREFIX}/update-price",
        json={
            "symbol": SBIN,
            "bid_price": float(tp),
            "ask_price": float(tp + 1),
            "last_price": float(tp),
        },
    )
    assert len(r.json()["filled_orders"]) == 1
    assert session.engine.get_active_positions() == {}


async def test_update_price_rejects_bad_quotes(
    client: httpx.AsyncClient, session: lt.Session
) -> None:
    before = snapshot(session.engine)
    r = await client.post(
        f"{PREFIX}/update-price",
        json={"symbol": SBIN, "bid_price": 801, "ask_price": 800, "last_price": 800},
    )
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        400,
        "INVALID_INPUT",
        "bid_price",
    )
    r = await client.post(f"{PREFIX}/update-price", json={"symbol": SBIN, "last_price": -1})
    assert (r.status_code, r.json()["field"]) == (400, "last_price")
    r = await client.post(f"{PREFIX}/update-price", json={"symbol": SBIN, "last_price": 800.001})
    assert (r.status_code, r.json()["field"]) == (400, "last_price")
    r = await client.post(f"{PREFIX}/update-price", json={"symbol": "SBIN", "last_price": 800})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_SYMBOL")
    r = await client.post(
        f"{PREFIX}/update-price", json={"symbol": SBIN, "last_price": 800, "volume": -1}
    )
    assert (r.status_code, r.json()["field"]) == (400, "volume")
    r = await client.post(f"{PREFIX}/update-price", json={"symbol": SBIN})
    assert (r.status_code, r.json()["field"]) == (422, "last_price")
    assert snapshot(session.engine) == before


async def test_update_price_can_be_disabled(session: lt.Session) -> None:
    async with client_for(create_app(session, allow_update_price=False)) as c:
        r = await c.post(f"{PREFIX}/update-price", json={"symbol": SBIN, "last_price": 800})
    assert (r.status_code, r.json()["code"]) == (403, "UPDATE_PRICE_DISABLED")


async def test_update_price_is_refused_when_a_feed_supplies_prices() -> None:
    import pandas as pd

    rows = pd.DataFrame(
        {
            "timestamp": ["2025-06-02 09:15:00", "2025-06-02 09:15:01"],
            "symbol": [SBIN, SBIN],
            "bid": [800.0, 800.05],
            "ask": [800.1, 800.15],
            "last": [800.05, 800.1],
            "volume": [10, 20],
        }
    )
    s = await lt.open_session(
        feed="replay", replay=rows, realtime=False, name="api-replay", journal=False
    )
    try:
        await s.run_for(ticks=1)
        async with client_for(create_app(s)) as c:
            r = await c.post(f"{PREFIX}/update-price", json={"symbol": SBIN, "last_price": 1})
            assert (r.status_code, r.json()["code"]) == (409, "FEED_ATTACHED")
            assert (await c.get(f"{PREFIX}/health")).json()["feed"] == "replay"
            assert (await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})).is_success
        assert s.stream.quote(SBIN) is not None
        assert quote(s).last_price == Decimal("800.05")
    finally:
        await s.close()


async def test_bare_engine_like_the_original() -> None:
    stream = lt.LivePriceStream()
    engine = lt.LiveTradingEngine(Decimal("100000"), stream)
    async with client_for(create_app(engine)) as c:
        health = (await c.get(f"{PREFIX}/health")).json()
        assert (health["session"], health["feed"], health["clock"]) == (None, "none", "wall")
        assert health["symbol_count"] == 0
        r = await c.post(
            f"{PREFIX}/update-price",
            json={
                "symbol": SBIN,
                "bid_price": 549.95,
                "ask_price": 550.05,
                "last_price": 550,
                "volume": 1000,
            },
        )
        assert r.json() == {"success": True, "message": "Price updated", "filled_orders": []}
        r = await c.post(
            f"{PREFIX}/buy",
            json={
                "symbol": SBIN,
                "quantity": 100,
                "stop_loss_price": 545.00,
                "take_profit_price": 560.00,
            },
        )
        assert r.status_code == 200 and r.json()["order"]["executed_price"] == 550.05
        r = await c.post(
            f"{PREFIX}/update-price",
            json={"symbol": SBIN, "bid_price": 544, "ask_price": 544.1, "last_price": 544},
        )
        assert len(r.json()["filled_orders"]) == 1
        portfolio = (await c.get(f"{PREFIX}/portfolio")).json()
        assert portfolio["active_positions_count"] == 0 and portfolio["order_count"] == 2


def test_create_app_refuses_nonsense() -> None:
    with pytest.raises(TypeError):
        create_app(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        create_app(lt.LiveTradingEngine(), token="")


# ====================================================================== token
async def test_token_is_required_when_set(session: lt.Session) -> None:
    token = "s3cret-token-value"
    async with client_for(create_app(session, token=token)) as c:
        r = await c.get(f"{PREFIX}/portfolio")
        assert r.status_code == 401
        assert r.json()["code"] == "UNAUTHORIZED" and r.json()["success"] is False
        assert r.headers["www-authenticate"] == "Bearer"
        before = snapshot(session.engine)
        for headers in (
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {token}x"},
            {"Authorization": f"Basic {token}"},
            {"Authorization": token},
        ):
            r = await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1}, headers=headers)
            assert r.status_code == 401, headers
            assert token not in r.text
        assert snapshot(session.engine) == before
        good = {"Authorization": f"Bearer {token}"}
        r = await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1}, headers=good)
        assert r.status_code == 200
        for path in ("portfolio", "positions", "orders", "open-orders", "risk-orders"):
            assert (await c.get(f"{PREFIX}/{path}")).status_code == 401
            assert (await c.get(f"{PREFIX}/{path}", headers=good)).status_code == 200
        # health and the schema stay open: they carry no secrets and no positions
        assert (await c.get(f"{PREFIX}/health")).status_code == 200
        spec = (await c.get("/openapi.json")).json()
        assert "HTTPBearer" in spec["components"]["securitySchemes"]


async def test_no_token_means_no_auth(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{PREFIX}/portfolio", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_serve_api_refuses_a_public_host_without_a_token(session: lt.Session) -> None:
    with pytest.raises(InvalidInput, match="token"):
        await serve_api(session, host="0.0.0.0", port=0)
    with pytest.raises(InvalidInput, match="empty"):
        await serve_api(session, host="127.0.0.1", port=0, token="")


# ====================================================================== real HTTP on loopback
async def test_serve_api_over_real_loopback_http(session: lt.Session) -> None:
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    server = await serve_api(session, port=0, token="tok")
    try:
        assert server.running and server.port > 0
        # uvicorn's own signal handlers are not installed: a kernel's interrupt stays the kernel's
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
        assert server.url == f"http://127.0.0.1:{server.port}"
        auth = {"Authorization": "Bearer tok"}
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=10) as c:
            health = await c.get(f"{PREFIX}/health")
            assert health.status_code == 200 and health.json()["session"] == "api"
            assert "server" not in health.headers  # no version banner
            assert (await c.get(f"{PREFIX}/portfolio")).status_code == 401
            r = await c.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 2}, headers=auth)
            assert r.status_code == 200 and r.json()["success"] is True
            r = await c.post(f"{PREFIX}/sell", json={"symbol": SBIN, "quantity": 0}, headers=auth)
            assert (r.status_code, r.json()["code"]) == (400, "INVALID_QUANTITY")
            r = await c.post(
                f"{PREFIX}/buy",
                content=b"{nope",
                headers=auth | {"content-type": "application/json"},
            )
            assert r.status_code == 400
            await session.run_for(ticks=10)  # the market and the server share this loop
            for path in ("portfolio", "positions", "orders", "open-orders", "risk-orders"):
                assert (await c.get(f"{PREFIX}/{path}", headers=auth)).status_code == 200
            r = await c.post(
                f"{PREFIX}/update-price", json={"symbol": SBIN, "last_price": 800}, headers=auth
            )
            assert r.status_code == 200
    finally:
        await server.stop()
    assert not server.running
    await server.stop()  # idempotent
    with socket.socket() as probe:  # the port is released
        probe.bind(("127.0.0.1", server.port))


async def test_serve_api_reports_a_taken_port(session: lt.Session) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            await serve_api(session, port=taken.getsockname()[1])
    stray = [t for t in asyncio.all_tasks() if (t.get_name() or "").startswith("livetrade:api")]
    assert stray == []


async def test_awaiting_the_server_waits_until_it_stops(session: lt.Session) -> None:
    server = await serve_api(session, port=0)
    waiter = asyncio.ensure_future(_wait(server))
    await asyncio.sleep(0)
    assert not waiter.done()
    await server.stop()
    await waiter
    assert "stopped" in repr(server)


async def _wait(server: Any) -> None:
    await server


# ====================================================================== fuzz
KEYS = [
    "symbol",
    "quantity",
    "stop_loss_price",
    "take_profit_price",
    "order_type",
    "limit_price",
    "trigger_price",
    "product",
    "tag",
    "order_id",
    "bid_price",
    "ask_price",
    "last_price",
    "volume",
    "extra",
]
INTERESTING = st.sampled_from(
    [
        SBIN,
        "NSE:INFY-EQ",
        "NSE:NIFTY50-INDEX",
        "SBIN",
        "",
        "MARKET",
        "LIMIT",
        "SL",
        "SL-M",
        "CNC",
        "INTRADAY",
        "LT0000001",
        0,
        1,
        10,
        -5,
        100_000_000,
        800,
        800.05,
        799.95,
        "800.05",
        1e300,
        -0.0,
        "1e999999999",
        "NaN",
        "Infinity",
    ]
)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=4,
)
VALUE = st.one_of(INTERESTING, SCALAR)
NEAR_VALID = st.builds(
    lambda base, extra: base | extra,
    st.fixed_dictionaries(
        {"symbol": st.sampled_from([SBIN, "NSE:INFY-EQ"]), "quantity": st.integers(-2, 20)}
    ),
    st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=3),
)
BODY = st.one_of(
    NEAR_VALID.map(lambda d: json.dumps(d).encode()),
    st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=6).map(lambda d: json.dumps(d).encode()),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
)
ENDPOINT = st.sampled_from(["buy", "sell", "cancel", "update-price"])
RESPONSE_MODEL: dict[str, type[BaseModel]] = {
    "buy": OrderResponse,
    "sell": OrderResponse,
    "cancel": OrderResponse,
    "update-price": UpdatePriceResponse,
}


def test_fuzzed_requests_never_5xx_and_refusals_change_nothing() -> None:
    """Random bodies (structured and raw bytes) against every write endpoint: a 4xx in the
    failure shape with state untouched, or a 2xx that fits the documented response model."""
    with asyncio.Runner() as runner:
        s = runner.run(lt.open_session(seed=3, realtime=False, name="api-fuzz", journal=False))
        runner.run(s.run_for(ticks=3))
        c = client_for(create_app(s))
        counts = {"ok": 0, "refused": 0}

        async def one(endpoint: str, raw: bytes) -> None:
            before = snapshot(s.engine)
            r = await c.post(
                f"{PREFIX}/{endpoint}", content=raw, headers={"content-type": "application/json"}
            )
            assert r.status_code < 500, r.text
            body = r.json()
            if r.is_success:
                RESPONSE_MODEL[endpoint].model_validate(body)
                assert body["success"] is True
                counts["ok"] += 1
            else:
                assert 400 <= r.status_code < 500
                assert body["success"] is False and body["message"] and body["code"]
                assert "field" in body
                assert snapshot(s.engine) == before, (endpoint, raw, body)
                counts["refused"] += 1

        async def many(requests: list[tuple[str, bytes]]) -> None:
            for endpoint, raw in requests:
                await one(endpoint, raw)

        @settings(
            max_examples=400,  # x 5 requests each: 2,000 requests
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.lists(st.tuples(ENDPOINT, BODY), min_size=5, max_size=5))
        def check(requests: list[tuple[str, bytes]]) -> None:
            runner.run(many(requests))

        try:
            check()
        finally:
            runner.run(c.aclose())
            runner.run(s.close())
        assert counts["refused"] > 1000 and counts["ok"] > 20, counts
