"""Fyers' trading records without I/O: order, trade, position, funds and holdings rows parsed
into dataclasses, Fyers' status codes mapped to ours, refusals classified, order tags.

Both the REST client (:mod:`livetrade.fyers.broker`) and the order socket
(:mod:`livetrade.fyers.order_socket`) read rows with these functions, so neither the socket's
parser nor anything else that only reads records imports an HTTP client.

This module parses rows (and makes order tags); the dataclasses they become are in
:mod:`livetrade.fyers.record_types`, the status codes and refusal rules in
:mod:`livetrade.fyers.status_codes`. Every name is importable from here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from livetrade.errors import FyersApiError
from livetrade.fyers.record_types import (
    BasketAck,
    BasketLeg,
    BrokerHolding,
    BrokerOrder,
    BrokerPosition,
    BrokerTrade,
    ExitAck,
    FundLimit,
    Funds,
    Holdings,
    LegResult,
    OrderAck,
    Positions,
    Profile,
)
from livetrade.fyers.status_codes import _IP_RE as _IP_RE  # (re-exported for broker.py)
from livetrade.fyers.status_codes import _RATE_CODE as _RATE_CODE
from livetrade.fyers.status_codes import (
    _STATUS_MAP,
    AUTH_ERROR_CODES,
    FyersOrderRejected,
    FyersStatus,
    classify_rejection,
    map_order_status,
    rejection_from,
)
from livetrade.model import IST, OrderKind, Side

__all__ = [
    "AUTH_ERROR_CODES",
    "FYERS_ORDER_TYPE",
    "BasketAck",
    "BasketLeg",
    "BrokerHolding",
    "BrokerOrder",
    "BrokerPosition",
    "BrokerTrade",
    "ExitAck",
    "FundLimit",
    "Funds",
    "FyersOrderRejected",
    "FyersStatus",
    "Holdings",
    "LegResult",
    "OrderAck",
    "Positions",
    "Profile",
    "classify_rejection",
    "client_tag",
    "map_order_status",
    "new_tag",
    "parse_funds",
    "parse_holdings",
    "parse_order",
    "parse_position",
    "parse_positions",
    "parse_profile",
    "parse_trade",
    "rejection_from",
    "validate_tag",
]

_TAG_RE: Final = re.compile(r"[A-Za-z0-9]{1,30}")

FYERS_ORDER_TYPE: Final[Mapping[OrderKind, int]] = {
    OrderKind.LIMIT: 1,
    OrderKind.MARKET: 2,
    OrderKind.SL_M: 3,
    OrderKind.SL: 4,
}
"""Our order kinds → Fyers ``type`` (1 limit, 2 market, 3 stop / SL-M, 4 stop-limit / SL)."""
_KIND_OF_TYPE: Final[Mapping[int, OrderKind]] = {v: k for k, v in FYERS_ORDER_TYPE.items()}

# --------------------------------------------------------------------------------------------
# tags
# --------------------------------------------------------------------------------------------


def new_tag() -> str:
    """A fresh random order tag: ``lt`` + 16 hex digits (alphanumeric, 18 characters)."""
    return "lt" + secrets.token_hex(8)


def client_tag(order_id: str, namespace: str = "") -> str:
    """A deterministic Fyers order tag for one of our client order ids.

    Tags must be 1-30 alphanumerics. ``namespace`` (a session name, say) keeps two sessions'
    ``LT0000001`` apart: a tag lookup that found another session's order would be a disaster.
    Ids that do not fit are hashed (``h`` + 24 hex digits).
    """
    plain = re.sub(r"[^A-Za-z0-9]", "", namespace) + re.sub(r"[^A-Za-z0-9]", "", order_id)
    if plain and len(plain) <= 30 and plain.lower() != "untagged":
        return plain
    digest = hashlib.sha256(f"{namespace}\x00{order_id}".encode()).hexdigest()
    return "h" + digest[:24]


def validate_tag(tag: object, fy_id: str | None = None) -> str:
    """Return ``tag`` if Fyers accepts it as an ``orderTag``, else raise OrderRejected."""
    if not isinstance(tag, str) or _TAG_RE.fullmatch(tag) is None:
        raise FyersOrderRejected(
            "INVALID_TAG", f"An order tag must be 1-30 letters or digits, got {tag!r}.", "tag"
        )
    if tag.lower() == "untagged" or (fy_id is not None and tag.upper() == fy_id.upper()):
        raise FyersOrderRejected(
            "INVALID_TAG", f"Fyers reserves the order tag {tag!r}; choose another.", "tag"
        )
    return tag


def _strip_tag(raw: object) -> str | None:
    """``"1:mytag"`` → ``"mytag"`` (Fyers prefixes 1: user, 2: system); ``"2:Untagged"`` →
    ``None``."""
    if not isinstance(raw, str) or not raw:
        return None
    prefix, sep, rest = raw.partition(":")
    value = rest if sep and prefix in ("1", "2") else raw
    return None if not value or value == "Untagged" else value


def _dec(value: object, default: Decimal | None = Decimal(0)) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return default
    return default


def _money(value: object) -> Decimal:
    d = _dec(value)
    return Decimal(0) if d is None else d


def _price(value: object) -> Decimal | None:
    """A price where 0 means "not set"."""
    d = _dec(value, None)
    return None if d is None or d == 0 else d


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _opt_str(value: object) -> str | None:
    text = _str(value).strip()
    return text or None


def _side(value: object) -> Side:
    return Side.SELL if _int(value) == -1 else Side.BUY


def _kind(value: object) -> OrderKind | None:
    return _KIND_OF_TYPE.get(_int(value, -1))


_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_TIME_RE: Final = re.compile(r"(\d{1,2})-([A-Za-z]{3}|\d{1,2})-(\d{4}) (\d{1,2}):(\d{2}):(\d{2})")


def _time(value: object) -> datetime | None:
    """``"18-Dec-2023 13:51:30"`` (order book, order updates) or ``"18-12-2023 13:51:30"``
    (the documented trade-update format) in Asia/Kolkata → aware datetime; else None."""
    m = _TIME_RE.fullmatch(_str(value).strip())
    if m is None:
        return None
    month = int(m[2]) if m[2].isdigit() else _MONTHS.get(m[2].lower())
    if month is None:
        return None
    try:
        return datetime(
            int(m[3]),
            month,
            int(m[1]),
            int(m[4]),
            int(m[5]),
            int(m[6]),
            tzinfo=IST,
        )
    except ValueError:
        return None


def parse_order(row: Mapping[str, Any]) -> BrokerOrder:
    """An ``orderBook`` row → :class:`BrokerOrder`."""
    raw_status = row.get("status")
    fstatus = FyersStatus.of(raw_status)
    qty = _int(row.get("qty"))
    filled = _int(row.get("filledQty"))
    remaining = _int(row.get("remainingQuantity"), max(qty - filled, 0))
    return BrokerOrder(
        order_id=_str(row.get("id")),
        symbol=_str(row.get("symbol")),
        side=_side(row.get("side")),
        kind=_kind(row.get("type")),
        product=_str(row.get("productType")),
        quantity=qty,
        filled_quantity=filled,
        remaining_quantity=remaining,
        limit_price=_price(row.get("limitPrice")),
        trigger_price=_price(row.get("stopPrice")),
        traded_price=_price(row.get("tradedPrice")),
        status=_STATUS_MAP[fstatus],
        fyers_status=fstatus,
        raw_status=raw_status if isinstance(raw_status, int) else None,
        tag=_strip_tag(row.get("orderTag")),
        message=_str(row.get("message")),
        exchange_order_id=_opt_str(row.get("exchOrdId")),
        validity=_str(row.get("orderValidity")),
        placed_at=_time(row.get("orderDateTime")),
        raw=dict(row),
    )


def parse_trade(row: Mapping[str, Any]) -> BrokerTrade:
    """A ``tradeBook`` row → :class:`BrokerTrade`."""
    return BrokerTrade(
        trade_id=_str(row.get("tradeNumber")),
        order_id=_str(row.get("orderNumber")),
        exchange_order_id=_opt_str(row.get("exchangeOrderNo")),
        symbol=_str(row.get("symbol")),
        side=_side(row.get("side")),
        quantity=_int(row.get("tradedQty")),
        price=_money(row.get("tradePrice")),
        value=_money(row.get("tradeValue")),
        product=_str(row.get("productType")),
        kind=_kind(row.get("orderType")),
        tag=_strip_tag(row.get("orderTag")),
        traded_at=_time(row.get("orderDateTime")),
        raw=dict(row),
    )


def parse_position(row: Mapping[str, Any]) -> BrokerPosition:
    """A ``netPositions`` row → :class:`BrokerPosition`."""
    return BrokerPosition(
        position_id=_str(row.get("id")),
        symbol=_str(row.get("symbol")),
        product=_str(row.get("productType")),
        net_quantity=_int(row.get("netQty")),
        side=_int(row.get("side")),
        avg_price=_money(row.get("netAvg", row.get("avgPrice"))),
        buy_quantity=_int(row.get("buyQty")),
        buy_avg=_money(row.get("buyAvg")),
        buy_value=_money(row.get("buyVal")),
        sell_quantity=_int(row.get("sellQty")),
        sell_avg=_money(row.get("sellAvg")),
        sell_value=_money(row.get("sellVal")),
        realized_pnl=_money(row.get("realized_profit")),
        unrealized_pnl=_money(row.get("unrealized_profit")),
        pnl=_money(row.get("pl")),
        ltp=_price(row.get("ltp")),
        raw=dict(row),
    )


def _rows(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    rows = body.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise FyersApiError(f"Fyers answered {key!r} with a {type(rows).__name__}, not a list")
    return [r for r in rows if isinstance(r, Mapping)]


def parse_positions(body: Mapping[str, Any]) -> Positions:
    overall = body.get("overall")
    tot: Mapping[str, Any] = overall if isinstance(overall, Mapping) else {}
    return Positions(
        positions=tuple(parse_position(r) for r in _rows(body, "netPositions")),
        count_total=_int(tot.get("count_total")),
        count_open=_int(tot.get("count_open")),
        pnl_total=_money(tot.get("pl_total")),
        pnl_realized=_money(tot.get("pl_realized")),
        pnl_unrealized=_money(tot.get("pl_unrealized")),
    )


def parse_funds(body: Mapping[str, Any]) -> Funds:
    return Funds(
        tuple(
            FundLimit(
                id=_int(r.get("id")),
                title=_str(r.get("title")),
                equity=_money(r.get("equityAmount")),
                commodity=_money(r.get("commodityAmount")),
            )
            for r in _rows(body, "fund_limit")
        )
    )


def parse_holdings(body: Mapping[str, Any]) -> Holdings:
    overall = body.get("overall")
    tot: Mapping[str, Any] = overall if isinstance(overall, Mapping) else {}
    rows = tuple(
        BrokerHolding(
            symbol=_str(r.get("symbol")),
            quantity=_int(r.get("quantity")),
            remaining_quantity=_int(r.get("remainingQuantity")),
            holding_type=_str(r.get("holdingType")),
            cost_price=_money(r.get("costPrice")),
            ltp=_price(r.get("ltp")),
            market_value=_money(r.get("marketVal")),
            pnl=_money(r.get("pl")),
            isin=_opt_str(r.get("isin")),
            raw=dict(r),
        )
        for r in _rows(body, "holdings")
    )
    return Holdings(
        rows,
        total_investment=_money(tot.get("total_investment")),
        total_current_value=_money(tot.get("total_current_value")),
        total_pnl=_money(tot.get("total_pl")),
    )


def parse_profile(body: Mapping[str, Any]) -> Profile:
    data = body.get("data")
    row: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    return Profile(
        fy_id=_str(row.get("fy_id")),
        name=_str(row.get("name")),
        display_name=_opt_str(row.get("display_name")),
        raw=dict(row),
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _leg_results(
    items: object, tags: Sequence[str | None], scrub: Callable[[str], str] = str
) -> list[LegResult]:
    """``data`` of a basket or slice answer (``[{statusCode, body: {s, code, message, id},
    statusDescription}]``) → one result per entry of ``tags``; an entry Fyers did not answer
    is ``uncertain``."""
    rows = items if isinstance(items, list) else []
    out: list[LegResult] = []
    for i, tag in enumerate(tags):
        if i >= len(rows):
            out.append(LegResult(i, tag, None, "no answer for this order", uncertain=True))
            continue
        row = rows[i] if isinstance(rows[i], Mapping) else {}
        body = row.get("body")
        item: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        status = _int_or_none(row.get("statusCode"))
        code = _int_or_none(item.get("code"))
        message = scrub(_str(item.get("message")))
        order_id = _opt_str(item.get("id")) if item.get("s") == "ok" else None
        if order_id is not None:
            out.append(LegResult(i, tag, order_id, message, code, status))
        else:
            rejection = rejection_from(message, code, status)
            out.append(LegResult(i, tag, None, message, code, status, rejection))
    return out
