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
from datetime import datetime
from typing import Final, Literal

from livetrade.errors import InvalidInput
from livetrade.model import check_symbol
from livetrade.money import from_paise

__all__ = [
    "EQUITY_TICK_PAISE",
    "Instrument",
    "InstrumentKind",
    "InstrumentRegistry",
]

EQUITY_TICK_PAISE: Final = 5  # ₹0.05: the tick the original system assumed for every share


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

    @classmethod
    def default_for(cls, symbol: str) -> Instrument:
        """What a symbol nobody registered is: an index if it says so, else a cash equity."""
        if check_symbol(symbol).upper().endswith("-INDEX"):
            return cls(symbol, InstrumentKind.INDEX)
        return cls(symbol)


class InstrumentRegistry:
    """Symbol → :class:`Instrument`. One per engine (the session shares it with its feeds).

    :meth:`get` answers for any valid symbol: a registered instrument, else the default (and
    remembers it, so :meth:`__iter__` lists what was traded or quoted).
    """

    def __init__(self, instruments: Iterable[Instrument] = ()) -> None:
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
            inst = self._by_symbol[symbol] = Instrument.default_for(symbol)
        return inst

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self) -> Iterator[Instrument]:
        return iter(list(self._by_symbol.values()))

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __repr__(self) -> str:
        return f"InstrumentRegistry({len(self)} instruments)"
