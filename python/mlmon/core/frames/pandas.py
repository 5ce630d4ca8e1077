"""pandas adapter: DataFrame and Series columns to engine-ready columns.

numpy-backed numerics are taken with ``to_numpy()`` (a view); Categorical gives its codes and
categories; Arrow-backed columns (the pandas 3 default ``str``, ``ArrowDtype``) go through the pyarrow
adapter to reuse Arrow's dictionary encoding; nullable integers and floats become float64 with NaN.
Imported only when a pandas object arrives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd

from mlmon.core.exceptions import DtypeError
from mlmon.core.frames._columns import BOOL_CATEGORIES, Batch, Coded, Column, Values, numeric_array

__all__ = ["frame", "series"]


def frame(obj: Any, wanted: Collection[str] | None) -> Batch:
    """Converts a pandas DataFrame (a Series is read as a one-column frame)."""
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if not isinstance(obj, pd.DataFrame):
        raise DtypeError(f"unsupported pandas input {type(obj).__name__}; expected a DataFrame")
    names = [str(c) for c in obj.columns]
    if len(set(names)) != len(names):
        raise DtypeError("the DataFrame has duplicate column names")
    sources: dict[str, Callable[[], Column]] = {
        name: functools.partial(series, obj.iloc[:, i], name)
        for i, name in enumerate(names)
        if wanted is None or name in wanted
    }
    return Batch(names, len(obj), sources=sources)


def _arrow_backed(s: pd.Series[Any]) -> bool:
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return True
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def series(s: Any, name: str) -> Column:
    """Converts one pandas Series.

    Raises:
        DtypeError: a dtype mlmon cannot monitor (datetimes, intervals...).
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = s.cat.categories.to_numpy()
        if categories.dtype.kind == "b":
            categories = np.array(BOOL_CATEGORIES)[categories.astype(np.int8)]
        return Coded(s.cat.codes.to_numpy(), categories)
    if _arrow_backed(s):
        from mlmon.core.frames import arrow as _frames_arrow  # pyarrow: only Arrow-backed columns need it

        return _frames_arrow.column(s.array.__arrow_array__(), name)
    if isinstance(dtype, pd.BooleanDtype):
        return Coded(s.to_numpy(dtype=np.int8, na_value=-1), list(BOOL_CATEGORIES))
    if isinstance(dtype, np.dtype):
        if dtype.kind in "mM":
            raise DtypeError(
                f"feature {name!r}: unsupported dtype {dtype} (expected numbers, strings or bools)"
            )
        return numeric_array(s.to_numpy(), name)
    if pd.api.types.is_numeric_dtype(dtype):
        return numeric_array(s.to_numpy(dtype=np.float64, na_value=np.nan), name)
    if isinstance(dtype, pd.StringDtype):
        return Values(s.to_numpy(dtype=object, na_value=None))
    raise DtypeError(f"feature {name!r}: unsupported dtype {dtype} (expected numbers, strings or bools)")
