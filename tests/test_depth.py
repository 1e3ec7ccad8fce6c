"""Market depth end to end: the store, the codec's depth records, the simulated market's book,
and a Fyers session watching with ``depth=True`` against the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import pairwise

import pytest
from conftest import until
from hypothesis import given, settings
from hypothesis import strategies as st

import livetrade as lt
from livetrade.brokers.paper import book_from_record
from livetrade.depth import (
    DEPTH_WIDTH,
    DepthStore,
    depth_frame,
    depth_from_values,
    simulated_book,
    simulated_levels,
)
from livetrade.errors import InvalidInput
from livetrade.fyers.codec import SENTINEL, DataCodec, DataFeed, SnapshotRecord, UpdateRecord
from livetrade.fyers.stream import TickConverter
from livetrade.session import Session
from livetrade.testing.fake_fyers import FakeFyersServer

SBIN, INFY, NIFTY = "NSE:SBIN-EQ", "NSE:INFY-EQ", "NSE:NIFTY50-INDEX"
COLUMNS = ["side", "level", "price", "quantity", "orders"]


def record(bids: list[int], asks: list[int], bq: list[int], aq: list[int]) -> tuple[int, ...]:
    return (*bids, *asks, *bq, *aq, *[1, 2, 3, 4, 5], *[6, 7, 8, 9, 10])


# ---- codec records → the store → depth_df ------------------------------------------------------


def test_codec_depth_records_become_depth_df_levels() -> None:
    topic = "dp|nse_cm|3045"
    codec = DataCodec(symbols={topic: SBIN})
    snap = record(
        [79990, 79985, 79980, 79970, 79960],
        [80000, 80005, 80015, 80020, 80030],
        [10, 20, 30, 40, 50],
        [15, 25, 35, 45, 55],
    )
    rec = SnapshotRecord(7, topic, snap, 1, 2, "NSE", "3045", "SBIN-EQ")
    update = [SENTINEL] * DEPTH_WIDTH
    update[0], update[10], update[5] = 79995, 99, 80005  # best bid moves up, best ask too
    frames = [
        DataFeed(1, (rec,)).serialize(),
        DataFeed(2, (UpdateRecord(7, tuple(update)),)).serialize(),
    ]
    store = DepthStore()
    pushed: list[tuple[object, ...]] = []
    converter = TickConverter()
    for n, frame in enumerate(frames):
        codec.receive_data(frame)
        taken = converter.push_ticks(
            codec.events_received(), 1_000 + n, lambda *a: pushed.append(a), store.update
        )
        assert taken == 1
    assert pushed == []  # depth is not a quote
    df = depth_frame(store.get(SBIN))
    assert list(df.columns) == COLUMNS
    assert df["side"].tolist() == ["bid"] * 5 + ["ask"] * 5
    assert df["level"].tolist() == [1, 2, 3, 4, 5] * 2
    assert df["price"].tolist() == [
        799.95, 799.85, 799.8, 799.7, 799.6, 800.05, 800.05, 800.15, 800.2, 800.3,
    ]  # fmt: skip
    assert df["quantity"].tolist()[:6] == [99, 20, 30, 40, 50, 15]
    assert df["orders"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    depth = store.get(SBIN)
    assert depth is not None and depth.best_bid == Decimal("799.95")
    assert depth.ts.timestamp() == pytest.approx(1e-6)


def test_other_scales_and_empty_levels() -> None:
    values = [0] * DEPTH_WIDTH
    values[0], values[10], values[20] = 7_999_500, 5, 1  # precision 4: ₹799.95
    values[5], values[15], values[25] = 8_000_000, 6, 2
    depth = depth_from_values(SBIN, values, 0, divisor=10_000)
    assert depth.bids == ((Decimal("799.95"), 5, 1),) and depth.asks == ((Decimal("800"), 6, 2),)
    df = depth_frame(depth)
    assert len(df) == 2 and df.dtypes["price"] == "float64"
    assert list(depth_frame(None).columns) == COLUMNS and depth_frame(None).empty
    with pytest.raises(InvalidInput, match="values"):
        depth_from_values(SBIN, values[:10], 0)
    store = DepthStore()
    store.set_levels(SBIN, [(79_990, 10, 1)], [(80_000, 20, 2)], 5)
    assert store.get(SBIN) == depth_from_values(SBIN, store_values(store), 5)
    with pytest.raises(InvalidInput, match="bids"):
        store.set_levels(SBIN, [(1, 1, 1)] * 6, [], 0)
    store.discard(SBIN)
    assert store.get(SBIN) is None and SBIN not in store


def store_values(store: DepthStore) -> tuple[int, ...]:
    values = [0] * DEPTH_WIDTH
    values[0], values[10], values[20], values[5], values[15], values[25] = (
        79_990, 10, 1, 80_000, 20, 2,
    )  # fmt: skip
    return tuple(values)


# ---- the simulated book -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bid=st.integers(1, 400_000),
    spread=st.integers(0, 10),
    ts=st.integers(0, 2**62),
    sizes=st.none() | st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
)
def test_simulated_depth_is_ordered_and_brackets_the_quote(
    seed: int, bid: int, spread: int, ts: int, sizes: tuple[int, int] | None
) -> None:
    bid *= 5
    ask = bid + spread * 5
    values = simulated_levels(seed, SBIN, bid, ask, ts, sizes)
    assert values == simulated_levels(seed, SBIN, bid, ask, ts, sizes)  # deterministic
    depth = depth_from_values(SBIN, values, ts)
    bids = [int(p * 100) for p, _, _ in depth.bids]
    asks = [int(p * 100) for p, _, _ in depth.asks]
    assert bids[0] == bid and asks[0] == ask
    assert len(asks) == 5 and 1 <= len(bids) <= 5 and (len(bids) == 5 or bids[-1] <= 10)
    assert all(0 < a - b <= 10 and (a - b) % 5 == 0 for a, b in pairwise(bids))
    assert all(0 < b - a <= 10 and (b - a) % 5 == 0 for a, b in pairwise(asks))
    assert all(q > 0 and 1 <= o <= q for _, q, o in depth.bids + depth.asks)
    if sizes is not None:
        if sizes[0] > 0:
            assert depth.bids[0][1] == sizes[0]
        if sizes[1] > 0:
            assert depth.asks[0][1] == sizes[1]


@pytest.fixture
async def sim() -> AsyncIterator[Session]:
    s = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False, journal=False)
    yield s
    await s.close()


async def test_simulated_session_depth_follows_its_quote(sim: Session) -> None:
    assert sim.depth(SBIN) is None and sim.depth_df(SBIN).empty  # no quote yet
    for _ in range(20):
        await sim.run_for(ticks=7)
        top = sim.stream.top(SBIN)
        assert top is not None
        depth = sim.depth(SBIN)
        assert depth is not None
        assert (depth.best_bid, depth.best_ask) == (
            Decimal(top[0]) / 100,
            Decimal(top[1]) / 100,
        )
        assert depth.ts == sim.stream.quote(SBIN).timestamp  # type: ignore[union-attr]
        df = sim.depth_df(SBIN)
        assert list(df.columns) == COLUMNS and len(df) == 10
        assert df["price"].iloc[0] == float(depth.bids[0][0])
    assert sim.depth(SBIN) == sim.depth(SBIN)
    with pytest.raises(InvalidInput, match="index"):
        sim.depth(NIFTY)
    with pytest.raises(InvalidInput):
        sim.depth("not a symbol")


async def test_same_seed_same_depth() -> None:
    books = []
    for name in ("a", "b"):
        s = await lt.open_session(
            feed="sim", broker="paper", seed=5, realtime=False, journal=False, name=name
        )
        await s.run_for(ticks=30)
        books.append(s.depth(INFY))
        await s.close()
    assert books[0] == books[1] and books[0] is not None


# ---- a Fyers session watching depth on the fake server ------------------------------------


async def test_fyers_feed_with_depth_against_the_fake() -> None:
    async with FakeFyersServer(seed=4, tick_interval=None) as fake:
        s = await lt.open_session(
            feed="fyers", broker="paper", fyers=fake.config, journal=False, name="depth"
        )
        try:
            await s.watch([SBIN, NIFTY])
            await until(lambda: s.stream.tick_count(SBIN) > 0)
            assert s.depth(SBIN) is None  # not asked for
            await s.watch([SBIN, INFY, NIFTY], depth=True)
            conn = fake.live_connections[0]
            await until(lambda: {"dp|nse_cm|3045", "dp|nse_cm|1594"} <= conn.subscribed)
            assert not any(t.startswith("dp|") and "Nifty" in t for t in conn.subscribed)
            for _ in range(3):
                await fake.step()
            inst = fake.instrument(SBIN)
            assert inst is not None and inst.depth is not None

            want = depth_from_values(SBIN, inst.depth.values, 0)
            await until(lambda: (d := s.depth(SBIN)) is not None and d.bids == want.bids)
            got = s.depth(SBIN)
            assert got is not None and got.asks == want.asks
            assert int(got.bids[0][0] * 100) == inst.values[6]
            assert s.depth_df(SBIN)["quantity"].iloc[0] == inst.values[4]
            with pytest.raises(InvalidInput, match="index"):
                s.depth(NIFTY)
            await s.unwatch([SBIN])
            assert s.depth(SBIN) is None
            await until(lambda: "dp|nse_cm|3045" not in conn.subscribed)
            assert "dp|nse_cm|1594" in conn.subscribed
        finally:
            await s.close()


# ---- the simulated book, fast and unchanged (#17 item 4) ------------------------------------


def test_simulated_levels_are_the_records_they_always_were() -> None:
    """Pinned records from before the speed-up (the fake Fyers server, the hub and a session
    must keep agreeing, and a journal's paper fills must replay the same)."""
    assert simulated_levels(7, "NSE:SBIN-EQ", 80000, 80005, 1_750_000_000_000_000_000) == (
        80000, 79995, 79990, 79980, 79975, 80005, 80010, 80015, 80025, 80030,
        20, 115, 85, 295, 220, 95, 75, 260, 115, 290,
        4, 23, 23, 3, 9, 19, 12, 1, 11, 9,
    )  # fmt: skip
    fut = simulated_levels(
        3, "NSE:NIFTY26SEPFUT", 2_500_000, 2_500_010, 42, (130, 65), tick=10, lot=65
    )
    assert fut == (
        2500000, 2499980, 2499960, 2499940, 2499920, 2500010, 2500030, 2500050, 2500070,
        2500090, 130, 3380, 585, 650, 2405, 65, 1430, 3770, 1300, 1365,
        23, 15, 18, 17, 1, 4, 8, 19, 21, 19,
    )  # fmt: skip
    assert simulated_levels(1, "NSE:PENNY-EQ", 6, 0, 5, tick=1) == (
        6, 4, 3, 2, 0, 0, 1, 2, 3, 5, 285, 95, 300, 215, 0, 0, 105, 220, 55, 125,
        15, 3, 4, 25, 0, 0, 14, 20, 19, 16,
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 100),
    bid=st.integers(-10, 10_000_000),
    spread=st.integers(-20, 500),
    ts=st.integers(0, 1 << 62),
    tick=st.sampled_from([1, 5, 10, 20]),
    lot=st.sampled_from([1, 5, 15, 65]),
)
def test_simulated_book_is_the_records_levels(
    seed: int, bid: int, spread: int, ts: int, tick: int, lot: int
) -> None:
    """What fills="depth" walks is exactly the record's levels (prices and sizes)."""
    ask = max(bid + spread, 0)
    record = simulated_levels(seed, "NSE:X-EQ", bid, ask, ts, tick=tick, lot=lot)
    assert simulated_book(seed, "NSE:X-EQ", bid, ask, ts, tick=tick, lot=lot) == (
        book_from_record(record)
    )
