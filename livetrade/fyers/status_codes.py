"""Fyers' status and error codes read without I/O: order statuses mapped to ours
(:func:`map_order_status`), the codes that mean "log in again" or "slow down", and each
refusal classified into our rejection code and field (:func:`classify_rejection`,
:func:`rejection_from`, :class:`FyersOrderRejected`) from its code or its message. Shared by
the REST client and the order socket through :mod:`livetrade.fyers.records`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final

from livetrade.errors import OrderRejected
from livetrade.model import OrderStatus

AUTH_ERROR_CODES: Final = frozenset({-8, -15, -16, -17})
"""Fyers codes that mean "log in again" (spec 3.1)."""
_RATE_CODE: Final = -429
_IP_RE: Final = re.compile(r"static ip|white-?list|\bip\b", re.IGNORECASE)


class FyersOrderRejected(OrderRejected):
    """Fyers refused an order, a modification or a cancel (or we refused it before sending).

    ``code`` is our stable code (``INSUFFICIENT_FUNDS``, ``INVALID_QUANTITY``,
    ``UNKNOWN_ORDER``, ``NOT_OPEN``, ``RATE_LIMITED``, ``BROKER_REJECTED``...), ``field`` the
    offending argument when known, ``reason`` a sentence. ``fyers_code``, ``fyers_message``
    and ``http_status`` keep what Fyers sent (``None`` when the refusal is ours).
    """

    def __init__(
        self,
        code: str,
        reason: str,
        field: str | None = None,
        *,
        fyers_code: int | None = None,
        fyers_message: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(code, reason, field)
        self.fyers_code = fyers_code
        self.fyers_message = fyers_message
        self.http_status = http_status


# --------------------------------------------------------------------------------------------
# statuses and rejections
# --------------------------------------------------------------------------------------------


class FyersStatus(enum.IntEnum):
    """Fyers order status codes (spec 3.6); ``OTHER`` for anything undocumented (3, 90...)."""

    OTHER = 0
    CANCELLED = 1
    FILLED = 2
    TRANSIT = 4
    REJECTED = 5
    PENDING = 6
    EXPIRED = 7

    @classmethod
    def of(cls, code: object) -> FyersStatus:
        if isinstance(code, int) and not isinstance(code, bool):
            try:
                return cls(code)
            except ValueError:
                return cls.OTHER
        return cls.OTHER


_STATUS_MAP: Final[Mapping[FyersStatus, OrderStatus]] = {
    FyersStatus.CANCELLED: OrderStatus.CANCELLED,
    FyersStatus.FILLED: OrderStatus.FILLED,
    FyersStatus.TRANSIT: OrderStatus.PENDING,  # on its way to the exchange
    FyersStatus.REJECTED: OrderStatus.REJECTED,
    FyersStatus.PENDING: OrderStatus.OPEN,  # resting at the exchange (maybe partly filled)
    FyersStatus.EXPIRED: OrderStatus.CANCELLED,  # the day ended: done, the rest unfilled
    FyersStatus.OTHER: OrderStatus.PENDING,  # unknown: not terminal, keep watching
}


def map_order_status(code: object) -> OrderStatus:
    """Fyers status code → our status. Transit and unknown codes are PENDING (not terminal:
    keep polling); expired is CANCELLED (terminal, the unfilled rest is gone)."""
    return _STATUS_MAP[FyersStatus.of(code)]


# (pattern, code, field) -- first match wins, so the specific ones come first.
_MESSAGE_RULES: Final[tuple[tuple[re.Pattern[str], str, str | None], ...]] = tuple(
    (re.compile(pattern, re.IGNORECASE), code, fld)
    for pattern, code, fld in (
        (
            r"not (in )?(a )?pending|already (been )?(cancel|fill|execut|trad|reject|complet)"
            r"|cannot be (cancel|modif)|no longer (open|pending)",
            "NOT_OPEN",
            "order_id",
        ),
        (
            r"invalid order ?(id|number)|order (id )?not found|no such order",
            "UNKNOWN_ORDER",
            "order_id",
        ),
        (r"order ?tag|\btag\b", "INVALID_TAG", "tag"),
        (r"static ip|white-?list|\bip\b", "IP_NOT_WHITELISTED", None),
        (r"too many|rate limit|request limit", "RATE_LIMITED", None),
        (
            r"margin|insufficient (fund|balance)|shortfall|funds? (are )?(not|in)sufficient",
            "INSUFFICIENT_FUNDS",
            "quantity",
        ),
        (r"holding", "INSUFFICIENT_HOLDINGS", "quantity"),
        (
            r"market (is )?closed|market (is )?not open|outside (market|trading) hours"
            r"|after market",
            "MARKET_CLOSED",
            None,
        ),
        (r"trigger|stop ?price", "INVALID_PRICE", "trigger_price"),
        (
            r"circuit|price band|price range|\bdpr\b|out ?side .*range|out of range",
            "PRICE_OUT_OF_RANGE",
            "limit_price",
        ),
        (r"tick", "INVALID_PRICE", "limit_price"),
        (r"\blot\b|\bqty\b|quantity|freeze", "INVALID_QUANTITY", "quantity"),
        (r"price", "INVALID_PRICE", "limit_price"),
        (
            r"(invalid|valid|unknown|no such) (symbol|scrip|instrument)"
            r"|(symbol|scrip|instrument) (not found|does not exist|is invalid)",
            "INVALID_SYMBOL",
            "symbol",
        ),
        (
            r"not (allowed|permitted|enabled|active)|blocked|banned|restricted|t2t",
            "NOT_ALLOWED",
            None,
        ),
        (r"product|\bcnc\b|intraday", "INVALID_PRODUCT", "product"),
        (r"symbol", "INVALID_SYMBOL", "symbol"),
    )
)

_CODE_RULES: Final[Mapping[int, tuple[str, str | None]]] = {
    -51: ("UNKNOWN_ORDER", "order_id"),
    -53: ("UNKNOWN_POSITION", None),
    -300: ("INVALID_SYMBOL", "symbol"),
    _RATE_CODE: ("RATE_LIMITED", None),
}


def classify_rejection(fyers_code: int | None, message: str) -> tuple[str, str | None]:
    """Our (code, field) for a Fyers error code and message."""
    if fyers_code is not None and fyers_code in _CODE_RULES:
        return _CODE_RULES[fyers_code]
    for pattern, code, fld in _MESSAGE_RULES:
        if pattern.search(message):
            return code, fld
    if fyers_code == -50:
        return "INVALID_PARAMETERS", None
    return "BROKER_REJECTED", None


def rejection_from(
    message: str,
    fyers_code: int | None = None,
    http_status: int | None = None,
    *,
    action: str = "the order",
) -> FyersOrderRejected:
    """The :class:`FyersOrderRejected` for a Fyers error (envelope or order-book message)."""
    text = " ".join(str(message or "").split()) or "no reason given"
    code, fld = classify_rejection(fyers_code, text)
    where = f" (code {fyers_code})" if fyers_code is not None else ""
    return FyersOrderRejected(
        code,
        f"Fyers rejected {action}{where}: {text}",
        fld,
        fyers_code=fyers_code,
        fyers_message=text,
        http_status=http_status,
    )
