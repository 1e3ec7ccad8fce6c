"""The loopback guard the Fyers REST tests share: no test may reach a real Fyers host."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest
import requests  # a declared dev dependency: never a silent skip

from livetrade.fyers.rest import is_loopback


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every URL and every socket connection in these tests must be on this machine."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            assert ipaddress.ip_address(address[0]).is_loopback, f"non-loopback {address}"
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    real_send = httpx.AsyncClient.send

    async def send(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
        assert is_loopback(str(request.url)), f"non-loopback URL {request.url}"
        return await real_send(self, request, **kw)

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    real_requests_send = requests.Session.send

    def requests_send(self: requests.Session, request: Any, **kw: Any) -> Any:
        assert is_loopback(request.url), f"non-loopback URL {request.url}"
        return real_requests_send(self, request, **kw)

    monkeypatch.setattr(requests.Session, "send", requests_send)
