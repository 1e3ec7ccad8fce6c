"""The small exception hierarchy every livetrade error belongs to.

Rejections carry a machine-readable ``code`` and a human ``sentence`` so that notebooks, widgets
and the REST API can all show the same words, and programs can branch on the code.
"""

from __future__ import annotations


class LiveTradeError(Exception):
    """Base class of every error livetrade raises on purpose."""


class OrderRejected(LiveTradeError):
    """An order (or an order change) was refused; no state changed.

    ``code`` is a stable upper-case identifier (``"INVALID_QUANTITY"``, ``"STALE_QUOTE"``...),
    ``field`` names the offending input when there is one, and ``reason`` is a full sentence.
    """

    def __init__(self, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field

    def __repr__(self) -> str:
        return f"OrderRejected(code={self.code!r}, field={self.field!r}, reason={self.reason!r})"


class InvalidInput(LiveTradeError, ValueError):
    """A value handed to livetrade is malformed (names the field and why)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ProtocolError(LiveTradeError):
    """A Fyers wire frame could not be parsed (carries the byte offset and the reason)."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{reason}{where}")
        self.reason = reason
        self.offset = offset


class FeedDisconnected(LiveTradeError):
    """The market-data feed is not connected (and could not be reconnected)."""


class AuthError(LiveTradeError):
    """A Fyers credential is missing, invalid or expired."""


class SessionClosed(LiveTradeError):
    """The session was closed; open a new one."""


class FyersApiError(LiveTradeError):
    """A Fyers REST call answered with an error (``code`` and ``message`` as Fyers sent them)."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class RateLimited(FyersApiError):
    """Fyers kept answering 429 (or asked for a pause longer than we are willing to wait)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, code=-429, status=429)
        self.retry_after = retry_after
