"""Funds as a broker shows them: cash, margin blocked, premium, P&L (#15 item 4).

Why a separate view: the engine's ``cash_paise`` moves by the full price of every fill, which is
the right ledger for shares and option premium but not for futures (no premium changes hands)
or intraday equity (a fraction is blocked). :meth:`FundsMixin.funds_paise` re-reads the same
positions the way a Fyers funds page does: futures and intraday equity positions are marked to
market (their notional stays in cash, their P&L is their value), margin is blocked for futures,
short options (``livetrade.fno.margin``) and intraday equity (``limits.intraday_margin``), and
what is left is available. It is derived, never stored: a margin is blocked exactly while its
position is open, at the position's last price, and the journal restores it by restoring the
positions. The identity, to the paisa::

    available + margin_blocked + position_value == start + realised + unrealised - charges
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from livetrade.fno.margin import MarginParams, contract_margin, is_derivative, options_margin
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import Fill, Product, Side, ns_to_datetime
from livetrade.money import ChargesModel, from_paise, round_half_up

if TYPE_CHECKING:
    from livetrade.clock import Clock
    from livetrade.engine.book import _Lots
    from livetrade.prices import LivePriceStream
    from livetrade.request import OrderRequest
    from livetrade.risk import RiskLimits

__all__ = ["Funds", "FundsMixin"]


@dataclass(frozen=True, slots=True)
class Funds:
    """``engine.funds()``: rupees (Decimal). ``margin_blocked`` = ``fno_margin`` (futures and
    short options) + ``intraday_margin`` (intraday equity); ``premium_paid``/``received`` are
    the day-one-to-now option turnover bought/sold; ``realised`` is gross (before charges)."""

    start: Decimal
    available_cash: Decimal
    margin_blocked: Decimal
    fno_margin: Decimal
    intraday_margin: Decimal
    position_value: Decimal
    premium_paid: Decimal
    premium_received: Decimal
    realised: Decimal
    unrealised: Decimal
    charges: Decimal


class FundsMixin:
    """Funds and F&O margin over the engine's state (a base of ``EngineState``)."""

    margin_params: MarginParams = MarginParams()
    """The SPAN + exposure approximation's rates; assign a new ``MarginParams`` to change them."""

    if TYPE_CHECKING:
        _positions: dict[tuple[str, Product], _Lots]
        _fills: list[Fill]
        price_stream: LivePriceStream
        instruments: InstrumentRegistry
        limits: RiskLimits
        charges_model: ChargesModel
        clock: Clock
        cash_paise: int
        charges_paise: int
        initial_paise: int

    def _position_margin(self, symbol: str, qty: int, price: int) -> int:
        """F&O margin of a position of ``qty`` units of ``symbol`` at ``price`` (paise)."""
        inst = self.instruments.get(symbol)
        if not qty or not is_derivative(inst):
            return 0
        under = self.price_stream.last_paise(inst.underlying) if inst.underlying else None
        today = ns_to_datetime(self.clock.now_ns()).date()
        return contract_margin(inst, qty, price, under, self.margin_params, today)

    def _option_group(
        self, inst: Instrument, change: tuple[str, Product, int, int] | None = None
    ) -> list[tuple[Instrument, int, int]]:
        """The option positions on ``inst``'s underlying and expiry as ``(instrument, signed
        units, price now)``; ``change`` = (symbol, product, units, price) puts that position
        at those units (an order's effect) instead of what it holds."""
        legs: list[tuple[Instrument, int, int]] = []
        for (symbol, product), lots in self._positions.items():
            if change is not None and (symbol, product) == change[:2]:
                continue
            if not lots.qty:
                continue
            other = self.instruments.get(symbol)
            if (
                other.kind is not InstrumentKind.OPTION
                or other.underlying != inst.underlying
                or other.expiry != inst.expiry
            ):
                continue
            last = self.price_stream.last_paise(symbol)
            price = last if last is not None else abs(lots.cost) // abs(lots.qty)
            legs.append((other, lots.qty, price))
        if change is not None and change[2]:
            legs.append((self.instruments.get(change[0]), change[2], change[3]))
        return legs

    def _group_margin(self, legs: list[tuple[Instrument, int, int]]) -> int:
        """:func:`~livetrade.fno.margin.options_margin` of one underlying-and-expiry group."""
        if not legs:
            return 0
        under = legs[0][0].underlying
        spot = self.price_stream.last_paise(under) if under else None
        today = ns_to_datetime(self.clock.now_ns()).date()
        return options_margin(legs, spot, self.margin_params, today)

    def fno_margin_paise(self) -> int:
        """SPAN + exposure blocked by open futures and short options, at their last prices."""
        return self.funds_paise(premiums=False)["fno_margin"]

    def funds_paise(self, premiums: bool = True) -> dict[str, int]:
        """The :class:`Funds` figures in paise (see the module docstring); ``premiums=False``
        skips reading every fill for the premium totals (zero then), as the margin check does."""
        cash = self.cash_paise
        value = realised = unrealised = fno = intraday = 0
        rate = Decimal(self.limits.intraday_margin)
        groups: set[tuple[str | None, object, str]] = set()
        for (symbol, product), lots in self._positions.items():
            realised += lots.realized
            qty = lots.qty
            if not qty:
                continue
            last = self.price_stream.last_paise(symbol)
            mark = lots.cost if last is None else last * qty
            unrealised += mark - lots.cost
            inst = self.instruments.get(symbol)
            if inst.kind is InstrumentKind.FUTURE or (
                product is Product.INTRADAY and not is_derivative(inst)
            ):
                cash += lots.cost  # marked to market: the notional never left the account
                value += mark - lots.cost
            else:
                value += mark
            price = abs(mark) // abs(qty)
            if inst.kind is InstrumentKind.OPTION:  # priced with its group below (hedges)
                groups.add((inst.underlying, inst.expiry, symbol))
            elif is_derivative(inst):
                fno += self._position_margin(symbol, qty, price)
            elif product is Product.INTRADAY:
                intraday += round_half_up(Decimal(abs(mark)) * rate)
        seen: set[tuple[str | None, object]] = set()
        for underlying, expiry, symbol in sorted(groups, key=lambda g: g[2]):
            if (underlying, expiry) not in seen:
                seen.add((underlying, expiry))
                fno += self._group_margin(self._option_group(self.instruments.get(symbol)))
        paid = received = 0
        for f in self._fills if premiums else ():
            if self.instruments.get(f.symbol).kind is InstrumentKind.OPTION:
                if f.side is Side.BUY:
                    paid += f.quantity * f.price_paise
                else:
                    received += f.quantity * f.price_paise
        blocked = fno + intraday
        return {
            "start": self.initial_paise,
            "available_cash": cash - blocked,
            "margin_blocked": blocked,
            "fno_margin": fno,
            "intraday_margin": intraday,
            "position_value": value,
            "premium_paid": paid,
            "premium_received": received,
            "realised": realised,
            "unrealised": unrealised,
            "charges": self.charges_paise,
        }

    def funds(self) -> Funds:
        """Available cash, margin blocked, premium paid/received, realised/unrealised P&L."""
        p = self.funds_paise()
        return Funds(**{k: from_paise(v) for k, v in p.items()})

    def fno_margin_check(
        self, req: OrderRequest, ref_paise: int, position_qty: int, now_ns: int
    ) -> tuple[int, int] | None:
        """What a futures or options order needs and what is available (paise), or None when
        the order is not a derivative. Needed: the premium of an option bought, plus the
        increase of its position's margin (a sell that closes a short releases margin), plus
        the charges; available: :meth:`funds_paise`'s available cash."""
        inst = req.instrument if req.instrument is not None else self.instruments.get(req.symbol)
        if not is_derivative(inst):
            return None
        signed = req.quantity if req.side is Side.BUY else -req.quantity
        last = self.price_stream.last_paise(req.symbol)
        mark = last if last else ref_paise
        if inst.kind is InstrumentKind.OPTION:  # with the other legs it may hedge
            before = self._group_margin(self._option_group(inst))
            change = (req.symbol, req.product, position_qty + signed, mark)
            after = self._group_margin(self._option_group(inst, change))
        else:
            before = self._position_margin(req.symbol, position_qty, mark)
            after = self._position_margin(req.symbol, position_qty + signed, mark)
        premium = (
            req.quantity * ref_paise
            if (inst.kind is InstrumentKind.OPTION and req.side is Side.BUY)
            else 0
        )
        day = ns_to_datetime(now_ns).date()
        is_buy = req.side is Side.BUY
        est = self.charges_model.estimate(req.symbol, is_buy, False, req.quantity, ref_paise, day)
        need = premium + after - before + est.total
        return need, self.funds_paise(premiums=False)["available_cash"]
