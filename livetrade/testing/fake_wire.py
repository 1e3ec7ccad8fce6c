"""What the fake Fyers server keeps per symbol and per connection (wire values, topics,
connection logs) and its constants; shared by the modules of
:class:`~livetrade.testing.fake_fyers.FakeFyersServer`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from livetrade.feeds.simulated import TICK
from livetrade.fyers.codec import (
    SENTINEL,
    DataFeed,
    FeedRecord,
    LiteRecord,
    SnapshotRecord,
    UpdateRecord,
)
from livetrade.fyers.symbols import parse_symbol
from livetrade.prices import LivePriceStream
from livetrade.testing.fake_data import DepthTopic

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
        "expiry",
        "fytoken",
        "kind",
        "lot",
        "oi_change",
        "pending",
        "prev",
        "symbol",
        "tick",
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
        self.tick = TICK  # paise; a derivative's comes from its contract (set_contract)
        self.lot = 1
        self.expiry = 0  # epoch seconds; 0: not a derivative
        self.oi_change = 0  # open interest change since the day's first quote (units)
        # an unwatched derivative's latest market row, applied when it is read (see _apply)
        self.pending: tuple[str, int, int, int, int, int] | None = None
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

    def set_contract(self, tick: int, lot: int, expiry: int, band: tuple[int, int]) -> None:
        """Make this a derivative: its tick and lot (paise, units), expiry (epoch s) and the
        circuit values its quotes carry."""
        self.tick, self.lot, self.expiry = tick, lot, expiry
        self.values[17], self.values[18] = band
        self.prev = tuple(self.values)

    def set_oi(self, oi: int, change: int) -> None:
        """Open interest (units; position 12 of a scrip record, which the SDK drops)."""
        self.values[12] = oi
        self.oi_change = change

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
        if self.lot > 1:  # a derivative's sizes are whole lots
            v[4] = self.lot * (1 + (last // self.tick) % 37)
            v[5] = self.lot * (1 + (bid // self.tick) % 41)
        else:
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
