"""Store fixtures: one ``store`` fixture parametrized over SQLite and a throwaway PostgreSQL server
started from the Debian binaries. With ``MLMON_REQUIRE_POSTGRES=1`` (CI) a server that cannot start
fails the PostgreSQL tests instead of skipping them."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlmon.store import Store, open_store
from shared_helpers import temporary_postgres

_names = itertools.count()
_TABLES = "models, baselines, ingested_batches, model_versions"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A PostgreSQL server for the session (skip, or fail under MLMON_REQUIRE_POSTGRES=1, if none)."""
    yield from temporary_postgres()


@pytest.fixture(scope="session")
def pg_url(pg_server: object) -> str:
    """A migrated database shared by the session; tests empty it (see ``store``)."""
    url: str = pg_server.create_database("mlmon_suite")  # type: ignore[attr-defined]
    open_store(url).close()
    return url


def new_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'db{next(_names)}.db'}"
    server = request.getfixturevalue("pg_server")
    return str(server.create_database(f"fresh_{os.getpid()}_{next(_names)}"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name; the tests using it run once per backend."""
    return str(request.param)


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database of the current backend."""
    if backend == "sqlite":
        target = f"sqlite:///{tmp_path / 'mlmon.db'}"
        open_store(target).close()
        return target
    target = str(request.getfixturevalue("pg_url"))
    with open_store(target) as store:
        store._run(lambda tx: tx.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"), write=True)  # type: ignore[attr-defined]
    return target


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    """An open store on an empty database, on each backend."""
    with open_store(url) as opened:
        yield opened


@pytest.fixture
def fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a database with no schema at all (migration tests)."""
    return new_url(backend, request, tmp_path)
