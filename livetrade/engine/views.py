"""Reading state: orders, fills, positions and the portfolio P&L."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from livetrade.engine.events import ChargesRefund
from livetrade.engine.restore import Restore
from livetrade.model import Fill, Order, Position
from livetrade.money import from_paise

log = logging.getLogger("livetrade.engine")


class Views(Restore):
    """Reading state: orders, fills, positions and the portfolio P&L."""

    @property
    def orders(self) -> list[Order]:
        return list(self._orders.values())

    @property
    def fills(self) -> list[Fill]:
        return list(self._fills)

    @property
    def refunds(self) -> list[ChargesRefund]:
        """Charges given back (same-day CNC round trips re-billed as intraday)."""
        return list(self._refunds)

    def order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values() if o.is_open and (symbol in (None, o.symbol))]

    def positions(self, include_closed: bool = False) -> list[Position]:
        """Every (symbol, product) position, with last price and unrealized P&L."""
        return [
            lots.view(self.price_stream.last_paise(sym))
            for (sym, _), lots in self._positions.items()
            if include_closed or lots.qty
        ]

    def resting_triggers(self, symbol: str) -> int:
        b = self._books.get(symbol)
        return 0 if b is None else len(b)

    def portfolio_pnl(self) -> dict[str, Any]:
        """Synchronous ``get_portfolio_pnl`` (the original's keys, plus gross/charges/cash)."""
        p = self.pnl_paise()
        total = p["total"]
        pct = (
            (Decimal(total) * 100 / Decimal(self.initial_paise)).quantize(Decimal("0.01"))
            if self.initial_paise
            else Decimal("0.00")
        )
        positions: dict[str, dict[str, Any]] = {}
        for pos in self.positions():
            cur = pos.last_price if pos.last_price is not None else pos.avg_buy_price
            entry = positions.get(pos.symbol)
            if entry is None:
                cost = pos.avg_buy_price * pos.quantity
                positions[pos.symbol] = {
                    "quantity": pos.quantity,
                    "avg_buy_price": pos.avg_buy_price,
                    "current_price": cur,
                    "unrealized_pnl": pos.unrealized_pnl,
                    "unrealized_pnl_percent": (
                        (pos.unrealized_pnl * 100 / abs(cost)).quantize(Decimal("0.01"))
                        if cost
                        else Decimal("0.00")
                    ),
                    "product": pos.product.value,
                }
            else:  # same symbol in two products: show the net
                qty = entry["quantity"] + pos.quantity
                cost = entry["avg_buy_price"] * entry["quantity"] + pos.avg_buy_price * pos.quantity
                unreal = entry["unrealized_pnl"] + pos.unrealized_pnl
                entry.update(
                    quantity=qty,
                    avg_buy_price=(cost / qty).quantize(Decimal("0.0001")) if qty else cost,
                    unrealized_pnl=unreal,
                    unrealized_pnl_percent=(
                        (unreal * 100 / abs(cost)).quantize(Decimal("0.01"))
                        if cost
                        else Decimal("0.00")
                    ),
                    product="MIXED",
                )
        return {
            "wallet_balance": from_paise(p["cash"]),
            "total_realized_pnl": from_paise(p["net_realized"]),
            "total_unrealized_pnl": from_paise(p["unrealized"]),
            "total_pnl": from_paise(total),
            "total_pnl_percent": pct,
            "portfolio_value": from_paise(p["equity"]),
            "active_positions_count": len(positions),
            "order_count": len(self._executed),
            "positions": positions,
            "initial_balance": from_paise(self.initial_paise),
            "cash": from_paise(p["cash"]),
            "market_value": from_paise(p["market_value"]),
            "gross_realized_pnl": from_paise(p["gross_realized"]),
            "total_charges": from_paise(p["charges"]),
            "kill_switch": self.kill_switch.value,
        }
