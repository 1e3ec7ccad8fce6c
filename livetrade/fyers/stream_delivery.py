"""How the Fyers data stream hands out what it decodes: the tick sink (the fast path
into the price stream), the tick, quote and error events, the per-symbol quote callbacks of the
original API, and the reading of control results and server notices. A handler that fails is
logged and reported on ``error_event``, never raised into the read loop. The base of
:class:`~livetrade.fyers.stream.FyersWebSocketManager`; no socket is touched here.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from livetrade.errors import (
    LiveTradeError,
)
from livetrade.events import Event as Hook  # codec.Event is a frame event
from livetrade.fyers.codec import (
    AuthResult,
    ControlResult,
    CustomMessage,
    Event,
    FrameIgnored,
    Tick,
)
from livetrade.fyers.feed_state import StreamStats
from livetrade.fyers.tick_converter import TickConverter
from livetrade.model import PriceQuote, ns_to_datetime
from livetrade.money import from_paise

log = logging.getLogger("livetrade.fyers.stream")  # the stream's logger, as before the split

TickHandler: TypeAlias = Callable[[Tick, int], None]
"""``handler(tick, ts_ns)``: a decoded tick and the local receive time of its frame."""

QuoteCallback: TypeAlias = Callable[[PriceQuote], "Awaitable[None] | None"]


TickSink: TypeAlias = Callable[[list[Event], int], int]
"""``sink(events, ts_ns) -> ticks consumed``: a whole frame's events at once (the fast path)."""


class _Delivery:
    """The manager's delivery layer (see the module docstring). One event style
    (:class:`livetrade.events.Event`, ``+=`` / ``-=``): ``on_state``, ``on_error``,
    ``tick_event`` (``handler(tick, ts_ns)``, synchronous) and ``quote_event``
    (``callback(quote)``, sync or async); ``add_tick_handler`` and ``register_callback`` are
    the older spellings of ``+=``."""

    # set by FyersWebSocketManager.__init__
    on_state: Hook
    on_error: Hook
    tick_event: Hook
    quote_event: Hook
    stats: StreamStats
    converter: TickConverter
    _sink: TickSink | None
    _symbol_callbacks: dict[str, Hook]  # symbol → the callbacks given to subscribe()
    _tasks: set[asyncio.Task[Any]]
    _last_tick_ns: int | None

    # ---- callbacks ---------------------------------------------------------------------------

    def _report(self, exc: BaseException) -> None:
        self.on_error.emit(exc)

    def register_callback(self, callback: QuoteCallback) -> None:
        """Call ``callback(quote)`` for every quote of every subscribed symbol (the same as
        ``quote_event += callback``)."""
        self.quote_event.connect(callback)

    def add_tick_handler(self, handler: TickHandler) -> None:
        """Call ``handler(tick, ts_ns)`` synchronously for every decoded tick (the fast path;
        the same as ``tick_event += handler``)."""
        self.tick_event.connect(handler)

    def remove_tick_handler(self, handler: TickHandler) -> None:
        self.tick_event.disconnect(handler)

    def set_sink(self, sink: TickSink | None) -> None:
        """Hand every frame's events to ``sink(events, ts_ns)`` first; it returns how many ticks
        it consumed (``FyersFeed`` pushes them into its stream this way). One sink at most."""
        self._sink = sink

    def _dispatch(self, events: list[Event], ts: int) -> None:
        sink = self._sink
        handlers = tuple(self.tick_event)  # (one copy a frame; each handler guarded below)
        quotes = bool(self.quote_event or self._symbol_callbacks)
        if sink is not None:
            try:
                n = sink(events, ts)
            except Exception as exc:
                log.exception("tick sink failed")
                self._report(exc)
                n = 0
            if n:
                self.stats.ticks += n
                self._last_tick_ns = ts
            if n == len(events) and not handlers and not quotes:
                return  # every event was a tick the sink took: nothing else to do
        n = 0
        for ev in events:
            if type(ev) is Tick:
                if ev[4] is None:  # a topic we did not subscribe
                    continue
                n += 1
                for handler in handlers:
                    try:
                        handler(ev, ts)
                    except Exception as exc:
                        log.exception("tick handler failed")
                        self._report(exc)
                if quotes:
                    self._quote(ev, ts)
            else:
                self._control(ev)
        if n and sink is None:
            self.stats.ticks += n
            self._last_tick_ns = ts

    def _quote(self, tick: Tick, ts: int) -> None:
        symbol = tick.symbol
        assert symbol is not None
        own = self._symbol_callbacks.get(symbol)
        if not own and not self.quote_event:
            return
        prices = self.converter(tick)
        if prices is None:
            return
        bid, ask, last, volume = prices
        quote = PriceQuote(
            symbol, from_paise(bid), from_paise(ask), from_paise(last), volume, ns_to_datetime(ts)
        )
        for cb in (*(own or ()), *self.quote_event):
            try:
                res = cb(quote)
                if inspect.isawaitable(res):
                    task = asyncio.ensure_future(res)
                    self._tasks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception as exc:
                log.exception("quote callback failed")
                self._report(exc)

    def _callback_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            log.error("quote callback failed: %r", exc)
            self._report(exc)

    def _control(self, event: Event) -> None:
        if isinstance(event, ControlResult):
            if not event.ok:
                err = LiveTradeError(
                    f"Fyers refused a {event.request.name.lower()} request "
                    f"(status {event.status!r})"
                )
                log.error("%s", err)
                self._report(err)
        elif isinstance(event, CustomMessage):
            self.stats.custom_messages += 1
            hint = " (symbol limit of the plan exceeded)" if event.code == 51001 else ""
            err = LiveTradeError(
                f"Fyers notice {event.code} on {event.category}: {event.text}{hint}"
            )
            log.error("%s", err)
            self._report(err)
        elif isinstance(event, AuthResult):
            log.debug("unexpected auth reply on a live connection (ok=%s)", event.ok)
        elif isinstance(event, FrameIgnored):
            log.debug("ignored server message type %d (%d bytes)", event.response_type, event.size)
