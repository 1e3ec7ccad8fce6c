"""Brokers: where an accepted order gets its fill price (paper simulation), and the router
seam a live engine sends its orders through (Fyers: ``livetrade.live.LiveRouter``)."""

from livetrade.brokers.base import Broker, OrderRouter
from livetrade.brokers.paper import PaperBroker

__all__ = ["Broker", "OrderRouter", "PaperBroker"]
