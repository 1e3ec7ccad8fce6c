"""Journal hardening (issue #18): an empty, truncated or damaged journal is refused with the file,
the row and the reason; a hash chain catches altered, removed and reordered rows; restore errors
never escape raw; ``livetrade journal check/backup``; a clear ``JournalLocked``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import livetrade as lt
from livetrade.cli import main
from livetrade.journal import (
    SCHEMA_VERSION,
    Journal,
    JournalCorrupt,
    JournalError,
    JournalLocked,
    Record,
    check,
    restore,
)

SYM = "NSE:SBIN-EQ"


async def trade(path: Path, name: str = "desk", orders: int = 4) -> lt.Session:
    """An open session (virtual clock) with ``orders`` market orders, a bracket and a limit."""
    s = await lt.open_session(seed=7, realtime=False, name=name, journal_dir=path)
    await s.run_for(ticks=5)
    for i in range(orders):
        await s.run_for(ticks=3)
        await (s.buy if i % 2 == 0 else s.sell)(SYM, 2)
    q = s.stream.quote(SYM)
    assert q is not None
    await s.buy(SYM, 3, stop_loss=q.last_price - 5, take_profit=q.last_price + 5)
    tcs = s.stream.quote("NSE:TCS-EQ")
    assert tcs is not None  # a limit far below the market, inside the ±20% circuit band
    await s.buy("NSE:TCS-EQ", 1, order_type="LIMIT", limit_price=tcs.last_price * 9 // 10)
    return s


async def journal_of(path: Path, name: str = "desk") -> tuple[Path, list[str]]:
    """A closed journal and the ids of its orders."""
    s = await trade(path, name)
    ids = [o.order_id for o in s.engine.orders]
    await s.close()
    return path / f"{name}.sqlite", ids


def rows(path: Path) -> list[tuple[int, str, str]]:
    con = sqlite3.connect(path)
    try:
        return list(con.execute("SELECT seq, kind, data FROM events ORDER BY seq"))
    finally:
        con.close()


def tamper(path: Path, sql: str, *params: Any) -> None:
    """Edit the closed journal behind livetrade's back (what damage or a stray tool does)."""
    con = sqlite3.connect(path)
    con.execute(sql, params)
    con.commit()
    con.close()


def first(path: Path, kind: str) -> tuple[int, dict[str, Any]]:
    seq, _, data = next(r for r in rows(path) if r[1] == kind)
    return seq, json.loads(data)


async def refused(path: Path, name: str = "desk") -> str:
    """Opening the session is refused with JournalCorrupt; its message."""
    with pytest.raises(JournalCorrupt) as info:
        await lt.open_session(realtime=False, name=name, journal_dir=path)
    assert lt.get_session(name) is None
    return str(info.value)


# ---------------------------------------------------------------- empty and truncated files
async def test_an_empty_file_after_a_clean_close_is_refused_and_kept(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    path.write_bytes(b"")
    message = await refused(tmp_path)
    assert str(path) in message and "empty (0 bytes)" in message and "Move it aside" in message
    assert path.stat().st_size == 0  # never started afresh in its place
    assert not path.with_name("desk.sqlite-wal").exists()
    with pytest.raises(JournalCorrupt, match="empty"):
        check(path)


async def test_an_empty_file_with_its_wal_kept_is_refused_and_the_wal_untouched(
    tmp_path: Path,
) -> None:
    s = await trade(tmp_path)
    crash = tmp_path / "crash"
    crash.mkdir()
    for suffix in ("", "-wal"):  # the files as a crash leaves them: the WAL never checkpointed
        shutil.copy(tmp_path / f"desk.sqlite{suffix}", crash / f"desk.sqlite{suffix}")
    await s.close()
    (crash / "desk.sqlite").write_bytes(b"")
    wal = (crash / "desk.sqlite-wal").read_bytes()
    assert wal  # SQLite would have deleted it and opened an empty journal
    message = await refused(crash)
    assert "empty (0 bytes)" in message and "desk.sqlite-wal" in message
    assert (crash / "desk.sqlite-wal").read_bytes() == wal


async def test_a_wal_without_its_main_file_is_refused(tmp_path: Path) -> None:
    s = await trade(tmp_path)
    crash = tmp_path / "crash"
    crash.mkdir()
    shutil.copy(tmp_path / "desk.sqlite-wal", crash / "desk.sqlite-wal")
    await s.close()
    message = await refused(crash)
    assert "missing" in message and "desk.sqlite-wal" in message
    assert not (crash / "desk.sqlite").exists()


async def test_an_sqlite_file_without_the_journal_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE other (x)")
    con.close()
    assert "no journal schema" in await refused(tmp_path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT name FROM sqlite_master").fetchall() == [("other",)]
    con.close()


async def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    os.truncate(path, path.stat().st_size // 2)
    message = await refused(tmp_path)
    assert str(path) in message


def test_a_new_journal_is_created_whole(tmp_path: Path) -> None:
    """Only a missing file means 'new'; a new journal appears with its schema, no temp left."""
    path = tmp_path / "sub" / "fresh.sqlite"
    with Journal(path) as j:
        assert len(j) == 0
    assert path.stat().st_size > 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["fresh.sqlite"]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()


# ---------------------------------------------------------------- rows that do not decode
async def test_a_row_with_broken_json_names_the_row(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    seq, _ = first(path, "fill")
    tamper(path, "UPDATE events SET data=substr(data, 1, length(data) - 1) WHERE seq=?", seq)
    message = await refused(tmp_path)
    assert f"row seq {seq} (fill)" in message and "not valid JSON" in message
    assert str(path) in message


async def test_a_row_with_invalid_utf8_names_the_row(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    seq, _ = first(path, "order_accepted")
    tamper(path, "UPDATE events SET data=CAST(? AS TEXT) WHERE seq=?", b'{"a":"\xff\xfe"}', seq)
    message = await refused(tmp_path)
    assert f"row seq {seq} (order_accepted)" in message and "UTF-8" in message


async def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    seq, _ = first(path, "fill")
    tamper(path, "UPDATE events SET kind='flil' WHERE seq=?", seq)
    assert f"row seq {seq} has an unknown kind 'flil'" in await refused(tmp_path)


# ---------------------------------------------------------------- the hash chain
async def test_an_altered_order_id_is_caught_by_the_hash(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    seq, data = first(path, "fill")
    data["order_id"] = "LT-999999"
    tamper(path, "UPDATE events SET data=? WHERE seq=?", json.dumps(data), seq)
    message = await refused(tmp_path)
    assert f"row seq {seq} (fill) does not match its hash" in message


async def test_an_altered_kind_is_caught_by_the_hash(tmp_path: Path) -> None:
    """Before: a fill relabelled as a cancel opened silently, one order changed, a fill lost."""
    path, _ = await journal_of(tmp_path)
    seq, _ = first(path, "fill")
    tamper(path, "UPDATE events SET kind='order_cancelled' WHERE seq=?", seq)
    message = await refused(tmp_path)
    assert f"row seq {seq} (order_cancelled) does not match its hash" in message


async def test_a_row_deleted_from_the_middle_is_caught(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    middle = rows(path)[len(rows(path)) // 2][0]
    tamper(path, "DELETE FROM events WHERE seq=?", middle)
    message = await refused(tmp_path)
    assert f"row seq {middle + 1}" in message and f"rows {middle}..{middle} are missing" in message


async def test_reordered_rows_are_caught(tmp_path: Path) -> None:
    path, _ = await journal_of(tmp_path)
    (a, ka, da), (b, kb, db) = rows(path)[1:3]
    con = sqlite3.connect(path)
    con.execute("UPDATE events SET kind=?, data=? WHERE seq=?", (kb, db, a))
    con.execute("UPDATE events SET kind=?, data=? WHERE seq=?", (ka, da, b))
    con.commit()
    con.close()
    assert f"row seq {a}" in await refused(tmp_path)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One closed journal the property test copies for every example."""
    folder = tmp_path_factory.mktemp("template")
    path, _ = asyncio.run(journal_of(folder))
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_single_change_to_any_row_is_detected(
    template: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Flip any byte of a row's data or kind, or move its time: the journal is refused."""
    table = rows(template)
    seq, kind, payload = data.draw(st.sampled_from(table), label="row")
    path = tmp_path_factory.mktemp("flip") / "desk.sqlite"
    shutil.copy(template, path)
    field = data.draw(st.sampled_from(["data", "kind", "ts_ns"]), label="field")
    if field == "ts_ns":
        delta = data.draw(st.integers(-(10**12), 10**12).filter(bool), label="delta")
        tamper(path, "UPDATE events SET ts_ns=ts_ns+? WHERE seq=?", delta, seq)
    else:
        raw = bytearray((payload if field == "data" else kind).encode())
        at = data.draw(st.integers(0, len(raw) - 1), label="byte")
        raw[at] ^= data.draw(st.integers(1, 255), label="mask")
        tamper(path, f"UPDATE events SET {field}=CAST(? AS TEXT) WHERE seq=?", bytes(raw), seq)
    with Journal(path, read_only=True) as j, pytest.raises(JournalCorrupt, match=r"row seq \d+"):
        list(j.records())


# ---------------------------------------------------------------- restore errors
async def test_restore_errors_become_journal_corrupt_naming_the_row(tmp_path: Path) -> None:
    """Even with a sound chain (a deliberate, resealed edit) a fill of an unknown order is a
    JournalCorrupt naming the file and row, not a KeyError from the engine."""
    path, _ = await journal_of(tmp_path)
    seq, data = first(path, "fill")
    data["order_id"] = "LT-999999"
    tamper(path, "UPDATE events SET data=? WHERE seq=?", json.dumps(data), seq)
    with Journal(path) as j:
        j.reseal("test: a fill of an order that never existed")
    message = await refused(tmp_path)
    assert str(path) in message and f"row seq {seq} (fill) does not restore" in message
    assert "LT-999999" in message


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("order_accepted", {"order_id": "LT-1"}),  # fields missing
        ("order_accepted", {"order_id": "LT-1", "side": "UP"}),
        ("fill", {"order_id": "LT-1", "charges": "x"}),
        ("order_cancelled", {"order_id": "nobody", "message": ""}),
        ("charges_refunded", {"charges": [1, 2], "product": "NOPE"}),
        ("kill_switch", {"message": "MAYBE"}),
    ],
)
def test_restore_never_lets_a_raw_error_escape(kind: str, data: dict[str, Any]) -> None:
    engine = lt.LiveTradingEngine(1000)
    with pytest.raises(JournalCorrupt, match=rf"journal /x/j.sqlite: row seq 3 \({kind}\)"):
        restore(engine, [Record(3, 1, kind, data)], "/x/j.sqlite")


# ---------------------------------------------------------------- the schema-1 journals
def downgrade(path: Path) -> None:
    """Make ``path`` look as the previous livetrade wrote it: no hash column, schema 1."""
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE events DROP COLUMN hash")
    con.execute("DELETE FROM meta WHERE key='chain_from'")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()


async def test_a_schema_1_journal_opens_and_chains_from_then_on(tmp_path: Path) -> None:
    path, ids = await journal_of(tmp_path)
    n = len(rows(path))
    downgrade(path)
    assert "written before the hash chain" in str(check(path))  # read-only: not migrated
    s = await lt.open_session(seed=7, realtime=False, name="desk", journal_dir=tmp_path)
    assert s.restored and [o.order_id for o in s.engine.orders] == ids
    await s.run_for(ticks=3)
    await s.buy(SYM, 1)
    await s.close()
    summary = check(path)
    assert summary.legacy_rows == n and summary.rows == n + 2
    assert f"after {n} legacy rows" in str(summary)
    legacy_seq, data = first(path, "fill")
    data["message"] = "legacy rows are not hashed: accepted"
    tamper(path, "UPDATE events SET data=? WHERE seq=?", json.dumps(data), legacy_seq)
    check(path)
    tamper(path, "UPDATE events SET ts_ns=ts_ns+1 WHERE seq=?", n + 2)
    with pytest.raises(JournalCorrupt, match=f"row seq {n + 2} .*does not match its hash"):
        check(path)


def test_the_chain_continues_after_a_failed_write(tmp_path: Path) -> None:
    """A flush that fails is rolled back; the rows queued next chain from what is on disk."""
    from conftest import T0, tick

    from livetrade.clock import VirtualClock

    class Failing:
        def __init__(self, real: sqlite3.Connection) -> None:
            self.real = real
            self.failed = False

        def executemany(self, sql: str, params: Any) -> Any:
            if not self.failed:
                self.failed = True
                raise sqlite3.OperationalError("disk I/O error")
            return self.real.executemany(sql, params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    stream = lt.LivePriceStream()
    engine = lt.LiveTradingEngine(100_000, stream, clock=VirtualClock(T0))
    journal = Journal(tmp_path / "j.sqlite")
    journal.attach(engine)
    tick(stream, "799.95", "800.05", "800.00")
    engine.submit(SYM, lt.Side.BUY, 1)
    real = journal._con
    assert real is not None
    journal._con = Failing(real)  # type: ignore[assignment]
    with pytest.raises(JournalError, match="disk I/O error"):
        engine.submit(SYM, lt.Side.BUY, 1)
    engine.set_kill_switch("ACTIVE")  # journaled after the failure
    journal._con = real
    journal.close()
    summary = check(tmp_path / "j.sqlite")
    assert (summary.orders, summary.fills) == (1, 1)


# ---------------------------------------------------------------- the lock
async def test_a_locked_journal_says_which_file_and_suggests_another_name(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path / "default.sqlite"), pytest.raises(JournalLocked) as info:
        await lt.open_session(realtime=False, journal_dir=tmp_path)
    exc = info.value
    message = str(exc)
    assert str(tmp_path / "default.sqlite") in message
    assert "another session or process" in message and 'open_session(name="' in message
    assert exc.__cause__ is None and exc.__context__ is None  # no sqlite traceback above it
    shown = "".join(traceback.format_exception(exc))
    assert "database is locked" not in shown and "During handling" not in shown


# ---------------------------------------------------------------- journal check
async def test_check_cli_ok_and_corrupt_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = await journal_of(tmp_path)
    argv = ["journal", "check", "desk", "--journal-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "is OK" in out and f"{len(ids)} orders" in out
    assert f"{len(rows(path))} rows" in out and "last event 20" in out
    assert not path.with_name("desk.sqlite-wal").exists()  # checked, not opened for writing
    seq, data = first(path, "fill")
    data["quantity"] += 1
    tamper(path, "UPDATE events SET data=? WHERE seq=?", json.dumps(data), seq)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"row seq {seq} (fill)" in err and str(path) in err
    assert main(["journal", "check", "nobody", "--journal-dir", str(tmp_path)]) == 2
    assert "no journal" in capsys.readouterr().err
    path.write_bytes(b"")
    assert main(argv) == 1
    assert "empty (0 bytes)" in capsys.readouterr().err


async def test_check_cli_on_a_running_session_says_it_is_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = await trade(tmp_path)
    try:
        assert main(["journal", "check", "desk", "--journal-dir", str(tmp_path)]) == 2
        assert "held by a running session" in capsys.readouterr().err
    finally:
        await s.close()


# ---------------------------------------------------------------- journal backup
async def test_backup_cli_includes_the_commits_only_in_the_wal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = await trade(tmp_path)
    ids = [o.order_id for o in s.engine.orders]
    crash = tmp_path / "crash"
    crash.mkdir()
    for suffix in ("", "-wal"):  # a crash image: the newest commits only in the -wal
        shutil.copy(tmp_path / f"desk.sqlite{suffix}", crash / f"desk.sqlite{suffix}")
    await s.close()
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(crash / "desk.sqlite", alone / "desk.sqlite")
    assert check(alone / "desk.sqlite").orders < len(ids)  # copying the .sqlite alone loses them
    dest = tmp_path / "backup"
    dest.mkdir()
    assert main(["journal", "backup", "desk", str(dest), "--journal-dir", str(crash)]) == 0
    out = capsys.readouterr().out
    assert "is OK" in out and f"{len(ids)} orders" in out
    assert sorted(p.name for p in dest.iterdir()) == ["desk.sqlite"]  # one self-contained file
    assert (crash / "desk.sqlite-wal").exists()  # the source was read, not changed
    again = await lt.open_session(seed=7, realtime=False, name="desk", journal_dir=dest)
    try:
        assert again.restored and [o.order_id for o in again.engine.orders] == ids
    finally:
        await again.close()
    # never overwrites
    assert main(["journal", "backup", "desk", str(dest), "--journal-dir", str(crash)]) == 2
    assert "already exists" in capsys.readouterr().err


async def test_backup_of_a_running_session_from_the_session_and_not_from_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = await trade(tmp_path)
    out = tmp_path / "desk-backup.sqlite"
    try:
        argv = ["journal", "backup", "desk", str(out), "--journal-dir", str(tmp_path)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "held by a running session" in err and "session.backup_journal(" in err
        assert not out.exists()
        summary = s.backup_journal(out)
        assert summary.path == out and summary.orders == len(s.engine.orders)
        await s.buy(SYM, 1)  # the session goes on writing its own file
    finally:
        await s.close()
    assert check(out).orders == summary.orders
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


async def test_backup_refuses_a_damaged_journal_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = await journal_of(tmp_path)
    seq, _ = first(path, "fill")
    tamper(path, "UPDATE events SET kind='order_triggered' WHERE seq=?", seq)
    out = tmp_path / "b.sqlite"
    assert main(["journal", "backup", "desk", str(out), "--journal-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"row seq {seq}" in err and "no backup was written" in err
    assert not out.exists()
