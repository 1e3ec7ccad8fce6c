"""Domain vocabulary: enums and dataclasses for quotes, orders, fills, positions and risk orders.

Prices inside the engine are integer paise (exact and fast); the dataclasses a user sees carry
``Decimal`` rupees, as the original API promised. ``PriceQuote``, ``ExecutedOrder``, ``Position``,
``StopLossConfig`` and ``TakeProfitConfig`` keep the original's field names and order.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.money import Charges, from_paise

IST = ZoneInfo("Asia/Kolkata")

# EXCHANGE:NAME where NAME is printable ASCII (index names contain spaces, scrips '&' and '-').
# Nothing else: a NUL, CR/LF or a bidi override in a symbol would reach logs, the journal, the
# dashboard and Fyers' order API.
SYMBOL_RE: Final = re.compile(r"(?P<exchange>[A-Z]{2,6}):(?P<name>[A-Z0-9&_.\- ]{1,60})")


def check_symbol(symbol: object, field: str = "symbol") -> str:
    """``symbol`` if it is a well-formed Fyers symbol (``NSE:SBIN-EQ``), else InvalidInput.

    Every place a symbol enters livetrade (orders, quotes pushed by any feed or the REST API,
    watch lists, the simulated market, the hub) goes through this one rule.
    """
    if not isinstance(symbol, str):
        raise InvalidInput(field, f"must be a string like 'NSE:SBIN-EQ', got {symbol!r}")
    if symbol != symbol.strip():
        raise InvalidInput(field, f"has leading or trailing whitespace: {symbol!r}")
    if ":" not in symbol:
        raise InvalidInput(field, f"needs an exchange prefix like 'NSE:', got {symbol!r}")
    m = SYMBOL_RE.fullmatch(symbol)
    if m is None:
        raise InvalidInput(
            field,
            f"{symbol!r} is not EXCHANGE:NAME (upper-case exchange, then up to 60 of "
            "A-Z 0-9 & _ . - and space)",
        )
    name = m["name"]
    if name.startswith(("-", " ")) or name.endswith(("-", " ")) or "--" in name:
        raise InvalidInput(field, f"malformed name part in {symbol!r}")
    return symbol


class OrderStatus(enum.Enum):
    """Where an order is in its life. Terminal: FILLED, CANCELLED, REJECTED."""

    PENDING = "PENDING"  # created, not yet accepted
    OPEN = "OPEN"  # accepted and resting (limit, stop, bracket leg)
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class IllegalTransition(LiveTradeError, RuntimeError):
    """An order was asked to move between two states the table does not allow: a bug (or a
    damaged journal), never a user's mistake."""


# Every way an order's status may change (h11-style: one table, one function applies it).
_P, _O, _F, _C, _R = (
    OrderStatus.PENDING,
    OrderStatus.OPEN,
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
)
ORDER_TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = {
    _P: frozenset({_O, _F, _C, _R}),  # accepted / filled at once / cancelled / refused
    _O: frozenset({_F, _C, _R}),  # a live order may still be refused by the exchange
    _C: frozenset({_F}),  # a broker's late fill completes it: the broker is the truth
    _F: frozenset(),
    _R: frozenset(),
}


def transition(order: Order, to: OrderStatus) -> None:
    """Move ``order`` to ``to`` if :data:`ORDER_TRANSITIONS` allows it (staying put is not a
    move); anything else raises :class:`IllegalTransition`."""
    now = order.status
    if now is to:
        return
    if to not in ORDER_TRANSITIONS[now]:
        raise IllegalTransition(f"order {order.order_id} cannot go from {now.value} to {to.value}")
    order.status = to


class Side(enum.IntEnum):
    """Buy or sell; the integer is the sign of the quantity change (Fyers uses the same)."""

    BUY = 1
    SELL = -1


class OrderKind(enum.Enum):
    """How an order executes: Fyers order types 2 (market), 1 (limit), 4 (SL), 3 (SL-M)."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"  # stop-limit: becomes a limit order at limit_price once the trigger trades
    SL_M = "SL-M"  # stop-market: becomes a market order once the trigger trades


class Product(enum.Enum):
    """Fyers products: INTRADAY (squared off the same day, shorts allowed), CNC (delivery of
    cash shares) or MARGIN (futures and options carried forward overnight; Fyers'
    ``productType`` "MARGIN")."""

    INTRADAY = "INTRADAY"
    CNC = "CNC"
    MARGIN = "MARGIN"


class OrderType(enum.Enum):
    """The original API's order type: kind and side in one name (``MARKET_BUY``...)."""

    MARKET_BUY = "MARKET_BUY"
    MARKET_SELL = "MARKET_SELL"
    LIMIT_BUY = "LIMIT_BUY"
    LIMIT_SELL = "LIMIT_SELL"
    SL_BUY = "SL_BUY"
    SL_SELL = "SL_SELL"
    SLM_BUY = "SLM_BUY"
    SLM_SELL = "SLM_SELL"

    @staticmethod
    def of(kind: OrderKind, side: Side) -> OrderType:
        return _ORDER_TYPES[(kind, side)]


_ORDER_TYPES = {
    (OrderKind.MARKET, Side.BUY): OrderType.MARKET_BUY,
    (OrderKind.MARKET, Side.SELL): OrderType.MARKET_SELL,
    (OrderKind.LIMIT, Side.BUY): OrderType.LIMIT_BUY,
    (OrderKind.LIMIT, Side.SELL): OrderType.LIMIT_SELL,
    (OrderKind.SL, Side.BUY): OrderType.SL_BUY,
    (OrderKind.SL, Side.SELL): OrderType.SL_SELL,
    (OrderKind.SL_M, Side.BUY): OrderType.SLM_BUY,
    (OrderKind.SL_M, Side.SELL): OrderType.SLM_SELL,
}


class Role(enum.Enum):
    """Why an order exists: the trader's own entry/exit, or a bracket leg protecting a position."""

    ENTRY = "ENTRY"
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"


class KillSwitch(enum.Enum):
    """ACTIVE: trade normally. REDUCING: only orders that shrink a position. HALTED: nothing new."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


def ns_to_datetime(ts_ns: int) -> datetime:
    """Epoch nanoseconds to an Asia/Kolkata aware datetime (microsecond precision)."""
    return datetime.fromtimestamp(ts_ns / 1_000_000_000, tz=IST)


def datetime_to_ns(ts: datetime) -> int:
    """Datetime to exact epoch ns; a naive one is read as the machine's local time."""
    if ts.tzinfo is None:
        ts = ts.astimezone()
    d = ts - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """One top-of-book quote (the original's names). Prices in rupees as ``Decimal``."""

    symbol: str
    bid_price: Decimal
    ask_price: Decimal
    last_price: Decimal
    volume: int
    timestamp: datetime

    @property
    def spread(self) -> Decimal:
        return self.ask_price - self.bid_price

    @property
    def mid_price(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2


@dataclass(slots=True)
class Order:
    """An order as the engine tracks it. Prices are paise internally; properties give rupees.

    ``order_id`` is our client order id; ``broker_order_id`` is the broker's (Fyers) id, equal to
    ours for paper fills. ``parent_id`` links bracket legs to the entry that created them and
    ``oco_id`` links the two legs that cancel each other.
    """

    order_id: str
    symbol: str
    side: Side
    kind: OrderKind
    product: Product
    quantity: int
    limit_paise: int | None = None
    trigger_paise: int | None = None
    status: OrderStatus = OrderStatus.PENDING
    role: Role = Role.ENTRY
    filled_quantity: int = 0
    fill_paise: int | None = None
    created_ns: int = 0
    updated_ns: int = 0
    triggered: bool = False
    stop_loss_paise: int | None = None
    take_profit_paise: int | None = None
    parent_id: str | None = None
    oco_id: str | None = None
    tag: str | None = None
    source: str = "api"
    origin: str = ""  # audit: e.g. "cell [12] #3fa1c2d0" for a notebook order
    broker_order_id: str | None = None
    charges_paise: int = 0
    message: str = ""
    live: bool = False  # routed to a real broker: its fills and states come from there
    basket_id: str | None = None  # placed as one leg of a basket (engine.place_basket)
    # a held after-market order (PENDING until then): the instant it meets the market (ns)
    release_ns: int | None = None

    @property
    def order_type(self) -> OrderType:
        return OrderType.of(self.kind, self.side)

    @property
    def limit_price(self) -> Decimal | None:
        return None if self.limit_paise is None else from_paise(self.limit_paise)

    @property
    def trigger_price(self) -> Decimal | None:
        return None if self.trigger_paise is None else from_paise(self.trigger_paise)

    @property
    def executed_price(self) -> Decimal | None:
        return None if self.fill_paise is None else from_paise(self.fill_paise)

    @property
    def stop_loss_price(self) -> Decimal | None:
        return None if self.stop_loss_paise is None else from_paise(self.stop_loss_paise)

    @property
    def take_profit_price(self) -> Decimal | None:
        return None if self.take_profit_paise is None else from_paise(self.take_profit_paise)

    @property
    def created(self) -> datetime:
        return ns_to_datetime(self.created_ns)

    @property
    def is_open(self) -> bool:
        """Working: accepted and not finished (a live order is PENDING until the broker acks)."""
        return self.status is OrderStatus.OPEN or self.status is OrderStatus.PENDING

    def _repr_html_(self) -> str:
        from livetrade.frames import orders_html

        return orders_html([self])


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``charges`` is the full Indian charges breakdown billed on it."""

    fill_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: int
    price_paise: int
    ts_ns: int
    product: Product
    role: Role
    charges: Charges
    trade_id: str | None = None  # the broker's trade number (live fills)

    @property
    def price(self) -> Decimal:
        return from_paise(self.price_paise)

    @property
    def timestamp(self) -> datetime:
        return ns_to_datetime(self.ts_ns)

    @property
    def value(self) -> Decimal:
        return from_paise(self.price_paise * self.quantity)


@dataclass(frozen=True, slots=True)
class ExecutedOrder:
    """The original API's record of an executed order (returned by ``market_buy``/``sell``)."""

    order_id: str
    symbol: str
    order_type: OrderType
    quantity: int
    executed_price: Decimal
    executed_timestamp: datetime
    commission: Decimal
    status: OrderStatus
    product: Product = Product.INTRADAY
    role: Role = Role.ENTRY
    charges: Charges | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """A net position (the original's three fields first). ``quantity`` < 0 is an intraday short.

    ``avg_buy_price`` is the average open price of the remaining lots (FIFO), for shorts the
    average sell price; it is exact to 4 decimals.
    """

    symbol: str
    quantity: int
    avg_buy_price: Decimal
    product: Product = Product.INTRADAY
    realized_pnl: Decimal = field(default=Decimal("0.00"))
    charges: Decimal = field(default=Decimal("0.00"))
    last_price: Decimal | None = None
    unrealized_pnl: Decimal = field(default=Decimal("0.00"))

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def market_value(self) -> Decimal:
        price = self.last_price if self.last_price is not None else self.avg_buy_price
        return (price * self.quantity).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class StopLossConfig:
    """A resting stop-loss protecting a position (the original's two fields first)."""

    trigger_price: Decimal
    quantity: int
    symbol: str = ""
    order_id: str = ""
    side: Side = Side.SELL


@dataclass(frozen=True, slots=True)
class TakeProfitConfig:
    """A resting take-profit protecting a position (the original's two fields first)."""

    trigger_price: Decimal
    quantity: int
    symbol: str = ""
    order_id: str = ""
    side: Side = Side.SELL
