"""Fyers' margin calculator for orders not yet placed (``POST /multiorder/margin``, fno.md §4).

Why: a live F&O order beyond the account's margin is refused by Fyers' risk system only after
it was journaled and sent; asking first lets the session refuse it with Fyers' own figure.

Body ``{"data": [{symbol, qty, side, type, productType, limitPrice, stopLoss, stopPrice,
takeProfit}, ...]}``; answer ``{"s": "ok", "code": 200, "data": {"margin_avail",
"margin_total", "margin_new_order"}}`` (rupees). Leg order matters: Fyers gives the hedge
benefit only when the BUY legs come first, so callers put them first. ``margin_new_order`` is
what the orders need (the figure OA compares with ``margin_avail``); ``margin_total`` is
Fyers' figure with the open positions taken into account (not documented further).

A query changes nothing at Fyers, so a lost answer is asked again (``read_retries``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from livetrade.errors import FyersApiError, InvalidInput
from livetrade.fyers.failures import FyersUnavailable, Lost, NotSent
from livetrade.fyers.order_args import MAX_BASKET, order_body
from livetrade.fyers.records import BasketLeg, FyersOrderRejected, _str
from livetrade.money import from_paise, round_half_up

if TYPE_CHECKING:
    from livetrade.fyers.broker import FyersRestClient

__all__ = ["MARGIN_PATH", "OrderMargin", "margin_body", "order_margin", "parse_margin"]

MARGIN_PATH: Final = "/multiorder/margin"
_FIGURES: Final = (("available", "margin_avail"), ("total", "margin_total"),
                   ("new_order", "margin_new_order"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderMargin:
    """Fyers' margin figures for a set of orders, in paise."""

    available: int  # margin_avail: free margin in the account now (may be < 0 in a debit)
    total: int  # margin_total: with the account's open positions taken into account
    new_order: int  # margin_new_order: what these orders need

    @property
    def shortfall(self) -> int:
        """How much more margin the orders need than is available (0 when they fit)."""
        return max(0, self.new_order - self.available)

    @property
    def sufficient(self) -> bool:
        return self.new_order <= self.available

    def __str__(self) -> str:
        return (
            f"needs ₹{from_paise(self.new_order)} of ₹{from_paise(self.available)} available "
            f"(total ₹{from_paise(self.total)})"
        )


def _leg_wire(i: int, raw: BasketLeg | Mapping[str, Any]) -> dict[str, Any]:
    """One leg as the margin endpoint takes it, checked like an order (a refusal names
    ``legs[i].<field>``)."""
    try:
        leg = raw if isinstance(raw, BasketLeg) else BasketLeg(**raw)
    except TypeError as exc:
        raise InvalidInput(f"legs[{i}]", f"not an order's fields ({exc})") from None
    try:
        body = order_body(
            None,
            leg.symbol,
            leg.side,
            leg.quantity,
            leg.kind,
            leg.product,
            limit_price=leg.limit_price,
            trigger_price=leg.trigger_price,
            tag="margin",  # validated then dropped: the calculator takes no tag
        )
    except FyersOrderRejected as rej:
        field = f"legs[{i}].{rej.field}" if rej.field else f"legs[{i}]"
        raise InvalidInput(field, rej.reason) from None
    return {
        "symbol": body["symbol"],
        "qty": body["qty"],
        "side": body["side"],
        "type": body["type"],
        "productType": body["productType"],
        "limitPrice": body["limitPrice"],
        "stopLoss": 0,
        "stopPrice": body["stopPrice"],
        "takeProfit": 0,
    }


def margin_body(legs: Sequence[BasketLeg | Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON body of a margin query: 1 to 10 legs (:class:`BasketLeg` or dicts of its
    fields), in the order given (buys first for the hedge benefit)."""
    if isinstance(legs, (str, bytes, Mapping)) or not isinstance(legs, Sequence):
        raise InvalidInput("legs", "a list of orders (BasketLeg or dicts of its fields)")
    if not 1 <= len(legs) <= MAX_BASKET:
        raise InvalidInput("legs", f"1 to {MAX_BASKET} orders, got {len(legs)}")
    return {"data": [_leg_wire(i, leg) for i, leg in enumerate(legs)]}


def _paise(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float, str)):
        raise FyersApiError(f"Fyers' margin answer has no number data.{key} (got {value!r})")
    try:
        rupees = Decimal(str(value))
    except InvalidOperation:
        raise FyersApiError(f"Fyers' margin answer has no number data.{key} ({value!r})") from None
    if not rupees.is_finite():
        raise FyersApiError(f"Fyers' margin answer data.{key} is not finite ({value!r})")
    return round_half_up(rupees * 100)


def parse_margin(answer: Mapping[str, Any]) -> OrderMargin:
    """The ``data`` of a successful margin answer as :class:`OrderMargin`."""
    data = answer.get("data")
    if not isinstance(data, Mapping):
        raise FyersApiError("Fyers' margin answer has no data object")
    return OrderMargin(**{name: _paise(data, key) for name, key in _FIGURES})


async def order_margin(
    client: FyersRestClient, legs: Sequence[BasketLeg | Mapping[str, Any]]
) -> OrderMargin:
    """See ``FyersRestClient.order_margin``."""
    body = margin_body(legs)
    attempt = 0
    while True:
        attempt += 1
        try:
            status, data = await client._call("POST", MARGIN_PATH, body=body)
        except (NotSent, Lost) as exc:
            if attempt > client.read_retries:
                raise FyersUnavailable(
                    f"Fyers POST {MARGIN_PATH} failed {attempt} times (last: {exc})"
                ) from None
            continue
        if data.get("s") != "ok":
            code = data.get("code")
            message = client._scrub(_str(data.get("message")) or "no message")
            raise FyersApiError(
                f"Fyers did not compute the margin (HTTP {status}, code {code}): {message}",
                code=code if isinstance(code, int) else None,
                status=status,
            )
        return parse_margin(data)
