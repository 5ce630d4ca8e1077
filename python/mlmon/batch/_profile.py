"""``profile``: drift per period of historical data against a baseline, streamed from files."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict

from mlmon.batch._fold import PeriodFold
from mlmon.batch._periods import period_seconds
from mlmon.batch._progress import rows_progress
from mlmon.batch._source import BATCH_ROWS, Source, batches, open_dataset, total_rows
from mlmon.batch._store import write_history
from mlmon.batch.history import DriftHistory, history
from mlmon.core.baseline import Baseline
from mlmon.core.drift import Thresholds
from mlmon.core.quality import QualityThresholds
from mlmon.exceptions import InputError, SchemaMismatchError
from mlmon.store import Store

if TYPE_CHECKING:  # typing.Unpack is 3.11+; the annotation is never evaluated at run time
    from typing_extensions import Unpack

__all__ = ["ProfileOptions", "finish_profile", "load_baseline", "profile", "read_columns", "start_profile"]


def load_baseline(baseline: Baseline | str) -> Baseline:
    """The baseline itself, or the one saved at a path."""
    return baseline if isinstance(baseline, Baseline) else Baseline.load(baseline)


def read_columns(names: list[str], baseline: Baseline, timestamp: str) -> list[str]:
    """The columns to read: the timestamp and the baseline features the data has.

    Raises:
        SchemaMismatchError: no timestamp column, or none of the baseline's features.
    """
    if timestamp not in names:
        raise SchemaMismatchError(
            f"timestamp column {timestamp!r} is not in the data (columns: {names[:10]})"
        )
    present = [n for n in baseline.features if n in names]
    if not present:
        raise SchemaMismatchError("none of the baseline's features is in the data: is this the right source?")
    return [*present, timestamp]


def profile(
    source: Source,
    baseline: Baseline | str,
    by: str | timedelta = "1d",
    timestamp: str = "ts",
    *,
    format: str | None = None,
    batch_size: int = BATCH_ROWS,
    progress: bool | None = None,
    **options: Unpack[ProfileOptions],
) -> DriftHistory:
    """Drift per period of historical data: one exact report per period, aligned to the baseline.

    Files are read as a pyarrow dataset in record batches (memory bounded by ``batch_size``, not the
    data size); rows are grouped by period with vectorized compute and counted by the engine on every
    core. Periods are ``floor(epoch / by)`` (days are UTC days), the windows a streaming
    :class:`mlmon.Monitor` with ``window=by`` would use, so the figures equal a monitor fed the same rows.

    Args:
        source: Parquet/CSV file, glob (``'data/*.parquet'``), directory, list of those, or a pyarrow
            Dataset/Table.
        baseline: The reference, or the path of a saved baseline.
        by: Period length (``"1d"``, ``"6h"``, ``timedelta``).
        timestamp: Column with each row's time (timestamps, dates, ISO strings or epoch seconds). Rows
            without one are counted in ``DriftHistory.skipped_rows``.
        thresholds: The drift policy (default ``Thresholds()``).
        quality: Data-quality levels (default ``QualityThresholds()``).
        format: ``parquet`` or ``csv`` when the extensions do not tell.
        batch_size: Rows per record batch.
        store: A store or database URL: the periods' counts and drift results are written to it, so the
            service's history shows them (model and version from the baseline unless given).
        model: Model name for ``store``.
        version: Model version for ``store``.
        progress: Draw a progress bar (default: when stderr is a terminal).

    Returns:
        The history, oldest period first.

    Raises:
        InputError: no such file, an unknown format, or a bad ``by``.
        SchemaMismatchError: the timestamp column or every baseline feature is absent.
        DtypeError: an unreadable timestamp column.
    """
    ref, seconds = start_profile(baseline, by, options)
    categorical = [f.name for f in ref.features.values() if f.kind == "categorical"]
    dataset = open_dataset(source, format, dictionary_columns=categorical)
    columns = read_columns(list(dataset.schema.names), ref, timestamp)
    fold = PeriodFold(ref, seconds)
    with rows_progress("profiling", total_rows(dataset), progress) as advance:
        for rb in batches(dataset, columns, batch_size):
            fold.add(rb, timestamp)
            advance(rb.num_rows)
    return finish_profile(fold, ref, by, options)


class ProfileOptions(TypedDict, total=False):
    """The keyword arguments :func:`mlmon.batch.profile` and :func:`mlmon.spark.profile` share
    (documented there); the defaults are ``None``."""

    thresholds: Thresholds | None
    quality: QualityThresholds | None
    store: Store | str | None
    model: str | None
    version: str | None


def start_profile(
    baseline: Baseline | str, by: str | timedelta, options: ProfileOptions
) -> tuple[Baseline, float]:
    """The reference and the period length in seconds, after checking ``options``' names."""
    # **options accepts any keyword at run time: a misspelled one must not be ignored silently.
    unknown = sorted(set(options) - set(ProfileOptions.__annotations__))
    if unknown:
        raise InputError(
            f"unknown profile arguments: {unknown} (known: {sorted(ProfileOptions.__annotations__)})"
        )
    return load_baseline(baseline), period_seconds(by)


def finish_profile(
    fold: PeriodFold, ref: Baseline, by: str | timedelta, options: ProfileOptions
) -> DriftHistory:
    """The history of the (merged) period counts, written to ``options['store']`` when given."""
    thresholds = options.get("thresholds") or Thresholds()
    reports = fold.reports(thresholds, options.get("quality") or QualityThresholds())
    store = options.get("store")
    if store is not None:
        write_history(store, fold, reports, ref, options.get("model"), options.get("version"))
    return history(reports, str(by), fold.skipped)
