"""Fyers ticks to integer paise: :class:`TickConverter` turns a decoded data-socket
:class:`~livetrade.fyers.codec.Tick` into ``(bid, ask, last, volume)`` paise, and its
``push_ticks`` is the Fyers feed's hot path (a whole frame's ticks pushed into the price
stream in one loop). Pure computation over codec values: no socket, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from livetrade.fyers.codec import (
    Event,
    Tick,
    TopicInfo,
)

PushFn: TypeAlias = Callable[[str, int, int, int, int, int], None]
"""``LivePriceStream.push``'s shape: ``(symbol, bid, ask, last, volume, ts_ns)`` in paise."""

DepthFn: TypeAlias = Callable[[str, "tuple[int | None, ...]", int, int], None]
"""``DepthStore.update``'s shape: ``(symbol, 30 raw values, ts_ns, price divisor)``."""


# ---- ticks → paise ---------------------------------------------------------------------------

# Per topic: (the TopicInfo it was built for, bid pos, ask pos, volume pos, divisor); -1 = none.
_Plan: TypeAlias = tuple[TopicInfo, int, int, int, int]


class TickConverter:
    """``tick → (bid, ask, last, volume)`` in integer paise, or ``None`` (no LTP, depth topic).

    Positions come from the codec's layouts (``info.position``), cached per topic. Scrips give
    bid/ask/volume (a missing or zero bid/ask becomes the LTP); indexes and lite mode give
    bid = ask = LTP (in lite mode the other fields are frozen at the snapshot) and volume 0.
    Prices with the usual divisor 100 (precision 2, multiplier 1) are already paise; any other
    scale is converted exactly and rounded half-up to the paisa.
    """

    __slots__ = ("_plans", "lite")

    def __init__(self, lite: bool = False) -> None:
        self.lite = lite
        self._plans: dict[str, _Plan] = {}

    def _plan(self, info: TopicInfo) -> _Plan | None:
        if info.kind not in ("sf", "if"):
            return None
        if info.kind == "sf" and not self.lite:
            plan = (
                info,
                info.position("bid_price"),
                info.position("ask_price"),
                info.position("vol_traded_today"),
                info.divisor,
            )
        else:
            plan = (info, -1, -1, -1, info.divisor)
        self._plans[info.topic] = plan
        return plan

    def __call__(self, tick: Tick) -> tuple[int, int, int, int] | None:
        info = tick[0]
        plan = self._plans.get(info.topic)
        if plan is None or plan[0] is not info:
            plan = self._plan(info)
            if plan is None:
                return None
        values = tick[1]
        last = values[0]
        if last is None:
            return None
        _, bp, ap, vp, div = plan
        if bp < 0:
            if div != 100:
                last = _paise(last, div)
            return last, last, last, 0
        bid = values[bp]
        ask = values[ap]
        vol = values[vp]
        if div != 100:
            last = _paise(last, div)
            bid = None if bid is None else _paise(bid, div)
            ask = None if ask is None else _paise(ask, div)
        return (bid or last), (ask or last), last, (vol or 0)

    def push_ticks(
        self, events: list[Event], ts_ns: int, push: PushFn, depth: DepthFn | None = None
    ) -> int:
        """Push every mapped tick of ``events`` (``push(symbol, bid, ask, last, volume,
        ts_ns)``, paise) and hand depth records to ``depth`` (their merged values, unconverted);
        returns how many were taken. The hot path of the Fyers feed: the same conversion as
        ``__call__``, fused into one loop with no tuple per tick."""
        plans = self._plans
        n = 0
        for ev in events:
            if type(ev) is not Tick:
                continue
            symbol = ev[4]
            if symbol is None:
                continue
            info = ev[0]
            plan = plans.get(info.topic)
            if plan is None or plan[0] is not info:
                plan = self._plan(info)
                if plan is None:
                    if depth is not None and info.kind == "dp":
                        depth(symbol, ev[1], ts_ns, info.divisor)
                        n += 1
                    continue
            values = ev[1]
            last = values[0]
            if last is None:
                continue
            bp = plan[1]
            if plan[4] != 100:
                prices = self(ev)
                assert prices is not None
                push(symbol, prices[0], prices[1], prices[2], prices[3], ts_ns)
            elif bp < 0:
                push(symbol, last, last, last, 0, ts_ns)
            else:
                push(
                    symbol,
                    values[bp] or last,
                    values[plan[2]] or last,
                    last,
                    values[plan[3]] or 0,
                    ts_ns,
                )
            n += 1
        return n


def _paise(raw: int, divisor: int) -> int:
    """``raw / divisor`` rupees in paise, rounded half-up (exact integer arithmetic)."""
    return (raw * 200 + divisor) // (2 * divisor)
