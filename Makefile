# Two commands do all set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SOURCES ?= seeds
INDEX ?= index_data

.PHONY: run test lint format index clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv" >&2; exit 1; fi; }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "note: Debian's chromium is not installed and this is not root: browser tests will be skipped" >&2; fi; \
	fi
	touch $@

index: $(VENV)/.installed
	$(BIN)/python -m indexer build $(SOURCES) --index $(INDEX) --if-stale

run: index
	$(BIN)/python -m search_web --index $(INDEX) --host $(HOST) --port $(PORT)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest -q

N ?= 100000
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@

# Not part of `make test`: generates N documents, builds all three engines, writes benchmarks/results/latest.json.
bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/bench.py --n $(N)

clean:
	rm -rf $(VENV) $(INDEX)/gen-* $(INDEX)/CURRENT test-output .pytest_cache .ruff_cache
