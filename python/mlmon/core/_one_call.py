"""A batch counted by one engine call, with nothing else between the user's call and the engine.

The general path of :meth:`mlmon.Monitor.update` converts the input to a :class:`~mlmon.core.frames.Batch`,
checks it (the strict policy) and then counts it. For the common inputs, a dict of 1-D numpy arrays or a
numpy-backed pandas frame whose columns the engine reads as they are, every one of those steps is done by
``Profile.update`` itself: with ``strict`` it refuses the whole batch, counting nothing, when any column
is of the wrong kind or one it cannot read. So this path asks the engine first and leaves the general
path only what the engine refused: the general path then names the feature and the problem (or finds
none, and counts what the engine would not). What must not change before the batch is known to be
counted (closing a time window, slicing into row windows) keeps this path out: see :func:`count`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from mlmon.core._arrays import Arrays
from mlmon.core.exceptions import DtypeError
from mlmon.core.windows import WindowState

__all__ = ["count", "count_arrow", "count_dict"]

Invalid = list[tuple[str, int, int]]
_R = TypeVar("_R")


def count(state: WindowState, batch: Arrays, strict: bool, features: Mapping[str, Any]) -> list[str] | None:
    """Counts a batch of numpy columns and Arrow string buffers into ``state`` in one engine call.

    Returns:
        ``None`` when the batch was left untouched for the general path: columns that need a pandas
        conversion, or under ``strict`` a feature absent from the batch or any column the engine
        refused (wrong kind, unreadable, a dtype no feature holds). Otherwise the names of the columns
        the engine left to the caller (never under ``strict``), everything else counted and booked.

    Raises:
        InputError, DtypeError: without ``strict``, what ``Profile.update`` raises (nothing counted).
    """
    if batch.rest is not None:
        return None
    names = set(batch.names)
    if strict and not features.keys() <= names:
        return None
    updated = _refused_as_none(
        strict, state.counts.update, batch.arrays, batch.engine_strings(), None, strict, batch.blocks or None
    )
    if updated is None:
        return None
    invalid, skipped = updated
    if strict and (invalid or skipped):
        return None
    _book_names(state, names, batch.n_rows, invalid, features)
    return skipped


def count_dict(state: WindowState, data: dict[Any, Any], strict: bool) -> bool:
    """Counts a user's dict of 1-D numpy arrays into ``state`` in one engine call
    (``Profile.update_dict``, which also makes the dict's checks and finds its unexpected and absent
    columns: in Python those were a third of a 20-column update).

    Returns:
        ``False`` when nothing was counted and the general path should read ``data``: another kind of
        dict, a column the engine leaves to that path, or under ``strict`` a missing feature or a
        refused column.

    Raises:
        InputError, DtypeError: without ``strict``, what ``Profile.update_dict`` raises.
    """
    result = _refused_as_none(strict, state.counts.update_dict, data, strict)
    if result is None:
        return False
    _book(state, *result)
    return True


def count_arrow(state: WindowState, data: Any, strict: bool, features: Mapping[str, Any]) -> bool:
    """Counts every record batch of an Arrow PyCapsule producer into ``state`` in one engine call
    (``Profile.update_arrow``: arrow-rs reads the producer's buffers in place).

    Returns:
        ``False`` when nothing was counted and the general path should read ``data``: a column type
        the engine leaves to it, or under ``strict`` a missing feature or a refused column.

    Raises:
        InputError, DtypeError: without ``strict``, what ``Profile.update_arrow`` raises.
    """
    result = _refused_as_none(strict, state.counts.update_arrow, data, None, strict)
    if result is None:
        return False
    rows, names, invalid = result
    if strict and invalid:
        return False
    _book_names(state, set(names), rows, invalid, features)
    return True


def _book_names(
    state: WindowState, names: set[str], n_rows: int, invalid: Invalid, features: Mapping[str, Any]
) -> None:
    """:func:`_book` for a batch of columns ``names``."""
    keys = features.keys()
    if keys == names:  # the usual batch: two set differences cost more than the rest of the booking
        _book(state, n_rows, invalid, (), ())
    else:
        _book(state, n_rows, invalid, names - keys, keys - names)


def _book(
    state: WindowState, n_rows: int, invalid: Invalid, unexpected: Collection[str], absent: Collection[str]
) -> None:
    """Books a counted batch: its rows, invalid values, unexpected and missing columns."""
    state.rows += n_rows
    if invalid:
        for name, values, missing in invalid:
            state.extra_missing[name] += missing
            state.invalid[name] += values - missing
    if unexpected:
        state.unexpected.update(unexpected)
    if absent:
        for name in absent:
            state.missing_columns.add(name)
            state.extra_missing[name] += n_rows


def _refused_as_none(strict: bool, update: Callable[..., _R], *args: Any) -> _R | None:
    """``update(*args)`` (positional: a keyword call into the engine cost a tenth of a numeric update's
    Python); under ``strict`` a column the engine refuses as a ``DtypeError`` is ``None`` instead
    (nothing was counted: the general path then names it)."""
    try:
        return update(*args)
    except DtypeError:
        if strict:
            return None
        raise
