"""Drift results and alerts on the shared SQL core. Both carry the sha256 of the baseline they were
computed against, and the database refuses a hash it does not hold (foreign key), so every stored figure
traces to exact reference bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Literal, get_args

from mlmon.exceptions import InputError
from mlmon.store._sql import Row, SqlCore, Tx, from_json, to_json
from mlmon.store.base import (
    Alert,
    AlertDelivery,
    AlertState,
    DriftResult,
    NotFoundError,
    Severity,
    StoredDriftResult,
)
from mlmon.store.names import (
    validate_name,
    validate_score,
    validate_sha256,
    validate_timestamp,
    validate_window,
)

__all__ = ["DriftOps"]

_SEVERITIES = get_args(Severity)
_ALERT_STATES = get_args(AlertState)
_ALERT_SELECT = (
    "SELECT a.id, m.name, v.version, a.window_start, a.window_end, a.feature, a.severity, a.score,"
    " a.baseline_sha256, a.state, a.delivery_attempts, a.last_error, a.created_at, a.updated_at"
    " FROM alerts a JOIN model_versions v ON v.id = a.model_version_id JOIN models m ON m.id = v.model_id"
)


def _check_baselines(tx: Tx, hashes: set[str]) -> None:
    for sha in sorted(hashes):
        if tx.one("SELECT 1 FROM baselines WHERE sha256 = ?", (sha,)) is None:
            raise NotFoundError(f"baseline {sha} is not stored: put the baseline before results that use it")


class DriftOps(SqlCore):
    """Drift results and alerts."""

    def put_drift_results(self, model: str, version: str, results: Sequence[DriftResult]) -> None:
        """Stores drift results; a result for the same window, feature and baseline is replaced."""
        validate_name(model, "model")
        validate_name(version, "version")
        for r in results:
            validate_window(r.window_start, r.window_end)
            validate_name(r.feature, "feature")
            validate_score(r.score)
            validate_sha256(r.baseline_sha256, "baseline_sha256")
            if r.severity not in _SEVERITIES:
                raise InputError(f"severity must be one of {', '.join(_SEVERITIES)}, got {r.severity!r}")
        if not results:
            return
        details = [to_json(r.details, "details") for r in results]

        def run(tx: Tx) -> None:
            version_id = self._version_id(tx, model, version)
            _check_baselines(tx, {r.baseline_sha256 for r in results})
            now = tx.ts(datetime.now(timezone.utc))
            tx.executemany(
                "INSERT INTO drift_results (model_version_id, window_start, window_end, feature, score,"
                " severity, baseline_sha256, details, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (model_version_id, feature, window_start, window_end, baseline_sha256)"
                " DO UPDATE SET score = excluded.score, severity = excluded.severity,"
                " details = excluded.details, computed_at = excluded.computed_at",
                [
                    (
                        version_id,
                        tx.ts(self._utc(r.window_start)),
                        tx.ts(self._utc(r.window_end)),
                        r.feature,
                        r.score,
                        r.severity,
                        r.baseline_sha256,
                        d,
                        now,
                    )
                    for r, d in zip(results, details, strict=True)
                ],
            )

        self._run(run, write=True)

    def drift_history(
        self,
        model: str,
        feature: str,
        start: datetime,
        end: datetime,
        version: str | None = None,
    ) -> list[StoredDriftResult]:
        """Results of one feature whose windows start in ``[start, end)``, by window start."""
        validate_name(model, "model")
        validate_name(feature, "feature")
        if version is not None:
            validate_name(version, "version")
        lo, hi = validate_window(start, end)

        def run(tx: Tx) -> list[StoredDriftResult]:
            model_id = self._model_id(tx, model)
            sql = (
                "SELECT v.version, d.window_start, d.window_end, d.feature, d.score, d.severity,"
                " d.baseline_sha256, d.details, d.computed_at"
                " FROM drift_results d JOIN model_versions v ON v.id = d.model_version_id"
                " WHERE v.model_id = ? AND d.feature = ? AND d.window_start >= ? AND d.window_start < ?"
            )
            params: list[object] = [model_id, feature, tx.ts(lo), tx.ts(hi)]
            if version is not None:
                sql += " AND v.version = ?"
                params.append(version)
            rows = tx.all(sql + " ORDER BY d.window_start, v.version, d.id", params)
            return [
                StoredDriftResult(
                    version=r[0],
                    window_start=tx.dt(r[1]),
                    window_end=tx.dt(r[2]),
                    feature=r[3],
                    score=None if r[4] is None else float(r[4]),
                    severity=r[5],
                    baseline_sha256=r[6],
                    details=from_json(r[7]),
                    computed_at=tx.dt(r[8]),
                )
                for r in rows
            ]

        return self._run(run, write=False)

    # --- alerts -----------------------------------------------------------------------------------
    def add_alert(
        self,
        model: str,
        version: str,
        *,
        window_start: datetime,
        window_end: datetime,
        feature: str | None,
        severity: Literal["warning", "critical"],
        score: float | None,
        baseline_sha256: str,
    ) -> Alert:
        """Records a new ``pending`` alert."""
        row = _alert_row(model, version, window_start, window_end, feature, severity, score, baseline_sha256)

        def run(tx: Tx) -> Alert:
            return _insert_alert(tx, self._version_id(tx, model, version), row)

        return self._run(run, write=True)

    def claim_alert(
        self,
        model: str,
        version: str,
        *,
        window_start: datetime,
        window_end: datetime,
        feature: str | None,
        severity: Literal["warning", "critical"],
        score: float | None,
        baseline_sha256: str,
        cooldown: timedelta,
    ) -> Alert | None:
        """Records a new ``pending`` alert unless the same model version, feature and severity has one
        created within ``cooldown`` (then ``None``). Check and insert run in one transaction that holds
        the model's row lock (PostgreSQL) or the write lock (SQLite), so racing workers raise it once."""
        row = _alert_row(model, version, window_start, window_end, feature, severity, score, baseline_sha256)
        if not isinstance(cooldown, timedelta) or cooldown < timedelta(0):
            raise InputError(f"cooldown must be a non-negative timedelta, got {cooldown!r}")

        def run(tx: Tx) -> Alert | None:
            self._model_id(tx, model, lock=self.for_update)
            version_id = self._version_id(tx, model, version)
            since = tx.ts(datetime.now(timezone.utc) - cooldown)
            recent = tx.one(
                "SELECT 1 FROM alerts WHERE model_version_id = ? AND COALESCE(feature, '') = ?"
                " AND severity = ? AND created_at >= ? LIMIT 1",
                (version_id, feature or "", severity, since),
            )
            return None if recent is not None else _insert_alert(tx, version_id, row)

        return self._run(run, write=True)

    def record_delivery(
        self, alert_id: int, *, ok: bool, error: str | None = None, sink: str | None = None
    ) -> Alert:
        """Counts a delivery attempt: ``sent`` when ``ok``, else ``failed`` with ``error``; with ``sink``
        the attempt also goes to the alert's delivery log."""
        _check_alert_id(alert_id)
        message = None if error is None else str(error)[:2000]
        if sink is not None:
            validate_name(sink, "sink")

        def run(tx: Tx) -> Alert:
            now = tx.ts(datetime.now(timezone.utc))
            changed = tx.execute(
                "UPDATE alerts SET state = ?, delivery_attempts = delivery_attempts + 1, last_error = ?,"
                " updated_at = ? WHERE id = ?",
                ("sent" if ok else "failed", message, now, alert_id),
            )
            if not changed:
                raise NotFoundError(f"no alert with id {alert_id}")
            if sink is not None:
                tx.execute(
                    "INSERT INTO alert_deliveries (alert_id, sink, ok, error, attempted_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (alert_id, sink, ok, message, now),
                )
            row = tx.one(_ALERT_SELECT + " WHERE a.id = ?", (alert_id,))
            assert row is not None
            return _alert(tx, row)

        return self._run(run, write=True)

    def list_alerts(
        self,
        model: str,
        *,
        version: str | None = None,
        state: AlertState | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Alerts of a model, newest first."""
        validate_name(model, "model")
        sql = _ALERT_SELECT + " WHERE v.model_id = ?"
        filters: list[tuple[str, object]] = []
        if version is not None:
            filters.append((" AND v.version = ?", validate_name(version, "version")))
        if state is not None:
            if state not in _ALERT_STATES:
                raise InputError(f"state must be one of {', '.join(_ALERT_STATES)}, got {state!r}")
            filters.append((" AND a.state = ?", state))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InputError("limit must be an integer in 1..10000")
        when = None if since is None else validate_timestamp(since, "since")

        def run(tx: Tx) -> list[Alert]:
            params: list[object] = [self._model_id(tx, model)]
            query = sql + "".join(clause for clause, _ in filters)
            params.extend(value for _, value in filters)
            if when is not None:
                query += " AND a.created_at >= ?"
                params.append(tx.ts(when))
            rows = tx.all(query + " ORDER BY a.created_at DESC, a.id DESC LIMIT ?", [*params, limit])
            return [_alert(tx, r) for r in rows]

        return self._run(run, write=False)

    def list_deliveries(self, alert_id: int) -> list[AlertDelivery]:
        """The delivery log of an alert, oldest first (empty for an unknown id)."""
        _check_alert_id(alert_id)

        def run(tx: Tx) -> list[AlertDelivery]:
            rows = tx.all(
                "SELECT alert_id, sink, ok, error, attempted_at FROM alert_deliveries WHERE alert_id = ?"
                " ORDER BY id",
                (alert_id,),
            )
            return [AlertDelivery(int(r[0]), r[1], bool(r[2]), r[3], tx.dt(r[4])) for r in rows]

        return self._run(run, write=False)


def _check_alert_id(alert_id: object) -> None:
    if isinstance(alert_id, bool) or not isinstance(alert_id, int):
        raise InputError(f"alert_id must be an integer, got {alert_id!r}")


_AlertRow = tuple[datetime, datetime, str | None, str, float | None, str]


def _alert_row(
    model: str,
    version: str,
    window_start: datetime,
    window_end: datetime,
    feature: str | None,
    severity: str,
    score: float | None,
    baseline_sha256: str,
) -> _AlertRow:
    validate_name(model, "model")
    validate_name(version, "version")
    if feature is not None:
        validate_name(feature, "feature")
    lo, hi = validate_window(window_start, window_end)
    value = validate_score(score)
    validate_sha256(baseline_sha256, "baseline_sha256")
    if severity not in ("warning", "critical"):
        raise InputError(f"alert severity must be warning or critical, got {severity!r}")
    return lo, hi, feature, severity, value, baseline_sha256


def _insert_alert(tx: Tx, version_id: int, row: _AlertRow) -> Alert:
    lo, hi, feature, severity, value, sha = row
    _check_baselines(tx, {sha})
    now = tx.ts(datetime.now(timezone.utc))
    inserted = tx.one(
        "INSERT INTO alerts (model_version_id, window_start, window_end, feature, severity, score,"
        " baseline_sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (version_id, tx.ts(lo), tx.ts(hi), feature, severity, value, sha, now, now),
    )
    assert inserted is not None
    found = tx.one(_ALERT_SELECT + " WHERE a.id = ?", (inserted[0],))
    assert found is not None
    return _alert(tx, found)


def _alert(tx: Tx, row: Row) -> Alert:
    return Alert(
        id=int(row[0]),
        model=row[1],
        version=row[2],
        window_start=tx.dt(row[3]),
        window_end=tx.dt(row[4]),
        feature=row[5],
        severity=row[6],
        score=None if row[7] is None else float(row[7]),
        baseline_sha256=row[8],
        state=row[9],
        delivery_attempts=int(row[10]),
        last_error=row[11],
        created_at=tx.dt(row[12]),
        updated_at=tx.dt(row[13]),
    )
