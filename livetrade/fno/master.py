"""Fyers' public symbol master → :class:`~livetrade.instruments.Instrument`, cached once a day.

Why: lot size, tick, expiry, strike and freeze quantity change by exchange circular (lots about
twice a year, freeze limits monthly), so they are read from Fyers' daily master rather than typed
in. Formats (``shared/fno.md`` §1, from Fyers' API v3 docs "Symbol Master"): the CSV has no header
and 21 columns in a fixed order; the JSON (``<NAME>_sym_master.json``, preferred: it carries
``qtyFreeze``) is keyed by ticker with the same fields in camelCase.

A row that cannot be read is *reported* (``MasterFile.bad_rows`` and a :class:`MasterWarning`),
never dropped silently. The cache lives in ``default_dir()/instruments/<IST date>/`` and is
refetched when it is not from today (IST).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal

from livetrade.clock import Clock, WallClock
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST, check_symbol, ns_to_datetime
from livetrade.money import to_paise

__all__ = [
    "BASE_URL",
    "FREEZE_QTY",
    "FreezeRow",
    "MasterFile",
    "MasterUnavailable",
    "MasterWarning",
    "cached_master",
    "default_fetch",
    "default_registry",
    "freeze_qty_for",
    "load_master",
    "parse_csv",
    "parse_json",
    "read_master",
    "underlying_name",
    "underlying_symbol",
]

log = logging.getLogger("livetrade.fno")

BASE_URL: Final = "https://public.fyers.in/sym_details/"  # FYDOC "Symbol Master"

EXCHANGES: Final[Mapping[int, str]] = {10: "NSE", 11: "MCX", 12: "BSE"}  # FYDOC exchange codes
SEGMENTS: Final[Mapping[int, str]] = {10: "CM", 11: "FO", 12: "CD", 20: "COM"}  # FYDOC segments

# FYDOC "Exchange Instrument type" (fno.md §1): cash 0 EQ, 9 ETF, 10 INDEX; equity derivatives
# 11 FUTIDX, 12 FUTIVX (India VIX futures), 13 FUTSTK, 14 OPTIDX, 15 OPTSTK.
KINDS: Final[Mapping[int, InstrumentKind]] = {
    0: InstrumentKind.EQUITY,
    9: InstrumentKind.EQUITY,
    10: InstrumentKind.INDEX,
    11: InstrumentKind.FUTURE,
    12: InstrumentKind.FUTURE,
    13: InstrumentKind.FUTURE,
    14: InstrumentKind.OPTION,
    15: InstrumentKind.OPTION,
}
_INDEX_DERIVATIVES: Final = frozenset({11, 12, 14})
_STOCK_DERIVATIVES: Final = frozenset({13, 15})

# Underlying short name → the index's Fyers symbol (names as in livetrade.fyers.symbols
# INDEX_NAMES; NIFTY's underlying scrip 26000 is "NSE:NIFTY50-INDEX", fno.md §1).
INDEX_UNDERLYINGS: Final[Mapping[tuple[str, str], str]] = {
    ("NSE", "NIFTY"): "NSE:NIFTY50-INDEX",
    ("NSE", "BANKNIFTY"): "NSE:NIFTYBANK-INDEX",
    ("NSE", "FINNIFTY"): "NSE:FINNIFTY-INDEX",
    ("NSE", "MIDCPNIFTY"): "NSE:MIDCPNIFTY-INDEX",
    ("NSE", "NIFTYNXT50"): "NSE:NIFTYNXT50-INDEX",
    ("NSE", "INDIAVIX"): "NSE:INDIAVIX-INDEX",
    ("BSE", "SENSEX"): "BSE:SENSEX-INDEX",
    ("BSE", "BANKEX"): "BSE:BANKEX-INDEX",
}
_INDEX_NAMES: Final = {sym: name for (_, name), sym in INDEX_UNDERLYINGS.items()}


def underlying_symbol(exchange: str, name: str, index: bool) -> str:
    """The Fyers symbol of a derivative's underlying: the index for index derivatives
    (``NIFTY`` → ``NSE:NIFTY50-INDEX``), the cash share for stock derivatives (``NSE:SBIN-EQ``).

    BSE shares are named by their group (``BSE:SBIN-A``); the F&O master does not say which,
    and BSE's derivative stocks are large caps, so group A is assumed (unconfirmed)."""
    if index:
        return INDEX_UNDERLYINGS.get((exchange, name), f"{exchange}:{name}-INDEX")
    return f"{exchange}:{name}-{'A' if exchange == 'BSE' else 'EQ'}"


def underlying_name(symbol: str) -> str:
    """The master's short name back from an underlying symbol (``NSE:NIFTY50-INDEX`` → ``NIFTY``,
    ``NSE:BAJAJ-AUTO-EQ`` → ``BAJAJ-AUTO``); a plain name is returned upper-cased."""
    if symbol in _INDEX_NAMES:
        return _INDEX_NAMES[symbol]
    if ":" not in symbol:
        return symbol.strip().upper()
    name = symbol.split(":", 1)[1]
    return name.rsplit("-", 1)[0] if "-" in name else name


# ------------------------------------------------------------------ freeze quantities (CSV)
@dataclass(frozen=True, slots=True)
class FreezeRow:
    """An exchange freeze limit (units per order) in force from ``start`` to ``end`` inclusive
    (``end`` None: until a later circular, which the JSON master's ``qtyFreeze`` reflects)."""

    exchange: str
    name: str
    qty: int
    start: date
    end: date | None
    source: str


_FAOP75521 = "NSE circular FAOP75521, 31 Jul 2026 (fno.md §2)"
_FAOP_HIST = "NSE circulars FAOP69913 ... FAOP74469 (fno.md §2)"
_FY_FREEZE = (
    "Fyers: what are price bands and freeze quantities "
    "(support.fyers.in, copy whose NSE figures match 2026; fno.md §2)"
)

# The CSV master has no freeze column; these are fno.md §2's figures. Only the windows fno.md
# names are listed: outside them the freeze is unknown (None) rather than guessed.
FREEZE_QTY: Final[tuple[FreezeRow, ...]] = (
    FreezeRow("NSE", "BANKNIFTY", 900, date(2025, 9, 1), date(2025, 9, 30), _FAOP_HIST),
    FreezeRow("NSE", "FINNIFTY", 1200, date(2025, 12, 1), date(2026, 1, 31), _FAOP_HIST),
    FreezeRow("NSE", "FINNIFTY", 1200, date(2026, 3, 1), date(2026, 3, 31), _FAOP_HIST),
    FreezeRow("NSE", "BANKNIFTY", 900, date(2026, 4, 1), date(2026, 6, 30), _FAOP_HIST),
    FreezeRow("NSE", "NIFTY", 1800, date(2026, 8, 3), None, _FAOP75521),
    FreezeRow("NSE", "BANKNIFTY", 600, date(2026, 8, 3), None, _FAOP75521),
    FreezeRow("NSE", "FINNIFTY", 1800, date(2026, 8, 3), None, _FAOP75521),
    FreezeRow("NSE", "MIDCPNIFTY", 2800, date(2026, 8, 3), None, _FAOP75521),
    FreezeRow("NSE", "NIFTYNXT50", 600, date(2026, 8, 3), None, _FAOP75521),
    FreezeRow("BSE", "SENSEX", 1000, date(2026, 1, 1), None, _FY_FREEZE + "; undated, 2026"),
    FreezeRow("BSE", "BANKEX", 600, date(2026, 1, 1), None, _FY_FREEZE + "; undated, 2026"),
)


def freeze_qty_for(
    exchange: str, name: str, on: date, table: Iterable[FreezeRow] = FREEZE_QTY
) -> int | None:
    """The freeze limit fno.md §2 gives for ``name`` on ``on`` (latest window covering it)."""
    best: FreezeRow | None = None
    for row in table:
        if (
            row.exchange == exchange
            and row.name == name
            and row.start <= on
            and (row.end is None or on <= row.end)
            and (best is None or row.start > best.start)
        ):
            best = row
    return None if best is None else best.qty


# ------------------------------------------------------------------ parsing
class MasterWarning(UserWarning):
    """Some rows of a symbol master could not be read (they are listed on the result)."""


@dataclass(frozen=True, slots=True)
class MasterFile:
    """What a master file held: the instruments, and every row that could not be read as
    ``(line, reason)`` (CSV line numbers from 1; JSON entries numbered from 1)."""

    instruments: tuple[Instrument, ...]
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.instruments)


class _Bad(Exception):
    """One row's problem (becomes a ``bad_rows`` entry)."""


def _int(value: object, name: str) -> int:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Bad(f"{name} is not a number: {value!r}") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise _Bad(f"{name} is not a whole number: {value!r}")
    return int(d)


def _paise(value: object, name: str) -> int:
    try:
        if isinstance(value, float):
            return to_paise(value, name)
        return to_paise(Decimal(str(value).strip()), name)
    except (InvalidOperation, InvalidInput) as exc:
        raise _Bad(f"{name} is not an amount in paise: {value!r}") from exc


def _build(
    *,
    ticker: object,
    inst_type: object,
    lot: object,
    tick: object,
    expiry: object,
    exchange: object,
    segment: object,
    under: object,
    strike: object,
    opt_type: object,
    freeze: int | Literal["table"] | None,
    updated: object,
) -> Instrument:
    """One master row's fields → an Instrument, or ``_Bad`` saying which field is wrong."""
    try:
        symbol = check_symbol(str(ticker).strip(), "ticker")
    except InvalidInput as exc:
        raise _Bad(exc.reason) from None
    code = _int(inst_type, "instrument type")
    kind = KINDS.get(code)
    if kind is None:
        raise _Bad(f"instrument type {code} is not one livetrade models")
    ex_code = _int(exchange, "exchange")
    ex = EXCHANGES.get(ex_code)
    if ex is None:
        raise _Bad(f"unknown exchange code {ex_code}")
    if symbol.split(":", 1)[0] != ex:
        raise _Bad(f"ticker {symbol} is not on exchange {ex} (code {ex_code})")
    seg_code = _int(segment, "segment")
    seg = SEGMENTS.get(seg_code)
    if seg is None:
        raise _Bad(f"unknown segment code {seg_code}")
    lot_size = _int(lot, "lot size")
    tick_paise = _paise(tick, "tick size")
    if lot_size <= 0 or tick_paise <= 0:
        raise _Bad(f"lot size {lot!r} and tick size {tick!r} must be positive")
    derivative = kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION)
    name = str(under).strip().upper()
    underlying = None
    expiry_at = None
    strike_paise = None
    option_type: Literal["CE", "PE"] | None = None
    if derivative:
        if not name:
            raise _Bad("a derivative needs its underlying symbol")
        underlying = underlying_symbol(ex, name, code in _INDEX_DERIVATIVES)
        epoch = _int(expiry, "expiry date") if str(expiry).strip() else 0
        if epoch <= 0:
            raise _Bad(f"a derivative needs an expiry (epoch seconds), got {expiry!r}")
        expiry_at = datetime.fromtimestamp(epoch, IST)
    opt = str(opt_type).strip().upper()
    if kind is InstrumentKind.OPTION:
        if opt not in ("CE", "PE"):
            raise _Bad(f"option type must be CE or PE, got {opt_type!r}")
        option_type = "CE" if opt == "CE" else "PE"
        strike_paise = _paise(strike, "strike price")
        if strike_paise <= 0:
            raise _Bad(f"an option needs a positive strike, got {strike!r}")
    elif opt not in ("XX", ""):
        raise _Bad(f"option type {opt_type!r} on a non-option (instrument type {code})")
    freeze_qty: int | None
    if freeze == "table":
        freeze_qty = None
        if derivative:
            try:
                on = date.fromisoformat(str(updated).strip())
            except ValueError:
                raise _Bad(f"last update date is not YYYY-MM-DD: {updated!r}") from None
            freeze_qty = freeze_qty_for(ex, name, on)
    else:
        freeze_qty = freeze
    try:
        return Instrument(
            symbol,
            kind,
            lot_size=lot_size,
            tick_paise=tick_paise,
            freeze_qty=freeze_qty,
            expiry=expiry_at,
            strike_paise=strike_paise,
            option_type=option_type,
            underlying=underlying,
            segment=seg,
        )
    except InvalidInput as exc:
        raise _Bad(f"{exc.field}: {exc.reason}") from None


def _finish(instruments: list[Instrument], bad: list[tuple[int, str]], source: str) -> MasterFile:
    if bad:
        first = "; ".join(f"line {n}: {why}" for n, why in bad[:3])
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        warnings.warn(
            f"{source}: {len(bad)} row(s) could not be read and were not registered: "
            f"{first}{more}. See MasterFile.bad_rows.",
            MasterWarning,
            stacklevel=3,
        )
    return MasterFile(tuple(instruments), bad, source)


CSV_COLUMNS: Final = 18  # columns 0-17 carry data; 18-20 are reserved ("ignore", FYDOC)


def parse_csv(text: str, source: str = "<csv>") -> MasterFile:
    """Fyers' headerless CSV master (fno.md §1 column order). Freeze quantities, which the CSV
    lacks, come from :data:`FREEZE_QTY` by underlying and the row's last-update date."""
    instruments: list[Instrument] = []
    bad: list[tuple[int, str]] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < CSV_COLUMNS:
            bad.append((line, f"has {len(row)} columns, expected 21 (fno.md §1)"))
            continue
        try:
            instruments.append(
                _build(
                    ticker=row[9],
                    inst_type=row[2],
                    lot=row[3],
                    tick=row[4],
                    expiry=row[8],
                    exchange=row[10],
                    segment=row[11],
                    under=row[13],
                    strike=row[15],
                    opt_type=row[16],
                    freeze="table",
                    updated=row[7],
                )
            )
        except _Bad as exc:
            bad.append((line, str(exc)))
    return _finish(instruments, bad, source)


_JSON_KEYS: Final = (
    "exInstType",
    "minLotSize",
    "tickSize",
    "exchange",
    "segment",
)


def parse_json(text: str | bytes, source: str = "<json>") -> MasterFile:
    """Fyers' ``<NAME>_sym_master.json``: ticker → fields (FYDOC "Symbol Master Json").
    ``qtyFreeze`` "" means no freeze limit applies."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput("master", f"{source} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("master", f"{source} must map tickers to objects")
    instruments: list[Instrument] = []
    bad: list[tuple[int, str]] = []
    for n, (ticker, rec) in enumerate(data.items(), start=1):
        try:
            if not isinstance(rec, dict):
                raise _Bad(f"{ticker}: entry is not an object")
            missing = [k for k in _JSON_KEYS if k not in rec]
            if missing:
                raise _Bad(f"missing {', '.join(missing)}")
            if rec.get("symTicker", ticker) != ticker:
                raise _Bad(f"symTicker {rec.get('symTicker')!r} differs from its key")
            raw_freeze = rec.get("qtyFreeze", "")
            freeze = None if raw_freeze in ("", None) else _int(raw_freeze, "qtyFreeze")
            instruments.append(
                _build(
                    ticker=ticker,
                    inst_type=rec["exInstType"],
                    lot=rec["minLotSize"],
                    tick=rec["tickSize"],
                    expiry=rec.get("expiryDate", ""),
                    exchange=rec["exchange"],
                    segment=rec["segment"],
                    under=rec.get("underSym", ""),
                    strike=rec.get("strikePrice", -1),
                    opt_type=rec.get("optType", "XX"),
                    freeze=freeze,
                    updated=rec.get("lastUpdate", ""),
                )
            )
        except _Bad as exc:
            reason = str(exc)
            bad.append((n, reason if reason.startswith(ticker) else f"{ticker}: {reason}"))
    return _finish(instruments, bad, source)


def read_master(path: str | Path) -> MasterFile:
    """A master file on disk: ``.json`` as the JSON master, anything else as the CSV."""
    p = Path(path)
    if not p.exists():
        raise InvalidInput("path", f"no master file at {p}")
    if p.suffix.lower() == ".json":
        return parse_json(p.read_bytes(), str(p))
    return parse_csv(p.read_text(encoding="utf-8"), str(p))


def load_master(
    registry: InstrumentRegistry, path_or_rows: str | Path | MasterFile | Iterable[Instrument]
) -> MasterFile:
    """Register everything a master holds (a path, a parsed :class:`MasterFile` or instruments)
    in ``registry``; returns the :class:`MasterFile` so its ``bad_rows`` can be inspected."""
    if isinstance(path_or_rows, (str, Path)):
        master = read_master(path_or_rows)
    elif isinstance(path_or_rows, MasterFile):
        master = path_or_rows
    else:
        master = MasterFile(tuple(path_or_rows), [], "<instruments>")
    for inst in master.instruments:
        registry.register(inst)
    return master


# ------------------------------------------------------------------ daily cache
Fetch = Callable[[str], bytes]


def default_fetch(url: str) -> bytes:
    """GET a public master file (no account needed). Never called by the tests."""
    import httpx

    resp = httpx.get(url, timeout=60.0, follow_redirects=True)
    resp.raise_for_status()
    return resp.content


class MasterUnavailable(LiveTradeError):
    """No master could be fetched today and none is cached."""


def _cache_root(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir) / "instruments"
    from livetrade.journal import default_dir

    return default_dir() / "instruments"


def cached_master(
    names: Sequence[str] = ("NSE_FO",),
    *,
    data_dir: str | Path | None = None,
    fetch: Fetch | None = None,
    clock: Clock | None = None,
) -> MasterFile:
    """The masters ``names`` (``NSE_FO``, ``BSE_FO``...) as of today (IST): read from the cache
    when it was fetched today, else fetched (JSON first, CSV if that fails), cached and the older
    days removed. If fetching fails, the newest older cache is used with a warning."""
    root = _cache_root(data_dir)
    today = ns_to_datetime((clock or WallClock()).now_ns()).date()
    get = fetch or default_fetch
    instruments: list[Instrument] = []
    bad: list[tuple[int, str]] = []
    sources: list[str] = []
    for name in names:
        master = _one_master(root, name, today, get)
        instruments.extend(master.instruments)
        bad.extend(master.bad_rows)
        sources.append(master.source)
    return MasterFile(tuple(instruments), bad, ", ".join(sources))


def _files(name: str) -> tuple[str, str]:
    return f"{name}_sym_master.json", f"{name}.csv"


def _cached(day_dir: Path, name: str) -> Path | None:
    for fname in _files(name):
        if (day_dir / fname).exists():
            return day_dir / fname
    return None


def _one_master(root: Path, name: str, today: date, fetch: Fetch) -> MasterFile:
    today_dir = root / today.isoformat()
    hit = _cached(today_dir, name)
    if hit is not None:
        return read_master(hit)
    errors: list[str] = []
    for fname in _files(name):
        try:
            body = fetch(BASE_URL + fname)
        except Exception as exc:  # network, HTTP status: try the next format, then the cache
            errors.append(f"{fname}: {exc}")
            continue
        today_dir.mkdir(parents=True, exist_ok=True)
        tmp = today_dir / (fname + ".part")
        tmp.write_bytes(body)
        tmp.replace(today_dir / fname)
        _prune(root, name, keep=today_dir)
        return read_master(today_dir / fname)
    older = sorted(
        (d for d in root.glob("????-??-??") if d.is_dir() and _cached(d, name)), reverse=True
    )
    if older:
        path = _cached(older[0], name)
        assert path is not None
        warnings.warn(
            f"could not fetch today's {name} master ({'; '.join(errors)}); "
            f"using the cached one from {older[0].name}",
            MasterWarning,
            stacklevel=3,
        )
        return read_master(path)
    raise MasterUnavailable(f"could not fetch the {name} master: {'; '.join(errors)}")


def _prune(root: Path, name: str, keep: Path) -> None:
    """Remove ``name``'s files from earlier days (and days left empty)."""
    for day_dir in root.glob("????-??-??"):
        if day_dir == keep or not day_dir.is_dir():
            continue
        for fname in _files(name):
            (day_dir / fname).unlink(missing_ok=True)
        if not any(day_dir.iterdir()):
            shutil.rmtree(day_dir, ignore_errors=True)


_DEFAULT: list[InstrumentRegistry] = []


def default_registry(**kwargs: Any) -> InstrumentRegistry:
    """The registry ``lt.instruments()`` / ``lt.find_option()`` use when given none: filled once
    per process from :func:`cached_master` (today's NSE F&O master; it downloads at most once a
    day). Pass ``registry=session.engine.instruments`` after :func:`load_master` to use a
    session's instead."""
    if not _DEFAULT:
        registry = InstrumentRegistry()
        load_master(registry, cached_master(**kwargs))
        _DEFAULT.append(registry)
    return _DEFAULT[0]
