"""The fake trading API's books: positions, funds, holdings, trades, the order book, position
conversion and the order-socket updates (raw Fyers objects)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from livetrade.model import IST
from livetrade.testing.fake_rest_core import _RestCore
from livetrade.testing.fake_rest_types import (
    _CENT,
    _FUND_TITLES,
    _PRODUCTS,
    _RAW_ORDER,
    _RAW_POSITION,
    _SOCKET_POSITION_KEYS,
    ORDER_SOURCE,
    PENDING,
    FakeOrder,
    FakeReply,
    _err,
    _num,
    _ok,
    _q,
)


class _Books(_RestCore):
    """What the account looks like: the read endpoints and the order-socket updates."""

    def publish(self) -> None:
        """Tell the listeners (the order socket) about every order that changed, every new
        trade and every position those trades (or a conversion) moved since the last call, as
        raw Fyers objects (spec 2: ``org_ord_status``, ``id_fill``, ``net_qty``...). Called
        after every request, match, manual fill and expiry."""
        if not self.listeners:
            return
        with self._lock:
            events: list[tuple[str, dict[str, Any]]] = []
            for o in self.orders.values():
                state = (o.status, o.filled, o.qty, o.limit, o.stop, o.message)
                if self._published.get(o.id) != state:
                    self._published[o.id] = state
                    events.append(("orders", self.raw_order(o)))
            for t in self.trades[self._published_trades :]:
                events.append(("trades", self.raw_trade(t)))
            self._published_trades = len(self.trades)
            for key in self._dirty_positions:
                events.append(("positions", self.raw_position(key)))
            self._dirty_positions.clear()
        for kind, raw in events:
            for listener in tuple(self.listeners):
                listener(kind, raw)

    def raw_order(self, o: FakeOrder) -> dict[str, Any]:
        """``o`` as the order socket sends it (raw key names)."""
        row = self.order_row(o)
        raw = {_RAW_ORDER.get(k, k): v for k, v in row.items()}
        raw["ord_status"] = 20 if o.status == PENDING else 90
        raw["status_msg"] = o.message or "New Ack"
        return raw

    def raw_position(self, key: tuple[str, str]) -> dict[str, Any]:
        """The position of ``key`` (symbol, product) as the order socket sends it (raw key
        names, the fields of the docs' position-update table)."""
        row = self._position_row(key, self._agg[key])
        return {_RAW_POSITION.get(k, k): row[k] for k in _SOCKET_POSITION_KEYS}

    def raw_trade(self, t: Mapping[str, Any]) -> dict[str, Any]:
        """A tradebook entry as the order socket sends it (raw key names)."""
        o = self.orders[t["order"]]
        return {
            "id_fill": t["trade_id"],
            "id": o.id,
            "qty_traded": t["qty"],
            "price_traded": _num(t["price"]),
            "traded_val": _num(t["price"] * t["qty"]),
            "product_type": o.product,
            "client_id": self.fy_id,
            "id_exchange": o.exch_id,
            "ord_type": o.type,
            "tran_side": o.side,
            "symbol": o.symbol,
            # the trade-update table and sample: "DD-MM-YYYY hh:mm:ss" (order updates and the
            # REST books use "DD-Mon-YYYY")
            "fill_time": datetime.fromtimestamp(t["ts"], tz=IST).strftime("%d-%m-%Y %H:%M:%S"),
            "fy_token": self._fytoken(o.symbol),
            "exchange": 10,
            "segment": self._segment(o.symbol),
            "ordertag": f"1:{o.tag}" if o.tag else "2:Untagged",
            "id_fyers": o.id_fyers,
        }

    def _profile(self) -> FakeReply:
        return _ok(
            data={
                "name": "FAKE TRADER",
                "display_name": "Fake",
                "fy_id": self.fy_id,
                "image": None,
                "email_id": "f***@example.com",
                "pan": "XXXXX1234X",
                "pin_change_date": "19-08-2025 14:58:41",  # "DD-MM-YYYY hh:mm:ss", as documented
                "mobile_number": "******1234",
                "totp": True,
                "pwd_change_date": "19-08-2025 14:58:41",
                "pwd_to_expire": 90,
                "ddpi_enabled": False,
                "mtf_enabled": False,
            }
        )

    def _segment(self, symbol: str) -> int:
        """Fyers' segment code: 11 for a derivative (``contracts``), else 10 (cash market)."""
        spec = self.spec(symbol)
        return 10 if spec is None else spec.segment

    def _instrument_type(self, symbol: str) -> int:
        """The exchange instrument type (fno.md §1): 0 for shares here, a derivative's own."""
        spec = self.spec(symbol)
        return 0 if spec is None else spec.instrument

    def _fytoken(self, symbol: str) -> str:
        spec = self.spec(symbol)
        if spec is not None:
            return spec.fytoken
        digits = int(hashlib.sha256(symbol.encode()).hexdigest()[:8], 16) % 100_000
        return f"101000000{digits:05d}"

    def _position_rows(self) -> list[dict[str, Any]]:
        return [self._position_row(key, agg) for key, agg in self._agg.items()]

    def _position_row(self, key: tuple[str, str], agg: list[Decimal]) -> dict[str, Any]:
        """One ``netPositions`` row, shaped and computed like the docs' sample: ``avgPrice`` is
        the average of the open side (``buyAvg`` when long), ``netAvg`` is ``(buyVal -
        sellVal) / netQty`` (0 when flat), unrealized P&L is ``netQty × (ltp - avgPrice)``."""
        symbol, product = key
        bq, bv, sq, sv = agg
        buy_avg = bv / bq if bq else Decimal(0)
        sell_avg = sv / sq if sq else Decimal(0)
        net = int(bq - sq)
        realized = min(bq, sq) * (sell_avg - buy_avg) if bq and sq else Decimal(0)
        avg = buy_avg if net > 0 else sell_avg if net < 0 else Decimal(0)
        net_avg = (bv - sv) / net if net else Decimal(0)
        ltp = self.price(symbol) or avg
        unrealized = net * (ltp - avg) if net else Decimal(0)
        return {
            "symbol": symbol,
            "id": f"{symbol}-{product}",
            "netQty": net,
            "qty": abs(net),
            "side": (net > 0) - (net < 0),
            "avgPrice": _num(_q(avg)),
            "netAvg": _num(_q(net_avg)),
            "buyQty": int(bq),
            "buyAvg": _num(_q(buy_avg)),
            "buyVal": _num(_q(bv)),
            "sellQty": int(sq),
            "sellAvg": _num(_q(sell_avg)),
            "sellVal": _num(_q(sv)),
            "realized_profit": _num(_q(realized)),
            "unrealized_profit": _num(_q(unrealized)),
            "pl": _num(_q(realized + unrealized)),
            "ltp": _num(ltp),
            "productType": product,
            "fyToken": self._fytoken(symbol),
            "segment": self._segment(symbol),
            "exchange": 10,
            "dayBuyQty": int(bq),
            "daySellQty": int(sq),
            "cfBuyQty": 0,
            "cfSellQty": 0,
            "crossCurrency": "N",  # documented values: Y (cross-currency) / N
            "rbiRefRate": 1,
            "qtyMulti_com": 1,
        }

    def _positions(self) -> FakeReply:
        rows = self._position_rows()
        realized = sum((Decimal(str(r["realized_profit"])) for r in rows), Decimal(0))
        unrealized = sum((Decimal(str(r["unrealized_profit"])) for r in rows), Decimal(0))
        overall = {
            "count_total": len(rows),
            "count_open": sum(1 for r in rows if r["netQty"]),
            "pl_total": _num(realized + unrealized),
            "pl_realized": _num(realized),
            "pl_unrealized": _num(unrealized),
        }
        return _ok(netPositions=rows, overall=overall)

    def _money_state(self) -> tuple[Decimal, Decimal]:
        """(realized P&L, utilized margin) from today's positions."""
        realized = Decimal(0)
        used = Decimal(0)
        for r in self._position_rows():
            realized += Decimal(str(r["realized_profit"]))
            rate = Decimal(1) if r["productType"] == "CNC" else self.intraday_margin
            used += abs(r["netQty"]) * Decimal(str(r["avgPrice"])) * rate
        return realized, used.quantize(_CENT, ROUND_HALF_UP)

    def available(self) -> Decimal:
        with self._lock:
            realized, used = self._money_state()
            return self.opening_cash + realized - used

    def _funds(self) -> FakeReply:
        realized, used = self._money_state()
        total = self.opening_cash + realized
        values = {
            "Total Balance": total,
            "Utilized Amount": used,
            "Clear Balance": total,
            "Realized Profit and Loss": realized,
            "Limit at start of the day": self.opening_cash,
            "Available Balance": total - used,
        }
        rows = [
            {
                "id": i,
                "title": title,
                "equityAmount": _num(values.get(title, Decimal(0))),
                "commodityAmount": 0,
            }
            for i, title in enumerate(_FUND_TITLES, 1)
        ]
        return _ok(fund_limit=rows)

    def _net(self, symbol: str, product: str) -> int:
        """Today's net quantity of ``symbol`` in ``product`` (trades and conversions)."""
        agg = self._agg.get((symbol, product))
        return 0 if agg is None else int(agg[0] - agg[2])

    def _cnc_today(self, symbol: str) -> int:
        return self._net(symbol, "CNC")

    def _holdings_reply(self) -> FakeReply:
        rows: list[dict[str, Any]] = []
        invested = current = Decimal(0)
        for symbol, (qty, cost) in sorted(self._holdings.items()):
            sold = max(-self._cnc_today(symbol), 0)
            ltp = self.price(symbol) or cost
            value, pl = ltp * qty, (ltp - cost) * qty
            invested += cost * qty
            current += value
            rows.append(
                {
                    "symbol": symbol,
                    "holdingType": "HLD",
                    "quantity": qty,
                    "remainingQuantity": qty - sold,
                    "costPrice": _num(cost),
                    "marketVal": _num(value),
                    "ltp": _num(ltp),
                    "pl": _num(pl),
                    "id": len(rows) + 1,
                    "fyToken": self._fytoken(symbol),
                    "exchange": 10,
                    "segment": 10,
                    "isin": f"INE{self._fytoken(symbol)[-6:]}01",
                    "qty_t1": 0,
                }
            )
        pnl = current - invested
        pct = (pnl / invested * 100).quantize(_CENT) if invested else Decimal(0)
        overall = {
            "count_total": len(rows),
            "total_investment": _num(invested),
            "total_current_value": _num(current),
            "total_pl": _num(pnl),
            "pnl_perc": _num(pct),
        }
        return _ok(holdings=rows, overall=overall)

    def _tradebook(self) -> FakeReply:
        rows = []
        for i, t in enumerate(self.trades, 1):
            o = self.orders[t["order"]]
            rows.append(
                {
                    "clientId": self.fy_id,
                    "orderDateTime": self._fmt_time(t["ts"]),
                    "orderNumber": o.id,
                    "exchangeOrderNo": o.exch_id,
                    "exchange": 10,
                    "side": o.side,
                    "segment": self._segment(o.symbol),
                    "orderType": o.type,
                    "fyToken": self._fytoken(o.symbol),
                    "productType": o.product,
                    "tradedQty": t["qty"],
                    "tradePrice": _num(t["price"]),
                    "tradeValue": _num(t["price"] * t["qty"]),
                    "tradeNumber": t["trade_id"],
                    "row": i,
                    "symbol": o.symbol,
                    "orderTag": f"1:{o.tag}" if o.tag else "2:Untagged",
                }
            )
        return _ok(tradeBook=rows)

    @staticmethod
    def _fmt_time(ts: float) -> str:
        return datetime.fromtimestamp(ts, tz=IST).strftime("%d-%b-%Y %H:%M:%S")

    def order_row(self, o: FakeOrder) -> dict[str, Any]:
        """The ``orderBook`` row of ``o`` (as Fyers shapes it)."""
        name = o.symbol.split(":", 1)[1]
        lp = self.price(o.symbol)
        return {
            "clientId": self.fy_id,
            "id": o.id,
            "id_fyers": o.id_fyers,  # in the order book since the 17 Nov 2025 changelog
            "exchOrdId": o.exch_id,
            "qty": o.qty,
            "remainingQuantity": o.remaining,
            "filledQty": o.filled,
            "discloseQty": o.disclosed,  # the docs list both spellings; their sample has both
            "limitPrice": _num(o.limit),
            "stopPrice": _num(o.stop),
            "tradedPrice": _num(o.avg_price),
            "type": o.type,
            "fyToken": self._fytoken(o.symbol),
            "exchange": 10,
            "segment": self._segment(o.symbol),
            "symbol": o.symbol,
            "instrument": self._instrument_type(o.symbol),
            "message": o.message,
            "offlineOrder": o.offline,
            "orderDateTime": self._fmt_time(o.placed_at),
            "orderValidity": o.validity,
            "pan": "",
            "productType": o.product,
            "side": o.side,
            "status": o.status,
            "source": ORDER_SOURCE,
            "ex_sym": name.rsplit("-", 1)[0],
            "description": name,
            "ch": 0,
            "chp": 0,
            "lp": _num(lp) if lp is not None else 0,
            "slNo": int(o.id[-8:]),
            "dqQtyRem": 0,
            "orderNumStatus": f"{o.id}:{o.status}",
            "disclosedQty": o.disclosed,
            "orderTag": f"1:{o.tag}" if o.tag else "2:Untagged",
            "takeProfit": 0,
            "stopLoss": 0,
        }

    def _orderbook(self, query: Mapping[str, str]) -> FakeReply:
        rows = []
        want_id, want_tag = query.get("id"), query.get("order_tag")
        for o in self.orders.values():
            if want_id is not None and o.id not in want_id.split(","):
                continue
            if want_tag is not None and want_tag not in (o.tag, f"1:{o.tag}"):
                continue
            rows.append(self.order_row(o))
        return _ok(orderBook=rows)

    def _convert(self, body: Any) -> FakeReply:
        """``POST /positions``: move ``convertQty`` of an open position from one product to
        another at its average price. The docs: CNC (and CO/BO/MTF) positions cannot be
        converted, nor can anything be converted to CO/BO/MTF."""
        if not isinstance(body, dict):
            return _err(400, -50, "Invalid parameters")
        for name in ("symbol", "positionSide", "convertQty", "convertFrom", "convertTo"):
            if name not in body:
                return _err(400, -50, f"Please provide {name}")
        # "overnight" is mandatory in the docs but not in the SDK's docstring; the fake follows
        # the docs (every position here is today's, so it must be 0)
        if body.get("overnight") not in (0, 1) or isinstance(body.get("overnight"), bool):
            return _err(400, -50, "Please provide overnight (0 or 1)")
        pid, side, qty = body["symbol"], body["positionSide"], body["convertQty"]
        src, dst = body["convertFrom"], body["convertTo"]
        if src in ("CNC", "CO", "BO", "MTF"):
            return _err(400, -50, f"You cannot convert {src} position to {dst}.")
        if dst in ("CO", "BO", "MTF") or dst not in _PRODUCTS or dst == src:
            return _err(400, -50, f"Invalid convertTo {dst!r}")
        if side not in (1, -1) or isinstance(side, bool):
            return _err(400, -50, "Invalid positionSide")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return _err(400, -50, "Invalid convertQty: must be a positive whole number")
        if not isinstance(pid, str) or not pid.endswith(f"-{src}"):
            return _err(400, -53, "Invalid position id")
        key = (pid[: -len(src) - 1], src)
        agg = self._agg.get(key)
        if agg is None:
            return _err(400, -53, "Invalid position id")
        if body["overnight"] == 1:
            return _err(400, -99, "No carry-forward position to convert")
        net = int(agg[0] - agg[2])
        if net * side <= 0 or qty > abs(net):
            return _err(400, -99, f"Convert quantity {qty} exceeds the open position {net}")
        i = 0 if side == 1 else 2  # the open side's quantity and value move
        price = agg[i + 1] / agg[i]
        target = self._agg.setdefault((key[0], dst), [Decimal(0)] * 4)
        agg[i] -= qty
        agg[i + 1] -= price * qty
        target[i] += qty
        target[i + 1] += price * qty
        self._dirty_positions[key] = None
        self._dirty_positions[(key[0], dst)] = None
        message = "Position Converted Successfully!!"
        return FakeReply(200, {"s": "ok", "code": 200, "message": message, "positionDetails": 1101})
