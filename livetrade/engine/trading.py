"""Orders in and out: submit (parse, pre-trade checks, accept), modify, cancel, the kill
switch and square-off."""

from __future__ import annotations

import logging

from livetrade.engine.book import _unset
from livetrade.engine.events import EngineEvent
from livetrade.engine.matching import Matching
from livetrade.errors import OrderRejected
from livetrade.model import (
    KillSwitch,
    Order,
    OrderKind,
    OrderStatus,
    Product,
    Role,
    Side,
    transition,
)
from livetrade.request import OrderRequest, check_lot, parse_price
from livetrade.risk import (
    PRE_TRADE_CHECKS,
    Check,
    PreTrade,
    band_rejection,
    check_size,
    first_rejection,
    reference_price,
    tick_rejection,
)

log = logging.getLogger("livetrade.engine")


class Trading(Matching):
    """One layer of :class:`~livetrade.engine.LiveTradingEngine` (see the module docstring)."""

    pre_trade_checks: tuple[Check, ...] = PRE_TRADE_CHECKS
    """The rules every new order passes, in order (``livetrade.risk``). A desk adds its own on
    one engine with ``engine.pre_trade_checks += (my_check,)``: a function of the request and
    the :class:`~livetrade.risk.PreTrade` context that returns an ``OrderRejected`` or None."""

    def submit(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        kind: OrderKind | str = OrderKind.MARKET,
        *,
        product: Product | str | None = None,
        limit_price: object = None,
        trigger_price: object = None,
        stop_loss: object = None,
        take_profit: object = None,
        tag: str | None = None,
        source: str = "api",
        origin: str = "",
        amo: bool = False,
    ) -> Order:
        """Parse user input into an :class:`~livetrade.request.OrderRequest` and
        :meth:`place` it. Raises ``OrderRejected``; a rejection changes nothing.

        ``stop_loss``/``take_profit`` attach a one-cancels-other bracket to the position this
        order opens or adds to, sized to the filled quantity. ``amo=True``: an after-market
        order, held until the next open where the calendar allows it (``risk.check_amo``).
        """
        try:
            self._check_armed()
            req = OrderRequest.parse(
                symbol, side, quantity, kind, product=product, limit_price=limit_price,
                trigger_price=trigger_price, stop_loss=stop_loss, take_profit=take_profit,
                tag=tag, source=source, default_product=self.default_product,
                instruments=self.instruments, amo=amo,
            )  # fmt: skip
        except OrderRejected as rej:
            self._refused(rej, self.clock.now_ns())
            raise
        return self.place(req, origin=origin)

    def place(self, req: OrderRequest, *, origin: str = "") -> Order:
        """The one way an order enters the engine: ``submit``, the session, the REST API, the
        dashboard, journal replay and the original ``market_buy`` all end here. Runs
        :attr:`pre_trade_checks`, then accepts the order (journaled) and executes or rests it.
        Raises ``OrderRejected``; a rejection changes nothing but is journaled."""
        now = self.clock.now_ns()
        try:
            self._check_armed()
            rejection = first_rejection(req, self._pre_trade(req, now), self.pre_trade_checks)
            if rejection is not None:
                raise rejection
        except OrderRejected as rej:
            self._refused(rej, now)
            raise
        order = req.order(self._next_id(), now, origin)
        if req.amo:  # passed check_amo: held until the open (livetrade.engine.matching)
            self._accept_amo(order, req, now)
            self._flush()
            return order
        self._accept(order, now)
        top = self.price_stream.top(req.symbol)
        assert top is not None  # check_quote_present passed
        self._dispatch(order, top, now)
        self._flush()
        return order

    def _check_armed(self) -> None:
        """Live: the trader armed it, and the router has no reason of its own to refuse."""
        router = self.router
        if router is None:
            return
        if not router.armed:
            raise OrderRejected(
                "NOT_ARMED",
                "Live trading is not armed: call session.arm_live(confirm='LIVE') first.",
                "live",
            )
        refusal = router.refusal()
        if refusal is not None:
            raise refusal

    def _refused(self, rejection: OrderRejected, now: int) -> None:
        """Journal a refused order (nothing else changes)."""
        self._emit(
            EngineEvent("order_rejected", now, message=rejection.reason, code=rejection.code)
        )
        self._flush()

    def _dispatch(self, order: Order, top: tuple[int, int, int, int], now: int) -> None:
        """Paper: execute a market order or rest the rest. Live: hand it to the router, which
        only queues it; it is sent once this call has returned (and the journal is flushed)."""
        if order.live:
            assert self.router is not None
            self.router.place(order)
            return
        bid, ask, last, _ = top
        latency = self._latency_ns
        if latency and order.kind in (OrderKind.MARKET, OrderKind.LIMIT):
            self._in_flight[order.order_id] = now + latency  # meets the book on a later tick
            self._rest(order, self._book(order.symbol))
            return
        if order.kind is OrderKind.MARKET:
            if not self._execute(order, bid, ask, last, now):
                self._cancel(order, now, "no executable price for a market order")
        elif order.kind is OrderKind.LIMIT and self._depth_fills:
            if not self._execute(order, bid, ask, last, now):  # takes the book as it arrives
                self._rest(order, self._book(order.symbol))
        else:
            self._rest(order, self._book(order.symbol))
            self.on_quote(order.symbol, bid, ask, last, now)

    def _pre_trade(self, req: OrderRequest, now: int) -> PreTrade:
        """What ``req`` means against the book, the position and the clock right now."""
        top = self.price_stream.top(req.symbol)
        ref = reference_price(req, top[0], top[1], top[2]) if top is not None else 0
        pos = self._positions.get((req.symbol, req.product))
        pos_qty = pos.qty if pos is not None else 0
        reduces = (
            pos_qty != 0
            and (pos_qty > 0) != (req.side is Side.BUY)
            and req.quantity <= abs(pos_qty)
        )
        return PreTrade(self, now, top, ref, pos_qty, reduces)

    def _accept(self, order: Order, now: int) -> None:
        if self.router is not None:  # live: PENDING until the broker acknowledges it
            order.live = True
            transition(order, OrderStatus.PENDING)
        else:
            transition(order, OrderStatus.OPEN)
            order.broker_order_id = order.order_id
        self._orders[order.order_id] = order
        self._rate.record(now)
        self._emit(EngineEvent("order_accepted", now, order=order))

    def _open_order(self, order_id: str, action: str) -> Order:
        """The working order ``order_id``, or the rejection saying why it cannot ``action``."""
        order = self._orders.get(order_id)
        if order is None:
            raise OrderRejected("UNKNOWN_ORDER", f"No order with id {order_id!r}.", "order_id")
        if not order.is_open:
            raise OrderRejected(
                "NOT_OPEN",
                f"Order {order_id} is {order.status.value.lower()}; only open orders {action}.",
                "order_id",
            )
        return order

    def cancel(self, order_id: str) -> Order:
        """Cancel a resting order (a bracket leg cancels alone; its partner stays)."""
        order = self._open_order(order_id, "cancel")
        self._cancel(order, self.clock.now_ns(), "cancelled by the trader")
        self._flush()
        return order

    def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        limit_price: object = None,
        trigger_price: object = None,
    ) -> Order:
        """Change a working order's quantity, limit or trigger (only what is given). Bad input
        raises ``OrderRejected`` naming the field and changes nothing. Paper: the order is
        re-queued at its new price and may fill at once. Live: the change is sent to Fyers and
        applied when Fyers confirms it (``broker_modified``)."""
        order = self._open_order(order_id, "change")
        inst = self.instruments.get(order.symbol)
        if order.kind is OrderKind.MARKET:
            raise OrderRejected("NOT_MODIFIABLE", "A market order cannot be changed.", "order_id")
        qty = order.quantity
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise OrderRejected(
                    "INVALID_QUANTITY", "quantity must be a positive whole number.", "quantity"
                )
            if quantity <= order.filled_quantity:
                raise OrderRejected(
                    "INVALID_QUANTITY",
                    f"quantity must exceed the {order.filled_quantity} already filled.",
                    "quantity",
                )
            check_lot(quantity, inst)
            qty = quantity
        limit = parse_price(limit_price, "limit_price", inst.tick_paise)
        trigger = parse_price(trigger_price, "trigger_price", inst.tick_paise)
        if limit is not None and order.kind not in (OrderKind.LIMIT, OrderKind.SL):
            raise OrderRejected(
                "UNEXPECTED_PRICE", f"A {order.kind.value} order has no limit price.", "limit_price"
            )
        if trigger is not None and (
            order.kind not in (OrderKind.SL, OrderKind.SL_M) or order.triggered
        ):
            raise OrderRejected(
                "UNEXPECTED_PRICE",
                f"Order {order_id} has no trigger to change (or it already triggered).",
                "trigger_price",
            )
        if quantity is None and limit is None and trigger is None:
            raise OrderRejected("NOTHING_TO_CHANGE", "Give quantity, limit_price or trigger_price.")
        price = limit or trigger or order.limit_paise or order.trigger_paise or 0
        check_size(self.limits, qty, qty * price)  # the per-order caps still hold
        moved = (("limit_price", limit), ("trigger_price", trigger))
        band = tick_rejection(inst, moved, self.clock.now_ns()) or band_rejection(
            self.band_source, order.symbol, moved
        )
        if band is not None:  # a new price must stay inside today's circuit limits too
            raise band
        now = self.clock.now_ns()
        if order.live and self.router is not None:
            self.router.modify(order, qty, limit, trigger)
            return order
        self._apply_modify(order, qty, limit, trigger, now, "modified by the trader")
        b = self._books.get(order.symbol)
        if b is not None:  # rebuild the symbol's heaps: the order's old entry is stale
            self._rebuild(b)
            top = self.price_stream.top(order.symbol)
            if top is not None:
                bid, ask, last, _ = top
                self.on_quote(order.symbol, bid, ask, last, now)
        self._flush()
        return order

    def _apply_modify(
        self, order: Order, qty: int, limit: int | None, trigger: int | None, now: int, why: str
    ) -> None:
        order.quantity = qty
        if limit is not None:
            order.limit_paise = limit
        if trigger is not None:
            order.trigger_paise = trigger
        order.updated_ns = now
        self._emit(EngineEvent("order_modified", now, order=order, message=why))

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancel every open order (of ``symbol``), bracket legs included."""
        out = []
        for o in list(self._orders.values()):
            if o.is_open and (symbol is None or o.symbol == symbol):
                self._cancel(o, self.clock.now_ns(), "cancel all")
                out.append(o)
        self._flush()
        return out

    def kill(self, flatten: bool = False) -> list[Order]:
        """Emergency stop: the kill switch goes to HALTED and every open entry order is
        cancelled (stop-loss/take-profit legs keep protecting what is held). ``flatten=True``
        also cancels the legs and closes every position at market. Returns the closing orders."""
        self.kill_switch = KillSwitch.HALTED
        now = self.clock.now_ns()
        self._emit(EngineEvent("kill_switch", now, message=KillSwitch.HALTED.value, code="KILL"))
        for o in list(self._orders.values()):
            if o.is_open and (flatten or o.role is Role.ENTRY):
                self._cancel(o, now, "kill switch")
        closing = []
        if flatten:
            for (symbol, product), lots in list(self._positions.items()):
                if lots.qty:
                    order = self.force_close(symbol, product, "kill switch")
                    if order is not None:
                        closing.append(order)
        self._flush()
        return closing

    def square_off(self, product: Product = Product.INTRADAY) -> list[Order]:
        """End-of-day square-off: cancel ``product``'s open orders and close its positions at
        market (the session does this at its ``square_off`` time)."""
        now = self.clock.now_ns()
        for o in list(self._orders.values()):
            if o.is_open and o.product is product:
                self._cancel(o, now, "intraday square-off")
        closing = []
        for (symbol, prod), lots in list(self._positions.items()):
            if prod is product and lots.qty:
                order = self.force_close(symbol, prod, "square-off")
                if order is not None:
                    closing.append(order)
        self._flush()
        return closing

    def force_close(self, symbol: str, product: Product, source: str) -> Order | None:
        """A market exit that no limit or kill switch may block (it only reduces risk). Needs a
        quote; without one the position stays and an error event says so."""
        lots = self._positions[(symbol, product)]
        top = self.price_stream.top(symbol)
        now = self.clock.now_ns()
        if top is None and self.router is not None:
            top = (0, 0, 0, now)  # live: the broker prices a market exit; no quote needed
        if top is None:
            self._emit(
                EngineEvent(
                    "order_rejected",
                    now,
                    message=f"cannot close {symbol}: no quote",
                    code="NO_QUOTE",
                )
            )
            return None
        order = Order(
            order_id=self._next_id(),
            symbol=symbol,
            side=Side.SELL if lots.qty > 0 else Side.BUY,
            kind=OrderKind.MARKET,
            product=product,
            quantity=abs(lots.qty),
            created_ns=now,
            updated_ns=now,
            source=source,
        )
        self._accept(order, now)
        self._dispatch(order, top, now)
        return order

    def close_position(self, symbol: str, product: Product | str | None = None) -> Order | None:
        """Square off a position at market (``None`` if flat). Bracket legs are cancelled."""
        if _unset(product):
            prod = self.default_product
        else:
            try:
                prod = product if isinstance(product, Product) else Product(str(product).upper())
            except ValueError:
                raise OrderRejected(
                    "INVALID_PRODUCT", f"Product {product!r} is not INTRADAY or CNC.", "product"
                ) from None
        lots = self._positions.get((symbol, prod))
        if lots is None or lots.qty == 0:
            return None
        side = Side.SELL if lots.qty > 0 else Side.BUY
        return self.submit(symbol, side, abs(lots.qty), OrderKind.MARKET, product=prod)
