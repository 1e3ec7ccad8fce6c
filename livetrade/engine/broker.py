"""A live broker's reports: acknowledgements, refusals, fills and cancels from Fyers, and
adopting positions opened elsewhere."""

from __future__ import annotations

import logging

from livetrade.engine.events import EngineEvent
from livetrade.engine.trading import Trading
from livetrade.errors import InvalidInput
from livetrade.model import Fill, Order, OrderKind, OrderStatus, Product, Role, Side, transition
from livetrade.money import Charges

log = logging.getLogger("livetrade.engine")


class BrokerReports(Trading):
    """One layer of :class:`~livetrade.engine.LiveTradingEngine` (see the module docstring)."""

    def broker_modified(
        self, order_id: str, quantity: int, limit: int | None, trigger: int | None
    ) -> Order:
        """Fyers confirmed a change of ``order_id`` (live)."""
        order = self._live_order(order_id)
        if not order.status.is_terminal:
            self._apply_modify(order, quantity, limit, trigger, self.clock.now_ns(), "modified")
            self._flush()
        return order

    def adopt_position(
        self, symbol: str, product: Product, quantity: int, price_paise: int
    ) -> Order:
        """Reconciliation: take on a position difference the broker shows (an order placed
        elsewhere) as one filled order at the broker's average price. No charges are billed:
        the broker billed them on the original trades."""
        if quantity == 0 or price_paise <= 0:
            raise InvalidInput("quantity", "adopt a non-zero quantity at a positive price")
        now = self.clock.now_ns()
        order = Order(
            order_id=self._next_id(),
            symbol=symbol,
            side=Side.BUY if quantity > 0 else Side.SELL,
            kind=OrderKind.MARKET,
            product=product,
            quantity=abs(quantity),
            created_ns=now,
            updated_ns=now,
            source="reconcile",
            live=self.router is not None,
            status=OrderStatus.PENDING if self.router is not None else OrderStatus.OPEN,
            broker_order_id="external",
        )
        self._orders[order.order_id] = order
        self._emit(EngineEvent("order_accepted", now, order=order))
        self._fill_seq += 1
        fill = Fill(
            fill_id=f"F{self._fill_seq:07d}",
            order_id=order.order_id,
            symbol=symbol,
            side=order.side,
            quantity=order.quantity,
            price_paise=price_paise,
            ts_ns=now,
            product=product,
            role=Role.ENTRY,
            charges=Charges(),
            trade_id=f"adopted-{order.order_id}",
        )
        before = self._book_fill(order, fill)
        self._emit(EngineEvent("fill", now, order=order, fill=fill))
        self._emit(EngineEvent("order_filled", now, order=order))
        lots = self._positions[(symbol, product)]
        if before:
            self._cap_brackets((symbol, product), now)
        self._emit(
            EngineEvent(
                "position_opened" if before == 0 else "position_changed",
                now,
                position=lots.view(self.price_stream.last_paise(symbol)),
            )
        )
        self._flush()
        return order

    def _live_order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None or not order.live:
            raise InvalidInput("order_id", f"{order_id!r} is not a live order of this engine")
        return order

    def broker_ack(self, order_id: str, broker_order_id: str) -> Order:
        """The broker accepted our order ``order_id`` as ``broker_order_id`` (journaled)."""
        order = self._live_order(order_id)
        now = self.clock.now_ns()
        order.broker_order_id = broker_order_id
        if order.status is OrderStatus.PENDING:
            transition(order, OrderStatus.OPEN)
        order.updated_ns = now
        self._emit(EngineEvent("order_routed", now, order=order, message=broker_order_id))
        self._flush()
        return order

    def broker_rejected(self, order_id: str, code: str, message: str) -> Order:
        """The broker refused ``order_id`` (or it never reached the broker)."""
        order = self._live_order(order_id)
        if order.status.is_terminal:
            return order
        now = self.clock.now_ns()
        transition(order, OrderStatus.REJECTED)
        order.message = message
        order.updated_ns = now
        if order.role is not Role.ENTRY:
            log.warning("bracket leg %s was rejected: %s is unprotected", order_id, order.symbol)
        self._emit(EngineEvent("order_rejected", now, order=order, message=message, code=code))
        self._flush()
        return order

    def broker_fill(
        self, order_id: str, quantity: int, price_paise: int, ts_ns: int, trade_id: str
    ) -> Fill:
        """An execution the broker reported. Positions, cash and charges follow it exactly as a
        paper fill (one-cancels-other and brackets included); the broker is the truth, so a
        fill beyond what we asked for is booked too, with a warning."""
        order = self._live_order(order_id)
        if quantity <= 0 or price_paise <= 0:
            raise InvalidInput("quantity", "a broker fill needs a positive quantity and price")
        if order.status is OrderStatus.PENDING:
            transition(order, OrderStatus.OPEN)
        if quantity > order.quantity - order.filled_quantity:
            log.warning("broker filled %d of %s, more than the %d left", quantity, order_id,
                        order.quantity - order.filled_quantity)  # fmt: skip
        fill = self._fill(order, quantity, price_paise, ts_ns, trade_id)
        self._flush()
        return fill

    def broker_closed(self, order_id: str, message: str) -> Order:
        """The broker cancelled (or expired) ``order_id``; what filled before stays filled."""
        order = self._live_order(order_id)
        if order.status.is_terminal:
            return order
        now = self.clock.now_ns()
        transition(order, OrderStatus.CANCELLED)
        order.message = message
        order.updated_ns = now
        self._emit(EngineEvent("order_cancelled", now, order=order, message=message))
        self._flush()
        return order
