# livetrade — every target builds/updates .venv from pyproject.toml on its own.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test bench lint typecheck venv clean chromium redis

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# the official Fyers SDK is a test-time reference only, installed without its unsafe pins
	$(BIN)/python -m pip install -q --no-deps fyers-apiv3==3.2.0
	$(BIN)/python -m pip install -q aiohttp aws-lambda-powertools requests websocket-client protobuf "setuptools<82"
	touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)  ## set up and open JupyterLab on the quickstart notebook
	$(BIN)/jupyter lab notebooks/01-quickstart.ipynb $(if $(filter 0,$(shell id -u)),--allow-root,)

# Debian's Chromium for the real-browser test (never `playwright install`: downloads are blocked)
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Debian's Redis server for the feed-hub tests (the tests start their own instances)
redis:
	@command -v redis-server >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null)

test: $(STAMP) chromium redis lint typecheck  ## set up and run every test (lint, types, unit, property, notebooks, browser)
	$(BIN)/pytest
	$(BIN)/pytest --nbval notebooks

bench: $(STAMP) redis  ## run the benchmarks (ratios against baselines measured in the same run)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/journal_bench.py
	$(BIN)/python benchmarks/fyers_bench.py
	$(BIN)/python benchmarks/fyers_rest_bench.py
	$(BIN)/python benchmarks/api_bench.py
	$(BIN)/python benchmarks/ui_responsiveness.py
	$(BIN)/python benchmarks/hub_bench.py
	$(BIN)/python benchmarks/live_bench.py
	$(BIN)/python benchmarks/bars_bench.py
	$(BIN)/python benchmarks/fills_bench.py
	$(BIN)/python benchmarks/fno_bench.py
	$(BIN)/python benchmarks/chain_bench.py

lint: $(STAMP)
	$(BIN)/ruff check livetrade tests benchmarks
	$(BIN)/ruff format --check livetrade tests benchmarks

typecheck: $(STAMP)  ## mypy --strict over the package (also part of make test)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
