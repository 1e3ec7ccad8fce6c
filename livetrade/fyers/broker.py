"""The Fyers v3 trading REST API on ``aiohttp``: orders, books, positions, funds.

:class:`FyersRestClient` is a native async client (no SDK at run time; spec 3.1-3.6):

* one ``aiohttp.ClientSession`` (connection reuse) and a timeout on every call, through the
  seam in :mod:`livetrade.fyers.http` (an httpx transport or client still works there);
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

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

from livetrade.errors import AuthError, InvalidInput, RateLimited
from livetrade.fyers import basket as _basket
from livetrade.fyers import changes as _changes
from livetrade.fyers.auth import DEFAULT_API_URL, Token
from livetrade.fyers.basket import BASKET_PATH
from livetrade.fyers.failures import FyersUnavailable, SubmitUncertain
from livetrade.fyers.failures import Lost as _Lost
from livetrade.fyers.failures import NotSent as _NotSent
from livetrade.fyers.http import HttpFailure, make_seam
from livetrade.fyers.limits import DEFAULT_LIMITS, RateLimiter, Sleep
from livetrade.fyers.margin_call import OrderMargin, order_margin
from livetrade.fyers.option_chain import OptionChain, chain_params, parse_option_chain
from livetrade.fyers.order_args import (
    MAX_BASKET,
    ORDER_PATH,
    basket_body,
    modify_body,
    order_body,
    order_id_arg,
)
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
from livetrade.fyers.rest import FyersApiError, pause_on_429
from livetrade.model import Order, OrderKind, Product, Side

if TYPE_CHECKING:
    import aiohttp
    import httpx

__all__ = [
    "AUTH_ERROR_CODES",
    "BASKET_PATH",
    "DEFAULT_API_URL",
    "DEFAULT_LIMITS",
    "FYERS_ORDER_TYPE",
    "MAX_BASKET",
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
    "OptionChain",
    "OrderAck",
    "OrderMargin",
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

OPTION_CHAIN_PATH: Final = "/options-chain-v3"
_DECIMAL_JSON: Final = json.JSONDecoder(parse_float=Decimal)
"""JSON numbers as Decimal; made once (``json.loads(..., parse_float=)`` builds a decoder per
call, about half the parse time of a small answer)."""


class FyersRestClient:
    """Async client for the Fyers v3 trading REST API. See the module docstring.

    ``token`` is a :class:`~livetrade.fyers.auth.Token` or an ``APP_ID:jwt`` string (a bare
    JWT needs ``app_id=``); an expired token is refused before anything is sent
    (:class:`~livetrade.fyers.auth.TokenExpired`), and Fyers' own refusals (HTTP 401/403, codes
    -8/-15/-16/-17) raise :class:`~livetrade.errors.AuthError`.

    ``timeout`` bounds every request. ``client`` (an ``aiohttp.ClientSession`` or an
    ``httpx.AsyncClient`` you own) or ``transport`` (an httpx one, e.g. ``httpx.MockTransport``)
    replace the default aiohttp session. ``data_url`` is the market-data base (option chain);
    by default ``base_url`` with ``/api/v3`` swapped for ``/data``.
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
        client: aiohttp.ClientSession | httpx.AsyncClient | None = None,
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
        data_url: str | None = None,
    ) -> None:
        self._token = self._as_token(token, app_id)
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise InvalidInput("base_url", f"must be an http(s) URL, got {base_url!r}")
        if not timeout > 0:
            raise InvalidInput("timeout", "must be positive")
        if submit_attempts < 1 or lookup_attempts < 1 or read_retries < 0:
            raise InvalidInput("submit_attempts", "attempt counts must be ≥ 1 (retries ≥ 0)")
        self.base_url = base_url.rstrip("/")
        if data_url is None:
            root = self.base_url.removesuffix("/api/v3")
            data_url = root + "/data" if root != self.base_url else self.base_url
        if not data_url.startswith(("http://", "https://")):
            raise InvalidInput("data_url", f"must be an http(s) URL, got {data_url!r}")
        self.data_url = data_url.rstrip("/")
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
        self._seam = make_seam(self.base_url, timeout, client, transport)

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

    async def aclose(self) -> None:
        """Close the connection pool we made (a ``client`` handed in is the caller's)."""
        await self._seam.aclose()

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
        base: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One logical request: limiter, send, 429 retries, auth check. Returns
        (HTTP status, JSON object). Raises _NotSent / _Lost for transport trouble."""
        self._token.ensure_valid(self._now())
        url = (base or self.base_url) + path
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        rate_retries = 0
        while True:
            if order:
                await self.limiter.acquire("all", "orders")
            else:
                await self.limiter.acquire("all")
            started = time.perf_counter()
            try:
                resp = await self._seam.request(
                    method, url, headers=self._headers(), content=content, params=params
                )
            except HttpFailure as exc:
                if exc.not_sent:
                    log.warning("Fyers %s %s not sent: %s", method, path, exc.name)
                    raise _NotSent(exc.name) from None
                if exc.timed_out:
                    log.warning("Fyers %s %s timed out after %g s", method, path, self.timeout)
                    raise _Lost(f"{exc.name} after {self.timeout:g} s") from None
                log.warning("Fyers %s %s lost: %s", method, path, exc.name)
                raise _Lost(exc.name) from None
            status = resp.status
            log.debug(
                "Fyers %s %s -> HTTP %s in %.0f ms",
                method,
                path,
                status,
                (time.perf_counter() - started) * 1000,
            )
            data = self._json(resp.content)
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
    def _json(content: bytes) -> dict[str, Any] | None:
        try:
            data = _DECIMAL_JSON.decode(content.decode())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    async def _read(
        self, path: str, params: Mapping[str, str] | None = None, base: str | None = None
    ) -> dict[str, Any]:
        """A GET with ``read_retries`` resends on transport trouble; error envelopes raise
        :class:`FyersApiError`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                status, data = await self._call("GET", path, params=params, base=base)
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

    async def option_chain(
        self, symbol: str, strikecount: int, timestamp: int | str = ""
    ) -> OptionChain:
        """The option chain of an underlying (``GET <data_url>/options-chain-v3``):
        ``strikecount`` strikes (1-50) each side of the ATM one, for the expiry whose epoch
        ``timestamp`` is given (``""``: the nearest; the answer's ``expiries`` list the
        others). Rows carry paise; ``chain.to_frame()`` is a DataFrame."""
        params = chain_params(symbol, strikecount, timestamp)
        answer = await self._read(OPTION_CHAIN_PATH, params, base=self.data_url)
        return parse_option_chain(answer, symbol)

    async def order_margin(self, legs: Sequence[BasketLeg | Mapping[str, Any]]) -> OrderMargin:
        """What 1-10 orders not yet placed need (``POST /multiorder/margin``), in paise; put
        the buy legs first for the hedge benefit. Bad legs: ``InvalidInput`` naming
        ``legs[i].<field>``; refusals ``FyersApiError``. Nothing is placed."""
        return await order_margin(self, legs)

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
        return order_body(
            self._token.fy_id,
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
                    sliced = await _basket.look_for_slices(self, tag, body, str(exc), attempts)
                    if sliced is not None:
                        return sliced
                    found = None
                else:
                    found = await _basket.look_for(self, tag, body, str(exc))
                if found is not None:
                    return _basket.recovered(found, tag, attempts)
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
                return _basket.sliced(self, data, tag, attempts)
            if order_id is None and body.get("isSliceOrder"):
                why = f"answer without an id (code {code})"
                sliced = await _basket.look_for_slices(self, tag, body, why, attempts)
                if sliced is None:
                    raise SubmitUncertain(
                        f"Fyers accepted the sliced order tagged {tag!r} without ids (code "
                        f"{code}) and the order book does not show it yet",
                        tag,
                    )
                return sliced
            if order_id is None:  # e.g. code 201: sent, no exchange acknowledgement yet
                found = await _basket.look_for(
                    self, tag, body, f"answer without an id (code {code})"
                )
                if found is None:
                    raise SubmitUncertain(
                        f"Fyers accepted the order tagged {tag!r} without an id (code {code}) "
                        "and the order book does not show it yet",
                        tag,
                    )
                return _basket.recovered(found, tag, attempts)
            return OrderAck(
                order_id,
                tag,
                _str(data.get("message")),
                code if isinstance(code, int) else None,
                attempts=attempts,
            )

    # ---- baskets -----------------------------------------------------------------------------

    def basket_body(self, legs: Sequence[BasketLeg | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The JSON array :meth:`place_basket` sends: each leg validated as a single order
        (a refusal names the leg: ``orders[2].quantity``); tags made where missing, unique."""
        return basket_body(self._token.fy_id, legs)

    async def place_basket(self, legs: Sequence[BasketLeg | Mapping[str, Any]]) -> BasketAck:
        """Place up to 10 orders in one request (``POST /multi-order/sync``); Fyers answers
        each on its own, so one may be refused while the others are placed (see
        :attr:`BasketAck.legs`). Legs are :class:`BasketLeg` or dicts of its fields.

        A lost answer is settled by tag in the order book: legs found there are placed, the
        rest resent (only those) while ``submit_attempts`` allow, else marked ``uncertain``.
        Raises :class:`FyersOrderRejected` for a bad leg (nothing sent) or a basket Fyers
        refused whole, :class:`~livetrade.errors.AuthError` for a dead token.
        """
        return await _basket.place_basket(self, legs)

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
        body = modify_body(order_id, kind, quantity, limit_price, trigger_price)
        return await _changes.change(self, "PATCH", body, "the modification")

    async def cancel_order(self, order_id: str) -> OrderAck:
        """Cancel a pending order (``DELETE /orders/sync``). If the answer is lost, the order
        book decides: already cancelled → done; still open → resend."""
        body = {"id": order_id_arg(order_id)}
        return await _changes.change(self, "DELETE", body, "the cancel")

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
        return await _changes.exit_positions(self, position_ids, cancel_pending)

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
        return await _changes.convert_position(
            self, symbol, side, quantity, from_product, to_product, overnight
        )
