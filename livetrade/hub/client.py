"""HubFeed: a session's quotes from a feed hub on Redis, with FyersFeed's shape.

    feed = HubFeed(session.stream, "redis://127.0.0.1:6379/0", name="desk1")
    feed.on_state.append(print)                 # HubFeedState on every change
    await feed.start()                          # FeedDisconnected if Redis cannot be reached
    await feed.watch(["NSE:SBIN-EQ", "NSE:INFY-EQ"])
    ...
    await feed.close()

``watch`` records the symbols in the session's set in Redis and tells the hub, then reads each
symbol's stream from its latest entry (pushed at once, so the quote cache is warm) onwards. One
reader task ``XREAD``s every watched stream plus the hub's heartbeat stream from the last id it
saw and pushes integer paise straight into the stream: no ``PriceQuote`` or ``Decimal`` on the
way. After a lost connection it resumes from those ids, so nothing kept in Redis is read twice
or skipped. Ids are dense per symbol (and a restarted hub's first id points back at the last
one), so when the stream's cap trimmed quotes this session had not read yet, or Redis lost
them, the jump says exactly how many: ``state.missed`` (and ``stats[symbol].missed``).

States: ``connecting`` (no heartbeat from the hub yet), ``live``, ``stale`` (the hub went quiet
for ``stale_after`` seconds, or said it stopped), ``reconnecting`` (this session lost Redis, or
the hub lost its own feed), ``failed`` (the hub's feed gave up, which stays the word after that
hub stops; or ``retries`` ran out), ``closed``. A hub that comes back makes it ``live`` again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

from livetrade.backoff import Backoff
from livetrade.depth import DepthStore
from livetrade.errors import FeedDisconnected, InvalidInput, LiveTradeError
from livetrade.events import Event
from livetrade.hub.conn import (
    RETRYABLE,
    BlockingReads,
    as_bytes,
    iter_xread,
    open_redis,
    pairs,
    redact,
    still_running,
    stop_tasks,
    wait_event,
)
from livetrade.hub.protocol import (
    HubKeys,
    decode_depth,
    decode_quote,
    gap,
    parse_id,
    valid_symbol,
)
from livetrade.prices import LivePriceStream

__all__ = ["HubFeed", "HubFeedState", "HubStatus", "SymbolStats"]

log = logging.getLogger("livetrade.hub.client")

HubStatus: TypeAlias = Literal["connecting", "live", "stale", "reconnecting", "failed", "closed"]

_HUB_TO_SESSION: dict[str, HubStatus] = {
    "live": "live",
    "connecting": "connecting",
    "reconnecting": "reconnecting",
    "stalled": "reconnecting",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True)
class HubFeedState:
    """Where this session's hub feed is (see the module docstring for ``status``).

    ``missed``: quotes this session never got because the stream cap trimmed them first (or
    Redis lost them), summed over symbols. ``last_quote_ns``: the feed timestamp of the newest
    quote pushed. ``hub``: the id of the hub last heard from.
    """

    status: HubStatus
    reason: str | None = None
    last_quote_ns: int | None = None
    missed: int = 0
    attempt: int = 0
    hub: str | None = None

    @property
    def last_tick_ns(self) -> int | None:
        """Same as ``last_quote_ns`` (the name ``FeedState`` uses)."""
        return self.last_quote_ns

    def __str__(self) -> str:
        text = self.status if not self.attempt else f"{self.status}({self.attempt})"
        if self.missed:
            text += f" [missed {self.missed}]"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(slots=True)
class SymbolStats:
    """One watched symbol's reading position and counters (ids as ``"epoch-seq"``)."""

    first_id: str | None = None
    last_id: str | None = None
    received: int = 0
    missed: int = 0


@dataclass(slots=True)
class _Watch:
    symbol: str
    key: bytes
    pos: bytes | None = None  # last id read; None until positioned
    last: tuple[int, int] | None = None
    stats: SymbolStats = field(default_factory=SymbolStats)


class HubFeed:
    """Quotes from a feed hub into ``stream``; see the module docstring.

    ``name`` labels this session in the hub's logs (the id adds host, pid and a random tag).
    ``heartbeat``: seconds between this session's heartbeats (the hub releases its symbols
    after its ``--session-timeout`` of silence). ``stale_after``: seconds without a hub
    heartbeat before the feed is ``stale`` (at least 3.5 of the hub's heartbeat periods).
    ``block``: longest single ``XREAD`` wait (Redis rounds it up to its clock tick), which
    bounds how late a newly watched symbol is first read when nothing else arrives; the hub's
    heartbeats end it sooner. ``batch``: entries per stream per read. ``retries``: consecutive
    failed reads before ``failed`` (``None``: keep trying). ``key_ttl``: how long the
    session's symbol set outlives its last heartbeat.
    """

    def __init__(
        self,
        stream: LivePriceStream,
        url: str,
        *,
        name: str = "default",
        prefix: str = "lt",
        heartbeat: float = 1.0,
        stale_after: float = 0.7,
        block: float = 0.1,
        batch: int = 500,
        retries: int | None = None,
        key_ttl: float = 30.0,
        connect_timeout: float = 2.0,
        depth_interval: float | None = 0.25,
    ) -> None:
        if not 0 < block < stale_after:
            raise InvalidInput("block", "must be positive and shorter than stale_after")
        if not 0 < heartbeat < key_ttl:
            raise InvalidInput("heartbeat", "must be positive and shorter than key_ttl")
        if batch < 1:
            raise InvalidInput("batch", "must be at least 1")
        self.stream = stream
        self.url = url
        self.name = name
        self.keys = HubKeys(prefix)
        self.session_id = f"{name}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.heartbeat = heartbeat
        self.stale_after = stale_after
        self.block_ms = max(1, int(block * 1000))
        self.batch = batch
        self.retries = retries
        self.key_ttl_ms = int(key_ttl * 1000)
        # one event style (livetrade.events): feed.on_state += handler (append works too)
        self.on_state = Event("hub feed state", self._report)
        self.on_error = Event("error")
        self.depth = DepthStore()
        """The latest five-level book of every watched symbol the hub publishes one for."""
        self.depth_interval = depth_interval
        self._state = HubFeedState("closed", "not started")
        self._watches: dict[str, _Watch] = {}
        self._by_key: dict[bytes, _Watch] = {}
        self._hb_key = self.keys.heartbeat.encode()
        self._hb_pos: bytes = b"0-0"
        self._hb_seen: float | None = None
        self._hub_status: str | None = None
        self._hub_reason: str | None = None
        self._hub_id: str | None = None
        self._hub_interval = 0.0  # the hub's heartbeat period, as it says
        self._started_at = 0.0
        self._last_quote_ns: int | None = None
        self._missed = 0
        self._announce_needed = False
        self._redis_down = False
        self._last_reply = 0.0
        self._write_lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._closed = False
        self._redis = open_redis(
            url, socket_timeout=max(2.0, 2 * heartbeat), connect_timeout=connect_timeout
        )
        self._read_client = open_redis(url, socket_timeout=None, connect_timeout=connect_timeout)
        self._reads = BlockingReads(self._read_client)

    def __repr__(self) -> str:
        return f"HubFeed({redact(self.url)!r}, state={self.state}, symbols={len(self.symbols)})"

    # ------------------------------------------------------------------ public face
    @property
    def state(self) -> HubFeedState:
        return replace(self._state, last_quote_ns=self._last_quote_ns)

    @property
    def symbols(self) -> list[str]:
        """The watched symbols, in the order they were added."""
        return list(self._watches)

    @property
    def stats(self) -> dict[str, SymbolStats]:
        """Per watched symbol: first and last id read, quotes received and missed."""
        return {s: w.stats for s, w in self._watches.items()}

    async def start(self) -> None:
        """Connect to Redis and start reading. ``FeedDisconnected`` if Redis cannot be reached;
        the hub itself need not be up yet (the state says ``connecting``, then ``stale``)."""
        if self._closed:
            raise FeedDisconnected("this HubFeed is closed; make a new one")
        if self._started:
            return
        loop = asyncio.get_running_loop()
        self._started_at = loop.time()
        self._set_state("connecting", "connecting to Redis")
        try:
            top = await self._redis.xrevrange(self.keys.heartbeat, "+", "-", count=1)
            self._hb_pos = as_bytes(top[0][0]) if top else b"0-0"
            if self._watches:
                await self._announce()
                await self._position(list(self._watches.values()))
        except RETRYABLE as exc:
            reason = f"cannot reach Redis at {redact(self.url)}: {exc}"
            self._set_state("failed", reason)
            raise FeedDisconnected(reason) from exc
        self._started = True
        self._set_state("connecting", "waiting for the hub's heartbeat")
        self._tasks = [
            loop.create_task(self._reader(), name=f"hubfeed:{self.name}:reader"),
            loop.create_task(self._heartbeat_loop(), name=f"hubfeed:{self.name}:heartbeat"),
            loop.create_task(self._watchdog(), name=f"hubfeed:{self.name}:watchdog"),
        ]
        if self.depth_interval is not None:
            self._tasks.append(
                loop.create_task(self._depth_reader(), name=f"hubfeed:{self.name}:depth")
            )

    async def watch(self, symbols: list[str]) -> None:
        """Ask the hub for ``symbols`` and read them from their latest quote on. Symbols must
        look like ``EXCHANGE:NAME`` (``InvalidInput`` otherwise, and nothing changes). If Redis
        is down the request is kept and sent when it is back."""
        if isinstance(symbols, str):
            symbols = [symbols]
        for s in symbols:
            if not valid_symbol(s):
                raise InvalidInput("symbols", f"{s!r} is not a symbol like 'NSE:SBIN-EQ'")
        new = [
            _Watch(s, self.keys.quotes(s).encode())
            for s in dict.fromkeys(symbols)
            if s not in self._watches
        ]
        if not new:
            return
        for w in new:
            self._watches[w.symbol] = w
        if not self._started:
            return
        try:
            async with self._write_lock:
                pipe = self._redis.pipeline(transaction=True)
                pipe.sadd(self.keys.session(self.session_id), *(w.symbol for w in new))
                pipe.pexpire(self.keys.session(self.session_id), self.key_ttl_ms)
                self._request(pipe, "set")
                await pipe.execute()
            await self._position(new)
        except RETRYABLE:
            self._announce_needed = True
            self._kick.set()

    async def unwatch(self, symbols: list[str]) -> None:
        """Stop reading ``symbols`` and tell the hub (it unsubscribes what nobody watches)."""
        if isinstance(symbols, str):
            symbols = [symbols]
        gone = [self._watches.pop(s) for s in dict.fromkeys(symbols) if s in self._watches]
        for w in gone:
            self._by_key.pop(w.key, None)
        if not gone or not self._started:
            return
        try:
            async with self._write_lock:
                pipe = self._redis.pipeline(transaction=True)
                pipe.srem(self.keys.session(self.session_id), *(w.symbol for w in gone))
                self._request(pipe, "set")
                await pipe.execute()
        except RETRYABLE:
            self._announce_needed = True
            self._kick.set()

    async def close(self) -> None:
        """Say goodbye to the hub (it releases this session's symbols at once), stop reading
        and close the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await stop_tasks(self._tasks)
        if self._started:
            try:
                async with asyncio.timeout(1.0):
                    pipe = self._redis.pipeline(transaction=True)
                    pipe.delete(self.keys.session(self.session_id))
                    self._request(pipe, "bye")
                    await pipe.execute()
            except (*RETRYABLE, TimeoutError) as exc:
                log.info("could not say goodbye to the hub: %s", exc)
        await self._redis.aclose()
        await self._reads.close()
        await self._read_client.aclose()
        self._set_state("closed", None)

    # ------------------------------------------------------------------ state
    def _set_state(self, status: HubStatus, reason: str | None, attempt: int = 0) -> None:
        new = HubFeedState(status, reason, None, self._missed, attempt, self._hub_id)
        if new != self._state:
            self._state = new
            if status in ("stale", "failed", "reconnecting"):
                log.warning("hub feed %s", new)
            else:
                log.info("hub feed %s", new)
            self.on_state.emit(self.state)  # a failing handler is reported, never raised

    def _report(self, exc: BaseException) -> None:
        log.warning("hub feed callback failed: %r", exc)
        self.on_error.emit(exc)

    def _refresh(self, now: float) -> None:
        """The state from what was last heard: the hub's heartbeat and its feed's status."""
        if self._closed or self._redis_down:
            return
        seen = self._hb_seen
        if seen is None:
            if now - self._started_at <= self.stale_after:
                self._set_state("connecting", "waiting for the hub's heartbeat")
            else:
                self._set_state(
                    "stale", f"no hub is publishing on {redact(self.url)} ({self.keys.prefix})"
                )
            return
        quiet = now - seen
        limit = max(self.stale_after, 3.5 * self._hub_interval)
        if quiet > limit and self._hub_status == "failed":
            self._set_state("failed", f"hub {self._hub_id} stopped: {self._hub_reason}")
        elif quiet > limit:
            self._set_state("stale", f"no heartbeat from hub {self._hub_id} for over {limit:g} s")
        elif self._hub_status == "closed":
            self._set_state("stale", f"hub {self._hub_id}: {self._hub_reason or 'stopped'}")
        else:
            status = _HUB_TO_SESSION.get(self._hub_status or "", "reconnecting")
            reason = None if status == "live" else f"hub feed {self._hub_status}"
            if reason and self._hub_reason:
                reason += f": {self._hub_reason}"
            self._set_state(status, reason)

    # ------------------------------------------------------------------ requests to the hub
    def _request(self, pipe: Any, op: str) -> None:
        pipe.xadd(
            self.keys.requests,
            {"s": self.session_id, "o": op},
            maxlen=1000,
            approximate=True,
        )

    async def _announce(self) -> None:
        """Write the whole symbol set again (after Redis lost it, or on start)."""
        async with self._write_lock:
            key = self.keys.session(self.session_id)
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(key)
            if self._watches:
                pipe.sadd(key, *self._watches)
                pipe.pexpire(key, self.key_ttl_ms)
            self._request(pipe, "set")
            await pipe.execute()
            self._announce_needed = False

    async def _heartbeat_loop(self) -> None:
        key = self.keys.session(self.session_id)
        while still_running():
            self._kick.clear()  # before the work: a kick meanwhile means "again, now"
            try:
                if self._announce_needed:
                    await self._announce()
                else:
                    pipe = self._redis.pipeline(transaction=False)
                    pipe.pexpire(key, self.key_ttl_ms)
                    self._request(pipe, "hb")
                    alive, _ = await pipe.execute()
                    if self._watches and not alive:  # Redis lost our set: write it again
                        await self._announce()
            except RETRYABLE:
                self._announce_needed = True
            await wait_event(self._kick, self.heartbeat)

    async def _depth_reader(self) -> None:
        """Read the watched symbols' books every ``depth_interval`` s (one ``MGET``); a book
        the hub stopped refreshing expires in Redis and leaves :attr:`depth` too."""
        assert self.depth_interval is not None
        while still_running():
            await asyncio.sleep(self.depth_interval)
            symbols = list(self._watches)
            if not symbols:
                continue
            try:
                payloads = await self._redis.mget([self.keys.depth(s) for s in symbols])
            except RETRYABLE:
                continue  # the heartbeat and the reader report Redis being down
            for symbol, payload in zip(symbols, payloads, strict=True):
                if payload is None:
                    self.depth.discard(symbol)
                    continue
                try:
                    ts_ns, bids, asks = decode_depth(as_bytes(payload))
                    self.depth.set_levels(symbol, bids, asks, ts_ns)
                except (ValueError, LiveTradeError) as exc:  # a damaged key: said, skipped
                    self._report(exc)

    # ------------------------------------------------------------------ reading
    async def _position(self, watches: list[_Watch]) -> None:
        """Start each symbol at its latest entry, pushed now so the quote cache is warm."""
        todo = [w for w in watches if w.pos is None]
        if not todo:
            return
        pipe = self._redis.pipeline(transaction=False)
        for w in todo:
            pipe.xrevrange(w.key, "+", "-", count=1)
        tops = await pipe.execute()
        for w, top in zip(todo, tops, strict=True):
            if w.pos is not None or self._watches.get(w.symbol) is not w:
                continue  # positioned meanwhile, or unwatched
            if top:
                eid, fields = top[0]
                w.pos, w.last = eid, parse_id(eid)
                w.stats.first_id = w.stats.last_id = eid.decode()
                payload = fields.get(b"q")
                if payload:
                    bid, ask, last, volume, ts_ns = decode_quote(payload)
                    self._push(w.symbol, bid, ask, last, volume, ts_ns)
                    w.stats.received += 1
            else:
                w.pos = b"0-0"
            self._by_key[w.key] = w

    def _push(self, symbol: str, bid: int, ask: int, last: int, volume: int, ts_ns: int) -> None:
        try:
            self.stream.push(symbol, bid, ask, last, volume, ts_ns)
        except Exception as exc:  # the engine or a listener failed: report, keep reading
            self._report(exc)
        self._last_quote_ns = ts_ns

    async def _reader(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = Backoff()
        reads = self._reads
        while still_running():
            try:
                unplaced = [w for w in self._watches.values() if w.pos is None]
                if unplaced:
                    await self._position(unplaced)
                keys: list[bytes] = [self._hb_key]
                ids: list[bytes] = [self._hb_pos]
                for key, watching in self._by_key.items():
                    keys.append(key)
                    ids.append(watching.pos or b"0-0")
                reply = await reads.read(
                    keys, ids, count=self.batch, block_ms=self.block_ms, timeout=5.0
                )
            except RETRYABLE as exc:
                self._redis_down = True
                if self.retries is not None and backoff.attempt >= self.retries:
                    self._set_state("failed", f"Redis at {redact(self.url)}: {exc}")
                    return
                self._announce_needed = True
                self._kick.set()
                self._set_state(
                    "reconnecting", f"Redis at {redact(self.url)}: {exc}", backoff.attempt + 1
                )
                await asyncio.sleep(backoff.next())
                continue
            self._last_reply = loop.time()
            if backoff.attempt:
                backoff.reset()
                self._redis_down = False
                if self._hb_seen is not None:  # grace: the hub could not be heard meanwhile
                    self._hb_seen = self._last_reply
            for key, entries in iter_xread(reply):
                if key == self._hb_key:
                    self._on_heartbeat(entries, loop.time())
                    continue
                w = self._by_key.get(key)
                if w is not None and entries:
                    self._on_quotes(w, entries)
            self._refresh(loop.time())

    async def _watchdog(self) -> None:
        """Notice a silent hub on time. Redis ends an idle ``XREAD BLOCK`` only on its own
        clock tick (100 ms at the default ``hz 10``, so a 100 ms block can take 200), so the
        reader alone would notice late; this checks every 50 ms. It only judges while the
        reader is getting replies: if this loop was starved, heartbeats may be waiting unread
        and the reader decides after it has read them."""
        loop = asyncio.get_running_loop()
        while still_running():
            await asyncio.sleep(0.05)
            now = loop.time()
            if now - self._last_reply < 0.5:
                self._refresh(now)

    def _on_heartbeat(self, entries: list[Any], now: float) -> None:
        eid, fields = entries[-1]
        self._hb_pos = eid
        self._hb_seen = now
        f = pairs(fields)
        hub = f.get(b"h", b"").decode() or None
        if hub != self._hub_id:
            if self._hub_id is not None:
                log.info("hub changed: %s -> %s", self._hub_id, hub)
            self._hub_id = hub
        self._hub_status = f.get(b"s", b"").decode() or None
        self._hub_reason = f.get(b"r", b"").decode() or None
        with contextlib.suppress(ValueError):
            self._hub_interval = float(f.get(b"i", b"0"))

    def _on_quotes(self, w: _Watch, entries: list[Any]) -> None:
        push = self.stream.push
        symbol = w.symbol
        first, last = parse_id(entries[0][0]), parse_id(entries[-1][0])
        prev = w.last
        if (prev is not None and (first[0] != prev[0] or first[1] != prev[1] + 1)) or (
            first[0] != last[0] or last[1] - first[1] + 1 != len(entries)
        ):
            # not simply the next run of ids (dense and increasing, so the count tells): a
            # trim, a lost write or a new epoch; count entry by entry, which is rare
            missed = _missed_in(prev, entries)
        else:
            missed = 0
        ts_ns = 0
        for _eid, fields in entries:
            try:
                payload = fields[1] if fields[0] == b"q" else pairs(fields)[b"q"]
                b, a, p, v, t = payload.split()
                ts_ns = int(t)
                push(symbol, int(b), int(a), int(p), int(v), ts_ns)
            except Exception as exc:  # a malformed entry or a failing engine: report, go on
                self._report(exc)
        w.last = last
        w.pos = entries[-1][0]
        st = w.stats
        if st.first_id is None:
            st.first_id = entries[0][0].decode()
        st.last_id = w.pos.decode()
        st.received += len(entries)
        if ts_ns:
            self._last_quote_ns = ts_ns
        if missed:
            st.missed += missed
            self._missed += missed
            log.warning(
                "missed %d quotes of %s: trimmed by the stream's cap before this session read "
                "them (or lost by Redis)",
                missed,
                symbol,
            )
            s = self._state
            self._set_state(s.status, s.reason, s.attempt)


def _missed_in(last: tuple[int, int] | None, entries: list[Any]) -> int:
    """Quotes skipped before and between ``entries``, given the reader's ``last`` id."""
    missed = 0
    for eid, fields in entries:
        cur = parse_id(eid)
        prev = None
        if last is not None and cur[0] != last[0]:
            p = pairs(fields).get(b"p")
            prev = parse_id(p) if p else None
        missed += gap(last, cur, prev)
        last = cur
    return missed
