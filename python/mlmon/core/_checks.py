"""Strict checks of a batch against its baseline, run by ``Monitor.update`` before it counts anything.

A batch the counting would read as schema drift (a baseline feature absent, values of the wrong type) is
refused with an error that names the feature and what was found, so a mistake in a notebook
or a job is an exception rather than a quiet ``invalid_rate=1.0``. The checks read each column once and
leave it converted in the batch for the counting to consume; nothing is counted, so a refused batch
leaves the monitor unchanged. An empty batch passes (a stream split at any point may give one); the report
then says no values were counted. ``on_error="count"`` skips the checks (the service-style path that records
schema drift and goes on).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import numpy as np

from mlmon.core import _native, _parallel
from mlmon.core.exceptions import DtypeError, InputError, SchemaMismatchError
from mlmon.core.frames import (
    BOOL_CATEGORIES,
    Batch,
    Coded,
    Column,
    Numeric,
    Strings,
    Values,
    as_numeric,
)
from mlmon.core.schema import FeatureSpec

__all__ = ["ON_ERROR", "OnError", "check_batch", "check_on_error"]

OnError = Literal["raise", "count"]
ON_ERROR: tuple[str, ...] = ("raise", "count")
_HINT = 'pass on_error="count" to count such batches as schema drift instead'
_SAMPLES = 2


def check_on_error(value: object) -> OnError:
    """``value`` as an ``on_error`` policy.

    Raises:
        InputError: anything but ``"raise"`` or ``"count"``.
    """
    if value not in ON_ERROR:
        raise InputError(f'on_error must be "raise" or "count", got {value!r}')
    return value  # type: ignore[return-value]


def check_batch(features: dict[str, FeatureSpec], batch: Batch) -> None:
    """Refuses a batch the baseline cannot count as it is.

    Args:
        features: The baseline's features.
        batch: The converted batch (its columns stay converted for the counting).

    Raises:
        SchemaMismatchError: baseline features absent from the batch (all of them named).
        DtypeError: features whose values are not of their kind (each named, with examples).
    """
    absent = [name for name in features if not batch.has(name)]
    if absent:
        present = ", ".join(map(repr, batch.names[:8])) or "none"
        raise SchemaMismatchError(
            f"missing columns: {', '.join(map(repr, absent))} (the batch has {present}); {_HINT}"
        )
    tasks = [functools.partial(_problem, spec, batch) for spec in features.values()]
    problems = [p for p in _parallel.run(tasks, batch.n_rows * len(tasks)) if p]
    if problems:
        raise DtypeError(f"{'; '.join(problems)}; {_HINT}")


def _problem(spec: FeatureSpec, batch: Batch) -> str | None:
    col = batch.column(spec.name)
    if spec.kind == "numerical" and isinstance(col, Values):
        numbers = as_numeric(col)
        if numbers is not None:
            # Object numbers: keep the floats, so the counting does not convert them a second time.
            batch.columns[spec.name] = Numeric(numbers)
            return None
    found = _numeric_problem(col) if spec.kind == "numerical" else _category_problem(col)
    if found is None:
        return None
    expected = "numbers" if spec.kind == "numerical" else f"categories ({spec.dtype})"
    return f"feature {spec.name!r}: expected {expected}, found {found}"


def _numeric_problem(col: Column) -> str | None:
    """What a numerical feature's column holds instead of numbers (``None``: it is numbers)."""
    if isinstance(col, Numeric):
        return None
    if isinstance(col, Coded):
        if list(col.categories) == list(BOOL_CATEGORIES):
            return "booleans"
        return f"categories ({_examples([str(c) for c in col.categories])})"
    if isinstance(col, Strings):
        return f"strings ({_examples(_arrow_strings(col))})"
    bad = _first(col.values, _is_number)
    return f"{_type_word(bad[0])} ({_examples(bad)})" if bad else "values that are not numbers"


def _category_problem(col: Column) -> str | None:
    """What a categorical feature's column holds that no category can be (``None``: all fine)."""
    if isinstance(col, (Coded, Strings)):
        return None
    values = col.filled() if isinstance(col, Numeric) else col.values
    if values.dtype.kind in "iuU":
        return None
    if values.dtype.kind == "f":
        finite = values[~np.isnan(values)]
        frac = finite[~np.isfinite(finite) | (finite != np.round(finite))]
        return None if frac.size == 0 else f"fractional numbers ({_examples(frac.tolist())})"
    if not values.size:
        return None
    try:
        # The engine reads the types at its own speed; only a failing column pays the Python scan.
        _native.CategoryCounts.fit(values, max_categories=1, top_k=1)
    except DtypeError as exc:
        bad = _first(values, _is_category)
        if bad:
            return f"{_type_word(bad[0])} ({_examples(bad)})"
        # Values of the right type that still cannot be categories (a str with a lone surrogate): the
        # engine's reason, without its placeholder for the column.
        return str(exc).removeprefix("values: ").removeprefix("reference: ")
    return None


def _first(values: Any, ok: Any, limit: int = 50) -> list[Any]:
    """The first ``limit`` values failing ``ok`` (a Python loop: object arrays only, on the error path)."""
    bad: list[Any] = []
    for v in values:
        if not ok(v):
            bad.append(v)
            if len(bad) >= limit:
                break
    return bad


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)))


def _is_category(v: Any) -> bool:
    # What the engine's CategoryCounts accepts: str, int (bools included), None, and NaN as missing.
    if v is None or isinstance(v, (str, int, np.integer)):
        return True
    return isinstance(v, float) and v != v


def _type_word(v: Any) -> str:
    if isinstance(v, str):
        return "strings"
    if isinstance(v, float):
        return "fractional numbers"
    if isinstance(v, (bool, np.bool_)):
        return "booleans"
    return f"{type(v).__name__} values"


def _examples(values: list[Any]) -> str:
    distinct = list(dict.fromkeys(repr(v) for v in values if v != ""))
    return ", ".join(distinct[:_SAMPLES]) + (", ..." if len(distinct) > _SAMPLES else "")


def _arrow_strings(col: Strings, limit: int = 8) -> list[str]:
    """The first few strings of Arrow buffers (offsets or 16-byte views), for the message only."""
    out: list[str] = []
    for first, data, _, _ in col.chunks:
        if isinstance(data, list):
            views = first.view(np.uint8).reshape(-1, 16)[:limit]
            for view in views:
                length = int(view[:4].view(np.int32)[0])
                if length <= 12:
                    raw = bytes(view[4 : 4 + length])
                else:
                    buf, start = int(view[8:12].view(np.int32)[0]), int(view[12:16].view(np.int32)[0])
                    raw = bytes(data[buf][start : start + length])
                out.append(raw.decode("utf-8", "replace"))
        else:
            for a, b in zip(first[:limit].tolist(), first[1 : limit + 1].tolist(), strict=False):
                out.append(bytes(data[a:b]).decode("utf-8", "replace"))
        if len(out) >= limit:
            break
    return out[:limit]
