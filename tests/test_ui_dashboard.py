"""The dashboard's widgets without a browser: comm traffic, buttons, lifecycle.

Widgets here have no frontend (ipywidgets gives them a dummy comm); ``Widget._send`` is
counted to see exactly which redraws would reach the browser.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from ipywidgets import Widget  # type: ignore[import-untyped]

import livetrade as lt
import livetrade.ui
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.model import KillSwitch
from livetrade.session import Session
from livetrade.ui.dashboard import PANELS, Dashboard

SYM = "NSE:SBIN-EQ"
_names = itertools.count()


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=5, realtime=False, name=f"ui-dash-{next(_names)}"
    )
    await s.run_for(ticks=60)
    yield s
    await s.close()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every comm message a widget would send, as the sending widget's model id."""
    out: list[str] = []

    def send(self: Any, msg: Any, buffers: Any = None) -> None:
        if self.comm is not None:  # as Widget._send: nothing goes out before the comm opens
            out.append(self.model_id)

    monkeypatch.setattr(Widget, "_send", send)
    yield out


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_ticks_send_no_widget_messages_until_a_flush(
    session: Session, sent: list[str]
) -> None:
    clock = Clock()
    dash = Dashboard(session, clock=clock, start=False)
    ids = dash.panel_model_ids()
    assert set(ids) == set(PANELS)
    sent.clear()
    await session.run_for(ticks=2_000)  # 12,000 ticks
    assert sent == []
    clock.now += 1.0
    drawn = dash.flush()
    assert set(drawn) == {"status", "quotes", "depth", "ticket", "price_chart", "pnl_chart"}
    per_panel = {name: sum(1 for m in sent if m in set(mids)) for name, mids in ids.items()}
    assert per_panel["status"] == per_panel["quotes"] == per_panel["ticket"] == 1
    assert per_panel["depth"] == 1
    assert per_panel["price_chart"] == 4 and per_panel["pnl_chart"] == 4
    assert per_panel["positions"] == per_panel["blotter"] == 0
    sent.clear()
    clock.now += 1.0
    # nothing new, nothing sent but the heartbeat (one message a second)
    assert dash.flush() == [] and sent == [dash.beacon.widget.model_id]
    dash.close()


async def test_buy_button_goes_through_the_engine_and_the_panels_follow(
    session: Session,
) -> None:
    clock = Clock()
    dash = Dashboard(session, clock=clock, start=False)
    t = dash.ticket
    t.quantity.value = "5"
    t.stop_loss.value = "780"
    t.take_profit.value = "830"
    clock.now += 1
    dash.flush()
    assert "Buy 5 NSE:SBIN-EQ ≈ ₹" in t.whatif.value
    assert "at Stop-loss ₹780.00" in t.whatif.value
    t.buy.click()
    assert "Bought 5 NSE:SBIN-EQ at ₹" in t.result.value and "lt-ok" in t.result.value
    entry = session.engine.orders[0]
    assert entry.source == "widget" and entry.quantity == 5
    assert t.stop_loss.value == t.take_profit.value == ""  # the next order starts clean
    clock.now += 1
    assert {"positions", "blotter", "status"} <= set(dash.flush())
    assert "NSE:SBIN-EQ" in dash.positions.table.text()
    assert "780.00" in dash.positions.table.text() and "830.00" in dash.positions.table.text()
    assert dash.positions.pick.options == ("NSE:SBIN-EQ INTRADAY",)
    picks = dash.blotter.pick.options
    assert len(picks) == 2 and "(stop loss)" in picks[0]
    assert "Orders (3)" in dash.blotter.tabs.titles[0]
    price_view = dash.view("price_chart")
    assert price_view.stop_losses == (78000,) and len(price_view.buys) == 1

    dash.blotter.cancel.click()
    assert "Cancelled" in dash.blotter.message.value
    dash.positions.exit.click()
    assert "Closed NSE:SBIN-EQ INTRADAY" in dash.positions.message.value
    clock.now += 1
    dash.flush()
    assert "No open positions." in dash.positions.table.text()
    assert dash.positions.pick.options == () and dash.blotter.pick.options == ()
    dash.close()


async def test_rejections_show_inline(session: Session) -> None:
    clock = Clock()
    dash = Dashboard(session, clock=clock, start=False)
    dash.ticket.quantity.value = "0"
    dash.ticket.sell.click()
    assert dash.ticket.side.value == "SELL"  # the what-if now describes what was sent
    assert dash.ticket.result.value == (
        '<span class="lt-err">Not sent: Qty must be at least 1 share.</span>'
    )
    dash.ticket.quantity.value = "1"
    dash.ticket.symbol.value = "NSE:NIFTY50-INDEX"
    clock.now += 1
    dash.flush()  # Buy/Sell are enabled again
    dash.ticket.buy.click()
    assert "indices cannot be traded" in dash.ticket.result.value
    assert session.engine.orders == []
    dash.close()


async def test_halt_button(session: Session) -> None:
    clock = Clock()
    dash = Dashboard(session, clock=clock, start=False)
    dash.status.halt.click()
    assert session.engine.kill_switch is KillSwitch.HALTED
    assert "Trading halted" in dash.status.message.value
    clock.now += 1
    assert "status" in dash.flush()
    assert 'data-state="HALTED"' in dash.status.text.value
    assert dash.status.halt.disabled and not dash.status.resume.disabled
    dash.ticket.buy.click()
    assert "Rejected: Trading is halted by the kill switch" in dash.ticket.result.value
    dash.status.resume.click()
    assert session.engine.kill_switch.value == "ACTIVE"  # (the click changed it)
    dash.close()


async def test_ticket_symbol_drives_the_chart_and_board_adds_symbols(session: Session) -> None:
    clock = Clock()
    dash = Dashboard(session, clock=clock, start=False)
    assert dash.ticket.symbol.value == SYM and dash.prices.symbol == SYM
    dash.ticket.symbol.value = "NSE:TCS-EQ"
    assert dash.prices.symbol == "NSE:TCS-EQ" and dash.view("price_chart").symbol == "NSE:TCS-EQ"
    clock.now += 1
    assert "price_chart" in dash.flush()
    assert dash.price_chart.fig.layout.title.text.startswith("NSE:TCS-EQ — LTP")
    dash.quotes.symbol.value = "NSE:ITC-EQ"
    dash.quotes.add_button.click()
    assert "Watching NSE:ITC-EQ" in dash.quotes.message.value
    assert "NSE:ITC-EQ" in dash.ticket.symbol.options
    assert "NSE:ITC-EQ" in dash.quotes.remove_pick.options
    dash.quotes.remove_pick.value = "NSE:ITC-EQ"
    dash.quotes.remove_button.click()
    assert "NSE:ITC-EQ" not in dash.ticket.symbol.options
    dash.close()


async def test_display_is_stable_for_nbval(session: Session) -> None:
    dash = livetrade.ui.dashboard(session, max_hz=5, start=False)
    bundle = dash._repr_mimebundle_()
    assert bundle["text/plain"] == f"Dashboard(session={session.name!r}, max_hz=5)"
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == dash.widget.model_id
    assert [t.uid for t in dash.price_chart.fig.data] == [
        "lt-candles", "lt-candle-live", "lt-volume", "lt-volume-live",
        "lt-buys", "lt-sells", "lt-sl", "lt-tp",
    ]  # fmt: skip
    assert [t.uid for t in dash.pnl_chart.fig.data] == ["lt-net", "lt-realized", "lt-unrealized"]
    assert "uid" in repr(dash.price_chart.fig) and "lt-candles" in repr(dash.price_chart.fig)
    dash.close()
    assert dash._repr_mimebundle_() == {
        "text/plain": f"Dashboard(session={session.name!r}, closed)"
    }


async def test_a_new_dashboard_replaces_the_old_one(session: Session) -> None:
    first = livetrade.ui.dashboard(session)
    assert first.running
    second = livetrade.ui.dashboard(session)
    assert first.closed and first.widget.comm is None
    assert first.task is not None
    await asyncio.wait_for(asyncio.gather(first.task, return_exceptions=True), timeout=5)
    assert first.task.done() and second.running
    count = first.monitor.count
    await session.run_for(ticks=3)
    assert first.monitor.count == count and second.monitor.count >= 18
    await second.aclose()
    assert not second.running


async def test_closing_the_widget_closes_the_dashboard(session: Session) -> None:
    dash = livetrade.ui.dashboard(session)
    dash.widget.close()
    assert dash.closed
    assert dash.task is not None
    await asyncio.wait_for(asyncio.gather(dash.task, return_exceptions=True), timeout=5)
    assert dash.ticket.buy.comm is None  # every widget inside was closed too


async def test_a_failing_panel_is_reported_not_fatal(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    dash = Dashboard(session, clock=clock, start=False)
    errors: list[BaseException] = []
    session.error_event += errors.append

    def boom(view: Any) -> None:
        raise RuntimeError("draw failed")

    monkeypatch.setattr(dash.quotes, "update", boom)
    await session.run_for(ticks=2)
    clock.now += 1
    drawn = dash.flush()
    assert "quotes" in drawn and "status" in drawn
    assert isinstance(dash.last_error, RuntimeError) and errors == [dash.last_error]
    dash.close()


async def test_bad_arguments(session: Session) -> None:
    with pytest.raises(InvalidInput):
        Dashboard(session, max_hz=0, start=False)
    await session.close()
    with pytest.raises(LiveTradeError, match="closed"):
        Dashboard(session, start=False)


def test_needs_the_running_loop() -> None:
    async def make() -> Session:
        return await lt.open_session(journal=False, realtime=False, name=f"ui-dash-{next(_names)}")

    loop = asyncio.new_event_loop()
    try:
        s = loop.run_until_complete(make())
        with pytest.raises(LiveTradeError, match="running event loop"):
            Dashboard(s)
        loop.run_until_complete(s.close())
    finally:
        loop.close()
