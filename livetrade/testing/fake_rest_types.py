"""The fake trading API's records and reply helpers (requests, replies, orders, faults),
shared by the modules that make up :class:`~livetrade.testing.fake_rest.FakeFyersRest`."""

from __future__ import annotations

import base64
import http
import http.server
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from livetrade.fyers.order_socket import ORDER_KEYS, POSITION_KEYS

DEFAULT_APP_ID: Final = "ABCDEFGHIJ-100"
DEFAULT_APP_SECRET: Final = "FAKESECRET01"
BASE_PATH: Final = "/api/v3"
PriceSource = Mapping[str, Decimal | str | int] | Callable[[str], Decimal | str | int | None]

_TAG_RE: Final = re.compile(r"[A-Za-z0-9]{1,30}")
_SYMBOL_RE: Final = re.compile(r"[A-Z]{2,6}:[A-Z0-9&_.\- ]{1,60}")
_CENT: Final = Decimal("0.01")
_PRODUCTS: Final = ("CNC", "INTRADAY", "MARGIN")  # ours (Fyers also has CO, BO, MTF)
_FUND_TITLES: Final = (
    "Total Balance",
    "Utilized Amount",
    "Clear Balance",
    "Realized Profit and Loss",
    "Collaterals",
    "Fund Transfer",
    "Receivables",
    "Adhoc Limit",
    "Limit at start of the day",
    "Available Balance",
)

# Fyers order statuses (spec 3.6)
_RAW_ORDER: Final = {sdk: raw for raw, sdk in ORDER_KEYS.items()}  # order-book name → raw
_RAW_POSITION: Final = {sdk: raw for raw, sdk in POSITION_KEYS.items()}  # positions name → raw
# The keys of a position update on the order socket: the docs' "General Socket (positions)"
# table (no ltp / unrealized / pl there, although the SDK's map.json knows pl_total and
# pl_unrealized: the fake follows the docs).
_SOCKET_POSITION_KEYS: Final = (
    "symbol", "id", "buyAvg", "buyQty", "buyVal", "sellAvg", "sellQty", "sellVal", "netAvg",
    "netQty", "side", "qty", "productType", "realized_profit", "crossCurrency", "rbiRefRate",
    "fyToken", "exchange", "segment", "dayBuyQty", "daySellQty", "cfBuyQty", "cfSellQty",
    "qtyMulti_com",
)  # fmt: skip
ORDER_SOURCE: Final = "ITS"
"""``source`` of orders placed through the API: the docs' order-source table lists M (mobile),
W (web), R (Fyers One), A (admin) and ITS (API)."""
LOT_MESSAGE: Final = "Quantity should be multiples of the lot size."
"""Fyers' words for a derivative quantity that is not a whole number of lots (FYDOC "Input
Validations"; the docs name no code for it, so the fake answers -50, invalid parameters)."""
CANCELLED, FILLED, TRANSIT, REJECTED, PENDING, EXPIRED = 1, 2, 4, 5, 6, 7


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake saw it. ``headers`` have lower-case names; ``body`` is the
    parsed JSON (``None`` when empty, the text when it is not JSON)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes = field(repr=False)
    ts: float = 0.0


@dataclass(frozen=True, slots=True)
class FakeReply:
    """What to answer: status, JSON body and headers. ``delay``: seconds to wait before
    answering; ``drop``: do not answer at all (the client sees its request time out or the
    connection close) -- whether the request was carried out is up to the fault."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass(slots=True)
class FakeOrder:
    """One order in the fake book (prices ``Decimal`` rupees, 0 when unused)."""

    id: str
    symbol: str
    side: int
    type: int
    product: str
    qty: int
    limit: Decimal
    stop: Decimal
    validity: str
    disclosed: int
    offline: bool
    tag: str | None
    placed_at: float
    status: int = PENDING
    filled: int = 0
    filled_value: Decimal = Decimal(0)
    message: str = ""
    triggered: bool = False
    exch_id: str = ""
    id_fyers: str = ""

    @property
    def remaining(self) -> int:
        return self.qty - self.filled if self.status == PENDING else 0

    @property
    def avg_price(self) -> Decimal:
        return (self.filled_value / self.filled).quantize(_CENT) if self.filled else Decimal(0)


@dataclass(slots=True)
class _Fault:
    kind: str  # "drop_after" | "drop_before" | "delay" | "rate_limit" | "error" | "reject"
    method: str | None
    path: str | None
    retry_after: float = 1.0
    status: int = 500
    body: dict[str, Any] | None = None
    message: str = ""
    code: int = -99

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.endswith(self.path)
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _num(value: Decimal) -> float | int:
    """Money as Fyers sends it: a JSON number (``820.5``, ``0``)."""
    return 0 if value == 0 else float(value)


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, ROUND_HALF_UP)


def _phrase(reply: FakeReply) -> str:
    try:
        return http.HTTPStatus(reply.status).phrase
    except ValueError:
        return "Error"


def _err(status: int, code: int, message: str) -> FakeReply:
    return FakeReply(status, {"s": "error", "code": code, "message": message})


def _ok(**payload: Any) -> FakeReply:
    return FakeReply(200, {"s": "ok", "code": 200, "message": "", **payload})


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return _num(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """What the trading API checks and reports for a derivative (from the symbol master's
    columns, fno.md §1): lot (units), tick (paise), freeze quantity (units per order), the
    exchange's instrument type (11 FUTIDX, 14 OPTIDX...), segment (11 equity derivatives) and
    fytoken."""

    symbol: str
    lot: int
    tick: int
    freeze: int
    instrument: int
    fytoken: str
    segment: int = 11
    exchange: int = 10
