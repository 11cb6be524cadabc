# fanout: `make` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help up test test-slow test-compose lint bench bench-quick clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/fanout: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

up: $(BIN)/fanout ## Start the whole local stack: Redis, origin, web, $(WORKERS) workers
	WORKERS=$(WORKERS) $(BIN)/fanout up

test: $(BIN)/fanout ## Run the full test suite (real Redis, workers, origin, browser)
	$(BIN)/python -m pytest -q -m "not compose and not slow" $(PYTEST_ARGS)

test-slow: $(BIN)/fanout ## The slow soak tests, bounded in time
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

test-compose: $(BIN)/fanout ## The compose file on a real Docker engine (private dockerd; needs root; ~2-4 min)
	$(BIN)/python -m pytest -q -m compose tests/compose -p no:cacheprovider

lint: $(BIN)/fanout ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BIN)/fanout ## Run the benchmarks, write bench/RESULTS.md
	$(BIN)/fanout bench

bench-quick: $(BIN)/fanout ## Reduced benchmark set (CI smoke)
	$(BIN)/fanout bench --quick

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache test-artifacts
