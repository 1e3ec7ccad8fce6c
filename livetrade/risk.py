"""Pre-trade risk: the limits, the order-rate window, and one small named check per rule.

Each check (``check_kill_switch``, ``check_quote_fresh``, ``check_funds`` ...) takes the parsed
:class:`~livetrade.request.OrderRequest` and a read-only :class:`PreTrade` context and returns
an ``OrderRejected`` (code, offending field, a sentence) or ``None``. :data:`PRE_TRADE_CHECKS`
lists them in the order they run; the first rejection wins. Adding a rule is one function and
one line in that tuple (nautilus_trader's risk engine does the same). Nothing here changes
state: the engine records the order (and its place in the rate window) only once every check
has passed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Protocol

from livetrade.errors import InvalidInput, OrderRejected
from livetrade.model import KillSwitch, OrderKind, Product, Side, ns_to_datetime
from livetrade.money import ChargesModel, from_paise, round_half_up, to_paise
from livetrade.session_rules import (
    check_amo,
    check_market_open,
    check_pre_open_market_freeze,
    check_pre_open_matching,
    check_pre_open_order_type,
    check_session_order_type,
)

if TYPE_CHECKING:
    from livetrade.instruments import Instrument
    from livetrade.market_hours import MarketHours
    from livetrade.request import OrderRequest

MINUTE_NS = 60_000_000_000


@dataclass(frozen=True)
class RiskLimits:
    """Per-order and per-minute limits. ``None`` disables a limit.

    ``intraday_margin`` is the fraction of an intraday order's notional that must be covered by
    free equity when the order adds exposure (0.2 ≈ the 5x leverage Fyers gives on equity).
    ``daily_loss_limit`` (rupees) halts trading once the day's net P&L (realized after charges
    plus unrealized) falls below minus this amount.
    ``max_feed_down_s``: once a live feed (Fyers, hub) has been down longer than this, orders
    are refused with ``STALE_QUOTE`` even though the last quote is younger than
    ``max_quote_age_s`` -- a quiet symbol may legitimately be a minute old, a dead feed may not.
    ``market_protection_pct``: market price protection (MPP) for cash equities -- a market
    order never fills more than this % from the LTP (paper), and goes to Fyers as a limit order
    at that price (live). SEBI's April 2026 rules for API orders have Fyers convert market
    orders to such protected limits (exchange-rules.md §4); Fyers publishes no cash-equity row,
    and its Auto MPP "generally" stays within 0-3% of LTP (FYSUP how-does-the-auto-setting-for-
    mpp-work), hence 3. Derivatives follow Fyers' MPP table (:func:`mpp_paise`). ``None``: no
    protection (market orders fill at any price and go to Fyers as market orders).
    """

    max_order_quantity: int | None = 100_000
    max_order_notional: Decimal | None = Decimal("10000000")  # Rs 1 crore
    max_orders_per_minute: int | None = 120
    max_quote_age_s: float = 60.0
    max_feed_down_s: float = 5.0
    intraday_margin: Decimal = Decimal("0.2")
    daily_loss_limit: Decimal | None = None
    market_protection_pct: Decimal | None = Decimal("3")

    def __post_init__(self) -> None:
        if (
            self.daily_loss_limit is not None
            and to_paise(self.daily_loss_limit, "daily_loss_limit") <= 0
        ):
            raise InvalidInput("daily_loss_limit", "must be a positive amount or None")
        q = self.max_order_quantity
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or q <= 0):
            raise InvalidInput("max_order_quantity", "must be a positive integer or None")
        if (
            self.max_order_notional is not None
            and to_paise(self.max_order_notional, "max_order_notional") <= 0
        ):
            raise InvalidInput("max_order_notional", "must be positive or None")
        r = self.max_orders_per_minute
        if r is not None and (isinstance(r, bool) or not isinstance(r, int) or r <= 0):
            raise InvalidInput("max_orders_per_minute", "must be a positive integer or None")
        if not self.max_quote_age_s > 0:
            raise InvalidInput("max_quote_age_s", "must be positive")
        if not self.max_feed_down_s >= 0:
            raise InvalidInput("max_feed_down_s", "must be zero or positive (seconds)")
        if not Decimal(0) <= Decimal(self.intraday_margin) <= 1:
            raise InvalidInput("intraday_margin", "must be between 0 and 1")
        mpp = self.market_protection_pct
        if mpp is not None and (
            isinstance(mpp, bool)
            or not isinstance(mpp, Decimal | int | str)
            or not Decimal(0) < Decimal(mpp) <= 20
        ):
            raise InvalidInput(
                "market_protection_pct", "must be a percentage above 0 and at most 20, or None"
            )

    @property
    def max_quote_age_ns(self) -> int:
        return int(self.max_quote_age_s * 1_000_000_000)

    @property
    def max_feed_down_ns(self) -> int:
        return int(self.max_feed_down_s * 1_000_000_000)


class OrderRateWindow:
    """Counts orders accepted in the last minute of the engine's clock."""

    def __init__(self) -> None:
        self._times: deque[int] = deque()

    def rejection(self, limit: int | None, now_ns: int) -> OrderRejected | None:
        """``RATE_LIMIT`` if ``limit`` orders were accepted in the minute before ``now_ns``."""
        if limit is None:
            return None
        times = self._times
        while times and now_ns - times[0] >= MINUTE_NS:
            times.popleft()
        if len(times) >= limit:
            return OrderRejected(
                "RATE_LIMIT",
                f"Order rate limit reached: {limit} orders in the last minute; try again shortly.",
            )
        return None

    def check(self, limit: int | None, now_ns: int) -> None:
        rejection = self.rejection(limit, now_ns)
        if rejection is not None:
            raise rejection

    def record(self, now_ns: int) -> None:
        self._times.append(now_ns)


def check_size(limits: RiskLimits, quantity: int, notional_paise: int) -> None:
    """Per-order quantity and notional caps, raised (what ``modify`` asks of a changed order)."""
    rejection = quantity_cap(limits, quantity) or notional_cap(limits, notional_paise)
    if rejection is not None:
        raise rejection


# ==================================================================== bands and protection

BandSource = Callable[[str], tuple[int, int] | None]
"""``symbol -> (lower, upper)`` circuit limits in paise for today, or ``None`` when unknown.
The session builds one from its day statistics (``session.day_stats``)."""


def _pct_of(ltp: int, pct: Decimal | int | str) -> int:
    return round_half_up(Decimal(ltp) * Decimal(pct) / 100)


def mpp_paise(ltp: int, inst: Instrument, pct: Decimal | int | str) -> int:
    """How far from the LTP (paise) a market order may fill: Fyers' MPP range by instrument
    and LTP for derivatives (exchange-rules.md §4; FYSUP what-is-mpp-and-how-does-it-affect-
    trade-execution: FUTIDX ₹50 up to ₹10,000 else 0.5%; FUTSTK ₹0.75 up to ₹50 else 1.5%;
    options ₹1.5 up to ₹10, 15% up to ₹20, else 10%), ``pct`` of the LTP for cash equities."""
    from livetrade.instruments import InstrumentKind

    if inst.kind is InstrumentKind.FUTURE:
        if (inst.underlying or "").upper().endswith("-INDEX"):
            return 50_00 if ltp <= 10_000_00 else _pct_of(ltp, "0.5")
        return 75 if ltp <= 50_00 else _pct_of(ltp, "1.5")
    if inst.kind is InstrumentKind.OPTION:
        if ltp <= 10_00:
            return 150
        return _pct_of(ltp, 15 if ltp <= 20_00 else 10)
    return _pct_of(ltp, pct)


def protected_price(
    side: Side,
    ltp: int,
    inst: Instrument,
    pct: Decimal | int | str,
    band: tuple[int, int] | None = None,
) -> int:
    """The worst price a market order may fill at: LTP ± :func:`mpp_paise`, capped at the
    circuit limit and rounded to the nearest tick (what Fyers sends to the exchange, FYSUP
    above). Never on the wrong side of the LTP: a band the LTP has left (stale) is ignored,
    and the price stays at least one tick above zero."""
    tick = inst.tick_for(ltp)
    reach = mpp_paise(ltp, inst, pct)
    if side is Side.BUY:
        price = ltp + reach
        if band is not None and ltp <= band[1]:
            price = min(price, band[1])
    else:
        price = ltp - reach
        if band is not None and ltp >= band[0]:
            price = max(price, band[0])
    price = (price + tick // 2) // tick * tick
    return max(price, tick)


# ==================================================================== the named checks


class RiskView(Protocol):
    """What the checks may read of the engine (and nothing they could change)."""

    limits: RiskLimits
    kill_switch: KillSwitch
    cash_paise: int
    charges_model: ChargesModel
    feed_down_since_ns: int | None
    feed_down_state: str
    calendar: MarketHours | None  # None: no session hours enforced (the simulated default)
    band_source: BandSource | None  # the day's circuit limits per symbol; None: no band check

    @property
    def order_rate(self) -> OrderRateWindow: ...

    @property
    def live(self) -> bool: ...  # orders go to a real broker

    def equity_paise(self) -> int: ...

    def used_margin_paise(self) -> int: ...

    def reserved_cnc_buys_paise(self) -> int: ...

    def reserved_cnc_sells(self, symbol: str) -> int: ...

    def fno_margin_check(
        self, req: OrderRequest, ref_paise: int, position_qty: int, now_ns: int
    ) -> tuple[int, int] | None: ...


@dataclass(frozen=True, slots=True)
class PreTrade:
    """What one order means now: the quote it meets, the price it is judged at, the position
    it changes. Built once per order by the engine; read by every check."""

    view: RiskView
    now_ns: int
    top: tuple[int, int, int, int] | None  # bid, ask, last, quote time (ns); None: no quote
    ref_paise: int  # limit, trigger, or the touch (0 without a quote)
    position_qty: int  # signed, same symbol and product
    reduces: bool  # the order only shrinks that position

    def notional_paise(self, req: OrderRequest) -> int:
        return req.quantity * self.ref_paise


def reference_price(req: OrderRequest, bid: int, ask: int, last: int) -> int:
    """The price an order is judged at: a limit order's limit (a marketable one: the touch it
    takes), else its limit or trigger, else the touch it would take (the last trade when that
    side of the book is empty)."""
    touch = ask if req.side is Side.BUY else bid
    touch = touch if touch > 0 else last
    limit, trigger = req.limit_paise, req.trigger_paise
    if req.kind is OrderKind.LIMIT and limit is not None:
        return min(limit, touch) if req.side is Side.BUY else max(limit, touch)
    if limit is not None:
        return limit
    return trigger if trigger is not None else touch


def check_kill_switch(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    if ctx.view.kill_switch is KillSwitch.HALTED:
        return OrderRejected(
            "KILL_SWITCH", "Trading is halted by the kill switch; no new orders.", None
        )
    return None


def check_quote_present(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    if ctx.top is None:
        return OrderRejected(
            "NO_QUOTE", f"No quote for {req.symbol} yet; subscribe or wait for a tick.", "symbol"
        )
    return None


def check_feed_alive(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """A feed down for longer than ``max_feed_down_s`` makes every quote stale at once (a held
    after-market order trades at the open, not on this quote)."""
    down, limits = ctx.view.feed_down_since_ns, ctx.view.limits
    if down is not None and not req.amo and ctx.now_ns - down > limits.max_feed_down_ns:
        return OrderRejected(
            "STALE_QUOTE",
            f"The market-data feed has been down for {(ctx.now_ns - down) / 1e9:.0f} s "
            f"({ctx.view.feed_down_state or 'not live'}; limit {limits.max_feed_down_s:g} "
            f"s): the last quote for {req.symbol} is not a price to trade on.",
            "symbol",
        )
    return None


def check_quote_fresh(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    assert ctx.top is not None  # check_quote_present ran first
    age, limits = ctx.now_ns - ctx.top[3], ctx.view.limits
    if age > limits.max_quote_age_ns and not req.amo:  # an AMO trades at the open
        return OrderRejected(
            "STALE_QUOTE",
            f"The last quote for {req.symbol} is {age / 1e9:.0f} s old "
            f"(limit {limits.max_quote_age_s:g} s); the price is not fresh.",
            "symbol",
        )
    return None


def band_rejection(
    source: BandSource | None, symbol: str, prices: Iterable[tuple[str, int | None]]
) -> OrderRejected | None:
    """``PRICE_BAND`` for the first of ``prices`` (field name, paise) outside ``symbol``'s
    circuit limits; ``None`` when all are inside or no band is known."""
    given = [(field, price) for field, price in prices if price is not None]
    if source is None or not given:
        return None
    band = source(symbol)
    if band is None:
        return None
    lower, upper = band
    for field, price in given:
        if not lower <= price <= upper:
            return OrderRejected(
                "PRICE_BAND",
                f"{field} ₹{from_paise(price)} is outside today's price band for {symbol}: "
                f"₹{from_paise(lower)} – ₹{from_paise(upper)} (the circuit limits; the "
                "exchange rejects orders priced outside them).",
                field,
            )
    return None


def tick_rejection(
    inst: Instrument, prices: Iterable[tuple[str, int | None]], now_ns: int
) -> OrderRejected | None:
    """``INVALID_PRICE`` for the first of ``prices`` (field, paise) off the tick the exchange
    sets for that price on that day (``Instrument.tick_for``; NSE ticks by price band,
    exchange-rules.md §6). Without tick bands parsing has already checked the one tick."""
    bands = inst.tick_bands
    if bands is None:
        return None
    table = bands.on(ns_to_datetime(now_ns).date())
    if table is None:
        return None
    for field, price in prices:
        if price is None:
            continue
        lower, upper, tick = table.band(price)
        if price % tick:
            span = f"₹{from_paise(upper)}" if upper is not None else "up"
            return OrderRejected(
                "INVALID_PRICE",
                f"{field} ₹{from_paise(price)} is not a multiple of the ₹{from_paise(tick)} tick "
                f"{inst.symbol} takes at prices from ₹{from_paise(lower)} to {span} "
                f"({table.source}).",
                field,
            )
    return None


def check_tick(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """Every price on the tick of its price band (NSE cash, exchange-rules.md §6), where the
    instrument has tick bands (``InstrumentRegistry(tick_by_price=True)``)."""
    if req.instrument is None:
        return None
    return tick_rejection(
        req.instrument,
        (
            ("limit_price", req.limit_paise),
            ("trigger_price", req.trigger_paise),
            ("stop_loss_price", req.stop_loss_paise),
            ("take_profit_price", req.take_profit_paise),
        ),
        ctx.now_ns,
    )


def check_price_band(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """Exchanges reject orders priced outside the day's circuit limits (exchange-rules.md §3;
    FYSUP what-are-price-bands-and-freeze-quantities). Every price the order carries is checked,
    the bracket's too: its legs would be refused when placed."""
    return band_rejection(
        ctx.view.band_source,
        req.symbol,
        (
            ("limit_price", req.limit_paise),
            ("trigger_price", req.trigger_paise),
            ("stop_loss_price", req.stop_loss_paise),
            ("take_profit_price", req.take_profit_paise),
        ),
    )


def check_bracket_sides(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """A stop-loss on the losing side of the entry, a take-profit on the winning side."""
    sl, tp, ref = req.stop_loss_paise, req.take_profit_paise, ctx.ref_paise
    if req.side is Side.BUY:
        if sl is not None and sl >= ref:
            return OrderRejected(
                "INVALID_STOP_LOSS",
                f"Stop-loss ₹{from_paise(sl)} must be below the entry price "
                f"₹{from_paise(ref)} for a buy.",
                "stop_loss_price",
            )
        if tp is not None and tp <= ref:
            return OrderRejected(
                "INVALID_TAKE_PROFIT",
                f"Take-profit ₹{from_paise(tp)} must be above the entry price "
                f"₹{from_paise(ref)} for a buy.",
                "take_profit_price",
            )
        return None
    if sl is not None and sl <= ref:
        return OrderRejected(
            "INVALID_STOP_LOSS",
            f"Stop-loss ₹{from_paise(sl)} must be above the entry price "
            f"₹{from_paise(ref)} for a sell (short).",
            "stop_loss_price",
        )
    if tp is not None and tp >= ref:
        return OrderRejected(
            "INVALID_TAKE_PROFIT",
            f"Take-profit ₹{from_paise(tp)} must be below the entry price "
            f"₹{from_paise(ref)} for a sell (short).",
            "take_profit_price",
        )
    return None


def quantity_cap(limits: RiskLimits, quantity: int) -> OrderRejected | None:
    if limits.max_order_quantity is not None and quantity > limits.max_order_quantity:
        return OrderRejected(
            "MAX_QUANTITY",
            f"Quantity {quantity} exceeds the per-order limit of {limits.max_order_quantity}.",
            "quantity",
        )
    return None


def notional_cap(limits: RiskLimits, notional_paise: int) -> OrderRejected | None:
    if limits.max_order_notional is not None:
        cap = to_paise(limits.max_order_notional, "max_order_notional")
        if notional_paise > cap:
            return OrderRejected(
                "MAX_NOTIONAL",
                f"Order value ₹{from_paise(notional_paise)} exceeds the per-order limit of "
                f"₹{from_paise(cap)}.",
                "quantity",
            )
    return None


def check_quantity(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    return quantity_cap(ctx.view.limits, req.quantity)


def check_notional(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    return notional_cap(ctx.view.limits, ctx.notional_paise(req))


def check_bracket_on_exit(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    sl, tp = req.stop_loss_paise, req.take_profit_paise
    if (sl is not None or tp is not None) and ctx.reduces:
        return OrderRejected(
            "BRACKET_ON_EXIT",
            "Stop-loss/take-profit attach to orders that open or add to a position; this "
            "order reduces one.",
            "stop_loss_price" if sl is not None else "take_profit_price",
        )
    return None


def check_reducing_only(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    if ctx.view.kill_switch is KillSwitch.REDUCING and not ctx.reduces:
        return OrderRejected(
            "KILL_SWITCH_REDUCING",
            "The kill switch allows only orders that reduce an open position.",
            None,
        )
    return None


def check_rate(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    return ctx.view.order_rate.rejection(ctx.view.limits.max_orders_per_minute, ctx.now_ns)


def check_funds(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """A delivery buy is paid in cash, charges included, net of other working CNC buys."""
    if req.product is not Product.CNC or req.side is not Side.BUY:
        return None
    view = ctx.view
    day = ns_to_datetime(ctx.now_ns).date()
    est = view.charges_model.estimate(req.symbol, True, True, req.quantity, ctx.ref_paise, day)
    need = ctx.notional_paise(req) + est.total
    free = view.cash_paise - view.reserved_cnc_buys_paise()
    if need > free:
        return OrderRejected(
            "INSUFFICIENT_FUNDS",
            f"Needs ₹{from_paise(need)} (with charges) but only ₹{from_paise(free)} "
            "cash is free for delivery buys.",
            "quantity",
        )
    return None


def check_holdings(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """A delivery sell needs the shares, net of other working CNC sells."""
    if req.product is not Product.CNC or req.side is not Side.SELL:
        return None
    free_qty = max(ctx.position_qty, 0) - ctx.view.reserved_cnc_sells(req.symbol)
    if req.quantity > free_qty:
        return OrderRejected(
            "INSUFFICIENT_HOLDINGS",
            f"CNC sell of {req.quantity} {req.symbol} exceeds the {free_qty} held "
            "(delivery sells need holdings; use INTRADAY to short).",
            "quantity",
        )
    return None


def check_margin(req: OrderRequest, ctx: PreTrade) -> OrderRejected | None:
    """An order that adds exposure needs its margin free. Futures and options: a long option
    pays its premium, futures and short options block an approximate SPAN + exposure margin
    (``livetrade.fno.margin``), checked with the charges against the available cash of
    ``engine.funds()``. Cash equities: an intraday order needs ``intraday_margin`` of its
    notional in free equity."""
    if ctx.reduces:
        return None
    figures = ctx.view.fno_margin_check(req, ctx.ref_paise, ctx.position_qty, ctx.now_ns)
    if figures is not None:
        need, free = figures
        if need > free:
            return OrderRejected(
                "INSUFFICIENT_MARGIN",
                f"{req.symbol} needs ₹{from_paise(need)} (premium or SPAN + exposure margin, "
                f"with charges) but only ₹{from_paise(max(free, 0))} is available.",
                "quantity",
            )
        return None
    rate = ctx.view.limits.intraday_margin
    if req.product is Product.CNC or not rate > 0:
        return None
    need = round_half_up(Decimal(ctx.notional_paise(req)) * Decimal(rate))
    free = ctx.view.equity_paise() - ctx.view.used_margin_paise()
    if need > free:
        return OrderRejected(
            "INSUFFICIENT_MARGIN",
            f"Intraday margin ₹{from_paise(need)} exceeds the free margin "
            f"₹{from_paise(max(free, 0))}.",
            "quantity",
        )
    return None


Check = Callable[["OrderRequest", PreTrade], OrderRejected | None]

PRE_TRADE_CHECKS: Final[tuple[Check, ...]] = (
    check_kill_switch,
    check_tick,
    check_amo,
    check_pre_open_matching,
    check_market_open,
    check_pre_open_order_type,
    check_pre_open_market_freeze,
    check_session_order_type,
    check_quote_present,
    check_feed_alive,
    check_quote_fresh,
    check_bracket_sides,
    check_price_band,
    check_quantity,
    check_notional,
    check_bracket_on_exit,
    check_reducing_only,
    check_rate,
    check_funds,
    check_holdings,
    check_margin,
)
"""Every pre-trade rule, in the order it runs (the first rejection is the one reported)."""


def first_rejection(
    req: OrderRequest, ctx: PreTrade, checks: tuple[Check, ...] = PRE_TRADE_CHECKS
) -> OrderRejected | None:
    for check in checks:
        rejection = check(req, ctx)
        if rejection is not None:
            return rejection
    return None
