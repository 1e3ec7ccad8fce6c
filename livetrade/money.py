"""Exact money: integer paise inside, ``Decimal`` rupees at the edges, and the Indian charges model.

Why paise: every price on NSE/BSE cash equity is a multiple of 5 paise, so integer arithmetic is
exact and fast on the hot path; ``Decimal`` is only built when a user looks. Charges are computed
with ``Decimal`` rates from one date-effective table (each row cites its source) and rounded the way
brokers print contract notes: each component to the paisa, STT to the rupee per scrip and day.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Protocol

from livetrade.errors import InvalidInput

if TYPE_CHECKING:
    from livetrade.fno.charges import IndianFnoCharges
    from livetrade.instruments import InstrumentRegistry

PAISE = Decimal("0.01")
_HUNDRED = Decimal(100)


def to_paise(value: object, field: str = "price") -> int:
    """Rupees (``Decimal``, ``int``, ``str`` or ``float``) to exact integer paise.

    Raises ``InvalidInput`` naming ``field`` when the value is not a finite amount with at most
    two decimals. A float is taken as the nearest paisa when it is within float noise of one
    (``800.05`` or ``800.0999999999999``), since binary floats cannot hold most decimals.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidInput(field, f"expected an amount in rupees, got {value!r}")
    if isinstance(value, int):
        return value * 100
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(field, f"must be a finite amount, got {value!r}")
        scaled = value * 100
        nearest = round(scaled)
        if abs(scaled - nearest) > 1e-9 * max(1.0, abs(scaled)):  # float noise, not a decimal
            raise InvalidInput(field, f"has more than two decimals (paise): {value!r}")
        return int(nearest)
    try:
        d = Decimal(value) if isinstance(value, str) else value
        if not isinstance(d, Decimal):
            raise InvalidInput(field, f"expected an amount in rupees, got {type(value).__name__}")
        if not d.is_finite():
            raise InvalidInput(field, f"must be a finite amount, got {value!r}")
        p = d * _HUNDRED
        ip = int(p)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(field, f"is not a number: {value!r}") from exc
    if p != ip:
        raise InvalidInput(field, f"has more than two decimals (paise): {value!r}")
    return ip


def from_paise(paise: int) -> Decimal:
    """Integer paise to ``Decimal`` rupees with two decimals (``80005`` → ``Decimal('800.05')``)."""
    return Decimal(paise).scaleb(-2)


def round_half_up(value: Decimal) -> int:
    """Round a paise amount to a whole paisa, half up (contract-note convention)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_to_rupee(paise: Decimal) -> int:
    """Round a paise amount to a whole rupee, 50 paise up (STT Rules 2004, rule 4); in paise."""
    return int((paise / _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100


@dataclass(frozen=True, slots=True)
class Charges:
    """Charges billed on one fill, each in integer paise (all non-negative)."""

    brokerage: int = 0
    stt: int = 0
    exchange: int = 0
    ipft: int = 0
    sebi: int = 0
    stamp: int = 0
    gst: int = 0
    dp: int = 0

    @property
    def total(self) -> int:
        return (
            self.brokerage
            + self.stt
            + self.exchange
            + self.ipft
            + self.sebi
            + self.stamp
            + self.gst
            + self.dp
        )

    @property
    def total_rupees(self) -> Decimal:
        return from_paise(self.total)

    def as_rupees(self) -> dict[str, Decimal]:
        out = {f.name: from_paise(getattr(self, f.name)) for f in fields(self)}
        out["total"] = self.total_rupees
        return out

    def __add__(self, other: Charges) -> Charges:
        return Charges(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


ZERO_CHARGES = Charges()


@dataclass(frozen=True, slots=True)
class RateRow:
    """One rate, effective from ``effective`` until a later row for the same key replaces it."""

    component: str
    scope: str
    rate: Decimal
    effective: date
    source: str


_EARLIEST = date(2000, 1, 1)
_FYERS = "Fyers: brokerage, statutory and other applicable charges (support.fyers.in)"
_FA73061 = "NSE circular FA73061, 27 Feb 2026: transaction charge / IPFT split from 1 Mar 2026"
_FATAX73524 = "NSE circular FATAX73524, 31 Mar 2026 (Finance Act 2026): F&O STT from 1 Apr 2026"
_STT_2024 = "F&O STT from 1 Oct 2024 (Finance (No. 2) Act 2024), the old rate in FATAX73524"
_W3 = "NSE transaction charges from 1 Oct 2024 (businessupturn.com, 27 Sep 2024; fno.md W3)"
_W4 = "NSE/BSE transaction fees from 1 Oct 2024 (hindustantimes.com, 27 Sep 2024; fno.md W4)"
_IPFT = "NSE press release 24 Mar 2023: IPFT; fno.md section 3"
_STAMP = "NSE stamp-duty page (nseindia.com/invest/first-time-investor-stamp-duty-charges-taxes)"

# The one table of rates. Rates are fractions of turnover unless the component says otherwise.
RATES: tuple[RateRow, ...] = (
    RateRow(
        "brokerage", "intraday", Decimal("0.0003"), _EARLIEST,
        "Fyers support: brokerage for equity intraday (lower of Rs 20 and 0.03%)",
    ),
    RateRow("brokerage_cap", "intraday", Decimal(2000), _EARLIEST, _FYERS + " (Rs 20 cap, paise)"),
    RateRow("brokerage", "delivery", Decimal(0), _EARLIEST, _FYERS + " (free before 1 Oct 2024)"),
    RateRow(
        "brokerage", "delivery", Decimal("0.003"), date(2024, 10, 1),
        _FYERS + " (revised from 1 October 2024: lower of Rs 20 and 0.3%)",
    ),
    RateRow("brokerage_cap", "delivery", Decimal(2000), _EARLIEST, _FYERS + " (Rs 20 cap, paise)"),
    RateRow("stt", "delivery_buy", Decimal("0.001"), _EARLIEST, "STT Rules 2004; Fyers statutory"),
    RateRow("stt", "delivery_sell", Decimal("0.001"), _EARLIEST, "STT Rules 2004; Fyers statutory"),
    RateRow("stt", "intraday_buy", Decimal(0), _EARLIEST, "STT Rules 2004 (intraday: sell only)"),
    RateRow(
        "stt", "intraday_sell", Decimal("0.00025"), _EARLIEST, "STT Rules 2004; Fyers statutory"
    ),
    RateRow(
        "exchange", "NSE", Decimal("0.0000325"), _EARLIEST,
        "NSE transaction charge before the circular of 27 Sep 2024",
    ),
    RateRow(
        "exchange", "NSE", Decimal("0.0000297"), date(2024, 10, 1),
        "NSE circular of 27 Sep 2024 (0.00297% from 1 Oct 2024)",
    ),
    RateRow(
        "exchange", "BSE", Decimal("0.0000375"), date(2022, 12, 1),
        "BSE schedule as published by brokers (groups A/B)",
    ),
    RateRow(
        "ipft", "NSE", Decimal("0.000001"), date(2023, 4, 1),
        "NSE press release 24 Mar 2023; Fyers IPFT article (Rs 10 per crore)",
    ),
    RateRow("sebi", "all", Decimal("0.000001"), _EARLIEST, "Fyers SEBI fee article (Rs 10/crore)"),
    RateRow("stamp", "delivery", Decimal("0.00015"), date(2020, 7, 1), "NSE stamp-duty page"),
    RateRow("stamp", "intraday", Decimal("0.00003"), date(2020, 7, 1), "NSE stamp-duty page"),
    RateRow("gst", "all", Decimal("0.18"), _EARLIEST, "Fyers statutory charges (not on SEBI fee)"),
    RateRow(
        "dp_per_scrip_day", "delivery_sell", Decimal(1250), date(2025, 6, 1),
        'Fyers "How are DP charges levied" (Rs 12.5 + GST per ISIN per day, paise)',
    ),
    # NSE cash from 1 Mar 2026: the charge + IPFT total stays Rs 307/crore, split 306.99 + 0.01
    RateRow("exchange", "NSE", Decimal("0.000030699"), date(2026, 3, 1), _FA73061 + " (cash)"),
    RateRow("ipft", "NSE", Decimal("0.000000001"), date(2026, 3, 1), _FA73061 + " (cash)"),
    # ---- futures and options (shared/fno.md section 3; livetrade.fno.charges applies them).
    # Rows start where fno.md's sources start (1 Oct 2024, IPFT 1 Apr 2023): earlier F&O
    # rates are not sourced here and read as 0.
    RateRow("brokerage", "fno_fut", Decimal("0.0003"), _EARLIEST, _FYERS + " (F&O futures)"),
    RateRow("brokerage_cap", "fno_fut", Decimal(2000), _EARLIEST, _FYERS + " (Rs 20, paise)"),
    RateRow(
        "brokerage_flat", "fno_opt", Decimal(2000), _EARLIEST,
        _FYERS + "; fyers.in/charges-list (options Rs 20 flat per order, paise)",
    ),
    RateRow("stt", "fno_fut_sell", Decimal("0.0002"), date(2024, 10, 1), _STT_2024),
    RateRow("stt", "fno_fut_sell", Decimal("0.0005"), date(2026, 4, 1), _FATAX73524),
    RateRow("stt", "fno_opt_sell", Decimal("0.001"), date(2024, 10, 1), _STT_2024 + " (premium)"),
    RateRow("stt", "fno_opt_sell", Decimal("0.0015"), date(2026, 4, 1), _FATAX73524 + " (premium)"),
    RateRow(
        "stt", "fno_opt_exercise", Decimal("0.00125"), date(2024, 10, 1),
        _STT_2024 + " (exercised: intrinsic value, holder pays)",
    ),
    RateRow(
        "stt", "fno_opt_exercise", Decimal("0.0015"), date(2026, 4, 1),
        _FATAX73524 + " (exercised: intrinsic value, holder pays)",
    ),
    RateRow("exchange", "NSE_FUT", Decimal("0.0000173"), date(2024, 10, 1), _W3 + " (futures)"),
    RateRow("exchange", "NSE_FUT", Decimal("0.000018299"), date(2026, 3, 1), _FA73061 + " (fut)"),
    RateRow("exchange", "NSE_OPT", Decimal("0.0003503"), date(2024, 10, 1), _W3 + " (premium)"),
    RateRow("exchange", "NSE_OPT", Decimal("0.0003552"), date(2026, 3, 1), _FA73061 + " (opt)"),
    RateRow("ipft", "NSE_FUT", Decimal("0.000001"), date(2023, 4, 1), _IPFT + " (Rs 10/crore)"),
    RateRow("ipft", "NSE_FUT", Decimal("0.000000001"), date(2026, 3, 1), _FA73061 + " (Rs 0.01)"),
    RateRow("ipft", "NSE_OPT", Decimal("0.000005"), date(2023, 4, 1), _IPFT + " (Rs 50/crore)"),
    RateRow("ipft", "NSE_OPT", Decimal("0.0000001"), date(2026, 3, 1), _FA73061 + " (Rs 1/crore)"),
    RateRow("exchange", "BSE_FUT", Decimal(0), date(2024, 10, 1), _W4 + " (futures nil)"),
    RateRow(
        "exchange", "BSE_OPT_INDEX", Decimal("0.000325"), date(2024, 10, 1),
        _W4 + " (SENSEX/BANKEX options Rs 3,250/crore premium)",
    ),
    RateRow(
        "exchange", "BSE_OPT_OTHER", Decimal("0.00005"), date(2024, 10, 1),
        _W4 + " (SENSEX 50 and stock options Rs 500/crore premium)",
    ),
    RateRow("stamp", "fno_fut", Decimal("0.00002"), date(2020, 7, 1), _STAMP + " (futures)"),
    RateRow("stamp", "fno_opt", Decimal("0.00003"), date(2020, 7, 1), _STAMP + " (options)"),
)  # fmt: skip


def rate(component: str, scope: str, on: date, table: Iterable[RateRow] = RATES) -> Decimal:
    """The rate in force on ``on`` (latest row effective on or before it), or 0 if none yet."""
    best: RateRow | None = None
    for row in table:
        if (
            row.component == component
            and row.scope == scope
            and row.effective <= on
            and (best is None or row.effective > best.effective)
        ):
            best = row
    return Decimal(0) if best is None else best.rate


def exchange_of(symbol: str) -> str:
    """``NSE:SBIN-EQ`` → ``NSE``."""
    return symbol.split(":", 1)[0].upper()


class ChargesModel(Protocol):
    """Bills a fill. ``charge`` may keep state (STT is rounded per scrip per day); ``estimate``
    never does, so a what-if never changes what the real fill will pay."""

    def charge(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges: ...

    def estimate(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges: ...

    def record(
        self,
        symbol: str,
        is_buy: bool,
        delivery: bool,
        quantity: int,
        price: int,
        day: date,
        charges: Charges,
    ) -> None:
        """Account for a fill billed earlier (journal recovery) without billing it again."""

    def take_refund(self) -> Charges:
        """What the last ``charge`` gave back on earlier fills (re-billed), once; usually 0."""


class IndianEquityCharges:
    """NSE/BSE cash-equity charges as Fyers bills them (see ``RATES`` for each source).

    STT is computed per scrip, side and day on the day's cumulative turnover and rounded to the
    rupee; each fill pays the increase, so the day's STT total is exactly the rounded day figure.

    A CNC buy sold the same day is intraday (spec: same-day matched quantity is intraday, the
    rest delivery). The sell is billed at intraday rates for the quantity it matches against
    today's CNC buys (FIFO), delivery for the rest; the matched buys, billed at delivery rates
    when they filled, are re-billed as intraday through a refund the sell leaves behind
    (:meth:`take_refund`): their delivery STT comes off the day's rounded figure, their stamp
    duty drops from 0.015% to 0.003% and their brokerage (with its GST) to the intraday rate.

    Futures and options are billed by :class:`livetrade.fno.charges.IndianFnoCharges` from the
    same table: a symbol is a derivative when ``instruments`` (e.g. ``engine.instruments``)
    registers it as one, else when it has the Fyers F&O ticker form (``NSE:NIFTY26SEPFUT``).
    """

    def __init__(
        self, table: Iterable[RateRow] = RATES, instruments: InstrumentRegistry | None = None
    ) -> None:
        self._table = tuple(table)
        self.instruments = instruments
        self._fno_model: IndianFnoCharges | None = None
        self._is_fno: dict[str, bool] = {}
        self._stt_turnover: dict[tuple[str, date, bool, bool], int] = {}
        self._stt_charged: dict[tuple[str, date, bool, bool], int] = {}
        self._dp_days: set[tuple[str, date]] = set()
        self._rates: dict[tuple[str, str, date], Decimal] = {}
        # today's CNC buys not yet sold: [open qty, price, fill qty, brokerage billed]
        self._cnc_buys: dict[tuple[str, date], deque[list[int]]] = {}
        self._refund = ZERO_CHARGES

    def _rate(self, component: str, scope: str, day: date) -> Decimal:
        key = (component, scope, day)
        r = self._rates.get(key)
        if r is None:
            r = self._rates[key] = rate(component, scope, day, self._table)
        return r

    def _stt_due(self, key: tuple[str, date, bool, bool], add: int, rate_: Decimal) -> int:
        """What a fill adding ``add`` paise to ``key``'s day turnover owes in STT."""
        cum = self._stt_turnover.get(key, 0) + add
        return round_to_rupee(Decimal(cum) * rate_) - self._stt_charged.get(key, 0)

    def _book_stt(self, key: tuple[str, date, bool, bool], add: int, stt: int) -> None:
        """Remember a fill's turnover and the STT it paid (the day figure's running state)."""
        self._stt_turnover[key] = self._stt_turnover.get(key, 0) + add
        self._stt_charged[key] = self._stt_charged.get(key, 0) + stt

    def _brokerage(self, value: Decimal | int, kind: str, day: date) -> int:
        """Brokerage on one fill of ``value`` paise, ``kind`` intraday or delivery."""
        return min(
            round_half_up(value * self._rate("brokerage", kind, day)),
            int(self._rate("brokerage_cap", kind, day)),
        )

    def _turnover_fees(self, turnover: Decimal, symbol: str, day: date) -> tuple[int, int, int]:
        """Exchange transaction charge, IPFT and SEBI fee: the same for every product."""
        exch = exchange_of(symbol)
        return (
            round_half_up(turnover * self._rate("exchange", exch, day)),
            round_half_up(turnover * self._rate("ipft", exch, day)),
            round_half_up(turnover * self._rate("sebi", "all", day)),
        )

    def _matched(self, symbol: str, day: date, quantity: int) -> int:
        """How much of a CNC sell of ``quantity`` today's CNC buys cover."""
        lots = self._cnc_buys.get((symbol, day))
        return min(quantity, sum(lot[0] for lot in lots)) if lots else 0

    def _compute(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        if delivery and not is_buy:
            return self._cnc_sell(symbol, quantity, price, day, apply=False)
        turnover = Decimal(quantity * price)  # paise
        kind = "delivery" if delivery else "intraday"
        brokerage = self._brokerage(turnover, kind, day)
        exchange, ipft, sebi = self._turnover_fees(turnover, symbol, day)
        stamp = round_half_up(turnover * self._rate("stamp", kind, day)) if is_buy else 0
        key = (symbol, day, is_buy, delivery)
        stt_rate = self._rate("stt", f"{kind}_{'buy' if is_buy else 'sell'}", day)
        stt = self._stt_due(key, quantity * price, stt_rate)
        gst = round_half_up(Decimal(brokerage + exchange + ipft) * self._rate("gst", "all", day))
        return Charges(brokerage, stt, exchange, ipft, sebi, stamp, gst, 0)

    def _cnc_sell(
        self, symbol: str, quantity: int, price: int, day: date, *, apply: bool
    ) -> Charges:
        """Bill a CNC sell (intraday for what today's CNC buys cover); with ``apply``, also
        move the matched buys to intraday and leave their refund in ``self._refund``."""
        matched = self._matched(symbol, day, quantity)
        rest = quantity - matched
        m_val, r_val = matched * price, rest * price
        brokerage = min(
            round_half_up(
                m_val * self._rate("brokerage", "intraday", day)
                + r_val * self._rate("brokerage", "delivery", day)
            ),
            int(self._rate("brokerage_cap", "delivery" if rest else "intraday", day)),
        )
        exchange, ipft, sebi = self._turnover_fees(Decimal(quantity * price), symbol, day)
        key_i, key_d = (symbol, day, False, False), (symbol, day, False, True)
        stt_i = self._stt_due(key_i, m_val, self._rate("stt", "intraday_sell", day)) if m_val else 0
        stt_d = self._stt_due(key_d, r_val, self._rate("stt", "delivery_sell", day)) if r_val else 0
        dp_due = rest > 0 and (symbol, day) not in self._dp_days
        dp = int(self._rate("dp_per_scrip_day", "delivery_sell", day)) if dp_due else 0
        gst_rate = self._rate("gst", "all", day)
        gst = round_half_up(Decimal(brokerage + exchange + ipft + dp) * gst_rate)
        charges = Charges(brokerage, stt_i + stt_d, exchange, ipft, sebi, 0, gst, dp)
        if apply:
            self._refund = self._rebill_buys(symbol, day, matched) if matched else ZERO_CHARGES
            for key, val, stt in ((key_i, m_val, stt_i), (key_d, r_val, stt_d)):
                if val:
                    self._book_stt(key, val, stt)
            if dp:
                self._dp_days.add((symbol, day))
        return charges

    def _rebill_buys(self, symbol: str, day: date, matched: int) -> Charges:
        """Take ``matched`` off today's CNC buys (FIFO) and return what re-billing them as
        intraday gives back. Never negative: a refund only lowers what was billed."""
        lots = self._cnc_buys[(symbol, day)]
        value = brokerage = stamp = 0
        left = matched
        for lot in lots:
            if not left:
                break
            take = min(lot[0], left)
            if not take:
                continue
            v = take * lot[1]
            billed = round_half_up(Decimal(lot[3] * take) / lot[2])
            intraday = self._brokerage(v, "intraday", day)
            brokerage += max(0, billed - intraday)
            stamp += round_half_up(v * self._rate("stamp", "delivery", day)) - round_half_up(
                v * self._rate("stamp", "intraday", day)
            )
            value += v
            lot[0] -= take
            left -= take
        while lots and not lots[0][0]:
            lots.popleft()
        key_d, key_i = (symbol, day, True, True), (symbol, day, True, False)
        moved_to = self._stt_turnover.get(key_d, 0) - value
        new_stt = round_to_rupee(Decimal(moved_to) * self._rate("stt", "delivery_buy", day))
        stt = self._stt_charged.get(key_d, 0) - new_stt
        self._book_stt(key_d, -value, -stt)  # the matched buys leave the delivery figure
        self._book_stt(key_i, value, 0)  # intraday buys pay no STT
        gst = round_half_up(Decimal(brokerage) * self._rate("gst", "all", day))
        return Charges(brokerage=brokerage, stt=max(stt, 0), stamp=stamp, gst=gst)

    def rebill_conversion(
        self, symbol: str, lots: Sequence[tuple[int, int, date]], to_delivery: bool
    ) -> tuple[Charges, Charges]:
        """Re-bill long lots ``(quantity, price paise, day bought)`` moved between INTRADAY and
        CNC (``engine.convert``); returns ``(billed, refunded)``. F&O: one rate card whatever
        the product, nothing changes. Only the buy side's product-dependent parts move; the
        exchange charge, IPFT and SEBI fee depend on turnover alone and stay.

        * INTRADAY → CNC: each lot becomes a delivery buy of its day: delivery STT 0.1% (the
          lot's value moves from the day's intraday-buy turnover, which pays none, to the
          delivery-buy turnover; what the rounded day figure grows by is billed), stamp duty
          0.015% instead of 0.003%, and brokerage (with its 18% GST) the delivery rate minus
          the intraday rate, each on the lot's value as one order. The lot joins the day's CNC
          buys, so a same-day CNC sell re-bills it as intraday again (the usual refund).
        * CNC → INTRADAY (today's buys): exactly what a same-day CNC sell of that quantity
          gives back (:meth:`_rebill_buys`: delivery STT off the day figure, stamp and
          brokerage down to intraday), for as much as today's CNC buys still billed as
          delivery cover; buys a same-day sell already re-billed owe nothing more.
        """
        if self._derivative(symbol) is not None:
            return ZERO_CHARGES, ZERO_CHARGES
        if not to_delivery:
            refunded = ZERO_CHARGES
            for day in sorted({d for _, _, d in lots}):
                qty = sum(q for q, _, d in lots if d == day)
                matched = self._matched(symbol, day, qty)
                if matched:
                    refunded = refunded + self._rebill_buys(symbol, day, matched)
            return ZERO_CHARGES, refunded
        billed = ZERO_CHARGES
        for qty, price, day in lots:
            value = qty * price
            intraday = self._brokerage(value, "intraday", day)
            delivery = self._brokerage(value, "delivery", day)
            brokerage = max(0, delivery - intraday)
            stamp = round_half_up(value * self._rate("stamp", "delivery", day)) - round_half_up(
                value * self._rate("stamp", "intraday", day)
            )
            key_d, key_i = (symbol, day, True, True), (symbol, day, True, False)
            stt = max(0, self._stt_due(key_d, value, self._rate("stt", "delivery_buy", day)))
            self._book_stt(key_d, value, stt)
            self._book_stt(key_i, -value, 0)
            self._cnc_buys.setdefault((symbol, day), deque()).append([qty, price, qty, delivery])
            gst = round_half_up(Decimal(brokerage) * self._rate("gst", "all", day))
            billed = billed + Charges(brokerage=brokerage, stt=stt, stamp=max(stamp, 0), gst=gst)
        return billed, ZERO_CHARGES

    @property
    def fno(self) -> IndianFnoCharges:
        """The F&O model derivative fills are routed to (exercise STT lives there)."""
        if self._fno_model is None:
            from livetrade.fno.charges import IndianFnoCharges

            self._fno_model = IndianFnoCharges(self._table, self.instruments)
        return self._fno_model

    def _derivative(self, symbol: str) -> IndianFnoCharges | None:
        """The F&O model if ``symbol`` is a future or an option, else None (cash equity)."""
        hit = self._is_fno.get(symbol)
        if hit is None:
            from livetrade.fno.charges import derivative_terms

            hit = self._is_fno[symbol] = derivative_terms(symbol, self.instruments) is not None
        return self.fno if hit else None

    def estimate(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        if (fno := self._derivative(symbol)) is not None:
            return fno.estimate(symbol, is_buy, delivery, quantity, price, day)
        return self._compute(symbol, is_buy, delivery, quantity, price, day)

    def charge(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        if (fno := self._derivative(symbol)) is not None:
            return fno.charge(symbol, is_buy, delivery, quantity, price, day)
        if delivery and not is_buy:
            return self._cnc_sell(symbol, quantity, price, day, apply=True)
        charges = self._compute(symbol, is_buy, delivery, quantity, price, day)
        self.record(symbol, is_buy, delivery, quantity, price, day, charges)
        return charges

    def take_refund(self) -> Charges:
        """The refund the last ``charge`` left (a CNC sell re-billing today's CNC buys as
        intraday), once; zero otherwise."""
        refund, self._refund = self._refund, ZERO_CHARGES
        return refund

    def record(
        self,
        symbol: str,
        is_buy: bool,
        delivery: bool,
        quantity: int,
        price: int,
        day: date,
        charges: Charges,
    ) -> None:
        if (fno := self._derivative(symbol)) is not None:
            fno.record(symbol, is_buy, delivery, quantity, price, day, charges)
            return
        if delivery and not is_buy:  # replays the same matching; the refund was journaled
            self._cnc_sell(symbol, quantity, price, day, apply=True)
            self._refund = ZERO_CHARGES
            return
        key = (symbol, day, is_buy, delivery)
        self._book_stt(key, quantity * price, charges.stt)
        if delivery and is_buy:
            lots = self._cnc_buys.setdefault((symbol, day), deque())
            lots.append([quantity, price, quantity, charges.brokerage])


class _Stateless:
    """A charges model whose bill depends on the fill alone (nothing to remember)."""

    def estimate(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        raise NotImplementedError

    def charge(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        return self.estimate(symbol, is_buy, delivery, quantity, price, day)

    def record(
        self,
        symbol: str,
        is_buy: bool,
        delivery: bool,
        quantity: int,
        price: int,
        day: date,
        charges: Charges,
    ) -> None:
        """Stateless: nothing to account for."""

    def take_refund(self) -> Charges:
        """Stateless: nothing is ever re-billed."""
        return ZERO_CHARGES


class FlatCommission(_Stateless):
    """The original design's charges model: a flat fraction of turnover (0.05%), no taxes."""

    def __init__(self, rate: Decimal = Decimal("0.0005")) -> None:
        self.rate = rate

    def estimate(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        return Charges(brokerage=round_half_up(Decimal(quantity * price) * self.rate))


class NoCharges(_Stateless):
    """Zero charges: for exercises where only gross P&L matters."""

    def estimate(
        self, symbol: str, is_buy: bool, delivery: bool, quantity: int, price: int, day: date
    ) -> Charges:
        return ZERO_CHARGES
