"""Feature importances from the model: ``feature_importances_``, else ``|coef_|`` (averaged over
classes), else permutation importance on the validation set; normalised to sum to 1.

A pipeline is looked into only when its last step takes the pipeline's own input features (no
transformer changes the columns), so the importances still name the input features."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlmon.core._compat import require
from mlmon.deploy.load import Dataset

__all__ = ["feature_importances"]

_PERMUTATION_ROWS = 2000


def _final_estimator(model: Any, n_features: int) -> Any:
    steps = getattr(model, "steps", None)
    if steps:
        last = steps[-1][1]
        if getattr(last, "n_features_in_", None) == n_features:
            return last
    return model


def _from_attributes(model: Any, n_features: int) -> tuple[np.ndarray, str] | None:
    est = _final_estimator(model, n_features)
    values = getattr(est, "feature_importances_", None)
    if values is not None and np.size(values) == n_features:
        return np.asarray(values, dtype=np.float64), "feature_importances_"
    coef = getattr(est, "coef_", None)
    if coef is not None:
        arr = np.abs(np.asarray(coef, dtype=np.float64))
        arr = arr.reshape(-1, arr.shape[-1]).mean(axis=0)
        if arr.size == n_features:
            return arr, "coef_"
    return None


def _permutation(model: Any, data: Dataset) -> np.ndarray:
    inspection = require("sklearn.inspection", "deploy")
    n = min(len(data.features), _PERMUTATION_ROWS)
    result = inspection.permutation_importance(
        model, data.features.iloc[:n], np.asarray(data.target)[:n], n_repeats=3, random_state=0
    )
    return np.clip(np.asarray(result.importances_mean, dtype=np.float64), 0.0, None)


def feature_importances(model: Any, validation: Dataset) -> tuple[dict[str, float], str]:
    """``({feature: weight}, source)``; weights are non-negative and sum to 1 (uniform when the model
    says every feature is worth nothing)."""
    names = validation.columns
    found = _from_attributes(model, len(names))
    values, source = found if found is not None else (_permutation(model, validation), "permutation")
    values = np.where(np.isfinite(values), values, 0.0)
    total = float(values.sum())
    if total <= 0:
        values, total = np.ones(len(names)), float(len(names))
    return {name: round(float(v) / total, 6) for name, v in zip(names, values, strict=True)}, source
