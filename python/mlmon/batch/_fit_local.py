"""``fit_baseline``: a baseline from files larger than memory, in two streaming passes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlmon.batch._fit import CountPass, FitOptions, SketchPass, fit_two_passes
from mlmon.batch._progress import rows_progress
from mlmon.batch._source import BATCH_ROWS, Source, batches, open_dataset, total_rows
from mlmon.core.baseline import Baseline
from mlmon.core.schema import FeatureSpec

if TYPE_CHECKING:  # typing.Unpack is 3.11+; the annotation is never evaluated at run time
    from typing_extensions import Unpack

__all__ = ["fit_baseline"]


def fit_baseline(
    source: Source,
    *,
    format: str | None = None,
    batch_size: int = BATCH_ROWS,
    progress: bool | None = None,
    **options: Unpack[FitOptions],
) -> Baseline:
    """Fits a baseline on data larger than memory, streaming it twice.

    Numerical edges come from a KLL quantile sketch: each cut is within ``QuantileSketch.epsilon_for(k)``
    of its exact quantile's rank (1.66% of the rows at ``k = 200``, 99% confidence) instead of numpy's
    exact quantile that :meth:`Baseline.fit` computes; reference counts on those edges and category
    counts are exact. Memory is bounded by ``batch_size`` plus the categories' distinct values.

    Args:
        source: Parquet/CSV file, glob, directory, list of those, or a pyarrow Dataset/Table.
        features: Features to fit, in order (default: every numeric, string, bool or dictionary column
            not in ``exclude``; timestamp columns are skipped).
        exclude: Columns to leave out (ids, the target).
        categorical: Features to treat as categorical (e.g. integer codes); ``None`` (default) types
            features by dtype, ``[]`` declares there is none (as in :meth:`Baseline.fit`).
        numerical: Features to treat as numerical.
        bins: Quantile bins per numerical feature (ties merged, so maybe fewer).
        max_categories: Reference categories kept per feature.
        k: Sketch accuracy (larger: smaller rank error, more memory).
        feature_importance: Weights of the overall score.
        model: Model name.
        version: Model version.
        format: ``parquet`` or ``csv`` when the extensions do not tell.
        batch_size: Rows per record batch.
        progress: Draw a progress bar (default: when stderr is a terminal).

    Returns:
        The baseline.

    Raises:
        InputError: no such file, no features, an all-missing feature.
        SchemaMismatchError: a named feature is not in the data.
        DtypeError: a column of an unsupported type.
    """
    dataset = open_dataset(source, format)
    total = total_rows(dataset)

    def sketch(specs: list[FeatureSpec], k: int) -> SketchPass:
        first = SketchPass(specs, k)
        with rows_progress("sketching", total, progress) as advance:
            for rb in batches(dataset, [s.name for s in specs], batch_size):
                first.add(rb)
                advance(rb.num_rows)
        return first

    def count(first: SketchPass, second: CountPass) -> CountPass:
        with rows_progress("counting", total or first.rows, progress) as advance:
            for rb in batches(dataset, list(second.hists), batch_size):
                second.add(rb)
                advance(rb.num_rows)
        return second

    return fit_two_passes(dataset.schema, options, sketch, count)
