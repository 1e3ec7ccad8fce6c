"""Formatting and action helpers shared by the panels (no widgets involved)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from livetrade.errors import InvalidInput, OrderRejected
from livetrade.ui.common import (
    ActionResult,
    Cell,
    group_indian,
    html_table,
    inr,
    pct,
    price,
    run_action,
    rupees_to_paise,
)


@pytest.mark.parametrize(
    ("whole", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1,000"),
        (99_999, "99,999"),
        (1_00_000, "1,00,000"),
        (12_34_567, "12,34,567"),
        (1_00_00_000, "1,00,00,000"),
        (-12_34_567, "-12,34,567"),
    ],
)
def test_indian_grouping(whole: int, text: str) -> None:
    assert group_indian(whole) == text


def test_inr_and_price() -> None:
    assert inr(123456789) == "₹12,34,567.89"
    assert inr(-5) == "-₹0.05"
    assert inr(5, sign=True) == "+₹0.05"
    assert inr(0, sign=True) == "₹0.00"
    assert inr(None) == "–"
    assert price(80005) == "800.05"
    assert price(None) == "–"
    assert rupees_to_paise(Decimal("800.05")) == 80005
    assert rupees_to_paise(Decimal("-0.10")) == -10


def test_pct() -> None:
    assert pct(25, 10_000) == "+0.25%"
    assert pct(-1, 3) == "-33.33%"
    assert pct(1, 0) == "–"
    assert pct(-1, 1_000_000) == pct(1, 1_000_000) == "0.00%"


def test_html_table_escapes_and_marks_cells() -> None:
    out = html_table(["a<b"], [[Cell("<x>", "lt-pos")], ["&"]])
    assert "<th>a&lt;b</th>" in out
    assert '<td class="lt-pos">&lt;x&gt;</td>' in out
    assert "<td>&amp;</td>" in out
    assert "lt-empty" in html_table(["a", "b"], [], empty="nothing")


def test_run_action_turns_errors_into_sentences() -> None:
    assert run_action(lambda: "done") == ActionResult(True, "done")

    def rejected() -> str:
        raise OrderRejected("KILL_SWITCH", "Trading is halted.")

    r = run_action(rejected)
    assert (r.ok, r.text, r.code) == (False, "Rejected: Trading is halted.", "KILL_SWITCH")

    def invalid() -> str:
        raise InvalidInput("state", "bad")

    assert run_action(invalid).text == "state: bad"

    def bug() -> str:
        raise ZeroDivisionError("division by zero")

    r = run_action(bug)
    assert not r.ok and r.text == "Failed: division by zero" and "Traceback" not in r.text
    assert r.html() == '<span class="lt-err">Failed: division by zero</span>'


def test_importing_the_ui_and_its_view_models_loads_no_widget_library() -> None:
    code = (
        "import sys, livetrade.ui, livetrade.ui.status, livetrade.ui.ticket, "
        "livetrade.ui.charts\n"
        "bad = [m for m in ('ipywidgets', 'plotly', 'anywidget') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_one_money_format_in_the_html_views_and_the_repr() -> None:
    """Issue 19 item 8: the session's HTML view, the order/position tables and the engine's
    repr use the dashboard's format (Indian grouping, two decimals, sign before the ₹)."""
    import livetrade as lt

    s = await lt.open_session(feed="sim", broker="paper", seed=4, realtime=False, journal=False)
    try:
        await s.run_for(ticks=5)
        await s.buy("NSE:TCS-EQ", 3)
        await s.run_for(ticks=50)
        page = s._repr_html_()
        assert "equity ₹9,99,9" in page and "cash ₹" in page and "999,9" not in page
        assert "<td>3,499.55</td>" in page and "<td>+3.75</td>" in page  # grouped, P&L signed
        assert "equity=₹9,99,9" in repr(s.engine)
    finally:
        await s.close()
