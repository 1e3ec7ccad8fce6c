"""The feed hub on Redis Streams, against a real ``redis-server`` (never a mock or fakeredis).

Each test starts its own server on a free loopback port in a temporary directory and stops it
by PID. Hubs (``python -m livetrade.hub``) and some sessions (``tests/hub_session.py``) run as
separate processes so they can be killed, stopped and restarted; other sessions run in the
test's own loop. Every wait polls a condition with a deadline; nothing sleeps for correctness.

The core check everywhere: a symbol's stream ids are dense (``epoch-seq``), so a session's
quotes plus what it says it missed must cover its id range exactly, and what it received must
be exactly the hub's entries, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aredis
from conftest import until
from redis.exceptions import ConnectionError as RedisConnectionError

from livetrade.errors import FeedDisconnected, InvalidInput
from livetrade.feeds.simulated import SimulatedMarket
from livetrade.hub import (
    Hub,
    HubError,
    HubFeed,
    HubFeedState,
    decode_quote,
    encode_quote,
    run_hub,
)
from livetrade.hub.conn import as_bytes, as_text, redact
from livetrade.hub.protocol import batch_line, gap, parse_id
from livetrade.hub.server import SourceState, _Sym
from livetrade.model import PriceQuote
from livetrade.prices import LivePriceStream

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
SBIN, INFY, TCS, REL, NIFTY = (
    "NSE:SBIN-EQ",
    "NSE:INFY-EQ",
    "NSE:TCS-EQ",
    "NSE:RELIANCE-EQ",
    "NSE:NIFTY50-INDEX",
)
Row = tuple[int, int, int, int]  # bid, ask, last, ts_ns


# ====================================================================== infrastructure
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` of our own: loopback, no persistence unless asked, in ``workdir``."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail(
                "redis-server is not installed: the hub tests need a real Redis. "
                "`make test` installs it (apt-get install redis-server)."
            )
        self.exe = exe
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = [
            self.exe,
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"), *self.extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"redis-server did not start on port {self.port}:\n{log}")
            time.sleep(0.02)

    async def shutdown_save(self) -> None:
        """``SHUTDOWN SAVE``: a clean restart that keeps every stream (forces the RDB)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"SHUTDOWN SAVE\r\n")
            with contextlib.suppress(OSError):
                s.recv(64)  # the server closes the connection as it exits
        await self.wait_exit()

    async def kill(self) -> None:
        """SIGKILL: whatever was not in the last RDB is lost."""
        assert self.proc is not None
        self.proc.kill()
        await self.wait_exit()

    async def wait_exit(self) -> None:
        assert self.proc is not None
        proc = self.proc
        await until(lambda: proc.poll() is not None, 10, "redis-server to exit")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Procs:
    """Child processes of one test, killed by PID at teardown if still running."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.all: list[subprocess.Popen[bytes]] = []

    def hub(
        self, url: str, *args: str, name: str = "hub", env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "livetrade.hub", "--feed", "sim", "--redis", url, *args]
        return self._spawn(cmd, name, env)

    def session(
        self, url: str, name: str, symbols: list[str], count: int | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        out = self.tmp / f"{name}.json"
        cmd = [sys.executable, str(HERE / "hub_session.py"), url, name, ",".join(symbols)]
        cmd += [str(out)] + (["--count", str(count)] if count is not None else [])
        return self._spawn(cmd, name), out

    def _spawn(
        self, cmd: list[str], name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.all.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-4000:]

    def cleanup(self) -> None:
        for p in self.all:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(10)


async def wait_exit(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    await until(lambda: proc.poll() is not None, timeout, f"process {proc.pid} to exit")
    rc = proc.returncode
    assert rc is not None
    return rc


async def stop_hub(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return await wait_exit(proc)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path / "redis")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    yield p
    p.cleanup()


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[aredis.Redis]:
    r = aredis.Redis.from_url(server.url)
    yield r
    await r.aclose()


async def hub_info(r: aredis.Redis) -> dict[str, str]:
    try:
        raw = await r.hgetall("lt:hub")
    except (OSError, RedisConnectionError):
        return {}
    return {as_text(k): as_text(v) for k, v in raw.items()}


async def wait_hub(
    r: aredis.Redis, proc: subprocess.Popen[bytes], procs: Procs, name: str = "hub"
) -> None:
    async def live() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"hub exited with {proc.returncode}:\n{procs.log(name)}")
        info = await hub_info(r)
        return info.get("pid") == str(proc.pid) and info.get("status") == "live"

    await until(live, 20, "the hub to be live")


async def hub_symbols(r: aredis.Redis) -> set[str]:
    return {as_text(m) for m in await r.smembers("lt:hub:symbols")}


async def stream_rows(r: aredis.Redis, symbol: str) -> list[tuple[tuple[int, int], Row]]:
    out = []
    for eid, fields in await r.xrange(f"lt:q:{symbol}") or []:
        assert fields is not None
        b, a, last, _v, ts = decode_quote(as_bytes(fields[b"q"]))
        out.append((parse_id(as_bytes(eid)), (b, a, last, ts)))
    return out


async def top_seq(r: aredis.Redis, symbol: str) -> int:
    top = await r.xrevrange(f"lt:q:{symbol}", "+", "-", count=1)
    return parse_id(as_bytes(top[0][0]))[1] if top else 0


class Recorder:
    """An in-loop session: a HubFeed into a LivePriceStream, recording quotes and states."""

    def __init__(self, url: str, name: str, **kw: Any) -> None:
        self.stream = LivePriceStream()
        self.quotes: dict[str, list[Row]] = defaultdict(list)
        self.states: list[tuple[float, HubFeedState]] = []
        self.stream.add_listener(self._tick)
        self.feed = HubFeed(self.stream, url, name=name, **kw)
        self.feed.on_state.append(lambda s: self.states.append((time.monotonic(), s)))

    def _tick(self, symbol: str, bid: int, ask: int, last: int, ts_ns: int) -> None:
        self.quotes[symbol].append((bid, ask, last, ts_ns))

    def status(self) -> str:
        return self.feed.state.status

    def count(self, symbol: str) -> int:
        return len(self.quotes[symbol])


def assert_exact_slice(received: list[Row], rows: list[tuple[tuple[int, int], Row]]) -> None:
    """``received`` is a contiguous run of the stream's entries, in order, with no repeat."""
    assert received, "no quotes received"
    plain = [row for _, row in rows]
    start = plain.index(received[0])
    assert [tuple(q) for q in received] == plain[start : start + len(received)]


def assert_accounted(received: list[Row], first_id: str, last_id: str, missed: int) -> None:
    """No duplicate, and received + missed covers the dense id range exactly."""
    ts = [q[3] for q in received]
    assert ts == sorted(ts) and len(set(ts)) == len(ts), "a quote was delivered twice"
    (e1, s1), (e2, s2) = parse_id(first_id), parse_id(last_id)
    assert e1 == e2, "one hub epoch expected"
    assert len(received) + missed == s2 - s1 + 1


def sim_path(seed: int, symbol: str, n: int) -> list[tuple[int, int, int, int]]:
    """The first ``n`` quotes (bid, ask, last, volume) the simulated market makes for ``symbol``
    (each symbol's walk has its own generator, so this is independent of the others)."""
    rows: list[tuple[int, int, int, int]] = []

    class Collect(LivePriceStream):
        def push(
            self,
            symbol: str,
            bid: int,
            ask: int,
            last: int,
            volume: int,
            ts_ns: int,
            quote: PriceQuote | None = None,
        ) -> None:
            rows.append((bid, ask, last, volume))

    market = SimulatedMarket(Collect(), [symbol], seed)
    for _ in range(n):
        market.step(0)
    return rows


# ====================================================================== pieces
def test_codec_ids_and_gaps() -> None:
    payload = encode_quote(79995, 80005, 80000, 1234, 1_748_850_000_123_456_789)
    assert payload == b"79995 80005 80000 1234 1748850000123456789"
    assert decode_quote(payload) == (79995, 80005, 80000, 1234, 1_748_850_000_123_456_789)
    assert parse_id(b"1748850000000-42") == (1748850000000, 42)
    assert parse_id("7-0") == (7, 0)
    assert gap(None, (5, 9)) == 0
    assert gap((5, 9), (5, 10)) == 0
    assert gap((5, 9), (5, 15)) == 5
    assert gap((5, 9), (6, 3)) == 2  # new epoch, old one unknown: a lower bound
    assert gap((5, 9), (6, 1), (5, 9)) == 0  # new epoch right after what was read
    assert gap((5, 9), (6, 2), (5, 12)) == 4  # 10, 11, 12 of the old epoch and 1 of the new
    assert redact("redis://:s3cret@host:6380/1") == "redis://:***@host:6380/1"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


async def test_the_hubs_inlined_batch_line_is_the_protocols() -> None:
    hub = Hub("redis://127.0.0.1:1/0", lambda stream: ScriptedSource(stream))  # no I/O yet
    key = b"lt:q:" + SBIN.encode()
    hub.subscribed[SBIN] = _Sym(key, 1748850000000, 41, b"1748840000000-7")
    hub.stream.push(SBIN, 79995, 80005, 80000, 1234, 1_748_850_000_123_456_789)
    hub.stream.push(SBIN, 80000, 80010, 80005, 1240, 1_748_850_000_223_456_789)
    hub.stream.push(INFY, 1, 2, 3, 4, 5)  # not subscribed: dropped at the door
    q1 = encode_quote(79995, 80005, 80000, 1234, 1_748_850_000_123_456_789)
    q2 = encode_quote(80000, 80010, 80005, 1240, 1_748_850_000_223_456_789)
    assert list(hub.pending) == [
        batch_line(key, 1748850000000, 42, q1, b"1748840000000-7"),  # an epoch's first: p
        batch_line(key, 1748850000000, 43, q2),
    ]
    assert hub.accepted == 2


async def test_feed_refuses_bad_symbols_and_unreachable_redis() -> None:
    feed = HubFeed(LivePriceStream(), f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.5)
    with pytest.raises(InvalidInput):
        await feed.watch(["SBIN"])
    assert feed.symbols == []
    states: list[HubFeedState] = []
    feed.on_state.append(states.append)
    with pytest.raises(FeedDisconnected, match="cannot reach Redis"):
        await feed.start()
    assert feed.state.status == "failed"
    await feed.close()
    assert str(feed.state) == "closed"


async def test_no_hub_means_stale(server: RedisServer) -> None:
    rec = Recorder(server.url, "lonely")
    await rec.feed.start()
    await rec.feed.watch([SBIN])
    assert rec.status() == "connecting"
    await until(lambda: rec.status() == "stale", 3, "stale with no hub")
    assert "no hub is publishing" in (rec.feed.state.reason or "")
    await rec.feed.close()


class ScriptedSource:
    """A feed with FyersFeed's shape, driven by the test: proves the hub takes any such feed."""

    def __init__(self, stream: LivePriceStream) -> None:
        self.stream = stream
        self.state = SourceState("closed")
        self.on_state: list[Callable[[Any], None]] = []
        self.watched: list[str] = []

    def set(self, status: str, reason: str | None = None) -> None:
        self.state = SourceState(status, reason)
        for cb in list(self.on_state):
            cb(self.state)

    async def start(self) -> None:
        self.set("live")

    async def watch(self, symbols: list[str]) -> None:
        self.watched += symbols

    async def unwatch(self, symbols: list[str]) -> None:
        self.watched = [s for s in self.watched if s not in symbols]

    async def close(self) -> None:
        self.set("closed")


async def test_any_feed_with_fyersfeeds_shape_plugs_in_and_its_state_reaches_sessions(
    server: RedisServer,
) -> None:
    sources: list[ScriptedSource] = []

    def build(stream: LivePriceStream) -> ScriptedSource:
        sources.append(ScriptedSource(stream))
        return sources[-1]

    hub = Hub(server.url, build, feed_name="scripted", heartbeat=0.1, lease=1.0)
    run = asyncio.ensure_future(hub.run())
    rec = Recorder(server.url, "s")
    try:
        await rec.feed.start()
        await rec.feed.watch([SBIN])
        await until(lambda: sources and sources[0].watched == [SBIN], 10, "the feed to watch")
        src = sources[0]
        sent = [(80_000 + 5 * i, 80_010 + 5 * i, 80_005 + 5 * i, i, 1_000 + i) for i in range(50)]
        for q in sent:
            src.stream.push(SBIN, *q)
        await until(lambda: rec.count(SBIN) >= 50, 10, "50 quotes")
        assert rec.quotes[SBIN] == [(b, a, last, ts) for b, a, last, _, ts in sent]
        await until(lambda: rec.status() == "live", 5, "live")

        src.set("reconnecting", "socket closed")
        await until(lambda: rec.status() == "reconnecting", 5, "the hub's feed state")
        assert "socket closed" in (rec.feed.state.reason or "")
        src.set("live")
        await until(lambda: rec.status() == "live", 5, "live again")

        src.set("failed", "token expired")  # the hub gives up, says why, and stops
        with pytest.raises(HubError, match="token expired"):
            await asyncio.wait_for(run, 10)
        await until(lambda: rec.status() == "failed", 5, "failed")
        assert "token expired" in (rec.feed.state.reason or "")
        n = len(rec.states)
        await until(lambda: rec.feed.state.reason != rec.states[n - 1][1].reason, 5, "silence")
        assert rec.status() == "failed"  # its last word stays, rather than a bare "stale"
        assert "stopped: token expired" in (rec.feed.state.reason or "")
    finally:
        await rec.feed.close()
        if not run.done():
            run.cancel()
            with contextlib.suppress(BaseException):
                await run


async def test_bad_feed_configuration_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FYERS_")}
    env["HOME"] = str(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livetrade.hub", "--feed", "fyers", "--redis", "redis://127.0.0.1:1/0",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"no Fyers access token" in err


# ====================================================================== the scenarios
async def test_one_hub_four_session_processes_get_exactly_the_hubs_quotes(
    server: RedisServer, client: aredis.Redis, procs: Procs
) -> None:
    hub = procs.hub(server.url, "--seed", "7", "--tick-interval", "0.02")
    await wait_hub(client, hub, procs)
    wanted = {
        "a": [SBIN, INFY],
        "b": [INFY, TCS],
        "c": [TCS, SBIN, REL],
        "d": [SBIN, NIFTY],
    }
    children = {n: procs.session(server.url, n, syms, count=40) for n, syms in wanted.items()}
    for name, (proc, _) in children.items():
        rc = await wait_exit(proc, 60)
        assert rc == 0, procs.log(name)
    rows = {s: await stream_rows(client, s) for s in (SBIN, INFY, TCS, REL, NIFTY)}
    # what the hub appended is exactly the simulated market's path for each symbol
    for symbol, entries in rows.items():
        ids = [i for i, _ in entries]
        assert [seq for _, seq in ids] == list(range(1, len(ids) + 1)), symbol
        path = sim_path(7, symbol, len(entries))
        assert [(b, a, last) for _, (b, a, last, _) in entries] == [p[:3] for p in path]
    # every session got a contiguous run of those entries, in order, nothing missed
    for name, (_, out) in children.items():
        data = json.loads(out.read_text())
        assert data["missed"] == 0
        assert data["states"][-1] == "closed"
        assert any(s.startswith("live") for s in data["states"])
        for symbol in wanted[name]:
            got = [tuple(q) for q in data["quotes"][symbol]]
            assert len(got) >= 40
            assert_exact_slice(got, rows[symbol])
            st = data["stats"][symbol]
            assert st["received"] == len(got) and st["missed"] == 0
            assert_accounted(got, st["first_id"], st["last_id"], 0)
    # everyone said goodbye: the hub released every symbol
    await until(lambda: _empty(hub_symbols(client)), 10, "the hub to release every symbol")
    assert await stop_hub(hub) == 0


async def _empty(coro: Awaitable[set[str]]) -> bool:
    return not await coro


async def test_redis_restart_resumes_without_duplicates_or_skips(
    server: RedisServer, client: aredis.Redis, procs: Procs
) -> None:
    hub = procs.hub(server.url, "--seed", "3", "--tick-interval", "0.02", "--maxlen", "100000")
    await wait_hub(client, hub, procs)
    a, b = Recorder(server.url, "a"), Recorder(server.url, "b")
    for rec, syms in ((a, [SBIN, INFY]), (b, [INFY])):
        await rec.feed.start()
        await rec.feed.watch(syms)
    pairs = [(a, SBIN), (a, INFY), (b, INFY)]

    async def flowing(after: dict[tuple[int, str], int], more: int) -> None:
        await until(
            lambda: all(r.count(s) >= after[id(r), s] + more for r, s in pairs),
            20,
            f"{more} more quotes in every session",
        )

    zero = {(id(r), s): 0 for r, s in pairs}
    await flowing(zero, 15)

    # 1. a clean restart: SHUTDOWN SAVE, start again on the same port and directory
    await server.shutdown_save()
    await until(lambda: a.status() == "reconnecting", 5, "sessions to see Redis gone")
    server.start()
    await client.connection_pool.disconnect()  # the test's own connections died with it
    before = {(id(r), s): r.count(s) for r, s in pairs}
    await flowing(before, 15)
    await until(lambda: a.status() == "live" and b.status() == "live", 10, "live again")
    for rec, symbol in pairs:
        got = list(rec.quotes[symbol])  # before reading Redis: the session keeps reading
        st = replace(rec.feed.stats[symbol])
        rows = await stream_rows(client, symbol)
        assert_exact_slice(got, rows)  # nothing twice, nothing skipped, across the restart
        assert st.missed == 0
        assert st.first_id and st.last_id
        assert_accounted(got, st.first_id, st.last_id, 0)

    # 2. a crash: SIGKILL, and Redis comes back from the older snapshot of step 1
    read_before = {(id(r), s): parse_id(r.feed.stats[s].last_id or "0-0")[1] for r, s in pairs}
    await server.kill()
    server.start()
    await client.connection_pool.disconnect()
    before = {(id(r), s): r.count(s) for r, s in pairs}
    await flowing(before, 15)
    for rec, symbol in pairs:
        got = list(rec.quotes[symbol])
        st = replace(rec.feed.stats[symbol])
        assert st.first_id and st.last_id
        # quotes Redis lost before this session read them are counted, never invented or doubled
        assert_accounted(got, st.first_id, st.last_id, st.missed)
        # and every quote Redis kept after the session's position was read, in order
        upto = parse_id(st.last_id)[1]
        pre = read_before[id(rec), symbol]
        rows = await stream_rows(client, symbol)
        kept = [row for (_, seq), row in rows if pre < seq <= upto]
        where = {row: i for i, row in enumerate(got)}
        assert all(row in where for row in kept)
        assert [where[row] for row in kept] == sorted(where[row] for row in kept)
    assert a.feed.state.missed == sum(a.feed.stats[s].missed for s in (SBIN, INFY))
    for rec in (a, b):
        await rec.feed.close()
    assert await stop_hub(hub) == 0


async def test_hub_killed_goes_stale_within_a_second_and_recovers(
    server: RedisServer, client: aredis.Redis, procs: Procs
) -> None:
    args = ("--seed", "5", "--tick-interval", "0.02", "--lease", "1", "--session-timeout", "3")
    hub = procs.hub(server.url, *args)
    await wait_hub(client, hub, procs)
    rec = Recorder(server.url, "watcher")
    await rec.feed.start()
    await rec.feed.watch([SBIN])
    await until(lambda: rec.status() == "live" and rec.count(SBIN) >= 10, 10, "live quotes")

    hub.kill()
    killed = time.monotonic()
    await until(lambda: rec.status() == "stale", 3, "the feed to go stale")
    stale_at = next(t for t, s in rec.states if s.status == "stale" and t >= killed)
    assert stale_at - killed < 1.0, f"stale after {stale_at - killed:.2f} s"
    assert "no heartbeat from hub" in (rec.feed.state.reason or "")
    n_states = len(rec.states)

    async def read_all() -> bool:
        last = rec.feed.stats[SBIN].last_id
        return last is not None and parse_id(last)[1] == await top_seq(client, SBIN)

    await until(read_all, 5, "the session to read the dead hub's last quote")
    last_before = rec.quotes[SBIN][-1]
    n_before = rec.count(SBIN)
    hub2 = procs.hub(server.url, *args, name="hub2")
    await wait_hub(client, hub2, procs, "hub2")
    await until(lambda: rec.status() == "live" and rec.count(SBIN) >= n_before + 10, 15, "back")
    # stale once, then back to live (maybe through the new hub's "connecting"): no flapping
    after = [s.status for _, s in rec.states[n_states - 1 :]]
    assert after[0] == "stale" and after[-1] == "live" and set(after[1:-1]) <= {"connecting"}
    got = list(rec.quotes[SBIN])
    assert rec.feed.stats[SBIN].missed == 0
    rows = await stream_rows(client, SBIN)
    assert_exact_slice(got, rows)  # nothing twice, nothing skipped across the hub restart
    # the new hub numbers in its own epoch; its first entry points back at the old hub's last
    epochs = sorted({epoch for (epoch, _), _ in rows})
    assert len(epochs) == 2
    old_last = max(i for i, _ in rows if i[0] == epochs[0])
    first_new = await client.xrange(f"lt:q:{SBIN}", min=f"{epochs[1]}-0", count=1)
    fields = first_new[0][1] if first_new else None
    assert fields is not None
    assert parse_id(as_bytes(fields[b"p"])) == old_last
    # the restarted market continues from the last published price, not from the start
    first_move = sim_path(5, SBIN, 1)[0][2] - 80_000
    assert rec.quotes[SBIN][n_before][2] == last_before[2] + first_move
    await rec.feed.close()
    assert await stop_hub(hub2) == 0


CAP = 256  # stream cap: 1.3 s of quotes at 200/s, so the fast reader has slack on a busy CI box


async def test_slow_consumer_neither_slows_the_hub_nor_others_and_is_told_what_it_missed(
    tmp_path: Path, procs: Procs
) -> None:
    server = RedisServer(tmp_path / "redis-slow", "--stream-node-max-entries", "16")
    server.start()
    r = aredis.Redis.from_url(server.url)
    try:
        hub = procs.hub(
            server.url, "--seed", "9", "--tick-interval", "0.005", "--maxlen", str(CAP),
            "--session-timeout", "30",
        )  # fmt: skip
        await wait_hub(r, hub, procs)
        fast = Recorder(server.url, "fast")
        await fast.feed.start()
        await fast.feed.watch([SBIN, INFY])
        slow, out = procs.session(server.url, "slow", [SBIN, INFY])

        async def slow_data() -> dict[str, Any]:
            try:
                data: dict[str, Any] = json.loads(out.read_text())
            except (OSError, ValueError):
                return {}
            return data

        async def slow_reading() -> bool:
            d = await slow_data()
            return bool(d) and all(len(d["quotes"][s]) >= 20 for s in (SBIN, INFY))

        await until(slow_reading, 20, "the slow session to read")

        async def hub_rate(seconds_of_quotes: int) -> float:
            start = int((await hub_info(r))["quotes"])
            t0 = time.monotonic()
            await until(
                lambda: _at_least(r, start + seconds_of_quotes), 20, "hub quotes to advance"
            )
            return seconds_of_quotes / (time.monotonic() - t0)

        rate_before = await hub_rate(200)
        os.kill(slow.pid, signal.SIGSTOP)  # the slow consumer stops reading altogether
        stopped_at = {s: await top_seq(r, s) for s in (SBIN, INFY)}
        rate_during = await hub_rate(400)
        await until(lambda: _all_past(r, stopped_at, 4 * CAP), 20, "the hub to write past the cap")
        info = await hub_info(r)
        assert int(info["dropped"]) == 0 and int(info["queued"]) < 200
        assert rate_during > 0.6 * rate_before, (rate_before, rate_during)
        target = {s: await top_seq(r, s) for s in (SBIN, INFY)}
        os.kill(slow.pid, signal.SIGCONT)

        async def caught_up() -> bool:
            d = await slow_data()
            return all(parse_id(d["stats"][s]["last_id"])[1] >= target[s] for s in (SBIN, INFY))

        await until(caught_up, 20, "the slow session to catch up")

        async def fast_past_slow() -> bool:
            d = await slow_data()
            return all(
                parse_id(fast.feed.stats[s].last_id or "0-0")[1]
                >= parse_id(d["stats"][s]["last_id"])[1]
                for s in (SBIN, INFY)
            )

        await until(fast_past_slow, 10, "the fast session to pass the slow one")
        slow.send_signal(signal.SIGTERM)
        assert await wait_exit(slow) == 0, procs.log("slow")
        data = await slow_data()

        for s in (SBIN, INFY):
            # the fast session saw every quote, in order, while the slow one was stopped
            fst = fast.feed.stats[s]
            assert fst.missed == 0 and fst.first_id and fst.last_id
            assert_accounted(fast.quotes[s], fst.first_id, fst.last_id, 0)
            # the slow one was told exactly how many the cap took from it
            st = data["stats"][s]
            got = [tuple(q) for q in data["quotes"][s]]
            assert st["missed"] > 0
            assert_accounted(got, st["first_id"], st["last_id"], st["missed"])
            seen = {q[3]: i for i, q in enumerate(fast.quotes[s])}
            inside = [q for q in got if q[3] in seen]
            assert inside == [fast.quotes[s][seen[q[3]]] for q in inside]
            lo, hi = seen[inside[0][3]], seen[inside[-1][3]]
            assert (hi - lo + 1) - len(inside) == st["missed"]
        assert data["missed"] == sum(data["stats"][s]["missed"] for s in (SBIN, INFY))
        assert any("missed" in text for text in data["states"])
        await fast.feed.close()
        assert await stop_hub(hub) == 0
    finally:
        await r.aclose()
        server.stop()


async def _at_least(r: aredis.Redis, quotes: int) -> bool:
    return int((await hub_info(r)).get("quotes", 0)) >= quotes


async def _all_past(r: aredis.Redis, seqs: dict[str, int], n: int) -> bool:
    for s, seq in seqs.items():
        if await top_seq(r, s) < seq + n:
            return False
    return True


async def test_the_fyers_feed_through_the_hub_against_the_fake_server(
    server: RedisServer, client: aredis.Redis, procs: Procs, tmp_path: Path
) -> None:
    """``--feed fyers``: the real protocol from the local fake Fyers server, fanned out; a
    dropped Fyers connection is the feed's to repair, and the sessions miss nothing of it."""
    from livetrade.testing.fake_fyers import FakeFyersServer

    async with FakeFyersServer(seed=2, tick_interval=0.05) as fake:
        cfg = fake.config
        env = {k: v for k, v in os.environ.items() if not k.startswith("FYERS_")}
        env |= {
            "HOME": str(tmp_path),
            "FYERS_ACCESS_TOKEN": cfg.access_token,
            "FYERS_WS_URL": cfg.ws_url,
            "FYERS_REST_URL": cfg.rest_url,
        }
        hub = procs.hub(server.url, "--feed", "fyers", env=env)
        await wait_hub(client, hub, procs)
        assert (await hub_info(client))["feed"] == "fyers"
        rec = Recorder(server.url, "desk")
        await rec.feed.start()
        await rec.feed.watch([SBIN, INFY])
        await until(
            lambda: rec.count(SBIN) >= 10 and rec.count(INFY) >= 10, 20, "Fyers quotes via the hub"
        )
        assert await hub_symbols(client) == {SBIN, INFY}
        await until(lambda: rec.feed.depth.get(SBIN) is not None, 20, "Fyers' book via the hub")
        book = rec.feed.depth.get(SBIN)  # the fake's dp| records, as the hub wrote them
        assert book is not None and len(book.bids) == 5 and book.bids[0][0] < book.asks[0][0]
        assert await fake.drop_connections() == 1
        before = rec.count(SBIN)
        await until(lambda: rec.count(SBIN) >= before + 10, 20, "quotes after the reconnect")
        await until(lambda: rec.status() == "live", 10, "live")
        for symbol in (SBIN, INFY):
            got = list(rec.quotes[symbol])
            assert rec.feed.stats[symbol].missed == 0
            assert_exact_slice(got, await stream_rows(client, symbol))
        await rec.feed.close()
        await until(lambda: _empty(hub_symbols(client)), 10, "the hub to unsubscribe")
        assert await stop_hub(hub) == 0, procs.log("hub")


async def test_symbols_subscribed_and_released_as_sessions_come_and_go(
    server: RedisServer, client: aredis.Redis, procs: Procs
) -> None:
    hub = procs.hub(
        server.url, "--tick-interval", "0.02", "--session-timeout", "2", "--symbols", NIFTY
    )
    await wait_hub(client, hub, procs)

    async def symbols_are(expected: set[str]) -> None:
        async def check() -> bool:
            return await hub_symbols(client) == expected

        await until(check, 10, f"hub symbols == {sorted(expected)}")

    await symbols_are({NIFTY})  # pinned on the command line

    a, b = Recorder(server.url, "a"), Recorder(server.url, "b")
    await a.feed.start()
    await a.feed.watch([SBIN, INFY])
    await b.feed.start()
    await b.feed.watch([INFY, TCS])
    await symbols_are({NIFTY, SBIN, INFY, TCS})
    await until(lambda: b.count(TCS) >= 3 and a.count(SBIN) >= 3, 10, "quotes")

    await b.feed.unwatch([TCS])
    await symbols_are({NIFTY, SBIN, INFY})
    tcs_top = await top_seq(client, TCS)
    hb: set[bytes] = set()

    async def heartbeats(n: int) -> bool:
        top = await client.xrevrange("lt:hub:hb", "+", "-", count=1)
        hb.add(as_bytes(top[0][0]) if top else b"")
        return len(hb) > n

    await until(lambda: heartbeats(3), 10, "three hub heartbeats")
    assert await top_seq(client, TCS) == tcs_top  # a released symbol is no longer published

    await a.feed.close()  # a clean goodbye releases at once
    await symbols_are({NIFTY, INFY})

    # a crashed session's symbols go once its heartbeats stop for the session timeout
    crash, _ = procs.session(server.url, "crash", [REL])
    await symbols_are({NIFTY, INFY, REL})
    crash.kill()
    killed = time.monotonic()
    await symbols_are({NIFTY, INFY})
    assert time.monotonic() - killed >= 1.0  # released by the timeout, not by a goodbye
    await b.feed.close()
    await symbols_are({NIFTY})
    assert await stop_hub(hub) == 0
    assert await client.exists("lt:hub", "lt:hub:owner", "lt:hub:symbols") == 0


async def test_a_session_on_the_hub_feed_trades_on_its_quotes(server: RedisServer) -> None:
    """``open_session(feed="hub")``: the engine, journal-free here, cannot tell the hub from any
    other feed — quotes arrive, an order fills, the feed state is visible and closing stops all."""
    import livetrade as lt

    stop = asyncio.Event()
    hub = asyncio.ensure_future(
        run_hub(
            feed="sim",
            redis_url=server.url,
            maxlen=1_000,
            symbols=None,
            seed=3,
            tick_interval=0.02,
            stop=stop,
        )
    )
    try:
        session = await lt.open_session(feed="hub", hub=server.url, name="hubs", journal=False)
        try:
            await session.watch([SBIN])
            await asyncio.wait_for(session.run_for(ticks=20), 20)
            assert session.stream.tick_count(SBIN) >= 20
            state = session.feed_state()
            assert state is not None and state.status == "live"
            order = await session.buy(SBIN, 2)
            assert order.status is lt.OrderStatus.FILLED
        finally:
            await session.close()
        assert session.feed_state().status == "closed"  # type: ignore[union-attr]
        with pytest.raises(lt.InvalidInput, match="hub="):
            await lt.open_session(feed="hub", name="nohub", journal=False)
    finally:
        stop.set()
        await asyncio.wait_for(hub, 20)


async def test_depth_travels_through_the_hub(server: RedisServer, client: aredis.Redis) -> None:
    """``session.depth`` on a hub session: the hub writes each watched symbol's five-level book
    to ``lt:d:{symbol}`` when it changes; sessions read it (one MGET every 0.25 s). The book is
    ordered, brackets the quote, and is gone once its key expires (a dead hub's book)."""
    import livetrade as lt
    from livetrade.hub.protocol import decode_depth

    stop = asyncio.Event()
    hub = asyncio.ensure_future(
        run_hub(
            feed="sim",
            redis_url=server.url,
            maxlen=1_000,
            symbols=None,
            seed=3,
            tick_interval=0.02,
            stop=stop,
        )
    )
    try:
        session = await lt.open_session(feed="hub", hub=server.url, name="hubd", journal=False)
        try:
            await session.watch([SBIN])
            await until(lambda: session.depth(SBIN) is not None, 20, "the hub's book")
            book = session.depth(SBIN)
            assert book is not None and len(book.bids) == len(book.asks) == 5
            bids = [p for p, _, _ in book.bids]
            asks = [p for p, _, _ in book.asks]
            assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
            assert bids[0] < asks[0] and all(q > 0 and o > 0 for _, q, o in book.bids)
            raw = await client.get("lt:d:" + SBIN)
            ts_ns, hub_bids, _ = decode_depth(raw)
            assert ts_ns > 0 and len(hub_bids) == 5
            frame = session.depth_df(SBIN)
            assert list(frame["side"]) == ["bid"] * 5 + ["ask"] * 5
            stop.set()  # the hub goes away; its book expires (here: at once)
            await asyncio.wait_for(hub, 20)
            assert await client.pttl("lt:d:" + SBIN) > 0  # it would expire by itself
            await client.delete("lt:d:" + SBIN)
            await until(lambda: session.depth(SBIN) is None, 20, "the dead hub's book to go")
        finally:
            await session.close()
    finally:
        stop.set()
        await asyncio.wait_for(hub, 20)
