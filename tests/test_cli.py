"""``livetrade serve`` in a real subprocess on a free loopback port (poll /health, signal, exit 0),
its refusals in-process, and ``livetrade lab``'s command line (exec replaced by a recorder)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from livetrade import cli
from livetrade.fyers.rest import is_loopback

PREFIX = "/api/live-trading"
START_TIMEOUT_S = 60.0  # generous: a loaded CI machine imports FastAPI slowly
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals go to the test's own directory, never the user's."""
    path = tmp_path / "data"
    monkeypatch.setenv("LIVETRADE_DATA_DIR", str(path))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start ``python -m livetrade.cli serve`` and wait (bounded) until /health answers."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    child_env = {k: v for k, v in os.environ.items() if k != cli.TOKEN_ENV} | (env or {})
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "livetrade.cli", "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=child_env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=url, trust_env=False, timeout=2) as client:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if client.get(f"{PREFIX}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail(f"serve did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.05)  # polling interval only; readiness is decided by /health
    return proc, url, log


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("serve did not stop after the signal")


def start_fake_fyers(interval: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start ``livetrade fake-fyers`` and read what it prints: the environment a Fyers
    session needs (data socket, data REST, token, trading API, order socket)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "livetrade.cli", "fake-fyers", "--interval", interval],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(6)]
    env = {
        "FYERS_WS_URL": lines[0].split(": ", 1)[1].strip(),
        "FYERS_REST_URL": lines[1].split(":", 1)[1].strip(),
        "FYERS_ACCESS_TOKEN": lines[3].strip(),
        "FYERS_API_URL": lines[4].split(": ", 1)[1].strip(),
        "FYERS_ORDER_WS_URL": lines[5].split(": ", 1)[1].strip(),
    }
    assert all(is_loopback(url) for key, url in env.items() if key != "FYERS_ACCESS_TOKEN")
    return proc, env


@posix_only
def test_serve_answers_stops_on_sigterm_and_resumes(tmp_path: Path, data_dir: Path) -> None:
    token = "cli-secret-token-42"
    env = {cli.TOKEN_ENV: token}
    proc, url, log = start_serve(
        tmp_path, "--seed", "3", "--speed", "50", "--name", "desk", env=env
    )
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as c:
            health = c.get(f"{PREFIX}/health").json()
            assert (health["mode"], health["feed"], health["clock"]) == ("PAPER", "sim", "wall")
            assert health["session"] == "desk"
            assert c.get(f"{PREFIX}/portfolio").status_code == 401
            assert c.get(f"{PREFIX}/portfolio", headers=auth).status_code == 200
            deadline = time.monotonic() + START_TIMEOUT_S
            while c.get(f"{PREFIX}/health").json()["symbol_count"] == 0:  # first market step
                assert time.monotonic() < deadline
                time.sleep(0.02)
            r = c.post(f"{PREFIX}/buy", json={"symbol": "NSE:SBIN-EQ", "quantity": 1}, headers=auth)
            assert r.status_code == 200, r.text
    finally:
        code = stop(proc, signal.SIGTERM)
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    assert token not in output  # never logged
    assert "serving http://127.0.0.1" in output and "auth on" in output
    assert (data_dir / "desk.sqlite").exists()

    # the same --name resumes from its journal
    proc, url, log = start_serve(tmp_path, "--seed", "3", "--name", "desk", env=env)
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as c:
            positions = c.get(f"{PREFIX}/positions", headers=auth).json()["positions"]
    finally:
        code = stop(proc, signal.SIGTERM)
    assert code == 0, log.read_text()
    assert [(p["symbol"], p["quantity"]) for p in positions] == [("NSE:SBIN-EQ", 1)]


@posix_only
def test_serve_stops_cleanly_on_sigint(tmp_path: Path, data_dir: Path) -> None:
    proc, _, log = start_serve(
        tmp_path, "--feed", "sim", "--broker", "paper", "--seed", "1", "--no-journal"
    )
    code = stop(proc, signal.SIGINT)
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text() and "journal off" in log.read_text()
    assert not data_dir.exists()


def test_public_host_without_token_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli.TOKEN_ENV, raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "livetrade serve: error:" in err and "token" in err


def test_token_from_the_environment_allows_a_public_host(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the exposure check passes with the env token; the missing Fyers token then stops it
    monkeypatch.setenv(cli.TOKEN_ENV, "from-env")
    monkeypatch.delenv("FYERS_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("FYERS_TOKEN_FILE", "/nonexistent/fyers-token")
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0", "--feed", "fyers"]) == 2
    err = capsys.readouterr().err
    assert "Fyers token file" in err and "from-env" not in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--feed", "fyers"], "Fyers token file"),
        (["--broker", "fyers"], "live=True"),
        (["--broker", "fyers", "--live"], "Fyers token file"),
        (["--live"], "broker='fyers'"),
        (["--feed", "replay"], "replay"),
        (["--feed", "carrier-pigeon"], "not one of 'sim', 'replay', 'fyers'"),
    ],
)
def test_unavailable_feeds_and_brokers_are_clear_errors(
    args: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FYERS_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("FYERS_TOKEN_FILE", "/nonexistent/fyers-token")
    assert cli.main(["serve", "--port", "0", *args]) == 2
    assert expected in capsys.readouterr().err


def test_a_taken_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--port", str(port), "--log-level", "error"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["serve", "--port", "70000"], ["serve", "--speed", "0"], []):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and "livetrade" in capsys.readouterr().out


def test_help_explains_the_journal_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    assert "nothing is restored on the next start" in " ".join(capsys.readouterr().out.split())


# ====================================================================== lab
class Exec:
    """Records the ``os.execv`` call instead of replacing the test process."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, path: str, argv: list[str]) -> None:
        self.calls.append((path, list(argv)))


@pytest.fixture
def execv(monkeypatch: pytest.MonkeyPatch) -> Exec:
    recorder = Exec()
    monkeypatch.setattr(os, "execv", recorder)
    monkeypatch.setattr(cli, "_jupyter", lambda: "/venv/bin/jupyter")
    return recorder


@pytest.mark.parametrize("root", [True, False])
def test_lab_opens_the_quickstart(
    execv: Exec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01-quickstart.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_is_root", lambda: root)
    assert cli.main(["lab"]) == 0
    [(path, argv)] = execv.calls
    expected = ["/venv/bin/jupyter", "lab", str(Path("notebooks") / "01-quickstart.ipynb")]
    assert path == "/venv/bin/jupyter"
    assert argv == expected + (["--allow-root"] if root else [])


def test_lab_options_and_missing_notebooks(
    execv: Exec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_is_root", lambda: False)
    monkeypatch.setattr(cli, "QUICKSTART", Path("notebooks") / "no-such.ipynb")
    assert cli.main(["lab", "--port", "9999", "--no-browser"]) == 0
    assert execv.calls[-1][1] == ["/venv/bin/jupyter", "lab", "--port=9999", "--no-browser"]
    assert "not found; opening JupyterLab without it" in capsys.readouterr().err
    assert cli.main(["lab", "--notebook", "missing.ipynb"]) == 2
    assert "no notebook at missing.ipynb" in capsys.readouterr().err
    assert len(execv.calls) == 1


def test_lab_without_jupyter(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_jupyter", lambda: None)
    assert cli.main(["lab"]) == 2
    assert "pip install 'livetrade[lab]'" in capsys.readouterr().err


async def test_fake_fyers_command_serves_quotes() -> None:
    """``livetrade fake-fyers`` prints what a client needs, and a client gets quotes from it."""
    import asyncio

    import livetrade as lt

    proc, env = start_fake_fyers("0.02")
    try:
        ws_url, rest_url = env["FYERS_WS_URL"], env["FYERS_REST_URL"]
        token = env["FYERS_ACCESS_TOKEN"]
        assert ws_url.startswith("ws://127.0.0.1:") and rest_url.startswith("http://127.0.0.1:")
        ws = lt.FyersWebSocketManager(token, ws_url=ws_url, rest_url=rest_url)
        got: list[lt.PriceQuote] = []
        await ws.connect()
        await ws.subscribe_to_symbol("NSE:SBIN-EQ", got.append)
        for _ in range(500):
            if got:
                break
            await asyncio.sleep(0.01)
        await ws.disconnect()
        assert got and got[0].symbol == "NSE:SBIN-EQ"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@posix_only
def test_serve_on_the_fyers_feed_from_the_fake_server(tmp_path: Path, data_dir: Path) -> None:
    """``livetrade serve --feed fyers --watch ...`` against ``livetrade fake-fyers``: real
    protocol on loopback, paper fills through the REST API."""
    fake, env = start_fake_fyers("0.05")
    try:
        proc, url, log = start_serve(
            tmp_path, "--feed", "fyers", "--watch", "NSE:SBIN-EQ", "--no-journal", env=env
        )
        try:
            with httpx.Client(base_url=url + PREFIX, trust_env=False, timeout=5) as client:
                assert client.get("/health").json()["feed"] == "fyers"
                deadline = time.monotonic() + START_TIMEOUT_S
                while True:  # the first quote may still be on its way
                    r = client.post("/buy", json={"symbol": "NSE:SBIN-EQ", "quantity": 3})
                    if r.status_code == 200 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                assert r.status_code == 200, r.text
                assert r.json()["order"]["quantity"] == 3
                refused = client.post(
                    "/update-price",
                    json={"symbol": "NSE:SBIN-EQ", "last_price": 1, "bid_price": 1, "ask_price": 1},
                )
                assert refused.status_code == 409  # a real feed owns the prices
        finally:
            assert stop(proc, signal.SIGTERM) == 0, log.read_text()
    finally:
        fake.terminate()
        fake.wait(timeout=30)


def test_login_saves_a_private_token_that_sessions_then_use(
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``livetrade login`` against the fake Fyers REST API: URL out, redirected URL in, token
    saved 0600 where ``FyersConfig.load`` finds it; the secret never printed."""
    import io
    import stat

    from livetrade.fyers.credentials import FyersConfig
    from livetrade.testing.fake_rest import FakeFyersRest, ThreadedFakeServer

    fake = FakeFyersRest()
    server = ThreadedFakeServer(fake)
    try:
        code = fake.issue_auth_code()
        redirected = f"https://example.invalid/cb?s=ok&code=200&auth_code={code}&state=livetrade"
        monkeypatch.setattr("sys.stdin", io.StringIO(redirected + "\n"))
        monkeypatch.setenv("FYERS_APP_SECRET", fake.app_secret)
        monkeypatch.delenv("FYERS_ACCESS_TOKEN", raising=False)
        monkeypatch.delenv("FYERS_TOKEN_FILE", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config token file to shadow it
        args = ["login", "--app-id", fake.app_id, "--redirect-uri", "https://example.invalid/cb"]
        assert cli.main([*args, "--base-url", server.base_url]) == 0
    finally:
        server.close()
    out = capsys.readouterr()
    assert "generate-authcode" in out.out and fake.app_secret not in out.out + out.err
    saved = data_dir / "fyers-token.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    config = FyersConfig.load()
    assert config.app_id == fake.app_id and "<hidden>" in repr(config)
    assert cli.main([*args, "--base-url", "http://127.0.0.1:9/api/v3"]) == 2  # stdin is spent


@posix_only
def test_serve_live_headless_against_the_fake_server(tmp_path: Path, data_dir: Path) -> None:
    """``livetrade serve --feed fyers --broker fyers --live --arm-live LIVE``: the REST API's
    orders go to the (fake) Fyers trading API; the order socket brings the fill back."""
    fake, env = start_fake_fyers("0.05")
    token = env["FYERS_ACCESS_TOKEN"]
    try:
        args = ("--feed", "fyers", "--broker", "fyers", "--live", "--arm-live", "LIVE")
        proc, url, log = start_serve(
            tmp_path, *args, "--watch", "NSE:SBIN-EQ", "--no-journal", env=env
        )
        try:
            with httpx.Client(base_url=url + PREFIX, trust_env=False, timeout=10) as client:
                health = client.get("/health").json()
                assert (health["mode"], health["broker"], health["armed"]) == (
                    "LIVE",
                    "fyers",
                    True,
                )
                deadline = time.monotonic() + START_TIMEOUT_S
                while True:  # the first quote may still be on its way
                    r = client.post("/buy", json={"symbol": "NSE:SBIN-EQ", "quantity": 3})
                    if r.status_code == 200 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                assert r.status_code == 200, r.text
                order = r.json()["order"]
                assert order["status"] == "FILLED" and order["broker_order_id"]
                positions = client.get("/positions").json()["positions"]
                assert [(p["symbol"], p["quantity"]) for p in positions] == [("NSE:SBIN-EQ", 3)]
            with httpx.Client(trust_env=False, timeout=10) as broker:
                book = broker.get(
                    env["FYERS_API_URL"] + "/orders", headers={"Authorization": token}
                ).json()["orderBook"]
            assert [(o["id"], o["qty"]) for o in book] == [(order["broker_order_id"], 3)]
        finally:
            assert stop(proc, signal.SIGTERM) == 0, log.read_text()
        assert "LIVE trading ARMED" in log.read_text()
    finally:
        fake.terminate()
        fake.wait(timeout=30)


def test_serve_on_a_journal_in_use_says_how_to_get_another(data_dir: Path) -> None:
    """A second 'serve' of the same name: one sentence naming the file and the --name way out,
    not a chained traceback."""
    from livetrade.journal import Journal

    with Journal(data_dir / "desk.sqlite"):
        done = subprocess.run(
            [sys.executable, "-m", "livetrade.cli", "serve", "--name", "desk", "--port", "0"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    assert "desk.sqlite" in done.stderr and "--name desk-2" in done.stderr
    assert "Traceback" not in done.stderr and "database is locked" not in done.stderr
