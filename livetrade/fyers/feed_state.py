"""Where the Fyers data connection is, as its readers see it: :class:`FeedState` (status,
attempt, reason, last tick time; what the status bar and ``on_state`` handlers get),
:class:`StreamStats` (the connection's counters) and :func:`nse_market_open`, the hours in
which silence counts as a stall. Plain values, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from livetrade.model import ns_to_datetime

FeedStatus: TypeAlias = Literal["connecting", "live", "reconnecting", "stalled", "failed", "closed"]


@dataclass(frozen=True, slots=True)
class FeedState:
    """Where the data connection is. ``status``:

    * ``connecting`` -- first connection attempt (``attempt`` 0);
    * ``live`` -- authenticated and subscribed; ticks flow;
    * ``reconnecting`` -- the connection was lost (``reason``); attempt ``attempt`` (counted
      since the last connection that delivered data) is about to be made after the backoff
      delay; by default this goes on for as long as it takes;
    * ``stalled`` -- the watchdog saw no data for ``stall_timeout`` s; a reconnect follows;
    * ``failed`` -- stopped: the token was refused (or expired), or an explicit ``retries``
      budget ran out (``reason``); :meth:`FyersWebSocketManager.reconnect` starts it again;
    * ``closed`` -- not started yet, or closed by the user.

    ``last_tick_ns`` is the local receive time of the latest tick (epoch ns), if any.
    """

    status: FeedStatus
    attempt: int = 0
    reason: str | None = None
    last_tick_ns: int | None = None

    def __str__(self) -> str:
        text = self.status if not self.attempt else f"{self.status}({self.attempt})"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(slots=True)
class StreamStats:
    """Counters since the manager was created (read them; do not write)."""

    connects: int = 0  # connections that authenticated
    reconnects: int = 0  # of those, how many followed a lost connection
    frames: int = 0  # binary messages received
    ticks: int = 0  # decoded ticks delivered
    protocol_errors: int = 0  # malformed frames skipped
    last_protocol_error: str | None = None
    stalls: int = 0  # watchdog reconnects
    custom_messages: int = 0  # type-51 server notices
    subscribe_frames: int = 0  # subscribe requests sent
    unsubscribe_frames: int = 0


def nse_market_open(ts_ns: int) -> bool:
    """NSE cash-market hours: Monday-Friday 09:15-15:30 Asia/Kolkata (no holiday calendar)."""
    t = ns_to_datetime(ts_ns)
    if t.weekday() >= 5:
        return False
    minute = t.hour * 60 + t.minute
    return 555 <= minute < 930


def _always(ts_ns: int) -> bool:
    return True
