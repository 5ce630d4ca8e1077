"""pyarrow adapter: Tables, RecordBatches, Arrays and ChunkedArrays to engine-ready columns.

Dictionary arrays give their indices and dictionary; string arrays (``string``, ``large_string``,
``string_view``) are handed to the engine as views of their buffers, which it counts without building
Python strings; numerics become numpy views, with the validity bitmap beside them when a single-chunk
float column has nulls (else float64 with NaN). Imported only when pyarrow objects arrive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlmon.core.exceptions import DtypeError
from mlmon.core.frames._columns import (
    BOOL_CATEGORIES,
    ArrowChunk,
    Batch,
    Coded,
    Column,
    Numeric,
    Strings,
    numeric_array,
)

__all__ = ["column", "table"]


def table(obj: Any, wanted: Collection[str] | None) -> Batch:
    """Converts a pyarrow Table or RecordBatch."""
    if not isinstance(obj, pa.Table | pa.RecordBatch):
        raise DtypeError(f"unsupported pyarrow input {type(obj).__name__}; expected a Table or RecordBatch")
    names = [str(n) for n in obj.column_names]
    sources: dict[str, Callable[[], Column]] = {
        name: functools.partial(column, obj.column(i), name)
        for i, name in enumerate(names)
        if wanted is None or name in wanted
    }
    return Batch(names, obj.num_rows, sources=sources)


def _chunks(col: Any) -> list[Any]:
    return list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]


def _codes(indices: list[Any]) -> np.ndarray[Any, Any]:
    """Dictionary indices as one numpy integer array, nulls as -1 (a view when there is one chunk
    without nulls)."""
    parts = []
    for idx in indices:
        if idx.null_count:
            wide = pa.int64() if idx.type in (pa.uint32(), pa.uint64(), pa.int64()) else pa.int32()
            idx = pc.fill_null(idx.cast(wide), -1)
        elif idx.type == pa.uint64():
            idx = idx.cast(pa.int64())
        parts.append(idx.to_numpy(zero_copy_only=False))
    if not parts:
        return np.empty(0, dtype=np.int32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _dictionary(col: Any) -> Coded:
    if isinstance(col, pa.ChunkedArray):
        # Chunks may carry different dictionaries; unify them so one category list serves all codes.
        col = col.unify_dictionaries()
    chunks = _chunks(col)
    if not chunks:
        return Coded(np.empty(0, dtype=np.int32), [])
    categories = chunks[0].dictionary.to_numpy(zero_copy_only=False)
    if categories.dtype.kind == "b":
        categories = np.array(BOOL_CATEGORIES)[categories.astype(np.int8)]
    return Coded(_codes([c.indices for c in chunks]), categories)


def _strings(col: Any, offset_dtype: type[np.integer[Any]]) -> Strings:
    """String arrays as views of their Arrow buffers (zero copy); the engine counts them directly."""
    chunks: list[ArrowChunk] = []
    for chunk in _chunks(col):
        validity, offsets, data = chunk.buffers()[:3]
        n, start = len(chunk), chunk.offset
        offs = (
            np.frombuffer(offsets, dtype=offset_dtype)[start : start + n + 1]
            if n
            else np.zeros(1, offset_dtype)
        )
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        bits = np.frombuffer(validity, dtype=np.uint8) if validity is not None and chunk.null_count else None
        chunks.append((offs, raw, bits, start))
    return Strings(chunks)


def _string_views(col: Any) -> Strings:
    """``string_view`` arrays (polars' native strings) as views of their buffers (zero copy)."""
    chunks: list[ArrowChunk] = []
    for chunk in _chunks(col):
        validity, views, *data = chunk.buffers()
        n, start = len(chunk), chunk.offset
        raw = (
            np.frombuffer(views, dtype=np.uint8)[start * 16 : (start + n) * 16]
            if n
            else np.zeros(0, np.uint8)
        )
        bufs = [np.frombuffer(b, dtype=np.uint8) for b in data if b is not None]
        bits = np.frombuffer(validity, dtype=np.uint8) if validity is not None and chunk.null_count else None
        chunks.append((raw, bufs, bits, start))
    return Strings(chunks)


def _nullable_floats(chunk: Any) -> Numeric:
    """A float array with nulls as its values buffer and validity bitmap (zero copy): the engine
    counts nulls as missing without a NaN-filled copy."""
    validity, data = chunk.buffers()[:2]
    dtype = np.float64 if chunk.type == pa.float64() else np.float32
    values = np.frombuffer(data, dtype=dtype)[chunk.offset : chunk.offset + len(chunk)]
    return Numeric(values, (np.frombuffer(validity, dtype=np.uint8), chunk.offset))


def column(col: Any, name: str) -> Column:
    """Converts one pyarrow Array or ChunkedArray.

    Raises:
        DtypeError: a type mlmon cannot monitor (timestamps, nested types...).
    """
    typ = col.type
    if pa.types.is_dictionary(typ):
        return _dictionary(col)
    if pa.types.is_string_view(typ):
        return _string_views(col)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return _strings(col, np.int32 if pa.types.is_string(typ) else np.int64)
    if pa.types.is_boolean(typ):
        codes = pc.fill_null(col.cast(pa.int8()), -1)
        return Coded(_codes(_chunks(codes)), list(BOOL_CATEGORIES))
    if pa.types.is_decimal(typ) or pa.types.is_float16(typ) or typ == pa.uint64():
        col = col.cast(pa.float64())
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        if isinstance(col, pa.ChunkedArray) and col.num_chunks == 0:
            return numeric_array(np.empty(0, dtype=np.float64), name)
        if col.null_count and pa.types.is_floating(col.type) and len(_chunks(col)) == 1:
            return _nullable_floats(_chunks(col)[0])
        if col.null_count and pa.types.is_integer(col.type):
            col = col.cast(pa.float64())
        return numeric_array(col.to_numpy(zero_copy_only=False), name)
    if pa.types.is_null(typ):
        return numeric_array(np.full(len(col), np.nan), name)
    raise DtypeError(f"feature {name!r}: unsupported Arrow type {typ} (expected numbers, strings or bools)")
