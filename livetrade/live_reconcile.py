"""Reconciliation: our positions, working live orders and cash against Fyers' before live
trading is armed.

Why its own module: it is a read-only comparison (four reads, one DataFrame) the session runs
before arming and on demand, separate from the router that sends orders. A position or working
order that differs is *blocking*: the session refuses to arm while one is neither resolved nor
accepted. Funds rows are information only (Fyers nets its own margin blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from livetrade.fyers.broker import BrokerHolding, BrokerOrder, FyersRestClient
from livetrade.model import OrderStatus
from livetrade.money import from_paise

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.engine import LiveTradingEngine


@dataclass
class Reconciliation:
    """Our book against Fyers'. ``frame`` has one row per compared item; ``blocking`` rows
    (positions and working orders that differ) keep live trading disarmed until resolved or
    accepted. Funds rows are information: the two margin models differ."""

    frame: pd.DataFrame
    broker_positions: dict[tuple[str, str], tuple[int, Decimal]] = field(default_factory=dict)
    broker_orders: list[BrokerOrder] = field(default_factory=list)
    broker_holdings: list[BrokerHolding] = field(default_factory=list)

    @property
    def differences(self) -> pd.DataFrame:
        return self.frame[self.frame["blocking"]].reset_index(drop=True)

    @property
    def ok(self) -> bool:
        return not bool(self.frame["blocking"].any())

    def _repr_html_(self) -> str:
        head = "in step with Fyers" if self.ok else f"{len(self.differences)} differences"
        return f"<b>Reconciliation: {head}</b>" + str(self.frame.to_html(index=False))


_COLUMNS = ["item", "key", "ours", "broker", "difference", "blocking", "note"]


def _with_holdings(
    broker_pos: dict[tuple[str, str], tuple[int, Decimal]], holdings: list[BrokerHolding]
) -> dict[str, int]:
    """Fold demat holdings into the CNC positions: Fyers' positions are today's trades only,
    so a CNC position carried from an earlier day is in the holdings (``quantity`` as of the
    morning; today's sells are in the CNC position's net, so ``remainingQuantity`` would count
    them twice). The average is the holdings' cost, weighted with today's buys. Returns the
    demat quantity per symbol (for the notes)."""
    demat: dict[str, int] = {}
    cost: dict[str, Decimal] = {}
    for h in holdings:
        if h.quantity > 0:
            demat[h.symbol] = demat.get(h.symbol, 0) + h.quantity
            cost[h.symbol] = cost.get(h.symbol, Decimal(0)) + h.cost_price * h.quantity
    for symbol, qty in demat.items():
        today, avg = broker_pos.get((symbol, "CNC"), (0, Decimal(0)))
        total = qty + today
        value = cost[symbol] + (avg * today if today > 0 else Decimal(0))
        held = qty + max(today, 0)
        broker_pos[(symbol, "CNC")] = (total, (value / held).quantize(Decimal("0.01")))
    return demat


async def reconcile(engine: LiveTradingEngine, client: FyersRestClient) -> Reconciliation:
    """Compare ``engine``'s positions and working live orders with Fyers' positions (today's
    trades plus the demat holdings, as CNC), order book and funds (four reads)."""
    import pandas as pd

    positions = await client.positions()
    holdings = list((await client.holdings()).holdings)
    book = await client.orderbook()
    funds = await client.funds()
    rows: list[dict[str, Any]] = []
    broker_pos: dict[tuple[str, str], tuple[int, Decimal]] = {
        (p.symbol, p.product): (p.net_quantity, p.avg_price) for p in positions.positions
    }
    demat = _with_holdings(broker_pos, holdings)
    ours_pos = {(p.symbol, p.product.value): p for p in engine.positions(include_closed=True)}
    for key in sorted(set(broker_pos) | set(ours_pos)):
        mine = ours_pos.get(key)
        qty = mine.quantity if mine is not None else 0
        theirs, avg = broker_pos.get(key, (0, Decimal(0)))
        if qty == 0 and theirs == 0:
            continue
        in_demat = demat.get(key[0], 0) if key[1] == "CNC" else 0
        note = "" if theirs == qty else f"Fyers holds {theirs} at ₹{avg}"
        if in_demat:
            note = "; ".join(filter(None, [note, f"{in_demat} of them in demat holdings"]))
        rows.append(
            {
                "item": "position",
                "key": f"{key[0]} {key[1]}",
                "ours": qty,
                "broker": theirs,
                "difference": theirs - qty,
                "blocking": theirs != qty,
                "note": note,
            }
        )
    working = {
        o.broker_order_id or f"({o.order_id})": o for o in engine.orders if o.live and o.is_open
    }
    at_broker = {b.order_id: b for b in book if b.status in (OrderStatus.OPEN, OrderStatus.PENDING)}
    for bid in sorted(set(working) | set(at_broker)):
        mine_o = working.get(bid)
        theirs_o = at_broker.get(bid)
        left = mine_o.quantity - mine_o.filled_quantity if mine_o is not None else 0
        left_b = theirs_o.remaining_quantity if theirs_o is not None else 0
        if mine_o is not None and theirs_o is None:
            note = (
                "sent; no answer yet (looking for it by tag)"
                if mine_o.broker_order_id is None
                else "working here, not working at Fyers"
            )
        elif mine_o is None and theirs_o is not None:
            note = f"working at Fyers, not ours: {theirs_o.side.name} {theirs_o.symbol}"
        else:
            note = "" if left == left_b else "remaining quantity differs"
        rows.append(
            {
                "item": "order",
                "key": bid,
                "ours": left,
                "broker": left_b,
                "difference": left_b - left,
                "blocking": bool(note),
                "note": note,
            }
        )
    available = funds.available_balance
    ours_cash = from_paise(engine.cash_paise)
    rows.append(
        {
            "item": "funds",
            "key": "available balance",
            "ours": ours_cash,
            "broker": available,
            "difference": None if available is None else available - ours_cash,
            "blocking": False,
            "note": "information: Fyers' figure nets its own margin blocks",
        }
    )
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame["blocking"] = frame["blocking"].astype(bool)
    return Reconciliation(frame, broker_pos, list(book), holdings)
