"""The JSON bodies of the REST API: requests refused on unknown keys, responses with money as
JSON numbers (see ``livetrade.api``)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from livetrade.model import (
    ExecutedOrder,
    Order,
    OrderKind,
    Product,
    StopLossConfig,
    TakeProfitConfig,
    ns_to_datetime,
)
from livetrade.money import Charges, from_paise

if TYPE_CHECKING:
    from livetrade.live import Reconciliation

MAX_PRICE = Decimal(10) ** 10  # rupees; bounds the work a hostile price string can cause


def _number(value: Decimal) -> float:
    return float(value) + 0.0  # + 0.0 turns -0.0 (a Decimal("-0.00") percent) into 0.0


Money = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]
"""A Decimal amount written as a JSON number (see the module docstring)."""


def _no_bool(value: object) -> object:
    """JSON ``true`` is not a quantity (pydantic's lax mode would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _any_case(values: list[str]) -> dict[str, Any]:
    """JSON schema for a case-insensitive enum (what ``_upper`` accepts), as a plain regex."""
    alts = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in v)
        for v in values
    )
    return {"type": "string", "pattern": f"^(?:{alts})$", "examples": values}


_DECIMAL = r"^-?(?:\d{1,10}(?:\.\d*)?|\.\d+)$"  # up to 10 integer digits: within ±1e10
Quantity = Annotated[int, BeforeValidator(_no_bool), Field(strict=True)]
Price = Annotated[
    Decimal,
    BeforeValidator(_no_bool),
    Field(ge=-MAX_PRICE, le=MAX_PRICE, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -int(MAX_PRICE), "maximum": int(MAX_PRICE)},
                {"type": "string", "pattern": _DECIMAL, "maxLength": 32},
            ],
            "description": 'rupees: a number, or a decimal string such as "800.05"',
        }
    ),
]
Symbol = Annotated[str, Field(min_length=1, max_length=64, examples=["NSE:SBIN-EQ"])]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderRequest(_Request):
    """Body of ``buy``/``sell``: the original's four keys, then the order types of the engine."""

    symbol: Symbol
    quantity: Quantity
    stop_loss_price: Price | None = None
    take_profit_price: Price | None = None
    order_type: Annotated[
        OrderKind,
        BeforeValidator(_upper),
        WithJsonSchema(_any_case([k.value for k in OrderKind])),
    ] = OrderKind.MARKET
    limit_price: Price | None = None
    trigger_price: Price | None = None
    product: (
        Annotated[
            Product, BeforeValidator(_upper), WithJsonSchema(_any_case([p.value for p in Product]))
        ]
        | None
    ) = None
    tag: Annotated[str, Field(max_length=64)] | None = None
    slice: Annotated[
        bool,
        Field(
            strict=True,
            description="Above the freeze quantity: cut into legal slices (returns the parent)",
        ),
    ] = False


class CancelRequest(_Request):
    order_id: Annotated[str, Field(min_length=1, max_length=64)]


class ArmRequest(_Request):
    """Body of ``arm-live``: the exact word, as ``session.arm_live(confirm="LIVE")``."""

    confirm: Annotated[str, Field(max_length=16, description='Must be exactly "LIVE"')]
    accept_differences: bool = False


class ReconciliationRow(BaseModel):
    item: Literal["position", "order", "funds"]
    key: str
    ours: Money | int | None
    broker: Money | int | None
    difference: Money | int | None
    blocking: bool
    note: str


class ModeResponse(BaseModel):
    mode: str
    armed: bool


class ReconciliationResponse(BaseModel):
    """Our positions, working orders and funds against Fyers' (``ok``: nothing blocks)."""

    ok: bool
    mode: str
    rows: list[ReconciliationRow]

    @classmethod
    def of(cls, rec: Reconciliation, mode: str) -> ReconciliationResponse:
        rows = [
            ReconciliationRow(
                item=r["item"],
                key=str(r["key"]),
                ours=r["ours"],
                broker=r["broker"],
                difference=r["difference"],
                blocking=bool(r["blocking"]),
                note=str(r["note"]),
            )
            for r in rec.frame.astype(object).where(rec.frame.notna(), None).to_dict("records")
        ]
        return cls(ok=rec.ok, mode=mode, rows=rows)


class PriceUpdate(_Request):
    """Body of ``update-price``; a zero bid/ask means "no book" (the last price stands in)."""

    symbol: Symbol
    bid_price: Price = Decimal(0)
    ask_price: Price = Decimal(0)
    last_price: Price
    volume: Quantity = 0


class ChargesOut(BaseModel):
    brokerage: Money
    stt: Money
    exchange: Money
    ipft: Money
    sebi: Money
    stamp: Money
    gst: Money
    dp: Money
    total: Money

    @classmethod
    def of(cls, charges: Charges | None) -> ChargesOut | None:
        return None if charges is None else cls.model_validate(charges.as_rupees())


class OrderOut(BaseModel):
    """An order: the original's keys first. ``quantity`` is the order's size, ``executed_price``
    the average fill price (``null`` while it rests), ``commission`` its charges so far."""

    order_id: str
    symbol: str
    quantity: int
    executed_price: Money | None
    timestamp: datetime
    commission: Money
    type: str = Field(description="The original's order type: MARKET_BUY, LIMIT_SELL...")
    side: str
    order_type: str = Field(description="MARKET, LIMIT, SL or SL-M")
    product: str
    status: str
    role: str
    filled_quantity: int
    limit_price: Money | None
    trigger_price: Money | None
    stop_loss_price: Money | None
    take_profit_price: Money | None
    parent_id: str | None
    tag: str | None
    charges: ChargesOut | None = None
    message: str
    broker_order_id: str | None = Field(
        default=None, description="Fyers' order id (live orders; ours for paper fills)"
    )

    @classmethod
    def of(cls, order: Order, charges: Charges | None = None) -> OrderOut:
        return cls(
            order_id=order.order_id,
            symbol=order.symbol,
            quantity=order.quantity,
            executed_price=order.executed_price,
            timestamp=ns_to_datetime(order.updated_ns),
            commission=from_paise(order.charges_paise),
            type=order.order_type.value,
            side=order.side.name,
            order_type=order.kind.value,
            product=order.product.value,
            status=order.status.value,
            role=order.role.value,
            filled_quantity=order.filled_quantity,
            limit_price=order.limit_price,
            trigger_price=order.trigger_price,
            stop_loss_price=order.stop_loss_price,
            take_profit_price=order.take_profit_price,
            parent_id=order.parent_id,
            tag=order.tag,
            charges=ChargesOut.of(charges),
            message=order.message,
            broker_order_id=order.broker_order_id,
        )


class OrderResponse(BaseModel):
    success: bool
    message: str
    order: OrderOut | None


class ExecutedOut(BaseModel):
    """One execution of the order history (the original's ``ExecutedOrder``)."""

    order_id: str
    symbol: str
    type: str
    quantity: int
    executed_price: Money
    timestamp: datetime
    commission: Money
    status: str
    product: str
    role: str
    charges: ChargesOut | None

    @classmethod
    def of(cls, e: ExecutedOrder) -> ExecutedOut:
        return cls(
            order_id=e.order_id,
            symbol=e.symbol,
            type=e.order_type.value,
            quantity=e.quantity,
            executed_price=e.executed_price,
            timestamp=e.executed_timestamp,
            commission=e.commission,
            status=e.status.value,
            product=e.product.value,
            role=e.role.value,
            charges=ChargesOut.of(e.charges),
        )


class OrdersResponse(BaseModel):
    orders: list[ExecutedOut]


class OpenOrdersResponse(BaseModel):
    orders: list[OrderOut]


class PositionOut(BaseModel):
    """A net position per symbol; ``quantity`` < 0 is an intraday short (``total_cost`` too)."""

    symbol: str
    quantity: int
    avg_buy_price: Money
    total_cost: Money
    product: str
    current_price: Money | None
    market_value: Money
    unrealized_pnl: Money
    realized_pnl: Money
    charges: Money
    underlying: str | None = Field(default=None, description="A share is its own underlying")
    expiry: datetime | None = Field(default=None, description="F&O: the contract's expiry")
    days_to_expiry: float | None = None
    delta: float | None = Field(default=None, description="Net, in units of the underlying")
    gamma: float | None = None
    theta: float | None = Field(default=None, description="Net, ₹ a day")
    vega: float | None = Field(default=None, description="Net, ₹ a volatility point")


class PositionsResponse(BaseModel):
    positions: list[PositionOut]


class PortfolioPosition(BaseModel):
    quantity: int
    avg_buy_price: Money
    current_price: Money
    unrealized_pnl: Money
    unrealized_pnl_percent: Money
    product: str


class PortfolioResponse(BaseModel):
    """The original's keys first; ``total_realized_pnl`` is net of charges, ``gross_realized_pnl``
    before them."""

    wallet_balance: Money
    total_realized_pnl: Money
    total_unrealized_pnl: Money
    total_pnl: Money
    total_pnl_percent: Money
    portfolio_value: Money
    active_positions_count: int
    order_count: int
    positions: dict[str, PortfolioPosition]
    initial_balance: Money
    cash: Money
    market_value: Money
    gross_realized_pnl: Money
    total_charges: Money
    kill_switch: str


class RiskOrderOut(BaseModel):
    trigger_price: Money
    quantity: int
    order_id: str
    side: str

    @classmethod
    def of(cls, leg: StopLossConfig | TakeProfitConfig) -> RiskOrderOut:
        return cls(
            trigger_price=leg.trigger_price,
            quantity=leg.quantity,
            order_id=leg.order_id,
            side=leg.side.name,
        )


class RiskOrdersResponse(BaseModel):
    stop_losses: dict[str, list[RiskOrderOut]]
    take_profits: dict[str, list[RiskOrderOut]]


class UpdatePriceResponse(BaseModel):
    success: bool
    message: str
    filled_orders: list[str] = Field(description="Ids of the orders this quote filled")


class HealthResponse(BaseModel):
    status: Literal["ok", "closed"]
    engine_ready: bool
    price_stream_connected: bool
    timestamp: datetime = Field(description="The session clock (virtual or wall)")
    session: str | None
    mode: Literal["PAPER", "LIVE"]
    broker: str
    feed: str
    clock: Literal["virtual", "wall"]
    symbol_count: int
    kill_switch: str
    armed: bool = Field(
        default=False, description="LIVE only: orders go to Fyers (session.arm_live was called)"
    )


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Failure(BaseModel):
    success: Literal[False] = False
    message: str
    code: str
    field: str | None = None
    errors: list[ErrorItem] | None = None
