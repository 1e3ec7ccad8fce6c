"""The workbench UI: ipywidgets panels and Plotly charts over a running session.

    import livetrade.ui
    livetrade.ui.dashboard(session)          # last expression of a cell: shows the panels

Each panel module holds a plain view-model (what the panel shows, computed from the session;
no ipywidgets import) and a thin widget adapter; ``dashboard.py`` lays them out and runs the
one redraw task. ipywidgets and plotly are imported only when a dashboard is built.
"""

from livetrade.ui.blotter import BlotterView, blotter_view, cancel_order, modify_order
from livetrade.ui.candles import PriceChartView, price_chart_view
from livetrade.ui.charts import PnlChartView, pnl_chart_view
from livetrade.ui.common import ActionResult, inr
from livetrade.ui.dashboard import Dashboard, dashboard
from livetrade.ui.positions import PositionsView, change_exits, close_position, positions_view
from livetrade.ui.quotes import QuoteBoardModel, QuoteBoardView
from livetrade.ui.status import FeedActivity, StatusView, status_view
from livetrade.ui.throttle import Throttle
from livetrade.ui.ticket import TicketInput, WhatIf, submit, what_if

__all__ = [
    "ActionResult",
    "BlotterView",
    "Dashboard",
    "FeedActivity",
    "PnlChartView",
    "PositionsView",
    "PriceChartView",
    "QuoteBoardModel",
    "QuoteBoardView",
    "StatusView",
    "Throttle",
    "TicketInput",
    "WhatIf",
    "blotter_view",
    "cancel_order",
    "change_exits",
    "close_position",
    "dashboard",
    "inr",
    "modify_order",
    "pnl_chart_view",
    "positions_view",
    "price_chart_view",
    "status_view",
    "submit",
    "what_if",
]
