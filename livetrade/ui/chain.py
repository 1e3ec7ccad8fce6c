"""Option-chain panel: strikes around the money, calls left and puts right, a click on a bid
or an ask loads the ticket.

The numbers come from :func:`livetrade.chain.option_chain` (IV and Greeks for the whole chain
in one numpy pass), drawn as one table widget: one comm message per redraw, only changed cells
touched in the browser. Clicking a call's or put's Bid loads the ticket to Sell that contract,
its Ask to Buy it, one lot; any other cell of a side loads the contract alone.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from livetrade.chain import option_chain
from livetrade.errors import LiveTradeError
from livetrade.instruments import InstrumentKind
from livetrade.model import Side
from livetrade.ui.common import Cell, hold_sync, ipywidgets
from livetrade.ui.table import TableWidget

if TYPE_CHECKING:
    from livetrade.chain import OIFn
    from livetrade.session import Session

CALL_COLUMNS = ("oi", "oi_change", "iv", "delta", "ltp", "bid", "ask")
PUT_COLUMNS = ("bid", "ask", "ltp", "delta", "iv", "oi_change", "oi")
"""NSE's layout: each side mirrored about the strike, except that Bid stays left of Ask."""
TITLES = {"oi_change": "OI chg", "oi": "OI", "iv": "IV %", "delta": "Δ", "ltp": "LTP",
          "bid": "Bid", "ask": "Ask"}  # fmt: skip
HEADERS = (
    *(Cell(TITLES[c], f"lt-call lt-c-{c.replace('_', '-')}") for c in CALL_COLUMNS),
    Cell("Strike", "lt-strike"),
    *(Cell(TITLES[c], f"lt-put lt-c-{c.replace('_', '-')}") for c in PUT_COLUMNS),
)
STRIKE_COL = len(CALL_COLUMNS)
CHAIN_CSS = """<style>
.livetrade-dashboard .lt-chain-table td, .livetrade-dashboard .lt-chain-table th {
  padding: 1px 3px; }
.livetrade-dashboard .lt-chain-table th.lt-call, .livetrade-dashboard .lt-chain-table th.lt-put,
.livetrade-dashboard .lt-chain-table th.lt-strike { text-align: center; }
.livetrade-dashboard .lt-chain-table td.lt-strike,
.livetrade-dashboard .lt-chain-table th.lt-strike { text-align: center; font-weight: 600;
  background: #f6f8fa; border-left: 1px solid #d0d7de; border-right: 1px solid #d0d7de; }
.livetrade-dashboard .lt-chain-table td.lt-itm { background: #fff8e1; }
.livetrade-dashboard .lt-chain-table td.lt-atm, .livetrade-dashboard .lt-chain-table
  td.lt-strike.lt-atm { background: #ddf4ff; border-top: 1px solid #54aeff;
  border-bottom: 1px solid #54aeff; }
.livetrade-dashboard .lt-chain-table td.lt-click { cursor: pointer; font-weight: 600; }
.livetrade-dashboard .lt-chain-table td.lt-bid { color: #0969da; }
.livetrade-dashboard .lt-chain-table td.lt-ask { color: #cf222e; }
.livetrade-dashboard .lt-chain-table td.lt-click:hover { outline: 1px solid #57606a;
  background: #ffffff; }
.livetrade-dashboard .lt-chain-table tr.lt-selected { background: none; }
.livetrade-dashboard .lt-chain-controls .widget-dropdown { width: auto; }
.livetrade-dashboard .lt-chain-title { flex: 1 1 auto; min-width: 0; }
.livetrade-dashboard .lt-chain-title .widget-html-content { white-space: normal;
  line-height: 1.3; height: auto; }
@container (max-width: 820px) { .livetrade-dashboard .lt-chain .lt-c-oi-change {
  display: none; } }
@container (max-width: 640px) { .livetrade-dashboard .lt-chain .lt-c-delta { display: none; } }
@container (max-width: 500px) { .livetrade-dashboard .lt-chain .lt-c-ltp { display: none; } }
@container (max-width: 900px) { .livetrade-dashboard .lt-positions .lt-c-gamma,
  .livetrade-dashboard .lt-positions .lt-c-sl, .livetrade-dashboard .lt-positions .lt-c-tp {
  display: none; } }
@container (max-width: 640px) { .livetrade-dashboard .lt-positions .lt-c-vega,
  .livetrade-dashboard .lt-positions .lt-c-dte { display: none; } }
</style>"""
"""The chain's look: calls and puts about a shaded strike column, in-the-money cells tinted,
the at-the-money row outlined, Bid (blue, sells) and Ask (red, buys) clickable."""
STRIKE_CHOICES = (10, 16, 24, 40)


def compact(units: float, sign: bool = False) -> str:
    """Open interest as Indian traders read it: lakhs (L) and crores (Cr) of units."""
    if not math.isfinite(units):
        return "–"
    a = abs(units)
    text = (
        f"{a / 1e7:.2f}Cr" if a >= 1e7 else f"{a / 1e5:.1f}L" if a >= 1e5 else f"{a / 1e3:.1f}K"
        if a >= 1e3 else f"{a:.0f}"
    )  # fmt: skip
    if units < 0:
        return "-" + text
    return ("+" + text) if sign and units > 0 else text


def _num(v: float, fmt: str) -> str:
    return format(v, fmt) if math.isfinite(v) else "–"


def underlyings(session: Session) -> list[str]:
    """Underlyings with options listed in the session's instrument registry."""
    return sorted(
        {
            i.underlying
            for i in session.engine.instruments
            if i.kind is InstrumentKind.OPTION and i.underlying
        }
    )


def open_interest_source(session: Session) -> OIFn | None:
    """The simulated market's open interest, when the session lists simulated derivatives."""
    sim = getattr(session, "derivatives", None)
    return None if sim is None else sim.open_interest


@dataclass(frozen=True, slots=True)
class ChainView:
    """What the chain panel shows: ``rows`` as ``(strike key, cells)``, the symbols per row
    (call, put) so a click resolves to a contract, and the line above the table."""

    title: str
    rows: tuple[tuple[str, tuple[Cell, ...]], ...] = ()
    symbols: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    expiries: tuple[str, ...] = ()
    expiry: str = ""
    atm: str = ""
    error: str = ""

    def text(self) -> str:
        return "\n".join(" | ".join(c.text for c in cells) for _k, cells in self.rows)


def _expiries(session: Session, underlying: str) -> list[datetime]:
    now = session.now
    return sorted(
        {
            i.expiry
            for i in session.engine.instruments
            if i.kind is InstrumentKind.OPTION
            and i.underlying == underlying
            and i.expiry is not None
            and i.expiry > now
        }
    )


def chain_view(session: Session, underlying: str, expiry: str = "", strikes: int = 16) -> ChainView:
    """The chain of ``underlying`` at ``expiry`` (``"%Y-%m-%d"``; blank: the nearest)."""
    listed = _expiries(session, underlying)
    labels = tuple(e.date().isoformat() for e in listed)
    if not listed:
        return ChainView(f"No live options on {underlying}.", error="no options")
    pick = expiry if expiry in labels else labels[0]
    when = listed[labels.index(pick)]
    try:
        frame = option_chain(
            session.engine.instruments, session.stream.quote, underlying, session.now,
            expiry=when, strikes=strikes, oi=open_interest_source(session),
        )  # fmt: skip
    except LiveTradeError as exc:
        return ChainView(str(exc), expiries=labels, expiry=pick, error=str(exc))
    a = frame.attrs
    forward, spot, t = float(a["forward"]), float(a["spot"]), float(a["t"])
    rows: list[tuple[str, tuple[Cell, ...]]] = []
    symbols: dict[str, tuple[str | None, str | None]] = {}
    atm_key = ""
    cols = {name: frame[name].to_numpy() for name in frame.columns}
    for i, strike in enumerate(frame.index.to_numpy()):
        key = f"{strike:g}"
        atm = bool(cols["atm"][i])
        atm_key = key if atm else atm_key
        cells: list[Cell] = []
        for side, columns in (("call", CALL_COLUMNS), ("put", PUT_COLUMNS)):
            itm = strike < forward if side == "call" else strike > forward
            base = f"lt-{side}" + (" lt-itm" if itm else "") + (" lt-atm" if atm else "")
            side_cells = []
            for c in columns:
                v = float(cols[f"{side}_{c}"][i])
                text = (
                    compact(v, sign=True) if c == "oi_change"
                    else compact(v) if c == "oi"
                    else _num(v * 100, ".1f") if c == "iv"
                    else _num(v, ".2f") if c == "delta"
                    else _num(v, ",.2f") if v > 0 else "–"
                )  # fmt: skip
                extra = (
                    " lt-bid lt-click" if c == "bid" else " lt-ask lt-click" if c == "ask" else ""
                )
                if c == "oi_change" and math.isfinite(v) and v:
                    extra += " lt-pos" if v > 0 else " lt-neg"
                side_cells.append(Cell(text, f"{base} lt-c-{c.replace('_', '-')}{extra}"))
            if side == "call":
                cells += side_cells
                cells.append(Cell(f"{strike:,.0f}", "lt-strike" + (" lt-atm" if atm else "")))
            else:
                cells += side_cells
        rows.append((key, tuple(cells)))
        call_sym, put_sym = cols["call_symbol"][i], cols["put_symbol"][i]
        symbols[key] = (call_sym, put_sym)
    days = t * 365.0
    title = (
        f"{underlying} {_num(spot, ',.2f')} · forward {_num(forward, ',.2f')} · expiry "
        f"{when:%d %b %H:%M} ({days:.1f} days) · ATM {atm_key}"
    )
    return ChainView(title, tuple(rows), symbols, labels, pick, atm_key)


def resolve_click(view: ChainView, key: str, col: int) -> tuple[str, Side | None] | None:
    """The contract and side a click on row ``key``, column ``col`` asks for: a Bid sells, an
    Ask buys, another cell of a side only picks the contract; the strike column nothing."""
    pair = view.symbols.get(key)
    if pair is None or col == STRIKE_COL or not 0 <= col < len(HEADERS):
        return None
    if col < STRIKE_COL:
        symbol, name = pair[0], CALL_COLUMNS[col]
    else:
        symbol, name = pair[1], PUT_COLUMNS[col - STRIKE_COL - 1]
    if symbol is None:
        return None
    side = Side.SELL if name == "bid" else Side.BUY if name == "ask" else None
    return symbol, side


class ChainPanel:
    """Thin adapter: underlying, expiry and strike-count pickers, the line above the table,
    the table. ``on_pick(symbol, side)`` hears a click that names a contract."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()
        self.session = session
        names = underlyings(session)

        def box(width: str) -> Any:  # "auto" cut the names short in JupyterLab
            return w.Layout(width=width, min_width="0", flex="0 0 auto")

        self.underlying: Any = w.Dropdown(
            options=names, value=names[0] if names else None, layout=box("180px")
        )
        self.expiry: Any = w.Dropdown(options=[], layout=box("120px"))
        self.strikes: Any = w.Dropdown(
            options=[(f"{n} strikes", n) for n in STRIKE_CHOICES], value=16, layout=box("105px")
        )
        self.title: Any = w.HTML(value="")
        self.title.add_class("lt-chain-title")
        self.table = TableWidget("lt-table lt-chain-table", empty="No option chain.")
        self.table.widget.add_class("lt-chain")
        self.table.widget.add_class("lt-container")
        self.table.on_cell = self._clicked
        self.table.widget.click_scroll = ".lt-ticket"  # the ticket it loads comes into view
        self.on_pick: Callable[[str, Side | None], None] | None = None
        self.on_change: Callable[[], None] | None = None
        self._view = ChainView("")
        for picker in (self.underlying, self.expiry, self.strikes):
            picker.observe(self._changed, names="value")
        controls = w.HBox(
            [self.underlying, self.expiry, self.strikes, self.title],
            layout=w.Layout(width="100%", min_width="0", align_items="center"),
        )
        controls.add_class("lt-chain-controls")
        self.widget: Any = w.VBox([controls, self.table.widget], layout=w.Layout(min_width="0"))
        self.widget.add_class("lt-chain-panel")

    @property
    def symbols(self) -> set[str]:
        """The contracts on screen and the underlying: their ticks make the panel dirty."""
        out = {s for pair in self._view.symbols.values() for s in pair if s}
        if self.underlying.value:
            out.add(self.underlying.value)
        return out

    def view(self) -> ChainView:
        return chain_view(
            self.session, self.underlying.value or "", self.expiry.value or "",
            int(self.strikes.value),
        )  # fmt: skip

    def _changed(self, _change: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change()

    def _clicked(self, key: str, col: int) -> None:
        picked = resolve_click(self._view, key, col)
        if picked is not None and self.on_pick is not None:
            self.on_pick(*picked)

    def update(self, view: ChainView) -> None:
        self._view = view
        if tuple(self.expiry.options) != view.expiries:
            self.expiry.options = view.expiries
        if view.expiry and self.expiry.value != view.expiry:
            self.expiry.value = view.expiry
        title = f'<span class="lt-muted">{html.escape(view.title)}</span>'
        with hold_sync(self.title):
            if self.title.value != title:
                self.title.value = title
        self.table.show(HEADERS, view.rows)
        if view.atm:
            self.table.select(view.atm)

    def set_enabled(self, enabled: bool) -> None:
        for picker in (self.underlying, self.expiry, self.strikes):
            picker.disabled = not enabled
