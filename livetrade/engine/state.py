"""The engine's state and its plumbing: cash, orders, positions, listeners, the journal.

What every layer above reads and writes: the wallet, the order and fill ledgers, positions as
FIFO lots, the trigger books, events and their journal, and the figures the risk checks read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from livetrade.brokers.base import Broker, OrderRouter
from livetrade.brokers.paper import PaperBroker
from livetrade.clock import Clock, WallClock
from livetrade.engine.book import _Book, _Lots
from livetrade.engine.events import ChargesRefund, EngineEvent, EventListener, JournalSink
from livetrade.engine.funds import FundsMixin
from livetrade.errors import InvalidInput
from livetrade.events import Event
from livetrade.instruments import InstrumentRegistry
from livetrade.market_hours import MarketHours
from livetrade.model import ExecutedOrder, Fill, KillSwitch, Order, Product, Role, Side
from livetrade.money import ChargesModel, IndianEquityCharges, round_half_up, to_paise
from livetrade.prices import LivePriceStream
from livetrade.risk import BandSource, OrderRateWindow, RiskLimits

if TYPE_CHECKING:
    from livetrade.brokers.paper import Book

log = logging.getLogger("livetrade.engine")


class EngineState(FundsMixin):
    """The state every layer above reads and writes; the layers add behaviour, never state."""

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
        instruments: InstrumentRegistry | None = None,
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
        # lot, tick and tradability of every symbol an order names (cash equities by default)
        self.instruments = instruments if instruments is not None else InstrumentRegistry()
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
        self.event = Event("engine")  # every EngineEvent: engine.event += handler
        self.journal: JournalSink | None = None
        # live: orders go to a broker through the router; fills and states come back from it
        self.router: OrderRouter | None = None
        self._day: date | None = None
        self._day_base = 0  # total P&L (paise) when the day was first seen
        # Set by the session from its live feed's state (engine clock ns; None while live): a
        # feed down longer than limits.max_feed_down_s makes every quote stale at once.
        self.feed_down_since_ns: int | None = None
        self.feed_down_state = ""  # the feed's state as a sentence fragment, for the rejection
        # exchange hours and holidays the risk checks enforce (open_session(respect_calendar=))
        self.calendar: MarketHours | None = None
        # Set by the session: today's circuit limits per symbol (paise), read by the PRICE_BAND
        # check and market protection; None (a bare engine): no band known, no band check.
        self.band_source: BandSource | None = None
        # Set by the session for fills="depth": five-level depth per symbol as (bids, asks) of
        # (price paise, qty), which paper fills walk; None: the touch stands in for the book.
        self.depth_source: Callable[[str], Book | None] | None = None
        # within one tick's matching: each side's levels as [price, qty] left after the fills
        # so far, so two resting orders never take the same liquidity (None between ticks)
        self._tick_depth: dict[tuple[str, Side], list[list[int]]] | None = None
        # paper orders still on their way to the exchange (PaperBroker.latency_ms): id -> the
        # engine-clock ns they arrive; they wait in the buy-stop heap at level 0 (any tick)
        self._in_flight: dict[str, int] = {}

    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every ``EngineEvent`` (synchronously; do not block).
        The same as ``engine.event += listener``."""
        self.event.connect(listener)

    def remove_listener(self, listener: EventListener) -> None:
        self.event.disconnect(listener)

    def _emit(self, event: EngineEvent) -> None:
        if self.journal is not None:
            self.journal.record(event)
        self.event.emit(event)  # a failing handler is logged, never raised into the engine

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

    def _next_id(self) -> str:
        self._seq += 1
        return f"{self._id_prefix}{self._seq:07d}"

    @property
    def order_rate(self) -> OrderRateWindow:
        """Orders accepted in the last minute (the ``RATE_LIMIT`` check reads it)."""
        return self._rate

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

    @property
    def live(self) -> bool:
        """True when orders go to a real broker (a router is attached)."""
        return self.router is not None

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
