"""Candles benchmark (``make bench``): every figure beside its reference from the same run.

1. The tick path (``LivePriceStream.push`` with a trading engine attached, as in a session)
   with candles kept for 3 timeframes (1min, 5min, 15min) vs the same path without candles.
   Target: at most +25 %.
2. ``bars_df`` over 1,000,000 ticks (the bars are already built tick by tick; this is the
   DataFrame view) vs pandas ``resample().ohlc()`` + volume sum on the same ticks, already in a
   DataFrame. Target: no slower than pandas.
3. A year of 5-minute Fyers history through ``FyersHistory`` against the fake Fyers server
   (``/data/history`` over loopback HTTP, candles from its seeded simulated past): requests
   sent, seconds, and the second call's requests (target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd

from livetrade import LivePriceStream, LiveTradingEngine
from livetrade.bars import NS, BarBook, bars_frame
from livetrade.clock import VirtualClock
from livetrade.fyers.broker import RateLimiter
from livetrade.history import FyersHistory
from livetrade.model import IST
from livetrade.money import NoCharges
from livetrade.testing.fake_fyers import FakeFyersServer

SYM = "NSE:SBIN-EQ"
T0 = datetime(2025, 6, 2, 9, 15, tzinfo=IST)


def ticks(n: int, seed: int = 1) -> list[tuple[int, int, int, int, int]]:
    """``(bid, ask, last, cumulative volume, ts_ns)``: a walk, one tick every 0-2 s."""
    rng = random.Random(seed)
    t = int(T0.timestamp()) * NS
    last, cum = 80_000, 0
    out = []
    for _ in range(n):
        t += rng.randrange(0, 2 * NS)
        last = max(5, last + rng.randint(-2, 2) * 5)
        cum += rng.randint(0, 40) * 5
        out.append((last - 5, last + 5, last, cum, t))
    return out


def tick_path(data: list[tuple[int, int, int, int, int]], timeframes: tuple[str, ...]) -> float:
    """Seconds to push ``data`` through a stream with an engine (and candles if asked)."""
    stream = LivePriceStream(history=len(data) + 1)
    engine = LiveTradingEngine(1_000_000, stream, charges=NoCharges(), clock=VirtualClock(T0))
    book = BarBook(stream)
    stream.push(SYM, 79_995, 80_005, 80_000, 0, data[0][4] - NS)
    for tf in timeframes:
        book.series(SYM, tf)
    push = stream.push
    gc.collect()
    t = time.process_time()  # CPU time: other processes on a shared machine do not count
    for bid, ask, last, vol, ts in data:
        push(SYM, bid, ask, last, vol, ts)
    dt = time.process_time() - t
    del engine
    return dt


def best(fn: Callable[[], float], repeats: int) -> float:
    return min(fn() for _ in range(repeats))


def frames(n: int, repeats: int) -> tuple[float, float, int]:
    """(bars_df seconds, pandas seconds, bars) for 5-minute bars of ``n`` ticks."""
    data = ticks(n, seed=2)
    stream = LivePriceStream(history=n + 1)
    book = BarBook(stream)
    book.series(SYM, "5min")
    for bid, ask, last, vol, ts in data:
        stream.push(SYM, bid, ask, last, vol, ts)
    ts = pd.to_datetime([d[4] for d in data], unit="ns", utc=True).tz_convert("Asia/Kolkata")
    cum = np.array([d[3] for d in data], dtype=np.int64)
    dv = np.diff(cum, prepend=cum[0])
    df = pd.DataFrame({"last": np.array([d[2] for d in data]) / 100, "dv": dv}, index=ts)
    origin = pd.Timestamp("1970-01-01 09:15", tz="Asia/Kolkata")

    def ours() -> float:
        t = time.perf_counter()
        out = bars_frame(book.columns(SYM, "5min"))
        dt = time.perf_counter() - t
        assert len(out) > 0
        return dt

    def theirs() -> float:
        t = time.perf_counter()
        r = df.resample("5min", origin=origin)
        out = r["last"].ohlc()
        out["volume"] = r["dv"].sum()
        out = out.dropna(subset=["open"])
        return time.perf_counter() - t

    ours_s, theirs_s = best(ours, repeats), best(theirs, repeats)
    got = bars_frame(book.columns(SYM, "5min"))
    return ours_s, theirs_s, len(got)


def history_year() -> tuple[int, float, int, int]:
    """(requests, seconds, second call's requests, candles) for a year of 5-minute history
    from the fake Fyers server."""

    async def run(root: str) -> tuple[int, float, int, int]:
        clock = VirtualClock(datetime(2025, 6, 2, 12, tzinfo=IST))
        async with FakeFyersServer(seed=1, tick_interval=None, clock=clock) as fake:
            h = FyersHistory(
                fake.config,
                limiter=RateLimiter(),
                cache_dir=root,
                now=lambda: clock.now_ns() / NS,
            )
            t = time.perf_counter()
            cols = await h.columns(SYM, "5min", date(2024, 6, 1), date(2025, 6, 1))
            dt = time.perf_counter() - t
            first = len(h.requests)
            await h.columns(SYM, "5min", date(2024, 6, 1), date(2025, 6, 1))
            return first, dt, len(h.requests) - first, len(cols)

    with tempfile.TemporaryDirectory() as root:
        return asyncio.run(run(root))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=200_000, help="ticks for the tick-path figure")
    ap.add_argument("--big", type=int, default=1_000_000, help="ticks for the bars_df figure")
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()

    data = ticks(args.ticks)
    runs: dict[tuple[str, ...], list[float]] = {(): [], ("1min", "5min", "15min"): []}
    for _ in range(args.repeats):  # interleaved, best of each: robust on a busy machine
        for tfs, times in runs.items():
            times.append(tick_path(data, tfs))
    base, with3 = (min(t) for t in runs.values())
    ours, theirs, nbars = frames(args.big, max(3, args.repeats // 2))
    requests, seconds, again, candles = history_year()

    rows = [
        ("tick path, no candles", f"{base / args.ticks * 1e9:,.0f} ns/tick", "reference"),
        (
            "tick path + 3 timeframes",
            f"{with3 / args.ticks * 1e9:,.0f} ns/tick",
            f"{(with3 / base - 1) * 100:+.1f} % (target <= +25 %)",
        ),
        (f"pandas resample().ohlc(), {args.big:,} ticks", f"{theirs * 1e3:,.1f} ms", "reference"),
        (
            f"bars_df 5min, {args.big:,} ticks ({nbars:,} bars)",
            f"{ours * 1e3:,.1f} ms",
            f"{theirs / ours:,.1f}x pandas (target >= 1x)",
        ),
        (
            f"1 year of 5min history, fake Fyers ({candles:,} bars)",
            f"{seconds:,.2f} s",
            f"{requests} requests",
        ),
        ("same year again", "", f"{again} requests (target 0)"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print("candles (livetrade.bars, livetrade.history)")
    for a, b, c in rows:
        print(f"  {a:<{w0}}  {b:>{w1}}  {c}")


if __name__ == "__main__":
    main()
