"""Changing what is at Fyers: modify and cancel (a lost answer settled from the order book),
and position exits and conversions (never repeated once they may have arrived). Used by
:class:`~livetrade.fyers.broker.FyersRestClient`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from livetrade.errors import FyersApiError, InvalidInput, RateLimited
from livetrade.fyers.failures import FyersUnavailable, Lost, NotSent
from livetrade.fyers.order_args import ORDER_PATH, _coerce, _quantity_arg
from livetrade.fyers.records import (
    _RATE_CODE,
    BrokerOrder,
    ExitAck,
    FyersOrderRejected,
    FyersStatus,
    OrderAck,
    _opt_str,
    _str,
    rejection_from,
)
from livetrade.model import OrderStatus, Product, Side

if TYPE_CHECKING:
    from livetrade.fyers.broker import FyersRestClient

__all__ = ["cancel_settled", "change", "convert_position", "exit_positions", "once"]

log = logging.getLogger("livetrade.fyers.broker")


async def exit_positions(
    client: FyersRestClient, position_ids: Sequence[str] | None, cancel_pending: bool
) -> ExitAck:
    """See ``FyersRestClient.exit_positions``."""
    body: dict[str, Any]
    if position_ids is None:
        body = {"exit_all": 1}
    else:
        ids = [position_ids] if isinstance(position_ids, str) else list(position_ids)
        if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
            raise InvalidInput("position_ids", "give position ids like 'NSE:SBIN-EQ-CNC'")
        body = {"id": ids[0] if len(ids) == 1 else ids}
    if cancel_pending:
        body["pending_orders_cancel"] = 1
    status, data = await once(client, "DELETE", "/positions", body, "exit positions")
    code = data.get("code")
    if data.get("s") != "ok":
        message = client._scrub(_str(data.get("message")) or "no message")
        raise FyersApiError(
            f"Fyers did not exit the positions (HTTP {status}, code {code}): {message}",
            code=code if isinstance(code, int) else None,
            status=status,
        )
    return ExitAck(code if isinstance(code, int) else None, _str(data.get("message")))


async def convert_position(
    client: FyersRestClient,
    symbol: str,
    side: Side | str,
    quantity: int,
    from_product: Product | str,
    to_product: Product | str,
    overnight: bool,
) -> str:
    """See ``FyersRestClient.convert_position``."""
    side_ = _coerce(Side, side, "INVALID_SIDE", "side")
    src = _coerce(Product, from_product, "INVALID_PRODUCT", "from_product")
    dst = _coerce(Product, to_product, "INVALID_PRODUCT", "to_product")
    body = {
        "symbol": f"{symbol}-{src.value}",
        "positionSide": 1 if side_ is Side.BUY else -1,
        "convertQty": _quantity_arg(quantity),
        "convertFrom": src.value,
        "convertTo": dst.value,
        "overnight": 1 if overnight else 0,
    }
    status, data = await once(client, "POST", "/positions", body, "the conversion")
    if data.get("s") != "ok":
        code = data.get("code")
        raise rejection_from(
            client._scrub(_str(data.get("message"))),
            code if isinstance(code, int) else None,
            status,
            action="the conversion",
        )
    return _str(data.get("message"))


async def once(
    client: FyersRestClient, method: str, path: str, body: dict[str, Any], action: str
) -> tuple[int, dict[str, Any]]:
    """A request that must not be repeated once it may have arrived: resent only when it
    certainly was not sent."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return await client._call(method, path, body=body, order=True)
        except NotSent as exc:
            if attempts >= client.submit_attempts:
                raise FyersUnavailable(f"Fyers could not be reached for {action} ({exc})") from None
        except Lost as exc:
            raise FyersUnavailable(
                f"Fyers' answer to {action} was lost ({exc}); read the positions and "
                "the order book before trying again"
            ) from None


async def change(
    client: FyersRestClient, method: str, body: dict[str, Any], action: str
) -> OrderAck:
    order_id = str(body["id"])
    attempts = 0
    while True:
        attempts += 1
        log.info("Fyers %s order %s (attempt %d)", method, order_id, attempts)
        try:
            status, data = await client._call(method, ORDER_PATH, body=body, order=True)
        except (NotSent, Lost) as exc:
            if method == "DELETE" and isinstance(exc, Lost):
                done = await cancel_settled(client, order_id)
                if done is not None:
                    return OrderAck(
                        order_id,
                        done.tag,
                        "cancelled (found in the order book after a lost answer)",
                        recovered=True,
                        attempts=attempts,
                    )
            if attempts >= client.submit_attempts:
                raise FyersUnavailable(
                    f"Fyers did not confirm {action} of order {order_id} after {attempts} "
                    f"attempts (last: {exc}); check the order book"
                ) from None
            continue
        except RateLimited as exc:
            raise FyersOrderRejected(
                "RATE_LIMITED",
                f"{exc}; {action} was not sent.",
                fyers_code=_RATE_CODE,
                http_status=429,
            ) from None
        if data.get("s") != "ok":
            code = data.get("code")
            raise rejection_from(
                client._scrub(_str(data.get("message"))),
                code if isinstance(code, int) else None,
                status,
                action=action,
            )
        code = data.get("code")
        return OrderAck(
            _opt_str(data.get("id")) or order_id,
            None,
            _str(data.get("message")),
            code if isinstance(code, int) else None,
            attempts=attempts,
        )


async def cancel_settled(client: FyersRestClient, order_id: str) -> BrokerOrder | None:
    """After a lost cancel answer: the order if it is already cancelled; None if it is
    still open (resend); OrderRejected NOT_OPEN if it ended otherwise (filled...)."""
    await client._sleep(client.settle_delay)
    try:
        found = await client.order(order_id)
    except (FyersUnavailable, RateLimited):
        return None
    if found is None or found.status is OrderStatus.OPEN or found.status is OrderStatus.PENDING:
        return None
    if found.fyers_status is FyersStatus.CANCELLED:
        return found
    raise FyersOrderRejected(
        "NOT_OPEN",
        f"Order {order_id} is {found.status.value} at Fyers; it can no longer be cancelled.",
        "order_id",
    )
