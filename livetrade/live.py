"""Live trading through Fyers: the router that sends a live engine's orders.

Its helpers have their own modules, and every name is still importable from here: read-back
(``sync``, order-book and tradebook rows) in ``livetrade.live_sync``, :func:`reconcile` in
``livetrade.live_reconcile``, baskets and conversion in ``livetrade.live_multi``,
:class:`Shadow` in ``livetrade.shadow``.

The engine stays the one place where positions, cash and charges are kept; in live mode it only
decides *what* to send. :class:`LiveRouter` is the asyncio shell that sends it:

* ``place``/``cancel``/``modify`` (called synchronously by the engine) queue a request; each
  order's requests run in order in their own task (a slow place never delays another order's
  cancel) and are sent only after the engine's call returned, i.e. after the journal holds the
  order. Every order carries the tag ``client_tag(order_id, session)``, so an answer lost to a
  timeout is looked up by tag, never resent blind.
* :meth:`LiveRouter.sync` reads the order book and the tradebook and reports what changed:
  acknowledgements (by tag, for orders whose answer was lost), each new trade once (by trade
  number) as a fill, and cancellations, expiries and rejections. The engine's positions follow
  these broker fills, never a guess. ``poll_interval`` bounds the polling (2 reads per poll,
  well under Fyers' 10/s and 200/min even beside order traffic).
* The kill switch's exits (``kill(flatten=True)``) are one ``DELETE /positions``: Fyers places
  the counter orders itself when its positions are exactly ours, and each of our closing
  orders becomes the counter order found in the order book; anything else (a position that
  differs, a refused or lost exit) goes out as our own tagged market order.
* :func:`reconcile` compares our positions and working orders with Fyers' positions, order book
  and funds as a DataFrame; the session refuses to arm live trading while a blocking difference
  is neither resolved nor accepted.
* :class:`Shadow` runs a paper engine on the same quotes beside the live one, mirrors every live
  entry order into it and reports paper-vs-live price and fill time per order.
* Market protection: a market order goes to Fyers as a limit order at the protected price the
  engine computes when it is sent (LTP ± ``RiskLimits.market_protection_pct`` or Fyers' F&O
  range, capped at the circuit, on the tick: ``LiveTradingEngine.protected_price``). Fyers would
  otherwise convert it to such a limit itself (its MPP, FYSUP what-is-mpp-and-how-does-it-affect-
  trade-execution); pricing it here keeps the cap the same in paper and live, and exchange-
  rules.md §4 asks for limit orders we priced ourselves. Left unfilled, the limit stays pending
  at Fyers ("may remain pending until the price returns within the MPP range", FYSUP); the
  trader cancels it. Without an LTP, or with protection off, it goes as a market order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from livetrade import live_multi, live_sync
from livetrade.errors import AuthError, InvalidInput, LiveTradeError, OrderRejected
from livetrade.events import Event
from livetrade.fyers.broker import (
    BrokerOrder,
    BrokerTrade,
    FyersApiError,
    FyersRestClient,
    SubmitUncertain,
    client_tag,
)
from livetrade.fyers.order_socket import OrderEvent, OrderSocketMessage, TradeEvent
from livetrade.live_reconcile import (  # noqa: F401  (still importable from here)
    Reconciliation,
    _with_holdings,
    reconcile,
)
from livetrade.live_sync import SyncReport
from livetrade.model import (
    KillSwitch,
    Order,
    OrderKind,
    Product,
    Side,
)
from livetrade.money import from_paise

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.engine import Conversion, EngineEvent, LiveTradingEngine

log = logging.getLogger("livetrade.live")

__all__ = [
    "LiveNotArmed",
    "LiveRouter",
    "Reconciliation",
    "Shadow",
    "SyncReport",
    "reconcile",
]


class LiveNotArmed(LiveTradeError):
    """Live trading is not armed: ``session.arm_live(confirm="LIVE")`` first. When the reason is
    a reconciliation difference, ``differences`` is the DataFrame of what differs."""

    def __init__(self, message: str, differences: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.differences = differences


_Op = tuple[str, Any]  # ("place", None) | ("cancel", why) | ("modify", quantity)
_KILL = "kill switch"  # the engine's source for the kill switch's exits


class LiveRouter:
    """Sends a live engine's orders to Fyers and reports back what happened (see the module).

    ``namespace`` (the session name) makes order tags unique per session. ``poll_interval``
    seconds between order-book polls while we have working orders (``idle_interval`` when we
    have none); ``None`` disables the background poll (tests call :meth:`sync`).
    """

    def __init__(
        self,
        engine: LiveTradingEngine,
        client: FyersRestClient,
        *,
        namespace: str = "",
        poll_interval: float | None = 1.0,
        idle_interval: float = 10.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        if poll_interval is not None and not poll_interval >= 0.2:
            raise InvalidInput("poll_interval", "must be at least 0.2 s (Fyers allows 10 req/s)")
        self.engine = engine
        self.client = client
        self.namespace = namespace
        self.poll_interval = poll_interval
        self.idle_interval = idle_interval
        self.error_event = Event("live router error")  # += handler; on_error: single slot
        self.error_event.set(on_error)
        self.armed = False
        self.rejections: dict[str, OrderRejected] = {}  # our order id → why the broker refused
        self._cancelling: set[str] = set()
        self._seen_trades: set[str] = {f.trade_id for f in engine.fills if f.trade_id}
        self._by_broker: dict[str, Order] = {
            o.broker_order_id: o for o in engine.orders if o.live and o.broker_order_id
        }
        # journaled but never acknowledged (e.g. a crash mid-send): found by tag, or not sent
        self.uncertain = {
            o.order_id for o in engine.orders if o.live and o.is_open and not o.broker_order_id
        }
        self._pending_close: dict[str, BrokerOrder] = {}
        self._by_tag: dict[str, Order] = {
            self.tag(o): o for o in engine.orders if o.live and o.is_open and not o.broker_order_id
        }
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._backlog: list[tuple[Order, _Op]] = []
        self.exit_with_fyers = True  # kill-switch exits: Fyers' exit_positions first
        self._exits: list[Order] = []
        self._exit_task: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._sync_lock = asyncio.Lock()
        self.polls = 0
        self.token_halt: KillSwitch | None = None  # the switch before a dead token halted it
        self._halting = False
        engine.router = self
        engine.add_listener(self._on_engine_event)

    def __repr__(self) -> str:
        working = sum(1 for o in self.engine.orders if o.live and o.is_open)
        return (
            f"LiveRouter({'armed' if self.armed else 'not armed'}, working={working}, "
            f"client={self.client!r})"
        )

    def order_for(self, broker_order_id: str) -> Order | None:
        """Our order that Fyers knows as ``broker_order_id`` (None: not ours)."""
        return self._by_broker.get(broker_order_id)

    def tag(self, order: Order) -> str:
        """The Fyers ``orderTag`` of ``order``."""
        return client_tag(order.order_id, self.namespace)

    # ---- the engine's side (synchronous: only queues) ------------------------------------
    def place(self, order: Order) -> None:
        self._by_tag[self.tag(order)] = order  # an update may beat the REST answer
        if order.source == _KILL and self.exit_with_fyers and self._batch_exit(order):
            return
        self._enqueue(order, ("place", None))

    def _batch_exit(self, order: Order) -> bool:
        """Queue a kill-switch exit for one ``exit_positions`` call with the others the same
        kill makes (the engine makes them all before the loop runs the task)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._exits.append(order)
        if self._exit_task is None or self._exit_task.done():
            self._exit_task = loop.create_task(self._flatten(), name="livetrade:live:exit")
            self._exit_task.add_done_callback(self._chain_done)
        self._chains[order.order_id] = self._exit_task  # drain() and later requests wait
        return True

    def place_basket(self, orders: list[Order]) -> None:
        """Send a basket's legs (journaled by ``engine.place_basket``) in one Fyers multi-order
        request; a leg Fyers refuses unwinds the others (``livetrade.live_multi``)."""
        live_multi.queue_basket(self, orders)

    async def convert(
        self,
        symbol: str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
    ) -> Conversion:
        """Convert a position at Fyers (``convert_position``) and book it in the engine only
        once Fyers accepts (``livetrade.live_multi``); refusals raise, nothing is booked."""
        return await live_multi.convert(self, symbol, quantity, from_product, to_product)

    def cancel(self, order: Order, why: str) -> None:
        if order.order_id in self._cancelling:
            return
        self._cancelling.add(order.order_id)
        self._enqueue(order, ("cancel", why))

    def modify(self, order: Order, quantity: int, limit: int | None, trigger: int | None) -> None:
        self._enqueue(order, ("modify", (quantity, limit, trigger)))

    def _enqueue(self, order: Order, op: _Op) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a plain script): sent by the next drain()/start()
            self._backlog.append((order, op))
            return
        prev = self._chains.get(order.order_id)
        task = loop.create_task(self._run(prev, order, op), name=f"livetrade:live:{op[0]}")
        self._chains[order.order_id] = task
        task.add_done_callback(self._chain_done)

    def _chain_done(self, task: asyncio.Task[None]) -> None:
        for order_id, last in list(self._chains.items()):
            if last is task:  # a batched exit is the last task of several orders
                del self._chains[order_id]

    async def _run(self, prev: asyncio.Task[None] | None, order: Order, op: _Op) -> None:
        if prev is not None:
            await asyncio.wait([prev])
        try:
            if op[0] == "place":
                await self._place(order)
            elif op[0] == "cancel":
                await self._cancel(order, str(op[1]))
            else:
                await self._modify(order, *op[1])
        except AuthError as exc:
            self._auth_failed(exc)
        except Exception as exc:  # reported, never lost in a task
            log.exception("live %s of %s failed", op[0], order.order_id)
            self._report(exc)

    def _report(self, exc: BaseException) -> None:
        self.error_event.emit(exc)  # a failing handler is logged, never raised into the router

    @property
    def on_error(self) -> Callable[[BaseException], None] | None:
        """The single-slot spelling of ``error_event`` (assigning replaces every handler)."""
        return self.error_event.first()

    @on_error.setter
    def on_error(self, handler: Callable[[BaseException], None] | None) -> None:
        self.error_event.set(handler)

    def _auth_failed(self, exc: AuthError) -> None:
        """A dead token: nothing more can be sent, so trading halts until a new login
        (:meth:`token_renewed` lifts this halt, and only this one)."""
        engine = self.engine
        if engine.kill_switch is not KillSwitch.HALTED:
            self.token_halt = engine.kill_switch
            self._halting = True
            try:
                engine.set_kill_switch(KillSwitch.HALTED)
            finally:
                self._halting = False
        log.error("Fyers refused the token: live trading halted (%s)", exc)
        self._report(exc)

    def refusal(self) -> OrderRejected | None:
        """A token that Fyers refused (or that expired) halts every new order with its own
        code and the way back, whoever places it."""
        if self.token_halt is None:
            return None
        from livetrade.fyers.credentials import RELOGIN_HINT

        return OrderRejected(
            "TOKEN_EXPIRED",
            f"Live trading is halted: Fyers refused the access token; {RELOGIN_HINT}.",
            "token",
        )

    def token_expired(self, exc: AuthError) -> None:
        """The token's ``exp`` has passed (seen on the session's clock): halt now rather
        than at the next refused request."""
        self._auth_failed(exc)

    def _on_engine_event(self, event: EngineEvent) -> None:
        if event.kind == "kill_switch" and not self._halting:
            self.token_halt = None  # someone else moved the switch: theirs to lift

    def token_renewed(self) -> bool:
        """A new token is in use: lift the halt a dead token caused (never a halt someone
        else set, e.g. the user's or the daily loss limit's) and restart the poll if the
        refusal ended it. Returns True if trading was un-halted."""
        lifted = False
        if self.token_halt is not None and self.engine.kill_switch is KillSwitch.HALTED:
            self._halting = True
            try:
                self.engine.set_kill_switch(self.token_halt)
            finally:
                self._halting = False
            lifted = True
        self.token_halt = None
        if self._poller is not None and self._poller.done():
            self._poller = None
            self.start()
        return lifted

    # ---- the broker's side (async) ---------------------------------------------------------
    async def _flatten(self) -> None:
        """Send the queued kill-switch exits: through Fyers' exit_positions where it can, then
        each one left as our own market order (the per-order fallback)."""
        orders, self._exits = self._exits, []
        try:
            left = await self._exit_at_fyers(orders)
        except AuthError:
            left = orders  # each is then refused with the reason, and trading halts
        except Exception as exc:  # reported; the fallback still sends every exit
            log.exception("exit_positions for the kill switch failed")
            self._report(exc)
            left = orders
        for order in left:
            try:
                await self._place(order)
            except AuthError as exc:
                self._auth_failed(exc)
            except Exception as exc:
                log.exception("live exit of %s failed", order.order_id)
                self._report(exc)

    async def _exit_at_fyers(self, orders: list[Order]) -> list[Order]:
        """One ``DELETE /positions`` for the positions Fyers holds exactly as we do; each of
        ours becomes the counter order Fyers placed (new in the order book, same symbol,
        product, side and quantity). Returns the orders still to send ourselves."""
        todo = {
            f"{o.symbol}-{o.product.value}": o
            for o in orders
            if not o.status.is_terminal
            and o.broker_order_id is None
            and o.order_id not in self._cancelling
        }
        if not todo:
            return orders
        held = {p.position_id: p.net_quantity for p in (await self.client.positions()).positions}
        mine = {
            pid: o
            for pid, o in todo.items()
            if held.get(pid) == (o.quantity if o.side is Side.SELL else -o.quantity)
        }
        if not mine:
            return orders
        before = {row.order_id for row in await self.client.orderbook()}
        try:
            await self.client.exit_positions(sorted(mine))
        except FyersApiError as exc:  # refused or lost: the order book says what happened
            log.warning("exit_positions for the kill switch: %s", exc)
        new = [row for row in await self.client.orderbook() if row.order_id not in before]
        for order in mine.values():
            row = next(
                (
                    r
                    for r in new
                    if (r.symbol, r.product, r.side, r.quantity)
                    == (order.symbol, order.product.value, order.side, order.quantity)
                    and r.order_id not in self._by_broker
                ),
                None,
            )
            if row is None:
                continue
            self._by_tag.pop(self.tag(order), None)
            self._by_broker[row.order_id] = order
            self.engine.broker_ack(order.order_id, row.order_id)
            order.message = "closed by Fyers' exit positions"
        await self.sync()  # the counter orders' fills
        return [o for o in orders if o.broker_order_id is None]

    async def _place(self, order: Order) -> None:
        engine = self.engine
        if order.status.is_terminal or order.broker_order_id is not None:
            return
        if order.order_id in self._cancelling:  # cancelled before it was ever sent
            self._cancelling.discard(order.order_id)
            engine.broker_closed(order.order_id, "cancelled before it was sent")
            return
        try:
            ack = await self.client.place(self._protected(order), namespace=self.namespace)
        except OrderRejected as rej:
            self.rejections[order.order_id] = rej
            self._by_tag.pop(self.tag(order), None)
            engine.broker_rejected(order.order_id, rej.code, rej.reason)
            return
        except AuthError as exc:
            refused = OrderRejected("AUTH", f"Fyers refused the access token: {exc}", "token")
            self.rejections[order.order_id] = refused
            engine.broker_rejected(order.order_id, refused.code, refused.reason)
            raise
        except (SubmitUncertain, FyersApiError) as exc:
            self.uncertain.add(order.order_id)
            order.message = f"sent; Fyers' answer was lost ({exc}); looking for it by tag"
            log.warning("order %s: %s", order.order_id, order.message)
            self._report(exc)
            return
        self._by_tag.pop(self.tag(order), None)
        self._by_broker[ack.order_id] = order
        if order.broker_order_id is None:  # not already adopted from an update
            engine.broker_ack(order.order_id, ack.order_id)
        if order.order_id in self._cancelling:  # a cancel arrived while the place was in flight
            await self._cancel(order, "cancel requested while it was being sent")

    def _protected(self, order: Order) -> Order:
        """What goes to Fyers for ``order``: a market order as a limit order at the protected
        price (see the module docstring); anything else as it is."""
        if order.kind is not OrderKind.MARKET:
            return order
        cap = self.engine.protected_price(order)
        if cap is None:
            return order
        return replace(order, kind=OrderKind.LIMIT, limit_paise=cap)

    async def _cancel(self, order: Order, why: str) -> None:
        engine = self.engine
        if order.status.is_terminal:
            self._cancelling.discard(order.order_id)
            return
        if order.broker_order_id is None:
            if order.order_id in self.uncertain:  # did it reach Fyers? the book decides
                try:
                    found = await self.client.find_by_tag(self.tag(order))
                except FyersApiError as exc:  # cannot tell: keep it; sync() retries by tag
                    self._report(exc)
                    return
                if found is not None:
                    self.apply_order(found)  # adopts it, and re-queues this cancel
                    return
                self.uncertain.discard(order.order_id)
                why = f"{why} (it never reached Fyers)"
            self._cancelling.discard(order.order_id)
            engine.broker_closed(order.order_id, why)
            return
        try:
            await self.client.cancel_order(order.broker_order_id)
        except OrderRejected as rej:  # e.g. it filled first: the next sync brings the truth
            self._cancelling.discard(order.order_id)
            log.warning("cancel of %s refused: %s", order.order_id, rej.reason)
            order.message = f"cancel refused: {rej.reason}"
            await self.sync()
            return
        except FyersApiError as exc:
            self._cancelling.discard(order.order_id)
            order.message = f"cancel not confirmed ({exc}); check the order book"
            self._report(exc)
            return
        self._cancelling.discard(order.order_id)
        await self.sync()  # book any fill that beat the cancel before closing the order
        engine.broker_closed(order.order_id, why)

    async def _modify(
        self, order: Order, quantity: int, limit: int | None, trigger: int | None
    ) -> None:
        if order.status.is_terminal or order.broker_order_id is None:
            return
        try:
            await self.client.modify_order(
                order.broker_order_id,
                kind=order.kind,
                quantity=quantity,
                limit_price=None if limit is None else from_paise(limit),
                trigger_price=None if trigger is None else from_paise(trigger),
            )
        except OrderRejected as rej:
            self.rejections[order.order_id] = rej
            log.warning("change of %s refused: %s", order.order_id, rej.reason)
            self._report(rej)
            return
        except FyersApiError as exc:
            log.warning("change of %s not confirmed: %s", order.order_id, exc)
            self._report(exc)
            return
        self.engine.broker_modified(order.order_id, quantity, limit, trigger)

    # ---- updates (read-back: livetrade.live_sync) -----------------------------------------
    async def sync(self) -> SyncReport:
        """Read the order book and the tradebook once and apply what changed."""
        async with self._sync_lock:
            return await live_sync.sync(self)

    def apply_order(self, row: BrokerOrder, report: SyncReport | None = None) -> None:
        """One order-book row or order-socket update: adopt it by tag if its answer was lost,
        then close ours if Fyers cancelled, expired or rejected it."""
        live_sync.apply_order(self, row, report)

    def apply_trade(self, trade: BrokerTrade, report: SyncReport | None = None) -> None:
        """One tradebook row or order-socket trade: booked once, by trade number."""
        live_sync.apply_trade(self, trade, report)

    def on_socket(self, event: OrderSocketMessage) -> None:
        """An order-socket update (the socket is the fast path; polling the safety net)."""
        if isinstance(event, OrderEvent):
            self.apply_order(event.order)
        elif isinstance(event, TradeEvent):
            self.apply_trade(event.trade)

    async def drain(self) -> None:
        """Wait until every queued place/cancel/modify has been answered."""
        for order, op in self._backlog:
            self._enqueue(order, op)
        self._backlog.clear()
        while self._chains:
            await asyncio.wait(list(self._chains.values()))

    async def settled(self, order: Order) -> Order:
        """Wait for ``order``'s queued requests (its placement) to be answered."""
        task = self._chains.get(order.order_id)
        if task is not None:
            await asyncio.wait([task])
        return order

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the background poll (and send anything queued without a loop)."""
        for order, op in self._backlog:
            self._enqueue(order, op)
        self._backlog.clear()
        if self.poll_interval is not None and self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(
                self._poll(), name="livetrade:live:poll"
            )

    async def _poll(self) -> None:
        assert self.poll_interval is not None
        while True:
            working = any(o.live and o.is_open for o in self.engine.orders)
            await asyncio.sleep(self.poll_interval if working else self.idle_interval)
            try:
                await self.sync()
            except AuthError as exc:
                self._auth_failed(exc)
                return
            except FyersApiError as exc:  # rate limit or an outage: try again next time
                log.warning("order-book poll failed: %s", exc)
            except Exception as exc:
                log.exception("order-book poll failed")
                self._report(exc)

    async def stop(self) -> None:
        """Stop polling and wait for requests in flight (the client stays open)."""
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
        if self._chains:
            await asyncio.wait(list(self._chains.values()), timeout=self.client.timeout * 2)


# ------------------------------------------------------------------------------------ shadow
from livetrade.shadow import Shadow  # noqa: E402  (its own module; still livetrade.live.Shadow)
