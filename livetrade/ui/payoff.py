"""Payoff panel: the open positions of one underlying at expiry and today (Plotly).

The curves come from :mod:`livetrade.payoff`; the figure is a ``FigureWidget`` with fixed
trace uids, redrawn in one ``batch_update`` at the dashboard's chart rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.chain import chain_source
from livetrade.errors import LiveTradeError
from livetrade.fmt import inr
from livetrade.payoff import legs_for, payoff_curves
from livetrade.ui.chain import open_interest_source
from livetrade.ui.common import ipywidgets, plotly_go

if TYPE_CHECKING:
    from livetrade.session import Session

HEIGHT = 320


@dataclass(frozen=True, slots=True)
class PayoffView:
    """Grid prices and P&L (₹) at expiry and today; ``message`` when there is nothing to draw."""

    title: str
    x: tuple[float, ...] = ()
    expiry: tuple[float, ...] = ()
    today: tuple[float, ...] = ()
    spot: float = math.nan
    breakevens: tuple[float, ...] = ()
    message: str = ""


def held_underlyings(session: Session) -> list[str]:
    """Underlyings of the open F&O positions (what a payoff can be drawn for)."""
    out = set()
    for p in session.engine.positions():
        inst = session.engine.instruments.get(p.symbol)
        if inst.underlying:
            out.add(inst.underlying)
    return sorted(out)


def payoff_view(session: Session, underlying: str) -> PayoffView:
    if not underlying:
        return PayoffView("Payoff", message="No open F&O position: nothing to draw.")
    now = session.now
    chains = chain_source(
        session.engine.instruments, session.stream.quote, now, oi=open_interest_source(session)
    )
    positions = [(p.symbol, p.quantity, float(p.avg_buy_price)) for p in session.engine.positions()]
    q = session.stream.quote(underlying)
    spot = float(q.last_price) if q is not None else math.nan
    try:
        legs = legs_for(
            underlying, positions, session.engine.instruments, chains, session.stream.quote, now
        )
        curves = payoff_curves(legs, spot, now)
    except LiveTradeError as exc:
        return PayoffView(f"{underlying} payoff", message=str(exc))
    when = curves.attrs["expiry"]
    bes = tuple(curves.attrs["breakevens"])
    at_spot = float(curves["today"].iloc[(abs(curves.index.to_numpy() - spot)).argmin()])
    title = (
        f"{underlying}: {len(legs)} leg{'s' if len(legs) != 1 else ''} · expiry {when:%d %b} · "
        f"today at spot {inr(round(at_spot * 100), sign=True)}"
        + (" · breakeven " + ", ".join(f"{b:,.0f}" for b in bes) if bes else "")
    )
    return PayoffView(
        title,
        tuple(curves.index.tolist()),
        tuple(curves["expiry"].tolist()),
        tuple(curves["today"].tolist()),
        spot,
        bes,
    )


class PayoffPanel:
    """Thin adapter: an underlying picker and the figure (built on first draw: plotly loads
    off the loop meanwhile)."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()
        self.session = session
        self.underlying: Any = w.Dropdown(
            options=[], layout=w.Layout(width="180px", flex="0 0 auto")
        )
        self.note: Any = w.HTML(value="")
        self.fig: Any = None
        self.on_change: Any = None
        self.underlying.observe(lambda _c: self.on_change and self.on_change(), names="value")
        self.box: Any = w.VBox([], layout=w.Layout(min_width="0", width="100%"))
        top = w.HBox([self.underlying, self.note], layout=w.Layout(align_items="center"))
        self.widget: Any = w.VBox([top, self.box], layout=w.Layout(min_width="0"))
        self.widget.add_class("lt-payoff")
        self.widget.add_class("lt-chart")

    def refresh_underlyings(self) -> str:
        names = held_underlyings(self.session)
        if list(self.underlying.options) != names:
            current = self.underlying.value
            self.underlying.options = names
            self.underlying.value = current if current in names else (names[0] if names else None)
        return str(self.underlying.value or "")

    def _figure(self) -> Any:
        if self.fig is None:
            from livetrade.ui.charts import CONFIG, _figure_class

            go = plotly_go()
            self.fig = _figure_class()(
                data=[
                    go.Scatter(uid="lt-payoff-expiry", name="at expiry", mode="lines",
                               line={"color": "#0969da", "width": 2}),
                    go.Scatter(uid="lt-payoff-today", name="today", mode="lines",
                               line={"color": "#bf8700", "width": 2, "dash": "dash"}),
                ],
                layout={
                    "height": HEIGHT, "autosize": True, "template": "plotly_white",
                    "margin": {"l": 10, "r": 40, "t": 10, "b": 30}, "uirevision": "payoff",
                    "yaxis": {"automargin": True, "title": {"text": "P&L ₹"}},
                    "xaxis": {"title": {"text": "underlying"}},
                    "legend": {"orientation": "h", "y": 1.08, "x": 0},
                    "hovermode": "x unified", "modebar": {"orientation": "v"},
                },
            )  # fmt: skip
            self.fig._config = CONFIG
            self.box.children = [self.fig]
        return self.fig

    def update(self, view: PayoffView) -> None:
        self.note.value = f'<span class="lt-muted">{view.message or view.title}</span>'
        if view.message:
            return
        fig = self._figure()
        lines = [{"type": "line", "xref": "x", "yref": "paper", "x0": view.spot,
                  "x1": view.spot, "y0": 0, "y1": 1,
                  "line": {"color": "#57606a", "width": 1, "dash": "dot"}},
                 {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0,
                  "y1": 0, "line": {"color": "#8c959f", "width": 1}}]  # fmt: skip
        lines += [
            {"type": "line", "xref": "x", "yref": "paper", "x0": b, "x1": b, "y0": 0, "y1": 1,
             "line": {"color": "#cf222e", "width": 1, "dash": "dot"}}
            for b in view.breakevens
        ]  # fmt: skip
        with fig.batch_update():
            fig.data[0].x, fig.data[0].y = view.x, view.expiry
            fig.data[1].x, fig.data[1].y = view.x, view.today
            fig.layout.shapes = lines
