"""Session: wires feed → stream → engine → broker inside the running event loop.

In a notebook (the kernel's own loop, top-level ``await``, no nest_asyncio)::

    session = await lt.open_session(feed="sim", broker="paper", seed=1, realtime=False)
    await session.run_for(ticks=1_000)
    order = await session.buy("NSE:SBIN-EQ", 5, stop_loss=790, take_profit=820)
    session.positions_df()
    await session.close()

The one rule: handlers run in the event loop; they must not block (no ``time.sleep``, no
synchronous HTTP). Async handlers are scheduled as tasks.

The package, one job a module: ``config`` (:class:`SessionConfig`, what ``open_session``
accepts), ``feeds`` (the feed protocol and its adapters), ``state`` → ``core`` → ``orders`` →
``live`` → ``views`` (the layers of :class:`Session`, see ``livetrade.session.state``) and
``opening`` (``open_session``, ``get_session``, the ``Session`` class).
"""

from __future__ import annotations

# Every name the single module had stays importable from here, its private helpers included.
from livetrade.events import Event as Event  # re-exported: `from livetrade.session import Event`
from livetrade.session.config import DEFAULT_START, SessionConfig
from livetrade.session.config import charges_model as _charges_model  # noqa: F401
from livetrade.session.config import parse_hhmm as _parse_hhmm  # noqa: F401
from livetrade.session.feeds import (
    FyersSource,
    HubSource,
    MarketFeed,
    ReplaySource,
    SimSource,
    build_feed,
)
from livetrade.session.opening import Session, get_session, open_session
from livetrade.session.opening import _live_client as _live_client
from livetrade.session.opening import _order_socket as _order_socket
from livetrade.session.orders import cell_origin
from livetrade.session.state import _SESSIONS as _SESSIONS
from livetrade.session.state import log as log

__all__ = [
    "DEFAULT_START",
    "Event",
    "FyersSource",
    "HubSource",
    "MarketFeed",
    "ReplaySource",
    "Session",
    "SessionConfig",
    "SimSource",
    "build_feed",
    "cell_origin",
    "get_session",
    "open_session",
]
