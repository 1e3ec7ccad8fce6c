"""One event style (#13 item 6) for the price stream, the Fyers data stream and the live router:
``+=`` / ``-=`` on a ``livetrade.events.Event``, the old spellings as aliases, and a failing
handler reported, never raised into the feed."""

from __future__ import annotations

from typing import Any, cast

from conftest import SYM, T0

from livetrade import LivePriceStream, LiveTradingEngine, PriceQuote
from livetrade.events import Event
from livetrade.fyers.codec import Tick, TopicInfo
from livetrade.fyers.stream import FyersWebSocketManager
from livetrade.live import LiveRouter
from livetrade.model import datetime_to_ns

TS = datetime_to_ns(T0)


def test_price_stream_tick_event_and_its_old_spelling() -> None:
    s = LivePriceStream()
    seen: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    s.on_error = errors.append

    def listener(symbol: str, bid: int, ask: int, last: int, ts: int) -> None:
        seen.append((symbol, last))

    def boom(symbol: str, bid: int, ask: int, last: int, ts: int) -> None:
        raise RuntimeError("listener bug")

    assert isinstance(s.tick_event, Event)
    s.add_listener(boom)  # the original spelling
    s.tick_event += listener
    s.push(SYM, 79995, 80005, 80000, 1, TS)  # the failing listener does not stop the tick
    assert seen == [(SYM, 80000)] and s.last_paise(SYM) == 80000
    assert [str(e) for e in errors] == ["listener bug"] and s.errors == errors
    s.remove_listener(boom)
    s.tick_event -= listener
    s.push(SYM, 79995, 80005, 80010, 2, TS + 1)
    assert seen == [(SYM, 80000)] and len(errors) == 1 and len(s.tick_event) == 0


def test_price_stream_error_event_takes_more_than_one_handler() -> None:
    s = LivePriceStream()
    first: list[BaseException] = []
    second: list[BaseException] = []
    s.error_event += first.append
    s.error_event += second.append
    assert s.on_error == first.append  # the single-slot reader sees the first

    def bad(_: PriceQuote) -> None:
        raise ValueError("callback bug")

    s.subscribe(SYM, bad)
    s.push(SYM, 79995, 80005, 80000, 1, TS)
    assert [str(e) for e in first] == ["callback bug"] == [str(e) for e in second]
    s.unsubscribe(SYM, bad)  # the last callback gone: no quote is built any more
    s.push(SYM, 79995, 80005, 80000, 2, TS + 1)
    assert len(first) == 1


def test_price_stream_unsubscribe_all_and_one() -> None:
    s = LivePriceStream()
    got: list[int] = []
    s.subscribe(SYM, lambda q: got.append(1))
    s.subscribe(SYM, lambda q: got.append(2))
    s.push(SYM, 79995, 80005, 80000, 1, TS)
    s.unsubscribe(SYM)
    s.push(SYM, 79995, 80005, 80000, 2, TS + 1)
    assert got == [1, 2]


def _tick(symbol: str) -> Tick:
    info = TopicInfo(1, "sf|nse_cm|3045", "sf", 1, 2, "nse_cm", "3045", "SBIN-EQ")
    return Tick(info, (80000,) + (None,) * (len(info.names) - 1), 1, 85, symbol)


def test_fyers_stream_tick_and_quote_events() -> None:
    ws = FyersWebSocketManager("ABCDEFGHIJ-100:a.b.c", ws_url="ws://127.0.0.1:9")
    assert isinstance(ws.tick_event, Event) and isinstance(ws.quote_event, Event)
    ticks: list[int] = []
    quotes: list[PriceQuote] = []
    errors: list[BaseException] = []
    ws.on_error += errors.append

    def boom(tick: Tick, ts: int) -> None:
        raise RuntimeError("handler bug")

    ws.add_tick_handler(boom)  # the original spelling
    ws.tick_event += lambda tick, ts: ticks.append(ts)
    ws.register_callback(quotes.append)
    ws._dispatch([_tick(SYM)], TS)
    assert ticks == [TS] and [q.last_price for q in quotes] == [800]
    assert [str(e) for e in errors] == ["handler bug"] and ws.stats.ticks == 1
    ws.remove_tick_handler(boom)
    ws.quote_event -= quotes.append
    ws._dispatch([_tick(SYM)], TS + 1)
    assert ticks == [TS, TS + 1] and len(quotes) == 1 and len(errors) == 1


def test_live_router_error_event_and_on_error() -> None:
    engine = LiveTradingEngine()
    router = LiveRouter(engine, cast(Any, None), poll_interval=None)
    assert isinstance(router.error_event, Event) and router.on_error is None
    seen: list[str] = []
    router.on_error = lambda e: seen.append(f"slot {e}")
    router.error_event += lambda e: seen.append(f"more {e}")

    def bad(e: BaseException) -> None:
        raise RuntimeError("handler bug")

    router.error_event += bad
    router._report(ValueError("x"))  # a failing handler is logged, not raised
    assert seen == ["slot x", "more x"]
    router.on_error = None
    router._report(ValueError("y"))
    assert seen == ["slot x", "more x"] and len(router.error_event) == 0
