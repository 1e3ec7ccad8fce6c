"""Futures and options: the symbol master, contract lookups and (in ``charges``) F&O charges.

Implemented so far (issue #15 items 1-6 on the engine): the Fyers master parsed into the
instrument registry and cached once a day, ``instruments`` / ``find_option`` / ``find_future``
lookups, F&O charges, an approximate SPAN + exposure margin (``margin``; ``engine.funds()``),
orders sliced at the freeze quantity (``slicing``; the engine's ``slice=True``); the MARGIN
product, lots and the freeze check live in :mod:`livetrade.request`, expiry settlement in
:mod:`livetrade.engine.fno`, simulated futures and options in
:mod:`livetrade.feeds.sim_derivatives`.
"""

from livetrade.fno.lookup import TickerParts, find_future, find_option, instruments, parse_ticker
from livetrade.fno.margin import MarginParams, contract_margin
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
from livetrade.fno.slicing import MAX_SLICES, slice_quantity

__all__ = [
    "FREEZE_QTY",
    "MAX_SLICES",
    "MarginParams",
    "MasterFile",
    "MasterUnavailable",
    "MasterWarning",
    "TickerParts",
    "cached_master",
    "contract_margin",
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
    "slice_quantity",
    "underlying_name",
    "underlying_symbol",
]
