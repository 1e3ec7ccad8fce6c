"""The docs are tested too: every notebook runs under nbval in ``make test`` with its outputs
committed, README links each of them, and README's code examples run as written (the live
example against the local fake Fyers server)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from loopback_guard import loopback_only  # noqa: F401  (autouse fixture)

import livetrade as lt
from livetrade.fyers.rest import is_loopback
from livetrade.testing.fake_fyers import FakeFyersServer

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
README = (ROOT / "README.md").read_text()


def python_block(after_heading: str) -> str:
    """The first ```python block of the README section ``after_heading``."""
    section = README.split(f"## {after_heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, f"no python block under {after_heading!r}"
    return match.group(1)


async def run_cells(source: str, **names: Any) -> dict[str, Any]:
    """Run notebook-style code (top-level ``await``) and return its namespace."""
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = dict(names)
    result = eval(code, namespace)  # the README's own example, nothing else
    if result is not None:
        await result
    return namespace


def test_the_notebook_set_is_the_documented_one() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01-quickstart.ipynb",
        "02-orders-and-risk.ipynb",
        "03-pnl-analysis.ipynb",
        "04-fyers-connection.ipynb",
        "05-rest-api.ipynb",
        "06-replay-and-journal.ipynb",
        "07-candles-history-depth.ipynb",
        "08-futures-and-options.ipynb",
        "09-option-chain.ipynb",
    ]
    for name in names:
        assert f"notebooks/{name}" in README, f"README does not link {name}"


def test_make_test_runs_every_notebook_under_nbval() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "pytest --nbval notebooks\n" in recipe + "\n"  # the whole folder, recursively
    assert "\n\t$(BIN)/pytest\n" in recipe + "\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_has_its_outputs_and_skips_nothing(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    assert all(c.get("outputs") is not None for c in code)
    assert sum(1 for c in code if c["outputs"]) >= len(code) // 2, "outputs are not committed"
    for cell in code:
        tags = cell.get("metadata", {}).get("tags", [])
        source = "".join(cell["source"])
        assert "nbval-skip" not in tags and "NBVAL_SKIP" not in source, f"{path.name} skips"
        assert not any(o.get("output_type") == "error" for o in cell["outputs"]), source[:60]


async def test_the_readme_ten_lines_run() -> None:
    ns = await run_cells(python_block("Ten lines"))
    session = ns["session"]
    assert session.closed and ns["order"].symbol == "NSE:SBIN-EQ"


async def test_the_readme_live_example_runs_against_the_fake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeFyersServer(seed=2, tick_interval=0.02) as fake:
        cfg = fake.config
        for var, value in {
            "FYERS_ACCESS_TOKEN": cfg.access_token,
            "FYERS_WS_URL": cfg.ws_url,
            "FYERS_REST_URL": cfg.rest_url,
            "FYERS_API_URL": cfg.api_url,
            "FYERS_ORDER_WS_URL": cfg.order_ws_url,
        }.items():
            if var != "FYERS_ACCESS_TOKEN":
                assert is_loopback(value)
            monkeypatch.setenv(var, value)
        monkeypatch.delenv("FYERS_TOKEN_FILE", raising=False)
        ns = await run_cells(python_block("Going live, safely"), lt=lt)  # as imported above
        session = ns["session"]
        try:
            assert session.mode == "LIVE" and ns["order"].broker_order_id in fake.orders.orders
            assert ns["order"].status is lt.OrderStatus.FILLED
        finally:
            await session.close()
