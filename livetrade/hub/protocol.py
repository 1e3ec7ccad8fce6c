"""What the hub and its sessions agree on in Redis: key names, the quote encoding, stream ids.

Keys (``prefix`` is ``lt`` by default, so several hubs can share one Redis):

``{prefix}:q:{symbol}``
    One stream per symbol. Each entry has one field ``q`` whose value is five ASCII integers,
    ``"bid ask last volume ts_ns"`` (paise, epoch ns): readable with ``redis-cli XRANGE``, from
    any language, and three RESP items per entry instead of eleven for five separate fields
    (reading is the fan-out's hot path: measured 2.3× slower with five fields).
    Entry ids are written by the hub as ``{epoch}-{seq}``: ``seq`` counts that symbol's quotes
    with no holes, so a reader that sees ``seq`` jump knows exactly how many it missed.
    ``epoch`` is the start time (ms) of the hub process that numbers the symbol, so ids keep
    growing across hub restarts and an id is never given twice, even if Redis comes back from
    an older snapshot. The first entry of an epoch on an existing stream also carries ``p``, the
    id it follows, so a reader still counts exactly what it missed across the change.
``{prefix}:d:{symbol}``
    The symbol's latest five-level depth, a plain string (:func:`encode_depth`:
    ``"ts_ns nb na"`` then ``price qty orders`` for each bid, best first, then each ask), set
    by the hub when it changes and expiring with the sessions' key TTL, so a dead hub's book
    is not read as live.
``{prefix}:hub:hb``
    The hub's heartbeat and feed state, a short stream: ``s`` (feed status), ``r`` (reason),
    ``h`` (hub id), every ``heartbeat`` seconds and on every change. Sessions read it in the same
    ``XREAD`` as their quotes and call the feed stale when it goes quiet.
``{prefix}:hub``
    A hash snapshot of the hub (id, pid, host, feed, status, reason, counters) for people and
    tools; it expires when the hub stops refreshing it.
``{prefix}:hub:owner``
    The lease that lets exactly one hub own the feed (``SET NX PX``, renewed by the owner).
``{prefix}:hub:symbols``
    The set of symbols the hub subscribes now: the union of every live session's symbols.
``{prefix}:hub:req``
    The request stream: entries ``s`` (session id) and ``o`` (``set``, ``hb`` or ``bye``).
``{prefix}:sub:{session}``
    The symbols one session wants (a set, with a TTL its heartbeat renews). Requests carry no
    symbols: the hub always reads this set, so a lost or repeated request is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from livetrade.errors import InvalidInput
from livetrade.model import check_symbol

Level = tuple[int, int, int]  # price paise, quantity, orders

__all__ = [
    "PUBLISH_SCRIPT",
    "RENEW_SCRIPT",
    "HubKeys",
    "Level",
    "batch_line",
    "decode_depth",
    "decode_quote",
    "encode_depth",
    "encode_quote",
    "format_id",
    "gap",
    "parse_id",
    "valid_symbol",
]


@dataclass(frozen=True, slots=True)
class HubKeys:
    """Every key name the hub and the sessions use, under one ``prefix``."""

    prefix: str = "lt"

    def quotes(self, symbol: str) -> str:
        return f"{self.prefix}:q:{symbol}"

    def depth(self, symbol: str) -> str:
        return f"{self.prefix}:d:{symbol}"

    @property
    def quotes_prefix(self) -> str:
        return f"{self.prefix}:q:"

    @property
    def heartbeat(self) -> str:
        return f"{self.prefix}:hub:hb"

    @property
    def info(self) -> str:
        return f"{self.prefix}:hub"

    @property
    def owner(self) -> str:
        return f"{self.prefix}:hub:owner"

    @property
    def symbols(self) -> str:
        return f"{self.prefix}:hub:symbols"

    @property
    def requests(self) -> str:
        return f"{self.prefix}:hub:req"

    def session(self, session_id: str) -> str:
        return f"{self.prefix}:sub:{session_id}"

    @property
    def session_prefix(self) -> str:
        return f"{self.prefix}:sub:"


def valid_symbol(symbol: object) -> bool:
    """A Fyers symbol (:func:`livetrade.model.check_symbol`'s rule) with no space in it: what
    can travel in a key name and in a line of the hub's write batch."""
    try:
        check_symbol(symbol)
    except InvalidInput:
        return False
    return " " not in symbol  # type: ignore[operator]  # check_symbol proved it a str


def encode_quote(bid: int, ask: int, last: int, volume: int, ts_ns: int) -> bytes:
    """``b"bid ask last volume ts_ns"``: integers, prices in paise."""
    return b"%d %d %d %d %d" % (bid, ask, last, volume, ts_ns)


def decode_quote(payload: bytes) -> tuple[int, int, int, int, int]:
    """``(bid, ask, last, volume, ts_ns)`` from :func:`encode_quote`'s bytes."""
    bid, ask, last, volume, ts_ns = payload.split()
    return int(bid), int(ask), int(last), int(volume), int(ts_ns)


def encode_depth(ts_ns: int, bids: Sequence[Level], asks: Sequence[Level]) -> bytes:
    """A book as ASCII integers (prices in paise): readable with ``redis-cli GET``."""
    parts = [ts_ns, len(bids), len(asks)]
    for price, qty, orders in (*bids, *asks):
        parts += (price, qty, orders)
    return b" ".join(b"%d" % v for v in parts)


def decode_depth(payload: bytes) -> tuple[int, list[Level], list[Level]]:
    """``(ts_ns, bids, asks)`` from :func:`encode_depth`'s bytes; ``ValueError`` if damaged."""
    values = [int(v) for v in payload.split()]
    ts_ns, nb, na = values[:3]
    if not (0 <= nb <= 5 and 0 <= na <= 5) or len(values) != 3 + 3 * (nb + na):
        raise ValueError(f"not a depth record: {payload[:60]!r}")
    levels = [(values[i], values[i + 1], values[i + 2]) for i in range(3, len(values), 3)]
    return ts_ns, levels[:nb], levels[nb:]


def format_id(epoch: int, seq: int) -> bytes:
    return b"%d-%d" % (epoch, seq)


def parse_id(raw: bytes | str) -> tuple[int, int]:
    """``(epoch, seq)`` of a stream id such as ``b"1748850000000-42"``."""
    if isinstance(raw, str):
        raw = raw.encode()
    epoch, _, seq = raw.partition(b"-")
    return int(epoch), int(seq or b"0")


def gap(
    last: tuple[int, int] | None, new: tuple[int, int], prev: tuple[int, int] | None = None
) -> int:
    """How many quotes lie between a reader's ``last`` id and the ``new`` one it just read.

    Within an epoch ids are dense, so it is exact. Across an epoch change it is the new epoch's
    quotes before ``new`` plus the old epoch's after ``last`` up to ``prev`` (the ``p`` the new
    epoch's first entry carries); without ``prev`` (that entry was trimmed, or Redis lost the
    old epoch) the old epoch's part is unknown and the result is a lower bound.
    """
    if last is None:
        return 0
    if new[0] == last[0]:
        return max(0, new[1] - last[1] - 1)
    before = max(0, new[1] - 1)
    if prev is not None and prev[0] == last[0]:
        return before + max(0, prev[1] - last[1])
    return before


PUBLISH_SCRIPT: Final = """
-- ARGV[1]: MAXLEN; ARGV[2]: the batch, one quote a line:
--   "<p> <id> <bid> <ask> <last> <volume> <ts_ns> <key>", <p> being "-" or the id an epoch follows.
-- One argument for the whole batch: redis-py packs arguments one by one in Python, which cost
-- the hub more than everything else per quote. An id at or below the stream's top is skipped,
-- not an error: after a lost reply the hub sends the same batch again, and what already landed
-- must not land twice. Returns how many lines were skipped.
local maxlen = ARGV[1]
local skipped = 0
for line in string.gmatch(ARGV[2], "[^\\n]+") do
  local p, id, q, key = string.match(line, "^(%S+) (%S+) (%S+ %S+ %S+ %S+ %S+) (.+)$")
  local res
  if not key then
    res = {err = 'malformed line'}
  elseif p == '-' then
    res = redis.pcall('XADD', key, 'MAXLEN', '~', maxlen, id, 'q', q)
  else
    res = redis.pcall('XADD', key, 'MAXLEN', '~', maxlen, id, 'q', q, 'p', p)
  end
  if type(res) == 'table' and res.err then
    skipped = skipped + 1
  end
end
return skipped
"""


def batch_line(key: bytes, epoch: int, seq: int, quote: bytes, prev: bytes = b"-") -> bytes:
    """One quote of a :data:`PUBLISH_SCRIPT` batch (the hub inlines this on its hot path)."""
    return b"%s %d-%d %s %s" % (prev, epoch, seq, quote, key)


RENEW_SCRIPT: Final = """
-- KEYS[1]: the lease; ARGV[1]: our hub id; ARGV[2]: lease ms. 1: renewed or taken, 0: not ours.
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

RELEASE_SCRIPT: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
