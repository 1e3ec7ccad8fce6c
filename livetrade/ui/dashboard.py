"""The dashboard: lays the panels out and runs the one task that redraws them.

Ticks and engine events arrive synchronously in the event loop; their handlers only count,
note the symbol and mark panels dirty (no widget is touched). One task per dashboard wakes at
most ``max_hz`` times a second, asks the throttle which panels are dirty and due, and redraws
just those — each inside ``hold_sync()`` or ``batch_update()`` — so the comm traffic is bounded
by the redraw rate, never by the tick rate, and the kernel stays free for the next cell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from livetrade.engine import EngineEvent
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.model import Role
from livetrade.ui.beacon import Heartbeat
from livetrade.ui.blotter import BlotterPanel, blotter_view
from livetrade.ui.candles import CandleSource, PriceChart, price_chart_view
from livetrade.ui.chain import CHAIN_CSS, ChainPanel, underlyings
from livetrade.ui.charts import PnlChart, PnlSeries, pnl_chart_view
from livetrade.ui.common import ipywidgets, plotly_go
from livetrade.ui.depth import DepthPanel, depth_view
from livetrade.ui.payoff import PayoffPanel, payoff_view
from livetrade.ui.positions import PositionsPanel, positions_view
from livetrade.ui.quotes import QuoteBoard, QuoteBoardModel
from livetrade.ui.status import FeedMonitor, StatusBar, feed_state, status_view
from livetrade.ui.throttle import Throttle
from livetrade.ui.ticket import OrderTicket, what_if

if TYPE_CHECKING:
    from livetrade.session import Session

log = logging.getLogger("livetrade.ui")

PANELS = (
    "status", "quotes", "depth", "ticket", "positions", "blotter", "price_chart", "pnl_chart",
)  # fmt: skip
OPTION_PANELS = ("chain", "payoff_chart")  # only when the session lists options
CHARTS_TAB = 2  # Orders, Fills, Charts
CHAIN_TAB, PAYOFF_TAB = 3, 4  # then Chain and Payoff when options are listed
CHAIN_INTERVAL = 0.25
"""The chain redraws at most 4 times a second (its IV and Greeks are recomputed each time;
``benchmarks/chain_bench.py`` measures that cost)."""
CHART_COST = 4
"""Comm messages per Plotly redraw; charts redraw ``CHART_COST`` times less often than the
other panels so that every panel stays within ``max_hz`` messages a second."""

STATUS_REFRESH_S = 1.0  # the last-tick age keeps counting while no tick arrives
FEED_TROUBLE = ("stalled", "reconnecting", "failed", "closed", "stale", "connecting")

_OPEN: weakref.WeakKeyDictionary[Any, Dashboard] = weakref.WeakKeyDictionary()

CSS = """<style>
.livetrade-dashboard { font-size: 12px; position: relative; min-width: 0; max-width: 100%;
  box-sizing: border-box; }
.livetrade-dashboard .lt-panel { border: 1px solid #d0d7de; border-radius: 6px; padding: 3px 6px;
  margin: 2px; min-width: 0; box-sizing: border-box; }
.livetrade-dashboard .lt-top { display: flex; flex-flow: row wrap; align-items: flex-start;
  min-width: 0; }
.livetrade-dashboard .lt-top > .lt-left { flex: 1 1 420px; }
.livetrade-dashboard .lt-top > .lt-ticket { flex: 1 1 300px; max-width: 460px; }
.livetrade-dashboard .lt-container { container-type: inline-size; }
.livetrade-dashboard .lt-table { border-collapse: collapse; font-variant-numeric: tabular-nums;
  width: 100%; }
.livetrade-dashboard .lt-table th, .livetrade-dashboard .lt-table td { padding: 1px 4px;
  text-align: right; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
.livetrade-dashboard .lt-table th { font-weight: 600; color: #57606a; }
.livetrade-dashboard .lt-table th:first-child, .livetrade-dashboard .lt-table td.lt-sym,
.livetrade-dashboard .lt-table td.lt-empty { text-align: left; }
.livetrade-dashboard .lt-table td.lt-note { white-space: normal; text-align: left;
  min-width: 8em; }
.livetrade-dashboard .lt-quotes-table tbody tr { cursor: pointer; }
.livetrade-dashboard .lt-quotes-table tbody tr:hover { background: #f6f8fa; }
.livetrade-dashboard .lt-quotes-table tbody tr.lt-selected { background: #ddf4ff; }
@container (max-width: 470px) { .livetrade-dashboard .lt-c-time { display: none; } }
@container (max-width: 400px) { .livetrade-dashboard .lt-c-volume { display: none; } }
@container (max-width: 760px) { .livetrade-dashboard .lt-quotes .lt-c-time { display: none; } }
@container (max-width: 680px) { .livetrade-dashboard .lt-quotes .lt-c-chgabs { display: none; } }
@container (max-width: 610px) { .livetrade-dashboard .lt-quotes .lt-c-volume {
  display: none; } }
@container (max-width: 540px) { .livetrade-dashboard .lt-quotes .lt-c-bid,
  .livetrade-dashboard .lt-quotes .lt-c-ask { display: none; } }
@container (max-width: 400px) { .livetrade-dashboard .lt-quotes .lt-c-high,
  .livetrade-dashboard .lt-quotes .lt-c-low { display: none; } }
@container (max-width: 330px) { .livetrade-dashboard .lt-depth .lt-c-orders {
  display: none; } }
.livetrade-dashboard .lt-depth-table td.lt-bid, .livetrade-dashboard .lt-depth-table th.lt-bid {
  color: #0969da; }
.livetrade-dashboard .lt-depth-table td.lt-ask { color: #cf222e; }
.livetrade-dashboard .lt-depth-table td.lt-total { border-top: 1px solid #d0d7de;
  color: #57606a; }
@container (max-width: 760px) { .livetrade-dashboard .lt-c-product,
  .livetrade-dashboard .lt-c-charges, .livetrade-dashboard .lt-c-filled { display: none; } }
@container (max-width: 600px) { .livetrade-dashboard .lt-c-realized,
  .livetrade-dashboard .lt-c-role, .livetrade-dashboard .lt-c-id { display: none; } }
.livetrade-dashboard .lt-pos, .livetrade-dashboard .lt-ok { color: #1a7f37; }
.livetrade-dashboard .lt-neg, .livetrade-dashboard .lt-err { color: #cf222e; }
.livetrade-dashboard .lt-warn { color: #9a6700; }
.livetrade-dashboard .lt-muted { color: #6e7781; }
.livetrade-dashboard .lt-whatif-bad { color: #9a6700; }
.livetrade-dashboard .lt-margin-ok { color: #57606a; }
.livetrade-dashboard .lt-margin-short { color: #cf222e; font-weight: 600; }
.livetrade-dashboard .lt-status-text .widget-html-content { white-space: normal;
  line-height: 1.6; flex: 1 1 0%; min-width: 0; height: auto; }
.livetrade-dashboard .lt-status-text { height: auto; flex: 1 1 420px; min-width: 0; }
.livetrade-dashboard .lt-whatif .widget-html-content,
.livetrade-dashboard .lt-result .widget-html-content { line-height: 1.35; white-space: normal;
  height: auto; }
.livetrade-dashboard .lt-whatif, .livetrade-dashboard .lt-result { height: auto; }
.livetrade-dashboard .lt-status-text span { white-space: nowrap; }
.livetrade-dashboard .lt-status-text span.lt-sep { white-space: normal; }
.livetrade-dashboard .lt-status-text .lt-kill { font-weight: bold; }
.livetrade-dashboard .lt-badge { padding: 1px 6px; border-radius: 4px; font-weight: bold; }
.livetrade-dashboard .lt-paper { background: #ddf4ff; color: #0969da; border: 1px solid #54aeff; }
.livetrade-dashboard .lt-live { background: #cf222e; color: #fff; font-size: 14px; }
.livetrade-dashboard.lt-live-mode { border: 3px solid #cf222e; border-radius: 6px; }
.livetrade-dashboard .lt-summary { margin-top: 2px; white-space: normal; }
.livetrade-dashboard .lt-banner { padding: 6px 10px; border-radius: 4px; font-weight: bold;
  margin: 2px; background: #cf222e; color: #fff; }
.livetrade-dashboard .lt-banner[data-level="warn"] { background: #fff8c5; color: #7d4e00;
  border: 1px solid #d4a72c; }
.livetrade-dashboard.lt-offline .lt-panel, .livetrade-dashboard.lt-offline .lt-status {
  opacity: 0.45; filter: grayscale(1); pointer-events: none; user-select: none; }
.livetrade-dashboard .widget-text input, .livetrade-dashboard .widget-dropdown select {
  min-width: 0; }
.livetrade-dashboard .lt-charts { display: flex; flex-flow: row wrap; min-width: 0; }
.livetrade-dashboard .lt-charts > .lt-chart { flex: 1 1 300px; min-width: 0; }
.livetrade-dashboard .lt-charts > .lt-price-chart { flex: 2 1 460px; }
.livetrade-dashboard .lt-timeframe .widget-toggle-button { height: 22px; line-height: 20px;
  font-size: 11px; padding: 0 4px; }
.livetrade-dashboard .lt-timeframe { margin: 0 0 -4px 4px; }
.livetrade-dashboard .lt-chart .modebar-container { top: 2px !important; }
.livetrade-dashboard .lt-bottom .widget-tab-contents { padding: 2px; }
.livetrade-dashboard .lt-panel.lt-bottom { margin: 2px 0; }
.livetrade-dashboard .lt-actions { flex-flow: row wrap; align-items: center; min-width: 0; }
.livetrade-dashboard .lt-actions .widget-text { width: 130px; }
.livetrade-dashboard .lt-actions button { width: auto; min-width: 0; }
</style>"""


def _walk(widget: Any) -> list[Any]:
    """A widget and everything it contains (children, layout and style models)."""
    out = [widget]
    for child in getattr(widget, "children", ()) or ():
        out += _walk(child)
    return out


def _close_tree(widget: Any) -> None:
    for w in _walk(widget):
        for part in (getattr(w, "layout", None), getattr(w, "style", None)):
            if part is not None and hasattr(part, "close"):
                part.close()
        w.close()


class Dashboard:
    """Live panels for one session. Display it (last expression of a cell); ``close()`` (or
    closing the session, or closing its widget) stops its task.

    Layout (fits a 1280x800 laptop with JupyterLab's file browser open): the status line with
    MTM and funds; quotes beside the order ticket; positions; then Orders / Fills / Charts
    tabs. Nothing is wider than its box: columns that do not fit hide (CSS container queries)
    and the charts follow their box's width.

    ``points`` bounds the P&L curve's series. ``clock``/``sleep`` drive the redraw task (inject
    fakes in tests); ``start=False`` leaves the task off so a test can call ``flush()`` itself
    (the charts are then built at once). With the task, plotly is imported off the loop and
    the figures are built when the Charts tab is first opened: importing plotly takes seconds
    and its front-end bundle is ~5 MB of JavaScript, and the tables should wait for neither.
    """

    def __init__(
        self,
        session: Session,
        *,
        max_hz: float = 10.0,
        symbols: list[str] | None = None,
        points: int = 2_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        start: bool = True,
    ) -> None:
        if isinstance(max_hz, bool) or not isinstance(max_hz, int | float) or not max_hz > 0:
            raise InvalidInput("max_hz", "must be a positive number of redraws per second")
        if session.closed:
            raise LiveTradeError(f"session {session.name!r} is closed; open a new one")
        loop: asyncio.AbstractEventLoop | None = None
        if start:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise LiveTradeError(
                    "dashboard() needs the running event loop: call it in a notebook cell or a "
                    "coroutine (the Jupyter kernel's loop is running in every cell)"
                ) from None
        previous = _OPEN.get(session)
        if previous is not None:
            previous.close()  # re-running the cell must not leave a second task behind
        self.session = session
        self.max_hz = float(max_hz)
        self.closed = False
        self.last_error: BaseException | None = None
        self._clock = clock
        self._sleep = sleep
        interval = 1.0 / self.max_hz
        has_options = bool(underlyings(session))
        names = PANELS + (OPTION_PANELS if has_options else ())
        self.throttle = Throttle(
            {name: interval * (CHART_COST if name.endswith("_chart") else 1) for name in names}
            | ({"chain": max(interval, CHAIN_INTERVAL)} if has_options else {})
        )
        self.monitor = FeedMonitor()
        self.board = QuoteBoardModel(session, symbols)
        self._watched = set(self.board.watched)
        self.prices = CandleSource()
        self.pnl = PnlSeries(points)
        self._ticked: set[str] = set()
        self._held = {p.symbol for p in session.engine.positions()}
        self._pnl_force = False
        self._status_at = -1e18
        self._seen_count = 0
        self._final = False
        self._task: asyncio.Task[None] | None = None
        self._charts_task: asyncio.Task[None] | None = None
        self._plotly: asyncio.Future[Any] | None = None

        w = ipywidgets()

        self.beacon = Heartbeat()
        self.status = StatusBar(session)
        self.quotes = QuoteBoard(self.board)
        self.depth = DepthPanel()
        self.ticket = OrderTicket(session, self.board.watched, clock=clock)
        self.positions = PositionsPanel(session)
        self.blotter = BlotterPanel(session)
        self.price_chart: PriceChart | None = None
        self.pnl_chart: PnlChart | None = None
        self.charts: Any = w.Box(
            [w.HTML('<span class="lt-muted">Charts are loading…</span>')],
            layout=w.Layout(width="100%", min_width="0"),
        )
        self.charts.add_class("lt-charts")
        self.quotes.on_watch_change = self._watch_changed
        self.quotes.on_pick = self._picked
        self.ticket.on_input = self._ticket_changed
        self.ticket.on_placed = self._order_placed
        self.chain = ChainPanel(session) if has_options else None
        self.payoff = PayoffPanel(session) if has_options else None
        extra = [("Charts", self.charts)]
        if self.chain is not None and self.payoff is not None:
            self.chain.on_pick = self._chain_picked
            self.chain.on_change = lambda: self.throttle.mark("chain")
            self.payoff.on_change = lambda: self.throttle.mark("payoff_chart")
            extra += [("Chain", self.chain.widget), ("Payoff", self.payoff.widget)]
        self.bottom: Any = self.blotter.tabs_with(*extra)
        self.bottom.add_class("lt-bottom")
        left = w.VBox([self.quotes.widget, self.depth.widget], layout=w.Layout(min_width="0"))
        left.add_class("lt-left")
        top = w.Box([left, self.ticket.widget], layout=w.Layout(width="100%"))
        top.add_class("lt-top")
        self.widget: Any = w.VBox(
            [
                w.HTML(CSS + CHAIN_CSS),
                self.beacon.widget,
                self.status.widget,
                top,
                self.positions.widget,
                self.bottom,
            ],
            layout=w.Layout(width="100%", min_width="0"),
        )
        self.widget.add_class("livetrade-dashboard")
        if session.engine.live:
            self.widget.add_class("lt-live-mode")
        self.widget.observe(self._widget_closed, names="comm")

        self._history_task: asyncio.Task[None] | None = None
        self._reset_prices(self.ticket.symbol.value or "")
        self.pnl.seed(session)
        session.stream.add_listener(self._on_tick)
        session.engine.add_listener(self._on_engine)
        _OPEN[session] = self
        if loop is None:
            self._build_charts()
        self.redraw()
        if loop is not None:
            self._task = loop.create_task(self._run(), name=f"livetrade:{session.name}:ui")
            # plotly's Python import starts now, off the loop; the figures (whose front-end
            # bundle is ~5 MB of JavaScript the browser must evaluate) only when the Charts
            # tab is first opened, so they never hold up the tables
            self._plotly = loop.run_in_executor(None, plotly_go)
            self.bottom.observe(self._tab_changed, names="selected_index")

    # ------------------------------------------------------------------ charts, later
    def _build_charts(self) -> None:
        self.price_chart = PriceChart(self.prices.timeframe)
        self.price_chart.on_timeframe = self._timeframe_changed
        self.pnl_chart = PnlChart()
        self.charts.children = [self.price_chart.widget, self.pnl_chart.widget]
        self.throttle.mark("price_chart", "pnl_chart")

    def _tab_changed(self, change: dict[str, Any]) -> None:
        if change.get("new") in (CHAIN_TAB, PAYOFF_TAB) and self.chain is not None:
            self.throttle.mark("chain" if change.get("new") == CHAIN_TAB else "payoff_chart")
        if change.get("new") == CHARTS_TAB and self._charts_task is None and not self.closed:
            self._charts_task = asyncio.get_running_loop().create_task(
                self._load_charts(), name=f"livetrade:{self.session.name}:ui-charts"
            )

    async def _load_charts(self) -> None:
        """Wait for plotly's import (started off the loop when the dashboard was built), then
        add the charts: the tables and the ticket were on screen long before."""
        try:
            if self._plotly is not None:
                await self._plotly
            await asyncio.sleep(0)
            if not self.closed:
                self._build_charts()
                self._draw_charts_now()
        except Exception as exc:  # charts are extras: the panels keep working without them
            self.last_error = exc
            log.exception("dashboard charts failed to load")
            self.charts.children = [
                ipywidgets().HTML(f'<span class="lt-err">Charts unavailable: {exc}</span>')
            ]

    def _draw_charts_now(self) -> None:
        now = self._clock()
        for name in ("price_chart", "pnl_chart"):
            self.throttle.mark(name)
        for name in self.throttle.take(now, force=True):
            self._draw(name, now)

    # ------------------------------------------------------------------ event handlers
    def _on_tick(self, symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        """Hot path (every tick): count and remember the symbol (the stream builds the
        candles itself)."""
        self.monitor.count += 1
        self._ticked.add(symbol)

    def _on_engine(self, event: EngineEvent) -> None:
        kind = event.kind
        mark = self.throttle.mark
        if kind == "fill":
            self._pnl_force = True
            mark("positions", "status", "ticket", "blotter", "pnl_chart")
            if event.fill is not None and event.fill.symbol == self.prices.symbol:
                mark("price_chart")
        elif kind.startswith("position_"):
            self._held = {p.symbol for p in self.session.engine.positions()}
            mark("positions", "status")
        elif kind.startswith("order_"):
            mark("blotter")
            order = event.order
            if (
                order is not None
                and order.symbol == self.prices.symbol
                and order.role is not Role.ENTRY
            ):
                mark("price_chart")
        elif kind == "kill_switch":
            mark("status")
            self.ticket.clear_result()  # "Rejected: Trading is halted" is over after Resume

    def _absorb(self) -> None:
        """Turn the symbols that ticked since the last look into dirty panels."""
        if not self._ticked:
            return
        syms, self._ticked = self._ticked, set()
        mark = self.throttle.mark
        mark("status", "pnl_chart")  # the P&L curve follows market time even when flat
        if not syms.isdisjoint(self._watched):
            mark("quotes")
        if self.ticket.symbol.value in syms:
            mark("ticket", "depth")
        if self.prices.symbol in syms:
            mark("price_chart")
        if not syms.isdisjoint(self._held):
            mark("positions")
        tab = self.bottom.selected_index
        if self.chain is not None and tab == CHAIN_TAB and not syms.isdisjoint(self.chain.symbols):
            mark("chain")  # a hidden chain is not recomputed; opening its tab draws it
        if self.payoff is not None and tab == PAYOFF_TAB and not syms.isdisjoint(self._held):
            mark("payoff_chart")

    def _watch_changed(self) -> None:
        self._watched = set(self.board.watched)
        self.ticket.set_symbols(self.board.watched)
        self.throttle.mark("quotes")

    def _chain_picked(self, symbol: str, side: Any) -> None:
        """A click on the chain: a Bid sells, an Ask buys one lot of that contract."""
        self.ticket.load(symbol, side=side, quantity=1 if side is not None else None)
        self.throttle.mark("ticket", "depth")

    def _picked(self, symbol: str) -> None:
        """A click on a quote row: that symbol on the ticket and the price chart."""
        self.ticket.load(symbol)

    def _reset_prices(self, symbol: str, timeframe: str | None = None) -> None:
        """Chart ``symbol`` (and ``timeframe``). A Fyers session's past comes from
        ``/data/history`` (once per range: cached on disk), loaded in the background; the
        candles built so far show meanwhile and the past joins them when it arrives."""
        self.prices.reset(self.session, symbol, timeframe)
        if self.session.fyers_feed is None or not symbol:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._history_task is not None:
            self._history_task.cancel()
        self._history_task = loop.create_task(
            self._load_history(symbol, self.prices.timeframe, self.prices.start_ns),
            name=f"livetrade:{self.session.name}:ui-history",
        )

    async def _load_history(self, symbol: str, timeframe: str, start_ns: int | None) -> None:
        try:
            await self.session.history(symbol, timeframe, start=start_ns)
        except LiveTradeError as exc:  # the chart still has the live candles
            log.warning("chart history for %s %s: %s", symbol, timeframe, exc)
            return
        if not self.closed:
            self.throttle.mark("price_chart")

    def _timeframe_changed(self, timeframe: str) -> None:
        """The chart's timeframe buttons: the same symbol's candles of ``timeframe``."""
        if timeframe != self.prices.timeframe:
            self._reset_prices(self.prices.symbol, timeframe)
            self.throttle.mark("price_chart")

    def _order_placed(self) -> None:
        self.throttle.mark("ticket", "status", "blotter", "positions")

    def _ticket_changed(self, symbol_changed: bool) -> None:
        if symbol_changed:
            symbol = self.ticket.symbol.value or ""
            self._reset_prices(symbol)
            self.quotes.select(symbol)
            self.throttle.mark("price_chart", "quotes", "depth")
        self.throttle.mark("ticket")

    def _widget_closed(self, change: dict[str, Any]) -> None:
        if change.get("new") is None:
            self.close()

    # ------------------------------------------------------------------ drawing
    def view(self, name: str, now: float | None = None) -> Any:
        """The view-model panel ``name`` would draw now (what it shows, without a frontend)."""
        now = self._clock() if now is None else now
        s = self.session
        if name == "status":
            return status_view(s, self.monitor.observe(now), now)
        if name == "quotes":
            return self.board.view()
        if name == "depth":
            return depth_view(s, self.ticket.symbol.value or "")
        if name == "ticket":
            return what_if(s, self.ticket.read())
        if name == "positions":
            return positions_view(s)
        if name == "blotter":
            return blotter_view(s)
        if name == "price_chart":
            return price_chart_view(s, self.prices)
        if name == "chain" and self.chain is not None:
            return self.chain.view()
        if name == "payoff_chart" and self.payoff is not None:
            return payoff_view(s, self.payoff.refresh_underlyings())
        if name == "pnl_chart":
            self.pnl.sample(s.clock.now_ns(), s.engine.pnl_paise(), force=self._pnl_force)
            self._pnl_force = False
            return pnl_chart_view(self.pnl)
        raise KeyError(name)

    def _panels(self) -> dict[str, Any]:
        panels: dict[str, Any] = {
            "status": self.status,
            "quotes": self.quotes,
            "depth": self.depth,
            "ticket": self.ticket,
            "positions": self.positions,
            "blotter": self.blotter,
            "price_chart": self.price_chart,
            "pnl_chart": self.pnl_chart,
            "chain": self.chain,
            "payoff_chart": self.payoff,
        }
        return {k: v for k, v in panels.items() if v is not None}

    def _draw(self, name: str, now: float) -> None:
        panel = self._panels().get(name)
        if panel is None:  # a chart not built yet: it draws when it is
            if name == "pnl_chart":
                self.view(name, now)  # but the P&L curve keeps its samples meanwhile
            return
        try:
            panel.update(self.view(name, now))
            if name == "status":
                self._status_at = now
        except Exception as exc:  # one bad redraw must not kill the task or the kernel cell
            self.last_error = exc
            log.exception("dashboard panel %s failed to draw", name)
            self.session.error_event.emit(exc)

    def flush(self, now: float | None = None) -> list[str]:
        """Draw every dirty panel that is due at ``now``; returns their names. The task calls
        this; tests call it directly with their own clock."""
        now = self._clock() if now is None else now
        self._housekeeping(now)
        if self.session.closed:
            self._last_redraw()
            return list(PANELS)
        self._absorb()
        names = self.throttle.take(now)
        for name in names:
            self._draw(name, now)
        return names

    def _housekeeping(self, now: float) -> None:
        """Every loop turn: the heartbeat, re-enabling Buy/Sell, what the kernel knows."""
        self.beacon.beat(now)
        self.ticket.release(now)
        if self.session.closed:
            return
        state, _ = feed_state(self.session, self.monitor.observe(now), now)
        if state in FEED_TROUBLE or state.startswith(FEED_TROUBLE):
            self.beacon.say("warn", f"Feed {state}: prices may be old; orders may be refused.")
        else:
            self.beacon.say("", "")

    def _last_redraw(self) -> None:
        """The session closed: draw every panel once more (so the charts agree with the
        tables), then grey the controls out and say so."""
        if self._final:
            return
        self._final = True
        self._pnl_force = True
        self.redraw()
        self.ticket.set_enabled(False)
        self.quotes.set_enabled(False)
        self.positions.set_enabled(False)
        self.blotter.set_enabled(False)
        if self.chain is not None:
            self.chain.set_enabled(False)
        self.beacon.say(
            "dead",
            f"Session {self.session.name!r} is closed: this dashboard is no longer live. "
            "Open a session and its dashboard again to trade.",
        )

    def redraw(self) -> None:
        """Draw every panel now, whatever the throttle says (first display, after a change the
        throttle cannot see)."""
        now = self._clock()
        self._absorb()
        self.throttle.mark_all()
        for name in self.throttle.take(now, force=True):
            self._draw(name, now)

    async def _run(self) -> None:
        poll = 1.0 / self.max_hz
        try:
            while not self.closed:
                now = self._clock()
                self._housekeeping(now)
                if self.session.closed:
                    self._last_redraw()
                    break
                self._absorb()
                wait = self.throttle.wait(now)
                if wait is not None and wait > 0 and self._market_paused():
                    wait = 0.0  # a virtual-clock run just ended: draw its last state now
                    names = self.throttle.take(now, force=True)
                else:
                    names = self.throttle.take(now) if wait == 0 else []
                if wait is None:
                    if self.session.realtime and now - self._status_at >= STATUS_REFRESH_S:
                        self.throttle.mark("status")
                        continue
                    await self._sleep(poll)
                elif wait > 0:
                    # never longer than a frame: panels marked meanwhile are due sooner
                    await self._sleep(min(wait, poll))
                else:
                    for name in names:
                        self._draw(name, now)
                        # between panels, let waiting cells and comm messages run: a frame
                        # never holds the kernel for more than one panel's redraw
                        await asyncio.sleep(0)
                    if not names:
                        await self._sleep(poll)
        finally:
            if self.session.closed:  # nothing will tick again: let go of the session
                self._detach()
                if _OPEN.get(self.session) is self:
                    del _OPEN[self.session]

    def _market_paused(self) -> bool:
        """On the virtual clock ticks come only from ``run_for``/``step``: no tick since the
        last turn means the run ended, so the throttle has nothing left to protect."""
        count = self.monitor.count
        paused = not self.session.realtime and count == self._seen_count
        self._seen_count = count
        return paused

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def _detach(self) -> None:
        with contextlib.suppress(ValueError):  # already removed
            self.session.stream.remove_listener(self._on_tick)
        self.session.engine.remove_listener(self._on_engine)

    def close(self) -> None:
        """Stop the redraw task, detach from the session and close every widget (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for task in (self._task, self._charts_task, self._history_task):
            if task is not None and not task.done():
                task.cancel()
        self._detach()
        _close_tree(self.widget)
        if _OPEN.get(self.session) is self:
            del _OPEN[self.session]

    async def aclose(self) -> None:
        """``close()`` and wait for the task to finish."""
        self.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def panel_model_ids(self) -> dict[str, list[str]]:
        """Widget model ids per panel (to attribute comm traffic in benchmarks); the blotter's
        tabs hold the charts, the chain and the payoff, which count as theirs. The heartbeat
        is ``"beacon"``."""
        ids = {
            name: [w.model_id for w in _walk(panel.widget)]
            for name, panel in self._panels().items()
        }
        tabbed = ("price_chart", "pnl_chart", "chain", "payoff_chart")
        charts = {i for name in tabbed for i in ids.get(name, ())}
        ids["blotter"] = [i for i in ids["blotter"] if i not in charts]
        return ids

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The root widget's bundle with a stable ``text/plain`` (nbval compares that)."""
        data: dict[str, Any] = {}
        if not self.closed:
            data = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        data["text/plain"] = repr(self)
        return data

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"max_hz={self.max_hz:g}"
        return f"Dashboard(session={self.session.name!r}, {state})"


def dashboard(session: Session, *, max_hz: float = 10, **kwargs: Any) -> Dashboard:
    """Live panels for ``session``: status bar, quote board, order ticket, price and P&L
    charts, positions and blotter, redrawn at most ``max_hz`` times a second. Opening another
    dashboard on the same session closes this one."""
    return Dashboard(session, max_hz=max_hz, **kwargs)
