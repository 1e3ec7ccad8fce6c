"""The session's state and wiring: one config, one feed, one stream, one engine, its events.

The session is one class built in layers, one module each, each adding behaviour and none
adding state (state → core → orders → live → views → :class:`~livetrade.session.Session`):

* ``state``: everything the session holds, built from a :class:`SessionConfig`, and the
  handlers that keep it current (ticks, engine and feed events, the clock-driven guardrails);
* ``core``: lifecycle, market steps, watching symbols, events, the clock-driven guardrails;
* ``orders``: buy, sell, modify, cancel, close, kill (the notebook's order path);
* ``live``: live arming, reconciliation, the Fyers token's day (relogin);
* ``views``: DataFrames, market views, the journal's views, reprs, the API and dashboard.

A new order method belongs in ``orders``, a new view in ``views``, anything about Fyers
accounts in ``live``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from livetrade.brokers.paper import Book, PaperBroker, book_from_depth
from livetrade.clock import Clock, VirtualClock, WallClock
from livetrade.depth import simulated_book
from livetrade.engine import EngineEvent, LiveTradingEngine
from livetrade.errors import AuthError, InvalidInput, LiveTradeError, SessionClosed
from livetrade.events import Event
from livetrade.feeds.replay import ReplayFeed
from livetrade.feeds.simulated import SimulatedMarket
from livetrade.history import MarketData
from livetrade.instruments import InstrumentRegistry
from livetrade.journal import Journal, restore
from livetrade.market_hours import MarketHours, default_hours
from livetrade.marketview import MarketView
from livetrade.model import Product, ns_to_datetime
from livetrade.money import ChargesModel, IndianEquityCharges, from_paise, to_paise
from livetrade.prices import LivePriceStream
from livetrade.session.config import DEFAULT_START, SessionConfig
from livetrade.session.feeds import (
    FyersSource,
    HubSource,
    MarketFeed,
    ReplaySource,
    SimSource,
    build_feed,
)

if TYPE_CHECKING:
    from livetrade.api import ApiServer
    from livetrade.feeds.sim_derivatives import SimDerivatives
    from livetrade.fyers.broker import FyersRestClient
    from livetrade.fyers.credentials import TokenWatch
    from livetrade.fyers.feed import FyersFeed
    from livetrade.fyers.order_socket import FyersOrderSocket
    from livetrade.fyers.stream import FeedState
    from livetrade.hub.client import HubFeed, HubFeedState
    from livetrade.live import LiveRouter, Reconciliation, Shadow
    from livetrade.session.opening import Session

log = logging.getLogger("livetrade.session")

_SESSIONS: dict[str, Session] = {}
"""The open sessions by name (``get_session``); a session leaves it when it closes."""


class SessionState:
    """One layer of :class:`~livetrade.session.Session` (see the module docstring).

    ``config``: what was asked (:class:`SessionConfig`). ``source``: the feed object
    (:class:`~livetrade.session.feeds.MarketFeed`); ``feed`` its name, and ``market``,
    ``replay``, ``fyers_feed``, ``hub_feed``, ``live_feed`` the wrapped feed of that kind or
    None: views of ``source`` for the readers that always had them, computed once (the source
    never changes; a test may still stand in for one).
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        journal: Journal | None = None,
        live_client: FyersRestClient | None = None,
        order_socket: FyersOrderSocket | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.square_off = config.square_off_time
        self._squared_off: date | None = None
        self.journal = journal
        wallet_balance = self._journal_wallet(config.wallet, "fyers" if live_client else "paper")
        self.realtime = config.realtime
        self.tick_interval = config.tick_interval
        self.speed = config.speed
        self.closed = False
        start = config.start if config.start is not None else DEFAULT_START
        self.clock: Clock = WallClock() if config.realtime else VirtualClock(start)
        self.stream = LivePriceStream(history=config.history)
        charges = config.charges_model()
        self.engine = LiveTradingEngine(
            wallet_balance,
            self.stream,
            broker=self._paper_broker(),
            charges=charges,
            limits=config.limits,
            clock=self.clock,
            default_product=config.product,
            instruments=InstrumentRegistry(tick_by_price=config.tick_by_price),
        )
        self.error_event = Event("error")
        self.quote_event = Event("quote", self._report)
        self.order_event = Event("order", self._report)
        self.fill_event = Event("fill", self._report)
        self.position_event = Event("position", self._report)
        self.stream.on_error = self._report
        self.feed_event = Event("feed", self._report)
        self.token_warning = timedelta(minutes=30)  # how long before the token's expiry to warn
        self._token_watch: TokenWatch | None = None
        self.token_notice: LiveTradeError | None = None  # the token's last warning or expiry
        self.source: MarketFeed = build_feed(config, self.stream, self.clock)
        self._quotes_step = self.source.live  # no market steps: quotes drive run_for
        self.source.on_state.append(self._on_feed_state)
        self.source.on_state.append(self.feed_event.emit)
        self.source.on_error.append(self._report)
        calendar = config.calendar  # one MarketHours for the engine and the derivatives
        self.derivatives: SimDerivatives | None = None  # listed before a journal replays orders
        if config.derivatives:
            self._list_derivatives(charges, calendar)
        self._pnl: deque[tuple[int, int, int, int, int, int]] = deque(maxlen=200_000)
        self._last_sample_ns = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._api_servers: list[ApiServer] = []
        self._steps = 0
        self._step_signal: asyncio.Event | None = None
        self.restored = False
        if journal is not None:
            self._restore(journal)
        self.router: LiveRouter | None = None
        self.order_socket: FyersOrderSocket | None = None
        self.shadow: Shadow | None = None
        self.reconciliation: Reconciliation | None = None
        if live_client is not None:
            self._wire_live(live_client, order_socket, charges)
        self.bar_event = Event("bar", self._report)  # a closed candle (livetrade.bars.Bar)
        session = cast("Session", self)  # every layer is built as part of a Session
        self.market_data = MarketData(session)  # candles and their history (livetrade.history)
        self.market_view = MarketView(session)  # depth, day statistics, opening quotes
        self.engine.add_listener(self._on_engine_event)
        self.stream.add_listener(self._on_tick)
        self.calendar = self.engine.calendar = calendar  # None: hours not enforced
        self.engine.band_source = self._circuit_band  # PRICE_BAND, market protection's cap
        if config.fills == "depth":
            self.engine.depth_source = self._depth_book
        if (
            calendar is not None
            and self.market is not None
            and isinstance(self.clock, VirtualClock)
        ):
            self.clock.set(calendar.next_trading_ns(self.clock.now_ns()))  # start at an open

    # ------------------------------------------------------------------ the feed, by kind
    @property
    def feed(self) -> str:
        """The feed's name: ``"sim"``, ``"replay"``, ``"fyers"`` or ``"hub"``."""
        return self.source.name

    @cached_property
    def market(self) -> SimulatedMarket | None:
        """The simulated market (``feed="sim"``), else None."""
        src = self.source
        return src.market if isinstance(src, SimSource) else None

    @cached_property
    def replay(self) -> ReplayFeed | None:
        """The replayed quotes (``feed="replay"``), else None."""
        src = self.source
        return src.replay if isinstance(src, ReplaySource) else None

    @cached_property
    def fyers_feed(self) -> FyersFeed | None:
        """Fyers' data socket feed (``feed="fyers"``), else None."""
        src = self.source
        return src.feed if isinstance(src, FyersSource) else None

    @cached_property
    def hub_feed(self) -> HubFeed | None:
        """The hub's feed (``feed="hub"``), else None."""
        src = self.source
        return src.feed if isinstance(src, HubSource) else None

    @cached_property
    def live_feed(self) -> FyersFeed | HubFeed | None:
        """The feed with its own connection (Fyers or hub), else None."""
        return self.fyers_feed or self.hub_feed

    # ------------------------------------------------------------------ building
    def _journal_wallet(self, wallet: Any, kind: str) -> Any:
        """Record this session's config in a new journal, or check a continued one: paper and
        live books never mix, and the wallet is the one the journal was first opened with."""
        journal, name = self.journal, self.name
        if journal is None:
            return wallet
        config = journal.get_meta("config")
        if config is None:
            journal.set_meta(
                "config",
                {
                    "wallet_paise": to_paise(wallet, "wallet_balance"),
                    "feed": self.config.feed,
                    "broker": kind,
                },
            )
        elif config.get("broker", "paper") != kind:
            raise LiveTradeError(
                f"session {name!r} has a {config.get('broker', 'paper')} journal; a "
                f"{kind} session cannot continue it (paper and live books never mix): "
                "open it under another name"
            )
        elif config["wallet_paise"] != to_paise(wallet, "wallet_balance"):
            log.warning(
                "session %r continues its journal: wallet starts at ₹%s as first opened",
                name,
                from_paise(config["wallet_paise"]),
            )
            return from_paise(config["wallet_paise"])
        return wallet

    def _paper_broker(self) -> PaperBroker:
        """The session's fill model; the shadow engine gets the same one (latency included),
        so its report measures that model against Fyers' fills."""
        c = self.config
        return PaperBroker(
            c.slippage_bps, fills=c.fills, slippage_ticks=c.slippage_ticks, latency_ms=c.latency_ms
        )

    def _wire_live(
        self,
        client: FyersRestClient,
        order_socket: FyersOrderSocket | None,
        charges: ChargesModel,
    ) -> None:
        """A live session: the router to Fyers, its order socket, and the shadow paper engine."""
        from livetrade.live import LiveRouter, Shadow

        router = self.router = LiveRouter(
            self.engine,
            client,
            namespace=self.name,
            poll_interval=self.config.poll_interval,
            on_error=self._report,
        )
        if order_socket is not None:
            self.order_socket = order_socket
            order_socket.on_event = router.on_socket
            order_socket.on_connect = self._order_socket_connected
            order_socket.on_error = self._order_socket_failed
        if self.config.shadow:
            self.shadow = Shadow(
                self.engine,
                LiveTradingEngine(
                    from_paise(self.engine.initial_paise),
                    self.stream,
                    broker=self._paper_broker(),
                    charges=type(charges)(),
                    clock=self.clock,
                    default_product=self.config.product,
                    id_prefix="SH",
                ),
            )

    def _list_derivatives(self, charges: ChargesModel, calendar: MarketHours | None) -> None:
        """``derivatives=True``: NIFTY futures and options on the simulated market, registered in
        the engine's instruments (which the India charges model then reads)."""
        from livetrade.feeds.sim_derivatives import SimDerivatives

        assert self.market is not None  # SessionConfig checked feed="sim"
        self.derivatives = SimDerivatives(
            self.market,
            self.engine.instruments,
            self.clock.now_ns(),
            hours=calendar or default_hours(),
        )
        if isinstance(charges, IndianEquityCharges) and charges.instruments is None:
            charges.instruments = self.engine.instruments

    def _restore(self, journal: Journal) -> None:
        records = list(journal.records())
        if records and self.derivatives is not None:  # contracts that expired since
            for rec in records:
                symbol = rec.data.get("symbol") if rec.kind.startswith("order") else None
                if isinstance(symbol, str) and symbol not in self.engine.instruments:
                    self.derivatives.register_symbol(symbol)
        if records:
            last_ts = restore(self.engine, records, journal.path)
            self.restored = True
            if isinstance(self.clock, VirtualClock) and last_ts > self.clock.now_ns():
                self.clock.set(last_ts)
            market = self.market
            if market is not None:  # the simulated market resumes from the last fills
                for fill in self.engine.fills:
                    if self.derivatives is not None and (
                        fill.symbol in self.derivatives
                        or self.engine.instruments.get(fill.symbol).underlying is not None
                    ):  # priced from the index (or expired), not a walk of its own
                        continue
                    market.add_symbol(fill.symbol, from_paise(fill.price_paise))
                    market.set_price(fill.symbol, fill.price_paise)
        journal.attach(self.engine)

    # ------------------------------------------------------------------ engine sources
    def _circuit_band(self, symbol: str) -> tuple[int, int] | None:
        """Today's circuit limits of ``symbol`` in paise (from :meth:`day_stats`), or None."""
        try:
            stats = self.market_view.day_stats(symbol)
        except InvalidInput:
            return None
        if stats.lower_circuit is None or stats.upper_circuit is None:
            return None
        return to_paise(stats.lower_circuit), to_paise(stats.upper_circuit)

    def _depth_book(self, symbol: str) -> Book | None:
        """:meth:`depth` in paise for the paper fills="depth" model (None where there is none);
        the simulated book straight from its record, without the Decimal round trip."""
        market = self.market
        if market is not None:
            top = self.stream.top(symbol)
            if top is None or symbol.upper().endswith("-INDEX"):
                return None
            bid, ask, _, ts_ns = top
            return simulated_book(market.seed, symbol, bid, ask, ts_ns)
        try:
            depth = self.market_view.depth(symbol)
        except InvalidInput:
            return None
        return None if depth is None else book_from_depth(depth)

    # ------------------------------------------------------------------ events plumbing
    def _on_feed_state(self, state: FeedState | HubFeedState) -> None:
        """Tell the engine since when the live feed has been down (its ``STALE_QUOTE`` check
        stays synchronous and cheap: two attributes, read on the engine's own clock)."""
        engine = self.engine
        if state.status == "live":
            engine.feed_down_since_ns = None
            engine.feed_down_state = ""
            return
        if engine.feed_down_since_ns is None:
            engine.feed_down_since_ns = engine.clock.now_ns()
        engine.feed_down_state = f"{self.feed} feed {state}"

    def _on_tick(self, symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        if self._quotes_step:  # no market steps: quotes drive sampling and run_for
            self._steps += 1
            self._sample()
            if self._step_signal is not None:
                self._step_signal.set()
        if self.quote_event._handlers:
            q = self.stream.quote(symbol)
            if q is not None:
                self.quote_event.emit(q)

    def _on_engine_event(self, event: EngineEvent) -> None:
        kind = event.kind
        if kind == "fill":
            assert event.fill is not None
            self.fill_event.emit(event.fill)
            self._sample(force=True)
        elif kind.startswith("order_"):
            self.order_event.emit(event)
        elif kind.startswith("position_"):
            self.position_event.emit(event)
        elif kind == "contract_expired":
            self._contract_expired(event.message)

    def _contract_expired(self, symbol: str) -> None:
        """A settled contract leaves the watch list (a live feed unsubscribes it; the
        simulated chain stops quoting it at its expiry and lists the next weekly)."""
        if self.source.live and symbol in self.source.symbols:
            self._spawn(self.source.unwatch([symbol]), "unwatch-expired")
        elif self.derivatives is not None:
            self.derivatives.list_contracts(self.clock.now_ns())
        self.position_event.emit(EngineEvent("position_expired", self.clock.now_ns(),
                                             message=symbol))  # fmt: skip

    def _order_socket_connected(self) -> None:
        """(Re)connected: read the books once for anything sent while the socket was down."""
        if self.router is not None and not self.closed:
            self._spawn(self.router.sync(), "order-sync")

    def _order_socket_failed(self, exc: BaseException) -> None:
        if isinstance(exc, AuthError) and self.router is not None:
            self.router._auth_failed(exc)  # a dead token: halt, as a refused order would
        else:
            self._report(exc)

    # ------------------------------------------------------------------ clock-driven guardrails
    def _sample(self, force: bool = False) -> None:
        now = self.clock.now_ns()
        if not force and now - self._last_sample_ns < 1_000_000_000 and self._pnl:
            return
        if not force:  # once a second of market time: the clock-driven guardrails
            self.engine.check_daily_loss()
            self._check_square_off(now)
            self._check_token(now)
        p = self.engine.pnl_paise()
        self._pnl.append(
            (now, p["cash"], p["market_value"], p["gross_realized"], p["unrealized"], p["charges"])
        )
        self._last_sample_ns = now

    def _check_square_off(self, now_ns: int) -> None:
        if self.square_off is None:
            return
        ts = ns_to_datetime(now_ns)
        if ts.time() >= self.square_off and self._squared_off != ts.date():
            self._squared_off = ts.date()
            closed = self.engine.square_off(Product.INTRADAY)
            if closed:
                log.info("square-off at %s closed %d intraday positions", ts, len(closed))

    @property
    def token_expires_at(self) -> datetime | None:
        """When the Fyers access token in use expires (IST), or None without Fyers."""
        if self.router is not None:
            return self.router.client.token.expires_at
        if self.fyers_feed is not None:
            return self.fyers_feed.config.expires
        return None

    def _check_token(self, now_ns: int) -> None:
        """``token_warning`` before the expiry: a ``TokenExpiring`` on ``error_event`` and
        ``feed_event``; at the expiry: live orders halt (``TokenExpired``). Each once per
        token, on the session's clock."""
        from livetrade.fyers.credentials import TokenExpiring, TokenWatch

        expires = self.token_expires_at
        if expires is None:
            return
        watch = self._token_watch
        if watch is None or watch.expires_at != expires:
            app = self.router.client.app_id if self.router is not None else None
            watch = self._token_watch = TokenWatch(expires, app)
        notice = watch.check(now_ns / 1e9, self.token_warning)
        if notice is not None:
            self.token_notice = notice  # for a dashboard, or a handler attached later
        if isinstance(notice, TokenExpiring):
            log.warning("%s", notice)
            self._report(notice)
            self.feed_event.emit(notice)
        elif notice is not None:
            log.error("%s", notice)
            if self.router is not None:
                self.router.token_expired(notice)  # halts; reported on error_event
            else:
                self._report(notice)
            self.feed_event.emit(notice)

    # ------------------------------------------------------------------ shared by the layers
    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosed(f"session {self.name!r} is closed; open a new one")

    def _report(self, exc: BaseException) -> None:
        self.error_event.emit(exc)

    def _spawn(self, coro: Any, label: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"livetrade:{self.name}:{label}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            self._report(exc)
