"""The hot path and the books: quotes meet resting triggers, fills become positions.

Fills (paper and live alike) move cash and FIFO lots, bill charges, and attach, resize or cancel
the one-cancels-other brackets that protect a position; the daily loss limit is checked after
each.

Paper fill models (``PaperBroker.fills``): "touch" fills a marketable order in full at the touch;
"depth" walks the five depth levels of ``depth_source`` (see :meth:`Matching._walk`). Both cap
market and stop-market orders at the protected price (``risk.protected_price``, SEBI/Fyers market
price protection): a market order's rest beyond it is cancelled, a stop-market's re-arms.
"""

from __future__ import annotations

import heapq
import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, cast

from livetrade.brokers.paper import PaperBroker
from livetrade.engine.book import _Book, _Lots
from livetrade.engine.events import ChargesRefund, EngineEvent
from livetrade.engine.state import EngineState
from livetrade.errors import InvalidInput
from livetrade.market_hours import fmt_ist
from livetrade.model import (
    ExecutedOrder,
    Fill,
    KillSwitch,
    Order,
    OrderKind,
    OrderStatus,
    OrderType,
    Product,
    Role,
    Side,
    datetime_to_ns,
    ns_to_datetime,
    transition,
)
from livetrade.money import Charges, from_paise, to_paise
from livetrade.risk import protected_price
from livetrade.session_rules import amo_release

if TYPE_CHECKING:
    from livetrade.request import OrderRequest

log = logging.getLogger("livetrade.engine")


class Matching(EngineState):
    """The hot path and the books: quotes meet resting triggers, fills become positions."""

    # the IST day (epoch ns, [lo, hi)) ``check_daily_loss`` last recorded: within it and with
    # no loss limit, a fill need not total the P&L
    _day_lo_ns = 0
    _day_hi_ns = -1

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
        self._tick_depth = {}  # fills="depth": one book per tick, shared by its fills
        try:
            self._match_tick(symbol, b, bid, ask, last, ts_ns)
        finally:
            self._tick_depth = None

    def _match_tick(self, symbol: str, b: _Book, bid: int, ask: int, last: int, ts_ns: int) -> None:
        unmarketable: list[Order] = []  # crossed, but the broker's price model says not yet
        # fills="depth": once a resting limit gets nothing this tick (the touch is not through
        # it, or the liquidity through it is taken), no worse-priced one can: those stay put
        dry_sl, dry_bl = _DRY_NONE_SELL, _DRY_NONE_BUY
        while True:
            b.refresh()
            resting = 0  # the heap a resting limit came from: 1 sell, -1 buy
            if b.ss and last <= b.ss_lvl:
                order = heapq.heappop(b.ss)[2]
            elif b.bs and last >= b.bs_lvl:
                order = heapq.heappop(b.bs)[2]
            elif b.sl and bid >= b.sl_lvl and b.sl_lvl < dry_sl:
                order = heapq.heappop(b.sl)[2]
                resting = 1
            elif b.bl and ask <= b.bl_lvl and b.bl_lvl > dry_bl:
                order = heapq.heappop(b.bl)[2]
                resting = -1
            else:
                break
            arrives = self._in_flight.get(order.order_id)
            if arrives is not None:  # PaperBroker.latency_ms: still on its way, or arriving now
                if ts_ns >= arrives:
                    del self._in_flight[order.order_id]
                    if self._arrive(order, bid, ask, last, ts_ns):
                        continue
                unmarketable.append(order)
                continue
            taker = True  # met the book as it arrived (a stop just triggered), not resting
            if order.kind in (OrderKind.SL, OrderKind.SL_M) and not order.triggered:
                order.triggered = True
                order.updated_ns = ts_ns
                self._emit(EngineEvent("order_triggered", ts_ns, order=order))
                if order.kind is OrderKind.SL and not self._depth_fills:
                    self._rest(order, b)  # stop-limit: from now on a resting limit order
                    continue
            elif order.kind in (OrderKind.LIMIT, OrderKind.SL):
                taker = False
            before = order.filled_quantity
            if not self._execute(order, bid, ask, last, ts_ns, taker):
                unmarketable.append(order)
                if resting and order.filled_quantity == before and self._depth_fills:
                    lim = order.limit_paise
                    assert lim is not None
                    if resting > 0:  # its heap level (see _rest): nothing at or above it
                        dry_sl = lim + 1
                    else:
                        dry_bl = lim - 1
        for order in unmarketable:
            self._rest(order, b)

    @property
    def _latency_ns(self) -> int:
        broker = self.broker
        return broker.latency_ms * 1_000_000 if isinstance(broker, PaperBroker) else 0

    def _arrive(self, order: Order, bid: int, ask: int, last: int, ts_ns: int) -> bool:
        """A delayed order reaches the exchange on this tick: a market order fills now (or is
        cancelled), a limit takes what it can; ``False``: the limit's rest rests. A held
        after-market order is released first; its stop (SL, SL-M) starts resting."""
        if order.release_ns is not None and order.status is OrderStatus.PENDING:
            self._release(order, ts_ns)
            if order.kind in (OrderKind.SL, OrderKind.SL_M):
                return False
        if order.kind is not OrderKind.MARKET:
            return self._execute(order, bid, ask, last, ts_ns)
        if not self._execute(order, bid, ask, last, ts_ns):
            self._cancel(order, ts_ns, "no executable price for a market order")
        return True

    # ---- after-market orders: held until the open, released by the first tick at or past it
    def _accept_amo(self, order: Order, req: OrderRequest, now: int) -> None:
        """Accept ``order`` (it passed ``check_amo``) as held: PENDING, journaled with the
        instant it is released (the next normal-market open), waiting in its symbol's book
        like an order still on its way (``_in_flight``), so the tick path releases it."""
        opens = amo_release(req, self, now)
        assert opens is not None  # check_amo passed
        order.release_ns = datetime_to_ns(opens)
        order.message = (
            f"after-market order: held until {fmt_ist(opens)}, when it is sent to the market"
        )
        self._orders[order.order_id] = order
        self._rate.record(now)
        self._emit(EngineEvent("order_accepted", now, order=order))
        self._hold(order, order.release_ns)

    def _hold(self, order: Order, release_ns: int) -> None:
        self._in_flight[order.order_id] = release_ns
        self._rest(order, self._book(order.symbol))

    def _release(self, order: Order, ts_ns: int) -> None:
        """The open: the held order becomes a working one (journaled as routed to itself)."""
        transition(order, OrderStatus.OPEN)
        order.broker_order_id = order.order_id
        order.message = f"after-market order released at {fmt_ist(ns_to_datetime(ts_ns))}"
        order.updated_ns = ts_ns
        self._emit(EngineEvent("order_routed", ts_ns, order=order, message=order.order_id))

    @property
    def _depth_fills(self) -> bool:
        broker = self.broker
        return isinstance(broker, PaperBroker) and broker.fills == "depth"

    def _execute(
        self, order: Order, bid: int, ask: int, last: int, ts_ns: int, taker: bool = True
    ) -> bool:
        """Fill what the fill model allows now. ``True``: the order is done with (filled, or a
        market order's unfillable rest cancelled); ``False``: the rest waits in the book (a
        limit, or a stop-market that re-arms at its trigger)."""
        market = order.kind in (OrderKind.MARKET, OrderKind.SL_M)
        cap = self._protected(order, last) if market else order.limit_paise
        if self._depth_fills:
            return self._walk(order, bid, ask, last, ts_ns, cap, taker)
        price = self.broker.execution_price(
            order.side, bid, ask, last, None if market else order.limit_paise
        )
        if price is None:
            return False
        if market and cap is not None and _beyond(order.side, price, cap):
            return self._unprotected(order, price, cap, ts_ns)
        self._fill(order, order.quantity - order.filled_quantity, price, ts_ns)
        return True

    def protected_price(self, order: Order, last: int | None = None) -> int | None:
        """The worst price ``order`` (a market or stop-market one) may fill at: SEBI's market
        protection as Fyers applies it (``risk.protected_price``) around the LTP (``last``, else
        the stream's), capped at today's circuit limit. ``None``: protection is off
        (``limits.market_protection_pct=None``) or there is no LTP."""
        ltp = last if last else self.price_stream.last_paise(order.symbol)
        pct = self.limits.market_protection_pct
        if pct is None or not ltp or ltp <= 0:
            return None
        band = self.band_source(order.symbol) if self.band_source is not None else None
        return protected_price(order.side, ltp, self.instruments.get(order.symbol), pct, band)

    def _protected(self, order: Order, last: int) -> int | None:
        return self.protected_price(order, last)

    def _unprotected(self, order: Order, price: int, cap: int, ts_ns: int) -> bool:
        """The touch is beyond the protected price: a market order is cancelled (Fyers would
        leave its protected limit pending, FYSUP; here it never outlives its call), a
        stop-market stays triggered and tries again on the next tick through its trigger."""
        if order.kind is not OrderKind.MARKET:
            return False
        self._cancel(
            order,
            ts_ns,
            f"market protection: the touch ₹{from_paise(price)} is beyond the protected price "
            f"₹{from_paise(cap)} (LTP ± {self.limits.market_protection_pct}% or Fyers' F&O "
            "range, capped at the circuit)",
        )
        return True

    def _levels(self, order: Order, bid: int, ask: int, last: int) -> list[list[int]]:
        """The opposite side of the book, best first, as ``[price paise, quantity]``: the depth
        source's five levels, else (no source, no depth for the symbol) the touch alone with
        room for the whole order. Within one tick the same list is handed out (and consumed);
        outside a tick (an order as it is placed) a fresh one, which nothing else shares."""
        key = (order.symbol, order.side)
        cache = self._tick_depth
        if cache is not None and key in cache:
            return cache[key]
        book = self.depth_source(order.symbol) if self.depth_source is not None else None
        side = None if book is None else book[1 if order.side is Side.BUY else 0]
        if side:
            levels = [[price, qty] for price, qty in side if qty > 0]
        else:
            touch = ask if order.side is Side.BUY else bid
            touch = touch if touch > 0 else last
            room = order.quantity - order.filled_quantity
            levels = [[touch, 1 << 40 if cache is not None else room]] if touch > 0 else []
        if cache is not None:
            cache[key] = levels
        return levels

    def _walk(
        self,
        order: Order,
        bid: int,
        ask: int,
        last: int,
        ts_ns: int,
        cap: int | None,
        taker: bool,
    ) -> bool:
        """fills="depth": an arriving order (market, marketable limit, a stop as it triggers)
        takes the levels one by one at their prices (never better than the touch, worse by the
        broker's slippage ticks) up to its limit or protected price; a resting limit fills only
        when the book has moved through its price, at its price, as much as the levels beyond
        it hold (queue assumption: we are last at our price, so only liquidity through the
        price reaches us). A market order's rest is cancelled; a limit's rests."""
        broker = self.broker
        assert isinstance(broker, PaperBroker)
        side = order.side
        touch = ask if side is Side.BUY else bid
        if touch <= 0:
            touch = last
        if not taker and cap is not None and not _beyond(side, cap, touch):
            return False  # resting, and the touch has not moved through its price: no book read
        wanted = order.quantity - order.filled_quantity
        tick = self.instruments.get(order.symbol).tick_for(touch)  # slippage: the band's tick
        levels = self._levels(order, bid, ask, last)
        book = cast("list[tuple[int, int]]", levels)  # [price, qty] lists unpack the same
        fills = broker.depth_fills(side, book, wanted, touch, cap, tick, taker)
        if not fills:
            return order.kind is OrderKind.MARKET and self._depth_short(order, wanted, cap, ts_ns)
        if self._tick_depth is not None:  # what these fills took is gone for the tick's rest
            taken = 0
            for _, qty in fills:
                taken += qty
            for level in levels:
                if level[1] >= taken:
                    level[1] -= taken
                    break
                taken -= level[1]
                level[1] = 0
        for price, qty in fills:
            self._fill(order, qty, price, ts_ns)
            if not order.is_open:
                return True
        if order.kind is not OrderKind.MARKET:
            return False
        return self._depth_short(order, wanted, cap, ts_ns)

    def _depth_short(self, order: Order, wanted: int, cap: int | None, ts_ns: int) -> bool:
        """A market order the five levels could not fill: its rest is cancelled."""
        left = order.quantity - order.filled_quantity
        within = f"within the protected price ₹{from_paise(cap)}" if cap is not None else ""
        self._cancel(
            order,
            ts_ns,
            f"fills='depth': the five depth levels {within} held {wanted - left} of {wanted}; "
            f"the rest ({left}) is cancelled",
        )
        return True

    def _book(self, symbol: str) -> _Book:
        b = self._books.get(symbol)
        if b is None:
            b = self._books[symbol] = _Book(self, symbol)
            self.price_stream.attach_book(symbol, b)
        return b

    def _rest(self, order: Order, b: _Book) -> None:
        self._heap_seq += 1
        seq = self._heap_seq
        if order.order_id in self._in_flight:  # on its way: every tick of the symbol checks it
            heapq.heappush(b.bs, (0, seq, order))
            b.refresh()
            return
        if order.kind is OrderKind.SL_M or (order.kind is OrderKind.SL and not order.triggered):
            trig = order.trigger_paise  # a triggered stop-market's rest re-arms at its trigger
            assert trig is not None
            if order.side is Side.SELL:
                heapq.heappush(b.ss, (-trig, seq, order))
            else:
                heapq.heappush(b.bs, (trig, seq, order))
        else:
            lim = order.limit_paise
            assert lim is not None
            # fills="depth" fills a resting limit only once the touch is strictly through its
            # price (``_walk``): it waits one paisa inside, so a touch at the price never fires
            through = 1 if self._depth_fills else 0
            if order.side is Side.SELL:
                heapq.heappush(b.sl, (lim + through, seq, order))
            else:
                heapq.heappush(b.bl, (through - lim, seq, order))
        b.refresh()

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
        # one-cancels-other: a filled leg cancels its partner, a partly filled one shrinks it
        if order.oco_id is not None:
            left = order.quantity - order.filled_quantity
            for other in self._oco.get(order.oco_id, ()):
                if other is order or not other.is_open:
                    continue
                if left <= 0:
                    self._cancel(other, ts_ns, "one-cancels-other: the partner leg filled")
                elif other.quantity - other.filled_quantity > left:
                    keep = other.filled_quantity + left
                    self._resize(other, keep, ts_ns, "resized: its partner partly filled")
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
        lots.apply(signed, price, fill.ts_ns)
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

    def _resize(self, leg: Order, quantity: int, ts_ns: int, why: str) -> None:
        leg.quantity = quantity
        leg.updated_ns = ts_ns
        self._emit(EngineEvent("order_modified", ts_ns, order=leg, message=f"bracket {why}"))
        if leg.live and self.router is not None:
            self.router.modify(leg, leg.quantity, None, None)

    def _grow_bracket(self, entry: Order, qty: int, ts_ns: int) -> bool:
        """A paper entry filling in parts (fills="depth") grows the bracket its first part
        attached while no leg of it has filled, instead of one bracket per part."""
        groups = self._brackets.get((entry.symbol, entry.product), [])
        prefix = f"OCO-{entry.order_id}-"
        if not groups or not groups[-1].startswith(prefix):
            return False
        legs = self._oco.get(groups[-1], [])
        if not legs or any(leg.live or not leg.is_open or leg.filled_quantity for leg in legs):
            return False
        for leg in legs:
            self._resize(leg, leg.quantity + qty, ts_ns, "grown: its entry filled further")
        return True

    def _leg(
        self,
        entry: Order,
        side: Side,
        kind: OrderKind,
        role: Role,
        qty: int,
        oco_id: str,
        ts_ns: int,
    ) -> Order:
        """One exit leg of ``entry``'s bracket (its price is set by the caller)."""
        return Order(
            order_id=self._next_id(),
            symbol=entry.symbol,
            side=side,
            kind=kind,
            product=entry.product,
            quantity=qty,
            role=role,
            created_ns=ts_ns,
            updated_ns=ts_ns,
            parent_id=entry.order_id,
            oco_id=oco_id,
            tag=entry.tag,
            source="bracket",
        )

    def _attach_bracket(self, entry: Order, qty: int, ts_ns: int) -> None:
        if self._grow_bracket(entry, qty, ts_ns):
            return
        oco_id = f"OCO-{entry.order_id}-{entry.filled_quantity}"
        exit_side = Side.SELL if entry.side is Side.BUY else Side.BUY
        legs: list[Order] = []
        if entry.stop_loss_paise is not None:
            legs.append(
                self._leg(entry, exit_side, OrderKind.SL_M, Role.STOP_LOSS, qty, oco_id, ts_ns)
            )
            legs[-1].trigger_paise = entry.stop_loss_paise
        if entry.take_profit_paise is not None:
            legs.append(
                self._leg(entry, exit_side, OrderKind.LIMIT, Role.TAKE_PROFIT, qty, oco_id, ts_ns)
            )
            legs[-1].limit_paise = entry.take_profit_paise
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

    def _rebuild(self, b: _Book) -> None:
        """Re-queue every resting paper order of ``b``'s symbol (after a modify: rare)."""
        for heap in (b.ss, b.bs, b.sl, b.bl):
            heap.clear()
        for o in self._orders.values():
            if (
                o.symbol == b.symbol
                and (
                    o.status is OrderStatus.OPEN
                    or (o.status is OrderStatus.PENDING and o.release_ns is not None)
                )
                and not o.live
                and (o.kind is not OrderKind.MARKET or o.order_id in self._in_flight)
            ):
                self._rest(o, b)
        b.refresh()

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
        self._in_flight.pop(order.order_id, None)
        b = self._books.get(order.symbol)
        if b is not None:
            b.refresh()
        self._emit(EngineEvent("order_cancelled", ts_ns, order=order, message=why))

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
        if limit is None and self._day_lo_ns <= now < self._day_hi_ns:
            return False  # no limit, same day: nothing to record (a fill's hot path)
        when = ns_to_datetime(now)
        day = when.date()
        if day != self._day or not self._day_lo_ns <= now < self._day_hi_ns:
            midnight = datetime.combine(day, time(0), when.tzinfo)
            self._day_lo_ns = datetime_to_ns(midnight)
            self._day_hi_ns = datetime_to_ns(midnight + timedelta(days=1))
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

    def restore_refund(self, refund: ChargesRefund) -> None:
        """Give ``refund`` back: cash up, charges down (also the recovery path)."""
        total = refund.charges.total
        self.cash_paise += total
        self.charges_paise -= total
        lots = self._positions.get((refund.symbol, refund.product))
        if lots is not None:
            lots.charges -= total
        self._refunds.append(refund)


_DRY_NONE_SELL = 1 << 63  # above every sell-limit level: none is dry
_DRY_NONE_BUY = -(1 << 63)


def _beyond(side: Side, price: int, cap: int) -> bool:
    """``price`` is worse than ``cap`` for ``side`` (dearer for a buy, cheaper for a sell)."""
    return price > cap if side is Side.BUY else price < cap
