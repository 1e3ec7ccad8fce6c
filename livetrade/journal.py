"""The journal: an append-only SQLite (WAL) log of every engine event, durable before any ack.

Why: a kernel restart or crash must not lose an acknowledged order, fill or position. The
engine calls ``record`` for each event as it happens and ``flush`` at the end of every operation;
``flush`` writes the operation's events in one transaction with ``synchronous=FULL``, so either
all of an operation is on disk or none of it is (and then its caller was never told it happened).

Recovery reads the events back into a fresh engine (``restore``); ``replay`` re-runs the recorded
commands and quotes against a fresh engine and reports any fill or P&L that differs.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livetrade.engine import ChargesRefund, EngineEvent, LiveTradingEngine
from livetrade.errors import LiveTradeError
from livetrade.model import Fill, KillSwitch, Order, OrderKind, OrderStatus, Product, Role, Side
from livetrade.money import Charges, from_paise

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1

# Each entry migrates from version i to i + 1 (index 0: empty file → 1).
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            ts_ns INTEGER NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
]

# Derived facts (positions) are not journaled: they are rebuilt from fills.
_KINDS = {
    "order_accepted",
    "order_rejected",
    "order_triggered",
    "order_cancelled",
    "order_modified",
    "order_routed",
    "fill",
    "charges_refunded",
    "kill_switch",
}


class JournalError(LiveTradeError):
    """The journal cannot be used; the message says why and what to do."""


class JournalLocked(JournalError):
    """Another session (or process) has this journal open."""


class JournalCorrupt(JournalError):
    """The file is not a readable livetrade journal."""


class JournalTooNew(JournalError):
    """The journal was written by a newer livetrade (its schema version is higher)."""


def default_dir() -> Path:
    """``$LIVETRADE_DATA_DIR``, else the XDG data dir (``~/.local/share/livetrade``)."""
    env = os.environ.get("LIVETRADE_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "livetrade"


# ---------------------------------------------------------------- (de)serialization
def order_to_dict(o: Order) -> dict[str, Any]:
    d = {
        "order_id": o.order_id,
        "symbol": o.symbol,
        "side": o.side.name,
        "kind": o.kind.value,
        "product": o.product.value,
        "quantity": o.quantity,
        "limit": o.limit_paise,
        "trigger": o.trigger_paise,
        "role": o.role.value,
        "stop_loss": o.stop_loss_paise,
        "take_profit": o.take_profit_paise,
        "parent_id": o.parent_id,
        "oco_id": o.oco_id,
        "tag": o.tag,
        "source": o.source,
        "origin": o.origin,
        "created_ns": o.created_ns,
    }
    if o.live:  # sent to a broker: PENDING until its acknowledgement is journaled
        d["live"] = True
    return d


def order_from_dict(d: dict[str, Any]) -> Order:
    return Order(
        order_id=d["order_id"],
        symbol=d["symbol"],
        side=Side[d["side"]],
        kind=OrderKind(d["kind"]),
        product=Product(d["product"]),
        quantity=d["quantity"],
        limit_paise=d["limit"],
        trigger_paise=d["trigger"],
        status=OrderStatus.PENDING if d.get("live") else OrderStatus.OPEN,
        role=Role(d["role"]),
        created_ns=d["created_ns"],
        updated_ns=d["created_ns"],
        stop_loss_paise=d["stop_loss"],
        take_profit_paise=d["take_profit"],
        parent_id=d["parent_id"],
        oco_id=d["oco_id"],
        tag=d["tag"],
        source=d["source"],
        origin=d.get("origin", ""),
        broker_order_id=None if d.get("live") else d["order_id"],
        live=bool(d.get("live")),
    )


def fill_to_dict(f: Fill) -> dict[str, Any]:
    c = f.charges
    return {
        "fill_id": f.fill_id,
        "order_id": f.order_id,
        "symbol": f.symbol,
        "side": f.side.name,
        "quantity": f.quantity,
        "price": f.price_paise,
        "ts_ns": f.ts_ns,
        "product": f.product.value,
        "role": f.role.value,
        "charges": [c.brokerage, c.stt, c.exchange, c.ipft, c.sebi, c.stamp, c.gst, c.dp],
        **({"trade_id": f.trade_id} if f.trade_id is not None else {}),
    }


def fill_from_dict(d: dict[str, Any]) -> Fill:
    return Fill(
        fill_id=d["fill_id"],
        order_id=d["order_id"],
        symbol=d["symbol"],
        side=Side[d["side"]],
        quantity=d["quantity"],
        price_paise=d["price"],
        ts_ns=d["ts_ns"],
        product=Product(d["product"]),
        role=Role(d["role"]),
        charges=Charges(*d["charges"]),
        trade_id=d.get("trade_id"),
    )


@dataclass(frozen=True, slots=True)
class Record:
    """One journal row."""

    seq: int
    ts_ns: int
    kind: str
    data: dict[str, Any]


class Journal:
    """One session's journal file. Opening it takes an exclusive lock until ``close``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pending: list[tuple[int, str, str]] = []
        self._engine: LiveTradingEngine | None = None
        self._failed: BaseException | None = None
        try:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from exc
        self._con: sqlite3.Connection | None = con
        try:
            con.execute("PRAGMA locking_mode=EXCLUSIVE")
            con.execute("PRAGMA busy_timeout=0")
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalTooNew(
                    f"journal {self.path} has schema version {version}; this livetrade reads "
                    f"up to {SCHEMA_VERSION}. Upgrade livetrade to open it."
                )
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("BEGIN IMMEDIATE")  # takes (and, in exclusive mode, keeps) the lock
            for step in range(version, SCHEMA_VERSION):
                for sql in MIGRATIONS[step]:
                    con.execute(sql)
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            con.execute("COMMIT")
            check = con.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise JournalCorrupt(f"journal {self.path} failed its integrity check: {check}")
        except JournalError:
            con.close()
            self._con = None
            raise
        except sqlite3.OperationalError as exc:
            con.close()
            self._con = None
            if "locked" in str(exc) or "busy" in str(exc):
                raise JournalLocked(
                    f"journal {self.path} is open in another session or process; close that "
                    "session first (one writer per journal)."
                ) from exc
            raise JournalCorrupt(f"journal {self.path} cannot be read: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            con.close()
            self._con = None
            raise JournalCorrupt(
                f"journal {self.path} is not a livetrade journal or is damaged: {exc}. "
                "Move it aside to start a new session; it is never overwritten."
            ) from exc

    # ---- meta
    def get_meta(self, key: str) -> Any:
        row = self._db().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        con = self._db()
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value)),
        )
        con.execute("COMMIT")

    # ---- the engine's sink
    def attach(self, engine: LiveTradingEngine) -> None:
        """Become ``engine``'s journal: every event is recorded, every operation flushed."""
        self._engine = engine
        engine.journal = self

    def record(self, event: EngineEvent) -> None:
        if event.kind not in _KINDS:
            return
        data: dict[str, Any]
        if event.kind == "fill":
            assert event.fill is not None
            data = fill_to_dict(event.fill)
        elif event.kind == "charges_refunded":
            assert event.fill is not None and event.charges is not None
            c = event.charges
            data = {
                "fill_id": event.fill.fill_id,
                "symbol": event.fill.symbol,
                "product": event.fill.product.value,
                "message": event.message,
                "charges": [c.brokerage, c.stt, c.exchange, c.ipft, c.sebi, c.stamp, c.gst, c.dp],
            }
        elif event.kind == "order_accepted":
            assert event.order is not None
            data = order_to_dict(event.order)
        elif event.kind in ("order_rejected", "kill_switch"):
            data = {"code": event.code, "message": event.message}
            if event.order is not None:  # a live order the broker refused
                data["order_id"] = event.order.order_id
        else:
            assert event.order is not None
            data = {"order_id": event.order.order_id, "message": event.message}
            if event.kind == "order_modified":
                data["quantity"] = event.order.quantity
                data["limit"] = event.order.limit_paise
                data["trigger"] = event.order.trigger_paise
        symbol = event.fill.symbol if event.fill else (event.order.symbol if event.order else None)
        if symbol is not None and self._engine is not None:
            top = self._engine.price_stream.top(symbol)
            if top is not None:  # the quote the engine saw: what a replay feeds back
                data["quote"] = [symbol, *top]
        self._pending.append((event.ts_ns, event.kind, json.dumps(data, separators=(",", ":"))))

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        con = self._db()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT INTO events(ts_ns, kind, data) VALUES(?, ?, ?)", rows)
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed = exc
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise JournalError(f"could not write the journal {self.path}: {exc}") from exc

    # ---- reading
    def records(self) -> Iterator[Record]:
        for seq, ts, kind, data in self._db().execute(
            "SELECT seq, ts_ns, kind, data FROM events ORDER BY seq"
        ):
            yield Record(seq, ts, kind, json.loads(data))

    def __len__(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM events").fetchone()[0])

    def to_frame(self) -> pd.DataFrame:
        """Every event as a row: seq, timestamp, kind, order/fill ids, symbol, side, quantity,
        price (rupees), message."""
        import pandas as pd

        rows = []
        for r in self.records():
            d = r.data
            price = d.get("price", d.get("limit", d.get("trigger")))
            rows.append(
                {
                    "seq": r.seq,
                    "timestamp": r.ts_ns,
                    "kind": r.kind,
                    "order_id": d.get("order_id"),
                    "fill_id": d.get("fill_id"),
                    "symbol": d.get("symbol"),
                    "side": d.get("side"),
                    "quantity": d.get("quantity"),
                    "price": None if price is None else price / 100,
                    "source": d.get("source"),
                    "origin": d.get("origin"),
                    "message": d.get("message") or d.get("code"),
                }
            )
        cols = [
            "seq", "timestamp", "kind", "order_id", "fill_id", "symbol", "side", "quantity",
            "price", "source", "origin", "message",
        ]  # fmt: skip
        frame = pd.DataFrame(rows, columns=cols)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ns", utc=True).dt.tz_convert(
            "Asia/Kolkata"
        )
        frame["price"] = frame["price"].astype("float64")
        return frame

    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            raise JournalError(f"journal {self.path} is closed")
        return self._con

    def close(self) -> None:
        if self._con is not None:
            if self._pending:
                self.flush()
            self._con.close()
            self._con = None
        if self._engine is not None and self._engine.journal is self:
            self._engine.journal = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._con is not None else "closed"
        return f"Journal({str(self.path)!r}, {state})"


def restore(engine: LiveTradingEngine, records: Iterator[Record] | list[Record]) -> int:
    """Rebuild ``engine`` (fresh, same wallet) from journal records; returns the last time seen.

    Orders come back with their recorded state; fills rebuild positions, cash and charges
    exactly; open orders go back into the trigger books.
    """
    last_ts = 0
    for r in records:
        last_ts = max(last_ts, r.ts_ns)
        d = r.data
        if r.kind == "order_accepted":
            engine.restore_order(order_from_dict(d))
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
    engine.finish_restore()
    return last_ts


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
        if r.ts_ns > clock.now_ns():
            clock.set(r.ts_ns)
        q = r.data.get("quote")
        if q is not None:
            sym, bid, ask, last, ts = q
            if stream.top(sym) != (bid, ask, last, ts):
                stream.push(sym, bid, ask, last, 0, ts)
        d = r.data
        try:
            if r.kind == "order_accepted" and d["source"] in ("kill switch", "square-off"):
                engine._force_close(d["symbol"], Product(d["product"]), d["source"])
            elif r.kind == "order_accepted" and d["source"] != "bracket":
                order = engine.submit(
                    d["symbol"],
                    Side[d["side"]],
                    d["quantity"],
                    OrderKind(d["kind"]),
                    product=Product(d["product"]),
                    limit_price=None if d["limit"] is None else d["limit"] / 100,
                    trigger_price=None if d["trigger"] is None else d["trigger"] / 100,
                    stop_loss=None if d["stop_loss"] is None else d["stop_loss"] / 100,
                    take_profit=None if d["take_profit"] is None else d["take_profit"] / 100,
                    tag=d["tag"],
                    source=d["source"],
                    origin=d.get("origin", ""),
                )
                if order.order_id != d["order_id"]:
                    mismatches.append(f"order {d['order_id']} replayed as {order.order_id}")
            elif r.kind == "order_cancelled" and d.get("message") in (
                "cancelled by the trader",
                "cancel all",
            ):
                o = engine.order(d["order_id"])
                if o is not None and o.is_open:
                    engine.cancel(d["order_id"])
            elif r.kind == "order_modified" and d.get("message") == "modified by the trader":
                o = engine.order(d["order_id"])
                if o is not None and o.is_open:
                    changes: dict[str, Any] = {}
                    if d.get("quantity") != o.quantity:
                        changes["quantity"] = d["quantity"]
                    if d.get("limit") is not None and d["limit"] != o.limit_paise:
                        changes["limit_price"] = from_paise(d["limit"])
                    if d.get("trigger") is not None and d["trigger"] != o.trigger_paise:
                        changes["trigger_price"] = from_paise(d["trigger"])
                    if changes:
                        engine.modify(d["order_id"], **changes)
            elif r.kind == "kill_switch":
                engine.set_kill_switch(d["message"])
        except LiveTradeError as exc:
            mismatches.append(f"seq {r.seq} ({r.kind}) failed on replay: {exc}")
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
