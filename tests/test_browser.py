"""The dashboard in a real browser: JupyterLab on loopback, headless Debian Chromium, a click.

Starts ``jupyter lab`` (random free port, a token, a temporary root and settings), opens
``tests/notebooks/dashboard_live.ipynb`` in Chromium through playwright, runs all cells, waits
for ticks, clicks Buy on the ticket and reads the result from the DOM: the position row, its
P&L moving, candles in the price chart and a timeframe switch. Screenshots go to
``test-artifacts/``. Chromium comes from the system (``make test`` installs Debian's); a missing
browser fails, it never skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "notebooks" / "dashboard_live.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("LIVETRADE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get_json(url: str, method: str = "GET") -> Any:
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def _poll(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    """Bounded polling: ``check()`` until it returns something truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # not ready yet (connection refused...)
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({last_exc!r})")


class Lab:
    """A JupyterLab server in its own process group, isolated config, shut down for sure."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "root"
        self.root.mkdir()
        shutil.copy(NOTEBOOK, self.root / NOTEBOOK.name)
        settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
        )
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "lab.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(self.tmp / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
            IPYTHONDIR=str(self.tmp / "ipython"),
            LIVETRADE_DATA_DIR=str(self.tmp / "journals"),
            PYTHONUNBUFFERED="1",
        )
        cmd = [
            str(Path(sys.executable).with_name("jupyter")),
            "lab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "getuid") and os.getuid() == 0:
            cmd.append("--allow-root")
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        _poll("JupyterLab to answer", self._ready, timeout=60)

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited early:\n{self.log_tail()}")
        return bool(_get_json(f"{self.base}/api/status?token={self.token}"))

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Shut every kernel down through the API, then the server; kill what is left."""
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(Exception):
            for k in _get_json(f"{self.base}/api/kernels?token={self.token}") or []:
                _get_json(f"{self.base}/api/kernels/{k['id']}?token={self.token}", "DELETE")
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    _require_chromium()
    server = Lab(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser test needs Debian's chromium "
            "(`make test` installs it with `apt-get install -y chromium`; never "
            "`playwright install`). Set LIVETRADE_CHROMIUM to use another binary.",
            pytrace=False,
        )


KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""


OVERFLOW = """() => {
  const bad = [];
  const dash = document.querySelector('.livetrade-dashboard');
  const els = [dash, ...dash.querySelectorAll(
    '.lt-panel, .lt-status, .lt-top, .lt-actions, .lt-chart, .lt-charts, .lt-quotes, ' +
    '.lt-positions, .lt-orders')];
  for (const el of els) {
    if (el.offsetParent === null) continue;  // hidden (another tab)
    if (el.scrollWidth > el.clientWidth + 1) {
      bad.push(`${el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const out = dash.closest('.jp-OutputArea-output');
  if (out && dash.getBoundingClientRect().right > out.getBoundingClientRect().right + 1) {
    bad.push('dashboard wider than its output area');
  }
  return bad;
}"""

ON_SCREEN = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
}"""


CANDLES_DRAWN = """() => [...document.querySelectorAll('.lt-price-chart .boxlayer path.box')]
  .map(p => p.getAttribute('d')).join('|')"""
CANDLES = """([least, timeframe]) => {
  const n = document.querySelectorAll('.lt-price-chart .boxlayer path.box').length;
  const title = document.querySelector('.lt-price-chart .gtitle');
  return n >= least && !!title && title.textContent.includes(timeframe + ' candles');
}"""


def _orders_count(page: Any) -> int:
    title = page.locator(".lt-bottom .lm-TabBar-tab", has_text="Orders").inner_text()
    return int(title.split("(")[1].split(")")[0]) if "(" in title else 0


def test_dashboard_in_chromium(lab: Lab) -> None:
    """At 1280x800 with the file browser open: nothing scrolls sideways; quotes, ticket and
    positions are on screen together; 2.5 in Qty (typed or pasted) is refused with a
    sentence; a double-click buys once; a row click loads the ticket; the charts draw and the
    candles follow the timeframe buttons; a
    kernel restart shows the disconnected banner and greys the controls out."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("playwright is not installed (pip install playwright)", pytrace=False)
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            page.goto(lab.url(f"lab/tree/{NOTEBOOK.name}"))
            page.wait_for_function(KERNEL_IDLE, timeout=STEP_TIMEOUT_MS)
            for close in page.locator(".jp-Notification-Toast-Close").all():
                with contextlib.suppress(Exception):
                    close.click(timeout=1_000)
            page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            dash = page.locator(".livetrade-dashboard")
            dash.wait_for(state="visible")

            # ticks arrive: the feed is running and the board shows prices
            page.locator('.lt-feed[data-state="running"]').wait_for()
            page.wait_for_function(
                """() => [...document.querySelectorAll('.lt-quotes-table td.lt-ltp')]
                       .some(td => /\\d/.test(td.textContent))"""
            )
            page.locator(".lt-status .lt-kill", has_text="Trading: ON").wait_for()
            dash.scroll_into_view_if_needed()
            page.evaluate(
                "document.querySelector('.livetrade-dashboard').scrollIntoView({block: 'start'})"
            )
            assert page.evaluate(OVERFLOW) == []
            for sel in (".lt-quotes-panel", ".lt-ticket", "button.lt-buy", ".lt-positions-panel"):
                assert page.evaluate(ON_SCREEN, sel), f"{sel} is not on screen at 1280x800"
            page.screenshot(path=str(ARTIFACTS / "dashboard-1280x800.png"))

            # Qty 2.5, typed key by key, then pasted: refused with a sentence, nothing placed
            qty = page.locator(".lt-qty-input input")
            qty.fill("")
            qty.press_sequentially("2.5", delay=30)
            page.locator(".lt-whatif", has_text="2.5 is not").wait_for()
            page.locator("button.lt-buy").click()
            page.locator(".lt-result .lt-err", has_text="Qty must be a whole number").wait_for()
            qty.fill("1.5")  # one input event with the whole text, as a paste sends it
            page.locator(".lt-whatif", has_text="1.5 is not").wait_for()
            page.locator("button.lt-sell").click()
            page.locator(".lt-result .lt-err", has_text="1.5 is not").wait_for()
            assert _orders_count(page) == 0

            # a double-click on Buy places one order
            qty.fill("1")
            page.locator(".lt-whatif", has_text="1 NSE:SBIN-EQ ≈").wait_for()
            page.locator("button.lt-buy").dblclick()
            result = page.locator(".lt-result .lt-ok")
            result.wait_for()
            assert "Bought 1 NSE:SBIN-EQ" in result.inner_text()
            page.locator("button.lt-buy:not([disabled])").wait_for()  # released
            assert _orders_count(page) == 1

            # the position appears, and its P&L moves with the market
            row = page.locator(".lt-positions-table tbody tr", has_text="NSE:SBIN-EQ")
            row.wait_for()
            cell = row.locator("td.lt-unrealized")
            first = cell.inner_text()
            _poll(
                "the position's unrealized P&L to change",
                lambda: cell.inner_text() != first,
                timeout=30,
            )
            page.locator(".lt-orders-table", has_text="FILLED").wait_for(state="attached")

            # a click on a quote row puts that symbol on the ticket
            page.locator(".lt-quotes-table tbody tr", has_text="NSE:TCS-EQ").click()
            page.locator(".lt-whatif", has_text="NSE:TCS-EQ").wait_for()

            # the charts tab: candles (the past included) and the P&L curve draw, as wide as
            # their box; another timeframe redraws the candles
            page.locator(".lt-bottom .lm-TabBar-tab", has_text="Charts").click()
            page.wait_for_function(CANDLES, arg=[20, "5min"])
            five = page.evaluate(CANDLES_DRAWN)
            page.locator(".lt-timeframe button", has_text="1h").click()
            page.wait_for_function(CANDLES, arg=[10, "1h"])
            assert page.evaluate(CANDLES_DRAWN) != five
            page.wait_for_function(
                "() => !!document.querySelector('.lt-pnl-chart .scatterlayer path.js-line')"
            )
            page.wait_for_function(
                """() => [...document.querySelectorAll('.lt-chart')].every(c => {
                  const svg = c.querySelector('.main-svg');
                  return svg && Math.abs(svg.getBoundingClientRect().width - c.clientWidth) < 12;
                })"""
            )
            assert page.evaluate(OVERFLOW) == []
            page.screenshot(path=str(ARTIFACTS / "dashboard-charts.png"))

            # a kernel restart: the banner says so and the controls grey out
            page.evaluate(
                "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
            )
            banner = page.locator(".lt-banner", has_text="Kernel not answering")
            banner.wait_for(timeout=30_000)
            page.locator(".livetrade-dashboard.lt-offline").wait_for(state="attached")
            page.screenshot(path=str(ARTIFACTS / "dashboard-disconnected.png"))
        except Exception:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
            print("--- jupyter lab log ---\n" + lab.log_tail())
            raise
        finally:
            browser.close()
    assert time.monotonic() - started < 180
