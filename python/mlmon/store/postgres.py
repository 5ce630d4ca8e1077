"""The PostgreSQL store: psycopg 3 with a psycopg_pool connection pool.

Connections are checked when taken from the pool, so a backend killed by ``pg_terminate_backend`` or a
server restart costs one failed call (``StoreUnavailableError``, a 503 for the service) and the next call
gets a fresh connection. JSONB columns are read back as text so both backends decode JSON the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

import psycopg
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from mlmon.store._drift import DriftOps
from mlmon.store._registry import RegistryOps
from mlmon.store._sql import Row, Tx
from mlmon.store._windows import WindowOps
from mlmon.store.base import ConflictError, StoreUnavailableError
from mlmon.store.retention import RetentionOps

__all__ = ["PostgresStore"]

# Arbitrary but fixed: the advisory lock that serializes schema upgrades across replicas.
_MIGRATION_LOCK = 0x6D6C6D6F6E


@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> bytes:
    """The shared ``?``-placeholder SQL in psycopg's ``%s`` style (no query contains ``%`` or ``?``
    literals, so the translation is exact), as bytes: psycopg's query type for dynamic SQL."""
    return sql.replace("?", "%s").encode()


class _PgTx:
    """:class:`~mlmon.store._sql.Tx` over a psycopg cursor in an open transaction."""

    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.Cursor[Row]) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        self._cur.execute(_pg(sql), params)
        return self._cur.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._cur.executemany(_pg(sql), rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        # COPY moves every row in one round trip; executemany pays one per row.
        with self._cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN".encode()) as copy:
            for row in rows:
                copy.write_row(row)

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        self._cur.execute(_pg(sql), params)
        return self._cur.fetchone()

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self._cur.execute(_pg(sql), params)
        return self._cur.fetchall()

    def script(self, sql: str) -> None:
        # Without parameters psycopg uses the simple query protocol, which runs several statements.
        self._cur.execute(sql.encode())

    def ts(self, value: datetime) -> object:
        return value.astimezone(timezone.utc)

    def dt(self, value: object) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamptz, got {type(value).__name__}")
        return value.astimezone(timezone.utc)


def _configure(conn: psycopg.Connection[Row]) -> None:
    conn.adapters.register_loader("jsonb", TextLoader)


class PostgresStore(RegistryOps, WindowOps, DriftOps, RetentionOps):
    """The store on a PostgreSQL database. Thread-safe; any number of processes and hosts may share it.

    Args:
        url: A libpq connection URL (``postgresql://user:pass@host:port/db``).
        min_size: Connections the pool keeps open.
        max_size: Most connections the pool opens.
        timeout: Seconds to wait for a connection before ``StoreUnavailableError``.
    """

    dialect = "postgres"
    for_update = " FOR UPDATE"
    for_share = " FOR SHARE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 10.0) -> None:
        self.url = url
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            configure=_configure,
            check=ConnectionPool.check_connection,
            open=False,
            name="mlmon-store",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailableError(f"cannot connect to PostgreSQL within {timeout} s") from exc

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Tx]:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield _PgTx(cur)
        except psycopg.IntegrityError as exc:
            raise ConflictError(f"constraint violated: {exc}") from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailableError(f"postgres: {exc}") from exc

    def _lock_migrations(self, tx: Tx) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def _has_table(self, tx: Tx, name: str) -> bool:
        row = tx.one("SELECT to_regclass(?)", (name,))
        return row is not None and row[0] is not None

    def close(self) -> None:
        """Closes the pool and its connections."""
        self._pool.close()
