"""Window partials on the shared SQL core: group-committed writes, exactly-once ingest keyed by batch id,
and exact merges of a time range with the engine.

Merging happens after the read transaction ends, so readers never hold a snapshot open while the engine
decodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

import numpy as np

from mlmon.core._native import Profile
from mlmon.exceptions import InputError
from mlmon.store._labels import LabelOps, marks, validate_request_id
from mlmon.store._sequences import SequenceOps
from mlmon.store._sql import Tx, chunks
from mlmon.store.base import (
    IngestBatch,
    IngestResult,
    LabelCounter,
    MergedProfile,
    PartialWindow,
    Prediction,
    WindowPartial,
)
from mlmon.store.names import validate_count, validate_name, validate_window

__all__ = ["WindowOps", "merge_profiles"]

# Batch ids per INSERT/SELECT of the exactly-once check: 4 parameters each, well under SQLite's 32,766.
_IDS_PER_STATEMENT = 500

_PARTIAL_COLUMNS = (
    "model_version_id",
    "window_start",
    "window_end",
    "writer_id",
    "profile",
    "row_count",
    "created_at",
)


def merge_profiles(blobs: Iterable[bytes]) -> bytes:
    """Merges encoded profiles exactly, in the engine: counts of a feature add; features keep first-seen
    order. The store never decodes a profile itself.

    Args:
        blobs: Profiles encoded with ``encode_profile``.

    Returns:
        The encoded merge (the input itself when there is a single profile).

    Raises:
        CodecError: a blob is not a valid profile.
        SchemaMismatchError: a feature has different edges or categories, or kinds, across blobs.
    """
    blobs = list(blobs)
    if len(blobs) == 1:
        return blobs[0]
    return Profile.merge_all(blobs) if blobs else Profile([]).to_bytes()


def _check_batch(b: IngestBatch) -> None:
    validate_name(b.digest, "digest")
    if b.producer_id is None and b.sequence is None:
        validate_name(b.batch_id, "batch_id")  # stored: the producer path only reports it
    else:
        validate_name(b.producer_id, "producer_id")
        if validate_count(b.sequence, "sequence") >= 1 << 62:
            raise InputError(f"sequence must be below 2**62, got {b.sequence}")
    for p in b.partials:
        _check_partial(p.window_start, p.window_end, p.profile, p.rows)
        if p.estimate is not None and (not isinstance(p.estimate, bytes) or not p.estimate):
            raise InputError("estimate must be non-empty bytes")
    if b.predictions:
        if len(b.partials) != 1:
            raise InputError("a batch with predictions counts in exactly one window")
        _check_predictions(b.predictions)


def _check_predictions(preds: Sequence[Prediction]) -> None:
    """Every prediction's fields, checked in C-level passes (a call per row cost 2 us a row); the first
    bad one is named."""
    ids = [p.request_id for p in preds]
    values = [p.predicted for p in preds]
    scores = [p.scores for p in preds]
    if set(map(type, ids)) != {str} or not 0 < min(map(len, ids)) <= max(map(len, ids)) <= 128:
        validate_request_id(next(r for r in ids if type(r) is not str or not 0 < len(r) <= 128))
    if set(map(type, values)) != {float} or np.isnan(np.fromiter(values, np.float64, len(values))).any():
        bad = next(p for p in preds if type(p.predicted) is not float or p.predicted != p.predicted)
        raise InputError(f"prediction of request {bad.request_id!r}: predicted must be a float, not NaN")
    if not set(map(type, scores)) <= {bytes, type(None)} or any(s is not None and len(s) % 8 for s in scores):
        bad = next(
            p for p in preds if not isinstance(p.scores, (bytes, type(None))) or len(p.scores or b"") % 8
        )
        raise InputError(f"prediction of request {bad.request_id!r}: scores must be float64 bytes")


def _check_partial(window_start: object, window_end: object, profile: object, rows: object) -> None:
    validate_window(window_start, window_end)
    validate_count(rows, "rows")
    if not isinstance(profile, bytes) or not profile:
        raise InputError("profile must be non-empty bytes")


class WindowOps(SequenceOps, LabelOps):
    """Partials, ingest and merges."""

    def write_partials(self, partials: Sequence[WindowPartial]) -> None:
        """Writes partials in one transaction (group commit): all or none."""
        for p in partials:
            validate_name(p.model, "model")
            validate_name(p.version, "version")
            validate_name(p.writer_id, "writer_id")
            _check_partial(p.window_start, p.window_end, p.profile, p.rows)
        if not partials:
            return

        def run(tx: Tx) -> None:
            ids: dict[tuple[str, str], int] = {}
            now = tx.ts(datetime.now(timezone.utc))
            rows = []
            for p in partials:
                key = (p.model, p.version)
                if key not in ids:
                    ids[key] = self._version_id(tx, p.model, p.version)
                start, end = tx.ts(self._utc(p.window_start)), tx.ts(self._utc(p.window_end))
                rows.append((ids[key], start, end, p.writer_id, p.profile, p.rows, now))
            tx.insert_rows("window_partials", _PARTIAL_COLUMNS, rows)

        self._run(run, write=True)

    def ingest(
        self,
        model: str,
        version: str,
        writer_id: str,
        batches: Sequence[IngestBatch],
        counter: LabelCounter | None = None,
    ) -> IngestResult:
        """Admits batches (producer sequences, else batch ids) and writes the partials of the new ones in
        one transaction (exactly-once), with their label-free counts and kept predictions (joining the
        labels that waited for them, counted by ``counter``)."""
        validate_name(model, "model")
        validate_name(version, "version")
        validate_name(writer_id, "writer_id")
        for b in batches:
            _check_batch(b)

        def run(tx: Tx) -> IngestResult:
            version_id = self._version_id(tx, model, version)
            now = tx.ts(datetime.now(timezone.utc))
            keyed = [b for b in batches if b.producer_id is None]
            outcome = self._admit_batch_ids(tx, version_id, keyed, now)
            by_producer: dict[str, list[IngestBatch]] = {}
            for b in batches:
                if b.producer_id is not None:
                    by_producer.setdefault(b.producer_id, []).append(b)
            # _check_batch: every producer batch has a sequence.
            seqs = {p: [b.sequence or 0 for b in items] for p, items in by_producer.items()}
            admitted = self._admit_sequences(tx, version_id, seqs)
            for producer, items in by_producer.items():
                for b, verdict in zip(items, admitted[producer], strict=True):
                    outcome.setdefault(verdict, []).append(b)
            accepted = outcome.get("accepted", [])
            rows = [
                (version_id, tx.ts(start), tx.ts(end), writer_id, profile, count, now)
                for (start, end), (profile, count) in _group_by_window(accepted).items()
            ]
            if rows:
                tx.insert_rows("window_partials", _PARTIAL_COLUMNS, rows)
                self._add_estimates(tx, version_id, writer_id, accepted)
                self._keep_predictions(tx, version_id, accepted, counter, writer_id)
            ids = {key: [b.batch_id for b in items] for key, items in outcome.items()}
            return IngestResult(
                accepted=ids.get("accepted", []),
                duplicates=ids.get("duplicate", []),
                conflicts=ids.get("conflict", []),
                out_of_order=ids.get("ahead", []) + ids.get("behind", []),
            )

        return self._run(run, write=True)

    def _admit_batch_ids(
        self, tx: Tx, version_id: int, batches: Sequence[IngestBatch], now: object
    ) -> dict[str, list[IngestBatch]]:
        """Records the ids of batches without a producer: ``accepted``, ``duplicate`` or ``conflict``.

        Two statements per chunk of ids, not two per batch: a round trip per batch was most of a
        PostgreSQL group commit of keyless batches.
        """
        inserted: set[str] = set()
        for part in chunks(batches, _IDS_PER_STATEMENT):
            # The primary key decides: a concurrent transaction inserting the same id makes this one
            # wait for its outcome, so exactly one of them counts the batch. An id twice in one call is
            # inserted once (DO NOTHING skips the second) and the second compares digests below.
            inserted.update(self._record_ids(tx, version_id, part, now))
        outcome: dict[str, list[IngestBatch]] = {}
        rest: list[IngestBatch] = []
        for b in batches:
            if b.batch_id in inserted:
                inserted.discard(b.batch_id)  # a second copy in this call is not new
                outcome.setdefault("accepted", []).append(b)
            else:
                rest.append(b)
        stored: dict[str, str] = {}
        for ids in chunks(sorted({b.batch_id for b in rest}), _IDS_PER_STATEMENT):
            match, params = self._in("batch_id", ids)
            rows = tx.all(
                f"SELECT batch_id, digest FROM ingested_batches WHERE model_version_id = ? AND {match}",
                [version_id, *params],
            )
            stored.update((str(r[0]), str(r[1])) for r in rows)
        for b in rest:
            same = stored.get(b.batch_id) == b.digest
            outcome.setdefault("duplicate" if same else "conflict", []).append(b)
        return outcome

    def _record_ids(self, tx: Tx, version_id: int, part: Sequence[IngestBatch], now: object) -> list[str]:
        """Inserts batch ids not seen yet; returns those inserted. PostgreSQL takes the ids and digests
        as two arrays (one short statement that psycopg caches)."""
        head = "INSERT INTO ingested_batches (model_version_id, batch_id, digest, ingested_at)"
        tail = " ON CONFLICT (model_version_id, batch_id) DO NOTHING RETURNING batch_id"
        if self.dialect == "postgres":
            ids, digests = [b.batch_id for b in part], [b.digest for b in part]
            sql = f"{head} SELECT ?, b, d, ? FROM unnest(?::text[], ?::text[]) AS t(b, d){tail}"
            rows = tx.all(sql, [version_id, now, ids, digests])
        else:
            values = marks(len(part), 4)
            params = [x for b in part for x in (version_id, b.batch_id, b.digest, now)]
            rows = tx.all(f"{head} VALUES {values}{tail}", params)
        return [str(r[0]) for r in rows]

    def merged_profile(self, model: str, version: str, start: datetime, end: datetime) -> MergedProfile:
        """Exact merge of the partials lying within ``[start, end)``."""
        validate_name(model, "model")
        validate_name(version, "version")
        lo, hi = validate_window(start, end)

        def run(tx: Tx) -> list[tuple[bytes, int]]:
            version_id = self._version_id(tx, model, version)
            rows = tx.all(
                "SELECT profile, row_count FROM window_partials WHERE model_version_id = ?"
                " AND window_start >= ? AND window_end <= ? ORDER BY window_start, id",
                (version_id, tx.ts(lo), tx.ts(hi)),
            )
            return [(bytes(r[0]), int(r[1])) for r in rows]

        rows = self._run(run, write=False)
        if not rows:
            return MergedProfile(profile=None, rows=0, partials=0)
        profile = merge_profiles(r[0] for r in rows)
        return MergedProfile(profile=profile, rows=sum(r[1] for r in rows), partials=len(rows))


def _group_by_window(batches: Sequence[IngestBatch]) -> dict[tuple[datetime, datetime], tuple[bytes, int]]:
    """The partials of several batches merged per window: one row per window per group commit."""
    groups: dict[tuple[datetime, datetime], list[PartialWindow]] = {}
    for b in batches:
        for p in b.partials:
            key = (p.window_start.astimezone(timezone.utc), p.window_end.astimezone(timezone.utc))
            groups.setdefault(key, []).append(p)
    return {
        key: (merge_profiles(p.profile for p in parts), sum(p.rows for p in parts))
        for key, parts in groups.items()
    }
