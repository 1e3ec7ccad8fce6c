"""Differential tests: our codec against the official fyers-apiv3 3.2.0 SDK, offline.

The SDK is the reference (spec 5.1). Frames built by OUR encoders are fed to the SDK's private
message handler and to :class:`DataCodec`; the dicts must be equal, key order included. Where
the SDK is wrong, a separate ``test_divergence_*`` shows both behaviours and says why ours is
the one we keep. Our client-frame encoders are also compared with the SDK's own frame builders.

Hygiene: the SDK class is a process-wide singleton that logs to files. We build it once per
module with a temporary ``log_path``, reset its decoder state per example, and on teardown
restore the singleton slot and the logger exactly as we found them. No thread is started (the
SDK only starts threads in ``connect()``) and any network use fails the test.
"""

from __future__ import annotations

import logging
import socket
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fyers_apiv3")
data_ws = pytest.importorskip("fyers_apiv3.FyersWebsocket.data_ws")  # needs pkg_resources

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from livetrade.errors import ProtocolError  # noqa: E402
from livetrade.fyers.codec import (  # noqa: E402
    PING_FRAME,
    SENTINEL,
    AckRequest,
    AuthReply,
    AuthRequest,
    CustomMessage,
    DataCodec,
    DataFeed,
    FeedRecord,
    FrameIgnored,
    LiteRecord,
    ModeRequest,
    PauseRequest,
    ResponseType,
    ResumeRequest,
    SnapshotRecord,
    StatusReply,
    SubscribeRequest,
    Tick,
    UnsubscribeRequest,
    UpdateRecord,
    channel_mask,
    parse_client_frame,
)
from livetrade.fyers.symbols import decode_access_token, mint_fake_token  # noqa: E402

FyersDataSocket = data_ws.FyersDataSocket
HSM_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef01234567"  # 56 hex, like real ones
FAR_FUTURE = 4_102_444_800  # 2100-01-01: the SDK compares exp with the wall clock
TOKEN = mint_fake_token(HSM_KEY, FAR_FUTURE, app_id="ABCDEFGHIJ-100")
WIDTH = {"sf": 21, "if": 6, "dp": 30}
DIFF = settings(max_examples=200, deadline=None)

Call = tuple[str, Any]


class Sdk:
    """The SDK's data socket, driven through its private handler, never connected."""

    def __init__(self, log_dir: Path) -> None:
        self.calls: list[Call] = []
        self.sock = FyersDataSocket(
            access_token=TOKEN,
            log_path=str(log_dir),
            reconnect=False,
            on_message=lambda m: self.calls.append(("on_message", m)),
            on_error=lambda e: self.calls.append(("on_error", e)),
        )
        self._handle = self.sock._FyersDataSocket__response_msg

    def reset(self, symbols: dict[str, str], lite: bool = False) -> None:
        """Forget all decoder state, as a fresh connection would (cheaper than re-init)."""
        s = self.sock
        s.resp, s.scrips_sym, s.index_sym, s.dp_sym = {}, {}, {}, {}
        s.symbol_token = dict(symbols)
        s.lite = lite
        s.ack_count = s.update_count = 0
        s.message = []
        s.unsub_symbol = []
        self.calls.clear()

    def feed(self, frames: list[bytes]) -> list[Call]:
        for frame in frames:
            self._handle(frame)
        out, self.calls[:] = list(self.calls), []
        return out

    def sent(self) -> list[bytes]:
        out = [bytes(m) for m in self.sock.message]
        self.sock.message = []
        return out


def ours(
    frames: list[bytes], symbols: dict[str, str], lite: bool = False, codec: DataCodec | None = None
) -> list[Call]:
    """What an SDK-compatible wrapper around our codec would deliver."""
    codec = codec or DataCodec(symbols=symbols, lite=lite)
    calls: list[Call] = []
    for frame in frames:
        codec.receive_data(frame)
        for event in codec.events_received():
            if isinstance(event, Tick):
                calls.append(("on_message", event.sdk_dict(codec.lite)))
            elif not isinstance(event, FrameIgnored):
                calls.append(event.to_sdk())
    return calls


def ordered(calls: list[Call]) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Dicts as item lists, so the comparison checks key order as well."""
    return [(cb, list(d.items()) if isinstance(d, dict) else d) for cb, d in calls]


@pytest.fixture(scope="module", autouse=True)
def no_network() -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during an offline SDK test")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        mp.setattr(socket, "getaddrinfo", refuse)
        yield


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sdk]:
    logger = logging.getLogger("FyersDataSocket")
    handlers, attrs = list(logger.handlers), set(vars(logger))
    instance = FyersDataSocket._instance
    threads = set(threading.enumerate())  # threads of earlier tests may end meanwhile
    log_dir = tmp_path_factory.mktemp("fyers_sdk_logs")
    harness = Sdk(log_dir)
    assert (log_dir / "fyersDataSocket.log").exists()
    assert set(threading.enumerate()) <= threads
    yield harness
    assert set(threading.enumerate()) <= threads, "the SDK started a thread"
    for handler in logger.handlers[:]:
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    for attr in set(vars(logger)) - attrs:
        delattr(logger, attr)
    FyersDataSocket._instance = instance


# ---- frame generation ---------------------------------------------------------------------

plain = st.one_of(
    st.integers(-(2**31) + 1, 2**31 - 1), st.integers(0, 10_000_000), st.integers(-3, 3)
)
maybe = st.one_of(st.just(SENTINEL), plain)


def _position(kind: str, pos: int, snapshot: bool) -> st.SearchStrategy[int]:
    if kind == "if" and pos == 1:  # an index close of 0 is a documented divergence
        base = st.one_of(st.just(SENTINEL), plain.filter(lambda v: v != 0))
    else:
        base = maybe
    if snapshot and pos == 0 and kind != "dp":  # lite records need a cached LTP in the SDK
        return plain
    return base


# Built once: strategies are costly to construct, and hypothesis caches them per object.
_VALUES = {
    (kind, snapshot): [
        st.tuples(*[_position(kind, i, snapshot) for i in range(n)]) for n in range(width + 1)
    ]
    for kind, width in WIDTH.items()
    for snapshot in (True, False)
}


@st.composite
def values(draw: st.DrawFn, kind: str, snapshot: bool) -> tuple[int, ...]:
    lo = 1 if snapshot and kind != "dp" else 0
    return draw(_VALUES[kind, snapshot][draw(st.integers(lo, WIDTH[kind]))])


@st.composite
def sessions(
    draw: st.DrawFn, kinds: tuple[str, ...] = ("sf", "if", "dp")
) -> tuple[dict[str, str], list[list[FeedRecord]]]:
    """Topics with unique ids, their snapshots, then updates/lites/re-snapshots, chunked into
    frames of 1-4 records (so snapshots and updates share frames)."""
    n = draw(st.integers(1, 5))
    ids = draw(st.lists(st.integers(0, 65535), min_size=n, max_size=n, unique=True))
    snaps: list[SnapshotRecord] = []
    symbols: dict[str, str] = {}
    for tid in ids:
        kind = draw(st.sampled_from(kinds))
        name = draw(st.text("ABC xyz019", min_size=1, max_size=12))
        topic = f"{kind}|{draw(st.sampled_from(['nse_cm', 'nse_fo', 'bse_cm']))}|{tid}{name}"
        symbols[topic] = f"NSE:T{tid}-{'INDEX' if kind == 'if' else 'EQ'}"
        snaps.append(
            SnapshotRecord(
                tid,
                topic,
                draw(values(kind, True)),
                draw(st.one_of(st.just(1), st.integers(1, 65535))),
                draw(st.one_of(st.just(2), st.integers(0, 8))),
                "NSE",
                str(tid),
                name,
            )
        )
    records: list[FeedRecord] = list(snaps)
    for _ in range(draw(st.integers(0, 12))):
        s = draw(st.sampled_from(snaps))
        kind = s.topic[:2]
        pick = draw(st.integers(0, 9))
        if pick == 0:
            records.append(
                SnapshotRecord(
                    s.topic_id, s.topic, draw(values(kind, True)), s.multiplier, s.precision
                )
            )
        elif pick <= 3 and kind != "dp":
            records.append(LiteRecord(s.topic_id, draw(maybe)))
        else:
            records.append(UpdateRecord(s.topic_id, draw(values(kind, False))))
    frames: list[list[FeedRecord]] = []
    while records:
        k = draw(st.integers(1, 4))
        frames.append(records[:k])
        records = records[k:]
    return symbols, frames


def encode(frames: list[list[FeedRecord]], first: int = 1) -> list[bytes]:
    return [DataFeed(first + i, tuple(f)).serialize() for i, f in enumerate(frames)]


# ---- datafeed: equal where the SDK is right -----------------------------------------------


@DIFF
@given(sessions())
def test_full_mode_dicts_equal_the_sdk(sdk: Sdk, session: Any) -> None:
    symbols, frames = session
    wire = encode(frames)
    sdk.reset(symbols)
    expected = sdk.feed(wire)
    assert ordered(ours(wire, symbols)) == ordered(expected)
    assert all(cb == "on_message" for cb, _ in expected)


@DIFF
@given(sessions(kinds=("sf", "if")))
def test_lite_mode_dicts_equal_the_sdk(sdk: Sdk, session: Any) -> None:
    symbols, frames = session
    wire = encode(frames)
    sdk.reset(symbols, lite=True)
    expected = sdk.feed(wire)
    assert ordered(ours(wire, symbols, lite=True)) == ordered(expected)
    assert all(list(d) == ["ltp", "symbol", "type"] for _, d in expected)


@settings(max_examples=100, deadline=None)
@given(sessions(), st.binary(max_size=12), st.sampled_from([None, 0, 1, 0xFFFF]))
def test_both_ignore_datafeed_length_prefix_and_trailing_bytes(
    sdk: Sdk, session: Any, garbage: bytes, prefix: int | None
) -> None:
    symbols, frames = session
    wire = [
        (f if prefix is None else prefix.to_bytes(2, "big") + f[2:]) + garbage
        for f in encode(frames)
    ]
    sdk.reset(symbols)
    assert ordered(ours(wire, symbols)) == ordered(sdk.feed(wire))


@settings(max_examples=50, deadline=None)
@given(sessions(), st.integers(1, 5), st.integers(1, 2**32 - 1000))
def test_auto_acks_equal_the_sdk(sdk: Sdk, session: Any, ack_count: int, first: int) -> None:
    symbols, frames = session
    wire = [AuthReply("K", ack_count, 4).serialize(), *encode(frames, first)]
    sdk.reset(symbols)
    codec = DataCodec(symbols=symbols)
    assert ordered(ours(wire, symbols, codec=codec)) == ordered(sdk.feed(wire))
    assert codec.data_to_send() == sdk.sent()


# ---- control messages ---------------------------------------------------------------------

controls = st.one_of(
    st.builds(AuthReply, st.sampled_from(["K", "N"]), st.integers(0, 2**32 - 1), st.just(4)),
    st.builds(
        StatusReply,
        st.sampled_from(
            [
                ResponseType.SUBSCRIBE,
                ResponseType.UNSUBSCRIBE,
                ResponseType.RESUME,
                ResponseType.MODE,
            ]
        ),
        st.sampled_from(["K", "N"]),
    ),
    st.builds(StatusReply, st.just(ResponseType.PAUSE), st.just("K")),  # "N": divergence below
    st.builds(
        CustomMessage,
        st.integers(-(2**31), 2**31 - 1),
        st.text(max_size=30),
        st.sampled_from([0, 1, 4, 5, 7, 8, 12, 51, 255]),
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(controls, max_size=6), st.booleans())
def test_control_messages_equal_the_sdk(sdk: Sdk, messages: list[Any], lite: bool) -> None:
    wire = [m.serialize() for m in messages]
    sdk.reset({}, lite=lite)
    assert ordered(ours(wire, {}, lite=lite)) == ordered(sdk.feed(wire))


def test_spec_control_examples_equal_the_sdk(sdk: Sdk) -> None:
    wire = [
        bytes.fromhex("000d0102010001" + "4b" + "02000400000000"),
        bytes.fromhex("000601" + "01010001" + "4e"),  # auth reply with only a failed status
        bytes.fromhex("0006040101" + "00014b"),
        bytes.fromhex("00060c0101" + "00014b"),
        bytes.fromhex("00 15 33 03 01 00 04 00 00 c7 39 02 00 05 6c 69 6d 69 74 03 00 01 04"),
        bytes.fromhex("000a0d" + "00" * 9),  # type 13 master data: ignored by both
    ]
    sdk.reset({})
    assert ordered(ours(wire, {})) == ordered(sdk.feed(wire))


# ---- client frames against the SDK's own builders -----------------------------------------

ascii_topics = st.lists(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(ascii_topics, st.integers(1, 30))
def test_subscribe_frames_equal_the_sdk_builder_apart_from_its_wrong_length(
    sdk: Sdk, topics: list[str], channel: int
) -> None:
    s = sdk.sock
    s.channel_num = channel
    s.scrips_per_channel = {i: [] for i in range(1, 31)}
    for cls, builder in (
        (SubscribeRequest, s._FyersDataSocket__subscription_msg),
        (UnsubscribeRequest, s._FyersDataSocket__unsubscription_msg),
    ):
        theirs = bytes(builder(list(topics)))
        mine = cls(tuple(topics), channel).serialize()
        assert theirs[2:] == mine[2:]
        assert mine[:2] == (len(mine) - 2).to_bytes(2, "big")
        # the SDK's prefix is 18 + len(blob) + len(token) + len(source); our parser ignores it
        blob = len(mine) - 11
        assert int.from_bytes(theirs[:2], "big") == 18 + blob + len(TOKEN) + len(s.source)
        assert parse_client_frame(theirs, strict=True) == cls(tuple(topics), channel)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 63), st.integers(0, 2**32 - 1))
def test_mode_pause_resume_ack_frames_equal_the_sdk_builders(
    sdk: Sdk, channel: int, number: int
) -> None:
    s = sdk.sock
    s.channel_num = channel
    pairs = [
        (s._FyersDataSocket__full_mode_msg(), ModeRequest(channel_mask(channel), lite=False)),
        (s._FyersDataSocket__lite_mode_msg(), ModeRequest(channel_mask(channel), lite=True)),
        (s._FyersDataSocket__channel_pause_msg(channel), PauseRequest(channel_mask(channel))),
        (s._FyersDataSocket__channel_resume_msg(channel), ResumeRequest(channel_mask(channel))),
    ]
    for theirs, msg in pairs:
        theirs = bytes(theirs)
        assert theirs[:2] == b"\x00\x00"  # the SDK's length prefix for these is always 0
        assert theirs[2:] == msg.serialize()[2:]
        assert parse_client_frame(theirs, strict=True) == msg
    ack = bytes(s._FyersDataSocket__ackowledgement_msg(number))
    assert ack == AckRequest(number).serialize()  # correct prefix on both sides


@settings(max_examples=40, deadline=None)
@given(st.text("0123456789abcdef", min_size=1, max_size=64), st.booleans())
def test_auth_frame_and_token_decoding_equal_the_sdk(sdk: Sdk, key: str, with_app: bool) -> None:
    s = sdk.sock
    token = mint_fake_token(key, FAR_FUTURE, app_id="ABCDEFGHIJ-100" if with_app else None)
    s._FyersDataSocket__access_token = token
    try:
        assert s.access_token_to_hsmtoken() is True  # our minted token satisfies the SDK
        assert s._FyersDataSocket__hsm_token == key == decode_access_token(token).hsm_key
        assert bytes(s._FyersDataSocket__access_token_msg()) == AuthRequest(key).serialize()
    finally:
        s._FyersDataSocket__access_token = TOKEN


def test_ping_frame_equals_the_sdk(sdk: Sdk, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[bytes] = []
    fake = types.SimpleNamespace(sock=types.SimpleNamespace(connected=True))
    fake.send = lambda data, opcode: sent.append(bytes(data))

    def sleep(_: float) -> None:  # the SDK's ping loop sleeps 10 s; end it instead
        fake.sock.connected = False

    monkeypatch.setattr(data_ws, "time", types.SimpleNamespace(sleep=sleep, time=lambda: 0.0))
    monkeypatch.setattr(sdk.sock, "_FyersDataSocket__ws_object", fake)
    sdk.sock._FyersDataSocket__ping()
    assert sent == [PING_FRAME]
    codec = DataCodec()
    codec.ping()
    assert codec.data_to_send() == sent


# ---- documented divergences (the SDK is wrong; ours is kept) ------------------------------

NIFTY = "if|nse_cm|Nifty 50"
SBIN = "sf|nse_cm|3045"
SBIN_DP = "dp|nse_cm|3045"
SYMS = {NIFTY: "NSE:NIFTY50-INDEX", SBIN: "NSE:SBIN-EQ", SBIN_DP: "NSE:SBIN-EQ"}


def snapshot(tid: int, topic: str, vals: list[int]) -> SnapshotRecord:
    return SnapshotRecord(tid, topic, tuple(vals), 1, 2, "NSE", "x", "X")


def test_divergence_index_with_zero_close(sdk: Sdk) -> None:
    """SDK: ZeroDivisionError inside its index branch, the tick is silently lost.
    Ours: the tick is delivered; ch/chp are left out (undefined), as the SDK does for scrips."""
    wire = encode([[snapshot(1, NIFTY, [2250000, 0, 1700000000])]])
    sdk.reset(SYMS)
    assert sdk.feed(wire) == []
    assert ours(wire, SYMS) == [
        (
            "on_message",
            {
                "ltp": 22500.0,
                "prev_close_price": 0.0,
                "exch_feed_time": 1700000000,
                "type": "if",
                "symbol": "NSE:NIFTY50-INDEX",
            },
        )
    ]


def test_divergence_lite_record_for_unknown_topic(sdk: Sdk) -> None:
    """SDK: does not consume the 4-byte value, misreads the rest of the frame and loses the
    valid update after it. Ours: ProtocolError (we do not guess), codec state untouched."""
    setup = encode([[snapshot(1, SBIN, [100, 5])]])
    bad = encode([[LiteRecord(999, 1000), UpdateRecord(1, (101,))]], first=2)
    sdk.reset(SYMS)
    sdk.feed(setup)
    assert sdk.feed(bad) == []  # the update for a known topic is lost
    codec = DataCodec(symbols=SYMS)
    ours(setup, SYMS, codec=codec)
    before = codec.latest(SBIN)
    with pytest.raises(ProtocolError, match="unknown topic id 999") as info:
        codec.receive_data(bad[0])
    assert info.value.offset == 9
    assert codec.latest(SBIN) == before and codec.events_received() == []


def test_divergence_lite_record_for_depth_topic(sdk: Sdk) -> None:
    """SDK: same misparse as an unknown topic (depth has no lite form). Ours: ProtocolError."""
    setup = encode([[snapshot(2, SBIN_DP, [1] * 30), snapshot(1, SBIN, [100])]])
    bad = encode([[LiteRecord(2, 5), UpdateRecord(1, (101,))]], first=2)
    sdk.reset(SYMS)
    sdk.feed(setup)
    assert sdk.feed(bad) == []
    codec = DataCodec(symbols=SYMS)
    ours(setup, SYMS, codec=codec)
    with pytest.raises(ProtocolError, match="no LTP"):
        codec.receive_data(bad[0])


def test_divergence_depth_in_lite_mode(sdk: Sdk) -> None:
    """SDK: its lite check looks for a key that never exists, then fails on the missing 'ltp':
    depth subscriptions deliver nothing in lite mode. Ours: the depth dict (lite mode only
    trims LTP-bearing quotes; the user asked for depth)."""
    wire = encode([[snapshot(2, SBIN_DP, list(range(100, 130)))], [UpdateRecord(2, (99,))]])
    sdk.reset(SYMS, lite=True)
    assert sdk.feed(wire) == []
    got = ours(wire, SYMS, lite=True)
    assert [d["bid_price1"] for _, d in got] == [1.0, 0.99]
    assert ordered(got)[0] == ordered(ours(wire[:1], SYMS, lite=False))[0]


def test_divergence_lite_tick_without_ltp(sdk: Sdk) -> None:
    """SDK: KeyError on the missing 'ltp' in lite mode, tick lost. Ours: the dict without ltp."""
    wire = encode([[snapshot(1, SBIN, [SENTINEL, 7])]])
    sdk.reset(SYMS, lite=True)
    assert sdk.feed(wire) == []
    assert ours(wire, SYMS, lite=True) == [("on_message", {"symbol": "NSE:SBIN-EQ", "type": "sf"})]


def test_divergence_lite_record_for_topic_without_ltp(sdk: Sdk) -> None:
    """SDK: a 76 record for a topic whose snapshot had no LTP raises (KeyError) and drops the
    rest of the frame. Ours: the LTP is set, and the next record is applied too."""
    setup = encode([[snapshot(1, SBIN, [SENTINEL, 7]), snapshot(2, NIFTY, [2250000, 2240000])]])
    frame = encode([[LiteRecord(1, 500), UpdateRecord(2, (2251000,))]], first=2)
    sdk.reset(SYMS)
    sdk.feed(setup)
    assert sdk.feed(frame) == []
    codec = DataCodec(symbols=SYMS)
    ours(setup, SYMS, codec=codec)
    assert [(d["type"], d["ltp"]) for _, d in ours(frame, SYMS, codec=codec)] == [
        ("sf", 5.0),
        ("if", 22510.0),
    ]


def test_divergence_too_many_values(sdk: Sdk) -> None:
    """SDK: a 22nd scrip value is written into its 'type' key (24+ values drop the frame).
    Ours: values past the 21-field layout are ignored."""
    wire = encode([[snapshot(1, SBIN, [100])], [UpdateRecord(1, (SENTINEL,) * 21 + (7,))]])
    sdk.reset(SYMS)
    theirs = sdk.feed(wire)
    assert [d["type"] for _, d in theirs] == ["sf", 7]
    assert [d["type"] for _, d in ours(wire, SYMS)] == ["sf"]  # nothing changed: no tick


def test_divergence_two_byte_ack_count(sdk: Sdk) -> None:
    """SDK: always reads 4 bytes for the ack count, so against the live reply shape (2-byte
    count 2, then a JSON field 3) it gets 0x0002036x and practically never acks.
    Ours: reads the declared width, acks every 2 frames, like the vendor's JS library."""
    config = b"{" + b" " * 26_000 + b"}"
    body = bytes.fromhex("0100014b020002" + "0002") + b"\x03" + len(config).to_bytes(2, "big")
    auth = (len(body) + len(config) + 2).to_bytes(2, "big") + b"\x01\x03" + body + config
    wire = [auth, *encode([[snapshot(1, SBIN, [100])], [UpdateRecord(1, (101,))]], first=7)]
    sdk.reset(SYMS)
    sdk.feed(wire)
    assert sdk.sock.ack_count == 0x0002_0300 | (len(config) >> 8)
    assert sdk.sent() == []
    codec = DataCodec(symbols=SYMS)
    ours(wire, SYMS, codec=codec)
    assert codec.ack_count == 2
    assert codec.data_to_send() == [AckRequest(8).serialize()]


def test_divergence_pause_failure(sdk: Sdk) -> None:
    """SDK: references an undefined PAUSE_ERROR_CODE, so a failed pause is never reported.
    Ours: on_error with code 11031 (the value its constants table skipped)."""
    wire = [StatusReply(ResponseType.PAUSE, "N").serialize()]
    sdk.reset({})
    assert sdk.feed(wire) == []
    assert ours(wire, {}) == [
        ("on_error", {"type": "cp", "code": 11031, "message": "Mode change failed", "s": "error"})
    ]


def test_divergence_snapshot_for_unmapped_topic(sdk: Sdk) -> None:
    """SDK: KeyError on its symbol map, the rest of the frame (another topic's snapshot) is
    lost. Ours: every record is decoded; an unmapped topic is labelled with the topic itself."""
    wire = encode([[snapshot(1, "sf|nse_cm|9999", [100]), snapshot(2, SBIN, [200])]])
    sdk.reset(SYMS)
    assert sdk.feed(wire) == []
    assert [d["symbol"] for _, d in ours(wire, SYMS)] == ["sf|nse_cm|9999", "NSE:SBIN-EQ"]


def test_divergence_truncated_frame_is_atomic(sdk: Sdk) -> None:
    """SDK: delivers the records before the damage, then logs the exception.
    Ours: ProtocolError and nothing from that frame (parse first, then apply)."""
    setup = encode([[snapshot(1, SBIN, [100])]])
    frame = encode([[UpdateRecord(1, (101,)), UpdateRecord(1, (102, 5))]], first=2)[0][:-3]
    sdk.reset(SYMS)
    sdk.feed(setup)
    assert [d["ltp"] for _, d in sdk.feed([frame])] == [1.01]
    codec = DataCodec(symbols=SYMS)
    ours(setup, SYMS, codec=codec)
    with pytest.raises(ProtocolError, match="runs past"):
        codec.receive_data(frame)
    assert codec.events_received() == []


def test_divergence_topic_id_reused_across_kinds(sdk: Sdk) -> None:
    """SDK: keeps one id map per kind and looks ids up sf → if → dp, so after an index snapshot
    reuses a scrip's id, updates still go to the scrip. Ours: the latest snapshot owns the id."""
    wire = encode(
        [
            [snapshot(5, SBIN, [100])],
            [snapshot(5, NIFTY, [2250000, 2240000])],
            [UpdateRecord(5, (1,))],
        ]
    )
    sdk.reset(SYMS)
    assert sdk.feed(wire)[-1][1]["type"] == "sf"
    assert ours(wire, SYMS)[-1][1]["type"] == "if"
