"""REST API throughput and latency over real loopback HTTP (issue 6's benchmark).

A subprocess (this script with ``--serve``) runs uvicorn on 127.0.0.1 (a free port), configured
as ``serve_api`` configures it, serving ``create_app(session)`` for a simulated paper session on
the virtual clock (quotes from a few ticks, five open positions with brackets, no rate or size
limits) plus one route added here only, ``GET /bench/empty`` returning ``{"ok": true}``, through
the same app, middleware and exception handlers. The parent drives 50 concurrent keep-alive
connections from asyncio for a fixed number of requests per scenario and prints, as a markdown
table, requests/s, p50 and p99 of each, and their ratios to the empty endpoint measured on the
same server in the same run. Two servers: without a journal, then with one (SQLite in a temp
dir; every order is written before it is acknowledged).

The load generator is a minimal HTTP/1.1 client on asyncio streams: client and server share the
machine's cores, and httpx's ``AsyncClient`` at 50 connections costs far more CPU per request
than the server path being measured (encode/httpx#3215). The table shows the CPU per request of
the server process and of the client, and the empty endpoint once more through httpx
(``limits=50``) to show that overhead.

    .venv/bin/python benchmarks/api_bench.py [--quick] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

CONNECTIONS = 50
PREFIX = "/api/live-trading"
SERVER_LIFETIME_S = 300  # a --serve process ends on its own after this, whatever happens
STARTUP_TIMEOUT_S = 60
BUY_BODY = b'{"symbol": "NSE:SBIN-EQ", "quantity": 1}'


# ====================================================================== server (--serve)
async def _serve(journal_dir: str | None) -> None:
    import uvicorn

    import livetrade as lt
    from livetrade.api import create_app
    from livetrade.risk import RiskLimits

    session = await lt.open_session(
        seed=1,
        realtime=False,
        name="api-bench",
        journal=journal_dir is not None,
        journal_dir=journal_dir,
        wallet_balance=Decimal("10000000000"),
        limits=RiskLimits(
            max_orders_per_minute=None, max_order_quantity=None, max_order_notional=None
        ),
    )
    await session.run_for(ticks=5)
    for symbol in session.symbols:  # something for portfolio to compute
        q = session.stream.quote(symbol)
        if q is not None and not symbol.endswith("-INDEX"):
            session.engine.submit(
                symbol,
                lt.Side.BUY,
                10,
                stop_loss=(q.last_price * Decimal("0.9")).quantize(Decimal(1)),
                take_profit=(q.last_price * Decimal("1.1")).quantize(Decimal(1)),
            )
    app = create_app(session)

    @app.get("/bench/empty", include_in_schema=False)
    async def empty() -> dict[str, bool]:
        return {"ok": True}

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.setblocking(False)
    config = uvicorn.Config(  # as livetrade.api.serve_api configures it
        app,
        host="127.0.0.1",
        port=sock.getsockname()[1],
        lifespan="off",
        log_config=None,
        access_log=True,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    try:
        await asyncio.wait_for(asyncio.shield(task), SERVER_LIFETIME_S)
    except TimeoutError:
        server.should_exit = True
        await task
    finally:
        await session.close()


# ====================================================================== server process
class Server:
    """A ``--serve`` subprocess; ``stop()`` ends it by its PID."""

    def __init__(self, journal_dir: str | None) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve"]
        if journal_dir is not None:
            cmd += ["--journal-dir", journal_dir]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        # the child prints its port once it accepts connections
        ready, _, _ = select.select([self.proc.stdout], [], [], STARTUP_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the API server did not start (got {line!r})")
        self.port = int(line.split()[1])

    def cpu_s(self) -> float | None:
        """User + system CPU seconds of the server process so far (Linux ``/proc``)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# ====================================================================== clients
@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    client_cpu_s: float
    server_cpu_s: float | None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        """Latency percentile in ms."""
        return (
            statistics.quantiles(self.latencies, n=1000, method="inclusive")[int(p * 10) - 1] * 1e3
        )


def _request(method: str, path: str, body: bytes | None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


async def _raw_worker(
    port: int, request: bytes, n: int, latencies: list[float], errors: list[int]
) -> None:
    """One keep-alive connection sending ``n`` requests back to back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        for _ in range(n):
            t = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(clock() - t)
            if head[9:10] != b"2":  # b"HTTP/1.1 200 OK"
                errors[0] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _httpx_worker(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: bytes | None,
    n: int,
    latencies: list[float],
    errors: list[int],
) -> None:
    headers = {"content-type": "application/json"} if body is not None else None
    clock = time.perf_counter
    for _ in range(n):
        t = clock()
        r = await client.request(method, url, content=body, headers=headers)
        latencies.append(clock() - t)
        if not r.is_success:
            errors[0] += 1


async def _run(
    server: Server, name: str, method: str, path: str, body: bytes | None, n: int, client: str
) -> Result:
    per = n // CONNECTIONS
    latencies: list[float] = []
    errors = [0]
    if client == "raw":
        request = _request(method, path, body)

        def workers() -> list[asyncio.Task[None]]:
            return [
                asyncio.create_task(_raw_worker(server.port, request, per, latencies, errors))
                for _ in range(CONNECTIONS)
            ]

        cpu0, srv0, t0 = time.process_time(), server.cpu_s(), time.perf_counter()
        await asyncio.gather(*workers())
        dt = time.perf_counter() - t0
    else:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        url = f"http://127.0.0.1:{server.port}{path}"
        async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=30) as c:
            # open the 50 connections first, so both clients time warm connections only
            await asyncio.gather(*(c.get(url) for _ in range(CONNECTIONS)))
            cpu0, srv0, t0 = time.process_time(), server.cpu_s(), time.perf_counter()
            await asyncio.gather(
                *(
                    _httpx_worker(c, method, url, body, per, latencies, errors)
                    for _ in range(CONNECTIONS)
                )
            )
            dt = time.perf_counter() - t0
    srv1 = server.cpu_s()
    return Result(
        name=name,
        requests=per * CONNECTIONS,
        seconds=dt,
        latencies=latencies,
        errors=errors[0],
        client_cpu_s=time.process_time() - cpu0,
        server_cpu_s=None if srv0 is None or srv1 is None else srv1 - srv0,
    )


SCENARIOS = [
    ("GET /bench/empty", "GET", "/bench/empty", None),
    (f"GET {PREFIX}/portfolio", "GET", f"{PREFIX}/portfolio", None),
    (f"POST {PREFIX}/buy (1 share)", "POST", f"{PREFIX}/buy", BUY_BODY),
]


def _merge(parts: list[Result]) -> Result:
    def total(xs: list[float | None]) -> float | None:
        return None if any(x is None for x in xs) else sum(x for x in xs if x is not None)

    return Result(
        name=parts[0].name,
        requests=sum(p.requests for p in parts),
        seconds=sum(p.seconds for p in parts),
        latencies=[x for p in parts for x in p.latencies],
        errors=sum(p.errors for p in parts),
        client_cpu_s=sum(p.client_cpu_s for p in parts),
        server_cpu_s=total([p.server_cpu_s for p in parts]),
    )


async def bench_server(
    journal_dir: str | None, n: int, rounds: int, warmup: int, httpx_n: int
) -> list[Result]:
    """Each scenario ``rounds`` times, interleaved (so a burst of load elsewhere on the machine
    hits them alike), ``n // rounds`` requests a round, merged per scenario."""
    server = Server(journal_dir)
    try:
        for name, method, path, body in SCENARIOS:
            await _run(server, name, method, path, body, warmup, "raw")
        parts: dict[str, list[Result]] = {name: [] for name, *_ in SCENARIOS}
        for _ in range(rounds):
            for name, method, path, body in SCENARIOS:
                parts[name].append(await _run(server, name, method, path, body, n // rounds, "raw"))
        results = [_merge(p) for p in parts.values()]
        if httpx_n:  # the load generator's own cost: the empty endpoint through httpx
            name, method, path, body = SCENARIOS[0]
            via = f"{name} via httpx"
            results.append(await _run(server, via, method, path, body, httpx_n, "httpx"))
        return results
    finally:
        server.stop()


# ====================================================================== report
def table(title: str, results: list[Result]) -> None:
    base = results[0]
    print(f"\n## {title}\n")
    print(
        "| scenario | requests | req/s | p50 ms | p99 ms | req/s vs empty | p99 vs empty "
        "| errors | server CPU µs/req | client CPU µs/req |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        srv = "n/a" if r.server_cpu_s is None else f"{r.server_cpu_s / r.requests * 1e6:.0f}"
        print(
            f"| {r.name} | {r.requests:,} | {r.rate:,.0f} | {r.pct(50):.2f} | {r.pct(99):.2f} "
            f"| {r.rate / base.rate:.2f} | {r.pct(99) / base.pct(99):.2f} | {r.errors} | {srv} "
            f"| {r.client_cpu_s / r.requests * 1e6:.0f} |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    ap.add_argument("--requests", type=int, help="requests per scenario (default 8,000)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--journal-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.journal_dir))
        return 0
    n = args.requests or (2_000 if args.quick else 8_000)
    rounds = 2
    n -= n % (CONNECTIONS * rounds)
    warmup = max(CONNECTIONS * 4, n // 10)
    httpx_n = 500
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"# REST API over loopback: {CONNECTIONS} keep-alive connections")
    print(
        f"\n{os.cpu_count()} CPUs; load average before: "
        f"{' '.join(f'{x:.2f}' for x in load) if load else 'n/a'}. uvicorn (h11) in a subprocess;"
        f" client: asyncio streams. {n:,} requests per scenario in {rounds} interleaved rounds"
        f" after {warmup:,} warm-up requests; ratios are against `GET /bench/empty` on the same"
        " server in the same run; CPU µs/req are per process (server: /proc; client: this one)."
    )
    t0 = time.perf_counter()
    plain = asyncio.run(bench_server(None, n, rounds, warmup, httpx_n))
    table("Paper session, no journal", plain)
    with tempfile.TemporaryDirectory(prefix="livetrade-bench-") as tmp:
        journaled = asyncio.run(bench_server(tmp, n, rounds, warmup, 0))
    title = "Paper session with a journal (SQLite, written before each order is acknowledged)"
    table(title, journaled)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
