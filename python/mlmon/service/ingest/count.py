"""Stage 2b of ingest: a batch's decoded columns become window counts, checked and folded without
per-row Python.

Values go to NumPy without copies where the wire allows (``np.frombuffer`` over msgpack bin) and into
fresh engine profiles, one per feature. Nothing here touches the store; the commit stage
(:mod:`mlmon.service.ingest.commit`) makes the result durable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.core import _native as _engine
from mlmon.core.windows import WindowState
from mlmon.exceptions import CodecError, DtypeError, InputError
from mlmon.service.errors import BadRequestError
from mlmon.service.ingest.decode import BaselineEntry
from mlmon.service.ingest.negotiate import Format
from mlmon.service.ingest.schemas import CodedColumn, IngestEnvelope, RawCodes, RawNumbers

__all__ = ["Folded", "decode_and_count", "fold", "fold_msgpack"]


@dataclass(frozen=True)
class Folded:
    """One batch's counts: the encoded profile of its rows and how many rows."""

    profile: bytes
    rows: int


def _numbers(col: list[float | None] | RawNumbers) -> npt.NDArray[Any]:
    # Messages without the column: fold() names it (once) around every column's count.
    if isinstance(col, RawNumbers):
        itemsize = np.dtype(col.dtype).itemsize
        if len(col.data) % itemsize:
            raise InputError(f"{len(col.data)} bytes is not a multiple of {itemsize} ({col.dtype})")
        return np.frombuffer(col.data, dtype=col.dtype)
    # numpy turns None into NaN (= missing) in C; no per-row Python.
    return np.array(col, dtype=np.float64)


def _codes(col: CodedColumn) -> npt.NDArray[Any]:
    if isinstance(col.codes, RawCodes):
        itemsize = np.dtype(col.codes.dtype).itemsize
        if len(col.codes.data) % itemsize:
            raise InputError(f"codes of {len(col.codes.data)} bytes are not {col.codes.dtype}")
        return np.frombuffer(col.codes.data, dtype=col.codes.dtype)
    try:
        return np.array(col.codes, dtype=np.int64)
    except OverflowError as exc:
        raise InputError("a code does not fit in 64 bits") from exc


def _length(name: str, col: Any) -> int:
    if isinstance(col, RawNumbers):
        return len(col.data) // np.dtype(col.dtype).itemsize
    if isinstance(col, CodedColumn):
        codes = col.codes
        return (
            len(codes.data) // np.dtype(codes.dtype).itemsize if isinstance(codes, RawCodes) else len(codes)
        )
    return len(col)


def _row_count(entry: BaselineEntry, columns: list[Any], max_rows: int) -> int:
    lengths = {
        name: _length(name, col) for name, col in zip(entry.names, columns, strict=True) if col is not None
    }
    if not lengths:
        raise InputError("columns: the batch has none of the model's features")
    rows = next(iter(lengths.values()))
    for name, n in lengths.items():
        if n != rows:
            raise InputError(f"column {name!r} has {n} rows, other columns have {rows}")
    if rows == 0:
        raise InputError("the batch has no rows")
    if rows > max_rows:
        raise InputError(f"the batch has {rows} rows, more than the limit of {max_rows}")
    return rows


def _check_categories(entry: BaselineEntry, columns: list[Any]) -> None:
    """Refuses a batch with more distinct labels in a categorical column than ``max_categories``,
    before any per-category state exists: a dictionary longer than the limit (coded columns; their
    codes, list or binary, index into it), or a plain list of more distinct values. Only a list longer
    than the limit is counted (a set of references, built in C and dropped at once)."""
    limit = entry.max_categories
    for name, col in zip(entry.names, columns, strict=True):
        if col is None or isinstance(col, RawNumbers) or entry.baseline.features[name].kind != "categorical":
            continue
        labels = col.categories if isinstance(col, CodedColumn) else col
        if len(labels) <= limit:
            continue
        distinct = len(labels) if isinstance(col, CodedColumn) else len(set(labels) - {None})
        if distinct > limit:
            what = "a dictionary of " if isinstance(col, CodedColumn) else ""
            raise InputError(
                f"column {name!r}: {what}{distinct:,} distinct categories, more than the limit of "
                f"{limit:,} per batch (MLMON_MAX_CATEGORIES)"
            )


def fold(entry: BaselineEntry, columns: list[Any], max_rows: int) -> Folded:
    """Counts a decoded batch into fresh profiles aligned to the baseline.

    An absent feature counts as ``rows`` missing values, so every feature's total equals the row count.
    ±inf land in the outer bins and count as out of range; NaN and null are missing.

    Raises:
        InputError: unequal column lengths, odd byte counts, codes out of range, too many rows, more
            distinct categories in a column than ``entry.max_categories`` (422, naming the column).
    """
    rows = _row_count(entry, columns, max_rows)
    _check_categories(entry, columns)
    profiles = WindowState(entry.baseline).profiles
    for name, col in zip(entry.names, columns, strict=True):
        prof = profiles[name]
        try:
            if isinstance(prof, _engine.NumericHistogram):
                prof.update(np.full(rows, np.nan) if col is None else _numbers(col))
            elif col is None:
                prof.update_codes(np.full(rows, -1, dtype=np.int32), [])
            elif isinstance(col, CodedColumn):
                prof.update_codes(_codes(col), entry.baseline.labels_in_domain(name, col.categories))
            else:
                prof.update(np.array(entry.baseline.labels_in_domain(name, col), dtype=object))
        except (InputError, DtypeError) as exc:
            raise InputError(f"column {name!r}: {exc}") from exc
    return Folded(_engine.encode_profile(list(profiles.items())), rows)


def decode_and_count(entry: BaselineEntry, envelope: IngestEnvelope, fmt: Format, max_rows: int) -> Folded:
    """The stage's entry: decodes the envelope's columns against ``entry`` and counts them.

    msgpack columns go to the engine's reader (``entry.reader``: read, checked and counted in Rust,
    no Python object per value). JSON ones too when its strict JSON reader accepts them (plain
    strings, exact numbers, canonical base64: what clients send), else through msgspec and
    :func:`fold`. Every path gives the same counts, limits and messages
    (tests/service/test_ingest_engine.py).

    Raises:
        BadRequestError: malformed columns (400).
        InputError: unknown column, wrong type, length or limit, named (422).
    """
    if fmt == "msgpack":
        return fold_msgpack(entry, envelope.columns)
    counted = entry.reader.fold_json(_view(envelope.columns))
    if counted is not None:
        return Folded(*counted)
    # Escapes, repeated keys, anything to refuse: msgspec decodes it and words any refusal.
    return fold(entry, entry.decode_columns(envelope.columns, fmt), max_rows)


def _view(raw: msgspec.Raw | bytes) -> npt.NDArray[np.uint8]:
    # The body's own memory as the engine reads it: bytes(raw) copied the whole columns map.
    return np.frombuffer(raw, dtype=np.uint8)


def fold_msgpack(entry: BaselineEntry, raw: msgspec.Raw | bytes) -> Folded:
    """The engine's count of a msgpack ``columns`` map (the rows limit is the reader's).

    Raises:
        BadRequestError: bytes that are not msgpack (400).
        InputError: a column the schema or the batch rules refuse, named with the problem (422).
    """
    try:
        profile, rows = entry.reader.fold_msgpack(_view(raw))
    except CodecError as exc:
        raise BadRequestError(f"malformed columns: {exc}") from exc
    return Folded(profile, rows)
