"""Positions, blotter and P&L chart view-models after real trades on the virtual-clock market."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator

import pytest

import livetrade as lt
from livetrade.model import OrderKind
from livetrade.session import Session
from livetrade.ui.blotter import blotter_view, cancel_all, cancel_order
from livetrade.ui.charts import PnlSeries, _dates, _rupees, pnl_chart_view
from livetrade.ui.positions import close_position, positions_view

SYM = "NSE:SBIN-EQ"
_names = itertools.count()


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=4, realtime=False, name=f"ui-pos-{next(_names)}"
    )
    await s.run_for(ticks=60)
    yield s
    await s.close()


async def test_positions_rows_and_totals_come_from_the_engine(session: Session) -> None:
    s = session
    assert positions_view(s).rows == () and "No open positions." in positions_view(s).html()
    await s.buy(SYM, 10)
    await s.sell("NSE:INFY-EQ", 4)
    await s.run_for(ticks=30)
    v = positions_view(s)
    by_sym = {r.symbol: r for r in v.rows}
    assert set(by_sym) == {SYM, "NSE:INFY-EQ"}
    for pos in s.engine.positions():
        row = by_sym[pos.symbol]
        assert row.quantity == pos.quantity and row.avg == pos.avg_buy_price
        assert row.unrealized * 1 == int(pos.unrealized_pnl * 100)
        assert row.last == int((pos.last_price or 0) * 100)
    assert by_sym["NSE:INFY-EQ"].quantity == -4
    p = s.engine.pnl_paise()
    assert (v.realized, v.unrealized, v.charges, v.net) == (
        p["gross_realized"],
        p["unrealized"],
        p["charges"],
        p["total"],
    )
    assert v.keys == ((SYM, "INTRADAY"), ("NSE:INFY-EQ", "INTRADAY"))
    assert "lt-unrealized" in v.html() and "net " in v.summary


async def test_close_position_button_action(session: Session) -> None:
    s = session
    await s.buy(SYM, 7, stop_loss="780", take_profit="830")
    r = close_position(s, SYM, "INTRADAY")
    assert r.ok and r.text.startswith(f"Closed {SYM} INTRADAY: sold 7 at ₹")
    assert positions_view(s).rows == ()
    assert s.engine.open_orders() == []  # its bracket went with it
    again = close_position(s, SYM, "INTRADAY")
    assert again.ok and again.text == f"No open INTRADAY position in {SYM}."
    await s.close()
    assert "is closed" in close_position(s, SYM, "INTRADAY").text


async def test_blotter_newest_first_with_cancel(session: Session) -> None:
    s = session
    await s.buy(SYM, 5, stop_loss="780", take_profit="830")
    limit = await s.buy("NSE:TCS-EQ", 1, order_type=OrderKind.LIMIT, limit_price="3000")
    v = blotter_view(s)
    assert [r.order_id for r in v.orders] == [o.order_id for o in reversed(s.engine.orders)]
    assert v.order_count == 4 and v.fill_count == 1
    assert {r.role for r in v.open_orders} == {"stop loss", "take profit", ""}
    assert v.fills[0].quantity == 5 and v.fills[0].charges == s.engine.fills[0].charges.total
    assert "FILLED" in v.orders_html() and "lt-fills-table" in v.fills_html()
    r = cancel_order(s, limit.order_id)
    assert r.ok and r.text == f"Cancelled {limit.order_id} (NSE:TCS-EQ buy)."
    r = cancel_order(s, limit.order_id)
    assert not r.ok and r.code == "NOT_OPEN" and r.text.startswith("Rejected: Order")
    assert cancel_order(s, "LT9999999").code == "UNKNOWN_ORDER"
    assert cancel_all(s).text == "Cancelled 2 open orders."
    assert blotter_view(s).open_orders == ()


async def test_blotter_limits_rows(session: Session) -> None:
    for _ in range(6):
        await session.buy(SYM, 1)
    v = blotter_view(session, limit=4)
    assert len(v.orders) == 4 and v.order_count == 6 and len(v.fills) == 4


def test_pnl_series_keeps_one_point_per_bucket_and_a_live_head() -> None:
    sec = 1_000_000_000
    series = PnlSeries(maxlen=100, bucket_ns=sec)

    def p(total: int) -> dict[str, int]:
        return {"net_realized": 0, "unrealized": total, "total": total}

    series.sample(0, p(1))
    series.sample(sec // 4, p(2))  # live head
    series.sample(sec // 2, p(3))  # moves the head
    assert [pt[0] for pt in series.points] == [0, sec // 2]
    series.sample(sec + 1, p(4))  # a bucket later: the head becomes this point
    assert [pt[3] for pt in series.points] == [1, 4]
    series.sample(sec + 2, p(5), force=True)  # a fill always adds a point
    series.sample(sec + 3, p(6))
    assert [pt[3] for pt in series.points] == [1, 4, 5, 6]
    series.sample(5, p(7))  # never backwards
    assert series.points[-1][3] == 6
    v = pnl_chart_view(series)
    assert v.net == (1, 4, 5, 6) and v.ts == (0, sec + 1, sec + 2, sec + 3)
    assert v.title == "P&L — net +₹0.06"
    assert pnl_chart_view(PnlSeries()).title == "P&L"


async def test_pnl_series_seeds_from_the_session(session: Session) -> None:
    await session.buy(SYM, 10)
    await session.run_for(ticks=20)
    series = PnlSeries()
    series.seed(session)
    frame = session.pnl_df()
    assert len(series.points) == len(frame)
    last = series.points[-1]
    assert last[3] == round(frame["net_pnl"].iloc[-1] * 100)


def test_chart_units_for_plotly() -> None:
    out = _dates([1_748_835_900_000_000_000, None])  # 2025-06-02 03:45 UTC
    assert list(out) == ["2025-06-02T09:15:00.000", None]
    assert list(_rupees([80005, None])[:1]) == [800.05] and math.isnan(_rupees([None])[0])
