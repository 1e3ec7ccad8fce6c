"""What the engine tells the world: events, charges refunds, and the journal it writes to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from livetrade.model import Fill, Order, Position, Product
from livetrade.money import ZERO_CHARGES, Charges


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """Something that happened in the engine. ``kind`` is past tense:

    ``order_accepted``, ``order_rejected``, ``order_triggered``, ``order_filled``,
    ``order_cancelled`` (``order`` set), ``fill`` (``fill`` set), ``position_opened``,
    ``position_changed``, ``position_closed`` (``position`` set), ``kill_switch`` (``message``),
    ``position_converted`` (``conversion`` set, ``position`` the destination's).
    """

    kind: str
    ts_ns: int
    order: Order | None = None
    fill: Fill | None = None
    position: Position | None = None
    message: str = ""
    code: str = ""
    charges: Charges | None = None  # charges_refunded: what came back
    conversion: Conversion | None = None  # position_converted: what moved, what was re-billed


@dataclass(frozen=True, slots=True)
class ChargesRefund:
    """Charges given back on earlier fills: a CNC sell re-billing the day's CNC buys it
    matched as intraday (they were billed as delivery when they filled)."""

    fill_id: str  # the sell that caused it
    symbol: str
    product: Product
    ts_ns: int
    charges: Charges


@dataclass(frozen=True, slots=True)
class Conversion:
    """Part of a position moved from one product to another (``engine.convert``): its lots
    keep their prices and times; ``billed`` is what re-billing the moved buys in the new
    product added, ``refunded`` what it gave back (see ``engine.conversion``)."""

    symbol: str
    quantity: int  # signed: > 0 a long moved, < 0 a short (F&O only)
    from_product: Product
    to_product: Product
    ts_ns: int
    billed: Charges = ZERO_CHARGES
    refunded: Charges = ZERO_CHARGES


EventListener = Callable[[EngineEvent], None]


class JournalSink(Protocol):
    """Where the engine writes every event before it acknowledges anything (see ``journal``).

    ``record`` is called for each event as it happens; ``flush`` once at the end of every
    operation (an order, a cancel, a tick that fired something) and must make the recorded
    events durable or raise.
    """

    def record(self, event: EngineEvent) -> None: ...

    def flush(self) -> None: ...
