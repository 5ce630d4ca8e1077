"""Versioned schema migrations: plain ``.sql`` files per dialect in ``migrations/<dialect>/``, named
``NNNN_description.sql``, applied in order, each in its own transaction together with its row in
``schema_migrations``. A crash mid-upgrade leaves the schema at the last complete version.

Code meeting a newer schema than it knows refuses to run (``SchemaVersionError``) rather than write rows
a newer schema may interpret differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

from mlmon.store._sql import SqlCore, Tx
from mlmon.store.base import SchemaVersionError

__all__ = ["Migration", "check", "current", "latest", "migrations", "upgrade"]

_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_TABLE_DDL = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
}


@dataclass(frozen=True)
class Migration:
    """One schema version: its number, name and SQL."""

    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """The migrations shipped for ``dialect`` (``sqlite`` or ``postgres``), in order.

    Raises:
        RuntimeError: the shipped files are not numbered 1, 2, 3... without gaps (a packaging bug).
    """
    found = []
    for entry in resources.files("mlmon.store.migrations").joinpath(dialect).iterdir():
        match = _FILE.fullmatch(entry.name)
        if match is not None:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations are not numbered 1..n: {[m.version for m in found]}")
    return found


def latest(dialect: str) -> int:
    """The schema version this code expects."""
    return len(migrations(dialect))


def _current(store: SqlCore, tx: Tx) -> int:
    if not store._has_table(tx, "schema_migrations"):
        return 0
    row = tx.one("SELECT MAX(version) FROM schema_migrations")
    return 0 if row is None or row[0] is None else int(row[0])


def current(store: SqlCore) -> int:
    """The schema version of the store's database (0 when empty)."""
    return store._run(lambda tx: _current(store, tx), write=False)


def _refuse_newer(found: int, known: int) -> None:
    if found > known:
        raise SchemaVersionError(
            f"the database schema is at version {found} but this mlmon knows versions up to {known}: "
            "upgrade mlmon (never run older code on a newer schema)"
        )


def upgrade(store: SqlCore) -> list[int]:
    """Applies the pending migrations in order, each in one transaction.

    Safe to run from several processes at once: the migration lock serializes them and each re-reads the
    version after taking it.

    Returns:
        The versions applied by this call (empty when already up to date).

    Raises:
        SchemaVersionError: the database is newer than this code.
    """
    steps = migrations(store.dialect)
    applied: list[int] = []
    for step in steps:

        def run(tx: Tx, step: Migration = step) -> bool:
            store._lock_migrations(tx)
            tx.execute(_TABLE_DDL[store.dialect])
            found = _current(store, tx)
            _refuse_newer(found, len(steps))
            if found >= step.version:
                return False
            tx.script(step.sql)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (step.version, step.name, tx.ts(datetime.now(timezone.utc))),
            )
            return True

        if store._run(run, write=True):
            applied.append(step.version)
    _refuse_newer(current(store), len(steps))
    return applied


def check(store: SqlCore) -> int:
    """Checks the schema is exactly the version this code expects.

    Returns:
        The version.

    Raises:
        SchemaVersionError: older (run ``mlmon db upgrade``) or newer (upgrade mlmon).
    """
    found, known = current(store), latest(store.dialect)
    _refuse_newer(found, known)
    if found < known:
        raise SchemaVersionError(
            f"the database schema is at version {found}, this mlmon needs {known}: run `mlmon db upgrade`"
        )
    return found
