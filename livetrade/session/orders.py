"""The notebook's order path: buy, sell, modify, cancel, close a position, the kill switch.

Every order goes through the engine's one entry point (``engine.submit``) with the notebook's
audit origin; a live order then waits for Fyers' answer (:meth:`Orders.settle`). New order
methods belong here.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from livetrade.errors import InvalidInput, LiveTradeError, OrderRejected
from livetrade.model import KillSwitch, Order, OrderKind, OrderStatus, Product, Side
from livetrade.request import OrderRequest
from livetrade.session.core import SessionCore
from livetrade.session.margin_check import check_margin, margin_request

if TYPE_CHECKING:
    from livetrade.engine import BasketResult, Conversion


class Orders(SessionCore):
    """One layer of :class:`~livetrade.session.Session` (see ``livetrade.session.state``)."""

    async def buy(
        self,
        symbol: str,
        quantity: int | None = None,
        *,
        lots: int | None = None,
        order_type: OrderKind | str = OrderKind.MARKET,
        limit_price: object = None,
        trigger_price: object = None,
        product: Product | str | None = None,
        stop_loss: object = None,
        take_profit: object = None,
        tag: str | None = None,
        slice: bool = False,
        amo: bool = False,
    ) -> Order:
        """Place a buy; returns the ``Order`` (filled, or resting). Raises ``OrderRejected``.
        ``quantity`` in units (shares; for F&O a multiple of the lot) or ``lots=`` whole lots
        (``lots=2`` of a NIFTY option is 130 units): exactly one of them. ``slice=True``: above
        the contract's freeze quantity the order is cut into legal slices and the parent is
        returned (its slices: :meth:`children`); without it such an order is refused.
        ``amo=True``: an after-market order, held and sent at the next open (needs
        ``respect_calendar=MarketHours(allow_amo=True)``; paper only).
        Live: returns once Fyers has acknowledged it (a market order's fill is read back)."""
        return await self._order(
            Side.BUY, symbol, quantity, lots, order_type, limit_price, trigger_price, product,
            stop_loss, take_profit, tag, slice, amo,
        )  # fmt: skip

    async def sell(
        self,
        symbol: str,
        quantity: int | None = None,
        *,
        lots: int | None = None,
        order_type: OrderKind | str = OrderKind.MARKET,
        limit_price: object = None,
        trigger_price: object = None,
        product: Product | str | None = None,
        stop_loss: object = None,
        take_profit: object = None,
        tag: str | None = None,
        slice: bool = False,
        amo: bool = False,
    ) -> Order:
        """Place a sell (an INTRADAY or MARGIN sell beyond the position opens a short);
        ``quantity`` or ``lots=``, ``slice=`` and ``amo=`` as for :meth:`buy`."""
        return await self._order(
            Side.SELL, symbol, quantity, lots, order_type, limit_price, trigger_price, product,
            stop_loss, take_profit, tag, slice, amo,
        )  # fmt: skip

    async def _order(
        self,
        side: Side,
        symbol: str,
        quantity: int | None,
        lots: int | None,
        order_type: OrderKind | str,
        limit_price: object,
        trigger_price: object,
        product: Product | str | None,
        stop_loss: object,
        take_profit: object,
        tag: str | None,
        slice: bool,
        amo: bool,
    ) -> Order:
        """:meth:`buy` and :meth:`sell`: units from lots, Fyers' margin asked (live F&O),
        then the engine's one entry point and, live, Fyers' answer."""
        units = self._units(symbol, quantity, lots)
        await check_margin(self, margin_request(
            self, symbol, side, units, order_type, limit_price, trigger_price, product, slice
        ))  # fmt: skip
        return await self._routed(self._submit(
            symbol, side, units, order_type, limit_price,
            trigger_price, product, stop_loss, take_profit, tag, slice, amo,
        ))  # fmt: skip

    def _units(self, symbol: str, quantity: int | None, lots: int | None) -> int:
        """``quantity`` (units) or ``lots`` times the instrument's lot size; a refusal names the
        field and changes nothing (the order never reaches the engine)."""
        self._check_open()
        if (quantity is None) == (lots is None):
            raise OrderRejected(
                "INVALID_QUANTITY",
                "Give either quantity= (units) or lots= (whole lots of the contract), "
                + ("not both." if lots is not None else "one of them."),
                "lots" if lots is not None else "quantity",
            )
        if quantity is not None:
            return quantity  # checked against the lot by OrderRequest.parse
        if isinstance(lots, bool) or not isinstance(lots, int) or lots <= 0:
            raise OrderRejected(
                "INVALID_QUANTITY", f"lots must be a positive whole number, got {lots!r}.", "lots"
            )
        try:
            lot = self.engine.instruments.get(symbol).lot_size
        except InvalidInput:
            return lots  # not a symbol: OrderRequest.parse refuses it with INVALID_SYMBOL
        return lots * lot

    def _submit(
        self,
        symbol: str,
        side: Side,
        quantity: int,
        order_type: OrderKind | str,
        limit_price: object,
        trigger_price: object,
        product: Product | str | None,
        stop_loss: object,
        take_profit: object,
        tag: str | None,
        slice: bool = False,
        amo: bool = False,
    ) -> Order:
        self._check_open()
        return self.engine.submit(
            symbol,
            side,
            quantity,
            order_type,
            product=product,
            limit_price=limit_price,
            trigger_price=trigger_price,
            stop_loss=stop_loss,
            take_profit=take_profit,
            tag=tag,
            source="notebook",
            origin=cell_origin(),
            slice=slice,
            amo=amo,
        )

    async def place_basket(
        self, legs: Sequence[Mapping[str, Any] | OrderRequest], *, unwind: bool = True
    ) -> BasketResult:
        """Place a multi-leg order (a straddle, a spread) as one basket: each leg a dict of
        :meth:`buy`-style fields (``symbol``, ``side``, ``quantity`` or ``lots``, ``kind``,
        ``product``, ``limit_price``...). Every leg is checked first and nothing is placed if
        one is refused (``BasketRejected`` names the leg); buys (hedges) go before sells; a leg
        that fails after others went out unwinds them (``unwind=False`` keeps them) and the
        :class:`~livetrade.engine.BasketResult` says leg by leg what is live. Live: one Fyers
        multi-order request, returned once Fyers has answered every leg."""
        from livetrade.engine.baskets import parse_legs

        self._check_open()
        legs = [self._leg_units(i, leg) for i, leg in enumerate(legs)]
        requests = parse_legs(
            legs,
            default_product=self.engine.default_product,
            instruments=self.engine.instruments,
            source="notebook",
        )
        await check_margin(self, requests)  # live F&O: Fyers' margin first
        result = self.engine.place_basket(requests, origin=cell_origin(), unwind=unwind)
        if self.router is not None:
            for order in result.orders:
                if order.live:
                    await self.router.settled(order)
            await self.router.drain()
            await self._read_back()
        return result

    def _leg_units(self, i: int, leg: Mapping[str, Any] | OrderRequest) -> Any:
        """A leg's ``lots`` as units (``quantity``), as :meth:`buy` takes them."""
        if isinstance(leg, OrderRequest) or not isinstance(leg, Mapping) or "lots" not in leg:
            return leg
        fields = dict(leg)
        try:
            units = self._units(str(fields.get("symbol", "")), fields.pop("quantity", None),
                                fields.pop("lots"))  # fmt: skip
        except OrderRejected as rej:
            raise OrderRejected(rej.code, rej.reason, f"legs[{i}].{rej.field}") from None
        return fields | {"quantity": units}

    def basket_orders(self, basket_id: str) -> list[Order]:
        """The orders of one basket: its legs and any orders that unwound them."""
        return self.engine.basket_orders(basket_id)

    async def convert(
        self,
        symbol: str,
        quantity: int | None = None,
        from_product: Product | str = Product.INTRADAY,
        to_product: Product | str = Product.CNC,
        *,
        lots: int | None = None,
    ) -> Conversion:
        """Move ``quantity`` units (or ``lots=``) of an open position between products:
        INTRADAY ↔ CNC for shares, INTRADAY ↔ MARGIN for F&O. Paper re-bills the charges
        that differ (delivery STT, stamp duty, brokerage: ``engine.convert``); live asks Fyers
        (``convert_position``) and books it only when Fyers accepts. Refusals name the field."""
        self._check_open()
        units = self._units(symbol, quantity, lots)
        if self.router is not None:
            return await self.router.convert(symbol, units, from_product, to_product)
        return self.engine.convert(symbol, units, from_product, to_product)

    def sliced_orders(self) -> list[Order]:
        """Parents of the orders cut at the freeze quantity (``slice=True``)."""
        return self.engine.sliced_orders()

    def children(self, parent_id: str) -> list[Order]:
        """The slices of a sliced order, in the order they were placed."""
        return self.engine.children(parent_id)

    async def cancel_sliced(self, parent_id: str) -> list[Order]:
        """Cancel every slice of a sliced order still working; returns them."""
        self._check_open()
        cancelled = self.engine.cancel_sliced(parent_id)
        if self.router is not None:
            await self.router.drain()
        return cancelled

    async def settle(self, order: Order) -> Order:
        """Live: wait for Fyers' answer on ``order`` just placed through the engine (a refusal
        raises like a paper rejection; a market order's fill is read back). Paper: the order
        as it is. The REST API and the dashboard's ticket place through the engine and call
        this, as ``buy``/``sell`` do."""
        return await self._routed(order)

    async def _routed(self, order: Order) -> Order:
        """Live: wait for Fyers' answer; a refusal raises like a paper rejection would."""
        if self.router is None or not order.live:
            return order
        await self.router.settled(order)
        if order.status is OrderStatus.REJECTED:
            raise self.router.rejections.get(order.order_id) or OrderRejected(
                "BROKER_REJECTED", order.message or "Fyers rejected the order."
            )
        if order.kind is OrderKind.MARKET and order.is_open and order.broker_order_id:
            await self._read_back()  # a market order fills at once: not a stale OPEN
        return order

    async def _read_back(self) -> None:
        """Read Fyers' books once now; a failure is reported, the next poll tries again."""
        assert self.router is not None
        try:
            await self.router.sync()
        except LiveTradeError as exc:
            self._report(exc)

    async def cancel(self, order_id: str | Order) -> Order:
        """Cancel an open order (by id or ``Order``). Raises ``OrderRejected`` if not open.
        Live: returns once Fyers has answered the cancel."""
        self._check_open()
        order = self.engine.cancel(order_id if isinstance(order_id, str) else order_id.order_id)
        if self.router is not None and order.live:
            await self.router.settled(order)
        return order

    async def modify(
        self,
        order_id: str | Order,
        *,
        quantity: int | None = None,
        limit_price: object = None,
        trigger_price: object = None,
    ) -> Order:
        """Change a working order's quantity, limit or trigger (only what is given); a bracket
        leg can be moved too. Raises ``OrderRejected``. Live: returns once Fyers has answered
        (a refusal raises, and the order stays as it was)."""
        self._check_open()
        oid = order_id if isinstance(order_id, str) else order_id.order_id
        order = self.engine.modify(
            oid, quantity=quantity, limit_price=limit_price, trigger_price=trigger_price
        )
        if self.router is not None and order.live:
            before = self.router.rejections.get(oid)
            await self.router.settled(order)
            refused = self.router.rejections.get(oid)
            if refused is not None and refused is not before:
                raise refused
        return order

    async def close_position(
        self, symbol: str, product: Product | str | None = None
    ) -> Order | None:
        """Square off ``symbol`` at market; its bracket legs are cancelled."""
        self._check_open()
        order = self.engine.close_position(symbol, product)
        return order if order is None else await self._routed(order)

    def kill_switch(self, state: KillSwitch | str = KillSwitch.HALTED) -> None:
        """``HALTED`` (default): nothing new; ``REDUCING``: exits only; ``ACTIVE``: normal."""
        self.engine.set_kill_switch(state)

    async def kill(self, flatten: bool = False) -> list[Order]:
        """Emergency stop: HALTED, open entry orders cancelled; ``flatten=True`` also closes every
        position at market (and cancels the stop-loss/take-profit legs). Returns the exits."""
        self._check_open()
        closing = self.engine.kill(flatten)
        if self.router is not None:  # live: every cancel and exit answered before returning
            await self.router.drain()
            if any(o.is_open for o in closing):
                await self._read_back()  # market exits fill at once
        return closing


def cell_origin() -> str:
    """Audit origin of an order placed from a notebook: the cell number and a short hash of the
    cell's code (empty outside IPython). IPython is only consulted if already imported."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return ""
    shell = ipython.get_ipython()
    if shell is None:
        return ""
    inputs = shell.user_ns.get("In") or [""]
    code = inputs[-1] if isinstance(inputs[-1], str) else ""
    digest = hashlib.sha256(code.encode()).hexdigest()[:8]
    return f"cell [{len(inputs) - 1}] #{digest}"
