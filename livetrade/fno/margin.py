"""Paper margin for futures and options: an approximate SPAN + exposure figure (#15 item 4).

Why an approximation: NSE Clearing's SPAN runs 16 price/volatility scenarios on a portfolio
with parameters it publishes daily; a paper account only needs a figure of the right size that
blocks while a position is open, so a trader who cannot afford a short straddle is told so.

The rules (``shared/fno.md`` §4, "Paper approximation"), per open position, in paise:

* **long options** block nothing: the premium was paid in full when bought (SEBI made upfront
  premium mandatory from 1 Feb 2025);
* **futures**: ``|qty| × price × (price scan + exposure)``; the price scan is 9.3% of the
  underlying for index derivatives and 14.2% for stocks (NSE Clearing SPAN risk parameters
  page, fno.md §4), exposure 3% for index derivatives and 5% for stocks (W6, *unconfirmed*):
  ≈ 12.3% of notional on NIFTY;
* **short options**: the worst loss per unit with the underlying moved ± the price scan
  (the option valued at its intrinsic value there, minus its price now, never below zero) plus
  exposure on the underlying's notional, plus 2% more on expiry day for short index options
  (NSE Clearing NCL/CMPT/64639, fno.md §4). The volatility scan is not modelled (valuing at
  intrinsic ignores it);
* **hedged options** (:func:`options_margin`): the options of one underlying and expiry are
  also priced together, at the scan's ends and at every strike between them, each short leg
  losing its intrinsic value less its price and each long leg gaining its intrinsic value (its
  premium was paid, so it never counts as a loss); the group blocks that worst loss plus the
  short legs' exposure, when it is less than the legs' own margins added up. A debit spread
  then blocks only exposure, a credit spread about its width less the credit (fno.md: "no
  hedge offsets unless both legs are modelled" — here both are). Futures stand alone.

Every rate is a field of :class:`MarginParams` (``engine.margin_params = MarginParams(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.money import round_half_up

__all__ = [
    "MarginParams",
    "OrderMargin",
    "contract_margin",
    "intrinsic_paise",
    "is_derivative",
    "options_margin",
    "order_requirement",
]


@dataclass(frozen=True)
class MarginParams:
    """The approximation's rates as fractions (see the module docstring for each source)."""

    index_price_scan: Decimal = Decimal("0.093")  # NSE Clearing: 9.3% for index derivatives
    stock_price_scan: Decimal = Decimal("0.142")  # NSE Clearing: 14.2% for stocks
    index_exposure: Decimal = Decimal("0.03")  # W6: 3% of notional (unconfirmed)
    stock_exposure: Decimal = Decimal("0.05")  # W6: the higher of 5% or 1.5σ (5% taken)
    expiry_day_elm: Decimal = Decimal("0.02")  # NCL/CMPT/64639: short index options, expiry day

    def __post_init__(self) -> None:
        for name in (
            "index_price_scan",
            "stock_price_scan",
            "index_exposure",
            "stock_exposure",
            "expiry_day_elm",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
                raise InvalidInput(name, "must be a fraction such as Decimal('0.093')")
            if not Decimal(0) <= Decimal(value) <= 1:
                raise InvalidInput(name, "must be a fraction between 0 and 1")


def is_derivative(inst: Instrument) -> bool:
    return inst.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)


def _on_index(inst: Instrument) -> bool:
    return (inst.underlying or "").upper().endswith("-INDEX")


def intrinsic_paise(inst: Instrument, underlying_paise: int) -> int:
    """An option's value at expiry per unit: S − K for a call, K − S for a put, never < 0."""
    assert inst.strike_paise is not None
    diff = underlying_paise - inst.strike_paise
    return max(0, diff if inst.option_type == "CE" else -diff)


def contract_margin(
    inst: Instrument,
    qty: int,
    price_paise: int,
    underlying_paise: int | None,
    params: MarginParams,
    today: date | None = None,
) -> int:
    """Margin (paise) a position of signed ``qty`` units of ``inst`` blocks, its price now
    ``price_paise`` and the underlying at ``underlying_paise`` (None: unknown; an option then
    uses its strike as the underlying). Zero for cash equities and long options."""
    if qty == 0 or not is_derivative(inst):
        return 0
    index = _on_index(inst)
    scan = Decimal(params.index_price_scan if index else params.stock_price_scan)
    exposure = Decimal(params.index_exposure if index else params.stock_exposure)
    units = abs(qty)
    if inst.kind is InstrumentKind.FUTURE:
        return round_half_up(Decimal(units * price_paise) * (scan + exposure))
    if qty > 0:
        return 0
    spot = underlying_paise if underlying_paise else inst.strike_paise or 0
    up = round_half_up(Decimal(spot) * (1 + scan))
    down = round_half_up(Decimal(spot) * (1 - scan))
    worst = max(intrinsic_paise(inst, up), intrinsic_paise(inst, down))
    loss = Decimal(max(0, worst - price_paise))
    rate = exposure
    if index and today is not None and inst.expiry is not None and inst.expiry.date() == today:
        rate += Decimal(params.expiry_day_elm)
    return round_half_up(units * (loss + Decimal(spot) * rate))


def options_margin(
    legs: list[tuple[Instrument, int, int]],
    underlying_paise: int | None,
    params: MarginParams,
    today: date | None = None,
) -> int:
    """Margin (paise) of the option positions ``legs`` — ``(instrument, signed units, price
    now)`` of one underlying and expiry — priced together (module docstring): the lesser of
    their own margins added up and their worst joint loss over the price scan plus the short
    legs' exposure."""
    alone = sum(contract_margin(i, q, p, underlying_paise, params, today) for i, q, p in legs)
    shorts = [(i, q, p) for i, q, p in legs if q < 0]
    if not shorts or all(q < 0 for _, q, _ in legs):
        return alone  # nothing hedges anything
    inst0 = shorts[0][0]
    index = _on_index(inst0)
    scan = Decimal(params.index_price_scan if index else params.stock_price_scan)
    spot = underlying_paise if underlying_paise else inst0.strike_paise or 0
    down = round_half_up(Decimal(spot) * (1 - scan))
    up = round_half_up(Decimal(spot) * (1 + scan))
    points = {down, up} | {
        i.strike_paise
        for i, _, _ in legs
        if i.strike_paise is not None and down < i.strike_paise < up
    }
    worst = 0
    for s in points:
        loss = 0
        for inst, qty, price in legs:
            value = intrinsic_paise(inst, s)
            loss += -qty * (value - price) if qty < 0 else -qty * value
        worst = max(worst, loss)
    rate = Decimal(params.index_exposure if index else params.stock_exposure)
    expiry = inst0.expiry
    if index and today is not None and expiry is not None and expiry.date() == today:
        rate += Decimal(params.expiry_day_elm)
    exposure = round_half_up(Decimal(spot) * rate * sum(-q for _, q, _ in shorts))
    return min(alone, worst + exposure)


@dataclass(frozen=True, slots=True)
class OrderMargin:
    """What one order needs (paise): the premium of an option bought and the change of its
    position's margin (negative when the order closes a short and releases margin)."""

    premium: int
    margin: int

    @property
    def total(self) -> int:
        """Premium plus margin change, never below zero (a release frees, it does not pay)."""
        return max(0, self.premium + self.margin)


def order_requirement(
    inst: Instrument,
    signed_qty: int,
    position_qty: int,
    price_paise: int,
    mark_paise: int,
    underlying_paise: int | None,
    params: MarginParams,
    today: date | None = None,
) -> OrderMargin:
    """The premium and margin change of an order of ``signed_qty`` units (buy > 0) on a
    position of ``position_qty``: the engine's pre-trade check (``FundsMixin``) less the
    charges, so the ticket can show it before the click. The premium is at ``price_paise``
    (the expected fill), the margin at ``mark_paise`` (the last price), as the check does."""
    if not is_derivative(inst):
        return OrderMargin(0, 0)
    premium = (
        signed_qty * price_paise if inst.kind is InstrumentKind.OPTION and signed_qty > 0 else 0
    )
    before = contract_margin(inst, position_qty, mark_paise, underlying_paise, params, today)
    after = contract_margin(
        inst, position_qty + signed_qty, mark_paise, underlying_paise, params, today
    )
    return OrderMargin(premium, after - before)
