# The developer and CI commands. `make demo` and `make test` work on a fresh machine with Python 3.10+,
# Rust and Debian's packages: they create .venv, build the extension and install what they need.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-stamp
RUST_SRC := $(shell find engine/src -name '*.rs') engine/Cargo.toml Cargo.toml
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: all install build demo test test-rust test-python test-reliability lint format bench bench-pytest bench-rust clean

all: test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies (and a first build) once per change of pyproject.toml.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "maturin>=1.7,<2"
	$(BIN)/maturin develop --release --quiet --extras dev
	touch $(STAMP)

install: $(STAMP)

# The release profile with runtime CPU dispatch: what users install (never -C target-cpu=native).
build: $(STAMP) python/mlmon/_engine.abi3.so

python/mlmon/_engine.abi3.so: $(RUST_SRC) | $(STAMP)
	$(BIN)/maturin develop --release --quiet --skip-install
	touch $@

demo: build
	$(BIN)/python -m mlmon.demo

test: lint test-rust test-python

test-rust:
	cargo test --no-default-features -p mlmon-engine --quiet

test-python: build
	$(BIN)/python -m pytest -q

lint: build
	cargo fmt --all -- --check
	cargo clippy --all-targets --quiet -- -D warnings
	cargo clippy --all-targets --no-default-features --quiet -- -D warnings
	$(BIN)/ruff check python tests benches
	$(BIN)/ruff format --check python tests benches
	$(BIN)/mypy
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

test-reliability: build
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
