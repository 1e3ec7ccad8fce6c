"""Order ticket: the inputs, a what-if line before the click, the engine's answer after it.

The what-if uses the engine's own pieces (the broker's price model for the estimated fill,
the charges model's side-effect-free ``estimate``) so it previews what the engine will do;
the engine still decides on the click, and its rejection sentence is shown as is.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from livetrade.errors import InvalidInput
from livetrade.fmt import inr, parse_quantity, parse_rupees, rupees_text
from livetrade.model import Order, OrderKind, OrderStatus, Product, Side, ns_to_datetime
from livetrade.money import to_paise
from livetrade.ui.common import (
    ActionResult,
    dashboard_sentence,
    hold_sync,
    ipywidgets,
    run_action,
)

if TYPE_CHECKING:
    from livetrade.session import Session

TICK_PAISE = 5
INFLIGHT_MIN_S = 0.6
"""Buy/Sell stay disabled at least this long after a click (and while a live order is still
PENDING): the second click of a double-click arrives before the browser hears "disabled"."""

LABELS = {
    "quantity": "Qty",
    "limit_price": "Limit",
    "trigger_price": "Trigger",
    "stop_loss": "Stop-loss",
    "take_profit": "Take-profit",
}
"""One name per input: the box's label is the word every sentence about it uses."""


PRODUCT_LABELS = {"INTRADAY": "Intraday", "MARGIN": "Margin"}
"""What the ticket's Product box shows (the value stays Fyers' productType)."""


@dataclass(frozen=True, slots=True)
class TicketInput:
    """What the trader typed. Quantity and prices stay text until used (``int`` works too), so
    a blank means "not given" and a typo gets a sentence naming its box instead of a widget
    silently snapping back or dropping a decimal point."""

    symbol: str
    side: Side = Side.BUY
    quantity: int | str = 1
    kind: OrderKind = OrderKind.MARKET
    product: Product = Product.INTRADAY
    limit_price: str = ""
    trigger_price: str = ""
    stop_loss: str = ""
    take_profit: str = ""
    lot_size: int = 1
    """Units per lot: above 1 (futures, options) ``quantity`` counts lots, not units."""
    option: bool = False  # the price is a premium (an option), not a value

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
    margin: int | None = None  # F&O: what the order blocks (premium + margin change)
    available: int | None = None  # F&O: funds available before the order
    short_of_funds: bool = False

    def html(self) -> str:
        cls = "lt-whatif-ok" if self.ok else "lt-whatif-bad"
        out = f'<span class="{cls}">{html.escape(self.text)}</span>'
        if self.margin is not None and self.available is not None:
            warn = "lt-margin-short" if self.short_of_funds else "lt-margin-ok"
            line = f"funds needed {inr(self.margin)} of {inr(self.available)} available"
            if self.short_of_funds:
                line = (
                    f"⚠ needs {inr(self.margin)}, only {inr(self.available)} available: "
                    "the order will be refused"
                )
            out += f'<div class="lt-margin-line {warn}">{html.escape(line)}</div>'
        return out


class _Bad(Exception):
    """A ticket input problem (its message is the sentence shown); ``code`` as the engine's."""

    def __init__(self, text: str, code: str = "INVALID_INPUT") -> None:
        super().__init__(text)
        self.code = code


def _quantity(raw: int | str, lot: int = 1) -> int:
    """Units from the Qty box; with ``lot`` > 1 the box counts lots (its label says Lots)."""
    try:
        if isinstance(raw, bool):
            raise ValueError("Qty must be a whole number of shares.")
        if isinstance(raw, int):
            if raw <= 0:
                raise ValueError("Qty must be at least 1 share.")
            return raw * lot
        return parse_quantity(str(raw), LABELS["quantity"]) * lot
    except ValueError as exc:
        text = str(exc)
        if lot > 1:
            text = text.replace("Qty", "Lots").replace("shares", "lots").replace("share", "lot")
        raise _Bad(text, "INVALID_QUANTITY") from None


def _price(raw: str, field: str) -> int | None:
    """A price box's text in paise (``None`` if blank); Indian or plain grouping accepted."""
    label = LABELS[field]
    if not raw.strip():
        return None
    try:
        p = to_paise(parse_rupees(raw, label), field)
    except (ValueError, InvalidInput) as exc:
        raise _Bad(str(exc), "INVALID_PRICE") from None
    if p <= 0:
        raise _Bad(f"{label} must be positive.", "INVALID_PRICE")
    if p % TICK_PAISE:
        raise _Bad(f"{label} {inr(p)} is not a multiple of the ₹0.05 tick.", "INVALID_PRICE")
    return p


@dataclass(frozen=True, slots=True)
class _Parsed:
    quantity: int
    limit: int | None
    trigger: int | None
    stop_loss: int | None
    take_profit: int | None


def _parse(t: TicketInput) -> _Parsed:
    """Every box read strictly, in the order they sit on the ticket (first problem wins)."""
    qty = _quantity(t.quantity, t.lot_size)
    limit = _price(t.limit_price, "limit_price") if t.uses_limit else None
    trigger = _price(t.trigger_price, "trigger_price") if t.uses_trigger else None
    if t.uses_limit and limit is None:
        raise _Bad(f"A {t.kind.value} order needs a Limit price.", "MISSING_PRICE")
    if t.uses_trigger and trigger is None:
        raise _Bad(f"A {t.kind.value} order needs a Trigger price.", "MISSING_PRICE")
    sl = _price(t.stop_loss, "stop_loss")
    tp = _price(t.take_profit, "take_profit")
    return _Parsed(qty, limit, trigger, sl, tp)


def what_if(session: Session, t: TicketInput) -> WhatIf:
    """Estimated fill, notional, charges, cash after, and P&L at the stop-loss/take-profit."""
    try:
        return _what_if(session, t)
    except _Bad as bad:
        return WhatIf(False, str(bad))


def _fno_need(
    session: Session, t: TicketInput, qty: int, fill: int, last: int, charges: int
) -> tuple[int, int, int] | None:
    """F&O: (margin change, premium + margin + charges needed, available), the figures the
    engine's margin check will compare on the click; None for a share."""
    from livetrade.fno.margin import is_derivative, order_requirement

    engine = session.engine
    inst = engine.instruments.get(t.symbol)
    if not is_derivative(inst):
        return None
    held = sum(
        p.quantity for p in engine.positions() if p.symbol == t.symbol and p.product is t.product
    )
    signed = qty if t.side is Side.BUY else -qty
    under = engine.price_stream.last_paise(inst.underlying) if inst.underlying else None
    day = ns_to_datetime(session.clock.now_ns()).date()
    req = order_requirement(
        inst, signed, held, fill, last or fill, under, engine.margin_params, day
    )
    available = engine.funds_paise(premiums=False)["available_cash"]
    return req.margin, max(0, req.premium + req.margin + charges), available


def _what_if(session: Session, t: TicketInput) -> WhatIf:
    engine = session.engine
    parsed = _parse(t)
    limit, trigger = parsed.limit, parsed.trigger
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
        fill, basis = limit, f"at the limit once {inr(trigger)} trades"
    else:
        assert trigger is not None
        fill, basis = trigger, "at the trigger (a gap fills worse)"
    qty = parsed.quantity
    day = ns_to_datetime(session.clock.now_ns()).date()
    delivery = t.product is Product.CNC
    model = engine.charges_model
    notional = qty * fill
    charges = model.estimate(t.symbol, buy, delivery, qty, fill, day).total
    sign = 1 if buy else -1
    cash_after = engine.cash_paise - sign * notional - charges
    sl, tp = parsed.stop_loss, parsed.take_profit
    if sl is not None and (sl >= fill if buy else sl <= fill):
        where = "below" if buy else "above"
        raise _Bad(f"Stop-loss {inr(sl)} must be {where} the entry ≈ {inr(fill)}.")
    if tp is not None and (tp <= fill if buy else tp >= fill):
        where = "above" if buy else "below"
        raise _Bad(f"Take-profit {inr(tp)} must be {where} the entry ≈ {inr(fill)}.")

    def round_trip(exit_price: int | None) -> int | None:
        if exit_price is None:
            return None
        exit_charges = model.estimate(t.symbol, not buy, delivery, qty, exit_price, day).total
        return sign * (exit_price - fill) * qty - charges - exit_charges

    at_sl, at_tp = round_trip(sl), round_trip(tp)
    verb = "Buy" if buy else "Sell"
    fno = _fno_need(session, t, qty, fill, last, charges)
    if t.lot_size > 1:  # F&O: lots, the lot size, and the premium (or value) in rupees
        lots = qty // t.lot_size
        what = "premium" if t.option else "value"
        parts = [
            f"{verb} {lots} lot{'s' if lots != 1 else ''} × {t.lot_size} = {qty} {t.symbol}"
            f" ≈ {inr(fill)} ({basis}) · {what} {inr(notional)}"
        ]
        if fno is not None:
            change = fno[0]
            parts.append(
                f"margin {inr(change)}" if change >= 0 else f"margin released {inr(-change)}"
            )
    else:
        parts = [f"{verb} {qty} {t.symbol} ≈ {inr(fill)} ({basis}) = {inr(notional)}"]
    parts.append(f"charges {inr(charges)}")
    if fno is None:  # F&O: the margin line below says what is needed of what is available
        parts.append(f"cash after {inr(cash_after)}")

    if sl is not None:
        parts.append(f"at Stop-loss {inr(sl)}: {inr(at_sl, sign=True)}")
    if tp is not None:
        parts.append(f"at Take-profit {inr(tp)}: {inr(at_tp, sign=True)}")
    text = " · ".join(parts)
    if sl is not None or tp is not None:
        text += " (net of charges)"
    if delivery and buy and cash_after < 0:
        text += " · more than the free cash"
    if fno is None:
        return WhatIf(True, text, fill, basis, notional, charges, cash_after, at_sl, at_tp)
    _, need, available = fno
    return WhatIf(
        True, text, fill, basis, notional, charges, cash_after, at_sl, at_tp,
        need, available, need > available,
    )  # fmt: skip


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
            legs.append(f"Stop-loss {inr(order.stop_loss_paise)}")
        if order.take_profit_paise is not None:
            legs.append(f"Take-profit {inr(order.take_profit_paise)}")
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
    message = dashboard_sentence(order.message)
    return False, f"Order {order.order_id} {order.status.value.lower()}: {message}"


def submit(session: Session, t: TicketInput) -> ActionResult:
    """Place the ticket through the engine (``source="widget"``); the result or the rejection
    sentence comes back as an ``ActionResult`` (a market order the engine had to cancel is a
    failure too). The boxes are read strictly first, with the what-if's sentences: nothing
    the trader did not type exactly reaches the engine."""
    if session.closed:
        return ActionResult(False, f"Session {session.name!r} is closed; open a new one.")
    try:
        parsed = _parse(t)
    except _Bad as bad:
        return ActionResult(False, f"Not sent: {bad}", bad.code)
    filled_or_resting: list[bool] = []

    def act() -> str:
        order = session.engine.submit(
            t.symbol,
            t.side,
            parsed.quantity,
            t.kind,
            product=t.product,
            limit_price=_rupees(parsed.limit),
            trigger_price=_rupees(parsed.trigger),
            stop_loss=_rupees(parsed.stop_loss),
            take_profit=_rupees(parsed.take_profit),
            source="widget",
        )
        ok, text = describe(order)
        filled_or_resting.append(ok)
        return text

    result = run_action(act)
    if result.ok and filled_or_resting and not filled_or_resting[0]:
        return ActionResult(False, result.text, "NOT_FILLED")
    return result


def _rupees(paise: int | None) -> str | None:
    return None if paise is None else rupees_text(paise)


class OrderTicket:
    """Thin adapter: input widgets → ``TicketInput``; Buy/Sell → ``submit``.

    Qty and the prices are ``Text`` boxes read by our own parser (an ``IntText`` drops the "."
    of ``2.5`` in the browser and buys 25). Buy/Sell are disabled from the click until
    ``release`` (the dashboard calls it once ``INFLIGHT_MIN_S`` has passed and no live order
    is pending), and a click that still arrives meanwhile is ignored: one click, one order."""

    def __init__(
        self, session: Session, symbols: list[str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        w = ipywidgets()

        self.session = session
        self._clock = clock
        box = w.Layout(width="auto", min_width="0", flex="1 1 0%")
        style = {"description_width": "74px"}
        tradable = [s for s in symbols if not s.upper().endswith("-INDEX")] or symbols
        self.symbol: Any = w.Dropdown(
            options=list(symbols),
            value=tradable[0] if tradable else None,
            description="Symbol",
            style=style,
            layout=w.Layout(width="auto", min_width="0"),
        )
        self.side: Any = w.ToggleButtons(
            options=[("Buy", "BUY"), ("Sell", "SELL")],
            value="BUY",
            style={"button_width": "52px"},
            layout=box,
        )
        self.quantity: Any = w.Text(
            value="1", description=LABELS["quantity"], style=style, layout=box,
            continuous_update=True,
        )  # fmt: skip
        self.quantity.add_class("lt-qty-input")
        self.kind: Any = w.Dropdown(
            options=[k.value for k in OrderKind], value="MARKET", description="Type",
            style=style, layout=box,
        )  # fmt: skip
        self.product: Any = w.Dropdown(  # "Intraday" fits the half row "INTRADAY" overflowed
            options=[(PRODUCT_LABELS.get(p.value, p.value), p.value) for p in Product],
            value=Product.INTRADAY.value,
            description="Product", style=style, layout=box,
        )  # fmt: skip

        def price_box(field: str, placeholder: str) -> Any:
            b = w.Text(
                value="", placeholder=placeholder, description=LABELS[field], style=style,
                layout=box, continuous_update=True,
            )  # fmt: skip
            b.add_class(f"lt-{field.replace('_', '-')}-input")
            return b

        self.limit = price_box("limit_price", "₹")
        self.trigger = price_box("trigger_price", "₹")
        self.stop_loss = price_box("stop_loss", "optional ₹")
        self.take_profit = price_box("take_profit", "optional ₹")
        self.whatif: Any = w.HTML(value="")
        self.whatif.add_class("lt-whatif")
        self.buy: Any = w.Button(description="Buy", button_style="success", layout=box)
        self.buy.add_class("lt-buy")
        self.sell: Any = w.Button(description="Sell", button_style="danger", layout=box)
        self.sell.add_class("lt-sell")
        self.result: Any = w.HTML(value="")
        self.result.add_class("lt-result")
        self.buy.on_click(lambda _b: self._place(Side.BUY))
        self.sell.on_click(lambda _b: self._place(Side.SELL))
        self.on_input: Any = None
        self.on_placed: Any = None
        self.busy_until: float | None = None
        self._pending: Order | None = None
        self._enabled = True
        self._programmatic = False
        self.ignored_clicks = 0
        for b in (self.symbol, self.side, self.quantity, self.kind, self.product, self.limit,
                  self.trigger, self.stop_loss, self.take_profit):  # fmt: skip
            b.observe(self._changed, names="value")
        self.lot_size = 1
        self._option = False
        self.lot_info: Any = w.HTML(value="")
        self.lot_info.add_class("lt-lot-info")
        self._sync_lot()
        self._sync_enabled()

        def row(*children: Any) -> Any:
            return w.HBox(list(children), layout=w.Layout(width="100%", min_width="0"))

        self.widget: Any = w.VBox(
            [
                w.HTML("<b>Order ticket</b>"),
                self.symbol,
                row(self.side, self.quantity),
                self.lot_info,
                row(self.kind, self.product),
                row(self.limit, self.trigger),
                row(self.stop_loss, self.take_profit),
                self.whatif,
                row(self.buy, self.sell),
                self.result,
            ],
            layout=w.Layout(min_width="0"),
        )
        self.widget.add_class("lt-panel")
        self.widget.add_class("lt-ticket")

    def read(self) -> TicketInput:
        kind = OrderKind(self.kind.value)
        t = TicketInput(
            symbol=self.symbol.value or "",
            side=Side[self.side.value],
            quantity=str(self.quantity.value),
            kind=kind,
            lot_size=self.lot_size,
            option=self._option,
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
        self.limit.disabled = not self._enabled or kind not in (OrderKind.LIMIT, OrderKind.SL)
        self.trigger.disabled = not self._enabled or kind not in (OrderKind.SL, OrderKind.SL_M)
        idle = self._enabled and self.busy_until is None
        self.buy.disabled = self.sell.disabled = not idle

    def _sync_lot(self) -> None:
        """A derivative's Qty box counts lots: relabel it and show the lot size and expiry."""
        from livetrade.instruments import InstrumentKind

        symbol = self.symbol.value or ""
        inst = self.session.engine.instruments.get(symbol) if symbol else None
        fno = inst is not None and inst.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)
        lot = inst.lot_size if inst is not None and fno else 1
        self.lot_size = max(int(lot), 1)
        self._option = inst is not None and inst.kind is InstrumentKind.OPTION
        self.quantity.description = "Lots" if self.lot_size > 1 else LABELS["quantity"]
        if self.lot_size > 1 and inst is not None:
            when = f" · expires {inst.expiry:%d %b %Y %H:%M}" if inst.expiry else ""
            self.lot_info.value = (
                f'<span class="lt-muted">lot size {self.lot_size} units{when}</span>'
            )
        else:
            self.lot_info.value = ""

    def _changed(self, change: dict[str, Any]) -> None:
        if change.get("owner") is self.symbol:
            self._sync_lot()
        if change.get("owner") is self.kind:
            self._sync_enabled()
        if not self._programmatic and 'class="lt-err"' in self.result.value:
            self.result.value = ""  # a red sentence about the old input no longer applies
        if self.on_input is not None:
            self.on_input(change.get("owner") is self.symbol)

    @property
    def busy(self) -> bool:
        """An order was just sent from here (Buy/Sell are disabled)."""
        return self.busy_until is not None

    def _place(self, side: Side) -> None:
        if self.busy or not self._enabled:
            self.ignored_clicks += 1  # the second click of a double-click, or a dead ticket
            return
        self.busy_until = self._clock() + INFLIGHT_MIN_S
        self._sync_enabled()
        if self.side.value != side.name:
            with self._quiet():
                self.side.value = side.name  # the what-if then describes what was sent
        before = len(self.session.engine.orders)
        result = submit(self.session, self.read().with_side(side))
        orders = self.session.engine.orders
        self._pending = orders[-1] if len(orders) > before else None
        if self._pending is None:  # refused before the engine took it: nothing in flight
            self.busy_until = None
            self._sync_enabled()
        self.result.value = result.html()
        if result.ok:
            with self._quiet():  # the next order starts without the last one's exits
                self.stop_loss.value = ""
                self.take_profit.value = ""
        if self.on_placed is not None:
            self.on_placed()

    def release(self, now: float) -> bool:
        """Re-enable Buy/Sell once the minimum has passed and no order from here is still
        PENDING at the broker; returns whether it did."""
        if self.busy_until is None or now < self.busy_until:
            return False
        if self._pending is not None and self._pending.status is OrderStatus.PENDING:
            return False
        self.busy_until = None
        self._pending = None
        self._sync_enabled()
        return True

    def set_enabled(self, enabled: bool) -> None:
        """Grey out every input (session closed): a dead dashboard must not look tradable."""
        if enabled == self._enabled:
            return
        self._enabled = enabled
        for b in (self.symbol, self.side, self.quantity, self.kind, self.product,
                  self.stop_loss, self.take_profit):  # fmt: skip
            b.disabled = not enabled
        self._sync_enabled()

    def clear_result(self) -> None:
        self.result.value = ""

    def load(self, symbol: str, *, side: Side | None = None, quantity: int | None = None) -> None:
        """Put ``symbol`` (and optionally a side and size: lots for a derivative) on the
        ticket: a click on a quote, position or option-chain row. A symbol not in the list
        (a contract picked on the chain) joins it."""
        if symbol and symbol not in self.symbol.options:
            self.symbol.options = [*self.symbol.options, symbol]
        if symbol in self.symbol.options:
            self.symbol.value = symbol
        if side is not None:
            self.side.value = side.name
        if quantity is not None:
            self.quantity.value = str(quantity)

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        self._programmatic = True
        try:
            yield
        finally:
            self._programmatic = False

    def set_symbols(self, symbols: list[str]) -> None:
        if list(self.symbol.options) != symbols:
            current = self.symbol.value
            if current and current not in symbols and self.lot_size > 1:
                symbols = [*symbols, current]  # a contract loaded from the chain stays
            self.symbol.options = symbols
            if current in symbols:
                self.symbol.value = current

    def update(self, view: WhatIf) -> None:
        with hold_sync(self.whatif):
            self.whatif.value = view.html()
