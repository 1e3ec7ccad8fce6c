"""What a session shows: DataFrames of orders, fills, positions and P&L, market views (depth,
day statistics, the option chain, candles), the journal's views, the reprs, and the REST API
and dashboard served from it. New views belong here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from livetrade.clock import VirtualClock
from livetrade.engine import LiveTradingEngine
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.fmt import inr
from livetrade.frames import orders_html, positions_html
from livetrade.journal import JournalSummary, ReplayReport, replay
from livetrade.model import Fill, Order
from livetrade.money import from_paise
from livetrade.prices import LivePriceStream
from livetrade.session.live import Live

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.api import ApiServer
    from livetrade.chain import OIFn
    from livetrade.chain_refresh import ChainOI, ChainRefresh
    from livetrade.depth import DayStats, Depth
    from livetrade.engine.funds import Funds
    from livetrade.fyers.broker import FyersRestClient
    from livetrade.instruments import Instrument
    from livetrade.session.opening import Session
    from livetrade.ui.dashboard import Dashboard


class Views(Live):
    """One layer of :class:`~livetrade.session.Session` (see ``livetrade.session.state``)."""

    _chain_oi: ChainOI | None = None  # open interest read by refresh_option_chain

    # ------------------------------------------------------------------ market views
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
            oi=self._open_interest(),
        )  # fmt: skip

    def instruments(
        self,
        underlying: str | None = None,
        expiry: Any = None,
        kind: Any = None,
        strike_min: object = None,
        strike_max: object = None,
    ) -> pd.DataFrame:
        """:func:`livetrade.instruments` over what this session trades (its registry: the
        simulated chain, or the master a Fyers session loaded) at the session's clock."""
        from livetrade.fno.lookup import instruments

        return instruments(
            underlying, expiry, kind, strike_min, strike_max, self.engine.instruments,
            now=self.now,
        )  # fmt: skip

    def find_option(
        self,
        underlying: str,
        expiry: Any = "next",
        strike: object = "ATM",
        kind: str = "CE",
        *,
        spot: object = None,
    ) -> Instrument:
        """:func:`livetrade.find_option` in this session: its registry, its clock, and for
        ``strike="ATM"`` the underlying's last price from the stream unless ``spot=`` is given."""
        from livetrade.fno.lookup import find_option

        if spot is None and isinstance(strike, str) and strike.strip().upper() == "ATM":
            spot = self._underlying_price(underlying)
        return find_option(
            underlying, expiry, strike, kind, spot=spot, registry=self.engine.instruments,
            now=self.now,
        )  # fmt: skip

    def find_future(self, underlying: str, expiry: Any = "next") -> Instrument:
        """:func:`livetrade.find_future` in this session (its registry and clock)."""
        from livetrade.fno.lookup import find_future

        return find_future(underlying, expiry, registry=self.engine.instruments, now=self.now)

    def _underlying_price(self, underlying: str) -> Decimal | None:
        """The last price of ``underlying`` ("NIFTY" or its full symbol) from the stream."""
        name = underlying.strip().upper()
        for inst in self.engine.instruments:
            u = inst.underlying
            if u and (u.upper() == name or u.split(":")[-1].upper().startswith(name)):
                last = self.stream.last_paise(u)
                return None if last is None else from_paise(last)
        return None

    async def refresh_option_chain(
        self,
        underlying: str = "NSE:NIFTY50-INDEX",
        strikes: int = 20,
        expiry: date | datetime | str | None = None,
        *,
        fyers_client: FyersRestClient | None = None,
    ) -> ChainRefresh:
        """Fill :meth:`option_chain` from Fyers' option-chain endpoint where the stream does
        not cover a contract: registers the contracts of that expiry (``strikes`` around the
        money), pushes a quote for each the stream has nothing fresher for (watched contracts
        keep their streamed quotes) and keeps the chain's open interest for the view
        (``livetrade.chain_refresh``). Fyers or hub feeds and live sessions; the client is
        ``fyers_client``, the live session's, or one built from the session's FyersConfig.
        A simulated or replayed market is its own whole chain, so it raises."""
        from livetrade.chain_refresh import ChainOI, refresh_chain

        self._check_open()
        if self.feed in ("sim", "replay"):
            raise LiveTradeError(
                f"refresh_option_chain reads Fyers' chain; this session's {self.feed} market "
                "quotes its own contracts on every step (open_session(derivatives=True))"
            )
        client, own = fyers_client, False
        if client is None and self.router is not None:
            client = self.router.client
        if client is None:
            client, own = self._chain_client(), True
        if self._chain_oi is None:
            self._chain_oi = ChainOI()
        try:
            return await refresh_chain(
                client, self.engine.instruments, self.stream, self._chain_oi,
                underlying=underlying, strikes=strikes, expiry=expiry,
                watched=self.source.symbols, now_ns=self.clock.now_ns(),
            )  # fmt: skip
        finally:
            if own:
                await client.aclose()

    def _chain_client(self) -> FyersRestClient:
        """A REST client from the session's FyersConfig (the feed's when none was given)."""
        from livetrade.fyers.broker import FyersRestClient

        cfg = self.config.fyers
        if cfg is None and self.fyers_feed is not None:
            cfg = self.fyers_feed.config
        if cfg is None:
            raise InvalidInput("fyers_client", "this session has no FyersConfig: pass a client")
        return FyersRestClient(
            cfg.access_token, app_id=cfg.app_id, base_url=cfg.api_url, data_url=cfg.rest_url,
            timeout=cfg.rest_timeout,
        )  # fmt: skip

    def _open_interest(self) -> OIFn | None:
        """Open interest per contract where the feed has it (the simulated derivatives), else
        what :meth:`refresh_option_chain` last read."""
        if self.derivatives is not None:
            return self.derivatives.open_interest
        return self._chain_oi

    def payoff(
        self,
        underlying: str = "NSE:NIFTY50-INDEX",
        *,
        r: float | None = None,
        points: int = 201,
        width: float = 0.06,
    ) -> Any:
        """Plotly figure: P&L of the open positions on ``underlying`` at their first expiry
        and today (Black-76 at the chain's implied volatilities), breakevens marked
        (``livetrade.payoff``). ``width``: the price range either side of spot, a fraction."""
        from livetrade.chain import DEFAULT_RATE
        from livetrade.payoff import payoff

        positions = [
            (p.symbol, p.quantity, float(p.avg_buy_price)) for p in self.engine.positions()
        ]
        return payoff(
            underlying, positions, self.engine.instruments, self.stream.quote, self.now,
            r=DEFAULT_RATE if r is None else r, oi=self._open_interest(), points=points,
            width=width,
        )  # fmt: skip

    def funds(self) -> Funds:
        """The account as a broker's funds page shows it (rupees): cash, margin blocked by
        futures and short options (approximate SPAN + exposure, ``livetrade.fno.margin``),
        premium paid and received, realised and unrealised P&L, and what is available."""
        return self.engine.funds()

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

    # ------------------------------------------------------------------ served from here
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
        server = await serve_api(
            cast("Session", self), host, port, token, allow_update_price=allow_update_price
        )
        self._api_servers.append(server)
        return server

    def dashboard(self, **kw: Any) -> Dashboard:
        """Live widgets for this session: status bar, quote board, order ticket, positions,
        blotter and charts, redrawn at most ``max_hz`` times a second (see
        ``livetrade.ui.dashboard``). Closing the session stops it."""
        from livetrade.ui import dashboard

        self._check_open()
        return dashboard(cast("Session", self), **kw)

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
        """One row per position (units and lots), with its underlying, expiry, days to expiry
        and net Greeks (delta in units of the underlying, theta ₹ a day, vega ₹ a vol point;
        a share is delta = its quantity), so ``groupby("underlying").sum()`` nets them."""
        from livetrade.chain import add_position_greeks, chain_source
        from livetrade.frames import positions_frame

        inst = self.engine.instruments
        now = self.now
        frame = positions_frame(self.engine.positions(include_closed), inst)
        chains = chain_source(inst, self.stream.quote, now, oi=self._open_interest())
        return add_position_greeks(frame, inst, chains, now)  # lots stays the last column

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
