"""The fake trading API's state: tokens, prices, fault injection and the request log (the base
of :class:`~livetrade.testing.fake_rest.FakeFyersRest`; see that module)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from livetrade.errors import InvalidInput
from livetrade.fyers.symbols import mint_fake_token
from livetrade.testing.fake_rest_types import (
    BASE_PATH,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    ContractSpec,
    FakeOrder,
    PriceSource,
    RecordedRequest,
    _b64url,
    _Fault,
    _json_default,
)


class _RestCore:
    """State, credentials, prices and faults of the fake trading API."""

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
        contracts: Callable[[str], ContractSpec | None] | Mapping[str, ContractSpec] | None = None,
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
        # derivatives: symbol -> lot, tick, freeze, segment... (None: a cash-market symbol)
        self.contracts = contracts
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

    def spec(self, symbol: str) -> ContractSpec | None:
        """The contract spec of a derivative (``contracts``), ``None`` for anything else."""
        if self.contracts is None:
            return None
        if callable(self.contracts):
            return self.contracts(symbol)
        return self.contracts.get(symbol)

    def price(self, symbol: str) -> Decimal | None:
        with self._lock:
            if self._price_fn is not None:
                value = self._price_fn(symbol)
                return None if value is None else Decimal(value)
            return self._prices.get(symbol)

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
