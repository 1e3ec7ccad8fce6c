"""What can be traded and in what steps: :class:`Instrument` and the :class:`InstrumentRegistry`.

Every quantity and price check asks the order's instrument: quantities in multiples of its lot,
prices on its tick, indices not tradable. Cash equities need no master file: a symbol nobody
registered is an equity with lot 1 and a ₹0.05 tick (``-INDEX`` symbols are indices), which is
what the original system assumed. Futures and options are registered from Fyers' symbol master
(lot, tick, expiry, strike, option type, underlying, freeze quantity), so an order of 1 NIFTY
future is refused until it is a whole number of lots.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from livetrade.errors import InvalidInput
from livetrade.model import check_symbol
from livetrade.money import from_paise

__all__ = [
    "EQUITY_TICK_PAISE",
    "NSE_CASH_TICKS",
    "Instrument",
    "InstrumentKind",
    "InstrumentRegistry",
    "TickBands",
    "TickSchedule",
]

EQUITY_TICK_PAISE: Final = 5  # ₹0.05: the tick the original system assumed for every share


@dataclass(frozen=True, slots=True)
class TickBands:
    """One exchange tick table, in force from ``effective``: ``bands`` are ``(upper, tick)``
    in paise, ascending; a price below ``upper`` (at or below it where ``inclusive``) takes
    that tick; the last band (``upper`` None) takes every higher price."""

    effective: date
    bands: tuple[tuple[int | None, int, bool], ...]  # (upper paise, tick paise, inclusive)
    source: str

    def band(self, price: int) -> tuple[int, int | None, int]:
        """``(lower, upper, tick)`` of the band ``price`` (paise) falls in."""
        lower = 0
        for upper, tick, inclusive in self.bands:
            if upper is None or price < upper or (inclusive and price == upper):
                return lower, upper, tick
            lower = upper
        raise AssertionError("the last band has no upper edge")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class TickSchedule:
    """Tick tables by the date they took effect (exchange parameters move by circular)."""

    tables: tuple[TickBands, ...]  # oldest first

    def on(self, day: date | None) -> TickBands | None:
        """The table in force on ``day`` (the newest for None); None before the first."""
        if day is None:
            return self.tables[-1]
        found = None
        for table in self.tables:
            if table.effective <= day:
                found = table
        return found


_TICK_FEED = "shared/exchange-rules.md §6"
NSE_CASH_TICKS: Final = TickSchedule(
    (
        TickBands(
            date(2024, 6, 10),
            ((250_00, 1, False), (None, 5, False)),
            f"{_TICK_FEED}: ₹0.01 below ₹250 from 10 Jun 2024, ETFs excluded (Livemint, "
            "27 May 2024)",
        ),
        TickBands(
            date(2025, 4, 15),
            (
                (250_00, 1, False),
                (1_000_00, 5, False),
                (5_000_00, 10, False),
                (10_000_00, 50, False),
                (20_000_00, 100, True),  # the doc: "> 20,000" takes ₹5
                (None, 500, False),
            ),
            f"{_TICK_FEED}: NSE cash and stock futures from 15 Apr 2025 (Fyers notice, "
            "17 Mar 2025)",
        ),
    )
)
"""NSE's cash-market ticks by price (exchange-rules.md §6). A price on a shared edge (₹1,000,
₹5,000, ₹10,000) takes the higher band's tick, ₹20,000 the ₹1 tick (the doc's "> 20,000").
NSE sets a stock's band monthly from its last close; here the order's own price picks it."""


class InstrumentKind(enum.Enum):
    """What an instrument is; indices are quoted but never traded."""

    EQUITY = "EQUITY"
    INDEX = "INDEX"
    FUTURE = "FUTURE"
    OPTION = "OPTION"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable (or quoted) thing and its steps. Money in paise, sizes in units.

    ``lot_size``: quantities must be multiples of it (units, not lots). ``tick_paise``: prices
    must be multiples of it. ``freeze_qty``: the exchange's largest single order (units), None
    when there is none. ``expiry`` (IST), ``strike_paise``, ``option_type`` and ``underlying``
    are set for derivatives.
    """

    symbol: str
    kind: InstrumentKind = InstrumentKind.EQUITY
    lot_size: int = 1
    tick_paise: int = EQUITY_TICK_PAISE
    freeze_qty: int | None = None
    expiry: datetime | None = None
    strike_paise: int | None = None
    option_type: Literal["CE", "PE"] | None = None
    underlying: str | None = None
    segment: str = "CM"  # Fyers: CM cash, FO equity derivatives, CD currency, COM commodity
    # the exchange's tick by price (tick_paise is then the finest step any band allows)
    tick_bands: TickSchedule | None = None

    def __post_init__(self) -> None:
        check_symbol(self.symbol)
        for name in ("lot_size", "tick_paise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidInput(name, f"must be a positive whole number, got {value!r}")
        if self.freeze_qty is not None and not (
            isinstance(self.freeze_qty, int) and self.freeze_qty >= self.lot_size
        ):
            raise InvalidInput("freeze_qty", "must be a whole number of units, at least one lot")
        if (self.kind is InstrumentKind.OPTION) != (self.option_type is not None):
            raise InvalidInput("option_type", "CE or PE for an option, None for anything else")
        if self.kind is InstrumentKind.OPTION and self.strike_paise is None:
            raise InvalidInput("strike_paise", "an option needs a strike")
        if self.tick_bands is not None and any(
            tick % self.tick_paise for table in self.tick_bands.tables for _, tick, _ in table.bands
        ):
            raise InvalidInput(
                "tick_paise", "must divide every tick of tick_bands (the finest step)"
            )

    @property
    def exchange(self) -> str:
        return self.symbol.split(":", 1)[0]

    @property
    def tradable(self) -> bool:
        return self.kind is not InstrumentKind.INDEX

    @property
    def tick(self) -> str:
        """The tick as a trader writes it (``₹0.05``), for sentences."""
        return f"₹{from_paise(self.tick_paise)}"

    def tick_for(self, price_paise: int, day: date | None = None) -> int:
        """The tick (paise) a price must be a multiple of on ``day``: the band's where the
        exchange sets tick by price (``tick_bands``), else :attr:`tick_paise`."""
        table = self.tick_bands.on(day) if self.tick_bands is not None else None
        return self.tick_paise if table is None else table.band(price_paise)[2]

    @classmethod
    def default_for(cls, symbol: str, *, tick_by_price: bool = False) -> Instrument:
        """What a symbol nobody registered is: an index if it says so, else a cash equity
        (with NSE's price-band ticks if ``tick_by_price``, an NSE or BSE ``-EQ`` symbol)."""
        upper = check_symbol(symbol).upper()
        if upper.endswith("-INDEX"):
            return cls(symbol, InstrumentKind.INDEX)
        if tick_by_price and upper.endswith("-EQ") and upper.split(":", 1)[0] in ("NSE", "BSE"):
            return cls(symbol, tick_paise=1, tick_bands=NSE_CASH_TICKS)
        return cls(symbol)


class InstrumentRegistry:
    """Symbol → :class:`Instrument`. One per engine (the session shares it with its feeds).

    :meth:`get` answers for any valid symbol: a registered instrument, else the default (and
    remembers it, so :meth:`__iter__` lists what was traded or quoted).
    """

    def __init__(
        self, instruments: Iterable[Instrument] = (), *, tick_by_price: bool = False
    ) -> None:
        self.tick_by_price = tick_by_price  # unregistered equities tick by NSE's price bands
        self._by_symbol: dict[str, Instrument] = {}
        for inst in instruments:
            self.register(inst)

    def register(self, instrument: Instrument) -> Instrument:
        """Add or replace (a new master file replaces yesterday's lot and freeze figures)."""
        if not isinstance(instrument, Instrument):
            raise InvalidInput("instrument", f"must be an Instrument, got {instrument!r}")
        self._by_symbol[instrument.symbol] = instrument
        return instrument

    def known(self, symbol: object) -> Instrument | None:
        """The instrument if ``symbol`` was registered or looked up before (no validation:
        only valid symbols ever get in), else None."""
        return self._by_symbol.get(symbol) if isinstance(symbol, str) else None

    def get(self, symbol: str) -> Instrument:
        inst = self._by_symbol.get(symbol)
        if inst is None:
            inst = Instrument.default_for(symbol, tick_by_price=self.tick_by_price)
            self._by_symbol[symbol] = inst
        return inst

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self) -> Iterator[Instrument]:
        return iter(list(self._by_symbol.values()))

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __repr__(self) -> str:
        return f"InstrumentRegistry({len(self)} instruments)"
