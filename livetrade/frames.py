"""DataFrame and HTML views of engine state. pandas is imported here, lazily, never by the core.

Money columns are float rupees (each value converted once from exact paise, so a cell is exact
to the paisa; sum large columns in the engine's ``pnl_paise()`` when you need the exact total).
Timestamps are tz-aware Asia/Kolkata.
"""

from __future__ import annotations

import dataclasses
import enum
import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from livetrade.fmt import inr
from livetrade.model import Fill, Order, Position

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.instruments import InstrumentRegistry

TZ = "Asia/Kolkata"


def _ts(values: Sequence[int]) -> Any:
    import pandas as pd

    return pd.to_datetime(list(values), unit="ns", utc=True).tz_convert(TZ)


def _rupees(paise: int | None) -> float | None:
    return None if paise is None else paise / 100


def df(objs: Iterable[Any]) -> pd.DataFrame:
    """Any list of dataclasses (quotes, orders, fills, positions...) as a DataFrame.

    Enums become their values, ``Decimal`` becomes float; like ``ib_async``'s ``util.df``.
    """
    import pandas as pd

    rows = []
    for o in objs:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            row = {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        elif isinstance(o, dict):
            row = dict(o)
        else:
            raise TypeError(f"cannot make a DataFrame row from {type(o).__name__}")
        rows.append({k: _plain(v) for k, v in row.items()})
    return pd.DataFrame(rows)


def _plain(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.value if not isinstance(v, int) else v.name
    if isinstance(v, Decimal):
        return float(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return str(v)
    return v


ORDER_COLUMNS = [
    "order_id", "created", "symbol", "side", "type", "product", "quantity", "filled",
    "limit_price", "trigger_price", "avg_price", "status", "role", "parent_id", "charges",
    "tag", "source", "message", "broker_order_id", "lots",
]  # fmt: skip


def _lots(
    pairs: Iterable[tuple[str, int]], instruments: InstrumentRegistry | None
) -> pd.Series[Any]:
    """Units over each symbol's lot size (``instruments``; a symbol it does not know, or no
    registry, counts lot 1): whole lots as integers, else (a position adopted from a broker
    in odd units) as floats."""
    import pandas as pd

    values = []
    for symbol, qty in pairs:
        lot = instruments.get(symbol).lot_size if instruments is not None else 1
        values.append(qty // lot if qty % lot == 0 else qty / lot)
    exact = all(isinstance(v, int) for v in values)
    return pd.Series(values, dtype="int64" if exact else "float64")


def orders_frame(
    orders: Sequence[Order], instruments: InstrumentRegistry | None = None
) -> pd.DataFrame:
    """One row per order; ``lots`` is the quantity in lots of ``instruments``' lot size."""
    import pandas as pd

    data = {
        "order_id": [o.order_id for o in orders],
        "created": _ts([o.created_ns for o in orders]),
        "symbol": [o.symbol for o in orders],
        "side": [o.side.name for o in orders],
        "type": [o.kind.value for o in orders],
        "product": [o.product.value for o in orders],
        "quantity": [o.quantity for o in orders],
        "filled": [o.filled_quantity for o in orders],
        "limit_price": [_rupees(o.limit_paise) for o in orders],
        "trigger_price": [_rupees(o.trigger_paise) for o in orders],
        "avg_price": [_rupees(o.fill_paise) for o in orders],
        "status": [o.status.value for o in orders],
        "role": [o.role.value for o in orders],
        "parent_id": [o.parent_id for o in orders],
        "charges": [o.charges_paise / 100 for o in orders],
        "tag": [o.tag for o in orders],
        "source": [o.source for o in orders],
        "message": [o.message for o in orders],
        "broker_order_id": [o.broker_order_id for o in orders],
        "lots": _lots(((o.symbol, o.quantity) for o in orders), instruments),
    }
    frame = pd.DataFrame(data, columns=ORDER_COLUMNS)
    for col in ("limit_price", "trigger_price", "avg_price"):
        frame[col] = frame[col].astype("float64")
    return frame


CHARGE_COLUMNS = ["brokerage", "stt", "exchange", "ipft", "sebi", "stamp", "gst", "dp"]


def fills_frame(fills: Sequence[Fill]) -> pd.DataFrame:
    import pandas as pd

    data: dict[str, Any] = {
        "fill_id": [f.fill_id for f in fills],
        "timestamp": _ts([f.ts_ns for f in fills]),
        "order_id": [f.order_id for f in fills],
        "symbol": [f.symbol for f in fills],
        "side": [f.side.name for f in fills],
        "product": [f.product.value for f in fills],
        "role": [f.role.value for f in fills],
        "quantity": [f.quantity for f in fills],
        "price": [f.price_paise / 100 for f in fills],
        "value": [f.price_paise * f.quantity / 100 for f in fills],
    }
    for c in CHARGE_COLUMNS:
        data[c] = [getattr(f.charges, c) / 100 for f in fills]
    data["charges"] = [f.charges.total / 100 for f in fills]
    frame = pd.DataFrame(data)
    for c in ["price", "value", *CHARGE_COLUMNS, "charges"]:
        frame[c] = frame[c].astype("float64")
    return frame


POSITION_COLUMNS = [
    "symbol", "product", "quantity", "avg_price", "last_price", "market_value",
    "unrealized_pnl", "realized_pnl", "charges", "lots",
]  # fmt: skip


def positions_frame(
    positions: Sequence[Position], instruments: InstrumentRegistry | None = None
) -> pd.DataFrame:
    """One row per position; ``lots`` is the signed quantity in lots (a short is negative)."""
    import pandas as pd

    rows = [
        {
            "symbol": p.symbol,
            "product": p.product.value,
            "quantity": p.quantity,
            "avg_price": float(p.avg_buy_price),
            "last_price": None if p.last_price is None else float(p.last_price),
            "market_value": float(p.market_value),
            "unrealized_pnl": float(p.unrealized_pnl),
            "realized_pnl": float(p.realized_pnl),
            "charges": float(p.charges),
        }
        for p in positions
    ]
    frame = pd.DataFrame(rows, columns=POSITION_COLUMNS)
    for c in POSITION_COLUMNS[3:-1]:
        frame[c] = frame[c].astype("float64")
    frame["lots"] = _lots(((p.symbol, p.quantity) for p in positions), instruments)
    return frame


PNL_COLUMNS = ["cash", "market_value", "realized", "unrealized", "charges", "net_pnl", "equity"]


def pnl_frame(samples: Sequence[tuple[int, ...]]) -> pd.DataFrame:
    """Equity-curve samples ``(ts_ns, cash, mv, gross realized, unrealized, charges)`` in paise."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "cash": [s[1] / 100 for s in samples],
            "market_value": [s[2] / 100 for s in samples],
            "realized": [s[3] / 100 for s in samples],
            "unrealized": [s[4] / 100 for s in samples],
            "charges": [s[5] / 100 for s in samples],
            "net_pnl": [(s[3] + s[4] - s[5]) / 100 for s in samples],
            "equity": [(s[1] + s[2]) / 100 for s in samples],
        },
        index=pd.DatetimeIndex(_ts([s[0] for s in samples]), name="timestamp"),
        columns=PNL_COLUMNS,
    )
    return frame.astype("float64")


def _cell(v: Any) -> str:
    if isinstance(v, Decimal):  # money: the one format (Indian grouping, two decimals)
        return html.escape(inr(v, symbol=False))
    if isinstance(v, _Signed):
        return html.escape(inr(v.amount, sign=True, symbol=False))
    if isinstance(v, enum.Enum):
        v = v.value if not isinstance(v, int) else v.name
    if isinstance(v, datetime):
        v = v.strftime("%H:%M:%S")
    return html.escape("" if v is None else str(v))


@dataclasses.dataclass(frozen=True, slots=True)
class _Signed:
    """A P&L amount: shown with its sign (``+1,234.50`` / ``-12.05``)."""

    amount: Decimal


def table_html(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="livetrade">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def orders_html(orders: Sequence[Order]) -> str:
    return table_html(
        ["id", "symbol", "side", "type", "qty", "filled", "price", "status", "role"],
        (
            [
                o.order_id, o.symbol, o.side, o.kind, o.quantity, o.filled_quantity,
                o.executed_price or o.limit_price or o.trigger_price, o.status, o.role,
            ]
            for o in orders
        ),
    )  # fmt: skip


def positions_html(positions: Sequence[Position]) -> str:
    return table_html(
        ["symbol", "product", "qty", "avg", "last", "unrealized", "realized"],
        (
            [
                p.symbol, p.product, p.quantity, p.avg_buy_price, p.last_price,
                _Signed(p.unrealized_pnl), _Signed(p.realized_pnl),
            ]
            for p in positions
        ),
    )  # fmt: skip
