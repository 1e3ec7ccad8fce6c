"""Live baskets (Fyers' multi-order endpoint) and position conversion (convert_position)
through the LiveRouter, against the fake Fyers trading API (in process, no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)
from test_live import SBIN, Rig

from livetrade.engine import Conversion
from livetrade.errors import OrderRejected
from livetrade.live import LiveRouter
from livetrade.model import OrderStatus, Product, Side
from livetrade.request import OrderRequest

INFY = "NSE:INFY-EQ"


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig("basket-live")
    yield r
    if r.session is not None:
        await r.session.close()


def router(r: Rig) -> LiveRouter:
    assert r.s.router is not None
    return r.s.router


async def test_a_basket_is_one_multi_order_request(rig: Rig) -> None:
    s = await rig.open()
    res = s.engine.place_basket(
        [OrderRequest.parse(INFY, "SELL", 2), OrderRequest.parse(SBIN, "BUY", 3)]
    )
    assert res.sequence == (1, 0) and all(o.status is OrderStatus.PENDING for o in res.orders)
    await router(rig).drain()
    (post,) = rig.fake.requests_to("/multi-order/sync", "POST")
    assert [leg["symbol"] for leg in post.body] == [SBIN, INFY]  # the hedge (buy) first
    assert rig.posts() == []  # no single-order request
    await router(rig).sync()
    assert all(o.status is OrderStatus.FILLED and o.broker_order_id for o in res.orders)
    assert {o.basket_id for o in res.orders} == {res.basket_id}
    held = {p.symbol: p.quantity for p in s.engine.positions()}
    assert held == {SBIN: 3, INFY: -2}


async def test_a_leg_fyers_refuses_unwinds_the_placed_ones(rig: Rig) -> None:
    s = await rig.open()
    rig.fake.reject_next("RED: margin shortfall", code=-99)  # the first leg sent: the buy
    res = s.engine.place_basket(
        [OrderRequest.parse(INFY, "SELL", 2), OrderRequest.parse(SBIN, "BUY", 3)]
    )
    await router(rig).drain()  # the basket, then the unwind's cancels and counter orders
    await router(rig).sync()
    sell, buy = res.orders
    assert buy.status is OrderStatus.REJECTED and "margin shortfall" in buy.message
    assert sell.filled_quantity == 2
    (counter,) = [o for o in s.engine.basket_orders(res.basket_id) if o.parent_id]
    assert counter.parent_id == sell.order_id and counter.side is Side.BUY
    assert counter.source == "basket-unwind" and counter.status is OrderStatus.FILLED
    assert s.engine.positions() == []
    broker = await router(rig).client.positions()
    assert broker.open() == ()


async def test_convert_is_booked_only_when_fyers_accepts(rig: Rig) -> None:
    s = await rig.open()
    await s.buy(SBIN, 5)
    await router(rig).drain()
    await router(rig).sync()
    with pytest.raises(OrderRejected) as err:
        s.engine.convert(SBIN, 5, "INTRADAY", "CNC")  # live: only through Fyers
    assert err.value.code == "LIVE_CONVERSION"
    with pytest.raises(OrderRejected) as err:
        await router(rig).convert(SBIN, 6, "INTRADAY", "CNC")
    assert err.value.code == "QUANTITY_ABOVE_OPEN" and err.value.field == "quantity"
    assert rig.fake.requests_to("/positions", "POST") == []  # refused before sending
    conv = await router(rig).convert(SBIN, 3, "INTRADAY", "CNC")
    assert isinstance(conv, Conversion) and conv.billed.total > 0
    (sent,) = rig.fake.requests_to("/positions", "POST")
    assert sent.body["symbol"] == f"{SBIN}-INTRADAY" and sent.body["convertQty"] == 3
    assert sent.body["convertTo"] == "CNC" and sent.body["positionSide"] == 1
    assert sent.body["overnight"] == 0  # bought today
    held = {p.product: p.quantity for p in s.engine.positions()}
    assert held == {Product.INTRADAY: 2, Product.CNC: 3}
    broker = {
        (p.symbol, p.product): p.net_quantity for p in (await router(rig).client.positions()).open()
    }
    assert broker == {(SBIN, "INTRADAY"): 2, (SBIN, "CNC"): 3}
    before = [(p.product, p.quantity) for p in s.engine.positions()]
    charges = s.engine.charges_paise
    with pytest.raises(OrderRejected) as err:  # the docs: CNC positions do not convert
        await router(rig).convert(SBIN, 3, "CNC", "INTRADAY")
    assert "cannot convert CNC" in err.value.reason
    assert [(p.product, p.quantity) for p in s.engine.positions()] == before
    assert s.engine.charges_paise == charges
