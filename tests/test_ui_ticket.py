"""Order ticket view-model: the what-if line, and what Buy/Sell show after the click."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import date

import pytest

import livetrade as lt
from livetrade.model import KillSwitch, OrderKind, Product, Side, ns_to_datetime
from livetrade.session import Session
from livetrade.ui.ticket import TicketInput, describe, submit, what_if

SYM = "NSE:SBIN-EQ"
_names = itertools.count()


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = await lt.open_session(
        journal=False, feed="sim", seed=1, realtime=False, name=f"ui-tkt-{next(_names)}"
    )
    await s.run_for(ticks=60)
    yield s
    await s.close()


def _day(s: Session) -> date:
    return ns_to_datetime(s.clock.now_ns()).date()


def _top(s: Session, symbol: str = SYM) -> tuple[int, int, int, int]:
    top = s.stream.top(symbol)
    assert top is not None
    return top


async def test_market_buy_what_if_matches_what_the_engine_then_does(session: Session) -> None:
    s = session
    ask = _top(s)[1]
    t = TicketInput(SYM, Side.BUY, 10, stop_loss="780", take_profit="830")
    w = what_if(s, t)
    est = s.engine.charges_model.estimate
    entry = est(SYM, True, False, 10, ask, _day(s)).total
    assert w.ok, w.text
    assert (w.fill, w.basis, w.notional, w.charges) == (ask, "at the ask", 10 * ask, entry)
    assert w.cash_after == s.engine.cash_paise - 10 * ask - entry
    assert (
        w.at_stop_loss
        == (78000 - ask) * 10 - entry - est(SYM, False, False, 10, 78000, _day(s)).total
    )
    assert (
        w.at_take_profit
        == (83000 - ask) * 10 - entry - est(SYM, False, False, 10, 83000, _day(s)).total
    )
    assert w.at_stop_loss is not None and w.at_stop_loss < 0 < (w.at_take_profit or 0)
    assert "at Stop-loss ₹780.00: -₹" in w.text and "at Take-profit ₹830.00: +₹" in w.text
    assert "cash after ₹" in w.text and "(net of charges)" in w.text
    fills_before = len(s.engine.fills)
    assert what_if(s, t) == w  # previewing changes nothing
    assert len(s.engine.fills) == fills_before

    result = submit(s, t)
    assert result.ok, result.text
    fill = s.engine.fills[-1]
    assert fill.price_paise == w.fill and fill.charges.total == w.charges
    assert s.engine.cash_paise == w.cash_after
    assert s.engine.orders[0].source == "widget"
    assert result.text.startswith(f"Bought 10 {SYM} at ₹")
    assert "Stop-loss ₹780.00 and Take-profit ₹830.00 attached" in result.text


async def test_sell_what_if_uses_the_bid_and_mirrors_the_brackets(session: Session) -> None:
    s = session
    bid = _top(s)[0]
    w = what_if(s, TicketInput(SYM, Side.SELL, 5, stop_loss="830", take_profit="780"))
    assert w.ok and w.fill == bid and w.basis == "at the bid"
    assert w.cash_after == s.engine.cash_paise + 5 * bid - (w.charges or 0)
    assert (w.at_stop_loss or 0) < 0 < (w.at_take_profit or 0)
    wrong = what_if(s, TicketInput(SYM, Side.SELL, 5, stop_loss="700"))
    assert not wrong.ok and "must be above the entry" in wrong.text


async def test_limit_and_stop_orders(session: Session) -> None:
    s = session
    ask = _top(s)[1]
    resting = what_if(s, TicketInput(SYM, Side.BUY, 1, OrderKind.LIMIT, limit_price="700"))
    assert resting.ok and resting.fill == 70000 and resting.basis == "rests at the limit"
    far = f"{(ask + 1000) / 100:.2f}"
    crossing = what_if(s, TicketInput(SYM, Side.BUY, 1, OrderKind.LIMIT, limit_price=far))
    assert crossing.fill == ask and crossing.basis.startswith("marketable now")
    slm = what_if(s, TicketInput(SYM, Side.SELL, 1, OrderKind.SL_M, trigger_price="700"))
    assert slm.fill == 70000 and "gap" in slm.basis
    sl = what_if(
        s, TicketInput(SYM, Side.BUY, 1, OrderKind.SL, limit_price="901", trigger_price="900")
    )
    assert sl.fill == 90100 and "₹900.00 trades" in sl.basis
    # a limit typed while the type is MARKET is ignored, as the ticket greys it out
    assert what_if(s, TicketInput(SYM, Side.BUY, 1, limit_price="abc")).ok


@pytest.mark.parametrize(
    ("ticket", "sentence"),
    [
        (TicketInput(SYM, quantity=0), "Qty must be at least 1 share."),
        (TicketInput(SYM, quantity="2.5"), "Qty must be a whole number of shares; 2.5 is not."),
        (TicketInput(SYM, kind=OrderKind.LIMIT), "A LIMIT order needs a Limit price."),
        (TicketInput(SYM, kind=OrderKind.SL_M), "A SL-M order needs a Trigger price."),
        (
            TicketInput(SYM, kind=OrderKind.LIMIT, limit_price="800.03"),
            "is not a multiple of the ₹0.05 tick",
        ),
        (TicketInput(SYM, kind=OrderKind.LIMIT, limit_price="cheap"), "Limit: 'cheap' is not"),
        (TicketInput(SYM, stop_loss="-5"), "Stop-loss: '-5' is not a rupee amount"),
        (TicketInput(SYM, stop_loss="999999"), "must be below the entry"),
        (TicketInput(SYM, take_profit="1"), "must be above the entry"),
        (TicketInput("NSE:NOPE-EQ"), "No quote for NSE:NOPE-EQ yet."),
    ],
)
async def test_what_if_explains_bad_input(
    session: Session, ticket: TicketInput, sentence: str
) -> None:
    w = what_if(session, ticket)
    assert not w.ok and sentence in w.text, w.text
    assert "Traceback" not in w.text


async def test_cnc_buy_beyond_cash_is_flagged(session: Session) -> None:
    w = what_if(session, TicketInput(SYM, Side.BUY, 2_000, product=Product.CNC))
    assert w.ok and (w.cash_after or 0) < 0 and "more than the free cash" in w.text
    assert w.charges is not None and w.charges > 0


async def test_rejections_come_back_as_the_engines_sentence(session: Session) -> None:
    s = session
    r = submit(s, TicketInput(SYM, quantity=-3))
    assert not r.ok and r.code == "INVALID_QUANTITY"
    assert r.text == "Not sent: Qty must be at least 1 share."
    r = submit(s, TicketInput(SYM, kind=OrderKind.LIMIT, limit_price="abc"))
    assert not r.ok and r.code == "INVALID_PRICE" and r.text.startswith("Not sent: Limit:")
    r = submit(s, TicketInput("NSE:NIFTY50-INDEX"))
    assert not r.ok and "indices cannot be traded" in r.text
    s.kill_switch(KillSwitch.HALTED)
    r = submit(s, TicketInput(SYM))
    assert (r.ok, r.code) == (False, "KILL_SWITCH") and "halted" in r.text
    assert s.engine.orders == []
    await s.close()
    r = submit(s, TicketInput(SYM))
    assert not r.ok and "is closed" in r.text


async def test_resting_order_is_described(session: Session) -> None:
    r = submit(session, TicketInput(SYM, Side.BUY, 3, OrderKind.LIMIT, limit_price="700"))
    assert r.ok and r.text.endswith("is resting: buy 3 NSE:SBIN-EQ LIMIT at ₹700.00.")
    order = session.engine.open_orders()[0]
    session.engine.cancel(order.order_id)
    ok, text = describe(order)
    assert not ok and text.startswith(f"Order {order.order_id} cancelled")
