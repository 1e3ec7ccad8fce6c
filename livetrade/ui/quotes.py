"""Quote board: the watched symbols with LTP, change %, bid/ask and volume; add/remove symbols.

The whole board is one HTML table, so a redraw is one widget message however many symbols
are watched. Change % is measured from the oldest tick the stream still keeps for the symbol
(the session's opening price until the history ring wraps); it is read once per symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.errors import LiveTradeError
from livetrade.ui.common import (
    ActionResult,
    Cell,
    clock_text,
    group_indian,
    hold_sync,
    html_table,
    ipywidgets,
    pct,
    price,
    run_action,
    rupees_to_paise,
)

if TYPE_CHECKING:
    from livetrade.session import Session

HEADERS = ("symbol", "LTP", "chg %", "bid", "ask", "volume", "time")


@dataclass(frozen=True, slots=True)
class QuoteRow:
    """One watched symbol (prices in paise; ``None`` until its first tick)."""

    symbol: str
    last: int | None
    change: str
    bid: int | None
    ask: int | None
    volume: int | None
    time: str

    def cells(self) -> tuple[Cell, ...]:
        chg_cls = {"+": "lt-pos", "-": "lt-neg"}.get(self.change[:1], "")
        return (
            Cell(self.symbol, "lt-sym"),
            Cell(price(self.last), "lt-ltp"),
            Cell(self.change, chg_cls),
            Cell(price(self.bid)),
            Cell(price(self.ask)),
            Cell("–" if self.volume is None else group_indian(self.volume)),
            Cell(self.time),
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
        """The oldest kept LTP of ``symbol`` (cached after the first read)."""
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
            ref = self.reference(sym)
            change = pct(last - ref, ref) if ref else "–"
            rows.append(QuoteRow(sym, last, change, bid, ask, self._volume(sym), clock_text(ts)))
        return QuoteBoardView(tuple(rows))

    def _volume(self, symbol: str) -> int | None:
        q = self.session.stream.quote(symbol)
        return None if q is None else q.volume

    def add(self, symbol: str) -> ActionResult:
        """Watch ``symbol``; on the simulated market an unknown symbol starts trading at ₹1000."""

        def act() -> str:
            sym = symbol.strip().upper()
            if not sym:
                raise LiveTradeError("Type a symbol such as NSE:SBIN-EQ.")
            if ":" not in sym:
                raise LiveTradeError(f"{sym!r} is not a Fyers symbol such as NSE:SBIN-EQ.")
            if sym in self.watched:
                return f"{sym} is already on the board."
            if sym not in self.session.symbols:
                if self.session.market is None:
                    raise LiveTradeError(f"{sym} is not in this replay.")
                self.session.add_symbol(sym)
                self.watched.append(sym)
                return f"Watching {sym} (new to the simulated market: starts at ₹1000.00)."
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
    """Thin adapter: the table, and a text box with Add/Remove buttons."""

    def __init__(self, model: QuoteBoardModel) -> None:
        w = ipywidgets()

        self.model = model
        self.table: Any = w.HTML(value="")
        self.table.add_class("lt-quotes")
        self.symbol: Any = w.Text(
            placeholder="NSE:SYMBOL-EQ", layout=w.Layout(width="170px"), continuous_update=False
        )
        self.add_button: Any = w.Button(
            description="Add", icon="plus", layout=w.Layout(width="80px")
        )
        self.remove_pick: Any = w.Dropdown(
            options=list(model.watched), layout=w.Layout(width="190px")
        )
        self.remove_button: Any = w.Button(
            description="Remove", icon="minus", layout=w.Layout(width="95px")
        )
        self.message: Any = w.HTML(value="")
        self.add_button.on_click(lambda _b: self._apply(self.model.add(self.symbol.value)))
        self.remove_button.on_click(
            lambda _b: self._apply(self.model.remove(self.remove_pick.value or ""))
        )
        controls = w.HBox([self.symbol, self.add_button, self.remove_pick, self.remove_button])
        self.widget: Any = w.VBox(
            [w.HTML("<b>Quotes</b>"), self.table, controls, self.message],
            layout=w.Layout(flex="1 1 0%", min_width="400px", overflow="auto"),
        )
        self.widget.add_class("lt-panel")
        self.on_watch_change: Any = None

    def _apply(self, result: ActionResult) -> None:
        self.message.value = result.html()
        if result.ok:
            self.symbol.value = ""
            self.refresh_options()
            if self.on_watch_change is not None:
                self.on_watch_change()

    def refresh_options(self) -> None:
        opts = list(self.model.watched)
        if list(self.remove_pick.options) != opts:
            self.remove_pick.options = opts

    def update(self, view: QuoteBoardView) -> None:
        with hold_sync(self.table):
            self.table.value = view.html()
