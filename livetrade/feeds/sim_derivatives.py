"""Simulated NIFTY futures and options, priced from the simulated market's index.

Why: F&O trading, charges and (later) expiry need contracts to trade on the virtual clock
without a Fyers account. :class:`SimDerivatives` lists futures and weekly/monthly options on
``NSE:NIFTY50-INDEX`` with Fyers' ticker formats (fno.md §1), NSE's lot, tick, freeze and
expiry rules for the contract's dates (fno.md §2), registers them in the engine's instrument
registry and quotes them after the index moves (every ``every`` market steps):

* futures at the cost-of-carry forward ``F = S·e^{rT}`` (``T`` years to the contract's expiry,
  minutes / 525,600 as fno.md §5 counts them);
* options at Black-76 (:func:`livetrade.pricing.black76`) on that forward with the volatility
  smile of :class:`Smile`;
* a bid/ask ``spread_ticks`` wide around the theoretical price, the last trade on the bid or the
  ask and the day's volume in lots drawn from the seed, depth from the quote as for shares;
* open interest (:meth:`SimDerivatives.open_interest`) in units, drawn from its own seeded
  stream: at listing a bell around the money (out-of-the-money side heavier, as writers sell
  there), then growing by whole lots with each quote in proportion to that profile, and the
  change counted from the day's first quote.

Prices follow from the index path alone, and the index path from the seed, so the same seed
gives the same chain. Strikes are fixed around the index when the contracts are listed.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import numpy.typing as npt

from livetrade.errors import InvalidInput
from livetrade.fno.lookup import MONTHS, WEEKLY_MONTH  # the ticker symbology
from livetrade.fno.master import freeze_qty_for
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST, ns_to_datetime
from livetrade.pricing import MINUTES_PER_YEAR, black76

if TYPE_CHECKING:
    from livetrade.feeds.simulated import SimulatedMarket
    from livetrade.market_hours import MarketHours

__all__ = [
    "FREEZE_FALLBACK",
    "STRIKE_STEP_PAISE",
    "UNDERLYING",
    "SimDerivatives",
    "Smile",
    "expiry_datetime",
    "lot_size_for",
    "monthly_expiry",
    "weekly_expiries",
]

UNDERLYING: Final = "NSE:NIFTY50-INDEX"
NAME: Final = "NIFTY"
STRIKE_STEP_PAISE: Final = 5_000
"""₹50 between NIFTY strikes: the step of NSE's NIFTY option chain (fno.md §1's chain sample
``NSE:NIFTY2632423050CE`` sits on it; the strike interval itself is not in fno.md)."""
OPTION_TICK: Final = 5  # ₹0.05 for every option (fno.md §2 "Tick size")
FREEZE_FALLBACK: Final = 1800
"""NIFTY's freeze (units per order) from 3 Aug 2026 (NSE FAOP75521, fno.md §2), also used for
earlier simulated dates, for which fno.md records no NIFTY figure."""

# (first expiry date the lot applies to, lot) newest first: fno.md §2 "Index lot sizes".
_NIFTY_LOTS: Final[tuple[tuple[date, int], ...]] = (
    (date(2026, 1, 6), 65),  # NSE FAOP70616, 3 Oct 2025: first new-lot expiries 6 Jan 2026
    (date(2024, 11, 20), 75),  # SEBI circular of 1 Oct 2024 (W1): from 20 Nov 2024
    (date(2000, 1, 1), 25),
)
# NSE expiry weekday by expiry date: Tuesday for contracts expiring on or after 1 Sep 2025
# (fno.md §2, Business Today 17 Jun 2025); Thursday before that (the day it moved from).
_TUESDAY_FROM: Final = date(2025, 9, 1)
# Expiry time: 15:30 IST; from 3 Aug 2026 NSE F&O closes at 15:40 (NSE FAOP74467, fno.md §2).
_LATE_CLOSE_FROM: Final = date(2026, 8, 3)
_NS_PER_YEAR: Final = MINUTES_PER_YEAR * 60 * 1_000_000_000


def lot_size_for(expiry: date) -> int:
    """NIFTY's lot for a contract expiring on ``expiry`` (fno.md §2's dated table)."""
    return next(lot for start, lot in _NIFTY_LOTS if expiry >= start)


def _weekday(day: date) -> int:
    return 1 if day >= _TUESDAY_FROM else 3  # Monday = 0


def _trading(day: date, hours: MarketHours | None) -> bool:
    if day.weekday() >= 5:
        return False
    return hours is None or bool(hours.windows("NSE", day))


def _on_or_before(day: date, hours: MarketHours | None) -> date:
    """fno.md §2 "Holiday rule": an expiry on a holiday moves to the previous trading day."""
    while not _trading(day, hours):
        day -= timedelta(days=1)
    return day


def monthly_expiry(year: int, month: int, hours: MarketHours | None = None) -> date:
    """The month's last expiry weekday (holiday-adjusted with ``hours``)."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    while last.weekday() != _weekday(last):
        last -= timedelta(days=1)
    return _on_or_before(last, hours)


def weekly_expiries(after: date, count: int, hours: MarketHours | None = None) -> list[date]:
    """The next ``count`` weekly expiries on or after ``after`` (holiday-adjusted)."""
    out: list[date] = []
    day = after
    while len(out) < count:
        if day.weekday() == _weekday(day):
            exp = _on_or_before(day, hours)
            if exp >= after and exp not in out:
                out.append(exp)
        day += timedelta(days=1)
    return out


def expiry_datetime(day: date) -> datetime:
    """The expiry moment in IST: the F&O close of that day (15:30, 15:40 from 3 Aug 2026)."""
    return datetime.combine(day, time(15, 40) if day >= _LATE_CLOSE_FROM else time(15, 30), IST)


def future_tick(index_paise: int) -> int:
    """Index futures' tick by index level (fno.md §2): ≤15,000 → ₹0.05, to 30,000 → ₹0.10,
    above → ₹0.20."""
    if index_paise <= 1_500_000:
        return 5
    return 10 if index_paise <= 3_000_000 else 20


@dataclass(frozen=True, slots=True)
class Smile:
    """The implied volatility of a strike: ``atm + skew·x + curvature·x²`` with
    ``x = ln(K/F)/√T`` (moneyness in standard deviations of a unit-vol move, so one smile fits
    weekly and monthly expiries) between ``-put_wing`` and ``call_wing``; beyond them each wing
    goes on with the same slope and flattens (an exponential of length ``wing_width`` in
    ``x``), so the volatility stays bounded; never below ``floor``.

    Our choices, not sourced: ``atm`` 13% is where India VIX (NIFTY's 30-day implied vol) has
    mostly traded in calm years; the negative ``skew`` makes puts dearer than calls, the usual
    shape of an index smile; ``curvature`` lifts both wings.

    Why the wings flatten where they do: call prices are non-increasing and convex in the
    strike (no calendar-free arbitrage) exactly when Durrleman's condition holds, which in
    ``x`` reads ``(1 − x·σ'/σ)² + σ·σ'' − T·σ²·σ'²/4 ≥ 0``. A quadratic in ``x`` grows faster
    than ``|x|`` past ``x²·curvature = atm`` (``x·σ'/σ > 1``); from there it can never level
    off without breaking the condition, and left unbounded its ``T`` term wins: on a weekly
    expiry ~2,500 points out the vol passed 200% and far calls rose with the strike. Leaving
    the quadratic while ``x·σ'/σ`` is still ≤ 0.65 and flattening over ``wing_width`` keeps
    the condition above 0.15 for every ``T`` up to half a year (``tests/test_smile_arbitrage
    .py`` checks the prices themselves): the vol tends to ≈ 49% on the put side and ≈ 23% on
    the call side, and the listed strikes near the money keep the quadratic's vols."""

    atm: float = 0.13
    skew: float = -0.20
    curvature: float = 0.50
    floor: float = 0.05
    put_wing: float = 0.20
    call_wing: float = 0.35
    wing_width: float = 0.75

    def __post_init__(self) -> None:
        if not 0 < self.atm < 5 or not 0 < self.floor <= self.atm:
            raise InvalidInput("smile", "atm must be in (0, 5) and floor in (0, atm]")
        if not (self.put_wing >= 0 and self.call_wing >= 0 and self.wing_width > 0):
            raise InvalidInput("smile", "put_wing, call_wing ≥ 0 and wing_width > 0")

    def vol(self, strike: Floats, forward: Floats, t: Floats) -> Floats:
        """The smile's volatility per strike (arrays of the same shape; ``t`` in years)."""
        x = np.log(strike / forward) / np.sqrt(np.maximum(t, 1e-6))
        lo, hi, width = self.put_wing, self.call_wing, self.wing_width
        xc = np.clip(x, -lo, hi)
        core = self.atm + self.skew * xc + self.curvature * xc * xc
        # outward slope at each edge, and how far past it (0 inside)
        up = x > hi
        slope = np.where(
            up, self.skew + 2 * self.curvature * hi, 2 * self.curvature * lo - self.skew
        )
        past = np.where(up, x - hi, -x - lo)
        wing = slope * width * -np.expm1(-np.maximum(past, 0.0) / width)
        out: Floats = np.maximum(core + wing, self.floor)
        return out


Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Kind = Literal["FUT", "CE", "PE"]


def smile_prices(
    smile: Smile, forward: Floats, strike: Floats, t: Floats, rate: float, calls: Bools
) -> Floats:
    """Option prices per strike (same units as ``forward``): calls at Black-76 with the
    smile's volatility (intrinsic value at expiry, ``t`` ≤ 0), puts from put-call parity, an
    identity of Black-76 at the strike's one volatility (pricing both sides costs twice and a
    per-strike flag array on every tick). What the simulated chain quotes around."""
    vol = smile.vol(strike, forward, t)
    call = np.maximum(forward - strike, 0.0)  # at expiry: intrinsic value
    live = t > 0
    if live.all():
        call = np.asarray(black76("c", forward, strike, t, rate, vol), np.float64)
    elif live.any():
        call[live] = black76("c", forward[live], strike[live], t[live], rate, vol[live])
    put = call - np.exp(-rate * t) * (forward - strike)
    out: Floats = np.where(calls, call, put)
    return out


def future_symbol(expiry: date) -> str:
    return f"NSE:{NAME}{expiry:%y}{MONTHS[expiry.month - 1]}FUT"


def option_symbol(expiry: date, strike_paise: int, kind: Literal["CE", "PE"], monthly: bool) -> str:
    """Fyers' ticker (fno.md §1): monthly ``NSE:NIFTY26DEC24000CE``, weekly
    ``NSE:NIFTY2612824000CE`` (YY, month 1-9/O/N/D, DD); the month's last expiry is monthly."""
    strike = Decimal(strike_paise) / 100
    text = f"{strike:f}".rstrip("0").rstrip(".") if "." in f"{strike:f}" else f"{strike:f}"
    if monthly:
        return f"NSE:{NAME}{expiry:%y}{MONTHS[expiry.month - 1]}{text}{kind}"
    return f"NSE:{NAME}{expiry:%y}{WEEKLY_MONTH[expiry.month - 1]}{expiry:%d}{text}{kind}"


class SimDerivatives:
    """Lists and quotes NIFTY derivatives on a :class:`SimulatedMarket` (see the module doc).

    ``strikes``: strikes each side of the one nearest the index (21 by default, times CE/PE).
    ``weeklies``: weekly expiries with options (the month's last one is the monthly, listed
    anyway). ``futures``: monthly futures listed (near, next...). ``rate``: the cost of carry,
    continuously compounded (our choice: 6%, a round figure near Indian overnight rates;
    fno.md §5 says India VIX uses the tenure's MIBOR). ``every``: quote after every N market
    steps (1: every tick). ``spread_ticks``: ask − bid for options and futures (our choices,
    not sourced: 2 ticks = ₹0.10 on an option, 5 ticks = ₹0.50 on a future).
    """

    def __init__(
        self,
        market: SimulatedMarket,
        instruments: InstrumentRegistry,
        now_ns: int,
        *,
        strikes: int = 10,
        weeklies: int = 1,
        futures: int = 2,
        smile: Smile | None = None,
        rate: float = 0.06,
        every: int = 1,
        spread_ticks: tuple[int, int] = (2, 5),
        hours: MarketHours | None = None,
    ) -> None:
        for name, value, low in (("strikes", strikes, 1), ("weeklies", weeklies, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInput(name, f"must be a whole number, at least {low}")
        if isinstance(futures, bool) or not isinstance(futures, int) or futures < 0:
            raise InvalidInput("futures", "must be a whole number, at least 0")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InvalidInput("every", "must be a whole number of steps, at least 1")
        if not all(isinstance(s, int) and s >= 1 for s in spread_ticks):
            raise InvalidInput("spread_ticks", "ask - bid in ticks, at least 1 each")
        if not -0.5 < rate < 1:
            raise InvalidInput("rate", "must be a yearly rate between -0.5 and 1")
        self.market = market
        self.instruments = instruments
        self.smile = smile if smile is not None else Smile()
        self.rate = rate
        self.every = every
        self.spread_ticks = spread_ticks
        self.hours = hours
        if UNDERLYING not in market.symbols:
            market.add_symbol(UNDERLYING, "24000.00")
        self._steps = 0
        self._day_end = -(1 << 62)
        self._rng = np.random.default_rng(
            random.Random(f"{market.seed}:derivatives").getrandbits(64)
        )
        self._oi_rng = np.random.default_rng(random.Random(f"{market.seed}:oi").getrandbits(64))
        self._contracts: list[Instrument] = []
        self._index: dict[str, int] = {}
        self._oi = np.zeros(0, np.int64)  # units, per contract (grows with listings)
        self._oi_open = np.zeros(0, np.int64)  # at the day's first quote
        self._oi_weight = np.zeros(0, np.float64)  # the listing profile, 1 at the money
        self._oi_rate = self._oi_close = np.zeros(0, np.float64)  # Poisson rates, per quote
        self.list_contracts(now_ns, strikes=strikes, weeklies=weeklies, futures=futures)
        market.derived.append(self._on_step)

    # ------------------------------------------------------------------ listing
    def list_contracts(
        self, now_ns: int, *, strikes: int = 10, weeklies: int = 1, futures: int = 2
    ) -> list[Instrument]:
        """List (and register) the contracts alive at ``now_ns`` that are not listed yet,
        strikes around the index now; returns the new ones."""
        now = ns_to_datetime(now_ns)
        today = now.date()
        spot = self.market.price_paise(UNDERLYING)
        alive = [d for d in weekly_expiries(today, weeklies + 1, self.hours)]
        alive = [d for d in alive if expiry_datetime(d) > now][:weeklies]
        months: list[date] = []
        year, month = today.year, today.month
        while len(months) < max(futures, 1):
            exp = monthly_expiry(year, month, self.hours)
            if expiry_datetime(exp) > now:
                months.append(exp)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        option_expiries = sorted(set(alive) | {months[0]})
        new: list[Instrument] = []
        for exp in months[:futures]:
            new.append(self._contract(future_symbol(exp), exp, None, None, spot))
        atm = round(spot / STRIKE_STEP_PAISE) * STRIKE_STEP_PAISE
        for exp in option_expiries:
            monthly = exp == monthly_expiry(exp.year, exp.month, self.hours)
            for i in range(-strikes, strikes + 1):
                k = atm + i * STRIKE_STEP_PAISE
                if k <= 0:
                    continue
                for kind in ("CE", "PE"):
                    new.append(
                        self._contract(option_symbol(exp, k, kind, monthly), exp, k, kind, spot)
                    )
        added = [inst for inst in new if inst.symbol not in self._index]
        for inst in added:
            self.instruments.register(inst)
            self._index[inst.symbol] = len(self._contracts)
            self._contracts.append(inst)
        self._list_oi(added, spot)
        self._arrays()
        return added

    def register_symbol(self, symbol: str) -> Instrument | None:
        """Register a contract of this market named by its ticker (e.g. one a journal holds
        after it expired and left the listing), so a restore books it as the derivative it
        was, not as a share; not quoted. ``None`` for a ticker that is not ours."""
        from livetrade.fno.lookup import parse_ticker

        known = self.instruments.known(symbol)
        if known is not None:
            return known
        try:
            parts = parse_ticker(symbol, NAME)
        except InvalidInput:
            return None
        if parts.day is not None:
            expiry = date(parts.year, parts.month, parts.day)
        else:
            expiry = monthly_expiry(parts.year, parts.month, self.hours)
        inst = self._contract(
            symbol, expiry, parts.strike_paise, parts.option_type,
            self.market.price_paise(UNDERLYING),
        )  # fmt: skip
        self.instruments.register(inst)
        return inst

    def _list_oi(self, added: list[Instrument], spot: int) -> None:
        """Open interest at listing: a bell over strikes (width ~6 strikes, our choice) peaking
        at the money, ×1.4 on the out-of-the-money side, ±30% noise; futures a flat 20,000
        lots (NIFTY's near future carries about that much; our round figure)."""
        if not added:
            return
        weight = np.ones(len(added))
        for j, inst in enumerate(added):
            if inst.strike_paise is None:
                continue
            steps = (inst.strike_paise - spot) / STRIKE_STEP_PAISE
            otm = steps > 0 if inst.option_type == "CE" else steps < 0
            weight[j] = float(np.exp(-0.5 * (steps / 6.0) ** 2)) * (1.4 if otm else 1.0)
        lots = np.array([i.lot_size for i in added], np.int64)
        base = np.where([i.strike_paise is None for i in added], 20_000, 60_000)
        noise = self._oi_rng.uniform(0.7, 1.3, len(added))
        oi = np.rint(base * weight * noise).astype(np.int64) * lots
        self._oi = np.concatenate([self._oi, oi])
        self._oi_open = np.concatenate([self._oi_open, oi])
        self._oi_weight = np.concatenate([self._oi_weight, weight])
        self._oi_rate = self._oi_weight * 2.0  # opening lots a quote (see _grow_oi)
        self._oi_close = self._oi_rate * 0.4

    def _contract(
        self,
        symbol: str,
        expiry: date,
        strike: int | None,
        kind: Literal["CE", "PE"] | None,
        spot: int,
    ) -> Instrument:
        lot = lot_size_for(expiry)
        freeze = freeze_qty_for("NSE", NAME, expiry) or FREEZE_FALLBACK
        return Instrument(
            symbol,
            InstrumentKind.OPTION if kind else InstrumentKind.FUTURE,
            lot_size=lot,
            tick_paise=OPTION_TICK if kind else future_tick(spot),
            freeze_qty=max(freeze, lot),
            expiry=expiry_datetime(expiry),
            strike_paise=strike,
            option_type=kind,
            underlying=UNDERLYING,
            segment="FO",
        )

    def _arrays(self) -> None:
        """Per-contract constants as arrays, so a quote is a few numpy operations."""
        cs = self._contracts
        self._symbols = [c.symbol for c in cs]
        self._expiry_ns = np.array(
            [int(c.expiry.timestamp()) * 1_000_000_000 if c.expiry else 0 for c in cs], np.int64
        )
        self._strike = np.array([c.strike_paise or 0 for c in cs], np.float64)
        self._is_opt = np.array([c.kind is InstrumentKind.OPTION for c in cs], np.bool_)
        self._opt_idx = np.flatnonzero(self._is_opt)
        self._opt_strike = self._strike[self._opt_idx]
        self._opt_call = np.array([cs[i].option_type == "CE" for i in self._opt_idx], np.bool_)
        self._tick = np.array([c.tick_paise for c in cs], np.int64)
        opt, fut = self.spread_ticks
        self._spread = np.where(self._is_opt, opt, fut).astype(np.int64)
        self._lot = np.array([c.lot_size for c in cs], np.int64)
        self._volume = np.zeros(len(cs), np.int64)
        self._half_spread = self._spread // 2
        self._first_expiry_ns = int(self._expiry_ns.min()) if cs else 0

    # ------------------------------------------------------------------ reading
    @property
    def symbols(self) -> list[str]:
        """The listed contracts, futures first, then options by expiry, strike, CE/PE."""
        return list(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._index

    def open_interest(self, symbol: str) -> tuple[int, int] | None:
        """``(open interest, change since the day's first quote)`` of ``symbol`` in units
        (contracts × lot), ``None`` for a symbol not listed here."""
        i = self._index.get(symbol)
        if i is None:
            return None
        oi = int(self._oi[i])
        return oi, oi - int(self._oi_open[i])

    def __len__(self) -> int:
        return len(self._contracts)

    def theoretical(self, ts_ns: int) -> tuple[Floats, Floats]:
        """(forward, price) per listed contract in paise at ``ts_ns``, from the index now:
        the future's price is its forward; an option's is Black-76 at the smile's volatility."""
        spot = float(self.market.price_paise(UNDERLYING))
        t = np.maximum(self._expiry_ns - ts_ns, 0) / _NS_PER_YEAR
        forward = spot * np.exp(self.rate * t)
        price = forward.copy()
        idx = self._opt_idx
        if idx.size:
            price[idx] = smile_prices(
                self.smile, forward[idx], self._opt_strike, t[idx], self.rate, self._opt_call
            )
        return forward, price

    # ------------------------------------------------------------------ quoting
    def _on_step(self, ts_ns: int) -> None:
        self._steps += 1
        if self._steps % self.every == 0:
            self.quote(ts_ns)

    def quote(self, ts_ns: int) -> None:
        """Push one quote per contract not yet expired at ``ts_ns``."""
        if not self._contracts:
            return
        if ts_ns >= self._day_end:  # the day's volume restarts each IST day, as Fyers sends it
            ist_ns = 19_800 * 1_000_000_000
            self._day_end = ts_ns - (ts_ns + ist_ns) % 86_400_000_000_000 + 86_400_000_000_000
            self._volume[:] = 0
            self._oi_open[:] = self._oi
        self._grow_oi(ts_ns)
        _, price = self.theoretical(ts_ns)
        tick, spread = self._tick, self._spread
        mid = np.rint(price / tick).astype(np.int64)
        bid_t = np.maximum(mid - self._half_spread, 1)
        bid = bid_t * tick
        ask = bid + spread * tick
        rng = self._rng
        n = len(self._contracts)
        last = np.where(rng.integers(0, 2, n) == 1, ask, bid)
        self._volume += self._lot * rng.integers(0, 4, n)
        push = self.market.stream.push
        columns = [bid, ask, last, self._volume]
        symbols = self._symbols
        if ts_ns >= self._first_expiry_ns:  # some contract expired: quote the others only
            alive = np.flatnonzero(self._expiry_ns > ts_ns)
            columns = [c[alive] for c in columns]
            symbols = [symbols[i] for i in alive.tolist()]
        b, a, lt, v = (c.tolist() for c in columns)
        for i, sym in enumerate(symbols):
            push(sym, b[i], a[i], lt[i], v[i], ts_ns)

    def _grow_oi(self, ts_ns: int) -> None:
        """New positions open faster than old ones close (Poisson lots each way, the opening
        rate 2 lots a quote at the money, the closing rate 40% of it): OI drifts up through
        the day, most near the money; it never goes below zero and stops at expiry."""
        rng = self._oi_rng
        step = (rng.poisson(self._oi_rate) - rng.poisson(self._oi_close)) * self._lot
        step[self._expiry_ns <= ts_ns] = 0
        np.maximum(self._oi + step, 0, out=self._oi)

    def __repr__(self) -> str:
        return f"SimDerivatives({len(self)} contracts on {UNDERLYING})"
