"""Input adapters: pandas, polars, pyarrow, dicts and 2-D numpy arrays become plain numpy columns.

Each adapter produces a :class:`Batch` of :data:`Column` values the engine reads without copying where
the source allows it: numpy views of numeric buffers, dictionary codes plus categories for pandas
Categorical / Arrow dictionary / Polars categorical and string columns. pandas, polars and pyarrow are
optional: each is imported only by the adapter module for its own types (``arrow``, ``pandas``,
``polars`` in this package), which this dispatch loads on first use, chosen by ``type(obj).__module__``,
so ``import mlmon`` never imports them. The adapters build on the column types of ``_columns`` and never
import this module, so the dependencies point one way. Nothing here counts or computes statistics; that
is the engine's job.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from mlmon.core import _native
from mlmon.core._compat import require
from mlmon.core.exceptions import DtypeError, InputError, MlmonError
from mlmon.core.frames._columns import (
    BOOL_CATEGORIES,
    ArrowChunk,
    Batch,
    Categories,
    Coded,
    Column,
    Numeric,
    Strings,
    Values,
    numeric_array,
)

__all__ = [
    "BOOL_CATEGORIES",
    "ArrowChunk",
    "Batch",
    "Categories",
    "Coded",
    "Column",
    "Numeric",
    "Strings",
    "Values",
    "as_categorical",
    "as_numeric",
    "count_categories",
    "count_numeric",
    "feature_errors",
    "fit_categories",
    "from_arrow_capsule",
    "missing_count",
    "numeric_array",
    "numeric_edges",
    "speaks_arrow",
    "to_batch",
]

# The adapters for optional libraries (the arrow, pandas and polars modules of this package) each import
# their library at module level, so each is imported here only when an object of that library arrives.


def _from_sequence(values: Any, name: str) -> Column:
    if isinstance(values, np.ndarray):
        return numeric_array(values, name)
    mod = type(values).__module__.split(".")[0]
    if mod in ("pandas", "polars", "pyarrow"):
        return _ADAPTERS_1D[mod](values, name)
    try:
        arr = np.asarray(values)
    except ValueError as exc:
        raise InputError(f"feature {name!r}: cannot read the values as a 1-D array ({exc})") from exc
    if arr.dtype.kind == "U":
        # numpy turns ["a", nan] into the string "nan"; an object array keeps None/NaN as missing.
        return numeric_array(np.array(values, dtype=object), name)
    if arr.dtype.kind == "O":
        # A list mixing numbers and None: read it as floats when it holds only numbers, so that lists
        # give the same result as arrays.
        try:
            return Numeric(np.array(values, dtype=np.float64))
        except (TypeError, ValueError):
            pass
    return numeric_array(arr, name)


def _from_mapping(obj: Mapping[str, Any], wanted: Collection[str] | None) -> Batch:
    names = [str(k) for k in obj]
    columns: dict[str, Column] = {}
    n_rows: int | None = None
    for key, values in obj.items():
        name = str(key)
        if wanted is None or name in wanted:
            columns[name] = _from_sequence(values, name)
            length = len(columns[name])
        else:
            length = len(values)
        if n_rows is not None and length != n_rows:
            raise InputError(f"feature {name!r}: {length} values, but other columns have {n_rows}")
        n_rows = length
    return Batch(names, n_rows or 0, columns)


def _from_2d(arr: npt.NDArray[Any], feature_names: Sequence[str] | None) -> Batch:
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D array of rows x features, got shape {arr.shape}")
    names = (
        [f"x{j}" for j in range(arr.shape[1])] if feature_names is None else [str(n) for n in feature_names]
    )
    if len(names) != arr.shape[1]:
        raise InputError(f"feature_names has {len(names)} names but the array has {arr.shape[1]} columns")
    columns = {name: numeric_array(arr[:, j], name) for j, name in enumerate(names)}
    block = (names, arr) if arr.dtype.name in ("float64", "float32", "int64", "int32") else None
    return Batch(names, arr.shape[0], columns, {}, block)


def to_batch(
    obj: Any, wanted: Collection[str] | None = None, feature_names: Sequence[str] | None = None
) -> Batch:
    """Converts any supported input into a :class:`Batch`.

    Args:
        obj: pandas/polars DataFrame, pyarrow Table/RecordBatch, any object speaking the Arrow
            PyCapsule interface, a mapping of name to 1-D array or list, or a 2-D numpy array (with
            ``feature_names``).
        wanted: Names of the columns to convert (``None``: all); the others are only listed.
        feature_names: Column names of a 2-D numpy array.

    Returns:
        The batch.

    Raises:
        DtypeError: an unsupported input type or column dtype.
        InputError: columns of different lengths, or a malformed array.
    """
    if isinstance(obj, np.ndarray):
        return _from_2d(obj, feature_names)
    if isinstance(obj, Mapping):
        return _from_mapping(obj, wanted)
    mod = type(obj).__module__.split(".")[0]
    adapter = _ADAPTERS.get(mod)
    if adapter is None and speaks_arrow(obj):
        return _pyarrow(from_arrow_capsule(obj), wanted)
    if adapter is None:
        raise DtypeError(
            f"unsupported input type {type(obj).__name__}; expected a pandas or polars DataFrame, a pyarrow "
            "Table or RecordBatch, a dict of 1-D arrays, or a 2-D numpy array with feature_names"
        )
    return adapter(obj, wanted)


def _pandas(obj: Any, wanted: Collection[str] | None) -> Batch:
    from mlmon.core.frames import pandas as _frames_pandas

    return _frames_pandas.frame(obj, wanted)


def _polars(obj: Any, wanted: Collection[str] | None) -> Batch:
    from mlmon.core.frames import polars as _frames_polars

    return _frames_polars.frame(obj, wanted)


def speaks_arrow(obj: Any) -> bool:
    """Whether ``obj`` exports Arrow data through the PyCapsule interface."""
    return hasattr(obj, "__arrow_c_stream__") or hasattr(obj, "__arrow_c_array__")


def from_arrow_capsule(obj: Any) -> Any:
    """A pyarrow Table over the Arrow data of any object speaking the Arrow PyCapsule interface
    (``__arrow_c_stream__`` or ``__arrow_c_array__``: duckdb relations, arro3, nanoarrow, ...),
    imported without copying the buffers.

    Raises:
        DtypeError: pyarrow is not installed, or the data is not a table (a struct array).
    """
    try:
        pa = require("pyarrow", "arrow")
    except ImportError as exc:
        raise DtypeError(
            f"{type(obj).__name__} speaks the Arrow PyCapsule interface; reading it needs pyarrow "
            "(pip install 'mlmon[arrow]')"
        ) from exc
    try:
        return pa.table(obj)
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise DtypeError(f"cannot read {type(obj).__name__} as an Arrow table: {exc}") from exc


def _pyarrow(obj: Any, wanted: Collection[str] | None) -> Batch:
    from mlmon.core.frames import arrow as _frames_arrow

    return _frames_arrow.table(obj, wanted)


def _pandas_1d(obj: Any, name: str) -> Column:
    from mlmon.core.frames import pandas as _frames_pandas

    return _frames_pandas.series(obj, name)


def _polars_1d(obj: Any, name: str) -> Column:
    from mlmon.core.frames import polars as _frames_polars

    return _frames_polars.series(obj, name)


def _pyarrow_1d(obj: Any, name: str) -> Column:
    from mlmon.core.frames import arrow as _frames_arrow

    return _frames_arrow.column(obj, name)


_ADAPTERS: dict[str, Callable[[Any, Collection[str] | None], Batch]] = {
    "pandas": _pandas,
    "polars": _polars,
    "pyarrow": _pyarrow,
}
_ADAPTERS_1D: dict[str, Callable[[Any, str], Column]] = {
    "pandas": _pandas_1d,
    "polars": _polars_1d,
    "pyarrow": _pyarrow_1d,
}


@contextmanager
def feature_errors(name: str) -> Iterator[None]:
    """Re-raises an engine error with the feature's name in front, keeping its class."""
    try:
        yield
    except MlmonError as exc:
        if str(exc).startswith("feature "):
            raise
        raise type(exc)(f"feature {name!r}: {exc}") from exc


def missing_count(col: Column) -> int:
    """Missing values of a column (NaN, None, negative codes), vectorized."""
    if isinstance(col, Numeric):
        values = col.filled()
        return int(np.count_nonzero(np.isnan(values))) if values.dtype.kind == "f" else 0
    if isinstance(col, Coded):
        return int(np.count_nonzero(col.codes < 0))
    if isinstance(col, Strings):
        return col.missing()
    values = col.values
    if values.dtype.kind != "O":
        return 0
    # Elementwise comparisons on an object array: None, and NaN (the one value unequal to itself).
    is_none = np.frompyfunc(lambda v: v is None, 1, 1)(values).astype(bool)
    return int(np.count_nonzero(is_none) + np.count_nonzero(values != values))


def as_numeric(col: Column) -> npt.NDArray[Any] | None:
    """The column as numbers the engine bins, or ``None`` when it holds values of another type.

    Object arrays of numbers and None are read as float64; strings, codes and bools are not numbers.
    """
    if isinstance(col, Numeric):
        return col.filled()
    if isinstance(col, Values) and col.values.dtype.kind == "O":
        try:
            return col.values.astype(np.float64)
        except (TypeError, ValueError):
            return None
    return None


def numeric_edges(col: Column, bins: int) -> _native.BinEdges | None:
    """Quantile edges of a numeric column (bitmap nulls read in place), or ``None`` for non-numbers."""
    if isinstance(col, Numeric) and col.validity is not None:
        return _native.BinEdges.quantile(col.values, bins, col.validity[0], col.validity[1])
    values = as_numeric(col)
    return None if values is None else _native.BinEdges.quantile(values, bins)


def count_numeric(hist: _native.NumericHistogram, col: Column) -> bool:
    """Counts a numeric column into ``hist`` (bitmap nulls read in place); ``False`` for non-numbers."""
    if isinstance(col, Numeric) and col.validity is not None:
        hist.update(col.values, col.validity[0], col.validity[1])
        return True
    values = as_numeric(col)
    if values is None:
        return False
    hist.update(values)
    return True


def fit_categories(cat: Categories, max_categories: int = 10_000) -> _native.CategoryCounts:
    """Fits reference category counts on any categorical column, through its fastest engine path."""
    if isinstance(cat, Coded):
        return _native.CategoryCounts.fit_codes(cat.codes, cat.categories, max_categories=max_categories)
    if isinstance(cat, Strings):
        return _native.CategoryCounts.fit_arrow(cat.chunks, max_categories=max_categories)
    return _native.CategoryCounts.fit(cat.values, max_categories=max_categories)


def count_categories(counts: _native.CategoryCounts, cat: Categories) -> None:
    """Counts a categorical column into ``counts``, through its fastest engine path."""
    if isinstance(cat, Coded):
        counts.update_codes(cat.codes, cat.categories)
    elif isinstance(cat, Strings):
        counts.update_arrow(cat.chunks)
    else:
        counts.update(cat.values)


def as_categorical(col: Column, name: str) -> Categories:
    """The column as category values: integers stay integers; integral floats become integers with
    NaN as missing (what a nullable integer column turns into on the way through numpy).

    Raises:
        DtypeError: floats with fractional parts, which are not categories.
    """
    if not isinstance(col, Numeric):
        return col
    values = col.filled()
    if values.dtype.kind in "iu":
        return Values(values)
    nan = np.isnan(values)
    finite = values[~nan]
    if not np.all(np.isfinite(finite)) or not np.all(finite == np.round(finite)):
        raise DtypeError(f"feature {name!r}: fractional numbers cannot be categories")
    if not nan.any():
        return Values(values.astype(np.int64))
    out = np.empty(len(values), dtype=object)
    out[~nan] = finite.astype(np.int64)
    return Values(out)
