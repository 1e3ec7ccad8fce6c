"""Replay recorded quotes (a DataFrame or CSV) into a stream, in timestamp order."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from livetrade.errors import InvalidInput
from livetrade.model import IST
from livetrade.money import to_paise
from livetrade.prices import LivePriceStream

if TYPE_CHECKING:
    import pandas as pd

REQUIRED = ("timestamp", "symbol", "bid", "ask", "last", "volume")


class ReplayFeed:
    """Columns ``timestamp, symbol, bid, ask, last, volume`` (prices in rupees). Naive timestamps
    are read as Asia/Kolkata. ``step()`` pushes the next row and returns its time, or ``None``."""

    def __init__(self, stream: LivePriceStream, data: pd.DataFrame | str | Path) -> None:
        import pandas as pd

        df = pd.read_csv(data) if isinstance(data, str | Path) else data.copy()
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            raise InvalidInput("data", f"missing column(s): {', '.join(missing)}")
        ts = pd.to_datetime(df["timestamp"])
        if ts.dt.tz is None:
            ts = ts.dt.tz_localize(IST)
        df["ts_ns__"] = ts.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
        df = df.sort_values("ts_ns__", kind="stable")
        self.stream = stream
        self._rows: list[tuple[str, int, int, int, int, int]] = []
        cols = zip(
            df["symbol"].tolist(),
            df["bid"].tolist(),
            df["ask"].tolist(),
            df["last"].tolist(),
            df["volume"].tolist(),
            df["ts_ns__"].tolist(),
            strict=True,
        )
        for i, (sym, bid, ask, last, vol, ts_ns) in enumerate(cols):
            where = f"row {i}"
            self._rows.append(
                (
                    str(sym),
                    to_paise(bid, f"bid ({where})"),
                    to_paise(ask, f"ask ({where})"),
                    to_paise(last, f"last ({where})"),
                    int(vol),
                    int(ts_ns),
                )
            )
        self._next = 0

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def remaining(self) -> int:
        return len(self._rows) - self._next

    @property
    def symbols(self) -> list[str]:
        return sorted({r[0] for r in self._rows})

    def peek_ns(self) -> int | None:
        return self._rows[self._next][5] if self._next < len(self._rows) else None

    def step(self) -> int | None:
        if self._next >= len(self._rows):
            return None
        sym, bid, ask, last, vol, ts = self._rows[self._next]
        self._next += 1
        self.stream.push(sym, bid, ask, last, vol, ts)
        return ts
