"""Per-period counts: record batches folded into one exact window state per period.

The same code runs on one machine and inside Spark partitions; partial folds move as bytes (a
msgpack list of window states, each embedding the engine's profile codec) and merge by adding counts,
so any split of the rows gives the same totals. Columns are counted by :class:`mlmon.Monitor`'s own
per-feature path (the engine, on threads, GIL released), never row by row in Python.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import msgspec

from mlmon.batch._periods import period_keys, split_by_period
from mlmon.core._evaluate import evaluate
from mlmon.core.baseline import Baseline
from mlmon.core.drift import DriftReport, Thresholds
from mlmon.core.frames import to_batch
from mlmon.core.monitor import Monitor
from mlmon.core.quality import QualityThresholds
from mlmon.core.windows import StateWire, WindowState
from mlmon.exceptions import CodecError, SchemaMismatchError

__all__ = ["PeriodFold"]

_KIND = "mlmon-period-fold"


class _Wire(msgspec.Struct, kw_only=True):
    kind: str
    baseline: str
    seconds: float
    skipped: int
    states: list[StateWire]


class PeriodFold:
    """Exact counts per period of one baseline's features.

    Attributes:
        baseline: The reference.
        seconds: Period length.
        states: Counts per period number.
        skipped: Rows without a timestamp (not counted in any period).
    """

    def __init__(self, baseline: Baseline, seconds: float) -> None:
        """An empty fold."""
        self.baseline = baseline
        self.seconds = seconds
        self.states: dict[int, WindowState] = {}
        self.skipped = 0
        # The monitor lends its per-feature counting (schema drift included); its own windows stay empty.
        self._counter = Monitor(baseline, on_error="count")

    def add(self, rb: Any, timestamp: str) -> int:
        """Counts a record batch holding ``timestamp`` and (some of) the baseline's features.

        Returns:
            Rows counted.
        """
        keys, valid = period_keys(rb.column(timestamp), self.seconds, timestamp)
        features = [n for n in rb.schema.names if n != timestamp]
        counted = 0
        for key, rows in split_by_period(rb, keys, valid):
            state = self.states.get(key)
            if state is None:
                state = self.states[key] = WindowState(self.baseline, key)
            when = datetime.fromtimestamp(key * self.seconds, timezone.utc)
            batch = to_batch(rows.select(features), wanted=set(self.baseline.features))
            self._counter._count(state, batch, when)
            counted += rows.num_rows
        self.skipped += rb.num_rows - counted
        return counted

    def merge(self, other: PeriodFold) -> None:
        """Adds another fold's counts (same baseline and period).

        Raises:
            SchemaMismatchError: another baseline or period length.
        """
        if other.baseline.fingerprint != self.baseline.fingerprint or other.seconds != self.seconds:
            raise SchemaMismatchError("cannot merge period counts of different baselines or periods")
        for key, state in other.states.items():
            mine = self.states.get(key)
            if mine is None:
                mine = self.states[key] = WindowState(self.baseline, key)
            mine.merge(state)
        self.skipped += other.skipped

    def to_bytes(self) -> bytes:
        """The counts as bytes (msgpack of window states with engine profiles inside)."""
        wire = _Wire(
            kind=_KIND,
            baseline=self.baseline.fingerprint,
            seconds=self.seconds,
            skipped=self.skipped,
            states=[self.states[k].to_wire() for k in sorted(self.states)],
        )
        return msgspec.msgpack.encode(wire)

    @classmethod
    def from_bytes(cls, baseline: Baseline, data: bytes) -> PeriodFold:
        """Reads :meth:`to_bytes` output.

        Raises:
            CodecError: not period counts.
            SchemaMismatchError: counted against another baseline.
        """
        try:
            wire = msgspec.msgpack.decode(data, type=_Wire)
        except msgspec.DecodeError as exc:
            raise CodecError(f"not mlmon period counts ({exc})") from exc
        if wire.kind != _KIND:
            raise CodecError(f"not mlmon period counts (kind {wire.kind!r})")
        if wire.baseline != baseline.fingerprint:
            raise SchemaMismatchError("the period counts were made against another baseline")
        fold = cls(baseline, wire.seconds)
        fold.skipped = wire.skipped
        fold.states = {w.key: WindowState.from_wire(baseline, w) for w in wire.states}
        return fold

    def reports(self, thresholds: Thresholds, quality: QualityThresholds) -> list[DriftReport]:
        """One report per period, oldest first."""
        return [
            evaluate(self.baseline, self.states[k], thresholds, quality, self.seconds)
            for k in sorted(self.states)
        ]
