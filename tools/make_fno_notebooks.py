"""Writes the F&O tutorial notebooks 08 and 09 (sources only). Refresh their committed outputs
with ``jupyter nbconvert --to notebook --execute --inplace
--ExecutePreprocessor.store_widget_state=False notebooks/NAME.ipynb``, then check them with
``pytest --nbval``."""

from nbwrite import code, md, write


write(
    "notebooks/08-futures-and-options.ipynb",
    [
        md(
            "# Futures and options: a NIFTY call, its hedge and the weekly expiry\n\n"
            "Index options and futures on a simulated NIFTY chain: pick a contract, trade it in lots, hedge the "
            "call's delta with the future, read the margin and the charges of each leg, then let the clock run "
            "through Tuesday's weekly expiry and watch it settle. `derivatives=True` lists NIFTY futures and "
            "weekly/monthly options priced from the simulated index; `realtime=False` and a fixed `seed` make "
            "every number below the same on every run. One tick is 10 s of market time here, so the day and a "
            "half to expiry runs in seconds."
        ),
        code(
            "from dataclasses import asdict\n"
            "from datetime import datetime\n\n"
            "import pandas as pd\n\n"
            "import livetrade as lt\n"
            "from livetrade.model import IST\n\n"
            "INDEX = \"NSE:NIFTY50-INDEX\"\n"
            "session = await lt.open_session(\n"
            "    seed=4, realtime=False, journal=False, name=\"fno\", derivatives=True,\n"
            "    start=datetime(2026, 12, 7, 14, 0, tzinfo=IST), tick_interval=10,  # a Monday afternoon\n"
            ")\n"
            "await session.run_for(seconds=60)\n"
            "spot = session.stream.quote(INDEX).last_price\n"
            "print(f\"{session.now:%a %d %b %Y %H:%M} IST, NIFTY {spot}\")"
        ),
        md(
            "## Pick the contracts\n\n"
            "`lt.instruments(...)` lists contracts as a DataFrame (lot size, tick, expiry, strike, the exchange's "
            "freeze quantity) and `lt.find_option(...)` picks one. Both read Fyers' published symbol master by "
            "default; here we pass the session's own registry (the simulated chain) and its clock, so \"nearest\" "
            "means the nearest expiry *at the session's time*."
        ),
        code(
            "where = dict(registry=session.engine.instruments, now=session.now)\n"
            "lt.instruments(\"NIFTY\", kind=\"FUTURE\", **where)"
        ),
        code(
            "lt.instruments(\"NIFTY\", expiry=\"nearest\", kind=\"CE\", strike_min=23900, strike_max=24100, **where)"
        ),
        code(
            "call = lt.find_option(\"NIFTY\", expiry=\"nearest\", strike=\"ATM\", kind=\"CE\", spot=spot, **where).symbol\n"
            "future = lt.instruments(\"NIFTY\", kind=\"FUTURE\", **where).symbol.iloc[0]  # the near month\n"
            "call, future"
        ),
        md(
            "## Buy the call, hedge its delta with the future\n\n"
            "Quantities are in lots (`lots=2` of NIFTY is 130 units). An at-the-money call moves about half as "
            "much as the index, so two lots of it carry roughly the delta of one lot of the future: selling one "
            "future lot leaves the pair close to delta-neutral, long volatility. `MARGIN` is the carry-forward "
            "product: the positions stay open overnight until expiry (INTRADAY would be squared off)."
        ),
        code(
            "await session.buy(call, lots=2, product=\"MARGIN\")\n"
            "await session.sell(future, lots=1, product=\"MARGIN\")\n"
            "legs = session.positions_df()\n"
            "legs[[\"symbol\", \"quantity\", \"lots\", \"avg_price\", \"days_to_expiry\", \"delta\", \"gamma\", \"theta\", \"vega\"]].round(2)"
        ),
        md(
            "Delta is in units of the index (65 per lot of the future), theta in ₹ a day and vega in ₹ per "
            "volatility point, so the rows add up:"
        ),
        code("legs[[\"delta\", \"theta\", \"vega\"]].sum().round(1)"),
        md(
            "## Margin and premium\n\n"
            "The long call pays its premium in full. The short future blocks an approximate SPAN + exposure "
            "margin (the parameters are in `session.engine.margin_params`); live sessions ask Fyers' margin "
            "endpoint instead."
        ),
        code("pd.Series(asdict(session.funds()))"),
        md(
            "## Charges, leg by leg\n\n"
            "Every fill carries its own charges from the date-effective Indian table: ₹20 F&O brokerage per "
            "order, STT on the *sell* side (on the premium for options, on the notional for futures), exchange "
            "transaction charges by segment, SEBI fees, stamp duty on the buy side and GST."
        ),
        code(
            "fills = session.fills_df()\n"
            "fills[[\"symbol\", \"side\", \"quantity\", \"price\", \"value\", \"brokerage\", \"stt\", \"exchange\", \"sebi\", \"stamp\", \"gst\", \"charges\"]]"
        ),
        md(
            "## Through the weekly expiry\n\n"
            "The weekly options expire on Tuesday. At expiry the engine settles every open position in the "
            "contract against the index (the final settlement price): an option at its intrinsic value (zero "
            "out of the money), a future at the index. Each settlement is an order with `source=\"expiry\"` and "
            "a fill, journaled like any other."
        ),
        code(
            "await session.run_for(seconds=(datetime(2026, 12, 8, 15, 41, tzinfo=IST) - session.now).total_seconds())\n"
            "print(f\"{session.now:%a %d %b %Y %H:%M} IST, NIFTY {session.stream.quote(INDEX).last_price}\")\n"
            "orders = session.orders_df()\n"
            "orders[orders.source == \"expiry\"][[\"created\", \"symbol\", \"side\", \"quantity\", \"lots\", \"avg_price\", \"status\", \"source\"]]"
        ),
        md(
            "The call finished in the money and was settled at its intrinsic value. Exercise has one charge of "
            "its own: STT on the intrinsic value of a long option settled in the money (no brokerage, no "
            "exchange fees):"
        ),
        code(
            "settled = session.fills_df().iloc[-1]\n"
            "settled[[\"symbol\", \"side\", \"quantity\", \"price\", \"value\", \"stt\", \"charges\"]]"
        ),
        md(
            "What is left is the short future, which expires with the month; its margin is still blocked and the "
            "premium paid for the call has come back as the settlement value:"
        ),
        code(
            "session.positions_df()[[\"symbol\", \"quantity\", \"lots\", \"avg_price\", \"last_price\", \"unrealized_pnl\", \"days_to_expiry\", \"delta\"]]"
        ),
        code(
            "funds = session.funds()\n"
            "pd.Series({k: asdict(funds)[k] for k in (\"available_cash\", \"fno_margin\", \"premium_paid\", \"realised\", \"unrealised\", \"charges\")})"
        ),
        md(
            "Each leg's P&L, net of its charges: NIFTY rose, the call gained more than the short future lost, "
            "which is what a long-gamma, delta-hedged position is for (a quiet market would have bled the "
            "premium instead):"
        ),
        code(
            "legs = session.positions_df(include_closed=True).set_index(\"symbol\")\n"
            "(legs.realized_pnl + legs.unrealized_pnl - legs.charges).rename(\"net P&L ₹\").round(2)"
        ),
        md(
            "## Whole lots only\n\n"
            "A quantity that is not a multiple of the lot is refused with a sentence naming the field; nothing "
            "changes."
        ),
        code(
            "try:\n"
            "    await session.sell(future, 100, product=\"MARGIN\")\n"
            "except lt.OrderRejected as e:\n"
            "    print(e.code, e.field, \"-\", e.reason)"
        ),
        code("await session.close()"),
    ],
)

write(
    "notebooks/09-option-chain.ipynb",
    [
        md(
            "# The option chain, the smile and a spread's Greeks\n\n"
            "What an options trader reads all day: the chain with implied volatility, Greeks and open interest; "
            "the volatility smile; a two-leg spread placed as one basket; and how the position's Greeks move as "
            "the market does. A seeded simulated NIFTY chain (`derivatives=True`) on the virtual clock, so every "
            "number below is the same on every run.\n\n"
            "Figures use Plotly's `plotly_mimetype` renderer: the notebook keeps only the figure's data (small, "
            "and the same on every run), which JupyterLab, Notebook 7 and VS Code draw."
        ),
        code(
            "from datetime import datetime\n\n"
            "import pandas as pd\n"
            "import plotly.graph_objects as go\n"
            "import plotly.io as pio\n\n"
            "import livetrade as lt\n"
            "from livetrade.model import IST\n"
            "from livetrade.money import from_paise\n\n"
            "pio.renderers.default = \"plotly_mimetype\"\n"
            "INDEX = \"NSE:NIFTY50-INDEX\"\n"
            "session = await lt.open_session(\n"
            "    seed=16, realtime=False, journal=False, name=\"chain\", derivatives=True,\n"
            "    start=datetime(2026, 12, 7, 10, 0, tzinfo=IST),  # a Monday: the weekly expires tomorrow\n"
            ")\n"
            "await session.run_for(seconds=300)\n"
            "print(f\"{session.now:%a %d %b %Y %H:%M} IST, NIFTY {session.stream.quote(INDEX).last_price}\")"
        ),
        md(
            "## The chain\n\n"
            "`option_chain(underlying, strikes=10)` gives one row per strike around the money at the nearest "
            "expiry, calls and puts side by side: prices, volume, open interest, implied volatility (a fraction) "
            "and Black-76 Greeks on the forward (theta per day, vega per volatility point). `atm` marks the strike "
            "nearest the forward; `attrs` carries the inputs."
        ),
        code(
            "chain = session.option_chain(INDEX, strikes=10)\n"
            "a = chain.attrs\n"
            "print(f\"NIFTY {a['spot']:.2f}, forward {a['forward']:.2f}, expiry {a['expiry']:%a %d %b %H:%M}, \"\n"
            "      f\"t = {a['t'] * 365:.3f} days, r = {a['r']:.1%}\")"
        ),
        code(
            "cols = [\"atm\", \"call_ltp\", \"call_oi\", \"call_iv\", \"call_delta\", \"call_theta\",\n"
            "        \"put_ltp\", \"put_oi\", \"put_iv\", \"put_delta\", \"put_theta\"]\n"
            "chain[cols].round(3)"
        ),
        md(
            "## The smile\n\n"
            "Implied volatility by strike: puts below the money are dearer than calls above it (the skew of an "
            "index), and both wings lift. Calls and puts of one strike agree (to the rounding of their quotes), as put-call parity says they must."
        ),
        code(
            "smile = go.Figure()\n"
            "for side in (\"call\", \"put\"):\n"
            "    smile.add_scatter(x=chain.index, y=(chain[f\"{side}_iv\"] * 100).round(2), name=side, mode=\"lines+markers\")\n"
            "smile.add_vline(x=round(chain.attrs[\"forward\"], 2), line_dash=\"dot\", annotation_text=\"forward\")\n"
            "smile.update_layout(height=300, xaxis_title=\"strike\", yaxis_title=\"implied vol %\", template=\"plotly_white\",\n"
            "                    margin=dict(l=50, r=10, t=10, b=30))\n"
            "smile"
        ),
        md(
            "## The same numbers by hand\n\n"
            "The chain is built from two plain functions on Black-76 inputs (scalars or numpy arrays): "
            "`lt.implied_vol(price, forward, strike, t, r, flag)` and `lt.greeks(flag, forward, strike, t, r, "
            "sigma)`, `t` in years to 15:30 IST on expiry day, `flag` \"c\" or \"p\". Here they recompute the "
            "at-the-money call from its mid price:"
        ),
        code(
            "K = chain.index[chain.atm][0]\n"
            "row = chain.loc[K]\n"
            "F, t, r = chain.attrs[\"forward\"], chain.attrs[\"t\"], chain.attrs[\"r\"]\n"
            "iv = lt.implied_vol(row.call_mid, F, K, t, r, \"c\")\n"
            "g = lt.greeks(\"c\", F, K, t, r, iv)\n"
            "pd.DataFrame(\n"
            "    {\"by hand\": [iv, g.price, g.delta, g.gamma, g.theta, g.vega],\n"
            "     \"chain\": [row.call_iv, row.call_mid, row.call_delta, row.call_gamma, row.call_theta, row.call_vega]},\n"
            "    index=[\"iv\", \"price\", \"delta\", \"gamma\", \"theta\", \"vega\"],\n"
            ").round(6)"
        ),
        md(
            "The solver always answers: a price with no implied volatility gives NaN and, with `reasons=True`, "
            "why (never an exception or an endless loop):"
        ),
        code("lt.implied_vol([1.0, row.call_mid], F, [K - 200, K], t, r, \"c\", reasons=True)"),
        md(
            "## A bull call spread as one basket\n\n"
            "Buy the at-the-money call, sell the call two strikes up: a capped bet on a rise, cheaper than the call "
            "alone. `place_basket` checks every leg before placing any (nothing is placed if one is refused), "
            "places buys (the hedges) before sells, and reports leg by leg; a leg that fails after others went out "
            "unwinds them rather than leaving half a spread."
        ),
        code(
            "long_call, short_call = chain.loc[K, \"call_symbol\"], chain.loc[K + 100, \"call_symbol\"]\n"
            "basket = await session.place_basket([\n"
            "    {\"symbol\": long_call, \"side\": \"BUY\", \"lots\": 1, \"product\": \"MARGIN\"},\n"
            "    {\"symbol\": short_call, \"side\": \"SELL\", \"lots\": 1, \"product\": \"MARGIN\"},\n"
            "])\n"
            "print(basket.basket_id, \"ok\" if basket.ok else \"NOT ok\", \"placed in order\", basket.sequence)\n"
            "pd.DataFrame(\n"
            "    [(leg.index, leg.request.symbol, leg.request.side.name, leg.request.quantity, leg.state,\n"
            "      leg.order.executed_price, from_paise(leg.order.charges_paise)) for leg in basket.legs],\n"
            "    columns=[\"leg\", \"symbol\", \"side\", \"quantity\", \"state\", \"price\", \"charges\"],\n"
            ")"
        ),
        md(
            "## The position's Greeks\n\n"
            "`positions_df()` carries each leg's net Greeks (delta in units of the index, theta ₹ a day, vega ₹ a "
            "volatility point); `greeks_df()` nets them per underlying. The short call gives back part of the "
            "long call's delta, theta and vega."
        ),
        code(
            "session.positions_df()[[\"symbol\", \"lots\", \"avg_price\", \"days_to_expiry\", \"delta\", \"gamma\", \"theta\", \"vega\"]].round(3)"
        ),
        md(
            "Let the market run two hours and read the net Greeks every half hour. As NIFTY falls away from the "
            "spread the delta shrinks: the position cares less and less about the next point."
        ),
        code(
            "rows = []\n"
            "for _ in range(5):\n"
            "    net = session.greeks_df().loc[INDEX]\n"
            "    rows.append({\"time\": f\"{session.now:%H:%M}\", \"NIFTY\": session.stream.quote(INDEX).last_price, **net})\n"
            "    await session.run_for(seconds=1800)\n"
            "pd.DataFrame(rows).set_index(\"time\").round(3)"
        ),
        md(
            "## Payoff\n\n"
            "`payoff(underlying)` draws the open positions' P&L at the first expiry and today (Black-76 at the "
            "chain's implied volatilities), breakevens marked: the spread's loss is capped at the premium paid and "
            "its gain at the strike width less that premium."
        ),
        code("# NBVAL_IGNORE_OUTPUT\nsession.payoff(INDEX)"),
        code("await session.close()"),
    ],
)
