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

F&O additions (``livetrade.api.fno_routes``):

    GET  funds             → cash, margin blocked (F&O, intraday), premium, P&L (session.funds)
    POST buy, POST sell    + "slice": true → above the freeze, the parent of legal slices
    GET  orders/{parent_id}/slices, DELETE orders/{parent_id}/slices (cancels what works)
    POST basket            {"legs": [{"symbol", "side", "quantity" | "lots", "kind", "product",
                           "limit_price", ...}], "unwind"} → per-leg results; a refused leg
                           → 400 naming it (``legs[1].quantity``) and nothing placed
    POST convert           {"symbol", "quantity" | "lots", "from_product", "to_product"}
    GET  option-chain      ?underlying=&expiry=nearest|next|YYYY-MM-DD&strikes=
    GET  positions         also carries underlying, expiry, days_to_expiry and net Greeks

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

# ruff: noqa: F401 -- the names the single api.py module had stay importable from here

from __future__ import annotations

from livetrade.api.errors import MAX_BODY_BYTES, ApiError, rejection_status
from livetrade.api.models import (
    MAX_PRICE,
    ArmRequest,
    CancelRequest,
    ChargesOut,
    ErrorItem,
    ExecutedOut,
    Failure,
    HealthResponse,
    ModeResponse,
    Money,
    OpenOrdersResponse,
    OrderOut,
    OrderRequest,
    OrderResponse,
    OrdersResponse,
    PortfolioPosition,
    PortfolioResponse,
    PositionOut,
    PositionsResponse,
    Price,
    PriceUpdate,
    Quantity,
    ReconciliationResponse,
    ReconciliationRow,
    RiskOrderOut,
    RiskOrdersResponse,
    Symbol,
    UpdatePriceResponse,
)
from livetrade.api.routes import PREFIX, create_app
from livetrade.api.server import ApiServer, check_exposure, is_loopback, serve_api

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
