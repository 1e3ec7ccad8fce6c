"""A seeded random-walk market: every symbol moves in 5-paise ticks with a bid/ask spread.

Each symbol has its own ``random.Random`` seeded from ``(seed, symbol)``, so adding a symbol
never changes the path of another and the same seed always gives the same ticks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from livetrade.errors import InvalidInput
from livetrade.model import check_symbol
from livetrade.money import to_paise
from livetrade.prices import LivePriceStream

TICK = 5  # paise

DEFAULT_SYMBOLS: dict[str, Decimal] = {
    "NSE:SBIN-EQ": Decimal("800.00"),
    "NSE:RELIANCE-EQ": Decimal("1300.00"),
    "NSE:INFY-EQ": Decimal("1500.00"),
    "NSE:TCS-EQ": Decimal("3500.00"),
    "NSE:HDFCBANK-EQ": Decimal("1700.00"),
    "NSE:NIFTY50-INDEX": Decimal("24000.00"),
}

STEPS_PER_DAY = 22_500  # 09:15–15:30 in seconds
_DAY_NS = 86_400 * 1_000_000_000
_IST_NS = 19_800 * 1_000_000_000  # Asia/Kolkata is UTC+05:30 all year


@dataclass(slots=True)
class _Walk:
    symbol: str
    rng: random.Random
    last: int
    volume: int
    sigma_ticks: float
    is_index: bool


class SimulatedMarket:
    """Pushes one quote per symbol per ``step(ts_ns)`` into ``stream``.

    ``daily_volatility`` is the standard deviation of a day's return (1.5% by default); each step
    is one second of a 6h15m session, so a step's move is about ``price × vol / 150``.
    """

    def __init__(
        self,
        stream: LivePriceStream,
        symbols: dict[str, Decimal] | list[str] | None = None,
        seed: int | None = None,
        daily_volatility: float = 0.015,
        max_spread_ticks: int = 3,
    ) -> None:
        self.stream = stream
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        if not 0 < daily_volatility < 1:
            raise InvalidInput("daily_volatility", "must be between 0 and 1")
        self.daily_volatility = daily_volatility
        self.max_spread_ticks = max(1, max_spread_ticks)
        self._walks: dict[str, _Walk] = {}
        self._held: dict[str, _Walk] = {}  # suspended walks: kept, not stepped
        self.steps = 0
        self._day_end = -(1 << 62)  # volume is a running total per IST day, as Fyers sends it
        # called with ts_ns after each step's quotes: instruments priced from these walks
        # (livetrade.feeds.sim_derivatives) quote right after their underlying moves
        self.derived: list[Callable[[int], None]] = []
        if symbols is None:
            symbols = DEFAULT_SYMBOLS
        if isinstance(symbols, list):
            symbols = {s: DEFAULT_SYMBOLS.get(s, Decimal("1000.00")) for s in symbols}
        for sym, price in symbols.items():
            self.add_symbol(sym, price)

    @property
    def symbols(self) -> list[str]:
        return list(self._walks)

    def add_symbol(self, symbol: str, price: Decimal | str | float | int = "1000.00") -> None:
        """Start simulating ``symbol`` from ``price`` (rupees, a multiple of ₹0.05)."""
        check_symbol(symbol)
        if symbol in self._walks:
            return
        held = self._held.pop(symbol, None)
        if held is not None:  # a suspended walk continues where it stopped
            self._walks[symbol] = held
            return
        p = to_paise(price, "price")
        if p <= 0 or p % TICK:
            raise InvalidInput("price", "must be positive and a multiple of the ₹0.05 tick")
        rng = random.Random(f"{self.seed}:{symbol}")
        sigma = p * self.daily_volatility / math.sqrt(STEPS_PER_DAY) / TICK
        self._walks[symbol] = _Walk(
            symbol, rng, p, 0, max(sigma, 0.3), symbol.upper().endswith("-INDEX")
        )

    def suspend(self, symbol: str) -> None:
        """Stop stepping ``symbol`` but keep its walk: :meth:`add_symbol` brings it back at the
        same price and the same point of its random sequence, so a symbol nobody watched for a
        while continues the path it would have had (the hub's released symbols)."""
        walk = self._walks.pop(symbol, None)
        if walk is not None:
            self._held[symbol] = walk

    def price_paise(self, symbol: str) -> int:
        """Where ``symbol``'s walk is now (its start price before the first step)."""
        return self._walks[symbol].last

    def set_price(self, symbol: str, paise: int) -> None:
        """Move ``symbol``'s walk to ``paise`` (a restored session resumes where it traded)."""
        if paise <= 0 or paise % TICK:
            raise InvalidInput("price", "must be positive and a multiple of the ₹0.05 tick")
        self._walks[symbol].last = paise

    def step(self, ts_ns: int) -> None:
        """One quote per symbol at ``ts_ns``."""
        push = self.stream.push
        if ts_ns >= self._day_end:  # a new IST day: every day's volume starts from zero
            self._day_end = ts_ns - (ts_ns + _IST_NS) % _DAY_NS + _DAY_NS
            for w in self._walks.values():
                w.volume = 0
        max_spread = self.max_spread_ticks
        for w in self._walks.values():
            rng = w.rng
            move = round(rng.gauss(0.0, w.sigma_ticks))
            last = max(TICK, w.last + move * TICK)
            w.last = last
            if w.is_index:
                push(w.symbol, last, last, last, 0, ts_ns)
                continue
            spread = rng.randint(1, max_spread)
            bid = max(TICK, last - rng.randint(0, spread) * TICK)
            w.volume += rng.randint(1, 40) * 5
            push(w.symbol, bid, bid + spread * TICK, last, w.volume, ts_ns)
        for derived in self.derived:
            derived(ts_ns)
        self.steps += 1

    def __repr__(self) -> str:
        return f"SimulatedMarket(seed={self.seed}, symbols={len(self._walks)})"
