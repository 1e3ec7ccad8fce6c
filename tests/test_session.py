"""Session: wiring, lifecycle, determinism, events and DataFrame views."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import livetrade as lt
from livetrade import (
    EngineEvent,
    Fill,
    LiveTradeError,
    OrderRejected,
    OrderStatus,
    PriceQuote,
    SessionClosed,
)

SYM = "NSE:SBIN-EQ"


async def test_deterministic_session_trades_and_reports() -> None:
    s = await lt.open_session(seed=11, realtime=False, name="t1")
    assert await s.run_for(ticks=100) == 100
    assert str(s.now) == "2025-06-02 09:16:40+05:30"
    q = s.stream.quote(SYM)
    assert q is not None
    order = await s.buy(SYM, 10, stop_loss=q.last_price - 3, take_profit=q.last_price + 3)
    assert order.status is OrderStatus.FILLED and order.source == "notebook"
    await s.run_for(seconds=1_800)
    fills = s.fills_df()
    assert list(fills.columns[:4]) == ["fill_id", "timestamp", "order_id", "symbol"]
    assert str(fills["timestamp"].dt.tz) == "Asia/Kolkata"
    assert fills["charges"].ge(0).all()
    assert fills["charges"].sum() == pytest.approx(float(s.pnl()["total_charges"]))
    orders = s.orders_df()
    assert set(orders["role"]) == {"ENTRY", "STOP_LOSS", "TAKE_PROFIT"}
    pnl = s.pnl_df()
    assert isinstance(pnl.index, pd.DatetimeIndex) and str(pnl.index.tz) == "Asia/Kolkata"
    last = pnl.iloc[-1]
    assert last["equity"] == pytest.approx(last["cash"] + last["market_value"])
    assert last["net_pnl"] == pytest.approx(float(s.pnl()["total_pnl"]))
    assert len(s.quotes_df(SYM)) == 1_900
    assert "PAPER" in s._repr_html_() and "virtual clock" in s._repr_html_()
    await s.close()


async def test_session_rejections_raise_with_code() -> None:
    s = await lt.open_session(seed=1, realtime=False, name="t2")
    with pytest.raises(OrderRejected) as info:
        await s.buy(SYM, 5)  # no tick has happened yet
    assert info.value.code == "NO_QUOTE"
    await s.run_for(ticks=1)
    with pytest.raises(OrderRejected) as info:
        await s.sell(SYM, 5, product="CNC")
    assert info.value.code == "INSUFFICIENT_HOLDINGS"
    limit = await s.buy(SYM, 5, order_type="LIMIT", limit_price=700)
    assert limit.is_open
    await s.cancel(limit)
    assert limit.status is OrderStatus.CANCELLED
    await s.close()
    with pytest.raises(SessionClosed):
        await s.buy(SYM, 1)


async def test_reopening_a_name_closes_the_old_session() -> None:
    a = await lt.open_session(seed=1, realtime=True, tick_interval=0.01, name="same")
    b = await lt.open_session(seed=1, realtime=False, name="same")
    assert a.closed and not a._tasks and not b.closed
    assert lt.get_session("same") is b
    await b.close()
    await b.close()  # idempotent
    assert lt.get_session("same") is None


async def test_realtime_mode_runs_in_the_loop_and_stops_on_close() -> None:
    s = await lt.open_session(seed=2, realtime=True, tick_interval=0.001, name="rt")
    await asyncio.wait_for(s.run_for(ticks=5), timeout=30)
    assert s.stream.tick_count(SYM) >= 5
    task = next(iter(s._tasks))
    await s.close()
    assert task.done() and not s._tasks


async def test_events_reach_sync_and_async_handlers() -> None:
    s = await lt.open_session(seed=3, realtime=False, name="ev")
    quotes: list[PriceQuote] = []
    fills: list[Fill] = []
    orders: list[str] = []
    positions: list[str] = []
    errors: list[BaseException] = []

    async def on_fill(f: Fill) -> None:
        fills.append(f)

    def broken(_: EngineEvent) -> None:
        raise RuntimeError("handler bug")

    s.quote_event += quotes.append
    s.fill_event += on_fill
    s.order_event += lambda e: orders.append(e.kind)
    s.position_event += lambda e: positions.append(e.kind)
    s.position_event += broken
    s.error_event += errors.append
    await s.run_for(ticks=2)
    assert len(quotes) == 12 and {q.symbol for q in quotes} == set(s.symbols)
    s.quote_event -= quotes.append
    await s.buy(SYM, 1)
    await s.sell(SYM, 1)
    await asyncio.sleep(0)
    assert len(fills) == 2
    assert orders == ["order_accepted", "order_filled", "order_accepted", "order_filled"]
    assert positions == ["position_opened", "position_closed"]
    assert len(errors) == 2 and all(isinstance(e, RuntimeError) for e in errors)
    await s.run_for(ticks=1)
    assert len(quotes) == 12
    await s.close()


async def test_replay_session_and_watch() -> None:
    data = pd.DataFrame(
        {
            "timestamp": pd.date_range("2025-06-02 09:15", periods=30, freq="s"),
            "symbol": SYM,
            "bid": [800 + i * 0.05 for i in range(30)],
            "ask": [800.1 + i * 0.05 for i in range(30)],
            "last": [800.05 + i * 0.05 for i in range(30)],
            "volume": range(30),
        }
    )
    s = await lt.open_session(feed="replay", replay=data, realtime=False, name="rp")
    assert await s.run_for(ticks=10) == 10
    order = await s.buy(SYM, 1)
    assert order.executed_price == Decimal("800.55")
    assert await s.run_for(ticks=100) == 20  # the recording ran out
    with pytest.raises(LiveTradeError):
        await s.watch("NSE:ITC-EQ")
    await s.close()
    sim = await lt.open_session(seed=1, realtime=False, name="w")
    sim.add_symbol("NSE:ITC-EQ", "410.00")
    await sim.watch(["NSE:ITC-EQ", "NSE:WIPRO-EQ"])
    await sim.run_for(ticks=1)
    assert {"NSE:ITC-EQ", "NSE:WIPRO-EQ"} <= set(sim.stream.symbols)
    assert sim.stream.quote("NSE:ITC-EQ").last_price < 500  # type: ignore[union-attr]
    await sim.close()


async def test_unavailable_feeds_and_brokers_say_so() -> None:
    with pytest.raises(LiveTradeError, match="fyers"):
        await lt.open_session(feed="fyers")
    with pytest.raises(lt.InvalidInput, match="live=True"):
        await lt.open_session(broker="fyers")  # real money needs an explicit live=True
    with pytest.raises(lt.InvalidInput, match="broker='fyers'"):
        await lt.open_session(live=True)
    with pytest.raises(lt.InvalidInput, match="broker"):
        await lt.open_session(broker="zerodha")
    with pytest.raises(lt.InvalidInput):
        await lt.open_session(feed="replay", realtime=False, name="x")
    with pytest.raises(lt.InvalidInput):
        await lt.open_session(charges="free", name="y")


async def test_kill_switch_and_close_position() -> None:
    s = await lt.open_session(seed=4, realtime=False, name="ks", charges="flat")
    await s.run_for(ticks=5)
    await s.buy(SYM, 10, stop_loss=700)
    s.kill_switch("REDUCING")
    with pytest.raises(OrderRejected):
        await s.buy(SYM, 1)
    closing = await s.close_position(SYM)
    assert closing is not None and closing.status is OrderStatus.FILLED
    assert s.positions_df().empty and not s.positions_df(include_closed=True).empty
    assert s.pnl()["kill_switch"] == "REDUCING"
    await s.close()


async def test_serve_api_from_the_session_loop_and_stop_on_close() -> None:
    import httpx

    s = await lt.open_session(seed=1, realtime=False, name="api", journal=False)
    await s.run_for(ticks=2)
    server = await s.serve_api(port=0)
    async with httpx.AsyncClient(base_url=server.url) as client:
        health = (await client.get("/api/live-trading/health")).json()
        assert health["status"] == "ok" and health["mode"] == "PAPER"
        bought = await client.post("/api/live-trading/buy", json={"symbol": SYM, "quantity": 2})
        assert bought.status_code == 200 and bought.json()["order"]["quantity"] == 2
    assert s.engine.get_active_positions()[SYM].quantity == 2
    await s.close()
    assert not server.running


async def test_square_off_time_and_a_journaled_kill_replay(tmp_path: Path) -> None:
    s = await lt.open_session(
        seed=9, realtime=False, name="sq", square_off="09:30", journal_dir=tmp_path
    )
    await s.run_for(ticks=60)
    await s.buy(SYM, 10)
    await s.buy("NSE:TCS-EQ", 1, product="CNC")
    await s.run_for(seconds=15 * 60)  # through 09:30
    assert [(p.symbol, p.product.value) for p in s.engine.positions()] == [("NSE:TCS-EQ", "CNC")]
    assert s.orders[-1].source == "square-off"
    await s.buy(SYM, 5)
    await s.kill(flatten=True)
    assert not s.engine.positions() and s.engine.kill_switch is lt.KillSwitch.HALTED
    report = s.replay_journal()
    assert report.ok, report.mismatches
    await s.close()
    again = await lt.open_session(seed=9, realtime=False, name="sq", journal_dir=tmp_path)
    assert again.engine.kill_switch is lt.KillSwitch.HALTED and not again.engine.positions()
    await again.close()
    with pytest.raises(lt.InvalidInput, match="square_off"):
        await lt.open_session(realtime=False, name="bad", square_off="3pm", journal=False)


async def test_modify_moves_a_resting_order_and_refuses_bad_changes(tmp_path: Path) -> None:
    s = await lt.open_session(seed=3, realtime=False, name="mod", journal_dir=tmp_path)
    try:
        await s.run_for(ticks=2)
        last = s.stream.quote("NSE:SBIN-EQ").last_price  # type: ignore[union-attr]
        order = await s.buy("NSE:SBIN-EQ", 5, order_type="LIMIT", limit_price=last - 50)
        entry = await s.buy("NSE:SBIN-EQ", 2, stop_loss=last - 40)
        leg = next(o for o in s.engine.open_orders() if o.parent_id == entry.order_id)
        await s.modify(leg, trigger_price=last - 30)  # move the stop-loss up
        assert leg.trigger_price == last - 30
        before = (order.quantity, order.limit_price, s.engine.cash_paise)
        for kw, field in (
            ({"quantity": 0}, "quantity"),
            ({"limit_price": "1.03"}, "limit_price"),
            ({"trigger_price": last}, "trigger_price"),
        ):
            with pytest.raises(lt.OrderRejected) as info:
                await s.modify(order, **kw)  # type: ignore[arg-type]
            assert info.value.field == field
        with pytest.raises(lt.OrderRejected, match="Give quantity"):
            await s.modify(order)
        assert (order.quantity, order.limit_price, s.engine.cash_paise) == before
        await s.modify(order, quantity=7)
        changed = await s.modify(order, limit_price=last + 5)  # now marketable: fills at once
        assert changed.status is lt.OrderStatus.FILLED and changed.filled_quantity == 7
        assert s.engine.positions()[0].quantity == 9
    finally:
        await s.close()
    again = await lt.open_session(seed=3, realtime=False, name="mod", journal_dir=tmp_path)
    try:
        restored = again.engine.order(leg.order_id)
        assert restored is not None and restored.trigger_price == last - 30
        assert again.engine.order(order.order_id).quantity == 7  # type: ignore[union-attr]
        assert again.replay_journal().ok
    finally:
        await again.close()
