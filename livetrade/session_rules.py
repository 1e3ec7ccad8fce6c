"""The exchange-session rules among the pre-trade checks (``risk.PRE_TRADE_CHECKS``): hours,
after-market orders and the order types each window takes (exchange-rules.md §1).

Each refusal names the rule, its source and when the order would next be taken
(``MarketHours.next_taking``). Only what exchange-rules.md sources is here: the NSE closing
auction (from 3 Aug 2026, stocks with derivatives) is not, since which stocks it covers and
whether their continuous session ends at 15:15 are not settled there.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from livetrade.errors import OrderRejected
from livetrade.model import OrderKind

if TYPE_CHECKING:
    from livetrade.market_hours import MarketHours, MarketStatus
    from livetrade.request import OrderRequest
    from livetrade.risk import PreTrade, RiskView

__all__ = [
    "amo_release",
    "check_amo",
    "check_market_open",
    "check_pre_open_market_freeze",
    "check_pre_open_matching",
    "check_pre_open_order_type",
    "check_session_order_type",
]


def _future(req: OrderRequest) -> bool:
    from livetrade.instruments import InstrumentKind

    return req.instrument is not None and req.instrument.kind is InstrumentKind.FUTURE


def _status(req: OrderRequest, cal: MarketHours | None, now_ns: int) -> MarketStatus | None:
    """The exchange session the order meets at ``now_ns``, when there is a calendar and it
    has the symbol's exchange and segment (NSE/BSE cash and F&O)."""
    if cal is None:
        return None
    from livetrade.instruments import Instrument
    from livetrade.market_hours import EXCHANGES, SEGMENTS

    inst = req.instrument if req.instrument is not None else Instrument.default_for(req.symbol)
    if inst.exchange not in EXCHANGES or inst.segment not in SEGMENTS:
        return None
    return cal.status(inst.exchange, now_ns, segment=inst.segment, future=_future(req))


def _session(req: OrderRequest, ctx: PreTrade) -> MarketStatus | None:
    """The exchange session the order meets now (see :func:`_status`)."""
    return _status(req, ctx.view.calendar, ctx.now_ns)


def amo_release(req: OrderRequest, view: RiskView, now_ns: int) -> dt.datetime | None:
    """When a held after-market order meets the market: the next normal-market open (Fyers
    sends Schedule Orders at 09:15 for equity and F&O, exchange-rules.md §1, FYSUP
    what-is-a-schedule-order); ``None`` without a calendar for the symbol."""
    status = _status(req, view.calendar, now_ns)
    return None if status is None else status.next_open


def check_amo(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """After-market orders (Fyers ``offlineOrder``): since 1 Apr 2026 Fyers is read as refusing
    them through the API (exchange-rules.md §1, OFB; unconfirmed), so they are off unless the
    calendar allows them (``MarketHours(allow_amo=True)``). Allowed, a paper AMO placed while
    the market is not open is held and released at the next open (``engine.matching``)."""
    if not req.amo:
        return None
    cal = ctx.view.calendar
    if cal is None or not cal.allow_amo:
        return OrderRejected(
            "AMO_NOT_ALLOWED",
            "After-market orders (Fyers offlineOrder) are off: since 1 Apr 2026 Fyers is read "
            "as not accepting them through the API (exchange-rules.md §1, unconfirmed). "
            "open_session(respect_calendar=MarketHours(allow_amo=True)) turns them on.",
            "amo",
        )
    status = _session(req, ctx)
    if status is not None and status.state == "open":
        return OrderRejected(
            "AMO_NOT_ALLOWED",
            f"The {status.exchange} market is open: send a regular order, not an after-market one.",
            "amo",
        )
    if status is None or ctx.view.live:
        where = (
            "live (Fyers offlineOrder is not sent yet)"
            if ctx.view.live
            else (f"for {req.symbol} (no exchange calendar for its segment)")
        )
        return OrderRejected(
            "AMO_NOT_SUPPORTED",
            f"After-market orders are not held {where}; place the order once the market opens.",
            "amo",
        )
    return None


def check_market_open(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """Outside the exchange's order-entry windows (holidays, weekends, before the pre-open,
    after the close) nothing is taken; the sentence names the next open. A held after-market
    order (``check_amo`` passed) is the exception."""
    status = _session(req, ctx)
    if status is None or status.accepting or req.amo:
        return None
    return OrderRejected("MARKET_CLOSED", status.closed_sentence(), None)


def _next_taking(req: OrderRequest, ctx: PreTrade, status: MarketStatus) -> str:
    cal = ctx.view.calendar
    assert cal is not None
    from livetrade.market_hours import fmt_ist

    when = cal.next_taking(
        status.exchange, status.at, req.kind, segment=status.segment, future=_future(req)
    )
    return fmt_ist(when) if when is not None else "the next session"


def check_pre_open_order_type(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """NSE's pre-open takes limit and market orders only: no stop orders (exchange-rules.md §1:
    CMTR72349 for cash, FAOP71092 for futures)."""
    status = _session(req, ctx)
    if status is None or status.state != "pre-open" or not status.accepting or req.amo:
        return None
    if req.kind in (OrderKind.LIMIT, OrderKind.MARKET):
        return None
    return OrderRejected(
        "SESSION_ORDER_TYPE",
        f"{req.kind.value} orders are not taken in the {status.exchange} {status.session} "
        f"({status.at:%H:%M} IST), which takes limit and market orders only "
        f"({status.source}); {req.kind.value} orders are next taken "
        f"{_next_taking(req, ctx, status)}.",
        "kind",
    )


def check_pre_open_market_freeze(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """From 7 Sep 2026 market orders are frozen in the last part of NSE's cash pre-open entry
    (09:05-09:10, limit orders only; CIRC CMTR74969, exchange-rules.md §1)."""
    status = _session(req, ctx)
    if status is None or status.state != "pre-open" or req.amo or req.kind is not OrderKind.MARKET:
        return None
    if not status.accepting or OrderKind.MARKET in status.order_kinds:
        return None
    return OrderRejected(
        "SESSION_ORDER_TYPE",
        f"Market orders are frozen in the {status.exchange} {status.session} "
        f"({status.at:%H:%M} IST): it takes LIMIT orders only ({status.source}); market "
        f"orders are next taken {_next_taking(req, ctx, status)}.",
        "kind",
    )


def check_pre_open_matching(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """Between the pre-open's order entry and 09:15 NSE matches the pre-open orders and then
    waits (buffer): no order is taken (exchange-rules.md §1)."""
    status = _session(req, ctx)
    if status is None or status.state != "pre-open" or status.accepting or req.amo:
        return None
    return OrderRejected(
        "MARKET_CLOSED",
        f"{status.exchange} {status.segment} takes no orders at {status.at:%H:%M} IST: the "
        f"pre-open order entry has closed (it closes at random near its end) and the "
        f"{status.session} runs ({status.source}); orders are next taken "
        f"{_next_taking(req, ctx, status)}.",
        None,
    )


def check_session_order_type(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """Any other window that takes some order types only (the post-close: limit orders, with
    ``MarketHours(post_close_orders=True)``)."""
    status = _session(req, ctx)
    if status is None or not status.accepting or req.kind in status.order_kinds or req.amo:
        return None
    kinds = " and ".join(sorted(k.value for k in status.order_kinds))
    return OrderRejected(
        "SESSION_ORDER_TYPE",
        f"The {status.session} ({status.at:%H:%M} IST) takes {kinds} orders only, not "
        f"{req.kind.value} ({status.source}); {req.kind.value} orders are next taken "
        f"{_next_taking(req, ctx, status)}.",
        "kind",
    )
