"""Where a session's quotes come from, behind one small protocol (:class:`MarketFeed`).

A session holds one feed object (``session.source``); ``session.feed`` stays its name
(``"sim"``, ``"replay"``, ``"fyers"``, ``"hub"``), the one name the REST API's health answer and
the dashboard show. Two kinds:

* *stepped* (``live=False``): the simulated market and the replay are the market itself; the
  session moves them with :meth:`MarketFeed.advance` (``step``/``run_for``) on its clock;
* *live* (``live=True``): Fyers' data socket or a hub has its own connection; quotes arrive by
  themselves and ``start``/``stop``/``watch``/``reconnect`` drive the connection.

The adapters wrap the feeds as they are (``SimulatedMarket``, ``ReplayFeed``, ``FyersFeed``,
``HubFeed``), which stay usable on their own; a new source is one class here and one line in
:func:`build_feed`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from livetrade.clock import Clock, VirtualClock
from livetrade.errors import AuthError, FeedDisconnected, LiveTradeError
from livetrade.events import Event
from livetrade.feeds.replay import ReplayFeed
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, SimulatedMarket
from livetrade.market_hours import MarketHours
from livetrade.prices import LivePriceStream

if TYPE_CHECKING:
    from livetrade.fyers.feed import FyersFeed
    from livetrade.fyers.stream import FeedState
    from livetrade.hub.client import HubFeed, HubFeedState
    from livetrade.session.config import SessionConfig

    FeedStatus = FeedState | HubFeedState


class MarketFeed(Protocol):
    """What a session needs of its source of quotes."""

    name: str
    """``"sim"``, ``"replay"``, ``"fyers"`` or ``"hub"``: ``session.feed``."""
    live: bool
    """Its own connection delivers quotes (no market steps: quotes drive ``run_for``)."""
    on_state: Event
    """The connection's state on every change (never fires on a stepped feed)."""
    on_error: Event
    """Errors the feed's own tasks hit."""

    @property
    def symbols(self) -> list[str]: ...

    @property
    def state(self) -> FeedStatus | None:
        """The connection's state, or None for a stepped feed."""

    async def start(self) -> None:
        """Connect (a live feed); a stepped feed has nothing to start."""

    async def stop(self) -> None:
        """Close the connection and its tasks (idempotent)."""

    async def watch(self, symbols: list[str], *, depth: bool = False) -> None:
        """Start quoting ``symbols`` (checked by the session already)."""

    async def unwatch(self, symbols: list[str]) -> None:
        """Stop quoting ``symbols`` (live feeds only)."""

    async def reconnect(self, timeout: float | None, access_token: str | None) -> FeedStatus:
        """Bring a failed or stalled connection back; its state once live."""

    def advance(self, clock: Clock, tick_ns: int, calendar: MarketHours | None) -> bool:
        """One market step on ``clock`` (stepped feeds); False when a replay has run out."""


class _Stepped:
    """A market the session moves itself: no connection to start, stop or restart."""

    name = ""
    live = False

    def __init__(self) -> None:
        self.on_state = Event("feed state")
        self.on_error = Event("feed error")

    @property
    def state(self) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def unwatch(self, symbols: list[str]) -> None:
        raise LiveTradeError("only a Fyers or hub feed subscribes and unsubscribes symbols")

    async def reconnect(self, timeout: float | None, access_token: str | None) -> FeedStatus:
        raise LiveTradeError(
            f"the {self.name} feed is the market itself: it has no connection to restart"
        )


class SimSource(_Stepped):
    """The seeded random walk (``feed="sim"``); ``watch`` lists an unknown symbol at ₹1000."""

    name = "sim"

    def __init__(self, market: SimulatedMarket) -> None:
        super().__init__()
        self.market = market

    @property
    def symbols(self) -> list[str]:
        return self.market.symbols

    async def watch(self, symbols: list[str], *, depth: bool = False) -> None:
        for symbol in symbols:
            if symbol not in self.market.symbols:
                self.market.add_symbol(symbol)

    def advance(self, clock: Clock, tick_ns: int, calendar: MarketHours | None) -> bool:
        """Every symbol ticks once, ``tick_ns`` later on a virtual clock (closed time passes
        in one step when a calendar is enforced; no ticks while the exchange is closed)."""
        if isinstance(clock, VirtualClock):
            clock.advance(tick_ns)
            if calendar is not None:
                clock.set(calendar.next_trading_ns(clock.now_ns()))
        now = clock.now_ns()
        if calendar is None or calendar.next_trading_ns(now) == now:
            self.market.step(now)
        return True


class ReplaySource(_Stepped):
    """Recorded quotes (``feed="replay"``), one row a step; the virtual clock follows them."""

    name = "replay"

    def __init__(self, replay: ReplayFeed) -> None:
        super().__init__()
        self.replay = replay

    @property
    def symbols(self) -> list[str]:
        return self.replay.symbols

    async def watch(self, symbols: list[str], *, depth: bool = False) -> None:
        if any(symbol not in self.replay.symbols for symbol in symbols):
            raise LiveTradeError("only a simulated market can add symbols; this session replays")

    def advance(self, clock: Clock, tick_ns: int, calendar: MarketHours | None) -> bool:
        nxt = self.replay.peek_ns()
        if nxt is None:
            return False
        if isinstance(clock, VirtualClock) and nxt > clock.now_ns():
            clock.set(nxt)
        self.replay.step()
        return True


class _Connection(Protocol):
    """What the two connected feeds (Fyers, hub) have in common."""

    on_state: Event
    on_error: Event

    @property
    def symbols(self) -> list[str]: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def unwatch(self, symbols: list[str]) -> None: ...


class _Connected:
    """A feed with its own connection: quotes arrive by themselves; starting, stopping,
    listing and unsubscribing go straight to it."""

    name = ""
    live = True

    def __init__(self, feed: _Connection) -> None:
        self._conn = feed
        self.on_state = feed.on_state
        self.on_error = feed.on_error

    @property
    def symbols(self) -> list[str]:
        return list(self._conn.symbols)

    async def start(self) -> None:
        await self._conn.start()

    async def stop(self) -> None:
        await self._conn.close()

    async def unwatch(self, symbols: list[str]) -> None:
        await self._conn.unwatch(symbols)

    def advance(self, clock: Clock, tick_ns: int, calendar: MarketHours | None) -> bool:
        raise LiveTradeError(f"the {self.name} feed is the market; wait with run_for() instead")


class FyersSource(_Connected):
    """Fyers' data socket (``feed="fyers"``). ``token_loaded``: the session read the token
    itself (``$FYERS_ACCESS_TOKEN`` / the token file), so a reconnect after a refused token may
    read it again."""

    name = "fyers"

    def __init__(self, feed: FyersFeed, *, token_loaded: bool) -> None:
        super().__init__(feed)
        self.feed = feed
        self.token_loaded = token_loaded

    @property
    def state(self) -> FeedState:
        return self.feed.state

    async def watch(self, symbols: list[str], *, depth: bool = False) -> None:
        await self.feed.watch(symbols, depth=depth)

    async def reconnect(self, timeout: float | None, access_token: str | None) -> FeedState:
        """A ``failed`` feed starts again with every watched symbol; one reconnecting tries
        now. After a refused token the token is read again (see ``token_loaded``)."""
        manager = self.feed.manager
        if access_token is None and self.token_loaded and isinstance(manager.failure, AuthError):
            from livetrade.fyers.credentials import load_access_token

            access_token = load_access_token()
        if access_token is not None:
            await manager.set_access_token(access_token)
        await manager.reconnect(timeout)
        return manager.state


class HubSource(_Connected):
    """Quotes from a ``livetrade hub`` over Redis Streams (``feed="hub"``)."""

    name = "hub"

    def __init__(self, feed: HubFeed) -> None:
        super().__init__(feed)
        self.feed = feed
        self._live_waiters: list[asyncio.Future[None]] = []
        feed.on_state.append(self._wake)

    @property
    def state(self) -> HubFeedState:
        return self.feed.state

    async def watch(self, symbols: list[str], *, depth: bool = False) -> None:
        await self.feed.watch(symbols)  # the hub writes every watched symbol's book anyway

    async def reconnect(self, timeout: float | None, access_token: str | None) -> HubFeedState:
        """The hub reconnects by itself: wait until its quotes flow again."""
        if self.feed.state.status != "live":
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._live_waiters.append(waiter)
            try:
                async with asyncio.timeout(timeout):
                    await waiter
            except TimeoutError:
                raise FeedDisconnected(
                    f"the hub feed is not live after {timeout:g} s (state {self.feed.state})"
                ) from None
            finally:
                if waiter in self._live_waiters:
                    self._live_waiters.remove(waiter)
        return self.feed.state

    def _wake(self, state: HubFeedState) -> None:
        if state.status == "live":
            waiters, self._live_waiters = self._live_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)


def build_feed(config: SessionConfig, stream: LivePriceStream, clock: Clock) -> MarketFeed:
    """The feed ``config.feed`` names, pushing into ``stream`` (Fyers: stamped by ``clock``)."""
    if config.feed == "sim":
        symbols = config.symbols if config.symbols is not None else dict(DEFAULT_SYMBOLS)
        return SimSource(SimulatedMarket(stream, symbols, config.seed))
    if config.feed == "fyers":
        from livetrade.fyers.credentials import FyersConfig
        from livetrade.fyers.feed import FyersFeed

        fyers = config.fyers if config.fyers is not None else FyersConfig.load()
        return FyersSource(FyersFeed(stream, fyers, clock=clock), token_loaded=config.fyers is None)
    if config.feed == "hub":
        try:
            from livetrade.hub.client import HubFeed
        except ImportError as exc:
            raise LiveTradeError(
                "feed='hub' needs the redis client: pip install 'livetrade[hub]'"
            ) from exc

        assert config.hub is not None  # SessionConfig checked it
        return HubSource(HubFeed(stream, config.hub, name=config.name))
    assert config.replay is not None  # SessionConfig checked it
    return ReplaySource(ReplayFeed(stream, config.replay))
