"""Restore: rebuild a fresh engine from journal rows, refusing a row that does not restore.

Why its own module: restore is the recovery path (a kernel restart, ``open_session`` on an
existing journal, ``Journal.verify``) and the one place that turns a damaged row's bare
``KeyError``/``ValueError`` into a ``JournalCorrupt`` naming the file and the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from livetrade.engine import ChargesRefund, LiveTradingEngine
from livetrade.journal_errors import _MOVE_ASIDE, JournalCorrupt
from livetrade.journal_rows import Record, _conversion_from_dict, fill_from_dict, order_from_dict
from livetrade.model import IllegalTransition, KillSwitch, Product
from livetrade.money import Charges


def restore(
    engine: LiveTradingEngine,
    records: Iterator[Record] | list[Record],
    path: str | Path | None = None,
) -> int:
    """Rebuild ``engine`` (fresh, same wallet) from journal records; returns the last time seen.

    Orders come back with their recorded state; fills rebuild positions, cash and charges
    exactly; open orders go back into the trigger books. A row that does not restore (a field
    missing or of the wrong type, an order id no order has) raises ``JournalCorrupt`` naming
    ``path`` and the row, never the bare ``KeyError`` or ``ValueError`` behind it.
    """
    where = f"journal {path}" if path is not None else "the journal"
    last_ts, seq = 0, 0
    for r in records:
        last_ts, seq = max(last_ts, r.ts_ns), r.seq
        try:
            _restore_one(engine, r)
        except _DOES_NOT_RESTORE as exc:
            raise JournalCorrupt(
                f"{where}: row seq {r.seq} ({r.kind}) does not restore: {_why(exc)}. {_MOVE_ASIDE}"
            ) from None
    try:
        engine.finish_restore()
    except _DOES_NOT_RESTORE as exc:
        raise JournalCorrupt(
            f"{where}: the orders up to row seq {seq} do not restore: {_why(exc)}. {_MOVE_ASIDE}"
        ) from None
    return last_ts


# What a damaged row can make restore raise; an order moved between states the table does not
# allow (IllegalTransition, e.g. a cancel after the fill) is a damaged journal too.
_DOES_NOT_RESTORE = (KeyError, ValueError, TypeError, IndexError, AttributeError, IllegalTransition)


def _why(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} (a field is missing, or an order id no order has)"
    return f"{type(exc).__name__}: {exc}"


def _restore_one(engine: LiveTradingEngine, r: Record) -> None:
    d = r.data
    if r.kind == "order_accepted":
        engine.restore_order(order_from_dict(d))
    elif r.kind == "order_sliced":  # a parent of slices (livetrade.engine.fno)
        engine.restore_parent(order_from_dict(d))
    elif r.kind == "fill":
        engine.restore_fill(fill_from_dict(d))
    elif r.kind == "charges_refunded":
        back = Charges(*d["charges"])
        product = Product(d["product"])
        engine.restore_refund(ChargesRefund(d["fill_id"], d["symbol"], product, r.ts_ns, back))
    elif r.kind in ("order_triggered", "order_cancelled", "order_modified", "order_routed") or (
        r.kind == "order_rejected" and "order_id" in d
    ):
        engine.restore_change(
            d["order_id"],
            r.kind,
            r.ts_ns,
            d.get("quantity"),
            d.get("message", ""),
            d.get("limit"),
            d.get("trigger"),
        )
    elif r.kind == "kill_switch":
        engine.kill_switch = KillSwitch(d["message"])
    elif r.kind == "position_converted":
        engine.restore_conversion(_conversion_from_dict(d, r.ts_ns))
