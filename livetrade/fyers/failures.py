"""The Fyers trading client's transport outcomes: what a caller may catch, and the two
internal signals (not sent / answer lost) its retry logic decides on."""

from __future__ import annotations

from livetrade.errors import FyersApiError

__all__ = ["FyersUnavailable", "SubmitUncertain"]


class FyersUnavailable(FyersApiError):
    """Fyers could not be reached or did not answer in time (after the allowed retries)."""


class SubmitUncertain(FyersApiError):
    """A place request's answer was lost and the order book could not settle whether Fyers has
    the order. Do NOT resend blindly: reconcile later with ``find_by_tag(exc.tag)``."""

    def __init__(self, message: str, tag: str) -> None:
        super().__init__(message)
        self.tag = tag


class NotSent(Exception):
    """The request certainly never reached Fyers (connect failure): safe to resend."""


class Lost(Exception):
    """The request may have reached Fyers but its answer is lost (timeout, reset, 5xx)."""
