"""Shadow reports per fill model (#17 item 6): the live session's shadow paper engine fills with
the session's fill model and the session's book, and says how far that was from Fyers' fills
(here the fake Fyers server, which fills a market order at the last trade)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)
from test_live import SBIN, Rig

from livetrade.brokers.paper import PaperBroker
from livetrade.money import from_paise
from livetrade.shadow import fill_model_name


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    yield r
    if r.session is not None:
        await r.session.close()


def walk(asks: list[tuple[int, int]], qty: int, touch: int, slip: int) -> tuple[int, int]:
    """(filled, average paise) of a market buy walking ``asks`` as fills="depth" does."""
    filled, avg = 0, 0
    for price, size in asks:
        take = min(size, qty - filled)
        if take <= 0:
            break
        p = max(price, touch) + slip
        avg = p if not filled else (avg * filled + p * take) // (filled + take)
        filled += take
    return filled, avg


async def test_the_shadow_walks_the_sessions_book_with_its_fill_model(rig: Rig) -> None:
    s = await rig.open(shadow=True, fills="depth", slippage_ticks=1)
    assert s.shadow is not None
    broker = s.shadow.paper.broker
    assert isinstance(broker, PaperBroker) and broker.fills == "depth"
    assert broker.slippage_ticks == 1
    assert s.shadow.fill_model == "depth, slippage 1 tick"
    top, source = s.stream.top(SBIN), s.engine.depth_source
    assert top is not None and source is not None
    _, ask, trade, _ = top
    book = source(SBIN)
    assert book is not None
    asks = list(book[1])
    qty = asks[0][1] + 5  # more than the best ask holds: the walk takes a second level
    big = sum(size for _, size in asks) + 10  # more than all five levels hold
    first = await s.buy(SBIN, qty)
    second = await s.buy(SBIN, big)
    df = s.shadow_df()
    assert list(df["order_id"]) == [first.order_id, second.order_id]
    filled, avg = walk(asks, qty, ask, 5)
    row = df.iloc[0]
    assert filled == qty and row["paper_filled"] == qty
    assert row["paper_price"] == from_paise(avg) and row["live_price"] == from_paise(trade)
    assert row["slippage_paise"] == trade - avg and row["slippage_ticks"] == (trade - avg) / 5
    assert row["slippage"] == from_paise(trade - avg) and row["fill_ratio"] == 1.0
    assert row["fill_model"] == "depth, slippage 1 tick"
    thin = df.iloc[1]  # the book runs out: paper fills what five levels hold, Fyers all
    assert thin["live_filled"] == big and thin["paper_filled"] == big - 10
    assert thin["paper_status"] == "CANCELLED" and thin["fill_ratio"] == (big - 10) / big
    summary = s.shadow.summary()
    slips = list(df["slippage_paise"])
    assert summary["fill_model"] == "depth, slippage 1 tick"
    assert summary["orders"] == summary["compared"] == 2 and summary["paper_rejected"] == 0
    assert summary["mean_slippage_paise"] == sum(slips) / 2
    assert summary["median_slippage_paise"] == sum(slips) / 2
    assert summary["mean_slippage_ticks"] == sum(slips) / 2 / 5
    assert summary["fill_ratio"] == (qty + big - 10) / (qty + big)


async def test_touch_is_the_default_model_and_named_so(rig: Rig) -> None:
    s = await rig.open(shadow=True)
    assert s.shadow is not None and s.shadow.fill_model == "touch"
    assert fill_model_name(PaperBroker(fills="depth", latency_ms=200)) == "depth, latency 200 ms"
    assert s.shadow.summary()["compared"] == 0 and s.shadow.summary()["fill_ratio"] is None
