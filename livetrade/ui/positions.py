"""Positions: open positions with LTP and P&L, totals from the engine, close-position buttons.

The numbers are one HTML table (one widget message per redraw); the close buttons are rebuilt
only when the set of open positions changes, not on every price move.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from livetrade.errors import SessionClosed
from livetrade.model import Product
from livetrade.ui.common import (
    ActionResult,
    Cell,
    hold_sync,
    html_table,
    inr,
    ipywidgets,
    price,
    run_action,
    rupees_to_paise,
    sign_class,
)

if TYPE_CHECKING:
    from livetrade.session import Session

HEADERS = ("symbol", "product", "qty", "avg", "LTP", "unrealized", "realized", "charges")


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

    @property
    def key(self) -> tuple[str, str]:
        return self.symbol, self.product

    def cells(self) -> tuple[Cell, ...]:
        return (
            Cell(self.symbol, "lt-sym"),
            Cell(self.product),
            Cell(str(self.quantity), "lt-qty"),
            Cell(f"{self.avg:.2f}"),
            Cell(price(self.last)),
            Cell(inr(self.unrealized, sign=True), f"lt-unrealized {sign_class(self.unrealized)}"),
            Cell(inr(self.realized, sign=True), sign_class(self.realized)),
            Cell(inr(self.charges)),
        )


@dataclass(frozen=True, slots=True)
class PositionsView:
    """Open positions plus the engine's account-wide totals (closed positions included)."""

    rows: tuple[PositionRow, ...]
    realized: int  # gross realized P&L, all positions
    unrealized: int
    charges: int
    net: int  # realized - charges + unrealized

    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        return tuple(r.key for r in self.rows)

    @property
    def summary(self) -> str:
        return (
            f"realized {inr(self.realized, sign=True)} · unrealized "
            f"{inr(self.unrealized, sign=True)} · charges {inr(self.charges)} · "
            f"net {inr(self.net, sign=True)}"
        )

    def html(self) -> str:
        table = html_table(
            HEADERS, (r.cells() for r in self.rows), css="lt-table lt-positions-table",
            empty="No open positions.",
        )  # fmt: skip
        cls = sign_class(self.net)
        return f'{table}<div class="lt-summary {cls}">{self.summary}</div>'


def positions_view(session: Session) -> PositionsView:
    engine = session.engine
    rows = []
    for p in engine.positions():
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
            )
        )
    t = engine.pnl_paise()
    return PositionsView(
        tuple(rows), t["gross_realized"], t["unrealized"], t["charges"], t["total"]
    )


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


class PositionsPanel:
    """Thin adapter: the table, one Close button per open position, a message line."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()

        self._w = w
        self.session = session
        self.table: Any = w.HTML(value="")
        self.table.add_class("lt-positions")
        self.buttons: Any = w.HBox([], layout=w.Layout(flex_flow="row wrap"))
        self.message: Any = w.HTML(value="")
        self._keys: tuple[tuple[str, str], ...] | None = None
        self.widget: Any = w.VBox([w.HTML("<b>Positions</b>"), self.table, self.buttons,
                                   self.message])  # fmt: skip
        self.widget.add_class("lt-panel")

    def _close(self, symbol: str, product: str) -> None:
        result = close_position(self.session, symbol, product)
        self.message.value = result.html()

    def _button(self, symbol: str, product: str) -> Any:
        b = self._w.Button(
            description=f"Close {symbol} {product}", icon="times",
            layout=self._w.Layout(width="auto"),
        )  # fmt: skip
        b.add_class("lt-close")
        b.on_click(lambda _b: self._close(symbol, product))
        return b

    def update(self, view: PositionsView) -> None:
        with hold_sync(self.table):
            self.table.value = view.html()
        if view.keys != self._keys:
            self._keys = view.keys
            old = list(self.buttons.children)
            self.buttons.children = [self._button(s, p) for s, p in view.keys]
            for b in old:
                b.close()
