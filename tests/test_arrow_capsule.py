"""Inputs that speak only the Arrow PyCapsule interface (duckdb relations, arro3, nanoarrow...): read
through pyarrow without copies, counted exactly as the same data given as a pyarrow Table, on the
one-call path of ``Monitor.update`` and in ``Baseline.fit``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import mlmon


class StreamOnly:
    """An Arrow producer that is nothing but ``__arrow_c_stream__`` (as a duckdb relation is to us)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)


class ArrayOnly:
    """A producer of one record batch through ``__arrow_c_array__``."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self._batch = batch

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any:
        return self._batch.__arrow_c_array__(requested_schema)


def _table(rng: np.random.Generator, n: int, chunks: int = 1) -> pa.Table:
    x = rng.normal(size=n)
    x[::7] = np.nan
    labels = np.array(["a", "b", "c", "new"], dtype=object)[rng.integers(0, 4, n)]
    t = pa.table(
        {
            "x": pa.array(x, from_pandas=False),
            "i": pa.array(rng.integers(0, 9, n)),
            "s": pa.array(labels.tolist()).dictionary_encode() if chunks > 1 else pa.array(labels.tolist()),
            "v": pa.array(labels.tolist(), type=pa.string_view()),
        }
    )
    if chunks > 1:
        size = max(1, n // chunks)
        t = pa.concat_tables([t.slice(k, size) for k in range(0, n, size)])
    return t


@pytest.fixture(scope="module")
def baseline() -> mlmon.Baseline:
    return mlmon.Baseline.fit(_table(np.random.default_rng(0), 3000), categorical=["s", "v", "i"])


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_capsule_stream_counts_as_its_table(baseline: mlmon.Baseline, chunks: int) -> None:
    table = _table(np.random.default_rng(1), 500, chunks)
    via_capsule = mlmon.Monitor(baseline)
    via_capsule.update(StreamOnly(table))
    direct = mlmon.Monitor(baseline)
    direct.update(table)
    assert via_capsule.rows == direct.rows == 500
    assert via_capsule._open.counts.to_bytes() == direct._open.counts.to_bytes()
    assert via_capsule.report().features == direct.report().features


def test_a_capsule_array_counts_and_fits(baseline: mlmon.Baseline) -> None:
    batch = _table(np.random.default_rng(2), 400).to_batches()[0]
    mon = mlmon.Monitor(baseline)
    mon.update(ArrayOnly(batch))
    direct = mlmon.Monitor(baseline)
    direct.update(batch)
    assert mon._open.counts.to_bytes() == direct._open.counts.to_bytes()
    fitted = mlmon.Baseline.fit(
        StreamOnly(_table(np.random.default_rng(0), 3000)), categorical=["s", "v", "i"]
    )
    assert fitted.fingerprint == baseline.fingerprint


def test_a_capsule_that_is_not_a_table_is_a_clear_error(baseline: mlmon.Baseline) -> None:
    with pytest.raises(mlmon.DtypeError, match="as an Arrow table"):
        mlmon.Monitor(baseline).update(ArrayOnly(pa.array([1.0, 2.0])))  # type: ignore[arg-type]
