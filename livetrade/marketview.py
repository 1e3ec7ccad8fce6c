"""What a session knows of the market beyond the last tick: depth, the day's statistics and
the opening quotes (one per session: ``session.market_view``).

Why it is built this way: none of it may slow the tick path. Depth on a Fyers feed is one
stored tuple per depth record (:class:`~livetrade.depth.DepthStore`); on a simulated market it
is derived from the quote when read. Day statistics are folded from the ticks the stream keeps
when someone reads them (each tick folded once), overlaid with what Fyers says: the opening
``/data/quotes`` answer and the exchange fields of the latest quote record (open, high, low,
previous close, circuit limits). On a simulated market the previous close is the simulated
past's and the circuit limits are a ±20% band around it (the widest equity band; the
simulated market has no exchange to set one).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

from livetrade.bars import DAY_NS, IST_OFFSET_NS
from livetrade.depth import (
    DayStats,
    DayStatsStore,
    Depth,
    depth_frame,
    depth_from_values,
    simulated_levels,
    stats_from_paise,
)
from livetrade.errors import InvalidInput
from livetrade.model import check_symbol

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.fyers.rest import FyersQuotesClient
    from livetrade.session import Session

__all__ = ["SIM_BAND", "MarketView"]

log = logging.getLogger("livetrade.marketview")

SIM_BAND: Final = 5
"""The simulated circuit limits: previous close ± 1/SIM_BAND (20%), on the ₹0.05 tick."""

TICK: Final = 5
_EPOCH: Final = date(1970, 1, 1)

# Exchange fields of a Fyers quote record (codec layouts) → DayStats names.
_EXCHANGE: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "sf": (
        ("open", "open_price"),
        ("high", "high_price"),
        ("low", "low_price"),
        ("prev_close", "prev_close_price"),
        ("upper_circuit", "upper_ckt"),
        ("lower_circuit", "lower_ckt"),
    ),
    "if": (
        ("open", "open_price"),
        ("high", "high_price"),
        ("low", "low_price"),
        ("prev_close", "prev_close_price"),
    ),
}


def ist_day(ts_ns: int) -> int:
    """The IST day number (days since 1970-01-01) of ``ts_ns``."""
    return (ts_ns + IST_OFFSET_NS) // DAY_NS


def _paise(raw: int, divisor: int) -> int:
    return raw if divisor == 100 else (raw * 200 + divisor) // (2 * divisor)


class MarketView:
    """Depth, day statistics and opening quotes of one session (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.days = DayStatsStore()
        self._sim_refs: set[str] = set()  # symbols whose simulated previous close is set
        self._quotes: FyersQuotesClient | None = None

    def __repr__(self) -> str:
        return f"MarketView({self.session.name!r}, {self.days!r})"

    # ---- depth --------------------------------------------------------------------------------

    def depth(self, symbol: str) -> Depth | None:
        """See :meth:`livetrade.session.Session.depth`."""
        check_symbol(symbol)
        if symbol.upper().endswith("-INDEX"):
            raise InvalidInput("symbol", f"{symbol} is an index: indexes have no market depth")
        session = self.session
        if session.fyers_feed is not None:
            return session.fyers_feed.depth.get(symbol)
        if session.hub_feed is not None:
            return session.hub_feed.depth.get(symbol)  # the hub's book, read every 0.25 s
        if session.market is None:
            return None  # replayed quotes carry no depth
        top = session.stream.top(symbol)
        if top is None:
            return None
        bid, ask, _, ts_ns = top
        inst = session.engine.instruments.get(symbol)
        values = simulated_levels(  # a derivative's levels on its tick, in its lots
            session.market.seed, symbol, bid, ask, ts_ns, tick=inst.tick_paise,
            lot=inst.lot_size if inst.segment == "FO" else 5,
        )  # fmt: skip
        return depth_from_values(symbol, values, ts_ns)

    def depth_df(self, symbol: str) -> pd.DataFrame:
        return depth_frame(self.depth(symbol))

    # ---- day statistics -----------------------------------------------------------------------

    def day_stats(self, symbol: str) -> DayStats:
        """See :meth:`livetrade.session.Session.day_stats`."""
        check_symbol(symbol)
        return stats_from_paise(symbol, self._paise(symbol))

    def _paise(self, symbol: str) -> dict[str, int]:
        self._fold(symbol)
        paise = self.days.paise(symbol)
        feed = self.session.fyers_feed
        if feed is not None:
            tick = feed.manager.latest(symbol)
            if tick is not None and tick.kind in _EXCHANGE:
                div = tick.info.divisor
                for name, wire in _EXCHANGE[tick.kind]:
                    raw = tick.raw(wire)
                    if not raw or raw <= 0:
                        continue  # never sent, or zero (the live feed's unset circuits)
                    value = _paise(raw, div)
                    if name == "high":
                        value = max(value, paise.get("high", 0))
                    elif name == "low" and paise.get("low"):
                        value = min(value, paise["low"])
                    paise[name] = value
        elif self.session.market is not None and paise.get("prev_close"):
            band = max(TICK, paise["prev_close"] // SIM_BAND // TICK * TICK)
            paise.setdefault("upper_circuit", paise["prev_close"] + band)
            paise.setdefault("lower_circuit", max(TICK, paise["prev_close"] - band))
        return paise

    def _fold(self, symbol: str) -> None:
        """Fold the ticks of ``symbol`` not folded yet (once each)."""
        session = self.session
        stream = session.stream
        if session.market is not None and symbol not in self._sim_refs:
            self._set_sim_close(symbol)
        n = stream.tick_count(symbol)
        seen = self.days.folded(symbol)
        if n <= seen:
            return
        ts, last, _ = stream.tick_range(symbol, seen, n)
        if not ts:
            self.days.fold(symbol, ist_day(session.clock.now_ns()), n, [])
            return
        first, end = ist_day(ts[0]), ist_day(ts[-1])
        if first == end:
            self.days.fold(symbol, first, n, last)
            return
        i = 0
        while i < len(ts):  # ticks spanning IST midnights: one fold per day
            day = ist_day(ts[i])
            j = i
            while j < len(ts) and ist_day(ts[j]) == day:
                j += 1
            self.days.fold(symbol, day, n - (len(ts) - j), last[i:j])
            i = j

    def _set_sim_close(self, symbol: str) -> None:
        """The simulated past's close before the session's first day, once per symbol."""
        session = self.session
        sim = session.market_data.sim
        if sim is None or session.market is None or symbol not in session.market.symbols:
            return
        sim = session.market_data._sim_anchor(symbol)
        stream = session.stream
        ts, _, _ = stream.tick_range(symbol, 0, 1)
        day = ist_day(ts[0] if ts else session.clock.now_ns())
        close = sim.previous_close(symbol, _EPOCH + timedelta(days=day))
        self.days.set(symbol, day, prev_close=close)
        self._sim_refs.add(symbol)

    # ---- opening quotes -----------------------------------------------------------------------

    def _client(self) -> FyersQuotesClient:
        if self._quotes is None:
            from livetrade.fyers.rest import FyersQuotesClient

            feed = self.session.fyers_feed
            assert feed is not None
            router = self.session.router
            cfg = feed.config
            self._quotes = FyersQuotesClient(
                cfg.access_token,
                cfg.rest_url,
                app_id=cfg.app_id,
                timeout=cfg.rest_timeout,
                limiter=router.client.limiter if router is not None else None,
            )
        return self._quotes

    async def opening_quotes(self, symbols: list[str]) -> int:
        """One ``/data/quotes`` call per 50 ``symbols``: each symbol without a tick yet gets
        its quote now (LTP, bid/ask; an order can be placed at once), and every answer
        records the day's open/high/low, previous close (and circuit limits when Fyers sends
        them). Returns how many quotes were pushed."""
        session = self.session
        if session.fyers_feed is None or not symbols:
            return 0
        answer = await self._client().quotes(symbols)
        now = session.clock.now_ns()
        day = ist_day(now)
        stream = session.stream
        pushed = 0
        for symbol, q in answer.quotes.items():
            self.days.set(
                symbol,
                day,
                open=q.open,
                high=q.high,
                low=q.low,
                prev_close=q.prev_close,
                upper_circuit=q.upper_circuit,
                lower_circuit=q.lower_circuit,
            )
            if q.ltp > 0 and stream.tick_count(symbol) == 0:
                bid, ask = (q.bid, q.ask) if 0 < q.bid <= q.ask else (q.ltp, q.ltp)
                stream.push(symbol, bid, ask, q.ltp, q.volume, now)
                pushed += 1
        if answer.invalid:
            log.warning("Fyers quotes: no quote for %s", ", ".join(answer.invalid))
        return pushed

    async def aclose(self) -> None:
        client, self._quotes = self._quotes, None
        if client is not None:
            await client.aclose()

    # ---- quotes_df ----------------------------------------------------------------------------

    def quotes_frame(self, symbol: str | None = None) -> pd.DataFrame:
        """The kept ticks with the day's running ``open``/``high``/``low``, the ``prev_close``
        and ``change_pct`` (against the previous close) appended. Rows on the day the
        statistics belong to use them (the opening quote's open and high/low count from the
        first row; the previous close is Fyers' or the simulated past's); earlier days in the
        ring use their own ticks and the day before's last."""
        import numpy as np
        import pandas as pd

        df = self.session.stream.history_df(symbol)
        if df.empty:
            for col in ("open", "high", "low", "prev_close", "change_pct"):
                df[col] = pd.Series([], dtype="float64")
            return df
        day = df["timestamp"].dt.date
        key = [df["symbol"], day]
        grouped = df.groupby(key, sort=False)["last"]
        opn = grouped.transform("first").to_numpy(dtype="float64", copy=True)
        high = grouped.cummax().to_numpy(dtype="float64", copy=True)
        low = grouped.cummin().to_numpy(dtype="float64", copy=True)
        day_last = df.assign(day=day).groupby(["symbol", "day"], sort=True)["last"].last()
        before = day_last.groupby(level=0).shift(1)
        prev = before.reindex(pd.MultiIndex.from_arrays(key)).to_numpy(dtype="float64", copy=True)
        symbols = df["symbol"].to_numpy()
        days = day.to_numpy()
        for sym in pd.unique(symbols):
            paise = self._paise(str(sym))
            stats_day = self.days.day(str(sym))
            if stats_day is None:
                continue
            mask = (symbols == sym) & (days == _EPOCH + timedelta(days=stats_day))
            refs = self.days.refs(str(sym))
            if paise.get("open"):
                opn[mask] = paise["open"] / 100
            if refs.get("high"):
                high[mask] = np.maximum(high[mask], refs["high"] / 100)
            if refs.get("low"):
                low[mask] = np.minimum(low[mask], refs["low"] / 100)
            if paise.get("prev_close"):
                prev[mask] = paise["prev_close"] / 100
        df["open"] = opn
        df["high"] = high
        df["low"] = low
        df["prev_close"] = prev
        with np.errstate(divide="ignore", invalid="ignore"):
            df["change_pct"] = (df["last"].to_numpy() - prev) / prev * 100
        return df
