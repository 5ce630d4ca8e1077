"""End-to-end fixtures: a throwaway PostgreSQL server (skip without one, fail under
MLMON_REQUIRE_POSTGRES=1), example models, and the deploy tests' config writer."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlmon.deploy.example import ExampleFiles
from shared_helpers import temporary_postgres, train_examples

# The deploy tests' helpers (write_config) live beside them; reuse them here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))


@pytest.fixture(scope="session")
def e2e_pg_server() -> Iterator[Any]:
    """A PostgreSQL server for the session (skip, or fail under MLMON_REQUIRE_POSTGRES=1, if none)."""
    yield from temporary_postgres()


@pytest.fixture(scope="session")
def e2e_trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExampleFiles]:
    """A forest, a second forest (another artifact) and a dummy classifier that fails the gates."""
    return train_examples(tmp_path_factory.mktemp("e2e-trained"), "forest", "forest2", "dummy")
