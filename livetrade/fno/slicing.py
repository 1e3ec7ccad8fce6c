"""Orders above the freeze quantity cut into legal slices (#15 item 2, #17 item 3).

Why: the exchange refuses a single order above an instrument's freeze quantity ("ORDER QTY IS
GREATER THAN FREEZE QTY", fno.md §2); Fyers' ``isSliceOrder`` cuts it into at most 10 orders of
at most the freeze, each a whole number of lots. Paper mode does the same, so a strategy that
asks for slicing behaves alike on paper and live.
"""

from __future__ import annotations

from typing import Final

from livetrade.errors import OrderRejected
from livetrade.instruments import Instrument

__all__ = ["MAX_SLICES", "slice_quantity"]

MAX_SLICES: Final = 10
"""Fyers cuts a sliced order into at most 10 orders (FYDOC ``isSliceOrder``; the fake server and
``FyersBroker.place_order`` apply the same limit)."""


def slice_quantity(quantity: int, inst: Instrument, max_slices: int = MAX_SLICES) -> list[int]:
    """``quantity`` (units, whole lots) as slices of at most the freeze quantity in whole lots:
    full slices first, the remainder last, as Fyers cuts them. One slice when it fits or the
    instrument has no freeze. Raises ``OrderRejected`` (``SLICE_LIMIT``) beyond ``max_slices``."""
    freeze = inst.freeze_qty
    if freeze is None or quantity <= freeze:
        return [quantity]
    most = freeze // inst.lot_size * inst.lot_size  # the largest whole-lot slice
    full, rest = divmod(quantity, most)
    slices = [most] * full + ([rest] if rest else [])
    if len(slices) > max_slices:
        raise OrderRejected(
            "SLICE_LIMIT",
            f"Quantity {quantity} of {inst.symbol} needs {len(slices)} slices of at most {most} "
            f"(freeze quantity {freeze}); Fyers slices an order into at most {max_slices}.",
            "quantity",
        )
    return slices
