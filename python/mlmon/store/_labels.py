"""Delayed labels on the shared SQL core: predictions kept by request id, labels joined to them exactly
once, and per-window performance counts merged on read.

Exactly-once rests on the request id, not on a batch id: a prediction row is labelled at most once
(``label IS NULL`` in the same transaction that counts it), and a label without its prediction waits in
``pending_labels`` under the same key, so a retried or duplicated label batch matches nothing new. The
race between a label that finds no prediction and the ingest that is writing it is closed by the model
row lock: a label join takes it exclusively, an ingest with predictions shares it (PostgreSQL; SQLite's
write lock already serializes both).

Performance counts are ``mlmon.performance`` bytes: the store merges them with that codec and never
reads a metric, as it merges drift profiles with the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from itertools import repeat
from typing import Any, Literal

from mlmon.exceptions import CodecError, InputError
from mlmon.performance import decode, encode
from mlmon.store._sql import SqlCore, Tx, chunks, from_json, to_json
from mlmon.store.base import (
    IngestBatch,
    Joined,
    LabelCounter,
    LabeledRow,
    LabelResult,
    LabelStatus,
    PerformanceWindow,
)
from mlmon.store.names import validate_name, validate_timestamp, validate_window

__all__ = ["LabelOps", "marks", "merge_counts", "validate_request_id"]

Kind = Literal["realized", "estimate"]
Window = tuple[datetime, datetime]

# Rows per multi-row statement: 8 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535.
_ROWS_PER_STATEMENT = 500
_MAX_REQUEST_ID = 128
_PREDICTION_COLUMNS = (
    "model_id, request_id, model_version_id, window_start, window_end, predicted, scores, created_at"
)
_PERFORMANCE_COLUMNS = (
    "model_version_id",
    "kind",
    "window_start",
    "window_end",
    "writer_id",
    "counts",
    "row_count",
    "created_at",
)


def merge_counts(blobs: Iterable[bytes]) -> bytes:
    """Merges encoded performance counts of one kind exactly (the input itself when there is one).

    Raises:
        CodecError: a blob is not performance counts, or the blobs are of different kinds.
    """
    blobs = list(blobs)
    if len(blobs) == 1:
        return blobs[0]
    first = decode(blobs[0])
    for blob in blobs[1:]:
        other = decode(blob)
        if type(other) is not type(first):
            raise CodecError("cannot merge performance counts of different kinds")
        try:
            first.merge(other)  # type: ignore[arg-type]  # same type, checked above
        except InputError as exc:
            raise CodecError(f"cannot merge performance counts: {exc}") from None
    return encode(first)


def validate_request_id(value: object) -> str:
    """A request id: a non-empty string of at most 128 characters."""
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_REQUEST_ID:
        raise InputError(f"request_id must be a string of 1 to {_MAX_REQUEST_ID} characters, got {value!r}")
    return value


def marks(n: int, width: int) -> str:
    """``(?, ...), (?, ...)``: the placeholders of ``n`` rows of ``width`` values."""
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * n)


class LabelOps(SqlCore):
    """Predictions, the label join, performance counts and their expiry."""

    # --- the ingest side -------------------------------------------------------------------------
    def _keep_predictions(
        self,
        tx: Tx,
        version_id: int,
        batches: Sequence[IngestBatch],
        counter: LabelCounter | None,
        writer_id: str,
    ) -> None:
        """Keeps the predictions of accepted batches and joins the labels already waiting for them."""
        if not any(b.predictions for b in batches):
            return
        row = tx.one("SELECT model_id FROM model_versions WHERE id = ?", (version_id,))
        assert row is not None  # the caller resolved version_id in this transaction
        model_id = int(row[0])
        tx.one("SELECT id FROM models WHERE id = ?" + self.for_share, (model_id,))
        now = tx.ts(datetime.now(timezone.utc))
        self._insert_predictions(tx, model_id, version_id, batches, now)
        if (
            counter is None
            or tx.one("SELECT 1 FROM pending_labels WHERE model_id = ? LIMIT 1", (model_id,)) is None
        ):
            return
        # A label this version cannot count (another version's class) must never cost the batch its
        # counts: its join is rolled back alone, and the label keeps waiting (then expires, counted).
        tx.execute("SAVEPOINT pending_join")
        try:
            waiting = self._take_pending(tx, model_id, [p.request_id for b in batches for p in b.predictions])
            if waiting:
                found = self._predictions_of(tx, model_id, list(waiting))
                self._join_found(tx, model_id, found, waiting, counter, writer_id, now)
        except InputError:
            tx.execute("ROLLBACK TO SAVEPOINT pending_join")
        tx.execute("RELEASE SAVEPOINT pending_join")

    def _insert_predictions(
        self, tx: Tx, model_id: int, version_id: int, batches: Sequence[IngestBatch], now: object
    ) -> None:
        """Inserts the batches' predictions; a request id already kept keeps its first prediction. Rows
        are built by ``zip`` (no per-row Python) and go in by the backend's bulk path: ``COPY`` into a
        staging table on PostgreSQL (one round trip), ``executemany`` on SQLite."""
        rows: list[tuple[object, ...]] = []
        for b in batches:
            if b.predictions:
                start, end = tx.ts(b.partials[0].window_start), tx.ts(b.partials[0].window_end)
                preds = b.predictions
                rows += zip(
                    repeat(model_id),
                    [p.request_id for p in preds],
                    repeat(version_id),
                    repeat(start),
                    repeat(end),
                    [p.predicted for p in preds],
                    [p.scores for p in preds],
                    repeat(now),
                    strict=False,
                )
        upsert = " ON CONFLICT (model_id, request_id) DO NOTHING"
        if self.dialect == "postgres":
            # One staging table per connection, emptied at each commit (COPY has no ON CONFLICT).
            if tx.one("SELECT to_regclass('pg_temp.predictions_in')") == (None,):
                tx.execute("CREATE TEMP TABLE predictions_in (LIKE predictions) ON COMMIT DELETE ROWS")
            tx.insert_rows("predictions_in", _PREDICTION_COLUMNS.split(", "), rows)
            tx.execute(
                f"INSERT INTO predictions ({_PREDICTION_COLUMNS}) SELECT {_PREDICTION_COLUMNS}"
                " FROM predictions_in" + upsert
            )
        else:
            tx.executemany(
                f"INSERT INTO predictions ({_PREDICTION_COLUMNS}) VALUES ({', '.join('?' * 8)})" + upsert,
                rows,
            )

    def _join_found(
        self,
        tx: Tx,
        model_id: int,
        found: dict[str, tuple[Any, ...]],
        labels: dict[str, tuple[str, Any]],
        counter: LabelCounter,
        writer_id: str,
        now: object,
    ) -> tuple[int, int, int]:
        """Labels the found predictions that have none yet and counts them per version and window;
        returns ``(matched, duplicates, conflicts)`` (the ones labelled before, with the same label or
        another)."""
        duplicates = conflicts = 0
        groups: dict[tuple[str, int, datetime, datetime], list[Joined]] = {}
        updates = []
        for rid, (version, version_id, start, end, predicted, scores, stored) in found.items():
            label_json, label = labels[rid]
            if stored is not None:
                duplicates += stored == label_json
                conflicts += stored != label_json
                continue
            updates.append((rid, label_json))
            groups.setdefault((version, version_id, start, end), []).append(Joined(predicted, scores, label))
        self._label_rows(tx, model_id, updates, now)
        for (version, version_id, start, end), rows in groups.items():
            self._add_performance(
                tx, version_id, "realized", writer_id, {(start, end): counter(version, rows)}
            )
        return len(updates), duplicates, conflicts

    def _label_rows(self, tx: Tx, model_id: int, updates: Sequence[tuple[str, str]], now: object) -> None:
        """Sets the labels of ``(request id, label json)`` pairs: one statement over two arrays on
        PostgreSQL (an UPDATE per row cost a round trip each), ``executemany`` on SQLite."""
        if not updates:
            return
        if self.dialect == "postgres":
            ids, labels = [rid for rid, _ in updates], [label for _, label in updates]
            tx.execute(
                "UPDATE predictions p SET label = u.l, labelled_at = ? FROM unnest(?::text[], ?::text[])"
                " AS u(r, l) WHERE p.model_id = ? AND p.request_id = u.r",
                [now, ids, labels, model_id],
            )
            return
        tx.executemany(
            "UPDATE predictions SET label = ?, labelled_at = ? WHERE model_id = ? AND request_id = ?",
            [(label, now, model_id, rid) for rid, label in updates],
        )

    def _take_pending(self, tx: Tx, model_id: int, request_ids: Sequence[str]) -> dict[str, tuple[str, Any]]:
        """Removes and returns the pending labels of these request ids: ``{id: (json, label)}``."""
        out: dict[str, tuple[str, Any]] = {}
        for part in chunks(request_ids, _ROWS_PER_STATEMENT):
            match, ids = self._in("request_id", part)
            rows = tx.all(
                f"DELETE FROM pending_labels WHERE model_id = ? AND {match} RETURNING request_id, label",
                [model_id, *ids],
            )
            for rid, label_json in rows:
                out[str(rid)] = (str(label_json), _label_of(str(label_json)))
        return out

    def _add_estimates(self, tx: Tx, version_id: int, writer_id: str, batches: Sequence[IngestBatch]) -> None:
        """Writes the label-free counts of accepted batches, merged per window."""
        groups: dict[Window, list[tuple[bytes, int]]] = {}
        for b in batches:
            for p in b.partials:
                if p.estimate is not None:
                    key = (p.window_start.astimezone(timezone.utc), p.window_end.astimezone(timezone.utc))
                    groups.setdefault(key, []).append((p.estimate, p.rows))
        merged = {k: (merge_counts(e for e, _ in v), sum(n for _, n in v)) for k, v in groups.items()}
        self._add_performance(tx, version_id, "estimate", writer_id, merged)

    @staticmethod
    def _add_performance(
        tx: Tx, version_id: int, kind: Kind, writer_id: str, counted: dict[Window, tuple[bytes, int]]
    ) -> None:
        if not counted:
            return
        now = tx.ts(datetime.now(timezone.utc))
        rows = [
            (version_id, kind, tx.ts(start), tx.ts(end), writer_id, blob, n, now)
            for (start, end), (blob, n) in counted.items()
        ]
        tx.insert_rows("window_performance", _PERFORMANCE_COLUMNS, rows)

    # --- the label side --------------------------------------------------------------------------
    def join_labels(
        self, model: str, labels: Sequence[LabeledRow], counter: LabelCounter, writer_id: str
    ) -> LabelResult:
        """Joins labels to kept predictions by request id, exactly once, in one transaction."""
        validate_name(model, "model")
        validate_name(writer_id, "writer_id")
        first: dict[str, tuple[str, Any]] = {}
        repeats: list[tuple[str, str]] = []
        for row in labels:
            rid = validate_request_id(row.request_id)
            label_json = to_json(row.label, "label")
            if rid in first:
                repeats.append((rid, label_json))
            else:
                first[rid] = (label_json, row.label)

        def run(tx: Tx) -> LabelResult:
            model_id = self._model_id(tx, model, lock=self.for_update)
            found = self._predictions_of(tx, model_id, list(first))
            now = tx.ts(datetime.now(timezone.utc))
            matched, duplicates, conflicts = self._join_found(
                tx, model_id, found, first, counter, writer_id, now
            )
            waiting = [(rid, first[rid][0]) for rid in first if rid not in found]
            pending, d, c = self._wait(tx, model_id, waiting, now)
            for rid, label_json in repeats:  # a second label for an id in this call: vs. the first
                same = first[rid][0] == label_json
                duplicates, conflicts = duplicates + same, conflicts + (not same)
            return LabelResult(
                matched=matched, duplicates=duplicates + d, conflicts=conflicts + c, pending=pending
            )

        return self._run(run, write=True)

    def _predictions_of(
        self, tx: Tx, model_id: int, request_ids: Sequence[str]
    ) -> dict[str, tuple[Any, ...]]:
        found: dict[str, tuple[Any, ...]] = {}
        for part in chunks(request_ids, _ROWS_PER_STATEMENT):
            match, ids = self._in("p.request_id", part)
            rows = tx.all(
                "SELECT p.request_id, v.version, p.model_version_id, p.window_start, p.window_end,"
                " p.predicted, p.scores, p.label FROM predictions p"
                f" JOIN model_versions v ON v.id = p.model_version_id WHERE p.model_id = ? AND {match}",
                [model_id, *ids],
            )
            for r in rows:
                scores = None if r[6] is None else bytes(r[6])
                found[str(r[0])] = (str(r[1]), int(r[2]), tx.dt(r[3]), tx.dt(r[4]), float(r[5]), scores, r[7])
        return found

    def _park(self, tx: Tx, model_id: int, part: Sequence[tuple[str, str]], now: object) -> list[str]:
        """Inserts pending labels (a request id already waiting keeps its first label); returns the ids
        inserted. PostgreSQL takes the ids and labels as two arrays (one short statement, cached)."""
        conflict = " ON CONFLICT (model_id, request_id) DO NOTHING RETURNING request_id"
        head = "INSERT INTO pending_labels (model_id, request_id, label, received_at)"
        if self.dialect == "postgres":
            ids, labels = [rid for rid, _ in part], [label for _, label in part]
            sql = f"{head} SELECT ?, r, l, ? FROM unnest(?::text[], ?::text[]) AS t(r, l){conflict}"
            rows = tx.all(sql, [model_id, now, ids, labels])
        else:
            params = [x for rid, label_json in part for x in (model_id, rid, label_json, now)]
            rows = tx.all(f"{head} VALUES {marks(len(part), 4)}{conflict}", params)
        return [str(r[0]) for r in rows]

    def _wait(
        self, tx: Tx, model_id: int, waiting: Sequence[tuple[str, str]], now: object
    ) -> tuple[int, int, int]:
        """Parks labels without a prediction; returns ``(new, duplicates, conflicts)`` against labels
        already waiting under the same ids."""
        new: set[str] = set()
        for part in chunks(waiting, _ROWS_PER_STATEMENT):
            new.update(self._park(tx, model_id, part, now))
        old = [(rid, label_json) for rid, label_json in waiting if rid not in new]
        stored: dict[str, str] = {}
        for part_ids in chunks([rid for rid, _ in old], _ROWS_PER_STATEMENT):
            match, ids = self._in("request_id", part_ids)
            rows = tx.all(
                f"SELECT request_id, label FROM pending_labels WHERE model_id = ? AND {match}",
                [model_id, *ids],
            )
            stored.update((str(r[0]), str(r[1])) for r in rows)
        same = sum(stored.get(rid) == label_json for rid, label_json in old)
        return len(new), same, len(old) - same

    def label_versions(self, model: str, request_ids: Sequence[str]) -> list[str]:
        """The versions whose kept predictions these request ids name."""
        validate_name(model, "model")
        ids = sorted({validate_request_id(r) for r in request_ids})

        def run(tx: Tx) -> list[str]:
            model_id = self._model_id(tx, model)
            out: set[str] = set()
            for part in chunks(ids, _ROWS_PER_STATEMENT):
                match, params = self._in("p.request_id", part)
                rows = tx.all(
                    "SELECT DISTINCT v.version FROM predictions p JOIN model_versions v"
                    f" ON v.id = p.model_version_id WHERE p.model_id = ? AND {match}",
                    [model_id, *params],
                )
                out.update(str(r[0]) for r in rows)
            return sorted(out)

        return self._run(run, write=False)

    # --- reads and expiry ------------------------------------------------------------------------
    def performance(
        self, model: str, version: str, start: datetime, end: datetime
    ) -> list[PerformanceWindow]:
        """The merged performance counts of each window starting in ``[start, end)``."""
        validate_name(model, "model")
        validate_name(version, "version")
        lo, hi = validate_window(start, end)

        def run(tx: Tx) -> list[tuple[str, datetime, datetime, bytes, int]]:
            version_id = self._version_id(tx, model, version)
            rows = tx.all(
                "SELECT kind, window_start, window_end, counts, row_count FROM window_performance"
                " WHERE model_version_id = ? AND window_start >= ? AND window_start < ?"
                " ORDER BY window_start, id",
                (version_id, tx.ts(lo), tx.ts(hi)),
            )
            return [(str(r[0]), tx.dt(r[1]), tx.dt(r[2]), bytes(r[3]), int(r[4])) for r in rows]

        groups: dict[Window, dict[str, list[tuple[bytes, int]]]] = {}
        for kind, w_start, w_end, blob, n in self._run(run, write=False):
            groups.setdefault((w_start, w_end), {}).setdefault(kind, []).append((blob, n))
        out = []
        for (w_start, w_end), kinds in sorted(groups.items()):
            realized, estimate = kinds.get("realized", []), kinds.get("estimate", [])
            out.append(
                PerformanceWindow(
                    window_start=w_start,
                    window_end=w_end,
                    realized=merge_counts(b for b, _ in realized) if realized else None,
                    labelled=sum(n for _, n in realized),
                    estimate=merge_counts(b for b, _ in estimate) if estimate else None,
                    estimated=sum(n for _, n in estimate),
                )
            )
        return out

    def label_status(self, model: str) -> LabelStatus:
        """How the label join of ``model`` stands."""
        validate_name(model, "model")

        def run(tx: Tx) -> LabelStatus:
            model_id = self._model_id(tx, model)
            kept = tx.one("SELECT COUNT(*), COUNT(label) FROM predictions WHERE model_id = ?", (model_id,))
            pending = tx.one("SELECT COUNT(*) FROM pending_labels WHERE model_id = ?", (model_id,))
            stats = tx.one(
                "SELECT expired_predictions, expired_labels FROM label_stats WHERE model_id = ?", (model_id,)
            )
            total, labelled = (int(kept[0]), int(kept[1])) if kept else (0, 0)
            return LabelStatus(
                waiting=total - labelled,
                labelled=labelled,
                pending=int(pending[0]) if pending else 0,
                expired_predictions=int(stats[0]) if stats else 0,
                expired_labels=int(stats[1]) if stats else 0,
            )

        return self._run(run, write=False)

    def expire_labels(self, predictions_before: datetime, labels_before: datetime) -> tuple[int, int]:
        """Forgets old predictions and pending labels, counting the ones that never joined."""
        p_cut = validate_timestamp(predictions_before, "predictions_before")
        l_cut = validate_timestamp(labels_before, "labels_before")

        def run(tx: Tx) -> tuple[int, int]:
            unjoined = tx.all(
                "SELECT model_id, COUNT(*) FROM predictions WHERE created_at < ? AND label IS NULL"
                " GROUP BY model_id",
                (tx.ts(p_cut),),
            )
            predictions = tx.execute("DELETE FROM predictions WHERE created_at < ?", (tx.ts(p_cut),))
            orphans = tx.all(
                "SELECT model_id, COUNT(*) FROM pending_labels WHERE received_at < ? GROUP BY model_id",
                (tx.ts(l_cut),),
            )
            labels = tx.execute("DELETE FROM pending_labels WHERE received_at < ?", (tx.ts(l_cut),))
            counts: dict[int, list[int]] = {}
            for model_id, n in unjoined:
                counts.setdefault(int(model_id), [0, 0])[0] += int(n)
            for model_id, n in orphans:
                counts.setdefault(int(model_id), [0, 0])[1] += int(n)
            if not counts:
                return predictions, labels
            tx.executemany(
                "INSERT INTO label_stats (model_id, expired_predictions, expired_labels) VALUES (?, ?, ?)"
                " ON CONFLICT (model_id) DO UPDATE SET"
                " expired_predictions = label_stats.expired_predictions + excluded.expired_predictions,"
                " expired_labels = label_stats.expired_labels + excluded.expired_labels",
                [(m, p, lab) for m, (p, lab) in counts.items()],
            )
            return predictions, labels

        return self._run(run, write=True)


def _label_of(label_json: str) -> Any:
    return from_json(label_json)
