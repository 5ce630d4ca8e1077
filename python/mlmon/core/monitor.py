"""Monitor: folds batches into exact counts aligned to a baseline, in tumbling windows, and reports drift.

``update`` hands a dict of numpy arrays, or the numpy and Arrow string columns of a pandas, polars or
pyarrow frame, to the engine in one ``Profile.update`` call; other inputs and columns go through the
input adapters column by column (one ``update_2d`` call for the numeric block of a 2-D array). A batch
with an absent baseline feature or wrongly-typed values is refused with an error naming the feature
(``mlmon.core._checks``) unless ``on_error="count"``, which counts it as schema drift (missing and invalid
values) and goes on, as the service and the batch paths do; unexpected extra columns are listed, never
refused. Windows tumble by rows or by time; ``snapshot`` / ``from_snapshot`` and ``merge`` move exact
counts between workers.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import msgspec

from mlmon.core import _arrays, _checks, _native, _one_call, _parallel
from mlmon.core._arrays import Arrays
from mlmon.core._evaluate import evaluate
from mlmon.core.baseline import Baseline
from mlmon.core.drift import DriftReport, Thresholds
from mlmon.core.exceptions import CodecError, DtypeError, SchemaMismatchError
from mlmon.core.frames import (
    Batch,
    as_categorical,
    count_categories,
    count_numeric,
    feature_errors,
    missing_count,
    numeric_array,
    speaks_arrow,
    to_batch,
)
from mlmon.core.quality import QualityThresholds
from mlmon.core.windows import StateWire, WindowState, parse_window, to_datetime

__all__ = ["Monitor", "report_from_profile"]

_SNAPSHOT_KIND = "mlmon-monitor"
_SNAPSHOT_FORMAT = 1


class _Snapshot(msgspec.Struct, kw_only=True):
    kind: str
    format: int
    baseline: str
    window: str
    window_size: float
    open: StateWire
    closed: list[StateWire]
    retired: StateWire | None


def _arrow_producer(data: Any) -> bool:
    """An Arrow PyCapsule producer the engine reads itself: not a dict or a pandas frame (read as
    numpy columns, which pandas' own Arrow export would copy)."""
    return type(data) is not dict and not type(data).__module__.startswith("pandas") and speaks_arrow(data)


class Monitor:
    """Exact streaming drift monitoring of one model against its baseline.

    Example:
        >>> import numpy as np, mlmon
        >>> rng = np.random.default_rng(0)
        >>> baseline = mlmon.Baseline.fit({"x": rng.normal(size=5000)})
        >>> monitor = mlmon.Monitor(baseline)
        >>> monitor.update({"x": rng.normal(1.0, 1.0, size=5000)})
        >>> monitor.report().features["x"].severity
        'critical'
    """

    def __init__(
        self,
        baseline: Baseline,
        thresholds: Thresholds | None = None,
        window: int | str | Any | None = None,
        *,
        quality: QualityThresholds | None = None,
        max_windows: int | None = None,
        on_error: _checks.OnError = "raise",
    ) -> None:
        """Starts monitoring.

        Args:
            baseline: The reference distributions.
            thresholds: The drift policy (default ``Thresholds()``: warning 0.2, critical 0.5).
            window: ``None`` (one window), rows per window (``10_000``) or a duration (``"1h"``,
                ``timedelta``). Windows tumble; time windows align to multiples of the duration since the
                Unix epoch.
            quality: Data-quality levels (default ``QualityThresholds()``).
            max_windows: Closed windows kept for :meth:`windows`; older ones are folded into the
                cumulative counts only (``None``: keep all).
            on_error: What :meth:`update` does with a batch that does not match the baseline:
                ``"raise"`` (default) refuses it with an error naming the feature; ``"count"`` counts
                absent columns as missing and wrongly-typed values as invalid (``missing_rate``,
                ``invalid_rate``, ``missing_columns``) and goes on.

        Raises:
            InputError: an unreadable window spec or ``on_error``.
        """
        self.on_error = _checks.check_on_error(on_error)
        self.baseline = baseline
        self.thresholds = thresholds or Thresholds()
        self.quality = quality or QualityThresholds()
        self._window_kind, self._window_size = parse_window(window)
        self._max_windows = max_windows
        self._open = WindowState(baseline)
        self._closed: list[WindowState] = []
        self._retired: WindowState | None = None
        self._last_key: int | None = None

    @property
    def rows(self) -> int:
        """Rows counted since the monitor started (every window)."""
        return self._cumulative().rows

    def update(
        self,
        data: Any,
        timestamp: Any = None,
        *,
        feature_names: Sequence[str] | None = None,
        on_error: _checks.OnError | None = None,
    ) -> None:
        """Counts a batch.

        Args:
            data: pandas/polars DataFrame, pyarrow Table/RecordBatch, dict of 1-D arrays or lists, or a
                2-D numpy array (columns in baseline order unless ``feature_names`` is given).
            timestamp: When the batch happened (datetime, epoch seconds or datetime64); default now. It
                picks the time window; a batch older than the open window is counted in the open window.
            feature_names: Column names of a 2-D numpy array.
            on_error: This batch's policy instead of the monitor's (see :class:`Monitor`).

        Raises:
            DtypeError: an unsupported input type; with ``on_error="raise"``, values of the wrong type
                (strings in a numerical feature, fractions in a categorical one), each feature named.
            SchemaMismatchError: with ``on_error="raise"``, baseline features absent from the batch.
            InputError: a malformed batch (columns of different lengths, codes out of range).

        A refused batch counts nothing. An empty batch is accepted (the report says when a feature has
        no values).
        """
        when = datetime.now(timezone.utc) if timestamp is None else to_datetime(timestamp)
        strict = _checks.check_on_error(self.on_error if on_error is None else on_error) == "raise"
        if type(data) is dict:
            if self._count_at_once(data, when, strict):
                return
        elif _arrow_producer(data) and self._count_at_once(data, when, strict):
            return
        batch = self._to_batch(data, feature_names)
        if isinstance(batch, Arrays) and self._count_at_once(batch, when, strict):
            return
        if strict:
            batch = self._checked(batch, data, feature_names)
        if self._window_kind == "time":
            key = int(when.timestamp() // self._window_size)
            if key > self._open.key and self._open.rows:
                # Counted before the open window closes, so that a batch that raises changes nothing.
                fresh = WindowState(self.baseline, key, self._open.row_start + self._open.rows)
                self._count(fresh, batch, when)
                self._close(key, fresh)
                return
            if self._open.rows == 0:
                self._open.key = max(key, self._open.key)
            self._count(self._open, batch, when)
        elif self._window_kind == "rows":
            self._count_rows(batch, when)
        else:
            self._count(self._open, batch, when)

    def _to_batch(self, data: Any, feature_names: Sequence[str] | None) -> Batch | Arrays:
        wanted = self.baseline.features
        fast = _arrays.from_dict(data, wanted)
        library = type(data).__module__.split(".")[0]
        if fast is None and library == "pandas":
            fast = _arrays.from_pandas(data, wanted)
        if fast is None and (library in ("polars", "pyarrow") or speaks_arrow(data)):
            fast = _arrays.from_batch(to_batch(data, wanted=set(wanted)))
        return fast if fast is not None else self._general_batch(data, feature_names)

    def _count_at_once(self, batch: Arrays | dict[Any, Any] | Any, when: datetime, strict: bool) -> bool:
        """Counts ``batch`` (numpy columns, a user's dict of arrays, or an Arrow producer) by one engine
        call (:mod:`mlmon.core._one_call`) when it goes whole into one window; ``False``, with nothing
        changed, leaves it to the general path. A batch for a later time window is counted into that
        window before the open one closes."""
        state = self._open
        key = state.key
        if self._window_kind == "time":
            key = int(when.timestamp() // self._window_size)
            if key > state.key and state.rows:
                state = WindowState(self.baseline, key, state.row_start + state.rows)
        elif self._window_kind == "rows" and (
            not isinstance(batch, Arrays) or state.rows + batch.n_rows > self._window_size
        ):
            return False  # sliced across windows (an Arrow stream's length is known once read)
        fresh = state.rows == 0
        features = self.baseline.features
        if isinstance(batch, Arrays):
            skipped = _one_call.count(state, batch, strict, features)
            if skipped is None:
                return False
            self._count_skipped(state, batch, skipped)
        elif type(batch) is dict:
            if not _one_call.count_dict(state, batch, strict):
                return False
        elif not _one_call.count_arrow(state, batch, strict, features):
            return False
        if fresh and self._window_kind == "time":
            state.key = max(key, state.key)
        state.touch(when)
        if state is not self._open:
            self._close(key, state)
        if self._window_kind == "rows" and state.rows >= self._window_size:
            self._close(state.key + 1)
        return True

    def _general_batch(self, data: Any, feature_names: Sequence[str] | None) -> Batch:
        names = feature_names
        if names is None and hasattr(data, "ndim") and getattr(data, "ndim", 0) == 2:
            names = list(self.baseline.features)
        return to_batch(data, wanted=set(self.baseline.features), feature_names=names)

    def _checked(
        self, batch: Batch | Arrays, data: Any, feature_names: Sequence[str] | None
    ) -> Batch | Arrays:
        """The strict policy: a batch of columns the engine surely reads as their kinds goes on as it is;
        any other gets the full checks (``mlmon.core._checks``) on the general path, which name the feature
        and raise, or pass and leave the converted batch to count."""
        features = self.baseline.features
        if isinstance(batch, Arrays) and _arrays.surely_valid(batch, features):
            if batch.rest is not None:
                _checks.check_batch({n: f for n, f in features.items() if batch.rest.has(n)}, batch.rest)
            return batch
        general = batch if isinstance(batch, Batch) else self._general_batch(data, feature_names)
        _checks.check_batch(features, general)
        return general

    def _count_rows(self, batch: Batch | Arrays, when: datetime) -> None:
        size = int(self._window_size)
        if batch.n_rows == 0:
            self._count(self._open, batch, when)
            return
        done = 0
        while done < batch.n_rows:
            if self._open.rows >= size:
                self._close(self._open.key + 1)
            stop = min(batch.n_rows, done + size - self._open.rows)
            whole = done == 0 and stop == batch.n_rows
            self._count(self._open, batch if whole else batch.take(done, stop), when)
            done = stop
        # Close a full window now, so windows() lists it as soon as its last row arrives.
        if self._open.rows >= size:
            self._close(self._open.key + 1)

    def _close(self, next_key: int, fresh: WindowState | None = None) -> None:
        closed = self._open
        self._closed.append(closed)
        self._open = (
            fresh
            if fresh is not None
            else WindowState(self.baseline, next_key, closed.row_start + closed.rows)
        )
        if self._max_windows is not None and len(self._closed) > self._max_windows:
            oldest = self._closed.pop(0)
            if self._retired is None:
                self._retired = oldest
            else:
                self._retired.merge(oldest)

    def _count(self, state: WindowState, batch: Batch | Arrays, when: datetime) -> None:
        if isinstance(batch, Arrays):
            # The engine call counts all or nothing: book the batch only once it has counted.
            self._count_arrays(state, batch)
            self._book(state, batch, when)
            return
        self._book(state, batch, when)
        expected = self.baseline.features
        done = self._count_block(state, batch)
        tasks = []
        for name in expected:
            if name in done:
                continue
            if not batch.has(name):
                state.missing_columns.add(name)
                state.extra_missing[name] += batch.n_rows
                continue
            tasks.append(functools.partial(self._count_feature, state, batch, name))
        # Each task touches only its own feature's counters, so threads never share a counter.
        _parallel.run(tasks, batch.n_rows * len(tasks))

    def _book(self, state: WindowState, batch: Batch | Arrays, when: datetime) -> None:
        state.touch(when)
        state.rows += batch.n_rows
        expected = self.baseline.features
        state.unexpected.update(n for n in batch.names if n not in expected)

    def _count_arrays(self, state: WindowState, batch: Arrays) -> None:
        """One engine call for every numpy column; the columns it hands back take the general path."""
        if batch.rest is not None:
            # Convert first, so that a column no feature can read raises before anything is counted.
            for name in list(batch.rest.sources):
                batch.rest.column(name)
        invalid, skipped = state.counts.update(
            batch.arrays, batch.engine_strings(), blocks=batch.blocks or None
        )
        for name, values, missing in invalid:
            state.extra_missing[name] += missing
            state.invalid[name] += values - missing
        for name in self.baseline.features:
            if not batch.holds(name):
                state.missing_columns.add(name)
                state.extra_missing[name] += batch.n_rows
        self._count_skipped(state, batch, skipped)

    def _count_skipped(self, state: WindowState, batch: Arrays, skipped: list[str]) -> None:
        """The columns the engine call left (and ``batch.rest``), on the per-feature path."""
        if not skipped and batch.rest is None:
            return
        rest = batch.rest or Batch(batch.names, batch.n_rows)
        for name in skipped:
            values = batch.array(name)
            if values is not None:
                rest.columns[name] = numeric_array(values, name)
        tasks = [
            functools.partial(self._count_feature, state, rest, name)
            for name in self.baseline.features
            if rest.has(name)
        ]
        if tasks:
            _parallel.run(tasks, batch.n_rows * len(tasks))

    def _count_feature(self, state: WindowState, batch: Batch, name: str) -> None:
        # Every batch given to _count is counted once (row windows count slices made by take()).
        col = batch.consume(name)
        prof = state.profiles[name]
        if isinstance(prof, _native.NumericHistogram):
            with feature_errors(name):
                counted = count_numeric(prof, col)
            if not counted:
                self._invalid(state, name, col)
            return
        try:
            cat = as_categorical(col, name)
        except DtypeError:
            self._invalid(state, name, col)
            return
        self._count_categories(state, name, prof, cat)

    @staticmethod
    def _invalid(state: WindowState, name: str, col: Any) -> None:
        missing = missing_count(col)
        state.extra_missing[name] += missing
        state.invalid[name] += len(col) - missing

    def _count_categories(
        self, state: WindowState, name: str, prof: _native.CategoryCounts, cat: Any
    ) -> None:
        try:
            with feature_errors(name):
                count_categories(prof, cat)
        except DtypeError:
            # Values no category can be (floats in an object column): schema drift, not a crash.
            self._invalid(state, name, cat)

    def _count_block(self, state: WindowState, batch: Batch) -> set[str]:
        """One ``update_2d`` call for a 2-D numeric array whose columns are all numerical features."""
        if batch.block is None:
            return set()
        names, block = batch.block
        hists = [state.profiles.get(n) for n in names]
        if len(set(names)) != len(names) or not all(isinstance(h, _native.NumericHistogram) for h in hists):
            return set()
        _native.update_2d(hists, block)  # type: ignore[arg-type]
        return set(names)

    def _window_seconds(self) -> float | None:
        return self._window_size if self._window_kind == "time" else None

    def report(self, *, cumulative: bool = False) -> DriftReport:
        """The drift report of the open window (everything so far when there are no windows).

        Args:
            cumulative: Report every row since the monitor started instead (all windows merged).

        Returns:
            The report.
        """
        if cumulative:
            return evaluate(self.baseline, self._cumulative(), self.thresholds, self.quality)
        return evaluate(self.baseline, self._open, self.thresholds, self.quality, self._window_seconds())

    def windows(self) -> list[DriftReport]:
        """Reports of the closed windows, oldest first (at most ``max_windows``)."""
        secs = self._window_seconds()
        return [evaluate(self.baseline, w, self.thresholds, self.quality, secs) for w in self._closed]

    def _cumulative(self) -> WindowState:
        total = WindowState(self.baseline)
        total.row_start = (
            self._retired.row_start
            if self._retired
            else (self._closed[0].row_start if self._closed else self._open.row_start)
        )
        for state in [*([self._retired] if self._retired else []), *self._closed, self._open]:
            total.merge(state)
        return total

    def merge(self, other: Monitor) -> None:
        """Adds another monitor's counts (another worker on the same baseline and window spec).

        Windows with the same number are merged (time windows: the same interval; row windows: the same
        index); the latest becomes the open window.

        Raises:
            SchemaMismatchError: another baseline or window spec.
        """
        if other.baseline.fingerprint != self.baseline.fingerprint:
            raise SchemaMismatchError("cannot merge monitors of different baselines")
        if (other._window_kind, other._window_size) != (self._window_kind, self._window_size):
            raise SchemaMismatchError("cannot merge monitors with different window specs")
        states = {w.key: w for w in [*self._closed, self._open]}
        for w in [*other._closed, other._open]:
            if w.key in states:
                states[w.key].merge(w)
            else:
                copy = WindowState(self.baseline, w.key, w.row_start)
                copy.merge(w)
                states[w.key] = copy
        ordered = [states[k] for k in sorted(states)]
        self._closed, self._open = ordered[:-1], ordered[-1]
        if other._retired is not None:
            if self._retired is None:
                self._retired = WindowState(self.baseline)
            self._retired.merge(other._retired)

    def snapshot(self) -> bytes:
        """Every count of this monitor as bytes, for :meth:`from_snapshot` in another process."""
        snap = _Snapshot(
            kind=_SNAPSHOT_KIND,
            format=_SNAPSHOT_FORMAT,
            baseline=self.baseline.fingerprint,
            window=self._window_kind,
            window_size=self._window_size,
            open=self._open.to_wire(),
            closed=[w.to_wire() for w in self._closed],
            retired=None if self._retired is None else self._retired.to_wire(),
        )
        return msgspec.msgpack.encode(snap)

    @classmethod
    def from_snapshot(
        cls,
        baseline: Baseline,
        data: bytes,
        thresholds: Thresholds | None = None,
        *,
        quality: QualityThresholds | None = None,
        max_windows: int | None = None,
        on_error: _checks.OnError = "raise",
    ) -> Monitor:
        """Restores a monitor from :meth:`snapshot` bytes (``on_error`` as in :class:`Monitor`).

        Raises:
            CodecError: not a snapshot, or a newer snapshot format.
            SchemaMismatchError: the snapshot was taken on another baseline.
        """
        try:
            snap = msgspec.msgpack.decode(data, type=_Snapshot)
        except msgspec.DecodeError as exc:
            raise CodecError(f"not an mlmon monitor snapshot ({exc})") from exc
        if snap.kind != _SNAPSHOT_KIND or snap.format > _SNAPSHOT_FORMAT:
            raise CodecError(f"unsupported monitor snapshot (kind {snap.kind!r}, format {snap.format})")
        if snap.baseline != baseline.fingerprint:
            raise SchemaMismatchError("the snapshot was taken against another baseline")
        window: Any = (
            None
            if snap.window == "none"
            else (int(snap.window_size) if snap.window == "rows" else f"{snap.window_size}s")
        )
        monitor = cls(
            baseline, thresholds, window, quality=quality, max_windows=max_windows, on_error=on_error
        )
        monitor._open = WindowState.from_wire(baseline, snap.open)
        monitor._closed = [WindowState.from_wire(baseline, w) for w in snap.closed]
        if snap.retired is not None:
            monitor._retired = WindowState.from_wire(baseline, snap.retired)
        return monitor

    def __repr__(self) -> str:
        return f"Monitor(baseline={self.baseline!r}, rows={self.rows}, closed_windows={len(self._closed)})"


def report_from_profile(
    baseline: Baseline,
    profile: bytes | None,
    rows: int,
    start: datetime,
    end: datetime,
    thresholds: Thresholds,
    quality: QualityThresholds | None = None,
) -> DriftReport:
    """The drift report of counts kept outside a :class:`Monitor`: one encoded profile over a window.

    The drift service reads this way: its store merges every worker's partial counts of ``[start, end)``
    exactly into one profile (the engine codec's bytes), reported here as a monitor reports its window.

    Args:
        baseline: The baseline the counts are aligned to.
        profile: The encoded counts (``None``: no row was counted; every feature has insufficient data).
        rows: The rows the counts hold.
        start: The window's start.
        end: The window's end.
        thresholds: The drift thresholds.
        quality: The data-quality thresholds (default ``QualityThresholds()``).

    Returns:
        The report, with ``window_start``/``window_end`` set to ``start``/``end``.

    Raises:
        CodecError: ``profile`` is not an encoded profile.
        SchemaMismatchError: it counts a feature the baseline lacks.
    """
    state = WindowState(baseline)
    if profile is not None:
        wire = StateWire(
            key=0,
            profile=profile,
            invalid={},
            extra_missing={},
            rows=rows,
            row_start=0,
            start=start,
            end=end,
            unexpected=[],
            missing_columns=[],
        )
        state = WindowState.from_wire(baseline, wire)
    state.start, state.end = start, end
    return evaluate(baseline, state, thresholds, quality or QualityThresholds())
