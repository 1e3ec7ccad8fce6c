"""Paper execution: buys at the ask, sells at the bid (LTP when there is no book), with optional
slippage in basis points rounded against the trader to the 5-paise tick."""

from __future__ import annotations

from livetrade.errors import InvalidInput
from livetrade.model import Side

TICK_PAISE = 5


class PaperBroker:
    """Fills every marketable order in full at the touch (no partial fills, no queue position)."""

    name = "paper"
    live = False

    def __init__(self, slippage_bps: int = 0, tick_paise: int = TICK_PAISE) -> None:
        if isinstance(slippage_bps, bool) or not isinstance(slippage_bps, int) or slippage_bps < 0:
            raise InvalidInput("slippage_bps", "must be a non-negative integer number of bps")
        self.slippage_bps = slippage_bps
        self.tick_paise = tick_paise

    def execution_price(
        self, side: Side, bid: int, ask: int, last: int, limit: int | None
    ) -> int | None:
        if side is Side.BUY:
            price = ask if ask > 0 else last
            if self.slippage_bps:
                raw = price * (10_000 + self.slippage_bps)
                ticks = -(-raw // (10_000 * self.tick_paise))  # ceil: against the buyer
                price = ticks * self.tick_paise
            if limit is not None and price > limit:
                return None
        else:
            price = bid if bid > 0 else last
            if self.slippage_bps:
                raw = price * (10_000 - self.slippage_bps)
                price = raw // (10_000 * self.tick_paise) * self.tick_paise  # floor: against seller
            if limit is not None and price < limit:
                return None
        return price

    def __repr__(self) -> str:
        return f"PaperBroker(slippage_bps={self.slippage_bps})"
