"""The F&O routes: funds, sliced orders, baskets, position conversion, the option chain, and
the Greeks the ``positions`` route adds. Registered by ``create_app`` on the same guarded
router as the original endpoints (same token, same failure shape)."""

from __future__ import annotations

import contextlib
import math
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request

# FastAPI reads the routes' (string) annotations in this module's globals: import, not TYPE_CHECKING
from livetrade.api.fno_models import (
    BasketLegOut,
    BasketRequest,
    BasketResponse,
    ConversionOut,
    ConvertRequest,
    ConvertResponse,
    FundsResponse,
    OptionChainResponse,
    SlicesResponse,
)
from livetrade.api.models import OrderOut
from livetrade.errors import InvalidInput, OrderRejected
from livetrade.model import Order, ns_to_datetime

if TYPE_CHECKING:
    from livetrade.api.routes import _Served
    from livetrade.engine import LiveTradingEngine

ParentId = Annotated[str, Path(min_length=1, max_length=64, description="The sliced parent's id")]


def units(
    engine: LiveTradingEngine,
    symbol: str,
    quantity: int | None,
    lots: int | None,
    prefix: str = "",
) -> int:
    """``quantity`` (units) or ``lots`` × the contract's lot, as ``session.buy`` takes them; a
    refusal names the field (``prefix`` + ``lots``) and never reaches the engine."""
    if (quantity is None) == (lots is None):
        raise OrderRejected(
            "INVALID_QUANTITY",
            "Give either quantity (units) or lots (whole lots of the contract), "
            + ("not both." if lots is not None else "one of them."),
            prefix + ("lots" if lots is not None else "quantity"),
        )
    if quantity is not None:
        return quantity  # checked against the lot by the engine
    assert lots is not None
    if lots <= 0:
        raise OrderRejected(
            "INVALID_QUANTITY",
            f"lots must be a positive whole number, got {lots}.",
            prefix + "lots",
        )
    try:
        lot = engine.instruments.get(symbol).lot_size
    except InvalidInput:
        return lots  # not a symbol: the engine refuses it with INVALID_SYMBOL
    return lots * lot


def _finite(x: float) -> float | None:
    return x + 0.0 if math.isfinite(x) else None


def position_greeks(ctx: _Served, held: list[tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """Per symbol: its underlying, expiry, days to expiry and the position's net Greeks, as
    ``session.positions_df`` has them (``null`` where an option's volatility is unknown)."""
    from livetrade.chain import chain_source, unit_greeks

    engine = ctx.engine
    now = ns_to_datetime(engine.clock.now_ns())
    chains = chain_source(engine.instruments, engine.price_stream.quote, now)
    out: dict[str, dict[str, Any]] = {}
    for symbol, qty in held:
        inst = engine.instruments.get(symbol)
        d, g, t, v = unit_greeks(symbol, engine.instruments, chains)
        days = None
        if inst.expiry is not None:
            days = max((inst.expiry - now).total_seconds(), 0.0) / 86_400.0
        out[symbol] = {
            "underlying": inst.underlying or symbol,
            "expiry": inst.expiry,
            "days_to_expiry": days,
            "delta": _finite(qty * d),
            "gamma": _finite(qty * g),
            "theta": _finite(qty * t),
            "vega": _finite(qty * v),
        }
    return out


def _expiry(text: str | None) -> date | str | None:
    if text is None or text in ("nearest", "next"):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "expiry", "must be 'nearest', 'next' or a date such as 2026-12-08"
        ) from None


def fno_routes(router: APIRouter, ctx: _Served) -> None:
    """funds, option-chain, basket, convert, orders/{id}/slices (GET, DELETE)."""
    from livetrade.api.routes import _capture_fills, _origin, _sum_charges

    session, engine = ctx.session, ctx.engine

    def unknown(parent_id: str) -> OrderRejected:
        return OrderRejected("UNKNOWN_ORDER", f"No sliced order {parent_id!r}.", "parent_id")

    @router.get("/funds", summary="Cash, margin blocked (F&O, intraday), premium and P&L")
    async def funds() -> FundsResponse:
        return FundsResponse.of(engine.funds())

    @router.get("/option-chain", summary="Calls and puts by strike: quotes, OI, IV and Greeks")
    async def option_chain(
        underlying: Annotated[str, Query(min_length=1, max_length=64)] = "NSE:NIFTY50-INDEX",
        expiry: Annotated[
            str | None, Query(max_length=32, description="nearest (default), next or YYYY-MM-DD")
        ] = None,
        strikes: Annotated[int, Query(ge=1, le=200, description="Rows around the money")] = 20,
    ) -> OptionChainResponse:
        from livetrade.chain import option_chain

        oi = None
        if session is not None and session.derivatives is not None:
            oi = session.derivatives.open_interest
        frame = option_chain(
            engine.instruments, engine.price_stream.quote, underlying,
            ns_to_datetime(engine.clock.now_ns()), expiry=_expiry(expiry), strikes=strikes,
            oi=oi,
        )  # fmt: skip
        return OptionChainResponse.of(frame)

    @router.post("/basket", summary="Several orders as one (buys first; all refused or none)")
    async def basket(body: BasketRequest, request: Request) -> BasketResponse:
        from livetrade.engine.baskets import parse_legs

        ctx.writable()
        legs = [
            {
                "symbol": leg.symbol,
                "side": leg.side,
                "quantity": units(engine, leg.symbol, leg.quantity, leg.lots, f"legs[{i}]."),
                "kind": leg.kind,
                "product": leg.product,
                "limit_price": leg.limit_price,
                "trigger_price": leg.trigger_price,
                "stop_loss": leg.stop_loss_price,
                "take_profit": leg.take_profit_price,
                "tag": leg.tag,
            }
            for i, leg in enumerate(body.legs)
        ]
        requests = parse_legs(
            legs, default_product=engine.default_product, instruments=engine.instruments
        )
        with _capture_fills(engine) as fills:
            result = engine.place_basket(requests, origin=_origin(request), unwind=body.unwind)
            if session is not None and session.router is not None:  # Fyers' answers
                for order in result.orders:
                    if order.live:
                        with contextlib.suppress(OrderRejected):  # the leg's state says so
                            await session.settle(order)
                await session.router.drain()
        out = [
            BasketLegOut(
                index=leg.index,
                state=leg.state,
                order_id=leg.order.order_id if leg.order else None,
                order=(
                    OrderOut.of(leg.order, _sum_charges(fills, leg.order.order_id))
                    if leg.order
                    else None
                ),
                code=leg.rejection.code if leg.rejection else None,
                field=leg.rejection.field if leg.rejection else None,
                reason=leg.rejection.reason if leg.rejection else None,
                unwind_order_id=leg.unwind.order_id if leg.unwind else None,
            )
            for leg in result.legs
        ]
        if result.failed is None:
            message = f"Basket {result.basket_id}: {len(result.orders)} legs placed."
        else:
            what = "the legs before it were unwound" if result.unwound else "the others stay"
            message = f"Basket {result.basket_id}: leg {result.failed + 1} was refused; {what}."
        return BasketResponse(
            success=result.ok,
            message=message,
            basket_id=result.basket_id,
            failed=result.failed,
            unwound=result.unwound,
            live_legs=list(result.live_legs),
            sequence=list(result.sequence),
            legs=out,
        )

    @router.post("/convert", summary="Move a position between products (INTRADAY/CNC/MARGIN)")
    async def convert(body: ConvertRequest) -> ConvertResponse:
        ctx.writable()
        if session is not None:
            conv = await session.convert(
                body.symbol, body.quantity, body.from_product, body.to_product, lots=body.lots
            )
        else:
            qty = units(engine, body.symbol, body.quantity, body.lots)
            conv = engine.convert(body.symbol, qty, body.from_product, body.to_product)
        return ConvertResponse(
            success=True,
            message=f"Converted {abs(conv.quantity)} {conv.symbol} "
            f"{conv.from_product.value} → {conv.to_product.value}.",
            conversion=ConversionOut.of(conv),
        )

    def sliced(parent_id: str, slices: list[Order], message: str) -> SlicesResponse:
        parent = engine.sliced(parent_id)
        assert parent is not None
        return SlicesResponse(
            success=True,
            message=message,
            parent=OrderOut.of(parent),
            slices=[OrderOut.of(o) for o in slices],
        )

    @router.get("/orders/{parent_id}/slices", summary="A sliced order and its slices")
    async def slices(parent_id: ParentId) -> SlicesResponse:
        if engine.sliced(parent_id) is None:
            raise unknown(parent_id)
        kids = engine.children(parent_id)
        return sliced(parent_id, kids, f"Order {parent_id} was sliced into {len(kids)} orders.")

    @router.delete(
        "/orders/{parent_id}/slices",
        summary="Cancel the slices still working (returns the ones cancelled)",
    )
    async def cancel_slices(parent_id: ParentId) -> SlicesResponse:
        ctx.writable()
        if engine.sliced(parent_id) is None:
            raise unknown(parent_id)
        if session is not None:
            cancelled = await session.cancel_sliced(parent_id)
        else:
            cancelled = engine.cancel_sliced(parent_id)
        return sliced(
            parent_id, cancelled, f"Cancelled {len(cancelled)} slices of order {parent_id}."
        )
