"""Open interest on the simulated chain, position Greeks per row, the payoff curves, and the
dashboard's chain panel, ticket in lots, positions' Greeks and payoff tab (no browser)."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from datetime import datetime

import numpy as np
import pytest

import livetrade as lt
from livetrade.chain import add_position_greeks, chain_source, option_chain
from livetrade.feeds.sim_derivatives import UNDERLYING
from livetrade.frames import positions_frame
from livetrade.model import IST, Side
from livetrade.payoff import Leg, legs_for, payoff, payoff_curves
from livetrade.session import Session
from livetrade.ui.chain import (
    CALL_COLUMNS,
    HEADERS,
    STRIKE_COL,
    chain_view,
    compact,
    resolve_click,
)
from livetrade.ui.dashboard import CHAIN_TAB, PAYOFF_TAB, Dashboard
from livetrade.ui.payoff import payoff_view
from livetrade.ui.positions import positions_view
from livetrade.ui.ticket import TicketInput, submit, what_if

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday; weekly expiry Tue 8 Dec
_names = itertools.count()


async def _open(seed: int = 3) -> Session:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=seed, realtime=False, journal=False, start=DEC_2026,
        derivatives=True, name=f"chain-ui-{next(_names)}",
    )  # fmt: skip
    await s.run_for(ticks=40)
    return s


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await _open()
    yield s
    await s.close()


def _chain(s: Session, strikes: int = 20) -> object:
    assert s.derivatives is not None
    return option_chain(
        s.engine.instruments, s.stream.quote, UNDERLYING, s.now, strikes=strikes,
        oi=s.derivatives.open_interest,
    )  # fmt: skip


# ---------------------------------------------------------------------------- open interest
async def test_open_interest_is_deterministic_peaks_near_the_money_and_grows() -> None:
    a, b = await _open(5), await _open(5)
    try:
        assert a.derivatives is not None and b.derivatives is not None
        syms = a.derivatives.symbols
        assert [a.derivatives.open_interest(x) for x in syms] == [
            b.derivatives.open_interest(x) for x in syms
        ]
        chain = _chain(a, strikes=21)
        oi = (chain["call_oi"] + chain["put_oi"]).to_numpy()  # type: ignore[index]
        lot = 65
        assert np.all(oi > 0) and np.all(oi % lot == 0)  # whole lots
        centre = int(np.flatnonzero(chain["atm"].to_numpy())[0])  # type: ignore[index]
        near = oi[max(0, centre - 3) : centre + 4].mean()
        wings = np.concatenate([oi[:3], oi[-3:]]).mean()
        assert near > 1.5 * wings  # a bell around the money
        before = {x: a.derivatives.open_interest(x) for x in syms}
        await a.run_for(ticks=200)
        after = {x: a.derivatives.open_interest(x) for x in syms}
        grown = sum(after[x][0] - before[x][0] for x in syms)  # type: ignore[index]
        assert grown > 0  # new positions open faster than old ones close
        assert all(after[x][1] == after[x][0] - before[x][0] + before[x][1] for x in syms)  # type: ignore[index]
        assert a.derivatives.open_interest("NSE:SBIN-EQ") is None
    finally:
        await a.close()
        await b.close()


async def test_oi_change_counts_from_the_days_first_quote(session: Session) -> None:
    sim = session.derivatives
    assert sim is not None
    sym = sim.symbols[len(sim.symbols) // 2]
    start_oi, start_change = sim.open_interest(sym) or (0, 0)
    now = session.clock.now_ns()
    sim.quote(now + 86_400 * 1_000_000_000)  # the next day: the change restarts from there
    oi, change = sim.open_interest(sym) or (0, 0)
    assert change == oi - start_oi  # the day opened at yesterday's close
    assert abs(change) <= 20 * 65 and oi >= 0
    assert start_oi - start_change > 0  # the listing's open interest


async def test_chain_carries_oi_columns_and_nan_without_a_source(session: Session) -> None:
    chain = _chain(session)
    for side in ("call", "put"):
        assert chain[f"{side}_oi"].notna().all()  # type: ignore[index]
        assert chain[f"{side}_oi_change"].notna().all()  # type: ignore[index]
    bare = option_chain(session.engine.instruments, session.stream.quote, UNDERLYING, session.now)
    assert bare["call_oi"].isna().all() and bare["put_oi_change"].isna().all()


# ---------------------------------------------------------------------------- Greeks per row
async def test_position_greeks_per_row_add_up_to_greeks_df(session: Session) -> None:
    chain = _chain(session)
    atm = chain[chain["atm"]].index[0]  # type: ignore[index]
    call = chain.loc[atm, "call_symbol"]  # type: ignore[attr-defined]
    fut = next(x for x in session.derivatives.symbols if x.endswith("FUT"))  # type: ignore[union-attr]
    await session.buy(call, lots=2)
    await session.sell(fut, lots=1)
    await session.buy("NSE:SBIN-EQ", 10)
    inst = session.engine.instruments
    chains = chain_source(inst, session.stream.quote, session.now)
    frame = add_position_greeks(
        positions_frame(session.engine.positions(), inst), inst, chains, session.now
    )
    rows = frame.set_index("symbol")
    assert rows.loc[call, "lots"] == 2 and rows.loc[fut, "lots"] == -1
    assert rows.loc[fut, "delta"] == -65 and rows.loc[fut, "gamma"] == 0
    assert rows.loc["NSE:SBIN-EQ", "delta"] == 10 and rows.loc["NSE:SBIN-EQ", "theta"] == 0
    assert math.isnan(rows.loc["NSE:SBIN-EQ", "days_to_expiry"])
    assert rows.loc["NSE:SBIN-EQ", "underlying"] == "NSE:SBIN-EQ"
    assert 1.0 < rows.loc[call, "days_to_expiry"] < 1.5  # to 15:40 on Tuesday 8 Dec
    row = chain.loc[atm]  # type: ignore[attr-defined]
    assert rows.loc[call, "delta"] == pytest.approx(130 * row["call_delta"], rel=1e-9)
    assert rows.loc[call, "theta"] == pytest.approx(130 * row["call_theta"], rel=1e-9)
    g = session.greeks_df()
    nifty = frame[frame["underlying"] == UNDERLYING]
    for name in ("delta", "gamma", "theta", "vega"):
        assert nifty[name].sum() == pytest.approx(g.loc[UNDERLYING, name], rel=1e-9)


# ---------------------------------------------------------------------------- payoff
def test_payoff_of_a_long_call_at_expiry_and_today() -> None:
    expiry = datetime(2026, 12, 8, 15, 30, tzinfo=IST)
    leg = Leg("C", "CE", 65, 100.0, 24_000.0, expiry, iv=0.15, carry=0.065)
    curves = payoff_curves([leg], 24_000.0, DEC_2026, points=401)
    s = curves.index.to_numpy()
    assert np.allclose(curves["expiry"], 65 * (np.maximum(s - 24_000, 0) - 100))
    assert curves.attrs["breakevens"] == [pytest.approx(24_100.0, abs=1.0)]
    assert np.all(curves["today"].to_numpy() >= curves["expiry"].to_numpy() - 1e-9)  # time value
    assert s.min() < 24_000 * 0.95 and s.max() > 24_000 * 1.05
    with pytest.raises(lt.InvalidInput):
        payoff_curves([], 24_000.0, DEC_2026)


async def test_payoff_of_a_short_straddle_from_the_session(session: Session) -> None:
    chain = _chain(session)
    atm = chain[chain["atm"]].index[0]  # type: ignore[index]
    await session.sell(chain.loc[atm, "call_symbol"], lots=1)  # type: ignore[attr-defined]
    await session.sell(chain.loc[atm, "put_symbol"], lots=1)  # type: ignore[attr-defined]
    inst = session.engine.instruments
    positions = [(p.symbol, p.quantity, float(p.avg_buy_price)) for p in session.engine.positions()]
    legs = legs_for(
        UNDERLYING, positions, inst, chain_source(inst, session.stream.quote, session.now)
    )
    assert sorted(leg.kind for leg in legs) == ["CE", "PE"]
    spot = float(session.stream.quote(UNDERLYING).last_price)  # type: ignore[union-attr]
    curves = payoff_curves(legs, spot, session.now)
    assert len(curves.attrs["breakevens"]) == 2  # a tent: loses on both sides
    lo, hi = curves.attrs["breakevens"]
    assert lo < atm < hi
    # at the money the straddle keeps both premiums at expiry
    at_k = float(np.interp(atm, curves.index.to_numpy(), curves["expiry"].to_numpy()))
    premiums = sum(-q * e for _s, q, e in positions)
    assert at_k == pytest.approx(premiums, abs=65 * 50)
    fig = payoff(UNDERLYING, positions, inst, session.stream.quote, session.now)
    assert [t.name for t in fig.data][1] == "Today" and len(fig.data) == 2


# ---------------------------------------------------------------------------- ticket in lots
async def test_ticket_counts_lots_for_derivatives(session: Session) -> None:
    chain = _chain(session)
    put = chain.loc[chain[chain["atm"]].index[0], "put_symbol"]  # type: ignore[index, attr-defined]
    t = TicketInput(put, Side.BUY, "2", lot_size=65, option=True)
    w = what_if(session, t)
    assert w.ok, w.text
    assert w.text.startswith(f"Buy 2 lots × 65 = 130 {put} ≈ ")
    assert w.notional == 130 * (w.fill or 0) and "premium ₹" in w.text
    bad = what_if(session, TicketInput(put, Side.BUY, "1.5", lot_size=65, option=True))
    assert not bad.ok and bad.text.startswith("Lots must be a whole number of lots")
    before = len(session.engine.orders)
    assert not submit(session, TicketInput(put, Side.BUY, "0", lot_size=65)).ok
    assert len(session.engine.orders) == before  # refused before the engine
    result = submit(session, t)
    assert result.ok, result.text
    assert session.engine.orders[-1].quantity == 130


# ---------------------------------------------------------------------------- the panels
def test_clicks_resolve_bid_to_sell_and_ask_to_buy() -> None:
    from livetrade.ui.chain import ChainView

    view = ChainView("t", symbols={"24000": ("C", "P")})
    bid_c, ask_c = CALL_COLUMNS.index("bid"), CALL_COLUMNS.index("ask")
    assert resolve_click(view, "24000", bid_c) == ("C", Side.SELL)
    assert resolve_click(view, "24000", ask_c) == ("C", Side.BUY)
    assert resolve_click(view, "24000", STRIKE_COL + 1) == ("P", Side.SELL)  # the put's Bid
    assert resolve_click(view, "24000", STRIKE_COL + 2) == ("P", Side.BUY)
    assert resolve_click(view, "24000", 0) == ("C", None)  # OI: the contract only
    assert resolve_click(view, "24000", STRIKE_COL) is None
    assert resolve_click(view, "24000", len(HEADERS)) is None
    assert resolve_click(view, "99", bid_c) is None
    assert [compact(x) for x in (950, 12_300, 4_560_000, 31_000_000)] == [
        "950", "12.3K", "45.6L", "3.10Cr",
    ]  # fmt: skip
    assert compact(1_500, sign=True) == "+1.5K" and compact(-1_500) == "-1.5K"


async def test_chain_view_marks_the_money(session: Session) -> None:
    view = chain_view(session, UNDERLYING, strikes=10)
    assert len(view.rows) == 10 and view.atm in view.symbols
    atm_cells = dict(view.rows)[view.atm]
    assert "lt-atm" in atm_cells[STRIKE_COL].css
    assert "forward" in view.title and view.expiry == "2026-12-08"
    assert len(atm_cells) == len(HEADERS)
    other = chain_view(session, UNDERLYING, expiry=view.expiries[-1], strikes=4)
    assert other.expiry == view.expiries[-1] and len(other.rows) == 4
    assert chain_view(session, "NSE:SBIN-EQ").error


async def test_dashboard_chain_click_loads_the_ticket_and_positions_show_greeks(
    session: Session,
) -> None:
    dash = Dashboard(session, start=False)
    try:
        assert dash.chain is not None and dash.payoff is not None
        assert "Chain" in dash.bottom.titles and "Payoff" in dash.bottom.titles
        dash.bottom.selected_index = CHAIN_TAB
        dash.throttle.mark("chain")
        dash.flush(now=1e6)
        key = dash.chain._view.atm
        put = dash.chain._view.symbols[key][1]
        dash.chain.table._msg(None, {"event": "click", "key": key, "col": STRIKE_COL + 1}, [])
        assert dash.ticket.symbol.value == put and dash.ticket.side.value == "SELL"
        assert dash.ticket.quantity.value == "1" and dash.ticket.quantity.description == "Lots"
        assert "lot size 65" in dash.ticket.lot_info.value
        assert dash.view("ticket").text.startswith(f"Sell 1 lot × 65 = 65 {put}")
        dash.ticket._place(Side.SELL)
        assert "Sold 65" in dash.ticket.result.value
        await session.run_for(ticks=5)
        pv = positions_view(session)
        assert [h.text for h in pv.headers][3:5] == ["lots", "days"]
        cells = [c.text for c in pv.row_cells(pv.rows[0])]
        assert cells[3] == "-1" and cells[-4].startswith("+")  # short put: positive delta
        assert "Greeks NIFTY50-INDEX: Δ +" in pv.summary
        dash.bottom.selected_index = PAYOFF_TAB
        view = dash.view("payoff_chart")
        assert not view.message and len(view.x) == len(view.today) > 10
        assert payoff_view(session, "").message
        dash.throttle.mark("payoff_chart")
        dash.flush(now=2e6)
        assert dash.payoff.fig is not None and len(dash.payoff.fig.data[0].x) == len(view.x)
    finally:
        dash.close()


async def test_equity_dashboard_has_no_chain_tab() -> None:
    s = await lt.open_session(feed="sim", seed=1, realtime=False, journal=False, name="no-opt")
    try:
        dash = Dashboard(s, start=False)
        assert dash.chain is None and "Chain" not in dash.bottom.titles
        assert "lots" not in [h.text for h in positions_view(s).headers]
        dash.close()
    finally:
        await s.close()


async def test_position_greek_columns_on_an_empty_book(session: Session) -> None:
    inst = session.engine.instruments
    frame = add_position_greeks(
        positions_frame([], inst), inst, chain_source(inst, session.stream.quote, session.now),
        session.now,
    )  # fmt: skip
    assert frame.empty and str(frame["expiry"].dtype).endswith("Asia/Kolkata]")
    assert list(frame.columns[-8:]) == [
        "underlying", "expiry", "days_to_expiry", "delta", "gamma", "theta", "vega", "lots",
    ]  # fmt: skip
