"""Window specs and the counts of one window: what a monitor accumulates between two reports.

A :class:`WindowState` holds one engine profile per baseline feature (exact counts aligned to the
baseline) plus the counts the engine never sees: invalid values, missing values of absent or invalid
columns, and schema drift. Merging is addition, so windows and workers combine exactly. This module
parses window specs and moves counts around; it never computes statistics.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, TypeAlias

import msgspec
import numpy as np

from mlmon.core import _native
from mlmon.core.baseline import Baseline, Profile
from mlmon.core.exceptions import InputError, SchemaMismatchError

__all__ = ["WindowSpec", "WindowState", "parse_window", "to_datetime"]

WindowSpec: TypeAlias = "int | str | timedelta | None"

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")


def parse_window(window: int | str | timedelta | None) -> tuple[str, float]:
    """Normalizes a window spec into ``(kind, size)``.

    Args:
        window: ``None`` (one window forever), a row count (``10_000``), a duration string
            (``"30s"``, ``"15m"``, ``"1h"``, ``"1d"``, ``"1w"``) or a ``timedelta``.

    Returns:
        ``("none", 0)``, ``("rows", n)`` or ``("time", seconds)``.

    Raises:
        InputError: an unreadable or non-positive spec.
    """
    if window is None:
        return "none", 0.0
    if isinstance(window, bool):
        raise InputError(f"window must be a row count, a duration or None, got {window!r}")
    if isinstance(window, int | np.integer):
        if window < 1:
            raise InputError(f"a row window needs at least 1 row, got {window}")
        return "rows", float(window)
    if isinstance(window, timedelta):
        seconds = window.total_seconds()
    elif isinstance(window, str) and (m := _PATTERN.match(window)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise InputError(f"window must be a row count or a duration like '1h' or '15m', got {window!r}")
    if seconds <= 0:
        raise InputError(f"a time window must be positive, got {window!r}")
    return "time", seconds


def to_datetime(ts: Any) -> datetime:
    """A timestamp (datetime, epoch seconds, numpy datetime64) as an aware UTC datetime.

    Raises:
        InputError: not a timestamp.
    """
    if isinstance(ts, datetime):
        return ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)
    if isinstance(ts, np.datetime64):
        return datetime.fromtimestamp(ts.astype("datetime64[us]").astype(np.int64) / 1e6, timezone.utc)
    if isinstance(ts, int | float | np.integer | np.floating) and not isinstance(ts, bool):
        return datetime.fromtimestamp(float(ts), timezone.utc)
    raise InputError(
        f"timestamp must be a datetime, epoch seconds or numpy datetime64, got {type(ts).__name__}"
    )


class StateWire(msgspec.Struct, kw_only=True):
    """A window's counts on the wire (inside monitor snapshots)."""

    key: int
    profile: bytes
    invalid: dict[str, int]
    extra_missing: dict[str, int]
    rows: int
    row_start: int
    start: datetime | None
    end: datetime | None
    unexpected: list[str]
    missing_columns: list[str]


class WindowState:
    """Exact counts of one window, aligned to a baseline.

    Attributes:
        key: Window number (time windows: start epoch // size; row windows: index; else 0).
        profiles: Current counts per feature (engine objects aligned to the baseline).
        counts: An engine ``Profile`` over the same objects, for one-call batch updates.
        invalid: Values of the wrong type per feature, never binned.
        extra_missing: Missing values the engine did not see (absent columns, nulls of invalid columns).
        rows: Rows counted.
        row_start: Stream offset of the first row.
        start: Time of the first update (or the time window's start).
        end: Time of the last update (or the time window's end).
        unexpected: Columns not in the baseline.
        missing_columns: Baseline features absent from some batch.
    """

    def __init__(self, baseline: Baseline, key: int = 0, row_start: int = 0) -> None:
        """An empty window for ``baseline``."""
        self.key = key
        self.profiles: dict[str, Profile] = {name: _empty(p) for name, p in baseline.profiles.items()}
        # The same counts objects, updated by whole batches in one engine call.
        self.counts = _native.Profile(list(self.profiles.items()))
        self.invalid: dict[str, int] = dict.fromkeys(baseline.profiles, 0)
        self.extra_missing: dict[str, int] = dict.fromkeys(baseline.profiles, 0)
        self.rows = 0
        self.row_start = row_start
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.unexpected: set[str] = set()
        self.missing_columns: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        # The engine Profile is a view of `profiles`: rebuilt on unpickling, so that it stays one.
        state = self.__dict__.copy()
        del state["counts"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.counts = _native.Profile(list(self.profiles.items()))

    def touch(self, when: datetime) -> None:
        """Widens the window's time bounds to include ``when``."""
        # Compared, not min()/max(): this runs once per batch, and the builtins cost 6x more.
        if self.start is None or when < self.start:
            self.start = when
        if self.end is None or when > self.end:
            self.end = when

    def merge(self, other: WindowState) -> None:
        """Adds ``other``'s counts (exact; raises ``SchemaMismatchError`` on other baselines)."""
        if set(other.profiles) != set(self.profiles):
            raise SchemaMismatchError("cannot merge windows of different baselines")
        for name, prof in self.profiles.items():
            prof.merge(other.profiles[name])  # type: ignore[arg-type]
            self.invalid[name] += other.invalid[name]
            self.extra_missing[name] += other.extra_missing[name]
        self.rows += other.rows
        self.row_start = min(self.row_start, other.row_start)
        for when in (other.start, other.end):
            if when is not None:
                self.touch(when)
        self.unexpected |= other.unexpected
        self.missing_columns |= other.missing_columns

    def to_wire(self) -> StateWire:
        """The counts as a msgspec Struct (engine profile bytes inside)."""
        return StateWire(
            key=self.key,
            profile=_native.encode_profile(list(self.profiles.items())),
            invalid=self.invalid,
            extra_missing=self.extra_missing,
            rows=self.rows,
            row_start=self.row_start,
            start=self.start,
            end=self.end,
            unexpected=sorted(self.unexpected),
            missing_columns=sorted(self.missing_columns),
        )

    @classmethod
    def from_wire(cls, baseline: Baseline, wire: StateWire) -> WindowState:
        """Rebuilds a state; the profiles must align to ``baseline``.

        Raises:
            SchemaMismatchError: the counts belong to another baseline.
        """
        state = cls(baseline, wire.key, wire.row_start)
        for name, prof in _native.decode_profile(wire.profile):
            if name not in state.profiles:
                raise SchemaMismatchError(f"snapshot feature {name!r} is not in the baseline")
            state.profiles[name].merge(prof)  # type: ignore[arg-type]
        state.invalid.update(wire.invalid)
        state.extra_missing.update(wire.extra_missing)
        state.rows, state.start, state.end = wire.rows, wire.start, wire.end
        state.unexpected, state.missing_columns = set(wire.unexpected), set(wire.missing_columns)
        return state


def _empty(profile: Profile) -> Profile:
    if isinstance(profile, _native.NumericHistogram):
        return _native.NumericHistogram(profile.edges)
    return profile.empty_like()
