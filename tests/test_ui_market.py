"""The quote board's day columns and the depth panel, on the virtual-clock simulated market."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

import livetrade as lt
from livetrade.session import Session
from livetrade.ui.dashboard import Dashboard
from livetrade.ui.depth import depth_view
from livetrade.ui.quotes import HEADERS, QuoteBoardModel

SYM = "NSE:SBIN-EQ"
_names = itertools.count()


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=7, realtime=False, name=f"ui-market-{next(_names)}"
    )
    await s.run_for(ticks=300)
    yield s
    await s.close()


def _paise(value: object) -> int:
    return int(value * 100)  # type: ignore[operator]


async def test_board_shows_the_day_change_against_the_previous_close(session: Session) -> None:
    s = session
    assert HEADERS[:6] == ("symbol", "LTP ₹", "chg ₹", "chg %", "high ₹", "low ₹")
    view = QuoteBoardModel(s).view()
    for row in view.rows:
        day = s.day_stats(row.symbol)
        assert day.prev_close is not None and row.last is not None
        prev = _paise(day.prev_close)
        assert row.change_paise == row.last - prev
        assert (row.high, row.low) == (_paise(day.high), _paise(day.low))
        assert row.low is not None and row.high is not None
        assert row.low <= row.last <= row.high
        cells = [c.text for c in row.cells()]
        sign = "+" if row.last > prev else ("-" if row.last < prev else "")
        assert cells[2].startswith(sign) and cells[3].startswith(sign or "0")
    # the day's high/low follow the ticks
    before = view.rows[0]
    await s.run_for(seconds=3_600)
    after = QuoteBoardModel(s).view().rows[0]
    assert after.high >= before.high and after.low <= before.low  # type: ignore[operator]
    assert (after.high, after.low) != (before.high, before.low)


async def test_depth_panel_has_five_ordered_levels_around_the_quote(session: Session) -> None:
    s = session
    v = depth_view(s, SYM)
    top = s.stream.top(SYM)
    assert top is not None and len(v.bids) == len(v.asks) == 5
    assert v.bids[0][0] == top[0] and v.asks[0][0] == top[1]  # best = the quote's bid/ask
    assert [b[0] for b in v.bids] == sorted((b[0] for b in v.bids), reverse=True)
    assert [a[0] for a in v.asks] == sorted(a[0] for a in v.asks)
    assert all(q > 0 and n > 0 for _p, q, n in (*v.bids, *v.asks))
    frame = s.depth_df(SYM)
    assert frame[frame.side == "bid"]["quantity"].tolist() == [b[1] for b in v.bids]
    rows = v.rows()
    assert [key for key, _ in rows] == ["L1", "L2", "L3", "L4", "L5", "total"]
    first = [c.text for c in rows[0][1]]
    assert first[2] == f"{top[0] / 100:,.2f}" and first[3] == f"{top[1] / 100:,.2f}"
    assert rows[-1][1][1].text == f"{v.bid_total:,}"
    assert v.title == f"<b>Depth</b> {SYM}"
    for nothing in ("NSE:NOPE-EQ", "NSE:NIFTY50-INDEX"):  # unknown; an index has no book
        none = depth_view(s, nothing)
        assert none.rows() == [] and "no depth yet" in none.title


async def test_dashboard_depth_follows_the_ticket_symbol_and_the_ticks(session: Session) -> None:
    s = session

    class Clock:
        now = 1_000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    dash = Dashboard(s, clock=clock, start=False)
    text = dash.depth.table.text()
    assert text.count("\n") == 5 and "total" in text
    assert SYM in dash.depth.title.value
    await s.run_for(ticks=30)
    clock.now += 1
    assert "depth" in dash.flush()
    assert dash.depth.table.text() == "\n".join(
        " | ".join(c.text for c in cells) for _k, cells in depth_view(s, SYM).rows()
    )
    dash.ticket.symbol.value = "NSE:TCS-EQ"
    clock.now += 1
    assert "depth" in dash.flush()
    assert "NSE:TCS-EQ" in dash.depth.title.value
    best_bid = depth_view(s, "NSE:TCS-EQ").bids[0][0]
    assert f"{best_bid / 100:,.2f}" in dash.depth.table.text()
    dash.close()
