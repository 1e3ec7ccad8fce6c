"""Journal rows: how engine events become the JSON ``data`` of a journal row, and back.

Why its own module: the row format is what a journal on disk promises to every later livetrade
(restore, replay, ``livetrade journal check``), so it lives apart from the SQLite store that
keeps the rows and from the code that replays them. Amounts are exact integer paise; charges
are the eight-field list of :class:`livetrade.money.Charges`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livetrade.engine import EngineEvent
from livetrade.engine.events import Conversion
from livetrade.model import Fill, Order, OrderKind, OrderStatus, Product, Role, Side
from livetrade.money import Charges

# Derived facts (positions) are not journaled: they are rebuilt from fills.
_KINDS = {
    "order_accepted",
    "order_rejected",
    "order_triggered",
    "order_cancelled",
    "order_modified",
    "order_routed",
    "order_sliced",
    "fill",
    "charges_refunded",
    "kill_switch",
    "position_converted",
}


def order_to_dict(o: Order) -> dict[str, Any]:
    d = {
        "order_id": o.order_id,
        "symbol": o.symbol,
        "side": o.side.name,
        "kind": o.kind.value,
        "product": o.product.value,
        "quantity": o.quantity,
        "limit": o.limit_paise,
        "trigger": o.trigger_paise,
        "role": o.role.value,
        "stop_loss": o.stop_loss_paise,
        "take_profit": o.take_profit_paise,
        "parent_id": o.parent_id,
        "oco_id": o.oco_id,
        "tag": o.tag,
        "source": o.source,
        "origin": o.origin,
        "created_ns": o.created_ns,
    }
    if o.live:  # sent to a broker: PENDING until its acknowledgement is journaled
        d["live"] = True
    if o.basket_id is not None:  # one leg of a basket (engine.place_basket)
        d["basket_id"] = o.basket_id
    if o.release_ns is not None:  # a held AMO: PENDING until its release is journaled
        d["amo_release_ns"] = o.release_ns
    return d


def order_from_dict(d: dict[str, Any]) -> Order:
    return Order(
        order_id=d["order_id"],
        symbol=d["symbol"],
        side=Side[d["side"]],
        kind=OrderKind(d["kind"]),
        product=Product(d["product"]),
        quantity=d["quantity"],
        limit_paise=d["limit"],
        trigger_paise=d["trigger"],
        status=OrderStatus.PENDING if d.get("live") or "amo_release_ns" in d else OrderStatus.OPEN,
        role=Role(d["role"]),
        created_ns=d["created_ns"],
        updated_ns=d["created_ns"],
        stop_loss_paise=d["stop_loss"],
        take_profit_paise=d["take_profit"],
        parent_id=d["parent_id"],
        oco_id=d["oco_id"],
        tag=d["tag"],
        source=d["source"],
        origin=d.get("origin", ""),
        broker_order_id=None if d.get("live") or "amo_release_ns" in d else d["order_id"],
        live=bool(d.get("live")),
        basket_id=d.get("basket_id"),
        release_ns=d.get("amo_release_ns"),
    )


def fill_to_dict(f: Fill) -> dict[str, Any]:
    c = f.charges
    return {
        "fill_id": f.fill_id,
        "order_id": f.order_id,
        "symbol": f.symbol,
        "side": f.side.name,
        "quantity": f.quantity,
        "price": f.price_paise,
        "ts_ns": f.ts_ns,
        "product": f.product.value,
        "role": f.role.value,
        "charges": [c.brokerage, c.stt, c.exchange, c.ipft, c.sebi, c.stamp, c.gst, c.dp],
        **({"trade_id": f.trade_id} if f.trade_id is not None else {}),
    }


def fill_from_dict(d: dict[str, Any]) -> Fill:
    return Fill(
        fill_id=d["fill_id"],
        order_id=d["order_id"],
        symbol=d["symbol"],
        side=Side[d["side"]],
        quantity=d["quantity"],
        price_paise=d["price"],
        ts_ns=d["ts_ns"],
        product=Product(d["product"]),
        role=Role(d["role"]),
        charges=Charges(*d["charges"]),
        trade_id=d.get("trade_id"),
    )


@dataclass(frozen=True, slots=True)
class Record:
    """One journal row."""

    seq: int
    ts_ns: int
    kind: str
    data: dict[str, Any]


def _conversion_to_dict(c: Conversion) -> dict[str, Any]:
    b, r = c.billed, c.refunded
    return {
        "symbol": c.symbol,
        "quantity": c.quantity,
        "from": c.from_product.value,
        "to": c.to_product.value,
        "billed": [b.brokerage, b.stt, b.exchange, b.ipft, b.sebi, b.stamp, b.gst, b.dp],
        "refunded": [r.brokerage, r.stt, r.exchange, r.ipft, r.sebi, r.stamp, r.gst, r.dp],
    }


def _conversion_from_dict(d: dict[str, Any], ts_ns: int) -> Conversion:
    return Conversion(
        d["symbol"],
        d["quantity"],
        Product(d["from"]),
        Product(d["to"]),
        ts_ns,
        Charges(*d["billed"]),
        Charges(*d["refunded"]),
    )


def event_data(event: EngineEvent) -> dict[str, Any]:
    """The ``data`` of the row that records ``event`` (whose kind is one of ``_KINDS``),
    before the quote the engine saw is added."""
    data: dict[str, Any]
    if event.kind == "fill":
        assert event.fill is not None
        data = fill_to_dict(event.fill)
    elif event.kind == "charges_refunded":
        assert event.fill is not None and event.charges is not None
        c = event.charges
        data = {
            "fill_id": event.fill.fill_id,
            "symbol": event.fill.symbol,
            "product": event.fill.product.value,
            "message": event.message,
            "charges": [c.brokerage, c.stt, c.exchange, c.ipft, c.sebi, c.stamp, c.gst, c.dp],
        }
    elif event.kind in ("order_accepted", "order_sliced"):
        assert event.order is not None
        data = order_to_dict(event.order)
    elif event.kind == "position_converted":
        assert event.conversion is not None
        data = _conversion_to_dict(event.conversion)
    elif event.kind in ("order_rejected", "kill_switch"):
        data = {"code": event.code, "message": event.message}
        if event.order is not None:  # a live order the broker refused
            data["order_id"] = event.order.order_id
    else:
        assert event.order is not None
        data = {"order_id": event.order.order_id, "message": event.message}
        if event.kind == "order_modified":
            data["quantity"] = event.order.quantity
            data["limit"] = event.order.limit_paise
            data["trigger"] = event.order.trigger_paise
    return data
