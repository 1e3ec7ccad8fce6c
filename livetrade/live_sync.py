"""Read-back for the live router: what Fyers' order book, tradebook and order socket say
happened to our orders, applied to the engine.

Why its own module: sending orders (``livetrade.live``) and learning their fate are two jobs.
Here an order whose REST answer was lost is adopted by its tag, each trade is booked once (by
trade number) as a broker fill, and cancellations, expiries and rejections close ours; a
cancel seen before its last fills waits for them. ``LiveRouter.sync``/``apply_order``/
``apply_trade`` call these functions with the router.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from livetrade.fyers.broker import BrokerOrder, BrokerTrade
from livetrade.model import Order, OrderStatus, datetime_to_ns
from livetrade.money import to_paise

if TYPE_CHECKING:
    from livetrade.live import LiveRouter


@dataclass
class SyncReport:
    """What one :meth:`LiveRouter.sync` changed."""

    acked: int = 0
    fills: int = 0
    closed: int = 0
    rejected: int = 0
    external_trades: int = 0  # trades of orders that are not ours (placed elsewhere)

    @property
    def changed(self) -> bool:
        return bool(self.acked or self.fills or self.closed or self.rejected)


async def sync(router: LiveRouter) -> SyncReport:
    """Read the order book and the tradebook once and apply what changed (the caller holds
    the router's sync lock)."""
    report = SyncReport()
    book = await router.client.orderbook()
    trades = await router.client.tradebook()
    router.polls += 1
    for row in book:
        router.apply_order(row, report)
    for trade in trades:
        router.apply_trade(trade, report)
    return report


def apply_order(router: LiveRouter, row: BrokerOrder, report: SyncReport | None = None) -> None:
    """One order-book row or order-socket update: adopt it by tag if its answer was lost,
    then close ours if Fyers cancelled, expired or rejected it."""
    report = report if report is not None else SyncReport()
    order = router._by_broker.get(row.order_id)
    if order is None and row.tag is not None and row.tag in router._by_tag:
        order = adopt(router, row.tag, row.order_id, report)
    if order is not None:
        settle(router, order, row, report)


def adopt(router: LiveRouter, tag: str, broker_id: str, report: SyncReport) -> Order | None:
    """Fyers shows an order by our tag before (or instead of) its REST answer: it is ours
    (an answer lost to a timeout, or an update that beat the answer)."""
    order = router._by_tag.pop(tag, None)
    if order is None:
        return None
    router.uncertain.discard(order.order_id)
    router._by_broker[broker_id] = order
    if order.broker_order_id is not None:
        return order
    if order.status.is_terminal:
        order.broker_order_id = broker_id
    else:
        router.engine.broker_ack(order.order_id, broker_id)
    report.acked += 1
    if order.order_id in router._cancelling:
        router._cancelling.discard(order.order_id)
        router.cancel(order, "cancel requested while its answer was lost")
    return order


def settle(router: LiveRouter, order: Order, row: BrokerOrder, report: SyncReport) -> None:
    """Close ``order`` if Fyers' ``row`` says it was rejected, cancelled or expired."""
    if order.status.is_terminal:
        router._pending_close.pop(order.order_id, None)
        return
    if row.status is OrderStatus.REJECTED and order.filled_quantity == 0:
        router.engine.broker_rejected(
            order.order_id, "BROKER_REJECTED", row.message or "rejected by Fyers"
        )
        report.rejected += 1
    elif row.status is OrderStatus.CANCELLED:
        if order.filled_quantity >= min(row.filled_quantity, order.quantity):
            router._pending_close.pop(order.order_id, None)
            why = row.message or f"{row.fyers_status.name.lower()} at Fyers"
            router.engine.broker_closed(order.order_id, why)
            report.closed += 1
        else:  # its last fills are not in yet (the tradebook can lag the order book)
            router._pending_close[order.order_id] = row


def apply_trade(router: LiveRouter, trade: BrokerTrade, report: SyncReport | None = None) -> None:
    """One tradebook row or order-socket trade: booked once, by trade number."""
    report = report if report is not None else SyncReport()
    if trade.trade_id in router._seen_trades:
        return
    order = router._by_broker.get(trade.order_id)
    if order is None and trade.tag is not None and trade.tag in router._by_tag:
        order = adopt(router, trade.tag, trade.order_id, report)
    if order is None:
        report.external_trades += 1
        return
    router._seen_trades.add(trade.trade_id)
    engine = router.engine
    ts = datetime_to_ns(trade.traded_at) if trade.traded_at else engine.clock.now_ns()
    ts = max(ts, order.created_ns)  # Fyers' times are whole seconds: never before the order
    engine.broker_fill(order.order_id, trade.quantity, to_paise(trade.price), ts, trade.trade_id)
    report.fills += 1
    row = router._pending_close.get(order.order_id)
    if row is not None:
        settle(router, order, row, report)
