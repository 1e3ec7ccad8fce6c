"""A live session asks Fyers' margin calculator before a futures or options order (or a basket
holding one) is journaled or sent (#15 item 4): refused with Fyers' figures when it needs more
than is available, nothing journaled or sent; a failed call lets the order go and is reported;
``margin_check=False`` skips it. Against the fake Fyers trading API in process (tests/test_live
``Rig``), its margin figures from livetrade.fno.margin on the session's simulated derivatives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)
from test_live import SBIN, Rig

import livetrade as lt
from livetrade.errors import FyersApiError, InvalidInput, OrderRejected
from livetrade.fno.margin import MarginParams
from livetrade.fyers.margin_call import MARGIN_PATH
from livetrade.model import OrderStatus
from livetrade.session import Session, SessionConfig

FUT = "NSE:NIFTY25JUNFUT"  # the simulated derivatives' near future on 2 Jun 2025


class MarginRig(Rig):
    """A live session with the simulated NIFTY derivatives; the fake describes the contracts
    from the session's own registry (for its margin figures)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.fake.instrument_of = self.contract
        self.errors: list[BaseException] = []

    def contract(self, symbol: str) -> Any:
        session = lt.get_session(self.name)
        return None if session is None else session.engine.instruments.known(symbol)

    async def open(self, *, arm: bool = True, ticks: int = 2, **kw: Any) -> Session:
        s = await super().open(arm=arm, ticks=ticks, derivatives=True, **kw)
        s.error_event += self.errors.append
        return s

    def margin_calls(self) -> list[Any]:
        return self.fake.requests_to(MARGIN_PATH, "POST")

    def lot(self, symbol: str) -> int:
        return self.s.engine.instruments.get(symbol).lot_size


@pytest.fixture
async def rig() -> AsyncIterator[MarginRig]:
    r = MarginRig("live-margin")
    yield r
    if r.session is not None:
        await r.session.close()


async def test_an_order_beyond_fyers_margin_is_refused_with_the_figures(
    rig: MarginRig, tmp_path: Path
) -> None:
    s = await rig.open(journal=True, journal_dir=tmp_path)
    rejected: list[Any] = []
    s.order_event += rejected.append
    journal = s.journal
    assert journal is not None
    rows = len(list(journal.records()))
    with pytest.raises(OrderRejected) as err:
        await s.sell(FUT, lots=3, product="MARGIN")
    assert (err.value.code, err.value.field) == ("INSUFFICIENT_MARGIN", "quantity")
    reason = err.value.reason
    assert reason.startswith(f"SELL {3 * rig.lot(FUT)} {FUT} needs ₹")
    assert reason.endswith("but ₹5,00,000.00 is available (Fyers).")
    (call,) = rig.margin_calls()
    assert call.body == {"data": [{
        "symbol": FUT, "qty": 3 * rig.lot(FUT), "side": -1, "type": 2, "productType": "MARGIN",
        "limitPrice": 0, "stopLoss": 0, "stopPrice": 0, "takeProfit": 0,
    }]}  # fmt: skip
    assert rig.posts() == [] and not s.engine.orders and rejected == []
    journal.flush()
    assert len(list(journal.records())) == rows  # nothing journaled
    order = await s.sell(FUT, lots=1, product="MARGIN")  # one lot fits
    assert order.status is OrderStatus.FILLED and len(rig.margin_calls()) == 2
    assert len(rig.posts()) == 1 and rig.errors == []


async def test_fyers_figure_decides_not_our_paper_approximation(rig: MarginRig) -> None:
    s = await rig.open()
    rig.fake.margin_params = MarginParams(index_price_scan=Decimal("0.6"))  # Fyers asks more
    with pytest.raises(OrderRejected) as err:
        await s.sell(FUT, lots=1, product="MARGIN")  # our own check would let it through
    assert err.value.code == "INSUFFICIENT_MARGIN" and err.value.reason.endswith("(Fyers).")
    assert rig.posts() == [] and not s.engine.orders
    rig.fake.margin_params = MarginParams()
    limit = await s.buy(FUT, lots=1, product="MARGIN", order_type="LIMIT", limit_price="20000.00")
    assert limit.status is OrderStatus.OPEN and len(rig.posts()) == 1
    assert rig.margin_calls()[-1].body["data"][0]["limitPrice"] == 20000.0  # priced at its limit


async def test_a_failed_margin_call_does_not_block_the_order(rig: MarginRig) -> None:
    s = await rig.open()
    rig.fake.error_next(500, count=2, path=MARGIN_PATH)  # the first ask and its one retry
    order = await s.sell(FUT, lots=1, product="MARGIN")
    assert order.status is OrderStatus.FILLED and len(rig.posts()) == 1
    assert len(rig.margin_calls()) == 2
    (reported,) = rig.errors
    assert isinstance(reported, FyersApiError) and MARGIN_PATH in str(reported)


async def test_switched_off_equities_and_unarmed_sessions_do_not_ask(rig: MarginRig) -> None:
    s = await rig.open(arm=False)
    with pytest.raises(OrderRejected, match="not armed"):
        await s.sell(FUT, lots=1, product="MARGIN")  # the engine refuses: no question asked
    await s.arm_live(confirm="LIVE")
    await s.buy(SBIN, 5)  # a cash equity: Fyers' own check is enough
    assert rig.margin_calls() == [] and len(rig.posts()) == 1
    await s.close()
    rig.session = None
    off = MarginRig("live-margin-off")
    try:
        s2 = await off.open(margin_check=False)
        assert s2.config.margin_check is False
        order = await s2.sell(FUT, lots=1, product="MARGIN")
        assert order.status is OrderStatus.FILLED
        assert off.margin_calls() == [] and len(off.posts()) == 1
    finally:
        if off.session is not None:
            await off.session.close()


async def test_a_basket_is_asked_together_buys_first(rig: MarginRig) -> None:
    s = await rig.open()
    assert s.derivatives is not None
    ce = [sym for sym in s.derivatives.symbols if sym.endswith("CE")]
    near = s.engine.instruments.get(ce[0]).expiry
    same = sorted(
        (sym for sym in ce if s.engine.instruments.get(sym).expiry == near),
        key=lambda sym: s.engine.instruments.get(sym).strike_paise or 0,
    )
    short, hedge = same[len(same) // 2], same[len(same) // 2 + 2]
    legs = [
        {"symbol": short, "side": "SELL", "lots": 1, "product": "MARGIN"},
        {"symbol": hedge, "side": "BUY", "lots": 1, "product": "MARGIN"},
    ]
    result = await s.place_basket(legs)
    assert all(o.status is OrderStatus.FILLED for o in result.orders)
    (call,) = rig.margin_calls()
    assert [(leg["symbol"], leg["side"]) for leg in call.body["data"]] == [(hedge, 1), (short, -1)]
    big = [{**legs[0], "lots": 10}, legs[1]]
    with pytest.raises(OrderRejected) as err:
        await s.place_basket(big)
    assert err.value.code == "INSUFFICIENT_MARGIN"
    assert err.value.reason.startswith("The basket of 2 orders needs ₹")
    assert len(s.engine.orders) == 2 and len(rig.margin_calls()) == 2
    assert len(rig.fake.requests_to("/multi-order/sync", "POST")) == 1  # only the first


def test_margin_check_is_a_checked_config_field() -> None:
    assert SessionConfig().margin_check is True  # on by default (it only acts live)
    with pytest.raises(InvalidInput) as err:
        SessionConfig(margin_check="yes")  # type: ignore[arg-type]
    assert err.value.field == "margin_check"
