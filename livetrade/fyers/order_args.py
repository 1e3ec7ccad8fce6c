"""Order arguments → the JSON bodies Fyers takes, validated before anything is sent.

Sans-I/O (no client, no network): a bad argument is :class:`FyersOrderRejected` naming the
field, and nothing leaves the process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from livetrade.errors import InvalidInput
from livetrade.fyers.records import (
    FYERS_ORDER_TYPE,
    BasketLeg,
    FyersOrderRejected,
    new_tag,
    validate_tag,
)
from livetrade.model import OrderKind, Product, Side
from livetrade.money import from_paise, to_paise

__all__ = ["MAX_BASKET", "ORDER_PATH", "basket_body", "modify_body", "order_body", "order_id_arg"]

ORDER_PATH: Final = "/orders/sync"
MAX_BASKET: Final = 10
"""Fyers takes at most 10 orders in one basket (``/multi-order/sync``) and cuts an order into
at most 10 slices (``isSliceOrder``)."""


def _coerce(enum_cls: type[Any], value: object, code: str, fld: str) -> Any:
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        key = value.strip().upper().replace("-", "_")
        for member in enum_cls:
            if key in (member.name, str(member.value).upper().replace("-", "_")):
                return member
    raise FyersOrderRejected(
        code, f"{fld} {value!r} is not one of {[m.name for m in enum_cls]}.", fld
    )


def _price_arg(value: object, fld: str) -> int | None:
    if value is None:
        return None
    try:
        paise = to_paise(value, fld)
    except InvalidInput as exc:
        raise FyersOrderRejected("INVALID_PRICE", f"{fld} {exc.reason}.", fld) from None
    if paise <= 0:
        raise FyersOrderRejected("INVALID_PRICE", f"{fld} must be positive.", fld)
    return paise


def _wire_price(paise: int | None) -> float | int:
    """Paise → the JSON number Fyers expects (``800.05``; ``0`` when unused)."""
    return 0 if paise is None else float(from_paise(paise))


def _quantity_arg(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise FyersOrderRejected(
            "INVALID_QUANTITY",
            f"Quantity must be a positive whole number, got {quantity!r}.",
            "quantity",
        )
    return quantity


def _check_prices(kind: OrderKind, limit: int | None, trigger: int | None) -> None:
    needs_limit = kind in (OrderKind.LIMIT, OrderKind.SL)
    needs_trigger = kind in (OrderKind.SL, OrderKind.SL_M)
    if needs_limit and limit is None:
        raise FyersOrderRejected(
            "MISSING_PRICE", f"A {kind.value} order needs a limit_price.", "limit_price"
        )
    if not needs_limit and limit is not None:
        raise FyersOrderRejected(
            "UNEXPECTED_PRICE", f"A {kind.value} order takes no limit_price.", "limit_price"
        )
    if needs_trigger and trigger is None:
        raise FyersOrderRejected(
            "MISSING_PRICE", f"A {kind.value} order needs a trigger_price.", "trigger_price"
        )
    if not needs_trigger and trigger is not None:
        raise FyersOrderRejected(
            "UNEXPECTED_PRICE", f"A {kind.value} order takes no trigger_price.", "trigger_price"
        )


def order_body(
    fy_id: str | None,
    symbol: str,
    side: Side | str,
    quantity: int,
    kind: OrderKind | str = OrderKind.MARKET,
    product: Product | str = Product.INTRADAY,
    *,
    limit_price: object = None,
    trigger_price: object = None,
    tag: str | None = None,
    validity: Literal["DAY", "IOC"] = "DAY",
    offline: bool = False,
    slice: bool = False,
) -> dict[str, Any]:
    """The JSON body ``FyersRestClient.place_order`` sends (validated; a tag is made if none
    given). ``fy_id``: the token owner's client id, which Fyers refuses as a tag."""
    if not isinstance(symbol, str) or ":" not in symbol or symbol != symbol.strip():
        raise FyersOrderRejected(
            "INVALID_SYMBOL", f"Symbol {symbol!r} is not like 'NSE:SBIN-EQ'.", "symbol"
        )
    side_ = _coerce(Side, side, "INVALID_SIDE", "side")
    kind_ = _coerce(OrderKind, kind, "INVALID_ORDER_TYPE", "kind")
    product_ = _coerce(Product, product, "INVALID_PRODUCT", "product")
    qty = _quantity_arg(quantity)
    limit = _price_arg(limit_price, "limit_price")
    trigger = _price_arg(trigger_price, "trigger_price")
    _check_prices(kind_, limit, trigger)
    if validity not in ("DAY", "IOC"):
        raise FyersOrderRejected(
            "INVALID_VALIDITY", f"Validity must be DAY or IOC, got {validity!r}.", "validity"
        )
    tag_ = validate_tag(new_tag() if tag is None else tag, fy_id)
    body: dict[str, Any] = {
        "symbol": symbol,
        "qty": qty,
        "type": FYERS_ORDER_TYPE[kind_],
        "side": int(side_),
        "productType": product_.value,
        "limitPrice": _wire_price(limit),
        "stopPrice": _wire_price(trigger),
        "validity": validity,
        "disclosedQty": 0,
        "offlineOrder": bool(offline),
        "orderTag": tag_,
    }
    if slice:
        body["isSliceOrder"] = True
    return body


def basket_body(
    fy_id: str | None, legs: Sequence[BasketLeg | Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The JSON array ``FyersRestClient.place_basket`` sends: each leg validated as a single order
    (a refusal names the leg: ``orders[2].quantity``); tags made where missing, unique."""
    if isinstance(legs, (str, bytes, Mapping)) or not isinstance(legs, Sequence):
        raise FyersOrderRejected(
            "INVALID_BASKET", "A basket is a list of orders (BasketLeg or dicts).", "orders"
        )
    if not 1 <= len(legs) <= MAX_BASKET:
        raise FyersOrderRejected(
            "INVALID_BASKET",
            f"A basket holds 1 to {MAX_BASKET} orders, got {len(legs)}.",
            "orders",
        )
    bodies: list[dict[str, Any]] = []
    for i, raw in enumerate(legs):
        try:
            leg = raw if isinstance(raw, BasketLeg) else BasketLeg(**raw)
        except TypeError as exc:
            raise FyersOrderRejected(
                "INVALID_BASKET", f"Basket order {i + 1}: {exc}.", f"orders[{i}]"
            ) from None
        try:
            bodies.append(
                order_body(
                    fy_id,
                    leg.symbol,
                    leg.side,
                    leg.quantity,
                    leg.kind,
                    leg.product,
                    limit_price=leg.limit_price,
                    trigger_price=leg.trigger_price,
                    tag=leg.tag,
                    validity=leg.validity,
                    offline=leg.offline,
                )
            )
        except FyersOrderRejected as rej:
            raise FyersOrderRejected(
                rej.code,
                f"Basket order {i + 1}: {rej.reason}",
                f"orders[{i}].{rej.field}" if rej.field else f"orders[{i}]",
            ) from None
    tags = [b["orderTag"] for b in bodies]
    dup = next((t for t in tags if tags.count(t) > 1), None)
    if dup is not None:
        raise FyersOrderRejected(
            "INVALID_TAG",
            f"Two basket orders carry the tag {dup!r}; each needs its own (a lost answer "
            "is looked up by tag).",
            "orders.tag",
        )
    return bodies


def order_id_arg(order_id: object) -> str:
    if not isinstance(order_id, str) or not order_id.strip():
        raise FyersOrderRejected(
            "UNKNOWN_ORDER", f"Order id {order_id!r} is not a Fyers order id.", "order_id"
        )
    return order_id.strip()


def modify_body(
    order_id: object,
    kind: OrderKind | str,
    quantity: int | None,
    limit_price: object,
    trigger_price: object,
) -> dict[str, Any]:
    """The JSON body of a modification (``PATCH /orders/sync``): only the fields given."""
    kind_ = _coerce(OrderKind, kind, "INVALID_ORDER_TYPE", "kind")
    body: dict[str, Any] = {"id": order_id_arg(order_id), "type": FYERS_ORDER_TYPE[kind_]}
    limit = _price_arg(limit_price, "limit_price")
    trigger = _price_arg(trigger_price, "trigger_price")
    if limit is not None:
        if kind_ not in (OrderKind.LIMIT, OrderKind.SL):
            raise FyersOrderRejected(
                "UNEXPECTED_PRICE",
                f"A {kind_.value} order takes no limit_price.",
                "limit_price",
            )
        body["limitPrice"] = _wire_price(limit)
    if trigger is not None:
        if kind_ not in (OrderKind.SL, OrderKind.SL_M):
            raise FyersOrderRejected(
                "UNEXPECTED_PRICE",
                f"A {kind_.value} order takes no trigger_price.",
                "trigger_price",
            )
        body["stopPrice"] = _wire_price(trigger)
    if quantity is not None:
        body["qty"] = _quantity_arg(quantity)
    return body
