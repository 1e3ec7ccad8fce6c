"""Options of one underlying and expiry are margined together: a leg that hedges another
lowers the margin (livetrade.fno.margin.options_margin), in paper funds and pre-trade checks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

import livetrade as lt
from livetrade.fno.margin import MarginParams, contract_margin, options_margin
from livetrade.instruments import Instrument, InstrumentKind
from livetrade.model import IST

P = MarginParams()
EXP = datetime(2026, 12, 29, 15, 30, tzinfo=IST)
SPOT = 2_400_000  # NIFTY 24,000 in paise
SCAN_UP = 2_623_200  # 24,000 × 1.093


def opt(strike: int, kind: str = "CE") -> Instrument:
    return Instrument(
        f"NSE:NIFTY26DEC{strike // 100}{kind}", InstrumentKind.OPTION, lot_size=65,
        expiry=EXP, strike_paise=strike, option_type=kind,  # type: ignore[arg-type]
        underlying="NSE:NIFTY50-INDEX", segment="FO",
    )  # fmt: skip


def test_a_debit_spread_blocks_exposure_only_and_a_credit_spread_its_width() -> None:
    k1, k2 = opt(2_400_000), opt(2_410_000)
    exposure = 65 * SPOT * 3 // 100  # 3% of the short leg's underlying notional
    debit = [(k1, 65, 12_000), (k2, -65, 7_000)]  # long the lower strike
    assert options_margin(debit, SPOT, P) == exposure
    credit = [(k1, -65, 12_000), (k2, 65, 7_000)]  # short the lower strike
    # above both strikes the short loses S - K1 - ₹120 and the long gains S - K2: the ₹120
    # credit covers the ₹100 width, so only exposure is left
    assert options_margin(credit, SPOT, P) == exposure
    wide_credit = [(k1, -65, 3_000), (k2, 65, 1_000)]  # credit ₹30 < width ₹100
    assert options_margin(wide_credit, SPOT, P) == 65 * (10_000 - 3_000) + exposure
    alone = contract_margin(k1, -65, 3_000, SPOT, P)
    assert options_margin([(k1, -65, 3_000)], SPOT, P) == alone
    assert alone > options_margin(wide_credit, SPOT, P)


def test_short_legs_alone_and_a_short_straddle_are_not_offset() -> None:
    call, put = opt(2_400_000), opt(2_400_000, "PE")
    straddle = [(call, -65, 10_000), (put, -65, 10_000)]
    assert options_margin(straddle, SPOT, P) == sum(
        contract_margin(i, q, p, SPOT, P) for i, q, p in straddle
    )


@given(
    st.lists(
        st.tuples(
            st.integers(22_000, 26_000).map(lambda k: k * 100 - (k * 100) % 5_000),
            st.sampled_from(["CE", "PE"]),
            st.integers(-3, 3).filter(bool),
            st.integers(5, 50_000),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_hedged_margin_never_exceeds_the_legs_alone_nor_goes_negative(
    raw: list[tuple[int, str, int, int]],
) -> None:
    legs = [(opt(k, kind), lots * 65, price) for k, kind, lots, price in raw]
    together = options_margin(legs, SPOT, P)
    alone = sum(contract_margin(i, q, p, SPOT, P) for i, q, p in legs)
    assert 0 <= together <= alone


async def test_a_bull_call_spread_placed_as_a_basket_gets_the_hedge() -> None:
    s = await lt.open_session(
        derivatives=True, realtime=False, journal=False, name="hedge", seed=4,
        wallet_balance=Decimal("1000000"),
    )  # fmt: skip
    try:
        await s.run_for(ticks=5)
        low = s.find_option("NIFTY")
        high = s.find_option("NIFTY", strike=Decimal(low.strike_paise or 0) / 100 + 100)
        res = await s.place_basket(
            [
                {"symbol": high.symbol, "side": "SELL", "lots": 1, "product": "MARGIN"},
                {"symbol": low.symbol, "side": "BUY", "lots": 1, "product": "MARGIN"},
            ]
        )
        assert res.ok
        spot = s.stream.last_paise("NSE:NIFTY50-INDEX")
        assert spot is not None
        lot = high.lot_size  # 75 on these 2025 contracts
        exposure = Decimal(round(lot * spot * 0.03)) / 100
        margin = s.funds().fno_margin
        assert abs(margin - exposure) <= Decimal("0.01")  # a debit spread: exposure only
        short_alone = (
            Decimal(contract_margin(high, -lot, s.stream.last_paise(high.symbol) or 0, spot, P))
            / 100
        )
        assert margin < short_alone / 3
    finally:
        await s.close()
