"""Batch drift analysis on Apache Spark: the same per-period reports and streaming baselines as
:mod:`mlmon.batch`, computed per partition and merged on the driver.

Each partition folds its Arrow record batches (``mapInArrow``) into exact per-period counts with the Rust
engine and returns them as bytes (the engine's profile codec inside msgpack); the driver merges them by
adding counts. Any partitioning therefore gives the same counts as the local path, and the same
:class:`~mlmon.batch.DriftHistory`. Baselines use the engine's mergeable KLL sketch per partition, so
their edges are within ``QuantileSketch.epsilon_for(k)`` of the exact quantiles' ranks (merges keep the
bound); counts on those edges are exact.

Needs ``pip install 'mlmon[spark]'`` (pyspark and pyarrow) on the driver and the executors.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mlmon.batch._fit import CountPass, FitOptions, SketchPass, fit_two_passes
from mlmon.batch._fold import PeriodFold
from mlmon.batch._profile import ProfileOptions, finish_profile, read_columns, start_profile
from mlmon.batch.history import DriftHistory
from mlmon.core._compat import require
from mlmon.core.baseline import Baseline
from mlmon.core.schema import FeatureSpec

if TYPE_CHECKING:  # typing.Unpack is 3.11+; the annotation is never evaluated at run time
    from typing_extensions import Unpack

__all__ = ["fit_baseline", "profile"]

_PART = "part binary"


def _one(data: bytes) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"part": pa.array([data], pa.binary())})


@contextmanager
def _no_pandas_warning() -> Iterator[None]:
    # pyspark 4 warns about pandas >= 3 whenever an Arrow UDF is planned; these paths never use pandas.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        yield


def _collect(df: Any, columns: Sequence[str], fold: Callable[[Iterator[Any]], bytes]) -> list[bytes]:
    """Runs ``fold`` over each partition's record batches; the partial results in partition order."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield _one(fold(batches))

    with _no_pandas_warning():
        rows = df.select(*columns).mapInArrow(run, _PART).collect()
    return [bytes(r["part"]) for r in rows]


def profile(
    df: Any,
    baseline: Baseline | str,
    by: str | timedelta = "1d",
    timestamp: str = "ts",
    **options: Unpack[ProfileOptions],
) -> DriftHistory:
    """Drift per period of a Spark DataFrame, identical to :func:`mlmon.batch.profile` on the same rows.

    Args:
        df: A ``pyspark.sql.DataFrame`` with the timestamp column and the baseline's features.
        baseline: The reference, or the path of a saved baseline (read on the driver).
        by: Period length (``"1d"``, ``"6h"``, ``timedelta``).
        timestamp: Column with each row's time.
        thresholds: The drift policy.
        quality: Data-quality levels.
        store: A store or database URL to write the periods to (from the driver).
        model: Model name for ``store``.
        version: Model version for ``store``.

    Returns:
        The history, oldest period first.

    Raises:
        InputError: a bad ``by``.
        SchemaMismatchError: the timestamp column or every baseline feature is absent.
    """
    ref, seconds = start_profile(baseline, by, options)
    columns = read_columns(list(df.columns), ref, timestamp)
    ref_bytes = ref.to_bytes()

    def fold(batches: Iterator[pa.RecordBatch]) -> bytes:
        part = PeriodFold(Baseline.from_bytes(ref_bytes), seconds)
        for rb in batches:
            part.add(rb, timestamp)
        return part.to_bytes()

    merged = PeriodFold(ref, seconds)
    for data in _collect(df, columns, fold):
        merged.merge(PeriodFold.from_bytes(ref, data))
    return finish_profile(merged, ref, by, options)


def _arrow_schema(df: Any) -> pa.Schema:
    types = require("pyspark.sql.pandas.types", "spark")
    with _no_pandas_warning():
        schema: pa.Schema = types.to_arrow_schema(df.schema)
    return schema


def _sketch_pass(df: Any, specs: list[FeatureSpec], k: int) -> SketchPass:
    def fold(batches: Iterator[pa.RecordBatch]) -> bytes:
        part = SketchPass(specs, k)
        for rb in batches:
            part.add(rb)
        return part.to_bytes()

    merged = SketchPass(specs, k)
    for data in _collect(df, [s.name for s in specs], fold):
        merged.merge(SketchPass.from_bytes(specs, data, k))
    return merged


def _count_pass(df: Any, empty: CountPass) -> CountPass:
    template = empty.to_bytes()

    def fold(batches: Iterator[pa.RecordBatch]) -> bytes:
        part = CountPass.from_bytes(template)
        for rb in batches:
            part.add(rb)
        return part.to_bytes()

    merged = CountPass.from_bytes(template)
    for data in _collect(df, list(empty.hists), fold):
        merged.merge(CountPass.from_bytes(data))
    return merged


def fit_baseline(
    df: Any,
    **options: Unpack[FitOptions],
) -> Baseline:
    """A baseline from a Spark DataFrame in two passes, like :func:`mlmon.batch.fit_baseline`.

    Pass 1 sketches numerical features and counts categories per partition (merged on the driver); pass 2
    counts the numerical features on the sketch's edges. Arguments as in
    :func:`mlmon.batch.fit_baseline`.

    Raises:
        SchemaMismatchError: a named feature is not in the DataFrame.
        DtypeError: a column of an unsupported type.
        InputError: no features, or an all-missing feature.
    """
    return fit_two_passes(
        _arrow_schema(df),
        options,
        lambda specs, k: _sketch_pass(df, specs, k),
        lambda _, empty: _count_pass(df, empty),
    )
