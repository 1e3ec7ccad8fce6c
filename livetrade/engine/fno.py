"""Futures and options on the engine: sliced orders and expiry settlement (#15 items 2 and 5).

**Slicing.** An order with ``slice=True`` above its instrument's freeze quantity becomes one
*parent* (journaled as ``order_sliced``, never in a book) and its *children*, ordinary orders
of at most the freeze in whole lots (``livetrade.fno.slicing``) whose ``parent_id`` names the
parent. Each child passes the pre-trade checks itself (as each Fyers slice is its own order);
a refused child does not undo the others, as with Fyers' ``isSliceOrder``. The parent's state is
read from its children (:meth:`Derivatives.sliced`). Without ``slice`` the order is refused
(``FREEZE_QUANTITY``), as before.

**Expiry.** Once a tick's time reaches a contract's expiry (the master's epoch: 15:30 IST, 15:40
from 3 Aug 2026), paper positions in it settle against the final settlement price, the
underlying's last price at or before the expiry moment (fno.md §2: index F&O settle in cash
against the closing index value; when the first tick after the expiry comes only at the next
open, the settlement still takes the close, at that tick's time): options at intrinsic value
(out of the money: zero), futures at the settlement price. Each settlement is an order
(``source="expiry"``) and a fill, journaled like any other; a long option settled in the money
pays STT on its intrinsic value (``charge_exercise``), nothing else is billed (fno.md has no
source for other settlement charges). Resting orders on the contract are cancelled, its margin
is released with the position, and a ``contract_expired`` event names it (``message``) so a
session can drop it from its watch list. Live engines never settle: Fyers does, and
reconciliation follows.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from livetrade.engine.book import _id_number
from livetrade.engine.events import EngineEvent
from livetrade.engine.views import Views
from livetrade.errors import OrderRejected
from livetrade.fno.margin import intrinsic_paise, is_derivative
from livetrade.fno.slicing import slice_quantity
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.model import (
    Fill,
    Order,
    OrderKind,
    OrderStatus,
    PriceQuote,
    Product,
    Role,
    Side,
    ns_to_datetime,
)
from livetrade.money import ZERO_CHARGES, Charges, IndianEquityCharges
from livetrade.request import OrderRequest
from livetrade.risk import first_rejection

log = logging.getLogger("livetrade.engine")

_NEVER = 1 << 62
EXPIRY_SOURCE = "expiry"


def _expiry_ns(inst: Instrument) -> int | None:
    return None if inst.expiry is None else int(inst.expiry.timestamp()) * 1_000_000_000


class Derivatives(Views):
    """One layer of :class:`~livetrade.engine.LiveTradingEngine` (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parents: dict[str, Order] = {}  # sliced parents by id (their children: parent_id)
        self._slicing: str | None = None  # while placing a parent's children: its id
        self._expiry_gate = _NEVER  # the earliest expiry of a contract with orders/positions
        self._watched: set[str] = set()  # underlyings whose ticks settle expiries
        # each watched underlying's last price at or before the next expiry: the settlement
        # price, even when the first tick after it comes later (the next morning, after a close)
        self._at_expiry: dict[str, int] = {}

    # ------------------------------------------------------------------ slicing
    def submit(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        kind: OrderKind | str = OrderKind.MARKET,
        *,
        slice: bool = False,
        **kwargs: Any,
    ) -> Order:
        """As :meth:`Trading.submit`, plus ``slice=True``: an order above the freeze quantity
        is cut into legal slices (returns the parent) instead of refused."""
        if not slice:
            return super().submit(symbol, side, quantity, kind, **kwargs)
        origin = kwargs.pop("origin", "")
        try:
            self._check_armed()
            req = OrderRequest.parse(
                symbol, side, quantity, kind, default_product=self.default_product,
                instruments=self.instruments, slice=True, **kwargs,
            )  # fmt: skip
        except OrderRejected as rej:
            self._refused(rej, self.clock.now_ns())
            raise
        return self.place(req, origin=origin)

    def place(self, req: OrderRequest, *, origin: str = "") -> Order:
        """As :meth:`Trading.place`; a ``slice`` request above the freeze places a parent and
        its slices, and an order on an expired contract is refused."""
        inst = req.instrument if req.instrument is not None else self.instruments.get(req.symbol)
        expiry = _expiry_ns(inst)
        now = self.clock.now_ns()
        if expiry is not None and now >= expiry and self._slicing is None:
            rej = OrderRejected(
                "CONTRACT_EXPIRED",
                f"{req.symbol} expired at {inst.expiry:%d %b %Y %H:%M} IST; it no longer trades.",
                "symbol",
            )
            self._refused(rej, now)
            raise rej
        if expiry is not None:
            self._watch_expiry(expiry, inst.underlying)
        sizes = slice_quantity(req.quantity, inst) if req.slice else [req.quantity]
        if len(sizes) == 1:
            return super().place(req, origin=origin)
        return self._place_sliced(req, sizes, origin)

    def _place_sliced(self, req: OrderRequest, sizes: list[int], origin: str) -> Order:
        now = self.clock.now_ns()
        first = _child(req, sizes[0])
        rejection = first_rejection(first, self._pre_trade(first, now), self.pre_trade_checks)
        if rejection is not None:  # nothing placed: refused like any order
            self._refused(rejection, now)
            raise rejection
        parent = req.order(  # the first child's id, + "-S"
            f"{self._id_prefix}{self._seq + 1:07d}-S", now, origin, status=OrderStatus.OPEN
        )
        self._parents[parent.order_id] = parent
        why = f"sliced into {len(sizes)}: {', '.join(map(str, sizes))}"
        self._emit(EngineEvent("order_sliced", now, order=parent, message=why))
        self._slicing = parent.order_id
        try:
            for size in sizes:
                try:
                    super().place(_child(req, size), origin=origin)
                except OrderRejected as rej:  # a refused slice does not undo the others
                    log.warning("slice of %s refused: %s", parent.order_id, rej.reason)
        finally:
            self._slicing = None
        return self.sliced(parent.order_id) or parent

    def _accept(self, order: Order, now: int) -> None:
        if self._slicing is not None and order.parent_id is None:
            order.parent_id = self._slicing  # a slice: its parent is journaled with it
        super()._accept(order, now)

    def restore_parent(self, parent: Order) -> None:
        """Recovery: a sliced parent read back from the journal (``order_sliced``)."""
        self._parents[parent.order_id] = parent

    def children(self, parent_id: str) -> list[Order]:
        """The slices of ``parent_id``, in the order they were placed."""
        return [o for o in self._orders.values() if o.parent_id == parent_id]

    def sliced(self, parent_id: str) -> Order | None:
        """The parent ``parent_id`` as its children make it: filled quantity and average
        price summed over them; OPEN while one is, else FILLED when all filled, else
        CANCELLED (or REJECTED if none was placed). A copy: the children are the facts."""
        parent = self._parents.get(parent_id)
        if parent is None:
            return None
        kids = self.children(parent_id)
        filled = sum(o.filled_quantity for o in kids)
        value = sum((o.fill_paise or 0) * o.filled_quantity for o in kids)
        if any(o.is_open for o in kids):
            status = OrderStatus.OPEN
        elif kids and filled == parent.quantity:
            status = OrderStatus.FILLED
        else:
            status = OrderStatus.CANCELLED if kids else OrderStatus.REJECTED
        view = replace(parent)
        view.filled_quantity = filled
        view.fill_paise = value // filled if filled else None
        view.charges_paise = sum(o.charges_paise for o in kids)
        view.status = status
        view.updated_ns = max([parent.updated_ns, *(o.updated_ns for o in kids)])
        return view

    def sliced_orders(self) -> list[Order]:
        """Every sliced parent, as :meth:`sliced` reads it."""
        return [v for pid in self._parents if (v := self.sliced(pid)) is not None]

    def cancel_sliced(self, parent_id: str) -> list[Order]:
        """Cancel every open slice of ``parent_id``."""
        if parent_id not in self._parents:
            raise OrderRejected("UNKNOWN_ORDER", f"No sliced order {parent_id!r}.", "order_id")
        now = self.clock.now_ns()
        out = [o for o in self.children(parent_id) if o.is_open]
        for o in out:
            self._cancel(o, now, "cancelled by the trader")
        self._flush()
        return out

    # ------------------------------------------------------------------ expiry
    def _watch_expiry(self, expiry_ns: int, underlying: str | None) -> None:
        """Settle on the underlying's ticks: its price is the settlement price, so a contract
        settles on the first tick of it at or after the expiry (the chain's own ticks, most of
        the tick path, pay nothing for this)."""
        if expiry_ns < self._expiry_gate:
            self._expiry_gate = expiry_ns
        if underlying and underlying not in self._watched and self.router is None:
            self.price_stream.subscribe(underlying, self._on_underlying)
            self._watched.add(underlying)

    def _on_underlying(self, quote: PriceQuote) -> None:
        top = self.price_stream.top(quote.symbol)
        if top is None:
            return
        if top[3] <= self._expiry_gate:  # the price at the expiry is the last one up to it
            self._at_expiry[quote.symbol] = top[2]
            if top[3] < self._expiry_gate:
                return
        self.settle_expired(top[3])

    def detach(self) -> None:
        super().detach()
        for underlying in self._watched:
            self.price_stream.unsubscribe(underlying, self._on_underlying)
        self._watched.clear()

    def _due(self, now_ns: int) -> tuple[list[str], int]:
        """Contracts with a position or an open order whose expiry is at or before ``now_ns``,
        and the next expiry after it among the others."""
        symbols = {s for (s, _), lots in self._positions.items() if lots.qty}
        symbols |= {o.symbol for o in self._orders.values() if o.is_open and not o.live}
        due: list[str] = []
        gate = _NEVER
        for symbol in sorted(symbols):
            exp = _expiry_ns(self.instruments.get(symbol))
            if exp is None:
                continue
            if exp <= now_ns:
                due.append(symbol)
            else:
                gate = min(gate, exp)
        return due, gate

    def settle_expired(self, now_ns: int | None = None) -> list[Order]:
        """Settle every contract expired by ``now_ns`` (default: the clock): see the module
        docstring. Returns the settlement orders. A contract whose underlying has no price yet
        waits for one (it is tried again on the next tick)."""
        if self.router is not None:
            return []
        now = self.clock.now_ns() if now_ns is None else now_ns
        due, gate = self._due(now)
        out: list[Order] = []
        for symbol in due:
            inst = self.instruments.get(symbol)
            settle = None
            if inst.underlying:
                settle = self._at_expiry.get(inst.underlying)
                if settle is None:  # no tick seen before the expiry (restored after it)
                    settle = self.price_stream.last_paise(inst.underlying)
            if settle is None:
                log.warning("%s expired but %s has no price: settlement waits", symbol,
                            inst.underlying)  # fmt: skip
                gate = min(gate, now + 1)
                continue
            for o in list(self._orders.values()):
                if o.symbol == symbol and o.is_open and not o.live:
                    self._cancel(o, now, "contract expired")
            price = settle if inst.kind is InstrumentKind.FUTURE else intrinsic_paise(inst, settle)
            for (sym, product), lots in list(self._positions.items()):
                if sym == symbol and lots.qty:
                    out.append(self._settle(inst, product, lots.qty, price, now))
            self._emit(
                EngineEvent(
                    "contract_expired",
                    now,
                    message=symbol,
                    code="EXPIRED",
                )
            )
        self._expiry_gate = gate
        if due:
            self._flush()
        return out

    def _settle(self, inst: Instrument, product: Product, qty: int, price: int, now: int) -> Order:
        """Close ``qty`` of ``inst`` at ``price`` as an expiry order and fill."""
        order = Order(
            order_id=self._next_id(),
            symbol=inst.symbol,
            side=Side.SELL if qty > 0 else Side.BUY,
            kind=OrderKind.MARKET,
            product=product,
            quantity=abs(qty),
            created_ns=now,
            updated_ns=now,
            source=EXPIRY_SOURCE,
        )
        self._accept(order, now)
        charges = ZERO_CHARGES
        if inst.kind is InstrumentKind.OPTION and qty > 0 and price > 0:
            charges = self._exercise_charges(inst.symbol, qty, price, now)
        self._fill_seq += 1
        fill = Fill(
            fill_id=f"F{self._fill_seq:07d}",
            order_id=order.order_id,
            symbol=inst.symbol,
            side=order.side,
            quantity=order.quantity,
            price_paise=price,
            ts_ns=now,
            product=product,
            role=Role.ENTRY,
            charges=charges,
            trade_id=f"expiry-{order.order_id}",
        )
        self._book_fill(order, fill)
        self._emit(EngineEvent("fill", now, order=order, fill=fill))
        self._emit(EngineEvent("order_filled", now, order=order))
        lots = self._positions[(inst.symbol, product)]
        self._cap_brackets((inst.symbol, product), now)
        view = lots.view(self.price_stream.last_paise(inst.symbol))
        self._emit(EngineEvent("position_closed", now, position=view))
        self.check_daily_loss()
        return order

    def _exercise_charges(self, symbol: str, qty: int, intrinsic: int, now: int) -> Charges:
        from livetrade.fno.charges import IndianFnoCharges

        model = self.charges_model
        fno = model.fno if isinstance(model, IndianEquityCharges) else model
        if not isinstance(fno, IndianFnoCharges):
            return ZERO_CHARGES  # a flat or zero model bills nothing on exercise
        return fno.charge_exercise(symbol, qty, intrinsic, ns_to_datetime(now).date())

    def expired(self) -> list[str]:
        """Derivatives this engine knows that have expired by the clock (to unwatch)."""
        now = self.clock.now_ns()
        out = []
        for inst in self.instruments:
            exp = _expiry_ns(inst)
            if exp is not None and exp <= now:
                out.append(inst.symbol)
        return out

    # ------------------------------------------------------------------ recovery
    def restore_fill(self, fill: Fill) -> None:
        """Recovery: an expiry settlement is booked as billed, outside the day's turnover
        figures (it was never a trade the charges model saw)."""
        order = self._orders[fill.order_id]
        if order.source != EXPIRY_SOURCE:
            super().restore_fill(fill)
            return
        self._book_fill(order, fill)
        self._fill_seq = max(self._fill_seq, _id_number(fill.fill_id))

    def finish_restore(self) -> None:
        super().finish_restore()
        for symbol in {o.symbol for o in self._orders.values()}:
            inst = self.instruments.get(symbol)
            exp = _expiry_ns(inst)
            if exp is not None:
                self._watch_expiry(exp, inst.underlying)


def _child(req: OrderRequest, size: int) -> OrderRequest:
    """One slice of ``req``: the same order for ``size`` units."""
    return OrderRequest(
        req.symbol, req.side, size, req.kind, req.product, req.limit_paise, req.trigger_paise,
        req.stop_loss_paise, req.take_profit_paise, req.tag, req.source, req.instrument, req.amo,
    )  # fmt: skip


__all__ = ["EXPIRY_SOURCE", "Derivatives", "is_derivative"]
