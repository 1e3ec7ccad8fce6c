"""Fyers symbols, fytokens, HSM topics and access-token claims (spec 1.2 and 1.8).

Pure functions, no I/O: the stream client calls the symbol-token REST endpoint itself and hands
the answer (``{"NSE:SBIN-EQ": "10100000003045", ...}``) to :func:`map_symbols`, which builds the
``topic → symbol`` map the codec labels ticks with. Unlike the SDK we never drop a symbol
silently: everything that cannot become a topic comes back with a reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from livetrade.errors import InvalidInput
from livetrade.model import SYMBOL_RE, check_symbol

__all__ = [
    "INDEX_NAMES",
    "SEGMENTS",
    "AccessTokenClaims",
    "DataType",
    "FyersSymbol",
    "TopicMap",
    "decode_access_token",
    "index_topic_name",
    "map_symbols",
    "mint_fake_token",
    "parse_symbol",
    "segment_for",
    "split_access_token",
    "topic_for",
]

SEGMENTS: Final[Mapping[str, str]] = {
    "1010": "nse_cm",
    "1011": "nse_fo",
    "1012": "cde_fo",
    "1020": "nse_com",
    "1120": "mcx_fo",
    "1210": "bse_cm",
    "1211": "bse_fo",
    "1212": "bcs_fo",
}
"""``fytoken[:4]`` (exchange + segment codes) → the HSM segment name used in topics."""

INDEX_NAMES: Final[Mapping[str, str]] = {
    "NSE:NIFTY50-INDEX": "Nifty 50",
    "NSE:NIFTYBANK-INDEX": "Nifty Bank",
    "NSE:FINNIFTY-INDEX": "Nifty Fin Service",
    "NSE:MIDCPNIFTY-INDEX": "NIFTY MID SELECT",
    "NSE:NIFTYNXT50-INDEX": "Nifty Next 50",
    "NSE:NIFTY100-INDEX": "Nifty 100",
    "NSE:NIFTYIT-INDEX": "Nifty IT",
    "NSE:NIFTYMIDCAP50-INDEX": "Nifty Midcap 50",
    "NSE:INDIAVIX-INDEX": "India VIX",
    "BSE:SENSEX-INDEX": "SENSEX",
    "BSE:BANKEX-INDEX": "BANKEX",
}
"""HSM names of the common indexes (the feed names indexes, not tokens). Others fall back to
the text between ``:`` and the first ``-``, as the SDK does; callers holding Fyers' full
``index_hsm_mapping.json`` can pass it to :func:`topic_for` / :func:`map_symbols`."""


class DataType(StrEnum):
    """What to subscribe for a symbol: quotes (``sf``/``if`` topics) or 5-level depth (``dp``)."""

    SYMBOL = "SymbolUpdate"
    DEPTH = "DepthUpdate"


_FYTOKEN_RE: Final = re.compile(r"[0-9]{11,30}")


@dataclass(frozen=True, slots=True)
class FyersSymbol:
    """A validated Fyers symbol such as ``NSE:SBIN-EQ``, ``NSE:NIFTY50-INDEX`` or
    ``NSE:NIFTY24DECFUT`` (derivatives carry no ``-SERIES`` suffix)."""

    symbol: str
    exchange: str
    name: str  # everything after the ':'
    series: str | None  # text after the last '-' (EQ, BE, INDEX...), None if no '-'

    @property
    def is_index(self) -> bool:
        return self.series == "INDEX"

    @property
    def base(self) -> str:
        """Text between ``:`` and the first ``-`` (the SDK's fallback index name)."""
        return self.name.split("-", 1)[0]

    def __str__(self) -> str:
        return self.symbol


def parse_symbol(symbol: str) -> FyersSymbol:
    """Validate a Fyers symbol; :class:`~livetrade.errors.InvalidInput` says what is wrong."""
    m = SYMBOL_RE.fullmatch(check_symbol(symbol))
    assert m is not None  # check_symbol matched it
    name = m["name"]
    series = name.rsplit("-", 1)[1] if "-" in name else None
    return FyersSymbol(symbol, m["exchange"], name, series)


def segment_for(fytoken: str) -> str:
    """HSM segment of a fytoken (``10100000003045`` → ``nse_cm``)."""
    if not isinstance(fytoken, str) or _FYTOKEN_RE.fullmatch(fytoken) is None:
        raise InvalidInput("fytoken", f"must be 11-30 digits, got {fytoken!r}")
    segment = SEGMENTS.get(fytoken[:4])
    if segment is None:
        raise InvalidInput("fytoken", f"unknown exchange/segment prefix {fytoken[:4]!r}")
    return segment


def index_topic_name(symbol: str, names: Mapping[str, str] | None = None) -> str:
    """The HSM name of an index: ``names`` first, then :data:`INDEX_NAMES`, then the fallback."""
    if names is not None and symbol in names:
        return names[symbol]
    if symbol in INDEX_NAMES:
        return INDEX_NAMES[symbol]
    return parse_symbol(symbol).base


def topic_for(
    symbol: str,
    fytoken: str,
    data_type: DataType | str = DataType.SYMBOL,
    *,
    index_names: Mapping[str, str] | None = None,
) -> str:
    """HSM topic for a symbol and its fytoken: ``sf|nse_cm|3045``, ``dp|nse_cm|3045`` or
    ``if|nse_cm|Nifty 50``. Depth of an index, unknown segments and unknown data types raise
    InvalidInput (the SDK drops some of these silently)."""
    parsed = parse_symbol(symbol)
    try:
        kind = DataType(data_type)
    except ValueError:
        raise InvalidInput(
            "data_type", f"must be 'SymbolUpdate' or 'DepthUpdate', got {data_type!r}"
        ) from None
    segment = segment_for(fytoken)
    if parsed.is_index:
        if kind is DataType.DEPTH:
            raise InvalidInput("data_type", f"index {symbol} does not have market depth")
        return f"if|{segment}|{index_topic_name(symbol, index_names)}"
    prefix = "dp" if kind is DataType.DEPTH else "sf"
    return f"{prefix}|{segment}|{fytoken[10:]}"


@dataclass(frozen=True, slots=True)
class TopicMap:
    """Result of :func:`map_symbols`: topics to subscribe and what could not be mapped."""

    topics: dict[str, str] = field(default_factory=dict)  # topic → Fyers symbol
    rejected: dict[str, str] = field(default_factory=dict)  # symbol → reason


def map_symbols(
    valid: Mapping[str, str],
    data_type: DataType | str = DataType.SYMBOL,
    *,
    index_names: Mapping[str, str] | None = None,
) -> TopicMap:
    """Turn a symbol-token answer (``validSymbol``: symbol → fytoken) into topics."""
    out = TopicMap()
    for symbol, fytoken in valid.items():
        try:
            out.topics[topic_for(symbol, fytoken, data_type, index_names=index_names)] = symbol
        except InvalidInput as exc:
            out.rejected[symbol] = str(exc)
    return out


# --------------------------------------------------------------------------------------------
# access tokens
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """Claims of a Fyers access token, read WITHOUT verifying the signature (as the SDK does:
    only the server can verify it; we need ``hsm_key`` for the data socket and ``exp`` to
    refuse stale tokens before connecting). The repr hides the token and the key."""

    app_id: str | None
    jwt: str = field(repr=False)  # secrets stay out of reprs and logs
    claims: Mapping[str, object] = field(repr=False)
    exp: int
    hsm_key: str = field(repr=False)

    @property
    def fy_id(self) -> str | None:
        value = self.claims.get("fy_id")
        return value if isinstance(value, str) else None

    def expired(self, now: float) -> bool:
        return self.exp <= now


def split_access_token(token: str) -> tuple[str | None, str]:
    """``"APPID:jwt"`` → (``"APPID"``, jwt); a bare jwt → (None, jwt)."""
    if not isinstance(token, str) or not token:
        raise InvalidInput("access_token", "must be a non-empty string")
    app_id, sep, jwt = token.rpartition(":")
    if not sep:
        return None, token
    if not app_id:
        raise InvalidInput("access_token", "empty app id before ':'")
    return app_id, jwt


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_access_token(token: str) -> AccessTokenClaims:
    """Decode ``APPID:jwt`` or a bare jwt; requires integer ``exp`` and string ``hsm_key``."""
    app_id, jwt = split_access_token(token)
    parts = jwt.split(".")
    if len(parts) != 3:
        raise InvalidInput("access_token", f"a JWT has 3 dot-separated parts, got {len(parts)}")
    try:
        payload = json.loads(_b64url_decode(parts[1]))
    except (binascii.Error, ValueError):
        raise InvalidInput("access_token", "JWT payload is not base64url JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("access_token", "JWT payload is not a JSON object")
    exp = payload.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise InvalidInput("access_token", "JWT has no integer 'exp' claim")
    hsm_key = payload.get("hsm_key")
    if not isinstance(hsm_key, str) or not hsm_key:
        raise InvalidInput("access_token", "JWT has no 'hsm_key' claim (not a Fyers v3 token?)")
    return AccessTokenClaims(app_id, jwt, payload, exp, hsm_key)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_fake_token(
    hsm_key: str,
    exp: int,
    fy_id: str = "XY00000",
    *,
    app_id: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> str:
    """An UNSIGNED Fyers-shaped JWT for tests and the fake server (empty signature part).

    With ``app_id`` the result is ``"APPID:jwt"``. Use 14-character app ids such as
    ``ABCDEFGHIJ-100``: the SDK base64-decodes the app id together with the JWT header and
    rejects some other lengths (spec 1.2).
    """
    header = {"typ": "JWT", "alg": "HS256"}
    claims: dict[str, object] = {
        "iss": "api.fyers.in",
        "sub": "access_token",
        "exp": exp,
        "fy_id": fy_id,
        "hsm_key": hsm_key,
    }
    if extra:
        claims.update(extra)
    jwt = ".".join(
        (
            _b64url(json.dumps(header, separators=(",", ":")).encode()),
            _b64url(json.dumps(claims, separators=(",", ":")).encode()),
            "",
        )
    )
    return jwt if app_id is None else f"{app_id}:{jwt}"
