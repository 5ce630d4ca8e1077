"""Step 2a, validate: the candidate's metrics on the validation set, chosen from the estimator.

Classifiers get accuracy, precision, recall and F1 (binary for two classes, weighted otherwise) and ROC
AUC when they have ``predict_proba``; regressors get RMSE, MAE and R2."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from mlmon.core._compat import require
from mlmon.deploy.errors import BadInputError
from mlmon.deploy.load import Dataset

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "Scored",
    "score_validation",
    "task_of",
    "validation_metrics",
]

HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "r2"})
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


def task_of(model: Any) -> str:
    """``"classification"`` or ``"regression"``.

    Raises:
        BadInputError: the estimator is neither (a transformer, a clusterer...).
    """
    base = require("sklearn.base", "deploy")
    if base.is_classifier(model):
        return "classification"
    if base.is_regressor(model):
        return "regression"
    raise BadInputError(
        f"cannot validate a {type(model).__name__}: it is neither a classifier nor a regressor"
    )


class Scored(NamedTuple):
    """The model's answers on the validation set, scored once for the metrics and the baseline's
    outputs alike: ``predict``'s, and ``predict_proba``'s for a classifier that has it."""

    predicted: Any
    proba: Any = None


def score_validation(model: Any, data: Dataset) -> Scored:
    """Scores ``data`` with ``model``.

    Raises:
        BadInputError: the model cannot score the data (wrong types, unseen labels...).
    """
    proba_of = getattr(model, "predict_proba", None)
    wants_proba = task_of(model) == "classification" and callable(proba_of)
    try:
        predicted = model.predict(data.features)
        return Scored(predicted, proba_of(data.features) if wants_proba and proba_of is not None else None)
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"the model cannot score the validation set: {exc}") from exc


def _classification(model: Any, data: Dataset, scored: Scored) -> dict[str, float]:
    metrics = require("sklearn.metrics", "deploy")

    y = np.asarray(data.target)
    predicted = scored.predicted
    binary = len(getattr(model, "classes_", np.unique(y))) == 2
    average = "binary" if binary else "weighted"
    pos = {"pos_label": model.classes_[1]} if binary else {}
    out = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, average=average, zero_division=0, **pos),
        "recall": metrics.recall_score(y, predicted, average=average, zero_division=0, **pos),
        "f1": metrics.f1_score(y, predicted, average=average, zero_division=0, **pos),
    }
    if scored.proba is not None and len(np.unique(y)) > 1:
        proba = scored.proba
        if binary:
            out["roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
        elif set(np.unique(y)) <= set(model.classes_):
            out["roc_auc"] = metrics.roc_auc_score(
                y, proba, multi_class="ovr", average="weighted", labels=model.classes_
            )
    return out


def _regression(data: Dataset, scored: Scored) -> dict[str, float]:
    metrics = require("sklearn.metrics", "deploy")

    y = np.asarray(data.target, dtype=np.float64)
    predicted = np.asarray(scored.predicted, dtype=np.float64)
    return {
        "rmse": math.sqrt(metrics.mean_squared_error(y, predicted)),
        "mae": metrics.mean_absolute_error(y, predicted),
        "r2": metrics.r2_score(y, predicted),
    }


def validation_metrics(
    model: Any, data: Dataset, scored: Scored | None = None
) -> tuple[str, dict[str, float]]:
    """``(task, metrics)`` of ``model`` on ``data``, metrics rounded to 6 digits, from its answers
    ``scored`` (by :func:`score_validation` when not given).

    Raises:
        BadInputError: the model cannot score the data (wrong types, unseen labels...).
    """
    task = task_of(model)
    scored = scored if scored is not None else score_validation(model, data)
    try:
        raw = _classification(model, data, scored) if task == "classification" else _regression(data, scored)
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"the model cannot score the validation set: {exc}") from exc
    return task, {name: round(float(value), 6) for name, value in raw.items()}
