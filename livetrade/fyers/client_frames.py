"""Client-to-server frames of the Fyers data socket (spec 1.3-1.4): one frozen dataclass per
request (auth, mode, subscribe, unsubscribe, pause, resume, ack, ping) with ``serialize()`` and
``parse()``, and :func:`parse_client_frame`, which the fake server uses to read what a client
sent. Sans-I/O: bytes in, records out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, TypeAlias

from livetrade.errors import InvalidInput, ProtocolError
from livetrade.fyers.wire import (
    _U16,
    _U32,
    _U64,
    DEFAULT_CHANNEL,
    DEFAULT_SOURCE,
    PING_FRAME,
    RequestType,
    _ascii,
    _check_channel,
    _check_end,
    _check_mask,
    _expect_type,
    _field,
    _frame,
    _header,
    _pack,
    _read_tlvs,
    _u8,
    channel_mask,
    channels_in_mask,
)

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
