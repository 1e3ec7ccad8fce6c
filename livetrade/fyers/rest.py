"""The Fyers data REST calls the stream needs, on ``aiohttp`` (spec 1.8, 3.4).

``POST <rest_url>/symbol-token`` turns Fyers symbols into fytokens, at most 500 per call;
``GET <rest_url>/quotes`` (:class:`FyersQuotesClient`) gives each symbol's current quote and day
prices, at most 50 symbols per call, paced by the app's Fyers rate limiter. Unlike
the SDK every request has a timeout, errors raise instead of being logged and swallowed, and the
token never appears in an exception or a log line (failures are named by their exception class,
see :mod:`livetrade.fyers.http`, which also takes an httpx transport for tests).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Protocol

from livetrade.errors import AuthError, FyersApiError, InvalidInput, RateLimited
from livetrade.fyers.http import HttpFailure, make_seam
from livetrade.fyers.symbols import split_access_token
from livetrade.net import is_loopback  # re-exported: callers import it from here

if TYPE_CHECKING:
    import httpx

    from livetrade.fyers.broker import RateLimiter
    from livetrade.governor import RateGovernor

__all__ = [
    "MAX_QUOTES_PER_CALL",
    "MAX_SYMBOLS_PER_CALL",
    "FyersApiError",
    "FyersQuotesClient",
    "QuoteSnapshot",
    "Quotes",
    "SymbolTokenClient",
    "SymbolTokens",
    "is_loopback",
]

log = logging.getLogger("livetrade.fyers.rest")

MAX_SYMBOLS_PER_CALL: Final = 500
"""The symbol-token endpoint's limit per request (spec 1.8)."""

# Fyers error codes that mean "log in again" (spec 3.1).
_AUTH_CODES: Final = frozenset({-8, -15, -16, -17})


@dataclass(frozen=True, slots=True)
class SymbolTokens:
    """A symbol-token answer: ``valid`` symbol → fytoken, and the symbols Fyers does not know."""

    valid: dict[str, str] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)


class SymbolTokenClient:
    """Symbol → fytoken lookups against ``rest_url`` (``https://api-t1.fyers.in/data``).

    One HTTP session (aiohttp; connection reuse) is created lazily in the running loop and
    closed by :meth:`aclose`; ``transport`` (an httpx one) replaces it in tests. ``timeout``
    bounds the connect and every read.
    """

    def __init__(
        self,
        access_token: str,
        rest_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        app, jwt = split_access_token(access_token)
        self.app_id = app  # whose Fyers rate budget a lookup takes (livetrade.governor)
        self._limiter: RateGovernor | None = None
        # The SDK sends the bare JWT (no "APP_ID:") on this call.
        self._headers = {"Authorization": jwt, "Content-Type": "application/json"}
        self.url = rest_url.rstrip("/") + "/symbol-token"
        self.timeout = timeout
        self._seam = make_seam(self.url, timeout, transport=transport)

    def __repr__(self) -> str:
        return f"SymbolTokenClient(url={self.url!r})"

    @property
    def limiter(self) -> RateGovernor:
        """The app's rate governor in the running loop (shared with its other REST clients)."""
        if self._limiter is None:
            from livetrade.governor import governor_for

            self._limiter = governor_for(self.app_id)
        return self._limiter

    async def aclose(self) -> None:
        await self._seam.aclose()

    async def lookup(self, symbols: Sequence[str]) -> SymbolTokens:
        """Fytokens of ``symbols`` (any number: split into calls of 500)."""
        if isinstance(symbols, str):
            raise InvalidInput("symbols", "must be a list of symbols, not one string")
        out = SymbolTokens()
        items = list(dict.fromkeys(symbols))
        for i in range(0, len(items), MAX_SYMBOLS_PER_CALL):
            part = await self._call(items[i : i + MAX_SYMBOLS_PER_CALL])
            out.valid.update(part.valid)
            out.invalid.extend(part.invalid)
        return out

    async def _call(self, symbols: list[str]) -> SymbolTokens:
        await self.limiter.acquire("all")
        content = json.dumps({"symbols": symbols}).encode()
        try:
            resp = await self._seam.request(
                "POST", self.url, headers=self._headers, content=content
            )
        except HttpFailure as exc:
            if exc.timed_out:
                raise FyersApiError(
                    f"Fyers symbol-token call to {self.url} timed out after {self.timeout:g} s"
                ) from None
            raise FyersApiError(
                f"Fyers symbol-token call to {self.url} failed: {exc.name}"
            ) from None
        body: Any
        try:
            body = json.loads(resp.content)
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if resp.status in (401, 403) or code in _AUTH_CODES:
            raise AuthError(
                "Fyers refused the access token on symbol-token "
                f"(HTTP {resp.status}{f', code {code}' if code is not None else ''}"
                f"{f': {message}' if message else ''}); log in again for a fresh token"
            )
        if not isinstance(body, dict):
            raise FyersApiError(
                f"Fyers symbol-token answered HTTP {resp.status} with a non-JSON body",
                status=resp.status,
            )
        if body.get("s") != "ok" or resp.status >= 400:
            raise FyersApiError(
                f"Fyers symbol-token failed (HTTP {resp.status}, code {code}): {message}",
                code=code if isinstance(code, int) else None,
                status=resp.status,
            )
        valid = body.get("validSymbol") or {}
        invalid = body.get("invalidSymbol") or []
        if not isinstance(valid, dict) or not isinstance(invalid, list):
            raise FyersApiError("Fyers symbol-token answer has an unexpected shape")
        return SymbolTokens({str(k): str(v) for k, v in valid.items()}, [str(s) for s in invalid])


# ---- quotes ------------------------------------------------------------------------------------

MAX_QUOTES_PER_CALL: Final = 50
"""The quotes endpoint's limit per request (spec 3.4)."""


@dataclass(frozen=True, slots=True)
class QuoteSnapshot:
    """One symbol of a ``/data/quotes`` answer, prices in paise (0: Fyers did not say).
    Circuit limits are not among the documented quote fields: they are read when present."""

    symbol: str
    ltp: int
    bid: int
    ask: int
    open: int
    high: int
    low: int
    prev_close: int
    volume: int
    upper_circuit: int = 0
    lower_circuit: int = 0
    ts: int = 0  # epoch seconds of the last trade, when given


@dataclass(frozen=True, slots=True)
class Quotes:
    """A quotes answer: ``quotes`` by symbol, and the symbols Fyers answered with an error."""

    quotes: dict[str, QuoteSnapshot] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)


def _price(value: object) -> int:
    """Rupees (a JSON number read as Decimal) → paise, half-even; 0 for missing or odd."""
    if value is None or isinstance(value, bool):
        return 0
    try:
        paise = Decimal(str(value)).scaleb(2).to_integral_value(ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return 0
    return int(paise) if paise.is_finite() and paise > 0 else 0


def _int(value: object) -> int:
    try:
        return 0 if isinstance(value, bool) else max(0, int(str(value)))
    except (TypeError, ValueError):
        return 0


def parse_quote(symbol: str, v: dict[str, Any]) -> QuoteSnapshot:
    """One ``v`` object of a quotes answer (spec 3.4 names)."""
    return QuoteSnapshot(
        symbol,
        ltp=_price(v.get("lp")),
        bid=_price(v.get("bid")),
        ask=_price(v.get("ask")),
        open=_price(v.get("open_price")),
        high=_price(v.get("high_price")),
        low=_price(v.get("low_price")),
        prev_close=_price(v.get("prev_close_price")),
        volume=_int(v.get("volume")),
        upper_circuit=_price(v.get("upper_ckt", v.get("upper_circuit"))),
        lower_circuit=_price(v.get("lower_ckt", v.get("lower_circuit"))),
        ts=_int(v.get("tt")),
    )


class FyersQuotesClient:
    """``GET <rest_url>/quotes?symbols=…`` for one app+user: split into calls of 50, each
    taking a slot from the app's Fyers :class:`~livetrade.fyers.broker.RateLimiter` (``limiter``;
    default the process-wide one, :func:`livetrade.history.shared_limiter`); a 429 pauses it
    for ``Retry-After`` and is retried (at most ``max_rate_retries`` times)."""

    def __init__(
        self,
        access_token: str,
        rest_url: str,
        *,
        app_id: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        max_rate_retries: int = 5,
        max_retry_after: float = 60.0,
    ) -> None:
        app, jwt = split_access_token(access_token.strip())
        if not (app_id or app):
            raise AuthError("Fyers quotes need the app id (APP_ID:token or app_id=...)")
        self.app_id: str = app_id or app or ""
        self._headers = {
            "Authorization": f"{self.app_id}:{jwt}",
            "Content-Type": "application/json",
            "version": "3",
        }
        self.url = rest_url.rstrip("/") + "/quotes"
        self.timeout = timeout
        self._seam = make_seam(self.url, timeout, transport=transport)
        self._limiter = limiter
        self.max_rate_retries = max_rate_retries
        self.max_retry_after = max_retry_after
        self.requests = 0

    def __repr__(self) -> str:
        return f"FyersQuotesClient(url={self.url!r}, app_id={self.app_id!r}, token=<hidden>)"

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            from livetrade.history import shared_limiter

            self._limiter = shared_limiter(self.app_id)
        return self._limiter

    async def aclose(self) -> None:
        await self._seam.aclose()

    async def quotes(self, symbols: Sequence[str]) -> Quotes:
        """Quotes of ``symbols`` (any number: one call per 50)."""
        if isinstance(symbols, str):
            raise InvalidInput("symbols", "must be a list of symbols, not one string")
        out = Quotes()
        items = list(dict.fromkeys(symbols))
        for i in range(0, len(items), MAX_QUOTES_PER_CALL):
            part = await self._call(items[i : i + MAX_QUOTES_PER_CALL])
            out.quotes.update(part.quotes)
            out.invalid.extend(part.invalid)
        return out

    async def _call(self, symbols: list[str]) -> Quotes:
        retries = 0
        while True:
            await self.limiter.acquire("all")
            self.requests += 1
            try:
                resp = await self._seam.request(
                    "GET", self.url, headers=self._headers, params={"symbols": ",".join(symbols)}
                )
            except HttpFailure as exc:
                if exc.timed_out:
                    raise FyersApiError(
                        f"Fyers quotes call to {self.url} timed out after {self.timeout:g} s"
                    ) from None
                raise FyersApiError(f"Fyers quotes call to {self.url} failed: {exc.name}") from None
            try:
                body = json.loads(resp.content, parse_float=Decimal)
            except ValueError:
                body = None
            code = body.get("code") if isinstance(body, dict) else None
            limits = (self.max_rate_retries, self.max_retry_after)
            if pause_on_429(resp, code, retries + 1, "quotes", self.limiter, *limits):
                retries += 1
                continue
            return self._parse(resp.status, body, code)

    def _parse(self, status: int, body: object, code: object) -> Quotes:
        message = body.get("message") if isinstance(body, dict) else None
        if status in (401, 403) or code in _AUTH_CODES:
            raise AuthError(
                f"Fyers refused the access token on quotes (HTTP {status}"
                f"{f', code {code}' if code is not None else ''}); log in again for a fresh token"
            )
        if not isinstance(body, dict):
            raise FyersApiError(
                f"Fyers quotes answered HTTP {status} with a non-JSON body", status=status
            )
        if body.get("s") != "ok" or status >= 400:
            raise FyersApiError(
                f"Fyers quotes failed (HTTP {status}, code {code}): {message or 'no message'}",
                code=code if isinstance(code, int) else None,
                status=status,
            )
        rows = body.get("d")
        if not isinstance(rows, list):
            raise FyersApiError("Fyers quotes answer has no 'd' list")
        out = Quotes()
        for row in rows:
            if not isinstance(row, dict):
                continue
            name, v = row.get("n"), row.get("v")
            if not isinstance(name, str):
                continue
            if row.get("s") != "ok" or not isinstance(v, dict):
                out.invalid.append(name)
                continue
            out.quotes[name] = parse_quote(name, v)
        return out


def retry_after(headers: Mapping[str, str], default: float = 1.0) -> float:
    """The pause a 429 asks for: ``X-Retry-After-Ms``, else ``Retry-After`` in seconds (an HTTP
    date is not read: ``default``)."""
    for name, scale in (("x-retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(float(value) / scale, 0.0)
            except ValueError:
                continue
    return default


class _Pausable(Protocol):
    def pause(self, seconds: float) -> None: ...


class _Answer(Protocol):
    """An HTTP answer as :class:`livetrade.fyers.http.Reply` has it."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


def pause_on_429(
    resp: _Answer,
    code: object,
    attempt: int,
    what: str,
    limiter: _Pausable,
    max_retries: int,
    max_wait: float,
) -> bool:
    """Every Fyers REST caller's answer to a 429 (HTTP or code -429): pause the app's limiter
    for the asked time and say "send again" (True); past ``max_retries`` attempts or a pause
    longer than ``max_wait`` raise :class:`~livetrade.errors.RateLimited`. False: not a 429."""
    if resp.status != 429 and code != -429:
        return False
    wait = retry_after(resp.headers)
    if attempt > max_retries or wait > max_wait:
        raise RateLimited(
            f"Fyers rate limit: {what} answered 429 {attempt} times (Retry-After {wait:g} s)",
            wait,
        )
    log.warning("Fyers 429 on %s: pausing %g s", what, wait)
    limiter.pause(wait)
    return True
