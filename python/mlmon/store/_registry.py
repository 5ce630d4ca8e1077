"""Registry and baselines on the shared SQL core: models, versions, stages, content-addressed baselines.

The one-production-version invariant is a partial unique index (see the migrations); promotion locks
the model row first so concurrent promotions queue instead of failing on that index.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from mlmon.exceptions import InputError
from mlmon.store._sql import Row, SqlCore, Tx, from_json, to_json
from mlmon.store.base import STAGES, ConflictError, Model, ModelVersion, NotFoundError, Stage
from mlmon.store.names import validate_name, validate_sha256

__all__ = ["RegistryOps"]

_VERSION_SELECT = (
    "SELECT m.name, v.version, v.stage, v.metrics, v.params, v.feature_schema, v.feature_importances,"
    " v.artifact_uri, v.artifact_sha256, v.git_sha, v.created_at, v.deployed_at"
    " FROM model_versions v JOIN models m ON m.id = v.model_id"
)


def _optional_text(value: object, field: str, limit: int = 4096) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(f"{field} must be a string of at most {limit} characters")
    return value


class RegistryOps(SqlCore):
    """Models, versions and baselines."""

    # --- models -----------------------------------------------------------------------------------
    def create_model(self, name: str, description: str = "") -> Model:
        """Registers a model; returns the existing one if the name is taken."""
        validate_name(name, "model")
        text = _optional_text(description, "description") or ""

        def run(tx: Tx) -> Model:
            self._ensure_model(tx, name, text)
            return self._get_model(tx, name)

        return self._run(run, write=True)

    def get_model(self, name: str) -> Model:
        """The model named ``name``; ``NotFoundError`` if unknown."""
        validate_name(name, "model")
        return self._run(lambda tx: self._get_model(tx, name), write=False)

    def list_models(self) -> list[Model]:
        """All models, by name."""

        def run(tx: Tx) -> list[Model]:
            rows = tx.all("SELECT name, description, created_at FROM models ORDER BY name")
            return [Model(name=r[0], description=r[1], created_at=tx.dt(r[2])) for r in rows]

        return self._run(run, write=False)

    def _ensure_model(self, tx: Tx, name: str, description: str = "") -> int:
        tx.execute(
            "INSERT INTO models (name, description, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (name, description, tx.ts(datetime.now(timezone.utc))),
        )
        return self._model_id(tx, name)

    def _get_model(self, tx: Tx, name: str) -> Model:
        row = tx.one("SELECT name, description, created_at FROM models WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"model {name!r} is not registered")
        return Model(name=row[0], description=row[1], created_at=tx.dt(row[2]))

    # --- versions ---------------------------------------------------------------------------------
    def register_version(
        self,
        model: str,
        version: str,
        *,
        metrics: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        feature_schema: dict[str, Any] | None = None,
        feature_importances: dict[str, float] | None = None,
        artifact_uri: str | None = None,
        artifact_sha256: str | None = None,
        git_sha: str | None = None,
    ) -> ModelVersion:
        """Registers a version at stage ``none``; idempotent for the same artifact sha256 (or none given)."""
        validate_name(model, "model")
        validate_name(version, "version")
        if artifact_sha256 is not None:
            validate_sha256(artifact_sha256, "artifact_sha256")
        values = (
            to_json(metrics or {}, "metrics"),
            to_json(params or {}, "params"),
            to_json(feature_schema or {}, "feature_schema"),
            to_json(feature_importances or {}, "feature_importances"),
            _optional_text(artifact_uri, "artifact_uri"),
            artifact_sha256,
            _optional_text(git_sha, "git_sha", 64),
        )

        def run(tx: Tx) -> ModelVersion:
            model_id = self._ensure_model(tx, model)
            inserted = tx.execute(
                "INSERT INTO model_versions (model_id, version, metrics, params, feature_schema,"
                " feature_importances, artifact_uri, artifact_sha256, git_sha, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model_id, version) DO NOTHING",
                (model_id, version, *values, tx.ts(datetime.now(timezone.utc))),
            )
            stored = self._get_version(tx, model, version)
            # No sha256 makes no claim about the artifact: the service's baseline upload registers the
            # version that way, after ``mlmon deploy`` registered it with its artifact.
            if not inserted and artifact_sha256 is not None and stored.artifact_sha256 != artifact_sha256:
                raise ConflictError(
                    f"version {version!r} of model {model!r} is registered with artifact sha256 "
                    f"{stored.artifact_sha256}, not {artifact_sha256}"
                )
            return stored

        return self._run(run, write=True)

    def get_version(self, model: str, version: str) -> ModelVersion:
        """One version; ``NotFoundError`` if the model or version is unknown."""
        validate_name(model, "model")
        validate_name(version, "version")
        return self._run(lambda tx: self._get_version(tx, model, version), write=False)

    def list_versions(self, model: str) -> list[ModelVersion]:
        """The versions of a model, oldest first."""
        validate_name(model, "model")

        def run(tx: Tx) -> list[ModelVersion]:
            self._model_id(tx, model)
            rows = tx.all(_VERSION_SELECT + " WHERE m.name = ? ORDER BY v.id", (model,))
            return [self._version(tx, r) for r in rows]

        return self._run(run, write=False)

    def production_version(self, model: str) -> ModelVersion | None:
        """The production version of a model, if any."""
        validate_name(model, "model")

        def run(tx: Tx) -> ModelVersion | None:
            self._model_id(tx, model)
            row = tx.one(_VERSION_SELECT + " WHERE m.name = ? AND v.stage = 'production'", (model,))
            return None if row is None else self._version(tx, row)

        return self._run(run, write=False)

    def set_stage(self, model: str, version: str, stage: Stage) -> ModelVersion:
        """Moves a version to ``stage``; to production archives the previous production version."""
        validate_name(model, "model")
        validate_name(version, "version")
        if stage not in STAGES:
            raise InputError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")

        def run(tx: Tx) -> ModelVersion:
            # Lock the model row: concurrent promotions of one model queue here, so each sees the
            # previous one's result and archives it (the unique index is the backstop, not the queue).
            model_id = self._model_id(tx, model, lock=self.for_update)
            version_id = self._version_id(tx, model, version)
            current = self._get_version(tx, model, version)
            if current.stage == stage:
                return current
            if stage == "production":
                tx.execute(
                    "UPDATE model_versions SET stage = 'archived'"
                    " WHERE model_id = ? AND stage = 'production'",
                    (model_id,),
                )
                tx.execute(
                    "UPDATE model_versions SET stage = 'production', deployed_at = ? WHERE id = ?",
                    (tx.ts(datetime.now(timezone.utc)), version_id),
                )
            else:
                tx.execute("UPDATE model_versions SET stage = ? WHERE id = ?", (stage, version_id))
            return self._get_version(tx, model, version)

        return self._run(run, write=True)

    def promote(self, model: str, version: str) -> ModelVersion:
        """Makes ``version`` the production version of ``model`` (one transaction)."""
        return self.set_stage(model, version, "production")

    def _get_version(self, tx: Tx, model: str, version: str) -> ModelVersion:
        row = tx.one(_VERSION_SELECT + " WHERE m.name = ? AND v.version = ?", (model, version))
        if row is None:
            self._model_id(tx, model)
            raise NotFoundError(f"model {model!r} has no version {version!r}")
        return self._version(tx, row)

    @staticmethod
    def _version(tx: Tx, row: Row) -> ModelVersion:
        return ModelVersion(
            model=row[0],
            version=row[1],
            stage=row[2],
            metrics=from_json(row[3]),
            params=from_json(row[4]),
            feature_schema=from_json(row[5]),
            feature_importances=from_json(row[6]),
            artifact_uri=row[7],
            artifact_sha256=row[8],
            git_sha=row[9],
            created_at=tx.dt(row[10]),
            deployed_at=None if row[11] is None else tx.dt(row[11]),
        )

    # --- baselines --------------------------------------------------------------------------------
    def put_baseline(self, model: str, version: str, data: bytes) -> str:
        """Stores baseline bytes for a version (content-addressed, idempotent); returns their sha256."""
        validate_name(model, "model")
        validate_name(version, "version")
        if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
            raise InputError("baseline data must be non-empty bytes")
        blob = bytes(data)
        sha = hashlib.sha256(blob).hexdigest()

        def run(tx: Tx) -> str:
            version_id = self._version_id(tx, model, version)
            now = tx.ts(datetime.now(timezone.utc))
            tx.execute(
                "INSERT INTO baselines (sha256, data, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (sha256) DO NOTHING",
                (sha, blob, now),
            )
            # Re-putting an older baseline makes it the latest again.
            tx.execute(
                "INSERT INTO model_version_baselines (model_version_id, baseline_sha256, created_at)"
                " VALUES (?, ?, ?) ON CONFLICT (model_version_id, baseline_sha256)"
                " DO UPDATE SET created_at = excluded.created_at",
                (version_id, sha, now),
            )
            return sha

        return self._run(run, write=True)

    def get_baseline(self, model: str, version: str, sha256: str | None = None) -> tuple[str, bytes]:
        """``(sha256, bytes)`` of the given, or else the latest, baseline of a version."""
        validate_name(model, "model")
        validate_name(version, "version")
        if sha256 is not None:
            validate_sha256(sha256)
        query = (
            "SELECT b.sha256, b.data FROM model_version_baselines mb"
            " JOIN baselines b ON b.sha256 = mb.baseline_sha256 WHERE mb.model_version_id = ?"
        )

        def run(tx: Tx) -> tuple[str, bytes]:
            version_id = self._version_id(tx, model, version)
            if sha256 is None:
                row = tx.one(query + " ORDER BY mb.created_at DESC, b.sha256 LIMIT 1", (version_id,))
            else:
                row = tx.one(query + " AND b.sha256 = ?", (version_id, sha256))
            if row is None:
                which = "any baseline" if sha256 is None else f"baseline {sha256}"
                raise NotFoundError(f"version {version!r} of model {model!r} has no {which}")
            return str(row[0]), bytes(row[1])

        return self._run(run, write=False)

    def get_baseline_by_sha(self, sha256: str) -> bytes:
        """The baseline bytes with this sha256, whichever version they belong to."""
        validate_sha256(sha256)
        row = self._run(
            lambda tx: tx.one("SELECT data FROM baselines WHERE sha256 = ?", (sha256,)), write=False
        )
        if row is None:
            raise NotFoundError(f"no baseline with sha256 {sha256}")
        return bytes(row[0])
