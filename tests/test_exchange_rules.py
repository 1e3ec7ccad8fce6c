"""#17: after-market orders held until the open, and the pre-open's order-type rules, each
refusal naming its rule and the next time it would be allowed (exchange-rules.md §1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import SYM

from livetrade import LivePriceStream, LiveTradingEngine, OrderRejected, OrderStatus
from livetrade.clock import VirtualClock
from livetrade.frames import orders_frame
from livetrade.instruments import InstrumentRegistry
from livetrade.journal import Journal, restore
from livetrade.market_hours import MarketHours
from livetrade.model import IST, PriceQuote, datetime_to_ns
from livetrade.request import OrderRequest

AMO = MarketHours(allow_amo=True)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=IST)  # type: ignore[misc]


def desk(when: dt.datetime, hours: MarketHours = AMO) -> LiveTradingEngine:
    stream = LivePriceStream()
    eng = LiveTradingEngine(Decimal("1000000"), stream, clock=VirtualClock(when))
    eng.calendar = hours
    quote(eng, when - dt.timedelta(hours=1), "799.95", "800.05")  # an hour-old quote
    return eng


def quote(eng: LiveTradingEngine, when: dt.datetime, bid: str, ask: str) -> None:
    clock = eng.clock
    assert isinstance(clock, VirtualClock)
    if datetime_to_ns(when) > clock.now_ns():
        clock.set(datetime_to_ns(when))
    mid = (Decimal(bid) + Decimal(ask)) / 2
    eng.price_stream.update_price_nowait(
        SYM, PriceQuote(SYM, Decimal(bid), Decimal(ask), mid.quantize(Decimal("0.05")), 10, when)
    )


def amo(eng: LiveTradingEngine, kind: str = "MARKET", **kw: object) -> object:
    req = OrderRequest.parse(SYM, "BUY", 10, kind, amo=True, **kw)  # type: ignore[arg-type]
    return eng.place(req)


# ---- after-market orders ---------------------------------------------------------------------


def test_an_amo_after_the_close_is_held_and_fills_at_the_next_open() -> None:
    eng = desk(at(2026, 3, 4, 16, 30))  # Wed after the close; Thu 5 Mar is a trading day
    order = eng.place(OrderRequest.parse(SYM, "BUY", 10, amo=True))
    assert order.status is OrderStatus.PENDING and not order.fill_paise
    assert order.release_ns == datetime_to_ns(at(2026, 3, 5, 9, 15))
    row = orders_frame(eng.orders).iloc[0]
    assert row["status"] == "PENDING"
    assert "held until Thu 05 Mar 2026 09:15 IST" in row["message"]
    quote(eng, at(2026, 3, 5, 9, 14, 59), "801.00", "801.10")  # pre-open quotes: still held
    assert order.status is OrderStatus.PENDING and eng.fills == []
    quote(eng, at(2026, 3, 5, 9, 15), "802.00", "802.10")  # the open's first tick
    assert order.status is OrderStatus.FILLED
    assert [(f.quantity, f.price_paise) for f in eng.fills] == [(10, 802_10)]
    assert "released at Thu 05 Mar 2026 09:15 IST" in order.message


def test_a_held_limit_amo_rests_after_the_open_and_a_stop_waits_for_its_trigger() -> None:
    eng = desk(at(2026, 3, 3, 11, 0))  # a holiday (Holi): the next open is Wed 09:15
    limit = amo(eng, "LIMIT", limit_price="795.00")
    stop = eng.place(OrderRequest.parse(SYM, "SELL", 5, "SL-M", trigger_price="790.00", amo=True))
    assert limit.release_ns == stop.release_ns == datetime_to_ns(at(2026, 3, 4, 9, 15))
    quote(eng, at(2026, 3, 4, 9, 15, 1), "799.00", "799.10")
    assert limit.status is OrderStatus.OPEN and limit.filled_quantity == 0  # not marketable
    assert stop.status is OrderStatus.OPEN and not stop.triggered  # resting at its trigger
    quote(eng, at(2026, 3, 4, 9, 16), "794.90", "795.00")  # the ask reaches the limit
    assert limit.status is OrderStatus.FILLED
    assert stop.status is OrderStatus.OPEN


def test_a_held_amo_can_be_cancelled_and_never_reaches_the_market() -> None:
    eng = desk(at(2026, 3, 4, 20, 0))
    order = eng.submit(SYM, "BUY", 10, amo=True)  # the same through submit
    assert order.status is OrderStatus.PENDING
    eng.cancel(order.order_id)
    assert order.status is OrderStatus.CANCELLED
    quote(eng, at(2026, 3, 5, 9, 15), "802.00", "802.10")
    assert order.status is OrderStatus.CANCELLED and eng.fills == []


def test_a_held_amo_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    eng = desk(at(2026, 3, 4, 18, 0))
    with Journal(path) as journal:
        journal.attach(eng)
        order = amo(eng, "LIMIT", limit_price="805.00")
    fresh = desk(at(2026, 3, 4, 18, 5))
    with Journal(path) as journal:
        restore(fresh, list(journal.records()), path)
    [back] = [o for o in fresh.orders if o.order_id == order.order_id]
    assert back.status is OrderStatus.PENDING
    assert back.release_ns == datetime_to_ns(at(2026, 3, 5, 9, 15))
    quote(fresh, at(2026, 3, 5, 9, 15), "801.00", "801.10")
    assert back.status is OrderStatus.FILLED and fresh.fills[0].price_paise == 801_10


def test_an_amo_is_refused_while_the_market_is_open_or_when_off() -> None:
    with pytest.raises(OrderRejected) as info:
        amo(desk(at(2026, 3, 4, 11, 0)))
    assert info.value.code == "AMO_NOT_ALLOWED" and "open" in info.value.reason
    with pytest.raises(OrderRejected) as info:
        amo(desk(at(2026, 3, 4, 16, 30), MarketHours()))
    assert info.value.code == "AMO_NOT_ALLOWED" and info.value.field == "amo"


# ---- pre-open and post-close order types -----------------------------------------------------


def refusal(when: dt.datetime, kind: str, hours: MarketHours | None = None) -> OrderRejected:
    eng = desk(when, hours or MarketHours())
    quote(eng, when, "799.95", "800.05")
    prices: dict[str, object] = {
        "LIMIT": {"limit_price": "799.00"},
        "MARKET": {},
        "SL": {"limit_price": "801.50", "trigger_price": "801.00"},
        "SL-M": {"trigger_price": "801.00"},
    }[kind]  # type: ignore[assignment]
    with pytest.raises(OrderRejected) as info:
        eng.place(OrderRequest.parse(SYM, "BUY", 1, kind, **prices))  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize("kind", ["SL", "SL-M"])
def test_no_stop_orders_in_the_pre_open_and_when_they_are_taken(kind: str) -> None:
    rej = refusal(at(2026, 3, 4, 9, 3), kind)
    assert rej.code == "SESSION_ORDER_TYPE" and rej.field == "kind"
    assert "limit and market orders only" in rej.reason and "CMTR72349" in rej.reason
    assert f"{kind} orders are next taken Wed 04 Mar 2026 09:15 IST" in rej.reason


def test_market_orders_frozen_from_0905_from_7_sep_2026() -> None:
    rej = refusal(at(2026, 9, 7, 9, 6), "MARKET")
    assert rej.code == "SESSION_ORDER_TYPE" and "CMTR74969" in rej.reason
    assert "next taken Mon 07 Sep 2026 09:15 IST" in rej.reason
    early = desk(at(2026, 9, 7, 9, 4), MarketHours())  # 09:00-09:05: market orders taken
    quote(early, at(2026, 9, 7, 9, 4), "799.95", "800.05")
    assert early.place(OrderRequest.parse(SYM, "BUY", 1)).status is not OrderStatus.REJECTED
    before = refusal(at(2026, 9, 4, 9, 3), "SL")  # the old pre-open: no freeze, still no SL
    assert "CMTR72349" in before.reason


def test_pre_open_matching_takes_nothing_until_0915() -> None:
    for minute in (7, 10, 14):
        rej = refusal(at(2026, 3, 4, 9, minute), "LIMIT")
        assert rej.code == "MARKET_CLOSED"
        assert "pre-open order entry has closed" in rej.reason
        assert "orders are next taken Wed 04 Mar 2026 09:15 IST" in rej.reason


def test_post_close_takes_limit_orders_only_and_says_when_market_orders_return() -> None:
    hours = MarketHours(post_close_orders=True)
    rej = refusal(at(2026, 3, 4, 15, 45), "MARKET", hours)
    assert rej.code == "SESSION_ORDER_TYPE" and "LIMIT orders only" in rej.reason
    assert "next taken Thu 05 Mar 2026 09:00 IST" in rej.reason  # the next pre-open


# ---- tick size by price band (exchange-rules.md §6) -----------------------------------------

BANDED = InstrumentRegistry(tick_by_price=True)
WED_11 = at(2026, 3, 4, 11, 0)


def tick_refusal(price: str, when: dt.datetime = WED_11) -> OrderRejected | None:
    """Place a limit buy at ``price`` (quote just above it) with NSE's price-band ticks."""
    eng = LiveTradingEngine(
        Decimal("100000000"), LivePriceStream(), clock=VirtualClock(when), instruments=BANDED
    )
    p = Decimal(price)
    quote(eng, when, str(p + Decimal("0.50")), str(p + Decimal("1.00")))
    try:
        eng.place(OrderRequest.parse(SYM, "BUY", 1, "LIMIT", limit_price=price, instruments=BANDED))
    except OrderRejected as rej:
        return rej
    return None


@pytest.mark.parametrize(
    ("price", "ok"),
    [
        ("249.99", True),  # below ₹250: ₹0.01
        ("250.00", True),
        ("250.01", False),  # from ₹250: ₹0.05
        ("999.95", True),
        ("1000.05", False),  # from ₹1,000: ₹0.10
        ("1000.10", True),
        ("4999.90", True),
        ("5000.10", False),  # from ₹5,000: ₹0.50
        ("5000.50", True),
        ("9999.50", True),
        ("10000.50", False),  # from ₹10,000: ₹1
        ("10001.00", True),
        ("20000.00", True),  # ₹20,000 itself: still ₹1
        ("20001.00", False),  # above ₹20,000: ₹5
        ("20005.00", True),
    ],
)
def test_tick_by_price_band_at_the_edges(price: str, ok: bool) -> None:
    rej = tick_refusal(price)
    if ok:
        assert rej is None
    else:
        assert rej is not None and rej.code == "INVALID_PRICE" and rej.field == "limit_price"
        assert "exchange-rules.md §6" in rej.reason and "tick" in rej.reason


def test_tick_bands_by_date() -> None:
    inst = BANDED.get(SYM)
    assert inst.tick_for(800_00, dt.date(2025, 4, 15)) == 5
    assert inst.tick_for(800_00, dt.date(2025, 4, 14)) == 5  # the 2024 table: ₹0.05 above ₹250
    assert inst.tick_for(3000_00, dt.date(2025, 4, 14)) == 5
    assert inst.tick_for(3000_00, dt.date(2025, 4, 15)) == 10  # the 15 Apr 2025 revision
    assert inst.tick_for(100_00, dt.date(2024, 6, 10)) == 1
    assert inst.tick_for(100_00, dt.date(2024, 6, 9)) == 1  # before any table: the finest step
    assert tick_refusal("3000.05", at(2025, 4, 14, 11, 0)) is None  # ₹0.05 was still the tick
    assert tick_refusal("3000.05", at(2025, 4, 15, 11, 0)) is not None


def test_without_bands_one_tick_as_before() -> None:
    plain = InstrumentRegistry()
    assert plain.get(SYM).tick_for(100_00) == 5 and plain.get(SYM).tick_bands is None
    with pytest.raises(OrderRejected) as info:
        OrderRequest.parse(SYM, "BUY", 1, "LIMIT", limit_price="249.99", instruments=plain)
    assert "₹0.05 tick" in info.value.reason


def test_modify_checks_the_band_tick_too() -> None:
    when = at(2026, 3, 4, 11, 0)
    eng = LiveTradingEngine(
        Decimal("100000000"), LivePriceStream(), clock=VirtualClock(when), instruments=BANDED
    )
    quote(eng, when, "3000.00", "3000.10")
    order = eng.place(
        OrderRequest.parse(SYM, "BUY", 1, "LIMIT", limit_price="2990.00", instruments=BANDED)
    )
    with pytest.raises(OrderRejected) as info:
        eng.modify(order.order_id, limit_price="2990.05")
    assert info.value.code == "INVALID_PRICE" and "₹0.10 tick" in info.value.reason
    assert order.limit_paise == 2990_00
