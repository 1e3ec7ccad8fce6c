"""What Fyers' trading answers become: frozen dataclasses for order acknowledgements (single,
basket, exit), broker orders, trades, positions, funds, holdings and the profile, with the
small derived views callers use (``Funds.available_balance``, ``Positions.open``...). Values
only: the parsing lives in :mod:`livetrade.fyers.records`, and nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from livetrade.fyers.status_codes import FyersOrderRejected, FyersStatus
from livetrade.model import OrderKind, OrderStatus, Product, Side

# --------------------------------------------------------------------------------------------
# parsed answers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegResult:
    """Fyers' answer for one order of a basket, or one slice of a sliced order: placed
    (``order_id``), refused (``rejection``, typed as for a single order) or, after a lost
    answer that the order book could not settle, ``uncertain`` (look it up by ``tag``)."""

    index: int
    tag: str | None
    order_id: str | None
    message: str = ""
    fyers_code: int | None = None
    http_status: int | None = None
    rejection: FyersOrderRejected | None = field(default=None, compare=False)
    recovered: bool = False
    uncertain: bool = False

    @property
    def ok(self) -> bool:
        return self.order_id is not None


@dataclass(frozen=True, slots=True)
class OrderAck:
    """Fyers accepted a place, modify or cancel. ``recovered`` is True when the answer was lost
    and the order was found in the order book instead; ``attempts`` counts the sends. A sliced
    order (``slice=True`` above the freeze quantity) is several Fyers orders: ``slices`` holds
    each one's result and ``order_id`` is the first placed slice."""

    order_id: str
    tag: str | None = None
    message: str = ""
    fyers_code: int | None = None
    recovered: bool = False
    attempts: int = 1
    slices: tuple[LegResult, ...] = ()

    @property
    def order_ids(self) -> tuple[str, ...]:
        """Every Fyers order this placement made (one, or each placed slice)."""
        if not self.slices:
            return (self.order_id,)
        return tuple(leg.order_id for leg in self.slices if leg.order_id is not None)


@dataclass(frozen=True, slots=True)
class BasketLeg:
    """One order of a basket: the arguments of :meth:`FyersRestClient.place_order`."""

    symbol: str
    side: Side | str
    quantity: int
    kind: OrderKind | str = OrderKind.MARKET
    product: Product | str = Product.INTRADAY
    limit_price: object = None
    trigger_price: object = None
    tag: str | None = None
    validity: Literal["DAY", "IOC"] = "DAY"
    offline: bool = False


@dataclass(frozen=True, slots=True)
class BasketAck:
    """Fyers' answer to a basket: one :class:`LegResult` per order, in the order sent. Each
    leg stands alone at Fyers (one may be refused while the others are placed)."""

    legs: tuple[LegResult, ...]
    message: str = ""
    fyers_code: int | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """Every order was placed."""
        return all(leg.ok for leg in self.legs)

    @property
    def order_ids(self) -> tuple[str | None, ...]:
        return tuple(leg.order_id for leg in self.legs)

    @property
    def rejected(self) -> tuple[LegResult, ...]:
        return tuple(leg for leg in self.legs if leg.rejection is not None)


@dataclass(frozen=True, slots=True)
class ExitAck:
    """Fyers' answer to ``exit_positions`` (``DELETE /positions``). ``pending``: a counter
    order was placed but has not filled yet (code 201); the order book tells the rest."""

    fyers_code: int | None
    message: str

    @property
    def pending(self) -> bool:
        return self.fyers_code == 201


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """One order-book row. Prices are ``None`` when Fyers sends 0 (unused)."""

    order_id: str
    symbol: str
    side: Side
    kind: OrderKind | None
    product: str
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    limit_price: Decimal | None
    trigger_price: Decimal | None
    traded_price: Decimal | None
    status: OrderStatus
    fyers_status: FyersStatus
    raw_status: int | None
    tag: str | None
    message: str
    exchange_order_id: str | None
    validity: str
    placed_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_partially_filled(self) -> bool:
        return 0 < self.filled_quantity < self.quantity

    @property
    def product_enum(self) -> Product | None:
        try:
            return Product(self.product)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class BrokerTrade:
    """One tradebook row (one execution)."""

    trade_id: str
    order_id: str
    exchange_order_id: str | None
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    value: Decimal
    product: str
    kind: OrderKind | None
    tag: str | None
    traded_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """One net position (``id`` such as ``NSE:SBIN-EQ-INTRADAY``). ``side`` 1 long, -1 short,
    0 closed."""

    position_id: str
    symbol: str
    product: str
    net_quantity: int
    side: int
    avg_price: Decimal
    buy_quantity: int
    buy_avg: Decimal
    buy_value: Decimal
    sell_quantity: int
    sell_avg: Decimal
    sell_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    pnl: Decimal
    ltp: Decimal | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Positions:
    """The positions answer: rows plus Fyers' ``overall`` totals."""

    positions: tuple[BrokerPosition, ...]
    count_total: int
    count_open: int
    pnl_total: Decimal
    pnl_realized: Decimal
    pnl_unrealized: Decimal

    def open(self) -> tuple[BrokerPosition, ...]:
        return tuple(p for p in self.positions if p.net_quantity != 0)


@dataclass(frozen=True, slots=True)
class FundLimit:
    """One ``fund_limit`` row (``Available Balance``, ``Utilized Amount``...)."""

    id: int
    title: str
    equity: Decimal
    commodity: Decimal


@dataclass(frozen=True, slots=True)
class Funds:
    """The funds answer; the named properties read the equity column by title."""

    limits: tuple[FundLimit, ...]

    def get(self, title: str) -> FundLimit | None:
        wanted = title.strip().lower()
        return next((r for r in self.limits if r.title.strip().lower() == wanted), None)

    def _equity(self, title: str) -> Decimal | None:
        row = self.get(title)
        return None if row is None else row.equity

    @property
    def total_balance(self) -> Decimal | None:
        return self._equity("Total Balance")

    @property
    def available_balance(self) -> Decimal | None:
        return self._equity("Available Balance")

    @property
    def utilized(self) -> Decimal | None:
        return self._equity("Utilized Amount")

    @property
    def clear_balance(self) -> Decimal | None:
        return self._equity("Clear Balance")

    @property
    def realized_pnl(self) -> Decimal | None:
        return self._equity("Realized Profit and Loss")


@dataclass(frozen=True, slots=True)
class BrokerHolding:
    """One demat holding (``holding_type`` HLD in demat, T1 bought but not yet delivered)."""

    symbol: str
    quantity: int
    remaining_quantity: int
    holding_type: str
    cost_price: Decimal
    ltp: Decimal | None
    market_value: Decimal
    pnl: Decimal
    isin: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Holdings:
    holdings: tuple[BrokerHolding, ...]
    total_investment: Decimal
    total_current_value: Decimal
    total_pnl: Decimal


@dataclass(frozen=True, slots=True)
class Profile:
    """Who the token belongs to. Fyers' other (PII) fields stay in ``raw``, out of the repr."""

    fy_id: str
    name: str
    display_name: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


# ---- field readers (JSON numbers arrive as Decimal or int) ----------------------------------
