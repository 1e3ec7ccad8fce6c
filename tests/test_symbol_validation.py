"""One rule for a symbol everywhere it enters: orders, quotes (the original ``update_price``,
every feed, REST ``update-price``), watch lists, the simulated market and the hub.

Before the rule, ``POST update-price`` on a simulated session took symbols with NUL, CR/LF or
bidi-override characters, which then became tradable and reached logs, the journal and the
dashboard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import livetrade as lt
from livetrade.api import create_app
from livetrade.errors import InvalidInput, OrderRejected
from livetrade.fyers.symbols import parse_symbol
from livetrade.hub.protocol import valid_symbol
from livetrade.model import SYMBOL_RE, check_symbol

PREFIX = "/api/live-trading"
BAD = [
    "NSE:SB\x00IN-EQ",  # NUL
    "NSE:SBIN-EQ\r\nX-Injected: 1",  # CR/LF
    "NSE:\u202eQE-NIBS",  # right-to-left override
    "NSE:SBIN\u200b-EQ",  # zero-width space
    "NSE:ＳBIN-EQ",  # full-width letter
    "SBIN-EQ",  # no exchange
    "nse:sbin-eq",  # lower case
    " NSE:SBIN-EQ",  # leading space
    "NSE:",  # no name
    "NSE:-EQ",  # name starts with '-'
    "NSE:" + "A" * 61,  # too long
]
GOOD = ["NSE:SBIN-EQ", "NSE:NIFTY50-INDEX", "NSE:M&M-EQ", "NSE:NIFTY24DECFUT", "BSE:SENSEX-INDEX"]


@pytest.fixture
async def session() -> AsyncIterator[lt.Session]:
    s = await lt.open_session(feed="sim", broker="paper", seed=7, realtime=False, journal=False)
    await s.run_for(ticks=3)
    yield s
    await s.close()


@pytest.mark.parametrize("symbol", BAD)
def test_check_symbol_refuses_with_the_field(symbol: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_symbol(symbol, "symbols")
    assert info.value.field == "symbols" and info.value.reason
    assert not valid_symbol(symbol)
    with pytest.raises(InvalidInput):
        parse_symbol(symbol)


@pytest.mark.parametrize("symbol", GOOD)
def test_real_symbols_pass(symbol: str) -> None:
    assert check_symbol(symbol) == symbol == parse_symbol(symbol).symbol


@given(st.text(max_size=70))
def test_what_passes_is_printable_ascii_with_an_exchange(text: str) -> None:
    try:
        check_symbol(text)
    except InvalidInput:
        return
    assert text.isascii() and text.isprintable() and SYMBOL_RE.fullmatch(text)
    assert text == text.strip() and "\r" not in text and "\n" not in text


@pytest.mark.parametrize("symbol", BAD)
async def test_rest_update_price_refuses_and_nothing_becomes_tradable(
    session: lt.Session, symbol: str
) -> None:
    transport = httpx.ASGITransport(app=create_app(session))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        price = {"bid_price": 99.9, "ask_price": 100.1, "last_price": 100.0, "volume": 1}
        r = await client.post(f"{PREFIX}/update-price", json={"symbol": symbol, **price})
        assert 400 <= r.status_code < 500 and r.json()["field"] == "symbol", r.text
        r = await client.post(f"{PREFIX}/buy", json={"symbol": symbol, "quantity": 1})
        assert 400 <= r.status_code < 500 and r.json()["field"] == "symbol", r.text
        assert r.json()["code"] in ("INVALID_SYMBOL", "INVALID_REQUEST")
    assert session.stream.quote(symbol) is None and symbol not in session.symbols
    assert all(o.symbol != symbol for o in session.orders)


@pytest.mark.parametrize("symbol", BAD)
async def test_every_session_entry_refuses(session: lt.Session, symbol: str) -> None:
    before = list(session.symbols)
    with pytest.raises(InvalidInput):
        await session.watch([symbol])
    with pytest.raises(InvalidInput):
        session.add_symbol(symbol, "100.00")
    with pytest.raises(OrderRejected) as info:
        await session.buy(symbol, 1)
    assert info.value.code == "INVALID_SYMBOL" and info.value.field == "symbol"
    assert session.symbols == before and session.orders == []


@pytest.mark.parametrize("symbol", BAD[:4])
async def test_the_original_update_price_refuses(symbol: str) -> None:
    stream = lt.LivePriceStream()
    q = lt.PriceQuote(
        symbol, Decimal("99.90"), Decimal("100.10"), Decimal("100.00"), 1, datetime.now(UTC)
    )
    with pytest.raises(InvalidInput) as info:
        await stream.update_price(symbol, q)
    assert info.value.field == "symbol"
    assert await stream.get_current_price(symbol) is None
