"""The fake Fyers server's market-data socket: market steps, snapshots and updates to each
subscriber, the HSM requests (auth, mode, subscribe, pause...) and fault injection (drops,
stalls, garbage, token expiry)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from livetrade.errors import InvalidInput, ProtocolError
from livetrade.fyers.codec import (
    AckRequest,
    AuthReply,
    AuthRequest,
    CustomMessage,
    DataFeed,
    FeedRecord,
    ModeRequest,
    PauseRequest,
    PingRequest,
    ResponseType,
    ResumeRequest,
    StatusReply,
    SubscribeRequest,
    UnsubscribeRequest,
    parse_client_frame,
)
from livetrade.testing.fake_server_core import _ServerCore
from livetrade.testing.fake_wire import (
    GARBAGE_FRAMES,
    FakeConnection,
    _Instrument,
    log,
)


class _DataSocket(_ServerCore):
    """The HSM data socket and the market that feeds it."""

    async def _tick_loop(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at, loop.time() - interval)  # do not burst after a pause
            try:
                await self.step()
            except Exception:
                log.exception("fake market step failed")

    async def step(self) -> int:
        """One market step for every registered symbol, sent to every subscriber now.

        Returns the number of records sent.
        """
        tape = self._tape
        tape.rows.clear()
        self.market.step(self.clock.now_ns())
        self.steps += 1
        moved: list[_Instrument] = []
        watched = self._watched() if self.fno is not None else set()
        for row in tape.rows:
            inst = self._by_symbol[row[0]]
            if inst.expiry and row[0] not in watched:
                inst.pending = row  # brought up to date when read (_catch_up)
                continue
            inst.pending = None
            self._apply(inst, row)
            moved.append(inst)
        self._match_orders(moved)
        return await self._broadcast(moved)

    def record_frames(
        self,
        symbols: Sequence[str],
        steps: int,
        *,
        lite: bool = False,
        records_per_frame: int | None = None,
    ) -> tuple[dict[str, str], list[bytes], list[bytes]]:
        """Encode market data offline (benchmarks, decoder tests): ``(topics, snapshots,
        updates)`` -- topic → symbol, the snapshot frames of ``symbols`` as they are now, then
        ``steps`` market steps as update (or ``lite``) frames of ``records_per_frame`` records
        (default: the server's), message numbers counting from 1. Advances this fake's market;
        sends nothing."""
        insts = []
        for symbol in symbols:
            inst = self.instrument(symbol)
            if inst is None:
                raise InvalidInput("symbols", f"{symbol} is unknown to this fake server")
            insts.append(inst)
        wanted = {i.symbol for i in insts}
        size = records_per_frame or self.records_per_frame
        number = 0

        def frames(records: list[FeedRecord]) -> list[bytes]:
            nonlocal number
            out = []
            for i in range(0, len(records), size):
                number += 1
                out.append(DataFeed(number, tuple(records[i : i + size])).serialize())
            return out

        snapshots = frames([i.snapshot() for i in insts])
        updates: list[bytes] = []
        pending: list[FeedRecord] = []
        for _ in range(steps):
            self._tape.rows.clear()
            self.market.step(self.clock.now_ns())
            for row in self._tape.rows:
                inst = self._by_symbol[row[0]]
                inst.pending = None
                self._apply(inst, row)
                if row[0] in wanted:
                    pending.append(inst.update(lite))
            if len(pending) >= size:
                updates += frames(pending[: len(pending) // size * size])
                pending = pending[len(pending) // size * size :]
        updates += frames(pending)
        return {i.topic: i.symbol for i in insts}, snapshots, updates

    async def send_frames(self, frames: Iterable[bytes | str]) -> int:
        """Send these frames, as they are, to every live connection (in order); returns how
        many were sent in total. Bytes become binary messages, strings text messages."""
        batch = list(frames)
        sent = 0
        for conn in self.live_connections:
            for frame in batch:
                sent += await self._send(conn, frame)
        return sent

    async def push_quote(
        self, symbol: str, last: int, bid: int | None = None, ask: int | None = None
    ) -> int:
        """Send ``symbol`` at ``last`` (paise; bid/ask default to it) to its subscribers now.

        The random walk continues from there; resting orders that price reaches fill first
        (see :attr:`orders`). Returns ``time.perf_counter_ns()`` taken just
        before the first send (latency benchmarks compare it with the fill time).
        """
        inst = self.instrument(symbol)
        if inst is None:
            raise InvalidInput("symbol", f"{symbol} is unknown to this fake server")
        if inst.expiry == 0:  # a derivative's price follows its index at the next step
            self.market.set_price(symbol, last)
        volume = inst.values[1] + (inst.lot if inst.kind == "sf" else 0)
        inst.apply(bid or last, ask or last, last, volume, self.clock.now_ns())
        self._match_orders((inst,))
        t0 = time.perf_counter_ns()
        await self._broadcast([inst])
        return t0

    async def _broadcast(self, moved: list[_Instrument]) -> int:
        sent = 0
        if not moved:
            return 0
        depth = [i.depth for i in moved if i.depth is not None]
        if depth:  # the depth topics of the moved scrips follow their quotes
            now = self.clock.now_ns()
            for d in depth:
                d.refresh(now)
            moved = [*moved, *depth]  # type: ignore[list-item]
        full: list[FeedRecord] | None = None
        lite: list[FeedRecord] | None = None
        for conn in self.live_connections:
            if not conn.authenticated or conn.paused or not conn.subscribed or self._silent(conn):
                continue
            await self._announce(conn)
            if conn.lite:
                if lite is None:
                    lite = [i.update(True) for i in moved]
                records = lite
            else:
                if full is None:
                    full = [i.update(False) for i in moved]
                records = full
            known = conn.announced
            mine = [r for r, i in zip(records, moved, strict=True) if i.topic in known]
            sent += await self._send_records(conn, mine)
        return sent

    async def _announce(self, conn: FakeConnection) -> None:
        """Send the snapshot of every subscribed topic not yet announced on ``conn``.

        Each chunk's topics are marked announced in the same step as its send is queued, so no
        update can reach the client before its topic's snapshot (websockets writes in call
        order).
        """
        pending = [t for t in conn.subscribed if t not in conn.announced]
        step = self.records_per_frame
        for i in range(0, len(pending), step):
            if self._silent(conn):
                return
            chunk = pending[i : i + step]
            records = tuple(self._by_topic[t].snapshot() for t in chunk)
            conn.announced.update(chunk)
            conn.msg_no += 1
            await self._send(conn, DataFeed(conn.msg_no, records).serialize(), len(records))

    async def _send_records(self, conn: FakeConnection, records: Sequence[FeedRecord]) -> int:
        step = self.records_per_frame
        for i in range(0, len(records), step):
            chunk = tuple(records[i : i + step])
            conn.msg_no += 1
            await self._send(conn, DataFeed(conn.msg_no, chunk).serialize(), len(chunk))
        return len(records)

    def _silent(self, conn: FakeConnection) -> bool:
        return conn.ws is None or conn.closed or conn.stalled or self._stall_all or conn.auth_header

    async def _send(self, conn: FakeConnection, frame: bytes | str, records: int = 0) -> bool:
        ws = conn.ws
        if ws is None or self._silent(conn):
            return False
        try:
            await ws.send(frame)
        except ConnectionClosed:
            return False
        conn.frames_out += 1
        conn.records_out += records
        return True

    def subscriptions(self) -> list[set[str]]:
        """The subscribed symbols of each live connection."""
        return [set(c.symbols) for c in self.live_connections]

    async def _handle(self, ws: ServerConnection) -> None:
        conn = FakeConnection(len(self.connections) + 1, ws=ws)
        conn.auth_header = ws.request is not None and "Authorization" in ws.request.headers
        if self._stall_all:
            conn.stalled = True
        self.connections.append(conn)
        try:
            async for msg in ws:
                conn.frames_in += 1
                if isinstance(msg, str):
                    conn.bad_frames_in += 1
                    continue
                try:
                    request = parse_client_frame(msg)
                except ProtocolError:
                    conn.bad_frames_in += 1
                    continue
                await self._on_request(conn, request)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.close_code = ws.close_code

    async def _reply(self, conn: FakeConnection, frame: bytes) -> None:
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        await self._send(conn, frame)

    async def _on_request(self, conn: FakeConnection, request: object) -> None:
        conn.requests.append(type(request).__name__)
        if isinstance(request, PingRequest):
            conn.pings += 1
            if conn.authenticated is None:
                conn.pings_before_auth += 1
            return
        if isinstance(request, AckRequest):
            conn.acks.append(request.message_number)
            return
        if isinstance(request, AuthRequest):
            ok = request.hsm_key == self.hsm_key and not self.reject_token
            conn.authenticated = ok
            await self._reply(conn, AuthReply("K" if ok else "N", self.ack_count, 4).serialize())
            if not ok and conn.ws is not None and not conn.auth_header:
                await conn.ws.close(1008, "authentication failed")
            return
        if isinstance(request, ModeRequest):
            conn.lite = request.lite
            await self._reply(conn, StatusReply(ResponseType.MODE, "K").serialize())
            return
        if isinstance(request, SubscribeRequest):
            await self._subscribe(conn, request.topics)
            return
        if isinstance(request, UnsubscribeRequest):
            conn.log.append(("unsub", request.topics))
            for topic in request.topics:
                if topic in conn.subscribed:
                    conn.subscribed.discard(topic)
                    conn.announced.discard(topic)
                    conn.symbols.discard(self._by_topic[topic].symbol)
                else:
                    conn.unknown_unsubscribes += 1
            await self._reply(conn, StatusReply(ResponseType.UNSUBSCRIBE, "K").serialize())
            return
        if isinstance(request, PauseRequest):
            conn.paused = True
            await self._reply(conn, StatusReply(ResponseType.PAUSE, "K").serialize())
            return
        if isinstance(request, ResumeRequest):
            conn.paused = False
            await self._reply(conn, StatusReply(ResponseType.RESUME, "K").serialize())
            conn.announced.clear()  # fresh snapshots after a resume
            await self._announce(conn)
            return
        # throttle, snapshot request, option chain, unknown types: accepted, ignored

    async def _subscribe(self, conn: FakeConnection, topics: tuple[str, ...]) -> None:
        conn.log.append(("sub", topics))
        if not conn.authenticated:
            await self._reply(conn, StatusReply(ResponseType.SUBSCRIBE, "N").serialize())
            return
        over = False
        for topic in topics:
            if topic in conn.subscribed:
                conn.duplicate_subscribes += 1
                continue
            inst = self._by_topic.get(topic)
            if isinstance(inst, _Instrument) and inst.pending is not None:
                self._catch_up(inst)  # its snapshot goes out now
            if inst is None and topic.startswith("dp|"):
                inst = self._depth_topic(topic)  # type: ignore[assignment]
            if inst is None:
                conn.unknown_topics += 1
                continue
            if len(conn.subscribed) >= self.topic_limit:
                over = True
                continue
            conn.subscribed.add(topic)
            conn.symbols.add(inst.symbol)
        await self._reply(conn, StatusReply(ResponseType.SUBSCRIBE, "K").serialize())
        if over:
            notice = CustomMessage(51001, "symbol limit exceeded", 4)
            await self._send(conn, notice.serialize())
        await self._announce(conn)

    async def drop_connections(self, *, code: int = 1001, abrupt: bool = False) -> int:
        """Close every live data connection (a close frame with ``code``; ``abrupt``: just cut
        the TCP connection). Returns how many were dropped."""
        conns = [c for c in self.live_connections if c.ws is not None]
        for conn in conns:
            ws = conn.ws
            assert ws is not None
            conn.closed = True
            if abrupt:
                ws.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close(code, "dropped by the fake server")
        return len(conns)

    def stall(self, seconds: float | None = None, *, new_connections: bool = False) -> None:
        """Go silent on the live connections (sockets stay open, nothing is sent or answered)
        for ``seconds`` or until :meth:`resume`. ``new_connections``: new ones are silent too
        (auth is never answered)."""
        for conn in self.live_connections:
            conn.stalled = True
        self._stall_all = new_connections
        if self._resume_handle is not None:
            self._resume_handle.cancel()
            self._resume_handle = None
        if seconds is not None:
            self._resume_handle = asyncio.get_running_loop().call_later(seconds, self.resume)

    def resume(self) -> None:
        """End a stall (the next market step re-sends snapshots first)."""
        self._stall_all = False
        for conn in self.connections:
            if conn.stalled:
                conn.stalled = False
                conn.announced.clear()

    async def send_garbage(self, frames: Iterable[bytes | str] | None = None) -> int:
        """Send malformed frames (default :data:`GARBAGE_FRAMES`) to every live connection;
        returns how many frames were sent in total."""
        return await self.send_frames(GARBAGE_FRAMES if frames is None else frames)

    def expire_token(self, *, drop: bool = True) -> asyncio.Task[int]:
        """From now on the token is refused (as after Fyers' daily expiry): auth answers ``N``,
        symbol-token and the trading API answer 401 code -8 (see :attr:`reject_token`). With
        ``drop`` the live connections are closed too, so the client's reconnect meets the
        refusal. Returns the task doing the drop (await it, or not); it resolves to the number
        of connections dropped."""
        self.reject_token = True
        task = asyncio.get_running_loop().create_task(self._expire(drop))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _expire(self, drop: bool) -> int:
        return await self.drop_connections() if drop else 0
