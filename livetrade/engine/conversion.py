"""Position conversion: part or all of an open position moved INTRADAY ↔ CNC (cash equity) or
INTRADAY ↔ MARGIN (futures and options), as Fyers' convert position does.

Why it is not a sell and a buy: nothing trades. The moved quantity keeps its FIFO lots, their
prices and times (oldest first; CNC → INTRADAY moves only lots bought today, as Fyers converts
only the day's position), so realized P&L, cost and cash stay; the destination's lots are merged
by time, so its FIFO order is the order of the fills. Only charges change, because Indian cash
equity bills delivery and intraday buys differently:

* **INTRADAY → CNC** bills, at once, the moved long lots as the delivery buys they become:
  delivery STT 0.1% (the day's STT figure per scrip, rounded to the rupee, grows), stamp duty
  0.015% instead of 0.003%, brokerage (with 18% GST) the delivery minus the intraday rate on
  each lot as one order. A same-day CNC sell of them later re-bills them as intraday as usual.
* **CNC → INTRADAY** gives back, at once, what a same-day CNC sell of them would (delivery STT
  off the day figure, stamp and brokerage down to intraday) for the part still billed as
  delivery.
* **F&O (INTRADAY ↔ MARGIN)** re-bills nothing: one rate card whatever the product.
* Exchange charge, IPFT and SEBI fee never change (turnover alone); a charges model without
  :meth:`~livetrade.money.IndianEquityCharges.rebill_conversion` (flat, none) re-bills nothing.

Refusals are ``OrderRejected`` naming the field and change nothing: ``NO_POSITION``
(``symbol``), ``INVALID_PRODUCT`` / ``SAME_PRODUCT`` / ``INVALID_CONVERSION`` (``to_product``),
``INVALID_QUANTITY`` / ``QUANTITY_ABOVE_OPEN`` / ``NOT_TODAY`` / ``INSUFFICIENT_FUNDS`` (to
CNC: cash minus working CNC buys must cover a delivery buy's charges and not be negative:
delivery is paid in full, intraday leverage is not) (``quantity``), ``CNC_SHORT``
(``to_product``: a short cannot be delivery), ``OPPOSITE_POSITION`` (``to_product``: the other
product holds the opposite side). Live, the conversion is booked only once Fyers accepts it
(``LiveRouter.convert`` → :meth:`Conversions.broker_converted`); ``convert`` refuses there.
Fyers' docs refuse converting a CNC position at all (the fake follows them), so live a CNC →
INTRADAY conversion comes back as Fyers' refusal; paper allows it for today's buys.
The journal keeps each one (``position_converted``) and restore replays it exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from livetrade.engine.book import _Lots, _unset
from livetrade.engine.events import Conversion, EngineEvent
from livetrade.engine.trading import Trading
from livetrade.errors import OrderRejected
from livetrade.instruments import InstrumentKind
from livetrade.model import Product, check_symbol, ns_to_datetime
from livetrade.money import ZERO_CHARGES, Charges, from_paise
from livetrade.request import check_lot

_EQUITY_PAIR = frozenset({Product.INTRADAY, Product.CNC})
_FNO_PAIR = frozenset({Product.INTRADAY, Product.MARGIN})

_Move = list[tuple[int, int, int, int]]  # (lot index, signed quantity, price paise, ts_ns)


@runtime_checkable
class ConversionBilling(Protocol):
    """A charges model that re-bills converted lots (``IndianEquityCharges``)."""

    def rebill_conversion(
        self, symbol: str, lots: Sequence[tuple[int, int, date]], to_delivery: bool
    ) -> tuple[Charges, Charges]: ...


def _product(value: object, field: str) -> Product:
    if isinstance(value, Product):
        return value
    try:
        return Product(str(value).upper())
    except ValueError:
        raise OrderRejected(
            "INVALID_PRODUCT", f"Product {value!r} is not INTRADAY, CNC or MARGIN.", field
        ) from None


class Conversions(Trading):
    """One layer of :class:`~livetrade.engine.LiveTradingEngine` (see the module docstring)."""

    def check_conversion(
        self,
        symbol: str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
    ) -> Conversion:
        """What converting ``quantity`` of ``symbol`` would move (not billed yet), or the
        ``OrderRejected`` saying why not. Changes nothing."""
        conv, _ = self._plan(symbol, quantity, from_product, to_product, self.clock.now_ns())
        return conv

    def convert(
        self,
        symbol: str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
    ) -> Conversion:
        """Paper: move ``quantity`` (units, whole lots) of the open ``symbol`` position from
        ``from_product`` to ``to_product`` now and re-bill its charges (module docstring).
        Returns the booked :class:`Conversion`. Live: refused; ``LiveRouter.convert`` sends it
        to Fyers and books it when Fyers accepts."""
        if self.router is not None:
            raise OrderRejected(
                "LIVE_CONVERSION",
                "Live conversions go through Fyers first: await router.convert(...).",
                "live",
            )
        return self._convert_now(symbol, quantity, from_product, to_product)

    def broker_converted(
        self,
        symbol: str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
    ) -> Conversion:
        """Fyers accepted the conversion (live): book it as :meth:`convert` does in paper
        (without our funds check: the broker is the truth)."""
        return self._convert_now(symbol, quantity, from_product, to_product, funds=False)

    def _convert_now(
        self,
        symbol: str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
        *,
        funds: bool = True,
    ) -> Conversion:
        now = self.clock.now_ns()
        conv, move = self._plan(symbol, quantity, from_product, to_product, now, funds=funds)
        billed, refunded = self._rebill(conv, move)
        conv = Conversion(
            conv.symbol, conv.quantity, conv.from_product, conv.to_product, now, billed, refunded
        )
        dest = self._move(conv, move)
        self._emit(
            EngineEvent(
                "position_converted",
                now,
                position=dest.view(self.price_stream.last_paise(symbol)),
                conversion=conv,
                charges=billed,
                message=f"{abs(conv.quantity)} {symbol} {conv.from_product.value} → "
                f"{conv.to_product.value}",
            )
        )
        self._cap_brackets((symbol, conv.from_product), now)
        src = self._positions[(symbol, conv.from_product)]
        last = self.price_stream.last_paise(symbol)
        kind = "position_closed" if src.qty == 0 else "position_changed"
        self._emit(EngineEvent(kind, now, position=src.view(last)))
        self.check_daily_loss()
        self._flush()
        return conv

    def restore_conversion(self, conv: Conversion) -> None:
        """Recovery: a journaled conversion moved again, with the charges it was billed (the
        charges model re-runs its bookkeeping, its amounts are ignored)."""
        try:
            _, move = self._plan(
                conv.symbol,
                abs(conv.quantity),
                conv.from_product,
                conv.to_product,
                conv.ts_ns,
                funds=False,
            )
        except OrderRejected as rej:  # the journal's positions do not hold it: damaged
            raise ValueError(f"the conversion does not apply: {rej.reason}") from None
        self._rebill(conv, move)
        self._move(conv, move)

    # ---- the plan, the bill, the move ------------------------------------------------------
    def _plan(
        self,
        symbol: str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
        now: int,
        *,
        funds: bool = True,
    ) -> tuple[Conversion, _Move]:
        try:
            check_symbol(symbol)
        except Exception as exc:
            raise OrderRejected("INVALID_SYMBOL", f"{exc}.", "symbol") from None
        if _unset(from_product):
            raise OrderRejected("INVALID_PRODUCT", "Give from_product.", "from_product")
        src = _product(from_product, "from_product")
        dst = _product(to_product, "to_product")
        if src is dst:
            raise OrderRejected(
                "SAME_PRODUCT", f"The position is already {src.value}.", "to_product"
            )
        inst = self.instruments.get(symbol)
        derivative = inst.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)
        pair = _FNO_PAIR if derivative else _EQUITY_PAIR
        if {src, dst} != pair:
            allowed = " ↔ ".join(p.value for p in sorted(pair, key=lambda p: p.value))
            what = "futures and options" if derivative else "cash equity"
            raise OrderRejected(
                "INVALID_CONVERSION",
                f"{what.capitalize()} converts {allowed} only, not {src.value} → {dst.value}.",
                "to_product",
            )
        lots = self._positions.get((symbol, src))
        if lots is None or lots.qty == 0:
            raise OrderRejected(
                "NO_POSITION", f"There is no open {src.value} position in {symbol}.", "symbol"
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise OrderRejected(
                "INVALID_QUANTITY", "quantity must be a positive whole number.", "quantity"
            )
        check_lot(quantity, inst)
        free = abs(lots.qty)
        if src is Product.CNC:
            free -= self.reserved_cnc_sells(symbol)  # working CNC sells keep their shares
        if quantity > free:
            raise OrderRejected(
                "QUANTITY_ABOVE_OPEN",
                f"Cannot convert {quantity}: the {src.value} position in {symbol} has "
                f"{free} to convert (open {lots.qty}).",
                "quantity",
            )
        if dst is Product.CNC and lots.qty < 0:
            raise OrderRejected(
                "CNC_SHORT", "A short position cannot become delivery (CNC).", "to_product"
            )
        other = self._positions.get((symbol, dst))
        if other is not None and other.qty and (other.qty > 0) != (lots.qty > 0):
            raise OrderRejected(
                "OPPOSITE_POSITION",
                f"The {dst.value} position in {symbol} is on the other side ({other.qty}); "
                "close it first.",
                "to_product",
            )
        if funds and dst is Product.CNC:  # delivery is paid in full: the cash must be there
            avg = abs(lots.cost) // abs(lots.qty)
            day = ns_to_datetime(now).date()
            need = self.charges_model.estimate(symbol, True, True, quantity, avg, day).total
            free = self.cash_paise - self.reserved_cnc_buys_paise()
            if need > free:
                raise OrderRejected(
                    "INSUFFICIENT_FUNDS",
                    f"Delivery needs the position paid in cash: ₹{from_paise(free)} is free, "
                    f"₹{from_paise(need)} of delivery charges are due.",
                    "quantity",
                )
        today = ns_to_datetime(now).date() if src is Product.CNC else None
        move = _take(lots, quantity, today)
        if move is None:
            bought = sum(abs(lot[0]) for _, lot in _eligible(lots, today))
            raise OrderRejected(
                "NOT_TODAY",
                f"Only today's CNC buys convert: {bought} of the {lots.qty} held were bought "
                "today.",
                "quantity",
            )
        signed = quantity if lots.qty > 0 else -quantity
        return Conversion(symbol, signed, src, dst, now), move

    def _rebill(self, conv: Conversion, move: _Move) -> tuple[Charges, Charges]:
        model = self.charges_model
        if conv.quantity < 0 or not isinstance(model, ConversionBilling):
            return ZERO_CHARGES, ZERO_CHARGES
        lots = [(q, price, ns_to_datetime(ts).date()) for _, q, price, ts in move]
        return model.rebill_conversion(conv.symbol, lots, conv.to_product is Product.CNC)

    def _move(self, conv: Conversion, move: _Move) -> _Lots:
        """Take ``move`` off the source lots and merge it into the destination by time; the
        net re-bill goes to cash, the charges total and the destination position."""
        src = self._positions[(conv.symbol, conv.from_product)]
        key = (conv.symbol, conv.to_product)
        dest = self._positions.get(key)
        if dest is None:
            dest = self._positions[key] = _Lots(conv.symbol, conv.to_product)
        _remove(src, move)
        for _, q, price, ts in move:
            at = len(dest.lots)
            while at and dest.lots[at - 1][2] > ts:
                at -= 1
            dest.lots.insert(at, [q, price, ts])
            dest.qty += q
            dest.cost += q * price
        net = conv.billed.total - conv.refunded.total
        self.cash_paise -= net
        self.charges_paise += net
        dest.charges += net
        return dest


def _eligible(lots: _Lots, today: date | None) -> list[tuple[int, list[int]]]:
    """``(index, lot)`` of the lots that may move: all, or (``today``) those bought today."""
    return [
        (i, lot)
        for i, lot in enumerate(lots.lots)
        if today is None or ns_to_datetime(lot[2]).date() == today
    ]


def _take(lots: _Lots, quantity: int, today: date | None) -> _Move | None:
    """The lots (oldest first) ``quantity`` takes, or None if the eligible lots hold less."""
    move: _Move = []
    left = quantity
    for i, lot in _eligible(lots, today):
        if not left:
            break
        take = min(abs(lot[0]), left)
        move.append((i, take if lot[0] > 0 else -take, lot[1], lot[2]))
        left -= take
    return None if left else move


def _remove(lots: _Lots, move: _Move) -> None:
    """Take the moved quantities off ``lots``; emptied lots go."""
    for i, q, price, _ in move:
        lots.lots[i][0] -= q
        lots.qty -= q
        lots.cost -= q * price
    kept = [lot for lot in lots.lots if lot[0]]
    lots.lots.clear()
    lots.lots.extend(kept)


__all__ = ["Conversion", "ConversionBilling", "Conversions"]
