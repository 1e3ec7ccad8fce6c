"""The Fyers v3 trading REST API on ``httpx.AsyncClient``: orders, books, positions, funds.

:class:`FyersRestClient` is a native async client (no SDK at run time; spec 3.1-3.6):

* one ``httpx.AsyncClient`` (connection reuse) and a timeout on every call;
* the base URL is configuration (default ``https://api-t1.fyers.in/api/v3``), so the fake in
  :mod:`livetrade.testing.fake_rest` stands in for Fyers in tests and demos;
* the headers Fyers wants on every call: ``Authorization: APP_ID:token``,
  ``Content-Type: application/json``, ``version: 3``;
* our own :class:`RateLimiter` keeps under 10 requests/s and 200/min (orders ≤ 10/s) -- a user
  who exceeds the per-minute limit more than three times a day is blocked for the day -- and a
  429 pauses every caller for its ``Retry-After``;
* every order carries an ``orderTag``. A place whose answer is lost (timeout, dropped
  connection, 5xx) is never blindly resent: the client looks the tag up in the order book first
  and resends only if Fyers has no such order (:class:`SubmitUncertain` when it cannot tell);
* answers are parsed into plain dataclasses with ``Decimal`` money (JSON numbers are read as
  ``Decimal`` straight from the text, never through ``float``); Fyers statuses become
  :class:`~livetrade.model.OrderStatus`; error envelopes become
  :class:`~livetrade.errors.OrderRejected` (:class:`FyersOrderRejected`) with a stable code.

The access token never appears in a repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Final, Literal

import httpx

from livetrade.errors import AuthError, InvalidInput, RateLimited
from livetrade.fyers.auth import DEFAULT_API_URL, Token
from livetrade.fyers.records import (  # sans-I/O: re-exported here for old imports
    _IP_RE,
    _RATE_CODE,
    AUTH_ERROR_CODES,
    FYERS_ORDER_TYPE,
    BasketAck,
    BasketLeg,
    BrokerHolding,
    BrokerOrder,
    BrokerPosition,
    BrokerTrade,
    ExitAck,
    FundLimit,
    Funds,
    FyersOrderRejected,
    FyersStatus,
    Holdings,
    LegResult,
    OrderAck,
    Positions,
    Profile,
    _int_or_none,
    _leg_results,
    _opt_str,
    _rows,
    _str,
    classify_rejection,
    client_tag,
    map_order_status,
    new_tag,
    parse_funds,
    parse_holdings,
    parse_order,
    parse_positions,
    parse_profile,
    parse_trade,
    rejection_from,
    validate_tag,
)
from livetrade.fyers.rest import FyersApiError, is_loopback, pause_on_429
from livetrade.model import Order, OrderKind, OrderStatus, Product, Side
from livetrade.money import from_paise, to_paise

__all__ = [
    "AUTH_ERROR_CODES",
    "BASKET_PATH",
    "DEFAULT_API_URL",
    "DEFAULT_LIMITS",
    "FYERS_ORDER_TYPE",
    "BasketAck",
    "BasketLeg",
    "BrokerHolding",
    "BrokerOrder",
    "BrokerPosition",
    "BrokerTrade",
    "ExitAck",
    "FundLimit",
    "Funds",
    "FyersApiError",
    "FyersOrderRejected",
    "FyersRestClient",
    "FyersStatus",
    "FyersUnavailable",
    "Holdings",
    "LegResult",
    "OrderAck",
    "Positions",
    "Profile",
    "RateLimited",
    "RateLimiter",
    "SubmitUncertain",
    "classify_rejection",
    "client_tag",
    "map_order_status",
    "new_tag",
    "parse_funds",
    "parse_holdings",
    "parse_order",
    "parse_positions",
    "parse_trade",
    "rejection_from",
    "validate_tag",
]

log = logging.getLogger("livetrade.fyers.broker")

ORDER_PATH: Final = "/orders/sync"
BASKET_PATH: Final = "/multi-order/sync"
MAX_BASKET: Final = 10
"""Fyers takes at most 10 orders in one basket (``/multi-order/sync``) and cuts an order into
at most 10 slices (``isSliceOrder``)."""
# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------


class FyersUnavailable(FyersApiError):
    """Fyers could not be reached or did not answer in time (after the allowed retries)."""


class SubmitUncertain(FyersApiError):
    """A place request's answer was lost and the order book could not settle whether Fyers has
    the order. Do NOT resend blindly: reconcile later with ``find_by_tag(exc.tag)``."""

    def __init__(self, message: str, tag: str) -> None:
        super().__init__(message)
        self.tag = tag


class _NotSent(Exception):
    """The request certainly never reached Fyers (connect failure): safe to resend."""


class _Lost(Exception):
    """The request may have reached Fyers but its answer is lost (timeout, reset, 5xx)."""


# --------------------------------------------------------------------------------------------
# rate limiting
# --------------------------------------------------------------------------------------------

DEFAULT_LIMITS: Final[Mapping[str, tuple[tuple[int, float], ...]]] = {
    "all": ((10, 1.0), (200, 60.0)),
    "orders": ((10, 1.0),),
}
"""Fyers' documented limits (spec 3.1): 10/s and 200/min across REST; orders ≤ 10/s."""

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """Sliding-window limits, granted in arrival order (FIFO), with a shared pause.

    ``limits`` maps a group name to ``(count, seconds)`` windows; :meth:`acquire` takes a slot
    in every window of the groups named, atomically, waiting as long as needed: no window of
    ``seconds`` ever holds more than ``count`` grants. :meth:`pause` (a 429's ``Retry-After``)
    holds every caller back. ``clock`` and ``sleep`` are injectable so tests need no waiting.
    """

    def __init__(
        self,
        limits: Mapping[str, Iterable[tuple[int, float]]] = DEFAULT_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._windows: dict[str, list[tuple[int, float, deque[float]]]] = {}
        for group, windows in limits.items():
            parsed = []
            for count, seconds in windows:
                if count < 1 or not seconds > 0:
                    raise InvalidInput("limits", f"{group}: need count ≥ 1 and seconds > 0")
                parsed.append((int(count), float(seconds), deque[float]()))
            self._windows[group] = parsed
        self.clock = clock
        self.sleep = sleep
        self._paused_until = float("-inf")
        self._lock = asyncio.Lock()
        self.granted = 0
        self.waited = 0.0

    def __repr__(self) -> str:
        limits = {g: [(c, s) for c, s, _ in ws] for g, ws in self._windows.items()}
        return f"RateLimiter({limits}, granted={self.granted})"

    def delay(self, *groups: str) -> float:
        """Seconds until :meth:`acquire` for ``groups`` would be granted (0 if now)."""
        now = self.clock()
        wait = self._paused_until - now
        for group in groups or ("all",):
            for count, seconds, stamps in self._windows.get(group, ()):
                while stamps and stamps[0] <= now - seconds:
                    stamps.popleft()
                if len(stamps) >= count:
                    wait = max(wait, stamps[-count] + seconds - now)
        return max(wait, 0.0)

    async def acquire(self, *groups: str) -> float:
        """Wait for a slot in every window of ``groups`` (default ``"all"``); returns the
        seconds waited."""
        names = groups or ("all",)
        unknown = [g for g in names if g not in self._windows]
        if unknown:
            raise InvalidInput("groups", f"unknown rate-limit group(s) {unknown}")
        waited = 0.0
        async with self._lock:
            while (wait := self.delay(*names)) > 0:
                waited += wait
                await self.sleep(wait)
            now = self.clock()
            for group in names:
                for _, _, stamps in self._windows[group]:
                    stamps.append(now)
        self.granted += 1
        self.waited += waited
        return waited

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now (a 429's ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self.clock() + max(seconds, 0.0))


# --------------------------------------------------------------------------------------------
# the client
# --------------------------------------------------------------------------------------------

_NOT_SENT: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
    httpx.LocalProtocolError,
)


def _coerce(enum_cls: type[Any], value: object, code: str, fld: str) -> Any:
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        key = value.strip().upper().replace("-", "_")
        for member in enum_cls:
            if key in (member.name, str(member.value).upper().replace("-", "_")):
                return member
    raise FyersOrderRejected(
        code, f"{fld} {value!r} is not one of {[m.name for m in enum_cls]}.", fld
    )


def _price_arg(value: object, fld: str) -> int | None:
    if value is None:
        return None
    try:
        paise = to_paise(value, fld)
    except InvalidInput as exc:
        raise FyersOrderRejected("INVALID_PRICE", f"{fld} {exc.reason}.", fld) from None
    if paise <= 0:
        raise FyersOrderRejected("INVALID_PRICE", f"{fld} must be positive.", fld)
    return paise


def _wire_price(paise: int | None) -> float | int:
    """Paise → the JSON number Fyers expects (``800.05``; ``0`` when unused)."""
    return 0 if paise is None else float(from_paise(paise))


def _quantity_arg(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise FyersOrderRejected(
            "INVALID_QUANTITY",
            f"Quantity must be a positive whole number, got {quantity!r}.",
            "quantity",
        )
    return quantity


def _check_prices(kind: OrderKind, limit: int | None, trigger: int | None) -> None:
    needs_limit = kind in (OrderKind.LIMIT, OrderKind.SL)
    needs_trigger = kind in (OrderKind.SL, OrderKind.SL_M)
    if needs_limit and limit is None:
        raise FyersOrderRejected(
            "MISSING_PRICE", f"A {kind.value} order needs a limit_price.", "limit_price"
        )
    if not needs_limit and limit is not None:
        raise FyersOrderRejected(
            "UNEXPECTED_PRICE", f"A {kind.value} order takes no limit_price.", "limit_price"
        )
    if needs_trigger and trigger is None:
        raise FyersOrderRejected(
            "MISSING_PRICE", f"A {kind.value} order needs a trigger_price.", "trigger_price"
        )
    if not needs_trigger and trigger is not None:
        raise FyersOrderRejected(
            "UNEXPECTED_PRICE", f"A {kind.value} order takes no trigger_price.", "trigger_price"
        )


class FyersRestClient:
    """Async client for the Fyers v3 trading REST API. See the module docstring.

    ``token`` is a :class:`~livetrade.fyers.auth.Token` or an ``APP_ID:jwt`` string (a bare
    JWT needs ``app_id=``); an expired token is refused before anything is sent
    (:class:`~livetrade.fyers.auth.TokenExpired`), and Fyers' own refusals (HTTP 401/403, codes
    -8/-15/-16/-17) raise :class:`~livetrade.errors.AuthError`.

    ``timeout`` bounds every request. ``client`` (an ``httpx.AsyncClient`` you own) or
    ``transport`` (e.g. ``httpx.MockTransport``) replace the default connection pool.
    ``limiter`` is shared by everything using the same Fyers app+user in this process: by
    default the app's :func:`livetrade.governor.governor_for` (also used by the data and
    history calls). ``now`` is the wall clock (token expiry);
    ``sleep`` waits before an order-book lookup after a lost answer (``settle_delay``).
    """

    def __init__(
        self,
        token: Token | str,
        *,
        app_id: str | None = None,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        now: Callable[[], float] = time.time,
        sleep: Sleep | None = None,
        max_rate_retries: int = 3,
        max_retry_after: float = 30.0,
        submit_attempts: int = 2,
        settle_delay: float = 0.5,
        lookup_attempts: int = 2,
        read_retries: int = 1,
    ) -> None:
        self._token = self._as_token(token, app_id)
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidInput("base_url", f"must be an http(s) URL, got {base_url!r}")
        if not timeout > 0:
            raise InvalidInput("timeout", "must be positive")
        if submit_attempts < 1 or lookup_attempts < 1 or read_retries < 0:
            raise InvalidInput("submit_attempts", "attempt counts must be ≥ 1 (retries ≥ 0)")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        if limiter is None:  # the app's one governor: every REST client of the app shares it
            from livetrade.governor import governor_for

            limiter = governor_for(self._token.app_id)
        self.limiter = limiter
        self._now = now
        self._sleep: Sleep = sleep if sleep is not None else self.limiter.sleep
        self.max_rate_retries = max_rate_retries
        self.max_retry_after = max_retry_after
        self.submit_attempts = submit_attempts
        self.settle_delay = settle_delay
        self.lookup_attempts = lookup_attempts
        self.read_retries = read_retries
        self._client = client
        self._own_client = client is None
        self._transport = transport

    @staticmethod
    def _as_token(token: Token | str, app_id: str | None) -> Token:
        if isinstance(token, Token):
            if app_id is not None and app_id != token.app_id:
                raise AuthError(f"the token is for app {token.app_id!r}, not {app_id!r}")
            return token
        if not isinstance(token, str) or not token.strip():
            raise AuthError("FyersRestClient needs an access token")
        prefix, _, _ = token.strip().rpartition(":")
        owner = app_id or prefix or None
        if owner is None:
            raise AuthError("a bare access token needs app_id=... (or pass 'APP_ID:token')")
        return Token.from_jwt(owner, token)

    # ---- plumbing ----------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self._token

    @property
    def app_id(self) -> str:
        return self._token.app_id

    def check_token(self) -> Token:
        """The token if it is still valid now, else :class:`TokenExpired` saying when it died."""
        return self._token.ensure_valid(self._now())

    def set_token(self, token: Token | str) -> None:
        """Use a renewed token from now on (Fyers tokens end daily)."""
        self._token = self._as_token(token, self._token.app_id)

    def __repr__(self) -> str:
        return (
            f"FyersRestClient(app_id={self.app_id!r}, base_url={self.base_url!r}, "
            f"token=<hidden>, expires={self._token.expires_at:%Y-%m-%d %H:%M} IST)"
        )

    __str__ = __repr__

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                trust_env=not is_loopback(self.base_url),
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._own_client:
            await client.aclose()

    async def __aenter__(self) -> FyersRestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": self._token.authorization,
            "Content-Type": "application/json",
            "version": "3",
        }

    def _scrub(self, text: str) -> str:
        for secret in (self._token.authorization, self._token.access_token):
            text = text.replace(secret, "<hidden>")
        return text

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        params: Mapping[str, str] | None = None,
        order: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """One logical request: limiter, send, 429 retries, auth check. Returns
        (HTTP status, JSON object). Raises _NotSent / _Lost for transport trouble."""
        self._token.ensure_valid(self._now())
        url = self.base_url + path
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        rate_retries = 0
        while True:
            if order:
                await self.limiter.acquire("all", "orders")
            else:
                await self.limiter.acquire("all")
            started = time.perf_counter()
            try:
                resp = await self._http().request(
                    method,
                    url,
                    content=content,
                    params=params,
                    headers=self._headers(),
                    timeout=self.timeout,
                )
            except _NOT_SENT as exc:
                log.warning("Fyers %s %s not sent: %s", method, path, type(exc).__name__)
                raise _NotSent(type(exc).__name__) from None
            except httpx.TimeoutException as exc:
                log.warning("Fyers %s %s timed out after %g s", method, path, self.timeout)
                raise _Lost(f"{type(exc).__name__} after {self.timeout:g} s") from None
            except httpx.TransportError as exc:
                log.warning("Fyers %s %s lost: %s", method, path, type(exc).__name__)
                raise _Lost(type(exc).__name__) from None
            status = resp.status_code
            log.debug(
                "Fyers %s %s -> HTTP %s in %.0f ms",
                method,
                path,
                status,
                (time.perf_counter() - started) * 1000,
            )
            data = self._json(resp)
            code = data.get("code") if data is not None else None
            if pause_on_429(
                resp, code, rate_retries + 1, f"{method} {path}", self.limiter,
                self.max_rate_retries, self.max_retry_after,
            ):  # fmt: skip
                rate_retries += 1
                continue
            message = self._scrub(_str(data.get("message")) if data else "")
            if (status in (401, 403) or code in AUTH_ERROR_CODES) and not (
                status == 403 and code not in AUTH_ERROR_CODES and _IP_RE.search(message)
            ):  # a 403 about the static-IP whitelist is a refusal, not a dead token
                raise AuthError(
                    f"Fyers refused the access token on {method} {path} (HTTP {status}"
                    f"{f', code {code}' if code is not None else ''}"
                    f"{f': {message}' if message else ''}); log in again for a fresh token"
                )
            if status >= 500:  # the request may or may not have been carried out
                raise _Lost(f"HTTP {status}: {message or 'no JSON message'}")
            if data is None:
                raise FyersApiError(
                    f"Fyers {method} {path} answered HTTP {status} with a non-JSON body",
                    status=status,
                )
            return status, data

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any] | None:
        try:
            data = json.loads(resp.content, parse_float=Decimal)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def _read(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A GET with ``read_retries`` resends on transport trouble; error envelopes raise
        :class:`FyersApiError`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                status, data = await self._call("GET", path, params=params)
            except (_NotSent, _Lost) as exc:
                if attempt > self.read_retries:
                    raise FyersUnavailable(
                        f"Fyers GET {path} failed {attempt} times (last: {exc})"
                    ) from None
                continue
            if data.get("s") != "ok":
                code = data.get("code")
                message = self._scrub(_str(data.get("message")) or "no message")
                raise FyersApiError(
                    f"Fyers GET {path} failed (HTTP {status}, code {code}): {message}",
                    code=code if isinstance(code, int) else None,
                    status=status,
                )
            return data

    # ---- reads -------------------------------------------------------------------------------

    async def profile(self) -> Profile:
        return parse_profile(await self._read("/profile"))

    async def funds(self) -> Funds:
        return parse_funds(await self._read("/funds"))

    async def holdings(self) -> Holdings:
        return parse_holdings(await self._read("/holdings"))

    async def positions(self) -> Positions:
        return parse_positions(await self._read("/positions"))

    async def tradebook(self) -> list[BrokerTrade]:
        return [parse_trade(r) for r in _rows(await self._read("/tradebook"), "tradeBook")]

    async def orderbook(self, order_id: str | None = None) -> list[BrokerOrder]:
        """Today's orders (``order_id``: just that one, via ``?id=`` as the SDK sends it)."""
        params = None if order_id is None else {"id": order_id}
        orders = [parse_order(r) for r in _rows(await self._read("/orders", params), "orderBook")]
        if order_id is not None:
            orders = [o for o in orders if o.order_id == order_id]
        return orders

    async def order(self, order_id: str) -> BrokerOrder | None:
        """One order by Fyers id, or None if the order book does not have it."""
        found = await self.orderbook(order_id)
        return found[0] if found else None

    async def find_by_tag(self, tag: str) -> BrokerOrder | None:
        """The order carrying ``orderTag`` ``tag`` (the full book is read and filtered here,
        not by a server-side filter whose tag prefix rules we cannot check)."""
        matches = [o for o in await self.orderbook() if o.tag == tag]
        if len(matches) > 1:
            ids = ", ".join(o.order_id for o in matches)
            raise SubmitUncertain(f"{len(matches)} Fyers orders carry the tag {tag!r}: {ids}", tag)
        return matches[0] if matches else None

    # ---- orders ------------------------------------------------------------------------------

    def order_body(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        kind: OrderKind | str = OrderKind.MARKET,
        product: Product | str = Product.INTRADAY,
        *,
        limit_price: object = None,
        trigger_price: object = None,
        tag: str | None = None,
        validity: Literal["DAY", "IOC"] = "DAY",
        offline: bool = False,
        slice: bool = False,
    ) -> dict[str, Any]:
        """The JSON body :meth:`place_order` sends (validated; a tag is made if none given)."""
        if not isinstance(symbol, str) or ":" not in symbol or symbol != symbol.strip():
            raise FyersOrderRejected(
                "INVALID_SYMBOL", f"Symbol {symbol!r} is not like 'NSE:SBIN-EQ'.", "symbol"
            )
        side_ = _coerce(Side, side, "INVALID_SIDE", "side")
        kind_ = _coerce(OrderKind, kind, "INVALID_ORDER_TYPE", "kind")
        product_ = _coerce(Product, product, "INVALID_PRODUCT", "product")
        qty = _quantity_arg(quantity)
        limit = _price_arg(limit_price, "limit_price")
        trigger = _price_arg(trigger_price, "trigger_price")
        _check_prices(kind_, limit, trigger)
        if validity not in ("DAY", "IOC"):
            raise FyersOrderRejected(
                "INVALID_VALIDITY", f"Validity must be DAY or IOC, got {validity!r}.", "validity"
            )
        tag_ = validate_tag(new_tag() if tag is None else tag, self._token.fy_id)
        body: dict[str, Any] = {
            "symbol": symbol,
            "qty": qty,
            "type": FYERS_ORDER_TYPE[kind_],
            "side": int(side_),
            "productType": product_.value,
            "limitPrice": _wire_price(limit),
            "stopPrice": _wire_price(trigger),
            "validity": validity,
            "disclosedQty": 0,
            "offlineOrder": bool(offline),
            "orderTag": tag_,
        }
        if slice:
            body["isSliceOrder"] = True
        return body

    async def place_order(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        kind: OrderKind | str = OrderKind.MARKET,
        product: Product | str = Product.INTRADAY,
        *,
        limit_price: object = None,
        trigger_price: object = None,
        tag: str | None = None,
        validity: Literal["DAY", "IOC"] = "DAY",
        offline: bool = False,
        slice: bool = False,
    ) -> OrderAck:
        """Place an order (``POST /orders/sync``); returns the Fyers order id.

        Market, limit, SL (stop-limit: ``trigger_price`` and ``limit_price``) and SL-M
        (stop-market: ``trigger_price``), for INTRADAY or CNC. Every order carries an
        ``orderTag`` (``tag``, or a fresh random one). If the answer is lost the tag is looked
        up in the order book before anything is resent, so an order is never placed twice.

        ``slice=True`` (``isSliceOrder``) lets Fyers cut an order above the exchange's freeze
        quantity into at most 10 orders, all carrying the tag: ``OrderAck.slices`` has each
        one's result (a refused slice does not undo the others); it raises only if no slice
        was placed. Without it such an order is refused (-50).

        Raises :class:`FyersOrderRejected` (bad input, or Fyers said no),
        :class:`SubmitUncertain` (the answer was lost and the book cannot tell),
        :class:`~livetrade.errors.AuthError`.
        """
        body = self.order_body(
            symbol,
            side,
            quantity,
            kind,
            product,
            limit_price=limit_price,
            trigger_price=trigger_price,
            tag=tag,
            validity=validity,
            offline=offline,
            slice=slice,
        )
        return await self._submit(body)

    async def place(self, order: Order, *, namespace: str = "") -> OrderAck:
        """Place one of the engine's :class:`~livetrade.model.Order` objects, tagged with
        :func:`client_tag` of its ``order_id`` (so a restart can find it by tag)."""
        return await self.place_order(
            order.symbol,
            order.side,
            order.quantity,
            order.kind,
            order.product,
            limit_price=order.limit_price,
            trigger_price=order.trigger_price,
            tag=client_tag(order.order_id, namespace),
        )

    async def _submit(self, body: dict[str, Any]) -> OrderAck:
        tag = str(body["orderTag"])
        attempts = 0
        while True:
            attempts += 1
            log.info(
                "placing Fyers order tag=%s %s %s x%s type=%s %s (attempt %d)",
                tag,
                "BUY" if body["side"] == 1 else "SELL",
                body["symbol"],
                body["qty"],
                body["type"],
                body["productType"],
                attempts,
            )
            try:
                status, data = await self._call("POST", ORDER_PATH, body=body, order=True)
            except _NotSent as exc:
                if attempts >= self.submit_attempts:
                    raise FyersOrderRejected(
                        "BROKER_UNREACHABLE",
                        f"Fyers could not be reached ({exc}); the order was not placed.",
                    ) from None
                continue
            except _Lost as exc:
                if body.get("isSliceOrder"):
                    sliced = await self._look_for_slices(tag, body, str(exc), attempts)
                    if sliced is not None:
                        return sliced
                    found = None
                else:
                    found = await self._look_for(tag, body, str(exc))
                if found is not None:
                    return self._recovered(found, tag, attempts)
                if attempts >= self.submit_attempts:
                    raise SubmitUncertain(
                        f"placing the order tagged {tag!r} failed {attempts} times (last: {exc}) "
                        "and the order book does not show it yet; check find_by_tag() before "
                        "placing it again",
                        tag,
                    ) from None
                log.warning("order tag=%s not in the order book after %s: resending", tag, exc)
                continue
            except RateLimited as exc:
                raise FyersOrderRejected(
                    "RATE_LIMITED",
                    f"{exc}; the order was not placed.",
                    fyers_code=_RATE_CODE,
                    http_status=429,
                ) from None
            if data.get("s") != "ok":
                code = data.get("code")
                raise rejection_from(
                    self._scrub(_str(data.get("message"))),
                    code if isinstance(code, int) else None,
                    status,
                )
            order_id = _opt_str(data.get("id"))
            code = data.get("code")
            if order_id is None and isinstance(data.get("data"), list):
                return self._sliced(data, tag, attempts)
            if order_id is None and body.get("isSliceOrder"):
                why = f"answer without an id (code {code})"
                sliced = await self._look_for_slices(tag, body, why, attempts)
                if sliced is None:
                    raise SubmitUncertain(
                        f"Fyers accepted the sliced order tagged {tag!r} without ids (code "
                        f"{code}) and the order book does not show it yet",
                        tag,
                    )
                return sliced
            if order_id is None:  # e.g. code 201: sent, no exchange acknowledgement yet
                found = await self._look_for(tag, body, f"answer without an id (code {code})")
                if found is None:
                    raise SubmitUncertain(
                        f"Fyers accepted the order tagged {tag!r} without an id (code {code}) "
                        "and the order book does not show it yet",
                        tag,
                    )
                return self._recovered(found, tag, attempts)
            return OrderAck(
                order_id,
                tag,
                _str(data.get("message")),
                code if isinstance(code, int) else None,
                attempts=attempts,
            )

    async def _look_for(self, tag: str, body: Mapping[str, Any], why: str) -> BrokerOrder | None:
        """After a lost answer: is the tagged order in the book? (None = certainly not.)"""
        last = ""
        for _ in range(self.lookup_attempts):
            await self._sleep(self.settle_delay)
            try:
                found = await self.find_by_tag(tag)
            except SubmitUncertain:
                raise
            except (FyersApiError, AuthError) as exc:  # cannot tell: never resend blind
                last = str(exc)
                if isinstance(exc, AuthError):
                    break
                continue
            if found is not None and (
                found.symbol != body["symbol"]
                or int(found.side) != body["side"]
                or found.quantity != body["qty"]
            ):
                raise SubmitUncertain(
                    f"the order book has order {found.order_id} tagged {tag!r} but for "
                    f"{found.side.name} {found.quantity} {found.symbol}: tags must be unique",
                    tag,
                )
            log.info(
                "after %s the order tagged %s is %s",
                why,
                tag,
                "in the book" if found else "not in the book",
            )
            return found
        raise SubmitUncertain(
            f"the answer to the order tagged {tag!r} was lost ({why}) and the order book "
            f"could not be read ({last}); check find_by_tag() before placing it again",
            tag,
        )

    @staticmethod
    def _recovered(found: BrokerOrder, tag: str, attempts: int) -> OrderAck:
        if found.status is OrderStatus.REJECTED:
            raise rejection_from(found.message, None, None)
        return OrderAck(
            found.order_id,
            tag,
            "found in the order book after a lost answer",
            recovered=True,
            attempts=attempts,
        )

    def _sliced(self, data: Mapping[str, Any], tag: str, attempts: int) -> OrderAck:
        """The Auto-Order Slice answer: one result per slice; raises if none was placed."""
        code = data.get("code")
        rows = data.get("data")
        legs = _leg_results(rows, [tag] * len(rows if isinstance(rows, list) else []), self._scrub)
        placed = [leg for leg in legs if leg.order_id is not None]
        if not placed:
            first = next((leg.rejection for leg in legs if leg.rejection is not None), None)
            raise first or rejection_from("no slice was placed", _int_or_none(code), None)
        return OrderAck(
            placed[0].order_id or "",
            tag,
            _str(data.get("message")),
            _int_or_none(code),
            attempts=attempts,
            slices=tuple(legs),
        )

    async def _look_for_slices(
        self, tag: str, body: Mapping[str, Any], why: str, attempts: int
    ) -> OrderAck | None:
        """After a lost answer to a sliced order: the slices the order book shows under its
        tag (None: none, so nothing was placed). Never resent blind: an unreadable book is
        :class:`SubmitUncertain`."""
        last = ""
        for _ in range(self.lookup_attempts):
            await self._sleep(self.settle_delay)
            try:
                rows = [o for o in await self.orderbook() if o.tag == tag]
            except (FyersApiError, AuthError) as exc:
                last = str(exc)
                if isinstance(exc, AuthError):
                    break
                continue
            if any(r.symbol != body["symbol"] or int(r.side) != body["side"] for r in rows):
                raise SubmitUncertain(
                    f"the order book has orders tagged {tag!r} for another symbol or side: "
                    "tags must be unique",
                    tag,
                )
            log.info("after %s the sliced order tagged %s has %d slices", why, tag, len(rows))
            if not rows:
                return None
            legs = tuple(
                LegResult(i, tag, r.order_id, r.message, recovered=True) for i, r in enumerate(rows)
            )
            return OrderAck(
                rows[0].order_id,
                tag,
                "found in the order book after a lost answer",
                recovered=True,
                attempts=attempts,
                slices=legs,
            )
        raise SubmitUncertain(
            f"the answer to the sliced order tagged {tag!r} was lost ({why}) and the order "
            f"book could not be read ({last}); check the order book before placing it again",
            tag,
        )

    # ---- baskets -----------------------------------------------------------------------------

    def basket_body(self, legs: Sequence[BasketLeg | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The JSON array :meth:`place_basket` sends: each leg validated as a single order
        (a refusal names the leg: ``orders[2].quantity``); tags made where missing, unique."""
        if isinstance(legs, (str, bytes, Mapping)) or not isinstance(legs, Sequence):
            raise FyersOrderRejected(
                "INVALID_BASKET", "A basket is a list of orders (BasketLeg or dicts).", "orders"
            )
        if not 1 <= len(legs) <= MAX_BASKET:
            raise FyersOrderRejected(
                "INVALID_BASKET",
                f"A basket holds 1 to {MAX_BASKET} orders, got {len(legs)}.",
                "orders",
            )
        bodies: list[dict[str, Any]] = []
        for i, raw in enumerate(legs):
            try:
                leg = raw if isinstance(raw, BasketLeg) else BasketLeg(**raw)
            except TypeError as exc:
                raise FyersOrderRejected(
                    "INVALID_BASKET", f"Basket order {i + 1}: {exc}.", f"orders[{i}]"
                ) from None
            try:
                bodies.append(
                    self.order_body(
                        leg.symbol,
                        leg.side,
                        leg.quantity,
                        leg.kind,
                        leg.product,
                        limit_price=leg.limit_price,
                        trigger_price=leg.trigger_price,
                        tag=leg.tag,
                        validity=leg.validity,
                        offline=leg.offline,
                    )
                )
            except FyersOrderRejected as rej:
                raise FyersOrderRejected(
                    rej.code,
                    f"Basket order {i + 1}: {rej.reason}",
                    f"orders[{i}].{rej.field}" if rej.field else f"orders[{i}]",
                ) from None
        tags = [b["orderTag"] for b in bodies]
        dup = next((t for t in tags if tags.count(t) > 1), None)
        if dup is not None:
            raise FyersOrderRejected(
                "INVALID_TAG",
                f"Two basket orders carry the tag {dup!r}; each needs its own (a lost answer "
                "is looked up by tag).",
                "orders.tag",
            )
        return bodies

    async def place_basket(self, legs: Sequence[BasketLeg | Mapping[str, Any]]) -> BasketAck:
        """Place up to 10 orders in one request (``POST /multi-order/sync``); Fyers answers
        each on its own, so one may be refused while the others are placed (see
        :attr:`BasketAck.legs`). Legs are :class:`BasketLeg` or dicts of its fields.

        A lost answer is settled by tag in the order book: legs found there are placed, the
        rest resent (only those) while ``submit_attempts`` allow, else marked ``uncertain``.
        Raises :class:`FyersOrderRejected` for a bad leg (nothing sent) or a basket Fyers
        refused whole, :class:`~livetrade.errors.AuthError` for a dead token.
        """
        bodies = self.basket_body(legs)
        results: dict[int, LegResult] = {}
        todo = list(range(len(bodies)))
        attempts = 0
        message, code = "", None
        while todo:
            attempts += 1
            log.info("placing a Fyers basket of %d orders (attempt %d)", len(todo), attempts)
            try:
                status, data = await self._call(
                    "POST", BASKET_PATH, body=[bodies[i] for i in todo], order=True
                )
            except _NotSent as exc:
                if attempts >= self.submit_attempts:
                    if results:  # an earlier send placed some: report, do not raise
                        for i in todo:
                            results[i] = LegResult(
                                i, bodies[i]["orderTag"], None, f"not sent ({exc})", uncertain=True
                            )
                        break
                    raise FyersOrderRejected(
                        "BROKER_UNREACHABLE",
                        f"Fyers could not be reached ({exc}); the basket was not placed.",
                    ) from None
                continue
            except _Lost as exc:
                found = await self._basket_lookup([bodies[i] for i in todo], str(exc))
                if found is None:  # cannot tell: never resend blind
                    for i in todo:
                        results[i] = LegResult(
                            i, bodies[i]["orderTag"], None, f"answer lost ({exc})", uncertain=True
                        )
                    break
                for i in list(todo):
                    row = found.get(bodies[i]["orderTag"])
                    if row is not None:
                        results[i] = LegResult(
                            i, row.tag, row.order_id, row.message, recovered=True
                        )
                        todo.remove(i)
                if todo and attempts >= self.submit_attempts:
                    for i in todo:
                        results[i] = LegResult(
                            i, bodies[i]["orderTag"], None, f"answer lost ({exc})", uncertain=True
                        )
                    break
                continue
            except RateLimited as exc:
                raise FyersOrderRejected(
                    "RATE_LIMITED",
                    f"{exc}; the basket was not placed.",
                    fyers_code=_RATE_CODE,
                    http_status=429,
                ) from None
            if data.get("s") != "ok":
                refused = rejection_from(
                    self._scrub(_str(data.get("message"))),
                    _int_or_none(data.get("code")),
                    status,
                    action="the basket",
                )
                if not results:
                    raise refused
                for i in todo:  # a resend refused whole: the legs placed before stand
                    tag = bodies[i]["orderTag"]
                    results[i] = LegResult(i, tag, None, refused.reason, rejection=refused)
                break
            message, code = _str(data.get("message")), _int_or_none(data.get("code"))
            legs_back = _leg_results(
                data.get("data"), [bodies[i]["orderTag"] for i in todo], self._scrub
            )
            for leg in legs_back:
                results[todo[leg.index]] = dataclasses.replace(leg, index=todo[leg.index])
            todo = []
        return BasketAck(
            tuple(results[i] for i in range(len(bodies))), message, code, attempts=attempts
        )

    async def _basket_lookup(
        self, bodies: list[dict[str, Any]], why: str
    ) -> dict[str | None, BrokerOrder] | None:
        """After a lost basket answer: the legs the order book shows, by tag (None if it
        could not be read: those legs end up ``uncertain``, never resent blind)."""
        await self._sleep(self.settle_delay)
        try:
            book = await self.orderbook()
        except (FyersApiError, AuthError) as exc:
            log.warning("basket answer lost (%s); the order book could not be read: %s", why, exc)
            return None
        tags = {b["orderTag"] for b in bodies}
        return {o.tag: o for o in book if o.tag in tags}

    async def modify_order(
        self,
        order_id: str,
        *,
        kind: OrderKind | str,
        quantity: int | None = None,
        limit_price: object = None,
        trigger_price: object = None,
    ) -> OrderAck:
        """Change a pending order (``PATCH /orders/sync``). Fyers wants the order's type;
        only the fields given are sent. A lost answer is resent once (same values)."""
        kind_ = _coerce(OrderKind, kind, "INVALID_ORDER_TYPE", "kind")
        body: dict[str, Any] = {"id": self._order_id_arg(order_id), "type": FYERS_ORDER_TYPE[kind_]}
        limit = _price_arg(limit_price, "limit_price")
        trigger = _price_arg(trigger_price, "trigger_price")
        if limit is not None:
            if kind_ not in (OrderKind.LIMIT, OrderKind.SL):
                raise FyersOrderRejected(
                    "UNEXPECTED_PRICE",
                    f"A {kind_.value} order takes no limit_price.",
                    "limit_price",
                )
            body["limitPrice"] = _wire_price(limit)
        if trigger is not None:
            if kind_ not in (OrderKind.SL, OrderKind.SL_M):
                raise FyersOrderRejected(
                    "UNEXPECTED_PRICE",
                    f"A {kind_.value} order takes no trigger_price.",
                    "trigger_price",
                )
            body["stopPrice"] = _wire_price(trigger)
        if quantity is not None:
            body["qty"] = _quantity_arg(quantity)
        return await self._change("PATCH", body, "the modification")

    async def cancel_order(self, order_id: str) -> OrderAck:
        """Cancel a pending order (``DELETE /orders/sync``). If the answer is lost, the order
        book decides: already cancelled → done; still open → resend."""
        body = {"id": self._order_id_arg(order_id)}
        return await self._change("DELETE", body, "the cancel")

    async def exit_positions(
        self, position_ids: Sequence[str] | None = None, *, cancel_pending: bool = False
    ) -> ExitAck:
        """Close open positions at Fyers with its own counter orders (``DELETE /positions``):
        all of them, or those ``position_ids`` (``"NSE:SBIN-EQ-INTRADAY"``). With
        ``cancel_pending`` Fyers first cancels the pending orders of those symbols.

        One request, never resent once it may have arrived (a second exit could cross a
        counter order still working): a lost answer is :class:`FyersUnavailable`, and the
        order book says what happened. An error envelope (-352 nothing to exit, -53 unknown
        position id...) is :class:`FyersApiError` with its ``code``."""
        body: dict[str, Any]
        if position_ids is None:
            body = {"exit_all": 1}
        else:
            ids = [position_ids] if isinstance(position_ids, str) else list(position_ids)
            if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
                raise InvalidInput("position_ids", "give position ids like 'NSE:SBIN-EQ-CNC'")
            body = {"id": ids[0] if len(ids) == 1 else ids}
        if cancel_pending:
            body["pending_orders_cancel"] = 1
        status, data = await self._once("DELETE", "/positions", body, "exit positions")
        code = data.get("code")
        if data.get("s") != "ok":
            message = self._scrub(_str(data.get("message")) or "no message")
            raise FyersApiError(
                f"Fyers did not exit the positions (HTTP {status}, code {code}): {message}",
                code=code if isinstance(code, int) else None,
                status=status,
            )
        return ExitAck(code if isinstance(code, int) else None, _str(data.get("message")))

    async def convert_position(
        self,
        symbol: str,
        side: Side | str,
        quantity: int,
        from_product: Product | str,
        to_product: Product | str,
        *,
        overnight: bool = False,
    ) -> str:
        """Move ``quantity`` of an open ``side`` (BUY = long) position of ``symbol`` from
        ``from_product`` to ``to_product`` (``POST /positions``; Fyers refuses CNC → anything).
        Returns Fyers' message; a refusal is :class:`FyersOrderRejected`, a lost answer
        :class:`FyersUnavailable` (not resent: read the positions back)."""
        side_ = _coerce(Side, side, "INVALID_SIDE", "side")
        src = _coerce(Product, from_product, "INVALID_PRODUCT", "from_product")
        dst = _coerce(Product, to_product, "INVALID_PRODUCT", "to_product")
        body = {
            "symbol": f"{symbol}-{src.value}",
            "positionSide": 1 if side_ is Side.BUY else -1,
            "convertQty": _quantity_arg(quantity),
            "convertFrom": src.value,
            "convertTo": dst.value,
            "overnight": 1 if overnight else 0,
        }
        status, data = await self._once("POST", "/positions", body, "the conversion")
        if data.get("s") != "ok":
            code = data.get("code")
            raise rejection_from(
                self._scrub(_str(data.get("message"))),
                code if isinstance(code, int) else None,
                status,
                action="the conversion",
            )
        return _str(data.get("message"))

    async def _once(
        self, method: str, path: str, body: dict[str, Any], action: str
    ) -> tuple[int, dict[str, Any]]:
        """A request that must not be repeated once it may have arrived: resent only when it
        certainly was not sent."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return await self._call(method, path, body=body, order=True)
            except _NotSent as exc:
                if attempts >= self.submit_attempts:
                    raise FyersUnavailable(
                        f"Fyers could not be reached for {action} ({exc})"
                    ) from None
            except _Lost as exc:
                raise FyersUnavailable(
                    f"Fyers' answer to {action} was lost ({exc}); read the positions and "
                    "the order book before trying again"
                ) from None

    @staticmethod
    def _order_id_arg(order_id: object) -> str:
        if not isinstance(order_id, str) or not order_id.strip():
            raise FyersOrderRejected(
                "UNKNOWN_ORDER", f"Order id {order_id!r} is not a Fyers order id.", "order_id"
            )
        return order_id.strip()

    async def _change(self, method: str, body: dict[str, Any], action: str) -> OrderAck:
        order_id = str(body["id"])
        attempts = 0
        while True:
            attempts += 1
            log.info("Fyers %s order %s (attempt %d)", method, order_id, attempts)
            try:
                status, data = await self._call(method, ORDER_PATH, body=body, order=True)
            except (_NotSent, _Lost) as exc:
                if method == "DELETE" and isinstance(exc, _Lost):
                    done = await self._cancel_settled(order_id)
                    if done is not None:
                        return OrderAck(
                            order_id,
                            done.tag,
                            "cancelled (found in the order book after a lost answer)",
                            recovered=True,
                            attempts=attempts,
                        )
                if attempts >= self.submit_attempts:
                    raise FyersUnavailable(
                        f"Fyers did not confirm {action} of order {order_id} after {attempts} "
                        f"attempts (last: {exc}); check the order book"
                    ) from None
                continue
            except RateLimited as exc:
                raise FyersOrderRejected(
                    "RATE_LIMITED",
                    f"{exc}; {action} was not sent.",
                    fyers_code=_RATE_CODE,
                    http_status=429,
                ) from None
            if data.get("s") != "ok":
                code = data.get("code")
                raise rejection_from(
                    self._scrub(_str(data.get("message"))),
                    code if isinstance(code, int) else None,
                    status,
                    action=action,
                )
            code = data.get("code")
            return OrderAck(
                _opt_str(data.get("id")) or order_id,
                None,
                _str(data.get("message")),
                code if isinstance(code, int) else None,
                attempts=attempts,
            )

    async def _cancel_settled(self, order_id: str) -> BrokerOrder | None:
        """After a lost cancel answer: the order if it is already cancelled; None if it is
        still open (resend); OrderRejected NOT_OPEN if it ended otherwise (filled...)."""
        await self._sleep(self.settle_delay)
        try:
            found = await self.order(order_id)
        except (FyersUnavailable, RateLimited):
            return None
        if found is None or found.status is OrderStatus.OPEN or found.status is OrderStatus.PENDING:
            return None
        if found.fyers_status is FyersStatus.CANCELLED:
            return found
        raise FyersOrderRejected(
            "NOT_OPEN",
            f"Order {order_id} is {found.status.value} at Fyers; it can no longer be cancelled.",
            "order_id",
        )
