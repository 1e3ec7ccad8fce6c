"""Brokers: where an accepted order gets its fill price (paper simulation, later Fyers)."""

from livetrade.brokers.base import Broker
from livetrade.brokers.paper import PaperBroker

__all__ = ["Broker", "PaperBroker"]
