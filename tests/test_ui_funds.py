"""Funds in the dashboard and the margin line of the order ticket (#15 items 4 and 7): the
ticket's figure is the one the engine's margin check compares on the click."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import livetrade as lt
from livetrade.chain import option_chain
from livetrade.feeds.sim_derivatives import UNDERLYING
from livetrade.fno.margin import MarginParams, contract_margin, order_requirement
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.model import IST, Product, Side
from livetrade.session import Session
from livetrade.ui.positions import positions_view
from livetrade.ui.status import FeedActivity, status_html, status_view
from livetrade.ui.ticket import TicketInput, submit, what_if

DEC_2026 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)
EXPIRY = datetime(2026, 12, 29, 15, 40, tzinfo=IST)
INDEX = "NSE:NIFTY50-INDEX"
FUT = Instrument(
    "NSE:NIFTY26DECFUT", InstrumentKind.FUTURE, 65, 10, 1800, EXPIRY, underlying=INDEX,
    segment="FO",
)  # fmt: skip
PUT = Instrument(
    "NSE:NIFTY26DEC24000PE", InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 2_400_000, "PE",
    INDEX, "FO",
)  # fmt: skip
CALL = Instrument(
    "NSE:NIFTY26DEC24000CE", InstrumentKind.OPTION, 65, 5, 1800, EXPIRY, 2_400_000, "CE",
    INDEX, "FO",
)  # fmt: skip
SBIN = Instrument("NSE:SBIN-EQ", InstrumentKind.EQUITY)
_names = itertools.count()


def test_order_requirement_premium_and_margin_change() -> None:
    p = MarginParams()
    long_call = order_requirement(CALL, 65, 0, 15_010, 15_000, 2_400_000, p)
    assert (long_call.premium, long_call.margin) == (65 * 15_010, 0)
    short_put = order_requirement(PUT, -65, 0, 12_000, 12_000, 2_400_000, p)
    assert short_put.premium == 0
    assert short_put.margin == contract_margin(PUT, -65, 12_000, 2_400_000, p) > 0
    closing = order_requirement(PUT, 65, -65, 12_010, 12_000, 2_400_000, p)
    assert closing.margin == -short_put.margin and closing.premium == 65 * 12_010
    assert closing.total == 0  # buying back a short frees its margin; it never costs more
    fut = order_requirement(FUT, 130, 0, 2_410_000, 2_410_000, None, p)
    assert fut.premium == 0 and fut.margin == contract_margin(FUT, 130, 2_410_000, None, p)
    assert order_requirement(SBIN, 10, 0, 80_000, 80_000, None, p).total == 0


@given(
    held=st.integers(-20, 20),
    lots=st.integers(-20, 20).filter(bool),
    price=st.integers(5, 100_000),
    under=st.integers(1_000_000, 4_000_000),
    inst=st.sampled_from([FUT, PUT, CALL]),
)
@settings(max_examples=200, deadline=None)
def test_order_requirement_is_the_change_of_the_position_margin(
    held: int, lots: int, price: int, under: int, inst: Instrument
) -> None:
    p = MarginParams()
    r = order_requirement(inst, lots * 65, held * 65, price, price, under, p)
    after = contract_margin(inst, (held + lots) * 65, price, under, p)
    assert r.margin == after - contract_margin(inst, held * 65, price, under, p)
    assert r.premium == (lots * 65 * price if inst is not FUT and lots > 0 else 0)


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        feed="sim", broker="paper", seed=3, realtime=False, journal=False, start=DEC_2026,
        derivatives=True, name=f"ui-funds-{next(_names)}",
    )  # fmt: skip
    await s.run_for(ticks=40)
    yield s
    await s.close()


def _atm_put(s: Session) -> str:
    chain = option_chain(s.engine.instruments, s.stream.quote, UNDERLYING, s.now, strikes=10)
    return str(chain.loc[chain[chain["atm"]].index[0], "put_symbol"])


async def test_ticket_shows_the_margin_the_sale_blocks_and_funds_follow(
    session: Session,
) -> None:
    put = _atm_put(session)
    t = TicketInput(put, Side.SELL, "1", lot_size=65, option=True, product=Product.MARGIN)
    w = what_if(session, t)
    assert w.ok and w.margin is not None and w.available is not None, w.text
    assert not w.short_of_funds and "lt-margin-ok" in w.html()
    assert "margin ₹" in w.text and "funds needed ₹" in w.html() and "cash after" not in w.text
    funds = session.engine.funds_paise()
    assert w.available == funds["available_cash"] and funds["margin_blocked"] == 0
    assert submit(session, t).ok
    after = session.engine.funds_paise()
    # the ticket's figure is what the engine blocked: margin change + charges, nothing else
    assert after["fno_margin"] + (w.charges or 0) == w.margin
    assert after["premium_received"] == 65 * (w.fill or 0)
    v = status_view(session, FeedActivity(), 0.0)
    assert v.margin_used_paise == after["margin_blocked"] > 0
    assert v.available_paise == after["available_cash"]
    assert "premium received ₹" in v.text and 'class="lt-premium"' in status_html(v)
    assert "margin blocked ₹" in positions_view(session).summary
    # buying it back releases the margin: the ticket says so and needs only the premium
    back = what_if(session, t.with_side(Side.BUY))
    assert back.ok and "margin released ₹" in back.text, back.text


async def test_ticket_warns_before_the_click_when_funds_fall_short(session: Session) -> None:
    put = _atm_put(session)
    t = TicketInput(put, Side.SELL, "20", lot_size=65, option=True, product=Product.MARGIN)
    w = what_if(session, t)
    assert w.ok and w.short_of_funds and (w.margin or 0) > (w.available or 0)
    assert "lt-margin-short" in w.html() and "will be refused" in w.html()
    before = len(session.engine.fills)
    result = submit(session, t)
    assert not result.ok and "needs ₹" in result.text  # the engine agrees with the warning
    assert len(session.engine.fills) == before


async def test_shares_keep_the_cash_line(session: Session) -> None:
    w = what_if(session, TicketInput("NSE:SBIN-EQ", Side.BUY, "1"))
    assert w.ok and w.margin is None and "cash after ₹" in w.text
    assert "lt-margin-line" not in w.html()
