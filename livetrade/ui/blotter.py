"""Orders and fills blotter, newest first, with a Cancel button per open order.

Redrawn on engine events only (orders and fills do not change on a tick); the cancel buttons
are rebuilt only when the set of open orders changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.errors import SessionClosed
from livetrade.model import Fill, Order, Role
from livetrade.ui.common import (
    ActionResult,
    Cell,
    clock_text,
    hold_sync,
    html_table,
    inr,
    ipywidgets,
    price,
    run_action,
)

if TYPE_CHECKING:
    from livetrade.session import Session

ORDER_HEADERS = ("time", "id", "symbol", "side", "type", "product", "qty", "filled", "price",
                 "status", "role", "note")  # fmt: skip
MAX_CANCEL_BUTTONS = 20  # beyond that, "Cancel all open" or cancel from the notebook
FILL_HEADERS = ("time", "fill", "order", "symbol", "side", "role", "qty", "price", "value",
                "charges")  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderRow:
    order_id: str
    time: str
    symbol: str
    side: str
    kind: str
    product: str
    quantity: int
    filled: int
    price: int | None  # average fill, else limit, else trigger
    status: str
    role: str
    message: str

    @property
    def is_open(self) -> bool:
        return self.status == "OPEN"

    def cells(self) -> tuple[Cell, ...]:
        return (
            Cell(self.time), Cell(self.order_id), Cell(self.symbol, "lt-sym"),
            Cell(self.side, "lt-buy-text" if self.side == "BUY" else "lt-sell-text"),
            Cell(self.kind), Cell(self.product), Cell(str(self.quantity)), Cell(str(self.filled)),
            Cell(price(self.price)), Cell(self.status, f"lt-status-{self.status.lower()}"),
            Cell(self.role), Cell(self.message),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FillRow:
    fill_id: str
    time: str
    order_id: str
    symbol: str
    side: str
    role: str
    quantity: int
    price: int
    charges: int

    def cells(self) -> tuple[Cell, ...]:
        return (
            Cell(self.time), Cell(self.fill_id), Cell(self.order_id), Cell(self.symbol, "lt-sym"),
            Cell(self.side, "lt-buy-text" if self.side == "BUY" else "lt-sell-text"),
            Cell(self.role), Cell(str(self.quantity)), Cell(price(self.price)),
            Cell(inr(self.price * self.quantity)), Cell(inr(self.charges)),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BlotterView:
    """The newest ``limit`` orders and fills, and every open order (cancellable)."""

    orders: tuple[OrderRow, ...]
    fills: tuple[FillRow, ...]
    open_orders: tuple[OrderRow, ...]
    order_count: int
    fill_count: int

    def orders_html(self) -> str:
        return html_table(ORDER_HEADERS, (r.cells() for r in self.orders),
                          css="lt-table lt-orders-table", empty="No orders yet.")  # fmt: skip

    def fills_html(self) -> str:
        return html_table(FILL_HEADERS, (r.cells() for r in self.fills),
                          css="lt-table lt-fills-table", empty="No fills yet.")  # fmt: skip


def order_row(o: Order) -> OrderRow:
    shown = o.fill_paise if o.fill_paise is not None else (o.limit_paise or o.trigger_paise)
    role = "" if o.role is Role.ENTRY else o.role.value.replace("_", " ").lower()
    return OrderRow(
        o.order_id, clock_text(o.updated_ns or o.created_ns), o.symbol, o.side.name,
        o.kind.value, o.product.value, o.quantity, o.filled_quantity, shown, o.status.value,
        role, o.message,
    )  # fmt: skip


def fill_row(f: Fill) -> FillRow:
    role = "" if f.role is Role.ENTRY else f.role.value.replace("_", " ").lower()
    return FillRow(
        f.fill_id, clock_text(f.ts_ns), f.order_id, f.symbol, f.side.name, role, f.quantity,
        f.price_paise, f.charges.total,
    )  # fmt: skip


def blotter_view(session: Session, limit: int = 50) -> BlotterView:
    engine = session.engine
    orders = engine.orders
    fills = engine.fills
    return BlotterView(
        orders=tuple(order_row(o) for o in reversed(orders[-limit:])),
        fills=tuple(fill_row(f) for f in reversed(fills[-limit:])),
        open_orders=tuple(order_row(o) for o in engine.open_orders()),
        order_count=len(orders),
        fill_count=len(fills),
    )


def cancel_order(session: Session, order_id: str) -> ActionResult:
    """Cancel through the engine; "not open" and unknown ids come back as its sentence."""

    def act() -> str:
        if session.closed:
            raise SessionClosed(f"Session {session.name!r} is closed; open a new one.")
        order = session.engine.cancel(order_id)
        return f"Cancelled {order.order_id} ({order.symbol} {order.side.name.lower()})."

    return run_action(act)


def cancel_all(session: Session) -> ActionResult:
    """Cancel every open order, bracket legs included."""

    def act() -> str:
        if session.closed:
            raise SessionClosed(f"Session {session.name!r} is closed; open a new one.")
        n = len(session.engine.cancel_all())
        return f"Cancelled {n} open order{'s' if n != 1 else ''}."

    return run_action(act)


class BlotterPanel:
    """Thin adapter: Orders/Fills tabs, Cancel buttons for open orders, a message line."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()

        self._w = w
        self.session = session
        self.orders: Any = w.HTML(value="")
        self.orders.add_class("lt-orders")
        self.fills: Any = w.HTML(value="")
        self.fills.add_class("lt-fills")
        self.tabs: Any = w.Tab(children=[self.orders, self.fills])
        self.tabs.titles = ("Orders", "Fills")
        self.buttons: Any = w.HBox([], layout=w.Layout(flex_flow="row wrap"))
        self.cancel_all: Any = w.Button(description="Cancel all open", icon="ban")
        self.cancel_all.add_class("lt-cancel-all")
        self.cancel_all.on_click(lambda _b: self._show(cancel_all(self.session)))
        self.message: Any = w.HTML(value="")
        self._open: tuple[str, ...] | None = None
        self.widget: Any = w.VBox([w.HTML("<b>Blotter</b>"), self.buttons, self.message,
                                   self.tabs])  # fmt: skip
        self.widget.add_class("lt-panel")

    def _cancel(self, order_id: str) -> None:
        self._show(cancel_order(self.session, order_id))

    def _show(self, result: ActionResult) -> None:
        self.message.value = result.html()

    def _button(self, row: OrderRow) -> Any:
        label = f"Cancel {row.order_id} {row.side.lower()} {row.symbol} {row.kind}"
        if row.role:
            label += f" ({row.role})"
        b = self._w.Button(description=label, icon="ban", layout=self._w.Layout(width="auto"))
        b.add_class("lt-cancel")
        b.on_click(lambda _b: self._cancel(row.order_id))
        return b

    def update(self, view: BlotterView) -> None:
        with hold_sync(self.orders, self.fills, self.tabs):
            self.orders.value = view.orders_html()
            self.fills.value = view.fills_html()
            self.tabs.titles = (f"Orders ({view.order_count})", f"Fills ({view.fill_count})")
        ids = tuple(r.order_id for r in view.open_orders)
        if ids != self._open:
            self._open = ids
            old = list(self.buttons.children)
            shown = [self._button(r) for r in view.open_orders[:MAX_CANCEL_BUTTONS]]
            self.buttons.children = [*shown, self.cancel_all] if ids else []
            for b in old:
                if b is not self.cancel_all:
                    b.close()
