"""Depth panel: five levels a side of the ticket's symbol, as a terminal's market-depth box.

One row per level: bid orders, bid quantity and price on the left, ask price, quantity and
orders on the right, best prices on the first row, and the quantities on each side summed
below. It reads ``session.depth(symbol)`` at the panel's redraw (the store keeps the newest
record per symbol; nothing runs per tick here) and is a ``TableWidget``: only cells whose
text changed are touched in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.errors import LiveTradeError
from livetrade.fmt import group_indian
from livetrade.ui.common import Cell, clock_text, ipywidgets, price, rupees_to_paise
from livetrade.ui.table import TableWidget

if TYPE_CHECKING:
    from livetrade.session import Session

LEVELS = 5
HEADERS = ("orders", "bid qty", "bid ₹", "ask ₹", "ask qty", "orders")
_CSS = ("lt-c-orders", "lt-c-qty", "lt-bid", "lt-ask", "lt-c-qty", "lt-c-orders")

Level = tuple[int, int, int]  # (price paise, quantity, orders)


@dataclass(frozen=True, slots=True)
class DepthView:
    """What the depth panel shows: ``bids``/``asks`` best first (paise), ``time`` of the
    record (``""`` when the feed has sent none for this symbol)."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    time: str

    @property
    def bid_total(self) -> int:
        return sum(q for _p, q, _o in self.bids)

    @property
    def ask_total(self) -> int:
        return sum(q for _p, q, _o in self.asks)

    @property
    def title(self) -> str:
        if not self.symbol:
            return "<b>Depth</b>"
        if not self.time:
            return f"<b>Depth</b> {self.symbol} <span class='lt-muted'>· no depth yet</span>"
        return f"<b>Depth</b> {self.symbol}"  # (no clock: the title stays one message rarer)

    def rows(self) -> list[tuple[str, tuple[Cell, ...]]]:
        out: list[tuple[str, tuple[Cell, ...]]] = []
        if not self.bids and not self.asks:
            return out
        for i in range(LEVELS):
            b = self.bids[i] if i < len(self.bids) else None
            a = self.asks[i] if i < len(self.asks) else None
            texts = (
                "" if b is None else group_indian(b[2]),
                "" if b is None else group_indian(b[1]),
                "" if b is None else price(b[0]),
                "" if a is None else price(a[0]),
                "" if a is None else group_indian(a[1]),
                "" if a is None else group_indian(a[2]),
            )
            out.append((f"L{i + 1}", tuple(Cell(t, c) for t, c in zip(texts, _CSS, strict=True))))
        total = ("total", group_indian(self.bid_total), "", "", group_indian(self.ask_total), "")
        css = tuple(f"{c} lt-total" for c in _CSS)
        out.append(("total", tuple(Cell(t, c) for t, c in zip(total, css, strict=True))))
        return out


def depth_view(session: Session, symbol: str) -> DepthView:
    """``symbol``'s five levels a side from the session's newest depth record."""
    try:
        depth = session.depth(symbol) if symbol else None
    except LiveTradeError:  # an index has no order book
        depth = None
    if depth is None:
        return DepthView(symbol, (), (), "")

    def side(levels: Any) -> tuple[Level, ...]:
        return tuple((rupees_to_paise(p) or 0, int(q), int(n)) for p, q, n in levels[:LEVELS])

    ts = depth.ts
    time = ts.strftime("%H:%M:%S") if ts is not None else clock_text(session.clock.now_ns())
    return DepthView(symbol, side(depth.bids), side(depth.asks), time)


class DepthPanel:
    """Thin adapter: a title line and the levels table."""

    def __init__(self) -> None:
        w = ipywidgets()
        self.title: Any = w.HTML("<b>Depth</b>")
        self.table = TableWidget("lt-table lt-depth-table", empty="No depth for this symbol.")
        self.table.widget.add_class("lt-depth")
        self.widget: Any = w.VBox([self.title, self.table.widget], layout=w.Layout(min_width="0"))
        self.widget.add_class("lt-panel")
        self.widget.add_class("lt-depth-panel")

    def update(self, view: DepthView) -> None:
        with self.title.hold_sync():
            if self.title.value != view.title:
                self.title.value = view.title
        self.table.show(list(HEADERS), view.rows())
