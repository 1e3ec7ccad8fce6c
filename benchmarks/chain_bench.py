"""Option-chain benchmark (``make bench``): IV and Greeks of a full chain per refresh, beside
``vollib`` called per contract on the same inputs in the same run.

The chain: simulated NIFTY options, 2 × 100 strikes of one expiry (``SimDerivatives`` with 50
strikes each side of the money), quoted from the simulated index. Rows:

* ``pricing (numpy)``: :func:`livetrade.pricing.implied_vol` + :func:`greeks` over the 200
  contracts' mids in one call each side — the numeric part of a refresh;
* ``option_chain()``: the whole refresh the dashboard's chain panel does (quotes read, the
  forward from parity, IV, Greeks, open interest, the DataFrame);
* ``vollib per contract``: Let's Be Rational's ``implied_volatility`` then ``delta``,
  ``gamma``, ``theta``, ``vega`` for each of the 200 contracts on the same mids, forward,
  strikes, time and rate (the reference).

Targets (issue 16): ≥10× faster than vollib, and ≤5 % of a core at 4 refreshes a second
(≤12.5 ms of CPU per refresh).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np
from vollib.black.greeks import analytical as v_greeks
from vollib.black.implied_volatility import implied_volatility as v_iv

from livetrade.chain import DEFAULT_RATE, _mid, option_chain
from livetrade.feeds.sim_derivatives import UNDERLYING, SimDerivatives
from livetrade.feeds.simulated import SimulatedMarket
from livetrade.instruments import InstrumentRegistry
from livetrade.model import IST, ns_to_datetime
from livetrade.prices import LivePriceStream
from livetrade.pricing import forward_from_parity, greeks, implied_vol, years_to_expiry

T0 = datetime(2026, 12, 7, 9, 20, tzinfo=IST)
REFRESH_HZ = 4


def build(strikes_each_side: int = 50) -> tuple[Callable[..., object], dict[str, object]]:
    """A quoted simulated chain; returns ``option_chain``'s arguments and its raw inputs."""
    stream = LivePriceStream()
    market = SimulatedMarket(stream, seed=16)
    registry = InstrumentRegistry()
    now_ns = int(T0.timestamp()) * 1_000_000_000
    sim = SimDerivatives(market, registry, now_ns, strikes=strikes_each_side, weeklies=1, futures=0)
    sim.quote(now_ns)
    stream.push(UNDERLYING, 2_399_995, 2_400_005, 2_400_000, 0, now_ns)
    now = ns_to_datetime(now_ns)
    frame = option_chain(registry, stream.quote, UNDERLYING, now, strikes=100)
    expiry = frame.attrs["expiry"]
    k = frame.index.to_numpy()
    cmid = np.array([_mid(stream.quote(s)) for s in frame["call_symbol"]])
    pmid = np.array([_mid(stream.quote(s)) for s in frame["put_symbol"]])
    t = years_to_expiry(now, expiry)
    inputs = {"k": k, "call": cmid, "put": pmid, "t": t, "r": DEFAULT_RATE}

    def refresh() -> object:
        return option_chain(
            registry, stream.quote, UNDERLYING, now, expiry=expiry, strikes=100,
            oi=sim.open_interest,
        )  # fmt: skip

    return refresh, inputs


def ours(inp: dict[str, object]) -> object:
    k, c, p = inp["k"], inp["call"], inp["put"]
    t, r = float(inp["t"]), float(inp["r"])  # type: ignore[arg-type]
    f = forward_from_parity(k, c, p, t, r)  # type: ignore[arg-type]
    n = len(k)  # type: ignore[arg-type]
    flags = ["c"] * n + ["p"] * n  # both sides in one pass, as option_chain() does
    mids, strikes = np.concatenate([c, p]), np.concatenate([k, k])  # type: ignore[list-item]
    iv = implied_vol(mids, f, strikes, t, r, flags)
    return greeks(flags, f, strikes, t, r, iv)


def reference(inp: dict[str, object]) -> object:
    k, c, p = inp["k"], inp["call"], inp["put"]
    t, r = float(inp["t"]), float(inp["r"])  # type: ignore[arg-type]
    f = forward_from_parity(k, c, p, t, r)  # type: ignore[arg-type]
    out = []
    for flag, mids in (("c", c), ("p", p)):
        for price, strike in zip(mids.tolist(), k.tolist(), strict=True):  # type: ignore[attr-defined]
            try:
                sigma = v_iv(price, f, strike, r, t, flag)
            except Exception:  # vollib raises below intrinsic; we answer NaN there
                out.append(None)
                continue
            out.append(
                (
                    sigma,
                    v_greeks.delta(flag, f, strike, t, r, sigma),
                    v_greeks.gamma(flag, f, strike, t, r, sigma),
                    v_greeks.theta(flag, f, strike, t, r, sigma),
                    v_greeks.vega(flag, f, strike, t, r, sigma),
                )
            )
    return out


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of ``fn`` over ``repeats`` calls after a warm-up."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def agreement(inp: dict[str, object]) -> float:
    """Largest |our IV − vollib's| over the contracts both solve (the same inputs)."""
    k, c = inp["k"], inp["call"]
    t, r = float(inp["t"]), float(inp["r"])  # type: ignore[arg-type]
    f = forward_from_parity(k, c, inp["put"], t, r)  # type: ignore[arg-type]
    iv = implied_vol(c, f, k, t, r, "c")  # type: ignore[arg-type]
    worst = 0.0
    for i, (price, strike) in enumerate(zip(c.tolist(), k.tolist(), strict=True)):  # type: ignore[attr-defined]
        try:
            ref = v_iv(price, f, strike, r, t, "c")
        except Exception:
            continue
        if math.isfinite(iv[i]) and ref > 1e-6:
            worst = max(worst, abs(iv[i] - ref))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    refresh, inp = build()
    n = 2 * len(inp["k"])  # type: ignore[arg-type]
    rows = [
        ("pricing (numpy)", timed(lambda: ours(inp), args.repeats)),
        ("option_chain()", timed(refresh, args.repeats)),
        ("vollib per contract", timed(lambda: reference(inp), max(5, args.repeats // 5))),
    ]
    ref_ms = rows[-1][1][1]
    print(f"Option chain: {n} contracts (2 x {n // 2} strikes), IV + Greeks per refresh")
    print(f"{'':22} {'wall ms':>9} {'CPU ms':>9} {'vs vollib':>10} {'core at 4/s':>12}")
    for name, (wall, cpu) in rows:
        ratio = ref_ms / cpu if cpu > 0 else math.inf
        share = cpu / 1e3 * REFRESH_HZ * 100
        print(f"{name:22} {wall:9.2f} {cpu:9.2f} {ratio:9.1f}x {share:11.2f}%")
    print(f"largest |IV - vollib IV| on these inputs: {agreement(inp):.1e}")
    core, full = rows[0][1][1], rows[1][1][1]
    print(
        f"targets: >=10x faster than vollib -- pricing {ref_ms / core:.0f}x, whole refresh "
        f"{ref_ms / full:.0f}x; <=5% of a core at {REFRESH_HZ}/s -- whole refresh "
        f"{full / 1e3 * REFRESH_HZ * 100:.2f}%"
    )


if __name__ == "__main__":
    main()
