"""Fyers REST: our ``FyersRestClient`` against the official SDK's ``fyersModel``.

Same fake Fyers server for every client, in its own process (so the client process's CPU time
is the client's alone), same run. One round trip = place a market order (``POST /orders/sync``)
and read it back (``GET /orders?id=``): two requests.

* sequential: ``--n`` round trips one after another (the SDK in its default sync mode on
  ``requests``); p50 round trip and client CPU per request;
* 50 at once: ``--batches`` batches of 50 concurrent round trips (the SDK in its async mode
  on ``aiohttp``, as a user would run 50 at once); p50 batch wall time and CPU per request.

Rows: the SDK (the baseline), ours on its default aiohttp session, ours on an httpx client
handed in (the path before the switch), and bare httpx / bare aiohttp doing the same two
requests with no client logic. ``--rounds`` interleaves all rows that many times (a noisy
neighbour on the shared cores hits them alike) and the table shows medians; every measurement
gets a fresh fake server, because the fake scans its whole order book on each request and
would slow whichever row ran later. Our rate limiter is lifted (Fyers allows 10 requests/s:
measured here is the code path, not the limiter's waits). The line under the table counts
httpcore's attempts to import ``sniffio`` per request on the httpx path.

    .venv/bin/python benchmarks/fyers_rest_bench.py [--n 300] [--batches 10] [--rounds 3]

Why aiohttp: on httpx, ours was 1.2-1.6x the SDK's CPU in sequence and 6-10x at 50 at once,
and bare httpx was no better: httpx's own request/response layers in sequence, and httpcore's
pool housekeeping at 50 at once (``_assign_requests_to_connections`` checks every connection
for every queued request). aiohttp, which the SDK's async mode uses, costs about what the SDK
costs; our client adds its checks, tags, limiter and Decimal parsing (about 50 µs a request,
measured without a network), which is why ours sits above bare aiohttp.

Measured here (2 cores shared with other work; medians of 3 rounds), x = row / SDK:

    ours (aiohttp)        seq round trip 0.31x, CPU 0.41x; 50 at once wall 0.79x, CPU 1.19x
    ours on httpx         1.09x, 1.48x; 3.06x, 10.3x
    bare httpx            0.80x, 1.66x; 3.71x, 9.6x
    bare aiohttp          0.25x, 0.30x; 0.62x, 0.86x

At 50 at once the SDK's async mode is little more than aiohttp and ``json``, so its CPU there
(418 µs/request) is bare aiohttp's (358) plus its logging; ours adds ~50-80 µs of validation,
tag, limiter, Decimal parsing and order-row parsing (``records.parse_order``) per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.abc
import importlib.util
import logging
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

import httpx

from livetrade.fyers.broker import FyersRestClient, RateLimiter
from livetrade.testing.fake_fyers import FakeFyersServer

SYM = "NSE:SBIN-EQ"
SDK_ROW = "SDK fyersModel (requests / aiohttp)"
BURST = 50
WARMUP = 20


# ---------------------------------------------------------------------------- the server
def server_process(conn: Connection) -> None:
    logging.disable(logging.WARNING)
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    fake = FakeFyersServer(seed=1, tick_interval=None, funds=Decimal(10**12))
    async with fake:
        conn.send((fake.api_url, fake.config.access_token))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until "stop"


@contextlib.contextmanager
def served() -> Iterator[tuple[str, str]]:
    """A fresh fake Fyers in its own process: (API URL, access token)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=server_process, args=(child,), daemon=True)
    proc.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()


# ---------------------------------------------------------------------------- measuring
class SniffioImports(importlib.abc.MetaPathFinder):
    """Counts lookups of ``sniffio`` that reach the import system (none once it is loaded)."""

    def __init__(self) -> None:
        self.count = 0

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "sniffio":
            self.count += 1
        return None


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def lifted() -> RateLimiter:
    return RateLimiter({"all": [(10**9, 1.0)], "orders": [(10**9, 1.0)]})


def body(i: int) -> dict[str, Any]:
    return {
        "symbol": SYM, "qty": 1, "type": 2, "side": 1 if i % 2 == 0 else -1,
        "productType": "INTRADAY", "limitPrice": 0, "stopPrice": 0, "validity": "DAY",
        "disclosedQty": 0, "offlineOrder": False, "orderTag": f"sdk{i}",
    }  # fmt: skip


async def ours_trip(client: FyersRestClient, i: int) -> None:
    ack = await client.place_order(SYM, "BUY" if i % 2 == 0 else "SELL", 1, tag=f"our{i}")
    row = await client.order(ack.order_id)
    assert row is not None and row.order_id == ack.order_id


Lib = str  # "aiohttp": our default session; "httpx": an httpx.AsyncClient handed in


_HANDED_IN: dict[int, httpx.AsyncClient] = {}


def ours_client(api: str, token: str, lib: Lib) -> FyersRestClient:
    http = None
    if lib == "httpx":
        http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False)
    client = FyersRestClient(token, base_url=api, limiter=lifted(), client=http)
    if http is not None:
        _HANDED_IN[id(client)] = http
    return client


async def _close(client: FyersRestClient, lib: Lib) -> None:
    await client.aclose()
    http = _HANDED_IN.pop(id(client), None)
    if http is not None:  # a client handed in is ours to close
        await http.aclose()


async def ours_sequential(api: str, token: str, n: int, lib: Lib) -> Result:
    client = ours_client(api, token, lib)
    try:
        for i in range(WARMUP):
            await ours_trip(client, i)
        return await _sequential(lambda i: ours_trip(client, i), n)
    finally:
        await _close(client, lib)


async def ours_burst(api: str, token: str, batches: int, lib: Lib) -> Result:
    client = ours_client(api, token, lib)
    try:
        await asyncio.gather(*(ours_trip(client, i) for i in range(BURST)))  # warm the pool
        return await _bursts(lambda i: ours_trip(client, i), batches)
    finally:
        await _close(client, lib)


Result = tuple[float, float]  # (p50 ms: round trip or batch, client CPU µs per request)


async def _sequential(trip: Callable[[int], Awaitable[None]], n: int) -> Result:
    walls = []
    cpu0 = time.process_time()
    for i in range(n):
        t0 = time.perf_counter()
        await trip(i)
        walls.append((time.perf_counter() - t0) * 1000)
    cpu = time.process_time() - cpu0
    return p50(walls), cpu / (2 * n) * 1e6


async def _bursts(trip: Callable[[int], Awaitable[None]], batches: int) -> Result:
    walls = []
    cpu0 = time.process_time()
    for b in range(batches):
        t0 = time.perf_counter()
        await asyncio.gather(*(trip(b * BURST + i) for i in range(BURST)))
        walls.append((time.perf_counter() - t0) * 1000)
    cpu = time.process_time() - cpu0
    return p50(walls), cpu / (2 * BURST * batches) * 1e6


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": token, "Content-Type": "application/json", "version": "3"}


async def bare_httpx(api: str, token: str, n: int, batches: int) -> tuple[Result, Result]:
    """The same two requests with a bare ``httpx.AsyncClient``: the library alone, without
    our client's checks, tags, limiter and parsing."""
    async with httpx.AsyncClient(base_url=api, headers=_headers(token), trust_env=False) as c:

        async def trip(i: int) -> None:
            placed = (await c.post("/orders/sync", json=body(i))).json()
            book = (await c.get("/orders", params={"id": placed["id"]})).json()
            assert book["orderBook"][0]["id"] == placed["id"]

        await asyncio.gather(*(trip(i) for i in range(BURST)))
        return await _sequential(trip, n), await _bursts(trip, batches)


async def bare_aiohttp(api: str, token: str, n: int, batches: int) -> tuple[Result, Result]:
    """The same two requests with a bare ``aiohttp.ClientSession`` (what the SDK's async mode
    uses): is another maintained async client worth a switch?"""
    import aiohttp

    async with aiohttp.ClientSession(api + "/", headers=_headers(token)) as c:

        async def trip(i: int) -> None:
            async with c.post("orders/sync", json=body(i)) as r:
                placed = await r.json()
            async with c.get("orders", params={"id": placed["id"]}) as r:
                book = await r.json()
            assert book["orderBook"][0]["id"] == placed["id"]

        await asyncio.gather(*(trip(i) for i in range(BURST)))
        return await _sequential(trip, n), await _bursts(trip, batches)


def sdk_model(api: str, token: str, log_dir: str, is_async: bool) -> Any:
    from fyers_apiv3 import fyersModel

    fyersModel.Config.API = api
    app_id, jwt = token.split(":", 1)
    return fyersModel.FyersModel(client_id=app_id, token=jwt, is_async=is_async, log_path=log_dir)


def sdk_sequential(api: str, token: str, n: int, log_dir: str) -> Result:
    model = sdk_model(api, token, log_dir, is_async=False)

    def trip(i: int) -> None:
        placed = model.place_order(body(i))
        (row,) = model.orderbook({"id": placed["id"]})["orderBook"]
        assert row["id"] == placed["id"]

    for i in range(WARMUP):
        trip(i)
    walls = []
    cpu0 = time.process_time()
    for i in range(n):
        t0 = time.perf_counter()
        trip(i)
        walls.append((time.perf_counter() - t0) * 1000)
    cpu = time.process_time() - cpu0
    model.service.session.close()
    return p50(walls), cpu / (2 * n) * 1e6


async def sdk_burst(api: str, token: str, batches: int, log_dir: str) -> Result:
    model = sdk_model(api, token, log_dir, is_async=True)

    async def trip(i: int) -> None:
        placed = await model.place_order(body(i))
        (row,) = (await model.orderbook({"id": placed["id"]}))["orderBook"]
        assert row["id"] == placed["id"]

    try:
        await asyncio.gather(*(trip(i) for i in range(BURST)))
        return await _bursts(trip, batches)
    finally:
        await model.service.close()


def sniffio_per_request(api: str, token: str) -> float:
    finder = SniffioImports()
    sys.meta_path.insert(0, finder)
    try:
        asyncio.run(ours_sequential(api, token, 10, "httpx"))
    finally:
        sys.meta_path.remove(finder)
    return finder.count / (2 * (10 + WARMUP))


# ---------------------------------------------------------------------------- the table
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=300, help="sequential round trips per client")
    ap.add_argument("--batches", type=int, default=10, help=f"batches of {BURST} at once")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians shown)")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("fyers_apiv3") is None:
        print("fyers REST bench: the official SDK (a test-time reference) is not installed")
        return 0
    logging.disable(logging.WARNING)  # the fake and our client warn about nothing here
    n, k = args.n, args.batches
    with tempfile.TemporaryDirectory() as log_dir:
        runs: dict[str, Callable[[str, str], tuple[Result, Result]]] = {
            SDK_ROW: lambda api, token: (
                sdk_sequential(api, token, n, log_dir),
                asyncio.run(sdk_burst(api, token, k, log_dir)),
            ),
            "ours: FyersRestClient (aiohttp)": lambda api, token: (
                asyncio.run(ours_sequential(api, token, n, "aiohttp")),
                asyncio.run(ours_burst(api, token, k, "aiohttp")),
            ),
            "ours on an httpx client (the old path)": lambda api, token: (
                asyncio.run(ours_sequential(api, token, n, "httpx")),
                asyncio.run(ours_burst(api, token, k, "httpx")),
            ),
            "bare httpx (no client logic)": lambda api, token: asyncio.run(
                bare_httpx(api, token, n, k)
            ),
            "bare aiohttp (no client logic)": lambda api, token: asyncio.run(
                bare_aiohttp(api, token, n, k)
            ),
        }
        with served() as (api, token):
            sniff = sniffio_per_request(api, token)
        # Rounds interleave the clients, so a noisy neighbour hits them alike (medians shown);
        # each measurement gets a fresh server, as the fake's order book (scanned on every
        # request) grows with every order and would slow whoever runs later.
        samples: dict[str, list[tuple[float, ...]]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                with served() as (api, token):
                    seq, burst = run(api, token)
                samples[name].append(seq + burst)
    rows = {
        name: tuple(statistics.median(col) for col in zip(*xs, strict=True))
        for name, xs in samples.items()
    }
    print(
        f"Fyers REST, place a market order + read it back: {args.n} in sequence, "
        f"{args.batches} x {BURST} at once; median of {args.rounds} interleaved rounds;\n"
        "fake server in its own process; CPU = this process per HTTP request; "
        "x = row / SDK (≤ 1.0 is the target)\n"
    )
    head = ["client", "seq p50 ms", "CPU µs/req", f"{BURST} at once p50 ms", "CPU µs/req"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in head) + "|")
    sdk = rows[SDK_ROW]
    for name, values in rows.items():
        cells = [f"{v:.2f}" if i % 2 == 0 else f"{v:,.0f}" for i, v in enumerate(values)]
        print(f"| {name} | " + " | ".join(cells) + " |")
        if name != SDK_ROW:
            ratios = [a / b for a, b in zip(values, sdk, strict=True)]
            print("|   x SDK | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")
    state = "installed" if importlib.util.find_spec("sniffio") else "NOT installed"
    print(f"\nhttpcore sniffio import lookups per request: {sniff:.1f} (sniffio {state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
