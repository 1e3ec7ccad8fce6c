"""The Fyers data socket's wire format (spec section 1): message, request and record codes, the
field lists of each record kind and their layouts, the struct formats, and the small framing
primitives (TLV fields, headers, bounds checks) that the frame modules are built from.
Constants and pure functions only, no I/O: the codec, the request and reply classes and the
fake server share this one definition.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from livetrade.errors import InvalidInput, ProtocolError

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
