"""Service fixtures: a baseline and an in-process app on a fresh SQLite store with a fresh metrics
registry. Nothing here edits ``os.environ``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from service_helpers import make_settings

import mlmon
from mlmon.service import create_app


@pytest.fixture(scope="session")
def baseline() -> mlmon.Baseline:
    """A two-feature baseline: ``age`` (numerical) and ``plan`` (categorical)."""
    rng = np.random.default_rng(0)
    return mlmon.Baseline.fit({"age": rng.normal(40, 9, 5000), "plan": rng.choice(["a", "b", "c"], 5000)})


@pytest.fixture
def client(tmp_path: Path, baseline: mlmon.Baseline) -> Iterator[TestClient[Any]]:
    """An unauthenticated service (loopback) with the baseline uploaded as churn/v1."""
    app = create_app(make_settings(tmp_path), CollectorRegistry())
    with TestClient(app) as c:
        assert c.put("/v1/models/churn/versions/v1/baseline", content=baseline.to_bytes()).status_code == 200
        yield c
