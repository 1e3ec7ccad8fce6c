"""The option chain in a real browser: JupyterLab at 1280x800 with the file browser open, a
session with simulated NIFTY options, a click on a put's Bid in the chain, the ticket in lots,
a sale, the position with its Greeks, the payoff chart. Screenshots go to ``test-artifacts/``
(``chain-*.png``). Same harness as ``test_browser.py`` (its JupyterLab server and Chromium)."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    KERNEL_IDLE,
    ON_SCREEN,
    OVERFLOW,
    STEP_TIMEOUT_MS,
    Lab,
    _require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "dashboard_chain.ipynb"
CHAIN_OVERFLOW = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('.lt-chain, .lt-chain-panel, .lt-payoff')) {
    if (el.offsetParent === null) continue;
    if (el.scrollWidth > el.clientWidth + 1) bad.push(`${el.className}: ${el.scrollWidth}`);
  }
  return bad;
}"""


@pytest.fixture
def chain_lab(tmp_path: Path) -> Iterator[Lab]:
    _require_chromium()
    server = Lab(tmp_path)
    shutil.copy(NOTEBOOK, server.root / NOTEBOOK.name)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_trading_from_the_chain_in_chromium(chain_lab: Lab) -> None:
    """A put's Bid on the chain loads the ticket to Sell 1 lot of it (lot size and premium
    shown); selling it shows the position in lots with days to expiry and Greeks; the payoff
    tab draws both curves; nothing scrolls sideways."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        try:
            page.goto(chain_lab.url(f"lab/tree/{NOTEBOOK.name}"))
            page.wait_for_function(KERNEL_IDLE, timeout=STEP_TIMEOUT_MS)
            for close in page.locator(".jp-Notification-Toast-Close").all():
                with contextlib.suppress(Exception):
                    close.click(timeout=1_000)
            page.evaluate("window.jupyterapp.shell.activateById('filebrowser')")
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.locator(".livetrade-dashboard").wait_for(state="visible")
            page.locator('.lt-feed[data-state="running"]').wait_for()

            # the chain tab: prices in the bid cells, the at-the-money row marked
            page.locator(".lt-bottom .lm-TabBar-tab", has_text="Chain").click()
            atm = page.locator(".lt-chain-table tbody tr.lt-selected")
            atm.wait_for()
            page.wait_for_function(
                """() => [...document.querySelectorAll('.lt-chain-table td.lt-bid')]
                       .filter(td => /\\d/.test(td.textContent)).length >= 10"""
            )
            page.locator(".lt-chain-title", has_text="forward").wait_for()
            assert page.evaluate(OVERFLOW) == [] and page.evaluate(CHAIN_OVERFLOW) == []
            page.locator(".lt-chain-panel").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "chain-tab-1280x800.png"))

            # a click on the ATM put's Bid: the ticket sells 1 lot of that put
            strike = atm.locator("td.lt-strike").inner_text().replace(",", "")
            atm.locator("td.lt-put.lt-bid").click()
            whatif = page.locator(".lt-whatif", has_text="Sell 1 lot × 65")
            whatif.wait_for()
            assert f"{strike}PE" in whatif.inner_text() and "premium ₹" in whatif.inner_text()
            page.locator(".lt-lot-info", has_text="lot size 65").wait_for()
            assert page.locator(".lt-qty-input label").inner_text() == "Lots"
            # the margin the sale blocks, beside the premium, against the funds available
            margin_line = page.locator(".lt-whatif .lt-margin-line.lt-margin-ok")
            margin_line.wait_for()
            assert "funds needed ₹" in margin_line.inner_text()
            assert "available" in margin_line.inner_text() and "margin ₹" in whatif.inner_text()
            assert page.locator(".lt-status .lt-margin").inner_text() == "margin used ₹0.00"
            assert page.evaluate(OVERFLOW) == []
            # the ticket scrolled into view: the chain sits below the fold at 1280x800
            page.wait_for_function(ON_SCREEN, arg=".lt-ticket button.lt-sell")
            page.screenshot(path=str(ARTIFACTS / "chain-ticket-1280x800.png"))

            page.locator("button.lt-sell").click()
            result = page.locator(".lt-result .lt-ok")
            result.wait_for()
            assert "Sold 65 NSE:NIFTY" in result.inner_text()
            # funds follow: margin blocked and the premium received in the status line
            page.locator(".lt-status .lt-premium", has_text="premium received ₹").wait_for()
            page.wait_for_function(
                """() => { const m = document.querySelector('.lt-status .lt-margin');
                   return m && /margin used ₹[1-9]/.test(m.textContent); }"""
            )
            assert page.evaluate(OVERFLOW) == []
            page.locator(".lt-status").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "chain-funds-1280x800.png"))
            # twenty lots would need more than the account has: the ticket says so first
            page.locator(".lt-qty-input input").fill("20")
            short = page.locator(".lt-whatif .lt-margin-line.lt-margin-short")
            short.wait_for()
            assert "the order will be refused" in short.inner_text()
            page.locator(".lt-ticket").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "chain-margin-short-1280x800.png"))
            page.locator(".lt-qty-input input").fill("1")

            # the position: lots, days to expiry, Greeks, and the net Greeks in the summary
            row = page.locator(".lt-positions-table tbody tr", has_text=f"{strike}PE")
            row.wait_for()
            assert row.locator("td.lt-c-lots").inner_text() == "-1"
            page.wait_for_function(
                """() => { const td = document.querySelector(
                     '.lt-positions-table tbody td.lt-c-delta');
                   return td && /[0-9]/.test(td.textContent); }"""
            )
            page.locator(".lt-positions .lt-summary", has_text="Greeks").wait_for()
            page.locator(".lt-positions-panel").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "chain-position-1280x800.png"))

            # the payoff tab: both curves drawn
            page.locator(".lt-bottom .lm-TabBar-tab", has_text="Payoff").click()
            page.wait_for_function(
                "() => document.querySelectorAll('.lt-payoff .scatterlayer path.js-line')"
                ".length >= 2"
            )
            assert page.evaluate(OVERFLOW) == [] and page.evaluate(CHAIN_OVERFLOW) == []
            page.locator(".lt-payoff").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "chain-payoff-1280x800.png"))
        except Exception:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "chain-failure.png"), full_page=True)
            print("--- jupyter lab log ---\n" + chain_lab.log_tail())
            raise
        finally:
            browser.close()
    assert time.monotonic() - started < 180
