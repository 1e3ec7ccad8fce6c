"""What a trader asked for, parsed once: :class:`OrderRequest`.

User input arrives as strings, ints, floats or Decimals from a notebook cell, the REST API, the
dashboard's ticket or the original ``market_buy``; :meth:`OrderRequest.parse` turns it into
exact paise and enums, or refuses it with an :class:`~livetrade.errors.OrderRejected` naming
the field. Everything here depends only on the request itself (never on quotes, positions or
the clock): the checks that do are in :mod:`livetrade.risk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from livetrade.errors import InvalidInput, OrderRejected
from livetrade.instruments import (
    EQUITY_TICK_PAISE,
    Instrument,
    InstrumentKind,
    InstrumentRegistry,
)
from livetrade.model import Order, OrderKind, Product, Side, check_symbol
from livetrade.money import from_paise, to_paise

__all__ = [
    "TICK_PAISE",
    "OrderRequest",
    "check_freeze",
    "check_lot",
    "check_product",
    "is_unset",
    "parse_price",
]

TICK_PAISE: Final = EQUITY_TICK_PAISE  # the default; each order uses its instrument's tick


def is_unset(value: object) -> bool:
    """``None`` and ``...`` both mean "not given" (``...`` so doc snippets paste and run)."""
    return value is None or value is Ellipsis


def parse_price(value: object, field: str, tick_paise: int = TICK_PAISE) -> int | None:
    """Rupees (str / int / Decimal; float only if exact to the paisa) → paise on the tick."""
    if is_unset(value):
        return None
    try:
        p = to_paise(value, field)
    except InvalidInput as exc:
        raise OrderRejected("INVALID_PRICE", f"{field} {exc.reason}.", field) from None
    if p <= 0:
        raise OrderRejected("INVALID_PRICE", f"{field} must be positive.", field)
    if p % tick_paise:
        raise OrderRejected(
            "INVALID_PRICE",
            f"{field} ₹{from_paise(p)} is not a multiple of the ₹{from_paise(tick_paise)} tick.",
            field,
        )
    return p


def _instrument(symbol: object, instruments: InstrumentRegistry | None) -> Instrument:
    inst = instruments.known(symbol) if instruments is not None else None
    if inst is None:
        inst = _first_sight(symbol, instruments)
    if not inst.tradable:
        raise OrderRejected(
            "NOT_TRADABLE", f"{inst.symbol} is an index; indices cannot be traded.", "symbol"
        )
    return inst


def _first_sight(symbol: object, instruments: InstrumentRegistry | None) -> Instrument:
    """A symbol the registry has not seen: the symbol rule first (a registered one passed it)."""
    try:
        symbol = check_symbol(symbol)
    except InvalidInput as exc:
        raise OrderRejected(
            "INVALID_SYMBOL",
            f"Symbol {symbol!r} is not a Fyers symbol such as 'NSE:SBIN-EQ' ({exc.reason}).",
            "symbol",
        ) from None
    return instruments.get(symbol) if instruments is not None else Instrument.default_for(symbol)


def _side(side: object) -> Side:
    try:
        return side if isinstance(side, Side) else Side[str(side).upper()]
    except KeyError:
        raise OrderRejected("INVALID_SIDE", f"Side {side!r} is not BUY or SELL.", "side") from None


def _kind(kind: object) -> OrderKind:
    try:
        return kind if isinstance(kind, OrderKind) else OrderKind(str(kind).upper())
    except ValueError:
        raise OrderRejected(
            "INVALID_ORDER_TYPE",
            f"Order type {kind!r} is not one of MARKET, LIMIT, SL, SL-M.",
            "kind",
        ) from None


def _product(product: object, default: Product) -> Product:
    if is_unset(product):
        return default
    try:
        return product if isinstance(product, Product) else Product(str(product).upper())
    except ValueError:
        raise OrderRejected(
            "INVALID_PRODUCT", f"Product {product!r} is not INTRADAY, CNC or MARGIN.", "product"
        ) from None


_KIND_WORDS: Final = {
    InstrumentKind.EQUITY: "a cash equity",
    InstrumentKind.INDEX: "an index",
    InstrumentKind.FUTURE: "a future",
    InstrumentKind.OPTION: "an option",
}


def check_product(product: Product, inst: Instrument) -> None:
    """Which product fits which instrument (Fyers' product types): CNC is delivery of cash
    shares, MARGIN carries futures and options forward; INTRADAY fits both."""
    derivative = inst.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)
    if product is Product.CNC and derivative:
        raise OrderRejected(
            "INVALID_PRODUCT",
            f"{inst.symbol} is {_KIND_WORDS[inst.kind]}: CNC (delivery) is for cash shares; "
            "use MARGIN to carry it overnight or INTRADAY.",
            "product",
        )
    if product is Product.MARGIN and not derivative:
        raise OrderRejected(
            "INVALID_PRODUCT",
            f"{inst.symbol} is {_KIND_WORDS[inst.kind]}: MARGIN is for futures and options; "
            "use CNC for delivery or INTRADAY.",
            "product",
        )


def check_freeze(quantity: int, inst: Instrument, field: str = "quantity") -> None:
    """The exchange rejects a single order above the freeze quantity ("ORDER QTY IS GREATER
    THAN FREEZE QTY", fno.md §2); say how many legal slices (whole lots) it takes instead."""
    freeze = inst.freeze_qty
    if freeze is None or quantity <= freeze:
        return
    most = freeze // inst.lot_size * inst.lot_size  # the largest whole-lot order allowed
    slices = -(-quantity // most)
    lots = f" ({most // inst.lot_size} lots)" if inst.lot_size > 1 else ""
    raise OrderRejected(
        "FREEZE_QUANTITY",
        f"Quantity {quantity} of {inst.symbol} is above its freeze quantity of {freeze} units "
        f"per order: place it as {slices} orders of at most {most}{lots} (slice=True does "
        "this for you).",
        field,
    )


def check_lot(quantity: int, inst: Instrument, field: str = "quantity") -> None:
    """Quantities are units, in whole lots of the instrument (1 share for a cash equity)."""
    if quantity % inst.lot_size:
        lot, lots = inst.lot_size, quantity // inst.lot_size
        near = f"{lots * lot} or {(lots + 1) * lot}" if lots else f"the smallest order is {lot}"
        raise OrderRejected(
            "INVALID_QUANTITY",
            f"Quantity {quantity} is not a whole number of lots of {inst.symbol} (lot size "
            f"{lot}: {near}).",
            field,
        )


def _quantity(quantity: object, inst: Instrument) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise OrderRejected(
            "INVALID_QUANTITY",
            f"Quantity must be a positive whole number of shares, got {quantity!r}.",
            "quantity",
        )
    check_lot(quantity, inst)
    return quantity


def _check_prices_for_kind(
    kind: OrderKind, side: Side, limit: int | None, trigger: int | None
) -> None:
    """Which prices each order type takes, and a stop-limit's limit on the right side."""
    if kind in (OrderKind.LIMIT, OrderKind.SL) and limit is None:
        raise OrderRejected(
            "MISSING_PRICE", f"A {kind.value} order needs a limit_price.", "limit_price"
        )
    if kind in (OrderKind.SL, OrderKind.SL_M) and trigger is None:
        raise OrderRejected(
            "MISSING_PRICE", f"A {kind.value} order needs a trigger_price.", "trigger_price"
        )
    if kind in (OrderKind.MARKET, OrderKind.SL_M) and limit is not None:
        raise OrderRejected(
            "UNEXPECTED_PRICE", f"A {kind.value} order takes no limit_price.", "limit_price"
        )
    if kind in (OrderKind.MARKET, OrderKind.LIMIT) and trigger is not None:
        raise OrderRejected(
            "UNEXPECTED_PRICE", f"A {kind.value} order takes no trigger_price.", "trigger_price"
        )
    if kind is OrderKind.SL and limit is not None and trigger is not None:
        if side is Side.BUY and limit < trigger:
            raise OrderRejected(
                "INVALID_PRICE",
                "A buy stop-limit needs limit_price at or above trigger_price.",
                "limit_price",
            )
        if side is Side.SELL and limit > trigger:
            raise OrderRejected(
                "INVALID_PRICE",
                "A sell stop-limit needs limit_price at or below trigger_price.",
                "limit_price",
            )


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order as asked for: exact, typed, and valid on its own terms (see the module doc).

    Prices are paise; ``None`` means not given. Build it with :meth:`parse`.
    """

    symbol: str
    side: Side
    quantity: int
    kind: OrderKind
    product: Product
    limit_paise: int | None = None
    trigger_paise: int | None = None
    stop_loss_paise: int | None = None
    take_profit_paise: int | None = None
    tag: str | None = None
    source: str = "api"
    instrument: Instrument | None = None  # what parse() checked it against
    amo: bool = False  # an after-market order (Fyers offlineOrder; livetrade.risk.check_amo)
    slice: bool = False  # above the freeze: cut into legal slices (Fyers isSliceOrder), not refused

    @classmethod
    def parse(
        cls,
        symbol: object,
        side: object,
        quantity: object,
        kind: object = OrderKind.MARKET,
        *,
        product: object = None,
        limit_price: object = None,
        trigger_price: object = None,
        stop_loss: object = None,
        take_profit: object = None,
        tag: object = None,
        source: str = "api",
        default_product: Product = Product.INTRADAY,
        instruments: InstrumentRegistry | None = None,
        amo: object = False,
        slice: object = False,
    ) -> OrderRequest:
        """Parse user input against the symbol's instrument (lot, tick, tradable, product,
        freeze quantity) from ``instruments``; the first problem found is raised as
        ``OrderRejected``. ``slice=True``: a quantity above the freeze is accepted when it
        fits in at most 10 legal slices (``livetrade.fno.slicing``) instead of refused."""
        inst = _instrument(symbol, instruments)
        side_ = _side(side)
        kind_ = _kind(kind)
        product_ = _product(product, default_product)
        quantity_ = _quantity(quantity, inst)
        check_product(product_, inst)
        if not isinstance(slice, bool):
            raise OrderRejected("INVALID_SLICE", "slice must be True or False.", "slice")
        if slice:
            from livetrade.fno.slicing import slice_quantity

            slice_quantity(quantity_, inst)  # SLICE_LIMIT beyond 10 slices
        else:
            check_freeze(quantity_, inst)
        tick = inst.tick_paise
        limit = parse_price(limit_price, "limit_price", tick)
        trigger = parse_price(trigger_price, "trigger_price", tick)
        _check_prices_for_kind(kind_, side_, limit, trigger)
        stop = parse_price(stop_loss, "stop_loss_price", tick)
        target = parse_price(take_profit, "take_profit_price", tick)
        if tag is not None and not isinstance(tag, str):
            raise OrderRejected("INVALID_TAG", "tag must be a string.", "tag")
        if not isinstance(amo, bool):
            raise OrderRejected("INVALID_AMO", "amo must be True or False.", "amo")
        return cls(
            inst.symbol, side_, quantity_, kind_, product_, limit, trigger, stop, target, tag,
            source, inst, amo, slice,
        )  # fmt: skip

    def order(self, order_id: str, now_ns: int, origin: str = "", **fields: Any) -> Order:
        """The engine's :class:`~livetrade.model.Order` for this request, created at
        ``now_ns`` (``fields``: anything else the caller sets, e.g. a status)."""
        return Order(
            order_id=order_id,
            symbol=self.symbol,
            side=self.side,
            kind=self.kind,
            product=self.product,
            quantity=self.quantity,
            limit_paise=self.limit_paise,
            trigger_paise=self.trigger_paise,
            stop_loss_paise=self.stop_loss_paise,
            take_profit_paise=self.take_profit_paise,
            created_ns=now_ns,
            updated_ns=now_ns,
            tag=self.tag,
            source=self.source,
            origin=origin,
            **fields,
        )
