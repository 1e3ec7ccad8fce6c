"""Candles and history for a session: ``session.bars_df``, ``session.history`` and
``lt.fyers_history``.

The live candles come from :mod:`livetrade.bars` (built tick by tick); this module adds the past
(the simulated market's deterministic history, or Fyers ``/data/history``) and merges the two.

Fyers history (spec 3.7), and why it is fetched this way:

* whole IST days are asked for (``date_format=1``, ``range_from``/``range_to`` inclusive), at
  most 100 days per request for seconds and minutes and 366 for daily candles; seconds candles
  exist only for the last 30 trading days (counted here as weekdays, which never reaches
  further back than Fyers keeps) and nothing before 2017-07-03;
* every request takes a slot from the Fyers rate limiter of its app+user (the live trading
  client's own when the session has one, else one shared per app in this event loop), and an
  HTTP 429 (or code -429) pauses that limiter for ``Retry-After`` and is retried;
* answers are cached on disk, one SQLite file per symbol+timeframe under
  ``<data dir>/history`` (``$LIVETRADE_DATA_DIR``): candles plus the days already fetched, so a
  second call for a covered range sends nothing. Today (IST) is never marked covered: its last
  candle is still forming.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from livetrade.bars import (
    DAY_NS,
    IST_OFFSET_NS,
    NS,
    TIMEFRAMES,
    BarBook,
    BarColumns,
    bars_frame,
    from_rows,
    parse_timeframe,
    to_ns,
)
from livetrade.errors import AuthError, InvalidInput, LiveTradeError
from livetrade.model import check_symbol

if TYPE_CHECKING:
    import httpx
    import pandas as pd

    from livetrade.feeds.sim_history import SimHistory
    from livetrade.fyers.broker import RateLimiter
    from livetrade.fyers.credentials import FyersConfig
    from livetrade.fyers.http import HttpSeam
    from livetrade.session import Session

__all__ = [
    "FIRST_DAY",
    "RESOLUTIONS",
    "FyersHistory",
    "HistoryCache",
    "MarketData",
    "UnknownSymbol",
    "fyers_history",
    "plan_requests",
    "shared_limiter",
]

log = logging.getLogger("livetrade.history")

RESOLUTIONS: Final[dict[str, str]] = {
    "5s": "5S", "15s": "15S", "30s": "30S", "1min": "1", "3min": "3", "5min": "5",
    "15min": "15", "30min": "30", "1h": "60", "1D": "1D",
}  # fmt: skip
"""Our timeframes → Fyers ``resolution`` codes (spec 3.7)."""

FIRST_DAY: Final = date(2017, 7, 3)  # Fyers has no candles before this
SECONDS_DAYS: Final = 30  # trading days of seconds candles Fyers keeps
_EPOCH: Final = date(1970, 1, 1)
_AUTH_CODES: Final = frozenset({-8, -15, -16, -17})
_DEFAULT_SPAN_DAYS: Final = {"s": 1, "m": 5, "h": 30, "D": 365}


class UnknownSymbol(InvalidInput):
    """Fyers does not know the symbol (its code -300); ``field`` is ``"symbol"``."""

    def __init__(self, symbol: str, message: str) -> None:
        super().__init__("symbol", f"Fyers does not know {symbol!r} ({message})")
        self.symbol = symbol


def max_days(timeframe: str) -> int:
    """Days one request may span: 366 for daily candles, 100 for minutes (and, as Fyers
    documents no other figure, for seconds)."""
    return 366 if TIMEFRAMES[timeframe] == 86_400 else 100


def ist_day(ts_ns: int) -> date:
    return _EPOCH + timedelta(days=(ts_ns + IST_OFFSET_NS) // DAY_NS)


def day_start_ns(d: date) -> int:
    return (d - _EPOCH).days * DAY_NS - IST_OFFSET_NS


def _default_span(timeframe: str) -> int:
    """Days of history asked for when ``start`` is not given."""
    secs = TIMEFRAMES[timeframe]
    if secs < 60:
        return _DEFAULT_SPAN_DAYS["s"]
    if secs <= 300:
        return _DEFAULT_SPAN_DAYS["m"]
    return _DEFAULT_SPAN_DAYS["h"] if secs < 86_400 else _DEFAULT_SPAN_DAYS["D"]


def seconds_floor(today: date) -> date:
    """The oldest day Fyers still has seconds candles for (30 weekdays counting today)."""
    d, n = today, 0
    while True:
        if d.weekday() < 5:
            n += 1
            if n == SECONDS_DAYS:
                return d
        d -= timedelta(days=1)


def plan_requests(
    timeframe: str, first: date, last: date, covered: Iterable[date], today: date
) -> list[tuple[date, date]]:
    """The ``(range_from, range_to)`` requests (inclusive IST days) that fetch what ``covered``
    lacks of ``[first, last]``: runs of missing days, trimmed of weekend edges, cut to the
    per-request limit. Nothing after ``today`` or before 2017-07-03 is asked for."""
    have = set(covered)
    first = max(first, FIRST_DAY)
    last = min(last, today)
    runs: list[list[date]] = []
    d = first
    while d <= last:
        if d not in have:
            if runs and runs[-1][-1] == d - timedelta(days=1):
                runs[-1].append(d)
            else:
                runs.append([d])
        d += timedelta(days=1)
    limit = max_days(timeframe)
    out = []
    for run in runs:
        days = run[:]
        while days and days[0].weekday() >= 5:
            days.pop(0)
        while days and days[-1].weekday() >= 5:
            days.pop()
        for i in range(0, len(days), limit):
            part = days[i : i + limit]
            out.append((part[0], part[-1]))
    return out


def shared_limiter(app_id: str) -> RateLimiter:
    """The process's Fyers rate governor for ``app_id`` in the running event loop (Fyers
    counts requests per app+user; :func:`livetrade.governor.governor_for`)."""
    from livetrade.governor import governor_for

    return governor_for(app_id)


class HistoryCache:
    """Fetched candles on disk: one SQLite file per symbol+timeframe (candles in paise, and the
    IST days fully fetched)."""

    def __init__(self, root: str | Path | None = None) -> None:
        if root is None:
            from livetrade.journal import default_dir

            root = default_dir() / "history"
        self.root = Path(root)

    def path(self, symbol: str, timeframe: str) -> Path:
        return self.root / f"{quote(symbol, safe='')}__{timeframe}.sqlite"

    def _connect(self, symbol: str, timeframe: str) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path(symbol, timeframe))
        con.execute(
            "CREATE TABLE IF NOT EXISTS candles (t INTEGER PRIMARY KEY, o INTEGER, h INTEGER,"
            " l INTEGER, c INTEGER, v INTEGER)"
        )
        con.execute("CREATE TABLE IF NOT EXISTS covered (day INTEGER PRIMARY KEY)")
        return con

    def covered(self, symbol: str, timeframe: str, first: date, last: date) -> set[date]:
        if not self.path(symbol, timeframe).exists():
            return set()
        con = self._connect(symbol, timeframe)
        try:
            rows = con.execute(
                "SELECT day FROM covered WHERE day BETWEEN ? AND ?",
                ((first - _EPOCH).days, (last - _EPOCH).days),
            ).fetchall()
        finally:
            con.close()
        return {_EPOCH + timedelta(days=r[0]) for r in rows}

    def store(
        self, symbol: str, timeframe: str, rows: list[tuple[int, ...]], days: Iterable[date]
    ) -> None:
        """Save candles (a refetched start replaces the old one) and mark ``days`` fetched."""
        con = self._connect(symbol, timeframe)
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO candles VALUES (?, ?, ?, ?, ?, ?)", rows)
                con.executemany(
                    "INSERT OR IGNORE INTO covered VALUES (?)",
                    [((d - _EPOCH).days,) for d in days],
                )
        finally:
            con.close()

    def read(self, symbol: str, timeframe: str, start_ns: int, end_ns: int) -> BarColumns:
        """Cached candles starting in ``[start_ns, end_ns)``."""
        if not self.path(symbol, timeframe).exists():
            return BarColumns.empty()
        con = self._connect(symbol, timeframe)
        try:
            rows = con.execute(
                "SELECT t, o, h, l, c, v FROM candles WHERE t >= ? AND t < ? ORDER BY t",
                (start_ns, end_ns),
            ).fetchall()
        finally:
            con.close()
        return from_rows(rows)


def _paise(value: object, field: str) -> int:
    """A JSON price (read as ``Decimal``) to paise; sub-paisa quotes round half-even."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
        if isinstance(value, bool) or not d.is_finite():
            raise InvalidOperation
        return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError):
        raise LiveTradeError(f"Fyers history: {field} {value!r} is not a price") from None


def parse_candles(body: dict[str, Any]) -> list[tuple[int, ...]]:
    """``candles`` rows ``[epoch_s, o, h, l, c, v]`` → ``(start_ns, o, h, l, c, v)`` paise."""
    candles = body.get("candles") or []
    if not isinstance(candles, list):
        raise LiveTradeError("Fyers history: 'candles' is not a list")
    out: list[tuple[int, ...]] = []
    for row in candles:
        if not isinstance(row, list) or len(row) < 6:
            raise LiveTradeError(f"Fyers history: unexpected candle {row!r}")
        try:
            t = int(row[0]) * NS
            v = int(row[5])
        except (TypeError, ValueError, InvalidOperation):
            raise LiveTradeError(f"Fyers history: unexpected candle {row!r}") from None
        o, h, lo, c = (
            _paise(x, f) for x, f in zip(row[1:5], ("open", "high", "low", "close"), strict=True)
        )
        out.append((t, o, h, lo, c, max(v, 0)))
    return out


class FyersHistory:
    """Fyers ``/data/history`` for one app+user: split, paced, retried on 429 and cached.

    ``transport`` (an httpx one, e.g. ``httpx.MockTransport``) replaces the network (by default
    an aiohttp session per :meth:`columns` call that sends anything); ``limiter`` defaults to
    :func:`shared_limiter`; ``now`` (epoch seconds) says which IST day is today; ``cache_dir``
    defaults to ``<data dir>/history``. ``requests`` lists every request sent
    ``(symbol, resolution, range_from, range_to)``.
    """

    def __init__(
        self,
        config: FyersConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        cache_dir: str | Path | None = None,
        now: Callable[[], float] = time.time,
        max_rate_retries: int = 5,
        max_retry_after: float = 60.0,
    ) -> None:
        from livetrade.fyers.symbols import split_access_token

        app, jwt = split_access_token(config.access_token.strip())
        app_id = config.app_id or app
        if not app_id:
            raise AuthError("Fyers history needs the app id (APP_ID:token or app_id=...)")
        self.app_id = app_id
        self._authorization = f"{app_id}:{jwt}"
        self.url = config.rest_url.rstrip("/") + "/history"
        self.timeout = config.rest_timeout
        self._transport = transport
        self._limiter = limiter
        self.cache = HistoryCache(cache_dir)
        self.now = now
        self.max_rate_retries = max_rate_retries
        self.max_retry_after = max_retry_after
        self.requests: list[tuple[str, str, date, date]] = []

    def __repr__(self) -> str:
        return f"FyersHistory(url={self.url!r}, app_id={self.app_id!r}, token=<hidden>)"

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            self._limiter = shared_limiter(self.app_id)
        return self._limiter

    def today(self) -> date:
        return ist_day(int(self.now() * NS))

    def span(self, timeframe: str, start: object, end: object) -> tuple[int, int]:
        """``[start, end)`` in epoch ns; ``end`` defaults to now, ``start`` to a span that
        suits the timeframe (a day of seconds, 5 days up to 5min, 30 up to 1h, a year of 1D)."""
        end_ns = int(self.now() * NS) if end is None else to_ns(end, "end")
        start_ns = (
            end_ns - _default_span(timeframe) * DAY_NS if start is None else to_ns(start, "start")
        )
        if start_ns >= end_ns:
            raise InvalidInput("start", "must be before end")
        return start_ns, end_ns

    async def columns(
        self, symbol: str, timeframe: str, start: object = None, end: object = None
    ) -> BarColumns:
        """Candles of ``symbol`` starting in ``[start, end)``: cached days from disk, the rest
        from Fyers (then cached)."""
        check_symbol(symbol)
        tf = parse_timeframe(timeframe)
        start_ns, end_ns = self.span(tf, start, end)
        first, last = ist_day(start_ns), ist_day(end_ns - 1)
        today = self.today()
        if TIMEFRAMES[tf] < 60 and first < (floor := seconds_floor(today)) and last >= first:
            raise InvalidInput(
                "start",
                f"Fyers keeps {tf} candles only for the last {SECONDS_DAYS} trading days "
                f"(from {floor.isoformat()}); ask from then on or use 1min",
            )
        covered = self.cache.covered(symbol, tf, first, last)
        plan = plan_requests(tf, first, last, covered, today)
        if plan:
            from livetrade.fyers.http import make_seam  # the HTTP library only when Fyers is asked

            http = make_seam(self.url, self.timeout, transport=self._transport)
            try:
                for d0, d1 in plan:
                    rows = await self._fetch(http, symbol, tf, d0, d1)
                    done = [d0 + timedelta(days=i) for i in range((d1 - d0).days + 1)]
                    self.cache.store(symbol, tf, rows, [d for d in done if d < today])
            finally:
                await http.aclose()
        return self.cache.read(symbol, tf, start_ns, end_ns)

    async def _fetch(
        self, http: HttpSeam, symbol: str, tf: str, d0: date, d1: date
    ) -> list[tuple[int, ...]]:
        from livetrade.fyers.http import HttpFailure

        params = {
            "symbol": symbol,
            "resolution": RESOLUTIONS[tf],
            "date_format": "1",
            "range_from": d0.isoformat(),
            "range_to": d1.isoformat(),
            "cont_flag": "1",
        }
        headers = {
            "Authorization": self._authorization,
            "Content-Type": "application/json",
            "version": "3",
        }
        from livetrade.fyers.rest import pause_on_429

        retries = 0
        lost = 0
        while True:
            await self.limiter.acquire("all")
            self.requests.append((symbol, RESOLUTIONS[tf], d0, d1))
            try:
                resp = await http.request("GET", self.url, headers=headers, params=params)
            except HttpFailure as exc:
                lost += 1
                if lost > 1:
                    from livetrade.fyers.rest import FyersApiError

                    raise FyersApiError(
                        f"Fyers history {symbol} {d0}..{d1} failed twice: {exc.name}"
                    ) from None
                continue
            try:
                body = json.loads(resp.content, parse_float=Decimal)
            except ValueError:
                body = None
            body = body if isinstance(body, dict) else None
            code = body.get("code") if body else None
            limits = (self.max_rate_retries, self.max_retry_after)
            if pause_on_429(resp, code, retries + 1, "history", self.limiter, *limits):
                retries += 1
                continue
            return self._rows(symbol, resp.status, body, code)

    def _rows(
        self, symbol: str, status: int, body: dict[str, Any] | None, code: object
    ) -> list[tuple[int, ...]]:
        from livetrade.fyers.rest import FyersApiError

        message = str(body.get("message") or "") if body else ""
        if status in (401, 403) or code in _AUTH_CODES:
            raise AuthError(
                f"Fyers refused the access token on history (HTTP {status}"
                f"{f', code {code}' if code is not None else ''}); log in again for a fresh token"
            )
        if body is None:
            raise FyersApiError(
                f"Fyers history answered HTTP {status} with a non-JSON body", status=status
            )
        if code == -300 or (body.get("s") == "error" and "symbol" in message.lower()):
            raise UnknownSymbol(symbol, message or "invalid symbol")
        if body.get("s") == "no_data":
            return []
        if body.get("s") != "ok" or status >= 400:
            raise FyersApiError(
                f"Fyers history failed (HTTP {status}, code {code}): {message or 'no message'}",
                code=code if isinstance(code, int) else None,
                status=status,
            )
        return parse_candles(body)


async def fyers_history(
    symbol: str,
    timeframe: str = "5min",
    start: object = None,
    end: object = None,
    config: FyersConfig | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    limiter: RateLimiter | None = None,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Fyers OHLCV candles of ``symbol`` over ``[start, end)`` without a session (indexed by
    the IST bar start, prices float rupees). ``config`` defaults to ``FyersConfig.load()``
    (``$FYERS_ACCESS_TOKEN`` or the token file). Split within Fyers' limits, paced, retried on
    429, cached on disk: a second call for a covered range sends no request."""
    if config is None:
        from livetrade.fyers.credentials import FyersConfig

        config = FyersConfig.load()
    client = FyersHistory(config, transport=transport, limiter=limiter, cache_dir=cache_dir)
    return bars_frame(await client.columns(symbol, timeframe, start, end))


class MarketData:
    """A session's candles (live, built only for the symbols and timeframes asked for) and
    their history. One per session (``session.market_data``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.book = BarBook(session.stream, session.bar_event.emit)
        self.sim: SimHistory | None = None
        self.fyers: FyersHistory | None = None  # created on first use on a Fyers feed
        self._loaded_from: dict[tuple[str, str], int] = {}  # earliest bar start back-filled
        market = session.market
        if market is not None:
            from livetrade.feeds.sim_history import SimHistory

            self.sim = SimHistory(market.seed, market.daily_volatility)
            now = session.clock.now_ns()
            for symbol in market.symbols:  # the past ends where each walk starts
                self.sim.anchor(symbol, market.price_paise(symbol), now)

    def bars_df(
        self,
        symbol: str,
        timeframe: str = "5min",
        start: object = None,
        end: object = None,
    ) -> pd.DataFrame:
        """See :meth:`livetrade.session.Session.bars_df`."""
        tf = parse_timeframe(timeframe)
        start_ns = None if start is None else to_ns(start, "start")
        end_ns = None if end is None else to_ns(end, "end")
        return bars_frame(self.columns(symbol, tf, start_ns, end_ns))

    def columns(
        self, symbol: str, timeframe: str, start_ns: int | None, end_ns: int | None
    ) -> BarColumns:
        """Live bars merged over the history loaded so far; on a simulated market a ``start``
        before the session back-fills the simulated past first."""
        if start_ns is not None:
            if self.sim is not None:
                self._sim_backfill(symbol, timeframe, start_ns)
            elif self.session.fyers_feed is not None:
                self._cache_backfill(symbol, timeframe, start_ns)
        return self.book.columns(symbol, timeframe, start_ns, end_ns)

    def _cache_backfill(self, symbol: str, timeframe: str, start_ns: int) -> None:
        """A Fyers session's ``bars_df`` merges the history already on disk (no request)."""
        key = (symbol, timeframe)
        upto = self._loaded_from.get(key, self.session.clock.now_ns())
        if start_ns < upto:
            cols = self._fyers_client().cache.read(symbol, timeframe, start_ns, upto)
            self.book.add_history(symbol, timeframe, cols)
            self._loaded_from[key] = start_ns

    def _fyers_client(self) -> FyersHistory:
        if self.fyers is None:
            feed = self.session.fyers_feed
            if feed is None:
                raise LiveTradeError(
                    f"a {self.session.feed} session has no history source; "
                    "use `await lt.fyers_history(symbol, timeframe, start, end, config=...)`"
                )
            router = self.session.router
            self.fyers = FyersHistory(
                feed.config,
                limiter=router.client.limiter if router is not None else None,
                now=lambda: self.session.clock.now_ns() / NS,
            )
        return self.fyers

    def _sim_anchor(self, symbol: str) -> SimHistory:
        """The simulated past, anchored for ``symbol`` (a symbol added after the session
        opened is anchored at its first tick, or where its walk stands now)."""
        sim = self.sim
        assert sim is not None
        if not sim.anchored(symbol):
            market = self.session.market
            stream = self.session.stream
            ts, last, _ = stream.tick_range(symbol, 0, stream.tick_count(symbol))
            if ts:
                sim.anchor(symbol, last[0], ts[0])
            elif market is not None and symbol in market.symbols:
                sim.anchor(symbol, market.price_paise(symbol), self.session.clock.now_ns())
            else:
                raise InvalidInput(
                    "symbol", f"{symbol!r} is not in this simulated market (watch it first)"
                )
        return sim

    def _sim_backfill(self, symbol: str, timeframe: str, start_ns: int) -> None:
        sim = self._sim_anchor(symbol)
        key = (symbol, timeframe)
        upto = self._loaded_from.get(key, sim.t0_ns(symbol))
        if start_ns < upto:
            self.book.add_history(symbol, timeframe, sim.columns(symbol, timeframe, start_ns, upto))
            self._loaded_from[key] = start_ns

    async def history(
        self, symbol: str, timeframe: str = "5min", start: object = None, end: object = None
    ) -> pd.DataFrame:
        """See :meth:`livetrade.session.Session.history`. The bars are also kept to merge
        under the live ones in ``bars_df``."""
        tf = parse_timeframe(timeframe)
        check_symbol(symbol)
        if self.sim is not None:
            sim = self._sim_anchor(symbol)
            end_ns = sim.t0_ns(symbol) if end is None else to_ns(end, "end")
            start_ns = (
                end_ns - _default_span(tf) * DAY_NS if start is None else to_ns(start, "start")
            )
            cols = sim.columns(symbol, tf, start_ns, end_ns)
        else:
            cols = await self._fyers_client().columns(symbol, tf, start, end)
        self.book.add_history(symbol, tf, cols)
        return bars_frame(cols)
