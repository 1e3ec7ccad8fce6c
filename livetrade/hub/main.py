"""Starting a hub: :func:`run_hub` (build a :class:`~livetrade.hub.server.Hub` around the
chosen feed and run it until told to stop) and the ``livetrade hub`` command line
(:func:`build_parser`, :func:`hub_main`: exit codes, signals, logging). The hub itself is
:mod:`livetrade.hub.server`, which re-exports these names.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from livetrade.errors import FeedDisconnected, InvalidInput, LiveTradeError
from livetrade.hub.conn import redact
from livetrade.hub.protocol import valid_symbol
from livetrade.hub.server import DEFAULT_REDIS, Hub, HubError
from livetrade.hub.sources import FeedSource, make_source
from livetrade.net import positive_number
from livetrade.prices import LivePriceStream


async def run_hub(
    *,
    feed: str,
    redis_url: str,
    maxlen: int,
    symbols: list[str] | None,
    seed: int | None,
    tick_interval: float,
    stop: asyncio.Event | None = None,
    prefix: str = "lt",
    heartbeat: float = 0.2,
    lease: float = 2.0,
    session_timeout: float = 5.0,
    buffer: int = 100_000,
) -> None:
    """Run a hub until ``stop`` is set. ``feed``: ``"sim"`` (``seed``, one market step every
    ``tick_interval`` s) or ``"fyers"`` (credentials from the environment). ``symbols`` are
    published even when no session watches them. Raises ``HubError`` if the lease is taken over
    or the feed fails, ``AuthError``/``InvalidInput`` for a bad configuration."""
    if feed not in ("sim", "fyers"):
        raise InvalidInput("feed", f"{feed!r} is not 'sim' or 'fyers'")
    if not tick_interval > 0:
        raise InvalidInput("tick_interval", "must be positive")
    for s in symbols or ():
        if not valid_symbol(s):
            raise InvalidInput("symbols", f"{s!r} is not a symbol like 'NSE:SBIN-EQ'")

    def source(stream: LivePriceStream) -> FeedSource:
        return make_source(feed, stream, seed=seed, tick_interval=tick_interval)

    hub = Hub(
        redis_url,
        source,
        feed_name=feed,
        maxlen=maxlen,
        symbols=symbols,
        prefix=prefix,
        heartbeat=heartbeat,
        lease=lease,
        session_timeout=session_timeout,
        buffer=buffer,
    )
    await hub.run(stop)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="livetrade hub",
        description="Own one market-data feed and fan its quotes out to every session on Redis "
        "Streams (one stream per symbol) until SIGINT or SIGTERM.",
    )
    p.add_argument("--feed", choices=["sim", "fyers"], default="sim", help="default: sim")
    p.add_argument("--redis", default=DEFAULT_REDIS, help=f"Redis URL (default {DEFAULT_REDIS})")
    p.add_argument(
        "--maxlen",
        type=_count,
        default=10_000,
        help="approximate cap of each symbol's stream, in quotes (default 10000; ~60 bytes each)",
    )
    p.add_argument(
        "--tick-interval",
        type=positive_number,
        default=1.0,
        help="sim: seconds between market steps (default 1; each step quotes every symbol)",
    )
    p.add_argument("--seed", type=int, default=None, help="sim: seed of the random walk")
    p.add_argument(
        "--symbols",
        default="",
        help="comma-separated symbols to publish even when no session watches them",
    )
    p.add_argument("--prefix", default="lt", help="key prefix in Redis (default 'lt')")
    p.add_argument(
        "--session-timeout",
        type=positive_number,
        default=5.0,
        help="seconds without a heartbeat before a session's symbols are released (default 5)",
    )
    p.add_argument(
        "--heartbeat",
        type=positive_number,
        default=0.2,
        help="seconds between hub heartbeats (default 0.2); sessions call the feed stale "
        "after 3.5 of them, or their own stale_after (0.7 s) if longer",
    )
    p.add_argument(
        "--lease",
        type=positive_number,
        default=2.0,
        help="seconds a killed hub's lease outlives it before a standby takes over (default 2)",
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def hub_main(argv: Sequence[str] | None = None) -> int:
    """``livetrade hub ...``: exit 0 after SIGINT/SIGTERM, 2 for a bad configuration, 1 if the
    hub had to stop (feed failed, lease taken over)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    try:
        return asyncio.run(_main(args, symbols))
    except (HubError, FeedDisconnected) as exc:
        print(f"livetrade hub: {exc}", file=sys.stderr)
        return 1
    except LiveTradeError as exc:
        print(f"livetrade hub: error: {exc}", file=sys.stderr)
        return 2


async def _main(args: argparse.Namespace, symbols: list[str]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    print(
        f"livetrade hub: {args.feed} feed → {redact(args.redis)} (prefix {args.prefix!r}, "
        f"maxlen ~{args.maxlen}); SIGINT/SIGTERM stops",
        flush=True,
    )
    try:
        await run_hub(
            feed=args.feed,
            redis_url=args.redis,
            maxlen=args.maxlen,
            symbols=symbols or None,
            seed=args.seed,
            tick_interval=args.tick_interval,
            stop=stop,
            prefix=args.prefix,
            heartbeat=args.heartbeat,
            lease=args.lease,
            session_timeout=args.session_timeout,
        )
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    return 0
