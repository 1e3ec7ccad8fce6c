"""The contract from the core issue, verbatim: the original's API shapes must keep working."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import livetrade as lt
from livetrade import LivePriceStream, LiveTradingEngine, OrderStatus, OrderType, PriceQuote

SYM = "NSE:SBIN-EQ"


async def test_original_api_contract() -> None:
    stream = LivePriceStream()
    engine = LiveTradingEngine(wallet_balance=Decimal("1000000"), price_stream=stream)
    await stream.update_price(
        SYM,
        PriceQuote(
            symbol=SYM,
            bid_price=Decimal("799.95"),
            ask_price=Decimal("800.05"),
            last_price=Decimal("800.00"),
            volume=1000,
            timestamp=datetime.now(),
        ),
    )
    success, message, order = await engine.market_buy(
        SYM, 10, stop_loss_price=Decimal("790"), take_profit_price=Decimal("820")
    )
    assert success and order is not None
    assert order.status is OrderStatus.FILLED and order.order_type is OrderType.MARKET_BUY
    assert order.executed_price == Decimal("800.05") and order.quantity == 10
    await stream.update_price(
        SYM,
        PriceQuote(
            symbol=SYM,
            bid_price=Decimal("788.95"),
            ask_price=Decimal("789.05"),
            last_price=Decimal("789.00"),
            volume=1200,
            timestamp=datetime.now(),
        ),
    )
    assert not engine.get_active_positions()
    risk = engine.get_risk_orders()
    assert not any(risk["stop_losses"].values()) and not any(risk["take_profits"].values())
    assert [o.order_type for o in engine.get_order_history(SYM)] == [
        OrderType.MARKET_BUY,
        OrderType.MARKET_SELL,
    ]
    pnl = await engine.get_portfolio_pnl()
    for key in (
        "wallet_balance",
        "total_realized_pnl",
        "total_unrealized_pnl",
        "total_pnl",
        "total_pnl_percent",
        "portfolio_value",
        "active_positions_count",
        "order_count",
        "positions",
    ):
        assert key in pnl
    assert pnl["gross_realized_pnl"] == Decimal("-111.00")
    assert pnl["total_charges"] > 0
    assert pnl["total_realized_pnl"] == pnl["gross_realized_pnl"] - pnl["total_charges"]
    assert pnl["total_pnl"] == pnl["total_realized_pnl"] + pnl["total_unrealized_pnl"]
    assert pnl["portfolio_value"] == Decimal("1000000") + pnl["total_pnl"]
    assert pnl["portfolio_value"] == pnl["cash"] + pnl["market_value"]
    ok, message, order = await engine.market_buy(SYM, -5)
    assert not ok and order is None and "quantity" in message.lower()

    session = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False)
    await session.run_for(ticks=1_000)
    order2 = await session.buy(SYM, 5, stop_loss=..., take_profit=...)
    assert order2.status is OrderStatus.FILLED
    for frame in (
        session.orders_df(),
        session.fills_df(),
        session.positions_df(),
        session.pnl_df(),
        session.quotes_df(),
    ):
        assert len(frame) > 0
    await session.close()


async def test_positional_constructor_and_float_prices() -> None:
    stream = LivePriceStream()
    engine = LiveTradingEngine(Decimal("50000"), stream)
    await stream.update_price(
        SYM, PriceQuote(SYM, Decimal("99.95"), Decimal("100.05"), Decimal("100"), 5, datetime.now())
    )
    ok, _, order = await engine.market_buy(SYM, 3, stop_loss_price=95.5, take_profit_price=110.0)
    assert ok and order is not None
    risk = engine.get_risk_orders()
    assert risk["stop_losses"][SYM][0].trigger_price == Decimal("95.50")
    assert risk["take_profits"][SYM][0].trigger_price == Decimal("110.00")
    assert risk["stop_losses"][SYM][0].quantity == 3
    positions = engine.get_active_positions()
    assert positions[SYM].quantity == 3 and positions[SYM].avg_buy_price == Decimal("100.05")
    # check_risk_orders by hand: take-profit fires at the cached bid once price crosses
    await stream.update_price(
        SYM,
        PriceQuote(SYM, Decimal("110.00"), Decimal("110.10"), Decimal("110.05"), 9, datetime.now()),
    )
    assert not engine.get_active_positions()
    history = engine.get_order_history()
    assert history[-1].executed_price == Decimal("110.00")
    assert history[-1].order_type is OrderType.MARKET_SELL
