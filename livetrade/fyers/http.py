"""The one HTTP seam of the Fyers REST clients: ``aiohttp`` by default, ``httpx`` on request.

Why a seam: httpx cost 2-10x the official SDK's client CPU per request (benchmarks/
fyers_rest_bench.py: httpcore's pool housekeeping under concurrency, its request/response
layers in sequence), while aiohttp -- what the SDK's async mode uses -- matches it. Tests and
callers that already hand in an ``httpx`` transport (``httpx.MockTransport`` from
:func:`livetrade.testing.fake_rest.mock_transport`) or an ``httpx.AsyncClient`` keep working
through :class:`HttpxSeam`.

Every transport failure becomes :class:`HttpFailure`, which says the two things a caller
decides on: was the request certainly not sent (safe to resend an order), and did it time out.
Messages name the exception class only, never the URL's query or a header (the token).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from livetrade.net import is_loopback

if TYPE_CHECKING:
    import aiohttp
    import httpx

__all__ = [
    "AiohttpSeam",
    "HttpFailure",
    "HttpSeam",
    "HttpxSeam",
    "Reply",
    "make_seam",
]


log = logging.getLogger("livetrade.fyers.http")


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, headers (case-insensitive ``get``) and the raw body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class HttpFailure(Exception):
    """No HTTP answer. ``not_sent``: the request certainly never reached the server (connect
    refused or timed out, bad URL); ``timed_out``: a timeout cut it short."""

    def __init__(self, name: str, *, not_sent: bool = False, timed_out: bool = False) -> None:
        super().__init__(name)
        self.name = name
        self.not_sent = not_sent
        self.timed_out = timed_out


class HttpSeam(Protocol):
    """What the Fyers clients need from an HTTP library."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply: ...

    async def aclose(self) -> None: ...


class AiohttpSeam:
    """One lazily made ``aiohttp.ClientSession`` (connection reuse), created in the running
    loop. ``timeout`` bounds each whole request, and a new connection's connect on its own (one
    timer per request, as aiohttp's defaults: a timer per socket read cost measurable CPU); a
    connect that timed out or failed is ``not_sent``, any other timeout may have been sent.
    ``trust_env`` (proxy variables, ``.netrc``) is off for loopback, so a fake Fyers is never
    reached through a proxy. No cookie jar: Fyers authenticates by header, and a jar costs
    CPU on every request. A ``session`` handed in is the caller's to close.

    aiohttp silently resends a GET/PUT/DELETE whose reused connection dropped; that is turned
    off (on a session handed in too): a lost DELETE (cancel, exit positions) may have been
    carried out, and the Fyers clients settle such answers from the order book themselves.
    The query is encoded here as httpx and requests encode it (``:`` and ``,`` escaped)."""

    def __init__(
        self,
        *,
        timeout: float,
        trust_env: bool = True,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.timeout = timeout
        self.trust_env = trust_env
        self._session = session
        self._own = session is None
        if session is not None:
            _no_silent_resend(session)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.timeout),
                trust_env=self.trust_env,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            _no_silent_resend(self._session)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        import aiohttp
        from yarl import URL

        target = URL(f"{url}?{urlencode(params)}" if params else url, encoded=True)
        try:
            async with self._http().request(method, target, headers=headers, data=content) as resp:
                body = await resp.read()
                # as httpx logs its requests: method, URL (no query), status; never a header
                log.debug("HTTP Request: %s %s %s", method, url, resp.status)
                return Reply(resp.status, resp.headers, body)
        except aiohttp.ConnectionTimeoutError as exc:  # before anything was written
            raise HttpFailure(type(exc).__name__, not_sent=True, timed_out=True) from None
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
            raise HttpFailure(type(exc).__name__, not_sent=True) from None
        except aiohttp.NonHttpUrlClientError as exc:
            raise HttpFailure(type(exc).__name__, not_sent=True) from None
        except TimeoutError as exc:  # a socket read (or the whole request) took too long
            raise HttpFailure(type(exc).__name__, timed_out=True) from None
        except (aiohttp.ClientError, OSError) as exc:  # reset, disconnected, bad answer
            raise HttpFailure(type(exc).__name__) from None

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._own:
            await session.close()


class HttpxSeam:
    """An ``httpx.AsyncClient`` (the caller's ``client``, left open, or one made on
    ``transport``): kept for tests and callers that hand in httpx objects."""

    def __init__(
        self,
        *,
        timeout: float,
        trust_env: bool = True,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.trust_env = trust_env
        self._client = client
        self._own = client is None
        self._transport = transport

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                trust_env=self.trust_env,
            )
        return self._client

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        import httpx

        try:
            resp = await self._http().request(
                method,
                url,
                content=content,
                params=params,
                headers=headers,
                timeout=self.timeout,
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise HttpFailure(type(exc).__name__, not_sent=True, timed_out=True) from None
        except (
            httpx.ConnectError,
            httpx.UnsupportedProtocol,
            httpx.ProxyError,
            httpx.LocalProtocolError,
        ) as exc:
            raise HttpFailure(type(exc).__name__, not_sent=True) from None
        except httpx.TimeoutException as exc:
            raise HttpFailure(type(exc).__name__, timed_out=True) from None
        except httpx.HTTPError as exc:
            raise HttpFailure(type(exc).__name__) from None
        return Reply(resp.status_code, resp.headers, resp.content)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._own:
            await client.aclose()


def make_seam(url: str, timeout: float, client: Any = None, transport: Any = None) -> HttpSeam:
    """The seam for a client of ``url``: on the ``client`` given (an ``aiohttp.ClientSession``
    or an ``httpx.AsyncClient``), on an httpx ``transport``, else a fresh aiohttp session.
    Environment proxies are trusted except for loopback URLs."""
    trust_env = not is_loopback(url)
    if client is not None:
        if _is_aiohttp_session(client):
            return AiohttpSeam(timeout=timeout, trust_env=trust_env, session=client)
        return HttpxSeam(timeout=timeout, trust_env=trust_env, client=client)
    if transport is not None:
        return HttpxSeam(timeout=timeout, trust_env=trust_env, transport=transport)
    return AiohttpSeam(timeout=timeout, trust_env=trust_env)


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    if hasattr(session, "_retry_connection"):  # aiohttp ≥ 3.10; no public switch
        session._retry_connection = False


def _is_aiohttp_session(obj: object) -> bool:
    return type(obj).__module__.startswith("aiohttp")
