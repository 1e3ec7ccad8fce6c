"""Tests of the sans-I/O Fyers data-socket codec and the symbol/token helpers.

Every hex example of spec section 1 is reproduced byte for byte; every message type round-trips
(hypothesis); every strict prefix of a valid frame is rejected without touching codec state;
trailing garbage is ignored by default and rejected in strict mode; the merge is checked
against a plain dict model.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livetrade.errors import InvalidInput, ProtocolError
from livetrade.fyers.codec import (
    DEPTH_FIELDS,
    INDEX_FIELDS,
    MAX_TOPICS_PER_FRAME,
    PING_FRAME,
    SCRIP_FIELDS,
    SENTINEL,
    AckRequest,
    AuthReply,
    AuthRequest,
    AuthResult,
    ControlResult,
    CustomMessage,
    DataCodec,
    DataFeed,
    FeedRecord,
    FrameIgnored,
    LiteRecord,
    ModeRequest,
    OpaqueMessage,
    PauseRequest,
    PingRequest,
    RawClientMessage,
    RecordKind,
    ResponseType,
    ResumeRequest,
    SnapshotRecord,
    StatusReply,
    SubscribeRequest,
    Tick,
    UnsubscribeRequest,
    UpdateRecord,
    channel_mask,
    channels_in_mask,
    parse_client_frame,
    parse_server_frame,
)
from livetrade.fyers.symbols import (
    DataType,
    decode_access_token,
    index_topic_name,
    map_symbols,
    mint_fake_token,
    parse_symbol,
    segment_for,
    split_access_token,
    topic_for,
)


def h(text: str) -> bytes:
    """Hex with spaces and '|' separators, as written in the spec."""
    return bytes.fromhex(text.replace("|", " "))


# ---- the spec's examples (section 1.3-1.5), verbatim -------------------------------------

SPEC_AUTH = h(
    "00 25 01 04 | 01 00 06 61 62 63 31 32 33 | 02 00 01 50 | 03 00 01 01 | "
    "04 00 0f 50 79 74 68 6f 6e 53 44 4b 2d 33 2e 32 2e 30"
)
SPEC_MODE_FULL = h("00 00 0c 02 01 00 08 00 00 00 00 00 00 08 00 02 00 01 46")
SPEC_MODE_LITE = SPEC_MODE_FULL[:-1] + b"\x4c"
SPEC_SUBSCRIBE = h(
    "00 b3 04 02 | 01 00 24 00 02 0e 73 66 7c 6e 73 65 5f 63 6d 7c 33 30 34 35 12 69 66 7c 6e 73 "
    "65 5f 63 6d 7c 4e 69 66 74 79 20 35 30 | 02 00 01 0b"
)
SPEC_UNSUBSCRIBE = SPEC_SUBSCRIBE[:2] + b"\x05" + SPEC_SUBSCRIBE[3:]
SPEC_PAUSE = h("00 00 07 01 01 00 08 00 00 00 00 00 00 08 00")
SPEC_RESUME = SPEC_PAUSE[:2] + b"\x08" + SPEC_PAUSE[3:]
SPEC_ACK = h("00 09 03 01 01 00 04 00 00 00 07")
SPEC_PING = h("00 01 0b")

SPEC_AUTH_OK = h("00 0d 01 02 01 00 01 4b 02 00 04 00 00 00 00")
SPEC_AUTH_FAILED = h("00 0d 01 02 01 00 01 4e 02 00 04 00 00 00 00")
SPEC_SUBSCRIBE_OK = h("00 06 04 01 01 00 01 4b")
SPEC_MODE_OK = h("00 06 0c 01 01 00 01 4b")
SPEC_CUSTOM = h("00 15 33 03 01 00 04 00 00 c7 39 02 00 05 6c 69 6d 69 74 03 00 01 04")

SPEC_FEED = [
    h(
        "00 56 06 00 00 00 01 00 01 53 00 01 12 69 66 7c 6e 73 65 5f 63 6d 7c 4e 69 66 74 79 20 "
        "35 30 06 00 22 55 10 00 22 2e 00 65 53 f1 00 00 22 7c 20 00 22 06 f0 80 00 00 00 00 00 "
        "00 01 02 03 4e 53 45 08 4e 69 66 74 79 20 35 30 0d 4e 49 46 54 59 35 30 2d 49 4e 44 45 58"
    ),
    h(
        "00 23 06 00 00 00 02 00 01 55 00 01 06 00 22 58 f8 80 00 00 00 65 53 f1 05 80 00 00 00 "
        "80 00 00 00 80 00 00 00"
    ),
    h("00 0e 06 00 00 00 03 00 01 4c 00 01 00 22 5c e0"),
]

NIFTY = "if|nse_cm|Nifty 50"
SBIN = "sf|nse_cm|3045"


def correct_prefix(frame: bytes) -> bytes:
    """The same frame with the true length prefix (what our encoders write)."""
    return (len(frame) - 2).to_bytes(2, "big") + frame[2:]


# ---- client frames: spec bytes ------------------------------------------------------------


def test_auth_frame_matches_spec_exactly() -> None:
    assert AuthRequest("abc123").serialize() == SPEC_AUTH
    assert parse_client_frame(SPEC_AUTH, strict=True) == AuthRequest("abc123", "PythonSDK-3.2.0")


@pytest.mark.parametrize(("sdk", "lite"), [(SPEC_MODE_FULL, False), (SPEC_MODE_LITE, True)])
def test_mode_frame_matches_spec_but_with_true_length(sdk: bytes, lite: bool) -> None:
    ours = ModeRequest.for_channel(11, lite=lite).serialize()
    assert ours == correct_prefix(sdk)  # SDK sends prefix 0; everything else identical
    assert ours[:2] == b"\x00\x11"
    assert parse_client_frame(sdk, strict=True) == ModeRequest(1 << 11, lite)


@pytest.mark.parametrize(
    ("sdk", "cls"), [(SPEC_SUBSCRIBE, SubscribeRequest), (SPEC_UNSUBSCRIBE, UnsubscribeRequest)]
)
def test_scrip_frames_match_spec_but_with_true_length(sdk: bytes, cls: Any) -> None:
    topics = ("sf|nse_cm|3045", "if|nse_cm|Nifty 50")
    ours = cls(topics, 11).serialize()
    assert ours == correct_prefix(sdk)
    assert ours[:2] == b"\x00\x2d"  # 45; the SDK's bogus 0x00b3 is ignored by the parser
    assert parse_client_frame(sdk, strict=True) == cls(topics, 11)


@pytest.mark.parametrize(("sdk", "cls"), [(SPEC_PAUSE, PauseRequest), (SPEC_RESUME, ResumeRequest)])
def test_pause_resume_match_spec_but_with_true_length(sdk: bytes, cls: Any) -> None:
    ours = cls(channel_mask(11)).serialize()
    assert ours == correct_prefix(sdk)
    parsed = parse_client_frame(sdk, strict=True)
    assert parsed == cls(1 << 11)
    assert parsed.channels == (11,)


def test_ack_and_ping_match_spec_exactly() -> None:
    assert AckRequest(7).serialize() == SPEC_ACK
    assert parse_client_frame(SPEC_ACK, strict=True) == AckRequest(7)
    assert PingRequest().serialize() == SPEC_PING == PING_FRAME
    assert parse_client_frame(SPEC_PING, strict=True) == PingRequest()


def test_client_parser_ignores_any_length_prefix() -> None:
    for frame in (SPEC_AUTH, SPEC_SUBSCRIBE, SPEC_PAUSE, SPEC_ACK, SPEC_MODE_FULL):
        for prefix in (b"\x00\x00", b"\xff\xff", b"\x00\x01"):
            assert parse_client_frame(prefix + frame[2:]) == parse_client_frame(frame)


def test_client_parser_rejects_bad_frames() -> None:
    with pytest.raises(ProtocolError, match="missing field 2"):
        parse_client_frame(h("00 00 0c 01 01 00 08 00 00 00 00 00 00 08 00"))
    with pytest.raises(ProtocolError, match="'L' or 'F'"):
        parse_client_frame(SPEC_MODE_FULL[:-1] + b"X")
    with pytest.raises(ProtocolError, match="expected 8 bytes"):
        parse_client_frame(h("00 00 07 01 01 00 02 00 08"))
    with pytest.raises(ProtocolError, match="trailing"):
        parse_client_frame(SPEC_PING + b"\x00", strict=True)
    assert parse_client_frame(SPEC_PING + b"\x00") == PingRequest()


def test_unmodelled_request_types_are_kept_raw() -> None:
    throttle = RawClientMessage(2, ((1, b"\x00\x00\x03\xe8"),))
    assert parse_client_frame(throttle.serialize(), strict=True) == throttle
    snap = h("00 00 09 01 01 00 02 00 00")
    assert parse_client_frame(snap) == RawClientMessage(9, ((1, b"\x00\x00"),))


# ---- server frames: spec bytes ------------------------------------------------------------


def test_server_examples_round_trip_exactly() -> None:
    assert parse_server_frame(SPEC_AUTH_OK, strict=True) == AuthReply("K", 0, 4)
    assert parse_server_frame(SPEC_AUTH_FAILED, strict=True) == AuthReply("N", 0, 4)
    assert parse_server_frame(SPEC_SUBSCRIBE_OK, strict=True) == StatusReply(ResponseType.SUBSCRIBE)
    assert parse_server_frame(SPEC_MODE_OK, strict=True) == StatusReply(ResponseType.MODE)
    assert parse_server_frame(SPEC_CUSTOM, strict=True) == CustomMessage(51001, "limit", 4)
    assert AuthReply("K", 0).serialize() == SPEC_AUTH_OK
    assert AuthReply("N", 0).serialize() == SPEC_AUTH_FAILED
    assert StatusReply(ResponseType.SUBSCRIBE).serialize() == SPEC_SUBSCRIBE_OK
    assert StatusReply(ResponseType.MODE, "K").serialize() == SPEC_MODE_OK
    assert CustomMessage(51001, "limit", 4).serialize() == SPEC_CUSTOM


def live_auth_reply(config: bytes) -> bytes:
    """The shape captured live: 3 fields, a 2-byte ack count (2), a big JSON field 3."""
    body = h("01 00 01 4b 02 00 02 00 02") + b"\x03" + len(config).to_bytes(2, "big") + config
    return (len(body) + 2).to_bytes(2, "big") + b"\x01\x03" + body


def test_live_auth_reply_with_two_byte_ack_count_and_json() -> None:
    config = json.dumps({"fields": [], "pad": "x" * 26_100}).encode()
    frame = live_auth_reply(config)
    assert frame[:2] == (len(frame) - 2).to_bytes(2, "big")
    reply = parse_server_frame(frame, strict=True)
    assert reply == AuthReply("K", 2, 2, config)
    assert reply.serialize() == frame
    codec = DataCodec()
    codec.receive_data(frame)
    assert codec.events_received() == [AuthResult(True, "K", 2, config)]
    assert codec.ack_count == 2  # the SDK reads 4 bytes here and gets 0x0002036x


def test_auth_reply_without_ack_field() -> None:
    frame = h("00 06 01 01 01 00 01 4b")
    assert parse_server_frame(frame, strict=True) == AuthReply("K", None)
    codec = DataCodec()
    codec.receive_data(frame)
    assert codec.events_received() == [AuthResult(True, "K", 0, None)]
    assert codec.ack_count == 0
    with pytest.raises(ProtocolError, match="missing field 1"):
        parse_server_frame(h("00 02 01 00"))


def test_spec_datafeed_example_decodes() -> None:
    feeds = [parse_server_frame(f, strict=True) for f in SPEC_FEED]
    snap = SnapshotRecord(
        1,
        NIFTY,
        (2250000, 2240000, 1700000000, 2260000, 2230000, SENTINEL),
        1,
        2,
        "NSE",
        "Nifty 50",
        "NIFTY50-INDEX",
    )
    update = UpdateRecord(1, (2251000, SENTINEL, 1700000005, SENTINEL, SENTINEL, SENTINEL))
    assert feeds == [
        DataFeed(1, (snap,)),
        DataFeed(2, (update,)),
        DataFeed(3, (LiteRecord(1, 2252000),)),
    ]
    for feed, frame in zip(feeds, SPEC_FEED, strict=True):
        assert feed.serialize() == frame

    codec = DataCodec(symbols={NIFTY: "NSE:NIFTY50-INDEX"})
    for frame in SPEC_FEED:
        codec.receive_data(frame)
    ticks = codec.events_received()
    assert [t.record for t in ticks] == [RecordKind.SNAPSHOT, RecordKind.UPDATE, RecordKind.LITE]
    assert all(isinstance(t, Tick) for t in ticks)
    last = ticks[-1]
    assert isinstance(last, Tick)
    assert last.values == (2252000, 2240000, 1700000005, 2260000, 2230000, None)
    assert last.ltp == Decimal("22520.00")
    assert last.ltp_paise == 2252000
    assert last.symbol == "NSE:NIFTY50-INDEX"
    assert last.message_number == 3
    assert last.sdk_dict() == {
        "ltp": 22520.0,
        "prev_close_price": 22400.0,
        "ch": 120.0,
        "chp": 0.54,
        "exch_feed_time": 1700000005,
        "high_price": 22600.0,
        "low_price": 22300.0,
        "type": "if",
        "symbol": "NSE:NIFTY50-INDEX",
    }


def test_sdk_dict_reproduces_the_spec_scrip_example_in_order() -> None:
    raw = [SENTINEL] * 21
    named = {
        "ltp": 82050,
        "vol_traded_today": 1234567,
        "last_traded_time": 1700000000,
        "exch_feed_time": 1700000001,
        "bid_size": 10,
        "ask_size": 20,
        "bid_price": 82045,
        "ask_price": 82055,
        "last_traded_qty": 5,
        "tot_buy_qty": 1000,
        "tot_sell_qty": 2000,
        "avg_trade_price": 81990,
        "low_price": 81000,
        "high_price": 83000,
        "open_price": 81500,
        "prev_close_price": 81000,
    }
    for name, value in named.items():
        raw[SCRIP_FIELDS.index(name)] = value
    frame = DataFeed(1, (SnapshotRecord(7, SBIN, tuple(raw), 1, 2, "NSE", "3045", "SBIN-EQ"),))
    codec = DataCodec(symbols={SBIN: "NSE:SBIN-EQ"})
    codec.receive_data(frame.serialize())
    (tick,) = codec.events_received()
    assert isinstance(tick, Tick)
    expected = {
        "ltp": 820.5,
        "vol_traded_today": 1234567,
        "last_traded_time": 1700000000,
        "exch_feed_time": 1700000001,
        "bid_size": 10,
        "ask_size": 20,
        "bid_price": 820.45,
        "ask_price": 820.55,
        "last_traded_qty": 5,
        "tot_buy_qty": 1000,
        "tot_sell_qty": 2000,
        "avg_trade_price": 819.9,
        "low_price": 810.0,
        "high_price": 830.0,
        "lower_ckt": 0,
        "upper_ckt": 0,
        "open_price": 815.0,
        "prev_close_price": 810.0,
        "type": "sf",
        "symbol": "NSE:SBIN-EQ",
        "ch": 10.5,
        "chp": 1.2963,
    }
    # circuit limits were never received, so they are appended after symbol, as the SDK does
    expected_order = [k for k in expected if k not in ("lower_ckt", "upper_ckt")]
    expected_order[expected_order.index("symbol") + 1 : expected_order.index("symbol") + 1] = [
        "lower_ckt",
        "upper_ckt",
    ]
    got = tick.sdk_dict()
    assert got == expected
    assert list(got) == expected_order
    assert tick.sdk_dict(lite=True) == {"ltp": 820.5, "symbol": "NSE:SBIN-EQ", "type": "sf"}
    assert tick.as_dict()["bid_price"] == Decimal("820.45")
    assert tick.paise("avg_trade_price") == 81990


# ---- hypothesis strategies ----------------------------------------------------------------

i32 = st.integers(-(2**31), 2**31 - 1)
i32_or_sentinel = st.one_of(st.just(SENTINEL), i32, st.integers(-5, 5))
topic_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=60
)  # ASCII printable, spaces included (index names)
channels = st.integers(1, 63)
masks = st.integers(0, 2**64 - 1)

client_messages = st.one_of(
    st.builds(
        AuthRequest,
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        st.characters(min_codepoint=32, max_codepoint=126),
        st.integers(0, 255),
    ),
    st.builds(ModeRequest, masks, st.booleans()),
    st.builds(SubscribeRequest, st.lists(topic_text, max_size=8).map(tuple), channels),
    st.builds(UnsubscribeRequest, st.lists(topic_text, max_size=8).map(tuple), channels),
    st.builds(PauseRequest, masks),
    st.builds(ResumeRequest, masks),
    st.builds(AckRequest, st.integers(0, 2**32 - 1)),
    st.just(PingRequest()),
    st.builds(
        RawClientMessage,
        st.sampled_from([2, 9, 10, 99]),
        st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=20)), max_size=4).map(tuple),
    ),
)


@st.composite
def auth_replies(draw: st.DrawFn) -> AuthReply:
    width = draw(st.sampled_from([1, 2, 4, 8]))
    ack = draw(st.one_of(st.none(), st.integers(0, 2 ** (8 * width) - 1)))
    config = draw(st.one_of(st.none(), st.binary(max_size=200)))
    return AuthReply(
        draw(st.sampled_from(["K", "N"])), ack, width if ack is not None else 4, config
    )


status_replies = st.builds(
    StatusReply,
    st.sampled_from(
        [
            ResponseType.SUBSCRIBE,
            ResponseType.UNSUBSCRIBE,
            ResponseType.PAUSE,
            ResponseType.RESUME,
            ResponseType.MODE,
        ]
    ),
    st.sampled_from(["K", "N"]),
)
custom_messages = st.builds(CustomMessage, i32, st.text(max_size=40), st.integers(0, 255))
opaque_messages = st.builds(
    OpaqueMessage, st.sampled_from([13, 2, 99, 200]), st.binary(max_size=50)
)

snapshot_records = st.builds(
    SnapshotRecord,
    st.integers(0, 65535),
    topic_text,
    st.lists(i32_or_sentinel, max_size=32).map(tuple),
    st.integers(1, 65535),
    st.integers(0, 255),
    st.text(max_size=10),
    st.text(max_size=10),
    st.text(max_size=20),
    st.integers(0, 65535),
)
feed_records: st.SearchStrategy[FeedRecord] = st.one_of(
    snapshot_records,
    st.builds(
        UpdateRecord, st.integers(0, 65535), st.lists(i32_or_sentinel, max_size=32).map(tuple)
    ),
    st.builds(LiteRecord, st.integers(0, 65535), i32_or_sentinel),
)
datafeeds = st.builds(
    DataFeed, st.integers(0, 2**32 - 1), st.lists(feed_records, max_size=6).map(tuple)
)
server_messages = st.one_of(
    auth_replies(), status_replies, custom_messages, opaque_messages, datafeeds
)


# ---- round trips, truncation, trailing garbage --------------------------------------------


@given(client_messages)
def test_client_messages_round_trip(msg: Any) -> None:
    frame = msg.serialize()
    assert frame[:2] == (len(frame) - 2).to_bytes(2, "big")  # our prefix is always correct
    assert parse_client_frame(frame, strict=True) == msg


@given(server_messages)
def test_server_messages_round_trip(msg: Any) -> None:
    frame = msg.serialize()
    assert frame[:2] == (len(frame) - 2).to_bytes(2, "big")
    assert parse_server_frame(frame, strict=True) == msg


@given(client_messages)
def test_every_prefix_of_a_client_frame_is_rejected(msg: Any) -> None:
    frame = msg.serialize()
    for cut in range(len(frame)):
        with pytest.raises(ProtocolError):
            parse_client_frame(frame[:cut])


@given(server_messages)
def test_every_prefix_of_a_server_frame_is_rejected(msg: Any) -> None:
    frame = msg.serialize()
    # Unknown types carry no structure: only strict mode (length prefix) can see truncation.
    strict = isinstance(msg, OpaqueMessage)
    for cut in range(len(frame)):
        with pytest.raises(ProtocolError):
            parse_server_frame(frame[:cut], strict=strict)


@given(server_messages, st.binary(min_size=1, max_size=20))
def test_trailing_garbage_is_ignored_unless_strict(msg: Any, garbage: bytes) -> None:
    frame = msg.serialize()
    if isinstance(msg, OpaqueMessage):
        # no structure: the garbage becomes part of the body
        assert parse_server_frame(frame + garbage) == OpaqueMessage(
            msg.response_type, msg.body + garbage
        )
    else:
        assert parse_server_frame(frame + garbage) == msg
    with pytest.raises(ProtocolError):
        parse_server_frame(frame + garbage, strict=True)


@given(client_messages, st.binary(min_size=1, max_size=20))
def test_client_trailing_garbage(msg: Any, garbage: bytes) -> None:
    frame = msg.serialize()
    assert parse_client_frame(frame + garbage) == msg
    with pytest.raises(ProtocolError):
        parse_client_frame(frame + garbage, strict=True)


def test_custom_message_honours_its_length_prefix() -> None:
    # declared length stops before field 3: the parser must not read it
    short = (SPEC_CUSTOM[1] - 4).to_bytes(2, "big") + SPEC_CUSTOM[2:3] + b"\x02" + SPEC_CUSTOM[4:]
    assert parse_server_frame(short) == CustomMessage(51001, "limit", 0)
    with pytest.raises(ProtocolError, match="runs past"):
        parse_server_frame(b"\x00\xff" + SPEC_CUSTOM[2:])
    # unknown field ids and fields of unexpected width are skipped, order does not matter
    odd = h("00 17 33 04 09 00 02 ab cd 03 00 01 07 01 00 04 ff ff ff fe 02 00 02 68 69")
    assert parse_server_frame(odd, strict=True) == CustomMessage(-2, "hi", 7)


# ---- the stateful codec -------------------------------------------------------------------


def codec_view(codec: DataCodec) -> tuple[Any, ...]:
    """Everything observable about a codec's state, for before/after comparisons."""
    ids = dict(codec.topic_ids)
    return (
        ids,
        {topic: codec.latest(topic) for topic in ids.values()},
        codec.ack_count,
        codec.frames_since_ack,
        codec.last_message_number,
        codec.authenticated,
    )


def snap(tid: int, topic: str, values: list[int], mult: int = 1, prec: int = 2) -> SnapshotRecord:
    return SnapshotRecord(tid, topic, tuple(values), mult, prec, "NSE", "tok", "SYM")


def feed(msg_no: int, *records: FeedRecord) -> bytes:
    return DataFeed(msg_no, records).serialize()


def ticks(codec: DataCodec) -> list[Tick]:
    out = []
    for event in codec.events_received():
        assert isinstance(event, Tick)
        out.append(event)
    return out


@given(datafeeds)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_codec_rejects_truncated_frames_without_changing_state(msg: DataFeed) -> None:
    codec = DataCodec()
    codec.receive_data(AuthReply("K", 3).serialize())
    codec.events_received()
    base = feed(1, snap(1, SBIN, [100] * 21), snap(2, NIFTY, [5, 6, 7, 8, 9, 10]))
    codec.receive_data(base)
    codec.events_received()
    before = codec_view(codec)
    frame = msg.serialize()
    for cut in range(len(frame)):
        with pytest.raises(ProtocolError):
            codec.receive_data(frame[:cut])
        assert codec_view(codec) == before
        assert codec.events_received() == []
        assert codec.data_to_send() == []


def test_bad_record_late_in_a_frame_leaves_no_trace() -> None:
    codec = DataCodec()
    codec.receive_data(AuthReply("K", 1).serialize())
    codec.events_received()
    codec.receive_data(feed(1, snap(1, SBIN, [100] * 21)))
    ticks(codec)
    codec.data_to_send()
    before = codec_view(codec)
    bad = feed(
        2,
        UpdateRecord(1, (101,)),  # valid
        snap(2, NIFTY, [1, 2, 3, 4, 5, 6]),  # valid
        UpdateRecord(99, (1,)),  # unknown topic id
    )
    with pytest.raises(ProtocolError, match="unknown topic id 99") as info:
        codec.receive_data(bad)
    assert info.value.offset == 9 + 8 + len(snap(2, NIFTY, [1] * 6).serialize())
    assert codec_view(codec) == before
    assert codec.events_received() == []
    assert codec.data_to_send() == []  # not acked either


def test_unknown_record_kind_and_lite_for_depth_are_errors() -> None:
    codec = DataCodec()
    with pytest.raises(ProtocolError, match="record kind 88") as info:
        codec.receive_data(h("00 08 06 00 00 00 01 00 01 58"))
    assert info.value.offset == 9
    codec.receive_data(feed(1, snap(3, "dp|nse_cm|3045", [1] * 30)))
    ticks(codec)
    with pytest.raises(ProtocolError, match="no LTP"):
        codec.receive_data(feed(2, LiteRecord(3, 5)))
    with pytest.raises(ProtocolError, match="unknown topic id 4"):
        codec.receive_data(feed(2, LiteRecord(4, 5)))
    record = bytearray(snap(5, SBIN, [1]).serialize())
    at = 1 + 2 + 1 + len(SBIN) + 1 + 4 + 2  # kind, id, topic, count, one value, reserved
    record[at : at + 2] = b"\x00\x00"
    with pytest.raises(ProtocolError, match="multiplier 0") as info:
        codec.receive_data(feed(3)[:-2] + b"\x00\x01" + bytes(record))
    assert info.value.offset == 9 + at


def test_merge_semantics() -> None:
    codec = DataCodec(symbols={SBIN: "NSE:SBIN-EQ"})
    first = [SENTINEL] * 21
    first[0], first[20] = 1000, 900
    codec.receive_data(feed(1, snap(1, SBIN, first)))
    (t,) = ticks(codec)
    assert t.values[0] == 1000 and t.values[1] is None and t.values[20] == 900
    assert t.raw("vol_traded_today") is None and t.price("ltp") == Decimal("10.00")

    # sentinel = unchanged; equal values = no event
    codec.receive_data(feed(2, UpdateRecord(1, (SENTINEL, SENTINEL))))
    codec.receive_data(feed(3, UpdateRecord(1, (1000,))))
    codec.receive_data(feed(4, LiteRecord(1, 1000), LiteRecord(1, SENTINEL)))
    assert ticks(codec) == []

    # a short update merges its prefix, keeps the rest; a long one ignores extras
    codec.receive_data(feed(5, UpdateRecord(1, (1001, 50))))
    codec.receive_data(feed(6, UpdateRecord(1, (SENTINEL,) * 21 + (77, 78, 79))))
    codec.receive_data(feed(7, LiteRecord(1, 1002)))
    a, b = ticks(codec)
    assert a.values[:3] == (1001, 50, None) and a.values[20] == 900
    assert b.values[0] == 1002 and b.record == 76 and b.message_number == 7
    assert len(b.values) == 21

    # a snapshot replaces the whole state (values it lacks become unknown again)
    codec.receive_data(feed(8, snap(1, SBIN, [5, SENTINEL, 7])))
    (c,) = ticks(codec)
    assert c.values[:3] == (5, None, 7) and c.values[20] is None and c.record == 83
    # snapshot + update of the same topic inside one frame
    codec.receive_data(feed(9, snap(2, NIFTY, [1, 2]), UpdateRecord(2, (SENTINEL, 3, 4))))
    d, e = ticks(codec)
    assert d.values == (1, 2, None, None, None, None)
    assert e.values == (1, 3, 4, None, None, None)
    assert codec.latest(NIFTY) == e
    assert codec.latest("sf|nse_cm|1") is None


def test_extreme_values_survive_the_lane_merge() -> None:
    codec = DataCodec()
    codec.receive_data(feed(1, snap(1, NIFTY, [SENTINEL + 1, -1, 0, 2**31 - 1, SENTINEL, 1])))
    codec.receive_data(
        feed(2, UpdateRecord(1, (-1, SENTINEL, SENTINEL + 1, 0, -(2**30), SENTINEL)))
    )
    codec.receive_data(feed(3, LiteRecord(1, SENTINEL + 1)))
    a, b, c = ticks(codec)
    assert a.values == (SENTINEL + 1, -1, 0, 2**31 - 1, None, 1)
    assert b.values == (-1, -1, SENTINEL + 1, 0, -(2**30), 1)
    assert c.values == (SENTINEL + 1, -1, SENTINEL + 1, 0, -(2**30), 1)


LAYOUT_WIDTH = {"sf": 21, "if": 6, "dp": 30, "xx": None}


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[SnapshotRecord], list[list[FeedRecord]]]:
    """A few topics of every kind, then frames of random updates/lites/re-snapshots."""
    kinds = draw(st.lists(st.sampled_from(list(LAYOUT_WIDTH)), min_size=1, max_size=4))
    snaps = []
    for tid, kind in enumerate(kinds, start=1):
        width = LAYOUT_WIDTH[kind] or draw(st.integers(1, 8))
        values = draw(st.lists(i32_or_sentinel, min_size=1, max_size=width + 2))
        snaps.append(snap(tid, f"{kind}|nse_cm|{tid} x", values, draw(st.integers(1, 100)), 2))
    frames: list[list[FeedRecord]] = [list(snaps)]
    for _ in range(draw(st.integers(1, 6))):
        frame: list[FeedRecord] = []
        for _ in range(draw(st.integers(1, 4))):
            s = draw(st.sampled_from(snaps))
            width = LAYOUT_WIDTH[s.topic[:2]] or 8
            choice = draw(st.integers(0, 9))
            if choice == 0:
                frame.append(s)
            elif choice < 3 and not s.topic.startswith("dp"):
                frame.append(LiteRecord(s.topic_id, draw(i32_or_sentinel)))
            else:
                vals = draw(st.lists(i32_or_sentinel, max_size=width + 3))
                frame.append(UpdateRecord(s.topic_id, tuple(vals)))
        frames.append(frame)
    return snaps, frames


def model_apply(
    model: dict[int, list[int | None]], widths: dict[int, int], rec: FeedRecord
) -> bool:
    """The obvious per-value merge the codec's lane arithmetic must agree with."""
    if isinstance(rec, SnapshotRecord):
        w = widths[rec.topic_id]
        vals = list(rec.values[:w]) + [SENTINEL] * (w - len(rec.values[:w]))
        model[rec.topic_id] = [None if v == SENTINEL else v for v in vals]
        return True
    cur = model[rec.topic_id]
    new = list(cur)
    items = [rec.value] if isinstance(rec, LiteRecord) else list(rec.values[: len(cur)])
    for i, v in enumerate(items):
        if v != SENTINEL:
            new[i] = v
    model[rec.topic_id] = new
    return new != cur


@given(sessions())
@settings(max_examples=150)
def test_merge_matches_a_plain_model(
    session: tuple[list[SnapshotRecord], list[list[FeedRecord]]],
) -> None:
    snaps, frames = session
    widths = {s.topic_id: LAYOUT_WIDTH[s.topic[:2]] or len(s.values) for s in snaps}
    model: dict[int, list[int | None]] = {}
    codec = DataCodec()
    for n, frame in enumerate(frames, start=1):
        expected = []
        for rec in frame:
            if model_apply(model, widths, rec):
                expected.append((rec.topic_id, tuple(model[rec.topic_id])))
        codec.receive_data(feed(n, *frame))
        got = [(t.info.topic_id, t.values) for t in ticks(codec)]
        assert got == expected


def test_ack_cadence_counts_frames_not_records() -> None:
    codec = DataCodec()
    codec.receive_data(AuthReply("K", 2).serialize())
    codec.receive_data(feed(10, snap(1, SBIN, [1]), snap(2, NIFTY, [1])))
    assert codec.data_to_send() == []
    codec.receive_data(feed(11))  # an empty frame still counts
    assert codec.data_to_send() == [AckRequest(11).serialize()]
    with pytest.raises(ProtocolError):
        codec.receive_data(feed(12, UpdateRecord(9, (1,))))  # malformed: not counted
    codec.receive_data(feed(13, UpdateRecord(1, (2,))))
    assert codec.data_to_send() == []
    codec.receive_data(feed(14, LiteRecord(1, 2)))  # changes nothing, still a frame
    assert codec.data_to_send() == [AckRequest(14).serialize()]
    assert codec.last_message_number == 14


def test_no_acks_when_the_server_asks_for_none_or_they_are_off() -> None:
    codec = DataCodec()
    codec.receive_data(SPEC_AUTH_OK)  # ack count 0
    for n in range(5):
        codec.receive_data(feed(n))
    assert codec.data_to_send() == []
    quiet = DataCodec(auto_ack=False)
    quiet.receive_data(AuthReply("K", 1).serialize())
    quiet.receive_data(feed(1))
    assert quiet.data_to_send() == [] and quiet.ack_count == 1


def test_scaling_is_exact() -> None:
    codec = DataCodec()
    codec.receive_data(
        feed(
            1,
            snap(1, "sf|cde_fo|1", [832_512_5], 1, 4),  # 832.5125 (currency: 4 decimals)
            snap(2, "sf|nse_cm|2", [12345], 100, 2),  # multiplier 100
            snap(3, "sf|mcx_fo|3", [1], 3, 0),  # a divisor that is not a power of ten
            snap(4, "sf|nse_cm|4", [-5], 1, 2),
        )
    )
    a, b, c, d = ticks(codec)
    assert a.ltp == Decimal("832.5125")
    with pytest.raises(ValueError, match="whole number of paise"):
        a.paise("ltp")
    assert b.ltp == Decimal("1.2345")
    assert str(c.ltp).startswith("0.33333333333333333333333333333")  # 60 significant digits
    with pytest.raises(ValueError):
        c.paise(0)
    assert d.ltp == Decimal("-0.05") and d.ltp_paise == -5
    assert b.sdk_dict()["ltp"] == 12345 / 10000
    assert a.info.divisor == 10_000 and b.info.precision == 2 and b.info.multiplier == 100


def test_control_events_and_their_sdk_dicts() -> None:
    codec = DataCodec()
    codec.set_mode(lite=True)
    frames = [
        SPEC_AUTH_OK,
        SPEC_AUTH_FAILED,
        SPEC_MODE_OK,
        StatusReply(ResponseType.MODE, "N").serialize(),
        SPEC_SUBSCRIBE_OK,
        StatusReply(ResponseType.SUBSCRIBE, "N").serialize(),
        StatusReply(ResponseType.UNSUBSCRIBE).serialize(),
        StatusReply(ResponseType.UNSUBSCRIBE, "N").serialize(),
        StatusReply(ResponseType.PAUSE).serialize(),
        StatusReply(ResponseType.PAUSE, "N").serialize(),
        StatusReply(ResponseType.RESUME).serialize(),
        StatusReply(ResponseType.RESUME, "N").serialize(),
    ]
    for frame in frames:
        codec.receive_data(frame)
    events = codec.events_received()
    assert isinstance(events[0], AuthResult) and events[0].ok
    assert isinstance(events[1], AuthResult) and not events[1].ok
    assert all(isinstance(e, ControlResult) for e in events[2:])
    got = [e.to_sdk() for e in events if isinstance(e, AuthResult | ControlResult)]
    ok, err = "on_message", "on_error"
    assert got == [
        (ok, {"type": "cn", "code": 200, "message": "Authentication done", "s": "ok"}),
        (err, {"type": "cn", "code": 11001, "message": "Authentication failed", "s": "error"}),
        (ok, {"type": "lit", "code": 200, "message": "Lite Mode On", "s": "ok"}),
        (err, {"code": 12001, "message": "Mode change failed", "s": "error"}),
        (ok, {"type": "sub", "code": 200, "message": "Subscribed", "s": "ok"}),
        (err, {"type": "sub", "code": 11011, "message": "subscription failed", "s": "error"}),
        (ok, {"type": "unsub", "code": 200, "message": "Unsubscribed", "s": "ok"}),
        (err, {"type": "unsub", "code": 11012, "message": "unsubscription failed", "s": "error"}),
        (ok, {"type": "cp", "code": 200, "message": "Channel Paused", "s": "ok"}),
        (err, {"type": "cp", "code": 11031, "message": "Mode change failed", "s": "error"}),
        (ok, {"type": "cr", "code": 200, "message": "Channel Resumed", "s": "ok"}),
        (err, {"type": "cr", "code": 11032, "message": "Mode change failed", "s": "error"}),
    ]
    assert codec.authenticated is False  # the last auth reply said N


@pytest.mark.parametrize(
    ("ref", "category"),
    [
        (1, "cn"),
        (4, "sub"),
        (5, "unsub"),
        (7, "cp"),
        (8, "cr"),
        (0, "msg"),
        (12, "msg"),
        (6, "msg"),
    ],
)
def test_custom_message_categories(ref: int, category: str) -> None:
    codec = DataCodec()
    codec.receive_data(CustomMessage(51001, "limit", ref).serialize())
    (event,) = codec.events_received()
    assert isinstance(event, CustomMessage) and event.category == category
    assert event.to_sdk() == (
        "on_error",
        {"type": category, "code": 51001, "message": "limit", "s": "error"},
    )


def test_text_frames_are_protocol_errors() -> None:
    codec = DataCodec()
    with pytest.raises(ProtocolError, match="binary"):
        codec.receive_data("00 06 04 01 01 00 01 4b")  # type: ignore[arg-type]
    assert codec.events_received() == []


def test_master_data_and_unknown_types_are_ignored_events() -> None:
    codec = DataCodec()
    codec.receive_data(OpaqueMessage(13, b"\x01\x02\x03").serialize())
    codec.receive_data(h("00 01 63"))
    assert codec.events_received() == [FrameIgnored(13, 6), FrameIgnored(99, 3)]


def test_outgoing_helpers() -> None:
    codec = DataCodec()
    codec.ping()
    codec.authenticate("abc123")
    codec.set_mode(lite=False)
    codec.subscribe(["sf|nse_cm|3045", "if|nse_cm|Nifty 50"])
    codec.unsubscribe(["sf|nse_cm|3045", "if|nse_cm|Nifty 50"], channel=11)
    codec.pause(11)
    codec.resume(11)
    codec.ack(7)
    assert codec.data_to_send() == [
        SPEC_PING,
        SPEC_AUTH,
        correct_prefix(SPEC_MODE_FULL),
        correct_prefix(SPEC_SUBSCRIBE),
        correct_prefix(SPEC_UNSUBSCRIBE),
        correct_prefix(SPEC_PAUSE),
        correct_prefix(SPEC_RESUME),
        SPEC_ACK,
    ]
    assert codec.data_to_send() == []
    assert codec.lite is False


def test_subscribe_splits_into_frames_of_1500() -> None:
    codec = DataCodec()
    topics = [f"sf|nse_cm|{n}" for n in range(2 * MAX_TOPICS_PER_FRAME + 1)]
    codec.subscribe(topics, channel=5)
    frames = codec.data_to_send()
    parsed = [parse_client_frame(f, strict=True) for f in frames]
    assert [len(p.topics) for p in parsed if isinstance(p, SubscribeRequest)] == [1500, 1500, 1]
    assert [t for p in parsed if isinstance(p, SubscribeRequest) for t in p.topics] == topics
    codec.subscribe([])
    assert codec.data_to_send() == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.subscribe(["sf|nse_cm|ü"]),
        lambda c: c.subscribe([f"sf|nse_cm|{n}" for n in range(1501)] + ["ü"]),  # 2nd frame bad
        lambda c: c.subscribe(["x" * 256]),
        lambda c: c.subscribe("sf|nse_cm|3045"),
        lambda c: c.subscribe(["sf|nse_cm|3045"], channel=0),
        lambda c: c.pause(64),
        lambda c: c.resume(True),
        lambda c: c.ack(-1),
        lambda c: c.ack(2**32),
        lambda c: c.authenticate("clé"),
    ],
)
def test_bad_requests_raise_and_queue_nothing(call: Any) -> None:
    codec = DataCodec()
    with pytest.raises(InvalidInput):
        call(codec)
    assert codec.data_to_send() == []


def test_encoders_reject_out_of_range_values() -> None:
    with pytest.raises(InvalidInput):
        UpdateRecord(1, (2**31,)).serialize()
    with pytest.raises(InvalidInput):
        UpdateRecord(70000, (1,)).serialize()
    with pytest.raises(InvalidInput):
        SnapshotRecord(1, "sf|a|1", (1,), multiplier=0).serialize()
    with pytest.raises(InvalidInput):
        SnapshotRecord(1, "x" * 256, (1,)).serialize()
    with pytest.raises(InvalidInput):
        AuthReply("K", 70000, 2).serialize()
    with pytest.raises(InvalidInput):
        StatusReply(ResponseType.DATAFEED).serialize()
    with pytest.raises(InvalidInput):
        DataFeed(1, tuple(UpdateRecord(1, (0,) * 200) for _ in range(100))).serialize()
    with pytest.raises(InvalidInput):
        ModeRequest(2**64, lite=True).serialize()


def test_channel_masks() -> None:
    assert channel_mask(11) == 0x800
    assert channel_mask(1, 63) == (1 << 1) | (1 << 63)
    assert channels_in_mask(channel_mask(3, 5, 11)) == (3, 5, 11)
    with pytest.raises(InvalidInput):
        channel_mask(0)


def test_strict_codec_rejects_garbage_and_wrong_prefix() -> None:
    frame = feed(1, snap(1, SBIN, [1]))
    lax, strict = DataCodec(), DataCodec(strict=True)
    lax.receive_data(frame + b"junk")
    assert len(lax.events_received()) == 1
    with pytest.raises(ProtocolError, match="trailing"):
        strict.receive_data(frame + b"junk")
    with pytest.raises(ProtocolError, match="length prefix"):
        strict.receive_data(b"\x00\x00" + frame[2:])
    assert strict.events_received() == [] and strict.topic_ids == {}
    lax.receive_data(b"\x00\x00" + frame[2:])  # the SDK ignores the datafeed prefix too


def test_symbols_label_ticks_when_mapped() -> None:
    codec = DataCodec()
    codec.receive_data(feed(1, snap(1, SBIN, [1])))
    (t,) = ticks(codec)
    assert t.symbol is None and t.sdk_dict(lite=True)["symbol"] == SBIN  # falls back to topic
    codec.map_symbols({SBIN: "NSE:SBIN-EQ"})
    codec.receive_data(feed(2, LiteRecord(1, 2)))
    (t,) = ticks(codec)
    assert t.symbol == "NSE:SBIN-EQ" and codec.symbols[SBIN] == "NSE:SBIN-EQ"
    codec.unmap_symbols([SBIN])
    assert dict(codec.symbols) == {}


def test_tick_accessors() -> None:
    codec = DataCodec()
    codec.receive_data(feed(1, snap(1, "dp|nse_cm|1", list(range(100, 130)))))
    codec.receive_data(feed(2, snap(2, "xx|nse_cm|1", [7, SENTINEL, 9])))
    depth, other = ticks(codec)
    assert depth.kind == "dp" and depth.topic == "dp|nse_cm|1"
    assert depth.price("ask_price1") == Decimal("1.05") and depth.raw("bid_order5") == 124
    assert list(depth.sdk_dict())[:2] == ["bid_price1", "bid_price2"]
    assert depth.sdk_dict()["ask_order5"] == 129 and depth.sdk_dict(lite=True) == depth.sdk_dict()
    assert depth.as_dict()["bid_size1"] == 110
    with pytest.raises(InvalidInput):
        depth.raw("ltp")
    assert other.values == (7, None, 9) and other.info.names == ()
    assert other.sdk_dict() == {"f0": 7, "f2": 9, "type": "xx", "symbol": "xx|nse_cm|1"}
    assert other.as_dict() == {}
    assert len(SCRIP_FIELDS) == 21 and len(INDEX_FIELDS) == 6 and len(DEPTH_FIELDS) == 30


def test_index_with_zero_close_has_no_change_fields() -> None:
    codec = DataCodec()
    codec.receive_data(feed(1, snap(1, NIFTY, [100, 0, 5])))
    (t,) = ticks(codec)
    assert t.sdk_dict() == {
        "ltp": 1.0,
        "prev_close_price": 0.0,
        "exch_feed_time": 5,
        "type": "if",
        "symbol": NIFTY,
    }


# ---- symbols and tokens -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "fytoken", "data_type", "topic"),
    [
        ("NSE:SBIN-EQ", "10100000003045", "SymbolUpdate", "sf|nse_cm|3045"),
        ("NSE:SBIN-EQ", "10100000003045", "DepthUpdate", "dp|nse_cm|3045"),
        ("NSE:NIFTY50-INDEX", "101000000026000", "SymbolUpdate", "if|nse_cm|Nifty 50"),
        ("NSE:NIFTYBANK-INDEX", "101000000026009", DataType.SYMBOL, "if|nse_cm|Nifty Bank"),
        ("NSE:INDIAVIX-INDEX", "101000000026017", "SymbolUpdate", "if|nse_cm|India VIX"),
        ("NSE:FINNIFTY-INDEX", "101000000026037", "SymbolUpdate", "if|nse_cm|Nifty Fin Service"),
        ("BSE:SENSEX-INDEX", "121000000001", "SymbolUpdate", "if|bse_cm|SENSEX"),
        ("NSE:NIFTYAUTO-INDEX", "101000000026029", "SymbolUpdate", "if|nse_cm|NIFTYAUTO"),
        ("NSE:NIFTY24DECFUT", "101124122635001", "SymbolUpdate", "sf|nse_fo|35001"),
        ("MCX:CRUDEOIL24DECFUT", "112024121912345", "DepthUpdate", "dp|mcx_fo|12345"),
        ("NSE:M&M-EQ", "10100000002031", "SymbolUpdate", "sf|nse_cm|2031"),
    ],
)
def test_topic_for(symbol: str, fytoken: str, data_type: str, topic: str) -> None:
    assert topic_for(symbol, fytoken, data_type) == topic


def test_topic_for_rejections_and_custom_index_names() -> None:
    with pytest.raises(InvalidInput, match="market depth"):
        topic_for("NSE:NIFTY50-INDEX", "101000000026000", "DepthUpdate")
    with pytest.raises(InvalidInput, match="prefix '9999'"):
        topic_for("NSE:SBIN-EQ", "99990000003045")
    with pytest.raises(InvalidInput, match="data_type"):
        topic_for("NSE:SBIN-EQ", "10100000003045", "Quotes")
    with pytest.raises(InvalidInput, match="fytoken"):
        topic_for("NSE:SBIN-EQ", "1010abc")
    names = {"NSE:NIFTYAUTO-INDEX": "Nifty Auto"}
    assert topic_for("NSE:NIFTYAUTO-INDEX", "1010000000260", index_names=names) == (
        "if|nse_cm|Nifty Auto"
    )
    assert index_topic_name("NSE:NIFTY100 EQL WGT-INDEX") == "NIFTY100 EQL WGT"
    assert segment_for("12120000001") == "bcs_fo"
    result = map_symbols(
        {
            "NSE:SBIN-EQ": "10100000003045",
            "NSE:BAD-EQ": "99990000001",
            "NSE:NIFTY50-INDEX": "1010000000260",
        },
        "DepthUpdate",
    )
    assert result.topics == {"dp|nse_cm|3045": "NSE:SBIN-EQ"}
    assert set(result.rejected) == {"NSE:BAD-EQ", "NSE:NIFTY50-INDEX"}


@pytest.mark.parametrize(
    "bad",
    [
        "SBIN-EQ",
        "nse:SBIN-EQ",
        "NSE:",
        "NSE:sbin-eq",
        " NSE:SBIN-EQ",
        "NSE:SBIN-",
        "NSE:-EQ",
        "NSE:A--EQ",
        "NSE:SB\tIN",
        "NSE:SBIN:EQ",
        42,
    ],
)
def test_parse_symbol_rejects_malformed(bad: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_symbol(bad)
    assert info.value.field == "symbol"


def test_parse_symbol_parts() -> None:
    s = parse_symbol("NSE:BAJAJ-AUTO-EQ")
    assert (s.exchange, s.name, s.series, s.base, s.is_index) == (
        "NSE",
        "BAJAJ-AUTO-EQ",
        "EQ",
        "BAJAJ",
        False,
    )
    fut = parse_symbol("NSE:NIFTY24DECFUT")
    assert fut.series is None and str(fut) == "NSE:NIFTY24DECFUT"
    assert parse_symbol("NSE:NIFTY50-INDEX").is_index


def test_tokens_round_trip_and_hide_secrets() -> None:
    token = mint_fake_token("abc123", 4102444800, "XY12345", app_id="ABCDEFGHIJ-100")
    claims = decode_access_token(token)
    assert (claims.app_id, claims.exp, claims.hsm_key, claims.fy_id) == (
        "ABCDEFGHIJ-100",
        4102444800,
        "abc123",
        "XY12345",
    )
    assert claims.claims["sub"] == "access_token"
    assert "abc123" not in repr(claims) and claims.jwt not in repr(claims)
    assert not claims.expired(1_700_000_000) and claims.expired(4102444800)
    bare = mint_fake_token("k", 1)
    assert split_access_token(bare) == (None, bare)
    assert decode_access_token(bare).app_id is None
    header = json.loads(base64.urlsafe_b64decode(bare.split(".")[0] + "==").decode())
    assert header == {"typ": "JWT", "alg": "HS256"}


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "a.b", "APP:a.b.c", ":" + mint_fake_token("k", 1), "x." + "bm90anNvbg" + ".y"],
)
def test_decode_access_token_rejects_garbage(bad: str) -> None:
    with pytest.raises(InvalidInput):
        decode_access_token(bad)


def test_decode_access_token_requires_claims() -> None:
    no_key = mint_fake_token("", 5)
    with pytest.raises(InvalidInput, match="hsm_key"):
        decode_access_token(no_key)
    no_exp = mint_fake_token("k", 5, extra={"exp": "soon"})
    with pytest.raises(InvalidInput, match="exp"):
        decode_access_token(no_exp)
