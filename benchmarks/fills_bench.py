"""Paper fill models on the tick path: ``fills="depth"`` against ``fills="touch"`` (#17 item 5).

Both measured in one run on the same ticks, as a ratio (target >= 0.8):

* **quiet**: 300 resting bracket legs per symbol that the ticks never reach: what every tick
  costs (the fill model is not consulted: the same four comparisons);
* **filling**: resting limit orders on both sides that the ticks walk through, so a tick in
  ten or so fills one; depth reads the simulated book (``simulated_book``: the levels of
  ``simulated_levels``, what a simulated session's ``session.depth`` shows) on every tick
  that fills;
* **market orders**: ``submit`` of a 60-share market order (touch: one fill; depth: a walk over
  the levels, usually several fills).

    .venv/bin/python benchmarks/fills_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from livetrade import LivePriceStream, LiveTradingEngine, RiskLimits, Side
from livetrade.brokers.paper import Book, FillModel, PaperBroker
from livetrade.clock import VirtualClock
from livetrade.depth import simulated_book
from livetrade.model import IST
from livetrade.money import NoCharges

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=IST)
SYMS = [f"NSE:S{i:02d}-EQ" for i in range(10)]
BASE = 100_000  # ₹1,000
LIMITS = RiskLimits(
    max_order_quantity=None,
    max_order_notional=None,
    max_orders_per_minute=None,
    max_quote_age_s=1e9,
    intraday_margin=Decimal(0),
)


def engine(fills: FillModel) -> tuple[LiveTradingEngine, LivePriceStream]:
    stream = LivePriceStream(history=256)
    eng = LiveTradingEngine(
        Decimal("100000000000"),
        stream,
        clock=VirtualClock(T0),
        charges=NoCharges(),
        limits=LIMITS,
        broker=PaperBroker(fills=fills),
    )
    if fills == "depth":

        def depth(symbol: str) -> Book | None:  # what a simulated session's source does
            top = stream.top(symbol)
            if top is None:
                return None
            bid, ask, _, ts = top
            return simulated_book(1, symbol, bid, ask, ts)

        eng.depth_source = depth
    ts = eng.clock.now_ns()
    for s in SYMS:
        stream.push(s, BASE - 5, BASE + 5, BASE, 0, ts)
    return eng, stream


def ticks(n: int, walk: int, seed: int) -> list[tuple[str, int, int, int, int, int]]:
    rnd = random.Random(seed)
    px = dict.fromkeys(SYMS, BASE)
    out = []
    for i in range(n):
        s = rnd.choice(SYMS)
        px[s] = min(max(px[s] + rnd.randint(-walk, walk) * 5, BASE - 2000), BASE + 2000)
        out.append((s, px[s] - 5, px[s] + 5, px[s], i, 0))
    return out


Ticks = list[tuple[str, int, int, int, int, int]]
Run = Callable[[], int]


def timed(prepare: Callable[[FillModel], Run], repeats: int) -> tuple[float, float, float]:
    """Calls per CPU second of touch and of depth (best of ``repeats`` fresh runs each) and
    the median of the per-repeat depth/touch ratios. The two run back to back in alternating
    order, and CPU time (``process_time``) is counted, so a machine shared with other work
    disturbs the ratio less than wall time would (``prepare`` builds the state, untimed, and
    returns the run, which returns its call count)."""
    best = {"touch": 0.0, "depth": 0.0}
    ratios = []
    for i in range(repeats):
        rate = {}
        for model in ("touch", "depth") if i % 2 else ("depth", "touch"):
            run = prepare(model)
            gc.collect()
            t = time.process_time()
            n = run()
            rate[model] = n / max(time.process_time() - t, 1e-9)
            best[model] = max(best[model], rate[model])
        ratios.append(rate["depth"] / rate["touch"])
    return best["touch"], best["depth"], statistics.median(ratios)


def pusher(stream: LivePriceStream, tick_list: Ticks) -> Run:
    push = stream.push

    def run() -> int:
        for s, bid, ask, last, vol, ts in tick_list:
            push(s, bid, ask, last, vol, ts)
        return len(tick_list)

    return run


def quiet(fills: FillModel, tick_list: Ticks) -> Run:
    eng, stream = engine(fills)
    for s in SYMS:
        for k in range(150):
            off = 5 * (400 + k)  # 2-3.5% away: never reached
            eng.submit(
                s,
                Side.BUY,
                1,
                stop_loss=Decimal(BASE - off) / 100,
                take_profit=Decimal(BASE + off) / 100,
            )
    return pusher(stream, tick_list)


def filling(fills: FillModel, tick_list: Ticks) -> Run:
    eng, stream = engine(fills)
    for s in SYMS:
        for k in range(1, 400):
            off = 5 * k
            eng.submit(s, Side.BUY, 20, "LIMIT", limit_price=Decimal(BASE - off) / 100)
            eng.submit(s, Side.SELL, 20, "LIMIT", limit_price=Decimal(BASE + off) / 100)
    return pusher(stream, tick_list)


def market(fills: FillModel, n: int) -> Run:
    eng, _ = engine(fills)

    def run() -> int:
        for i in range(n):
            eng.submit(SYMS[i % len(SYMS)], Side.BUY if i % 2 else Side.SELL, 60)
        return n

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    n = 30_000 if args.quick else 200_000
    repeats = 3 if args.quick else 9
    calm = ticks(n, 2, 1)
    moving = ticks(n // 4, 4, 2)
    scenarios: list[tuple[str, Callable[[FillModel], Run]]] = [
        ("quiet ticks (3,000 resting legs)", lambda f: quiet(f, calm)),
        ("ticks filling resting limits", lambda f: filling(f, moving)),
        ("market orders (60 shares)", lambda f: market(f, n // 20)),
    ]
    rows: list[tuple[str, float, float, float]] = []
    for name, build in scenarios:
        rows.append((name, *timed(build, repeats)))
    print("\n## Paper fill models (ticks or orders per CPU second; ratios in this run)\n")
    print("| path | touch | depth | depth/touch (best) | depth/touch (median of pairs) |")
    print("|---|---:|---:|---:|---:|")
    for name, touch, depth, median in rows:
        print(f"| {name} | {touch:,.0f} | {depth:,.0f} | {depth / touch:.2f} | {median:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
