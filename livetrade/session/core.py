"""The session's lifecycle and market time: start, close, step, run_for, and the symbols its
feed quotes (watch, unwatch, reconnect)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Self

from livetrade.errors import FeedDisconnected, InvalidInput, LiveTradeError
from livetrade.market_hours import MarketStatus, default_hours
from livetrade.model import check_symbol, ns_to_datetime
from livetrade.session.feeds import FyersSource
from livetrade.session.state import _SESSIONS, SessionState

if TYPE_CHECKING:
    from livetrade.fyers.stream import FeedState
    from livetrade.hub.client import HubFeedState

log = logging.getLogger("livetrade.session")


class SessionCore(SessionState):
    """One layer of :class:`~livetrade.session.Session` (see ``livetrade.session.state``)."""

    # ------------------------------------------------------------------ lifecycle
    def _start(self) -> None:
        self._step_signal = asyncio.Event()
        self._sample()
        if self.realtime and not self.source.live:
            self._spawn(self._pace(), "market")
        if self.realtime and (self.router is not None or self.fyers_feed is not None):
            self._spawn(self._watch_token(), "token")

    async def _pace(self) -> None:
        """Real-time mode: one market step per ``tick_interval / speed`` seconds."""
        delay = self.tick_interval / self.speed
        while not self.closed:
            await asyncio.sleep(delay)
            if not self.step():
                return

    async def _watch_token(self) -> None:
        """Wall-clock sessions: check the token when a notice is due (at least once a
        minute), so the warning comes even while no tick arrives (before the open)."""
        while not self.closed:
            self._check_token(self.clock.now_ns())
            watch = self._token_watch
            due = 60.0 if watch is None else watch.due_in(self.clock.now_ns() / 1e9)
            await asyncio.sleep(min(max(due, 0.0) + 0.01, 60.0))

    async def close(self) -> None:
        """Stop every task of this session and detach it from its stream (idempotent).
        Live orders stay working at Fyers; reopening the session picks them up."""
        if self.closed:
            return
        self.closed = True
        for server in self._api_servers:
            await server.stop()
        if self.order_socket is not None:
            await self.order_socket.close()
        if self.router is not None:
            await self.router.stop()
            await self.router.client.aclose()
        if self.shadow is not None:
            self.shadow.paper.detach()
        await self.source.stop()
        await self.market_view.aclose()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.engine.remove_listener(self._on_engine_event)
        self.engine.detach()
        self.stream.remove_listener(self._on_tick)
        if self.journal is not None:
            self.journal.close()
        if _SESSIONS.get(self.name) is self:
            del _SESSIONS[self.name]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ market time
    def step(self) -> bool:
        """Advance the market by one step (every simulated symbol ticks once, or one replay
        row). Returns ``False`` when a replay has run out."""
        self._check_open()
        tick_ns = int(self.tick_interval * 1_000_000_000)
        if not self.source.advance(self.clock, tick_ns, self.calendar):
            return False
        self._steps += 1
        self._sample()
        if self._step_signal is not None:
            self._step_signal.set()
        return True

    async def run_for(self, ticks: int | None = None, seconds: float | None = None) -> int:
        """Run the market for ``ticks`` steps (or ``seconds`` of market time); returns the
        number of steps taken. On the virtual clock this is as fast as the CPU allows and yields
        to the event loop every 100 steps so handlers and widgets keep up."""
        self._check_open()
        if ticks is None and seconds is None:
            raise InvalidInput("ticks", "give ticks=N or seconds=S")
        if ticks is not None and (
            isinstance(ticks, bool) or not isinstance(ticks, int) or ticks < 0
        ):
            raise InvalidInput("ticks", "must be a non-negative integer")
        if self.source.live and ticks is None:
            assert seconds is not None
            await asyncio.sleep(seconds)  # real quotes arrive on their own
            return self._steps
        if ticks is None:
            assert seconds is not None
            ticks = max(0, round(seconds / self.tick_interval))
        if self.realtime:
            target = self._steps + ticks
            assert self._step_signal is not None
            while self._steps < target and not self.closed:
                self._step_signal.clear()
                await self._step_signal.wait()
            return ticks
        done = 0
        for i in range(ticks):
            if not self.step():
                break
            done += 1
            if i % 100 == 99:
                await asyncio.sleep(0)
        await asyncio.sleep(0)
        return done

    @property
    def now(self) -> datetime:
        return ns_to_datetime(self.clock.now_ns())

    def market_status(self, exchange: str = "NSE", segment: str = "CM") -> MarketStatus:
        """The exchange's session at this session's clock (``livetrade.market_hours``)."""
        return (self.calendar or default_hours()).status(
            exchange, self.clock.now_ns(), segment=segment
        )

    # ------------------------------------------------------------------ symbols and the feed
    @property
    def symbols(self) -> list[str]:
        return self.source.symbols

    def feed_state(self) -> FeedState | HubFeedState | None:
        """The Fyers or hub connection's state (connecting / live / reconnecting / stalled /
        stale / failed / closed, with the attempt and reason), or ``None`` for a simulated or
        replay feed."""
        return self.source.state

    def add_symbol(self, symbol: str, price: Decimal | str | int = "1000.00") -> None:
        """Add ``symbol`` to the simulated market, starting at ``price`` (rupees)."""
        self._check_open()
        if self.market is None:
            raise LiveTradeError("only a simulated market can add symbols; this session replays")
        self.market.add_symbol(symbol, price)

    async def watch(self, symbols: str | list[str], *, depth: bool = False) -> None:
        """Start receiving quotes for ``symbols``: subscribes on the Fyers feed; on the simulated
        market an unknown symbol starts trading at ₹1000 (``add_symbol`` chooses the price).

        Fyers: ``depth=True`` also subscribes five-level depth (``session.depth(symbol)``; the
        simulated market always has depth), and one ``/data/quotes`` call per 50 symbols
        gives each symbol its first quote before the first tick (an order can be placed at
        once) and the day's open/high/low, previous close (``session.day_stats(symbol)``).
        A failed quotes call is reported on ``error_event``; the subscription stands.

        A Fyers or hub feed that has ``failed`` raises ``FeedDisconnected`` naming its state and
        reason (nothing is subscribed: quotes would never come): ``await session.reconnect()``
        first. One that is reconnecting subscribes anyway -- the symbols are sent when it is
        live again -- and logs a warning saying so."""
        self._check_open()
        wanted = [symbols] if isinstance(symbols, str) else list(symbols)
        for symbol in wanted:
            check_symbol(symbol, "symbols")
        source = self.source
        if not source.live:
            await source.watch(wanted, depth=depth)
            return
        state = source.state
        assert state is not None  # a live feed always has one
        if state.status == "failed":
            raise FeedDisconnected(
                f"the {self.feed} feed has failed ({state.reason or 'no reason given'}); "
                f"nothing was subscribed: restart it with `await session.reconnect()`"
            )
        await source.watch(wanted, depth=depth)
        if isinstance(source, FyersSource):
            await self._opening_quotes(wanted)
        state = source.state
        assert state is not None
        if state.status != "live":
            log.warning(
                "the %s feed is %s: %s will be subscribed once it is live again",
                self.feed,
                state,
                ", ".join(wanted),
            )

    async def _opening_quotes(self, symbols: list[str]) -> None:
        try:
            await self.market_view.opening_quotes(symbols)
        except LiveTradeError as exc:
            log.warning("opening quotes for %s failed: %s", ", ".join(symbols), exc)
            self._report(exc)

    async def unwatch(self, symbols: str | list[str]) -> None:
        """Stop receiving quotes for ``symbols`` (Fyers feed: unsubscribes)."""
        self._check_open()
        await self.source.unwatch([symbols] if isinstance(symbols, str) else list(symbols))

    async def reconnect(
        self, *, access_token: str | None = None, timeout: float | None = 30.0
    ) -> FeedState | HubFeedState:
        """Bring a failed or stalled Fyers (or hub) feed back and wait until it is live; returns
        its state (at once if it is live already).

        Fyers: a ``failed`` feed starts again with every watched symbol; one that is
        reconnecting tries now instead of finishing its backoff delay. After a refused token
        the token is read again -- ``access_token`` if given, else ``$FYERS_ACCESS_TOKEN`` / the
        token file when the session loaded them itself -- so log in again first. Raises
        ``AuthError`` if Fyers refuses the token, or ``FeedDisconnected`` naming the state and
        the last error if the feed is not live within ``timeout`` seconds (it keeps retrying in
        the background). Hub: waits for the hub's quotes to flow again.
        """
        self._check_open()
        return await self.source.reconnect(timeout, access_token)
