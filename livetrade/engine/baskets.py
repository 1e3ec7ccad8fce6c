"""Multi-leg orders: a basket (a straddle, a spread...) placed as one request, per-leg results.

Why a layer of its own: a basket is several ``place`` calls that must not leave a silent
half-fill. The rules (:meth:`Baskets.place_basket`):

1. **Hedges first.** Legs go out buys before sells (the caller's order kept within each side),
   so a spread's long leg is on before its short one and the short gets the hedge's margin.
2. **All or none at the door.** Every leg runs the pre-trade checks against the engine as it is
   before the basket; if any is refused, none is placed and :class:`BasketRejected` (an
   ``OrderRejected`` naming ``legs[i].field``) carries every leg's verdict. Each refusal is
   journaled, nothing else changes.
3. **A leg that fails after others went out** (its checks run again when it is placed, against
   the fills of the legs before it; live, Fyers may refuse it) stops the basket there. With
   ``unwind=True`` (the default) the legs already out are unwound: open remainders cancelled,
   filled quantities closed by a market counter order (``source="basket-unwind"``,
   ``parent_id`` = the leg). With ``unwind=False`` they stay. Either way
   :class:`BasketResult` says exactly which legs are live, filled, refused, unwound.

Every leg's order carries the basket's id (``Order.basket_id``, journaled with the order, so a
restored engine knows its baskets: :meth:`Baskets.basket_orders`). Live, the legs are journaled
PENDING and then sent together through the router's ``place_basket`` (Fyers' multi-order
endpoint, ``LiveRouter.place_basket``), which unwinds the same way when Fyers refuses a leg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from livetrade.engine.events import EngineEvent
from livetrade.engine.trading import Trading
from livetrade.errors import OrderRejected
from livetrade.instruments import InstrumentRegistry
from livetrade.model import Order, OrderKind, Product, Side
from livetrade.request import OrderRequest
from livetrade.risk import first_rejection

MAX_BASKET = 10
"""Legs per basket: Fyers' multi-order endpoint takes at most 10 orders."""

UNWIND_SOURCE = "basket-unwind"


@runtime_checkable
class BasketRouter(Protocol):
    """A live router that can send several orders as one request (``LiveRouter``)."""

    def place_basket(self, orders: list[Order]) -> None: ...


@dataclass(frozen=True, slots=True)
class BasketLegResult:
    """One leg: the order it became (``None`` if it never was), why it was refused, and the
    counter order that unwound what it filled."""

    index: int  # in the caller's list
    request: OrderRequest
    order: Order | None = None
    rejection: OrderRejected | None = None
    unwind: Order | None = None

    @property
    def state(self) -> str:
        """``refused``, ``not placed`` (a leg after the one that failed), ``unwound``, or the
        order's status (``open``, ``pending``, ``filled``, ``cancelled``...)."""
        if self.rejection is not None:
            return "refused"
        if self.order is None:
            return "not placed"
        if self.unwind is not None:
            return "unwound"
        return self.order.status.value.lower()

    @property
    def live(self) -> bool:
        """The leg holds or may still take a position: working, or filled and not unwound."""
        o = self.order
        if o is None or self.unwind is not None:
            return False
        return o.is_open or o.filled_quantity > 0


@dataclass(frozen=True, slots=True)
class BasketResult:
    """What :meth:`Baskets.place_basket` did, leg by leg (in the caller's order)."""

    basket_id: str
    legs: tuple[BasketLegResult, ...]
    sequence: tuple[int, ...]  # the legs' indices in the order they were placed
    failed: int | None = None  # the leg that failed after earlier legs went out
    unwound: bool = False

    @property
    def ok(self) -> bool:
        """Every leg was placed (none refused)."""
        return self.failed is None and all(leg.order is not None for leg in self.legs)

    @property
    def live_legs(self) -> tuple[int, ...]:
        """Indices of the legs that hold (or may still take) a position."""
        return tuple(leg.index for leg in self.legs if leg.live)

    @property
    def orders(self) -> tuple[Order, ...]:
        return tuple(leg.order for leg in self.legs if leg.order is not None)


class BasketRejected(OrderRejected):
    """No leg of the basket was placed: ``legs`` has each leg's verdict (``rejection`` set on
    the refused ones); ``field`` names the first refused leg's field (``legs[1].quantity``)."""

    def __init__(self, first: OrderRejected, legs: tuple[BasketLegResult, ...]) -> None:
        super().__init__(first.code, first.reason, first.field)
        self.legs = legs


def _leg_rejection(rej: OrderRejected, index: int) -> OrderRejected:
    field_ = f"legs[{index}].{rej.field}" if rej.field else f"legs[{index}]"
    return OrderRejected(rej.code, f"Leg {index + 1}: {rej.reason}", field_)


@dataclass
class _BasketCall:
    basket_id: str
    collected: list[Order] = field(default_factory=list)  # live legs, sent together after


class Baskets(Trading):
    """One layer of :class:`~livetrade.engine.LiveTradingEngine` (see the module docstring)."""

    _basket_call: _BasketCall | None = None  # set only while place_basket runs

    def place_basket(
        self, requests: Sequence[OrderRequest], *, origin: str = "", unwind: bool = True
    ) -> BasketResult:
        """Place ``requests`` as one basket (see the module docstring for the rules). Raises
        :class:`BasketRejected` when nothing was placed; otherwise returns the per-leg
        :class:`BasketResult` (``failed`` set if a leg failed after others went out)."""
        now = self.clock.now_ns()
        try:
            self._check_armed()
            reqs = _check_requests(requests)
        except OrderRejected as rej:
            self._refused(rej, now)
            raise
        sequence = sorted(range(len(reqs)), key=lambda i: 0 if reqs[i].side is Side.BUY else 1)
        refusals: dict[int, OrderRejected] = {}
        for i in sequence:
            verdict = first_rejection(reqs[i], self._pre_trade(reqs[i], now), self.pre_trade_checks)
            if verdict is not None:
                refusals[i] = _leg_rejection(verdict, i)
        if refusals:
            for i in sorted(refusals):
                self._emit_refusal(refusals[i], now)
            self._flush()
            legs = tuple(
                BasketLegResult(i, r, rejection=refusals.get(i)) for i, r in enumerate(reqs)
            )
            raise BasketRejected(refusals[min(refusals)], legs)
        call = _BasketCall(f"BK-{self._id_prefix}{self._seq + 1:07d}")
        placed: dict[int, Order] = {}
        failed: int | None = None
        failure: OrderRejected | None = None
        self._basket_call = call
        try:
            for i in sequence:
                try:
                    placed[i] = self.place(reqs[i], origin=origin)
                except OrderRejected as rej:
                    failed, failure = i, _leg_rejection(rej, i)
                    break
        finally:
            self._basket_call = None
        undone: dict[str, Order] = {}
        if failed is not None and placed and unwind:
            why = f"basket {call.basket_id} unwound: leg {failed + 1} was refused"
            self._cancel_legs(list(placed.values()), why)  # live: none of them was sent
            if call.collected:
                call.collected.clear()
            else:
                undone = self.unwind_fills(call.basket_id, why)
        if call.collected:
            router = self.router
            if isinstance(router, BasketRouter):
                router.place_basket(call.collected)
            else:
                for order in call.collected:
                    assert router is not None
                    router.place(order)
        self._flush()
        legs = tuple(
            BasketLegResult(
                i,
                r,
                placed.get(i),
                failure if i == failed else None,
                undone.get(placed[i].order_id) if i in placed else None,
            )
            for i, r in enumerate(reqs)
        )
        return BasketResult(
            call.basket_id, legs, tuple(sequence), failed, bool(failed is not None and unwind)
        )

    def _emit_refusal(self, rejection: OrderRejected, now: int) -> None:
        self._emit(
            EngineEvent("order_rejected", now, message=rejection.reason, code=rejection.code)
        )

    def _accept(self, order: Order, now: int) -> None:
        call = self._basket_call
        if call is not None and order.basket_id is None:
            order.basket_id = call.basket_id
        super()._accept(order, now)

    def _dispatch(self, order: Order, top: tuple[int, int, int, int], now: int) -> None:
        call = self._basket_call
        if call is not None and order.live:  # sent together once every leg is journaled
            call.collected.append(order)
            return
        super()._dispatch(order, top, now)

    def basket_orders(self, basket_id: str) -> list[Order]:
        """The orders of basket ``basket_id``: its legs and their unwinding orders."""
        return [o for o in self._orders.values() if o.basket_id == basket_id]

    def _cancel_legs(self, orders: list[Order], why: str) -> None:
        now = self.clock.now_ns()
        for order in reversed(orders):
            if order.is_open:
                self._cancel(order, now, why)

    def unwind_basket(self, basket_id: str, why: str = "") -> dict[str, Order]:
        """Undo basket ``basket_id``: cancel what its legs still have working and close what
        they filled (:meth:`unwind_fills`). Live, the fills a cancel races with arrive later:
        call :meth:`unwind_fills` again once they are in (``LiveRouter`` does)."""
        why = why or f"basket {basket_id} unwound by the trader"
        legs = [o for o in self.basket_orders(basket_id) if o.source != UNWIND_SOURCE]
        self._cancel_legs(legs, why)
        undone = self.unwind_fills(basket_id, why)
        self._flush()
        return undone

    def unwind_fills(self, basket_id: str, why: str) -> dict[str, Order]:
        """Close what each leg of ``basket_id`` filled and no earlier unwind closed, with a
        market counter order that no limit or kill switch blocks (it only takes off what the
        basket put on). Returns ``{leg order id: counter order}``."""
        orders = self.basket_orders(basket_id)
        closed: dict[str, int] = {}
        for o in orders:
            if o.source == UNWIND_SOURCE and o.parent_id is not None:
                done = o.quantity if o.is_open else o.filled_quantity
                closed[o.parent_id] = closed.get(o.parent_id, 0) + done
        out: dict[str, Order] = {}
        for leg in reversed(orders):
            if leg.source == UNWIND_SOURCE:
                continue
            left = leg.filled_quantity - closed.get(leg.order_id, 0)
            if left <= 0:
                continue
            counter = self._counter_order(leg, left, why)
            if counter is not None:
                out[leg.order_id] = counter
        return out

    def _counter_order(self, leg: Order, quantity: int, why: str) -> Order | None:
        top = self.price_stream.top(leg.symbol)
        now = self.clock.now_ns()
        if top is None and self.router is not None:
            top = (0, 0, 0, now)  # live: the broker prices a market exit
        if top is None:
            return None
        order = Order(
            order_id=self._next_id(),
            symbol=leg.symbol,
            side=Side.SELL if leg.side is Side.BUY else Side.BUY,
            kind=OrderKind.MARKET,
            product=leg.product,
            quantity=quantity,
            created_ns=now,
            updated_ns=now,
            parent_id=leg.order_id,
            source=UNWIND_SOURCE,
            message=why,
            basket_id=leg.basket_id,
        )
        self._accept(order, now)
        Trading._dispatch(self, order, top, now)
        return order


_LEG_KEYS = frozenset(
    {
        "symbol", "side", "quantity", "kind", "product", "limit_price", "trigger_price",
        "stop_loss", "take_profit", "tag",
    }
)  # fmt: skip


def parse_legs(
    legs: Sequence[Mapping[str, Any] | OrderRequest],
    *,
    default_product: Product = Product.INTRADAY,
    instruments: InstrumentRegistry | None = None,
    source: str = "api",
) -> list[OrderRequest]:
    """User input (dicts of ``OrderRequest.parse``'s arguments: ``symbol``, ``side``,
    ``quantity``, ``kind``, ``product``, ``limit_price``...) to requests for
    :meth:`Baskets.place_basket`; a refusal names the leg (``legs[1].limit_price``)."""
    if isinstance(legs, (str, bytes, Mapping)) or not isinstance(legs, Sequence):
        raise OrderRejected("INVALID_BASKET", "A basket is a list of orders.", "legs")
    out: list[OrderRequest] = []
    for i, leg in enumerate(legs):
        if isinstance(leg, OrderRequest):
            out.append(leg)
            continue
        if not isinstance(leg, Mapping):
            raise OrderRejected(
                "INVALID_BASKET", f"Leg {i + 1} is not an order (a dict).", f"legs[{i}]"
            )
        unknown = sorted(set(leg) - _LEG_KEYS)
        if unknown:
            raise OrderRejected(
                "INVALID_BASKET", f"Leg {i + 1} has unknown fields {unknown}.", f"legs[{i}]"
            )
        try:
            out.append(
                OrderRequest.parse(
                    leg.get("symbol"),
                    leg.get("side"),
                    leg.get("quantity"),
                    leg.get("kind", OrderKind.MARKET),
                    product=leg.get("product"),
                    limit_price=leg.get("limit_price"),
                    trigger_price=leg.get("trigger_price"),
                    stop_loss=leg.get("stop_loss"),
                    take_profit=leg.get("take_profit"),
                    tag=leg.get("tag"),
                    source=source,
                    default_product=default_product,
                    instruments=instruments,
                )
            )
        except OrderRejected as rej:
            raise _leg_rejection(rej, i) from None
    return out


def _check_requests(requests: Sequence[OrderRequest]) -> list[OrderRequest]:
    if isinstance(requests, (str, bytes)) or not isinstance(requests, Sequence):
        raise OrderRejected("INVALID_BASKET", "A basket is a list of order requests.", "legs")
    if not 1 <= len(requests) <= MAX_BASKET:
        raise OrderRejected(
            "INVALID_BASKET",
            f"A basket holds 1 to {MAX_BASKET} legs (Fyers' multi-order limit), got "
            f"{len(requests)}.",
            "legs",
        )
    for i, r in enumerate(requests):
        if not isinstance(r, OrderRequest):
            raise OrderRejected(
                "INVALID_BASKET",
                f"Leg {i + 1} is a {type(r).__name__}, not an OrderRequest (OrderRequest.parse).",
                f"legs[{i}]",
            )
    return list(requests)


__all__ = [
    "MAX_BASKET",
    "BasketLegResult",
    "BasketRejected",
    "BasketResult",
    "BasketRouter",
    "parse_legs",
]
