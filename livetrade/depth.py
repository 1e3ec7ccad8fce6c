"""Market depth (five levels a side) and the day's reference prices, sans I/O.

Why it is built this way:

* **Depth is stored the way it arrives.** A Fyers depth record (``dp|…``, spec 1.6) is 30
  integers: five bid prices, five ask prices, five bid sizes, five ask sizes, five bid order
  counts, five ask order counts. :class:`DepthStore` keeps that tuple per symbol as it is (one
  dict assignment, O(1)), and builds the frozen :class:`Depth` only when someone reads it.
* **The simulated market's depth is a function, not a feed.** :func:`simulated_levels` derives
  five levels from the quote's bid/ask and a seed, on read: nothing is added to the tick path,
  the best levels always equal the quote's bid/ask, and the same seed, symbol, instant and
  quote give the same book (the fake Fyers server uses the same function, so the REST depth,
  the socket's depth records and a simulated session agree).
* **Day statistics** (:class:`DayStats`): open, high, low, previous close and the circuit
  limits, in paise inside and ``Decimal`` outside; ``None`` where a source does not say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from livetrade.errors import InvalidInput
from livetrade.model import ns_to_datetime
from livetrade.money import from_paise

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEPTH_WIDTH",
    "LEVELS",
    "DayStats",
    "DayStatsStore",
    "Depth",
    "DepthStore",
    "depth_frame",
    "simulated_book",
    "simulated_levels",
]

LEVELS: Final = 5
DEPTH_WIDTH: Final = 6 * LEVELS
"""Values in a depth record: bid/ask prices, bid/ask sizes, bid/ask order counts (spec 1.6)."""

TICK: Final = 5  # paise

Level = tuple[Decimal, int, int]
"""One depth level: ``(price in rupees, quantity, orders)``."""


@dataclass(frozen=True, slots=True)
class Depth:
    """Five levels a side for one symbol at ``ts``: ``bids`` best (highest) first, ``asks``
    best (lowest) first; each level is ``(price Decimal rupees, quantity, orders)``. Empty
    levels (no price) are left out, so a thin book has fewer than five."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: datetime

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None


def _paise(raw: int | None, divisor: int) -> int:
    if not raw:
        return 0
    if divisor == 100:
        return raw
    return (raw * 200 + divisor) // (2 * divisor)  # half-up to the paisa


def depth_from_values(
    symbol: str, values: Sequence[int | None], ts_ns: int, divisor: int = 100
) -> Depth:
    """A :class:`Depth` from a 30-value depth record (prices scaled by ``divisor``; 100 means
    the raw values are paise)."""
    if len(values) < DEPTH_WIDTH:
        raise InvalidInput("values", f"a depth record has {DEPTH_WIDTH} values, got {len(values)}")

    def side(price_at: int, size_at: int, orders_at: int) -> tuple[Level, ...]:
        out = []
        for i in range(LEVELS):
            p = _paise(values[price_at + i], divisor)
            if p <= 0:
                continue
            out.append((from_paise(p), values[size_at + i] or 0, values[orders_at + i] or 0))
        return tuple(out)

    return Depth(symbol, side(0, 10, 20), side(5, 15, 25), ns_to_datetime(ts_ns))


class DepthStore:
    """The latest depth record of each symbol. :meth:`update` is the hot path (one tuple stored,
    nothing converted); :meth:`get` builds the :class:`Depth` on read."""

    __slots__ = ("_books",)

    def __init__(self) -> None:
        self._books: dict[str, tuple[Sequence[int | None], int, int]] = {}

    def update(
        self, symbol: str, values: Sequence[int | None], ts_ns: int, divisor: int = 100
    ) -> None:
        """Store ``symbol``'s 30-value depth record (the full merged state, as the codec's
        depth ticks carry it)."""
        self._books[symbol] = (values, ts_ns, divisor)

    def set_levels(
        self,
        symbol: str,
        bids: Sequence[tuple[int, int, int]],
        asks: Sequence[tuple[int, int, int]],
        ts_ns: int,
    ) -> None:
        """Store levels given as ``(price paise, quantity, orders)`` (at most five a side)."""
        if len(bids) > LEVELS or len(asks) > LEVELS:
            raise InvalidInput("bids", f"at most {LEVELS} levels a side")
        values = [0] * DEPTH_WIDTH
        for base, levels in ((0, bids), (5, asks)):
            for i, (price, qty, orders) in enumerate(levels):
                values[base + i] = price
                values[base + 10 + i] = qty
                values[base + 20 + i] = orders
        self._books[symbol] = (tuple(values), ts_ns, 100)

    def get(self, symbol: str) -> Depth | None:
        book = self._books.get(symbol)
        if book is None:
            return None
        values, ts_ns, divisor = book
        return depth_from_values(symbol, values, ts_ns, divisor)

    def discard(self, symbol: str) -> None:
        self._books.pop(symbol, None)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._books

    def __len__(self) -> int:
        return len(self._books)

    def __repr__(self) -> str:
        return f"DepthStore({len(self._books)} symbols)"


_HASHERS: dict[int, hashlib.blake2b] = {}  # seed -> keyed blake2b state, copied per read
_QTY_DRAW: Final = tuple(1 + b % 60 for b in range(256))  # a draw byte -> lots at a level


def _draw(seed: int, symbol: str, bid: int, ask: int, ts_ns: int) -> bytes:
    hasher = _HASHERS.get(seed)
    if hasher is None:
        if len(_HASHERS) >= 64:
            _HASHERS.clear()
        hasher = _HASHERS[seed] = hashlib.blake2b(digest_size=30, key=str(seed).encode()[:64])
    hasher = hasher.copy()
    hasher.update(f"{symbol}:{ts_ns}:{bid}:{ask}".encode())
    return hasher.digest()


def simulated_book(
    seed: int, symbol: str, bid: int, ask: int, ts_ns: int, *, tick: int = TICK, lot: int = 5
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The ``(price, quantity)`` levels of :func:`simulated_levels` as ``(bids, asks)``, best
    first, without the order counts or the 30-value record: what a paper fill walks
    (``fills="depth"``), built on every tick that fills, so kept lean. The same book as
    ``book_from_record(simulated_levels(...))`` (tests check it)."""
    d = _draw(seed, symbol, bid, ask, ts_ns)
    qty = _QTY_DRAW
    bids: list[tuple[int, int]] = []
    price = bid
    for i in range(LEVELS):
        if price <= 0:
            break
        bids.append((price, qty[d[10 + i]] * lot))
        price -= tick << (d[i] & 1)
    asks: list[tuple[int, int]] = []
    price = ask
    for i in range(LEVELS, 2 * LEVELS):
        if price:  # the record's rule: an empty price is no level
            asks.append((price, qty[d[10 + i]] * lot))
        price += tick << (d[i] & 1)
    return bids, asks


def simulated_levels(
    seed: int,
    symbol: str,
    bid: int,
    ask: int,
    ts_ns: int,
    top_sizes: tuple[int, int] | None = None,
    *,
    tick: int = TICK,
    lot: int = 5,
) -> tuple[int, ...]:
    """A deterministic 30-value depth record around ``bid``/``ask`` (paise): the best levels
    are the quote's bid and ask, each further level one or two ``tick`` away (bids stop before
    zero), quantities (multiples of ``lot``) and order counts drawn from
    ``(seed, symbol, ts_ns, bid, ask)``. ``top_sizes`` fixes the best bid/ask quantities (the
    quote's bid/ask sizes). A derivative passes its tick and lot size."""
    # one keyed hash gives every draw (a seeded Random and 30 randint calls cost ~20 µs a read,
    # which a depth-walking fill pays on every tick that fills); the keyed state is made once
    # per seed and copied (a keyed blake2b costs more to set up than to run)
    d = _draw(seed, symbol, bid, ask, ts_ns)
    b1 = bid - (tick << (d[0] & 1))  # each level one or two ticks further out
    b2 = b1 - (tick << (d[1] & 1))
    b3 = b2 - (tick << (d[2] & 1))
    b4 = b3 - (tick << (d[3] & 1))
    a1 = ask + (tick << (d[5] & 1))
    a2 = a1 + (tick << (d[6] & 1))
    a3 = a2 + (tick << (d[7] & 1))
    a4 = a3 + (tick << (d[8] & 1))
    prices = [bid, b1, b2, b3, b4, ask, a1, a2, a3, a4]
    if b4 <= 0:  # bids stop before zero
        for i in range(LEVELS):
            if prices[i] <= 0:
                prices[i:LEVELS] = [0] * (LEVELS - i)
                break
    qtys = [0] * (2 * LEVELS)
    counts = [0] * (2 * LEVELS)
    for i in range(2 * LEVELS):
        if prices[i]:
            q = qtys[i] = _QTY_DRAW[d[10 + i]] * lot
            counts[i] = 1 + d[20 + i] % (q if q < 25 else 25)
    if top_sizes is not None:
        for i, size in ((0, top_sizes[0]), (LEVELS, top_sizes[1])):
            if prices[i] and size > 0:
                qtys[i] = size
                counts[i] = min(counts[i], size)
    return (*prices, *qtys, *counts)


def depth_frame(depth: Depth | None) -> pd.DataFrame:
    """``depth`` as rows ``side`` ("bid"/"ask"), ``level`` (1-5), ``price`` (float rupees),
    ``quantity``, ``orders``: bids first, best level first."""
    import pandas as pd

    rows: list[tuple[str, int, float, int, int]] = []
    if depth is not None:
        for name, levels in (("bid", depth.bids), ("ask", depth.asks)):
            for i, (price, qty, orders) in enumerate(levels, 1):
                rows.append((name, i, float(price), qty, orders))
    frame = pd.DataFrame(rows, columns=["side", "level", "price", "quantity", "orders"])
    return frame.astype(
        {
            "side": object,
            "level": "int64",
            "price": "float64",
            "quantity": "int64",
            "orders": "int64",
        }
    )


# ---- the day's reference prices ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayStats:
    """A symbol's day so far: open, high, low, the previous close and the exchange's circuit
    limits (rupees; ``None`` where no source said)."""

    symbol: str
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    prev_close: Decimal | None = None
    upper_circuit: Decimal | None = None
    lower_circuit: Decimal | None = None


_FIELDS: Final = ("open", "high", "low", "prev_close", "upper_circuit", "lower_circuit")


class DayStatsStore:
    """Day reference prices per symbol, in paise. Two layers, merged on read: *references*
    (:meth:`set`: an opening ``/data/quotes`` answer, the simulated past's close) and the
    *running* open/high/low of the ticks folded in (:meth:`fold`). Nothing here runs per tick:
    the session folds the ticks its stream kept when someone reads."""

    __slots__ = ("_day", "_last", "_refs", "_run", "_seen")

    def __init__(self) -> None:
        self._refs: dict[str, dict[str, int]] = {}
        self._run: dict[str, dict[str, int]] = {}
        self._seen: dict[str, int] = {}  # ticks already folded, per symbol
        self._day: dict[str, int] = {}  # IST day number the values belong to
        self._last: dict[str, int] = {}  # the last folded price

    def set(self, symbol: str, day: int, **paise: int | None) -> None:
        """Record reference prices of IST day number ``day`` (names as :class:`DayStats`;
        ``None`` or 0 = not known, which keeps what was there)."""
        unknown = set(paise) - set(_FIELDS)
        if unknown:
            raise InvalidInput("field", f"unknown day statistic(s) {sorted(unknown)}")
        self._new_day(symbol, day)
        ref = self._refs.setdefault(symbol, {})
        for name, value in paise.items():
            if value:
                ref[name] = value

    def _new_day(self, symbol: str, day: int) -> None:
        """Values of an earlier day go; that day's last price becomes the previous close."""
        old = self._day.get(symbol)
        self._day[symbol] = day
        if old is None or old >= day:
            return
        self._run.pop(symbol, None)
        last = self._last.get(symbol)
        self._refs[symbol] = {} if last is None else {"prev_close": last}

    def fold(self, symbol: str, day: int, seen: int, lasts: Sequence[int]) -> None:
        """Fold ticks into the running open/high/low: ``lasts`` are the last prices, oldest
        first, of the ticks not folded yet, all on IST day number ``day``; ``seen`` is the
        tick count once they are folded."""
        self._seen[symbol] = seen
        if not lasts:
            return
        self._new_day(symbol, day)
        run = self._run.setdefault(symbol, {})
        self._last[symbol] = lasts[-1]
        if "open" not in run:
            run["open"] = lasts[0]
        hi, lo = max(lasts), min(lasts)
        if hi > run.get("high", 0):
            run["high"] = hi
        if lo < run.get("low", 1 << 62):
            run["low"] = lo

    def folded(self, symbol: str) -> int:
        """How many of ``symbol``'s ticks were folded so far."""
        return self._seen.get(symbol, 0)

    def day(self, symbol: str) -> int | None:
        """The IST day number the values belong to."""
        return self._day.get(symbol)

    def refs(self, symbol: str) -> dict[str, int]:
        """The reference layer alone (paise)."""
        return dict(self._refs.get(symbol, {}))

    def paise(self, symbol: str) -> dict[str, int]:
        """Both layers merged (paise): the reference open wins, high/low are the extremes of
        both, the rest are references."""
        out = dict(self._refs.get(symbol, {}))
        run = self._run.get(symbol)
        if run:
            out.setdefault("open", run["open"])
            out["high"] = max(out.get("high", 0), run["high"])
            out["low"] = min(out.get("low", 1 << 62), run["low"])
        return out

    def get(self, symbol: str) -> DayStats:
        return stats_from_paise(symbol, self.paise(symbol))

    def __repr__(self) -> str:
        return f"DayStatsStore({len(self._day)} symbols)"


def stats_from_paise(symbol: str, paise: dict[str, int]) -> DayStats:
    return DayStats(
        symbol, **{name: from_paise(paise[name]) if paise.get(name) else None for name in _FIELDS}
    )
