"""LiveTradingEngine: orders, fills, positions, cash and P&L, with SL/TP brackets.

A synchronous core (``submit``, ``cancel``, ``on_quote``) holds every fact; the original async
API (``market_buy``...) is a thin shell over it. ``on_quote`` is the hot path: one dict lookup and
four integer comparisons against the best resting trigger levels of the symbol, so its cost does
not grow with the number of resting orders; a trigger that fires costs O(log n) to pop.

Trigger semantics (as on the exchange): stops trigger on the last traded price crossing the
trigger; a triggered stop-market fills at the touch (bid for sells, ask for buys) of that same
tick, so a gap through the stop fills at the gapped price, never the better stop price. Limit
orders (and take-profit legs) fill when the touch reaches the limit, at the touch.
"""

from __future__ import annotations

import heapq
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from livetrade.brokers.base import Broker, OrderRouter
from livetrade.brokers.paper import PaperBroker
from livetrade.clock import Clock, WallClock
from livetrade.errors import InvalidInput, OrderRejected
from livetrade.model import (
    IST,
    ExecutedOrder,
    Fill,
    KillSwitch,
    Order,
    OrderKind,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Role,
    Side,
    StopLossConfig,
    TakeProfitConfig,
    ns_to_datetime,
    transition,
)
from livetrade.money import (
    Charges,
    ChargesModel,
    IndianEquityCharges,
    from_paise,
    round_half_up,
    to_paise,
)
from livetrade.prices import LivePriceStream
from livetrade.request import OrderRequest, is_unset, parse_price
from livetrade.risk import (
    PRE_TRADE_CHECKS,
    Check,
    OrderRateWindow,
    PreTrade,
    RiskLimits,
    check_size,
    first_rejection,
    reference_price,
)

log = logging.getLogger("livetrade.engine")

_NEVER_HIGH = 1 << 62
_NEVER_LOW = -1


_NON_DIGITS = re.compile(r"\D")


def _id_number(ident: str) -> int:
    """``LT0000042`` → 42 (ids are a prefix and a counter)."""
    digits = _NON_DIGITS.sub("", ident)
    return int(digits) if digits else 0


_unset = is_unset


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """Something that happened in the engine. ``kind`` is past tense:

    ``order_accepted``, ``order_rejected``, ``order_triggered``, ``order_filled``,
    ``order_cancelled`` (``order`` set), ``fill`` (``fill`` set), ``position_opened``,
    ``position_changed``, ``position_closed`` (``position`` set), ``kill_switch`` (``message``).
    """

    kind: str
    ts_ns: int
    order: Order | None = None
    fill: Fill | None = None
    position: Position | None = None
    message: str = ""
    code: str = ""
    charges: Charges | None = None  # charges_refunded: what came back


@dataclass(frozen=True, slots=True)
class ChargesRefund:
    """Charges given back on earlier fills: a CNC sell re-billing the day's CNC buys it
    matched as intraday (they were billed as delivery when they filled)."""

    fill_id: str  # the sell that caused it
    symbol: str
    product: Product
    ts_ns: int
    charges: Charges


EventListener = Callable[[EngineEvent], None]


class JournalSink(Protocol):
    """Where the engine writes every event before it acknowledges anything (see ``journal``).

    ``record`` is called for each event as it happens; ``flush`` once at the end of every
    operation (an order, a cancel, a tick that fired something) and must make the recorded
    events durable or raise.
    """

    def record(self, event: EngineEvent) -> None: ...

    def flush(self) -> None: ...


class _Lots:
    """One (symbol, product) position as FIFO lots ``[signed_qty, price_paise]``: exact P&L."""

    __slots__ = ("charges", "cost", "lots", "product", "qty", "realized", "symbol")

    def __init__(self, symbol: str, product: Product) -> None:
        self.symbol = symbol
        self.product = product
        self.lots: deque[list[int]] = deque()
        self.qty = 0
        self.cost = 0  # signed: Σ qty × price of open lots
        self.realized = 0  # gross realized P&L, paise
        self.charges = 0

    def apply(self, signed_qty: int, price: int) -> int:
        """Book a fill; returns the gross P&L it realized (closing lots FIFO)."""
        realized = 0
        if self.qty == 0 or (self.qty > 0) == (signed_qty > 0):
            self.lots.append([signed_qty, price])
            self.qty += signed_qty
            self.cost += signed_qty * price
            return 0
        remaining = abs(signed_qty)
        while remaining and self.lots:
            lot = self.lots[0]
            lot_sign = 1 if lot[0] > 0 else -1
            take = min(abs(lot[0]), remaining)
            realized += (price - lot[1]) * take * lot_sign
            lot[0] -= take * lot_sign
            self.qty -= take * lot_sign
            self.cost -= take * lot_sign * lot[1]
            remaining -= take
            if lot[0] == 0:
                self.lots.popleft()
        if remaining:  # the fill flipped the position
            signed = remaining if signed_qty > 0 else -remaining
            self.lots.append([signed, price])
            self.qty += signed
            self.cost += signed * price
        self.realized += realized
        return realized

    def view(self, last: int | None) -> Position:
        avg = (
            (Decimal(self.cost) / self.qty / 100).quantize(Decimal("0.0001"))
            if self.qty
            else Decimal("0.0000")
        )
        unreal = 0 if last is None or not self.qty else last * self.qty - self.cost
        return Position(
            symbol=self.symbol,
            quantity=self.qty,
            avg_buy_price=avg,
            product=self.product,
            realized_pnl=from_paise(self.realized),
            charges=from_paise(self.charges),
            last_price=None if last is None else from_paise(last),
            unrealized_pnl=from_paise(unreal),
        )


class _Book:
    """Resting triggers of one symbol: four heaps and their best levels as plain ints.

    ``ss`` sell stops fire when last <= level; ``bs`` buy stops when last >= level;
    ``sl`` sell limits when bid >= level; ``bl`` buy limits when ask <= level.
    """

    __slots__ = (
        "bl",
        "bl_lvl",
        "bs",
        "bs_lvl",
        "engine",
        "sl",
        "sl_lvl",
        "ss",
        "ss_lvl",
        "stream",
        "symbol",
    )

    def __init__(self, engine: LiveTradingEngine, symbol: str) -> None:
        self.engine = engine
        self.symbol = symbol
        self.stream = engine.price_stream
        self.ss: list[tuple[int, int, Order]] = []
        self.bs: list[tuple[int, int, Order]] = []
        self.sl: list[tuple[int, int, Order]] = []
        self.bl: list[tuple[int, int, Order]] = []
        self.ss_lvl = _NEVER_LOW
        self.bs_lvl = _NEVER_HIGH
        self.sl_lvl = _NEVER_HIGH
        self.bl_lvl = _NEVER_LOW

    def fire(self, bid: int, ask: int, last: int, ts_ns: int) -> None:
        """The stream calls this when a tick crosses one of the levels."""
        self.engine._match(self.symbol, self, bid, ask, last, ts_ns)
        self.engine._flush()

    def refresh(self) -> None:
        """Drop dead heap tops (cancelled/filled, lazily deleted) and recompute the levels."""
        for heap in (self.ss, self.bs, self.sl, self.bl):
            while heap and heap[0][2].status is not OrderStatus.OPEN:
                heapq.heappop(heap)
        self.ss_lvl = -self.ss[0][0] if self.ss else _NEVER_LOW
        self.bs_lvl = self.bs[0][0] if self.bs else _NEVER_HIGH
        self.sl_lvl = self.sl[0][0] if self.sl else _NEVER_HIGH
        self.bl_lvl = -self.bl[0][0] if self.bl else _NEVER_LOW
        self.stream.set_levels(self.symbol, self.ss_lvl, self.bs_lvl, self.sl_lvl, self.bl_lvl)

    def __len__(self) -> int:
        return len(self.ss) + len(self.bs) + len(self.sl) + len(self.bl)


class LiveTradingEngine:
    """Paper (or live) trading engine bound to a ``LivePriceStream``.

    ``LiveTradingEngine(wallet_balance, price_stream)`` is the original signature; everything
    else is keyword-only. The engine listens to ``price_stream``: a quote that crosses a resting
    stop or limit fills it before ``update_price`` returns.
    """

    pre_trade_checks: tuple[Check, ...] = PRE_TRADE_CHECKS
    """The rules every new order passes, in order (``livetrade.risk``). A desk adds its own on
    one engine with ``engine.pre_trade_checks += (my_check,)``: a function of the request and
    the :class:`~livetrade.risk.PreTrade` context that returns an ``OrderRejected`` or None."""

    def __init__(
        self,
        wallet_balance: Decimal | int | str | float = Decimal("1000000"),
        price_stream: LivePriceStream | None = None,
        *,
        broker: Broker | None = None,
        charges: ChargesModel | None = None,
        limits: RiskLimits | None = None,
        clock: Clock | None = None,
        default_product: Product = Product.INTRADAY,
        id_prefix: str = "LT",
    ) -> None:
        initial = to_paise(wallet_balance, "wallet_balance")
        if initial < 0:
            raise InvalidInput("wallet_balance", "must not be negative")
        self.price_stream = price_stream if price_stream is not None else LivePriceStream()
        self.broker: Broker = broker if broker is not None else PaperBroker()
        self.charges_model: ChargesModel = charges if charges is not None else IndianEquityCharges()
        self.limits = limits if limits is not None else RiskLimits()
        self.clock: Clock = clock if clock is not None else WallClock()
        self.default_product = default_product
        self._id_prefix = id_prefix
        self.initial_paise = initial
        self.cash_paise = initial
        self.charges_paise = 0
        self.kill_switch = KillSwitch.ACTIVE
        self._seq = 0
        self._fill_seq = 0
        self._heap_seq = 0
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._refunds: list[ChargesRefund] = []
        self._executed: list[ExecutedOrder] = []
        self._positions: dict[tuple[str, Product], _Lots] = {}
        self._books: dict[str, _Book] = {}
        self._oco: dict[str, list[Order]] = {}
        self._brackets: dict[tuple[str, Product], list[str]] = {}
        self._rate = OrderRateWindow()
        self._listeners: list[EventListener] = []
        self.journal: JournalSink | None = None
        # live: orders go to a broker through the router; fills and states come back from it
        self.router: OrderRouter | None = None
        self._day: date | None = None
        self._day_base = 0  # total P&L (paise) when the day was first seen
        # Set by the session from its live feed's state (engine clock ns; None while live): a
        # feed down longer than limits.max_feed_down_s makes every quote stale at once.
        self.feed_down_since_ns: int | None = None
        self.feed_down_state = ""  # the feed's state as a sentence fragment, for the rejection

    # ================================================================ events
    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every ``EngineEvent`` (synchronously; do not block)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: EngineEvent) -> None:
        if self.journal is not None:
            self.journal.record(event)
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener must never corrupt the engine's state
                log.exception("engine event listener failed on %s", event.kind)

    def _flush(self) -> None:
        """Make what just happened durable before the caller hears of it. A journal that cannot
        write halts trading: nothing more is accepted that could not be recovered."""
        if self.journal is None:
            return
        try:
            self.journal.flush()
        except Exception:
            self.kill_switch = KillSwitch.HALTED
            log.exception("journal write failed: trading halted")
            raise

    def detach(self) -> None:
        """Stop watching the price stream (the session calls this on close)."""
        for symbol, book in self._books.items():
            self.price_stream.detach_book(symbol, book)

    # ================================================================ hot path
    def on_quote(self, symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        """Fire every resting order this tick (paise) crosses. The stream does this check inline
        on every push (see ``LivePriceStream.attach_book``); call it for ticks from elsewhere."""
        b = self._books.get(symbol)
        if b is not None and (
            last <= b.ss_lvl or last >= b.bs_lvl or bid >= b.sl_lvl or ask <= b.bl_lvl
        ):
            self._match(symbol, b, bid, ask, last, ts_ns)
            self._flush()

    def _match(self, symbol: str, b: _Book, bid: int, ask: int, last: int, ts_ns: int) -> None:
        unmarketable: list[Order] = []  # crossed, but the broker's price model says not yet
        while True:
            b.refresh()
            if b.ss and last <= b.ss_lvl:
                order = heapq.heappop(b.ss)[2]
            elif b.bs and last >= b.bs_lvl:
                order = heapq.heappop(b.bs)[2]
            elif b.sl and bid >= b.sl_lvl:
                order = heapq.heappop(b.sl)[2]
            elif b.bl and ask <= b.bl_lvl:
                order = heapq.heappop(b.bl)[2]
            else:
                break
            if order.kind in (OrderKind.SL, OrderKind.SL_M) and not order.triggered:
                order.triggered = True
                order.updated_ns = ts_ns
                self._emit(EngineEvent("order_triggered", ts_ns, order=order))
                if order.kind is OrderKind.SL:  # stop-limit: from now on a resting limit order
                    self._rest(order, b)
                    continue
            if not self._execute(order, bid, ask, last, ts_ns):
                unmarketable.append(order)
        for order in unmarketable:
            self._rest(order, b)

    def _execute(self, order: Order, bid: int, ask: int, last: int, ts_ns: int) -> bool:
        """Fill the rest of ``order`` at the broker's price; ``False`` if not marketable now."""
        limit = None if order.kind in (OrderKind.MARKET, OrderKind.SL_M) else order.limit_paise
        price = self.broker.execution_price(order.side, bid, ask, last, limit)
        if price is None:
            return False
        self._fill(order, order.quantity - order.filled_quantity, price, ts_ns)
        return True

    # ================================================================ book keeping
    def _book(self, symbol: str) -> _Book:
        b = self._books.get(symbol)
        if b is None:
            b = self._books[symbol] = _Book(self, symbol)
            self.price_stream.attach_book(symbol, b)
        return b

    def _rest(self, order: Order, b: _Book) -> None:
        self._heap_seq += 1
        seq = self._heap_seq
        if order.kind in (OrderKind.SL, OrderKind.SL_M) and not order.triggered:
            trig = order.trigger_paise
            assert trig is not None
            if order.side is Side.SELL:
                heapq.heappush(b.ss, (-trig, seq, order))
            else:
                heapq.heappush(b.bs, (trig, seq, order))
        else:
            lim = order.limit_paise
            assert lim is not None
            if order.side is Side.SELL:
                heapq.heappush(b.sl, (lim, seq, order))
            else:
                heapq.heappush(b.bl, (-lim, seq, order))
        b.refresh()

    def _next_id(self) -> str:
        self._seq += 1
        return f"{self._id_prefix}{self._seq:07d}"

    # ================================================================ submit
    def submit(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        kind: OrderKind | str = OrderKind.MARKET,
        *,
        product: Product | str | None = None,
        limit_price: object = None,
        trigger_price: object = None,
        stop_loss: object = None,
        take_profit: object = None,
        tag: str | None = None,
        source: str = "api",
        origin: str = "",
    ) -> Order:
        """Validate, accept and (if marketable) execute an order. Raises ``OrderRejected``.

        Rejection changes nothing. ``stop_loss``/``take_profit`` attach a one-cancels-other
        bracket to the position this order opens or adds to, sized to the filled quantity.
        """
        now = self.clock.now_ns()
        try:
            if self.router is not None and not self.router.armed:
                raise OrderRejected(
                    "NOT_ARMED",
                    "Live trading is not armed: call session.arm_live(confirm='LIVE') first.",
                    "live",
                )
            order = self._validate(
                symbol, side, quantity, kind, product, limit_price, trigger_price,
                stop_loss, take_profit, tag, source, now,
            )  # fmt: skip
            order.origin = origin
        except OrderRejected as rej:
            self._emit(EngineEvent("order_rejected", now, message=rej.reason, code=rej.code))
            self._flush()
            raise
        self._accept(order, now)
        top = self.price_stream.top(symbol)
        assert top is not None  # checked in _validate
        self._dispatch(order, top, now)
        self._flush()
        return order

    def _dispatch(self, order: Order, top: tuple[int, int, int, int], now: int) -> None:
        """Paper: execute a market order or rest the rest. Live: hand it to the router, which
        only queues it; it is sent once this call has returned (and the journal is flushed)."""
        if order.live:
            assert self.router is not None
            self.router.place(order)
            return
        bid, ask, last, _ = top
        if order.kind is OrderKind.MARKET:
            if not self._execute(order, bid, ask, last, now):
                self._cancel(order, now, "no executable price for a market order")
        else:
            self._rest(order, self._book(order.symbol))
            self.on_quote(order.symbol, bid, ask, last, now)

    def _validate(
        self,
        symbol: object,
        side: object,
        quantity: object,
        kind: object,
        product: object,
        limit_price: object,
        trigger_price: object,
        stop_loss: object,
        take_profit: object,
        tag: object,
        source: str,
        now: int,
    ) -> Order:
        """Parse the request, run :data:`~livetrade.risk.PRE_TRADE_CHECKS`, build the order."""
        req = OrderRequest.parse(
            symbol, side, quantity, kind, product=product, limit_price=limit_price,
            trigger_price=trigger_price, stop_loss=stop_loss, take_profit=take_profit, tag=tag,
            source=source, default_product=self.default_product,
        )  # fmt: skip
        rejection = first_rejection(req, self._pre_trade(req, now), self.pre_trade_checks)
        if rejection is not None:
            raise rejection
        return Order(
            order_id=self._next_id(),
            symbol=req.symbol,
            side=req.side,
            kind=req.kind,
            product=req.product,
            quantity=req.quantity,
            limit_paise=req.limit_paise,
            trigger_paise=req.trigger_paise,
            stop_loss_paise=req.stop_loss_paise,
            take_profit_paise=req.take_profit_paise,
            created_ns=now,
            updated_ns=now,
            tag=req.tag,
            source=req.source,
        )

    def _pre_trade(self, req: OrderRequest, now: int) -> PreTrade:
        """What ``req`` means against the book, the position and the clock right now."""
        top = self.price_stream.top(req.symbol)
        ref = reference_price(req, top[0], top[1], top[2]) if top is not None else 0
        pos = self._positions.get((req.symbol, req.product))
        pos_qty = pos.qty if pos is not None else 0
        reduces = (
            pos_qty != 0
            and (pos_qty > 0) != (req.side is Side.BUY)
            and req.quantity <= abs(pos_qty)
        )
        return PreTrade(self, now, top, ref, pos_qty, reduces)

    @property
    def order_rate(self) -> OrderRateWindow:
        """Orders accepted in the last minute (the ``RATE_LIMIT`` check reads it)."""
        return self._rate

    def _price_arg(self, value: object, field: str) -> int | None:
        return parse_price(value, field)

    def reserved_cnc_buys_paise(self) -> int:
        """Cash that working CNC buys will need (at their limit or trigger)."""
        total = 0
        for o in self._orders.values():
            if o.is_open and o.side is Side.BUY and o.product is Product.CNC:
                price = o.limit_paise or o.trigger_paise or 0
                total += price * (o.quantity - o.filled_quantity)
        return total

    def reserved_cnc_sells(self, symbol: str) -> int:
        """Shares of ``symbol`` that working CNC sells already promise."""
        return sum(
            o.quantity - o.filled_quantity
            for o in self._orders.values()
            if o.is_open
            and o.symbol == symbol
            and o.side is Side.SELL
            and o.product is Product.CNC
            and o.role is Role.ENTRY
        )

    def used_margin_paise(self) -> int:
        """Intraday margin the open INTRADAY positions hold, at the last price."""
        rate = Decimal(self.limits.intraday_margin)
        used = 0
        for (symbol, product), lots in self._positions.items():
            if product is Product.INTRADAY and lots.qty:
                last = self.price_stream.last_paise(symbol)
                mark = last if last is not None else abs(lots.cost) // abs(lots.qty)
                used += round_half_up(Decimal(abs(lots.qty) * mark) * rate)
        return used

    _used_margin = used_margin_paise  # the dashboard's status bar still calls it so

    def _accept(self, order: Order, now: int) -> None:
        if self.router is not None:  # live: PENDING until the broker acknowledges it
            order.live = True
            transition(order, OrderStatus.PENDING)
        else:
            transition(order, OrderStatus.OPEN)
            order.broker_order_id = order.order_id
        self._orders[order.order_id] = order
        self._rate.record(now)
        self._emit(EngineEvent("order_accepted", now, order=order))

    # ================================================================ fills
    def _fill(
        self, order: Order, qty: int, price: int, ts_ns: int, trade_id: str | None = None
    ) -> Fill:
        day = ns_to_datetime(ts_ns).date()
        charges: Charges = self.charges_model.charge(
            order.symbol, order.side is Side.BUY, order.product is Product.CNC, qty, price, day
        )
        refund = self.charges_model.take_refund()
        self._fill_seq += 1
        fill = Fill(
            fill_id=f"F{self._fill_seq:07d}",
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=qty,
            price_paise=price,
            ts_ns=ts_ns,
            product=order.product,
            role=order.role,
            charges=charges,
            trade_id=trade_id,
        )
        key = (order.symbol, order.product)
        before = self._book_fill(order, fill)
        lots = self._positions[key]
        self._emit(EngineEvent("fill", ts_ns, order=order, fill=fill))
        if refund.total:
            self.restore_refund(
                ChargesRefund(fill.fill_id, fill.symbol, fill.product, ts_ns, refund)
            )
            self._emit(
                EngineEvent(
                    "charges_refunded",
                    ts_ns,
                    order=order,
                    fill=fill,
                    charges=refund,
                    message="the day's CNC buys this sell matched are billed as intraday",
                )
            )
        if order.status is OrderStatus.FILLED:
            self._emit(EngineEvent("order_filled", ts_ns, order=order))
        # one-cancels-other: a filled leg cancels its partner
        if order.oco_id is not None:
            for other in self._oco.get(order.oco_id, ()):
                if other is not order and other.is_open:
                    self._cancel(other, ts_ns, "one-cancels-other: the partner leg filled")
        # a new bracket protects what this entry added
        if order.role is Role.ENTRY and (
            order.stop_loss_paise is not None or order.take_profit_paise is not None
        ):
            self._attach_bracket(order, qty, ts_ns)
        if before and (
            lots.qty == 0 or (before > 0) != (lots.qty > 0) or abs(lots.qty) < abs(before)
        ):
            self._cap_brackets(key, ts_ns)  # only a shrinking or flipped position can over-cover
        view = lots.view(self.price_stream.last_paise(order.symbol))
        kind = (
            "position_opened"
            if before == 0
            else ("position_closed" if lots.qty == 0 else "position_changed")
        )
        self._emit(EngineEvent(kind, ts_ns, position=view))
        self.check_daily_loss()
        return fill

    def _book_fill(self, order: Order, fill: Fill) -> int:
        """Apply a fill to positions, cash and the order; returns the position before it. The
        same bookkeeping serves live fills and fills read back from the journal."""
        key = (order.symbol, order.product)
        lots = self._positions.get(key)
        if lots is None:
            lots = self._positions[key] = _Lots(order.symbol, order.product)
        before = lots.qty
        qty, price, total = fill.quantity, fill.price_paise, fill.charges.total
        signed = qty if order.side is Side.BUY else -qty
        lots.apply(signed, price)
        lots.charges += total
        self.cash_paise -= signed * price + total
        self.charges_paise += total
        prev_filled = order.filled_quantity
        order.filled_quantity = prev_filled + qty
        order.fill_paise = (
            price
            if order.fill_paise is None
            else (order.fill_paise * prev_filled + price * qty) // order.filled_quantity
        )
        order.charges_paise += total
        order.updated_ns = fill.ts_ns
        if order.filled_quantity >= order.quantity:
            transition(order, OrderStatus.FILLED)
        self._fills.append(fill)
        market_like = order.role is not Role.ENTRY or order.kind in (
            OrderKind.MARKET,
            OrderKind.SL_M,
        )
        self._executed.append(
            ExecutedOrder(
                order_id=order.order_id,
                symbol=order.symbol,
                order_type=OrderType.of(
                    OrderKind.MARKET if market_like else OrderKind.LIMIT, order.side
                ),
                quantity=qty,
                executed_price=from_paise(price),
                executed_timestamp=ns_to_datetime(fill.ts_ns),
                commission=fill.charges.total_rupees,
                status=order.status,
                product=order.product,
                role=order.role,
                charges=fill.charges,
            )
        )
        return before

    def _attach_bracket(self, entry: Order, qty: int, ts_ns: int) -> None:
        oco_id = f"OCO-{entry.order_id}-{entry.filled_quantity}"
        exit_side = Side.SELL if entry.side is Side.BUY else Side.BUY
        legs: list[Order] = []
        if entry.stop_loss_paise is not None:
            legs.append(
                Order(
                    order_id=self._next_id(),
                    symbol=entry.symbol,
                    side=exit_side,
                    kind=OrderKind.SL_M,
                    product=entry.product,
                    quantity=qty,
                    trigger_paise=entry.stop_loss_paise,
                    role=Role.STOP_LOSS,
                    created_ns=ts_ns,
                    updated_ns=ts_ns,
                    parent_id=entry.order_id,
                    oco_id=oco_id,
                    tag=entry.tag,
                    source="bracket",
                )
            )
        if entry.take_profit_paise is not None:
            legs.append(
                Order(
                    order_id=self._next_id(),
                    symbol=entry.symbol,
                    side=exit_side,
                    kind=OrderKind.LIMIT,
                    product=entry.product,
                    quantity=qty,
                    limit_paise=entry.take_profit_paise,
                    role=Role.TAKE_PROFIT,
                    created_ns=ts_ns,
                    updated_ns=ts_ns,
                    parent_id=entry.order_id,
                    oco_id=oco_id,
                    tag=entry.tag,
                    source="bracket",
                )
            )
        self._oco[oco_id] = legs
        self._brackets.setdefault((entry.symbol, entry.product), []).append(oco_id)
        for leg in legs:
            if self.router is not None:
                leg.live = True
            else:
                transition(leg, OrderStatus.OPEN)
                leg.broker_order_id = leg.order_id
            self._orders[leg.order_id] = leg
            self._emit(EngineEvent("order_accepted", ts_ns, order=leg))
            if self.router is not None:
                self.router.place(leg)
            else:
                self._rest(leg, self._book(entry.symbol))

    def _cap_brackets(self, key: tuple[str, Product], ts_ns: int) -> None:
        """Keep bracketed quantity within the position it protects: older brackets keep their
        cover, newer ones shrink or are cancelled."""
        groups = self._brackets.get(key)
        if not groups:
            return
        qty = self._positions[key].qty
        room = abs(qty)
        keep: list[str] = []
        for oco_id in groups:
            legs = [leg for leg in self._oco[oco_id] if leg.is_open]
            protects = qty != 0 and bool(legs) and (legs[0].side is Side.SELL) == (qty > 0)
            size = legs[0].quantity - legs[0].filled_quantity if legs else 0
            take = min(size, room) if protects else 0
            if take == 0:
                for leg in legs:
                    self._cancel(leg, ts_ns, "the position it protected is closed")
                del self._oco[oco_id]
                continue
            if take < size:
                for leg in legs:
                    leg.quantity = leg.filled_quantity + take
                    leg.updated_ns = ts_ns
                    self._emit(
                        EngineEvent("order_modified", ts_ns, order=leg, message="bracket resized")
                    )
                    if leg.live and self.router is not None:
                        self.router.modify(leg, leg.quantity, None, None)
            room -= take
            keep.append(oco_id)
        groups[:] = keep

    # ================================================================ cancel / kill switch
    def _open_order(self, order_id: str, action: str) -> Order:
        """The working order ``order_id``, or the rejection saying why it cannot ``action``."""
        order = self._orders.get(order_id)
        if order is None:
            raise OrderRejected("UNKNOWN_ORDER", f"No order with id {order_id!r}.", "order_id")
        if not order.is_open:
            raise OrderRejected(
                "NOT_OPEN",
                f"Order {order_id} is {order.status.value.lower()}; only open orders {action}.",
                "order_id",
            )
        return order

    def cancel(self, order_id: str) -> Order:
        """Cancel a resting order (a bracket leg cancels alone; its partner stays)."""
        order = self._open_order(order_id, "cancel")
        self._cancel(order, self.clock.now_ns(), "cancelled by the trader")
        self._flush()
        return order

    def modify(
        self,
        order_id: str,
        *,
        quantity: int | None = None,
        limit_price: object = None,
        trigger_price: object = None,
    ) -> Order:
        """Change a working order's quantity, limit or trigger (only what is given). Bad input
        raises ``OrderRejected`` naming the field and changes nothing. Paper: the order is
        re-queued at its new price and may fill at once. Live: the change is sent to Fyers and
        applied when Fyers confirms it (``broker_modified``)."""
        order = self._open_order(order_id, "change")
        if order.kind is OrderKind.MARKET:
            raise OrderRejected("NOT_MODIFIABLE", "A market order cannot be changed.", "order_id")
        qty = order.quantity
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise OrderRejected(
                    "INVALID_QUANTITY", "quantity must be a positive whole number.", "quantity"
                )
            if quantity <= order.filled_quantity:
                raise OrderRejected(
                    "INVALID_QUANTITY",
                    f"quantity must exceed the {order.filled_quantity} already filled.",
                    "quantity",
                )
            qty = quantity
        limit = self._price_arg(limit_price, "limit_price")
        trigger = self._price_arg(trigger_price, "trigger_price")
        if limit is not None and order.kind not in (OrderKind.LIMIT, OrderKind.SL):
            raise OrderRejected(
                "UNEXPECTED_PRICE", f"A {order.kind.value} order has no limit price.", "limit_price"
            )
        if trigger is not None and (
            order.kind not in (OrderKind.SL, OrderKind.SL_M) or order.triggered
        ):
            raise OrderRejected(
                "UNEXPECTED_PRICE",
                f"Order {order_id} has no trigger to change (or it already triggered).",
                "trigger_price",
            )
        if quantity is None and limit is None and trigger is None:
            raise OrderRejected("NOTHING_TO_CHANGE", "Give quantity, limit_price or trigger_price.")
        price = limit or trigger or order.limit_paise or order.trigger_paise or 0
        check_size(self.limits, qty, qty * price)  # the per-order caps still hold
        now = self.clock.now_ns()
        if order.live and self.router is not None:
            self.router.modify(order, qty, limit, trigger)
            return order
        self._apply_modify(order, qty, limit, trigger, now, "modified by the trader")
        b = self._books.get(order.symbol)
        if b is not None:  # rebuild the symbol's heaps: the order's old entry is stale
            self._rebuild(b)
            top = self.price_stream.top(order.symbol)
            if top is not None:
                bid, ask, last, _ = top
                self.on_quote(order.symbol, bid, ask, last, now)
        self._flush()
        return order

    def _apply_modify(
        self, order: Order, qty: int, limit: int | None, trigger: int | None, now: int, why: str
    ) -> None:
        order.quantity = qty
        if limit is not None:
            order.limit_paise = limit
        if trigger is not None:
            order.trigger_paise = trigger
        order.updated_ns = now
        self._emit(EngineEvent("order_modified", now, order=order, message=why))

    def _rebuild(self, b: _Book) -> None:
        """Re-queue every resting paper order of ``b``'s symbol (after a modify: rare)."""
        for heap in (b.ss, b.bs, b.sl, b.bl):
            heap.clear()
        for o in self._orders.values():
            if (
                o.symbol == b.symbol
                and o.status is OrderStatus.OPEN
                and not o.live
                and o.kind is not OrderKind.MARKET
            ):
                self._rest(o, b)
        b.refresh()

    def broker_modified(
        self, order_id: str, quantity: int, limit: int | None, trigger: int | None
    ) -> Order:
        """Fyers confirmed a change of ``order_id`` (live)."""
        order = self._live_order(order_id)
        if not order.status.is_terminal:
            self._apply_modify(order, quantity, limit, trigger, self.clock.now_ns(), "modified")
            self._flush()
        return order

    def _cancel(self, order: Order, ts_ns: int, why: str) -> None:
        if order.live and self.router is not None:  # cancelled once the broker confirms
            order.message = f"cancel requested: {why}"
            order.updated_ns = ts_ns
            self.router.cancel(order, why)
            self._emit(EngineEvent("order_cancel_requested", ts_ns, order=order, message=why))
            return
        transition(order, OrderStatus.CANCELLED)
        order.message = why
        order.updated_ns = ts_ns
        b = self._books.get(order.symbol)
        if b is not None:
            b.refresh()
        self._emit(EngineEvent("order_cancelled", ts_ns, order=order, message=why))

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancel every open order (of ``symbol``), bracket legs included."""
        out = []
        for o in list(self._orders.values()):
            if o.is_open and (symbol is None or o.symbol == symbol):
                self._cancel(o, self.clock.now_ns(), "cancel all")
                out.append(o)
        self._flush()
        return out

    def set_kill_switch(self, state: KillSwitch | str) -> None:
        """ACTIVE, REDUCING (only orders that shrink a position) or HALTED (nothing new)."""
        try:
            new = state if isinstance(state, KillSwitch) else KillSwitch(str(state).upper())
        except ValueError:
            raise InvalidInput("state", f"{state!r} is not ACTIVE, REDUCING or HALTED") from None
        self.kill_switch = new
        self._emit(EngineEvent("kill_switch", self.clock.now_ns(), message=new.value))
        self._flush()

    def check_daily_loss(self) -> bool:
        """Halt trading if today's net P&L is below ``-limits.daily_loss_limit``. The engine
        checks after every fill; the session also checks once a second as prices move."""
        limit = self.limits.daily_loss_limit
        now = self.clock.now_ns()
        day = ns_to_datetime(now).date()
        total = self.pnl_paise()["total"]
        if day != self._day:
            self._day, self._day_base = day, total
        if limit is None or self.kill_switch is KillSwitch.HALTED:
            return False
        loss = self._day_base - total
        if loss <= to_paise(limit, "daily_loss_limit"):
            return False
        self.kill_switch = KillSwitch.HALTED
        self._emit(
            EngineEvent(
                "kill_switch",
                now,
                message=KillSwitch.HALTED.value,
                code="DAILY_LOSS_LIMIT",
            )
        )
        log.warning("daily loss ₹%s passed the ₹%s limit: trading halted", from_paise(loss), limit)
        return True

    def kill(self, flatten: bool = False) -> list[Order]:
        """Emergency stop: the kill switch goes to HALTED and every open entry order is
        cancelled (stop-loss/take-profit legs keep protecting what is held). ``flatten=True``
        also cancels the legs and closes every position at market. Returns the closing orders."""
        self.kill_switch = KillSwitch.HALTED
        now = self.clock.now_ns()
        self._emit(EngineEvent("kill_switch", now, message=KillSwitch.HALTED.value, code="KILL"))
        for o in list(self._orders.values()):
            if o.is_open and (flatten or o.role is Role.ENTRY):
                self._cancel(o, now, "kill switch")
        closing = []
        if flatten:
            for (symbol, product), lots in list(self._positions.items()):
                if lots.qty:
                    order = self._force_close(symbol, product, "kill switch")
                    if order is not None:
                        closing.append(order)
        self._flush()
        return closing

    def square_off(self, product: Product = Product.INTRADAY) -> list[Order]:
        """End-of-day square-off: cancel ``product``'s open orders and close its positions at
        market (the session does this at its ``square_off`` time)."""
        now = self.clock.now_ns()
        for o in list(self._orders.values()):
            if o.is_open and o.product is product:
                self._cancel(o, now, "intraday square-off")
        closing = []
        for (symbol, prod), lots in list(self._positions.items()):
            if prod is product and lots.qty:
                order = self._force_close(symbol, prod, "square-off")
                if order is not None:
                    closing.append(order)
        self._flush()
        return closing

    def _force_close(self, symbol: str, product: Product, source: str) -> Order | None:
        """A market exit that no limit or kill switch may block (it only reduces risk). Needs a
        quote; without one the position stays and an error event says so."""
        lots = self._positions[(symbol, product)]
        top = self.price_stream.top(symbol)
        now = self.clock.now_ns()
        if top is None and self.router is not None:
            top = (0, 0, 0, now)  # live: the broker prices a market exit; no quote needed
        if top is None:
            self._emit(
                EngineEvent(
                    "order_rejected",
                    now,
                    message=f"cannot close {symbol}: no quote",
                    code="NO_QUOTE",
                )
            )
            return None
        order = Order(
            order_id=self._next_id(),
            symbol=symbol,
            side=Side.SELL if lots.qty > 0 else Side.BUY,
            kind=OrderKind.MARKET,
            product=product,
            quantity=abs(lots.qty),
            created_ns=now,
            updated_ns=now,
            source=source,
        )
        self._accept(order, now)
        self._dispatch(order, top, now)
        return order

    def close_position(self, symbol: str, product: Product | str | None = None) -> Order | None:
        """Square off a position at market (``None`` if flat). Bracket legs are cancelled."""
        if _unset(product):
            prod = self.default_product
        else:
            try:
                prod = product if isinstance(product, Product) else Product(str(product).upper())
            except ValueError:
                raise OrderRejected(
                    "INVALID_PRODUCT", f"Product {product!r} is not INTRADAY or CNC.", "product"
                ) from None
        lots = self._positions.get((symbol, prod))
        if lots is None or lots.qty == 0:
            return None
        side = Side.SELL if lots.qty > 0 else Side.BUY
        return self.submit(symbol, side, abs(lots.qty), OrderKind.MARKET, product=prod)

    # ================================================================ live: broker reports
    @property
    def live(self) -> bool:
        """True when orders go to a real broker (a router is attached)."""
        return self.router is not None

    def adopt_position(
        self, symbol: str, product: Product, quantity: int, price_paise: int
    ) -> Order:
        """Reconciliation: take on a position difference the broker shows (an order placed
        elsewhere) as one filled order at the broker's average price. No charges are billed:
        the broker billed them on the original trades."""
        if quantity == 0 or price_paise <= 0:
            raise InvalidInput("quantity", "adopt a non-zero quantity at a positive price")
        now = self.clock.now_ns()
        order = Order(
            order_id=self._next_id(),
            symbol=symbol,
            side=Side.BUY if quantity > 0 else Side.SELL,
            kind=OrderKind.MARKET,
            product=product,
            quantity=abs(quantity),
            created_ns=now,
            updated_ns=now,
            source="reconcile",
            live=self.router is not None,
            status=OrderStatus.PENDING if self.router is not None else OrderStatus.OPEN,
            broker_order_id="external",
        )
        self._orders[order.order_id] = order
        self._emit(EngineEvent("order_accepted", now, order=order))
        self._fill_seq += 1
        fill = Fill(
            fill_id=f"F{self._fill_seq:07d}",
            order_id=order.order_id,
            symbol=symbol,
            side=order.side,
            quantity=order.quantity,
            price_paise=price_paise,
            ts_ns=now,
            product=product,
            role=Role.ENTRY,
            charges=Charges(),
            trade_id=f"adopted-{order.order_id}",
        )
        before = self._book_fill(order, fill)
        self._emit(EngineEvent("fill", now, order=order, fill=fill))
        self._emit(EngineEvent("order_filled", now, order=order))
        lots = self._positions[(symbol, product)]
        if before:
            self._cap_brackets((symbol, product), now)
        self._emit(
            EngineEvent(
                "position_opened" if before == 0 else "position_changed",
                now,
                position=lots.view(self.price_stream.last_paise(symbol)),
            )
        )
        self._flush()
        return order

    def _live_order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None or not order.live:
            raise InvalidInput("order_id", f"{order_id!r} is not a live order of this engine")
        return order

    def broker_ack(self, order_id: str, broker_order_id: str) -> Order:
        """The broker accepted our order ``order_id`` as ``broker_order_id`` (journaled)."""
        order = self._live_order(order_id)
        now = self.clock.now_ns()
        order.broker_order_id = broker_order_id
        if order.status is OrderStatus.PENDING:
            transition(order, OrderStatus.OPEN)
        order.updated_ns = now
        self._emit(EngineEvent("order_routed", now, order=order, message=broker_order_id))
        self._flush()
        return order

    def broker_rejected(self, order_id: str, code: str, message: str) -> Order:
        """The broker refused ``order_id`` (or it never reached the broker)."""
        order = self._live_order(order_id)
        if order.status.is_terminal:
            return order
        now = self.clock.now_ns()
        transition(order, OrderStatus.REJECTED)
        order.message = message
        order.updated_ns = now
        if order.role is not Role.ENTRY:
            log.warning("bracket leg %s was rejected: %s is unprotected", order_id, order.symbol)
        self._emit(EngineEvent("order_rejected", now, order=order, message=message, code=code))
        self._flush()
        return order

    def broker_fill(
        self, order_id: str, quantity: int, price_paise: int, ts_ns: int, trade_id: str
    ) -> Fill:
        """An execution the broker reported. Positions, cash and charges follow it exactly as a
        paper fill (one-cancels-other and brackets included); the broker is the truth, so a
        fill beyond what we asked for is booked too, with a warning."""
        order = self._live_order(order_id)
        if quantity <= 0 or price_paise <= 0:
            raise InvalidInput("quantity", "a broker fill needs a positive quantity and price")
        if order.status is OrderStatus.PENDING:
            transition(order, OrderStatus.OPEN)
        if quantity > order.quantity - order.filled_quantity:
            log.warning("broker filled %d of %s, more than the %d left", quantity, order_id,
                        order.quantity - order.filled_quantity)  # fmt: skip
        fill = self._fill(order, quantity, price_paise, ts_ns, trade_id)
        self._flush()
        return fill

    def broker_closed(self, order_id: str, message: str) -> Order:
        """The broker cancelled (or expired) ``order_id``; what filled before stays filled."""
        order = self._live_order(order_id)
        if order.status.is_terminal:
            return order
        now = self.clock.now_ns()
        transition(order, OrderStatus.CANCELLED)
        order.message = message
        order.updated_ns = now
        self._emit(EngineEvent("order_cancelled", now, order=order, message=message))
        self._flush()
        return order

    # ================================================================ recovery
    def restore_order(self, order: Order) -> None:
        """Recovery: an order read back from the journal, as it was when accepted."""
        self._orders[order.order_id] = order
        if order.oco_id is not None:
            self._oco.setdefault(order.oco_id, []).append(order)
            key = (order.symbol, order.product)
            groups = self._brackets.setdefault(key, [])
            if order.oco_id not in groups:
                groups.append(order.oco_id)
        self._seq = max(self._seq, _id_number(order.order_id))

    def restore_fill(self, fill: Fill) -> None:
        """Recovery: a fill read back from the journal (with the charges it was billed)."""
        order = self._orders[fill.order_id]
        self._book_fill(order, fill)
        self.charges_model.record(
            fill.symbol,
            fill.side is Side.BUY,
            fill.product is Product.CNC,
            fill.quantity,
            fill.price_paise,
            ns_to_datetime(fill.ts_ns).date(),
            fill.charges,
        )
        self._fill_seq = max(self._fill_seq, _id_number(fill.fill_id))

    def restore_refund(self, refund: ChargesRefund) -> None:
        """Give ``refund`` back: cash up, charges down (also the recovery path)."""
        total = refund.charges.total
        self.cash_paise += total
        self.charges_paise -= total
        lots = self._positions.get((refund.symbol, refund.product))
        if lots is not None:
            lots.charges -= total
        self._refunds.append(refund)

    def restore_change(
        self,
        order_id: str,
        kind: str,
        ts_ns: int,
        quantity: int | None = None,
        message: str = "",
        limit: int | None = None,
        trigger: int | None = None,
    ) -> None:
        """Recovery: ``order_triggered``, ``order_cancelled`` or ``order_modified``."""
        order = self._orders[order_id]
        order.updated_ns = ts_ns
        if kind == "order_triggered":
            order.triggered = True
        elif kind == "order_cancelled":
            transition(order, OrderStatus.CANCELLED)
            order.message = message
        elif kind == "order_modified":
            if quantity is not None:
                order.quantity = quantity
            if limit is not None:
                order.limit_paise = limit
            if trigger is not None:
                order.trigger_paise = trigger
        elif kind == "order_routed":
            order.broker_order_id = message
            if order.status is OrderStatus.PENDING:
                transition(order, OrderStatus.OPEN)
        elif kind == "order_rejected":
            transition(order, OrderStatus.REJECTED)
            order.message = message

    def finish_restore(self) -> None:
        """Recovery done: put every open order back in its symbol's trigger book (live orders
        stay with their broker; the router reconciles them)."""
        for order in self._orders.values():
            if order.live:
                continue
            if order.is_open and order.kind is not OrderKind.MARKET:
                self._rest(order, self._book(order.symbol))
            elif order.is_open:  # a market order never outlives its call: it was not acked
                transition(order, OrderStatus.CANCELLED)
                order.message = "interrupted before it filled"

    # ================================================================ reading state
    @property
    def orders(self) -> list[Order]:
        return list(self._orders.values())

    @property
    def fills(self) -> list[Fill]:
        return list(self._fills)

    @property
    def refunds(self) -> list[ChargesRefund]:
        """Charges given back (same-day CNC round trips re-billed as intraday)."""
        return list(self._refunds)

    def order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values() if o.is_open and (symbol in (None, o.symbol))]

    def positions(self, include_closed: bool = False) -> list[Position]:
        """Every (symbol, product) position, with last price and unrealized P&L."""
        return [
            lots.view(self.price_stream.last_paise(sym))
            for (sym, _), lots in self._positions.items()
            if include_closed or lots.qty
        ]

    def resting_triggers(self, symbol: str) -> int:
        b = self._books.get(symbol)
        return 0 if b is None else len(b)

    def equity_paise(self) -> int:
        """Cash plus the market value of every position at its last price."""
        mv = 0
        for (sym, _), lots in self._positions.items():
            if lots.qty:
                last = self.price_stream.last_paise(sym)
                mv += lots.cost if last is None else last * lots.qty
        return self.cash_paise + mv

    def pnl_paise(self) -> dict[str, int]:
        """The P&L identities in paise: realized (gross), unrealized, charges, equity..."""
        realized = unrealized = mv = 0
        for (sym, _), lots in self._positions.items():
            realized += lots.realized
            if lots.qty:
                last = self.price_stream.last_paise(sym)
                mark = lots.cost if last is None else last * lots.qty
                mv += mark
                unrealized += mark - lots.cost
        return {
            "cash": self.cash_paise,
            "market_value": mv,
            "gross_realized": realized,
            "unrealized": unrealized,
            "charges": self.charges_paise,
            "net_realized": realized - self.charges_paise,
            "total": realized - self.charges_paise + unrealized,
            "equity": self.cash_paise + mv,
        }

    def portfolio_pnl(self) -> dict[str, Any]:
        """Synchronous ``get_portfolio_pnl`` (the original's keys, plus gross/charges/cash)."""
        p = self.pnl_paise()
        total = p["total"]
        pct = (
            (Decimal(total) * 100 / Decimal(self.initial_paise)).quantize(Decimal("0.01"))
            if self.initial_paise
            else Decimal("0.00")
        )
        positions: dict[str, dict[str, Any]] = {}
        for pos in self.positions():
            cur = pos.last_price if pos.last_price is not None else pos.avg_buy_price
            entry = positions.get(pos.symbol)
            if entry is None:
                cost = pos.avg_buy_price * pos.quantity
                positions[pos.symbol] = {
                    "quantity": pos.quantity,
                    "avg_buy_price": pos.avg_buy_price,
                    "current_price": cur,
                    "unrealized_pnl": pos.unrealized_pnl,
                    "unrealized_pnl_percent": (
                        (pos.unrealized_pnl * 100 / abs(cost)).quantize(Decimal("0.01"))
                        if cost
                        else Decimal("0.00")
                    ),
                    "product": pos.product.value,
                }
            else:  # same symbol in two products: show the net
                qty = entry["quantity"] + pos.quantity
                cost = entry["avg_buy_price"] * entry["quantity"] + pos.avg_buy_price * pos.quantity
                unreal = entry["unrealized_pnl"] + pos.unrealized_pnl
                entry.update(
                    quantity=qty,
                    avg_buy_price=(cost / qty).quantize(Decimal("0.0001")) if qty else cost,
                    unrealized_pnl=unreal,
                    unrealized_pnl_percent=(
                        (unreal * 100 / abs(cost)).quantize(Decimal("0.01"))
                        if cost
                        else Decimal("0.00")
                    ),
                    product="MIXED",
                )
        return {
            "wallet_balance": from_paise(p["cash"]),
            "total_realized_pnl": from_paise(p["net_realized"]),
            "total_unrealized_pnl": from_paise(p["unrealized"]),
            "total_pnl": from_paise(total),
            "total_pnl_percent": pct,
            "portfolio_value": from_paise(p["equity"]),
            "active_positions_count": len(positions),
            "order_count": len(self._executed),
            "positions": positions,
            "initial_balance": from_paise(self.initial_paise),
            "cash": from_paise(p["cash"]),
            "market_value": from_paise(p["market_value"]),
            "gross_realized_pnl": from_paise(p["gross_realized"]),
            "total_charges": from_paise(p["charges"]),
            "kill_switch": self.kill_switch.value,
        }

    # ================================================================ the original async API
    async def market_buy(
        self,
        symbol: str,
        quantity: int,
        stop_loss_price: object = None,
        take_profit_price: object = None,
    ) -> tuple[bool, str, ExecutedOrder | None]:
        """Buy at the ask. Returns ``(success, message, executed_order)``; never raises on bad
        input (the message says what was wrong)."""
        return self._seed_order(symbol, Side.BUY, quantity, stop_loss_price, take_profit_price)

    async def market_sell(
        self,
        symbol: str,
        quantity: int,
        stop_loss_price: object = None,
        take_profit_price: object = None,
    ) -> tuple[bool, str, ExecutedOrder | None]:
        """Sell at the bid (an intraday sell beyond the position opens a short)."""
        return self._seed_order(symbol, Side.SELL, quantity, stop_loss_price, take_profit_price)

    def _seed_order(
        self, symbol: str, side: Side, quantity: int, sl: object, tp: object
    ) -> tuple[bool, str, ExecutedOrder | None]:
        n_exec = len(self._executed)
        try:
            order = self.submit(
                symbol, side, quantity, OrderKind.MARKET, stop_loss=sl, take_profit=tp,
                source="seed-api",
            )  # fmt: skip
        except OrderRejected as rej:
            return False, rej.reason, None
        if order.status is not OrderStatus.FILLED or len(self._executed) == n_exec:
            return False, order.message or "Order did not fill.", None
        executed = next(e for e in self._executed[n_exec:] if e.order_id == order.order_id)
        verb = "Bought" if side is Side.BUY else "Sold"
        return (
            True,
            f"{verb} {quantity} {symbol} at ₹{executed.executed_price} "
            f"(charges ₹{executed.commission}).",
            executed,
        )

    async def check_risk_orders(self, symbol: str, current_price: object) -> None:
        """Fire any SL/TP (and other resting orders) ``current_price`` crosses. The engine also
        does this itself on every stream update; calling it by hand is harmless."""
        last = to_paise(current_price, "current_price")
        top = self.price_stream.top(symbol)
        bid, ask = (top[0], top[1]) if top is not None else (last, last)
        b = self._books.get(symbol)
        if b is not None:
            now = self.clock.now_ns()
            if last <= b.ss_lvl or last >= b.bs_lvl or bid >= b.sl_lvl or ask <= b.bl_lvl:
                self._match(symbol, b, bid, ask, last, now)
                self._flush()

    async def get_portfolio_pnl(self) -> dict[str, Any]:
        return self.portfolio_pnl()

    def get_order_history(self, symbol: str | None = None) -> list[ExecutedOrder]:
        """Executed orders, oldest first (of ``symbol`` if given)."""
        return [e for e in self._executed if symbol is None or e.symbol == symbol]

    def get_active_positions(self) -> dict[str, Position]:
        """Open positions by symbol (a symbol held in two products appears as its net)."""
        out: dict[str, Position] = {}
        for pos in self.positions():
            prev = out.get(pos.symbol)
            if prev is None:
                out[pos.symbol] = pos
            else:
                qty = prev.quantity + pos.quantity
                cost = prev.avg_buy_price * prev.quantity + pos.avg_buy_price * pos.quantity
                out[pos.symbol] = Position(
                    symbol=pos.symbol,
                    quantity=qty,
                    avg_buy_price=(cost / qty).quantize(Decimal("0.0001")) if qty else cost,
                    product=pos.product,
                    realized_pnl=prev.realized_pnl + pos.realized_pnl,
                    charges=prev.charges + pos.charges,
                    last_price=pos.last_price,
                    unrealized_pnl=prev.unrealized_pnl + pos.unrealized_pnl,
                )
        return {s: p for s, p in out.items() if p.quantity}

    def get_risk_orders(self) -> dict[str, dict[str, list[Any]]]:
        """Open bracket legs: ``{"stop_losses": {symbol: [...]}, "take_profits": {...}}``."""
        sls: dict[str, list[Any]] = {}
        tps: dict[str, list[Any]] = {}
        for o in self._orders.values():
            if not o.is_open or o.role is Role.ENTRY:
                continue
            left = o.quantity - o.filled_quantity
            if o.role is Role.STOP_LOSS:
                assert o.trigger_paise is not None
                sls.setdefault(o.symbol, []).append(
                    StopLossConfig(from_paise(o.trigger_paise), left, o.symbol, o.order_id, o.side)
                )
            else:
                assert o.limit_paise is not None
                tps.setdefault(o.symbol, []).append(
                    TakeProfitConfig(from_paise(o.limit_paise), left, o.symbol, o.order_id, o.side)
                )
        return {"stop_losses": sls, "take_profits": tps}

    def __repr__(self) -> str:
        p = self.pnl_paise()
        return (
            f"LiveTradingEngine(broker={self.broker.name}, equity=₹{from_paise(p['equity'])}, "
            f"positions={sum(1 for lots in self._positions.values() if lots.qty)}, "
            f"open_orders={len(self.open_orders())}, kill_switch={self.kill_switch.value})"
        )


__all__ = ["IST", "EngineEvent", "LiveTradingEngine"]
