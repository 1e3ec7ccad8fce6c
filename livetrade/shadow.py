"""Shadow mode: a paper engine beside the live one, and how far its fill model was from Fyers.

Every live entry order (not the bracket legs: the paper engine makes its own) is submitted to
the paper engine the moment the live engine accepts it, so both meet the same quotes. The paper
engine fills it with the session's fill model (``fills``, ``latency_ms``, ``slippage_ticks``
of its :class:`~livetrade.brokers.paper.PaperBroker`) and reads the live engine's depth and
circuit limits, so ``fills="depth"`` walks the same book the session shows (#17 item 6).
:meth:`Shadow.frame` compares per order, :meth:`Shadow.summary` over all of them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.brokers.paper import Book, PaperBroker
from livetrade.errors import InvalidInput, OrderRejected
from livetrade.model import Order, Role, Side
from livetrade.money import from_paise

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.engine import EngineEvent, LiveTradingEngine

__all__ = ["Shadow", "fill_model_name"]


@dataclass
class _Pair:
    live: Order
    paper: Order | None
    paper_error: str = ""


def fill_model_name(broker: object) -> str:
    """``"depth, latency 200 ms, slippage 1 tick"``: the paper fill model, as a report says it."""
    if not isinstance(broker, PaperBroker):
        return getattr(broker, "name", type(broker).__name__)
    parts: list[str] = [broker.fills]
    if broker.latency_ms:
        parts.append(f"latency {broker.latency_ms} ms")
    if broker.slippage_ticks:
        parts.append(f"slippage {broker.slippage_ticks} tick{'s' * (broker.slippage_ticks != 1)}")
    if broker.slippage_bps:
        parts.append(f"slippage {broker.slippage_bps} bps")
    return ", ".join(parts)


class Shadow:
    """A paper engine beside the live one: same quotes, same orders, compared per order.

    The paper engine reads the live engine's ``depth_source`` and ``band_source`` when it has
    none of its own (the session sets the live engine's after building this), and its
    instruments when it knows none (lot, tick and tick bands of F&O and banded symbols).
    """

    def __init__(self, live: LiveTradingEngine, paper: LiveTradingEngine) -> None:
        if paper.router is not None:
            raise InvalidInput("paper", "the shadow engine must be a paper engine")
        self.live = live
        self.paper = paper
        self._pairs: dict[str, _Pair] = {}
        if paper.depth_source is None:
            paper.depth_source = self._live_depth
        if paper.band_source is None:
            paper.band_source = self._live_band
        if not len(paper.instruments):
            paper.instruments = live.instruments
        live.add_listener(self._on_live)

    def _live_depth(self, symbol: str) -> Book | None:
        source = self.live.depth_source
        return None if source is None else source(symbol)

    def _live_band(self, symbol: str) -> tuple[int, int] | None:
        source = self.live.band_source
        return None if source is None else source(symbol)

    @property
    def fill_model(self) -> str:
        return fill_model_name(self.paper.broker)

    def _on_live(self, event: EngineEvent) -> None:
        order = event.order
        if (
            event.kind != "order_accepted"
            or order is None
            or not order.live
            or order.role is not Role.ENTRY
            or order.order_id in self._pairs
        ):
            return
        pair = _Pair(order, None)
        self._pairs[order.order_id] = pair
        try:
            pair.paper = self.paper.submit(
                order.symbol,
                order.side,
                order.quantity,
                order.kind,
                product=order.product,
                limit_price=order.limit_price,
                trigger_price=order.trigger_price,
                stop_loss=order.stop_loss_price,
                take_profit=order.take_profit_price,
                tag=order.tag,
                source=f"shadow of {order.order_id}",
            )
        except OrderRejected as rej:
            pair.paper_error = f"{rej.code}: {rej.reason}"

    def _rows(self) -> list[dict[str, Any]]:
        last_fill: dict[str, int] = {}
        for engine in (self.live, self.paper):
            for f in engine.fills:
                last_fill[f.order_id] = max(f.ts_ns, last_fill.get(f.order_id, 0))
        model = self.fill_model
        rows = []
        for pair in self._pairs.values():
            lo, po = pair.live, pair.paper
            sign = 1 if lo.side is Side.BUY else -1
            lp = lo.fill_paise if lo.filled_quantity else None
            pp = po.fill_paise if po is not None and po.filled_quantity else None
            slip = None if lp is None or pp is None else sign * (lp - pp)
            paper_filled = po.filled_quantity if po is not None else 0
            both = min(lo.filled_quantity, paper_filled)
            tick = self.live.instruments.get(lo.symbol).tick_for(lp) if lp is not None else None
            rows.append(
                {
                    "order_id": lo.order_id,
                    "broker_order_id": lo.broker_order_id,
                    "symbol": lo.symbol,
                    "side": lo.side.name,
                    "kind": lo.kind.value,
                    "quantity": lo.quantity,
                    "live_status": lo.status.value,
                    "live_filled": lo.filled_quantity,
                    "live_price": None if lp is None else from_paise(lp),
                    "paper_status": po.status.value if po is not None else "REJECTED",
                    "paper_filled": paper_filled,
                    "paper_price": None if pp is None else from_paise(pp),
                    "slippage": None if slip is None else from_paise(slip),
                    "slippage_total": None if slip is None else from_paise(slip * both),
                    "live_fill_s": _fill_seconds(lo, last_fill),
                    "paper_fill_s": _fill_seconds(po, last_fill) if po is not None else None,
                    "paper_note": pair.paper_error,
                    "fill_model": model,
                    "slippage_paise": slip,
                    "slippage_ticks": None if slip is None or not tick else slip / tick,
                    "fill_ratio": paper_filled / lo.filled_quantity if lo.filled_quantity else None,
                }
            )
        return rows

    def frame(self) -> pd.DataFrame:
        """One row per live entry order: live and modelled (paper) average prices; slippage
        per share in rupees, paise and ticks of the live price's tick, and in total (positive:
        live did worse than the model); ``fill_ratio`` (paper filled / live filled); time from
        order to last fill; the fill model that made the paper side."""
        import pandas as pd

        return pd.DataFrame(self._rows())

    def summary(self) -> dict[str, Any]:
        """How far the fill model was from Fyers over every order both sides filled: mean and
        median slippage per share (paise and ticks; positive: live did worse), and the fill
        ratio (paper filled / live filled, over orders live filled at all)."""
        rows = self._rows()
        slips = [r["slippage_paise"] for r in rows if r["slippage_paise"] is not None]
        ticks = [r["slippage_ticks"] for r in rows if r["slippage_ticks"] is not None]
        live_qty = sum(r["live_filled"] for r in rows)
        paper_qty = sum(r["paper_filled"] for r in rows if r["live_filled"])
        return {
            "fill_model": self.fill_model,
            "orders": len(rows),
            "compared": len(slips),
            "paper_rejected": sum(1 for r in rows if r["paper_note"]),
            "mean_slippage_paise": statistics.fmean(slips) if slips else None,
            "median_slippage_paise": statistics.median(slips) if slips else None,
            "mean_slippage_ticks": statistics.fmean(ticks) if ticks else None,
            "median_slippage_ticks": statistics.median(ticks) if ticks else None,
            "fill_ratio": paper_qty / live_qty if live_qty else None,
        }


def _fill_seconds(order: Order, last_fill: dict[str, int]) -> float | None:
    """Seconds from creation to the last fill (None until it has filled)."""
    ts = last_fill.get(order.order_id)
    return None if ts is None else (ts - order.created_ns) / 1e9
