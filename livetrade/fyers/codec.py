"""Sans-I/O codec for the Fyers API v3 market-data socket ("HSM", spec section 1).

Nothing here touches a socket, a clock or an event loop. Bytes go in through
:meth:`DataCodec.receive_data`, parsed events come out of :meth:`DataCodec.events_received`, and
requests are queued by :meth:`DataCodec.subscribe` & co. and collected with
:meth:`DataCodec.data_to_send` -- the shape of python-websockets' ``protocol.py``. The asyncio
stream and the local fake server are thin loops around this module, so both sides of every test
share one definition of the wire format.

Layers, bottom up, one module each (all re-exported here, so ``livetrade.fyers.codec`` stays the
one import path):

* :mod:`~livetrade.fyers.wire`: codes, field lists, layouts and framing primitives;
* wire records (frozen dataclasses with ``serialize()`` / ``parse()``) for every client request
  (:mod:`~livetrade.fyers.client_frames`: :class:`AuthRequest`, :class:`ModeRequest`,
  :class:`SubscribeRequest`, :class:`UnsubscribeRequest`, :class:`PauseRequest`,
  :class:`ResumeRequest`, :class:`AckRequest`, :class:`PingRequest`) and every server message
  (:mod:`~livetrade.fyers.server_frames`: :class:`AuthReply`, :class:`StatusReply`,
  :class:`DataFeed` with :class:`SnapshotRecord` / :class:`UpdateRecord` / :class:`LiteRecord`,
  :class:`CustomMessage`, :class:`OpaqueMessage`), plus the dispatchers
  :func:`parse_client_frame` and :func:`parse_server_frame`;
* the events handed out (:mod:`~livetrade.fyers.ticks`: :class:`Tick` and the control results);
* :class:`DataCodec` (this module), the stateful client side: per-topic merged state, the
  cached update merge, auto-acks, events.

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

import struct
from collections.abc import Callable, Iterable, Mapping
from itertools import groupby
from operator import itemgetter
from types import MappingProxyType
from typing import Final, TypeAlias

from livetrade.errors import InvalidInput, ProtocolError
from livetrade.fyers.client_frames import (
    AckRequest,
    AuthRequest,
    ClientMessage,
    ModeRequest,
    PauseRequest,
    PingRequest,
    RawClientMessage,
    ResumeRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    _ScripRequest,
    parse_client_frame,
)
from livetrade.fyers.server_frames import (
    AuthReply,
    CustomMessage,
    DataFeed,
    FeedRecord,
    LiteRecord,
    OpaqueMessage,
    SdkCallback,
    ServerMessage,
    SnapshotRecord,
    StatusReply,
    UpdateRecord,
    _feed_header,
    _parse_snapshot,
    parse_server_frame,
)
from livetrade.fyers.ticks import (
    AuthResult,
    ControlResult,
    Event,
    FrameIgnored,
    Tick,
    TopicInfo,
)
from livetrade.fyers.wire import (
    _DATAFEED,
    _INTS,
    _LAYOUTS,
    _LITE_BODY,
    _REC_LITE,
    _REC_SNAPSHOT,
    _REC_UPDATE,
    _UPDATE_AT,
    DEFAULT_CHANNEL,
    DEFAULT_SOURCE,
    DEPTH_FIELDS,
    INDEX_FIELDS,
    MAX_TOPICS_PER_FRAME,
    PING_FRAME,
    SCRIP_FIELDS,
    SENTINEL,
    RecordKind,
    RequestType,
    ResponseType,
    _check_end,
    channel_mask,
    channels_in_mask,
)

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
