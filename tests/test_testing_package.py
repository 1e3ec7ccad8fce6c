"""Test doubles live in livetrade.testing; the old livetrade.fyers.fake* paths still work."""

from __future__ import annotations

import importlib
import subprocess
import sys


def test_new_and_old_paths_are_the_same_modules() -> None:
    import livetrade.testing as testing

    for old, new in [
        ("livetrade.fyers.fake", "livetrade.testing.fake_fyers"),
        ("livetrade.fyers.fake_rest", "livetrade.testing.fake_rest"),
        ("livetrade.fyers.fake_data", "livetrade.testing.fake_data"),
    ]:
        assert importlib.import_module(old) is importlib.import_module(new)
    assert (
        testing.FakeFyersServer
        is importlib.import_module("livetrade.testing.fake_fyers").FakeFyersServer
    )
    assert set(testing.__all__) >= {"FakeFyersServer", "FakeFyersRest", "mock_transport"}


def test_the_real_clients_do_not_import_the_doubles() -> None:
    code = (
        "import sys, livetrade.fyers.broker, livetrade.fyers.stream, livetrade.session, "
        "livetrade.api; print([m for m in sys.modules if m.startswith('livetrade.testing')])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
