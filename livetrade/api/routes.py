"""The app: ``create_app`` and its routes (orders, views, live arming, update-price, health)
over one session or a bare engine."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from livetrade.api.errors import ApiError, _new_app
from livetrade.api.fno_routes import fno_routes, position_greeks

# FastAPI reads the routes' (string) annotations in this module's globals: import, not TYPE_CHECKING
from livetrade.api.models import (
    ArmRequest,
    CancelRequest,
    ExecutedOut,
    Failure,
    HealthResponse,
    ModeResponse,
    OpenOrdersResponse,
    OrderOut,
    OrderRequest,
    OrderResponse,
    OrdersResponse,
    PortfolioResponse,
    PositionOut,
    PositionsResponse,
    PriceUpdate,
    ReconciliationResponse,
    RiskOrderOut,
    RiskOrdersResponse,
    UpdatePriceResponse,
)
from livetrade.clock import VirtualClock
from livetrade.engine import EngineEvent, LiveTradingEngine
from livetrade.errors import InvalidInput, OrderRejected, SessionClosed
from livetrade.model import (
    Fill,
    Order,
    OrderStatus,
    PriceQuote,
    Side,
    check_symbol,
    ns_to_datetime,
)
from livetrade.money import Charges, from_paise
from livetrade.session import Session

PREFIX = "/api/live-trading"


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
    fno_routes(guarded, served)
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
                slice=body.slice,
            )
            sliced = body.slice and engine.sliced(order.order_id) is not None
            kids = engine.children(order.order_id) if sliced else []
            if sliced:  # a sliced parent: its slices are the orders
                if session is not None and session.router is not None:
                    for kid in kids:
                        if kid.live:
                            await session.router.settled(kid)
                order = engine.sliced(order.order_id) or order
            elif order.live and session is not None:  # Fyers' answer (and a market fill)
                order = await session.settle(order)
        ids = {order.order_id, *(k.order_id for k in kids)}
        charges = [c for i in ids if (c := _sum_charges(fills, i)) is not None]
        out = OrderOut.of(order, sum(charges[1:], charges[0]) if charges else None)
        if order.status is OrderStatus.CANCELLED:  # accepted, but nothing to execute against
            raise ApiError(409, "NOT_EXECUTED", order.message or "The order did not execute.")
        message = _order_message(order)
        if sliced:
            message += f" Sliced into {len(kids)} orders (GET orders/{order.order_id}/slices)."
        return OrderResponse(success=True, message=message, order=out)

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

    @router.get("/positions", summary="Open positions, netted per symbol, with their Greeks")
    async def positions() -> PositionsResponse:
        held = engine.get_active_positions().values()
        greeks = position_greeks(ctx, [(p.symbol, p.quantity) for p in held])
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
                **greeks[p.symbol],
            )
            for p in held
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
