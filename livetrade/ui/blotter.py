"""Orders and fills blotter, newest placed first; Modify and Cancel for working orders.

Redrawn on engine events only (orders and fills do not change on a tick). The time column is
when the order was placed (the last update moved rows out of order). One action row acts on
the picked working order (a click on its row picks it): Modify its Qty, Limit or Trigger
through ``engine.modify``, Cancel it, or cancel them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.errors import LiveTradeError, SessionClosed
from livetrade.fmt import parse_quantity, parse_rupees, rupees_text
from livetrade.model import Fill, Order, OrderKind, Role
from livetrade.ui.common import (
    ActionResult,
    Cell,
    clock_text,
    dashboard_sentence,
    hold_sync,
    html_table,
    inr,
    ipywidgets,
    price,
    run_action,
    rupees_to_paise,
)
from livetrade.ui.table import TableWidget

if TYPE_CHECKING:
    from livetrade.session import Session

ORDER_HEADERS = ("placed", "id", "symbol", "side", "type", "product", "qty", "filled",
                 "price ₹", "status", "role", "note")  # fmt: skip
ORDER_COLUMNS = ("time", "id", "symbol", "side", "type", "product", "qty", "filled", "price",
                 "status", "role", "note")  # fmt: skip
FILL_HEADERS = ("time", "fill", "order", "symbol", "side", "role", "qty", "price ₹", "value",
                "charges")  # fmt: skip
FILL_COLUMNS = ("time", "fill", "id", "symbol", "side", "role", "qty", "price", "value",
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

    @property
    def label(self) -> str:
        """How the action row names it: ``LT0000002 sell NSE:SBIN-EQ SL-M (stop loss)``."""
        text = f"{self.order_id} {self.side.lower()} {self.symbol} {self.kind}"
        return text + (f" ({self.role})" if self.role else "")

    def cells(self) -> tuple[Cell, ...]:
        side = "lt-buy-text" if self.side == "BUY" else "lt-sell-text"
        texts = (
            self.time, self.order_id, self.symbol, self.side, self.kind, self.product,
            str(self.quantity), str(self.filled), price(self.price), self.status, self.role,
            self.message,
        )  # fmt: skip
        extra = {"symbol": "lt-sym", "side": side, "status": f"lt-status-{self.status.lower()}"}
        return tuple(
            Cell(t, f"{extra.get(c, '')} lt-c-{c}".strip())
            for t, c in zip(texts, ORDER_COLUMNS, strict=True)
        )


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
        side = "lt-buy-text" if self.side == "BUY" else "lt-sell-text"
        texts = (
            self.time, self.fill_id, self.order_id, self.symbol, self.side, self.role,
            str(self.quantity), price(self.price), inr(self.price * self.quantity),
            inr(self.charges),
        )  # fmt: skip
        extra = {"symbol": "lt-sym", "side": side}
        return tuple(
            Cell(t, f"{extra.get(c, '')} lt-c-{c}".strip())
            for t, c in zip(texts, FILL_COLUMNS, strict=True)
        )


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
        o.order_id, clock_text(o.created_ns), o.symbol, o.side.name, o.kind.value,
        o.product.value, o.quantity, o.filled_quantity, shown, o.status.value, role,
        dashboard_sentence(o.message),
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
    # newest placed first; orders placed in the same instant keep the engine's order, newest
    # first (a stable sort of the reversed list)
    newest = sorted(reversed(orders[-limit:]), key=lambda o: o.created_ns, reverse=True)
    return BlotterView(
        orders=tuple(order_row(o) for o in newest),
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


def modify_order(
    session: Session, order_id: str, quantity: str = "", limit: str = "", trigger: str = ""
) -> ActionResult:
    """Change a working order's Qty, Limit or Trigger (blank: unchanged) via
    ``engine.modify``; bad input names its box and changes nothing."""

    def act() -> str:
        if session.closed:
            raise SessionClosed(f"Session {session.name!r} is closed; open a new one.")
        try:
            qty = parse_quantity(quantity) if quantity.strip() else None
            lim = parse_rupees(limit, "Limit") if limit.strip() else None
            trg = parse_rupees(trigger, "Trigger") if trigger.strip() else None
        except ValueError as exc:
            raise LiveTradeError(str(exc)) from None
        if qty is None and lim is None and trg is None:
            raise LiveTradeError("Type a new Qty, Limit or Trigger first.")

        def text(value: Any) -> str | None:
            return None if value is None else rupees_text(rupees_to_paise(value) or 0)

        order = session.engine.modify(
            order_id, quantity=qty, limit_price=text(lim), trigger_price=text(trg)
        )
        parts = [f"Qty {order.quantity}"]
        if order.kind in (OrderKind.LIMIT, OrderKind.SL):
            parts.append(f"Limit {inr(order.limit_paise)}")
        if order.kind in (OrderKind.SL, OrderKind.SL_M):
            parts.append(f"Trigger {inr(order.trigger_paise)}")
        return f"Modified {order.order_id}: {', '.join(parts)}."

    return run_action(act)


class BlotterPanel:
    """Thin adapter: Orders/Fills tables (tabs), one action row for the picked working order."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()

        self._w = w
        self.session = session
        self.orders = TableWidget("lt-table lt-orders-table", empty="No orders yet.")
        self.orders.widget.add_class("lt-orders")
        self.orders.widget.add_class("lt-container")
        self.orders.on_click = self._clicked
        self.fills = TableWidget("lt-table lt-fills-table", empty="No fills yet.")
        self.fills.widget.add_class("lt-fills")
        self.fills.widget.add_class("lt-container")
        fixed = w.Layout(width="auto", flex="0 0 auto")
        self.pick: Any = w.Dropdown(options=[], layout=w.Layout(width="auto", flex="1 1 200px",
                                                                 min_width="0"))  # fmt: skip
        style = {"description_width": "auto"}
        self.quantity: Any = w.Text(description="Qty", style=style,
                                    layout=w.Layout(width="100px"))  # fmt: skip
        self.limit: Any = w.Text(description="Limit", placeholder="₹", style=style,
                                 layout=w.Layout(width="130px"))  # fmt: skip
        self.trigger: Any = w.Text(description="Trigger", placeholder="₹", style=style,
                                   layout=w.Layout(width="140px"))  # fmt: skip
        self.modify: Any = w.Button(description="Modify", icon="pencil", layout=fixed)
        self.modify.add_class("lt-modify")
        self.cancel: Any = w.Button(description="Cancel", icon="ban", layout=fixed)
        self.cancel.add_class("lt-cancel")
        self.cancel_all: Any = w.Button(description="Cancel all open", icon="ban", layout=fixed)
        self.cancel_all.add_class("lt-cancel-all")
        self.modify.on_click(lambda _b: self._on_pick(self._modify))
        self.cancel.on_click(lambda _b: self._on_pick(self._cancel))
        self.cancel_all.on_click(lambda _b: self._show(cancel_all(self.session)))
        self.actions: Any = w.Box(
            [self.pick, self.quantity, self.limit, self.trigger, self.modify, self.cancel,
             self.cancel_all],
            layout=w.Layout(width="100%", min_width="0", display="none"),
        )  # fmt: skip
        self.actions.add_class("lt-actions")
        self.message: Any = w.HTML(value="")
        self._open: tuple[str, ...] | None = None
        self.orders_pane: Any = w.VBox(
            [self.actions, self.message, self.orders.widget], layout=w.Layout(min_width="0")
        )
        self.tabs: Any = None

    def tabs_with(self, *extra: tuple[str, Any]) -> Any:
        """The Orders and Fills tabs plus ``extra`` (title, widget) tabs (the dashboard adds
        its charts); built once."""
        w = self._w
        self.tabs = w.Tab(
            children=[self.orders_pane, self.fills.widget, *(x[1] for x in extra)],
            layout=w.Layout(width="100%", min_width="0"),
        )
        self._extra_titles = tuple(x[0] for x in extra)
        self.tabs.titles = ("Orders", "Fills", *self._extra_titles)
        self.tabs.add_class("lt-panel")
        return self.tabs

    @property
    def widget(self) -> Any:
        return self.tabs if self.tabs is not None else self.tabs_with()

    def _picked(self) -> str | None:
        value = self.pick.value
        return str(value).split(" ", 1)[0] if value else None

    def _on_pick(self, action: Any) -> None:
        order_id = self._picked()
        if order_id is None:
            self._show(ActionResult(False, "No working order to act on."))
            return
        self._show(action(order_id))

    def _modify(self, order_id: str) -> ActionResult:
        result = modify_order(
            self.session, order_id, self.quantity.value, self.limit.value, self.trigger.value
        )
        if result.ok:
            self.quantity.value = self.limit.value = self.trigger.value = ""
        return result

    def _cancel(self, order_id: str) -> ActionResult:
        return cancel_order(self.session, order_id)

    def _clicked(self, order_id: str) -> None:
        for label in self.pick.options:
            if str(label).split(" ", 1)[0] == order_id:
                self.pick.value = label

    def _show(self, result: ActionResult) -> None:
        self.message.value = result.html()

    def set_enabled(self, enabled: bool) -> None:
        for b in (self.pick, self.quantity, self.limit, self.trigger, self.modify, self.cancel,
                  self.cancel_all):  # fmt: skip
            b.disabled = not enabled

    def update(self, view: BlotterView) -> None:
        self.orders.show(
            [Cell(h, f"lt-c-{c}") for h, c in zip(ORDER_HEADERS, ORDER_COLUMNS, strict=True)],
            ((r.order_id, r.cells()) for r in view.orders),
        )
        self.fills.show(
            [Cell(h, f"lt-c-{c}") for h, c in zip(FILL_HEADERS, FILL_COLUMNS, strict=True)],
            ((r.fill_id, r.cells()) for r in view.fills),
        )
        if self.tabs is not None:
            titles = (f"Orders ({view.order_count})", f"Fills ({view.fill_count})",
                      *self._extra_titles)  # fmt: skip
            if tuple(self.tabs.titles) != titles:
                with hold_sync(self.tabs):
                    self.tabs.titles = titles
        ids = tuple(r.order_id for r in view.open_orders)
        if ids != self._open:
            self._open = ids
            labels = [r.label for r in view.open_orders]
            current = self.pick.value
            self.pick.options = labels
            self.pick.value = current if current in labels else (labels[0] if labels else None)
            self.actions.layout.display = "flex" if ids else "none"
