"""Market-data feeds that push quotes into a ``LivePriceStream``: simulated and replay."""

from livetrade.feeds.replay import ReplayFeed
from livetrade.feeds.simulated import DEFAULT_SYMBOLS, SimulatedMarket

__all__ = ["DEFAULT_SYMBOLS", "ReplayFeed", "SimulatedMarket"]
