"""Shared fixtures: a stream + engine on a virtual clock with one fresh quote."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from livetrade import LivePriceStream, LiveTradingEngine, PriceQuote, RiskLimits
from livetrade.clock import VirtualClock
from livetrade.model import IST

SYM = "NSE:SBIN-EQ"
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=IST)


def quote(bid: str, ask: str, last: str, volume: int = 1000, ts: datetime = T0) -> PriceQuote:
    return PriceQuote(SYM, Decimal(bid), Decimal(ask), Decimal(last), volume, ts)


@pytest.fixture(autouse=True)
def _journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions journal by default: keep every test's journals in its own temp folder."""
    monkeypatch.setenv("LIVETRADE_DATA_DIR", str(tmp_path / "journals"))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def stream() -> LivePriceStream:
    return LivePriceStream()


@pytest.fixture
def engine(stream: LivePriceStream, clock: VirtualClock) -> LiveTradingEngine:
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=clock, limits=RiskLimits())
    stream.update_price_nowait(SYM, quote("799.95", "800.05", "800.00"))
    return eng


def tick(stream: LivePriceStream, bid: str, ask: str, last: str, symbol: str = SYM) -> None:
    """Push a quote stamped at T0 (the virtual clock decides freshness)."""
    stream.update_price_nowait(
        symbol, PriceQuote(symbol, Decimal(bid), Decimal(ask), Decimal(last), 1000, T0)
    )


async def until(
    check: Callable[[], object],
    timeout: float = 15.0,
    what: str = "the condition",
    interval: float = 0.002,
) -> None:
    """Yield to the loop until ``check()`` is truthy (an awaitable result is awaited); fail
    naming ``what`` after ``timeout`` seconds. The one polling helper of the suite
    (``from conftest import until``): its bound is generous, so only a broken implementation
    ever waits it out, and no test depends on how fast the machine is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)
