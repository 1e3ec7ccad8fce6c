"""End to end on loopback: fake Fyers server → FyersFeed → LivePriceStream (→ engine).

The fake is stepped by hand (``tick_interval=None``) wherever exact values are checked, so the
quotes the stream holds can be compared with what the server sent. Reconnect delays are
injected as zero; waits poll a condition with a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from conftest import until

import livetrade as lt
from livetrade import LivePriceStream, LiveTradingEngine, OrderKind, RiskLimits, Side
from livetrade.errors import AuthError
from livetrade.fyers.credentials import FyersConfig
from livetrade.fyers.feed import FeedState, FyersFeed
from livetrade.fyers.stream import FyersWebSocketManager
from livetrade.fyers.symbols import mint_fake_token
from livetrade.money import NoCharges
from livetrade.testing.fake_fyers import GARBAGE_FRAMES, FakeFyersServer

SBIN, NIFTY = "NSE:SBIN-EQ", "NSE:NIFTY50-INDEX"
FIFTY = [
    *lt.DEFAULT_SYMBOLS,
    *(f"NSE:SYM{i:02d}-EQ" for i in range(44)),
]
FAST = {"backoff": lambda n: 0.0, "stall_hours": None, "auth_timeout": 2.0}


def feed_for(stream: LivePriceStream, config: FyersConfig, **kw: object) -> FyersFeed:
    opts: dict[str, object] = {**FAST, **kw}
    return FyersFeed(stream, config, **opts)  # type: ignore[arg-type]


@pytest.fixture
async def manual() -> AsyncIterator[FakeFyersServer]:
    # the 44 made-up symbols are named: the fake, like Fyers, refuses symbols it does not know
    async with FakeFyersServer(seed=1, tick_interval=None, symbols=FIFTY) as server:
        yield server


def fyers_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "fyers-data-socket"]


def assert_matches_fake(stream: LivePriceStream, fake: FakeFyersServer, symbols: list[str]) -> None:
    """The stream's latest row of each symbol is exactly what the fake last sent."""
    for sym in symbols:
        inst = fake.instrument(sym)
        assert inst is not None
        top = stream.top(sym)
        assert top is not None
        bid, ask, last, _ = top
        v = inst.values
        if inst.kind == "if":
            assert (bid, ask, last) == (v[0], v[0], v[0])
        else:
            assert (bid, ask, last) == (v[6], v[7], v[0])
            assert stream.history(sym)["volume"][-1] == v[1]


async def test_fifty_symbols_quotes_arrive_exactly(manual: FakeFyersServer) -> None:
    stream = LivePriceStream()
    feed = feed_for(stream, manual.config)
    await feed.start()
    await feed.watch(FIFTY)
    assert feed.symbols == FIFTY
    await until(lambda: all(stream.tick_count(s) == 1 for s in FIFTY))  # the snapshots
    assert_matches_fake(stream, manual, FIFTY)
    for step in range(2, 6):
        await manual.step()
        await until(lambda: all(stream.tick_count(s) >= step for s in FIFTY))  # noqa: B023
        assert_matches_fake(stream, manual, FIFTY)
    assert manual.rest_calls == [FIFTY]
    assert manual.subscriptions() == [set(FIFTY)]
    assert feed.state.status == "live" and feed.state.last_tick_ns is not None
    await feed.close()
    assert fyers_tasks() == []


async def test_twenty_drops_reconnect_and_resubscribe_exactly_once(
    manual: FakeFyersServer,
) -> None:
    stream = LivePriceStream()
    feed = feed_for(stream, manual.config)
    states: list[FeedState] = []
    feed.on_state.append(states.append)
    await feed.start()
    await feed.watch(FIFTY)
    for drop in range(20):
        await until(lambda: len(manual.live_connections) == 1 and feed.state.status == "live")
        await until(lambda: manual.live_connections[0].symbols == set(FIFTY))
        counts = {s: stream.tick_count(s) for s in FIFTY}
        await manual.step()  # quotes flow on this connection
        await until(lambda: all(stream.tick_count(s) > counts[s] for s in FIFTY))  # noqa: B023
        assert_matches_fake(stream, manual, FIFTY)
        assert await manual.drop_connections() == 1, f"drop {drop}"
    await until(lambda: len(manual.connections) == 21 and feed.state.status == "live")
    await until(lambda: manual.live_connections[0].symbols == set(FIFTY))
    counts = {s: stream.tick_count(s) for s in FIFTY}
    await manual.step()
    await until(lambda: all(stream.tick_count(s) > counts[s] for s in FIFTY))

    topics = {t for t in map(manual.topic_of, FIFTY) if t is not None}
    assert len(topics) == 50
    for conn in manual.connections:  # each connection: every topic subscribed exactly once
        assert conn.authenticated is True
        assert conn.symbols == set(FIFTY)
        assert conn.duplicate_subscribes == 0 and conn.unknown_topics == 0
        subs = [t for kind, ts in conn.log if kind == "sub" for t in ts]
        assert sorted(subs) == sorted(topics)
        assert not [kind for kind, _ in conn.log if kind == "unsub"]
    assert manual.rest_calls == [FIFTY]  # fytokens are kept across reconnects
    assert not any(c.auth_header for c in manual.connections)  # no Authorization (spec 1.1)
    assert [(s.status, s.attempt) for s in states] == [("connecting", 0), ("live", 0)] + [
        ("reconnecting", 1),
        ("live", 0),
    ] * 20
    assert all("code 1001" in (s.reason or "") for s in states if s.status == "reconnecting")
    assert feed.stats.reconnects == 20 and feed.stats.connects == 21
    assert feed.stats.protocol_errors == 0
    await feed.close()
    assert feed.state.status == "closed"


async def test_stalled_server_watchdog_reconnects() -> None:
    async with FakeFyersServer(seed=2, tick_interval=0.005) as fake:
        stream = LivePriceStream()
        feed = feed_for(stream, fake.config, stall_timeout=0.5)  # far above any tick gap
        states: list[FeedState] = []
        feed.on_state.append(states.append)
        await feed.start()
        await feed.watch([SBIN, NIFTY])
        await until(lambda: stream.tick_count(SBIN) > 3)
        fake.stall()  # the socket stays open; nothing more arrives
        await until(lambda: feed.stats.stalls == 1 and feed.state.status == "live")
        assert len(fake.connections) == 2
        # 'live' means authenticated; the resubscription may still be on its way to the fake
        await until(lambda: fake.connections[1].symbols == {SBIN, NIFTY}, what="resubscribed")
        n = stream.tick_count(SBIN)
        await until(lambda: stream.tick_count(SBIN) > n + 3)  # quotes again
        statuses = [s.status for s in states]
        assert statuses == ["connecting", "live", "stalled", "reconnecting", "live"]
        assert "no data for" in (states[2].reason or "")
        await feed.close()


async def test_bad_token_auth_error_and_no_reconnect_loop(manual: FakeFyersServer) -> None:
    wrong = mint_fake_token("0" * 56, 4_102_444_800, app_id="ABCDEFGHIJ-100")
    cfg = FyersConfig(wrong, ws_url=manual.ws_url, rest_url=manual.rest_url)
    feed = feed_for(LivePriceStream(), cfg, retries=5)
    with pytest.raises(AuthError, match="refused the access token"):
        await feed.start()
    assert feed.state.status == "failed"
    assert len(manual.connections) == 1
    assert fyers_tasks() == []  # nothing left that could retry
    await feed.close()


async def test_token_expiring_mid_session_fails_once(manual: FakeFyersServer) -> None:
    stream = LivePriceStream()
    feed = feed_for(stream, manual.config)
    errors: list[BaseException] = []
    feed.on_error.append(errors.append)
    await feed.start()
    await feed.watch([SBIN])
    manual.expire_token()  # not awaited: the drop happens in the background
    await until(lambda: feed.state.status == "failed")
    assert isinstance(errors[-1], AuthError)
    assert len(manual.connections) == 2  # the one dropped, one refused reconnect
    assert fyers_tasks() == []
    await feed.close()


async def test_garbage_never_breaks_the_feed(manual: FakeFyersServer) -> None:
    stream = LivePriceStream()
    feed = feed_for(stream, manual.config)
    await feed.start()
    await feed.watch([SBIN, NIFTY])
    await until(lambda: stream.tick_count(SBIN) == stream.tick_count(NIFTY) == 1)
    for round_ in range(1, 4):
        await manual.send_garbage()
        await manual.step()
        await until(lambda: stream.tick_count(SBIN) == round_ + 1)  # noqa: B023
        assert_matches_fake(stream, manual, [SBIN, NIFTY])
    assert feed.stats.protocol_errors == 3 * len(GARBAGE_FRAMES)
    assert feed.stats.connects == 1 and feed.state.status == "live"
    await feed.close()


async def test_watch_during_reconnect_and_unwatch(manual: FakeFyersServer) -> None:
    stream = LivePriceStream()
    feed = feed_for(stream, manual.config)
    await feed.start()
    await feed.watch([SBIN, NIFTY])
    await until(lambda: manual.subscriptions() == [{SBIN, NIFTY}])
    await manual.drop_connections()
    await feed.watch(["NSE:INFY-EQ"])  # races the reconnect
    await feed.unwatch([NIFTY])
    await until(lambda: len(manual.connections) == 2 and feed.state.status == "live")
    await until(lambda: manual.subscriptions() == [{SBIN, "NSE:INFY-EQ"}])
    conn = manual.live_connections[0]
    assert conn.duplicate_subscribes == 0 and conn.unknown_unsubscribes == 0
    assert feed.symbols == [SBIN, "NSE:INFY-EQ"]
    await feed.close()


async def test_lite_mode_quotes(manual: FakeFyersServer) -> None:
    stream = LivePriceStream()
    feed = feed_for(stream, manual.config, lite=True)
    await feed.start()
    await feed.watch([SBIN])
    await until(lambda: stream.tick_count(SBIN) == 1)
    await manual.step()
    await until(lambda: stream.tick_count(SBIN) == 2)
    bid, ask, last, _ = stream.top(SBIN) or (0, 0, 0, 0)
    inst = manual.instrument(SBIN)
    assert inst is not None
    assert bid == ask == last == inst.values[0]
    assert manual.live_connections[0].lite is True
    await feed.close()


async def test_stop_loss_fills_from_a_fyers_tick(manual: FakeFyersServer) -> None:
    stream = LivePriceStream()
    engine = LiveTradingEngine(Decimal("1000000"), stream, charges=NoCharges(), limits=RiskLimits())
    feed = feed_for(stream, manual.config)
    await feed.start()
    await feed.watch([SBIN])
    await until(lambda: stream.tick_count(SBIN) >= 1)
    entry = engine.submit(SBIN, Side.BUY, 10)
    assert entry.fill_paise is not None
    stop = engine.submit(SBIN, Side.SELL, 10, OrderKind.SL_M, trigger_price=Decimal("790.00"))
    assert stop.fill_paise is None
    await manual.push_quote(SBIN, 78500, bid=78450, ask=78550)  # gaps through the stop
    await until(lambda: engine.order(stop.order_id).fill_paise is not None)  # type: ignore[union-attr]
    assert engine.order(stop.order_id).fill_paise == 78450  # type: ignore[union-attr]
    assert engine.positions() == [] or all(p.quantity == 0 for p in engine.positions())
    await feed.close()


async def test_original_manager_contract() -> None:
    async with FakeFyersServer(seed=1) as fake:
        ws = FyersWebSocketManager(
            fake.config.access_token, ws_url=fake.config.ws_url, rest_url=fake.config.rest_url
        )
        got: list[lt.PriceQuote] = []
        await ws.connect()
        await ws.subscribe_to_symbol(SBIN, got.append)
        await until(lambda: got)
        await ws.disconnect()
    default = FyersWebSocketManager(fake.config.access_token)
    assert default.ws_url == "wss://socket.fyers.in/hsm/v1-5/prod"
    assert default.rest_url == "https://api-t1.fyers.in/data"


async def test_session_contract() -> None:
    """The issue's contract: a paper session on Fyers quotes from the local fake server."""
    async with FakeFyersServer(seed=1) as fake:
        session = await lt.open_session(feed="fyers", broker="paper", fyers=fake.config)
        states: list[str] = []
        session.feed_event += lambda st: states.append(st.status)
        try:
            await session.watch([SBIN, NIFTY])
            await until(lambda: set(session.quotes_df()["symbol"]) >= {SBIN, NIFTY}, 5)
            n = len(session.quotes_df())
            await fake.drop_connections()
            await until(lambda: len(session.quotes_df()) > n + 4, 5)
            assert "reconnecting" in states and states[-1] == "live"
            state = session.feed_state()
            assert state is not None and state.status == "live"
            order = await session.buy(SBIN, 5)  # paper fill at the Fyers quote's ask
            q = session.stream.quote(SBIN)
            assert q is not None and order.executed_price is not None
        finally:
            await session.close()
        assert session.feed_state().status == "closed"  # type: ignore[union-attr]
