"""End-to-end fixtures: a throwaway PostgreSQL server (skip without one, fail under
MLMON_REQUIRE_POSTGRES=1), example models, and the deploy tests' config writer."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlmon.deploy.example import ExampleFiles, train_example

# The deploy tests' helpers (write_config) live beside them; reuse them here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))


@pytest.fixture(scope="session")
def e2e_pg_server() -> Iterator[Any]:
    """A PostgreSQL server for the session (skip, or fail under MLMON_REQUIRE_POSTGRES=1, if none)."""
    try:
        from mlmon.store.testing import TemporaryPostgres

        server = TemporaryPostgres().__enter__()
    except Exception as exc:  # ImportError (no psycopg) or PostgresUnavailable
        reason = f"PostgreSQL server unavailable: {type(exc).__name__}: {exc}"
        if os.environ.get("MLMON_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (MLMON_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def e2e_trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExampleFiles]:
    """A forest, a second forest (another artifact) and a dummy classifier that fails the gates."""
    root = tmp_path_factory.mktemp("e2e-trained")
    return {
        "forest": train_example(root / "forest", kind="forest", seed=0),
        "forest2": train_example(root / "forest2", kind="forest", seed=1),
        "dummy": train_example(root / "dummy", kind="dummy"),
    }
