"""Is the kernel still free while the dashboard runs on a fast feed?

Starts a real IPython kernel (``jupyter_client``), opens a real-time simulated session ticking
about ``--rate`` quotes a second, and measures from the client the round trip of small
``execute_request``s, with the dashboard off and then on. While the dashboard runs it also
counts the widget ``comm_msg``s on IOPub per panel (the kernel sends them whether or not a
browser is attached). Targets (issue 4): execute p99 < 50 ms, <= 10 widget messages/s/panel.

    .venv/bin/python benchmarks/ui_responsiveness.py [--rate 10000] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from typing import Any

from jupyter_client.manager import start_new_kernel

SETUP = """
import asyncio, json, livetrade as lt, livetrade.ui
from IPython.display import display
_syms = {{f"NSE:SIM{{i:03d}}-EQ": "1000.00" for i in range({symbols})}}
# real time, but the session's own pacer is idle (one step an hour): _feed below steps the
# market to the exact target rate in 5 ms batches, as a socket feed delivers them
session = await lt.open_session(feed="sim", seed=1, realtime=True, symbols=_syms,
                                tick_interval=3600, name="bench", journal=False)
session.step()
await session.buy("NSE:SIM000-EQ", 10, stop_loss="900", take_profit="1100")

async def _feed(rate):
    loop = asyncio.get_running_loop()
    t0, done = loop.time(), 0
    while not session.closed:
        await asyncio.sleep(0.005)
        due = int((loop.time() - t0) * rate / len(_syms))
        while done < due and not session.closed:
            session.step()
            done += 1

_feeder = asyncio.get_running_loop().create_task(_feed({rate}))
def _ticks():
    return sum(session.stream.tick_count(s) for s in session.symbols)
"""

DASHBOARD = "dash = livetrade.ui.dashboard(session, max_hz={max_hz})\ndisplay(dash)"


class Kernel:
    """A kernel and a blocking client with helpers for timed executes."""

    def __init__(self) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3")
        self.stash: list[dict[str, Any]] = []  # IOPub messages read while waiting for others

    def execute(self, code: str, timeout: float = 60) -> tuple[float, list[str]]:
        """Run ``code``; returns (round trip seconds, stdout chunks). Raises on error."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code, store_history=False)
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        rtt = time.perf_counter() - t0
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{code!r} failed: {reply['content'].get('evalue')}")
        return rtt, self._stdout(msg_id)

    def _stdout(self, msg_id: str) -> list[str]:
        out: list[str] = []
        while True:  # IOPub may trail the reply: wait for this request's idle status
            msg = self.kc.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") != msg_id:
                self.stash.append(msg)
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out

    def drain(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        msgs, self.stash = self.stash, []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msgs.append(self.kc.get_iopub_msg(timeout=0.05))
            except Exception:  # queue.Empty
                continue
        return msgs

    def value(self, expr: str) -> Any:
        _, out = self.execute(f"print(json.dumps({expr}))")
        return json.loads("".join(out))

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    k = Kernel()
    try:
        k.execute(SETUP.format(symbols=args.symbols, rate=args.rate), timeout=120)
        if mode == "on":
            k.execute(DASHBOARD.format(max_hz=args.max_hz))
        time.sleep(args.warmup)
        k.drain(0.2)
        ticks0 = k.value("_ticks()")
        t0 = time.time()
        rtts = []
        for _ in range(args.requests):
            rtt, _ = k.execute("pass")
            rtts.append(rtt * 1000)
            time.sleep(args.gap)
        t1 = time.time()
        ticks1 = k.value("_ticks()")
        msgs = k.drain(0.5)
        result: dict[str, Any] = {
            "mode": mode,
            "ticks_per_s": (ticks1 - ticks0) / (t1 - t0),
            "p50_ms": statistics.median(rtts),
            "p99_ms": _pct(rtts, 0.99),
            "max_ms": max(rtts),
        }
        if mode == "on":
            ids = k.value("dash.panel_model_ids()")
            owner = {mid: panel for panel, mids in ids.items() for mid in mids}
            counts = dict.fromkeys(ids, 0)
            for m in msgs:
                if m["msg_type"] != "comm_msg":
                    continue
                when = m["header"]["date"]
                ts = when.timestamp() if isinstance(when, datetime) else t0
                panel = owner.get(m["content"]["comm_id"])
                if panel is not None and t0 <= ts <= t1:
                    counts[panel] += 1
            result["widget_msgs_per_s"] = {p: n / (t1 - t0) for p, n in counts.items()}
            k.execute("dash.close()")
        k.execute("_feeder.cancel(); await session.close()")
        return result
    finally:
        k.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=10_000, help="target ticks per second")
    ap.add_argument("--symbols", type=int, default=50, help="simulated symbols")
    ap.add_argument("--requests", type=int, default=300, help="execute requests per mode")
    ap.add_argument("--gap", type=float, default=0.02, help="seconds between requests")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    ap.add_argument("--max-hz", type=float, default=10, help="dashboard redraw rate")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    results = [run("off", args), run("on", args)]
    print(f"{'dashboard':<10}{'ticks/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for r in results:
        print(
            f"{r['mode']:<10}{r['ticks_per_s']:>10,.0f}{r['p50_ms']:>9.2f}"
            f"{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}"
        )
    on = results[1]
    print("\nwidget comm messages per second, by panel (dashboard on):")
    for panel, rate in on["widget_msgs_per_s"].items():
        print(f"  {panel:<12}{rate:6.1f}")
    ok = on["p99_ms"] < 50 and all(v <= 10.5 for v in on["widget_msgs_per_s"].values())
    print(f"\ntargets (p99 < 50 ms, <= 10 msgs/s/panel): {'met' if ok else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
