"""Replay: re-run a journal's recorded commands and quotes against a fresh engine and report
every fill or P&L that comes out differently.

Why its own module: replay is a check of the engine (is it deterministic; does a change to it
alter a recorded session's outcome), not part of keeping or restoring the journal. Each step
of a replay is a named function: move the clock and feed the recorded quote, re-issue the
trader's command the row records, then compare the fills and the P&L.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livetrade.engine import LiveTradingEngine
from livetrade.errors import LiveTradeError
from livetrade.journal_errors import JournalError
from livetrade.journal_restore import restore
from livetrade.journal_rows import Record
from livetrade.model import OrderKind, Product, Side
from livetrade.money import from_paise
from livetrade.request import OrderRequest

if TYPE_CHECKING:
    from livetrade.clock import VirtualClock
    from livetrade.prices import LivePriceStream

# Cancels the trader asked for: the others (a bracket's OCO leg, an expiry) the engine
# repeats by itself on replay.
_TRADER_CANCELS = ("cancelled by the trader", "cancel all")


@dataclass
class ReplayReport:
    """What a replay reproduced. ``mismatches`` lists every difference, in words."""

    fills_expected: int
    fills_replayed: int
    pnl_expected: dict[str, int]
    pnl_replayed: dict[str, int]
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def replay(records: list[Record], engine: LiveTradingEngine) -> ReplayReport:
    """Re-run the recorded commands and quotes against ``engine`` (fresh, same wallet, on a
    ``VirtualClock``) and compare its fills and P&L with the journal's."""
    from livetrade.clock import VirtualClock

    clock = engine.clock
    if not isinstance(clock, VirtualClock):
        raise JournalError("replay needs an engine on a VirtualClock")
    stream = engine.price_stream
    expected = LiveTradingEngine(from_paise(engine.initial_paise), charges=_fresh_charges(engine))
    restore(expected, records)
    mismatches: list[str] = []
    for r in records:
        _feed(r, clock, stream)
        try:
            _rerun(r, engine, mismatches)
        except LiveTradeError as exc:
            mismatches.append(f"seq {r.seq} ({r.kind}) failed on replay: {exc}")
    return _compare(expected, engine, mismatches)


def _feed(r: Record, clock: VirtualClock, stream: LivePriceStream) -> None:
    """Move the clock to the row's time and push the quote the engine saw, if it differs."""
    if r.ts_ns > clock.now_ns():
        clock.set(r.ts_ns)
    q = r.data.get("quote")
    if q is not None:
        sym, bid, ask, last, ts = q
        if stream.top(sym) != (bid, ask, last, ts):
            stream.push(sym, bid, ask, last, 0, ts)


def _rerun(r: Record, engine: LiveTradingEngine, mismatches: list[str]) -> None:
    """Re-issue the command row ``r`` records; rows the engine makes by itself are skipped."""
    d = r.data
    if r.kind == "order_accepted" and d["source"] == "expiry":
        pass  # the replaying engine settles the contract itself as the clock passes
    elif r.kind == "order_accepted" and d["source"] in ("kill switch", "square-off"):
        engine.force_close(d["symbol"], Product(d["product"]), d["source"])
    elif r.kind == "order_accepted" and d["source"] != "bracket":
        _place(d, engine, mismatches)
    elif r.kind == "order_cancelled" and d.get("message") in _TRADER_CANCELS:
        o = engine.order(d["order_id"])
        if o is not None and o.is_open:
            engine.cancel(d["order_id"])
    elif r.kind == "order_modified" and d.get("message") == "modified by the trader":
        _modify(d, engine)
    elif r.kind == "kill_switch":
        engine.set_kill_switch(d["message"])
    elif r.kind == "position_converted":
        engine.convert(d["symbol"], abs(d["quantity"]), d["from"], d["to"])


def _place(d: dict[str, Any], engine: LiveTradingEngine, mismatches: list[str]) -> None:
    request = OrderRequest(  # the journal holds exact paise: no re-parsing
        d["symbol"],
        Side[d["side"]],
        d["quantity"],
        OrderKind(d["kind"]),
        Product(d["product"]),
        limit_paise=d["limit"],
        trigger_paise=d["trigger"],
        stop_loss_paise=d["stop_loss"],
        take_profit_paise=d["take_profit"],
        tag=d["tag"],
        source=d["source"],
    )
    order = engine.place(request, origin=d.get("origin", ""))
    if order.order_id != d["order_id"]:
        mismatches.append(f"order {d['order_id']} replayed as {order.order_id}")


def _modify(d: dict[str, Any], engine: LiveTradingEngine) -> None:
    o = engine.order(d["order_id"])
    if o is None or not o.is_open:
        return
    changes: dict[str, Any] = {}
    if d.get("quantity") != o.quantity:
        changes["quantity"] = d["quantity"]
    if d.get("limit") is not None and d["limit"] != o.limit_paise:
        changes["limit_price"] = from_paise(d["limit"])
    if d.get("trigger") is not None and d["trigger"] != o.trigger_paise:
        changes["trigger_price"] = from_paise(d["trigger"])
    if changes:
        engine.modify(d["order_id"], **changes)


def _compare(
    expected: LiveTradingEngine, engine: LiveTradingEngine, mismatches: list[str]
) -> ReplayReport:
    """The journal's fills and P&L (``expected``, restored) against the replay's."""
    want = [(f.fill_id, f.order_id, f.quantity, f.price_paise, f.charges) for f in expected.fills]
    got = [(f.fill_id, f.order_id, f.quantity, f.price_paise, f.charges) for f in engine.fills]
    for i, (w, g) in enumerate(zip(want, got, strict=False)):
        if w != g:
            mismatches.append(f"fill #{i + 1}: journal {w[:4]} vs replay {g[:4]}")
    if len(want) != len(got):
        mismatches.append(f"{len(want)} fills in the journal, {len(got)} on replay")
    pe, pr = expected.pnl_paise(), engine.pnl_paise()
    for key in ("cash", "gross_realized", "charges"):
        if pe[key] != pr[key]:
            mismatches.append(f"{key}: journal {pe[key]} paise vs replay {pr[key]} paise")
    return ReplayReport(len(want), len(got), pe, pr, mismatches)


def _fresh_charges(engine: LiveTradingEngine) -> Any:
    return type(engine.charges_model)()
