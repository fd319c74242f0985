# STEDI lakehouse. `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Landing data for `make run`; empty means a generated sample (build/sample-landing).
LANDING ?=
WAREHOUSE ?= ./lakehouse
SAMPLE := build/sample-landing

.PHONY: run test test-fast lint typecheck imports pytest system-deps docs bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

system-deps:  ## Java and the SQLite JDBC driver for the Spark engine (apt-get)
	scripts/install-system-deps.sh

$(SAMPLE): | $(VENV)/.installed
	$(BIN)/stedi generate $(SAMPLE) --scale 0.1 --seed 0

run: $(VENV)/.installed $(if $(LANDING),,$(SAMPLE))  ## venv, install, build every zone (LANDING=... for your data)
	$(BIN)/stedi run --landing $(or $(LANDING),$(SAMPLE)) --warehouse $(WAREHOUSE)

test: lint typecheck imports pytest  ## install dev dependencies, then lint, type-check, layers and the whole test suite

test-fast: $(VENV)/.dev-installed  ## the fast loop, on every core: no Spark, S3, browser or whole-corpus runs
	$(BIN)/pytest -q -n auto -m "not slow and not spark and not s3 and not browser"

lint: $(VENV)/.dev-installed  ## ruff
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

typecheck: $(VENV)/.dev-installed  ## mypy on the package
	$(BIN)/mypy src

imports: $(VENV)/.dev-installed  ## the layer contract: imports point one way (import-linter)
	$(BIN)/lint-imports

pytest: $(VENV)/.dev-installed system-deps  ## the test suite (Spark, S3 and browser tests included)
	$(BIN)/pytest --durations=15

docs: $(VENV)/.installed  ## regenerate docs/cli.md from --help
	$(BIN)/python docs/generate_cli_reference.py

$(VENV)/.bench-installed: $(VENV)/.dev-installed
	$(BIN)/pip install --quiet -e '.[dev,spark,bench]'
	touch $@

bench: $(VENV)/.bench-installed  ## benchmarks (not part of the tests): stedi against a hand-written DuckDB pipeline, then Spark
	$(BIN)/python benchmarks/bench_peer.py --scales starter,10,100
	$(BIN)/python benchmarks/bench_engines.py --scales 1,10 --repeat 1 --standalone

clean:  ## remove the venv, build output and the default warehouse
	rm -rf $(VENV) build lakehouse
