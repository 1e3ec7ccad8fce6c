"""Finding contracts: ``lt.instruments(...)`` (a DataFrame) and ``lt.find_option`` /
``lt.find_future``.

Why a lookup rather than building tickers: Fyers' tickers differ for weekly and monthly
expiries (fno.md §1 "Ticker formats") and a wrong one is refused with -300, so the contract is
looked up in the master by underlying, expiry, strike and type, and its ticker read from there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal

from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST
from livetrade.money import from_paise, to_paise

from .master import default_registry, underlying_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TickerParts", "find_future", "find_option", "instruments", "parse_ticker"]

ExpirySpec = str | date | datetime | None

MONTHS: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
WEEKLY_MONTH: Final = "123456789OND"  # FYDOC symbology: 1-9 for Jan-Sep, O, N, D
_NUM: Final = r"(?P<strike>\d+(?:\.\d+)?)"
_FUT_RE: Final = re.compile(r"(?P<yy>\d{2})(?P<mon>[A-Z]{3})FUT")
_MONTHLY_RE: Final = re.compile(r"(?P<yy>\d{2})(?P<mon>[A-Z]{3})" + _NUM + r"(?P<type>CE|PE)")
_WEEKLY_RE: Final = re.compile(
    r"(?P<yy>\d{2})(?P<m>[1-9OND])(?P<dd>\d{2})" + _NUM + r"(?P<type>CE|PE)"
)


@dataclass(frozen=True, slots=True)
class TickerParts:
    """A derivative ticker read back (FYDOC "Symbology"): ``day`` is set for weekly options."""

    exchange: str
    underlying: str
    year: int
    month: int
    day: int | None
    strike_paise: int | None
    option_type: Literal["CE", "PE"] | None

    @property
    def weekly(self) -> bool:
        return self.day is not None


def parse_ticker(symbol: str, underlying: str) -> TickerParts:
    """Split ``NSE:NIFTY26SEPFUT``, ``NSE:NIFTY26SEP29200CE`` (monthly) or
    ``NSE:NIFTY2632423050CE`` (weekly: YY, month 1-9/O/N/D, DD). The underlying's short name is
    needed because names may end in digits (``NIFTYNXT50``)."""
    exchange, _, rest = symbol.partition(":")
    if not rest.startswith(underlying):
        raise InvalidInput("symbol", f"{symbol} does not start with {exchange}:{underlying}")
    tail = rest[len(underlying) :]
    m = _FUT_RE.fullmatch(tail)
    if m and m["mon"] in MONTHS:
        return TickerParts(
            exchange, underlying, 2000 + int(m["yy"]), MONTHS.index(m["mon"]) + 1, None, None, None
        )
    m = _MONTHLY_RE.fullmatch(tail)
    if m and m["mon"] in MONTHS:
        return TickerParts(
            exchange,
            underlying,
            2000 + int(m["yy"]),
            MONTHS.index(m["mon"]) + 1,
            None,
            to_paise(Decimal(m["strike"]), "strike"),
            "CE" if m["type"] == "CE" else "PE",
        )
    m = _WEEKLY_RE.fullmatch(tail)
    if m:
        return TickerParts(
            exchange,
            underlying,
            2000 + int(m["yy"]),
            WEEKLY_MONTH.index(m["m"]) + 1,
            int(m["dd"]),
            to_paise(Decimal(m["strike"]), "strike"),
            "CE" if m["type"] == "CE" else "PE",
        )
    raise InvalidInput("symbol", f"{symbol} is not a Fyers futures or options ticker")


def _registry(registry: InstrumentRegistry | None) -> InstrumentRegistry:
    return registry if registry is not None else default_registry()


def _matches_underlying(inst: Instrument, wanted: str) -> bool:
    if inst.underlying is None:
        return False
    return inst.underlying == wanted or underlying_name(inst.underlying) == wanted.upper()


def _derivatives(
    registry: InstrumentRegistry, underlying: str, kind: InstrumentKind
) -> list[Instrument]:
    if not isinstance(underlying, str) or not underlying.strip():
        raise InvalidInput("underlying", f"must be a name like 'NIFTY', got {underlying!r}")
    found = [i for i in registry if i.kind is kind and _matches_underlying(i, underlying.strip())]
    if not found:
        what = "options" if kind is InstrumentKind.OPTION else "futures"
        raise InvalidInput(
            "underlying",
            f"no {underlying} {what} in the registry ({len(registry)} instruments); "
            "load a symbol master with lt.load_master(registry, path)",
        )
    return found


def _is_monthly(inst: Instrument) -> bool:
    """Monthly contracts carry the month's name in the ticker (FYDOC symbology); futures are
    all monthly. If the ticker cannot be read, the month's last expiry counts as monthly."""
    if inst.kind is InstrumentKind.FUTURE:
        return True
    assert inst.underlying is not None
    try:
        return not parse_ticker(inst.symbol, underlying_name(inst.underlying)).weekly
    except InvalidInput:
        return False


def _pick_expiry(
    contracts: Iterable[Instrument], expiry: ExpirySpec, now: datetime | None
) -> datetime:
    """The expiry ``expiry`` names among ``contracts``: "next"/"nearest" (the first not yet
    expired), "monthly" (the first monthly one), or a date."""
    pool = [i for i in contracts if i.expiry is not None]
    moment = (now or datetime.now(IST)).astimezone(IST)
    live = sorted({i.expiry for i in pool if i.expiry is not None and i.expiry > moment})
    listed = ", ".join(sorted({i.expiry.date().isoformat() for i in pool if i.expiry})[:8])
    spec = "next" if expiry is None else expiry
    if isinstance(spec, str) and spec.lower() in ("next", "nearest", "monthly"):
        if spec.lower() == "monthly":
            monthly = {i.expiry for i in pool if i.expiry and i.expiry > moment and _is_monthly(i)}
            live = sorted(e for e in monthly if e is not None)
        if not live:
            raise InvalidInput(
                "expiry", f"no {spec} expiry after {moment:%Y-%m-%d %H:%M} IST (listed: {listed})"
            )
        return live[0]
    if isinstance(spec, datetime):
        day = spec.astimezone(IST).date()
    elif isinstance(spec, date):
        day = spec
    elif isinstance(spec, str):
        try:
            day = date.fromisoformat(spec.strip())
        except ValueError:
            raise InvalidInput(
                "expiry", f"must be 'next', 'nearest', 'monthly' or a date, got {spec!r}"
            ) from None
    else:
        raise InvalidInput(
            "expiry", f"must be 'next', 'nearest', 'monthly' or a date, got {spec!r}"
        )
    on_day = sorted({i.expiry for i in pool if i.expiry is not None and i.expiry.date() == day})
    if not on_day:
        raise InvalidInput("expiry", f"nothing expires on {day.isoformat()} (listed: {listed})")
    return on_day[0]


def find_future(
    underlying: str,
    expiry: ExpirySpec = "next",
    *,
    registry: InstrumentRegistry | None = None,
    now: datetime | None = None,
) -> Instrument:
    """The future on ``underlying`` (``"NIFTY"`` or ``"NSE:NIFTY50-INDEX"``) for ``expiry``."""
    futures = _derivatives(_registry(registry), underlying, InstrumentKind.FUTURE)
    when = _pick_expiry(futures, expiry, now)
    return next(i for i in futures if i.expiry == when)


def _option_type(kind: object) -> Literal["CE", "PE"]:
    k = str(kind).strip().upper() if isinstance(kind, str) else ""
    if k in ("CE", "CALL", "C"):
        return "CE"
    if k in ("PE", "PUT", "P"):
        return "PE"
    raise InvalidInput("kind", f"must be 'CE' or 'PE', got {kind!r}")


def find_option(
    underlying: str,
    expiry: ExpirySpec = "next",
    strike: object = "ATM",
    kind: str = "CE",
    *,
    spot: object = None,
    registry: InstrumentRegistry | None = None,
    now: datetime | None = None,
) -> Instrument:
    """The ``kind`` (CE/PE) option on ``underlying`` for ``expiry`` at ``strike`` (rupees), or,
    with ``strike="ATM"``, the listed strike nearest ``spot`` (ties go to the lower strike).
    Raises :class:`InvalidInput` naming the field that matched nothing."""
    opt = _option_type(kind)
    options = [
        i
        for i in _derivatives(_registry(registry), underlying, InstrumentKind.OPTION)
        if i.option_type == opt
    ]
    when = _pick_expiry(options, expiry, now)
    chain = {i.strike_paise: i for i in options if i.expiry == when and i.strike_paise is not None}
    strikes = sorted(chain)
    if isinstance(strike, str) and strike.strip().upper() == "ATM":
        if spot is None:
            raise InvalidInput("spot", "strike='ATM' needs spot= (the underlying's price)")
        spot_paise = _amount(spot, "spot")
        return chain[min(strikes, key=lambda s: (abs(s - spot_paise), s))]
    wanted = _amount(strike, "strike")
    inst = chain.get(wanted)
    if inst is None:
        below = [s for s in strikes if s < wanted][-1:]
        above = [s for s in strikes if s > wanted][:1]
        near = ", ".join(str(from_paise(s)) for s in below + above) or "none"
        raise InvalidInput(
            "strike",
            f"no {underlying} {from_paise(wanted)} {opt} expiring {when:%Y-%m-%d}; nearest: {near}",
        )
    return inst


def _amount(value: object, name: str) -> int:
    if isinstance(value, (int, float, Decimal, str)) and not isinstance(value, bool):
        return to_paise(value.strip() if isinstance(value, str) else value, name)
    raise InvalidInput(name, f"must be an amount in rupees, got {value!r}")


_COLUMNS: Final = (
    "symbol",
    "kind",
    "underlying",
    "expiry",
    "strike",
    "option_type",
    "lot_size",
    "tick",
    "freeze_qty",
)


def _rupees(paise: int | None) -> Decimal | None:
    return None if paise is None else from_paise(paise)


def _kind_filter(kind: object) -> tuple[InstrumentKind | None, str | None]:
    if kind is None:
        return None, None
    if isinstance(kind, InstrumentKind):
        return kind, None
    k = str(kind).strip().upper()
    if k in ("CE", "PE"):
        return InstrumentKind.OPTION, k
    try:
        return InstrumentKind(k), None
    except ValueError:
        raise InvalidInput(
            "kind", f"must be EQUITY, INDEX, FUTURE, OPTION, CE or PE, got {kind!r}"
        ) from None


def instruments(
    underlying: str | None = None,
    expiry: ExpirySpec = None,
    kind: InstrumentKind | str | None = None,
    strike_min: object = None,
    strike_max: object = None,
    registry: InstrumentRegistry | None = None,
    *,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The registry's instruments as a DataFrame (symbol, kind, underlying, expiry, strike,
    option_type, lot_size, tick, freeze_qty), filtered; strikes and ticks are ``Decimal``
    rupees, expiries IST timestamps. ``expiry`` takes what :func:`find_option` takes."""
    import pandas as pd

    reg = _registry(registry)
    want_kind, want_type = _kind_filter(kind)
    rows = list(reg)
    if underlying is not None:
        rows = [i for i in rows if _matches_underlying(i, underlying.strip())]
    if want_kind is not None:
        rows = [i for i in rows if i.kind is want_kind]
    if want_type is not None:
        rows = [i for i in rows if i.option_type == want_type]
    if expiry is not None:
        dated = [i for i in rows if i.expiry is not None]
        when = _pick_expiry(dated, expiry, now) if dated else None
        rows = [i for i in dated if i.expiry == when]
    lo = None if strike_min is None else _amount(strike_min, "strike_min")
    hi = None if strike_max is None else _amount(strike_max, "strike_max")
    if lo is not None or hi is not None:
        rows = [
            i
            for i in rows
            if i.strike_paise is not None
            and (lo is None or i.strike_paise >= lo)
            and (hi is None or i.strike_paise <= hi)
        ]
    rows.sort(
        key=lambda i: (
            i.underlying or "",
            i.expiry.timestamp() if i.expiry else 0.0,
            i.kind.value,
            i.strike_paise or 0,
            i.option_type or "",
            i.symbol,
        )
    )
    frame = pd.DataFrame(
        {
            "symbol": [i.symbol for i in rows],
            "kind": [i.kind.value for i in rows],
            "underlying": [i.underlying for i in rows],
            "expiry": pd.Series(
                [pd.NaT if i.expiry is None else pd.Timestamp(i.expiry) for i in rows],
                dtype="datetime64[ns, Asia/Kolkata]",
            ),
            "strike": [
                None if i.strike_paise is None else from_paise(i.strike_paise) for i in rows
            ],
            "option_type": [i.option_type for i in rows],
            "lot_size": pd.array([i.lot_size for i in rows], dtype="int64"),
            "tick": [from_paise(i.tick_paise) for i in rows],
            "freeze_qty": pd.array([i.freeze_qty for i in rows], dtype="Int64"),
        },
        columns=list(_COLUMNS),
    )
    return frame
