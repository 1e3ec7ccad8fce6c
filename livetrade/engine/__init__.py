"""LiveTradingEngine: orders, fills, positions, cash and P&L, with SL/TP brackets.

A synchronous core (``submit``, ``cancel``, ``on_quote``) holds every fact; the original async
API (``market_buy``...) is a thin shell over it. ``on_quote`` is the hot path: one dict lookup and
four integer comparisons against the best resting trigger levels of the symbol, so its cost does
not grow with the number of resting orders; a trigger that fires costs O(log n) to pop.

Trigger semantics (as on the exchange): stops trigger on the last traded price crossing the
trigger; a triggered stop-market fills at the touch (bid for sells, ask for buys) of that same
tick, so a gap through the stop fills at the gapped price, never the better stop price. Limit
orders (and take-profit legs) fill when the touch reaches the limit, at the touch.

The engine is one class built in layers, one module each, each adding behaviour to the one
below and none adding state but ``fno``'s sliced parents and expiry watch (state → matching
→ trading → broker → restore → views → fno → original):

* ``state``: cash, ledgers, positions, trigger books, events and the journal;
* ``matching``: the hot path (``on_quote``), fills, brackets, the daily loss limit;
* ``trading``: ``submit`` (request → pre-trade checks → accept), modify, cancel, kill, square-off;
* ``broker``: a live broker's acknowledgements, refusals, fills and cancels;
* ``restore``: the journal read back;
* ``views``: orders, fills, positions, P&L;
* ``fno``: orders sliced at the freeze quantity, expiry settlement (``funds`` is a base of
  ``state``: cash, margin blocked and premium as a broker's funds page shows them);
* ``original``: the original async API, and :class:`LiveTradingEngine` itself, which also
  takes the two side layers ``baskets`` (multi-leg orders: ``place_basket``) and ``conversion``
  (``convert``: a position moved between products, re-billed).

``book`` holds the two data structures (FIFO lots, trigger heaps); ``events`` what the engine
tells the world.
"""

from __future__ import annotations

from livetrade.engine.baskets import BasketLegResult, BasketRejected, BasketResult
from livetrade.engine.events import (
    ChargesRefund,
    Conversion,
    EngineEvent,
    EventListener,
    JournalSink,
)
from livetrade.engine.original import LiveTradingEngine

__all__ = [
    "BasketLegResult",
    "BasketRejected",
    "BasketResult",
    "ChargesRefund",
    "Conversion",
    "EngineEvent",
    "EventListener",
    "JournalSink",
    "LiveTradingEngine",
]
