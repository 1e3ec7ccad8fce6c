"""LivePriceStream: the last-quote cache, per-symbol tick history and quote subscriptions.

Every feed (simulated, replay, Fyers) ends in ``push``: a synchronous, allocation-light call that
updates the cache, writes one row of the columnar tick history and hands the tick to the engine
before anything else runs. ``PriceQuote`` objects are only built when someone asks for one.
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from livetrade.errors import InvalidInput
from livetrade.events import Event
from livetrade.model import PriceQuote, check_symbol, datetime_to_ns, ns_to_datetime
from livetrade.money import from_paise, to_paise

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("livetrade.prices")

TickListener = Callable[[str, int, int, int, int], None]
"""``(symbol, bid, ask, last, ts_ns)`` with prices in paise: the engine's hot-path signature."""

QuoteCallback = Callable[[PriceQuote], "Awaitable[None] | None"]

BarHook = Callable[[int, int, int, int], int]
"""One symbol's candle builder (``livetrade.bars``): ``hook(ts_ns, high, low, n)`` is called by
the first tick at or past the end of its base bar, with the high and low (paise) of the ticks
since the previous call and the tick count ``n`` (this tick included); it folds those ticks
and returns the next end."""


_MAX_PAISE = 10**14  # ₹10,000 crore: far above any price, far below the int64 columns
NEVER_LOW = -1
NEVER_HIGH = 1 << 62


class TriggerBook(Protocol):
    """The engine's resting triggers of one symbol. The stream compares the levels the book
    published (``set_levels``, paise) inline on every tick and calls ``fire`` only when a tick
    crosses one: last <= sell stop, last >= buy stop, bid >= sell limit, ask <= buy limit.
    """

    def fire(self, bid: int, ask: int, last: int, ts_ns: int) -> None: ...


class _Slot:
    """One symbol's tick history: typed-array columns used as a ring. The newest row *is* the
    quote cache, so a tick is written once."""

    __slots__ = (
        "alloc",
        "bar_gate",
        "bar_hi",
        "bar_lo",
        "bar_next",
        "bars",
        "bl_lvl",
        "book",
        "bs_lvl",
        "cap",
        "h_ask",
        "h_bid",
        "h_last",
        "h_ts",
        "h_vol",
        "quote",
        "quote_at",
        "sl_lvl",
        "ss_lvl",
        "subs",
        "symbol",
        "w",
        "wraps",
    )

    def __init__(self, symbol: str, cap: int) -> None:
        self.symbol = symbol
        self.w = 0  # next write position in the columns
        self.wraps = 0  # times the ring wrapped around
        self.alloc = 0  # rows the columns have room for
        self.cap = cap
        self.h_ts = array("q")
        self.h_bid = array("q")
        self.h_ask = array("q")
        self.h_last = array("q")
        self.h_vol = array("q")
        self.quote: PriceQuote | None = None
        self.quote_at = -1  # tick count ``quote`` was built at
        self.subs: Event | None = None  # quote callbacks (subscribe); None: nobody listens
        self.book: TriggerBook | None = None
        self.bars: BarHook | None = None  # candles of this symbol (livetrade.bars), if in use
        self.bar_gate = NEVER_HIGH  # -NEVER_HIGH (every tick enters) for symbols with candles
        self.bar_next = NEVER_HIGH  # end of the candles' base bar in progress
        self.bar_hi = NEVER_LOW  # high and low of its ticks so far
        self.bar_lo = NEVER_HIGH
        self.set_levels(NEVER_LOW, NEVER_HIGH, NEVER_HIGH, NEVER_LOW)

    def set_levels(self, ss: int, bs: int, sl: int, bl: int) -> None:
        """The best trigger levels the stream checks inline (see ``TriggerBook``)."""
        self.ss_lvl = ss
        self.bs_lvl = bs
        self.sl_lvl = sl
        self.bl_lvl = bl

    @property
    def n(self) -> int:
        """Ticks ever written."""
        return self.wraps * self.cap + self.w

    def newest(self) -> int:
        """Row index of the latest tick (call only when ``n`` > 0)."""
        return self.w - 1 if self.w else self.alloc - 1

    def top(self) -> tuple[int, int, int, int]:
        i = self.newest()
        return self.h_bid[i], self.h_ask[i], self.h_last[i], self.h_ts[i]

    def make_quote(self) -> PriceQuote:
        q = self.quote
        n = self.n
        if q is None or self.quote_at != n:
            i = self.newest()
            q = self.quote = PriceQuote(
                symbol=self.symbol,
                bid_price=from_paise(self.h_bid[i]),
                ask_price=from_paise(self.h_ask[i]),
                last_price=from_paise(self.h_last[i]),
                volume=self.h_vol[i],
                timestamp=ns_to_datetime(self.h_ts[i]),
            )
            self.quote_at = n
        return q

    def ordered(self, column: array[int]) -> list[int]:
        """The column oldest → newest (unrolls the ring)."""
        if not self.wraps:
            return column[: self.w].tolist()
        return column[self.w :].tolist() + column[: self.w].tolist()

    def room(self) -> int:
        """Where the next row goes once the columns are full: grow them (doubling, up to
        ``cap``) or wrap to the oldest row. Runs once per doubling or wrap, not per tick."""
        size = self.alloc
        if size < self.cap:
            extra = min(max(size, 64), self.cap - size)
            for col in (self.h_ts, self.h_bid, self.h_ask, self.h_last, self.h_vol):
                col.extend(array(col.typecode, [0]) * extra)
            self.alloc = size + extra
            return self.w
        self.wraps += 1
        return 0


class QuoteSubscription:
    """``async for quote in stream.quotes("NSE:SBIN-EQ")``: a bounded queue of quotes.

    A slow reader never slows the feed: when the queue is full the oldest quote is dropped and
    ``dropped`` counts how many were lost.
    """

    def __init__(self, stream: LivePriceStream, symbols: tuple[str, ...], maxsize: int) -> None:
        self._stream = stream
        self._symbols = symbols
        self._queue: deque[PriceQuote] = deque(maxlen=maxsize)
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self.dropped = 0
        for s in symbols:
            stream.subscribe(s, self._put)

    def _put(self, quote: PriceQuote) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(quote)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for s in self._symbols:
                self._stream.unsubscribe(s, self._put)
            w = self._waiter
            if w is not None and not w.done():
                w.set_result(None)

    def __aiter__(self) -> QuoteSubscription:
        return self

    async def __anext__(self) -> PriceQuote:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None
        return self._queue.popleft()

    async def __aenter__(self) -> QuoteSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class LivePriceStream:
    """In-memory quote cache and subscriptions (the original API plus a fast synchronous core).

    ``history`` is the ring-buffer capacity per symbol (ticks kept); memory is about 40 bytes a
    tick, allocated as ticks arrive.
    """

    def __init__(self, history: int = 100_000) -> None:
        if history < 1:
            raise InvalidInput("history", "must keep at least one tick")
        self._history = history
        self._slots: dict[str, _Slot] = {}
        self.errors: list[BaseException] = []
        # one event style (livetrade.events): stream.tick_event += listener (``add_listener`` is
        # the older spelling); a failing listener or callback is reported on error_event
        # (``on_error`` is its single-slot spelling), never raised into the feed
        self.tick_event = Event("tick", self._failed)  # listener(symbol, bid, ask, last, ts_ns)
        self.error_event = Event("error")

    @property
    def on_error(self) -> Callable[[BaseException], None] | None:
        return self.error_event.first()

    @on_error.setter
    def on_error(self, handler: Callable[[BaseException], None] | None) -> None:
        self.error_event.set(handler)

    # ---- the original API -------------------------------------------------------------
    async def update_price(self, symbol: str, quote: PriceQuote) -> None:
        """Store ``quote`` as the latest for ``symbol`` and notify the engine and subscribers."""
        self.update_price_nowait(symbol, quote)

    async def get_current_price(self, symbol: str) -> PriceQuote | None:
        """The latest quote for ``symbol``, or ``None`` if none has arrived."""
        return self.quote(symbol)

    # ---- synchronous core ---------------------------------------------------------------
    def update_price_nowait(self, symbol: str, quote: PriceQuote) -> None:
        """Validate a ``PriceQuote`` (Decimal rupees) and push it."""
        if quote.symbol != symbol:
            raise InvalidInput("symbol", f"quote is for {quote.symbol!r}, not {symbol!r}")
        last = to_paise(quote.last_price, "last_price")
        bid = to_paise(quote.bid_price, "bid_price") if quote.bid_price else last
        ask = to_paise(quote.ask_price, "ask_price") if quote.ask_price else last
        if last <= 0:
            raise InvalidInput("last_price", "must be positive")
        if max(bid, ask, last) >= _MAX_PAISE:
            raise InvalidInput("last_price", "is beyond any traded price (max ₹10,000 crore)")
        if bid > ask:
            raise InvalidInput("bid_price", f"bid {quote.bid_price} is above ask {quote.ask_price}")
        vol = quote.volume
        if isinstance(vol, bool) or not isinstance(vol, int) or not 0 <= vol < 1 << 63:
            raise InvalidInput("volume", f"must be a non-negative integer, got {quote.volume!r}")
        self.push(symbol, bid, ask, last, quote.volume, datetime_to_ns(quote.timestamp), quote)

    def push(
        self,
        symbol: str,
        bid: int,
        ask: int,
        last: int,
        volume: int,
        ts_ns: int,
        quote: PriceQuote | None = None,
    ) -> None:
        """The hot path: prices in paise. Cache, history row, engine triggers, then subscribers."""
        try:
            slot = self._slots[symbol]
        except KeyError:
            slot = self._slot(symbol)
        w = slot.w
        if w == slot.alloc:
            w = slot.room()
        slot.h_ts[w] = ts_ns
        slot.h_bid[w] = bid
        slot.h_ask[w] = ask
        slot.h_last[w] = last
        slot.h_vol[w] = volume
        slot.w = w + 1
        if quote is not None:  # the caller's own object is what get_current_price returns
            slot.quote = quote
            slot.quote_at = slot.n
        if last <= slot.ss_lvl or last >= slot.bs_lvl or bid >= slot.sl_lvl or ask <= slot.bl_lvl:
            slot.book.fire(bid, ask, last, ts_ns)  # type: ignore[union-attr]
        listeners = self.tick_event._handlers  # read, not called: no cost without listeners
        if listeners:
            for listener in listeners:
                try:
                    listener(symbol, bid, ask, last, ts_ns)
                except Exception as exc:  # a listener must never break the feed
                    self._tick_failed(exc)
        if ts_ns >= slot.bar_gate:  # candles are kept (livetrade.bars): one compare if not
            if ts_ns >= slot.bar_next:  # the base bar ended: fold it into every timeframe
                slot.bar_next = slot.bars(  # type: ignore[misc]
                    ts_ns, slot.bar_hi, slot.bar_lo, slot.wraps * slot.cap + w + 1
                )
                slot.bar_hi = slot.bar_lo = last
            elif last > slot.bar_hi:
                slot.bar_hi = last
            elif last < slot.bar_lo:
                slot.bar_lo = last
        if slot.subs is not None:
            slot.subs.emit(slot.make_quote())  # sync or async; a failing one is reported

    def _tick_failed(self, exc: BaseException) -> None:
        log.warning("tick listener failed: %r", exc, exc_info=exc)
        self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        """The ``on_error`` of the stream's events (they log the failure themselves)."""
        self.errors.append(exc)
        del self.errors[:-100]
        self.error_event.emit(exc)

    def _slot(self, symbol: str) -> _Slot:
        """The symbol's slot; a symbol seen for the first time is validated here, once, so
        every feed, the REST API and the original ``update_price`` share one rule."""
        slot = self._slots.get(symbol)
        if slot is None:
            slot = self._slots[symbol] = _Slot(check_symbol(symbol), self._history)
        return slot

    # ---- listeners and subscriptions ----------------------------------------------------
    def attach_book(self, symbol: str, book: TriggerBook) -> None:
        """Let ``book`` fire on ``symbol``'s ticks; it publishes its best levels with
        ``set_levels`` and the stream compares them inline (one engine per stream)."""
        slot = self._slot(symbol)
        if slot.book is not None and slot.book is not book:
            raise InvalidInput("price_stream", f"another engine already trades {symbol} here")
        slot.book = book

    def set_levels(self, symbol: str, ss: int, bs: int, sl: int, bl: int) -> None:
        """Publish ``symbol``'s best trigger levels (sell stop, buy stop, sell limit, buy limit)."""
        self._slot(symbol).set_levels(ss, bs, sl, bl)

    def detach_book(self, symbol: str, book: TriggerBook) -> None:
        slot = self._slots.get(symbol)
        if slot is not None and slot.book is book:
            slot.book = None
            slot.set_levels(NEVER_LOW, NEVER_HIGH, NEVER_HIGH, NEVER_LOW)

    def add_listener(self, listener: TickListener) -> None:
        """Register a synchronous tick handler for every symbol (the same as
        ``tick_event += listener``)."""
        self.tick_event.connect(listener)

    def remove_listener(self, listener: TickListener) -> None:
        self.tick_event.disconnect(listener)

    def set_bar_hook(self, symbol: str, hook: BarHook | None) -> None:
        """Keep the running high/low of ``symbol``'s ticks for ``hook`` (see ``BarHook``),
        which the next tick calls first; ``None`` removes it. Symbols without one pay a single
        comparison a tick."""
        slot = self._slot(symbol)
        slot.bars = hook
        slot.bar_gate = NEVER_HIGH if hook is None else -NEVER_HIGH
        slot.bar_next = NEVER_HIGH if hook is None else -NEVER_HIGH
        slot.bar_hi, slot.bar_lo = NEVER_LOW, NEVER_HIGH

    def tick_ring(self, symbol: str) -> tuple[array[int], array[int], int]:
        """``symbol``'s ring columns of last price and volume (the same objects for the life of
        the stream) and its capacity: tick number ``k`` sits at row ``k % capacity`` while it is
        kept (the last ``capacity`` ticks)."""
        slot = self._slot(symbol)
        return slot.h_last, slot.h_vol, slot.cap

    def bar_extremes(self, symbol: str) -> tuple[int, int]:
        """High and low of the ticks since the bar hook was last called."""
        slot = self._slot(symbol)
        return slot.bar_hi, slot.bar_lo

    def run_summary(self, symbol: str, start: int, stop: int) -> tuple[int, int, int, int] | None:
        """Ticks number ``start`` to ``stop - 1`` still kept, summed up for a candle:
        ``(first last, final last, first volume, final volume)`` (four reads, no pass), or
        ``None`` if there are none."""
        slot = self._slots.get(symbol)
        if slot is None:
            return None
        n, cap = slot.n, slot.cap
        lo, hi = max(start, n - cap, 0), min(stop, n)
        if hi <= lo:
            return None
        p0, p1 = lo % cap, (hi - 1) % cap
        return slot.h_last[p0], slot.h_last[p1], slot.h_vol[p0], slot.h_vol[p1]

    def tick_range(
        self, symbol: str, start: int, stop: int
    ) -> tuple[array[int], array[int], array[int]]:
        """Ticks number ``start`` to ``stop - 1`` (counting every tick ever pushed for
        ``symbol``) that the ring still keeps: ``(ts_ns, last paise, volume)`` columns."""
        slot = self._slots.get(symbol)
        n = 0 if slot is None else slot.n
        assert slot is not None or n == 0
        lo, hi = max(start, n - (slot.cap if slot else 0), 0), min(stop, n)
        if slot is None or hi <= lo:
            return array("q"), array("q"), array("q")
        cap = slot.cap
        p0, p1 = lo % cap, hi % cap
        if p0 < p1:
            return slot.h_ts[p0:p1], slot.h_last[p0:p1], slot.h_vol[p0:p1]
        return (
            slot.h_ts[p0:] + slot.h_ts[:p1],
            slot.h_last[p0:] + slot.h_last[:p1],
            slot.h_vol[p0:] + slot.h_vol[:p1],
        )

    def tick_columns(self, symbol: str) -> tuple[list[int], list[int], list[int]]:
        """The kept ticks of ``symbol`` oldest first: ``(ts_ns, last paise, volume)``."""
        slot = self._slots.get(symbol)
        if slot is None:
            return [], [], []
        return slot.ordered(slot.h_ts), slot.ordered(slot.h_last), slot.ordered(slot.h_vol)

    def subscribe(self, symbol: str, callback: QuoteCallback) -> None:
        """Call ``callback(quote)`` on every quote for ``symbol`` (sync or async callables);
        a failing one is logged and reported on ``error_event``."""
        slot = self._slot(symbol)
        if slot.subs is None:
            slot.subs = Event(f"quotes of {symbol}", self._failed)
        slot.subs += callback

    def unsubscribe(self, symbol: str, callback: QuoteCallback | None = None) -> None:
        """Remove ``callback`` (or every callback) for ``symbol``."""
        slot = self._slots.get(symbol)
        if slot is None:
            return
        if slot.subs is not None and callback is not None:
            slot.subs -= callback
        if slot.subs is not None and (callback is None or not slot.subs):
            slot.subs = None  # no callback left: the tick path skips building quotes

    def quotes(self, *symbols: str, maxsize: int = 1_000) -> QuoteSubscription:
        """An async iterator of quotes for ``symbols``; close it (or leave its ``async with``)."""
        if not symbols:
            raise InvalidInput("symbols", "name at least one symbol")
        return QuoteSubscription(self, symbols, maxsize)

    # ---- reading ------------------------------------------------------------------------
    def quote(self, symbol: str) -> PriceQuote | None:
        slot = self._slots.get(symbol)
        if slot is None or slot.n == 0:
            return None
        return slot.make_quote()

    def top(self, symbol: str) -> tuple[int, int, int, int] | None:
        """``(bid, ask, last, ts_ns)`` in paise, or ``None``: what the engine reads."""
        slot = self._slots.get(symbol)
        if slot is None or slot.n == 0:
            return None
        return slot.top()

    def last_paise(self, symbol: str) -> int | None:
        slot = self._slots.get(symbol)
        return None if slot is None or slot.n == 0 else slot.h_last[slot.newest()]

    @property
    def symbols(self) -> list[str]:
        return [s for s, slot in self._slots.items() if slot.n]

    def tick_count(self, symbol: str) -> int:
        slot = self._slots.get(symbol)
        return 0 if slot is None else slot.n

    def history(self, symbol: str) -> dict[str, list[Any]]:
        """The kept ticks of ``symbol``, oldest first, as columns (prices in ``Decimal``)."""
        slot = self._slots.get(symbol)
        if slot is None:
            return {"ts_ns": [], "bid": [], "ask": [], "last": [], "volume": []}
        return {
            "ts_ns": slot.ordered(slot.h_ts),
            "bid": [from_paise(p) for p in slot.ordered(slot.h_bid)],
            "ask": [from_paise(p) for p in slot.ordered(slot.h_ask)],
            "last": [from_paise(p) for p in slot.ordered(slot.h_last)],
            "volume": slot.ordered(slot.h_vol),
        }

    def history_df(self, symbol: str | None = None) -> pd.DataFrame:
        """Tick history as a DataFrame (``timestamp`` in Asia/Kolkata, prices as floats)."""
        import pandas as pd

        frames = []
        for sym in [symbol] if symbol else self.symbols:
            slot = self._slots.get(sym)
            if slot is None:
                continue
            cols = {
                "timestamp": pd.to_datetime(slot.ordered(slot.h_ts), unit="ns", utc=True),
                "symbol": sym,
                "bid": [p / 100 for p in slot.ordered(slot.h_bid)],
                "ask": [p / 100 for p in slot.ordered(slot.h_ask)],
                "last": [p / 100 for p in slot.ordered(slot.h_last)],
                "volume": slot.ordered(slot.h_vol),
            }
            frames.append(pd.DataFrame(cols))
        if not frames:
            return pd.DataFrame(
                {
                    "timestamp": pd.Series([], dtype="datetime64[ns, Asia/Kolkata]"),
                    "symbol": pd.Series([], dtype=object),
                    "bid": pd.Series([], dtype=float),
                    "ask": pd.Series([], dtype=float),
                    "last": pd.Series([], dtype=float),
                    "volume": pd.Series([], dtype="int64"),
                }
            )
        df = pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable")
        df["timestamp"] = df["timestamp"].dt.tz_convert("Asia/Kolkata")
        return df.reset_index(drop=True)

    def age_ns(self, symbol: str, now_ns: int) -> int | None:
        """How old the latest quote is at ``now_ns`` (``None`` if there is none)."""
        slot = self._slots.get(symbol)
        return None if slot is None or slot.n == 0 else now_ns - slot.h_ts[slot.newest()]

    def __repr__(self) -> str:
        return f"LivePriceStream({len(self.symbols)} symbols)"
