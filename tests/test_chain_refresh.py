"""``session.refresh_option_chain`` (#16 item 1): on Fyers' feed the chain's contracts the
stream does not watch are filled from ``/data/options-chain-v3`` (registered, quoted, OI kept),
so ``session.option_chain()`` has IV, Greeks and OI for them; a watched contract keeps its
streamed quotes. Against the fake Fyers server, plus the freshness and lot rules on their own."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal

import pytest

import livetrade as lt
from livetrade.chain_refresh import ChainOI, option_instrument, refresh_chain
from livetrade.errors import InvalidInput, LiveTradeError, OrderRejected
from livetrade.fyers.broker import FyersRestClient
from livetrade.fyers.option_chain import OptionChain, OptionExpiry, OptionRow
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST, PriceQuote, datetime_to_ns
from livetrade.prices import LivePriceStream
from livetrade.session import Session
from livetrade.testing.fake_fno import Contract
from livetrade.testing.fake_fyers import FakeFyersServer

NIFTY = "NSE:NIFTY50-INDEX"


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    async with FakeFyersServer(seed=5, tick_interval=None) as server:
        yield server


@pytest.fixture
async def session(fake: FakeFyersServer) -> AsyncIterator[Session]:
    s = await lt.open_session(
        feed="fyers", broker="paper", fyers=fake.config, journal=False, name="chain-refresh"
    )
    try:
        yield s
    finally:
        await s.close()


def nearest(fake: FakeFyersServer, n: int = 0) -> list[Contract]:
    assert fake.fno is not None
    return fake.fno.options(fake.fno.expiries()[n].expiry_epoch)


def atm_call(fake: FakeFyersServer) -> Contract:
    spot = fake.instrument(NIFTY).values[0]
    calls = [c for c in nearest(fake) if c.option_type == "CE"]
    return min(calls, key=lambda c: abs((c.strike or 0) - spot))


def paise(value: Decimal) -> int:
    return int(value * 100)


async def test_refresh_fills_unwatched_strikes_and_keeps_the_streamed_quote(
    fake: FakeFyersServer, session: Session
) -> None:
    s = session
    watched = atm_call(fake).symbol
    await s.watch([NIFTY, watched])
    assert s.stream.tick_count(watched) >= 1
    with pytest.raises(InvalidInput, match="no options"):
        s.option_chain(NIFTY)  # nothing but the watched contract's quote, no listing
    streamed = s.stream.quote(watched)
    assert streamed is not None
    ticks = s.stream.tick_count(watched)
    fake.stall()  # the socket says nothing while the market moves: REST differs from it
    for _ in range(3):
        await fake.step()
    now = fake.instrument(watched).values
    assert (paise(streamed.bid_price), paise(streamed.last_price)) != (now[6], now[0])

    report = await s.refresh_option_chain(NIFTY, strikes=20)

    expiry_epoch = fake.fno.expiries()[0].expiry_epoch if fake.fno else 0
    assert report.expiry == datetime.fromtimestamp(expiry_epoch, IST)
    assert watched in report.kept and watched not in report.quoted
    assert s.stream.tick_count(watched) == ticks and s.stream.quote(watched) == streamed
    chain = s.option_chain(NIFTY, strikes=20)
    assert len(chain) == 20 and chain["atm"].sum() == 1
    unwatched = solved = 0
    for side in ("call", "put"):
        columns = ("symbol", "iv", "iv_reason", "oi", "oi_change", "bid", "ask", "ltp", "delta")
        for symbol, iv, why, oi, change, bid, ask, ltp, delta in zip(
            *(chain[f"{side}_{c}"] for c in columns), strict=True
        ):
            values = fake.instrument(symbol).values
            assert (oi, change) == (values[12], fake.instrument(symbol).oi_change)
            if symbol == watched:
                continue
            unwatched += 1
            assert symbol in report.quoted
            assert (round(bid * 100), round(ask * 100), round(ltp * 100)) == (
                values[6],
                values[7],
                values[0],
            )
            if math.isfinite(iv):  # a deep in-the-money mid may sit below intrinsic value
                assert 0.01 < iv < 2.0 and math.isfinite(delta), symbol
                solved += 1
            else:
                assert why, symbol  # NaN only with its reason
    assert unwatched == 39 and solved >= 30
    inst = s.engine.instruments.get(watched)  # registered although it was watched first
    assert inst.kind is InstrumentKind.OPTION and inst.underlying == NIFTY
    assert (inst.lot_size, inst.tick_paise, inst.freeze_qty) == (65, 5, 1800)  # fno.md §2
    assert inst.expiry == report.expiry and inst.strike_paise == atm_call(fake).strike
    # the whole answer was registered (Fyers gives 11 strikes each side for strikes=20)
    assert len(report.registered) == 2 * 21 and report.unpriced == ()
    # the registered contracts trade in lots
    with pytest.raises(OrderRejected, match="lot size 65"):
        await s.buy(report.quoted[0], 1)


async def test_a_second_refresh_replaces_its_own_quotes(
    fake: FakeFyersServer, session: Session
) -> None:
    s = session
    client = FyersRestClient(
        fake.config.access_token, base_url=fake.config.api_url, data_url=fake.config.rest_url
    )
    async with client:
        first = await s.refresh_option_chain(NIFTY, strikes=6, fyers_client=client)
        assert len(first.quoted) == 2 * 9 and first.registered  # 4 strikes each side of ATM
        for _ in range(5):
            await fake.step()
        second = await s.refresh_option_chain(NIFTY, strikes=6, fyers_client=client)
    assert set(second.quoted) == set(first.quoted) and second.kept == ()
    assert second.registered == ()  # known now: kept as registered
    moved = 0
    for symbol in second.quoted:
        values = fake.instrument(symbol).values
        q = s.stream.quote(symbol)
        assert q is not None and s.stream.tick_count(symbol) == 2
        assert (paise(q.bid_price), paise(q.ask_price), paise(q.last_price)) == (
            values[6],
            values[7],
            values[0],
        )
        history = s.stream.history(symbol)
        moved += history["last"][0] != history["last"][1]
    assert moved > 0
    spot = s.stream.quote(NIFTY)  # the underlying's LTP from the answer (not watched)
    assert spot is not None and paise(spot.last_price) == fake.instrument(NIFTY).values[0]
    assert s.option_chain(NIFTY, strikes=6).attrs["spot"] == float(spot.last_price)


async def test_next_expiry_and_a_bad_one(fake: FakeFyersServer, session: Session) -> None:
    s = session
    assert fake.fno is not None
    listed = fake.fno.expiries()
    before = len(s.engine.instruments)
    bad = date(2020, 1, 7)
    with pytest.raises(InvalidInput, match="expiry"):
        await s.refresh_option_chain(NIFTY, expiry=bad)
    with pytest.raises(InvalidInput, match="strikes"):
        await s.refresh_option_chain(NIFTY, strikes=0)
    assert len(s.engine.instruments) == before and s.stream.symbols == []
    report = await s.refresh_option_chain(NIFTY, strikes=4, expiry="next")
    assert report.expiry == datetime.fromtimestamp(listed[1].expiry_epoch, IST)
    assert {c.symbol for c in nearest(fake, 1)} >= set(report.registered)
    chain = s.option_chain(NIFTY, expiry="nearest", strikes=4)  # the only one registered
    assert chain.attrs["expiry"] == report.expiry
    assert chain["call_iv"].notna().all() and chain["put_oi"].notna().all()


async def test_simulated_session_refuses() -> None:
    s = await lt.open_session(
        feed="sim", broker="paper", derivatives=True, realtime=False, journal=False, name="crs"
    )
    try:
        with pytest.raises(LiveTradeError, match="sim"):
            await s.refresh_option_chain(NIFTY)
    finally:
        await s.close()


# ---- the rules on their own ----------------------------------------------------------------

EXP = OptionExpiry(date(2026, 12, 8), 1796724600, "W")
EXP_AT = datetime.fromtimestamp(EXP.timestamp, IST)


def row(symbol: str, strike: int, kind: str, ltp: int, bid: int, ask: int) -> OptionRow:
    return OptionRow(strike, kind, symbol, ltp, bid, ask, 10, 1000, -5, 1005, "")


class StubClient:
    """Answers ``option_chain`` with a fixed chain (the HTTP side is tested above)."""

    def __init__(self, chain: OptionChain) -> None:
        self.chain = chain
        self.calls: list[tuple[str, int, int | str]] = []

    async def option_chain(
        self, symbol: str, strikecount: int, timestamp: int | str = ""
    ) -> OptionChain:
        self.calls.append((symbol, strikecount, timestamp))
        return self.chain


def chain_of(*rows: OptionRow) -> OptionChain:
    return OptionChain(NIFTY, 0, 0, 0, 0, 0, (EXP,), rows)


CE, PE = "NSE:NIFTY26D0824000CE", "NSE:NIFTY26D0824000PE"
CE2 = "NSE:NIFTY26D0824050CE"


async def test_only_older_quotes_of_unwatched_contracts_are_replaced() -> None:
    stream = LivePriceStream()
    sent = datetime(2026, 12, 7, 10, 0, tzinfo=IST)
    sent_ns = datetime_to_ns(sent)
    newer = PriceQuote(CE, Decimal("80"), Decimal("81"), Decimal("80.5"), 1, sent.replace(second=1))
    older = PriceQuote(PE, Decimal("70"), Decimal("71"), Decimal("70.5"), 1, sent.replace(hour=9))
    stream.update_price_nowait(CE, newer)
    stream.update_price_nowait(PE, older)
    oi = ChainOI()
    client = StubClient(
        chain_of(
            row(CE, 2_400_000, "CE", 9_000, 8_995, 9_010),
            row(PE, 2_400_000, "PE", 7_500, 7_490, 7_510),
            row(CE2, 2_405_000, "CE", 0, 6_000, 6_010),  # no trade yet: the mid stands in
        )
    )
    report = await refresh_chain(
        client,  # type: ignore[arg-type]
        InstrumentRegistry(),
        stream,
        oi,
        underlying=NIFTY,
        strikes=3,
        expiry=None,
        watched=(),
        now_ns=sent_ns,
    )
    assert client.calls == [(NIFTY, 2, "")]
    assert report.kept == (CE,) and set(report.quoted) == {PE, CE2}
    assert stream.quote(CE) == newer  # stamped after the request was sent
    assert stream.top(PE) == (7_490, 7_510, 7_500, sent_ns)
    assert stream.top(CE2) == (6_000, 6_010, 6_005, sent_ns)
    assert oi(PE) == (1000, -5) and oi("NSE:SBIN-EQ") is None and len(oi) == 3


async def test_a_master_instrument_is_kept_and_a_wrong_ticker_is_not_registered() -> None:
    master = Instrument(
        CE, InstrumentKind.OPTION, lot_size=75, tick_paise=5, expiry=EXP_AT,
        strike_paise=2_400_000, option_type="CE", underlying=NIFTY, segment="FO",
    )  # fmt: skip
    registry = InstrumentRegistry([master])
    stream = LivePriceStream()
    wrong = row("NSE:NIFTY26D0824100CE", 2_400_000, "CE", 100, 95, 105)  # strike disagrees
    report = await refresh_chain(
        StubClient(chain_of(row(CE, 2_400_000, "CE", 100, 95, 105), wrong)),  # type: ignore[arg-type]
        registry,
        stream,
        ChainOI(),
        underlying=NIFTY,
        strikes=2,
        expiry=None,
        watched=[CE],
        now_ns=datetime_to_ns(EXP_AT) - 10**12,
    )
    assert registry.get(CE) is master and report.registered == ()
    assert report.unpriced == (wrong.symbol,) and wrong.symbol not in registry
    assert report.quoted == (CE,)  # watched but never quoted: nothing fresher to keep


def test_lots_fno_md_does_not_give_are_refused() -> None:
    bank = row("NSE:BANKNIFTY25D0951000CE", 5_100_000, "CE", 100, 95, 105)
    old = datetime(2025, 12, 9, 15, 30, tzinfo=IST)  # before the Oct 2025 revision's lots
    with pytest.raises(InvalidInput, match="lot size"):
        option_instrument(bank, "NSE:NIFTYBANK-INDEX", old, None, date(2025, 12, 1))
    monthly = row("NSE:BANKNIFTY26DEC51000CE", 5_100_000, "CE", 100, 95, 105)
    later = datetime(2026, 12, 29, 15, 40, tzinfo=IST)
    inst = option_instrument(monthly, "NSE:NIFTYBANK-INDEX", later, None, date(2026, 12, 7))
    assert inst is not None and (inst.lot_size, inst.freeze_qty) == (30, 600)  # fno.md §2
    assert (
        option_instrument(row(CE, 2_400_000, "PE", 1, 1, 1), NIFTY, EXP_AT, None, EXP.date) is None
    )


async def test_a_refused_contract_changes_nothing() -> None:
    registry, stream, oi = InstrumentRegistry(), LivePriceStream(), ChainOI()
    unknown = row("BSE:SENSEX26D0880000CE", 8_000_000, "CE", 100, 95, 105)  # lot not in fno.md
    chain = OptionChain("BSE:SENSEX-INDEX", 8_000_000, 0, 0, 0, 0, (EXP,), (unknown,))
    with pytest.raises(InvalidInput, match="symbol master"):
        await refresh_chain(
            StubClient(chain),  # type: ignore[arg-type]
            registry,
            stream,
            oi,
            underlying="BSE:SENSEX-INDEX",
            strikes=2,
            expiry=None,
            watched=(),
            now_ns=datetime_to_ns(EXP_AT) - 10**12,
        )
    assert len(registry) == 0 and stream.symbols == [] and len(oi) == 0


async def test_a_live_session_reads_through_its_own_client(
    fake: FakeFyersServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await lt.open_session(
        feed="fyers", broker="fyers", live=True, fyers=fake.config, name="chain-refresh-live",
        journal=False, poll_interval=None, square_off=None, order_updates="poll",
    )  # fmt: skip
    try:
        assert s.router is not None
        client = s.router.client
        asked: list[str] = []
        read = client.option_chain

        async def spy(symbol: str, strikecount: int, timestamp: int | str = "") -> OptionChain:
            asked.append(symbol)
            return await read(symbol, strikecount, timestamp)

        monkeypatch.setattr(client, "option_chain", spy)
        report = await s.refresh_option_chain(NIFTY, strikes=4)
        assert asked == [NIFTY] and len(report.quoted) == 2 * 7  # 3 strikes each side
        chain = s.option_chain(NIFTY, strikes=4)
        assert chain["call_iv"].notna().all() and chain["call_oi"].notna().all()
        assert (await read(NIFTY, 1)).rows  # the session's client was not closed by it
    finally:
        await s.close()
