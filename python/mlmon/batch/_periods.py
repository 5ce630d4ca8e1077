"""Periods: timestamps to period numbers, and record batches split by period without a row loop.

A period is ``floor(epoch seconds / size)``, the same numbering as a monitor's time windows, so a
period's report has the bounds a streaming monitor with ``window=by`` gives it. Rows are grouped with
one stable argsort of the batch's period numbers and one ``take``; a batch within one period (sorted
data: nearly always) is passed through untouched.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mlmon.core.windows import parse_window
from mlmon.exceptions import DtypeError, InputError

__all__ = ["period_seconds", "split_by_period"]

_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def period_seconds(by: Any) -> float:
    """The period length in seconds of a duration spec (``"1d"``, ``"6h"``, ``timedelta``).

    Raises:
        InputError: not a duration (row counts and ``None`` make no periods).
    """
    try:
        kind, size = parse_window(by)
    except InputError:
        kind, size = "invalid", 0.0
    if kind != "time":
        raise InputError(f"by must be a duration like '1d' or '1h', got {by!r}")
    return size


def _as_timestamps(col: Any, name: str) -> Any:
    """The column as an Arrow timestamp (any unit), parsing strings and reading numbers as epoch seconds."""
    typ = col.type
    if pa.types.is_timestamp(typ):
        return col
    if pa.types.is_date(typ):
        return pc.cast(col, pa.timestamp("s"))
    if pa.types.is_integer(typ):
        return pc.cast(col, pa.int64()).cast(pa.timestamp("s"))
    if pa.types.is_floating(typ):
        # Fractional epoch seconds to microseconds; NaN is a missing timestamp.
        seconds = pc.cast(col, pa.float64())
        seconds = pc.if_else(pc.is_nan(seconds), pa.scalar(None, pa.float64()), seconds)
        return pc.cast(pc.floor(pc.multiply(seconds, 1e6)), pa.int64()).cast(pa.timestamp("us"))
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        try:
            return pc.cast(col, pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(
                f"timestamp column {name!r}: cannot parse the strings as timestamps ({exc})"
            ) from exc
    raise DtypeError(
        f"timestamp column {name!r}: unsupported type {typ} (expected timestamps, dates, ISO strings or "
        "epoch seconds)"
    )


def period_keys(
    col: Any, seconds: float, name: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_] | None]:
    """Period numbers of a timestamp column, and the mask of rows that have a timestamp (``None``: all).

    Raises:
        InputError, DtypeError: an unreadable timestamp column.
    """
    ts = _as_timestamps(col, name)
    per = _PER_SECOND[ts.type.unit]
    valid = None
    if ts.null_count:
        valid = np.asarray(pc.is_valid(ts).to_numpy(zero_copy_only=False), dtype=bool)
        ts = pc.fill_null(ts.cast(pa.int64()), 0)
    raw = np.asarray(ts.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    size = seconds * per
    if float(size).is_integer():
        keys = np.floor_divide(raw, np.int64(size))
    else:
        keys = np.floor(raw / size).astype(np.int64)
    return keys, valid


def split_by_period(
    rb: Any, keys: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_] | None
) -> Iterator[tuple[int, Any]]:
    """``(period, rows)`` for each period present in ``rb``; rows without a timestamp are left out."""
    if valid is not None:
        idx = np.flatnonzero(valid)
        rb, keys = rb.take(pa.array(idx)), keys[idx]
    if not len(keys):
        return
    first = int(keys[0])
    if int(keys.min()) == first == int(keys.max()):
        yield first, rb
        return
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    rows = rb.take(pa.array(order))
    cuts = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), len(ordered)]
    for start, stop in itertools.pairwise(cuts):
        yield int(ordered[start]), rows.slice(start, stop - start)
