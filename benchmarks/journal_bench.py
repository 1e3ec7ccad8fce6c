"""Journal cost and recovery time (``python benchmarks/journal_bench.py [--quick]``).

Orders/s through ``LiveTradingEngine.submit`` (market orders that fill at once) with no journal
and with the SQLite journal (WAL, synchronous=FULL, one transaction per order), in the same run;
then the time to reopen a session whose journal holds 100,000 events.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import livetrade as lt
from livetrade import LivePriceStream, LiveTradingEngine, RiskLimits, Side
from livetrade.clock import VirtualClock
from livetrade.journal import Journal
from livetrade.session import DEFAULT_START

SYM = "NSE:SBIN-EQ"
LIMITS = RiskLimits(
    max_order_quantity=None,
    max_order_notional=None,
    max_orders_per_minute=None,
    max_quote_age_s=1e9,
    intraday_margin=Decimal(0),
)


def engine(journal: Journal | None) -> LiveTradingEngine:
    clock = VirtualClock(DEFAULT_START)
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("1000000000"), stream, clock=clock, limits=LIMITS)
    stream.push(SYM, 79995, 80005, 80000, 0, clock.now_ns())
    if journal is not None:
        journal.attach(eng)
    return eng


def orders_per_second(eng: LiveTradingEngine, n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        eng.submit(SYM, Side.BUY if i % 2 == 0 else Side.SELL, 1)
    return n / (time.perf_counter() - t)


async def recovery(folder: Path, events: int) -> tuple[int, float, float]:
    jr = Journal(folder / "big.sqlite")
    eng = engine(jr)
    t = time.perf_counter()
    for i in range(events // 2):  # each market order journals two events: accepted + fill
        eng.submit(SYM, Side.BUY if i % 2 == 0 else Side.SELL, 1)
    write_s = time.perf_counter() - t
    n = len(jr)
    jr.close()
    t = time.perf_counter()
    s = await lt.open_session(realtime=False, name="big", journal_dir=folder, symbols=[SYM])
    open_s = time.perf_counter() - t
    assert s.restored and len(s.engine.fills) == events // 2
    await s.close()
    return n, write_s, open_s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    n = 500 if args.quick else 3_000
    events = 10_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        off = orders_per_second(engine(None), n)
        jr = Journal(folder / "on.sqlite")
        on = orders_per_second(engine(jr), n)
        jr.close()
        count, write_s, open_s = asyncio.run(recovery(folder, events))
    print("\n## Journal\n")
    print("| orders/s, journal off | orders/s, journal on | on/off |")
    print("|---:|---:|---:|")
    print(f"| {off:,.0f} | {on:,.0f} | {on / off:.1%} |")
    print(f"\nrecovery: reopening a session with {count:,} journaled events took {open_s:.2f} s")
    print(f"(writing them through the engine took {write_s:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
