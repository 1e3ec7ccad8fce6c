"""An in-memory fake of the Fyers v3 trading REST API: login, orders, books, positions, funds.

:class:`FakeFyersRest` is a pure, transport-agnostic handler::

    fake = FakeFyersRest(prices={"NSE:SBIN-EQ": "800.00"})
    status, body = fake.handle("POST", "/api/v3/orders/sync", headers, b'{"symbol": ...}')

Mount it in any HTTP server (``respond()`` also returns the reply headers, a delay, and whether
the answer must be dropped), or use the two adapters here: :func:`mock_transport` for an
``httpx.AsyncClient`` and :class:`ThreadedFakeServer` (stdlib ``ThreadingHTTPServer`` on
loopback) for synchronous clients such as the official SDK. The fake data server
(:class:`~livetrade.testing.FakeFyersServer`) also mounts one, as ``fake.orders`` on its REST
port and priced by its simulated market, so one local fake serves data and trading alike.

What it does (spec 3.1-3.6, checked against the docs and the SDK in
``tests/test_fyers_parity.py``): ``validate-authcode`` (``appIdHash`` checked, codes
single-use), ``logout`` (the token stops working), ``profile``, ``funds``, ``holdings``,
``positions`` (GET; DELETE exits positions; POST converts them), ``tradebook``, ``orders``
(``?id=``, ``?order_tag=``), ``orders/sync`` POST/PATCH/DELETE (``isSliceOrder`` above
``freeze_qty``) and ``multi-order/sync`` baskets, with Fyers' envelopes and codes (-300
unknown symbol, -50 with the documented stop-price rules...). Market orders fill at the price
you set (a mapping or a callable), limits rest until the price crosses, SL/SL-M trigger on the
price, ``max_fill_qty`` makes partial fills, ``fill()`` fills by hand. Order, trade and
position updates go to :attr:`FakeFyersRest.listeners` (the order socket).
Buys are margin-checked against the funds and CNC sells against holdings (rejections land in the
book as status 5, as Fyers does). Faults for tests: :meth:`reject_next`, :meth:`drop_next` (the
request is carried out, or not, and the answer lost), :meth:`rate_limit_next` (429 with
``Retry-After``), :meth:`error_next`, :meth:`delay_next` and ``delay`` (answers late),
:meth:`expire_tokens`, and ``enforce_limits`` (429 past 10/s or 200/min on the fake's clock).
Every request is kept in :attr:`requests` (method, path, query, lower-cased headers, parsed
JSON body) so tests can compare clients.
"""

from __future__ import annotations

import base64
import hashlib
import http
import http.server
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from livetrade.errors import InvalidInput
from livetrade.fyers.order_socket import ORDER_KEYS, POSITION_KEYS
from livetrade.fyers.symbols import mint_fake_token
from livetrade.model import IST

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "FakeFyersRest",
    "FakeOrder",
    "FakeReply",
    "RecordedRequest",
    "ThreadedFakeServer",
    "mock_transport",
]

DEFAULT_APP_ID: Final = "ABCDEFGHIJ-100"
DEFAULT_APP_SECRET: Final = "FAKESECRET01"
BASE_PATH: Final = "/api/v3"
PriceSource = Mapping[str, Decimal | str | int] | Callable[[str], Decimal | str | int | None]

_TAG_RE: Final = re.compile(r"[A-Za-z0-9]{1,30}")
_SYMBOL_RE: Final = re.compile(r"[A-Z]{2,6}:[A-Z0-9&_.\- ]{1,60}")
_CENT: Final = Decimal("0.01")
_PRODUCTS: Final = ("CNC", "INTRADAY", "MARGIN")  # ours (Fyers also has CO, BO, MTF)
_FUND_TITLES: Final = (
    "Total Balance",
    "Utilized Amount",
    "Clear Balance",
    "Realized Profit and Loss",
    "Collaterals",
    "Fund Transfer",
    "Receivables",
    "Adhoc Limit",
    "Limit at start of the day",
    "Available Balance",
)

# Fyers order statuses (spec 3.6)
_RAW_ORDER: Final = {sdk: raw for raw, sdk in ORDER_KEYS.items()}  # order-book name → raw
_RAW_POSITION: Final = {sdk: raw for raw, sdk in POSITION_KEYS.items()}  # positions name → raw
# The keys of a position update on the order socket: the docs' "General Socket (positions)"
# table (no ltp / unrealized / pl there, although the SDK's map.json knows pl_total and
# pl_unrealized: the fake follows the docs).
_SOCKET_POSITION_KEYS: Final = (
    "symbol", "id", "buyAvg", "buyQty", "buyVal", "sellAvg", "sellQty", "sellVal", "netAvg",
    "netQty", "side", "qty", "productType", "realized_profit", "crossCurrency", "rbiRefRate",
    "fyToken", "exchange", "segment", "dayBuyQty", "daySellQty", "cfBuyQty", "cfSellQty",
    "qtyMulti_com",
)  # fmt: skip
ORDER_SOURCE: Final = "ITS"
"""``source`` of orders placed through the API: the docs' order-source table lists M (mobile),
W (web), R (Fyers One), A (admin) and ITS (API)."""
CANCELLED, FILLED, TRANSIT, REJECTED, PENDING, EXPIRED = 1, 2, 4, 5, 6, 7


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake saw it. ``headers`` have lower-case names; ``body`` is the
    parsed JSON (``None`` when empty, the text when it is not JSON)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes = field(repr=False)
    ts: float = 0.0


@dataclass(frozen=True, slots=True)
class FakeReply:
    """What to answer: status, JSON body and headers. ``delay``: seconds to wait before
    answering; ``drop``: do not answer at all (the client sees its request time out or the
    connection close) -- whether the request was carried out is up to the fault."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass(slots=True)
class FakeOrder:
    """One order in the fake book (prices ``Decimal`` rupees, 0 when unused)."""

    id: str
    symbol: str
    side: int
    type: int
    product: str
    qty: int
    limit: Decimal
    stop: Decimal
    validity: str
    disclosed: int
    offline: bool
    tag: str | None
    placed_at: float
    status: int = PENDING
    filled: int = 0
    filled_value: Decimal = Decimal(0)
    message: str = ""
    triggered: bool = False
    exch_id: str = ""
    id_fyers: str = ""

    @property
    def remaining(self) -> int:
        return self.qty - self.filled if self.status == PENDING else 0

    @property
    def avg_price(self) -> Decimal:
        return (self.filled_value / self.filled).quantize(_CENT) if self.filled else Decimal(0)


@dataclass(slots=True)
class _Fault:
    kind: str  # "drop_after" | "drop_before" | "delay" | "rate_limit" | "error" | "reject"
    method: str | None
    path: str | None
    retry_after: float = 1.0
    status: int = 500
    body: dict[str, Any] | None = None
    message: str = ""
    code: int = -99

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.endswith(self.path)
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _num(value: Decimal) -> float | int:
    """Money as Fyers sends it: a JSON number (``820.5``, ``0``)."""
    return 0 if value == 0 else float(value)


def _q(value: Decimal) -> Decimal:
    return value.quantize(_CENT, ROUND_HALF_UP)


def _phrase(reply: FakeReply) -> str:
    try:
        return http.HTTPStatus(reply.status).phrase
    except ValueError:
        return "Error"


def _err(status: int, code: int, message: str) -> FakeReply:
    return FakeReply(status, {"s": "error", "code": code, "message": message})


def _ok(**payload: Any) -> FakeReply:
    return FakeReply(200, {"s": "ok", "code": 200, "message": "", **payload})


class FakeFyersRest:
    """The fake (see the module docstring). Thread-safe: one lock around every call.

    ``prices``: symbol → rupees, or a callable returning the price (``None``: unknown symbol).
    ``funds``: the opening cash. ``holdings``: symbol → (quantity, cost price) in demat.
    ``intraday_margin``: the fraction of an INTRADAY order's value blocked as margin.
    ``freeze_qty``: the freeze quantity (all symbols, or per symbol); larger orders need
    ``isSliceOrder`` and are split into at most 10 orders.
    ``clock``: wall-clock seconds (token expiry, order times, ``enforce_limits``).
    ``hsm_key``: the key minted into its tokens (default: derived from ``app_id``). Given the
    fake data socket's key, tokens from a login here pass that socket's auth (it checks the key).
    """

    def __init__(
        self,
        *,
        prices: PriceSource | None = None,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        fy_id: str = "XF00001",
        funds: Decimal | str | int = Decimal("1000000"),
        holdings: Mapping[str, tuple[int, Decimal | str | int]] | None = None,
        intraday_margin: Decimal | str = Decimal("0.2"),
        max_fill_qty: int | None = None,
        freeze_qty: Mapping[str, int] | int | None = None,
        base_path: str = BASE_PATH,
        token_ttl: int = 86_400,
        enforce_limits: bool = False,
        clock: Callable[[], float] = time.time,
        hsm_key: str | None = None,
        bands: Callable[[str], tuple[Decimal, Decimal] | None] | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.fy_id = fy_id
        self.base_path = base_path.rstrip("/")
        self.clock = clock
        self.token_ttl = token_ttl
        self.max_fill_qty = max_fill_qty
        self.freeze_qty = freeze_qty
        self.intraday_margin = Decimal(intraday_margin)
        self.opening_cash = Decimal(funds)
        self.enforce_limits = enforce_limits
        # the day's circuit limits of a symbol (lower, upper) in rupees, or None: no band
        self.bands = bands
        self.delay = 0.0
        self.hsm_key = hsm_key or hashlib.sha256(f"fake-rest:{app_id}".encode()).hexdigest()[:56]
        self._lock = threading.RLock()
        self._prices: dict[str, Decimal] = {}
        self._price_fn: Callable[[str], Decimal | str | int | None] | None = None
        if callable(prices):
            self._price_fn = prices
        elif prices is not None:
            self._prices = {s: Decimal(p) for s, p in prices.items()}
        self._holdings: dict[str, tuple[int, Decimal]] = {
            s: (q, Decimal(c)) for s, (q, c) in (holdings or {}).items()
        }
        self.orders: dict[str, FakeOrder] = {}
        self.trades: list[dict[str, Any]] = []
        # today's (buy qty, buy value, sell qty, sell value) per (symbol, product): trades and
        # conversions move these; positions, margin and the CNC sell check read them
        self._agg: dict[tuple[str, str], list[Decimal]] = {}
        self._dirty_positions: dict[tuple[str, str], None] = {}  # to publish, in order
        self.revoked: set[str] = set()  # tokens ended by POST /logout
        self.requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._tokens: set[str] = set()
        self._codes: dict[str, float] = {}
        self._expired_all = False
        self._seq = 0
        self._trade_seq = 0
        self._stamps: dict[str, deque[float]] = {"s": deque(), "m": deque(), "o": deque()}
        self.limit_violations = 0
        # order-socket listeners: called with ("orders" | "trades", raw Fyers object)
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._published: dict[str, tuple[Any, ...]] = {}
        self._published_trades = 0
        self.access_token = self._mint_token()

    def __repr__(self) -> str:
        return (
            f"FakeFyersRest(app_id={self.app_id!r}, orders={len(self.orders)}, "
            f"requests={len(self.requests)})"
        )

    # ---- credentials -------------------------------------------------------------------------

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value for the current access token."""
        return f"{self.app_id}:{self.access_token}"

    def _mint_token(self, ttl: int | None = None) -> str:
        exp = int(self.clock()) + (self.token_ttl if ttl is None else ttl)
        jwt = mint_fake_token(self.hsm_key, exp, fy_id=self.fy_id, extra={"n": len(self._tokens)})
        self._tokens.add(jwt)
        return jwt

    def new_token(self, ttl: int | None = None) -> str:
        """A fresh valid access token (bare JWT); ``ttl`` seconds (negative: already dead)."""
        with self._lock:
            return self._mint_token(ttl)

    def issue_auth_code(self, ttl: int = 300) -> str:
        """An auth code as the browser login would hand out (single use, ``ttl`` seconds)."""
        with self._lock:
            exp = int(self.clock()) + ttl
            header = _b64url(b'{"typ":"JWT","alg":"HS256"}')
            claims = {
                "iss": "api.login.fyers.in",
                "sub": "auth_code",
                "exp": exp,
                "app_id": self.app_id,
                "n": len(self._codes),
            }
            payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
            code = f"{header}.{payload}."
            self._codes[code] = float(exp)
            return code

    def redirect_url(self, redirect_uri: str, state: str) -> str:
        """Where the browser lands after a successful login."""
        code = self.issue_auth_code()
        query = urlencode({"s": "ok", "code": 200, "auth_code": code, "state": state})
        return f"{redirect_uri}?{query}"

    def accept_token(self, jwt: str) -> None:
        """Accept ``jwt``, an access token minted elsewhere (bare JWT, e.g. the one a
        :class:`~livetrade.testing.FakeFyersServer` hands out), and make it the current
        :attr:`access_token`, until :meth:`expire_tokens`. Its ``exp`` claim still counts."""
        if not isinstance(jwt, str) or jwt.count(".") != 2 or ":" in jwt:
            raise InvalidInput("jwt", "must be a bare JWT (header.payload.signature)")
        with self._lock:
            self._tokens.add(jwt)
            self.revoked.discard(jwt)
            self.access_token = jwt

    def expire_tokens(self) -> None:
        """Every access token is refused from now on (401, code -8), as after the daily
        expiry; a new login (validate-authcode) mints a working one."""
        with self._lock:
            self._expired_all = True
            self._tokens.clear()

    # ---- market ------------------------------------------------------------------------------

    def price(self, symbol: str) -> Decimal | None:
        with self._lock:
            if self._price_fn is not None:
                value = self._price_fn(symbol)
                return None if value is None else Decimal(value)
            return self._prices.get(symbol)

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

    # ---- order socket ------------------------------------------------------------------------

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
            "segment": 10,
            "ordertag": f"1:{o.tag}" if o.tag else "2:Untagged",
            "id_fyers": o.id_fyers,
        }

    # ---- faults ------------------------------------------------------------------------------

    def reject_next(self, message: str, *, code: int = -99, count: int = 1) -> None:
        """The next ``count`` order placements are refused with ``message``/``code`` (an
        error envelope, HTTP 400; the order lands in the book as rejected)."""
        with self._lock:
            self._faults += [
                _Fault("reject", "POST", "/orders/sync", message=message, code=code)
                for _ in range(count)
            ]

    def drop_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        processed: bool = True,
    ) -> None:
        """Lose the answer to the next matching request(s). With ``processed`` the request
        is carried out first (the dangerous case: an order placed but the client never
        hears); without, it is not."""
        kind = "drop_after" if processed else "drop_before"
        with self._lock:
            self._faults += [_Fault(kind, method, path) for _ in range(count)]

    def delay_next(
        self,
        seconds: float,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Carry out the next matching request(s) but answer only after ``seconds`` (a client
        with a shorter timeout gives up first: the answer is lost)."""
        with self._lock:
            self._faults += [
                _Fault("delay", method, path, retry_after=seconds) for _ in range(count)
            ]

    def rate_limit_next(
        self,
        count: int = 1,
        *,
        retry_after: float = 1.0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next matching request(s) 429 with ``Retry-After`` (not carried out)."""
        with self._lock:
            self._faults += [
                _Fault("rate_limit", method, path, retry_after=retry_after) for _ in range(count)
            ]

    def error_next(
        self,
        status: int = 500,
        body: dict[str, Any] | None = None,
        *,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next matching request(s) with ``status`` (not carried out)."""
        with self._lock:
            self._faults += [
                _Fault("error", method, path, status=status, body=body) for _ in range(count)
            ]

    def _take_fault(self, method: str, path: str, kinds: tuple[str, ...]) -> _Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.kind in kinds and fault.matches(method, path):
                return self._faults.pop(i)
        return None

    # ---- the handler -------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body). ``path`` may carry a query string."""
        reply = self.respond(method, path, headers, body)
        return reply.status, reply.body

    def respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> FakeReply:
        """Like :meth:`handle`, with reply headers, ``delay`` and ``drop`` for the transport."""
        raw = body.encode() if isinstance(body, str) else (body or b"")
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw, parse_float=Decimal)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
        method = method.upper()
        lower = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            now = self.clock()
            self.requests.append(RecordedRequest(method, path, query, lower, parsed, raw, now))
            reply = self._respond(method, path, query, lower, parsed, now)
            self.publish()
            if self.delay and not reply.delay:
                reply = FakeReply(reply.status, reply.body, reply.headers, self.delay, reply.drop)
            return reply

    def _respond(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        now: float,
    ) -> FakeReply:
        if not path.startswith(self.base_path + "/"):
            return _err(404, 404, f"no route {path}")
        route = path[len(self.base_path) :]
        fault = self._take_fault(method, route, ("drop_before", "rate_limit", "error"))
        if fault is not None:
            if fault.kind == "drop_before":
                return FakeReply(504, {}, drop=True)
            if fault.kind == "rate_limit":
                return self._too_many(fault.retry_after)
            return FakeReply(
                fault.status,
                fault.body
                if fault.body is not None
                else {"s": "error", "code": fault.status, "message": "Internal server error"},
            )
        reply = self._route(method, route, query, headers, body, now)
        after = self._take_fault(method, route, ("drop_after", "delay"))
        if after is not None and after.kind == "delay":
            return FakeReply(reply.status, reply.body, reply.headers, delay=after.retry_after)
        if after is not None:
            return FakeReply(reply.status, reply.body, reply.headers, drop=True)
        return reply

    @staticmethod
    def _too_many(retry_after: float) -> FakeReply:
        return FakeReply(
            429,
            {"s": "error", "code": -429, "message": "request limit reached"},
            {"Retry-After": f"{retry_after:g}", "X-Retry-After-Ms": str(int(retry_after * 1000))},
        )

    def _over_limit(self, now: float, order: bool) -> bool:
        for key, count, window in (("s", 10, 1.0), ("m", 200, 60.0), ("o", 10, 1.0)):
            if key == "o" and not order:
                continue
            stamps = self._stamps[key]
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= count:
                self.limit_violations += 1
                return True
        for key in ("s", "m", "o") if order else ("s", "m"):
            self._stamps[key].append(now)
        return False

    def check_authorization(self, header: str) -> str | None:
        """``None`` if ``header`` (``APP_ID:token``) is a live credential, else why not (the
        order socket checks this at its handshake)."""
        with self._lock:
            refused = self._auth({"authorization": header}, self.clock())
        return None if refused is None else str(refused.body.get("message", "refused"))

    def _auth(self, headers: Mapping[str, str], now: float) -> FakeReply | None:
        value = headers.get("authorization", "")
        app, sep, jwt = value.rpartition(":")
        if not sep or app != self.app_id:
            return _err(401, -16, "Could not authenticate the user (invalid app id or token)")
        if jwt in self.revoked:
            return _err(401, -16, "Could not authenticate the user (logged out)")
        if jwt not in self._tokens:
            if self._expired_all:
                return _err(401, -8, "Your token has expired. Please generate a token")
            return _err(401, -16, "Could not authenticate the user")
        try:
            payload = json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))
            exp = int(payload["exp"])
        except (ValueError, KeyError, IndexError, TypeError):
            return _err(401, -15, "Please provide a valid token")
        if exp <= now:
            return _err(401, -8, "Your token has expired. Please generate a token")
        return None

    def _route(
        self,
        method: str,
        route: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        now: float,
    ) -> FakeReply:
        if route == "/validate-authcode":
            if method != "POST":
                return _err(405, 405, "use POST")
            return self._validate(body, now)
        denied = self._auth(headers, now)
        if denied is not None:
            return denied
        is_order = route in ("/orders/sync", "/multi-order/sync")
        if self.enforce_limits and self._over_limit(now, is_order):
            return self._too_many(1.0)
        handlers: dict[tuple[str, str], Callable[[], FakeReply]] = {
            ("GET", "/profile"): self._profile,
            ("GET", "/funds"): self._funds,
            ("GET", "/holdings"): self._holdings_reply,
            ("GET", "/positions"): self._positions,
            ("GET", "/tradebook"): self._tradebook,
            ("GET", "/orders"): lambda: self._orderbook(query),
            ("POST", "/orders/sync"): lambda: self._place(body, now),
            ("PATCH", "/orders/sync"): lambda: self._modify(body),
            ("DELETE", "/orders/sync"): lambda: self._cancel(body),
            ("POST", "/multi-order/sync"): lambda: self._basket(body, self._basket_place(now)),
            ("PATCH", "/multi-order/sync"): lambda: self._basket(body, self._basket_modify),
            ("DELETE", "/multi-order/sync"): lambda: self._basket(body, self._cancel),
            ("DELETE", "/positions"): lambda: self._exit_positions(body, now),
            ("POST", "/positions"): lambda: self._convert(body),
            ("POST", "/logout"): lambda: self._logout(headers),
        }
        handler = handlers.get((method, route))
        if handler is None:
            if any(r == route for _, r in handlers):
                return _err(405, 405, f"{method} not allowed on {route}")
            return _err(404, 404, f"no route {route}")
        return handler()

    # ---- logout, baskets, exit and convert positions -------------------------------------

    def _logout(self, headers: Mapping[str, str]) -> FakeReply:
        """``POST /logout``: the token of this request stops working (for this app only)."""
        jwt = headers.get("authorization", "").rpartition(":")[2]
        self._tokens.discard(jwt)
        self.revoked.add(jwt)
        return FakeReply(
            200, {"s": "ok", "code": 200, "message": "you are successfully logged out"}
        )

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
                if 10 in segments
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

    # ---- login -------------------------------------------------------------------------------

    def _validate(self, body: Any, now: float) -> FakeReply:
        if not isinstance(body, dict):
            return _err(400, -50, "Invalid parameters")
        if body.get("grant_type") != "authorization_code":
            return _err(400, -50, "Invalid grant_type")
        given = body.get("appIdHash")
        if not given:
            return _err(400, -371, "Please provide sha256 hash of appId and app secret")
        want = hashlib.sha256(f"{self.app_id}:{self.app_secret}".encode()).hexdigest()
        if given != want:
            return _err(400, -16, "Invalid appIdHash: check the app id and secret")
        code = body.get("code")
        exp = self._codes.pop(code, None) if isinstance(code, str) else None
        if exp is None:
            return _err(400, -17, "Invalid auth code")
        if exp <= now:
            return _err(400, -17, "Auth code expired")
        self._expired_all = False
        self.access_token = self._mint_token()
        refresh = _b64url(hashlib.sha256(self.access_token.encode()).digest())
        return FakeReply(
            200,
            {
                "s": "ok",
                "code": 200,
                "message": "",
                "access_token": self.access_token,
                "refresh_token": refresh,
            },
        )

    # ---- reads -------------------------------------------------------------------------------

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

    def _fytoken(self, symbol: str) -> str:
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
            "segment": 10,
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
                    "segment": 10,
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
            "segment": 10,
            "symbol": o.symbol,
            "instrument": 0,
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

    # ---- orders ------------------------------------------------------------------------------

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
        for value in (limit, stop):
            if (value * 100) % 5:
                return _err(400, -50, "Price should be in multiples of tick size 0.05")
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

    def _freeze(self, symbol: str) -> int | None:
        if isinstance(self.freeze_qty, Mapping):
            return self.freeze_qty.get(symbol)
        return self.freeze_qty

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
        if o.product == "INTRADAY":
            net = self._net(o.symbol, "INTRADAY")
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
        if any((v * 100) % 5 for v in (limit, stop)):
            return _err(400, -50, "Price should be in multiples of tick size 0.05")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= o.filled:
            return _err(400, -50, "Invalid qty: must exceed the filled quantity")
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

    def requests_to(self, route: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests whose path ends with ``route`` (and of ``method``)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.endswith(route) and (method is None or r.method == method)
            ]

    def encode(self, body: Mapping[str, Any]) -> bytes:
        """A reply body as JSON bytes (Decimals as numbers)."""
        return json.dumps(body, default=_json_default).encode()


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return _num(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# --------------------------------------------------------------------------------------------
# transports
# --------------------------------------------------------------------------------------------


def mock_transport(fake: FakeFyersRest) -> httpx.MockTransport:
    """An ``httpx.MockTransport`` serving ``fake`` (no sockets). A dropped answer raises
    ``httpx.ReadTimeout``, as the client would see it; a ``delay`` at least the request's
    read timeout does the same, without waiting."""
    import asyncio

    import httpx

    async def handler(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")
        reply = fake.respond(request.method, target, dict(request.headers), body)
        timeout = request.extensions.get("timeout", {}).get("read")
        if reply.drop or (reply.delay and timeout is not None and reply.delay >= timeout):
            raise httpx.ReadTimeout("fake Fyers: no answer", request=request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = {"Content-Type": "application/json", **reply.headers}
        return httpx.Response(reply.status, headers=headers, content=fake.encode(reply.body))

    return httpx.MockTransport(handler)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that gave up (timeout, dropped answer) is expected here


class ThreadedFakeServer:
    """Serve a :class:`FakeFyersRest` over real HTTP/1.1 on loopback, from a thread (for
    synchronous clients like the official SDK). ``base_url`` is ``http://127.0.0.1:<port>/
    api/v3``. A dropped answer closes the connection without a response; a delay sleeps in the
    handler thread (cut short by :meth:`close`)."""

    def __init__(self, fake: FakeFyersRest, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._closing = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                reply = outer.fake.respond(self.command, self.path, dict(self.headers), body)
                if reply.delay:
                    outer._closing.wait(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                data = outer.fake.encode(reply.body)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet: tests read fake.requests instead

        self._server = _QuietServer((host, port), Handler)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-fyers-rest", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.fake.base_path}"

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ThreadedFakeServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ThreadedFakeServer({self.base_url!r})"
