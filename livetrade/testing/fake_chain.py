"""The fake Fyers server's option chain: ``GET /data/options-chain-v3`` from its simulated
NIFTY chain (:mod:`livetrade.testing.fake_fno`).

The shape is the docs' (FYDOC "Option Chain", fno.md §5, the SDK's ``optionchain``):
``data`` holds ``callOi``/``putOi`` (open interest over the expiry's whole chain),
``expiryData`` (every option expiry: ``date`` DD-MM-YYYY, ``expiry`` epoch string,
``expiry_flag`` W/M), ``indiavixData`` and ``optionsChain``: the underlying's row first
(``strike_price`` -1, ``fp``/``fpch``/``fpchp`` the near future) and then, strike by strike,
the put and the call (the docs' sample order) with ``ltp, ltpch, ltpchp, bid, ask, volume, oi,
oich, oichp, prev_oi`` and, with ``greeks=1``, ``greeks{delta, gamma, theta (per day), vega
(per vol point), iv (%)}``.

Parameters: ``symbol`` (the underlying, ``NSE:NIFTY50-INDEX``; anything else -300),
``strikecount`` (1-50 strikes each side of the ATM strike, the one nearest the index; the docs
give no default, so without it every listed strike comes back), ``timestamp`` (an ``expiry``
from ``expiryData``; empty or missing: the nearest expiry, as the SDK's docstring says).

The fake's choices: Greeks are Black-76 at the implied volatility of the bid/ask mid, on the
forward the contracts were priced from, to the contract's expiry epoch; where that mid has no
implied volatility (at or below intrinsic value) the Greeks are 0. India VIX is not simulated:
``indiavixData.ltp`` is the simulated smile's at-the-money volatility in percent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np

from livetrade.model import IST
from livetrade.pricing import MINUTES_PER_YEAR, greeks, implied_vol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from livetrade.testing.fake_fno import Contract, FakeContracts

__all__ = ["MAX_STRIKECOUNT", "option_chain"]

MAX_STRIKECOUNT: Final = 50  # FYDOC: "Options strike count for symbol (MAX = 50)"
VIX_FYTOKEN: Final = "101000000026017"  # the docs' sample indiavixData
_NS_PER_YEAR: Final = MINUTES_PER_YEAR * 60 * 1_000_000_000

Reply = tuple[int, dict[str, Any]]


class _Priced(Protocol):
    symbol: str
    fytoken: str
    values: list[int]
    oi_change: int


class ChainServer(Protocol):
    fno: FakeContracts | None

    def instrument(self, symbol: str) -> Any: ...

    def now_ns(self) -> int: ...


def _error(code: int, message: str) -> Reply:
    return 400, {"s": "error", "code": code, "message": message}


def _rupees(paise: int) -> float:
    return paise / 100


def _change(last: int, prev: int) -> tuple[float, float]:
    return _rupees(last - prev), round((last - prev) * 100 / prev, 2) if prev else 0.0


def _strike(paise: int) -> int | float:
    return paise // 100 if paise % 100 == 0 else paise / 100


def _parse(params: Mapping[str, str], fno: FakeContracts) -> tuple[int | None, Contract] | str:
    """(strikecount or None for all, a contract of the chosen expiry), or what is wrong."""
    raw = params.get("strikecount", "").strip()
    count: int | None = None
    if raw:
        try:
            count = int(raw)
        except ValueError:
            return f"Invalid strikecount {raw!r}: a whole number 1-{MAX_STRIKECOUNT}"
        if not 1 <= count <= MAX_STRIKECOUNT:
            return f"Invalid strikecount {count}: must be 1-{MAX_STRIKECOUNT}"
    expiries = fno.expiries()
    if not expiries:
        return "No option expiries are listed"
    stamp = params.get("timestamp", "").strip()
    if not stamp:
        return count, expiries[0]
    for c in expiries:
        if str(c.expiry_epoch) == stamp:
            return count, c
    return f"Invalid timestamp {stamp!r}: not an expiry of this chain (see expiryData)"


def option_chain(server: ChainServer, params: Mapping[str, str]) -> Reply:
    """The ``/data/options-chain-v3`` answer (see the module docstring)."""
    fno = server.fno
    symbol = params.get("symbol", "").strip()
    if not symbol:
        return _error(-50, "Invalid parameters: symbol is required")
    if fno is None or symbol != fno.underlying:
        return _error(-300, "Please provide a valid symbol")
    parsed = _parse(params, fno)
    if isinstance(parsed, str):
        return _error(-50, parsed)
    count, chosen = parsed
    index: _Priced = server.instrument(fno.underlying)
    spot = index.values[0]
    chain = fno.options(chosen.expiry_epoch)
    strikes = sorted({c.strike for c in chain if c.strike is not None})
    atm = min(range(len(strikes)), key=lambda i: (abs(strikes[i] - spot), strikes[i]))
    if count is not None:
        strikes = strikes[max(0, atm - count) : atm + count + 1]
    wanted = set(strikes)
    # the docs' sample: strike by strike, the put before the call
    rows = sorted(
        (c for c in chain if c.strike in wanted),
        key=lambda c: (c.strike or 0, c.option_type != "PE"),
    )
    insts: list[_Priced] = [server.instrument(c.symbol) for c in rows]
    table = _greeks(fno, rows, insts, server.now_ns()) if params.get("greeks") == "1" else None
    options: list[dict[str, Any]] = [_underlying_row(server, fno, index)]
    for n, (c, inst) in enumerate(zip(rows, insts, strict=True)):
        options.append(_option_row(c, inst, None if table is None else table[n]))
    call_oi = put_oi = 0
    for c in chain:
        oi = server.instrument(c.symbol).values[12]
        if c.option_type == "CE":
            call_oi += oi
        else:
            put_oi += oi
    data = {
        "callOi": call_oi,
        "expiryData": [
            {
                "date": f"{datetime.fromtimestamp(c.expiry_epoch, IST):%d-%m-%Y}",
                "expiry": str(c.expiry_epoch),
                "expiry_flag": "M" if c.monthly else "W",
            }
            for c in fno.expiries()
        ],
        "indiavixData": {
            "ask": 0,
            "bid": 0,
            "description": "INDIAVIX-INDEX",
            "ex_symbol": "INDIAVIX",
            "exchange": "NSE",
            "fyToken": VIX_FYTOKEN,
            "ltp": round(fno.sim.smile.atm * 100, 2),
            "ltpch": 0,
            "ltpchp": 0,
            "option_type": "",
            "strike_price": -1,
            "symbol": "NSE:INDIAVIX-INDEX",
        },
        "optionsChain": options,
        "putOi": put_oi,
    }
    return 200, {"code": 200, "data": data, "message": "", "s": "ok"}


def _underlying_row(server: ChainServer, fno: FakeContracts, index: _Priced) -> dict[str, Any]:
    ltp, prev = index.values[0], index.values[1]
    ch, chp = _change(ltp, prev)
    row: dict[str, Any] = {
        "ask": 0,
        "bid": 0,
        "description": fno.underlying.split(":", 1)[1],
        "ex_symbol": "NIFTY",
        "exchange": "NSE",
    }
    future = fno.near_future()
    if future is not None:
        fut: _Priced = server.instrument(future.symbol)
        fch, fchp = _change(fut.values[0], fut.values[20])
        row |= {"fp": _rupees(fut.values[0]), "fpch": fch, "fpchp": fchp}
    row |= {
        "fyToken": index.fytoken,
        "ltp": _rupees(ltp),
        "ltpch": ch,
        "ltpchp": chp,
        "option_type": "",
        "strike_price": -1,
        "symbol": fno.underlying,
    }
    return row


def _option_row(c: Contract, inst: _Priced, greek: dict[str, float] | None) -> dict[str, Any]:
    v = inst.values
    ltp, prev, oi = v[0], v[20], v[12]
    ch, chp = _change(ltp, prev)
    prev_oi = oi - inst.oi_change
    row: dict[str, Any] = {
        "ask": _rupees(v[7]),
        "bid": _rupees(v[6]),
        "fyToken": inst.fytoken,
        "ltp": _rupees(ltp),
        "ltpch": ch,
        "ltpchp": chp,
        "oi": oi,
        "oich": inst.oi_change,
        "oichp": round(inst.oi_change * 100 / prev_oi, 2) if prev_oi else 0.0,
        "option_type": c.option_type,
        "prev_oi": prev_oi,
        "strike_price": _strike(c.strike or 0),
        "symbol": c.symbol,
        "volume": v[1],
    }
    if greek is not None:
        row["greeks"] = greek
    return row


def _greeks(
    fno: FakeContracts, rows: list[Contract], insts: list[_Priced], now_ns: int
) -> list[dict[str, float]]:
    """Black-76 Greeks of ``rows`` at their mids' implied volatility (one vectorised pass)."""
    if not rows:
        return []
    forwards, _ = fno.sim.theoretical(now_ns)
    index = {s: i for i, s in enumerate(fno.sim.symbols)}
    f = np.array([forwards[index[c.symbol]] for c in rows]) / 100
    k = np.array([c.strike or 0 for c in rows], np.float64) / 100
    mid = np.array([(i.values[6] + i.values[7]) / 2 for i in insts]) / 100
    t = np.maximum(np.array([c.expiry_epoch * 1_000_000_000 - now_ns for c in rows]), 0)
    t = t / _NS_PER_YEAR
    flags = np.array(["c" if c.option_type == "CE" else "p" for c in rows])
    r = fno.sim.rate
    iv = np.asarray(implied_vol(mid, f, k, t, r, flags), np.float64)
    g = greeks(flags, f, k, t, r, np.nan_to_num(iv, nan=0.0))
    out = []
    for n in range(len(rows)):
        solved = bool(np.isfinite(iv[n]))

        def val(x: Any, digits: int, n: int = n, solved: bool = solved) -> float:
            value = float(np.asarray(x)[n])
            return round(value, digits) if solved and np.isfinite(value) else 0.0

        out.append(
            {
                "delta": val(g.delta, 2),
                "gamma": val(g.gamma, 4),
                "theta": val(g.theta, 2),
                "vega": val(g.vega, 2),
                "iv": val(iv * 100, 2),
            }
        )
    return out
