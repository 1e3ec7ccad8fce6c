"""Live trading against the fake Fyers server over real loopback sockets: the data socket, the
trading REST API and the order socket, as a live session uses them. Waits are on events with a
generous timeout (never a sleep that must be long enough); the fake's market moves only when
a test pushes a quote."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from conftest import until
from fyers_sdk import sdk_model
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

import livetrade as lt
from livetrade.errors import AuthError
from livetrade.fyers.broker import FyersRestClient
from livetrade.fyers.order_socket import (
    FyersOrderSocket,
    GeneralEvent,
    OrderEvent,
    OrderSocketMessage,
    TradeEvent,
)
from livetrade.fyers.rest import is_loopback
from livetrade.model import OrderStatus
from livetrade.session import Session
from livetrade.testing.fake_fyers import FakeFyersServer

SBIN = "NSE:SBIN-EQ"
WAIT = 15.0  # seconds: only a broken implementation ever waits this long


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    server = FakeFyersServer(seed=3, tick_interval=None)
    await server.start()
    cfg = server.config
    assert all(is_loopback(u) for u in (cfg.ws_url, cfg.api_url, cfg.order_ws_url))
    yield server
    await server.stop()


def authorization(fake: FakeFyersServer) -> str:
    return fake.config.access_token


# ================================================================ the socket on its own


async def test_order_socket_subscribes_and_streams_updates(fake: FakeFyersServer) -> None:
    events: list[OrderSocketMessage] = []
    connects: list[int] = []
    sock = FyersOrderSocket(
        authorization(fake),
        url=fake.config.order_ws_url,
        channels=("orders", "trades", "positions", "general"),
        on_event=events.append,
        on_connect=lambda: connects.append(1),
        ping_interval=0.05,
    )
    assert "<hidden>" in repr(sock) and fake.access_token not in repr(sock)
    sock.start()
    await sock.wait_connected(WAIT)
    await until(lambda: any(isinstance(e, GeneralEvent) for e in events), what="the subscribe ack")
    (conn,) = fake.live_order_connections
    assert conn.channels == {"orders", "trades", "positions", "edis", "pricealerts", "login"}
    assert conn.frames_in[0].startswith('{"T": "SUB_ORD"')
    await until(lambda: "ping" in conn.frames_in, what="a ping")
    async with FyersRestClient(fake.config.access_token, base_url=fake.config.api_url) as rest:
        ack = await rest.place_order(SBIN, "BUY", 5, tag="sock1")
    await until(lambda: any(isinstance(e, TradeEvent) for e in events), what="the trade")
    orders = [e.order for e in events if isinstance(e, OrderEvent)]
    trades = [e.trade for e in events if isinstance(e, TradeEvent)]
    assert orders[-1].order_id == ack.order_id and orders[-1].status is OrderStatus.FILLED
    assert orders[-1].tag == "sock1" and trades[0].quantity == 5
    assert trades[0].order_id == ack.order_id and trades[0].tag == "sock1"
    await fake.drop_order_sockets()
    await until(lambda: len(connects) == 2, what="the reconnect")
    await until(lambda: len(fake.live_order_connections) == 1, what="the new subscription")
    await sock.close()
    assert sock.state == "closed" and sock.protocol_errors == 0


async def test_a_refused_token_is_an_auth_error_not_a_retry_storm(fake: FakeFyersServer) -> None:
    errors: list[BaseException] = []
    fake.reject_token = True
    sock = FyersOrderSocket(
        authorization(fake), url=fake.config.order_ws_url, on_error=errors.append
    )
    sock.start()
    await until(lambda: bool(errors), what="the refusal")
    assert isinstance(errors[0], AuthError) and "403" in str(errors[0])
    assert sock.state == "failed" and fake.order_connections == []
    await sock.close()


# ================================================================ a live session on it


async def open_live(fake: FakeFyersServer, **kw: object) -> Session:
    session = await lt.open_session(
        feed="fyers",
        broker="fyers",
        live=True,
        fyers=fake.config,
        name="fake-live",
        journal=False,
        poll_interval=None,  # the order socket alone must bring every update
        square_off=None,
        **kw,  # type: ignore[arg-type]
    )
    await session.watch([SBIN])
    await fake.push_quote(SBIN, 80_000)
    await until(lambda: session.stream.last_paise(SBIN) == 80_000, what="the first quote")
    assert session.order_socket is not None
    await session.order_socket.wait_connected(WAIT)
    await session.arm_live(confirm="LIVE")
    return session


async def test_fills_arrive_on_the_order_socket(fake: FakeFyersServer) -> None:
    s = await open_live(fake)
    try:
        assert s.engine.initial_paise == 1_000_000_00  # the fake's funds
        order = await s.buy(SBIN, 4, order_type="LIMIT", limit_price=Decimal("799.00"))
        assert order.status is OrderStatus.OPEN and s.router is not None
        polls = s.router.polls
        await fake.push_quote(SBIN, 79_850)  # the fake matches; the socket says so
        await until(lambda: order.status is OrderStatus.FILLED, what="the fill over the socket")
        assert order.fill_paise == 79_850 and s.engine.positions()[0].quantity == 4
        assert s.router.polls == polls  # no book was read: the socket brought the fill
        closing = await s.kill(flatten=True)
        (exit_order,) = closing
        await until(lambda: exit_order.status is OrderStatus.FILLED, what="the flattening fill")
        assert s.engine.positions() == []
        assert (await s.reconcile()).ok
    finally:
        await s.close()


async def test_a_dropped_order_socket_catches_up_from_the_books(fake: FakeFyersServer) -> None:
    s = await open_live(fake)
    try:
        order = await s.buy(SBIN, 2, order_type="LIMIT", limit_price=Decimal("790.00"))
        sock = s.order_socket
        assert sock is not None and s.router is not None
        polls = s.router.polls
        conn = fake.live_order_connections[0]
        conn.channels.clear()  # the fill below is lost with this connection
        fake.orders.fill(order.broker_order_id or "", price=Decimal("790.00"))
        await fake.drop_order_sockets()
        await until(lambda: order.status is OrderStatus.FILLED, what="the catch-up read")
        assert s.router.polls > polls and sock.connects == 2
        assert s.engine.positions()[0].quantity == 2
    finally:
        await s.close()


async def test_a_dead_token_on_the_order_socket_halts_live_trading(
    fake: FakeFyersServer,
) -> None:
    s = await open_live(fake)
    try:
        fake.reject_token = True
        await fake.drop_order_sockets()
        await until(lambda: s.engine.kill_switch is lt.KillSwitch.HALTED, what="the halt")
    finally:
        await s.close()


# ================================================================ the official SDK, same server


@pytest.fixture
def sdk(
    fake: FakeFyersServer, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The official SDK's ``FyersModel`` on the fake server (tests/fyers_sdk.py)."""
    with sdk_model(fake, tmp_path_factory.mktemp("sdk_logs"), monkeypatch) as model:
        yield model


async def test_the_sdk_and_our_client_agree_on_the_fake_server(
    fake: FakeFyersServer, sdk: Any
) -> None:
    order = {
        "symbol": SBIN, "qty": 2, "type": 1, "side": 1, "productType": "INTRADAY",
        "limitPrice": 700.0, "stopPrice": 0, "validity": "DAY", "disclosedQty": 0,
        "offlineOrder": False, "orderTag": "sdk1",
    }  # fmt: skip
    placed = await asyncio.to_thread(sdk.place_order, order)
    assert placed["s"] == "ok" and placed["id"] in fake.orders.orders
    async with FyersRestClient(fake.config.access_token, base_url=fake.config.api_url) as ours:
        ack = await ours.place_order(
            SBIN, "BUY", 2, "LIMIT", limit_price=Decimal("700.00"), tag="ours1"
        )
        sdk_req, our_req = fake.orders.requests_to("/orders/sync", "POST")
        assert our_req.headers["authorization"] == sdk_req.headers["authorization"]
        assert {**sdk_req.body, "orderTag": "x"} == {**our_req.body, "orderTag": "x"}
        sdk_book = (await asyncio.to_thread(sdk.orderbook))["orderBook"]
        our_book = await ours.orderbook()
        assert [o["id"] for o in sdk_book] == [o.order_id for o in our_book]
        assert [o.tag for o in our_book] == ["sdk1", "ours1"]
        cancelled = await asyncio.to_thread(sdk.cancel_order, {"id": ack.order_id})
        assert cancelled["s"] == "ok"
        assert (await ours.order(ack.order_id)).status is OrderStatus.CANCELLED  # type: ignore[union-attr]


async def test_an_update_that_beats_the_rest_answer_is_matched_by_tag(
    fake: FakeFyersServer,
) -> None:
    s = await open_live(fake)
    try:
        assert s.router is not None
        polls = s.router.polls
        fake.orders.delay_next(0.5, method="POST", path="/orders/sync")  # the answer lags
        order = await s.buy(SBIN, 3, order_type="LIMIT", limit_price=Decimal("805.00"))
        # the fake filled it at once and said so on the order socket before answering
        assert order.status is OrderStatus.FILLED and order.fill_paise == 80_000
        assert len(fake.orders.orders) == 1 and order.broker_order_id in fake.orders.orders
        assert len(s.engine.fills) == 1 and s.router.polls == polls
    finally:
        await s.close()
