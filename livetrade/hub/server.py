"""The hub process: one feed (simulated market or the Fyers stream) fanned out on Redis Streams.

    livetrade hub --feed sim --redis redis://127.0.0.1:6379/0 [--maxlen N] [--tick-interval S]

What it does, in four tasks on one event loop:

* the **feed** pushes quotes into a :class:`LivePriceStream` subclass whose ``push`` numbers
  each quote (``{epoch}-{seq}``, dense per symbol) and queues it: no Redis I/O on the feed's
  path, and quotes of symbols nobody watches are dropped there;
* the **writer** sends the queue to Redis in batches through one Lua script (``XADD`` with an
  approximate ``MAXLEN`` per quote). While Redis is down the queue holds up to ``buffer``
  quotes (the oldest are dropped and counted, so readers see the hole); the batch in flight
  when the connection broke is sent again, and ids already written are skipped by the script,
  so a lost reply never duplicates a quote;
* the **requests** task reads the sessions' request stream, keeps every session's symbol set
  and when it last heard from it, releases the sessions that went quiet for
  ``session_timeout`` seconds, and subscribes the feed to the union (plus ``symbols`` pinned on
  the command line), unsubscribing what nobody watches;
* the **heartbeat** renews the hub's lease (one hub per prefix; a second one waits as a
  standby), and publishes the feed's state on the heartbeat stream and the info hash.

A restarted hub numbers each symbol in an epoch of its own whose first entry points back at
the stream's last one (so sessions count exactly across the change, and no id is ever reused),
and the simulated market continues from that entry's price: sessions see neither a duplicate,
nor a hole, nor a jump.

The feeds a hub can fan out are in :mod:`livetrade.hub.sources`; :func:`run_hub` and the command
line in :mod:`livetrade.hub.main` (both re-exported here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.typing import EncodableT, FieldT

from livetrade.backoff import Backoff
from livetrade.depth import DepthStore, depth_from_values, simulated_levels
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.hub.conn import (
    RETRYABLE,
    as_bytes,
    as_text,
    iter_xread,
    open_redis,
    pairs,
    redact,
    still_running,
    stop_tasks,
    wait_event,
    xread_raw,
)
from livetrade.hub.protocol import (
    PUBLISH_SCRIPT,
    RELEASE_SCRIPT,
    RENEW_SCRIPT,
    HubKeys,
    Level,
    decode_quote,
    encode_depth,
    parse_id,
    valid_symbol,
)
from livetrade.hub.sources import FeedSource, SimSource, SourceState, make_source
from livetrade.model import PriceQuote, datetime_to_ns
from livetrade.prices import LivePriceStream

__all__ = [
    "DEFAULT_REDIS",
    "FeedSource",
    "Hub",
    "HubError",
    "SimSource",
    "SourceState",
    "build_parser",
    "hub_main",
    "make_source",
    "run_hub",
]

log = logging.getLogger("livetrade.hub")

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


DEPTH_REFRESH_S = 2.0  # an unchanged book is written again this often...
DEPTH_TTL_MS = 10_000  # ...and a book nobody refreshes (the hub died) expires after this


class HubError(LiveTradeError):
    """The hub cannot go on (its lease was taken by another hub, or its feed failed)."""


class _Sym:
    """How the hub numbers one symbol: its epoch, the last seq given, and the ``p`` mark for
    the next entry (the id a new epoch follows, then ``-``)."""

    __slots__ = ("epoch", "key", "mark", "seq")

    def __init__(self, key: bytes, epoch: int, seq: int, mark: bytes = b"-") -> None:
        self.key = key
        self.epoch = epoch
        self.seq = seq
        self.mark = mark


class _HubSink(LivePriceStream):
    """The stream the feed writes into: numbers and queues each watched symbol's quote."""

    def __init__(self, hub: Hub) -> None:
        super().__init__(history=1)
        self._hub = hub

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
        hub = self._hub
        sym = hub.subscribed.get(symbol)
        if sym is None:
            return
        hub.tops[symbol] = (bid, ask, ts_ns)  # what a simulated book is derived from
        sym.seq += 1
        pending = hub.pending
        if len(pending) == pending.maxlen:
            hub.dropped += 1
        pending.append(  # protocol.batch_line, inlined
            b"%s %d-%d %d %d %d %d %d %s"
            % (sym.mark, sym.epoch, sym.seq, bid, ask, last, volume, ts_ns, sym.key)
        )
        if sym.mark != b"-":
            sym.mark = b"-"
        hub.accepted += 1
        hub.last_quote_ns = ts_ns
        if not hub.wake.is_set():
            hub.wake.set()


@dataclass(slots=True)
class _Session:
    symbols: frozenset[str]
    seen: float


class Hub:
    """One feed, fanned out to Redis. Build it, then ``await hub.run(stop)``; see the module
    docstring. ``source`` builds the feed around the stream it is given."""

    def __init__(
        self,
        redis_url: str,
        source: Callable[[LivePriceStream], FeedSource],
        *,
        feed_name: str = "sim",
        maxlen: int = 10_000,
        symbols: list[str] | None = None,
        prefix: str = "lt",
        heartbeat: float = 0.2,
        lease: float = 2.0,
        session_timeout: float = 5.0,
        buffer: int = 100_000,
        batch: int = 1_000,
        depth_interval: float | None = 0.25,
    ) -> None:
        if maxlen < 1:
            raise InvalidInput("maxlen", "must be at least 1")
        if not 0 < heartbeat < lease:
            raise InvalidInput("heartbeat", "must be positive and shorter than the lease")
        if not session_timeout > 0:
            raise InvalidInput("session_timeout", "must be positive")
        self.url = redis_url
        self.feed_name = feed_name
        self.maxlen = maxlen
        self.pinned = frozenset(symbols or ())
        self.keys = HubKeys(prefix)
        self.heartbeat = heartbeat
        self.lease = lease
        self.session_timeout = session_timeout
        self.batch = batch
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.epoch = time.time_ns() // 1_000_000  # ms: ids of streams this hub starts afresh
        self.status = "connecting"
        self.reason: str | None = None
        self.started_ns = time.time_ns()
        # counters (read them; do not write)
        self.accepted = 0  # quotes numbered and queued
        self.written = 0  # quotes sent to Redis
        self.dropped = 0  # quotes dropped from a full queue while Redis was down
        self.skipped = 0  # ids Redis already had (a resent batch)
        self.last_quote_ns: int | None = None
        # depth: every depth_interval s the changed books go to {prefix}:d:{symbol}
        self.depth_interval = depth_interval
        self.tops: dict[str, tuple[int, int, int]] = {}  # symbol -> bid, ask, ts_ns
        self._depth_sent: dict[str, tuple[bytes, float]] = {}  # payload, loop time written
        self.subscribed: dict[str, _Sym] = {}  # what the feed is asked for now
        self._numbering: dict[str, _Sym] = {}  # every symbol this hub has numbered
        self.rejected: dict[str, str] = {}
        self.sessions: dict[str, _Session] = {}
        self.pending: deque[bytes] = deque(maxlen=buffer)
        self.wake = asyncio.Event()
        self._inflight: list[bytes] | None = None
        self._hb_kick = asyncio.Event()
        self._symbols_dirty = True
        self._redis = open_redis(redis_url, socket_timeout=max(2.0, 5 * heartbeat))
        self._writes = open_redis(redis_url, socket_timeout=None)
        self._publish = self._writes.register_script(PUBLISH_SCRIPT)
        self._renew = self._redis.register_script(RENEW_SCRIPT)
        self._release = self._redis.register_script(RELEASE_SCRIPT)
        self.stream = _HubSink(self)
        self.source = source(self.stream)
        self.source.on_state.append(self._on_source_state)
        self._redis_ok = True
        self._failed = asyncio.Event()
        self._failure: str | None = None

    def __repr__(self) -> str:
        return (
            f"Hub({self.feed_name}, {redact(self.url)}, {self.status}, "
            f"symbols={len(self.subscribed)}, sessions={len(self.sessions)})"
        )

    # ------------------------------------------------------------------ lifecycle
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Own the lease, start the feed and serve until ``stop`` is set (or the lease is lost
        or the feed fails: ``HubError``)."""
        stop = stop or asyncio.Event()
        try:
            if not await self._acquire(stop):
                return
            log.info(
                "hub %s owns %s (prefix %r, feed %s, maxlen ~%d)",
                self.id,
                redact(self.url),
                self.keys.prefix,
                self.feed_name,
                self.maxlen,
            )
            loop = asyncio.get_running_loop()
            tasks = [
                loop.create_task(self._heartbeat_loop(), name="hub:heartbeat"),
                loop.create_task(self._writer(), name="hub:writer"),
            ]
            if self.depth_interval is not None:
                tasks.append(loop.create_task(self._depth_loop(), name="hub:depth"))
            try:
                try:
                    await self.source.start()
                except LiveTradeError as exc:  # a refused token, a feed that never came up
                    self._set_status("failed", str(exc))
                    self._failure = str(exc)
                    self._failed.set()
                    raise
                tasks.append(loop.create_task(self._requests(), name="hub:requests"))
                waiters = [loop.create_task(stop.wait()), loop.create_task(self._failed.wait())]
                done, _ = await asyncio.wait(
                    [*waiters, *tasks], return_when=asyncio.FIRST_COMPLETED
                )
                for w in waiters:
                    w.cancel()
                for task in tasks:
                    if task in done and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                await self._shutdown(tasks)
        finally:
            await self._redis.aclose()
            await self._writes.aclose()
        if self._failed.is_set():
            raise HubError(f"the {self.feed_name} feed failed: {self._failure}")

    async def _acquire(self, stop: asyncio.Event) -> bool:
        """Wait for Redis and for the lease; ``False`` if ``stop`` was set meanwhile."""
        backoff = Backoff(cap=self.heartbeat)
        announced = None
        while not stop.is_set() and still_running():
            try:
                got = await self._redis.set(
                    self.keys.owner, self.id, nx=True, px=int(self.lease * 1000)
                )
                if got:
                    return True
                owner = await self._redis.get(self.keys.owner)
                if owner != announced:
                    announced = owner
                    log.warning(
                        "another hub (%s) holds the lease on %s; waiting as a standby",
                        as_text(owner) or "?",
                        redact(self.url),
                    )
                delay = self.heartbeat
            except RETRYABLE as exc:
                if backoff.attempt == 0:
                    log.warning("waiting for Redis at %s: %s", redact(self.url), exc)
                delay = backoff.next()
            await wait_event(stop, delay)
        return False

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        """Stop the feed, send what is queued (bounded), say ``closed``, give the lease back."""
        why = (self._failure or "the feed failed") if self._failed.is_set() else "hub stopped"
        self._set_status("closed", why)
        with contextlib.suppress(Exception):
            await self.source.close()
        writer = next((t for t in tasks if t.get_name() == "hub:writer"), None)
        if writer is not None and not writer.done():
            deadline = time.monotonic() + 2.0
            while (self.pending or self._inflight) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        await stop_tasks(tasks)
        try:
            pipe = self._redis.pipeline(transaction=False)
            last_word = "failed" if self._failed.is_set() else "closed"  # sessions keep it
            pipe.xadd(
                self.keys.heartbeat,
                {"s": last_word, "r": self.reason or "", "h": self.id},
                maxlen=64,
                approximate=True,
            )
            pipe.delete(self.keys.info, self.keys.symbols)
            await pipe.execute()
            await self._release(keys=[self.keys.owner], args=[self.id])
        except RETRYABLE as exc:
            log.warning("could not say goodbye on %s: %s", redact(self.url), exc)
        log.info(
            "hub %s stopped: %d quotes written, %d dropped", self.id, self.written, self.dropped
        )

    def _on_source_state(self, state: Any) -> None:
        if self.status == "closed":  # shutting down: the feed closing is no news
            return
        self._set_status(str(state.status), state.reason)
        if state.status == "failed":
            self._failure = state.reason
            self._failed.set()

    def _set_status(self, status: str, reason: str | None) -> None:
        if (status, reason) != (self.status, self.reason):
            self.status, self.reason = status, reason
            log.info("feed %s%s", status, f": {reason}" if reason else "")
            self._hb_kick.set()

    def _redis_lost(self, what: str, exc: BaseException) -> None:
        if self._redis_ok:
            self._redis_ok = False
            log.warning("Redis at %s lost (%s: %s); retrying", redact(self.url), what, exc)

    def _redis_back(self) -> None:
        if not self._redis_ok:
            self._redis_ok = True
            self._symbols_dirty = True
            log.info("Redis at %s is back", redact(self.url))

    # ------------------------------------------------------------------ writer
    async def _writer(self) -> None:
        pending = self.pending
        backoff = Backoff()
        maxlen = b"%d" % self.maxlen
        write_timeout = max(2.0, 5 * self.heartbeat)
        retry = False
        while still_running():
            batch = self._inflight
            if batch is None:
                if not pending:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                n = min(len(pending), self.batch)
                batch = self._inflight = [pending.popleft() for _ in range(n)]
                retry = False
            try:
                async with asyncio.timeout(write_timeout):
                    skipped = int(await self._publish(keys=[], args=[maxlen, b"\n".join(batch)]))
            except RETRYABLE as exc:
                self._redis_lost("writing quotes", exc)
                retry = True
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            self._redis_back()
            self._inflight = None
            self.written += len(batch) - skipped
            if skipped:
                self.skipped += skipped
                if not retry:
                    log.warning("Redis refused %d quote ids (another writer?)", skipped)

    # ------------------------------------------------------------------ sessions
    async def _requests(self) -> None:
        r = self._redis
        backoff = Backoff()
        last: bytes | None = None
        while still_running():
            try:
                if last is None:
                    last = await self._bootstrap()
                    backoff.reset()
                reply = await xread_raw(
                    r,
                    [self.keys.requests.encode()],
                    [last],
                    count=1000,
                    block_ms=max(1, int(self.heartbeat * 1000)),
                )
                if backoff.attempt:  # back after an outage: nobody could heartbeat meanwhile
                    now = asyncio.get_running_loop().time()
                    for s in self.sessions.values():
                        s.seen = now
                    backoff.reset()
                refresh: set[str] = set()
                for _key, entries in iter_xread(reply):
                    for eid, fields in entries:
                        last = eid
                        f = pairs(fields)
                        sid = f.get(b"s", b"").decode()
                        op = f.get(b"o", b"")
                        if not sid:
                            continue
                        if op == b"bye":
                            refresh.discard(sid)
                            if self.sessions.pop(sid, None) is not None:
                                log.info("session %s left", sid)
                        elif op == b"set" or sid not in self.sessions:
                            refresh.add(sid)
                        else:
                            self.sessions[sid].seen = asyncio.get_running_loop().time()
                if refresh:
                    await self._load_sessions(sorted(refresh))
                self._expire()
                await self._apply()
            except RETRYABLE as exc:
                self._redis_lost("reading requests", exc)
                await asyncio.sleep(backoff.next())

    async def _bootstrap(self) -> bytes:
        """Where to start reading requests, and the sessions already registered (a restarted
        hub picks them up at once instead of waiting for their next heartbeat)."""
        r = self._redis
        top = await r.xrevrange(self.keys.requests, "+", "-", count=1)
        start = as_bytes(top[0][0]) if top else b"0-0"
        sids = [
            key.decode()[len(self.keys.session_prefix) :]
            async for key in r.scan_iter(match=f"{self.keys.session_prefix}*", count=1000)
        ]
        if sids:
            await self._load_sessions(sids)
        await self._apply()
        return start

    async def _load_sessions(self, sids: list[str]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for sid in sids:
            pipe.smembers(self.keys.session(sid))
        results = await pipe.execute()
        now = asyncio.get_running_loop().time()
        for sid, members in zip(sids, results, strict=True):
            symbols = frozenset(m.decode() for m in members)
            old = self.sessions.get(sid)
            if old is None:
                log.info("session %s joined with %d symbols", sid, len(symbols))
            self.sessions[sid] = _Session(symbols, now)

    def _expire(self) -> None:
        cutoff = asyncio.get_running_loop().time() - self.session_timeout
        for sid in [sid for sid, s in self.sessions.items() if s.seen < cutoff]:
            s = self.sessions.pop(sid)
            log.warning(
                "session %s silent for %.1f s: releasing its %d symbols",
                sid,
                self.session_timeout,
                len(s.symbols),
            )

    async def _apply(self) -> None:
        """Subscribe the feed to the union of the sessions' symbols; release the rest."""
        want = set(self.pinned)
        for sess in self.sessions.values():
            want |= sess.symbols
        for s in want:
            if s not in self.subscribed and s not in self.rejected and not valid_symbol(s):
                self.rejected[s] = "not a symbol like 'NSE:SBIN-EQ'"
                log.warning("refused %r: not a symbol like 'NSE:SBIN-EQ'", s)
        add = sorted(s for s in want if s not in self.subscribed and s not in self.rejected)
        drop = [s for s in self.subscribed if s not in want]
        for s in [s for s in self.rejected if s not in want]:
            del self.rejected[s]
        if add:
            await self._subscribe(add)
        if drop:
            for s in drop:
                del self.subscribed[s]
            log.info("released %d symbols: %s", len(drop), " ".join(drop[:10]))
            try:
                await self.source.unwatch(drop)
            except LiveTradeError as exc:
                log.warning("feed refused to unsubscribe %s: %s", drop, exc)
        if add or drop:
            self._symbols_dirty = True
            self._hb_kick.set()

    async def _subscribe(self, add: list[str]) -> None:
        """Number each symbol, continue the simulated price from its last entry, then ask the
        feed; symbols it refuses are kept out until nobody asks for them.

        A symbol this hub numbered before (released, then watched again) continues its own ids,
        whatever Redis holds now. A stream this hub has not written gets this hub's epoch, and
        if it has entries its first new one points back at the last (``p``), so readers count
        across the change exactly and no id is ever reused.
        """
        pipe = self._redis.pipeline(transaction=False)
        for s in add:
            pipe.xrevrange(self.keys.quotes(s), "+", "-", count=1)
        tops = await pipe.execute()
        for s, top in zip(add, tops, strict=True):
            if s in self.subscribed:
                continue
            sym = self._numbering.get(s)
            if sym is None:
                key = self.keys.quotes(s).encode()
                if top:
                    eid = as_bytes(top[0][0])
                    epoch = max(self.epoch, parse_id(eid)[0] + 1)
                    sym = _Sym(key, epoch, 0, eid)
                else:
                    sym = _Sym(key, self.epoch, 0)
                self._numbering[s] = sym
            self.subscribed[s] = sym
            if top and isinstance(self.source, SimSource):
                payload = top[0][1].get(b"q")
                if payload:
                    with contextlib.suppress(ValueError, LiveTradeError):
                        self.source.resume(s, decode_quote(payload)[2])
        try:
            await self._watch(add)
        except LiveTradeError:
            for s in add:  # find the culprits one by one, keep the rest
                try:
                    await self._watch([s])
                except LiveTradeError as exc:
                    self.subscribed.pop(s, None)
                    self.rejected[s] = str(exc)
                    log.warning("feed refused %s: %s", s, exc)
        log.info("subscribed %d symbols: %s", len(add), " ".join(add[:10]))

    async def _watch(self, symbols: list[str]) -> None:
        """Ask the feed; one that keeps depth records (the Fyers feed's ``depth`` store) is
        asked for the books too when the hub publishes depth."""
        if self.depth_interval is not None and isinstance(
            getattr(self.source, "depth", None), DepthStore
        ):
            await self.source.watch(symbols, depth=True)  # type: ignore[call-arg]
        else:
            await self.source.watch(symbols)

    # ------------------------------------------------------------------ depth
    def book(self, symbol: str) -> tuple[int, list[Level], list[Level]] | None:
        """``symbol``'s book now, prices in paise: the Fyers feed's depth records, or the
        simulated market's book derived from its last quote (as a sim session derives it)."""
        store = getattr(self.source, "depth", None)
        if isinstance(store, DepthStore):
            depth = store.get(symbol)
        elif isinstance(self.source, SimSource) and symbol in self.tops:
            bid, ask, ts_ns = self.tops[symbol]
            values = simulated_levels(self.source.market.seed or 0, symbol, bid, ask, ts_ns)
            depth = depth_from_values(symbol, values, ts_ns)
        else:
            return None
        if depth is None:
            return None
        paise = [[(int(p * 100), q, o) for p, q, o in side] for side in (depth.bids, depth.asks)]
        return datetime_to_ns(depth.ts), paise[0], paise[1]

    async def _depth_loop(self) -> None:
        """Write each subscribed symbol's book when it changed (and every ``DEPTH_REFRESH_S``
        anyway, so the key's expiry only ends a dead hub's books)."""
        assert self.depth_interval is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.depth_interval)
            now = loop.time()
            changed: dict[str, bytes] = {}
            for symbol in list(self.subscribed):
                if symbol.upper().endswith("-INDEX"):
                    continue
                book = self.book(symbol)
                if book is None:
                    continue
                payload = encode_depth(*book)
                sent = self._depth_sent.get(symbol)
                if sent is None or sent[0] != payload or now - sent[1] > DEPTH_REFRESH_S:
                    changed[symbol] = payload
            if not changed:
                continue
            pipe = self._writes.pipeline(transaction=False)
            for symbol, payload in changed.items():
                pipe.set(self.keys.depth(symbol), payload, px=DEPTH_TTL_MS)
            try:
                await pipe.execute()
            except RETRYABLE:
                continue  # Redis is down: the writer reports it; the next round writes again
            self._depth_sent.update((s, (p, now)) for s, p in changed.items())

    # ------------------------------------------------------------------ heartbeat
    async def _heartbeat_loop(self) -> None:
        r = self._redis
        backoff = Backoff(cap=self.heartbeat)
        lease_ms = int(self.lease * 1000)
        info_ttl = max(lease_ms, int(self.heartbeat * 5000))
        interval = f"{self.heartbeat:g}"  # sessions wait 3.5 of these before "stale"
        while still_running():
            self._hb_kick.clear()
            try:
                owned = await self._renew(keys=[self.keys.owner], args=[self.id, lease_ms])
                if not owned:
                    owner = await r.get(self.keys.owner)
                    raise HubError(
                        f"another hub ({as_text(owner) or '?'}) took the lease on "
                        f"{redact(self.url)}; stopping"
                    )
                pipe = r.pipeline(transaction=False)
                pipe.xadd(
                    self.keys.heartbeat,
                    {"s": self.status, "r": self.reason or "", "h": self.id, "i": interval},
                    maxlen=64,
                    approximate=True,
                )
                pipe.hset(self.keys.info, mapping=self._info())
                pipe.pexpire(self.keys.info, info_ttl)
                dirty, self._symbols_dirty = self._symbols_dirty, False  # a change meanwhile
                if dirty:  # sets it again and is published next time
                    pipe.delete(self.keys.symbols)
                    if self.subscribed:
                        pipe.sadd(self.keys.symbols, *self.subscribed)
                try:
                    await pipe.execute()
                except BaseException:
                    self._symbols_dirty |= dirty
                    raise
                backoff.reset()
                self._redis_back()
                delay = self.heartbeat
            except RETRYABLE as exc:
                self._redis_lost("heartbeat", exc)
                delay = backoff.next()
            await wait_event(self._hb_kick, delay)

    def _info(self) -> dict[FieldT, EncodableT]:
        return {
            "id": self.id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "feed": self.feed_name,
            "status": self.status,
            "reason": self.reason or "",
            "started_ns": self.started_ns,
            "hb_ns": time.time_ns(),
            "maxlen": self.maxlen,
            "quotes": self.accepted,
            "written": self.written,
            "dropped": self.dropped,
            "queued": len(self.pending),
            "symbols": len(self.subscribed),
            "sessions": len(self.sessions),
            "rejected": " ".join(sorted(self.rejected)),
        }


# The entry points live in livetrade.hub.main, which imports Hub from here; they are re-exported
# last, once Hub exists, so ``from livetrade.hub.server import hub_main`` keeps working.
from livetrade.hub.main import build_parser, hub_main, run_hub  # noqa: E402
