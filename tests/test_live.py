"""Live trading end to end: a session with broker="fyers", live=True against the fake Fyers
trading API (in process, ``httpx.MockTransport``: no sockets, no waiting). The session runs on
the simulated market's virtual clock and the fake prices orders at the session's own last
trade, so every fill is known exactly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

import livetrade as lt
from livetrade.errors import AuthError, OrderRejected
from livetrade.fyers.broker import FyersRestClient, RateLimiter, client_tag
from livetrade.fyers.rest import is_loopback
from livetrade.live import LiveNotArmed
from livetrade.model import OrderKind, OrderStatus, Product, Side, datetime_to_ns
from livetrade.money import from_paise, to_paise
from livetrade.risk import protected_price
from livetrade.session import DEFAULT_START, Session
from livetrade.testing.fake_rest import CANCELLED, PENDING, FakeFyersRest, mock_transport

SBIN = "NSE:SBIN-EQ"
MOCK_URL = "http://127.0.0.1:9/api/v3"  # never connected: the MockTransport answers


class Rig:
    """One live session and the fake Fyers behind it, sharing the session's virtual clock."""

    def __init__(self, name: str = "live") -> None:
        self.name = name
        self.session: Session | None = None
        self.limiter_now = 0.0
        self.fake = FakeFyersRest(prices=self.price, clock=self.now, funds=Decimal("500000"))

    @property
    def s(self) -> Session:
        assert self.session is not None
        return self.session

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

    def client(self) -> FyersRestClient:
        assert is_loopback(MOCK_URL)
        limiter = RateLimiter(clock=lambda: self.limiter_now, sleep=self._sleep)
        return FyersRestClient(
            self.fake.authorization,
            base_url=MOCK_URL,
            transport=mock_transport(self.fake),
            now=self.now,
            limiter=limiter,
            sleep=self._sleep,
        )

    async def open(self, *, arm: bool = True, ticks: int = 2, **kw: Any) -> Session:
        kw.setdefault("journal", False)
        self.session = await lt.open_session(
            feed="sim",
            broker="fyers",
            live=True,
            seed=1,
            realtime=False,
            name=self.name,
            fyers_client=self.client(),
            poll_interval=None,
            **kw,
        )
        await self.session.run_for(ticks=ticks)
        if arm:
            await self.session.arm_live(confirm="LIVE")
        return self.session

    def posts(self) -> list[Any]:
        return self.fake.requests_to("/orders/sync", "POST")


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    yield r
    if r.session is not None:
        await r.session.close()


def last(session: Session, symbol: str = SBIN) -> int:
    paise = session.stream.last_paise(symbol)
    assert paise is not None
    return paise


# ============================================================ arming, mode, guard rails


async def test_live_sessions_start_disarmed_and_need_the_exact_word(rig: Rig) -> None:
    s = await rig.open(arm=False)
    assert s.mode == "LIVE (not armed)" and "LIVE (not armed)" in repr(s)
    with pytest.raises(OrderRejected) as info:
        await s.buy(SBIN, 1)
    assert info.value.code == "NOT_ARMED" and info.value.field == "live"
    assert rig.posts() == [] and s.engine.orders == []
    with pytest.raises(lt.InvalidInput, match="confirm"):
        await s.arm_live(confirm="live")
    assert s.mode == "LIVE (not armed)"
    rec = await s.arm_live(confirm="LIVE")
    assert rec.ok and s.mode == "LIVE"
    s.disarm_live()
    with pytest.raises(OrderRejected, match="not armed"):
        await s.buy(SBIN, 1)


async def test_the_wallet_comes_from_fyers_funds_and_opening_reconciles(rig: Rig) -> None:
    s = await rig.open(arm=False)
    assert s.engine.initial_paise == s.engine.cash_paise == 500_000_00
    rec = s.reconciliation
    assert rec is not None and rec.ok
    funds = rec.frame[rec.frame["item"] == "funds"].iloc[0]
    assert funds["broker"] == Decimal("500000") and not funds["blocking"]


async def test_paper_checks_still_apply_before_anything_is_sent(rig: Rig) -> None:
    s = await rig.open(limits=lt.RiskLimits(max_order_quantity=10))
    with pytest.raises(OrderRejected) as info:
        await s.buy(SBIN, 11)
    assert info.value.field == "quantity" and rig.posts() == []


# ============================================================ orders and fills


async def test_market_round_trip_follows_the_brokers_fills(rig: Rig) -> None:
    s = await rig.open()
    price = last(s)
    order = await s.buy(SBIN, 10)
    assert order.status is OrderStatus.FILLED and order.live
    assert order.fill_paise == price and order.broker_order_id in rig.fake.orders
    body = rig.posts()[0].body
    assert body["orderTag"] == client_tag(order.order_id, "live")
    # market protection: sent as a limit at LTP + 3% on the tick (exchange-rules.md §4)
    protected = protected_price(Side.BUY, price, s.engine.instruments.get(SBIN), "3")
    assert price < protected <= price * 103 // 100 + 5
    assert (body["type"], to_paise(str(body["limitPrice"]))) == (1, protected)
    assert body["productType"] == "INTRADAY" and body["qty"] == 10 and body["side"] == 1
    (pos,) = s.engine.positions()
    assert pos.quantity == 10
    await s.run_for(ticks=3)
    exit_price = last(s)
    sell = await s.sell(SBIN, 10)
    assert sell.status is OrderStatus.FILLED and sell.fill_paise == exit_price
    assert s.engine.positions() == []
    fills = s.engine.fills
    assert [f.trade_id for f in fills] == [t["trade_id"] for t in rig.fake.trades]
    charges = sum(f.charges.total for f in fills)
    assert charges > 0  # Fyers bills no per-trade charges in its tradebook: we estimate them
    gross = 10 * (exit_price - price)
    assert s.engine.cash_paise == 500_000_00 + gross - charges
    assert s.engine.pnl_paise()["total"] == gross - charges
    report = await s.sync_orders()
    assert report.fills == 0 and len(s.engine.fills) == 2  # never booked twice


async def test_market_protection_off_sends_a_market_order(rig: Rig) -> None:
    s = await rig.open(limits=lt.RiskLimits(market_protection_pct=None))
    order = await s.buy(SBIN, 1)
    assert order.status is OrderStatus.FILLED
    body = rig.posts()[0].body
    assert (body["type"], body["limitPrice"]) == (2, 0)


async def test_every_order_type_goes_out_as_fyers_expects(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    limit = await s.buy(SBIN, 2, order_type="LIMIT", limit_price=p - 5)
    sl = await s.sell(SBIN, 2, order_type="SL", trigger_price=p - 10, limit_price=p - 11)
    slm = await s.buy(SBIN, 2, order_type="SL-M", trigger_price=p + 10)
    cnc = await s.buy(SBIN, 1, order_type="LIMIT", limit_price=p - 6, product="CNC")
    bodies = [r.body for r in rig.posts()]
    assert [b["type"] for b in bodies] == [1, 4, 3, 1]
    assert (bodies[1]["stopPrice"], bodies[1]["limitPrice"]) == (p - 10, p - 11)
    assert (bodies[2]["stopPrice"], bodies[2]["limitPrice"]) == (p + 10, 0)
    assert bodies[3]["productType"] == "CNC"
    for o in (limit, sl, slm, cnc):
        assert o.status is OrderStatus.OPEN and o.broker_order_id is not None
        assert rig.fake.orders[o.broker_order_id].status == PENDING
    cancelled = await s.cancel(sl)
    assert cancelled.status is OrderStatus.CANCELLED
    assert rig.fake.orders[sl.broker_order_id or ""].status == CANCELLED
    assert [o.order_id for o in s.engine.open_orders()] == [
        limit.order_id,
        slm.order_id,
        cnc.order_id,
    ]


async def test_a_resting_order_fills_when_fyers_says_so(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    order = await s.buy(SBIN, 5, order_type="LIMIT", limit_price=p - 1)
    assert order.status is OrderStatus.OPEN and s.engine.positions() == []
    rig.fake.fill(order.broker_order_id or "", price=p - 1)
    report = await s.sync_orders()
    assert report.fills == 1 and order.status is OrderStatus.FILLED
    assert order.fill_paise == (p - 1) * 100 and s.engine.positions()[0].quantity == 5


async def test_partial_fills_book_each_trade_once(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    order = await s.buy(SBIN, 10, order_type="LIMIT", limit_price=p - 1)
    bid = order.broker_order_id or ""
    rig.fake.fill(bid, 3, price=p - 1)
    await s.sync_orders()
    assert (order.status, order.filled_quantity) == (OrderStatus.OPEN, 3)
    assert s.engine.positions()[0].quantity == 3
    await s.sync_orders()
    assert len(s.engine.fills) == 1
    rig.fake.fill(bid, 7, price=p - 2)
    await s.sync_orders()
    assert (order.status, order.filled_quantity) == (OrderStatus.FILLED, 10)
    assert order.fill_paise == int(((p - 1) * 3 + (p - 2) * 7) * 100) // 10
    assert [f.quantity for f in s.engine.fills] == [3, 7]


async def test_partially_filled_then_cancelled_keeps_what_filled(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    order = await s.buy(SBIN, 10, order_type="LIMIT", limit_price=p - 2)
    rig.fake.fill(order.broker_order_id or "", 4, price=p - 2)
    await s.cancel(order)  # the cancel reads the book first: the 4 are booked
    assert (order.status, order.filled_quantity) == (OrderStatus.CANCELLED, 4)
    assert s.engine.positions()[0].quantity == 4


async def test_fyers_rejections_reject_the_order_with_a_reason(rig: Rig) -> None:
    s = await rig.open(journal=True, journal_dir=None)
    rig.fake.reject_next("RED:Margin Shortfall:INR 1,234.00 Available:INR 0.00")
    with pytest.raises(OrderRejected) as info:
        await s.buy(SBIN, 10)
    assert info.value.code == "INSUFFICIENT_FUNDS"
    (order,) = s.engine.orders
    assert order.status is OrderStatus.REJECTED and "Margin Shortfall" in order.message
    assert s.engine.positions() == [] and s.engine.cash_paise == s.engine.initial_paise
    j = s.journal_df()
    assert list(j["kind"]) == ["order_accepted", "order_rejected"]
    assert j["order_id"].iloc[1] == order.order_id


async def test_expiry_and_end_of_day_close_working_orders(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    order = await s.buy(SBIN, 1, order_type="LIMIT", limit_price=p - 20)
    rig.fake.end_of_day()
    report = await s.sync_orders()
    assert report.closed == 1 and order.status is OrderStatus.CANCELLED
    assert "expired" in order.message.lower()


# ============================================================ lost answers


async def test_a_lost_answer_is_found_by_tag_not_sent_twice(rig: Rig) -> None:
    s = await rig.open()
    rig.fake.drop_next(method="POST", path="/orders/sync", processed=True)
    order = await s.buy(SBIN, 3)
    assert len(rig.fake.orders) == 1 and len(rig.posts()) == 1
    assert order.status is OrderStatus.FILLED and order.broker_order_id in rig.fake.orders
    rig.fake.drop_next(method="POST", path="/orders/sync", processed=False)
    again = await s.buy(SBIN, 3)  # not carried out: the book says so, so it is resent once
    assert len(rig.fake.orders) == 2 and len(rig.posts()) == 3
    assert again.status is OrderStatus.FILLED


async def test_when_fyers_cannot_tell_the_order_waits_and_is_adopted_by_tag(rig: Rig) -> None:
    s = await rig.open()
    rig.fake.drop_next(method="POST", path="/orders/sync", processed=True)
    rig.fake.error_next(500, count=4, method="GET", path="/orders")  # lookups fail too
    errors: list[BaseException] = []
    s.error_event += errors.append
    order = await s.buy(SBIN, 2)
    assert order.status is OrderStatus.PENDING and order.broker_order_id is None
    assert "lost" in order.message and errors
    rec = await s.reconcile()  # syncs first: the tag finds it, its fill is booked
    assert order.status is OrderStatus.FILLED and order.broker_order_id in rig.fake.orders
    assert len(rig.fake.orders) == 1 and rec.ok
    assert s.engine.positions()[0].quantity == 2


async def test_cancelling_an_order_that_never_reached_fyers_closes_it(rig: Rig) -> None:
    s = await rig.open()
    rig.fake.drop_next(method="POST", path="/orders/sync", processed=False)
    rig.fake.error_next(500, count=4, method="GET", path="/orders")
    order = await s.buy(SBIN, 2, order_type="LIMIT", limit_price=from_paise(last(s)) - 5)
    assert order.status is OrderStatus.PENDING and rig.fake.orders == {}
    await s.cancel(order)  # the book (readable again) has no such tag: it was never placed
    assert order.status is OrderStatus.CANCELLED and "never reached Fyers" in order.message
    assert rig.fake.orders == {}


async def test_a_crash_mid_send_is_recovered_by_tag(rig: Rig, tmp_path: Path) -> None:
    s = await rig.open(journal=True, journal_dir=tmp_path)
    rig.fake.drop_next(method="POST", path="/orders/sync", processed=True)
    rig.fake.error_next(500, count=4, method="GET", path="/orders")
    order = await s.buy(SBIN, 3)
    assert order.status is OrderStatus.PENDING
    await s.close()  # as if the kernel died before Fyers' answer arrived
    s = await rig.open(journal=True, journal_dir=tmp_path, arm=False, ticks=0)
    again = s.engine.order(order.order_id)
    assert again is not None and again.status is OrderStatus.FILLED
    assert again.broker_order_id in rig.fake.orders and len(rig.fake.orders) == 1
    assert s.reconciliation is not None and s.reconciliation.ok


# ============================================================ brackets, kill switch, square-off


async def test_brackets_are_real_orders_and_cancel_each_other(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    entry = await s.buy(SBIN, 4, stop_loss=p - 10, take_profit=p + 10)
    assert entry.status is OrderStatus.FILLED
    await s.router.drain()  # type: ignore[union-attr]
    legs = [o for o in s.engine.open_orders() if o.parent_id == entry.order_id]
    assert sorted(o.kind.value for o in legs) == ["LIMIT", "SL-M"]
    assert all(o.broker_order_id in rig.fake.orders for o in legs)
    bodies = [r.body for r in rig.posts()[1:]]
    assert sorted((b["type"], b["side"], b["qty"]) for b in bodies) == [(1, -1, 4), (3, -1, 4)]
    tp = next(o for o in legs if o.kind is OrderKind.LIMIT)
    sl = next(o for o in legs if o.kind is OrderKind.SL_M)
    rig.fake.fill(tp.broker_order_id or "", price=p + 10)
    await s.sync_orders()
    await s.router.drain()  # type: ignore[union-attr]
    assert tp.status is OrderStatus.FILLED and sl.status is OrderStatus.CANCELLED
    assert rig.fake.orders[sl.broker_order_id or ""].status == CANCELLED
    assert s.engine.positions() == []


async def test_kill_switch_cancels_at_fyers_and_flattens(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    await s.buy(SBIN, 5, stop_loss=p - 10)
    await s.sell("NSE:INFY-EQ", 2)
    resting = await s.buy(SBIN, 1, order_type="LIMIT", limit_price=p - 30)
    await s.router.drain()  # type: ignore[union-attr]
    closing = await s.kill(flatten=True)
    assert len(closing) == 2 and all(o.status is OrderStatus.FILLED for o in closing)
    assert resting.status is OrderStatus.CANCELLED
    assert all(o.status != PENDING for o in rig.fake.orders.values())
    assert s.engine.positions() == [] and s.engine.kill_switch is lt.KillSwitch.HALTED
    positions = await s.router.client.positions()  # type: ignore[union-attr]
    assert positions.open() == ()
    with pytest.raises(OrderRejected, match="halted"):
        await s.buy(SBIN, 1)


async def test_intraday_square_off_goes_to_fyers(rig: Rig) -> None:
    s = await rig.open(square_off="09:20")
    await s.buy(SBIN, 3)
    await s.buy("NSE:INFY-EQ", 1, product="CNC")
    await s.run_for(seconds=6 * 60)
    await s.router.drain()  # type: ignore[union-attr]
    await s.sync_orders()
    held = {(p.symbol, p.product) for p in s.engine.positions()}
    assert held == {("NSE:INFY-EQ", Product.CNC)}  # delivery is kept
    assert [o.source for o in s.engine.orders if o.source == "square-off"] == ["square-off"]
    broker = await s.router.client.positions()  # type: ignore[union-attr]
    assert {(p.symbol, p.product) for p in broker.open()} == {("NSE:INFY-EQ", "CNC")}


async def test_an_expired_token_halts_live_trading(rig: Rig) -> None:
    s = await rig.open()
    errors: list[BaseException] = []
    s.error_event += errors.append
    rig.fake.expire_tokens()
    with pytest.raises(OrderRejected) as info:
        await s.buy(SBIN, 1)
    assert info.value.code == "AUTH"
    assert s.engine.kill_switch is lt.KillSwitch.HALTED
    assert any(isinstance(e, AuthError) for e in errors)
    assert "log in again" in info.value.reason


async def test_an_expired_token_refuses_to_open(rig: Rig) -> None:
    client = rig.client()
    rig.limiter_now = 0
    token = client.token
    with pytest.raises(AuthError, match="expired"):
        token.ensure_valid(token.expires_at.timestamp() + 1)
    rig.fake.clock = lambda: token.expires_at.timestamp() + 60
    expired = FyersRestClient(
        token,
        base_url=MOCK_URL,
        transport=mock_transport(rig.fake),
        now=lambda: token.expires_at.timestamp() + 60,
    )
    with pytest.raises(AuthError, match="expired"):
        await expired.funds()
    await client.aclose()


# ============================================================ reconciliation


async def test_reconciliation_blocks_arming_until_resolved(rig: Rig) -> None:
    outside = rig.client()  # an order placed from Fyers' web app: not ours
    s = await rig.open(arm=False)
    p = from_paise(last(s))
    await outside.place_order(SBIN, "BUY", 7, tag="web1")
    working = await outside.place_order(SBIN, "BUY", 1, "LIMIT", limit_price=p - 50, tag="web2")
    with pytest.raises(LiveNotArmed) as info:
        await s.arm_live(confirm="LIVE")
    diffs = info.value.differences
    assert diffs is not None
    assert set(diffs["item"]) == {"position", "order"}
    pos = diffs[diffs["item"] == "position"].iloc[0]
    assert (pos["ours"], pos["broker"], pos["difference"]) == (0, 7, 7)
    assert diffs[diffs["item"] == "order"].iloc[0]["key"] == working.order_id
    assert s.mode == "LIVE (not armed)"
    rec = await s.reconcile(adopt=True, cancel_unknown=True)
    assert rec.ok, rec.frame
    (held,) = s.engine.positions()
    assert held.quantity == 7 and held.avg_buy_price == p
    assert s.engine.charges_paise == 0  # adopted, not traded: Fyers billed those charges
    assert rig.fake.orders[working.order_id].status == CANCELLED
    await s.arm_live(confirm="LIVE")
    assert s.mode == "LIVE"
    await outside.aclose()


async def test_differences_can_be_accepted_knowingly(rig: Rig) -> None:
    outside = rig.client()
    s = await rig.open(arm=False)
    await outside.place_order(SBIN, "SELL", 2, tag="web3")
    rec = await s.arm_live(confirm="LIVE", accept_differences=True)
    assert not rec.ok and s.mode == "LIVE" and len(rec.differences) == 1
    await outside.aclose()


async def test_a_restart_picks_up_what_happened_while_closed(rig: Rig, tmp_path: Path) -> None:
    s = await rig.open(journal=True, journal_dir=tmp_path)
    p = from_paise(last(s))
    order = await s.buy(SBIN, 6, order_type="LIMIT", limit_price=p - 1)
    bid = order.broker_order_id or ""
    await s.close()
    rig.fake.fill(bid, price=p - 1)  # fills while the notebook is closed
    s = await rig.open(journal=True, journal_dir=tmp_path, arm=False, ticks=0)
    assert s.restored and s.reconciliation is not None and s.reconciliation.ok
    again = s.engine.order(order.order_id)
    assert again is not None and again.status is OrderStatus.FILLED
    assert again.broker_order_id == bid and s.engine.positions()[0].quantity == 6
    await s.close()
    s = await rig.open(journal=True, journal_dir=tmp_path, arm=False, ticks=0)
    assert len(s.engine.fills) == 1 and s.reconciliation is not None and s.reconciliation.ok
    with pytest.raises(lt.LiveTradeError, match="Fyers"):
        s.replay_journal()


async def test_paper_and_live_journals_never_mix(rig: Rig, tmp_path: Path) -> None:
    paper = await lt.open_session(name="live", realtime=False, journal_dir=tmp_path)
    await paper.close()
    with pytest.raises(lt.LiveTradeError, match="never mix"):
        await rig.open(journal=True, journal_dir=tmp_path)


# ============================================================ shadow mode


async def test_shadow_mode_reports_paper_vs_live_per_order(rig: Rig) -> None:
    s = await rig.open(shadow=True)
    top = s.stream.top(SBIN)
    assert top is not None
    _, ask, trade, _ = top
    order = await s.buy(SBIN, 10)
    p = from_paise(trade)
    limit = await s.sell(SBIN, 4, order_type="LIMIT", limit_price=p + 50)
    df = s.shadow_df()
    assert list(df["order_id"]) == [order.order_id, limit.order_id]
    row = df.iloc[0]
    # Fyers (the fake) filled at the last trade; paper fills a market buy at the ask
    assert row["live_price"] == from_paise(trade) and row["paper_price"] == from_paise(ask)
    assert row["slippage"] == from_paise(trade - ask)
    assert row["slippage_total"] == from_paise(10 * (trade - ask))
    assert row["live_fill_s"] is not None and row["paper_fill_s"] == 0
    assert df.iloc[1]["live_status"] == "OPEN" and df.iloc[1]["paper_status"] == "OPEN"
    assert s.shadow is not None and s.shadow.paper.positions()[0].quantity == 10
    # the shadow has its own book: its orders never reach Fyers
    assert len(rig.posts()) == 2


# ============================================================ property: the identity holds


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(-40, 40), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
async def test_cash_and_pnl_identities_hold_for_any_broker_fills(
    steps: list[tuple[int, int, bool]],
) -> None:
    rig = Rig(name="prop")
    s = await rig.open()
    try:
        base = last(s)
        for qty, offset, buy in steps:
            price = from_paise(base + offset * 5)
            order = await (s.buy if buy else s.sell)(
                SBIN, qty, order_type="LIMIT", limit_price=price
            )
            if rig.fake.orders[order.broker_order_id or ""].status == PENDING:
                rig.fake.fill(order.broker_order_id or "", price=price)
        await s.sync_orders()
        e = s.engine
        signed = sum(int(f.side) * f.quantity * f.price_paise for f in e.fills)
        charges = sum(f.charges.total for f in e.fills)
        assert e.cash_paise == e.initial_paise - signed - charges
        pnl = e.pnl_paise()
        assert pnl["equity"] == e.initial_paise + pnl["total"]
        assert sorted(f.trade_id or "" for f in e.fills) == sorted(
            t["trade_id"] for t in rig.fake.trades
        )
        net = sum(int(f.side) * f.quantity for f in e.fills)
        broker = await s.router.client.positions()  # type: ignore[union-attr]
        assert net == sum(p.net_quantity for p in broker.positions)
    finally:
        await s.close()


async def test_the_dashboard_ticket_sends_live_orders_and_says_so(rig: Rig) -> None:
    from livetrade.ui.ticket import TicketInput, submit

    s = await rig.open(arm=False)
    refused = submit(s, TicketInput(SBIN, quantity=2))
    assert not refused.ok and refused.code == "NOT_ARMED" and rig.posts() == []
    await s.arm_live(confirm="LIVE")
    sent = submit(s, TicketInput(SBIN, quantity=2))
    assert sent.ok and "sent to Fyers" in sent.text
    await s.router.drain()  # type: ignore[union-attr]
    await s.sync_orders()
    (order,) = s.engine.orders[-1:]
    assert order.status is OrderStatus.FILLED and order.source == "widget"
    assert len(rig.posts()) == 1


async def test_the_rest_api_reconciles_arms_and_trades_live(rig: Rig) -> None:
    import httpx

    from livetrade.api import PREFIX, create_app

    outside = rig.client()
    s = await rig.open(arm=False)
    transport = httpx.ASGITransport(app=create_app(s))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        refused = await api.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 1})
        assert refused.status_code >= 400 and refused.json()["code"] == "NOT_ARMED"
        bad = await api.post(f"{PREFIX}/arm-live", json={"confirm": "yes"})
        assert bad.status_code == 400 and bad.json()["field"] == "confirm"
        await outside.place_order(SBIN, "BUY", 3, tag="web9")
        rec = (await api.get(f"{PREFIX}/reconciliation")).json()
        assert not rec["ok"] and rec["mode"] == "LIVE (not armed)"
        (pos,) = [r for r in rec["rows"] if r["item"] == "position"]
        assert (pos["ours"], pos["broker"], pos["blocking"]) == (0, 3, True)
        differs = await api.post(f"{PREFIX}/arm-live", json={"confirm": "LIVE"})
        assert differs.status_code == 409 and differs.json()["code"] == "RECONCILIATION_DIFFERS"
        armed = await api.post(
            f"{PREFIX}/arm-live", json={"confirm": "LIVE", "accept_differences": True}
        )
        assert armed.status_code == 200 and armed.json()["mode"] == "LIVE"
        assert (await api.get(f"{PREFIX}/health")).json()["armed"] is True
        bought = await api.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 2})
        assert bought.status_code == 200, bought.text
        order = bought.json()["order"]
        assert order["status"] == "FILLED" and order["broker_order_id"] in rig.fake.orders
        rig.fake.reject_next("Order rejected by RMS: quantity beyond the freeze limit")
        rejected = await api.post(f"{PREFIX}/buy", json={"symbol": SBIN, "quantity": 2})
        assert rejected.status_code >= 400
        assert rejected.json()["code"] == "INVALID_QUANTITY"
        off = await api.post(f"{PREFIX}/disarm-live")
        assert off.json() == {"mode": "LIVE (not armed)", "armed": False}
    paper = await lt.open_session(realtime=False, name="paper-api", journal=False)
    transport = httpx.ASGITransport(app=create_app(paper))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        assert (await api.get(f"{PREFIX}/reconciliation")).json()["code"] == "NOT_LIVE"
    await paper.close()
    await outside.aclose()


async def test_real_fyers_orders_need_real_quotes() -> None:
    token = FakeFyersRest().authorization
    client = FyersRestClient(token, base_url="https://api-t1.fyers.in/api/v3")
    with pytest.raises(lt.InvalidInput, match="real quotes") as info:
        await lt.open_session(
            feed="sim", broker="fyers", live=True, realtime=False, fyers_client=client
        )
    assert info.value.field == "feed"  # refused before anything was sent anywhere
    await client.aclose()


async def test_a_working_order_can_be_modified_at_fyers(rig: Rig) -> None:
    s = await rig.open()
    p = from_paise(last(s))
    order = await s.buy(SBIN, 4, order_type="LIMIT", limit_price=p - 10)
    stop = await s.sell(SBIN, 4, order_type="SL-M", trigger_price=p - 20, product="INTRADAY")
    changed = await s.modify(order, quantity=6, limit_price=p - 8)
    assert (changed.quantity, changed.limit_price) == (6, p - 8)
    fyers = rig.fake.orders[order.broker_order_id or ""]
    assert (fyers.qty, fyers.limit) == (6, p - 8)
    patch = rig.fake.requests_to("/orders/sync", "PATCH")[-1].body
    assert patch == {"id": order.broker_order_id, "type": 1, "limitPrice": p - 8, "qty": 6}
    await s.modify(stop, trigger_price=p - 25)
    assert stop.trigger_price == p - 25 == rig.fake.orders[stop.broker_order_id or ""].stop
    with pytest.raises(OrderRejected) as info:
        await s.modify(stop, limit_price=p)  # an SL-M has no limit: refused, nothing sent
    assert info.value.field == "limit_price"
    assert len(rig.fake.requests_to("/orders/sync", "PATCH")) == 2
    refusal = {"s": "error", "code": -99, "message": "RMS: quantity beyond the freeze limit"}
    rig.fake.error_next(400, refusal, method="PATCH", path="/orders/sync")
    with pytest.raises(OrderRejected, match="freeze"):
        await s.modify(order, quantity=9)
    assert order.quantity == 6  # Fyers said no: unchanged
