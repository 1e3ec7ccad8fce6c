"""Is this address on this machine? One answer for every caller.

The REST API refuses to bind beyond loopback without a token; the Fyers clients never send a
loopback URL through an environment proxy and only let a loopback fake stand in for Fyers; the
login flow only accepts a loopback redirect without TLS. All of them ask here, so the rule is
the same everywhere: ``localhost``, 127.0.0.0/8 and ``::1`` (by address, never by text prefix:
``127.example.com`` is a public name).
"""

from __future__ import annotations

import argparse
import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback", "is_loopback_host", "positive_number"]


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1 are loopback; anything else (0.0.0.0 too) is not."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """True for URLs whose host is on this machine (see :func:`is_loopback_host`)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a malformed URL (e.g. a bad IPv6 literal) is not on this machine
        return False
    return bool(host) and is_loopback_host(host or "")


def positive_number(text: str) -> float:
    """argparse type for the serve and hub commands' rates and intervals."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value
