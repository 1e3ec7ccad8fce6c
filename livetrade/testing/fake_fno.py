"""The fake Fyers server's futures and options: NIFTY contracts listed and priced by
:class:`~livetrade.feeds.sim_derivatives.SimDerivatives` on the fake's own simulated index.

Why here: the fake must quote and trade derivatives with Fyers' real tickers (fno.md §1:
``NSE:NIFTY26DECFUT``, weekly ``NSE:NIFTY26D0824000CE``, monthly ``NSE:NIFTY26DEC24000CE``),
lots, ticks, freeze quantities and fytokens, and say so in the same symbol-master format the
client reads (:meth:`FakeContracts.master_json`, :meth:`FakeContracts.master_csv`, served at
``/sym_details/NSE_FO_sym_master.json`` and ``/sym_details/NSE_FO.csv``), so the contract list
has one source: what the fake lists is what its master says and what it quotes.

Made up here (no source): the exchange tokens (from 35001 in listing order, as the sample master
in ``tests/data`` numbers its rows) and each contract's previous close (its first theoretical
price: the fake has no derivative history). The circuit values follow exchange-rules.md §3:
futures ±10% of the base price (their operating range); options' ranges are contract-specific
(from delta, recomputed daily, not published in a form found), so the fake uses ₹0.05 up to the
previous close plus 10% of the index (an option cannot gain more than its underlying moves).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from livetrade.feeds.sim_derivatives import SimDerivatives, monthly_expiry
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.market_hours import default_hours
from livetrade.model import IST, ns_to_datetime
from livetrade.testing.fake_rest_types import ContractSpec

if TYPE_CHECKING:
    from livetrade.feeds.simulated import SimulatedMarket
    from livetrade.market_hours import MarketHours

__all__ = ["FIRST_TOKEN", "Contract", "FakeContracts"]

FIRST_TOKEN: Final = 35001
"""Exchange token of the first listed contract (then one up per contract, in listing order)."""
UNDERLYING_FYTOKEN: Final = "101000000026000"  # NIFTY 50's fytoken (fno.md §1, column 17)
UNDERLYING_SCRIP: Final = 26000
_OPTIDX, _FUTIDX = 14, 11  # exchange instrument types (fno.md §1, column 2)


@dataclass(frozen=True, slots=True)
class Contract:
    """One listed contract: its trading spec and the registry's instrument (expiry, strike,
    option type, underlying)."""

    spec: ContractSpec
    instrument: Instrument
    token: int
    expiry_epoch: int
    monthly: bool

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def expiry_date(self) -> date:
        return datetime.fromtimestamp(self.expiry_epoch, IST).date()

    @property
    def strike(self) -> int | None:
        return self.instrument.strike_paise

    @property
    def option_type(self) -> str | None:
        return self.instrument.option_type


def _rupee_text(paise: int) -> str:
    text = f"{Decimal(paise) / 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class FakeContracts:
    """The fake's NIFTY derivatives (see the module docstring). ``strikes``, ``weeklies`` and
    ``futures`` are :class:`SimDerivatives`' (strikes each side of the money, weekly expiries,
    monthly futures, ``every``: requote after every N index steps); ``hours``: the NSE
    calendar for expiry days (default: livetrade's)."""

    def __init__(
        self,
        market: SimulatedMarket,
        now_ns: int,
        *,
        strikes: int = 10,
        weeklies: int = 1,
        futures: int = 2,
        hours: MarketHours | None = None,
        every: int = 1,
    ) -> None:
        self.hours = hours if hours is not None else default_hours()
        self.registry = InstrumentRegistry()
        self.sim = SimDerivatives(
            market,
            self.registry,
            now_ns,
            strikes=strikes,
            weeklies=weeklies,
            futures=futures,
            hours=self.hours,
            every=every,
        )
        self.listed_on = ns_to_datetime(now_ns).date()
        self.contracts: dict[str, Contract] = {}
        for n, symbol in enumerate(self.sim.symbols):
            inst = self.registry.known(symbol)
            assert inst is not None and inst.expiry is not None  # SimDerivatives registered it
            token = FIRST_TOKEN + n
            option = inst.kind is InstrumentKind.OPTION
            exp = inst.expiry.date()
            spec = ContractSpec(
                symbol=symbol,
                lot=inst.lot_size,
                tick=inst.tick_paise,
                freeze=inst.freeze_qty or inst.lot_size,
                instrument=_OPTIDX if option else _FUTIDX,
                fytoken=f"1011{exp:%y%m%d}{token}",
            )
            monthly = not option or exp == monthly_expiry(exp.year, exp.month, self.hours)
            epoch = int(inst.expiry.timestamp())
            self.contracts[symbol] = Contract(spec, inst, token, epoch, monthly)

    # ---- reading -------------------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """The listed tickers: futures first, then options by expiry, strike, CE/PE."""
        return list(self.contracts)

    @property
    def underlying(self) -> str:
        return "NSE:NIFTY50-INDEX"

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.contracts

    def __len__(self) -> int:
        return len(self.contracts)

    def spec(self, symbol: str) -> ContractSpec | None:
        c = self.contracts.get(symbol)
        return None if c is None else c.spec

    def start_prices(self, now_ns: int) -> dict[str, int]:
        """Each contract's theoretical price now (paise), on its tick and at least one tick."""
        _, prices = self.sim.theoretical(now_ns)
        out: dict[str, int] = {}
        for symbol, price in zip(self.sim.symbols, prices.tolist(), strict=True):
            tick = self.contracts[symbol].spec.tick
            out[symbol] = max(tick, round(price / tick) * tick)
        return out

    def band(self, symbol: str, close: int, index_close: int) -> tuple[int, int]:
        """(lower, upper) circuit values in paise (see the module docstring)."""
        c = self.contracts[symbol]
        tick = c.spec.tick
        if c.option_type is None:
            reach = close // 10 // tick * tick
            return max(tick, close - reach), close + reach
        return tick, close + index_close // 10 // tick * tick

    def open_interest(self, symbol: str) -> tuple[int, int]:
        """(open interest, change today) in units, from the simulated chain when it models open
        interest (``SimDerivatives.open_interest``), else (0, 0)."""
        reader = getattr(self.sim, "open_interest", None)
        got = reader(symbol) if reader is not None else None
        return (0, 0) if got is None else (int(got[0]), int(got[1]))

    def expiries(self) -> list[Contract]:
        """One option contract per option expiry, nearest first (for the chain's expiry list)."""
        seen: dict[int, Contract] = {}
        for c in self.contracts.values():
            if c.option_type is not None and c.expiry_epoch not in seen:
                seen[c.expiry_epoch] = c
        return [seen[k] for k in sorted(seen)]

    def options(self, expiry_epoch: int) -> list[Contract]:
        return [
            c
            for c in self.contracts.values()
            if c.option_type is not None and c.expiry_epoch == expiry_epoch
        ]

    def near_future(self) -> Contract | None:
        futures = [c for c in self.contracts.values() if c.option_type is None]
        return min(futures, key=lambda c: c.expiry_epoch) if futures else None

    # ---- the symbol master ----------------------------------------------------------------------

    def _row(self, c: Contract, close: int, band: tuple[int, int]) -> dict[str, Any]:
        exp = c.expiry_date
        kind = c.option_type or "FUT"
        strike = "" if c.strike is None else f" {_rupee_text(c.strike)}"
        closes = datetime.fromtimestamp(c.expiry_epoch, IST)
        return {
            "fyToken": c.spec.fytoken,
            "details": f"NIFTY {exp:%d %b %y}{strike} {kind}",
            "session": f"0915-{closes:%H%M}|1815-1915:",  # as the master's F&O rows read
            "strike": -1.0 if c.strike is None else c.strike / 100,
            "close": close,
            "band": band,
        }

    def master_json(self, closes: dict[str, int], bands: dict[str, tuple[int, int]]) -> str:
        """Fyers' ``NSE_FO_sym_master.json`` for the listed contracts (FYDOC "Symbol Master
        Json": ticker → fields), ``closes``/``bands`` the fake's previous closes and circuit
        values in paise."""
        import json

        out: dict[str, dict[str, Any]] = {}
        for symbol, c in self.contracts.items():
            row = self._row(c, closes[symbol], bands[symbol])
            oi, change = self.open_interest(symbol)
            out[symbol] = {
                "fyToken": c.spec.fytoken,
                "isin": "",
                "exSymbol": "NIFTY",
                "symDetails": row["details"],
                "symTicker": symbol,
                "exchange": c.spec.exchange,
                "segment": c.spec.segment,
                "exSymName": "NIFTY",
                "exToken": c.token,
                "exSeries": "XX",
                "optType": c.option_type or "XX",
                "underSym": "NIFTY",
                "underFyTok": UNDERLYING_FYTOKEN,
                "exInstType": c.spec.instrument,
                "minLotSize": c.spec.lot,
                "tickSize": c.spec.tick / 100,
                "tradingSession": row["session"],
                "lastUpdate": self.listed_on.isoformat(),
                "expiryDate": str(c.expiry_epoch),
                "strikePrice": row["strike"],
                "qtyFreeze": str(c.spec.freeze),
                "tradeStatus": 1,
                "currencyCode": "INR",
                "upperPrice": row["band"][1] / 100,
                "lowerPrice": row["band"][0] / 100,
                "faceValue": 0.0,
                "qtyMultiplier": 1.0,
                "previousClose": row["close"] / 100,
                "previousOi": float(oi - change),
                "asmGsmVal": "NA",
                "exchangeName": "NSE",
                "symbolDesc": row["details"],
                "originalExpDate": None,
                "is_mtf_tradable": 0,
                "mtf_margin": 0.0,
                "stream": "FO",
            }
        return json.dumps(out)

    def master_csv(self) -> str:
        """Fyers' headerless ``NSE_FO.csv`` (the 21 columns of fno.md §1) for the listed
        contracts."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for symbol, c in self.contracts.items():
            row = self._row(c, 0, (0, 0))
            writer.writerow(
                [
                    c.spec.fytoken,
                    row["details"],
                    c.spec.instrument,
                    c.spec.lot,
                    c.spec.tick / 100,
                    "",
                    row["session"],
                    self.listed_on.isoformat(),
                    c.expiry_epoch,
                    symbol,
                    c.spec.exchange,
                    c.spec.segment,
                    c.token,
                    "NIFTY",
                    UNDERLYING_SCRIP,
                    row["strike"],
                    c.option_type or "XX",
                    UNDERLYING_FYTOKEN,
                    "None",
                    0,
                    0.0,
                ]
            )
        return buf.getvalue()

    def __repr__(self) -> str:
        return f"FakeContracts({len(self)} NIFTY futures and options)"
