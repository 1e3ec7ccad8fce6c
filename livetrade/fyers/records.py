"""Fyers' trading records without I/O: order, trade, position, funds and holdings rows parsed
into dataclasses, Fyers' status codes mapped to ours, refusals classified, order tags.

Both the REST client (:mod:`livetrade.fyers.broker`) and the order socket
(:mod:`livetrade.fyers.order_socket`) read rows with these functions, so neither the socket's
parser nor anything else that only reads records imports an HTTP client.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from livetrade.errors import FyersApiError, OrderRejected
from livetrade.model import IST, OrderKind, OrderStatus, Product, Side

AUTH_ERROR_CODES: Final = frozenset({-8, -15, -16, -17})
"""Fyers codes that mean "log in again" (spec 3.1)."""
_RATE_CODE: Final = -429
_TAG_RE: Final = re.compile(r"[A-Za-z0-9]{1,30}")
_IP_RE: Final = re.compile(r"static ip|white-?list|\bip\b", re.IGNORECASE)

FYERS_ORDER_TYPE: Final[Mapping[OrderKind, int]] = {
    OrderKind.LIMIT: 1,
    OrderKind.MARKET: 2,
    OrderKind.SL_M: 3,
    OrderKind.SL: 4,
}
"""Our order kinds → Fyers ``type`` (1 limit, 2 market, 3 stop / SL-M, 4 stop-limit / SL)."""
_KIND_OF_TYPE: Final[Mapping[int, OrderKind]] = {v: k for k, v in FYERS_ORDER_TYPE.items()}


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


# --------------------------------------------------------------------------------------------
# parsed answers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegResult:
    """Fyers' answer for one order of a basket, or one slice of a sliced order: placed
    (``order_id``), refused (``rejection``, typed as for a single order) or, after a lost
    answer that the order book could not settle, ``uncertain`` (look it up by ``tag``)."""

    index: int
    tag: str | None
    order_id: str | None
    message: str = ""
    fyers_code: int | None = None
    http_status: int | None = None
    rejection: FyersOrderRejected | None = field(default=None, compare=False)
    recovered: bool = False
    uncertain: bool = False

    @property
    def ok(self) -> bool:
        return self.order_id is not None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """Fyers accepted a place, modify or cancel. ``recovered`` is True when the answer was lost
    and the order was found in the order book instead; ``attempts`` counts the sends. A sliced
    order (``slice=True`` above the freeze quantity) is several Fyers orders: ``slices`` holds
    each one's result and ``order_id`` is the first placed slice."""

    order_id: str
    tag: str | None = None
    message: str = ""
    fyers_code: int | None = None
    recovered: bool = False
    attempts: int = 1
    slices: tuple[LegResult, ...] = ()

    @property
    def order_ids(self) -> tuple[str, ...]:
        """Every Fyers order this placement made (one, or each placed slice)."""
        if not self.slices:
            return (self.order_id,)
        return tuple(leg.order_id for leg in self.slices if leg.order_id is not None)


@dataclass(frozen=True, slots=True)
class BasketLeg:
    """One order of a basket: the arguments of :meth:`FyersRestClient.place_order`."""

    symbol: str
    side: Side | str
    quantity: int
    kind: OrderKind | str = OrderKind.MARKET
    product: Product | str = Product.INTRADAY
    limit_price: object = None
    trigger_price: object = None
    tag: str | None = None
    validity: Literal["DAY", "IOC"] = "DAY"
    offline: bool = False


@dataclass(frozen=True, slots=True)
class BasketAck:
    """Fyers' answer to a basket: one :class:`LegResult` per order, in the order sent. Each
    leg stands alone at Fyers (one may be refused while the others are placed)."""

    legs: tuple[LegResult, ...]
    message: str = ""
    fyers_code: int | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """Every order was placed."""
        return all(leg.ok for leg in self.legs)

    @property
    def order_ids(self) -> tuple[str | None, ...]:
        return tuple(leg.order_id for leg in self.legs)

    @property
    def rejected(self) -> tuple[LegResult, ...]:
        return tuple(leg for leg in self.legs if leg.rejection is not None)


@dataclass(frozen=True, slots=True)
class ExitAck:
    """Fyers' answer to ``exit_positions`` (``DELETE /positions``). ``pending``: a counter
    order was placed but has not filled yet (code 201); the order book tells the rest."""

    fyers_code: int | None
    message: str

    @property
    def pending(self) -> bool:
        return self.fyers_code == 201


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """One order-book row. Prices are ``None`` when Fyers sends 0 (unused)."""

    order_id: str
    symbol: str
    side: Side
    kind: OrderKind | None
    product: str
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    limit_price: Decimal | None
    trigger_price: Decimal | None
    traded_price: Decimal | None
    status: OrderStatus
    fyers_status: FyersStatus
    raw_status: int | None
    tag: str | None
    message: str
    exchange_order_id: str | None
    validity: str
    placed_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_partially_filled(self) -> bool:
        return 0 < self.filled_quantity < self.quantity

    @property
    def product_enum(self) -> Product | None:
        try:
            return Product(self.product)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class BrokerTrade:
    """One tradebook row (one execution)."""

    trade_id: str
    order_id: str
    exchange_order_id: str | None
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    value: Decimal
    product: str
    kind: OrderKind | None
    tag: str | None
    traded_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """One net position (``id`` such as ``NSE:SBIN-EQ-INTRADAY``). ``side`` 1 long, -1 short,
    0 closed."""

    position_id: str
    symbol: str
    product: str
    net_quantity: int
    side: int
    avg_price: Decimal
    buy_quantity: int
    buy_avg: Decimal
    buy_value: Decimal
    sell_quantity: int
    sell_avg: Decimal
    sell_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    pnl: Decimal
    ltp: Decimal | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Positions:
    """The positions answer: rows plus Fyers' ``overall`` totals."""

    positions: tuple[BrokerPosition, ...]
    count_total: int
    count_open: int
    pnl_total: Decimal
    pnl_realized: Decimal
    pnl_unrealized: Decimal

    def open(self) -> tuple[BrokerPosition, ...]:
        return tuple(p for p in self.positions if p.net_quantity != 0)


@dataclass(frozen=True, slots=True)
class FundLimit:
    """One ``fund_limit`` row (``Available Balance``, ``Utilized Amount``...)."""

    id: int
    title: str
    equity: Decimal
    commodity: Decimal


@dataclass(frozen=True, slots=True)
class Funds:
    """The funds answer; the named properties read the equity column by title."""

    limits: tuple[FundLimit, ...]

    def get(self, title: str) -> FundLimit | None:
        wanted = title.strip().lower()
        return next((r for r in self.limits if r.title.strip().lower() == wanted), None)

    def _equity(self, title: str) -> Decimal | None:
        row = self.get(title)
        return None if row is None else row.equity

    @property
    def total_balance(self) -> Decimal | None:
        return self._equity("Total Balance")

    @property
    def available_balance(self) -> Decimal | None:
        return self._equity("Available Balance")

    @property
    def utilized(self) -> Decimal | None:
        return self._equity("Utilized Amount")

    @property
    def clear_balance(self) -> Decimal | None:
        return self._equity("Clear Balance")

    @property
    def realized_pnl(self) -> Decimal | None:
        return self._equity("Realized Profit and Loss")


@dataclass(frozen=True, slots=True)
class BrokerHolding:
    """One demat holding (``holding_type`` HLD in demat, T1 bought but not yet delivered)."""

    symbol: str
    quantity: int
    remaining_quantity: int
    holding_type: str
    cost_price: Decimal
    ltp: Decimal | None
    market_value: Decimal
    pnl: Decimal
    isin: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Holdings:
    holdings: tuple[BrokerHolding, ...]
    total_investment: Decimal
    total_current_value: Decimal
    total_pnl: Decimal


@dataclass(frozen=True, slots=True)
class Profile:
    """Who the token belongs to. Fyers' other (PII) fields stay in ``raw``, out of the repr."""

    fy_id: str
    name: str
    display_name: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


# ---- field readers (JSON numbers arrive as Decimal or int) ----------------------------------


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
