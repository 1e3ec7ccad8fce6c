"""Candles and history for a session: ``session.bars_df``, ``session.history`` and
``lt.fyers_history``.

The live candles come from :mod:`livetrade.bars` (built tick by tick); this module adds the past
(the simulated market's deterministic history, or Fyers ``/data/history``) and merges the two.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from livetrade.bars import BarBook, BarColumns, bars_frame, parse_timeframe, to_ns

if TYPE_CHECKING:
    import pandas as pd

    from livetrade.session import Session

__all__ = ["MarketData"]

log = logging.getLogger("livetrade.history")


class MarketData:
    """A session's candles (live, built only for the symbols and timeframes asked for) and
    their history. One per session (``session.market_data``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.book = BarBook(session.stream, session.bar_event.emit)

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
        return self.book.columns(symbol, timeframe, start_ns, end_ns)

    async def history(
        self, symbol: str, timeframe: str = "5min", start: object = None, end: object = None
    ) -> pd.DataFrame:
        """See :meth:`livetrade.session.Session.history`."""
        raise NotImplementedError
