"""The modules split out of the data-socket codec and the trading records stay without I/O
(#13): none of them imports a socket, an event loop or an HTTP client, and importing the
records pulls in no HTTP client at all."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import livetrade

PKG = Path(livetrade.__file__).parent
IO_MODULES = {"asyncio", "socket", "ssl", "selectors", "httpx", "requests", "websockets", "aiohttp"}
SANS_IO = [
    "fyers/codec.py",
    "fyers/wire.py",
    "fyers/client_frames.py",
    "fyers/server_frames.py",
    "fyers/ticks.py",
    "fyers/tick_converter.py",
    "fyers/feed_state.py",
    "fyers/records.py",
    "fyers/record_types.py",
    "fyers/status_codes.py",
]


def imported(path: Path) -> set[str]:
    """Top-level package names every import statement of ``path`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", SANS_IO)
def test_no_io_imports(module: str) -> None:
    assert not imported(PKG / module) & IO_MODULES


def test_reading_records_imports_no_http_client() -> None:
    code = (
        "import sys, livetrade.fyers.records, livetrade.fyers.codec; "
        "print(sorted(m for m in ('httpx', 'requests', 'websockets') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
