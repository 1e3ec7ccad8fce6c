"""The JSON bodies of the F&O endpoints (funds, sliced orders, baskets, conversion, the option
chain, Greeks): the same conventions as ``livetrade.api.models`` (unknown request keys refused,
money as JSON numbers, the same case-insensitive enums)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from livetrade.api.models import (
    ChargesOut,
    Money,
    OrderOut,
    Price,
    Quantity,
    Symbol,
    _any_case,
    _Request,
    _upper,
)
from livetrade.model import OrderKind, Product, ns_to_datetime
from livetrade.money import Charges

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.engine import Conversion
    from livetrade.engine.funds import Funds

StrictBool = Annotated[bool, Field(strict=True)]
ProductIn = Annotated[
    Product, BeforeValidator(_upper), WithJsonSchema(_any_case([p.value for p in Product]))
]
KindIn = Annotated[
    OrderKind, BeforeValidator(_upper), WithJsonSchema(_any_case([k.value for k in OrderKind]))
]
SideIn = Annotated[
    Literal["BUY", "SELL"], BeforeValidator(_upper), WithJsonSchema(_any_case(["BUY", "SELL"]))
]
Lots = Annotated[Quantity, Field(description="Whole lots of the contract (give this or quantity)")]


class FundsResponse(BaseModel):
    """``session.funds()``: what a broker's funds page shows, in rupees. ``margin_blocked`` =
    ``fno_margin`` (futures, short options) + ``intraday_margin`` (intraday equity);
    ``realised`` is before charges."""

    start: Money
    available_cash: Money
    margin_blocked: Money
    fno_margin: Money
    intraday_margin: Money
    position_value: Money
    premium_paid: Money
    premium_received: Money
    realised: Money
    unrealised: Money
    charges: Money

    @classmethod
    def of(cls, funds: Funds) -> FundsResponse:
        return cls.model_validate({k: getattr(funds, k) for k in cls.model_fields})


class SlicesResponse(BaseModel):
    """A sliced order: the parent (its fills summed over its slices) and each slice."""

    success: bool
    message: str
    parent: OrderOut
    slices: list[OrderOut]


class BasketLegIn(_Request):
    """One leg of ``POST basket``: ``quantity`` (units) or ``lots``, exactly one of them."""

    symbol: Symbol
    side: SideIn
    quantity: Quantity | None = None
    lots: Lots | None = None
    kind: KindIn = OrderKind.MARKET
    product: ProductIn | None = None
    limit_price: Price | None = None
    trigger_price: Price | None = None
    stop_loss_price: Price | None = None
    take_profit_price: Price | None = None
    tag: Annotated[str, Field(max_length=64)] | None = None


class BasketRequest(_Request):
    """Body of ``POST basket``: 1 to 10 legs (Fyers' multi-order limit); buys go first, and a
    leg refused after others went out unwinds them unless ``unwind`` is false."""

    legs: Annotated[list[BasketLegIn], Field(min_length=1, max_length=10)]
    unwind: StrictBool = True


class BasketLegOut(BaseModel):
    index: int
    state: str = Field(description="refused, not placed, unwound, or the order's status")
    order_id: str | None
    order: OrderOut | None
    code: str | None = Field(description="The rejection code of a refused leg")
    field: str | None
    reason: str | None
    unwind_order_id: str | None = Field(description="The order that closed what the leg filled")


class BasketResponse(BaseModel):
    """``success``: every leg was placed. ``failed``: the leg refused after others went out."""

    success: bool
    message: str
    basket_id: str
    failed: int | None
    unwound: bool
    live_legs: list[int]
    sequence: list[int] = Field(description="The legs' indices in the order they were placed")
    legs: list[BasketLegOut]


class ConvertRequest(_Request):
    """Body of ``POST convert``: INTRADAY ↔ CNC for shares, INTRADAY ↔ MARGIN for F&O."""

    symbol: Symbol
    quantity: Quantity | None = None
    lots: Lots | None = None
    from_product: ProductIn
    to_product: ProductIn


class ConversionOut(BaseModel):
    symbol: str
    quantity: int = Field(description="Signed: < 0 a short moved (F&O only)")
    from_product: str
    to_product: str
    timestamp: datetime
    billed: ChargesOut
    refunded: ChargesOut

    @classmethod
    def of(cls, conv: Conversion) -> ConversionOut:
        def charges(c: Charges) -> ChargesOut:
            out = ChargesOut.of(c)
            assert out is not None
            return out

        return cls(
            symbol=conv.symbol,
            quantity=conv.quantity,
            from_product=conv.from_product.value,
            to_product=conv.to_product.value,
            timestamp=ns_to_datetime(conv.ts_ns),
            billed=charges(conv.billed),
            refunded=charges(conv.refunded),
        )


class ConvertResponse(BaseModel):
    success: bool
    message: str
    conversion: ConversionOut


Num = float | None


class ChainRow(BaseModel):
    """One strike: calls and puts side by side (``null`` where there is no quote, open
    interest or implied volatility); money in rupees, ``iv`` a fraction, ``theta`` ₹ a day,
    ``vega`` ₹ a volatility point, open interest in units."""

    strike: float
    atm: bool
    call_symbol: str | None
    call_ltp: Num
    call_bid: Num
    call_ask: Num
    call_volume: int
    call_oi: int | None
    call_oi_change: int | None
    call_mid: Num
    call_iv: Num
    call_iv_reason: str | None
    call_delta: Num
    call_gamma: Num
    call_theta: Num
    call_vega: Num
    put_symbol: str | None
    put_ltp: Num
    put_bid: Num
    put_ask: Num
    put_volume: int
    put_oi: int | None
    put_oi_change: int | None
    put_mid: Num
    put_iv: Num
    put_iv_reason: str | None
    put_delta: Num
    put_gamma: Num
    put_theta: Num
    put_vega: Num


def _clean(value: Any) -> Any:
    """NaN (pandas' "none") as ``None``; numpy scalars as Python ones."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class OptionChainResponse(BaseModel):
    underlying: str
    spot: Num
    forward: Num
    expiry: datetime
    t: float = Field(description="Years to the expiry")
    r: float = Field(description="The rate used (continuously compounded)")
    rows: list[ChainRow]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> OptionChainResponse:
        rows = []
        for strike, rec in zip(frame.index, frame.to_dict("records"), strict=True):
            row: dict[str, Any] = {"strike": float(strike)}
            for name in ChainRow.model_fields:
                if name != "strike":
                    row[name] = _clean(rec.get(name))
            for side in ("call", "put"):
                for key in ("oi", "oi_change"):
                    v = row[f"{side}_{key}"]
                    row[f"{side}_{key}"] = None if v is None else int(v)
                row[f"{side}_volume"] = int(row[f"{side}_volume"] or 0)
                if row[f"{side}_iv_reason"] == "":
                    row[f"{side}_iv_reason"] = None
            rows.append(ChainRow.model_validate(row))
        a = frame.attrs
        return cls(
            underlying=str(a["underlying"]),
            spot=_clean(float(a["spot"])),
            forward=_clean(float(a["forward"])),
            expiry=a["expiry"],
            t=float(a["t"]),
            r=float(a["r"]),
            rows=rows,
        )
