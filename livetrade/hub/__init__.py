"""Feed hub: one process owns the market-data feed and fans it out on Redis Streams.

Fyers allows one data connection at a time, but a desk runs several kernels and a headless
``livetrade serve``, often on more than one machine. ``livetrade hub`` holds the connection (or
runs the simulated market) and appends every quote to a Redis stream per symbol; each session
reads the streams it watches with :class:`HubFeed`, into its own ``LivePriceStream``, so the
engine, UI and API cannot tell which feed they run on. Sessions ask for symbols through Redis;
the hub subscribes the union and releases what nobody watches (or what a crashed session
watched, once its heartbeat stops).

    # one terminal (or a service)
    livetrade hub --feed sim --redis redis://127.0.0.1:6379/0

    # any number of kernels, on any machine that reaches that Redis
    feed = HubFeed(stream, "redis://127.0.0.1:6379/0", name="desk1")
    await feed.start(); await feed.watch(["NSE:SBIN-EQ"])

Key layout and encoding: :mod:`livetrade.hub.protocol`. The hub: :mod:`livetrade.hub.server`.
The session side: :mod:`livetrade.hub.client`.
"""

from livetrade.hub.client import HubFeed, HubFeedState, HubStatus, SymbolStats
from livetrade.hub.protocol import HubKeys, decode_quote, encode_quote
from livetrade.hub.server import FeedSource, Hub, HubError, SimSource, hub_main, run_hub

__all__ = [
    "FeedSource",
    "Hub",
    "HubError",
    "HubFeed",
    "HubFeedState",
    "HubKeys",
    "HubStatus",
    "SimSource",
    "SymbolStats",
    "decode_quote",
    "encode_quote",
    "hub_main",
    "run_hub",
]
