"""The database-independent core of the SQL stores: the ``Tx`` protocol the backends implement, the
transaction runner, and the lookups and conversions every part of the store shares.

All SQL in the store is written once, with ``?`` placeholders; the PostgreSQL backend translates them.
Only :mod:`mlmon.store.sqlite` and :mod:`mlmon.store.postgres` import a database driver.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, ClassVar, Protocol, TypeVar

import msgspec

from mlmon.exceptions import InputError
from mlmon.store.base import NotFoundError, StoreUnavailableError

__all__ = ["Row", "SqlCore", "Tx", "from_json", "insert_sql", "to_json"]

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction, as the backends expose it to the shared SQL."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Runs one statement; returns the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Runs one statement per parameter row."""
        ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Inserts rows into ``table`` the backend's fastest way (PostgreSQL: ``COPY``). ``table`` and
        ``columns`` are the store's own constants, never user input."""
        ...

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        ...

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """All rows of a query."""
        ...

    def script(self, sql: str) -> None:
        """Runs a multi-statement script (a migration) inside the transaction."""
        ...

    def ts(self, value: datetime) -> object:
        """An aware UTC datetime as the database stores it."""
        ...

    def dt(self, value: object) -> datetime:
        """A stored timestamp back as an aware UTC datetime."""
        ...


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)`` for the store's own table and column names."""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def to_json(value: object, field: str) -> str:
    """Encodes a JSON column value, naming the field when it is not JSON-serializable."""
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError) as exc:
        raise InputError(f"{field} is not JSON-serializable: {exc}") from exc


def from_json(value: object) -> Any:
    """Decodes a JSON column value (text on both backends)."""
    return msgspec.json.decode(value if isinstance(value, (str, bytes)) else str(value))


class SqlCore(abc.ABC):
    """Connection handling hooks and shared helpers; the feature mixins build on this."""

    dialect: ClassVar[str]
    #: Appended to the SELECT that serializes writers of one model (promotion). SQLite needs nothing:
    #: ``BEGIN IMMEDIATE`` already holds the database write lock.
    for_update: ClassVar[str] = ""
    #: Appended to the SELECT by which writers that only need the model to hold still (an ingest that
    #: keeps predictions) wait for one that needs it alone (a label join), never for each other.
    for_share: ClassVar[str] = ""
    #: Appended to the SELECT that claims rows for compaction, so concurrent compactors take disjoint
    #: rows instead of waiting for each other.
    skip_locked: ClassVar[str] = ""
    url: str

    @abc.abstractmethod
    def _transaction(self, write: bool) -> AbstractContextManager[Tx]:
        """A transaction; commits on success, rolls back on any exception.

        Backends raise ``StoreUnavailableError`` for connection failures and ``ConflictError`` for
        constraint violations, never a driver exception.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Closes every connection."""

    @abc.abstractmethod
    def _lock_migrations(self, tx: Tx) -> None:
        """Serializes concurrent schema upgrades (several replicas starting at once)."""

    @abc.abstractmethod
    def _has_table(self, tx: Tx, name: str) -> bool:
        """Whether a table exists (the migration runner asks before ``schema_migrations`` exists)."""

    def _run(self, fn: Callable[[Tx], T], *, write: bool) -> T:
        """Runs ``fn`` in one transaction. Reads are retried once on a dropped connection (the pool
        hands out a fresh one); writes are not, since the commit may have happened: the caller
        retries idempotently (same batch id)."""
        attempts = 1 if write else 2
        for attempt in range(attempts):
            try:
                with self._transaction(write) as tx:
                    return fn(tx)
            except StoreUnavailableError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- shared lookups ---------------------------------------------------------------------------
    @staticmethod
    def _model_id(tx: Tx, model: str, *, lock: str = "") -> int:
        row = tx.one("SELECT id FROM models WHERE name = ?" + lock, (model,))
        if row is None:
            raise NotFoundError(f"model {model!r} is not registered")
        return int(row[0])

    def _in(self, column: str, values: Sequence[object]) -> tuple[str, list[object]]:
        """``column IN (?, ...)`` and its parameters; on PostgreSQL ``column = ANY(?)`` with one array
        parameter, so the statement's text is the same whatever the count and psycopg's query cache
        keeps it (parsing a 500-placeholder statement cost 7 to 9 ms a call)."""
        if self.dialect == "postgres":
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    @classmethod
    def _version_id(cls, tx: Tx, model: str, version: str) -> int:
        row = tx.one(
            "SELECT v.id FROM model_versions v JOIN models m ON m.id = v.model_id"
            " WHERE m.name = ? AND v.version = ?",
            (model, version),
        )
        if row is None:
            cls._model_id(tx, model)  # says which of the two is missing
            raise NotFoundError(f"model {model!r} has no version {version!r}")
        return int(row[0])

    @staticmethod
    def _utc(value: datetime) -> datetime:
        return value.astimezone(timezone.utc)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Slices of at most ``size`` items (keeps ``IN (...)`` lists under the drivers' limits)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
