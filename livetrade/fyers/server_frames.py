"""Server-to-client frames of the Fyers data socket (spec 1.5-1.7): the auth and status
replies, custom and opaque messages, and the datafeed frame with its snapshot, update and lite
records, each with ``serialize()`` (the fake server's side) and ``parse()``, plus
:func:`parse_server_frame`. Sans-I/O; the stateful reading of datafeeds is :mod:`codec`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final, Literal, TypeAlias

from livetrade.errors import InvalidInput, ProtocolError
from livetrade.fyers.wire import (
    _CUSTOM_TYPES,
    _FEED_HEAD,
    _I32,
    _INTS,
    _LITE_BODY,
    _REC_LITE,
    _REC_SNAPSHOT,
    _REC_UPDATE,
    _SNAP_TAIL,
    _U16,
    _U32,
    _UPDATE_HEAD,
    ResponseType,
    _check_end,
    _expect_type,
    _field,
    _frame,
    _header,
    _pack,
    _read_tlvs,
    _short_str,
    _u8,
)

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
