"""A session process for the hub tests: reads symbols from a hub and reports what it got.

    python tests/hub_session.py URL NAME SYM1,SYM2 OUT.json [--count N]

Every quote pushed into its ``LivePriceStream`` is recorded per symbol as ``[bid, ask, last,
ts_ns]``. ``OUT.json`` is rewritten (atomically) every 0.1 s and at exit with those quotes, the
feed's per-symbol stats and every state it went through, so a test can poll it while the process
runs (or is stopped with SIGSTOP). Exits 0 once every symbol has ``N`` quotes, or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from dataclasses import asdict
from pathlib import Path

from livetrade.hub import HubFeed, HubFeedState
from livetrade.hub.conn import wait_event
from livetrade.prices import LivePriceStream


async def main(url: str, name: str, symbols: list[str], out: Path, count: int | None) -> None:
    stream = LivePriceStream()
    quotes: dict[str, list[list[int]]] = {s: [] for s in symbols}
    states: list[str] = []

    def record(symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        quotes[symbol].append([bid, ask, last, ts_ns])

    def on_state(state: HubFeedState) -> None:
        states.append(str(state))

    stream.add_listener(record)
    feed = HubFeed(stream, url, name=name)
    feed.on_state.append(on_state)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def dump() -> None:
        data = {
            "pid": os.getpid(),
            "session_id": feed.session_id,
            "quotes": quotes,
            "stats": {s: asdict(st) for s, st in feed.stats.items()},
            "missed": feed.state.missed,
            "status": feed.state.status,
            "states": states,
        }
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(out)

    await feed.start()
    await feed.watch(symbols)
    try:
        while not stop.is_set():
            dump()
            if count is not None and all(len(q) >= count for q in quotes.values()):
                break
            await wait_event(stop, 0.1)
    finally:
        await feed.close()
        dump()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("name")
    p.add_argument("symbols")
    p.add_argument("out", type=Path)
    p.add_argument("--count", type=int, default=None)
    a = p.parse_args()
    asyncio.run(main(a.url, a.name, a.symbols.split(","), a.out, a.count))
