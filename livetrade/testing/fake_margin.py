"""The fake trading API's margin calculator: ``POST /multiorder/margin`` (fno.md §4).

Why our own figures: Fyers' SPAN engine is not public; the fake answers with livetrade's
approximation (:mod:`livetrade.fno.margin`) so a live session's pre-check can be exercised with
figures that behave like Fyers' (a short option needs far more than a long one...).

Each leg, in the order sent, against the fake's funds (``available()``):

* equities: CNC buys the full value, CNC sells nothing (the holdings cover them), INTRADAY
  ``intraday_margin`` of the value;
* long options: the premium (quantity × price);
* futures and short options: SPAN + exposure by :func:`~livetrade.fno.margin.contract_margin`
  with :attr:`margin_params`, the underlying at its current price, expiry-day ELM on the
  fake's clock;
* the part of an INTRADAY/MARGIN leg that closes an open position of the same product needs
  nothing (as the fake's order risk check);
* **hedge benefit** (our approximation of "put the BUY leg first"): units of a short option
  covered by units of a long option bought in an EARLIER leg -- same underlying, expiry and
  type (a vertical spread) -- need at most the spread's width per unit (its worst loss, the
  credit ignored), never more than unhedged. A buy sent after the sell hedges nothing; other
  hedges (futures against options, calendars) are not offset.

The price of a leg: its limit (types 1 and 4), its stop (type 3), else the last price.
Answer ``data``: ``margin_avail`` (available funds), ``margin_new_order`` (the sum above) and
``margin_total`` (margin already used by open positions + the new orders), in rupees.

Bad input, with the codes the docs give (fyers-protocol.md §3.1): not ``{"data": [...]}``, no
legs or more than 10, a missing field, a bad qty/side/type/productType/price, a quantity that
is not whole lots: -50 (HTTP 400); an unknown symbol, or a listed derivative whose contract the
fake cannot describe: -300.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from livetrade.fno.margin import MarginParams, contract_margin, is_derivative
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.model import IST
from livetrade.money import from_paise, round_half_up
from livetrade.testing.fake_orders import _Orders
from livetrade.testing.fake_rest_types import (
    _CENT,
    _PRODUCTS,
    _SYMBOL_RE,
    LOT_MESSAGE,
    FakeReply,
    _err,
    _ok,
)

MAX_MARGIN_LEGS = 10
"""The fake takes at most 10 legs, as a basket (the docs give no limit for this endpoint)."""
_REQUIRED = ("symbol", "qty", "side", "type", "productType")
_PRICES = ("limitPrice", "stopPrice", "stopLoss", "takeProfit")


@dataclass(slots=True)
class _Leg:
    symbol: str
    inst: Instrument
    units: int  # opening units (after what closes an open position)
    side: int
    product: str
    price: int  # paise


@dataclass(slots=True)
class _Hedge:
    inst: Instrument
    left: int  # long units not yet used to cover a short


class _Margin(_Orders):
    """``/multiorder/margin`` (see the module docstring)."""

    instrument_of: Callable[[str], Instrument | None] | None = None
    """Symbol → the derivative's contract (expiry, strike, option type, underlying); set per
    fake (``fake.instrument_of = registry.known``; the fake server sets its listed ones)."""
    margin_params: MarginParams = MarginParams()

    def _margin_instrument(self, symbol: str) -> Instrument | None:
        lookup = self.instrument_of
        inst = lookup(symbol) if lookup is not None else None
        if inst is not None:
            return inst
        if self.spec(symbol) is not None:
            return None  # a listed derivative described nowhere: no figure to give
        return Instrument.default_for(symbol)

    def _margin_leg(self, i: int, item: Any) -> _Leg | FakeReply:
        where = f" (leg {i + 1})"
        if not isinstance(item, dict):
            return _err(400, -50, "Invalid parameters: each leg is an object" + where)
        for name in _REQUIRED:
            if name not in item:
                return _err(400, -50, f"Please provide {name}{where}")
        symbol = item["symbol"]
        if not isinstance(symbol, str) or not _SYMBOL_RE.fullmatch(symbol):
            return _err(400, -300, "Please provide a valid symbol" + where)
        ltp = self.price(symbol)
        inst = self._margin_instrument(symbol)
        if ltp is None or inst is None:
            return _err(400, -300, "Please provide a valid symbol" + where)
        qty, side, otype = item["qty"], item["side"], item["type"]
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return _err(400, -50, "Invalid qty: must be a positive whole number" + where)
        if qty % inst.lot_size:
            return _err(400, -50, LOT_MESSAGE + where)
        if isinstance(side, bool) or side not in (1, -1):
            return _err(400, -50, "Invalid side" + where)
        if isinstance(otype, bool) or otype not in (1, 2, 3, 4):
            return _err(400, -50, "Invalid order type" + where)
        if item["productType"] not in _PRODUCTS:
            return _err(400, -50, f"Invalid productType {item['productType']!r}{where}")
        prices = {k: self._dec(item.get(k, 0)) for k in _PRICES}
        if any(v is None or v < 0 for v in prices.values()):
            return _err(400, -50, "Invalid price" + where)
        limit, stop = prices["limitPrice"] or Decimal(0), prices["stopPrice"] or Decimal(0)
        if otype in (1, 4) and limit == 0:
            return _err(400, -50, "Limit price is required for this order type" + where)
        if otype in (3, 4) and stop == 0:
            return _err(400, -50, "Stop price (trigger) is required for this order type" + where)
        price = limit if otype in (1, 4) else stop if otype == 3 else ltp
        units = qty
        if item["productType"] != "CNC":
            net = self._net(symbol, item["productType"])
            if net * side < 0:
                units = max(0, qty - abs(net))  # what closes an open position needs nothing
        paise = int((price * 100).to_integral_value(ROUND_HALF_UP))
        return _Leg(symbol, inst, units, side, item["productType"], paise)

    def _leg_margin(self, leg: _Leg, hedges: list[_Hedge], today: date) -> int:
        inst, units = leg.inst, leg.units
        if units == 0:
            return 0
        if not is_derivative(inst):
            if leg.product == "CNC":
                return units * leg.price if leg.side == 1 else 0
            return round_half_up(Decimal(units * leg.price) * self.intraday_margin)
        if inst.kind is InstrumentKind.OPTION and leg.side == 1:
            hedges.append(_Hedge(inst, units))
            return units * leg.price  # the premium
        spot = self.price(inst.underlying) if inst.underlying else None
        under = None if spot is None else int((spot * 100).to_integral_value(ROUND_HALF_UP))

        def span(n: int) -> int:
            signed = n if leg.side == 1 else -n
            return contract_margin(inst, signed, leg.price, under, self.margin_params, today)

        if inst.kind is not InstrumentKind.OPTION:
            return span(units)
        need, left = 0, units
        for h in hedges:
            if left == 0:
                break
            b = h.inst
            if not (
                h.left
                and b.underlying == inst.underlying
                and b.expiry == inst.expiry
                and b.option_type == inst.option_type
            ):
                continue
            covered = min(left, h.left)
            h.left -= covered
            left -= covered
            assert b.strike_paise is not None and inst.strike_paise is not None
            width = abs(b.strike_paise - inst.strike_paise)
            need += min(span(covered), covered * width)
        return need + (span(left) if left else 0)

    def _order_margin(self, body: Any) -> FakeReply:
        """``POST /multiorder/margin`` (see the module docstring)."""
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return _err(400, -50, 'Invalid parameters: send {"data": [orders]}')
        items = body["data"]
        if not 1 <= len(items) <= MAX_MARGIN_LEGS:
            return _err(400, -50, f"Invalid parameters: 1 to {MAX_MARGIN_LEGS} orders")
        legs: list[_Leg] = []
        for i, item in enumerate(items):
            leg = self._margin_leg(i, item)
            if isinstance(leg, FakeReply):
                return leg
            legs.append(leg)
        today = datetime.fromtimestamp(self.clock(), IST).date()
        hedges: list[_Hedge] = []
        new = sum(self._leg_margin(leg, hedges, today) for leg in legs)
        _, used = self._money_state()
        avail = self.available()
        data = {
            "margin_avail": avail.quantize(_CENT, ROUND_HALF_UP),
            "margin_total": used + from_paise(new),
            "margin_new_order": from_paise(new),
        }
        return _ok(data=data)
