"""Test doubles, apart from the real clients: a local fake Fyers that speaks the real protocol.

``from livetrade.testing import FakeFyersServer`` (data socket, data REST, trading REST API,
order socket, in one process on loopback; with NIFTY futures and options, ``FakeContracts``)
and ``FakeFyersRest`` / ``mock_transport`` (the trading API alone, in process through
``httpx.MockTransport``). The old import paths
(``livetrade.fyers.fake``, ``livetrade.fyers.fake_rest``, ``livetrade.fyers.fake_data``) keep
working. Names load on first use, so importing one double does not pull in the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "FakeFyersServer": "livetrade.testing.fake_fyers",
    "FakeConnection": "livetrade.testing.fake_fyers",
    "GARBAGE_FRAMES": "livetrade.testing.fake_fyers",
    "FakeFyersRest": "livetrade.testing.fake_rest",
    "FakeOrder": "livetrade.testing.fake_rest",
    "ThreadedFakeServer": "livetrade.testing.fake_rest",
    "mock_transport": "livetrade.testing.fake_rest",
    "FakeMarketData": "livetrade.testing.fake_data",
    "FakeContracts": "livetrade.testing.fake_fno",
    "ContractSpec": "livetrade.testing.fake_rest_types",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'livetrade.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
