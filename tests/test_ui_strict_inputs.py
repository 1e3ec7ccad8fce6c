"""Issue 19 (a): the ticket never guesses. Qty is whole shares or a sentence naming "Qty";
prices take Indian and plain grouping; one click is one order; the ticket starts clean."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

import livetrade as lt
from livetrade.fmt import inr, parse_quantity, parse_rupees
from livetrade.model import KillSwitch, OrderKind, Side
from livetrade.session import Session
from livetrade.ui.common import dashboard_sentence
from livetrade.ui.dashboard import Dashboard
from livetrade.ui.ticket import INFLIGHT_MIN_S, TicketInput, submit, what_if

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
        journal=False, feed="sim", seed=3, realtime=False, name=f"ui-strict-{next(_names)}"
    )
    await s.run_for(ticks=60)
    yield s
    await s.close()


@pytest.fixture
async def dash(session: Session) -> AsyncIterator[Dashboard]:
    d = Dashboard(session, clock=Clock(), start=False)
    yield d
    d.close()


def _advance(d: Dashboard, seconds: float = 1.0) -> None:
    clock = d._clock
    assert isinstance(clock, Clock)
    clock.now += seconds
    d.flush()


@pytest.mark.parametrize(
    ("text", "qty"), [("1", 1), (" 25 ", 25), ("1,000", 1000), ("1,00,000", 100_000)]
)
def test_quantity_accepts_whole_shares(text: str, qty: int) -> None:
    assert parse_quantity(text) == qty


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("2.5", "Qty must be a whole number of shares; 2.5 is not."),
        ("2.", "Qty must be a whole number of shares; 2. is not."),
        ("2.0", "Qty must be a whole number of shares; 2.0 is not."),
        ("abc", "Qty: 'abc' is not a number of shares (type e.g. 10)."),
        ("1e3", "Qty: '1e3' is not a number of shares"),
        ("-3", "Qty: '-3' is not a number of shares"),
        ("0", "Qty must be at least 1 share."),
        ("", "Qty is empty"),
        ("١٢", "is not a number of shares"),  # non-ASCII digits are not shares either
        ("1,0,0", "is not a number of shares"),
    ],
)
def test_quantity_refuses_everything_else_with_a_sentence(text: str, sentence: str) -> None:
    with pytest.raises(ValueError, match="Qty") as err:
        parse_quantity(text)
    assert sentence in str(err.value)


@pytest.mark.parametrize(
    ("text", "rupees"),
    [
        ("800", "800"),
        ("800.05", "800.05"),
        ("1,234.50", "1234.50"),
        ("1,23,456.50", "123456.50"),
        ("₹12,34,567.5", "1234567.5"),
        ("123,456.50", "123456.50"),
    ],
)
def test_prices_accept_indian_and_plain_grouping(text: str, rupees: str) -> None:
    assert parse_rupees(text) == Decimal(rupees)


@pytest.mark.parametrize("text", ["1,2345", "12,34", "1.234.5", "abc", "800.123", "--5"])
def test_prices_refuse_typos(text: str) -> None:
    with pytest.raises(ValueError, match=r"^Limit"):
        parse_rupees(text, "Limit")


@pytest.mark.parametrize(
    ("value", "sign", "text"),
    [
        (-123456750, False, "-₹12,34,567.50"),
        (960, True, "+₹9.60"),
        (0, True, "₹0.00"),
        (Decimal("9.6"), True, "+₹9.60"),
        (Decimal("-0.005"), False, "-₹0.01"),
        (None, False, "–"),
    ],
)
def test_one_money_format(value: int | Decimal | None, sign: bool, text: str) -> None:
    assert inr(value, sign=sign) == text


def test_engine_sentences_use_the_tickets_names_and_the_money_format() -> None:
    assert dashboard_sentence(
        "Stop-loss ₹123456.5 must be below the entry price ₹800.05 for a buy."
    ) == ("Stop-loss ₹1,23,456.50 must be below the entry price ₹800.05 for a buy.")
    assert dashboard_sentence("A LIMIT order needs a limit_price.") == (
        "A LIMIT order needs a Limit."
    )
    assert "stop_loss_price" not in dashboard_sentence("stop_loss_price ₹1 is bad.")


async def test_ticket_parses_grouped_prices_like_the_engine(session: Session) -> None:
    # INFY (~₹1,500): a grouped price inside the day's circuit band (SBIN's stops near ₹960)
    t = TicketInput("NSE:INFY-EQ", Side.BUY, "2", OrderKind.LIMIT, limit_price="1,450.00")
    w = what_if(session, t)
    assert w.ok and w.fill is not None and "Buy 2 NSE:INFY-EQ" in w.text
    r = submit(session, t)
    assert r.ok, r.text
    order = session.engine.orders[-1]
    assert order.quantity == 2


async def test_typed_key_by_key_and_pasted_decimal_qty_places_nothing(dash: Dashboard) -> None:
    s, t = dash.session, dash.ticket
    for typed in ("2", "2.", "2.5"):  # a Text box sends every keystroke, "." included
        t.quantity.value = typed
    _advance(dash)
    assert "Qty must be a whole number of shares; 2.5 is not." in t.whatif.value
    t.buy.click()
    assert "Not sent: Qty must be a whole number of shares; 2.5 is not." in t.result.value
    assert s.engine.orders == [] and not t.busy  # nothing in flight: Buy stays usable
    t.quantity.value = "1.5"  # pasted in one go
    t.sell.click()
    assert "1.5 is not" in t.result.value and s.engine.orders == []
    t.quantity.value = "abc"
    t.buy.click()
    assert "Qty: &#x27;abc&#x27; is not a number of shares" in t.result.value
    assert t.quantity.value == "abc"  # never snaps back silently
    assert s.engine.orders == []


async def test_a_double_click_places_one_order(dash: Dashboard) -> None:
    s, t = dash.session, dash.ticket
    t.buy.click()
    assert t.buy.disabled and t.sell.disabled and t.busy
    t.buy.click()  # the second click of a double-click, already on its way
    t.sell.click()
    assert len(s.engine.orders) == 1 and t.ignored_clicks == 2
    _advance(dash, INFLIGHT_MIN_S / 2)
    assert t.buy.disabled  # still within the minimum
    _advance(dash, INFLIGHT_MIN_S)
    assert not t.buy.disabled and not t.busy
    t.buy.click()
    assert len(s.engine.orders) == 2  # a deliberate second click later is a second order


async def test_exits_do_not_carry_over_and_old_errors_clear(dash: Dashboard) -> None:
    s, t = dash.session, dash.ticket
    ask = s.stream.top(SYM)
    assert ask is not None
    t.stop_loss.value = "780"
    t.take_profit.value = "830"
    t.buy.click()
    assert "Stop-loss ₹780.00 and Take-profit ₹830.00 attached" in t.result.value
    assert t.stop_loss.value == "" and t.take_profit.value == ""
    _advance(dash)
    t.side.value = "SELL"  # a sell next: the old exits would have blocked it
    t.sell.click()
    assert "lt-ok" in t.result.value, t.result.value

    _advance(dash)
    dash.status.halt.click()
    t.buy.click()
    assert "Rejected: Trading is halted" in t.result.value
    dash.status.resume.click()
    assert t.result.value == ""  # the halt is over, so is its red sentence
    assert "Trading resumed." in dash.status.message.value
    assert s.engine.kill_switch is KillSwitch.ACTIVE
    _advance(dash)
    t.quantity.value = "x"
    t.buy.click()
    assert "lt-err" in t.result.value
    t.quantity.value = "3"  # editing the box clears a red sentence about it
    assert t.result.value == ""
