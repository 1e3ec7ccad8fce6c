"""Live order round trip against the fake Fyers server, over real loopback sockets.

What a trader waits for: ``await session.buy(...)`` returning a FILLED market order. Paper
fills it inside the call; live sends it to Fyers (journal first, then ``POST orders/sync``) and
reads the fill back. Measured in one run, on one machine, with the fake server in the same
process (its work is included), so the figures are the client's overhead plus loopback, not
Fyers' own latency. Our rate limiter is lifted (Fyers allows 10 requests/s, and a live market
order costs three: place, order book, tradebook), so what is timed is the code path:

* paper ``buy`` (baseline), live ``buy`` with the journal off and on;
* a resting limit order filled by a quote: push → fill booked from the order socket.

    .venv/bin/python benchmarks/live_bench.py [--orders N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import livetrade as lt
from livetrade.fyers.broker import FyersRestClient, RateLimiter
from livetrade.model import OrderStatus
from livetrade.testing.fake_fyers import FakeFyersServer

SYM = "NSE:SBIN-EQ"
NO_LIMITS = lt.RiskLimits(max_orders_per_minute=1_000_000)  # measuring, not trading


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def round_trips(
    session: lt.Session, n: int, fake: FakeFyersServer | None = None
) -> list[float]:
    out = []
    for i in range(n):
        if fake is not None and i % 50 == 0:  # keep the quote fresh (outside the timing)
            await fake.push_quote(SYM, 80_000)
        t0 = time.perf_counter()
        order = await (session.buy if i % 2 == 0 else session.sell)(SYM, 1)
        out.append((time.perf_counter() - t0) * 1000)
        assert order.status is OrderStatus.FILLED, order
    return out


async def open_live(fake: FakeFyersServer, name: str, journal_dir: Path | None) -> lt.Session:
    # Fyers allows 10 requests/s: lifted here to measure our overhead, not the limiter's waits
    limiter = RateLimiter({"all": [(10**9, 1.0)], "orders": [(10**9, 1.0)]})
    client = FyersRestClient(fake.config.access_token, base_url=fake.api_url, limiter=limiter)
    s = await lt.open_session(
        feed="fyers",
        broker="fyers",
        live=True,
        fyers=fake.config,
        fyers_client=client,
        name=name,
        journal=journal_dir is not None,
        journal_dir=journal_dir,
        poll_interval=None,
        square_off=None,
        limits=NO_LIMITS,
    )
    await s.watch([SYM])
    await fake.push_quote(SYM, 80_000)
    while s.stream.last_paise(SYM) is None:
        await asyncio.sleep(0.001)
    assert s.order_socket is not None
    await s.order_socket.wait_connected(10)
    await s.arm_live(confirm="LIVE")
    return s


async def socket_fills(fake: FakeFyersServer, s: lt.Session, n: int) -> list[float]:
    """Limit buys below the market, then a quote through them: push → fill booked."""
    out = []
    for _ in range(n):
        order = await s.buy(SYM, 1, order_type="LIMIT", limit_price=Decimal("799.00"))
        done = asyncio.Event()

        def filled(fill: object, o: lt.Order = order, ev: asyncio.Event = done) -> None:
            if o.status is OrderStatus.FILLED:
                ev.set()

        s.fill_event += filled
        t0 = time.perf_counter()
        await fake.push_quote(SYM, 79_900)
        await asyncio.wait_for(done.wait(), 10)
        out.append((time.perf_counter() - t0) * 1000)
        s.fill_event -= filled
        await s.sell(SYM, 1)
        await fake.push_quote(SYM, 80_000)
    return out


async def main(n: int) -> None:
    rows: list[tuple[str, list[float]]] = []
    paper = await lt.open_session(
        name="bench-paper", realtime=False, journal=False, seed=1, limits=NO_LIMITS
    )
    await paper.run_for(ticks=2)
    rows.append(("paper buy/sell (baseline)", await round_trips(paper, n)))
    await paper.close()
    async with FakeFyersServer(seed=1, tick_interval=None) as fake:
        live = await open_live(fake, "bench-live", None)
        rows.append(("live buy/sell, journal off", await round_trips(live, n, fake)))
        rows.append(("limit fill via order socket", await socket_fills(fake, live, n // 4)))
        await live.close()
        with tempfile.TemporaryDirectory() as tmp:
            journaled = await open_live(fake, "bench-live-j", Path(tmp))
            rows.append(("live buy/sell, journal on", await round_trips(journaled, n, fake)))
            await journaled.close()
    base = statistics.median(rows[0][1])
    print(f"{n} market orders each (limit fills: {n // 4}); times in ms; x = p50 / paper p50\n")
    print(f"| {'scenario':30} | {'p50':>7} | {'p99':>7} | {'x paper':>8} |")
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 9}|{'-' * 10}|")
    for name, xs in rows:
        p50 = statistics.median(xs)
        print(f"| {name:30} | {p50:7.2f} | {pct(xs, 0.99):7.2f} | {p50 / base:8.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=400)
    asyncio.run(main(parser.parse_args().orders))
