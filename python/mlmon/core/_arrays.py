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

__all__ = ["Arrays", "Block", "from_batch", "from_dict", "from_pandas", "surely_valid"]

_NDARRAY = {np.ndarray}
_STR = {str}
_SHAPE = operator.attrgetter("shape")


Block = tuple[npt.NDArray[Any], list[str]]
"""A 2-D numeric array whose row ``r`` is the column named ``names[r]`` (a pandas frame's block)."""


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ cost 2 us of a 100 us update
class Arrays:
    """One batch of numpy columns (not changed once built).

    Attributes:
        names: Every column name of the input, in input order (read or not).
        n_rows: Row count.
        arrays: The wanted numpy columns, as given.
        strings: Wanted Arrow string columns, as their buffers (counted in the same engine call).
        rest: Wanted columns of other kinds, converted lazily (pandas extension arrays), or ``None``.
        arrow: Wanted Arrow string columns as Arrow producers (a pandas column's ``ChunkedArray``),
            which the engine imports itself.
        blocks: Numeric columns as the rows of 2-D blocks, each with its rows' names.
    """

    names: list[str]
    n_rows: int
    arrays: dict[str, npt.NDArray[Any]]
    strings: dict[str, Strings] = field(default_factory=dict)
    rest: Batch | None = None
    arrow: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    _rows: dict[str, tuple[int, int]] | None = field(default=None, init=False, repr=False, compare=False)

    def take(self, start: int, stop: int) -> Arrays:
        """Rows ``[start, stop)`` as views of the same buffers."""
        n = max(0, min(stop, self.n_rows) - start)
        arrays = {name: values[start:stop] for name, values in self.arrays.items()}
        strings = {name: col.take(start, stop) for name, col in self.strings.items()}
        arrow = {name: col.slice(start, n) for name, col in self.arrow.items()}
        blocks = [(values[:, start:stop], names) for values, names in self.blocks]
        rest = None if self.rest is None else self.rest.take(start, stop)
        return Arrays(self.names, n, arrays, strings, rest, arrow, blocks)

    def engine_strings(self) -> dict[str, Any] | None:
        """The string columns in the form ``Profile.update`` takes, or ``None`` if there are none."""
        if not self.strings and not self.arrow:
            return None
        return {**{name: col.chunks for name, col in self.strings.items()}, **self.arrow}

    def array(self, name: str) -> npt.NDArray[Any] | None:
        """Column ``name`` as a numpy array (a block's row as a view), if it is one."""
        values = self.arrays.get(name)
        if values is not None:
            return values
        at = self._block_rows().get(name)
        if at is None:
            return None
        row: npt.NDArray[Any] = self.blocks[at[0]][0][at[1]]
        return row

    def holds(self, name: str) -> bool:
        """Whether column ``name`` is in the batch, in any form."""
        return (
            name in self.arrays
            or name in self.strings
            or name in self.arrow
            or name in self._block_rows()
            or (self.rest is not None and self.rest.has(name))
        )

    def _block_rows(self) -> dict[str, tuple[int, int]]:
        """Each block row's name to ``(block, row)``, built on first use (only the general path asks)."""
        if self._rows is None:
            self._rows = {n: (b, r) for b, (_, names) in enumerate(self.blocks) for r, n in enumerate(names)}
        return self._rows


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

    Columns are read from the frame's blocks (one 2-D array per dtype, whose rows are the columns)
    where pandas has them, else with ``DataFrame._get_column_array`` (what pandas itself uses to
    iterate its blocks; about 20x cheaper than ``iloc``); a pandas with neither takes the general path.
    A block of float64, float32, int64 or int32 goes to the engine whole, and an Arrow-backed string
    column as its ``ChunkedArray``: a view per column cost a tenth of a 1,000-row update, and the
    buffers of each string column built in Python a fifth.
    """
    pd = require("pandas", "pandas")

    if type(obj) is not pd.DataFrame:
        return None
    names = _column_names(obj.columns)
    blocks: list[Block] = []
    columns = _columns(obj, names, blocks)
    if columns is None or len(set(names)) != len(names):
        return None
    arrays: dict[str, npt.NDArray[Any]] = {}
    strings: dict[str, Strings] = {}
    arrow: dict[str, Any] = {}
    converted: dict[str, Column] = {}
    sources: dict[str, Callable[[], Column]] = {}
    arrow_strings = pd.arrays.ArrowStringArray if _chunked_arrays_stream() else ()
    arrow_dtype = pd.ArrowDtype
    for i, values in columns:
        name = names[i]
        if name not in wanted:
            continue
        if isinstance(values, arrow_strings):  # pandas 2's NaN-semantics ``str`` is a subclass
            arrow[name] = values.__arrow_array__()
            continue
        dtype = values.dtype
        if type(values) is np.ndarray and values.ndim == 1 and dtype.kind not in "mM":
            arrays[name] = values
        elif isinstance(dtype, arrow_dtype):
            _arrow_column(values, name, strings, converted)
        else:
            sources[name] = functools.partial(_series, obj, i, name)
    rest = Batch(names, len(obj), converted, sources) if converted or sources else None
    return Arrays(names, len(obj), arrays, strings, rest, arrow, blocks)


@functools.cache
def _chunked_arrays_stream() -> bool:
    """Whether pyarrow's ``ChunkedArray`` speaks ``__arrow_c_stream__`` (pyarrow >= 16), so the engine
    imports a pandas string column itself; older ones take the buffers built in Python."""
    import pyarrow as pa  # a pandas Arrow string column implies pyarrow

    return hasattr(pa.ChunkedArray, "__arrow_c_stream__")


def _column_names(index: Any) -> list[str]:
    """The column labels as str; an Arrow-backed index (pandas 3's default) read in one call."""
    arrow = getattr(getattr(index, "array", None), "_pa_array", None)
    labels = arrow.to_pylist() if arrow is not None else index.tolist()
    return labels if set(map(type, labels)) <= _STR else [str(c) for c in labels]


_BLOCK_DTYPES = frozenset(np.dtype(t) for t in ("float64", "float32", "int64", "int32"))


def _columns(frame: Any, names: list[str], blocks: list[Block]) -> list[tuple[int, Any]] | None:
    """Every column's position and values, except those of the numeric blocks the engine reads whole
    (appended to ``blocks``): rows of the other blocks' 2-D arrays, or extension arrays."""
    try:
        out: list[tuple[int, Any]] = []
        seen = 0
        for block in frame._mgr.blocks:
            values, locs = block.values, block.mgr_locs.as_array.tolist()
            seen += len(locs)
            if isinstance(values, np.ndarray) and values.ndim == 2:
                if values.dtype in _BLOCK_DTYPES:
                    blocks.append((values, [names[loc] for loc in locs]))
                else:
                    out.extend(zip(locs, values, strict=True))
            elif getattr(values, "ndim", 1) == 1 and len(locs) == 1:
                out.append((locs[0], values))
            else:  # a 2-D extension block (datetimes): column by column below
                raise AttributeError("a 2-D extension block")
        if seen != len(names):
            raise AttributeError("a column in no block")
        return out
    except (AttributeError, IndexError, TypeError):
        blocks.clear()
        get: Callable[[int], Any] | None = getattr(frame, "_get_column_array", None)
        return None if get is None else [(i, get(i)) for i in range(len(names))]


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
        values = batch.array(name)
        if values is None:
            as_strings = name in batch.strings or name in batch.arrow
            held = as_strings or (batch.rest is not None and batch.rest.has(name))
            if not held or (spec.kind == "numerical" and as_strings):
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
