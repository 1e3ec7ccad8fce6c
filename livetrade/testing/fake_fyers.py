"""A local fake Fyers server on loopback: the HSM data socket, the symbol-token call and the
trading REST API (orders, books, positions, funds), all priced by one simulated market.

It speaks the real wire protocol through the same codec the client uses (server-side encoders
:class:`~livetrade.fyers.codec.AuthReply`, :class:`~livetrade.fyers.codec.StatusReply`,
:class:`~livetrade.fyers.codec.DataFeed`... and :func:`~livetrade.fyers.codec.parse_client_frame`)
and follows the fake-server checklist of the protocol notes (spec 1.12): client length prefixes
ignored, pings accepted before auth, the ``hsm_key`` checked, every request answered with ``K``,
acks accepted any time, a u32 message number in every datafeed frame, a snapshot per topic
before any update, the sentinel for "unchanged", topic ids unique and stable, silence when the
upgrade carried an ``Authorization`` header, custom message 51001 past the topic limit.

Prices come from :class:`~livetrade.feeds.simulated.SimulatedMarket` (seeded random walk), one
step every ``tick_interval`` seconds (or call :meth:`FakeFyersServer.step` yourself with
``tick_interval=None``). Fault injection for tests: :meth:`~FakeFyersServer.drop_connections`,
:meth:`~FakeFyersServer.stall` / :meth:`~FakeFyersServer.resume`,
:meth:`~FakeFyersServer.send_garbage`, :meth:`~FakeFyersServer.expire_token`,
``reject_token`` and ``delay``.

    async with FakeFyersServer(seed=1) as fake:
        ws = FyersWebSocketManager(fake.config.access_token, ws_url=fake.config.ws_url,
                                   rest_url=fake.config.rest_url)

The REST endpoints are served by a tiny HTTP/1.1 handler on a second port (the ``websockets``
server only accepts GET upgrades): ``fake.config.rest_url`` (``/data``, symbol-token) and
``fake.config.api_url`` (``/api/v3``, the trading API). The trading API is
:attr:`FakeFyersServer.orders`, a :class:`~livetrade.testing.fake_rest.FakeFyersRest` whose
prices are the simulated last traded prices: resting limit and stop orders fill as the market
steps or :meth:`~FakeFyersServer.push_quote` moves a price, and its fault injection
(``fake.orders.rate_limit_next()``...) works over this socket too::

    async with FakeFyersServer(tick_interval=None) as fake:
        client = FyersRestClient(fake.config.access_token, base_url=fake.config.api_url)
        ack = await client.place_order("NSE:SBIN-EQ", "BUY", 1, "LIMIT", limit_price="795")
        await fake.push_quote("NSE:SBIN-EQ", 79_400)  # paise: the limit order fills
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any, Final

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from livetrade.clock import Clock, WallClock
from livetrade.errors import InvalidInput, ProtocolError
from livetrade.feeds.sim_history import SimHistory
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, TICK, SimulatedMarket
from livetrade.fyers.codec import (
    SENTINEL,
    AckRequest,
    AuthReply,
    AuthRequest,
    CustomMessage,
    DataFeed,
    FeedRecord,
    LiteRecord,
    ModeRequest,
    PauseRequest,
    PingRequest,
    ResponseType,
    ResumeRequest,
    SnapshotRecord,
    StatusReply,
    SubscribeRequest,
    UnsubscribeRequest,
    UpdateRecord,
    parse_client_frame,
)
from livetrade.fyers.credentials import FyersConfig, quiet_ws_logger
from livetrade.fyers.symbols import mint_fake_token, parse_symbol, split_access_token, topic_for
from livetrade.money import from_paise, to_paise
from livetrade.prices import LivePriceStream
from livetrade.testing.fake_data import DATA_PATHS, DepthTopic, FakeMarketData, ist_date
from livetrade.testing.fake_rest import FakeFyersRest, FakeReply

__all__ = ["GARBAGE_FRAMES", "FakeConnection", "FakeFyersServer", "main"]

log = logging.getLogger("livetrade.fyers.fake")

DEFAULT_APP_ID: Final = "ABCDEFGHIJ-100"  # 14 characters: the SDK's token decoder accepts it
HSM_PATH: Final = "/hsm/v1-5/prod"
ORDER_WS_PATH: Final = "/trade/v3"
REST_BASE: Final = "/data"
API_BASE: Final = "/api/v3"

# Real exchange tokens of the default simulated symbols (fytoken = 1010 + 000000 + token).
_KNOWN_TOKENS: Final[Mapping[str, str]] = {
    "NSE:SBIN-EQ": "10100000003045",
    "NSE:RELIANCE-EQ": "10100000002885",
    "NSE:INFY-EQ": "10100000001594",
    "NSE:TCS-EQ": "101000000011536",
    "NSE:HDFCBANK-EQ": "10100000001333",
    "NSE:NIFTY50-INDEX": "101000000026000",
}

GARBAGE_FRAMES: Final[tuple[bytes, ...]] = (
    b"",  # empty message
    b"\x00",  # shorter than any header
    b"\x00\x10\x06\x00\x00",  # datafeed cut inside its header
    b"\x00\x0c\x06\x00\x00\x00\x01\x00\x01\x99\x00\x01\x00",  # unknown record kind 0x99
    DataFeed(1, (UpdateRecord(65_000, (1, 2, 3)),)).serialize(),  # update for an unknown topic
    DataFeed(1, (LiteRecord(65_001, 5),)).serialize()[:-2],  # truncated lite record
    b"\x00\x06\x04\x01\x01\x00\x09K",  # status reply whose field runs past the frame
    b"\x00\x05\x01\x02\x01\x00\x01",  # auth reply cut short
)
"""Malformed server frames :meth:`FakeFyersServer.send_garbage` sends by default: every one
makes the client codec raise ``ProtocolError`` (none of them parses as anything)."""

MAX_BODY: Final = 1 << 20
"""Largest REST request body the fake reads (bytes); a larger one closes the connection."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Tape(LivePriceStream):
    """Where the simulated market writes: collects the step's quotes instead of storing them."""

    def __init__(self) -> None:
        super().__init__(history=1)
        self.rows: list[tuple[str, int, int, int, int, int]] = []

    def push(
        self,
        symbol: str,
        bid: int,
        ask: int,
        last: int,
        volume: int,
        ts_ns: int,
        quote: object = None,
    ) -> None:
        self.rows.append((symbol, bid, ask, last, volume, ts_ns))


class _Instrument:
    """One symbol the fake knows: its fytoken, topic, topic id and current wire values."""

    __slots__ = (
        "depth",
        "exchange",
        "exchange_token",
        "fytoken",
        "kind",
        "prev",
        "symbol",
        "topic",
        "topic_id",
        "trading_symbol",
        "turnover",
        "values",
    )

    def __init__(
        self, symbol: str, fytoken: str, topic: str, topic_id: int, start: int, close: int
    ) -> None:
        self.symbol = symbol
        self.depth: DepthTopic | None = None  # its dp| topic, once someone subscribed it
        self.fytoken = fytoken
        self.topic = topic
        self.topic_id = topic_id
        self.kind = topic.partition("|")[0]
        parsed = parse_symbol(symbol)
        self.exchange = parsed.exchange
        self.exchange_token = fytoken[10:]
        self.trading_symbol = parsed.name
        self.turnover = 0
        if self.kind == "if":
            # ltp, prev_close, exch_feed_time, high, low, open
            self.values: list[int] = [start, close, 0, start, start, start]
        else:
            band = max(TICK, close // 5 // TICK * TICK)
            self.values = [
                start,  # ltp
                0,  # vol_traded_today
                0,  # last_traded_time
                0,  # exch_feed_time
                0,  # bid_size
                0,  # ask_size
                start,  # bid_price
                start,  # ask_price
                0,  # last_traded_qty
                0,  # tot_buy_qty
                0,  # tot_sell_qty
                start,  # avg_trade_price
                0,  # OI (none in the cash market)
                start,  # low_price
                start,  # high_price
                close * 5 // 4 // TICK * TICK,  # Yhigh (52-week high; the SDK drops it)
                close * 3 // 4 // TICK * TICK,  # Ylow
                close - band,  # lower_ckt
                close + band,  # upper_ckt
                start,  # open_price
                close,  # prev_close_price
            ]
        self.prev: tuple[int, ...] = tuple(self.values)

    def apply(self, bid: int, ask: int, last: int, volume: int, ts_ns: int) -> None:
        """Move to a new quote (called once per market step)."""
        v = self.values
        self.prev = tuple(v)
        secs = ts_ns // 1_000_000_000
        if self.kind == "if":
            v[0] = last
            v[2] = secs
            v[3] = max(v[3], last)
            v[4] = min(v[4], last)
            return
        traded = max(0, volume - v[1])
        self.turnover += traded * last
        v[0] = last
        v[1] = volume
        v[2] = secs
        v[3] = secs
        v[4] = 5 + (last // TICK) % 37 * 25  # deterministic, plausible sizes
        v[5] = 5 + (bid // TICK) % 41 * 25
        v[6] = bid
        v[7] = ask
        v[8] = traded
        v[9] += traded // 2 + 100
        v[10] += traded - traded // 2 + 100
        if volume:
            v[11] = self.turnover // volume
        v[13] = min(v[13], last)
        v[14] = max(v[14], last)

    def snapshot(self) -> SnapshotRecord:
        return SnapshotRecord(
            self.topic_id,
            self.topic,
            tuple(self.values),
            1,
            2,
            self.exchange,
            self.exchange_token,
            self.trading_symbol,
        )

    def update(self, lite: bool) -> FeedRecord:
        """The change since the previous step: unchanged positions carry the sentinel."""
        if lite:
            return LiteRecord(self.topic_id, self.values[0])
        return UpdateRecord(
            self.topic_id,
            tuple(SENTINEL if a == b else a for a, b in zip(self.values, self.prev, strict=True)),
        )


@dataclass(eq=False)
class FakeConnection:
    """What the fake saw on one data-socket connection (read it in tests)."""

    id: int
    auth_header: bool = False  # the upgrade carried an Authorization header (then: silence)
    authenticated: bool | None = None
    lite: bool | None = None
    subscribed: set[str] = field(default_factory=set)  # topics
    symbols: set[str] = field(default_factory=set)  # the same, as Fyers symbols
    announced: set[str] = field(default_factory=set)  # topics whose snapshot was sent
    log: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # ("sub"/"unsub", topics)
    duplicate_subscribes: int = 0  # topics subscribed while already subscribed here
    unknown_unsubscribes: int = 0
    unknown_topics: int = 0  # subscribe requests for topics this fake never issued
    pings: int = 0
    pings_before_auth: int = 0
    acks: list[int] = field(default_factory=list)
    frames_in: int = 0
    bad_frames_in: int = 0
    requests: list[str] = field(default_factory=list)  # request kinds in arrival order
    frames_out: int = 0
    records_out: int = 0
    msg_no: int = 0
    stalled: bool = False
    paused: bool = False
    closed: bool = False
    close_code: int | None = None
    ws: ServerConnection | None = field(default=None, repr=False)


@dataclass(eq=False)
class OrderSocketConnection:
    """One order-socket client: what it subscribed to and what it sent (for tests). Frames
    go out through one queue, so updates arrive in the order they happened."""

    number: int
    ws: ServerConnection
    channels: set[str] = field(default_factory=set)
    frames_in: list[str] = field(default_factory=list)
    sent: int = 0
    closed: bool = False
    _queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def send(self, frame: str) -> None:
        self._queue.put_nowait(frame)

    async def pump(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = await self._queue.get()
                await self.ws.send(frame)
                self.sent += 1


class FakeFyersServer:
    """The fake Fyers server (async context manager). See the module docstring.

    ``symbols``: the instruments it knows and their start prices (rupees); ``None``: the
    simulated defaults. Any other symbol is invalid, as at Fyers: symbol-token lists it in
    ``invalidSymbol`` and the trading API answers -300. ``loose_symbols=True`` (opt-in, and
    its repr and the ``fake-fyers`` printout say so) also accepts any other well-formed
    ``NSE:``/``BSE:``/``MCX:`` symbol, starting at ₹1000 with a made-up exchange token.
    ``invalid_symbols`` are always reported in ``invalidSymbol``.

    ``tick_interval``: seconds between market steps (``None``: only :meth:`step` moves prices).
    ``ack_count``: the ack cadence announced in the auth reply (4-byte field, SDK-compatible).
    ``topic_limit``: past it, subscribe answers custom message 51001 and ignores the excess.
    ``records_per_frame``: datafeed frames carry at most this many records.
    ``funds``: the trading account's opening cash (rupees); ``max_fill_qty``: fills are at most
    this many shares each, so orders fill partially over several price moves (see
    :attr:`orders`). ``holdings``: symbol → (quantity, cost price) in demat (the holdings
    rows; CNC sells are checked against them). ``freeze_qty``: the exchange freeze quantity
    (one for all symbols, or per symbol): a larger order is refused unless it asks
    ``isSliceOrder``, then it is split into at most 10 orders.
    """

    def __init__(
        self,
        seed: int = 1,
        *,
        symbols: Mapping[str, Decimal | str | int] | Sequence[str] | None = None,
        loose_symbols: bool = False,
        invalid_symbols: Iterable[str] = (),
        tick_interval: float | None = 0.05,
        host: str = "127.0.0.1",
        port: int = 0,
        rest_port: int = 0,
        hsm_key: str | None = None,
        app_id: str | None = DEFAULT_APP_ID,
        token_ttl: int = 86_400,
        ack_count: int = 0,
        topic_limit: int = 5000,
        records_per_frame: int = 250,
        clock: Clock | None = None,
        funds: Decimal | str | int = Decimal("1000000"),
        max_fill_qty: int | None = None,
        holdings: Mapping[str, tuple[int, Decimal | str | int]] | None = None,
        freeze_qty: Mapping[str, int] | int | None = None,
    ) -> None:
        if tick_interval is not None and not tick_interval > 0:
            raise InvalidInput("tick_interval", "must be positive (or None for manual steps)")
        if not 1 <= records_per_frame <= 700:
            raise InvalidInput("records_per_frame", "must be in 1..700 (u16 frame length)")
        self.seed = seed
        self.host = host
        self.tick_interval = tick_interval
        self.ack_count = ack_count
        self.token_ttl = token_ttl
        self.topic_limit = topic_limit
        self.records_per_frame = records_per_frame
        self.clock: Clock = clock if clock is not None else WallClock()
        self.hsm_key = hsm_key or hashlib.sha256(f"fake-fyers:{seed}".encode()).hexdigest()[:56]
        exp = self.clock.now_ns() // 1_000_000_000 + token_ttl
        self.access_token = mint_fake_token(
            self.hsm_key, exp, fy_id="XF00001", app_id=app_id or None
        )
        self._jwt = split_access_token(self.access_token)[1]
        self.app_id = app_id
        self._port = port
        self._rest_port = rest_port
        self._reject_token = False
        self.delay = 0.0  # seconds before every reply (auth, mode, subscribe...) and REST answer
        self._stall_all = False
        self.loose_symbols = bool(loose_symbols)
        self._invalid = set(invalid_symbols)
        self._start: dict[str, Decimal | str | int] = dict(DEFAULT_SYMBOLS)
        if isinstance(symbols, Mapping):
            self._start = dict(symbols)
        elif symbols is not None:
            self._start = {s: DEFAULT_SYMBOLS.get(s, Decimal("1000.00")) for s in symbols}
        self._tape = _Tape()
        self.market = SimulatedMarket(self._tape, {}, seed=seed)
        self.history = SimHistory(seed)
        """Each symbol's past (``/data/history``), ending where its walk starts here."""
        self.data = FakeMarketData(self, self._data_auth)
        """The market-data REST calls (``/data/quotes``, ``/depth``, ``/history``,
        ``/marketStatus``; see :mod:`livetrade.testing.fake_data`)."""
        self._by_symbol: dict[str, _Instrument] = {}
        self._by_topic: dict[str, _Instrument] = {}
        self._used_tokens: set[str] = set(_KNOWN_TOKENS.values())
        self._next_tid = 1
        self.connections: list[FakeConnection] = []
        self.rest_calls: list[list[str]] = []
        self.steps = 0
        self._ws_server: Server | None = None
        self._rest_server: asyncio.Server | None = None
        self._rest_writers: set[asyncio.StreamWriter] = set()
        self._rest_tasks: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._resume_handle: asyncio.TimerHandle | None = None
        self.ws_port = 0
        self.rest_port = 0
        self._stopping = asyncio.Event()
        self.orders = FakeFyersRest(
            prices=self._ltp,
            app_id=app_id or DEFAULT_APP_ID,
            fy_id="XF00001",
            funds=funds,
            max_fill_qty=max_fill_qty,
            holdings=holdings,
            freeze_qty=freeze_qty,
            base_path=API_BASE,
            token_ttl=token_ttl,
            clock=lambda: self.clock.now_ns() / 1e9,
            hsm_key=self.hsm_key,
            bands=self._band,
        )
        """The trading REST API (``/api/v3`` on the REST port): orders fill at the simulated
        last traded prices. Use it for fault injection and to inspect the book."""
        self.orders.accept_token(self._jwt)
        self.order_connections: list[OrderSocketConnection] = []
        self.orders.listeners.append(self._publish_order_update)

    @property
    def reject_token(self) -> bool:
        """While True every auth is refused: the data socket answers ``N``, symbol-token and
        the trading API answer 401 code -8. Back to False, :attr:`access_token` works again."""
        return self._reject_token

    @reject_token.setter
    def reject_token(self, value: bool) -> None:
        self._reject_token = bool(value)
        if value:
            self.orders.expire_tokens()
        else:
            self.orders.accept_token(self._jwt)

    def renew_token(self, ttl: int | None = None) -> str:
        """The daily expiry followed by a fresh login: every token so far is refused from
        now on (REST 401 code -8, order socket 403, data-socket auth ``N``) and the new one,
        returned as ``APP_ID:jwt`` (also :attr:`access_token`), works everywhere. Its JWT
        carries a new ``hsm_key``; ``ttl`` seconds (default: the server's ``token_ttl``)."""
        self.orders.expire_tokens()
        self.hsm_key = hashlib.sha256(f"renewed:{self.hsm_key}".encode()).hexdigest()[:56]
        self.orders.hsm_key = self.hsm_key
        exp = self.clock.now_ns() // 1_000_000_000 + (self.token_ttl if ttl is None else ttl)
        self.access_token = mint_fake_token(
            self.hsm_key, exp, fy_id="XF00001", app_id=self.app_id or None
        )
        self._jwt = split_access_token(self.access_token)[1]
        self._reject_token = False
        self.orders.accept_token(self._jwt)
        return self.access_token

    def _ltp(self, symbol: str) -> Decimal | None:
        """The trading API's price source: the last traded price, in rupees (``None``: not a
        symbol this fake knows; in loose mode well-formed ones are registered here)."""
        inst = self.instrument(symbol)
        return None if inst is None else from_paise(inst.values[0])

    def _band(self, symbol: str) -> tuple[Decimal, Decimal] | None:
        """A scrip's circuit limits (±20% of its previous close, as its quotes say)."""
        inst = self.instrument(symbol)
        if inst is None or inst.kind != "sf":
            return None
        return from_paise(inst.values[17]), from_paise(inst.values[18])

    def _match_orders(self, moved: Iterable[_Instrument]) -> None:
        """Fill the resting orders the new prices reach (before the quotes go out, so a client
        that sees a tick and then reads its order book sees the fill)."""
        if not self.orders.orders:
            return
        for symbol in dict.fromkeys(inst.symbol for inst in moved):
            self.orders.match(symbol)

    def __repr__(self) -> str:
        loose = ", symbols='loose: any well-formed symbol'" if self.loose_symbols else ""
        return (
            f"FakeFyersServer(seed={self.seed}, ws_port={self.ws_port}, "
            f"rest_port={self.rest_port}, connections={len(self.live_connections)}{loose})"
        )

    def symbols_note(self) -> str:
        """One line saying which symbols this fake accepts (the ``fake-fyers`` printout)."""
        if self.loose_symbols:
            return (
                "symbols: LOOSE -- any well-formed NSE:/BSE:/MCX: symbol is accepted, starting "
                "at 1000 rupees (the real API answers -300 for unknown symbols)"
            )
        known = ", ".join(self._start)
        return f"symbols: strict -- {known}; others answer -300 (--loose-symbols accepts any)"

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}{HSM_PATH}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}{REST_BASE}"

    @property
    def order_ws_url(self) -> str:
        """The order socket (order, trade and position updates)."""
        return f"ws://{self.host}:{self.ws_port}{ORDER_WS_PATH}"

    @property
    def api_url(self) -> str:
        """Base URL of the trading REST API (what ``FyersRestClient(base_url=...)`` takes)."""
        return f"http://{self.host}:{self.rest_port}{self.orders.base_path}"

    @property
    def config(self) -> FyersConfig:
        """Token and URLs a client needs (valid once the server is started)."""
        if not self.ws_port:
            raise InvalidInput("config", "start the fake server first (async with ...)")
        return FyersConfig(
            access_token=self.access_token,
            ws_url=self.ws_url,
            rest_url=self.rest_url,
            app_id=self.app_id,
            api_url=self.api_url,
            order_ws_url=self.order_ws_url,
        )

    async def start(self) -> FakeFyersServer:
        self._stopping = asyncio.Event()  # bound to this loop on first use
        self._ws_server = await serve(
            self._route_ws,
            self.host,
            self._port,
            process_request=self._check_handshake,
            compression=None,
            ping_interval=None,
            max_size=2**20,
            logger=quiet_ws_logger("livetrade.fyers.fake.websockets"),
        )
        self.ws_port = self._ws_server.sockets[0].getsockname()[1]
        self._rest_server = await asyncio.start_server(self._http, self.host, self._rest_port)
        self.rest_port = self._rest_server.sockets[0].getsockname()[1]
        if self.tick_interval is not None:
            self._ticker = asyncio.create_task(self._tick_loop(self.tick_interval))
        log.info("fake Fyers server on %s, %s and %s", self.ws_url, self.rest_url, self.api_url)
        return self

    async def stop(self) -> None:
        self._stopping.set()  # cuts short REST answers that are being delayed
        if self._background:
            await asyncio.wait(tuple(self._background), timeout=5)
        if self._resume_handle is not None:
            self._resume_handle.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
            self._ws_server = None
        if self._rest_server is not None:
            self._rest_server.close()
            for writer in tuple(self._rest_writers):
                writer.close()  # the handler sees EOF and returns
            if self._rest_tasks:
                await asyncio.wait(tuple(self._rest_tasks), timeout=5)
            await self._rest_server.wait_closed()
            self._rest_server = None

    async def __aenter__(self) -> FakeFyersServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- instruments -------------------------------------------------------------------------

    def _fytoken(self, symbol: str) -> str | None:
        known = _KNOWN_TOKENS.get(symbol)
        if known is not None:
            return known
        parsed = parse_symbol(symbol)
        derivative = parsed.series is None and parsed.name.endswith(("FUT", "CE", "PE"))
        prefix = {
            ("NSE", False): "1010",
            ("NSE", True): "1011",
            ("BSE", False): "1210",
            ("BSE", True): "1211",
            ("MCX", True): "1120",
            ("MCX", False): "1120",
        }.get((parsed.exchange, derivative))
        if prefix is None:
            return None
        number = 10_000 + zlib.crc32(symbol.encode()) % 80_000
        while True:
            fytoken = f"{prefix}000000{number}"
            if fytoken not in self._used_tokens:
                self._used_tokens.add(fytoken)
                return fytoken
            number += 1

    def instrument(self, symbol: str) -> _Instrument | None:
        """Register (or find) ``symbol``; ``None`` if this fake does not know it."""
        inst = self._by_symbol.get(symbol)
        if inst is not None:
            return inst
        if symbol in self._invalid or (not self.loose_symbols and symbol not in self._start):
            return None
        try:
            fytoken = self._fytoken(symbol)
            if fytoken is None:
                return None
            topic = topic_for(symbol, fytoken)
        except InvalidInput:
            return None
        if topic in self._by_topic:
            return None
        price = self._start.get(symbol, DEFAULT_SYMBOLS.get(symbol, Decimal("1000.00")))
        self.market.add_symbol(symbol, price)
        start, now = to_paise(price, "price"), self.clock.now_ns()
        self.history.anchor(symbol, start, now)  # the past ends where the walk starts
        close = self.history.previous_close(symbol, ist_date(now))
        inst = _Instrument(symbol, fytoken, topic, self._next_tid, start, close)
        self._next_tid += 1
        self._by_symbol[symbol] = inst
        self._by_topic[topic] = inst
        return inst

    def now_ns(self) -> int:
        return self.clock.now_ns()

    def _depth_topic(self, topic: str) -> DepthTopic | None:
        """The ``dp|…`` topic of a scrip this fake issued a token for (created on first use)."""
        inst = self._by_topic.get("sf|" + topic[3:])
        if inst is None:
            return None
        if inst.depth is None:
            inst.depth = DepthTopic(inst, topic, self._next_tid, self.seed, self.clock.now_ns())
            self._next_tid += 1
            self._by_topic[topic] = inst.depth  # type: ignore[assignment]
        return inst.depth

    def topic_of(self, symbol: str) -> str | None:
        inst = self._by_symbol.get(symbol)
        return None if inst is None else inst.topic

    # ---- market ------------------------------------------------------------------------------

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
        for symbol, bid, ask, last, volume, ts_ns in tape.rows:
            inst = self._by_symbol[symbol]
            inst.apply(bid, ask, last, volume, ts_ns)
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
            for symbol, bid, ask, last, volume, ts_ns in self._tape.rows:
                inst = self._by_symbol[symbol]
                inst.apply(bid, ask, last, volume, ts_ns)
                if symbol in wanted:
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
        self.market.set_price(symbol, last)
        volume = inst.values[1] + (1 if inst.kind == "sf" else 0)
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

    # ---- the data socket ---------------------------------------------------------------------

    @property
    def live_connections(self) -> list[FakeConnection]:
        return [c for c in self.connections if not c.closed]

    def subscriptions(self) -> list[set[str]]:
        """The subscribed symbols of each live connection."""
        return [set(c.symbols) for c in self.live_connections]

    # ---- order socket ------------------------------------------------------------------------

    def _check_handshake(self, ws: ServerConnection, request: Request) -> Response | None:
        """The order socket authenticates at the handshake (``authorization: APP_ID:token``
        header): a wrong or expired token is HTTP 403, as at Fyers (spec 2)."""
        if request.path.split("?", 1)[0] != ORDER_WS_PATH:
            return None
        header = request.headers.get("authorization", "")
        refused = self.orders.check_authorization(header)
        if refused is None:
            return None
        return ws.respond(HTTPStatus.FORBIDDEN, f"{refused}\n")

    async def _route_ws(self, ws: ServerConnection) -> None:
        path = ws.request.path.split("?", 1)[0] if ws.request is not None else ""
        if path == ORDER_WS_PATH:
            await self._order_socket(ws)
        else:
            await self._handle(ws)

    async def _order_socket(self, ws: ServerConnection) -> None:
        conn = OrderSocketConnection(len(self.order_connections) + 1, ws)
        self.order_connections.append(conn)
        writer = asyncio.get_running_loop().create_task(conn.pump())
        try:
            async for msg in ws:
                conn.frames_in.append(msg if isinstance(msg, str) else msg.decode("latin-1"))
                if msg == "ping":
                    conn.send("pong")
                    continue
                try:
                    request = json.loads(msg)
                    slist = request["SLIST"]
                    flat = [x for it in slist for x in (it if isinstance(it, list) else [it])]
                    if request.get("T") != "SUB_ORD" or not all(isinstance(x, str) for x in flat):
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    conn.send(json.dumps({"s": "error", "code": -1, "message": "Invalid request"}))
                    continue
                if request.get("SUB_T") == -1:
                    conn.channels.difference_update(flat)
                    conn.send(json.dumps({"code": 1606, "message": "Unsubscribed", "s": "ok"}))
                else:
                    conn.channels.update(flat)
                    conn.send(
                        json.dumps({"code": 1605, "message": "Successfully subscribed", "s": "ok"})
                    )
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            writer.cancel()

    def _publish_order_update(self, kind: str, raw: dict[str, Any]) -> None:
        """FakeFyersRest listener: push an order or trade update to every subscriber."""
        frame = json.dumps({kind: raw, "s": "ok"}, default=float)
        for conn in self.order_connections:
            if not conn.closed and kind in conn.channels:
                conn.send(frame)

    @property
    def live_order_connections(self) -> list[OrderSocketConnection]:
        return [c for c in self.order_connections if not c.closed]

    async def drop_order_sockets(self) -> int:
        """Close every order-socket connection (clients reconnect and catch up)."""
        live = self.live_order_connections
        for conn in live:
            await conn.ws.close(1001, "going away")
        return len(live)

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

    # ---- fault injection ---------------------------------------------------------------------

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

    # ---- REST --------------------------------------------------------------------------------

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._rest_writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._rest_tasks.add(task)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                reply = self._dispatch(method, target, headers, body)
                wait = reply.delay or self.delay
                if wait > 0 and await self._pause(wait):
                    break  # stopping: the answer is never sent
                if reply.drop:
                    break  # the answer is lost: close the connection without one
                data = self.orders.encode(reply.body)
                close = headers.get("connection", "").lower() == "close"
                lines = [
                    f"HTTP/1.1 {reply.status} {_reason(reply.status)}",
                    "Content-Type: application/json",
                    f"Content-Length: {len(data)}",
                    *(f"{name}: {value}" for name, value in reply.headers.items()),
                    *(["Connection: close"] if close else []),
                ]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
                await writer.drain()
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._rest_writers.discard(writer)
            self._rest_tasks.discard(task)
            writer.close()

    @staticmethod
    async def _read_request(
        reader: asyncio.StreamReader,
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        """One HTTP/1.1 request: (method, target with its query, lower-cased headers, body);
        None at EOF. Bodies come with Content-Length or chunked (any method: Fyers' DELETE
        carries one). ValueError for what this fake does not parse."""
        line = await reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while size := int((await reader.readline()).split(b";")[0], 16):
                body += await reader.readexactly(size)
                await reader.readline()
                if len(body) > MAX_BODY:
                    raise ValueError("request body too large")
            while (await reader.readline()).strip():  # trailers
                pass
        else:
            size = int(headers.get("content-length", "0"))
            if not 0 <= size <= MAX_BODY:
                raise ValueError("bad Content-Length")
            body = await reader.readexactly(size) if size else b""
        return method.upper(), target, headers, body

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` before an answer; True if :meth:`stop` cut the wait short."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def _dispatch(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> FakeReply:
        """The trading API (everything under ``/api/v3/``) is :attr:`orders`; the rest is
        the data REST call."""
        if target.split("?", 1)[0].startswith(self.orders.base_path + "/"):
            return self.orders.respond(method, target, headers, body)
        status, payload = self._route(method, target, headers, body)
        return FakeReply(status, payload)

    def _route(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        path, _, query = target.partition("?")
        if path.startswith(REST_BASE) and path[len(REST_BASE) :] in DATA_PATHS:
            return self.data.respond(method, path[len(REST_BASE) :], query, headers, body)
        if path != f"{REST_BASE}/symbol-token":
            return 404, {"s": "error", "code": 404, "message": f"no route {path}"}
        if method != "POST":
            return 405, {"s": "error", "code": 405, "message": "use POST"}
        refused = self._data_auth(headers)
        if refused is not None:
            return refused
        try:
            request = json.loads(body)
            symbols = request["symbols"]
            if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return 400, {"s": "error", "code": -50, "message": "Invalid parameters"}
        if len(symbols) > 500:
            return 400, {"s": "error", "code": -50, "message": "Max 500 symbols per request"}
        self.rest_calls.append(list(symbols))
        valid: dict[str, str] = {}
        invalid: list[str] = []
        for s in symbols:
            inst = self.instrument(s)
            if inst is None:
                invalid.append(s)
            else:
                valid[s] = inst.fytoken
        return 200, {
            "s": "ok",
            "code": 200,
            "message": "",
            "validSymbol": valid,
            "invalidSymbol": invalid,
        }

    def _data_auth(self, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]] | None:
        """The data calls' token check: ``APP_ID:jwt`` (the REST data API) or the bare JWT
        (symbol-token); the server's own token or one a login on the trading API issued."""
        token = headers.get("authorization", "")
        if self.reject_token:
            return 401, {"s": "error", "code": -8, "message": "Your token has expired"}
        app, _, jwt = token.rpartition(":")
        header = token if app else f"{self.orders.app_id}:{token}"
        own = jwt == self._jwt and jwt not in self.orders.revoked and app in ("", self.app_id)
        if not own and self.orders.check_authorization(header) is not None:
            return 401, {"s": "error", "code": -16, "message": "Could not authenticate the user"}
        return None


# ---- command line ---------------------------------------------------------------------------


async def serve_forever(
    port: int = 0,
    rest_port: int | None = None,
    *,
    host: str = "127.0.0.1",
    seed: int = 1,
    tick_interval: float = 1.0,
    loose_symbols: bool = False,
) -> None:
    """Run a fake server until cancelled, printing the config a client needs (data socket,
    data REST, token, trading API) and which symbols it accepts."""
    fake = FakeFyersServer(
        seed,
        host=host,
        port=port,
        rest_port=rest_port if rest_port is not None else (port + 1 if port else 0),
        tick_interval=tick_interval,
        loose_symbols=loose_symbols,
    )
    async with fake:
        cfg = fake.config
        print(f"fake Fyers data socket: {cfg.ws_url}", flush=True)
        print(f"fake Fyers REST base:   {cfg.rest_url}", flush=True)
        print("fake access token (not a secret; for this server only):", flush=True)
        print(f"  {cfg.access_token}", flush=True)
        # after the token: scripts read the first four lines by position
        print(f"fake Fyers trading API: {cfg.api_url}", flush=True)
        print(f"fake Fyers order socket: {cfg.order_ws_url}", flush=True)
        print(
            "connect: FyersConfig(access_token=<above>, "
            f"ws_url={cfg.ws_url!r}, rest_url={cfg.rest_url!r}, api_url={cfg.api_url!r}, "
            f"order_ws_url={cfg.order_ws_url!r})",
            flush=True,
        )
        print(fake.symbols_note(), flush=True)  # last: earlier lines are read by position
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``livetrade fake-fyers [--port N] [--rest-port M] [--seed S] [--interval SECONDS]
    [--loose-symbols]``."""
    parser = argparse.ArgumentParser(
        prog="livetrade fake-fyers", description="Run a local fake Fyers server (loopback)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="data socket port (0 = any free)")
    parser.add_argument("--rest-port", type=int, default=None, help="REST port (default port+1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    parser.add_argument(
        "--loose-symbols",
        action="store_true",
        help="accept any well-formed symbol at 1000 rupees (Fyers itself answers -300)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_forever(
                args.port,
                args.rest_port,
                host=args.host,
                seed=args.seed,
                tick_interval=args.interval,
                loose_symbols=args.loose_symbols,
            )
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
