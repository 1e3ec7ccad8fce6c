"""The fake trading API's orders: validation (symbol, quantity, prices, bands, stops), slicing,
risk checks, matching and fills, modify, cancel, baskets and position exits."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from livetrade.errors import InvalidInput
from livetrade.model import IST
from livetrade.testing.fake_books import _Books
from livetrade.testing.fake_rest_types import (
    _CENT,
    _PRODUCTS,
    _SYMBOL_RE,
    _TAG_RE,
    CANCELLED,
    EXPIRED,
    FILLED,
    LOT_MESSAGE,
    PENDING,
    REJECTED,
    FakeOrder,
    FakeReply,
    _err,
    _ok,
    _phrase,
)


class _Orders(_Books):
    """Placing, matching, modifying and cancelling orders."""

    def set_price(self, symbol: str, price: Decimal | str | int) -> None:
        """Move ``symbol`` and match its resting orders (the price source must be a mapping)."""
        with self._lock:
            if self._price_fn is not None:
                raise InvalidInput("prices", "the fake takes its prices from a callable")
            self._prices[symbol] = Decimal(price)
            self.match(symbol)

    def match(self, symbol: str | None = None) -> int:
        """Match resting orders (of ``symbol``, or all) against the current prices; returns
        the number of fills made."""
        with self._lock:
            fills = 0
            for order in list(self.orders.values()):
                if order.status == PENDING and (symbol is None or order.symbol == symbol):
                    fills += self._match(order)
            if fills:
                self.publish()
            return fills

    def _match(self, o: FakeOrder) -> int:
        price = self.price(o.symbol)
        if price is None or o.offline:
            return 0
        if o.type in (3, 4) and not o.triggered:
            if (o.side == 1 and price >= o.stop) or (o.side == -1 and price <= o.stop):
                o.triggered = True
            else:
                return 0
        if o.type in (1, 4) and (
            (o.side == 1 and price > o.limit) or (o.side == -1 and price < o.limit)
        ):
            return 0
        qty = o.remaining
        if self.max_fill_qty is not None:
            qty = min(qty, self.max_fill_qty)
        self._fill(o, qty, price)
        return 1

    def fill(
        self, order_id: str, quantity: int | None = None, price: Decimal | str | None = None
    ) -> None:
        """Fill a resting order by hand (``quantity`` defaults to all that remains; ``price``
        to the current price, else its limit)."""
        with self._lock:
            o = self.orders[order_id]
            if o.status != PENDING:
                raise InvalidInput("order_id", f"order {order_id} is not pending")
            qty = o.remaining if quantity is None else quantity
            if not 0 < qty <= o.remaining:
                raise InvalidInput("quantity", f"must be in 1..{o.remaining}")
            at = Decimal(price) if price is not None else (self.price(o.symbol) or o.limit)
            self._fill(o, qty, at)
            self.publish()

    def _fill(self, o: FakeOrder, qty: int, price: Decimal) -> None:
        o.filled += qty
        o.filled_value += price * qty
        if not o.exch_id:
            o.exch_id = self._exchange_id(o)
        key = (o.symbol, o.product)
        agg = self._agg.setdefault(key, [Decimal(0)] * 4)
        side = 0 if o.side == 1 else 2
        agg[side] += qty
        agg[side + 1] += price * qty
        self._dirty_positions[key] = None
        if o.filled == o.qty:
            o.status = FILLED
            o.message = "TRADE CONFIRMED"
        self._trade_seq += 1
        self.trades.append(
            {
                "order": o.id,
                "qty": qty,
                "price": price,
                "ts": self.clock(),
                "trade_id": f"{self._trade_seq:08d}{o.id[-4:]}",
            }
        )

    @staticmethod
    def _exchange_id(o: FakeOrder) -> str:
        return f"1100000{int(o.id[-8:]):08d}"

    def end_of_day(self) -> None:
        """Expire every resting order (status 7), as at the close."""
        with self._lock:
            for o in self.orders.values():
                if o.status == PENDING:
                    o.status = EXPIRED
                    o.message = "Order expired at end of day"
            self.publish()

    def _basket_place(self, now: float) -> Callable[[Any], FakeReply]:
        def place(item: Any) -> FakeReply:
            reply = self._place(item, now)
            if reply.body.get("s") != "ok":
                return reply
            # The Multi Order sample answers each placed order with code 200 and "Order
            # submitted successfully.Your Order Ref.No.<id>"; a single order (and the slice
            # sample) answers 1101. The fake follows each endpoint's own sample.
            oid = reply.body["id"]
            message = f"Order submitted successfully.Your Order Ref.No.{oid}"
            return FakeReply(200, {"s": "ok", "code": 200, "message": message, "id": oid})

        return place

    def _basket_modify(self, item: Any) -> FakeReply:
        reply = self._modify(item)
        if reply.body.get("s") != "ok":
            return reply
        return FakeReply(200, {**reply.body, "code": 200})  # the Modify Multi Orders sample

    def _basket(self, body: Any, one: Callable[[Any], FakeReply]) -> FakeReply:
        """``/multi-order/sync``: up to 10 orders, each answered on its own (``data`` holds
        ``statusCode``, the single-order ``body`` and ``statusDescription``)."""
        if not isinstance(body, list) or not body:
            return _err(400, -50, "Invalid parameters: send a JSON array of orders")
        if len(body) > 10:
            return _err(400, -50, "Invalid parameters: at most 10 orders per basket")
        data = []
        for item in body:
            reply = one(item)
            data.append(
                {
                    "statusCode": reply.status,
                    "body": reply.body,
                    "statusDescription": "HTTP OK" if reply.status == 200 else _phrase(reply),
                }
            )
        return _ok(data=data)

    def _exit_positions(self, body: Any, now: float) -> FakeReply:
        """``DELETE /positions``: close open positions with market orders. ``{}`` or
        ``{"exit_all": 1}``: all of them; ``{"id": id or [ids]}``: those; ``{"segment": [..],
        "side": [..], "productType": [..]}``: those that match all three; with
        ``"pending_orders_cancel": 1`` the pending orders of those symbols are cancelled
        first. No open position: -352; an unknown position id: -53. Code 201 when a closing
        order did not fill completely (the docs' "counter order placed but not filled")."""
        if body is None:
            body = {}
        if not isinstance(body, dict):
            return _err(400, -50, "Invalid parameters")
        open_keys = [k for k, a in self._agg.items() if a[0] != a[2]]
        wanted = open_keys
        if "id" in body:
            ids = body["id"] if isinstance(body["id"], list) else [body["id"]]
            if not ids or not all(isinstance(i, str) for i in ids):
                return _err(400, -50, "Invalid parameters: id must be a position id or a list")
            by_id = {f"{s}-{p}": (s, p) for s, p in self._agg}
            unknown = [i for i in ids if i not in by_id]
            if unknown:
                return _err(400, -53, f"Invalid position id {unknown[0]}")
            wanted = [by_id[i] for i in ids if by_id[i] in open_keys]
        elif any(k in body for k in ("segment", "side", "productType")):
            segments, sides, products = (body.get(k) for k in ("segment", "side", "productType"))
            if not (
                isinstance(segments, list)
                and isinstance(sides, list)
                and isinstance(products, list)
            ) or not (segments and sides and products):
                return _err(400, -50, "Invalid parameters: segment, side and productType lists")
            wanted = [
                (s, p)
                for s, p in open_keys
                if self._segment(s) in segments
                and self._side_of(s, p) in sides
                and ("ALL" in products or p in products)
            ]
        cancelled = 0
        if body.get("pending_orders_cancel") == 1:
            symbols = {s for s, _ in wanted} if "id" in body else None
            for o in self.orders.values():
                if o.status == PENDING and (symbols is None or o.symbol in symbols):
                    o.status, o.message = CANCELLED, "Cancelled by exit position"
                    cancelled += 1
        if not wanted:
            if cancelled:
                return _ok(message="Pending orders cancelled")
            return _err(400, -352, "No position to exit")
        unfilled = 0
        for symbol, product in wanted:
            net = self._net(symbol, product)
            o = FakeOrder(
                id=self._next_id(now),
                symbol=symbol,
                side=-1 if net > 0 else 1,
                type=2,
                product=product,
                qty=abs(net),
                limit=Decimal(0),
                stop=Decimal(0),
                validity="DAY",
                disclosed=0,
                offline=False,
                tag=None,
                placed_at=now,
                message="Exit position",
            )
            o.id_fyers = self._fyers_uuid(o.id)
            o.exch_id = self._exchange_id(o)
            self.orders[o.id] = o
            self._match(o)
            unfilled += o.status == PENDING
        if unfilled:
            message = "Counter order placed but not filled yet"
            return FakeReply(200, {"s": "ok", "code": 201, "message": message})
        return FakeReply(200, {"s": "ok", "code": 200, "message": "The position is closed."})

    def _side_of(self, symbol: str, product: str) -> int:
        net = self._net(symbol, product)
        return (net > 0) - (net < 0)

    def _fyers_uuid(self, order_id: str) -> str:
        """``id_fyers``: Fyers' own UUID for an order (stable per app and order id here)."""
        digest = hashlib.sha256(f"{self.app_id}:{order_id}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def _next_id(self, now: float) -> str:
        self._seq += 1
        return datetime.fromtimestamp(now, tz=IST).strftime("%y%m%d") + f"{self._seq:08d}"

    @staticmethod
    def _dec(value: Any) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
            return None
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            return None
        return d if d.is_finite() else None

    def _validate_order(self, body: Any) -> FakeReply | tuple[Any, ...]:
        if not isinstance(body, dict):
            return _err(400, -50, "Invalid parameters")
        required = (
            "symbol",
            "qty",
            "type",
            "side",
            "productType",
            "limitPrice",
            "stopPrice",
            "validity",
            "disclosedQty",
            "offlineOrder",
        )
        for name in required:
            if name not in body:
                return _err(400, -50, f"Please provide {name}")
        symbol = body["symbol"]
        if (
            not isinstance(symbol, str)
            or not _SYMBOL_RE.fullmatch(symbol)
            or self.price(symbol) is None
        ):
            return _err(400, -300, "Please provide a valid symbol")
        qty, otype, side = body["qty"], body["type"], body["side"]
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return _err(400, -50, "Invalid qty: must be a positive whole number")
        spec = self.spec(symbol)
        if spec is not None and qty % spec.lot:
            return _err(400, -50, LOT_MESSAGE)
        if otype not in (1, 2, 3, 4) or isinstance(otype, bool):
            return _err(400, -50, "Invalid order type")
        if side not in (1, -1) or isinstance(side, bool):
            return _err(400, -50, "Invalid side")
        if body["productType"] not in _PRODUCTS:
            return _err(400, -50, f"Invalid productType {body['productType']!r}")
        if body["validity"] not in ("DAY", "IOC"):
            return _err(400, -50, "Invalid validity")
        limit, stop = self._dec(body["limitPrice"]), self._dec(body["stopPrice"])
        if limit is None or stop is None or limit < 0 or stop < 0:
            return _err(400, -50, "Invalid price")
        if otype in (1, 4) and limit == 0:
            return _err(400, -50, "Limit price is required for this order type")
        if otype in (3, 4) and stop == 0:
            return _err(400, -50, "Stop price (trigger) is required for this order type")
        off_tick = self._off_tick(symbol, limit, stop)
        if off_tick is not None:
            return _err(400, -50, off_tick)
        broken = self._stop_rule(symbol, otype, side, limit, stop, bool(body["offlineOrder"]))
        broken = broken or self._band_rule(symbol, limit, stop)
        if broken is not None:
            return _err(400, -50, broken)
        tag = body.get("orderTag")
        if tag is not None and (
            not isinstance(tag, str) or not _TAG_RE.fullmatch(tag) or tag == "Untagged"
        ):
            return _err(400, -50, "Invalid orderTag: 1-30 alphanumeric characters")
        return (symbol, qty, otype, side, body["productType"], limit, stop, tag)

    def _slices(self, body: dict[str, Any], qty: int, freeze: int, now: float) -> FakeReply:
        """``isSliceOrder``: the order split at the freeze quantity, each slice its own order
        (at most 10), answered like the docs' Auto-Order Slice sample (its top level has no
        ``s``; the fake adds the envelope's ``"s": "ok"``)."""
        spec = self.spec(body["symbol"])
        if spec is not None:  # every slice a whole number of lots, none above the freeze
            freeze = max(spec.lot, freeze - freeze % spec.lot)
        if -(-qty // freeze) > 10:
            return _err(400, -50, f"Quantity {qty} needs more than 10 slices of {freeze}")
        data = []
        left = qty
        while left:
            part = min(left, freeze)
            left -= part
            reply = self._place({**body, "qty": part, "isSliceOrder": False}, now)
            item = reply.body
            if item.get("s") == "ok":
                item = {**item, "message": "Successfully placed order"}
            data.append(
                {
                    "statusCode": reply.status,
                    "body": item,
                    "statusDescription": "OK" if reply.status == 200 else _phrase(reply),
                }
            )
        message = "Order Slice placed successfully"
        return FakeReply(200, {"s": "ok", "code": 1101, "message": message, "data": data})

    def _band_rule(self, symbol: str, limit: Decimal, stop: Decimal) -> str | None:
        """Exchanges reject a price outside the day's circuit limits (exchange-rules.md §3).
        The docs give no Fyers code for it: the fake answers -50 with the band in the message,
        as the exchange's reason reads."""
        band = self.bands(symbol) if self.bands is not None else None
        if band is None:
            return None
        lower, upper = band
        for name, value in (("Limit", limit), ("Stop", stop)):
            if value and not lower <= value <= upper:
                return (
                    f"{name} price {value} is outside the circuit limits {lower} - {upper} "
                    f"of {symbol} (price band)"
                )
        return None

    def _stop_rule(
        self, symbol: str, otype: int, side: int, limit: Decimal, stop: Decimal, offline: bool
    ) -> str | None:
        """The documented stop-price rules (Order Placement Guide, SL-M and SL-L): the stop
        must not be above the LTP for a sell nor below it for a buy, and must be below the
        limit for a buy and above it for a sell. The docs name no error code for these; the
        fake answers -50 ("invalid parameters", the message says which). The LTP rule is not
        applied to AMOs (no live price to hold them to)."""
        if otype not in (3, 4):
            return None
        ltp = None if offline else self.price(symbol)
        if ltp is not None and side == 1 and stop < ltp:
            return f"Stop price {stop} should not be lower than the LTP {ltp} for a buy order"
        if ltp is not None and side == -1 and stop > ltp:
            return f"Stop price {stop} should not be higher than the LTP {ltp} for a sell order"
        if otype == 4 and side == 1 and stop >= limit:
            return f"Stop price {stop} should be lower than the limit price {limit} for a buy"
        if otype == 4 and side == -1 and stop <= limit:
            return f"Stop price {stop} should be higher than the limit price {limit} for a sell"
        return None

    def _off_tick(self, symbol: str, *prices: Decimal) -> str | None:
        """Prices must be multiples of the symbol's tick (FYDOC "Price Validations"): ₹0.05,
        or a derivative's own (₹0.10 for NIFTY futures)."""
        spec = self.spec(symbol)
        tick = 5 if spec is None else spec.tick
        if any((value * 100) % tick for value in prices):
            return f"Price should be in multiples of tick size {Decimal(tick) / 100}"
        return None

    def _freeze(self, symbol: str) -> int | None:
        """The freeze quantity: ``freeze_qty``'s for this symbol, else a derivative's own,
        else ``freeze_qty`` when it is one figure for all."""
        if isinstance(self.freeze_qty, Mapping):
            if symbol in self.freeze_qty:
                return self.freeze_qty[symbol]
            spec = self.spec(symbol)
            return None if spec is None else spec.freeze
        spec = self.spec(symbol)
        return spec.freeze if spec is not None else self.freeze_qty

    def _place(self, body: Any, now: float) -> FakeReply:
        checked = self._validate_order(body)
        if isinstance(checked, FakeReply):
            return checked
        symbol, qty, otype, side, product, limit, stop, tag = checked
        freeze = self._freeze(symbol)
        if freeze is not None and qty > freeze:
            if body.get("isSliceOrder") is not True:
                return _err(400, -50, f"Quantity {qty} is above the freeze quantity {freeze}")
            return self._slices(body, qty, freeze, now)
        o = FakeOrder(
            id=self._next_id(now),
            symbol=symbol,
            side=side,
            type=otype,
            product=product,
            qty=qty,
            limit=limit,
            stop=stop,
            validity=body["validity"],
            disclosed=int(body["disclosedQty"] or 0),
            offline=bool(body["offlineOrder"]),
            tag=tag,
            placed_at=now,
        )
        o.id_fyers = self._fyers_uuid(o.id)
        self.orders[o.id] = o
        refusal = self._risk(o)
        fault = self._take_fault("POST", "/orders/sync", ("reject",))
        if fault is not None:
            refusal = (fault.code, fault.message)
        if refusal is not None:
            o.status, o.message = REJECTED, refusal[1]
            return _err(400, refusal[0], refusal[1])
        o.message = "Order submitted"
        if not o.offline:
            o.exch_id = self._exchange_id(o)  # the exchange acknowledged it (AMOs wait)
        self._match(o)
        if o.validity == "IOC" and o.status == PENDING:
            o.status, o.message = CANCELLED, "IOC order cancelled: not filled immediately"
        return FakeReply(
            200,
            {
                "s": "ok",
                "code": 1101,
                "message": f"Order submitted successfully. Your Order Ref. No.{o.id}",
                "id": o.id,
            },
        )

    def _risk(self, o: FakeOrder) -> tuple[int, str] | None:
        price = o.limit if o.type in (1, 4) else (self.price(o.symbol) or Decimal(0))
        price = max(price, o.stop)
        if o.product == "CNC" and o.side == -1:
            held = self._holdings.get(o.symbol, (0, Decimal(0)))[0] + self._cnc_today(o.symbol)
            pending = sum(
                p.remaining
                for p in self.orders.values()
                if p is not o
                and p.status == PENDING
                and p.symbol == o.symbol
                and p.product == "CNC"
                and p.side == -1
            )
            if o.qty > held - pending:
                return -99, (
                    f"RED:Insufficient holdings to sell {o.qty} {o.symbol}: "
                    f"{max(held - pending, 0)} free [FYERS_RISK_CUM_RMS]"
                )
            return None
        if o.product in ("INTRADAY", "MARGIN"):
            net = self._net(o.symbol, o.product)
            if net * o.side < 0 and o.qty <= abs(net):
                return None  # closes (part of) a position: no new margin
        rate = Decimal(1) if o.product == "CNC" else self.intraday_margin
        need = (price * o.qty * rate).quantize(_CENT, ROUND_HALF_UP)
        free = self.available()
        if need > free:
            return -99, (
                f"RED:Margin Shortfall:INR {need - free:,.2f} Available:INR "
                f"{max(free, Decimal(0)):,.2f} for C-{self.fy_id} [FYERS_RISK_CUM_RMS]"
            )
        return None

    def _lookup(self, body: Any) -> FakeOrder | FakeReply:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            return _err(400, -50, "Please provide id")
        o = self.orders.get(body["id"])
        if o is None:
            return _err(400, -51, "Invalid order id")
        return o

    def _modify(self, body: Any) -> FakeReply:
        found = self._lookup(body)
        if isinstance(found, FakeReply):
            return found
        o = found
        if o.status != PENDING:
            return _err(400, -99, "Order is not in pending state; it cannot be modified")
        otype = body.get("type", o.type)
        if otype not in (1, 2, 3, 4) or isinstance(otype, bool):
            return _err(400, -50, "Invalid order type")
        limit = self._dec(body["limitPrice"]) if "limitPrice" in body else o.limit
        stop = self._dec(body["stopPrice"]) if "stopPrice" in body else o.stop
        qty = body.get("qty", o.qty)
        if limit is None or stop is None or limit < 0 or stop < 0:
            return _err(400, -50, "Invalid price")
        off_tick = self._off_tick(o.symbol, limit, stop)
        if off_tick is not None:
            return _err(400, -50, off_tick)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= o.filled:
            return _err(400, -50, "Invalid qty: must exceed the filled quantity")
        spec = self.spec(o.symbol)
        if spec is not None and qty % spec.lot:
            return _err(400, -50, LOT_MESSAGE)
        if otype in (1, 4) and limit == 0:
            return _err(400, -50, "Limit price is required for this order type")
        if otype in (3, 4) and stop == 0:
            return _err(400, -50, "Stop price (trigger) is required for this order type")
        broken = self._band_rule(o.symbol, limit, stop)
        if not o.triggered:
            broken = broken or self._stop_rule(o.symbol, otype, o.side, limit, stop, o.offline)
        if broken is not None:
            return _err(400, -50, broken)
        o.type, o.limit, o.stop, o.qty = otype, limit, stop, qty
        o.message = "Order modified"
        self._match(o)
        return FakeReply(
            200, {"s": "ok", "code": 1101, "message": "Successfully modified order", "id": o.id}
        )

    def _cancel(self, body: Any) -> FakeReply:
        found = self._lookup(body)
        if isinstance(found, FakeReply):
            return found
        o = found
        if o.status != PENDING:
            return _err(400, -99, "Order is not in pending state; it cannot be cancelled")
        o.status, o.message = CANCELLED, "Cancelled by user"
        return FakeReply(
            200, {"s": "ok", "code": 1103, "message": "Successfully cancelled order", "id": o.id}
        )
