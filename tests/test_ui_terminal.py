"""Issue 19 (b, f, 6, 11): the dashboard never lies about its state, and works like a terminal:
a last redraw when the session closes, row clicks, Modify from the blotter, exits moved from
a position, placed-time order, Enter adds a symbol, made-up prices said out loud."""

from __future__ import annotations

import asyncio
import html
import itertools
from collections.abc import AsyncIterator

import pytest

import livetrade as lt
from livetrade.fmt import inr
from livetrade.model import KillSwitch, OrderStatus
from livetrade.session import Session
from livetrade.ui.blotter import blotter_view, modify_order
from livetrade.ui.charts import money_ticks
from livetrade.ui.dashboard import PANELS, Dashboard
from livetrade.ui.positions import change_exits, positions_view
from livetrade.ui.status import StatusView, status_html

SYM = "NSE:SBIN-EQ"
_names = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=11, realtime=False, name=f"ui-term-{next(_names)}"
    )
    await s.run_for(ticks=60)
    yield s
    await s.close()


def _flush(d: Dashboard, seconds: float = 1.0) -> list[str]:
    clock = d._clock
    assert isinstance(clock, Clock)
    clock.now += seconds
    return d.flush()


async def test_closing_the_session_redraws_every_panel_and_greys_out(session: Session) -> None:
    """Defect 6: after the last cell the P&L chart's title and Positions' net agree."""
    d = Dashboard(session, clock=Clock(), start=False)
    await session.buy(SYM, 10)
    _flush(d)
    await session.run_for(ticks=500)  # the market moves; no redraw is due yet
    net_before_close = session.engine.pnl_paise()["total"]
    await session.close()
    assert set(_flush(d, 0.01)) == set(PANELS)
    assert d.pnl_chart is not None
    title = d.pnl_chart.fig.layout.title.text
    assert title == f"P&L — net {inr(net_before_close, sign=True)}"
    assert f"net {inr(net_before_close, sign=True)}" in d.positions.table.footer
    assert d.beacon.widget.level == "dead" and "is closed" in d.beacon.widget.message
    assert d.ticket.buy.disabled and d.ticket.quantity.disabled and d.quotes.add_button.disabled
    assert d.positions.exit.disabled and d.blotter.modify.disabled
    assert 'data-state="stopped"' in d.status.text.value
    d.close()


async def test_the_task_draws_the_last_state_when_a_virtual_run_ends(session: Session) -> None:
    """On the virtual clock nothing ticks after ``run_for``: the throttle must not leave the
    charts a frame behind (they were drawn mid-run, then the run ended)."""
    fake = {"now": 0.0}

    async def sleep(seconds: float) -> None:
        fake["now"] += seconds
        await asyncio.sleep(0)

    d = Dashboard(session, clock=lambda: fake["now"], sleep=sleep)
    try:
        assert d.pnl_chart is None  # built when their tab is first opened
        d.bottom.selected_index = 2
        while d.pnl_chart is None:
            await asyncio.sleep(0.01)
        await session.buy(SYM, 5)
        await session.run_for(ticks=300)
        for _ in range(50):
            await asyncio.sleep(0)
        net = session.engine.pnl_paise()["total"]
        assert d.pnl_chart.fig.layout.title.text == f"P&L — net {inr(net, sign=True)}"
        assert d.beacon.widget.beat >= 1
    finally:
        await d.aclose()


async def test_session_close_is_noticed_by_the_running_task(session: Session) -> None:
    d = Dashboard(session)
    await asyncio.sleep(0.05)
    await session.close()
    assert d.task is not None
    await asyncio.wait_for(asyncio.gather(d.task, return_exceptions=True), timeout=5)
    assert d.beacon.widget.level == "dead" and d.ticket.sell.disabled
    d.close()


async def test_quote_row_click_loads_the_ticket_and_chart(session: Session) -> None:
    d = Dashboard(session, clock=Clock(), start=False)
    d.quotes.table._msg(d.quotes.table.widget, {"event": "click", "key": "NSE:TCS-EQ"}, [])
    assert d.ticket.symbol.value == "NSE:TCS-EQ" and d.prices.symbol == "NSE:TCS-EQ"
    assert d.quotes.table.widget.selected == "NSE:TCS-EQ"
    _flush(d)
    assert "Buy 1 NSE:TCS-EQ" in d.ticket.whatif.value
    d.quotes.table._msg(d.quotes.table.widget, {"event": "click", "key": "NSE:NOPE"}, [])
    assert d.ticket.symbol.value == "NSE:TCS-EQ"  # not on the board: ignored
    d.close()


async def test_table_redraw_sends_only_changes(session: Session) -> None:
    d = Dashboard(session, clock=Clock(), start=False)
    rows = d.quotes.table.widget.rows
    assert [r[0] for r in rows] == d.board.watched
    assert rows[0][1][1][1] == "lt-ltp lt-c-ltp"
    before = list(rows)
    _flush(d)  # nothing ticked: the same rows, no message
    assert d.quotes.table.widget.rows == before
    d.close()


async def test_blotter_lists_by_placed_time_and_modifies(session: Session) -> None:
    s = session
    d = Dashboard(s, clock=Clock(), start=False)
    first = await s.buy(SYM, 3, order_type="LIMIT", limit_price=700)
    await s.run_for(ticks=5)
    second = await s.buy("NSE:TCS-EQ", 1, order_type="LIMIT", limit_price=3000)
    await s.run_for(ticks=5)
    s.engine.modify(first.order_id, quantity=4)  # updated after the second was placed
    view = blotter_view(s)
    assert [r.order_id for r in view.orders] == [second.order_id, first.order_id]
    assert view.orders[1].time == first.created.strftime("%H:%M:%S")

    r = modify_order(s, first.order_id, quantity="2.5")
    assert not r.ok and "Qty must be a whole number" in r.text
    r = modify_order(s, first.order_id, quantity="5", limit="7,10.00")
    assert not r.ok and "Limit" in r.text
    r = modify_order(s, first.order_id, quantity="5", limit="710")
    assert r.ok and r.text == f"Modified {first.order_id}: Qty 5, Limit ₹710.00."
    assert (first.quantity, first.limit_paise) == (5, 71000)
    r = modify_order(s, first.order_id, trigger="1,0,00")
    assert not r.ok and r.text.startswith("Trigger: ")

    _flush(d)
    assert len(d.blotter.pick.options) == 2
    d.blotter.orders._msg(d.blotter.orders.widget, {"event": "click", "key": second.order_id}, [])
    assert d.blotter.pick.value.startswith(second.order_id)
    d.blotter.orders._msg(d.blotter.orders.widget, {"event": "click", "key": first.order_id}, [])
    assert d.blotter.pick.value.startswith(first.order_id)
    d.blotter.quantity.value = "6"
    d.blotter.modify.click()
    assert "Modified" in d.blotter.message.value and first.quantity == 6
    d.blotter.cancel.click()
    assert first.status is OrderStatus.CANCELLED
    d.close()


async def test_exits_of_a_position_move_from_its_row(session: Session) -> None:
    s = session
    d = Dashboard(s, clock=Clock(), start=False)
    await s.buy(SYM, 10, stop_loss=780, take_profit=830)
    row = positions_view(s).rows[0]
    assert (row.stop_loss, row.take_profit) == (78000, 83000)
    r = change_exits(s, SYM, "INTRADAY", stop_loss="785", take_profit="8,40.00")
    assert not r.ok and "Take-profit" in r.text  # a typo moves nothing
    assert positions_view(s).rows[0].stop_loss == 78000
    r = change_exits(s, SYM, "INTRADAY", stop_loss="785", take_profit="840")
    assert r.ok and r.text == f"{SYM} INTRADAY: Stop-loss ₹785.00 and Take-profit ₹840.00 set."
    row = positions_view(s).rows[0]
    assert (row.stop_loss, row.take_profit) == (78500, 84000)
    _flush(d)
    assert d.positions.pick.value == f"{SYM} INTRADAY"
    d.positions.stop_loss.value = "790"
    d.positions.set_exits.click()
    assert "Stop-loss ₹790.00 set" in d.positions.message.value
    d.positions.exit.click()
    assert "Closed NSE:SBIN-EQ INTRADAY" in d.positions.message.value
    await s.buy("NSE:TCS-EQ", 1)
    r = change_exits(s, "NSE:TCS-EQ", "INTRADAY", stop_loss="3000")
    assert not r.ok and "has no Stop-loss order to move" in r.text
    d.close()


async def test_enter_adds_a_symbol_and_a_made_up_price_is_said(session: Session) -> None:
    d = Dashboard(session, clock=Clock(), start=False)
    d.quotes.symbol.value = "NSE:ITC-EQ @ 450.50"  # what Enter (or leaving the box) sends
    assert "it starts at ₹450.50, the price you gave" in d.quotes.message.value
    assert "NSE:ITC-EQ" in d.board.watched and d.quotes.symbol.value == ""
    d.quotes.add_button.click()  # the click that blurred the box: not a second, empty add
    assert "lt-ok" in d.quotes.message.value
    await session.run_for(ticks=1)
    top = session.stream.top("NSE:ITC-EQ")
    assert top is not None and abs(top[2] - 45050) < 1000
    d.quotes.symbol.value = "NSE:WIPRO-EQ"
    said = html.unescape(d.quotes.message.value)
    assert "a made-up price (type 'NSE:WIPRO-EQ @ 450' to choose it)" in said
    d.close()


def test_status_words_mean_what_they_say() -> None:
    base = dict(
        mode="PAPER", session="s", feed="sim", feed_state="running", tick_age_s=0.5,
        tick_rate=None, market_time="10:00:00", equity_paise=100_00, pnl_paise=-5_00,
        pnl_pct="-0.05%", cash_paise=90_00, margin_used_paise=20_00,
    )  # fmt: skip
    on = StatusView(kill_switch=KillSwitch.ACTIVE.value, **base)  # type: ignore[arg-type]
    assert on.trading == "Trading: ON" and "lt-ok" in status_html(on)
    halted = StatusView(kill_switch=KillSwitch.HALTED.value, **base)  # type: ignore[arg-type]
    assert halted.trading == "Trading: HALTED" and "lt-kill lt-err" in status_html(halted)
    reducing = StatusView(kill_switch=KillSwitch.REDUCING.value, **base)  # type: ignore[arg-type]
    assert reducing.trading == "Trading: REDUCING only"
    assert "kill switch" not in on.text.lower()
    assert on.text.endswith(
        "MTM -₹5.00 (-0.05%) · cash ₹90.00 · margin used ₹20.00 · available ₹80.00 · Trading: ON"
    )


def test_chart_axes_use_the_money_format() -> None:
    vals, text = money_ticks([1_23_456_00, 1_23_556_00])
    assert text[0].startswith("₹1,23,") and all(t.endswith(".00") for t in text)
    assert vals == [1_23_500.0, 1_23_550.0]  # round steps inside the range
    _, pnl = money_ticks([-1_000, 0, 2_500], sign=True)
    assert "₹0.00" in pnl and pnl[0].startswith("-₹") and pnl[-1].startswith("+₹")
    assert money_ticks([]) == ([], [])
