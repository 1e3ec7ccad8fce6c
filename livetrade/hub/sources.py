"""What a hub can fan out: the :class:`FeedSource` protocol (start, watch, unwatch, close,
state), the simulated market as one (:class:`SimSource`, paced in real time, resuming each
symbol from the price a previous hub left in Redis), and :func:`make_source`, which builds
``sim`` or ``fyers`` from the command line's choice. No Redis here: the hub hands each source
the stream it writes into.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from livetrade.errors import InvalidInput
from livetrade.events import Event
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, SimulatedMarket
from livetrade.hub.conn import (
    still_running,
)
from livetrade.prices import LivePriceStream


# ====================================================================== feed sources
class _StateLike(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def reason(self) -> str | None: ...


class FeedSource(Protocol):
    """What the hub needs of a feed: :class:`~livetrade.fyers.feed.FyersFeed`'s shape.

    The feed is built around the hub's stream and calls ``stream.push(...)`` for every quote.
    """

    on_state: Event  # livetrade.events: source.on_state += handler

    @property
    def state(self) -> _StateLike: ...

    async def start(self) -> None: ...

    async def watch(self, symbols: list[str]) -> None: ...

    async def unwatch(self, symbols: list[str]) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceState:
    status: str
    reason: str | None = None


class SimSource:
    """The seeded random walk as a hub feed: one market step every ``tick_interval`` seconds of
    wall time, each quote stamped with the wall clock. Only watched symbols are stepped and
    reach the hub; a released symbol's walk is suspended, so watching it again continues its
    path exactly (how long nobody watched it does not change the prices)."""

    def __init__(self, stream: LivePriceStream, *, seed: int | None, tick_interval: float) -> None:
        if not tick_interval > 0:
            raise InvalidInput("tick_interval", "must be positive")
        self.market = SimulatedMarket(stream, {}, seed)
        self.tick_interval = tick_interval
        self.state = SourceState("closed")
        self.on_state = Event("hub source state")
        self.late_steps = 0
        self._watched: dict[str, None] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def symbols(self) -> list[str]:
        return list(self._watched)

    def _set(self, status: str, reason: str | None = None) -> None:
        self.state = SourceState(status, reason)
        self.on_state.emit(self.state)

    def resume(self, symbol: str, last_paise: int) -> None:
        """Start ``symbol``'s walk from ``last_paise`` (the last price the hub published)."""
        if symbol not in self.market.symbols:
            self.market.add_symbol(symbol, DEFAULT_SYMBOLS.get(symbol, Decimal("1000.00")))
        if last_paise > 0 and last_paise % 5 == 0:
            self.market.set_price(symbol, last_paise)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pace(), name="hub:sim")
            self._set("live")

    async def watch(self, symbols: list[str]) -> None:
        """Simulate ``symbols`` (the hub derives their books from each quote)."""
        for s in symbols:
            if s not in self.market.symbols:
                self.market.add_symbol(s, DEFAULT_SYMBOLS.get(s, Decimal("1000.00")))
            self._watched[s] = None

    async def unwatch(self, symbols: list[str]) -> None:
        for s in symbols:
            self._watched.pop(s, None)
            self.market.suspend(s)  # its walk waits: watched again, it continues its path

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set("closed")

    async def _pace(self) -> None:
        """Steps on a fixed schedule (not sleep-after-work), so the rate holds under load; more
        than a second behind, it drops the missed steps rather than bursting them."""
        loop = asyncio.get_running_loop()
        interval = self.tick_interval
        due = loop.time() + interval
        while still_running():
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                if delay < -1.0:
                    self.late_steps += int(-delay / interval)
                    due = loop.time()
                await asyncio.sleep(0)
            if self._watched:
                self.market.step(time.time_ns())
            due += interval


def make_source(
    feed: str, stream: LivePriceStream, *, seed: int | None, tick_interval: float
) -> FeedSource:
    """``sim``: :class:`SimSource`; ``fyers``: :class:`~livetrade.fyers.feed.FyersFeed` with
    the token and URLs from the environment (``FyersConfig.load``)."""
    if feed == "sim":
        return SimSource(stream, seed=seed, tick_interval=tick_interval)
    if feed == "fyers":
        from livetrade.fyers.credentials import FyersConfig
        from livetrade.fyers.feed import FyersFeed

        return FyersFeed(stream, FyersConfig.load())
    raise InvalidInput("feed", f"{feed!r} is not 'sim' or 'fyers'")
