"""Demat holdings read back (issue #20): Fyers' positions are today's trades only, so a CNC
position carried from an earlier day is only in ``GET /holdings``. Reconciliation folds the
holdings into the CNC positions (the morning's quantity plus today's net), so a restored CNC
position is not a false difference, holdings we do not know about are one, and once adopted
the engine's CNC sell check knows the shares. The fake trading API runs in process on the
session's virtual clock (no sockets, no waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

import livetrade as lt
from livetrade.errors import OrderRejected
from livetrade.fyers.broker import BrokerHolding, FyersRestClient, RateLimiter
from livetrade.live import LiveNotArmed, _with_holdings
from livetrade.model import OrderStatus, Product, datetime_to_ns
from livetrade.money import from_paise
from livetrade.session import DEFAULT_START, Session
from livetrade.testing.fake_rest import FakeFyersRest, mock_transport

INFY = "NSE:INFY-EQ"
MOCK_URL = "http://127.0.0.1:9/api/v3"


def holding(symbol: str, qty: int, cost: str) -> BrokerHolding:
    return BrokerHolding(symbol, qty, qty, "HLD", Decimal(cost), None, Decimal(0), Decimal(0), None)


def test_holdings_fold_into_cnc_with_todays_trades() -> None:
    pos = {(INFY, "CNC"): (4, Decimal("1500.00")), ("NSE:SBIN-EQ", "INTRADAY"): (2, Decimal(1))}
    demat = _with_holdings(pos, [holding(INFY, 10, "1400.00"), holding("NSE:TCS-EQ", 3, "3000")])
    assert demat == {INFY: 10, "NSE:TCS-EQ": 3}
    assert pos[(INFY, "CNC")] == (14, Decimal("1428.57"))  # (10 x 1400 + 4 x 1500) / 14
    assert pos[("NSE:TCS-EQ", "CNC")] == (3, Decimal("3000.00"))
    assert pos[("NSE:SBIN-EQ", "INTRADAY")] == (2, Decimal(1))
    sold = {(INFY, "CNC"): (-4, Decimal("1500.00"))}  # 4 sold from the holding today
    _with_holdings(sold, [holding(INFY, 10, "1400.00")])
    assert sold[(INFY, "CNC")] == (6, Decimal("1400.00"))


class Rig:
    def __init__(self, name: str, holdings: dict[str, tuple[int, Decimal]]) -> None:
        self.name = name
        self.session: Session | None = None
        self.limiter_now = 0.0
        self.fake = FakeFyersRest(
            prices=self.price, clock=self.now, funds=Decimal("500000"), holdings=holdings
        )

    def now(self) -> float:
        session = lt.get_session(self.name)
        ns = session.clock.now_ns() if session is not None else datetime_to_ns(DEFAULT_START)
        return ns / 1e9

    def price(self, symbol: str) -> Decimal | None:
        session = lt.get_session(self.name)
        last = session.stream.last_paise(symbol) if session is not None else None
        return None if last is None else from_paise(last)

    async def _sleep(self, seconds: float) -> None:
        self.limiter_now += max(seconds, 0.0)
        await asyncio.sleep(0)

    async def open(self) -> Session:
        client = FyersRestClient(
            self.fake.authorization,
            base_url=MOCK_URL,
            transport=mock_transport(self.fake),
            now=self.now,
            limiter=RateLimiter(clock=lambda: self.limiter_now, sleep=self._sleep),
            sleep=self._sleep,
        )
        self.session = await lt.open_session(
            feed="sim",
            broker="fyers",
            live=True,
            seed=1,
            realtime=False,
            name=self.name,
            fyers_client=client,
            poll_interval=None,
            journal=False,
        )
        await self.session.run_for(ticks=2)
        return self.session


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig("holdings", {INFY: (20, Decimal("1400.00"))})
    yield r
    if r.session is not None:
        await r.session.close()


async def test_holdings_are_cnc_positions_in_reconciliation(rig: Rig) -> None:
    s = await rig.open()
    rec = s.reconciliation
    assert rec is not None and not rec.ok
    (row,) = rec.differences.to_dict("records")
    assert (row["key"], row["ours"], row["broker"]) == (f"{INFY} CNC", 0, 20)
    assert "20 of them in demat holdings" in row["note"] and "₹1400.00" in row["note"]
    assert [h.symbol for h in rec.broker_holdings] == [INFY]
    with pytest.raises(LiveNotArmed):
        await s.arm_live(confirm="LIVE")
    rec = await s.reconcile(adopt=True)  # the holding becomes our CNC position at its cost
    assert rec.ok
    (pos,) = s.engine.positions()
    assert (pos.symbol, pos.product, pos.quantity) == (INFY, Product.CNC, 20)
    assert pos.avg_buy_price == Decimal("1400.00")
    await s.arm_live(confirm="LIVE")

    sold = await s.sell(INFY, 5, product="CNC")  # from the holding: Fyers nets it today
    assert sold.status is OrderStatus.FILLED
    assert (await s.reconcile()).ok  # 20 in demat - 5 sold today = our 15
    await s.buy(INFY, 3, product="CNC")
    rec = await s.reconcile()
    assert rec.ok and rec.broker_positions[(INFY, "CNC")][0] == 18
    with pytest.raises(OrderRejected) as too_many:  # the CNC sell check knows the holding
        await s.sell(INFY, 19, product="CNC")
    assert "exceeds the 18 held" in too_many.value.reason
    assert rig.fake.requests_to("/orders/sync", "POST")[-1].body["qty"] == 3  # never sent
