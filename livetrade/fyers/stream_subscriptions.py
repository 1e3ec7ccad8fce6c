"""The Fyers data stream's subscriptions: the wanted topics (quote and depth) per symbol,
the symbol-token look-ups that map a symbol to its topic, the 5,000-topic limit, and the sync
that makes a live connection's subscriptions equal the wanted set, each topic sent exactly once
(also after a reconnect). A layer of
:class:`~livetrade.fyers.stream.FyersWebSocketManager`; it only queues frames on a connection
the manager opened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Final

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from livetrade.errors import (
    InvalidInput,
)
from livetrade.events import Event as Hook
from livetrade.fyers.codec import (
    DataCodec,
    Tick,
)
from livetrade.fyers.rest import SymbolTokenClient
from livetrade.fyers.stream_delivery import QuoteCallback, _Delivery
from livetrade.fyers.symbols import DataType, map_symbols, parse_symbol

MAX_SYMBOLS: Final = 5000
"""Topics one data connection may carry (SDK check and Fyers docs, spec 1.10)."""


class _Link:
    """One websocket connection, its codec and what was subscribed on it."""

    __slots__ = ("codec", "drop_reason", "last_data", "live", "subscribed", "tasks", "ws")

    def __init__(self, ws: ClientConnection, codec: DataCodec) -> None:
        self.ws = ws
        self.codec = codec
        self.subscribed: set[str] = set()
        self.live = False
        self.last_data = 0.0
        self.drop_reason: str | None = None
        self.tasks: list[asyncio.Task[None]] = []


class _Subscriptions(_Delivery):
    """The manager's subscription layer (see the module docstring)."""

    # set by FyersWebSocketManager.__init__
    channel: int
    _topics: dict[str, str]  # desired subscriptions: topic → symbol
    _symbol_topic: dict[str, str]  # symbol → topic
    _depth_topic: dict[str, str]  # symbol → its dp| topic, if depth is wanted
    _fytokens: dict[str, str]  # symbol-token answers, kept across reconnects
    _rest: SymbolTokenClient
    _lookup_lock: asyncio.Lock | None
    _link: _Link | None  # the current connection (the manager opens it)

    @property
    def symbols(self) -> list[str]:
        """Subscribed Fyers symbols, in subscription order."""
        return list(self._symbol_topic)

    @property
    def topics(self) -> dict[str, str]:
        """Subscribed HSM topics → Fyers symbol (a copy)."""
        return dict(self._topics)

    # ---- subscriptions -----------------------------------------------------------------------

    async def _flush(self, link: _Link) -> None:
        for frame in link.codec.data_to_send():
            await link.ws.send(frame)

    def _sync(self, link: _Link) -> None:
        """Make the link's subscriptions equal the desired set: each topic sent exactly once.

        Synchronous (no await between the diff and queueing), so concurrent subscribe calls and
        a reconnect's resubscription can never send a topic twice or miss one.
        """
        codec = link.codec
        have = link.subscribed
        drop = [t for t in have if t not in self._topics]
        add = [t for t in self._topics if t not in have]
        if drop:
            codec.unsubscribe(drop, self.channel)
            codec.unmap_symbols(drop)
            have.difference_update(drop)
            self.stats.unsubscribe_frames += 1
        if add:
            codec.map_symbols({t: self._topics[t] for t in add})
            codec.subscribe(add, self.channel)
            have.update(add)
            self.stats.subscribe_frames += 1

    async def _sync_live(self) -> None:
        link = self._link
        if link is None or not link.live:
            return  # the next connection subscribes everything
        self._sync(link)
        with contextlib.suppress(ConnectionClosed):  # the reconnect resubscribes
            await self._flush(link)

    async def subscribe(
        self,
        symbols: Iterable[str],
        callback: QuoteCallback | None = None,
        *,
        depth: bool = False,
    ) -> list[str]:
        """Subscribe several symbols at once (one symbol-token call, one subscribe frame).

        All or nothing: an unknown or malformed symbol raises ``InvalidInput`` naming it and
        nothing is subscribed. More than 5,000 topics in total raises before anything is
        sent. Works before :meth:`connect` too (sent when the connection is live). Returns the
        symbols newly subscribed. ``depth=True`` also subscribes each scrip's five-level depth
        (``dp|`` topic, one more topic per symbol; indexes have none and are skipped).
        """
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = list(dict.fromkeys(symbols))
        for s in wanted:
            parse_symbol(s)
        new = [s for s in wanted if s not in self._symbol_topic]
        self._check_limit(len(new))
        if new:
            if self._lookup_lock is None:
                self._lookup_lock = asyncio.Lock()
            async with self._lookup_lock:
                new = [s for s in new if s not in self._symbol_topic]
                self._check_limit(len(new))
                await self._add(new)
        if depth:
            self._add_depth(wanted)
        if callback is not None:
            for s in wanted:
                hook = self._symbol_callbacks.get(s)
                if hook is None:
                    hook = self._symbol_callbacks[s] = Hook(f"quotes of {s}", self._report)
                hook += callback
        await self._sync_live()
        return new

    def _check_limit(self, extra: int) -> None:
        total = len(self._topics) + extra
        if total > MAX_SYMBOLS:
            raise InvalidInput(
                "symbols",
                f"{total} symbols requested; one Fyers data connection carries at most "
                f"{MAX_SYMBOLS} (nothing was sent)",
            )

    async def _add(self, new: list[str]) -> None:
        missing = [s for s in new if s not in self._fytokens]
        invalid: list[str] = []
        if missing:
            answer = await self._rest.lookup(missing)
            self._fytokens.update(answer.valid)
            invalid = [s for s in missing if s not in answer.valid]
        mapped = map_symbols({s: self._fytokens[s] for s in new if s in self._fytokens})
        problems = [f"{s} (unknown to Fyers)" for s in invalid]
        problems += [f"{s} ({why})" for s, why in mapped.rejected.items()]
        problems += [
            f"{s} (same topic {t} as {self._topics[t]})"
            for t, s in mapped.topics.items()
            if t in self._topics
        ]
        if problems:
            raise InvalidInput("symbols", "cannot subscribe: " + "; ".join(problems))
        for topic, symbol in mapped.topics.items():
            self._topics[topic] = symbol
            self._symbol_topic[symbol] = topic

    def _add_depth(self, symbols: list[str]) -> None:
        """The depth topics of ``symbols`` (already subscribed, so their fytokens are known)."""
        wanted = {
            s: self._fytokens[s]
            for s in symbols
            if s not in self._depth_topic and s in self._fytokens and not parse_symbol(s).is_index
        }
        mapped = map_symbols(wanted, DataType.DEPTH)
        self._check_limit(len(mapped.topics))
        for topic, symbol in mapped.topics.items():
            self._topics[topic] = symbol
            self._depth_topic[symbol] = topic

    def depth_symbols(self) -> list[str]:
        """The symbols whose depth is subscribed."""
        return list(self._depth_topic)

    def latest(self, symbol: str, *, depth: bool = False) -> Tick | None:
        """The current merged state of ``symbol``'s quote (or depth) topic on the live
        connection, as the codec keeps it (``None`` before its snapshot). Read on demand:
        nothing is copied per tick."""
        topic = (self._depth_topic if depth else self._symbol_topic).get(symbol)
        link = self._link
        if topic is None or link is None:
            return None
        return link.codec.latest(topic)

    async def unsubscribe(self, symbols: Iterable[str]) -> list[str]:
        """Unsubscribe symbols (unknown ones are ignored); returns those removed."""
        if isinstance(symbols, str):
            symbols = [symbols]
        removed = []
        for s in dict.fromkeys(symbols):
            topic = self._symbol_topic.pop(s, None)
            self._symbol_callbacks.pop(s, None)
            depth_topic = self._depth_topic.pop(s, None)
            if depth_topic is not None:
                del self._topics[depth_topic]
            if topic is not None:
                del self._topics[topic]
                removed.append(s)
        if removed:
            await self._sync_live()
        return removed

    async def subscribe_to_symbol(self, symbol: str, callback: QuoteCallback | None = None) -> None:
        """Subscribe one symbol; ``callback(quote)`` gets its ``PriceQuote``s (sync or async)."""
        await self.subscribe([symbol], callback)

    async def unsubscribe_from_symbol(self, symbol: str) -> None:
        await self.unsubscribe([symbol])
