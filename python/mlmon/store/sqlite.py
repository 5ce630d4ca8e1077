"""The embedded SQLite store (the default, ``sqlite:///./mlmon.db``).

One connection per thread (sqlite3 connections must not be shared across threads mid-transaction), WAL
mode so readers never block the writer, a busy timeout so writers queue instead of failing, and
``BEGIN IMMEDIATE`` for writes: taking the write lock up front avoids the deadlock of two readers both
upgrading to writers, which the busy timeout cannot resolve; writers of several processes queue on a
sidecar lock first (:mod:`mlmon.store._writer_turn`). ``synchronous=FULL`` because an
acknowledged batch must survive a power loss; group commit pays for the fsync.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from mlmon.exceptions import InputError
from mlmon.store._drift import DriftOps
from mlmon.store._registry import RegistryOps
from mlmon.store._sql import Row, Tx, insert_sql
from mlmon.store._windows import WindowOps
from mlmon.store._writer_turn import writer_turn
from mlmon.store.base import ConflictError, StoreUnavailableError
from mlmon.store.retention import RetentionOps

__all__ = ["SqliteStore"]

# Fixed width and UTC, so text order is time order and range queries use the indexes.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class _SqliteTx:
    """:class:`~mlmon.store._sql.Tx` over a sqlite3 connection in an open transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._conn.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.executemany(insert_sql(table, columns), rows)

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        # fetchall, not fetchone: a RETURNING statement is only finished once fully read.
        rows = self._conn.execute(sql, params).fetchall()
        return tuple(rows[0]) if rows else None

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]

    def script(self, sql: str) -> None:
        # executescript() would COMMIT first, so split into statements and run them in our transaction.
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                self._conn.execute(statement)
                statement = ""
        if statement.strip() and not all(
            s.strip().startswith("--") or not s.strip() for s in statement.splitlines()
        ):
            raise InputError("migration script ends with an incomplete statement")

    def ts(self, value: datetime) -> object:
        return value.astimezone(timezone.utc).strftime(_TS_FORMAT)

    def dt(self, value: object) -> datetime:
        return datetime.strptime(str(value), _TS_FORMAT).replace(tzinfo=timezone.utc)


class SqliteStore(RegistryOps, WindowOps, DriftOps, RetentionOps):
    """The store on one SQLite file. Thread-safe; several processes may share the file.

    Args:
        path: The database file (created if missing; its directory must exist).
        timeout: Seconds a writer waits for the write lock before ``StoreUnavailableError``.
    """

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, timeout: float = 10.0) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            # Each thread's connection would see its own empty in-memory database.
            raise InputError("the SQLite store needs a file path (in-memory databases are per connection)")
        self._path = Path(path)
        if not self._path.parent.is_dir():
            raise InputError(f"directory {str(self._path.parent)!r} of the SQLite database does not exist")
        self.url = f"sqlite:///{self._path}"
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            self._connections.append(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Tx]:
        if write:
            with writer_turn(self._path, self._timeout), self._open_transaction(True) as tx:
                yield tx
        else:
            with self._open_transaction(False) as tx:
                yield tx

    @contextmanager
    def _open_transaction(self, write: bool) -> Iterator[Tx]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SqliteTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"constraint violated: {exc}") from exc
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreUnavailableError(f"sqlite: {exc}") from exc

    def _lock_migrations(self, tx: Tx) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already excludes every other writer."""

    def _has_table(self, tx: Tx, name: str) -> bool:
        return tx.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    def close(self) -> None:
        """Closes every thread's connection."""
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
