"""One loopback rule for the API's bind check, the Fyers clients' proxy/fake checks and the
login redirect. The URL form used to trust any host starting with '127.', a public name."""

from __future__ import annotations

import pytest

from livetrade import api
from livetrade.fyers import rest
from livetrade.net import is_loopback, is_loopback_host


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8000/api", True),
        ("ws://127.1.2.3/trade/v3", True),
        ("http://localhost/", True),
        ("http://LOCALHOST./", True),
        ("http://[::1]:9/", True),
        ("https://127.example.com/api", False),  # a public name that merely starts with 127.
        ("https://127.0.0.1.nip.io/", False),
        ("https://api-t1.fyers.in/api/v3", False),
        ("http://0.0.0.0:8000/", False),
        ("http://[::ffff:127.0.0.1]/", False),  # mapped, not the loopback interface itself
        ("http://[::1/", False),  # malformed
        ("not a url", False),
    ],
)
def test_one_rule_everywhere(url: str, local: bool) -> None:
    assert is_loopback(url) is local
    assert rest.is_loopback(url) is local  # the name the Fyers modules import


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("127.example.com", False),
        ("", False),
    ],
)
def test_hosts(host: str, local: bool) -> None:
    assert is_loopback_host(host) is local and api.is_loopback(host) is local
