"""Filling the option chain from Fyers' option-chain endpoint where the stream does not cover it.

A session on Fyers' feed only hears the contracts it watches, so ``session.option_chain()``
would show the rest of the chain empty. :func:`refresh_chain` reads ``/data/options-chain-v3``
once (:meth:`FyersRestClient.option_chain`) and, for that expiry:

- registers every contract the session does not know as an option. A contract already
  registered as an option (from a symbol master, ``lt.load_master(session.engine.instruments,
  ...)``) is kept as it is; otherwise its strike and side come from the answer, checked against
  the ticker (:func:`livetrade.fno.parse_ticker`), its expiry from the answer's expiry epoch,
  the tick ₹0.05 (every option, fno.md §2), the freeze from fno.md §2's table and the lot from
  fno.md §2's index lots (NIFTY by its dated table, the other indices' current lots for
  contracts expiring from 6 Jan 2026). The answer carries no lot, so a contract whose lot
  fno.md does not give (stock options, older expiries) is refused: load the master instead.
- pushes one quote (bid/ask/LTP, the day's volume) per contract into the price stream unless
  the stream has a fresher one: a contract the feed watches keeps its streamed quotes (the
  stream is live for it), and any quote stamped at or after the request was sent is kept. A
  quote this module pushed earlier is older than the next request, so it is replaced. The
  underlying's LTP is pushed the same way (the chain's spot).
- keeps the answer's open interest and its change per contract (:class:`ChainOI`), which the
  chain view reads through its ``oi=`` callable. The stream carries no OI, so this covers
  watched contracts too.

The pushed quotes are ordinary ticks: resting paper orders on those contracts may fill on them,
as on any quote of the stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from livetrade.errors import InvalidInput
from livetrade.instruments import Instrument, InstrumentKind, InstrumentRegistry
from livetrade.model import IST, PriceQuote, ns_to_datetime

if TYPE_CHECKING:
    from livetrade.fyers.broker import FyersRestClient
    from livetrade.fyers.option_chain import OptionChain, OptionExpiry, OptionRow
    from livetrade.prices import LivePriceStream

__all__ = ["ChainOI", "ChainRefresh", "index_lot", "option_instrument", "refresh_chain"]

OPTION_TICK: Final = 5  # ₹0.05: every NSE/BSE option (fno.md §2 "Tick size")
CURRENT_LOTS_FROM: Final = date(2026, 1, 6)
"""First expiries on the Oct 2025 revision's lots (NSE FAOP70616, fno.md §2)."""
CURRENT_INDEX_LOTS: Final = {
    ("NSE", "BANKNIFTY"): 30,
    ("NSE", "FINNIFTY"): 60,
    ("NSE", "MIDCPNIFTY"): 120,
    ("NSE", "NIFTYNXT50"): 25,
}
"""fno.md §2 "Index lot sizes", the current column (NIFTY has its own dated table; SENSEX's
current lot is "not confirmed" there, so it is not guessed)."""


def index_lot(exchange: str, name: str, expiry: date) -> int | None:
    """The lot fno.md §2 gives for an index option expiring on ``expiry``, else None."""
    if (exchange, name) == ("NSE", "NIFTY"):
        from livetrade.feeds.sim_derivatives import lot_size_for

        return lot_size_for(expiry)
    if expiry < CURRENT_LOTS_FROM:
        return None
    return CURRENT_INDEX_LOTS.get((exchange, name))


class ChainOI:
    """Open interest and its change on the day (units) per contract, from the last answers."""

    def __init__(self) -> None:
        self._oi: dict[str, tuple[int, int]] = {}

    def update(self, rows: Iterable[OptionRow]) -> None:
        for row in rows:
            self._oi[row.symbol] = (row.oi, row.oich)

    def __call__(self, symbol: str) -> tuple[int, int] | None:
        """``(oi, change)`` or None: the chain view's ``oi=`` callable."""
        return self._oi.get(symbol)

    def __len__(self) -> int:
        return len(self._oi)


@dataclass(frozen=True, slots=True)
class ChainRefresh:
    """What one refresh did: the expiry read, the contracts registered, those whose quote was
    pushed, those whose fresher (streamed) quote was kept, and those without a usable price."""

    underlying: str
    expiry: datetime
    registered: tuple[str, ...]
    quoted: tuple[str, ...]
    kept: tuple[str, ...]
    unpriced: tuple[str, ...]


def _pick(
    expiries: tuple[OptionExpiry, ...], expiry: date | datetime | str | None
) -> OptionExpiry | None:
    """The listed expiry ``expiry`` names (None/"nearest": the first), None if not listed."""
    if not expiries:
        return None
    if expiry is None or expiry == "nearest":
        return expiries[0]
    if expiry == "next":
        if len(expiries) < 2:
            raise InvalidInput("expiry", "only one expiry is listed: there is no next one")
        return expiries[1]
    if isinstance(expiry, datetime):
        expiry = expiry.astimezone(IST).date() if expiry.tzinfo else expiry.date()
    if isinstance(expiry, date):
        for e in expiries:
            if e.date == expiry:
                return e
        listed = ", ".join(e.date.isoformat() for e in expiries)
        raise InvalidInput("expiry", f"{expiry.isoformat()} is not listed (listed: {listed})")
    raise InvalidInput("expiry", f"must be None, 'nearest', 'next' or a date, got {expiry!r}")


def option_instrument(
    row: OptionRow, underlying: str, expiry: datetime, known: Instrument | None, today: date
) -> Instrument | None:
    """The instrument of one chain row: ``known`` if it is already an option, else built from
    the row (the module docstring says how; the freeze in force ``today``); None when the
    ticker disagrees with the row."""
    from livetrade.fno.lookup import parse_ticker
    from livetrade.fno.master import freeze_qty_for, underlying_name

    if known is not None and known.kind is InstrumentKind.OPTION:
        return known
    name = underlying_name(underlying)
    try:
        parts = parse_ticker(row.symbol, name)
    except InvalidInput:
        return None
    day = expiry.astimezone(IST).date()
    if (
        parts.strike_paise != row.strike
        or parts.option_type != row.option_type
        or (parts.year, parts.month) != (day.year, day.month)
        or (parts.day is not None and parts.day != day.day)
    ):
        return None
    lot = index_lot(parts.exchange, name, day)
    if lot is None:
        raise InvalidInput(
            "underlying",
            f"no lot size is known for {row.symbol} without a symbol master: load it with "
            "lt.load_master(session.engine.instruments, ...) and refresh again",
        )
    freeze = freeze_qty_for(parts.exchange, name, today)
    return Instrument(
        row.symbol,
        InstrumentKind.OPTION,
        lot_size=lot,
        tick_paise=OPTION_TICK,
        freeze_qty=freeze if freeze is not None and freeze >= lot else None,
        expiry=expiry,
        strike_paise=row.strike,
        option_type=parts.option_type,
        underlying=underlying,
        segment="FO",
    )


def _quote(symbol: str, bid: int, ask: int, ltp: int, volume: int, at: datetime) -> PriceQuote:
    return PriceQuote(
        symbol,
        Decimal(bid).scaleb(-2),
        Decimal(ask).scaleb(-2),
        Decimal(ltp).scaleb(-2),
        volume,
        at,
    )


def _prices(row: OptionRow) -> tuple[int, int, int] | None:
    """(bid, ask, last) paise a quote can carry, else None: a crossed or empty row is not
    pushed; without a trade the mid stands for the last price (the stream needs one)."""
    bid, ask, last = row.bid, row.ask, row.ltp
    if bid and ask and bid > ask:
        return None
    if not last:
        if not (bid and ask):
            return None
        last = (bid + ask) // 2
    return bid, ask, last


class _Pusher:
    """Pushes REST quotes where the stream has nothing fresher (see the module docstring)."""

    def __init__(self, stream: LivePriceStream, watched: set[str], sent_ns: int, at: datetime):
        self.stream, self.watched, self.sent_ns, self.at = stream, watched, sent_ns, at
        self.quoted: list[str] = []
        self.kept: list[str] = []

    def push(self, symbol: str, bid: int, ask: int, last: int, volume: int) -> None:
        top = self.stream.top(symbol)
        if top is not None and (symbol in self.watched or top[3] >= self.sent_ns):
            self.kept.append(symbol)
            return
        self.stream.update_price_nowait(symbol, _quote(symbol, bid, ask, last, volume, self.at))
        self.quoted.append(symbol)


async def refresh_chain(
    client: FyersRestClient,
    instruments: InstrumentRegistry,
    stream: LivePriceStream,
    oi: ChainOI,
    *,
    underlying: str,
    strikes: int,
    expiry: date | datetime | str | None,
    watched: Iterable[str],
    now_ns: int,
) -> ChainRefresh:
    """Read ``underlying``'s chain (``strikes`` strikes around the money, at ``expiry``) and
    fill ``instruments``, ``stream`` and ``oi`` from it (the module docstring says how).
    ``now_ns``: the session clock when the request is sent; the pushed quotes carry it."""
    from livetrade.fyers.option_chain import MAX_STRIKECOUNT

    if isinstance(strikes, bool) or not isinstance(strikes, int) or strikes < 1:
        raise InvalidInput("strikes", f"must be a whole number of strikes, got {strikes!r}")
    count = min(MAX_STRIKECOUNT, strikes // 2 + 1)  # Fyers counts strikes each side of ATM
    chain: OptionChain = await client.option_chain(underlying, count)
    chosen = _pick(chain.expiries, expiry)
    if chosen is None:
        raise InvalidInput("underlying", f"Fyers lists no option expiry for {underlying}")
    if chosen != chain.expiries[0]:
        chain = await client.option_chain(underlying, count, chosen.timestamp)
    when = datetime.fromtimestamp(chosen.timestamp, IST)
    at = ns_to_datetime(now_ns)
    # every instrument first, so a refused contract leaves nothing half done
    built: list[tuple[OptionRow, Instrument]] = []
    unpriced: list[str] = []
    for row in chain.rows:
        inst = option_instrument(row, underlying, when, instruments.known(row.symbol), at.date())
        if inst is None:
            unpriced.append(row.symbol)
        else:
            built.append((row, inst))
    registered = []
    for row, inst in built:
        if instruments.known(row.symbol) is not inst:
            instruments.register(inst)
            registered.append(inst.symbol)
    pusher = _Pusher(stream, set(watched), now_ns, at)
    if chain.spot > 0:
        pusher.push(underlying, chain.spot, chain.spot, chain.spot, 0)
    for row, _ in built:
        prices = _prices(row)
        if prices is None:
            unpriced.append(row.symbol)
        else:
            pusher.push(row.symbol, *prices, row.volume)
    oi.update(row for row, _ in built)
    quoted = [s for s in pusher.quoted if s != underlying]
    kept = [s for s in pusher.kept if s != underlying]
    return ChainRefresh(
        underlying, when, tuple(registered), tuple(quoted), tuple(kept), tuple(unpriced)
    )
