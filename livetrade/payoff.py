"""Payoff of the open positions on one underlying: at expiry and today, over a price range.

Why: a spread's or a straddle's risk is a shape (where it loses, its breakevens), which a
Greeks row does not show. Each leg is valued on a grid of underlying prices ``S``:

* at expiry (the earliest expiry among the legs): an option that expires then at intrinsic
  value, a future expiring then at ``S``, a leg expiring later at Black-76 with its remaining
  time and today's volatility, a share at ``S``;
* today: every option at Black-76 with the time left now and its implied volatility from the
  chain (fno.md §5's convention, :mod:`livetrade.chain`), futures at ``S``'s forward.

The forward of a grid price is ``S`` times the chain's forward over the spot (the carry the
chain reads from put-call parity), else ``S·e^{rT}``. P&L is against each leg's average open
price, in rupees, so at today's spot the "today" curve is close to the unrealized P&L (model
price against the quotes' mid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from livetrade.chain import DEFAULT_RATE, chain_source
from livetrade.errors import InvalidInput
from livetrade.instruments import InstrumentKind, InstrumentRegistry
from livetrade.pricing import black76, years_to_expiry

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.chain import OIFn, QuoteFn

__all__ = ["Leg", "legs_for", "payoff", "payoff_curves", "payoff_figure"]


@dataclass(frozen=True, slots=True)
class Leg:
    """One open position valued on the grid: ``kind`` "CE", "PE", "FUT" or "EQ"; ``qty``
    signed units; ``entry`` the average open price (₹); ``iv`` (a fraction; NaN unknown) and
    ``carry`` (the yearly rate at which its chain's forward grows from the spot) from its
    chain."""

    symbol: str
    kind: str
    qty: int
    entry: float
    strike: float = math.nan
    expiry: datetime | None = None
    iv: float = math.nan
    carry: float = math.nan


def legs_for(
    underlying: str,
    positions: Iterable[tuple[str, int, float]],
    instruments: InstrumentRegistry,
    chains: Callable[[str, datetime], pd.DataFrame],
    quote: QuoteFn | None = None,
    now: datetime | None = None,
) -> list[Leg]:
    """The legs on ``underlying`` among ``positions`` (``(symbol, signed units, average
    price)``): its options, futures and the underlying itself. With ``quote`` and ``now`` a
    future carries at the rate its own last price implies over the underlying's."""
    legs = []
    for symbol, qty, entry in positions:
        if not qty:
            continue
        inst = instruments.get(symbol)
        if symbol != underlying and inst.underlying != underlying:
            continue
        if inst.kind is InstrumentKind.OPTION and inst.expiry is not None:
            frame = chains(underlying, inst.expiry)
            side = "call" if inst.option_type == "CE" else "put"
            row = frame[frame[f"{side}_symbol"] == symbol]
            iv = float(row[f"{side}_iv"].iloc[0]) if not row.empty else math.nan
            spot, fwd, t = (float(frame.attrs[k]) for k in ("spot", "forward", "t"))
            ok = spot > 0 and fwd > 0 and t > 0 and math.isfinite(fwd)
            carry = math.log(fwd / spot) / t if ok else math.nan
            legs.append(
                Leg(symbol, inst.option_type or "CE", qty, entry,
                    (inst.strike_paise or 0) / 100.0, inst.expiry, iv, carry)
            )  # fmt: skip
        elif inst.kind is InstrumentKind.FUTURE:
            carry = math.nan
            if quote is not None and now is not None and inst.expiry is not None:
                fq, sq = quote(symbol), quote(underlying)
                t = years_to_expiry(now, inst.expiry)
                if fq is not None and sq is not None and t > 0 and fq.last_price > 0:
                    carry = math.log(float(fq.last_price) / float(sq.last_price)) / t
            legs.append(Leg(symbol, "FUT", qty, entry, expiry=inst.expiry, carry=carry))
        else:
            legs.append(Leg(symbol, "EQ", qty, entry))
    return legs


def _value(leg: Leg, s: np.ndarray[Any, Any], at: datetime, r: float) -> np.ndarray[Any, Any]:
    """Per-unit value of ``leg`` at grid prices ``s`` at the moment ``at``."""
    if leg.kind == "EQ":
        return s
    t = years_to_expiry(at, leg.expiry) if leg.expiry is not None else 0.0
    if leg.kind == "FUT":
        return s * math.exp((leg.carry if math.isfinite(leg.carry) else r) * t)
    k = leg.strike
    intrinsic = np.maximum(s - k, 0.0) if leg.kind == "CE" else np.maximum(k - s, 0.0)
    if t <= 0 or not math.isfinite(leg.iv):  # expired, or no volatility to price it with
        return intrinsic
    carry = leg.carry if math.isfinite(leg.carry) else r
    flag = "c" if leg.kind == "CE" else "p"
    value: np.ndarray[Any, Any] = np.asarray(
        black76(flag, s * math.exp(carry * t), k, t, r, leg.iv)
    )
    return value


def payoff_curves(
    legs: list[Leg],
    spot: float,
    now: datetime,
    *,
    r: float = DEFAULT_RATE,
    points: int = 201,
    width: float = 0.06,
) -> pd.DataFrame:
    """P&L in ₹ of ``legs`` on a grid of ``points`` underlying prices: columns ``expiry`` and
    ``today``, index ``underlying`` from ``spot·(1 − width)`` to ``spot·(1 + width)``, widened
    to show every strike with 2% to spare. ``attrs``: spot, the expiry moment, breakevens (grid
    prices where the expiry curve crosses zero)."""
    import pandas as pd

    if not legs:
        raise InvalidInput("underlying", "no open position on it")
    if not (math.isfinite(spot) and spot > 0):
        raise InvalidInput("spot", "no price for the underlying yet")
    if isinstance(points, bool) or not isinstance(points, int) or points < 3:
        raise InvalidInput("points", "must be a whole number, at least 3")
    strikes = [leg.strike for leg in legs if math.isfinite(leg.strike)]
    lo = min([spot * (1 - width), *(k * 0.98 for k in strikes)])
    hi = max([spot * (1 + width), *(k * 1.02 for k in strikes)])
    s = np.linspace(lo, hi, points)
    expiries = [leg.expiry for leg in legs if leg.expiry is not None and leg.expiry > now]
    first = min(expiries) if expiries else now
    at_expiry = np.zeros(points)
    today = np.zeros(points)
    for leg in legs:
        at_expiry += leg.qty * (_value(leg, s, first, r) - leg.entry)
        today += leg.qty * (_value(leg, s, now, r) - leg.entry)
    sign = np.sign(at_expiry)
    cross = np.flatnonzero(sign[:-1] * sign[1:] < 0)
    breakevens = [
        float(s[i] - at_expiry[i] * (s[i + 1] - s[i]) / (at_expiry[i + 1] - at_expiry[i]))
        for i in cross
    ]
    frame = pd.DataFrame(
        {"expiry": at_expiry, "today": today}, index=pd.Index(s, name="underlying")
    )
    frame.attrs.update(spot=spot, expiry=first, breakevens=breakevens)
    return frame


def payoff_figure(curves: pd.DataFrame, title: str = "") -> Any:
    """A Plotly figure of :func:`payoff_curves`: the expiry curve, today's, zero, the spot and
    the breakevens."""
    from livetrade.ui.common import plotly_go

    go = plotly_go()
    spot = float(curves.attrs.get("spot", math.nan))
    expiry = curves.attrs.get("expiry")
    x = curves.index.to_numpy()
    label = f"At expiry {expiry:%d %b %H:%M}" if isinstance(expiry, datetime) else "At expiry"
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=curves["expiry"], name=label, line={"color": "#0969da"}))
    fig.add_trace(
        go.Scatter(x=x, y=curves["today"], name="Today", line={"color": "#bf8700", "dash": "dash"})
    )
    fig.add_hline(y=0, line={"color": "#8c959f", "width": 1})
    if math.isfinite(spot):
        fig.add_vline(x=spot, line={"color": "#57606a", "width": 1, "dash": "dot"},
                      annotation_text=f"spot {spot:,.0f}", annotation_position="top")  # fmt: skip
    for be in curves.attrs.get("breakevens", []):
        fig.add_vline(x=be, line={"color": "#cf222e", "width": 1, "dash": "dot"},
                      annotation_text=f"BE {be:,.0f}", annotation_position="bottom")  # fmt: skip
    fig.update_layout(
        title=title or None, height=300, margin={"l": 50, "r": 10, "t": 30 if title else 10,
                                                  "b": 30},
        xaxis_title="underlying", yaxis_title="P&L ₹", hovermode="x unified",
        legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
        template="plotly_white",
    )  # fmt: skip
    return fig


def payoff(
    underlying: str,
    positions: Iterable[tuple[str, int, float]],
    instruments: InstrumentRegistry,
    quote: QuoteFn,
    now: datetime,
    *,
    r: float = DEFAULT_RATE,
    oi: OIFn | None = None,
    points: int = 201,
    width: float = 0.06,
) -> Any:
    """The payoff figure of the open ``positions`` (``(symbol, signed units, average price)``)
    on ``underlying``: at the first expiry and today (``session.payoff(underlying)``)."""
    chains = chain_source(instruments, quote, now, r=r, oi=oi)
    legs = legs_for(underlying, positions, instruments, chains, quote, now)
    q = quote(underlying)
    spot = float(q.last_price) if q is not None else math.nan
    curves = payoff_curves(legs, spot, now, r=r, points=points, width=width)
    return payoff_figure(curves, f"{underlying} payoff ({len(legs)} legs)")
