"""How long until ``session.dashboard()`` shows something, in a real browser, in a fresh kernel?

Starts JupyterLab (the browser test's ``Lab`` helper) and headless Debian Chromium, opens a
two-cell notebook (open a real-time simulated session; ``session.dashboard()``) in a fresh
kernel and measures:

- session: running the first cell until its execution count appears (import livetrade, open
  the session; the kernel's first execution);
- first paint: from running ``session.dashboard()`` until the quote board shows prices and the
  ticket's Buy button is on screen;
- full render: from the same start until both charts have drawn a line (the Charts tab is
  clicked right after the first paint when the dashboard has one).

Each round uses a new kernel (so the first import of ipywidgets/plotly is counted).

    .venv/bin/python benchmarks/ui_first_paint.py [--rounds 3] [--pythonpath DIR]

``--pythonpath`` puts another checkout's ``livetrade`` first on the kernel's path (to measure a
previous version: ``git archive HEAD livetrade | tar -x -C /tmp/before``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "open",
            "metadata": {},
            "outputs": [],
            "source": "import livetrade as lt\nsession = await lt.open_session(feed='sim', "
            "seed=7, realtime=True, tick_interval=0.2, name='paint', journal=False)",
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "dash",
            "metadata": {},
            "outputs": [],
            "source": "session.dashboard()",
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}

FIRST_PAINT = """() => [...document.querySelectorAll('.lt-quotes-table td.lt-ltp')]
    .some(td => /\\d/.test(td.textContent)) && !!document.querySelector('button.lt-buy')"""
FULL_RENDER = """() => ['.lt-price-chart', '.lt-pnl-chart'].every(sel => {
    const line = document.querySelector(sel + ' .scatterlayer path.js-line');
    return !!line && (line.getAttribute('d') || '').length > 10;
})"""
RUN_CELL = """() => {{
    const nb = window.jupyterapp.shell.currentWidget.content;
    nb.activeCellIndex = {index};
    return window.jupyterapp.commands.execute('notebook:run-cell');
}}"""
SESSION_DONE = """() => [...document.querySelectorAll('.jp-InputPrompt')]
    .some(p => /\\[1\\]/.test(p.textContent))"""


def _browser_helpers() -> Any:
    spec = importlib.util.spec_from_file_location("_browser", ROOT / "tests" / "test_browser.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def one_round(b: Any, pythonpath: str | None, width: int, height: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        lab = b.Lab(Path(tmp))
        nb = lab.root / "paint.ipynb"
        nb.write_text(json.dumps(NOTEBOOK))
        old = os.environ.get("PYTHONPATH")
        if pythonpath:
            os.environ["PYTHONPATH"] = pythonpath
        try:
            lab.start()
        finally:
            if pythonpath:
                if old is None:
                    del os.environ["PYTHONPATH"]
                else:
                    os.environ["PYTHONPATH"] = old
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(b.CHROMIUM), args=b.CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(120_000)
                page.goto(lab.url("lab/tree/paint.ipynb"))
                page.wait_for_function(b.KERNEL_IDLE)
                out: dict[str, float] = {}
                t0 = time.monotonic()
                page.evaluate(RUN_CELL.format(index=0))
                page.wait_for_function(SESSION_DONE, polling=20)
                out["session"] = time.monotonic() - t0
                t0 = time.monotonic()
                page.evaluate(RUN_CELL.format(index=1))
                page.wait_for_function(FIRST_PAINT, polling=20)
                out["first_paint"] = time.monotonic() - t0
                tab = page.locator(".lt-bottom .lm-TabBar-tab", has_text="Charts")
                if tab.count():  # charts behind a tab (built when it is first opened)
                    tab.click()
                page.wait_for_function(FULL_RENDER, polling=20)
                out["full_render"] = time.monotonic() - t0
                browser.close()
            return out
        finally:
            lab.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pythonpath", help="put this directory first on the kernel's sys.path")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    b = _browser_helpers()
    rounds = [one_round(b, args.pythonpath, args.width, args.height) for _ in range(args.rounds)]
    print(f"{'seconds':<22}{'median':>8}{'min':>8}{'max':>8}")
    for key in ("session", "first_paint", "full_render"):
        vals = [r[key] for r in rounds]
        print(f"{key:<22}{statistics.median(vals):>8.2f}{min(vals):>8.2f}{max(vals):>8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rounds, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
