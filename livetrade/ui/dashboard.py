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
from livetrade.ui.blotter import BlotterPanel, blotter_view
from livetrade.ui.charts import (
    CHART_WIDTH,
    PnlChart,
    PnlSeries,
    PriceBuffer,
    PriceChart,
    pnl_chart_view,
    price_chart_view,
)
from livetrade.ui.common import ipywidgets
from livetrade.ui.positions import PositionsPanel, positions_view
from livetrade.ui.quotes import QuoteBoard, QuoteBoardModel
from livetrade.ui.status import FeedMonitor, StatusBar, status_view
from livetrade.ui.throttle import Throttle
from livetrade.ui.ticket import OrderTicket, what_if

if TYPE_CHECKING:
    from livetrade.session import Session

log = logging.getLogger("livetrade.ui")

PANELS = ("status", "quotes", "ticket", "positions", "blotter", "price_chart", "pnl_chart")
CHART_COST = 4
"""Comm messages per Plotly redraw; charts redraw ``CHART_COST`` times less often than the
other panels so that every panel stays within ``max_hz`` messages a second."""

STATUS_REFRESH_S = 1.0  # the last-tick age keeps counting while no tick arrives

_OPEN: weakref.WeakKeyDictionary[Any, Dashboard] = weakref.WeakKeyDictionary()

CSS = """<style>
.livetrade-dashboard { font-size: 12px; }
.livetrade-dashboard .lt-panel { border: 1px solid #d0d7de; border-radius: 6px; padding: 4px 8px;
  margin: 3px; }
.livetrade-dashboard .lt-table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.livetrade-dashboard .lt-table th, .livetrade-dashboard .lt-table td { padding: 1px 8px;
  text-align: right; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
.livetrade-dashboard .lt-table th:first-child, .livetrade-dashboard .lt-table td.lt-sym,
.livetrade-dashboard .lt-table td.lt-empty { text-align: left; }
.livetrade-dashboard .lt-pos, .livetrade-dashboard .lt-ok { color: #1a7f37; }
.livetrade-dashboard .lt-neg, .livetrade-dashboard .lt-err { color: #cf222e; }
.livetrade-dashboard .lt-warn { color: #9a6700; }
.livetrade-dashboard .lt-muted { color: #6e7781; }
.livetrade-dashboard .lt-whatif-bad { color: #9a6700; }
.livetrade-dashboard .lt-badge { padding: 2px 8px; border-radius: 4px; font-weight: bold; }
.livetrade-dashboard .lt-paper { background: #ddf4ff; color: #0969da; border: 1px solid #54aeff; }
.livetrade-dashboard .lt-live { background: #cf222e; color: #fff; font-size: 14px; }
.livetrade-dashboard.lt-live-mode { border: 3px solid #cf222e; border-radius: 6px; }
.livetrade-dashboard .lt-summary { margin-top: 2px; }
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

    ``points`` bounds each chart's series; ``chart_width`` is each chart's width in pixels.
    ``clock``/``sleep`` drive the redraw task (inject fakes in tests); ``start=False`` leaves
    the task off so a test can call ``flush()`` itself.
    """

    def __init__(
        self,
        session: Session,
        *,
        max_hz: float = 10.0,
        symbols: list[str] | None = None,
        points: int = 2_000,
        chart_width: int = CHART_WIDTH,
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
        self.throttle = Throttle(
            {name: interval * (CHART_COST if name.endswith("_chart") else 1) for name in PANELS}
        )
        self.monitor = FeedMonitor()
        self.board = QuoteBoardModel(session, symbols)
        self._watched = set(self.board.watched)
        self.prices = PriceBuffer(points)
        self.pnl = PnlSeries(points)
        self._ticked: set[str] = set()
        self._held = {p.symbol for p in session.engine.positions()}
        self._pnl_force = False
        self._status_at = -1e18
        self._task: asyncio.Task[None] | None = None

        w = ipywidgets()

        self.status = StatusBar(session)
        self.quotes = QuoteBoard(self.board)
        self.ticket = OrderTicket(session, self.board.watched)
        self.positions = PositionsPanel(session)
        self.blotter = BlotterPanel(session)
        self.price_chart = PriceChart(chart_width)
        self.pnl_chart = PnlChart(chart_width)
        self.quotes.on_watch_change = self._watch_changed
        self.ticket.on_input = self._ticket_changed
        self.widget: Any = w.VBox(
            [
                w.HTML(CSS),
                self.status.widget,
                w.HBox([self.quotes.widget, self.ticket.widget],
                       layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.price_chart.widget, self.pnl_chart.widget],
                       layout=w.Layout(flex_flow="row wrap")),
                self.positions.widget,
                self.blotter.widget,
            ]
        )  # fmt: skip
        self.widget.add_class("livetrade-dashboard")
        if session.engine.live:
            self.widget.add_class("lt-live-mode")
        self.widget.observe(self._widget_closed, names="comm")

        self.prices.reset(session, self.ticket.symbol.value or "")
        self.pnl.seed(session)
        session.stream.add_listener(self._on_tick)
        session.engine.add_listener(self._on_engine)
        _OPEN[session] = self
        self.redraw()
        if loop is not None:
            self._task = loop.create_task(self._run(), name=f"livetrade:{session.name}:ui")

    # ------------------------------------------------------------------ event handlers
    def _on_tick(self, symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        """Hot path (every tick): count, remember the symbol, extend the chart series."""
        self.monitor.count += 1
        self._ticked.add(symbol)
        if symbol == self.prices.symbol:
            self.prices.points.append((ts_ns, last))

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
            mark("ticket")
        if self.prices.symbol in syms:
            mark("price_chart")
        if not syms.isdisjoint(self._held):
            mark("positions")

    def _watch_changed(self) -> None:
        self._watched = set(self.board.watched)
        self.ticket.set_symbols(self.board.watched)
        self.throttle.mark("quotes")

    def _ticket_changed(self, symbol_changed: bool) -> None:
        if symbol_changed:
            self.prices.reset(self.session, self.ticket.symbol.value or "")
            self.throttle.mark("price_chart")
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
        if name == "ticket":
            return what_if(s, self.ticket.read())
        if name == "positions":
            return positions_view(s)
        if name == "blotter":
            return blotter_view(s)
        if name == "price_chart":
            return price_chart_view(s, self.prices)
        if name == "pnl_chart":
            self.pnl.sample(s.clock.now_ns(), s.engine.pnl_paise(), force=self._pnl_force)
            self._pnl_force = False
            return pnl_chart_view(self.pnl)
        raise KeyError(name)

    def _panels(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "quotes": self.quotes,
            "ticket": self.ticket,
            "positions": self.positions,
            "blotter": self.blotter,
            "price_chart": self.price_chart,
            "pnl_chart": self.pnl_chart,
        }

    def _draw(self, name: str, now: float) -> None:
        try:
            self._panels()[name].update(self.view(name, now))
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
        self._absorb()
        names = self.throttle.take(now)
        for name in names:
            self._draw(name, now)
        return names

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
                if self.session.closed:
                    self._draw("status", self._clock())  # shows "stopped"
                    break
                self._absorb()
                now = self._clock()
                wait = self.throttle.wait(now)
                if wait is None:
                    if self.session.realtime and now - self._status_at >= STATUS_REFRESH_S:
                        self.throttle.mark("status")
                        continue
                    await self._sleep(poll)
                elif wait > 0:
                    # never longer than a frame: panels marked meanwhile are due sooner
                    await self._sleep(min(wait, poll))
                else:
                    for name in self.throttle.take(now):
                        self._draw(name, now)
                        # between panels, let waiting cells and comm messages run: a frame
                        # never holds the kernel for more than one panel's redraw
                        await asyncio.sleep(0)
        finally:
            if self.session.closed:  # nothing will tick again: let go of the session
                self._detach()
                if _OPEN.get(self.session) is self:
                    del _OPEN[self.session]

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
        if self._task is not None and not self._task.done():
            self._task.cancel()
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
        """Widget model ids per panel (to attribute comm traffic in benchmarks)."""
        return {
            name: [w.model_id for w in _walk(panel.widget)]
            for name, panel in self._panels().items()
        }

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
