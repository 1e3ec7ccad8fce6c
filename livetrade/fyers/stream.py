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

Built in layers, one module each (every name importable from here as before):
:mod:`~livetrade.fyers.stream_delivery` (sink, events), :mod:`~livetrade.fyers.stream_subscriptions`
(topics, symbol tokens) and this one (connection, reconnects, watchdog, state); see also
:mod:`~livetrade.fyers.tick_converter` and :mod:`~livetrade.fyers.feed_state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final

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
    DataCodec,
    Event,
)
from livetrade.fyers.credentials import (
    DEFAULT_REST_URL,
    DEFAULT_WS_URL,
    quiet_ws_logger,
    token_claims,
)
from livetrade.fyers.feed_state import FeedState, FeedStatus, StreamStats, _always, nse_market_open
from livetrade.fyers.rest import SymbolTokenClient, is_loopback
from livetrade.fyers.stream_delivery import TickHandler, TickSink
from livetrade.fyers.stream_subscriptions import MAX_SYMBOLS, _Link, _Subscriptions
from livetrade.fyers.symbols import AccessTokenClaims
from livetrade.fyers.tick_converter import DepthFn, TickConverter
from livetrade.model import ns_to_datetime

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


class FyersWebSocketManager(_Subscriptions):
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
        self.tick_event = Hook("Fyers tick", self._report)  # handler(tick, ts_ns)
        self.quote_event = Hook("Fyers quote", self._report)  # callback(quote), sync or async
        self._sink: TickSink | None = None
        self._symbol_callbacks: dict[str, Hook] = {}
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
