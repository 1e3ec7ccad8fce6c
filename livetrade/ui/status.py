"""Status bar: PAPER/LIVE badge, feed state, last-tick age, MTM, funds, trading state.

The feed state is what the session can honestly tell: the simulated or replayed market is
running, stalled (no tick for several expected intervals), on a virtual clock, finished or
stopped. There is no Fyers stream yet, so there is no "reconnecting" state to show.
"""

from __future__ import annotations

import html
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livetrade.model import KillSwitch
from livetrade.ui.common import (
    ActionResult,
    clock_text,
    hold_sync,
    inr,
    ipywidgets,
    pct,
    run_action,
)

if TYPE_CHECKING:
    from livetrade.session import Session


@dataclass(frozen=True, slots=True)
class FeedActivity:
    """What the dashboard saw of the tick flow, on its own (monotonic) clock."""

    ticks: int = 0
    last_tick_at: float | None = None
    rate: float | None = None


class FeedMonitor:
    """Turns a bare tick counter into last-tick age and tick rate at render time, so the tick
    handler does one integer add instead of a clock call per tick."""

    def __init__(self, window: float = 2.0) -> None:
        self.count = 0
        self._window = window
        self._seen = 0
        self._last_at: float | None = None
        self._samples: deque[tuple[float, int]] = deque()

    def observe(self, now: float) -> FeedActivity:
        if self.count != self._seen:
            self._seen = self.count
            self._last_at = now
        samples = self._samples
        samples.append((now, self.count))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        rate = None
        if len(samples) >= 2 and now - samples[0][0] > 0:
            rate = (self.count - samples[0][1]) / (now - samples[0][0])
        return FeedActivity(self.count, self._last_at, rate)


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything the status bar shows."""

    mode: str  # "PAPER", "LIVE" (armed) or "LIVE (not armed)"
    session: str
    feed: str  # "sim" or "replay" (the sources a session has today)
    feed_state: str  # running | stalled | waiting | virtual clock | finished | stopped
    tick_age_s: float | None
    tick_rate: float | None
    market_time: str
    kill_switch: str
    equity_paise: int
    pnl_paise: int
    pnl_pct: str
    cash_paise: int = 0
    margin_used_paise: int = 0
    funds_available_paise: int | None = None
    """``engine.funds()``'s available cash (None: equity less the margin held)."""
    premium_paid_paise: int = 0
    premium_received_paise: int = 0

    @property
    def available_paise(self) -> int:
        """What new orders may still use: the funds page's available cash (cash, futures and
        intraday notional marked to market, less every margin blocked)."""
        if self.funds_available_paise is not None:
            return self.funds_available_paise
        return self.equity_paise - self.margin_used_paise

    @property
    def trading(self) -> str:
        """The kill switch in a trader's words (never "kill switch ACTIVE", which reads as
        the opposite of what it means)."""
        return {
            KillSwitch.ACTIVE.value: "Trading: ON",
            KillSwitch.HALTED.value: "Trading: HALTED",
            KillSwitch.REDUCING.value: "Trading: REDUCING only",
        }.get(self.kill_switch, f"Trading: {self.kill_switch}")

    @property
    def live(self) -> bool:
        return self.mode.startswith("LIVE")

    @property
    def can_halt(self) -> bool:
        return self.kill_switch != KillSwitch.HALTED.value and self.feed_state != "stopped"

    @property
    def can_resume(self) -> bool:
        return self.kill_switch != KillSwitch.ACTIVE.value and self.feed_state != "stopped"

    @property
    def feed_text(self) -> str:
        parts = [f"{self.feed} feed: {self.feed_state}"]
        if self.tick_rate is not None and self.feed_state in ("running", "stalled"):
            parts.append(f"{self.tick_rate:,.0f} ticks/s")
        if self.tick_age_s is not None and self.feed_state in ("running", "stalled"):
            parts.append(f"last tick {self.tick_age_s:.1f} s ago")
        return " · ".join(parts)

    @property
    def text(self) -> str:
        """One plain line (what a screen reader or a test reads)."""
        return " · ".join(
            [self.mode, self.feed_text, f"{self.market_time} IST", *self.money_items,
             self.trading]
        )  # fmt: skip

    @property
    def premium_text(self) -> str:
        """Option premium paid and received today ("" with no option traded)."""
        parts = []
        if self.premium_paid_paise:
            parts.append(f"paid {inr(self.premium_paid_paise)}")
        if self.premium_received_paise:
            parts.append(f"received {inr(self.premium_received_paise)}")
        return f"premium {' / '.join(parts)}" if parts else ""

    @property
    def money_items(self) -> list[str]:
        items = [
            f"MTM {inr(self.pnl_paise, sign=True)} ({self.pnl_pct})",
            f"cash {inr(self.cash_paise)}",
            f"margin used {inr(self.margin_used_paise)}",
            f"available {inr(self.available_paise)}",
        ]
        return items + ([self.premium_text] if self.premium_text else [])


def feed_name(session: Session) -> str:
    """``session.feed``: the one name the REST API's health answer uses too."""
    return session.feed


def stall_after(session: Session) -> float:
    """Seconds without a tick before a real-time feed counts as stalled."""
    return max(2.0, 5 * session.tick_interval / session.speed)


def feed_state(session: Session, activity: FeedActivity, now: float) -> tuple[str, float | None]:
    """``(state, age in seconds)`` from the session and the observed tick flow."""
    if session.closed:
        return "stopped", None
    fyers = session.feed_state()
    if fyers is not None and fyers.status != "live":  # the connection's own word, e.g. retries
        if fyers.status == "reconnecting":
            if session.fyers_feed is not None:
                retries = session.fyers_feed.manager.retries
                of = "" if retries is None else f"/{retries}"  # None: no budget, never gives up
                return f"reconnecting {fyers.attempt}{of}", None
            return f"reconnecting {fyers.attempt}", None
        return fyers.status + (f" ({fyers.reason})" if fyers.reason else ""), None
    if session.replay is not None and session.replay.remaining == 0:
        return "finished", None
    if not session.realtime:
        return "virtual clock", None
    if activity.last_tick_at is None:
        return "waiting", None
    age = max(0.0, now - activity.last_tick_at)
    return ("stalled" if age > stall_after(session) else "running"), age


def status_view(session: Session, activity: FeedActivity, now: float) -> StatusView:
    """The status bar for ``session``; ``now`` is on the same clock as ``activity``."""
    engine = session.engine
    p = engine.pnl_paise()
    funds = engine.funds_paise()
    state, age = feed_state(session, activity, now)
    return StatusView(
        mode=session.mode,
        session=session.name,
        feed=feed_name(session),
        feed_state=state,
        tick_age_s=age,
        tick_rate=activity.rate if session.realtime else None,
        market_time=clock_text(session.clock.now_ns()),
        kill_switch=engine.kill_switch.value,
        equity_paise=p["equity"],
        pnl_paise=p["total"],
        pnl_pct=pct(p["total"], engine.initial_paise),
        cash_paise=p["cash"],
        # engine.funds(): F&O (SPAN + exposure) and intraday margin, as its checks use them
        margin_used_paise=funds["margin_blocked"],
        funds_available_paise=funds["available_cash"],
        premium_paid_paise=funds["premium_paid"],
        premium_received_paise=funds["premium_received"],
    )


def set_kill_switch(session: Session, state: KillSwitch) -> ActionResult:
    """The Halt/Resume buttons: the engine's kill switch, reported as a sentence."""

    def act() -> str:
        session.kill_switch(state)
        if state is KillSwitch.HALTED:
            return "Trading halted: no new orders until you resume."
        if state is KillSwitch.REDUCING:
            return "Reducing only: orders that shrink a position are accepted."
        return "Trading resumed."

    return run_action(act)


def status_html(view: StatusView) -> str:
    """One line of items; an item never wraps inside itself (the line wraps between them)."""
    badge = (
        '<span class="lt-badge lt-paper">PAPER</span>'
        if not view.live
        else '<span class="lt-badge lt-live">● LIVE — real orders</span>'
        if view.mode == "LIVE"
        else '<span class="lt-badge lt-live">● LIVE — not armed</span>'
    )
    feed_cls = {
        "running": "lt-ok",
        "stalled": "lt-warn",
        "waiting": "lt-warn",
        "stopped": "lt-err",
        "finished": "lt-muted",
    }.get(view.feed_state, "lt-muted")
    ks_cls = {
        KillSwitch.ACTIVE.value: "lt-ok",
        KillSwitch.REDUCING.value: "lt-warn",
    }.get(view.kill_switch, "lt-err")
    pnl_cls = "lt-pos" if view.pnl_paise > 0 else ("lt-neg" if view.pnl_paise < 0 else "")
    e = html.escape
    mtm, cash, used, avail = view.money_items[:4]
    premium = view.premium_text
    items = [
        badge,
        f'<span class="lt-feed {feed_cls}" data-state="{e(view.feed_state)}">'
        f"{e(view.feed_text)}</span>",
        f"<span>{e(view.market_time)} IST</span>",
        f'<span class="lt-pnl {pnl_cls}">{e(mtm)}</span>',
        f'<span class="lt-cash">{e(cash)}</span>',
        f'<span class="lt-margin">{e(used)}</span>',
        f'<span class="lt-available">{e(avail)}</span>',
        *([f'<span class="lt-premium">{e(premium)}</span>'] if premium else []),
        f'<span class="lt-kill {ks_cls}" data-state="{e(view.kill_switch)}">'
        f"{e(view.trading)}</span>",
    ]
    return '<span class="lt-sep"> · </span>'.join(items)


class StatusBar:
    """Thin adapter: one HTML widget for the text, two buttons for the kill switch."""

    def __init__(self, session: Session) -> None:
        w = ipywidgets()

        self.session = session
        self.text: Any = w.HTML(value="")
        self.text.add_class("lt-status-text")
        self.halt: Any = w.Button(
            description="Halt trading", button_style="danger", icon="stop", tooltip="Kill switch"
        )
        self.halt.add_class("lt-halt")
        self.resume: Any = w.Button(description="Resume", icon="play")
        self.resume.add_class("lt-resume")
        self.message: Any = w.HTML(value="")
        self.halt.on_click(lambda _b: self._act(KillSwitch.HALTED))
        self.resume.on_click(lambda _b: self._act(KillSwitch.ACTIVE))
        self.widget: Any = w.HBox(
            [self.text, self.halt, self.resume, self.message],
            layout=w.Layout(align_items="center", flex_flow="row wrap", min_width="0"),
        )
        self.widget.add_class("lt-status")

    def _act(self, state: KillSwitch) -> None:
        result = set_kill_switch(self.session, state)
        self.message.value = result.html()

    def update(self, view: StatusView) -> None:
        with hold_sync(self.text, self.halt, self.resume):
            self.text.value = status_html(view)
            self.halt.disabled = not view.can_halt
            self.resume.disabled = not view.can_resume
        if view.feed_state == "stopped" and self.message.value:
            self.message.value = ""
