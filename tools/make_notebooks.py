"""Writes the tutorial notebooks 02 to 06 (sources only; it rewrites all five, so restore the
ones you did not change with ``git checkout``). Refresh their committed outputs with
``jupyter nbconvert --to notebook --execute --inplace
--ExecutePreprocessor.store_widget_state=False notebooks/NAME.ipynb``."""

from nbwrite import code, md, write


write(
    "notebooks/02-orders-and-risk.ipynb",
    [
        md(
            "# Orders and risk\n\nEvery order type the engine knows, brackets, what happens on a gap, and every "
            "check that can refuse an order. The session runs on a virtual clock, so we can place quotes exactly "
            "where we want them with `session.stream.push(symbol, bid, ask, last, volume, ts_ns)` (prices in paise)."
        ),
        code(
            "import livetrade as lt\n"
            "from livetrade import RiskLimits\n\n"
            "session = await lt.open_session(seed=7, realtime=False, journal=False, name=\"risk\",\n"
            "                                limits=RiskLimits(max_order_quantity=500, max_orders_per_minute=30))\n"
            "await session.run_for(ticks=60)\n"
            "SYM = \"NSE:SBIN-EQ\"\n\n"
            "def quote(bid, ask, last):\n"
            "    \"\"\"Put one quote on the tape at the current virtual time (rupees in, paise on the wire).\"\"\"\n"
            "    session.stream.push(SYM, round(bid * 100), round(ask * 100), round(last * 100), 0, session.clock.now_ns())\n\n"
            "quote(800.00, 800.10, 800.05)\n"
            "session.stream.quote(SYM)"
        ),
        md(
            "## Market, limit, SL and SL-M\n\nMarket orders fill at the touch: buys at the ask, sells at the bid. "
            "A limit order rests until the touch reaches its price and then fills at the touch (never worse than "
            "the limit)."
        ),
        code(
            "m = await session.buy(SYM, 10)\n"
            "lim = await session.buy(SYM, 5, order_type=\"LIMIT\", limit_price=799)\n"
            "m.executed_price, lim.status"
        ),
        code("quote(798.80, 798.90, 798.85)   # the ask drops through 799: the limit fills at 798.90\nlim.status, lim.executed_price"),
        md(
            "Stops trigger on the **last traded price**. A stop-market (SL-M) then fills at the touch of the same "
            "tick; a stop-limit (SL) becomes a limit order at its limit price."
        ),
        code(
            "slm = await session.sell(SYM, 5, order_type=\"SL-M\", trigger_price=795)\n"
            "sl = await session.sell(SYM, 5, order_type=\"SL\", trigger_price=794, limit_price=793.50)\n"
            "quote(791.00, 791.10, 791.05)   # a gap from 798.85 straight to 791.05\n"
            "[(o.kind.value, o.triggered, o.status.value, o.executed_price) for o in (slm, sl)]"
        ),
        md(
            "The SL-M filled at **791.00** — the bid of the gapping tick, not the 795 stop: a gap never fills at "
            "the better stop price. The stop-limit triggered but its 793.50 limit is above the bid, so it waits:"
        ),
        code("quote(793.50, 793.60, 793.55)\nsl.status, sl.executed_price"),
        md(
            "## Brackets: stop-loss and take-profit, one cancels the other\n\n`stop_loss=` and `take_profit=` attach "
            "two exit orders to the quantity an entry fills. When one fills the other is cancelled; when the "
            "position shrinks for another reason, the bracket shrinks with it."
        ),
        code(
            "entry = await session.buy(SYM, 20, stop_loss=785, take_profit=805)\n"
            "session.engine.get_risk_orders()"
        ),
        code(
            "await session.sell(SYM, 8)      # a partial exit by hand: 25 held → 17, so the bracket shrinks 20 → 17\n"
            "{k: [(c.trigger_price, c.quantity) for c in v[SYM]] for k, v in session.engine.get_risk_orders().items()}"
        ),
        code(
            "quote(805.00, 805.10, 805.05)   # take-profit reached: it fills at the bid, the stop is cancelled\n"
            "session.orders_df()[[\"order_id\", \"side\", \"type\", \"role\", \"quantity\", \"avg_price\", \"status\", \"message\"]].tail(3)"
        ),
        md(
            "## Rejections say what is wrong\n\nEvery refusal is an `OrderRejected` with a machine-readable `code`, "
            "the `field` at fault and a sentence. Nothing changes when an order is refused."
        ),
        code(
            "attempts = {\n"
            "    \"fractional quantity\": dict(quantity=2.5),\n"
            "    \"off the 5-paise tick\": dict(quantity=1, order_type=\"LIMIT\", limit_price=\"800.03\"),\n"
            "    \"stop above a buy\": dict(quantity=1, stop_loss=810),\n"
            "    \"too large\": dict(quantity=501),\n"
            "    \"delivery sell without holdings\": dict(quantity=1, product=\"CNC\", side=\"sell\"),\n"
            "    \"an index\": dict(quantity=1, symbol=\"NSE:NIFTY50-INDEX\"),\n"
            "}\n"
            "for what, kw in attempts.items():\n"
            "    side = kw.pop(\"side\", \"buy\")\n"
            "    symbol = kw.pop(\"symbol\", SYM)\n"
            "    try:\n"
            "        await getattr(session, side)(symbol, **kw)\n"
            "    except lt.OrderRejected as e:\n"
            "        print(f\"{what:32} {e.code:22} {e.field or '':12} {e.reason}\")"
        ),
        md(
            "A quote older than `max_quote_age_s` (60 s by default) is not a price to trade on:"
        ),
        code(
            "session.clock.advance(120 * 1_000_000_000)   # two minutes pass without a tick of SBIN\n"
            "try:\n"
            "    await session.buy(SYM, 1)\n"
            "except lt.OrderRejected as e:\n"
            "    print(e.code, \"-\", e.reason)"
        ),
        md(
            "## The kill switch\n\n`REDUCING` lets only orders that shrink a position through; `HALTED` stops "
            "everything new. Resting stop-losses keep protecting positions either way."
        ),
        code(
            "quote(800.00, 800.10, 800.05)\n"
            "await session.buy(SYM, 10, stop_loss=790)\n"
            "session.kill_switch(\"REDUCING\")\n"
            "for label, call in [(\"add\", session.buy(SYM, 1)), (\"reduce\", session.sell(SYM, 4))]:\n"
            "    try:\n"
            "        o = await call\n"
            "        print(label, \"→\", o.status.value)\n"
            "    except lt.OrderRejected as e:\n"
            "        print(label, \"→\", e.code)\n"
            "session.kill_switch(\"HALTED\")\n"
            "quote(789.00, 789.10, 789.05)   # the stop still fires\n"
            "session.fills_df()[[\"timestamp\", \"side\", \"role\", \"quantity\", \"price\"]].tail(3)"
        ),
        code("await session.close()"),
    ],
)

write(
    "notebooks/03-pnl-analysis.ipynb",
    [
        md(
            "# P&L analysis\n\nFills, positions and the equity curve as DataFrames, with every charge broken out. "
            "A simple momentum rule trades a seeded simulated market for three hours of virtual time."
        ),
        code(
            "import livetrade as lt\n\n"
            "session = await lt.open_session(seed=2024, realtime=False, journal=False, name=\"analysis\")\n"
            "await session.run_for(ticks=300)\n"
            "SYMS = [\"NSE:SBIN-EQ\", \"NSE:INFY-EQ\", \"NSE:RELIANCE-EQ\"]"
        ),
        md(
            "The rule: every five minutes, for each symbol, if the last price is above its price five minutes ago "
            "and we are flat, buy 25 with a 0.5% stop and a 1% target."
        ),
        code(
            "from decimal import Decimal\n\n"
            "def tick_price(p):\n"
            "    return (p / Decimal(\"0.05\")).quantize(Decimal(1)) * Decimal(\"0.05\")\n\n"
            "for step in range(36):\n"
            "    before = {s: session.stream.quote(s).last_price for s in SYMS}\n"
            "    await session.run_for(ticks=300)\n"
            "    held = session.engine.get_active_positions()\n"
            "    for s in SYMS:\n"
            "        last = session.stream.quote(s).last_price\n"
            "        if last > before[s] and s not in held:\n"
            "            await session.buy(s, 25, stop_loss=tick_price(last * Decimal(\"0.995\")),\n"
            "                              take_profit=tick_price(last * Decimal(\"1.01\")))\n"
            "len(session.fills), session.now"
        ),
        md("## Fills and the charges on each"),
        code(
            "fills = session.fills_df()\n"
            "fills[[\"timestamp\", \"symbol\", \"side\", \"role\", \"quantity\", \"price\", \"value\", \"charges\"]].head(8)"
        ),
        code(
            "charges = fills[[\"brokerage\", \"stt\", \"exchange\", \"ipft\", \"sebi\", \"stamp\", \"gst\", \"dp\"]].sum().round(2)\n"
            "charges[\"total\"] = round(fills[\"charges\"].sum(), 2)\n"
            "charges"
        ),
        md(
            "## Round trips\n\nEach bracket exit closes the lot its entry opened; pairing them gives the trade list."
        ),
        code(
            "orders = session.orders_df().set_index(\"order_id\")\n"
            "exits = fills[fills.role != \"ENTRY\"].copy()\n"
            "exits[\"entry_id\"] = exits.order_id.map(orders.parent_id)\n"
            "entries = fills.set_index(\"order_id\")\n"
            "trips = exits.assign(\n"
            "    entry_price=exits.entry_id.map(entries.price),\n"
            "    charges=exits.charges + exits.entry_id.map(entries.charges),\n"
            ")\n"
            "trips[\"gross\"] = ((trips.price - trips.entry_price) * trips.quantity).round(2)\n"
            "trips[\"net\"] = (trips.gross - trips.charges).round(2)\n"
            "trips[[\"symbol\", \"role\", \"quantity\", \"entry_price\", \"price\", \"gross\", \"charges\", \"net\"]]"
        ),
        code(
            "summary = trips.groupby(\"role\").agg(trades=(\"net\", \"size\"), gross=(\"gross\", \"sum\"), net=(\"net\", \"sum\")).round(2)\n"
            "summary"
        ),
        md(
            "## The equity curve\n\n`pnl_df()` samples cash, market value, realized (gross), unrealized and charges "
            "once per market second and at every fill. `net_pnl = realized + unrealized − charges`."
        ),
        code("curve = session.pnl_df()\ncurve.resample(\"30min\").last().round(2)"),
        code(
            "p = session.pnl()\n"
            "exact = {k: p[k] for k in [\"gross_realized_pnl\", \"total_charges\", \"total_realized_pnl\", \"total_unrealized_pnl\", \"total_pnl\"]}\n"
            "assert p[\"portfolio_value\"] == p[\"initial_balance\"] + p[\"total_pnl\"] == p[\"cash\"] + p[\"market_value\"]\n"
            "exact"
        ),
        md(
            "Drawdown from the running peak of equity, in rupees:"
        ),
        code(
            "drawdown = (curve.equity - curve.equity.cummax())\n"
            "round(drawdown.min(), 2), drawdown.idxmin()"
        ),
        code("await session.close()"),
    ],
)

write(
    "notebooks/05-rest-api.ipynb",
    [
        md(
            "# The REST API\n\nThe same engine behind HTTP: the original design's endpoints under "
            "`/api/live-trading/`, served from this kernel's own event loop while the notebook stays "
            "usable. (Headless, the same API runs with `livetrade serve --port 8000`.)"
        ),
        code(
            "import httpx\n"
            "import livetrade as lt\n\n"
            "session = await lt.open_session(seed=3, realtime=False, journal=False, name=\"api-demo\")\n"
            "await session.run_for(ticks=120)\n"
            "server = await session.serve_api(port=0)       # port 0: any free port on 127.0.0.1\n"
            "api = httpx.AsyncClient(base_url=server.url + \"/api/live-trading\")\n"
            "(await api.get(\"/health\")).json()[\"status\"]"
        ),
        md("Buy with a stop-loss and a take-profit, with the original's request body:"),
        code(
            "r = await api.post(\"/buy\", json={\"symbol\": \"NSE:SBIN-EQ\", \"quantity\": 10,\n"
            "                                  \"stop_loss_price\": 795.0, \"take_profit_price\": 805.0})\n"
            "r.status_code, r.json()[\"message\"]"
        ),
        code("(await api.get(\"/risk-orders\")).json()"),
        md(
            "A refused order comes back as a 4xx with the engine's code, the field and the sentence — and "
            "changes nothing:"
        ),
        code(
            "r = await api.post(\"/buy\", json={\"symbol\": \"NSE:SBIN-EQ\", \"quantity\": 10, \"stop_loss_price\": 900})\n"
            "r.status_code, r.json()"
        ),
        md("Feed a price by hand (allowed on a simulated session): the stop-loss fires inside the call."),
        code(
            "r = await api.post(\"/update-price\", json={\"symbol\": \"NSE:SBIN-EQ\", \"bid_price\": 790.0,\n"
            "                                           \"ask_price\": 790.1, \"last_price\": 790.05, \"volume\": 10})\n"
            "r.json()"
        ),
        code(
            "p = (await api.get(\"/portfolio\")).json()\n"
            "{k: p[k] for k in [\"wallet_balance\", \"total_realized_pnl\", \"total_unrealized_pnl\", \"total_pnl\", \"order_count\"]}"
        ),
        code("[(o[\"order_id\"], o[\"type\"], o[\"quantity\"], o[\"executed_price\"]) for o in (await api.get(\"/orders\")).json()[\"orders\"]]"),
        md("Closing the session stops the server too."),
        code("await api.aclose()\nawait session.close()\nserver.running"),
    ],
)

write(
    "notebooks/06-replay-and-journal.ipynb",
    [
        md(
            "# The journal: restarts, audit and replay\n\nEvery order, fill and cancel is written to the "
            "session's journal (SQLite) **before** the order is acknowledged. Reopening a session by name "
            "after a kernel restart or a crash brings back cash, positions, open orders and brackets exactly. "
            "Here the journal lives in a temporary folder; by default it is `~/.local/share/livetrade/<name>.sqlite`."
        ),
        code(
            "import tempfile\n"
            "import livetrade as lt\n\n"
            "folder = tempfile.mkdtemp()\n"
            "session = await lt.open_session(seed=11, realtime=False, name=\"desk1\", journal_dir=folder)\n"
            "await session.run_for(ticks=300)\n"
            "q = session.stream.quote(\"NSE:SBIN-EQ\")\n"
            "await session.buy(\"NSE:SBIN-EQ\", 15, stop_loss=q.last_price - 5, take_profit=q.last_price + 5)\n"
            "await session.buy(\"NSE:TCS-EQ\", 2, order_type=\"LIMIT\", limit_price=3400)\n"
            "await session.sell(\"NSE:INFY-EQ\", 10)\n"
            "await session.run_for(ticks=600)\n"
            "before = session.pnl()\n"
            "session.positions_df()"
        ),
        md("Close the session (a kernel restart or a crash would do the same) and open it again by name:"),
        code(
            "await session.close()\n"
            "session = await lt.open_session(seed=11, realtime=False, name=\"desk1\", journal_dir=folder)\n"
            "session.restored, session.pnl()[\"total_realized_pnl\"] == before[\"total_realized_pnl\"]"
        ),
        md("The positions are back; the simulated market resumes from the last fill prices with the next tick:"),
        code("await session.run_for(ticks=1)\nsession.positions_df()"),
        code("[(o.order_id, o.symbol, o.kind.value, o.role.value, o.status.value) for o in session.engine.open_orders()]"),
        md(
            "## Audit trail\n\n`journal_df()` lists every event. Orders placed from a notebook carry the cell "
            "number and a hash of its code in `origin` (the hash changes when the code does)."
        ),
        code(
            "j = session.journal_df()\n"
            "j[[\"seq\", \"timestamp\", \"kind\", \"order_id\", \"symbol\", \"side\", \"quantity\", \"price\", \"source\"]]"
        ),
        md(
            "## Replay\n\n`replay_journal()` re-runs the recorded orders and the quotes they met against a fresh "
            "engine, and compares every fill and the P&L. A difference is reported, never hidden."
        ),
        code("report = session.replay_journal()\nreport.ok, report.fills_expected, report.fills_replayed, report.mismatches"),
        md("The same journal from the command line: `livetrade journal export desk1 --format csv`."),
        code(
            "import contextlib, io\n"
            "import pandas as pd\n"
            "from livetrade.cli import main\n\n"
            "await session.close()\n"
            "with contextlib.redirect_stderr(io.StringIO()):   # it reports the file it wrote on stderr\n"
            "    status = main([\"journal\", \"export\", \"desk1\", \"--journal-dir\", folder, \"-o\", folder + \"/desk1.csv\"])\n"
            "status, len(pd.read_csv(folder + \"/desk1.csv\"))"
        ),
    ],
)

write(
    "notebooks/04-fyers-connection.ipynb",
    [
        md(
            "# Fyers: real quotes, the daily login and live orders\n\nThe same session on real Fyers quotes, then "
            "the daily login, then live orders with their guardrails (arming, reconciliation, brackets at the broker, "
            "shadow mode, the kill switch). The data socket runs inside this "
            "kernel's event loop, with reconnects and a watchdog. With a Fyers account you would write\n\n"
            "```python\nsession = await lt.open_session(feed=\"fyers\", broker=\"paper\")   # token from FYERS_ACCESS_TOKEN\n```\n\n"
            "Here, with no account, a local **fake Fyers server** speaks the real protocol on 127.0.0.1 "
            "(`livetrade fake-fyers` runs the same server from a terminal). Prices move in real time, so the "
            "cells that show prices are excluded from the notebook checks."
        ),
        code(
            "import asyncio\n"
            "import livetrade as lt\n"
            "from livetrade.fyers.fake import FakeFyersServer\n\n"
            "fake = await FakeFyersServer(seed=1, tick_interval=0.05).start()\n"
            "\"<hidden>\" in repr(fake.config)   # a token never shows in a repr, not even the fake one"
        ),
        code(
            "session = await lt.open_session(feed=\"fyers\", broker=\"paper\", fyers=fake.config,\n"
            "                                name=\"fyers-demo\", journal=False)\n"
            "states = []\n"
            "session.feed_event += lambda state: states.append(state.status)\n"
            "await session.watch([\"NSE:SBIN-EQ\", \"NSE:NIFTY50-INDEX\"])\n"
            "session.feed_state().status"
        ),
        md("Wait for a few hundred quotes (the fake sends one per symbol every 50 ms):"),
        code(
            "await session.run_for(ticks=200)\n"
            "sorted(session.quotes_df()[\"symbol\"].unique())"
        ),
        code(
            "# NBVAL_IGNORE_OUTPUT\n"
            "session.stream.quote(\"NSE:SBIN-EQ\")"
        ),
        md(
            "## A dropped connection\n\nThe fake server can misbehave on demand: drop every connection, stall, "
            "send garbage, expire the token. The stream reconnects (with backoff), resubscribes every symbol and "
            "the quotes keep coming; `feed_event` reports each state."
        ),
        code(
            "before = len(session.quotes_df())\n"
            "await fake.drop_connections()\n"
            "await session.run_for(ticks=100)\n"
            "states, len(session.quotes_df()) > before"
        ),
        md("Orders on this feed are paper fills at the real quote's touch:"),
        code(
            "order = await session.buy(\"NSE:SBIN-EQ\", 5)\n"
            "q = session.stream.quote(\"NSE:SBIN-EQ\")\n"
            "order.status, order.executed_price >= q.bid_price"
        ),
        md(
            "## Logging in (once a day)\n\nFyers tokens end every day. The login is the auth-code flow: open "
            "the URL, log in, and hand back the URL the browser lands on. `livetrade login` does the same from a "
            "terminal and saves the token (mode 0600) where sessions find it. Here the fake plays Fyers' login page:"
        ),
        code(
            "import dataclasses\n"
            "from livetrade.fyers.broker import FyersRestClient\n\n"
            "url = lt.fyers_login_url(fake.app_id, \"https://example.invalid/callback\", base_url=fake.api_url)\n"
            "url.split(\"?\")[1].split(\"&\")[1:3]"
        ),
        code(
            "redirected = fake.orders.redirect_url(\"https://example.invalid/callback\", \"livetrade\")  # the browser's URL\n"
            "token = await lt.fyers_login(fake.app_id, fake.orders.app_secret, redirected,\n"
            "                             base_url=fake.api_url, save=False)\n"
            "cfg = dataclasses.replace(fake.config, access_token=token.authorization)\n"
            "type(token).__name__, \"<hidden>\" in repr(cfg), token.access_token not in repr(token)"
        ),
        md(
            "## Live orders, safely\n\n`broker=\"fyers\", live=True` sends real orders — but not yet: a live session "
            "opens **not armed**, after reconciling with Fyers' positions, order book and funds. Every order is "
            "refused until `arm_live(confirm=\"LIVE\")`. `shadow=True` runs a paper engine beside it on the same orders."
        ),
        code(
            "live = await lt.open_session(feed=\"fyers\", broker=\"fyers\", live=True, fyers=cfg,\n"
            "                             name=\"desk-live\", journal=False, shadow=True)\n"
            "await live.watch([\"NSE:SBIN-EQ\"])\n"
            "await live.run_for(ticks=40)\n"
            "live.mode, live.reconciliation.ok"
        ),
        code("live.reconciliation.frame"),
        code(
            "try:\n"
            "    await live.buy(\"NSE:SBIN-EQ\", 5)\n"
            "except lt.OrderRejected as e:\n"
            "    print(e.code, \"-\", e.reason)"
        ),
        code(
            "await live.arm_live(confirm=\"LIVE\")\n"
            "live.mode"
        ),
        md(
            "An order now goes to Fyers: every paper check first, then the journal, then the wire, tagged so that a "
            "lost answer is looked up, never sent twice. The fill comes back from Fyers (its order socket, checked "
            "against the order book and tradebook); the stop-loss and take-profit become two real orders at Fyers "
            "that cancel each other."
        ),
        code(
            "last = live.stream.quote(\"NSE:SBIN-EQ\").last_price\n"
            "order = await live.buy(\"NSE:SBIN-EQ\", 5, stop_loss=last - 20, take_profit=last + 20)\n"
            "await live.router.drain()\n"
            "order.status.value, order.broker_order_id in fake.orders.orders"
        ),
        code(
            "orders = live.orders_df()\n"
            "orders[\"at_fyers\"] = orders.broker_order_id.notna()   # Fyers' own order ids\n"
            "orders[[\"order_id\", \"side\", \"type\", \"quantity\", \"status\", \"role\", \"at_fyers\"]]"
        ),
        code(
            "[(o.type, o.side, o.qty, o.tag) for o in fake.orders.orders.values()]   # Fyers' book: type 2 market, 3 SL-M, 1 limit"
        ),
        md("Shadow mode: the same order on paper, and what the live fill cost or saved against it:"),
        code(
            "live.shadow_df()[[\"order_id\", \"side\", \"quantity\", \"live_status\", \"paper_status\"]]"
        ),
        code(
            "# NBVAL_IGNORE_OUTPUT\n"
            "live.shadow_df()[[\"live_price\", \"paper_price\", \"slippage\", \"slippage_total\", \"live_fill_s\"]]"
        ),
        md(
            "## Reconciliation\n\nSomeone buys 2 more from the Fyers app. Our book no longer matches Fyers': "
            "reconciliation shows it, and a fresh `arm_live` would be refused until it is resolved (or knowingly accepted)."
        ),
        code(
            "async with FyersRestClient(cfg.access_token, base_url=fake.api_url) as web:\n"
            "    await web.place_order(\"NSE:SBIN-EQ\", \"BUY\", 2, tag=\"fromtheapp\")\n"
            "rec = await live.reconcile()\n"
            "rec.differences[[\"item\", \"key\", \"ours\", \"broker\", \"difference\"]]"
        ),
        code(
            "rec = await live.reconcile(adopt=True)   # take on Fyers' position at its average price\n"
            "rec.ok, live.positions_df()[[\"symbol\", \"quantity\"]].to_dict(\"records\")"
        ),
        md(
            "## Kill switch\n\n`kill(flatten=True)` halts, cancels every working order at Fyers and closes every "
            "position at market; it returns when Fyers has answered."
        ),
        code(
            "closing = await live.kill(flatten=True)\n"
            "[(o.side.name, o.quantity, o.status.value) for o in closing], live.engine.kill_switch.value"
        ),
        code(
            "broker = await live.router.client.positions()\n"
            "live.positions_df().empty, broker.open(), sorted({o.status for o in fake.orders.orders.values()})"
        ),
        code("await live.close()"),
        md(
            "A refused token is an `AuthError` at once, not a reconnect storm:"
        ),
        code(
            "fake.reject_token = True\n"
            "try:\n"
            "    await lt.open_session(feed=\"fyers\", fyers=fake.config, name=\"bad-token\", journal=False)\n"
            "except lt.AuthError as e:\n"
            "    print(\"AuthError:\", e)"
        ),
        code("await session.close()\nawait fake.stop()\nsession.feed_state().status"),
    ],
)
