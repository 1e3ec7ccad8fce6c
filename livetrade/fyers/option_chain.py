"""Fyers' option chain (``GET /data/options-chain-v3``, fno.md §5) as plain rows.

Sans-I/O: :func:`parse_option_chain` turns the answer's ``data`` into an :class:`OptionChain`
whose :attr:`~OptionChain.rows` are one :class:`OptionRow` per strike and side, money in
integer paise (strike too), ready for ``pandas.DataFrame(chain.records())``. The first
``optionsChain`` entry (``strike_price`` -1) is the underlying, not a strike: it becomes
:attr:`OptionChain.spot` / :attr:`OptionChain.future`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from livetrade.errors import FyersApiError, InvalidInput

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_STRIKECOUNT",
    "OptionChain",
    "OptionExpiry",
    "OptionRow",
    "chain_params",
    "parse_option_chain",
]

MAX_STRIKECOUNT: Final = 50
"""Fyers gives at most 50 strikes each side of the ATM one."""


@dataclass(frozen=True, slots=True)
class OptionRow:
    """One option of the chain; prices in paise, ``oich`` may be negative."""

    strike: int
    option_type: str  # "CE" or "PE"
    symbol: str
    ltp: int
    bid: int
    ask: int
    volume: int
    oi: int
    oich: int
    prev_oi: int
    fytoken: str


@dataclass(frozen=True, slots=True)
class OptionExpiry:
    """An expiry Fyers offers: pass ``timestamp`` to ``option_chain`` to read that one."""

    date: date
    timestamp: int  # epoch seconds
    flag: str  # "W" weekly, "M" monthly (when Fyers says)


@dataclass(frozen=True, slots=True)
class OptionChain:
    """An option-chain answer: the underlying's prices, totals, expiries and the rows."""

    underlying: str
    spot: int  # the underlying's last price, paise
    future: int  # its future's price (``fp``), paise; 0 if Fyers gave none
    vix: int  # India VIX, in hundredths (an index, kept like a price)
    call_oi: int
    put_oi: int
    expiries: tuple[OptionExpiry, ...]
    rows: tuple[OptionRow, ...]

    def records(self) -> list[dict[str, Any]]:
        """One dict per row (strike, option_type, symbol, ltp, bid, ask, volume, oi, ...)."""
        return [dataclasses.asdict(r) for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (paise columns as int64), sorted by strike then side."""
        import pandas as pd

        cols = [f.name for f in dataclasses.fields(OptionRow)]
        frame = pd.DataFrame(self.records(), columns=cols)
        return frame.sort_values(["strike", "option_type"], ignore_index=True)


def chain_params(symbol: object, strikecount: object, timestamp: object = "") -> dict[str, str]:
    """The query of an option-chain request, validated (a bad one names the field)."""
    if not isinstance(symbol, str) or ":" not in symbol or symbol != symbol.strip():
        raise InvalidInput("symbol", f"{symbol!r} is not like 'NSE:NIFTY50-INDEX'")
    if (
        isinstance(strikecount, bool)
        or not isinstance(strikecount, int)
        or not 1 <= strikecount <= MAX_STRIKECOUNT
    ):
        raise InvalidInput("strikecount", f"must be a whole number 1..{MAX_STRIKECOUNT}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, str)):
        raise InvalidInput("timestamp", "must be an expiry's epoch seconds or ''")
    ts = str(timestamp).strip()
    if ts and not ts.isdigit():
        raise InvalidInput("timestamp", f"{timestamp!r} is not epoch seconds")
    return {"symbol": symbol, "strikecount": str(strikecount), "timestamp": ts}


def _paise(value: object) -> int:
    """Rupees (a JSON number, read as Decimal) → paise, half-even; 0 when missing or odd."""
    if value is None or isinstance(value, bool):
        return 0
    try:
        paise = Decimal(str(value)).scaleb(2).to_integral_value(ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return 0
    return int(paise) if paise.is_finite() and paise > 0 else 0


def _count(value: object, *, signed: bool = False) -> int:
    if value is None or isinstance(value, bool):
        return 0
    try:
        n = int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0
    return n if signed else max(n, 0)


def _expiry(item: object) -> OptionExpiry | None:
    if not isinstance(item, dict):
        return None
    try:
        day = datetime.strptime(str(item.get("date")), "%d-%m-%Y").date()
        ts = int(str(item.get("expiry")))
    except ValueError:
        return None
    return OptionExpiry(day, ts, str(item.get("expiry_flag") or ""))


def parse_option_chain(answer: dict[str, Any], symbol: str = "") -> OptionChain:
    """The ``data`` of an ``options-chain-v3`` answer as an :class:`OptionChain`."""
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("optionsChain"), list):
        raise FyersApiError("Fyers option chain answer has no data.optionsChain list")
    underlying, spot, future = symbol, 0, 0
    rows: list[OptionRow] = []
    for item in data["optionsChain"]:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("option_type") or "").upper()
        if kind not in ("CE", "PE"):  # the underlying's row (strike_price -1)
            underlying = str(item.get("symbol") or underlying)
            spot, future = _paise(item.get("ltp")), _paise(item.get("fp"))
            continue
        rows.append(
            OptionRow(
                strike=_paise(item.get("strike_price")),
                option_type=kind,
                symbol=str(item.get("symbol") or ""),
                ltp=_paise(item.get("ltp")),
                bid=_paise(item.get("bid")),
                ask=_paise(item.get("ask")),
                volume=_count(item.get("volume")),
                oi=_count(item.get("oi")),
                oich=_count(item.get("oich"), signed=True),
                prev_oi=_count(item.get("prev_oi")),
                fytoken=str(item.get("fyToken") or ""),
            )
        )
    vix = data.get("indiavixData")
    expiries = (_expiry(e) for e in data.get("expiryData") or ())
    return OptionChain(
        underlying=underlying,
        spot=spot,
        future=future,
        vix=_paise(vix.get("ltp")) if isinstance(vix, dict) else 0,
        call_oi=_count(data.get("callOi")),
        put_oi=_count(data.get("putOi")),
        expiries=tuple(e for e in expiries if e is not None),
        rows=tuple(rows),
    )
