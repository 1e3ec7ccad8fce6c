"""Candles and history for a session: ``session.bars_df``, ``session.history`` and
``lt.fyers_history``.

The live candles come from :mod:`livetrade.bars` (built tick by tick); this module adds the past
(the simulated market's deterministic history, or Fyers ``/data/history``) and merges the two.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from livetrade.bars import BarBook, BarColumns, bars_frame, parse_timeframe, to_ns
from livetrade.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.feeds.sim_history import SimHistory
    from livetrade.session import Session

__all__ = ["MarketData"]

log = logging.getLogger("livetrade.history")


class MarketData:
    """A session's candles (live, built only for the symbols and timeframes asked for) and
    their history. One per session (``session.market_data``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.book = BarBook(session.stream, session.bar_event.emit)
        self.sim: SimHistory | None = None
        self._sim_from: dict[tuple[str, str], int] = {}  # earliest bar start back-filled
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
        if self.sim is not None and start_ns is not None:
            self._sim_backfill(symbol, timeframe, start_ns)
        return self.book.columns(symbol, timeframe, start_ns, end_ns)

    def _sim_anchor(self, symbol: str) -> SimHistory:
        """The simulated past, anchored for ``symbol`` (a symbol added after the session
        opened is anchored at its first tick, or where its walk stands now)."""
        sim = self.sim
        assert sim is not None
        if not sim.anchored(symbol):
            market = self.session.market
            ts, last, _ = self.session.stream.tick_columns(symbol)
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
        upto = self._sim_from.get(key, sim.t0_ns(symbol))
        if start_ns < upto:
            self.book.add_history(symbol, timeframe, sim.columns(symbol, timeframe, start_ns, upto))
            self._sim_from[key] = start_ns

    async def history(
        self, symbol: str, timeframe: str = "5min", start: object = None, end: object = None
    ) -> pd.DataFrame:
        """See :meth:`livetrade.session.Session.history`."""
        raise NotImplementedError
