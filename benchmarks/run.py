"""Benchmarks for the tick hot path, tick-history memory and import time (``make bench``).

Every figure is reported beside references measured in the same run, as a ratio:
  (a) the original design: per-symbol lists of stop-loss and take-profit configs scanned on every
      tick of that symbol (plus a quote-cache write), and
  (b) a bare handler: look the symbol up and compare the last price with the tops of two heaps —
      the floor of Python call overhead for any trigger check.
Our figure is ``LivePriceStream.push``: quote-cache update, one columnar tick-history row and the
engine's trigger check (``LiveTradingEngine.on_quote``), with the triggers resting in the engine.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from livetrade import LivePriceStream, LiveTradingEngine, PriceQuote, RiskLimits, Side
from livetrade.clock import VirtualClock
from livetrade.model import IST
from livetrade.money import NoCharges

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=IST)
NS = 1_000_000_000


@dataclass
class Config:
    trigger_price: int
    quantity: int


def offset(k: int) -> int:
    """Distance of the k-th bracket from the price: 1-8.5%, never reached by the ticks."""
    return 5 * (200 + k % 1500)


def best_rate(fn: Callable[[], int], repeats: int) -> float:
    """Calls per second of the fastest of ``repeats`` runs (``fn`` returns the call count)."""
    best = 0.0
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t
        best = max(best, n / dt)
    return best


Tick = tuple[str, int, int, int, int, int]


def make_ticks(symbols: list[str], n: int, base: dict[str, int], seed: int, ts: int) -> list[Tick]:
    """``n`` quotes ``(symbol, bid, ask, last, volume, ts)`` within ±0.2% of each symbol's base:
    they never reach the triggers (1% away or more)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        s = rnd.choice(symbols)
        last = base[s] + rnd.randint(-40, 40) * 5
        out.append((s, last - 5, last + 5, last, i, ts))
    return out


def scenario(
    name: str, symbols: list[str], per_symbol: int, ticks: int, repeats: int
) -> dict[str, float]:
    base = {s: 100_000 + 5 * (i % 1000) for i, s in enumerate(symbols)}  # ~₹1,000
    # ---- ours: brackets placed through the engine's own submit path
    clock = VirtualClock(T0)
    stream = LivePriceStream(history=256)  # full and wrapping: the steady state of a session
    limits = RiskLimits(
        max_order_quantity=None,
        max_order_notional=None,
        max_orders_per_minute=None,
        max_quote_age_s=1e9,
        intraday_margin=Decimal(0),
    )
    eng = LiveTradingEngine(
        Decimal("1000000000000"), stream, clock=clock, charges=NoCharges(), limits=limits
    )
    ts = clock.now_ns()
    t_setup = time.perf_counter()
    for s in symbols:
        p = base[s]
        stream.push(s, p - 5, p + 5, p, 0, ts)
        for k in range(per_symbol // 2):  # each bracket = one SL and one TP leg
            off = offset(k)
            eng.submit(
                s, Side.BUY, 1, stop_loss=Decimal(p - off) / 100, take_profit=Decimal(p + off) / 100
            )
    setup_s = time.perf_counter() - t_setup
    resting = sum(eng.resting_triggers(s) for s in symbols)
    tick_list = make_ticks(symbols, ticks, base, 1, ts)
    push = stream.push

    def ours() -> int:
        for s, bid, ask, last, vol, t in tick_list:
            push(s, bid, ask, last, vol, t)
        return len(tick_list)

    # ---- (a) the original design: lists scanned on every tick
    stop_losses = {
        s: [Config(base[s] - offset(k), 1) for k in range(per_symbol // 2)] for s in symbols
    }
    take_profits = {
        s: [Config(base[s] + offset(k), 1) for k in range(per_symbol // 2)] for s in symbols
    }
    cache: dict[str, tuple[int, int, int]] = {}
    fired: list[Config] = []

    def original_handler(s: str, bid: int, ask: int, last: int) -> None:
        cache[s] = (bid, ask, last)
        for sl in stop_losses[s]:
            if last <= sl.trigger_price:
                fired.append(sl)
        for tp in take_profits[s]:
            if last >= tp.trigger_price:
                fired.append(tp)

    def original() -> int:
        handler = original_handler
        for s, bid, ask, last, _vol, _t in tick_list:
            handler(s, bid, ask, last)
        return len(tick_list)

    # ---- (b) bare: a handler that looks the symbol up and compares with two heap tops
    heaps: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for s in symbols:
        lo = [(-c.trigger_price, i) for i, c in enumerate(stop_losses[s])]
        hi = [(c.trigger_price, i) for i, c in enumerate(take_profits[s])]
        heapq.heapify(lo)
        heapq.heapify(hi)
        heaps[s] = (lo, hi)

    def bare_handler(s: str, last: int) -> None:
        lo, hi = heaps[s]
        if lo and last <= -lo[0][0]:
            fired.append(Config(0, 0))
        if hi and last >= hi[0][0]:
            fired.append(Config(0, 0))

    def bare() -> int:
        handler = bare_handler
        for s, _bid, _ask, last, _vol, _t in tick_list:
            handler(s, last)
        return len(tick_list)

    r_ours = best_rate(ours, repeats)
    r_orig = best_rate(original, repeats)
    r_bare = best_rate(bare, repeats)
    assert not fired and not eng.fills[len(symbols) * (per_symbol // 2) :], "no trigger may fire"
    return {
        "name": name,  # type: ignore[dict-item]
        "triggers": resting,
        "ours": r_ours,
        "original": r_orig,
        "bare": r_bare,
        "setup_s": setup_s,
    }


def history_memory(n: int) -> tuple[int, int]:
    """Bytes held by ``n`` ticks of history vs a list of ``n`` ``PriceQuote`` objects."""
    gc.collect()
    tracemalloc.start()
    stream = LivePriceStream(history=n)
    for i in range(n):
        stream.push("NSE:SBIN-EQ", 80_000 + i % 100, 80_010 + i % 100, 80_005 + i % 100, i, i)
    ours, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del stream
    gc.collect()
    tracemalloc.start()
    quotes = [
        PriceQuote(
            "NSE:SBIN-EQ",
            Decimal(80_000 + i % 100).scaleb(-2),
            Decimal(80_010 + i % 100).scaleb(-2),
            Decimal(80_005 + i % 100).scaleb(-2),
            i,
            datetime.fromtimestamp(i, tz=IST),
        )
        for i in range(n)
    ]
    objs, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del quotes
    return ours, objs


def import_time(repeats: int) -> tuple[float, float]:
    def best(code: str) -> float:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - t)
        return min(times)

    return best("pass"), best("import livetrade")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    ticks = 50_000 if args.quick else 300_000
    repeats = 2 if args.quick else 3
    rows = [
        scenario(
            "spread: 1,000 symbols × 10",
            [f"NSE:S{i:04d}-EQ" for i in range(1000)],
            10,
            ticks,
            repeats,
        ),
        scenario("concentrated: 1 symbol × 100", ["NSE:NIFTYHVY-EQ"], 100, ticks, repeats),
        scenario(
            "concentrated: 1 symbol × 10,000", ["NSE:NIFTYHVY-EQ"], 10_000, ticks // 5, repeats
        ),
    ]
    if not args.quick:
        rows.append(
            scenario(
                "concentrated: 1 symbol × 100,000",
                ["NSE:NIFTYHVY-EQ"],
                100_000,
                ticks // 50,
                repeats,
            )
        )
    print("\n## Tick handler (ticks/s; ratios measured in this run)\n")
    print(
        "| scenario | resting triggers | ours | (a) original | (b) bare | ours/(b) | ours/(a) |",
        end="",
    )
    print(" setup s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['name']} | {int(r['triggers']):,} | {r['ours']:,.0f} | {r['original']:,.0f} | "
            f"{r['bare']:,.0f} | {r['ours'] / r['bare']:.0%} | {r['ours'] / r['original']:.1f}× | "
            f"{r['setup_s']:.1f} |"
        )
    n = 200_000 if args.quick else 1_000_000
    ours, objs = history_memory(n)
    print(f"\n## Tick history memory ({n:,} ticks)\n")
    print(f"- columnar ring buffer: {ours / 1e6:.1f} MB ({ours / n:.1f} B/tick)")
    print(f"- list of PriceQuote objects: {objs / 1e6:.1f} MB ({objs / n:.0f} B/tick)")
    print(f"- ratio: {objs / ours:.1f}× smaller")
    base, lt = import_time(3 if args.quick else 7)
    print("\n## import livetrade\n")
    print(f"- python -c pass: {base * 1000:.0f} ms; import livetrade: {lt * 1000:.0f} ms")
    print(f"- added by import livetrade: {(lt - base) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
