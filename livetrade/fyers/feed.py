"""FyersFeed: the session's adapter from the Fyers data socket to a ``LivePriceStream``.

A thin layer over :class:`~livetrade.fyers.stream.FyersWebSocketManager` (one implementation of
connect / auth / reconnect / resubscribe / watchdog): it registers a raw tick handler that turns
each decoded tick into integer paise and calls ``stream.push(symbol, bid, ask, last, volume,
ts_ns)`` -- no ``PriceQuote`` or ``Decimal`` on the hot path. ``ts_ns`` is the local receive
time of the frame (the feed's own exchange timestamps have one-second resolution).

    feed = FyersFeed(stream, FyersConfig.load())
    feed.on_state.append(print)            # FeedState on every change
    await feed.start()                     # AuthError for a bad / expired token, no retries
    await feed.watch(["NSE:SBIN-EQ", "NSE:NIFTY50-INDEX"])
    ...
    await feed.close()
"""

from __future__ import annotations

from collections.abc import Callable

from livetrade.clock import Clock
from livetrade.depth import DepthStore
from livetrade.fyers.credentials import FyersConfig
from livetrade.fyers.stream import (
    ExponentialBackoff,
    FeedState,
    FyersWebSocketManager,
    StreamStats,
    nse_market_open,
)
from livetrade.prices import LivePriceStream

__all__ = ["ExponentialBackoff", "FeedState", "FyersFeed"]


class FyersFeed:
    """Quotes from Fyers into ``stream``. See the module docstring.

    ``lite``: LTP-only mode (bid = ask = LTP). ``retries``: ``None`` (default) reconnects for as
    long as it takes; an integer is a budget of consecutive failed attempts before ``state``
    becomes ``failed``. ``stall_timeout``: seconds without data while
    subscribed (during ``stall_hours``, NSE hours by default; ``None`` = always) before the
    watchdog reconnects. ``clock``: ``now_ns()`` for receive timestamps, token expiry and market
    hours. ``backoff``, ``ping_interval``, ``auth_timeout``, ``open_timeout`` are passed to the
    manager.
    """

    def __init__(
        self,
        stream: LivePriceStream,
        config: FyersConfig,
        *,
        lite: bool = False,
        retries: int | None = None,
        stall_timeout: float | None = 90.0,
        clock: Clock | None = None,
        stall_hours: Callable[[int], bool] | None = nse_market_open,
        backoff: Callable[[int], float] | None = None,
        ping_interval: float | None = 10.0,
        auth_timeout: float = 15.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.stream = stream
        self.config = config
        self.manager = FyersWebSocketManager(
            config.access_token,
            ws_url=config.ws_url,
            rest_url=config.rest_url,
            lite=lite,
            retries=retries,
            backoff=backoff,
            ping_interval=ping_interval,
            stall_timeout=stall_timeout,
            stall_hours=stall_hours,
            auth_timeout=auth_timeout,
            open_timeout=open_timeout,
            rest_timeout=config.rest_timeout,
            clock=clock,
        )
        self.on_state = self.manager.on_state  # the manager's Events (livetrade.events)
        self.on_error = self.manager.on_error
        self.depth = DepthStore()
        """The latest five-level depth of every symbol watched with ``depth=True``."""
        converter = self.manager.converter
        push = stream.push
        update = self.depth.update
        self.manager.set_sink(
            lambda events, ts_ns: converter.push_ticks(events, ts_ns, push, update)
        )

    def __repr__(self) -> str:
        return f"FyersFeed({self.config.ws_url!r}, state={self.state}, symbols={len(self.symbols)})"

    @property
    def state(self) -> FeedState:
        return self.manager.state

    @property
    def symbols(self) -> list[str]:
        """The watched symbols, in the order they were added."""
        return self.manager.symbols

    @property
    def stats(self) -> StreamStats:
        return self.manager.stats

    async def start(self) -> None:
        """Connect and authenticate. ``AuthError`` for an expired, malformed or refused token
        (no retries); ``FeedDisconnected`` if the first connection keeps failing (it goes on
        retrying in the background; ``manager.reconnect()`` waits for it)."""
        await self.manager.connect()

    async def watch(self, symbols: list[str], *, depth: bool = False) -> None:
        """Subscribe ``symbols`` (one symbol-token lookup for the new ones, one subscribe frame);
        quotes then flow into the stream, and with ``depth`` each scrip's five-level depth
        into :attr:`depth`. ``InvalidInput`` names any symbol Fyers does not know (then nothing
        is subscribed) or a total above 5,000 topics."""
        await self.manager.subscribe(symbols, depth=depth)

    async def unwatch(self, symbols: list[str]) -> None:
        await self.manager.unsubscribe(symbols)
        for symbol in symbols:
            self.depth.discard(symbol)

    async def close(self) -> None:
        """Close the connection and stop every task this feed started."""
        await self.manager.disconnect()
