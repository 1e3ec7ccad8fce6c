"""Futures and options charges as Fyers bills them, from ``money.RATES`` (each row sourced).

Why a separate model beside :class:`~livetrade.money.IndianEquityCharges`: F&O has none of the
cash market's CNC/intraday split, DP charge or same-day re-billing, but bills turnover fees the
way a contract note does. ``IndianEquityCharges`` routes a derivative's fills here (it knows a
derivative by the instrument registry it is given, else by the Fyers ticker form), so the engine,
the risk checks and the ticket call the one ``ChargesModel`` they always called.

Rules (``shared/fno.md`` §3):

* brokerage per executed order: futures the lower of ₹20 and 0.03%; options ₹20 flat;
* STT on the sell side only (options: on the premium), rounded to the rupee per contract and
  day; STT on an exercised option is on its intrinsic value, paid by the holder
  (:meth:`IndianFnoCharges.charge_exercise`);
* exchange transaction charge and IPFT by exchange and futures/options (BSE: SENSEX/BANKEX
  options, other options, futures nil), SEBI fee both sides, stamp duty on the buyer,
  GST 18% on brokerage + transaction charge + IPFT (Fyers: not on the SEBI fee);
* the turnover fees and GST are the day's contract-note figure per exchange: each fill pays the
  increase of the rounded day total, so a day's fills add up to the note to the paisa (fno.md's
  worked example computes them on the day's turnover: ₹5.08 transaction charge on ₹14,300,
  where rounding each order apart gives ₹2.31 + ₹2.77 and a SEBI fee of ₹0.02, not ₹0.01).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal

from livetrade.instruments import InstrumentKind
from livetrade.money import (
    RATES,
    ZERO_CHARGES,
    Charges,
    RateRow,
    rate,
    round_half_up,
    round_to_rupee,
)

if TYPE_CHECKING:
    from livetrade.instruments import InstrumentRegistry

__all__ = ["FnoTerms", "IndianFnoCharges", "derivative_terms"]

FnoKind = Literal["FUT", "OPT"]

# Fyers tickers (FYDOC symbology, fno.md §1): futures end YYMMMFUT; options end in the date
# (YYMMM monthly, YY+M+DD weekly), the strike and CE/PE. Cash symbols carry a -EQ/-INDEX suffix.
_FUT_TAIL: Final = re.compile(r"(?P<name>[A-Z0-9&_.-]+?)\d{2}[A-Z]{3}FUT")
_OPT_TAIL: Final = re.compile(
    r"(?P<name>[A-Z0-9&_.-]+?)\d{2}(?:[A-Z]{3}|[1-9OND]\d{2})\d+(?:\.\d+)?(?:CE|PE)"
)
# BSE charges SENSEX and BANKEX options ₹3,250/crore, other options (SENSEX 50, stocks) ₹500
# (W4, fno.md §3). SENSEX50 is checked before SENSEX since one name starts the other.
_BSE_INDEX_OPTIONS: Final = ("SENSEX50", "SENSEX", "BANKEX")


class FnoTerms:
    """How a derivative is billed: futures or options, exchange, and the exchange-charge scope."""

    __slots__ = ("exchange", "kind", "scope")

    def __init__(self, kind: FnoKind, exchange: str, scope: str) -> None:
        self.kind = kind
        self.exchange = exchange
        self.scope = scope

    def __repr__(self) -> str:
        return f"FnoTerms({self.kind}, {self.exchange}, {self.scope})"


def _scope(kind: FnoKind, exchange: str, underlying: str) -> str:
    if exchange != "BSE":
        return f"{exchange}_{kind}"
    if kind == "FUT":
        return "BSE_FUT"
    return "BSE_OPT_INDEX" if underlying in ("SENSEX", "BANKEX") else "BSE_OPT_OTHER"


def derivative_terms(symbol: str, instruments: InstrumentRegistry | None = None) -> FnoTerms | None:
    """``symbol``'s F&O billing terms, or None for anything else (cash, index, unknown).

    The registry's instrument decides when it is registered there; otherwise the ticker's form."""
    exchange, _, name = symbol.partition(":")
    exchange = exchange.upper()
    if instruments is not None and symbol in instruments:
        inst = instruments.get(symbol)
        if inst.kind not in (InstrumentKind.FUTURE, InstrumentKind.OPTION):
            return None
        kind: FnoKind = "FUT" if inst.kind is InstrumentKind.FUTURE else "OPT"
        from livetrade.fno.master import underlying_name

        under = underlying_name(inst.underlying) if inst.underlying else ""
        return FnoTerms(kind, exchange, _scope(kind, exchange, under))
    m = _FUT_TAIL.fullmatch(name)
    if m is not None:
        return FnoTerms("FUT", exchange, _scope("FUT", exchange, m["name"]))
    m = _OPT_TAIL.fullmatch(name)
    if m is None:
        return None
    under = next((u for u in _BSE_INDEX_OPTIONS if name.startswith(u)), m["name"])
    return FnoTerms("OPT", exchange, _scope("OPT", exchange, under))


_Key = tuple[str, str, date]
_Round = Callable[[Decimal], int]


class IndianFnoCharges:
    """NSE/BSE futures and options charges (see the module docstring for the rules).

    ``delivery`` is accepted for the ``ChargesModel`` signature and ignored: F&O has one rate
    card whatever the product. Nothing is ever re-billed, so :meth:`take_refund` is zero.
    """

    def __init__(
        self, table: Iterable[RateRow] = RATES, instruments: InstrumentRegistry | None = None
    ) -> None:
        self._table = tuple(table)
        self.instruments = instruments
        self._rates: dict[tuple[str, str, date], Decimal] = {}
        self._terms: dict[str, FnoTerms] = {}
        self._base: dict[_Key, int] = {}  # the day's running base (turnover, or GST's base)
        self._paid: dict[_Key, int] = {}  # what the day's fills already paid on that base

    def _rate(self, component: str, scope: str, day: date) -> Decimal:
        key = (component, scope, day)
        r = self._rates.get(key)
        if r is None:
            r = self._rates[key] = rate(component, scope, day, self._table)
        return r

    def terms(self, symbol: str) -> FnoTerms:
        t = self._terms.get(symbol)
        if t is None:
            found = derivative_terms(symbol, self.instruments)
            if found is None:
                from livetrade.errors import InvalidInput

                raise InvalidInput("symbol", f"{symbol} is not a future or an option")
            t = self._terms[symbol] = found
        return t

    def _due(self, key: _Key, add: int, rate_: Decimal, rounding: Callable[[Decimal], int]) -> int:
        """What adding ``add`` to ``key``'s day base owes: the rounded day figure's increase."""
        total = rounding(Decimal(self._base.get(key, 0) + add) * rate_)
        return max(0, total - self._paid.get(key, 0))

    def _plan(
        self, symbol: str, is_buy: bool, quantity: int, price: int, day: date
    ) -> tuple[Charges, list[tuple[_Key, int, int]]]:
        """The fill's charges and the (key, base added, paid) entries that book it."""
        t = self.terms(symbol)
        turnover = quantity * price
        fut = t.kind == "FUT"
        if fut:
            brokerage = min(
                round_half_up(Decimal(turnover) * self._rate("brokerage", "fno_fut", day)),
                int(self._rate("brokerage_cap", "fno_fut", day)),
            )
        else:
            brokerage = int(self._rate("brokerage_flat", "fno_opt", day))
        book: list[tuple[_Key, int, int]] = []

        def fee(component: str, scope: str, key_scope: str, rounding: _Round) -> int:
            key = (component, key_scope, day)
            amount = self._due(key, turnover, self._rate(component, scope, day), rounding)
            book.append((key, turnover, amount))
            return amount

        exchange = fee("exchange", t.scope, t.scope, round_half_up)
        ipft = fee("ipft", t.scope, t.scope, round_half_up)
        sebi = fee("sebi", "all", f"{t.exchange}_FO", round_half_up)
        side = "fut" if fut else "opt"
        stamp = fee("stamp", f"fno_{side}", f"{t.exchange}_{side}", round_half_up) if is_buy else 0
        stt = 0
        if not is_buy:
            stt = fee("stt", f"fno_{side}_sell", f"{symbol}|sell", round_to_rupee)
        gst_base = brokerage + exchange + ipft
        gst_key = ("gst", f"{t.exchange}_FO", day)
        gst = self._due(gst_key, gst_base, self._rate("gst", "all", day), round_half_up)
        book.append((gst_key, gst_base, gst))
        return Charges(brokerage, stt, exchange, ipft, sebi, stamp, gst, 0), book

    def _book(self, entries: Iterable[tuple[_Key, int, int]]) -> None:
        for key, base, paid in entries:
            self._base[key] = self._base.get(key, 0) + base
            self._paid[key] = self._paid.get(key, 0) + paid

    def estimate(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        return self._plan(symbol, is_buy, quantity, price, day)[0]

    def charge(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        charges, book = self._plan(symbol, is_buy, quantity, price, day)
        self._book(book)
        return charges

    def record(
        self,
        symbol: str,
        is_buy: bool,
        delivery: bool,
        quantity: int,
        price: int,
        day: date,
        charges: Charges,
    ) -> None:
        """Journal recovery: book a fill's base with what it was billed then."""
        _, book = self._plan(symbol, is_buy, quantity, price, day)
        billed = {
            "exchange": charges.exchange,
            "ipft": charges.ipft,
            "sebi": charges.sebi,
            "stamp": charges.stamp,
            "stt": charges.stt,
            "gst": charges.gst,
        }
        self._book((key, base, billed[key[0]]) for key, base, _ in book)

    def take_refund(self) -> Charges:
        """F&O fills are never re-billed."""
        return ZERO_CHARGES

    def charge_exercise(
        self, symbol: str, quantity: int, intrinsic_paise: int, day: date
    ) -> Charges:
        """STT on an option exercised at expiry: on the intrinsic value (settlement price minus
        strike for a call, the reverse for a put, per unit), paid by the holder, to the rupee
        (fno.md §3, "STT options exercised"). Other exercise-time charges are not in fno.md's
        sources and are not billed. Not booked: exercise STT has its own day figure."""
        if self.terms(symbol).kind != "OPT":
            from livetrade.errors import InvalidInput

            raise InvalidInput("symbol", f"{symbol} is not an option")
        value = Decimal(quantity * max(0, intrinsic_paise))
        return Charges(stt=round_to_rupee(value * self._rate("stt", "fno_opt_exercise", day)))
