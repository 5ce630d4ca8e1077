"""mlmon's system of record: one ``Store`` interface (:mod:`mlmon.store.base`) over SQLite (the embedded
default) or PostgreSQL, chosen by URL.

>>> import tempfile, pathlib
>>> from mlmon.store import open_store
>>> with tempfile.TemporaryDirectory() as tmp:
...     with open_store(f"sqlite:///{pathlib.Path(tmp) / 'mlmon.db'}") as store:
...         store.register_version("churn", "v1").stage
'none'

Nothing here reads the environment at import; :func:`database_url_from_env` does, when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlmon.exceptions import InputError
from mlmon.store import migrate
from mlmon.store._sequences import WINDOW as SEQUENCE_WINDOW
from mlmon.store.base import (
    Alert,
    AlertDelivery,
    ConflictError,
    DriftResult,
    IngestBatch,
    IngestResult,
    Joined,
    LabelCounter,
    LabeledRow,
    LabelResult,
    LabelStatus,
    MergedProfile,
    Model,
    ModelVersion,
    NotFoundError,
    PartialWindow,
    PerformanceWindow,
    Prediction,
    SchemaVersionError,
    Store,
    StoredDriftResult,
    StoreUnavailableError,
    WindowPartial,
)
from mlmon.store.retention import RetentionPolicy, RetentionReport, apply_retention

if TYPE_CHECKING:
    from mlmon.store.postgres import PostgresStore
    from mlmon.store.sqlite import SqliteStore

__all__ = [
    "DEFAULT_URL",
    "SEQUENCE_WINDOW",
    "Alert",
    "AlertDelivery",
    "ConflictError",
    "DriftResult",
    "IngestBatch",
    "IngestResult",
    "Joined",
    "LabelCounter",
    "LabelResult",
    "LabelStatus",
    "LabeledRow",
    "MergedProfile",
    "Model",
    "ModelVersion",
    "NotFoundError",
    "PartialWindow",
    "PerformanceWindow",
    "Prediction",
    "RetentionPolicy",
    "RetentionReport",
    "SchemaVersionError",
    "Store",
    "StoreUnavailableError",
    "StoredDriftResult",
    "WindowPartial",
    "apply_retention",
    "connect",
    "database_url_from_env",
    "open_store",
]

DEFAULT_URL = "sqlite:///./mlmon.db"
_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``MLMON_DATABASE_URL`` from the environment, else :data:`DEFAULT_URL`.

    Args:
        environ: The environment to read (default: ``os.environ``, read at call time).
    """
    env = os.environ if environ is None else environ
    return env.get("MLMON_DATABASE_URL") or DEFAULT_URL


def connect(url: str, **options: Any) -> SqliteStore | PostgresStore:
    """A store for ``url`` without touching its schema (the ``mlmon db`` commands use this).

    Raises:
        InputError: an unsupported URL.
        StoreUnavailableError: the database cannot be reached.
    """
    if not isinstance(url, str):
        raise InputError(f"database url must be a string, got {type(url).__name__}")
    if url.startswith(_SQLITE):
        # Imported here so that a PostgreSQL-less install never imports psycopg and vice versa.
        from mlmon.store.sqlite import SqliteStore

        return SqliteStore(url[len(_SQLITE) :], **options)
    if url.startswith(_POSTGRES):
        from mlmon.store.postgres import PostgresStore

        return PostgresStore(url.replace("postgresql+psycopg://", "postgresql://", 1), **options)
    scheme = url.split(":", 1)[0] if ":" in url else url[:20]
    raise InputError(f"unsupported database url scheme {scheme!r}: use sqlite:///path or postgresql://...")


def open_store(url: str | None = None, *, upgrade: bool = True, **options: Any) -> Store:
    """Opens the store at ``url`` and brings its schema to this code's version.

    Args:
        url: ``sqlite:///relative/or//absolute/path.db`` or ``postgresql://user:pass@host:port/db``
            (default :data:`DEFAULT_URL`).
        upgrade: Apply pending migrations (the service does at start); if false, a schema behind this code
            is an error too.
        **options: Backend options (``timeout``; ``min_size``/``max_size`` for PostgreSQL).

    Returns:
        The store; close it with ``close()`` or use it as a context manager.

    Raises:
        InputError: an unsupported URL.
        SchemaVersionError: the schema is newer than this code (or older, with ``upgrade=False``).
        StoreUnavailableError: the database cannot be reached.
    """
    store = connect(url or DEFAULT_URL, **options)
    try:
        if upgrade:
            migrate.upgrade(store)
        migrate.check(store)
    except BaseException:
        store.close()
        raise
    return store
