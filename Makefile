# The developer and CI commands. `make demo` and `make test` work on a fresh machine with Python 3.10+,
# Rust and Debian's packages: they create .venv, build the extension and install what they need.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.demo-stamp
DEV_STAMP := $(VENV)/.dev-stamp
EXTENSION := python/mlmon/_engine.abi3.so
RUST_SRC := $(shell find engine/src -name '*.rs') engine/Cargo.toml Cargo.toml
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: all install build demo system-deps test test-rust test-python test-slow test-reliability lint format bench bench-pytest bench-rust clean

all: test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "maturin>=1.7,<2"

# What the demo needs (the service, serving and deploy extras: no pyspark, no test tools), and everything
# the tests and linters need (the dev extra), each installed once per change of pyproject.toml. Both
# also build the extension the first time.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/maturin develop --release --quiet --extras service,serving,deploy
	touch $(DEMO_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/maturin develop --release --quiet --extras dev
	touch $(DEV_STAMP) $(DEMO_STAMP)

install: $(DEV_STAMP)

# The release profile with runtime CPU dispatch: what users install (never -C target-cpu=native).
build: $(DEV_STAMP) $(EXTENSION)

$(EXTENSION): $(RUST_SRC) | $(BIN)/python
	$(BIN)/maturin develop --release --quiet --skip-install
	touch $@

demo: $(DEMO_STAMP) $(EXTENSION)
	$(BIN)/python -m mlmon.demo

# The system programs the tests run (PostgreSQL, promtool, Chromium, curl, wrk): installed as root on
# Debian/Ubuntu, else named in one line (the tests that need them then skip; under CI=true they fail).
system-deps:
	scripts/install-system-deps

test: system-deps lint test-rust test-python

test-rust:
	cargo test --no-default-features -p mlmon-engine --quiet

# One worker per core (each starts its own PostgreSQL server and picks free loopback ports); worksteal
# lets an idle worker take queued tests from a busy one, so a few long scenarios do not end the run alone.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist worksteal
test-python: build
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

# The slow tier (marked `slow`): the whole reliability suite below (10-minute soak, 60 s overload, 100
# kill -9s, the long fuzz; it rewrites docs/reliability.md) and every other slow scenario. CI runs it on a
# schedule (.github/workflows/reliability.yml) and before a release; `make test` runs the rest.
test-slow: system-deps test-reliability
	timeout 3600 $(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m slow --ignore=tests/reliability --timeout 1800

lint: build
	cargo fmt --all -- --check
	cargo clippy --all-targets --quiet -- -D warnings
	cargo clippy --all-targets --no-default-features --quiet -- -D warnings
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy
	PYTHONPATH=python $(BIN)/lint-imports --no-cache
	$(BIN)/python -m mypy.stubtest mlmon._engine --allowlist .stubtest-allowlist
	$(BIN)/yamllint --strict -c .yamllint .github k8s
	$(BIN)/hadolint service/Dockerfile

format:
	cargo fmt --all
	$(BIN)/ruff format python tests benches
	$(BIN)/ruff check --fix python tests benches

# The whole reliability and security suite (docs/reliability.md), slow scenarios included: the 10-minute
# soak, the 60 s overload, 100 kill -9s and the long fuzz. Bounded (about 40 minutes); it rewrites the
# results file and the table in docs/reliability.md. The fast scenarios also run in `make test`.
RELIABILITY_RESULTS := docs/reliability-results.jsonl

test-reliability: system-deps build
	rm -f $(RELIABILITY_RESULTS)
	MLMON_RELIABILITY_RESULTS=$(abspath $(RELIABILITY_RESULTS)) MLMON_REQUIRE_POSTGRES=1 \
		timeout 3600 $(BIN)/python -m pytest -q tests/reliability -m "slow or not slow" --timeout 1800
	$(BIN)/python tests/reliability/rel_results.py $(RELIABILITY_RESULTS) docs/reliability.md

# The whole suite (kernels, scaling curves, store, service, peers) and docs/capacity-planning.md.
# BENCH=--full for the 30-minute run; the default is --quick (under 5 minutes).
BENCH ?= --quick
bench: build
	$(BIN)/mlmon bench $(BENCH)

bench-pytest: build
	$(BIN)/python -m pytest benches -q --benchmark-enable --benchmark-only --benchmark-columns=min,median,ops --benchmark-sort=name

bench-rust:
	cargo bench -p mlmon-engine --no-default-features --bench kernels

clean:
	rm -rf target $(VENV) python/mlmon/_engine*.so .pytest_cache .mypy_cache .ruff_cache .hypothesis
