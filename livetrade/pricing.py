"""Black-76 prices, Greeks and implied volatility, vectorised over a whole option chain.

Convention (``fno.md`` §5): options are priced with Black-76 on the forward ``F`` of the same
expiry (NIFTY has no weekly futures, so :func:`forward_from_parity` takes it from put-call
parity), ``t`` is years to expiry (:func:`years_to_expiry`: minutes to 15:30 IST on the expiry
day / 525,600, as NSE's India VIX counts them), ``r`` the continuously compounded rate, ``sigma``
a fraction (0.15 = 15 %). Theta is per calendar day and vega per volatility point (1 %), as
Fyers quotes them.

Every function takes scalars or numpy arrays (broadcast together) and answers in the same shape:
a float for scalars, an array otherwise. :func:`implied_vol` always answers: NaN with a reason
(``reasons=True``) below intrinsic value, above the no-arbitrage bound, past expiry or for a
missing price; it never raises and never loops more than :data:`MAX_ITERATIONS` times, and those
iterations run over the whole chain at once (no Python loop per strike).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Final, Literal, overload

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr  # the standard normal CDF, vectorised and accurate in the tails

from livetrade.errors import InvalidInput
from livetrade.model import IST

__all__ = [
    "MAX_ITERATIONS",
    "Greeks",
    "black76",
    "forward_from_parity",
    "greeks",
    "implied_vol",
    "years_to_expiry",
]

Flag = Literal["c", "p"]
ArrayLike = float | int | npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

MAX_ITERATIONS: Final = 64
"""Safeguarded Newton steps at most; each halves the bracket at worst, so 64 reach the
resolution of a float from the widest bracket."""
SIGMA_LOW: Final = 1e-6
SIGMA_HIGH: Final = 10.0  # 1,000 % a year: beyond anything an index option trades at
MINUTES_PER_YEAR: Final = 525_600
EXPIRY_TIME: Final = time(15, 30)  # index and stock options expire at the close

_SQRT_2PI: Final = math.sqrt(2.0 * math.pi)


def _pdf(x: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-0.5 * x * x) / _SQRT_2PI
    return out


def _flags(flag: Any, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """True for calls. Accepts "c"/"p" (any case, also "call"/"put", "CE"/"PE")."""
    if isinstance(flag, str):
        word = flag.strip().lower()
        if word in ("c", "call", "ce", "p", "put", "pe"):
            return np.full(shape, word in ("c", "call", "ce"), dtype=bool)
    arr = np.asarray(flag)
    if arr.dtype.kind not in "UO":
        raise InvalidInput("flag", f"must be 'c' or 'p', got {flag!r}")
    # a chain's flags are a few distinct words: classify each once
    words, back = np.unique(arr.astype(str), return_inverse=True)
    first = np.char.lower(np.char.strip(words))
    calls = np.isin(first, ["c", "call", "ce"])
    puts = np.isin(first, ["p", "put", "pe"])
    if not np.all(calls | puts):
        bad = sorted(set(first[~(calls | puts)].ravel().tolist()))
        raise InvalidInput("flag", f"must be 'c' or 'p' (or call/put, CE/PE), got {bad}")
    return np.broadcast_to(calls[back].reshape(arr.shape), shape)


def _out(value: FloatArray, scalar: bool) -> Any:
    return float(value.reshape(-1)[0]) if scalar else value


def _inputs(*values: ArrayLike) -> tuple[bool, list[FloatArray]]:
    scalar = all(np.ndim(v) == 0 for v in values)
    arrays = np.broadcast_arrays(*[np.asarray(v, dtype=np.float64) for v in values])
    return scalar, [np.array(a, dtype=np.float64) for a in arrays]


def _d1_d2(
    f: FloatArray, k: FloatArray, t: FloatArray, sigma: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        vol = sigma * np.sqrt(t)
        d1 = (np.log(f / k) + 0.5 * vol * vol) / vol
    return d1, d1 - vol, vol


def _price(
    calls: npt.NDArray[np.bool_] | bool,
    f: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    sigma: FloatArray,
) -> FloatArray:
    """Calls where ``calls``; a plain ``bool`` (one flag for the whole chain) prices that side
    only: half the normal CDFs, and no ``where`` over both (the same values either way)."""
    d1, d2, _ = _d1_d2(f, k, t, sigma)
    df = np.exp(-r * t)
    if calls is True:
        call: FloatArray = df * (f * ndtr(d1) - k * ndtr(d2))
        return call
    if calls is False:
        put: FloatArray = df * (k * ndtr(-d2) - f * ndtr(-d1))
        return put
    call = df * (f * ndtr(d1) - k * ndtr(d2))
    put = df * (k * ndtr(-d2) - f * ndtr(-d1))
    out: FloatArray = np.where(calls, call, put)
    return out


def _one_flag(flag: Any) -> bool | None:
    """True/False for a plain-string call/put flag, None for anything else."""
    if isinstance(flag, str):
        word = flag.strip().lower()
        if word in ("c", "call", "ce"):
            return True
        if word in ("p", "put", "pe"):
            return False
    return None


@overload
def black76(
    flag: str, forward: float, strike: float, t: float, r: float, sigma: float
) -> float: ...
@overload
def black76(
    flag: Any, forward: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike
) -> Any: ...
def black76(
    flag: Any, forward: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike
) -> Any:
    """Black-76 price of a European option on the forward (discounted at ``r`` for ``t``)."""
    scalar, (f, k, tt, rr, s) = _inputs(forward, strike, t, r, sigma)
    one = _one_flag(flag)
    calls = _flags(flag, f.shape) if one is None else one
    return _out(_price(calls, f, k, tt, rr, s), scalar and np.ndim(flag) == 0)


@dataclass(frozen=True, slots=True)
class Greeks:
    """Sensitivities of one option (or arrays over a chain): ``delta`` per unit of forward,
    ``gamma`` per unit squared, ``theta`` per calendar day, ``vega`` per volatility point."""

    price: Any
    delta: Any
    gamma: Any
    theta: Any
    vega: Any


def greeks(
    flag: Any, forward: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, sigma: ArrayLike
) -> Greeks:
    """Black-76 price and Greeks; NaN where ``t <= 0`` or ``sigma <= 0`` (no model there)."""
    scalar, (f, k, tt, rr, s) = _inputs(forward, strike, t, r, sigma)
    scalar = scalar and np.ndim(flag) == 0
    calls = _flags(flag, f.shape)
    d1, d2, vol = _d1_d2(f, k, tt, s)
    df = np.exp(-rr * tt)
    with np.errstate(divide="ignore", invalid="ignore"):
        nd1 = ndtr(d1)
        call = df * (f * nd1 - k * ndtr(d2))
        price = np.where(calls, call, call - df * (f - k))  # the put by parity
        delta = df * np.where(calls, nd1, nd1 - 1.0)
        pdf = _pdf(d1)
        sqt = np.sqrt(tt)
        gamma = df * pdf / (f * vol)
        # dV/dT = -r V + df F pdf(d1) sigma / (2 sqrt T); theta = -dV/dT, per day
        theta = (rr * price - df * f * pdf * s / (2.0 * sqt)) / 365.0
        vega = df * f * pdf * sqt / 100.0
    bad = ~((tt > 0) & (s > 0) & (f > 0) & (k > 0))
    values = [np.where(bad, np.nan, v) for v in (price, delta, gamma, theta, vega)]
    return Greeks(*(_out(v, scalar) for v in values))


@overload
def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    flag: Any,
    *,
    reasons: Literal[False] = False,
) -> Any: ...
@overload
def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    flag: Any,
    *,
    reasons: Literal[True],
) -> tuple[Any, Any]: ...
def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    flag: Any,
    *,
    reasons: bool = False,
) -> Any:
    """The ``sigma`` at which Black-76 gives ``price``; NaN where there is none.

    ``reasons=True`` also returns why each NaN is one ("past expiry", "below intrinsic
    value", "at intrinsic value: no time value", "above the no-arbitrage bound", "no price",
    "forward and strike must be positive"; "" where solved). The solver is Newton's method
    kept inside a bracket that shrinks every step (a step that leaves it is a bisection), run
    over every element at once for at most :data:`MAX_ITERATIONS` rounds.
    """
    scalar, (p, f, k, tt, rr) = _inputs(price, forward, strike, t, r)
    scalar = scalar and np.ndim(flag) == 0
    calls = _flags(flag, p.shape)
    with np.errstate(all="ignore"):  # junk input is classified below, never warned about
        rt = rr * tt
        df = np.exp(-np.where(np.isfinite(rt), rt, 0.0))
        intrinsic = df * np.where(calls, np.maximum(f - k, 0.0), np.maximum(k - f, 0.0))
        upper = df * np.where(calls, f, k)
        tol = 1e-12 * np.maximum(1.0, np.abs(f))
        finite = np.isfinite(p) & np.isfinite(f) & np.isfinite(k)
        finite &= np.isfinite(tt) & np.isfinite(rr)
        # the first failing test names the reason: codes index _REASONS (0: solvable);
        # applied last to first so the earliest test wins
        code = np.zeros(p.shape, dtype=np.int8)
        code[p >= upper - tol] = 6
        code[p <= intrinsic + tol] = 5
        code[p < intrinsic - tol] = 4
        code[tt <= 0] = 3
        code[~((f > 0) & (k > 0))] = 2
        code[~finite | (p < 0)] = 1
    ok = code == 0
    iv = np.full(p.shape, np.nan)
    if ok.any():
        with np.errstate(all="ignore"):  # lanes that end NaN are reported, not warned about
            iv[ok] = _solve(calls[ok], p[ok], f[ok], k[ok], tt[ok], rr[ok])
        code[ok & ~np.isfinite(iv)] = 7
    result = _out(iv, scalar)
    if reasons:
        why = _REASONS[code]
        return result, (str(why.reshape(-1)[0]) if scalar else why)
    return result


_REASONS = np.array(
    [
        "",
        "no price",
        "forward and strike must be positive",
        "past expiry",
        "below intrinsic value",
        "at intrinsic value: no time value",
        "above the no-arbitrage bound",
        "no volatility up to 1,000 % gives this price",
    ]
)


def _solve(
    calls: npt.NDArray[np.bool_],
    p: FloatArray,
    f: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
) -> FloatArray:
    """Halley's method (Newton with the second derivative: cubic convergence, 4-6 rounds on a
    chain instead of 15-17) on the out-of-the-money side of each strike, undiscounted: an
    in-the-money option is solved as its parity twin (the same volatility), whose price has
    no intrinsic part to swamp the time value. A step that leaves the bracket bisects it."""
    df = np.exp(-r * t)
    u = p / df
    otm_call = k >= f
    q = np.where(calls == otm_call, u, np.where(calls, u - (f - k), u + (f - k)))
    w = np.where(otm_call, 1.0, -1.0)  # +1 a call, -1 a put
    sqt = np.sqrt(t)
    ln = np.log(f / k)
    lo = np.full(p.shape, SIGMA_LOW)
    hi = np.full(p.shape, SIGMA_HIGH)
    # Brenner-Subrahmanyam's at-the-money guess on the at-the-money equivalent price
    sigma = np.clip(math.sqrt(2.0 * math.pi) * (q + 0.5 * np.abs(f - k)) / (f * sqt), 0.05, 3.0)
    done = np.zeros(p.shape, dtype=bool)
    for _ in range(MAX_ITERATIONS):
        v = sigma * sqt
        d1 = ln / v + 0.5 * v
        d2 = d1 - v
        diff = w * (f * ndtr(w * d1) - k * ndtr(w * d2)) - q
        vega = f * _pdf(d1) * sqt
        done |= (diff == 0) | (hi - lo <= 1e-13)
        if done.all():
            break
        hi = np.where(diff > 0, np.minimum(hi, sigma), hi)  # price rises with sigma
        lo = np.where(diff < 0, np.maximum(lo, sigma), lo)
        newton = diff / vega
        # Halley: divide by 1 - (f''/2f')·(Newton step), f'' = vega·d1·d2/sigma (volga)
        halley = sigma - newton / (1.0 - 0.5 * newton * d1 * d2 / sigma)
        inside = np.isfinite(halley) & (halley > lo) & (halley < hi)
        step = np.where(inside, halley, 0.5 * (lo + hi))
        # converged: the step moves sigma by less than 1e-9 of it; with cubic convergence
        # the step taken leaves an error far below that (~1e-27)
        last = np.abs(step - sigma) <= 1e-9 * np.maximum(sigma, 1.0)
        sigma = np.where(done, sigma, step)
        done |= last
    return np.where(done, sigma, np.nan)


def forward_from_parity(
    strikes: npt.ArrayLike, calls: npt.ArrayLike, puts: npt.ArrayLike, t: float, r: float
) -> float:
    """The forward implied by put-call parity, ``F = K + e^{rT}(C − P)``, at the strike where
    ``|C − P|`` is smallest (the most reliable pair); NaN if no strike has both prices."""
    k = np.asarray(strikes, dtype=np.float64)
    c = np.asarray(calls, dtype=np.float64)
    p = np.asarray(puts, dtype=np.float64)
    if not k.shape == c.shape == p.shape:
        raise InvalidInput("strikes", "strikes, calls and puts must have the same length")
    gap = np.abs(c - p)
    usable = np.isfinite(gap) & np.isfinite(k)
    if not usable.any():
        return math.nan
    i = int(np.nanargmin(np.where(usable, gap, np.inf)))
    return float(k[i] + math.exp(r * t) * (c[i] - p[i]))


def years_to_expiry(now: datetime, expiry: datetime) -> float:
    """Minutes from ``now`` to ``expiry`` / 525,600 (0 once expired). A date-only expiry (a
    datetime at midnight) means 15:30 IST that day; naive datetimes are read as IST."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=IST)
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=IST)
    if expiry.astimezone(IST).time() == time(0, 0):
        expiry = datetime.combine(expiry.astimezone(IST).date(), EXPIRY_TIME, tzinfo=IST)
    minutes = (expiry - now).total_seconds() / 60.0
    return max(minutes, 0.0) / MINUTES_PER_YEAR
