"""No secret anywhere a user or an attacker can read it.

A live session runs against the fake Fyers server (data socket, trading REST API, order socket)
with every logger at DEBUG — ``websockets``, ``httpx`` and ``httpcore`` included — through a
connect, an order and its fill, a dropped order socket and a dropped data socket, a refused
token and a close. Then every captured log record, every repr, every exception sentence, the
journal's rows and the REST API's answers are searched for the access token, its JWT, its
signature and the data socket's ``hsm_key``. The serve CLI at ``--log-level debug`` is searched
the same way.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from conftest import until
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)
from test_cli import START_TIMEOUT_S, start_fake_fyers, start_serve, stop

import livetrade as lt
from livetrade.model import OrderStatus
from livetrade.testing.fake_fyers import FakeFyersServer

SBIN = "NSE:SBIN-EQ"
WAIT = 15.0  # seconds: only a broken implementation ever waits this long


def secrets_of(access_token: str, hsm_key: str | None = None) -> list[str]:
    """The strings that must never be shown: the token, its JWT, the JWT's claims part."""
    jwt = access_token.split(":", 1)[1]
    claims = jwt.split(".")[1]
    found = [access_token, jwt, claims]
    if hsm_key:
        found.append(hsm_key)
    assert all(len(s) >= 16 for s in found)  # long enough that a hit is not a coincidence
    return found


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s[:6] + "…" for s in secrets if s in text]


class Capture(logging.Handler):
    """Every record at every level, formatted as a log file would show it (args included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    root = logging.getLogger()
    capture = Capture()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


@pytest.fixture
async def fake() -> AsyncIterator[FakeFyersServer]:
    server = FakeFyersServer(seed=3, tick_interval=None)
    await server.start()
    yield server
    await server.stop()


async def test_a_live_session_at_debug_never_shows_the_token(
    fake: FakeFyersServer, debug_logs: Capture, tmp_path: Path
) -> None:
    secrets = secrets_of(fake.config.access_token, fake.hsm_key)
    shown: list[str] = []
    s = await lt.open_session(
        feed="fyers",
        broker="fyers",
        live=True,
        fyers=fake.config,
        name="secret-live",
        journal_dir=tmp_path,
        poll_interval=None,
        square_off=None,
    )
    errors: list[BaseException] = []
    s.error_event += errors.append
    try:
        await s.watch([SBIN])
        await fake.push_quote(SBIN, 80_000)
        await until(lambda: s.stream.last_paise(SBIN) == 80_000, what="the first quote")
        assert s.order_socket is not None
        await s.order_socket.wait_connected(WAIT)
        await s.arm_live(confirm="LIVE")
        order = await s.buy(SBIN, 2, order_type="LIMIT", limit_price=Decimal("799.00"))
        await fake.push_quote(SBIN, 79_850)
        await until(lambda: order.status is OrderStatus.FILLED, what="the fill")
        await fake.drop_order_sockets()
        await until(
            lambda: s.order_socket is not None and s.order_socket.connects == 2, what="rejoin"
        )
        await fake.drop_connections()
        await fake.push_quote(SBIN, 79_900)
        await until(lambda: s.stream.last_paise(SBIN) == 79_900, what="the quote after the drop")
        server = await s.serve_api(port=0)
        try:
            async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
                for path in ("health", "portfolio", "positions", "orders", "reconciliation"):
                    shown.append((await client.get(f"/api/live-trading/{path}")).text)
        finally:
            await server.stop()
        shown += [repr(s), str(s), repr(s.order_socket), repr(fake.config), repr(s.router)]
        shown += [s.orders_df().to_string(), s.fills_df().to_string(), s.journal_df().to_string()]
        fake.reject_token = True  # a token that dies during the day: its sentences too
        await fake.drop_order_sockets()
        await until(lambda: s.engine.kill_switch is lt.KillSwitch.HALTED, what="the halt")
        assert errors  # the refusal was reported: its sentence is checked below
        shown += [f"{e!r} {e}" for e in errors]
    finally:
        await s.close()
    journal = tmp_path / "secret-live.sqlite"
    shown.append(journal.read_bytes().decode("latin-1"))
    assert len(debug_logs.lines) > 50  # DEBUG really was on (websockets, httpx, ours)
    assert any(line.startswith("websockets") or ".websockets" in line for line in debug_logs.lines)
    for line in debug_logs.lines:
        assert not leaks(line, secrets), f"secret in a log line: {line[:200]}"
    for text in shown:
        assert not leaks(text, secrets), f"secret shown: {text[:200]}"


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="POSIX signals")
def test_serve_live_at_debug_prints_no_token(tmp_path: Path) -> None:
    fake, env = start_fake_fyers("0.05")
    secrets = secrets_of(env["FYERS_ACCESS_TOKEN"])
    try:
        args = ("--feed", "fyers", "--broker", "fyers", "--live", "--arm-live", "LIVE")
        proc, url, log = start_serve(
            tmp_path,
            *args,
            "--watch",
            "NSE:SBIN-EQ",
            "--no-journal",
            "--log-level",
            "debug",
            env={**env, "LIVETRADE_DATA_DIR": str(tmp_path / "data")},
        )
        try:
            with httpx.Client(base_url=url + "/api/live-trading", trust_env=False) as client:
                deadline = time.monotonic() + START_TIMEOUT_S
                while True:  # the first quote may still be on its way
                    r = client.post("/buy", json={"symbol": SBIN, "quantity": 1})
                    if r.status_code == 200 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                assert r.status_code == 200, r.text
                assert not leaks(r.text, secrets)
        finally:
            assert stop(proc, signal.SIGTERM) == 0, log.read_text()
        text = log.read_text()
        assert " DEBUG " in text or "DEBUG:" in text  # debug lines really were written
        assert not leaks(text, secrets), "secret in the serve log"
    finally:
        fake.terminate()
        fake.wait(timeout=30)
