"""Order ticket: the inputs, a what-if line before the click, the engine's answer after it.

The what-if uses the engine's own pieces (the broker's price model for the estimated fill,
the charges model's side-effect-free ``estimate``) so it previews what the engine will do;
the engine still decides on the click, and its rejection sentence is shown as is.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from livetrade.errors import InvalidInput, SessionClosed
from livetrade.model import Order, OrderKind, OrderStatus, Product, Side, ns_to_datetime
from livetrade.money import from_paise, to_paise
from livetrade.ui.common import ActionResult, hold_sync, inr, ipywidgets, run_action

if TYPE_CHECKING:
    from livetrade.session import Session

TICK_PAISE = 5


@dataclass(frozen=True, slots=True)
class TicketInput:
    """What the trader typed. Prices stay text until used, so a blank means "not given" and a
    typo reaches the engine's own sentence instead of a widget validation error."""

    symbol: str
    side: Side = Side.BUY
    quantity: int = 1
    kind: OrderKind = OrderKind.MARKET
    product: Product = Product.INTRADAY
    limit_price: str = ""
    trigger_price: str = ""
    stop_loss: str = ""
    take_profit: str = ""

    def with_side(self, side: Side) -> TicketInput:
        return replace(self, side=side)

    @property
    def uses_limit(self) -> bool:
        return self.kind in (OrderKind.LIMIT, OrderKind.SL)

    @property
    def uses_trigger(self) -> bool:
        return self.kind in (OrderKind.SL, OrderKind.SL_M)


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The preview line. Money in paise; ``at_stop_loss``/``at_take_profit`` are the net P&L of
    the round trip (entry and exit charges included) if that leg fills at its price."""

    ok: bool
    text: str
    fill: int | None = None
    basis: str = ""
    notional: int | None = None
    charges: int | None = None
    cash_after: int | None = None
    at_stop_loss: int | None = None
    at_take_profit: int | None = None

    def html(self) -> str:
        cls = "lt-whatif-ok" if self.ok else "lt-whatif-bad"
        return f'<span class="{cls}">{html.escape(self.text)}</span>'


class _Bad(Exception):
    """A what-if input problem (its message is the sentence shown)."""


def _price(raw: str, label: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        p = to_paise(raw, label)
    except InvalidInput as exc:
        raise _Bad(f"{label.capitalize()} {exc.reason}.") from None
    if p <= 0:
        raise _Bad(f"{label.capitalize()} must be positive.")
    if p % TICK_PAISE:
        raise _Bad(f"{label.capitalize()} ₹{from_paise(p)} is not a multiple of the ₹0.05 tick.")
    return p


def what_if(session: Session, t: TicketInput) -> WhatIf:
    """Estimated fill, notional, charges, cash after, and P&L at the stop-loss/take-profit."""
    try:
        return _what_if(session, t)
    except _Bad as bad:
        return WhatIf(False, str(bad))


def _what_if(session: Session, t: TicketInput) -> WhatIf:
    engine = session.engine
    if isinstance(t.quantity, bool) or not isinstance(t.quantity, int) or t.quantity <= 0:
        raise _Bad("Quantity must be a positive whole number of shares.")
    limit = _price(t.limit_price, "limit price") if t.uses_limit else None
    trigger = _price(t.trigger_price, "trigger price") if t.uses_trigger else None
    if t.uses_limit and limit is None:
        raise _Bad(f"A {t.kind.value} order needs a limit price.")
    if t.uses_trigger and trigger is None:
        raise _Bad(f"A {t.kind.value} order needs a trigger price.")
    top = session.stream.top(t.symbol)
    if top is None:
        raise _Bad(f"No quote for {t.symbol} yet.")
    bid, ask, last, _ = top
    buy = t.side is Side.BUY
    touch = "the ask" if buy else "the bid"
    fill: int | None
    if t.kind is OrderKind.MARKET:
        fill = engine.broker.execution_price(t.side, bid, ask, last, None)
        basis = f"at {touch}"
        if fill is None:
            raise _Bad("No executable price right now.")
    elif t.kind is OrderKind.LIMIT:
        assert limit is not None
        fill = engine.broker.execution_price(t.side, bid, ask, last, limit)
        basis = f"marketable now, at {touch}"
        if fill is None:
            fill, basis = limit, "rests at the limit"
    elif t.kind is OrderKind.SL:
        assert limit is not None and trigger is not None
        fill, basis = limit, f"at the limit once ₹{from_paise(trigger)} trades"
    else:
        assert trigger is not None
        fill, basis = trigger, "at the trigger (a gap fills worse)"
    qty = t.quantity
    day = ns_to_datetime(session.clock.now_ns()).date()
    delivery = t.product is Product.CNC
    model = engine.charges_model
    notional = qty * fill
    charges = model.estimate(t.symbol, buy, delivery, qty, fill, day).total
    sign = 1 if buy else -1
    cash_after = engine.cash_paise - sign * notional - charges
    sl = _price(t.stop_loss, "stop-loss")
    tp = _price(t.take_profit, "take-profit")
    if sl is not None and (sl >= fill if buy else sl <= fill):
        where = "below" if buy else "above"
        raise _Bad(f"Stop-loss ₹{from_paise(sl)} must be {where} the entry ≈ ₹{from_paise(fill)}.")
    if tp is not None and (tp <= fill if buy else tp >= fill):
        where = "above" if buy else "below"
        raise _Bad(
            f"Take-profit ₹{from_paise(tp)} must be {where} the entry ≈ ₹{from_paise(fill)}."
        )

    def round_trip(exit_price: int | None) -> int | None:
        if exit_price is None:
            return None
        exit_charges = model.estimate(t.symbol, not buy, delivery, qty, exit_price, day).total
        return sign * (exit_price - fill) * qty - charges - exit_charges

    at_sl, at_tp = round_trip(sl), round_trip(tp)
    verb = "Buy" if buy else "Sell"
    parts = [
        f"{verb} {qty} {t.symbol} ≈ {inr(fill)} ({basis}) = {inr(notional)}",
        f"charges {inr(charges)}",
        f"cash after {inr(cash_after)}",
    ]
    if sl is not None:
        parts.append(f"at SL {inr(sl)}: {inr(at_sl, sign=True)}")
    if tp is not None:
        parts.append(f"at TP {inr(tp)}: {inr(at_tp, sign=True)}")
    text = " · ".join(parts)
    if sl is not None or tp is not None:
        text += " (net of charges)"
    if delivery and buy and cash_after < 0:
        text += " · more than the free cash"
    return WhatIf(True, text, fill, basis, notional, charges, cash_after, at_sl, at_tp)


def describe(order: Order) -> tuple[bool, str]:
    """The engine's answer as one sentence: filled, resting or cancelled."""
    verb = "Bought" if order.side is Side.BUY else "Sold"
    if order.status is OrderStatus.FILLED:
        text = (
            f"{verb} {order.filled_quantity} {order.symbol} at {inr(order.fill_paise)} "
            f"(order {order.order_id}, charges {inr(order.charges_paise)})."
        )
        legs = []
        if order.stop_loss_paise is not None:
            legs.append(f"stop-loss {inr(order.stop_loss_paise)}")
        if order.take_profit_paise is not None:
            legs.append(f"take-profit {inr(order.take_profit_paise)}")
        if legs:
            text = text[:-1] + f"; {' and '.join(legs)} attached."
        return True, text
    if order.status is OrderStatus.OPEN:
        where = order.limit_paise if order.limit_paise is not None else order.trigger_paise
        side = "buy" if order.side is Side.BUY else "sell"
        return True, (
            f"Order {order.order_id} is resting: {side} {order.quantity} {order.symbol} "
            f"{order.kind.value} at {inr(where)}."
        )
    if order.status is OrderStatus.PENDING:  # live: sent, Fyers' answer on its way
        side = "buy" if order.side is Side.BUY else "sell"
        return True, (
            f"Order {order.order_id} sent to Fyers: {side} {order.quantity} {order.symbol} "
            f"{order.kind.value}; the blotter shows its answer."
        )
    return False, f"Order {order.order_id} {order.status.value.lower()}: {order.message}"


def submit(session: Session, t: TicketInput) -> ActionResult:
    """Place the ticket through the engine (``source="widget"``); the result or the rejection
    sentence comes back as an ``ActionResult`` (a market order the engine had to cancel is a
    failure too)."""
    filled_or_resting: list[bool] = []

    def act() -> str:
        if session.closed:
            raise SessionClosed(f"Session {session.name!r} is closed; open a new one.")
        order = session.engine.submit(
            t.symbol,
            t.side,
            t.quantity,
            t.kind,
            product=t.product,
            limit_price=(t.limit_price.strip() or None) if t.uses_limit else None,
            trigger_price=(t.trigger_price.strip() or None) if t.uses_trigger else None,
            stop_loss=t.stop_loss.strip() or None,
            take_profit=t.take_profit.strip() or None,
            source="widget",
        )
        ok, text = describe(order)
        filled_or_resting.append(ok)
        return text

    result = run_action(act)
    if result.ok and filled_or_resting and not filled_or_resting[0]:
        return ActionResult(False, result.text, "NOT_FILLED")
    return result


class OrderTicket:
    """Thin adapter: input widgets → ``TicketInput``; Buy/Sell → ``submit``."""

    def __init__(self, session: Session, symbols: list[str]) -> None:
        w = ipywidgets()

        self.session = session
        narrow = w.Layout(width="195px")
        style = {"description_width": "60px"}
        tradable = [s for s in symbols if not s.upper().endswith("-INDEX")] or symbols
        self.symbol: Any = w.Dropdown(
            options=list(symbols),
            value=tradable[0] if tradable else None,
            description="Symbol",
            style=style,
            layout=w.Layout(width="390px"),
        )
        self.side: Any = w.ToggleButtons(
            options=[("Buy", "BUY"), ("Sell", "SELL")],
            value="BUY",
            style={"button_width": "62px"},
            layout=w.Layout(width="195px", margin="2px 0 2px 64px"),
        )
        self.quantity: Any = w.IntText(value=1, description="Qty", style=style, layout=narrow)
        self.kind: Any = w.Dropdown(
            options=[k.value for k in OrderKind], value="MARKET", description="Type",
            style=style, layout=narrow,
        )  # fmt: skip
        self.product: Any = w.Dropdown(
            options=[p.value for p in Product], value=Product.INTRADAY.value,
            description="Product", style=style, layout=narrow,
        )  # fmt: skip

        def price_box(label: str) -> Any:
            return w.Text(
                value="", placeholder="optional" if label in ("SL", "TP") else "₹",
                description=label, style=style, layout=narrow, continuous_update=False,
            )  # fmt: skip

        self.limit = price_box("Limit")
        self.trigger = price_box("Trigger")
        self.stop_loss = price_box("SL")
        self.take_profit = price_box("TP")
        self.whatif: Any = w.HTML(value="")
        self.whatif.add_class("lt-whatif")
        self.buy: Any = w.Button(description="Buy", button_style="success")
        self.buy.add_class("lt-buy")
        self.sell: Any = w.Button(description="Sell", button_style="danger")
        self.sell.add_class("lt-sell")
        self.result: Any = w.HTML(value="")
        self.result.add_class("lt-result")
        self.buy.on_click(lambda _b: self._place(Side.BUY))
        self.sell.on_click(lambda _b: self._place(Side.SELL))
        self.on_input: Any = None
        for box in (self.symbol, self.side, self.quantity, self.kind, self.product, self.limit,
                    self.trigger, self.stop_loss, self.take_profit):  # fmt: skip
            box.observe(self._changed, names="value")
        self._sync_enabled()
        self.widget: Any = w.VBox(
            [
                w.HTML("<b>Order ticket</b>"),
                self.symbol,
                w.HBox([self.side, self.quantity]),
                w.HBox([self.kind, self.product]),
                w.HBox([self.limit, self.trigger]),
                w.HBox([self.stop_loss, self.take_profit]),
                self.whatif,
                w.HBox([self.buy, self.sell]),
                self.result,
            ],
            layout=w.Layout(width="420px", flex="0 0 auto"),
        )
        self.widget.add_class("lt-panel")
        self.widget.add_class("lt-ticket")

    def read(self) -> TicketInput:
        kind = OrderKind(self.kind.value)
        t = TicketInput(
            symbol=self.symbol.value or "",
            side=Side[self.side.value],
            quantity=int(self.quantity.value),
            kind=kind,
            product=Product(self.product.value),
            stop_loss=self.stop_loss.value,
            take_profit=self.take_profit.value,
        )
        return replace(
            t,
            limit_price=self.limit.value if t.uses_limit else "",
            trigger_price=self.trigger.value if t.uses_trigger else "",
        )

    def _sync_enabled(self) -> None:
        kind = OrderKind(self.kind.value)
        self.limit.disabled = kind not in (OrderKind.LIMIT, OrderKind.SL)
        self.trigger.disabled = kind not in (OrderKind.SL, OrderKind.SL_M)

    def _changed(self, change: dict[str, Any]) -> None:
        if change.get("owner") is self.kind:
            self._sync_enabled()
        if self.on_input is not None:
            self.on_input(change.get("owner") is self.symbol)

    def _place(self, side: Side) -> None:
        if self.side.value != side.name:
            self.side.value = side.name  # the what-if line then describes what was sent
        result = submit(self.session, self.read().with_side(side))
        self.result.value = result.html()

    def set_symbols(self, symbols: list[str]) -> None:
        if list(self.symbol.options) != symbols:
            current = self.symbol.value
            self.symbol.options = symbols
            if current in symbols:
                self.symbol.value = current

    def update(self, view: WhatIf) -> None:
        with hold_sync(self.whatif):
            self.whatif.value = view.html()
