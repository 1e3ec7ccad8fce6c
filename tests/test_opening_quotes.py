"""Opening quotes and the day's statistics: a Fyers session's ``watch()`` asks ``/data/quotes``
once per 50 symbols (paced by the Fyers rate limiter) so an order can be placed before the
first tick; ``day_stats`` and ``quotes_df`` measure the day against the previous close, on the
fake Fyers server and on the simulated market."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

import livetrade as lt
from livetrade.depth import DayStatsStore
from livetrade.errors import AuthError
from livetrade.fyers.rest import FyersApiError, FyersQuotesClient
from livetrade.session import Session
from livetrade.testing.fake_data import ist_date
from livetrade.testing.fake_fyers import FakeFyersServer

SBIN, INFY, NIFTY = "NSE:SBIN-EQ", "NSE:INFY-EQ", "NSE:NIFTY50-INDEX"
NEW_COLUMNS = ["open", "high", "low", "prev_close", "change_pct"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=6, tick_interval=None, loose_symbols=True) as server:
        yield server


async def test_watch_gives_a_quote_before_the_first_tick(fake: FakeFyersServer) -> None:
    s = await lt.open_session(
        feed="fyers", broker="paper", fyers=fake.config, journal=False, name="oq"
    )
    try:
        fake.stall()  # the data socket sends nothing: no snapshot, no tick
        await s.watch([SBIN, NIFTY])
        assert s.stream.tick_count(SBIN) == 1 and s.stream.tick_count(NIFTY) == 1
        inst = fake.instrument(SBIN)
        assert inst is not None
        q = s.stream.quote(SBIN)
        assert q is not None and q.last_price == Decimal(inst.values[0]) / 100
        order = await s.buy(SBIN, 1)  # no NO_QUOTE: the opening quote prices it
        assert order.filled_quantity == 1
        stats = s.day_stats(SBIN)
        assert stats.prev_close == Decimal(inst.values[20]) / 100
        assert (
            stats.prev_close
            == Decimal(fake.history.previous_close(SBIN, ist_date(fake.now_ns()))) / 100
        )
        assert stats.open == Decimal(inst.values[19]) / 100
        assert stats.upper_circuit is None and stats.lower_circuit is None  # not in quotes
        idx = s.day_stats(NIFTY)
        assert idx.prev_close is not None and idx.upper_circuit is None
        assert [p for p, _ in fake.data.calls] == ["/quotes"]
        fake.resume()
        await fake.step()
        # the exchange fields of the feed's quote records now say more: circuits too
        from conftest import until

        await until(lambda: s.day_stats(SBIN).upper_circuit is not None)
        stats = s.day_stats(SBIN)
        assert stats.upper_circuit == Decimal(inst.values[18]) / 100
        assert stats.high is not None and stats.low is not None and stats.low <= stats.high
        df = s.quotes_df(SBIN)
        assert list(df.columns)[-5:] == NEW_COLUMNS
        last = df.iloc[-1]
        assert last["prev_close"] == float(stats.prev_close)  # type: ignore[arg-type]
        assert last["change_pct"] == pytest.approx(
            (last["last"] - last["prev_close"]) / last["prev_close"] * 100
        )
    finally:
        await s.close()


async def test_one_quotes_call_per_fifty_symbols(fake: FakeFyersServer) -> None:
    symbols = [f"NSE:LOAD{i:03d}-EQ" for i in range(120)]
    s = await lt.open_session(
        feed="fyers", broker="paper", fyers=fake.config, journal=False, name="oq50"
    )
    try:
        fake.stall()
        await s.watch(symbols)
        calls = [q for p, q in fake.data.calls if p == "/quotes"]
        assert [len(q.split("%2C")) for q in calls] == [50, 50, 20]
        assert all(s.stream.tick_count(sym) == 1 for sym in symbols)
        await s.watch(symbols[:3])  # again: no new symbol is subscribed, one more call
        assert len([p for p, _ in fake.data.calls if p == "/quotes"]) == 4
    finally:
        await s.close()


async def test_a_failed_quotes_call_is_reported_not_fatal(fake: FakeFyersServer) -> None:
    s = await lt.open_session(
        feed="fyers", broker="paper", fyers=fake.config, journal=False, name="oqfail"
    )
    errors: list[BaseException] = []
    s.error_event += errors.append
    try:
        fake.stall()
        await s.watch([INFY])  # its fytoken is known from now on: no symbol-token call again
        fake.reject_token = True  # every REST call is now refused
        await s.watch([INFY])
        assert len(errors) == 1 and isinstance(errors[0], AuthError)
        assert "quotes" in str(errors[0]) and INFY in s.symbols
    finally:
        fake.reject_token = False
        await s.close()


async def test_quotes_client_paces_and_retries_429() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["symbols"])
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"s": "error"})
        if len(calls) == 3:
            return httpx.Response(200, json={"s": "error", "code": -50, "message": "bad"})
        assert request.headers["Authorization"] == "ABCDEFGHIJ-100:jwt"
        return httpx.Response(
            200,
            json={
                "s": "ok",
                "code": 200,
                "d": [
                    {"n": SBIN, "s": "ok", "v": {"lp": 801.05, "bid": 801, "ask": 801.1,
                                                  "prev_close_price": 790.5, "upper_ckt": 869.5}},
                    {"n": "NSE:X-EQ", "s": "error", "v": {"errmsg": "invalid"}},
                ],
            },
        )  # fmt: skip

    from livetrade.fyers.broker import RateLimiter

    slept: list[float] = []
    now = [0.0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    client = FyersQuotesClient(
        "ABCDEFGHIJ-100:jwt",
        "http://127.0.0.1:1/data",
        transport=httpx.MockTransport(handler),
        limiter=limiter,
    )
    answer = await client.quotes([SBIN, "NSE:X-EQ"])
    q = answer.quotes[SBIN]
    assert (q.ltp, q.bid, q.ask, q.prev_close, q.upper_circuit, q.open) == (
        80105, 80100, 80110, 79050, 86950, 0,
    )  # fmt: skip
    assert answer.invalid == ["NSE:X-EQ"]
    assert client.requests == 2 and slept and slept[0] == pytest.approx(2.0)
    with pytest.raises(FyersApiError, match="-50"):
        await client.quotes([SBIN])
    with pytest.raises(AuthError):
        FyersQuotesClient("jwt-without-app", "http://127.0.0.1:1/data")
    await client.aclose()


# ---- the simulated market ----------------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[Session]:
    s = await lt.open_session(feed="sim", broker="paper", seed=2, realtime=False, journal=False)
    yield s
    await s.close()


async def test_simulated_day_stats(sim: Session) -> None:
    await sim.run_for(ticks=300)
    stats = sim.day_stats(SBIN)
    ticks = sim.stream.history(SBIN)["last"]
    assert stats.open == ticks[0]
    assert stats.high == max(ticks) and stats.low == min(ticks)
    sim_past = sim.market_data.sim
    assert sim_past is not None
    prev = sim_past.previous_close(SBIN, sim.now.date())
    assert stats.prev_close == Decimal(prev) / 100
    # the previous close is the simulated past's last close: history agrees
    daily = await sim.history(SBIN, "1D", sim.now - timedelta(days=7), sim.now)
    assert daily["close"].iloc[-1] == pytest.approx(prev / 100)
    assert stats.upper_circuit is not None and stats.lower_circuit is not None
    assert stats.upper_circuit == (Decimal(prev) + prev // 5 // 5 * 5) / 100
    await sim.run_for(ticks=100)
    later = sim.day_stats(SBIN)
    assert later.prev_close == stats.prev_close and later.open == stats.open
    assert later.high is not None and later.high >= stats.high
    df = sim.quotes_df()
    assert list(df.columns) == [
        "timestamp", "symbol", "bid", "ask", "last", "volume", *NEW_COLUMNS,
    ]  # fmt: skip
    one = df[df["symbol"] == SBIN]
    assert one["open"].nunique() == 1 and one["open"].iloc[0] == float(stats.open)
    assert (one["high"].diff().dropna() >= 0).all() and (one["low"].diff().dropna() <= 0).all()
    assert one["high"].iloc[-1] == float(later.high)
    assert (
        one["change_pct"].round(9) == ((one["last"] / one["prev_close"] - 1) * 100).round(9)
    ).all()
    empty = sim.quotes_df("NSE:NOTHING-EQ")
    assert list(empty.columns)[-5:] == NEW_COLUMNS and empty.empty


def test_day_stats_store_rolls_over_at_midnight() -> None:
    store = DayStatsStore()
    store.set(SBIN, 100, prev_close=79_000, open=79_500, high=80_500, low=79_400)
    store.fold(SBIN, 100, 3, [80_000, 81_000, 79_100])
    got = store.paise(SBIN)
    assert (got["open"], got["high"], got["low"], got["prev_close"]) == (
        79_500, 81_000, 79_100, 79_000,
    )  # fmt: skip
    store.fold(SBIN, 101, 5, [80_200, 80_100])  # the next IST day
    got = store.paise(SBIN)
    assert got == {"prev_close": 79_100, "open": 80_200, "high": 80_200, "low": 80_100}
    assert store.folded(SBIN) == 5 and store.day(SBIN) == 101
    with pytest.raises(ValueError, match="field"):
        store.set(SBIN, 101, close=1)
    assert store.get(SBIN).upper_circuit is None
