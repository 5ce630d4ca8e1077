"""Step 3, register: the version in the registry with its metrics, params, feature schema, artifact URI
and sha256 and the commit CI built, at stage ``staging``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mlmon.deploy.load import Artifact, Dataset
from mlmon.store import ModelVersion, Store

__all__ = ["feature_schema", "git_sha", "json_params", "register"]

_GIT_VARS = ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "CIRCLE_SHA1", "GIT_COMMIT", "MLMON_GIT_SHA")


def git_sha(environ: Mapping[str, str] | None = None) -> str | None:
    """The commit CI built, from the first variable set among GitHub, GitLab, Buildkite, CircleCI and
    Jenkins ones (``MLMON_GIT_SHA`` last)."""
    env = os.environ if environ is None else environ
    return next((env[v][:64] for v in _GIT_VARS if env.get(v)), None)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return repr(value)[:200]  # an estimator or a function as a parameter: its repr documents it


def json_params(model: Any) -> dict[str, Any]:
    """The estimator's top-level ``get_params(deep=False)`` as JSON values, plus its class."""
    params = model.get_params(deep=False) if callable(getattr(model, "get_params", None)) else {}
    out = {str(k): _json_value(v) for k, v in params.items()}
    out["estimator"] = f"{type(model).__module__}.{type(model).__qualname__}"
    return out


def feature_schema(training: Dataset, target: str) -> dict[str, Any]:
    """``{"features": [{"name", "dtype"}...], "target": name}`` in the model's column order."""
    dtypes = training.features.dtypes
    return {
        "features": [{"name": name, "dtype": str(dtypes[name])} for name in training.columns],
        "target": target,
    }


def register(
    store: Store,
    model_name: str,
    version: str,
    artifact: Artifact,
    *,
    metrics: dict[str, float],
    params: dict[str, Any],
    schema: dict[str, Any],
    importances: dict[str, float],
    artifact_uri: str,
    commit: str | None,
) -> tuple[ModelVersion, str]:
    """Registers the version and moves it to ``staging``; returns it and the stage it had before (so a
    rollback can put it back). Raises ``ConflictError`` when the version holds another artifact."""
    stored = store.register_version(
        model_name,
        version,
        metrics=metrics,
        params=params,
        feature_schema=schema,
        feature_importances=importances,
        artifact_uri=artifact_uri,
        artifact_sha256=artifact.sha256,
        git_sha=commit,
    )
    before = stored.stage
    if before in ("none", "archived"):
        stored = store.set_stage(model_name, version, "staging")
    return stored, before
