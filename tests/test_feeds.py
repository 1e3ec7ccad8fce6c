"""Simulated market and replay feed: deterministic, on the tick grid, well-formed books."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from livetrade import DEFAULT_SYMBOLS, InvalidInput, LivePriceStream, ReplayFeed, SimulatedMarket


def run_market(seed: int, steps: int = 300) -> LivePriceStream:
    s = LivePriceStream()
    m = SimulatedMarket(s, seed=seed)
    for i in range(steps):
        m.step(i * 1_000_000_000)
    return s


def test_same_seed_same_ticks_and_the_book_is_sane() -> None:
    a, b = run_market(3), run_market(3)
    for sym in DEFAULT_SYMBOLS:
        ha, hb = a.history(sym), b.history(sym)
        assert ha == hb
        for bid, ask, last in zip(ha["bid"], ha["ask"], ha["last"], strict=True):
            assert bid <= last <= ask
            assert (last * 100) % 5 == 0 and (bid * 100) % 5 == 0 and (ask * 100) % 5 == 0
    assert a.history("NSE:SBIN-EQ") != run_market(4).history("NSE:SBIN-EQ")


def test_adding_a_symbol_does_not_change_another_path() -> None:
    s1, s2 = LivePriceStream(), LivePriceStream()
    m1 = SimulatedMarket(s1, ["NSE:SBIN-EQ"], seed=5)
    m2 = SimulatedMarket(s2, ["NSE:SBIN-EQ"], seed=5)
    m2.add_symbol("NSE:ITC-EQ", "400.00")
    for i in range(100):
        m1.step(i)
        m2.step(i)
    assert s1.history("NSE:SBIN-EQ") == s2.history("NSE:SBIN-EQ")


def test_index_has_no_book_and_volumes_grow() -> None:
    s = run_market(1, 50)
    idx = s.history("NSE:NIFTY50-INDEX")
    assert idx["bid"] == idx["last"] == idx["ask"] and set(idx["volume"]) == {0}
    vol = s.history("NSE:SBIN-EQ")["volume"]
    assert vol == sorted(vol) and vol[-1] > 0


def test_bad_simulated_symbols() -> None:
    m = SimulatedMarket(LivePriceStream(), [], seed=1)
    with pytest.raises(InvalidInput):
        m.add_symbol("SBIN", 100)
    with pytest.raises(InvalidInput):
        m.add_symbol("NSE:X-EQ", "100.03")


def test_replay_from_csv_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    pd.DataFrame(
        {
            "timestamp": ["2025-06-02 09:15:02", "2025-06-02 09:15:01"],
            "symbol": ["NSE:SBIN-EQ", "NSE:SBIN-EQ"],
            "bid": [800.0, 799.9],
            "ask": [800.1, 800.0],
            "last": [800.05, 799.95],
            "volume": [20, 10],
        }
    ).to_csv(path, index=False)
    s = LivePriceStream()
    feed = ReplayFeed(s, path)
    assert len(feed) == 2 and feed.symbols == ["NSE:SBIN-EQ"]
    t1 = feed.step()
    assert s.history("NSE:SBIN-EQ")["volume"] == [10]
    t2 = feed.step()
    assert t1 is not None and t2 is not None and t2 - t1 == 1_000_000_000
    assert feed.step() is None and feed.remaining == 0
    q = s.quote("NSE:SBIN-EQ")
    assert q is not None and str(q.timestamp) == "2025-06-02 09:15:02+05:30"


def test_replay_rejects_bad_data() -> None:
    with pytest.raises(InvalidInput, match="missing column"):
        ReplayFeed(LivePriceStream(), pd.DataFrame({"symbol": ["X"]}))
    bad = pd.DataFrame(
        {
            "timestamp": ["2025-06-02 09:15:00"],
            "symbol": ["NSE:SBIN-EQ"],
            "bid": [1.001],
            "ask": [1.0],
            "last": [1.0],
            "volume": [1],
        }
    )
    with pytest.raises(InvalidInput, match="row 0"):
        ReplayFeed(LivePriceStream(), bad)


def test_a_suspended_walk_continues_its_own_path() -> None:
    """The hub suspends a symbol nobody watches; watched again, its prices are the ones it would
    have made without the pause, however many steps the others took meanwhile."""

    def sbin_path(pauses: dict[int, int]) -> list[tuple[int, int, int]]:
        stream = LivePriceStream()
        seen: list[tuple[int, int, int]] = []
        stream.add_listener(
            lambda s, b, a, last, ts: seen.append((b, a, last)) if s == "NSE:SBIN-EQ" else None
        )
        market = SimulatedMarket(stream, ["NSE:SBIN-EQ", "NSE:INFY-EQ"], seed=3)
        for i in range(12):
            if i in pauses:
                market.suspend("NSE:SBIN-EQ")
                for _ in range(pauses[i]):
                    market.step(0)
                assert "NSE:SBIN-EQ" not in market.symbols
                market.add_symbol("NSE:SBIN-EQ", "1.00")  # the held walk, not a new one
            market.step(0)
        return seen

    straight = sbin_path({})
    assert sbin_path({4: 7, 9: 1}) == straight
    assert len(straight) == 12
