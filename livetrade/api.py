"""The original REST API, ``/api/live-trading/*``, on a live session (FastAPI + uvicorn).

Two ways to run it, both in the *running* event loop so the API and the notebook share one engine
with no locks (every handler is ``async def``; none runs in a thread pool):

    app = create_app(session)                          # any ASGI server or test client
    server = await serve_api(session, port=8000)       # uvicorn as a task in this loop
    await server.stop()

Endpoints (request and response names are the original's; extra keys are additions):

    POST buy, POST sell    {"symbol", "quantity", "stop_loss_price", "take_profit_price"}
                           + optional "order_type" (MARKET | LIMIT | SL | SL-M), "limit_price",
                           "trigger_price", "product" (INTRADAY | CNC | MARGIN), "tag"
                           → {"success", "message", "order": {"order_id", "symbol", "quantity",
                              "executed_price", "timestamp", "commission", ...}}
    POST cancel            {"order_id"} → same shape as buy
    GET  portfolio | positions | orders[?symbol=] | open-orders | risk-orders | health
    POST update-price      {"symbol", "bid_price", "ask_price", "last_price", "volume"}

Money: every amount is a JSON *number* (clients of the original read numbers). The engine's exact
``Decimal`` is turned into the nearest float only when the JSON is written; for an amount with at
most two decimals below 10^13 rupees the digits printed are exactly the Decimal's (Python prints
the shortest text that reads back to the same float), so ``800.05`` stays ``800.05``. Amounts have
at most two decimals; ``avg_buy_price`` (a FIFO average) has up to four. Timestamps are ISO 8601
in Asia/Kolkata (``+05:30``).

Failures are always ``{"success": false, "message": <sentence>, "code": <CODE>, "field": ...}``:
the engine's rejection code and sentence with a 4xx status (``INVALID_QUANTITY`` 400,
``UNKNOWN_ORDER`` 404, ``NOT_OPEN`` 409, ``KILL_SWITCH`` 403, ``RATE_LIMIT`` 429…),
``INVALID_REQUEST`` (422) for a body that does not fit the schema, ``MALFORMED_JSON`` (400),
``UNAUTHORIZED`` (401), ``BODY_TOO_LARGE`` (413, over 64 KiB); 503 for the service's own state
(a closed session, a journal or feed error). Unknown request keys are refused (422), so a misspelt
``stop_los_price`` cannot silently place an order without its stop. A bug answers 500
``INTERNAL_ERROR`` and nothing more.

Security: ``serve_api`` binds 127.0.0.1 unless told otherwise, and refuses any non-loopback host
without a token. With a token every endpoint except ``health``, ``/docs`` and ``/openapi.json``
needs ``Authorization: Bearer <token>``, compared in constant time. Tokens are never logged or
echoed. ``update-price`` works only when the prices are simulated (a ``sim`` session or a bare
engine): with a real or recorded feed it answers 409 ``FEED_ATTACHED``; ``allow_update_price=False``
turns it off (403).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livetrade.clock import VirtualClock
from livetrade.engine import EngineEvent, LiveTradingEngine
from livetrade.errors import AuthError, InvalidInput, LiveTradeError, OrderRejected, SessionClosed
from livetrade.model import (
    ExecutedOrder,
    Fill,
    Order,
    OrderKind,
    OrderStatus,
    PriceQuote,
    Product,
    Side,
    StopLossConfig,
    TakeProfitConfig,
    check_symbol,
    ns_to_datetime,
)
from livetrade.money import Charges, from_paise
from livetrade.net import is_loopback_host
from livetrade.session import Session

if TYPE_CHECKING:
    from livetrade.live import Reconciliation

log = logging.getLogger("livetrade.api")

PREFIX = "/api/live-trading"
MAX_PRICE = Decimal(10) ** 10  # rupees; bounds the work a hostile price string can cause
MAX_BODY_BYTES = 64 * 1024  # every request body here is a few hundred bytes


# ====================================================================== JSON types
def _number(value: Decimal) -> float:
    return float(value) + 0.0  # + 0.0 turns -0.0 (a Decimal("-0.00") percent) into 0.0


Money = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]
"""A Decimal amount written as a JSON number (see the module docstring)."""


def _no_bool(value: object) -> object:
    """JSON ``true`` is not a quantity (pydantic's lax mode would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _any_case(values: list[str]) -> dict[str, Any]:
    """JSON schema for a case-insensitive enum (what ``_upper`` accepts), as a plain regex."""
    alts = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in v)
        for v in values
    )
    return {"type": "string", "pattern": f"^(?:{alts})$", "examples": values}


_DECIMAL = r"^-?(?:\d{1,10}(?:\.\d*)?|\.\d+)$"  # up to 10 integer digits: within ±1e10
Quantity = Annotated[int, BeforeValidator(_no_bool), Field(strict=True)]
Price = Annotated[
    Decimal,
    BeforeValidator(_no_bool),
    Field(ge=-MAX_PRICE, le=MAX_PRICE, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -int(MAX_PRICE), "maximum": int(MAX_PRICE)},
                {"type": "string", "pattern": _DECIMAL, "maxLength": 32},
            ],
            "description": 'rupees: a number, or a decimal string such as "800.05"',
        }
    ),
]
Symbol = Annotated[str, Field(min_length=1, max_length=64, examples=["NSE:SBIN-EQ"])]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderRequest(_Request):
    """Body of ``buy``/``sell``: the original's four keys, then the order types of the engine."""

    symbol: Symbol
    quantity: Quantity
    stop_loss_price: Price | None = None
    take_profit_price: Price | None = None
    order_type: Annotated[
        OrderKind,
        BeforeValidator(_upper),
        WithJsonSchema(_any_case([k.value for k in OrderKind])),
    ] = OrderKind.MARKET
    limit_price: Price | None = None
    trigger_price: Price | None = None
    product: (
        Annotated[
            Product, BeforeValidator(_upper), WithJsonSchema(_any_case([p.value for p in Product]))
        ]
        | None
    ) = None
    tag: Annotated[str, Field(max_length=64)] | None = None


class CancelRequest(_Request):
    order_id: Annotated[str, Field(min_length=1, max_length=64)]


class ArmRequest(_Request):
    """Body of ``arm-live``: the exact word, as ``session.arm_live(confirm="LIVE")``."""

    confirm: Annotated[str, Field(max_length=16, description='Must be exactly "LIVE"')]
    accept_differences: bool = False


class ReconciliationRow(BaseModel):
    item: Literal["position", "order", "funds"]
    key: str
    ours: Money | int | None
    broker: Money | int | None
    difference: Money | int | None
    blocking: bool
    note: str


class ModeResponse(BaseModel):
    mode: str
    armed: bool


class ReconciliationResponse(BaseModel):
    """Our positions, working orders and funds against Fyers' (``ok``: nothing blocks)."""

    ok: bool
    mode: str
    rows: list[ReconciliationRow]

    @classmethod
    def of(cls, rec: Reconciliation, mode: str) -> ReconciliationResponse:
        rows = [
            ReconciliationRow(
                item=r["item"],
                key=str(r["key"]),
                ours=r["ours"],
                broker=r["broker"],
                difference=r["difference"],
                blocking=bool(r["blocking"]),
                note=str(r["note"]),
            )
            for r in rec.frame.astype(object).where(rec.frame.notna(), None).to_dict("records")
        ]
        return cls(ok=rec.ok, mode=mode, rows=rows)


class PriceUpdate(_Request):
    """Body of ``update-price``; a zero bid/ask means "no book" (the last price stands in)."""

    symbol: Symbol
    bid_price: Price = Decimal(0)
    ask_price: Price = Decimal(0)
    last_price: Price
    volume: Quantity = 0


class ChargesOut(BaseModel):
    brokerage: Money
    stt: Money
    exchange: Money
    ipft: Money
    sebi: Money
    stamp: Money
    gst: Money
    dp: Money
    total: Money

    @classmethod
    def of(cls, charges: Charges | None) -> ChargesOut | None:
        return None if charges is None else cls.model_validate(charges.as_rupees())


class OrderOut(BaseModel):
    """An order: the original's keys first. ``quantity`` is the order's size, ``executed_price``
    the average fill price (``null`` while it rests), ``commission`` its charges so far."""

    order_id: str
    symbol: str
    quantity: int
    executed_price: Money | None
    timestamp: datetime
    commission: Money
    type: str = Field(description="The original's order type: MARKET_BUY, LIMIT_SELL...")
    side: str
    order_type: str = Field(description="MARKET, LIMIT, SL or SL-M")
    product: str
    status: str
    role: str
    filled_quantity: int
    limit_price: Money | None
    trigger_price: Money | None
    stop_loss_price: Money | None
    take_profit_price: Money | None
    parent_id: str | None
    tag: str | None
    charges: ChargesOut | None = None
    message: str
    broker_order_id: str | None = Field(
        default=None, description="Fyers' order id (live orders; ours for paper fills)"
    )

    @classmethod
    def of(cls, order: Order, charges: Charges | None = None) -> OrderOut:
        return cls(
            order_id=order.order_id,
            symbol=order.symbol,
            quantity=order.quantity,
            executed_price=order.executed_price,
            timestamp=ns_to_datetime(order.updated_ns),
            commission=from_paise(order.charges_paise),
            type=order.order_type.value,
            side=order.side.name,
            order_type=order.kind.value,
            product=order.product.value,
            status=order.status.value,
            role=order.role.value,
            filled_quantity=order.filled_quantity,
            limit_price=order.limit_price,
            trigger_price=order.trigger_price,
            stop_loss_price=order.stop_loss_price,
            take_profit_price=order.take_profit_price,
            parent_id=order.parent_id,
            tag=order.tag,
            charges=ChargesOut.of(charges),
            message=order.message,
            broker_order_id=order.broker_order_id,
        )


class OrderResponse(BaseModel):
    success: bool
    message: str
    order: OrderOut | None


class ExecutedOut(BaseModel):
    """One execution of the order history (the original's ``ExecutedOrder``)."""

    order_id: str
    symbol: str
    type: str
    quantity: int
    executed_price: Money
    timestamp: datetime
    commission: Money
    status: str
    product: str
    role: str
    charges: ChargesOut | None

    @classmethod
    def of(cls, e: ExecutedOrder) -> ExecutedOut:
        return cls(
            order_id=e.order_id,
            symbol=e.symbol,
            type=e.order_type.value,
            quantity=e.quantity,
            executed_price=e.executed_price,
            timestamp=e.executed_timestamp,
            commission=e.commission,
            status=e.status.value,
            product=e.product.value,
            role=e.role.value,
            charges=ChargesOut.of(e.charges),
        )


class OrdersResponse(BaseModel):
    orders: list[ExecutedOut]


class OpenOrdersResponse(BaseModel):
    orders: list[OrderOut]


class PositionOut(BaseModel):
    """A net position per symbol; ``quantity`` < 0 is an intraday short (``total_cost`` too)."""

    symbol: str
    quantity: int
    avg_buy_price: Money
    total_cost: Money
    product: str
    current_price: Money | None
    market_value: Money
    unrealized_pnl: Money
    realized_pnl: Money
    charges: Money


class PositionsResponse(BaseModel):
    positions: list[PositionOut]


class PortfolioPosition(BaseModel):
    quantity: int
    avg_buy_price: Money
    current_price: Money
    unrealized_pnl: Money
    unrealized_pnl_percent: Money
    product: str


class PortfolioResponse(BaseModel):
    """The original's keys first; ``total_realized_pnl`` is net of charges, ``gross_realized_pnl``
    before them."""

    wallet_balance: Money
    total_realized_pnl: Money
    total_unrealized_pnl: Money
    total_pnl: Money
    total_pnl_percent: Money
    portfolio_value: Money
    active_positions_count: int
    order_count: int
    positions: dict[str, PortfolioPosition]
    initial_balance: Money
    cash: Money
    market_value: Money
    gross_realized_pnl: Money
    total_charges: Money
    kill_switch: str


class RiskOrderOut(BaseModel):
    trigger_price: Money
    quantity: int
    order_id: str
    side: str

    @classmethod
    def of(cls, leg: StopLossConfig | TakeProfitConfig) -> RiskOrderOut:
        return cls(
            trigger_price=leg.trigger_price,
            quantity=leg.quantity,
            order_id=leg.order_id,
            side=leg.side.name,
        )


class RiskOrdersResponse(BaseModel):
    stop_losses: dict[str, list[RiskOrderOut]]
    take_profits: dict[str, list[RiskOrderOut]]


class UpdatePriceResponse(BaseModel):
    success: bool
    message: str
    filled_orders: list[str] = Field(description="Ids of the orders this quote filled")


class HealthResponse(BaseModel):
    status: Literal["ok", "closed"]
    engine_ready: bool
    price_stream_connected: bool
    timestamp: datetime = Field(description="The session clock (virtual or wall)")
    session: str | None
    mode: Literal["PAPER", "LIVE"]
    broker: str
    feed: str
    clock: Literal["virtual", "wall"]
    symbol_count: int
    kill_switch: str
    armed: bool = Field(
        default=False, description="LIVE only: orders go to Fyers (session.arm_live was called)"
    )


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Failure(BaseModel):
    success: Literal[False] = False
    message: str
    code: str
    field: str | None = None
    errors: list[ErrorItem] | None = None


# ====================================================================== errors
class ApiError(Exception):
    """A refusal decided by the API layer itself (auth, feed attached, closed session)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


_REJECTION_STATUS: dict[str, int] = {
    "UNKNOWN_ORDER": 404,
    "NOT_OPEN": 409,
    "KILL_SWITCH": 403,
    "KILL_SWITCH_REDUCING": 403,
    "RATE_LIMIT": 429,
}
"""Engine codes with a more specific status than 400 (the original answered 400)."""


def rejection_status(code: str) -> int:
    """The HTTP status of an engine rejection code: 400 unless the code says more."""
    return _REJECTION_STATUS.get(code, 400)


def _failure(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    errors: list[ErrorItem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "message": message, "code": code, "field": field}
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def _on_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderRejected)
    return _failure(rejection_status(exc.code), exc.code, exc.reason, exc.field)


async def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return _failure(400, "INVALID_INPUT", f"{exc.field} {exc.reason}.", exc.field)


async def _on_closed(request: Request, exc: Exception) -> JSONResponse:
    return _failure(503, "SESSION_CLOSED", str(exc))


async def _on_live_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other livetrade error (journal, feed...) is the service's state, not the client's
    input: 503 with its sentence. An ``AuthError`` is summarized, since broker credential
    messages are not for remote clients."""
    assert isinstance(exc, LiveTradeError)
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).upper()
    if isinstance(exc, AuthError):
        log.warning("broker authentication failed during %s %s", request.method, request.url.path)
        return _failure(503, code, "The broker rejected this session's credentials.")
    return _failure(503, code, str(exc))


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _failure(exc.status, exc.code, exc.message, exc.field, headers=exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    """Pydantic errors in the original's ``success/message`` shape; never the input echoed."""
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    items = [
        ErrorItem(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "invalid")),
            type=str(e.get("type", "invalid")),
        )
        for e in raw
    ]
    if any(e.type == "json_invalid" for e in items):
        return _failure(400, "MALFORMED_JSON", "The request body is not valid JSON.", None, items)
    first = items[0] if items else None
    field = _field_of(first.loc) if first else None
    if first is None:
        message = "The request does not match the schema."
    elif first.type == "missing" and field is None:
        message = "The request needs a JSON object body."
    elif field is None:
        message = f"The request body is invalid: {first.msg}."
    else:
        message = f"{field}: {first.msg}."
    return _failure(422, "INVALID_REQUEST", message, field, items)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    """Routing errors (404/405) and FastAPI's body-parsing 400 (e.g. invalid UTF-8)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        return _failure(400, "MALFORMED_JSON", "The request body is not valid JSON.")
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}
    code = codes.get(exc.status_code, f"HTTP_{exc.status_code}")
    headers = dict(exc.headers) if exc.headers else None
    return _failure(exc.status_code, code, str(exc.detail), headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug, not bad input: log it, answer 500 in the usual shape, reveal nothing."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _failure(500, "INTERNAL_ERROR", "Internal error; see the server log.")


# ====================================================================== helpers
class _BodyLimit:
    """413 in the usual failure shape for a body over ``limit`` bytes, whether announced by
    Content-Length or streamed; bodies are read before auth, so this bounds what anyone can make
    the server buffer."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"The request body is larger than {self.limit} bytes."
        for name, value in scope["headers"]:
            if name == b"content-length" and (
                len(value) > 12 or not value.isdigit() or int(value) > self.limit
            ):
                await _failure(413, "BODY_TOO_LARGE", too_large)(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # FastAPI lets an HTTPException through its body parsing
                    raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)


@contextlib.contextmanager
def _capture_fills(engine: LiveTradingEngine) -> Iterator[list[Fill]]:
    """Collect the fills a synchronous engine call makes (the engine runs them inline)."""
    fills: list[Fill] = []

    def listen(event: EngineEvent) -> None:
        if event.kind == "fill" and event.fill is not None:
            fills.append(event.fill)

    engine.add_listener(listen)
    try:
        yield fills
    finally:
        engine.remove_listener(listen)


def _sum_charges(fills: list[Fill], order_id: str) -> Charges | None:
    total: Charges | None = None
    for f in fills:
        if f.order_id == order_id:
            total = f.charges if total is None else total + f.charges
    return total


def _order_message(order: Order) -> str:
    if order.status is OrderStatus.FILLED:
        verb = "Bought" if order.side is Side.BUY else "Sold"
        return (
            f"{verb} {order.quantity} {order.symbol} at ₹{order.executed_price} "
            f"(charges ₹{from_paise(order.charges_paise)})."
        )
    side = "buy" if order.side is Side.BUY else "sell"
    text = f"{order.kind.value} {side} of {order.quantity} {order.symbol}"
    if order.status is OrderStatus.PENDING:
        return f"{text}: order {order.order_id} was sent to Fyers; its answer is not in yet."
    if order.trigger_price is not None:
        text += f", trigger ₹{order.trigger_price}"
    if order.limit_price is not None:
        text += f", limit ₹{order.limit_price}"
    return f"{text}: order {order.order_id} is open."


def _feed_kind(session: Session | None) -> str:
    """The session's feed (``sim``, ``replay``, ``fyers``, ``hub``: ``session.feed``, the one
    name the dashboard uses too) or ``none`` for a bare engine."""
    return "none" if session is None else session.feed


def _feed_live(session: Session) -> bool:
    state = session.feed_state()
    return state is None or state.status == "live"


def _origin(request: Request) -> str:
    """Audit origin journaled with the order: the route and the client's address (no headers,
    so never the token)."""
    client = request.client
    peer = f" from {client.host}:{client.port}" if client is not None else ""
    return f"REST {request.method} {request.url.path}{peer}"


def _token_matches(given: str, expected: str) -> bool:
    """Constant time, and hashing first hides the expected token's length too."""
    a = hashlib.sha256(given.encode()).digest()
    b = hashlib.sha256(expected.encode()).digest()
    return hmac.compare_digest(a, b)


# ====================================================================== the app
_BEARER = HTTPBearer(auto_error=False, description="The token given to serve_api / --token")
"""Module level: FastAPI resolves the (string) annotations of dependencies in module globals."""


@dataclass(frozen=True)
class _Served:
    """What every route of one app works on: the session (None for a bare engine) and its
    engine, and the checks several routes share."""

    session: Session | None
    engine: LiveTradingEngine
    allow_update_price: bool

    def writable(self) -> None:
        if self.session is not None and self.session.closed:
            raise SessionClosed(f"session {self.session.name!r} is closed; open a new one")

    def live_session(self) -> Session:
        if self.session is None or self.session.router is None:
            raise ApiError(
                409, "NOT_LIVE", "This is a paper session: there is nothing to reconcile or arm."
            )
        return self.session


def _new_app() -> FastAPI:
    """The FastAPI app with the body limit and every error mapped to a ``Failure``."""
    app = FastAPI(
        title="livetrade",
        version="0.1.0",
        summary="Paper/live trading of Indian markets via Fyers: the original REST API.",
    )
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)
    app.add_exception_handler(OrderRejected, _on_rejected)
    app.add_exception_handler(InvalidInput, _on_invalid)
    app.add_exception_handler(SessionClosed, _on_closed)
    app.add_exception_handler(LiveTradeError, _on_live_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
    return app


def _authorizer(token: str | None) -> Callable[..., Awaitable[None]]:
    """The dependency that checks ``Authorization: Bearer`` (a no-op without a token)."""

    async def authorize(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        if token is None:
            return
        if credentials is None or not _token_matches(credentials.credentials, token):
            raise ApiError(
                401,
                "UNAUTHORIZED",
                "Missing or invalid API token (send 'Authorization: Bearer <token>').",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return authorize


def create_app(
    session_or_engine: Session | LiveTradingEngine,
    *,
    token: str | None = None,
    allow_update_price: bool = True,
) -> FastAPI:
    """The FastAPI app for one session (or a bare engine, as in the original).

    ``token``: when given, every endpoint but ``health`` requires ``Authorization: Bearer``.
    ``allow_update_price=False`` refuses ``update-price`` even on a simulated session.
    """
    if isinstance(session_or_engine, Session):
        served = _Served(session_or_engine, session_or_engine.engine, allow_update_price)
    elif isinstance(session_or_engine, LiveTradingEngine):
        served = _Served(None, session_or_engine, allow_update_price)
    else:
        raise TypeError(
            f"create_app needs a Session or LiveTradingEngine, not {session_or_engine!r}"
        )
    if token is not None and not token:
        raise InvalidInput("token", "must not be empty")
    app = _new_app()
    failures: dict[int | str, dict[str, Any]] = {
        s: {"model": Failure} for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)
    }
    guarded = APIRouter(
        prefix=PREFIX,
        dependencies=[Depends(_authorizer(token))] if token is not None else [],
        responses=failures,
    )
    open_router = APIRouter(prefix=PREFIX)
    _order_routes(guarded, served)
    _view_routes(guarded, served)
    _live_routes(guarded, served)
    _price_routes(guarded, served)
    _health_route(open_router, served)
    app.include_router(guarded)
    app.include_router(open_router)
    return app


def _order_routes(router: APIRouter, ctx: _Served) -> None:
    """buy, sell, cancel: orders through the engine (a live one waits for Fyers' answer)."""
    session, engine = ctx.session, ctx.engine

    async def place(side: Side, body: OrderRequest, request: Request) -> OrderResponse:
        ctx.writable()
        with _capture_fills(engine) as fills:
            order = engine.submit(
                body.symbol,
                side,
                body.quantity,
                body.order_type,
                product=body.product,
                limit_price=body.limit_price,
                trigger_price=body.trigger_price,
                stop_loss=body.stop_loss_price,
                take_profit=body.take_profit_price,
                tag=body.tag,
                source="api",
                origin=_origin(request),
            )
            if order.live and session is not None:  # Fyers' answer (and a market fill)
                order = await session.settle(order)
        out = OrderOut.of(order, _sum_charges(fills, order.order_id))
        if order.status is OrderStatus.CANCELLED:  # accepted, but nothing to execute against
            raise ApiError(409, "NOT_EXECUTED", order.message or "The order did not execute.")
        return OrderResponse(success=True, message=_order_message(order), order=out)

    @router.post("/buy", summary="Buy (market by default; LIMIT, SL, SL-M with prices)")
    async def buy(body: OrderRequest, request: Request) -> OrderResponse:
        return await place(Side.BUY, body, request)

    @router.post("/sell", summary="Sell (an INTRADAY sell beyond the position opens a short)")
    async def sell(body: OrderRequest, request: Request) -> OrderResponse:
        return await place(Side.SELL, body, request)

    @router.post("/cancel", summary="Cancel an open order (a bracket leg cancels alone)")
    async def cancel(body: CancelRequest) -> OrderResponse:
        ctx.writable()
        order = engine.cancel(body.order_id)
        if order.live and session is not None and session.router is not None:
            await session.router.settled(order)  # Fyers has answered the cancel
        return OrderResponse(
            success=True, message=f"Cancelled order {order.order_id}.", order=OrderOut.of(order)
        )


def _view_routes(router: APIRouter, ctx: _Served) -> None:
    """portfolio, positions, orders, open-orders, risk-orders: reading, never changing."""
    engine = ctx.engine

    @router.get("/portfolio", summary="Cash, P&L (net of charges) and positions")
    async def portfolio() -> PortfolioResponse:
        return PortfolioResponse.model_validate(engine.portfolio_pnl())

    @router.get("/positions", summary="Open positions, netted per symbol")
    async def positions() -> PositionsResponse:
        out = [
            PositionOut(
                symbol=p.symbol,
                quantity=p.quantity,
                avg_buy_price=p.avg_buy_price,
                total_cost=(p.avg_buy_price * p.quantity).quantize(Decimal("0.01")),
                product=p.product.value,
                current_price=p.last_price,
                market_value=p.market_value,
                unrealized_pnl=p.unrealized_pnl,
                realized_pnl=p.realized_pnl,
                charges=p.charges,
            )
            for p in engine.get_active_positions().values()
        ]
        return PositionsResponse(positions=out)

    @router.get("/orders", summary="Executed orders, oldest first")
    async def orders(
        symbol: Annotated[str | None, Query(max_length=64)] = None,
    ) -> OrdersResponse:
        return OrdersResponse(orders=[ExecutedOut.of(e) for e in engine.get_order_history(symbol)])

    @router.get("/open-orders", summary="Resting orders (limits, stops, bracket legs)")
    async def open_orders(
        symbol: Annotated[str | None, Query(max_length=64)] = None,
    ) -> OpenOrdersResponse:
        return OpenOrdersResponse(orders=[OrderOut.of(o) for o in engine.open_orders(symbol)])

    @router.get("/risk-orders", summary="Open stop-loss and take-profit legs per symbol")
    async def risk_orders() -> RiskOrdersResponse:
        r = engine.get_risk_orders()
        return RiskOrdersResponse(
            stop_losses={
                s: [RiskOrderOut.of(c) for c in legs] for s, legs in r["stop_losses"].items()
            },
            take_profits={
                s: [RiskOrderOut.of(c) for c in legs] for s, legs in r["take_profits"].items()
            },
        )


def _live_routes(router: APIRouter, ctx: _Served) -> None:
    """reconciliation, arm-live, disarm-live: a live session's arming."""

    @router.get("/reconciliation", summary="LIVE: our book against Fyers' (reads Fyers now)")
    async def reconciliation() -> ReconciliationResponse:
        s = ctx.live_session()
        ctx.writable()
        return ReconciliationResponse.of(await s.reconcile(), s.mode)

    @router.post("/arm-live", summary='LIVE: allow real orders (confirm must be "LIVE")')
    async def arm_live(body: ArmRequest) -> ReconciliationResponse:
        from livetrade.live import LiveNotArmed

        s = ctx.live_session()
        ctx.writable()
        try:
            rec = await s.arm_live(body.confirm, accept_differences=body.accept_differences)
        except LiveNotArmed:
            assert s.reconciliation is not None
            raise ApiError(
                409,
                "RECONCILIATION_DIFFERS",
                f"{len(s.reconciliation.differences)} differences with Fyers: see GET "
                "reconciliation; resolve them or arm with accept_differences=true.",
            ) from None
        return ReconciliationResponse.of(rec, s.mode)

    @router.post("/disarm-live", summary="LIVE: stop sending new orders")
    async def disarm_live() -> ModeResponse:
        s = ctx.live_session()
        s.disarm_live()
        return ModeResponse(mode=s.mode, armed=False)


def _price_routes(router: APIRouter, ctx: _Served) -> None:
    """update-price: push a quote when prices are simulated."""
    session, engine, stream = ctx.session, ctx.engine, ctx.engine.price_stream
    allow_update_price = ctx.allow_update_price

    @router.post("/update-price", summary="Push a quote (simulated prices only)")
    async def update_price(body: PriceUpdate) -> UpdatePriceResponse:
        if not allow_update_price:
            raise ApiError(403, "UPDATE_PRICE_DISABLED", "update-price is disabled on this server.")
        feed = _feed_kind(session)
        if feed not in ("sim", "none"):
            raise ApiError(
                409,
                "FEED_ATTACHED",
                f"Prices come from the session's {feed} feed; update-price only works when "
                "prices are simulated.",
            )
        ctx.writable()
        sym = body.symbol
        try:
            check_symbol(sym)
        except InvalidInput as exc:
            why = f"Symbol {sym!r} is not a Fyers symbol such as 'NSE:SBIN-EQ' ({exc.reason})."
            raise OrderRejected("INVALID_SYMBOL", why, "symbol") from None
        quote = PriceQuote(
            sym,
            body.bid_price,
            body.ask_price,
            body.last_price,
            body.volume,
            ns_to_datetime(engine.clock.now_ns()),
        )
        with _capture_fills(engine) as fills:
            await stream.update_price(sym, quote)
        filled = list(dict.fromkeys(f.order_id for f in fills))
        return UpdatePriceResponse(success=True, message="Price updated", filled_orders=filled)


def _health_route(router: APIRouter, ctx: _Served) -> None:
    """health: liveness and what this server trades (no token needed)."""
    session, engine, stream = ctx.session, ctx.engine, ctx.engine.price_stream

    @router.get(
        "/health",
        summary="Liveness and what this server trades (no token needed)",
        responses={503: {"model": HealthResponse, "description": "The session is closed"}},
    )
    async def health(response: Response) -> HealthResponse:
        closed = session is not None and session.closed
        if closed:
            response.status_code = 503
        return HealthResponse(
            status="closed" if closed else "ok",
            engine_ready=not closed,
            price_stream_connected=not closed and (session is None or _feed_live(session)),
            timestamp=ns_to_datetime(engine.clock.now_ns()),
            session=session.name if session is not None else None,
            mode="LIVE" if engine.live else "PAPER",
            broker="fyers" if engine.live else engine.broker.name,
            feed=_feed_kind(session),
            clock="virtual" if isinstance(engine.clock, VirtualClock) else "wall",
            symbol_count=len(stream.symbols),
            kill_switch=engine.kill_switch.value,
            armed=engine.router is not None and engine.router.armed,
        )


# ====================================================================== serving
is_loopback = is_loopback_host  # the name this module has always exported


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token (raises ``InvalidInput``)."""
    if token is not None and not token:
        raise InvalidInput("token", "must not be empty")
    if token is None and not is_loopback(host):
        raise InvalidInput(
            "token",
            f"binding {host!r} exposes the API beyond this machine; give a token "
            "(clients then send 'Authorization: Bearer <token>')",
        )


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves: errors surface here as ``OSError`` (uvicorn would
    ``sys.exit`` inside the loop), and port 0 gives a free port we can report."""
    addr = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    infos = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _InLoopServer(uvicorn.Server):
    """uvicorn's server minus its signal handlers: in a kernel, Ctrl-C/interrupt belongs to the
    kernel, and in ``livetrade serve`` the CLI handles SIGINT/SIGTERM itself."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class ApiServer:
    """A uvicorn server running as a task in this loop. ``await server.stop()`` ends it;
    ``await server`` waits until it ends."""

    def __init__(
        self, server: _InLoopServer, task: asyncio.Task[None], host: str, port: int
    ) -> None:
        self._server = server
        self.task = task
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return not self.task.done()

    async def stop(self) -> None:
        """Stop accepting, finish the requests in flight, close (idempotent)."""
        self._server.should_exit = True
        if not self.task.done():
            await asyncio.wait({self.task})
        if not self.task.cancelled() and self.task.exception() is not None:
            log.warning("API server ended with %r", self.task.exception())

    def __await__(self) -> Generator[Any, None, None]:
        return self.task.__await__()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ApiServer({self.url}, {state})"


async def serve_api(
    session: Session | LiveTradingEngine,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    *,
    allow_update_price: bool = True,
    access_log: bool = True,
) -> ApiServer:
    """Serve the API for ``session`` from the running loop (a kernel's, or ``asyncio.run``'s).

    Returns once the port is bound and the server accepts connections; ``port=0`` picks a free
    port (see ``.port``/``.url``). A non-loopback ``host`` requires ``token``. uvicorn's logs go
    to the ``uvicorn`` loggers without reconfiguring logging (the kernel's logging stays as is).
    """
    check_exposure(host, token)
    app = create_app(session, token=token, allow_update_price=allow_update_price)
    sock = _bind(host, port)
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        host=host,
        port=bound_port,
        lifespan="off",
        log_config=None,
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = _InLoopServer(config)
    task = asyncio.get_running_loop().create_task(
        server.serve(sockets=[sock]), name=f"livetrade:api:{bound_port}"
    )
    ready = asyncio.ensure_future(server.ready.wait())
    try:
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
    if task.done():
        sock.close()
        task.result()  # raises what stopped it
        raise RuntimeError("the API server stopped during startup")
    log.info("livetrade API on http://%s:%d%s", host, bound_port, PREFIX)
    return ApiServer(server, task, host, bound_port)


__all__ = [
    "PREFIX",
    "ApiError",
    "ApiServer",
    "check_exposure",
    "create_app",
    "is_loopback",
    "rejection_status",
    "serve_api",
]
