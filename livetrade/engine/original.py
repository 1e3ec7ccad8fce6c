"""The original system's API (``market_buy``, ``get_portfolio_pnl``...) over the synchronous core.

Names, argument order, return shapes and JSON keys are a compatibility promise (mission.md):
``market_buy``/``market_sell`` return ``(success, message, order)`` and never raise on bad input.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from livetrade.engine.baskets import Baskets
from livetrade.engine.conversion import Conversions
from livetrade.engine.fno import Derivatives
from livetrade.errors import OrderRejected
from livetrade.fmt import inr
from livetrade.model import (
    ExecutedOrder,
    OrderKind,
    OrderStatus,
    Position,
    Role,
    Side,
    StopLossConfig,
    TakeProfitConfig,
)
from livetrade.money import from_paise, to_paise

log = logging.getLogger("livetrade.engine")


class LiveTradingEngine(Conversions, Baskets, Derivatives):
    """Paper (or live) trading engine bound to a ``LivePriceStream``.

    ``LiveTradingEngine(wallet_balance, price_stream)`` is the original signature; everything
    else is keyword-only. The engine listens to ``price_stream``: a quote that crosses a resting
    stop or limit fills it before ``update_price`` returns.
    """

    async def market_buy(
        self,
        symbol: str,
        quantity: int,
        stop_loss_price: object = None,
        take_profit_price: object = None,
    ) -> tuple[bool, str, ExecutedOrder | None]:
        """Buy at the ask. Returns ``(success, message, executed_order)``; never raises on bad
        input (the message says what was wrong)."""
        return self._seed_order(symbol, Side.BUY, quantity, stop_loss_price, take_profit_price)

    async def market_sell(
        self,
        symbol: str,
        quantity: int,
        stop_loss_price: object = None,
        take_profit_price: object = None,
    ) -> tuple[bool, str, ExecutedOrder | None]:
        """Sell at the bid (an intraday sell beyond the position opens a short)."""
        return self._seed_order(symbol, Side.SELL, quantity, stop_loss_price, take_profit_price)

    def _seed_order(
        self, symbol: str, side: Side, quantity: int, sl: object, tp: object
    ) -> tuple[bool, str, ExecutedOrder | None]:
        n_exec = len(self._executed)
        try:
            order = self.submit(
                symbol, side, quantity, OrderKind.MARKET, stop_loss=sl, take_profit=tp,
                source="seed-api",
            )  # fmt: skip
        except OrderRejected as rej:
            return False, rej.reason, None
        if order.status is not OrderStatus.FILLED or len(self._executed) == n_exec:
            return False, order.message or "Order did not fill.", None
        executed = next(e for e in self._executed[n_exec:] if e.order_id == order.order_id)
        verb = "Bought" if side is Side.BUY else "Sold"
        return (
            True,
            f"{verb} {quantity} {symbol} at ₹{executed.executed_price} "
            f"(charges ₹{executed.commission}).",
            executed,
        )

    async def check_risk_orders(self, symbol: str, current_price: object) -> None:
        """Fire any SL/TP (and other resting orders) ``current_price`` crosses. The engine also
        does this itself on every stream update; calling it by hand is harmless."""
        last = to_paise(current_price, "current_price")
        top = self.price_stream.top(symbol)
        bid, ask = (top[0], top[1]) if top is not None else (last, last)
        b = self._books.get(symbol)
        if b is not None:
            now = self.clock.now_ns()
            if last <= b.ss_lvl or last >= b.bs_lvl or bid >= b.sl_lvl or ask <= b.bl_lvl:
                self._match(symbol, b, bid, ask, last, now)
                self._flush()

    async def get_portfolio_pnl(self) -> dict[str, Any]:
        return self.portfolio_pnl()

    def get_order_history(self, symbol: str | None = None) -> list[ExecutedOrder]:
        """Executed orders, oldest first (of ``symbol`` if given)."""
        return [e for e in self._executed if symbol is None or e.symbol == symbol]

    def get_active_positions(self) -> dict[str, Position]:
        """Open positions by symbol (a symbol held in two products appears as its net)."""
        out: dict[str, Position] = {}
        for pos in self.positions():
            prev = out.get(pos.symbol)
            if prev is None:
                out[pos.symbol] = pos
            else:
                qty = prev.quantity + pos.quantity
                cost = prev.avg_buy_price * prev.quantity + pos.avg_buy_price * pos.quantity
                out[pos.symbol] = Position(
                    symbol=pos.symbol,
                    quantity=qty,
                    avg_buy_price=(cost / qty).quantize(Decimal("0.0001")) if qty else cost,
                    product=pos.product,
                    realized_pnl=prev.realized_pnl + pos.realized_pnl,
                    charges=prev.charges + pos.charges,
                    last_price=pos.last_price,
                    unrealized_pnl=prev.unrealized_pnl + pos.unrealized_pnl,
                )
        return {s: p for s, p in out.items() if p.quantity}

    def get_risk_orders(self) -> dict[str, dict[str, list[Any]]]:
        """Open bracket legs: ``{"stop_losses": {symbol: [...]}, "take_profits": {...}}``."""
        sls: dict[str, list[Any]] = {}
        tps: dict[str, list[Any]] = {}
        for o in self._orders.values():
            if not o.is_open or o.role is Role.ENTRY:
                continue
            left = o.quantity - o.filled_quantity
            if o.role is Role.STOP_LOSS:
                assert o.trigger_paise is not None
                sls.setdefault(o.symbol, []).append(
                    StopLossConfig(from_paise(o.trigger_paise), left, o.symbol, o.order_id, o.side)
                )
            else:
                assert o.limit_paise is not None
                tps.setdefault(o.symbol, []).append(
                    TakeProfitConfig(from_paise(o.limit_paise), left, o.symbol, o.order_id, o.side)
                )
        return {"stop_losses": sls, "take_profits": tps}

    def __repr__(self) -> str:
        p = self.pnl_paise()
        return (
            f"LiveTradingEngine(broker={self.broker.name}, equity={inr(p['equity'])}, "
            f"positions={sum(1 for lots in self._positions.values() if lots.qty)}, "
            f"open_orders={len(self.open_orders())}, kill_switch={self.kill_switch.value})"
        )
