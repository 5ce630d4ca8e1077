"""Versioned migrations, ``mlmon db`` functions and URL selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlmon.exceptions import InputError
from mlmon.store import SchemaVersionError, connect, database_url_from_env, migrate, open_store
from mlmon.store.cli import db_current, db_upgrade, redact_url


def test_upgrade_applies_every_migration_once(fresh_url: str) -> None:
    with connect(fresh_url) as store:
        assert migrate.current(store) == 0
        assert migrate.upgrade(store) == list(range(1, migrate.latest(store.dialect) + 1))
        assert migrate.upgrade(store) == []
        assert migrate.current(store) == migrate.latest(store.dialect)


def test_old_code_refuses_a_newer_schema(fresh_url: str) -> None:
    open_store(fresh_url).close()
    with connect(fresh_url) as store:
        store._run(
            lambda tx: tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (99, "from_the_future", tx.ts(__import__("datetime").datetime.now().astimezone())),
            ),
            write=True,
        )
    with pytest.raises(SchemaVersionError, match=r"version 99.*upgrade mlmon"):
        open_store(fresh_url)
    assert "ahead of this mlmon" in db_current(fresh_url)


def test_without_upgrade_an_old_schema_is_an_error(fresh_url: str) -> None:
    with pytest.raises(SchemaVersionError, match="mlmon db upgrade"):
        open_store(fresh_url, upgrade=False)


def test_db_functions(fresh_url: str) -> None:
    assert "behind" in db_current(fresh_url)
    n = migrate.latest("sqlite")
    assert f"upgraded from 0 to {n}" in db_upgrade(fresh_url)
    assert "up to date" in db_upgrade(fresh_url)
    assert f"schema at version {n} (this mlmon: {n}), up to date" in db_current(fresh_url)


def test_migrations_are_numbered_for_both_dialects() -> None:
    assert migrate.latest("sqlite") == migrate.latest("postgres") >= 1


def test_url_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert database_url_from_env({}) == "sqlite:///./mlmon.db"
    assert database_url_from_env({"MLMON_DATABASE_URL": "postgresql://h/db"}) == "postgresql://h/db"
    monkeypatch.chdir(tmp_path)
    with open_store() as store:
        assert store.url == "sqlite:///mlmon.db"
    assert (tmp_path / "mlmon.db").exists()
    for bad in ("mysql://x/y", "sqlite:///:memory:", f"sqlite:///{tmp_path}/missing/dir/x.db"):
        with pytest.raises(InputError):
            open_store(bad)


def test_redact_url() -> None:
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("sqlite:///./mlmon.db") == "sqlite:///./mlmon.db"
