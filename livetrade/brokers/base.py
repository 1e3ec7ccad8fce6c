"""The ``Broker`` protocol: the one seam between the engine and whoever executes orders."""

from __future__ import annotations

from typing import Protocol

from livetrade.errors import OrderRejected
from livetrade.model import Order, Side


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


class OrderRouter(Protocol):
    """Where a live engine sends orders (``LiveRouter`` for Fyers). The engine stays synchronous:
    each call only queues the request; the router's own task talks to the broker and reports
    back through ``LiveTradingEngine.broker_ack/broker_rejected/broker_fill/broker_closed``.
    ``armed`` is False until the trader arms live trading; the engine refuses orders till then."""

    armed: bool

    def refusal(self) -> OrderRejected | None:
        """Why no new order may go to the broker now (e.g. a dead token), or None. The engine
        asks before every order, whoever places it (notebook, REST API, dashboard)."""
        ...

    def place(self, order: Order) -> None: ...

    def cancel(self, order: Order, why: str) -> None: ...

    def modify(
        self, order: Order, quantity: int, limit: int | None, trigger: int | None
    ) -> None: ...
