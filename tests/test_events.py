"""One event style (livetrade.events.Event) for the session, the engine and the hub feed."""

from __future__ import annotations

import logging

import pytest
from conftest import SYM

import livetrade as lt
from livetrade import LiveTradingEngine, Side
from livetrade.engine import EngineEvent
from livetrade.events import Event
from livetrade.session import Event as FromSession


def test_one_class_everywhere() -> None:
    assert lt.Event is Event is FromSession
    assert isinstance(LiveTradingEngine().event, Event)


def test_plus_equals_and_the_old_list_spelling_are_the_same() -> None:
    seen: list[int] = []
    ev = Event("state")
    ev += seen.append
    ev.append(lambda n: seen.append(n * 10))  # feed.on_state.append(print) style
    assert len(ev) == 2 and len(list(ev)) == 2
    ev.emit(1)
    ev -= seen.append
    ev.emit(2)
    assert seen == [1, 10, 20]


def test_engine_listeners_are_its_event(
    engine: LiveTradingEngine, caplog: pytest.LogCaptureFixture
) -> None:
    kinds: list[str] = []

    def boom(event: EngineEvent) -> None:
        raise RuntimeError("a buggy handler")

    engine.event += lambda e: kinds.append(e.kind)
    engine.add_listener(boom)  # the original spelling
    with caplog.at_level(logging.WARNING):
        order = engine.submit(SYM, Side.BUY, 1)
    assert order.status is lt.OrderStatus.FILLED  # the buggy handler changed nothing
    assert "order_accepted" in kinds and "fill" in kinds
    assert "a buggy handler" in caplog.text
    engine.remove_listener(boom)
    assert len(engine.event) == 1


def test_the_hub_feed_reports_a_failing_state_handler_on_its_error_event() -> None:
    from livetrade.hub.client import HubFeed

    feed = HubFeed(lt.LivePriceStream(), "redis://127.0.0.1:9", name="t")
    errors: list[BaseException] = []
    feed.on_error += errors.append

    def bad(state: object) -> None:
        raise ValueError("bad handler")

    feed.on_state.append(bad)
    feed._set_state("reconnecting", "test")
    assert [str(e) for e in errors] == ["bad handler"]


def test_the_feeds_and_the_order_socket_speak_the_same_event() -> None:
    from livetrade.fyers.order_socket import FyersOrderSocket
    from livetrade.fyers.stream import FyersWebSocketManager

    manager = FyersWebSocketManager("ABCDEFGHIJ-100:a.b.c", ws_url="ws://127.0.0.1:9")
    assert isinstance(manager.on_state, Event) and isinstance(manager.on_error, Event)
    sock = FyersOrderSocket("ABCDEFGHIJ-100:a.b.c", url="ws://127.0.0.1:9/trade/v3")
    seen: list[object] = []
    sock.on_event = seen.append  # the single-slot spelling replaces
    sock.on_event = seen.append
    assert len(sock.message_event) == 1 and sock.on_event == seen.append
    sock.message_event += lambda m: seen.append(("second", m))
    sock.message_event.emit("update")
    assert seen == ["update", ("second", "update")]
    errors: list[BaseException] = []
    sock.error_event += errors.append

    def broken(message: object) -> None:
        raise RuntimeError("handler bug")

    sock.on_event = broken
    sock.message_event.emit("update")  # reported on the socket's error event, never raised
    assert [str(e) for e in errors] == ["handler bug"]
