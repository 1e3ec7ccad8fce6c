"""Positions: open positions with LTP, P&L and their exits; totals; Exit and exit changes.

With a futures or options position the table adds lots, days to expiry and each row's net
delta, gamma, theta (₹ a day) and vega (₹ a volatility point) from the option chain
(:func:`livetrade.chain.add_position_greeks`' convention), and the summary line the net Greeks
per underlying; share rows show "–" there (a share's delta is in itself, not an index).

The numbers are one table widget (one message per redraw, only changed cells touched in the
browser). Below it one action row acts on the picked position (a click on its row picks it):
Exit squares it off; Stop-loss / Take-profit move its bracket legs through ``engine.modify``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from livetrade.chain import chain_source, unit_greeks
from livetrade.errors import LiveTradeError, SessionClosed
from livetrade.fmt import parse_rupees, rupees_text
from livetrade.instruments import InstrumentKind
from livetrade.model import OrderKind, Product, Role
from livetrade.ui.common import (
    ActionResult,
    Cell,
    html_table,
    inr,
    ipywidgets,
    price,
    run_action,
    rupees_to_paise,
    sign_class,
)
from livetrade.ui.table import TableWidget

if TYPE_CHECKING:
    from livetrade.session import Session

HEADERS = ("symbol", "product", "qty", "avg ₹", "LTP ₹", "Stop-loss ₹", "Take-profit ₹",
           "unrealized", "realized", "charges")  # fmt: skip
COLUMNS = ("symbol", "product", "qty", "avg", "ltp", "sl", "tp", "unrealized", "realized",
           "charges")  # fmt: skip
FNO_HEADERS = ("lots", "days", "Δ", "Γ", "Θ ₹/day", "vega ₹")
FNO_COLUMNS = ("lots", "dte", "delta", "gamma", "theta", "vega")


def _g(v: float | None, fmt: str) -> str:
    return "–" if v is None or not math.isfinite(v) else format(v, fmt)


@dataclass(frozen=True, slots=True)
class RowGreeks:
    """An F&O row's extras: signed lots, days to expiry, net Greeks (NaN: no volatility)."""

    lots: float
    days: float
    delta: float
    gamma: float
    theta: float
    vega: float

    def cells(self) -> tuple[Cell, ...]:
        lots = f"{self.lots:g}"
        return (
            Cell(lots, "lt-c-lots"),
            Cell(_g(self.days, ".1f"), "lt-c-dte"),
            Cell(_g(self.delta, "+,.1f"), "lt-c-delta"),
            Cell(_g(self.gamma, "+.3f"), "lt-c-gamma"),
            Cell(_g(self.theta, "+,.0f"), f"lt-c-theta {_sgn(self.theta)}".strip()),
            Cell(_g(self.vega, "+,.0f"), "lt-c-vega"),
        )


def _sgn(v: float) -> str:
    if not math.isfinite(v) or v == 0:
        return ""
    return "lt-pos" if v > 0 else "lt-neg"


EMPTY_FNO = tuple(Cell("–", f"lt-c-{c}") for c in FNO_COLUMNS)


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One open (symbol, product) position; money in paise (``avg`` is exact to 4 decimals)."""

    symbol: str
    product: str
    quantity: int
    avg: Decimal
    last: int | None
    unrealized: int
    realized: int
    charges: int
    stop_loss: int | None = None  # the open stop-loss leg's trigger
    take_profit: int | None = None  # the open take-profit leg's limit
    greeks: RowGreeks | None = None  # futures and options only

    @property
    def key(self) -> tuple[str, str]:
        return self.symbol, self.product

    @property
    def key_text(self) -> str:
        return f"{self.symbol} {self.product}"

    def cells(self) -> tuple[Cell, ...]:
        return (
            Cell(self.symbol, "lt-sym lt-c-symbol"),
            Cell(self.product, "lt-c-product"),
            Cell(str(self.quantity), "lt-qty lt-c-qty"),
            Cell(inr(self.avg, symbol=False), "lt-c-avg"),
            Cell(price(self.last), "lt-c-ltp"),
            Cell(price(self.stop_loss), "lt-c-sl"),
            Cell(price(self.take_profit), "lt-c-tp"),
            Cell(inr(self.unrealized, sign=True),
                 f"lt-unrealized lt-c-unrealized {sign_class(self.unrealized)}".strip()),
            Cell(inr(self.realized, sign=True), f"lt-c-realized {sign_class(self.realized)}"),
            Cell(inr(self.charges), "lt-c-charges"),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PositionsView:
    """Open positions plus the engine's account-wide totals (closed positions included)."""

    rows: tuple[PositionRow, ...]
    realized: int  # gross realized P&L, all positions
    unrealized: int
    charges: int
    net: int  # realized - charges + unrealized
    greeks: tuple[tuple[str, float, float, float, float], ...] = ()
    """Per underlying with F&O positions: (underlying, delta, gamma, theta, vega)."""
    margin: int = 0  # blocked by the open positions (engine.funds(): F&O and intraday)

    @property
    def fno(self) -> bool:
        return any(r.greeks is not None for r in self.rows)

    @property
    def headers(self) -> tuple[Cell, ...]:
        cells = [Cell(h, f"lt-c-{c}") for h, c in zip(HEADERS, COLUMNS, strict=True)]
        if self.fno:
            extra = [Cell(h, f"lt-c-{c}") for h, c in zip(FNO_HEADERS, FNO_COLUMNS, strict=True)]
            cells[3:3] = extra[:2]
            cells += extra[2:]
        return tuple(cells)

    def row_cells(self, row: PositionRow) -> tuple[Cell, ...]:
        cells = row.cells()
        if not self.fno:
            return cells
        extra = row.greeks.cells() if row.greeks is not None else EMPTY_FNO
        return (*cells[:3], *extra[:2], *cells[3:], *extra[2:])

    @property
    def greeks_summary(self) -> str:
        parts = [
            f"{u.split(':')[-1]}: Δ {_g(d, '+,.1f')} Γ {_g(g, '+.3f')} "
            f"Θ {inr(round(t * 100), sign=True)}/day vega {inr(round(v * 100), sign=True)}"
            for u, d, g, t, v in self.greeks
        ]
        if len(self.greeks) > 1:
            t = sum(x[3] for x in self.greeks)
            v = sum(x[4] for x in self.greeks)
            parts.append(
                f"portfolio Θ {inr(round(t * 100), sign=True)}/day vega "
                f"{inr(round(v * 100), sign=True)}"
            )
        return " · ".join(parts)

    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        return tuple(r.key for r in self.rows)

    @property
    def summary(self) -> str:
        text = (
            f"realized {inr(self.realized, sign=True)} · unrealized "
            f"{inr(self.unrealized, sign=True)} · charges {inr(self.charges)} · "
            f"net {inr(self.net, sign=True)}"
        )
        if self.margin:
            text += f" · margin blocked {inr(self.margin)}"
        greeks = self.greeks_summary
        return f"{text} — Greeks {greeks}" if greeks else text

    def html(self) -> str:
        table = html_table(
            [h.text for h in self.headers], (self.row_cells(r) for r in self.rows),
            css="lt-table lt-positions-table",
            empty="No open positions.",
        )  # fmt: skip
        cls = sign_class(self.net)
        return f'{table}<div class="lt-summary {cls}">{self.summary}</div>'


def _legs(session: Session, symbol: str, product: Product) -> dict[Role, Any]:
    """The open bracket legs of a position, by role."""
    legs: dict[Role, Any] = {}
    for o in session.engine.open_orders(symbol):
        if o.product is product and o.role in (Role.STOP_LOSS, Role.TAKE_PROFIT):
            legs.setdefault(o.role, o)
    return legs


def _row_greeks(
    session: Session, symbol: str, qty: int, chains: Any, totals: dict[str, list[float]]
) -> RowGreeks | None:
    inst = session.engine.instruments.get(symbol)
    if inst.kind not in (InstrumentKind.FUTURE, InstrumentKind.OPTION):
        return None
    unit = unit_greeks(symbol, session.engine.instruments, chains)
    values = [qty * g + 0.0 for g in unit]
    acc = totals.setdefault(inst.underlying or symbol, [0.0, 0.0, 0.0, 0.0])
    for k, v in enumerate(values):
        if math.isfinite(v):
            acc[k] += v
    days = (
        max((inst.expiry - session.now).total_seconds(), 0.0) / 86_400.0
        if inst.expiry is not None
        else math.nan
    )
    lots = qty / inst.lot_size if inst.lot_size else float(qty)
    return RowGreeks(lots, days, *values)


def positions_view(session: Session) -> PositionsView:
    engine = session.engine
    rows = []
    chains = chain_source(engine.instruments, session.stream.quote, session.now)
    totals: dict[str, list[float]] = {}
    for p in engine.positions():
        legs = _legs(session, p.symbol, p.product)
        sl, tp = legs.get(Role.STOP_LOSS), legs.get(Role.TAKE_PROFIT)
        rows.append(
            PositionRow(
                symbol=p.symbol,
                product=p.product.value,
                quantity=p.quantity,
                avg=p.avg_buy_price,
                last=rupees_to_paise(p.last_price),
                unrealized=rupees_to_paise(p.unrealized_pnl) or 0,
                realized=rupees_to_paise(p.realized_pnl) or 0,
                charges=rupees_to_paise(p.charges) or 0,
                stop_loss=None if sl is None else sl.trigger_paise,
                take_profit=None if tp is None else tp.limit_paise,
                greeks=_row_greeks(session, p.symbol, p.quantity, chains, totals),
            )
        )
    t = engine.pnl_paise()
    greeks = tuple((u, v[0], v[1], v[2], v[3]) for u, v in sorted(totals.items()))
    margin = engine.funds_paise(premiums=False)["margin_blocked"] if rows else 0
    return PositionsView(
        tuple(rows), t["gross_realized"], t["unrealized"], t["charges"], t["total"],
        greeks, margin,
    )  # fmt: skip


def close_position(session: Session, symbol: str, product: str) -> ActionResult:
    """Square off at market through the engine (its bracket legs are cancelled)."""

    def act() -> str:
        if session.closed:
            raise SessionClosed(f"Session {session.name!r} is closed; open a new one.")
        # the product's text, not the enum: engine.close_position(sym, Product.X) raises
        # ValueError in this version (it parses str(Product.X) == "Product.X")
        order = session.engine.close_position(symbol, Product(product).value)
        if order is None:
            return f"No open {product} position in {symbol}."
        verb = "Sold" if order.side.name == "SELL" else "Bought"
        return (
            f"Closed {symbol} {product}: {verb.lower()} {order.filled_quantity} at "
            f"{inr(order.fill_paise)} (order {order.order_id})."
        )

    return run_action(act)


def change_exits(
    session: Session, symbol: str, product: str, stop_loss: str = "", take_profit: str = ""
) -> ActionResult:
    """Move a position's Stop-loss trigger and/or Take-profit limit (blank: leave it). Only
    existing bracket legs move: two unlinked exit orders could both fill and flip the
    position, so a position opened without them says so instead."""

    def act() -> str:
        if session.closed:
            raise SessionClosed(f"Session {session.name!r} is closed; open a new one.")
        legs = _legs(session, symbol, Product(product))
        moves = []
        for text, role, label in (
            (stop_loss, Role.STOP_LOSS, "Stop-loss"),
            (take_profit, Role.TAKE_PROFIT, "Take-profit"),
        ):
            if not text.strip():
                continue
            try:  # read both boxes before moving anything: a typo moves nothing
                value = rupees_text(rupees_to_paise(parse_rupees(text, label)) or 0)
            except ValueError as exc:
                raise LiveTradeError(str(exc)) from None
            leg = legs.get(role)
            if leg is None:
                raise LiveTradeError(
                    f"{symbol} {product} has no {label} order to move (exits attach when an "
                    "order opens the position)."
                )
            moves.append((leg, value, label))
        done = []
        for leg, value, label in moves:
            if leg.kind is OrderKind.LIMIT:
                session.engine.modify(leg.order_id, limit_price=value)
            else:
                session.engine.modify(leg.order_id, trigger_price=value)
            done.append(f"{label} {inr(parse_rupees(value))}")
        if not done:
            raise LiveTradeError("Type a Stop-loss and/or a Take-profit price first.")
        return f"{symbol} {product}: {' and '.join(done)} set."

    return run_action(act)


class PositionsPanel:
    """Thin adapter: the table, the summary line, one action row for the picked position."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()

        self.session = session
        self.table = TableWidget("lt-table lt-positions-table", empty="No open positions.")
        self.table.widget.add_class("lt-positions")
        self.table.widget.add_class("lt-container")
        self.table.on_click = self._clicked
        fixed = w.Layout(width="auto", flex="0 0 auto")
        self.pick: Any = w.Dropdown(options=[], layout=w.Layout(width="auto", flex="1 1 140px",
                                                                 min_width="0"))  # fmt: skip
        self.exit: Any = w.Button(description="Exit", icon="times", layout=fixed,
                                  button_style="warning")  # fmt: skip
        self.exit.add_class("lt-exit")
        style = {"description_width": "auto"}
        self.stop_loss: Any = w.Text(description="Stop-loss", placeholder="₹", style=style,
                                     layout=w.Layout(width="150px"))  # fmt: skip
        self.take_profit: Any = w.Text(description="Take-profit", placeholder="₹", style=style,
                                       layout=w.Layout(width="160px"))  # fmt: skip
        self.set_exits: Any = w.Button(description="Move exits", layout=fixed)
        self.set_exits.add_class("lt-move-exits")
        self.message: Any = w.HTML(value="")
        self.exit.on_click(lambda _b: self._do(self._exit))
        self.set_exits.on_click(lambda _b: self._do(self._move))
        self.actions: Any = w.Box(
            [self.pick, self.exit, self.stop_loss, self.take_profit, self.set_exits],
            layout=w.Layout(width="100%", min_width="0"),
        )
        self.actions.add_class("lt-actions")
        self._keys: tuple[tuple[str, str], ...] | None = None
        self.widget: Any = w.VBox(
            [w.HTML("<b>Positions</b>"), self.table.widget, self.actions,
             self.message],
            layout=w.Layout(min_width="0"),
        )  # fmt: skip
        self.widget.add_class("lt-panel")
        self.widget.add_class("lt-positions-panel")

    def _picked(self) -> tuple[str, str] | None:
        value = self.pick.value
        if not value:
            return None
        symbol, _, product = str(value).rpartition(" ")
        return symbol, product

    def _do(self, action: Any) -> None:
        picked = self._picked()
        if picked is None:
            self.message.value = ActionResult(False, "No open position to act on.").html()
            return
        self.message.value = action(*picked).html()

    def _exit(self, symbol: str, product: str) -> ActionResult:
        return close_position(self.session, symbol, product)

    def _move(self, symbol: str, product: str) -> ActionResult:
        result = change_exits(
            self.session, symbol, product, self.stop_loss.value, self.take_profit.value
        )
        if result.ok:
            self.stop_loss.value = self.take_profit.value = ""
        return result

    def _clicked(self, key: str) -> None:
        if key in self.pick.options:
            self.pick.value = key

    def set_enabled(self, enabled: bool) -> None:
        for b in (self.pick, self.exit, self.stop_loss, self.take_profit, self.set_exits):
            b.disabled = not enabled

    def update(self, view: PositionsView) -> None:
        self.table.show(  # the summary rides in the table's message: one per redraw
            view.headers,
            ((r.key_text, view.row_cells(r)) for r in view.rows),
            Cell(view.summary, sign_class(view.net)),
        )
        if view.keys != self._keys:
            self._keys = view.keys
            keys = [r.key_text for r in view.rows]
            current = self.pick.value
            self.pick.options = keys
            self.pick.value = current if current in keys else (keys[0] if keys else None)
