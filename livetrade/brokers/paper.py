"""Paper execution: the price (and, with ``fills="depth"``, the quantity) a simulated exchange
would give an order.

``fills="touch"`` (the default, what tutorials expect): buys at the ask, sells at the bid (LTP
when there is no book), in full, with optional slippage in basis points rounded against the
trader to the 5-paise tick. ``fills="depth"``: the engine walks the five depth levels through
:meth:`PaperBroker.depth_fills` (partial fills when the book is thin), with optional slippage
in ticks. Market protection caps both (``livetrade.engine.matching``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Literal

from livetrade.errors import InvalidInput
from livetrade.model import Side

if TYPE_CHECKING:
    from livetrade.depth import Depth

TICK_PAISE = 5

FILL_MODELS: Final = ("touch", "depth")
FillModel = Literal["touch", "depth"]

Levels = Sequence[tuple[int, int]]
"""One side of a book, best first: ``(price paise, quantity)``."""
Book = tuple[Levels, Levels]
"""``(bids, asks)``: what the engine's ``depth_source`` answers for fills="depth"."""


def book_from_record(values: Sequence[int | None]) -> Book:
    """A :data:`Book` from a 30-value depth record already in paise (``simulated_levels``):
    no Decimal on the way, since a fill reads it."""
    bids = [(p, values[10 + i] or 0) for i, p in enumerate(values[:5]) if p]
    asks = [(p, values[15 + i] or 0) for i, p in enumerate(values[5:10]) if p]
    return bids, asks


def book_from_depth(depth: Depth) -> Book:
    """A :data:`Book` from a :class:`~livetrade.depth.Depth` (rupees)."""
    return (
        [(int(p * 100), q) for p, q, _ in depth.bids],
        [(int(p * 100), q) for p, q, _ in depth.asks],
    )


class PaperBroker:
    """Decides paper fills: ``fills="touch"`` fills every marketable order in full at the touch
    (no partial fills, no queue position); ``fills="depth"`` fills level by level."""

    name = "paper"
    live = False

    def __init__(
        self,
        slippage_bps: int = 0,
        tick_paise: int = TICK_PAISE,
        *,
        fills: FillModel = "touch",
        slippage_ticks: int = 0,
        latency_ms: int = 0,
    ) -> None:
        if isinstance(slippage_bps, bool) or not isinstance(slippage_bps, int) or slippage_bps < 0:
            raise InvalidInput("slippage_bps", "must be a non-negative integer number of bps")
        if fills not in FILL_MODELS:
            raise InvalidInput("fills", f"{fills!r} is not one of {', '.join(FILL_MODELS)}")
        t = slippage_ticks
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise InvalidInput("slippage_ticks", "must be a non-negative whole number of ticks")
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
            raise InvalidInput("latency_ms", "must be a non-negative whole number of ms")
        self.slippage_bps = slippage_bps
        self.tick_paise = tick_paise
        self.fills: FillModel = fills
        self.slippage_ticks = slippage_ticks
        # market and limit orders reach the simulated exchange this long after they are placed
        # (on the first tick at or after it, on the session's clock): the quote they were
        # judged against is gone by then
        self.latency_ms = latency_ms

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

    def depth_fills(
        self,
        side: Side,
        levels: Sequence[tuple[int, int]],
        quantity: int,
        touch: int,
        limit: int | None,
        tick: int,
        taker: bool = True,
    ) -> list[tuple[int, int]]:
        """``(price, quantity)`` fills for ``quantity`` against ``levels`` (the opposite side,
        best first, paise). A taker takes level after level at its price, never better than
        ``touch``, worse by ``slippage_ticks`` ticks, while within ``limit`` (a limit price or
        the protected price of a market order). A resting order (``taker=False``) fills at its
        own ``limit``, only from the levels strictly through it: we assume it is last in the
        queue at its price, so the book must trade through the price to reach it."""
        out: list[tuple[int, int]] = []
        buy = side is Side.BUY
        left = quantity
        if not taker:
            if limit is None:
                return out
            # a level is no better than the touch (depth may lag the quote)
            if buy:
                through = sum(q for p, q in levels if p < limit) if touch < limit else 0
            else:
                through = sum(q for p, q in levels if p > limit) if touch > limit else 0
            take = min(left, through)
            return [(limit, take)] if take > 0 else out
        slip = self.slippage_ticks * tick
        for price, qty in levels:
            if left <= 0:
                break
            if buy:
                p = max(price, touch) + slip
                if limit is not None and p > limit:
                    break
            else:
                p = max(min(price, touch) - slip, tick)
                if limit is not None and p < limit:
                    break
            take = min(left, qty)
            if take > 0:
                out.append((p, take))
                left -= take
        return out

    def __repr__(self) -> str:
        extra = f", fills={self.fills!r}" if self.fills != "touch" else ""
        if self.slippage_ticks:
            extra += f", slippage_ticks={self.slippage_ticks}"
        if self.latency_ms:
            extra += f", latency_ms={self.latency_ms}"
        return f"PaperBroker(slippage_bps={self.slippage_bps}{extra})"
