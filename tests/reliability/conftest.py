"""Fixtures of the reliability suite: the service test helpers on the import path, a baseline, a
throwaway PostgreSQL (one per session for most scenarios, a private one for those that crash or stop it)
and the fault proxy. With ``MLMON_REQUIRE_POSTGRES=1`` a server that cannot start fails the test."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))

import mlmon
from shared_helpers import start_postgres

_names = itertools.count()


@pytest.fixture(scope="session")
def baseline() -> mlmon.Baseline:
    """A two-feature baseline: ``age`` (numerical) and ``plan`` (categorical)."""
    rng = np.random.default_rng(0)
    return mlmon.Baseline.fit({"age": rng.normal(40, 9, 5000), "plan": rng.choice(["a", "b", "c"], 5000)})


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One throwaway PostgreSQL server for the session's scenarios that do not crash it."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A fresh database on the session server."""
    return str(pg_server.create_database(f"rel_{os.getpid()}_{next(_names)}"))


@pytest.fixture
def own_pg() -> Iterator[Any]:
    """A private PostgreSQL server, for scenarios that crash, stop or freeze it."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.cleanup()
