"""The price chart: the selected symbol's candles with volume, its fills and its SL/TP levels.

Why it is built this way:

* The candles are the session's own (``session.market_data``): built from ticks by the stream's
  bar hook and merged over the past, which a simulated market back-fills as soon as the chart
  asks from before the session (a Fyers session merges what is in its history cache). The
  chart reads numpy columns in paise, never a DataFrame.
* Bars sit at their index on the x axis (0, 1, 2 ...), with time labels Python chooses: a
  terminal draws bars edge to edge, without the nights and weekends a date axis would leave
  as gaps, and the live market may tick outside exchange hours (the simulated one does).
* The closed bars and the live bar are separate traces. A redraw while a bar is forming sends
  only the live bar (one candle, one volume bar); the closed traces are sent again only when a
  bar closes (their length changes) or the symbol, the timeframe or the past changes.
* The view opens on the newest ``VISIBLE_BARS`` bars with the price axis fitted to them and
  labelled in the one money format; panning or zooming is the trader's own (``uirevision``)
  until the symbol or the timeframe changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from livetrade.bars import DAY_NS, IST_OFFSET_NS, NS, OPEN_NS, TIMEFRAMES, BarColumns
from livetrade.errors import LiveTradeError
from livetrade.fmt import group_indian, inr
from livetrade.model import Role, Side
from livetrade.ui.charts import CONFIG, _figure_class, _layout, money_ticks
from livetrade.ui.common import ipywidgets, plotly_go

if TYPE_CHECKING:
    from livetrade.session import Session

TIMEFRAME_CHOICES = ("1min", "5min", "15min", "1h", "1D")
DEFAULT_TIMEFRAME = "5min"
LOOKBACK_DAYS = {"1min": 2, "5min": 3, "15min": 8, "1h": 25, "1D": 90}
"""Trading days of the past the chart opens with, per timeframe (others: 5)."""
MAX_BARS = 800  # the newest bars kept in the chart (a few screens of scrolling back)
VISIBLE_BARS = 90  # bars in view when the chart opens (about 6 px a candle at 600 px)
PRICE_CHART_HEIGHT = 320
_EPOCH = date(1970, 1, 1)


def _ist_date(ts_ns: int) -> date:
    return _EPOCH + timedelta(days=(ts_ns + IST_OFFSET_NS) // DAY_NS)


def lookback_start(now_ns: int, timeframe: str) -> int:
    """IST midnight of the weekday ``LOOKBACK_DAYS[timeframe] - 1`` weekdays before today (the
    past starts there; exchange holidays are not counted out, as the simulated past has none)."""
    d = _ist_date(now_ns)
    left = LOOKBACK_DAYS.get(timeframe, 5) - 1
    while left > 0 or d.weekday() >= 5:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            left -= 1
    return (d - _EPOCH).days * DAY_NS - IST_OFFSET_NS


class CandleSource:
    """Which symbol and timeframe the price chart shows, and from when: the chart's own state,
    kept by the dashboard (the chart widget is built later, when its tab opens)."""

    def __init__(self, timeframe: str = DEFAULT_TIMEFRAME) -> None:
        self.symbol = ""
        self.timeframe = timeframe
        self.start_ns: int | None = None
        self.generation = 0  # bumps on every reset: the chart starts a fresh view

    def reset(self, session: Session, symbol: str, timeframe: str | None = None) -> None:
        """Show ``symbol`` (and ``timeframe``), from the lookback before the session's now."""
        self.symbol = symbol
        if timeframe is not None:
            self.timeframe = timeframe
        self.start_ns = lookback_start(session.clock.now_ns(), self.timeframe)
        self.generation += 1

    def columns(self, session: Session) -> BarColumns:
        """The newest ``MAX_BARS`` bars, history merged under live ones (empty if the symbol has
        neither: not on this market, or no tick yet on a feed without history)."""
        if not self.symbol:
            return BarColumns.empty()
        try:
            cols = session.market_data.columns(self.symbol, self.timeframe, self.start_ns, None)
        except LiveTradeError:
            return BarColumns.empty()
        if len(cols) > MAX_BARS:
            cols = BarColumns(*(c[-MAX_BARS:] for c in cols.tuple()))
        return cols


@dataclass(frozen=True, slots=True)
class PriceChartView:
    """What the price chart draws: bar starts (epoch ns), OHLC in paise and volumes, the last
    one being the live bar; fills as ``(bar index, price, quantity)``; open SL/TP levels."""

    symbol: str
    timeframe: str
    t: tuple[int, ...]
    o: tuple[int, ...]
    h: tuple[int, ...]
    l: tuple[int, ...]  # noqa: E741
    c: tuple[int, ...]
    v: tuple[int, ...]
    last: int | None  # the LTP
    buys: tuple[tuple[int, int, int], ...]
    sells: tuple[tuple[int, int, int], ...]
    stop_losses: tuple[int, ...]
    take_profits: tuple[int, ...]
    generation: int = 0

    def __len__(self) -> int:
        return len(self.t)

    @property
    def title(self) -> str:
        if self.last is None:
            return f"{self.symbol} — waiting for ticks"
        return f"{self.symbol} — LTP {inr(self.last)} · {self.timeframe} candles"

    def closed(self) -> tuple[tuple[int, ...], ...]:
        """Every bar but the live one: ``(t, o, h, l, c, v)``."""
        return tuple(col[:-1] for col in (self.t, self.o, self.h, self.l, self.c, self.v))

    def live(self) -> tuple[int, int, int, int, int, int] | None:
        if not self.t:
            return None
        return (self.t[-1], self.o[-1], self.h[-1], self.l[-1], self.c[-1], self.v[-1])

    def window(self, visible: int = VISIBLE_BARS) -> tuple[float, float]:
        """The x range the chart opens on: the newest ``visible`` bars and a little room."""
        n = len(self.t)
        return (max(n - visible, 0) - 0.5, n - 0.5 + max(2, n // 60 if n < visible else 2))

    def price_range(self, visible: int = VISIBLE_BARS) -> tuple[int, int] | None:
        """Low and high (paise) of the bars in the opening window and of the SL/TP levels,
        padded a little: the price axis fits what the trader sees, not the whole past."""
        lows = [*self.l[-visible:], *self.stop_losses, *self.take_profits]
        highs = [*self.h[-visible:], *self.stop_losses, *self.take_profits]
        if self.last is not None:
            lows.append(self.last)
            highs.append(self.last)
        if not lows:
            return None
        lo, hi = min(lows), max(highs)
        pad = max((hi - lo) // 20, 5)
        return lo - pad, hi + pad

    def level_lines(self, levels: tuple[int, ...]) -> tuple[list[float | None], list[int | None]]:
        """Horizontal segments across every bar, separated by gaps (``None``)."""
        if not self.t or not levels:
            return [], []
        xs: list[float | None] = []
        ys: list[int | None] = []
        right = len(self.t) - 0.5
        for level in levels:
            xs += [-0.5, right, None]
            ys += [level, level, None]
        return xs, ys


def price_chart_view(session: Session, source: CandleSource) -> PriceChartView:
    """The candles of ``source`` with the session's fills on them and its open SL/TP levels."""
    import numpy as np

    sym = source.symbol
    cols = source.columns(session)
    t, o, h, low, c, v = (tuple(x.tolist()) for x in cols.tuple())
    top = session.stream.top(sym) if sym else None
    buys: list[tuple[int, int, int]] = []
    sells: list[tuple[int, int, int]] = []
    if t:
        fills = [f for f in session.engine.fills if f.symbol == sym and f.ts_ns >= t[0]]
        if fills:
            at = np.searchsorted(cols.t, [f.ts_ns for f in fills], "right") - 1
            for f, i in zip(fills, at.tolist(), strict=True):
                (buys if f.side is Side.BUY else sells).append((i, f.price_paise, f.quantity))
    sls: set[int] = set()
    tps: set[int] = set()
    for order in session.engine.open_orders(sym) if sym else ():
        if order.role is Role.STOP_LOSS and order.trigger_paise is not None:
            sls.add(order.trigger_paise)
        elif order.role is Role.TAKE_PROFIT and order.limit_paise is not None:
            tps.add(order.limit_paise)
    return PriceChartView(
        sym, source.timeframe, t, o, h, low, c, v,
        None if top is None else top[2],
        tuple(buys), tuple(sells), tuple(sorted(sls)), tuple(sorted(tps)), source.generation,
    )  # fmt: skip


def time_ticks(starts: tuple[int, ...], timeframe: str) -> tuple[list[int], list[str]]:
    """X-axis labels at bar indices: every first bar of an IST day as ``03 Jun`` and, when
    the opening window spans less than a day or so, round times of day (``11:15``) on the
    09:15 grid between; a daily chart labels each month. About seven labels a window."""
    tf_s = TIMEFRAMES[timeframe]
    want = max(1, VISIBLE_BARS // 7)  # bars between labels
    vals: list[int] = []
    text: list[str] = []
    if tf_s >= 86_400:
        every = max(1, round(want / 21))  # ~21 trading days a month
        prev = -1
        for i, ts in enumerate(starts):
            d = _ist_date(ts)
            month = d.year * 12 + d.month - 1
            if month != prev:
                prev = month
                if month % every == 0:
                    vals.append(i)
                    text.append(d.strftime("%b %Y"))
        return vals, text
    step_s = next((s for s in (300, 900, 1800, 3600, 7200) if s >= want * tf_s), None)
    day_every = max(1, round(want * tf_s / 22_500))  # trading seconds in a day
    prev_day = None
    for i, ts in enumerate(starts):
        local = ts + IST_OFFSET_NS
        day = local // DAY_NS
        if day != prev_day:
            prev_day = day
            if step_s is not None or day % day_every == 0:
                if vals and ":" in text[-1] and i - vals[-1] < want // 2:
                    vals.pop()  # a time of day too close before the date would overlap it
                    text.pop()
                vals.append(i)
                text.append(_ist_date(ts).strftime("%d %b"))
            continue
        if step_s is None:
            continue
        since_open = local % DAY_NS - OPEN_NS
        if since_open % (step_s * NS) == 0 and (not vals or i - vals[-1] >= want // 2):
            vals.append(i)
            secs = (local % DAY_NS) // NS
            text.append(f"{secs // 3600:02d}:{secs // 60 % 60:02d}")
    return vals, text


def volume_text(volume: int) -> str:
    """A volume axis label: lakh and crore as Indian terminals write them."""
    if volume >= 10_000_000:
        return f"{volume / 10_000_000:.1f} Cr"
    if volume >= 100_000:
        return f"{volume / 100_000:.1f} L"
    return group_indian(volume)


def _hover(t: int, o: int, h: int, low: int, c: int, v: int) -> str:
    when = (t + IST_OFFSET_NS) // NS
    day = _ist_date(t).strftime("%d %b")
    hm = f"{when // 3600 % 24:02d}:{when // 60 % 60:02d}"
    return (
        f"{day} {hm}<br>O {inr(o)}  H {inr(h)}<br>L {inr(low)}  C {inr(c)}<br>vol {group_indian(v)}"
    )


# ---------------------------------------------------------------------------- widget
UP, DOWN = "#1a7f37", "#cf222e"


class PriceChart:
    """Thin adapter over a ``FigureWidget`` (candles above, volume below, one x axis) and a
    timeframe selector; ``on_timeframe(tf)`` is called when the trader picks another."""

    def __init__(self, timeframe: str = DEFAULT_TIMEFRAME) -> None:
        w = ipywidgets()
        go = plotly_go()

        candle = {
            "increasing": {"line": {"color": UP, "width": 1}, "fillcolor": UP},
            "decreasing": {"line": {"color": DOWN, "width": 1}, "fillcolor": DOWN},
            "hoverinfo": "text", "whiskerwidth": 0, "showlegend": False,
        }  # fmt: skip
        self.fig: Any = _figure_class()(
            data=[
                go.Candlestick(uid="lt-candles", name="candles", x=[], open=[], high=[],
                               low=[], close=[], **candle),
                go.Candlestick(uid="lt-candle-live", name="live bar", x=[], open=[], high=[],
                               low=[], close=[], **candle),
                go.Bar(uid="lt-volume", name="volume", x=[], y=[], yaxis="y2",
                       hoverinfo="skip", showlegend=False, marker={"line": {"width": 0}}),
                go.Bar(uid="lt-volume-live", name="live volume", x=[], y=[], yaxis="y2",
                       hoverinfo="skip", showlegend=False, marker={"line": {"width": 0}}),
                go.Scatter(uid="lt-buys", name="buys", mode="markers", x=[], y=[],
                           hoverinfo="text",
                           marker={"symbol": "triangle-up", "size": 11, "color": "#2ca02c",
                                   "line": {"color": "#ffffff", "width": 1}}),
                go.Scatter(uid="lt-sells", name="sells", mode="markers", x=[], y=[],
                           hoverinfo="text",
                           marker={"symbol": "triangle-down", "size": 11, "color": "#d62728",
                                   "line": {"color": "#ffffff", "width": 1}}),
                go.Scatter(uid="lt-sl", name="stop-loss", mode="lines", x=[], y=[],
                           hoverinfo="skip", line={"color": "#d62728", "dash": "dash",
                                                   "width": 1}),
                go.Scatter(uid="lt-tp", name="take-profit", mode="lines", x=[], y=[],
                           hoverinfo="skip", line={"color": "#2ca02c", "dash": "dash",
                                                   "width": 1}),
            ],
            layout=self._layout(),
        )  # fmt: skip
        self.fig._config = CONFIG
        self.timeframe: Any = w.ToggleButtons(
            options=list(TIMEFRAME_CHOICES),
            value=timeframe if timeframe in TIMEFRAME_CHOICES else DEFAULT_TIMEFRAME,
            tooltips=[f"{tf} candles" for tf in TIMEFRAME_CHOICES],
            style={"button_width": "46px"},
            layout=w.Layout(width="auto"),
        )
        self.timeframe.add_class("lt-timeframe")
        self.on_timeframe: Any = None
        self.timeframe.observe(self._picked, names="value")
        self.widget: Any = w.VBox([self.timeframe, self.fig], layout=w.Layout(min_width="0"))
        self.widget.add_class("lt-price-chart")
        self.widget.add_class("lt-chart")
        self._sent: dict[str, Any] = {}
        self._auto: dict[str, tuple[float, ...]] = {}  # the axis ranges we last fitted

    @staticmethod
    def _layout() -> dict[str, Any]:
        layout = _layout("price")
        layout.update(
            height=PRICE_CHART_HEIGHT,
            hovermode="closest",
            showlegend=False,
            bargap=0.25,
            xaxis={"type": "linear", "tickmode": "array", "tickvals": [], "ticktext": [],
                   "rangeslider": {"visible": False}, "anchor": "y2", "showgrid": True,
                   "zeroline": False, "showspikes": True, "spikemode": "across",
                   "spikethickness": 1, "spikedash": "dot"},
            yaxis={"domain": [0.27, 1.0], "automargin": True, "tickmode": "array",
                   "tickvals": [], "ticktext": [], "zeroline": False},
            yaxis2={"domain": [0.0, 0.21], "automargin": True, "tickmode": "array",
                    "tickvals": [], "ticktext": [], "rangemode": "tozero",
                    "showgrid": False, "zeroline": False},
        )  # fmt: skip
        layout["margin"] = {"l": 8, "r": 40, "t": 30, "b": 24}  # right: the modebar
        return layout

    def _picked(self, change: dict[str, Any]) -> None:
        if self.on_timeframe is not None and change.get("new"):
            self.on_timeframe(change["new"])

    def _changed(self, key: str, value: Any) -> bool:
        """Whether ``value`` differs from what was last sent under ``key`` (and remember it)."""
        if self._sent.get(key) == value:
            return False
        self._sent[key] = value
        return True

    def _fit(self, view: PriceChartView, fresh: bool) -> None:
        """Fit the axes to the newest bars, unless the trader has panned or zoomed since the
        last fit (the figure's range then differs from ours) -- until the next symbol or
        timeframe, which starts a fresh view."""
        layout = self.fig.layout
        win = view.window()
        if fresh or tuple(layout.xaxis.range or ()) == self._auto.get("x"):
            if tuple(layout.xaxis.range or ()) != win:
                layout.xaxis.range = win
            self._auto["x"] = win
        rng = view.price_range()
        if rng is not None and (fresh or tuple(layout.yaxis.range or ()) == self._auto.get("y")):
            yr = (rng[0] / 100, rng[1] / 100)
            if tuple(layout.yaxis.range or ()) != yr:
                layout.yaxis.range = yr
                vals, text = money_ticks(list(rng))
                layout.yaxis.tickvals, layout.yaxis.ticktext = vals, text
            self._auto["y"] = yr
        top = max(view.v[-VISIBLE_BARS:], default=0)
        if self._changed("volume-top", top):
            layout.yaxis2.range = [0, max(top, 1) * 1.15]
            layout.yaxis2.tickvals = [top] if top else []
            layout.yaxis2.ticktext = [volume_text(top)] if top else []

    def update(self, view: PriceChartView) -> None:
        import numpy as np

        fig = self.fig
        data = fig.data
        layout = fig.layout
        with fig.batch_update():
            if self.timeframe.value != view.timeframe and view.timeframe in TIMEFRAME_CHOICES:
                self.timeframe.value = view.timeframe  # (a model change, e.g. from a test)
            closed = view.closed()
            fresh = self._changed("generation", (view.generation, view.symbol))
            if self._changed("closed", closed) or fresh:
                t, o, h, low, c, v = closed
                x = np.arange(len(t), dtype="float64")
                trace = data[0]
                trace.x = x
                trace.open, trace.high = np.asarray(o) / 100, np.asarray(h) / 100
                trace.low, trace.close = np.asarray(low) / 100, np.asarray(c) / 100
                trace.hovertext = [_hover(*bar) for bar in zip(*closed, strict=True)]
                colors = np.where(np.asarray(c) >= np.asarray(o), UP, DOWN).tolist()
                data[2].x, data[2].y = x, np.asarray(v, dtype="float64")
                data[2].marker.color = colors
                ticks = time_ticks(view.t, view.timeframe)
                layout.xaxis.tickvals, layout.xaxis.ticktext = ticks
            live = view.live()
            if self._changed("live", (live, len(view))):
                i = float(len(view) - 1)
                if live is None:
                    data[1].x, data[3].x, data[3].y = [], [], []
                    data[1].open = data[1].high = data[1].low = data[1].close = []
                else:
                    _t, o1, h1, l1, c1, v1 = live
                    data[1].x = [i]
                    data[1].open, data[1].high = [o1 / 100], [h1 / 100]
                    data[1].low, data[1].close = [l1 / 100], [c1 / 100]
                    data[1].hovertext = [_hover(*live)]
                    data[3].x, data[3].y = [i], [float(v1)]
                    data[3].marker.color = [UP if c1 >= o1 else DOWN]
            if self._changed("fills", (view.buys, view.sells)):
                for trace, marks, verb in ((data[4], view.buys, "Bought"),
                                           (data[5], view.sells, "Sold")):  # fmt: skip
                    trace.x = [float(m[0]) for m in marks]
                    trace.y = [m[1] / 100 for m in marks]
                    trace.hovertext = [f"{verb} {m[2]} at {inr(m[1])}" for m in marks]
            levels = (view.stop_losses, view.take_profits, len(view))
            if self._changed("levels", levels):
                for trace, lv in ((data[6], view.stop_losses), (data[7], view.take_profits)):
                    xs, ys = view.level_lines(lv)
                    trace.x, trace.y = xs, [None if y is None else y / 100 for y in ys]
            self._fit(view, fresh)
            if layout.title.text != view.title:
                layout.title.text = view.title
