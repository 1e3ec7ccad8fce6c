"""Shared pieces of the UI: prices in tables, the engine's sentences in the dashboard's
words, HTML tables and the result of a button's action.

Nothing here imports ipywidgets: view-models and their tests use it without a frontend.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from livetrade.errors import LiveTradeError, OrderRejected
from livetrade.fmt import group_indian as group_indian
from livetrade.fmt import inr as inr
from livetrade.model import ns_to_datetime

log = logging.getLogger("livetrade.ui")


def price(paise: int | None) -> str:
    """A price in a table column whose header says ₹: ``inr`` without the symbol."""
    return inr(paise, symbol=False)


FIELD_NAMES = {
    "stop_loss_price": "Stop-loss",
    "take_profit_price": "Take-profit",
    "limit_price": "Limit",
    "trigger_price": "Trigger",
    "quantity": "Qty",
    "Quantity": "Qty",
    "symbol": "Symbol",
}
"""The engine's field names → the labels the ticket shows, so one input has one name."""

_FIELD = re.compile(r"\b(" + "|".join(sorted(FIELD_NAMES, key=len, reverse=True)) + r")\b")
_RUPEES = re.compile(r"₹(-?[0-9][0-9,]*(?:\.[0-9]+)?)")


def dashboard_sentence(text: str) -> str:
    """An engine sentence in the dashboard's words: its field names become the ticket's labels
    and its rupee amounts the one money format (``₹123456.5`` → ``₹1,23,456.50``)."""
    text = _FIELD.sub(lambda m: FIELD_NAMES[m.group(1)], text)
    return _RUPEES.sub(lambda m: inr(Decimal(m.group(1).replace(",", ""))), text)


def rupees_to_paise(value: Decimal | None) -> int | None:
    """Exact ``Decimal`` rupees (two decimals) back to paise."""
    return None if value is None else int(value.scaleb(2).to_integral_value())


def pct(num: int, den: int) -> str:
    """``num/den`` as a signed percentage with two decimals (``'+0.25%'``, ``'0.00%'``)."""
    if den == 0:
        return "–"
    value = (Decimal(num * 100) / Decimal(den)).quantize(Decimal("0.01"))
    return "0.00%" if value == 0 else f"{value:+.2f}%"  # never "-0.00%"


def clock_text(ts_ns: int) -> str:
    """Market time of day in Asia/Kolkata."""
    return ns_to_datetime(ts_ns).strftime("%H:%M:%S")


def sign_class(paise: int | None) -> str:
    if not paise:
        return ""
    return "lt-pos" if paise > 0 else "lt-neg"


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: text plus an optional CSS class (gain/loss colouring)."""

    text: str
    css: str = ""


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | str]],
    *,
    css: str = "lt-table",
    empty: str = "",
) -> str:
    """A small escaped HTML table; numbers are right-aligned by the dashboard's stylesheet."""
    body = []
    for row in rows:
        tds = []
        for c in row:
            cell = c if isinstance(c, Cell) else Cell(c)
            cls = f' class="{cell.css}"' if cell.css else ""
            tds.append(f"<td{cls}>{html.escape(cell.text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    if not body and empty:
        span = max(1, len(headers))
        body.append(f'<tr><td class="lt-empty" colspan="{span}">{html.escape(empty)}</td></tr>')
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return (
        f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a button did, as the panel shows it: a sentence, never a traceback."""

    ok: bool
    text: str
    code: str = ""

    def html(self) -> str:
        cls = "lt-ok" if self.ok else "lt-err"
        return f'<span class="{cls}">{html.escape(self.text)}</span>'


def run_action(fn: Callable[[], str]) -> ActionResult:
    """Run a button's action; a rejection or error becomes its sentence (logged, not raised),
    because an exception escaping a widget callback only reaches the kernel log."""
    try:
        return ActionResult(True, fn())
    except OrderRejected as rej:
        return ActionResult(False, f"Rejected: {dashboard_sentence(rej.reason)}", rej.code)
    except LiveTradeError as exc:
        return ActionResult(False, dashboard_sentence(str(exc)), type(exc).__name__)
    except Exception as exc:  # a bug must still not surface as a traceback in the panel
        log.exception("UI action failed")
        return ActionResult(False, f"Failed: {exc}", type(exc).__name__)


def ipywidgets() -> Any:
    """``ipywidgets``, imported on first use (untyped: adapters treat widgets as ``Any``)."""
    import ipywidgets as w  # type: ignore[import-untyped]

    return w


def plotly_go() -> Any:
    """``plotly.graph_objects``, imported on first use (untyped)."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    return go


@contextmanager
def hold_sync(*widgets: Any) -> Iterator[None]:
    """Batch each widget's trait changes into one comm message (``Widget.hold_sync`` for many)."""
    with ExitStack() as stack:
        for w in widgets:
            stack.enter_context(w.hold_sync())
        yield


def set_if_changed(widget: Any, name: str, value: Any) -> bool:
    """Assign a trait only when it differs (traitlets would not resend it, but this also skips
    the comparison cost of large values and tells the caller whether anything moved)."""
    if getattr(widget, name) == value:
        return False
    setattr(widget, name, value)
    return True
