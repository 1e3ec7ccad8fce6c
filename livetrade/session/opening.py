"""``open_session`` and the class it returns: :class:`Session`, all of its layers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from livetrade.brokers.paper import FillModel
from livetrade.errors import InvalidInput
from livetrade.journal import Journal, default_dir
from livetrade.market_hours import MarketHours
from livetrade.model import Product
from livetrade.money import ChargesModel
from livetrade.risk import RiskLimits
from livetrade.session.config import SessionConfig
from livetrade.session.state import _SESSIONS
from livetrade.session.views import Views

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from livetrade.fyers.broker import FyersRestClient
    from livetrade.fyers.credentials import FyersConfig
    from livetrade.fyers.order_socket import FyersOrderSocket


class Session(Views):
    """A trading session: one stream, one engine, one feed, its tasks and its events.

    Events (subscribe with ``+=``): ``quote_event(PriceQuote)``, ``order_event(EngineEvent)``
    for accepted/rejected/triggered/filled/cancelled, ``fill_event(Fill)``,
    ``position_event(EngineEvent)`` for opened/changed/closed, ``error_event(exception)``.

    Built by :func:`open_session` from a :class:`SessionConfig` (``session.config``); the
    layers it is made of are described in ``livetrade.session.state``.
    """


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
    tick_by_price: bool = False,
    margin_check: bool = True,
    config: SessionConfig | None = None,
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

    ``tick_by_price=True``: cash equities take NSE's tick size by price band (₹0.01 below
    ₹250 ... ₹5 above ₹20,000, dated; exchange-rules.md §6) instead of a flat ₹0.05, so a
    limit price off its band's tick is refused (``livetrade.instruments``).

    ``margin_check=True`` (live only): before a futures or options order (or a basket with
    one) is journaled or sent, Fyers' margin calculator is asked; an order needing more than
    the available margin is refused (``INSUFFICIENT_MARGIN``, with both figures). A failed
    margin call does not block the order (Fyers still checks it) and is reported on
    ``error_event``. ``False`` skips the question.

    ``config=SessionConfig(...)`` gives every setting at once (``session.config``); keywords
    left at their defaults keep the config's values, any other keyword replaces one. Every
    setting is checked first: a bad one raises (``InvalidInput`` naming it) before a previous
    session of the same name is closed or a journal opened.
    """
    keywords = {k: v for k, v in locals().items() if k != "config"}
    cfg = SessionConfig(**keywords) if config is None else _merge(config, keywords)
    old = _SESSIONS.get(cfg.name)
    if old is not None and not old.closed:
        await old.close()
    fyers_cfg = cfg.fyers
    if cfg.live and fyers_cfg is None and cfg.fyers_client is None:  # the token file, read once
        from livetrade.fyers.credentials import FyersConfig

        fyers_cfg = FyersConfig.load()
    jrnl: Journal | None = None
    if cfg.journal:
        jrnl = Journal(Path(cfg.journal_dir or default_dir()) / f"{cfg.name}.sqlite")
    try:
        session = Session(
            cfg,
            journal=jrnl,
            live_client=_live_client(fyers_cfg, cfg.fyers_client, cfg.feed) if cfg.live else None,
            order_socket=_order_socket(fyers_cfg)
            if cfg.live and cfg.order_updates == "socket"
            else None,
        )
    except BaseException:
        if jrnl is not None:
            jrnl.close()
        raise
    _SESSIONS[cfg.name] = session
    session._start()
    if session.source.live or session.router is not None:
        try:
            await session.source.start()
            if session.router is not None:
                await session._open_live(wallet_given=cfg.wallet_balance is not None)
        except BaseException:
            await session.close()
            raise
    return session


def _merge(config: SessionConfig, keywords: dict[str, Any]) -> SessionConfig:
    """``config`` with every keyword that is not at its default (checked again)."""
    from dataclasses import fields, replace

    defaults = {f.name: f.default for f in fields(SessionConfig)}
    changes = {k: v for k, v in keywords.items() if not _is_default(v, defaults[k])}
    return replace(config, **changes) if changes else config


def _is_default(value: object, default: object) -> bool:
    if value is default:
        return True
    return type(value) is type(default) and value == default  # never a DataFrame's ==


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


def get_session(name: str = "default") -> Session | None:
    """The open session called ``name``, if any."""
    return _SESSIONS.get(name)
