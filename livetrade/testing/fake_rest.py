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
``freeze_qty``) and ``multi-order/sync`` baskets, the ``multiorder/margin`` calculator
(:mod:`~livetrade.testing.fake_margin`), with Fyers' envelopes and codes (-300 unknown symbol,
-50 with the documented stop-price rules...). Market orders fill at the price you set (a
mapping or a callable), limits rest until the price crosses, SL/SL-M trigger on the price,
``max_fill_qty`` makes partial fills, ``fill()`` fills by hand. Order, trade and
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
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from livetrade.testing.fake_margin import _Margin

# re-exported: the names this module had before it was split (tests import them from here)
from livetrade.testing.fake_rest_types import BASE_PATH as BASE_PATH
from livetrade.testing.fake_rest_types import CANCELLED as CANCELLED
from livetrade.testing.fake_rest_types import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    FakeOrder,
    FakeReply,
    RecordedRequest,
    _b64url,
    _err,
)
from livetrade.testing.fake_rest_types import EXPIRED as EXPIRED
from livetrade.testing.fake_rest_types import FILLED as FILLED
from livetrade.testing.fake_rest_types import ORDER_SOURCE as ORDER_SOURCE
from livetrade.testing.fake_rest_types import PENDING as PENDING
from livetrade.testing.fake_rest_types import REJECTED as REJECTED
from livetrade.testing.fake_rest_types import TRANSIT as TRANSIT
from livetrade.testing.fake_rest_types import ContractSpec as ContractSpec
from livetrade.testing.fake_rest_types import PriceSource as PriceSource
from livetrade.testing.fake_transport import ThreadedFakeServer, mock_transport

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


class FakeFyersRest(_Margin):
    """The fake (see the module docstring). Thread-safe: one lock around every call.

    ``prices``: symbol → rupees, or a callable returning the price (``None``: unknown symbol).
    ``funds``: the opening cash. ``holdings``: symbol → (quantity, cost price) in demat.
    ``intraday_margin``: the fraction of an INTRADAY order's value blocked as margin.
    ``freeze_qty``: the freeze quantity (all symbols, or per symbol); larger orders need
    ``isSliceOrder`` and are split into at most 10 orders.
    ``contracts``: the derivatives (symbol → :class:`ContractSpec`, or a callable): their
    quantities must be whole lots, prices multiples of their tick, and their freeze quantity
    applies unless ``freeze_qty`` names the symbol; slices are whole lots.
    ``clock``: wall-clock seconds (token expiry, order times, ``enforce_limits``).
    ``hsm_key``: the key minted into its tokens (default: derived from ``app_id``). Given the
    fake data socket's key, tokens from a login here pass that socket's auth (it checks the key).
    """

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
            ("POST", "/multiorder/margin"): lambda: self._order_margin(body),
            ("POST", "/logout"): lambda: self._logout(headers),
        }
        handler = handlers.get((method, route))
        if handler is None:
            if any(r == route for _, r in handlers):
                return _err(405, 405, f"{method} not allowed on {route}")
            return _err(404, 404, f"no route {route}")
        return handler()

    def _logout(self, headers: Mapping[str, str]) -> FakeReply:
        """``POST /logout``: the token of this request stops working (for this app only)."""
        jwt = headers.get("authorization", "").rpartition(":")[2]
        self._tokens.discard(jwt)
        self.revoked.add(jwt)
        return FakeReply(
            200, {"s": "ok", "code": 200, "message": "you are successfully logged out"}
        )

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
