"""The ``Broker`` protocol: the one seam between the engine and whoever executes orders."""

from __future__ import annotations

from typing import Protocol

from livetrade.model import Side


class Broker(Protocol):
    """Decides whether and at what price an order executes against the current book.

    ``live`` is ``False`` for simulated execution. Prices are integer paise; ``limit`` is
    ``None`` for a market order. ``None`` from ``execution_price`` means "not marketable now".
    """

    name: str
    live: bool

    def execution_price(
        self, side: Side, bid: int, ask: int, last: int, limit: int | None
    ) -> int | None: ...
