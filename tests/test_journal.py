"""Journal: written before acknowledgement, exact recovery, replay, clear errors, crash safety."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import types
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import fifo_realized

import livetrade as lt
from livetrade import LiveTradingEngine, OrderStatus, Side
from livetrade.engine import EngineEvent
from livetrade.journal import (
    Journal,
    JournalCorrupt,
    JournalLocked,
    JournalTooNew,
    Record,
    restore,
)
from livetrade.session import cell_origin

SYM = "NSE:SBIN-EQ"


def snapshot(eng: LiveTradingEngine) -> dict[str, object]:
    """Everything recovery must bring back, exactly."""
    return {
        "cash": eng.cash_paise,
        "charges": eng.charges_paise,
        "lots": {
            k: (v.qty, v.cost, v.realized, v.charges, [tuple(lot) for lot in v.lots])
            for k, v in eng._positions.items()
        },
        "orders": [
            (
                o.order_id, o.status, o.kind, o.side, o.quantity, o.filled_quantity,
                o.fill_paise, o.limit_paise, o.trigger_paise, o.triggered, o.role, o.oco_id,
                o.parent_id, o.origin,
            )
            for o in eng.orders
        ],
        "fills": eng.fills,
        "executed": eng.get_order_history(),
        "risk": eng.get_risk_orders(),
        "kill": eng.kill_switch,
        "levels": levels(eng),
    }  # fmt: skip


def levels(eng: LiveTradingEngine) -> dict[str, tuple[int, int, int, int]]:
    """Best live trigger level per symbol and kind (dead heap entries dropped first)."""
    out = {}
    for sym, book in eng._books.items():
        book.refresh()
        lv = (book.ss_lvl, book.bs_lvl, book.sl_lvl, book.bl_lvl)
        if len(book):
            out[sym] = lv
    return out


async def busy_session(path: Path, name: str = "desk1") -> lt.Session:
    s = await lt.open_session(seed=5, realtime=False, name=name, journal_dir=path)
    await s.run_for(ticks=30)
    q = s.stream.quote(SYM)
    assert q is not None
    await s.buy(SYM, 10, stop_loss=q.last_price - 3, take_profit=q.last_price + 3)
    await s.sell("NSE:INFY-EQ", 5, stop_loss=1530)
    await s.buy("NSE:TCS-EQ", 3, product="CNC")
    await s.buy("NSE:TCS-EQ", 2, order_type="LIMIT", limit_price=3400)
    await s.sell(SYM, 4, order_type="SL-M", trigger_price=q.last_price - 5)
    await s.run_for(ticks=900)
    return s


async def test_reopening_restores_everything_exactly(tmp_path: Path) -> None:
    s = await busy_session(tmp_path)
    assert (tmp_path / "desk1.sqlite").exists()
    before = snapshot(s.engine)
    now = s.clock.now_ns()
    await s.close()
    again = await lt.open_session(seed=5, realtime=False, name="desk1", journal_dir=tmp_path)
    assert again.restored
    assert snapshot(again.engine) == before
    assert again.clock.now_ns() >= max(f.ts_ns for f in again.engine.fills)
    assert again.clock.now_ns() <= now
    # the restored session keeps trading: resting orders still fire
    await again.run_for(ticks=3_000)
    assert len(again.engine.fills) >= len(before["fills"])  # type: ignore[arg-type]
    p = again.engine.pnl_paise()
    assert p["gross_realized"] == fifo_realized(again.engine.fills)
    await again.close()


async def test_journal_opt_out_and_path(tmp_path: Path) -> None:
    s = await lt.open_session(realtime=False, name="scratch", journal=False, journal_dir=tmp_path)
    await s.run_for(ticks=2)
    await s.buy(SYM, 1)
    await s.close()
    assert not list(tmp_path.iterdir())
    with pytest.raises(lt.LiveTradeError, match="journal=False"):
        s.journal_df()


async def test_a_locked_journal_is_refused(tmp_path: Path) -> None:
    s = await lt.open_session(realtime=False, name="desk2", journal_dir=tmp_path)
    with pytest.raises(JournalLocked, match="another session"):
        Journal(tmp_path / "desk2.sqlite")
    await s.close()
    Journal(tmp_path / "desk2.sqlite").close()


async def test_a_corrupt_journal_is_refused_and_kept(tmp_path: Path) -> None:
    bad = tmp_path / "desk3.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalCorrupt, match="never overwritten"):
        await lt.open_session(realtime=False, name="desk3", journal_dir=tmp_path)
    assert bad.read_bytes() == b"this is not sqlite" * 100
    assert lt.get_session("desk3") is None


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "desk4.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version=99")
    con.close()
    with pytest.raises(JournalTooNew, match="Upgrade livetrade"):
        await lt.open_session(realtime=False, name="desk4", journal_dir=tmp_path)


def test_every_operation_is_flushed_before_it_returns(tmp_path: Path) -> None:
    from conftest import tick

    from livetrade.clock import VirtualClock
    from livetrade.model import IST

    class Sink:
        def __init__(self) -> None:
            self.events: list[str] = []
            self.flushed: list[list[str]] = []

        def record(self, event: EngineEvent) -> None:
            self.events.append(event.kind)

        def flush(self) -> None:
            self.flushed.append(self.events)
            self.events = []

    from datetime import datetime

    stream = lt.LivePriceStream()
    eng = LiveTradingEngine(
        Decimal(100000), stream, clock=VirtualClock(datetime(2025, 6, 2, 10, tzinfo=IST))
    )
    sink = Sink()
    eng.journal = sink
    tick(stream, "799.95", "800.05", "800.00")
    eng.submit(SYM, Side.BUY, 5, stop_loss=790)
    assert sink.events == [] and sink.flushed[-1][:2] == ["order_accepted", "fill"]
    with pytest.raises(lt.OrderRejected):
        eng.submit(SYM, Side.BUY, 0)
    assert sink.events == [] and sink.flushed[-1] == ["order_rejected"]
    tick(stream, "789.00", "789.10", "789.05")  # the stop fires inside the stream's push
    assert sink.events == [] and "fill" in sink.flushed[-1]

    class Broken(Sink):
        def flush(self) -> None:
            raise OSError("disk full")

    eng.journal = Broken()
    with pytest.raises(OSError):
        eng.submit(SYM, Side.BUY, 1)
    assert eng.kill_switch is lt.KillSwitch.HALTED  # nothing more that could not be recovered


async def test_replay_reproduces_fills_and_reports_tampering(tmp_path: Path) -> None:
    s = await busy_session(tmp_path, "desk5")
    report = s.replay_journal()
    assert report.ok, report.mismatches
    assert report.fills_expected == report.fills_replayed == len(s.engine.fills) >= 3
    await s.close()
    con = sqlite3.connect(tmp_path / "desk5.sqlite")
    seq, data = con.execute("SELECT seq, data FROM events WHERE kind='fill' LIMIT 1").fetchone()
    con.execute(
        "UPDATE events SET data=? WHERE seq=?", (data.replace('"price":', '"price":5+'), seq)
    )
    con.commit()
    con.close()
    with Journal(tmp_path / "desk5.sqlite") as j, pytest.raises(ValueError):
        list(j.records())  # the JSON no longer parses: a damaged row is not hidden
    con = sqlite3.connect(tmp_path / "desk5.sqlite")
    con.execute("UPDATE events SET data=? WHERE seq=?", (data, seq))
    row = con.execute("SELECT data FROM events WHERE seq=?", (seq,)).fetchone()[0]
    import json

    d = json.loads(row)
    d["price"] += 5
    con.execute("UPDATE events SET data=? WHERE seq=?", (json.dumps(d), seq))
    con.commit()
    con.close()
    with Journal(tmp_path / "desk5.sqlite") as j:  # a deliberate edit passes the hash chain
        j.reseal("test: a deliberate what-if edit for replay")
    s2 = await lt.open_session(seed=5, realtime=False, name="desk5", journal_dir=tmp_path)
    report = s2.replay_journal()
    assert not report.ok
    assert any("fill #1" in m for m in report.mismatches)
    await s2.close()


async def test_journal_df_and_audit_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shell = types.SimpleNamespace(user_ns={"In": ["", "x = 1", "await session.buy(...)"]})
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    origin = cell_origin()
    assert origin.startswith("cell [2] #") and len(origin) == len("cell [2] #") + 8
    s = await lt.open_session(seed=5, realtime=False, name="desk6", journal_dir=tmp_path)
    await s.run_for(ticks=3)
    order = await s.buy(SYM, 2)
    assert order.origin == origin
    df = s.journal_df()
    assert list(df["kind"][:2]) == ["order_accepted", "fill"]
    assert df["origin"][0] == origin and str(df["timestamp"].dt.tz) == "Asia/Kolkata"
    await s.close()


def test_restore_of_an_empty_journal_is_a_fresh_engine() -> None:
    eng = LiveTradingEngine(Decimal(1000))
    assert restore(eng, []) == 0 and eng.cash_paise == 100000
    rec = Record(1, 5, "kill_switch", {"code": "", "message": "HALTED"})
    restore(eng, [rec])
    assert eng.kill_switch is lt.KillSwitch.HALTED


@pytest.mark.slow
def test_sigkill_at_random_points_loses_no_acknowledged_order(tmp_path: Path) -> None:
    """100 trials: a trading subprocess is SIGKILLed at a random point; the reopened journal
    must be an exact prefix of the uninterrupted run's and hold every acknowledged order."""
    child = Path(__file__).with_name("journal_child.py")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    rnd = random.Random(2026)
    seeds = list(range(10))
    reference: dict[int, list[tuple[int, str, dict[str, object]]]] = {}
    for seed in seeds:
        ref_dir = tmp_path / f"ref{seed}"
        out = subprocess.run(
            [sys.executable, str(child), str(ref_dir), str(seed)],
            capture_output=True, text=True, env=env, check=True, timeout=120,
        )  # fmt: skip
        assert out.stdout.strip().endswith("DONE")
        with Journal(ref_dir / "crash.sqlite") as j:
            reference[seed] = [(r.ts_ns, r.kind, r.data) for r in j.records()]
    killed_midway = 0
    for trial in range(100):
        seed = seeds[trial % len(seeds)]
        run_dir = tmp_path / f"t{trial}"
        proc = subprocess.Popen(
            [sys.executable, str(child), str(run_dir), str(seed)],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert proc.stdout is not None
        wait_for = rnd.randint(0, 60)
        acked: list[tuple[str, str, int]] = []
        done = False
        for seen, line in enumerate(proc.stdout, start=1):
            parts = line.split()
            if parts and parts[0] == "ACK":
                acked.append((parts[1], parts[2], int(parts[3])))
            done = done or line.startswith("DONE")
            if seen >= wait_for:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
        killed_midway += not done
        path = run_dir / "crash.sqlite"
        if not path.exists():
            assert not acked
            continue
        with Journal(path) as j:
            got = [(r.ts_ns, r.kind, r.data) for r in j.records()]
        assert got == reference[seed][: len(got)], f"trial {trial}: not a prefix"
        eng = LiveTradingEngine(Decimal("1000000"))
        restore(eng, [Record(i, ts, k, d) for i, (ts, k, d) in enumerate(got)])
        for order_id, status, filled in acked:
            o = eng.order(order_id)
            assert o is not None, f"trial {trial}: acknowledged {order_id} lost"
            assert o.filled_quantity >= filled
            if status == "FILLED":
                assert o.status is OrderStatus.FILLED
        p = eng.pnl_paise()
        assert p["gross_realized"] == fifo_realized(eng.fills)
        refunded = sum(r.charges.total for r in eng.refunds)
        assert p["charges"] == sum(f.charges.total for f in eng.fills) - refunded
    assert killed_midway >= 50  # most kills really interrupted the run


async def test_cli_exports_a_journal_as_csv_and_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    from livetrade.cli import main

    s = await busy_session(tmp_path, "desk7")
    n_events = len(s.journal_df())
    await s.close()
    out = tmp_path / "desk7.csv"
    assert main(["journal", "export", "desk7", "--journal-dir", str(tmp_path), "-o", str(out)]) == 0
    csv = pd.read_csv(out)
    assert len(csv) == n_events and csv["kind"].iloc[0] == "order_accepted"
    pq = tmp_path / "desk7.parquet"
    args = ["journal", "export", "desk7", "--journal-dir", str(tmp_path), "--format", "parquet"]
    assert main([*args, "-o", str(pq)]) == 0
    parquet = pd.read_parquet(pq)
    assert len(parquet) == n_events and str(parquet["timestamp"].dt.tz) == "Asia/Kolkata"
    assert main(["journal", "export", "nobody", "--journal-dir", str(tmp_path)]) == 2
    assert "no journal" in capsys.readouterr().err
    live = await lt.open_session(realtime=False, name="desk7", journal_dir=tmp_path)
    assert main(["journal", "export", "desk7", "--journal-dir", str(tmp_path), "-o", "-"]) == 2
    assert "another session" in capsys.readouterr().err
    await live.close()


def test_a_second_process_gets_a_clear_error(tmp_path: Path) -> None:
    """The lock holds across processes: another kernel opening the same session is refused."""
    code = (
        "import asyncio, sys, livetrade as lt\n"
        "from livetrade.journal import JournalLocked\n"
        "async def main():\n"
        "    try:\n"
        "        await lt.open_session(realtime=False, name='shared', journal_dir=sys.argv[1])\n"
        "    except JournalLocked as e:\n"
        "        print('LOCKED', e)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    with Journal(tmp_path / "shared.sqlite"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    assert out.stdout.startswith("LOCKED") and "another session or process" in out.stdout


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    script=st.lists(
        st.tuples(
            st.integers(1, 120),  # market seconds before the order
            st.sampled_from(["NSE:SBIN-EQ", "NSE:TCS-EQ"]),
            st.sampled_from(["buy", "sell", "limit", "stop", "bracket", "cancel"]),
            st.integers(1, 30),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_replay_is_deterministic(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    script: list[tuple[int, str, str, int]],
) -> None:
    """Whatever a session did, re-running its journal reproduces every fill and the P&L."""
    import asyncio

    async def run() -> None:
        path = tmp_path_factory.mktemp("replay")
        s = await lt.open_session(seed=seed, realtime=False, name="prop", journal_dir=path)
        await s.run_for(ticks=2)
        for wait, sym, action, qty in script:
            await s.run_for(ticks=wait)
            q = s.stream.quote(sym)
            assert q is not None
            try:
                if action == "buy":
                    await s.buy(sym, qty)
                elif action == "sell":
                    await s.sell(sym, qty)
                elif action == "limit":
                    await s.buy(sym, qty, order_type="LIMIT", limit_price=q.last_price - 1)
                elif action == "stop":
                    await s.sell(sym, qty, order_type="SL-M", trigger_price=q.last_price - 1)
                elif action == "bracket":
                    await s.buy(sym, qty, stop_loss=q.last_price - 1, take_profit=q.last_price + 1)
                elif s.engine.open_orders():
                    await s.cancel(s.engine.open_orders()[0])
            except lt.OrderRejected:
                pass
        await s.run_for(ticks=300)
        report = s.replay_journal()
        assert report.ok, report.mismatches
        assert report.fills_replayed == len(s.engine.fills)
        await s.close()

    asyncio.run(run())


async def test_a_same_day_cnc_refund_is_journaled_and_restored(tmp_path: Path) -> None:
    """A CNC buy sold the same day is re-billed as intraday; the refund survives a restart."""
    s = await lt.open_session(seed=5, realtime=False, name="cnc-day", journal_dir=tmp_path)
    await s.run_for(ticks=3)
    await s.buy("NSE:SBIN-EQ", 40, product="CNC")
    await s.run_for(ticks=3)
    await s.sell("NSE:SBIN-EQ", 40, product="CNC")
    (refund,) = s.engine.refunds
    buy, sell = s.engine.fills
    assert refund.fill_id == sell.fill_id and refund.charges.stt == buy.charges.stt > 0
    assert sell.charges.dp == 0  # nothing left the demat account
    billed = buy.charges.total + sell.charges.total
    assert s.engine.charges_paise == billed - refund.charges.total
    cash, charges = s.engine.cash_paise, s.engine.charges_paise
    assert "charges_refunded" in set(s.journal_df()["kind"])
    await s.close()
    again = await lt.open_session(seed=5, realtime=False, name="cnc-day", journal_dir=tmp_path)
    try:
        assert (again.engine.cash_paise, again.engine.charges_paise) == (cash, charges)
        assert again.engine.refunds == [refund]
        assert again.replay_journal().ok
    finally:
        await again.close()
