"""Client fixtures: one real drift service process on loopback (SQLite) for the module, with a baseline
per model name, so each test counts on its own model."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

# The service tests' helpers (start_service, free_port, service_env) live beside them; reuse them here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))

from client_helpers import stop
from service_helpers import start_service

import mlmon


@pytest.fixture(scope="session")
def baseline() -> mlmon.Baseline:
    """``age`` (numerical) and ``plan`` (categorical)."""
    rng = np.random.default_rng(0)
    return mlmon.Baseline.fit({"age": rng.normal(40, 9, 5000), "plan": rng.choice(["a", "b", "c"], 5000)})


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A drift service process (no auth, loopback); yields its base URL."""
    tmp = tmp_path_factory.mktemp("svc")
    proc, url = start_service(
        f"sqlite:///{tmp / 'mlmon.db'}", tmp / "server.log", MLMON_WINDOW_SECONDS="86400"
    )
    yield url
    stop(proc)


@pytest.fixture
def model(service: str, baseline: mlmon.Baseline, request: pytest.FixtureRequest) -> str:
    """A fresh model name (from the test's name) with the baseline uploaded as version v1."""
    name = request.node.name.replace("[", "-").replace("]", "")[:100]
    put = httpx.put(f"{service}/v1/models/{name}/versions/v1/baseline", content=baseline.to_bytes())
    assert put.status_code == 200, put.text
    return name
