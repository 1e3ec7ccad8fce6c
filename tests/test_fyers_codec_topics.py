"""The codec's topic map under re-announced ids: bounded, and never another topic's tick.

Fyers may re-use a topic id for another topic on the same connection (a snapshot announces
``id → topic``). Before the fix, ``latest(old_topic)`` returned the new topic's tick and the
topic map kept one entry per topic ever seen.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from livetrade.fyers.codec import AuthReply, DataCodec, DataFeed, SnapshotRecord

TOPICS = [f"sf|nse_cm|{n}" for n in range(1000, 1012)]


def snapshot_frame(msg_no: int, pairs: list[tuple[int, str, int]]) -> bytes:
    records = tuple(
        SnapshotRecord(tid, topic, (ltp, 0, 0), 1, 2, "NSE", "tok", "SYM")
        for tid, topic, ltp in pairs
    )
    return DataFeed(msg_no, records).serialize()


def test_a_reannounced_id_no_longer_answers_for_its_old_topic() -> None:
    codec = DataCodec()
    codec.receive_data(snapshot_frame(1, [(7, "sf|nse_cm|3045", 80_000)]))
    codec.receive_data(snapshot_frame(2, [(7, "sf|nse_cm|2885", 250_000)]))
    assert codec.latest("sf|nse_cm|3045") is None
    new = codec.latest("sf|nse_cm|2885")
    assert new is not None and new.info.topic == "sf|nse_cm|2885" and new.values[0] == 250_000


def test_the_topic_map_stays_bounded_by_the_ids_in_use() -> None:
    codec = DataCodec()
    codec.receive_data(AuthReply("K", 0).serialize())
    for n in range(5_000):  # one id, 5,000 different topics
        codec.receive_data(snapshot_frame(n + 1, [(1, f"sf|nse_cm|{n}", n)]))
    assert len(codec._by_topic) == 1 and len(codec._topic_of) == 1
    assert codec.latest("sf|nse_cm|4999") is not None and codec.latest("sf|nse_cm|0") is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(0, 5), st.sampled_from(TOPICS), st.integers(0, 10**6)),
            min_size=1,
            max_size=4,
        ),
        max_size=12,
    )
)
def test_latest_follows_a_reference_model(frames: list[list[tuple[int, str, int]]]) -> None:
    codec = DataCodec()
    # the model: a topic answers from the id of its latest snapshot, while that id still
    # announces it (an older id of the same topic holds an older state: never shown)
    owner: dict[int, str] = {}  # id → topic it announces now
    newest: dict[str, int] = {}  # topic → id of its latest snapshot
    last: dict[int, int] = {}  # id → its LTP
    for n, pairs in enumerate(frames, 1):
        codec.receive_data(snapshot_frame(n, pairs))
        for tid, topic, ltp in pairs:
            owner[tid], newest[topic], last[tid] = topic, tid, ltp
    assert len(codec._by_topic) <= len(owner)
    for topic in TOPICS:
        tid = newest.get(topic)
        tick = codec.latest(topic)
        if tid is None or owner[tid] != topic:
            assert tick is None
        else:
            assert tick is not None and tick.info.topic == topic
            assert tick.info.topic_id == tid and tick.values[0] == last[tid]
