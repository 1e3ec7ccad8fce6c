"""Feed hub on Redis Streams: fan-out rate, latency, hub CPU (``python benchmarks/hub_bench.py``).

Starts its own ``redis-server`` on a free loopback port (``--redis URL`` to use another), then:

1. the **in-process feed** (the embedded default: the simulated market pushing straight into a
   session's stream and engine, paced in real time) at 10,000 and 50,000 quotes/s;
2. a **hub** process (``python -m livetrade.hub --feed sim``) → **four session processes**
   (``HubFeed`` → ``LivePriceStream`` → ``LiveTradingEngine``), each watching every symbol, at
   the same two rates;
3. the hub's **CPU per quote** (and Redis's) with 1, 2, 4 and 8 sessions at a fixed rate.

Latency is measured per quote in the session, when the engine has seen it: wall clock minus the
quote's feed timestamp, which the market stamps at its step just before the hub appends it (so
it includes the step, the hub's append, Redis and the session's read). All processes share this
machine's cores; ``uptime`` is printed with the table. ``--quick`` shortens every window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from livetrade import LivePriceStream, LiveTradingEngine
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, SimulatedMarket

CLK_TCK = os.sysconf("SC_CLK_TCK")


def symbols(n: int) -> list[str]:
    base = [s for s in DEFAULT_SYMBOLS if s.endswith("-EQ")]
    return (base + [f"NSE:BENCH{i:03d}-EQ" for i in range(n)])[:n]


def percentiles(lat_ns: array[int]) -> dict[str, float]:
    if not lat_ns:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    s = sorted(lat_ns)
    n = len(s)
    return {
        "p50_ms": s[n // 2] / 1e6,
        "p99_ms": s[min(n - 1, (n * 99) // 100)] / 1e6,
        "max_ms": s[-1] / 1e6,
    }


# ====================================================================== session child
async def child(url: str, syms: list[str]) -> None:
    """One session: prints READY when live, measures between SIGUSR1 and SIGUSR2, prints JSON."""
    from livetrade.hub import HubFeed

    stream = LivePriceStream(history=1_000)
    LiveTradingEngine(Decimal("1000000"), stream)
    lat = array("q")
    measuring = False
    received = 0

    def on_tick(symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        nonlocal received
        if measuring:
            lat.append(time.time_ns() - ts_ns)
            received += 1

    stream.add_listener(on_tick)
    feed = HubFeed(stream, url, name="bench")
    await feed.start()
    await feed.watch(syms)
    loop = asyncio.get_running_loop()
    go, done = asyncio.Event(), asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, go.set)
    loop.add_signal_handler(signal.SIGUSR2, done.set)
    while feed.state.status != "live" or any(stream.top(s) is None for s in syms):
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    await go.wait()
    missed0 = feed.state.missed
    cpu0, t0 = time.process_time(), time.monotonic()
    measuring = True
    await done.wait()
    measuring = False
    cpu1, t1 = time.process_time(), time.monotonic()
    out = {
        "received": received,
        "seconds": t1 - t0,
        "missed": feed.state.missed - missed0,
        "cpu_s": cpu1 - cpu0,
        **percentiles(lat),
    }
    await feed.close()
    print(json.dumps(out), flush=True)


# ====================================================================== in-process baseline
async def in_process(n_symbols: int, tick: float, seconds: float, warmup: float) -> dict[str, Any]:
    """The embedded feed: a paced simulated market into the session's own stream and engine."""
    stream = LivePriceStream(history=1_000)
    LiveTradingEngine(Decimal("1000000"), stream)
    market = SimulatedMarket(stream, symbols(n_symbols), seed=1)
    lat = array("q")
    measuring = False

    def on_tick(symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        if measuring:
            lat.append(time.time_ns() - ts_ns)

    stream.add_listener(on_tick)
    loop = asyncio.get_running_loop()
    start = loop.time()
    due = start + tick
    t0 = cpu0 = 0.0
    while True:
        now = loop.time()
        if not measuring and now - start >= warmup:
            measuring, t0, cpu0 = True, time.monotonic(), time.process_time()
        if measuring and time.monotonic() - t0 >= seconds:
            break
        delay = due - loop.time()
        await asyncio.sleep(max(0.0, delay))
        market.step(time.time_ns())
        due += tick
    dt = time.monotonic() - t0
    return {
        "delivered": len(lat) / dt,
        "missed": 0,
        "cpu_us_per_quote": (time.process_time() - cpu0) / max(1, len(lat)) * 1e6,
        **percentiles(lat),
    }


# ====================================================================== hub scenarios
@dataclass
class Redis:
    url: str
    port: int
    proc: subprocess.Popen[bytes] | None

    def cpu(self) -> float:
        import redis

        info = redis.Redis(port=self.port).info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def hub_quotes(self) -> int:
        import redis

        raw = redis.Redis(port=self.port).hget("lt:hub", "quotes")
        return int(raw or 0)

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()


def start_redis(tmp: Path) -> Redis:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp), "--logfile", str(tmp / "redis.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as c:
            c.sendall(b"PING\r\n")
            if c.recv(16).startswith(b"+PONG"):
                return Redis(f"redis://127.0.0.1:{port}/0", port, proc)
        time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def hub_run(
    redis: Redis, n_symbols: int, tick: float, sessions: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """One hub, ``sessions`` session processes, every symbol watched by every session."""
    redis.flush()
    syms = symbols(n_symbols)
    hub = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livetrade.hub", "--feed", "sim", "--redis", redis.url,
        "--tick-interval", str(tick), "--symbols", ",".join(syms), "--seed", "1",
        "--log-level", "warning",
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    child_cmd = [sys.executable, __file__, "--child", redis.url, ",".join(syms)]
    kids = [
        await asyncio.create_subprocess_exec(*child_cmd, stdout=asyncio.subprocess.PIPE)
        for _ in range(sessions)
    ]
    try:
        for k in kids:
            assert k.stdout is not None
            line = await asyncio.wait_for(k.stdout.readline(), 60)
            if line.strip() != b"READY":
                raise RuntimeError(f"session did not start: {line!r}")
        await asyncio.sleep(warmup)
        hub_cpu0, redis_cpu0, q0 = proc_cpu(hub.pid), redis.cpu(), redis.hub_quotes()
        t0 = time.monotonic()
        for k in kids:
            k.send_signal(signal.SIGUSR1)
        await asyncio.sleep(seconds)
        for k in kids:
            k.send_signal(signal.SIGUSR2)
        dt = time.monotonic() - t0
        hub_cpu1, redis_cpu1, q1 = proc_cpu(hub.pid), redis.cpu(), redis.hub_quotes()
        results = []
        for k in kids:
            assert k.stdout is not None
            results.append(json.loads(await asyncio.wait_for(k.stdout.readline(), 30)))
            await k.wait()
    finally:
        for k in kids:
            if k.returncode is None:
                k.kill()
                await k.wait()
        if hub.returncode is None:
            hub.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(hub.wait(), 10)
            except TimeoutError:
                hub.kill()
                await hub.wait()
    quotes = max(1, q1 - q0)
    lat = {
        key: max(r[key] for r in results)
        if key != "p50_ms"
        else sorted(r[key] for r in results)[len(results) // 2]
        for key in ("p50_ms", "p99_ms", "max_ms")
    }
    return {
        "hub_rate": (q1 - q0) / dt,
        "delivered": sum(r["received"] / r["seconds"] for r in results) / len(results),
        "missed": sum(r["missed"] for r in results),
        "hub_cpu_us_per_quote": (hub_cpu1 - hub_cpu0) / quotes * 1e6,
        "redis_cpu_us_per_quote": (redis_cpu1 - redis_cpu0) / quotes * 1e6,
        "session_cpu_us_per_quote": sum(r["cpu_s"] for r in results)
        / max(1, sum(r["received"] for r in results))
        * 1e6,
        **lat,
    }


def fmt(x: float) -> str:
    return "—" if x != x else (f"{x:,.0f}" if x >= 100 else f"{x:.2f}")


async def main(args: argparse.Namespace) -> None:
    seconds, warmup = (1.5, 0.5) if args.quick else (3.0, 1.0)
    rates = [(10_000, 100, 0.01), (50_000, 250, 0.005)]  # (quotes/s, symbols, tick interval)
    try:
        import hiredis  # noqa: F401

        parser = "hiredis"
    except ImportError:
        parser = "pure-Python RESP parser (no hiredis)"
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    redis = (
        Redis(args.redis, int(args.redis.rsplit(":", 1)[1].split("/")[0]), None)
        if (args.redis)
        else start_redis(tmp)
    )
    try:
        rows = []
        for rate, n, tick in rates:
            r = await in_process(n, tick, seconds, warmup)
            rows.append(("in-process feed", rate, 1, r))
        for rate, n, tick in rates:
            r = await hub_run(redis, n, tick, 4, seconds, warmup)
            rows.append(("hub → 4 sessions", rate, 4, r))
        scale = []
        for sessions in (1, 2, 4, 8):
            r = await hub_run(redis, 50, 0.01, sessions, seconds, warmup)
            scale.append((sessions, r))
    finally:
        if redis.proc is not None:
            redis.proc.kill()
            redis.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n### Feed hub on Redis Streams ({parser}; {seconds:.1f} s windows)\n")
    print("| feed | target quotes/s | produced quotes/s | sessions | delivered quotes/s per "
          "session | missed | p50 ms | p99 ms | max ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, rate, sessions, r in rows:
        print(
            f"| {name} | {rate:,} | {fmt(r.get('hub_rate', r['delivered']))} | {sessions} "
            f"| {fmt(r['delivered'])} | {r['missed']} "
            f"| {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['max_ms'])} |"
        )
    print("\nHub CPU per quote as sessions grow (5,000 quotes/s, 50 symbols):\n")
    print("| sessions | hub µs/quote | Redis µs/quote | session µs/quote | delivered/session "
          "| missed | p99 ms |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for sessions, r in scale:
        print(
            f"| {sessions} | {fmt(r['hub_cpu_us_per_quote'])} | "
            f"{fmt(r['redis_cpu_us_per_quote'])} | {fmt(r['session_cpu_us_per_quote'])} | "
            f"{fmt(r['delivered'])} | {r['missed']} | {fmt(r['p99_ms'])} |"
        )
    up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\n`uptime`: {up}; {os.cpu_count()} cores")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="shorter windows")
    p.add_argument("--redis", default=None, help="use this Redis instead of starting one")
    p.add_argument("--child", nargs=2, metavar=("URL", "SYMBOLS"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        asyncio.run(child(a.child[0], a.child[1].split(",")))
    else:
        asyncio.run(main(a))
