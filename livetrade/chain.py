"""The option chain a trader reads: one row per strike, calls left and puts right, with implied
volatility and Greeks from the quotes, and the Greeks of open positions per underlying.

fno.md §5's convention throughout: Black-76 on the forward of the expiry, the forward from
put-call parity at the strike where the call and put mids are closest (``F = K + e^{rT}(C − P)``;
the spot carried at ``r`` when no strike has both quotes), time to 15:30 IST on the expiry day
in minutes / 525,600, theta per day and vega per volatility point. Everything is computed for
the whole chain at once (:mod:`livetrade.pricing`), never strike by strike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import PriceQuote
from livetrade.pricing import forward_from_parity, greeks, implied_vol, years_to_expiry

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_RATE",
    "PositionGreeks",
    "add_position_greeks",
    "chain_source",
    "option_chain",
    "position_greeks",
    "unit_greeks",
]

DEFAULT_RATE = 0.065
"""A yearly rate near Indian overnight money (fno.md §5 names MIBOR for the tenure; pass ``r=``
for the day's figure)."""

QuoteFn = Callable[[str], PriceQuote | None]
OIFn = Callable[[str], tuple[int, int] | None]
"""``(open interest, change on the day)`` of a contract in units, ``None`` if unknown
(:meth:`livetrade.feeds.sim_derivatives.SimDerivatives.open_interest`)."""
SIDES: tuple[Literal["call", "put"], ...] = ("call", "put")
SIDE_TAGS = (("call", "CE"), ("put", "PE"))


def _mid(q: PriceQuote | None) -> float:
    """Mid of a two-sided quote, else the last trade, else NaN."""
    if q is None:
        return math.nan
    bid, ask = float(q.bid_price), float(q.ask_price)
    if bid > 0 and ask > 0 and ask >= bid:
        return (bid + ask) / 2.0
    last = float(q.last_price)
    return last if last > 0 else math.nan


def _expiries(options: list[Instrument]) -> list[datetime]:
    return sorted({o.expiry for o in options if o.expiry is not None})


def _pick_expiry(
    options: list[Instrument], expiry: date | datetime | str | None, now: datetime
) -> datetime:
    alive = [e for e in _expiries(options) if e > now]
    if not alive:
        raise InvalidInput("expiry", "every listed expiry of this underlying has passed")
    if expiry is None or expiry == "nearest":
        return alive[0]
    if expiry == "next":
        if len(alive) < 2:
            raise InvalidInput("expiry", "only one expiry is listed: there is no next one")
        return alive[1]
    if isinstance(expiry, datetime):
        expiry = expiry.date()
    if isinstance(expiry, date):
        for e in alive:
            if e.date() == expiry:
                return e
        listed = ", ".join(e.date().isoformat() for e in alive)
        raise InvalidInput("expiry", f"{expiry.isoformat()} is not listed (listed: {listed})")
    raise InvalidInput("expiry", f"must be None, 'nearest', 'next' or a date, got {expiry!r}")


def option_chain(
    instruments: InstrumentRegistry,
    quote: QuoteFn,
    underlying: str,
    now: datetime,
    *,
    expiry: date | datetime | str | None = None,
    strikes: int = 20,
    r: float = DEFAULT_RATE,
    oi: OIFn | None = None,
) -> pd.DataFrame:
    """One row per strike around the money of ``underlying``'s options expiring ``expiry``
    (None/"nearest", "next" or a date): for calls and puts the symbol, LTP, bid, ask, volume,
    open interest and its change on the day (``call_oi``, ``call_oi_change``, in units; NaN
    where ``oi`` does not know the contract or no ``oi`` is given), mid, implied volatility
    (a fraction; NaN with ``call_iv_reason``/``put_iv_reason`` when there is none), delta,
    gamma, theta (per day) and vega (per vol point); ``atm`` marks the strike nearest the
    forward. ``df.attrs`` holds the underlying, its last price, the forward,
    the expiry, ``t`` (years) and ``r``.

    ``quote(symbol)`` is the latest quote (``session.stream.quote``); ``strikes``: how many
    strikes, centred on the money.
    """
    import pandas as pd

    if isinstance(strikes, bool) or not isinstance(strikes, int) or strikes < 1:
        raise InvalidInput("strikes", f"must be a whole number of strikes, got {strikes!r}")
    options = [
        i for i in instruments if i.kind is InstrumentKind.OPTION and i.underlying == underlying
    ]
    if not options:
        raise InvalidInput("underlying", f"no options on {underlying} are listed")
    when = _pick_expiry(options, expiry, now)
    by_strike: dict[int, dict[str, Instrument]] = {}
    for o in options:
        if o.expiry == when and o.strike_paise is not None and o.option_type is not None:
            by_strike.setdefault(o.strike_paise, {})[o.option_type] = o
    spot_q = quote(underlying)
    spot = float(spot_q.last_price) if spot_q is not None else math.nan
    t = years_to_expiry(now, when)
    paise = sorted(by_strike)
    all_k = np.array(paise, dtype=np.float64) / 100.0
    insts = {side: [by_strike[kp].get(tag) for kp in paise] for side, tag in SIDE_TAGS}
    quotes = {
        side: [quote(i.symbol) if i is not None else None for i in insts[side]]
        for side, _ in SIDE_TAGS
    }
    mids = {side: np.array([_mid(q) for q in quotes[side]], np.float64) for side, _ in SIDE_TAGS}
    forward = forward_from_parity(all_k, mids["call"], mids["put"], t, r)
    if not math.isfinite(forward):
        forward = spot * math.exp(r * t)
    centre = int(np.argmin(np.abs(all_k - forward))) if len(all_k) else 0
    lo = max(0, centre - strikes // 2)
    chosen = all_k[lo : lo + strikes]
    n = len(chosen)
    keep = slice(lo, lo + n)
    # both sides in one solve and one Greeks pass: half the numpy calls of side by side
    mid_both = np.concatenate([mids["call"][keep], mids["put"][keep]])
    k_both = np.concatenate([chosen, chosen])
    flags = ["c"] * n + ["p"] * n
    iv_both, why_both = implied_vol(mid_both, forward, k_both, t, r, flags, reasons=True)
    g = greeks(flags, forward, k_both, t, r, iv_both)
    data: dict[str, Any] = {"strike": chosen}
    for j, (side, _) in enumerate(SIDE_TAGS):
        part = slice(j * n, (j + 1) * n)
        side_insts = insts[side][keep]
        side_quotes = quotes[side][keep]
        data[f"{side}_symbol"] = [i.symbol if i is not None else None for i in side_insts]
        data[f"{side}_ltp"] = [float(q.last_price) if q else math.nan for q in side_quotes]
        data[f"{side}_bid"] = [float(q.bid_price) if q else math.nan for q in side_quotes]
        data[f"{side}_ask"] = [float(q.ask_price) if q else math.nan for q in side_quotes]
        data[f"{side}_volume"] = [q.volume if q else 0 for q in side_quotes]
        ois = [oi(i.symbol) if oi is not None and i is not None else None for i in side_insts]
        data[f"{side}_oi"] = np.array([o[0] if o else math.nan for o in ois], np.float64)
        data[f"{side}_oi_change"] = np.array([o[1] if o else math.nan for o in ois], np.float64)
        data[f"{side}_mid"] = mids[side][keep]
        data[f"{side}_iv"] = iv_both[part]
        data[f"{side}_iv_reason"] = why_both[part]
        for name in ("delta", "gamma", "theta", "vega"):
            data[f"{side}_{name}"] = getattr(g, name)[part]
    frame = pd.DataFrame(data).set_index("strike")
    frame.insert(0, "atm", np.isclose(frame.index.to_numpy(), all_k[centre]))
    frame.attrs.update(underlying=underlying, spot=spot, forward=forward, expiry=when, t=t, r=r)
    return frame


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """Net sensitivities of the open positions on one underlying, in units of it: ``delta``
    (per ₹1 of the underlying), ``gamma``, ``theta`` (₹ per day), ``vega`` (₹ per vol point)."""

    underlying: str
    delta: float
    gamma: float
    theta: float
    vega: float


def chain_source(
    instruments: InstrumentRegistry,
    quote: QuoteFn,
    now: datetime,
    *,
    r: float = DEFAULT_RATE,
    oi: OIFn | None = None,
) -> Callable[[str, datetime], pd.DataFrame]:
    """``chains(underlying, expiry)``: that expiry's whole chain, built once per call site
    (a position table, a payoff) however many legs ask for it."""
    cache: dict[tuple[str, datetime], pd.DataFrame] = {}

    def chains(underlying: str, expiry: datetime) -> pd.DataFrame:
        key = (underlying, expiry)
        if key not in cache:
            cache[key] = option_chain(
                instruments, quote, underlying, now, expiry=expiry, strikes=10_000, r=r, oi=oi
            )
        return cache[key]

    return chains


GREEKS = ("delta", "gamma", "theta", "vega")
NAN4 = (math.nan, math.nan, math.nan, math.nan)


def unit_greeks(
    symbol: str,
    instruments: InstrumentRegistry,
    chains: Callable[[str, datetime], pd.DataFrame],
) -> tuple[float, float, float, float]:
    """(delta, gamma, theta, vega) of one unit of ``symbol``: an option's from its chain row
    (NaN when its volatility is unknown or it is not in the chain), a future or a share
    delta 1 and nothing else (a share's delta is in itself: its own underlying)."""
    inst = instruments.get(symbol)
    if inst.kind is InstrumentKind.OPTION:
        if inst.expiry is None or inst.underlying is None:
            return NAN4
        try:
            frame = chains(inst.underlying, inst.expiry)
        except InvalidInput:  # expired or no longer listed
            return NAN4
        side = "call" if inst.option_type == "CE" else "put"
        row = frame[frame[f"{side}_symbol"] == symbol]
        if row.empty:
            return NAN4
        d, g, t, v = (float(row[f"{side}_{n}"].iloc[0]) for n in GREEKS)
        return d, g, t, v
    return 1.0, 0.0, 0.0, 0.0


POSITION_GREEK_COLUMNS = ["underlying", "expiry", "days_to_expiry", *GREEKS]


def add_position_greeks(
    frame: pd.DataFrame,
    instruments: InstrumentRegistry,
    chains: Callable[[str, datetime], pd.DataFrame],
    now: datetime,
) -> pd.DataFrame:
    """``positions_df()``'s frame with, per row: ``underlying`` (a share is its own),
    ``expiry`` (NaT for shares), ``days_to_expiry`` (calendar days to the expiry moment, a
    fraction; NaN for shares) and the position's net ``delta`` (units of the underlying),
    ``gamma``, ``theta`` (₹ a day) and ``vega`` (₹ a volatility point) — the unit Greeks
    (:func:`unit_greeks`) times the signed quantity. A share counts delta = its quantity and
    zero for the rest, as :func:`position_greeks` does, so the columns add up per underlying.
    ``lots``, when the frame has it, stays the last column (where earlier releases put it)."""
    import pandas as pd

    out = frame.copy()
    unders, expiries, days, values = [], [], [], []
    for symbol, qty in zip(out["symbol"], out["quantity"], strict=True):
        inst = instruments.get(symbol)
        unders.append(inst.underlying or symbol)
        expiries.append(inst.expiry)
        days.append(
            max((inst.expiry - now).total_seconds(), 0.0) / 86_400.0
            if inst.expiry is not None
            else math.nan
        )
        values.append([int(qty) * g + 0.0 for g in unit_greeks(symbol, instruments, chains)])
    out["underlying"] = pd.Series(unders, index=out.index, dtype="object")
    out["expiry"] = pd.to_datetime(  # IST whatever the rows (an empty frame included)
        pd.Series(expiries, index=out.index, dtype="object"), utc=True
    ).dt.tz_convert("Asia/Kolkata")
    out["days_to_expiry"] = pd.Series(days, index=out.index, dtype="float64")
    for k, name in enumerate(GREEKS):
        out[name] = pd.Series([v[k] for v in values], index=out.index, dtype="float64")
    if "lots" in out.columns:
        out = out[[c for c in out.columns if c != "lots"] + ["lots"]]
    return out


def position_greeks(
    positions: Iterable[tuple[str, int]],
    instruments: InstrumentRegistry,
    chains: Callable[[str, datetime], pd.DataFrame],
) -> list[PositionGreeks]:
    """Net Greeks per underlying of ``positions`` (``(symbol, signed units)``): options from
    their chain row (``chains(underlying, expiry)``), futures with delta 1 a unit, shares of
    an underlying with delta 1. Options whose volatility is unknown count nothing (and their
    underlying still appears)."""
    totals: dict[str, list[float]] = {}
    for symbol, qty in positions:
        if not qty:
            continue
        inst = instruments.get(symbol)
        acc = totals.setdefault(inst.underlying or symbol, [0.0, 0.0, 0.0, 0.0])
        values = unit_greeks(symbol, instruments, chains)
        if all(math.isfinite(v) for v in values):
            for k, v in enumerate(values):
                acc[k] += qty * v
    return [PositionGreeks(u, *v) for u, v in sorted(totals.items())]
