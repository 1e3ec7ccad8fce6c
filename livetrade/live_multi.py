"""The live side of baskets and position conversion: what ``LiveRouter.place_basket`` and
``LiveRouter.convert`` do (kept here so the router module stays one job).

* A basket's legs, journaled PENDING by ``engine.place_basket``, go to Fyers in one
  ``POST /multi-order/sync`` (``FyersRestClient.place_basket``), each tagged like a single
  order, market legs priced at the protected limit as single orders are. Each leg's answer is
  applied on its own: placed → ``broker_ack``; refused → ``broker_rejected``; answer lost →
  ``uncertain``, found later by tag. If Fyers refused a leg while others were placed, the
  basket is unwound as in paper: the placed legs' remainders are cancelled, the fills are read
  back (``sync``) once those cancels are answered, and what filled is closed by market counter
  orders (``engine.unwind_fills``). A fill that arrives after that (the tradebook lagging the
  cancel) is not chased: ``engine.unwind_basket`` closes it when called again.
* A conversion is checked by the engine first (``check_conversion``: nothing is sent for a
  refusal), then sent (``FyersRestClient.convert_position``, ``overnight=1`` when no lot of
  the position was opened today), and booked
  (``engine.broker_converted``) only when Fyers accepts. A refusal is raised as the typed
  ``FyersOrderRejected``; a lost answer as ``FyersUnavailable`` (not resent, nothing booked:
  reconciliation shows whether it happened).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from livetrade.errors import AuthError, OrderRejected
from livetrade.fyers.broker import BasketLeg, FyersApiError
from livetrade.model import Order, Product, Side, ns_to_datetime

if TYPE_CHECKING:
    from livetrade.engine import Conversion, LiveTradingEngine
    from livetrade.live import LiveRouter

log = logging.getLogger("livetrade.live")


def queue_basket(router: LiveRouter, orders: list[Order]) -> None:
    """Queue one multi-order request for ``orders`` (the engine calls this once every leg is
    journaled). Without a running loop each leg is queued as a single order instead."""
    for order in orders:
        router._by_tag[router.tag(order)] = order  # an update may beat the REST answer
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        for order in orders:
            router._enqueue(order, ("place", None))
        return
    task = loop.create_task(send_basket(router, orders), name="livetrade:live:basket")
    for order in orders:
        router._chains[order.order_id] = task  # later cancels of a leg wait for the send
    task.add_done_callback(router._chain_done)


async def send_basket(router: LiveRouter, orders: list[Order]) -> None:
    engine = router.engine
    todo = [o for o in orders if not o.status.is_terminal and o.broker_order_id is None]
    legs = []
    for order in todo:
        sent = router._protected(order)
        legs.append(
            BasketLeg(
                sent.symbol,
                sent.side,
                sent.quantity,
                sent.kind,
                sent.product,
                limit_price=sent.limit_price,
                trigger_price=sent.trigger_price,
                tag=router.tag(order),
            )
        )
    try:
        ack = await router.client.place_basket(legs)
    except OrderRejected as rej:  # a bad leg or the basket refused whole: nothing placed
        for order in todo:
            router.rejections[order.order_id] = rej
            router._by_tag.pop(router.tag(order), None)
            engine.broker_rejected(order.order_id, rej.code, rej.reason)
        return
    except AuthError as exc:
        for order in todo:
            refused = OrderRejected("AUTH", f"Fyers refused the access token: {exc}", "token")
            router.rejections[order.order_id] = refused
            engine.broker_rejected(order.order_id, refused.code, refused.reason)
        router._auth_failed(exc)
        return
    except FyersApiError as exc:  # lost: each leg is looked up by its tag
        for order in todo:
            router.uncertain.add(order.order_id)
            order.message = f"sent in a basket; Fyers' answer was lost ({exc})"
        router._report(exc)
        return
    refused_any = placed_any = False
    for order, leg in zip(todo, ack.legs, strict=True):
        if leg.order_id is not None:
            placed_any = True
            router._by_tag.pop(router.tag(order), None)
            router._by_broker[leg.order_id] = order
            if order.broker_order_id is None:
                engine.broker_ack(order.order_id, leg.order_id)
        elif leg.uncertain:
            router.uncertain.add(order.order_id)
            order.message = f"sent in a basket; {leg.message}"
        else:
            refused_any = True
            why = leg.rejection or OrderRejected("BROKER_REJECTED", leg.message or "refused")
            router.rejections[order.order_id] = why
            router._by_tag.pop(router.tag(order), None)
            engine.broker_rejected(order.order_id, why.code, why.reason)
    basket_id = todo[0].basket_id if todo else None
    if refused_any and placed_any and basket_id is not None:
        task = asyncio.get_running_loop().create_task(
            _unwind(router, basket_id), name="livetrade:live:unwind"
        )
        router._chains[f"unwind:{basket_id}"] = task  # drain() waits for it too
        task.add_done_callback(router._chain_done)


async def _unwind(router: LiveRouter, basket_id: str) -> None:
    """Fyers refused a leg of ``basket_id`` and placed others: cancel what works, read the
    fills back, close them."""
    engine = router.engine
    why = f"basket {basket_id} unwound: Fyers refused a leg"
    try:
        legs = [o for o in engine.basket_orders(basket_id) if o.source != "basket-unwind"]
        for order in legs:
            if order.is_open:
                engine.cancel(order.order_id)
        waiting = [router._chains[o.order_id] for o in legs if o.order_id in router._chains]
        waiting = [t for t in waiting if t is not asyncio.current_task()]
        if waiting:
            await asyncio.wait(waiting)
        await router.sync()
        engine.unwind_fills(basket_id, why)
        engine._flush()
    except Exception as exc:  # reported, never lost in a task
        log.exception("unwinding basket %s failed", basket_id)
        router._report(exc)


async def convert(
    router: LiveRouter,
    symbol: str,
    quantity: int,
    from_product: Product | str,
    to_product: Product | str,
) -> Conversion:
    engine = router.engine
    engine._check_armed()
    plan = engine.check_conversion(symbol, quantity, from_product, to_product)
    side = Side.BUY if plan.quantity > 0 else Side.SELL
    try:
        message = await router.client.convert_position(
            plan.symbol,
            side,
            abs(plan.quantity),
            plan.from_product,
            plan.to_product,
            overnight=_carried(engine, plan),
        )
    except AuthError as exc:
        router._auth_failed(exc)
        raise
    log.info("Fyers converted %s: %s", plan, message)
    return engine.broker_converted(symbol, quantity, plan.from_product, plan.to_product)


def _carried(engine: LiveTradingEngine, plan: Conversion) -> bool:
    """Fyers' ``overnight`` flag: the position was carried from an earlier day (no lot of it
    was opened today), e.g. a MARGIN future bought yesterday."""
    lots = engine._positions.get((plan.symbol, plan.from_product))
    today = ns_to_datetime(plan.ts_ns).date()
    return lots is not None and all(ns_to_datetime(lot[2]).date() < today for lot in lots.lots)
