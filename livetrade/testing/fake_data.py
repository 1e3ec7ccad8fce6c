"""The fake Fyers server's market-data REST calls and its depth topics (mounted by
:mod:`livetrade.testing.fake_fyers`).

Served under the fake's ``/data`` base, with the same token check as symbol-token, in the
shapes of spec 3.4 and 3.7: ``GET /history``, ``GET /quotes?symbols=a,b`` (and the SDK's
``quotes_v2``, ``POST /quotes {"symbols": [...]}``), ``GET /depth?symbol=…&ohlcv_flag=1`` and
``GET /marketStatus`` and the option chain ``GET /options-chain-v3``
(:mod:`livetrade.testing.fake_chain`). Errors have the real API's shape
``{"s":"error","code":…,"message":…}``: -300 for a symbol the fake does not know, -50 for bad
input.

Everything is priced from the fake's own seeded market: quotes and depth from its current
values (the best depth levels are its bid/ask, the deeper ones from
:func:`livetrade.depth.simulated_levels`), history from :class:`SimHistory` anchored where
each symbol's walk started (so the past ends where the live prices begin; today's bars since
the fake started are not served). The previous close, the circuit limits (±20% of it) and the
day's open/high/low agree across quotes, depth, history and the data socket.

Not verified against Fyers (documented nowhere we could read): the per-symbol error entry of a
quotes answer for an unknown symbol (``{"n": …, "s": "error", "v": {"errmsg": …}}``), the
exact wording of error messages, ``tt`` as integer epoch seconds, and the depth answer for an
index (refused here with -300, as the data socket refuses index depth). Resolutions without
a livetrade timeframe (``2``, ``10``, ``45S``, ``1W``…) are refused with -50.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import parse_qs

from livetrade.bars import DAY_NS, IST_OFFSET_NS, NS
from livetrade.depth import DEPTH_WIDTH, simulated_levels
from livetrade.fyers.codec import SENTINEL, SnapshotRecord, UpdateRecord
from livetrade.history import FIRST_DAY, RESOLUTIONS, SECONDS_DAYS

if TYPE_CHECKING:
    from livetrade.feeds.sim_history import SimHistory
    from livetrade.testing.fake_fno import FakeContracts

__all__ = ["DATA_PATHS", "DepthTopic", "FakeMarketData", "ist_date"]

MAX_QUOTES: Final = 50
"""Symbols one ``/data/quotes`` call may ask for (spec 3.4)."""

DATA_PATHS: Final = frozenset(
    {"/history", "/quotes", "/depth", "/marketStatus", "/options-chain-v3"}
)

_TIMEFRAME_OF: Final = {res: tf for tf, res in RESOLUTIONS.items()} | {"D": "1D"}
_EPOCH: Final = date(1970, 1, 1)

Reply = tuple[int, dict[str, Any]]


def ist_date(ts_ns: int) -> date:
    return _EPOCH + timedelta(days=(ts_ns + IST_OFFSET_NS) // DAY_NS)


def _midnight_ns(d: date) -> int:
    return (d - _EPOCH).days * DAY_NS - IST_OFFSET_NS


def _error(code: int, message: str, status: int = 400) -> Reply:
    return status, {"s": "error", "code": code, "message": message}


class _Bad(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _rupees(paise: int) -> float:
    return paise / 100


class Priced(Protocol):
    """What the fake knows about one symbol (its ``_Instrument``)."""

    symbol: str
    fytoken: str
    kind: str
    exchange: str
    exchange_token: str
    trading_symbol: str
    values: list[int]
    tick: int  # paise
    lot: int  # units (1 for shares)
    expiry: int  # epoch seconds (0: not a derivative)
    oi_change: int


class Server(Protocol):
    seed: int
    history: SimHistory
    fno: FakeContracts | None

    def instrument(self, symbol: str) -> Any: ...

    def now_ns(self) -> int: ...


class DepthTopic:
    """A ``dp|…`` topic of the fake's data socket: 30 values around its instrument's bid/ask,
    recomputed each market step (only for symbols someone subscribed depth of)."""

    __slots__ = ("inst", "kind", "prev", "seed", "symbol", "topic", "topic_id", "values")

    def __init__(self, inst: Priced, topic: str, topic_id: int, seed: int, ts_ns: int) -> None:
        self.inst = inst
        self.symbol = inst.symbol
        self.topic = topic
        self.topic_id = topic_id
        self.kind = "dp"
        self.seed = seed
        self.values = book_values(inst, seed, ts_ns)
        self.prev = self.values

    def refresh(self, ts_ns: int) -> None:
        self.prev = self.values
        self.values = book_values(self.inst, self.seed, ts_ns)

    def snapshot(self) -> SnapshotRecord:
        inst = self.inst
        return SnapshotRecord(
            self.topic_id,
            self.topic,
            self.values,
            1,
            2,
            inst.exchange,
            inst.exchange_token,
            inst.trading_symbol,
        )

    def update(self, lite: bool) -> UpdateRecord:
        """Depth has no lite form (spec 1.5): always a full update, sentinel where unchanged."""
        return UpdateRecord(
            self.topic_id,
            tuple(SENTINEL if a == b else a for a, b in zip(self.values, self.prev, strict=True)),
        )


def book_values(inst: Priced, seed: int, ts_ns: int) -> tuple[int, ...]:
    """The 30 depth values of a scrip now (the best levels carry its bid/ask sizes)."""
    v = inst.values
    if inst.kind != "sf":
        return (0,) * DEPTH_WIDTH
    # ts: the last feed time (s), so a topic's book only moves when its quote does
    ts = v[3] * NS or ts_ns
    if inst.lot > 1:  # a derivative: levels on its tick, quantities in lots
        top = (v[4], v[5])
        return simulated_levels(
            seed, inst.symbol, v[6], v[7], ts, top, tick=inst.tick, lot=inst.lot
        )
    return simulated_levels(seed, inst.symbol, v[6], v[7], ts, (v[4], v[5]))


class FakeMarketData:
    """The ``/data`` market-data routes of one fake server (see the module docstring)."""

    def __init__(self, server: Server, authorize: Callable[[Mapping[str, str]], Reply | None]):
        self.server = server
        self.authorize = authorize
        self.calls: list[tuple[str, str]] = []  # (path, query or body) of every data call

    def respond(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        refused = self.authorize(headers)
        if refused is not None:
            return refused
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.calls.append((path, query or body.decode("utf-8", "replace")))
        if path == "/quotes" and method == "POST":
            return self._quotes_post(body)
        if method != "GET":
            return _error(405, f"use GET for /data{path}", 405)
        if path == "/history":
            return self.history(params)
        if path == "/quotes":
            raw = params.get("symbols", "")
            return self.quotes([s for s in raw.split(",") if s])
        if path == "/depth":
            return self.depth(params)
        if path == "/options-chain-v3":
            from livetrade.testing.fake_chain import option_chain

            return option_chain(self.server, params)
        return self.market_status()

    # ---- quotes -------------------------------------------------------------------------------

    def _quotes_post(self, body: bytes) -> Reply:
        import json

        try:
            symbols = json.loads(body)["symbols"]
            if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(-50, "Invalid parameters: symbols must be a list of symbols")
        return self.quotes(symbols)

    def quotes(self, symbols: list[str]) -> Reply:
        if not symbols:
            return _error(-50, "Invalid parameters: symbols is required")
        if len(symbols) > MAX_QUOTES:
            return _error(-50, f"Max {MAX_QUOTES} symbols per request, got {len(symbols)}")
        d: list[dict[str, Any]] = []
        for symbol in symbols:
            inst = self.server.instrument(symbol)
            if inst is None:
                d.append(
                    {
                        "n": symbol,
                        "s": "error",
                        "v": {"errmsg": "Please provide a valid symbol", "symbol": symbol},
                    }
                )
            else:
                d.append({"n": symbol, "s": "ok", "v": self.quote_values(inst)})
        return 200, {"s": "ok", "code": 200, "message": "", "d": d}

    def quote_values(self, inst: Priced) -> dict[str, Any]:
        v = inst.values
        if inst.kind == "if":
            last, prev, tt, high, low, opn = v[0], v[1], v[2], v[3], v[4], v[5]
            bid = ask = volume = atp = 0
        else:
            last, volume, tt, bid, ask, atp = v[0], v[1], v[3], v[6], v[7], v[11]
            low, high, opn, prev = v[13], v[14], v[19], v[20]
        ch = last - prev
        return {
            "ch": _rupees(ch),
            "chp": round(ch * 100 / prev, 2) if prev else 0.0,
            "lp": _rupees(last),
            "spread": _rupees(ask - bid),
            "ask": _rupees(ask),
            "bid": _rupees(bid),
            "open_price": _rupees(opn),
            "high_price": _rupees(high),
            "low_price": _rupees(low),
            "prev_close_price": _rupees(prev),
            "atp": _rupees(atp),
            "volume": volume,
            "short_name": inst.trading_symbol,
            "exchange": inst.exchange,
            "description": inst.symbol,
            "original_name": inst.symbol,
            "symbol": inst.symbol,
            "fyToken": inst.fytoken,
            "tt": tt or self.server.now_ns() // NS,
        }

    # ---- depth --------------------------------------------------------------------------------

    def depth(self, params: Mapping[str, str]) -> Reply:
        symbol = params.get("symbol", "")
        if not symbol:
            return _error(-50, "Invalid parameters: symbol is required")
        inst = self.server.instrument(symbol)
        if inst is None:
            return _error(-300, "Please provide a valid symbol")
        if inst.kind != "sf":
            return _error(-300, "Index does not have market depth")
        v = inst.values
        book = book_values(inst, self.server.seed, self.server.now_ns())

        def side(base: int) -> list[dict[str, Any]]:
            return [
                {"price": _rupees(book[base + i]), "volume": book[base + 10 + i],
                 "ord": book[base + 20 + i]}
                for i in range(5)
            ]  # fmt: skip

        last, prev = v[0], v[20]
        row: dict[str, Any] = {
            "totalbuyqty": v[9],
            "totalsellqty": v[10],
            "bids": side(0),
            "ask": side(5),
            "o": _rupees(v[19]),
            "h": _rupees(v[14]),
            "l": _rupees(v[13]),
            "c": _rupees(prev),
            "chp": round((last - prev) * 100 / prev, 2) if prev else 0.0,
            "tick_Size": _rupees(inst.tick),
            "ch": _rupees(last - prev),
            "ltq": v[8],
            "ltt": v[2] or self.server.now_ns() // NS,
            "ltp": _rupees(last),
            "v": v[1],
            "atp": _rupees(v[11]),
            "lower_ckt": _rupees(v[17]),
            "upper_ckt": _rupees(v[18]),
            "expiry": str(inst.expiry) if inst.expiry else "",
            "oi": v[12],
            "oiflag": bool(inst.expiry),
            "pdoi": v[12] - inst.oi_change,
            "oipercent": (
                round(inst.oi_change * 100 / (v[12] - inst.oi_change), 2)
                if v[12] - inst.oi_change
                else 0.0
            ),
        }
        if params.get("ohlcv_flag") != "1":
            for key in ("o", "h", "l", "c", "v"):
                del row[key]
        return 200, {"s": "ok", "code": 200, "message": "", "d": {symbol: row}}

    # ---- market status ------------------------------------------------------------------------

    def market_status(self) -> Reply:
        now = self.server.now_ns()
        day = ist_date(now)
        minute = (now - _midnight_ns(day)) // (60 * NS)
        weekday = day.weekday() < 5
        equity = weekday and 9 * 60 + 15 <= minute < 15 * 60 + 30
        commodity = weekday and 9 * 60 <= minute < 23 * 60 + 30
        rows = [
            (10, 10, equity), (10, 11, equity), (10, 12, weekday and 9 * 60 <= minute < 17 * 60),
            (12, 10, equity), (12, 11, equity), (11, 20, commodity),
        ]  # fmt: skip
        return 200, {
            "s": "ok",
            "code": 200,
            "message": "",
            "marketStatus": [
                {"exchange": ex, "segment": seg, "market_type": "NORMAL",
                 "status": "OPEN" if is_open else "CLOSED"}
                for ex, seg, is_open in rows
            ],
        }  # fmt: skip

    # ---- history ------------------------------------------------------------------------------

    def history(self, params: Mapping[str, str]) -> Reply:
        symbol = params.get("symbol", "")
        if not symbol:
            return _error(-50, "Invalid parameters: symbol is required")
        inst = self.server.instrument(symbol)
        if inst is None:
            return _error(-300, "Please provide a valid symbol")
        resolution = params.get("resolution", "")
        tf = _TIMEFRAME_OF.get(resolution)
        if tf is None:
            return _error(-50, f"Invalid resolution {resolution!r} (this fake serves "
                          f"{', '.join(sorted(_TIMEFRAME_OF))})")  # fmt: skip
        try:
            start_ns, end_ns = self._window(params)
        except _Bad as bad:
            return _error(-50, bad.message)
        first, last = ist_date(start_ns), ist_date(end_ns - 1)
        days = (last - first).days + 1
        limit = 366 if tf == "1D" else 100
        if days > limit:
            return _error(-50, f"Invalid input: at most {limit} days per request for "
                          f"resolution {resolution}, got {days}")  # fmt: skip
        if tf.endswith("s") and first < self._seconds_floor():
            return _error(-50, f"Invalid input: seconds candles only for the last "
                          f"{SECONDS_DAYS} trading days")  # fmt: skip
        start_ns = max(start_ns, _midnight_ns(FIRST_DAY))
        cols = self.server.history.columns(symbol, tf, start_ns, end_ns)
        if not len(cols):
            return 200, {"s": "no_data", "code": 0, "message": "", "candles": []}
        candles = [
            [t // NS, o / 100, h / 100, lo / 100, c / 100, vol]
            for t, o, h, lo, c, vol in zip(*(x.tolist() for x in cols.tuple()), strict=True)
        ]
        return 200, {"s": "ok", "code": 200, "message": "", "candles": candles}

    def _window(self, params: Mapping[str, str]) -> tuple[int, int]:
        """``[start, end)`` in epoch ns from ``range_from``/``range_to`` (both inclusive: whole
        days with ``date_format=1``, seconds with ``date_format=0``)."""
        fmt = params.get("date_format", "0")
        raw_from, raw_to = params.get("range_from", ""), params.get("range_to", "")
        try:
            if fmt == "1":
                d0, d1 = date.fromisoformat(raw_from), date.fromisoformat(raw_to)
                start, end = _midnight_ns(d0), _midnight_ns(d1 + timedelta(days=1))
            elif fmt == "0":
                start, end = int(raw_from) * NS, (int(raw_to) + 1) * NS
            else:
                raise _Bad(f"Invalid date_format {fmt!r} (0 or 1)")
        except ValueError:
            raise _Bad("Invalid input: range_from/range_to do not match date_format") from None
        if start >= end:
            raise _Bad("Invalid input: range_from is after range_to")
        return start, end

    def _seconds_floor(self) -> date:
        d = ist_date(self.server.now_ns())
        n = 0
        while n < SECONDS_DAYS - 1:
            d -= timedelta(days=1)
            if d.weekday() < 5:
                n += 1
        return d
