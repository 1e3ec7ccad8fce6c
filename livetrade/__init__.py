"""livetrade: a Jupyter workbench for trading Indian markets through Fyers (paper by default).

    import livetrade as lt
    session = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False)

The original API (``LivePriceStream``, ``LiveTradingEngine``, ``PriceQuote``...) is here too.
pandas and the UI libraries load only when a DataFrame or widget is asked for.
"""

from livetrade import util
from livetrade.brokers import Broker, PaperBroker
from livetrade.clock import VirtualClock, WallClock
from livetrade.engine import EngineEvent, LiveTradingEngine
from livetrade.errors import (
    AuthError,
    FeedDisconnected,
    InvalidInput,
    LiveTradeError,
    OrderRejected,
    ProtocolError,
    SessionClosed,
)
from livetrade.events import Event
from livetrade.feeds import DEFAULT_SYMBOLS, ReplayFeed, SimulatedMarket

# After the engine imported the livetrade.instruments module: lt.instruments is the F&O lookup
# (a DataFrame of the registry); the module stays importable as livetrade.instruments.
from livetrade.fno import find_future, find_option, instruments, load_master
from livetrade.market_hours import MarketHours, MarketStatus, market_status
from livetrade.model import (
    ExecutedOrder,
    Fill,
    KillSwitch,
    Order,
    OrderKind,
    OrderStatus,
    OrderType,
    Position,
    PriceQuote,
    Product,
    Role,
    Side,
    StopLossConfig,
    TakeProfitConfig,
)
from livetrade.money import Charges, FlatCommission, IndianEquityCharges, NoCharges
from livetrade.prices import LivePriceStream
from livetrade.risk import RiskLimits
from livetrade.session import Session, SessionConfig, get_session, open_session

__version__ = "0.1.0"

_LAZY = {  # the Fyers names pull in websockets and httpx: load them on first use
    "FyersWebSocketManager": "livetrade.fyers.stream",
    "FeedState": "livetrade.fyers.stream",
    "FyersConfig": "livetrade.fyers.credentials",
    "FyersFeed": "livetrade.fyers.feed",
    "fyers_login": "livetrade.fyers.auth",
    "fyers_login_url": "livetrade.fyers.auth",
    "fyers_history": "livetrade.history",
    "black76": "livetrade.pricing",  # numpy/scipy: loaded when first used
    "greeks": "livetrade.pricing",
    "implied_vol": "livetrade.pricing",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'livetrade' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_SYMBOLS",
    "AuthError",
    "Broker",
    "Charges",
    "EngineEvent",
    "Event",
    "ExecutedOrder",
    "FeedDisconnected",
    "FeedState",
    "Fill",
    "FlatCommission",
    "FyersConfig",
    "FyersFeed",
    "FyersWebSocketManager",
    "IndianEquityCharges",
    "InvalidInput",
    "KillSwitch",
    "LivePriceStream",
    "LiveTradeError",
    "LiveTradingEngine",
    "MarketHours",
    "MarketStatus",
    "NoCharges",
    "Order",
    "OrderKind",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
    "PaperBroker",
    "Position",
    "PriceQuote",
    "Product",
    "ProtocolError",
    "ReplayFeed",
    "RiskLimits",
    "Role",
    "Session",
    "SessionClosed",
    "SessionConfig",
    "Side",
    "SimulatedMarket",
    "StopLossConfig",
    "TakeProfitConfig",
    "VirtualClock",
    "WallClock",
    "black76",
    "find_future",
    "find_option",
    "fyers_history",
    "fyers_login",
    "fyers_login_url",
    "get_session",
    "greeks",
    "implied_vol",
    "instruments",
    "load_master",
    "market_status",
    "open_session",
    "util",
]
