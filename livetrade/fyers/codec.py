"""Sans-I/O codec for the Fyers API v3 market-data socket ("HSM", spec section 1).

Nothing here touches a socket, a clock or an event loop. Bytes go in through
:meth:`DataCodec.receive_data`, parsed events come out of :meth:`DataCodec.events_received`, and
requests are queued by :meth:`DataCodec.subscribe` & co. and collected with
:meth:`DataCodec.data_to_send` -- the shape of python-websockets' ``protocol.py``. The asyncio
stream and the local fake server are thin loops around this module, so both sides of every test
share one definition of the wire format.

Layers, bottom up:

* wire records (frozen dataclasses with ``serialize()`` / ``parse()``) for every client request
  (:class:`AuthRequest`, :class:`ModeRequest`, :class:`SubscribeRequest`,
  :class:`UnsubscribeRequest`, :class:`PauseRequest`, :class:`ResumeRequest`,
  :class:`AckRequest`, :class:`PingRequest`) and every server message (:class:`AuthReply`,
  :class:`StatusReply`, :class:`DataFeed` with :class:`SnapshotRecord` / :class:`UpdateRecord` /
  :class:`LiteRecord`, :class:`CustomMessage`, :class:`OpaqueMessage`), plus the dispatchers
  :func:`parse_client_frame` and :func:`parse_server_frame`;
* :class:`DataCodec`, the stateful client side: per-topic merged state, auto-acks, events.

Framing policy (tested): a frame is one WebSocket message.

* Client frames: the u16 length prefix is **never** read -- the official SDK sends wrong values
  (spec 1.3). Our encoders always write the correct ``total - 2``.
* Server frames: parsing walks the declared field / record counts; the length prefix is not
  needed for that and is ignored, except for custom messages (type 51) whose parse stops at
  ``2 + length`` like the SDK's. Bytes after the declared content ("trailing garbage") are
  ignored by default; with ``strict=True`` they, and a length prefix that is not ``len - 2``,
  raise :class:`~livetrade.errors.ProtocolError`.
* Anything missing (a truncated frame) raises ``ProtocolError`` carrying the byte offset where
  the missing item starts. :class:`DataCodec` parses a whole frame before it changes any state,
  so a bad frame leaves the codec exactly as it was (no events, no ack counted).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from itertools import groupby
from operator import itemgetter
from types import MappingProxyType
from typing import ClassVar, Final, Literal, NamedTuple, TypeAlias

from livetrade.errors import InvalidInput, ProtocolError

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_SOURCE",
    "DEPTH_FIELDS",
    "INDEX_FIELDS",
    "MAX_TOPICS_PER_FRAME",
    "PING_FRAME",
    "SCRIP_FIELDS",
    "SENTINEL",
    "AckRequest",
    "AuthReply",
    "AuthRequest",
    "AuthResult",
    "ClientMessage",
    "ControlResult",
    "CustomMessage",
    "DataCodec",
    "DataFeed",
    "Event",
    "FeedRecord",
    "FrameIgnored",
    "LiteRecord",
    "ModeRequest",
    "OpaqueMessage",
    "PauseRequest",
    "PingRequest",
    "RawClientMessage",
    "RecordKind",
    "RequestType",
    "ResponseType",
    "ResumeRequest",
    "SdkCallback",
    "ServerMessage",
    "SnapshotRecord",
    "StatusReply",
    "SubscribeRequest",
    "Tick",
    "TopicInfo",
    "UnsubscribeRequest",
    "UpdateRecord",
    "channel_mask",
    "channels_in_mask",
    "parse_client_frame",
    "parse_server_frame",
]

# --------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------

SENTINEL: Final = -2147483648
"""i32 ``0x80000000``: "no value / unchanged" in datafeed records; never stored."""

DEFAULT_CHANNEL: Final = 11
"""The channel the SDK uses when none is given."""

MAX_TOPICS_PER_FRAME: Final = 1500
"""Vendor ``MAX_SCRIPS``: :meth:`DataCodec.subscribe` splits longer lists into several frames."""

DEFAULT_SOURCE: Final = "PythonSDK-3.2.0"
"""Source string of the auth frame. The server does not validate it (spec 1.3 [LIVE]); sending
what the official SDK sends keeps us indistinguishable from it if that ever changes."""

PING_FRAME: Final = b"\x00\x01\x0b"
"""The complete ping request (length 1, type 11, nothing else)."""


class RequestType(enum.IntEnum):
    """Client → server request types (vendor table, spec 1.3)."""

    AUTH = 1
    THROTTLE = 2
    ACK = 3
    SUBSCRIBE = 4
    UNSUBSCRIBE = 5
    PAUSE = 7
    RESUME = 8
    SNAPSHOT = 9
    OPTION_CHAIN = 10
    PING = 11
    MODE = 12


class ResponseType(enum.IntEnum):
    """Server → client response types (spec 1.4)."""

    AUTH = 1
    SUBSCRIBE = 4
    UNSUBSCRIBE = 5
    DATAFEED = 6
    PAUSE = 7
    RESUME = 8
    MODE = 12
    MASTER_DATA = 13
    CUSTOM = 51


class RecordKind(enum.IntEnum):
    """First byte of a datafeed record; :attr:`Tick.record` holds one of these values."""

    SNAPSHOT = 83  # 'S'
    UPDATE = 85  # 'U'
    LITE = 76  # 'L'


# Field layouts (spec 1.6): the position of each i32 in a record of that topic kind.
SCRIP_FIELDS: Final[tuple[str, ...]] = (
    "ltp",
    "vol_traded_today",
    "last_traded_time",
    "exch_feed_time",
    "bid_size",
    "ask_size",
    "bid_price",
    "ask_price",
    "last_traded_qty",
    "tot_buy_qty",
    "tot_sell_qty",
    "avg_trade_price",
    "OI",
    "low_price",
    "high_price",
    "Yhigh",
    "Ylow",
    "lower_ckt",
    "upper_ckt",
    "open_price",
    "prev_close_price",
)
INDEX_FIELDS: Final[tuple[str, ...]] = (
    "ltp",
    "prev_close_price",
    "exch_feed_time",
    "high_price",
    "low_price",
    "open_price",
)
DEPTH_FIELDS: Final[tuple[str, ...]] = tuple(
    f"{side}_{what}{level}"
    for side, what in (
        ("bid", "price"),
        ("ask", "price"),
        ("bid", "size"),
        ("ask", "size"),
        ("bid", "order"),
        ("ask", "order"),
    )
    for level in range(1, 6)
)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Names and price positions of one topic kind; ``width`` is how many values we keep."""

    kind: str
    names: tuple[str, ...]
    prices: frozenset[int]
    index: Mapping[str, int]

    @property
    def width(self) -> int:
        return len(self.names)


def _layout(kind: str, names: tuple[str, ...], prices: Iterable[int]) -> _Layout:
    return _Layout(kind, names, frozenset(prices), {n: i for i, n in enumerate(names)})


_LAYOUTS: Final[Mapping[str, _Layout]] = {
    "sf": _layout("sf", SCRIP_FIELDS, (0, 6, 7, 11, 13, 14, 19, 20)),
    "if": _layout("if", INDEX_FIELDS, (0, 1, 3, 4, 5)),
    "dp": _layout("dp", DEPTH_FIELDS, range(10)),
}

# Precompiled structs: the decode loop does one unpack per record, never one per value.
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_I32: Final = struct.Struct(">i")
_U64: Final = struct.Struct(">Q")
_TLV: Final = struct.Struct(">BH")  # field id, value length
_HEAD: Final = struct.Struct(">HBB")  # length prefix, type, field count
_FEED_HEAD: Final = struct.Struct(">HBIH")  # length, 6, message number, record count
_UPDATE_HEAD: Final = struct.Struct(">HB")  # topic id, value count (after the kind byte)
_UPDATE_AT: Final = struct.Struct(">xHB")  # the same, read from the record's start
_LITE_BODY: Final = struct.Struct(">Hi")  # topic id, value (after the kind byte)
_SNAP_TAIL: Final = struct.Struct(">HHB")  # reserved, multiplier, precision
_INTS: Final[tuple[struct.Struct, ...]] = tuple(struct.Struct(f">{n}i") for n in range(256))


# Update merge (DataCodec._receive_datafeed): a sentinel lane keeps the old value, any other
# lane takes the new one. Rather than loop over the values in Python, a record is classified by
# which lanes *may* hold the sentinel -- those whose first byte is 0x80, found with a strided
# slice and ``bytes.translate`` -- and that pattern selects three cached C-level helpers:
#   check  unpacks each run of such lanes as one bytes object; equal to the sentinel's bytes
#          repeated means they all are the sentinel (an exact test, one field per run);
#   fresh  unpacks the other lanes only (no int objects for the unchanged values);
#   pick   builds the merged tuple from ``fresh + old`` in one ``itemgetter`` call.
# Live updates repeat a few patterns (the fields that moved), so the cache -- module-wide, a
# pattern means the same on every connection -- stays small; it is capped anyway. Records that
# do not carry exactly the layout's values are merged by ``_merge_values``, as are the (rare)
# records whose 0x80 lanes are not all the sentinel.
_SENTINEL_BYTES: Final = b"\x80\x00\x00\x00"
_LEAD_80: Final = bytes(b == 0x80 for b in range(256))  # first byte of a lane → 1 if 0x80
_MERGE_CACHE_MAX: Final = 4096  # patterns; past that, new patterns merge value by value

_Values: TypeAlias = tuple[int | None, ...]


# (check, what it returns when those lanes are the sentinel, fresh, pick); a plain tuple, as
# unpacking one is faster than reading a NamedTuple's fields.
_Merge: TypeAlias = tuple[
    Callable[[bytes, int], tuple[bytes, ...]],
    tuple[bytes, ...],
    Callable[[bytes, int], tuple[int, ...]],
    Callable[[_Values], _Values],
]


_MERGES: Final[dict[bytes, _Merge]] = {}  # lead pattern (its length is the width) → merge


def _merge_for(lead: bytes) -> _Merge | None:
    """The merge for one sentinel pattern (``lead[i]`` = 1: lane i may be the sentinel),
    cached; ``None`` once the cache is full."""
    if len(_MERGES) >= _MERGE_CACHE_MAX:
        return None
    runs = [(maybe, len(list(lanes))) for maybe, lanes in groupby(lead)]
    check = struct.Struct(">" + "".join(f"{4 * r}{'s' if m else 'x'}" for m, r in runs))
    fresh = struct.Struct(">" + "".join(f"{4 * r}x" if m else f"{r}i" for m, r in runs))
    sentinels = tuple(_SENTINEL_BYTES * r for m, r in runs if m)
    # position i is fresh[j] if lane i is the j-th fresh lane, else old[i] (after the fresh)
    fresh_at = {lane: j for j, lane in enumerate(i for i, m in enumerate(lead) if not m)}
    picks = [fresh_at.get(i, len(fresh_at) + i) for i in range(len(lead))]
    # (itemgetter with one index returns the item itself, not a 1-tuple)
    pick: Callable[[_Values], _Values] = (
        itemgetter(*picks) if len(picks) > 1 else lambda values: (values[picks[0]],)
    )
    merge = _MERGES[lead] = (check.unpack_from, sentinels, fresh.unpack_from, pick)
    return merge


def _merge_values(frame: bytes, start: int, count: int, old: _Values) -> _Values:
    """Merge ``count`` i32 at ``start`` into ``old`` value by value: the sentinel keeps the old
    value, values past ``old`` are ignored and positions past ``count`` keep theirs."""
    new = _INTS[min(count, len(old))].unpack_from(frame, start)
    return (*[o if v == SENTINEL else v for v, o in zip(new, old, strict=False)], *old[len(new) :])


_DATAFEED: Final = 6  # plain int: comparing with the IntEnum member is slower
_REC_SNAPSHOT: Final = 83  # 'S'
_REC_UPDATE: Final = 85  # 'U'
_REC_LITE: Final = 76  # 'L'

_CUSTOM_TYPES: Final[Mapping[int, str]] = {1: "cn", 4: "sub", 5: "unsub", 7: "cp", 8: "cr"}


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def channel_mask(*channels: int) -> int:
    """u64 bitmask with bit *n* set for each channel *n* (1..63), as mode/pause/resume send."""
    mask = 0
    for ch in channels:
        _check_channel(ch)
        mask |= 1 << ch
    return mask


def channels_in_mask(mask: int) -> tuple[int, ...]:
    """The channel numbers whose bits are set in ``mask`` (ascending)."""
    return tuple(n for n in range(64) if mask >> n & 1)


def _check_channel(ch: int) -> None:
    if not isinstance(ch, int) or isinstance(ch, bool) or not 1 <= ch <= 63:
        raise InvalidInput("channel", f"must be an integer in 1..63, got {ch!r}")


def _check_mask(mask: int) -> None:
    if not 0 <= mask <= 0xFFFF_FFFF_FFFF_FFFF:
        raise InvalidInput("channel_mask", f"must fit in 64 bits, got {mask!r}")


def _tlv(field_id: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise InvalidInput(f"field {field_id}", f"value of {len(value)} bytes exceeds 65535")
    return _TLV.pack(field_id, len(value)) + value


def _frame(msg_type: int, fields: Sequence[tuple[int, bytes]]) -> bytes:
    """Header with the *correct* length prefix (total − 2), then the TLVs."""
    body = b"".join(_tlv(fid, value) for fid, value in fields)
    size = 2 + len(body)
    if size > 0xFFFF:
        raise InvalidInput("frame", f"{size + 2} bytes do not fit a u16 length prefix")
    return _HEAD.pack(size, msg_type, len(fields)) + body


def _ascii(text: str, what: str, max_len: int | None = None) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidInput(what, f"must be ASCII, got {text!r}") from None
    if max_len is not None and len(raw) > max_len:
        raise InvalidInput(what, f"longer than {max_len} bytes: {text!r}")
    return raw


def _short_str(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise InvalidInput(what, f"longer than 255 bytes: {text!r}")
    return bytes([len(raw)]) + raw


def _u8(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise InvalidInput(what, f"must fit in one byte, got {value!r}")
    return bytes([value])


def _pack(st: struct.Struct, what: str, *values: int) -> bytes:
    try:
        return st.pack(*values)
    except struct.error as exc:
        raise InvalidInput(what, f"out of range for the wire format: {exc}") from None


def _header(frame: bytes | bytearray, *, with_count: bool = True) -> tuple[int, int, int]:
    """(length prefix, type, field count) of a frame, or ProtocolError if it is too short."""
    need = 4 if with_count else 3
    if len(frame) < need:
        raise ProtocolError(f"frame of {len(frame)} bytes is shorter than its header", len(frame))
    return frame[0] << 8 | frame[1], frame[2], frame[3] if with_count else 0


def _read_tlvs(
    frame: bytes | bytearray, count: int, pos: int = 4, end: int | None = None
) -> tuple[list[tuple[int, int, bytes]], int]:
    """Walk ``count`` TLVs from ``pos``; returns [(field id, value offset, value)] and the end."""
    limit = len(frame) if end is None else end
    out: list[tuple[int, int, bytes]] = []
    for _ in range(count):
        if pos + 3 > limit:
            raise ProtocolError("truncated field header", pos)
        fid, size = _TLV.unpack_from(frame, pos)
        start = pos + 3
        if start + size > limit:
            raise ProtocolError(f"field {fid} declares {size} bytes, frame ends first", start)
        out.append((fid, start, bytes(frame[start : start + size])))
        pos = start + size
    return out, pos


def _check_end(frame: bytes | bytearray, end: int, strict: bool, *, prefix: bool = True) -> None:
    """Strict mode: no bytes after the declared content, and (server frames) a true prefix."""
    if not strict:
        return
    if end != len(frame):
        raise ProtocolError(f"{len(frame) - end} trailing bytes after the frame", end)
    if prefix and (frame[0] << 8 | frame[1]) != len(frame) - 2:
        declared = frame[0] << 8 | frame[1]
        raise ProtocolError(f"length prefix {declared} but frame is {len(frame)} bytes", 0)


def _field(fields: list[tuple[int, int, bytes]], fid: int, what: str, size: int | None) -> bytes:
    for got, offset, value in fields:
        if got == fid:
            if size is not None and len(value) != size:
                raise ProtocolError(f"{what}: expected {size} bytes, got {len(value)}", offset)
            return value
    raise ProtocolError(f"missing field {fid} ({what})", None)


def _expect_type(frame: bytes | bytearray, want: int) -> None:
    if len(frame) >= 3 and frame[2] != want:
        raise ProtocolError(f"expected message type {want}, got {frame[2]}", 2)


# --------------------------------------------------------------------------------------------
# client → server requests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """Type 1: ``hsm_key`` (from the access token's JWT claims), mode 'P', flag 1, source.

    Flag 1 asks the server for the stream-config JSON in the auth reply (spec 1.3).
    """

    hsm_key: str
    source: str = DEFAULT_SOURCE
    mode: str = "P"
    flag: int = 1

    request_type: ClassVar[RequestType] = RequestType.AUTH

    def serialize(self) -> bytes:
        mode = _ascii(self.mode, "mode")
        if len(mode) != 1:
            raise InvalidInput("mode", f"must be one character, got {self.mode!r}")
        return _frame(
            RequestType.AUTH,
            [
                (1, _ascii(self.hsm_key, "hsm_key")),
                (2, mode),
                (3, _u8(self.flag, "flag")),
                (4, _ascii(self.source, "source")),
            ],
        )

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> AuthRequest:
        _, _, count = _header(frame)
        _expect_type(frame, RequestType.AUTH)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict, prefix=False)
        return cls(
            hsm_key=_field(fields, 1, "hsm_key", None).decode("latin-1"),
            mode=_field(fields, 2, "mode", 1).decode("latin-1"),
            flag=_field(fields, 3, "flag", 1)[0],
            source=_field(fields, 4, "source", None).decode("latin-1"),
        )


@dataclass(frozen=True, slots=True)
class ModeRequest:
    """Type 12: switch the channels in ``mask`` to lite ('L', LTP only) or full ('F') mode."""

    mask: int
    lite: bool

    request_type: ClassVar[RequestType] = RequestType.MODE

    @classmethod
    def for_channel(cls, channel: int = DEFAULT_CHANNEL, *, lite: bool) -> ModeRequest:
        return cls(channel_mask(channel), lite)

    def serialize(self) -> bytes:
        _check_mask(self.mask)
        return _frame(
            RequestType.MODE, [(1, _U64.pack(self.mask)), (2, b"L" if self.lite else b"F")]
        )

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> ModeRequest:
        _, _, count = _header(frame)
        _expect_type(frame, RequestType.MODE)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict, prefix=False)
        mode = _field(fields, 2, "mode", 1)
        if mode not in (b"L", b"F"):
            raise ProtocolError(f"mode byte must be 'L' or 'F', got {mode!r}", None)
        return cls(_U64.unpack(_field(fields, 1, "channel mask", 8))[0], mode == b"L")


@dataclass(frozen=True, slots=True)
class _ScripRequest:
    """Shared layout of subscribe/unsubscribe: scrip blob (u16 count, u8-len topics) + channel."""

    topics: tuple[str, ...]
    channel: int = DEFAULT_CHANNEL

    request_type: ClassVar[RequestType]

    def serialize(self) -> bytes:
        _check_channel(self.channel)
        if isinstance(self.topics, str):
            raise InvalidInput("topics", "must be a sequence of topic strings, not one string")
        if len(self.topics) > 0xFFFF:
            raise InvalidInput("topics", f"{len(self.topics)} topics do not fit a u16 count")
        parts = [_U16.pack(len(self.topics))]
        for topic in self.topics:
            raw = _ascii(topic, "topic", 255)
            parts.append(bytes([len(raw)]) + raw)
        return _frame(self.request_type, [(1, b"".join(parts)), (2, bytes([self.channel]))])

    @classmethod
    def _parse_parts(cls, frame: bytes | bytearray, strict: bool) -> tuple[tuple[str, ...], int]:
        _, _, count = _header(frame)
        _expect_type(frame, cls.request_type)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict, prefix=False)
        blob = _field(fields, 1, "scrip blob", None)
        blob_at = next(off for fid, off, _ in fields if fid == 1)
        channel = _field(fields, 2, "channel", 1)[0]
        if len(blob) < 2:
            raise ProtocolError("scrip blob shorter than its count", blob_at)
        n = _U16.unpack_from(blob)[0]
        pos = 2
        topics: list[str] = []
        for _ in range(n):
            if pos >= len(blob):
                raise ProtocolError("scrip blob ends before its topic count", blob_at + pos)
            size = blob[pos]
            if pos + 1 + size > len(blob):
                raise ProtocolError("topic runs past the scrip blob", blob_at + pos)
            topics.append(blob[pos + 1 : pos + 1 + size].decode("latin-1"))
            pos += 1 + size
        if strict and pos != len(blob):
            raise ProtocolError("trailing bytes in the scrip blob", blob_at + pos)
        return tuple(topics), channel


@dataclass(frozen=True, slots=True)
class SubscribeRequest(_ScripRequest):
    """Type 4: subscribe ``topics`` (``sf|nse_cm|3045`` ...) on ``channel``."""

    request_type: ClassVar[RequestType] = RequestType.SUBSCRIBE

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> SubscribeRequest:
        topics, channel = cls._parse_parts(frame, strict)
        return cls(topics, channel)


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest(_ScripRequest):
    """Type 5: unsubscribe ``topics`` on ``channel`` (same layout as subscribe)."""

    request_type: ClassVar[RequestType] = RequestType.UNSUBSCRIBE

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> UnsubscribeRequest:
        topics, channel = cls._parse_parts(frame, strict)
        return cls(topics, channel)


@dataclass(frozen=True, slots=True)
class _MaskRequest:
    """Shared layout of pause/resume: one TLV holding the u64 channel bitmask."""

    mask: int

    request_type: ClassVar[RequestType]

    def serialize(self) -> bytes:
        _check_mask(self.mask)
        return _frame(self.request_type, [(1, _U64.pack(self.mask))])

    @classmethod
    def _parse_mask(cls, frame: bytes | bytearray, strict: bool) -> int:
        _, _, count = _header(frame)
        _expect_type(frame, cls.request_type)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict, prefix=False)
        value: int = _U64.unpack(_field(fields, 1, "channel mask", 8))[0]
        return value

    @property
    def channels(self) -> tuple[int, ...]:
        return channels_in_mask(self.mask)


@dataclass(frozen=True, slots=True)
class PauseRequest(_MaskRequest):
    """Type 7: stop the server sending data for the channels in ``mask``."""

    request_type: ClassVar[RequestType] = RequestType.PAUSE

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> PauseRequest:
        return cls(cls._parse_mask(frame, strict))


@dataclass(frozen=True, slots=True)
class ResumeRequest(_MaskRequest):
    """Type 8: resume the channels in ``mask``."""

    request_type: ClassVar[RequestType] = RequestType.RESUME

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> ResumeRequest:
        return cls(cls._parse_mask(frame, strict))


@dataclass(frozen=True, slots=True)
class AckRequest:
    """Type 3: acknowledge datafeed frames up to ``message_number``."""

    message_number: int

    request_type: ClassVar[RequestType] = RequestType.ACK

    def serialize(self) -> bytes:
        return _frame(RequestType.ACK, [(1, _pack(_U32, "message_number", self.message_number))])

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> AckRequest:
        _, _, count = _header(frame)
        _expect_type(frame, RequestType.ACK)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict, prefix=False)
        return cls(_U32.unpack(_field(fields, 1, "message number", 4))[0])


@dataclass(frozen=True, slots=True)
class PingRequest:
    """Type 11: exactly ``00 01 0b``; may arrive before the auth frame."""

    request_type: ClassVar[RequestType] = RequestType.PING

    def serialize(self) -> bytes:
        return PING_FRAME

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> PingRequest:
        _header(frame, with_count=False)
        _expect_type(frame, RequestType.PING)
        _check_end(frame, 3, strict, prefix=False)
        return cls()


@dataclass(frozen=True, slots=True)
class RawClientMessage:
    """A request type we do not model (2 throttle, 9 snapshot, 10 option chain, unknown)."""

    request_type: int
    fields: tuple[tuple[int, bytes], ...]

    def serialize(self) -> bytes:
        return _frame(self.request_type, list(self.fields))


ClientMessage: TypeAlias = (
    AuthRequest
    | ModeRequest
    | SubscribeRequest
    | UnsubscribeRequest
    | PauseRequest
    | ResumeRequest
    | AckRequest
    | PingRequest
    | RawClientMessage
)

_CLIENT_PARSERS: Final[Mapping[int, Callable[..., ClientMessage]]] = {
    RequestType.AUTH: AuthRequest.parse,
    RequestType.MODE: ModeRequest.parse,
    RequestType.SUBSCRIBE: SubscribeRequest.parse,
    RequestType.UNSUBSCRIBE: UnsubscribeRequest.parse,
    RequestType.PAUSE: PauseRequest.parse,
    RequestType.RESUME: ResumeRequest.parse,
    RequestType.ACK: AckRequest.parse,
    RequestType.PING: PingRequest.parse,
}


def parse_client_frame(frame: bytes | bytearray, *, strict: bool = False) -> ClientMessage:
    """Decode one client request (what a fake server receives). Never reads the length prefix."""
    _, msg_type, _ = _header(frame, with_count=False)
    parser = _CLIENT_PARSERS.get(msg_type)
    if parser is not None:
        return parser(frame, strict=strict)
    _, _, count = _header(frame)
    fields, end = _read_tlvs(frame, count)
    _check_end(frame, end, strict, prefix=False)
    return RawClientMessage(msg_type, tuple((fid, value) for fid, _, value in fields))


# --------------------------------------------------------------------------------------------
# server → client messages
# --------------------------------------------------------------------------------------------


SdkCallback: TypeAlias = tuple[Literal["on_message", "on_error"], dict[str, object]]
"""Which SDK callback would receive the dict, and the dict (see ``to_sdk`` methods)."""


@dataclass(frozen=True, slots=True)
class AuthReply:
    """Type 1 reply: status ``K``/``N``, ack count, optional stream-config JSON (field 3).

    ``ack_count`` is ``None`` when field 2 is absent. ``ack_width`` is the byte width of field 2:
    4 is what the SDK can read; the live server sends 2 (spec 1.4), which we read correctly.
    """

    status: str = "K"
    ack_count: int | None = 0
    ack_width: int = 4
    config: bytes | None = None

    response_type: ClassVar[ResponseType] = ResponseType.AUTH

    @property
    def ok(self) -> bool:
        return self.status == "K"

    def serialize(self) -> bytes:
        fields = [(1, self.status.encode("latin-1"))]
        if self.ack_count is not None:
            if self.ack_width not in (1, 2, 4, 8):
                raise InvalidInput("ack_width", f"must be 1, 2, 4 or 8, got {self.ack_width}")
            try:
                fields.append((2, self.ack_count.to_bytes(self.ack_width, "big")))
            except OverflowError:
                raise InvalidInput("ack_count", f"does not fit {self.ack_width} bytes") from None
        if self.config is not None:
            fields.append((3, self.config))
        return _frame(ResponseType.AUTH, fields)

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> AuthReply:
        _, _, count = _header(frame)
        _expect_type(frame, ResponseType.AUTH)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict)
        status = _field(fields, 1, "status", None).decode("latin-1")
        ack: int | None = None
        width = 4
        config: bytes | None = None
        for fid, offset, value in fields:
            if fid == 2:
                if not 1 <= len(value) <= 8:
                    raise ProtocolError(f"ack count field of {len(value)} bytes", offset)
                ack, width = int.from_bytes(value, "big"), len(value)
            elif fid == 3:
                config = value
        return cls(status, ack, width, config)


@dataclass(frozen=True, slots=True)
class StatusReply:
    """Types 4, 5, 7, 8, 12: the reply to subscribe, unsubscribe, pause, resume or mode."""

    response_type: ResponseType
    status: str = "K"

    @property
    def ok(self) -> bool:
        return self.status == "K"

    def serialize(self) -> bytes:
        if self.response_type not in _STATUS_TYPES:
            raise InvalidInput("response_type", f"{self.response_type} has no status reply")
        return _frame(self.response_type, [(1, self.status.encode("latin-1"))])

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> StatusReply:
        _, msg_type, count = _header(frame)
        if msg_type not in _STATUS_TYPES:
            raise ProtocolError(f"type {msg_type} is not a status reply", 2)
        fields, end = _read_tlvs(frame, count)
        _check_end(frame, end, strict)
        status = _field(fields, 1, "status", None).decode("latin-1")
        return cls(ResponseType(msg_type), status)


_STATUS_TYPES: Final = frozenset(
    {
        ResponseType.SUBSCRIBE,
        ResponseType.UNSUBSCRIBE,
        ResponseType.PAUSE,
        ResponseType.RESUME,
        ResponseType.MODE,
    }
)


@dataclass(frozen=True, slots=True)
class CustomMessage:
    """Type 51: a server notice (e.g. code 51001 = plan's symbol limit exceeded).

    Also an event: the SDK hands it to ``on_error`` typed by ``ref_type`` (see :attr:`category`).
    The parse honours the length prefix (stops at ``2 + length``), takes fields in any order and
    skips unknown field ids or fields of an unexpected width, as the SDK does.
    """

    code: int = 0
    text: str = ""
    ref_type: int = 0

    response_type: ClassVar[ResponseType] = ResponseType.CUSTOM

    @property
    def category(self) -> str:
        """``cn``/``sub``/``unsub``/``cp``/``cr`` for ref types 1/4/5/7/8, else ``msg``."""
        return _CUSTOM_TYPES.get(self.ref_type, "msg")

    def serialize(self) -> bytes:
        return _frame(
            ResponseType.CUSTOM,
            [
                (1, _pack(_I32, "code", self.code)),
                (2, self.text.encode("utf-8")),
                (3, _u8(self.ref_type, "ref_type")),
            ],
        )

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> CustomMessage:
        length, _, count = _header(frame)
        _expect_type(frame, ResponseType.CUSTOM)
        end = 2 + length
        if end > len(frame):
            raise ProtocolError(f"length prefix {length} runs past the frame", len(frame))
        fields, stop = _read_tlvs(frame, count, 4, end)
        if strict and stop != end:
            raise ProtocolError(f"{end - stop} unused bytes inside the declared length", stop)
        _check_end(frame, end, strict)
        code, text, ref = 0, "", 0
        for fid, _, value in fields:
            if fid == 1 and len(value) == 4:
                code = _I32.unpack(value)[0]
            elif fid == 2:
                text = value.decode("utf-8", errors="replace")
            elif fid == 3 and len(value) == 1:
                ref = value[0]
        return cls(code, text, ref)

    def to_sdk(self) -> SdkCallback:
        return (
            "on_error",
            {"type": self.category, "code": self.code, "message": self.text, "s": "error"},
        )


@dataclass(frozen=True, slots=True)
class OpaqueMessage:
    """A server message we do not interpret (type 13 "master data", unknown types)."""

    response_type: int
    body: bytes = b""

    def serialize(self) -> bytes:
        size = 1 + len(self.body)
        if size > 0xFFFF:
            raise InvalidInput("body", f"{size + 2} bytes do not fit a u16 length prefix")
        return _U16.pack(size) + bytes([self.response_type]) + self.body

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> OpaqueMessage:
        _header(frame, with_count=False)
        _check_end(frame, len(frame), strict)
        return cls(frame[2], bytes(frame[3:]))


# ---- datafeed (type 6) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """'S' (83): first record for a topic; announces its id, scaling and names; full values."""

    topic_id: int
    topic: str
    values: tuple[int, ...]
    multiplier: int = 1
    precision: int = 2
    exchange: str = ""
    exchange_token: str = ""
    trading_symbol: str = ""
    reserved: int = 0

    def serialize(self) -> bytes:
        if len(self.values) > 255:
            raise InvalidInput("values", f"{len(self.values)} values do not fit a u8 count")
        if self.multiplier == 0:
            raise InvalidInput("multiplier", "must not be 0 (prices are divided by it)")
        return b"".join(
            (
                bytes([_REC_SNAPSHOT]),
                _pack(_U16, "topic_id", self.topic_id),
                _short_str(self.topic, "topic"),
                bytes([len(self.values)]),
                _pack(_INTS[len(self.values)], "values", *self.values),
                _pack(
                    _SNAP_TAIL,
                    "reserved/multiplier/precision",
                    self.reserved,
                    self.multiplier,
                    self.precision,
                ),
                _short_str(self.exchange, "exchange"),
                _short_str(self.exchange_token, "exchange_token"),
                _short_str(self.trading_symbol, "trading_symbol"),
            )
        )


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    """'U' (85): new values for a known topic, by position; :data:`SENTINEL` = unchanged."""

    topic_id: int
    values: tuple[int, ...]

    def serialize(self) -> bytes:
        if len(self.values) > 255:
            raise InvalidInput("values", f"{len(self.values)} values do not fit a u8 count")
        return (
            bytes([_REC_UPDATE])
            + _pack(_UPDATE_HEAD, "topic_id", self.topic_id, len(self.values))
            + _pack(_INTS[len(self.values)], "values", *self.values)
        )


@dataclass(frozen=True, slots=True)
class LiteRecord:
    """'L' (76): a new value for position 0 (LTP) of a known scrip or index topic."""

    topic_id: int
    value: int

    def serialize(self) -> bytes:
        return bytes([_REC_LITE]) + _pack(_LITE_BODY, "topic_id/value", self.topic_id, self.value)


FeedRecord: TypeAlias = SnapshotRecord | UpdateRecord | LiteRecord

# Snapshot meta: (topic, reserved, multiplier, precision, exchange, token, trading symbol).
_SnapMeta: TypeAlias = tuple[str, int, int, int, str, str, str]


def _short_text(buf: bytes | bytearray, pos: int, what: str, strict_utf8: bool) -> tuple[str, int]:
    if pos >= len(buf):
        raise ProtocolError(f"truncated snapshot: {what} length missing", pos)
    size = buf[pos]
    end = pos + 1 + size
    if end > len(buf):
        raise ProtocolError(f"truncated snapshot: {what} runs past the frame", pos)
    raw = bytes(buf[pos + 1 : end])
    if strict_utf8:
        try:
            return raw.decode("utf-8"), end
        except UnicodeDecodeError:
            raise ProtocolError(f"{what} is not UTF-8", pos + 1) from None
    return raw.decode("utf-8", errors="replace"), end


def _parse_snapshot(
    frame: bytes | bytearray, pos: int
) -> tuple[int, int, tuple[int, ...], _SnapMeta]:
    """The 'S' record at ``pos`` → (end, topic id, raw values, meta). Shared by both decoders."""
    n = len(frame)
    if pos + 3 > n:
        raise ProtocolError("truncated snapshot header", pos)
    tid: int = _U16.unpack_from(frame, pos + 1)[0]
    topic, pos = _short_text(frame, pos + 3, "topic", True)
    if pos >= n:
        raise ProtocolError("truncated snapshot: value count missing", pos)
    fc = frame[pos]
    pos += 1
    if pos + 4 * fc + 5 > n:
        raise ProtocolError(f"snapshot with {fc} values runs past the frame", pos)
    values: tuple[int, ...] = _INTS[fc].unpack_from(frame, pos)
    pos += 4 * fc
    reserved, multiplier, precision = _SNAP_TAIL.unpack_from(frame, pos)
    if multiplier == 0:
        raise ProtocolError(f"snapshot of {topic!r} has multiplier 0", pos + 2)
    exchange, pos = _short_text(frame, pos + 5, "exchange", False)
    token, pos = _short_text(frame, pos, "exchange token", False)
    symbol, pos = _short_text(frame, pos, "trading symbol", False)
    return pos, tid, values, (topic, reserved, multiplier, precision, exchange, token, symbol)


def _feed_header(frame: bytes | bytearray) -> tuple[int, int]:
    if len(frame) < 9:
        raise ProtocolError(
            f"datafeed frame of {len(frame)} bytes is shorter than its 9-byte header", len(frame)
        )
    _, _, msg_no, count = _FEED_HEAD.unpack_from(frame, 0)
    return msg_no, count


def _scan_datafeed(frame: bytes | bytearray, strict: bool) -> tuple[int, list[FeedRecord]]:
    """Parse a whole type-6 frame into records, statelessly (the codec has a fused fast path)."""
    msg_no, count = _feed_header(frame)
    n = len(frame)
    pos = 9
    out: list[FeedRecord] = []
    for _ in range(count):
        if pos >= n:
            raise ProtocolError("truncated datafeed: record missing", pos)
        kind = frame[pos]
        if kind == _REC_UPDATE:
            if pos + 4 > n:
                raise ProtocolError("truncated update record header", pos)
            tid, fc = _UPDATE_HEAD.unpack_from(frame, pos + 1)
            end = pos + 4 + 4 * fc
            if end > n:
                raise ProtocolError(f"update record with {fc} values runs past the frame", pos)
            out.append(UpdateRecord(tid, _INTS[fc].unpack_from(frame, pos + 4)))
            pos = end
        elif kind == _REC_LITE:
            if pos + 7 > n:
                raise ProtocolError("truncated lite record", pos)
            tid, value = _LITE_BODY.unpack_from(frame, pos + 1)
            out.append(LiteRecord(tid, value))
            pos += 7
        elif kind == _REC_SNAPSHOT:
            pos, tid, values, meta = _parse_snapshot(frame, pos)
            topic, reserved, mult, prec, exch, token, sym = meta
            out.append(SnapshotRecord(tid, topic, values, mult, prec, exch, token, sym, reserved))
        else:
            raise ProtocolError(f"unknown datafeed record kind {kind}", pos)
    _check_end(frame, pos, strict)
    return msg_no, out


@dataclass(frozen=True, slots=True)
class DataFeed:
    """Type 6: ``u32 message_number``, ``u16 record count``, records back to back."""

    message_number: int
    records: tuple[FeedRecord, ...]

    response_type: ClassVar[ResponseType] = ResponseType.DATAFEED

    def serialize(self) -> bytes:
        if len(self.records) > 0xFFFF:
            raise InvalidInput("records", f"{len(self.records)} records do not fit a u16 count")
        body = b"".join(r.serialize() for r in self.records)
        size = 7 + len(body)
        if size > 0xFFFF:
            raise InvalidInput("records", f"{size + 2}-byte frame does not fit a u16 length")
        return (
            _U16.pack(size)
            + bytes([ResponseType.DATAFEED])
            + _pack(_U32, "message_number", self.message_number)
            + _U16.pack(len(self.records))
            + body
        )

    @classmethod
    def parse(cls, frame: bytes | bytearray, *, strict: bool = False) -> DataFeed:
        _expect_type(frame, ResponseType.DATAFEED)
        msg_no, records = _scan_datafeed(frame, strict)
        return cls(msg_no, tuple(records))


ServerMessage: TypeAlias = AuthReply | StatusReply | DataFeed | CustomMessage | OpaqueMessage


def parse_server_frame(frame: bytes | bytearray, *, strict: bool = False) -> ServerMessage:
    """Decode one server message statelessly (tests, the fake server's own checks, tools)."""
    _, msg_type, _ = _header(frame, with_count=False)
    if msg_type == ResponseType.DATAFEED:
        return DataFeed.parse(frame, strict=strict)
    if msg_type == ResponseType.AUTH:
        return AuthReply.parse(frame, strict=strict)
    if msg_type in _STATUS_TYPES:
        return StatusReply.parse(frame, strict=strict)
    if msg_type == ResponseType.CUSTOM:
        return CustomMessage.parse(frame, strict=strict)
    return OpaqueMessage.parse(frame, strict=strict)


# --------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------


_EXACT: Final = Context(prec=60)


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What a snapshot announced about a topic; shared by every tick of that topic."""

    topic_id: int
    topic: str
    kind: str  # "sf", "if", "dp", or whatever precedes the first "|"
    multiplier: int
    precision: int
    exchange: str
    exchange_token: str
    trading_symbol: str
    divisor: int = field(init=False)
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "divisor", 10**self.precision * self.multiplier)
        layout = _LAYOUTS.get(self.kind)
        object.__setattr__(self, "names", layout.names if layout else ())

    def position(self, name: str | int) -> int:
        """Position of a field name (or pass a position through)."""
        if isinstance(name, int):
            return name
        layout = _LAYOUTS.get(self.kind)
        if layout is None or name not in layout.index:
            raise InvalidInput("field", f"{name!r} is not a field of {self.kind!r} topics")
        return layout.index[name]

    def is_price(self, position: int) -> bool:
        layout = _LAYOUTS.get(self.kind)
        return layout is not None and position in layout.prices

    def scale(self, raw: int) -> Decimal:
        """``raw / (10**precision * multiplier)`` as a Decimal (exact for power-of-ten divisors)."""
        if self.multiplier == 1:
            return Decimal(raw).scaleb(-self.precision, _EXACT)
        return _EXACT.divide(Decimal(raw), Decimal(self.divisor))


class Tick(NamedTuple):
    """One record that changed a topic's state, carrying the FULL merged state (not a delta).

    ``values`` holds the raw i32 of every position of the topic's layout (``None`` = never
    received). Prices are raw integers; :meth:`price` scales them exactly to ``Decimal`` using
    the snapshot's precision/multiplier, :meth:`paise` gives integer paise, :meth:`sdk_dict`
    the float dict the official SDK would deliver.

    A NamedTuple rather than a frozen dataclass: one is built per record on the hot path and
    a tuple is about four times cheaper to build; it is just as immutable.
    """

    info: TopicInfo
    values: tuple[int | None, ...]
    message_number: int
    record: int  # a RecordKind value: 83 snapshot, 85 update, 76 lite
    symbol: str | None  # the Fyers symbol the client mapped to this topic, if any

    @property
    def topic(self) -> str:
        return self.info.topic

    @property
    def kind(self) -> str:
        return self.info.kind

    def raw(self, name: str | int) -> int | None:
        pos = self.info.position(name)
        return self.values[pos] if pos < len(self.values) else None

    def price(self, name: str | int) -> Decimal | None:
        raw = self.raw(name)
        return None if raw is None else self.info.scale(raw)

    def paise(self, name: str | int) -> int | None:
        """Integer paise (1/100 rupee); ValueError if the value is not a whole number of paise."""
        raw = self.raw(name)
        if raw is None:
            return None
        q, r = divmod(raw * 100, self.info.divisor)
        if r:
            raise ValueError(f"{raw}/{self.info.divisor} is not a whole number of paise")
        return q

    @property
    def ltp(self) -> Decimal | None:
        return self.price(0) if self.values else None

    @property
    def ltp_paise(self) -> int | None:
        return self.paise(0) if self.values else None

    def as_dict(self) -> dict[str, Decimal | int]:
        """Named fields received so far; prices as exact Decimals, the rest as ints."""
        info = self.info
        layout = _LAYOUTS.get(info.kind)
        out: dict[str, Decimal | int] = {}
        if layout is None:
            return out
        for pos, name in enumerate(layout.names):
            v = self.values[pos]
            if v is not None:
                out[name] = info.scale(v) if pos in layout.prices else v
        return out

    def sdk_dict(self, lite: bool = False) -> dict[str, object]:
        """The dict the official SDK's ``on_message`` gets for this state (spec 1.7).

        Same keys, order and float arithmetic as SDK 3.2.0, except where the SDK is wrong:
        an index with previous close 0 gets no ``ch``/``chp`` (the SDK raises and drops the tick),
        depth in lite mode delivers the depth dict (the SDK delivers nothing), and a lite tick
        without an LTP omits ``ltp`` (the SDK raises). Topics of other kinds give
        ``{"f0": raw, ..., "type", "symbol"}``.
        """
        info = self.info
        vals = self.values
        div = info.divisor
        kind = info.kind
        symbol = self.symbol if self.symbol is not None else info.topic
        out: dict[str, object] = {}
        if lite and kind in ("sf", "if"):
            if vals[0] is not None:
                out["ltp"] = vals[0] / div
            out["symbol"] = symbol
            out["type"] = kind
            return out
        plan = _SDK_PLAN.get(kind)
        if plan is None:
            for pos, v in enumerate(vals):
                if v is not None:
                    out[f"f{pos}"] = v
        else:
            for pos, name, how in plan:
                v = vals[pos]
                if v is not None:
                    out[name] = v / div if how & _SCALED else (0 if how else v)
                if how == _CHANGE_AFTER:  # the SDK inserts index ch/chp after the close
                    _change(out, 2)
        out["type"] = kind
        out["symbol"] = symbol
        if kind == "sf":
            out.setdefault("lower_ckt", 0)
            out.setdefault("upper_ckt", 0)
            _change(out, 4)
        return out


# How sdk_dict renders each position: raw int, scaled price, forced 0 (circuit limits), or
# scaled + "insert ch/chp here" (index close; bit 0 = scaled). OI and 52-week high/low are
# never delivered.
_RAW, _SCALED, _ZERO, _CHANGE_AFTER = 0, 1, 2, 3
_SDK_PLAN: Final[Mapping[str, tuple[tuple[int, str, int], ...]]] = {
    kind: tuple(
        (
            pos,
            name,
            _ZERO
            if name in ("lower_ckt", "upper_ckt")
            else _CHANGE_AFTER
            if kind == "if" and pos == 1
            else _SCALED
            if pos in layout.prices
            else _RAW,
        )
        for pos, name in enumerate(layout.names)
        if name not in ("OI", "Yhigh", "Ylow")
    )
    for kind, layout in _LAYOUTS.items()
}


def _change(out: dict[str, object], digits: int) -> None:
    """Add ``ch`` / ``chp`` (rounded like the SDK, chp from the rounded ch) if defined."""
    ltp = out.get("ltp")
    close = out.get("prev_close_price")
    if isinstance(ltp, float) and isinstance(close, float) and close != 0:
        ch = round(ltp - close, digits)
        out["ch"] = ch
        out["chp"] = round(ch / close * 100, digits)


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The auth reply arrived: ``ok`` or not, and the ack cadence the server asked for."""

    ok: bool
    status: str
    ack_count: int
    config: bytes | None = None

    def to_sdk(self) -> SdkCallback:
        if self.ok:
            msg = {"type": "cn", "code": 200, "message": "Authentication done", "s": "ok"}
            return ("on_message", dict(msg))
        err = {"type": "cn", "code": 11001, "message": "Authentication failed", "s": "error"}
        return ("on_error", dict(err))


_CONTROL_SDK: Final[Mapping[int, tuple[str, str, int, str]]] = {
    # response type: (sdk type, success message, failure code, failure message)
    ResponseType.SUBSCRIBE: ("sub", "Subscribed", 11011, "subscription failed"),
    ResponseType.UNSUBSCRIBE: ("unsub", "Unsubscribed", 11012, "unsubscription failed"),
    ResponseType.PAUSE: ("cp", "Channel Paused", 11031, "Mode change failed"),
    ResponseType.RESUME: ("cr", "Channel Resumed", 11032, "Mode change failed"),
}


@dataclass(frozen=True, slots=True)
class ControlResult:
    """Reply to subscribe / unsubscribe / pause / resume / mode (``request`` says which).

    ``lite`` is the mode the codec last requested (mode replies only; ``None`` otherwise).
    """

    request: ResponseType
    ok: bool
    status: str
    lite: bool | None = None

    def to_sdk(self) -> SdkCallback:
        """SDK-compatible dict. A failed pause gets code 11031 (the SDK crashes instead)."""
        if self.request == ResponseType.MODE:
            if not self.ok:
                return ("on_error", {"code": 12001, "message": "Mode change failed", "s": "error"})
            kind, text = ("lit", "Lite Mode On") if self.lite else ("ful", "Full Mode On")
            return ("on_message", {"type": kind, "code": 200, "message": text, "s": "ok"})
        kind, text, code, fail = _CONTROL_SDK[self.request]
        if self.ok:
            return ("on_message", {"type": kind, "code": 200, "message": text, "s": "ok"})
        return ("on_error", {"type": kind, "code": code, "message": fail, "s": "error"})


@dataclass(frozen=True, slots=True)
class FrameIgnored:
    """A server message the client has no use for (type 13 master data, unknown types)."""

    response_type: int
    size: int


Event: TypeAlias = Tick | AuthResult | ControlResult | CustomMessage | FrameIgnored

# --------------------------------------------------------------------------------------------
# the stateful client codec
# --------------------------------------------------------------------------------------------


class DataCodec:
    """Client side of one data-socket connection, without I/O (python-websockets style).

    Feed every received binary message to :meth:`receive_data`; collect :meth:`events_received`;
    queue requests with :meth:`authenticate`, :meth:`set_mode`, :meth:`subscribe`,
    :meth:`unsubscribe`, :meth:`pause`, :meth:`resume`, :meth:`ack`, :meth:`ping` and send what
    :meth:`data_to_send` returns. Use one codec per connection (topic ids are per connection);
    hand the next one the same ``symbols`` map.

    Datafeed semantics (spec 1.5/1.7): a snapshot replaces the topic's state; an update merges
    (the sentinel never overwrites); a lite record merges position 0. One :class:`Tick` per
    record that changed at least one value (snapshots always emit). Values past a known kind's
    layout (sf 21, if 6, dp 30) are ignored -- the SDK instead writes a 22nd value into its
    ``type`` key and drops frames with 24+. Update/lite records for an unannounced topic id,
    and lite records for depth topics, raise ``ProtocolError`` (no guessing).

    Acks: once the auth reply declared ``ack_count > 0``, every ``ack_count``-th datafeed frame
    (frames, not records; malformed frames do not count) queues an ack with that frame's number.
    The SDK reads the live server's 2-byte ack count as ~131942 and so practically never acks;
    we read it as sent (2), like the vendor's JS library. ``auto_ack=False`` turns acks off.
    """

    def __init__(
        self,
        *,
        symbols: Mapping[str, str] | None = None,
        lite: bool = False,
        source: str = DEFAULT_SOURCE,
        strict: bool = False,
        auto_ack: bool = True,
    ) -> None:
        self.lite = lite
        self.auto_ack = auto_ack
        self.source = source
        self.strict = strict
        self.authenticated: bool | None = None  # None until the auth reply arrives
        self.ack_count = 0
        self.frames_since_ack = 0
        self.last_message_number: int | None = None
        self._symbols: dict[str, str] = dict(symbols or {})
        self._state: dict[int, Tick] = {}  # topic id → latest merged state
        self._by_topic: dict[str, int] = {}  # topic → the id of its latest snapshot
        # id → the topic it announces now. A re-announced id takes its old topic's entry out of
        # ``_by_topic``, so that map never outgrows the (u16-bounded) ids and ``latest(old)``
        # never answers with the new topic's tick.
        self._topic_of: dict[int, str] = {}
        self._events: list[Event] = []
        self._outgoing: list[bytes] = []

    # ---- symbols -------------------------------------------------------------------------

    @property
    def symbols(self) -> Mapping[str, str]:
        """Read-only view of ``topic → Fyers symbol`` (``sf|nse_cm|3045 → NSE:SBIN-EQ``)."""
        return MappingProxyType(self._symbols)

    def map_symbols(self, mapping: Mapping[str, str]) -> None:
        """Label ticks of these topics with these Fyers symbols (filled from symbol-token)."""
        self._symbols.update(mapping)

    def unmap_symbols(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self._symbols.pop(topic, None)

    # ---- outgoing ------------------------------------------------------------------------

    def authenticate(self, hsm_key: str) -> None:
        self._outgoing.append(AuthRequest(hsm_key, self.source).serialize())

    def set_mode(self, lite: bool, channel: int = DEFAULT_CHANNEL) -> None:
        """Request lite/full mode; :attr:`lite` (used for SDK-style dicts) follows the request."""
        self._outgoing.append(ModeRequest.for_channel(channel, lite=lite).serialize())
        self.lite = lite

    def subscribe(self, topics: Iterable[str], channel: int = DEFAULT_CHANNEL) -> None:
        """Queue subscribe frames, at most :data:`MAX_TOPICS_PER_FRAME` topics each."""
        self._queue_topics(SubscribeRequest, topics, channel)

    def unsubscribe(self, topics: Iterable[str], channel: int = DEFAULT_CHANNEL) -> None:
        self._queue_topics(UnsubscribeRequest, topics, channel)

    def _queue_topics(self, cls: type[_ScripRequest], topics: Iterable[str], channel: int) -> None:
        if isinstance(topics, str):
            raise InvalidInput("topics", "must be an iterable of topics, not one string")
        items = tuple(topics)
        frames = [
            cls(items[i : i + MAX_TOPICS_PER_FRAME], channel).serialize()
            for i in range(0, len(items), MAX_TOPICS_PER_FRAME)
        ]
        self._outgoing.extend(frames)  # all or nothing: serialize validates first

    def pause(self, *channels: int) -> None:
        self._outgoing.append(PauseRequest(channel_mask(*channels)).serialize())

    def resume(self, *channels: int) -> None:
        self._outgoing.append(ResumeRequest(channel_mask(*channels)).serialize())

    def ack(self, message_number: int) -> None:
        self._outgoing.append(AckRequest(message_number).serialize())

    def ping(self) -> None:
        self._outgoing.append(PING_FRAME)

    def data_to_send(self) -> list[bytes]:
        """Frames to send, in order, each one WebSocket binary message; clears the queue."""
        out, self._outgoing = self._outgoing, []
        return out

    # ---- incoming ------------------------------------------------------------------------

    def events_received(self) -> list[Event]:
        """Events parsed since the last call, in order; clears the list."""
        out, self._events = self._events, []
        return out

    def latest(self, topic: str) -> Tick | None:
        """The current merged state of ``topic``, or ``None`` before its snapshot."""
        tid = self._by_topic.get(topic)
        return None if tid is None else self._state.get(tid)

    @property
    def topic_ids(self) -> Mapping[int, str]:
        """Topic id → topic, as announced by the snapshots so far."""
        return {tid: tick.info.topic for tid, tick in self._state.items()}

    def receive_data(self, frame: bytes | bytearray) -> None:
        """Parse one server message. On ProtocolError nothing changed (no events, no state)."""
        if not isinstance(frame, bytes | bytearray):
            raise ProtocolError(f"expected a binary frame, got {type(frame).__name__}", 0)
        if len(frame) >= 3 and frame[2] == _DATAFEED:
            self._receive_datafeed(frame)
            return
        msg = parse_server_frame(frame, strict=self.strict)
        if isinstance(msg, AuthReply):
            ack = msg.ack_count or 0
            self.authenticated = msg.ok
            self.ack_count = ack
            self.frames_since_ack = 0
            self._events.append(AuthResult(msg.ok, msg.status, ack, msg.config))
        elif isinstance(msg, StatusReply):
            lite = self.lite if msg.response_type == ResponseType.MODE else None
            self._events.append(ControlResult(msg.response_type, msg.ok, msg.status, lite))
        elif isinstance(msg, CustomMessage):
            self._events.append(msg)
        elif isinstance(msg, OpaqueMessage):
            self._events.append(FrameIgnored(msg.response_type, len(frame)))

    def _announce(self, announced: list[tuple[str, int]]) -> None:
        """Point each announced topic at its id, in order; an id's previous topic loses it."""
        by_topic, topic_of = self._by_topic, self._topic_of
        for topic, tid in announced:
            before = topic_of.get(tid)
            if before is not None and before != topic and by_topic.get(before) == tid:
                del by_topic[before]
            topic_of[tid] = topic
            by_topic[topic] = tid

    def _receive_datafeed(self, frame: bytes | bytearray) -> None:
        """Decode and merge one type-6 frame; state and events are committed only at the end.

        An update merges through helpers cached by its sentinel pattern (see ``_MERGES``): a
        strided slice, a translate, a dict lookup, two unpacks and an itemgetter -- C calls
        only, no Python code per value, and int objects only for the values that changed.
        """
        msg_no, count = _feed_header(frame)
        if not isinstance(frame, bytes):
            frame = bytes(frame)  # slices must be hashable (cache keys)
        n = len(frame)
        pos = 9
        state = self._state
        symbols = self._symbols
        pending: dict[int, Tick] = {}  # changes of this frame
        events: list[Event] = []
        announced: list[tuple[str, int]] = []
        sentinel = SENTINEL
        new_tick = tuple.__new__  # skips NamedTuple's Python-level __new__
        tick_cls = Tick
        merges, lead_80 = _MERGES, _LEAD_80
        update_kind, lite_kind = _REC_UPDATE, _REC_LITE
        update_head, lite_body = _UPDATE_AT.unpack_from, _LITE_BODY.unpack_from
        values: _Values
        for _ in range(count):
            if pos >= n:
                raise ProtocolError("truncated datafeed: record missing", pos)
            at = pos
            kind = frame[at]
            if kind == update_kind:
                start = pos + 4
                if start > n:
                    raise ProtocolError("truncated update record header", at)
                tid, fc = update_head(frame, at)
                pos = start + 4 * fc
                if pos > n:
                    raise ProtocolError(f"update record with {fc} values runs past the frame", at)
                tick = pending.get(tid) or state.get(tid)
                if tick is None:
                    raise ProtocolError(f"update for unknown topic id {tid}", at)
                cur = tick[1]  # (indexing a NamedTuple is faster than its attributes)
                if not fc or not cur:
                    continue  # nothing to merge
                merge = None
                if fc == len(cur):  # what the feed sends; other counts take the slow path
                    lead = frame[start:pos:4].translate(lead_80)
                    merge = merges.get(lead) or _merge_for(lead)
                if merge is None:
                    values = _merge_values(frame, start, fc, cur)
                else:
                    check, sentinels, fresh, pick = merge
                    if check(frame, start) == sentinels:
                        values = pick(fresh(frame, start) + cur)
                    else:  # a lane starting 0x80 is not the sentinel
                        values = _merge_values(frame, start, fc, cur)
                if values == cur:
                    continue
            elif kind == lite_kind:
                if pos + 7 > n:
                    raise ProtocolError("truncated lite record", pos)
                tid, v = lite_body(frame, pos + 1)
                pos += 7
                tick = pending.get(tid) or state.get(tid)
                if tick is None:
                    raise ProtocolError(f"lite record for unknown topic id {tid}", at)
                cur = tick.values
                if tick.info.kind == "dp" or not cur:
                    raise ProtocolError(f"lite record for {tick.info.topic!r} (no LTP field)", at)
                if v == sentinel or v == cur[0]:
                    continue
                values = (v, *cur[1:])
            elif kind == _REC_SNAPSHOT:
                pos, tid, raw, meta = _parse_snapshot(frame, pos)
                topic, _, mult, prec, exch, token, tsym = meta
                info = TopicInfo(tid, topic, topic.partition("|")[0], mult, prec, exch, token, tsym)
                layout = _LAYOUTS.get(info.kind)
                width = layout.width if layout is not None else len(raw)
                raw = raw[:width] + (sentinel,) * (width - len(raw))
                values = tuple([None if v == sentinel else v for v in raw])
                tick = new_tick(tick_cls, (info, values, msg_no, kind, symbols.get(topic)))
                pending[tid] = tick
                announced.append((topic, tid))
                events.append(tick)
                continue
            else:
                raise ProtocolError(f"unknown datafeed record kind {kind}", pos)
            info = tick[0]
            tick = new_tick(tick_cls, (info, values, msg_no, kind, symbols.get(info.topic)))
            pending[tid] = tick
            events.append(tick)
        _check_end(frame, pos, self.strict)
        # commit: everything above succeeded
        state.update(pending)
        if announced:
            self._announce(announced)
        self._events.extend(events)
        self.last_message_number = msg_no
        if self.ack_count > 0 and self.auto_ack:
            self.frames_since_ack += 1
            if self.frames_since_ack >= self.ack_count:
                self.frames_since_ack = 0
                self._outgoing.append(AckRequest(msg_no).serialize())
