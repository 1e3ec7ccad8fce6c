"""Writes notebooks/01-quickstart.ipynb; execute it with nbconvert --execute --inplace
--ExecutePreprocessor.store_widget_state=False to refresh the committed outputs."""

import nbformat as nbf
nb = nbf.v4.new_notebook()
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
nb.cells = [
    md("# livetrade quickstart\n\nA paper-trading session on the simulated market: no broker account needed.\n\n"
       "This notebook runs on a **virtual clock** (`realtime=False`) with a fixed `seed`, so every output below is "
       "reproducible exactly (CI re-runs it with nbval). Drop `realtime=False` to let the market tick in real time "
       "while you work in other cells.\n\n"
       "Sessions keep a journal by default (every order and fill, written before it is acknowledged) so that reopening "
       "a session after a kernel restart brings everything back; this tutorial is a throwaway, hence `journal=False`."),
    code("import livetrade as lt\n\nsession = await lt.open_session(feed=\"sim\", broker=\"paper\", seed=42, realtime=False, journal=False)\nsession"),
    md("The dashboard: quotes, an order ticket, positions, the blotter and charts. It redraws at most ten times a "
       "second from the session's state; the Buy/Sell buttons call the same engine as the cells below."),
    code("session.dashboard()"),
    md("Let ten minutes of market time pass (one step per second for each of the six simulated symbols) and look at a quote."),
    code("await session.run_for(ticks=600)\nsession.stream.quote(\"NSE:SBIN-EQ\")"),
    md("## Trade\n\nBuy 20 SBIN at market (paper fills buy at the ask) with a stop-loss and a take-profit. The two exits form a "
       "one-cancels-other bracket that protects the position."),
    code("q = session.stream.quote(\"NSE:SBIN-EQ\")\norder = await session.buy(\"NSE:SBIN-EQ\", 20, stop_loss=q.last_price - 2, take_profit=q.last_price + 2)\norder.status, order.executed_price, order.charges_paise / 100"),
    code("session.engine.get_risk_orders()"),
    md("A short on an intraday product, and a resting limit order:"),
    code("await session.sell(\"NSE:INFY-EQ\", 10, stop_loss=1510)\nlimit = await session.buy(\"NSE:TCS-EQ\", 2, order_type=\"LIMIT\", limit_price=3490)\nlimit.status"),
    md("Bad input never changes state; it raises `OrderRejected` with a code, the field and a sentence:"),
    code("try:\n    await session.buy(\"NSE:SBIN-EQ\", 10, order_type=\"LIMIT\", limit_price=\"800.03\")\nexcept lt.OrderRejected as e:\n    print(e.code, e.field, \"-\", e.reason)"),
    md("## Let the market run\n\nAn hour later the bracket has probably fired one way or the other."),
    code("await session.run_for(ticks=3_600)\nsession.orders_df()[[\"order_id\", \"symbol\", \"side\", \"type\", \"role\", \"quantity\", \"avg_price\", \"status\"]]"),
    code("session.fills_df()[[\"timestamp\", \"symbol\", \"side\", \"role\", \"quantity\", \"price\", \"brokerage\", \"stt\", \"gst\", \"charges\"]]"),
    code("session.positions_df()"),
    md("## P&L\n\n`session.pnl()` is exact (`Decimal`, to the paisa). Realized P&L is net of every charge; the identity "
       "`portfolio_value == initial + total_pnl == cash + market value` always holds."),
    code("p = session.pnl()\n{k: p[k] for k in [\"total_pnl\", \"gross_realized_pnl\", \"total_charges\", \"total_realized_pnl\", \"total_unrealized_pnl\", \"portfolio_value\"]}"),
    code("session.pnl_df().resample(\"10min\").last()"),
    code("await session.close()"),
]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, "notebooks/01-quickstart.ipynb")
