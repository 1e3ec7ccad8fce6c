"""Recovery: the journal's orders, fills and changes read back into a fresh engine."""

from __future__ import annotations

import logging

from livetrade.engine.book import _id_number
from livetrade.engine.broker import BrokerReports
from livetrade.model import (
    Fill,
    Order,
    OrderKind,
    OrderStatus,
    Product,
    Side,
    ns_to_datetime,
    transition,
)

log = logging.getLogger("livetrade.engine")


class Restore(BrokerReports):
    """Recovery: the journal's orders, fills and changes read back into a fresh engine."""

    def restore_order(self, order: Order) -> None:
        """Recovery: an order read back from the journal, as it was when accepted."""
        self._orders[order.order_id] = order
        if order.oco_id is not None:
            self._oco.setdefault(order.oco_id, []).append(order)
            key = (order.symbol, order.product)
            groups = self._brackets.setdefault(key, [])
            if order.oco_id not in groups:
                groups.append(order.oco_id)
        self._seq = max(self._seq, _id_number(order.order_id))

    def restore_fill(self, fill: Fill) -> None:
        """Recovery: a fill read back from the journal (with the charges it was billed)."""
        order = self._orders[fill.order_id]
        self._book_fill(order, fill)
        self.charges_model.record(
            fill.symbol,
            fill.side is Side.BUY,
            fill.product is Product.CNC,
            fill.quantity,
            fill.price_paise,
            ns_to_datetime(fill.ts_ns).date(),
            fill.charges,
        )
        self._fill_seq = max(self._fill_seq, _id_number(fill.fill_id))

    def restore_change(
        self,
        order_id: str,
        kind: str,
        ts_ns: int,
        quantity: int | None = None,
        message: str = "",
        limit: int | None = None,
        trigger: int | None = None,
    ) -> None:
        """Recovery: ``order_triggered``, ``order_cancelled`` or ``order_modified``."""
        order = self._orders[order_id]
        order.updated_ns = ts_ns
        if kind == "order_triggered":
            order.triggered = True
        elif kind == "order_cancelled":
            transition(order, OrderStatus.CANCELLED)
            order.message = message
        elif kind == "order_modified":
            if quantity is not None:
                order.quantity = quantity
            if limit is not None:
                order.limit_paise = limit
            if trigger is not None:
                order.trigger_paise = trigger
        elif kind == "order_routed":
            order.broker_order_id = message
            if order.status is OrderStatus.PENDING:
                transition(order, OrderStatus.OPEN)
        elif kind == "order_rejected":
            transition(order, OrderStatus.REJECTED)
            order.message = message

    def finish_restore(self) -> None:
        """Recovery done: put every open order back in its symbol's trigger book (live orders
        stay with their broker; the router reconciles them)."""
        for order in self._orders.values():
            if order.live:
                continue
            if order.status is OrderStatus.PENDING and order.release_ns is not None:
                self._hold(order, order.release_ns)  # an AMO not yet released: held again
            elif order.is_open and order.kind is not OrderKind.MARKET:
                self._rest(order, self._book(order.symbol))
            elif order.is_open:  # a market order never outlives its call: it was not acked
                transition(order, OrderStatus.CANCELLED)
                order.message = "interrupted before it filled"
