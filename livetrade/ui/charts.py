"""Charts: the P&L curve, and what every chart shares (the price chart is in ``candles.py``).

Charts are Plotly ``FigureWidget``s with fixed trace uids (a random uid would make every saved
notebook differ). A redraw is one ``batch_update`` — four comm messages in plotly 7 (two edit
ids, the update, its reset) — so the dashboard draws charts at a quarter of its panel rate.
The P&L series is kept here, bounded, sampled at the chart's redraws.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from livetrade.fmt import inr
from livetrade.ui.common import ipywidgets, plotly_go

if TYPE_CHECKING:
    from livetrade.session import Session

SECOND_NS = 1_000_000_000
IST_OFFSET_NS = 19_800 * SECOND_NS
"""Chart times are written as Asia/Kolkata wall time (+05:30, no DST), the market's clock,
whatever the browser's time zone."""


class PnlSeries:
    """The P&L curve: at most one point per ``bucket_ns`` of market time, the newest point
    following the market live; fills always start a new point."""

    def __init__(self, maxlen: int = 2_000, bucket_ns: int = SECOND_NS) -> None:
        self.points: deque[tuple[int, int, int, int]] = deque(maxlen=maxlen)
        self.bucket_ns = bucket_ns
        self._anchor: int | None = None  # time of the last committed point
        self._live = False  # whether the last point is a replaceable head

    def seed(self, session: Session) -> None:
        """Start from the session's own equity-curve samples (taken before the dashboard)."""
        frame = session.pnl_df()
        n = self.points.maxlen or 0
        if n == 0 or frame.empty:
            return
        tail = frame.tail(n)
        import pandas as pd

        ts = pd.DatetimeIndex(tail.index).as_unit("ns").asi8.tolist()
        realized = tail["realized"].tolist()
        charges = tail["charges"].tolist()
        unrealized = tail["unrealized"].tolist()
        for t, r, c, u in zip(ts, realized, charges, unrealized, strict=True):
            rn, un = round(r * 100) - round(c * 100), round(u * 100)
            self.points.append((int(t), rn, un, rn + un))
        self._anchor, self._live = self.points[-1][0], False

    def sample(self, ts_ns: int, pnl: dict[str, int], force: bool = False) -> None:
        """Add the engine's ``pnl_paise()`` at market time ``ts_ns``."""
        point = (ts_ns, pnl["net_realized"], pnl["unrealized"], pnl["total"])
        pts = self.points
        if pts and ts_ns < pts[-1][0]:
            return  # never draw backwards in time
        if pts and pts[-1][0] == ts_ns:
            pts[-1] = point
            if force:
                self._anchor, self._live = ts_ns, False
            return
        if not pts or force or self._anchor is None or ts_ns - self._anchor >= self.bucket_ns:
            if self._live and not force:
                pts[-1] = point  # the live head becomes this bucket's point
            else:
                pts.append(point)
            self._anchor, self._live = ts_ns, False
        elif self._live:
            pts[-1] = point
        else:
            pts.append(point)
            self._live = True


@dataclass(frozen=True, slots=True)
class PnlChartView:
    """Realized (net of charges), unrealized and net P&L in paise over market time (ns)."""

    ts: tuple[int, ...]
    realized: tuple[int, ...]
    unrealized: tuple[int, ...]
    net: tuple[int, ...]

    @property
    def title(self) -> str:
        if not self.net:
            return "P&L"
        return f"P&L — net {inr(self.net[-1], sign=True)}"


def pnl_chart_view(series: PnlSeries) -> PnlChartView:
    if not series.points:
        return PnlChartView((), (), (), ())
    ts, realized, unrealized, net = (tuple(c) for c in zip(*series.points, strict=True))
    return PnlChartView(ts, realized, unrealized, net)


# ---------------------------------------------------------------------------- widgets
@cache
def _figure_class() -> Any:
    """``FigureWidget`` that keeps the uids we give (plotly otherwise assigns random ones)."""
    base: Any = plotly_go().FigureWidget
    return type("Figure", (base,), {"_set_trace_uid": False, "__module__": __name__})


CHART_HEIGHT = 346  # level with the price chart beside it (its timeframe buttons included)
CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"],
}
"""``responsive``: Plotly resizes the chart to its box on window resizes, which the dashboard's
beacon raises whenever the box's width changes (first layout, tab shown, sidebar toggled)."""


def _layout(title: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left"},
        "autosize": True,
        "width": None,  # follow the box (see CONFIG); a fixed width overflowed or wasted it
        "height": CHART_HEIGHT,
        "margin": {"l": 10, "r": 40, "t": 30, "b": 26},
        "template": "plotly_white",
        "uirevision": "livetrade",
        "xaxis": {"type": "date"},  # IST wall-time strings (see ``_dates``)
        "yaxis": {"automargin": True, "tickmode": "array", "tickvals": [], "ticktext": []},
        "legend": {"orientation": "h", "y": -0.18},
        "modebar": {"orientation": "v"},  # down the right edge, never over the title
        "showlegend": True,
    }


def money_ticks(values: Sequence[int | None], sign: bool = False) -> tuple[list[float], list[str]]:
    """Y-axis ticks for paise values, labelled in the one money format (Plotly's own number
    formats cannot group in lakhs): about five round steps across the data's range."""
    vals = [v for v in values if v is not None]
    if not vals:
        return [], []
    lo, hi = min(vals), max(vals)
    span = max(hi - lo, 1)
    raw = span / 4
    mag = 10 ** max(0, math.floor(math.log10(raw)))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = list(range(first, hi + 1, step)) or [lo]
    return [t / 100 for t in ticks], [inr(t, sign=sign) for t in ticks]


MAX_DRAWN_POINTS = 600
"""A chart is a few hundred pixels wide: more points than this only cost validation and
bytes, so longer series are thinned (evenly, always keeping the newest point)."""


def _thin(x: tuple[Any, ...], y: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    n = len(x)
    if n <= MAX_DRAWN_POINTS:
        return x, y
    step = -(-n // MAX_DRAWN_POINTS)
    start = (n - 1) % step
    return x[start::step], y[start::step]


def _rupees(paise: Any) -> Any:
    """Paise as a float64 rupee array (``None`` gaps become NaN): one binary buffer."""
    import numpy as np

    try:
        return np.asarray(paise, dtype="float64") / 100
    except TypeError:  # gaps
        return np.array([math.nan if p is None else p for p in paise], dtype="float64") / 100


def _dates(ts_ns: Any) -> Any:
    """Epoch ns as IST wall-time ISO strings (``None`` gaps stay ``None``). Plotly.js turned a
    date axis fed numeric typed arrays back into a linear one (seen in Chromium), so x goes
    as text."""
    import numpy as np

    raw = list(ts_ns)
    gaps = [i for i, t in enumerate(raw) if t is None]
    for i in gaps:
        raw[i] = 0
    ns = np.asarray(raw, dtype="int64") + IST_OFFSET_NS
    out = np.datetime_as_string(ns.astype("datetime64[ns]"), unit="ms").astype(object)
    out[gaps] = None
    return out


class _Traces:
    """Sets a trace's x/y only when its data changed since the last redraw (each set costs a
    validation and bytes on the wire); long series are thinned to ``MAX_DRAWN_POINTS``."""

    def __init__(self, fig: Any) -> None:
        self.fig = fig
        self._sent: dict[int, tuple[Any, Any]] = {}
        self._x: tuple[tuple[Any, ...], Any] = ((), None)  # last converted x (shared by traces)

    def set(self, i: int, x: Sequence[Any], y: Sequence[Any]) -> None:
        x, y = _thin(tuple(x), tuple(y))
        if self._sent.get(i) == (x, y):
            return
        self._sent[i] = (x, y)
        if self._x[0] != x or self._x[1] is None:
            self._x = (x, _dates(x))
        trace = self.fig.data[i]
        trace.x, trace.y = self._x[1], _rupees(y)

    def title(self, text: str) -> None:
        if self.fig.layout.title.text != text:
            self.fig.layout.title.text = text

    def yticks(self, values: Sequence[int | None], sign: bool = False) -> None:
        vals, text = money_ticks(values, sign)
        axis = self.fig.layout.yaxis
        if tuple(axis.ticktext or ()) != tuple(text):
            axis.tickvals, axis.ticktext = vals, text


class PnlChart:
    """Thin adapter over a ``FigureWidget``: net, realized and unrealized P&L."""

    def __init__(self) -> None:
        w = ipywidgets()
        go = plotly_go()

        self.fig: Any = _figure_class()(
            data=[
                go.Scatter(uid="lt-net", name="net P&L", mode="lines", x=[], y=[],
                           line={"color": "#111111", "width": 2}),
                go.Scatter(uid="lt-realized", name="realized (net of charges)", mode="lines",
                           x=[], y=[], line={"color": "#2ca02c", "width": 1}),
                go.Scatter(uid="lt-unrealized", name="unrealized", mode="lines", x=[], y=[],
                           line={"color": "#ff7f0e", "width": 1}),
            ],
            layout=_layout("P&L"),
        )  # fmt: skip
        self.fig._config = CONFIG
        self.widget: Any = w.VBox([self.fig], layout=w.Layout(min_width="0"))
        self.widget.add_class("lt-pnl-chart")
        self.widget.add_class("lt-chart")
        self._traces = _Traces(self.fig)

    def update(self, view: PnlChartView) -> None:
        t = self._traces
        with self.fig.batch_update():
            t.set(0, view.ts, view.net)
            t.set(1, view.ts, view.realized)
            t.set(2, view.ts, view.unrealized)
            t.title(view.title)
            t.yticks([*view.net, *view.realized, *view.unrealized], sign=True)
