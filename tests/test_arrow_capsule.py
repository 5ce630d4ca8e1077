"""Inputs that speak the Arrow PyCapsule interface (pyarrow, polars, duckdb relations, arro3, nanoarrow...):
``Monitor.update`` counts them with the engine's own reader (arrow-rs' C Data Interface, buffers read in
place, ``Profile.update_arrow``), the general path reads them through pyarrow (``Baseline.fit``, row
windows, types the engine leaves to it); both count exactly what the pyarrow adapters count."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlmon
from mlmon.core import monitor as monitor_module


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


KINDS = ["f64", "f64_nulls", "f32", "i64", "i32_nulls", "u8", "bool", "bool_nulls", "utf8", "large", "view"]
KINDS += ["dict", "dict_nulls", "sliced", "f16", "date"]


def _array(kind: str, n: int, rng: np.random.Generator) -> pa.Array:
    labels = ["a", "b", "c", "new", "ünï"]
    strs = [labels[i] for i in rng.integers(0, len(labels), n)]
    nulls = rng.random(n) < 0.2
    make = {
        "f64": lambda: pa.array(rng.normal(size=n)),
        "f64_nulls": lambda: pa.array(rng.normal(size=n), mask=nulls),
        "f32": lambda: pa.array(rng.normal(size=n).astype(np.float32)),
        "i64": lambda: pa.array(rng.integers(-2, 12, n)),
        "i32_nulls": lambda: pa.array(rng.integers(0, 9, n).astype(np.int32), mask=nulls),
        "u8": lambda: pa.array(rng.integers(0, 9, n).astype(np.uint8)),
        "bool": lambda: pa.array(rng.random(n) < 0.5),
        "bool_nulls": lambda: pa.array(rng.random(n) < 0.5, mask=nulls),
        "utf8": lambda: pa.array(strs, mask=nulls),
        "large": lambda: pa.array(strs, type=pa.large_string()),
        "view": lambda: pa.array(strs, type=pa.string_view(), mask=nulls),
        "dict": lambda: pa.array(strs).dictionary_encode(),
        "dict_nulls": lambda: pa.array(strs, mask=nulls).dictionary_encode(),
        "sliced": lambda: pa.array(strs + strs, mask=np.concatenate([nulls, nulls])).slice(n // 2, n),
        "f16": lambda: pa.array(rng.normal(size=n).astype(np.float16)),
        "date": lambda: pa.array(np.arange(n).astype("datetime64[D]")),
    }
    return make[kind]()


def _state(mon: mlmon.Monitor) -> list[Any]:
    return [
        [
            w.key,
            w.rows,
            dict(w.invalid),
            dict(w.extra_missing),
            sorted(w.unexpected),
            sorted(w.missing_columns),
            w.counts.to_bytes(),
        ]
        for w in [*mon._closed, mon._open]
    ]


@pytest.mark.parametrize("kind", ["bool", "utf8", "dict"])
def test_an_empty_table_with_a_column_of_the_wrong_kind_is_refused_as_the_general_path_refuses_it(
    baseline: mlmon.Baseline, kind: str
) -> None:
    # Zero rows leave the engine no record batch to find the wrong kind in: the schema says it.
    table = pa.table({"x": _array(kind, 0, np.random.default_rng(0))})
    for policy in ("raise", "count"):
        fast = mlmon.Monitor(baseline, on_error=policy)
        general = mlmon.Monitor(baseline, on_error=policy)
        got = _outcome(fast, StreamOnly(table), 0)
        with mock.patch.object(monitor_module, "_arrow_producer", return_value=False):
            want = _outcome(general, table, 0)
        assert got == want and _state(fast) == _state(general), policy


def _outcome(mon: mlmon.Monitor, data: Any, hours: int) -> str:
    try:
        mon.update(data, 1_800_000_000 + 3600 * hours)
    except mlmon.MlmonError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(["x", "i", "s", "v", "other"]), st.sampled_from(KINDS), min_size=1
            ),
            st.integers(0, 30),
            st.integers(1, 3),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=4,
    ),
    policy=st.sampled_from(["raise", "count"]),
    window=st.sampled_from([None, "1h"]),
    as_polars=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_engines_arrow_reader_equals_the_general_path(
    baseline: mlmon.Baseline, plan: Any, policy: Any, window: Any, as_polars: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    fast = mlmon.Monitor(baseline, window=window, on_error=policy)
    general = mlmon.Monitor(baseline, window=window, on_error=policy)
    for kinds, n, chunks, hours in plan:
        table = pa.table({name: _array(kind, n, rng) for name, kind in kinds.items()})
        if chunks > 1 and n:
            size = max(1, n // chunks)
            table = pa.concat_tables([table.slice(k, size) for k in range(0, n, size)])
        data: Any = table
        if as_polars:
            try:
                data = pl.from_arrow(table)
            except Exception:  # a type polars does not take (float16): stay with the table
                data = table
        got = _outcome(fast, StreamOnly(table) if not as_polars else data, hours)
        with mock.patch.object(monitor_module, "_arrow_producer", return_value=False):
            want = _outcome(general, data, hours)
        assert got == want, (plan, policy, window)
        assert _state(fast) == _state(general), (plan, policy, window)
