"""Fyers login: the auth-code flow, the access token and where it is kept (spec 3.3).

The flow, as the official SDK's ``SessionModel`` runs it, without the SDK:

1. :func:`login_url` builds ``<base>/generate-authcode?client_id=…&redirect_uri=…&
   response_type=code&state=…``; the trader opens it in a browser and logs in (2FA, daily).
2. Fyers redirects to ``redirect_uri?s=ok&code=200&auth_code=<jwt>&state=…``. Paste that whole
   URL (or just the code) into :func:`parse_auth_code`.
3. :func:`exchange_auth_code` posts ``{"grant_type": "authorization_code", "appIdHash":
   sha256("APP_ID:APP_SECRET"), "code": …}`` to ``<base>/validate-authcode`` and returns a
   :class:`Token` (the access token and its expiry, read from the JWT ``exp`` claim).
4. :func:`save_token` writes it to a mode-0600 JSON file (``$LIVETRADE_DATA_DIR`` or
   ``~/.local/share/livetrade/fyers-token.json``); :func:`load_token` reads it back and refuses
   an expired one with :class:`TokenExpired` (an :class:`~livetrade.errors.AuthError`).

Secrets -- the app secret, the auth code and the access token -- never appear in a repr, a log
line or an exception message. Refresh tokens are not kept: Fyers discontinued that flow on
1 April 2026 (a fresh 2FA login is needed every day).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from livetrade.errors import AuthError, InvalidInput
from livetrade.fyers.symbols import decode_access_token, split_access_token

if TYPE_CHECKING:
    import aiohttp
    import httpx
from livetrade.model import IST

__all__ = [
    "DEFAULT_API_URL",
    "ENV_DATA_DIR",
    "TOKEN_FILE_NAME",
    "Token",
    "TokenExpired",
    "app_id_hash",
    "default_token_path",
    "exchange_auth_code",
    "load_token",
    "login_url",
    "parse_auth_code",
    "save_token",
]

log = logging.getLogger("livetrade.fyers.auth")

DEFAULT_API_URL: Final = "https://api-t1.fyers.in/api/v3"
"""Base of the Fyers v3 trading REST API (login and orders); the SDK's ``Config.API``."""
ENV_DATA_DIR: Final = "LIVETRADE_DATA_DIR"
TOKEN_FILE_NAME: Final = "fyers-token.json"
_AUTHCODE_PATH: Final = "/generate-authcode"
_VALIDATE_PATH: Final = "/validate-authcode"


class TokenExpired(AuthError):
    """The access token's ``exp`` has passed: log in again (Fyers tokens last one day)."""

    def __init__(self, message: str, expired_at: datetime) -> None:
        super().__init__(message)
        self.expired_at = expired_at


# --------------------------------------------------------------------------------------------
# the token
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """A Fyers access token for one app: the bare JWT, its owner and its expiry.

    ``access_token`` is the JWT without the ``APP_ID:`` prefix; :attr:`authorization` is the
    header value Fyers wants (``APP_ID:jwt``). Neither is in the repr.
    """

    app_id: str
    access_token: str = field(repr=False)
    expires_at: datetime
    fy_id: str | None = None

    @classmethod
    def from_jwt(cls, app_id: str, access_token: str) -> Token:
        """Build a token from ``jwt`` or ``APP_ID:jwt``; its expiry comes from the ``exp``
        claim. AuthError when it is not a Fyers v3 access token or names another app."""
        if not isinstance(app_id, str) or not app_id.strip():
            raise AuthError("a Fyers token needs the app id it was issued to")
        try:
            prefix, jwt = split_access_token(access_token.strip())
            claims = decode_access_token(jwt)
        except (InvalidInput, AttributeError) as exc:
            reason = exc.reason if isinstance(exc, InvalidInput) else "not a string"
            raise AuthError(f"the Fyers access token is not valid: {reason}") from None
        if prefix is not None and prefix != app_id:
            raise AuthError(f"the access token is for app {prefix!r}, not {app_id!r}")
        expires = datetime.fromtimestamp(claims.exp, tz=IST)
        return cls(app_id=app_id, access_token=jwt, expires_at=expires, fy_id=claims.fy_id)

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value: ``APP_ID:access_token``."""
        return f"{self.app_id}:{self.access_token}"

    def seconds_left(self, now: float | None = None) -> float:
        """Seconds until expiry (negative once expired)."""
        return self.expires_at.timestamp() - (time.time() if now is None else now)

    def expired(self, now: float | None = None) -> bool:
        return self.seconds_left(now) <= 0

    def describe(self, now: float | None = None) -> str:
        """One line for people: who, and until when (``valid until 2025-06-03 06:00 IST, in
        14 h 05 min``) or since when it is dead."""
        left = self.seconds_left(now)
        until = self.expires_at.strftime("%Y-%m-%d %H:%M IST")
        who = f"Fyers token for app {self.app_id}" + (f" ({self.fy_id})" if self.fy_id else "")
        if left <= 0:
            return f"{who} EXPIRED at {until}, {_span(-left)} ago: log in again"
        return f"{who} valid until {until}, in {_span(left)}"

    def ensure_valid(self, now: float | None = None) -> Token:
        """Return ``self``, or raise :class:`TokenExpired` saying when it expired."""
        left = self.seconds_left(now)
        if left <= 0:
            raise TokenExpired(
                f"the Fyers access token for app {self.app_id} expired at "
                f"{self.expires_at:%Y-%m-%d %H:%M} IST ({_span(-left)} ago); Fyers tokens last "
                "one day: log in again for a new one",
                self.expires_at,
            )
        return self


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} days"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


# --------------------------------------------------------------------------------------------
# the login URL and the redirect
# --------------------------------------------------------------------------------------------


def login_url(
    app_id: str,
    redirect_uri: str,
    state: str = "livetrade",
    *,
    base_url: str = DEFAULT_API_URL,
    scope: str | None = None,
    nonce: str | None = None,
) -> str:
    """The page the trader logs in on; identical to the SDK's ``generate_authcode()``."""
    for name, value in (("app_id", app_id), ("redirect_uri", redirect_uri), ("state", state)):
        if not isinstance(value, str) or not value:
            raise InvalidInput(name, "must be a non-empty string")
    params = {
        "client_id": app_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
    }
    if scope is not None:
        params["scope"] = scope
    if nonce is not None:
        params["nonce"] = nonce
    return f"{base_url.rstrip('/')}{_AUTHCODE_PATH}?{urlencode(params)}"


def _jwt_payload(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


_CODE_RE: Final = re.compile(r"[A-Za-z0-9._~+/=-]+")


def parse_auth_code(text: str, *, state: str | None = None, now: float | None = None) -> str:
    """The auth code from the redirected URL (``…?s=ok&code=200&auth_code=…&state=…``), the
    query string alone, or the bare code.

    With ``state`` the URL's ``state`` must match (a login started elsewhere is refused). An
    error redirect (``s=error``), a missing code or a code whose JWT ``exp`` has passed raise
    :class:`~livetrade.errors.AuthError`; the code itself is never quoted.
    """
    if not isinstance(text, str) or not text.strip():
        raise AuthError("paste the URL Fyers redirected to (or the auth_code in it)")
    text = text.strip()
    query: str | None = None
    if "://" in text:
        query = urlsplit(text).query
    elif "auth_code=" in text or text.startswith("?"):
        query = text.lstrip("?")
    if query is not None:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if params.get("s", "ok") != "ok":
            message = params.get("message") or params.get("code") or "no reason given"
            raise AuthError(f"Fyers login failed: {message}")
        code = params.get("auth_code", "")
        if not code:
            raise AuthError("the redirected URL has no auth_code: log in again")
        if state is not None and params.get("state") != state:
            raise AuthError(
                "the redirected URL's state does not match this login; it belongs to another "
                "login attempt: start again"
            )
    else:
        code = text
    if _CODE_RE.fullmatch(code) is None:
        raise AuthError("that does not look like a Fyers auth code (unexpected characters)")
    claims = _jwt_payload(code)
    exp = claims.get("exp") if claims else None
    if isinstance(exp, int) and exp <= (time.time() if now is None else now):
        raise AuthError("the auth code has expired (they last a few minutes): log in again")
    return code


# --------------------------------------------------------------------------------------------
# the exchange
# --------------------------------------------------------------------------------------------


def app_id_hash(app_id: str, app_secret: str) -> str:
    """``sha256("APP_ID:APP_SECRET").hexdigest()``, the ``appIdHash`` of validate-authcode."""
    return hashlib.sha256(f"{app_id}:{app_secret}".encode()).hexdigest()


async def exchange_auth_code(
    app_id: str,
    app_secret: str,
    auth_code: str,
    *,
    base_url: str = DEFAULT_API_URL,
    client: aiohttp.ClientSession | httpx.AsyncClient | None = None,
    timeout: float = 15.0,
) -> Token:
    """Trade an auth code for an access token (``POST <base_url>/validate-authcode``).

    The request is the SDK's ``generate_token()`` byte for byte in meaning (same path, JSON
    body and headers) but with a timeout. ``client`` is used if given (and left open).
    Raises :class:`~livetrade.errors.AuthError` with Fyers' code and message on refusal.
    """
    for name, value in (("app_id", app_id), ("app_secret", app_secret), ("auth_code", auth_code)):
        if not isinstance(value, str) or not value.strip():
            raise AuthError(f"{name} must be a non-empty string")
    url = base_url.rstrip("/") + _VALIDATE_PATH
    body = {
        "grant_type": "authorization_code",
        "appIdHash": app_id_hash(app_id, app_secret),
        "code": auth_code.strip(),
    }
    secrets = (app_secret, auth_code.strip())
    from livetrade.fyers.http import HttpFailure, make_seam

    http = make_seam(url, timeout, client)  # a client given is left open
    try:
        try:
            resp = await http.request(
                "POST",
                url,
                headers={"Content-Type": "application/json"},
                content=json.dumps(body).encode(),
            )
        except HttpFailure as exc:
            if exc.timed_out:
                raise AuthError(f"Fyers login ({url}) timed out after {timeout:g} s") from None
            raise AuthError(f"Fyers login ({url}) failed: {exc.name}") from None
    finally:
        await http.aclose()
    try:
        answer = json.loads(resp.content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise AuthError(f"Fyers login answered HTTP {resp.status} with a non-JSON body")
    token = answer.get("access_token")
    if answer.get("s") != "ok" or not isinstance(token, str) or not token:
        code = answer.get("code")
        message = _scrub(str(answer.get("message") or "no message"), secrets)
        raise AuthError(
            f"Fyers refused the auth code (HTTP {resp.status}, code {code}: {message}); "
            "check the app id and secret, and log in again for a fresh code"
        )
    result = Token.from_jwt(app_id, token)
    log.info("Fyers login ok: %s", result.describe())
    return result


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return text


# --------------------------------------------------------------------------------------------
# the token file
# --------------------------------------------------------------------------------------------


def default_token_path(env: Mapping[str, str] | None = None) -> Path:
    """``$LIVETRADE_DATA_DIR/fyers-token.json``, else the XDG data dir
    (``~/.local/share/livetrade/fyers-token.json``) -- beside the journals."""
    environ = os.environ if env is None else env
    explicit = environ.get(ENV_DATA_DIR)
    if explicit:
        return Path(explicit).expanduser() / TOKEN_FILE_NAME
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "livetrade" / TOKEN_FILE_NAME


def save_token(token: Token, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``token`` atomically to a mode-0600 JSON file; returns the path.

    The folder is created (mode 0700) if missing. The file is written under a temporary name
    and renamed, so a crash never leaves half a token behind.
    """
    target = Path(path).expanduser() if path is not None else default_token_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    record = {
        "app_id": token.app_id,
        "access_token": token.access_token,
        "expires_at": token.expires_at.isoformat(),
        "fy_id": token.fy_id,
        "saved_at": datetime.now(tz=IST).isoformat(timespec="seconds"),
    }
    data = (json.dumps(record, indent=2) + "\n").encode()
    fd, tmp = tempfile.mkstemp(prefix=".fyers-token-", dir=target.parent)  # mode 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    log.info("saved %s to %s", token.describe(), target)
    return target


def check_private_file(path: Path, missing: str | None = None) -> None:
    """Refuse a secret's file that is missing, not a file, readable by others or not ours
    (the one check for every token file; its contents are never shown)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AuthError(missing or f"no saved Fyers token at {path}: log in first") from None
    except OSError as exc:
        raise AuthError(f"the Fyers token file {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AuthError(f"the Fyers token file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise AuthError(
            f"the Fyers token file {path} has mode {stat.S_IMODE(st.st_mode):04o}; it holds a "
            f"secret, so only its owner may read it: chmod 600 {path}"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise AuthError(f"the Fyers token file {path} belongs to another user")


def load_token(
    path: str | os.PathLike[str] | None = None,
    *,
    app_id: str | None = None,
    now: float | None = None,
    allow_expired: bool = False,
) -> Token:
    """Read the token saved by :func:`save_token` (or a plain ``APP_ID:jwt`` text file).

    Refuses a file others can read, a token for another ``app_id``, and -- unless
    ``allow_expired`` -- an expired token (:class:`TokenExpired`, saying when it expired).
    The expiry is always re-read from the JWT, never trusted from the file.
    """
    source = Path(path).expanduser() if path is not None else default_token_path()
    check_private_file(source)
    try:
        text = source.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise AuthError(f"the Fyers token file {source} cannot be read as UTF-8 text") from None
    token = _parse_token_text(text, source, app_id)
    if app_id is not None and token.app_id != app_id:
        raise AuthError(
            f"the Fyers token in {source} is for app {token.app_id!r}, not {app_id!r}: "
            "log in with this app"
        )
    return token if allow_expired else token.ensure_valid(now)


def _parse_token_text(text: str, source: Path, app_id: str | None) -> Token:
    if not text:
        raise AuthError(f"the Fyers token file {source} is empty")
    record: object
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if isinstance(record, dict):
        rec_app, jwt = record.get("app_id"), record.get("access_token")
        if not isinstance(rec_app, str) or not isinstance(jwt, str):
            raise AuthError(f"the Fyers token file {source} lacks app_id or access_token")
        return Token.from_jwt(rec_app, jwt)
    # the plain-text form ``APP_ID:jwt`` (as FYERS_ACCESS_TOKEN / credentials.py use)
    try:
        prefix, _ = split_access_token(text)
    except InvalidInput as exc:
        raise AuthError(f"the Fyers token file {source} is malformed: {exc.reason}") from None
    owner = prefix or app_id
    if owner is None:
        raise AuthError(
            f"the Fyers token file {source} holds a bare token: pass app_id=... to use it"
        )
    return Token.from_jwt(owner, text)


async def fyers_login(
    app_id: str,
    app_secret: str,
    redirected: str,
    *,
    state: str | None = None,
    base_url: str = DEFAULT_API_URL,
    save: bool = True,
    path: str | os.PathLike[str] | None = None,
) -> Token:
    """The notebook login, step 2: ``redirected`` is the URL Fyers sent the browser to after
    ``login_url(...)`` (or just its auth code). Exchanges it, saves the token (0600) unless
    ``save=False``, and returns it; its repr shows the expiry, never the token."""
    code = parse_auth_code(redirected, state=state)
    token = await exchange_auth_code(app_id, app_secret, code, base_url=base_url)
    if save:
        save_token(token, path)
    return token


fyers_login_url = login_url  # the notebook login, step 1
