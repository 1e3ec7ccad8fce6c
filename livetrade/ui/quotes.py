"""Quote board: the watched symbols with LTP, the day's change and range, bid/ask and volume;
add/remove symbols.

The whole board is one table widget, so a redraw is one widget message however many symbols
are watched, and only the cells whose text changed are touched in the browser (a selection
survives); a click on a row puts that symbol on the ticket. The day's change is measured
against the previous close and the high/low are the day's, both from ``session.day_stats``
(the opening quotes, the simulated past, the ticks of the day). A feed that gives no previous
close (a replay) measures the change from the oldest tick the stream still keeps. Columns a
narrow board cannot hold hide, least needed first (the dashboard's container queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.depth import DayStats
from livetrade.errors import LiveTradeError
from livetrade.fmt import group_indian, inr, parse_rupees
from livetrade.ui.common import (
    ActionResult,
    Cell,
    clock_text,
    html_table,
    ipywidgets,
    pct,
    price,
    run_action,
    rupees_to_paise,
    sign_class,
)
from livetrade.ui.table import TableWidget

if TYPE_CHECKING:
    from livetrade.session import Session

HEADERS = (
    "symbol", "LTP ₹", "chg ₹", "chg %", "high ₹", "low ₹", "bid ₹", "ask ₹", "volume", "time",
)  # fmt: skip
COLUMNS = ("symbol", "ltp", "chgabs", "chg", "high", "low", "bid", "ask", "volume", "time")
SIM_START = "1000.00"


@dataclass(frozen=True, slots=True)
class QuoteRow:
    """One watched symbol (prices in paise; ``None`` until its first tick)."""

    symbol: str
    last: int | None
    change: str  # percent vs the previous close
    bid: int | None
    ask: int | None
    volume: int | None
    time: str
    change_paise: int | None = None  # vs the previous close
    high: int | None = None  # the day's
    low: int | None = None

    def cells(self) -> tuple[Cell, ...]:
        chg_cls = {"+": "lt-pos", "-": "lt-neg"}.get(self.change[:1], "")
        return (
            Cell(self.symbol, "lt-sym lt-c-symbol"),
            Cell(price(self.last), "lt-ltp lt-c-ltp"),
            Cell(
                inr(self.change_paise, sign=True, symbol=False),
                f"{sign_class(self.change_paise)} lt-c-chgabs".strip(),
            ),
            Cell(self.change, f"{chg_cls} lt-c-chg".strip()),
            Cell(price(self.high), "lt-c-high"),
            Cell(price(self.low), "lt-c-low"),
            Cell(price(self.bid), "lt-c-bid"),
            Cell(price(self.ask), "lt-c-ask"),
            Cell("–" if self.volume is None else group_indian(self.volume), "lt-c-volume"),
            Cell(self.time, "lt-c-time"),
        )


@dataclass(frozen=True, slots=True)
class QuoteBoardView:
    rows: tuple[QuoteRow, ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(r.symbol for r in self.rows)

    def html(self) -> str:
        return html_table(
            HEADERS, (r.cells() for r in self.rows), css="lt-table lt-quotes-table", empty="—"
        )


class QuoteBoardModel:
    """The board's own state: which symbols it watches and their reference prices."""

    def __init__(self, session: Session, symbols: list[str] | None = None) -> None:
        self.session = session
        self.watched: list[str] = list(symbols if symbols is not None else session.symbols)
        self._reference: dict[str, int] = {}

    def reference(self, symbol: str) -> int | None:
        """The oldest kept LTP of ``symbol`` (cached after the first read): the change's base
        when no previous close is known."""
        ref = self._reference.get(symbol)
        if ref is None:
            lasts = self.session.stream.history(symbol)["last"]
            if lasts:
                ref = rupees_to_paise(lasts[0])
                if ref:
                    self._reference[symbol] = ref
        return ref

    def view(self) -> QuoteBoardView:
        stream = self.session.stream
        rows = []
        for sym in self.watched:
            top = stream.top(sym)
            if top is None:
                rows.append(QuoteRow(sym, None, "–", None, None, None, "–"))
                continue
            bid, ask, last, ts = top
            day = self._day(sym)
            ref = rupees_to_paise(day.prev_close) or self.reference(sym)
            change = pct(last - ref, ref) if ref else "–"
            rows.append(
                QuoteRow(
                    sym, last, change, bid, ask, self._volume(sym), clock_text(ts),
                    None if not ref else last - ref,
                    rupees_to_paise(day.high), rupees_to_paise(day.low),
                )
            )  # fmt: skip
        return QuoteBoardView(tuple(rows))

    def _day(self, symbol: str) -> DayStats:
        try:
            return self.session.day_stats(symbol)
        except LiveTradeError:  # a feed that knows nothing of the day: the columns stay empty
            return DayStats(symbol)

    def _volume(self, symbol: str) -> int | None:
        q = self.session.stream.quote(symbol)
        return None if q is None else q.volume

    def add(self, symbol: str) -> ActionResult:
        """Watch ``symbol``. On the simulated market an unknown symbol has no price of its own:
        ``"NSE:XYZ-EQ @ 250"`` starts it at ₹250.00, otherwise at ₹1,000.00, and the message
        says so (a made-up price must never pass for a real one)."""

        def act() -> str:
            text, _, at = symbol.partition("@")
            sym = text.strip().upper()
            start = parse_rupees(at, "Start price") if at.strip() else None
            if not sym:
                raise LiveTradeError("Type a symbol such as NSE:SBIN-EQ.")
            if ":" not in sym:
                raise LiveTradeError(f"{sym!r} is not a Fyers symbol such as NSE:SBIN-EQ.")
            if sym in self.watched:
                return f"{sym} is already on the board."
            if start is not None and sym in self.session.symbols:
                raise LiveTradeError(f"{sym} already trades; its price is the market's.")
            if sym not in self.session.symbols:
                if self.session.market is None:
                    raise LiveTradeError(f"{sym} is not in this replay.")
                price = start if start is not None else parse_rupees(SIM_START)
                self.session.add_symbol(sym, price)
                self.watched.append(sym)
                how = "the price you gave" if start is not None else "a made-up price"
                hint = "" if start is not None else f" (type '{sym} @ 450' to choose it)"
                return (
                    f"Watching {sym}: new to the simulated market, it starts at {inr(price)}, "
                    f"{how}{hint}."
                )
            self.watched.append(sym)
            return f"Watching {sym}."

        return run_action(act)

    def remove(self, symbol: str) -> ActionResult:
        def act() -> str:
            if symbol not in self.watched:
                raise LiveTradeError(f"{symbol} is not on the board.")
            self.watched.remove(symbol)
            return f"Removed {symbol} from the board."

        return run_action(act)


class QuoteBoard:
    """Thin adapter: the table, and a text box (Enter adds) with Add/Remove buttons."""

    def __init__(self, model: QuoteBoardModel) -> None:
        w = ipywidgets()

        self.model = model
        self.table = TableWidget("lt-table lt-quotes-table", empty="—")
        self.table.widget.add_class("lt-quotes")
        self.table.widget.add_class("lt-container")
        self.table.on_click = self._clicked
        fixed = w.Layout(width="auto", flex="0 0 auto")
        self.symbol: Any = w.Text(
            placeholder="NSE:SYMBOL-EQ (@ price)",
            layout=w.Layout(width="auto", flex="1 1 120px", min_width="0"),
            continuous_update=False,
        )
        self.add_button: Any = w.Button(description="Add", icon="plus", layout=fixed)
        self.remove_pick: Any = w.Dropdown(
            options=list(model.watched), layout=w.Layout(width="auto", flex="1 1 120px",
                                                         min_width="0"),
        )  # fmt: skip
        self.remove_button: Any = w.Button(description="Remove", icon="minus", layout=fixed)
        self.message: Any = w.HTML(value="")
        self._just_added = False
        self.symbol.observe(self._entered, names="value")
        self.add_button.on_click(lambda _b: self._add_clicked())
        self.remove_button.on_click(
            lambda _b: self._apply(self.model.remove(self.remove_pick.value or ""))
        )
        controls = w.Box(
            [self.symbol, self.add_button, self.remove_pick, self.remove_button],
            layout=w.Layout(width="100%", min_width="0"),
        )
        controls.add_class("lt-actions")
        self.widget: Any = w.VBox(
            [w.HTML("<b>Quotes</b> <span class='lt-muted'>(click a row to trade it)</span>"),
             self.table.widget, controls, self.message],
            layout=w.Layout(min_width="0"),
        )  # fmt: skip
        self.widget.add_class("lt-panel")
        self.widget.add_class("lt-quotes-panel")
        self.on_watch_change: Any = None
        self.on_pick: Any = None

    def _entered(self, change: dict[str, Any]) -> None:
        """Enter (or leaving the box) with a symbol typed adds it."""
        if str(change.get("new") or "").strip():
            self._just_added = False
            self._apply(self.model.add(self.symbol.value), added=True)

    def _add_clicked(self) -> None:
        if not self.symbol.value.strip() and self._just_added:
            return  # the box's own change (blur on the way to this button) already added it
        self._apply(self.model.add(self.symbol.value))

    def _clicked(self, symbol: str) -> None:
        if self.on_pick is not None and symbol in self.model.watched:
            self.on_pick(symbol)

    def _apply(self, result: ActionResult, added: bool = False) -> None:
        self.message.value = result.html()
        if result.ok:
            self._just_added = added
            self.symbol.value = ""
            self.refresh_options()
            if self.on_watch_change is not None:
                self.on_watch_change()

    def refresh_options(self) -> None:
        opts = list(self.model.watched)
        if list(self.remove_pick.options) != opts:
            self.remove_pick.options = opts

    def select(self, symbol: str) -> None:
        self.table.select(symbol)

    def set_enabled(self, enabled: bool) -> None:
        for b in (self.symbol, self.add_button, self.remove_pick, self.remove_button):
            b.disabled = not enabled

    def update(self, view: QuoteBoardView) -> None:
        self.table.show(
            [Cell(h, f"lt-c-{c}") for h, c in zip(HEADERS, COLUMNS, strict=True)],
            ((r.symbol, r.cells()) for r in view.rows),
        )
