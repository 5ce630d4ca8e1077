"""Batches of numpy columns and Arrow strings, counted by one engine call (``Profile.update``) per batch.

A dict whose values are all 1-D numpy arrays of one length, or the numpy-backed columns of a pandas
DataFrame, become an :class:`Arrays` batch without the per-column conversions of :mod:`mlmon.core.frames`:
the engine reads dtypes itself. Any other input returns ``None`` and takes the general path, which also
raises the errors for malformed input. A DataFrame's Arrow string columns are passed as their buffers,
counted in the same engine call; its other columns (Categoricals, nullable dtypes) stay in ``rest``,
converted by the pandas adapter. pyarrow and polars batches are converted by their adapters, then
split the same way (:func:`from_batch`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlmon.core import _native
from mlmon.core._compat import require
from mlmon.core.exceptions import DtypeError
from mlmon.core.frames import Batch, Column, Numeric, Strings
from mlmon.core.schema import FeatureSpec

__all__ = ["Arrays", "from_batch", "from_dict", "from_pandas", "surely_valid"]

_NDARRAY = {np.ndarray}
_STR = {str}
_SHAPE = operator.attrgetter("shape")


@dataclass(frozen=True, slots=True)
class Arrays:
    """One batch of numpy columns.

    Attributes:
        names: Every column name of the input, in input order (read or not).
        n_rows: Row count.
        arrays: The wanted numpy columns, as given.
        strings: Wanted Arrow string columns, as their buffers (counted in the same engine call).
        rest: Wanted columns of other kinds, converted lazily (pandas extension arrays), or ``None``.
    """

    names: list[str]
    n_rows: int
    arrays: dict[str, npt.NDArray[Any]]
    strings: dict[str, Strings] = field(default_factory=dict)
    rest: Batch | None = None

    def take(self, start: int, stop: int) -> Arrays:
        """Rows ``[start, stop)`` as views of the same buffers."""
        arrays = {name: values[start:stop] for name, values in self.arrays.items()}
        strings = {name: col.take(start, stop) for name, col in self.strings.items()}
        rest = None if self.rest is None else self.rest.take(start, stop)
        return Arrays(self.names, max(0, min(stop, self.n_rows) - start), arrays, strings, rest)


def from_dict(data: Any, wanted: Collection[str]) -> Arrays | None:
    """The batch of a dict of equally long 1-D numpy arrays keyed by str, else ``None``.

    The dict itself is the batch's ``arrays`` (the engine skips names that are not features). The checks
    run as C-level ``map`` loops: a Python loop over the columns cost a quarter of a 20-column update.
    """
    if type(data) is not dict:
        return None
    if data and (set(map(type, data.values())) != _NDARRAY or set(map(type, data)) != _STR):
        return None
    shapes = set(map(_SHAPE, data.values()))
    if len(shapes) > 1:
        return None
    shape = shapes.pop() if shapes else (0,)
    if len(shape) != 1:
        return None
    return Arrays(list(data), shape[0], data)


def from_pandas(obj: Any, wanted: Collection[str]) -> Arrays | None:
    """The batch of a pandas DataFrame, else ``None``.

    Columns are read from the frame's blocks (one 2-D array per dtype, whose rows are the columns, as
    contiguous views) where pandas has them, else with ``DataFrame._get_column_array`` (what pandas
    itself uses to iterate its blocks; about 20x cheaper than ``iloc``); a pandas with neither takes the
    general path. Reading 25 columns one by one cost a fifth of a 1,000-row update.
    """
    pd = require("pandas", "pandas")

    if type(obj) is not pd.DataFrame:
        return None
    names = _column_names(obj.columns)
    columns = _columns(obj, len(names))
    if columns is None or len(set(names)) != len(names):
        return None
    arrays: dict[str, npt.NDArray[Any]] = {}
    strings: dict[str, Strings] = {}
    converted: dict[str, Column] = {}
    sources: dict[str, Callable[[], Column]] = {}
    for i, name in enumerate(names):
        if name not in wanted:
            continue
        values = columns[i]
        dtype = values.dtype
        if type(values) is np.ndarray and values.ndim == 1 and dtype.kind not in "mM":
            arrays[name] = values
        elif isinstance(dtype, pd.ArrowDtype) or (
            isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
        ):
            _arrow_column(values, name, strings, converted)
        else:
            sources[name] = functools.partial(_series, obj, i, name)
    rest = Batch(names, len(obj), converted, sources) if converted or sources else None
    return Arrays(names, len(obj), arrays, strings, rest)


def _column_names(index: Any) -> list[str]:
    """The column labels as str; an Arrow-backed index (pandas 3's default) read in one call."""
    arrow = getattr(getattr(index, "array", None), "_pa_array", None)
    labels = arrow.to_pylist() if arrow is not None else index.tolist()
    return labels if set(map(type, labels)) <= _STR else [str(c) for c in labels]


def _columns(frame: Any, n: int) -> list[Any] | None:
    """Every column's values in position order: rows of the blocks' 2-D arrays, or extension arrays."""
    try:
        blocks = frame._mgr.blocks
        out: list[Any] = [None] * n
        for block in blocks:
            values, locs = block.values, block.mgr_locs.as_array
            if isinstance(values, np.ndarray) and values.ndim == 2:
                for row, loc in enumerate(locs.tolist()):
                    out[loc] = values[row]
            elif getattr(values, "ndim", 1) == 1 and len(locs) == 1:
                out[int(locs[0])] = values
            else:  # a 2-D extension block (datetimes): column by column below
                raise AttributeError("a 2-D extension block")
        if any(v is None for v in out):
            raise AttributeError("a column in no block")
        return out
    except (AttributeError, IndexError, TypeError):
        get: Callable[[int], Any] | None = getattr(frame, "_get_column_array", None)
        return None if get is None else [get(i) for i in range(n)]


def _arrow_column(values: Any, name: str, strings: dict[str, Strings], converted: dict[str, Column]) -> None:
    """What the pandas adapter does with an Arrow-backed Series, without building the Series; string
    buffers go to the engine call with the numpy columns."""
    from mlmon.core.frames import arrow as _frames_arrow  # imports pyarrow, which such a column implies

    col = _frames_arrow.column(values.__arrow_array__(), name)
    if isinstance(col, Strings):
        strings[name] = col
    else:
        converted[name] = col


def from_batch(batch: Batch) -> Arrays:
    """The columns an input adapter made (pyarrow, polars), converted now: numpy columns and Arrow
    strings for the one engine call, the rest (codes, columns with validity bitmaps) as they are."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    strings: dict[str, Strings] = {}
    converted: dict[str, Column] = {}
    for name in [*batch.columns, *batch.sources]:
        col = batch.column(name)
        if isinstance(col, Numeric) and col.validity is None:
            arrays[name] = col.values
        elif isinstance(col, Strings):
            strings[name] = col
        else:
            converted[name] = col
    rest = Batch(batch.names, batch.n_rows, converted) if converted else None
    return Arrays(batch.names, batch.n_rows, arrays, strings, rest)


def _series(frame: Any, i: int, name: str) -> Column:
    from mlmon.core.frames import pandas as _frames_pandas  # imports pandas: only for a pandas frame

    return _frames_pandas.series(frame.iloc[:, i], name)


def surely_valid(batch: Arrays, features: Mapping[str, FeatureSpec]) -> bool:
    """Whether every baseline feature is in the batch as a column the engine reads exactly as its kind,
    so the strict policy needs no per-value check: numbers for a numerical feature; integers, booleans,
    ``U`` or Arrow strings, or an object array of str/int/None (read by the engine at its own speed)
    for a categorical one. ``False`` sends the batch to the full checks, which name what is wrong (or
    find nothing wrong: fractions-free floats as categories, object numbers). Columns left to
    ``batch.rest`` are checked by the caller.
    """
    for name, spec in features.items():
        values = batch.arrays.get(name)
        if values is None:
            held = name in batch.strings or (batch.rest is not None and batch.rest.has(name))
            if not held or (spec.kind == "numerical" and name in batch.strings):
                return False
            continue
        kind = values.dtype.kind
        if spec.kind == "numerical":
            if kind not in "fiu":
                return False
        elif kind == "O":
            if not values.size:
                continue  # an empty column holds nothing of the wrong type (and fit refuses empty input)
            try:
                _native.CategoryCounts.fit(values, max_categories=1, top_k=1)
            except DtypeError:
                return False
        elif kind not in "iubU":
            return False
    return True
