"""Session: wires feed → stream → engine → broker inside the running event loop.

In a notebook (the kernel's own loop, top-level ``await``, no nest_asyncio)::

    session = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False)
    await session.run_for(ticks=1_000)
    order = await session.buy("NSE:SBIN-EQ", 5, stop_loss=790, take_profit=820)
    session.positions_df()
    await session.close()

The one rule: handlers run in the event loop; they must not block (no ``time.sleep``, no
synchronous HTTP). Async handlers are scheduled as tasks.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from livetrade.brokers.paper import (
    Book,
    FillModel,
    PaperBroker,
    book_from_depth,
    book_from_record,
)
from livetrade.clock import Clock, VirtualClock, WallClock
from livetrade.depth import simulated_levels
from livetrade.engine import EngineEvent, LiveTradingEngine
from livetrade.errors import (
    AuthError,
    FeedDisconnected,
    InvalidInput,
    LiveTradeError,
    OrderRejected,
    SessionClosed,
)
from livetrade.events import Event as Event  # re-exported: `from livetrade.session import Event`
from livetrade.feeds.replay import ReplayFeed
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, SimulatedMarket
from livetrade.fmt import inr
from livetrade.frames import orders_html, positions_html
from livetrade.history import MarketData
from livetrade.journal import (
    Journal,
    JournalSummary,
    ReplayReport,
    default_dir,
    replay,
    restore,
)
from livetrade.market_hours import MarketHours, MarketStatus, default_hours
from livetrade.marketview import MarketView
from livetrade.model import (
    IST,
    Fill,
    KillSwitch,
    Order,
    OrderKind,
    OrderStatus,
    Product,
    Side,
    check_symbol,
    ns_to_datetime,
)
from livetrade.money import (
    ChargesModel,
    FlatCommission,
    IndianEquityCharges,
    NoCharges,
    from_paise,
    to_paise,
)
from livetrade.prices import LivePriceStream
from livetrade.risk import RiskLimits

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.api import ApiServer
    from livetrade.depth import DayStats, Depth
    from livetrade.feeds.sim_derivatives import SimDerivatives
    from livetrade.fyers.broker import FyersRestClient
    from livetrade.fyers.credentials import FyersConfig, TokenWatch
    from livetrade.fyers.feed import FyersFeed
    from livetrade.fyers.order_socket import FyersOrderSocket
    from livetrade.fyers.stream import FeedState
    from livetrade.governor import GovernorStats
    from livetrade.hub.client import HubFeed, HubFeedState
    from livetrade.live import LiveRouter, Reconciliation, Shadow
    from livetrade.ui.dashboard import Dashboard

log = logging.getLogger("livetrade.session")

DEFAULT_START = datetime(2025, 6, 2, 9, 15, tzinfo=IST)  # a Monday; charges use 2025 rates


_SESSIONS: dict[str, Session] = {}


def _charges_model(charges: str | ChargesModel) -> ChargesModel:
    if not isinstance(charges, str):
        return charges
    models: dict[str, Callable[[], ChargesModel]] = {
        "india": IndianEquityCharges,
        "flat": FlatCommission,
        "none": NoCharges,
    }
    if charges not in models:
        raise InvalidInput("charges", f"{charges!r} is not one of {', '.join(models)}")
    return models[charges]()


async def open_session(
    feed: str = "sim",
    broker: str = "paper",
    *,
    name: str = "default",
    seed: int | None = None,
    realtime: bool = True,
    symbols: dict[str, Decimal] | list[str] | None = None,
    wallet_balance: Decimal | int | str | None = None,
    start: datetime | None = None,
    tick_interval: float = 1.0,
    speed: float = 1.0,
    charges: str | ChargesModel = "india",
    limits: RiskLimits | None = None,
    slippage_bps: int = 0,
    fills: FillModel = "touch",
    slippage_ticks: int = 0,
    latency_ms: int = 0,
    replay: pd.DataFrame | str | None = None,
    history: int = 100_000,
    default_product: Product | str = Product.INTRADAY,
    journal: bool = True,
    journal_dir: str | Path | None = None,
    fyers: FyersConfig | None = None,
    hub: str | None = None,
    square_off: str | EllipsisType | None = ...,
    live: bool = False,
    shadow: bool = False,
    fyers_client: FyersRestClient | None = None,
    poll_interval: float | None = 1.0,
    order_updates: str = "socket",
    respect_calendar: bool | MarketHours = False,
    derivatives: bool = False,
) -> Session:
    """Open (or reopen) the session ``name`` in the running event loop.

    ``feed``: ``"sim"`` (seeded random walk over ``symbols``), ``"replay"`` (``replay=`` a
    DataFrame or CSV) or ``"fyers"`` (real quotes from the Fyers data socket; ``fyers=`` a
    ``FyersConfig``, else the token from ``FYERS_ACCESS_TOKEN`` or the token file; paper fills
    unless a live broker is chosen), or ``"hub"`` (quotes from a ``livetrade hub`` over Redis
    Streams; ``hub="redis://host:6379/0"``). Fyers and hub sessions run on the wall clock.
    ``realtime=False`` runs on a virtual clock that only moves in ``run_for``, so the same
    ``seed`` gives the same ticks and fills. ``realtime=True`` paces one market step every
    ``tick_interval / speed`` wall seconds in a background task.
    Re-running the cell closes the previous session of the same name first.

    ``square_off="HH:MM"`` (IST) closes INTRADAY positions and cancels their orders once a day
    at that time; the default is "15:15" on the Fyers feed and off on simulated markets (whose
    hours are fiction). ``limits=RiskLimits(daily_loss_limit=...)`` halts trading on a bad day.

    ``journal=True`` (default) keeps every order and fill in ``journal_dir/<name>.sqlite``
    (default dir: ``$LIVETRADE_DATA_DIR`` or ``~/.local/share/livetrade``), written before any
    order is acknowledged; opening the same name again restores cash, positions, open orders and
    brackets exactly. ``journal=False`` is the opt-out for throwaway sessions.

    Live orders: ``broker="fyers", live=True`` sends orders to Fyers (``fyers=`` a
    ``FyersConfig``; ``fyers_client=`` an already built ``FyersRestClient``). Opening
    reconciles with Fyers' positions, order book and funds (``session.reconciliation``); no
    order leaves until ``await session.arm_live(confirm="LIVE")`` in this session. Fills,
    cancels and rejections arrive on Fyers' order socket (``order_updates="socket"``, the
    default, when a ``FyersConfig`` gives its URL) and are checked against the order book and
    tradebook, polled every ``poll_interval`` s while orders are working (``None``: never).
    ``shadow=True`` runs a paper engine on the same orders beside it
    (``session.shadow_df()``: paper-vs-live slippage and fill time).

    ``respect_calendar=True`` (or a ``MarketHours(...)``) enforces NSE/BSE hours and holidays
    (``livetrade.market_hours``): orders outside the session are refused with the next open,
    and a simulated market on the virtual clock jumps over closed time. Off by default: the
    simulated market's hours are fiction, and Fyers refuses out-of-hours orders itself.

    ``fills="touch"`` (default) fills paper orders in full at the touch; ``fills="depth"``
    walks the five depth levels of ``session.depth`` (partial fills when the book is thin; a
    market order's rest is cancelled, a limit's rests; a resting limit fills only once the book
    trades through its price), worse by ``slippage_ticks`` ticks. ``latency_ms=N``: paper
    market and limit orders meet the book on the first tick N ms after they are placed. Either
    way limit and trigger prices outside the day's circuit limits are refused (``PRICE_BAND``)
    and market orders are capped at the protected price (``RiskLimits.market_protection_pct``;
    livetrade.risk).

    ``derivatives=True`` (simulated market only) lists NIFTY futures and weekly/monthly options
    on ``NSE:NIFTY50-INDEX`` with Fyers' tickers, priced from the index (Black-76 with a smile,
    cost of carry) and quoted with it: ``session.derivatives`` (livetrade.feeds.sim_derivatives).
    """
    if feed not in ("sim", "replay", "fyers", "hub"):
        raise LiveTradeError(f"feed={feed!r} is not one of 'sim', 'replay', 'fyers', 'hub'.")
    if feed in ("fyers", "hub") and not realtime:
        raise InvalidInput("realtime", f"a {feed} feed runs on the wall clock (realtime=True)")
    if feed == "hub" and not hub:
        raise InvalidInput("hub", "feed='hub' needs hub='redis://host:port/db'")
    if broker not in ("paper", "fyers"):
        raise InvalidInput("broker", f"{broker!r} is not 'paper' or 'fyers'")
    if broker == "fyers" and not live:
        raise InvalidInput(
            "live",
            "broker='fyers' sends real orders with real money: say so with live=True "
            "(and then arm the session with session.arm_live(confirm='LIVE'))",
        )
    if live and broker != "fyers":
        raise InvalidInput("broker", "live=True needs broker='fyers'")
    if shadow and not live:
        raise InvalidInput("shadow", "shadow mode runs paper beside live: it needs live=True")
    if order_updates not in ("socket", "poll"):
        raise InvalidInput("order_updates", f"{order_updates!r} is not 'socket' or 'poll'")
    if not tick_interval > 0 or not speed > 0:
        raise InvalidInput("tick_interval", "tick_interval and speed must be positive")
    old = _SESSIONS.get(name)
    if old is not None and not old.closed:
        await old.close()
    cfg = fyers
    if live and cfg is None and fyers_client is None:  # the token file is read once
        from livetrade.fyers.credentials import FyersConfig

        cfg = FyersConfig.load()
    jrnl: Journal | None = None
    if journal:
        jrnl = Journal(Path(journal_dir or default_dir()) / f"{name}.sqlite")
    try:
        session = Session(
            name=name,
            feed=feed,
            seed=seed,
            realtime=realtime,
            symbols=symbols,
            wallet_balance=Decimal("1000000") if wallet_balance is None else wallet_balance,
            start=start,
            tick_interval=tick_interval,
            speed=speed,
            charges=_charges_model(charges),
            limits=limits,
            slippage_bps=slippage_bps,
            fills=fills,
            slippage_ticks=slippage_ticks,
            latency_ms=latency_ms,
            replay=replay,
            history=history,
            default_product=Product(default_product)
            if isinstance(default_product, str)
            else default_product,
            journal=jrnl,
            fyers=fyers,
            hub=hub,
            square_off=("15:15" if feed == "fyers" or live else None)
            if square_off is ...
            else square_off,
            live_client=_live_client(cfg, fyers_client, feed) if live else None,
            order_socket=_order_socket(cfg) if live and order_updates == "socket" else None,
            shadow=shadow,
            poll_interval=poll_interval,
            calendar=MarketHours() if respect_calendar is True else respect_calendar or None,
            derivatives=derivatives,
        )
    except BaseException:
        if jrnl is not None:
            jrnl.close()
        raise
    _SESSIONS[name] = session
    session._start()
    if session.live_feed is not None or session.router is not None:
        try:
            if session.live_feed is not None:
                await session.live_feed.start()
            if session.router is not None:
                await session._open_live(wallet_given=wallet_balance is not None)
        except BaseException:
            await session.close()
            raise
    return session


def _order_socket(cfg: FyersConfig | None) -> FyersOrderSocket | None:
    """The order socket of a live session (``None`` when only a client was given: polling)."""
    from livetrade.fyers.order_socket import FyersOrderSocket
    from livetrade.fyers.symbols import split_access_token

    if cfg is None:
        return None
    app, jwt = split_access_token(cfg.access_token.strip())
    app_id = cfg.app_id or app
    if app_id is None:
        raise InvalidInput("fyers", "the order socket needs the app id (APP_ID:token)")
    return FyersOrderSocket(f"{app_id}:{jwt}", url=cfg.order_ws_url)


def _live_client(
    cfg: FyersConfig | None, client: FyersRestClient | None, feed: str
) -> FyersRestClient:
    """The trading REST client of a live session (its token is checked before any use). Real
    orders are priced and risk-checked against real quotes: a simulated or replayed market is
    only allowed against a local (loopback) fake Fyers."""
    from livetrade.fyers.broker import FyersRestClient
    from livetrade.fyers.rest import is_loopback

    if client is None:
        assert cfg is not None  # open_session loads it when no client is given
        client = FyersRestClient(
            cfg.access_token, app_id=cfg.app_id, base_url=cfg.api_url, timeout=cfg.rest_timeout
        )
    if feed in ("sim", "replay") and not is_loopback(client.base_url):
        raise InvalidInput(
            "feed",
            f"live orders to {client.base_url} need real quotes: feed='fyers' or 'hub', not "
            f"{feed!r} (simulated prices are for a local fake Fyers only)",
        )
    return client


class Session:
    """A trading session: one stream, one engine, one feed, its tasks and its events.

    Events (subscribe with ``+=``): ``quote_event(PriceQuote)``, ``order_event(EngineEvent)``
    for accepted/rejected/triggered/filled/cancelled, ``fill_event(Fill)``,
    ``position_event(EngineEvent)`` for opened/changed/closed, ``error_event(exception)``.
    """

    def __init__(
        self,
        *,
        name: str,
        feed: str,
        seed: int | None,
        realtime: bool,
        symbols: dict[str, Decimal] | list[str] | None,
        wallet_balance: Decimal | int | str,
        start: datetime | None,
        tick_interval: float,
        speed: float,
        charges: ChargesModel,
        limits: RiskLimits | None,
        slippage_bps: int,
        replay: pd.DataFrame | str | None,
        fills: FillModel = "touch",
        slippage_ticks: int = 0,
        latency_ms: int = 0,
        history: int,
        default_product: Product,
        journal: Journal | None = None,
        fyers: FyersConfig | None = None,
        hub: str | None = None,
        square_off: str | None = None,
        live_client: FyersRestClient | None = None,
        order_socket: FyersOrderSocket | None = None,
        shadow: bool = False,
        poll_interval: float | None = 1.0,
        calendar: MarketHours | None = None,
        derivatives: bool = False,
    ) -> None:
        self.name = name
        self.feed = feed
        self.square_off = _parse_hhmm(square_off) if square_off is not None else None
        self._squared_off: date | None = None
        self.journal = journal
        if journal is not None:
            config = journal.get_meta("config")
            kind = "fyers" if live_client is not None else "paper"
            if config is None:
                journal.set_meta(
                    "config",
                    {
                        "wallet_paise": to_paise(wallet_balance, "wallet_balance"),
                        "feed": feed,
                        "broker": kind,
                    },
                )
            elif config.get("broker", "paper") != kind:
                raise LiveTradeError(
                    f"session {name!r} has a {config.get('broker', 'paper')} journal; a "
                    f"{kind} session cannot continue it (paper and live books never mix): "
                    "open it under another name"
                )
            elif config["wallet_paise"] != to_paise(wallet_balance, "wallet_balance"):
                log.warning(
                    "session %r continues its journal: wallet starts at ₹%s as first opened",
                    name,
                    from_paise(config["wallet_paise"]),
                )
                wallet_balance = from_paise(config["wallet_paise"])
        self.realtime = realtime
        self.tick_interval = tick_interval
        self.speed = speed
        self.closed = False
        self.clock: Clock = (
            WallClock() if realtime else VirtualClock(start if start is not None else DEFAULT_START)
        )
        self.stream = LivePriceStream(history=history)
        self.engine = LiveTradingEngine(
            wallet_balance,
            self.stream,
            broker=PaperBroker(
                slippage_bps, fills=fills, slippage_ticks=slippage_ticks, latency_ms=latency_ms
            ),
            charges=charges,
            limits=limits,
            clock=self.clock,
            default_product=default_product,
        )
        self.error_event = Event("error")
        self.quote_event = Event("quote", self._report)
        self.order_event = Event("order", self._report)
        self.fill_event = Event("fill", self._report)
        self.position_event = Event("position", self._report)
        self.stream.on_error = self._report
        self.feed_event = Event("feed", self._report)
        self.market: SimulatedMarket | None = None
        self._token_loaded = False
        self.token_warning = timedelta(minutes=30)  # how long before the token's expiry to warn
        self._token_watch: TokenWatch | None = None
        self.token_notice: LiveTradeError | None = None  # the token's last warning or expiry
        self._live_waiters: list[asyncio.Future[None]] = []
        self.replay: ReplayFeed | None = None
        self.fyers_feed: FyersFeed | None = None
        self.hub_feed: HubFeed | None = None
        self.live_feed: FyersFeed | HubFeed | None = None  # a feed with its own connection
        if feed == "sim":
            self.market = SimulatedMarket(
                self.stream, symbols if symbols is not None else dict(DEFAULT_SYMBOLS), seed
            )
        elif feed == "fyers":
            from livetrade.fyers.credentials import FyersConfig
            from livetrade.fyers.feed import FyersFeed

            self._token_loaded = fyers is None  # reconnect() may reread it after a refusal
            self.fyers_feed = FyersFeed(
                self.stream, fyers if fyers is not None else FyersConfig.load(), clock=self.clock
            )
            self.fyers_feed.on_state.append(self._on_feed_state)
            self.fyers_feed.on_state.append(self.feed_event.emit)
            self.fyers_feed.on_error.append(self._report)
            self.live_feed = self.fyers_feed
        elif feed == "hub":
            try:
                from livetrade.hub.client import HubFeed
            except ImportError as exc:
                raise LiveTradeError(
                    "feed='hub' needs the redis client: pip install 'livetrade[hub]'"
                ) from exc

            assert hub is not None
            self.hub_feed = self.live_feed = HubFeed(self.stream, hub, name=name)
            self.hub_feed.on_state.append(self._on_feed_state)
            self.hub_feed.on_state.append(self.feed_event.emit)
            self.hub_feed.on_error.append(self._report)
        else:
            if replay is None:
                raise InvalidInput("replay", "feed='replay' needs replay=<DataFrame or CSV path>")
            self.replay = ReplayFeed(self.stream, replay)
        self.derivatives: SimDerivatives | None = None  # listed before a journal replays orders
        if derivatives:
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
            from livetrade.live import LiveRouter, Shadow

            self.router = LiveRouter(
                self.engine,
                live_client,
                namespace=name,
                poll_interval=poll_interval,
                on_error=self._report,
            )
            if order_socket is not None:
                self.order_socket = order_socket
                order_socket.on_event = self.router.on_socket
                order_socket.on_connect = self._order_socket_connected
                order_socket.on_error = self._order_socket_failed
            if shadow:
                self.shadow = Shadow(
                    self.engine,
                    LiveTradingEngine(
                        from_paise(self.engine.initial_paise),
                        self.stream,
                        broker=PaperBroker(
                            slippage_bps, fills=fills, slippage_ticks=slippage_ticks
                        ),
                        charges=type(charges)(),
                        clock=self.clock,
                        default_product=default_product,
                        id_prefix="SH",
                    ),
                )
        self.bar_event = Event("bar", self._report)  # a closed candle (livetrade.bars.Bar)
        self.market_data = MarketData(self)  # candles and their history (livetrade.history)
        self.market_view = MarketView(self)  # depth, day statistics, opening quotes
        self.engine.add_listener(self._on_engine_event)
        self.stream.add_listener(self._on_tick)
        self.calendar = self.engine.calendar = calendar  # None: hours not enforced
        self.engine.band_source = self._circuit_band  # PRICE_BAND, market protection's cap
        if fills == "depth":
            self.engine.depth_source = self._depth_book
        if (
            calendar is not None
            and self.market is not None
            and isinstance(self.clock, VirtualClock)
        ):
            self.clock.set(calendar.next_trading_ns(self.clock.now_ns()))  # start at an open

    def _list_derivatives(self, charges: ChargesModel, calendar: MarketHours | None) -> None:
        """``derivatives=True``: NIFTY futures and options on the simulated market, registered in
        the engine's instruments (which the India charges model then reads)."""
        from livetrade.feeds.sim_derivatives import SimDerivatives

        if self.market is None:
            raise InvalidInput("derivatives", "simulated derivatives need feed='sim'")
        self.derivatives = SimDerivatives(
            self.market,
            self.engine.instruments,
            self.clock.now_ns(),
            hours=calendar or default_hours(),
        )
        if isinstance(charges, IndianEquityCharges) and charges.instruments is None:
            charges.instruments = self.engine.instruments

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
        if self.market is not None:
            top = self.stream.top(symbol)
            if top is None or symbol.upper().endswith("-INDEX"):
                return None
            bid, ask, _, ts_ns = top
            return book_from_record(simulated_levels(self.market.seed, symbol, bid, ask, ts_ns))
        try:
            depth = self.market_view.depth(symbol)
        except InvalidInput:
            return None
        return None if depth is None else book_from_depth(depth)

    def _restore(self, journal: Journal) -> None:
        records = list(journal.records())
        if records:
            last_ts = restore(self.engine, records, journal.path)
            self.restored = True
            if isinstance(self.clock, VirtualClock) and last_ts > self.clock.now_ns():
                self.clock.set(last_ts)
            if self.market is not None:  # the simulated market resumes from the last fills
                for fill in self.engine.fills:
                    if self.derivatives is not None and fill.symbol in self.derivatives:
                        continue  # priced from the index, not a walk of its own
                    self.market.add_symbol(fill.symbol, from_paise(fill.price_paise))
                    self.market.set_price(fill.symbol, fill.price_paise)
        journal.attach(self.engine)

    # ------------------------------------------------------------------ lifecycle
    def _start(self) -> None:
        self._step_signal = asyncio.Event()
        self._sample()
        if self.realtime and self.live_feed is None:
            self._spawn(self._pace(), "market")
        if self.realtime and (self.router is not None or self.fyers_feed is not None):
            self._spawn(self._watch_token(), "token")

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

    async def _pace(self) -> None:
        """Real-time mode: one market step per ``tick_interval / speed`` seconds."""
        delay = self.tick_interval / self.speed
        while not self.closed:
            await asyncio.sleep(delay)
            if not self.step():
                return

    async def close(self) -> None:
        """Stop every task of this session and detach it from its stream (idempotent).
        Live orders stay working at Fyers; reopening the session picks them up."""
        if self.closed:
            return
        self.closed = True
        for server in self._api_servers:
            await server.stop()
        if self.order_socket is not None:
            await self.order_socket.close()
        if self.router is not None:
            await self.router.stop()
            await self.router.client.aclose()
        if self.shadow is not None:
            self.shadow.paper.detach()
        if self.live_feed is not None:
            await self.live_feed.close()
        await self.market_view.aclose()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.engine.remove_listener(self._on_engine_event)
        self.engine.detach()
        self.stream.remove_listener(self._on_tick)
        if self.journal is not None:
            self.journal.close()
        if _SESSIONS.get(self.name) is self:
            del _SESSIONS[self.name]

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosed(f"session {self.name!r} is closed; open a new one")

    # ------------------------------------------------------------------ market time
    def step(self) -> bool:
        """Advance the market by one step (every simulated symbol ticks once, or one replay
        row). Returns ``False`` when a replay has run out."""
        self._check_open()
        if self.live_feed is not None:
            raise LiveTradeError(f"the {self.feed} feed is the market; wait with run_for() instead")
        if self.market is not None:
            if isinstance(self.clock, VirtualClock):
                self.clock.advance(int(self.tick_interval * 1_000_000_000))
                if self.calendar is not None:  # closed time passes in one step
                    self.clock.set(self.calendar.next_trading_ns(self.clock.now_ns()))
            now = self.clock.now_ns()
            if self.calendar is None or self.calendar.next_trading_ns(now) == now:
                self.market.step(now)  # no ticks while the exchange is closed
        else:
            assert self.replay is not None
            nxt = self.replay.peek_ns()
            if nxt is None:
                return False
            if isinstance(self.clock, VirtualClock) and nxt > self.clock.now_ns():
                self.clock.set(nxt)
            self.replay.step()
        self._steps += 1
        self._sample()
        if self._step_signal is not None:
            self._step_signal.set()
        return True

    async def run_for(self, ticks: int | None = None, seconds: float | None = None) -> int:
        """Run the market for ``ticks`` steps (or ``seconds`` of market time); returns the
        number of steps taken. On the virtual clock this is as fast as the CPU allows and yields
        to the event loop every 100 steps so handlers and widgets keep up."""
        self._check_open()
        if ticks is None and seconds is None:
            raise InvalidInput("ticks", "give ticks=N or seconds=S")
        if ticks is not None and (
            isinstance(ticks, bool) or not isinstance(ticks, int) or ticks < 0
        ):
            raise InvalidInput("ticks", "must be a non-negative integer")
        if self.live_feed is not None and ticks is None:
            assert seconds is not None
            await asyncio.sleep(seconds)  # real quotes arrive on their own
            return self._steps
        if ticks is None:
            assert seconds is not None
            ticks = max(0, round(seconds / self.tick_interval))
        if self.realtime:
            target = self._steps + ticks
            assert self._step_signal is not None
            while self._steps < target and not self.closed:
                self._step_signal.clear()
                await self._step_signal.wait()
            return ticks
        done = 0
        for i in range(ticks):
            if not self.step():
                break
            done += 1
            if i % 100 == 99:
                await asyncio.sleep(0)
        await asyncio.sleep(0)
        return done

    @property
    def now(self) -> datetime:
        return ns_to_datetime(self.clock.now_ns())

    def market_status(self, exchange: str = "NSE", segment: str = "CM") -> MarketStatus:
        """The exchange's session at this session's clock (``livetrade.market_hours``)."""
        return (self.calendar or default_hours()).status(
            exchange, self.clock.now_ns(), segment=segment
        )

    def rate_stats(self) -> GovernorStats | None:
        """Today's Fyers REST budget of a live session's app: requests, orders, 429 minutes and
        the governor's warnings (``livetrade.governor``); ``None`` without a Fyers client."""
        if self.router is None:
            return None
        from livetrade.governor import RateGovernor

        limiter = self.router.client.limiter
        return limiter.stats() if isinstance(limiter, RateGovernor) else None

    @property
    def symbols(self) -> list[str]:
        if self.market is not None:
            return self.market.symbols
        if self.live_feed is not None:
            return list(self.live_feed.symbols)
        assert self.replay is not None
        return self.replay.symbols

    def feed_state(self) -> FeedState | HubFeedState | None:
        """The Fyers or hub connection's state (connecting / live / reconnecting / stalled /
        stale / failed / closed, with the attempt and reason), or ``None`` for a simulated or
        replay feed."""
        return None if self.live_feed is None else self.live_feed.state

    def add_symbol(self, symbol: str, price: Decimal | str | int = "1000.00") -> None:
        """Add ``symbol`` to the simulated market, starting at ``price`` (rupees)."""
        self._check_open()
        if self.market is None:
            raise LiveTradeError("only a simulated market can add symbols; this session replays")
        self.market.add_symbol(symbol, price)

    async def watch(self, symbols: str | list[str], *, depth: bool = False) -> None:
        """Start receiving quotes for ``symbols``: subscribes on the Fyers feed; on the simulated
        market an unknown symbol starts trading at ₹1000 (``add_symbol`` chooses the price).

        Fyers: ``depth=True`` also subscribes five-level depth (``session.depth(symbol)``; the
        simulated market always has depth), and one ``/data/quotes`` call per 50 symbols
        gives each symbol its first quote before the first tick (an order can be placed at
        once) and the day's open/high/low, previous close (``session.day_stats(symbol)``).
        A failed quotes call is reported on ``error_event``; the subscription stands.

        A Fyers or hub feed that has ``failed`` raises ``FeedDisconnected`` naming its state and
        reason (nothing is subscribed: quotes would never come): ``await session.reconnect()``
        first. One that is reconnecting subscribes anyway -- the symbols are sent when it is
        live again -- and logs a warning saying so."""
        self._check_open()
        wanted = [symbols] if isinstance(symbols, str) else list(symbols)
        for symbol in wanted:
            check_symbol(symbol, "symbols")
        if self.live_feed is not None:
            state = self.live_feed.state
            if state.status == "failed":
                raise FeedDisconnected(
                    f"the {self.feed} feed has failed ({state.reason or 'no reason given'}); "
                    f"nothing was subscribed: restart it with `await session.reconnect()`"
                )
            if self.fyers_feed is not None:
                await self.fyers_feed.watch(wanted, depth=depth)
                await self._opening_quotes(wanted)
            else:
                await self.live_feed.watch(wanted)
            state = self.live_feed.state
            if state.status != "live":
                log.warning(
                    "the %s feed is %s: %s will be subscribed once it is live again",
                    self.feed,
                    state,
                    ", ".join(wanted),
                )
            return
        for symbol in wanted:
            if symbol not in self.symbols:
                self.add_symbol(symbol)

    async def _opening_quotes(self, symbols: list[str]) -> None:
        try:
            await self.market_view.opening_quotes(symbols)
        except LiveTradeError as exc:
            log.warning("opening quotes for %s failed: %s", ", ".join(symbols), exc)
            self._report(exc)

    def depth(self, symbol: str) -> Depth | None:
        """Five levels a side of ``symbol``: ``bids`` best first, ``asks`` best first, each
        ``(price Decimal, quantity, orders)``. Fyers: from the data socket for symbols watched
        with ``depth=True``; simulated market: derived from the current quote (best levels =
        its bid/ask). ``None`` before any (and on replay or hub feeds, which carry none).
        An index raises ``InvalidInput`` (no depth)."""
        return self.market_view.depth(symbol)

    def depth_df(self, symbol: str) -> pd.DataFrame:
        """:meth:`depth` as rows: ``side`` ("bid"/"ask"), ``level`` (1-5), ``price`` (float
        rupees), ``quantity``, ``orders`` (bids first, best first; empty if no depth)."""
        return self.market_view.depth_df(symbol)

    def day_stats(self, symbol: str) -> DayStats:
        """``symbol``'s day: open, high, low, prev_close, upper_circuit, lower_circuit
        (``Decimal`` or ``None``). Fyers: the opening quote and the exchange fields of the
        latest quote; simulated market: its own ticks, the simulated past's previous close and
        a ±20% band around it."""
        return self.market_view.day_stats(symbol)

    def option_chain(
        self,
        underlying: str = "NSE:NIFTY50-INDEX",
        expiry: date | datetime | str | None = None,
        strikes: int = 20,
        *,
        r: float | None = None,
    ) -> pd.DataFrame:
        """The option chain of ``underlying`` at its nearest expiry (or ``expiry``: "next" or
        a date): ``strikes`` rows around the money, calls and puts side by side with LTP,
        bid/ask, volume, implied volatility and Greeks from the latest quotes, the forward
        from put-call parity and the at-the-money strike marked (``livetrade.chain``). On the
        simulated market it needs ``open_session(derivatives=True)``; ``r`` defaults to
        ``livetrade.chain.DEFAULT_RATE``."""
        from livetrade.chain import DEFAULT_RATE, option_chain

        return option_chain(
            self.engine.instruments, self.stream.quote, underlying, self.now,
            expiry=expiry, strikes=strikes, r=DEFAULT_RATE if r is None else r,
        )  # fmt: skip

    def greeks_df(self) -> pd.DataFrame:
        """Net delta (units of the underlying), gamma, theta (₹ a day) and vega (₹ a volatility
        point) of the open positions, one row per underlying and a ``TOTAL`` row in rupee
        terms (theta, vega); options priced from their chain, futures and shares delta 1."""
        import pandas as pd

        from livetrade.chain import option_chain, position_greeks

        chains: dict[tuple[str, datetime], pd.DataFrame] = {}

        def chain(underlying: str, expiry: datetime) -> pd.DataFrame:
            key = (underlying, expiry)
            if key not in chains:
                chains[key] = option_chain(
                    self.engine.instruments, self.stream.quote, underlying, self.now,
                    expiry=expiry, strikes=10_000,
                )  # fmt: skip
            return chains[key]

        rows = position_greeks(
            ((p.symbol, p.quantity) for p in self.engine.positions()), self.engine.instruments,
            chain,
        )  # fmt: skip
        frame = pd.DataFrame(
            [(g.underlying, g.delta, g.gamma, g.theta, g.vega) for g in rows],
            columns=["underlying", "delta", "gamma", "theta", "vega"],
        )
        if not frame.empty:
            total = {"underlying": "TOTAL", "delta": float("nan"), "gamma": float("nan")}
            total |= {"theta": frame["theta"].sum(), "vega": frame["vega"].sum()}
            frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        return frame.set_index("underlying")

    async def unwatch(self, symbols: str | list[str]) -> None:
        """Stop receiving quotes for ``symbols`` (Fyers feed: unsubscribes)."""
        self._check_open()
        if self.live_feed is None:
            raise LiveTradeError("only a Fyers or hub feed subscribes and unsubscribes symbols")
        await self.live_feed.unwatch([symbols] if isinstance(symbols, str) else list(symbols))

    async def reconnect(
        self, *, access_token: str | None = None, timeout: float | None = 30.0
    ) -> FeedState | HubFeedState:
        """Bring a failed or stalled Fyers (or hub) feed back and wait until it is live; returns
        its state (at once if it is live already).

        Fyers: a ``failed`` feed starts again with every watched symbol; one that is
        reconnecting tries now instead of finishing its backoff delay. After a refused token
        the token is read again -- ``access_token`` if given, else ``$FYERS_ACCESS_TOKEN`` / the
        token file when the session loaded them itself -- so log in again first. Raises
        ``AuthError`` if Fyers refuses the token, or ``FeedDisconnected`` naming the state and
        the last error if the feed is not live within ``timeout`` seconds (it keeps retrying in
        the background). Hub: waits for the hub's quotes to flow again.
        """
        self._check_open()
        if self.fyers_feed is not None:
            manager = self.fyers_feed.manager
            if (
                access_token is None
                and self._token_loaded
                and isinstance(manager.failure, AuthError)
            ):
                from livetrade.fyers.credentials import load_access_token

                access_token = load_access_token()
            if access_token is not None:
                await manager.set_access_token(access_token)
            await manager.reconnect(timeout)
            return manager.state
        if self.hub_feed is not None:
            if self.hub_feed.state.status != "live":
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._live_waiters.append(waiter)
                try:
                    async with asyncio.timeout(timeout):
                        await waiter
                except TimeoutError:
                    raise FeedDisconnected(
                        f"the hub feed is not live after {timeout:g} s (state "
                        f"{self.hub_feed.state})"
                    ) from None
                finally:
                    if waiter in self._live_waiters:
                        self._live_waiters.remove(waiter)
            return self.hub_feed.state
        raise LiveTradeError(
            f"the {self.feed} feed is the market itself: it has no connection to restart"
        )

    # ------------------------------------------------------------------ events plumbing
    def _report(self, exc: BaseException) -> None:
        self.error_event.emit(exc)

    def _on_feed_state(self, state: FeedState | HubFeedState) -> None:
        """Tell the engine since when the live feed has been down (its ``STALE_QUOTE`` check
        stays synchronous and cheap: two attributes, read on the engine's own clock)."""
        engine = self.engine
        if state.status == "live":
            engine.feed_down_since_ns = None
            engine.feed_down_state = ""
            waiters, self._live_waiters = self._live_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            return
        if engine.feed_down_since_ns is None:
            engine.feed_down_since_ns = engine.clock.now_ns()
        engine.feed_down_state = f"{self.feed} feed {state}"

    def _on_tick(self, symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        if self.live_feed is not None:  # no market steps: quotes drive sampling and run_for
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

    # ------------------------------------------------------------------ trading
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
    ) -> Order:
        """Place a buy; returns the ``Order`` (filled, or resting). Raises ``OrderRejected``.
        ``quantity`` in units (shares; for F&O a multiple of the lot) or ``lots=`` whole lots
        (``lots=2`` of a NIFTY option is 130 units): exactly one of them.
        Live: returns once Fyers has acknowledged it (a market order's fill is read back)."""
        return await self._routed(self._submit(
            symbol, Side.BUY, self._units(symbol, quantity, lots), order_type, limit_price,
            trigger_price, product, stop_loss, take_profit, tag,
        ))  # fmt: skip

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
    ) -> Order:
        """Place a sell (an INTRADAY or MARGIN sell beyond the position opens a short);
        ``quantity`` or ``lots=`` as for :meth:`buy`."""
        return await self._routed(self._submit(
            symbol, Side.SELL, self._units(symbol, quantity, lots), order_type, limit_price,
            trigger_price, product, stop_loss, take_profit, tag,
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
        )

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

    # ------------------------------------------------------------------ live
    @property
    def mode(self) -> str:
        """``"PAPER"``, ``"LIVE"`` (armed: orders go to Fyers) or ``"LIVE (not armed)"``."""
        if self.router is None:
            return "PAPER"
        return "LIVE" if self.router.armed else "LIVE (not armed)"

    async def _open_live(self, wallet_given: bool) -> None:
        """Live session start: check the token, take the wallet from Fyers' funds on a fresh
        session, reconcile, then start polling for order updates."""
        assert self.router is not None
        client = self.router.client
        client.check_token()
        if not wallet_given and not self.engine.orders:
            available = (await client.funds()).available_balance
            if available is not None and available >= 0:
                paise = to_paise(available, "available balance")
                self.engine.initial_paise = self.engine.cash_paise = paise
                if self.journal is not None:
                    config = self.journal.get_meta("config") or {}
                    self.journal.set_meta("config", {**config, "wallet_paise": paise})
                self._pnl.clear()
                self._sample(force=True)
        await self.reconcile()
        self.router.start()
        if self.order_socket is not None:
            self.order_socket.start()
        rec = self.reconciliation
        assert rec is not None
        log.warning(
            "LIVE session %r opened (not armed): %s",
            self.name,
            "in step with Fyers" if rec.ok else f"{len(rec.differences)} differences with Fyers",
        )

    async def reconcile(
        self, *, adopt: bool = False, cancel_unknown: bool = False
    ) -> Reconciliation:
        """Compare our positions and working orders with Fyers' (after reading back any fill
        and status change first). ``adopt=True`` takes on Fyers' position differences (orders
        placed elsewhere) at Fyers' average price; ``cancel_unknown=True`` cancels orders
        working at Fyers that are not ours. Returns the result (also ``session.reconciliation``).
        """
        from livetrade.live import reconcile

        self._check_open()
        router = self._live_router()
        await router.sync()
        rec = await reconcile(self.engine, router.client)
        if adopt or cancel_unknown:
            if adopt:
                self._adopt(rec)
            if cancel_unknown:
                for b in rec.broker_orders:
                    working = b.status in (OrderStatus.OPEN, OrderStatus.PENDING)
                    if working and router.order_for(b.order_id) is None:
                        await router.client.cancel_order(b.order_id)
            await router.sync()
            rec = await reconcile(self.engine, router.client)
        self.reconciliation = rec
        return rec

    def _adopt(self, rec: Reconciliation) -> None:
        """Book each position difference at Fyers' average price (else the last price)."""
        ours = {(p.symbol, p.product.value): p.quantity for p in self.engine.positions()}
        for key in set(rec.broker_positions) | set(ours):
            qty, avg = rec.broker_positions.get(key, (0, Decimal(0)))
            diff = qty - ours.get(key, 0)
            symbol, product = key
            if diff == 0:
                continue
            price = to_paise(avg) if avg > 0 else self.stream.last_paise(symbol)
            if product not in ("INTRADAY", "CNC", "MARGIN") or not price:
                log.warning("cannot adopt %s %s: product or price unknown", symbol, product)
                continue
            self.engine.adopt_position(symbol, Product(product), diff, price)

    def _order_socket_connected(self) -> None:
        """(Re)connected: read the books once for anything sent while the socket was down."""
        if self.router is not None and not self.closed:
            self._spawn(self.router.sync(), "order-sync")

    def _order_socket_failed(self, exc: BaseException) -> None:
        if isinstance(exc, AuthError) and self.router is not None:
            self.router._auth_failed(exc)  # a dead token: halt, as a refused order would
        else:
            self._report(exc)

    def _live_router(self) -> LiveRouter:
        if self.router is None:
            raise LiveTradeError(
                "this is a paper session: open_session(broker='fyers', live=True, ...) to trade "
                "live"
            )
        return self.router

    async def arm_live(
        self, confirm: str = "", *, accept_differences: bool = False
    ) -> Reconciliation:
        """Allow real orders in this session: ``confirm`` must be exactly ``"LIVE"``. The token
        must be valid and a fresh reconciliation must show no blocking difference (or
        ``accept_differences=True``, having read them). Raises ``LiveNotArmed`` otherwise."""
        from livetrade.live import LiveNotArmed

        self._check_open()
        router = self._live_router()
        if confirm != "LIVE":
            raise InvalidInput(
                "confirm", "type confirm='LIVE' to send real orders with real money to Fyers"
            )
        router.client.check_token()
        rec = await self.reconcile()
        if not rec.ok and not accept_differences:
            raise LiveNotArmed(
                f"{len(rec.differences)} differences between this session and Fyers (see "
                "the exception's .differences): resolve them with session.reconcile(adopt=True"
                ", cancel_unknown=True), or arm_live(confirm='LIVE', accept_differences=True)",
                rec.differences,
            )
        router.armed = True
        log.warning("LIVE trading ARMED for session %r: orders go to Fyers", self.name)
        self.feed_event.emit(self.mode)
        return rec

    def disarm_live(self) -> None:
        """Stop sending new live orders (working orders stay; exits still go through)."""
        self._live_router().armed = False
        self.feed_event.emit(self.mode)

    async def sync_orders(self) -> Any:
        """Read Fyers' order book and tradebook now (also done every ``poll_interval``)."""
        return await self._live_router().sync()

    # ------------------------------------------------------------------ the token's day
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

    async def _watch_token(self) -> None:
        """Wall-clock sessions: check the token when a notice is due (at least once a
        minute), so the warning comes even while no tick arrives (before the open)."""
        while not self.closed:
            self._check_token(self.clock.now_ns())
            watch = self._token_watch
            due = 60.0 if watch is None else watch.due_in(self.clock.now_ns() / 1e9)
            await asyncio.sleep(min(max(due, 0.0) + 0.01, 60.0))

    async def relogin(
        self, access_token: str | None = None, *, timeout: float | None = 30.0
    ) -> datetime:
        """Carry on with a new Fyers access token (after the daily login) without restarting:
        REST uses it from now on, the order socket and the data socket reconnect with it
        (watched symbols, orders and positions stay), the books are read back once, and a
        halt the dead token caused is lifted (never one you set). ``access_token`` is
        ``APP_ID:jwt`` or a bare JWT; None reads ``$FYERS_ACCESS_TOKEN`` / the token file.
        The token is tried on Fyers first: ``AuthError`` if it is refused or expired, and
        then nothing changed. Returns when the new token expires."""
        from dataclasses import replace

        from livetrade.fyers.credentials import load_access_token, token_claims

        self._check_open()
        if self.router is None and self.fyers_feed is None:
            raise LiveTradeError(f"a {self.feed} session without Fyers has no token to renew")
        token = load_access_token(access_token)  # AuthError naming where it looked
        claims = token_claims(token)
        if claims.expired(self.clock.now_ns() // 1_000_000_000):
            raise AuthError(
                "the new Fyers access token has already expired: log in again for a fresh one"
            )
        if self.router is not None:
            client = self.router.client
            old = client.token
            client.set_token(token)  # AuthError if it is for another app
            try:
                await client.profile()  # Fyers accepts it, or nothing changes
            except BaseException:
                client.set_token(old)
                raise
            if self.order_socket is not None:
                await self.order_socket.set_authorization(client.token.authorization)
        if self.fyers_feed is not None:
            feed = self.fyers_feed
            feed.config = replace(feed.config, access_token=token)
            self.market_data.fyers = None  # history requests: the new token from now on
            manager = feed.manager
            await manager.set_access_token(token)
            if manager.state.status != "failed":
                await manager.disconnect()  # the old token's connection: reconnect now
            await manager.reconnect(timeout)
        self._token_watch = self.token_notice = None
        if self.router is not None:
            if self.router.token_renewed():
                log.warning("new Fyers token: live trading resumed (%s)", self.engine.kill_switch)
            await self._read_back()
        expires = self.token_expires_at
        assert expires is not None
        log.warning("Fyers token renewed for session %r: valid until %s", self.name, expires)
        self.feed_event.emit(self.mode)
        return expires

    async def reload_token(
        self, token_file: str | Path | None = None, *, timeout: float | None = 30.0
    ) -> datetime:
        """:meth:`relogin` with the token ``livetrade login`` saved (or ``token_file``; see
        ``FyersConfig.load``), ignoring ``$FYERS_ACCESS_TOKEN`` (a shell's old token)."""
        import os

        from livetrade.fyers.credentials import ENV_TOKEN, load_access_token

        env = {k: v for k, v in os.environ.items() if k != ENV_TOKEN}
        token = load_access_token(None, token_file=token_file, env=env)
        return await self.relogin(token, timeout=timeout)

    def shadow_df(self) -> pd.DataFrame:
        """Shadow mode: per live order, live vs paper price, slippage and time to fill."""
        if self.shadow is None:
            raise LiveTradeError("no shadow engine: open the live session with shadow=True")
        return self.shadow.frame()

    async def serve_api(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        token: str | None = None,
        *,
        allow_update_price: bool = True,
    ) -> ApiServer:
        """Serve the REST API (``/api/live-trading/*``, docs at ``/docs``) from this event loop,
        against this session. Loopback by default; any other host needs ``token``. The server
        stops when the session closes (or on ``await server.stop()``)."""
        from livetrade.api import serve_api

        self._check_open()
        server = await serve_api(self, host, port, token, allow_update_price=allow_update_price)
        self._api_servers.append(server)
        return server

    def dashboard(self, **kw: Any) -> Dashboard:
        """Live widgets for this session: status bar, quote board, order ticket, positions,
        blotter and charts, redrawn at most ``max_hz`` times a second (see
        ``livetrade.ui.dashboard``). Closing the session stops it."""
        from livetrade.ui import dashboard

        self._check_open()
        return dashboard(self, **kw)

    # ------------------------------------------------------------------ views
    @property
    def orders(self) -> list[Order]:
        return self.engine.orders

    @property
    def fills(self) -> list[Fill]:
        return self.engine.fills

    def pnl(self) -> dict[str, Any]:
        return self.engine.portfolio_pnl()

    def orders_df(self) -> pd.DataFrame:
        from livetrade.frames import orders_frame

        return orders_frame(self.engine.orders, self.engine.instruments)

    def fills_df(self) -> pd.DataFrame:
        from livetrade.frames import fills_frame

        return fills_frame(self.engine.fills)

    def positions_df(self, include_closed: bool = False) -> pd.DataFrame:
        from livetrade.frames import positions_frame

        return positions_frame(self.engine.positions(include_closed), self.engine.instruments)

    def pnl_df(self) -> pd.DataFrame:
        """Equity curve: cash, market value, realized (gross), unrealized, charges, net P&L and
        equity, sampled once per market second and on every fill."""
        from livetrade.frames import pnl_frame

        return pnl_frame(list(self._pnl))

    def journal_df(self) -> pd.DataFrame:
        """Every journaled event (orders, fills, cancels, kill switch) with its audit origin."""
        if self.journal is None:
            raise LiveTradeError("this session has no journal (opened with journal=False)")
        return self.journal.to_frame()

    def backup_journal(self, dest: str | Path) -> JournalSummary:
        """Copy this session's journal (WAL content included) to ``dest`` and check the copy.
        Works while the session runs: another process cannot read a journal a session holds."""
        if self.journal is None:
            raise LiveTradeError("this session has no journal (opened with journal=False)")
        return self.journal.backup(dest)

    def replay_journal(self) -> ReplayReport:
        """Re-run this session's journal against a fresh engine and report any difference in
        fills or P&L (``report.ok``, ``report.mismatches``)."""
        if self.journal is None:
            raise LiveTradeError("this session has no journal (opened with journal=False)")
        if self.router is not None:
            raise LiveTradeError(
                "a live journal's fills came from Fyers; replay re-runs paper fills, so it "
                "cannot check them (journal_df() shows every recorded event)"
            )
        records = list(self.journal.records())
        start = records[0].ts_ns if records else self.clock.now_ns()
        fresh = LiveTradingEngine(
            from_paise(self.engine.initial_paise),
            LivePriceStream(),
            charges=type(self.engine.charges_model)(),
            limits=self.engine.limits,
            clock=VirtualClock(start),
            default_product=self.engine.default_product,
            broker=self.engine.broker,
        )
        return replay(records, fresh)

    def quotes_df(self, symbol: str | None = None) -> pd.DataFrame:
        """Kept tick history (all symbols, or one) with Asia/Kolkata timestamps, then the
        day's ``open``/``high``/``low`` so far, ``prev_close`` and ``change_pct`` (day change
        against the previous close) on each row."""
        return self.market_view.quotes_frame(symbol)

    def bars_df(
        self, symbol: str, timeframe: str = "5min", start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        """OHLCV candles of ``symbol`` (timeframes 5s 15s 30s 1min 3min 5min 15min 30min 1h
        1D) indexed by the IST bar start; the last row is the live bar. Built from ticks once
        asked for; history loaded by :meth:`history` (and, on a simulated market, the past
        before the session whenever ``start`` reaches back) is merged under the live bars.
        Bars whose start is in ``[start, end)``; naive times are IST."""
        return self.market_data.bars_df(symbol, timeframe, start, end)

    async def history(
        self, symbol: str, timeframe: str = "5min", start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        """Past OHLCV candles of ``symbol`` over ``[start, end)``: the simulated market's
        deterministic past, or Fyers ``/data/history`` (split, paced, cached on disk)."""
        return await self.market_data.history(symbol, timeframe, start, end)

    def _repr_html_(self) -> str:
        p = self.engine.portfolio_pnl()
        mode = self.mode
        clock = "real time" if self.realtime else "virtual clock"
        state = "closed" if self.closed else "open"
        head = (
            f"<b>livetrade session {self.name!r}</b> — {mode}, {state}, {clock} "
            f"{self.now:%Y-%m-%d %H:%M:%S %Z}; {len(self.symbols)} symbols<br>"
            f"equity {inr(p['portfolio_value'])} · cash {inr(p['cash'])} · "
            f"P&amp;L {inr(p['total_pnl'], sign=True)} "
            f"(realized {inr(p['total_realized_pnl'], sign=True)}, "
            f"unrealized {inr(p['total_unrealized_pnl'], sign=True)}, "
            f"charges {inr(p['total_charges'])}) · kill switch {p['kill_switch']}"
        )
        positions = self.engine.positions()
        opens = self.engine.open_orders()
        parts = [head]
        if positions:
            parts.append(positions_html(positions))
        if opens:
            parts.append(orders_html(opens))
        return "".join(parts)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        broker = f"fyers, {self.mode}" if self.router else self.engine.broker.name
        return (
            f"Session({self.name!r}, {state}, broker={broker}, "
            f"realtime={self.realtime}, symbols={len(self.symbols)})"
        )


def _parse_hhmm(text: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise InvalidInput("square_off", f"{text!r} is not a time like '15:15'") from None


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


def get_session(name: str = "default") -> Session | None:
    """The open session called ``name``, if any."""
    return _SESSIONS.get(name)
