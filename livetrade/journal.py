"""The journal: an append-only SQLite (WAL) log of every engine event, durable before any ack.

Why: a kernel restart or crash must not lose an acknowledged order, fill or position. The
engine calls ``record`` for each event as it happens and ``flush`` at the end of every operation;
``flush`` writes the operation's events in one transaction with ``synchronous=FULL``, so either
all of an operation is on disk or none of it is (and then its caller was never told it happened).

Recovery reads the events back into a fresh engine (``restore``); ``replay`` re-runs the recorded
commands and quotes against a fresh engine and reports any fill or P&L that differs.

Damage is refused, never restored around: every row carries a sha256 chained over the row before
it, so an altered, removed or reordered row, a row that does not decode or restore, and an empty
or truncated file all raise ``JournalCorrupt`` naming the file, the row and the reason. The
journal is ``NAME.sqlite`` plus ``NAME.sqlite-wal`` (the newest commits): ``Journal.backup``
copies both through SQLite's backup API; ``check`` verifies a journal read-only.

This module is the store: the file, its schema and lock, the hash chain, verify and backup. The
row format is ``livetrade.journal_rows``, the errors ``livetrade.journal_errors``, recovery
``livetrade.journal_restore`` and replay ``livetrade.journal_replay``; every name is still
importable from here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from livetrade.engine import EngineEvent, LiveTradingEngine
from livetrade.journal_errors import (
    _MOVE_ASIDE,
    JournalCorrupt,
    JournalError,
    JournalLocked,
    JournalTooNew,
)
from livetrade.journal_replay import ReplayReport, replay
from livetrade.journal_restore import restore
from livetrade.journal_rows import (
    _KINDS,
    Record,
    event_data,
    fill_from_dict,
    fill_to_dict,
    order_from_dict,
    order_to_dict,
)
from livetrade.model import ns_to_datetime
from livetrade.money import from_paise

if TYPE_CHECKING:
    import pandas as pd

__all__ = [  # what ``from livetrade.journal import ...`` has always offered
    "SCHEMA_VERSION",
    "Journal",
    "JournalCorrupt",
    "JournalError",
    "JournalLocked",
    "JournalSummary",
    "JournalTooNew",
    "Record",
    "ReplayReport",
    "check",
    "default_dir",
    "fill_from_dict",
    "fill_to_dict",
    "order_from_dict",
    "order_to_dict",
    "replay",
    "restore",
]

SCHEMA_VERSION = 2

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
    # 1 → 2: a hash chain over the rows (see ``_row_hash``). Rows written before this migration
    # have no hash: they are accepted as legacy (``chain_from`` is the last of them) and the
    # chain starts at the first row after them, so an old journal still opens and every row
    # written from then on is checked.
    [
        "ALTER TABLE events ADD COLUMN hash TEXT",
        "INSERT OR REPLACE INTO meta(key, value) "
        "SELECT 'chain_from', COALESCE(MAX(seq), 0) FROM events",
    ],
]


def default_dir() -> Path:
    """``$LIVETRADE_DATA_DIR``, else the XDG data dir (``~/.local/share/livetrade``)."""
    env = os.environ.get("LIVETRADE_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "livetrade"


@dataclass(frozen=True, slots=True)
class JournalSummary:
    """What a check of a journal found: the one-line verdict of ``livetrade journal check``."""

    path: Path
    rows: int
    legacy_rows: int  # written before the hash chain existed (schema 1): decoded, not hashed
    orders: int
    fills: int
    last_ts_ns: int

    def __str__(self) -> str:
        last = ns_to_datetime(self.last_ts_ns).strftime("%Y-%m-%d %H:%M:%S IST")
        if self.rows and self.legacy_rows == self.rows:
            chain = "written before the hash chain: decoded, not hashed"
        elif self.legacy_rows:
            chain = f"hash chain verified after {self.legacy_rows} legacy rows"
        else:
            chain = "hash chain verified"
        return (
            f"journal {self.path} is OK: {self.rows} rows ({chain}), "
            f"{self.orders} orders, {self.fills} fills, "
            f"last event {last if self.rows else 'none'}"
        )


_WAL = "-wal"


def _row_hash(prev: str, seq: int, ts_ns: int, kind: bytes, data: bytes) -> str:
    """The hash chain: sha256 over the previous row's hash, this row's seq, time, kind and data.

    Why a chain and not a per-row checksum: it also catches a row removed from the middle or
    rows swapped, since every row's hash depends on all the rows before it."""
    h = hashlib.sha256(f"{prev}\x1f{seq}\x1f{ts_ns}\x1f".encode())
    h.update(kind)
    h.update(b"\x1f")
    h.update(data)
    return h.hexdigest()


def _wal_size(path: Path) -> int:
    try:
        return path.with_name(path.name + _WAL).stat().st_size
    except OSError:
        return 0


class Journal:
    """One session's journal file. Opening it takes an exclusive lock until ``close``.

    ``read_only=True`` opens an existing journal without locking it for writing (what
    ``livetrade journal check/backup`` use): nothing is migrated, flushed or recovered into it.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        # (seq, ts_ns, kind, data, hash): the hash is chained when the row is queued, so
        # ``flush`` (on the order path) only inserts.
        self._pending: list[tuple[int, int, str, str, str]] = []
        self._engine: LiveTradingEngine | None = None
        self._failed: BaseException | None = None
        self._con: sqlite3.Connection | None = None
        self._hashed = True  # False only for a schema-1 journal opened read-only
        self._chain_from = 0  # rows up to this seq are legacy (no hash)
        self._seq = 0  # last committed row and its hash ("" before the chain's first row)
        self._head = ""
        self._next_seq = 1  # the next queued row and the hash it chains from
        self._next_head = ""
        self._refuse_lost_content()
        if not self.path.exists():
            if read_only:
                raise JournalError(f"no journal at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._create()
        mode = "ro" if read_only else "rw"  # never let SQLite create an empty file here
        try:
            con = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode={mode}",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}") from None
        locked = False
        try:
            self._setup(con)
        except JournalError:
            con.close()
            raise
        except sqlite3.OperationalError as exc:
            con.close()
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise JournalCorrupt(
                    f"journal {self.path} cannot be read: {exc}. {_MOVE_ASIDE}"
                ) from None
            locked = True
        except sqlite3.DatabaseError as exc:
            con.close()
            raise JournalCorrupt(
                f"journal {self.path} is not a livetrade journal or is damaged: {exc}. "
                "Move it aside to start a new session; it is never overwritten."
            ) from None
        if locked:  # raised outside the handler: no chained sqlite traceback in a notebook
            raise JournalLocked(
                f"journal {self.path} is open in another session or process (a journal has "
                "one writer, and a running session keeps it locked). Close that session "
                "(await session.close(), or stop its kernel or 'livetrade serve'), or open "
                f'this one under another name: open_session(name="{self.path.stem}-2").'
            )
        self._con = con

    def _refuse_lost_content(self) -> None:
        """Before SQLite touches the files: an existing empty file was a journal that lost its
        content (SQLite would silently start it afresh, and drop a -wal beside it)."""
        wal = self.path.name + _WAL
        wal_size = _wal_size(self.path)
        if not self.path.exists():
            if wal_size:
                raise JournalCorrupt(
                    f"journal {self.path} is missing but its write-ahead log {wal} "
                    f"({wal_size} bytes) is beside it: the main file was lost or moved. Put it "
                    f"back, or move {wal} aside to start a new session."
                )
            return
        if self.path.stat().st_size == 0:
            kept = (
                f"; {wal} beside it ({wal_size} bytes) holds only the newest commits and cannot "
                "rebuild it: keep both files together"
                if wal_size
                else ""
            )
            raise JournalCorrupt(
                f"journal {self.path} is empty (0 bytes): it was a journal that lost its "
                f"content{kept}. {_MOVE_ASIDE}"
            )

    def _create(self) -> None:
        """A brand new journal is built beside its final name and linked into place, so the
        name never exists as an empty or half-made file (which would be refused)."""
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".new", dir=self.path.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("BEGIN IMMEDIATE")
                for step in MIGRATIONS:
                    for sql in step:
                        con.execute(sql)
                con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                con.execute("COMMIT")
            finally:
                con.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process created it first: open theirs
            except OSError:  # no hard links on this filesystem
                if not self.path.exists():
                    os.replace(tmp, self.path)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot create journal {self.path}: {exc}") from None
        finally:
            for leftover in (tmp, *(tmp.with_name(tmp.name + x) for x in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)

    def _setup(self, con: sqlite3.Connection) -> None:
        if not self.read_only:
            con.execute("PRAGMA locking_mode=EXCLUSIVE")
        con.execute("PRAGMA busy_timeout=0")
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise JournalTooNew(
                f"journal {self.path} has schema version {version}; this livetrade reads "
                f"up to {SCHEMA_VERSION}. Upgrade livetrade to open it."
            )
        if version == 0:  # an existing file: new journals are created with their schema
            raise JournalCorrupt(
                f"journal {self.path} has no journal schema (an SQLite file that is not a "
                f"livetrade journal, or one whose creation was cut short). {_MOVE_ASIDE}"
            )
        if self.read_only:
            self._hashed = version >= 2
        else:
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
            raise JournalCorrupt(
                f"journal {self.path} failed its integrity check: {check}. {_MOVE_ASIDE}"
            )
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"events", "meta"} <= tables:
            raise JournalCorrupt(
                f"journal {self.path} has lost its tables (schema version {version} but only "
                f"{sorted(tables) or 'none'}). {_MOVE_ASIDE}"
            )
        if self._hashed:
            row = con.execute("SELECT value FROM meta WHERE key='chain_from'").fetchone()
            try:
                self._chain_from = int(row[0])
            except (TypeError, ValueError):
                raise JournalCorrupt(
                    f"journal {self.path} has lost the start of its hash chain (meta "
                    f"'chain_from' is {None if row is None else row[0]!r}). {_MOVE_ASIDE}"
                ) from None
            last = con.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            if last is not None:
                self._seq = last[0]
                self._head = (last[1] or "") if last[0] > self._chain_from else ""
        self._next_seq, self._next_head = self._seq + 1, self._head

    # ---- meta
    def get_meta(self, key: str) -> Any:
        row = (
            self._db()
            .execute("SELECT CAST(value AS BLOB) FROM meta WHERE key=?", (key,))
            .fetchone()
        )
        if row is None:
            return None
        try:
            return json.loads(row[0].decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError both
            raise JournalCorrupt(
                f"journal {self.path}: meta {key!r} does not decode ({exc}). {_MOVE_ASIDE}"
            ) from None

    def set_meta(self, key: str, value: Any) -> None:
        con = self._writable()
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
        self._writable()
        self._engine = engine
        engine.journal = self

    def record(self, event: EngineEvent) -> None:
        if event.kind not in _KINDS:
            return
        data = event_data(event)
        symbol = event.fill.symbol if event.fill else (event.order.symbol if event.order else None)
        if symbol is not None and self._engine is not None:
            top = self._engine.price_stream.top(symbol)
            if top is not None:  # the quote the engine saw: what a replay feeds back
                data["quote"] = [symbol, *top]
        payload = json.dumps(data, separators=(",", ":"))
        seq = self._next_seq
        digest = _row_hash(self._next_head, seq, event.ts_ns, event.kind.encode(), payload.encode())
        self._next_seq, self._next_head = seq + 1, digest
        self._pending.append((seq, event.ts_ns, event.kind, payload, digest))

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        con = self._writable()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(
                "INSERT INTO events(seq, ts_ns, kind, data, hash) VALUES(?, ?, ?, ?, ?)", rows
            )
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed = exc
            self._next_seq, self._next_head = self._seq + 1, self._head  # the chain goes on
            if con.in_transaction:  # from the last row that is really on disk
                con.execute("ROLLBACK")
            raise JournalError(f"could not write the journal {self.path}: {exc}") from exc
        self._seq, self._head = rows[-1][0], rows[-1][4]

    # ---- reading
    def records(self) -> Iterator[Record]:
        """Every row, in order, each decoded and checked against the hash chain; the first row
        that fails raises ``JournalCorrupt`` naming it (rows before it were yielded)."""
        hashed = "hash" if self._hashed else "NULL"
        head, expect = "", self._chain_from + 1
        for seq, ts, kind_b, data_b, stored in self._db().execute(
            "SELECT seq, ts_ns, CAST(kind AS BLOB), CAST(data AS BLOB), "
            f"{hashed} FROM events ORDER BY seq"
        ):
            kind, data = self._decode(seq, ts, kind_b, data_b)
            if self._hashed and seq > self._chain_from:
                if seq != expect:
                    self._corrupt(
                        seq, kind, f"follows seq {expect - 1}: rows {expect}..{seq - 1} are missing"
                    )
                if stored is None:
                    self._corrupt(seq, kind, "has no hash although the chain began before it")
                if _row_hash(head, seq, ts, kind_b, data_b) != stored:
                    self._corrupt(
                        seq,
                        kind,
                        "does not match its hash: it was altered or damaged, or a row before it "
                        "was removed or reordered",
                    )
                head, expect = stored, seq + 1
            yield Record(seq, ts, kind, data)

    def _decode(self, seq: int, ts: Any, kind_b: Any, data_b: Any) -> tuple[str, dict[str, Any]]:
        if not isinstance(kind_b, bytes) or not isinstance(data_b, bytes):
            self._corrupt(seq, None, "has an empty kind or data")
        try:
            kind = kind_b.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._corrupt(seq, None, f"has a kind that is not valid UTF-8 ({exc.reason})")
        if kind not in _KINDS:
            self._corrupt(seq, None, f"has an unknown kind {kind!r}")
        if not isinstance(ts, int):
            self._corrupt(seq, kind, f"has a timestamp that is not an integer ({ts!r})")
        try:
            text = data_b.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._corrupt(
                seq, kind, f"has data that is not valid UTF-8 ({exc.reason} at byte {exc.start})"
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._corrupt(seq, kind, f"has data that is not valid JSON ({exc})")
        if not isinstance(data, dict):
            self._corrupt(seq, kind, f"has data that is not a JSON object ({text[:40]!r})")
        return kind, data

    def _corrupt(self, seq: int, kind: str | None, reason: str) -> NoReturn:
        what = f"row seq {seq}" + (f" ({kind})" if kind else "")
        raise JournalCorrupt(f"journal {self.path}: {what} {reason}. {_MOVE_ASIDE}")

    def __len__(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM events").fetchone()[0])

    # ---- checking and copying
    def verify(self) -> JournalSummary:
        """Full check: SQLite's integrity check, every row decodes and matches the hash chain,
        and the rows restore into a throwaway engine. Raises ``JournalCorrupt`` naming the
        file and the row, or returns the summary."""
        con = self._db()
        problems = [r[0] for r in con.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise JournalCorrupt(
                f"journal {self.path} failed its integrity check: {'; '.join(problems)}. "
                f"{_MOVE_ASIDE}"
            )
        records = list(self.records())
        config = self.get_meta("config")
        wallet = config.get("wallet_paise") if isinstance(config, dict) else None
        engine = LiveTradingEngine(from_paise(wallet if isinstance(wallet, int) else 100_000_000))
        last_ts = restore(engine, records, self.path)
        legacy = sum(1 for r in records if r.seq <= self._chain_from) if self._hashed else None
        return JournalSummary(
            self.path,
            len(records),
            len(records) if legacy is None else legacy,
            len(engine.orders),
            len(engine.fills),
            last_ts,
        )

    def backup(self, dest: str | Path) -> JournalSummary:
        """Copy this journal to ``dest`` (a new file, or a folder to put ``NAME.sqlite`` in)
        with SQLite's backup API and check the copy.

        Why not copy the file: while a session is open (or after a crash) the newest commits
        are in ``NAME.sqlite-wal``; the backup API reads through this connection, so the copy
        has every acknowledged row. The copy is one self-contained file (rollback journal
        mode); it is written beside ``dest`` and only linked into place once it checks OK."""
        con = self._db()
        if not self.read_only:
            self.flush()
        target = Path(dest)
        if target.is_dir():
            target = target / self.path.name
        if target.exists() or _wal_size(target):
            raise JournalError(
                f"{target} (or its -wal) already exists; a backup never overwrites a file"
            )
        if not target.parent.is_dir():
            raise JournalError(f"cannot back up to {target}: folder {target.parent} is missing")
        summary = self.verify()  # a damaged journal is refused, not copied as if it were fine
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            out = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.backup(out)
                out.execute("PRAGMA journal_mode=DELETE")
            finally:
                out.close()
            with Journal(tmp, read_only=True) as copy:
                copied = copy.verify()
            if (copied.rows, copied.orders, copied.fills) != (
                summary.rows,
                summary.orders,
                summary.fills,
            ):
                raise JournalError(
                    f"the backup of {self.path} does not match it ({copied.rows} rows against "
                    f"{summary.rows}); nothing was written to {target}"
                )
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise JournalError(
                    f"{target} already exists; a backup never overwrites a file"
                ) from None
            except OSError:  # no hard links on this filesystem
                os.replace(tmp, target)
        except sqlite3.Error as exc:
            raise JournalError(f"could not back up {self.path} to {target}: {exc}") from None
        finally:
            for leftover in (tmp, *(tmp.with_name(tmp.name + x) for x in ("-journal", "-wal"))):
                leftover.unlink(missing_ok=True)
        return dataclasses.replace(summary, path=target)

    def reseal(self, reason: str) -> int:
        """Recompute the hash chain after a deliberate edit of the rows (a what-if for
        ``replay``, a repair); the reason and time are kept in meta ``resealed``. Returns how
        many rows were rehashed. Damage is what the chain is for: never reseal to hide it."""
        con = self._writable()
        self.flush()
        head, n = "", 0
        con.execute("BEGIN IMMEDIATE")
        try:
            for seq, ts, kind_b, data_b in con.execute(
                "SELECT seq, ts_ns, CAST(kind AS BLOB), CAST(data AS BLOB) FROM events "
                "WHERE seq > ? ORDER BY seq",
                (self._chain_from,),
            ).fetchall():
                head = _row_hash(head, seq, ts, kind_b, data_b)
                con.execute("UPDATE events SET hash=? WHERE seq=?", (head, seq))
                self._seq, n = seq, n + 1
            row = con.execute("SELECT value FROM meta WHERE key='resealed'").fetchone()
            log = json.loads(row[0]) if row is not None else []
            log.append({"ns": time.time_ns(), "rows": n, "reason": reason})
            con.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES('resealed', ?)", (json.dumps(log),)
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._head = head
        self._next_seq, self._next_head = self._seq + 1, self._head
        return n

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

    def _writable(self) -> sqlite3.Connection:
        if self.read_only:
            raise JournalError(f"journal {self.path} was opened read-only")
        return self._db()

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


def check(path: str | Path) -> JournalSummary:
    """Verify the journal at ``path`` without taking it over (read-only): see ``Journal.verify``.
    A journal held by a running session raises ``JournalLocked``."""
    with Journal(path, read_only=True) as journal:
        return journal.verify()
