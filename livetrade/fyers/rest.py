"""The Fyers data REST calls the stream needs, on ``httpx.AsyncClient`` (spec 1.8).

``POST <rest_url>/symbol-token`` turns Fyers symbols into fytokens, at most 500 per call. Unlike
the SDK every request has a timeout, errors raise instead of being logged and swallowed, and the
token never appears in an exception or a log line (httpx puts the URL, not the headers, into its
messages).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from livetrade.errors import AuthError, FyersApiError, InvalidInput
from livetrade.fyers.symbols import split_access_token
from livetrade.net import is_loopback  # re-exported: callers import it from here

__all__ = [
    "MAX_SYMBOLS_PER_CALL",
    "FyersApiError",
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

    One ``httpx.AsyncClient`` (connection reuse) is created lazily in the running loop and closed
    by :meth:`aclose`. ``timeout`` bounds every request (connect, read, write, pool).
    """

    def __init__(
        self,
        access_token: str,
        rest_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        _, jwt = split_access_token(access_token)
        # The SDK sends the bare JWT (no "APP_ID:") on this call.
        self._headers = {"Authorization": jwt, "Content-Type": "application/json"}
        self.url = rest_url.rstrip("/") + "/symbol-token"
        self.timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"SymbolTokenClient(url={self.url!r})"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                transport=self._transport,
                trust_env=not is_loopback(self.url),
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

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
        try:
            resp = await self._http().post(
                self.url, json={"symbols": symbols}, headers=self._headers
            )
        except httpx.TimeoutException:
            raise FyersApiError(
                f"Fyers symbol-token call to {self.url} timed out after {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise FyersApiError(
                f"Fyers symbol-token call to {self.url} failed: {type(exc).__name__}"
            ) from None
        body: Any
        try:
            body = resp.json()
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if resp.status_code in (401, 403) or code in _AUTH_CODES:
            raise AuthError(
                "Fyers refused the access token on symbol-token "
                f"(HTTP {resp.status_code}{f', code {code}' if code is not None else ''}"
                f"{f': {message}' if message else ''}); log in again for a fresh token"
            )
        if not isinstance(body, dict):
            raise FyersApiError(
                f"Fyers symbol-token answered HTTP {resp.status_code} with a non-JSON body",
                status=resp.status_code,
            )
        if body.get("s") != "ok" or resp.status_code >= 400:
            raise FyersApiError(
                f"Fyers symbol-token failed (HTTP {resp.status_code}, code {code}): {message}",
                code=code if isinstance(code, int) else None,
                status=resp.status_code,
            )
        valid = body.get("validSymbol") or {}
        invalid = body.get("invalidSymbol") or []
        if not isinstance(valid, dict) or not isinstance(invalid, list):
            raise FyersApiError("Fyers symbol-token answer has an unexpected shape")
        return SymbolTokens({str(k): str(v) for k, v in valid.items()}, [str(s) for s in invalid])
