"""The order socket never gives up while it is open: a server that is down for longer than
the old five attempts is rejoined when it comes back; the outage is reported after the first
failures and then at most once a minute (the loop's clock, not a sleep)."""

from __future__ import annotations

import asyncio
import socket

from conftest import until
from websockets.asyncio.server import ServerConnection, serve

from livetrade.errors import AuthError
from livetrade.fyers.order_socket import FyersOrderSocket

AUTH = "ABCDEFGHIJ-100:header.claims.signature"
WAIT = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_long_outage_is_reported_once_and_rejoined() -> None:
    port = free_port()
    errors: list[BaseException] = []
    connects: list[int] = []
    sock = FyersOrderSocket(
        AUTH,
        url=f"ws://127.0.0.1:{port}/trade/v3",
        on_error=errors.append,
        on_connect=lambda: connects.append(1),
        backoff=lambda attempt: 0.001,
        open_timeout=2.0,
    )
    sock.start()
    try:
        await until(lambda: sock.attempt > 12, what="a dozen failed attempts")
        assert sock.state in ("reconnecting", "connecting")  # not 'failed' after 5
        # reported once the outage was real (3rd failure), then not again within the minute
        assert len(errors) == 1 and isinstance(errors[0], ConnectionError)
        assert "still reconnecting" in str(errors[0]) and AUTH not in str(errors[0])

        frames: list[str] = []

        async def handler(ws: ServerConnection) -> None:
            async for frame in ws:
                frames.append(str(frame))

        async with serve(handler, "127.0.0.1", port):
            await until(lambda: bool(connects), what="the rejoin")
            await until(lambda: bool(frames), what="the subscribe frame")
        assert sock.state in ("connected", "reconnecting", "connecting")
        assert frames[0].startswith('{"T": "SUB_ORD"')
    finally:
        await sock.close()
    assert sock.state == "closed"


async def test_the_report_repeats_after_a_minute_of_loop_time() -> None:
    sock = FyersOrderSocket(AUTH, url="ws://127.0.0.1:9/trade/v3", report_every=60.0)
    reports: list[BaseException] = []
    sock.on_error = reports.append
    loop = asyncio.get_running_loop()
    now = [1000.0]
    real_time = loop.time
    loop.time = lambda: now[0]  # type: ignore[method-assign]
    try:
        for attempt, t in enumerate([0.0, 1.0, 2.0, 30.0, 61.9, 62.1, 100.0, 122.2], 1):
            sock.attempt, now[0] = attempt, 1000.0 + t
            sock._report_outage("refused")
    finally:
        loop.time = real_time  # type: ignore[method-assign]
    # attempts 1-2 are silent; 3 (t=2) reports; 62.1 is the first a minute later; then 122.2
    assert len(reports) == 3


async def test_retries_still_bounds_it_when_asked() -> None:
    errors: list[BaseException] = []
    sock = FyersOrderSocket(
        AUTH,
        url=f"ws://127.0.0.1:{free_port()}/trade/v3",
        on_error=errors.append,
        retries=2,
        backoff=lambda attempt: 0.0,
    )
    sock.start()
    try:
        await until(lambda: sock.state == "failed", what="the bounded give-up")
        assert "failed 2 times" in str(errors[-1]) and not isinstance(errors[-1], AuthError)
    finally:
        await sock.close()
