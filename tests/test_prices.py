"""LivePriceStream: cache, validation, ring-buffer history, callbacks and async iteration."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest
from conftest import SYM, T0, quote

from livetrade import InvalidInput, LivePriceStream, PriceQuote
from livetrade.model import datetime_to_ns


async def test_update_and_get_current_price_keep_the_quote() -> None:
    s = LivePriceStream()
    assert await s.get_current_price(SYM) is None
    q = quote("799.95", "800.05", "800.00")
    await s.update_price(SYM, q)
    assert await s.get_current_price(SYM) is q
    assert s.top(SYM) == (79995, 80005, 80000, datetime_to_ns(T0))


def test_quotes_pushed_in_paise_come_back_as_decimals() -> None:
    s = LivePriceStream()
    s.push(SYM, 79995, 80005, 80000, 7, datetime_to_ns(T0))
    q = s.quote(SYM)
    assert q is not None
    assert (q.bid_price, q.ask_price, q.last_price) == (
        Decimal("799.95"),
        Decimal("800.05"),
        Decimal("800.00"),
    )
    assert q.timestamp == T0 and q.timestamp.utcoffset() is not None
    assert s.quote(SYM) is q  # built once, cached until the next tick


@pytest.mark.parametrize(
    ("q", "field"),
    [
        (PriceQuote("NSE:TCS-EQ", Decimal(1), Decimal(2), Decimal(1), 1, T0), "symbol"),
        (PriceQuote(SYM, Decimal("801"), Decimal("800"), Decimal("800"), 1, T0), "bid_price"),
        (PriceQuote(SYM, Decimal("1"), Decimal("2"), Decimal("0"), 1, T0), "last_price"),
        (PriceQuote(SYM, Decimal("1"), Decimal("2"), Decimal("1.001"), 1, T0), "last_price"),
        (PriceQuote(SYM, Decimal("1"), Decimal("2"), Decimal("1"), -1, T0), "volume"),
    ],
)
def test_bad_quotes_are_refused_without_change(q: PriceQuote, field: str) -> None:
    s = LivePriceStream()
    with pytest.raises(InvalidInput) as info:
        s.update_price_nowait(SYM, q)
    assert info.value.field == field
    assert s.quote(SYM) is None and s.tick_count(SYM) == 0


def test_missing_book_falls_back_to_ltp() -> None:
    s = LivePriceStream()
    s.update_price_nowait(SYM, PriceQuote(SYM, Decimal(0), Decimal(0), Decimal("5"), 0, T0))
    assert s.top(SYM) == (500, 500, 500, datetime_to_ns(T0))


def test_history_is_a_bounded_ring_oldest_first() -> None:
    s = LivePriceStream(history=5)
    for i in range(12):
        s.push(SYM, 100 + i, 101 + i, 100 + i, i, i)
    h = s.history(SYM)
    assert h["ts_ns"] == [7, 8, 9, 10, 11]
    assert h["last"] == [Decimal(p).scaleb(-2) for p in range(107, 112)]
    assert s.tick_count(SYM) == 12
    df = s.history_df(SYM)
    assert list(df["volume"]) == [7, 8, 9, 10, 11]
    assert str(df["timestamp"].dt.tz) == "Asia/Kolkata"


def test_empty_history_df_has_the_columns() -> None:
    df = LivePriceStream().history_df()
    assert list(df.columns) == ["timestamp", "symbol", "bid", "ask", "last", "volume"]
    assert df.empty


def test_naive_timestamps_are_read_as_local_time() -> None:
    naive = datetime(2025, 6, 2, 10, 0)
    assert datetime_to_ns(naive) == datetime_to_ns(naive.astimezone())


async def test_callbacks_sync_and_async_and_a_failing_one() -> None:
    s = LivePriceStream()
    got: list[Decimal] = []
    got_async: list[Decimal] = []
    errors: list[BaseException] = []
    s.on_error = errors.append

    def bad(_: PriceQuote) -> None:
        raise RuntimeError("user bug")

    async def slow(q: PriceQuote) -> None:
        got_async.append(q.last_price)

    s.subscribe(SYM, lambda q: got.append(q.last_price))
    s.subscribe(SYM, bad)
    s.subscribe(SYM, slow)
    await s.update_price(SYM, quote("1.00", "1.10", "1.05"))
    await asyncio.sleep(0)
    assert got == [Decimal("1.05")] and got_async == [Decimal("1.05")]
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    s.unsubscribe(SYM, bad)
    s.unsubscribe(SYM)
    await s.update_price(SYM, quote("1.00", "1.10", "1.10"))
    assert got == [Decimal("1.05")]


async def test_async_iteration_with_a_bounded_queue() -> None:
    s = LivePriceStream()
    sub = s.quotes(SYM, maxsize=3)
    for i in range(5):
        s.push(SYM, 100, 105, 100 + i, i, i)
    assert sub.dropped == 2
    seen = []
    async for q in sub:
        seen.append(q.volume)
        if len(seen) == 3:
            break
    assert seen == [2, 3, 4]

    async def reader() -> list[int]:
        out = []
        async with s.quotes(SYM) as live:
            async for q in live:
                out.append(q.volume)
                if len(out) == 2:
                    return out
        return out

    task = asyncio.ensure_future(reader())
    await asyncio.sleep(0)
    s.push(SYM, 100, 105, 100, 10, 10)
    s.push(SYM, 100, 105, 100, 11, 11)
    assert await task == [10, 11]
    sub.close()
    with pytest.raises(InvalidInput):
        s.quotes()
