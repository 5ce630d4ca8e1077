"""Store growth: bytes on disk per window row (a delta, and a window's aggregate), per remembered batch
id and per producer, in SQLite and PostgreSQL, written through the store API (``Store.write_partials``
and ``Store.ingest``).

Four phases on an empty store: ``n`` delta rows alone (one 1,000-row batch's profile per window); ``n``
ingested batches keyed by batch id (a delta row and a batch-id row each); ``n`` batches of ``n`` distinct
producers (a delta row and a producer row each); ``n`` aggregate rows (the profile of a window that
got :data:`AGGREGATE_BATCHES` such batches: the same bins and categories, larger counts). Bytes per row
are the growth between the phases' sizes divided by ``n``, so the schema's fixed size drops out. SQLite:
the database file after a WAL checkpoint. PostgreSQL: ``pg_total_relation_size`` of the three tables
(heap, TOAST and indexes) on a throwaway server.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mlmon.bench.workloads.curves import window_profile
from mlmon.core._compat import require
from mlmon.core.baseline import Baseline
from mlmon.store import IngestBatch, PartialWindow, Store, WindowPartial, open_store
from mlmon.store._windows import merge_profiles
from mlmon.store.testing import TemporaryPostgres

__all__ = ["AGGREGATE_BATCHES", "mixed_profile", "store_growth"]

#: Batches merged into the aggregate whose row size is measured (an hour at 5 batches/s is 18,000: the
#: counts' encoding grows with their magnitude, not with the number of merges).
AGGREGATE_BATCHES = 1_000
_TABLES = ("window_partials", "ingested_batches", "producer_sequences")

_T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_MINUTE = timedelta(minutes=1)


def mixed_profile(features: int, rows: int = 1000, seed: int = 0) -> bytes:
    """A window partial's profile bytes: 4 in 5 features numerical (10 bins), 1 in 5 categorical (50
    categories), after ``rows`` rows."""
    rng = np.random.default_rng(seed)
    labels = np.array([f"c{i}" for i in range(50)], dtype=object)
    data: dict[str, np.ndarray[Any, Any]] = {}
    for j in range(features):
        data[f"f{j}"] = labels[rng.integers(0, 50, 5000)] if j % 5 == 4 else rng.normal(size=5000)
    baseline = Baseline.fit(data)
    return window_profile(baseline, {name: col[:rows] for name, col in data.items()})


def _fill(store: Store, profile: bytes, n: int, offset: int, key: str | None) -> None:
    for start in range(0, n, 100):  # group commits of 100, as the service does under load
        chunk = range(offset + start, offset + min(n, start + 100))
        if key is not None:
            batches = [
                IngestBatch(
                    f"batch-{i:09d}",
                    hashlib.sha256(str(i).encode()).hexdigest(),
                    [PartialWindow(_T0 + i * _MINUTE, _T0 + (i + 1) * _MINUTE, profile, 1000)],
                    producer_id=f"producer-{i:09d}" if key == "producer" else None,
                    sequence=0 if key == "producer" else None,
                )
                for i in chunk
            ]
            store.ingest("m", "v1", "w0", batches)
        else:
            store.write_partials(
                [
                    WindowPartial("m", "v1", _T0 + i * _MINUTE, _T0 + (i + 1) * _MINUTE, "w0", profile, 1000)
                    for i in chunk
                ]
            )


def _grow(url: str, size: Callable[[], int], profile: bytes, aggregate: bytes, n: int) -> dict[str, float]:
    with open_store(url) as store:
        store.register_version("m", "v1")
        sizes = [size()]
        for offset, key in enumerate((None, "batch_id", "producer")):
            _fill(store, profile, n, offset * n, key)
            sizes.append(size())
        _fill(store, aggregate, n, 3 * n, None)
        sizes.append(size())
    per_partial = (sizes[1] - sizes[0]) / n
    return {
        "bytes_per_partial": per_partial,
        "bytes_per_batch_id": (sizes[2] - sizes[1]) / n - per_partial,
        "bytes_per_producer": (sizes[3] - sizes[2]) / n - per_partial,
        "bytes_per_aggregate": (sizes[4] - sizes[3]) / n,
    }


def _sqlite(profile: bytes, aggregate: bytes, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mlmon-bench-") as tmp:
        path = Path(tmp) / "growth.db"

        def size() -> int:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                free = conn.execute("PRAGMA freelist_count").fetchone()[0]
                page = conn.execute("PRAGMA page_size").fetchone()[0]
            return int((pages - free) * page)

        return _grow(f"sqlite:///{path}", size, profile, aggregate, n)


def _postgres(profile: bytes, aggregate: bytes, n: int) -> dict[str, float]:
    psycopg = require("psycopg", "store-postgres")

    with TemporaryPostgres() as server:
        url = server.create_database("growth")

        def size() -> int:
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute(
                    " + ".join(f"pg_total_relation_size('{t}')" for t in _TABLES).join(("SELECT ", ""))
                ).fetchone()
            return int(row[0]) if row else 0

        return _grow(url, size, profile, aggregate, n)


def store_growth(features: int, n: int, postgres: bool = True) -> dict[str, Any]:
    """Bytes per delta, aggregate, batch-id and producer row for a ``features``-feature profile, per
    backend.

    A backend that cannot run here (no PostgreSQL binaries) is reported with the reason.
    """
    profile = mixed_profile(features)
    aggregate = merge_profiles([profile] * AGGREGATE_BATCHES)
    out: dict[str, Any] = {
        "features": features,
        "profile_bytes": len(profile),
        "aggregate_profile_bytes": len(aggregate),
        "aggregate_batches": AGGREGATE_BATCHES,
        "rows_written": n,
    }
    out["sqlite"] = _sqlite(profile, aggregate, n)
    if postgres:
        try:
            out["postgres"] = _postgres(profile, aggregate, n)
        except Exception as exc:  # reported in the results, never hidden
            out["postgres"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
