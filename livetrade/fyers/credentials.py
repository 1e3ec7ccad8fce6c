"""Fyers credentials and endpoints: :class:`FyersConfig` and where the access token comes from.

The access token is read, in this order, from an explicit argument, the ``FYERS_ACCESS_TOKEN``
environment variable, or a token file (``FYERS_TOKEN_FILE``, default
``~/.config/livetrade/fyers_token``) that must be readable by its owner only (mode 0600 or
stricter). The token is a secret: it never appears in a repr, a log line or an exception
message -- only its app id and expiry do.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from livetrade.errors import AuthError, InvalidInput, LiveTradeError
from livetrade.fyers.auth import DEFAULT_API_URL, TokenExpired
from livetrade.fyers.symbols import AccessTokenClaims, decode_access_token, split_access_token
from livetrade.model import IST

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_ORDER_WS_URL",
    "DEFAULT_REST_URL",
    "DEFAULT_TOKEN_FILE",
    "DEFAULT_WS_URL",
    "ENV_API_URL",
    "ENV_ORDER_WS_URL",
    "ENV_REST_URL",
    "ENV_TOKEN",
    "ENV_TOKEN_FILE",
    "ENV_WS_URL",
    "FyersConfig",
    "TokenExpired",
    "TokenExpiring",
    "TokenWatch",
    "load_access_token",
    "quiet_ws_logger",
    "token_claims",
]

DEFAULT_WS_URL: Final = "wss://socket.fyers.in/hsm/v1-5/prod"
DEFAULT_ORDER_WS_URL: Final = "wss://socket.fyers.in/trade/v3"
"""The market-data (HSM) socket (spec 1.1)."""
DEFAULT_REST_URL: Final = "https://api-t1.fyers.in/data"
"""Base of the data REST calls; ``/symbol-token`` is appended (spec 1.8)."""

ENV_TOKEN: Final = "FYERS_ACCESS_TOKEN"
ENV_TOKEN_FILE: Final = "FYERS_TOKEN_FILE"
ENV_WS_URL: Final = "FYERS_WS_URL"
ENV_REST_URL: Final = "FYERS_REST_URL"
ENV_API_URL: Final = "FYERS_API_URL"
ENV_ORDER_WS_URL: Final = "FYERS_ORDER_WS_URL"
ENV_APP_ID: Final = "FYERS_APP_ID"
DEFAULT_TOKEN_FILE: Final = Path("~/.config/livetrade/fyers_token")
DEFAULT_TOKEN_WARNING: Final = timedelta(minutes=30)
"""How long before the token's expiry a session warns (Fyers tokens end early each morning)."""
RELOGIN_HINT: Final = (
    "log in again, then `await session.relogin(access_token=...)` (or `livetrade login` in a "
    "shell and `await session.reload_token()`)"
)


def _check_token_file(path: Path) -> None:
    """Refuse a token file that others could read or write (its contents are never shown)."""
    from livetrade.fyers.auth import check_private_file

    check_private_file(path, missing=f"Fyers token file {path} does not exist")


def load_access_token(
    token: str | None = None,
    *,
    token_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """The access token from ``token``, else ``$FYERS_ACCESS_TOKEN``, else the token file.

    The file is ``token_file``, else ``$FYERS_TOKEN_FILE``, else
    ``~/.config/livetrade/fyers_token``; it must be mode 0600 (or stricter) and owned by the
    current user. Raises :class:`~livetrade.errors.AuthError` naming where it looked -- never
    what it found.
    """
    environ = os.environ if env is None else env
    if token is not None:
        value, source = token, "the access_token argument"
    elif environ.get(ENV_TOKEN):
        value, source = environ[ENV_TOKEN], f"${ENV_TOKEN}"
    else:
        explicit = token_file if token_file is not None else environ.get(ENV_TOKEN_FILE)
        path = Path(explicit if explicit else DEFAULT_TOKEN_FILE).expanduser()
        if explicit is None and not path.exists():
            from livetrade.fyers.auth import default_token_path, load_token

            saved = default_token_path(environ)
            if saved.exists():  # what `livetrade login` saved (refused if expired)
                return load_token(saved).authorization
            raise AuthError(
                f"no Fyers access token: pass access_token=..., set ${ENV_TOKEN}, or write it "
                f"to {path} (mode 600)"
            )
        _check_token_file(path)
        try:
            value = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise AuthError(f"Fyers token file {path} cannot be read as UTF-8 text") from None
        source = f"token file {path}"
    value = value.strip()
    if not value:
        raise AuthError(f"the Fyers access token from {source} is empty")
    try:
        split_access_token(value)
    except InvalidInput as exc:
        raise AuthError(
            f"the Fyers access token from {source} is malformed: {exc.reason}"
        ) from None
    return value


class _NoFrameDebug(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger for ``websockets`` that never reports DEBUG as enabled.

    websockets dumps every frame in hex at DEBUG level, and the data socket's auth frame carries
    the token's ``hsm_key``; with this adapter a user who turns on DEBUG logging still gets the
    library's INFO/WARNING lines, but never the frame dumps (which would also cost time).
    """

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)

    def process(self, msg: str, kwargs: Any) -> tuple[str, Any]:
        return msg, kwargs


def quiet_ws_logger(name: str) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """The logger to hand to ``websockets`` connections that carry Fyers credentials."""
    return _NoFrameDebug(logging.getLogger(name), {})


def token_claims(access_token: str) -> AccessTokenClaims:
    """Decode the token's claims (no signature check); AuthError if it is not a Fyers token."""
    try:
        return decode_access_token(access_token)
    except InvalidInput as exc:  # the messages never quote the token
        raise AuthError(f"the Fyers access token is not valid: {exc.reason}") from None


@dataclass(frozen=True, slots=True)
class FyersConfig:
    """Where and as whom to connect: the access token and the three base URLs.

    ``access_token`` is ``"APP_ID:jwt"`` (the documented form) or a bare JWT; it is kept out of
    the repr. ``ws_url`` (market data socket), ``rest_url`` (data REST calls) and ``api_url``
    (the trading REST API: orders, books, funds) default to the real Fyers endpoints; point them
    at a :class:`~livetrade.testing.FakeFyersServer` to run with no account.
    ``order_ws_url`` is the order socket (order, trade and position updates of a live session).
    ``rest_timeout`` is the per-request timeout of the REST calls in seconds. ``api_url`` and
    ``order_ws_url`` come last so positional construction stays as it was before them.
    """

    access_token: str = field(repr=False)
    ws_url: str = DEFAULT_WS_URL
    rest_url: str = DEFAULT_REST_URL
    app_id: str | None = None
    rest_timeout: float = 10.0
    api_url: str = DEFAULT_API_URL
    order_ws_url: str = DEFAULT_ORDER_WS_URL

    def __post_init__(self) -> None:
        if not isinstance(self.access_token, str) or not self.access_token.strip():
            raise AuthError("FyersConfig needs a non-empty access token")
        for name in ("ws_url", "rest_url", "api_url", "order_ws_url"):
            url = getattr(self, name)
            if not isinstance(url, str) or "://" not in url:
                raise InvalidInput(name, f"must be an absolute URL, got {url!r}")
        for name in ("ws_url", "order_ws_url"):
            url = getattr(self, name)
            if not url.startswith(("ws://", "wss://")):
                raise InvalidInput(name, f"must start with ws:// or wss://, got {url!r}")
        for name in ("rest_url", "api_url"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise InvalidInput(name, f"must start with http:// or https://, got {url!r}")
        if not self.rest_timeout > 0:
            raise InvalidInput("rest_timeout", "must be positive")
        if self.app_id is None:
            app_id, _ = split_access_token(self.access_token.strip())
            if app_id is not None:
                object.__setattr__(self, "app_id", app_id)

    @classmethod
    def load(
        cls,
        access_token: str | None = None,
        *,
        token_file: str | os.PathLike[str] | None = None,
        ws_url: str | None = None,
        rest_url: str | None = None,
        app_id: str | None = None,
        rest_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
        api_url: str | None = None,
        order_ws_url: str | None = None,
    ) -> FyersConfig:
        """Build a config from arguments, falling back to the environment and the token file.

        URLs: argument, else ``$FYERS_WS_URL`` / ``$FYERS_REST_URL`` / ``$FYERS_API_URL`` /
        ``$FYERS_ORDER_WS_URL``, else the real Fyers URLs. Token: see :func:`load_access_token`.
        """
        environ = os.environ if env is None else env
        token = load_access_token(access_token, token_file=token_file, env=environ)
        return cls(
            access_token=token,
            ws_url=ws_url or environ.get(ENV_WS_URL) or DEFAULT_WS_URL,
            rest_url=rest_url or environ.get(ENV_REST_URL) or DEFAULT_REST_URL,
            app_id=app_id or environ.get(ENV_APP_ID) or None,
            rest_timeout=rest_timeout,
            api_url=api_url or environ.get(ENV_API_URL) or DEFAULT_API_URL,
            order_ws_url=order_ws_url or environ.get(ENV_ORDER_WS_URL) or DEFAULT_ORDER_WS_URL,
        )

    from_env = load

    @property
    def claims(self) -> AccessTokenClaims:
        """The token's claims (``exp``, ``fy_id``...); AuthError if it is not a Fyers token."""
        return token_claims(self.access_token)

    @property
    def expires(self) -> datetime:
        """When the token expires (Asia/Kolkata)."""
        return datetime.fromtimestamp(self.claims.exp, tz=IST)

    def __repr__(self) -> str:
        return (
            f"FyersConfig(access_token=<hidden>, ws_url={self.ws_url!r}, "
            f"rest_url={self.rest_url!r}, api_url={self.api_url!r}, "
            f"order_ws_url={self.order_ws_url!r}, app_id={self.app_id!r})"
        )

    __str__ = __repr__


# ---------------------------------------------------------------------------- token lifecycle
class TokenExpiring(LiveTradeError):
    """The access token expires soon (a warning, not a failure): log in again before it does,
    or live orders halt and the sockets are refused at their next connect."""

    def __init__(self, message: str, expires_at: datetime) -> None:
        super().__init__(message)
        self.expires_at = expires_at


@dataclass(slots=True)
class TokenWatch:
    """Says once that ``expires_at`` is near and once that it has passed, on whatever clock
    the caller reads (a session's virtual clock in tests): sans-I/O, so the session only
    decides what to do with each notice. A new token needs a new watch."""

    expires_at: datetime
    app_id: str | None = None
    warned: bool = False
    expired: bool = False

    def due_in(self, now_s: float, warn_before: timedelta = DEFAULT_TOKEN_WARNING) -> float:
        """Seconds until the next notice (0: one is due now; inf: none left)."""
        exp = self.expires_at.timestamp()
        if not self.warned:
            return max(0.0, exp - warn_before.total_seconds() - now_s)
        if not self.expired:
            return max(0.0, exp - now_s)
        return float("inf")

    def check(
        self, now_s: float, warn_before: timedelta = DEFAULT_TOKEN_WARNING
    ) -> TokenExpiring | TokenExpired | None:
        """The notice due at ``now_s`` (each one once), or None."""
        exp = self.expires_at.timestamp()
        whose = f"the Fyers access token{f' for app {self.app_id}' if self.app_id else ''}"
        when = f"{self.expires_at.astimezone(IST):%Y-%m-%d %H:%M} IST"
        if now_s >= exp:
            if self.expired:
                return None
            self.expired = self.warned = True
            return TokenExpired(
                f"{whose} expired at {when}: live orders are halted and the Fyers sockets "
                f"will be refused; {RELOGIN_HINT}",
                self.expires_at,
            )
        if self.warned or now_s < exp - warn_before.total_seconds():
            return None
        self.warned = True
        minutes = max(1, round((exp - now_s) / 60))
        return TokenExpiring(
            f"{whose} expires at {when}, in {minutes} min: live orders halt then; {RELOGIN_HINT}",
            self.expires_at,
        )
