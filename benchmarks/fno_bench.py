"""The tick path with a full NIFTY option chain watched, against the equity-only tick path (#15).

One run, three rows, each the simulated market stepping on a virtual clock into a
``LivePriceStream`` that a paper engine trades (resting orders on every equity):

* **equity only**: the simulated market's six default symbols;
* **F&O chain, no F&O position**: the same plus ``SimDerivatives`` listing about 2,000 NIFTY
  contracts (249 strikes each side × CE/PE × weekly and monthly expiries, two futures), every
  one quoted after each index step (the simulated rate, ``every=1``);
* **F&O chain + positions**: the same with a future and an option held and orders resting on
  them, so the engine's expiry watch (a subscription on the index) is live.

Reported (CPU time, best of interleaved rounds): ticks per second (every quote pushed
counts), the ratio to the equity-only row, and
microseconds per tick. Ticks of the chain are cheaper per tick than equity ticks because the
chain is priced with numpy in one pass per step.

    .venv/bin/python benchmarks/fno_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import datetime
from decimal import Decimal

from livetrade import LivePriceStream, LiveTradingEngine, RiskLimits, Side
from livetrade.clock import VirtualClock
from livetrade.feeds.sim_derivatives import SimDerivatives, future_symbol, monthly_expiry
from livetrade.feeds.simulated import SimulatedMarket
from livetrade.instruments import InstrumentRegistry
from livetrade.model import IST
from livetrade.money import IndianEquityCharges

T0 = datetime(2026, 12, 7, 9, 15, tzinfo=IST)  # a Monday: weekly expiry 8 Dec, monthly 29 Dec
NS = 1_000_000_000
LIMITS = RiskLimits(
    max_order_quantity=None,
    max_order_notional=None,
    max_orders_per_minute=None,
    max_quote_age_s=1e9,
)


def build(chain: bool, positions: bool) -> tuple[SimulatedMarket, VirtualClock, int]:
    """A market, its clock and the number of symbols it quotes each step."""
    clock = VirtualClock(T0)
    stream = LivePriceStream(history=4096)
    reg = InstrumentRegistry()
    market = SimulatedMarket(stream, seed=11)
    deriv = None
    if chain:
        deriv = SimDerivatives(market, reg, clock.now_ns(), strikes=249, weeklies=1, futures=2)
    eng = LiveTradingEngine(
        Decimal("1000000000"), stream, clock=clock, instruments=reg, limits=LIMITS,
        charges=IndianEquityCharges(instruments=reg),
    )  # fmt: skip
    market.step(clock.now_ns())
    for sym in market.symbols:
        if sym.endswith("-EQ"):  # resting orders far from the touch: the trigger check runs
            last = market.price_paise(sym)
            eng.submit(sym, Side.BUY, 1, "LIMIT", limit_price=Decimal(last // 200 * 100) / 100)
    if deriv is not None and positions:
        fut = future_symbol(monthly_expiry(2026, 12))
        eng.submit(fut, Side.BUY, 65, product="MARGIN", stop_loss="20000")
        opt = [s for s in deriv.symbols if s.endswith("CE")][len(deriv) // 4]
        eng.submit(opt, Side.SELL, 65, product="MARGIN")
        eng.submit(opt, Side.BUY, 65, "LIMIT", limit_price="0.05", product="MARGIN")
        assert eng.funds().fno_margin > 0
    quoted = len(market.symbols) + (len(deriv) if deriv is not None else 0)
    return market, clock, quoted


def timed(market: SimulatedMarket, clock: VirtualClock, steps: int) -> float:
    """CPU seconds for ``steps`` market steps (process time: other processes on a shared
    machine do not count)."""
    gc.collect()
    gc.disable()
    t0 = time.process_time()
    for _ in range(steps):
        clock.advance(NS)
        market.step(clock.now_ns())
    elapsed = time.process_time() - t0
    gc.enable()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    args = ap.parse_args()
    eq_steps, fno_steps, rounds = (2_000, 20, 2) if args.quick else (20_000, 200, 5)
    cases = [
        ("equity only", False, False, eq_steps),
        ("F&O chain, no F&O position", True, False, fno_steps),
        ("F&O chain + positions", True, True, fno_steps),
    ]
    built = [(name, *build(chain, pos), steps) for name, chain, pos, steps in cases]
    best = [float("inf")] * len(built)
    for _ in range(rounds):  # interleaved, best of each: drift hits every case alike
        for i, (_, market, clock, _, steps) in enumerate(built):
            best[i] = min(best[i], timed(market, clock, steps))
    rates = [q * steps / t for (_, _, _, q, steps), t in zip(built, best, strict=True)]
    print("\nTick path: equity only vs a full NIFTY chain at the simulated rate (every=1)")
    print(f"{'case':<30} {'symbols':>8} {'ticks/s':>12} {'µs/tick':>9} {'ratio':>7}")
    for (name, _, _, quoted, _), rate in zip(built, rates, strict=True):
        print(f"{name:<30} {quoted:>8} {rate:>12,.0f} {1e6 / rate:>9.2f} {rate / rates[0]:>7.2f}")


if __name__ == "__main__":
    main()
