"""polars adapter: DataFrame and Series columns to engine-ready columns.

Numerics are taken with ``to_numpy()`` (a view) when they have no nulls; float columns with nulls go
to Arrow as values plus validity bitmap, integers with nulls become float64 with NaN. Strings go to
Arrow as ``string_view`` buffers (polars' own layout, no copy) and Categorical, Enum and Boolean
columns as dictionaries, all through the pyarrow adapter. Imported only when a polars object arrives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

import polars as pl

from mlmon.core.exceptions import DtypeError
from mlmon.core.frames import arrow as _frames_arrow
from mlmon.core.frames._columns import Batch, Column, numeric_array

__all__ = ["frame", "series"]


def frame(obj: Any, wanted: Collection[str] | None) -> Batch:
    """Converts a polars DataFrame (a LazyFrame is collected first; a Series is one column)."""
    if isinstance(obj, pl.LazyFrame):
        obj = obj.collect()
    if isinstance(obj, pl.Series):
        obj = obj.to_frame()
    if not isinstance(obj, pl.DataFrame):
        raise DtypeError(f"unsupported polars input {type(obj).__name__}; expected a DataFrame")
    names = list(obj.columns)
    sources: dict[str, Callable[[], Column]] = {
        name: functools.partial(series, obj.get_column(name), name)
        for name in names
        if wanted is None or name in wanted
    }
    return Batch(names, obj.height, sources=sources)


def series(s: Any, name: str) -> Column:
    """Converts one polars Series.

    Raises:
        DtypeError: a dtype mlmon cannot monitor (datetimes, lists, structs...).
    """
    dtype = s.dtype
    if dtype.is_numeric():
        if isinstance(dtype, pl.Decimal):
            s = s.cast(pl.Float64)
        if s.null_count():
            if dtype.is_float():
                # Values and validity bitmap go to the engine as they are: no NaN-filled copy.
                return _frames_arrow.column(s.to_arrow(), name)
            # Integers with nulls become float64 with NaN, filled in polars: `to_numpy` on a column with
            # nulls takes a slow generic path (5.5 ms against 1 ms per million values, measured).
            s = s.cast(pl.Float64).fill_null(float("nan"))
        return numeric_array(s.to_numpy(), name)
    if dtype == pl.String:
        # polars stores strings as Arrow string views; the newest compat level hands them over as they
        # are (the default converts every string to large_string, a full copy).
        return _frames_arrow.column(s.to_arrow(compat_level=pl.CompatLevel.newest()), name)
    if dtype in (pl.Categorical, pl.Boolean, pl.Null) or isinstance(dtype, pl.Enum | pl.Categorical):
        return _frames_arrow.column(s.to_arrow(), name)
    raise DtypeError(f"feature {name!r}: unsupported dtype {dtype} (expected numbers, strings or bools)")
