"""The official Fyers SDK (a test-time reference, never a runtime dependency) pointed at the
local fake server: one helper for every test file that compares our client with it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from livetrade.fyers.rest import is_loopback
from livetrade.testing import FakeFyersServer

fyers_model = pytest.importorskip("fyers_apiv3.fyersModel")

_SDK_LOGGERS = ("FyersAPI", "FyersAPIRequest")


@contextlib.contextmanager
def sdk_model(
    fake: FakeFyersServer, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """``FyersModel`` whose trading (``Config.API``) and data (``Config.DATA_API``) calls go to
    ``fake``; its session is closed and the log handlers it adds are removed afterwards."""
    monkeypatch.setattr(fyers_model.Config, "API", fake.api_url)
    monkeypatch.setattr(fyers_model.Config, "DATA_API", fake.rest_url)
    assert is_loopback(fyers_model.Config.API) and is_loopback(fyers_model.Config.DATA_API)
    before = {n: list(logging.getLogger(n).handlers) for n in _SDK_LOGGERS}
    app_id, jwt = fake.config.access_token.split(":", 1)
    model = fyers_model.FyersModel(client_id=app_id, token=jwt, log_path=str(log_dir))
    try:
        yield model
    finally:
        model.service.session.close()
        for name in _SDK_LOGGERS:
            for handler in logging.getLogger(name).handlers[:]:
                if handler not in before[name]:
                    logging.getLogger(name).removeHandler(handler)
                    handler.close()
