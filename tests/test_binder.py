"""Binder's pinned environment must match what pyproject.toml asks for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=\[ ;]", req, maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> SpecifierSet:
    return Requirement(req).specifier


def test_binder_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("lab", "fyers", "api"):
        reqs += project["optional-dependencies"][extra]
    wanted = {_name(r) for r in reqs}
    pins = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"binder pin {line!r} is not exact"
            pins[name.lower()] = version
    assert wanted <= set(pins), f"binder misses {sorted(wanted - set(pins))}"
    for r in reqs:
        assert _spec(r).contains(pins[_name(r)]), f"binder pin of {_name(r)} violates {r!r}"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_opens_the_quickstart() -> None:
    post = (ROOT / "binder" / "postBuild").read_text()
    assert 'c.ServerApp.default_url = "/lab/tree/notebooks/01-quickstart.ipynb"' in post
    assert (ROOT / "notebooks" / "01-quickstart.ipynb").exists()
    assert "pip install --no-deps -e ." in post  # the pinned requirements.txt brings the rest
