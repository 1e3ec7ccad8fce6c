"""The Fyers symbol master (fno.md §1): parsing every column, bad rows, lookups, the daily cache."""

from __future__ import annotations

import functools
import json
import warnings
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import livetrade as lt
from livetrade.clock import VirtualClock
from livetrade.errors import InvalidInput
from livetrade.fno import (
    MasterUnavailable,
    MasterWarning,
    cached_master,
    find_future,
    find_option,
    freeze_qty_for,
    instruments,
    load_master,
    parse_csv,
    parse_json,
    parse_ticker,
    read_master,
    underlying_name,
)
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST

DATA = Path(__file__).parent / "data"
CSV = DATA / "NSE_FO_sample.csv"
JSON = DATA / "NSE_FO_sample_sym_master.json"
NOW = datetime(2026, 9, 21, 10, 0, tzinfo=IST)  # the sample's last-update day, a Monday


@pytest.fixture
def registry() -> InstrumentRegistry:
    reg = InstrumentRegistry()
    load_master(reg, JSON)
    return reg


def _by_symbol(path: Path) -> dict[str, Instrument]:
    return {i.symbol: i for i in read_master(path).instruments}


@pytest.mark.parametrize("path", [CSV, JSON], ids=["csv", "json"])
def test_every_column_of_the_sample(path: Path) -> None:
    master = read_master(path)
    assert master.bad_rows == [] and len(master) == 46
    got = _by_symbol(path)
    fut = got["NSE:NIFTY26SEPFUT"]  # fno.md §1 example row
    assert fut.kind is InstrumentKind.FUTURE and fut.segment == "FO"
    assert fut.lot_size == 65 and fut.tick_paise == 10  # ₹0.10
    assert fut.expiry == datetime(2026, 9, 29, 15, 40, tzinfo=IST)  # epoch 1790676600
    assert fut.expiry.weekday() == 1  # NSE monthly: last Tuesday
    assert fut.strike_paise is None and fut.option_type is None  # -1.0 and XX
    assert fut.underlying == "NSE:NIFTY50-INDEX" and fut.freeze_qty == 1800
    ce = got["NSE:NIFTY26SEP29200CE"]
    assert ce.kind is InstrumentKind.OPTION and ce.option_type == "CE"
    assert ce.strike_paise == 29_200_00 and ce.tick_paise == 5 and ce.lot_size == 65
    pe = got["NSE:NIFTY2692229000PE"]  # weekly ticker
    assert pe.option_type == "PE" and pe.expiry == datetime(2026, 9, 22, 15, 40, tzinfo=IST)
    bn = got["NSE:BANKNIFTY26MARFUT"]  # fno.md §1: 30 Mar 2026 15:30, the holiday-moved expiry
    assert bn.expiry == datetime(2026, 3, 30, 15, 30, tzinfo=IST)
    assert bn.lot_size == 30 and bn.tick_paise == 20 and bn.underlying == "NSE:NIFTYBANK-INDEX"
    stock = got["NSE:RELIANCE26SEP1400CE"]  # OPTSTK
    assert stock.lot_size == 500 and stock.underlying == "NSE:RELIANCE-EQ"
    assert got["NSE:RELIANCE26SEPFUT"].kind is InstrumentKind.FUTURE  # FUTSTK
    sbin = got["NSE:SBIN-EQ"]
    assert sbin.kind is InstrumentKind.EQUITY and sbin.segment == "CM" and sbin.expiry is None
    assert sbin.tick_paise == 10 and sbin.underlying is None and sbin.freeze_qty is None
    index = got["NSE:NIFTY50-INDEX"]
    assert index.kind is InstrumentKind.INDEX and not index.tradable


def test_csv_and_json_agree_except_the_freeze_source() -> None:
    csv_rows, json_rows = _by_symbol(CSV), _by_symbol(JSON)
    assert csv_rows.keys() == json_rows.keys()
    for sym, a in csv_rows.items():
        b = json_rows[sym]
        if sym.startswith("NSE:RELIANCE"):
            # JSON qtyFreeze; the CSV has no column and fno.md §2 gives no stock figure
            assert a.freeze_qty is None and b.freeze_qty == 10000
            continue
        assert a == b


def test_csv_freeze_comes_from_the_dated_table() -> None:
    assert freeze_qty_for("NSE", "NIFTY", date(2026, 8, 3)) == 1800  # FAOP75521
    assert freeze_qty_for("NSE", "BANKNIFTY", date(2026, 5, 15)) == 900
    assert freeze_qty_for("NSE", "BANKNIFTY", date(2026, 9, 1)) == 600
    assert freeze_qty_for("NSE", "NIFTY", date(2026, 7, 31)) is None  # not in fno.md: unknown
    assert freeze_qty_for("NSE", "RELIANCE", date(2026, 9, 1)) is None
    old = CSV.read_text().replace("2026-09-21", "2026-05-04")
    assert {i.freeze_qty for i in parse_csv(old).instruments if i.underlying} == {None, 900}


def test_bad_rows_are_reported_not_dropped() -> None:
    lines = CSV.read_text().splitlines()
    good = len(lines)
    cols = lines[0].split(",")
    lot0 = ",".join([*cols[:3], "0", *cols[4:]])
    short = ",".join(cols[:10])
    ce = lines[2].split(",")
    xx = ",".join([*ce[:16], "XX", *ce[17:]])
    wrong_ex = lines[0].replace("NSE:NIFTY26SEPFUT", "BSE:NIFTY26SEPFUT")
    no_expiry = ",".join([*cols[:8], "", *cols[9:]])
    unknown = ",".join([*cols[:2], "30", *cols[3:]])
    text = "\n".join([*lines, lot0, short, xx, wrong_ex, no_expiry, unknown, ""])
    with pytest.warns(MasterWarning, match="6 row"):
        master = parse_csv(text, "sample")
    assert len(master) == good
    reasons = dict(master.bad_rows)
    assert sorted(reasons) == list(range(good + 1, good + 7))
    assert "lot size" in reasons[good + 1]
    assert "10 columns" in reasons[good + 2]
    assert "CE or PE" in reasons[good + 3]
    assert "not on exchange NSE" in reasons[good + 4]
    assert "expiry" in reasons[good + 5]
    assert "instrument type 30" in reasons[good + 6]


def test_bad_json_entries_are_reported() -> None:
    data = json.loads(JSON.read_text())
    data["NSE:NIFTY26SEPFUT"]["minLotSize"] = "sixty-five"
    del data["NSE:NIFTY26OCTFUT"]["tickSize"]
    data["NSE:NIFTY26SEP29000CE"]["qtyFreeze"] = "10"  # below one lot
    with pytest.warns(MasterWarning):
        master = parse_json(json.dumps(data))
    assert len(master) == 43
    reasons = dict(master.bad_rows)
    assert reasons[1].startswith("NSE:NIFTY26SEPFUT: lot size is not a number")
    assert "missing tickSize" in reasons[2]
    assert "freeze_qty" in next(r for r in reasons.values() if "29000CE" in r)
    with pytest.raises(InvalidInput) as err:
        parse_json("[1, 2]")
    assert err.value.field == "master"


def test_clean_master_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_master(CSV)
        read_master(JSON)


def test_ticker_formats() -> None:
    weekly = parse_ticker("NSE:NIFTY2632423050CE", "NIFTY")  # FYDOC chain sample, 24 Mar 2026
    assert (weekly.year, weekly.month, weekly.day) == (2026, 3, 24) and weekly.weekly
    assert weekly.strike_paise == 23_050_00 and weekly.option_type == "CE"
    monthly = parse_ticker("NSE:NIFTY26SEP29200CE", "NIFTY")
    assert (monthly.year, monthly.month, monthly.day, monthly.weekly) == (2026, 9, None, False)
    fut = parse_ticker("NSE:NIFTYNXT5026SEPFUT", "NIFTYNXT50")  # a name ending in digits
    assert (fut.year, fut.month, fut.strike_paise) == (2026, 9, None)
    assert parse_ticker("BSE:SENSEX2381161000CE", "SENSEX").day == 11  # FYDOC 2023: Aug 11
    assert parse_ticker("BSE:SENSEX23AUG60400CE", "SENSEX").month == 8
    assert parse_ticker("NSE:NIFTY26D0124000PE", "NIFTY").month == 12
    with pytest.raises(InvalidInput):
        parse_ticker("NSE:NIFTY26XYZFUT", "NIFTY")
    assert underlying_name("NSE:NIFTYBANK-INDEX") == "BANKNIFTY"
    assert underlying_name("NSE:BAJAJ-AUTO-EQ") == "BAJAJ-AUTO"


def test_fo(registry: InstrumentRegistry) -> None:
    fo = functools.partial(find_option, registry=registry, now=NOW)
    assert fo("NIFTY", "next", 29200, "CE").symbol == "NSE:NIFTY2692229200CE"
    assert fo("NIFTY", "nearest", 29200, "CE").symbol == "NSE:NIFTY2692229200CE"
    monthly = fo("NIFTY", "monthly", Decimal("29200"), "PE")
    assert monthly.symbol == "NSE:NIFTY26SEP29200PE"
    on_day = fo("NSE:NIFTY50-INDEX", date(2026, 9, 29), "29300", "ce")
    assert on_day.symbol == "NSE:NIFTY26SEP29300CE"
    assert fo("NIFTY", "2026-09-29", 29000, "PE").expiry == monthly.expiry
    atm = fo("NIFTY", "next", "ATM", "CE", spot=29_249.95)
    assert atm.strike_paise == 29_200_00
    assert fo("NIFTY", "next", "ATM", "CE", spot=29_250).strike_paise == 29_200_00
    # after the weekly expired, "next" is the monthly
    later = datetime(2026, 9, 22, 15, 41, tzinfo=IST)
    assert find_option("NIFTY", "next", 29200, "CE", registry=registry, now=later).symbol == (
        "NSE:NIFTY26SEP29200CE"
    )
    bank = fo("BANKNIFTY", "next", 55100, "PE")
    assert bank.symbol == "NSE:BANKNIFTY26SEP55100PE" and bank.lot_size == 30


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("NIFTY", "next", 29250, "CE"), {}, "strike"),
        (("NIFTY", "next", "ATM", "CE"), {}, "spot"),
        (("NIFTY", "2026-09-30", 29200, "CE"), {}, "expiry"),
        (("NIFTY", "someday", 29200, "CE"), {}, "expiry"),
        (("NIFTY", "next", 29200, "XE"), {}, "kind"),
        (("TCS", "next", 4000, "CE"), {}, "underlying"),
        (("NIFTY", "next", "abc", "CE"), {}, "strike"),
    ],
)
def test_find_option_names_the_field(
    registry: InstrumentRegistry, args: tuple[object, ...], kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        find_option(*args, registry=registry, now=NOW, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_missing_strike_names_the_neighbours(registry: InstrumentRegistry) -> None:
    with pytest.raises(InvalidInput, match=r"nearest: 29200\.00, 29300\.00"):
        find_option("NIFTY", "next", 29250, "CE", registry=registry, now=NOW)


def test_find_future(registry: InstrumentRegistry) -> None:
    assert find_future("NIFTY", registry=registry, now=NOW).symbol == "NSE:NIFTY26SEPFUT"
    # BANKNIFTY26MARFUT expired in March: never "next"
    assert find_future("BANKNIFTY", registry=registry, now=NOW).symbol == "NSE:BANKNIFTY26SEPFUT"
    oct_ = find_future("NIFTY", date(2026, 10, 27), registry=registry, now=NOW)
    assert oct_.symbol == "NSE:NIFTY26OCTFUT"
    after = datetime(2026, 9, 30, 9, 15, tzinfo=IST)
    assert find_future("NIFTY", "next", registry=registry, now=after).symbol == "NSE:NIFTY26OCTFUT"
    assert find_future("RELIANCE", registry=registry, now=NOW).lot_size == 500
    with pytest.raises(InvalidInput) as err:
        find_future("NIFTY", "next", registry=registry, now=datetime(2027, 1, 1, tzinfo=IST))
    assert err.value.field == "expiry"


def test_instruments_frame(registry: InstrumentRegistry) -> None:
    df = instruments(registry=registry)
    assert list(df.columns) == [
        "symbol",
        "kind",
        "underlying",
        "expiry",
        "strike",
        "option_type",
        "lot_size",
        "tick",
        "freeze_qty",
    ]
    assert len(df) == 46 and str(df["expiry"].dt.tz) == "Asia/Kolkata"
    chain = instruments("NIFTY", "next", "CE", 29100, 29300, registry, now=NOW)
    assert list(chain["strike"]) == [Decimal("29100.00"), Decimal("29200.00"), Decimal("29300.00")]
    assert set(chain["option_type"]) == {"CE"} and set(chain["lot_size"]) == {65}
    futs = instruments(underlying="BANKNIFTY", kind="FUTURE", registry=registry)
    assert list(futs["symbol"]) == [
        "NSE:BANKNIFTY26MARFUT",
        "NSE:BANKNIFTY26SEPFUT",
        "NSE:BANKNIFTY26OCTFUT",
    ]
    assert futs["tick"].iloc[0] == Decimal("0.20") and futs["freeze_qty"].iloc[0] == 600
    assert len(instruments(kind=InstrumentKind.INDEX, registry=registry)) == 1
    assert len(instruments("NIFTY", "monthly", "OPTION", registry=registry, now=NOW)) == 10
    with pytest.raises(InvalidInput) as err:
        instruments(kind="SWAP", registry=registry)
    assert err.value.field == "kind"


def test_public_names() -> None:
    assert lt.find_option is find_option and lt.find_future is find_future
    assert lt.instruments is instruments and lt.load_master is load_master


def test_load_master_registers_everything_and_lots_apply() -> None:
    reg = InstrumentRegistry()
    master = load_master(reg, CSV)
    assert len(reg) == len(master) == 46
    assert reg.get("NSE:NIFTY26SEPFUT").lot_size == 65
    load_master(reg, [Instrument("NSE:XYZ-EQ", lot_size=2)])
    assert reg.get("NSE:XYZ-EQ").lot_size == 2


# ------------------------------------------------------------------ the daily cache
class _Fetch:
    def __init__(self, body: bytes | None = None, fail: set[str] | None = None) -> None:
        self.body = body if body is not None else JSON.read_bytes()
        self.fail = fail or set()
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        if any(url.endswith(f) for f in self.fail):
            raise OSError("offline")
        if url.endswith(".csv"):
            return CSV.read_bytes()
        return self.body


def _clock(y: int, m: int, d: int, hh: int = 8) -> VirtualClock:
    return VirtualClock(datetime(y, m, d, hh, 0, tzinfo=IST))


def test_cache_from_today_is_read_without_fetching(tmp_path: Path) -> None:
    fetch = _Fetch()
    first = cached_master(data_dir=tmp_path, fetch=fetch, clock=_clock(2026, 9, 21))
    assert fetch.urls == ["https://public.fyers.in/sym_details/NSE_FO_sym_master.json"]
    assert (tmp_path / "instruments" / "2026-09-21" / "NSE_FO_sym_master.json").exists()
    later = _clock(2026, 9, 21, 23)  # still today in IST
    again = cached_master(data_dir=tmp_path, fetch=_Fetch(fail={".json", ".csv"}), clock=later)
    assert again.instruments == first.instruments


def test_day_old_cache_is_refetched(tmp_path: Path) -> None:
    cached_master(data_dir=tmp_path, fetch=_Fetch(), clock=_clock(2026, 9, 21))
    fetch = _Fetch()
    # 00:30 IST on the 22nd is still the 21st in UTC: the day is the IST one
    cached_master(data_dir=tmp_path, fetch=fetch, clock=_clock(2026, 9, 22, 0))
    assert len(fetch.urls) == 1
    days = sorted(p.name for p in (tmp_path / "instruments").iterdir())
    assert days == ["2026-09-22"]  # yesterday's copy pruned


def test_csv_when_json_fails_then_stale_cache_with_warning(tmp_path: Path) -> None:
    fetch = _Fetch(fail={".json"})
    m = cached_master(data_dir=tmp_path, fetch=fetch, clock=_clock(2026, 9, 21))
    assert [u.rsplit("/", 1)[1] for u in fetch.urls] == ["NSE_FO_sym_master.json", "NSE_FO.csv"]
    assert len(m) == 46
    offline = _Fetch(fail={".json", ".csv"})
    with pytest.warns(MasterWarning, match="from 2026-09-21"):
        stale = cached_master(data_dir=tmp_path, fetch=offline, clock=_clock(2026, 9, 22))
    assert len(stale) == 46
    with pytest.raises(MasterUnavailable):
        cached_master(data_dir=tmp_path / "empty", fetch=offline, clock=_clock(2026, 9, 22))


def test_cache_honours_the_data_dir_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVETRADE_DATA_DIR", str(tmp_path))
    cached_master(fetch=_Fetch(), clock=_clock(2026, 9, 21))
    assert (tmp_path / "instruments" / "2026-09-21" / "NSE_FO_sym_master.json").exists()
