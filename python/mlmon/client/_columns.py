"""Rows and column batches become the drift service's wire columns; nothing here does I/O.

Recorded data is kept as it arrived (row dicts, or a column batch normalised to numpy arrays and string
lists) and turned into wire columns only in the background, just before the first send: numerical
columns as raw little-endian float64 bytes (msgpack bin, no per-value encoding), categorical ones as a
list of strings or as ``{categories, codes}`` for a pandas Categorical. The encoded body is kept with
its producer sequence so every retry sends the same bytes.
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.exceptions import DtypeError, InputError

__all__ = [
    "REQUEST_IDS",
    "Coded",
    "Column",
    "Columns",
    "Kind",
    "Labels",
    "check_request_ids",
    "columns_of_frame",
    "concat_columns",
    "encode_body",
    "request_id_column",
    "rows_to_columns",
    "slice_columns",
]

Kind = Literal["numerical", "categorical"]

#: The column under which a batch carries its rows' request ids until it is encoded (a NUL cannot
#: start a feature name, so it never meets one); the body sends them as ``request_ids``.
REQUEST_IDS = "\0request_id"
_MAX_REQUEST_ID = 128


@dataclass(frozen=True, slots=True)
class Labels:
    """A categorical column: one label per row, ``None`` = missing."""

    values: list[str | int | None]


@dataclass(frozen=True, slots=True)
class Coded:
    """A categorical column as its dictionary and codes into it (negative = missing)."""

    categories: list[str | int | None]
    codes: npt.NDArray[np.int64]


Column: TypeAlias = "npt.NDArray[np.float64] | Labels | Coded"
Columns: TypeAlias = "dict[str, Column]"

_ENCODER = msgspec.msgpack.Encoder()


def _label(value: Any) -> str | int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    # Integer categories stay integers: a baseline fitted on [0, 1, 2] matches 0, not "0".
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return str(value)


def _number_type(t: type) -> bool:
    # bool is an int subclass but the baseline treats booleans as categories ("False"/"True").
    return t is type(None) or (issubclass(t, numbers.Real) and not issubclass(t, (bool, np.bool_)))


def _all_numbers(values: list[Any]) -> bool:
    # The distinct types, not the values, go through the (slow) ABC check: a 1,000-row column costs
    # one set() pass instead of 1,000 isinstance(numbers.Real) calls.
    return all(_number_type(t) for t in set(map(type, values)))


def _numbers(name: str, values: Sequence[Any]) -> npt.NDArray[np.float64]:
    try:
        # numpy turns None into NaN (= missing) in C.
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DtypeError(f"feature {name!r}: a value is not a number ({exc})") from exc


def _column(name: str, values: list[Any], kind: Kind | None) -> Column:
    if kind == "numerical" or (kind is None and _all_numbers(values)):
        if kind is None and all(v is None for v in values):
            return Labels([None] * len(values))  # all missing: no type to infer; counted as missing
        return _numbers(name, values)
    return Labels([_label(v) for v in values])


def _same_keys_table(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]] | None:
    """The rows transposed in C when they all have the first row's features (the usual case: the same
    number of keys and each of the first row's keys present means the same key set), else ``None``."""
    if not rows or len(rows[0]) < 2 or len(set(map(len, rows))) != 1:
        return None
    try:
        return list(zip(*map(operator.itemgetter(*rows[0]), rows), strict=True))
    except (KeyError, TypeError):
        return None


def rows_to_columns(rows: Sequence[Mapping[str, Any]], kinds: Mapping[str, Kind]) -> Columns:
    """Turns row dicts into columns; a feature absent from a row is missing in that row.

    Args:
        rows: The rows, each ``{feature: value}``.
        kinds: Declared feature kinds; an undeclared feature is numerical when every value is a real
            number (or missing), else categorical.

    Raises:
        DtypeError: a declared numerical feature has a value that is not a number.
    """
    table = _same_keys_table(rows)
    names = list(rows[0]) if table is not None else list(dict.fromkeys(itertools.chain.from_iterable(rows)))
    out: Columns = {}
    for i, name in enumerate(names):
        values = list(table[i]) if table is not None else [row.get(name) for row in rows]
        out[str(name)] = _column(str(name), values, kinds.get(str(name)))
    return out


def _array_column(name: str, values: Any, kind: Kind | None) -> Column:
    mod = type(values).__module__.split(".")[0]
    if mod == "pandas" and str(getattr(values, "dtype", "")) == "category":
        if kind == "numerical":
            raise DtypeError(f"feature {name!r} is declared numerical but is a pandas Categorical")
        cats = [_label(c) for c in values.cat.categories.tolist()]
        return Coded(cats, values.cat.codes.to_numpy(dtype=np.int64))
    if mod == "pandas":
        dtype = values.dtype
        if kind != "categorical" and dtype.kind in "iuf":
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        return _column(name, values.to_numpy(dtype=object, na_value=None).tolist(), kind)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"feature {name!r}: expected a 1-D column, got shape {arr.shape}")
    if kind != "categorical" and arr.dtype.kind in "iuf":
        return arr.astype(np.float64, copy=False)
    return _column(name, arr.tolist(), kind)


def columns_of_frame(data: Any, kinds: Mapping[str, Kind]) -> tuple[Columns, int]:
    """Normalises a column batch (a pandas DataFrame or a mapping of name to 1-D array or list).

    Returns:
        The columns and the row count.

    Raises:
        InputError: columns of different lengths, a 2-D column, or an unsupported input.
        DtypeError: a declared numerical feature has a value that is not a number.
    """
    if type(data).__module__.split(".")[0] == "pandas" and hasattr(data, "columns"):
        items = [(str(c), data[c]) for c in data.columns]
    elif isinstance(data, Mapping):
        items = [(str(k), v) for k, v in data.items()]
    else:
        raise InputError(
            f"record_batch takes a pandas DataFrame or a dict of columns, not {type(data).__name__}"
        )
    out: Columns = {}
    rows: int | None = None
    for name, values in items:
        col = _array_column(name, values, kinds.get(name))
        n = _len(col)
        if rows is not None and n != rows:
            raise InputError(f"column {name!r} has {n} rows, other columns have {rows}")
        rows = n
        out[name] = col
    return out, rows or 0


def _len(col: Column) -> int:
    if isinstance(col, Labels):
        return len(col.values)
    if isinstance(col, Coded):
        return len(col.codes)
    return len(col)


def slice_columns(cols: Columns, start: int, stop: int) -> Columns:
    """Rows ``[start, stop)`` of every column (numpy slices are views)."""
    out: Columns = {}
    for name, col in cols.items():
        if isinstance(col, Labels):
            out[name] = Labels(col.values[start:stop])
        elif isinstance(col, Coded):
            out[name] = Coded(col.categories, col.codes[start:stop])
        else:
            out[name] = col[start:stop]
    return out


def _labels(col: Column | None, n: int) -> list[str | int | None]:
    if col is None:
        return [None] * n
    if isinstance(col, Labels):
        return col.values
    if isinstance(col, Coded):
        return [col.categories[k] if k >= 0 else None for k in col.codes.tolist()]
    return [None if math.isnan(v) else str(v) for v in col.tolist()]


def concat_columns(parts: Sequence[tuple[Columns, int]]) -> Columns:
    """Joins column chunks into one batch; a feature absent from a chunk is missing in its rows.

    A feature that is numerical in every chunk stays a float64 array; one that is coded with the same
    categories in every chunk stays coded; any other mix becomes labels.
    """
    names = dict.fromkeys(name for cols, _ in parts for name in cols)
    out: Columns = {}
    for name in names:
        pieces = [(cols.get(name), n) for cols, n in parts]
        present = [c for c, _ in pieces if c is not None]
        if all(isinstance(c, np.ndarray) for c in present):
            out[name] = np.concatenate([np.full(n, np.nan) if c is None else c for c, n in pieces])
        elif len(coded := [c for c in present if isinstance(c, Coded)]) == len(pieces) and all(
            c.categories == coded[0].categories for c in coded
        ):
            out[name] = Coded(coded[0].categories, np.concatenate([c.codes for c in coded]))
        else:
            out[name] = Labels([v for c, n in pieces for v in _labels(c, n)])
    return out


def _wire(col: Column) -> Any:
    if isinstance(col, Labels):
        return col.values
    if isinstance(col, Coded):
        codes = col.codes.astype("<i8", copy=False)
        return {"categories": col.categories, "codes": {"dtype": "<i8", "data": codes.tobytes()}}
    return {"dtype": "<f8", "data": col.astype("<f8", copy=False).tobytes()}


def encode_body(
    producer_id: str, sequence: int, version: str | None, sent_at: datetime, cols: Columns
) -> bytes:
    """The msgpack ingest body ``{producer_id, sequence, version?, sent_at, columns}``."""
    body: dict[str, Any] = {"producer_id": producer_id, "sequence": sequence, "sent_at": sent_at}
    if version is not None:
        body["version"] = version
    ids = cols.get(REQUEST_IDS)
    if isinstance(ids, Labels):
        body["request_ids"] = [None if v is None else str(v) for v in ids.values]
    body["columns"] = {name: _wire(col) for name, col in cols.items() if name != REQUEST_IDS}
    return _ENCODER.encode(body)


def request_id_column(request_ids: Any, rows: int) -> Labels:
    """The request ids of a column batch, checked: one per row, each a string of 1 to 128 characters
    or ``None`` (a row nobody will label).

    Raises:
        InputError: another length, or an id that is not such a string.
    """
    ids = list(request_ids.tolist() if isinstance(request_ids, np.ndarray) else request_ids)
    if len(ids) != rows:
        raise InputError(f"request_ids has {len(ids)} values, the batch has {rows} rows")
    check_request_ids(ids, allow_none=True)
    return Labels(ids)


def check_request_ids(ids: Sequence[Any], *, allow_none: bool) -> None:
    """Every id a string of 1 to 128 characters (or ``None``, where a row may have none).

    Raises:
        InputError: naming the first id that is not.
    """
    for rid in ids:
        if (rid is not None or not allow_none) and (
            not isinstance(rid, str) or not 0 < len(rid) <= _MAX_REQUEST_ID
        ):
            raise InputError(
                f"a request id must be a string of 1 to {_MAX_REQUEST_ID} characters, not {rid!r}"
            )
