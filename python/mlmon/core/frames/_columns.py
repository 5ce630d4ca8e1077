"""The column and batch types every input adapter produces, and the classification of a numpy array.

The adapters (``arrow``, ``pandas``, ``polars`` beside this file) import these types; the dispatch in
:mod:`mlmon.core.frames` imports the adapters. Keeping the types here, below both, is what lets the
dependencies point one way. No optional library is imported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from mlmon.core.exceptions import DtypeError, InputError

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
    "numeric_array",
]

BOOL_CATEGORIES = ("False", "True")
"""Booleans become codes 0/1 into these labels, the same labels the engine gives a bool array."""

# dtypes the engine bins directly; anything else numeric is converted to float64 first.
_ENGINE_NUMERIC = frozenset(
    ["float64", "float32", "int64", "int32", "int16", "int8", "uint32", "uint16", "uint8"]
)


@dataclass(frozen=True, slots=True)
class Numeric:
    """A numeric 1-D array in a dtype the engine bins (NaN is missing).

    ``validity`` is an Arrow-style bitmap and the bit of element 0, for float columns whose nulls live
    in a bitmap (polars, Arrow): the engine reads values and bitmap as they are, and the slots of
    nulls hold arbitrary values that only :meth:`filled` replaces with NaN.
    """

    values: npt.NDArray[Any]
    validity: tuple[npt.NDArray[np.uint8], int] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def take(self, start: int, stop: int) -> Numeric:
        valid = None if self.validity is None else (self.validity[0], self.validity[1] + start)
        return Numeric(self.values[start:stop], valid)

    def filled(self) -> npt.NDArray[Any]:
        """The values with NaN at nulls (a copy when there is a bitmap)."""
        if self.validity is None:
            return self.values
        bits, offset = self.validity
        present = np.unpackbits(bits, bitorder="little", count=offset + len(self.values))[offset:]
        return np.where(present.astype(bool), self.values, np.nan)


@dataclass(frozen=True, slots=True)
class Coded:
    """Dictionary codes (negative means missing) into ``categories``."""

    codes: npt.NDArray[np.integer[Any]]
    categories: npt.NDArray[Any] | list[Any]

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, start: int, stop: int) -> Coded:
        return Coded(self.codes[start:stop], self.categories)


@dataclass(frozen=True, slots=True)
class Values:
    """Raw category values: an object array of str/int/None, a numpy ``U`` array or integers."""

    values: npt.NDArray[Any]

    def __len__(self) -> int:
        return len(self.values)

    def take(self, start: int, stop: int) -> Values:
        return Values(self.values[start:stop])


ArrowChunk: TypeAlias = tuple[
    npt.NDArray[Any], npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]], npt.NDArray[np.uint8] | None, int
]
"""One Arrow string array as numpy views of its buffers: either offsets (``n + 1``, sliced to the
array) and the data bytes (``string``, ``large_string``), or the 16-byte views (``n * 16`` bytes,
sliced) and the list of data buffers (``string_view``); then the validity bitmap or ``None``, and the
bit of the first element in that bitmap."""


def _chunk_len(chunk: ArrowChunk) -> int:
    first, data, _, _ = chunk
    return len(first) // 16 if isinstance(data, list) else len(first) - 1


@dataclass(frozen=True, slots=True)
class Strings:
    """Arrow string arrays, kept as their buffers so the engine counts them without building Python
    strings or dictionary-encoding them."""

    chunks: list[ArrowChunk]

    def __len__(self) -> int:
        return sum(_chunk_len(c) for c in self.chunks)

    def take(self, start: int, stop: int) -> Strings:
        out: list[ArrowChunk] = []
        pos = 0
        for chunk in self.chunks:
            first, data, validity, bit = chunk
            n = _chunk_len(chunk)
            lo, hi = max(start - pos, 0), min(stop - pos, n)
            if lo < hi:
                # Offsets and views index the data buffers, so slicing them is enough; the bitmap keeps
                # its buffer and moves its starting bit.
                head = first[lo * 16 : hi * 16] if isinstance(data, list) else first[lo : hi + 1]
                out.append((head, data, validity, bit + lo))
            pos += n
        return Strings(out)

    def missing(self) -> int:
        """Nulls, from the validity bitmaps."""
        total = 0
        for chunk in self.chunks:
            _, _, validity, bit = chunk
            if validity is not None:
                n = _chunk_len(chunk)
                bits = np.unpackbits(validity, bitorder="little")[bit : bit + n]
                total += n - int(np.count_nonzero(bits))
        return total


Column: TypeAlias = Numeric | Coded | Values | Strings
Categories: TypeAlias = Coded | Values | Strings


@dataclass(slots=True)
class Batch:
    """The columns of one input batch, converted for the engine on first access.

    Attributes:
        names: Every column name in the input, in input order (converted or not).
        n_rows: Row count.
        columns: The columns converted so far.
        sources: Conversions not run yet (dataframe columns convert lazily, so that callers can run
            them on threads).
        block: For a 2-D numpy input, its names and the array itself, for ``update_2d``.
    """

    names: list[str]
    n_rows: int
    columns: dict[str, Column] = field(default_factory=dict)
    sources: dict[str, Callable[[], Column]] = field(default_factory=dict)
    block: tuple[list[str], npt.NDArray[Any]] | None = None

    def has(self, name: str) -> bool:
        """Whether ``name`` was asked for and is in the batch."""
        return name in self.columns or name in self.sources

    def column(self, name: str) -> Column:
        """The converted column (converting it now if needed)."""
        col = self.columns.get(name)
        if col is None:
            col = self.sources.pop(name)()
            self.columns[name] = col
        return col

    def consume(self, name: str) -> Column:
        """The column converted now and not kept: for a caller that reads each column once, so that a
        converted copy (a polars column with nulls, say) is freed as soon as it is counted instead of
        living until every other column is done."""
        col = self.columns.pop(name, None)
        return col if col is not None else self.sources.pop(name)()

    def take(self, start: int, stop: int) -> Batch:
        """Rows ``[start, stop)`` as views of the same buffers."""
        for name in list(self.sources):
            self.column(name)
        block = None if self.block is None else (self.block[0], self.block[1][start:stop])
        cols = {name: col.take(start, stop) for name, col in self.columns.items()}
        return Batch(self.names, max(0, min(stop, self.n_rows) - start), cols, {}, block)


def numeric_array(values: npt.NDArray[Any], name: str) -> Column:
    """Classifies a 1-D numpy array: numbers become :class:`Numeric`, bools codes, the rest values."""
    if values.ndim != 1:
        raise InputError(f"feature {name!r}: expected a 1-D column, got shape {values.shape}")
    kind = values.dtype.kind
    if kind == "b":
        return Coded(values.view(np.int8), list(BOOL_CATEGORIES))
    if kind in "iuf":
        if values.dtype.name not in _ENGINE_NUMERIC:
            values = values.astype(np.float64)
        return Numeric(values)
    if kind in "OUS":
        return Values(values.astype(str) if kind == "S" else values)
    raise DtypeError(
        f"feature {name!r}: unsupported dtype {values.dtype} (expected numbers, strings or bools)"
    )
