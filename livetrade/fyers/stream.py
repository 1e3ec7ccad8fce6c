"""The Fyers market-data stream on asyncio: :class:`FyersWebSocketManager` (spec 1.1-1.12).

A thin asyncio loop around the sans-I/O :class:`~livetrade.fyers.codec.DataCodec`, on the
``websockets`` asyncio client, in the caller's own event loop (no threads). One implementation
of connect / authenticate / resubscribe / reconnect serves both faces:

* the original API -- ``connect``, ``disconnect``, ``subscribe_to_symbol(symbol, callback)``,
  ``unsubscribe_from_symbol``, ``start_price_stream``, ``register_callback`` -- whose callbacks
  receive :class:`~livetrade.model.PriceQuote` objects;
* :class:`~livetrade.fyers.feed.FyersFeed`, the session's adapter, which registers a raw tick
  handler and pushes integer paise straight into a ``LivePriceStream``.

What it does that the official SDK does not (spec 5, 6): no ``Authorization`` header on the
upgrade (the live gateway goes silent if one is sent); a bounded wait for the auth reply;
``AuthError`` with no retries when the token is expired, malformed or refused (retrying cannot
help: that is the one terminal failure); automatic reconnect with capped exponential backoff and
jitter that never gives up by default (a feed that stopped for good during market hours left
orders trading on frozen quotes) and resubscribes every topic exactly once per connection; an
``on_error`` report once the outage has lasted :data:`REPORT_AFTER` attempts, then at most once
a minute (by the injectable clock) so a long outage is heard without flooding; an application
keep-alive ping (``00 01 0b``) on a timer; a stall watchdog (connected, subscribed, but no data
for ``stall_timeout`` seconds during market hours → reconnect); malformed frames counted and
logged, never fatal; messages larger than any valid frame (:data:`MAX_FRAME_SIZE`) refused by
the websocket layer before they are read; more than 5,000 symbols refused before anything is
sent; a visible :class:`FeedState` on every change.

The reconnect loop is our own rather than ``async for ws in websockets.connect(...)``: that
iterator resets its backoff on every successful handshake, whereas we need a state per attempt,
an optional retry budget, a wake-up for :meth:`FyersWebSocketManager.reconnect`, and a failure
that counts a connection which opened but never authenticated or never delivered data.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.frames import CloseCode

from livetrade.backoff import ExponentialBackoff
from livetrade.clock import Clock, WallClock
from livetrade.errors import (
    AuthError,
    FeedDisconnected,
    InvalidInput,
    LiveTradeError,
    ProtocolError,
)
from livetrade.events import Event as Hook  # codec.Event is a frame event
from livetrade.fyers.codec import (
    DEFAULT_CHANNEL,
    AuthResult,
    ControlResult,
    CustomMessage,
    DataCodec,
    Event,
    FrameIgnored,
    Tick,
    TopicInfo,
)
from livetrade.fyers.credentials import (
    DEFAULT_REST_URL,
    DEFAULT_WS_URL,
    quiet_ws_logger,
    token_claims,
)
from livetrade.fyers.rest import SymbolTokenClient, is_loopback
from livetrade.fyers.symbols import AccessTokenClaims, DataType, map_symbols, parse_symbol
from livetrade.model import PriceQuote, ns_to_datetime
from livetrade.money import from_paise

__all__ = [
    "MAX_FRAME_SIZE",
    "MAX_SYMBOLS",
    "REPORT_AFTER",
    "REPORT_EVERY_S",
    "DepthFn",
    "ExponentialBackoff",
    "FeedState",
    "FeedStatus",
    "FyersWebSocketManager",
    "StreamStats",
    "TickConverter",
    "TickHandler",
    "TickSink",
    "nse_market_open",
]

log = logging.getLogger("livetrade.fyers.stream")

_WS_LOG: Final = quiet_ws_logger("livetrade.fyers.websockets")

MAX_SYMBOLS: Final = 5000
"""Topics one data connection may carry (SDK check and Fyers docs, spec 1.10)."""

MAX_FRAME_SIZE: Final = 0xFFFF + 2
"""The largest valid data-socket message, 65,537 bytes: every frame starts with a u16 length
prefix counting the bytes after it (see ``_HEAD`` / ``_FEED_HEAD`` in the codec), so a frame is
at most 2 + 65,535 bytes. The websocket layer refuses anything larger before reading it (close
code 1009, then a reconnect), instead of buffering megabytes and blocking the loop to decode
them."""

REPORT_AFTER: Final = 3
"""Consecutive failed attempts before an outage is reported on ``on_error`` (one lost
connection that comes straight back is not news)."""

REPORT_EVERY_S: Final = 60.0
"""After the first report, an outage is reported again at most this often (the manager's clock)."""

FeedStatus: TypeAlias = Literal["connecting", "live", "reconnecting", "stalled", "failed", "closed"]

TickHandler: TypeAlias = Callable[[Tick, int], None]
"""``handler(tick, ts_ns)``: a decoded tick and the local receive time of its frame."""

QuoteCallback: TypeAlias = Callable[[PriceQuote], "Awaitable[None] | None"]

PushFn: TypeAlias = Callable[[str, int, int, int, int, int], None]
"""``LivePriceStream.push``'s shape: ``(symbol, bid, ask, last, volume, ts_ns)`` in paise."""

TickSink: TypeAlias = Callable[[list[Event], int], int]
"""``sink(events, ts_ns) -> ticks consumed``: a whole frame's events at once (the fast path)."""

DepthFn: TypeAlias = Callable[[str, "tuple[int | None, ...]", int, int], None]
"""``DepthStore.update``'s shape: ``(symbol, 30 raw values, ts_ns, price divisor)``."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """Where the data connection is. ``status``:

    * ``connecting`` -- first connection attempt (``attempt`` 0);
    * ``live`` -- authenticated and subscribed; ticks flow;
    * ``reconnecting`` -- the connection was lost (``reason``); attempt ``attempt`` (counted
      since the last connection that delivered data) is about to be made after the backoff
      delay; by default this goes on for as long as it takes;
    * ``stalled`` -- the watchdog saw no data for ``stall_timeout`` s; a reconnect follows;
    * ``failed`` -- stopped: the token was refused (or expired), or an explicit ``retries``
      budget ran out (``reason``); :meth:`FyersWebSocketManager.reconnect` starts it again;
    * ``closed`` -- not started yet, or closed by the user.

    ``last_tick_ns`` is the local receive time of the latest tick (epoch ns), if any.
    """

    status: FeedStatus
    attempt: int = 0
    reason: str | None = None
    last_tick_ns: int | None = None

    def __str__(self) -> str:
        text = self.status if not self.attempt else f"{self.status}({self.attempt})"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(slots=True)
class StreamStats:
    """Counters since the manager was created (read them; do not write)."""

    connects: int = 0  # connections that authenticated
    reconnects: int = 0  # of those, how many followed a lost connection
    frames: int = 0  # binary messages received
    ticks: int = 0  # decoded ticks delivered
    protocol_errors: int = 0  # malformed frames skipped
    last_protocol_error: str | None = None
    stalls: int = 0  # watchdog reconnects
    custom_messages: int = 0  # type-51 server notices
    subscribe_frames: int = 0  # subscribe requests sent
    unsubscribe_frames: int = 0


def nse_market_open(ts_ns: int) -> bool:
    """NSE cash-market hours: Monday-Friday 09:15-15:30 Asia/Kolkata (no holiday calendar)."""
    t = ns_to_datetime(ts_ns)
    if t.weekday() >= 5:
        return False
    minute = t.hour * 60 + t.minute
    return 555 <= minute < 930


def _always(ts_ns: int) -> bool:
    return True


# ---- ticks → paise ---------------------------------------------------------------------------

# Per topic: (the TopicInfo it was built for, bid pos, ask pos, volume pos, divisor); -1 = none.
_Plan: TypeAlias = tuple[TopicInfo, int, int, int, int]


class TickConverter:
    """``tick → (bid, ask, last, volume)`` in integer paise, or ``None`` (no LTP, depth topic).

    Positions come from the codec's layouts (``info.position``), cached per topic. Scrips give
    bid/ask/volume (a missing or zero bid/ask becomes the LTP); indexes and lite mode give
    bid = ask = LTP (in lite mode the other fields are frozen at the snapshot) and volume 0.
    Prices with the usual divisor 100 (precision 2, multiplier 1) are already paise; any other
    scale is converted exactly and rounded half-up to the paisa.
    """

    __slots__ = ("_plans", "lite")

    def __init__(self, lite: bool = False) -> None:
        self.lite = lite
        self._plans: dict[str, _Plan] = {}

    def _plan(self, info: TopicInfo) -> _Plan | None:
        if info.kind not in ("sf", "if"):
            return None
        if info.kind == "sf" and not self.lite:
            plan = (
                info,
                info.position("bid_price"),
                info.position("ask_price"),
                info.position("vol_traded_today"),
                info.divisor,
            )
        else:
            plan = (info, -1, -1, -1, info.divisor)
        self._plans[info.topic] = plan
        return plan

    def __call__(self, tick: Tick) -> tuple[int, int, int, int] | None:
        info = tick[0]
        plan = self._plans.get(info.topic)
        if plan is None or plan[0] is not info:
            plan = self._plan(info)
            if plan is None:
                return None
        values = tick[1]
        last = values[0]
        if last is None:
            return None
        _, bp, ap, vp, div = plan
        if bp < 0:
            if div != 100:
                last = _paise(last, div)
            return last, last, last, 0
        bid = values[bp]
        ask = values[ap]
        vol = values[vp]
        if div != 100:
            last = _paise(last, div)
            bid = None if bid is None else _paise(bid, div)
            ask = None if ask is None else _paise(ask, div)
        return (bid or last), (ask or last), last, (vol or 0)

    def push_ticks(
        self, events: list[Event], ts_ns: int, push: PushFn, depth: DepthFn | None = None
    ) -> int:
        """Push every mapped tick of ``events`` (``push(symbol, bid, ask, last, volume,
        ts_ns)``, paise) and hand depth records to ``depth`` (their merged values, unconverted);
        returns how many were taken. The hot path of the Fyers feed: the same conversion as
        ``__call__``, fused into one loop with no tuple per tick."""
        plans = self._plans
        n = 0
        for ev in events:
            if type(ev) is not Tick:
                continue
            symbol = ev[4]
            if symbol is None:
                continue
            info = ev[0]
            plan = plans.get(info.topic)
            if plan is None or plan[0] is not info:
                plan = self._plan(info)
                if plan is None:
                    if depth is not None and info.kind == "dp":
                        depth(symbol, ev[1], ts_ns, info.divisor)
                        n += 1
                    continue
            values = ev[1]
            last = values[0]
            if last is None:
                continue
            bp = plan[1]
            if plan[4] != 100:
                prices = self(ev)
                assert prices is not None
                push(symbol, prices[0], prices[1], prices[2], prices[3], ts_ns)
            elif bp < 0:
                push(symbol, last, last, last, 0, ts_ns)
            else:
                push(
                    symbol,
                    values[bp] or last,
                    values[plan[2]] or last,
                    last,
                    values[plan[3]] or 0,
                    ts_ns,
                )
            n += 1
        return n


def _paise(raw: int, divisor: int) -> int:
    """``raw / divisor`` rupees in paise, rounded half-up (exact integer arithmetic)."""
    return (raw * 200 + divisor) // (2 * divisor)


# ---- the connection --------------------------------------------------------------------------


class _Link:
    """One websocket connection, its codec and what was subscribed on it."""

    __slots__ = ("codec", "drop_reason", "last_data", "live", "subscribed", "tasks", "ws")

    def __init__(self, ws: ClientConnection, codec: DataCodec) -> None:
        self.ws = ws
        self.codec = codec
        self.subscribed: set[str] = set()
        self.live = False
        self.last_data = 0.0
        self.drop_reason: str | None = None
        self.tasks: list[asyncio.Task[None]] = []


class _Retry(Exception):
    """This connection is over; reconnect (``str`` is the reason)."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        sent = exc.sent
        if sent is not None and sent.code == CloseCode.MESSAGE_TOO_BIG:
            return (
                f"the server sent a message over {MAX_FRAME_SIZE:,} bytes, larger than any valid "
                "Fyers frame; refused unread"
            )
        if rcvd is None:
            return "connection lost (no close frame)"
        return _closed_text(rcvd.code, rcvd.reason)
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


class FyersWebSocketManager:
    """The Fyers market-data connection (original API, asyncio-native).

    ``FyersWebSocketManager(access_token, ws_url=..., rest_url=...)`` -- the URLs default to the
    real Fyers endpoints. Then ``await ws.connect()``, ``await ws.subscribe_to_symbol(symbol,
    callback)`` (callbacks get ``PriceQuote``s; sync or async), and ``await
    ws.start_price_stream()`` (returns after ``await ws.disconnect()``; raises ``AuthError`` or
    ``FeedDisconnected`` if the stream dies). After a failure, ``await ws.reconnect()`` starts
    it again and waits until it is live.

    Options (keyword-only): ``lite`` (LTP-only mode), ``retries`` (``None``, the default: never
    give up, reconnecting with capped backoff for as long as the server is away; an integer:
    consecutive failed reconnect attempts before ``failed``, kept for compatibility; the count
    restarts once a connection delivers data), ``backoff`` (``attempt → seconds``; default
    :class:`ExponentialBackoff`; public as ``.backoff``), ``ping_interval`` (application
    ping, s), ``stall_timeout`` (s without data while subscribed → reconnect; ``None`` disables),
    ``stall_hours`` (``ts_ns → bool``: when silence counts as a stall; default NSE hours, ``None``
    = always), ``auth_timeout``, ``open_timeout``, ``rest_timeout`` (s), ``ws_ping_interval``
    (WebSocket-level keepalive, s, ``None`` = off), ``clock`` (``now_ns()``: receive timestamps,
    token expiry, market hours, and the once-a-minute outage reports), ``max_bad_frames``
    (consecutive malformed frames tolerated before the connection is treated as broken).
    """

    def __init__(
        self,
        access_token: str,
        ws_url: str = DEFAULT_WS_URL,
        rest_url: str = DEFAULT_REST_URL,
        *,
        lite: bool = False,
        retries: int | None = None,
        backoff: Callable[[int], float] | None = None,
        ping_interval: float | None = 10.0,
        stall_timeout: float | None = 90.0,
        stall_hours: Callable[[int], bool] | None = nse_market_open,
        auth_timeout: float = 15.0,
        open_timeout: float = 10.0,
        rest_timeout: float = 10.0,
        ws_ping_interval: float | None = 20.0,
        channel: int = DEFAULT_CHANNEL,
        clock: Clock | None = None,
        max_bad_frames: int = 100,
        symbol_tokens: SymbolTokenClient | None = None,
    ) -> None:
        if not isinstance(access_token, str) or not access_token.strip():
            raise AuthError("FyersWebSocketManager needs a non-empty Fyers access token")
        if retries is not None and (
            isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 50
        ):
            raise InvalidInput(
                "retries", f"must be None (never give up) or an integer in 0..50, got {retries!r}"
            )
        for name, value in (("ping_interval", ping_interval), ("stall_timeout", stall_timeout)):
            if value is not None and not value > 0:
                raise InvalidInput(name, "must be positive (or None to disable)")
        if not ws_url.startswith(("ws://", "wss://")):
            raise InvalidInput("ws_url", f"must start with ws:// or wss://, got {ws_url!r}")
        self._token = access_token.strip()
        self.ws_url = ws_url
        self.rest_url = rest_url
        self.lite = lite
        self.retries = retries
        self.channel = channel
        self.ping_interval = ping_interval
        self.stall_timeout = stall_timeout
        self.auth_timeout = auth_timeout
        self.open_timeout = open_timeout
        self.ws_ping_interval = ws_ping_interval
        self.max_bad_frames = max_bad_frames
        self._stall_hours = stall_hours if stall_hours is not None else _always
        self.backoff: Callable[[int], float] = (
            backoff if backoff is not None else ExponentialBackoff()
        )
        self._clock: Clock = clock if clock is not None else WallClock()
        self._rest_timeout = rest_timeout
        self._own_rest = symbol_tokens is None
        self._rest = symbol_tokens or SymbolTokenClient(self._token, rest_url, timeout=rest_timeout)
        self.converter = TickConverter(lite)
        self.stats = StreamStats()
        # one event style (livetrade.events): manager.on_state += handler (append works too)
        self.on_state = Hook("Fyers feed state")
        self.on_error = Hook("error")
        self._topics: dict[str, str] = {}  # desired subscriptions: topic → symbol
        self._symbol_topic: dict[str, str] = {}  # symbol → topic
        self._depth_topic: dict[str, str] = {}  # symbol → its dp| topic, if depth is wanted
        self._fytokens: dict[str, str] = {}  # symbol-token answers, kept across reconnects
        self._tick_handlers: list[TickHandler] = []
        self._sink: TickSink | None = None
        self._callbacks: list[QuoteCallback] = []
        self._symbol_callbacks: dict[str, list[QuoteCallback]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._status: FeedStatus = "closed"
        self._attempt = 0
        self._reason: str | None = "not started"
        self._last_tick_ns: int | None = None
        self._link: _Link | None = None
        self._runner: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._failure: LiveTradeError | None = None
        self._closing = False
        self._healthy = False
        self._lookup_lock: asyncio.Lock | None = None
        self._wake = asyncio.Event()  # set by reconnect(): skip the rest of a backoff delay
        self._live_waiters: list[asyncio.Future[None]] = []
        self._last_report_ns: int | None = None  # the latest outage report (clock ns)
        self._down_since_ns: int | None = None  # when the current outage began (clock ns)

    def __repr__(self) -> str:
        return (
            f"FyersWebSocketManager(ws_url={self.ws_url!r}, state={self.state}, "
            f"symbols={len(self._topics)})"
        )

    # ---- state -------------------------------------------------------------------------------

    @property
    def state(self) -> FeedState:
        return FeedState(self._status, self._attempt, self._reason, self._last_tick_ns)

    @property
    def failure(self) -> LiveTradeError | None:
        """Why the manager stopped (``AuthError``, or ``FeedDisconnected`` when an explicit
        ``retries`` budget ran out), while ``failed``; ``None`` otherwise."""
        return self._failure if self._status == "failed" else None

    @property
    def connected(self) -> bool:
        """True while authenticated and live."""
        return self._status == "live"

    @property
    def symbols(self) -> list[str]:
        """Subscribed Fyers symbols, in subscription order."""
        return list(self._symbol_topic)

    @property
    def topics(self) -> dict[str, str]:
        """Subscribed HSM topics → Fyers symbol (a copy)."""
        return dict(self._topics)

    def _set_state(self, status: FeedStatus, attempt: int = 0, reason: str | None = None) -> None:
        if (status, attempt, reason) == (self._status, self._attempt, self._reason):
            return
        self._status, self._attempt, self._reason = status, attempt, reason
        if status == "live":  # (the report rate limit resets only once data flows: _run)
            self._down_since_ns = None
        elif status in ("reconnecting", "stalled") and self._down_since_ns is None:
            self._down_since_ns = self._clock.now_ns()
        if status in ("live", "failed", "closed") and self._live_waiters:
            self._settle_waiters(status)
        state = self.state
        level = logging.WARNING if status in ("reconnecting", "stalled", "failed") else logging.INFO
        log.log(level, "Fyers data socket %s", state)
        self.on_state.emit(state)  # a failing handler is logged, never raised into the feed

    def _settle_waiters(self, status: FeedStatus) -> None:
        waiters, self._live_waiters = self._live_waiters, []
        for fut in waiters:
            if fut.done():
                continue
            if status == "live":
                fut.set_result(None)
            else:
                fut.set_exception(
                    self._failure
                    if status == "failed" and self._failure is not None
                    else FeedDisconnected(f"the Fyers data socket was {status}")
                )
                fut.exception()  # retrieved: the waiter may have timed out already

    def _report(self, exc: BaseException) -> None:
        self.on_error.emit(exc)

    # ---- callbacks ---------------------------------------------------------------------------

    def register_callback(self, callback: QuoteCallback) -> None:
        """Call ``callback(quote)`` for every quote of every subscribed symbol."""
        self._callbacks.append(callback)

    def add_tick_handler(self, handler: TickHandler) -> None:
        """Call ``handler(tick, ts_ns)`` synchronously for every decoded tick (the fast path)."""
        self._tick_handlers.append(handler)

    def remove_tick_handler(self, handler: TickHandler) -> None:
        if handler in self._tick_handlers:
            self._tick_handlers.remove(handler)

    # ---- lifecycle ---------------------------------------------------------------------------

    def _claims(self) -> AccessTokenClaims:
        claims = token_claims(self._token)
        now_s = self._clock.now_ns() // 1_000_000_000
        if claims.expired(now_s):
            when = ns_to_datetime(claims.exp * 1_000_000_000).strftime("%Y-%m-%d %H:%M %Z")
            raise AuthError(
                f"the Fyers access token expired at {when}; log in again for a fresh token"
            )
        return claims

    async def connect(self) -> None:
        """Connect and authenticate; returns once live. Subscriptions made before are sent.

        Raises ``AuthError`` (expired, malformed or refused token -- no retries) or
        ``FeedDisconnected`` (an explicit ``retries`` budget ran out).

        With the default ``retries=None`` the manager never gives up, so when the very first
        connection fails :data:`REPORT_AFTER` times in a row this raises ``FeedDisconnected``
        (rather than hanging) while the manager keeps retrying in the background: wait again
        with :meth:`reconnect`, or stop it with :meth:`disconnect`.
        """
        if self._runner is None or self._runner.done():
            self._start_runner()
        first = self._first
        assert first is not None
        await asyncio.shield(first)

    def _start_runner(self) -> None:
        try:
            self._claims()  # fail fast, before any socket
        except AuthError as exc:
            self._failure = exc
            self._set_state("failed", 0, str(exc))
            raise
        self._closing = False
        self._failure = None
        loop = asyncio.get_running_loop()
        self._first = loop.create_future()
        self._set_state("connecting", 0, None)
        self._runner = loop.create_task(self._run(), name="fyers-data-socket")

    async def reconnect(self, timeout: float | None = 30.0) -> None:
        """Bring the feed back and wait until it is live (returns at once if it is).

        A ``failed`` (or closed) manager starts again, subscriptions intact; one that is
        ``reconnecting`` skips the rest of its backoff delay and tries now. Raises ``AuthError``
        if the token is refused (again) -- log in, then :meth:`set_access_token` -- and
        ``FeedDisconnected`` naming the state and the last error if it is not live within
        ``timeout`` seconds (``None``: no limit); it then keeps retrying in the background.
        """
        if self._status == "live":
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._live_waiters.append(waiter)
        try:
            if self._runner is None or self._runner.done():
                self._start_runner()
            else:
                self._wake.set()
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise FeedDisconnected(
                f"the Fyers data socket is not live after {timeout:g} s (state {self.state}); "
                "it keeps retrying in the background"
            ) from None
        finally:
            if waiter in self._live_waiters:
                self._live_waiters.remove(waiter)

    async def set_access_token(self, access_token: str) -> None:
        """Use a fresh token from the next connection on (after a daily login, when the old
        one was refused). The current connection, if any, is left alone."""
        if not isinstance(access_token, str) or not access_token.strip():
            raise AuthError("set_access_token needs a non-empty Fyers access token")
        token = access_token.strip()
        token_claims(token)  # a malformed token raises AuthError here, not at the next connect
        if token == self._token:
            return
        self._token = token
        if self._own_rest:
            old = self._rest
            self._rest = SymbolTokenClient(token, self.rest_url, timeout=self._rest_timeout)
            await old.aclose()

    async def start_price_stream(self) -> None:
        """Stream until :meth:`disconnect` (connecting first if needed).

        Raises the failure that ended the stream (``AuthError`` or ``FeedDisconnected``).
        Cancelling this call disconnects.
        """
        if self._runner is None or self._runner.done():
            await self.connect()
        runner = self._runner
        assert runner is not None
        try:
            await asyncio.wait({runner})  # never raises what ends the runner
        except asyncio.CancelledError:
            if not runner.done():
                await self.disconnect()
            raise
        if self._failure is not None:
            raise self._failure

    async def disconnect(self) -> None:
        """Close the connection and stop every task this manager started."""
        self._closing = True
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        for task in tuple(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._rest.aclose()
        first = self._first
        if first is not None and not first.done():
            first.set_exception(FeedDisconnected("the Fyers data socket was closed"))
            first.exception()  # retrieved: nobody may be waiting
        self._set_state("closed", 0, None)

    async def __aenter__(self) -> FyersWebSocketManager:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    def _fail(self, exc: LiveTradeError) -> None:
        self._failure = exc
        first = self._first
        if first is not None and not first.done():
            first.set_exception(exc)
            first.exception()  # a background failure must not warn "never retrieved"
        self._set_state("failed", self._attempt, str(exc))
        self._report(exc)

    async def _run(self) -> None:
        attempt = 0
        while True:
            reason: str
            self._wake.clear()  # a reconnect() from here on cuts the next delay short
            try:
                reason = await self._session()
            except AuthError as exc:
                self._fail(exc)
                return
            except InvalidURI as exc:
                self._fail(FeedDisconnected(f"the Fyers data socket URL is invalid: {exc}"))
                return
            except _Retry as exc:
                reason = str(exc)
            except Exception as exc:  # OSError, handshake errors, anything unexpected
                reason = _describe(exc)
                log.debug("data socket error", exc_info=True)
            if self._closing:
                return
            if self._healthy:
                attempt = 0
                self._last_report_ns = None  # data flowed: the next outage is news again
            attempt += 1
            if self.retries is not None and attempt > self.retries:
                self._fail(
                    FeedDisconnected(
                        f"Fyers data socket failed after {self.retries} reconnect attempts; "
                        f"last error: {reason}"
                    )
                )
                return
            self._set_state("reconnecting", attempt, reason)
            self._outage(attempt, reason)
            await self._pause(self.backoff(attempt))

    def _outage(self, attempt: int, reason: str) -> None:
        """Report a lasting outage: after :data:`REPORT_AFTER` failed attempts, then at most
        every :data:`REPORT_EVERY_S` seconds of the clock. Also ends a first :meth:`connect`
        that would otherwise wait for ever (the retries go on)."""
        if attempt < REPORT_AFTER:
            return
        first = self._first
        if self.retries is None and first is not None and not first.done():
            first.set_exception(
                FeedDisconnected(
                    f"cannot connect to the Fyers data socket ({attempt} attempts; last error: "
                    f"{reason}); it keeps retrying in the background: await reconnect() to "
                    "wait for it, or disconnect() to stop"
                )
            )
            first.exception()  # retrieved: nobody may be waiting
        now = self._clock.now_ns()
        last = self._last_report_ns
        if last is not None and now - last < REPORT_EVERY_S * 1e9:
            return
        self._last_report_ns = now
        since = self._down_since_ns
        down = "" if since is None else f" for {max(0, now - since) / 1e9:.0f} s"
        self._report(
            FeedDisconnected(
                f"the Fyers data socket has been down{down}: {attempt} reconnect attempts "
                f"failed (last error: {reason}); still reconnecting"
            )
        )

    async def _pause(self, delay: float) -> None:
        """The backoff delay, cut short by :meth:`reconnect`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, delay)):
                await self._wake.wait()

    async def _open(self) -> ClientConnection:
        try:
            # No additional_headers: an Authorization header makes the live gateway mute (1.1).
            return await ws_connect(
                self.ws_url,
                open_timeout=self.open_timeout,
                ping_interval=self.ws_ping_interval,
                ping_timeout=self.ws_ping_interval,
                close_timeout=2.0,
                compression=None,
                max_size=MAX_FRAME_SIZE,
                max_queue=64,
                proxy=None if is_loopback(self.ws_url) else True,
                logger=_WS_LOG,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthError(
                    f"the Fyers data socket refused the access token (HTTP {status}); "
                    "log in again for a fresh token"
                ) from None
            raise _Retry(f"data socket handshake refused (HTTP {status})") from None

    async def _session(self) -> str:
        """One connection from open to close; returns why it ended (raises for failures)."""
        claims = self._claims()
        self._healthy = False
        ws = await self._open()
        link = _Link(ws, DataCodec(symbols=self._topics, lite=self.lite))
        self._link = link
        clean = False
        try:
            codec = link.codec
            codec.authenticate(claims.hsm_key)
            codec.set_mode(self.lite, self.channel)
            await self._flush(link)
            await self._await_auth(link)
            link.live = True  # from here a concurrent subscribe() syncs this link itself
            self._sync(link)
            await self._flush(link)
            link.last_data = asyncio.get_running_loop().time()
            if self.stats.connects:
                self.stats.reconnects += 1
            self.stats.connects += 1
            if not self._topics:
                self._healthy = True
            self._set_state("live", 0, None)
            first = self._first
            if first is not None and not first.done():
                first.set_result(None)
            if self.ping_interval is not None:
                link.tasks.append(asyncio.create_task(self._pinger(link)))
            if self.stall_timeout is not None:
                link.tasks.append(asyncio.create_task(self._watchdog(link)))
            try:
                await self._read(link)
            except ConnectionClosed as exc:
                return link.drop_reason or _describe(exc)
            clean = link.drop_reason is None
            return link.drop_reason or _describe_close(ws)
        finally:
            self._link = None
            link.live = False
            for task in link.tasks:
                task.cancel()
            if link.tasks:
                await asyncio.gather(*link.tasks, return_exceptions=True)
            if clean or self._closing:
                await _close(ws)  # a close handshake, bounded by close_timeout
            else:
                ws.transport.abort()  # a broken or stalled peer may never answer one

    async def _await_auth(self, link: _Link) -> None:
        try:
            async with asyncio.timeout(self.auth_timeout):
                while True:
                    msg = await link.ws.recv()
                    for event in self._decode(link, msg):
                        if isinstance(event, AuthResult):
                            if not event.ok:
                                raise AuthError(
                                    f"Fyers refused the access token (auth status "
                                    f"{event.status!r}): it is invalid or expired; log in "
                                    "again for a fresh token"
                                )
                            return
                        self._control(event)
        except TimeoutError:
            raise _Retry(
                f"no auth reply within {self.auth_timeout:g} s (the live gateway stays silent "
                "when an Authorization header is sent on the upgrade; we send none)"
            ) from None

    def _decode(self, link: _Link, msg: str | bytes) -> list[Event]:
        try:
            link.codec.receive_data(msg)  # type: ignore[arg-type]  # str → ProtocolError
        except ProtocolError as exc:
            self._bad_frame(exc)
            return []
        return link.codec.events_received()

    def _bad_frame(self, exc: ProtocolError) -> None:
        stats = self.stats
        stats.protocol_errors += 1
        stats.last_protocol_error = str(exc)
        n = stats.protocol_errors
        if n <= 10 or n % 1000 == 0:
            log.warning("skipped a malformed Fyers frame (%d so far): %s", n, exc)
        self._report(exc)

    async def _read(self, link: _Link) -> None:
        """The hot loop: decode each message, hand ticks to the handlers, send acks."""
        ws = link.ws
        codec = link.codec
        receive = codec.receive_data
        events_received = codec.events_received
        now_ns = self._clock.now_ns
        loop_time = asyncio.get_running_loop().time
        stats = self.stats
        dispatch = self._dispatch
        bad_in_row = 0
        async for msg in ws:
            try:
                receive(msg)  # type: ignore[arg-type]  # a text frame raises ProtocolError
            except ProtocolError as exc:
                self._bad_frame(exc)
                bad_in_row += 1
                if bad_in_row >= self.max_bad_frames:
                    link.drop_reason = f"{bad_in_row} malformed frames in a row"
                    return
                continue
            bad_in_row = 0
            stats.frames += 1
            if msg[2] == 6:  # a datafeed frame: the connection is delivering
                link.last_data = loop_time()
                self._healthy = True
            events = events_received()
            if events:
                dispatch(events, now_ns())
            if codec.ack_count:
                await self._flush(link)

    def set_sink(self, sink: TickSink | None) -> None:
        """Hand every frame's events to ``sink(events, ts_ns)`` first; it returns how many ticks
        it consumed (``FyersFeed`` pushes them into its stream this way). One sink at most."""
        self._sink = sink

    def _dispatch(self, events: list[Event], ts: int) -> None:
        sink = self._sink
        handlers = self._tick_handlers
        quotes = bool(self._callbacks or self._symbol_callbacks)
        if sink is not None:
            try:
                n = sink(events, ts)
            except Exception as exc:
                log.exception("tick sink failed")
                self._report(exc)
                n = 0
            if n:
                self.stats.ticks += n
                self._last_tick_ns = ts
            if n == len(events) and not handlers and not quotes:
                return  # every event was a tick the sink took: nothing else to do
        n = 0
        for ev in events:
            if type(ev) is Tick:
                if ev[4] is None:  # a topic we did not subscribe
                    continue
                n += 1
                for handler in handlers:
                    try:
                        handler(ev, ts)
                    except Exception as exc:
                        log.exception("tick handler failed")
                        self._report(exc)
                if quotes:
                    self._quote(ev, ts)
            else:
                self._control(ev)
        if n and sink is None:
            self.stats.ticks += n
            self._last_tick_ns = ts

    def _quote(self, tick: Tick, ts: int) -> None:
        symbol = tick.symbol
        assert symbol is not None
        own = self._symbol_callbacks.get(symbol)
        if not own and not self._callbacks:
            return
        prices = self.converter(tick)
        if prices is None:
            return
        bid, ask, last, volume = prices
        quote = PriceQuote(
            symbol, from_paise(bid), from_paise(ask), from_paise(last), volume, ns_to_datetime(ts)
        )
        for cb in (*(own or ()), *self._callbacks):
            try:
                res = cb(quote)
                if inspect.isawaitable(res):
                    task = asyncio.ensure_future(res)
                    self._tasks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception as exc:
                log.exception("quote callback failed")
                self._report(exc)

    def _callback_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            log.error("quote callback failed: %r", exc)
            self._report(exc)

    def _control(self, event: Event) -> None:
        if isinstance(event, ControlResult):
            if not event.ok:
                err = LiveTradeError(
                    f"Fyers refused a {event.request.name.lower()} request "
                    f"(status {event.status!r})"
                )
                log.error("%s", err)
                self._report(err)
        elif isinstance(event, CustomMessage):
            self.stats.custom_messages += 1
            hint = " (symbol limit of the plan exceeded)" if event.code == 51001 else ""
            err = LiveTradeError(
                f"Fyers notice {event.code} on {event.category}: {event.text}{hint}"
            )
            log.error("%s", err)
            self._report(err)
        elif isinstance(event, AuthResult):
            log.debug("unexpected auth reply on a live connection (ok=%s)", event.ok)
        elif isinstance(event, FrameIgnored):
            log.debug("ignored server message type %d (%d bytes)", event.response_type, event.size)

    async def _flush(self, link: _Link) -> None:
        for frame in link.codec.data_to_send():
            await link.ws.send(frame)

    async def _pinger(self, link: _Link) -> None:
        interval = self.ping_interval
        assert interval is not None
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(interval)
                link.codec.ping()
                await self._flush(link)

    async def _watchdog(self, link: _Link) -> None:
        timeout = self.stall_timeout
        assert timeout is not None
        loop = asyncio.get_running_loop()
        period = max(0.005, timeout / 4)
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            if not link.subscribed or not self._stall_hours(self._clock.now_ns()):
                link.last_data = now  # silence is expected: nothing subscribed / market shut
                continue
            silent = now - link.last_data
            if silent >= timeout:
                self.stats.stalls += 1
                reason = f"no data for {silent:.3g} s while subscribed"
                link.drop_reason = f"stalled: {reason}"
                self._set_state("stalled", 0, reason)
                link.ws.transport.abort()  # a stalled peer may never finish a close handshake
                return

    # ---- subscriptions -----------------------------------------------------------------------

    def _sync(self, link: _Link) -> None:
        """Make the link's subscriptions equal the desired set: each topic sent exactly once.

        Synchronous (no await between the diff and queueing), so concurrent subscribe calls and
        a reconnect's resubscription can never send a topic twice or miss one.
        """
        codec = link.codec
        have = link.subscribed
        drop = [t for t in have if t not in self._topics]
        add = [t for t in self._topics if t not in have]
        if drop:
            codec.unsubscribe(drop, self.channel)
            codec.unmap_symbols(drop)
            have.difference_update(drop)
            self.stats.unsubscribe_frames += 1
        if add:
            codec.map_symbols({t: self._topics[t] for t in add})
            codec.subscribe(add, self.channel)
            have.update(add)
            self.stats.subscribe_frames += 1

    async def _sync_live(self) -> None:
        link = self._link
        if link is None or not link.live:
            return  # the next connection subscribes everything
        self._sync(link)
        with contextlib.suppress(ConnectionClosed):  # the reconnect resubscribes
            await self._flush(link)

    async def subscribe(
        self,
        symbols: Iterable[str],
        callback: QuoteCallback | None = None,
        *,
        depth: bool = False,
    ) -> list[str]:
        """Subscribe several symbols at once (one symbol-token call, one subscribe frame).

        All or nothing: an unknown or malformed symbol raises ``InvalidInput`` naming it and
        nothing is subscribed. More than 5,000 topics in total raises before anything is
        sent. Works before :meth:`connect` too (sent when the connection is live). Returns the
        symbols newly subscribed. ``depth=True`` also subscribes each scrip's five-level depth
        (``dp|`` topic, one more topic per symbol; indexes have none and are skipped).
        """
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = list(dict.fromkeys(symbols))
        for s in wanted:
            parse_symbol(s)
        new = [s for s in wanted if s not in self._symbol_topic]
        self._check_limit(len(new))
        if new:
            if self._lookup_lock is None:
                self._lookup_lock = asyncio.Lock()
            async with self._lookup_lock:
                new = [s for s in new if s not in self._symbol_topic]
                self._check_limit(len(new))
                await self._add(new)
        if depth:
            self._add_depth(wanted)
        if callback is not None:
            for s in wanted:
                self._symbol_callbacks.setdefault(s, []).append(callback)
        await self._sync_live()
        return new

    def _check_limit(self, extra: int) -> None:
        total = len(self._topics) + extra
        if total > MAX_SYMBOLS:
            raise InvalidInput(
                "symbols",
                f"{total} symbols requested; one Fyers data connection carries at most "
                f"{MAX_SYMBOLS} (nothing was sent)",
            )

    async def _add(self, new: list[str]) -> None:
        missing = [s for s in new if s not in self._fytokens]
        invalid: list[str] = []
        if missing:
            answer = await self._rest.lookup(missing)
            self._fytokens.update(answer.valid)
            invalid = [s for s in missing if s not in answer.valid]
        mapped = map_symbols({s: self._fytokens[s] for s in new if s in self._fytokens})
        problems = [f"{s} (unknown to Fyers)" for s in invalid]
        problems += [f"{s} ({why})" for s, why in mapped.rejected.items()]
        problems += [
            f"{s} (same topic {t} as {self._topics[t]})"
            for t, s in mapped.topics.items()
            if t in self._topics
        ]
        if problems:
            raise InvalidInput("symbols", "cannot subscribe: " + "; ".join(problems))
        for topic, symbol in mapped.topics.items():
            self._topics[topic] = symbol
            self._symbol_topic[symbol] = topic

    def _add_depth(self, symbols: list[str]) -> None:
        """The depth topics of ``symbols`` (already subscribed, so their fytokens are known)."""
        wanted = {
            s: self._fytokens[s]
            for s in symbols
            if s not in self._depth_topic and s in self._fytokens and not parse_symbol(s).is_index
        }
        mapped = map_symbols(wanted, DataType.DEPTH)
        self._check_limit(len(mapped.topics))
        for topic, symbol in mapped.topics.items():
            self._topics[topic] = symbol
            self._depth_topic[symbol] = topic

    def depth_symbols(self) -> list[str]:
        """The symbols whose depth is subscribed."""
        return list(self._depth_topic)

    def latest(self, symbol: str, *, depth: bool = False) -> Tick | None:
        """The current merged state of ``symbol``'s quote (or depth) topic on the live
        connection, as the codec keeps it (``None`` before its snapshot). Read on demand:
        nothing is copied per tick."""
        topic = (self._depth_topic if depth else self._symbol_topic).get(symbol)
        link = self._link
        if topic is None or link is None:
            return None
        return link.codec.latest(topic)

    async def unsubscribe(self, symbols: Iterable[str]) -> list[str]:
        """Unsubscribe symbols (unknown ones are ignored); returns those removed."""
        if isinstance(symbols, str):
            symbols = [symbols]
        removed = []
        for s in dict.fromkeys(symbols):
            topic = self._symbol_topic.pop(s, None)
            self._symbol_callbacks.pop(s, None)
            depth_topic = self._depth_topic.pop(s, None)
            if depth_topic is not None:
                del self._topics[depth_topic]
            if topic is not None:
                del self._topics[topic]
                removed.append(s)
        if removed:
            await self._sync_live()
        return removed

    async def subscribe_to_symbol(self, symbol: str, callback: QuoteCallback | None = None) -> None:
        """Subscribe one symbol; ``callback(quote)`` gets its ``PriceQuote``s (sync or async)."""
        await self.subscribe([symbol], callback)

    async def unsubscribe_from_symbol(self, symbol: str) -> None:
        await self.unsubscribe([symbol])


def _describe_close(ws: ClientConnection) -> str:
    code = ws.close_code
    if code is None:
        return "connection lost"
    return _closed_text(code, ws.close_reason or "")


def _closed_text(code: int, reason: str) -> str:
    return f"server closed the connection (code {code}{f': {reason}' if reason else ''})"


async def _close(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await ws.close()
