"""A generated history: 6 days of rows in shuffled order over several files, drifting from day 3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import mlmon

DAY = 86_400
START = np.datetime64("2024-03-01T00:00:00", "s")


def history_table(n: int = 60_000, seed: int = 0) -> pa.Table:
    """Rows over 6 days (shuffled), with a numeric drift in ``x`` and a new category in ``plan``."""
    rng = np.random.default_rng(seed)
    offs = rng.integers(0, 6 * DAY, n)
    day = offs // DAY
    late = day >= 3
    x = rng.normal(np.where(late, 1.5, 0.0), 1.0)
    x[rng.random(n) < 0.02] = np.nan
    plan = np.where(late & (rng.random(n) < 0.3), "new", rng.choice(["basic", "pro", "team"], n))
    ts = pa.array((START + offs.astype("timedelta64[s]")).astype("datetime64[us]"))
    return pa.table({
        "ts": ts, "x": x, "age": rng.integers(18, 80, n).astype(np.int32), "plan": plan,
        "active": rng.random(n) < 0.7,
    })  # fmt: skip


def reference(n: int = 20_000) -> mlmon.Baseline:
    """A baseline fitted on undrifted rows."""
    t = history_table(n, seed=1)
    cut = pa.scalar((START + np.timedelta64(3 * DAY, "s")).astype("datetime64[us]"))
    early = t.filter(pa.compute.less(t["ts"], cut))
    return mlmon.Baseline.fit(early.drop_columns(["ts"]), model="churn", version="v1")


def write_parts(table: pa.Table, directory: Path, parts: int = 3, fmt: str = "parquet") -> list[Path]:
    """Splits ``table`` into ``parts`` files (row groups of 7,000 rows)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, chunk in enumerate(np.array_split(np.arange(table.num_rows), parts)):
        part = table.take(pa.array(chunk))
        path = directory / f"part-{i}.{fmt}"
        if fmt == "parquet":
            pq.write_table(part, path, row_group_size=7_000)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(part, path)
        paths.append(path)
    return paths
