"""A live session's margin pre-check: Fyers' margin calculator asked before a futures or
options order (or a basket holding one) is journaled or sent (#15 item 4).

Why before the engine: an order Fyers' risk system would refuse for margin should not be
journaled, sent and rejected; the trader gets Fyers' own figures at once. The check is advice,
not a gate: when the calculator cannot be asked, the order goes ahead (the exchange and Fyers
still check it) and the failure is reported on the session's ``error_event``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from livetrade.errors import LiveTradeError, OrderRejected
from livetrade.fmt import inr
from livetrade.fno.margin import is_derivative
from livetrade.model import Side
from livetrade.money import from_paise
from livetrade.request import OrderRequest

if TYPE_CHECKING:
    from livetrade.fyers.broker import BasketLeg
    from livetrade.session.orders import Orders

__all__ = ["check_margin", "margin_request"]

log = logging.getLogger("livetrade.session")


def _wanted(session: Orders) -> bool:
    """Only an armed live session with ``margin_check`` on asks (unarmed: the engine refuses)."""
    router = session.router
    return router is not None and router.armed and session.config.margin_check


def margin_request(
    session: Orders,
    symbol: str,
    side: Side,
    quantity: int,
    order_type: object,
    limit_price: object,
    trigger_price: object,
    product: object,
    slice: bool,
) -> list[OrderRequest]:
    """The order as the engine will read it, when a pre-check is due (else ``[]``; an order the
    engine will refuse anyway is left to it, so its refusal is journaled as always)."""
    if not _wanted(session):
        return []
    try:
        req = OrderRequest.parse(
            symbol,
            side,
            quantity,
            order_type,
            product=product,
            limit_price=limit_price,
            trigger_price=trigger_price,
            default_product=session.engine.default_product,
            instruments=session.engine.instruments,
            slice=slice,
        )
    except OrderRejected:
        return []
    return [req]


def _leg(req: OrderRequest) -> BasketLeg:
    from livetrade.fyers.broker import BasketLeg

    return BasketLeg(
        req.symbol,
        req.side,
        req.quantity,
        req.kind,
        req.product,
        limit_price=None if req.limit_paise is None else from_paise(req.limit_paise),
        trigger_price=None if req.trigger_paise is None else from_paise(req.trigger_paise),
    )


async def check_margin(session: Orders, requests: Sequence[OrderRequest]) -> None:
    """Ask Fyers what ``requests`` need together (buys first: Fyers gives the hedge benefit
    only then) and raise ``OrderRejected("INSUFFICIENT_MARGIN", ..., "quantity")`` when it is
    more than the available margin. Nothing is asked unless one of them is a derivative."""
    if not requests or not _wanted(session):
        return
    if not any(r.instrument is not None and is_derivative(r.instrument) for r in requests):
        return
    router = session.router
    assert router is not None
    legs = [_leg(r) for r in sorted(requests, key=lambda r: r.side is not Side.BUY)]
    try:
        margin = await router.client.order_margin(legs)
    except LiveTradeError as exc:
        log.warning("Fyers' margin calculator failed (the order goes ahead): %s", exc)
        session._report(exc)
        return
    if margin.new_order > margin.available:
        if len(requests) == 1:
            r = requests[0]
            what = f"{r.side.name} {r.quantity} {r.symbol}"
        else:
            what = f"The basket of {len(requests)} orders"
        raise OrderRejected(
            "INSUFFICIENT_MARGIN",
            f"{what} needs {inr(margin.new_order)} margin but {inr(margin.available)} is "
            "available (Fyers).",
            "quantity",
        )
