"""Pre-trade limits and the order-rate window. Every check raises ``OrderRejected`` with a code,
the offending field and a sentence; nothing here changes state until ``record`` is called."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from livetrade.errors import InvalidInput, OrderRejected
from livetrade.money import from_paise, to_paise

MINUTE_NS = 60_000_000_000


@dataclass(frozen=True)
class RiskLimits:
    """Per-order and per-minute limits. ``None`` disables a limit.

    ``intraday_margin`` is the fraction of an intraday order's notional that must be covered by
    free equity when the order adds exposure (0.2 ≈ the 5x leverage Fyers gives on equity).
    ``daily_loss_limit`` (rupees) halts trading once the day's net P&L (realized after charges
    plus unrealized) falls below minus this amount.
    ``max_feed_down_s``: once a live feed (Fyers, hub) has been down longer than this, orders
    are refused with ``STALE_QUOTE`` even though the last quote is younger than
    ``max_quote_age_s`` -- a quiet symbol may legitimately be a minute old, a dead feed may not.
    """

    max_order_quantity: int | None = 100_000
    max_order_notional: Decimal | None = Decimal("10000000")  # Rs 1 crore
    max_orders_per_minute: int | None = 120
    max_quote_age_s: float = 60.0
    max_feed_down_s: float = 5.0
    intraday_margin: Decimal = Decimal("0.2")
    daily_loss_limit: Decimal | None = None

    def __post_init__(self) -> None:
        if (
            self.daily_loss_limit is not None
            and to_paise(self.daily_loss_limit, "daily_loss_limit") <= 0
        ):
            raise InvalidInput("daily_loss_limit", "must be a positive amount or None")
        q = self.max_order_quantity
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or q <= 0):
            raise InvalidInput("max_order_quantity", "must be a positive integer or None")
        if (
            self.max_order_notional is not None
            and to_paise(self.max_order_notional, "max_order_notional") <= 0
        ):
            raise InvalidInput("max_order_notional", "must be positive or None")
        r = self.max_orders_per_minute
        if r is not None and (isinstance(r, bool) or not isinstance(r, int) or r <= 0):
            raise InvalidInput("max_orders_per_minute", "must be a positive integer or None")
        if not self.max_quote_age_s > 0:
            raise InvalidInput("max_quote_age_s", "must be positive")
        if not self.max_feed_down_s >= 0:
            raise InvalidInput("max_feed_down_s", "must be zero or positive (seconds)")
        if not Decimal(0) <= Decimal(self.intraday_margin) <= 1:
            raise InvalidInput("intraday_margin", "must be between 0 and 1")

    @property
    def max_quote_age_ns(self) -> int:
        return int(self.max_quote_age_s * 1_000_000_000)

    @property
    def max_feed_down_ns(self) -> int:
        return int(self.max_feed_down_s * 1_000_000_000)


class OrderRateWindow:
    """Counts orders accepted in the last minute of the engine's clock."""

    def __init__(self) -> None:
        self._times: deque[int] = deque()

    def check(self, limit: int | None, now_ns: int) -> None:
        if limit is None:
            return
        times = self._times
        while times and now_ns - times[0] >= MINUTE_NS:
            times.popleft()
        if len(times) >= limit:
            raise OrderRejected(
                "RATE_LIMIT",
                f"Order rate limit reached: {limit} orders in the last minute; try again shortly.",
            )

    def record(self, now_ns: int) -> None:
        self._times.append(now_ns)


def check_size(limits: RiskLimits, quantity: int, notional_paise: int) -> None:
    """Per-order quantity and notional caps."""
    if limits.max_order_quantity is not None and quantity > limits.max_order_quantity:
        raise OrderRejected(
            "MAX_QUANTITY",
            f"Quantity {quantity} exceeds the per-order limit of {limits.max_order_quantity}.",
            "quantity",
        )
    if limits.max_order_notional is not None:
        cap = to_paise(limits.max_order_notional, "max_order_notional")
        if notional_paise > cap:
            raise OrderRejected(
                "MAX_NOTIONAL",
                f"Order value ₹{from_paise(notional_paise)} exceeds the per-order limit of "
                f"₹{from_paise(cap)}.",
                "quantity",
            )
