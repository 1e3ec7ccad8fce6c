"""Positions as FIFO lots and resting triggers as heaps: the two data structures of the engine."""

from __future__ import annotations

import heapq
import re
from collections import deque
from decimal import Decimal
from typing import TYPE_CHECKING

from livetrade.model import Order, OrderStatus, Position, Product
from livetrade.money import from_paise
from livetrade.request import is_unset

if TYPE_CHECKING:
    from livetrade.engine.matching import Matching


_OPEN = OrderStatus.OPEN
_PENDING = OrderStatus.PENDING
_NEVER_HIGH = 1 << 62
_NEVER_LOW = -1
_NON_DIGITS = re.compile(r"\D")


def _id_number(ident: str) -> int:
    """``LT0000042`` → 42 (ids are a prefix and a counter)."""
    digits = _NON_DIGITS.sub("", ident)
    return int(digits) if digits else 0


_unset = is_unset


class _Lots:
    """One (symbol, product) position as FIFO lots ``[signed_qty, price_paise, ts_ns]``
    (``ts_ns``: when the fill that opened the lot happened): exact P&L."""

    __slots__ = ("charges", "cost", "lots", "product", "qty", "realized", "symbol")

    def __init__(self, symbol: str, product: Product) -> None:
        self.symbol = symbol
        self.product = product
        self.lots: deque[list[int]] = deque()
        self.qty = 0
        self.cost = 0  # signed: Σ qty × price of open lots
        self.realized = 0  # gross realized P&L, paise
        self.charges = 0

    def apply(self, signed_qty: int, price: int, ts_ns: int = 0) -> int:
        """Book a fill; returns the gross P&L it realized (closing lots FIFO)."""
        realized = 0
        if self.qty == 0 or (self.qty > 0) == (signed_qty > 0):
            self.lots.append([signed_qty, price, ts_ns])
            self.qty += signed_qty
            self.cost += signed_qty * price
            return 0
        remaining = abs(signed_qty)
        while remaining and self.lots:
            lot = self.lots[0]
            lot_sign = 1 if lot[0] > 0 else -1
            take = min(abs(lot[0]), remaining)
            realized += (price - lot[1]) * take * lot_sign
            lot[0] -= take * lot_sign
            self.qty -= take * lot_sign
            self.cost -= take * lot_sign * lot[1]
            remaining -= take
            if lot[0] == 0:
                self.lots.popleft()
        if remaining:  # the fill flipped the position
            signed = remaining if signed_qty > 0 else -remaining
            self.lots.append([signed, price, ts_ns])
            self.qty += signed
            self.cost += signed * price
        self.realized += realized
        return realized

    def view(self, last: int | None) -> Position:
        avg = (
            (Decimal(self.cost) / self.qty / 100).quantize(Decimal("0.0001"))
            if self.qty
            else Decimal("0.0000")
        )
        unreal = 0 if last is None or not self.qty else last * self.qty - self.cost
        return Position(
            symbol=self.symbol,
            quantity=self.qty,
            avg_buy_price=avg,
            product=self.product,
            realized_pnl=from_paise(self.realized),
            charges=from_paise(self.charges),
            last_price=None if last is None else from_paise(last),
            unrealized_pnl=from_paise(unreal),
        )


class _Book:
    """Resting triggers of one symbol: four heaps and their best levels as plain ints.

    ``ss`` sell stops fire when last <= level; ``bs`` buy stops when last >= level;
    ``sl`` sell limits when bid >= level; ``bl`` buy limits when ask <= level.
    """

    __slots__ = (
        "bl",
        "bl_lvl",
        "bs",
        "bs_lvl",
        "engine",
        "sl",
        "sl_lvl",
        "ss",
        "ss_lvl",
        "stream",
        "symbol",
    )

    def __init__(self, engine: Matching, symbol: str) -> None:
        self.engine = engine
        self.symbol = symbol
        self.stream = engine.price_stream
        self.ss: list[tuple[int, int, Order]] = []
        self.bs: list[tuple[int, int, Order]] = []
        self.sl: list[tuple[int, int, Order]] = []
        self.bl: list[tuple[int, int, Order]] = []
        self.ss_lvl = _NEVER_LOW
        self.bs_lvl = _NEVER_HIGH
        self.sl_lvl = _NEVER_HIGH
        self.bl_lvl = _NEVER_LOW

    def fire(self, bid: int, ask: int, last: int, ts_ns: int) -> None:
        """The stream calls this when a tick crosses one of the levels."""
        self.engine._match(self.symbol, self, bid, ask, last, ts_ns)
        self.engine._flush()

    def refresh(self) -> None:
        """Drop dead heap tops (cancelled/filled, lazily deleted) and recompute the levels."""
        for heap in (self.ss, self.bs, self.sl, self.bl):
            while heap and (st := heap[0][2].status) is not _OPEN and st is not _PENDING:
                heapq.heappop(heap)  # PENDING: a held after-market order (matching._hold)
        self.ss_lvl = -self.ss[0][0] if self.ss else _NEVER_LOW
        self.bs_lvl = self.bs[0][0] if self.bs else _NEVER_HIGH
        self.sl_lvl = self.sl[0][0] if self.sl else _NEVER_HIGH
        self.bl_lvl = -self.bl[0][0] if self.bl else _NEVER_LOW
        self.stream.set_levels(self.symbol, self.ss_lvl, self.bs_lvl, self.sl_lvl, self.bl_lvl)

    def __len__(self) -> int:
        return len(self.ss) + len(self.bs) + len(self.sl) + len(self.bl)
