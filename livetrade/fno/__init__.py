"""Futures and options: the symbol master, contract lookups and (in ``charges``) F&O charges.

Implemented so far (issue #15 items 1, 2 on paper, 3 and 6): the Fyers master parsed into the
instrument registry and cached once a day, ``instruments`` / ``find_option`` / ``find_future``
lookups, F&O charges; the MARGIN product, lots and the freeze check live in
:mod:`livetrade.request`, simulated futures and options in :mod:`livetrade.feeds.sim_derivatives`.
Not yet: SPAN-style margin, expiry settlement, slicing orders above the freeze.
"""

from livetrade.fno.lookup import TickerParts, find_future, find_option, instruments, parse_ticker
from livetrade.fno.master import (
    FREEZE_QTY,
    MasterFile,
    MasterUnavailable,
    MasterWarning,
    cached_master,
    default_registry,
    freeze_qty_for,
    load_master,
    parse_csv,
    parse_json,
    read_master,
    underlying_name,
    underlying_symbol,
)

__all__ = [
    "FREEZE_QTY",
    "MasterFile",
    "MasterUnavailable",
    "MasterWarning",
    "TickerParts",
    "cached_master",
    "default_registry",
    "find_future",
    "find_option",
    "freeze_qty_for",
    "instruments",
    "load_master",
    "parse_csv",
    "parse_json",
    "parse_ticker",
    "read_master",
    "underlying_name",
    "underlying_symbol",
]
